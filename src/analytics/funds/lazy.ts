/**
 * A lazy trace: instead of reading a token's whole transfer stream, read the histories of the
 * addresses the taint reaches, and only those (docs/scale.md, "Chains of mainnet size"). From the
 * seeds, over and over: run the engine on the transfers read so far; every address its taint
 * reached whose history is not read yet joins the frontier; the frontier's histories (all its
 * transfers from the trace's first block to its last, many addresses per request) and balances
 * before the first block are read; until no new address is reached. The last run is the result.
 *
 * Why every history starts at the trace's first block: the engine takes one initial balance per
 * address and counts every transfer it is given. An address's transfers before it was first
 * reached may be known already (as another reached address's), so a history starting where the
 * address was reached would count them twice, or need balances adjusted per round. Starting every
 * history at the same block, with each balance read at the block before, makes the read
 * transfers exactly the full stream's transfers of the reached addresses, and the result that of
 * the full stream (the engine's taint moves only along transfers of tainted addresses, and every
 * tainted address's history is read whole). The cost is the blocks before an address was
 * reached, which address-filtered requests pay in range pieces, not in transfers.
 *
 * What is read from finalized blocks is kept in the store (db/address-history.ts) and reused by
 * the next trace; what is above the finality depth is read from the node by every trace.
 */
import type { RpcClient } from "../../chain/rpc.js";
import type { Database } from "../../db/db.js";
import { AddressHistory, EVERY_TOKEN, type BlockRange } from "../../db/address-history.js";
import { FEE_SINK, streamId, type TransferRow } from "../../db/streams.js";
import { addressHistories, RangeBudget, seedTransfers, type HistoryOptions } from "./histories.js";
import { balancesAt } from "./ingest.js";
import { ZERO_ADDRESS, type Seed, type TraceResult } from "./types.js";

/** What a lazy trace reads: one asset of one chain, from its seeds, over a block range. */
export interface LazyPlan {
  chainId: number;
  /** Lower-case token address, or "native". */
  token: string;
  seeds: readonly Seed[];
  fromBlock: number;
  toBlock: number;
}

/** What has been read when the engine runs. */
export interface LazyRead {
  /**
   * Every transfer of the `complete` addresses within the plan's blocks, and the seeds', in the
   * order read (the engine sorts them): a round only appends to what the one before was given.
   */
  transfers: readonly TransferRow[];
  /** Each complete address's balance at the end of the block before the plan's first. */
  initialBalances: ReadonlyMap<string, bigint>;
  /** The addresses whose histories `transfers` holds in full. */
  complete: ReadonlySet<string>;
}

/**
 * The seam to the taint engine: runs it over what has been read. The caller owns the engine
 * (labels, exits, deposit addresses, the model and its options); the reader only needs the
 * result's edges and holdings, to know which addresses the taint reached.
 */
export type FrontierEngine = (read: LazyRead) => Promise<TraceResult>;

/** How a lazy reader reads (of one token, or of every asset: lazy-assets.ts). */
export interface LazyReading {
  rpc: RpcClient;
  db: Database;
  /** Blocks this deep below the head are final: only those are stored (default 64). */
  finalityDepth?: number;
  history?: HistoryOptions;
  /** After each round: its number, the addresses read, the transfers known. */
  onRound?: (p: { round: number; frontier: number; transfers: number }) => void;
}

/** What a lazy reader ends with, besides what it read. */
export interface LazyEnd {
  result: TraceResult;
  /** Engine runs (the last one is the result). */
  rounds: number;
  /** Transfers read from the node by this trace (the store's are not counted). */
  fromNode: number;
}

export interface LazyTraceInput extends LazyReading {
  plan: LazyPlan;
  engine: FrontierEngine;
}

export interface LazyTraceOutput extends LazyRead, LazyEnd {
  /** The store's scope (stream id) of what was read. */
  scope: string;
}

/**
 * The addresses a result's taint reached that hold or carried it on: seed and carried edges'
 * receivers (of a conversion, the account paid out; never the pool), holders.
 */
export function frontierOf(result: TraceResult): Set<string> {
  const reached = new Set<string>();
  for (const e of result.edges) if (e.fate === "seed" || e.fate === "carried") reached.add(e.to);
  for (const h of result.holdings) reached.add(h.address);
  reached.delete(ZERO_ADDRESS);
  reached.delete(FEE_SINK);
  return reached;
}

/** The blocks of a lazy trace: from the first to the last, of which those up to `finalized` are final. */
export interface LazyBlocks {
  fromBlock: number;
  toBlock: number;
  /** The last final block (the head less the finality depth, at most `toBlock`). */
  finalized: number;
}

/** The blocks of a plan, with the last final one asked of the node. */
export async function lazyBlocks(
  rpc: RpcClient,
  plan: Pick<LazyPlan, "fromBlock" | "toBlock">,
  finalityDepth = 64,
): Promise<LazyBlocks> {
  const head = Number(await rpc.call<string>("eth_blockNumber"));
  const { fromBlock, toBlock } = plan;
  return { fromBlock, toBlock, finalized: Math.min(toBlock, head - finalityDepth) };
}

/**
 * One scope's histories over a lazy trace's blocks (a token, every ERC-20 token, or the native
 * coin): the final blocks from the store where held, else read from the node and stored; the
 * blocks above the finality depth from the node, by every trace, never stored.
 */
export class ScopeHistories {
  /** Transfers read from the node so far (the store's are not counted). */
  fromNode = 0;

  constructor(
    readonly store: AddressHistory,
    private readonly blocks: LazyBlocks,
    /** Reads the histories of addresses over a range from the node (histories.ts). */
    private readonly read: (
      addresses: readonly string[],
      range: BlockRange,
    ) => Promise<TransferRow[]>,
  ) {}

  /**
   * Every transfer of `addresses` within `range` (default: the trace's blocks); a transfer
   * between two of them may come twice.
   */
  async of(
    addresses: readonly string[],
    range: BlockRange = { from: this.blocks.fromBlock, to: this.blocks.toBlock },
  ): Promise<TransferRow[]> {
    const { finalized } = this.blocks;
    const tail = { from: Math.max(range.from, finalized + 1), to: range.to };
    const none: TransferRow[] = [];
    const [final, recent] = await Promise.all([
      range.from <= finalized
        ? this.finalPart(addresses, { from: range.from, to: Math.min(range.to, finalized) })
        : none,
      tail.from <= tail.to ? this.fromNodeOnly(addresses, tail) : none,
    ]);
    return final.concat(recent);
  }

  private async fromNodeOnly(addresses: readonly string[], range: BlockRange) {
    const rows = await this.read(addresses, range);
    this.fromNode += rows.length;
    return rows;
  }

  /** The final part: addresses with the same gap in the store are read from the node together. */
  private async finalPart(addresses: readonly string[], range: BlockRange) {
    const groups = new Map<string, { gaps: BlockRange[]; addresses: string[] }>();
    for (const [a, gaps] of await this.store.gaps(addresses, range)) {
      if (gaps.length === 0) continue;
      const key = JSON.stringify(gaps);
      const g = groups.get(key) ?? { gaps, addresses: [] };
      g.addresses.push(a);
      groups.set(key, g);
    }
    for (const g of groups.values())
      for (const gap of g.gaps)
        await this.store.write(await this.fromNodeOnly(g.addresses, gap), g.addresses, gap);
    return this.store.load(addresses, range);
  }
}

/**
 * The balances of `token` of `addresses` at the end of block `at` (default: the block before the
 * trace's first): the store's where held (a final block), else asked of the node and stored.
 */
export async function storedBalances(
  rpc: RpcClient,
  store: AddressHistory,
  token: string,
  addresses: readonly string[],
  blocks: LazyBlocks,
  at = blocks.fromBlock - 1,
): Promise<Map<string, bigint>> {
  const final = at <= blocks.finalized && at >= 0;
  const held = final ? await store.balances(addresses, at) : new Map<string, bigint>();
  const asked = await balancesAt(
    rpc,
    token,
    addresses.filter((a) => !held.has(a)),
    at,
  );
  if (final && asked.size > 0) await store.writeBalances(asked, at);
  return new Map([...held, ...asked]);
}

/** The warnings of `result` but those of incomplete history of an address not read whole. */
export function completeWarnings(
  result: TraceResult,
  complete: ReadonlySet<string>,
): TraceResult["warnings"] {
  return result.warnings.filter(
    (w) => w.code !== "incomplete-history" || w.address === undefined || complete.has(w.address),
  );
}

/**
 * Traces by reading only what the taint reaches (above). The result's warnings of incomplete
 * history are those of the addresses read whole: the other addresses are only the counterparts
 * of their transfers, whose balances the engine sees in part, and whose taint is always zero.
 */
export async function readLazily(input: LazyTraceInput): Promise<LazyTraceOutput> {
  const { rpc, plan, engine } = input;
  const { chainId, token, seeds } = plan;
  const kind = token === "native" ? "native" : "erc20";
  const scope = streamId({ chainId, kind, token });
  // One token's transfers are also in the histories a trace of every asset read.
  const wider = kind === "erc20" ? streamId({ chainId, kind, token: EVERY_TOKEN }) : undefined;
  const store = new AddressHistory(input.db, scope, token, wider);
  const blocks = await lazyBlocks(rpc, plan, input.finalityDepth);
  const budget = new RangeBudget(input.history?.maxRange);
  const histories = new ScopeHistories(store, blocks, (addresses, range) =>
    addressHistories(rpc, token, addresses, range, budget, input.history),
  );

  const known = new Set<string>();
  const transfers: TransferRow[] = [];
  const complete = new Set<string>();
  const initialBalances = new Map<string, bigint>();
  const add = (rows: readonly TransferRow[]) => {
    for (const r of rows) {
      const key = `${r.blockNumber}:${r.ordinal}`;
      if (known.has(key)) continue;
      known.add(key);
      transfers.push(r);
    }
  };

  const readHistories = async (addresses: string[]) => {
    const [rows, balances] = await Promise.all([
      histories.of(addresses),
      storedBalances(rpc, store, token, addresses, blocks),
    ]);
    add(rows);
    for (const a of addresses) {
      complete.add(a);
      initialBalances.set(a, balances.get(a) ?? 0n);
    }
  };

  // A transaction seed's transfers are read; a balance seed's address is read whole at once.
  let frontier: string[] = [];
  for (const seed of seeds)
    if (seed.kind === "tx") add(await seedTransfers(rpc, token, seed.txHash));
    else if (!frontier.includes(seed.address)) frontier.push(seed.address);
  for (let round = 1; ; round++) {
    if (frontier.length > 0) await readHistories(frontier);
    const read = { transfers, initialBalances, complete };
    const result = await engine(read);
    input.onRound?.({ round, frontier: frontier.length, transfers: transfers.length });
    frontier = [...frontierOf(result)].filter((a) => !complete.has(a));
    if (frontier.length === 0) {
      const warnings = completeWarnings(result, complete);
      return {
        ...read,
        result: { ...result, warnings },
        rounds: round,
        fromNode: histories.fromNode,
        scope,
      };
    }
  }
}
