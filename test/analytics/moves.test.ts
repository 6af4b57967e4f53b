/**
 * Conversion events matched with the transfers they explain (src/analytics/funds/moves.ts), then
 * traced: a route through two pools is one move with two steps, a V3 pool pays before it is paid,
 * a router passes through what it receives (the output of a swap unwrapped and paid out, an unused
 * input refunded), a swap whose transfers are not all there is not guessed, liquidity goes into the
 * liquidity token and comes back, and Curve's native placeholder is the native coin.
 */
import { expect } from "chai";
import type { Conversion } from "../../src/analytics/conversions.js";
import { conversionMoves, NATIVE_ORDINAL } from "../../src/analytics/funds/moves.js";
import {
  accountKey,
  ALL_ASSETS,
  trace,
  ZERO_ADDRESS,
  type TaintModelName,
  type Transfer,
} from "../../src/analytics/funds/taint.js";
import { positionAsset } from "../../src/analytics/funds/types.js";
import {
  a,
  B,
  DAI,
  heldAmounts,
  held,
  SEED,
  swap,
  THIEF,
  transfer,
  TX,
  USDC,
  V,
  WETH,
} from "../helpers/taint-fixtures.js";

const POOL1 = a(0xf1);
const POOL2 = a(0xf2);
const ROUTER = a(0x70);

/** The theft: 1,000 USDC to the thief, in block 9. */
const theft = () => [transfer(SEED, 0, USDC, V, THIEF, 1000n, 9)];

describe("conversion moves", () => {
  it("a route through two pools is one move with a step per pool; the pools take part in none", () => {
    // V2 route USDC → WETH → DAI: the thief pays pool 1, pool 1 pays pool 2, pool 2 pays B.
    const txs = [
      transfer(TX, 0, USDC, THIEF, POOL1, 1000n, 11),
      transfer(TX, 1, WETH, POOL1, POOL2, 400n, 11),
      transfer(TX, 3, DAI, POOL2, B, 990n, 11),
    ];
    const conversions = [
      swap(2, POOL1, USDC, 1000n, WETH, 400n, POOL2),
      swap(4, POOL2, WETH, 400n, DAI, 990n, B),
    ];
    const moved = conversionMoves([...theft(), ...txs], conversions);
    expect(moved.skipped).to.deep.equal([]);
    expect(moved.converted).to.equal(2);
    const move = moved.transfers.find((t) => t.out !== undefined);
    expect(move).to.include({ from: THIEF, to: B, token: USDC, amount: 1000n, ordinal: 4 });
    expect(move?.out?.token).to.equal(DAI);
    expect(move?.out?.amount).to.equal(990n);
    expect(move?.out?.steps.map((s) => s.contract)).to.deep.equal([POOL1, POOL2]);
    expect(moved.transfers.filter((t) => t.txHash === TX)).to.have.length(1);
    expect(held(moved.transfers)).to.deep.equal({ [accountKey(DAI, B)]: [990n, 1000n] });
  });

  it("a V3 pool pays out before it is paid (the callback): matched all the same", () => {
    const txs = [
      transfer(TX, 0, WETH, POOL1, THIEF, 400n, 11),
      transfer(TX, 1, USDC, THIEF, POOL1, 1000n, 11),
    ];
    const moved = conversionMoves(
      [...theft(), ...txs],
      [swap(2, POOL1, USDC, 1000n, WETH, 400n, THIEF, "uniswap-v3")],
    );
    expect(moved.skipped).to.deep.equal([]);
    expect(held(moved.transfers, "fifo")).to.deep.equal({
      [accountKey(WETH, THIEF)]: [400n, 1000n],
    });
  });

  it("a router passes on what a swap paid it: unwrapped, then paid out in the native coin", () => {
    // swapExactTokensForETH: USDC thief → pool, WETH pool → router, the router unwraps (WETH9 pays
    // it native: an internal transfer, ordered after the logs), then pays B (internal too).
    const txs = [
      transfer(TX, 0, USDC, THIEF, POOL1, 1000n, 11),
      transfer(TX, 1, WETH, POOL1, ROUTER, 400n, 11),
      transfer(TX, NATIVE_ORDINAL.internal, "native", WETH, ROUTER, 400n, 11),
      transfer(TX, NATIVE_ORDINAL.internal + 1, "native", ROUTER, B, 400n, 11),
    ];
    const unwrap: Conversion = {
      venue: "weth",
      action: "unwrap",
      contract: WETH,
      txHash: TX,
      blockNumber: 11,
      logIndex: 3,
      tokenIn: WETH,
      amountIn: 400n,
      tokenOut: "native",
      amountOut: 400n,
      recipient: ROUTER,
    };
    const moved = conversionMoves(
      [...theft(), ...txs],
      [swap(2, POOL1, USDC, 1000n, WETH, 400n, ROUTER), unwrap],
    );
    expect(moved.skipped).to.deep.equal([]);
    for (const model of ["haircut", "fifo"] as const)
      expect(held(moved.transfers, model), model).to.deep.equal({
        [accountKey("native", B)]: [400n, 1000n],
      });
  });

  it("a router refunds the unused input: the refund carries taint back, the rest is swapped", () => {
    // swapETHForExactTokens: the thief (holding 10 stolen ether) sends 10 to the router, which
    // wraps 6 (the input needed), pays the pool, and refunds 4.
    const seed = [transfer(SEED, 0, "native", V, THIEF, 10n, 9)];
    const txs = [
      transfer(TX, NATIVE_ORDINAL.value, "native", THIEF, ROUTER, 10n, 11),
      transfer(TX, NATIVE_ORDINAL.internal, "native", ROUTER, WETH, 6n, 11),
      transfer(TX, 1, WETH, ROUTER, POOL1, 6n, 11),
      transfer(TX, 2, DAI, POOL1, THIEF, 600n, 11),
      transfer(TX, NATIVE_ORDINAL.internal + 1, "native", ROUTER, THIEF, 4n, 11),
    ];
    const wrap: Conversion = {
      venue: "weth",
      action: "wrap",
      contract: WETH,
      txHash: TX,
      blockNumber: 11,
      logIndex: 0,
      tokenIn: "native",
      amountIn: 6n,
      tokenOut: WETH,
      amountOut: 6n,
      recipient: ROUTER,
    };
    const moved = conversionMoves(
      [...seed, ...txs],
      [wrap, swap(3, POOL1, WETH, 6n, DAI, 600n, THIEF)],
    );
    expect(moved.skipped).to.deep.equal([]);
    expect(held(moved.transfers)).to.deep.equal({
      [accountKey("native", THIEF)]: [4n, 4n],
      [accountKey(DAI, THIEF)]: [600n, 6n],
    });
  });

  it("a swap whose output transfer is missing is listed with the reason, and its transfers stay", () => {
    const txs = [transfer(TX, 0, USDC, THIEF, POOL1, 1000n, 11)];
    const moved = conversionMoves(
      [...theft(), ...txs],
      [swap(2, POOL1, USDC, 1000n, WETH, 400n, THIEF)],
    );
    expect(moved.converted).to.equal(0);
    expect(moved.skipped).to.have.length(1);
    expect(moved.skipped[0]?.reason).to.match(/no transfer of 400 .* out of the pool/);
    // The pool then holds what was paid into it, as a single-token trace would say.
    expect(held(moved.transfers)).to.deep.equal({ [accountKey(USDC, POOL1)]: [1000n, 1000n] });
  });

  it("a swap event in a transaction none of whose transfers was read is listed, not guessed", () => {
    const moved = conversionMoves(theft(), [swap(2, POOL1, USDC, 1n, WETH, 1n, THIEF)]);
    expect(moved.skipped[0]?.reason).to.match(/none of the transaction's transfers was read/);
  });

  it("liquidity added becomes the liquidity token (half per token) and comes back on removal", () => {
    const LP = POOL1; // a V2 pair is its own liquidity token
    const mint = (logIndex: number, token: string, amount: bigint): Conversion => ({
      venue: "uniswap-v2",
      action: "add-liquidity",
      contract: LP,
      txHash: "0x88",
      blockNumber: 12,
      logIndex,
      tokenIn: token,
      amountIn: amount,
      tokenOut: LP,
      amountOut: 0n,
      recipient: null,
    });
    const burn = (logIndex: number, token: string, amount: bigint): Conversion => ({
      venue: "uniswap-v2",
      action: "remove-liquidity",
      contract: LP,
      txHash: "0x99",
      blockNumber: 13,
      logIndex,
      tokenIn: LP,
      amountIn: 0n,
      tokenOut: token,
      amountOut: amount,
      recipient: B,
    });
    const all = [
      ...theft(),
      transfer("0x5eed", 1, WETH, V, THIEF, 500n, 9),
      transfer("0x88", 0, USDC, THIEF, LP, 1000n, 12),
      transfer("0x88", 1, WETH, THIEF, LP, 500n, 12),
      transfer("0x88", 2, LP, ZERO_ADDRESS, THIEF, 700n, 12),
      transfer("0x99", 0, LP, THIEF, LP, 700n, 13),
      transfer("0x99", 1, LP, LP, ZERO_ADDRESS, 700n, 13),
      transfer("0x99", 2, USDC, LP, B, 990n, 13),
      transfer("0x99", 3, WETH, LP, B, 510n, 13),
    ];
    const moved = conversionMoves(all, [
      mint(3, USDC, 1000n),
      mint(3, WETH, 500n),
      burn(4, USDC, 990n),
      burn(4, WETH, 510n),
    ]);
    expect(moved.skipped).to.deep.equal([]);
    const run = (model: TaintModelName) => {
      const r = trace(moved.transfers, {
        model,
        seed: { kind: "tx", txHash: SEED },
        seedAsset: USDC,
        token: ALL_ASSETS,
      });
      // The pair never holds: no edge pays it.
      expect(r.edges.map((e) => e.to)).to.not.include(LP);
      expect(r.total).to.equal(1000n);
      return heldAmounts(r.holdings);
    };
    // Only the USDC was stolen: its half of the liquidity (350 of 700 LP) is tainted.
    // FIFO: the LP lots are [350 tainted][350 clean]; the first half burnt (350) becomes the 990
    // USDC out, all tainted.
    expect(run("fifo")).to.deep.equal({ [accountKey(USDC, B)]: [990n, 1000n] });
    // Haircut: each half burnt carries half taint: 175 LP → floor(175·990/350) = 495 USDC, and
    // 175 LP → floor(175·510/350) = 255 WETH, each worth 500.
    expect(run("haircut")).to.deep.equal({
      [accountKey(USDC, B)]: [495n, 500n],
      [accountKey(WETH, B)]: [255n, 500n],
    });
  });

  it("Curve's 0xeeee… coin is the native coin", () => {
    const EEEE = "0xeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee";
    const txs = [
      transfer(TX, 0, USDC, THIEF, POOL1, 1000n, 11),
      transfer(TX, NATIVE_ORDINAL.internal, "native", POOL1, THIEF, 5n, 11),
    ];
    const moved = conversionMoves(
      [...theft(), ...txs],
      [swap(1, POOL1, USDC, 1000n, EEEE, 5n, THIEF, "curve")],
    );
    expect(moved.skipped).to.deep.equal([]);
    expect(held(moved.transfers)).to.deep.equal({ [accountKey("native", THIEF)]: [5n, 1000n] });
  });
});

describe("Uniswap V3 positions as moves", () => {
  const MANAGER = a(0x99);
  const POOL = POOL1;
  const POS = positionAsset(MANAGER, 7n);
  /** The two records of a position's event (token0 USDC, token1 WETH). */
  const event = (
    action: "add-liquidity" | "remove-liquidity" | "collect",
    txHash: string,
    blockNumber: number,
    logIndex: number,
    amounts: [bigint, bigint],
    owner: string,
    liquidity: bigint,
    recipient: string,
  ): Conversion[] =>
    ([USDC, WETH] as const).map((token, i) => ({
      venue: "uniswap-v3" as const,
      action,
      contract: POOL,
      txHash,
      blockNumber,
      logIndex,
      tokenIn: action === "remove-liquidity" ? POS : token,
      amountIn: action === "remove-liquidity" ? 0n : (amounts[i] as bigint),
      tokenOut: action === "add-liquidity" ? POS : token,
      amountOut: action === "add-liquidity" ? 0n : (amounts[i] as bigint),
      recipient,
      position: { manager: MANAGER, tokenId: 7n, asset: POS, owner, liquidity },
    }));
  const handOver = (txHash: string, blockNumber: number, from: string, to: string): Conversion => ({
    venue: "uniswap-v3",
    action: "position-transfer",
    contract: MANAGER,
    txHash,
    blockNumber,
    logIndex: 0,
    tokenIn: POS,
    amountIn: 701n,
    tokenOut: POS,
    amountOut: 701n,
    recipient: to,
    position: { manager: MANAGER, tokenId: 7n, asset: POS, owner: from, liquidity: 701n },
  });

  /**
   * The thief (1,000 stolen USDC, 500 clean WETH) adds both for 701 of liquidity, hands the
   * position to B; B removes it all (990 USDC, 510 WETH owed) and collects 1,000 USDC and 515 WETH
   * (10 USDC and 5 WETH of fees).
   */
  const world = () => {
    const transfers = [
      transfer("0x01", 0, WETH, V, THIEF, 500n, 8),
      ...theft(),
      transfer("0x88", 0, USDC, THIEF, POOL, 1000n, 12),
      transfer("0x88", 1, WETH, THIEF, POOL, 500n, 12),
      transfer("0x89", 1, "native", THIEF, a(0xfee), 1n, 13),
      transfer("0x8a", 1, "native", B, a(0xfee), 1n, 14),
      transfer("0x8b", 0, USDC, POOL, B, 1000n, 15),
      transfer("0x8b", 1, WETH, POOL, B, 515n, 15),
    ];
    const conversions = [
      ...event("add-liquidity", "0x88", 12, 4, [1000n, 500n], THIEF, 701n, THIEF),
      handOver("0x89", 13, THIEF, B),
      ...event("remove-liquidity", "0x8a", 14, 0, [990n, 510n], B, 701n, POS),
      ...event("collect", "0x8b", 15, 3, [1000n, 515n], POS, 0n, B),
    ];
    return { transfers, conversions };
  };
  const run = (transfers: Transfer[], model: TaintModelName, poolPaid = false) => {
    const r = trace(transfers, {
      model,
      seed: { kind: "tx", txHash: SEED },
      seedAsset: USDC,
      token: ALL_ASSETS,
    });
    if (!poolPaid)
      expect(
        r.edges.map((e) => e.to),
        "the pool never receives",
      ).to.not.include(POOL);
    return {
      total: r.total,
      held: heldAmounts(r.holdings),
    };
  };

  it("liquidity added buys the position for its owner (half per token); the pool takes part in nothing", () => {
    const { transfers, conversions } = world();
    const moved = conversionMoves(transfers, conversions.slice(0, 2));
    expect(moved.skipped).to.deep.equal([]);
    const moves = moved.transfers.filter((t) => t.out !== undefined);
    // token0 buys the larger half.
    expect(
      moves.map((m) => [m.from, m.to, m.token, m.amount, m.out?.token, m.out?.amount]),
    ).to.deep.equal([
      [THIEF, THIEF, USDC, 1000n, POS, 351n],
      [THIEF, THIEF, WETH, 500n, POS, 350n],
    ]);
    expect(moved.transfers.filter((t) => t.to === POOL)).to.deep.equal([]);
    // FIFO: the USDC half is tainted, the WETH half clean.
    expect(run(moved.transfers, "fifo").held).to.deep.equal({
      [accountKey(POS, THIEF)]: [351n, 1000n],
    });
  });

  for (const [model, expected] of [
    // The position's lots [351 tainted][350 clean] go to B whole; the first half removed (351)
    // is the 990 USDC owed, all tainted, collected first; the 10 USDC of fees after it are clean.
    ["fifo", { usdc: [990n, 1000n] }],
    // B's position is 351/701 tainted. The USDC half removed takes floor(351·351/701) = 175,
    // worth floor(1000·175/351) = 498: floor(175·990/351) = 493 USDC; the WETH half the other
    // 176 (worth 502): floor(176·510/350) = 256 WETH. Both collected whole.
    ["haircut", { usdc: [493n, 498n], weth: [256n, 502n] }],
    // B's whole balances: 1,000 USDC and 515 WETH; the position is B's no more.
    ["poison", { usdc: [1000n], weth: [515n] }],
  ] as const)
    it(`${model}: the taint follows the position to its new owner and comes back when collected`, () => {
      const { transfers, conversions } = world();
      const moved = conversionMoves(transfers, conversions);
      expect(moved.skipped).to.deep.equal([]);
      const { held, total } = run(moved.transfers, model);
      const want: Record<string, readonly bigint[]> = { [accountKey(USDC, B)]: expected.usdc };
      if ("weth" in expected) want[accountKey(WETH, B)] = expected.weth;
      if (model === "poison") {
        expect(held[accountKey(USDC, B)]?.[0]).to.equal(1000n);
        expect(held[accountKey(WETH, B)]?.[0]).to.equal(515n);
        expect(held[accountKey(POS, B)]).to.equal(undefined);
        return;
      }
      expect(held).to.deep.equal(want);
      expect(total).to.equal(1000n);
    });

  it("a collect pays the principal owed first, the fees after it from no one", () => {
    const { transfers, conversions } = world();
    // B collects 995 USDC (the 990 owed and 5 of fees) and 515 WETH, then 5 USDC more: fees.
    const all = [
      ...transfers.filter((t) => t.txHash !== "0x8b"),
      transfer("0x8b", 0, USDC, POOL, B, 995n, 15),
      transfer("0x8b", 1, WETH, POOL, B, 515n, 15),
      transfer("0x8c", 0, USDC, POOL, B, 5n, 16),
    ];
    const moved = conversionMoves(all, [
      ...conversions.slice(0, 5),
      ...event("collect", "0x8b", 15, 3, [995n, 515n], POS, 0n, B),
      ...event("collect", "0x8c", 16, 2, [5n, 0n], POS, 0n, B),
    ]);
    expect(moved.skipped).to.deep.equal([]);
    const paid = moved.transfers
      .filter((t) => t.to === B && t.out === undefined && t.token !== "native" && t.token !== POS)
      .map((t) => [t.txHash, t.token, t.from, t.amount]);
    expect(paid).to.deep.equal([
      ["0x8b", USDC, POS, 990n],
      ["0x8b", USDC, ZERO_ADDRESS, 5n],
      ["0x8b", WETH, POS, 510n],
      ["0x8b", WETH, ZERO_ADDRESS, 5n],
      ["0x8c", USDC, ZERO_ADDRESS, 5n],
    ]);
    expect(run(moved.transfers, "fifo").held).to.deep.equal({
      [accountKey(USDC, B)]: [990n, 1000n],
    });
  });

  it("liquidity on one side of the price: the only token paid buys all of it", () => {
    const moved = conversionMoves(
      [...theft(), transfer("0x88", 0, USDC, THIEF, POOL, 1000n, 12)],
      event("add-liquidity", "0x88", 12, 4, [1000n, 0n], THIEF, 701n, THIEF),
    );
    expect(moved.skipped).to.deep.equal([]);
    expect(run(moved.transfers, "haircut").held).to.deep.equal({
      [accountKey(POS, THIEF)]: [701n, 1000n],
    });
  });

  it("an IncreaseLiquidity whose amounts no transfer into the pool matches is listed, not guessed", () => {
    // A contract claims 1,000 USDC bought the position; the pool was paid 900.
    const moved = conversionMoves(
      [
        ...theft(),
        transfer("0x88", 0, USDC, THIEF, POOL, 900n, 12),
        transfer("0x88", 1, WETH, THIEF, POOL, 500n, 12),
      ],
      event("add-liquidity", "0x88", 12, 4, [1000n, 500n], THIEF, 701n, THIEF),
    );
    expect(moved.converted).to.equal(0);
    expect(moved.skipped).to.have.length(1);
    expect(moved.skipped[0]).to.include({ txHash: "0x88", logIndex: 4, contract: POOL });
    expect(moved.skipped[0]?.reason).to.equal(
      `no transfer of 1000 ${USDC} into the pool matches the liquidity added to ${POS}`,
    );
    // Its transfers stay what they are: the pool holds what it was paid, the position nothing.
    expect(run(moved.transfers, "haircut", true).held).to.deep.equal({
      [accountKey(USDC, THIEF)]: [100n, 100n],
      [accountKey(USDC, POOL)]: [900n, 900n],
    });
  });
});
