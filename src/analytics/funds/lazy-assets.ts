/**
 * A lazy trace of every asset, one chain's reader (docs/scale.md, "Every asset, lazily"; several
 * chains: lazy-chains.ts): the frontier reader of lazy.ts over every asset at once. An address the taint reaches, in any asset, has its
 * whole history read from the trace's first block: its transfers of every ERC-20 token (eth_getLogs
 * by the Transfer topic and the addresses' topics, of any contract) and of the native coin
 * (trace_filter, each transaction read whole). The receipt of every transaction of those histories
 * is read (a native history's own receipts serve), and a transaction with a conversion's or a
 * bridge's event is read whole: every Transfer log of its receipt and its native movements. Its
 * conversions become moves (moves.ts) as in a trace of the streams, so a pool or a wrapper never
 * receives taint through a swap, and its own history is never read. A Uniswap V3 position the taint
 * reaches has every event read (its manager's logs by its token id, each transaction read whole),
 * and its own account is never read as an address.
 *
 * Why this gives the streams' answer: as for one token (lazy.ts), every address that ever holds
 * taint, in any asset, has its history read whole from the same first block; and each of its
 * transactions that converts is read whole, so its conversions are matched with the same transfers
 * as in the streams (a conversion is matched with the transfers of its own transaction only); a
 * position the taint reaches has all its events, so its records are the streams' (taint reaches a
 * position only through liquidity a tainted address pays in, in a transaction of its history).
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
import { POSITION_TOPICS, PositionReader } from "../v3-positions.js";
import {
  addressHistories,
  NATIVE_ORDINALS_PER_TX,
  RangeBudget,
  receiptLogs,
  wholeTransactions,
} from "./histories.js";
import {
  lazyBlocks,
  ScopeHistories,
  storedBalances,
  type LazyBlocks,
  type LazyReading,
} from "./lazy.js";
import { conversionMoves, placeNative } from "./moves.js";
import { atBlock, PassThrough, type AccountAt, type Reads } from "./pass-through.js";
import { isTransit } from "./bridge-moves.js";
import { toTransfer } from "./run-common.js";
import {
  accountKey,
  readPositionAsset,
  type Seed,
  type TraceResult,
  type Transfer,
} from "./types.js";

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

/**
 * topic0 of the events that make a transaction worth reading whole: conversions, Uniswap V3
 * positions' (the manager's and the pool's) and bridges. The ERC-20 Transfer, which Polygon PoS's
 * child tokens burn by and a position changes hands by, is left out: every transaction of a history
 * has one, and on one chain such a burn has no release to be paired with (it is a burn); a
 * position's transfers are read by its token id ({@link PositionReader.eventsOf}).
 */
const WHOLE_TOPICS: ReadonlySet<string> = new Set(
  [
    ...Object.values(CONVERSION_TOPICS),
    ...Object.values(POSITION_TOPICS),
    ...BRIDGE_ADAPTERS.flatMap((a) => a.topics),
  ].filter((t) => t !== TRANSFER_TOPIC),
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
  /** Transactions looked at, those read whole, and the logs of those read whole. */
  private readonly examined = new Set<string>();
  private readonly wholly = new Set<string>();
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
  /**
   * Uniswap V3 positions' events: read over every log read whole at once (a position's records
   * depend on its other events of the same block, and on its transfers, read once).
   */
  readonly positions: PositionReader;
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
    this.positions = new PositionReader(rpc, this.reader, {
      fromBlock: blocks.fromBlock,
      toBlock: blocks.toBlock,
    });
  }

  /**
   * The positions' records of the transactions read whole. A position's transfer in a transaction
   * not read whole is left out: the taint never reached that position (the transactions of every
   * event of a position it reached are read whole), so it moves nothing tainted.
   */
  async positionConversions(): Promise<{ conversions: Conversion[]; skipped: SkippedLog[] }> {
    const read = await this.positions.read(this.logs);
    return {
      conversions: read.conversions.filter(
        (c) => c.action !== "position-transfer" || this.wholly.has(c.txHash),
      ),
      skipped: read.skipped,
    };
  }

  /**
   * Transactions read whole whatever their events (the seeds; across chains, a bridge's release
   * found by its event), but those looked at already; returns their transfers, of every asset.
   */
  async always(hashes: readonly string[]): Promise<TransferRow[]> {
    hashes = hashes.filter((h) => !this.wholly.has(h));
    if (hashes.length === 0) return [];
    // Looked at already, not read whole (a child token's burn has only a Transfer): looked at again.
    for (const h of hashes) this.examined.delete(h);
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
    for (const h of whole) this.wholly.add(h);
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

  /** Whether transaction `hash` was read whole. */
  isWhole(hash: string): boolean {
    return this.wholly.has(hash);
  }

  private final(block: number): boolean {
    return block <= this.blocks.finalized;
  }
}

/** One chain of a lazy trace of every asset: how it is read, and its plan (seeds only on the seed's). */
export interface LazyAssetsChain extends LazyReading {
  plan: LazyAssetsPlan;
  /**
   * Whether an address taint only passes through is read in those blocks alone ({@link
   * PassThrough}): exact under haircut and FIFO, not under poison (default false).
   */
  passThrough?: boolean;
}

/**
 * One chain's frontier reader of a lazy trace of every asset (above): what it has read, and what
 * the next round reads after a run of the engine (lazy-chains.ts drives one per chain read).
 */
export class AssetsFrontier {
  readonly chainId: number;
  /** The store's scopes of what is read: every ERC-20 token, the native coin. */
  readonly scopes: string[];
  /** The addresses whose histories, of every asset, are read in full. */
  readonly complete = new Set<string>();
  /** Balances at the end of the block before the first, by account ({@link accountKey}). */
  readonly initialBalances = new Map<string, bigint>();
  /** Addresses read whole by the last {@link read}. */
  frontier = 0;
  private readonly rows = new Map<string, TransferRow>();
  private readonly whole: WholeTransactions;
  private readonly histories: ScopeHistories[];
  private readonly passing: PassThrough;
  private next: Reads = { full: [], blocks: new Map() };
  private needed: AccountAt[] = [];
  /** The Uniswap V3 positions the taint reached (their assets), and those to read next. */
  private readonly positions = new Set<string>();
  private nextPositions: string[] = [];

  private constructor(
    private readonly input: LazyAssetsChain,
    /** The trace's blocks on this chain, the final ones among them. */
    readonly blocks: LazyBlocks,
  ) {
    const { rpc, db, plan } = input;
    this.chainId = plan.chainId;
    this.scopes = [
      streamId({ chainId: this.chainId, kind: "erc20", token: EVERY_TOKEN }),
      streamId({ chainId: this.chainId, kind: "native", token: "native" }),
    ];
    const [tokens, native] = [
      new AddressHistory(db, this.scopes[0] as string, EVERY_TOKEN),
      new AddressHistory(db, this.scopes[1] as string, "native"),
    ];
    this.whole = new WholeTransactions(rpc, blocks, native, db, this.chainId);
    const source = (store: AddressHistory) => {
      // ERC-20 logs and native traces: each request kind learns its own provider's limits.
      const budget = new RangeBudget(input.history?.maxRange);
      const read = (addresses: readonly string[], range: BlockRange) =>
        addressHistories(
          rpc,
          store.token,
          addresses,
          range,
          budget,
          input.history,
          this.whole.receipts,
        );
      return new ScopeHistories(store, blocks, read);
    };
    this.histories = [source(tokens), source(native)];
    this.passing = new PassThrough(input.passThrough === true, (wanted) => this.balances(wanted));
  }

  /** A chain's reader, its last final block asked of the node. */
  static async open(input: LazyAssetsChain): Promise<AssetsFrontier> {
    return new AssetsFrontier(input, await lazyBlocks(input.rpc, input.plan, input.finalityDepth));
  }

  /** Reads the seed transactions whole; the seeded addresses are read by the first round. */
  async seed(): Promise<void> {
    const { seeds } = this.input.plan;
    this.add(await this.whole.always(seeds.flatMap((s) => (s.kind === "tx" ? [s.txHash] : []))));
    this.next = {
      full: seeds.flatMap((s) => (s.kind === "balance" ? [s.address] : [])),
      blocks: new Map(),
    };
  }

  /** Transfers known (read from the store or the node, each once). */
  get transfers(): number {
    return this.rows.size;
  }

  /** Transfers read from the node (the store's are not counted). */
  get fromNode(): number {
    return this.whole.fromNode + this.histories.reduce((n, h) => n + h.fromNode, 0);
  }

  private add(list: readonly TransferRow[]): void {
    for (const r of list) {
      const key = `${r.token === "native" ? "n" : "e"}:${r.blockNumber}:${r.ordinal}`;
      if (!this.rows.has(key)) this.rows.set(key, r);
    }
  }

  /** Reads `frontier`'s histories, then whole the transactions among them that convert or bridge. */
  private async readHistories(frontier: readonly string[]): Promise<void> {
    const read = await Promise.all(this.histories.map((h) => h.of(frontier)));
    for (const list of read) this.add(list);
    for (const a of frontier) this.complete.add(a);
    const at = new Map<string, { blockNumber: number; blockTime: number }>();
    for (const r of read.flat()) at.set(r.txHash, r);
    this.add(await this.whole.examine(at));
  }

  /** Balances of accounts at the end of their blocks, in their order (read per token and block, kept). */
  private async balances(wanted: readonly AccountAt[]): Promise<bigint[]> {
    const { rpc, db } = this.input;
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
        const store = new AddressHistory(
          db,
          streamId({ chainId: this.chainId, kind, token }),
          token,
        );
        const list = [...addresses];
        const read = await storedBalances(rpc, store, token, list, this.blocks, block);
        for (const a of list) got.set(atBlock({ token, address: a, block }), read.get(a) ?? 0n);
      }),
    );
    return wanted.map((w) => got.get(atBlock(w)) ?? 0n);
  }

  /** Reads the histories of `addresses` in `block` alone (addresses taint passes through). */
  private async readBlock(block: number, addresses: readonly string[]): Promise<void> {
    const read = await Promise.all(
      this.histories.map((h) => h.of(addresses, { from: block, to: block })),
    );
    for (const list of read) this.add(list);
    const at = new Map<string, { blockNumber: number; blockTime: number }>();
    for (const r of read.flat()) at.set(r.txHash, r);
    this.add(await this.whole.examine(at));
    for (const a of addresses) this.passing.read(a, block);
  }

  /**
   * Reads whole the transactions of every event of the positions `assets` (their manager's logs
   * by token id: never the manager's nor the pool's history), so that each is followed as over the
   * streams, whoever sent them (an operator the owner approved, a collect to a third address).
   */
  private async readPositions(assets: readonly string[]): Promise<void> {
    const byManager = new Map<string, bigint[]>();
    for (const asset of assets) {
      const p = readPositionAsset(asset);
      if (p === null) continue;
      byManager.set(p.manager, [...(byManager.get(p.manager) ?? []), p.tokenId]);
    }
    const logs = (
      await Promise.all(
        [...byManager].map(([manager, ids]) => this.whole.positions.eventsOf(manager, ids)),
      )
    ).flat();
    const hashes = logs.filter((l) => l.removed !== true).map((l) => l.transactionHash);
    this.add(await this.whole.always([...new Set(hashes.map((h) => h.toLowerCase()))]));
  }

  /** Reads what the last run of the engine (or the seeds) asked for. */
  async read(): Promise<void> {
    const { next, needed, nextPositions } = this;
    this.frontier = next.full.length;
    this.next = { full: [], blocks: new Map() };
    this.needed = [];
    this.nextPositions = [];
    await Promise.all([
      next.full.length > 0 && this.readHistories(next.full),
      nextPositions.length > 0 && this.readPositions(nextPositions),
      ...[...next.blocks].map(([block, addresses]) => this.readBlock(block, addresses)),
      this.balances(needed).then((got) =>
        needed.forEach((x, i) =>
          this.initialBalances.set(accountKey(x.token, x.address), got[i] as bigint),
        ),
      ),
    ]);
  }

  /**
   * Reads the transactions `hashes` whole now, whatever their events (a bridge's release found by
   * its event), but those looked at already; returns whether any was read.
   */
  async readWhole(hashes: readonly string[]): Promise<boolean> {
    const fresh = [...new Set(hashes)].filter((h) => !this.whole.isWhole(h));
    if (fresh.length === 0) return false;
    this.add(await this.whole.always(fresh));
    return true;
  }

  /** What has been read, as the engine takes it. */
  async view(): Promise<LazyAssetsRead> {
    const { whole, initialBalances } = this;
    const positions = await whole.positionConversions();
    const moved = conversionMoves(
      [...this.rows.values()].map((r) => (r.token === "native" ? nativeMove(r) : toTransfer(r))),
      [...whole.conversions, ...positions.conversions],
    );
    // An address in a block it is read by takes part there as an address of its own, with the
    // balances it held at the end of the block before.
    const own = this.passing
      .rename(moved.transfers)
      .filter((x) => !initialBalances.has(accountKey(x.token, `${x.address}@${x.block}`)));
    const held = await this.balances(own.map((x) => ({ ...x, block: x.block - 1 })));
    own.forEach((x, i) =>
      initialBalances.set(accountKey(x.token, `${x.address}@${x.block}`), held[i] as bigint),
    );
    return {
      transfers: moved.transfers,
      skipped: [...whole.skipped, ...positions.skipped, ...moved.skipped],
      logs: whole.logs,
      initialBalances,
      complete: this.complete,
    };
  }

  /**
   * What the next round reads after `result` (the engine's run, this chain's part of it): the
   * addresses its taint reached, whole or in some blocks, and the balances it needs; returns whether
   * there is any.
   */
  async after(result: TraceResult): Promise<boolean> {
    // A crossing's transit is no address of a chain.
    const reached = {
      ...result,
      edges: result.edges.filter((e) => !isTransit(e.to)),
      holdings: result.holdings.filter((h) => !isTransit(h.address)),
    };
    this.next = await this.passing.reads(reached, this.complete);
    // The accounts taint reached of the addresses read next are read with their histories.
    const readNext = new Set([...this.complete, ...this.next.full]);
    this.needed = balancesNeeded(result, readNext, this.initialBalances).map((x) => ({
      ...x,
      block: this.blocks.fromBlock - 1,
    }));
    // A position the taint reached (its liquidity, or the tokens owed to its account) has every
    // event read: its own account is never read as an address.
    this.nextPositions = [...positionsReached(reached)].filter((p) => !this.positions.has(p));
    for (const p of this.nextPositions) this.positions.add(p);
    return (
      this.next.full.length > 0 ||
      this.next.blocks.size > 0 ||
      this.needed.length > 0 ||
      this.nextPositions.length > 0
    );
  }
}

/** The Uniswap V3 positions (their assets) among the assets and addresses taint reached. */
function positionsReached(result: TraceResult): Set<string> {
  const out = new Set<string>();
  // A position's account is never read by blocks: its name is never `ADDRESS@BLOCK`.
  const add = (name: string | undefined) => {
    if (name !== undefined && readPositionAsset(name) !== null) out.add(name);
  };
  for (const e of result.edges) for (const x of [e.token, e.out?.token, e.from, e.to]) add(x);
  for (const h of result.holdings) for (const x of [h.token, h.address]) add(x);
  return out;
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
