/**
 * The fund-flow graph as a standalone SVG file: every node (its position, size, fill, shape and
 * border) and every edge (its curve, width, color and arrowhead, and for a small graph its
 * amount), taken from what is drawn: cytoscape's rendered styles and positions (so nodes dragged
 * by the analyst stay where they were put), or the canvas renderer's model. No external font,
 * image or reference: the text uses the system's sans-serif font.
 */
import type { Core } from "cytoscape";
import {
  LOOK,
  POLYGONS,
  arrowSize,
  clusterBox,
  cornerRadius,
  edgeWidth,
  type FlowModel,
  type Shape,
} from "./flow-model.js";

interface Point {
  x: number;
  y: number;
}

export interface PictureNode {
  id: string;
  x: number;
  y: number;
  w: number;
  h: number;
  shape: string;
  fill: string;
  stroke: string;
  strokeWidth: number;
  double: boolean;
  /** Lines below the node; empty for none. */
  label: string[];
}

export interface PictureEdge {
  id: string;
  /** Source endpoint, control points (quadratic curves through their midpoints), target. */
  points: Point[];
  width: number;
  color: string;
  arrow: boolean;
  /** The amount shown on the edge, or "" for none. */
  label: string;
  mid: Point;
}

/** A box of deposit addresses: its outline (top-left corner, size) and its label. */
export interface PictureCluster {
  id: string;
  x: number;
  y: number;
  w: number;
  h: number;
  label: string;
}

export interface Picture {
  nodes: PictureNode[];
  edges: PictureEdge[];
  clusters: PictureCluster[];
}

const px = (v: unknown): number => {
  const n = parseFloat(String(v));
  return Number.isFinite(n) ? n : 0;
};

/** What cytoscape draws: its nodes' and edges' positions and rendered styles. */
export function pictureOfCytoscape(cy: Core): Picture {
  const clusters = cy.nodes(":parent").map((n): PictureCluster => {
    const b = n.boundingBox({ includeLabels: true, includeOverlays: false });
    return { id: n.id(), x: b.x1, y: b.y1, w: b.w, h: b.h, label: String(n.data("label") ?? "") };
  });
  const nodes = cy.nodes(":childless").map((n): PictureNode => ({
    id: n.id(),
    x: n.position("x"),
    y: n.position("y"),
    w: n.width(),
    h: n.height(),
    shape: String(n.style("shape")),
    fill: String(n.style("background-color")),
    stroke: String(n.style("border-color")),
    strokeWidth: px(n.style("border-width")),
    double: n.style("border-style") === "double",
    label: String(n.style("label") ?? "")
      .split("\n")
      .filter((l) => l !== ""),
  }));
  const edges = cy.edges().map((e): PictureEdge => {
    const controls = (e.controlPoints() as Point[] | undefined) ?? [];
    return {
      id: e.id(),
      points: [e.sourceEndpoint(), ...controls, e.targetEndpoint()],
      width: px(e.style("width")),
      color: String(e.style("line-color")),
      arrow: e.style("target-arrow-shape") !== "none",
      label: String(e.style("label") ?? ""),
      mid: e.midpoint(),
    };
  });
  return { nodes, edges, clusters };
}

/** What the canvas renderer draws (straight edges, between the nodes' outlines). */
export function pictureOfModel(model: FlowModel): Picture {
  const nodes = model.nodes.map((n): PictureNode => ({
    id: n.id,
    x: n.x,
    y: n.y,
    w: n.size,
    h: n.size,
    shape: n.shape,
    fill: n.fill,
    stroke: n.held ? LOOK.heldBorder : LOOK.border,
    strokeWidth: n.held ? LOOK.heldBorderWidth : n.seed ? LOOK.seedBorderWidth : LOOK.borderWidth,
    double: n.seed,
    label: n.label.split("\n"),
  }));
  const edges: PictureEdge[] = [];
  for (const e of model.edges) {
    const a = model.nodes[e.source];
    const b = model.nodes[e.target];
    if (a === undefined || b === undefined) continue;
    const len = Math.hypot(b.x - a.x, b.y - a.y) || 1;
    const ux = (b.x - a.x) / len;
    const uy = (b.y - a.y) / len;
    edges.push({
      id: e.id,
      points: [
        { x: a.x + (ux * a.size) / 2, y: a.y + (uy * a.size) / 2 },
        { x: b.x - (ux * b.size) / 2, y: b.y - (uy * b.size) / 2 },
      ],
      width: edgeWidth(e.step),
      color: e.color,
      arrow: true,
      label: "",
      mid: { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 },
    });
  }
  const clusters = model.clusters.map((c) => ({
    id: c.id,
    label: c.label,
    ...clusterBox(model, c),
  }));
  return { nodes, edges, clusters };
}

const escape = (s: string): string =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
const num = (v: number): string => String(Math.round(v * 10) / 10);

/** The outline of a node as one SVG element. */
function shapeElement(n: PictureNode, attributes: string): string {
  const poly = POLYGONS[n.shape as Shape];
  if (poly !== undefined) {
    const points: string[] = [];
    for (let i = 0; i + 1 < poly.length; i += 2)
      points.push(
        `${num(n.x + ((poly[i] ?? 0) * n.w) / 2)},${num(n.y + ((poly[i + 1] ?? 0) * n.h) / 2)}`,
      );
    return `<polygon points="${points.join(" ")}" ${attributes}/>`;
  }
  if (n.shape === "round-rectangle" || n.shape === "rectangle") {
    const r = n.shape === "rectangle" ? 0 : cornerRadius(n.w, n.h);
    return `<rect x="${num(n.x - n.w / 2)}" y="${num(n.y - n.h / 2)}" width="${num(n.w)}" height="${num(n.h)}" rx="${num(r)}" ${attributes}/>`;
  }
  return `<ellipse cx="${num(n.x)}" cy="${num(n.y)}" rx="${num(n.w / 2)}" ry="${num(n.h / 2)}" ${attributes}/>`;
}

/** An edge's path: a line, or quadratic curves through the midpoints of its control points. */
function edgePath(points: readonly Point[]): string {
  const [first, ...rest] = points;
  if (first === undefined) return "";
  const last = rest.pop();
  if (last === undefined) return "";
  if (rest.length === 0) return `M${num(first.x)} ${num(first.y)}L${num(last.x)} ${num(last.y)}`;
  let d = `M${num(first.x)} ${num(first.y)}`;
  rest.forEach((c, i) => {
    const next = rest[i + 1];
    const to = next === undefined ? last : { x: (c.x + next.x) / 2, y: (c.y + next.y) / 2 };
    d += `Q${num(c.x)} ${num(c.y)} ${num(to.x)} ${num(to.y)}`;
  });
  return d;
}

/** A triangle at the end of `points`, pointing along the last segment (cytoscape's "triangle"). */
function arrowHead(points: readonly Point[], width: number): string {
  const tip = points.at(-1);
  const from = points.at(-2);
  if (tip === undefined || from === undefined) return "";
  const len = Math.hypot(tip.x - from.x, tip.y - from.y);
  if (len === 0) return "";
  const ux = (tip.x - from.x) / len;
  const uy = (tip.y - from.y) / len;
  const size = arrowSize(width);
  const bx = tip.x - ux * 0.3 * size;
  const by = tip.y - uy * 0.3 * size;
  const h = 0.15 * size;
  return `M${num(tip.x)} ${num(tip.y)}L${num(bx - uy * h)} ${num(by + ux * h)}L${num(bx + uy * h)} ${num(by - ux * h)}Z`;
}

let measurer: CanvasRenderingContext2D | null | undefined;
/** The width of a text in the page's font (for the white box behind an edge's amount). */
function textWidth(text: string, size: number): number {
  measurer ??= document.createElement("canvas").getContext("2d");
  if (measurer === null) return text.length * size * 0.6;
  measurer.font = `${size}px ${LOOK.font}`;
  return measurer.measureText(text).width;
}

/** The picture as a standalone SVG document. */
export function toSvg(picture: Picture, title = "Fund-flow graph"): string {
  const lineHeight = LOOK.nodeFontSize * 1.2;
  const box = { x1: Infinity, y1: Infinity, x2: -Infinity, y2: -Infinity };
  const grow = (x: number, y: number) => {
    box.x1 = Math.min(box.x1, x);
    box.y1 = Math.min(box.y1, y);
    box.x2 = Math.max(box.x2, x);
    box.y2 = Math.max(box.y2, y);
  };
  for (const n of picture.nodes) {
    const r = n.strokeWidth / 2;
    grow(n.x - n.w / 2 - r, n.y - n.h / 2 - r);
    grow(n.x + n.w / 2 + r, n.y + n.h / 2 + r + (n.label.length > 0 ? 4 : 0));
    if (n.label.length > 0) {
      const half = Math.max(...n.label.map((l) => textWidth(l, LOOK.nodeFontSize))) / 2;
      grow(n.x - half, n.y + n.h / 2 + 4 + n.label.length * lineHeight);
      grow(n.x + half, n.y);
    }
  }
  for (const e of picture.edges) for (const p of e.points) grow(p.x, p.y);
  for (const c of picture.clusters) {
    grow(c.x, c.y);
    grow(c.x + c.w, c.y + c.h);
  }
  if (box.x1 > box.x2) Object.assign(box, { x1: 0, y1: 0, x2: 1, y2: 1 });
  const pad = 20;
  const x = box.x1 - pad;
  const y = box.y1 - pad;
  const w = box.x2 - box.x1 + 2 * pad;
  const h = box.y2 - box.y1 + 2 * pad;
  const out: string[] = [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="${num(w)}" height="${num(h)}" viewBox="${num(x)} ${num(y)} ${num(w)} ${num(h)}" font-family="${LOOK.font}">`,
    `<title>${escape(title)}</title>`,
    `<rect x="${num(x)}" y="${num(y)}" width="${num(w)}" height="${num(h)}" fill="#ffffff"/>`,
  ];
  // Boxes of deposit addresses first, under everything else.
  if (picture.clusters.length > 0) {
    out.push(`<g class="clusters" font-size="${LOOK.nodeFontSize}">`);
    for (const c of picture.clusters)
      out.push(
        `<g class="cluster" id="${escape(c.id)}"><rect x="${num(c.x)}" y="${num(c.y)}" width="${num(c.w)}" height="${num(c.h)}" rx="6" fill="${LOOK.clusterFill}" stroke="${LOOK.cluster}" stroke-dasharray="6 4"/>` +
          `<text x="${num(c.x + c.w / 2)}" y="${num(c.y + LOOK.nodeFontSize + 2)}" text-anchor="middle" fill="${LOOK.cluster}">${escape(c.label)}</text></g>`,
      );
    out.push(`</g>`);
  }
  // Edges grouped by look (a large graph's edges share a few), each its own path.
  const groups = new Map<string, PictureEdge[]>();
  for (const e of picture.edges) {
    const key = `${e.color}|${num(e.width)}`;
    const list = groups.get(key);
    if (list === undefined) groups.set(key, [e]);
    else list.push(e);
  }
  out.push(`<g class="edges" fill="none">`);
  for (const list of groups.values()) {
    const first = list[0];
    if (first === undefined) continue;
    out.push(`<g stroke="${escape(first.color)}" stroke-width="${num(first.width)}">`);
    for (const e of list) out.push(`<path class="edge" d="${edgePath(e.points)}"/>`);
    out.push(`</g>`);
    const heads = list.filter((e) => e.arrow).map((e) => arrowHead(e.points, e.width));
    if (heads.length > 0)
      out.push(`<path class="arrows" fill="${escape(first.color)}" d="${heads.join("")}"/>`);
  }
  out.push(`</g>`);
  out.push(`<g class="nodes" font-size="${LOOK.nodeFontSize}" fill="${LOOK.text}">`);
  for (const n of picture.nodes) {
    const attributes = `fill="${escape(n.fill)}" stroke="${escape(n.stroke)}" stroke-width="${num(n.strokeWidth)}"`;
    const parts = [shapeElement(n, attributes)];
    if (n.double)
      parts.push(
        shapeElement(n, `fill="none" stroke="#ffffff" stroke-width="${num(n.strokeWidth / 3)}"`),
      );
    if (n.label.length > 0) {
      const top = n.y + n.h / 2 + 4 + LOOK.nodeFontSize;
      const lines = n.label.map(
        (l, i) => `<tspan x="${num(n.x)}" y="${num(top + i * lineHeight)}">${escape(l)}</tspan>`,
      );
      parts.push(`<text text-anchor="middle">${lines.join("")}</text>`);
    }
    out.push(
      `<g class="node" id="node-${escape(n.id)}"><title>${escape(n.id)}</title>${parts.join("")}</g>`,
    );
  }
  out.push(`</g>`);
  const labeled = picture.edges.filter((e) => e.label !== "");
  if (labeled.length > 0) {
    out.push(`<g class="edge-labels" font-size="${LOOK.edgeFontSize}" text-anchor="middle">`);
    for (const e of labeled) {
      const tw = textWidth(e.label, LOOK.edgeFontSize);
      const hh = LOOK.edgeFontSize / 2 + 1;
      out.push(
        `<rect x="${num(e.mid.x - tw / 2 - 1)}" y="${num(e.mid.y - hh)}" width="${num(tw + 2)}" height="${num(2 * hh)}" fill="#ffffff" fill-opacity="0.85"/>` +
          `<text x="${num(e.mid.x)}" y="${num(e.mid.y)}" dy="0.35em" fill="${LOOK.text}">${escape(e.label)}</text>`,
      );
    }
    out.push(`</g>`);
  }
  out.push(`</svg>`);
  return out.join("\n");
}
