import { InvalidInputError } from "../../shared/errors.js";
import { ZERO_ADDRESS, type Transfer } from "./types.js";

/**
 * The transfers of one token in chain order, with addresses interned to dense integer ids so
 * that the models keep their state in typed arrays. Typed arrays rather than arrays of objects:
 * the garbage collector never scans them.
 */
export interface TransferLog {
  /** The input, as given. */
  readonly all: readonly Transfer[];
  /** Number of transfers kept: those of the token with a non-zero amount between two addresses. */
  readonly length: number;
  /** Position in `all` of the i-th kept transfer, in chain order. */
  readonly order: Int32Array;
  /** Sender and receiver ids of the i-th kept transfer. */
  readonly from: Int32Array;
  readonly to: Int32Array;
  /** Address of each id. Id 0 is the zero address. */
  readonly addresses: readonly string[];
  /** Id of each address. */
  readonly ids: ReadonlyMap<string, number>;
  /** The largest amount kept. */
  readonly maxAmount: bigint;
}

/** The zero address's id in every log. */
export const ZERO_ID = 0;

const cmpString = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Chain order (block, tx index, ordinal), then, so that the order never depends on the input's
 * order, the remaining fields.
 */
export function compareTransfers(a: Transfer, b: Transfer): number {
  return (
    a.blockNumber - b.blockNumber ||
    a.txIndex - b.txIndex ||
    a.ordinal - b.ordinal ||
    cmpString(a.txHash, b.txHash) ||
    cmpString(a.from, b.from) ||
    cmpString(a.to, b.to) ||
    (a.amount < b.amount ? -1 : a.amount > b.amount ? 1 : 0)
  );
}

/**
 * Selects the transfers of `token`, drops those that change nothing (zero amount, self-transfer),
 * puts them in chain order (ingestion usually delivers them sorted: a linear check comes first)
 * and interns their addresses, then the `extra` addresses.
 */
export function prepareLog(
  all: readonly Transfer[],
  token: string,
  extra: Iterable<string>,
): TransferLog {
  const ids = new Map<string, number>([[ZERO_ADDRESS, ZERO_ID]]);
  const addresses: string[] = [ZERO_ADDRESS];
  const intern = (address: string): number => {
    let id = ids.get(address);
    if (id === undefined) {
      id = addresses.length;
      ids.set(address, id);
      addresses.push(address);
    }
    return id;
  };
  let order = new Int32Array(all.length);
  let from = new Int32Array(all.length);
  let to = new Int32Array(all.length);
  let n = 0;
  let sorted = true;
  let last: Transfer | undefined;
  let maxAmount = 0n;
  for (let j = 0; j < all.length; j++) {
    const t = all[j] as Transfer;
    if (t.token !== token) continue;
    const amount = t.amount;
    if (typeof amount !== "bigint" || amount <= 0n) {
      if (amount === 0n) continue;
      throw new InvalidInputError(
        `transfer in ${t.txHash} (ordinal ${t.ordinal}) has an invalid amount ${String(amount)}: expected a non-negative bigint`,
      );
    }
    if (t.from === t.to) continue;
    if (amount > maxAmount) maxAmount = amount;
    if (sorted && last !== undefined && compareTransfers(last, t) > 0) sorted = false;
    last = t;
    order[n] = j;
    from[n] = intern(t.from);
    to[n] = intern(t.to);
    n++;
  }
  order = order.slice(0, n);
  from = from.slice(0, n);
  to = to.slice(0, n);
  if (!sorted) {
    const perm = Array.from({ length: n }, (_, i) => i);
    perm.sort(
      (a, b) =>
        compareTransfers(
          all[order[a] as number] as Transfer,
          all[order[b] as number] as Transfer,
        ) || a - b,
    );
    const [o, f, r] = [order, from, to];
    order = new Int32Array(n);
    from = new Int32Array(n);
    to = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const p = perm[i] as number;
      order[i] = o[p] as number;
      from[i] = f[p] as number;
      to[i] = r[p] as number;
    }
  }
  for (const address of extra) intern(address);
  return { all, length: n, order, from, to, addresses, ids, maxAmount };
}
