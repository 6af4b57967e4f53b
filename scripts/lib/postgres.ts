/** Throw-away databases on a PostgreSQL server, for benchmarks and tests. */
import pg from "pg";

/**
 * Creates a new empty database on the server of `adminUrl` (named `prefix_pid_random`) and
 * returns its URL and a `drop()` that removes it. Fails with one line naming the server when it
 * can't be reached.
 */
export async function createPostgresDatabase(
  adminUrl: string,
  prefix: string,
): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `${prefix}_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
  const admin = async <T>(fn: (c: pg.Client) => Promise<T>): Promise<T> => {
    const client = new pg.Client({ connectionString: adminUrl });
    try {
      await client.connect();
    } catch (error) {
      const where = new URL(adminUrl);
      where.password = "";
      throw new Error(
        `cannot reach the PostgreSQL server at ${where.toString()}: ${(error as Error).message}`,
      );
    }
    try {
      return await fn(client);
    } finally {
      await client.end();
    }
  };
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      await admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}
