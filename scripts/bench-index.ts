/**
 * Indexing benchmark of the tracing service, on a chain of real consortium activity.
 *
 *   npm run bench:index
 *
 * 1. Starts anvil (1 000 000 000 gas blocks, constant base fee 0 as on a permissioned chain,
 *    FIFO mempool), deploys the consortium with Ignition, onboards a police bureau, a
 *    prosecutor's office, a bank and a telecom through the council, and generates at least
 *    50 000 real events through the contracts (cases, requests, grants, denials, co-signed
 *    deliveries, anchors, closures): locally signed transactions, a few hundred per block.
 * 2. Historical sync: wall-clock of `Indexer.syncOnce` from an empty store to the head, into
 *    PGlite (a temporary directory) and into PostgreSQL (a throw-away database), with finality
 *    depth 0 (a BFT consortium chain: every block final; three runs each, the median reported)
 *    and with the default 64 (the last 64 blocks read one by one; one run each).
 * 3. Follow mode: `veritrace index --follow --poll-ms 100 --finality 0` (the command, as a
 *    process) into PostgreSQL while anvil mines a block every second with requests in it; for each
 *    block, the time from its mining to its events being queryable in the database. Reported as an
 *    upper bound: from the last eth_blockNumber poll (every 5 ms) that did not show the block yet to
 *    the first database poll (every 10 ms) that shows its events; the lower bound too.
 *
 * The last line of the output is one JSON object (flat dotted keys). Exit code 1, with one line on
 * stderr, when a target is missed: ≥ 20 000 events/s into PostgreSQL (finality 0), and a p99
 * follow latency ≤ 1000 ms. Environment: VERITRACE_BENCH_PG (admin URL of the PostgreSQL server,
 * default postgres://root@127.0.0.1:5432/test), VERITRACE_BENCH_EVENTS (default 50 000).
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { writeDeployment, type DeploymentRecord } from "../src/client/index.js";
import { Indexer } from "../src/ledger/indexer.js";
import { RpcClient } from "../src/chain/rpc.js";
import { openDatabase } from "../src/db/db.js";
import { Store } from "../src/db/store.js";
import { startAnvil } from "./lib/anvil.js";
import {
  ConsortiumTraffic,
  generateBulkActivity,
  sendRaw,
  type BulkReport,
} from "./lib/bulk-activity.js";
import type { LocalChain } from "./lib/local-chain.js";
import { deployOnboarded } from "./lib/bench-chain.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const TARGET_EVENTS_PER_SECOND = 20_000;
const TARGET_FOLLOW_P99_MS = 1000;
const FOLLOW_BLOCKS = 32;
const PG_ADMIN = process.env["VERITRACE_BENCH_PG"] ?? "postgres://root@127.0.0.1:5432/test";
const EVENTS = Number(process.env["VERITRACE_BENCH_EVENTS"] ?? 50_000);
if (!Number.isSafeInteger(EVENTS) || EVENTS < 1000)
  throw new Error(`VERITRACE_BENCH_EVENTS must be an integer ≥ 1000, got ${EVENTS}`);

const say = (text = "") => console.log(text);
const fmt = (n: number, digits = 0) =>
  n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
const seconds = (since: number) => (performance.now() - since) / 1000;

/** The value at quantile q of sorted values (nearest rank). */
function quantile(sorted: readonly number[], q: number): number {
  const v = sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)];
  if (v === undefined) throw new Error("no values");
  return v;
}

const median = (xs: readonly number[]) =>
  quantile(
    [...xs].sort((a, b) => a - b),
    0.5,
  );

// ------------------------------------------------------------------ PostgreSQL

/** Throw-away databases on the benchmark's PostgreSQL server, dropped at the end. */
class PostgresServer {
  private readonly created: string[] = [];
  private constructor(private readonly admin: pg.Client) {}

  /**
   * Connects to the server; if it is down and this machine has `pg_ctlcluster` (Debian), starts
   * the cluster once and tries again.
   */
  static async connect(): Promise<{ server: PostgresServer; started: boolean }> {
    try {
      return { server: await PostgresServer.tryConnect(), started: false };
    } catch (error) {
      const versions = (() => {
        try {
          return readdirSync("/etc/postgresql");
        } catch {
          return [];
        }
      })();
      const version = versions[0];
      if (version === undefined) throw error;
      const run = spawnSync(
        "pg_ctlcluster",
        ["--skip-systemctl-redirect", version, "main", "start"],
        { encoding: "utf8" },
      );
      if (run.status !== 0)
        throw new Error(
          `PostgreSQL at ${PG_ADMIN} is down and pg_ctlcluster failed: ${run.stderr.trim()}`,
        );
      return { server: await PostgresServer.tryConnect(), started: true };
    }
  }

  private static async tryConnect(): Promise<PostgresServer> {
    const admin = new pg.Client({ connectionString: PG_ADMIN, connectionTimeoutMillis: 5000 });
    admin.on("error", () => undefined);
    await admin.connect();
    return new PostgresServer(admin);
  }

  /** A new empty database; returns its URL. */
  async create(): Promise<string> {
    const name = `veritrace_bench_${Math.random().toString(36).slice(2, 10)}`;
    await this.admin.query(`CREATE DATABASE ${name}`);
    this.created.push(name);
    const url = new URL(PG_ADMIN);
    url.pathname = `/${name}`;
    return url.toString();
  }

  async dropAll(): Promise<void> {
    for (const name of this.created.splice(0)) {
      await this.admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    }
    await this.admin.end();
  }
}

// ------------------------------------------------------------------ chain and activity

interface World {
  chain: LocalChain;
  rpc: RpcClient;
  record: DeploymentRecord;
  traffic: ConsortiumTraffic;
}

// ------------------------------------------------------------------ historical sync

interface SyncRun {
  engine: "pglite" | "postgres";
  finality: number;
  seconds: number;
  events: number;
  eventsPerSecond: number;
  indexedTo: number;
  /** Writes: one per historical range, one per block within the finality depth. */
  writes: number;
  rpcRequests: number;
  byEvent: Record<string, number>;
}

async function syncRun(
  world: World,
  engine: SyncRun["engine"],
  finality: number,
  postgres: PostgresServer,
): Promise<SyncRun> {
  const dir = engine === "pglite" ? mkdtempSync(path.join(tmpdir(), "veritrace-bench-")) : null;
  const store = await Store.open(await openDatabase(dir ?? (await postgres.create())));
  try {
    const rpc = new RpcClient(world.rpc.url);
    let writes = 0;
    const indexer = new Indexer(store, rpc, world.record, {
      finalityDepth: finality,
      onProgress: () => writes++,
    });
    const started = performance.now();
    const indexedTo = await indexer.syncOnce();
    const s = seconds(started);
    const rows = await store.db.query<{ event: string; n: string | number }>(
      "SELECT event, count(*) AS n FROM events GROUP BY event",
    );
    const byEvent = Object.fromEntries(rows.map((r) => [r.event, Number(r.n)]));
    const events = Object.values(byEvent).reduce((a, b) => a + b, 0);
    if (events !== indexer.eventCount)
      throw new Error(`${engine}: ${indexer.eventCount} events written, ${events} stored`);
    return {
      engine,
      finality,
      seconds: s,
      events,
      eventsPerSecond: events / s,
      indexedTo,
      writes,
      rpcRequests: rpc.requests,
      byEvent,
    };
  } finally {
    await store.close();
    if (dir !== null) rmSync(dir, { recursive: true, force: true });
  }
}

// ------------------------------------------------------------------ follow mode

/** When something happened: after `after` (a poll that did not see it yet was sent), by `by`. */
interface TimeWindow {
  after: number;
  by: number;
}

interface FollowReport {
  /** Per block, the latency's upper bound: queryable by − mined after (conservative). */
  latencies: number[];
  /** Per block, the latency's lower bound: queryable after − mined by (0 at least). */
  lowerBounds: number[];
  blocks: number[];
  eventsPerBlock: number;
  startupSeconds: number;
}

/** Runs `veritrace index --follow` and measures block-to-queryable latencies. */
async function follow(world: World, postgres: PostgresServer, tmp: string): Promise<FollowReport> {
  const { rpc, traffic } = world;
  // A case for the traffic of this phase, open and approved before the clock starts.
  const { raw, case: c } = traffic.openCase("follow");
  await sendRaw(rpc, [raw]);
  await rpc.call("evm_mine");
  await sendRaw(rpc, [traffic.approveCase(c)]);
  await rpc.call("evm_mine");

  const dbUrl = await postgres.create();
  const deploymentFile = path.join(tmp, "deployment.json");
  writeDeployment(deploymentFile, world.record);
  await rpc.call("evm_setIntervalMining", [1]);
  const from = Number(await rpc.call<string>("eth_blockNumber")) + 1;

  const started = performance.now();
  const cli = spawn(
    process.execPath,
    [
      path.join(ROOT, "bin", "veritrace.mjs"),
      "index",
      "--rpc",
      rpc.url,
      "--deployment",
      deploymentFile,
      "--db",
      dbUrl,
      "--from",
      String(from),
      "--follow",
      "--poll-ms",
      "100",
      "--finality",
      "0",
    ],
    { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
  );
  const killOnExit = () => cli.kill("SIGKILL");
  process.once("exit", killOnExit);
  let stderr = "";
  cli.stderr.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
  const exited = new Promise<number | null>((resolve) => cli.once("exit", (code) => resolve(code)));
  let running = true;
  void exited.then(() => (running = false));
  const lines: Record<string, unknown>[] = [];
  let buffer = "";
  cli.stdout.on("data", (chunk: Buffer) => {
    buffer += chunk.toString();
    let nl: number;
    while ((nl = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      try {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // not a log line
      }
    }
  });
  const failed = (what: string) =>
    new Error(`veritrace index --follow ${what}: ${stderr.trim().split("\n").pop() ?? ""}`);

  const db = new pg.Client({ connectionString: dbUrl });
  db.on("error", () => undefined);
  try {
    while (!lines.some((l) => l["msg"] === "caught up")) {
      if (!running) throw failed("exited before catching up");
      if (seconds(started) > 60) throw failed("did not catch up within 60 s");
      await sleep(20);
    }
    const startupSeconds = seconds(started);
    await db.connect();

    // A block was mined after the last head poll that did not show it was sent, and by the time
    // the first one that shows it answered; the same for its events in the store.
    const mined = new Map<number, TimeWindow>();
    const queryable = new Map<number, TimeWindow>();
    let headSent = performance.now();
    let head = Number(await rpc.call<string>("eth_blockNumber"));
    const measureFrom = head + 1;
    let done = false;
    const measured = () =>
      [...queryable.keys()].filter((n) => n >= measureFrom && mined.has(n)).length;

    // Requests all along: about 16 per block.
    const load = (async () => {
      let i = 0;
      while (!done) {
        const raws = Array.from({ length: 4 }, () => traffic.request(c, i++ % 2 === 0).raw);
        await sendRaw(rpc, raws);
        await sleep(250);
      }
    })();
    // The node's head, polled every 5 ms.
    const watchHead = (async () => {
      while (!done) {
        const sent = performance.now();
        const n = Number(await rpc.call<string>("eth_blockNumber"));
        const now = performance.now();
        for (let b = head + 1; b <= n; b++) mined.set(b, { after: headSent, by: now });
        head = Math.max(head, n);
        headSent = sent;
        await sleep(5);
      }
    })();
    // The store, polled every 10 ms: when each block's events became queryable.
    const watchStore = (async () => {
      let after = measureFrom - 1;
      let previous = performance.now();
      while (!done) {
        const sent = performance.now();
        const { rows } = await db.query<{ block_number: string }>(
          "SELECT DISTINCT block_number FROM events WHERE block_number > $1",
          [after],
        );
        const now = performance.now();
        for (const r of rows) {
          const n = Number(r.block_number);
          if (!queryable.has(n)) queryable.set(n, { after: previous, by: now });
          after = Math.max(after, n);
        }
        previous = sent;
        await sleep(10);
      }
    })();
    const deadline = performance.now() + (FOLLOW_BLOCKS + 20) * 1000;
    while (measured() < FOLLOW_BLOCKS && performance.now() < deadline && running) await sleep(50);
    done = true;
    await Promise.all([load, watchHead, watchStore]);
    if (!running) throw failed("exited");

    const blocks = [...queryable.keys()]
      .filter((n) => n >= measureFrom && mined.has(n))
      .sort((a, b) => a - b);
    if (blocks.length < FOLLOW_BLOCKS)
      throw new Error(`only ${blocks.length} blocks with events measured in follow mode`);
    const windows = blocks.map((n) => {
      const m = mined.get(n);
      const q = queryable.get(n);
      if (m === undefined || q === undefined) throw new Error(`block ${n} not measured`);
      return { m, q };
    });
    const latencies = windows.map(({ m, q }) => q.by - m.after);
    const lowerBounds = windows.map(({ m, q }) => Math.max(0, q.after - m.by));

    // The index must be complete: every measured block has all of its consortium events stored.
    const first = blocks[0] ?? 0;
    const last = blocks[blocks.length - 1] ?? 0;
    const onChain = await rpc.call<{ blockNumber: string }[]>("eth_getLogs", [
      {
        address: Object.values(world.record.contracts),
        fromBlock: `0x${first.toString(16)}`,
        toBlock: `0x${last.toString(16)}`,
      },
    ]);
    const { rows: stored } = await db.query<{ n: string }>(
      "SELECT count(*) AS n FROM events WHERE block_number BETWEEN $1 AND $2",
      [first, last],
    );
    if (Number(stored[0]?.n) !== onChain.length)
      throw new Error(
        `follow mode stored ${stored[0]?.n} events of blocks ${first}..${last}, the chain has ${onChain.length}`,
      );
    return {
      latencies,
      lowerBounds,
      blocks,
      eventsPerBlock: onChain.length / (last - first + 1),
      startupSeconds,
    };
  } finally {
    await db.end().catch(() => undefined);
    await rpc.call("evm_setIntervalMining", [0]).catch(() => undefined);
    if (running) {
      cli.kill("SIGTERM");
      const timer = setTimeout(() => cli.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    }
    process.off("exit", killOnExit);
  }
}

// ------------------------------------------------------------------ main

function printSyncTable(runs: readonly SyncRun[]): void {
  say("   engine    finality  run  seconds  events/s  writes  rpc requests");
  const byKey = new Map<string, number>();
  for (const r of runs) {
    const key = `${r.engine}/${r.finality}`;
    const n = (byKey.get(key) ?? 0) + 1;
    byKey.set(key, n);
    say(
      `   ${r.engine.padEnd(9)} ${String(r.finality).padStart(8)}  ${String(n).padStart(3)}  ${r.seconds.toFixed(2).padStart(7)}  ${fmt(r.eventsPerSecond).padStart(8)}  ${String(r.writes).padStart(6)}  ${String(r.rpcRequests).padStart(12)}`,
    );
  }
}

async function main(): Promise<number> {
  const started = performance.now();
  const load0 = loadavg()[0] ?? 0;
  say("Veritrace indexing benchmark");
  say(
    `   ${cpus().length} CPUs, load average ${load0.toFixed(2)} at the start (other work on this machine slows every figure)`,
  );
  const tmp = mkdtempSync(path.join(tmpdir(), "veritrace-bench-"));
  const { server: postgres, started: pgStarted } = await PostgresServer.connect();
  if (pgStarted) say("   PostgreSQL was down: started it with pg_ctlcluster");
  const chain = await startAnvil({ gasLimit: 1_000_000_000n, baseFee: 0n, order: "fifo" });
  try {
    // ---------------------------------------------------------------- 1. activity
    let t = performance.now();
    const { record, cast } = await deployOnboarded(chain, "bench-index");
    const rpc = new RpcClient(chain.url);
    const traffic = await ConsortiumTraffic.create(rpc, record, cast);
    const world: World = { chain, rpc, record, traffic };
    say(
      `\n1. anvil at ${chain.url}: consortium deployed with Ignition, 4 institutions onboarded (${seconds(t).toFixed(1)} s)`,
    );
    t = performance.now();
    let reported = 0;
    const activity: BulkReport = await generateBulkActivity(rpc, traffic, {
      events: EVENTS,
      cases: 100,
      requestsPerBlock: 100,
      onProgress: (p) => {
        if (p.events - reported >= 10_000) {
          reported = p.events;
          say(
            `   … ${fmt(p.events)} / ${fmt(p.target)} events in ${p.blocks} blocks (${seconds(t).toFixed(0)} s)`,
          );
        }
      },
    });
    const perBlock = activity.transactions / activity.blocks;
    say(
      `   generated ${fmt(activity.events)} real consortium events (one transaction each) in ${activity.blocks} blocks ` +
        `(${activity.firstBlock}..${activity.lastBlock}, ~${fmt(perBlock)} transactions a block) in ${activity.seconds.toFixed(1)} s ` +
        `(${fmt(activity.events / activity.seconds)} events/s)`,
    );
    say(
      `   ${Object.entries(activity.byEvent)
        .map(([e, n]) => `${e} ${fmt(n)}`)
        .join(", ")}`,
    );

    // ---------------------------------------------------------------- 2. historical sync
    say(
      `\n2. Historical sync: Indexer.syncOnce from an empty store to the head (block ${activity.lastBlock})`,
    );
    const runs: SyncRun[] = [];
    for (let i = 0; i < 3; i++) {
      runs.push(await syncRun(world, "postgres", 0, postgres));
      runs.push(await syncRun(world, "pglite", 0, postgres));
    }
    runs.push(await syncRun(world, "postgres", 64, postgres));
    runs.push(await syncRun(world, "pglite", 64, postgres));
    runs.sort((a, b) =>
      a.finality !== b.finality ? a.finality - b.finality : a.engine.localeCompare(b.engine),
    );
    printSyncTable(runs);
    const events = runs[0]?.events ?? 0;
    for (const r of runs) {
      if (r.events !== events || r.indexedTo !== activity.lastBlock)
        throw new Error(
          `runs disagree: ${r.engine}/${r.finality} stored ${r.events} events up to ${r.indexedTo}`,
        );
    }
    for (const [event, n] of Object.entries(activity.byEvent)) {
      if ((runs[0]?.byEvent[event] ?? 0) < n)
        throw new Error(`${event}: ${n} generated, ${runs[0]?.byEvent[event] ?? 0} indexed`);
    }
    const rate = (engine: SyncRun["engine"], finality: number) =>
      median(
        runs
          .filter((r) => r.engine === engine && r.finality === finality)
          .map((r) => r.eventsPerSecond),
      );
    const secs = (engine: SyncRun["engine"], finality: number) =>
      median(
        runs.filter((r) => r.engine === engine && r.finality === finality).map((r) => r.seconds),
      );
    say(
      `   ${fmt(events)} events each run (the generated ones and the onboarding's); medians: ` +
        `PostgreSQL ${fmt(rate("postgres", 0))} events/s, PGlite ${fmt(rate("pglite", 0))} events/s at finality 0; ` +
        `${fmt(rate("postgres", 64))} and ${fmt(rate("pglite", 64))} at finality 64`,
    );

    // ---------------------------------------------------------------- 3. follow mode
    say(
      "\n3. Follow mode: veritrace index --follow --poll-ms 100 --finality 0 into PostgreSQL, anvil mining every 1 s",
    );
    const f = await follow(world, postgres, tmp);
    const sorted = [...f.latencies].sort((a, b) => a - b);
    const p50 = quantile(sorted, 0.5);
    const p99 = quantile(sorted, 0.99);
    const lower = [...f.lowerBounds].sort((a, b) => a - b);
    say(
      `   command caught up in ${f.startupSeconds.toFixed(1)} s; ${f.blocks.length} blocks (${f.blocks[0]}..${f.blocks[f.blocks.length - 1]}, ` +
        `~${fmt(f.eventsPerBlock, 1)} events a block), all their events stored`,
    );
    say(
      `   block mined → its events queryable, as an upper bound (from the last eth_blockNumber poll, every 5 ms, ` +
        `without the block, to the first database poll, every 10 ms, with its events): ` +
        `p50 ${fmt(p50)} ms, p99 ${fmt(p99)} ms (min ${fmt(sorted[0] ?? 0)}, max ${fmt(sorted[sorted.length - 1] ?? 0)}); ` +
        `lower bounds p50 ${fmt(quantile(lower, 0.5))} ms, p99 ${fmt(quantile(lower, 0.99))} ms`,
    );

    // ---------------------------------------------------------------- summary
    const pgRate = rate("postgres", 0);
    const pgMet = pgRate >= TARGET_EVENTS_PER_SECOND;
    const followMet = p99 <= TARGET_FOLLOW_P99_MS;
    say("\nTargets");
    say(
      `   ≥ ${fmt(TARGET_EVENTS_PER_SECOND)} events/s into PostgreSQL: ${pgMet ? "met" : "MISSED"} (${fmt(pgRate)})`,
    );
    say(
      `   follow latency p99 ≤ ${fmt(TARGET_FOLLOW_P99_MS)} ms at 1 s blocks: ${followMet ? "met" : "MISSED"} (${fmt(p99)} ms)`,
    );
    const total = seconds(started);
    say(`   whole benchmark: ${total.toFixed(0)} s`);
    const round = (n: number, digits = 0) => Number(n.toFixed(digits));
    console.log(
      JSON.stringify({
        "eventsPerSecond.pglite": round(rate("pglite", 0)),
        "eventsPerSecond.postgres": round(pgRate),
        "followLatencyMs.p50": round(p50, 1),
        "followLatencyMs.p99": round(p99, 1),
        events,
        "eventsPerSecond.pglite.finality64": round(rate("pglite", 64)),
        "eventsPerSecond.postgres.finality64": round(rate("postgres", 64)),
        "eventsPerSecond.pglite.runs": runs
          .filter((r) => r.engine === "pglite" && r.finality === 0)
          .map((r) => round(r.eventsPerSecond)),
        "eventsPerSecond.postgres.runs": runs
          .filter((r) => r.engine === "postgres" && r.finality === 0)
          .map((r) => round(r.eventsPerSecond)),
        "syncSeconds.pglite": round(secs("pglite", 0), 3),
        "syncSeconds.postgres": round(secs("postgres", 0), 3),
        "syncSeconds.pglite.finality64": round(secs("pglite", 64), 3),
        "syncSeconds.postgres.finality64": round(secs("postgres", 64), 3),
        "followLatencyMs.lowerBound.p50": round(quantile(lower, 0.5), 1),
        "followLatencyMs.lowerBound.p99": round(quantile(lower, 0.99), 1),
        "followLatencyMs.min": round(sorted[0] ?? 0, 1),
        "followLatencyMs.max": round(sorted[sorted.length - 1] ?? 0, 1),
        "followLatencyMs.blocks": f.blocks.length,
        "follow.eventsPerBlock": round(f.eventsPerBlock, 1),
        "generation.events": activity.events,
        "generation.transactions": activity.transactions,
        "generation.blocks": activity.blocks,
        "generation.seconds": round(activity.seconds, 1),
        "chain.head": activity.lastBlock,
        "targets.eventsPerSecond.postgres": TARGET_EVENTS_PER_SECOND,
        "targets.followLatencyMs.p99": TARGET_FOLLOW_P99_MS,
        "targetsMet.eventsPerSecond.postgres": pgMet,
        "targetsMet.followLatencyMs.p99": followMet,
        "machine.cpus": cpus().length,
        "machine.loadAverageAtStart": round(load0, 2),
        totalSeconds: round(total, 1),
      }),
    );
    const missed = [
      ...(pgMet
        ? []
        : [`${fmt(pgRate)} events/s into PostgreSQL < ${fmt(TARGET_EVENTS_PER_SECOND)}`]),
      ...(followMet ? [] : [`follow latency p99 ${fmt(p99)} ms > ${TARGET_FOLLOW_P99_MS} ms`]),
    ];
    if (missed.length > 0) {
      console.error(`bench:index: target missed: ${missed.join("; ")}`);
      return 1;
    }
    return 0;
  } finally {
    await chain.stop();
    await postgres.dropAll().catch(() => undefined);
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`bench:index failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
