import { existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import {
  InvalidInputError,
  NotFoundError,
  TracerError,
  UnavailableError,
} from "../shared/errors.js";
import { lockStore, type StoreLock } from "./lock.js";

/** Something that runs SQL: the database itself or an open transaction. */
export interface Sql {
  query<T extends object>(text: string, params?: readonly unknown[]): Promise<T[]>;
  /**
   * What `COPY (select) TO STDOUT` writes (text format), where the engine hands it over faster
   * than rows (the embedded database: one block instead of a JavaScript object per row). The
   * select takes no parameters: literals only.
   */
  copyOut?(select: string): Promise<Uint8Array>;
}

/** A database engine behind one interface: embedded PGlite or a PostgreSQL server. */
export interface Database extends Sql {
  readonly engine: "pglite" | "postgres";
  /** Where it lives, for messages (a directory or the URL without its password). */
  readonly location: string;
  /** Runs `fn` in one transaction: committed if it resolves, rolled back if it throws. */
  transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** The default store: an embedded database in this directory. */
export const DEFAULT_DB_DIR = ".veritrace/db";

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== "") u.password = "***";
    return u.toString();
  } catch {
    return url;
  }
}

class PgliteDatabase implements Database {
  readonly engine = "pglite" as const;
  constructor(
    private readonly db: PGlite,
    readonly location: string,
    private readonly lock: StoreLock | null,
  ) {}
  async query<T extends object>(text: string, params: readonly unknown[] = []): Promise<T[]> {
    return (await this.db.query<T>(text, [...params])).rows;
  }
  async copyOut(select: string): Promise<Uint8Array> {
    const result = await this.db.query(`COPY (${select}) TO '/dev/blob'`);
    // No rows: PGlite hands over no blob at all.
    return result.blob === undefined
      ? new Uint8Array(0)
      : new Uint8Array(await result.blob.arrayBuffer());
  }
  async transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T> {
    return this.db.transaction(async (tx) =>
      fn({
        query: async <R extends object>(text: string, params: readonly unknown[] = []) =>
          (await tx.query<R>(text, [...params])).rows,
      }),
    );
  }
  async close(): Promise<void> {
    try {
      await this.db.close();
    } finally {
      this.lock?.release();
    }
  }
}

class PostgresDatabase implements Database {
  readonly engine = "postgres" as const;
  constructor(
    private readonly pool: pg.Pool,
    readonly location: string,
  ) {}
  async query<T extends object>(text: string, params: readonly unknown[] = []): Promise<T[]> {
    return (await this.pool.query<T & pg.QueryResultRow>(text, [...params])).rows;
  }
  async transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query("BEGIN");
      const result = await fn({
        query: async <R extends object>(text: string, params: readonly unknown[] = []) =>
          (await client.query<R & pg.QueryResultRow>(text, [...params])).rows,
      });
      await client.query("COMMIT");
      return result;
    } catch (error) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }
  async close(): Promise<void> {
    await this.pool.end();
  }
}

/** Whether a --db value names a PostgreSQL server rather than a directory. */
export function isPostgresUrl(target: string): boolean {
  return /^postgres(ql)?:\/\//i.test(target);
}

/**
 * Opens the store: a PostgreSQL server for a postgres:// URL, else embedded PGlite in the given
 * directory (created if missing). Without a target: DATABASE_URL if set, else {@link DEFAULT_DB_DIR}.
 * Fails with one clear message when the server can't be reached.
 *
 * A directory is opened by one process at a time: its lock (lock.ts) is taken before PGlite
 * touches a file, and released by {@link Database.close} (or when the process ends). A second
 * opener fails with one line naming the holder. A PostgreSQL server takes any number of
 * processes: no lock.
 */
export async function openDatabase(
  target?: string,
  options: { mustExist?: boolean } = {},
): Promise<Database> {
  const where = target ?? process.env["DATABASE_URL"] ?? DEFAULT_DB_DIR;
  if (isPostgresUrl(where)) {
    let url: URL;
    try {
      url = new URL(where);
    } catch {
      throw new InvalidInputError(`bad database URL: ${redact(where)}`);
    }
    const pool = new pg.Pool({
      connectionString: url.toString(),
      max: 4,
      connectionTimeoutMillis: 5000,
    });
    pool.on("error", () => undefined);
    try {
      await pool.query("SELECT 1");
    } catch (error) {
      await pool.end().catch(() => undefined);
      throw new UnavailableError(`cannot connect to ${redact(where)}: ${(error as Error).message}`);
    }
    return new PostgresDatabase(pool, redact(where));
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(where)) {
    throw new InvalidInputError(
      `unsupported database URL ${redact(where)} (use postgres://… or a directory)`,
    );
  }
  // A read command must not create (and migrate) a store it was only asked to read.
  if (options.mustExist === true && !existsSync(path.join(where, "PG_VERSION"))) {
    throw new NotFoundError(
      `no store in ${where}: fill one first (veritrace index, labels import or transfers), or name it with --db`,
    );
  }
  try {
    mkdirSync(where, { recursive: true });
  } catch (error) {
    throw new TracerError(`cannot create database directory ${where}: ${(error as Error).message}`);
  }
  let lock: StoreLock;
  try {
    lock = await lockStore(where);
  } catch (error) {
    if (error instanceof TracerError) throw error;
    throw new TracerError(`cannot lock the store ${where}: ${(error as Error).message}`);
  }
  try {
    return new PgliteDatabase(await PGlite.create(where), where, lock);
  } catch (error) {
    lock.release();
    throw new UnavailableError(
      `cannot open embedded database in ${where}: ${(error as Error).message}`,
    );
  }
}

/** An in-memory embedded database (tests, throw-away runs). */
export async function openMemoryDatabase(): Promise<Database> {
  return new PgliteDatabase(await PGlite.create(), "memory", null);
}
