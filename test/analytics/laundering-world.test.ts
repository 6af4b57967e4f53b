/**
 * The generated laundering world of `npm run bench:laundering` (scripts/lib/laundering-world.ts)
 * and its score (scripts/lib/laundering-trace.ts), on a small instance: the same seed gives the
 * same world, its truth conserves the stolen value, the pipeline reads every conversion and
 * crossing, and the score counts what the benchmark counts.
 */
import { expect } from "chai";
import {
  prepareWorld,
  scoreTrace,
  traceWorld,
  type WorldTrace,
} from "../../scripts/lib/laundering-trace.js";
import {
  CHAIN_A,
  CHAIN_B,
  launderingWorld,
  worldAccount,
  type LaunderingWorld,
} from "../../scripts/lib/laundering-world.js";
import type { TaintModelName, TraceResult } from "../../src/analytics/funds/taint.js";

const SMALL = { seed: 7, traders: 40, backgroundTxs: 600 } as const;

describe("the laundering world (bench:laundering)", function () {
  let world: LaunderingWorld;
  const traces = new Map<TaintModelName, WorldTrace>();

  before(async function () {
    world = launderingWorld(SMALL);
    const prepared = prepareWorld(world);
    for (const model of ["haircut", "fifo", "poison"] as const)
      traces.set(model, await traceWorld(prepared, model));
  });

  it("is the same world for the same seed, and another for another seed", () => {
    const again = launderingWorld(SMALL);
    expect(again.chains).to.deep.equal(world.chains);
    expect(again.seeds).to.deep.equal(world.seeds);
    expect([...again.truth.ends]).to.deep.equal([...world.truth.ends]);
    expect([...again.initialBalances]).to.deep.equal([...world.initialBalances]);
    const other = launderingWorld({ ...SMALL, seed: 8 });
    expect(other.seeds).to.not.deep.equal(world.seeds);
  });

  it("has two chains of transfers (chainId on each), conversions, crossings and background traders", () => {
    expect(world.chains.map((c) => c.chainId)).to.deep.equal([CHAIN_A, CHAIN_B]);
    for (const c of world.chains) {
      expect(c.transfers.every((t) => t.chainId === c.chainId)).to.equal(true);
      const actions = new Set(c.conversions.map((x) => x.action));
      expect([...actions].sort()).to.deep.equal([
        "add-liquidity",
        "remove-liquidity",
        "swap",
        "unwrap",
        "wrap",
      ]);
    }
    const releases = world.chains.flatMap((c) => c.releases);
    expect(new Set(releases.map((r) => r.bridge))).to.deep.equal(new Set(["across", "cctp"]));
    // CCTP's releases carry no id: only the fallback can pair them.
    expect(releases.filter((r) => r.bridge === "cctp").every((r) => r.pairingId === null)).to.equal(
      true,
    );
    expect(world.size.traders).to.equal(60);
    expect(world.seeds).to.have.length(2);
  });

  it("conserves the stolen value in its truth: the end points add up to the two thefts", () => {
    const { truth } = world;
    // 2,400,000 and 600,000 USDC (6 decimals).
    expect(truth.stolen).to.equal(3_000_000n * 10n ** 6n);
    let sum = 0n;
    for (const [key, end] of truth.ends) {
      expect(key).to.equal(worldAccount(end.chainId, end.token, end.address));
      expect(end.value > 0n || end.amount > 0n, key).to.equal(true);
      sum += end.value;
    }
    expect(sum).to.equal(truth.stolen);
    const kinds = new Set([...truth.ends.values()].map((e) => e.kind));
    expect([...kinds].sort()).to.deep.equal(["bridge", "deposit", "holding", "mixer"]);
    // Some stolen value ends on the second chain, after a crossing.
    expect([...truth.ends.values()].some((e) => e.chainId === CHAIN_B)).to.equal(true);
  });

  it("is read whole: every conversion a move, every release paired and crossed", () => {
    const p = prepareWorld(world);
    expect(p.skippedConversions).to.deep.equal([]);
    expect(p.skippedCrossings).to.deep.equal([]);
    expect(p.crossings).to.have.length(world.size.crossings);
    expect(p.crossings.some((x) => x.by === "fallback")).to.equal(true);
    // The one deposit bound for a chain nobody reads stays a transfer to the bridge.
    expect(p.unpairedDeposits).to.have.length(world.size.unreleased);
  });

  for (const model of ["haircut", "fifo"] as const)
    it(`${model}: the benchmark's targets (recall and precision ≥ 0.95), the value conserved`, () => {
      const t = traces.get(model) as WorldTrace;
      expect(t.result.total).to.equal(world.truth.stolen);
      const s = scoreTrace(world.truth, t.result);
      expect(s.recall).to.be.at.least(0.95);
      expect(s.precision).to.be.at.least(0.95);
      expect(s.reported).to.equal(world.truth.stolen);
      // The thief's deposit addresses were found by the heuristic, not given.
      const deposits = [...world.truth.ends.values()].filter((e) => e.kind === "deposit");
      for (const d of deposits) expect(t.depositAddresses.has(d.address), d.label).to.equal(true);
    });

  it("poison reports more than was stolen, and so a lower precision", () => {
    const s = scoreTrace(world.truth, (traces.get("poison") as WorldTrace).result);
    expect(s.reported > world.truth.stolen).to.equal(true);
    const haircut = scoreTrace(world.truth, (traces.get("haircut") as WorldTrace).result);
    expect(s.precision).to.be.below(haircut.precision);
  });

  describe("the score", () => {
    /** A result reporting `values` at accounts (asset "CHAIN:TOKEN", address), all as holdings. */
    const reporting = (values: [string, string, bigint][]): TraceResult => ({
      ...(traces.get("haircut") as WorldTrace).result,
      holdings: values.map(([token, address, value]) => ({
        address,
        token,
        amount: value,
        value,
        hops: 1,
        received: value,
        paths: [],
        explained: 0n,
      })),
      exits: [],
    });
    const ends = () => [...world.truth.ends.values()];

    it("counts an end point when at least 90 % of its true value is reported at its account", () => {
      const [first, ...rest] = ends();
      if (first === undefined) throw new Error("no end point");
      const at = (e: (typeof rest)[number], value: bigint): [string, string, bigint] => [
        `${e.chainId}:${e.token}`,
        e.address,
        value,
      ];
      const exact = scoreTrace(world.truth, reporting(ends().map((e) => at(e, e.value))));
      expect(exact.recall).to.equal(1);
      expect(exact.precision).to.equal(1);
      // 89 % of the first end point's value: not found; 90 %: found.
      const short = (pct: bigint) =>
        scoreTrace(
          world.truth,
          reporting([at(first, (first.value * pct) / 100n), ...rest.map((e) => at(e, e.value))]),
        );
      expect(short(89n).ends.find((x) => x.end === first)?.found).to.equal(false);
      expect(short(89n).recalled).to.equal(world.truth.stolen - first.value);
      expect(short(90n).recall).to.equal(1);
    });

    it("matches the chain, the asset and the address; value elsewhere lowers the precision", () => {
      const e = ends()[0];
      if (e === undefined) throw new Error("no end point");
      const other = e.chainId === CHAIN_A ? CHAIN_B : CHAIN_A;
      const wrongChain = scoreTrace(
        world.truth,
        reporting([[`${other}:${e.token}`, e.address, e.value]]),
      );
      expect(wrongChain.recalled).to.equal(0n);
      expect(wrongChain.precision).to.equal(0);
      expect(wrongChain.offPath).to.have.length(1);
      const half = scoreTrace(
        world.truth,
        reporting([
          [`${e.chainId}:${e.token}`, e.address, e.value],
          [`${e.chainId}:${e.token}`, "0x00000000000000000000000000000000000000ff", e.value],
        ]),
      );
      expect(half.precision).to.equal(0.5);
      expect(half.recalled).to.equal(e.value);
    });
  });
});
