import { mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { XMLParser } from "fast-xml-parser";
import { PNG } from "pngjs";
import { TracerError } from "../../src/shared/errors.js";
import {
  ASSET_COLORS,
  TRANSIT_ASSET,
  isTransit,
  segmentsOf,
} from "../../src/analytics/funds/flow.js";
import { TRANSIT as ENGINE_TRANSIT } from "../../src/analytics/funds/bridge-moves.js";
import {
  CONVERSION_SHAPE,
  EXIT_SHAPES,
  HOLDING_COLOR,
  PALETTE,
  formatAmount,
  renderPng,
  renderSvg,
  shortAddress,
  toDot,
  writeGraph,
  type GraphOptions,
} from "../../src/analytics/funds/graph.js";
import { ZERO_ADDRESS, type TraceResult } from "../../src/analytics/funds/types.js";
import {
  ACROSS,
  BRIDGE_TRANSIT as TRANSIT,
  DEPOSIT,
  ETH,
  EXCHANGE,
  OTHER_BRIDGE,
  USDC_BASE,
  bridged,
  POOL,
  RECEIVER,
  THIEF,
  USDC,
  USDC_TOKEN,
  WETH_TOKEN,
  addr,
  edge,
  exit,
  holding,
  lookup,
  move,
  swapped,
  swappedOptions,
  trace,
} from "../helpers/trace-fixtures.js";

// ---------------------------------------------------------------------------------------------
// Fixtures, built by hand.

/** The options naming one token's decimals and symbol. */
function unitOf(
  result: TraceResult,
  decimals: number,
  symbol?: string,
): Pick<GraphOptions, "decimals" | "symbols"> {
  return {
    decimals: new Map([[result.token, decimals]]),
    ...(symbol === undefined ? {} : { symbols: new Map([[result.token, symbol]]) }),
  };
}

/**
 * A hack: the victim V sends 1,000,000 USDC to the exploiter H (the seed transaction), who splits
 * it between A (two transfers) and B; both send part to M, which mixes it with 500,000 clean USDC
 * and sends 800,000.5 to an exchange deposit X (haircut: 400,000.25 of it tainted).
 */
const V = addr("1111");
const H = addr("baad");
const A = addr("aaaa");
const B = addr("bbbb");
const M = addr("cccc");
const X = addr("eeee");
const splitMerge = trace({
  model: "haircut",
  token: addr("a0b8"),
  seed: { kind: "tx", txHash: `0x${"ab".repeat(32)}` },
  seedAmount: 1_000_000n * USDC,
  edges: [
    edge(V, H, 1_000_000n * USDC, 1_000_000n * USDC, "seed"),
    edge(H, A, 350_000_250_000n, 350_000_250_000n),
    edge(H, B, 400_000n * USDC, 400_000n * USDC),
    edge(H, A, 249_999_750_000n, 249_999_750_000n),
    edge(A, M, 300_000n * USDC, 300_000n * USDC),
    edge(B, M, 200_000n * USDC, 200_000n * USDC),
    edge(M, X, 800_000_500_000n, 400_000_250_000n, "exit"),
  ],
  holdings: [
    holding(A, 300_000n * USDC),
    holding(B, 200_000n * USDC),
    holding(M, 99_999_750_000n, 3),
  ],
  exits: [exit(X, "exchange", 400_000_250_000n, "Binance 14")],
  beyondHopLimit: 0n,
  belowMinimum: 0n,
});
const splitMergeOptions: GraphOptions = {
  ...unitOf(splitMerge, 6, "USDC"),
  labels: lookup({
    [X]: { label: "Binance 14", category: "exchange" },
    [H]: { label: "Exploiter 1", category: "hack" },
  }),
};

/**
 * The balance of S at block 100 (10 WETH, 18 decimals), FIFO: 4.5 tainted of 6 to T, 1 wei to U
 * (below the minimum), T burns 1.5.
 */
const S = addr("5555");
const T = addr("7777");
const U = addr("9999");
const burn = trace({
  model: "fifo",
  token: addr("c02a"),
  seed: { kind: "balance", address: S, block: 100 },
  seedAmount: 10n * ETH,
  edges: [
    edge(S, T, 6n * ETH, 45n * 10n ** 17n),
    edge(S, U, 1n, 1n, "below-minimum"),
    edge(T, ZERO_ADDRESS, 15n * 10n ** 17n, 15n * 10n ** 17n, "exit"),
  ],
  holdings: [holding(S, 55n * 10n ** 17n - 1n, 0), holding(T, 3n * ETH)],
  exits: [exit(ZERO_ADDRESS, "burn", 15n * 10n ** 17n)],
  beyondHopLimit: 0n,
  belowMinimum: 1n,
});

/**
 * Poison on the native coin: P pays Q 2 ETH (the seed); Q and R send funds back and forth (a
 * cycle), Q pays a fee, R pays W beyond the hop limit. The labels carry characters that DOT, XML
 * and HTML-like labels must escape.
 */
const P = addr("abcd");
const Q = addr("dddd");
const R = addr("ffff");
const F = addr("fee0");
const W = addr("0bad");
const NASTY = 'Evil "quote" \\ <b>&amp; {x}\n-> y';
const cycle = trace({
  model: "poison",
  token: "native",
  seed: { kind: "tx", txHash: `0x${"cd".repeat(32)}` },
  seedAmount: 2n * ETH,
  edges: [
    edge(P, Q, 2n * ETH, 2n * ETH, "seed"),
    edge(Q, R, 1n * ETH, 1n * ETH),
    edge(R, Q, 5n * 10n ** 17n, 5n * 10n ** 17n),
    edge(Q, R, 25n * 10n ** 16n, 25n * 10n ** 16n),
    edge(Q, F, 10n ** 16n, 10n ** 16n, "exit"),
    edge(R, W, 2n * 10n ** 17n, 2n * 10n ** 17n, "beyond-hop-limit"),
  ],
  holdings: [holding(Q, 124n * 10n ** 16n), holding(R, 55n * 10n ** 16n, 1)],
  exits: [exit(F, "fee", 10n ** 16n)],
  beyondHopLimit: 2n * 10n ** 17n,
  belowMinimum: 0n,
  warnings: [
    {
      code: "incomplete-history",
      message: "0xdddd…dddd sent more than it was known to hold",
      address: Q,
    },
  ],
});
const cycleOptions: GraphOptions = {
  ...unitOf(cycle, 18, "ETH"),
  labels: lookup({
    [Q]: { label: "OFAC SDN", category: "sanctioned" },
    [R]: { label: "Lazarus", category: "hack" },
    [W]: { label: NASTY, category: "phishing" },
  }),
};

/** A hub paying 12 addresses 1 to 12 units, one transfer each: more flows than maxEdges. */
const HUB = addr("4444");
const fanOut = (() => {
  const to = (i: number) => addr(`f${i.toString(16).padStart(3, "0")}`);
  const edges = Array.from({ length: 12 }, (_, i) =>
    edge(HUB, to(i + 1), BigInt(i + 1), BigInt(i + 1)),
  );
  return trace({
    model: "haircut",
    token: addr("0123"),
    seed: { kind: "balance", address: HUB, block: 1 },
    seedAmount: 78n,
    edges,
    holdings: Array.from({ length: 12 }, (_, i) => holding(to(i + 1), BigInt(i + 1))),
    exits: [],
    beyondHopLimit: 0n,
    belowMinimum: 0n,
  });
})();

// ---------------------------------------------------------------------------------------------
// Reading DOT, SVG and PNG.

/** The attribute list of a node statement of the DOT text. */
function nodeAttrs(dot: string, address: string): string {
  const m = new RegExp(`^  "${address}" \\[(.*)\\];$`, "m").exec(dot);
  expect(m, `node ${address} in the DOT`).to.not.equal(null);
  return m?.[1] ?? "";
}

function edgeAttrs(dot: string, from: string, to: string): string {
  const m = new RegExp(`^  "${from}" -> "${to}" \\[(.*)\\];$`, "m").exec(dot);
  expect(m, `edge ${from} -> ${to} in the DOT`).to.not.equal(null);
  return m?.[1] ?? "";
}

const nodeStatements = (dot: string) => dot.split("\n").filter((l) => /^ {2}"[^"]+" \[/.test(l));
const edgeStatements = (dot: string) => dot.split("\n").filter((l) => / -> /.test(l));

interface Element {
  tag: string;
  attrs: Record<string, string>;
  children: Element[];
  text: string;
}

/** Parses XML into elements (fast-xml-parser, order preserved); throws on malformed XML. */
function parseXml(xml: string): Element {
  const parser = new XMLParser({
    preserveOrder: true,
    ignoreAttributes: false,
    attributeNamePrefix: "",
    trimValues: false,
    parseTagValue: false,
    // Graphviz writes some characters as numeric references (`-` as &#45;).
    htmlEntities: true,
  });
  const convert = (raw: unknown): Element[] => {
    if (!Array.isArray(raw)) return [];
    const out: Element[] = [];
    for (const item of raw as Record<string, unknown>[]) {
      const tag = Object.keys(item).find((k) => k !== ":@");
      if (tag === undefined) continue;
      const attrs = (item[":@"] ?? {}) as Record<string, string>;
      if (tag === "#text") {
        out.push({ tag, attrs, children: [], text: String(item[tag]) });
      } else {
        const children = convert(item[tag]);
        out.push({ tag, attrs, children, text: children.map((c) => c.text).join("") });
      }
    }
    return out;
  };
  const root = convert(parser.parse(xml, true)).find((e) => e.tag === "svg");
  if (root === undefined) throw new Error("no <svg> element");
  return root;
}

function* descendants(e: Element): Generator<Element> {
  for (const c of e.children) {
    yield c;
    yield* descendants(c);
  }
}

/** The Graphviz node groups of an SVG: title (the node's name) → group. */
function svgNodes(svg: Element): Map<string, Element> {
  const nodes = new Map<string, Element>();
  for (const g of descendants(svg)) {
    if (g.tag !== "g" || g.attrs.class !== "node") continue;
    const title = g.children.find((c) => c.tag === "title");
    nodes.set(title?.text ?? "", g);
  }
  return nodes;
}

const svgTexts = (svg: Element) =>
  [...descendants(svg)].filter((e) => e.tag === "text").map((e) => e.text);

/** The SVG's size in pt and the translation of the graph group. */
function svgGeometry(svg: Element): { width: number; height: number; tx: number; ty: number } {
  const [, , width, height] = (svg.attrs.viewBox ?? "").split(/\s+/).map(Number);
  const graph = [...descendants(svg)].find((e) => e.tag === "g" && e.attrs.class === "graph");
  const t = /translate\(([-\d.]+)[ ,]([-\d.]+)\)/.exec(graph?.attrs.transform ?? "");
  return { width: width ?? 0, height: height ?? 0, tx: Number(t?.[1]), ty: Number(t?.[2]) };
}

const luminance = (png: PNG, x: number, y: number) => {
  const i = (png.width * y + x) * 4;
  return (
    0.299 * (png.data[i] ?? 0) + 0.587 * (png.data[i + 1] ?? 0) + 0.114 * (png.data[i + 2] ?? 0)
  );
};

// ---------------------------------------------------------------------------------------------

describe("fund-flow pictures (graph)", function () {
  describe("formatAmount", function () {
    it("writes base units exactly with the token's decimals, trailing zeros dropped", function () {
      expect(formatAmount(1_234_567_890_000n, 6)).to.equal("1,234,567.89");
      expect(formatAmount(55n * 10n ** 17n - 1n, 18)).to.equal("5.499999999999999999");
      expect(formatAmount(1n, 18)).to.equal("0.000000000000000001");
      expect(formatAmount(10n ** 30n, 18)).to.equal("1,000,000,000,000");
      expect(formatAmount(0n, 6)).to.equal("0");
      expect(formatAmount(999n, 0)).to.equal("999");
      expect(formatAmount(-1_500n, 3)).to.equal("-1.5");
    });

    it("rejects decimals that are not an integer from 0 to 255", function () {
      expect(() => formatAmount(1n, -1)).to.throw(TracerError, /decimals -1/);
      expect(() => formatAmount(1n, 1.5)).to.throw(TracerError, /decimals 1.5/);
    });
  });

  describe("shortAddress", function () {
    it("shortens hex addresses to 0x1234…abcd and keeps anything else", function () {
      expect(shortAddress(addr("1234"))).to.equal("0x1234…1234");
      expect(shortAddress("native")).to.equal("native");
    });
  });

  describe("toDot", function () {
    it("draws every address of a split and merge, with labels and amounts in USDC", function () {
      const dot = toDot(splitMerge, splitMergeOptions);
      expect(nodeStatements(dot).map((l) => /"([^"]+)"/.exec(l)?.[1])).to.deep.equal(
        [V, A, B, H, M, X].sort(),
      );
      expect(edgeStatements(dot)).to.have.length(6);

      const seed = nodeAttrs(dot, V);
      expect(seed).to.include("shape=doubleoctagon");
      expect(seed).to.include("0x1111…1111\\nseed · sent 1,000,000 USDC");

      const exchange = nodeAttrs(dot, X);
      expect(exchange).to.include(`shape=${EXIT_SHAPES.exchange}`);
      expect(exchange).to.include(`fillcolor="${PALETTE.exchange}"`);
      expect(exchange).to.include("Binance 14\\nexchange exit · 400,000.25 USDC");

      const exploiter = nodeAttrs(dot, H);
      expect(exploiter).to.include(`fillcolor="${PALETTE["hack / ransomware"]}"`);
      expect(exploiter).to.include("Exploiter 1\\npassed 1,000,000 USDC");

      const mixer = nodeAttrs(dot, M);
      expect(mixer).to.include(`color="${HOLDING_COLOR}"`);
      expect(mixer).to.include("passed 400,000.25 USDC");
      expect(mixer).to.include("holds 99,999.75 USDC");
      expect(mixer).to.not.include("fillcolor");
    });

    it("merges the transfers between two addresses into one arrow with their count", function () {
      const dot = toDot(splitMerge, splitMergeOptions);
      expect(edgeAttrs(dot, H, A)).to.include('label="600,000 USDC\\n2 transfers"');
      expect(edgeAttrs(dot, H, B)).to.include('label="400,000 USDC"');
    });

    it("labels a partly tainted arrow with the tainted amount of the total", function () {
      const dot = toDot(splitMerge, splitMergeOptions);
      expect(edgeAttrs(dot, M, X)).to.include('label="400,000.25 of 800,000.5 USDC"');
    });

    it("sizes nodes by the taint they stand for (area grows with the amount)", function () {
      const dot = toDot(splitMerge, splitMergeOptions);
      const width = (a: string) => Number(/width=([\d.]+)/.exec(nodeAttrs(dot, a))?.[1]);
      expect(width(V)).to.equal(width(H));
      expect(width(H)).to.be.greaterThan(width(A));
      expect(width(A)).to.be.greaterThan(width(M));
      expect(width(M)).to.be.greaterThan(width(X));
      // Ten thousand times less than the largest and below: the smallest size.
      const dust = toDot(burn, unitOf(burn, 18));
      expect(nodeAttrs(dust, U)).to.include("width=1.40, height=0.60");
    });

    it("marks the balance seed, a burn exit and a flow below the minimum (18 decimals)", function () {
      const dot = toDot(burn, unitOf(burn, 18, "WETH"));
      const seed = nodeAttrs(dot, S);
      expect(seed).to.include("shape=doubleoctagon");
      expect(seed).to.include(`color="${HOLDING_COLOR}"`);
      expect(seed).to.include("holds 5.499999999999999999 WETH");
      expect(nodeAttrs(dot, ZERO_ADDRESS)).to.include(`shape=${EXIT_SHAPES.burn}`);
      expect(nodeAttrs(dot, ZERO_ADDRESS)).to.include("burn exit · 1.5 WETH");
      expect(edgeAttrs(dot, S, T)).to.include('label="4.5 of 6 WETH"');
      const dust = edgeAttrs(dot, S, U);
      expect(dust).to.include("style=dashed");
      expect(dust).to.include("0.000000000000000001 WETH\\nnot followed");
      expect(dot).to.include("seed balance of 0x5555…5555 at block 100");
      expect(dot).to.include("below minimum 0.000000000000000001 WETH");
    });

    it("draws a cycle, a fee exit and a warning, and escapes what labels say", function () {
      const dot = toDot(cycle, cycleOptions);
      expect(edgeAttrs(dot, Q, R)).to.include('label="1.25 ETH\\n2 transfers"');
      expect(edgeAttrs(dot, R, Q)).to.include('label="0.5 ETH"');
      expect(nodeAttrs(dot, F)).to.include(`shape=${EXIT_SHAPES.fee}`);
      expect(nodeAttrs(dot, Q)).to.include(`fillcolor="${PALETTE.sanctioned}"`);
      expect(nodeAttrs(dot, W)).to.include(`fillcolor="${PALETTE["scam / phishing"]}"`);
      expect(nodeAttrs(dot, W)).to.include('Evil \\"quote\\" \\\\ <b>&amp;amp; {x} -> y\\n');
      expect(dot).to.include("1 warning: 0xdddd…dddd sent more than it was known to hold");
      expect(dot).to.include("native coin");
    });

    it("cuts long label names in the node and keeps them whole in the tooltip", function () {
      const name = `Deposit wallet of a very long named service ${"x".repeat(30)}`;
      const dot = toDot(burn, { labels: lookup({ [T]: { label: name, category: "other" } }) });
      const attrs = nodeAttrs(dot, T);
      expect(attrs).to.include(`\\n${name.slice(0, 39)}…\\n`);
      expect(attrs).to.include(`tooltip="${T} (${name})"`);
      expect(attrs).to.include(`fillcolor="${PALETTE.other}"`);
    });

    it("lists in the legend the colors and shapes the picture uses, and only those", function () {
      const legend =
        /^ {2}legend \[(.*)\];$/m.exec(toDot(splitMerge, splitMergeOptions))?.[1] ?? "";
      for (const entry of [
        "hack / ransomware",
        "exchange",
        "still holds taint",
        "box: exchange exit",
      ]) {
        expect(legend).to.include(entry);
      }
      for (const entry of ["sanctioned", "mixer", "burn exit", "dashed arrow"]) {
        expect(legend).to.not.include(entry);
      }
    });

    it("keeps the heaviest flows past maxEdges and says so in the caption", function () {
      const dot = toDot(fanOut, { maxEdges: 5 });
      expect(edgeStatements(dot)).to.have.length(5);
      for (const i of [8, 9, 10, 11, 12]) expect(dot).to.include(`label="${i}"`);
      expect(dot).to.include(
        "showing the 5 heaviest of 12 flows: 7 flows (7 transfers, 28 tainted) not drawn",
      );
      expect(nodeStatements(dot)).to.have.length(6);
    });

    it("is deterministic: the same result gives the same text", function () {
      expect(toDot(structuredClone(splitMerge), splitMergeOptions)).to.equal(
        toDot(splitMerge, splitMergeOptions),
      );
    });

    it("rejects a maxEdges that is not a positive integer", function () {
      expect(() => toDot(splitMerge, { maxEdges: 0 })).to.throw(TracerError, /maxEdges 0/);
    });
  });

  describe("a trace of every asset", function () {
    const legendOf = (dot: string) => /^ {2}legend \[(.*)\];$/m.exec(dot)?.[1] ?? "";
    /** The legend's text rows (the cell after each swatch). */
    const legendRows = (dot: string) =>
      [...legendOf(dot).matchAll(/<TD ALIGN="LEFT">([^<]*)<\/TD>/g)].map((m) => m[1]);

    it("colours each asset's arrows and gives each asset one legend entry", function () {
      const dot = toDot(swapped, swappedOptions);
      // The seed's asset first, the native coin, then the tokens.
      const [usdc, native, weth] = [ASSET_COLORS[0], ASSET_COLORS[1], ASSET_COLORS[2]];
      expect(edgeAttrs(dot, V, THIEF)).to.include(`color="${usdc}"`);
      expect(edgeAttrs(dot, THIEF, RECEIVER)).to.include(`color="${weth}"`);
      expect(edgeAttrs(dot, RECEIVER, DEPOSIT)).to.include(`color="${native}"`);
      const rows = legendRows(dot);
      const assets = ["USDC 0xa0b8…a0b8 (seed asset)", "native", "WETH 0xc02a…c02a"];
      for (const a of assets)
        expect(
          rows.filter((r) => r === a),
          a,
        ).to.have.length(1);
      const legend = legendOf(dot);
      for (const color of [usdc, native, weth])
        expect(legend.split(`BGCOLOR="${color}"`), color).to.have.length(2);
    });

    it("draws a conversion through a node of its own, the amount in and out on its two sides", function () {
      const dot = toDot(swapped, swappedOptions);
      const pool = nodeAttrs(dot, `${POOL}/swap`);
      expect(pool).to.include(`shape=${CONVERSION_SHAPE}`);
      expect(pool).to.include('label="Uniswap V2 swap\\n0xb4e1…b4e1"');
      expect(edgeAttrs(dot, THIEF, `${POOL}/swap`)).to.include('label="600 USDC"');
      expect(edgeAttrs(dot, `${POOL}/swap`, THIEF)).to.include('label="0.3 WETH"');
      const unwrap = nodeAttrs(dot, `${WETH_TOKEN}/unwrap`);
      expect(unwrap).to.include('label="WETH unwrap\\n0xc02a…c02a"');
      expect(edgeAttrs(dot, RECEIVER, `${WETH_TOKEN}/unwrap`)).to.include('label="0.2 WETH"');
      expect(edgeAttrs(dot, `${WETH_TOKEN}/unwrap`, RECEIVER)).to.include('label="0.2 native"');
      // The payer is paid back through the pool: no arrow from an address to itself.
      expect(dot).to.not.include(`"${THIEF}" -> "${THIEF}"`);
      expect(legendRows(dot)).to.include(
        "arrow box: conversion (pool, wrapper), amount in and out on its arrows",
      );
    });

    it("writes every amount in its own asset's decimals, and what rests in another asset at its value", function () {
      const dot = toDot(swapped, swappedOptions);
      const thief = nodeAttrs(dot, THIEF);
      expect(thief).to.include("holds 400 USDC, 0.1 WETH\\n");
      expect(thief).to.include("passed 600 USDC, 0.2 WETH\\nworth 600 USDC");
      expect(nodeAttrs(dot, RECEIVER)).to.include("holds 0.1 native\\n");
      expect(nodeAttrs(dot, RECEIVER)).to.include("worth 200 USDC");
      expect(nodeAttrs(dot, DEPOSIT)).to.include("exchange exit · 0.1 native\\nworth 200 USDC");
      expect(nodeAttrs(dot, V)).to.include("seed · sent 1,000 USDC");
      expect(dot).to.include("every asset (seed asset USDC 0xa0b8…a0b8)");
      expect(dot).to.include("seeded 1,000 USDC · held 800 USDC · exited 200 USDC");
    });

    it("sizes nodes by their value in the seed's asset, not by raw amounts of different tokens", function () {
      const dot = toDot(swapped, swappedOptions);
      const width = (a: string) => Number(/width=([\d.]+)/.exec(nodeAttrs(dot, a))?.[1]);
      // 1,000 USDC; 0.2 WETH worth 400; 0.1 ether worth 200 (raw, the ether is 10^11 times more).
      expect(width(THIEF)).to.equal(width(V));
      expect(width(THIEF)).to.be.greaterThan(width(RECEIVER));
      expect(width(RECEIVER)).to.be.greaterThan(width(DEPOSIT));
      expect(width(`${POOL}/swap`)).to.be.lessThan(width(THIEF));
    });

    it("boxes the deposit addresses with their exchange, drawn though no taint reached it", function () {
      const dot = toDot(swapped, swappedOptions);
      expect(dot).to.include(`  subgraph "cluster_deposits_${EXCHANGE}" {`);
      expect(dot).to.include('label="deposit addresses of Example Exchange"');
      expect(dot).to.include(`    "${DEPOSIT}"; "${EXCHANGE}";`);
      const exchange = nodeAttrs(dot, EXCHANGE);
      expect(exchange).to.include(`shape=${EXIT_SHAPES.exchange}`);
      expect(exchange).to.include(`fillcolor="${PALETTE.exchange}"`);
      expect(exchange).to.include("Example Exchange\\nexchange");
      expect(edgeAttrs(dot, DEPOSIT, EXCHANGE)).to.include("style=dotted");
      expect(nodeAttrs(dot, DEPOSIT)).to.include("deposit address of Example Exchange");
    });

    it("is deterministic, and Graphviz draws the conversions, the assets and the box", async function () {
      const dot = toDot(swapped, swappedOptions);
      expect(toDot(structuredClone(swapped), swappedOptions)).to.equal(dot);
      const text = await renderSvg(dot);
      expect(await renderSvg(toDot(structuredClone(swapped), swappedOptions))).to.equal(text);
      const svg = parseXml(text);
      expect([...svgNodes(svg).keys()].sort()).to.deep.equal(
        [
          V,
          THIEF,
          RECEIVER,
          DEPOSIT,
          EXCHANGE,
          `${POOL}/swap`,
          `${WETH_TOKEN}/unwrap`,
          "legend",
        ].sort(),
      );
      const texts = svgTexts(svg);
      for (const t of ["Uniswap V2 swap", "WETH unwrap", "600 USDC", "0.3 WETH", "0.2 native"])
        expect(texts).to.include(t);
      expect(texts).to.include("deposit addresses of Example Exchange");
      expect(texts.filter((t) => t === "WETH 0xc02a…c02a")).to.have.length(1);
    });

    it("draws a route through each of its pools, what the first paid the second between them", function () {
      const route = move(THIEF, RECEIVER, USDC_TOKEN, 100n * USDC, 50n * USDC, {
        token: "native",
        amount: 5n * 10n ** 16n,
        step: { venue: "uniswap-v3", action: "swap", contract: POOL },
      });
      const [first] = route.out?.steps ?? [];
      if (route.out === undefined || first === undefined) throw new Error("no route");
      route.out = {
        ...route.out,
        tainted: 25n * 10n ** 15n,
        steps: [
          { ...first, tokenOut: WETH_TOKEN, amountOut: 5n * 10n ** 16n },
          {
            ...first,
            venue: "weth",
            action: "unwrap",
            contract: WETH_TOKEN,
            tokenIn: WETH_TOKEN,
            amountIn: 5n * 10n ** 16n,
            tokenOut: "native",
          },
        ],
      };
      const { segments, conversions } = segmentsOf(route);
      expect(conversions.map((c) => c.id)).to.deep.equal([`${POOL}/swap`, `${WETH_TOKEN}/unwrap`]);
      expect(segments.map((x) => [x.from, x.to, x.token, x.amount, x.tainted])).to.deep.equal([
        [THIEF, `${POOL}/swap`, USDC_TOKEN, 100n * USDC, 50n * USDC],
        [`${POOL}/swap`, `${WETH_TOKEN}/unwrap`, WETH_TOKEN, 5n * 10n ** 16n, 25n * 10n ** 15n],
        [`${WETH_TOKEN}/unwrap`, RECEIVER, "native", 5n * 10n ** 16n, 25n * 10n ** 15n],
      ]);
    });

    it("draws each chain as a box, and a bridge crossing through its node between them", async function () {
      const options: GraphOptions = {
        chainId: 1,
        decimals: new Map([
          [USDC_TOKEN, 6],
          ["8453:" + USDC_BASE, 6],
        ]),
        symbols: new Map([
          [USDC_TOKEN, "USDC"],
          ["8453:" + USDC_BASE, "USDC"],
        ]),
      };
      const dot = toDot(bridged, options);
      // An address of another chain than the seed's is CHAIN:address; the transit is left out.
      expect(nodeStatements(dot).map((l) => /"([^"]+)"/.exec(l)?.[1])).to.deep.equal(
        [V, THIEF, OTHER_BRIDGE, `${ACROSS}/bridge>8453`, `8453:${THIEF}`, `8453:${X}`].sort(),
      );
      expect(dot).to.not.include(TRANSIT);
      expect(dot).to.include('  subgraph "cluster_chain_1" {');
      expect(dot).to.include('  subgraph "cluster_chain_8453" {');
      expect(dot).to.include(`    "${V}"; "${THIEF}"; "${OTHER_BRIDGE}";`);
      expect(dot).to.include(`    "8453:${THIEF}"; "8453:${X}";`);
      const bridge = nodeAttrs(dot, `${ACROSS}/bridge>8453`);
      expect(bridge).to.include("Across bridge\\nchain 1 → chain 8453\\n0xac20…ac20");
      expect(bridge).to.include(`fillcolor="${PALETTE.bridge}"`);
      expect(edgeAttrs(dot, THIEF, `${ACROSS}/bridge>8453`)).to.include(
        'label="800 USDC 0xa0b8…a0b8"',
      );
      expect(edgeAttrs(dot, `${ACROSS}/bridge>8453`, `8453:${THIEF}`)).to.include(
        'label="800 USDC 0x833b…833b"',
      );
      expect(nodeAttrs(dot, `8453:${THIEF}`)).to.include("holds 200 USDC 0x833b…833b");
      expect(nodeAttrs(dot, `8453:${X}`)).to.include(`shape=${EXIT_SHAPES.exchange}`);
      expect(nodeAttrs(dot, OTHER_BRIDGE)).to.include(
        "bridge exit · 200 USDC 0xa0b8…a0b8\\nbound for chain 10",
      );
      expect(legendOf(dot)).to.include("arrow box between chain boxes: bridge crossing");
      expect(legendRows(dot)).to.include.members([
        "USDC 0xa0b8…a0b8 (chain 1, seed asset)",
        "USDC 0x833b…833b (chain 8453)",
      ]);
      const svg = parseXml(await renderSvg(dot));
      expect(svgTexts(svg)).to.include.members(["chain 1", "chain 8453", "Across bridge"]);
      // Nothing on another chain: one picture, no chain box.
      expect(toDot(swapped, { ...swappedOptions, chainId: 1 })).to.not.include("cluster_chain");
    });

    it("names the transit's asset as the engine does", function () {
      expect(TRANSIT_ASSET).to.equal(ENGINE_TRANSIT);
      expect(isTransit(TRANSIT)).to.equal(true);
    });
  });

  describe("renderSvg", function () {
    it("draws one node per address, with the formatted amounts as text", async function () {
      const svg = parseXml(await renderSvg(toDot(splitMerge, splitMergeOptions)));
      const nodes = svgNodes(svg);
      expect([...nodes.keys()].filter((t) => t !== "legend").sort()).to.deep.equal(
        [V, A, B, H, M, X].sort(),
      );
      const texts = svgTexts(svg);
      for (const t of [
        "0xeeee…eeee",
        "Binance 14",
        "exchange exit · 400,000.25 USDC",
        "holds 99,999.75 USDC",
        "400,000.25 of 800,000.5 USDC",
        "600,000 USDC",
        "2 transfers",
      ]) {
        expect(texts).to.include(t);
      }
      expect([...descendants(svg)].filter((e) => e.attrs.class === "edge")).to.have.length(6);
    });

    it("keeps label text intact through DOT and XML escaping", async function () {
      const svg = parseXml(await renderSvg(toDot(cycle, cycleOptions)));
      expect([...svgNodes(svg).keys()].sort()).to.deep.equal([P, Q, R, F, W, "legend"].sort());
      expect(svgTexts(svg)).to.include('Evil "quote" \\ <b>&amp; {x} -> y');
      expect(svgTexts(svg)).to.include.members(["0.2 ETH", "not followed", "holds 1.24 ETH"]);
    });

    it("is deterministic: the same result gives the same SVG and PNG bytes", async function () {
      const a = await renderSvg(toDot(burn, unitOf(burn, 18, "WETH")));
      const b = await renderSvg(toDot(structuredClone(burn), unitOf(burn, 18, "WETH")));
      expect(a).to.equal(b);
      expect(Buffer.from(await renderPng(a, { width: 500 }))).to.deep.equal(
        Buffer.from(await renderPng(b, { width: 500 })),
      );
    });

    it("draws a trace where nothing was tainted as its caption alone", async function () {
      const empty = trace({
        model: "poison",
        token: "native",
        seed: { kind: "tx", txHash: `0x${"ef".repeat(32)}` },
        seedAmount: 0n,
        edges: [],
        holdings: [],
        exits: [],
        beyondHopLimit: 0n,
        belowMinimum: 0n,
      });
      const svg = parseXml(await renderSvg(toDot(empty, unitOf(empty, 18, "ETH"))));
      expect(svgNodes(svg).size).to.equal(0);
      expect(svgTexts(svg)).to.include("seeded 0 ETH · held 0 ETH · exited 0 ETH");
    });

    it("rejects DOT that Graphviz cannot read with a TracerError", async function () {
      let error: unknown;
      try {
        await renderSvg("digraph { a -> }");
      } catch (e) {
        error = e;
      }
      expect(error).to.be.instanceOf(TracerError);
      expect((error as Error).message).to.match(/^cannot draw the graph: /);
    });
  });

  describe("renderPng", function () {
    it("draws the picture at the requested width with text in the nodes", async function () {
      const svgText = await renderSvg(toDot(splitMerge, splitMergeOptions));
      const svg = parseXml(svgText);
      const png = PNG.sync.read(Buffer.from(await renderPng(svgText, { width: 2000 })));
      const geometry = svgGeometry(svg);
      expect(png.width).to.equal(2000);
      expect(Math.abs(png.height - (geometry.height * 2000) / geometry.width)).to.be.at.most(1);

      let drawn = 0;
      for (let y = 0; y < png.height; y++) {
        for (let x = 0; x < png.width; x++) if (luminance(png, x, y) < 250) drawn++;
      }
      expect(drawn).to.be.greaterThan(png.width * png.height * 0.02);

      // The first label line (the short address) of every node is drawn in dark pixels: the font
      // was loaded (without one, resvg draws shapes but no text).
      const zoom = png.width / geometry.width;
      for (const [title, node] of svgNodes(svg)) {
        if (title === "legend") continue;
        const text = [...descendants(node)].find((c) => c.tag === "text");
        const x = (Number(text?.attrs.x) + geometry.tx) * zoom;
        const y = (Number(text?.attrs.y) + geometry.ty) * zoom;
        let dark = 0;
        for (let py = Math.round(y - 9 * zoom); py <= Math.round(y + zoom); py++) {
          for (let px = Math.round(x - 25 * zoom); px <= Math.round(x + 25 * zoom); px++) {
            if (luminance(png, px, py) < 100) dark++;
          }
        }
        expect(dark, `dark text pixels in ${title}`).to.be.greaterThan(20);
      }
    });

    it("draws at the SVG's own size (96 pixels per inch) when no width is given", async function () {
      const svgText = await renderSvg(toDot(burn, unitOf(burn, 18)));
      const geometry = svgGeometry(parseXml(svgText));
      const png = PNG.sync.read(Buffer.from(await renderPng(svgText)));
      expect(Math.abs(png.width - (geometry.width * 4) / 3)).to.be.at.most(1);
      expect(Math.abs(png.height - (geometry.height * 4) / 3)).to.be.at.most(1);
    });

    it("rejects a width that is not a positive integer", async function () {
      let error: unknown;
      try {
        await renderPng("<svg/>", { width: 0 });
      } catch (e) {
        error = e;
      }
      expect(error).to.be.instanceOf(TracerError);
      expect((error as Error).message).to.include("invalid PNG width 0");
    });
  });

  describe("writeGraph", function () {
    let dir: string;
    beforeEach(async function () {
      dir = await mkdtemp(join(tmpdir(), "veritrace-graph-"));
    });
    afterEach(async function () {
      await rm(dir, { recursive: true, force: true });
    });

    it("writes DOT, SVG and PNG by the file's extension", async function () {
      await writeGraph(cycle, join(dir, "flow.dot"), cycleOptions);
      await writeGraph(cycle, join(dir, "flow.svg"), cycleOptions);
      await writeGraph(cycle, join(dir, "flow.PNG"), { ...cycleOptions, width: 640 });
      expect((await readdir(dir)).sort()).to.deep.equal(["flow.PNG", "flow.dot", "flow.svg"]);
      expect(await readFile(join(dir, "flow.dot"), "utf8")).to.equal(toDot(cycle, cycleOptions));
      const svg = await readFile(join(dir, "flow.svg"), "utf8");
      expect(svg).to.equal(await renderSvg(toDot(cycle, cycleOptions)));
      const png = PNG.sync.read(await readFile(join(dir, "flow.PNG")));
      expect(png.width).to.equal(640);
    });

    it("replaces an existing file whole", async function () {
      const file = join(dir, "flow.dot");
      await writeGraph(fanOut, file);
      await writeGraph(splitMerge, file, splitMergeOptions);
      expect(await readFile(file, "utf8")).to.equal(toDot(splitMerge, splitMergeOptions));
      expect(await readdir(dir)).to.deep.equal(["flow.dot"]);
    });

    it("refuses an unknown extension with one error naming it, and writes nothing", async function () {
      let error: unknown;
      try {
        await writeGraph(splitMerge, join(dir, "flow.gif"), splitMergeOptions);
      } catch (e) {
        error = e;
      }
      expect(error).to.be.instanceOf(TracerError);
      expect((error as Error).message).to.equal(
        `cannot write a graph to ${join(dir, "flow.gif")}: unknown format ".gif", expected .svg, .png, .dot`,
      );
      expect(await readdir(dir)).to.deep.equal([]);
    });

    it("fails with a TracerError and creates nothing when the folder does not exist", async function () {
      const file = join(dir, "missing", "flow.svg");
      let error: unknown;
      try {
        await writeGraph(splitMerge, file, splitMergeOptions);
      } catch (e) {
        error = e;
      }
      expect(error).to.be.instanceOf(TracerError);
      expect((error as Error).message).to.include(`cannot write a graph to ${file}`);
      expect(await readdir(dir)).to.deep.equal([]);
    });
  });

  describe("the examples in docs/", function () {
    for (const [name, result, options, what] of [
      ["example-flow.svg", splitMerge, splitMergeOptions, "the split-and-merge example"],
      ["example-assets.svg", swapped, swappedOptions, "the swap, unwrap and deposit example"],
    ] as const)
      it(`docs/${name} is the picture of ${what}, small enough to embed`, async function () {
        const file = new URL(`../../docs/${name}`, import.meta.url);
        if (process.env.UPDATE_EXAMPLE === "1") {
          await writeGraph(result, file.pathname, options);
        }
        expect((await stat(file)).size).to.be.lessThan(50_000);
        const committed = parseXml(await readFile(file, "utf8"));
        const fresh = parseXml(await renderSvg(toDot(result, options)));
        expect([...svgNodes(committed).keys()]).to.deep.equal([...svgNodes(fresh).keys()]);
        expect(svgTexts(committed)).to.deep.equal(svgTexts(fresh));
      });
  });
});
