/**
 * The fund-flow picture, whichever renderer draws it: one node per address, sized by the taint
 * it stands for, filled by its label's category (the colors of docs/flow-pictures.md), exits
 * shaped by kind, holdings with a thick dark-blue border; one edge per sender → receiver with the
 * transfers merged, labeled with the tainted amount. Positions are computed here (columns by hops
 * from the seed), so a graph of thousands of nodes draws without a layout run.
 */
import type { FlowEdge, FlowNode } from "./api.js";
import { formatAmount, short } from "./format.js";
import { PALETTE } from "../../src/analytics/labels/categories.js";

/** The fill of each legend entry: the server's palette (the pictures of `veritrace trace` too). */
export { PALETTE };

export type Shape =
  "ellipse" | "round-rectangle" | "hexagon" | "octagon" | "triangle" | "tag" | "diamond";

/** The shape of each kind of exit (the server's list: a new kind fails the type check here). */
export const SHAPES: Readonly<Record<NonNullable<FlowNode["exit"]>["kind"], Shape>> = {
  exchange: "round-rectangle",
  bridge: "hexagon",
  mixer: "octagon",
  service: "diamond",
  burn: "triangle",
  fee: "tag",
};

/** The look shared by both renderers and the SVG export. */
export const LOOK = {
  nodeFill: "#ffffff",
  border: "#37474f",
  borderWidth: 1.5,
  seedBorderWidth: 4,
  heldBorder: "#0d47a1",
  heldBorderWidth: 5,
  edge: "#37474f",
  near: "#1565c0",
  selected: "#1565c0",
  font: "system-ui, sans-serif",
  nodeFontSize: 11,
  edgeFontSize: 10,
  /** Below this size on screen (px), cytoscape leaves a label out: so does the canvas. */
  minNodeFontPx: 7,
  minEdgeFontPx: 8,
  text: "#111",
  columnGap: 260,
  rowGap: 110,
} as const;

/** 0 to 1 on a log scale: the largest is 1, each tenfold less a quarter less (as the SVG). */
function scale(amount: bigint, max: bigint): number {
  if (amount <= 0n || max <= 0n) return 0;
  const ppm = Number((amount * 1_000_000n) / max);
  if (ppm <= 0) return 0;
  return Math.min(1, Math.max(0, 1 + Math.log10(ppm / 1_000_000) / 4));
}

/** Sizes and widths come in {@link STEPS} + 1 steps of the scale. */
export const STEPS = 8;
const step = (amount: bigint, max: bigint): number => Math.round(scale(amount, max) * STEPS);
export const nodeSize = (s: number): number => 36 * Math.sqrt(1 + (3 * s) / STEPS);
export const edgeWidth = (s: number): number => 1 + (5 * s) / STEPS;

/** A node as drawn: position, size and look, in model coordinates. */
export interface ModelNode {
  id: string;
  x: number;
  y: number;
  /** Size step (0 to {@link STEPS}) and its diameter. */
  step: number;
  size: number;
  fill: string;
  /** Set when the category has a color of {@link PALETTE}. */
  category: string | null;
  shape: Shape;
  seed: boolean;
  held: boolean;
  label: string;
}

/** One edge per sender → receiver, the transfers merged. */
export interface ModelEdge {
  id: string;
  /** Indexes into the model's nodes. */
  source: number;
  target: number;
  step: number;
  tainted: bigint;
  transfers: number;
}

export interface FlowModel {
  nodes: ModelNode[];
  edges: ModelEdge[];
  /** The edge's label: its tainted amount (and how many transfers it merges). */
  edgeLabel: (e: ModelEdge) => string;
}

/** Columns: hops from the seed's sources along the edges (breadth first). */
function columns(
  nodes: readonly FlowNode[],
  edges: readonly { from: string; to: string }[],
): Map<string, number> {
  const out = new Map<string, string[]>();
  for (const e of edges) {
    const list = out.get(e.from);
    if (list === undefined) out.set(e.from, [e.to]);
    else list.push(e.to);
  }
  const level = new Map<string, number>();
  const received = new Set(edges.map((e) => e.to));
  // Roots: the seed's sources that nothing tainted reached (the victim), else every source.
  let frontier = nodes.filter((n) => n.seed && !received.has(n.address)).map((n) => n.address);
  if (frontier.length === 0) frontier = nodes.filter((n) => n.seed).map((n) => n.address);
  if (frontier.length === 0 && nodes[0] !== undefined) frontier = [nodes[0].address];
  for (const a of frontier) level.set(a, 0);
  for (let depth = 1; frontier.length > 0; depth++) {
    const next: string[] = [];
    for (const a of frontier)
      for (const b of out.get(a) ?? [])
        if (!level.has(b)) {
          level.set(b, depth);
          next.push(b);
        }
    frontier = next;
  }
  for (const n of nodes) if (!level.has(n.address)) level.set(n.address, 0);
  return level;
}

/** The picture of a trace: the nodes placed and styled, the transfers merged into edges. */
export function flowModel(
  nodes: readonly FlowNode[],
  edges: readonly FlowEdge[],
  decimals: number,
  /** Wraps tall columns (below) when the graph has more nodes and merged edges than this. */
  options: { wrapAbove?: number } = {},
): FlowModel {
  const money = (v: bigint | string) => formatAmount(v, decimals);
  const index = new Map<string, number>();
  nodes.forEach((n, i) => index.set(n.address, i));
  const merged = new Map<string, ModelEdge>();
  const pairs: { from: string; to: string }[] = [];
  for (const e of edges) {
    const key = `${e.from}>${e.to}`;
    let m = merged.get(key);
    if (m === undefined) {
      const source = index.get(e.from);
      const target = index.get(e.to);
      if (source === undefined || target === undefined) continue;
      m = { id: key, source, target, step: 0, tainted: 0n, transfers: 0 };
      merged.set(key, m);
      pairs.push({ from: e.from, to: e.to });
    }
    m.tainted += BigInt(e.tainted);
    m.transfers++;
  }
  const level = columns(nodes, pairs);
  const x = new Map<number, number>();
  let rowsPerColumn = Infinity;
  if (nodes.length + merged.size > (options.wrapAbove ?? Infinity)) {
    // A large graph's hop columns can hold thousands of addresses: each is then wrapped into
    // side-by-side columns of at most `rowsPerColumn` rows, so that the whole graph is about as
    // wide as a screen is (16:9) and fits one with every node on it.
    rowsPerColumn = Math.max(
      10,
      Math.ceil(Math.sqrt((nodes.length * LOOK.columnGap) / (1.8 * LOOK.rowGap))),
    );
    const sizes = new Map<number, number>();
    for (const l of level.values()) sizes.set(l, (sizes.get(l) ?? 0) + 1);
    let at = 0;
    for (const l of [...sizes.keys()].sort((a, b) => a - b)) {
      x.set(l, at);
      // Half a column more between hops, so that the hops stay apart.
      at += (Math.ceil((sizes.get(l) ?? 0) / rowsPerColumn) + 0.5) * LOOK.columnGap;
    }
  }
  const rows = new Map<number, number>();
  let maxWeight = 0n;
  const weights = nodes.map((n) => {
    const w = BigInt(n.weight);
    if (w > maxWeight) maxWeight = w;
    return w;
  });
  const modelNodes = nodes.map((n, i): ModelNode => {
    const col = level.get(n.address) ?? 0;
    const row = rows.get(col) ?? 0;
    rows.set(col, row + 1);
    const what =
      n.exit !== null
        ? `${n.exit.kind} exit · ${money(n.exit.amount)}`
        : n.held !== null
          ? `holds ${money(n.held)}`
          : n.seed
            ? `seed · sent ${money(n.taintOut)}`
            : `passed ${money(n.taintOut)}`;
    const s = step(weights[i] ?? 0n, maxWeight);
    const category = n.category;
    return {
      id: n.address,
      x:
        rowsPerColumn === Infinity
          ? col * LOOK.columnGap
          : (x.get(col) ?? 0) + Math.floor(row / rowsPerColumn) * LOOK.columnGap,
      y: (rowsPerColumn === Infinity ? row : row % rowsPerColumn) * LOOK.rowGap,
      step: s,
      size: nodeSize(s),
      fill: category === null ? LOOK.nodeFill : PALETTE[category],
      category,
      shape: n.exit === null ? (n.seed ? "octagon" : "ellipse") : SHAPES[n.exit.kind],
      seed: n.seed,
      held: n.held !== null,
      label: [short(n.address), n.label ?? "", what].filter((x) => x !== "").join("\n"),
    };
  });
  const modelEdges = [...merged.values()];
  for (const e of modelEdges) e.step = step(e.tainted, maxWeight);
  return {
    nodes: modelNodes,
    edges: modelEdges,
    edgeLabel: (e) => `${money(e.tainted)}${e.transfers > 1 ? ` (${e.transfers} tx)` : ""}`,
  };
}

export interface DrawOptions {
  decimals: number;
  onSelect: (address: string | null) => void;
}

/** Graphs with more elements (nodes and merged edges) than this are drawn by flow-canvas.ts. */
export const LARGE_GRAPH = 2000;

/** What the page does with a drawn graph, whichever renderer drew it. */
export interface FlowView {
  renderer: "cytoscape" | "canvas";
  /** Resolves once the first frame with every node and edge is painted, with their numbers. */
  painted: Promise<{ nodes: number; edges: number }>;
  /** Selects a node (and shows its edges) or clears the selection. */
  select(address: string | null): void;
  fit(): void;
  /** The viewport's pan in pixels (tests and the benchmark check that a drag moved it). */
  pan(): { x: number; y: number };
  /** A node's center in the page's CSS pixels (client coordinates), or null. */
  clientPosition(address: string): { x: number; y: number } | null;
  png(): Blob;
  svg(): string;
  destroy(): void;
}

/** Cytoscape's regular polygon (`generateUnitNgonPointsFitToSquare`): corners in -1…1. */
function ngon(sides: number): number[] {
  const inc = (2 * Math.PI) / sides;
  const start = sides % 2 === 0 ? Math.PI / 2 + inc / 2 : Math.PI / 2;
  const pts: number[] = [];
  for (let i = 0; i < sides; i++) pts.push(Math.cos(start + i * inc), Math.sin(-(start + i * inc)));
  const xs = pts.filter((_, i) => i % 2 === 0);
  const ys = pts.filter((_, i) => i % 2 === 1);
  const sx = 2 / (Math.max(...xs) - Math.min(...xs));
  const sy = 2 / (Math.max(...ys) - Math.min(...ys));
  const out = pts.map((v, i) => v * (i % 2 === 0 ? sx : sy));
  const minY = Math.min(...out.filter((_, i) => i % 2 === 1));
  return minY < -1 ? out.map((v, i) => (i % 2 === 1 ? v + (-1 - minY) : v)) : out;
}

/** The corners (x, y pairs in -1…1) of the polygon shapes, as cytoscape draws them. */
export const POLYGONS: Readonly<Partial<Record<Shape, readonly number[]>>> = {
  hexagon: ngon(6),
  octagon: ngon(8),
  triangle: ngon(3),
  tag: [-1, -1, 0.25, -1, 1, 0, 0.25, 1, -1, 1],
  diamond: [0, -1, 1, 0, 0, 1, -1, 0],
};

/** The corner radius of a round rectangle (cytoscape's `getRoundRectangleRadius`). */
export const cornerRadius = (w: number, h: number): number => Math.min(w / 4, h / 4, 8);

/** An arrowhead's size for an edge width (cytoscape's `getArrowWidth`, triangle of 0.3 × it). */
export const arrowSize = (width: number): number => Math.max(Math.pow(width * 13.37, 0.9), 29);
