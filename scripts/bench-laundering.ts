/**
 * Laundering benchmark: how much of a theft the tracer finds where it truly ended, on a generated
 * world with a known truth (scripts/lib/laundering-world.ts; docs/taint-models.md, "A scored
 * benchmark").
 *
 *   npm run bench:laundering
 *
 * Generates (deterministically, from a fixed PRNG seed) two chains of everyday traffic (traders
 * paying, swapping on Uniswap-V2-style pairs, wrapping, providing liquidity, banking through
 * deposit addresses, mixing, bridging) with a theft laundered through it, then runs the pipeline
 * of a trace of every asset across chains (scripts/lib/laundering-trace.ts: conversion moves,
 * bridge pairing and crossings, assets by chain, labels, the deposit-address heuristic, the
 * engine, per-seed attribution) once per model, three rounds interleaved, and scores the result
 * against the truth:
 *
 * - recall: the share of the stolen value whose true end point (an exchange deposit address, the
 *   mixer, a bridge, a holder: its chain, asset and address) the trace reports with at least 90 %
 *   of its true value there;
 * - precision: the share of the value the trace reports (holdings and exits) that sits on the true
 *   path or at true end points.
 *
 * Prints the world's size, a table of the end points per model, the figures and the time per
 * model (median of the rounds); the last line is one JSON object (flat dotted keys). Exit code 1,
 * with one line on stderr, when haircut's or FIFO's recall or precision is below 0.95 (poison's
 * figures are reported as they are). Environment: VERITRACE_BENCH_SEED (the world's PRNG seed),
 * VERITRACE_BENCH_TRADERS (traders on the first chain, default 240), VERITRACE_BENCH_TXS
 * (background transactions, default 6000).
 */
import { cpus } from "node:os";
import type { TaintModelName } from "../src/analytics/funds/taint.js";
import { fmt, median } from "./lib/bench.js";
import {
  END_KINDS,
  prepareWorld,
  ratio,
  scoreTrace,
  splitAsset,
  traceWorld,
  type Score,
  type WorldTrace,
} from "./lib/laundering-trace.js";
import { launderingWorld, type LaunderingWorld } from "./lib/laundering-world.js";

const int = (name: string, fallback: number, min: number): number => {
  const text = process.env[name];
  const n = text === undefined ? fallback : Number(text);
  if (!Number.isSafeInteger(n) || n < min) {
    console.error(`${name} must be an integer ≥ ${min}, got ${JSON.stringify(text)}`);
    process.exit(2);
  }
  return n;
};
const SEED = int("VERITRACE_BENCH_SEED", 20_250_101, 0);
const TRADERS = int("VERITRACE_BENCH_TRADERS", 240, 100);
const TXS = int("VERITRACE_BENCH_TXS", 6000, 1000);
const TARGET = 0.95;
const ROUNDS = 3;
const MODELS: TaintModelName[] = ["haircut", "fifo", "poison"];

const say = (text = "") => console.log(text);

const genStart = performance.now();
const world: LaunderingWorld = launderingWorld({
  seed: SEED,
  traders: TRADERS,
  backgroundTxs: TXS,
});
const genSeconds = (performance.now() - genStart) / 1000;
const { truth, size } = world;
const seedAsset = world.assets.get(`${truth.seedChainId}:${truth.seedToken}`) ?? {
  symbol: truth.seedToken,
  decimals: 0,
};
/** A value in the stolen asset, in whole units with two decimals. */
const money = (v: bigint) => {
  const unit = 10n ** BigInt(seedAsset.decimals);
  return fmt(Number(v / (unit / 100n || 1n)) / 100, 2);
};
const short = (a: string) => (a.length > 14 ? `${a.slice(0, 8)}…${a.slice(-4)}` : a);
const nameOf = (address: string) => world.names.get(address) ?? short(address);
const symbolOf = (chainId: number, token: string) =>
  world.assets.get(`${chainId}:${token}`)?.symbol ?? short(token);

const prepStart = performance.now();
const prepared = prepareWorld(world);
const prepSeconds = (performance.now() - prepStart) / 1000;
const byFallback = prepared.crossings.filter((p) => p.by === "fallback").length;

say(`Laundering benchmark (${cpus().length} CPUs, Node ${process.version})`);
say(
  `World (PRNG seed ${SEED}, generated in ${fmt(genSeconds, 2)} s): chains ` +
    world.chains.map((c) => `${c.chainId} (${c.name})`).join(" and ") +
    `; ${fmt(size.transfers)} transfers, ${fmt(size.conversions)} conversions ` +
    `(${fmt(size.liquidityEvents)} liquidity events), ${fmt(size.crossings)} bridge crossings and ` +
    `${size.unreleased} deposit never released, ${fmt(size.traders)} background traders, ` +
    `${size.exchanges} exchange hot wallets with ${fmt(size.depositAddresses)} deposit addresses, ` +
    `${size.pools} pairs, ${fmt(size.mixerDeposits)} mixer deposits`,
);
const endCount = (kind: string) => [...truth.ends.values()].filter((e) => e.kind === kind).length;
say(
  `Theft: ${world.seeds.length} seed transactions, ${money(truth.stolen)} ${seedAsset.symbol} on chain ` +
    `${truth.seedChainId}, laundered in ${size.launderingTxs} transactions to ${truth.ends.size} end points ` +
    `(${END_KINDS.map((k) => `${endCount(k)} ${k}`).join(", ")}) through ${truth.path.size} accounts`,
);
say(
  `Read as a trace of every asset reads its chains (${fmt(prepSeconds, 2)} s): ${fmt(prepared.converted)} ` +
    `conversions as moves (${prepared.skippedConversions.length} skipped), ${fmt(prepared.crossings.length)} ` +
    `crossings followed (${fmt(prepared.crossings.length - byFallback)} paired by id, ${fmt(byFallback)} by the ` +
    `fallback; ${prepared.skippedCrossings.length} skipped), ${prepared.unpairedDeposits.length} deposit unpaired`,
);
say();

const runs: Record<TaintModelName, number[]> = { haircut: [], fifo: [], poison: [] };
const traces: Partial<Record<TaintModelName, WorldTrace>> = {};
for (let round = 0; round < ROUNDS; round++)
  for (const model of MODELS) {
    traces[model] = undefined;
    const start = performance.now();
    traces[model] = await traceWorld(prepared, model);
    runs[model].push((performance.now() - start) / 1000);
  }

const scores = {} as Record<TaintModelName, Score>;
for (const model of MODELS) {
  const t = traces[model] as WorldTrace;
  const s = scoreTrace(truth, t.result);
  scores[model] = s;
  say(
    `${model}: ${fmt(median(runs[model]), 3)} s (median of ${ROUNDS}; ${t.runs} runs of the engine, ` +
      `${t.depositAddresses.size} deposit addresses found)`,
  );
  const rows = s.ends.map((x) => [
    `${x.end.label} ${short(x.end.address)}`,
    x.end.kind,
    String(x.end.chainId),
    symbolOf(x.end.chainId, x.end.token),
    money(x.end.value),
    money(x.reported),
    `${fmt(100 * ratio(x.reported, x.end.value), 1)} %`,
    x.found ? "found" : "MISSED",
  ]);
  table(["true end point", "kind", "chain", "asset", "true value", "reported", "share", ""], rows, [
    false,
    false,
    true,
    false,
    true,
    true,
    true,
    false,
  ]);
  const off = s.reported - s.onPath;
  say(
    `  reported ${money(s.reported)} ${seedAsset.symbol}, off the true path ${money(off)} ` +
      `(${fmt(100 * ratio(off, s.reported), 2)} %)` +
      (s.offPath.length === 0
        ? ""
        : `, most at: ${s.offPath
            .slice(0, 4)
            .map((o) => {
              const [asset, address] = splitAccount(o.account);
              const { chainId, token } = splitAsset(asset, truth.seedChainId);
              return `${o.kind} ${nameOf(address)} ${symbolOf(chainId, token)} on ${chainId} ${money(o.value)}`;
            })
            .join("; ")}`),
  );
  say(
    `  recall ${s.recall.toFixed(4)} (${s.ends.filter((x) => x.found).length} of ${s.ends.length} end points), ` +
      `precision ${s.precision.toFixed(4)}`,
  );
  say();
}

table(
  ["model", "recall", "precision", "seconds", "end points found", `reported (${seedAsset.symbol})`],
  MODELS.map((m) => [
    m,
    scores[m].recall.toFixed(4),
    scores[m].precision.toFixed(4),
    fmt(median(runs[m]), 3),
    `${scores[m].ends.filter((x) => x.found).length}/${scores[m].ends.length}`,
    money(scores[m].reported),
  ]),
  [false, true, true, true, true, true],
);
say();

const summary: Record<string, number> = {};
for (const m of MODELS) {
  summary[`recall.${m}`] = Number(scores[m].recall.toFixed(4));
  summary[`precision.${m}`] = Number(scores[m].precision.toFixed(4));
}
for (const m of MODELS) summary[`seconds.${m}`] = Number(median(runs[m]).toFixed(3));
Object.assign(summary, {
  seed: SEED,
  transfers: size.transfers,
  conversions: size.conversions,
  crossings: size.crossings,
  traders: size.traders,
  endPoints: truth.ends.size,
  stolen: Number(truth.stolen) / 10 ** seedAsset.decimals,
  "seconds.generate": Number(genSeconds.toFixed(3)),
  cpus: cpus().length,
});
say(JSON.stringify(summary));

const missed: string[] = [];
for (const m of ["haircut", "fifo"] as const)
  for (const [what, figure] of [
    ["recall", scores[m].recall],
    ["precision", scores[m].precision],
  ] as const)
    if (figure < TARGET) missed.push(`${m} ${what} ${figure.toFixed(4)}`);
if (missed.length > 0) {
  console.error(`bench:laundering missed its targets (≥ ${TARGET}): ${missed.join("; ")}`);
  process.exit(1);
}

/** An account key (`ASSET/ADDRESS`) as its asset and address. */
function splitAccount(account: string): [string, string] {
  const slash = account.lastIndexOf("/");
  return [account.slice(0, slash), account.slice(slash + 1)];
}

/** A plain text table, numbers right-aligned. */
function table(head: string[], rows: string[][], right: boolean[]): void {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    "  " +
    cells
      .map((c, i) => (right[i] === true ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  say(line(head));
  say(line(widths.map((w) => "-".repeat(w))));
  for (const r of rows) say(line(r));
}
