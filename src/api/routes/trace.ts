/**
 * `POST /trace`: a fund-flow trace over HTTP, for the dashboard's graph. The body mirrors the
 * options of `veritrace trace`; the JSON-RPC endpoint is the server's (`veritrace serve --rpc`),
 * never the client's. The trace runs through the same {@link planTrace} / {@link runTrace} as the
 * command, and `summary` is exactly the object `veritrace trace --json` prints; `nodes`, `edges`
 * and `paths` are what the graph draws (docs/api.md, "Fund-flow traces").
 */
import { engineLabel, planTrace, runTrace, traceSummaryJson } from "../../analytics/funds/run.js";
import { paletteEntryOf, places, weight, type PaletteEntry } from "../../analytics/funds/graph.js";
import {
  TAINT_MODELS,
  type TaintModelName,
  type TaintPath,
  type TraceResult,
} from "../../analytics/funds/taint.js";
import { TracerError } from "../../shared/errors.js";
import { RpcClient, RpcUnavailableError } from "../../chain/rpc.js";
import type { Label as StoreLabel } from "../../analytics/labels/store.js";
import type { Store } from "../../db/store.js";
import { badRequest, HttpError } from "../http.js";
import { quote } from "../../shared/request-checks.js";
import type { Route } from "../route.js";

/** The most hops a trace over HTTP may follow. */
export const MAX_TRACE_HOPS = 64;
/** The most addresses and transfers a trace over HTTP may answer with. */
export const MAX_TRACE_NODES = 10_000;
export const MAX_TRACE_EDGES = 50_000;
/** The most paths kept per holding or exit. */
export const MAX_TRACE_PATHS = 20;

/** A trace's input, as the body of `POST /trace` gives it. */
export interface TraceRequest {
  token: string;
  seed: string;
  model: TaintModelName;
  hops?: number;
  minAmount?: string;
  window?: number;
  toBlock?: number;
  paths?: number;
}

/** The legend entry of a node's fill (docs/flow-pictures.md, "Color"). */
export type GraphCategory = PaletteEntry;

/** One address of the flow; amounts are decimal strings of base units. */
export interface FlowNode {
  address: string;
  /** The label's text, when the address has one. */
  label: string | null;
  category: GraphCategory | null;
  seed: boolean;
  /** Taint received and sent on by tainted transfers. */
  taintIn: string;
  taintOut: string;
  /** Taint still held at the end (a holding). */
  held: string | null;
  exit: { kind: string; amount: string; label: string | null } | null;
  /** The taint the node stands for: the most it received, passed, held or delivered. */
  weight: string;
  /** The fewest hops from the seed, for holdings and exits. */
  hops: number | null;
}

export interface FlowEdge {
  txHash: string;
  blockNumber: number;
  from: string;
  to: string;
  amount: string;
  tainted: string;
  fate: string;
}

export interface FlowPath {
  origin: string;
  amount: string;
  steps: { txHash: string; from: string; to: string; tainted: string }[];
}

const FIELDS = ["token", "seed", "model", "hops", "minAmount", "window", "toBlock", "paths"];

const isCount = (v: unknown, max: number): v is number =>
  typeof v === "number" && Number.isSafeInteger(v) && v >= 0 && v <= max;

/** Checks a `POST /trace` body; a 400 names the first bad field. */
export function parseTraceRequest(body: unknown): TraceRequest {
  if (typeof body !== "object" || body === null || Array.isArray(body))
    throw badRequest("body: a JSON object {token, seed, model, hops?, …} is required");
  const b = body as Record<string, unknown>;
  const unknownKey = Object.keys(b).find((k) => !FIELDS.includes(k));
  if (unknownKey !== undefined) throw badRequest(`body: unknown field ${quote(unknownKey)}`);
  const { token, seed, model, hops, minAmount, window, toBlock, paths } = b;
  if (typeof token !== "string" || !(token === "native" || /^0x[0-9a-fA-F]{40}$/.test(token)))
    throw badRequest('token: a token address (0x and 40 hex digits) or "native" is required');
  if (
    typeof seed !== "string" ||
    !/^(0x[0-9a-fA-F]{64}|0x[0-9a-fA-F]{40}@\d{1,15})$/.test(seed.trim())
  )
    throw badRequest("seed: a transaction hash or ADDRESS@BLOCK is required");
  if (typeof model !== "string" || !(TAINT_MODELS as readonly string[]).includes(model))
    throw badRequest(`model: one of ${TAINT_MODELS.join(", ")} is required`);
  if (hops !== undefined && !isCount(hops, MAX_TRACE_HOPS))
    throw badRequest(`hops: an integer from 0 to ${MAX_TRACE_HOPS}`);
  if (minAmount !== undefined && (typeof minAmount !== "string" || !/^\d{1,78}$/.test(minAmount)))
    throw badRequest("minAmount: a decimal string of base units");
  if (window !== undefined && !(isCount(window, 2 ** 40) && window >= 1))
    throw badRequest("window: a number of seconds, at least 1");
  if (toBlock !== undefined && !isCount(toBlock, Number.MAX_SAFE_INTEGER))
    throw badRequest("toBlock: a block number");
  if (paths !== undefined && !isCount(paths, MAX_TRACE_PATHS))
    throw badRequest(`paths: an integer from 0 to ${MAX_TRACE_PATHS}`);
  return {
    token,
    seed: seed.trim(),
    model: model as TaintModelName,
    ...(hops === undefined ? {} : { hops }),
    ...(minAmount === undefined ? {} : { minAmount }),
    ...(window === undefined ? {} : { window }),
    ...(toBlock === undefined ? {} : { toBlock }),
    ...(paths === undefined ? {} : { paths }),
  };
}

/** The nodes of a flow: every address a tainted transfer connects, and the seed's sources. */
export function flowNodes(
  result: TraceResult,
  labels: ReadonlyMap<string, StoreLabel[]>,
): FlowNode[] {
  const map = places(result);
  return [...map.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([address, p]) => {
      const label = engineLabel(labels.get(address));
      const kind = p.exit?.kind;
      const category: GraphCategory | null = paletteEntryOf(label?.category, kind) ?? null;
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
            : { kind: p.exit.kind, amount: p.exit.amount.toString(), label: p.exit.label ?? null },
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

/** Traces (and risk screens) run one at a time per store: each reads transfers into it. */
const running = new WeakMap<Store, Promise<unknown>>();

export async function exclusive<T>(store: Store, run: () => Promise<T>): Promise<T> {
  const before = running.get(store) ?? Promise.resolve();
  const mine = before.catch(() => undefined).then(run);
  running.set(store, mine);
  try {
    return await mine;
  } finally {
    if (running.get(store) === mine) running.delete(store);
  }
}

/** Runs a checked trace request against the server's node; a TracerError is the client's 400. */
export async function answerTrace(
  store: Store,
  rpcUrl: string | undefined,
  request: TraceRequest,
): Promise<Record<string, unknown>> {
  if (rpcUrl === undefined)
    throw new HttpError(
      503,
      "no_rpc",
      "this server traces nothing: start it with veritrace serve --rpc URL",
    );
  const rpc = new RpcClient(rpcUrl, { maxRetries: 2 });
  try {
    return await exclusive(store, async () => {
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
      });
      const r = out.result;
      const nodes = flowNodes(r, out.labels);
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
  } catch (error) {
    if (error instanceof RpcUnavailableError)
      throw new HttpError(502, "rpc_unavailable", `the node does not answer: ${error.message}`);
    if (error instanceof TracerError) throw badRequest(error.message);
    throw error;
  }
}

/** `POST /trace`, registered in the server's ROUTES. */
export const traceRoute: Route = {
  path: "/trace",
  methods: ["POST"],
  public: false,
  query: [],
  handle: (ctx) => answerTrace(ctx.store, ctx.rpcUrl, parseTraceRequest(ctx.body)),
};
