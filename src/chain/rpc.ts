import { FetchRequest, JsonRpcProvider, isError, type JsonRpcApiProviderOptions } from "ethers";
import { InvalidInputError, TracerError, UnavailableError } from "../shared/errors.js";

/**
 * A JSON-RPC error answered by the node (not a transport failure): the node did not give the
 * answer asked for, so the kind is "unavailable".
 */
export class RpcError extends TracerError {
  override name = "RpcError";
  static override readonly kind = "unavailable";
  constructor(
    readonly method: string,
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(`${method}: ${message} (code ${code})`);
  }
}

/** eth_getLogs refused a block range as too large; `suggested` is the range it proposed, if any. */
export class RangeTooLargeError extends RpcError {
  override name = "RangeTooLargeError";
  constructor(
    method: string,
    code: number,
    message: string,
    readonly suggested?: { from: number; to: number },
  ) {
    super(method, code, message);
  }
}

/** The node could not be reached or kept failing after every retry. */
export class RpcUnavailableError extends UnavailableError {
  override name = "RpcUnavailableError";
}

export interface RpcOptions {
  /** Per-request timeout. */
  timeoutMs?: number;
  /** Retries of one call on transport errors, 429, 5xx, timeouts and truncated bodies. */
  maxRetries?: number;
  /** First backoff delay; doubles per retry (with jitter), capped at maxDelayMs. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Called before each retry (for logs). */
  onRetry?: (info: { method: string; attempt: number; delayMs: number; reason: string }) => void;
  /**
   * HTTP headers sent with every request (e.g. `Authorization: Bearer …` for Besu's JWT or a
   * hosted provider); default: {@link defaultRpcHeaders}. Never printed.
   */
  headers?: Readonly<Record<string, string>>;
}

/** The environment variable holding extra headers for every JSON-RPC node: `Name: value` lines. */
export const RPC_HEADERS_ENV = "VERITRACE_RPC_HEADERS";

let processHeaders: Readonly<Record<string, string>> = {};

/**
 * Parses `Name: value` header lines (from `--rpc-header` or {@link RPC_HEADERS_ENV}); throws a
 * {@link TracerError} naming the bad line's header name only, never its value.
 */
export function parseRpcHeaders(lines: readonly string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const raw of lines) {
    const line = raw.trim();
    if (line === "") continue;
    const colon = line.indexOf(":");
    const name = colon < 0 ? "" : line.slice(0, colon).trim();
    const value = colon < 0 ? "" : line.slice(colon + 1).trim();
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) {
      throw new InvalidInputError(
        `an RPC header must be "Name: value"; got one without a valid name`,
      );
    }
    // Headers are ASCII: a value with other characters (or a line break) can't be sent.
    if (value === "" || !/^[\x20-\x7e\t]+$/.test(value)) {
      throw new InvalidInputError(`the RPC header ${name} needs a printable ASCII value`);
    }
    headers[name.toLowerCase()] = value;
  }
  return headers;
}

/**
 * Sets the headers every {@link RpcClient} of this process sends unless given its own: the
 * command line's entry point calls this once with `--rpc-header` and the environment.
 */
export function setDefaultRpcHeaders(headers: Readonly<Record<string, string>>): void {
  processHeaders = { ...headers };
}

/** The headers set by {@link setDefaultRpcHeaders}, else those of {@link RPC_HEADERS_ENV}. */
export function defaultRpcHeaders(): Readonly<Record<string, string>> {
  if (Object.keys(processHeaders).length > 0) return processHeaders;
  const env = process.env[RPC_HEADERS_ENV];
  return env === undefined ? {} : parseRpcHeaders(env.split("\n"));
}

/**
 * A URL as it may be printed: no user or password, no query, and path segments that look like
 * an API key (16 or more letters, digits, `-` or `_`, as Infura's and Alchemy's) replaced by `***`.
 */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = "";
    u.password = "";
    const path = u.pathname
      .split("/")
      .map((seg) => (/^[A-Za-z0-9_-]{16,}$/.test(seg) ? "***" : seg))
      .join("/");
    return `${u.protocol}//${u.host}${path === "/" ? "" : path}${u.search === "" ? "" : "?***"}`;
  } catch {
    return "(an invalid URL)";
  }
}

/** What a node that refuses a request's credentials (HTTP 401, 403, 407) is said to do. */
function refusedCredentials(status: number, shownUrl: string): string {
  return (
    `HTTP ${status} from ${shownUrl}: the node refused the request's credentials ` +
    `(give them in the URL, with --rpc-header, or in ${RPC_HEADERS_ENV})`
  );
}

/**
 * An ethers provider for the node at `url` that sends what {@link RpcClient} sends: the headers
 * of {@link defaultRpcHeaders} (`--rpc-header`, {@link RPC_HEADERS_ENV}) with every request, and
 * the URL's user and password as HTTP basic authentication (unless a header gives the
 * Authorization), over http too, as RpcClient does. The credentials are taken out of the URL the
 * provider holds, so that no ethers error can show them. For the commands that send transactions
 * through ethers (`match`, `risk --publish`); their errors go through {@link nodeError}.
 */
export function authenticatedProvider(
  url: string,
  chainId: number,
  options: JsonRpcApiProviderOptions = {},
): JsonRpcProvider {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidInputError(`the RPC URL is not a valid URL: ${redactUrl(url)}`);
  }
  const user = decodeURIComponent(parsed.username);
  const password = decodeURIComponent(parsed.password);
  parsed.username = "";
  parsed.password = "";
  const request = new FetchRequest(parsed.toString());
  const headers = defaultRpcHeaders();
  for (const [name, value] of Object.entries(headers)) request.setHeader(name, value);
  if ((user !== "" || password !== "") && headers["authorization"] === undefined) {
    request.setCredentials(user, password);
    request.allowInsecureAuthentication = true;
  }
  return new JsonRpcProvider(request, chainId, { staticNetwork: true, ...options });
}

/**
 * An error of a provider made by {@link authenticatedProvider}, as one line that names the node by
 * its redacted URL ({@link redactUrl}; ethers' own message holds the whole URL): refused
 * credentials as RpcClient says them, another HTTP answer or a transport failure as such. Any
 * other error (a revert, a refused transaction) is returned as it is.
 */
export function nodeError(error: unknown, url: string): unknown {
  const shown = redactUrl(url);
  if (isError(error, "SERVER_ERROR") && error.response !== undefined) {
    const status = error.response.statusCode;
    if (status === 401 || status === 403 || status === 407)
      return new RpcUnavailableError(refusedCredentials(status, shown), { cause: error });
    return new RpcUnavailableError(`HTTP ${status} from ${shown}: ${error.shortMessage}`, {
      cause: error,
    });
  }
  const code = (error as { code?: unknown } | null)?.code;
  if (isError(error, "TIMEOUT") || (typeof code === "string" && /^E[A-Z]+$/.test(code)))
    return new RpcUnavailableError(
      `cannot reach the node at ${shown}: ${code === "TIMEOUT" ? "timed out" : String(code)}`,
      { cause: error },
    );
  return error;
}

interface JsonRpcResponse {
  jsonrpc?: string;
  id?: number | string | null;
  result?: unknown;
  error?: { code: number; message: string; data?: unknown };
}

/** Messages by which providers say an eth_getLogs range is too large (geth, Besu, Erigon, Alchemy, Infura, QuickNode, anvil, Hardhat). */
const RANGE_TOO_LARGE =
  /too many (results|logs|blocks)|more than \d+ (results|logs)|block range|range (is )?too (large|wide|big)|exceed(s|ed)? (the )?(max(imum)?|limit)|limit exceeded|response size|query timeout|log response size|limited to a [\d,]+ range/i;

/**
 * Messages by which providers say "slow down" inside a JSON-RPC error (Infura's -32005 "request
 * rate limited", Alchemy's 429 "compute units per second", QuickNode's "credits limited to …/sec").
 * Checked before {@link RANGE_TOO_LARGE}: Infura's rate limit shares -32005 with its range refusal.
 */
const RATE_LIMITED =
  /rate limit|too many requests|request rate|compute units per second|credits limited/i;

/** Extracts a block range a provider proposes in its error, e.g. "try with this block range [0x10, 0x1f]". */
export function suggestedRange(
  message: string,
  data?: unknown,
): { from: number; to: number } | undefined {
  const text = `${message} ${typeof data === "string" ? data : JSON.stringify(data ?? "")}`;
  const m = /\[\s*(0x[0-9a-f]+|\d+)\s*,\s*(0x[0-9a-f]+|\d+)\s*\]/i.exec(text);
  if (m === null || m[1] === undefined || m[2] === undefined) return undefined;
  const from = Number(m[1]);
  const to = Number(m[2]);
  return Number.isSafeInteger(from) && Number.isSafeInteger(to) && to >= from
    ? { from, to }
    : undefined;
}

class RetryableError extends Error {
  /** True when nothing answered at the address (no HTTP at all): the node is down or misnamed. */
  unreachable = false;
  retryAfterMs?: number;
}

/**
 * Transport errors that mean nothing listens at the URL, or its host does not resolve: a wrong
 * URL or a stopped node, which retrying for a minute will not mend. A timeout, a dropped
 * connection, 429 or 5xx mean the node is there and busy: those get the whole retry budget.
 */
const UNREACHABLE = new Set(["ECONNREFUSED", "ENOTFOUND", "EHOSTUNREACH", "ENETUNREACH"]);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A JSON-RPC client over HTTP that retries what can be retried and classifies what can't. */
export class RpcClient {
  private nextId = 1;
  readonly timeoutMs: number;
  readonly maxRetries: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly onRetry: RpcOptions["onRetry"];
  /** Calls made (including retries), for statistics. */
  requests = 0;
  /** The node's URL as it may be printed ({@link redactUrl}): no credentials, no API key. */
  readonly url: string;
  /** Where requests go: the URL without its user and password, which travel as a header. */
  private readonly endpoint: string;
  private readonly headers: Record<string, string>;

  /**
   * @param url the node's http(s) URL; `https://user:password@host/…` sends HTTP basic
   * authentication (the credentials never appear in a message)
   */
  constructor(url: string, options: RpcOptions = {}) {
    this.url = redactUrl(url);
    this.headers = {
      "content-type": "application/json",
      ...(options.headers ?? defaultRpcHeaders()),
    };
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new InvalidInputError(`the RPC URL is not a valid URL: ${this.url}`);
    }
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
      throw new InvalidInputError(`the RPC URL must be http(s), got ${parsed.protocol}`);
    }
    if (parsed.username !== "" || parsed.password !== "") {
      const user = decodeURIComponent(parsed.username);
      const password = decodeURIComponent(parsed.password);
      this.headers["authorization"] ??=
        `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
      parsed.username = "";
      parsed.password = "";
    }
    this.endpoint = parsed.toString();
    this.timeoutMs = options.timeoutMs ?? 15_000;
    this.maxRetries = options.maxRetries ?? 8;
    this.baseDelayMs = options.baseDelayMs ?? 100;
    this.maxDelayMs = options.maxDelayMs ?? 5_000;
    this.onRetry = options.onRetry;
  }

  /** Calls one method; `retries` overrides the retry budget. */
  async call<T>(
    method: string,
    params: readonly unknown[] = [],
    retries = this.maxRetries,
  ): Promise<T> {
    return this.one<T>(method, params, retries, retries);
  }

  /**
   * The first call to a node: fails after two attempts when nothing listens at the URL (refused
   * connection, unknown host), so a wrong `--rpc` is reported at once; a node that answers busy
   * (429, 5xx, timeouts, dropped connections) gets the whole retry budget, as during a sync.
   */
  async firstCall<T>(method: string, params: readonly unknown[] = []): Promise<T> {
    return this.one<T>(method, params, this.maxRetries, 1);
  }

  private async one<T>(
    method: string,
    params: readonly unknown[],
    retries: number,
    unreachableRetries: number,
  ): Promise<T> {
    const [response] = await this.send([{ method, params }], retries, unreachableRetries);
    if (response === undefined)
      throw new RpcUnavailableError(`${method}: empty answer from ${this.url}`);
    return response as T;
  }

  /** Calls several methods in one JSON-RPC batch; results in the order of `calls`. */
  async batch<T>(calls: readonly { method: string; params: readonly unknown[] }[]): Promise<T[]> {
    if (calls.length === 0) return [];
    return (await this.send(calls, this.maxRetries)) as T[];
  }

  private async send(
    calls: readonly { method: string; params: readonly unknown[] }[],
    retries: number,
    unreachableRetries = retries,
  ): Promise<unknown[]> {
    const label = calls.length === 1 ? (calls[0]?.method ?? "call") : `batch of ${calls.length}`;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.attempt(calls);
      } catch (error) {
        if (!(error instanceof RetryableError)) throw error;
        if (attempt >= (error.unreachable ? Math.min(retries, unreachableRetries) : retries)) {
          throw new RpcUnavailableError(
            `${label} to ${this.url} failed after ${attempt + 1} attempts: ${error.message}`,
          );
        }
        const backoff = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** attempt);
        const retryAfter = error.retryAfterMs;
        const delayMs = Math.max(retryAfter ?? 0, Math.round(backoff * (0.5 + Math.random() / 2)));
        this.onRetry?.({ method: label, attempt: attempt + 1, delayMs, reason: error.message });
        await sleep(delayMs);
      }
    }
  }

  private async attempt(
    calls: readonly { method: string; params: readonly unknown[] }[],
  ): Promise<unknown[]> {
    const ids = calls.map(() => this.nextId++);
    const body =
      calls.length === 1
        ? JSON.stringify({
            jsonrpc: "2.0",
            id: ids[0],
            method: calls[0]?.method,
            params: calls[0]?.params,
          })
        : JSON.stringify(
            calls.map((c, i) => ({
              jsonrpc: "2.0",
              id: ids[i],
              method: c.method,
              params: c.params,
            })),
          );
    this.requests++;
    let res: Response;
    let text: string;
    try {
      res = await fetch(this.endpoint, {
        method: "POST",
        headers: this.headers,
        body,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      text = await res.text();
    } catch (error) {
      const e = error as Error & { cause?: { code?: string; message?: string } };
      const reason =
        e.name === "TimeoutError"
          ? `timed out after ${this.timeoutMs} ms`
          : (e.cause?.code ?? e.cause?.message ?? e.message);
      const err = new RetryableError(reason);
      err.unreachable = e.cause?.code !== undefined && UNREACHABLE.has(e.cause.code);
      throw err;
    }
    // Credentials refused or missing: no retry can mend that.
    if (res.status === 401 || res.status === 403 || res.status === 407) {
      throw new RpcUnavailableError(refusedCredentials(res.status, this.url));
    }
    if (res.status === 429 || res.status >= 500) {
      const err = new RetryableError(`HTTP ${res.status}`);
      const after = Number(res.headers.get("retry-after"));
      if (Number.isFinite(after) && after > 0)
        err.retryAfterMs = Math.min(after * 1000, this.maxDelayMs);
      throw err;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      if (!res.ok)
        throw new RpcUnavailableError(`HTTP ${res.status} from ${this.url}: ${text.slice(0, 120)}`);
      throw new RetryableError(`unparsable answer (${text.length} bytes)`);
    }
    if (!res.ok && (parsed === null || typeof parsed !== "object")) {
      throw new RpcUnavailableError(`HTTP ${res.status} from ${this.url}`);
    }
    const responses: JsonRpcResponse[] = Array.isArray(parsed)
      ? (parsed as JsonRpcResponse[])
      : [parsed as JsonRpcResponse];
    const byId = new Map(responses.map((r) => [Number(r.id), r]));
    return calls.map((c, i) => {
      const r = byId.get(ids[i] ?? -1) ?? (calls.length === 1 ? responses[0] : undefined);
      if (r === undefined) throw new RetryableError(`no answer for ${c.method} in the batch`);
      if (r.error !== undefined) {
        const { code, message, data } = r.error;
        // Rate limits reported inside JSON-RPC (some providers answer HTTP 200 with code 429 or -32005).
        if (code === 429 || RATE_LIMITED.test(message)) throw new RetryableError(message);
        if (c.method === "eth_getLogs" && (RANGE_TOO_LARGE.test(message) || code === -32005)) {
          throw new RangeTooLargeError(c.method, code, message, suggestedRange(message, data));
        }
        throw new RpcError(c.method, code, message, data);
      }
      if (!("result" in r)) throw new RetryableError(`answer for ${c.method} has no result`);
      return r.result;
    });
  }
}

/** A log as eth_getLogs returns it. */
export interface RawLog {
  address: string;
  topics: string[];
  data: string;
  blockNumber: string;
  blockHash: string;
  blockTimestamp?: string;
  transactionHash: string;
  transactionIndex: string;
  logIndex: string;
  removed?: boolean;
}

/** The address in an indexed address topic of a log (lower case). */
export const topicAddress = (topic: string | undefined): string =>
  `0x${(topic ?? "").slice(26)}`.toLowerCase();

/** How many 32-byte words a log's data holds (not a whole number when the data is malformed). */
export const logDataWords = (log: Pick<RawLog, "data">): number => (log.data.length - 2) / 64;

/**
 * Whether a log has `topics` topics and `words` 32-byte words of data: exactly, or at least that
 * many when the event has dynamic fields (`dynamic`). Readers of a known event check this before
 * decoding it: another event of the same signature (its fields indexed otherwise) has another
 * shape.
 */
export function hasLogShape(
  log: Pick<RawLog, "topics" | "data">,
  topics: number,
  words: number,
  dynamic = false,
): boolean {
  const length = logDataWords(log);
  return log.topics.length === topics && (dynamic ? length >= words : length === words);
}
