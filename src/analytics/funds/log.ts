import { InvalidInputError } from "../../shared/errors.js";
import { accountKey, ALL_ASSETS, ZERO_ADDRESS, type Transfer } from "./types.js";

/**
 * The transfers of one token in chain order, with addresses interned to dense integer ids so
 * that the models keep their state in typed arrays. Typed arrays rather than arrays of objects:
 * the garbage collector never scans them. A log of every asset interns accounts, (asset,
 * address) pairs, instead: the same address holds each asset in its own account, and a
 * conversion moves value from an account of one asset to an account of another.
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
  /** Address of each id. Id 0 is the zero address (of the first asset, with every asset). */
  readonly addresses: readonly string[];
  /** Id of each address; with every asset, of each {@link accountKey}. */
  readonly ids: ReadonlyMap<string, number>;
  /** With every asset: the asset of each id. */
  readonly assets: readonly string[] | undefined;
  /** 1 for the ids of the zero address (one per asset with every asset). */
  readonly zero: Uint8Array;
  /** The largest amount kept (a conversion's output included). */
  readonly maxAmount: bigint;
  /** Kept transfers that are conversions. */
  readonly conversions: number;
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
 * Order across chains: time, then the chain, then each chain's own order. (On one chain, time never
 * decreases with the block, so this is chain order there too.)
 */
export function compareAcrossChains(a: Transfer, b: Transfer): number {
  return a.time - b.time || (a.chainId ?? 0) - (b.chainId ?? 0) || compareTransfers(a, b);
}

/**
 * Selects the transfers of `token` (all of them for {@link ALL_ASSETS}), drops those that change
 * nothing (zero amount, self-transfer that converts nothing), puts them in chain order (ingestion
 * usually delivers them sorted: a linear check comes first) and interns their addresses (their
 * accounts with every asset), then the `extra` addresses (accounts: {@link accountKey}).
 */
export function prepareLog(
  all: readonly Transfer[],
  token: string,
  extra: Iterable<string>,
): TransferLog {
  const every = token === ALL_ASSETS;
  const ids = new Map<string, number>();
  const addresses: string[] = [];
  const assets: string[] | undefined = every ? [] : undefined;
  const zeroIds: number[] = [];
  const internKey = (key: string, address: string, asset: string): number => {
    let id = ids.get(key);
    if (id === undefined) {
      id = addresses.length;
      ids.set(key, id);
      addresses.push(address);
      assets?.push(asset);
      if (address === ZERO_ADDRESS) zeroIds.push(id);
    }
    return id;
  };
  const intern = every
    ? (address: string, asset: string) => internKey(accountKey(asset, address), address, asset)
    : (address: string) => internKey(address, address, token);
  if (every) {
    const first = all.find((t) => t.amount !== 0n)?.token ?? "native";
    intern(ZERO_ADDRESS, first);
  } else intern(ZERO_ADDRESS, token);
  let order = new Int32Array(all.length);
  let from = new Int32Array(all.length);
  let to = new Int32Array(all.length);
  let n = 0;
  let sorted = true;
  let last: Transfer | undefined;
  let maxAmount = 0n;
  let conversions = 0;
  const compare =
    every && all.some((t) => t.chainId !== undefined) ? compareAcrossChains : compareTransfers;
  for (let j = 0; j < all.length; j++) {
    const t = all[j] as Transfer;
    if (!every && t.token !== token) continue;
    const amount = t.amount;
    if (typeof amount !== "bigint" || amount <= 0n) {
      if (amount === 0n) continue;
      throw new InvalidInputError(
        `transfer in ${t.txHash} (ordinal ${t.ordinal}) has an invalid amount ${String(amount)}: expected a non-negative bigint`,
      );
    }
    const out = every ? t.out : undefined;
    if (out !== undefined) {
      if (typeof out.amount !== "bigint" || out.amount <= 0n)
        throw new InvalidInputError(
          `conversion in ${t.txHash} (ordinal ${t.ordinal}) has an invalid output ${String(out.amount)}: expected a positive bigint`,
        );
      if (out.amount > maxAmount) maxAmount = out.amount;
      conversions++;
    } else if (t.from === t.to) continue;
    if (amount > maxAmount) maxAmount = amount;
    if (sorted && last !== undefined && compare(last, t) > 0) sorted = false;
    last = t;
    order[n] = j;
    from[n] = intern(t.from, t.token);
    to[n] = intern(t.to, out?.token ?? t.token);
    n++;
  }
  order = order.slice(0, n);
  from = from.slice(0, n);
  to = to.slice(0, n);
  if (!sorted) {
    const perm = Array.from({ length: n }, (_, i) => i);
    perm.sort(
      (a, b) =>
        compare(all[order[a] as number] as Transfer, all[order[b] as number] as Transfer) || a - b,
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
  for (const key of extra) {
    const slash = key.indexOf("/");
    if (every) internKey(key, key.slice(slash + 1), key.slice(0, slash));
    else internKey(key, key, token);
  }
  const zero = new Uint8Array(addresses.length);
  for (const id of zeroIds) zero[id] = 1;
  return {
    all,
    length: n,
    order,
    from,
    to,
    addresses,
    ids,
    assets,
    zero,
    maxAmount,
    conversions,
  };
}
