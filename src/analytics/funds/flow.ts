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

/**
 * Every asset a result names: the seed's, its holdings', exits', and its edges' in and out (not a
 * crossing's transit); across chains, as {@link oneNamespace} names them.
 */
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
  tokens.delete(TRANSIT_ASSET);
  return assetOrder(tokens, result.seedAsset);
}

/**
 * How the picture names an asset: its symbol when it has one that no other shown asset has, else
 * the symbol and the short address (the Uniswap V2 test token and every V2 pair are all `UNI-V2`),
 * else the short address; the native coin is `native` without a symbol. Across chains, a name two
 * assets still share (the native coin of two chains) is followed by the chain (`native on 8453`;
 * the seed's chain is `seedChain`).
 */
export function assetUnits(
  tokens: readonly string[],
  symbols: ReadonlyMap<string, string | null> = new Map(),
  seedChain?: number,
): Map<string, string> {
  const counts = (names: Iterable<string>) => {
    const count = new Map<string, number>();
    for (const n of names) count.set(n, (count.get(n) ?? 0) + 1);
    return count;
  };
  const symbolCount = counts(tokens.flatMap((t) => symbols.get(t) ?? []));
  const named = tokens.map((t) => {
    const raw = splitChain(t).id;
    const s = symbols.get(t);
    const fallback = raw === "native" ? "native" : shortAddress(raw);
    return !s ? fallback : (symbolCount.get(s) ?? 0) > 1 ? `${s} ${fallback}` : s;
  });
  const nameCount = counts(named);
  const units = new Map<string, string>();
  tokens.forEach((t, i) => {
    const name = named[i] ?? t;
    const chain = splitChain(t).chain ?? seedChain;
    units.set(
      t,
      (nameCount.get(name) ?? 0) > 1 && chain !== undefined ? `${name} on ${chain}` : name,
    );
  });
  return units;
}

/**
 * An address as 0x1234…abcd; a Uniswap V3 position (an asset, and the account of what it is owed:
 * `v3pos:MANAGER:ID`) as `Uniswap V3 position #ID (0xmana…ger)`; anything else as it is.
 */
export function shortAddress(address: string): string {
  const position = /^v3pos:(0x[0-9a-fA-F]{40}):(\d+)$/.exec(address);
  if (position !== null)
    return `Uniswap V3 position #${position[2]} (${shortAddress(position[1] ?? "")})`;
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
  bridge: "bridge",
};

const ACTION_NAMES: Readonly<Record<ConversionAction, string>> = {
  swap: "swap",
  wrap: "wrap",
  unwrap: "unwrap",
  "add-liquidity": "add liquidity",
  "remove-liquidity": "remove liquidity",
  bridge: "crossing",
};

/** The bridges' names (analytics/bridges/), as a picture writes them. */
const BRIDGE_NAMES: Readonly<Record<string, string>> = {
  across: "Across",
  cctp: "CCTP",
  "op-standard": "OP Stack",
  stargate: "Stargate",
  wormhole: "Wormhole",
};

/** A bridge crossing's node: the bridge and the two chains. */
export interface Crossing {
  name: string;
  fromChainId: number;
  toChainId: number;
}

/**
 * A conversion's name in a picture: venue and action ("Uniswap V2 swap", "WETH unwrap"); a
 * crossing's, its bridge ("Across bridge").
 */
export const conversionName = (
  venue: ConversionVenue,
  action: ConversionAction,
  crossing?: Crossing,
): string =>
  crossing === undefined
    ? `${VENUE_NAMES[venue]} ${ACTION_NAMES[action]}`
    : `${BRIDGE_NAMES[crossing.name] ?? crossing.name} bridge`;

/**
 * The node of a contract's conversions of one kind: every swap of a pool goes through one node,
 * its liquidity added through another, a bridge's crossings to one chain through a third. Its id
 * (`0xpool/swap`, `0xbridge/bridge>8453`) is never an address.
 */
export interface ConversionNode {
  id: string;
  /** The wrapper, the pool (a Balancer swap's pool, not the Vault), the bridge's contract. */
  contract: string;
  venue: ConversionVenue;
  action: ConversionAction;
  /** A bridge crossing: from one chain to another. */
  crossing?: Crossing;
}

/** The part of a conversion step a picture reads. */
export type FlowStep = Pick<
  ConversionStep,
  "venue" | "action" | "contract" | "tokenOut" | "amountOut" | "pool"
> & { bridge?: Crossing };

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
 * part in the proportion the input was tainted). A bridge crossing is two moves through a transit
 * account (funds/bridge-moves.ts): the transit is left out, so the first move draws the arrow
 * into the bridge's node and the second the arrow out of it.
 */
export function segmentsOf(e: FlowTransfer): {
  segments: Segment[];
  conversions: ConversionNode[];
} {
  const out = e.out;
  if (out === undefined || out.steps.length === 0) {
    const token = out?.token ?? e.token;
    const [amount, tainted] = out === undefined ? [e.amount, e.tainted] : [out.amount, out.tainted];
    return { segments: [{ from: e.from, to: e.to, token, amount, tainted }], conversions: [] };
  }
  // A Balancer swap's node is its pool (where the price was set), not the Vault all pools share.
  const conversions = out.steps.map((s): ConversionNode => ({
    id:
      s.bridge === undefined
        ? `${s.pool ?? s.contract}/${s.action}`
        : `${s.contract}/${s.action}>${s.bridge.toChainId}`,
    contract: s.pool ?? s.contract,
    venue: s.venue,
    action: s.action,
    ...(s.bridge === undefined
      ? {}
      : {
          crossing: {
            name: s.bridge.name,
            fromChainId: s.bridge.fromChainId,
            toChainId: s.bridge.toChainId,
          },
        }),
  }));
  const ids = conversions.map((c) => c.id);
  const segments: Segment[] = [
    { from: e.from, to: ids[0] ?? e.to, token: e.token, amount: e.amount, tainted: e.tainted },
  ];
  for (let i = 0; i + 1 < out.steps.length; i++) {
    const step = out.steps[i] as FlowStep;
    segments.push({
      from: ids[i] ?? e.from,
      to: ids[i + 1] ?? e.to,
      token: step.tokenOut,
      amount: step.amountOut,
      tainted: e.amount === 0n ? 0n : (step.amountOut * e.tainted) / e.amount,
    });
  }
  segments.push({
    from: ids[ids.length - 1] ?? e.from,
    to: e.to,
    token: out.token,
    amount: out.amount,
    tainted: out.tainted,
  });
  return {
    segments: segments.filter((x) => !isTransit(x.from) && !isTransit(x.to)),
    conversions,
  };
}

/** The transit account of a bridge crossing (funds/bridge-moves.ts `transitAddress`). */
export const isTransit = (address: string): boolean => address.startsWith("bridge:");

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
 * The arrows of a set of transfers: each drawn as its segments ({@link segmentsOf}), those from
 * one node to another in one asset merged. Also the conversion nodes, by id. Arrows come in the
 * order they first appear.
 */
export function mergeFlows<T extends FlowTransfer>(
  transfers: readonly T[],
): { flows: Flow<T>[]; conversions: Map<string, ConversionNode> } {
  const byKey = new Map<string, Flow<T>>();
  const conversions = new Map<string, ConversionNode>();
  for (const t of transfers) {
    const drawn = segmentsOf(t);
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
  /** Its chain, when the trace crosses chains and this is not the seed's. */
  chainId?: number;
  taintIn: bigint;
  taintOut: bigint;
  held?: bigint;
  /** Hops from the seed to where the taint rests (a holding or an exit). */
  hops?: number;
  /**
   * `deposit`: a deposit address's exchange, evidence and confidence (types.ts `DepositExit`);
   * `destinations`: a bridge's, the chains the deposits were bound for.
   */
  exit?: {
    kind: ExitKind;
    amount: bigint;
    label?: string;
    deposit?: DepositExit;
    destinations?: (number | null)[];
  };
  seed: boolean;
  /** Its taint in each asset, in {@link assetOrder}. */
  assets: Map<string, AssetTaint>;
}

// ------------------------------------------------------------------------------------ chains

/** An address's or an asset's id on a chain: as it is on the seed's, `CHAIN:…` on another. */
export const onChain = (id: string, chain: number | undefined): string =>
  chain === undefined ? id : `${chain}:${id}`;

/** The chain an id names (`8453:0x…`; undefined: the seed's), and the id without it. */
export function splitChain(id: string): { chain?: number; id: string } {
  const m = /^(\d+):(.*)$/.exec(id);
  return m?.[1] === undefined ? { id } : { chain: Number(m[1]), id: m[2] ?? "" };
}

/**
 * A result as one picture reads it: when anything is on another chain than the seed's (a trace
 * across chains: `chainId` on its edges, holdings and exits), the addresses and assets of the
 * other chains are named `CHAIN:…` ({@link onChain}), those of the seed's chain as they are; a
 * crossing's input is on its source chain, its output on its destination. `seedChain` is the
 * chain the trace started on (default: the chain of its first seed transfer, else its first
 * edge's). A result on one chain is returned as it is.
 */
export function oneNamespace(
  result: TraceResult,
  seedChain?: number,
): { result: TraceResult; seedChain?: number; crosses: boolean } {
  const edges = result.edges;
  const seed =
    seedChain ??
    edges.find((e) => e.fate === "seed")?.chainId ??
    edges[0]?.chainId ??
    result.holdings[0]?.chainId ??
    result.exits[0]?.chainId;
  const other = (c: number | undefined) => (c === undefined || c === seed ? undefined : c);
  const crosses = [...edges, ...result.holdings, ...result.exits].some(
    (x) => other(x.chainId) !== undefined,
  );
  if (!crosses) return { result, seedChain: seed, crosses };
  const address = (a: string, c?: number) => (isTransit(a) ? a : onChain(a, other(c)));
  // The transit's asset has no chain.
  const asset = (t: string, c?: number) => (t === TRANSIT_ASSET ? t : onChain(t, other(c)));
  const renamed: TaintedEdge[] = edges.map((e) => ({
    ...e,
    from: address(e.from, e.chainId),
    to: address(e.to, e.chainId),
    token: asset(e.token, e.chainId),
    ...(e.out === undefined
      ? {}
      : {
          out: {
            ...e.out,
            token: asset(e.out.token, e.chainId),
            steps: e.out.steps.map((s) => ({
              ...s,
              contract: address(s.contract, s.bridge?.fromChainId ?? e.chainId),
              ...(s.pool === undefined ? {} : { pool: address(s.pool, e.chainId) }),
              tokenIn: asset(s.tokenIn, s.bridge?.fromChainId ?? e.chainId),
              tokenOut: asset(s.tokenOut, s.bridge?.toChainId ?? e.chainId),
            })),
          },
        }),
  }));
  const where = <T extends { address: string; token: string; chainId?: number }>(x: T): T => ({
    ...x,
    address: address(x.address, x.chainId),
    token: asset(x.token, x.chainId),
  });
  return {
    result: {
      ...result,
      edges: renamed,
      holdings: result.holdings.map(where),
      exits: result.exits.map((x) => ({
        ...where(x),
        ...(x.depositOf === undefined
          ? {}
          : { depositOf: { ...x.depositOf, address: address(x.depositOf.address, x.chainId) } }),
      })),
    },
    seedChain: seed,
    crosses,
  };
}

/** The asset of a bridge crossing's transit account (funds/bridge-moves.ts `TRANSIT`). */
export const TRANSIT_ASSET = "bridge";

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
 * Every address a tainted transfer connects, the seed's sources, holdings and exits, by node id
 * (a result across chains: {@link oneNamespace}'s), but a crossing's transit; their amounts in
 * each asset, and valued in the seed's asset ({@link Valuation}).
 */
export function places(result: TraceResult): Map<string, Place> {
  const map = new Map<string, Place>();
  const valuation = new Valuation(result.seedAsset, result.edges);
  const at = (id: string): Place => {
    let p = map.get(id);
    if (p === undefined) {
      const { chain, id: address } = splitChain(id);
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
    // A crossing's transit is drawn as the bridge's node.
    const from = isTransit(e.from) ? undefined : at(e.from);
    const to = isTransit(e.to) ? undefined : at(e.to);
    // A conversion carries the value of the taint it takes unchanged, and one back to its payer
    // (a swap, a wrap) moves no value in or out of the address.
    if (e.out === undefined || from !== to) {
      const value = valuation.value(e.token, e.tainted);
      if (from !== undefined) from.taintOut += value;
      if (to !== undefined) to.taintIn += value;
    }
    if (from !== undefined) asset(from, e.token).taintOut += e.tainted;
    if (to !== undefined) asset(to, e.out?.token ?? e.token).taintIn += e.out?.tainted ?? e.tainted;
  }
  for (const h of result.holdings) {
    const p = at(h.address);
    p.held = (p.held ?? 0n) + h.value;
    p.hops = Math.min(p.hops ?? h.hops, h.hops);
    const a = asset(p, h.token);
    a.held = (a.held ?? 0n) + h.amount;
    a.value += h.value;
  }
  for (const x of result.exits) {
    const p = at(x.address);
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
      ...(x.destinations === undefined
        ? {}
        : {
            destinations: [
              ...new Set([
                ...(p.exit?.destinations ?? []),
                ...x.destinations.map((d) => d.chainId),
              ]),
            ],
          }),
    };
    p.hops = Math.min(p.hops ?? x.hops, x.hops);
    const a = asset(p, x.token);
    a.exited = (a.exited ?? 0n) + x.amount;
    a.value += x.value;
  }
  for (const s of seedSources(result)) at(s).seed = true;
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
 * The deposit addresses among `places`, grouped by the exchange they forward to (its node id: the
 * exchange on the deposits' chain): its label, and the deposit addresses' ids, sorted.
 */
export function depositClusters(
  places: Iterable<Place>,
): Map<string, { exchange: string; label: string; members: string[] }> {
  const clusters = new Map<string, { exchange: string; label: string; members: string[] }>();
  for (const p of places) {
    const of = p.exit?.deposit?.depositOf;
    if (of === undefined) continue;
    let c = clusters.get(of.address);
    if (c === undefined)
      clusters.set(
        of.address,
        (c = { exchange: splitChain(of.address).id, label: of.label, members: [] }),
      );
    c.members.push(p.id);
  }
  for (const c of clusters.values()) c.members.sort(cmp);
  return new Map([...clusters].sort(([a], [b]) => cmp(a, b)));
}
