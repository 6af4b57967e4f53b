import { ConflictError, InvalidInputError, TracerError } from "../shared/errors.js";
import type { Database, Sql } from "./db.js";
import {
  HeaderChain,
  type BlockHeader,
  type Checkpoint,
  type HeaderWrite,
} from "./header-chain.js";
import { insertRows, columns, type Values } from "./rows.js";

/** How a transfer moved value. */
export type TransferKind = "erc20" | "value" | "internal" | "fee";

/** One value movement, as stored. Addresses are lower-case; amount in base units. */
export interface TransferRow {
  blockNumber: number;
  /** Position within the block (ERC-20: the log index; native: execution order). */
  ordinal: number;
  txIndex: number;
  txHash: string;
  /** Token address (lower-case), or "native". */
  token: string;
  from: string;
  to: string;
  amount: bigint;
  blockTime: number;
  kind: TransferKind;
}

/** What a stream reads. */
export interface StreamSpec {
  chainId: number;
  kind: "erc20" | "native";
  /** Token address (lower-case) for erc20, "*" for every token, "native" for native value. */
  token: string;
  startBlock: number;
}

/** The pseudo-address that receives gas fees in native streams. */
export const FEE_SINK = "fees";

/** The id of a stream: kind, chain and token. */
export function streamId(spec: Pick<StreamSpec, "chainId" | "kind" | "token">): string {
  return `${spec.kind}:${spec.chainId}:${spec.token}`;
}

/** A stream's start block, or null when it was never read. */
export async function streamStart(db: Sql, id: string): Promise<number | null> {
  const rows = await db.query<{ start_block: string | number }>(
    "SELECT start_block FROM streams WHERE id = $1",
    [id],
  );
  return rows[0] === undefined ? null : Number(rows[0].start_block);
}

/**
 * One stream's rows, checkpoint and recent headers: the same write / roll-back contract as the
 * consortium's store, so the same sync engine (retries, ranges, reorganizations) drives both.
 */
export class StreamStore {
  private readonly chain: HeaderChain;

  private constructor(
    readonly db: Database,
    readonly id: string,
    readonly spec: StreamSpec,
  ) {
    // The streams' shared tables, narrowed to this one; its row exists from its opening on.
    this.chain = new HeaderChain(db, {
      checkpoint: { table: "streams", id, upsert: false },
      headers: "stream_blocks",
      rows: "transfers",
      scope: { column: "stream", value: id },
    });
  }

  /**
   * Opens a stream, creating it on first use. A stream that exists already keeps its start
   * block; asking for an earlier one is an error (it would leave a hole).
   */
  static async open(db: Database, spec: StreamSpec): Promise<StreamStore> {
    const id = streamId(spec);
    const rows = await db.query<{ start_block: string | number }>(
      "SELECT start_block FROM streams WHERE id = $1",
      [id],
    );
    const existing = rows[0];
    if (existing === undefined) {
      await db.query(
        `INSERT INTO streams (id, chain_id, kind, token, start_block, block_number, block_hash)
         VALUES ($1, $2, $3, $4, $5, -1, '')`,
        [id, spec.chainId, spec.kind, spec.token, spec.startBlock],
      );
      return new StreamStore(db, id, spec);
    }
    const start = Number(existing.start_block);
    if (spec.startBlock < start) {
      throw new ConflictError(
        `stream ${id} was started at block ${start}; reading from block ${spec.startBlock} needs a fresh store`,
      );
    }
    return new StreamStore(db, id, { ...spec, startBlock: start });
  }

  async checkpoint(): Promise<Checkpoint | null> {
    return this.chain.checkpoint();
  }

  /** Stored headers at or below `from`, newest first (the candidates for a fork point). */
  async blocksDescending(from: number, limit: number): Promise<BlockHeader[]> {
    return this.chain.blocksDescending(from, limit);
  }

  /** Writes one block range's transfers, headers and checkpoint in one transaction. */
  async writeRange(w: HeaderWrite & { rows: readonly TransferRow[] }): Promise<void> {
    await this.chain.writeRange(w, (tx) =>
      insertRows(tx, {
        table: "transfers",
        fixed: [{ name: "stream", value: this.id }],
        columns: TRANSFER_COLUMNS,
        rows: w.rows,
        values: transferValues,
      }),
    );
  }

  /** Deletes exactly the rows of blocks above the fork and moves the checkpoint there. */
  async rollbackTo(fork: Checkpoint): Promise<number> {
    return this.chain.rollbackTo(fork);
  }

  /** Records that the stream misses something (e.g. internal transfers the node can't trace). */
  async markIncomplete(note: string): Promise<void> {
    await this.db.query("UPDATE streams SET complete = false, note = $2 WHERE id = $1", [
      this.id,
      note,
    ]);
  }

  /** Whether the stream is complete, and why not. */
  async completeness(): Promise<{ complete: boolean; note: string | null }> {
    const rows = await this.db.query<{ complete: boolean; note: string | null }>(
      "SELECT complete, note FROM streams WHERE id = $1",
      [this.id],
    );
    return rows[0] ?? { complete: true, note: null };
  }

  /** The stream's transfers of `token` within [fromBlock, toBlock], in chain order. */
  async transfers(token: string, fromBlock: number, toBlock: number): Promise<TransferRow[]> {
    return loadTransfers(this.db, this.id, token, fromBlock, toBlock);
  }
}

/** Rows aimed at per query when loading: bounds what one read holds besides its result. */
const LOAD_CHUNK = 100_000;
const TRANSFER_KINDS: ReadonlySet<string> = new Set<TransferKind>([
  "erc20",
  "value",
  "internal",
  "fee",
]);

/** A transfer as value flow only: what moved where, and when (no transaction details). */
export interface FlowRow {
  blockNumber: number;
  ordinal: number;
  from: string;
  to: string;
  amount: bigint;
  blockTime: number;
}

/** A SQL string literal (standard_conforming_strings: only quotes are doubled). */
function literal(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}

function wholeNumber(n: number, what: string): void {
  if (!Number.isSafeInteger(n)) throw new InvalidInputError(`${what} must be an integer, got ${n}`);
}

/** Returns one string object for equal strings, so repeated addresses share their memory. */
export function sharer(): (s: string) => string {
  const shared = new Map<string, string>();
  return (s) => {
    const known = shared.get(s);
    if (known !== undefined) return known;
    shared.set(s, s);
    return s;
  };
}

const TAB = 9;
const NEWLINE = 10;
const BACKSLASH = 92;

/**
 * Reads COPY's text format field by field. The transfer columns hold digits, hex and kind names
 * only, which COPY writes unescaped; anything else is refused rather than misread.
 */
class CopyReader {
  private readonly buf: Buffer;
  private pos = 0;
  constructor(bytes: Uint8Array) {
    this.buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (this.buf.includes(BACKSLASH))
      throw new TracerError("transfers: unexpected escaped value in a stored row");
  }
  get more(): boolean {
    return this.pos < this.buf.length;
  }
  private malformed(): TracerError {
    return new TracerError("transfers: malformed stored row");
  }
  /** A non-negative integer field. */
  int(): number {
    const buf = this.buf;
    let c = buf[this.pos];
    if (c === TAB || c === NEWLINE || c === undefined) throw this.malformed();
    let v = 0;
    while (c !== TAB && c !== NEWLINE) {
      if (c === undefined || c < 48 || c > 57) throw this.malformed();
      v = v * 10 + (c - 48);
      c = buf[++this.pos];
    }
    this.pos++;
    return v;
  }
  /** A non-empty text field. */
  str(): string {
    const buf = this.buf;
    const start = this.pos;
    let p = start;
    while (p < buf.length && buf[p] !== TAB && buf[p] !== NEWLINE) p++;
    if (p === start) throw this.malformed();
    this.pos = p + 1;
    return buf.toString("latin1", start, p);
  }
}

/** The columns a read selects, and how a row of them is built. */
interface RowShape<R> {
  columns: string;
  fromCopy(r: CopyReader, token: string, share: (s: string) => string): R;
  fromQuery(r: Record<string, string | number>, token: string, share: (s: string) => string): R;
}

const FULL: RowShape<TransferRow> = {
  columns:
    "block_number, ordinal, tx_index, tx_hash, from_address, to_address, amount, block_time, kind",
  fromCopy(r, token, share) {
    const blockNumber = r.int();
    const ordinal = r.int();
    const txIndex = r.int();
    const txHash = r.str();
    const from = share(r.str());
    const to = share(r.str());
    const amount = BigInt(r.str());
    const blockTime = r.int();
    const kind = r.str();
    if (!TRANSFER_KINDS.has(kind)) throw new TracerError(`transfers: unknown kind ${kind}`);
    return {
      blockNumber,
      ordinal,
      txIndex,
      txHash,
      token,
      from,
      to,
      amount,
      blockTime,
      kind: kind as TransferKind,
    };
  },
  fromQuery(r, token, share) {
    return {
      blockNumber: Number(r["block_number"]),
      ordinal: Number(r["ordinal"]),
      txIndex: Number(r["tx_index"]),
      txHash: String(r["tx_hash"]),
      token,
      from: share(String(r["from_address"])),
      to: share(String(r["to_address"])),
      amount: BigInt(r["amount"] as string),
      blockTime: Number(r["block_time"]),
      kind: r["kind"] as TransferKind,
    };
  },
};

/** FULL with each row's own token (a stream of every token). */
const EVERY_TOKEN: RowShape<TransferRow> = {
  columns: `${FULL.columns}, token`,
  fromCopy(r, _token, share) {
    const row = FULL.fromCopy(r, "", share);
    row.token = share(r.str());
    return row;
  },
  fromQuery(r, _token, share) {
    return FULL.fromQuery(r, share(String(r["token"])), share);
  },
};

const FLOW: RowShape<FlowRow> = {
  columns: "block_number, ordinal, from_address, to_address, amount, block_time",
  fromCopy(r, _token, share) {
    return {
      blockNumber: r.int(),
      ordinal: r.int(),
      from: share(r.str()),
      to: share(r.str()),
      amount: BigInt(r.str()),
      blockTime: r.int(),
    };
  },
  fromQuery(r, _token, share) {
    return {
      blockNumber: Number(r["block_number"]),
      ordinal: Number(r["ordinal"]),
      from: share(String(r["from_address"])),
      to: share(String(r["to_address"])),
      amount: BigInt(r["amount"] as string),
      blockTime: Number(r["block_time"]),
    };
  },
};

/**
 * Reads a stream's transfers of one token in [fromBlock, toBlock], in chain order (block,
 * ordinal), in block ranges of about {@link LOAD_CHUNK} rows: at most doubled after a range of
 * few rows, cut in proportion after one of too many; a range without rows is followed by a jump
 * to the next block that has some (an index lookup), so empty stretches don't inflate the range.
 * The embedded database hands each range over as one COPY text block (far faster than a
 * JavaScript object per row), the server as rows. Addresses are shared strings, so a million
 * transfers among a hundred thousand addresses hold a hundred thousand address strings.
 */
async function readRows<R, T>(
  db: Sql,
  shape: RowShape<R>,
  where: { stream: string; token: string | null; fromBlock: number; toBlock: number },
  map: (row: R) => T,
): Promise<T[]> {
  const { stream, token, fromBlock, toBlock } = where;
  wholeNumber(fromBlock, "fromBlock");
  wholeNumber(toBlock, "toBlock");
  const out: T[] = [];
  const share = sharer();
  const sharedToken = token === null ? "" : share(token);
  // Every token of the stream (null), or one.
  const ofToken = token === null ? "" : ` AND token = ${literal(token)}`;
  let span = 1024;
  let a: number | null = await nextBlockWithTransfers(db, stream, token, fromBlock, toBlock);
  while (a !== null) {
    const b = Math.min(toBlock, a + span - 1);
    let count = 0;
    if (db.copyOut !== undefined) {
      const reader = new CopyReader(
        await db.copyOut(
          `SELECT ${shape.columns} FROM transfers
            WHERE stream = ${literal(stream)}${ofToken}
              AND block_number BETWEEN ${a} AND ${b}
            ORDER BY block_number, ordinal`,
        ),
      );
      for (; reader.more; count++) out.push(map(shape.fromCopy(reader, sharedToken, share)));
    } else {
      const rows = await db.query<Record<string, string | number>>(
        `SELECT ${shape.columns.replace("amount", "amount::text AS amount")} FROM transfers
          WHERE stream = $1${ofToken} AND block_number BETWEEN $2 AND $3
          ORDER BY block_number, ordinal`,
        [stream, a, b],
      );
      for (const r of rows) out.push(map(shape.fromQuery(r, sharedToken, share)));
      count = rows.length;
    }
    if (count === 0) a = await nextBlockWithTransfers(db, stream, token, b + 1, toBlock);
    else a = b < toBlock ? b + 1 : null;
    if (count < LOAD_CHUNK / 2) span = Math.min(span * 2, 2 ** 40);
    else if (count > LOAD_CHUNK) span = Math.max(1, Math.floor((span * LOAD_CHUNK) / count));
  }
  return out;
}

/**
 * The columns of a stored transfer as a query selects them (the amount as text), and the row a
 * query returns of them: the transfers and address_transfers tables share these columns.
 */
export const TRANSFER_SELECT = FULL.columns.replace("amount", "amount::text AS amount");
export function transferOfRow(
  r: Record<string, string | number>,
  token: string,
  share: (s: string) => string,
): TransferRow {
  return FULL.fromQuery(r, token, share);
}

/**
 * The first block in [fromBlock, toBlock] with a transfer of the stream's token (of any token for
 * null), or null.
 */
async function nextBlockWithTransfers(
  db: Sql,
  stream: string,
  token: string | null,
  fromBlock: number,
  toBlock: number,
): Promise<number | null> {
  if (fromBlock > toBlock) return null;
  const rows = await db.query<{ block_number: string | number }>(
    `SELECT block_number FROM transfers
      WHERE stream = $1${token === null ? "" : ` AND token = ${literal(token)}`}
        AND block_number BETWEEN $2 AND $3
      ORDER BY block_number LIMIT 1`,
    [stream, fromBlock, toBlock],
  );
  return rows[0] === undefined ? null : Number(rows[0].block_number);
}

/** What a bulk read takes: one stream's transfers of one token, within [fromBlock, toBlock]. */
type TransferRange = [db: Sql, stream: string, token: string, fromBlock: number, toBlock: number];

/**
 * Transfers of one stream and token in chain order (block, ordinal), each passed through `map`
 * (by default the row itself). See {@link readRows} for how they are read.
 */
export async function loadTransfers(...range: TransferRange): Promise<TransferRow[]>;
export async function loadTransfers<T>(
  ...args: [...TransferRange, map: (row: TransferRow) => T]
): Promise<T[]>;
export async function loadTransfers<T>(
  ...[db, stream, token, fromBlock, toBlock, map]: [...TransferRange, map?: (row: TransferRow) => T]
): Promise<(T | TransferRow)[]> {
  const where = { stream, token, fromBlock, toBlock };
  return map === undefined ? readRows(db, FULL, where, (r) => r) : readRows(db, FULL, where, map);
}

/**
 * Transfers of every token of a stream (a stream of every ERC-20 token) in chain order, each
 * passed through `map`.
 */
export async function loadEveryToken<T>(
  db: Sql,
  stream: string,
  fromBlock: number,
  toBlock: number,
  map: (row: TransferRow) => T,
): Promise<T[]> {
  return readRows(db, EVERY_TOKEN, { stream, token: null, fromBlock, toBlock }, map);
}

/**
 * The value flow of one stream and token in chain order: who sent how much to whom and when,
 * without the transaction's hash and index (a third of the bytes: what risk screening reads
 * before it knows which transfers it will report; {@link txHashesAt} then names those).
 */
export async function loadFlows<T>(
  ...[db, stream, token, fromBlock, toBlock, map]: [...TransferRange, map: (row: FlowRow) => T]
): Promise<T[]> {
  return readRows(db, FLOW, { stream, token, fromBlock, toBlock }, map);
}

/** The transaction hash of each stored transfer at (block, ordinal), keyed `block:ordinal`. */
export async function txHashesAt(
  db: Sql,
  stream: string,
  at: readonly { blockNumber: number; ordinal: number }[],
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const BATCH = 10_000;
  for (let i = 0; i < at.length; i += BATCH) {
    const rows = await db.query<{
      block_number: string | number;
      ordinal: number;
      tx_hash: string;
    }>(
      `SELECT t.block_number, t.ordinal, t.tx_hash
         FROM jsonb_array_elements($2::jsonb) AS k
         JOIN transfers t ON t.stream = $1 AND t.block_number = (k->>0)::bigint
                         AND t.ordinal = (k->>1)::int`,
      [stream, JSON.stringify(at.slice(i, i + BATCH).map((p) => [p.blockNumber, p.ordinal]))],
    );
    for (const r of rows) out.set(`${Number(r.block_number)}:${r.ordinal}`, r.tx_hash);
  }
  return out;
}

/** The transfers table's columns after the stream's, in the order of its schema. */
export const TRANSFER_COLUMNS = columns(`
  block_number bigint, ordinal int, tx_index int, tx_hash text, token text, from_address text,
  to_address text, amount numeric, block_time bigint, kind text
`);

/** A transfer's values, in the order of {@link TRANSFER_COLUMNS}. */
export function transferValues(t: TransferRow): Values<typeof TRANSFER_COLUMNS> {
  return [
    t.blockNumber,
    t.ordinal,
    t.txIndex,
    t.txHash,
    t.token,
    t.from,
    t.to,
    t.amount.toString(),
    t.blockTime,
    t.kind,
  ];
}
