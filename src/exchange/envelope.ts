import { randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { open, rename, rm } from "node:fs/promises";
import path from "node:path";
import type { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { ageRecipient, requireEncryptionPublicKey } from "../client/age-keys.js";
import { VeritraceError } from "../shared/errors.js";
import { AgeStreamError, ageDecrypt, ageEncrypt, type AgeFailure } from "./age-stream.js";
import {
  bindingDifferences,
  COMMITMENT_TAG,
  decodeHeader,
  encodeHeader,
  EnvelopeFormatError,
  HEADER_BYTES,
  SALT_BYTES,
  type EnvelopeBinding,
} from "./format.js";
import { StreamHash } from "./stream-hash.js";

/**
 * The delivery envelope (docs/exchange.md): the export, behind a header that binds it to one
 * grant and delivery, encrypted with age to the requester's registered X25519 key. Sealing and
 * opening stream: a multi-gigabyte export passes through one 64 KiB chunk at a time. Both compute
 * the plaintext commitment (the delivery's `payloadHash`) and the ciphertext's SHA-256 as the
 * bytes pass.
 */

export type { EnvelopeBinding } from "./format.js";

/** Bytes to seal or open: a file's read stream, a child's stdout, a response body, an array. */
export type ByteSource = AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

/** Every reason an envelope is refused, each with its one-line message. */
export type EnvelopeFailure =
  AgeFailure | "not-an-envelope" | "wrong-grant" | "commitment-mismatch" | "ciphertext-mismatch";

/** An envelope was refused: `reason` says which check failed, the message says how, in one line. */
export class EnvelopeError extends VeritraceError {
  override name = "EnvelopeError";
  constructor(
    readonly reason: EnvelopeFailure,
    message: string,
  ) {
    super(message, { kind: "verification-failed" });
  }
}

/** What sealing produced: the figures the provider signs and serves. */
export interface SealedEnvelope {
  /** The delivery's `payloadHash`: SHA-256(tag ‖ header ‖ plaintext), 0x-hex. */
  commitment: `0x${string}`;
  /** SHA-256 of the whole age file, 0x-hex. */
  ciphertextHash: `0x${string}`;
  /** The salt in the header (it stays inside the envelope; returned for the provider's records). */
  salt: `0x${string}`;
  plaintextBytes: number;
  ciphertextBytes: number;
}

/** What opening verified. */
export interface OpenedEnvelope {
  binding: EnvelopeBinding;
  commitment: `0x${string}`;
  ciphertextHash: `0x${string}`;
  salt: `0x${string}`;
  plaintextBytes: number;
  ciphertextBytes: number;
}

/** What the requester expects of an envelope: the grant and delivery, and the attested figures. */
export interface EnvelopeExpectation {
  /** The grant and delivery; the recipient key is checked only when given. */
  binding: Omit<EnvelopeBinding, "recipientKeyId"> & { recipientKeyId?: bigint };
  /** The `payloadHash` the provider signed, if known. */
  commitment?: string;
  /** The ciphertext hash the provider announced, if known. */
  ciphertextHash?: string;
}

/** Options of {@link sealEnvelope}. */
export interface SealOptions {
  /** The requester's X25519 public key: 0x-hex as registered, or `age1…`. */
  recipient: string;
  binding: EnvelopeBinding;
  /** The salt; random unless given (test vectors only: a salt must never repeat). */
  salt?: Uint8Array;
}

/** Bytes per read of an envelope file: 16 chunks a read, few copies (the Reader joins at the seams). */
export const READ_BYTES = 1024 * 1024;

const hex = (b: Buffer): `0x${string}` => `0x${b.toString("hex")}`;

/**
 * Encrypts `source` into an envelope written to `output`. Returns once `output` finished.
 * `source` is any byte stream: a file's read stream, a handler's stdout.
 */
export async function sealEnvelope(
  source: ByteSource,
  output: Writable,
  options: SealOptions,
): Promise<SealedEnvelope> {
  // Hex or age1…, checked here: a bad key is an input error, not a failure halfway through.
  const recipient = ageRecipient(requireEncryptionPublicKey("recipient", options.recipient));
  const salt = Buffer.from(options.salt ?? randomBytes(SALT_BYTES));
  const header = encodeHeader(options.binding, salt);
  // Both hashes run on a worker thread once the export is long (stream-hash.ts), beside the
  // cipher on this one.
  const commitment = new StreamHash();
  const ciphertext = new StreamHash();
  let plaintextBytes = 0;
  let ciphertextBytes = 0;

  async function* plaintext(): AsyncGenerator<Uint8Array> {
    await commitment.update(COMMITMENT_TAG);
    await commitment.update(header);
    yield header;
    for await (const piece of source) {
      await commitment.update(piece);
      plaintextBytes += piece.length;
      yield piece;
    }
  }
  async function* counted(chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    for await (const c of chunks) {
      await ciphertext.update(c);
      ciphertextBytes += c.length;
      yield c;
    }
  }
  try {
    await pipeline(counted(ageEncrypt(recipient, plaintext())), output);
    return {
      commitment: hex(await commitment.digest()),
      ciphertextHash: hex(await ciphertext.digest()),
      salt: hex(salt),
      plaintextBytes,
      ciphertextBytes,
    };
  } finally {
    commitment.dispose();
    ciphertext.dispose();
  }
}

/**
 * Decrypts an envelope from `source`, writing the plaintext (without the header) to `output`, and
 * checks, in this order: the age header is for one of `identities` and for nobody else, each
 * chunk authenticates in its place, the header binds the expected grant and delivery (before any
 * plaintext is written), the file ends with its final chunk, the commitment and the ciphertext hash
 * are the expected ones. Throws one {@link EnvelopeError} naming the first check that failed.
 *
 * Plaintext reaches `output` before the end is verified: use {@link openEnvelopeFile}, which
 * leaves nothing behind on a failure, unless the caller discards `output` itself on an error.
 */
export async function openEnvelope(
  source: ByteSource,
  output: Writable,
  identities: readonly string[],
  expected: EnvelopeExpectation,
): Promise<OpenedEnvelope> {
  if (identities.length === 0) throw new EnvelopeFormatError("identities: at least one is needed");
  identities.forEach((id, i) => {
    if (!/^AGE-SECRET-KEY-1[0-9A-Z]+$/.test(id))
      throw new EnvelopeFormatError(
        `identities[${i}]: not an age X25519 identity (AGE-SECRET-KEY-1…)`,
      );
  });
  const ciphertext = new StreamHash();
  const commitment = new StreamHash();
  let ciphertextBytes = 0;
  let plaintextBytes = 0;
  let opened: { binding: EnvelopeBinding; salt: Buffer } | undefined;

  async function* counted(): AsyncGenerator<Uint8Array> {
    for await (const piece of source) {
      await ciphertext.update(piece);
      ciphertextBytes += piece.length;
      yield piece;
    }
  }
  async function* plaintext(): AsyncGenerator<Buffer> {
    await commitment.update(COMMITMENT_TAG);
    let head = Buffer.alloc(0);
    for await (const chunk of ageDecrypt(identities, counted())) {
      await commitment.update(chunk);
      if (opened !== undefined) {
        plaintextBytes += chunk.length;
        yield chunk;
        continue;
      }
      head = Buffer.concat([head, chunk]);
      if (head.length < HEADER_BYTES) continue;
      opened = checkedHeader(head, expected);
      const rest = head.subarray(HEADER_BYTES);
      plaintextBytes += rest.length;
      if (rest.length > 0) yield rest;
    }
    // A payload shorter than the header ended the loop before the header was read.
    if (opened === undefined) opened = checkedHeader(head, expected);
  }

  let digests: [Buffer, Buffer];
  try {
    await pipeline(plaintext(), output);
    digests = [await commitment.digest(), await ciphertext.digest()];
  } catch (e) {
    throw asEnvelopeError(e);
  } finally {
    commitment.dispose();
    ciphertext.dispose();
  }
  const result: OpenedEnvelope = {
    binding: (opened as { binding: EnvelopeBinding }).binding,
    salt: hex((opened as { salt: Buffer }).salt),
    commitment: hex(digests[0]),
    ciphertextHash: hex(digests[1]),
    plaintextBytes,
    ciphertextBytes,
  };
  if (
    expected.commitment !== undefined &&
    expected.commitment.toLowerCase() !== result.commitment
  ) {
    throw new EnvelopeError(
      "commitment-mismatch",
      `commitment mismatch: the plaintext commits to ${result.commitment}, the delivery attests ${expected.commitment.toLowerCase()}`,
    );
  }
  if (
    expected.ciphertextHash !== undefined &&
    expected.ciphertextHash.toLowerCase() !== result.ciphertextHash
  ) {
    throw new EnvelopeError(
      "ciphertext-mismatch",
      `ciphertext hash mismatch: the file hashes to ${result.ciphertextHash}, ${expected.ciphertextHash.toLowerCase()} was announced`,
    );
  }
  return result;
}

function checkedHeader(
  head: Buffer,
  expected: EnvelopeExpectation,
): { binding: EnvelopeBinding; salt: Buffer } {
  let decoded: { binding: EnvelopeBinding; salt: Buffer };
  try {
    decoded = decodeHeader(head);
  } catch (e) {
    if (e instanceof EnvelopeFormatError) throw new EnvelopeError("not-an-envelope", e.message);
    throw e;
  }
  const diff = bindingDifferences(decoded.binding, expected.binding);
  if (diff.length > 0) {
    throw new EnvelopeError(
      "wrong-grant",
      `the envelope is bound to another grant: ${diff.join(", ")}`,
    );
  }
  return decoded;
}

function asEnvelopeError(e: unknown): unknown {
  if (e instanceof EnvelopeError) return e;
  if (e instanceof AgeStreamError) return new EnvelopeError(e.reason, e.message);
  return e;
}

/** {@link sealEnvelope} from a file to a file; the output appears whole or not at all. */
export async function sealEnvelopeFile(
  input: string,
  output: string,
  options: SealOptions,
): Promise<SealedEnvelope> {
  return writeAtomically(output, (out) =>
    sealEnvelope(createReadStream(input, { highWaterMark: READ_BYTES }), out, options),
  );
}

/**
 * {@link openEnvelope} from a file to a file. The plaintext is written to a temporary file beside
 * `output` and renamed to `output` only once every check passed; on any failure nothing is left.
 */
export async function openEnvelopeFile(
  input: string,
  output: string,
  identities: readonly string[],
  expected: EnvelopeExpectation,
): Promise<OpenedEnvelope> {
  return writeAtomically(output, (out) =>
    openEnvelope(createReadStream(input, { highWaterMark: READ_BYTES }), out, identities, expected),
  );
}

/** Runs `write` into a fresh temporary file beside `file`, flushed to disk, then renames it to `file`. */
async function writeAtomically<T>(file: string, write: (out: Writable) => Promise<T>): Promise<T> {
  const tmp = path.join(
    path.dirname(file),
    `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString("hex")}.partial`,
  );
  // Created exclusively and private: the plaintext is for the requester only. The stream owns the
  // handle: it syncs it (flush) and closes it when it finishes or is destroyed.
  const handle = await open(tmp, "wx", 0o600);
  try {
    const result = await write(handle.createWriteStream({ flush: true }));
    await rename(tmp, file);
    return result;
  } catch (e) {
    await handle.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw e;
  }
}
