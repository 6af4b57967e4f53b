import { createHmac, randomBytes } from "node:crypto";
import { getBytes, hexlify, isHexString, keccak256, toUtf8Bytes } from "ethers";
import { InputError } from "./errors.js";
import type { Bytes32 } from "./validate.js";

/**
 * Keyed commitments: identifiers never go on chain. A subject is committed as
 * HMAC-SHA256(caseKey, "veritrace:subject:v1:" + type + ":" + normalized identifier), where the
 * 32-byte case key is held off-chain by the case's parties. Whoever holds the key and the
 * identifier can show that a commitment matches; nobody reading the chain can test guesses.
 */

/** Kinds of identifiers the client knows how to normalize. */
export type IdentifierType = "phone" | "bankAccount" | "nationalId";

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

/**
 * Normalizes a phone number to E.164 ("+" and 8 to 15 digits, no leading zero).
 * Accepts spaces, dashes, dots, parentheses and a "00" international prefix. A national number
 * (leading trunk "0") needs `defaultCountryCode` (digits, e.g. "49").
 */
export function normalizePhone(input: string, defaultCountryCode?: string): string {
  let s = input.trim().replace(/[\s\-.()/]/g, "");
  if (s.startsWith("00")) s = `+${s.slice(2)}`;
  if (!s.startsWith("+")) {
    if (defaultCountryCode === undefined || !/^[1-9]\d{0,2}$/.test(defaultCountryCode)) {
      throw new InputError(
        "phone",
        `${JSON.stringify(input)} has no country code (E.164 needs "+")`,
      );
    }
    s = `+${defaultCountryCode}${s.replace(/^0/, "")}`;
  }
  if (!/^\+[1-9]\d{7,14}$/.test(s)) {
    throw new InputError("phone", `${JSON.stringify(input)} is not an E.164 number`);
  }
  return s;
}

/** Whether `iban` (normalized) passes the ISO 13616 mod-97 check. */
function ibanChecksumOk(iban: string): boolean {
  const rearranged = iban.slice(4) + iban.slice(0, 4);
  let remainder = 0;
  for (const ch of rearranged) {
    const digits = /[A-Z]/.test(ch) ? String(ch.charCodeAt(0) - 55) : ch;
    for (const d of digits) remainder = (remainder * 10 + Number(d)) % 97;
  }
  return remainder === 1;
}

/**
 * Normalizes a bank account number: upper case, without spaces or dashes. An IBAN (two letters,
 * two digits, up to 30 letters or digits) must pass its mod-97 check; any other account number
 * must be 4 to 34 letters or digits.
 */
export function normalizeBankAccount(input: string): string {
  const s = input
    .trim()
    .toUpperCase()
    .replace(/[\s\-.]/g, "");
  if (/^[A-Z]{2}\d{2}/.test(s)) {
    if (!/^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$/.test(s) || !ibanChecksumOk(s)) {
      throw new InputError("bankAccount", `${JSON.stringify(input)} is not a valid IBAN`);
    }
    return s;
  }
  if (!/^[A-Z0-9]{4,34}$/.test(s)) {
    throw new InputError("bankAccount", `${JSON.stringify(input)} is not an account number`);
  }
  return s;
}

/** Normalizes a national ID number: upper case, without spaces, dashes, dots or slashes; 4 to 32 letters or digits. */
export function normalizeNationalId(input: string): string {
  const s = input
    .trim()
    .toUpperCase()
    .replace(/[\s\-./]/g, "");
  if (!/^[A-Z0-9]{4,32}$/.test(s)) {
    throw new InputError("nationalId", `${JSON.stringify(input)} is not an ID number`);
  }
  return s;
}

/** Normalizes an identifier of the given type. */
export function normalizeIdentifier(
  type: IdentifierType,
  identifier: string,
  options: { defaultCountryCode?: string } = {},
): string {
  switch (type) {
    case "phone":
      return normalizePhone(identifier, options.defaultCountryCode);
    case "bankAccount":
      return normalizeBankAccount(identifier);
    case "nationalId":
      return normalizeNationalId(identifier);
  }
}

/** The keyed commitment of a query subject (what goes on chain instead of the identifier). */
export function commitSubject(
  type: IdentifierType,
  identifier: string,
  caseKey: string | Uint8Array,
  options: { defaultCountryCode?: string } = {},
): Bytes32 {
  const normalized = normalizeIdentifier(type, identifier, options);
  return hmac(caseKey, `veritrace:subject:v1:${type}:${normalized}`);
}

/** The keyed commitment of an internal case number (trimmed, case-sensitive). */
export function commitCaseNumber(caseNumber: string, caseKey: string | Uint8Array): Bytes32 {
  const s = caseNumber.trim();
  if (s.length === 0) throw new InputError("caseNumber", "is empty");
  return hmac(caseKey, `veritrace:case-number:v1:${s}`);
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
