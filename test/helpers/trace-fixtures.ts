/**
 * Trace results built by hand, as the engine gives them, for the pictures' tests: the fund-flow
 * pictures (test/analytics/graph.test.ts) and the dashboard's (test/web/dashboard.test.ts).
 */
import type { GraphOptions } from "../../src/analytics/funds/graph.js";
import { TRANSIT_ASSET } from "../../src/analytics/funds/flow.js";
import {
  ALL_ASSETS,
  type ConversionStep,
  type EdgeFate,
  type Exit,
  type Holding,
  type Label,
  type TaintedEdge,
  type TraceResult,
} from "../../src/analytics/funds/types.js";

/** An address that reads 0xNNNN…NNNN in the picture. */
export const addr = (hex4: string) => `0x${hex4}${"0".repeat(32)}${hex4}`;

let txCounter = 0;
export function edge(
  from: string,
  to: string,
  amount: bigint,
  tainted: bigint,
  fate: EdgeFate = "carried",
): TaintedEdge {
  txCounter += 1;
  return {
    txHash: `0x${txCounter.toString(16).padStart(64, "0")}`,
    blockNumber: 100 + txCounter,
    txIndex: 0,
    ordinal: 0,
    time: 1_700_000_000 + txCounter * 12,
    from,
    to,
    token: "native",
    amount,
    tainted,
    fate,
  };
}

export const holding = (address: string, amount: bigint, hops = 1): Holding => ({
  address,
  token: "native",
  amount,
  value: amount,
  hops,
  received: amount,
  paths: [],
  explained: 0n,
});

export const exit = (
  address: string,
  kind: Exit["kind"],
  amount: bigint,
  label?: string,
): Exit => ({
  address,
  token: "native",
  kind,
  amount,
  value: amount,
  hops: 2,
  paths: [],
  explained: 0n,
  ...(label === undefined ? {} : { label }),
});

/**
 * A result as the engine gives it: with one token, every edge, holding and exit is in it (the
 * fixtures below are written without their token); with every asset, as given.
 */
export function trace(
  r: Omit<TraceResult, "seedTime" | "seedAsset" | "seeds" | "total" | "stats" | "warnings"> &
    Partial<TraceResult>,
): TraceResult {
  const one = <T extends { token: string }>(xs: T[]) =>
    r.token === ALL_ASSETS ? xs : xs.map((x) => ({ ...x, token: r.token }));
  const edges = one(r.edges);
  const holdings = one(r.holdings);
  const exits = one(r.exits);
  const total =
    holdings.reduce((s, h) => s + h.value, 0n) +
    exits.reduce((s, x) => s + x.value, 0n) +
    r.beyondHopLimit +
    r.belowMinimum;
  return {
    seedTime: 1_700_000_000,
    seedAsset: r.token,
    seeds: [r.seed],
    total,
    warnings: [],
    stats: {
      transfers: edges.length,
      conversions: edges.filter((e) => e.out !== undefined).length,
      processed: edges.length,
      addresses: 0,
      taintedEdges: edges.length,
      pathNodes: 0,
    },
    ...r,
    edges,
    holdings,
    exits,
  };
}

export function lookup(table: Record<string, Label>): (address: string) => Label | undefined {
  return (address) => table[address];
}

export const USDC = 10n ** 6n;
export const ETH = 10n ** 18n;

let moveCounter = 0;
/** A tainted transfer of a trace of every asset: `token` moved, or converted into `out`. */
export function move(
  from: string,
  to: string,
  token: string,
  amount: bigint,
  tainted: bigint,
  out?: {
    token: string;
    amount: bigint;
    step?: Pick<ConversionStep, "venue" | "action" | "contract" | "bridge">;
  },
  fate: EdgeFate = "carried",
): TaintedEdge {
  // Numbered apart from edge()'s, so that the fixtures of one token keep their hashes.
  moveCounter += 1;
  const e: TaintedEdge = {
    txHash: `0x${"e".repeat(56)}${moveCounter.toString(16).padStart(8, "0")}`,
    blockNumber: 500 + moveCounter,
    txIndex: 0,
    ordinal: 0,
    time: 1_700_010_000 + moveCounter * 12,
    from,
    to,
    token,
    amount,
    tainted,
    fate,
  };
  if (out !== undefined)
    e.out = {
      token: out.token,
      amount: out.amount,
      tainted: out.amount,
      steps:
        out.step === undefined
          ? []
          : [
              {
                ...out.step,
                logIndex: 1,
                tokenIn: token,
                amountIn: amount,
                tokenOut: out.token,
                amountOut: out.amount,
              },
            ],
    };
  return e;
}

/**
 * Every asset (haircut): the victim V pays the thief T 1,000 USDC (the seed); T swaps 600 USDC
 * for 0.3 WETH on a Uniswap V2 pool, sends 0.2 WETH to R, which unwraps it and pays 0.1 of the
 * ether to a deposit address D of an exchange X. T holds 400 USDC and 0.1 WETH (worth 200
 * USDC), R 0.1 ether (worth 200 USDC), D received 0.1 ether (worth 200 USDC).
 */
export const VICTIM = addr("1111");
export const USDC_TOKEN = addr("a0b8");
export const WETH_TOKEN = addr("c02a");
export const POOL = addr("b4e1");
export const THIEF = addr("7e7e");
export const RECEIVER = addr("2222");
export const DEPOSIT = addr("de90");
export const EXCHANGE = addr("e8c8");
export const swapped = trace({
  model: "haircut",
  token: ALL_ASSETS,
  seedAsset: USDC_TOKEN,
  seed: { kind: "tx", txHash: `0x${"5e".repeat(32)}` },
  seedAmount: 1000n * USDC,
  edges: [
    move(VICTIM, THIEF, USDC_TOKEN, 1000n * USDC, 1000n * USDC, undefined, "seed"),
    move(THIEF, THIEF, USDC_TOKEN, 600n * USDC, 600n * USDC, {
      token: WETH_TOKEN,
      amount: 3n * 10n ** 17n,
      step: { venue: "uniswap-v2", action: "swap", contract: POOL },
    }),
    move(THIEF, RECEIVER, WETH_TOKEN, 2n * 10n ** 17n, 2n * 10n ** 17n),
    move(RECEIVER, RECEIVER, WETH_TOKEN, 2n * 10n ** 17n, 2n * 10n ** 17n, {
      token: "native",
      amount: 2n * 10n ** 17n,
      step: { venue: "weth", action: "unwrap", contract: WETH_TOKEN },
    }),
    move(RECEIVER, DEPOSIT, "native", 10n ** 17n, 10n ** 17n, undefined, "exit"),
  ],
  holdings: [
    { ...holding(THIEF, 400n * USDC), token: USDC_TOKEN },
    { ...holding(THIEF, 10n ** 17n), token: WETH_TOKEN, value: 200n * USDC },
    { ...holding(RECEIVER, 10n ** 17n, 2), token: "native", value: 200n * USDC },
  ],
  exits: [
    {
      ...exit(DEPOSIT, "exchange", 10n ** 17n, "deposit address of Example Exchange"),
      value: 200n * USDC,
      depositOf: { address: EXCHANGE, label: "Example Exchange" },
      evidence: [`0x${"f0".repeat(32)}`],
      confidence: 1,
    },
  ],
  beyondHopLimit: 0n,
  belowMinimum: 0n,
});
export const swappedOptions: GraphOptions = {
  decimals: new Map([
    [USDC_TOKEN, 6],
    [WETH_TOKEN, 18],
    ["native", 18],
  ]),
  symbols: new Map([
    [USDC_TOKEN, "USDC"],
    [WETH_TOKEN, "WETH"],
  ]),
  labels: lookup({ [EXCHANGE]: { label: "Example Exchange", category: "exchange" } }),
};

/** Gives a fixture's element the chain it is on (a trace across chains). */
export const onChain = <T extends object>(x: T, chainId: number): T =>
  Object.assign(x, { chainId });

/**
 * Across chains, as the engine gives it (funds/bridge-moves.ts): VICTIM pays THIEF 1,000 USDC on chain 1
 * (the seed); THIEF bridges 800 to itself on chain 8453 by Across (USDC there is another token), two
 * moves through the crossing's transit account, and pays 600 to an exchange there; THIEF keeps 200
 * on 8453, and pays its last 200 into a bridge whose release was not read (an exit bound for
 * chain 10).
 */
export const USDC_BASE = addr("833b");
export const ACROSS = addr("ac20");
export const OTHER_BRIDGE = addr("b0b0");
export const BRIDGE_TRANSIT = "bridge:1:0xfeed";
export const BASE_EXCHANGE = addr("eeee");
const crossingStep = {
  venue: "bridge",
  action: "bridge",
  contract: ACROSS,
  bridge: {
    name: "across",
    fromChainId: 1,
    toChainId: 8453,
    depositTx: `0x${"d1".repeat(32)}`,
    releaseTx: `0x${"e1".repeat(32)}`,
    by: "id",
    confidence: 1,
    reason: "the deposit's id",
  },
} as const;
export const bridged = trace({
  model: "haircut",
  token: ALL_ASSETS,
  seedAsset: USDC_TOKEN,
  seed: { kind: "tx", txHash: `0x${"b1".repeat(32)}` },
  seedAmount: 1000n * USDC,
  edges: [
    onChain(move(VICTIM, THIEF, USDC_TOKEN, 1000n * USDC, 1000n * USDC, undefined, "seed"), 1),
    onChain(
      move(THIEF, BRIDGE_TRANSIT, USDC_TOKEN, 800n * USDC, 800n * USDC, {
        token: TRANSIT_ASSET,
        amount: 800n * USDC,
        step: crossingStep,
      }),
      1,
    ),
    onChain(
      move(BRIDGE_TRANSIT, THIEF, TRANSIT_ASSET, 800n * USDC, 800n * USDC, {
        token: USDC_BASE,
        amount: 800n * USDC,
        step: crossingStep,
      }),
      8453,
    ),
    onChain(
      move(THIEF, BASE_EXCHANGE, USDC_BASE, 600n * USDC, 600n * USDC, undefined, "exit"),
      8453,
    ),
    onChain(move(THIEF, OTHER_BRIDGE, USDC_TOKEN, 200n * USDC, 200n * USDC, undefined, "exit"), 1),
  ],
  holdings: [onChain({ ...holding(THIEF, 200n * USDC), token: USDC_BASE }, 8453)],
  exits: [
    onChain(
      { ...exit(BASE_EXCHANGE, "exchange", 600n * USDC, "Binance 14"), token: USDC_BASE },
      8453,
    ),
    onChain(
      {
        ...exit(OTHER_BRIDGE, "bridge", 200n * USDC, "Some Bridge"),
        token: USDC_TOKEN,
        destinations: [{ chainId: 10, amount: 200n * USDC }],
      },
      1,
    ),
  ],
  beyondHopLimit: 0n,
  belowMinimum: 0n,
});
