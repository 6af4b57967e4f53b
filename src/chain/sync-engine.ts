import {
  ConflictError,
  InvalidInputError,
  NotFoundError,
  UnavailableError,
} from "../shared/errors.js";
import type { BlockHeader, Checkpoint } from "../db/header-chain.js";
import { RangeTooLargeError, RpcError, type RawLog, type RpcClient } from "./rpc.js";

/**
 * The sync engine shared by every stream the tracer reads (the consortium's events, a token's
 * transfers, native value transfers): checkpoints, ranges, one transaction per range with its
 * checkpoint, and reorganization handling. A stream supplies a reader (what to fetch) and a sink
 * (where rows go).
 */

/** Where a stream's rows go: the narrow interface between the engine and a store. */
export interface SyncSink<Row> {
  checkpoint(): Promise<Checkpoint | null>;
  /** Stored headers at or below `from`, newest first. */
  blocksDescending(from: number, limit: number): Promise<BlockHeader[]>;
  /** Writes rows, headers and the checkpoint in one transaction; prunes headers below pruneBelow. */
  writeRange(w: {
    rows: readonly Row[];
    blocks: readonly BlockHeader[];
    checkpoint: Checkpoint;
    pruneBelow: number;
  }): Promise<void>;
  /** Deletes exactly the rows above the fork, in one transaction; returns how many. */
  rollbackTo(fork: Checkpoint): Promise<number>;
}

/** What a stream reads from the node. */
export interface SyncReader<Row> {
  /**
   * Reads finalized blocks from `from` up to at most `to` (a reader may stop earlier, e.g. to
   * keep a range small); returns the rows and the header of the last block read.
   */
  readRange(from: number, to: number, head: number): Promise<{ rows: Row[]; last: BlockHeader }>;
  /** Reads one unfinalized block whose header is known; null when the node no longer has it. */
  readBlock(header: BlockHeader): Promise<Row[] | null>;
}

export interface EngineOptions {
  /** Blocks behind the head that are not read yet (default 0). */
  confirmations?: number;
  /** Depth from which a block can no longer be reorganized away (default 64). */
  finalityDepth?: number;
  /** Where to start in an empty sink. */
  fromBlock: number;
  /** After each written range or block: the block the sink is complete up to, and the target. */
  onProgress?: (p: { indexedTo: number; target: number; rows: number }) => void;
  /** Notable happenings: reorganizations, range changes. */
  onLog?: (entry: Record<string, unknown>) => void;
}

interface RpcBlock {
  number: string;
  hash: string;
  parentHash: string;
  timestamp: string;
}

export const hex = (n: number): string => `0x${n.toString(16)}`;

export function header(b: RpcBlock): BlockHeader {
  return {
    number: Number(b.number),
    hash: b.hash.toLowerCase(),
    parentHash: b.parentHash.toLowerCase(),
    timestamp: Number(b.timestamp),
  };
}

/** A block's header, or null if the node doesn't have it. */
export async function blockAt(rpc: RpcClient, n: number): Promise<BlockHeader | null> {
  const b = await rpc.call<RpcBlock | null>("eth_getBlockByNumber", [hex(n), false]);
  return b === null ? null : header(b);
}

/**
 * Drives one stream: historical blocks (beyond the finality depth) range by range, each range
 * read while the one before is written; recent blocks one by one, each one's parent hash checked
 * against the stored header, so that a reorganization is detected and exactly the abandoned
 * blocks' rows are rolled back before reading on.
 */
export class SyncEngine<Row> {
  private readonly confirmations: number;
  readonly finalityDepth: number;
  private written = 0;

  constructor(
    private readonly rpc: RpcClient,
    private readonly reader: SyncReader<Row>,
    private readonly sink: SyncSink<Row>,
    private readonly options: EngineOptions,
  ) {
    this.confirmations = options.confirmations ?? 0;
    this.finalityDepth = options.finalityDepth ?? 64;
    if (!Number.isInteger(this.confirmations) || this.confirmations < 0) {
      throw new InvalidInputError(
        `confirmations must be a non-negative integer, got ${this.confirmations}`,
      );
    }
    if (!Number.isInteger(this.finalityDepth) || this.finalityDepth < 0) {
      throw new InvalidInputError(
        `finality depth must be a non-negative integer, got ${this.finalityDepth}`,
      );
    }
  }

  /** Rows written since this engine started. */
  get rowCount(): number {
    return this.written;
  }

  private async startPoint(): Promise<Checkpoint> {
    const stored = await this.sink.checkpoint();
    if (stored !== null) return stored;
    const from = this.options.fromBlock;
    // The block before the first one to read: its hash anchors the parent-hash chain.
    const before = from - 1;
    if (before < 0) return { blockNumber: -1, blockHash: "" };
    const b = await blockAt(this.rpc, before);
    if (b === null)
      throw new NotFoundError(`block ${before} does not exist on the node (start block ${from})`);
    return { blockNumber: before, blockHash: b.hash };
  }

  /** Syncs up to the head less the confirmations, or `upTo` if lower; returns the block the sink is complete up to. */
  async syncOnce(upTo?: number): Promise<number> {
    let cp = await this.startPoint();
    cp = await this.checkReorg(cp);
    const head = Number(await this.rpc.call<string>("eth_blockNumber"));
    const target = Math.min(head - this.confirmations, upTo ?? Number.MAX_SAFE_INTEGER);
    const finalized = head - this.finalityDepth;
    while (cp.blockNumber < target) {
      if (cp.blockNumber + 1 <= finalized) {
        cp = await this.syncRanges(cp, Math.min(target, finalized), head, target);
        continue;
      }
      const next = await this.syncBlock(cp, head);
      if (next === null) {
        // The parent hash did not match, or the block is gone: a reorganization. Roll back to
        // the fork and read on; if nothing was abandoned the head moved back: start over.
        const fork = await this.checkReorg(cp, true);
        if (fork.blockNumber === cp.blockNumber) return cp.blockNumber;
        cp = fork;
        continue;
      }
      cp = next;
      this.options.onProgress?.({ indexedTo: cp.blockNumber, target, rows: this.written });
    }
    return cp.blockNumber;
  }

  /**
   * Verifies that the checkpoint block is still on the canonical chain; if not, walks back over
   * the stored headers to the newest one that is, rolls back to it, and returns it.
   */
  private async checkReorg(cp: Checkpoint, known = false): Promise<Checkpoint> {
    if (cp.blockNumber < 0) return cp;
    if (!known) {
      const onChain = await blockAt(this.rpc, cp.blockNumber);
      if (onChain !== null && onChain.hash === cp.blockHash) return cp;
    }
    const candidates = await this.sink.blocksDescending(cp.blockNumber, this.finalityDepth + 2);
    for (const stored of candidates) {
      const onChain = await blockAt(this.rpc, stored.number);
      if (onChain !== null && onChain.hash === stored.hash) {
        const fork = { blockNumber: stored.number, blockHash: stored.hash };
        const removed = await this.sink.rollbackTo(fork);
        this.options.onLog?.({
          msg: "reorganization",
          from: cp.blockNumber,
          fork: stored.number,
          eventsRemoved: removed,
        });
        return fork;
      }
    }
    // The store keeps only the headers of the last finalityDepth + 2 blocks (older ones are
    // pruned), so the fork point can't be found, and a larger --finality can't bring them back.
    const oldest = candidates.at(-1)?.number ?? cp.blockNumber;
    throw new ConflictError(
      `reorganization deeper than the finality depth (${this.finalityDepth}) below block ${cp.blockNumber}: ` +
        `none of the block hashes the store keeps (blocks ${oldest}–${cp.blockNumber}) is on the node's chain, ` +
        `so the fork point can't be found; re-index into an empty store (a new --db, or this one deleted), ` +
        `with a larger --finality if this chain reorganizes that deep`,
    );
  }

  /**
   * Reads finalized blocks (cp+1 ..≤ to) range after range, each range written in one
   * transaction with its checkpoint. The next range is read while the current one is written:
   * one range ahead, and never left running when this returns or throws.
   */
  private async syncRanges(
    cp: Checkpoint,
    to: number,
    head: number,
    target: number,
  ): Promise<Checkpoint> {
    const ahead = (from: number) => {
      const read = this.reader.readRange(from, to, head);
      // Handled where it is awaited; this only keeps an abandoned read from being "unhandled".
      read.catch(() => undefined);
      return read;
    };
    let next: Promise<{ rows: Row[]; last: BlockHeader }> | null = ahead(cp.blockNumber + 1);
    while (next !== null) {
      const range: { rows: Row[]; last: BlockHeader } = await next;
      const end = range.last.number;
      next = end < to ? ahead(end + 1) : null;
      try {
        await this.sink.writeRange({
          rows: range.rows,
          blocks: [range.last],
          checkpoint: { blockNumber: end, blockHash: range.last.hash },
          pruneBelow: head - this.finalityDepth,
        });
        this.written += range.rows.length;
        cp = { blockNumber: end, blockHash: range.last.hash };
        this.options.onProgress?.({ indexedTo: end, target, rows: this.written });
      } catch (error) {
        await next?.catch(() => undefined);
        throw error;
      }
    }
    return cp;
  }

  /**
   * Reads one unfinalized block: its header (parent hash checked against the checkpoint) and its
   * rows. Returns null when the parent hash does not match or the block vanished (a reorganization).
   */
  private async syncBlock(cp: Checkpoint, head: number): Promise<Checkpoint | null> {
    const n = cp.blockNumber + 1;
    const b = await blockAt(this.rpc, n);
    if (b === null) return null;
    if (cp.blockNumber >= 0 && b.parentHash !== cp.blockHash) return null;
    const rows = await this.reader.readBlock(b);
    if (rows === null) return null;
    await this.sink.writeRange({
      rows,
      blocks: [b],
      checkpoint: { blockNumber: n, blockHash: b.hash },
      pruneBelow: head - this.finalityDepth,
    });
    this.written += rows.length;
    return { blockNumber: n, blockHash: b.hash };
  }
}

/**
 * The number of logs an eth_getLogs range aims at: small enough for providers that cap answers
 * (commonly at 10 000 logs) and to pipeline reading with writing, large enough that per-range
 * costs (a header, a transaction, a commit) stay small.
 */
export const LOGS_PER_RANGE = 5000;

export interface LogReaderOptions<Row> {
  /** Contract addresses to read logs of (undefined: every contract). */
  addresses?: string[];
  /** Topic filter (e.g. [topic0]). */
  topics?: (string | null)[];
  /** Turns logs into rows; `times` holds the timestamps of blocks the logs don't carry. */
  decode(logs: readonly RawLog[], times: ReadonlyMap<number, number>): Row[];
  /** First range size, in blocks (default 10, a probe). */
  initialRange?: number;
  /** Largest range (default 100 000 blocks). */
  maxRange?: number;
  onLog?: (entry: Record<string, unknown>) => void;
}

/**
 * Reads a stream from eth_getLogs: ranges that double while answers stay small, shrink to the
 * density seen when an answer exceeds {@link LOGS_PER_RANGE} logs, and shrink (to the range the
 * provider suggests, if it does) when the provider refuses them.
 */
export class LogReader<Row> implements SyncReader<Row> {
  private range: number;
  private readonly maxRange: number;

  constructor(
    private readonly rpc: RpcClient,
    private readonly options: LogReaderOptions<Row>,
  ) {
    this.range = options.initialRange ?? 10;
    this.maxRange = options.maxRange ?? 100_000;
  }

  private filter(): Record<string, unknown> {
    const f: Record<string, unknown> = {};
    if (this.options.addresses !== undefined) f["address"] = this.options.addresses;
    if (this.options.topics !== undefined) f["topics"] = this.options.topics;
    return f;
  }

  async readRange(
    from: number,
    to: number,
    head: number,
  ): Promise<{ rows: Row[]; last: BlockHeader }> {
    let end = Math.min(to, from + this.range - 1);
    let logs: RawLog[];
    for (;;) {
      try {
        logs = await this.rpc.call<RawLog[]>("eth_getLogs", [
          { ...this.filter(), fromBlock: hex(from), toBlock: hex(end) },
        ]);
        break;
      } catch (error) {
        if (!(error instanceof RangeTooLargeError)) throw error;
        const suggested = error.suggested;
        const size =
          suggested !== undefined && suggested.from === from && suggested.to < end
            ? suggested.to - from + 1
            : Math.max(1, Math.floor((end - from + 1) / 2));
        if (end === from)
          throw new UnavailableError(
            `eth_getLogs refuses even a single block (${from}): ${error.message}`,
          );
        this.range = size;
        end = from + size - 1;
        this.options.onLog?.({ msg: "range shrunk", from, blocks: size });
      }
    }
    this.adaptRange(end - from + 1, logs.length);
    const last = await blockAt(this.rpc, end);
    if (last === null)
      throw new UnavailableError(`block ${end} vanished while indexing (head ${head})`);
    const times = await blockTimes(this.rpc, logs, new Map([[end, last.timestamp]]));
    return { rows: this.options.decode(logs, times), last };
  }

  /**
   * Sizes the next range after an answer of `logs` logs over `blocks` blocks: down to the density
   * seen when the answer was large, double after a full-size range with a small answer.
   */
  private adaptRange(blocks: number, logs: number): void {
    if (logs > LOGS_PER_RANGE) {
      this.range = Math.max(1, Math.floor((blocks * LOGS_PER_RANGE) / logs));
    } else if (blocks === this.range && logs < LOGS_PER_RANGE / 2) {
      this.range = Math.min(this.maxRange, this.range * 2);
    }
  }

  async readBlock(b: BlockHeader): Promise<Row[] | null> {
    let logs: RawLog[];
    try {
      logs = await this.rpc.call<RawLog[]>("eth_getLogs", [
        { ...this.filter(), blockHash: b.hash },
      ]);
    } catch (error) {
      // The node no longer knows the block ("unknown block"): it was abandoned between its
      // header and its logs. A reorganization, not a failure.
      if (error instanceof RpcError && (await blockAt(this.rpc, b.number))?.hash !== b.hash)
        return null;
      throw error;
    }
    return this.options.decode(logs, new Map([[b.number, b.timestamp]]));
  }
}

/** Timestamps of the blocks of `logs` that don't carry one (fetched in batches), merged with `known`. */
export async function blockTimes(
  rpc: RpcClient,
  logs: readonly RawLog[],
  known: ReadonlyMap<number, number>,
): Promise<Map<number, number>> {
  const times = new Map(known);
  const missing = new Set<number>();
  for (const log of logs) {
    if (log.removed === true) continue;
    const n = Number(log.blockNumber);
    if (log.blockTimestamp !== undefined) times.set(n, Number(log.blockTimestamp));
    else if (!times.has(n)) missing.add(n);
  }
  const numbers = [...missing];
  for (let i = 0; i < numbers.length; i += 500) {
    const chunk = numbers.slice(i, i + 500);
    const blocks = await rpc.batch<RpcBlock | null>(
      chunk.map((n) => ({ method: "eth_getBlockByNumber", params: [hex(n), false] })),
    );
    blocks.forEach((b, j) => {
      if (b === null) throw new UnavailableError(`block ${chunk[j]} vanished while indexing`);
      times.set(Number(b.number), Number(b.timestamp));
    });
  }
  return times;
}
