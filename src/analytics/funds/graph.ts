/**
 * Fund-flow pictures of a trace: the tainted transfers as a Graphviz graph (DOT), laid out and
 * drawn to SVG by Graphviz compiled to WebAssembly (@viz-js/viz), and rasterized to PNG by resvg
 * compiled to WebAssembly (@resvg/resvg-wasm) with the DejaVu fonts of the `dejavu-fonts-ttf`
 * package. Nothing here needs a system program or a system font. docs/flow-pictures.md describes
 * what the picture shows.
 */
import { randomBytes } from "node:crypto";
import { readFile, rename, unlink, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { basename, dirname, extname, join } from "node:path";
import { initWasm, Resvg } from "@resvg/resvg-wasm";
import { instance, type Viz } from "@viz-js/viz";
import { InvalidInputError, TracerError } from "../../shared/errors.js";
import { PALETTE, termRisk, type PaletteEntry, type RiskCategory } from "../labels/categories.js";

export { PALETTE, type PaletteEntry };
import { depositLabelText } from "./exits.js";
import type {
  DepositExit,
  EdgeFate,
  ExitKind,
  LabelLookup,
  TaintedEdge,
  TraceResult,
} from "./types.js";

export interface GraphOptions {
  /** Decimals of the token: amounts are shown as base units / 10^decimals (default 0). */
  decimals?: number;
  /** The token's symbol, written after amounts (default: none; the caption names the token). */
  symbol?: string;
  /** Labels of addresses: their name is shown and their category colors the node. */
  labels?: LabelLookup;
  /** At most this many arrows (flows between two addresses); the heaviest are kept (default 300). */
  maxEdges?: number;
}

export interface PngOptions {
  /** Width of the image in pixels; the height follows the layout's proportions (default: 1 px per pt). */
  width?: number;
}

export const DEFAULT_MAX_EDGES = 300;

/** The widest PNG drawn, in pixels. */
export const MAX_PNG_WIDTH = 16_384;

/** The legend entry of each risk category (docs/labels.md). */
const ENTRY_OF: Readonly<Record<RiskCategory, PaletteEntry>> = {
  sanctioned: "sanctioned",
  ransomware: "hack / ransomware",
  hack: "hack / ransomware",
  phishing: "scam / phishing",
  scam: "scam / phishing",
  darknet: "darknet",
  mixer: "mixer",
  bridge: "bridge",
  exchange: "exchange",
  other: "other",
};

/** Shapes of exits, by kind; an address that is not an exit is an ellipse. */
export const EXIT_SHAPES: Readonly<Record<ExitKind, string>> = {
  exchange: "box",
  bridge: "hexagon",
  mixer: "octagon",
  service: "cylinder",
  burn: "invhouse",
  fee: "note",
};

const EXIT_SHAPE_NAMES: Readonly<Record<ExitKind, string>> = {
  exchange: "box",
  bridge: "hexagon",
  mixer: "octagon",
  service: "cylinder",
  burn: "inverted house",
  fee: "note",
};

const SEED_SHAPE = "doubleoctagon";
/** The border of an address that still holds taint. */
export const HOLDING_COLOR = "#0d47a1";
const EDGE_COLOR = "#37474f";
const NOT_FOLLOWED_COLOR = "#9e9e9e";
const FONT = "DejaVu Sans";

/** Node sizes: the area grows from MIN_AREA to MAX_AREA times the base size over SIZE_DECADES. */
const BASE_WIDTH = 1.4;
const BASE_HEIGHT = 0.6;
const MAX_AREA = 4;
const SIZE_DECADES = 4;

/** Characters of a label's name shown in a node. */
const MAX_NAME = 40;

/** Tx hashes listed in an arrow's tooltip. */
const TOOLTIP_TXS = 5;

/**
 * An amount in base units as an exact decimal string: `decimals` digits after the point, trailing
 * zeros dropped, thousands grouped with commas (1234567890000n, 6 → "1,234,567.89").
 */
export function formatAmount(amount: bigint, decimals = 0): string {
  checkDecimals(decimals);
  const negative = amount < 0n;
  const digits = (negative ? -amount : amount).toString().padStart(decimals + 1, "0");
  const whole = digits.slice(0, digits.length - decimals);
  const fraction = digits.slice(digits.length - decimals).replace(/0+$/, "");
  const grouped = whole.replace(/\B(?=(\d{3})+$)/g, ",");
  return `${negative ? "-" : ""}${grouped}${fraction === "" ? "" : `.${fraction}`}`;
}

/** An address as 0x1234…abcd; anything that is not a long hex address is kept as it is. */
export function shortAddress(address: string): string {
  return /^0x[0-9a-fA-F]{12,}$/.test(address)
    ? `${address.slice(0, 6)}…${address.slice(-4)}`
    : address;
}

function checkDecimals(decimals: number): void {
  if (!Number.isSafeInteger(decimals) || decimals < 0 || decimals > 255) {
    throw new InvalidInputError(
      `invalid token decimals ${decimals}: expected an integer from 0 to 255`,
    );
  }
}

/** A DOT quoted string for an identifier or attribute value: backslashes and quotes escaped. */
function quote(text: string): string {
  return `"${text.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

/**
 * One line of text: line breaks and other control characters turned into spaces, so that nothing
 * a label says can change the layout of the picture.
 */
function line(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f]/g, " ");
}

/**
 * Lines of a label, as a DOT quoted string: each line escaped (backslashes and quotes for DOT,
 * `&` because Graphviz decodes HTML entities in labels) and ended by `end` (`\n` centers the
 * line, `\l` left-justifies it; a trailing `\n` is left out).
 */
function lines(texts: readonly string[], end = "\\n"): string {
  const escaped = texts.map((t) =>
    line(t).replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/&/g, "&amp;"),
  );
  return `"${escaped.join(end)}${end === "\\n" ? "" : end}"`;
}

/** Text for an HTML-like label: XML entities escaped. */
function html(text: string): string {
  return line(text)
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");
}

/** A label's name, cut to MAX_NAME characters (the tooltip keeps it whole). */
function clip(name: string): string {
  const chars = [...name];
  return chars.length <= MAX_NAME ? name : `${chars.slice(0, MAX_NAME - 1).join("")}…`;
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** All transfers from one address to another, drawn as one arrow. */
interface Flow {
  from: string;
  to: string;
  tainted: bigint;
  amount: bigint;
  transfers: TaintedEdge[];
  /** Whether the taint of every transfer was not followed (hop limit or minimum). */
  notFollowed: boolean;
}

/** What the picture knows of one address. */
export interface Place {
  address: string;
  taintIn: bigint;
  taintOut: bigint;
  held?: bigint;
  /** Hops from the seed to where the taint rests (a holding or an exit). */
  hops?: number;
  /** `deposit`: a deposit address's exchange, evidence and confidence (types.ts `DepositExit`). */
  exit?: { kind: ExitKind; amount: bigint; label?: string; deposit?: DepositExit };
  seed: boolean;
}

const NOT_FOLLOWED: ReadonlySet<EdgeFate> = new Set(["beyond-hop-limit", "below-minimum"]);

function mergeFlows(edges: readonly TaintedEdge[]): Flow[] {
  const byPair = new Map<string, Flow>();
  for (const e of edges) {
    const key = `${e.from}\u0000${e.to}`;
    let flow = byPair.get(key);
    if (flow === undefined) {
      flow = { from: e.from, to: e.to, tainted: 0n, amount: 0n, transfers: [], notFollowed: true };
      byPair.set(key, flow);
    }
    flow.tainted += e.tainted;
    flow.amount += e.amount;
    flow.transfers.push(e);
    if (!NOT_FOLLOWED.has(e.fate)) flow.notFollowed = false;
  }
  return [...byPair.values()];
}

/** Heaviest first (taint, then total), then by addresses, so that the cut is deterministic. */
function heavier(a: Flow, b: Flow): number {
  if (a.tainted !== b.tainted) return a.tainted > b.tainted ? -1 : 1;
  if (a.amount !== b.amount) return a.amount > b.amount ? -1 : 1;
  return cmp(a.from, b.from) || cmp(a.to, b.to);
}

/** Addresses where taint started: a balance seed's address, the senders of a seed transaction. */
function seedSources(result: TraceResult): Set<string> {
  const sources = new Set<string>();
  if (result.seed.kind === "balance") sources.add(result.seed.address);
  for (const e of result.edges) if (e.fate === "seed") sources.add(e.from);
  for (const h of [...result.holdings, ...result.exits]) {
    for (const p of h.paths) sources.add(p.origin);
  }
  return sources;
}

/** Every address a tainted transfer connects, the seed's sources, holdings and exits. */
export function places(result: TraceResult): Map<string, Place> {
  const map = new Map<string, Place>();
  const at = (address: string): Place => {
    let p = map.get(address);
    if (p === undefined) {
      p = { address, taintIn: 0n, taintOut: 0n, seed: false };
      map.set(address, p);
    }
    return p;
  };
  for (const e of result.edges) {
    at(e.from).taintOut += e.tainted;
    at(e.to).taintIn += e.tainted;
  }
  for (const h of result.holdings) {
    const p = at(h.address);
    p.held = h.amount;
    p.hops = h.hops;
  }
  for (const x of result.exits) {
    const p = at(x.address);
    p.exit = {
      kind: x.kind,
      amount: x.amount,
      ...(x.label === undefined ? {} : { label: x.label }),
      ...(x.depositOf === undefined
        ? {}
        : {
            deposit: {
              depositOf: x.depositOf,
              evidence: x.evidence ?? [],
              confidence: x.confidence ?? 0,
            },
          }),
    };
    p.hops = x.hops;
  }
  for (const s of seedSources(result)) at(s).seed = true;
  return map;
}

/** The taint a node stands for: the most it received, passed on, held or delivered. */
export function weight(p: Place): bigint {
  let w = p.taintIn > p.taintOut ? p.taintIn : p.taintOut;
  if (p.held !== undefined && p.held > w) w = p.held;
  if (p.exit !== undefined && p.exit.amount > w) w = p.exit.amount;
  return w;
}

/**
 * Where an amount sits on the size scale, 0 to 1: the largest amount is 1, each tenfold less is
 * 1/SIZE_DECADES less, down to 0.
 */
function scale(amount: bigint, max: bigint): number {
  if (amount <= 0n || max <= 0n) return 0;
  const ppm = Number((amount * 1_000_000n) / max);
  if (ppm <= 0) return 0;
  return Math.min(1, Math.max(0, 1 + Math.log10(ppm / 1_000_000) / SIZE_DECADES));
}

/**
 * The legend entry of an address's fill: its label's risk category, else the kind of exit it
 * is (exchange, bridge, mixer; "other" for another service), else none. Shared by the pictures
 * and the dashboard's graph.
 */
export function paletteEntryOf(
  labelCategory: string | undefined,
  exitKind: ExitKind | undefined,
): PaletteEntry | undefined {
  if (labelCategory !== undefined) return ENTRY_OF[termRisk(labelCategory)];
  if (exitKind === "exchange" || exitKind === "bridge" || exitKind === "mixer") return exitKind;
  if (exitKind === "service") return "other";
  return undefined;
}

function categoryOf(p: Place, labels: LabelLookup | undefined): PaletteEntry | undefined {
  return paletteEntryOf(labels?.(p.address)?.category, p.exit?.kind);
}

function describeSeed(result: TraceResult): string {
  const seed = result.seed;
  return seed.kind === "tx"
    ? `tx ${shortAddress(seed.txHash)}`
    : `balance of ${shortAddress(seed.address)} at block ${seed.block}`;
}

/**
 * The trace as a Graphviz graph (DOT): the addresses that tainted transfers connect, one arrow per
 * (sender, receiver) with the transfers merged, sized, colored and shaped as docs/flow-pictures.md
 * describes. The output depends on the result and the options alone (sorted, no time).
 */
export function toDot(result: TraceResult, options: GraphOptions = {}): string {
  const decimals = options.decimals ?? 0;
  checkDecimals(decimals);
  const maxEdges = options.maxEdges ?? DEFAULT_MAX_EDGES;
  if (!Number.isSafeInteger(maxEdges) || maxEdges < 1) {
    throw new InvalidInputError(`invalid maxEdges ${maxEdges}: expected a positive integer`);
  }
  const symbol = options.symbol ?? "";
  const money = (amount: bigint) =>
    symbol === "" ? formatAmount(amount, decimals) : `${formatAmount(amount, decimals)} ${symbol}`;

  const allFlows = mergeFlows(result.edges).sort(heavier);
  const flows = allFlows.slice(0, maxEdges);
  const hidden = allFlows.slice(maxEdges);
  flows.sort((a, b) => cmp(a.from, b.from) || cmp(a.to, b.to));

  const known = places(result);
  const shown = new Set<string>();
  for (const f of flows) shown.add(f.from).add(f.to);
  for (const p of known.values()) if (p.seed) shown.add(p.address);
  const nodes = [...known.values()]
    .filter((p) => shown.has(p.address))
    .sort((a, b) => cmp(a.address, b.address));
  let heaviest = 0n;
  for (const p of nodes) if (weight(p) > heaviest) heaviest = weight(p);
  let heaviestFlow = 0n;
  for (const f of flows) if (f.tainted > heaviestFlow) heaviestFlow = f.tainted;

  const out: string[] = [];
  out.push("digraph taint {");
  const caption = captionLines(result, money, allFlows, hidden);
  out.push(
    `  graph [rankdir=LR, bgcolor="white", fontname=${quote(FONT)}, fontsize=14, labelloc=t, ` +
      `labeljust=l, nodesep=0.3, ranksep=0.7, pad=0.2, label=${lines(caption, "\\l")}];`,
  );
  out.push(`  node [fontname=${quote(FONT)}, fontsize=11, style=filled, fillcolor="white"];`);
  out.push(`  edge [fontname=${quote(FONT)}, fontsize=10, color=${quote(EDGE_COLOR)}];`);

  const entries = new Set<PaletteEntry>();
  const shapes = new Set<string>();
  for (const p of nodes) {
    const entry = categoryOf(p, options.labels);
    if (entry !== undefined) entries.add(entry);
    out.push(
      `  ${nodeStatement(p, entry, options.labels, money, scale(weight(p), heaviest), shapes)}`,
    );
  }
  for (const f of flows) {
    if (f.notFollowed) shapes.add("not-followed");
    out.push(`  ${edgeStatement(f, decimals, symbol, scale(f.tainted, heaviestFlow))}`);
  }
  if (nodes.length > 0) {
    out.push(`  legend [shape=plain, style="", label=<${legend(entries, shapes)}>];`);
    out.push("  { rank=sink; legend; }");
  }
  out.push("}");
  return `${out.join("\n")}\n`;
}

function captionLines(
  result: TraceResult,
  money: (a: bigint) => string,
  all: readonly Flow[],
  hidden: readonly Flow[],
): string[] {
  const held = result.holdings.reduce((s, h) => s + h.amount, 0n);
  const exited = result.exits.reduce((s, x) => s + x.amount, 0n);
  const token = result.token === "native" ? "native coin" : `token ${shortAddress(result.token)}`;
  const caption = [
    `Taint trace · ${result.model} model · ${token} · seed ${describeSeed(result)}`,
    `seeded ${money(result.seedAmount)} · held ${money(held)} · exited ${money(exited)}` +
      (result.beyondHopLimit > 0n ? ` · beyond hop limit ${money(result.beyondHopLimit)}` : "") +
      (result.belowMinimum > 0n ? ` · below minimum ${money(result.belowMinimum)}` : ""),
  ];
  if (hidden.length > 0) {
    const transfers = hidden.reduce((s, f) => s + f.transfers.length, 0);
    const taint = hidden.reduce((s, f) => s + f.tainted, 0n);
    const count = (n: number) => formatAmount(BigInt(n));
    caption.push(
      `showing the ${count(all.length - hidden.length)} heaviest of ${count(all.length)} flows: ` +
        `${count(hidden.length)} flows (${count(transfers)} transfers, ${money(taint)} tainted) ` +
        "not drawn",
    );
  }
  if (result.warnings.length > 0) {
    const n = result.warnings.length;
    caption.push(`${n} warning${n === 1 ? "" : "s"}: ${result.warnings[0]?.message ?? ""}`);
  }
  return caption;
}

function nodeStatement(
  p: Place,
  entry: PaletteEntry | undefined,
  labels: LabelLookup | undefined,
  money: (a: bigint) => string,
  size: number,
  shapes: Set<string>,
): string {
  const name = labels?.(p.address)?.label ?? p.exit?.label;
  const text = [shortAddress(p.address)];
  if (name !== undefined && name !== "") text.push(clip(name));
  if (p.seed) text.push(`seed · sent ${money(p.taintOut)}`);
  // A deposit address says so, under its own label if it has one.
  const deposit = p.exit?.deposit === undefined ? undefined : depositLabelText(p.exit.deposit);
  if (deposit !== undefined && deposit !== name) text.push(clip(deposit));
  if (p.exit !== undefined) text.push(`${p.exit.kind} exit · ${money(p.exit.amount)}`);
  if (p.held !== undefined) text.push(`holds ${money(p.held)}`);
  if (!p.seed && p.exit === undefined) {
    if (p.taintOut > 0n) text.push(`passed ${money(p.taintOut)}`);
    else if (p.held === undefined) text.push(`received ${money(p.taintIn)}`);
  }

  const area = 1 + (MAX_AREA - 1) * size;
  const attrs: string[] = [
    `label=${lines(text)}`,
    `width=${(BASE_WIDTH * Math.sqrt(area)).toFixed(2)}`,
    `height=${(BASE_HEIGHT * Math.sqrt(area)).toFixed(2)}`,
    `tooltip=${lines([name === undefined ? p.address : `${p.address} (${name})`])}`,
  ];
  if (p.exit !== undefined) {
    attrs.push(`shape=${EXIT_SHAPES[p.exit.kind]}`);
    shapes.add(p.exit.kind);
    if (p.seed) attrs.push("peripheries=2");
  } else if (p.seed) {
    attrs.push(`shape=${SEED_SHAPE}`);
  }
  if (p.seed) shapes.add("seed");
  if (entry !== undefined) attrs.push(`fillcolor=${quote(PALETTE[entry])}`);
  if (p.held !== undefined && p.held > 0n) {
    attrs.push(`color=${quote(HOLDING_COLOR)}`, "penwidth=3");
    shapes.add("holding");
  } else if (p.seed) {
    attrs.push("penwidth=2");
  }
  return `${quote(p.address)} [${attrs.join(", ")}];`;
}

function edgeStatement(f: Flow, decimals: number, symbol: string, size: number): string {
  const unit = symbol === "" ? "" : ` ${symbol}`;
  const tainted = formatAmount(f.tainted, decimals);
  const text = [
    f.tainted === f.amount
      ? `${tainted}${unit}`
      : `${tainted} of ${formatAmount(f.amount, decimals)}${unit}`,
  ];
  if (f.transfers.length > 1) text.push(`${f.transfers.length} transfers`);
  if (f.notFollowed) text.push("not followed");
  const txs = [...new Set(f.transfers.map((t) => t.txHash))];
  const more = txs.length > TOOLTIP_TXS ? ` and ${txs.length - TOOLTIP_TXS} more` : "";
  const attrs = [
    `label=${lines(text)}`,
    `penwidth=${(1 + 4 * size).toFixed(2)}`,
    `tooltip=${lines([`tx ${txs.slice(0, TOOLTIP_TXS).join(", ")}${more}`])}`,
  ];
  if (f.notFollowed) attrs.push(`style=dashed, color=${quote(NOT_FOLLOWED_COLOR)}`);
  return `${quote(f.from)} -> ${quote(f.to)} [${attrs.join(", ")}];`;
}

/** The legend, as an HTML-like table: the colors and shapes the picture uses. */
function legend(entries: ReadonlySet<PaletteEntry>, shapes: ReadonlySet<string>): string {
  const rows: string[] = ['<TR><TD COLSPAN="2" ALIGN="LEFT"><B>Legend</B></TD></TR>'];
  const row = (swatch: string, text: string) =>
    `<TR><TD WIDTH="28" ${swatch}> </TD><TD ALIGN="LEFT">${html(text)}</TD></TR>`;
  const note = (text: string) => row("", text);
  for (const entry of Object.keys(PALETTE) as PaletteEntry[]) {
    if (entries.has(entry)) rows.push(row(`BORDER="1" BGCOLOR="${PALETTE[entry]}"`, entry));
  }
  if (shapes.has("holding")) {
    rows.push(row(`BORDER="3" COLOR="${HOLDING_COLOR}"`, "still holds taint"));
  }
  if (shapes.has("seed")) rows.push(note("double octagon (or double border): seed source"));
  for (const kind of Object.keys(EXIT_SHAPES) as ExitKind[]) {
    if (shapes.has(kind)) rows.push(note(`${EXIT_SHAPE_NAMES[kind]}: ${kind} exit`));
  }
  if (shapes.has("not-followed")) {
    rows.push(note("dashed arrow: taint not followed (hop limit or minimum)"));
  }
  rows.push(note("arrow: tainted [of total] amount, transfers merged"));
  return `<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="2" CELLPADDING="3">${rows.join("")}</TABLE>`;
}

let vizInstance: Promise<Viz> | undefined;

/** Lays out a DOT graph and draws it as SVG (Graphviz, WebAssembly; loaded once). */
export async function renderSvg(dot: string): Promise<string> {
  vizInstance ??= instance();
  const viz = await vizInstance;
  const result = viz.render(dot, { format: "svg" });
  if (result.status !== "success") {
    const why = result.errors.map((e) => e.message.trim()).join("; ");
    throw new TracerError(`cannot draw the graph: ${why || "Graphviz failed"}`);
  }
  return result.output;
}

const require = createRequire(import.meta.url);
let resvgReady: Promise<Uint8Array[]> | undefined;

/** Loads resvg's WebAssembly and the fonts once. */
function loadResvg(): Promise<Uint8Array[]> {
  resvgReady ??= (async () => {
    const [wasm, regular, bold] = await Promise.all([
      readFile(require.resolve("@resvg/resvg-wasm/index_bg.wasm")),
      readFile(require.resolve("dejavu-fonts-ttf/ttf/DejaVuSans.ttf")),
      readFile(require.resolve("dejavu-fonts-ttf/ttf/DejaVuSans-Bold.ttf")),
    ]);
    await initWasm(wasm);
    return [new Uint8Array(regular), new Uint8Array(bold)];
  })().catch((e: unknown) => {
    resvgReady = undefined;
    throw e;
  });
  return resvgReady;
}

/** Rasterizes an SVG to PNG (resvg, WebAssembly) on a white background, with the DejaVu fonts. */
export async function renderPng(svg: string, options: PngOptions = {}): Promise<Uint8Array> {
  const width = options.width;
  if (width !== undefined && (!Number.isSafeInteger(width) || width < 1 || width > MAX_PNG_WIDTH)) {
    throw new InvalidInputError(
      `invalid PNG width ${width}: expected 1 to ${MAX_PNG_WIDTH} pixels`,
    );
  }
  const fontBuffers = await loadResvg();
  const resvg = new Resvg(svg, {
    font: { fontBuffers, defaultFontFamily: FONT, sansSerifFamily: FONT },
    background: "white",
    fitTo: width === undefined ? { mode: "original" } : { mode: "width", value: width },
  });
  try {
    const image = resvg.render();
    try {
      return image.asPng();
    } finally {
      image.free();
    }
  } finally {
    resvg.free();
  }
}

export const GRAPH_FORMATS = [".svg", ".png", ".dot"] as const;

/**
 * Draws the trace to `file` in the format its extension names (.svg, .png or .dot). The file
 * appears whole or not at all: it is written to a temporary file beside it, then renamed.
 */
export async function writeGraph(
  result: TraceResult,
  file: string,
  options: GraphOptions & PngOptions = {},
): Promise<void> {
  const ext = extname(file).toLowerCase();
  if (!(GRAPH_FORMATS as readonly string[]).includes(ext)) {
    throw new InvalidInputError(
      `cannot write a graph to ${file}: unknown format "${ext || "(none)"}", ` +
        `expected ${GRAPH_FORMATS.join(", ")}`,
    );
  }
  const dot = toDot(result, options);
  const content =
    ext === ".dot"
      ? dot
      : ext === ".svg"
        ? await renderSvg(dot)
        : await renderPng(await renderSvg(dot), options);
  const temp = join(dirname(file), `.${basename(file)}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    await writeFile(temp, content, { flag: "wx" });
    await rename(temp, file);
  } catch (e) {
    await unlink(temp).catch(() => undefined);
    const why = e instanceof Error ? e.message : String(e);
    throw new TracerError(`cannot write a graph to ${file}: ${why}`);
  }
}
