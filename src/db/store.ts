import type { DeploymentRecord } from "../client/deployment.js";
import { TracerError } from "../shared/errors.js";
import type { Database, Sql } from "./db.js";
import { migrate } from "./migrations.js";

/** A block header as the indexer keeps it. */
export interface BlockHeader {
  number: number;
  hash: string;
  parentHash: string;
  timestamp: number;
}

/** The resume point: every event up to and including this block is stored. */
export interface Checkpoint {
  blockNumber: number;
  blockHash: string;
}

/** What the indexer writes for one block range, in one transaction. */
export interface RangeWrite {
  events: readonly EventRow[];
  /** Headers to keep for reorganization checks (unfinalized blocks, and the range's last block). */
  blocks: readonly BlockHeader[];
  checkpoint: Checkpoint;
  /** Headers below this block are final: dropped. */
  pruneBelow: number;
}

/**
 * The tracer's store: the narrow interface between the indexer (which writes ranges and rolls
 * back) and the queries (which read events). One schema on both engines.
 */
export class Store {
  private constructor(readonly db: Database) {}

  /** Opens the store on a database, applying pending migrations. */
  static async open(db: Database): Promise<Store> {
    await migrate(db);
    return new Store(db);
  }

  async close(): Promise<void> {
    await this.db.close();
  }

  /** The deployment this store indexes, or null for an empty store. */
  async deployment(): Promise<DeploymentRecord | null> {
    const rows = await this.db.query<{
      chain_id: string | number;
      start_block: string | number;
      contracts: DeploymentRecord["contracts"];
    }>("SELECT chain_id, start_block, contracts FROM deployment WHERE id = 1");
    const r = rows[0];
    if (r === undefined) return null;
    return {
      version: 1,
      chainId: Number(r.chain_id),
      startBlock: Number(r.start_block),
      contracts: r.contracts,
    };
  }

  /**
   * Binds an empty store to a deployment, or checks that the store already indexes this one: a
   * store never mixes two consortia.
   */
  async bindDeployment(d: DeploymentRecord): Promise<void> {
    const existing = await this.deployment();
    if (existing === null) {
      await this.db.query(
        `INSERT INTO deployment (id, chain_id, start_block, registry, cases, access, anchor, contracts)
         VALUES (1, $1, $2, $3, $4, $5, $6, $7)`,
        [
          d.chainId,
          d.startBlock,
          d.contracts.ParticipantRegistry,
          d.contracts.CaseRegistry,
          d.contracts.AccessLedger,
          d.contracts.AccessLogAnchor,
          JSON.stringify(d.contracts),
        ],
      );
      return;
    }
    // A store bound before a contract joined the record has no address for it: not the same.
    const bound: Partial<Record<string, string>> = existing.contracts;
    const same =
      existing.chainId === d.chainId &&
      Object.entries(d.contracts).every(([k, v]) => bound[k]?.toLowerCase() === v.toLowerCase());
    if (!same) {
      throw new TracerError(
        `this store indexes the consortium at ${existing.contracts.ParticipantRegistry} on chain ${existing.chainId}, ` +
          `not ${d.contracts.ParticipantRegistry} on chain ${d.chainId}: use another --db`,
      );
    }
  }

  async checkpoint(): Promise<Checkpoint | null> {
    const rows = await this.db.query<{ block_number: string | number; block_hash: string }>(
      "SELECT block_number, block_hash FROM checkpoint WHERE id = 1",
    );
    const r = rows[0];
    return r === undefined
      ? null
      : { blockNumber: Number(r.block_number), blockHash: r.block_hash };
  }

  /** Stored headers at or below `from`, newest first (the candidates for a fork point). */
  async blocksDescending(from: number, limit: number): Promise<BlockHeader[]> {
    const rows = await this.db.query<{
      number: string | number;
      hash: string;
      parent_hash: string;
      timestamp: string | number;
    }>(
      "SELECT number, hash, parent_hash, timestamp FROM blocks WHERE number <= $1 ORDER BY number DESC LIMIT $2",
      [from, limit],
    );
    return rows.map((r) => ({
      number: Number(r.number),
      hash: r.hash,
      parentHash: r.parent_hash,
      timestamp: Number(r.timestamp),
    }));
  }

  async block(number: number): Promise<BlockHeader | null> {
    return (await this.blocksDescending(number, 1)).find((b) => b.number === number) ?? null;
  }

  /** Writes one block range's events, headers and checkpoint in one transaction. */
  async writeRange(w: RangeWrite): Promise<void> {
    await this.db.transaction(async (tx) => {
      await insertEvents(tx, w.events);
      for (const b of w.blocks) {
        await tx.query(
          `INSERT INTO blocks (number, hash, parent_hash, timestamp) VALUES ($1, $2, $3, $4)
           ON CONFLICT (number) DO UPDATE SET hash = EXCLUDED.hash, parent_hash = EXCLUDED.parent_hash,
             timestamp = EXCLUDED.timestamp`,
          [b.number, b.hash, b.parentHash, b.timestamp],
        );
      }
      await setCheckpoint(tx, w.checkpoint);
      await tx.query("DELETE FROM blocks WHERE number < $1 AND number <> $2", [
        w.pruneBelow,
        w.checkpoint.blockNumber,
      ]);
    });
  }

  /**
   * Rolls back to a fork point: deletes exactly the rows of blocks above it, and moves the
   * checkpoint there, in one transaction. Returns the number of events removed.
   */
  async rollbackTo(fork: Checkpoint): Promise<number> {
    return this.db.transaction(async (tx) => {
      const removed = await tx.query<{ n: string | number }>(
        "WITH d AS (DELETE FROM events WHERE block_number > $1 RETURNING 1) SELECT count(*) AS n FROM d",
        [fork.blockNumber],
      );
      await tx.query("DELETE FROM blocks WHERE number > $1", [fork.blockNumber]);
      await setCheckpoint(tx, fork);
      return Number(removed[0]?.n ?? 0);
    });
  }

  /** Number of stored events. */
  async eventCount(): Promise<number> {
    const rows = await this.db.query<{ n: string | number }>("SELECT count(*) AS n FROM events");
    return Number(rows[0]?.n ?? 0);
  }
}

async function setCheckpoint(tx: Sql, c: Checkpoint): Promise<void> {
  await tx.query(
    `INSERT INTO checkpoint (id, block_number, block_hash, updated_at) VALUES (1, $1, $2, now())
     ON CONFLICT (id) DO UPDATE SET block_number = EXCLUDED.block_number, block_hash = EXCLUDED.block_hash,
       updated_at = now()`,
    [c.blockNumber, c.blockHash],
  );
}

/**
 * Inserts events in batches, each batch one statement with one parameter: a JSON array of rows
 * (arrays in column order), taken apart by the server. Much cheaper on both sides than one array
 * parameter per column, whose elements the driver must quote and escape one by one and the server
 * unquote again (the args column, JSON itself, most of all); the same on both engines.
 */
async function insertEvents(tx: Sql, events: readonly EventRow[]): Promise<void> {
  const BATCH = 5000;
  for (let i = 0; i < events.length; i += BATCH) {
    const rows = events
      .slice(i, i + BATCH)
      .map((e) => [
        e.blockNumber,
        e.logIndex,
        e.txIndex,
        e.txHash,
        e.blockHash,
        e.blockTime,
        e.contract,
        e.event,
        e.caseId,
        e.requestId,
        e.deliveryId,
        e.anchorId,
        e.datasetId,
        e.proposalId,
        e.actor,
        e.counterpart,
        e.signer,
        e.subject,
        e.args,
      ]);
    await tx.query(
      `INSERT INTO events (block_number, log_index, tx_index, tx_hash, block_hash, block_time, contract, event,
         case_id, request_id, delivery_id, anchor_id, dataset_id, proposal_id, actor, counterpart, signer, subject, args)
       SELECT (r->>0)::bigint, (r->>1)::int, (r->>2)::int, r->>3, r->>4, (r->>5)::bigint, r->>6, r->>7,
         (r->>8)::numeric, (r->>9)::numeric, (r->>10)::numeric, (r->>11)::numeric, (r->>12)::numeric,
         (r->>13)::numeric, (r->>14)::bigint, (r->>15)::bigint, r->>16, r->>17, r->18
       FROM jsonb_array_elements($1::jsonb) AS r`,
      [JSON.stringify(rows)],
    );
  }
}

/** A consortium contract, by its name in the deployment record. */
export type ContractName = keyof DeploymentRecord["contracts"];

/** One decoded event, as stored. Ids are decimal strings (numeric columns); args are JSON. */
export interface EventRow {
  blockNumber: number;
  logIndex: number;
  txIndex: number;
  txHash: string;
  blockHash: string;
  blockTime: number;
  contract: ContractName;
  event: string;
  caseId: string | null;
  requestId: string | null;
  deliveryId: string | null;
  anchorId: string | null;
  datasetId: string | null;
  proposalId: string | null;
  actor: number | null;
  counterpart: number | null;
  signer: string | null;
  subject: string | null;
  args: Record<string, unknown>;
}
