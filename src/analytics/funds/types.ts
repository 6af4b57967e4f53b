/**
 * The public types of fund-flow tracing (taint analysis). The models and the meaning of every
 * field are defined in docs/taint-models.md.
 */

/** The zero address: transfers from it are mints (clean inflows), transfers to it are burns. */
export const ZERO_ADDRESS = "0x0000000000000000000000000000000000000000";

/** One token movement, as ingestion delivers it. Amounts are in the token's base units. */
export interface Transfer {
  blockNumber: number;
  /** Index of the transaction in its block. */
  txIndex: number;
  /** Position of the transfer within its block (e.g. the log index); orders transfers of a tx. */
  ordinal: number;
  txHash: string;
  /** Lowercase token address, or "native" for the chain's own coin. */
  token: string;
  /** Lowercase address. */
  from: string;
  /** Lowercase address. */
  to: string;
  amount: bigint;
  /** Block time, unix seconds. */
  time: number;
  /**
   * The chain, in a trace across chains (every asset): transfers are then ordered by time, then
   * chain, then each chain's order, and the assets are told apart by chain.
   */
  chainId?: number;
  /**
   * A conversion (a swap, a wrap, liquidity added or removed): `amount` of `token` left `from`,
   * and `out.amount` of `out.token` reached `to`. Only a trace of every asset reads it.
   */
  out?: ConversionOut;
}

/** The venues a conversion is recognised at (docs/taint-models.md, "Conversions"). */
export type ConversionVenue =
  "weth" | "uniswap-v2" | "uniswap-v3" | "curve" | "balancer-v2" | "bridge";

/**
 * What a conversion does: swap one token for another, wrap or unwrap the native coin, add
 * liquidity (one of its two inputs, for a share of the pool's liquidity token) or remove it (one
 * of its two outputs, for a share of the liquidity token burnt).
 */
export type ConversionAction =
  "swap" | "wrap" | "unwrap" | "add-liquidity" | "remove-liquidity" | "bridge";

/** A bridge crossing, as a step of the two moves through its transit (funds/bridge-moves.ts). */
export interface BridgeCrossing {
  /** The bridge (across, cctp, op-standard, stargate, wormhole, arbitrum, polygon-pos). */
  name: string;
  fromChainId: number;
  toChainId: number;
  depositTx: string;
  releaseTx: string;
  /** Paired by the bridge's own id, or by the fallback (recipient, token, amount, time). */
  by: "id" | "fallback";
  confidence: number;
  reason: string;
}

/** One conversion, as its event says: `amountIn` of `tokenIn` became `amountOut` of `tokenOut`. */
export interface ConversionStep {
  venue: ConversionVenue;
  action: ConversionAction;
  /** The contract that converted: the wrapper, the pool, the Vault. */
  contract: string;
  /** The event's log index. */
  logIndex: number;
  tokenIn: string;
  amountIn: bigint;
  tokenOut: string;
  amountOut: bigint;
  /** A bridge crossing: its two sides and how they were paired. */
  bridge?: BridgeCrossing;
  /** Balancer V2: the pool the Vault priced the swap in (`contract` is the Vault). */
  pool?: string;
}

/**
 * What a conversion delivers: `amount` of `token`, after `steps` (several for a route through
 * several pools in one transaction, in order; the first step's input is the transfer's).
 */
export interface ConversionOut {
  token: string;
  amount: bigint;
  steps: readonly ConversionStep[];
}

/**
 * A Uniswap V3 liquidity position as an asset of a trace of every asset: the ERC-721 token
 * `tokenId` of the NonfungiblePositionManager `manager`, measured in units of liquidity, held by
 * the token's owner. The same name is the address of the position's own account, where the tokens
 * its removed liquidity is owed sit until they are collected (docs/taint-models.md, "Uniswap V3
 * positions").
 */
export const positionAsset = (manager: string, tokenId: bigint) =>
  `v3pos:${manager.toLowerCase()}:${tokenId}`;

/** The manager and token id of a {@link positionAsset}, or null for any other asset or address. */
export function readPositionAsset(asset: string): { manager: string; tokenId: bigint } | null {
  const m = /^v3pos:(0x[0-9a-f]{40}):(\d{1,78})$/.exec(asset);
  return m === null ? null : { manager: m[1] as string, tokenId: BigInt(m[2] as string) };
}

/** The `token` of a trace that follows every asset it reaches. */
export const ALL_ASSETS = "all";

/** How a trace of every asset names an account: the asset, then the address. */
export const accountKey = (token: string, address: string) => `${token}/${address}`;

/**
 * Where taint starts: the amounts received in one transaction, or the whole balance of an
 * address at the end of a block (written ADDRESS@BLOCK).
 */
export type Seed =
  { kind: "tx"; txHash: string } | { kind: "balance"; address: string; block: number };

export type TaintModelName = "poison" | "haircut" | "fifo";

export const TAINT_MODELS: readonly TaintModelName[] = ["poison", "haircut", "fifo"];

/**
 * A risk label of an address: its risk category (docs/labels.md) and its text, and the
 * taxonomy term it was normalized from (a TagPack's own `category`: gambling, wallet_service, …).
 * Which labels are exit points is the trace's `exitCategories`.
 */
export interface Label {
  category: string;
  label: string;
  term?: string | null;
}

/** The label of an address (with every asset, the asset of the account asked about is given too). */
export type LabelLookup = (address: string, asset?: string) => Label | undefined;

/**
 * A deposit address of a labeled exchange, as the clustering heuristic finds it
 * (docs/clustering.md): the account an exchange freezes, so taint stops there.
 */
export interface DepositExit {
  /** The exchange address it forwards to the most, and that address's label. */
  depositOf: { address: string; label: string };
  /** The heuristic's evidence: the transactions that forwarded its inflows on, in chain order. */
  evidence: string[];
  /** The share of what it received that it forwarded within the heuristic's bounds, 0 to 1. */
  confidence: number;
}

export interface TraceOptions {
  model: TaintModelName;
  /**
   * Where taint starts: one seed, or several (several victims, several thefts: one combined
   * trace; per-seed attribution is {@link attributeSeeds}'s).
   */
  seed: Seed | readonly Seed[];
  /**
   * The token traced (lowercase address or "native"; transfers of other tokens are ignored), or
   * {@link ALL_ASSETS}: every asset the taint reaches, through the conversions among the transfers.
   */
  token: string;
  /**
   * With every asset: the asset the seed creates taint in (the stolen asset), and the unit of every
   * valuation. Default: the only asset a transaction seed moves (its fees aside); required for a
   * balance seed.
   */
  seedAsset?: string;
  /** Labels of addresses; taint reaching a labeled exit (`exitCategories`) stops there. */
  labels?: LabelLookup;
  /**
   * The labels that are exits: risk categories (exchange, bridge, mixer) and taxonomy entity
   * terms (gambling, wallet_service, …). Default {@link DEFAULT_EXIT_CATEGORIES}.
   */
  exitCategories?: readonly string[];
  /**
   * Deposit addresses of labeled exchanges, by lowercase address: taint reaching one stops there,
   * as an exit of kind exchange (an address's own exit label decides first).
   */
  depositAddresses?: ReadonlyMap<string, DepositExit>;
  /**
   * Balances (of `token`) held before the first given transfer, by lowercase address; with every
   * asset, by {@link accountKey}.
   */
  initialBalances?: ReadonlyMap<string, bigint>;
  /** Taint is followed at most this many transfers away from the seed (default: unlimited). */
  maxHops?: number;
  /**
   * A transfer carrying less taint than this (base units; with every asset, of the seed asset, by
   * valuation) is not followed (default 0n).
   */
  minAmount?: bigint;
  /** Transfers later than the seed's time plus this many seconds are not processed. */
  windowSeconds?: number;
  /** The pseudo-address that receives gas fees; taint reaching it is an exit of kind "fee". */
  feeSink?: string;
  /** Paths reported per holding or exit (default 5; 0 turns provenance off). */
  maxPaths?: number;
}

/**
 * The kinds of exit: an exchange, bridge or mixer (by the label's risk category), another
 * custodial service (a casino, a payment processor, …: by the label's taxonomy term), a burn,
 * the fee sink.
 */
export const EXIT_KINDS = ["exchange", "bridge", "mixer", "service", "burn", "fee"] as const;

export type ExitKind = (typeof EXIT_KINDS)[number];

/**
 * What became of the taint a transfer carried: created there by the seed ("seed"), carried on to
 * an address that holds it ("carried"), delivered to an exit ("exit"), or not followed because of
 * the hop limit or the minimum amount.
 */
export type EdgeFate = "seed" | "carried" | "exit" | "beyond-hop-limit" | "below-minimum";

/** A transfer that carried taint. `tainted` is the part of `amount` that was tainted. */
export interface TaintedEdge {
  /** In a trace across chains: the chain of the transfer. */
  chainId?: number;
  txHash: string;
  blockNumber: number;
  txIndex: number;
  ordinal: number;
  time: number;
  from: string;
  to: string;
  /** The asset moved (for a conversion: the asset that went in). */
  token: string;
  amount: bigint;
  tainted: bigint;
  fate: EdgeFate;
  /** A conversion: what came out (`tainted` is then the input's tainted part). */
  out?: ConversionOut & { tainted: bigint };
}

/**
 * One way taint travelled from the seed: the address where it was seeded (`origin`), then the
 * transfers that carried it, in chain order (the same objects as in `TraceResult.edges`). For a
 * transaction seed the first step is the seed transfer itself; a path with no step is taint still
 * at the seeded address. `amount` is defined per model (docs/taint-models.md, "Paths").
 */
export interface TaintPath {
  origin: string;
  amount: bigint;
  steps: readonly TaintedEdge[];
}

/** One seed's share of a holding or an exit (a trace with several seeds). */
export interface SeedShare {
  /** The seed, as written (a transaction hash, or ADDRESS@BLOCK). */
  seed: string;
  amount: bigint;
  value: bigint;
}

/** Taint still held by an address at the end of the trace. */
export interface Holding {
  /** In a trace across chains: the chain of the account. */
  chainId?: number;
  address: string;
  /** The asset held: a token address, or "native". */
  token: string;
  /** Haircut and FIFO: the tainted part of the balance. Poison: the whole balance. */
  amount: bigint;
  /**
   * The amount valued in the seed's asset at the rates of the conversions the taint went through
   * (equal to `amount` in the seed's asset; docs/taint-models.md, "Valuation").
   */
  value: bigint;
  /** The fewest transfers by which taint reached the address (0: seeded there). */
  hops: number;
  /** Total taint the address received (seeded, or carried in by followed transfers). */
  received: bigint;
  /** The largest paths, amount descending (at most `maxPaths`). */
  paths: TaintPath[];
  /** Sum of the amounts of `paths`. */
  explained: bigint;
  /** With several seeds: each seed's share (docs/taint-models.md, "Many seeds"). */
  bySeed?: SeedShare[];
}

/** Taint that reached an exit point, where tracing stops. */
export interface Exit {
  /** In a trace across chains: the chain of the account. */
  chainId?: number;
  address: string;
  /** The asset that reached the exit. */
  token: string;
  kind: ExitKind;
  /**
   * The label's text, for labeled exits; a service's is followed by its taxonomy term; for a
   * deposit address, "deposit address of" its exchange's label.
   */
  label?: string;
  amount: bigint;
  /** The amount valued in the seed's asset, as for a holding. */
  value: bigint;
  hops: number;
  paths: TaintPath[];
  explained: bigint;
  /** For a deposit address: its exchange, the forwards that show it, the heuristic's confidence. */
  depositOf?: DepositExit["depositOf"];
  evidence?: string[];
  confidence?: number;
  /** With several seeds: each seed's share (docs/taint-models.md, "Many seeds"). */
  bySeed?: SeedShare[];
  /**
   * A bridge's exit (deposits without a release read): the chains the deposits were bound for, and
   * how much went to each (null: the event does not say).
   */
  destinations?: { chainId: number | null; amount: bigint }[];
}

export type WarningCode =
  "incomplete-history" | "empty-seed" | "provenance-budget" | "rounds-exhausted";

export interface TraceWarning {
  code: WarningCode;
  /** One sentence for a person. */
  message: string;
  /** In a trace across chains: the chain of the account the warning is about. */
  chainId?: number;
  address?: string;
  /** With every asset: the asset of the account the warning is about. */
  token?: string;
  /** For incomplete history: the first transfer that overdrew the known balance. */
  txHash?: string;
  blockNumber?: number;
  /** For incomplete history: the total unknown excess, treated as clean pre-existing funds. */
  amount?: bigint;
  /** For incomplete history: how many transfers overdrew the known balance. */
  count?: number;
  /** For incomplete history: whether the address held taint at one of those moments. */
  heldTaint?: boolean;
}

export interface TraceStats {
  /** Transfers of the token given (after dropping zero-amount and self-transfers). */
  transfers: number;
  /** Conversions among them (a route through several pools counts once). */
  conversions: number;
  /** Transfers processed (within the time window). */
  processed: number;
  /** Distinct addresses seen. */
  addresses: number;
  /** Transfers that carried taint (the length of `edges`). */
  taintedEdges: number;
  /** Provenance nodes kept (bounded). */
  pathNodes: number;
}

export interface TraceResult {
  model: TaintModelName;
  /** The token traced, or {@link ALL_ASSETS}. */
  token: string;
  /** The asset the seed created taint in: the unit of `seedAmount`, values, buckets, `total`. */
  seedAsset: string;
  /** The first seed. */
  seed: Seed;
  /** Every seed, as given. */
  seeds: readonly Seed[];
  /** The taint created by the seed. */
  seedAmount: bigint;
  /** The time the window starts from (unix seconds). */
  seedTime: number;
  /** Amount descending, then address ascending. */
  holdings: Holding[];
  /** Amount descending, then address ascending. */
  exits: Exit[];
  /** Taint carried by transfers beyond `maxHops` (valued in the seed's asset). */
  beyondHopLimit: bigint;
  /** Taint carried by transfers below `minAmount` (valued in the seed's asset). */
  belowMinimum: bigint;
  /**
   * Sum of the values of holdings and exits, and both buckets. Equals `seedAmount` exactly for
   * haircut and FIFO; for poison it is larger whenever clean funds were mixed with taint.
   */
  total: bigint;
  /** Every transfer that carried taint, in chain order. */
  edges: TaintedEdge[];
  /** Address ascending. */
  warnings: TraceWarning[];
  stats: TraceStats;
}
