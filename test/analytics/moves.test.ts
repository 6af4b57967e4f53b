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

const a = (n: number) => `0x${n.toString(16).padStart(40, "0")}`;
const USDC = a(0xc1);
const WETH = a(0xe1);
const DAI = a(0xd1);
const POOL1 = a(0xf1);
const POOL2 = a(0xf2);
const ROUTER = a(0x70);
const V = a(1);
const THIEF = a(0xa);
const B = a(0xb);
const SEED = "0x5eed";
const TX = "0x77";

const transfer = (
  hash: string,
  ordinal: number,
  token: string,
  from: string,
  to: string,
  amount: bigint,
  block = 10,
): Transfer => ({
  blockNumber: block,
  txIndex: 0,
  ordinal,
  txHash: hash,
  token,
  from,
  to,
  amount,
  time: block * 12,
});

const swap = (
  logIndex: number,
  pool: string,
  tokenIn: string,
  amountIn: bigint,
  tokenOut: string,
  amountOut: bigint,
  recipient: string | null,
  venue: Conversion["venue"] = "uniswap-v2",
): Conversion => ({
  venue,
  action: "swap",
  contract: pool,
  txHash: TX,
  blockNumber: 11,
  logIndex,
  tokenIn,
  amountIn,
  tokenOut,
  amountOut,
  recipient,
});

/** The theft: 1,000 USDC to the thief, in block 9. */
const theft = () => [transfer(SEED, 0, USDC, V, THIEF, 1000n, 9)];

const held = (transfers: Transfer[], model: TaintModelName = "haircut") =>
  Object.fromEntries(
    trace(transfers, { model, seed: { kind: "tx", txHash: SEED }, token: ALL_ASSETS }).holdings.map(
      (h) => [accountKey(h.token, h.address), [h.amount, h.value]],
    ),
  );

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
      return Object.fromEntries(
        r.holdings.map((x) => [accountKey(x.token, x.address), [x.amount, x.value]]),
      );
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
