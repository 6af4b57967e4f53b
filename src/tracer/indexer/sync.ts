import type { DeploymentRecord } from "../../client/deployment.js";
import { TracerError } from "../errors.js";
import type { BlockHeader, Checkpoint, Store } from "../store/store.js";
import { EventDecoder, type EventRow, type RawLog } from "./decode.js";
import { RangeTooLargeError, RpcError, type RpcClient } from "./rpc.js";

/** Per-chain behaviour of the indexer. */
export interface IndexerOptions {
  /** Blocks behind the head that are not indexed yet (default 0). */
  confirmations?: number;
  /**
   * Depth from which a block can no longer be reorganized away (default 64; 0 or 1 on a BFT
   * consortium chain). Blocks within it are read one by one with their parent-hash checked.
   */
  finalityDepth?: number;
  /**
   * First eth_getLogs range size, in blocks (default 10, a probe). Ranges double while answers
   * stay small, shrink to the density seen when an answer exceeds {@link LOGS_PER_RANGE} logs,
   * and shrink on refusals.
   */
  initialRange?: number;
  /** Largest eth_getLogs range (default 100 000 blocks). */
  maxRange?: number;
  /** Where to start in an empty store (default: the deployment's start block). */
  fromBlock?: number;
  /** Progress after each written range. */
  onProgress?: (p: Progress) => void;
  /** Notable happenings: reorganizations, range changes. */
  onLog?: (entry: Record<string, unknown>) => void;
}

export interface Progress {
  /** The block the store is complete up to. */
  indexedTo: number;
  /** The block the current sync aims at. */
  target: number;
  /** Events written since this indexer started. */
  events: number;
  startBlock: number;
}

interface RpcBlock {
  number: string;
  hash: string;
  parentHash: string;
  timestamp: string;
}

const hex = (n: number) => `0x${n.toString(16)}`;

/**
 * The number of logs an eth_getLogs range aims at: small enough for providers that cap answers
 * (commonly at 10 000 logs) and to pipeline reading with writing, large enough that per-range
 * costs (a header, a transaction, a commit) stay small.
 */
export const LOGS_PER_RANGE = 5000;

/** A finalized block range read from the node and decoded, ready to be written. */
interface FetchedRange {
  /** The range's last block, whose hash becomes the checkpoint. */
  last: BlockHeader;
  events: EventRow[];
}

function header(b: RpcBlock): BlockHeader {
  return {
    number: Number(b.number),
    hash: b.hash.toLowerCase(),
    parentHash: b.parentHash.toLowerCase(),
    timestamp: Number(b.timestamp),
  };
}

/**
 * Checks that the node serves the deployment's chain and has code at every recorded address;
 * throws one clear {@link TracerError} otherwise. The first call fails fast when the node is
 * unreachable.
 */
export async function checkNode(rpc: RpcClient, deployment: DeploymentRecord): Promise<void> {
  const chainId = Number(await rpc.call<string>("eth_chainId", [], 1));
  if (chainId !== deployment.chainId) {
    throw new TracerError(
      `the node at ${rpc.url} serves chain ${chainId}, the deployment record says chain ${deployment.chainId}`,
    );
  }
  for (const [name, address] of Object.entries(deployment.contracts)) {
    const code = await rpc.call<string>("eth_getCode", [address, "latest"]);
    if (code === "0x" || code === "") {
      throw new TracerError(
        `no contract code at ${address} (${name}) on chain ${chainId}: wrong deployment record or node`,
      );
    }
  }
}

/**
 * Reads the consortium's events into the store. Historical blocks (beyond the finality depth)
 * are read with eth_getLogs over ranges that adapt to the provider and to the density of events,
 * each range read while the one before is written; recent blocks are read one by one, each one's
 * parent hash checked against the stored header, so that a reorganization is detected and
 * exactly the abandoned blocks' rows are rolled back before reading on.
 */
export class Indexer {
  private readonly decoder: EventDecoder;
  private readonly confirmations: number;
  private readonly finalityDepth: number;
  private readonly maxRange: number;
  private range: number;
  private eventsWritten = 0;
  private started = false;

  constructor(
    private readonly store: Store,
    private readonly rpc: RpcClient,
    private readonly deployment: DeploymentRecord,
    private readonly options: IndexerOptions = {},
  ) {
    this.decoder = new EventDecoder(deployment);
    this.confirmations = options.confirmations ?? 0;
    this.finalityDepth = options.finalityDepth ?? 64;
    this.range = options.initialRange ?? 10;
    this.maxRange = options.maxRange ?? 100_000;
    if (!Number.isInteger(this.confirmations) || this.confirmations < 0) {
      throw new TracerError(
        `confirmations must be a non-negative integer, got ${this.confirmations}`,
      );
    }
    if (!Number.isInteger(this.finalityDepth) || this.finalityDepth < 0) {
      throw new TracerError(
        `finality depth must be a non-negative integer, got ${this.finalityDepth}`,
      );
    }
  }

  /** Events written since this indexer started. */
  get eventCount(): number {
    return this.eventsWritten;
  }

  /**
   * Checks the node against the deployment record (chain id, contract code) and binds the store
   * to the deployment. Nothing is written if a check fails.
   */
  async start(): Promise<void> {
    if (this.started) return;
    await checkNode(this.rpc, this.deployment);
    await this.store.bindDeployment(this.deployment);
    this.started = true;
  }

  private async head(): Promise<number> {
    return Number(await this.rpc.call<string>("eth_blockNumber"));
  }

  private async blockAt(n: number): Promise<BlockHeader | null> {
    const b = await this.rpc.call<RpcBlock | null>("eth_getBlockByNumber", [hex(n), false]);
    return b === null ? null : header(b);
  }

  private async startPoint(): Promise<Checkpoint> {
    const stored = await this.store.checkpoint();
    if (stored !== null) return stored;
    const from = this.options.fromBlock ?? this.deployment.startBlock;
    // The block before the first one to read: its hash anchors the parent-hash chain.
    const before = from - 1;
    if (before < 0) return { blockNumber: -1, blockHash: "" };
    const b = await this.blockAt(before);
    if (b === null)
      throw new TracerError(`block ${before} does not exist on the node (start block ${from})`);
    return { blockNumber: before, blockHash: b.hash };
  }

  /**
   * Indexes up to the current head (less the confirmations). Returns the block the store is
   * complete up to.
   */
  async syncOnce(): Promise<number> {
    await this.start();
    let cp = await this.startPoint();
    cp = await this.checkReorg(cp);
    const head = await this.head();
    const target = head - this.confirmations;
    const finalized = head - this.finalityDepth;
    while (cp.blockNumber < target) {
      if (cp.blockNumber + 1 <= finalized) {
        // Historical ranges (they report their progress range by range).
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
      this.progress(cp, target);
    }
    return cp.blockNumber;
  }

  private progress(cp: Checkpoint, target: number): void {
    this.options.onProgress?.({
      indexedTo: cp.blockNumber,
      target,
      events: this.eventsWritten,
      startBlock: this.deployment.startBlock,
    });
  }

  /**
   * Verifies that the checkpoint block is still on the canonical chain; if not, walks back over
   * the stored headers to the newest one that is, rolls back to it, and returns it.
   */
  private async checkReorg(cp: Checkpoint, known = false): Promise<Checkpoint> {
    if (cp.blockNumber < 0) return cp;
    if (!known) {
      const onChain = await this.blockAt(cp.blockNumber);
      if (onChain !== null && onChain.hash === cp.blockHash) return cp;
    }
    const candidates = await this.store.blocksDescending(cp.blockNumber, this.finalityDepth + 2);
    for (const stored of candidates) {
      const onChain = await this.blockAt(stored.number);
      if (onChain !== null && onChain.hash === stored.hash) {
        const fork = { blockNumber: stored.number, blockHash: stored.hash };
        const removed = await this.store.rollbackTo(fork);
        this.options.onLog?.({
          msg: "reorganization",
          from: cp.blockNumber,
          fork: stored.number,
          eventsRemoved: removed,
        });
        return fork;
      }
    }
    throw new TracerError(
      `reorganization deeper than the finality depth (${this.finalityDepth}) below block ${cp.blockNumber}: ` +
        `re-index into an empty store, or raise the finality depth`,
    );
  }

  /**
   * Reads finalized blocks (cp+1 ..≤ to) with eth_getLogs, range after range, each range written
   * in one transaction with its checkpoint. The next range is read and decoded while the current
   * one is written: one range ahead, and never left running when this returns or throws.
   */
  private async syncRanges(
    cp: Checkpoint,
    to: number,
    head: number,
    target: number,
  ): Promise<Checkpoint> {
    const ahead = (from: number): Promise<FetchedRange> => {
      const read = this.fetchRange(from, to, head);
      // Handled where it is awaited; this only keeps an abandoned read from being "unhandled".
      read.catch(() => undefined);
      return read;
    };
    let next: Promise<FetchedRange> | null = ahead(cp.blockNumber + 1);
    while (next !== null) {
      const range: FetchedRange = await next;
      const end = range.last.number;
      next = end < to ? ahead(end + 1) : null;
      try {
        await this.store.writeRange({
          events: range.events,
          blocks: [range.last],
          checkpoint: { blockNumber: end, blockHash: range.last.hash },
          pruneBelow: head - this.finalityDepth,
        });
        this.eventsWritten += range.events.length;
        cp = { blockNumber: end, blockHash: range.last.hash };
        this.progress(cp, target);
      } catch (error) {
        await next?.catch(() => undefined);
        throw error;
      }
    }
    return cp;
  }

  /** Reads and decodes finalized blocks from..≤ to: one eth_getLogs range, adapting its size. */
  private async fetchRange(from: number, to: number, head: number): Promise<FetchedRange> {
    let end = Math.min(to, from + this.range - 1);
    let logs: RawLog[];
    for (;;) {
      try {
        logs = await this.rpc.call<RawLog[]>("eth_getLogs", [
          { address: this.decoder.addresses, fromBlock: hex(from), toBlock: hex(end) },
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
          throw new TracerError(
            `eth_getLogs refuses even a single block (${from}): ${error.message}`,
          );
        this.range = size;
        end = from + size - 1;
        this.options.onLog?.({ msg: "range shrunk", from, blocks: size });
      }
    }
    this.adaptRange(end - from + 1, logs.length);
    const last = await this.blockAt(end);
    if (last === null) throw new TracerError(`block ${end} vanished while indexing (head ${head})`);
    const events = await this.decodeAll(logs, new Map([[end, last.timestamp]]));
    return { last, events };
  }

  /**
   * Sizes the next range after an answer of `logs` logs over `blocks` blocks: down to the density
   * seen when the answer was large, double after a full-size range with a small answer.
   * (Providers that cap answers make it shrink again, on their refusals.)
   */
  private adaptRange(blocks: number, logs: number): void {
    if (logs > LOGS_PER_RANGE) {
      this.range = Math.max(1, Math.floor((blocks * LOGS_PER_RANGE) / logs));
    } else if (blocks === this.range && logs < LOGS_PER_RANGE / 2) {
      this.range = Math.min(this.maxRange, this.range * 2);
    }
  }

  /**
   * Reads one unfinalized block: its header (parent hash checked against the checkpoint) and its
   * logs by block hash. Returns null when the parent hash does not match (a reorganization).
   */
  private async syncBlock(cp: Checkpoint, head: number): Promise<Checkpoint | null> {
    const n = cp.blockNumber + 1;
    const b = await this.blockAt(n);
    if (b === null) return null;
    if (cp.blockNumber >= 0 && b.parentHash !== cp.blockHash) return null;
    let logs: RawLog[];
    try {
      logs = await this.rpc.call<RawLog[]>("eth_getLogs", [
        { address: this.decoder.addresses, blockHash: b.hash },
      ]);
    } catch (error) {
      // The node no longer knows the block ("unknown block"): it was abandoned between its
      // header and its logs. A reorganization, not a failure.
      if (error instanceof RpcError && (await this.blockAt(n))?.hash !== b.hash) return null;
      throw error;
    }
    const events = await this.decodeAll(logs, new Map([[n, b.timestamp]]));
    await this.store.writeRange({
      events,
      blocks: [b],
      checkpoint: { blockNumber: n, blockHash: b.hash },
      pruneBelow: head - this.finalityDepth,
    });
    this.eventsWritten += events.length;
    return { blockNumber: n, blockHash: b.hash };
  }

  /** Decodes logs in chain order, fetching the timestamps the logs don't carry. */
  private async decodeAll(
    logs: readonly RawLog[],
    known: Map<number, number>,
  ): Promise<EventRow[]> {
    const times = new Map(known);
    const missing = new Set<number>();
    for (const log of logs) {
      if (log.removed === true) continue;
      const n = Number(log.blockNumber);
      if (log.blockTimestamp !== undefined) times.set(n, Number(log.blockTimestamp));
      else if (!times.has(n)) missing.add(n);
    }
    if (missing.size > 0) {
      const numbers = [...missing];
      for (let i = 0; i < numbers.length; i += 500) {
        const chunk = numbers.slice(i, i + 500);
        const blocks = await this.rpc.batch<RpcBlock | null>(
          chunk.map((n) => ({ method: "eth_getBlockByNumber", params: [hex(n), false] })),
        );
        blocks.forEach((b, j) => {
          if (b === null) throw new TracerError(`block ${chunk[j]} vanished while indexing`);
          times.set(Number(b.number), Number(b.timestamp));
        });
      }
    }
    const rows: EventRow[] = [];
    for (const log of logs) {
      if (log.removed === true) continue;
      const row = this.decoder.decode(log, times.get(Number(log.blockNumber)) ?? 0);
      if (row !== null) rows.push(row);
    }
    rows.sort((a, b) => a.blockNumber - b.blockNumber || a.logIndex - b.logIndex);
    return rows;
  }
}
