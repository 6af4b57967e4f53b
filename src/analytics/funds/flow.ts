/**
 * What a fund-flow picture shows, whoever draws it: the addresses a trace connects with their
 * taint in each asset and its value in the seed's asset, the conversions drawn as nodes of their
 * own (a pool, a wrapper) between the payer and the receiver, the arrows (tainted transfers merged
 * per sender, receiver and asset), the colour of each asset, the deposit addresses grouped by
 * exchange. `veritrace trace --graph` (graph.ts), `POST /trace` (its nodes) and the dashboard
 * (web/src/flow-model.ts, from the API's edges) share it, so the three say the same thing.
 *
 * Pure, and importing types alone: the dashboard's bundle takes it as it is.
 */
import type {
  ConversionAction,
  ConversionStep,
  ConversionVenue,
  DepositExit,
  EdgeFate,
  ExitKind,
  TaintedEdge,
  TraceResult,
} from "./types.js";

// ------------------------------------------------------------------------------------ assets

/**
 * The colour of each asset's arrows, in legend order: the seed's asset first (the dark grey every
 * arrow of a single-token picture has), then the others. Past ten assets the colours repeat; the
 * amounts name their asset anyway.
 */
export const ASSET_COLORS = [
  "#37474f",
  "#d62728",
  "#2ca02c",
  "#ff7f0e",
  "#9467bd",
  "#8c564b",
  "#e377c2",
  "#17becf",
  "#bcbd22",
  "#1f77b4",
] as const;

export const assetColor = (index: number): string =>
  ASSET_COLORS[index % ASSET_COLORS.length] ?? ASSET_COLORS[0];

/** The legend's order of assets: the seed's asset, the native coin, then token addresses. */
export function assetOrder(tokens: Iterable<string>, seedAsset: string): string[] {
  const rank = (t: string) => (t === seedAsset ? 0 : t === "native" ? 1 : 2);
  return [...new Set(tokens)].sort((a, b) => rank(a) - rank(b) || cmp(a, b));
}

/** Every asset a result names: the seed's, its holdings', exits', and its edges' in and out. */
export function assetsOf(result: TraceResult): string[] {
  const tokens = new Set<string>([result.seedAsset]);
  for (const x of [...result.holdings, ...result.exits]) tokens.add(x.token);
  for (const e of result.edges) {
    tokens.add(e.token);
    if (e.out !== undefined) {
      tokens.add(e.out.token);
      for (const s of e.out.steps) tokens.add(s.tokenOut);
    }
  }
  return assetOrder(tokens, result.seedAsset);
}

/**
 * How the picture names an asset: its symbol when it has one that no other shown asset has, else
 * the symbol and the short address (the Uniswap V2 test token and every V2 pair are all `UNI-V2`),
 * else the short address; the native coin is `native` without a symbol.
 */
export function assetUnits(
  tokens: readonly string[],
  symbols: ReadonlyMap<string, string | null> = new Map(),
): Map<string, string> {
  const count = new Map<string, number>();
  for (const t of tokens) {
    const s = symbols.get(t);
    if (s) count.set(s, (count.get(s) ?? 0) + 1);
  }
  const units = new Map<string, string>();
  for (const t of tokens) {
    const s = symbols.get(t);
    const fallback = t === "native" ? "native" : shortAddress(t);
    units.set(t, !s ? fallback : (count.get(s) ?? 0) > 1 ? `${s} ${fallback}` : s);
  }
  return units;
}

/** An address as 0x1234…abcd; anything that is not a long hex address is kept as it is. */
export function shortAddress(address: string): string {
  return /^0x[0-9a-fA-F]{12,}$/.test(address)
    ? `${address.slice(0, 6)}…${address.slice(-4)}`
    : address;
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

// ------------------------------------------------------------------------------- conversions

const VENUE_NAMES: Readonly<Record<ConversionVenue, string>> = {
  weth: "WETH",
  "uniswap-v2": "Uniswap V2",
  "uniswap-v3": "Uniswap V3",
  curve: "Curve",
  "balancer-v2": "Balancer V2",
};

const ACTION_NAMES: Readonly<Record<ConversionAction, string>> = {
  swap: "swap",
  wrap: "wrap",
  unwrap: "unwrap",
  "add-liquidity": "add liquidity",
  "remove-liquidity": "remove liquidity",
};

/** A conversion's name in a picture: venue and action ("Uniswap V2 swap", "WETH unwrap"). */
export const conversionName = (venue: ConversionVenue, action: ConversionAction): string =>
  `${VENUE_NAMES[venue]} ${ACTION_NAMES[action]}`;

/**
 * The node of a contract's conversions of one kind: every swap of a pool goes through one node,
 * its liquidity added through another. Its id (`0xpool/swap`) is never an address.
 */
export interface ConversionNode {
  id: string;
  contract: string;
  venue: ConversionVenue;
  action: ConversionAction;
}

/** The part of a conversion step a picture reads. */
export type FlowStep = Pick<
  ConversionStep,
  "venue" | "action" | "contract" | "tokenOut" | "amountOut"
>;

/** A tainted transfer as a picture reads it (a {@link TaintedEdge}, or the API's edge). */
export type FlowTransfer = Pick<
  TaintedEdge,
  "from" | "to" | "token" | "amount" | "tainted" | "fate"
> & {
  out?: { token: string; amount: bigint; tainted: bigint; steps: readonly FlowStep[] };
};

/** One arrow's share of a transfer: from a node to a node, in one asset. */
export interface Segment {
  from: string;
  to: string;
  token: string;
  amount: bigint;
  tainted: bigint;
}

/**
 * The arrows a transfer is drawn as: one, from its sender to its receiver; a conversion through
 * the node of each pool it went through, the amount paid in on the first arrow and the amount
 * paid out on the last (between two pools of a route, what the first paid the second, its tainted
 * part in the proportion the input was tainted). `from`, `to` and the conversion nodes' `prefix`
 * name the nodes when they are not the addresses themselves (a picture across chains).
 */
export function segmentsOf(
  e: FlowTransfer,
  from = e.from,
  to = e.to,
  prefix = "",
): { segments: Segment[]; conversions: ConversionNode[] } {
  const out = e.out;
  if (out === undefined || out.steps.length === 0) {
    const token = out?.token ?? e.token;
    const [amount, tainted] = out === undefined ? [e.amount, e.tainted] : [out.amount, out.tainted];
    return { segments: [{ from, to, token, amount, tainted }], conversions: [] };
  }
  const conversions = out.steps.map((s): ConversionNode => ({
    id: `${prefix}${s.contract}/${s.action}`,
    contract: s.contract,
    venue: s.venue,
    action: s.action,
  }));
  const ids = conversions.map((c) => c.id);
  const segments: Segment[] = [
    { from, to: ids[0] ?? to, token: e.token, amount: e.amount, tainted: e.tainted },
  ];
  for (let i = 0; i + 1 < out.steps.length; i++) {
    const step = out.steps[i] as FlowStep;
    segments.push({
      from: ids[i] ?? from,
      to: ids[i + 1] ?? to,
      token: step.tokenOut,
      amount: step.amountOut,
      tainted: e.amount === 0n ? 0n : (step.amountOut * e.tainted) / e.amount,
    });
  }
  segments.push({
    from: ids[ids.length - 1] ?? from,
    to,
    token: out.token,
    amount: out.amount,
    tainted: out.tainted,
  });
  return { segments, conversions };
}

// ------------------------------------------------------------------------------------- flows

/** All the segments from one node to another in one asset, drawn as one arrow. */
export interface Flow<T> {
  from: string;
  to: string;
  token: string;
  tainted: bigint;
  amount: bigint;
  /** The transfers it merges, in the order given. */
  transfers: T[];
  /** Whether the taint of every transfer was not followed (hop limit or minimum). */
  notFollowed: boolean;
}

const NOT_FOLLOWED: ReadonlySet<EdgeFate> = new Set(["beyond-hop-limit", "below-minimum"]);

/**
 * The arrows of a set of transfers: each drawn as its segments ({@link segmentsOf}; `ends` names
 * its nodes), those from one node to another in one asset merged. Also the conversion nodes, by
 * id. Arrows come in the order they first appear.
 */
export function mergeFlows<T extends FlowTransfer>(
  transfers: readonly T[],
  ends: (t: T) => { from: string; to: string; prefix: string } = (t) => ({
    from: t.from,
    to: t.to,
    prefix: "",
  }),
): { flows: Flow<T>[]; conversions: Map<string, ConversionNode> } {
  const byKey = new Map<string, Flow<T>>();
  const conversions = new Map<string, ConversionNode>();
  for (const t of transfers) {
    const { from, to, prefix } = ends(t);
    const drawn = segmentsOf(t, from, to, prefix);
    for (const c of drawn.conversions) if (!conversions.has(c.id)) conversions.set(c.id, c);
    for (const s of drawn.segments) {
      const key = `${s.from}\u0000${s.to}\u0000${s.token}`;
      let flow = byKey.get(key);
      if (flow === undefined) {
        flow = { ...s, tainted: 0n, amount: 0n, transfers: [], notFollowed: true };
        byKey.set(key, flow);
      }
      flow.tainted += s.tainted;
      flow.amount += s.amount;
      flow.transfers.push(t);
      if (!NOT_FOLLOWED.has(t.fate)) flow.notFollowed = false;
    }
  }
  return { flows: [...byKey.values()], conversions };
}

// --------------------------------------------------------------------------------- valuation

/**
 * Amounts of any asset valued in the seed's asset, for sizes and orders: the seed's asset at
 * par; another at the average rate of the conversions that produced its taint in the trace (the
 * value of the taint that went in, for the taint that came out), taken in chain order. The
 * holdings' and exits' own values are the engine's, exact (docs/taint-models.md, "Valuation");
 * this rate only weighs what passed through. An asset no conversion produced is worth nothing.
 */
export class Valuation {
  private readonly rates = new Map<string, { value: bigint; amount: bigint }>();

  constructor(
    readonly seedAsset: string,
    edges: readonly FlowTransfer[],
  ) {
    for (const e of edges) {
      const out = e.out;
      if (out === undefined || out.token === seedAsset || out.tainted <= 0n) continue;
      const value = this.value(e.token, e.tainted);
      const rate = this.rates.get(out.token) ?? { value: 0n, amount: 0n };
      this.rates.set(out.token, { value: rate.value + value, amount: rate.amount + out.tainted });
    }
  }

  /** `amount` of `token`, in the seed's asset (rounded down). */
  value(token: string, amount: bigint): bigint {
    if (token === this.seedAsset) return amount;
    const rate = this.rates.get(token);
    return rate === undefined || rate.amount === 0n ? 0n : (amount * rate.value) / rate.amount;
  }
}

// ------------------------------------------------------------------------------------ places

/** An address's taint in one asset. */
export interface AssetTaint {
  /**
   * Taint received, and sent on (a conversion's input counts at its payer, its output at its
   * receiver, the same address for a swap of its own).
   */
  taintIn: bigint;
  taintOut: bigint;
  /** Taint still held at the end (a holding). */
  held?: bigint;
  /** Taint that stopped there (an exit). */
  exited?: bigint;
  /** What it holds and what exited there, valued in the seed's asset (the engine's values). */
  value: bigint;
}

/**
 * What the picture knows of one address. Its amounts are values in the seed's asset (equal to the
 * amounts in a trace of one token); `assets` has each asset's own.
 */
export interface Place {
  /** The node's id: the address, or `CHAIN:address` on another chain than the seed's. */
  id: string;
  address: string;
  /** The chain, when the trace crosses chains and this is not the seed's. */
  chainId?: number;
  taintIn: bigint;
  taintOut: bigint;
  held?: bigint;
  /** Hops from the seed to where the taint rests (a holding or an exit). */
  hops?: number;
  /** `deposit`: a deposit address's exchange, evidence and confidence (types.ts `DepositExit`). */
  exit?: { kind: ExitKind; amount: bigint; label?: string; deposit?: DepositExit };
  seed: boolean;
  /** Its taint in each asset, in {@link assetOrder}. */
  assets: Map<string, AssetTaint>;
}

/**
 * A trace across chains names the chain of each amount (a holding's, an exit's, the receiver's of
 * an edge); without one an amount is on the seed's chain (docs/flow-pictures.md, "Chains").
 */
export type OnChain = { chainId?: number };

/** Where each node of a result is: the chains of its edges' two ends, its holdings, its exits. */
export class ChainMap {
  /** The seed's chain (undefined: not said, and nothing says another). */
  readonly seedChain: number | undefined;
  /** Whether anything is on another chain than the seed's. */
  readonly crosses: boolean;
  private readonly ends = new Map<TaintedEdge, { from?: number; to?: number }>();

  /**
   * `chainId`: the chain the trace started on (else the chain of its first seed transfer, else of
   * its first edge). An edge's receiver is on the edge's chain; its sender too when that address
   * received taint on that chain before (or is a seed source there), else on the chain where it
   * last received taint: the edge then crosses chains (a bridge).
   */
  constructor(result: TraceResult, chainId?: number) {
    const chainOf = (x: object) => (x as OnChain).chainId;
    const edges = result.edges;
    this.seedChain =
      chainId ??
      chainOf(edges.find((e) => e.fate === "seed") ?? {}) ??
      chainOf(edges[0] ?? {}) ??
      chainOf(result.holdings[0] ?? result.exits[0] ?? {});
    const norm = (c: number | undefined) => (c === this.seedChain ? undefined : c);
    this.crosses = [...edges, ...result.holdings, ...result.exits].some(
      (x) => norm(chainOf(x)) !== undefined,
    );
    if (!this.crosses) return;
    const sources = seedSources(result);
    const received = new Map<string, Set<number | undefined>>();
    const last = new Map<string, number | undefined>();
    for (const e of edges) {
      const on = norm(chainOf(e));
      const seen = received.get(e.from);
      const there = seen?.has(on) === true || (on === undefined && sources.has(e.from));
      const from = there || seen === undefined ? on : last.get(e.from);
      this.ends.set(e, { from, to: on });
      let got = received.get(e.to);
      if (got === undefined) received.set(e.to, (got = new Set()));
      got.add(on);
      last.set(e.to, on);
    }
  }

  /** The chain of an edge's sender and receiver (undefined: the seed's). */
  endsOf(e: TaintedEdge): { from?: number; to?: number } {
    return this.ends.get(e) ?? {};
  }

  /** The chain of a holding or an exit (undefined: the seed's). */
  chainOf(x: object): number | undefined {
    const c = (x as OnChain).chainId;
    return c === this.seedChain ? undefined : c;
  }

  /** A node's id on a chain: the address on the seed's chain, `CHAIN:address` on another. */
  static id(address: string, chain: number | undefined): string {
    return chain === undefined ? address : `${chain}:${address}`;
  }
}

/**
 * Addresses where taint started: a balance seed's address, the senders of a seed transaction
 * (not its recipients, though their paths name them as their origin).
 */
export function seedSources(result: TraceResult): Set<string> {
  const sources = new Set<string>();
  for (const s of result.seeds) if (s.kind === "balance") sources.add(s.address);
  for (const e of result.edges) if (e.fate === "seed") sources.add(e.from);
  return sources;
}

/**
 * Every address a tainted transfer connects, the seed's sources, holdings and exits, by node id;
 * their amounts in each asset, and valued in the seed's asset ({@link Valuation}). `chains` places
 * them on their chains (a trace across chains); without it, every node is its address.
 */
export function places(result: TraceResult, chains?: ChainMap): Map<string, Place> {
  const map = new Map<string, Place>();
  const valuation = new Valuation(result.seedAsset, result.edges);
  const at = (address: string, chain?: number): Place => {
    const id = ChainMap.id(address, chain);
    let p = map.get(id);
    if (p === undefined) {
      p = {
        id,
        address,
        ...(chain === undefined ? {} : { chainId: chain }),
        taintIn: 0n,
        taintOut: 0n,
        seed: false,
        assets: new Map(),
      };
      map.set(id, p);
    }
    return p;
  };
  const asset = (p: Place, token: string): AssetTaint => {
    let a = p.assets.get(token);
    if (a === undefined) p.assets.set(token, (a = { taintIn: 0n, taintOut: 0n, value: 0n }));
    return a;
  };
  for (const e of result.edges) {
    const ends = chains?.endsOf(e) ?? {};
    const from = at(e.from, ends.from);
    const to = at(e.to, ends.to);
    // A conversion carries the value of the taint it takes unchanged, and one back to its payer
    // (a swap, a wrap) moves no value in or out of the address.
    if (e.out === undefined || from !== to) {
      const value = valuation.value(e.token, e.tainted);
      from.taintOut += value;
      to.taintIn += value;
    }
    asset(from, e.token).taintOut += e.tainted;
    asset(to, e.out?.token ?? e.token).taintIn += e.out?.tainted ?? e.tainted;
  }
  for (const h of result.holdings) {
    const p = at(h.address, chains?.chainOf(h));
    p.held = (p.held ?? 0n) + h.value;
    p.hops = Math.min(p.hops ?? h.hops, h.hops);
    const a = asset(p, h.token);
    a.held = (a.held ?? 0n) + h.amount;
    a.value += h.value;
  }
  for (const x of result.exits) {
    const p = at(x.address, chains?.chainOf(x));
    p.exit = {
      kind: x.kind,
      amount: (p.exit?.amount ?? 0n) + x.value,
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
    p.hops = Math.min(p.hops ?? x.hops, x.hops);
    const a = asset(p, x.token);
    a.exited = (a.exited ?? 0n) + x.amount;
    a.value += x.value;
  }
  for (const s of seedSources(result)) at(s, undefined).seed = true;
  const order = assetOrder(
    [...map.values()].flatMap((p) => [...p.assets.keys()]),
    result.seedAsset,
  );
  const rank = new Map(order.map((t, i) => [t, i]));
  for (const p of map.values())
    p.assets = new Map([...p.assets].sort(([a], [b]) => (rank.get(a) ?? 0) - (rank.get(b) ?? 0)));
  return map;
}

/** The taint a node stands for, in the seed's asset: the most it received, passed on, held or delivered. */
export function weight(p: Pick<Place, "taintIn" | "taintOut" | "held" | "exit">): bigint {
  let w = p.taintIn > p.taintOut ? p.taintIn : p.taintOut;
  if (p.held !== undefined && p.held > w) w = p.held;
  if (p.exit !== undefined && p.exit.amount > w) w = p.exit.amount;
  return w;
}

/**
 * The deposit addresses among `places`, grouped by the exchange they forward to (by the
 * exchange's node id on the deposit's chain): its label, and the deposit addresses' ids, sorted.
 */
export function depositClusters(
  places: Iterable<Place>,
): Map<string, { exchange: string; label: string; members: string[] }> {
  const clusters = new Map<string, { exchange: string; label: string; members: string[] }>();
  for (const p of places) {
    const of = p.exit?.deposit?.depositOf;
    if (of === undefined) continue;
    const id = ChainMap.id(of.address, p.chainId);
    let c = clusters.get(id);
    if (c === undefined)
      clusters.set(id, (c = { exchange: of.address, label: of.label, members: [] }));
    c.members.push(p.id);
  }
  for (const c of clusters.values()) c.members.sort(cmp);
  return new Map([...clusters].sort(([a], [b]) => cmp(a, b)));
}
