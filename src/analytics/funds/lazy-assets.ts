/**
 * A lazy trace of every asset, on one chain (docs/scale.md, "Every asset, lazily"): the frontier
 * reader of lazy.ts over every asset at once. An address the taint reaches, in any asset, has its
 * whole history read from the trace's first block: its transfers of every ERC-20 token (eth_getLogs
 * by the Transfer topic and the addresses' topics, of any contract) and of the native coin
 * (trace_filter, each transaction read whole). The receipt of every transaction of those histories
 * is read (a native history's own receipts serve), and a transaction with a conversion's or a
 * bridge's event is read whole: every Transfer log of its receipt and its native movements. Its
 * conversions become moves (moves.ts) as in a trace of the streams, so a pool or a wrapper never
 * receives taint through a swap, and its own history is never read.
 *
 * Why this gives the streams' answer: as for one token (lazy.ts), every address that ever holds
 * taint, in any asset, has its history read whole from the same first block; and each of its
 * transactions that converts is read whole, so its conversions are matched with the same transfers
 * as in the streams (a conversion is matched with the transfers of its own transaction only).
 * Balances before the first block are read as the trace of the streams reads them: for the accounts
 * (asset, address) of addresses read whole that the taint touches or that spend more than they
 * were seen receiving, with the history for an account taint reached; a round that reads some is
 * followed by another.
 *
 * An address the taint only passes through (a router: paid a swap's output, it pays it on in the
 * same transaction) is read, under haircut and FIFO, in the blocks where taint reached it alone,
 * once the node says it held nothing of those assets at the end of each (pass-through.ts).
 *
 * What is read from final blocks is kept (db/address-history.ts): the histories in the scopes of
 * every ERC-20 token and of the native coin, the balances per token, and per transaction whether
 * it converts or bridges (its logs if so, its native movements with the transfers).
 */
import type { RawLog, RpcClient } from "../../chain/rpc.js";
import type { Database } from "../../db/db.js";
import {
  AddressHistory,
  EVERY_TOKEN,
  ReceiptLogs,
  type BlockRange,
} from "../../db/address-history.js";
import { FEE_SINK, streamId, type TransferRow } from "../../db/streams.js";
import { BRIDGE_ADAPTERS } from "../bridges/index.js";
import {
  CONVERSION_TOPICS,
  ConversionReader,
  type Conversion,
  type SkippedLog,
} from "../conversions.js";
import { decodeErc20Transfers, TRANSFER_TOPIC } from "../transfers.js";
import {
  addressHistories,
  NATIVE_ORDINALS_PER_TX,
  RangeBudget,
  receiptLogs,
  wholeTransactions,
} from "./histories.js";
import {
  completeWarnings,
  lazyBlocks,
  ScopeHistories,
  storedBalances,
  type LazyBlocks,
  type LazyEnd,
  type LazyReading,
} from "./lazy.js";
import { conversionMoves, placeNative } from "./moves.js";
import { addressed, atBlock, PassThrough, type AccountAt, type Reads } from "./pass-through.js";
import { toTransfer } from "./run-common.js";
import { accountKey, type Seed, type TraceResult, type Transfer } from "./types.js";

/** What a lazy trace of every asset reads: one chain, from its seeds, over a block range. */
export interface LazyAssetsPlan {
  chainId: number;
  seeds: readonly Seed[];
  fromBlock: number;
  toBlock: number;
}

/** What has been read when the engine runs. */
export interface LazyAssetsRead {
  /**
   * The transfers of the complete addresses, of every ERC-20 token and of the native coin (native
   * movements placed among their transaction's logs), and of the transactions read whole, their
   * conversions as moves.
   */
  transfers: readonly Transfer[];
  /** Conversion events whose transfers were not found, and why (their transfers stay). */
  skipped: readonly SkippedLog[];
  /** The logs of the transactions read whole (bridge events are read from them). */
  logs: readonly RawLog[];
  /** Balances at the end of the block before the first, by account ({@link accountKey}). */
  initialBalances: ReadonlyMap<string, bigint>;
  /** The addresses whose histories, of every asset, `transfers` holds in full. */
  complete: ReadonlySet<string>;
}

/** The seam to the engine of every asset (run-assets.ts): runs it over what has been read. */
export type AssetsFrontierEngine = (read: LazyAssetsRead) => Promise<TraceResult>;

export interface LazyAssetsInput extends LazyReading {
  plan: LazyAssetsPlan;
  engine: AssetsFrontierEngine;
  /**
   * Whether an address taint only passes through is read in those blocks alone ({@link
   * PassThrough}): exact under haircut and FIFO, not under poison (default false).
   */
  passThrough?: boolean;
}

export interface LazyAssetsOutput extends LazyAssetsRead, LazyEnd {
  /** The store's scopes of what was read: every ERC-20 token, the native coin. */
  scopes: string[];
}

/**
 * topic0 of the events that make a transaction worth reading whole: conversions and bridges. The
 * ERC-20 Transfer, which Polygon PoS's child tokens burn by, is left out: every transaction of a
 * history has one, and on one chain such a burn has no release to be paired with (it is a burn).
 */
const WHOLE_TOPICS: ReadonlySet<string> = new Set(
  [...Object.values(CONVERSION_TOPICS), ...BRIDGE_ADAPTERS.flatMap((a) => a.topics)].filter(
    (t) => t !== TRANSFER_TOPIC,
  ),
);
const readWhole = (logs: readonly RawLog[] | null | undefined): logs is RawLog[] =>
  logs != null && logs.some((l) => WHOLE_TOPICS.has((l.topics[0] ?? "").toLowerCase()));

/**
 * A native movement as the engine of every asset reads it: numbered within its transaction (the
 * reader sees only some of a block's transactions), then placed among the transaction's logs.
 */
function nativeMove(row: TransferRow): Transfer {
  const t = toTransfer(row);
  t.ordinal -= row.txIndex * NATIVE_ORDINALS_PER_TX;
  return placeNative(t, row.kind);
}

/**
 * Whole transactions of a lazy trace: which of them convert or bridge (the store's answer, a
 * native history's receipt, else the node's), and those read whole.
 */
class WholeTransactions {
  /** Transactions looked at, and the logs of those read whole. */
  private readonly examined = new Set<string>();
  readonly logs: RawLog[] = [];
  readonly conversions: Conversion[] = [];
  readonly skipped: SkippedLog[] = [];
  /**
   * Receipts the native histories and the seeds read on the way (this trace's), by transaction,
   * until the transaction is looked at; then only that its native movements are known.
   */
  readonly receipts = new Map<string, RawLog[]>();
  private readonly nativeRead = new Set<string>();
  private readonly held: ReceiptLogs;
  private readonly reader: ConversionReader;
  fromNode = 0;

  constructor(
    private readonly rpc: RpcClient,
    private readonly blocks: LazyBlocks,
    private readonly native: AddressHistory,
    db: Database,
    chainId: number,
  ) {
    this.held = new ReceiptLogs(db, chainId);
    this.reader = new ConversionReader(rpc);
  }

  /**
   * The seed transactions, read whole (whatever their events); returns their transfers, of every
   * asset.
   */
  async seeds(hashes: readonly string[]): Promise<TransferRow[]> {
    const read = await wholeTransactions(this.rpc, hashes);
    const out: TransferRow[] = [];
    for (const t of read) {
      this.receipts.set(t.txHash, t.logs);
      for (const r of t.native) out.push(r);
      if (this.final(t.blockNumber) && readWhole(t.logs)) await this.native.keep(t.native);
    }
    const at = new Map(read.map((t) => [t.txHash, t]));
    return out.concat(await this.examine(at, new Set(hashes)));
  }

  /**
   * Looks at the transactions `at` (by hash, with their blocks) not looked at yet, and reads whole
   * those that convert or bridge, and those of `always` (whose native movements are known);
   * returns the transfers they add.
   */
  async examine(
    at: ReadonlyMap<string, { blockNumber: number; blockTime: number }>,
    always: ReadonlySet<string> = new Set(),
  ): Promise<TransferRow[]> {
    const fresh: string[] = [];
    for (const h of at.keys())
      if (!this.examined.has(h)) fresh.push(h);
      // Read again by another native history: its receipt serves no more.
      else this.receipts.delete(h);
    if (fresh.length === 0) return [];
    for (const h of fresh) this.examined.add(h);
    const stored = await this.held.held(fresh);
    const logsOf = new Map<string, RawLog[] | null>();
    const ask: string[] = [];
    for (const h of fresh) {
      const known = this.receipts.get(h) ?? stored.get(h);
      if (this.receipts.delete(h)) this.nativeRead.add(h);
      if (known === undefined) ask.push(h);
      else logsOf.set(h, known);
    }
    for (const [h, logs] of await receiptLogs(this.rpc, ask)) logsOf.set(h, logs);

    const whole = fresh.filter((h) => always.has(h) || readWhole(logsOf.get(h)));
    const out: TransferRow[] = [];
    // Native movements: a native history reads its transactions whole and keeps those of final
    // blocks (it gives back only its addresses' own), as the store keeps those of transactions
    // it knows whole; a native history's transactions of later blocks came whole; the others are
    // read now.
    const blockOf = (h: string) => (at.get(h) as { blockNumber: number }).blockNumber;
    const kept = whole.filter(
      (h) => this.final(blockOf(h)) && (this.nativeRead.has(h) || readWhole(stored.get(h))),
    );
    for (const r of await this.native.transactions(kept)) out.push(r);
    for (const t of await wholeTransactions(
      this.rpc,
      whole.filter((h) => !this.nativeRead.has(h) && !kept.includes(h)),
    )) {
      this.fromNode += t.native.length;
      for (const r of t.native) out.push(r);
      if (this.final(t.blockNumber)) await this.native.keep(t.native);
    }
    const logs = whole.flatMap((h) => logsOf.get(h) ?? []);
    const times = new Map([...at.values()].map((b) => [b.blockNumber, b.blockTime]));
    for (const r of decodeErc20Transfers(logs, times)) out.push(r);
    const read = await this.reader.read(logs);
    this.conversions.push(...read.conversions);
    this.skipped.push(...read.skipped);
    this.logs.push(...logs);
    // Kept last: a transaction kept with its logs has its native movements kept already.
    await this.held.write(
      fresh
        .filter((h) => !stored.has(h) && this.final(blockOf(h)))
        .map((h) => {
          const logs = logsOf.get(h);
          return { txHash: h, blockNumber: blockOf(h), logs: readWhole(logs) ? logs : null };
        }),
    );
    return out;
  }

  private final(block: number): boolean {
    return block <= this.blocks.finalized;
  }
}

/**
 * Traces every asset by reading only what the taint reaches (above). The result's warnings of
 * incomplete history are those of the addresses read whole.
 */
export async function readAssetsLazily(input: LazyAssetsInput): Promise<LazyAssetsOutput> {
  const { rpc, db, plan, engine } = input;
  const { chainId } = plan;
  const blocks = await lazyBlocks(rpc, plan, input.finalityDepth);
  const scopes = [
    streamId({ chainId, kind: "erc20", token: EVERY_TOKEN }),
    streamId({ chainId, kind: "native", token: "native" }),
  ];
  const [tokens, native] = [
    new AddressHistory(db, scopes[0] as string, EVERY_TOKEN),
    new AddressHistory(db, scopes[1] as string, "native"),
  ];
  const whole = new WholeTransactions(rpc, blocks, native, db, chainId);
  const source = (store: AddressHistory) => {
    // ERC-20 logs and native traces: each request kind learns its own provider's limits.
    const budget = new RangeBudget(input.history?.maxRange);
    const read = (addresses: readonly string[], range: BlockRange) =>
      addressHistories(rpc, store.token, addresses, range, budget, input.history, whole.receipts);
    return new ScopeHistories(store, blocks, read);
  };
  const histories = [source(tokens), source(native)];

  const rows = new Map<string, TransferRow>();
  const complete = new Set<string>();
  const initialBalances = new Map<string, bigint>();
  const add = (list: readonly TransferRow[]) => {
    for (const r of list) {
      const key = `${r.token === "native" ? "n" : "e"}:${r.blockNumber}:${r.ordinal}`;
      if (!rows.has(key)) rows.set(key, r);
    }
  };
  /** Reads `frontier`'s histories, then whole the transactions among them that convert or bridge. */
  const readHistories = async (frontier: readonly string[]) => {
    const read = await Promise.all(histories.map((h) => h.of(frontier)));
    for (const list of read) add(list);
    for (const a of frontier) complete.add(a);
    const at = new Map<string, { blockNumber: number; blockTime: number }>();
    for (const r of read.flat()) at.set(r.txHash, r);
    add(await whole.examine(at));
  };
  /** Balances of accounts at the end of their blocks, in their order (read per token and block, kept). */
  const balances = async (wanted: readonly AccountAt[]): Promise<bigint[]> => {
    const groups = new Map<string, { token: string; block: number; addresses: Set<string> }>();
    for (const w of wanted) {
      const key = `${w.token}@${w.block}`;
      const g = groups.get(key) ?? { token: w.token, block: w.block, addresses: new Set() };
      g.addresses.add(w.address);
      groups.set(key, g);
    }
    const got = new Map<string, bigint>();
    await Promise.all(
      [...groups.values()].map(async ({ token, block, addresses }) => {
        const kind = token === "native" ? "native" : "erc20";
        const store = new AddressHistory(db, streamId({ chainId, kind, token }), token);
        const list = [...addresses];
        const read = await storedBalances(rpc, store, token, list, blocks, block);
        for (const a of list) got.set(atBlock({ token, address: a, block }), read.get(a) ?? 0n);
      }),
    );
    return wanted.map((w) => got.get(atBlock(w)) ?? 0n);
  };
  const before = blocks.fromBlock - 1;
  const passing = new PassThrough(input.passThrough === true, balances);
  /** Reads the histories of `addresses` in `block` alone (addresses taint passes through). */
  const readBlock = async (block: number, addresses: readonly string[]) => {
    const read = await Promise.all(
      histories.map((h) => h.of(addresses, { from: block, to: block })),
    );
    for (const list of read) add(list);
    const at = new Map<string, { blockNumber: number; blockTime: number }>();
    for (const r of read.flat()) at.set(r.txHash, r);
    add(await whole.examine(at));
    for (const a of addresses) passing.read(a, block);
  };

  // The seeds: their transactions read whole, their addresses' histories.
  add(await whole.seeds(plan.seeds.flatMap((s) => (s.kind === "tx" ? [s.txHash] : []))));
  let next: Reads = {
    full: plan.seeds.flatMap((s) => (s.kind === "balance" ? [s.address] : [])),
    blocks: new Map(),
  };
  let needed: AccountAt[] = [];
  for (let round = 1; ; round++) {
    await Promise.all([
      next.full.length > 0 && readHistories(next.full),
      ...[...next.blocks].map(([block, addresses]) => readBlock(block, addresses)),
      balances(needed).then((got) =>
        needed.forEach((x, i) =>
          initialBalances.set(accountKey(x.token, x.address), got[i] as bigint),
        ),
      ),
    ]);
    const moved = conversionMoves(
      [...rows.values()].map((r) => (r.token === "native" ? nativeMove(r) : toTransfer(r))),
      whole.conversions,
    );
    // An address in a block it is read by takes part there as an address of its own, with the
    // balances it held at the end of the block before.
    const own = passing
      .rename(moved.transfers)
      .filter((x) => !initialBalances.has(accountKey(x.token, `${x.address}@${x.block}`)));
    const held = await balances(own.map((x) => ({ ...x, block: x.block - 1 })));
    own.forEach((x, i) =>
      initialBalances.set(accountKey(x.token, `${x.address}@${x.block}`), held[i] as bigint),
    );
    const read: LazyAssetsRead = {
      transfers: moved.transfers,
      skipped: [...whole.skipped, ...moved.skipped],
      logs: whole.logs,
      initialBalances,
      complete,
    };
    const result = await engine(read);
    input.onRound?.({ round, frontier: next.full.length, transfers: rows.size });
    next = await passing.reads(result, complete);
    // The accounts taint reached of the addresses read next are read with their histories.
    const readNext = new Set([...complete, ...next.full]);
    needed = balancesNeeded(result, readNext, initialBalances).map((x) => ({
      ...x,
      block: before,
    }));
    if (next.full.length === 0 && next.blocks.size === 0 && needed.length === 0) {
      const fromNode = whole.fromNode + histories.reduce((n, h) => n + h.fromNode, 0);
      const warnings = completeWarnings(result, complete);
      const named = addressed({ ...result, warnings });
      return { ...read, result: named, rounds: round, fromNode, scopes };
    }
  }
}

/**
 * The accounts of `whole` addresses (read whole, or to be read next) whose balance before the
 * trace the result shows it needs: those of the transfers that carried taint, and those that spent
 * more than they were seen receiving (as a trace of the streams asks them).
 */
function balancesNeeded(
  result: TraceResult,
  whole: ReadonlySet<string>,
  known: ReadonlyMap<string, bigint>,
): { token: string; address: string }[] {
  const needed = new Map<string, { token: string; address: string }>();
  const need = (token: string | undefined, address: string | undefined) => {
    if (token === undefined || address === undefined) return;
    const key = accountKey(token, address);
    if (whole.has(address) && address !== FEE_SINK && !known.has(key))
      needed.set(key, { token, address });
  };
  for (const e of result.edges) {
    need(e.token, e.from);
    need(e.out?.token ?? e.token, e.to);
  }
  for (const w of result.warnings) if (w.code === "incomplete-history") need(w.token, w.address);
  return [...needed.values()];
}
