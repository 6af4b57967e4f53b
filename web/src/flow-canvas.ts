/**
 * A large fund-flow graph drawn on a plain canvas: the picture of flow-model.ts (the same
 * positions, sizes, colors, shapes and borders as the cytoscape drawing of a small graph), with
 * pan (drag), zoom (wheel, around the pointer), a node selected by a click (a grid index finds
 * it), the selected node's edges highlighted and labeled, fit, PNG and SVG export.
 *
 * Cheap by construction: the edges of one width are one path (nine strokes for 20 000 edges), the
 * nodes of one look one path; what lies outside the view is skipped; labels are drawn only once
 * they are legible (as cytoscape's `min-zoomed-font-size`), arrowheads only once they are visible.
 * While the view moves, a frame is redrawn in full when that is fast (a few elements in view) and
 * is otherwise the last full frame moved and scaled, redrawn in full once the view is still.
 */
import {
  LOOK,
  POLYGONS,
  arrowSize,
  clusterBox,
  cornerRadius,
  edgeWidth,
  type DrawOptions,
  type FlowModel,
  type FlowView,
  type ModelNode,
  type Shape,
} from "./flow-model.js";
import { pictureOfModel, toSvg } from "./flow-svg.js";

const MIN_ZOOM = 0.02;
const MAX_ZOOM = 4;
const FIT_PADDING = 30;
/** A click this close to a node (in CSS pixels) selects it, however small it is drawn. */
const HIT_SLOP_PX = 6;
/** A full frame faster than this (ms) is redrawn on every move; slower, the bitmap moves. */
const FAST_FRAME_MS = 12;
/** The wheel's zoom: e^(-deltaY × this). */
const WHEEL_ZOOM = 0.0015;
const LABEL_LINE = 1.2;
const GRID_CELL = 128;

/** Screen (CSS px) = model × zoom + (x, y). */
interface Viewport {
  zoom: number;
  x: number;
  y: number;
}

/** Adds a node's outline, `pad` larger on each side, to a path. */
export function shapePath(
  p: CanvasPath,
  shape: Shape,
  x: number,
  y: number,
  size: number,
  pad = 0,
): void {
  const w = size + 2 * pad;
  const h = w;
  const poly = POLYGONS[shape];
  if (poly !== undefined) {
    p.moveTo(x + ((poly[0] ?? 0) * w) / 2, y + ((poly[1] ?? 0) * h) / 2);
    for (let i = 2; i < poly.length; i += 2)
      p.lineTo(x + ((poly[i] ?? 0) * w) / 2, y + ((poly[i + 1] ?? 0) * h) / 2);
    p.closePath();
  } else if (shape === "round-rectangle") {
    p.roundRect(x - w / 2, y - h / 2, w, h, cornerRadius(w, h));
  } else {
    p.moveTo(x + w / 2, y);
    p.ellipse(x, y, w / 2, h / 2, 0, 0, 2 * Math.PI);
  }
}

interface Look {
  fill: string;
  stroke: string;
  width: number;
  double: boolean;
}

const lookOf = (n: ModelNode): Look => ({
  fill: n.fill,
  stroke: n.held ? LOOK.heldBorder : LOOK.border,
  width: n.held ? LOOK.heldBorderWidth : n.seed ? LOOK.seedBorderWidth : LOOK.borderWidth,
  double: n.seed,
});

/** The drawing of a model; `paint` draws one frame of it into a 2D context. */
class Painter {
  /** The edges of one width and colour (one stroke each), thinnest first. */
  readonly edgeGroups: { step: number; color: string; edges: number[] }[];
  readonly looks: { look: Look; nodes: number[] }[] = [];
  readonly lines: string[][];
  readonly maxSize: number;
  readonly boxes: { x: number; y: number; w: number; h: number; label: string }[];

  constructor(readonly model: FlowModel) {
    const groups = new Map<string, { step: number; color: string; edges: number[] }>();
    model.edges.forEach((e, i) => {
      const key = `${e.step}|${e.color}`;
      const group = groups.get(key);
      if (group === undefined) groups.set(key, { step: e.step, color: e.color, edges: [i] });
      else group.edges.push(i);
    });
    this.edgeGroups = [...groups.values()].sort((a, b) => a.step - b.step);
    this.boxes = model.clusters.map((c) => ({ ...clusterBox(model, c), label: c.label }));
    const byKey = new Map<string, { look: Look; nodes: number[] }>();
    model.nodes.forEach((n, i) => {
      const look = lookOf(n);
      const key = `${look.fill}|${look.stroke}|${look.width}|${look.double}`;
      const group = byKey.get(key);
      if (group === undefined) byKey.set(key, { look, nodes: [i] });
      else group.nodes.push(i);
    });
    this.looks = [...byKey.values()];
    this.lines = model.nodes.map((n) => n.label.split("\n"));
    this.maxSize = model.nodes.reduce((m, n) => Math.max(m, n.size), 0);
  }

  /** The extent of the nodes (with room for their labels when `labels`). */
  bounds(labels: boolean): { x1: number; y1: number; x2: number; y2: number } {
    const b = { x1: Infinity, y1: Infinity, x2: -Infinity, y2: -Infinity };
    this.model.nodes.forEach((n, i) => {
      const r = n.size / 2 + LOOK.heldBorderWidth;
      const below = labels ? 4 + (this.lines[i]?.length ?? 0) * LOOK.nodeFontSize * LABEL_LINE : 0;
      const half = labels ? Math.max(r, 60) : r;
      b.x1 = Math.min(b.x1, n.x - half);
      b.x2 = Math.max(b.x2, n.x + half);
      b.y1 = Math.min(b.y1, n.y - r);
      b.y2 = Math.max(b.y2, n.y + r + below);
    });
    for (const box of this.boxes) {
      b.x1 = Math.min(b.x1, box.x);
      b.y1 = Math.min(b.y1, box.y);
      b.x2 = Math.max(b.x2, box.x + box.w);
      b.y2 = Math.max(b.y2, box.y + box.h);
    }
    if (b.x1 > b.x2) return { x1: 0, y1: 0, x2: 1, y2: 1 };
    return b;
  }

  /**
   * Draws the frame of `vp` on a `width` × `height` CSS-pixel area at `ratio` device pixels
   * each; `selected` is a node's index or -1. Returns how many nodes and edges were drawn.
   */
  paint(
    ctx: CanvasRenderingContext2D,
    vp: Viewport,
    width: number,
    height: number,
    ratio: number,
    selected: number,
  ): { nodes: number; edges: number } {
    const { nodes, edges } = this.model;
    const z = vp.zoom;
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(0, 0, width, height);
    ctx.setTransform(ratio * z, 0, 0, ratio * z, ratio * vp.x, ratio * vp.y);
    // The view in model coordinates, widened by the largest node (and its border).
    const m = this.maxSize / 2 + LOOK.heldBorderWidth;
    const x1 = -vp.x / z - m;
    const y1 = -vp.y / z - m;
    const x2 = (width - vp.x) / z + m;
    const y2 = (height - vp.y) / z + m;
    const inView = (n: ModelNode) => n.x >= x1 && n.x <= x2 && n.y >= y1 && n.y <= y2;
    const near = new Set<number>();
    let edgeCount = 0;
    ctx.lineCap = "butt";
    // Boxes of deposit addresses, under everything else.
    for (const b of this.boxes) {
      ctx.beginPath();
      ctx.roundRect(b.x, b.y, b.w, b.h, 6);
      ctx.fillStyle = LOOK.clusterFill;
      ctx.fill();
      ctx.setLineDash([6, 4]);
      ctx.strokeStyle = LOOK.cluster;
      ctx.lineWidth = 1.5;
      ctx.stroke();
      ctx.setLineDash([]);
    }
    const arrows = z * 0.3 * arrowSize(edgeWidth(0)) >= 3;
    for (const { step: s, color, edges: list } of this.edgeGroups) {
      ctx.strokeStyle = color;
      ctx.fillStyle = color;
      ctx.beginPath();
      const heads: number[] = [];
      for (const i of list) {
        const e = edges[i];
        const a = e === undefined ? undefined : nodes[e.source];
        const b = e === undefined ? undefined : nodes[e.target];
        if (e === undefined || a === undefined || b === undefined) continue;
        if (e.source === selected || e.target === selected) near.add(i);
        if (
          Math.max(a.x, b.x) < x1 ||
          Math.min(a.x, b.x) > x2 ||
          Math.max(a.y, b.y) < y1 ||
          Math.min(a.y, b.y) > y2
        )
          continue;
        edgeCount++;
        ctx.moveTo(a.x, a.y);
        ctx.lineTo(b.x, b.y);
        if (arrows && inView(b)) heads.push(i);
      }
      ctx.lineWidth = edgeWidth(s);
      ctx.stroke();
      if (heads.length > 0) {
        ctx.beginPath();
        for (const i of heads) this.arrowPath(ctx, i);
        ctx.fill();
      }
    }
    // The selected node's edges, in blue over the others.
    if (near.size > 0) {
      ctx.strokeStyle = LOOK.near;
      ctx.fillStyle = LOOK.near;
      for (const i of near) {
        const e = edges[i];
        const a = e === undefined ? undefined : nodes[e.source];
        const b = e === undefined ? undefined : nodes[e.target];
        if (e === undefined || a === undefined || b === undefined) continue;
        ctx.beginPath();
        ctx.moveTo(a.x, a.y);
        ctx.lineTo(b.x, b.y);
        ctx.lineWidth = edgeWidth(e.step);
        ctx.stroke();
        ctx.beginPath();
        this.arrowPath(ctx, i);
        ctx.fill();
      }
    }
    let nodeCount = 0;
    for (const { look, nodes: members } of this.looks) {
      ctx.beginPath();
      for (const i of members) {
        const n = nodes[i];
        if (n === undefined || !inView(n)) continue;
        nodeCount++;
        shapePath(ctx, n.shape, n.x, n.y, n.size);
      }
      ctx.fillStyle = look.fill;
      ctx.fill();
      ctx.strokeStyle = look.stroke;
      ctx.lineWidth = look.width;
      ctx.stroke();
      if (look.double) {
        // A double border: a light line along the middle of the thick one.
        ctx.strokeStyle = "#ffffff";
        ctx.lineWidth = look.width / 3;
        ctx.stroke();
      }
    }
    const sel = nodes[selected];
    if (sel !== undefined) {
      ctx.beginPath();
      shapePath(ctx, sel.shape, sel.x, sel.y, sel.size, 6);
      ctx.fillStyle = "rgba(21, 101, 192, 0.25)";
      ctx.fill();
    }
    // Labels once legible, in screen pixels so that text is crisp at any zoom.
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    const fontPx = LOOK.nodeFontSize * z;
    if (fontPx >= LOOK.minNodeFontPx) {
      ctx.font = `${fontPx}px ${LOOK.font}`;
      ctx.textAlign = "center";
      ctx.textBaseline = "top";
      ctx.fillStyle = LOOK.cluster;
      for (const b of this.boxes)
        ctx.fillText(b.label, (b.x + b.w / 2) * z + vp.x, (b.y + 4) * z + vp.y);
      ctx.fillStyle = LOOK.text;
      nodes.forEach((n, i) => {
        if (!inView(n)) return;
        const lines = this.lines[i] ?? [];
        const x = n.x * z + vp.x;
        let y = (n.y + n.size / 2 + 4) * z + vp.y;
        for (const line of lines) {
          ctx.fillText(line, x, y);
          y += fontPx * LABEL_LINE;
        }
      });
    }
    if (sel !== undefined) {
      // A ring of a fixed size on screen, so that the selection shows at any zoom.
      const x = sel.x * z + vp.x;
      const y = sel.y * z + vp.y;
      ctx.beginPath();
      ctx.arc(x, y, Math.max(8, (sel.size / 2 + 6) * z), 0, 2 * Math.PI);
      ctx.strokeStyle = LOOK.selected;
      ctx.lineWidth = 2;
      ctx.stroke();
      // The amounts on the selected node's edges, at a legible size whatever the zoom.
      ctx.font = `${LOOK.edgeFontSize}px ${LOOK.font}`;
      ctx.textAlign = "center";
      ctx.textBaseline = "middle";
      for (const i of near) {
        const e = edges[i];
        const a = e === undefined ? undefined : nodes[e.source];
        const b = e === undefined ? undefined : nodes[e.target];
        if (e === undefined || a === undefined || b === undefined) continue;
        const mx = ((a.x + b.x) / 2) * z + vp.x;
        const my = ((a.y + b.y) / 2) * z + vp.y;
        if (mx < 0 || mx > width || my < 0 || my > height) continue;
        const text = this.model.edgeLabel(e);
        const w = ctx.measureText(text).width;
        ctx.fillStyle = "rgba(255, 255, 255, 0.85)";
        ctx.fillRect(mx - w / 2 - 1, my - LOOK.edgeFontSize / 2 - 1, w + 2, LOOK.edgeFontSize + 2);
        ctx.fillStyle = LOOK.text;
        ctx.fillText(text, mx, my);
      }
    }
    return { nodes: nodeCount, edges: edgeCount };
  }

  /** An arrowhead at the target of edge `i`, its tip on the node's outline (a circle's). */
  private arrowPath(ctx: CanvasRenderingContext2D, i: number): void {
    const e = this.model.edges[i];
    const a = e === undefined ? undefined : this.model.nodes[e.source];
    const b = e === undefined ? undefined : this.model.nodes[e.target];
    if (e === undefined || a === undefined || b === undefined) return;
    const dx = b.x - a.x;
    const dy = b.y - a.y;
    const len = Math.hypot(dx, dy);
    if (len === 0) return;
    const ux = dx / len;
    const uy = dy / len;
    const size = arrowSize(edgeWidth(e.step));
    const tipX = b.x - (ux * b.size) / 2;
    const tipY = b.y - (uy * b.size) / 2;
    const baseX = tipX - ux * 0.3 * size;
    const baseY = tipY - uy * 0.3 * size;
    ctx.moveTo(tipX, tipY);
    ctx.lineTo(baseX - uy * 0.15 * size, baseY + ux * 0.15 * size);
    ctx.lineTo(baseX + uy * 0.15 * size, baseY - ux * 0.15 * size);
    ctx.closePath();
  }
}

/** Nodes by grid cell, to find the one under a click. */
class Grid {
  private readonly cells = new Map<number, number[]>();
  constructor(private readonly nodes: readonly ModelNode[]) {
    nodes.forEach((n, i) => {
      const r = n.size / 2;
      for (let cx = this.cell(n.x - r); cx <= this.cell(n.x + r); cx++)
        for (let cy = this.cell(n.y - r); cy <= this.cell(n.y + r); cy++) {
          const key = this.key(cx, cy);
          const list = this.cells.get(key);
          if (list === undefined) this.cells.set(key, [i]);
          else list.push(i);
        }
    });
  }
  private cell = (v: number) => Math.floor(v / GRID_CELL);
  private key = (cx: number, cy: number) => (cx + 32768) * 65536 + (cy + 32768);

  /** The node nearest (x, y) that is within `slop` of its outline, or -1. */
  find(x: number, y: number, slop: number): number {
    let best = -1;
    let bestDistance = Infinity;
    const seen = new Set<number>();
    for (let cx = this.cell(x - slop); cx <= this.cell(x + slop); cx++)
      for (let cy = this.cell(y - slop); cy <= this.cell(y + slop); cy++)
        for (const i of this.cells.get(this.key(cx, cy)) ?? []) {
          if (seen.has(i)) continue;
          seen.add(i);
          const n = this.nodes[i];
          if (n === undefined) continue;
          const d = Math.hypot(n.x - x, n.y - y);
          if (d <= n.size / 2 + slop && d < bestDistance) {
            best = i;
            bestDistance = d;
          }
        }
    return best;
  }
}

/** Draws a large flow into `container` on a canvas of its own. */
export function drawCanvasFlow(
  container: HTMLElement,
  model: FlowModel,
  options: DrawOptions,
): FlowView {
  const painter = new Painter(model);
  const index = new Map(model.nodes.map((n, i) => [n.id, i]));
  let grid: Grid | undefined;
  const canvas = document.createElement("canvas");
  canvas.setAttribute("aria-hidden", "true");
  canvas.style.cssText = "display:block;width:100%;height:100%;touch-action:none;cursor:grab";
  container.replaceChildren(canvas);
  const ctx = canvas.getContext("2d", { alpha: false });
  if (ctx === null) throw new Error("no 2D canvas");
  let width = 0;
  let height = 0;
  let ratio = 0;
  let vp: Viewport = { zoom: 1, x: 0, y: 0 };
  let selected = -1;
  let frame = 0;
  let idle = 0;
  let destroyed = false;
  let lastFullMs = Infinity;
  let minZoom = MIN_ZOOM;
  /** The first frame drawn: until then, changes wait for it. */
  let first = false;
  /** The viewport of what the canvas shows now. */
  let shown: Viewport = vp;
  /** The last full frame and its viewport, moved and scaled while the view moves. */
  const still = document.createElement("canvas");
  let stillVp: Viewport | null = null;

  /** Matches the canvas to its box; says whether that changed (which clears the canvas). */
  const size = (): boolean => {
    const w = Math.max(1, container.clientWidth);
    const h = Math.max(1, container.clientHeight);
    const r = Math.min(2, window.devicePixelRatio || 1);
    if (w === width && h === height && r === ratio && canvas.width > 0) return false;
    width = w;
    height = h;
    ratio = r;
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
    return true;
  };
  const full = () => {
    const t = performance.now();
    const counts = painter.paint(ctx, vp, width, height, ratio, selected);
    lastFullMs = performance.now() - t;
    stillVp = null;
    shown = { ...vp };
    return counts;
  };
  const moved = () => {
    if (lastFullMs <= FAST_FRAME_MS) {
      full();
      return;
    }
    if (stillVp === null) {
      // Keep the last full frame (drawn at the viewport before this move).
      still.width = canvas.width;
      still.height = canvas.height;
      still.getContext("2d")?.drawImage(canvas, 0, 0);
      stillVp = shown;
    }
    const k = vp.zoom / stillVp.zoom;
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(0, 0, width, height);
    ctx.setTransform(
      ratio * k,
      0,
      0,
      ratio * k,
      ratio * (vp.x - stillVp.x * k),
      ratio * (vp.y - stillVp.y * k),
    );
    ctx.drawImage(still, 0, 0, width, height);
  };
  const schedule = (kind: "full" | "moving") => {
    if (!first) return;
    cancelAnimationFrame(frame);
    frame = requestAnimationFrame(() => (kind === "full" ? full() : moved()));
  };
  const fitView = (): Viewport => {
    const b = painter.bounds(false);
    const zoom = Math.min(
      MAX_ZOOM,
      Math.max(1, width - 2 * FIT_PADDING) / Math.max(1, b.x2 - b.x1),
      Math.max(1, height - 2 * FIT_PADDING) / Math.max(1, b.y2 - b.y1),
    );
    // Zooming out stops at the whole graph, or at MIN_ZOOM if that is further out.
    minZoom = Math.min(MIN_ZOOM, zoom);
    return {
      zoom,
      x: width / 2 - (zoom * (b.x1 + b.x2)) / 2,
      y: height / 2 - (zoom * (b.y1 + b.y2)) / 2,
    };
  };

  // Pointer: a drag pans, a click selects the node under it (or clears the selection).
  let down: { id: number; x: number; y: number; vp: Viewport; dragging: boolean } | null = null;
  const local = (e: { clientX: number; clientY: number }) => {
    const box = canvas.getBoundingClientRect();
    return { x: e.clientX - box.left, y: e.clientY - box.top };
  };
  const onDown = (e: PointerEvent) => {
    if (e.button !== 0) return;
    canvas.setPointerCapture(e.pointerId);
    down = { id: e.pointerId, x: e.clientX, y: e.clientY, vp: { ...vp }, dragging: false };
  };
  const onMove = (e: PointerEvent) => {
    if (down === null || e.pointerId !== down.id) return;
    const dx = e.clientX - down.x;
    const dy = e.clientY - down.y;
    if (!down.dragging && Math.hypot(dx, dy) < 4) return;
    if (!down.dragging) canvas.style.cursor = "grabbing";
    down.dragging = true;
    vp = { zoom: down.vp.zoom, x: down.vp.x + dx, y: down.vp.y + dy };
    schedule("moving");
  };
  const onUp = (e: PointerEvent) => {
    if (down === null || e.pointerId !== down.id) return;
    const was = down;
    down = null;
    canvas.style.cursor = "grab";
    if (was.dragging) {
      schedule("full");
      return;
    }
    const p = local(e);
    grid ??= new Grid(model.nodes);
    const hit = grid.find((p.x - vp.x) / vp.zoom, (p.y - vp.y) / vp.zoom, HIT_SLOP_PX / vp.zoom);
    selected = hit;
    schedule("full");
    options.onSelect(model.nodes[hit]?.id ?? null);
  };
  const onWheel = (e: WheelEvent) => {
    e.preventDefault();
    const p = local(e);
    const zoom = Math.max(minZoom, Math.min(MAX_ZOOM, vp.zoom * Math.exp(-e.deltaY * WHEEL_ZOOM)));
    const k = zoom / vp.zoom;
    vp = { zoom, x: p.x - (p.x - vp.x) * k, y: p.y - (p.y - vp.y) * k };
    schedule("moving");
    clearTimeout(idle);
    idle = window.setTimeout(() => schedule("full"), 150);
  };
  canvas.addEventListener("pointerdown", onDown);
  canvas.addEventListener("pointermove", onMove);
  canvas.addEventListener("pointerup", onUp);
  canvas.addEventListener("pointercancel", onUp);
  canvas.addEventListener("wheel", onWheel, { passive: false });
  const resized = new ResizeObserver(() => {
    if (size()) schedule("full");
  });

  size();
  vp = fitView();
  const painted = new Promise<{ nodes: number; edges: number }>((resolve) => {
    requestAnimationFrame(() => {
      if (destroyed) return;
      const counts = full();
      first = true;
      resized.observe(container);
      // The next frame begins once this one is painted.
      requestAnimationFrame(() => resolve(counts));
    });
  });

  return {
    renderer: "canvas",
    painted,
    select(address) {
      selected = address === null ? -1 : (index.get(address) ?? -1);
      schedule("full");
    },
    fit() {
      vp = fitView();
      schedule("full");
    },
    pan: () => ({ x: vp.x, y: vp.y }),
    clientPosition(address) {
      const n = model.nodes[index.get(address) ?? -1];
      if (n === undefined) return null;
      const box = canvas.getBoundingClientRect();
      return { x: box.left + n.x * vp.zoom + vp.x, y: box.top + n.y * vp.zoom + vp.y };
    },
    png() {
      // The whole graph, at twice its size when that fits a canvas of 16 million pixels.
      const b = painter.bounds(true);
      const pad = 20;
      const w = b.x2 - b.x1 + 2 * pad;
      const h = b.y2 - b.y1 + 2 * pad;
      const scale = Math.min(2, 8192 / w, 8192 / h, Math.sqrt(16e6 / (w * h)));
      const out = document.createElement("canvas");
      out.width = Math.max(1, Math.round(w * scale));
      out.height = Math.max(1, Math.round(h * scale));
      const c = out.getContext("2d", { alpha: false });
      if (c === null) throw new Error("no 2D canvas");
      const view = { zoom: scale, x: (pad - b.x1) * scale, y: (pad - b.y1) * scale };
      painter.paint(c, view, out.width, out.height, 1, selected);
      const bytes = atob(out.toDataURL("image/png").split(",")[1] ?? "");
      const data = new Uint8Array(bytes.length);
      for (let i = 0; i < bytes.length; i++) data[i] = bytes.charCodeAt(i);
      return new Blob([data], { type: "image/png" });
    },
    svg: () => toSvg(pictureOfModel(model)),
    destroy() {
      destroyed = true;
      cancelAnimationFrame(frame);
      clearTimeout(idle);
      resized.disconnect();
      canvas.remove();
    },
  };
}
