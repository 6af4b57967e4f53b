/**
 * Keyset pagination: a page is `{items, nextCursor}`; the cursor is opaque to clients
 * (base64url of JSON naming the listing and the last item's position), so a walk never skips
 * or repeats an item when rows are added behind it.
 */

/** One page of a listing. */
export interface Page<T> {
  items: T[];
  /** Pass as ?cursor= for the next page; null on the last page. */
  nextCursor: string | null;
}

/** Longest cursor accepted, in characters. */
const MAX_CURSOR = 2048;

/** A client's pagination parameters could not be read: the message says why. */
export class PaginationError extends Error {
  override name = "PaginationError";
}

/** The position of the last item of a page, as its listing defines it. */
export type Position = string | number | readonly (string | number)[];

export function encodeCursor(listing: string, position: Position): string {
  return Buffer.from(JSON.stringify({ l: listing, p: position }), "utf8").toString("base64url");
}

/**
 * The position a cursor names, checked by `read` (which returns null for a position of the wrong
 * shape). Throws a {@link PaginationError} for a cursor that is not one of this listing's.
 */
export function decodeCursor<P>(
  cursor: string,
  listing: string,
  read: (position: unknown) => P | null,
): P {
  if (cursor.length > MAX_CURSOR || !/^[A-Za-z0-9_-]+$/.test(cursor)) {
    throw new PaginationError("cursor: not a cursor this server returned");
  }
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    throw new PaginationError("cursor: not a cursor this server returned");
  }
  if (typeof decoded !== "object" || decoded === null || !("l" in decoded) || !("p" in decoded)) {
    throw new PaginationError("cursor: not a cursor this server returned");
  }
  if (decoded.l !== listing) {
    throw new PaginationError("cursor: belongs to another listing");
  }
  const position = read(decoded.p);
  if (position === null) throw new PaginationError("cursor: not a cursor this server returned");
  return position;
}

/** How a listing is ordered: an item's position, the order of positions, a cursor's position read back. */
export interface Order<T, P extends Position> {
  position(item: T): P;
  compare(a: P, b: P): number;
  /** The position a cursor holds, or null when it is not of this listing's shape. */
  read(position: unknown): P | null;
}

/**
 * A page of a list already sorted by `order`: the first `limit` items after the position of
 * `cursor` (from the start without one). Throws a {@link PaginationError} for a cursor that is not
 * one of `listing`'s.
 */
export function pageOf<T, P extends Position>(
  sorted: readonly T[],
  listing: string,
  order: Order<T, P>,
  query: { limit: number; cursor?: string | undefined },
): Page<T> {
  const { position, compare } = order;
  const { limit, cursor } = query;
  const after = cursor === undefined ? undefined : decodeCursor(cursor, listing, order.read);
  let start = 0;
  if (after !== undefined) {
    // Binary search for the first item strictly after the cursor's position.
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const item = sorted[mid] as T;
      if (compare(position(item), after) <= 0) lo = mid + 1;
      else hi = mid;
    }
    start = lo;
  }
  const items = sorted.slice(start, start + limit);
  const last = items[items.length - 1];
  const more = start + limit < sorted.length;
  return {
    items,
    nextCursor: more && last !== undefined ? encodeCursor(listing, position(last)) : null,
  };
}

/** Compares non-negative decimal integers of any size (ids beyond 2^53). */
export function compareDecimal(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

/** Whether `v` is a non-negative decimal integer without leading zeros, up to uint256. */
export function isDecimalId(v: unknown): v is string {
  return typeof v === "string" && /^(0|[1-9]\d{0,77})$/.test(v);
}

/** Whether `v` is a non-negative safe integer. */
export function isIndex(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}
