/**
 * The tracer's read-only HTTP API, on node:http alone: routes over the audit queries, bearer-token
 * authentication, a token-bucket rate limit, size limits and keyset pagination. The store is the
 * only state; the server never writes to it. docs/api.md describes the API for its users, and
 * `GET /openapi.json` serves {@link openApiDocument}.
 */
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { InvalidInputError, VeritraceError } from "../shared/errors.js";
import type { Store } from "../db/store.js";
import type { FollowerStatus } from "../ledger/indexer.js";
import type { AccessLogSink, AccessRecord } from "../ledger/access-log.js";
import { problem } from "../shared/problem.js";
import { PROBLEM_MEDIA_TYPE } from "../shared/problem-format.js";
import { badRequest, HttpError, httpErrorOf, notFound } from "./http.js";
import { PaginationError } from "./pagination.js";
import { ROUTES } from "./routes/index.js";
import type { StaticSite } from "./static.js";
import {
  bearerTokenMatcher,
  clip,
  isTokenText,
  quote,
  readJsonBody,
  repeatedHeader,
  type JsonBody,
} from "../shared/request-checks.js";

/** A bearer token and the name the access log knows it by. */
export interface NamedToken {
  name: string;
  token: string;
}

export interface ApiServerOptions {
  /**
   * Accepted bearer tokens, each with its name (a bare token is logged by
   * {@link unnamedTokenName}). Empty only with `insecureLocal`.
   */
  tokens: readonly (string | NamedToken)[];
  /**
   * Where every request to a data route is logged (access-log.ts) before it is answered; none by
   * default. An answer that can't be logged is withheld (503).
   */
  accessLog?: AccessLogSink;
  /**
   * Serve without authentication. The caller must bind to a loopback address; the server also
   * refuses requests from other addresses or with another Host (DNS rebinding).
   */
  insecureLocal?: boolean;
  /** Largest request body (the one POST), in bytes; default 64 KiB. */
  maxBodyBytes?: number;
  /** Longest request target (path and query), in bytes; default 4096. */
  maxUrlBytes?: number;
  /** Requests per minute per token (per client address without authentication); none by default. */
  rateLimit?: { perMinute: number };
  /** Time to receive a whole request, and to answer it, in milliseconds; default 30 000. */
  requestTimeoutMs?: number;
  /** Called with unexpected errors (answered 500); default: none. */
  onError?: (error: unknown) => void;
  /** The rate limiter's clock, in milliseconds (tests). */
  clock?: () => number;
  /** The JSON-RPC endpoint `POST /trace` reads the chain from; without it, traces answer 503. */
  rpcUrl?: string;
  /**
   * Other chains `POST /trace` of every asset follows funds to over bridges (each read from its
   * node, by the id it must answer with), and bridge contracts beyond the built-in registry.
   */
  chains?: readonly TraceChain[];
  bridges?: TraceBridges;
  /** A built dashboard (static.ts) served at the paths no route claims. */
  site?: StaticSite;
  /** The progress of the follower indexing into this store in this process (serve --follow). */
  follower?: () => FollowerStatus;
}

export type { Method, RequestContext, Route } from "./route.js";
import type { Method, Route, TraceBridges, TraceChain } from "./route.js";

export { HttpError };

export { ROUTES, openApiDocument } from "./routes/index.js";

/** The route a path names, and its decoded parameters. */
export function matchRoute(path: string): { route: Route; params: Record<string, string> } | null {
  const segments = path.split("/");
  for (const route of ROUTES) {
    const template = route.path.split("/");
    if (template.length !== segments.length) continue;
    const params: Record<string, string> = {};
    let ok = true;
    for (let i = 0; i < template.length && ok; i++) {
      const t = template[i] ?? "";
      const s = segments[i] ?? "";
      if (t.startsWith("{") && t.endsWith("}")) {
        if (s === "") ok = false;
        else {
          try {
            params[t.slice(1, -1)] = decodeURIComponent(s);
          } catch {
            throw badRequest("malformed percent-encoding in the path");
          }
        }
      } else ok = t === s;
    }
    if (ok) return { route, params };
  }
  return null;
}

// ------------------------------------------------------------------------- rate limiting

/** Token buckets by key: `perMinute` requests in a burst, refilled continuously. */
class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly perMs: number;
  constructor(
    private readonly capacity: number,
    private readonly clock: () => number,
  ) {
    this.perMs = capacity / 60_000;
  }

  /** Takes one token: 0 when allowed, else the seconds until one is available. */
  take(key: string): number {
    const now = this.clock();
    if (this.buckets.size >= 10_000 && !this.buckets.has(key)) this.prune(now);
    const b = this.buckets.get(key) ?? { tokens: this.capacity, at: now };
    b.tokens = Math.min(this.capacity, b.tokens + (now - b.at) * this.perMs);
    b.at = now;
    this.buckets.set(key, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / this.perMs / 1000));
  }

  /** Forgets buckets that have refilled (they'd start full anyway). */
  private prune(now: number): void {
    for (const [key, b] of this.buckets) {
      if (b.tokens + (now - b.at) * this.perMs >= this.capacity) this.buckets.delete(key);
    }
  }
}

// -------------------------------------------------------------------------------- server

const sha256 = (s: string): Buffer => createHash("sha256").update(s, "utf8").digest();

const LOOPBACK_ADDRESS =
  /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1|::ffff:127\.\d{1,3}\.\d{1,3}\.\d{1,3})$/;
const LOOPBACK_HOST = /^(localhost|127\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[::1\])(:\d{1,5})?$/i;

function serialize(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
}

function send(
  res: ServerResponse,
  status: number,
  text: string,
  headers: Readonly<Record<string, string>> = {},
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    ...headers,
  });
  res.end(text);
}

/** The body of an error answer: RFC 9457 problem details. */
function errorBody(error: HttpError): string {
  return serialize(problem(error.status, error.code, error.message));
}

const PROBLEM_HEADERS = { "content-type": `${PROBLEM_MEDIA_TYPE}; charset=utf-8` };

/** The name a token without one is logged by: `token-` and 8 hex digits of its SHA-256. */
export function unnamedTokenName(token: string): string {
  return `token-${sha256(token).toString("hex").slice(0, 8)}`;
}

/** What {@link respond} returns when the dashboard has sent a file itself. */
const SERVED = Symbol("served");

/** Longest request target kept in the access log. */
const MAX_LOGGED_TARGET = 512;

/** What the access log learns of a request as it is answered. */
interface RequestNote {
  /** When the request arrived (unix milliseconds). */
  started: number;
  /** The same moment on the monotonic clock (performance.now()). */
  t0: number;
  route: Route | null;
  params: Record<string, string>;
  token: string | null;
  bodySha256?: string;
  /** Answered without a log line: a public route or a file of the dashboard. */
  unlogged: boolean;
}

/** Reads a JSON body of at most `max` bytes. */
async function readJson(req: IncomingMessage, max: number, note: RequestNote): Promise<unknown> {
  const type = (req.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase();
  if (type !== "application/json") {
    throw new HttpError(415, "unsupported_media_type", "the body must be application/json");
  }
  const tooLarge = () =>
    new HttpError(413, "payload_too_large", `the body is larger than ${max} bytes`, {
      connection: "close",
    });
  const declared = req.headers["content-length"];
  if (declared !== undefined && Number(declared) > max) throw tooLarge();
  let body: JsonBody;
  try {
    body = await readJsonBody(req, max);
  } catch {
    throw badRequest("the body could not be read");
  }
  if (!body.ok) throw body.tooLarge ? tooLarge() : badRequest(body.message);
  note.bodySha256 = `0x${createHash("sha256").update(body.raw).digest("hex")}`;
  return body.value;
}

/**
 * Creates the API server over an open store (not listening yet: call `listen`). Throws a
 * {@link InvalidInputError} without tokens unless `insecureLocal` is set.
 */
export function createApiServer(store: Store, options: ApiServerOptions): Server {
  const named = options.tokens
    .map((t) => (typeof t === "string" ? { name: unnamedTokenName(t), token: t } : t))
    .filter((t) => t.token !== "");
  const tokens = named.map((t) => t.token);
  if (!tokens.every(isTokenText)) {
    throw new InvalidInputError(
      "an API token is not printable ASCII without spaces: no Authorization header could match it",
    );
  }
  const names = named.map((t) => t.name);
  const accessLog = options.accessLog;
  const insecure = tokens.length === 0;
  if (insecure && options.insecureLocal !== true) {
    throw new InvalidInputError(
      "no API tokens: give at least one, or serve insecurely on localhost",
    );
  }
  const tokenIndex = bearerTokenMatcher(tokens);
  const maxBody = options.maxBodyBytes ?? 64 * 1024;
  const maxUrl = options.maxUrlBytes ?? 4096;
  const timeoutMs = options.requestTimeoutMs ?? 30_000;
  const perMinute = options.rateLimit?.perMinute;
  if (perMinute !== undefined && !(perMinute >= 1)) {
    throw new InvalidInputError("the rate limit must be at least 1 request per minute");
  }
  const limiter =
    perMinute === undefined ? null : new RateLimiter(perMinute, options.clock ?? Date.now);

  const limit = (key: string): void => {
    const wait = limiter?.take(key) ?? 0;
    if (wait > 0) {
      throw new HttpError(429, "rate_limited", `too many requests: retry in ${wait} s`, {
        "retry-after": String(wait),
      });
    }
  };

  /** Answers a request: the value to send as JSON, or SERVED when the dashboard sent a file. */
  async function respond(
    req: IncomingMessage,
    res: ServerResponse,
    note: RequestNote,
  ): Promise<unknown> {
    const repeated = repeatedHeader(req);
    if (repeated?.status === 400) throw badRequest(repeated.message);
    if (repeated?.status === 401) {
      throw new HttpError(401, "unauthorized", repeated.message, {
        "www-authenticate": 'Bearer realm="veritrace"',
      });
    }
    const target = req.url ?? "/";
    if (Buffer.byteLength(target) > maxUrl) {
      throw new HttpError(414, "uri_too_long", `the request target is longer than ${maxUrl} bytes`);
    }
    const client = req.socket.remoteAddress ?? "";
    if (
      insecure &&
      (!LOOPBACK_ADDRESS.test(client) || !LOOPBACK_HOST.test(req.headers.host ?? ""))
    ) {
      throw new HttpError(403, "forbidden", "this server only answers local clients on localhost");
    }
    let url: URL;
    try {
      url = new URL(target, "http://localhost");
    } catch {
      throw badRequest("malformed request target");
    }
    const matched = matchRoute(url.pathname);
    if (matched === null && (await options.site?.serve(req, res, url.pathname)) === true) {
      note.unlogged = true;
      return SERVED;
    }
    if (matched === null) throw notFound(`no route ${quote(url.pathname)}`);
    const { route, params } = matched;
    note.route = route;
    note.params = params;
    note.unlogged = route.public;
    // HEAD is GET without the body (node:http sends the headers of the GET answer, no body).
    const method = (req.method === "HEAD" ? "GET" : req.method) as Method;
    const operation = route.operations[method];
    if (operation === undefined) {
      const allow = route.methods.flatMap((m) => (m === "GET" ? ["GET", "HEAD"] : [m]));
      throw new HttpError(
        405,
        "method_not_allowed",
        `${clip(req.method ?? "?")} is not allowed on ${route.path}`,
        { allow: allow.join(", ") },
      );
    }
    if (route.public || insecure) {
      limit(`address ${client}`);
    } else {
      const index = tokenIndex(req.headers.authorization);
      if (index < 0) {
        // Failed attempts count against the client's address.
        limit(`address ${client}`);
        throw new HttpError(401, "unauthorized", "a valid bearer token is required", {
          "www-authenticate": 'Bearer realm="veritrace"',
        });
      }
      note.token = names[index] ?? null;
      limit(`token ${index}`);
    }
    for (const key of new Set(url.searchParams.keys())) {
      if (!(key in operation.query)) throw badRequest(`unknown query parameter ${quote(key)}`);
      if (url.searchParams.getAll(key).length > 1) throw badRequest(`${clip(key)}: given twice`);
    }
    const body = method === "POST" ? await readJson(req, maxBody, note) : undefined;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new HttpError(503, "timeout", `no answer within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      const result = await Promise.race([
        operation.run({
          store,
          method,
          params,
          query: url.searchParams,
          body,
          rpcUrl: options.rpcUrl,
          chains: options.chains,
          bridges: options.bridges,
          follower: options.follower,
        }),
        timeout,
      ]);
      return result;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Logs the answer, then sends it; an answer that can't be logged is withheld (503). */
  function answer(
    req: IncomingMessage,
    res: ServerResponse,
    note: RequestNote,
    status: number,
    text: string,
    headers: Readonly<Record<string, string>> = {},
  ): void {
    if (accessLog !== undefined && !note.unlogged) {
      const record: AccessRecord = {
        time: new Date(note.started).toISOString(),
        token: note.token,
        client: req.socket.remoteAddress ?? "",
        method: clip(req.method ?? "?", 16),
        route: note.route?.path ?? null,
        target: clip(req.url ?? "", MAX_LOGGED_TARGET),
        status,
        bytes: Buffer.byteLength(text),
        ms: Math.round(performance.now() - note.t0),
      };
      for (const [param, field] of Object.entries(note.route?.reads ?? {})) {
        const value = note.params[param];
        if (value !== undefined) record[field] = clip(value, 128);
      }
      if (note.bodySha256 !== undefined) record.bodySha256 = note.bodySha256;
      try {
        accessLog.write(record);
      } catch (error) {
        options.onError?.(error);
        const withheld = new HttpError(
          503,
          "access_log",
          "the access log can't be written: no answer is given without its log line",
        );
        send(res, withheld.status, errorBody(withheld), {
          ...PROBLEM_HEADERS,
          connection: "close",
        });
        return;
      }
    }
    send(res, status, text, headers);
  }

  const server = createServer((req, res) => {
    const note: RequestNote = {
      started: Date.now(),
      t0: performance.now(),
      route: null,
      params: {},
      token: null,
      unlogged: false,
    };
    respond(req, res, note).then(
      (result) => {
        if (result !== SERVED) answer(req, res, note, 200, serialize(result));
      },
      (error: unknown) => {
        let failure: HttpError;
        if (error instanceof HttpError) failure = error;
        else if (error instanceof PaginationError) failure = badRequest(error.message);
        else if (error instanceof VeritraceError && error.kind !== "failed")
          failure = httpErrorOf(error);
        else {
          options.onError?.(error);
          failure = new HttpError(500, "internal", "internal error");
        }
        answer(req, res, note, failure.status, errorBody(failure), {
          ...PROBLEM_HEADERS,
          ...failure.headers,
        });
      },
    );
  });
  server.requestTimeout = timeoutMs;
  server.headersTimeout = Math.min(timeoutMs, 10_000);
  return server;
}
