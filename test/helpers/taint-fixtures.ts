/**
 * Transfers and conversion events built by hand, as the readers give them, for the tests of the
 * taint engine and of the moves made of them (test/analytics/taint.test.ts, moves.test.ts,
 * vault-moves.test.ts, bridge-moves.test.ts); and a result's holdings in the form those tests and
 * the traces on a chain compare.
 */
import type { Conversion } from "../../src/analytics/conversions.js";
import {
  accountKey,
  ALL_ASSETS,
  trace,
  type TaintModelName,
  type Transfer,
} from "../../src/analytics/funds/taint.js";
import type { Holding } from "../../src/analytics/funds/types.js";

/** The address whose number is `n`. */
export const a = (n: number) => `0x${n.toString(16).padStart(40, "0")}`;
export const USDC = a(0xc1);
export const WETH = a(0xe1);
export const DAI = a(0xd1);
/** The victim, the thief and someone the funds reach. */
export const V = a(1);
export const THIEF = a(0xa);
export const B = a(0xb);
/** The seed's transaction, and the one the conversions are in. */
export const SEED = "0x5eed";
export const TX = "0x77";

/** A transfer of `amount` of `token`, the `ordinal`-th of transaction `hash` in block `block`. */
export const transfer = (
  hash: string,
  ordinal: number,
  token: string,
  from: string,
  to: string,
  amount: bigint,
  block = 10,
  time = block * 12,
): Transfer => ({
  blockNumber: block,
  txIndex: 0,
  ordinal,
  txHash: hash,
  token,
  from,
  to,
  amount,
  time,
});

/** A swap of `pool` in transaction TX (block 11), its `logIndex`-th log. */
export const swap = (
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

/** Each holding's [amount, value], by its account (asset and address). */
export const heldAmounts = (
  holdings: readonly Pick<Holding, "token" | "address" | "amount" | "value">[],
): Record<string, [bigint, bigint]> =>
  Object.fromEntries(holdings.map((h) => [accountKey(h.token, h.address), [h.amount, h.value]]));

/** What a trace of every asset from the SEED transaction leaves held (heldAmounts). */
export const held = (transfers: Transfer[], model: TaintModelName = "haircut") =>
  heldAmounts(
    trace(transfers, { model, seed: { kind: "tx", txHash: SEED }, token: ALL_ASSETS }).holdings,
  );
