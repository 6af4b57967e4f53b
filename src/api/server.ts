/**
 * The tracer's read-only HTTP API, on node:http alone: routes over the audit queries, bearer-token
 * authentication, a token-bucket rate limit, size limits and keyset pagination. The store is the
 * only state; the server never writes to it. docs/api.md describes the API for its users, and
 * `GET /openapi.json` serves {@link openApiDocument}.
 */
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { isAddress, isHexString } from "ethers";
import { ANOMALY_RULES, detectAnomalies, type Anomaly } from "../ledger/anomalies.js";
import { listCases, listInstitutions, type CaseSummary } from "../ledger/lists.js";
import {
  caseReport,
  institutionReport,
  subjectReport,
  verifyDelivery,
  verifyEntry,
  type CustodyEntry,
  type EntryProofFile,
  type InstitutionCaseActivity,
} from "../ledger/queries.js";
import { TracerError, VeritraceError } from "../shared/errors.js";
import type { Store } from "../db/store.js";
import type { FollowerStatus } from "../ledger/indexer.js";
import { activityRoute } from "./routes/activity.js";
import type { AccessLogSink, AccessRecord } from "../ledger/access-log.js";
import { badRequest, HttpError, httpErrorOf, notFound } from "./http.js";
import { openApiDocument } from "./openapi.js";
import type { StaticSite } from "./static.js";
import { traceRoute } from "./routes/trace.js";
import { riskScreenRoute } from "./routes/risk-screen.js";
import {
  JsonBodyError,
  bearerTokenMatcher,
  clip,
  isTokenText,
  parseJsonBody,
  quote,
  readBody,
  repeatedHeader,
} from "../shared/request-checks.js";
import {
  PaginationError,
  compareDecimal,
  decodeCursor,
  encodeCursor,
  isDecimalId,
  isIndex,
  pageOf,
  parseLimit,
  type Page,
} from "./pagination.js";

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
  /** A built dashboard (static.ts) served at the paths no route claims. */
  site?: StaticSite;
  /** The progress of the follower indexing into this store in this process (serve --follow). */
  follower?: () => FollowerStatus;
}

export type { Method, RequestContext, Route } from "./route.js";
import type { Method, RequestContext, Route } from "./route.js";

export { HttpError };

// ------------------------------------------------------------------------------ parameters

const CASE_REF = /^(\d{1,78}|0x[0-9a-fA-F]{64})$/;
const ID = /^\d{1,78}$/;

function param(ctx: RequestContext, name: string): string {
  const v = ctx.params[name];
  if (v === undefined) throw new Error(`route has no parameter ${name}`);
  return v;
}

function paging(ctx: RequestContext): { limit: number; cursor: string | null } {
  return { limit: parseLimit(ctx.query.get("limit")), cursor: ctx.query.get("cursor") };
}

/**
 * Runs a query for a route: its errors answered by their kind (an unknown case 404, a malformed
 * reference 400, …), errors of no kind as a request the query could not answer for its input
 * (400), as before.
 */
async function found<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof VeritraceError) throw httpErrorOf(error, "invalid-input");
    throw error;
  }
}

function readCustodyPosition(p: unknown): [number, number, number] | null {
  if (!Array.isArray(p) || p.length !== 3) return null;
  const [block, log, sub] = p as unknown[];
  return isIndex(block) && isIndex(log) && isIndex(sub) ? [block, log, sub] : null;
}

const compareNumbers = (a: readonly number[], b: readonly number[]): number => {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return a.length - b.length;
};

/** Custody entries are in chain order; a delivery's acknowledgement follows it at the same log. */
const custodyPosition = (e: CustodyEntry): [number, number, number] => [
  e.blockNumber,
  e.logIndex,
  e.step === "acknowledgement" ? 1 : 0,
];

type ActivityPosition = [string, string];
const activityPosition = (c: InstitutionCaseActivity): ActivityPosition => [c.caseId, c.role];
function readActivityPosition(p: unknown): ActivityPosition | null {
  if (!Array.isArray(p) || p.length !== 2) return null;
  const [caseId, role] = p as unknown[];
  return isDecimalId(caseId) && typeof role === "string" && role.length <= 32
    ? [caseId, role]
    : null;
}
const compareActivity = (a: ActivityPosition, b: ActivityPosition): number =>
  compareDecimal(a[0], b[0]) || a[1].localeCompare(b[1]);

type AnomalyPosition = [number, number, number, string, string];
const anomalyPosition = (a: Anomaly): AnomalyPosition => [
  a.firstBlock,
  a.evidence[0]?.logIndex ?? 0,
  a.lastBlock,
  a.rule,
  a.summary,
];
function readAnomalyPosition(p: unknown): AnomalyPosition | null {
  if (!Array.isArray(p) || p.length !== 5) return null;
  const [first, log, last, rule, summary] = p as unknown[];
  return isIndex(first) &&
    isIndex(log) &&
    isIndex(last) &&
    typeof rule === "string" &&
    typeof summary === "string"
    ? [first, log, last, rule, summary]
    : null;
}
/** The order {@link detectAnomalies} returns. */
const compareAnomalyPositions = (a: AnomalyPosition, b: AnomalyPosition): number =>
  compareNumbers(a.slice(0, 3) as number[], b.slice(0, 3) as number[]) ||
  a[3].localeCompare(b[3]) ||
  a[4].localeCompare(b[4]);

const RULES: ReadonlySet<string> = new Set(ANOMALY_RULES.map((r) => r.rule));

function entryProofFromQuery(q: URLSearchParams): EntryProofFile {
  const index = q.get("index");
  const entryHash = q.get("entryHash");
  const proof = q.get("proof");
  if (index === null || !/^\d{1,15}$/.test(index))
    throw badRequest("index: a non-negative integer is required");
  if (entryHash === null || !isHexString(entryHash, 32))
    throw badRequest("entryHash: 0x and 64 hex digits are required");
  const hashes = proof === null || proof === "" ? [] : proof.split(",");
  if (!hashes.every((h) => isHexString(h, 32)))
    throw badRequest("proof: a comma-separated list of 32-byte hex strings");
  return { index: Number(index), entryHash, proof: hashes };
}

function entryProofFromBody(body: unknown): EntryProofFile {
  if (typeof body !== "object" || body === null || Array.isArray(body))
    throw badRequest("body: a JSON object {index, entry | entryHash, proof} is required");
  const b = body as Record<string, unknown>;
  const unknownKey = Object.keys(b).find(
    (k) => !["index", "entry", "entryHash", "proof"].includes(k),
  );
  if (unknownKey !== undefined) throw badRequest(`body: unknown field ${quote(unknownKey)}`);
  if (!isIndex(b["index"])) throw badRequest("index: a non-negative integer is required");
  const proof = b["proof"] ?? [];
  if (
    !Array.isArray(proof) ||
    !proof.every((h: unknown) => typeof h === "string" && isHexString(h, 32))
  )
    throw badRequest("proof: an array of 32-byte hex strings is required");
  const hashes = proof as string[];
  if ((b["entry"] === undefined) === (b["entryHash"] === undefined))
    throw badRequest("body: exactly one of entry and entryHash is required");
  if (b["entry"] !== undefined) return { index: b["index"], entry: b["entry"], proof: hashes };
  const entryHash = b["entryHash"];
  if (typeof entryHash !== "string" || !isHexString(entryHash, 32))
    throw badRequest("entryHash: 0x and 64 hex digits are required");
  return { index: b["index"], entryHash, proof: hashes };
}

// ---------------------------------------------------------------------------------- routes

/** Every route the server answers; `GET /openapi.json` documents each one. */
export const ROUTES: readonly Route[] = [
  {
    path: "/health",
    methods: ["GET"],
    public: true,
    query: [],
    async handle({ store, follower }) {
      return {
        status: "ok",
        engine: store.db.engine,
        indexedTo: await store.checkpoint(),
        events: await store.eventCount(),
        follower: follower?.() ?? null,
      };
    },
  },
  {
    path: "/openapi.json",
    methods: ["GET"],
    public: true,
    query: [],
    handle: () => Promise.resolve(openApiDocument),
  },
  {
    path: "/cases",
    methods: ["GET"],
    public: false,
    query: ["limit", "cursor"],
    async handle(ctx): Promise<Page<CaseSummary>> {
      const { limit, cursor } = paging(ctx);
      const after =
        cursor === null
          ? undefined
          : decodeCursor(cursor, "cases", (p) => (isDecimalId(p) ? p : null));
      const rows = await listCases(ctx.store.db, { after, limit: limit + 1 });
      const items = rows.slice(0, limit);
      const last = items[items.length - 1];
      return {
        items,
        nextCursor:
          rows.length > limit && last !== undefined ? encodeCursor("cases", last.caseId) : null,
      };
    },
  },
  {
    path: "/cases/{caseIdOrCommitment}",
    methods: ["GET"],
    public: false,
    reads: { caseIdOrCommitment: "case" },
    query: ["limit", "cursor"],
    async handle(ctx) {
      const ref = param(ctx, "caseIdOrCommitment");
      if (!CASE_REF.test(ref))
        throw badRequest("caseIdOrCommitment: a case id or 0x and 64 hex digits");
      const { limit, cursor } = paging(ctx);
      const { custody, ...report } = await found(() => caseReport(ctx.store.db, ref));
      const listing = `custody:${report.caseId}`;
      return {
        ...report,
        custody: pageOf(custody, {
          listing,
          position: custodyPosition,
          compare: compareNumbers,
          after: cursor === null ? undefined : decodeCursor(cursor, listing, readCustodyPosition),
          limit,
        }),
      };
    },
  },
  {
    path: "/institutions",
    methods: ["GET"],
    public: false,
    query: ["limit", "cursor"],
    async handle(ctx) {
      const { limit, cursor } = paging(ctx);
      return pageOf(await listInstitutions(ctx.store.db), {
        listing: "institutions",
        position: (i) => i.id,
        compare: (a, b) => a - b,
        after:
          cursor === null
            ? undefined
            : decodeCursor(cursor, "institutions", (p) => (isIndex(p) ? p : null)),
        limit,
      });
    },
  },
  {
    path: "/institutions/{idOrAddress}",
    methods: ["GET"],
    public: false,
    reads: { idOrAddress: "institution" },
    query: ["limit", "cursor"],
    async handle(ctx) {
      const ref = param(ctx, "idOrAddress");
      if (!/^\d{1,15}$/.test(ref) && !isAddress(ref))
        throw badRequest("idOrAddress: a participant id or a 20-byte address");
      const { limit, cursor } = paging(ctx);
      const report = await found(() => institutionReport(ctx.store.db, ref));
      const listing = `institution:${report.institution.id}`;
      return {
        institution: report.institution,
        cases: pageOf(report.cases, {
          listing,
          position: activityPosition,
          compare: compareActivity,
          after: cursor === null ? undefined : decodeCursor(cursor, listing, readActivityPosition),
          limit,
        }),
      };
    },
  },
  {
    path: "/subjects/{commitment}",
    methods: ["GET"],
    public: false,
    reads: { commitment: "subject" },
    query: [],
    async handle(ctx) {
      const commitment = param(ctx, "commitment");
      if (!isHexString(commitment, 32)) throw badRequest("commitment: 0x and 64 hex digits");
      return subjectReport(ctx.store.db, commitment);
    },
  },
  {
    path: "/deliveries/{id}/verification",
    methods: ["GET"],
    public: false,
    reads: { id: "delivery" },
    query: [],
    async handle(ctx) {
      const id = param(ctx, "id");
      if (!ID.test(id)) throw badRequest("id: a delivery id (decimal)");
      const deployment = await ctx.store.deployment();
      if (deployment === null) throw notFound(`unknown delivery ${id}`);
      return found(() => verifyDelivery(ctx.store.db, deployment, id));
    },
  },
  {
    path: "/anchors/{id}/entries/verify",
    methods: ["GET", "POST"],
    public: false,
    reads: { id: "anchor" },
    query: ["index", "entryHash", "proof"],
    async handle(ctx) {
      const id = param(ctx, "id");
      if (!ID.test(id)) throw badRequest("id: an anchor id (decimal)");
      let file: EntryProofFile;
      if (ctx.method === "POST") {
        if ([...ctx.query.keys()].length > 0)
          throw badRequest("POST takes its parameters in the body, not the query");
        file = entryProofFromBody(ctx.body);
      } else {
        file = entryProofFromQuery(ctx.query);
      }
      // canonicalJson's refusals (InputError) are invalid input: 400, by their kind.
      return found(() => verifyEntry(ctx.store.db, id, file));
    },
  },
  {
    path: "/anomalies",
    methods: ["GET"],
    public: false,
    query: ["limit", "cursor", "rule"],
    async handle(ctx): Promise<Page<Anomaly>> {
      const { limit, cursor } = paging(ctx);
      const rule = ctx.query.get("rule");
      if (rule !== null && !RULES.has(rule))
        throw badRequest(`rule: one of ${[...RULES].join(", ")}`);
      const all = await detectAnomalies(ctx.store.db);
      const selected = (rule === null ? all : all.filter((a) => a.rule === rule)).sort((a, b) =>
        compareAnomalyPositions(anomalyPosition(a), anomalyPosition(b)),
      );
      return pageOf(selected, {
        listing: "anomalies",
        position: anomalyPosition,
        compare: compareAnomalyPositions,
        after: cursor === null ? undefined : decodeCursor(cursor, "anomalies", readAnomalyPosition),
        limit,
      });
    },
  },
  activityRoute,
  traceRoute,
  riskScreenRoute,
];

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

/** Longest error message answered: a backstop for messages that echo a value. */
const MAX_ERROR_MESSAGE = 400;

/** The body of an error answer. */
function errorBody(error: HttpError): string {
  const message = clip(error.message, MAX_ERROR_MESSAGE);
  return serialize({ error: { code: error.code, message } });
}

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
  let raw: Buffer | null;
  try {
    raw = await readBody(req, max);
  } catch {
    throw badRequest("the body could not be read");
  }
  if (raw === null) throw tooLarge();
  note.bodySha256 = `0x${createHash("sha256").update(raw).digest("hex")}`;
  try {
    return parseJsonBody(raw);
  } catch (error) {
    if (error instanceof JsonBodyError) throw badRequest(error.message);
    throw error;
  }
}

/**
 * Creates the API server over an open store (not listening yet: call `listen`). Throws a
 * {@link TracerError} without tokens unless `insecureLocal` is set.
 */
export function createApiServer(store: Store, options: ApiServerOptions): Server {
  const named = options.tokens
    .map((t) => (typeof t === "string" ? { name: unnamedTokenName(t), token: t } : t))
    .filter((t) => t.token !== "");
  const tokens = named.map((t) => t.token);
  if (!tokens.every(isTokenText)) {
    throw new TracerError(
      "an API token is not printable ASCII without spaces: no Authorization header could match it",
    );
  }
  const names = named.map((t) => t.name);
  const accessLog = options.accessLog;
  const insecure = tokens.length === 0;
  if (insecure && options.insecureLocal !== true) {
    throw new TracerError("no API tokens: give at least one, or serve insecurely on localhost");
  }
  const tokenIndex = bearerTokenMatcher(tokens);
  const maxBody = options.maxBodyBytes ?? 64 * 1024;
  const maxUrl = options.maxUrlBytes ?? 4096;
  const timeoutMs = options.requestTimeoutMs ?? 30_000;
  const perMinute = options.rateLimit?.perMinute;
  if (perMinute !== undefined && !(perMinute >= 1)) {
    throw new TracerError("the rate limit must be at least 1 request per minute");
  }
  const limiter =
    perMinute === undefined ? null : new RateLimiter(perMinute, options.clock ?? Date.now);

  /** The token of an Authorization header `Bearer TOKEN` (any case, spaces around); else null. */
  const bearerToken = (header: string | undefined): string | null =>
    /^Bearer +(\S+) *$/i.exec(header ?? "")?.[1] ?? null;

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
    if (!route.methods.includes(method)) {
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
      const index = tokenIndex(bearerToken(req.headers.authorization));
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
      if (!route.query.includes(key)) throw badRequest(`unknown query parameter ${quote(key)}`);
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
        route.handle({
          store,
          method,
          params,
          query: url.searchParams,
          body,
          rpcUrl: options.rpcUrl,
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
        send(res, withheld.status, errorBody(withheld), { connection: "close" });
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
        answer(req, res, note, failure.status, errorBody(failure), failure.headers);
      },
    );
  });
  server.requestTimeout = timeoutMs;
  server.headersTimeout = Math.min(timeoutMs, 10_000);
  return server;
}
