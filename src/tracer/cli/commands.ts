import type { ParseArgsConfig } from "node:util";
import { readDeployment } from "../../client/deployment.js";
import { UsageError } from "../errors.js";
import { checkNode, Indexer } from "../indexer/sync.js";
import { RpcClient } from "../indexer/rpc.js";
import { openDatabase } from "../store/db.js";
import { Store } from "../store/store.js";
import { logLine } from "./output.js";
import { ProgressBar } from "./progress.js";

export type Values = Record<string, string | boolean | undefined>;

/** One `veritrace` command. */
export interface Command {
  name: string;
  summary: string;
  usage: string;
  help: string;
  options: NonNullable<ParseArgsConfig["options"]>;
  run(values: Values, positionals: string[]): Promise<number>;
}

/** Option helpers shared by the commands. */
export function str(values: Values, name: string): string | undefined {
  const v = values[name];
  return typeof v === "string" ? v : undefined;
}

export function required(values: Values, name: string): string {
  const v = str(values, name);
  if (v === undefined) throw new UsageError(`--${name} is required`);
  return v;
}

export function integer(values: Values, name: string, min = 0): number | undefined {
  const v = str(values, name);
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < min || !Number.isSafeInteger(Number(v))) {
    throw new UsageError(`--${name} must be an integer ≥ ${min}, got ${JSON.stringify(v)}`);
  }
  return Number(v);
}

export function rpcUrl(values: Values): string {
  const v = required(values, "rpc");
  try {
    const u = new URL(v);
    if (u.protocol !== "http:" && u.protocol !== "https:") throw new Error("protocol");
    return u.toString();
  } catch {
    throw new UsageError(`--rpc must be an http(s) URL, got ${JSON.stringify(v)}`);
  }
}

/** Opens the store named by --db (or DATABASE_URL, or the default directory). */
export async function openStore(values: Values): Promise<Store> {
  return Store.open(await openDatabase(str(values, "db")));
}

const DB_OPTION = { db: { type: "string" } } as const;
const DB_HELP =
  "  --db URL|DIR         store: a directory (PGlite, default .veritrace/db) or postgres://…";

const index: Command = {
  name: "index",
  summary: "read the consortium's events from a JSON-RPC node into the store",
  usage:
    "--rpc URL --deployment FILE [--db URL|DIR] [--from N] [--follow] [--confirmations N] [--finality N]",
  help: [
    "  --rpc URL            JSON-RPC endpoint (hardhat node, anvil, Besu, Geth, …)",
    "  --deployment FILE    deployment record written by the deployment (chain id, addresses, start block)",
    DB_HELP,
    "  --from N             first block to read into an empty store (default: the deployment's start block)",
    "  --follow             keep following the chain's head; structured log lines on stdout",
    "  --confirmations N    leave the newest N blocks unindexed (default 0)",
    "  --finality N         depth beyond which blocks can't be reorganized (default 64; 0 or 1 on BFT chains)",
    "  --poll-ms N          how often to poll the head in follow mode (default 250)",
  ].join("\n"),
  options: {
    rpc: { type: "string" },
    deployment: { type: "string" },
    ...DB_OPTION,
    from: { type: "string" },
    follow: { type: "boolean" },
    confirmations: { type: "string" },
    finality: { type: "string" },
    "poll-ms": { type: "string" },
  },
  async run(values) {
    const url = rpcUrl(values);
    const deployment = readDeployment(required(values, "deployment"));
    const fromBlock = integer(values, "from");
    const confirmations = integer(values, "confirmations") ?? 0;
    const finalityDepth = integer(values, "finality") ?? 64;
    const pollMs = integer(values, "poll-ms", 10) ?? 250;
    const follow = values["follow"] === true;
    const rpc = new RpcClient(url, {
      onRetry: (r) => {
        if (follow) console.log(logLine({ level: "warn", msg: "retrying", ...r }));
      },
    });
    // Check the node before touching the store, so a wrong node or record writes nothing.
    await checkNode(rpc, deployment);
    const store = await openStore(values);
    let stopping = false;
    const stop = () => {
      stopping = true;
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    try {
      const bar = follow ? null : new ProgressBar("indexing");
      let first = -1;
      const indexer = new Indexer(store, rpc, deployment, {
        confirmations,
        finalityDepth,
        fromBlock,
        onProgress: (p) => {
          if (first < 0) first = p.indexedTo;
          bar?.update({ done: p.indexedTo - first, total: p.target - first, events: p.events });
        },
        onLog: (entry) => {
          if (follow) console.log(logLine({ level: "warn", ...entry }));
          else process.stderr.write(`${entry["msg"]}: ${JSON.stringify(entry)}\n`);
        },
      });
      const before = indexer.eventCount;
      let indexedTo = await indexer.syncOnce();
      bar?.done({
        done: Math.max(0, indexedTo - first),
        total: Math.max(0, indexedTo - first),
        events: indexer.eventCount,
      });
      if (!follow) {
        console.log(
          `indexed up to block ${indexedTo}: ${indexer.eventCount - before} new events, ${await store.eventCount()} in the store (${store.db.location})`,
        );
        return 0;
      }
      console.log(
        logLine({
          level: "info",
          msg: "caught up",
          block: indexedTo,
          events: await store.eventCount(),
        }),
      );
      while (!stopping) {
        await new Promise((r) => setTimeout(r, pollMs));
        const seen = indexer.eventCount;
        const to = await indexer.syncOnce();
        if (to !== indexedTo) {
          console.log(
            logLine({
              level: "info",
              msg: "indexed",
              from: indexedTo + 1,
              to,
              events: indexer.eventCount - seen,
            }),
          );
          indexedTo = to;
        }
      }
      console.log(logLine({ level: "info", msg: "stopped", block: indexedTo }));
      return 0;
    } finally {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      await store.close();
    }
  },
};

/** Every command, in the order `veritrace --help` lists them. */
export const COMMANDS: Command[] = [index];
