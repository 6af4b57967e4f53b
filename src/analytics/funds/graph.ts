/**
 * Fund-flow pictures of a trace: the tainted transfers as a Graphviz graph (DOT), laid out and
 * drawn to SVG by Graphviz compiled to WebAssembly (@viz-js/viz), and rasterized to PNG by resvg
 * compiled to WebAssembly (@resvg/resvg-wasm) with the DejaVu fonts of the `dejavu-fonts-ttf`
 * package. Nothing here needs a system program or a system font. What the picture shows (its
 * nodes, arrows, assets, conversions and clusters) is flow.ts's, shared with the API and the
 * dashboard; docs/flow-pictures.md describes it.
 */
import { randomBytes } from "node:crypto";
import { readFile, rename, unlink, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { basename, dirname, extname, join } from "node:path";
import { initWasm, Resvg } from "@resvg/resvg-wasm";
import { instance, type Viz } from "@viz-js/viz";
import { InvalidInputError, TracerError } from "../../shared/errors.js";
import { PALETTE, termRisk, type PaletteEntry, type RiskCategory } from "../labels/categories.js";
import { depositLabelText } from "./exits.js";
import {
  assetColor,
  assetOrder,
  assetUnits,
  conversionName,
  depositClusters,
  mergeFlows,
  oneNamespace,
  places,
  TRANSIT_ASSET,
  shortAddress,
  splitChain,
  Valuation,
  weight,
  type AssetTaint,
  type ConversionNode,
  type Flow,
  type Place,
} from "./flow.js";
import {
  ALL_ASSETS,
  type ExitKind,
  type LabelLookup,
  type TaintedEdge,
  type TraceResult,
} from "./types.js";

export { PALETTE, places, shortAddress, weight, type PaletteEntry, type Place };

export interface GraphOptions {
  /**
   * Decimals of each asset, by token (lowercase address or "native"): an amount is shown as base
   * units / 10^decimals (an asset not listed, or null: 0).
   */
  decimals?: ReadonlyMap<string, number | null>;
  /**
   * Symbols of the assets, by token, written after amounts. A trace of one token writes no unit
   * without one (the caption names the token); a trace of every asset names an asset without
   * one by its short address ("native" for the native coin).
   */
  symbols?: ReadonlyMap<string, string | null>;
  /** Labels of addresses: their name is shown and their category colors the node. */
  labels?: LabelLookup;
  /** At most this many arrows (flows between two addresses); the heaviest are kept (default 300). */
  maxEdges?: number;
  /**
   * The chain the trace started on. A trace across chains names the chain of its amounts; the
   * picture then draws each chain as a box and the bridge crossings between them.
   */
  chainId?: number;
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
/** The shape and fill of a conversion's node (a pool, a wrapper). */
export const CONVERSION_SHAPE = "cds";
export const CONVERSION_FILL = "#e0f2f1";
/** The border of an address that still holds taint. */
export const HOLDING_COLOR = "#0d47a1";
const EDGE_COLOR = "#37474f";
const NOT_FOLLOWED_COLOR = "#9e9e9e";
/** The border of a box of deposit addresses, and the arrows to their exchange. */
const DEPOSIT_COLOR = "#2e7d32";
const CHAIN_COLOR = "#78909c";
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

/** An arrow: the transfers from one node to another in one asset, and their value. */
interface Arrow extends Flow<TaintedEdge> {
  value: bigint;
}

/** Heaviest first (value, then total), then by nodes and asset, so that the cut is deterministic. */
function heavier(a: Arrow, b: Arrow): number {
  if (a.value !== b.value) return a.value > b.value ? -1 : 1;
  if (a.amount !== b.amount) return a.amount > b.amount ? -1 : 1;
  return cmp(a.from, b.from) || cmp(a.to, b.to) || cmp(a.token, b.token);
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

function describeSeed(result: TraceResult): string {
  const one = (seed: TraceResult["seed"]) =>
    seed.kind === "tx"
      ? `tx ${shortAddress(seed.txHash)}`
      : `balance of ${shortAddress(seed.address)} at block ${seed.block}`;
  const more = result.seeds.length - 1;
  return `${one(result.seed)}${more > 0 ? ` and ${more} more` : ""}`;
}

/** How amounts are written: each asset with its decimals and unit. */
interface Money {
  /** Whether the trace follows every asset: every amount then names its asset. */
  multi: boolean;
  assets: string[];
  units: Map<string, string>;
  /** `amount` of `token` (default: the seed's asset), with its unit. */
  of(amount: bigint, token?: string): string;
  /** `amount` of `token` without its unit. */
  bare(amount: bigint, token: string): string;
  unit(token: string): string;
}

function moneyOf(result: TraceResult, options: GraphOptions, seedChain?: number): Money {
  const multi = result.token === ALL_ASSETS;
  const assets = assetOrder(
    [
      result.seedAsset,
      ...result.holdings.map((h) => h.token),
      ...result.exits.map((x) => x.token),
      ...result.edges.flatMap((e) => [
        e.token,
        ...(e.out === undefined ? [] : [e.out.token, ...e.out.steps.map((s) => s.tokenOut)]),
      ]),
    ].filter((t) => t !== TRANSIT_ASSET),
    result.seedAsset,
  );
  for (const d of options.decimals?.values() ?? []) if (d !== null) checkDecimals(d);
  const decimalsOf = (token: string) => options.decimals?.get(token) ?? 0;
  // One token: its symbol or nothing, as the caption names the token.
  const units = multi
    ? assetUnits(assets, options.symbols, seedChain)
    : new Map([[result.token, options.symbols?.get(result.token) ?? ""]]);
  const unit = (token: string) => units.get(token) ?? "";
  const bare = (amount: bigint, token: string) => formatAmount(amount, decimalsOf(token));
  return {
    multi,
    assets,
    units,
    unit,
    bare,
    of: (amount, token = result.seedAsset) =>
      unit(token) === "" ? bare(amount, token) : `${bare(amount, token)} ${unit(token)}`,
  };
}

/**
 * The trace as a Graphviz graph (DOT): the addresses that tainted transfers connect, one arrow per
 * (sender, receiver, asset) with the transfers merged, a conversion through a node of its own,
 * sized, colored, shaped and grouped as docs/flow-pictures.md describes. The output depends on the
 * result and the options alone (sorted, no time).
 */
export function toDot(trace: TraceResult, options: GraphOptions = {}): string {
  const maxEdges = options.maxEdges ?? DEFAULT_MAX_EDGES;
  if (!Number.isSafeInteger(maxEdges) || maxEdges < 1) {
    throw new InvalidInputError(`invalid maxEdges ${maxEdges}: expected a positive integer`);
  }
  // Across chains, the addresses and assets of the other chains are named CHAIN:….
  const { result, seedChain, crosses } = oneNamespace(trace, options.chainId);
  const money = moneyOf(result, options, seedChain);
  const valuation = new Valuation(result.seedAsset, result.edges);

  const known = places(result);
  const merged = mergeFlows(result.edges);
  const allFlows: Arrow[] = merged.flows
    .map((f) => ({ ...f, value: valuation.value(f.token, f.tainted) }))
    .sort(heavier);
  const flows = allFlows.slice(0, maxEdges);
  const hidden = allFlows.slice(maxEdges);
  flows.sort((a, b) => cmp(a.from, b.from) || cmp(a.to, b.to) || cmp(a.token, b.token));

  const shown = new Set<string>();
  for (const f of flows) shown.add(f.from).add(f.to);
  for (const p of known.values()) if (p.seed) shown.add(p.id);
  const nodes = [...known.values()].filter((p) => shown.has(p.id)).sort((a, b) => cmp(a.id, b.id));
  const conversions = [...merged.conversions.values()]
    .filter((c) => shown.has(c.id))
    .sort((a, b) => cmp(a.id, b.id));
  // A conversion's node stands for the value that went into it.
  const through = new Map<string, bigint>();
  for (const f of allFlows)
    if (merged.conversions.has(f.to)) through.set(f.to, (through.get(f.to) ?? 0n) + f.value);
  let heaviest = 0n;
  for (const w of [...nodes.map(weight), ...conversions.map((c) => through.get(c.id) ?? 0n)])
    if (w > heaviest) heaviest = w;
  let heaviestFlow = 0n;
  for (const f of flows) if (f.value > heaviestFlow) heaviestFlow = f.value;

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
  const assets = new Set<string>();
  const statements: [string, string][] = [];
  for (const p of nodes) {
    const entry = paletteEntryOf(options.labels?.(p.address)?.category, p.exit?.kind);
    if (entry !== undefined) entries.add(entry);
    for (const t of p.assets.keys()) assets.add(t);
    statements.push([
      p.id,
      nodeStatement(p, entry, options.labels, money, scale(weight(p), heaviest), shapes),
    ]);
  }
  for (const c of conversions) {
    shapes.add(c.crossing === undefined ? "conversion" : "crossing");
    statements.push([
      c.id,
      conversionStatement(c, options.labels, scale(through.get(c.id) ?? 0n, heaviest), seedChain),
    ]);
  }
  // Deposit addresses, boxed with their exchange: drawn though no taint reached it.
  const clusters = depositClusters(nodes);
  for (const [id, c] of clusters) {
    entries.add("exchange");
    shapes.add("deposits");
    if (!shown.has(id))
      statements.push([id, exchangeStatement(id, c.exchange, c.label, options.labels)]);
  }
  statements.sort(([a], [b]) => cmp(a, b));
  for (const [, s] of statements) out.push(`  ${s}`);
  for (const f of flows) {
    if (f.notFollowed) shapes.add("not-followed");
    assets.add(f.token);
    const color = assetColor(money.assets.indexOf(f.token));
    out.push(`  ${edgeStatement(f, money, scale(f.value, heaviestFlow), color)}`);
  }
  for (const [id, c] of clusters)
    for (const member of c.members) {
      const txs = known.get(member)?.exit?.deposit?.evidence ?? [];
      const more = txs.length > TOOLTIP_TXS ? ` and ${txs.length - TOOLTIP_TXS} more` : "";
      const tooltip = `forwarded to the exchange in ${txs.slice(0, TOOLTIP_TXS).join(", ")}${more}`;
      out.push(
        `  ${quote(member)} -> ${quote(id)} [style=dotted, arrowhead=empty, ` +
          `color=${quote(DEPOSIT_COLOR)}, tooltip=${lines([tooltip])}];`,
      );
    }
  // A crossing's node lies between the chains' boxes.
  const crossings = new Set(conversions.filter((c) => c.crossing !== undefined).map((c) => c.id));
  const boxed = statements.map(([id]) => id).filter((id) => !crossings.has(id));
  out.push(...clusterStatements(boxed, clusters, crosses ? { seedChain } : undefined));
  if (nodes.length > 0) {
    const used = money.multi ? money.assets.filter((t) => assets.has(t)) : [];
    out.push(
      `  legend [shape=plain, style="", label=<${legend(entries, shapes, money, used, result.seedAsset, crosses ? { seedChain } : undefined)}>];`,
    );
    out.push("  { rank=sink; legend; }");
  }
  out.push("}");
  return `${out.join("\n")}\n`;
}

function chainName(chain: number | undefined, seedChain: number | undefined): string {
  const c = chain ?? seedChain;
  return c === undefined ? "the seed's chain" : `chain ${c}`;
}

/**
 * The boxes of the picture: each exchange's deposit addresses with the exchange; each chain's
 * nodes when the trace crosses chains (the deposit boxes inside their chain's). Members are listed
 * by name: a node belongs to the box that names it.
 */
function clusterStatements(
  ids: readonly string[],
  clusters: ReturnType<typeof depositClusters>,
  chains: { seedChain: number | undefined } | undefined,
): string[] {
  const deposits = (indent: string, chain: number | undefined) =>
    [...clusters]
      .filter(([id]) => splitChain(id).chain === chain)
      .flatMap(([id, c]) => [
        `${indent}subgraph ${quote(`cluster_deposits_${id}`)} {`,
        `${indent}  label=${lines([`deposit addresses of ${c.label}`])}; style="rounded,dashed"; ` +
          `color=${quote(DEPOSIT_COLOR)}; fontsize=11;`,
        `${indent}  ${[...c.members, id].map(quote).join("; ")};`,
        `${indent}}`,
      ]);
  if (chains === undefined) return deposits("  ", undefined);
  const byChain = new Map<number | undefined, string[]>();
  for (const id of ids) {
    const c = splitChain(id).chain;
    byChain.set(c, [...(byChain.get(c) ?? []), id]);
  }
  // The seed's chain first (Array.sort would put its undefined last), then by chain id.
  const order = [...byChain.keys()].sort((a, b) => (a ?? -1) - (b ?? -1));
  return order.flatMap((c) => [
    `  subgraph ${quote(`cluster_chain_${c ?? chains.seedChain ?? "seed"}`)} {`,
    `    label=${lines([chainName(c, chains.seedChain)])}; style=rounded; color=${quote(CHAIN_COLOR)}; fontsize=12;`,
    `    ${(byChain.get(c) ?? []).map(quote).join("; ")};`,
    ...deposits("    ", c),
    "  }",
  ]);
}

function captionLines(
  result: TraceResult,
  money: Money,
  all: readonly Arrow[],
  hidden: readonly Arrow[],
): string[] {
  // With every asset, what is held and exited is valued in the seed's asset.
  const sum = (xs: readonly { amount: bigint; value: bigint }[]) =>
    xs.reduce((s, x) => s + (money.multi ? x.value : x.amount), 0n);
  const seedUnit = money.unit(result.seedAsset);
  const seedName = seedUnit.includes(shortAddress(result.seedAsset))
    ? seedUnit
    : `${seedUnit} ${shortAddress(result.seedAsset)}`;
  const token = money.multi
    ? `every asset (seed asset ${seedName})`
    : result.token === "native"
      ? "native coin"
      : `token ${shortAddress(result.token)}`;
  const m = (a: bigint) => money.of(a);
  const caption = [
    `Taint trace · ${result.model} model · ${token} · seed ${describeSeed(result)}`,
    `seeded ${m(result.seedAmount)} · held ${m(sum(result.holdings))} · exited ${m(sum(result.exits))}` +
      (result.beyondHopLimit > 0n ? ` · beyond hop limit ${m(result.beyondHopLimit)}` : "") +
      (result.belowMinimum > 0n ? ` · below minimum ${m(result.belowMinimum)}` : ""),
  ];
  if (hidden.length > 0) {
    const transfers = hidden.reduce((s, f) => s + f.transfers.length, 0);
    const taint = hidden.reduce((s, f) => s + f.value, 0n);
    const count = (n: number) => formatAmount(BigInt(n));
    caption.push(
      `showing the ${count(all.length - hidden.length)} heaviest of ${count(all.length)} flows: ` +
        `${count(hidden.length)} flows (${count(transfers)} transfers, ${m(taint)} tainted) ` +
        "not drawn",
    );
  }
  if (result.warnings.length > 0) {
    const n = result.warnings.length;
    caption.push(`${n} warning${n === 1 ? "" : "s"}: ${result.warnings[0]?.message ?? ""}`);
  }
  return caption;
}

/** The amounts of a node in each asset that `pick` names, with their units ("400 A, 0.2 WETH"). */
function perAsset(p: Place, money: Money, pick: (a: AssetTaint) => bigint | undefined): string {
  const parts = [...p.assets]
    .filter(([, a]) => (pick(a) ?? 0n) > 0n)
    .map(([token, a]) => money.of(pick(a) ?? 0n, token));
  return parts.length === 0 ? money.of(0n) : parts.join(", ");
}

function nodeStatement(
  p: Place,
  entry: PaletteEntry | undefined,
  labels: LabelLookup | undefined,
  money: Money,
  size: number,
  shapes: Set<string>,
): string {
  const assets = [...p.assets.values()];
  // One token: the node's amounts. Every asset: each asset's, with its unit.
  const say = (total: bigint, pick: (a: AssetTaint) => bigint | undefined) =>
    money.multi ? perAsset(p, money, pick) : money.of(total);
  const passedAny = money.multi ? assets.some((a) => a.taintOut > 0n) : p.taintOut > 0n;
  const heldAny = money.multi ? assets.some((a) => (a.held ?? 0n) > 0n) : (p.held ?? 0n) > 0n;
  const name = labels?.(p.address)?.label ?? p.exit?.label;
  const text = [shortAddress(p.address)];
  if (name !== undefined && name !== "") text.push(clip(name));
  if (p.seed) text.push(`seed · sent ${say(p.taintOut, (a) => a.taintOut)}`);
  // A deposit address says so, under its own label if it has one.
  const deposit = p.exit?.deposit === undefined ? undefined : depositLabelText(p.exit.deposit);
  if (deposit !== undefined && deposit !== name) text.push(clip(deposit));
  if (p.exit !== undefined)
    text.push(`${p.exit.kind} exit · ${say(p.exit.amount, (a) => a.exited)}`);
  // A bridge's exit: the chains its deposits were bound for (no release read).
  const bound = p.exit?.destinations?.map((c) => (c === null ? "an unknown chain" : `chain ${c}`));
  if (bound !== undefined && bound.length > 0) text.push(`bound for ${bound.join(", ")}`);
  if (p.held !== undefined) text.push(`holds ${say(p.held, (a) => a.held)}`);
  if (!p.seed && p.exit === undefined) {
    if (passedAny) text.push(`passed ${say(p.taintOut, (a) => a.taintOut)}`);
    else if (p.held === undefined) text.push(`received ${say(p.taintIn, (a) => a.taintIn)}`);
  }
  // What rests there in other assets than the seed's, valued in the seed's.
  const rests = [...p.assets].some(
    ([token, a]) => token !== money.assets[0] && (a.held !== undefined || a.exited !== undefined),
  );
  if (money.multi && rests)
    text.push(`worth ${money.of(assets.reduce((s, a) => s + a.value, 0n))}`);

  const attrs: string[] = [
    `label=${lines(text)}`,
    ...sizeAttrs(size),
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
  if (heldAny) {
    attrs.push(`color=${quote(HOLDING_COLOR)}`, "penwidth=3");
    shapes.add("holding");
  } else if (p.seed) {
    attrs.push("penwidth=2");
  }
  return `${quote(p.id)} [${attrs.join(", ")}];`;
}

/** A node's width and height for its place on the size scale (its area grows with it). */
function sizeAttrs(size: number): string[] {
  const area = 1 + (MAX_AREA - 1) * size;
  return [
    `width=${(BASE_WIDTH * Math.sqrt(area)).toFixed(2)}`,
    `height=${(BASE_HEIGHT * Math.sqrt(area)).toFixed(2)}`,
  ];
}

/**
 * A conversion's node: its venue and action, the contract, the contract's label if it has one; a
 * bridge crossing's, the bridge and the two chains.
 */
function conversionStatement(
  c: ConversionNode,
  labels: LabelLookup | undefined,
  size: number,
  seedChain: number | undefined,
): string {
  const title = conversionName(c.venue, c.action, c.crossing);
  const contract = splitChain(c.contract).id;
  const name = labels?.(contract)?.label;
  const text = [title];
  if (c.crossing !== undefined)
    text.push(
      `${chainName(c.crossing.fromChainId, seedChain)} → ${chainName(c.crossing.toChainId, seedChain)}`,
    );
  text.push(shortAddress(contract));
  if (name !== undefined && name !== "") text.push(clip(name));
  const attrs = [
    `label=${lines(text)}`,
    ...sizeAttrs(size),
    `tooltip=${lines([`${title} at ${contract}${name === undefined ? "" : ` (${name})`}`])}`,
    `shape=${CONVERSION_SHAPE}`,
    `fillcolor=${quote(c.crossing === undefined ? CONVERSION_FILL : PALETTE.bridge)}`,
  ];
  return `${quote(c.id)} [${attrs.join(", ")}];`;
}

/** The exchange deposit addresses forward to, when no taint reached it (it has no node of its own). */
function exchangeStatement(
  id: string,
  address: string,
  label: string,
  labels: LabelLookup | undefined,
): string {
  const name = labels?.(address)?.label ?? label;
  const attrs = [
    `label=${lines([shortAddress(address), clip(name), "exchange"])}`,
    ...sizeAttrs(0),
    `tooltip=${lines([`${address} (${name})`])}`,
    `shape=${EXIT_SHAPES.exchange}`,
    `fillcolor=${quote(PALETTE.exchange)}`,
  ];
  return `${quote(id)} [${attrs.join(", ")}];`;
}

function edgeStatement(f: Arrow, money: Money, size: number, color: string): string {
  const unit = money.unit(f.token);
  const u = unit === "" ? "" : ` ${unit}`;
  const tainted = money.bare(f.tainted, f.token);
  const text = [
    f.tainted === f.amount
      ? `${tainted}${u}`
      : `${tainted} of ${money.bare(f.amount, f.token)}${u}`,
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
  else if (money.multi) attrs.push(`color=${quote(color)}`);
  return `${quote(f.from)} -> ${quote(f.to)} [${attrs.join(", ")}];`;
}

/**
 * The legend, as an HTML-like table: the colors and shapes the picture uses, and with every asset
 * the colour of each asset it shows.
 */
function legend(
  entries: ReadonlySet<PaletteEntry>,
  shapes: ReadonlySet<string>,
  money: Money,
  assets: readonly string[],
  seedAsset: string,
  chains: { seedChain: number | undefined } | undefined,
): string {
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
  const swatch = (color: string) => `BORDER="1" BGCOLOR="${color}"`;
  const marks: [string, string, string][] = [
    [
      "conversion",
      swatch(CONVERSION_FILL),
      "arrow box: conversion (pool, wrapper), amount in and out on its arrows",
    ],
    ["deposits", "", "dashed box: deposit addresses of an exchange (dotted arrow: forwards to it)"],
    ["crossing", swatch(PALETTE.bridge), "arrow box between chain boxes: bridge crossing"],
    ["not-followed", "", "dashed arrow: taint not followed (hop limit or minimum)"],
  ];
  for (const [shape, look, text] of marks) if (shapes.has(shape)) rows.push(row(look, text));
  if (assets.length > 0) {
    rows.push(note("arrow colour: the asset it carries"));
    for (const token of assets) {
      const unit = money.unit(token);
      const { chain, id } = splitChain(token);
      const short = shortAddress(id);
      // Its address, and across chains its chain, unless its name says them already.
      const notes = [
        ...(chains === undefined || unit.includes(" on ")
          ? []
          : [chainName(chain, chains.seedChain)]),
        ...(token === seedAsset ? ["seed asset"] : []),
      ];
      const text =
        `${unit}${unit.includes(short) || id === "native" ? "" : ` ${short}`}` +
        (notes.length === 0 ? "" : ` (${notes.join(", ")})`);
      rows.push(row(`BORDER="1" BGCOLOR="${assetColor(money.assets.indexOf(token))}"`, text));
    }
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
