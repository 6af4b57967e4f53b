/**
 * The fund-flow picture, whichever renderer draws it: one node per address, sized by the taint
 * it stands for (in the seed's asset), filled by its label's category (the colors of
 * docs/flow-pictures.md), exits shaped by kind, holdings with a thick dark-blue border; a
 * conversion through a node of its own (the pool, the wrapper); one edge per sender → receiver
 * and asset with the transfers merged, labeled with the tainted amount and colored by its asset;
 * deposit addresses boxed with their exchange. What is drawn is analytics/funds/flow.ts's, as in
 * the pictures of `veritrace trace --graph`. Positions are computed here (columns by hops from
 * the seed), so a graph of thousands of nodes draws without a layout run.
 */
import type { FlowEdge, FlowNode, TraceAnswer } from "./api.js";
import { formatAmount, short } from "./format.js";
import { PALETTE } from "../../src/analytics/labels/categories.js";
import {
  Valuation,
  assetColor,
  assetUnits,
  conversionName,
  mergeFlows,
  type FlowTransfer,
} from "../../src/analytics/funds/flow.js";

/** The fill of each legend entry: the server's palette (the pictures of `veritrace trace` too). */
export { PALETTE };

export type Shape =
  | "ellipse"
  | "round-rectangle"
  | "hexagon"
  | "octagon"
  | "triangle"
  | "tag"
  | "diamond"
  | "rhomboid";

/** The shape of each kind of exit (the server's list: a new kind fails the type check here). */
export const SHAPES: Readonly<Record<NonNullable<FlowNode["exit"]>["kind"], Shape>> = {
  exchange: "round-rectangle",
  bridge: "hexagon",
  mixer: "octagon",
  service: "diamond",
  burn: "triangle",
  fee: "tag",
};

/** The shape of a conversion's node (a pool, a wrapper). */
export const CONVERSION_SHAPE: Shape = "rhomboid";

/** The look shared by both renderers and the SVG export. */
export const LOOK = {
  nodeFill: "#ffffff",
  conversionFill: "#e0f2f1",
  border: "#37474f",
  borderWidth: 1.5,
  seedBorderWidth: 4,
  heldBorder: "#0d47a1",
  heldBorderWidth: 5,
  edge: "#37474f",
  near: "#1565c0",
  selected: "#1565c0",
  /** A box of deposit addresses: its border, fill, and the room around its members. */
  cluster: "#2e7d32",
  clusterFill: "#f1f8e9",
  clusterPadding: 16,
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

/** An asset as the page shows it: its decimals, its unit, its arrows' colour. */
export interface AssetLook {
  token: string;
  decimals: number;
  unit: string;
  color: string;
  seed: boolean;
}

/** The assets of a trace, in the legend's order, and how amounts are written. */
export interface Assets {
  /** Whether the trace follows every asset: amounts then name their asset. */
  multi: boolean;
  seedAsset: string;
  list: AssetLook[];
  /** An amount of `token` (default: the seed's asset), with its unit when `multi`. */
  money(amount: bigint | string, token?: string): string;
  /** The colour of an asset's edges. */
  color(token: string): string;
}

/** The assets of an answer of `POST /trace` (its `assets`, in the legend's order). */
export function assetLooks(answer: Pick<TraceAnswer, "assets" | "decimals" | "summary">): Assets {
  const multi = answer.summary.token === "all";
  const seedAsset = answer.summary.seedAsset;
  const units = assetUnits(
    answer.assets.map((a) => a.token),
    new Map(answer.assets.map((a) => [a.token, a.symbol])),
  );
  const list = answer.assets.map((a, i): AssetLook => ({
    token: a.token,
    // The seed's asset as the trace's `decimals` says (the command's --decimals, in its picture).
    decimals: (a.token === seedAsset ? answer.decimals : a.decimals) ?? a.decimals ?? 0,
    unit: units.get(a.token) ?? a.token,
    color: assetColor(i),
    seed: a.token === seedAsset,
  }));
  const byToken = new Map(list.map((a) => [a.token, a]));
  return {
    multi,
    seedAsset,
    list,
    money(amount, token = seedAsset) {
      const a = byToken.get(token);
      const text = formatAmount(amount, a?.decimals ?? answer.decimals ?? 0);
      return multi ? `${text} ${a?.unit ?? short(token)}` : text;
    },
    color: (token) => byToken.get(token)?.color ?? LOOK.edge,
  };
}

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
  /** The address, or a conversion's id (`0xpool/swap`). */
  id: string;
  kind: "address" | "conversion";
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

/** One edge per sender → receiver and asset, the transfers merged. */
export interface ModelEdge {
  id: string;
  /** Indexes into the model's nodes. */
  source: number;
  target: number;
  step: number;
  token: string;
  color: string;
  tainted: bigint;
  transfers: number;
}

/** The deposit addresses of one exchange, boxed with it (indexes into the model's nodes). */
export interface ModelCluster {
  id: string;
  label: string;
  members: number[];
}

export interface FlowModel {
  nodes: ModelNode[];
  edges: ModelEdge[];
  clusters: ModelCluster[];
  /** The edge's label: its tainted amount (and how many transfers it merges). */
  edgeLabel: (e: ModelEdge) => string;
}

/** The box around a cluster's members (their outlines, padded), in model coordinates. */
export function clusterBox(
  model: FlowModel,
  cluster: ModelCluster,
): { x: number; y: number; w: number; h: number } {
  let [x1, y1, x2, y2] = [Infinity, Infinity, -Infinity, -Infinity];
  for (const i of cluster.members) {
    const n = model.nodes[i];
    if (n === undefined) continue;
    x1 = Math.min(x1, n.x - n.size / 2);
    y1 = Math.min(y1, n.y - n.size / 2);
    x2 = Math.max(x2, n.x + n.size / 2);
    y2 = Math.max(y2, n.y + n.size / 2);
  }
  // Room for the box's label above, and for the members' labels below them.
  const pad = LOOK.clusterPadding;
  const below = 4 + 3 * LOOK.nodeFontSize * 1.2;
  if (x1 > x2) return { x: 0, y: 0, w: 0, h: 0 };
  return {
    x: x1 - pad,
    y: y1 - pad - LOOK.nodeFontSize * 1.5,
    w: x2 - x1 + 2 * pad,
    h: y2 - y1 + 2 * pad + below + LOOK.nodeFontSize * 1.5,
  };
}

/** A wire edge as flow.ts reads it: amounts as integers. */
function transferOf(e: FlowEdge): FlowTransfer {
  return {
    from: e.from,
    to: e.to,
    token: e.token,
    amount: BigInt(e.amount),
    tainted: BigInt(e.tainted),
    fate: e.fate,
    ...(e.out === undefined
      ? {}
      : {
          out: {
            token: e.out.token,
            amount: BigInt(e.out.amount),
            tainted: BigInt(e.out.tainted),
            steps: e.out.steps.map((s) => ({ ...s, amountOut: BigInt(s.amountOut) })),
          },
        }),
  };
}

/** Columns: hops from the seed's sources along the edges (breadth first). */
function columns(
  ids: readonly string[],
  seeds: readonly string[],
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
  let frontier = seeds.filter((a) => !received.has(a));
  if (frontier.length === 0) frontier = [...seeds];
  if (frontier.length === 0 && ids[0] !== undefined) frontier = [ids[0]];
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
  for (const id of ids) if (!level.has(id)) level.set(id, 0);
  return level;
}

/** The picture of a trace: the nodes placed and styled, the transfers merged into edges. */
export function flowModel(
  nodes: readonly FlowNode[],
  edges: readonly FlowEdge[],
  assets: Assets,
  /** Wraps tall columns (below) when the graph has more nodes and merged edges than this. */
  options: { wrapAbove?: number } = {},
): FlowModel {
  const money = assets.money;
  const transfers = edges.map(transferOf);
  const valuation = new Valuation(assets.seedAsset, transfers);
  const merged = mergeFlows(transfers);
  const conversions = [...merged.conversions.values()].sort((a, b) =>
    a.id < b.id ? -1 : a.id > b.id ? 1 : 0,
  );
  const ids = [...nodes.map((n) => n.address), ...conversions.map((c) => c.id)];
  const index = new Map<string, number>();
  ids.forEach((id, i) => index.set(id, i));
  const modelEdges: ModelEdge[] = [];
  const values: bigint[] = [];
  const through = new Map<string, bigint>();
  for (const f of merged.flows) {
    const source = index.get(f.from);
    const target = index.get(f.to);
    if (source === undefined || target === undefined) continue;
    const value = valuation.value(f.token, f.tainted);
    if (merged.conversions.has(f.to)) through.set(f.to, (through.get(f.to) ?? 0n) + value);
    values.push(value);
    modelEdges.push({
      id: `${f.from}>${f.to}>${f.token}`,
      source,
      target,
      step: 0,
      token: f.token,
      color: assets.color(f.token),
      tainted: f.tainted,
      transfers: f.transfers.length,
    });
  }

  // The deposit addresses of each exchange, with the exchange when it is in the graph.
  const boxes = new Map<string, ModelCluster>();
  nodes.forEach((n, i) => {
    const of = n.exit?.depositOf;
    if (of === undefined) return;
    let box = boxes.get(of.address);
    if (box === undefined) {
      box = { id: `cluster:${of.address}`, label: `deposit addresses of ${of.label}`, members: [] };
      boxes.set(of.address, box);
    }
    box.members.push(i);
  });
  for (const [exchange, box] of boxes) {
    const at = index.get(exchange);
    if (at !== undefined && !box.members.includes(at)) box.members.push(at);
  }
  const clusters = [...boxes.values()];

  const level = columns(
    ids,
    nodes.filter((n) => n.seed).map((n) => n.address),
    merged.flows,
  );
  // A box's members share a column (the furthest of theirs), one under the other.
  for (const c of clusters) {
    const col = Math.max(...c.members.map((i) => level.get(ids[i] ?? "") ?? 0));
    for (const i of c.members) level.set(ids[i] ?? "", col);
  }
  const order: number[] = [];
  const placed = new Set<number>();
  const boxOf = new Map<number, ModelCluster>();
  for (const c of clusters) for (const i of c.members) boxOf.set(i, c);
  ids.forEach((_, i) => {
    if (placed.has(i)) return;
    for (const j of boxOf.get(i)?.members ?? [i]) {
      placed.add(j);
      order.push(j);
    }
  });

  const x = new Map<number, number>();
  let rowsPerColumn = Infinity;
  if (ids.length + modelEdges.length > (options.wrapAbove ?? Infinity)) {
    // A large graph's hop columns can hold thousands of addresses: each is then wrapped into
    // side-by-side columns of at most `rowsPerColumn` rows, so that the whole graph is about as
    // wide as a screen is (16:9) and fits one with every node on it.
    rowsPerColumn = Math.max(
      10,
      Math.ceil(Math.sqrt((ids.length * LOOK.columnGap) / (1.8 * LOOK.rowGap))),
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
  const position = new Map<number, { x: number; y: number }>();
  const rows = new Map<number, number>();
  for (const i of order) {
    const col = level.get(ids[i] ?? "") ?? 0;
    const row = rows.get(col) ?? 0;
    rows.set(col, row + 1);
    position.set(i, {
      x:
        rowsPerColumn === Infinity
          ? col * LOOK.columnGap
          : (x.get(col) ?? 0) + Math.floor(row / rowsPerColumn) * LOOK.columnGap,
      y: (rowsPerColumn === Infinity ? row : row % rowsPerColumn) * LOOK.rowGap,
    });
  }

  let maxWeight = 0n;
  const weights = [
    ...nodes.map((n) => BigInt(n.weight)),
    ...conversions.map((c) => through.get(c.id) ?? 0n),
  ];
  for (const w of weights) if (w > maxWeight) maxWeight = w;
  /** A node's amounts in each asset that `pick` names ("400 USDC, 0.2 WETH"). */
  const perAsset = (n: FlowNode, pick: (a: FlowNode["assets"][number]) => string | null) => {
    const parts = n.assets
      .filter((a) => BigInt(pick(a) ?? "0") > 0n)
      .map((a) => money(pick(a) ?? "0", a.token));
    return parts.length === 0 ? money(0n) : parts.join(", ");
  };
  const say = (
    n: FlowNode,
    total: string,
    pick: (a: FlowNode["assets"][number]) => string | null,
  ) => (assets.multi ? perAsset(n, pick) : money(total));
  const modelNodes = ids.map((id, i): ModelNode => {
    const at = position.get(i) ?? { x: 0, y: 0 };
    const s = step(weights[i] ?? 0n, maxWeight);
    const n = nodes[i];
    if (n === undefined) {
      const c = merged.conversions.get(id);
      return {
        id,
        kind: "conversion",
        ...at,
        step: s,
        size: nodeSize(s),
        fill: c?.crossing === undefined ? LOOK.conversionFill : PALETTE.bridge,
        category: null,
        shape: CONVERSION_SHAPE,
        seed: false,
        held: false,
        label:
          c === undefined
            ? id
            : `${conversionName(c.venue, c.action, c.crossing)}\n${short(c.contract)}`,
      };
    }
    const what =
      n.exit !== null
        ? `${n.exit.kind} exit · ${say(n, n.exit.amount, (a) => a.exited)}`
        : n.held !== null
          ? `holds ${say(n, n.held, (a) => a.held)}`
          : n.seed
            ? `seed · sent ${say(n, n.taintOut, (a) => a.taintOut)}`
            : `passed ${say(n, n.taintOut, (a) => a.taintOut)}`;
    const category = n.category;
    return {
      id,
      kind: "address",
      ...at,
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
  modelEdges.forEach((e, i) => (e.step = step(values[i] ?? 0n, maxWeight)));
  return {
    nodes: modelNodes,
    edges: modelEdges,
    clusters,
    edgeLabel: (e) =>
      `${money(e.tainted, e.token)}${e.transfers > 1 ? ` (${e.transfers} tx)` : ""}`,
  };
}

export interface DrawOptions {
  assets: Assets;
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
  rhomboid: [-1, -1, 0.333, -1, 1, 1, -0.333, 1],
};

/** The corner radius of a round rectangle (cytoscape's `getRoundRectangleRadius`). */
export const cornerRadius = (w: number, h: number): number => Math.min(w / 4, h / 4, 8);

/** An arrowhead's size for an edge width (cytoscape's `getArrowWidth`, triangle of 0.3 × it). */
export const arrowSize = (width: number): number => Math.max(Math.pow(width * 13.37, 0.9), 29);
