import type { Database, Sql } from "./db.js";
import { identifier, insertRows, columns } from "./rows.js";

/** A block header as the indexer keeps it. */
export interface BlockHeader {
  number: number;
  hash: string;
  parentHash: string;
  timestamp: number;
}

/** The resume point: every row up to and including this block is stored. */
export interface Checkpoint {
  blockNumber: number;
  blockHash: string;
}

/** What a range's write stores besides its rows. */
export interface HeaderWrite {
  /** Headers to keep for reorganization checks (unfinalized blocks, and the range's last block). */
  blocks: readonly BlockHeader[];
  checkpoint: Checkpoint;
  /** Headers below this block are final: dropped (but the checkpoint's). */
  pruneBelow: number;
}

/**
 * Where one synced stream keeps its bookkeeping: the row holding its checkpoint (columns id,
 * block_number, block_hash, updated_at), its recent headers (number, hash, parent_hash,
 * timestamp) and its rows (by block_number). The consortium's ledger has tables of its own; a
 * transfer stream shares its tables with the other streams and is told apart by `scope`.
 */
export interface ChainTables {
  /**
   * The checkpoint's row, by its id. `upsert`: the first write creates it; else it exists before
   * (and holds block -1 until the first write). A row missing or below block 0: no checkpoint.
   */
  checkpoint: { table: string; id: number | string; upsert: boolean };
  headers: string;
  rows: string;
  /** The column of `headers` and `rows` that names the stream, and its value. */
  scope?: { column: string; value: string };
}

/** The header tables' columns (after the stream's, for a stream's), in the order of the schema. */
const HEADER_COLUMNS = columns(`
  number bigint, hash text, parent_hash text, timestamp bigint
`);

/** The last header of each block number, as storing them one after the other would leave them. */
function lastOfEach(blocks: readonly BlockHeader[]): readonly BlockHeader[] {
  if (blocks.length < 2) return blocks;
  return [...new Map(blocks.map((b) => [b.number, b])).values()];
}

/**
 * The statements of a stream's bookkeeping, made once from its table names: with a scope, its
 * value is $1 and every condition starts with it, the other parameters following.
 */
function statements(t: ChainTables) {
  const cp = identifier(t.checkpoint.table);
  const headers = identifier(t.headers);
  const rows = identifier(t.rows);
  const scoped = t.scope === undefined ? "" : `${identifier(t.scope.column)} = $1 AND `;
  const p = (i: number) => `$${(t.scope === undefined ? 0 : 1) + i}`;
  return {
    checkpoint: `SELECT block_number, block_hash FROM ${cp} WHERE id = $1`,
    setCheckpoint: t.checkpoint.upsert
      ? `INSERT INTO ${cp} (id, block_number, block_hash, updated_at) VALUES ($1, $2, $3, now())
         ON CONFLICT (id) DO UPDATE SET block_number = EXCLUDED.block_number, block_hash = EXCLUDED.block_hash,
           updated_at = now()`
      : `UPDATE ${cp} SET block_number = $2, block_hash = $3, updated_at = now() WHERE id = $1`,
    headersDescending: `SELECT number, hash, parent_hash, timestamp FROM ${headers}
      WHERE ${scoped}number <= ${p(1)} ORDER BY number DESC LIMIT ${p(2)}`,
    pruneHeaders: `DELETE FROM ${headers} WHERE ${scoped}number < ${p(1)} AND number <> ${p(2)}`,
    deleteRowsAbove: `WITH d AS (DELETE FROM ${rows} WHERE ${scoped}block_number > ${p(1)} RETURNING 1)
      SELECT count(*) AS n FROM d`,
    deleteHeadersAbove: `DELETE FROM ${headers} WHERE ${scoped}number > ${p(1)}`,
  };
}

/**
 * One stream's header chain in the store: its checkpoint, the recent headers among which a
 * reorganization's fork point is found, and the writes and roll-backs that move them together
 * with the stream's rows, each in one transaction. The store's half of the sync engine's sink
 * (chain/sync-engine.ts), for the consortium's events and for every transfer stream alike.
 */
export class HeaderChain {
  private readonly sql: ReturnType<typeof statements>;
  /** The scope's value, the first parameter of every scoped statement; or nothing. */
  private readonly scope: readonly string[];

  constructor(
    private readonly db: Database,
    private readonly tables: ChainTables,
  ) {
    this.sql = statements(tables);
    this.scope = tables.scope === undefined ? [] : [tables.scope.value];
  }

  async checkpoint(): Promise<Checkpoint | null> {
    const rows = await this.db.query<{ block_number: string | number; block_hash: string }>(
      this.sql.checkpoint,
      [this.tables.checkpoint.id],
    );
    const r = rows[0];
    if (r === undefined || Number(r.block_number) < 0) return null;
    return { blockNumber: Number(r.block_number), blockHash: r.block_hash };
  }

  /** Stored headers at or below `from`, newest first (the candidates for a fork point). */
  async blocksDescending(from: number, limit: number): Promise<BlockHeader[]> {
    const rows = await this.db.query<{
      number: string | number;
      hash: string;
      parent_hash: string;
      timestamp: string | number;
    }>(this.sql.headersDescending, [...this.scope, from, limit]);
    return rows.map((r) => ({
      number: Number(r.number),
      hash: r.hash,
      parentHash: r.parent_hash,
      timestamp: Number(r.timestamp),
    }));
  }

  /**
   * Writes one block range in one transaction: its rows (by `writeRows`), its headers (a stored
   * one of the same number replaced), the checkpoint, and the pruning of final headers.
   */
  async writeRange(w: HeaderWrite, writeRows: (tx: Sql) => Promise<void>): Promise<void> {
    const { scope, headers } = this.tables;
    await this.db.transaction(async (tx) => {
      await writeRows(tx);
      await insertRows(tx, {
        table: headers,
        fixed: scope === undefined ? [] : [{ name: scope.column, value: scope.value }],
        columns: HEADER_COLUMNS,
        rows: lastOfEach(w.blocks),
        onConflict: {
          key: scope === undefined ? ["number"] : [scope.column, "number"],
          update: ["hash", "parent_hash", "timestamp"],
        },
      });
      await this.setCheckpoint(tx, w.checkpoint);
      await tx.query(this.sql.pruneHeaders, [
        ...this.scope,
        w.pruneBelow,
        w.checkpoint.blockNumber,
      ]);
    });
  }

  /**
   * Rolls back to a fork point: deletes exactly the rows and headers of blocks above it, and
   * moves the checkpoint there, in one transaction. Returns the number of rows removed.
   */
  async rollbackTo(fork: Checkpoint): Promise<number> {
    return this.db.transaction(async (tx) => {
      const removed = await tx.query<{ n: string | number }>(this.sql.deleteRowsAbove, [
        ...this.scope,
        fork.blockNumber,
      ]);
      await tx.query(this.sql.deleteHeadersAbove, [...this.scope, fork.blockNumber]);
      await this.setCheckpoint(tx, fork);
      return Number(removed[0]?.n ?? 0);
    });
  }

  private async setCheckpoint(tx: Sql, c: Checkpoint): Promise<void> {
    await tx.query(this.sql.setCheckpoint, [this.tables.checkpoint.id, c.blockNumber, c.blockHash]);
  }
}
