/**
 * The gateway's HTTP(S) server (docs/exchange.md, "The gateway"): two GET routes under
 * /exchange/v1, every request signed by a key of the requesting institution (EIP-712
 * `GatewayRequest`, protocol.ts) and checked against the ledger when it arrives (gateway.ts,
 * `authorize`). Envelopes are streamed from disk with `Range` for resumption, never read whole;
 * the number of envelopes streaming at once is bounded. Errors are RFC 9457 problems with a
 * one-line `detail`, as the tracer's API answers them.
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
import { GatewayRefusal, type Gateway } from "./gateway.js";
import {
  GATEWAY_PREFIX,
  MAX_CLOCK_SKEW,
  NONCE_HEADER,
  SIGNATURE_HEADER,
  SIGNER_HEADER,
  TIMESTAMP_HEADER,
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
  /** The clock, in unix seconds (tests). */
  clock?: () => number;
}

const MAX_TARGET = 1024;
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

  async function handle(req: IncomingMessage, res: ServerResponse, note: Record<string, unknown>) {
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

    const who = await gateway.authorize(signer, requestId);
    note["participant"] = who.participant;

    if (sequence === undefined) {
      const offers = await gateway.offers(requestId);
      const body = JSON.stringify({ requestId: requestId.toString(), offers });
      res.writeHead(200, {
        "content-type": "application/json",
        "content-length": Buffer.byteLength(body),
        "cache-control": "no-store",
      });
      res.end(body);
      note["status"] = 200;
      note["offers"] = offers.length;
      return;
    }

    const offers = await gateway.offers(requestId);
    const offer = offers.find((o) => o.sequence === sequence);
    if (offer === undefined)
      throw new GatewayRefusal(404, "not_found", `no offer ${sequence} under request ${requestId}`);
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
      res.writeHead(416, { "content-range": `bytes */${size}` });
      res.end();
      note["status"] = 416;
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
      res.writeHead(range === null ? 200 : 206, headers);
      note["status"] = range === null ? 200 : 206;
      note["range"] = `${start}-${end}/${size}`;
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
    handle(req, res, note)
      .then(() => log({ level: "info", ...note }))
      .catch((error: unknown) => {
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
          res.destroy();
          return;
        }
        const body = JSON.stringify(problem(refusal.status, refusal.code, refusal.message));
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
