/**
 * The paths behind an exposure: chains of transfers from a labeled address to the screened one,
 * each with the amount it delivered under the backward haircut (docs/risk.md, "Paths"). Found
 * best first: a partial path's bound is the exposure its earliest transfer carried, carried on
 * to the screened address, which no completion of it exceeds, so the first complete paths taken
 * from the queue are the largest.
 */
import { EXPOSURE_CATEGORIES, type ExposureCategory } from "./config.js";
import { CATEGORY_COUNT, ExposureEngine, type Vector } from "./exposure.js";

/** One transfer of a path. */
export interface PathStep {
  txHash: string;
  blockNumber: number;
  /** Position of the transfer in its block (ERC-20: the log index). */
  ordinal: number;
  from: string;
  to: string;
  amount: bigint;
}

/** A way exposure reached the screened address: from `source` (labeled), in chain order. */
export interface ExposurePath {
  category: ExposureCategory;
  /** The exposure the path delivered to the screened address. */
  amount: bigint;
  source: string;
  sourceLabel: string;
  steps: PathStep[];
}

/** Partial paths a search expands at most (per category): beyond, fewer paths are reported. */
export const PATH_SEARCH_BUDGET = 5000;

interface Partial {
  bound: bigint;
  complete: boolean;
  /** The address whose inflows come next, the number of them before the step, its budget. */
  node: number;
  before: number;
  budget: number;
  /** From this node to the screened address: each step's amount and its sender's received. */
  suffix: readonly (readonly [bigint, bigint])[];
  /** Chain positions, source first. */
  steps: readonly number[];
}

/** A max-heap of partial paths by bound (fewer steps first on a tie). */
class Queue {
  private readonly items: Partial[] = [];
  get size(): number {
    return this.items.length;
  }
  private before(a: Partial, b: Partial): boolean {
    return a.bound > b.bound || (a.bound === b.bound && a.steps.length < b.steps.length);
  }
  push(p: Partial): void {
    const items = this.items;
    items.push(p);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(items[i] as Partial, items[parent] as Partial)) break;
      [items[i], items[parent]] = [items[parent] as Partial, items[i] as Partial];
      i = parent;
    }
  }
  pop(): Partial | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last !== undefined) {
      items[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let best = i;
        if (l < items.length && this.before(items[l] as Partial, items[best] as Partial)) best = l;
        if (r < items.length && this.before(items[r] as Partial, items[best] as Partial)) best = r;
        if (best === i) break;
        [items[i], items[best]] = [items[best] as Partial, items[i] as Partial];
        i = best;
      }
    }
    return top;
  }
}

/** The amount of category c in a vector, every distance. */
function categoryAmount(v: Vector | undefined, c: number): bigint {
  if (v === undefined) return 0n;
  let sum = 0n;
  for (let s = 0; s < v.slots.length; s++)
    if ((v.slots[s] as number) % CATEGORY_COUNT === c) sum += v.values[s] as bigint;
  return sum;
}

/** An amount at a node carried on along a suffix to the screened address. */
function along(amount: bigint, suffix: readonly (readonly [bigint, bigint])[]): bigint {
  let v = amount;
  for (const [a, total] of suffix) v = (v * a) / total;
  return v;
}

/** The `limit` largest paths of a category into `address`, with `hops` (≤ the engine's). */
export function topPaths(
  engine: ExposureEngine,
  address: string,
  category: ExposureCategory,
  limit: number,
  hops = engine.maxHops,
): ExposurePath[] {
  const ix = engine.index;
  const id = ix.ids.get(address);
  const c = EXPOSURE_CATEGORIES.indexOf(category);
  if (id === undefined || limit <= 0 || c < 0) return [];
  const deg = (ix.inStart[id + 1] as number) - (ix.inStart[id] as number);
  const queue = new Queue();
  queue.push({
    bound: 1n,
    complete: false,
    node: id,
    before: deg,
    budget: hops,
    suffix: [],
    steps: [],
  });
  const found: ExposurePath[] = [];
  let expanded = 0;
  while (found.length < limit && expanded < PATH_SEARCH_BUDGET) {
    const p = queue.pop();
    if (p === undefined) break;
    if (p.complete) {
      found.push(pathOf(engine, category, p));
      continue;
    }
    expanded++;
    const flow = engine.flow(p.node, p.budget);
    const start = ix.inStart[p.node] as number;
    for (let i = 0; i < flow.inflows.length && (flow.inflows[i] as number) < p.before; i++) {
      const carried =
        categoryAmount(flow.cumulative[i], c) - categoryAmount(flow.cumulative[i - 1], c);
      if (carried === 0n) continue;
      const j = start + (flow.inflows[i] as number);
      const pos = ix.inPos[j] as number;
      const sender = ix.from[pos] as number;
      const bound = along(carried, p.suffix);
      if (bound === 0n) continue;
      const steps = [pos, ...p.steps];
      if (ix.category[sender] === c) {
        queue.push({
          bound,
          complete: true,
          node: sender,
          before: 0,
          budget: 0,
          suffix: [],
          steps,
        });
      } else {
        const k = ix.inflowsBefore(sender, pos);
        queue.push({
          bound,
          complete: false,
          node: sender,
          before: k,
          budget: p.budget - 1,
          suffix: [[ix.amounts[pos] as bigint, ix.receivedIn(sender, k)], ...p.suffix],
          steps,
        });
      }
    }
  }
  return found;
}

function pathOf(engine: ExposureEngine, category: ExposureCategory, p: Partial): ExposurePath {
  const ix = engine.index;
  return {
    category,
    amount: p.bound,
    source: ix.addresses[p.node] as string,
    sourceLabel: ix.labelText.get(p.node) ?? "",
    steps: p.steps.map((pos) => {
      const t = ix.transfer(pos);
      return {
        txHash: t.txHash,
        blockNumber: t.blockNumber,
        ordinal: t.ordinal,
        from: t.from,
        to: t.to,
        amount: t.amount,
      };
    }),
  };
}
