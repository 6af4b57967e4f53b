import { id as keccakId } from "ethers";
import { UnavailableError } from "../shared/errors.js";
import { FEE_SINK, type TransferRow } from "../db/streams.js";
import type { BlockHeader } from "../db/store.js";
import { RpcError, topicAddress, type RawLog, type RpcClient } from "../chain/rpc.js";

/** topic0 of ERC-20 (and ERC-721) `Transfer(address,address,uint256)`. */
export const TRANSFER_TOPIC = keccakId("Transfer(address,address,uint256)");

const hex = (n: number) => `0x${n.toString(16)}`;

/**
 * ERC-20 transfers from Transfer logs. ERC-721 transfers (the token id indexed: four topics) and
 * malformed logs are skipped. `times` gives block timestamps the logs don't carry.
 */
export function decodeErc20Transfers(
  logs: readonly RawLog[],
  times: ReadonlyMap<number, number>,
): TransferRow[] {
  const rows: TransferRow[] = [];
  for (const log of logs) {
    if (log.removed === true) continue;
    if (log.topics.length !== 3 || log.topics[0]?.toLowerCase() !== TRANSFER_TOPIC) continue;
    if (!/^0x[0-9a-fA-F]{64}$/.test(log.data)) continue;
    const blockNumber = Number(log.blockNumber);
    rows.push({
      blockNumber,
      ordinal: Number(log.logIndex),
      txIndex: Number(log.transactionIndex),
      txHash: log.transactionHash.toLowerCase(),
      token: log.address.toLowerCase(),
      from: topicAddress(log.topics[1] ?? ""),
      to: topicAddress(log.topics[2] ?? ""),
      amount: BigInt(log.data),
      blockTime: Number(log.blockTimestamp ?? times.get(blockNumber) ?? 0),
      kind: "erc20",
    });
  }
  return rows.sort((a, b) => a.blockNumber - b.blockNumber || a.ordinal - b.ordinal);
}

interface RpcTransaction {
  hash: string;
  from: string;
  to: string | null;
  value: string;
  transactionIndex: string;
}

interface RpcFullBlock {
  number: string;
  hash: string;
  parentHash: string;
  timestamp: string;
  transactions: RpcTransaction[];
}

interface RpcReceipt {
  transactionHash: string;
  status?: string;
  gasUsed: string;
  effectiveGasPrice?: string;
  contractAddress?: string | null;
}

/** A callTracer frame. */
interface CallFrame {
  type: string;
  from: string;
  to?: string;
  value?: string;
  error?: string;
  calls?: CallFrame[];
}

/** A block's native value movements, and whether its internal transfers could be traced. */
export interface NativeBlock {
  header: BlockHeader;
  rows: TransferRow[];
  traced: boolean;
}

/** Frame types that move value from `from` to `to` (DELEGATECALL and CALLCODE don't). */
const VALUE_FRAMES = new Set(["CALL", "CREATE", "CREATE2", "SELFDESTRUCT"]);

function internalTransfers(
  frame: CallFrame,
  out: { from: string; to: string; amount: bigint }[],
): void {
  for (const child of frame.calls ?? []) {
    // A reverted frame moved nothing, nor did anything below it.
    if (child.error !== undefined) continue;
    const amount = BigInt(child.value ?? "0x0");
    if (amount > 0n && VALUE_FRAMES.has(child.type.toUpperCase()) && child.to !== undefined) {
      out.push({ from: child.from.toLowerCase(), to: child.to.toLowerCase(), amount });
    }
    internalTransfers(child, out);
  }
}

function isUnsupported(error: unknown): boolean {
  return (
    error instanceof RpcError &&
    (error.code === -32601 ||
      error.code === -32004 ||
      /not (supported|available|found)|unknown method|does not exist/i.test(error.message))
  );
}

/**
 * Reads one block's native value movements, in execution order: per transaction its value (if
 * it succeeded), its internal value transfers (from debug_traceBlockByNumber's callTracer, when
 * the node has it) and its fee (gas used × effective gas price, to {@link FEE_SINK}). Returns
 * null when the block does not exist (any more).
 */
export async function readNativeBlock(
  rpc: RpcClient,
  block: number | string,
  options: { trace: boolean },
): Promise<NativeBlock | null> {
  const ref = typeof block === "number" ? hex(block) : block;
  const byHash = typeof block === "string";
  const b = await rpc.call<RpcFullBlock | null>(
    byHash ? "eth_getBlockByHash" : "eth_getBlockByNumber",
    [ref, true],
  );
  if (b === null) return null;
  const header: BlockHeader = {
    number: Number(b.number),
    hash: b.hash.toLowerCase(),
    parentHash: b.parentHash.toLowerCase(),
    timestamp: Number(b.timestamp),
  };
  if (b.transactions.length === 0) return { header, rows: [], traced: options.trace };
  const receipts = await rpc.batch<RpcReceipt | null>(
    b.transactions.map((t) => ({ method: "eth_getTransactionReceipt", params: [t.hash] })),
  );
  let traces: { result?: CallFrame; txHash?: string }[] | null = null;
  if (options.trace) {
    try {
      traces = await rpc.call<{ result?: CallFrame; txHash?: string }[]>("debug_traceBlockByHash", [
        header.hash,
        { tracer: "callTracer" },
      ]);
    } catch (error) {
      if (!isUnsupported(error)) throw error;
      traces = null;
    }
  }
  const rows: TransferRow[] = [];
  let ordinal = 0;
  b.transactions.forEach((t, i) => {
    const receipt = receipts[i];
    if (receipt === null || receipt === undefined) {
      throw new UnavailableError(`no receipt for transaction ${t.hash} of block ${header.number}`);
    }
    const base = {
      blockNumber: header.number,
      txIndex: Number(t.transactionIndex),
      txHash: t.hash.toLowerCase(),
      token: "native",
      blockTime: header.timestamp,
    };
    const ok = receipt.status === undefined || Number(receipt.status) === 1;
    const value = BigInt(t.value);
    const to = (t.to ?? receipt.contractAddress ?? "").toLowerCase();
    if (ok && value > 0n && to !== "") {
      rows.push({
        ...base,
        ordinal: ordinal++,
        from: t.from.toLowerCase(),
        to,
        amount: value,
        kind: "value",
      });
    }
    const frame = traces?.[i]?.result;
    if (ok && frame !== undefined) {
      const moves: { from: string; to: string; amount: bigint }[] = [];
      internalTransfers(frame, moves);
      for (const m of moves) rows.push({ ...base, ordinal: ordinal++, ...m, kind: "internal" });
    }
    const price = BigInt(receipt.effectiveGasPrice ?? "0x0");
    const fee = BigInt(receipt.gasUsed) * price;
    if (fee > 0n) {
      rows.push({
        ...base,
        ordinal: ordinal++,
        from: t.from.toLowerCase(),
        to: FEE_SINK,
        amount: fee,
        kind: "fee",
      });
    }
  });
  return { header, rows, traced: traces !== null };
}
