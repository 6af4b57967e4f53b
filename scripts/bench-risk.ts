/**
 * Risk screening benchmark: address exposure scores over an ingested synthetic history.
 *
 *   npm run bench:risk [-- --postgres postgres://user@host:5432/db]
 *
 * Builds (deterministically, from a fixed PRNG seed) 1 000 000 native-coin transfers over
 * 100 000 addresses, 1 % of them labeled (sanctioned, ransomware, hack, phishing, scam, darknet,
 * mixer, exchange): everyday payments between users (a few popular ones receive most), payouts
 * from labeled addresses, deposits to exchanges and withdrawals from them. Ingestion (not timed):
 * the transfers are written into a fresh store through the stream store's own write path (the
 * embedded database in a temporary directory, or with --postgres a new database on that server,
 * dropped afterwards), the labels imported as a TagPack. Then a separate process, as
 * `veritrace screen` after ingestion, screens 10 000 addresses at 3 hops with the code the
 * command runs (screenIngested): the transfers loaded from the store, the labels looked up, the
 * inflow index built once, every address walked back on the same memoized engine, scored, and
 * its largest paths found (3 per scoring category). The time covers all of that; the peak RSS is
 * that process's.
 *
 * The last line of the output is one JSON object: addresses, hops, seconds, peakRssMb, and more.
 * Exit code 1, with one line on stderr, when a target is missed: ≤ 10 s, peak RSS ≤ 1.5 GiB.
 * Environment: VERITRACE_BENCH_TRANSFERS (default 1 000 000), VERITRACE_BENCH_ADDRESSES (default
 * 100 000), VERITRACE_BENCH_SCREENED (default 10 000), VERITRACE_BENCH_HOPS (default 3).
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Label, Transfer } from "../src/analytics/funds/types.js";
import { importTagPacks } from "../src/analytics/labels/store.js";
import { DEFAULT_RISK_CONFIG, VERDICTS, type Verdict } from "../src/analytics/risk/config.js";
import { screenIngested } from "../src/analytics/risk/screen.js";
import { openDatabase } from "../src/db/db.js";
import { Store } from "../src/db/store.js";
import { StreamStore, type TransferRow } from "../src/db/streams.js";
import { fmt, prng } from "./lib/bench.js";
import { createPostgresDatabase } from "./lib/postgres.js";

const setting = (name: string, fallback: number, min: number): number => {
  const v = Number(process.env[name] ?? fallback);
  if (!Number.isSafeInteger(v) || v < min) throw new Error(`${name} must be an integer ≥ ${min}`);
  return v;
};
const TRANSFERS = setting("VERITRACE_BENCH_TRANSFERS", 1_000_000, 10_000);
const ADDRESSES = setting("VERITRACE_BENCH_ADDRESSES", 100_000, 1000);
const SCREENED = Math.min(setting("VERITRACE_BENCH_SCREENED", 10_000, 1), ADDRESSES);
const HOPS = setting("VERITRACE_BENCH_HOPS", 3, 1);
const TARGET_SECONDS = 10;
const TARGET_RSS_MB = 1536;
const GWEI = 10n ** 9n;
const CATEGORIES = [
  "sanctioned",
  "ransomware",
  "hack",
  "phishing",
  "scam",
  "darknet",
  "mixer",
  "exchange",
];

function generate(): { transfers: Transfer[]; labels: Map<string, Label>; screened: string[] } {
  const rnd = prng(20_260_301);
  const int = (n: number) => Math.floor(rnd() * n);
  const hex = (words: number) => {
    let s = "";
    for (let i = 0; i < words; i++) s += int(0x1_0000_0000).toString(16).padStart(8, "0");
    return s;
  };
  const addresses = Array.from({ length: ADDRESSES }, () => `0x${hex(5)}`);
  // Ids 0 … 1 % − 1 are labeled; the exchanges among them are the busiest.
  const LABELED = Math.max(8, Math.floor(ADDRESSES / 100));
  const labels = new Map<string, Label>();
  for (let i = 0; i < LABELED; i++) {
    const category = CATEGORIES[i % CATEGORIES.length] as string;
    labels.set(addresses[i] as string, { category, label: `${category} ${i}` });
  }
  const exchanges = Array.from({ length: LABELED }, (_, i) => i).filter(
    (i) => CATEGORIES[i % CATEGORIES.length] === "exchange",
  );
  const users = ADDRESSES - LABELED;
  const popular = () => LABELED + Math.floor(users * rnd() ** 3);
  const anyUser = () => LABELED + int(users);
  const transfers: Transfer[] = [];
  let block = 5_000_000;
  let txIndex = 0;
  const push = (from: number, to: number, amount: bigint) => {
    if (rnd() < 0.1) {
      block++;
      txIndex = 0;
    }
    const position = txIndex++; // one transfer per transaction
    transfers.push({
      blockNumber: block,
      txIndex: position,
      ordinal: position,
      txHash: `0x${hex(8)}`,
      token: "native",
      from: addresses[from] as string,
      to: addresses[to] as string,
      amount,
      time: 1_700_000_000 + (block - 5_000_000) * 12,
    });
  };
  const amount = () => BigInt(1 + int(1_000_000)) * 1000n * GWEI; // 1e-6 to 1,000 ETH
  while (transfers.length < TRANSFERS) {
    const r = rnd();
    if (r < 0.02)
      push(int(LABELED), anyUser(), amount()); // a labeled address pays out
    else if (r < 0.12) push(anyUser(), exchanges[int(exchanges.length)] as number, amount());
    else if (r < 0.22) push(exchanges[int(exchanges.length)] as number, anyUser(), amount());
    else push(anyUser(), popular(), amount());
  }
  const screened = new Set<string>();
  while (screened.size < SCREENED) screened.add(addresses[LABELED + int(users)] as string);
  return { transfers, labels, screened: [...screened] };
}

const CHAIN_ID = 1;
/** Rows per ingestion transaction (whole blocks). */
const WRITE_BATCH = 50_000;

/** Writes the history into the store as the transfer sync does: ranges of whole blocks. */
async function ingest(target: string, transfers: readonly Transfer[]): Promise<string> {
  const db = await openDatabase(target);
  try {
    await Store.open(db);
    const first = transfers[0]?.blockNumber ?? 0;
    const stream = await StreamStore.open(db, {
      chainId: CHAIN_ID,
      kind: "native",
      token: "native",
      startBlock: first,
    });
    for (let i = 0; i < transfers.length;) {
      let j = Math.min(transfers.length, i + WRITE_BATCH);
      const last = (transfers[j - 1] as Transfer).blockNumber;
      while (j < transfers.length && (transfers[j] as Transfer).blockNumber === last) j++;
      const rows: TransferRow[] = transfers.slice(i, j).map((t) => ({
        blockNumber: t.blockNumber,
        ordinal: t.ordinal,
        txIndex: t.txIndex,
        txHash: t.txHash,
        token: t.token,
        from: t.from,
        to: t.to,
        amount: t.amount,
        blockTime: t.time,
        kind: "value",
      }));
      await stream.writeRange({
        rows,
        blocks: [],
        checkpoint: { blockNumber: last, blockHash: `0x${last.toString(16).padStart(64, "0")}` },
        pruneBelow: last,
      });
      i = j;
    }
    return stream.id;
  } finally {
    await db.close();
  }
}

/** The labels as one TagPack, imported as `veritrace labels import` does. */
async function importLabels(target: string, labels: ReadonlyMap<string, Label>, dir: string) {
  const file = path.join(dir, "labels.yaml");
  const tags = [...labels].map(
    ([address, l]) =>
      `- address: '${address}'\n  label: ${l.label}\n  category: ${l.category === "darknet" ? "darknet_market" : l.category}`,
  );
  writeFileSync(
    file,
    `title: Benchmark labels\ncreator: bench:risk\nsource: https://example.org/bench-risk\ncurrency: ETH\nnetwork: ethereum\ntags:\n${tags.join("\n")}\n`,
  );
  const db = await openDatabase(target);
  try {
    const [result] = await importTagPacks(db, [file]);
    if (result?.tags !== labels.size)
      throw new Error(`imported ${result?.tags ?? 0} labels of ${labels.size}`);
  } finally {
    await db.close();
  }
}

interface ScreenOutcome {
  seconds: number;
  phases: Record<string, number>;
  peakRssMb: number;
  transfers: number;
  verdicts: Record<Verdict, number>;
  paths: number;
}

/** The timed part, in its own process: what `veritrace screen` does after ingestion. */
async function screenChild(target: string, stream: string, addressesFile: string) {
  const addresses = JSON.parse(readFileSync(addressesFile, "utf8")) as string[];
  const db = await openDatabase(target);
  try {
    const phases: Record<string, number> = {};
    const start = performance.now();
    const result = await screenIngested({
      db,
      chainId: CHAIN_ID,
      stream,
      token: "native",
      fromBlock: 0,
      toBlock: Number.MAX_SAFE_INTEGER,
      addresses,
      hops: HOPS,
      config: DEFAULT_RISK_CONFIG,
      paths: 3,
      onPhase: (phase, seconds) => (phases[phase] = Number(seconds.toFixed(3))),
    });
    const seconds = (performance.now() - start) / 1000;
    const verdicts = Object.fromEntries(VERDICTS.map((v) => [v, 0])) as Record<Verdict, number>;
    let paths = 0;
    for (const r of result.reports) {
      verdicts[r.verdict]++;
      paths += r.paths.length;
    }
    const outcome: ScreenOutcome = {
      seconds,
      phases,
      peakRssMb: process.resourceUsage().maxRSS / 1024,
      transfers: result.transfers,
      verdicts,
      paths,
    };
    console.log(JSON.stringify(outcome));
  } finally {
    await db.close();
  }
}

async function runChild(args: string[]): Promise<ScreenOutcome> {
  const child = spawn(
    process.execPath,
    [...process.execArgv, fileURLToPath(import.meta.url), "--screen", ...args],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  let out = "";
  child.stdout.on("data", (c: Buffer) => (out += c.toString()));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", resolve);
  });
  if (code !== 0) throw new Error(`the screening process exited with ${code}`);
  return JSON.parse(out.trim().split("\n").at(-1) ?? "") as ScreenOutcome;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === "--screen") {
    const [, target, stream, file] = args;
    if (target === undefined || stream === undefined || file === undefined)
      throw new Error("--screen needs a store, a stream and an addresses file");
    return screenChild(target, stream, file);
  }
  let postgres: string | null = null;
  if (args[0] === "--postgres" && args[1] !== undefined && args.length === 2) postgres = args[1];
  else if (args.length > 0) throw new Error("usage: bench-risk.ts [--postgres URL]");

  const genStart = performance.now();
  const generated = generate();
  const { labels, screened } = generated;
  const transferCount = generated.transfers.length;
  const genSeconds = (performance.now() - genStart) / 1000;
  console.log(`Risk screening benchmark (${cpus().length} CPUs, Node ${process.version})`);
  console.log(
    `Synthetic history: ${fmt(transferCount)} transfers over ${fmt(ADDRESSES)} addresses ` +
      `(${fmt(labels.size)} labeled), generated in ${fmt(genSeconds, 1)} s`,
  );
  const server =
    postgres === null ? null : await createPostgresDatabase(postgres, "veritrace_bench_risk");
  const dir = mkdtempSync(path.join(tmpdir(), "veritrace-bench-risk-"));
  const target = server?.url ?? path.join(dir, "db");
  const engine = server === null ? "embedded database (PGlite)" : "PostgreSQL server";
  try {
    const ingestStart = performance.now();
    const stream = await ingest(target, generated.transfers);
    generated.transfers.length = 0;
    await importLabels(target, labels, dir);
    const ingestSeconds = (performance.now() - ingestStart) / 1000;
    console.log(`Ingested into the ${engine} in ${fmt(ingestSeconds, 1)} s (not timed below)`);
    const addressesFile = path.join(dir, "screened.json");
    writeFileSync(addressesFile, JSON.stringify(screened));
    const r = await runChild([target, stream, addressesFile]);
    const phases = Object.entries(r.phases)
      .map(([k, v]) => `${k} ${fmt(v, 2)} s`)
      .join(", ");
    console.log(
      `Screened ${fmt(screened.length)} addresses at ${HOPS} hops from the store in ${fmt(r.seconds, 2)} s ` +
        `(${phases}): ${VERDICTS.map((v) => `${v} ${fmt(r.verdicts[v])}`).join(", ")}; ${fmt(r.paths)} paths`,
    );
    console.log(`Peak RSS of the screening process: ${fmt(r.peakRssMb)} MB`);
    console.log(
      JSON.stringify({
        addresses: screened.length,
        hops: HOPS,
        seconds: Number(r.seconds.toFixed(3)),
        peakRssMb: Math.round(r.peakRssMb),
        store: server === null ? "pglite" : "postgres",
        transfers: r.transfers,
        history: ADDRESSES,
        labeled: labels.size,
        ...Object.fromEntries(Object.entries(r.phases).map(([k, v]) => [`seconds.${k}`, v])),
        "seconds.ingest": Number(ingestSeconds.toFixed(3)),
        "seconds.generate": Number(genSeconds.toFixed(3)),
        "verdicts.low": r.verdicts.low,
        "verdicts.medium": r.verdicts.medium,
        "verdicts.high": r.verdicts.high,
        "verdicts.severe": r.verdicts.severe,
        paths: r.paths,
        cpus: cpus().length,
      }),
    );
    const missed: string[] = [];
    if (r.seconds > TARGET_SECONDS)
      missed.push(`screening took ${fmt(r.seconds, 2)} s (target ≤ ${TARGET_SECONDS} s)`);
    if (r.peakRssMb > TARGET_RSS_MB)
      missed.push(`peak RSS ${fmt(r.peakRssMb)} MB (target ≤ ${TARGET_RSS_MB} MB)`);
    if (missed.length > 0) {
      console.error(`bench:risk missed its targets: ${missed.join("; ")}`);
      process.exitCode = 1;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await server?.drop();
  }
}

main().catch((error: unknown) => {
  console.error(`bench:risk: ${(error as Error).message}`);
  process.exit(1);
});
