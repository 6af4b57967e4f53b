/**
 * Fund-flow tracing benchmark: the taint engine on a synthetic chain.
 *
 *   npm run bench:trace
 *
 * Builds (deterministically, from a fixed PRNG seed) 1 000 000 native-coin transfers over 100 000
 * addresses: everyday payments between users (a few popular ones receive most), deposits to and
 * batched withdrawals from labeled exchanges, a gas fee to the fee sink for every transaction,
 * and a theft: one seed transaction, then its laundering through fan-outs, peel chains, merges,
 * cycles (A→B→A), a mixer, a bridge and exchanges, with some payments leaking into the everyday
 * traffic. Then it times `trace` from the seed with each model (haircut, FIFO, poison), three
 * times each, rounds interleaved, and reports the median (graph generation excluded; everything
 * `trace` does is included: selecting, sorting and interning the transfers, the trace, building
 * the result with its paths). Then, on the haircut result, the deposit-address step `runTrace`
 * adds (the reached addresses that send to an exchange assessed by the clustering heuristic: the
 * senders to exchanges gathered with their transfers, once per trace, then the assessment each
 * round makes) and haircut again with the deposit addresses found as exits. The peak RSS covers the whole process.
 *
 * The last line of the output is one JSON object (flat dotted keys). Exit code 1, with one line on
 * stderr, when a target is missed: each model ≤ 2 s, peak RSS ≤ 1 GiB. Environment:
 * VERITRACE_BENCH_TRANSFERS (default 1 000 000), VERITRACE_BENCH_ADDRESSES (default 100 000).
 */
import { cpus } from "node:os";
import { depositCandidates } from "../src/analytics/cluster/deposits.js";
import { depositExitsAmong, reachedBy } from "../src/analytics/funds/deposit-exits.js";
import {
  trace,
  type DepositExit,
  type Label,
  type TaintModelName,
  type TraceResult,
  type Transfer,
} from "../src/analytics/funds/taint.js";
import { fmt, median, prng } from "./lib/bench.js";

const TRANSFERS = Number(process.env["VERITRACE_BENCH_TRANSFERS"] ?? 1_000_000);
const ADDRESSES = Number(process.env["VERITRACE_BENCH_ADDRESSES"] ?? 100_000);
if (!Number.isSafeInteger(TRANSFERS) || TRANSFERS < 10_000)
  throw new Error(`VERITRACE_BENCH_TRANSFERS must be an integer ≥ 10 000, got ${TRANSFERS}`);
if (!Number.isSafeInteger(ADDRESSES) || ADDRESSES < 1000)
  throw new Error(`VERITRACE_BENCH_ADDRESSES must be an integer ≥ 1000, got ${ADDRESSES}`);
const TARGET_SECONDS = 2;
const TARGET_RSS_MB = 1024;

const ETHER = 10n ** 18n;
const GWEI = 10n ** 9n;
const FEE_SINK = "0x00000000000000000000000000000000000000fe";
const TOKEN = "native";

/** Each model is timed this many times; the median is reported. */
const ROUNDS = 3;

const say = (text = "") => console.log(text);
const eth = (wei: bigint) => fmt(Number(wei / 10n ** 14n) / 10_000, 4);

interface Chain {
  transfers: Transfer[];
  initialBalances: Map<string, bigint>;
  labels: Map<string, Label>;
  seedTx: string;
  launderers: number;
}

/** The synthetic chain (see the header). */
function generate(): Chain {
  const rnd = prng(20_240_601);
  const int = (n: number) => Math.floor(rnd() * n);
  const hex = (words: number) => {
    let s = "";
    for (let i = 0; i < words; i++) s += int(0x1_0000_0000).toString(16).padStart(8, "0");
    return s;
  };
  const addresses: string[] = [];
  for (let i = 0; i < ADDRESSES; i++) addresses.push(`0x${hex(5)}`);
  const balance = new Array<bigint>(ADDRESSES).fill(0n);
  const initialBalances = new Map<string, bigint>();
  const labels = new Map<string, Label>();

  // Roles: ids 0..39 exchanges, 40..44 bridges, 45..47 mixers, 48 the victim, 49 the thief, then
  // launderers (2%), then users.
  const EXCHANGES = 40;
  const BRIDGES = 5;
  const MIXERS = 3;
  const VICTIM = EXCHANGES + BRIDGES + MIXERS;
  const THIEF = VICTIM + 1;
  const LAUNDER_FROM = THIEF + 1;
  const LAUNDERERS = Math.max(100, Math.floor(ADDRESSES * 0.02));
  const USER_FROM = LAUNDER_FROM + LAUNDERERS;
  const USERS = ADDRESSES - USER_FROM;
  for (let i = 0; i < EXCHANGES; i++)
    labels.set(addresses[i] as string, { category: "exchange", label: `Exchange ${i + 1}` });
  for (let i = 0; i < BRIDGES; i++)
    labels.set(addresses[EXCHANGES + i] as string, {
      category: "bridge",
      label: `Bridge ${i + 1}`,
    });
  for (let i = 0; i < MIXERS; i++)
    labels.set(addresses[EXCHANGES + BRIDGES + i] as string, {
      category: "mixer",
      label: `Mixer ${i + 1}`,
    });
  const fund = (id: number, amount: bigint) => {
    balance[id] = amount;
    initialBalances.set(addresses[id] as string, amount);
  };
  for (let i = 0; i < EXCHANGES + BRIDGES + MIXERS; i++) fund(i, 1_000_000n * ETHER);
  fund(VICTIM, 50_000n * ETHER);
  fund(THIEF, ETHER);
  for (let i = USER_FROM; i < ADDRESSES; i++) fund(i, (BigInt(1 + int(100_000)) * ETHER) / 1000n); // 0.001 to 100 ETH
  // Popular users receive most payments: index ~ USERS · u³.
  const user = () => USER_FROM + Math.floor(USERS * rnd() ** 3);
  const anyUser = () => USER_FROM + int(USERS);
  const exchange = () => int(EXCHANGES);

  const transfers: Transfer[] = [];
  let block = 1_000_000;
  let txIndex = 0;
  let ordinal = 0;
  let txHash = "";
  const beginTx = () => {
    txHash = `0x${hex(8)}`;
    txIndex++;
    if (rnd() < 0.08) {
      block++;
      txIndex = 0;
      ordinal = 0;
    }
  };
  const move = (from: number, to: number, amount: bigint) => {
    balance[from] = (balance[from] as bigint) - amount;
    balance[to] = (balance[to] as bigint) + amount;
    transfers.push({
      blockNumber: block,
      txIndex,
      ordinal: ordinal++,
      txHash,
      token: TOKEN,
      from: addresses[from] as string,
      to: to < 0 ? FEE_SINK : (addresses[to] as string),
      amount,
      time: 1_700_000_000 + (block - 1_000_000) * 12,
    });
  };
  const fee = (from: number) => {
    const amount = BigInt(21_000 + int(200_000)) * BigInt(1 + int(40)) * GWEI;
    balance[from] = (balance[from] as bigint) - amount;
    transfers.push({
      blockNumber: block,
      txIndex,
      ordinal: ordinal++,
      txHash,
      token: TOKEN,
      from: addresses[from] as string,
      to: FEE_SINK,
      amount,
      time: 1_700_000_000 + (block - 1_000_000) * 12,
    });
  };
  /** A share (1–60 %) of what `from` holds, keeping 0.01 ETH for fees; 0 if too poor. */
  const share = (from: number, max = 0.6) => {
    const spendable = (balance[from] as bigint) - ETHER / 100n;
    if (spendable <= 0n) return 0n;
    return (spendable * BigInt(Math.floor((0.01 + rnd() * (max - 0.01)) * 10_000))) / 10_000n;
  };

  // Laundering state: who holds stolen funds now, and who paid whom (for cycles).
  const holding: number[] = [];
  const payer = new Map<number, number>();
  const launderer = () => LAUNDER_FROM + int(LAUNDERERS);
  const SEED_AT = Math.floor(TRANSFERS * 0.05);
  let seedTx = "";
  let seeded = false;

  while (transfers.length < TRANSFERS) {
    beginTx();
    if (!seeded && transfers.length >= SEED_AT) {
      seeded = true;
      seedTx = txHash;
      move(VICTIM, THIEF, 20_000n * ETHER);
      fee(VICTIM);
      holding.push(THIEF);
      continue;
    }
    const r = rnd();
    if (seeded && r < 0.12 && holding.length > 0) {
      // Laundering: one step from a holder of stolen funds.
      const slot = int(holding.length);
      const from = holding[slot] as number;
      const kind = rnd();
      const amount = share(from, 0.95);
      if (amount < ETHER / 10n) {
        holding[slot] = holding[holding.length - 1] as number;
        holding.pop();
        continue;
      }
      if (kind < 0.3) {
        // Fan-out in one transaction (a batch payout contract).
        const n = 2 + int(8);
        for (let i = 0; i < n; i++) {
          const to = launderer();
          move(from, to, amount / BigInt(n));
          payer.set(to, from);
          holding.push(to);
        }
      } else if (kind < 0.55) {
        // Peel chain: most to the next hop, a peel to a user or an exchange.
        const next = launderer();
        const peel = amount / BigInt(5 + int(20));
        move(from, rnd() < 0.5 ? anyUser() : exchange(), peel);
        move(from, next, amount - peel);
        payer.set(next, from);
        holding.push(next);
      } else if (kind < 0.75) {
        // Merge into a consolidation address shared by several holders.
        const to = LAUNDER_FROM + int(Math.max(1, LAUNDERERS / 50));
        move(from, to, amount);
        payer.set(to, from);
        holding.push(to);
      } else if (kind < 0.85) {
        // Cycle: back to whoever paid this address.
        const back = payer.get(from) ?? launderer();
        move(from, back, amount);
        payer.set(back, from);
        holding.push(back);
      } else if (kind < 0.9) {
        move(from, EXCHANGES + BRIDGES + int(MIXERS), amount); // mixer
      } else if (kind < 0.93) {
        move(from, EXCHANGES + int(BRIDGES), amount); // bridge
      } else if (kind < 0.97) {
        move(from, exchange(), amount);
      } else {
        move(from, anyUser(), amount / 4n); // leaks into everyday traffic
      }
      fee(from);
      if (holding.length > 4000) holding.splice(0, holding.length - 4000);
      continue;
    }
    if (r < 0.62) {
      // Everyday payment between users.
      const from = anyUser();
      const amount = share(from);
      if (amount === 0n) continue;
      move(from, user(), amount);
      fee(from);
    } else if (r < 0.85) {
      // Deposit to an exchange.
      const from = anyUser();
      const amount = share(from, 0.9);
      if (amount === 0n) continue;
      move(from, exchange(), amount);
      fee(from);
    } else {
      // Batched withdrawals from an exchange.
      const from = exchange();
      const n = 5 + int(25);
      for (let i = 0; i < n; i++) move(from, anyUser(), (BigInt(1 + int(10_000)) * ETHER) / 1000n);
      fee(from);
    }
  }
  transfers.length = TRANSFERS;
  return { transfers, initialBalances, labels, seedTx, launderers: LAUNDERERS };
}

const genStart = performance.now();
const chain = generate();
const genSeconds = (performance.now() - genStart) / 1000;
say(`Fund-flow tracing benchmark (${cpus().length} CPUs, Node ${process.version})`);
say(
  `Synthetic chain: ${fmt(chain.transfers.length)} transfers over ${fmt(ADDRESSES)} addresses ` +
    `(${chain.labels.size} labeled exits, ${fmt(chain.launderers)} launderers), generated in ${fmt(genSeconds, 1)} s`,
);
say(`Seed: transaction ${chain.seedTx}`);
say();

const labels = (address: string) => chain.labels.get(address);
const models: TaintModelName[] = ["haircut", "fifo", "poison"];
const runs: Record<TaintModelName, number[]> = { haircut: [], fifo: [], poison: [] };
const results: Partial<Record<TaintModelName, TraceResult>> = {};
say(`Each model traced ${ROUNDS} times (rounds interleaved); wall-clock seconds, median first:`);
for (let round = 0; round < ROUNDS; round++) {
  for (const model of models) {
    results[model] = undefined; // let the previous result go before timing the next
    const start = performance.now();
    const result = trace(chain.transfers, {
      model,
      seed: { kind: "tx", txHash: chain.seedTx },
      token: TOKEN,
      labels,
      initialBalances: chain.initialBalances,
      feeSink: FEE_SINK,
    });
    runs[model].push((performance.now() - start) / 1000);
    results[model] = result;
    if (model !== "poison" && result.total !== result.seedAmount)
      throw new Error(`${model}: taint not conserved (${result.total} ≠ ${result.seedAmount})`);
  }
}
const seconds = {} as Record<TaintModelName, number>;
for (const model of models) {
  const result = results[model];
  if (result === undefined) throw new Error(`no result for ${model}`);
  seconds[model] = median(runs[model]);
  const exited = result.exits.reduce((s, e) => s + e.amount, 0n);
  const held = result.holdings.reduce((s, h) => s + h.amount, 0n);
  const all = runs[model].map((x) => fmt(x, 3)).join(" / ");
  say(
    `  ${model.padEnd(8)} ${fmt(seconds[model], 3)} s (${all})   tainted edges ${fmt(result.edges.length)}   ` +
      `holdings ${fmt(result.holdings.length)} (${eth(held)} ETH)   exits ${result.exits.length} (${eth(exited)} ETH)   ` +
      `path nodes ${fmt(result.stats.pathNodes)}`,
  );
}

// Deposit addresses (runTrace's step before a second run): the addresses the haircut trace
// reached that send to an exchange, assessed by the clustering heuristic; then haircut again
// with those found as exits.
const exchanges = new Map<string, string>();
for (const [address, label] of chain.labels)
  if (label.category === "exchange") exchanges.set(address, label.label);
const reachedResult = results.haircut;
if (reachedResult === undefined) throw new Error("no result for haircut");
const indexRuns: number[] = [];
const assessRuns: number[] = [];
const detectRuns: number[] = [];
const withDepositsRuns: number[] = [];
let deposits = new Map<string, DepositExit>();
let withDeposits: TraceResult | undefined;
for (let round = 0; round < ROUNDS; round++) {
  let start = performance.now();
  const candidates = depositCandidates(chain.transfers, exchanges);
  const indexed = performance.now();
  deposits = depositExitsAmong(candidates, reachedBy(reachedResult), { exchanges });
  const assessedAt = performance.now();
  indexRuns.push((indexed - start) / 1000);
  assessRuns.push((assessedAt - indexed) / 1000);
  detectRuns.push((assessedAt - start) / 1000);
  withDeposits = undefined;
  start = performance.now();
  withDeposits = trace(chain.transfers, {
    model: "haircut",
    seed: { kind: "tx", txHash: chain.seedTx },
    token: TOKEN,
    labels,
    depositAddresses: deposits,
    initialBalances: chain.initialBalances,
    feeSink: FEE_SINK,
  });
  withDepositsRuns.push((performance.now() - start) / 1000);
}
const detectSeconds = median(detectRuns);
const indexSeconds = median(indexRuns);
const assessSeconds = median(assessRuns);
const withDepositsSeconds = median(withDepositsRuns);
say(
  `  deposit addresses among the ${fmt(reachedBy(reachedResult).size)} addresses haircut reached: ` +
    `${fmt(detectSeconds, 3)} s (${detectRuns.map((x) => fmt(x, 3)).join(" / ")}: the senders to exchanges ` +
    `gathered once ${fmt(indexSeconds, 3)} s, then the assessment a round makes ${fmt(assessSeconds, 3)} s), ` +
    `${deposits.size} found; ` +
    `haircut with them as exits ${fmt(withDepositsSeconds, 3)} s, exits ${withDeposits?.exits.length ?? 0}`,
);
const peakRssMb = process.resourceUsage().maxRSS / 1024;
say();
say(`Peak RSS: ${fmt(peakRssMb)} MB`);

const haircut = results.haircut;
const fifo = results.fifo;
const poison = results.poison;
const summary = {
  transfers: chain.transfers.length,
  addresses: ADDRESSES,
  "seconds.haircut": Number(seconds.haircut.toFixed(3)),
  "seconds.fifo": Number(seconds.fifo.toFixed(3)),
  "seconds.poison": Number(seconds.poison.toFixed(3)),
  "seconds.depositDetection": Number(detectSeconds.toFixed(3)),
  "seconds.depositIndex": Number(indexSeconds.toFixed(3)),
  "seconds.depositAssessment": Number(assessSeconds.toFixed(3)),
  "seconds.haircutWithDeposits": Number(withDepositsSeconds.toFixed(3)),
  depositAddresses: deposits.size,
  peakRssMb: Math.round(peakRssMb),
  "seconds.generate": Number(genSeconds.toFixed(3)),
  rounds: ROUNDS,
  "secondsMax.haircut": Number(Math.max(...runs.haircut).toFixed(3)),
  "secondsMax.fifo": Number(Math.max(...runs.fifo).toFixed(3)),
  "secondsMax.poison": Number(Math.max(...runs.poison).toFixed(3)),
  "edges.haircut": haircut?.edges.length ?? 0,
  "edges.fifo": fifo?.edges.length ?? 0,
  "edges.poison": poison?.edges.length ?? 0,
  "holdings.haircut": haircut?.holdings.length ?? 0,
  "holdings.fifo": fifo?.holdings.length ?? 0,
  "holdings.poison": poison?.holdings.length ?? 0,
  "warnings.haircut": haircut?.warnings.length ?? 0,
  cpus: cpus().length,
};
say(JSON.stringify(summary));

const missed: string[] = [];
for (const model of models)
  if (seconds[model] > TARGET_SECONDS)
    missed.push(`${model} took ${fmt(seconds[model], 2)} s (target ≤ ${TARGET_SECONDS} s)`);
if (peakRssMb > TARGET_RSS_MB)
  missed.push(`peak RSS ${fmt(peakRssMb)} MB (target ≤ ${TARGET_RSS_MB} MB)`);
if (missed.length > 0) {
  console.error(`bench:trace missed its targets: ${missed.join("; ")}`);
  process.exit(1);
}
