/**
 * Address exposure: walking backwards through an address's inflows, the share of what it
 * received that originates from labeled addresses, per risk category and hop distance, with the
 * haircut rule applied backwards in exact integer arithmetic (docs/risk.md, "The method").
 *
 * The inflows of every address are indexed once ({@link InflowIndex}); the exposure an address
 * carries with a given hop budget is computed once and kept ({@link ExposureEngine}), as the
 * cumulative exposure after each of its inflows that carried some, so that any later outflow
 * reads the sender's exposure at that moment with one binary search.
 */
import { InvalidInputError, TracerError } from "../../shared/errors.js";
import { prepareLog, ZERO_ID } from "../funds/log.js";
import type { LabelLookup, Transfer } from "../funds/types.js";
import { EXPOSURE_CATEGORIES, type ExposureCategory } from "./config.js";

/** Transfers counted: by block (inclusive) and by block time (unix seconds, inclusive). */
export interface RiskWindow {
  fromBlock?: number;
  toBlock?: number;
  fromTime?: number;
  toTime?: number;
}

const CATEGORY_COUNT = EXPOSURE_CATEGORIES.length;
const CATEGORY_INDEX: ReadonlyMap<string, number> = new Map(
  EXPOSURE_CATEGORIES.map((c, i) => [c, i]),
);
/** No label of an exposure category: the walk goes through the address. */
const UNLABELED = -1;
/** The zero address: mints are clean, and nothing is walked back through it. */
const NO_HISTORY = -2;

function inWindow(t: Transfer, w: RiskWindow): boolean {
  return (
    (w.fromBlock === undefined || t.blockNumber >= w.fromBlock) &&
    (w.toBlock === undefined || t.blockNumber <= w.toBlock) &&
    (w.fromTime === undefined || t.time >= w.fromTime) &&
    (w.toTime === undefined || t.time <= w.toTime)
  );
}

/**
 * Every address's inflows of one token within a window, in chain order, with their running
 * totals: built once, read by every walk.
 */
export class InflowIndex {
  /** Transfers kept, in chain order (position i). */
  readonly length: number;
  readonly addresses: readonly string[];
  readonly ids: ReadonlyMap<string, number>;
  /** Inflows of id a: positions inPos[inStart[a] … inStart[a+1]), ascending. */
  readonly inStart: Int32Array;
  readonly inPos: Int32Array;
  /** Sender id of position i. */
  readonly from: Int32Array;
  /** Amount of position i. */
  readonly amounts: readonly bigint[];
  /** Received by the inflow's receiver up to and including each inflow (aligned with inPos). */
  readonly received: readonly bigint[];
  /** The exposure category index of each id, UNLABELED or NO_HISTORY. */
  readonly category: Int8Array;
  /** The label's text of labeled ids. */
  readonly labelText: ReadonlyMap<number, string>;
  private readonly transfers: readonly Transfer[];
  private readonly order: Int32Array;

  constructor(
    transfers: readonly Transfer[],
    options: { token: string; window?: RiskWindow; labels?: LabelLookup; extra?: Iterable<string> },
  ) {
    const w = options.window ?? {};
    const windowed =
      w.fromBlock === undefined &&
      w.toBlock === undefined &&
      w.fromTime === undefined &&
      w.toTime === undefined
        ? transfers
        : transfers.filter((t) => inWindow(t, w));
    const log = prepareLog(windowed, options.token, options.extra ?? []);
    const n = log.length;
    const size = log.addresses.length;
    this.length = n;
    this.addresses = log.addresses;
    this.ids = log.ids;
    this.from = log.from;
    this.transfers = log.all;
    this.order = log.order;
    const inStart = new Int32Array(size + 1);
    for (let i = 0; i < n; i++) {
      const slot = (log.to[i] as number) + 1;
      inStart[slot] = (inStart[slot] as number) + 1;
    }
    for (let a = 0; a < size; a++)
      inStart[a + 1] = (inStart[a + 1] as number) + (inStart[a] as number);
    const fill = inStart.slice(0, size);
    const inPos = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const to = log.to[i] as number;
      inPos[fill[to] as number] = i;
      fill[to] = (fill[to] as number) + 1;
    }
    const amounts = new Array<bigint>(n);
    for (let i = 0; i < n; i++) amounts[i] = (log.all[log.order[i] as number] as Transfer).amount;
    const received = new Array<bigint>(n);
    for (let a = 0; a < size; a++) {
      let sum = 0n;
      for (let j = inStart[a] as number; j < (inStart[a + 1] as number); j++) {
        sum += amounts[inPos[j] as number] as bigint;
        received[j] = sum;
      }
    }
    const category = new Int8Array(size).fill(UNLABELED);
    category[ZERO_ID] = NO_HISTORY;
    const labelText = new Map<number, string>();
    if (options.labels !== undefined) {
      for (let a = 1; a < size; a++) {
        const label = options.labels(log.addresses[a] as string);
        const c = label === undefined ? undefined : CATEGORY_INDEX.get(label.category);
        if (c !== undefined && label !== undefined) {
          category[a] = c;
          labelText.set(a, label.label);
        }
      }
    }
    this.inStart = inStart;
    this.inPos = inPos;
    this.amounts = amounts;
    this.received = received;
    this.category = category;
    this.labelText = labelText;
  }

  /** The transfer at chain position i. */
  transfer(i: number): Transfer {
    return this.transfers[this.order[i] as number] as Transfer;
  }

  /** How many inflows of `id` come before chain position `p`. */
  inflowsBefore(id: number, p: number): number {
    const start = this.inStart[id] as number;
    let lo = start;
    let hi = this.inStart[id + 1] as number;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.inPos[mid] as number) < p) lo = mid + 1;
      else hi = mid;
    }
    return lo - start;
  }

  /** What `id` received in its first `k` inflows. */
  receivedIn(id: number, k: number): bigint {
    return k === 0 ? 0n : (this.received[(this.inStart[id] as number) + k - 1] as bigint);
  }
}

/**
 * An exposure vector: amounts by slot, slot = (distance − 1) × categories + category, sparse
 * (slots ascending, no zero amount).
 */
export interface Vector {
  readonly slots: readonly number[];
  readonly values: readonly bigint[];
}

const EMPTY: Vector = { slots: [], values: [] };

function add(a: Vector, b: Vector): Vector {
  if (a.slots.length === 0) return b;
  const slots: number[] = [];
  const values: bigint[] = [];
  let i = 0;
  let j = 0;
  while (i < a.slots.length || j < b.slots.length) {
    const sa = a.slots[i] ?? Number.MAX_SAFE_INTEGER;
    const sb = b.slots[j] ?? Number.MAX_SAFE_INTEGER;
    if (sa === sb) {
      slots.push(sa);
      values.push((a.values[i++] as bigint) + (b.values[j++] as bigint));
    } else if (sa < sb) {
      slots.push(sa);
      values.push(a.values[i++] as bigint);
    } else {
      slots.push(sb);
      values.push(b.values[j++] as bigint);
    }
  }
  return { slots, values };
}

/**
 * The exposure an address received with a hop budget: after each of its inflows that carried
 * some (its index among the address's inflows, ascending), the cumulative vector.
 */
export interface Flow {
  readonly inflows: Int32Array;
  readonly cumulative: readonly Vector[];
}

const NO_FLOW: Flow = { inflows: new Int32Array(0), cumulative: [] };

/** One address's exposure, per category and hop distance. */
export interface Exposure {
  address: string;
  /** Everything it received in the window. */
  received: bigint;
  /** Its own label, if it has one of an exposure category. */
  label: { category: ExposureCategory; label: string } | null;
  /** Amounts by category and hop distance (byHop[d − 1]); categories without exposure left out. */
  categories: { category: ExposureCategory; byHop: bigint[] }[];
}

/**
 * Memoized backward walks over an {@link InflowIndex}: the exposure of (address, hop budget) is
 * computed at most once, whichever screened address needs it.
 */
export class ExposureEngine {
  /** flows[h][id]: the flow of id with budget h (1…maxHops). */
  private readonly flows: (Flow | undefined)[][];

  constructor(
    readonly index: InflowIndex,
    readonly maxHops: number,
  ) {
    if (!Number.isSafeInteger(maxHops) || maxHops < 1)
      throw new InvalidInputError(`hops ${String(maxHops)} is not an integer ≥ 1`);
    this.flows = Array.from(
      { length: maxHops + 1 },
      () => new Array<Flow | undefined>(index.addresses.length),
    );
  }

  /** The slot of a category at hop distance d. */
  static slot(category: number, d: number): number {
    return (d - 1) * CATEGORY_COUNT + category;
  }

  /** The exposure of `id` from its first `k` inflows, with budget h. */
  vectorBefore(id: number, h: number, k: number): Vector {
    const f = this.flow(id, h);
    // The last inflow with exposure among the first k.
    let lo = 0;
    let hi = f.inflows.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((f.inflows[mid] as number) < k) lo = mid + 1;
      else hi = mid;
    }
    return lo === 0 ? EMPTY : (f.cumulative[lo - 1] as Vector);
  }

  /**
   * What inflow `j` (an index into inPos) of a receiver carried with budget h: all of it to
   * the sender's category if labeled, else the sender's exposure at that moment in proportion.
   */
  carried(j: number, h: number): Vector {
    const ix = this.index;
    const p = ix.inPos[j] as number;
    const sender = ix.from[p] as number;
    const c = ix.category[sender] as number;
    const amount = ix.amounts[p] as bigint;
    if (c >= 0) return { slots: [c], values: [amount] };
    if (c === NO_HISTORY || h <= 1) return EMPTY;
    const k = ix.inflowsBefore(sender, p);
    if (k === 0) return EMPTY;
    const v = this.vectorBefore(sender, h - 1, k);
    if (v.slots.length === 0) return EMPTY;
    const total = ix.receivedIn(sender, k);
    const slots: number[] = [];
    const values: bigint[] = [];
    for (let s = 0; s < v.slots.length; s++) {
      const x = ((v.values[s] as bigint) * amount) / total;
      if (x > 0n) {
        slots.push((v.slots[s] as number) + CATEGORY_COUNT);
        values.push(x);
      }
    }
    return slots.length === 0 ? EMPTY : { slots, values };
  }

  /** The flow of `id` with budget h (computed once). */
  flow(id: number, h: number): Flow {
    const row = this.flows[h];
    if (row === undefined) throw new TracerError(`hop budget ${h} is beyond ${this.maxHops}`);
    const known = row[id];
    if (known !== undefined) return known;
    const ix = this.index;
    const start = ix.inStart[id] as number;
    const end = ix.inStart[id + 1] as number;
    const inflows: number[] = [];
    const cumulative: Vector[] = [];
    let sum = EMPTY;
    for (let j = start; j < end; j++) {
      const v = this.carried(j, h);
      if (v.slots.length === 0) continue;
      sum = add(sum, v);
      inflows.push(j - start);
      cumulative.push(sum);
    }
    const f = inflows.length === 0 ? NO_FLOW : { inflows: Int32Array.from(inflows), cumulative };
    row[id] = f;
    return f;
  }

  /** The exposure of an address (lower-case) with `hops` (≤ maxHops). */
  exposure(address: string, hops = this.maxHops): Exposure {
    const ix = this.index;
    const id = ix.ids.get(address);
    if (id === undefined || id === ZERO_ID)
      return { address, received: 0n, label: null, categories: [] };
    const deg = (ix.inStart[id + 1] as number) - (ix.inStart[id] as number);
    const total = this.vectorBefore(id, hops, deg);
    const byCategory = new Map<number, bigint[]>();
    total.slots.forEach((slot, s) => {
      const c = slot % CATEGORY_COUNT;
      const d = Math.floor(slot / CATEGORY_COUNT);
      const row = byCategory.get(c) ?? new Array<bigint>(hops).fill(0n);
      row[d] = total.values[s] as bigint;
      byCategory.set(c, row);
    });
    const own = ix.category[id] as number;
    return {
      address,
      received: ix.receivedIn(id, deg),
      label:
        own >= 0
          ? {
              category: EXPOSURE_CATEGORIES[own] as ExposureCategory,
              label: ix.labelText.get(id) ?? "",
            }
          : null,
      categories: [...byCategory.entries()]
        .sort(([a], [b]) => a - b)
        .map(([c, byHop]) => ({ category: EXPOSURE_CATEGORIES[c] as ExposureCategory, byHop })),
    };
  }
}

export { CATEGORY_COUNT, CATEGORY_INDEX, NO_HISTORY };
