/**
 * Shared pieces of the tracer's reliability tests: a node process with a deployed, onboarded
 * consortium; a store's content in comparable form; a fresh reference index; the `veritrace`
 * command as a subprocess; a throw-away PostgreSQL database.
 */
import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Signer } from "ethers";
import { network } from "hardhat";
import type { NetworkConnection } from "hardhat/types/network";
import {
  connectConsortium,
  hashDocument,
  type ConsortiumContracts,
  type DeploymentRecord,
} from "../../src/client/index.js";
import { Indexer, type IndexerOptions } from "../../src/ledger/indexer.js";
import { RpcClient } from "../../src/chain/rpc.js";
import { openMemoryDatabase } from "../../src/db/db.js";
import { Store, type Checkpoint } from "../../src/db/store.js";
import { onboard, runCases, type Cast } from "../../scripts/lib/activity.js";
import { deployConsortium } from "../../scripts/lib/deploy.js";
import { createPostgresDatabase as createDatabaseOn } from "../../scripts/lib/postgres.js";
import { startLocalChain, type LocalChain } from "../../scripts/lib/local-chain.js";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** The error a promise rejects with (fails the test if it resolves). */
export async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected a rejection");
}

/** A node process with the consortium deployed and four institutions onboarded. */
export interface ConsortiumNode {
  kind: LocalChain["kind"];
  url: string;
  record: DeploymentRecord;
  connection: NetworkConnection;
  contracts: ConsortiumContracts;
  cast: Cast;
  signers: Signer[];
  /** Raw JSON-RPC to the node (evm_snapshot, anvil_reorg, …), no retries. */
  rpc: RpcClient;
  head(): Promise<number>;
  /** Real consortium activity through the typed client: about 4 + 4 × requests events a case. */
  activity(cases: number, requestsPerCase: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startConsortiumNode(kind: LocalChain["kind"]): Promise<ConsortiumNode> {
  const chain = await startLocalChain(kind);
  try {
    const connection = await network.create({
      network: "localhost",
      override: { url: chain.url },
    });
    const signers: Signer[] = await connection.ethers.getSigners();
    const founders = await Promise.all(
      signers.slice(0, 3).map(async (s, i) => ({
        kind: "AUDITOR",
        metadataCommitment: hashDocument(`founder ${i}`),
        signingKey: await s.getAddress(),
      })),
    );
    const record = await deployConsortium(connection, founders, 2, {
      deploymentId: `tracer-test-${kind}-${process.pid}-${Date.now()}`,
      ephemeral: true,
    });
    const contracts = connectConsortium(record, connection.ethers.provider);
    const cast = await onboard(contracts, signers);
    const relayer = signers[7];
    if (relayer === undefined) throw new Error("the node has fewer than 8 accounts");
    const rpc = new RpcClient(chain.url, { maxRetries: 0 });
    return {
      kind,
      url: chain.url,
      record,
      connection,
      contracts,
      cast,
      signers,
      rpc,
      head: async () => Number(await rpc.call<string>("eth_blockNumber")),
      activity: async (cases, requestsPerCase) => {
        await runCases(contracts, cast, cases, requestsPerCase, relayer);
      },
      stop: async () => {
        await connection.close();
        await chain.stop();
      },
    };
  } catch (error) {
    await chain.stop();
    throw error;
  }
}

/** One stored event, in the columns that must match between two indexes. */
export interface EventSnapshot {
  block_number: number;
  log_index: number;
  tx_hash: string;
  block_hash: string;
  event: string;
  args: unknown;
}

export interface StoreSnapshot {
  events: EventSnapshot[];
  checkpoint: Checkpoint | null;
}

/** A store's events (in chain order) and checkpoint, comparable with deep equality. */
export async function snapshotStore(store: Store): Promise<StoreSnapshot> {
  const rows = await store.db.query<{
    block_number: string | number;
    log_index: number;
    tx_hash: string;
    block_hash: string;
    event: string;
    args: unknown;
  }>("SELECT block_number, log_index, tx_hash, block_hash, event, args FROM events ORDER BY 1, 2");
  return {
    events: rows.map((r) => ({ ...r, block_number: Number(r.block_number) })),
    checkpoint: await store.checkpoint(),
  };
}

/** The stored block headers (for "nothing changed" checks). */
export async function storedBlocks(store: Store): Promise<{ number: number; hash: string }[]> {
  const rows = await store.db.query<{ number: string | number; hash: string }>(
    "SELECT number, hash FROM blocks ORDER BY number",
  );
  return rows.map((r) => ({ number: Number(r.number), hash: r.hash }));
}

/** Indexes the node's chain into a fresh in-memory store and returns its content. */
export async function freshIndex(
  url: string,
  record: DeploymentRecord,
  options: IndexerOptions = {},
): Promise<StoreSnapshot> {
  const store = await Store.open(await openMemoryDatabase());
  try {
    await new Indexer(store, new RpcClient(url), record, options).syncOnce();
    return await snapshotStore(store);
  } finally {
    await store.close();
  }
}

/** A block's hash as the node reports it. */
export async function blockHash(rpc: RpcClient, n: number): Promise<string> {
  const b = await rpc.call<{ hash: string }>("eth_getBlockByNumber", [
    `0x${n.toString(16)}`,
    false,
  ]);
  return b.hash.toLowerCase();
}

export interface CommandResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A finished command's result, with its stdout's bytes (a binary output, such as `--out -`). */
export interface CommandOutput extends CommandResult {
  stdoutBytes: Buffer;
}

/** Runs `veritrace …` (bin/veritrace.mjs) to its end; `input`, if given, is its stdin. */
export async function runVeritrace(
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
  input?: string | Uint8Array,
): Promise<CommandOutput> {
  const child = spawn(process.execPath, [path.join(ROOT, "bin", "veritrace.mjs"), ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
  });
  // A command that reads no stdin, or stops reading it, closes the pipe: EPIPE is expected.
  child.stdin?.on("error", () => {});
  if (input !== undefined) child.stdin?.end(input);
  const out: Buffer[] = [];
  let stderr = "";
  child.stdout?.on("data", (c: Buffer) => out.push(c));
  child.stderr?.on("data", (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code, signal) => {
      const stdoutBytes = Buffer.concat(out);
      resolve({ code, signal, stdout: stdoutBytes.toString(), stderr, stdoutBytes });
    });
  });
}

/**
 * Runs `veritrace …` on a terminal of its own (a pseudo-terminal from util-linux's `script`), so
 * that its stdin and stdout are TTYs; when its output shows `prompt`, types `reply` and Enter.
 * The terminal merges stdout and stderr into `output` (ANSI sequences and CRs removed);
 * `prompted` says whether the prompt appeared.
 */
export async function runVeritraceOnTerminal(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  prompt: RegExp,
  reply: string,
): Promise<{ code: number | null; output: string; prompted: boolean }> {
  const r = await runOnTerminal(
    [process.execPath, path.join(ROOT, "bin", "veritrace.mjs"), ...args],
    env,
    [{ prompt, reply }],
  );
  return { code: r.code, output: r.output, prompted: r.prompted === 1 };
}

/**
 * Runs a command on a terminal of its own (see {@link runVeritraceOnTerminal}) and answers its
 * prompts in order: each reply is typed once its prompt shows after the previous answer.
 * `prompted` counts the prompts answered.
 */
export async function runOnTerminal(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  answers: readonly { prompt: RegExp; reply: string }[],
): Promise<{ code: number | null; output: string; prompted: number }> {
  const quote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;
  const command = argv.map(quote).join(" ");
  // -q: no banner; -f: flush at once; -e: the command's exit code; no typescript file kept.
  const child = spawn("script", ["-qfec", command, "/dev/null"], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let raw = "";
  let prompted = 0;
  let answeredAt = 0;
  // eslint-disable-next-line no-control-regex
  const clean = (s: string) => s.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "").replace(/\r/g, "");
  child.stdout.on("data", (c: Buffer) => {
    raw += c.toString();
    const next = answers[prompted];
    if (next !== undefined && next.prompt.test(clean(raw.slice(answeredAt)))) {
      prompted++;
      answeredAt = raw.length;
      child.stdin.write(`${next.reply}\r`);
    }
  });
  child.stderr.on("data", (c: Buffer) => (raw += c.toString()));
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code) => {
      child.stdin.destroy();
      resolve({ code, output: clean(raw), prompted });
    });
  });
}

/** A PostgreSQL database of its own on the test server, dropped by `drop()`. */
export function createPostgresDatabase(
  prefix: string,
): Promise<{ url: string; drop(): Promise<void> }> {
  return createDatabaseOn("postgres://root@127.0.0.1:5432/test", prefix);
}
