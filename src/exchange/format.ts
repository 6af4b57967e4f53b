import { createHash } from "node:crypto";
import { getAddress } from "ethers";
import { VeritraceError } from "../shared/errors.js";

/**
 * The envelope's inner format, version 1 (docs/exchange.md, "The envelope"): what the age payload
 * decrypts to is a 320-byte binding header, then the plaintext. The header is ten 32-byte words,
 * the ABI encoding of (bytes32 magic, bytes32 salt, uint256 chainId, address accessLedger,
 * uint256 requestId, uint256 caseId, uint256 provider, uint256 requester, uint256 sequence,
 * uint256 recipientKeyId). The commitment the delivery attests (`payloadHash`) is
 * SHA-256(COMMITMENT_TAG ‖ header ‖ plaintext).
 */

/** Word 0 of every version-1 header: "veritrace/envelope/v1", zero-padded to 32 bytes. */
export const ENVELOPE_MAGIC = padWord("veritrace/envelope/v1");
/** The commitment's domain tag: "veritrace/payload-commitment/v1", zero-padded to 32 bytes. */
export const COMMITMENT_TAG = padWord("veritrace/payload-commitment/v1");
/** The header's length in bytes. */
export const HEADER_BYTES = 320;
/** The salt's length in bytes. */
export const SALT_BYTES = 32;

/** Which grant and delivery an envelope is for, and the key it was encrypted to. */
export interface EnvelopeBinding {
  /** The chain of the consortium's ledger. */
  chainId: bigint;
  /** The AccessLedger contract the grant is on (checksummed address). */
  accessLedger: string;
  requestId: bigint;
  caseId: bigint;
  /** The provider's participant id. */
  provider: number;
  /** The requester's participant id. */
  requester: number;
  /** The delivery's sequence under the request (the `sequence` of its attestation). */
  sequence: number;
  /** The requester's encryption key the envelope is encrypted to (EncryptionKeyRegistry id). */
  recipientKeyId: bigint;
}

/** The binding header's fields, in order, with the largest value each may take. */
const FIELDS = [
  ["chainId", 2n ** 256n - 1n],
  ["accessLedger", 2n ** 160n - 1n],
  ["requestId", 2n ** 256n - 1n],
  ["caseId", 2n ** 64n - 1n],
  ["provider", 2n ** 32n - 1n],
  ["requester", 2n ** 32n - 1n],
  ["sequence", 2n ** 32n - 1n],
  ["recipientKeyId", 2n ** 64n - 1n],
] as const;

type FieldName = (typeof FIELDS)[number][0];

/** An envelope whose contents are not what version 1 says they must be. */
export class EnvelopeFormatError extends VeritraceError {
  override name = "EnvelopeFormatError";
  constructor(message: string) {
    super(message, { kind: "invalid-input" });
  }
}

function padWord(text: string): Buffer {
  const word = Buffer.alloc(32);
  word.write(text, "ascii");
  return word;
}

function valueOf(binding: EnvelopeBinding, field: FieldName): bigint {
  const v = binding[field];
  return typeof v === "string" ? BigInt(getAddress(v)) : BigInt(v);
}

/** Checks a binding's values against their on-chain widths (one clear error naming the field). */
export function validateBinding(binding: EnvelopeBinding): EnvelopeBinding {
  for (const [field, max] of FIELDS) {
    let v: bigint;
    try {
      v = valueOf(binding, field);
    } catch {
      throw new EnvelopeFormatError(`binding.${field}: not a valid value`);
    }
    if (v < 0n || v > max)
      throw new EnvelopeFormatError(`binding.${field}: ${v} is outside [0, ${max}]`);
    if (v === 0n && field !== "sequence")
      throw new EnvelopeFormatError(`binding.${field}: must not be 0`);
  }
  return { ...binding, accessLedger: getAddress(binding.accessLedger) };
}

/** The 320-byte header of `binding` with `salt` (32 bytes). */
export function encodeHeader(binding: EnvelopeBinding, salt: Uint8Array): Buffer {
  if (salt.length !== SALT_BYTES)
    throw new EnvelopeFormatError(`salt: must be ${SALT_BYTES} bytes`);
  const b = validateBinding(binding);
  const out = Buffer.alloc(HEADER_BYTES);
  ENVELOPE_MAGIC.copy(out, 0);
  Buffer.from(salt).copy(out, 32);
  FIELDS.forEach(([field], i) => {
    const hex = valueOf(b, field).toString(16).padStart(64, "0");
    Buffer.from(hex, "hex").copy(out, 64 + 32 * i);
  });
  return out;
}

/** The binding and salt of a header; an {@link EnvelopeFormatError} if it is not version 1. */
export function decodeHeader(header: Uint8Array): { binding: EnvelopeBinding; salt: Buffer } {
  if (header.length < HEADER_BYTES) {
    throw new EnvelopeFormatError(
      `not a Veritrace envelope: the payload has ${header.length} bytes, fewer than the ${HEADER_BYTES}-byte header`,
    );
  }
  const h = Buffer.from(header.buffer, header.byteOffset, HEADER_BYTES);
  if (!h.subarray(0, 32).equals(ENVELOPE_MAGIC)) {
    const shown = h
      .subarray(0, 32)
      .toString("latin1")
      .replace(/[^\x20-\x7e]/g, ".");
    throw new EnvelopeFormatError(
      `not a Veritrace envelope of version 1: the header starts with "${shown}"`,
    );
  }
  const values = {} as Record<FieldName, bigint>;
  FIELDS.forEach(([field, max], i) => {
    const v = BigInt(`0x${h.subarray(64 + 32 * i, 96 + 32 * i).toString("hex")}`);
    if (v > max)
      throw new EnvelopeFormatError(`malformed envelope header: ${field} is ${v}, above ${max}`);
    values[field] = v;
  });
  return {
    salt: Buffer.from(h.subarray(32, 64)),
    binding: {
      chainId: values.chainId,
      accessLedger: getAddress(`0x${values.accessLedger.toString(16).padStart(40, "0")}`),
      requestId: values.requestId,
      caseId: values.caseId,
      provider: Number(values.provider),
      requester: Number(values.requester),
      sequence: Number(values.sequence),
      recipientKeyId: values.recipientKeyId,
    },
  };
}

/**
 * The fields where `actual` differs from `expected`, as "name actual (expected …)" phrases; the
 * recipient key is compared only when `expected` names one.
 */
export function bindingDifferences(
  actual: EnvelopeBinding,
  expected: Omit<EnvelopeBinding, "recipientKeyId"> & { recipientKeyId?: bigint },
): string[] {
  const out: string[] = [];
  for (const [field] of FIELDS) {
    if (field === "recipientKeyId" && expected.recipientKeyId === undefined) continue;
    const a = valueOf(actual, field);
    const e = valueOf(expected as EnvelopeBinding, field);
    if (a !== e) {
      const show = (v: bigint) =>
        field === "accessLedger" ? getAddress(`0x${v.toString(16).padStart(40, "0")}`) : `${v}`;
      out.push(`${field} ${show(a)} (expected ${show(e)})`);
    }
  }
  return out;
}

/** A running commitment: SHA-256(COMMITMENT_TAG ‖ header ‖ plaintext), fed as the bytes arrive. */
export function commitmentHasher() {
  return createHash("sha256").update(COMMITMENT_TAG);
}

/** The commitment of a whole payload in memory (tests, vectors, small deliveries). */
export function payloadCommitment(header: Uint8Array, plaintext: Uint8Array): `0x${string}` {
  return `0x${commitmentHasher().update(header).update(plaintext).digest("hex")}`;
}
