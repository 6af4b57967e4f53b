import { TracerError } from "../errors.js";
import type { Database, Sql } from "./db.js";
import type { BlockHeader, Checkpoint } from "./store.js";

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

/**
 * One stream's rows, checkpoint and recent headers: the same write / roll-back contract as the
 * consortium's store, so the same sync engine (retries, ranges, reorganizations) drives both.
 */
export class StreamStore {
  private constructor(
    readonly db: Database,
    readonly id: string,
    readonly spec: StreamSpec,
  ) {}

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
      throw new TracerError(
        `stream ${id} was started at block ${start}; reading from block ${spec.startBlock} needs a fresh store`,
      );
    }
    return new StreamStore(db, id, { ...spec, startBlock: start });
  }

  async checkpoint(): Promise<Checkpoint | null> {
    const rows = await this.db.query<{ block_number: string | number; block_hash: string }>(
      "SELECT block_number, block_hash FROM streams WHERE id = $1",
      [this.id],
    );
    const r = rows[0];
    if (r === undefined || Number(r.block_number) < 0) return null;
    return { blockNumber: Number(r.block_number), blockHash: r.block_hash };
  }

  async blocksDescending(from: number, limit: number): Promise<BlockHeader[]> {
    const rows = await this.db.query<{
      number: string | number;
      hash: string;
      parent_hash: string;
      timestamp: string | number;
    }>(
      `SELECT number, hash, parent_hash, timestamp FROM stream_blocks
        WHERE stream = $1 AND number <= $2 ORDER BY number DESC LIMIT $3`,
      [this.id, from, limit],
    );
    return rows.map((r) => ({
      number: Number(r.number),
      hash: r.hash,
      parentHash: r.parent_hash,
      timestamp: Number(r.timestamp),
    }));
  }

  /** Writes one block range's transfers, headers and checkpoint in one transaction. */
  async writeRange(w: {
    rows: readonly TransferRow[];
    blocks: readonly BlockHeader[];
    checkpoint: Checkpoint;
    pruneBelow: number;
  }): Promise<void> {
    await this.db.transaction(async (tx) => {
      await insertTransfers(tx, this.id, w.rows);
      for (const b of w.blocks) {
        await tx.query(
          `INSERT INTO stream_blocks (stream, number, hash, parent_hash, timestamp) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (stream, number) DO UPDATE SET hash = EXCLUDED.hash, parent_hash = EXCLUDED.parent_hash,
             timestamp = EXCLUDED.timestamp`,
          [this.id, b.number, b.hash, b.parentHash, b.timestamp],
        );
      }
      await tx.query(
        "UPDATE streams SET block_number = $2, block_hash = $3, updated_at = now() WHERE id = $1",
        [this.id, w.checkpoint.blockNumber, w.checkpoint.blockHash],
      );
      await tx.query(
        "DELETE FROM stream_blocks WHERE stream = $1 AND number < $2 AND number <> $3",
        [this.id, w.pruneBelow, w.checkpoint.blockNumber],
      );
    });
  }

  /** Deletes exactly the rows of blocks above the fork and moves the checkpoint there. */
  async rollbackTo(fork: Checkpoint): Promise<number> {
    return this.db.transaction(async (tx) => {
      const removed = await tx.query<{ n: string | number }>(
        `WITH d AS (DELETE FROM transfers WHERE stream = $1 AND block_number > $2 RETURNING 1)
         SELECT count(*) AS n FROM d`,
        [this.id, fork.blockNumber],
      );
      await tx.query("DELETE FROM stream_blocks WHERE stream = $1 AND number > $2", [
        this.id,
        fork.blockNumber,
      ]);
      await tx.query(
        "UPDATE streams SET block_number = $2, block_hash = $3, updated_at = now() WHERE id = $1",
        [this.id, fork.blockNumber, fork.blockHash],
      );
      return Number(removed[0]?.n ?? 0);
    });
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

/** Transfers of one stream and token in chain order (block, ordinal). */
export async function loadTransfers(
  db: Sql,
  stream: string,
  token: string,
  fromBlock: number,
  toBlock: number,
): Promise<TransferRow[]> {
  const rows = await db.query<{
    block_number: string | number;
    ordinal: number;
    tx_index: number;
    tx_hash: string;
    token: string;
    from_address: string;
    to_address: string;
    amount: string;
    block_time: string | number;
    kind: TransferKind;
  }>(
    `SELECT block_number, ordinal, tx_index, tx_hash, token, from_address, to_address, amount::text AS amount,
            block_time, kind
       FROM transfers
      WHERE stream = $1 AND token = $2 AND block_number BETWEEN $3 AND $4
      ORDER BY block_number, ordinal`,
    [stream, token, fromBlock, toBlock],
  );
  return rows.map((r) => ({
    blockNumber: Number(r.block_number),
    ordinal: r.ordinal,
    txIndex: r.tx_index,
    txHash: r.tx_hash,
    token: r.token,
    from: r.from_address,
    to: r.to_address,
    amount: BigInt(r.amount),
    blockTime: Number(r.block_time),
    kind: r.kind,
  }));
}

async function insertTransfers(
  tx: Sql,
  stream: string,
  rows: readonly TransferRow[],
): Promise<void> {
  const BATCH = 5000;
  for (let i = 0; i < rows.length; i += BATCH) {
    const chunk = rows.slice(i, i + BATCH);
    await tx.query(
      `INSERT INTO transfers (stream, block_number, ordinal, tx_index, tx_hash, token, from_address, to_address,
         amount, block_time, kind)
       SELECT $1, (r->>0)::bigint, (r->>1)::int, (r->>2)::int, r->>3, r->>4, r->>5, r->>6, (r->>7)::numeric,
              (r->>8)::bigint, r->>9
         FROM jsonb_array_elements($2::jsonb) AS r`,
      [
        stream,
        JSON.stringify(
          chunk.map((t) => [
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
          ]),
        ),
      ],
    );
  }
}
