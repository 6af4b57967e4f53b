import { generateX25519Identity, identityToRecipient } from "age-encryption";
import { hexlify, isHexString, ZeroHash } from "ethers";
import { InputError } from "./errors.js";
import type { Bytes32 } from "./validate.js";

/**
 * Encryption keys as the ledger holds them (32 raw bytes) and as age writes them: an X25519
 * recipient is the Bech32 encoding (BIP 173, human-readable part `age`) of the 32-byte public key,
 * `age1…`; an identity is the upper-case Bech32 encoding of the private key, `AGE-SECRET-KEY-1…`
 * (https://age-encryption.org/v1, "The X25519 recipient type").
 */

const CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
const GENERATOR = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];

function polymod(values: number[]): number {
  let chk = 1;
  for (const v of values) {
    const top = chk >>> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ v;
    for (let i = 0; i < 5; i++) if ((top >>> i) & 1) chk ^= GENERATOR[i] ?? 0;
  }
  return chk >>> 0;
}

function expandHrp(hrp: string): number[] {
  const out: number[] = [];
  for (const c of hrp) out.push(c.charCodeAt(0) >> 5);
  out.push(0);
  for (const c of hrp) out.push(c.charCodeAt(0) & 31);
  return out;
}

/** Regroups bits (8 → 5 to encode, 5 → 8 to decode); null when the padding is not canonical. */
function convertBits(
  data: ArrayLike<number>,
  from: number,
  to: number,
  pad: boolean,
): number[] | null {
  let acc = 0;
  let bits = 0;
  const out: number[] = [];
  const max = (1 << to) - 1;
  for (let i = 0; i < data.length; i++) {
    acc = (acc << from) | (data[i] ?? 0);
    bits += from;
    while (bits >= to) {
      bits -= to;
      out.push((acc >> bits) & max);
    }
  }
  if (pad) {
    if (bits > 0) out.push((acc << (to - bits)) & max);
  } else if (bits >= from || ((acc << (to - bits)) & max) !== 0) {
    return null;
  }
  return out;
}

/** Bech32 (BIP 173) of `bytes` under `hrp`, in lower case. */
export function bech32Encode(hrp: string, bytes: Uint8Array): string {
  const data = convertBits(bytes, 8, 5, true) ?? [];
  const checksum = polymod([...expandHrp(hrp), ...data, 0, 0, 0, 0, 0, 0]) ^ 1;
  const check = [0, 1, 2, 3, 4, 5].map((i) => (checksum >>> (5 * (5 - i))) & 31);
  return `${hrp}1${[...data, ...check].map((d) => CHARSET[d]).join("")}`;
}

/** The human-readable part and bytes of a Bech32 string, or null if it is not valid Bech32. */
export function bech32Decode(text: string): { hrp: string; bytes: Uint8Array } | null {
  // Either case, never mixed (BIP 173); age's identities are upper case, recipients lower case.
  if (text !== text.toLowerCase() && text !== text.toUpperCase()) return null;
  const s = text.toLowerCase();
  const sep = s.lastIndexOf("1");
  if (sep < 1 || sep + 7 > s.length) return null;
  const hrp = s.slice(0, sep);
  const data: number[] = [];
  for (const c of s.slice(sep + 1)) {
    const d = CHARSET.indexOf(c);
    if (d < 0) return null;
    data.push(d);
  }
  if (polymod([...expandHrp(hrp), ...data]) !== 1) return null;
  const bytes = convertBits(data.slice(0, -6), 5, 8, false);
  return bytes === null ? null : { hrp, bytes: Uint8Array.from(bytes) };
}

/** A 32-byte X25519 public key from its hex form (as the ledger holds it) or an `age1…` recipient. */
export function requireEncryptionPublicKey(field: string, value: string): Bytes32 {
  let key: string;
  if (value.startsWith("age1")) {
    key = publicKeyOfRecipient(value, field);
  } else if (isHexString(value, 32)) {
    key = value.toLowerCase();
  } else {
    throw new InputError(
      field,
      `not a 32-byte hex key nor an age1… recipient: ${JSON.stringify(value)}`,
    );
  }
  if (key === ZeroHash) throw new InputError(field, "the zero key is no X25519 public key");
  return key as Bytes32;
}

/** The age recipient string (`age1…`) of a 32-byte X25519 public key. */
export function ageRecipient(publicKey: string): string {
  const key = requireEncryptionPublicKey("publicKey", publicKey);
  return bech32Encode("age", Buffer.from(key.slice(2), "hex"));
}

/** The 32-byte public key (0x-hex) of an age X25519 recipient string (`age1…`). */
export function publicKeyOfRecipient(recipient: string, field = "recipient"): Bytes32 {
  const decoded = bech32Decode(recipient);
  if (decoded === null || decoded.hrp !== "age" || decoded.bytes.length !== 32) {
    throw new InputError(
      field,
      `not an age X25519 recipient (age1…): ${JSON.stringify(recipient)}`,
    );
  }
  return hexlify(decoded.bytes) as Bytes32;
}

/** The 32-byte public key (0x-hex) of an age X25519 identity (`AGE-SECRET-KEY-1…`). */
export async function publicKeyOfIdentity(identity: string): Promise<Bytes32> {
  if (!identity.startsWith("AGE-SECRET-KEY-1")) {
    throw new InputError("identity", "not an age X25519 identity (AGE-SECRET-KEY-1…)");
  }
  let recipient: string;
  try {
    recipient = await identityToRecipient(identity);
  } catch {
    throw new InputError("identity", "not a valid age X25519 identity");
  }
  return publicKeyOfRecipient(recipient, "identity");
}

/** A new X25519 identity: the private key (`AGE-SECRET-KEY-1…`, keep it secret) and its public key. */
export async function generateEncryptionIdentity(): Promise<{
  identity: string;
  publicKey: Bytes32;
}> {
  const identity = await generateX25519Identity();
  return { identity, publicKey: await publicKeyOfIdentity(identity) };
}
