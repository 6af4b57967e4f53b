/**
 * Provenance: the paths along which taint travelled, kept bounded.
 *
 * A path is a chain of nodes in a forest; a node is one tainted transfer (an edge id) and its
 * parent node (the path that brought the taint to the transfer's sender). Paths share their
 * prefixes, so a path costs one node per transfer. Each account keeps its taint split into at most
 * `maxPaths` components (node, amount), the largest ones; the rest is pooled as unexplained taint.
 * The forest has a global node budget; past it, new taint is unexplained (with a warning).
 */
import type { TaintPath, TaintedEdge } from "./types.js";

/** The parent of the first node of a path. */
export const ROOT = -1;
/** Taint whose path is not kept (pooled, or provenance off, or the budget spent). */
export const UNEXPLAINED = -2;
/** The edge of a balance seed's root node: the taint sat at the seeded address. */
export const NO_EDGE = -1;

/** Default global bound on provenance nodes (8 bytes each). */
export const DEFAULT_NODE_BUDGET = 16_000_000;

export class PathForest {
  private edges = new Int32Array(1024);
  private parents = new Int32Array(1024);
  size = 0;
  exhausted = false;

  constructor(
    readonly enabled: boolean,
    private readonly budget = DEFAULT_NODE_BUDGET,
  ) {}

  /** The node extending `parent` by `edge`, or UNEXPLAINED when no provenance is kept for it. */
  add(edge: number, parent: number): number {
    if (parent === UNEXPLAINED || !this.enabled) return UNEXPLAINED;
    if (this.size >= this.budget) {
      this.exhausted = true;
      return UNEXPLAINED;
    }
    if (this.size === this.edges.length) {
      const edges = new Int32Array(this.size * 2);
      edges.set(this.edges);
      this.edges = edges;
      const parents = new Int32Array(this.size * 2);
      parents.set(this.parents);
      this.parents = parents;
    }
    this.edges[this.size] = edge;
    this.parents[this.size] = parent;
    return this.size++;
  }

  edgeOf(node: number): number {
    return this.edges[node] ?? NO_EDGE;
  }

  parentOf(node: number): number {
    return this.parents[node] ?? ROOT;
  }
}

/**
 * Taint of one account split by path: `nodes[i]` carried `amounts[i]`, sorted by amount
 * descending then node ascending, at most `maxPaths` of them; `other` is the unexplained rest.
 */
export class Components {
  nodes: number[] = [];
  amounts: bigint[] = [];
  other = 0n;

  /** Sum of the explained components. */
  explained(): bigint {
    let s = 0n;
    for (const a of this.amounts) s += a;
    return s;
  }
}

const before = (a: bigint, n: number, b: bigint, m: number) => a > b || (a === b && n < m);

/** Adds `amount` along `node`, keeping the `k` largest components and pooling the rest. */
export function addComponent(c: Components, node: number, amount: bigint, k: number): void {
  if (amount === 0n) return;
  if (node === UNEXPLAINED || k === 0) {
    c.other += amount;
    return;
  }
  const { nodes, amounts } = c;
  let n = nodes.length;
  if (n >= k) {
    const lastAmount = amounts[n - 1] as bigint;
    const lastNode = nodes[n - 1] as number;
    if (!before(amount, node, lastAmount, lastNode)) {
      c.other += amount;
      return;
    }
    c.other += lastAmount;
    nodes.pop();
    amounts.pop();
    n--;
  }
  insertSorted(c, n, node, amount);
}

/**
 * Puts (`node`, `amount`) in its place among the first `end` components of `c`, which are in
 * order; those after its place move up one slot, into slot `end` at the last.
 */
function insertSorted(c: Components, end: number, node: number, amount: bigint): void {
  const { nodes, amounts } = c;
  let i = end;
  while (i > 0 && before(amount, node, amounts[i - 1] as bigint, nodes[i - 1] as number)) {
    nodes[i] = nodes[i - 1] as number;
    amounts[i] = amounts[i - 1] as bigint;
    i--;
  }
  nodes[i] = node;
  amounts[i] = amount;
}

/** What `apportion` took out of an account: components (nodes, amounts) and unexplained taint. */
export class Taken {
  nodes: number[] = [];
  amounts: bigint[] = [];
  count = 0;
  other = 0n;

  reset(): void {
    this.count = 0;
    this.other = 0n;
  }

  push(node: number, amount: bigint): void {
    this.nodes[this.count] = node;
    this.amounts[this.count] = amount;
    this.count++;
  }

  /**
   * Rescales what was taken, which sums to `from`, to sum to `to` (a conversion's output), by
   * cumulative rounding as {@link apportion} does: exact, each share proportional.
   */
  scale(from: bigint, to: bigint): void {
    let cum = 0n;
    let prev = 0n;
    for (let i = 0; i < this.count; i++) {
      cum += this.amounts[i] as bigint;
      const f = (to * cum) / from;
      this.amounts[i] = f - prev;
      prev = f;
    }
    this.other = to - prev;
  }
}

/**
 * Takes `part` out of `c`, whose components (explained then `other`) sum to `total`, sharing it
 * by cumulative rounding: with A_i the sum of the first i components, component i gives
 * floor(part·A_i/total) − floor(part·A_(i−1)/total). The shares sum to `part` exactly and none
 * exceeds its component. Writes the shares into `out` (after `out.reset()`).
 */
export function apportion(c: Components, part: bigint, total: bigint, out: Taken): void {
  out.reset();
  const { nodes, amounts } = c;
  const n = nodes.length;
  if (part === total) {
    for (let i = 0; i < n; i++) out.push(nodes[i] as number, amounts[i] as bigint);
    out.other = c.other;
    nodes.length = 0;
    amounts.length = 0;
    c.other = 0n;
    return;
  }
  let cum = 0n;
  let prev = 0n;
  let zeros = false;
  for (let i = 0; i < n; i++) {
    const a = amounts[i] as bigint;
    cum += a;
    const f = cum === total ? part : (part * cum) / total;
    const q = f - prev;
    prev = f;
    if (q !== 0n) {
      out.push(nodes[i] as number, q);
      amounts[i] = a - q;
      if (a === q) zeros = true;
    }
  }
  const q = part - prev;
  out.other = q;
  c.other -= q;
  // Drop emptied components, and restore the order (shares are proportional, so it is nearly kept).
  let w = 0;
  for (let i = 0; i < n; i++) {
    const a = amounts[i] as bigint;
    if (zeros && a === 0n) continue;
    insertSorted(c, w, nodes[i] as number, a);
    w++;
  }
  nodes.length = w;
  amounts.length = w;
}

/**
 * The path ending at `node`: its transfers in chain order. `origin` is where the taint was
 * seeded: the seeded address for a balance seed (the root's edge is `NO_EDGE − k` for the k-th
 * balance seed, whose address is `origins[k]`), the recipient of the seed transfer otherwise.
 */
export function pathOf(
  forest: PathForest,
  node: number,
  amount: bigint,
  edges: readonly TaintedEdge[],
  origins: readonly string[],
): TaintPath {
  const steps: TaintedEdge[] = [];
  let origin: string | undefined;
  for (let at = node; at !== ROOT; at = forest.parentOf(at)) {
    const e = forest.edgeOf(at);
    if (e >= 0) steps.push(edges[e] as TaintedEdge);
    else origin = origins[NO_EDGE - e];
  }
  steps.reverse();
  return { origin: origin ?? steps[0]?.to ?? "", amount, steps };
}

/** The reported paths of an account's components, and their sum. */
export function pathsOf(
  forest: PathForest,
  c: Components | undefined,
  edges: readonly TaintedEdge[],
  origins: readonly string[],
): { paths: TaintPath[]; explained: bigint } {
  if (c === undefined) return { paths: [], explained: 0n };
  const paths = c.nodes.map((node, i) =>
    pathOf(forest, node, c.amounts[i] as bigint, edges, origins),
  );
  return { paths, explained: c.explained() };
}
