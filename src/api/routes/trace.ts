/**
 * `POST /trace`: a fund-flow trace over HTTP, for the dashboard's graph. The body mirrors the
 * options of `veritrace trace`; the JSON-RPC endpoint is the server's (`veritrace serve --rpc`),
 * never the client's. The trace runs through the same {@link planTrace} / {@link runTrace} as the
 * command, and `summary` is exactly the object `veritrace trace --json` prints; `nodes`, `edges`
 * and `paths` are what the graph draws (docs/api.md, "Fund-flow traces").
 */
import {
  engineLabel,
  labelsNamed,
  planTrace,
  runTrace,
  traceSummaryJson,
  type RunTraceOutput,
} from "../../analytics/funds/run.js";
import { paletteEntryOf } from "../../analytics/funds/graph.js";
import { assetsOf, oneNamespace, places, splitChain, weight } from "../../analytics/funds/flow.js";
import { describeAssets, type AssetInfo } from "../../analytics/funds/assets.js";
import type { ExitCategories } from "../../analytics/funds/exits.js";
import type { TaintedEdge, TaintPath, TraceResult } from "../../analytics/funds/taint.js";
import type { Label as StoreLabel } from "../../analytics/labels/store.js";
import type { Store } from "../../db/store.js";
import { badRequest } from "../http.js";
import { onServerNode } from "./on-node.js";
import { route, type TraceBridges, type TraceChain } from "../route.js";
import { RpcClient } from "../../chain/rpc.js";
import {
  MAX_TRACE_EDGES,
  MAX_TRACE_NODES,
  Trace,
  TraceRequest as TraceRequestSchema,
  type FlowEdge,
  type FlowNode,
  type FlowPath,
} from "../wire.js";
import type { z } from "zod";

/** A trace's input, checked: the body of `POST /trace`. */
export type TraceRequest = z.output<typeof TraceRequestSchema>;

/** An amount as the wire writes it, or null. */
const text = (v: bigint | undefined) => (v === undefined ? null : v.toString());

/**
 * The nodes of a flow: every address a tainted transfer connects, and the seed's sources, with
 * their taint valued in the seed's asset and in each asset (analytics/funds/flow.ts). Each shows
 * the label the trace saw under its exit list `exits` (default: the default list).
 */
export function flowNodes(
  result: TraceResult,
  labels: ReadonlyMap<string, StoreLabel[]>,
  exits?: ExitCategories,
): FlowNode[] {
  const map = places(result);
  return [...map.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([address, p]) => {
      const label = engineLabel(labels.get(address), exits);
      const kind = p.exit?.kind;
      const category = paletteEntryOf(label?.category, kind) ?? null;
      return {
        address,
        label: label?.label ?? p.exit?.label ?? null,
        category,
        seed: p.seed,
        taintIn: p.taintIn.toString(),
        taintOut: p.taintOut.toString(),
        held: text(p.held),
        exit:
          p.exit === undefined
            ? null
            : {
                kind: p.exit.kind,
                amount: p.exit.amount.toString(),
                label: p.exit.label ?? null,
                ...p.exit.deposit,
              },
        weight: weight(p).toString(),
        hops: p.hops ?? null,
        assets: [...p.assets].map(([token, a]) => ({
          token,
          taintIn: a.taintIn.toString(),
          taintOut: a.taintOut.toString(),
          held: text(a.held),
          exited: text(a.exited),
          value: a.value.toString(),
        })),
      };
    });
}

/** A tainted transfer as the wire writes it, a conversion with its steps. */
function edgeJson(e: TaintedEdge): FlowEdge {
  const { txHash, blockNumber, from, to, token, fate } = e;
  return {
    ...(e.chainId === undefined ? {} : { chainId: e.chainId }),
    txHash,
    blockNumber,
    from,
    to,
    token,
    amount: e.amount.toString(),
    tainted: e.tainted.toString(),
    fate,
    ...(e.out === undefined
      ? {}
      : {
          out: {
            token: e.out.token,
            amount: e.out.amount.toString(),
            tainted: e.out.tainted.toString(),
            steps: e.out.steps.map((s) => ({
              ...s,
              amountIn: s.amountIn.toString(),
              amountOut: s.amountOut.toString(),
            })),
          },
        }),
  };
}

const pathJson = (p: TaintPath, token: string): FlowPath => ({
  origin: p.origin,
  token,
  amount: p.amount.toString(),
  steps: p.steps.map((s) => ({
    txHash: s.txHash,
    from: s.from,
    to: s.to,
    token: s.token,
    tainted: s.tainted.toString(),
  })),
});

/**
 * The answer of `POST /trace` for a trace run: `summary` as `veritrace trace --json`, the nodes,
 * edges and paths the dashboard draws, and `assets` (each with its decimals and symbol, in the
 * legend's order: every asset the trace names, from `assets`).
 */
export function traceAnswer(
  out: RunTraceOutput,
  assets: ReadonlyMap<string, AssetInfo>,
): z.input<typeof Trace> {
  // Across chains, the addresses and assets of the other chains are CHAIN:… (as the pictures
  // name them), each labeled as its address is on its chain.
  const { result: r, crosses } = oneNamespace(out.result, out.chainId);
  const labels = new Map(out.labels);
  if (crosses) {
    labels.clear();
    for (const address of places(r).keys()) {
      const found = labelsNamed(out, address);
      if (found !== undefined) labels.set(address, found);
    }
  }
  const paths: Record<string, FlowPath[]> = {};
  for (const h of [...r.holdings, ...r.exits]) {
    paths[h.address] = [...(paths[h.address] ?? []), ...h.paths.map((p) => pathJson(p, h.token))];
  }
  return {
    summary: traceSummaryJson(out),
    chainId: out.chainId,
    fromBlock: out.fromBlock,
    toBlock: out.toBlock,
    decimals: out.decimals,
    assets: assetsOf(r).map((token) => ({
      token,
      decimals: assets.get(token)?.decimals ?? null,
      symbol: assets.get(token)?.symbol ?? null,
    })),
    seedAmount: r.seedAmount.toString(),
    beyondHopLimit: r.beyondHopLimit.toString(),
    belowMinimum: r.belowMinimum.toString(),
    complete: out.ingest.complete,
    note: out.ingest.note,
    warnings: r.warnings.map((w) => ({
      code: w.code,
      message: w.message,
      address: w.address ?? null,
    })),
    nodes: flowNodes(r, labels, out.exits),
    edges: r.edges.map(edgeJson),
    paths,
  };
}

/** Runs a checked trace request against the server's node (see {@link onServerNode}). */
export async function answerTrace(
  store: Store,
  rpcUrl: string | undefined,
  request: TraceRequest,
  served: { chains?: readonly TraceChain[]; bridges?: TraceBridges } = {},
): Promise<z.input<typeof Trace>> {
  // The other chains: those the request names among the server's, by default all of them (a
  // trace of every asset only).
  const known = served.chains ?? [];
  const chains =
    request.token !== "all"
      ? []
      : (request.chains ?? known.map((c) => c.chainId)).map((id) => {
          const chain = known.find((c) => c.chainId === id);
          if (chain === undefined)
            throw badRequest(
              `chain ${id} is not one this server reads (veritrace serve --chain): ` +
                (known.length === 0 ? "it reads none" : known.map((c) => c.chainId).join(", ")),
            );
          return { chainId: id, rpc: new RpcClient(chain.url, { maxRetries: 2 }) };
        });
  return onServerNode(store, rpcUrl, "traces", async (rpc) => {
    const plan = await planTrace(rpc, {
      token: request.token,
      seed: request.seed,
      toBlock: request.toBlock,
    });
    const out = await runTrace({
      rpc,
      db: store.db,
      token: request.token,
      seed: request.seed,
      seedAsset: request.seedAsset?.toLowerCase(),
      plan,
      model: request.model,
      toBlock: request.toBlock,
      maxHops: request.hops,
      minAmount: request.minAmount === undefined ? undefined : BigInt(request.minAmount),
      windowSeconds: request.window,
      maxPaths: request.paths,
      exitCategories: request.exitCategories,
      depositAddresses: request.depositAddresses,
      chains,
      ...served.bridges,
      read: request.lazy === true ? "lazy" : "stream",
    });
    const r = out.result;
    const reached = places(r).size;
    if (reached > MAX_TRACE_NODES || r.edges.length > MAX_TRACE_EDGES) {
      throw badRequest(
        `the trace reaches ${reached} addresses over ${r.edges.length} transfers, more than ` +
          `${MAX_TRACE_NODES} and ${MAX_TRACE_EDGES}: lower hops or raise minAmount`,
      );
    }
    // A trace of one token names its one asset by its decimals alone, as the command does.
    // Each asset asked of its chain's node; across chains, the decimals read are keyed
    // CHAIN:token, the seed's chain's named as its picture names them (bare).
    const named = (key: string) => {
      const { chain, id } = splitChain(key);
      return chains.length > 0 && chain === out.chainId ? id : key;
    };
    const assets =
      r.token === "all"
        ? await describeAssets(
            new Map<number | undefined, RpcClient>([
              [undefined, rpc],
              ...chains.map((c): [number, RpcClient] => [c.chainId, c.rpc]),
            ]),
            assetsOf(oneNamespace(r, out.chainId).result),
            new Map([...out.assetDecimals].map(([k, d]) => [named(k), d])),
          )
        : new Map([[r.token, { decimals: out.decimals, symbol: null }]]);
    return traceAnswer(out, assets);
  });
}

export const traceRoute = route({ path: "/trace", public: false }).post({
  operationId: "runTrace",
  summary: "Trace tainted funds on the server's chain (as veritrace trace --json)",
  description:
    "Reads the token's transfers (with `all`, every asset's, and the conversions between " +
    "them, and over bridges the other chains' the server reads, `veritrace serve --chain`) " +
    "from the server's JSON-RPC node (`veritrace serve --rpc`) into the store and runs " +
    "the taint model. `summary` is exactly the object `veritrace trace --json` prints for the " +
    "same input; `nodes`, `edges` (conversions with their steps), `paths` and `assets` draw the " +
    "flow. Traces run one at a time; a trace longer than the request timeout answers 503.",
  tags: ["fund flows"],
  body: TraceRequestSchema,
  bodyDescription: "The trace's input, as the command's options.",
  response: Trace,
  responseDescription: "The trace.",
  errors: [400, 404, 413, 415, 502],
  handle: (ctx) =>
    answerTrace(ctx.store, ctx.rpcUrl, ctx.body, { chains: ctx.chains, bridges: ctx.bridges }),
});
