import { createHmac, randomBytes } from "node:crypto";
import { getBytes, hexlify, isHexString, keccak256, toUtf8Bytes } from "ethers";
import { InputError } from "./errors.js";
import { normalizeIdentifier, type IdentifierType, type NormalizeOptions } from "./normalize.js";
import type { Bytes32 } from "./validate.js";

/**
 * Keyed commitments: identifiers never go on chain. A subject is committed as
 * HMAC-SHA256(caseKey, "veritrace:subject:v2:" + type + ":" + normalized identifier), where the
 * 32-byte case key is held off-chain by the case's parties. Whoever holds the key and the
 * identifier can show that a commitment matches; nobody reading the chain can test guesses.
 * Normalization is in normalize.ts; known-answer vectors are in docs/test-vectors.json.
 */

/**
 * Domain tag of subject commitments. Version 2: phone numbers normalized by libphonenumber-js
 * (national trunk prefixes, "(0)"), IBAN lengths per country, Chinese resident ID numbers checked
 * and converted to 18 characters; a v1 commitment of the same identifier differs on purpose.
 */
export const SUBJECT_TAG = "veritrace:subject:v2";

/** Domain tag of case number commitments (unchanged: case numbers are only trimmed). */
export const CASE_NUMBER_TAG = "veritrace:case-number:v1";

/** A per-case secret key: 32 random bytes, hex. */
export function generateCaseKey(): Bytes32 {
  return hexlify(randomBytes(32)) as Bytes32;
}

function keyBytes(caseKey: string | Uint8Array): Uint8Array {
  if (typeof caseKey === "string") {
    if (!isHexString(caseKey, 32))
      throw new InputError("caseKey", "must be 32 bytes of hex (0x + 64 digits)");
    return getBytes(caseKey);
  }
  if (caseKey.length !== 32)
    throw new InputError("caseKey", `must be 32 bytes, got ${caseKey.length}`);
  return caseKey;
}

function hmac(caseKey: string | Uint8Array, message: string): Bytes32 {
  const mac = createHmac("sha256", keyBytes(caseKey)).update(message, "utf8").digest();
  return hexlify(mac) as Bytes32;
}

/** The keyed commitment of a query subject (what goes on chain instead of the identifier). */
export function commitSubject(
  type: IdentifierType,
  identifier: string,
  caseKey: string | Uint8Array,
  options: NormalizeOptions = {},
): Bytes32 {
  return commitNormalizedSubject(type, normalizeIdentifier(type, identifier, options), caseKey);
}

/** The keyed commitment of an identifier already normalized (as in the test vectors). */
export function commitNormalizedSubject(
  type: IdentifierType,
  normalized: string,
  caseKey: string | Uint8Array,
): Bytes32 {
  return hmac(caseKey, `${SUBJECT_TAG}:${type}:${normalized}`);
}

/** The keyed commitment of an internal case number (trimmed, case-sensitive). */
export function commitCaseNumber(caseNumber: string, caseKey: string | Uint8Array): Bytes32 {
  const s = caseNumber.trim();
  if (s.length === 0) throw new InputError("caseNumber", "is empty");
  return hmac(caseKey, `${CASE_NUMBER_TAG}:${s}`);
}

/** keccak256 of a document or payload (bytes, or a string taken as UTF-8). */
export function hashDocument(content: Uint8Array | string): Bytes32 {
  return keccak256(typeof content === "string" ? toUtf8Bytes(content) : content) as Bytes32;
}

// ------------------------------------------------------------------ freeze lists

/**
 * The key of one freeze list: HMAC-SHA256(caseKey, "veritrace:freeze-list-key:v1:" + nonce), the
 * nonce in lower-case 0x hex. The police hands this key (never the case key) to the exchange with
 * the list; whoever holds the case key re-derives it from the nonce written in the list.
 */
export function freezeListKey(caseKey: string | Uint8Array, nonce: string): Bytes32 {
  if (!isHexString(nonce, 32)) throw new InputError("nonce", "must be 32 bytes of hex");
  return hmac(caseKey, `veritrace:freeze-list-key:v1:${nonce.toLowerCase()}`);
}

/** One account of a freeze request: where, which token, and the amount asked (base units). */
export interface FreezeItem {
  /** The chain of the account. */
  chainId: bigint;
  /** The token's address on that chain; the zero address for the chain's native coin. */
  token: string;
  account: string;
  amount: bigint;
}

/** One item of an exchange's answer: the item asked and the amount frozen (0 if none). */
export interface FrozenItem {
  chainId: bigint;
  token: string;
  account: string;
  requested: bigint;
  frozen: bigint;
}

const lower = (address: string): string => address.toLowerCase();

/**
 * The keyed commitment of a requested item: HMAC-SHA256(listKey, "veritrace:freeze-item:v1:" +
 * chainId + ":" + token + ":" + account + ":" + amount), integers in decimal, addresses in lower-case
 * 0x hex (the zero address for a native coin).
 */
export function commitFreezeItem(listKey: string | Uint8Array, item: FreezeItem): Bytes32 {
  return hmac(
    listKey,
    `veritrace:freeze-item:v1:${item.chainId}:${lower(item.token)}:${lower(item.account)}:${item.amount}`,
  );
}

/**
 * The keyed commitment of an answered item: HMAC-SHA256(listKey, "veritrace:freeze-result:v1:" +
 * chainId + ":" + token + ":" + account + ":" + requested + ":" + frozen), encoded as in
 * {@link commitFreezeItem}.
 */
export function commitFrozenItem(listKey: string | Uint8Array, item: FrozenItem): Bytes32 {
  return hmac(
    listKey,
    `veritrace:freeze-result:v1:${item.chainId}:${lower(item.token)}:${lower(item.account)}:${item.requested}:${item.frozen}`,
  );
}
