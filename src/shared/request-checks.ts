/**
 * Request-level checks shared by the tracer's API server (server.ts) and the PSI provider's server
 * (src/matching/http.ts): headers counted on the raw list (node:http joins or drops duplicates in
 * `req.headers`), bearer tokens a header can carry, JSON bodies decoded strictly and bounded in
 * depth before anything recurses over them, and values echoed in errors cut to a few characters.
 */
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
