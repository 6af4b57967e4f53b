/**
 * The fund-flow graph (the picture itself is flow-model.ts). A graph of up to
 * {@link LARGE_GRAPH} elements is drawn with cytoscape.js (labels everywhere, curved edges,
 * draggable nodes). A larger one is drawn by flow-canvas.ts, a plain canvas renderer of the same
 * picture: cytoscape spends seconds on the styles, bounding boxes and layer bitmaps of 25 000
 * elements before its first frame, where the plain canvas draws them in tens of milliseconds.
 */
import cytoscape, { type Core, type ElementDefinition } from "cytoscape";
import type { FlowEdge, FlowNode } from "./api.js";
import { drawCanvasFlow } from "./flow-canvas.js";
import { ASSET_COLORS } from "../../src/analytics/funds/flow.js";
import {
  CONVERSION_SHAPE,
  LARGE_GRAPH,
  LOOK,
  PALETTE,
  SHAPES,
  STEPS,
  edgeWidth,
  flowModel,
  nodeSize,
  type DrawOptions,
  type FlowModel,
  type FlowView,
} from "./flow-model.js";
import { pictureOfCytoscape, toSvg } from "./flow-svg.js";

export { PALETTE, type FlowView };

/** A class name for a value that may hold spaces or slashes ("hack / ransomware"). */
const slug = (v: string): string => v.replace(/[^a-z0-9]+/gi, "-");

/**
 * The style sheet: a rule per class, never a value mapped from each element's data, so that
 * cytoscape computes a few styles and shares them.
 */
function styleSheet(): cytoscape.StylesheetJson {
  const rules: cytoscape.StylesheetJson = [
    {
      selector: "node",
      style: {
        shape: "ellipse",
        "background-color": LOOK.nodeFill,
        "border-width": LOOK.borderWidth,
        "border-color": LOOK.border,
        label: "data(label)",
        "font-size": LOOK.nodeFontSize,
        "font-family": LOOK.font,
        "text-wrap": "wrap",
        "text-valign": "bottom",
        "text-margin-y": 4,
        color: LOOK.text,
        "min-zoomed-font-size": LOOK.minNodeFontPx,
      },
    },
    {
      selector: "edge",
      style: {
        "line-color": LOOK.edge,
        "target-arrow-color": LOOK.edge,
        "target-arrow-shape": "triangle",
        "curve-style": "bezier",
        label: "data(label)",
        "font-size": LOOK.edgeFontSize,
        "text-background-color": "#fff",
        "text-background-opacity": 0.85,
        "text-background-padding": "1px",
        "min-zoomed-font-size": LOOK.minEdgeFontPx,
      },
    },
  ];
  for (let s = 0; s <= STEPS; s++) {
    rules.push({ selector: `node.s${s}`, style: { width: nodeSize(s), height: nodeSize(s) } });
    rules.push({ selector: `edge.w${s}`, style: { width: edgeWidth(s) } });
  }
  for (const [category, color] of Object.entries(PALETTE))
    rules.push({ selector: `node.c-${slug(category)}`, style: { "background-color": color } });
  // An edge's colour is its asset's.
  for (const color of ASSET_COLORS)
    rules.push({
      selector: `edge.a-${slug(color)}`,
      style: { "line-color": color, "target-arrow-color": color },
    });
  // The seed's octagon is also the mixers' shape.
  for (const shape of new Set([...Object.values(SHAPES), CONVERSION_SHAPE]))
    rules.push({ selector: `node.${shape}`, style: { shape } });
  rules.push(
    {
      selector: "node.seed",
      style: { "border-width": LOOK.seedBorderWidth, "border-style": "double" },
    },
    {
      selector: "node.held",
      style: { "border-width": LOOK.heldBorderWidth, "border-color": LOOK.heldBorder },
    },
    {
      selector: "node.conversion",
      style: { "background-color": LOOK.conversionFill },
    },
    {
      // A box of deposit addresses: cytoscape sizes it around its members.
      selector: "node.cluster",
      style: {
        shape: "round-rectangle",
        "background-color": LOOK.clusterFill,
        "border-color": LOOK.cluster,
        "border-style": "dashed",
        "border-width": 1.5,
        padding: `${LOOK.clusterPadding}px`,
        "text-valign": "top",
        "text-halign": "center",
        "text-margin-y": -4,
        color: LOOK.cluster,
      },
    },
    {
      selector: "node:selected",
      style: { "overlay-color": LOOK.selected, "overlay-opacity": 0.25, "overlay-padding": 6 },
    },
  );
  return rules;
}

/** A small graph, drawn by cytoscape.js. */
function drawCytoscape(container: HTMLElement, model: FlowModel, options: DrawOptions): FlowView {
  const elements: ElementDefinition[] = [];
  const parentOf = new Map<number, string>();
  for (const c of model.clusters) {
    elements.push({
      group: "nodes",
      data: { id: c.id, label: c.label },
      classes: ["cluster"],
      selectable: false,
    });
    for (const i of c.members) parentOf.set(i, c.id);
  }
  model.nodes.forEach((n, i) => {
    const classes = [`s${n.step}`];
    if (n.category !== null) classes.push(`c-${slug(n.category)}`);
    if (n.shape !== "ellipse") classes.push(n.shape);
    if (n.kind === "conversion") classes.push("conversion");
    if (n.seed) classes.push("seed");
    if (n.held) classes.push("held");
    const parent = parentOf.get(i);
    elements.push({
      group: "nodes",
      data: { id: n.id, label: n.label, ...(parent === undefined ? {} : { parent }) },
      classes,
      position: { x: n.x, y: n.y },
    });
  });
  for (const e of model.edges) {
    const source = model.nodes[e.source]?.id ?? "";
    const target = model.nodes[e.target]?.id ?? "";
    elements.push({
      group: "edges",
      data: { id: e.id, source, target, label: model.edgeLabel(e) },
      classes: [`w${e.step}`, `a-${slug(e.color)}`],
    });
  }
  const cy: Core = cytoscape({
    container,
    elements,
    layout: { name: "preset", fit: true, padding: 30 },
    minZoom: 0.02,
    maxZoom: 4,
    wheelSensitivity: 0.3,
    style: styleSheet(),
  });
  // A box of deposit addresses is no address: tapping it selects nothing.
  cy.on("tap", "node", (e) => {
    if (!(e.target as cytoscape.NodeSingular).isParent()) options.onSelect(e.target.id() as string);
  });
  cy.on("tap", (e) => {
    if (e.target === cy) options.onSelect(null);
  });
  const painted = new Promise<{ nodes: number; edges: number }>((resolve) => {
    cy.one("render", () =>
      requestAnimationFrame(() =>
        resolve({ nodes: cy.nodes().not(":parent").length, edges: cy.edges().length }),
      ),
    );
  });
  return {
    renderer: "cytoscape",
    painted,
    select(address) {
      cy.$(":selected").unselect();
      if (address !== null) cy.getElementById(address).select();
    },
    fit: () => void cy.fit(undefined, 30),
    pan: () => cy.pan(),
    clientPosition(address) {
      const node = cy.getElementById(address);
      if (node.empty()) return null;
      const p = node.renderedPosition();
      const box = container.getBoundingClientRect();
      return { x: box.left + p.x, y: box.top + p.y };
    },
    png: () => cy.png({ output: "blob", full: true, bg: "#ffffff", scale: 2 }),
    svg: () => toSvg(pictureOfCytoscape(cy)),
    destroy: () => cy.destroy(),
  };
}

/**
 * Draws the flow into `container`: with cytoscape.js up to {@link LARGE_GRAPH} elements, on a
 * plain canvas beyond. The view is also kept on the container as `veritraceFlow` (for the
 * browser tests and the benchmark).
 */
export function drawFlow(
  container: HTMLElement,
  nodes: readonly FlowNode[],
  edges: readonly FlowEdge[],
  options: DrawOptions,
): FlowView {
  const model = flowModel(nodes, edges, options.assets, { wrapAbove: LARGE_GRAPH });
  const view =
    model.nodes.length + model.edges.length > LARGE_GRAPH
      ? drawCanvasFlow(container, model, options)
      : drawCytoscape(container, model, options);
  Object.defineProperty(container, "veritraceFlow", { value: view, configurable: true });
  return view;
}
