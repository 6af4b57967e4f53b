import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { writeDeployment } from "../../src/client/index.js";
import { openDatabase } from "../../src/db/db.js";
import { Store } from "../../src/db/store.js";
import { seededRandom } from "../helpers/rpc-proxy.js";
import {
  ROOT,
  createPostgresDatabase,
  freshIndex,
  runVeritrace,
  snapshotStore,
  startConsortiumNode,
  type ConsortiumNode,
  type StoreSnapshot,
} from "../helpers/tracer.js";

const CRASHES = 20;
/** The server rolls back a dead client's transaction by design: fewer kills suffice there. */
const PG_CRASHES = 8;
/**
 * Blocks within this depth are written one transaction per block, older ones one transaction per
 * eth_getLogs range: a kill lands in either kind of write.
 */
const FINALITY = "2000";

/**
 * Starts `veritrace index` and kills it with SIGKILL: `afterSpawnMs` after it started (a kill while
 * it loads, opens or migrates the store, or checks the node), or `afterWorkMs` after its first
 * progress line (a kill while it writes). Resolves how it ended.
 */
async function runAndKill(
  args: readonly string[],
  when: { afterSpawnMs: number } | { afterWorkMs: number },
): Promise<{ killed: boolean; code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [path.join(ROOT, "bin", "veritrace.mjs"), ...args], {
    cwd: ROOT,
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  let timer: NodeJS.Timeout | undefined;
  const killIn = (ms: number) => {
    timer ??= setTimeout(() => child.kill("SIGKILL"), ms);
  };
  child.stderr.on("data", (c: Buffer) => {
    stderr += c.toString();
    if ("afterWorkMs" in when && stderr.includes("indexing")) killIn(when.afterWorkMs);
  });
  if ("afterSpawnMs" in when) killIn(when.afterSpawnMs);
  const { code, signal } = await new Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
  }>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  clearTimeout(timer);
  return { killed: signal === "SIGKILL", code, stderr };
}

/** The store at `db` (a PGlite directory or a postgres:// URL), read in this process. */
async function readStore(db: string): Promise<StoreSnapshot> {
  const store = await Store.open(await openDatabase(db));
  try {
    return await snapshotStore(store);
  } finally {
    await store.close();
  }
}

describe("veritrace index killed with SIGKILL and restarted", function () {
  let node: ConsortiumNode;
  let tmp: string;
  let deployment: string;
  let reference: StoreSnapshot;

  before(async function () {
    // A hardhat node: on this machine it mines the thousands of transactions about three times
    // faster than anvil, whose block production slows down as the chain grows.
    node = await startConsortiumNode("hardhat");
    await node.activity(110, 6);
    // The reference: an uninterrupted index (in this process; ranges make it quick).
    reference = await freshIndex(node.url, node.record, { finalityDepth: 64 });
    tmp = mkdtempSync(path.join(os.tmpdir(), "veritrace-crash-"));
    deployment = path.join(tmp, "deployment.json");
    writeDeployment(deployment, node.record);
  });
  after(async function () {
    await node?.stop();
    if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true });
  });

  it("has a few thousand events to index", function () {
    expect(reference.events.length).to.be.at.least(2000);
  });

  /**
   * Kills the command at seeded random points, restarts it, and finally runs it to its end: the
   * store must equal an uninterrupted index, row for row. After some kills the store is read
   * as it was left: its events must be exactly the reference's up to its checkpoint.
   */
  async function crashAndRecover(db: string, seed: number, crashes: number): Promise<void> {
    const args = ["index", "--rpc", node.url, "--deployment", deployment, "--db", db];
    args.push("--finality", FINALITY);
    const random = seededRandom(seed);
    const outcomes: { killed: boolean; checkpoint: number | null }[] = [];
    for (let i = 0; i < crashes; i++) {
      // Every other run is killed early, the others while they index.
      const when =
        i % 2 === 0
          ? { afterSpawnMs: 300 + Math.floor(random() * 2000) }
          : { afterWorkMs: Math.floor(random() * 600) };
      const run = await runAndKill(args, when);
      expect(
        run.killed || run.code === 0,
        `run ${i} (${JSON.stringify(when)}): ${run.stderr}`,
      ).to.equal(true);
      let checkpoint: number | null = null;
      if (i % 5 === 4) {
        const left = await readStore(db);
        checkpoint = left.checkpoint?.blockNumber ?? null;
        const upTo = checkpoint ?? -1;
        expect(left.events).to.deep.equal(reference.events.filter((e) => e.block_number <= upTo));
      }
      outcomes.push({ killed: run.killed, checkpoint });
    }
    // Several runs were killed mid-work (once the store has caught up, later runs finish before
    // their kill: how many depends on the machine's speed, so only a floor is asserted).
    expect(outcomes.filter((o) => o.killed).length).to.be.at.least(3);

    const last = await runVeritrace(args);
    expect(last.code, last.stderr).to.equal(0);
    const head = await node.head();
    expect(last.stdout).to.include(`indexed up to block ${head}`);
    const final = await readStore(db);
    expect(final.events.length).to.equal(reference.events.length);
    expect(final).to.deep.equal(reference);
    expect(final.checkpoint?.blockNumber).to.equal(head);
  }

  it(`loses and duplicates nothing across ${CRASHES} kills (embedded PGlite directory)`, async function () {
    const db = path.join(tmp, "pglite");
    await crashAndRecover(db, 42, CRASHES);
    expect(existsSync(path.join(db, "PG_VERSION"))).to.equal(true);
  });

  it(`loses and duplicates nothing across ${PG_CRASHES} kills (PostgreSQL server)`, async function () {
    const database = await createPostgresDatabase("veritrace_crash");
    try {
      await crashAndRecover(database.url, 7, PG_CRASHES);
    } finally {
      await database.drop();
    }
  });
});
