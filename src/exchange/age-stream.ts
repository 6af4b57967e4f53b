import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";
import { Decrypter, Encrypter } from "age-encryption";

/**
 * The age v1 file format (https://age-encryption.org/v1) as the envelope uses it: the header
 * (recipient stanzas and their MAC) is written and read by the `age-encryption` package, the
 * reference TypeScript implementation; the payload's STREAM (ChaCha20-Poly1305 over 64 KiB
 * chunks) runs here on Node's OpenSSL, about five times faster than the package's pure-JS cipher,
 * and chunk by chunk, so that a failure names the chunk and what happened to it.
 */

/** Plaintext bytes per STREAM chunk (age: 64 KiB). */
export const CHUNK_BYTES = 64 * 1024;
/** Poly1305 tag bytes after each chunk. */
export const TAG_BYTES = 16;
/** Ciphertext bytes of a full chunk. */
export const CHUNK_CIPHERTEXT_BYTES = CHUNK_BYTES + TAG_BYTES;
/** The payload nonce after the header. */
export const NONCE_BYTES = 16;
/** The largest age header read: one X25519 stanza takes about 200 bytes. */
const MAX_AGE_HEADER_BYTES = 16 * 1024;
/** How far around a chunk that fails to find where it belongs (a failure only, so cheap enough). */
const SEARCH_RADIUS = 64;

/** Why an age file could not be decrypted, in the envelope's words. */
export type AgeFailure =
  | "not-age"
  | "wrong-recipient"
  | "extra-recipients"
  | "header-tampered"
  | "tampered-chunk"
  | "misplaced-chunk"
  | "truncated"
  | "trailing-data";

/** A failure of the age layer, with its one-line reason. */
export class AgeStreamError extends Error {
  constructor(
    readonly reason: AgeFailure,
    message: string,
  ) {
    super(message);
  }
}

/** The ChaCha20-Poly1305 nonce of chunk `index`: 11-byte big-endian counter, then the last flag. */
function chunkNonce(index: number, last: boolean): Buffer {
  const nonce = Buffer.alloc(12);
  // Index < 2^53: a file of 2^53 chunks (512 EiB) is not a concern; bytes 0-3 stay zero.
  nonce.writeUIntBE(index, 5, 6);
  nonce[11] = last ? 1 : 0;
  return nonce;
}

/** A sealed chunk: its ciphertext, then its tag (two buffers, so that neither is copied). */
function sealChunk(key: Buffer, index: number, last: boolean, plaintext: Uint8Array): Buffer[] {
  const c = createCipheriv("chacha20-poly1305", key, chunkNonce(index, last), {
    authTagLength: TAG_BYTES,
  });
  const head = c.update(plaintext);
  // A stream cipher: final() adds no bytes, only the tag.
  const tail = c.final();
  return tail.length === 0 ? [head, c.getAuthTag()] : [head, tail, c.getAuthTag()];
}

/** The plaintext of a chunk, or null when it does not authenticate as chunk `index`. */
function openChunk(key: Buffer, index: number, last: boolean, ciphertext: Buffer): Buffer | null {
  if (ciphertext.length < TAG_BYTES) return null;
  const d = createDecipheriv("chacha20-poly1305", key, chunkNonce(index, last), {
    authTagLength: TAG_BYTES,
  });
  d.setAuthTag(ciphertext.subarray(ciphertext.length - TAG_BYTES));
  try {
    const head = d.update(ciphertext.subarray(0, ciphertext.length - TAG_BYTES));
    const tail = d.final();
    return tail.length === 0 ? head : Buffer.concat([head, tail]);
  } catch {
    return null;
  }
}

function payloadKey(fileKey: Uint8Array, nonce: Uint8Array): Buffer {
  return Buffer.from(hkdfSync("sha256", fileKey, nonce, "payload", 32));
}

/** The end of an age header in `buf` (the byte after the MAC line's newline), or -1 if not yet. */
function headerEnd(buf: Buffer): number {
  // Stanza lines start with "-> " and their bodies are base64: the first "\n--- " is the MAC line.
  const line = buf.indexOf("\n--- ", 0, "latin1");
  if (line < 0) return -1;
  const end = buf.indexOf("\n", line + 1);
  return end < 0 ? -1 : end + 1;
}

/** The age header and file key of a new file to `recipient` (an `age1…` string). */
export async function newAgeHeader(
  recipient: string,
): Promise<{ header: Buffer; fileKey: Buffer }> {
  let fileKey: Buffer | undefined;
  const e = new Encrypter();
  e.addRecipient(recipient);
  // A recipient that writes no stanza and keeps the file key, so the payload can be encrypted
  // here; the header, its stanza and its MAC are the package's.
  e.addRecipient({
    wrapFileKey(key: Uint8Array) {
      fileKey = Buffer.from(key);
      return [];
    },
  });
  const sample = Buffer.from(await e.encrypt(new Uint8Array(0)));
  const end = headerEnd(sample);
  if (fileKey === undefined || end < 0) throw new Error("age-encryption wrote no header");
  return { header: sample.subarray(0, end), fileKey };
}

/**
 * Encrypts `source` into an age payload: yields the header, the nonce, then each chunk as soon as
 * the next byte shows it is not the last. Memory: one chunk.
 */
export async function* ageEncrypt(
  recipient: string,
  source: AsyncIterable<Uint8Array>,
): AsyncGenerator<Buffer> {
  const { header, fileKey } = await newAgeHeader(recipient);
  const nonce = randomBytes(NONCE_BYTES);
  const key = payloadKey(fileKey, nonce);
  yield Buffer.concat([header, nonce]);
  let chunk = Buffer.allocUnsafe(CHUNK_BYTES);
  let used = 0;
  let index = 0;
  for await (const piece of source) {
    let p = Buffer.from(piece.buffer, piece.byteOffset, piece.length);
    while (p.length > 0) {
      if (used === CHUNK_BYTES) {
        yield* sealChunk(key, index++, false, chunk);
        chunk = Buffer.allocUnsafe(CHUNK_BYTES);
        used = 0;
      }
      const n = Math.min(CHUNK_BYTES - used, p.length);
      p.copy(chunk, used, 0, n);
      used += n;
      p = p.subarray(n);
    }
  }
  yield* sealChunk(key, index, true, chunk.subarray(0, used));
}

/**
 * Bytes from an async iterator, buffered as pieces and joined only where a read crosses from one
 * piece into the next, so that a chunk inside a piece is read without being copied.
 */
class Reader {
  private pieces: Buffer[] = [];
  /** Buffered bytes. */
  length = 0;
  constructor(private readonly it: AsyncIterator<Uint8Array>) {}
  /** The buffered bytes, joined (the header only: they are copied when in several pieces). */
  peek(): Buffer {
    if (this.pieces.length > 1) this.pieces = [Buffer.concat(this.pieces, this.length)];
    return this.pieces[0] ?? Buffer.alloc(0);
  }
  /** Reads one more piece; false at the end of the input. */
  async more(): Promise<boolean> {
    const r = await this.it.next();
    if (r.done === true) return false;
    const v = r.value;
    this.pieces.push(Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.length));
    this.length += v.length;
    return true;
  }
  /** The first `n` buffered bytes (`n` ≤ {@link length}): a view when they lie in one piece. */
  take(n: number): Buffer {
    this.length -= n;
    const first = this.pieces[0];
    if (first !== undefined && first.length >= n) {
      if (first.length === n) this.pieces.shift();
      else this.pieces[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    for (let at = 0; at < n;) {
      const p = this.pieces[0] as Buffer;
      const k = Math.min(p.length, n - at);
      p.copy(out, at, 0, k);
      at += k;
      if (k === p.length) this.pieces.shift();
      else this.pieces[0] = p.subarray(k);
    }
    return out;
  }
}

/**
 * Decrypts an age file with `identities` (`AGE-SECRET-KEY-1…`): yields the plaintext chunk by
 * chunk, each only after it authenticated; throws an {@link AgeStreamError} naming the reason.
 * The file must have exactly one recipient stanza: an envelope encrypted to anyone besides the
 * requester is refused. Memory: about two chunks.
 */
export async function* ageDecrypt(
  identities: readonly string[],
  source: AsyncIterable<Uint8Array>,
): AsyncGenerator<Buffer> {
  const r = new Reader(source[Symbol.asyncIterator]());
  let end = -1;
  while ((end = headerEnd(r.peek())) < 0) {
    if (r.length > MAX_AGE_HEADER_BYTES || !(await r.more())) {
      throw new AgeStreamError(
        "not-age",
        r.length === 0 ? "the file is empty" : "not an age file: no header found",
      );
    }
  }
  const header = Buffer.from(r.take(end));
  if (!header.subarray(0, 22).equals(Buffer.from("age-encryption.org/v1\n"))) {
    throw new AgeStreamError(
      "not-age",
      "not an age file: it does not begin with age-encryption.org/v1",
    );
  }
  const decrypter = new Decrypter();
  for (const identity of identities) decrypter.addIdentity(identity);
  let fileKey: Uint8Array;
  try {
    fileKey = await decrypter.decryptHeader(header);
  } catch (e) {
    const m = (e as Error).message;
    if (/no identity matched/.test(m)) {
      throw new AgeStreamError(
        "wrong-recipient",
        "wrong recipient: the envelope is not encrypted to any of the given identities",
      );
    }
    if (/header HMAC/.test(m)) {
      throw new AgeStreamError(
        "header-tampered",
        "the age header was modified: its MAC does not match",
      );
    }
    throw new AgeStreamError("not-age", `malformed age header: ${m}`);
  }
  const stanzas = header
    .toString("latin1")
    .split("\n")
    .filter((l) => l.startsWith("-> ")).length;
  if (stanzas !== 1) {
    throw new AgeStreamError(
      "extra-recipients",
      `the envelope is encrypted to ${stanzas} recipients; only the requester's key may read it`,
    );
  }
  while (r.length < NONCE_BYTES && (await r.more()));
  if (r.length < NONCE_BYTES) {
    throw new AgeStreamError("truncated", "truncated: the file ends inside the payload nonce");
  }
  const key = payloadKey(fileKey, r.take(NONCE_BYTES));

  for (let index = 0; ; index++) {
    // A full chunk is the last one only if nothing follows it: read one byte past it to know.
    while (r.length <= CHUNK_CIPHERTEXT_BYTES && (await r.more()));
    const last = r.length <= CHUNK_CIPHERTEXT_BYTES;
    const ciphertext = r.take(Math.min(CHUNK_CIPHERTEXT_BYTES, r.length));
    if (last && ciphertext.length === 0) {
      throw new AgeStreamError(
        "truncated",
        index === 0
          ? "truncated: the file ends after the payload nonce"
          : `truncated: the file ends after chunk ${index - 1}, which is not the final chunk`,
      );
    }
    const plaintext = openChunk(key, index, last, ciphertext);
    if (plaintext === null) throw diagnose(key, index, last, ciphertext);
    if (last && plaintext.length === 0 && index > 0) {
      throw new AgeStreamError(
        "not-age",
        "malformed age payload: an empty final chunk after full ones",
      );
    }
    yield plaintext;
    if (last) return;
  }
}

/** Why chunk `index` (`last`: nothing follows it) did not authenticate. */
function diagnose(key: Buffer, index: number, last: boolean, ciphertext: Buffer): AgeStreamError {
  if (last && openChunk(key, index, false, ciphertext) !== null) {
    return new AgeStreamError(
      "truncated",
      `truncated: the file ends after chunk ${index}, which is not the final chunk`,
    );
  }
  if (!last && openChunk(key, index, true, ciphertext) !== null) {
    return new AgeStreamError(
      "trailing-data",
      `data after the final chunk: chunk ${index} is the last one, yet more bytes follow it`,
    );
  }
  const from = Math.max(0, index - SEARCH_RADIUS);
  for (let j = from; j <= index + SEARCH_RADIUS; j++) {
    if (j === index) continue;
    if (
      openChunk(key, j, false, ciphertext) !== null ||
      openChunk(key, j, true, ciphertext) !== null
    ) {
      return new AgeStreamError(
        "misplaced-chunk",
        `chunk ${index} is chunk ${j} of the file: chunks were dropped, reordered or repeated`,
      );
    }
  }
  return new AgeStreamError(
    "tampered-chunk",
    last && ciphertext.length < CHUNK_CIPHERTEXT_BYTES
      ? `chunk ${index}, the last, failed authentication: it was modified, or the file was cut inside it`
      : `chunk ${index} failed authentication: it was modified`,
  );
}
