/**
 * Risk screening benchmark: address exposure scores over a synthetic history.
 *
 *   npm run bench:risk
 *
 * Builds (deterministically, from a fixed PRNG seed) 1 000 000 native-coin transfers over
 * 100 000 addresses, 1 % of them labeled (sanctioned, ransomware, hack, phishing, scam, darknet,
 * mixer, exchange): everyday payments between users (a few popular ones receive most), payouts
 * from labeled addresses, deposits to exchanges and withdrawals from them. Then it screens 10 000
 * addresses at 3 hops, as `veritrace screen` does after ingestion: the inflow index built once,
 * every address walked back on the same memoized engine, scored, and its largest paths found
 * (3 per scoring category). The time covers all of that (history generation excluded); the peak
 * RSS covers the whole process.
 *
 * The last line of the output is one JSON object: addresses, hops, seconds, peakRssMb, and more.
 * Exit code 1, with one line on stderr, when a target is missed: ≤ 10 s, peak RSS ≤ 1.5 GiB.
 * Environment: VERITRACE_BENCH_TRANSFERS (default 1 000 000), VERITRACE_BENCH_ADDRESSES (default
 * 100 000), VERITRACE_BENCH_SCREENED (default 10 000), VERITRACE_BENCH_HOPS (default 3).
 */
import { cpus } from "node:os";
import type { Label, Transfer } from "../src/tracer/funds/types.js";
import { DEFAULT_RISK_CONFIG, VERDICTS, type Verdict } from "../src/tracer/risk/config.js";
import { ExposureEngine, InflowIndex } from "../src/tracer/risk/exposure.js";
import { assessAddress } from "../src/tracer/risk/score.js";
import { fmt, prng } from "./lib/bench.js";

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
    transfers.push({
      blockNumber: block,
      txIndex: txIndex++,
      ordinal: 0,
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

const genStart = performance.now();
const { transfers, labels, screened } = generate();
const genSeconds = (performance.now() - genStart) / 1000;
console.log(`Risk screening benchmark (${cpus().length} CPUs, Node ${process.version})`);
console.log(
  `Synthetic history: ${fmt(transfers.length)} transfers over ${fmt(ADDRESSES)} addresses ` +
    `(${fmt(labels.size)} labeled), generated in ${fmt(genSeconds, 1)} s`,
);

const start = performance.now();
const index = new InflowIndex(transfers, {
  token: "native",
  labels: (a) => labels.get(a),
  extra: screened,
});
const indexSeconds = (performance.now() - start) / 1000;
const engine = new ExposureEngine(index, HOPS);
const verdicts = Object.fromEntries(VERDICTS.map((v) => [v, 0])) as Record<Verdict, number>;
let paths = 0;
for (const address of screened) {
  const r = assessAddress(engine, address, DEFAULT_RISK_CONFIG, { hops: HOPS, paths: 3 });
  verdicts[r.verdict]++;
  paths += r.paths.length;
}
const seconds = (performance.now() - start) / 1000;
const peakRssMb = process.resourceUsage().maxRSS / 1024;
console.log(
  `Screened ${fmt(screened.length)} addresses at ${HOPS} hops in ${fmt(seconds, 2)} s ` +
    `(inflow index ${fmt(indexSeconds, 2)} s): ${VERDICTS.map((v) => `${v} ${fmt(verdicts[v])}`).join(", ")}; ` +
    `${fmt(paths)} paths`,
);
console.log(`Peak RSS: ${fmt(peakRssMb)} MB`);
console.log(
  JSON.stringify({
    addresses: screened.length,
    hops: HOPS,
    seconds: Number(seconds.toFixed(3)),
    peakRssMb: Math.round(peakRssMb),
    transfers: transfers.length,
    history: ADDRESSES,
    labeled: labels.size,
    "seconds.index": Number(indexSeconds.toFixed(3)),
    "seconds.generate": Number(genSeconds.toFixed(3)),
    "verdicts.low": verdicts.low,
    "verdicts.medium": verdicts.medium,
    "verdicts.high": verdicts.high,
    "verdicts.severe": verdicts.severe,
    paths,
    cpus: cpus().length,
  }),
);
const missed: string[] = [];
if (seconds > TARGET_SECONDS)
  missed.push(`screening took ${fmt(seconds, 2)} s (target ≤ ${TARGET_SECONDS} s)`);
if (peakRssMb > TARGET_RSS_MB)
  missed.push(`peak RSS ${fmt(peakRssMb)} MB (target ≤ ${TARGET_RSS_MB} MB)`);
if (missed.length > 0) {
  console.error(`bench:risk missed its targets: ${missed.join("; ")}`);
  process.exit(1);
}
