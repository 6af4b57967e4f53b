import { getAddress, isAddress } from "ethers";
import { InvalidInputError, NotFoundError } from "../../shared/errors.js";
import type { RpcClient } from "../../chain/rpc.js";
import { allLabelsFor } from "../labels/chain.js";
import type { Label as StoreLabel } from "../labels/store.js";
import type { Database } from "../../db/db.js";
import { FEE_SINK, loadTransfers, streamId, type TransferRow } from "../../db/streams.js";
import {
  balancesAt,
  blockOfTransaction,
  ingestTransfers,
  requireBlock,
  type IngestResult,
} from "./ingest.js";
import type { Fraction } from "../cluster/deposits.js";
import type { HistoryOptions } from "./histories.js";
import { readLazily } from "./lazy.js";
import { depositExitsAmong, reachedBy } from "./deposit-exits.js";
import {
  DEFAULT_EXIT_CATEGORIES,
  DEFAULT_EXITS,
  exitKindOf,
  readExitCategories,
  type ExitCategories,
} from "./exits.js";
import {
  formatSeed,
  parseSeed,
  trace,
  ZERO_ADDRESS,
  type DepositExit,
  type Label,
  type Seed,
  type TaintModelName,
  type TraceResult,
  type Transfer,
} from "./taint.js";

/** What a trace reads: checked against the node before anything is stored ({@link planTrace}). */
export interface TracePlan {
  chainId: number;
  /** Lower-case token address, or "native". */
  token: string;
  seed: Seed;
  /** The first block read: the seed transaction's block, or the block after ADDRESS@BLOCK. */
  fromBlock: number;
  toBlock: number;
}

export interface PlanInput {
  /** Token address, or "native". */
  token: string;
  seed: string;
  toBlock?: number;
  confirmations?: number;
}

export interface RunTraceInput extends PlanInput {
  rpc: RpcClient;
  db: Database;
  model: TaintModelName;
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
  /**
   * How transfers are read: "stream" (the default) reads the token's whole transfer stream from
   * the seed's block into the store first; "lazy" reads only the histories of the addresses the
   * taint reaches, and keeps them in the store for the next trace (lazy.ts, docs/scale.md).
   */
  read?: "stream" | "lazy";
  /** A lazy trace's requests: addresses per request, requests in flight, widest block range. */
  lazy?: HistoryOptions;
}

export interface RunTraceOutput {
  chainId: number;
  result: TraceResult;
  ingest: IngestResult;
  fromBlock: number;
  toBlock: number;
  /** Labels of every address in the result (most relevant first). */
  labels: Map<string, StoreLabel[]>;
  /** Initial balances fetched from the node, by address. */
  initialBalances: Map<string, bigint>;
  /** The exit list the trace used, read. */
  exits: ExitCategories;
  /** The deposit addresses the trace knew (those its taint reached), by address. */
  depositAddresses: Map<string, DepositExit>;
  decimals: number | null;
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

/** The token as a trace names it: a lower-case address, or "native"; throws for anything else. */
export function normalizeToken(token: string): string {
  if (token === "native") return token;
  if (!isAddress(token))
    throw new InvalidInputError(
      `--token must be a token address or "native", got ${JSON.stringify(token)}`,
    );
  return getAddress(token).toLowerCase();
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
 * Checks a trace's input against the node, reading nothing into the store: the token (an address
 * with code, or "native"), the seed (a mined transaction, or ADDRESS@BLOCK at an existing block)
 * and the block range. Throws one clear error for the first problem: an {@link InvalidInputError},
 * or a {@link NotFoundError} for what the node does not have.
 */
export async function planTrace(rpc: RpcClient, input: PlanInput): Promise<TracePlan> {
  const token = normalizeToken(input.token);
  const seed: Seed = parseSeed(input.seed);
  const chainId = Number(await rpc.firstCall<string>("eth_chainId"));
  const code =
    token === "native" ? "0x00" : await rpc.call<string>("eth_getCode", [token, "latest"]);
  if (code === "0x")
    throw new NotFoundError(`no contract at token address ${token} on chain ${chainId}`);
  let fromBlock: number;
  if (seed.kind === "tx") {
    fromBlock = await blockOfTransaction(rpc, seed.txHash);
  } else {
    await requireBlock(rpc, seed.block);
    fromBlock = seed.block + 1;
  }
  const head = Number(await rpc.call<string>("eth_blockNumber"));
  const toBlock = input.toBlock ?? head - (input.confirmations ?? 0);
  const seedBlock = seed.kind === "tx" ? fromBlock : seed.block;
  if (toBlock < seedBlock) {
    throw new InvalidInputError(
      input.toBlock === undefined
        ? `the seed (block ${seedBlock}) is within the newest ${input.confirmations ?? 0} block(s) ` +
            `left out by --confirmations (head ${head})`
        : `--to-block ${toBlock} is before the seed (block ${seedBlock})`,
    );
  }
  if (toBlock > head)
    throw new InvalidInputError(`--to-block ${toBlock} is beyond the node's head ${head}`);
  return { chainId, token, seed, fromBlock, toBlock };
}

/**
 * A trace end to end: reads what it needs into the store (the token's transfers from the seed's
 * block on), reads the balances the traced addresses held before that block from the node,
 * labels addresses from the store (TagPacks and consortium labels), and runs the taint model.
 *
 * Initial balances: the stream starts at the seed's block, so an address may spend funds it held
 * before. The balances of the addresses the taint reaches, and of those that spent more than the
 * stream shows them receiving, are read from the node at the block before the stream and the
 * trace is run again, until no new address needs one (at most 4 rounds); what is still unknown
 * is reported by the engine as incomplete history.
 */
export async function runTrace(input: RunTraceInput): Promise<RunTraceOutput> {
  const exitCategories = input.exitCategories ?? DEFAULT_EXIT_CATEGORIES;
  const exits = readExitCategories(exitCategories, "exitCategories");
  const plan = input.plan ?? (await planTrace(input.rpc, input));
  if (input.read === "lazy") return runLazyTrace(input, plan, exits);
  const { chainId, token, seed, fromBlock, toBlock } = plan;
  const ingest = await ingestTransfers(
    input.db,
    input.rpc,
    { chainId, kind: token === "native" ? "native" : "erc20", token, startBlock: fromBlock },
    {
      toBlock,
      confirmations: input.confirmations,
      finalityDepth: input.finalityDepth,
      traceCalls: input.traceCalls,
      onProgress: input.onProgress,
    },
  );
  const stream = streamId({ chainId, kind: token === "native" ? "native" : "erc20", token });
  const transfers = await loadTransfers(input.db, stream, token, fromBlock, toBlock, toTransfer);

  const addresses = new Set<string>();
  for (const t of transfers) {
    addresses.add(t.from);
    addresses.add(t.to);
  }
  if (seed.kind === "balance") addresses.add(seed.address);
  addresses.delete(ZERO_ADDRESS);
  addresses.delete(FEE_SINK);
  const labels = await allLabelsFor(input.db, [...addresses], chainId);
  const lookup = (a: string) =>
    a === ZERO_ADDRESS ? undefined : engineLabel(labels.get(a), exits);

  const initialBalances = new Map<string, bigint>();
  if (seed.kind === "balance") {
    const seeded = await balancesAt(input.rpc, token, [seed.address], seed.block);
    for (const [a, v] of seeded) initialBalances.set(a, v);
  }
  // Deposit addresses: assessed for the addresses the taint reaches (a deposit address stops it,
  // so every later run reaches fewer), a new one found means one more run.
  const depositAddresses = new Map<string, DepositExit>();
  const assessed = new Set<string>();
  const exchanges = new Map<string, string>();
  if (input.depositAddresses !== false && exits.categories.has("exchange"))
    for (const a of labels.keys()) {
      const label = lookup(a);
      if (label !== undefined && exitKindOf(label, exits) === "exchange")
        exchanges.set(a, label.label);
    }
  const findDeposits = (r: TraceResult): boolean => {
    if (exchanges.size === 0) return false;
    const reached = new Set([...reachedBy(r)].filter((a) => !assessed.has(a)));
    for (const a of reached) assessed.add(a);
    const found = depositExitsAmong(transfers, reached, {
      exchanges,
      maxBlocks: input.depositMaxBlocks,
      tolerance: input.depositTolerance,
    });
    for (const [a, d] of found) depositAddresses.set(a, d);
    return found.size > 0;
  };
  const run = () =>
    trace(transfers, { ...engineOptions(input, plan, lookup), depositAddresses, initialBalances });
  let result = run();
  for (let round = 0; round < 4; round++) {
    const newDeposits = findDeposits(result);
    const missing = new Set<string>();
    const need = (a: string) => {
      if (a !== ZERO_ADDRESS && a !== FEE_SINK && !initialBalances.has(a)) missing.add(a);
    };
    for (const e of result.edges) {
      need(e.from);
      need(e.to);
    }
    // A clean address that spends what it held before the stream is no gap in the history.
    for (const w of result.warnings)
      if (w.code === "incomplete-history" && w.address !== undefined) need(w.address);
    if (missing.size === 0 && !newDeposits) break;
    const fetched =
      missing.size === 0 ? [] : await balancesAt(input.rpc, token, [...missing], fromBlock - 1);
    for (const [a, v] of fetched) initialBalances.set(a, v);
    for (const a of missing) if (!initialBalances.has(a)) initialBalances.set(a, 0n);
    result = run();
  }
  return {
    chainId,
    result,
    ingest,
    fromBlock,
    toBlock,
    labels,
    initialBalances,
    exits,
    depositAddresses,
    decimals: await tokenDecimals(input.rpc, token),
  };
}

/** The engine's options a trace's input and plan give (all but what the reading finds out). */
function engineOptions(
  input: RunTraceInput,
  plan: TracePlan,
  labels: (address: string) => Label | undefined,
) {
  return {
    model: input.model,
    seed: plan.seed,
    token: plan.token,
    labels,
    exitCategories: input.exitCategories ?? DEFAULT_EXIT_CATEGORIES,
    maxHops: input.maxHops,
    minAmount: input.minAmount,
    windowSeconds: input.windowSeconds,
    feeSink: FEE_SINK,
    maxPaths: input.maxPaths,
  };
}

/**
 * {@link runTrace} reading lazily (lazy.ts): each round of the frontier reader runs the engine
 * here, after labeling the addresses new to it and assessing, as deposit addresses, the reached
 * addresses whose histories are read whole (a verdict needs an address's whole history).
 */
async function runLazyTrace(
  input: RunTraceInput,
  plan: TracePlan,
  exits: ExitCategories,
): Promise<RunTraceOutput> {
  const { chainId, token, fromBlock, toBlock } = plan;
  const labels = new Map<string, StoreLabel[]>();
  const labeled = new Set<string>([ZERO_ADDRESS, FEE_SINK]);
  const lookup = (a: string) =>
    a === ZERO_ADDRESS ? undefined : engineLabel(labels.get(a), exits);
  const depositAddresses = new Map<string, DepositExit>();
  const exchanges = new Map<string, string>();
  const assessed = new Set<string>();
  const deposits = input.depositAddresses !== false && exits.categories.has("exchange");
  // The rows as the engine reads them: each round appends to the rows of the one before.
  const transfers: Transfer[] = [];
  const lazy = await readLazily({
    rpc: input.rpc,
    db: input.db,
    plan,
    finalityDepth: input.finalityDepth,
    history: input.lazy,
    onRound: (p) =>
      input.onProgress?.({ indexedTo: p.round, target: p.round + 1, rows: p.transfers }),
    engine: async ({ transfers: rows, initialBalances, complete }) => {
      const fresh = new Set<string>();
      for (const t of rows) for (const a of [t.from, t.to]) if (!labeled.has(a)) fresh.add(a);
      if (plan.seed.kind === "balance" && !labeled.has(plan.seed.address))
        fresh.add(plan.seed.address);
      for (const a of fresh) labeled.add(a);
      for (const [a, l] of await allLabelsFor(input.db, [...fresh], chainId)) {
        labels.set(a, l);
        const label = lookup(a);
        if (deposits && label !== undefined && exitKindOf(label, exits) === "exchange")
          exchanges.set(a, label.label);
      }
      for (let i = transfers.length; i < rows.length; i++)
        transfers.push(toTransfer(rows[i] as TransferRow));
      const run = () =>
        trace(transfers, {
          ...engineOptions(input, plan, lookup),
          depositAddresses,
          initialBalances,
        });
      for (;;) {
        const result = run();
        if (exchanges.size === 0) return result;
        const reached = new Set(
          [...reachedBy(result)].filter((a) => complete.has(a) && !assessed.has(a)),
        );
        for (const a of reached) assessed.add(a);
        const found = depositExitsAmong(transfers, reached, {
          exchanges,
          maxBlocks: input.depositMaxBlocks,
          tolerance: input.depositTolerance,
        });
        if (found.size === 0) return result;
        for (const [a, d] of found) depositAddresses.set(a, d);
      }
    },
  });
  return {
    chainId,
    result: lazy.result,
    ingest: {
      stream: lazy.scope,
      indexedTo: toBlock,
      rows: lazy.fromNode,
      complete: true,
      note: null,
    },
    fromBlock,
    toBlock,
    labels,
    initialBalances: new Map(lazy.initialBalances),
    exits,
    depositAddresses,
    decimals: await tokenDecimals(input.rpc, token),
  };
}

/**
 * The one JSON object `veritrace trace --json` prints as its last line: addresses and the seed in
 * lower case (as parsed, whatever case the user wrote), amounts as decimal strings of base units
 * of the token each holding and exit names (with its chain).
 */
export function traceSummaryJson(out: RunTraceOutput) {
  const r = out.result;
  // Every holding and exit names its chain and token: the asset its amount is in.
  const asset = { chainId: out.chainId, token: r.token };
  return {
    model: r.model,
    token: r.token,
    seed: formatSeed(r.seed),
    holdings: r.holdings.map((h) => ({
      ...asset,
      address: h.address,
      amount: h.amount.toString(),
    })),
    exits: r.exits.map((e) => ({
      ...asset,
      address: e.address,
      label: e.label ?? e.kind,
      amount: e.amount.toString(),
      // A deposit address's exit only: its exchange, the forwards that show it, the confidence.
      ...(e.depositOf === undefined
        ? {}
        : { depositOf: e.depositOf, evidence: e.evidence, confidence: e.confidence }),
    })),
    total: r.total.toString(),
  };
}
