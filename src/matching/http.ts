/**
 * The online transport: the provider serves `POST /psi/v1/sessions` on node:http; the requester
 * posts its request message and reads the response message from the same exchange. Bodies are the
 * binary messages of messages.ts, streamed both ways (parsed as they arrive, written in 64 KiB
 * chunks with backpressure). Errors are RFC 9457 problems (shared/problem.ts): `code` is the
 * failure's reason, `detail` says it in a sentence.
 *
 * The server authenticates with bearer tokens (compared in constant time), refuses a body larger
 * than the limits before reading it (Content-Length) or as soon as it exceeds them, checks the
 * request's header (session, type, mode, count) before the body arrives, and answers one session
 * at a time (503 while busy): a session keeps every core busy.
 *
 * The ledger code plugs in through a {@link SessionGate} per request (checks before and after the
 * body, the provider's signature as response headers, the failure of a session) and the
 * `POST /psi/v1/results` route (the provider's co-signature of a result); ledger.ts has both.
 */
import {
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import { request as httpsRequest } from "node:https";
import {
  bearerTokenMatcher,
  clip,
  isTokenText,
  quote,
  readJsonBody,
  repeatedHeader,
} from "../shared/request-checks.js";
import { problem } from "../shared/problem.js";
import { PROBLEM_MEDIA_TYPE, parseProblem } from "../shared/problem-format.js";
import { MatchError, isMatchFailureReason, type MatchFailureReason } from "./errors.js";
import type { IdentifierSet } from "./identifiers.js";
import {
  DEFAULT_MAX_ELEMENTS,
  MessageReader,
  maxMessageBytes,
  messageChunks,
  type PsiMessage,
  type PsiMode,
  type PsiRequestMessage,
  type PsiResponseMessage,
  type RequestHeader,
} from "./messages.js";
import {
  PsiProvider,
  providerRecord,
  sessionFailure,
  type ProviderOutcome,
  type ProviderRecord,
  type SessionFailure,
} from "./session.js";
import type { CurveEngine } from "./engine.js";

/** The route of a session: the request message in, the response message out. */
export const MATCH_PATH = "/psi/v1/sessions";
/** The route where the requester asks the provider to co-sign a result (JSON in, JSON out). */
export const RESULT_PATH = "/psi/v1/results";

/**
 * HTTP header of a session request naming the ledger's session id (a decimal number; the
 * protocol's 32-byte session id is the ledger's `tag`).
 */
export const LEDGER_SESSION_HEADER = "veritrace-match-session";
/**
 * HTTP headers of a session request carrying the requester's EIP-712 MatchRequest signature, which
 * binds the request to the session's opener (ledger.ts, `signRequest`).
 */
export const REQUEST_SIGNER_HEADER = "veritrace-match-request-signer";
export const REQUEST_SIGNATURE_HEADER = "veritrace-match-request-signature";
/** HTTP headers of a response carrying the provider's EIP-712 MatchResponse signature. */
export const SIGNER_HEADER = "veritrace-match-signer";
export const SIGNATURE_HEADER = "veritrace-match-signature";

/** Largest JSON body of the results route. */
const MAX_JSON_BYTES = 65_536;

/** HTTP status for each reason the server refuses a request for. */
function statusOf(reason: MatchFailureReason): number {
  switch (reason) {
    case "too-large":
      return 413;
    case "unauthorized":
      return 401;
    case "session-mismatch":
    case "invalid-signature":
      return 403;
    case "internal":
    case "peer-error":
      return 500;
    default:
      return 400;
  }
}

export interface MatchServerOptions {
  /** The provider's identifiers (their type is the only type served). */
  identifiers: IdentifierSet;
  /** Accepted bearer tokens (at least one). */
  tokens: readonly string[];
  engine: CurveEngine;
  /** Largest request, in elements; default {@link DEFAULT_MAX_ELEMENTS}. */
  maxElements?: number;
  /** Modes answered; default both. */
  modes?: readonly PsiMode[];
  /** Answer only this session id; default any. */
  sessionId?: string;
  /**
   * Called with each request's header before its body is read: throw a MatchError (e.g.
   * "session-mismatch") to refuse it, for instance a session the ledger did not grant.
   */
  authorize?: (header: RequestHeader) => void | Promise<void>;
  /** A gate for each session request (the ledger's checks and signature); see {@link SessionGate}. */
  gate?: (request: { headers: IncomingHttpHeaders; remoteAddress: string | null }) => SessionGate;
  /**
   * Serves `POST /psi/v1/results`: called with the parsed JSON body, returns the JSON answer
   * (throw a MatchError to refuse). Without it the route is 404.
   */
  cosign?: (body: unknown) => Promise<unknown>;
  /** Called once per session, completed or failed (for logs and the ledger). */
  onSession?: (record: SessionRecord) => void;
  /** Called for each request refused before a session starts (bad token, too large, busy). */
  onRefused?: (record: { status: number; reason: string; remoteAddress: string | null }) => void;
  /** Time to receive a whole request, in milliseconds; default 120 000. */
  requestTimeoutMs?: number;
}

/**
 * The checks and additions of one session request, in order: `authorize` (the header, before the
 * body), `admit` (the whole request, before any curve work), `attest` (the computed response:
 * extra HTTP headers sent with it), and `failed` (called once if the session fails at any step;
 * the error response is not delayed by it). Throw a MatchError to refuse.
 */
export interface SessionGate {
  authorize?(header: RequestHeader): void | Promise<void>;
  admit?(request: PsiRequestMessage): void | Promise<void>;
  attest?(outcome: ProviderOutcome): Promise<Record<string, string>>;
  failed?(failure: SessionFailure): void;
}

/** One line of the provider's session log. */
export type SessionRecord =
  (ProviderRecord & { milliseconds: number }) | (SessionFailure & { milliseconds: number });

function sendError(res: ServerResponse, status: number, reason: string, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify(problem(status, reason, message));
  res.writeHead(status, {
    "content-type": PROBLEM_MEDIA_TYPE,
    "content-length": Buffer.byteLength(body),
    connection: "close",
    ...(status === 401 ? { "www-authenticate": 'Bearer realm="veritrace-psi"' } : {}),
    ...(status === 503 ? { "retry-after": "5" } : {}),
  });
  res.end(body);
}

/** Writes chunks with backpressure; fails if the stream errors or closes before draining. */
async function writeChunks(
  out: NodeJS.WritableStream,
  chunks: Iterable<Uint8Array>,
): Promise<void> {
  for (const chunk of chunks) {
    if (!out.write(chunk)) {
      await new Promise<void>((resolve, reject) => {
        const done = (error?: Error) => {
          out.off("drain", onDrain);
          out.off("error", onError);
          out.off("close", onClose);
          if (error === undefined) resolve();
          else reject(error);
        };
        const onDrain = () => done();
        const onError = (error: Error) => done(error);
        const onClose = () => done(new Error("the connection closed"));
        out.on("drain", onDrain);
        out.on("error", onError);
        out.on("close", onClose);
      });
    }
  }
}

function messageBytes(message: PsiMessage): number {
  let n = 0;
  for (const c of messageChunks(message)) n += c.length;
  return n;
}

/** The provider's HTTP server; call `listen` on it. */
export function createMatchServer(options: MatchServerOptions): Server {
  if (options.tokens.length === 0) throw new MatchError("invalid-input", "no bearer token");
  if (!options.tokens.every(isTokenText))
    throw new MatchError(
      "invalid-input",
      "a bearer token is not printable ASCII without spaces: no Authorization header could match it",
    );
  const maxElements = options.maxElements ?? DEFAULT_MAX_ELEMENTS;
  const maxBodyBytes = maxMessageBytes(maxElements);
  const tokenIndex = bearerTokenMatcher(options.tokens);
  const provider = new PsiProvider({
    type: options.identifiers.type,
    maxElements,
    engine: options.engine,
    ...(options.modes === undefined ? {} : { modes: options.modes }),
    ...(options.sessionId === undefined ? {} : { sessionId: options.sessionId }),
  });
  let busy = false;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const refuse = (status: number, reason: string, message: string) => {
      options.onRefused?.({ status, reason, remoteAddress: req.socket.remoteAddress ?? null });
      sendError(res, status, reason, message);
    };
    const repeated = repeatedHeader(req);
    if (repeated !== null) {
      refuse(
        repeated.status,
        repeated.status === 401 ? "unauthorized" : "invalid-input",
        repeated.message,
      );
      return;
    }
    const path = (req.url ?? "").split("?")[0] ?? "";
    const cosign = path === RESULT_PATH ? options.cosign : undefined;
    if (path !== MATCH_PATH && cosign === undefined) {
      sendError(res, 404, "not-found", `no route ${quote(path)}; POST ${MATCH_PATH}`);
      return;
    }
    if (req.method !== "POST") {
      res.setHeader("allow", "POST");
      sendError(res, 405, "method-not-allowed", `${path} takes POST`);
      return;
    }
    if (tokenIndex(req.headers.authorization) < 0) {
      refuse(401, "unauthorized", "a valid bearer token is required");
      return;
    }
    if (cosign !== undefined) {
      await answerJson(req, res, cosign);
      return;
    }
    // A Content-Length over the limit is refused once the message's header is checked, like a
    // count over the limit: the ledger's gate always speaks first (see readRequest).
    const declared = Number(req.headers["content-length"] ?? Number.NaN);
    if (busy) {
      refuse(503, "busy", "another session is running; retry later");
      return;
    }
    busy = true;
    const started = performance.now();
    let sessionId: string | null = null;
    const gate =
      options.gate?.({ headers: req.headers, remoteAddress: req.socket.remoteAddress ?? null }) ??
      {};
    try {
      const request = await readRequest(req, maxBodyBytes, async (header) => {
        sessionId = header.sessionId;
        // The ledger's gate first: a session opened for this provider (and bound to its
        // requester) is then known, and marked failed if any later check refuses it.
        if (gate.authorize !== undefined) await gate.authorize(header);
        provider.checkHeader(header);
        if (options.authorize !== undefined) await options.authorize(header);
        if (declared > maxBodyBytes)
          throw new MatchError(
            "too-large",
            `a body of ${declared} bytes is over the limit of ${maxBodyBytes} (${maxElements} elements)`,
          );
      });
      if (gate.admit !== undefined) await gate.admit(request);
      const outcome = await provider.respond(request, options.identifiers);
      const extra = gate.attest === undefined ? {} : await gate.attest(outcome);
      res.writeHead(200, {
        ...extra,
        "content-type": "application/octet-stream",
        "content-length": messageBytes(outcome.response),
      });
      await writeChunks(res, messageChunks(outcome.response));
      res.end();
      options.onSession?.({
        ...providerRecord(outcome),
        milliseconds: Math.round(performance.now() - started),
      });
    } catch (error) {
      const failure = sessionFailure(error, sessionId);
      options.onSession?.({ ...failure, milliseconds: Math.round(performance.now() - started) });
      gate.failed?.(failure);
      sendError(res, statusOf(failure.reason), failure.reason, failure.message);
    } finally {
      busy = false;
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) =>
      sendError(res, 500, "internal", clip((error as Error).message ?? String(error))),
    );
  });
  server.requestTimeout = options.requestTimeoutMs ?? 120_000;
  return server;
}

/** Reads a JSON body (at most 64 KiB), answers with `fn`'s JSON; a MatchError becomes a refusal. */
async function answerJson(
  req: IncomingMessage,
  res: ServerResponse,
  fn: (body: unknown) => Promise<unknown>,
): Promise<void> {
  const body = await readJsonBody(req, MAX_JSON_BYTES);
  if (!body.ok) {
    if (body.tooLarge) sendError(res, 413, "too-large", `a body over ${MAX_JSON_BYTES} bytes`);
    else sendError(res, 400, "malformed-message", body.message);
    return;
  }
  try {
    const answer = JSON.stringify(await fn(body.value));
    res.writeHead(200, {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(answer),
    });
    res.end(answer);
  } catch (error) {
    const failure = sessionFailure(error);
    sendError(res, statusOf(failure.reason), failure.reason, failure.message);
  }
}

/**
 * Reads a request message from a request body. The header line is read first, whatever the TCP
 * chunking: no byte after it is taken (nor counted against the limits) before `onHeader` (the
 * ledger's gate, then the provider's own checks of the header: session, type, mode, count) has
 * accepted it, so a request is refused, and its session marked failed or not, the same way
 * whether its bytes arrive in one read or one by one. After a refusal it keeps reading (and
 * dropping) what the client still sends, up to the byte limit, so that the client is not cut off
 * before it reads the error.
 */
function readRequest(
  req: IncomingMessage,
  maxBodyBytes: number,
  onHeader: (header: RequestHeader) => Promise<void>,
): Promise<PsiRequestMessage> {
  return new Promise<PsiRequestMessage>((resolve, reject) => {
    // The count limit is onHeader's (after the gate); the reader's own is never lower.
    const reader = new MessageReader({ maxElements: Number.MAX_SAFE_INTEGER });
    let received = 0;
    let headerSeen = false;
    let failed = false;
    /** Settles once the header is accepted or refused; the end of the body waits for it. */
    let gated: Promise<void> = Promise.resolve();
    const fail = (error: unknown) => {
      if (failed) return;
      failed = true;
      reject(error);
    };
    // Once the header is accepted the reader knows the body's exact length (within the limit):
    // it refuses the first byte past it, in whatever chunk that byte comes. The byte limit only
    // bounds what is drained after a refusal.
    const body = (data: Buffer) => {
      received += data.length;
      if (failed) {
        if (received > maxBodyBytes) req.destroy();
        return;
      }
      if (data.length === 0) return;
      try {
        reader.push(data);
      } catch (error) {
        fail(error);
      }
    };
    req.on("data", (chunk: Buffer) => {
      if (headerSeen || failed) {
        body(chunk);
        return;
      }
      let rest: Buffer | null;
      try {
        rest = reader.pushHeader(chunk);
      } catch (error) {
        fail(error);
        return;
      }
      received += chunk.length - (rest?.length ?? 0);
      const header = reader.parsedHeader;
      if (rest === null || header === null) return;
      headerSeen = true;
      if (header.kind !== "request") {
        fail(new MatchError("malformed-message", "expected a request, got a response"));
        return;
      }
      req.pause();
      gated = onHeader(header).then(
        () => {
          body(rest);
          req.resume();
        },
        (error: unknown) => {
          fail(error);
          req.resume();
        },
      );
    });
    let ended = false;
    req.on("error", (error) =>
      fail(new MatchError("peer-error", `reading the request: ${error.message}`)),
    );
    req.on("close", () => {
      if (!ended) fail(new MatchError("peer-error", "the client closed the connection"));
    });
    req.on("end", () => {
      ended = true;
      void gated.then(() => {
        if (failed) return;
        try {
          const message = reader.end();
          if (message.header.kind !== "request")
            throw new MatchError("malformed-message", "expected a request, got a response");
          resolve(message as PsiRequestMessage);
        } catch (error) {
          fail(error);
        }
      });
    });
  });
}

export interface MatchClientOptions {
  /** Largest provider set accepted; default {@link DEFAULT_MAX_ELEMENTS}. */
  maxElements?: number;
  /** Time for the whole exchange, in milliseconds; default 600 000. */
  timeoutMs?: number;
  /** Extra request headers (e.g. {@link LEDGER_SESSION_HEADER}). */
  headers?: Record<string, string>;
}

function peerUrl(peer: string, route: string): URL {
  let url: URL;
  try {
    url = new URL(route, peer);
  } catch {
    throw new MatchError("invalid-input", `not a URL: ${JSON.stringify(peer)}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw new MatchError("invalid-input", `the peer must be an http(s) URL, got ${peer}`);
  return url;
}

/**
 * Sends a request message to a provider at `peer` (its base URL, http or https) and reads the
 * response message. A refusal becomes a MatchError carrying the server's reason.
 */
export async function exchangeOverHttp(
  peer: string,
  token: string,
  request: PsiRequestMessage,
  options: MatchClientOptions = {},
): Promise<PsiResponseMessage> {
  return (await exchangeWithHeaders(peer, token, request, options)).response;
}

/** {@link exchangeOverHttp}, with the HTTP headers of the provider's answer. */
export async function exchangeWithHeaders(
  peer: string,
  token: string,
  request: PsiRequestMessage,
  options: MatchClientOptions = {},
): Promise<{ response: PsiResponseMessage; headers: IncomingHttpHeaders }> {
  const url = peerUrl(peer, MATCH_PATH);
  const maxElements = options.maxElements ?? DEFAULT_MAX_ELEMENTS;
  const timeoutMs = options.timeoutMs ?? 600_000;
  const send = url.protocol === "https:" ? httpsRequest : httpRequest;
  const where = url.origin;

  return new Promise<{ response: PsiResponseMessage; headers: IncomingHttpHeaders }>(
    (resolve, reject) => {
      let settled = false;
      const fail = (error: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        req.destroy();
        reject(error);
      };
      const timer = setTimeout(
        () =>
          fail(
            new MatchError("peer-error", `${where} did not answer within ${timeoutMs / 1000} s`),
          ),
        timeoutMs,
      );
      const req = send(url, {
        method: "POST",
        headers: {
          ...options.headers,
          authorization: `Bearer ${token}`,
          "content-type": "application/octet-stream",
          "content-length": messageBytes(request),
        },
      });
      let responded = false;
      req.on("response", (res) => {
        responded = true;
        if (res.statusCode !== 200) {
          readError(res)
            .then((e) => fail(e))
            .catch((e: unknown) => fail(e as Error));
          return;
        }
        const reader = new MessageReader({ maxElements });
        res.on("data", (chunk: Buffer) => {
          try {
            reader.push(chunk);
          } catch (error) {
            fail(error as Error);
          }
        });
        let ended = false;
        res.on("error", (error) => fail(peerError(where, error)));
        res.on("close", () => {
          if (!ended)
            fail(new MatchError("peer-error", `${where} closed the connection mid-response`));
        });
        res.on("end", () => {
          ended = true;
          if (settled) return;
          try {
            const message = reader.end();
            if (message.header.kind !== "response")
              throw new MatchError("malformed-message", "expected a response, got a request");
            settled = true;
            clearTimeout(timer);
            resolve({ response: message as PsiResponseMessage, headers: res.headers });
          } catch (error) {
            fail(error as Error);
          }
        });
      });
      // The server may refuse early and close while the body is still being sent: the write then
      // fails, but its error response is usually on the way. Wait a moment for it.
      const failSoon = (error: Error) => {
        if (!responded) setTimeout(() => fail(peerError(where, error)), 1000).unref();
      };
      req.on("error", failSoon);
      writeChunks(req, messageChunks(request))
        .then(() => req.end())
        .catch((error: unknown) => failSoon(error as Error));
    },
  );
}

/**
 * Posts a JSON body to the provider's results route and returns its JSON answer (the provider's
 * co-signature). A refusal becomes a MatchError carrying the server's reason.
 */
export async function cosignOverHttp(
  peer: string,
  token: string,
  body: unknown,
  options: { timeoutMs?: number } = {},
): Promise<unknown> {
  const url = peerUrl(peer, RESULT_PATH);
  let res: Response;
  try {
    res = await fetch(url, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(options.timeoutMs ?? 60_000),
    });
  } catch (error) {
    const e = error as Error;
    throw new MatchError(
      "peer-error",
      `${url.origin}: ${e.cause instanceof Error ? e.cause.message : e.message}`,
    );
  }
  const text = await res.text();
  if (res.status !== 200) throw refusal(res.status, text);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new MatchError(
      "malformed-message",
      `${url.origin} answered with something else than JSON`,
    );
  }
}

function peerError(where: string, error: Error): MatchError {
  if (error instanceof MatchError) return error;
  return new MatchError("peer-error", `${where}: ${error.message}`, { cause: error });
}

/** The server's JSON error as a MatchError (at most 64 KiB of it read). */
async function readError(res: IncomingMessage): Promise<MatchError> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of res as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > 65_536) break;
    parts.push(chunk);
  }
  return refusal(res.statusCode ?? 0, Buffer.concat(parts).toString("utf8"));
}

/** A refusal's status and problem body as a MatchError. */
function refusal(status: number, text: string): MatchError {
  let reason = "peer-error";
  let message = `HTTP ${status}`;
  try {
    const body = parseProblem(JSON.parse(text));
    if (body !== null) {
      reason = body.code;
      message = body.detail;
    }
  } catch {
    // not JSON: keep the status
  }
  const known: MatchFailureReason =
    status === 401 ? "unauthorized" : isMatchFailureReason(reason) ? reason : "peer-error";
  return new MatchError(
    known,
    `the provider refused the request (${status} ${reason}): ${message}`,
  );
}
