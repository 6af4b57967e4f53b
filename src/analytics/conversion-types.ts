/**
 * What a conversion is, as the readers (conversions.ts, v3-positions.ts) give it and moves.ts reads
 * it: apart from both readers, which each need it.
 */
import type { ConversionAction, ConversionVenue } from "./funds/types.js";

/**
 * What a Uniswap V3 position's event does besides adding and removing liquidity: pay out the tokens
 * owed to the position (`collect`), move the position to another owner (`position-transfer`).
 * Neither converts: moves.ts makes ordinary transfers of them.
 */
export type PositionAction = "collect" | "position-transfer";

/**
 * One conversion: `amountIn` of `tokenIn` became `amountOut` of `tokenOut` at `contract`. Liquidity
 * added to a Uniswap V2 pair is two conversions (each token for the pair's liquidity token, whose
 * amount the event does not say: 0n here, the mint's Transfer says), removed likewise.
 */
export interface Conversion {
  venue: ConversionVenue;
  action: ConversionAction | PositionAction;
  /** The contract that converted: the wrapper, the pool, the Vault. */
  contract: string;
  txHash: string;
  blockNumber: number;
  logIndex: number;
  /** A token address (lower case), or "native". */
  tokenIn: string;
  amountIn: bigint;
  tokenOut: string;
  amountOut: bigint;
  /** Who the output went to, when the event says (a swap's `to`, a wrapper's depositor). */
  recipient: string | null;
  /** A Uniswap V3 position's event: the position, its owner, the liquidity (v3-positions.ts). */
  position?: PositionRef;
  /**
   * Balancer V2: the pool the Vault priced the swap in (the poolId's first 20 bytes, which are the
   * pool's address); `contract` is the Vault, which holds and moves the tokens.
   */
  pool?: string;
}

/** A log that carries a conversion's topic and was not read as one, and why. */
export interface SkippedLog {
  txHash: string;
  logIndex: number;
  contract: string;
  reason: string;
}

/** What a position's event adds to its conversion records. */
export interface PositionRef {
  manager: string;
  tokenId: bigint;
  /** The position as an asset, and the address of its own account (funds/types.ts `positionAsset`). */
  asset: string;
  /**
   * Its owner at the event: whose liquidity is added or removed; for a transfer, the sender.
   */
  owner: string;
  /** The liquidity the event adds, removes or (a transfer) moves. */
  liquidity: bigint;
}
