/**
 * The gateway's HTTP(S) server (docs/exchange.md, "The gateway"): two GET routes under
 * /exchange/v1, every request signed by a key of the requesting institution (EIP-712
 * `GatewayRequest`, protocol.ts) and checked against the ledger when it arrives (gateway.ts,
 * `authorize`). Envelopes are streamed from disk with `Range` for resumption, never read whole;
 * the number of envelopes streaming at once is bounded. Errors are RFC 9457 problems with a
 * one-line `detail`, as the tracer's API answers them.
 *
 * With an access log, every answer (an offer list, a download, a refusal) is written to it before
 * it is sent; an answer that can't be logged is not sent (503 `access_log`), as the API does.
 */
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { pipeline } from "node:stream/promises";
import { problem } from "../shared/problem.js";
import { PROBLEM_MEDIA_TYPE } from "../shared/problem-format.js";
import { clip, headerCount } from "../shared/request-checks.js";
import type { GatewayRecord } from "../ledger/access-log.js";
import { GatewayRefusal, type Gateway, type GatewayAccessSink } from "./gateway.js";
import {
  GATEWAY_PREFIX,
  MAX_CLOCK_SKEW,
  NONCE_HEADER,
  SIGNATURE_HEADER,
  SIGNER_HEADER,
  TIMESTAMP_HEADER,
  type Offer,
} from "./protocol.js";

export interface GatewayServerOptions {
  gateway: Gateway;
  /** PEM certificate chain and key; plain HTTP without them (the caller binds to loopback). */
  tls?: { cert: Buffer; key: Buffer };
  /** Envelopes streaming at once; more are answered 503. Default 16. */
  maxDownloads?: number;
  /** Nonces remembered at once (the replay guard); beyond, requests are answered 503. */
  maxNonces?: number;
  /** One JSON log entry per request answered or refused. */
  log: (entry: Record<string, unknown>) => void;
  /** The access log: every answer is written to it before it is sent. */
  accessLog?: GatewayAccessSink;
  /** The clock, in unix seconds (tests). */
  clock?: () => number;
}

const MAX_TARGET = 1024;
/** The longest request target written to the access log (as the API's). */
const MAX_LOGGED_TARGET = 512;

/** When a request arrived: wall clock (for the log) and monotonic (for its duration). */
interface Timing {
  startedAt: number;
  t0: number;
}

/** The access log could not be written: the answer is withheld. */
class AccessLogFailure extends Error {}
const ROUTE =
  /^\/exchange\/v1\/requests\/([1-9]\d{0,76})\/offers(?:\/(0|[1-9]\d{0,9})\/envelope)?$/;

/** Remembers each nonce until its timestamp leaves the accepted window. */
class ReplayGuard {
  private readonly seen = new Map<string, number>();
  constructor(private readonly max: number) {}

  /** Records `nonce` (kept until `expiresAt`): false if it was seen already. */
  admit(nonce: string, expiresAt: number, now: number): boolean | "full" {
    if (this.seen.has(nonce)) return false;
    if (this.seen.size >= this.max) {
      for (const [n, until] of this.seen) if (until < now) this.seen.delete(n);
      if (this.seen.size >= this.max) return "full";
    }
    this.seen.set(nonce, expiresAt);
    return true;
  }
}

/** One `Range` header's single byte range over `size` bytes; null to serve the whole file. */
function byteRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | null | "unsatisfiable" {
  if (header === undefined) return null;
  const m = /^bytes=(\d{0,15})-(\d{0,15})$/.exec(header.trim());
  // Several ranges, or another unit: RFC 9110 lets a server ignore the header.
  if (m === null) return null;
  const [, a = "", b = ""] = m;
  if (a === "" && b === "") return null;
  if (a === "") {
    const suffix = Number(b);
    if (suffix === 0) return "unsatisfiable";
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(a);
  const end = b === "" ? size - 1 : Math.min(Number(b), size - 1);
  if (start >= size || end < start) return "unsatisfiable";
  return { start, end };
}

/** The 410 of an offer whose envelope was purged: when and why. */
function purgedRefusal(requestId: bigint, sequence: number, offer: Offer): GatewayRefusal {
  return new GatewayRefusal(
    410,
    "gone",
    `the envelope of offer ${sequence} under request ${requestId} was purged at ${offer.purgedAt}: ${offer.purgeDetail ?? offer.purgeReason}`,
  );
}

/** The gateway's server; call `listen` on it. */
export function createGatewayServer(options: GatewayServerOptions): Server {
  const { gateway, log } = options;
  const clock = options.clock ?? (() => Math.floor(Date.now() / 1000));
  // A signature made before this process started may have been used with the previous one,
  // whose nonces are forgotten: refused, so that a restart opens no window for replays.
  const startedAt = clock();
  const guard = new ReplayGuard(options.maxNonces ?? 1_000_000);
  const maxDownloads = options.maxDownloads ?? 16;
  let downloads = 0;

  /** The access-log record of a request, from what its note holds so far. */
  function accessRecord(
    req: IncomingMessage,
    note: Record<string, unknown>,
    timing: Timing,
    event: "list" | "download" | "refusal",
    fields: Partial<GatewayRecord>,
  ): GatewayRecord {
    const r: GatewayRecord = {
      time: new Date(timing.startedAt).toISOString(),
      event,
      signer: typeof note["signer"] === "string" ? note["signer"] : null,
      client: req.socket.remoteAddress ?? "",
      method: clip(req.method ?? "?", 16),
      target: clip(req.url ?? "", MAX_LOGGED_TARGET),
      ms: Math.round(performance.now() - timing.t0),
      ...fields,
    };
    if (note["requestId"] !== undefined) r.requestId = String(note["requestId"]);
    if (typeof note["sequence"] === "number") r.sequence = note["sequence"];
    if (typeof note["participant"] === "number") r.institution = note["participant"];
    return r;
  }

  /** Writes a record; an {@link AccessLogFailure} when the log can't take it. */
  function writeAccess(record: GatewayRecord): void {
    if (options.accessLog === undefined) return;
    try {
      options.accessLog.write(record);
    } catch (e) {
      throw new AccessLogFailure((e as Error).message.split("\n")[0] ?? "");
    }
  }

  async function handle(
    req: IncomingMessage,
    res: ServerResponse,
    note: Record<string, unknown>,
    timing: Timing,
  ) {
    const record = (event: "list" | "download" | "refusal", fields: Partial<GatewayRecord>) =>
      writeAccess(accessRecord(req, note, timing, event, fields));
    const target = req.url ?? "/";
    if (Buffer.byteLength(target) > MAX_TARGET)
      throw new GatewayRefusal(
        414,
        "uri_too_long",
        `the request target is longer than ${MAX_TARGET} bytes`,
      );
    if (headerCount(req, "host") > 1)
      throw new GatewayRefusal(400, "bad_request", "more than one Host header");
    const m = ROUTE.exec(target);
    if (m === null)
      throw new GatewayRefusal(404, "not_found", `no route ${JSON.stringify(clip(target))}`);
    if (req.method !== "GET")
      throw new GatewayRefusal(
        405,
        "method_not_allowed",
        `${clip(req.method ?? "?")} is not allowed; GET only`,
      );
    const requestId = BigInt(m[1] as string);
    const sequence = m[2] === undefined ? undefined : Number(m[2]);
    note["requestId"] = requestId;
    if (sequence !== undefined) note["sequence"] = sequence;

    // The signature: four headers, each once.
    const values: Record<string, string> = {};
    for (const name of [SIGNER_HEADER, TIMESTAMP_HEADER, NONCE_HEADER, SIGNATURE_HEADER]) {
      const count = headerCount(req, name);
      if (count === 0)
        throw new GatewayRefusal(401, "unsigned", `the request is not signed: no ${name} header`);
      if (count > 1) throw new GatewayRefusal(400, "bad_request", `more than one ${name} header`);
      values[name] = String(req.headers[name]).trim();
    }
    const signer = values[SIGNER_HEADER] as string;
    const timestampText = values[TIMESTAMP_HEADER] as string;
    const nonce = (values[NONCE_HEADER] as string).toLowerCase();
    if (!/^0x[0-9a-fA-F]{40}$/.test(signer))
      throw new GatewayRefusal(400, "bad_request", `${SIGNER_HEADER} is not an address`);
    if (!/^\d{1,12}$/.test(timestampText))
      throw new GatewayRefusal(400, "bad_request", `${TIMESTAMP_HEADER} is not unix seconds`);
    if (!/^0x[0-9a-f]{64}$/.test(nonce))
      throw new GatewayRefusal(400, "bad_request", `${NONCE_HEADER} is not 32 bytes of hex`);
    note["signer"] = signer;
    const timestamp = Number(timestampText);
    const now = clock();
    if (Math.abs(now - timestamp) > MAX_CLOCK_SKEW)
      throw new GatewayRefusal(
        401,
        "stale_signature",
        `the signature's timestamp ${timestamp} is more than ${MAX_CLOCK_SKEW} s from the gateway's clock (${now})`,
      );
    if (timestamp < startedAt)
      throw new GatewayRefusal(
        401,
        "stale_signature",
        `the signature's timestamp ${timestamp} is before the gateway started (${startedAt}): sign again`,
      );
    // An EOA's signature by recovery; a contract key's by its ERC-1271 answer (bounded in gas and
    // time): gateway.ts, `verifyRequestSignature`.
    const verdict = await gateway.verifyRequestSignature(
      signer,
      { method: "GET", path: target, requestId, timestamp: BigInt(timestamp), nonce },
      values[SIGNATURE_HEADER] as string,
    );
    if (!verdict.ok)
      throw new GatewayRefusal(
        401,
        "invalid_signature",
        `the signature is not ${signer}'s over GET ${clip(target)}, request ${requestId}, timestamp ${timestamp} and the nonce: ${verdict.reason}`,
      );
    note["signatureKind"] = verdict.kind;
    // Recorded only once the signature holds, so that garbage fills no memory.
    const admitted = guard.admit(nonce, timestamp + MAX_CLOCK_SKEW, now);
    if (admitted === "full")
      throw new GatewayRefusal(
        503,
        "unavailable",
        "too many requests in the replay window; retry later",
      );
    if (!admitted)
      throw new GatewayRefusal(
        401,
        "replayed",
        `the nonce ${nonce} was used before: sign each request anew`,
      );

    let who;
    try {
      who = await gateway.authorize(signer, requestId);
    } catch (e) {
      // The requester, refused because the grant or the case is over: if the offer's envelope was
      // purged for it, say so (410, when and why) rather than only that the grant is not live.
      if (
        e instanceof GatewayRefusal &&
        (e.code === "grant_not_live" || e.code === "case_not_open") &&
        sequence !== undefined
      ) {
        const gone = (await gateway.offers(requestId)).find((o) => o.sequence === sequence);
        if (gone?.purgedAt !== undefined) throw purgedRefusal(requestId, sequence, gone);
      }
      throw e;
    }
    note["participant"] = who.participant;

    if (sequence === undefined) {
      const offers = await gateway.offers(requestId);
      const body = JSON.stringify({ requestId: requestId.toString(), offers });
      note["status"] = 200;
      note["offers"] = offers.length;
      record("list", { status: 200, bytes: Buffer.byteLength(body), offers: offers.length });
      res.writeHead(200, {
        "content-type": "application/json",
        "content-length": Buffer.byteLength(body),
        "cache-control": "no-store",
      });
      res.end(body);
      return;
    }

    const offers = await gateway.offers(requestId);
    const offer = offers.find((o) => o.sequence === sequence);
    if (offer === undefined)
      throw new GatewayRefusal(404, "not_found", `no offer ${sequence} under request ${requestId}`);
    if (offer.purgedAt !== undefined) throw purgedRefusal(requestId, sequence, offer);
    const file = gateway.envelopeFile(requestId, sequence);
    let size: number;
    try {
      size = (await stat(file)).size;
    } catch {
      throw new GatewayRefusal(
        410,
        "gone",
        `the envelope of offer ${sequence} under request ${requestId} is no longer kept`,
      );
    }
    const range = byteRange(req.headers.range, size);
    if (range === "unsatisfiable") {
      note["status"] = 416;
      record("refusal", {
        status: 416,
        bytes: 0,
        code: "range_not_satisfiable",
        detail: `the range ${clip(String(req.headers.range), 64)} is outside the envelope's ${size} bytes`,
      });
      res.writeHead(416, { "content-range": `bytes */${size}` });
      res.end();
      return;
    }
    if (downloads >= maxDownloads)
      throw new GatewayRefusal(503, "busy", `${maxDownloads} downloads are running; retry later`);
    downloads++;
    try {
      const start = range?.start ?? 0;
      const end = range?.end ?? size - 1;
      const headers: Record<string, string | number> = {
        "content-type": "application/octet-stream",
        "content-length": size === 0 ? 0 : end - start + 1,
        "accept-ranges": "bytes",
        // The file of an offer never changes: its hash is its entity tag.
        etag: `"${offer.ciphertextHash}"`,
        "cache-control": "no-store",
      };
      if (range !== null) headers["content-range"] = `bytes ${start}-${end}/${size}`;
      note["status"] = range === null ? 200 : 206;
      note["range"] = `${start}-${end}/${size}`;
      record("download", {
        status: range === null ? 200 : 206,
        bytes: size === 0 ? 0 : end - start + 1,
        range: `${start}-${end}/${size}`,
      });
      res.writeHead(range === null ? 200 : 206, headers);
      // A download under way is finished even if the grant is revoked meanwhile (or the purge
      // removes the file: the open stream still reads it): the bytes were authorized and logged
      // when asked for, only the requester can open them, and the ledger refuses its
      // acknowledgement on a revoked grant, so its fetch writes nothing. Any new request, a
      // resumption included, is checked against the ledger again and refused.
      if (size === 0) res.end();
      else await pipeline(createReadStream(file, { start, end }), res);
    } finally {
      downloads--;
    }
  }

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const note: Record<string, unknown> = {
      msg: "request",
      method: req.method,
      path: clip(req.url ?? "", 200),
      remoteAddress: req.socket.remoteAddress ?? null,
    };
    const timing: Timing = { startedAt: Date.now(), t0: performance.now() };
    const withheld = (error: AccessLogFailure) => {
      log({ level: "error", ...note, status: 503, code: "access_log", detail: error.message });
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const body = JSON.stringify(
        problem(
          503,
          "access_log",
          "the access log can't be written: no answer is given without its log line",
        ),
      );
      res.writeHead(503, {
        "content-type": PROBLEM_MEDIA_TYPE,
        "content-length": Buffer.byteLength(body),
        "cache-control": "no-store",
        connection: "close",
      });
      res.end(body);
    };
    handle(req, res, note, timing)
      .then(() => log({ level: "info", ...note }))
      .catch((error: unknown) => {
        if (error instanceof AccessLogFailure) return withheld(error);
        const refusal =
          error instanceof GatewayRefusal
            ? error
            : new GatewayRefusal(500, "internal", (error as Error).message.split("\n")[0] ?? "");
        log({
          level: refusal.status >= 500 ? "error" : "warn",
          ...note,
          status: refusal.status,
          code: refusal.code,
          detail: refusal.message,
        });
        if (res.headersSent) {
          // Cut mid-answer (the client went away, the disk failed): its download line is logged.
          res.destroy();
          return;
        }
        const body = JSON.stringify(problem(refusal.status, refusal.code, refusal.message));
        try {
          writeAccess(
            accessRecord(req, note, timing, "refusal", {
              status: refusal.status,
              bytes: Buffer.byteLength(body),
              code: refusal.code,
              detail: refusal.message,
            }),
          );
        } catch (e) {
          if (e instanceof AccessLogFailure) return withheld(e);
          throw e;
        }
        res.writeHead(refusal.status, {
          "content-type": PROBLEM_MEDIA_TYPE,
          "content-length": Buffer.byteLength(body),
          "cache-control": "no-store",
        });
        res.end(body);
      });
  };

  const server =
    options.tls === undefined
      ? createHttpServer(onRequest)
      : createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, onRequest);
  // Headers within 10 s, the request (it has no body) within 30 s; a stalled download is cut
  // after a minute without progress.
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.timeout = 60_000;
  server.maxHeadersCount = 64;
  return server;
}

export { GATEWAY_PREFIX };
