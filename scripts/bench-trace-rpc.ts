/**
 * A lazy trace against a chain of mainnet size, over JSON-RPC:
 *
 *   npm run bench:trace-rpc
 *
 * A JSON-RPC server in a child process (scripts/rpc-chain.ts) serves a generated chain of one
 * ERC-20 token, 68 million transfers among a million addresses over half a million blocks, made up
 * on the fly from a seed, with a theft of 250 million tokens laundered among them (about 11,000
 * transfers: a fan-out, peel chains, splits, merges, cash-outs to a dozen exchanges, leaks into
 * everyday addresses). It answers as a strict hosted provider: eth_getLogs over at most 10,000
 * blocks and 10,000 logs per request (refusals worded as QuickNode's and Infura's), every request
 * after 30 ms, requests in parallel.
 *
 * The trace is `runTrace` with `read: "lazy"` from the theft's transaction, haircut, following no
 * transfer carrying less than 20 tokens of taint, into an embedded store (PGlite) in a temporary
 * directory, the exchanges labeled by a TagPack. The store is made first by another process, as
 * `veritrace labels import` would make it (a new embedded store's initdb alone peaks at about
 * 760 MB; an existing one opens in about 300 MB). The answer is checked against the generator's
 * own account of the laundering: each exchange's exit is exactly what launderers paid it, each
 * launderer still holding funds holds exactly that, and what leaked into everyday addresses is
 * exactly the rest (held there, passed on, or below the minimum); a mismatch fails loudly. The
 * same trace then runs again on the same store: it must ask no logs of final blocks (the store
 * holds them; the newest 64 blocks are read again) and give the same answer. Then a lazy trace of
 * every asset (`token: "all"`, lazy-assets.ts) runs twice on the same store, checked the same way:
 * the chain has one token and no pool, so its answer is the token's, and what it measures is what
 * reading every asset costs besides (native histories, a receipt per transaction read).
 *
 * `npm run bench:trace-rpc` runs this process with V8's heap held to what it needs
 * (`--max-old-space-size=256 --max-semi-space-size=4`): without, V8 lets garbage of the rounds grow
 * the heap and the peak is about 560 MB for the same live data.
 *
 * The last line is one JSON object: `seconds` (the first trace), `peakRssMb` (this process, the
 * tracer; the server's memory is its own), `rpcRequests` (HTTP requests of the first trace),
 * `tracedTransfers` (transfers the trace read and ran the engine on), `chainTransfers`, and more;
 * `every…`, the trace of every asset. Exit code 1, with one line on stderr, when an answer is
 * wrong, the first trace takes more than 30 s or the peak RSS passes 512 MB (after the first
 * trace, and after those of every asset). Environment: VERITRACE_BENCH_ADDRESSES (default 1,048,576),
 * VERITRACE_BENCH_LATENCY_MS (default 30).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { RpcClient } from "../src/chain/rpc.js";
import { openDatabase, type Database } from "../src/db/db.js";
import { Store } from "../src/db/store.js";
import { importTagPacks } from "../src/analytics/labels/store.js";
import { runTrace, type RunTraceOutput } from "../src/analytics/funds/run.js";
import { fmt } from "./lib/bench.js";
import {
  GeneratedChain,
  spawnChain,
  TOKEN,
  type ChainSpec,
  type ChainStats,
} from "./lib/rpc-chain.js";

const TARGET_SECONDS = 30;
const TARGET_RSS_MB = 512;
const UNIT = 10n ** 18n;
const MIN_AMOUNT = 20n * UNIT;

const spec: ChainSpec = {
  seed: 2026,
  chainId: 31_999,
  addresses: Number(process.env["VERITRACE_BENCH_ADDRESSES"] ?? 1 << 20),
  sendsPerAddress: 64,
  perBlock: 128,
  seedAt: 0.8,
  layers: 30,
  maxHolders: 500,
  layerBlocks: 25,
  exchanges: 12,
  leakShare: 0.03,
};
const latencyMs = Number(process.env["VERITRACE_BENCH_LATENCY_MS"] ?? 30);
const say = (text = "") => console.log(text);
const tokens = (v: bigint) => fmt(Number(v / 10n ** 14n) / 10_000, 4);

const chain = new GeneratedChain(spec);
const truth = chain.laundering;

if (process.argv[2] === "--prepare") {
  // The store's preparation: schema and the exchanges' labels, in a process of its own.
  const dir = process.argv[3] ?? "";
  const store = await Store.open(await openDatabase(path.join(dir, "db")));
  await importTagPacks(store.db, [path.join(dir, "exchanges.yaml")]);
  await store.close();
  process.exit(0);
}

/** What the chain server counted so far (its stats method). */
async function statsOf(url: string): Promise<ChainStats> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "rpcchain_stats", params: [] }),
  });
  return ((await res.json()) as { result: ChainStats }).result;
}

/** A lazy trace of the token (or, `all`, of every asset) from the theft, timed and counted. */
async function traceOnce(db: Database, url: string, token = TOKEN) {
  const rpc = new RpcClient(url);
  const before = await statsOf(url);
  let rounds = 0;
  const start = performance.now();
  const out = await runTrace({
    rpc,
    db,
    token,
    seed: truth.seedTx,
    model: "haircut",
    minAmount: MIN_AMOUNT,
    read: "lazy",
    // The launderers' cash-outs look like exchange deposit addresses (they are, in a way): the
    // generator's account names the exchanges, so the heuristic is left out.
    depositAddresses: false,
    onProgress: () => rounds++,
  });
  const seconds = (performance.now() - start) / 1000;
  const after = await statsOf(url);
  const calls = (method: string) => (after.calls[method] ?? 0) - (before.calls[method] ?? 0);
  return {
    out,
    seconds,
    requests: rpc.requests,
    getLogs: calls("eth_getLogs"),
    finalGetLogs: after.finalGetLogs - before.finalGetLogs,
    rounds,
    receipts: calls("eth_getTransactionReceipt"),
    traces: calls("trace_transaction"),
  };
}

if (process.argv[2] === "--every") {
  // The traces of every asset, in a process of their own, so that their peak RSS is theirs: the
  // histories of every token and of the native coin, a receipt per transaction read, twice on the
  // same store. The last line is their figures, as JSON.
  const [dir, url] = [process.argv[3] ?? "", process.argv[4] ?? ""];
  const store = await Store.open(await openDatabase(path.join(dir, "db")));
  const failures: string[] = [];
  const every = await traceOnce(store.db, url, "all");
  const again = await traceOnce(store.db, url, "all");
  check(every.out, "trace of every asset", failures);
  check(again.out, "second trace of every asset", failures);
  if (again.finalGetLogs !== 0)
    failures.push(
      `the second trace of every asset asked eth_getLogs for final blocks ${again.finalGetLogs} times`,
    );
  const peakRssMb = process.resourceUsage().maxRSS / 1024;
  await store.close();
  say(
    JSON.stringify({
      everySeconds: Number(every.seconds.toFixed(3)),
      everyPeakRssMb: Math.round(peakRssMb),
      everyRounds: every.rounds,
      everyRpcRequests: every.requests,
      everyGetLogs: every.getLogs,
      everyReceipts: every.receipts,
      everyTraceTransaction: every.traces,
      everyReadFromNode: every.out.ingest.rows,
      everyTracedTransfers: every.out.result.stats.transfers,
      everySecondSeconds: Number(again.seconds.toFixed(3)),
      everySecondRpcRequests: again.requests,
      everySecondFinalGetLogs: again.finalGetLogs,
      failures,
    }),
  );
  process.exit(0);
}

say(`Lazy trace over JSON-RPC (${cpus().length} CPUs, Node ${process.version})`);
say(
  `Generated chain: ${fmt(chain.transfers)} transfers of one token among ${fmt(spec.addresses)} addresses, ` +
    `blocks 0–${fmt(chain.head)}; the theft at block ${fmt(truth.seedBlock)}, laundered in ` +
    `${fmt(truth.transfers)} transfers (${fmt(truth.launderers.size)} launderers, ${truth.exchanges.length} exchanges, ` +
    `${truth.leaks.size} leaks into everyday addresses)`,
);
say(
  `Server: a child process, ${latencyMs} ms a request, eth_getLogs ≤ 10,000 blocks and ≤ 10,000 logs a request`,
);

const server = await spawnChain(spec, { latencyMs, maxBlockRange: 10_000, maxResults: 10_000 });
const dir = mkdtempSync(path.join(tmpdir(), "veritrace-bench-rpc-"));
const failures: string[] = [];
const measured = {
  seconds: Number.POSITIVE_INFINITY,
  peakRssMb: Number.POSITIVE_INFINITY,
  everyPeakRssMb: Number.POSITIVE_INFINITY,
};
try {
  const tagpack = path.join(dir, "exchanges.yaml");
  writeFileSync(
    tagpack,
    [
      "title: Benchmark exchanges",
      "creator: Veritrace benchmark",
      "source: https://example.org/bench",
      "currency: ETH",
      "tags:",
      ...truth.exchanges.flatMap((a, i) => [
        `- address: '${a}'`,
        `  label: Exchange ${i + 1}`,
        "  category: exchange",
      ]),
      "",
    ].join("\n"),
  );
  // The store is made by another process, as `veritrace labels import` would make it: a new
  // embedded store's initdb alone peaks at about 760 MB, an existing one opens in about 300 MB.
  execFileSync(
    process.execPath,
    ["--import", "tsx", fileURLToPath(import.meta.url), "--prepare", dir],
    {
      stdio: "inherit",
    },
  );
  const store = await Store.open(await openDatabase(path.join(dir, "db")));

  const first = await traceOnce(store.db, server.url);
  const peakRssMb = process.resourceUsage().maxRSS / 1024;
  measured.seconds = first.seconds;
  measured.peakRssMb = peakRssMb;
  const second = await traceOnce(store.db, server.url);
  check(first.out, "first trace", failures);
  check(second.out, "second trace", failures);
  if (second.finalGetLogs !== 0)
    failures.push(
      `the second trace asked eth_getLogs for final blocks ${second.finalGetLogs} times (the store holds them)`,
    );
  await store.close();
  // Every asset, lazily, on the same store (its scopes of every asset are new to it), in a process
  // of its own with this one's flags.
  const child = execFileSync(
    process.execPath,
    [...process.execArgv, fileURLToPath(import.meta.url), "--every", dir, server.url],
    { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] },
  );
  const { failures: failed, ...every } = JSON.parse(child.trim().split("\n").pop() as string) as {
    failures: string[];
  } & Record<string, number>;
  failures.push(...failed);
  measured.everyPeakRssMb = every["everyPeakRssMb"] ?? Number.POSITIVE_INFINITY;

  const r = first.out.result;
  say();
  say(
    `First trace: ${fmt(first.seconds, 2)} s, ${first.rounds} rounds, ${fmt(first.requests)} requests ` +
      `(${fmt(first.getLogs)} eth_getLogs), ${fmt(first.out.ingest.rows)} transfers read from the node, ` +
      `${fmt(r.stats.transfers)} traced`,
  );
  say(
    `  seed ${tokens(r.seedAmount)} tokens: ${r.exits.length} exits (${tokens(sum(r.exits))}), ` +
      `${fmt(r.holdings.length)} holdings (${tokens(sum(r.holdings))}), below the minimum ${tokens(r.belowMinimum)}, ` +
      `${fmt(r.edges.length)} tainted transfers`,
  );
  say(
    `Second trace, same store: ${fmt(second.seconds, 2)} s, ${fmt(second.requests)} requests ` +
      `(${second.getLogs} eth_getLogs, none of final blocks: only the newest 64 blocks are read again)`,
  );
  say(`Peak RSS (the tracer): ${fmt(peakRssMb)} MB`);
  const n = (key: string) => fmt(every[key] ?? 0);
  say(
    `Every asset, lazily (a process of its own): ${fmt(every["everySeconds"] ?? 0, 2)} s, ` +
      `${n("everyRounds")} rounds, ${n("everyRpcRequests")} requests (${n("everyGetLogs")} eth_getLogs, ` +
      `${n("everyReceipts")} receipts, ${n("everyTraceTransaction")} trace_transaction), ` +
      `${n("everyReadFromNode")} transfers read from the node, peak RSS ${n("everyPeakRssMb")} MB; ` +
      `again: ${fmt(every["everySecondSeconds"] ?? 0, 2)} s, ${n("everySecondRpcRequests")} requests`,
  );
  say(
    failures.length === 0
      ? "The answers are the generator's."
      : `MISMATCH (${failures.length}): ${failures.slice(0, 5).join("; ")}`,
  );
  say(
    JSON.stringify({
      seconds: Number(first.seconds.toFixed(3)),
      peakRssMb: Math.round(peakRssMb),
      rpcRequests: first.requests,
      tracedTransfers: r.stats.transfers,
      chainTransfers: chain.transfers,
      rounds: first.rounds,
      getLogs: first.getLogs,
      readFromNode: first.out.ingest.rows,
      launderingTransfers: truth.transfers,
      taintedTransfers: r.edges.length,
      secondSeconds: Number(second.seconds.toFixed(3)),
      secondRpcRequests: second.requests,
      secondGetLogs: second.getLogs,
      secondFinalGetLogs: second.finalGetLogs,
      ...every,
      latencyMs,
      cpus: cpus().length,
    }),
  );
} finally {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
}

function sum(list: readonly { amount: bigint }[]): bigint {
  return list.reduce((s, x) => s + x.amount, 0n);
}

/** The trace's answer against the generator's account of the laundering. */
function check(out: RunTraceOutput, which: string, failures: string[]): void {
  const r = out.result;
  const fail = (what: string) => failures.push(`${which}: ${what}`);
  if (r.seedAmount !== truth.stolen) fail(`seed ${r.seedAmount}, stolen ${truth.stolen}`);
  if (r.total !== truth.stolen) fail(`total ${r.total} ≠ stolen ${truth.stolen}`);
  const exits = new Map(r.exits.map((e) => [e.address, e.amount]));
  for (const [exchange, intake] of truth.exchangeIntake)
    if (exits.get(exchange) !== intake)
      fail(`exchange ${exchange} received ${intake}, the trace says ${exits.get(exchange) ?? 0n}`);
  const holdings = new Map(r.holdings.map((h) => [h.address, h.amount]));
  for (const [holder, amount] of truth.held)
    if (holdings.get(holder) !== amount)
      fail(`${holder} holds ${amount}, the trace says ${holdings.get(holder) ?? 0n}`);
  let leaked = r.belowMinimum + r.beyondHopLimit;
  for (const h of r.holdings) if (!truth.held.has(h.address)) leaked += h.amount;
  for (const e of r.exits) if (!truth.exchangeIntake.has(e.address)) leaked += e.amount;
  let leaks = 0n;
  for (const v of truth.leaks.values()) leaks += v;
  if (leaked !== leaks)
    fail(`the leaks were ${leaks}, the trace finds ${leaked} beyond the launderers`);
  for (const h of r.holdings)
    if (truth.launderers.has(h.address) && !truth.held.has(h.address))
      fail(`launderer ${h.address} holds ${h.amount} in the trace, nothing in truth`);
}

const missed: string[] = [];
if (failures.length > 0) missed.push(`the answer is not the generator's (${failures[0]})`);
if (measured.seconds > TARGET_SECONDS)
  missed.push(`the trace took ${fmt(measured.seconds, 2)} s (target ≤ ${TARGET_SECONDS} s)`);
if (measured.peakRssMb > TARGET_RSS_MB)
  missed.push(`peak RSS ${fmt(measured.peakRssMb)} MB (target ≤ ${TARGET_RSS_MB} MB)`);
if (measured.everyPeakRssMb > TARGET_RSS_MB)
  missed.push(
    `peak RSS of the traces of every asset ${fmt(measured.everyPeakRssMb)} MB (target ≤ ${TARGET_RSS_MB} MB)`,
  );
if (missed.length > 0) {
  console.error(`bench:trace-rpc missed its targets: ${missed.join("; ")}`);
  process.exit(1);
}
