/**
 * Request-level checks shared by the tracer's API server (server.ts) and the PSI provider's server
 * (src/matching/http.ts): headers counted on the raw list (node:http joins or drops duplicates in
 * `req.headers`), bearer tokens a header can carry and their comparison in constant time, bodies
 * read up to a limit, JSON bodies decoded strictly and bounded in depth before anything recurses
 * over them, and values echoed in errors cut to a few characters.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";

/** Longest value an error message echoes, in characters (longer ones end in "…"). */
export const MAX_ECHO = 80;

/** `value` cut to `max` characters, with "…" when cut. */
export function clip(value: string, max = MAX_ECHO): string {
  return value.length > max ? `${value.slice(0, max)}…` : value;
}

/** `value` as a JSON string for an error message, cut to {@link MAX_ECHO} characters first. */
export const quote = (value: string): string => JSON.stringify(clip(value));

/** How many times the request carries the header `name` (lower case), duplicates included. */
export function headerCount(req: IncomingMessage, name: string): number {
  let n = 0;
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    if (req.rawHeaders[i]?.toLowerCase() === name) n++;
  }
  return n;
}

/**
 * A header a request may carry once but carries more than once, as both servers refuse it: two
 * Hosts (400), two Authorizations (401); null for neither. Counted on the raw headers:
 * req.headers keeps one Host and joins or drops the others.
 */
export function repeatedHeader(
  req: IncomingMessage,
): { status: 400 | 401; message: string } | null {
  if (headerCount(req, "host") > 1) return { status: 400, message: "more than one Host header" };
  if (headerCount(req, "authorization") > 1)
    return { status: 401, message: "more than one Authorization header" };
  return null;
}

const sha256 = (s: string): Buffer => createHash("sha256").update(s, "utf8").digest();

/**
 * Which of `tokens` the bearer token of an `Authorization` header is (its index; -1 for none, and
 * for a header that is not `Bearer TOKEN`: the scheme in any case, spaces around, RFC 9110). The
 * tokens are kept as SHA-256 digests and every digest is compared, in constant time, whatever
 * matches: the time of an answer says nothing of the tokens.
 */
export function bearerTokenMatcher(
  tokens: readonly string[],
): (authorization: string | undefined) => number {
  const digests = tokens.map(sha256);
  return (authorization) => {
    const presented = /^Bearer +(\S+) *$/i.exec(authorization ?? "")?.[1] ?? null;
    const given = sha256(presented ?? "");
    let index = -1;
    digests.forEach((d, i) => {
      if (timingSafeEqual(d, given) && presented !== null) index = i;
    });
    return index;
  };
}

/**
 * A request's body, of at most `max` bytes; null as soon as it is larger (nothing more is read).
 * A failure of the connection is thrown as it is.
 */
export async function readBody(req: IncomingMessage, max: number): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) return null;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/**
 * Whether a bearer token is printable ASCII without spaces (0x21 to 0x7e): the only tokens an
 * `Authorization: Bearer` header can carry byte for byte, so any other could never match.
 */
export const isTokenText = (token: string): boolean => /^[\x21-\x7e]+$/.test(token);

/** Deepest nesting of arrays and objects a JSON body may have. */
export const MAX_JSON_DEPTH = 64;

/** Why a JSON body was refused (the caller answers 400 with the message). */
export class JsonBodyError extends Error {
  override name = "JsonBodyError";
}

/**
 * Whether `text` nests arrays and objects deeper than `max`. One pass over the characters, skipping
 * strings (with their escapes): it runs before JSON.parse and before any recursive validator, so
 * that neither can overflow the stack. Brackets of malformed text count too; JSON.parse refuses
 * that text anyway.
 */
export function nestsDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: the next character is escaped
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

/**
 * Parses a JSON body: valid UTF-8 (never replaced by U+FFFD), at most `maxDepth` levels deep, then
 * JSON. Throws a {@link JsonBodyError} saying which.
 */
export function parseJsonBody(bytes: Uint8Array, maxDepth = MAX_JSON_DEPTH): unknown {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new JsonBodyError("the body is not valid UTF-8");
  }
  if (nestsDeeperThan(text, maxDepth)) {
    throw new JsonBodyError(`the body nests arrays and objects deeper than ${maxDepth} levels`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new JsonBodyError("the body is not valid JSON");
  }
}

/** A JSON body as read: its bytes and value, or why it was refused. */
export type JsonBody =
  | { ok: true; raw: Buffer; value: unknown }
  | { ok: false; tooLarge: true }
  | { ok: false; tooLarge: false; message: string };

/**
 * Reads a JSON body of at most `max` bytes and parses it ({@link parseJsonBody}): the one way
 * both servers read one. A failure of the connection is thrown as it is.
 */
export async function readJsonBody(req: IncomingMessage, max: number): Promise<JsonBody> {
  const raw = await readBody(req, max);
  if (raw === null) return { ok: false, tooLarge: true };
  try {
    return { ok: true, raw, value: parseJsonBody(raw) };
  } catch (error) {
    if (error instanceof JsonBodyError)
      return { ok: false, tooLarge: false, message: error.message };
    throw error;
  }
}
