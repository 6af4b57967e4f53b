/**
 * The Balancer V2 Vault's swaps matched with their settlement (src/analytics/funds/moves.ts): the
 * Vault emits a `Swap` per pool, then moves the call's net amounts once. A batch swap's hops are
 * one route in either order, separate routes of one batch are separate moves, routes that share a
 * token (whose net the Vault settles) and internal balances are refused with the reason, two calls
 * in one transaction stay two moves, and the Vault paying a Uniswap pair is one route through both.
 * On anvil with the Vault's bytecode: test/analytics/balancer-chain.test.ts.
 */
import { expect } from "chai";
import type { Conversion } from "../../src/analytics/conversions.js";
import { conversionMoves } from "../../src/analytics/funds/moves.js";
import { accountKey } from "../../src/analytics/funds/taint.js";
import {
  a,
  B,
  DAI,
  held,
  SEED,
  swap,
  THIEF,
  transfer as transferIn,
  TX,
  USDC,
  V,
  WETH,
} from "../helpers/taint-fixtures.js";

const BAL = a(0xba);
const VAULT = a(0xb0);
const PAIR = a(0xf1);

/** A transfer of transaction `hash` (TX unless told), in block 11 (the seed's in block 9). */
const transfer = (
  ordinal: number,
  token: string,
  from: string,
  to: string,
  amount: bigint,
  hash = TX,
) => transferIn(hash, ordinal, token, from, to, amount, hash === SEED ? 9 : 11, 0);

/** The Vault's `Swap` at `logIndex`. */
const vaultSwap = (
  logIndex: number,
  tokenIn: string,
  amountIn: bigint,
  tokenOut: string,
  amountOut: bigint,
): Conversion => swap(logIndex, VAULT, tokenIn, amountIn, tokenOut, amountOut, null, "balancer-v2");

/** The theft: 1,000 USDC to the thief. */
const theft = [transfer(0, USDC, V, THIEF, 1000n, SEED)];

describe("the Balancer V2 Vault's swaps as moves", () => {
  it("a batch given out lists its hops last first: one route, its steps in the order value went", () => {
    // USDC → WETH → DAI, the DAI amount given: the Vault prices WETH → DAI first.
    const moved = conversionMoves(
      [...theft, transfer(2, USDC, THIEF, VAULT, 1000n), transfer(3, DAI, VAULT, B, 990n)],
      [vaultSwap(0, WETH, 400n, DAI, 990n), vaultSwap(1, USDC, 1000n, WETH, 400n)],
    );
    expect(moved.skipped).to.deep.equal([]);
    const move = moved.transfers.find((t) => t.out !== undefined);
    expect(move).to.include({ from: THIEF, to: B, token: USDC, amount: 1000n });
    expect(move?.out?.steps.map((s) => [s.tokenIn, s.tokenOut])).to.deep.equal([
      [USDC, WETH],
      [WETH, DAI],
    ]);
    expect(held(moved.transfers)).to.deep.equal({ [accountKey(DAI, B)]: [990n, 1000n] });
  });

  it("two routes of one batch with no token in common are two moves", () => {
    const moved = conversionMoves(
      [
        ...theft,
        transfer(2, USDC, THIEF, VAULT, 600n),
        transfer(3, BAL, THIEF, VAULT, 7n),
        transfer(4, WETH, VAULT, B, 3n),
        transfer(5, DAI, VAULT, B, 70n),
      ],
      [vaultSwap(0, USDC, 600n, WETH, 3n), vaultSwap(1, BAL, 7n, DAI, 70n)],
    );
    expect(moved.skipped).to.deep.equal([]);
    expect(moved.transfers.filter((t) => t.out !== undefined)).to.have.length(2);
    expect(held(moved.transfers)).to.deep.equal({
      [accountKey(USDC, THIEF)]: [400n, 400n],
      [accountKey(WETH, B)]: [3n, 600n],
    });
  });

  it("routes that share a token are refused: the Vault settles only their net amounts", () => {
    // USDC → WETH through two pools: the Vault takes 1,000 USDC once, for both.
    const moved = conversionMoves(
      [...theft, transfer(2, USDC, THIEF, VAULT, 1000n), transfer(3, WETH, VAULT, B, 5n)],
      [vaultSwap(0, USDC, 600n, WETH, 3n), vaultSwap(1, USDC, 400n, WETH, 2n)],
    );
    expect(moved.converted).to.equal(0);
    expect(moved.skipped.map((s) => s.reason)).to.deep.equal([
      "a Balancer batch swap whose routes share a token: the Vault settles only their net amounts",
      "a Balancer batch swap whose routes share a token: the Vault settles only their net amounts",
    ]);
    // The transfers stay: the Vault holds what it was paid, as a single-token trace would say.
    expect(held(moved.transfers)).to.deep.equal({ [accountKey(USDC, VAULT)]: [1000n, 1000n] });
  });

  it("a swap paid from an internal balance (no transfer in) is refused with the reason", () => {
    const moved = conversionMoves(
      [...theft, transfer(2, WETH, VAULT, B, 3n)],
      [vaultSwap(0, USDC, 600n, WETH, 3n)],
    );
    expect(moved.skipped[0]?.reason).to.match(
      /^no transfer of 600 0x0+c1 into the Vault settles the swap's input \(an internal balance is not read\)$/,
    );
    expect(moved.transfers.filter((t) => t.txHash === TX)).to.have.length(1);
  });

  it("two Vault calls in one transaction are two moves, through the account between them", () => {
    // A relayer's multicall: USDC → WETH to the thief, settled; then WETH → DAI to B, settled.
    const moved = conversionMoves(
      [
        ...theft,
        transfer(1, USDC, THIEF, VAULT, 1000n),
        transfer(2, WETH, VAULT, THIEF, 400n),
        transfer(4, WETH, THIEF, VAULT, 400n),
        transfer(5, DAI, VAULT, B, 990n),
      ],
      [vaultSwap(0, USDC, 1000n, WETH, 400n), vaultSwap(3, WETH, 400n, DAI, 990n)],
    );
    expect(moved.skipped).to.deep.equal([]);
    expect(
      moved.transfers.filter((t) => t.out !== undefined).map((t) => [t.from, t.to, t.token]),
    ).to.have.deep.members([
      [THIEF, THIEF, USDC],
      [THIEF, B, WETH],
    ]);
    expect(held(moved.transfers)).to.deep.equal({ [accountKey(DAI, B)]: [990n, 1000n] });
  });

  it("the Vault paying a Uniswap pair directly is one route through both (the Vault is matched last)", () => {
    // USDC → WETH in the Vault, paid to a pair; the pair swaps WETH → DAI to B.
    const pairSwap: Conversion = {
      ...vaultSwap(4, WETH, 400n, DAI, 990n),
      venue: "uniswap-v2",
      contract: PAIR,
      recipient: B,
    };
    const moved = conversionMoves(
      [
        ...theft,
        transfer(1, USDC, THIEF, VAULT, 1000n),
        transfer(2, WETH, VAULT, PAIR, 400n),
        transfer(3, DAI, PAIR, B, 990n),
      ],
      [vaultSwap(0, USDC, 1000n, WETH, 400n), pairSwap],
    );
    expect(moved.skipped).to.deep.equal([]);
    const moves = moved.transfers.filter((t) => t.out !== undefined);
    expect(moves).to.have.length(1);
    expect(moves[0]?.out?.steps.map((s) => s.contract)).to.deep.equal([VAULT, PAIR]);
    expect(held(moved.transfers)).to.deep.equal({ [accountKey(DAI, B)]: [990n, 1000n] });
  });
});

describe("Balancer V2 liquidity (PoolBalanceChanged) as moves", () => {
  const POOL = a(0xb1);
  /** One record of a `PoolBalanceChanged` at `logIndex`: `token`'s delta, into or out of POOL. */
  const leg = (logIndex: number, token: string, delta: bigint): Conversion => ({
    venue: "balancer-v2",
    action: delta > 0n ? "add-liquidity" : "remove-liquidity",
    contract: VAULT,
    txHash: TX,
    blockNumber: 11,
    logIndex,
    tokenIn: delta > 0n ? token : POOL,
    amountIn: delta > 0n ? delta : 0n,
    tokenOut: delta > 0n ? POOL : token,
    amountOut: delta > 0n ? 0n : -delta,
    recipient: null,
    pool: POOL,
  });
  const ZERO = a(0);

  it("three tokens in: three moves, the pool token minted split in equal shares, the first taking the remainder", () => {
    const moved = conversionMoves(
      [
        ...theft,
        transfer(1, POOL, ZERO, THIEF, 100n),
        transfer(2, USDC, THIEF, VAULT, 600n),
        transfer(3, DAI, THIEF, VAULT, 50n),
        transfer(4, WETH, THIEF, VAULT, 2n),
      ],
      [leg(5, USDC, 600n), leg(5, DAI, 50n), leg(5, WETH, 2n)],
    );
    expect(moved.skipped).to.deep.equal([]);
    const moves = moved.transfers.filter((t) => t.out !== undefined);
    expect(moves.map((t) => [t.token, t.amount, t.out?.token, t.out?.amount])).to.deep.equal([
      [USDC, 600n, POOL, 34n],
      [DAI, 50n, POOL, 33n],
      [WETH, 2n, POOL, 33n],
    ]);
    expect(moves.map((t) => t.out?.steps[0]?.pool)).to.deep.equal([POOL, POOL, POOL]);
    // The stolen USDC bought its share whole; the thief's other tokens were never tainted.
    expect(held(moved.transfers)).to.deep.equal({
      [accountKey(USDC, THIEF)]: [400n, 400n],
      [accountKey(POOL, THIEF)]: [34n, 600n],
    });
  });

  it("refuses liquidity added without the pool token minted, naming the pool; the transfers stay", () => {
    const transfers = [...theft, transfer(2, USDC, THIEF, VAULT, 600n)];
    const moved = conversionMoves(transfers, [leg(5, USDC, 600n)]);
    expect(moved.skipped.map((x) => x.reason)).to.deep.equal([
      `liquidity added to Balancer pool ${POOL} without the transfers into the Vault and the pool token minted that show it (ether, which the Vault wraps, or an internal balance, is not read)`,
    ]);
    expect(moved.transfers).to.deep.equal(transfers);
  });

  it("refuses liquidity removed when a token paid out is missing (an internal balance): nothing half-moved", () => {
    const transfers = [
      ...theft,
      transfer(1, POOL, THIEF, ZERO, 10n),
      transfer(2, USDC, VAULT, THIEF, 60n),
    ];
    const moved = conversionMoves(transfers, [leg(5, USDC, -60n), leg(5, DAI, -5n)]);
    expect(moved.skipped).to.have.length(1);
    expect(moved.skipped[0]?.reason).to.match(/^liquidity removed from Balancer pool /);
    expect(moved.transfers).to.deep.equal(transfers);
  });
});
