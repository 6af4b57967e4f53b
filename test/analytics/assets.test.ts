import { expect } from "chai";
import {
  accountKey,
  ALL_ASSETS,
  trace,
  type ConversionStep,
  type TaintModelName,
  type TraceResult,
  type Transfer,
} from "../../src/analytics/funds/taint.js";
import { attributeSeeds } from "../../src/analytics/funds/attribution.js";

/**
 * The engine on every asset: conversions (swaps, wrapping) move taint from an account of one
 * asset to an account of another at the conversion's own rate, the valuation in the seed's asset
 * is conserved exactly (haircut, FIFO), and the pool is never a holder. Expected figures are
 * worked by hand in the comments (docs/taint-models.md, "Conversions").
 */
const USDC = "0x00000000000000000000000000000000000000c1";
const WETH = "0x00000000000000000000000000000000000000e1";
const DAI = "0x00000000000000000000000000000000000000d1";
const POOL = "0x00000000000000000000000000000000000000f1";
const V = "0x0000000000000000000000000000000000000001"; // the victim
const W = "0x0000000000000000000000000000000000000002"; // clean funds
const A = "0x000000000000000000000000000000000000000a"; // the thief
const B = "0x000000000000000000000000000000000000000b";
const T = "0x0000000000000000000000000000000000000007"; // a later trader
const X = "0x00000000000000000000000000000000000000ee"; // an exchange

const swap = (
  tokenIn: string,
  amountIn: bigint,
  tokenOut: string,
  amountOut: bigint,
): ConversionStep => ({
  venue: "uniswap-v2",
  action: "swap",
  contract: POOL,
  logIndex: 9,
  tokenIn,
  amountIn,
  tokenOut,
  amountOut,
});

class World {
  readonly transfers: Transfer[] = [];
  private block = 100;

  send(hash: string, token: string, from: string, to: string, amount: bigint): this {
    this.block++;
    this.transfers.push({
      blockNumber: this.block,
      txIndex: 0,
      ordinal: 0,
      txHash: hash,
      token,
      from,
      to,
      amount,
      time: this.block * 12,
    });
    return this;
  }

  /** `who` converts `amountIn` of `tokenIn` into `amountOut` of `tokenOut`, delivered to `to`. */
  convert(hash: string, who: string, to: string, steps: ConversionStep[]): this {
    this.block++;
    const first = steps[0] as ConversionStep;
    const last = steps[steps.length - 1] as ConversionStep;
    this.transfers.push({
      blockNumber: this.block,
      txIndex: 0,
      ordinal: 9,
      txHash: hash,
      token: first.tokenIn,
      from: who,
      to,
      amount: first.amountIn,
      time: this.block * 12,
      out: { token: last.tokenOut, amount: last.amountOut, steps },
    });
    return this;
  }
}

const MODELS: TaintModelName[] = ["haircut", "fifo", "poison"];
const SEED = { kind: "tx", txHash: "0x5eed" } as const;

/** Holdings and exits as "asset/address" → [amount, value]. */
const table = (r: TraceResult) => ({
  held: Object.fromEntries(
    r.holdings.map((h) => [accountKey(h.token, h.address), [h.amount, h.value]]),
  ),
  exited: Object.fromEntries(
    r.exits.map((e) => [accountKey(e.token, e.address), [e.amount, e.value]]),
  ),
});

/**
 * W gives A 1,000 clean USDC; the victim loses 1,000 USDC to A (the seed); A swaps 1,200 USDC for
 * 600 WETH (2 USDC per WETH) and sends 550 WETH to B, who sends 200 WETH to an exchange; a later
 * trader T swaps 1,000 clean USDC for 500 WETH in the same pool.
 */
function laundering(): World {
  return new World()
    .send("0x01", USDC, W, A, 1000n)
    .send("0x5eed", USDC, V, A, 1000n)
    .convert("0x02", A, A, [swap(USDC, 1200n, WETH, 600n)])
    .send("0x03", WETH, A, B, 550n)
    .send("0x04", WETH, B, X, 200n)
    .convert("0x05", T, T, [swap(USDC, 1000n, WETH, 500n)]);
}

const run = (w: World, model: TaintModelName, extra = {}) =>
  trace(w.transfers, {
    model,
    seed: SEED,
    token: ALL_ASSETS,
    labels: (a) => (a === X ? { category: "exchange", label: "Exchange X" } : undefined),
    ...extra,
  });

describe("trace of every asset", () => {
  it("haircut: a swap carries floor(t·out/in), values conserved at the path's rates", () => {
    const r = run(laundering(), "haircut");
    // A: USDC 2,000 holding 1,000 taint. Swap 1,200: 600 tainted in, floor(600·600/1200) = 300
    // WETH out, worth 600 USDC. A keeps 400 USDC of taint. A→B 550 WETH of 600 holding 300:
    // floor(550·300/600) = 275 WETH, worth floor(600·275/300) = 550. B→X 200 of B's 550 holding
    // 275: floor(200·275/550) = 100 WETH worth 200. B keeps 175 WETH worth 350; A keeps 25 WETH
    // worth 50.
    expect(table(r)).to.deep.equal({
      held: {
        [accountKey(USDC, A)]: [400n, 400n],
        [accountKey(WETH, A)]: [25n, 50n],
        [accountKey(WETH, B)]: [175n, 350n],
      },
      exited: { [accountKey(WETH, X)]: [100n, 200n] },
    });
    expect(r.seedAsset).to.equal(USDC);
    expect(r.total).to.equal(r.seedAmount).and.to.equal(1000n);
    expect(r.stats.conversions).to.equal(2);
    const swapEdge = r.edges.find((e) => e.out !== undefined);
    expect(swapEdge).to.include({ token: USDC, amount: 1200n, tainted: 600n });
    expect(swapEdge?.out).to.include({ token: WETH, amount: 600n, tainted: 300n });
  });

  it("FIFO: the lots map through the swap by its ratio, oldest first", () => {
    const r = run(laundering(), "fifo");
    // A's USDC lots: [1,000 clean][1,000 seed]. Swap 1,200 takes [1,000 clean][200 tainted] →
    // [500 clean][100 tainted] WETH (value 200). A→B 550 WETH: 500 clean + 50 tainted (value 100).
    // B's lots: [500 clean][50 tainted]; B→X 200 takes clean ones only.
    expect(table(r)).to.deep.equal({
      held: {
        [accountKey(USDC, A)]: [800n, 800n],
        [accountKey(WETH, A)]: [50n, 100n],
        [accountKey(WETH, B)]: [50n, 100n],
      },
      exited: {},
    });
    expect(r.total).to.equal(1000n);
  });

  it("poison: the whole output is tainted, valued at the rate of the first tainted receipt", () => {
    const r = run(laundering(), "poison");
    // Whole balances: A USDC 800 (rate 1), A WETH 50 (rate 1200/600 = 2 → 100), B WETH 350 (700),
    // X receives 200 WETH (400).
    expect(table(r)).to.deep.equal({
      held: {
        [accountKey(USDC, A)]: [800n, 800n],
        [accountKey(WETH, A)]: [50n, 100n],
        [accountKey(WETH, B)]: [350n, 700n],
      },
      exited: { [accountKey(WETH, X)]: [200n, 400n] },
    });
  });

  for (const model of MODELS)
    it(`${model}: the pool and a later trader through the same pool stay clean`, () => {
      const r = run(laundering(), model);
      const touched = [...r.holdings, ...r.exits].map((h) => h.address);
      expect(touched).to.not.include(POOL);
      expect(touched).to.not.include(T);
      expect(r.edges.map((e) => e.from)).to.not.include(T);
    });

  it("a route through two pools converts at each pool's rate in turn (haircut, exact)", () => {
    const w = new World()
      .send("0x5eed", USDC, V, A, 1000n)
      // 1,000 USDC → 333 WETH → 999,000 DAI (6 → 18 decimals style figures).
      .convert("0x02", A, B, [swap(USDC, 1000n, WETH, 333n), swap(WETH, 333n, DAI, 999_000n)]);
    const r = run(w, "haircut");
    expect(table(r).held).to.deep.equal({ [accountKey(DAI, B)]: [999_000n, 1000n] });
    expect(r.edges[1]?.out?.steps).to.have.length(2);
    expect(r.holdings[0]?.paths[0]?.steps.map((s) => s.out?.token ?? s.token)).to.deep.equal([
      USDC,
      DAI,
    ]);
  });

  it("taint a conversion rounds to nothing is not followed, and its value is counted below the minimum", () => {
    const w = new World()
      .send("0x01", USDC, W, A, 1_000_000n)
      .send("0x5eed", USDC, V, A, 1n)
      .convert("0x02", A, A, [swap(USDC, 1_000_001n, WETH, 1000n)]);
    const r = run(w, "haircut");
    // 1 unit of taint in 1,000,001 swapped: floor(1·1000/1000001) = 0 WETH: dust.
    expect(r.holdings).to.deep.equal([]);
    expect(r.belowMinimum).to.equal(1n);
    expect(r.total).to.equal(1n);
  });

  it("the minimum amount compares values in the seed's asset", () => {
    const r = run(laundering(), "haircut", { minAmount: 451n });
    // A→B carries 275 WETH worth 550 (followed); B→X carries 100 WETH worth 200 < 451.
    expect(r.exits).to.deep.equal([]);
    expect(r.belowMinimum).to.equal(200n);
    expect(r.total).to.equal(1000n);
  });

  it("names the seed asset when the seed moves several, and refuses a balance seed without one", () => {
    const w = laundering().send("0x5eed", WETH, V, A, 5n);
    expect(() => run(w, "haircut")).to.throw(/moves 2 assets .*--seed-asset/);
    const r = run(w, "haircut", { seedAsset: WETH });
    expect(r.seedAsset).to.equal(WETH);
    expect(r.seedAmount).to.equal(5n);
    expect(() =>
      trace(w.transfers, {
        model: "haircut",
        token: ALL_ASSETS,
        seed: { kind: "balance", address: A, block: 101 },
      }),
    ).to.throw(/needs the asset it seeds/);
    expect(() =>
      trace(w.transfers, { model: "haircut", token: USDC, seed: SEED, seedAsset: WETH }),
    ).to.throw(/is not the token traced/);
  });

  it("a balance seed of every asset seeds that asset's account, and initial balances are per account", () => {
    const w = new World().convert("0x02", A, A, [swap(USDC, 100n, WETH, 50n)]);
    const r = trace(w.transfers, {
      model: "haircut",
      token: ALL_ASSETS,
      seed: { kind: "balance", address: A, block: 100 },
      seedAsset: USDC,
      initialBalances: new Map([[accountKey(USDC, A), 300n]]),
    });
    // 300 USDC seeded; 100 swapped for 50 WETH (worth 100).
    expect(table(r).held).to.deep.equal({
      [accountKey(USDC, A)]: [200n, 200n],
      [accountKey(WETH, A)]: [50n, 100n],
    });
    expect(() =>
      trace(laundering().transfers, {
        model: "haircut",
        token: ALL_ASSETS,
        seed: SEED,
        initialBalances: new Map([[A, 1n]]),
      }),
    ).to.throw(/names no asset/);
  });

  it("one token: conversions are ignored and every value equals its amount", () => {
    const r = trace(laundering().transfers, { model: "haircut", seed: SEED, token: USDC });
    // USDC only: A holds 2,000 with 1,000 taint; the swap is not read (a single-token trace), so
    // the 1,200 USDC leaving A are an ordinary transfer from A to itself… none: out is ignored and
    // the transfer A→A changes nothing.
    expect(r.holdings.map((h) => [h.address, h.token, h.amount, h.value])).to.deep.equal([
      [A, USDC, 1000n, 1000n],
    ]);
    expect(r.stats.conversions).to.equal(0);
  });
});

describe("a trace with several seeds", () => {
  /**
   * Two thefts: V loses 1,000 USDC to A, V2 (W) loses 500 USDC to B; A pays 600 to C, B pays 300
   * to C, C pays 450 to the exchange. Haircut: C holds 900 tainted of 900, pays 450: 300 from
   * the first seed, 150 from the second (each alone: 600·450/900, 300·450/900).
   */
  function twoThefts(): World {
    return new World()
      .send("0x5eed", USDC, V, A, 1000n)
      .send("0x5eed2", USDC, W, B, 500n)
      .send("0x03", USDC, A, C_, 600n)
      .send("0x04", USDC, B, C_, 300n)
      .send("0x05", USDC, C_, X, 450n);
  }
  const C_ = "0x000000000000000000000000000000000000000c";
  const SEEDS = [SEED, { kind: "tx", txHash: "0x5eed2" } as const];

  for (const model of MODELS)
    it(`${model}: one combined result, each holding and exit split by seed`, () => {
      const w = twoThefts();
      const options = {
        model,
        seed: SEEDS,
        token: USDC,
        labels: (a: string) => (a === X ? { category: "exchange", label: "X" } : undefined),
      };
      const joint = attributeSeeds(w.transfers, options, trace(w.transfers, options));
      expect(joint.seedAmount).to.equal(1500n);
      expect(joint.seeds).to.have.length(2);
      const exit = joint.exits.find((e) => e.address === X);
      expect(exit?.amount).to.equal(450n);
      expect(exit?.bySeed).to.deep.equal(
        model === "fifo"
          ? // C's lots: [600 from A][300 from B]: the first 450 are the first theft's.
            [{ seed: "0x5eed", amount: 450n, value: 450n }]
          : model === "haircut"
            ? [
                { seed: "0x5eed", amount: 300n, value: 300n },
                { seed: "0x5eed2", amount: 150n, value: 150n },
              ]
            : [
                { seed: "0x5eed", amount: 450n, value: 450n },
                { seed: "0x5eed2", amount: 450n, value: 450n },
              ],
      );
      if (model !== "poison")
        for (const x of [...joint.holdings, ...joint.exits])
          expect(
            (x.bySeed ?? []).reduce((n, b) => n + b.amount, 0n),
            x.address,
          ).to.equal(x.amount);
    });

  it("mixes transaction and balance seeds, in block order", () => {
    const w = twoThefts();
    const r = trace(w.transfers, {
      model: "haircut",
      token: USDC,
      seed: [{ kind: "balance", address: C_, block: 104 }, SEED],
    });
    // The first theft (1,000) and C's whole balance after block 104 (900, of which 600 were
    // already the first theft's): 1,000 + 300 new.
    expect(r.seedAmount).to.equal(1300n);
    expect(r.total).to.equal(1300n);
    const c = r.holdings.find((h) => h.address === C_);
    expect(c?.amount).to.equal(450n);
    // Its paths start at the first theft's receiver, or at C itself (the balance seed).
    expect(c?.paths.map((p) => p.origin).sort()).to.deep.equal([A, C_]);
  });

  it("refuses a seed given twice, and no seed", () => {
    const w = twoThefts();
    expect(() =>
      trace(w.transfers, {
        model: "fifo",
        token: USDC,
        seed: [SEED, { kind: "tx", txHash: "0x5EED" }],
      }),
    ).to.throw(/seed 0x5eed is given twice/);
    expect(() => trace(w.transfers, { model: "fifo", token: USDC, seed: [] })).to.throw(
      /no seed given/,
    );
  });
});

describe("poison with every asset", () => {
  it("an account emptied is clean again: a pass-through does not poison its later users", () => {
    const R = "0x00000000000000000000000000000000000000aa"; // a router: holds nothing for long
    const w = new World()
      .send("0x5eed", USDC, V, A, 100n)
      .send("0x02", USDC, A, R, 100n)
      .send("0x03", USDC, R, B, 100n) // R passes it on whole: empty again
      .send("0x04", USDC, W, R, 50n) // a later user's clean funds through R
      .send("0x05", USDC, R, T, 50n);
    const every = trace(w.transfers, { model: "poison", seed: SEED, token: ALL_ASSETS });
    expect(every.holdings.map((h) => [h.address, h.amount])).to.deep.equal([[B, 100n]]);
    // One token keeps poison's historical definition: R stays poisoned, T is tainted.
    const one = trace(w.transfers, { model: "poison", seed: SEED, token: USDC });
    expect(one.holdings.map((h) => h.address)).to.include(T);
  });
});
