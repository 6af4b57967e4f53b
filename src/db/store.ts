import type { DeploymentRecord } from "../client/deployment.js";
import { ConflictError } from "../shared/errors.js";
import type { Database } from "./db.js";
import {
  HeaderChain,
  type BlockHeader,
  type ChainTables,
  type Checkpoint,
  type HeaderWrite,
} from "./header-chain.js";
import { migrate } from "./migrations.js";
import { insertRows, columns } from "./rows.js";

export type { BlockHeader, Checkpoint } from "./header-chain.js";

/** What the indexer writes for one block range, in one transaction. */
export interface RangeWrite extends HeaderWrite {
  events: readonly EventRow[];
}

/** The ledger's bookkeeping: tables of its own, the checkpoint's row created by the first write. */
const LEDGER_CHAIN: ChainTables = {
  checkpoint: { table: "checkpoint", id: 1, upsert: true },
  headers: "blocks",
  rows: "events",
};

/**
 * The tracer's store: the narrow interface between the indexer (which writes ranges and rolls
 * back) and the queries (which read events). One schema on both engines.
 */
export class Store {
  private readonly chain: HeaderChain;

  private constructor(readonly db: Database) {
    this.chain = new HeaderChain(db, LEDGER_CHAIN);
  }

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
      throw new ConflictError(
        `this store indexes the consortium at ${existing.contracts.ParticipantRegistry} on chain ${existing.chainId}, ` +
          `not ${d.contracts.ParticipantRegistry} on chain ${d.chainId}: use another --db`,
      );
    }
  }

  async checkpoint(): Promise<Checkpoint | null> {
    return this.chain.checkpoint();
  }

  /** Stored headers at or below `from`, newest first (the candidates for a fork point). */
  async blocksDescending(from: number, limit: number): Promise<BlockHeader[]> {
    return this.chain.blocksDescending(from, limit);
  }

  async block(number: number): Promise<BlockHeader | null> {
    return (await this.blocksDescending(number, 1)).find((b) => b.number === number) ?? null;
  }

  /** Writes one block range's events, headers and checkpoint in one transaction. */
  async writeRange(w: RangeWrite): Promise<void> {
    await this.chain.writeRange(w, (tx) =>
      insertRows(tx, {
        table: "events",
        columns: EVENT_COLUMNS,
        rows: w.events,
      }),
    );
  }

  /**
   * Rolls back to a fork point: deletes exactly the rows of blocks above it, and moves the
   * checkpoint there, in one transaction. Returns the number of events removed.
   */
  async rollbackTo(fork: Checkpoint): Promise<number> {
    return this.chain.rollbackTo(fork);
  }

  /** Number of stored events. */
  async eventCount(): Promise<number> {
    const rows = await this.db.query<{ n: string | number }>("SELECT count(*) AS n FROM events");
    return Number(rows[0]?.n ?? 0);
  }
}

/** The events table's columns, in the order of its schema. */
const EVENT_COLUMNS = columns(`
  block_number bigint, log_index int, tx_index int, tx_hash text, block_hash text,
  block_time bigint, contract text, event text, case_id numeric, request_id numeric,
  delivery_id numeric, anchor_id numeric, dataset_id numeric, proposal_id numeric, actor bigint,
  counterpart bigint, signer text, subject text, args jsonb
`);

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
