/**
 * The two messages of a session, as bytes: the same format in a file (air-gapped mode) and in an
 * HTTP body. A message is one line of JSON (the header) followed by the body, raw 32-byte points:
 *
 *   {"protocol":"veritrace-psi/2","kind":"request","sessionId":"0x…","mode":"psi","type":"phone",
 *    "count":3,"bodySha256":"0x…"}\n  + 3 × 32 bytes
 *   {"protocol":"veritrace-psi/2","kind":"response","sessionId":"0x…","mode":"psi","type":"phone",
 *    "requestDigest":"0x…","count":3,"providerCount":5,"bodySha256":"0x…"}\n  + (3 + 5) × 32 bytes
 *
 * A response's body is the re-blinded request (in request order in "psi" mode, shuffled in
 * "cardinality" mode), then the provider's own blinded set (shuffled). The digest of a message is
 * SHA-256 over all its bytes, header line included; a response names the digest of the request it
 * answers. {@link MessageReader} parses a message as it streams in, refusing it as soon as it
 * exceeds its header or the limits.
 */
import { createHash, type Hash } from "node:crypto";
import { MatchError } from "./errors.js";
import { POINT_BYTES } from "./group.js";

/**
 * Protocol name and version, the first field of every header. Version 2 hashes under
 * `veritrace:psi:v2` (identifiers normalized by the v2 rules): a peer still on version 1 is refused
 * by name instead of matching nothing.
 */
export const PROTOCOL = "veritrace-psi/2";

/** "psi": the requester learns which of its identifiers match; "cardinality": only how many. */
export type PsiMode = "psi" | "cardinality";
export const MODES: readonly PsiMode[] = ["psi", "cardinality"];

/** Identifier kinds (the client's `IdentifierType`). */
export type IdentifierType = "phone" | "bankAccount" | "nationalId";
export const IDENTIFIER_TYPES: readonly IdentifierType[] = ["phone", "bankAccount", "nationalId"];

/** Longest header line, newline included. */
export const MAX_HEADER_BYTES = 4096;

/** Default largest set, for each party. */
export const DEFAULT_MAX_ELEMENTS = 1_000_000;

interface CommonHeader {
  protocol: typeof PROTOCOL;
  /** 0x + 64 lowercase hex digits. */
  sessionId: string;
  mode: PsiMode;
  type: IdentifierType;
  /** Points in the first list of the body. */
  count: number;
  /** SHA-256 of the body, 0x + 64 hex digits. */
  bodySha256: string;
}

export interface RequestHeader extends CommonHeader {
  kind: "request";
}

export interface ResponseHeader extends CommonHeader {
  kind: "response";
  /** Digest of the request this response answers. */
  requestDigest: string;
  /** Points of the provider's blinded set (after the `count` re-blinded ones). */
  providerCount: number;
}

/** The requester's blinded set, H(x)^a for each of its identifiers. */
export interface PsiRequestMessage {
  header: RequestHeader;
  /** The header line exactly as sent or received, newline included. */
  headerBytes: Buffer;
  /** count × 32 bytes. */
  points: Buffer;
  /** SHA-256 of the whole message, 0x-hex. */
  digest: string;
}

/** The provider's answer: H(x)^ab for the request, and H(y)^b for its own set. */
export interface PsiResponseMessage {
  header: ResponseHeader;
  headerBytes: Buffer;
  /** count × 32 bytes: the request's points re-blinded. */
  reblinded: Buffer;
  /** providerCount × 32 bytes. */
  providerPoints: Buffer;
  digest: string;
}

export type PsiMessage = PsiRequestMessage | PsiResponseMessage;

/** Limits applied while reading a message. */
export interface MessageLimits {
  /** Largest `count` and `providerCount`; default {@link DEFAULT_MAX_ELEMENTS}. */
  maxElements?: number;
}

const hex = (bytes: Uint8Array) => `0x${Buffer.from(bytes).toString("hex")}`;
const SESSION_ID = /^0x[0-9a-f]{64}$/;
const DIGEST = SESSION_ID;

/** A session id as 0x + 64 lowercase hex digits; accepts bytes, or hex with or without 0x. */
export function normalizeSessionId(sessionId: string | Uint8Array): string {
  if (typeof sessionId !== "string") {
    if (sessionId.length !== 32)
      throw new MatchError("invalid-input", `a session id is 32 bytes, got ${sessionId.length}`);
    return hex(sessionId);
  }
  const s = sessionId.trim().toLowerCase();
  const withPrefix = s.startsWith("0x") ? s : `0x${s}`;
  if (!SESSION_ID.test(withPrefix)) {
    throw new MatchError(
      "invalid-input",
      `a session id is 32 bytes of hex (64 digits), got ${JSON.stringify(sessionId)}`,
    );
  }
  return withPrefix;
}

export function sessionIdBytes(sessionId: string): Buffer {
  return Buffer.from(normalizeSessionId(sessionId).slice(2), "hex");
}

function sha256(...parts: Uint8Array[]): string {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return hex(h.digest());
}

function encodeHeader(header: RequestHeader | ResponseHeader): Buffer {
  const line = Buffer.from(`${JSON.stringify(header)}\n`, "utf8");
  if (line.length > MAX_HEADER_BYTES)
    throw new MatchError("internal", `a header of ${line.length} bytes is too long`);
  return line;
}

/** Builds a request message over `points` (count × 32 bytes). */
export function buildRequest(
  fields: { sessionId: string; mode: PsiMode; type: IdentifierType },
  points: Buffer,
): PsiRequestMessage {
  const header: RequestHeader = {
    protocol: PROTOCOL,
    kind: "request",
    sessionId: normalizeSessionId(fields.sessionId),
    mode: fields.mode,
    type: fields.type,
    count: points.length / POINT_BYTES,
    bodySha256: sha256(points),
  };
  const headerBytes = encodeHeader(header);
  return { header, headerBytes, points, digest: sha256(headerBytes, points) };
}

/** Builds a response message answering the request whose digest is `requestDigest`. */
export function buildResponse(
  fields: { sessionId: string; mode: PsiMode; type: IdentifierType; requestDigest: string },
  reblinded: Buffer,
  providerPoints: Buffer,
): PsiResponseMessage {
  const header: ResponseHeader = {
    protocol: PROTOCOL,
    kind: "response",
    sessionId: normalizeSessionId(fields.sessionId),
    mode: fields.mode,
    type: fields.type,
    requestDigest: fields.requestDigest,
    count: reblinded.length / POINT_BYTES,
    providerCount: providerPoints.length / POINT_BYTES,
    bodySha256: sha256(reblinded, providerPoints),
  };
  const headerBytes = encodeHeader(header);
  return {
    header,
    headerBytes,
    reblinded,
    providerPoints,
    digest: sha256(headerBytes, reblinded, providerPoints),
  };
}

/** The bytes of a message, as chunks of at most 64 KiB (for streaming writes). */
export function* messageChunks(message: PsiMessage): Generator<Buffer> {
  yield message.headerBytes;
  const bodies =
    message.header.kind === "request"
      ? [(message as PsiRequestMessage).points]
      : [(message as PsiResponseMessage).reblinded, (message as PsiResponseMessage).providerPoints];
  const step = 64 * 1024;
  for (const body of bodies)
    for (let o = 0; o < body.length; o += step) yield body.subarray(o, o + step);
}

/** The bytes of a message in one buffer. */
export function encodeMessage(message: PsiMessage): Buffer {
  return Buffer.concat([...messageChunks(message)]);
}

const REQUEST_KEYS = ["protocol", "kind", "sessionId", "mode", "type", "count", "bodySha256"];
const RESPONSE_KEYS = [...REQUEST_KEYS, "requestDigest", "providerCount"];

function malformed(message: string): MatchError {
  return new MatchError("malformed-message", message);
}

/**
 * Checks a parsed header strictly: exactly the known fields, each of the right form. The counts'
 * limit is {@link checkLimit}'s, apart: a server checks the header against the ledger first.
 */
function checkHeader(value: unknown): RequestHeader | ResponseHeader {
  if (value === null || typeof value !== "object" || Array.isArray(value))
    throw malformed("the header is not a JSON object");
  const h = value as Record<string, unknown>;
  if (h["protocol"] !== PROTOCOL) {
    throw malformed(
      `not a ${PROTOCOL} message (protocol ${JSON.stringify(h["protocol"] ?? null)})`,
    );
  }
  const kind = h["kind"];
  if (kind !== "request" && kind !== "response")
    throw malformed(`unknown message kind ${JSON.stringify(kind ?? null)}`);
  const keys = kind === "request" ? REQUEST_KEYS : RESPONSE_KEYS;
  const extra = Object.keys(h).filter((k) => !keys.includes(k));
  const missing = keys.filter((k) => !(k in h));
  if (extra.length > 0) throw malformed(`unknown header field ${extra.join(", ")}`);
  if (missing.length > 0) throw malformed(`missing header field ${missing.join(", ")}`);
  if (typeof h["sessionId"] !== "string" || !SESSION_ID.test(h["sessionId"]))
    throw malformed("the header's sessionId is not 0x + 64 lowercase hex digits");
  if (!MODES.includes(h["mode"] as PsiMode))
    throw malformed(`unknown mode ${JSON.stringify(h["mode"])}`);
  if (!IDENTIFIER_TYPES.includes(h["type"] as IdentifierType))
    throw malformed(`unknown identifier type ${JSON.stringify(h["type"])}`);
  if (typeof h["bodySha256"] !== "string" || !DIGEST.test(h["bodySha256"]))
    throw malformed("the header's bodySha256 is not 0x + 64 lowercase hex digits");
  const counts = kind === "request" ? ["count"] : ["count", "providerCount"];
  for (const c of counts) {
    const n = h[c];
    if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 0)
      throw malformed(`the header's ${c} is not a count`);
  }
  if (
    kind === "response" &&
    (typeof h["requestDigest"] !== "string" || !DIGEST.test(h["requestDigest"]))
  )
    throw malformed("the header's requestDigest is not 0x + 64 lowercase hex digits");
  return h as unknown as RequestHeader | ResponseHeader;
}

/** Refuses a header whose counts are over the limit (before its body is allocated or read). */
export function checkLimit(header: RequestHeader | ResponseHeader, maxElements: number): void {
  for (const n of header.kind === "request" ? [header.count] : [header.count, header.providerCount])
    if (n > maxElements) {
      throw new MatchError(
        "too-large",
        `the message holds ${n.toLocaleString("en")} elements, more than the limit of ${maxElements.toLocaleString("en")}`,
      );
    }
}

/**
 * Parses a message as its bytes arrive: `push` each chunk, then `end`. Refuses, with a
 * {@link MatchError}, a header that is not one, a count over the limit, more bytes than the header
 * announces (at once), fewer (at the end), and a body that does not hash to the header's digest.
 */
export class MessageReader {
  private readonly maxElements: number;
  private headerParts: Buffer[] = [];
  private headerLength = 0;
  private header: RequestHeader | ResponseHeader | null = null;
  private headerBytes: Buffer | null = null;
  private body: Buffer | null = null;
  private filled = 0;
  private readonly bodyHash: Hash = createHash("sha256");
  private readonly messageHash: Hash = createHash("sha256");

  constructor(limits: MessageLimits = {}) {
    this.maxElements = limits.maxElements ?? DEFAULT_MAX_ELEMENTS;
  }

  /** Bytes the body will have once the header is read and within the limit (null before). */
  get expectedBodyBytes(): number | null {
    return this.body === null ? null : this.body.length;
  }

  /** The header, once read. */
  get parsedHeader(): RequestHeader | ResponseHeader | null {
    return this.header;
  }

  /**
   * Reads header bytes only: returns the bytes after the header line once it is complete (and
   * parsed, its form checked but not its counts' limit), null while it is not. A server uses it to
   * check the header (against the ledger) before it takes any byte of the body, however the bytes
   * were split in transit; {@link push} then takes the rest.
   */
  pushHeader(chunk: Uint8Array): Buffer | null {
    const data = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (this.header !== null) return data;
    const newline = data.indexOf(0x0a);
    const take = newline < 0 ? data.length : newline + 1;
    if (this.headerLength + take > MAX_HEADER_BYTES)
      throw malformed(`no header line within the first ${MAX_HEADER_BYTES} bytes`);
    this.headerParts.push(Buffer.from(data.subarray(0, take)));
    this.headerLength += take;
    if (newline < 0) return null;
    this.readHeader();
    return data.subarray(take);
  }

  push(chunk: Uint8Array): void {
    const data = this.pushHeader(chunk);
    if (data === null) return;
    const body = this.startBody();
    if (data.length === 0) return;
    if (this.filled + data.length > body.length) {
      throw malformed(
        `the message is longer than its header announces (${body.length} body bytes)`,
      );
    }
    data.copy(body, this.filled);
    this.filled += data.length;
    this.bodyHash.update(data);
    this.messageHash.update(data);
  }

  private readHeader(): void {
    const bytes = Buffer.concat(this.headerParts);
    this.headerParts = [];
    let parsed: unknown;
    try {
      parsed = JSON.parse(bytes.toString("utf8"));
    } catch {
      throw malformed("the header line is not JSON");
    }
    const header = checkHeader(parsed);
    this.header = header;
    this.headerBytes = bytes;
    this.messageHash.update(bytes);
  }

  /** The body's buffer, allocated once the counts are within the limit. */
  private startBody(): Buffer {
    if (this.body !== null) return this.body;
    const header = this.header as RequestHeader | ResponseHeader;
    checkLimit(header, this.maxElements);
    const elements = header.count + (header.kind === "response" ? header.providerCount : 0);
    this.body = Buffer.alloc(elements * POINT_BYTES);
    return this.body;
  }

  /** The message; refuses a truncated one and a wrong digest. */
  end(): PsiMessage {
    const header = this.header;
    if (header === null || this.headerBytes === null)
      throw malformed(
        this.headerLength === 0
          ? "the message is empty"
          : "the message has no complete header line",
      );
    const body = this.startBody();
    if (this.filled < body.length) {
      throw malformed(`the message is truncated: ${this.filled} of ${body.length} body bytes`);
    }
    const bodySha256 = hex(this.bodyHash.digest());
    if (bodySha256 !== header.bodySha256) {
      throw new MatchError(
        "digest-mismatch",
        `the body's SHA-256 ${bodySha256} is not the header's ${header.bodySha256}`,
      );
    }
    const digest = hex(this.messageHash.digest());
    if (header.kind === "request")
      return { header, headerBytes: this.headerBytes, points: body, digest };
    const split = header.count * POINT_BYTES;
    return {
      header,
      headerBytes: this.headerBytes,
      reblinded: body.subarray(0, split),
      providerPoints: body.subarray(split),
      digest,
    };
  }
}

/** Parses a whole message held in memory. */
export function decodeMessage(bytes: Uint8Array, limits: MessageLimits = {}): PsiMessage {
  const reader = new MessageReader(limits);
  reader.push(bytes);
  return reader.end();
}

/** Parses a request; refuses a response. */
export function decodeRequest(bytes: Uint8Array, limits: MessageLimits = {}): PsiRequestMessage {
  const m = decodeMessage(bytes, limits);
  if (m.header.kind !== "request") throw malformed("expected a request, got a response");
  return m as PsiRequestMessage;
}

/** Parses a response; refuses a request. */
export function decodeResponse(bytes: Uint8Array, limits: MessageLimits = {}): PsiResponseMessage {
  const m = decodeMessage(bytes, limits);
  if (m.header.kind !== "response") throw malformed("expected a response, got a request");
  return m as PsiResponseMessage;
}

/** Largest message for `maxElements` per side: header plus two full lists. */
export function maxMessageBytes(maxElements: number): number {
  return MAX_HEADER_BYTES + 2 * maxElements * POINT_BYTES;
}
