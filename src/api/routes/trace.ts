/**
 * `POST /trace`: a fund-flow trace over HTTP, for the dashboard's graph. The body mirrors the
 * options of `veritrace trace`; the JSON-RPC endpoint is the server's (`veritrace serve --rpc`),
 * never the client's. The trace runs through the same {@link planTrace} / {@link runTrace} as the
 * command, and `summary` is exactly the object `veritrace trace --json` prints; `nodes`, `edges`
 * and `paths` are what the graph draws (docs/api.md, "Fund-flow traces").
 */
import { engineLabel, planTrace, runTrace, traceSummaryJson } from "../../analytics/funds/run.js";
import { paletteEntryOf, places, weight } from "../../analytics/funds/graph.js";
import type { ExitCategories } from "../../analytics/funds/exits.js";
import type { TaintPath, TraceResult } from "../../analytics/funds/taint.js";
import type { Label as StoreLabel } from "../../analytics/labels/store.js";
import type { Store } from "../../db/store.js";
import { badRequest } from "../http.js";
import { onServerNode } from "./on-node.js";
import { route } from "../route.js";
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

/**
 * The nodes of a flow: every address a tainted transfer connects, and the seed's sources. Each
 * shows the label the trace saw under its exit list `exits` (default: the default list).
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
        held: p.held === undefined ? null : p.held.toString(),
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
      };
    });
}

const pathJson = (p: TaintPath): FlowPath => ({
  origin: p.origin,
  amount: p.amount.toString(),
  steps: p.steps.map((s) => ({
    txHash: s.txHash,
    from: s.from,
    to: s.to,
    tainted: s.tainted.toString(),
  })),
});

/** Runs a checked trace request against the server's node (see {@link onServerNode}). */
export async function answerTrace(
  store: Store,
  rpcUrl: string | undefined,
  request: TraceRequest,
): Promise<z.input<typeof Trace>> {
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
      plan,
      model: request.model,
      toBlock: request.toBlock,
      maxHops: request.hops,
      minAmount: request.minAmount === undefined ? undefined : BigInt(request.minAmount),
      windowSeconds: request.window,
      maxPaths: request.paths,
      exitCategories: request.exitCategories,
      depositAddresses: request.depositAddresses,
    });
    const r = out.result;
    const nodes = flowNodes(r, out.labels, out.exits);
    if (nodes.length > MAX_TRACE_NODES || r.edges.length > MAX_TRACE_EDGES) {
      throw badRequest(
        `the trace reaches ${nodes.length} addresses over ${r.edges.length} transfers, more than ` +
          `${MAX_TRACE_NODES} and ${MAX_TRACE_EDGES}: lower hops or raise minAmount`,
      );
    }
    const paths: Record<string, FlowPath[]> = {};
    for (const h of [...r.holdings, ...r.exits]) {
      paths[h.address] = [...(paths[h.address] ?? []), ...h.paths.map(pathJson)];
    }
    return {
      summary: traceSummaryJson(out),
      chainId: out.chainId,
      fromBlock: out.fromBlock,
      toBlock: out.toBlock,
      decimals: out.decimals,
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
      nodes,
      edges: r.edges.map((e): FlowEdge => ({
        txHash: e.txHash,
        blockNumber: e.blockNumber,
        from: e.from,
        to: e.to,
        amount: e.amount.toString(),
        tainted: e.tainted.toString(),
        fate: e.fate,
      })),
      paths,
    };
  });
}

export const traceRoute = route({ path: "/trace", public: false }).post({
  operationId: "runTrace",
  summary: "Trace tainted funds on the server's chain (as veritrace trace --json)",
  description:
    "Reads the token's transfers from the server's JSON-RPC node (`veritrace serve --rpc`) " +
    "into the store and runs the taint model. `summary` is exactly the object `veritrace " +
    "trace --json` prints for the same input; `nodes`, `edges` and `paths` draw the flow. " +
    "Traces run one at a time; a trace longer than the request timeout answers 503.",
  tags: ["fund flows"],
  body: TraceRequestSchema,
  bodyDescription: "The trace's input, as the command's options.",
  response: Trace,
  responseDescription: "The trace.",
  errors: [400, 404, 413, 415, 502],
  handle: (ctx) => answerTrace(ctx.store, ctx.rpcUrl, ctx.body),
});
