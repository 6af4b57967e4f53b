/**
 * What a trace end to end shares between one token (run.ts) and every asset (run-assets.ts): its
 * input and output, the label the engine sees, the token as a trace names it.
 */
import { getAddress, isAddress } from "ethers";
import { InvalidInputError } from "../../shared/errors.js";
import type { RpcClient } from "../../chain/rpc.js";
import type { Label as StoreLabel } from "../labels/store.js";
import type { Database } from "../../db/db.js";
import type { TransferRow } from "../../db/streams.js";
import type { IngestResult } from "./ingest.js";
import type { HistoryOptions } from "./histories.js";
import type { SkippedLog } from "../conversions.js";
import type {
  BridgeContract,
  BridgePair,
  BridgeReaderOptions,
  ChainToken,
} from "../bridges/index.js";
import type { Fraction } from "../cluster/deposits.js";
import {
  DEFAULT_EXIT_CATEGORIES,
  DEFAULT_EXITS,
  exitKindOf,
  type ExitCategories,
} from "./exits.js";
import { FEE_SINK } from "../../db/streams.js";
import {
  ALL_ASSETS,
  type DepositExit,
  type Label,
  type Seed,
  type TaintModelName,
  type TraceOptions,
  type TraceResult,
  type Transfer,
} from "./types.js";

/** What a trace reads: checked against the node before anything is stored ({@link planTrace}). */
export interface TracePlan {
  chainId: number;
  /** Lower-case token address, or "native". */
  token: string;
  /** The seeds (one at least). */
  seeds: Seed[];
  /**
   * The first block read: the earliest seed transaction's block, or the block after the earliest
   * ADDRESS@BLOCK.
   */
  fromBlock: number;
  toBlock: number;
}

export interface PlanInput {
  /** Token address, or "native". */
  token: string;
  /** One seed, or several (a transaction hash or ADDRESS@BLOCK each). */
  seed: string | readonly string[];
  toBlock?: number;
  confirmations?: number;
}

export interface RunTraceInput extends PlanInput {
  rpc: RpcClient;
  db: Database;
  model: TaintModelName;
  /** With every asset: the asset the seed creates taint in (see TraceOptions.seedAsset). */
  seedAsset?: string;
  /**
   * With every asset: other chains the funds may cross to by a bridge (`--chain CHAINID=URL`), read
   * from the seed's time on.
   */
  chains?: { chainId?: number; rpc: RpcClient }[];
  /** Bridge contracts beyond the built-in registry (analytics/bridges/registry.ts). */
  bridgeContracts?: readonly BridgeContract[];
  /** Entries over the bridges' built-in chain tables (CCTP domains, Wormhole and LayerZero ids). */
  bridgeTables?: BridgeReaderOptions["tables"];
  /** The same token on different chains, for pairing deposits and releases without a shared id. */
  bridgeTokens?: readonly (readonly ChainToken[])[];
  /**
   * How transfers are read: "stream" (the default) reads the token's whole transfer stream from
   * the seed's block into the store first; "lazy" reads only the histories of the addresses the
   * taint reaches, and keeps them in the store for the next trace (docs/scale.md): of one token
   * (lazy.ts), or of every asset on one chain (lazy-assets.ts).
   */
  read?: "stream" | "lazy";
  /** A lazy trace's requests: addresses per request, requests in flight, widest block range. */
  lazy?: HistoryOptions;
  /** The plan made by {@link planTrace} (made here if not given). */
  plan?: TracePlan;
  maxHops?: number;
  minAmount?: bigint;
  windowSeconds?: number;
  maxPaths?: number;
  /** The labels that stop taint (default {@link DEFAULT_EXIT_CATEGORIES}); see exits.ts. */
  exitCategories?: readonly string[];
  /**
   * Whether deposit addresses of labeled exchanges are exits (default true; docs/clustering.md),
   * and the heuristic's τ and α (defaults as `veritrace cluster`).
   */
  depositAddresses?: boolean;
  depositMaxBlocks?: number;
  depositTolerance?: Fraction;
  finalityDepth?: number;
  traceCalls?: boolean;
  onProgress?: (p: { indexedTo: number; target: number; rows: number }) => void;
}

export interface RunTraceOutput {
  chainId: number;
  result: TraceResult;
  ingest: IngestResult;
  fromBlock: number;
  toBlock: number;
  /**
   * Labels of every address in the result (most relevant first); across chains, an address's on
   * the first chain that labels it (the seed's first): see {@link labelsAt} for one chain's.
   */
  labels: Map<string, StoreLabel[]>;
  /** Across chains, the labels of the addresses each chain read, by chain. */
  chainLabels?: ReadonlyMap<number, ReadonlyMap<string, StoreLabel[]>>;
  /** Initial balances fetched from the node, by address. */
  initialBalances: Map<string, bigint>;
  /** The exit list the trace used, read. */
  exits: ExitCategories;
  /** The deposit addresses the trace knew (those its taint reached), by address. */
  depositAddresses: Map<string, DepositExit>;
  /** The decimals of the seed's asset (null when the token doesn't say). */
  decimals: number | null;
  /** The decimals of every asset of the result, by token. */
  assetDecimals: Map<string, number | null>;
  /** With every asset: conversion events that could not be read as moves, and why. */
  skippedConversions?: SkippedLog[];
  /** Across chains: each chain read, and its blocks. */
  chains?: { chainId: number; fromBlock: number; toBlock: number; ingest: IngestResult }[];
  /**
   * Across chains: the bridge crossings the taint followed (whose deposit carried taint on; a
   * crossing of clean funds is not listed), and the pairs whose transfers were not found (those
   * whose deposit's transaction moved taint: a skipped crossing of clean funds is not listed).
   */
  crossings?: BridgePair[];
  skippedCrossings?: { pair: BridgePair; reason: string }[];
}

/**
 * The label the taint engine sees for an address: the first (most relevant) of its labels that
 * is an exit under `exits` if it has one, else its first.
 */
export function engineLabel(
  labels: readonly StoreLabel[] | undefined,
  exits: ExitCategories = DEFAULT_EXITS,
): Label | undefined {
  if (labels === undefined || labels.length === 0) return undefined;
  const seen = labels.map((l): Label => ({
    category: l.category,
    label: l.label,
    term: l.originalCategory,
  }));
  return seen.find((l) => exitKindOf(l, exits) !== undefined) ?? seen[0];
}

/**
 * The token as a trace names it: a lower-case address, or "native"; throws for anything else,
 * naming `option`.
 */
export function normalizeToken(token: string, option = "--token"): string {
  if (token === "native") return token;
  if (!isAddress(token))
    throw new InvalidInputError(
      `${option} must be a token address or "native", got ${JSON.stringify(token)}`,
    );
  return getAddress(token).toLowerCase();
}

/** What a trace follows: {@link normalizeToken}'s, or "all" (every asset). */
export function normalizeTraceToken(token: string): string {
  if (token === ALL_ASSETS) return token;
  if (token !== "native" && !isAddress(token))
    throw new InvalidInputError(
      `--token must be a token address, "native" or "all", got ${JSON.stringify(token)}`,
    );
  return normalizeToken(token);
}

/** A stored transfer as the taint and risk engines read it. */
export function toTransfer(t: TransferRow): Transfer {
  return {
    blockNumber: t.blockNumber,
    txIndex: t.txIndex,
    ordinal: t.ordinal,
    txHash: t.txHash,
    token: t.token,
    from: t.from,
    to: t.to,
    amount: t.amount,
    time: t.blockTime,
  };
}

/** The token's decimals (ERC-20 decimals()), 18 for native, null when the token doesn't say. */
export async function tokenDecimals(rpc: RpcClient, token: string): Promise<number | null> {
  if (token === "native") return 18;
  // A position (liquidity units), a transit: no token to ask.
  if (!/^0x[0-9a-fA-F]{40}$/.test(token)) return null;
  try {
    const r = await rpc.call<string>("eth_call", [{ to: token, data: "0x313ce567" }, "latest"]);
    if (r === "0x" || r.length < 3) return null;
    const d = Number(BigInt(r.slice(0, 66)));
    return Number.isInteger(d) && d <= 77 ? d : null;
  } catch {
    return null;
  }
}

/**
 * The most times a trace end to end runs the trace again with what the previous run showed it
 * needs: the balances reached addresses held before the stream, the deposit addresses among them.
 */
export const MAX_TRACE_RERUNS = 4;

/** Says what the last run allowed still found to need another run. */
function unsettledMessage(unreadBalances: number, newDeposits: number): string {
  const unsettled = [
    ...(unreadBalances === 0
      ? []
      : [`${unreadBalances} address(es) whose balance before the stream was not read`]),
    ...(newDeposits === 0 ? [] : [`${newDeposits} deposit address(es) not taken as exits`]),
  ];
  return (
    `after ${MAX_TRACE_RERUNS} more runs for balances held before the stream and for deposit ` +
    `addresses, the last run still reached ${unsettled.join(" and ")}: taint past them may be ` +
    `split or stopped otherwise than a further run would`
  );
}

/** What one run of a trace showed it still needs (see {@link settle}). */
export interface Needs {
  /** Accounts whose balance before the stream is not read yet, and how to read them. */
  balances: { size: number; read(): Promise<void> };
  /** Deposit addresses found among the newly reached addresses, and how to take them as exits. */
  deposits: { size: number; accept(): void };
}

/**
 * Runs a trace until it needs nothing more (no unread balance, no new deposit address), at most
 * {@link MAX_TRACE_RERUNS} more times; when the last run allowed still needs something, a
 * `rounds-exhausted` warning says so.
 */
export async function settle(
  run: () => TraceResult,
  needs: (r: TraceResult) => Needs,
): Promise<TraceResult> {
  let result = run();
  for (let rerun = 1; ; rerun++) {
    const { balances, deposits } = needs(result);
    if (balances.size === 0 && deposits.size === 0) return result;
    if (rerun > MAX_TRACE_RERUNS) {
      // Addressless warnings come first (taint.ts sorts them so); this code sorts after theirs.
      const at = result.warnings.findIndex((w) => w.address !== undefined);
      result.warnings.splice(at === -1 ? result.warnings.length : at, 0, {
        code: "rounds-exhausted",
        message: unsettledMessage(balances.size, deposits.size),
      });
      return result;
    }
    deposits.accept();
    await balances.read();
    result = run();
  }
}

/**
 * The exchanges among labeled addresses whose deposit addresses a trace looks for (none when the
 * input turns deposit addresses off or exchanges are no exit), with their labels.
 */
export function exchangesAmong(
  labeled: Iterable<string>,
  lookup: (address: string) => Label | undefined,
  exits: ExitCategories,
  input: Pick<RunTraceInput, "depositAddresses">,
): Map<string, string> {
  const exchanges = new Map<string, string>();
  if (input.depositAddresses === false || !exits.categories.has("exchange")) return exchanges;
  for (const a of labeled) {
    const label = lookup(a);
    if (label !== undefined && exitKindOf(label, exits) === "exchange")
      exchanges.set(a, label.label);
  }
  return exchanges;
}

/** The engine's options of a trace end to end: the input's, and what the runner found out. */
export function engineOptions(
  input: Pick<
    RunTraceInput,
    "model" | "exitCategories" | "maxHops" | "minAmount" | "windowSeconds" | "maxPaths"
  >,
  found: Pick<
    TraceOptions,
    "token" | "seedAsset" | "labels" | "depositAddresses" | "initialBalances"
  > & { seeds: Seed[] },
): TraceOptions {
  const { seeds, ...rest } = found;
  return {
    model: input.model,
    seed: seeds,
    ...rest,
    exitCategories: input.exitCategories ?? DEFAULT_EXIT_CATEGORIES,
    maxHops: input.maxHops,
    minAmount: input.minAmount,
    windowSeconds: input.windowSeconds,
    feeSink: FEE_SINK,
    maxPaths: input.maxPaths,
  };
}

/**
 * The labels of `address` on `chainId` (the seed's chain when not given): across chains from that
 * chain's own labels, so that an address labeled on two chains is each chain's; with one chain,
 * the trace's labels.
 */
export function labelsAt(
  out: Pick<RunTraceOutput, "chainId" | "labels" | "chainLabels">,
  address: string,
  chainId = out.chainId,
): StoreLabel[] | undefined {
  const byChain = out.chainLabels?.get(chainId);
  return byChain === undefined ? out.labels.get(address) : byChain.get(address);
}

/**
 * The labels of an address as the pictures and the API name it: `CHAIN:address` on another chain
 * than the seed's, the bare address on the seed's.
 */
export function labelsNamed(
  out: Pick<RunTraceOutput, "chainId" | "labels" | "chainLabels">,
  named: string,
): StoreLabel[] | undefined {
  const m = /^(\d+):(0x[0-9a-f]{40})$/.exec(named);
  return m === null ? labelsAt(out, named) : labelsAt(out, m[2] as string, Number(m[1]));
}
