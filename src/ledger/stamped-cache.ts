/**
 * Answers built from the store, kept per database until the store changes: the API answers the
 * same case list and case reports again and again between two writes of the indexer, and each
 * one reads and decodes many events (a case with 1 000 custody entries: tens of milliseconds).
 * One query of the store's stamp per call tells whether a kept answer still holds.
 */
import type { Sql } from "../db/db.js";

/**
 * What changes whenever the indexer writes or rolls back events: its checkpoint, moved (with
 * `updated_at = now()`) in the same transaction as every write and every rollback
 * (Store.writeRange, Store.rollbackTo); null before the first one.
 */
export async function storeStamp(db: Sql): Promise<string | null> {
  const rows = await db.query<{ stamp: string }>(
    "SELECT block_number::text || ' ' || block_hash || ' ' || updated_at::text AS stamp FROM checkpoint WHERE id = 1",
  );
  return rows[0]?.stamp ?? null;
}

/** Freezes a value and everything in it: kept answers are shared between callers. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** A cache of answers by key, per database, each valid under the store stamp it was built at. */
export class StampedCache<V> {
  private readonly byDb = new WeakMap<Sql, Map<string, { stamp: string; value: V }>>();

  /** @param size answers kept per database (the most recently used) */
  constructor(private readonly size: number) {}

  /**
   * The answer for `key`: kept, if built under the store's current stamp; else built by `build`
   * (and kept, frozen). The stamp is read before `build` reads the store: an answer built from
   * newer events than its stamp is filed under the older stamp, so the next call (seeing a newer
   * stamp) builds it again; never the reverse. Failures are not kept.
   */
  async get(db: Sql, key: string, build: () => Promise<V>): Promise<V> {
    const stamp = await storeStamp(db);
    if (stamp === null) return build();
    let cache = this.byDb.get(db);
    if (cache === undefined) this.byDb.set(db, (cache = new Map()));
    const hit = cache.get(key);
    if (hit !== undefined && hit.stamp === stamp) {
      // The most recently used last.
      cache.delete(key);
      cache.set(key, hit);
      return hit.value;
    }
    const value = deepFreeze(await build());
    cache.delete(key);
    cache.set(key, { stamp, value });
    for (const old of cache.keys()) {
      if (cache.size <= this.size) break;
      cache.delete(old);
    }
    return value;
  }
}
