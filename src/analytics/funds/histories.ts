/**
 * Reading the transfer histories of a set of addresses from a node, without reading the chain:
 * ERC-20 transfers by eth_getLogs with the addresses as topics (many addresses per request, block
 * ranges that adapt to what the provider refuses), native value by trace_filter (Erigon, Reth,
 * anvil) with every transaction it names rebuilt from trace_transaction and its receipt, as the
 * block-by-block reader (transfers.ts) reads it. The lazy trace (lazy.ts) reads what it needs
 * through this.
 */
import { UnavailableError } from "../../shared/errors.js";
import { RangeTooLargeError, RpcError, type RawLog, type RpcClient } from "../../chain/rpc.js";
import { blockTimes, hex } from "../../chain/sync-engine.js";
import { FEE_SINK, type TransferRow } from "../../db/streams.js";
import { EVERY_TOKEN, type BlockRange } from "../../db/address-history.js";
import { decodeErc20Transfers, TRANSFER_TOPIC } from "../transfers.js";

export interface HistoryOptions {
  /** Addresses per request (each a topic or trace_filter address; default 500). */
  batch?: number;
  /** Requests in flight at once (default 8). */
  concurrency?: number;
  /** Largest block range asked in one request (default 1 000 000: the provider says less). */
  maxRange?: number;
}

/** A topic of an indexed address: the address left-padded to 32 bytes. */
const addressTopic = (a: string) => `0x${a.slice(2).padStart(64, "0")}`;

/**
 * The block range a provider allows per request, as it learns it: it starts wide, narrows to what
 * a refusal says (the provider's suggested range, its stated limit, else half), and widens again
 * after answers far below the result limits, never back to a width refused.
 */
export class RangeBudget {
  blocks: number;
  private refused = Number.POSITIVE_INFINITY;

  constructor(readonly max = 1_000_000) {
    this.blocks = max;
  }

  /** The width to retry a refused range [from, to] with. */
  narrow(range: BlockRange, error: RpcError): number {
    const width = range.to - range.from + 1;
    const suggested = error instanceof RangeTooLargeError ? error.suggested : undefined;
    const stated = /limited to a ([\d,]+) (block )?range|max(imum)? block range:? ([\d,]+)/i.exec(
      error.message,
    );
    const limit = stated === null ? NaN : Number((stated[1] ?? stated[4] ?? "").replace(/,/g, ""));
    let next: number;
    if (suggested !== undefined && suggested.from === range.from && suggested.to < range.to)
      next = suggested.to - range.from + 1;
    else if (Number.isSafeInteger(limit) && limit > 0 && limit < width) {
      next = limit;
      this.refused = Math.min(this.refused, limit + 1);
    } else next = Math.max(1, Math.floor(width / 2));
    // A refusal by result count says nothing of other ranges' density: only a stated limit and a
    // refusal without a suggestion bound the width for good.
    if (suggested === undefined) this.refused = Math.min(this.refused, width);
    this.blocks = Math.min(this.blocks, next);
    return next;
  }

  /** After an answer of `results` over `width` blocks: widen when far below the limits. */
  answered(width: number, results: number): void {
    if (width >= this.blocks && results < 2500)
      this.blocks = Math.min(this.max, this.refused - 1, this.blocks * 2);
  }
}

/** Whether a node's error says a request was too large (range or results) rather than wrong. */
function tooLarge(error: unknown): error is RpcError {
  return (
    error instanceof RangeTooLargeError ||
    (error instanceof RpcError &&
      /too (many|large|wide|big)|block range|more than \d+|limit(ed)? |exceed/i.test(error.message))
  );
}

/** One kind of request over a block range: the same filter asked of piece after piece. */
type Ask<T> = (piece: BlockRange) => Promise<T[]>;

/**
 * Runs every `ask` over `range` in pieces no wider than the budget, `concurrency` requests at once
 * in all; a piece refused as too large is split as the budget learns and asked again.
 */
async function overRange<T>(
  asks: readonly Ask<T>[],
  range: BlockRange,
  budget: RangeBudget,
  concurrency: number,
): Promise<T[]> {
  const queue: { ask: Ask<T>; piece: BlockRange }[] = [];
  const split = (ask: Ask<T>, r: BlockRange, width: number) => {
    for (let from = r.from; from <= r.to; from += width)
      queue.push({ ask, piece: { from, to: Math.min(r.to, from + width - 1) } });
  };
  for (const ask of asks) split(ask, range, budget.blocks);
  const out: T[] = [];
  const worker = async () => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) {
      const { ask, piece } = item;
      try {
        const got = await ask(piece);
        budget.answered(piece.to - piece.from + 1, got.length);
        for (const x of got) out.push(x);
      } catch (error) {
        if (!tooLarge(error)) throw error;
        if (piece.to === piece.from)
          throw new UnavailableError(
            `the node refuses even a single block (${piece.from}): ${error.message}`,
          );
        split(ask, piece, budget.narrow(piece, error));
      }
    }
  };
  // A worker that finds the queue empty while another splits a piece stops early: run workers
  // again until the queue stays empty.
  while (queue.length > 0)
    await Promise.all(Array.from({ length: Math.min(concurrency, queue.length) }, worker));
  return out;
}

/**
 * The logs of one eth_getLogs filter (contracts and topics) over `range`, in pieces no wider than
 * the budget ({@link overRange}): a bridge's release events, found by their topics.
 */
export function filteredLogs(
  rpc: RpcClient,
  filter: { address: readonly string[]; topics: readonly (string | readonly string[] | null)[] },
  range: BlockRange,
  budget: RangeBudget,
): Promise<RawLog[]> {
  const ask: Ask<RawLog> = (piece) =>
    rpc.call<RawLog[]>("eth_getLogs", [
      {
        address: filter.address,
        topics: filter.topics,
        fromBlock: hex(piece.from),
        toBlock: hex(piece.to),
      },
    ]);
  return overRange([ask], range, budget, 1);
}

/** `list` in pieces of at most `size`. */
function chunks<T>(list: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}

/** Runs `each` over `list` in pieces of `size`, `concurrency` pieces at once; the results in order. */
async function inPieces<T, R>(
  list: readonly T[],
  size: number,
  concurrency: number,
  each: (piece: T[]) => Promise<R[]>,
): Promise<R[]> {
  const pieces = chunks(list, size);
  const out: R[][] = [];
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < pieces.length; i = next++) out[i] = await each(pieces[i] as T[]);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, pieces.length) }, worker));
  return out.flat();
}

/** One request about a batch of addresses as senders or as receivers, over a block range. */
type SideAsk<T> = (
  group: readonly string[],
  side: "from" | "to",
  piece: BlockRange,
) => Promise<T[]>;

/** Runs a {@link SideAsk} for every batch and side of a read's addresses, over its range. */
type Sides = <T>(ask: SideAsk<T>) => Promise<T[]>;

/**
 * The transfers of `token` (an ERC-20 address, {@link EVERY_TOKEN} for every ERC-20 token, or
 * "native") sent or received by any of `addresses` within `range`, each once: `batch` addresses
 * per request, as senders and as receivers (a balance needs its inflows too), over the range in
 * pieces no wider than the budget ({@link overRange}). The receipts read on the way (native
 * histories read each transaction whole) are added to `receipts`, by transaction, if given.
 */
export async function addressHistories(
  rpc: RpcClient,
  token: string,
  addresses: readonly string[],
  range: BlockRange,
  budget: RangeBudget,
  options: HistoryOptions = {},
  receipts?: Map<string, RawLog[]>,
): Promise<TransferRow[]> {
  const sides: Sides = <T>(ask: SideAsk<T>) => {
    const asks: Ask<T>[] = [];
    for (const group of chunks(addresses, options.batch ?? 500))
      for (const side of ["from", "to"] as const) asks.push((piece) => ask(group, side, piece));
    return overRange(asks, range, budget, options.concurrency ?? 8);
  };
  return token === "native"
    ? nativeHistories(rpc, sides, receipts)
    : erc20Histories(rpc, token, sides);
}

/**
 * ERC-20 histories: eth_getLogs with the addresses as the sender topic, then the receiver's; of
 * one token's contract, or of any contract for {@link EVERY_TOKEN}.
 */
async function erc20Histories(rpc: RpcClient, token: string, sides: Sides): Promise<TransferRow[]> {
  const got = await sides((group, side, piece) => {
    const topics = group.map(addressTopic);
    return rpc.call<RawLog[]>("eth_getLogs", [
      {
        ...(token === EVERY_TOKEN ? {} : { address: token }),
        topics: side === "from" ? [TRANSFER_TOPIC, topics] : [TRANSFER_TOPIC, null, topics],
        fromBlock: hex(piece.from),
        toBlock: hex(piece.to),
      },
    ]);
  });
  const logs = new Map<string, RawLog>();
  for (const log of got) logs.set(`${Number(log.blockNumber)}:${Number(log.logIndex)}`, log);
  const all = [...logs.values()];
  return decodeErc20Transfers(all, await blockTimes(rpc, all, new Map()));
}

/** A trace of trace_filter / trace_transaction (OpenEthereum's format, as Erigon, Reth, anvil give it). */
interface ParityTrace {
  type: string;
  action: {
    from?: string;
    to?: string;
    value?: string;
    callType?: string;
    address?: string;
    refundAddress?: string;
    balance?: string;
  };
  result?: { address?: string } | null;
  error?: string;
  traceAddress: number[];
  transactionHash?: string;
  transactionPosition?: number;
  blockNumber: number | string;
}

interface Receipt {
  logs?: RawLog[];
  status?: string;
  gasUsed: string;
  effectiveGasPrice?: string;
  from: string;
  to?: string | null;
  contractAddress?: string | null;
  transactionIndex: string;
  blockNumber: string;
}

/** Ordinals of a native transaction's transfers: its index in the block, then its own order. */
export const NATIVE_ORDINALS_PER_TX = 100_000;

/** What is said when a node can't give native histories: one line, with what to do instead. */
export const NO_TRACE_FILTER =
  "the node does not serve trace_filter, which a lazy trace of the native coin or of every asset " +
  "needs (Erigon, Reth and anvil have it): trace with the whole streams read instead (read: stream)";

function unsupported(error: unknown): boolean {
  return (
    error instanceof RpcError &&
    (error.code === -32601 ||
      error.code === -32004 ||
      /not (supported|available|found)|unknown method|does not exist|not implemented/i.test(
        error.message,
      ))
  );
}

/**
 * A transaction's native value movements, as transfers.ts's readNativeBlock reads them: its value
 * if it succeeded, its internal value transfers (frames that neither failed nor sit below one
 * that failed), its fee to {@link FEE_SINK}.
 */
export function nativeTransfersOf(
  txHash: string,
  traces: readonly ParityTrace[],
  receipt: Receipt,
  blockTime: number,
): TransferRow[] {
  const blockNumber = Number(receipt.blockNumber);
  const txIndex = Number(receipt.transactionIndex);
  const base = { blockNumber, txIndex, txHash, token: "native", blockTime };
  const rows: TransferRow[] = [];
  let k = txIndex * NATIVE_ORDINALS_PER_TX;
  const ok = receipt.status === undefined || Number(receipt.status) === 1;
  const sorted = [...traces].sort((a, b) => {
    const x = a.traceAddress;
    const y = b.traceAddress;
    for (let i = 0; i < Math.min(x.length, y.length); i++)
      if (x[i] !== y[i]) return (x[i] as number) - (y[i] as number);
    return x.length - y.length;
  });
  const failed = new Set<string>();
  for (const t of sorted) {
    const path = t.traceAddress.join(",");
    const below = t.traceAddress.some((_, i) => failed.has(t.traceAddress.slice(0, i).join(",")));
    if (t.error !== undefined || below) {
      failed.add(path);
      continue;
    }
    if (!ok) continue;
    let from = t.action.from;
    let to = t.action.to ?? t.result?.address ?? undefined;
    let value = t.action.value;
    if (t.type === "suicide" || t.type === "selfdestruct") {
      from = t.action.address;
      to = t.action.refundAddress;
      value = t.action.balance;
    } else if (t.type === "call" && (t.action.callType ?? "call") !== "call") continue;
    else if (t.type === "reward") continue;
    const amount = BigInt(value ?? "0x0");
    if (amount === 0n || from === undefined || to === undefined) continue;
    const kind = t.traceAddress.length === 0 ? "value" : "internal";
    rows.push({
      ...base,
      ordinal: k++,
      from: from.toLowerCase(),
      to: to.toLowerCase(),
      amount,
      kind,
    });
  }
  const fee = BigInt(receipt.gasUsed) * BigInt(receipt.effectiveGasPrice ?? "0x0");
  if (fee > 0n)
    rows.push({
      ...base,
      ordinal: k++,
      from: receipt.from.toLowerCase(),
      to: FEE_SINK,
      amount: fee,
      kind: "fee",
    });
  return rows;
}

/** Timestamps of `blocks` (a batch of headers per 500). */
async function timesOf(rpc: RpcClient, blocks: Iterable<number>): Promise<Map<number, number>> {
  // blockTimes reads only the block numbers of the logs it is given.
  const stubs = [...blocks].map((n) => ({ blockNumber: hex(n) }) as RawLog);
  return blockTimes(rpc, stubs, new Map());
}

/** A transaction read whole: its receipt's logs and its native value movements. */
export interface WholeTransaction {
  txHash: string;
  blockNumber: number;
  blockTime: number;
  logs: RawLog[];
  native: TransferRow[];
}

/**
 * The transactions `hashes` read whole (a trace_transaction and a receipt each, 100 per batch,
 * `concurrency` batches in flight).
 */
export async function wholeTransactions(
  rpc: RpcClient,
  hashes: readonly string[],
  concurrency = 8,
): Promise<WholeTransaction[]> {
  return inPieces(hashes, 100, concurrency, async (group) => {
    const out: WholeTransaction[] = [];
    const answers = await rpc
      .batch<unknown>(
        group.flatMap((h) => [
          { method: "trace_transaction", params: [h] },
          { method: "eth_getTransactionReceipt", params: [h] },
        ]),
      )
      .catch((error: unknown) => {
        throw unsupported(error) ? new UnavailableError(NO_TRACE_FILTER) : error;
      });
    const receipts = group.map((_, i) => answers[2 * i + 1] as Receipt | null);
    const times = await timesOf(
      rpc,
      new Set(receipts.flatMap((r) => (r === null ? [] : [Number(r.blockNumber)]))),
    );
    group.forEach((h, i) => {
      const receipt = receipts[i];
      const traces = answers[2 * i] as ParityTrace[] | null;
      if (receipt === null || receipt === undefined || traces === null)
        throw new UnavailableError(`the node has no trace or receipt of transaction ${h}`);
      const blockNumber = Number(receipt.blockNumber);
      const blockTime = times.get(blockNumber) ?? 0;
      const native = nativeTransfersOf(h, traces, receipt, blockTime);
      out.push({ txHash: h, blockNumber, blockTime, logs: receipt.logs ?? [], native });
    });
    return out;
  });
}

/** Every native value movement of the transactions `hashes` (each a trace_transaction and a receipt). */
export async function nativeTransactions(
  rpc: RpcClient,
  hashes: readonly string[],
): Promise<TransferRow[]> {
  return (await wholeTransactions(rpc, hashes)).flatMap((t) => t.native);
}

/**
 * The logs of the receipts of `hashes` (100 per batch, `concurrency` batches in flight), by
 * transaction; a receipt the node lacks is an error.
 */
export async function receiptLogs(
  rpc: RpcClient,
  hashes: readonly string[],
  concurrency = 8,
): Promise<Map<string, RawLog[]>> {
  const read = await inPieces(hashes, 100, concurrency, async (group) => {
    const receipts = await rpc.batch<Receipt | null>(
      group.map((h) => ({ method: "eth_getTransactionReceipt", params: [h] })),
    );
    return group.map((h, i): [string, RawLog[]] => {
      const r = receipts[i];
      if (r === null || r === undefined)
        throw new UnavailableError(`the node has no receipt of transaction ${h}`);
      return [h, r.logs ?? []];
    });
  });
  return new Map(read);
}

/**
 * Native histories: trace_filter names the transactions in which the addresses sent or received
 * value or paid a fee (as `fromAddress`, then `toAddress`), and each is read whole
 * ({@link nativeTransactions}). A node without trace_filter is refused with {@link NO_TRACE_FILTER}.
 */
async function nativeHistories(
  rpc: RpcClient,
  sides: Sides,
  receipts?: Map<string, RawLog[]>,
): Promise<TransferRow[]> {
  const got = await sides(async (group, side, piece) => {
    try {
      return await rpc.call<ParityTrace[]>("trace_filter", [
        { fromBlock: hex(piece.from), toBlock: hex(piece.to), [`${side}Address`]: group },
      ]);
    } catch (error) {
      if (unsupported(error)) throw new UnavailableError(NO_TRACE_FILTER);
      throw error;
    }
  });
  const hashes = new Set<string>();
  for (const t of got) if (t.transactionHash != null) hashes.add(t.transactionHash.toLowerCase());
  const read = await wholeTransactions(rpc, [...hashes]);
  for (const t of read) receipts?.set(t.txHash, t.logs);
  return read.flatMap((t) => t.native);
}

/** The seed transaction's transfers of `token` (its receipt's Transfer logs, or its native movements). */
export async function seedTransfers(
  rpc: RpcClient,
  token: string,
  txHash: string,
): Promise<TransferRow[]> {
  if (token === "native") return nativeTransactions(rpc, [txHash]);
  const receipt = await rpc.call<{ logs: RawLog[] } | null>("eth_getTransactionReceipt", [txHash]);
  const logs = (receipt?.logs ?? []).filter((l) => l.address.toLowerCase() === token);
  return decodeErc20Transfers(logs, await blockTimes(rpc, logs, new Map()));
}
