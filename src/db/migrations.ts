import type { Database } from "./db.js";

/** One schema change. Versions only grow; a migration is never edited once released. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/**
 * The store's schema. The tracer is a pure function of the chain: every row comes from one log
 * (events) or one block header (blocks), so a reorganization rolls back exactly the rows of the
 * abandoned blocks with a `DELETE … WHERE block_number > fork`.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "events, blocks and the sync checkpoint",
    sql: `
      CREATE TABLE deployment (
        id           integer PRIMARY KEY CHECK (id = 1),
        chain_id     bigint  NOT NULL,
        start_block  bigint  NOT NULL,
        registry     text    NOT NULL,
        cases        text    NOT NULL,
        access       text    NOT NULL,
        anchor       text    NOT NULL
      );

      -- The highest block whose events are all stored, and its hash (the resume point).
      CREATE TABLE checkpoint (
        id           integer PRIMARY KEY CHECK (id = 1),
        block_number bigint  NOT NULL,
        block_hash   text    NOT NULL,
        updated_at   timestamptz NOT NULL DEFAULT now()
      );

      -- Headers of recent (unfinalized) blocks, to detect reorganizations by their hashes.
      CREATE TABLE blocks (
        number       bigint  PRIMARY KEY,
        hash         text    NOT NULL,
        parent_hash  text    NOT NULL,
        timestamp    bigint  NOT NULL
      );

      -- Every consortium event, decoded; the columns in the middle are the ones queries filter on.
      CREATE TABLE events (
        block_number bigint  NOT NULL,
        log_index    integer NOT NULL,
        tx_index     integer NOT NULL,
        tx_hash      text    NOT NULL,
        block_hash   text    NOT NULL,
        block_time   bigint  NOT NULL,
        contract     text    NOT NULL,
        event        text    NOT NULL,
        case_id      numeric,
        request_id   numeric,
        delivery_id  numeric,
        anchor_id    numeric,
        dataset_id   numeric,
        proposal_id  numeric,
        actor        bigint,
        counterpart  bigint,
        signer       text,
        subject      text,
        args         jsonb   NOT NULL,
        PRIMARY KEY (block_number, log_index)
      );
      CREATE INDEX events_case ON events (case_id) WHERE case_id IS NOT NULL;
      CREATE INDEX events_request ON events (request_id) WHERE request_id IS NOT NULL;
      CREATE INDEX events_delivery ON events (delivery_id) WHERE delivery_id IS NOT NULL;
      CREATE INDEX events_anchor ON events (anchor_id) WHERE anchor_id IS NOT NULL;
      CREATE INDEX events_subject ON events (subject) WHERE subject IS NOT NULL;
      CREATE INDEX events_actor ON events (actor) WHERE actor IS NOT NULL;
      CREATE INDEX events_counterpart ON events (counterpart) WHERE counterpart IS NOT NULL;
      CREATE INDEX events_event ON events (event);
    `,
  },
  {
    version: 2,
    name: "address labels imported from TagPacks",
    sql: `
      -- One row per imported TagPack file; re-importing a file replaces its tags.
      CREATE TABLE label_sources (
        id           bigserial PRIMARY KEY,
        file         text    NOT NULL UNIQUE,
        title        text    NOT NULL,
        creator      text,
        sha256       text    NOT NULL,
        imported_at  timestamptz NOT NULL DEFAULT now(),
        tags         integer NOT NULL
      );

      -- Address labels from TagPacks (header fields already inherited into each tag). EVM
      -- addresses are stored lower-case; other networks' addresses as written.
      CREATE TABLE labels (
        source_id    bigint  NOT NULL REFERENCES label_sources (id) ON DELETE CASCADE,
        address      text    NOT NULL,
        currency     text    NOT NULL,
        network      text    NOT NULL,
        label        text    NOT NULL,
        category     text,
        abuse        text,
        actor        text,
        confidence   text,
        source       text,
        is_evm       boolean NOT NULL,
        extra        jsonb   NOT NULL DEFAULT '{}'::jsonb
      );
      CREATE INDEX labels_address ON labels (address);
      CREATE INDEX labels_category ON labels (category);
    `,
  },
  {
    version: 3,
    name: "every contract of the deployment record",
    sql: `
      -- The whole contracts map of the deployment record, so that new consortium contracts need
      -- no schema change (the columns of version 1 stay for the first four).
      ALTER TABLE deployment ADD COLUMN contracts jsonb;
    `,
  },
  {
    version: 4,
    name: "token and native transfers of any EVM chain, by stream",
    sql: `
      -- A stream is one thing read from one chain (the ERC-20 transfers of a token, or native
      -- value transfers), with its own checkpoint and recent headers for reorganizations.
      CREATE TABLE streams (
        id            text    PRIMARY KEY,
        chain_id      bigint  NOT NULL,
        kind          text    NOT NULL,
        token         text    NOT NULL,
        start_block   bigint  NOT NULL,
        block_number  bigint  NOT NULL,
        block_hash    text    NOT NULL,
        complete      boolean NOT NULL DEFAULT true,
        note          text,
        updated_at    timestamptz NOT NULL DEFAULT now()
      );

      CREATE TABLE stream_blocks (
        stream        text    NOT NULL REFERENCES streams (id) ON DELETE CASCADE,
        number        bigint  NOT NULL,
        hash          text    NOT NULL,
        parent_hash   text    NOT NULL,
        timestamp     bigint  NOT NULL,
        PRIMARY KEY (stream, number)
      );

      -- One value movement: an ERC-20 Transfer log, a transaction's value, an internal call's
      -- value, or a transaction's fee (to the fee sink). ordinal orders them within a block.
      CREATE TABLE transfers (
        stream        text    NOT NULL REFERENCES streams (id) ON DELETE CASCADE,
        block_number  bigint  NOT NULL,
        ordinal       integer NOT NULL,
        tx_index      integer NOT NULL,
        tx_hash       text    NOT NULL,
        token         text    NOT NULL,
        from_address  text    NOT NULL,
        to_address    text    NOT NULL,
        amount        numeric(78, 0) NOT NULL,
        block_time    bigint  NOT NULL,
        kind          text    NOT NULL,
        PRIMARY KEY (stream, block_number, ordinal)
      );
      CREATE INDEX transfers_tx ON transfers (tx_hash);
      CREATE INDEX transfers_token ON transfers (token, block_number);
    `,
  },
  {
    version: 5,
    name: "an index of case openings",
    sql: `
      -- The case list's page of openings (GET /cases, listCases): an index range scan of the
      -- page instead of every opening sorted on each request.
      CREATE INDEX events_case_opened ON events (case_id) WHERE event = 'CaseOpened';
    `,
  },
  {
    version: 6,
    name: "transfer histories read address by address (lazy traces)",
    sql: `
      -- Transfers read for one address at a time (a lazy trace's frontier): the columns of
      -- transfers, by scope (a stream id: kind, chain, token) instead of stream. A transfer
      -- between two such addresses is stored once.
      CREATE TABLE address_transfers (LIKE transfers INCLUDING DEFAULTS);
      ALTER TABLE address_transfers RENAME COLUMN stream TO scope;
      ALTER TABLE address_transfers ADD PRIMARY KEY (scope, block_number, ordinal);
      CREATE INDEX address_transfers_from ON address_transfers (scope, from_address, block_number);
      CREATE INDEX address_transfers_to ON address_transfers (scope, to_address, block_number);

      -- Which blocks of an address's history address_transfers holds in full (finalized blocks
      -- only), as disjoint ranges.
      CREATE TABLE address_ranges (
        scope         text    NOT NULL,
        address       text    NOT NULL,
        from_block    bigint  NOT NULL,
        to_block      bigint  NOT NULL,
        PRIMARY KEY (scope, address, from_block)
      );

      -- Balances read from the node at the end of a (finalized) block.
      CREATE TABLE address_balances (
        scope         text    NOT NULL,
        address       text    NOT NULL,
        block_number  bigint  NOT NULL,
        balance       numeric(78, 0) NOT NULL,
        PRIMARY KEY (scope, address, block_number)
      );
    `,
  },
  {
    version: 7,
    name: "whole transactions read for a lazy trace of every asset",
    sql: `
      -- The transactions of the histories a lazy trace of every asset read (finalized blocks
      -- only): their logs when one of them is a conversion's or a bridge's event, else null (the
      -- transaction has none). A transaction with logs has its every transfer, of every token and
      -- of the native coin, in address_transfers, found by its hash.
      CREATE TABLE address_receipts (
        chain_id      bigint  NOT NULL,
        tx_hash       text    NOT NULL,
        block_number  bigint  NOT NULL,
        logs          jsonb,
        PRIMARY KEY (chain_id, tx_hash)
      );
      CREATE INDEX address_transfers_tx ON address_transfers (scope, tx_hash);
    `,
  },
];

/** Applies the migrations not yet applied, each in its own transaction; returns the versions applied. */
export async function migrate(
  db: Database,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<number[]> {
  await db.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
  )`);
  const applied: number[] = [];
  for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
    const done = await db.transaction(async (tx) => {
      // Two processes migrating one server at once: the second waits, then sees it done.
      if (db.engine === "postgres") await tx.query("SELECT pg_advisory_xact_lock(7461726)");
      const rows = await tx.query<{ version: number }>(
        "SELECT version FROM schema_migrations WHERE version = $1",
        [m.version],
      );
      if (rows.length > 0) return false;
      for (const statement of splitStatements(m.sql)) await tx.query(statement);
      await tx.query("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", [
        m.version,
        m.name,
      ]);
      return true;
    });
    if (done) applied.push(m.version);
  }
  return applied;
}

/** The newest schema version applied to a database (0 if none). */
export async function schemaVersion(db: Database): Promise<number> {
  const rows = await db.query<{ v: number | null }>(
    "SELECT max(version) AS v FROM schema_migrations",
  );
  return Number(rows[0]?.v ?? 0);
}

function splitStatements(sql: string): string[] {
  return sql
    .split(/;\s*$/m)
    .map((s) => s.replace(/^\s*--.*$/gm, "").trim())
    .filter((s) => s.length > 0);
}
