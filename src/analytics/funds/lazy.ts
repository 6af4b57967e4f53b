/**
 * A lazy trace: instead of reading a token's whole transfer stream, read the histories of the
 * addresses the taint reaches, and only those (docs/scale.md, "Chains of mainnet size"). From the
 * seed, over and over: run the engine on the transfers read so far; every address its taint
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
import { AddressHistory, type BlockRange } from "../../db/address-history.js";
import { FEE_SINK, streamId, type TransferRow } from "../../db/streams.js";
import { addressHistories, RangeBudget, seedTransfers, type HistoryOptions } from "./histories.js";
import { balancesAt } from "./ingest.js";
import { ZERO_ADDRESS, type Seed, type TraceResult } from "./types.js";

/** What a lazy trace reads: one asset of one chain, from a seed, over a block range. */
export interface LazyPlan {
  chainId: number;
  /** Lower-case token address, or "native". */
  token: string;
  seed: Seed;
  fromBlock: number;
  toBlock: number;
}

/** What has been read when the engine runs. */
export interface LazyRead {
  /**
   * Every transfer of the `complete` addresses within the plan's blocks, and the seed's, in the
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

export interface LazyTraceInput {
  rpc: RpcClient;
  db: Database;
  plan: LazyPlan;
  engine: FrontierEngine;
  /** Blocks this deep below the head are final: only those are stored (default 64). */
  finalityDepth?: number;
  history?: HistoryOptions;
  /** After each round: its number, the addresses read, the transfers known. */
  onRound?: (p: { round: number; frontier: number; transfers: number }) => void;
}

export interface LazyTraceOutput extends LazyRead {
  result: TraceResult;
  /** Engine runs (the last one is the result). */
  rounds: number;
  /** Transfers read from the node by this trace (the store's are not counted). */
  fromNode: number;
  /** The store's scope (stream id) of what was read. */
  scope: string;
}

/** The addresses a result's taint reached that hold or carried it on: seed and carried edges' receivers, holders. */
function reachedBy(result: TraceResult): Set<string> {
  const reached = new Set<string>();
  for (const e of result.edges) if (e.fate === "seed" || e.fate === "carried") reached.add(e.to);
  for (const h of result.holdings) reached.add(h.address);
  reached.delete(ZERO_ADDRESS);
  reached.delete(FEE_SINK);
  return reached;
}

/**
 * Traces by reading only what the taint reaches (above). The result's warnings of incomplete
 * history are those of the addresses read whole: the other addresses are only the counterparts
 * of their transfers, whose balances the engine sees in part, and whose taint is always zero.
 */
export async function readLazily(input: LazyTraceInput): Promise<LazyTraceOutput> {
  const { rpc, plan, engine } = input;
  const { chainId, token, seed, fromBlock, toBlock } = plan;
  const scope = streamId({ chainId, kind: token === "native" ? "native" : "erc20", token });
  const store = new AddressHistory(input.db, scope, token);
  const head = Number(await rpc.call<string>("eth_blockNumber"));
  const finalized = Math.min(toBlock, head - (input.finalityDepth ?? 64));
  const budget = new RangeBudget(input.history?.maxRange);
  const histories = (addresses: readonly string[], range: BlockRange) =>
    addressHistories(rpc, token, addresses, range, budget, input.history);

  const known = new Set<string>();
  const transfers: TransferRow[] = [];
  const complete = new Set<string>();
  const initialBalances = new Map<string, bigint>();
  let fromNode = 0;
  const add = (rows: readonly TransferRow[]) => {
    for (const r of rows) {
      const key = `${r.blockNumber}:${r.ordinal}`;
      if (known.has(key)) continue;
      known.add(key);
      transfers.push(r);
    }
  };

  /** The finalized part of the histories: from the store where held, else read and stored. */
  const finalizedPart = async (addresses: readonly string[], range: BlockRange) => {
    const groups = new Map<string, { gaps: BlockRange[]; addresses: string[] }>();
    for (const [a, gaps] of await store.gaps(addresses, range)) {
      if (gaps.length === 0) continue;
      const key = JSON.stringify(gaps);
      const g = groups.get(key) ?? { gaps, addresses: [] };
      g.addresses.push(a);
      groups.set(key, g);
    }
    for (const g of groups.values())
      for (const gap of g.gaps) {
        const rows = await histories(g.addresses, gap);
        fromNode += rows.length;
        await store.write(rows, g.addresses, gap);
      }
    add(await store.load(addresses, range));
  };

  /** Balances at the block before the trace's first: the store's where held (finalized). */
  const balancesBefore = async (addresses: readonly string[]) => {
    const at = fromBlock - 1;
    const held = at <= finalized && at >= 0 ? await store.balances(addresses, at) : new Map();
    const asked = await balancesAt(
      rpc,
      token,
      addresses.filter((a) => !held.has(a)),
      at,
    );
    if (at <= finalized && at >= 0 && asked.size > 0) await store.writeBalances(asked, at);
    for (const [a, v] of [...held, ...asked]) initialBalances.set(a, v);
  };

  /** The blocks above the finality depth: read from the node by every trace, never stored. */
  const tail = { from: Math.max(fromBlock, finalized + 1), to: toBlock };
  const readTail = async (addresses: readonly string[]) => {
    const rows = await histories(addresses, tail);
    fromNode += rows.length;
    add(rows);
  };

  const readHistories = async (addresses: string[]) => {
    await Promise.all([
      balancesBefore(addresses),
      fromBlock <= finalized && finalizedPart(addresses, { from: fromBlock, to: finalized }),
      tail.from <= tail.to && readTail(addresses),
    ]);
    for (const a of addresses) {
      complete.add(a);
      if (!initialBalances.has(a)) initialBalances.set(a, 0n);
    }
  };

  let frontier: string[] = [];
  if (seed.kind === "tx") add(await seedTransfers(rpc, token, seed.txHash));
  else frontier = [seed.address];
  for (let round = 1; ; round++) {
    if (frontier.length > 0) await readHistories(frontier);
    const read = { transfers, initialBalances, complete };
    const result = await engine(read);
    input.onRound?.({ round, frontier: frontier.length, transfers: transfers.length });
    frontier = [...reachedBy(result)].filter((a) => !complete.has(a));
    if (frontier.length === 0) {
      const warnings = result.warnings.filter(
        (w) =>
          w.code !== "incomplete-history" || w.address === undefined || complete.has(w.address),
      );
      return { ...read, result: { ...result, warnings }, rounds: round, fromNode, scope };
    }
  }
}
