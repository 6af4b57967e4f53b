/**
 * Exchange deposit addresses (F. Victor, "Address clustering heuristics for Ethereum", Financial
 * Cryptography 2020; docs/clustering.md). An exchange gives each customer an address of their
 * own to pay into; that address forwards what it receives to the exchange's hot wallet soon
 * after, the same amount or a little less (a fee), one deposit at a time or several swept
 * together. An address that does this with a labeled exchange, within τ blocks and α of the
 * amount, is a deposit address of that exchange; the senders who pay into it are one customer.
 *
 * A pure function over one token's transfers: exact integer amounts, the same result for the
 * same transfers in any order.
 */
import { InvalidInputError } from "../../shared/errors.js";

/** One movement of the token, as the stored transfers give it (addresses lower-case). */
export interface DepositTransfer {
  blockNumber: number;
  ordinal: number;
  txHash: string;
  from: string;
  to: string;
  amount: bigint;
}

/** A relative tolerance α = numerator / denominator, 0 ≤ α < 1, exact. */
export interface Fraction {
  numerator: bigint;
  denominator: bigint;
}

export interface DepositOptions {
  /** The label of each exchange address (lower-case), by address. */
  exchanges: ReadonlyMap<string, string>;
  /** τ: the most blocks between an inflow and the forward that carries it on. */
  maxBlocks?: number;
  /** α: how much less than it received a forward may carry, relative to what it received. */
  tolerance?: Fraction;
  /** The least share of its inflows an address forwards within τ and α to be a deposit address. */
  minShare?: Fraction;
}

/** The reference implementation's τ (etherclust's maxBlockDiff). */
export const DEFAULT_MAX_BLOCKS = 10_000;
/** α: 1 % (the reference allows 0.01 ether below the inflow for ether, nothing for tokens). */
export const DEFAULT_TOLERANCE: Fraction = { numerator: 1n, denominator: 100n };
/** A deposit address forwards at least half of what it receives. */
export const DEFAULT_MIN_SHARE: Fraction = { numerator: 1n, denominator: 2n };

/** Reads α written as a decimal fraction ("0.01"), exactly; 0 ≤ α < 1. */
export function parseFraction(text: string, what = "the tolerance"): Fraction {
  const m = /^0?\.(\d{1,18})$|^0$/.exec(text.trim());
  if (m === null)
    throw new InvalidInputError(
      `${what} must be a decimal fraction at least 0 and below 1 (such as 0.01), got ${JSON.stringify(text.slice(0, 40))}`,
    );
  const digits = m[1] ?? "";
  return { numerator: BigInt(`0${digits}`), denominator: 10n ** BigInt(digits.length) };
}

/** α as a decimal fraction ("0.01"). */
export function formatFraction(f: Fraction): string {
  if (f.numerator === 0n) return "0";
  const places = f.denominator.toString().length - 1;
  if (10n ** BigInt(places) !== f.denominator) return `${f.numerator}/${f.denominator}`;
  return `0.${f.numerator.toString().padStart(places, "0")}`.replace(/0+$/, "");
}

/** A transfer named by its transaction and position. */
export interface TransferRef {
  txHash: string;
  blockNumber: number;
  ordinal: number;
  amount: bigint;
}

/** An inflow of a deposit address: who paid it in. */
export interface Inflow extends TransferRef {
  from: string;
}

/** One forward to an exchange and the inflows it carried on: the heuristic's evidence. */
export interface Forward extends TransferRef {
  /** The exchange address it went to, and that address's label. */
  to: string;
  exchange: string;
  /** The inflows it carries on, in chain order (one, or several swept together). */
  inflows: Inflow[];
  /** What those inflows brought in. */
  received: bigint;
  /** received − forwarded: the fee, or 0. */
  shortBy: bigint;
  /** Blocks from the first of those inflows to the forward. */
  blocksApart: number;
}

/** An exchange a deposit address forwards to, with what it forwarded there within τ and α. */
export interface ForwardTarget {
  address: string;
  label: string;
  forwarded: bigint;
  forwards: number;
}

export interface DepositAddress {
  address: string;
  /** The exchange it forwarded the most to (first of `exchanges`). */
  exchange: ForwardTarget;
  /** Every exchange it forwarded to, most forwarded first (equal: by address). */
  exchanges: ForwardTarget[];
  /** The senders of the inflows it forwarded (the customer's addresses), sorted. */
  senders: string[];
  /** Every forward to an exchange that carried inflows on, in chain order. */
  forwards: Forward[];
  /** All it received from others than exchanges (the zero address's mints are not counted). */
  received: bigint;
  /** What of that it forwarded to exchanges within τ and α. */
  matched: bigint;
  /** Transfers to exchanges that carried no inflow on within τ and α. */
  unmatchedForwards: number;
  /** matched / received in basis points (rounded down): the confidence. */
  shareBasisPoints: number;
}

export const ZERO_ADDRESS = "0x0000000000000000000000000000000000000000";

const chainOrder = (a: DepositTransfer, b: DepositTransfer) =>
  a.blockNumber - b.blockNumber ||
  a.ordinal - b.ordinal ||
  (a.txHash < b.txHash ? -1 : a.txHash > b.txHash ? 1 : 0);

const ref = (t: DepositTransfer): TransferRef => ({
  txHash: t.txHash,
  blockNumber: t.blockNumber,
  ordinal: t.ordinal,
  amount: t.amount,
});

/** Whether `forwarded` is what `received` was, or less by at most α of it. */
function withinTolerance(received: bigint, forwarded: bigint, tolerance: Fraction): boolean {
  return (
    forwarded <= received &&
    (received - forwarded) * tolerance.denominator <= tolerance.numerator * received
  );
}

/**
 * The waiting inflows (in chain order) a forward of `amount` carries on, by their positions: the
 * newest run whose sum it matches within the tolerance (the newest alone, else the newest two, …:
 * a sweep), else the newest single inflow it matches (an older deposit forwarded after a newer
 * one arrived); null when none.
 */
function carriedBy(
  waiting: readonly Inflow[],
  amount: bigint,
  tolerance: Fraction,
): number[] | null {
  let sum = 0n;
  for (let k = waiting.length - 1; k >= 0; k--) {
    sum += (waiting[k] as Inflow).amount;
    if (sum < amount) continue;
    if (withinTolerance(sum, amount, tolerance))
      return Array.from({ length: waiting.length - k }, (_, i) => k + i);
    break;
  }
  for (let k = waiting.length - 1; k >= 0; k--)
    if (withinTolerance((waiting[k] as Inflow).amount, amount, tolerance)) return [k];
  return null;
}

/**
 * The heuristic's candidates, each with all it reads of them: every address that is no exchange
 * and sends to one (not the zero address), by address, with its own transfers (sent or received;
 * self-transfers and zero amounts left out) in chain order. Made once from a token's transfers for
 * one set of exchanges, it lets {@link assessDepositAddresses} judge any addresses again without
 * reading the stream: an address's verdict depends on its own transfers only.
 */
export type DepositCandidates = ReadonlyMap<string, readonly DepositTransfer[]>;

/** The {@link DepositCandidates} among `transfers`, for the exchanges `exchanges` names. */
export function depositCandidates(
  transfers: readonly DepositTransfer[],
  exchanges: ReadonlyMap<string, string>,
): DepositCandidates {
  const byCandidate = new Map<string, DepositTransfer[]>();
  for (const t of transfers)
    if (
      exchanges.has(t.to) &&
      !exchanges.has(t.from) &&
      t.from !== ZERO_ADDRESS &&
      t.amount > 0n &&
      !byCandidate.has(t.from)
    )
      byCandidate.set(t.from, []);
  if (byCandidate.size > 0)
    for (const t of transfers) {
      if (t.from === t.to || t.amount === 0n) continue;
      byCandidate.get(t.from)?.push(t);
      byCandidate.get(t.to)?.push(t);
    }
  for (const list of byCandidate.values()) list.sort(chainOrder);
  return byCandidate;
}

/**
 * Finds the deposit addresses among the senders to exchanges: {@link assessDepositAddresses} over
 * every one of them.
 */
export function findDepositAddresses(
  transfers: readonly DepositTransfer[],
  options: DepositOptions,
): DepositAddress[] {
  return assessDepositAddresses(depositCandidates(transfers, options.exchanges), options);
}

/**
 * Judges the candidates among `among` (lower-case; default: every candidate); `candidates` is made
 * for the exchanges `options` names. Each candidate's transfers are read in chain order:
 * inflows from others than exchanges wait, for τ blocks, to be forwarded; a transfer to an
 * exchange carries on the waiting inflows it matches within α ({@link carriedBy}), which then wait
 * no more. A candidate is a deposit address when some forward matched and what its forwards
 * carried is at least `minShare` of what it received. Results are in address order.
 */
export function assessDepositAddresses(
  candidates: DepositCandidates,
  options: DepositOptions,
  among?: Iterable<string>,
): DepositAddress[] {
  const maxBlocks = options.maxBlocks ?? DEFAULT_MAX_BLOCKS;
  const tolerance = options.tolerance ?? DEFAULT_TOLERANCE;
  const minShare = options.minShare ?? DEFAULT_MIN_SHARE;
  const isExchange = (a: string) => options.exchanges.has(a);
  const assessed =
    among === undefined
      ? [...candidates.keys()]
      : [...new Set(among)].filter((a) => candidates.has(a));
  const found: DepositAddress[] = [];
  for (const address of assessed.sort()) {
    const deposit = assess(address, candidates.get(address) ?? []);
    if (deposit !== null) found.push(deposit);
  }
  return found;

  /** The candidate as a deposit address, or null when it is none. */
  function assess(address: string, own: readonly DepositTransfer[]): DepositAddress | null {
    let waiting: Inflow[] = [];
    const forwards: Forward[] = [];
    let received = 0n;
    let unmatchedForwards = 0;
    for (const t of own) {
      if (t.to === address) {
        if (isExchange(t.from) || t.from === ZERO_ADDRESS) continue;
        received += t.amount;
        waiting.push({ ...ref(t), from: t.from });
        continue;
      }
      const exchange = options.exchanges.get(t.to);
      if (exchange === undefined) continue;
      waiting = waiting.filter((i) => t.blockNumber - i.blockNumber <= maxBlocks);
      const positions = carriedBy(waiting, t.amount, tolerance);
      if (positions === null) {
        unmatchedForwards++;
        continue;
      }
      const carried = positions.map((i) => waiting[i] as Inflow);
      waiting = waiting.filter((_, i) => !positions.includes(i));
      const sum = carried.reduce((n, i) => n + i.amount, 0n);
      const first = carried[0] as Inflow;
      forwards.push({
        ...ref(t),
        to: t.to,
        exchange,
        inflows: carried,
        received: sum,
        shortBy: sum - t.amount,
        blocksApart: t.blockNumber - first.blockNumber,
      });
    }
    const matched = forwards.reduce((n, f) => n + f.received, 0n);
    if (forwards.length === 0 || matched * minShare.denominator < minShare.numerator * received)
      return null;
    const targets = new Map<string, ForwardTarget>();
    for (const f of forwards) {
      const target = targets.get(f.to) ?? {
        address: f.to,
        label: f.exchange,
        forwarded: 0n,
        forwards: 0,
      };
      target.forwarded += f.amount;
      target.forwards++;
      targets.set(f.to, target);
    }
    const exchanges = [...targets.values()].sort(
      (a, b) =>
        (a.forwarded > b.forwarded ? -1 : a.forwarded < b.forwarded ? 1 : 0) ||
        (a.address < b.address ? -1 : 1),
    );
    return {
      address,
      exchange: exchanges[0] as ForwardTarget,
      exchanges,
      senders: [...new Set(forwards.flatMap((f) => f.inflows.map((i) => i.from)))].sort(),
      forwards,
      received,
      matched,
      unmatchedForwards,
      shareBasisPoints: received === 0n ? 0 : Number((matched * 10_000n) / received),
    };
  }
}
