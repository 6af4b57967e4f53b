import { NotFoundError, TracerError, UnavailableError } from "../../shared/errors.js";
import { blockAt, LogReader, SyncEngine, type SyncReader } from "../../chain/sync-engine.js";
import type { RpcClient } from "../../chain/rpc.js";
import { decodeErc20Transfers, readNativeBlock, TRANSFER_TOPIC } from "../transfers.js";
import type { Database } from "../../db/db.js";
import type { BlockHeader } from "../../db/store.js";
import { StreamStore, type StreamSpec, type TransferRow } from "../../db/streams.js";
import { readPositionAsset } from "./types.js";

/**
 * Transfer ingestion: a token's ERC-20 transfers, or native value transfers, of any EVM chain
 * into the store, through the same sync engine as the consortium's events (checkpoint per
 * stream, retries, adaptive ranges, reorganizations).
 */

export interface IngestOptions {
  /** Last block to read (default: the head less the confirmations). */
  toBlock?: number;
  confirmations?: number;
  finalityDepth?: number;
  /** Native streams: read internal transfers with debug_traceBlockByHash (default true). */
  traceCalls?: boolean;
  onProgress?: (p: { indexedTo: number; target: number; rows: number }) => void;
  onLog?: (entry: Record<string, unknown>) => void;
}

export interface IngestResult {
  stream: string;
  indexedTo: number;
  rows: number;
  /** False when something could not be read (e.g. the node can't trace internal transfers). */
  complete: boolean;
  note: string | null;
}

/** Blocks a native range reads at most (each block is several calls). */
const NATIVE_RANGE = 16;

/** Reads native value movements block by block (values, internal transfers, fees). */
class NativeReader implements SyncReader<TransferRow> {
  untraced: number[] = [];

  constructor(
    private readonly rpc: RpcClient,
    private readonly traceCalls: boolean,
  ) {}

  async readRange(from: number, to: number): Promise<{ rows: TransferRow[]; last: BlockHeader }> {
    const end = Math.min(to, from + NATIVE_RANGE - 1);
    const numbers = Array.from({ length: end - from + 1 }, (_, i) => from + i);
    const blocks = await Promise.all(
      numbers.map((n) => readNativeBlock(this.rpc, n, { trace: this.traceCalls })),
    );
    const rows: TransferRow[] = [];
    let last: BlockHeader | null = null;
    blocks.forEach((b, i) => {
      if (b === null)
        throw new UnavailableError(`block ${numbers[i]} vanished while reading native transfers`);
      if (!b.traced && this.traceCalls && b.rows.length > 0) this.untraced.push(b.header.number);
      rows.push(...b.rows);
      last = b.header;
    });
    if (last === null) throw new TracerError(`empty native range ${from}..${end}`);
    return { rows, last };
  }

  async readBlock(header: BlockHeader): Promise<TransferRow[] | null> {
    const b = await readNativeBlock(this.rpc, header.hash, { trace: this.traceCalls });
    if (b === null || b.header.hash !== header.hash) return null;
    if (!b.traced && this.traceCalls && b.rows.length > 0) this.untraced.push(b.header.number);
    return b.rows;
  }
}

/**
 * Brings a transfer stream up to `toBlock` (or the head). A native stream read from a node
 * without debug_traceBlockByHash is marked incomplete: internal transfers are missing, and every
 * report on it says so.
 */
export async function ingestTransfers(
  db: Database,
  rpc: RpcClient,
  spec: StreamSpec,
  options: IngestOptions = {},
): Promise<IngestResult> {
  const store = await StreamStore.open(db, spec);
  const traceCalls = options.traceCalls ?? true;
  let reader: SyncReader<TransferRow>;
  let native: NativeReader | null = null;
  if (spec.kind === "native") {
    native = new NativeReader(rpc, traceCalls);
    reader = native;
    if (!traceCalls)
      await store.markIncomplete("internal transfers were not traced (--no-trace-calls)");
  } else {
    reader = new LogReader<TransferRow>(rpc, {
      addresses: spec.token === "*" ? undefined : [spec.token],
      topics: [TRANSFER_TOPIC],
      decode: decodeErc20Transfers,
      onLog: options.onLog,
    });
  }
  const engine = new SyncEngine(rpc, reader, store, {
    confirmations: options.confirmations,
    finalityDepth: options.finalityDepth,
    fromBlock: store.spec.startBlock,
    onProgress: options.onProgress,
    onLog: options.onLog,
  });
  const indexedTo = await engine.syncOnce(options.toBlock);
  if (native !== null && native.untraced.length > 0) {
    await store.markIncomplete(
      `the node does not trace calls (debug_traceBlockByHash): internal transfers of ${native.untraced.length} ` +
        `block(s) from ${Math.min(...native.untraced)} are missing`,
    );
  }
  const { complete, note } = await store.completeness();
  return { stream: store.id, indexedTo, rows: engine.rowCount, complete, note };
}

/** The block a transaction was mined in (for tx seeds), or a clear error. */
export async function blockOfTransaction(rpc: RpcClient, txHash: string): Promise<number> {
  const receipt = await rpc.call<{ blockNumber: string } | null>("eth_getTransactionReceipt", [
    txHash,
  ]);
  if (receipt === null)
    throw new NotFoundError(`transaction ${txHash} is unknown to the node (or not mined)`);
  return Number(receipt.blockNumber);
}

/** Checks that a block exists on the node. */
export async function requireBlock(rpc: RpcClient, n: number): Promise<BlockHeader> {
  const b = await blockAt(rpc, n);
  if (b === null) throw new NotFoundError(`block ${n} does not exist on the node`);
  return b;
}

const BALANCE_OF = "0x70a08231";

/**
 * Balances of `addresses` at the end of `block` (for the initial balances of a trace): ERC-20
 * balanceOf through eth_call, or eth_getBalance for native value; of a Uniswap V3 position, its
 * liquidity for its owner and none for anyone else. Addresses that aren't real accounts (the fee
 * sink, a position's own account) are skipped.
 */
export async function balancesAt(
  rpc: RpcClient,
  token: string,
  addresses: readonly string[],
  block: number,
): Promise<Map<string, bigint>> {
  const out = new Map<string, bigint>();
  const real = addresses.filter((a) => /^0x[0-9a-f]{40}$/.test(a));
  if (block < 0) {
    for (const a of real) out.set(a, 0n);
    return out;
  }
  const tag = `0x${block.toString(16)}`;
  const position = readPositionAsset(token);
  if (position !== null) {
    const id = position.tokenId.toString(16).padStart(64, "0");
    const ask = (data: string) =>
      rpc
        .call<string>("eth_call", [{ to: position.manager, data: `${data}${id}` }, tag])
        .catch(() => "0x");
    // ownerOf(tokenId), positions(tokenId): its liquidity is the eighth word. Not minted yet, or
    // burnt: no owner, no liquidity.
    const [owner, state] = await Promise.all([ask("0x6352211e"), ask("0x99fbab88")]);
    const liquidity = state.length >= 2 + 64 * 8 ? BigInt(`0x${state.slice(450, 514)}`) : 0n;
    const holder = owner.length === 66 ? `0x${owner.slice(26)}`.toLowerCase() : null;
    for (const a of real) out.set(a, a === holder ? liquidity : 0n);
    return out;
  }
  for (let i = 0; i < real.length; i += 200) {
    const chunk = real.slice(i, i + 200);
    const results = await rpc.batch<string>(
      chunk.map((a) =>
        token === "native"
          ? { method: "eth_getBalance", params: [a, tag] }
          : {
              method: "eth_call",
              params: [{ to: token, data: `${BALANCE_OF}${a.slice(2).padStart(64, "0")}` }, tag],
            },
      ),
    );
    results.forEach((r, j) => {
      const a = chunk[j];
      if (a === undefined) return;
      out.set(a, r === "0x" || r === "" ? 0n : BigInt(r.length > 66 ? r.slice(0, 66) : r));
    });
  }
  return out;
}
