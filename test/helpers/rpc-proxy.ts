/**
 * A fault-injecting JSON-RPC proxy in front of a real node, for reliability tests of the tracer's
 * RPC client and indexer. It answers on 127.0.0.1 and a free port, forwards each request to the
 * upstream node unless its fault plan (seeded, so a failing run can be replayed) says otherwise,
 * and counts what it injected. With `accept`, it is a node that wants credentials.
 */
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type ServerResponse,
} from "node:http";
import type { AddressInfo, Socket } from "node:net";

/** The ways the proxy can fail one HTTP request. */
export const FAULTS = [
  /** HTTP 429 without Retry-After. */
  "http429",
  /** HTTP 429 with a Retry-After header (seconds). */
  "http429RetryAfter",
  "http500",
  "http502",
  "http503",
  /** No answer until `delayMs` has passed (meant to be beyond the client's timeout). */
  "delay",
  /** A complete HTTP 200 answer whose JSON body is the upstream's cut in the middle. */
  "truncate",
  /** Headers announcing the upstream's full body, half of it, then the connection closed. */
  "cutConnection",
  /** The connection closed (socket.destroy()) before any answer. */
  "drop",
] as const;
export type Fault = (typeof FAULTS)[number];

/** How a refusal of a too-large eth_getLogs range is worded (real providers' messages). */
export type RangeErrorStyle = "geth" | "infura" | "alchemy";

export interface FaultPlan {
  /** Seed of the fault dice (default 1). */
  seed?: number;
  /** Probability of each fault per HTTP request; their sum must not exceed 1. */
  rates?: Partial<Record<Fault, number>>;
  /** Faults applied, in order, to the next requests before the dice take over. */
  sequence?: readonly Fault[];
  /** Only requests whose (first) method is in this list are faulted (default: every method). */
  methods?: readonly string[];
  /** eth_getLogs block ranges spanning more blocks than this are refused (default: no limit). */
  maxLogsRange?: number;
  /** Wordings of range refusals, chosen by the dice (default: all three). */
  rangeErrorStyles?: readonly RangeErrorStyle[];
  /** Delay of the "delay" fault (default 2000 ms). */
  delayMs?: number;
  /** Retry-After of "http429RetryAfter", in seconds (default 1). */
  retryAfterSeconds?: number;
  /**
   * Runs before a request is forwarded, with its calls; the request waits for it. Lets a test
   * change the chain at an exact point of a client's work (e.g. reorganize it mid-sync).
   */
  beforeForward?: (calls: readonly { method: string; params: unknown[] }[]) => Promise<void>;
  /**
   * Whether a request's headers carry the credentials the node wants: a request refused is
   * answered HTTP 401 and not forwarded (default: every request is accepted).
   */
  accept?: (headers: IncomingHttpHeaders) => boolean;
}

/** What the proxy saw and did. */
export interface ProxyCounters {
  /** HTTP requests received. */
  requests: number;
  /** Requests answered with the upstream's answer, untouched or with range refusals patched in. */
  forwarded: number;
  /** Faults injected, by kind. */
  faults: Record<Fault, number>;
  /** eth_getLogs ranges refused, by whether the message suggested a range. */
  rangeRefusals: { suggested: number; unsuggested: number };
  /** Block spans of the eth_getLogs ranges answered (in order), to see a client adapt. */
  getLogsSpans: number[];
  /** JSON-RPC calls answered, by method (batch elements counted one by one). */
  methods: Record<string, number>;
  /** Requests answered HTTP 401: `accept` refused their headers. */
  unauthorized: number;
}

export interface RpcProxy {
  /** The proxy's URL, to give to the client under test. */
  readonly url: string;
  readonly counters: ProxyCounters;
  /** Total faults injected (range refusals not included). */
  faultCount(): number;
  /** Replaces the fault plan (and reseeds the dice); counters are kept. */
  configure(plan: FaultPlan): void;
  /** Closes the server and every open connection; pending delays are cancelled. */
  stop(): Promise<void>;
}

interface JsonRpcRequest {
  jsonrpc?: string;
  id?: number | string | null;
  method?: string;
  params?: unknown[];
}

/** A small fast seeded generator (mulberry32): the same seed gives the same faults. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const hex = (n: number) => `0x${n.toString(16)}`;

/** The refusal a provider gives for a range of eth_getLogs; `allowed` is the largest it takes. */
export function rangeRefusal(
  style: RangeErrorStyle,
  from: number,
  allowed: number,
): { code: number; message: string; suggested: boolean } {
  const to = from + allowed - 1;
  switch (style) {
    case "geth":
      return { code: -32005, message: "query returned more than 10000 results", suggested: false };
    case "infura":
      return {
        code: -32005,
        message: `query returned more than 10000 results. Try with this block range [${hex(from)}, ${hex(to)}].`,
        suggested: true,
      };
    case "alchemy":
      return {
        code: -32602,
        message:
          "Log response size exceeded. You can make eth_getLogs requests with up to a 2K block range and no " +
          "limit on the response size, or you can request any block range with a cap of 10K logs in the " +
          `response. Based on your parameters, this block range should work: [${hex(from)}, ${hex(to)}]`,
        suggested: true,
      };
  }
}

function blockSpan(params: unknown): { from: number; to: number } | null {
  if (!Array.isArray(params)) return null;
  const filter: unknown = params[0];
  if (filter === null || typeof filter !== "object") return null;
  const { fromBlock, toBlock } = filter as { fromBlock?: unknown; toBlock?: unknown };
  if (typeof fromBlock !== "string" || typeof toBlock !== "string") return null;
  if (!/^0x[0-9a-f]+$/i.test(fromBlock) || !/^0x[0-9a-f]+$/i.test(toBlock)) return null;
  return { from: Number(fromBlock), to: Number(toBlock) };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** Starts a proxy in front of `upstream` (a JSON-RPC HTTP URL). */
export async function startRpcProxy(upstream: string, initial: FaultPlan = {}): Promise<RpcProxy> {
  const check = (p: FaultPlan): FaultPlan => {
    const total = Object.values(p.rates ?? {}).reduce((a, b) => a + b, 0);
    if (total > 1) throw new Error(`fault rates add up to ${total}, more than 1`);
    return p;
  };
  let plan: FaultPlan = check(initial);
  let dice = seededRandom(plan.seed ?? 1);
  let sequence: Fault[] = [...(plan.sequence ?? [])];
  const counters: ProxyCounters = {
    requests: 0,
    forwarded: 0,
    faults: Object.fromEntries(FAULTS.map((f) => [f, 0])) as Record<Fault, number>,
    rangeRefusals: { suggested: 0, unsuggested: 0 },
    getLogsSpans: [],
    methods: {},
    unauthorized: 0,
  };
  const sockets = new Set<Socket>();
  /** Pending delays: stop() cancels them (and lets their handlers end). */
  const delays = new Map<NodeJS.Timeout, () => void>();
  let stopping = false;

  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        delays.delete(t);
        resolve();
      }, ms);
      delays.set(t, resolve);
    });

  const pickFault = (method: string | undefined): Fault | null => {
    if (plan.methods !== undefined && (method === undefined || !plan.methods.includes(method)))
      return null;
    const next = sequence.shift();
    if (next !== undefined) return next;
    const roll = dice();
    let acc = 0;
    for (const f of FAULTS) {
      acc += plan.rates?.[f] ?? 0;
      if (roll < acc) return f;
    }
    return null;
  };

  const forward = async (body: string): Promise<{ status: number; text: string }> => {
    const res = await fetch(upstream, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
    return { status: res.status, text: await res.text() };
  };

  /**
   * The refusals due to too-large eth_getLogs ranges in a request, by JSON-RPC id. Decided when
   * the request arrives, so that the dice are thrown in request order (a replayable run).
   */
  const rangeRefusals = (
    requests: JsonRpcRequest[],
  ): Map<JsonRpcRequest["id"], { code: number; message: string; suggested: boolean }> => {
    const refusals = new Map<
      JsonRpcRequest["id"],
      { code: number; message: string; suggested: boolean }
    >();
    const limit = plan.maxLogsRange;
    if (limit === undefined) return refusals;
    for (const r of requests) {
      const span = r.method === "eth_getLogs" ? blockSpan(r.params) : null;
      if (span === null || span.to - span.from + 1 <= limit) continue;
      const styles = plan.rangeErrorStyles ?? ["geth", "infura", "alchemy"];
      const style = styles[Math.floor(dice() * styles.length)] ?? "geth";
      refusals.set(r.id, rangeRefusal(style, span.from, limit));
    }
    return refusals;
  };

  /** Patches the refusals into the upstream's answer, and counts what is answered. */
  const answer = (
    requests: JsonRpcRequest[],
    refusals: ReturnType<typeof rangeRefusals>,
    text: string,
    batch: boolean,
  ): string => {
    for (const r of requests) {
      if (r.method !== undefined)
        counters.methods[r.method] = (counters.methods[r.method] ?? 0) + 1;
      const refusal = refusals.get(r.id);
      if (refusal !== undefined) {
        if (refusal.suggested) counters.rangeRefusals.suggested++;
        else counters.rangeRefusals.unsuggested++;
        continue;
      }
      const span = r.method === "eth_getLogs" ? blockSpan(r.params) : null;
      if (span !== null) counters.getLogsSpans.push(span.to - span.from + 1);
    }
    if (refusals.size === 0) return text;
    const answers = JSON.parse(text) as JsonRpcRequest[] | JsonRpcRequest;
    const patched = (Array.isArray(answers) ? answers : [answers]).map((a) => {
      const refusal = refusals.get(a.id);
      return refusal === undefined
        ? a
        : { jsonrpc: "2.0", id: a.id, error: { code: refusal.code, message: refusal.message } };
    });
    return JSON.stringify(batch ? patched : patched[0]);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = await readBody(req);
    counters.requests++;
    if (plan.accept !== undefined && !plan.accept(req.headers)) {
      counters.unauthorized++;
      res
        .writeHead(401, { "content-type": "application/json", "www-authenticate": "Bearer" })
        .end(JSON.stringify({ jsonrpc: "2.0", error: { code: -40100, message: "Unauthorized" } }));
      return;
    }
    let parsed: JsonRpcRequest[] | JsonRpcRequest;
    try {
      parsed = JSON.parse(body) as JsonRpcRequest[] | JsonRpcRequest;
    } catch {
      parsed = {};
    }
    const batch = Array.isArray(parsed);
    const requests: JsonRpcRequest[] = Array.isArray(parsed) ? parsed : [parsed];
    const fault = pickFault(requests[0]?.method);
    if (fault !== null) counters.faults[fault]++;
    const refusals = rangeRefusals(requests);

    switch (fault) {
      case "drop":
        req.socket.destroy();
        return;
      case "http429":
        res.writeHead(429, { "content-type": "text/plain" }).end("Too Many Requests");
        return;
      case "http429RetryAfter":
        res
          .writeHead(429, {
            "content-type": "text/plain",
            "retry-after": String(plan.retryAfterSeconds ?? 1),
          })
          .end("Too Many Requests");
        return;
      case "http500":
      case "http502":
      case "http503":
        res
          .writeHead(Number(fault.slice(4)), { "content-type": "text/html" })
          .end(`<html><body>${fault.slice(4)} upstream trouble</body></html>`);
        return;
      case "delay":
        await pause(plan.delayMs ?? 2000);
        if (stopping || req.socket.destroyed) return;
        break;
      default:
        break;
    }

    await plan.beforeForward?.(
      requests.map((r) => ({ method: r.method ?? "", params: r.params ?? [] })),
    );
    const upstreamAnswer = await forward(body);
    if (fault === "truncate" || fault === "cutConnection") {
      const whole = Buffer.from(upstreamAnswer.text, "utf8");
      const half = whole.subarray(0, Math.max(1, Math.floor(whole.length / 2)));
      res.writeHead(200, {
        "content-type": "application/json",
        "content-length": String(fault === "truncate" ? half.length : whole.length),
      });
      if (fault === "truncate") {
        res.end(half);
      } else {
        res.write(half, () => req.socket.destroy());
      }
      return;
    }
    if (stopping || req.socket.destroyed) return;
    const text = answer(requests, refusals, upstreamAnswer.text, batch);
    counters.forwarded++;
    res.writeHead(upstreamAnswer.status, { "content-type": "application/json" }).end(text);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      // The upstream failed (or went away during stop): answer like a broken gateway would.
      if (!res.headersSent && !res.destroyed) {
        res.writeHead(502, { "content-type": "text/plain" }).end(String(error));
      }
    });
  });
  server.keepAliveTimeout = 1000;
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    counters,
    faultCount: () => Object.values(counters.faults).reduce((a, b) => a + b, 0),
    configure(next: FaultPlan) {
      plan = check(next);
      dice = seededRandom(next.seed ?? 1);
      sequence = [...(next.sequence ?? [])];
    },
    async stop() {
      stopping = true;
      for (const [t, resolve] of delays) {
        clearTimeout(t);
        resolve();
      }
      delays.clear();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}
