import { expect } from "chai";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { PassThrough, Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { Decrypter, Encrypter } from "age-encryption";
import { ageRecipient, generateEncryptionIdentity } from "../../src/client/age-keys.js";
import { CHUNK_BYTES, CHUNK_CIPHERTEXT_BYTES, NONCE_BYTES } from "../../src/exchange/age-stream.js";
import {
  EnvelopeError,
  openEnvelope,
  openEnvelopeFile,
  sealEnvelope,
  sealEnvelopeFile,
  type EnvelopeBinding,
  type EnvelopeExpectation,
  type EnvelopeFailure,
} from "../../src/exchange/envelope.js";
import { decodeHeader, encodeHeader, HEADER_BYTES } from "../../src/exchange/format.js";
import { type EnvelopeVectors } from "../../scripts/envelope-vectors.js";

const VECTORS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "vectors");
const vectors = JSON.parse(
  readFileSync(path.join(VECTORS, "envelope-v1.json"), "utf8"),
) as EnvelopeVectors;

const BINDING: EnvelopeBinding = {
  chainId: 31337n,
  accessLedger: "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0",
  requestId: 12n,
  caseId: 5n,
  provider: 6,
  requester: 4,
  sequence: 2,
  recipientKeyId: 9n,
};
const expectation: EnvelopeExpectation = { binding: BINDING };

/** The documented commitment, computed here from the spec's words rather than the code's helpers. */
function specCommitment(header: Uint8Array, plaintext: Uint8Array): string {
  const tag = Buffer.alloc(32);
  tag.write("veritrace/payload-commitment/v1", "ascii");
  return `0x${createHash("sha256").update(tag).update(header).update(plaintext).digest("hex")}`;
}

/** A Writable that keeps what it is given. */
function sink(): { stream: Writable; bytes: () => Buffer } {
  const parts: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      parts.push(chunk);
      done();
    },
  });
  return { stream, bytes: () => Buffer.concat(parts) };
}

async function seal(plaintext: Uint8Array, recipient: string, binding = BINDING) {
  const out = sink();
  const sealed = await sealEnvelope([plaintext], out.stream, { recipient, binding });
  return { sealed, file: out.bytes() };
}

async function open(file: Uint8Array, identities: string[], expected = expectation) {
  const out = sink();
  const opened = await openEnvelope([file], out.stream, identities, expected);
  return { opened, plaintext: out.bytes() };
}

/** Expects `p` to be refused for `reason` with a one-line message matching `message`. */
async function expectRefused(
  p: Promise<unknown>,
  reason: EnvelopeFailure,
  message: RegExp,
): Promise<void> {
  try {
    await p;
  } catch (e) {
    expect(e, String(e)).to.be.instanceOf(EnvelopeError);
    const err = e as EnvelopeError;
    expect(err.reason, err.message).to.equal(reason);
    expect(err.message).to.match(message);
    expect(err.message).to.not.include("\n");
    expect(err.kind).to.equal("verification-failed");
    return;
  }
  expect.fail(`expected a refusal for ${reason}`);
}

/** Where each STREAM chunk of an age file starts: after the header line "--- …\n" and the nonce. */
function chunkOffsets(file: Buffer): { payload: number; chunks: number[] } {
  const mac = file.indexOf("\n--- ");
  const payload = file.indexOf("\n", mac + 1) + 1 + NONCE_BYTES;
  const chunks: number[] = [];
  for (let at = payload; at < file.length; at += CHUNK_CIPHERTEXT_BYTES) chunks.push(at);
  return { payload, chunks };
}

describe("exchange: the envelope's test vectors", function () {
  it("lays the header out as documented, and reads it back", function () {
    const b = vectors.binding;
    const binding: EnvelopeBinding = {
      chainId: BigInt(b["chainId"] as string),
      accessLedger: b["accessLedger"] as string,
      requestId: BigInt(b["requestId"] as string),
      caseId: BigInt(b["caseId"] as string),
      provider: b["provider"] as number,
      requester: b["requester"] as number,
      sequence: b["sequence"] as number,
      recipientKeyId: BigInt(b["recipientKeyId"] as string),
    };
    const salt = Buffer.from(vectors.salt.slice(2), "hex");
    const header = encodeHeader(binding, salt);
    expect(`0x${header.toString("hex")}`).to.equal(vectors.header);
    expect(header.length).to.equal(HEADER_BYTES);
    expect(header.subarray(0, 32).toString("ascii").replace(/\0+$/, "")).to.equal(
      "veritrace/envelope/v1",
    );
    expect(`0x${header.subarray(0, 32).toString("hex")}`).to.equal(vectors.magic);
    const decoded = decodeHeader(header);
    expect(decoded.binding).to.deep.equal(binding);
    expect(`0x${decoded.salt.toString("hex")}`).to.equal(vectors.salt);
  });

  it("commits as SHA-256(tag ‖ header ‖ plaintext) for every vector", function () {
    const header = Buffer.from(vectors.header.slice(2), "hex");
    const long = Uint8Array.from({ length: 70_000 }, (_, i) => i % 251);
    const inputs: Record<string, Uint8Array> = {
      csv: new TextEncoder().encode(vectors.commitments[0]?.plaintext),
      empty: new Uint8Array(0),
      long,
    };
    for (const v of vectors.commitments) {
      const plaintext = inputs[v.name];
      if (plaintext === undefined) expect.fail(`no input for ${v.name}`);
      expect(specCommitment(header, plaintext), v.name).to.equal(v.commitment);
    }
  });

  it("decrypts the checked-in ciphertext with the vector identity to the known plaintext and commitment", async function () {
    const file = readFileSync(path.join(VECTORS, vectors.ciphertext.file));
    expect(`0x${createHash("sha256").update(file).digest("hex")}`).to.equal(
      vectors.ciphertext.sha256,
    );
    const header = Buffer.from(vectors.header.slice(2), "hex");
    const { binding } = decodeHeader(header);
    const { opened, plaintext } = await open(file, [vectors.identity], {
      binding,
      commitment: vectors.ciphertext.commitment,
      ciphertextHash: vectors.ciphertext.sha256,
    });
    expect(plaintext.toString("utf8")).to.equal(vectors.ciphertext.plaintext);
    expect(opened.commitment).to.equal(vectors.ciphertext.commitment);
    expect(opened.salt).to.equal(vectors.salt);
    // The reference implementation reads it as any age file: the header, then the plaintext.
    const d = new Decrypter();
    d.addIdentity(vectors.identity);
    const whole = Buffer.from(await d.decrypt(file));
    expect(`0x${whole.subarray(0, HEADER_BYTES).toString("hex")}`).to.equal(vectors.header);
    expect(whole.subarray(HEADER_BYTES).toString("utf8")).to.equal(vectors.ciphertext.plaintext);
    expect(ageRecipient(vectors.publicKey)).to.equal(vectors.recipient);
  });
});

describe("exchange: sealing and opening an envelope", function () {
  let identity: string;
  let publicKey: string;
  before(async function () {
    ({ identity, publicKey } = await generateEncryptionIdentity());
  });

  it("round-trips, and both sides compute the documented commitment and the ciphertext's hash", async function () {
    const plaintext = new TextEncoder().encode("name,iban\nA. Example,DE89370400440532013000\n");
    const { sealed, file } = await seal(plaintext, publicKey);
    const { opened, plaintext: back } = await open(file, [identity], {
      binding: BINDING,
      commitment: sealed.commitment,
      ciphertextHash: sealed.ciphertextHash,
    });
    expect(back.equals(Buffer.from(plaintext))).to.equal(true);
    expect(opened.binding).to.deep.equal(BINDING);
    const header = encodeHeader(BINDING, Buffer.from(sealed.salt.slice(2), "hex"));
    expect(sealed.commitment).to.equal(specCommitment(header, plaintext));
    expect(opened.commitment).to.equal(sealed.commitment);
    expect(sealed.ciphertextHash).to.equal(`0x${createHash("sha256").update(file).digest("hex")}`);
    expect(opened.ciphertextHash).to.equal(sealed.ciphertextHash);
    expect([sealed.plaintextBytes, opened.plaintextBytes]).to.deep.equal([
      plaintext.length,
      plaintext.length,
    ]);
    expect(sealed.ciphertextBytes).to.equal(file.length);
  });

  it("draws a new salt for every envelope, so equal plaintexts commit differently", async function () {
    const plaintext = new TextEncoder().encode("yes");
    const a = await seal(plaintext, publicKey);
    const b = await seal(plaintext, publicKey);
    expect(a.sealed.salt).to.not.equal(b.sealed.salt);
    expect(a.sealed.commitment).to.not.equal(b.sealed.commitment);
  });

  it("round-trips around every chunk boundary, and the reference implementation agrees both ways", async function () {
    // Header and plaintext together of 0, 1 and 2 full chunks, and one byte either side.
    const sizes = [0, 1, CHUNK_BYTES - HEADER_BYTES - 1, CHUNK_BYTES - HEADER_BYTES];
    sizes.push(CHUNK_BYTES - HEADER_BYTES + 1, 2 * CHUNK_BYTES - HEADER_BYTES, 2 * CHUNK_BYTES);
    for (const size of sizes) {
      const plaintext = randomBytes(size);
      const { sealed, file } = await seal(plaintext, publicKey);
      const { plaintext: back } = await open(file, [identity]);
      expect(back.equals(plaintext), `size ${size}`).to.equal(true);
      // Ours, read by the package's own STREAM.
      const d = new Decrypter();
      d.addIdentity(identity);
      const whole = Buffer.from(await d.decrypt(file));
      expect(whole.subarray(HEADER_BYTES).equals(plaintext), `reference, size ${size}`).to.equal(
        true,
      );
      // The package's, read by ours.
      const e = new Encrypter();
      e.addRecipient(ageRecipient(publicKey));
      const header = encodeHeader(BINDING, Buffer.from(sealed.salt.slice(2), "hex"));
      const theirs = Buffer.from(await e.encrypt(Buffer.concat([header, plaintext])));
      const { opened, plaintext: fromTheirs } = await open(theirs, [identity]);
      expect(fromTheirs.equals(plaintext), `from reference, size ${size}`).to.equal(true);
      expect(opened.commitment).to.equal(sealed.commitment);
    }
  });

  it("streams a 50 MB export file to file, in pieces of any size", async function () {
    this.timeout(120_000);
    const dir = mkdtempSync(path.join(tmpdir(), "veritrace-envelope-"));
    try {
      const size = 50 * 1024 * 1024;
      const digest = createHash("sha256");
      async function* export_(): AsyncGenerator<Uint8Array> {
        let left = size;
        let i = 0;
        while (left > 0) {
          // Pieces of uneven sizes, as a handler's stdout gives them.
          const n = Math.min(left, 1 + ((i++ * 7919) % 200_000));
          const piece = Buffer.alloc(n, i % 256);
          digest.update(piece);
          left -= n;
          yield piece;
        }
      }
      const sealedFile = path.join(dir, "export.age");
      const out = (await import("node:fs")).createWriteStream(sealedFile);
      const sealed = await sealEnvelope(export_(), out, { recipient: publicKey, binding: BINDING });
      expect(sealed.plaintextBytes).to.equal(size);
      expect(statSync(sealedFile).size).to.equal(sealed.ciphertextBytes);

      const plainFile = path.join(dir, "export.csv");
      const opened = await openEnvelopeFile(sealedFile, plainFile, [identity], {
        binding: BINDING,
        commitment: sealed.commitment,
        ciphertextHash: sealed.ciphertextHash,
      });
      expect(opened.plaintextBytes).to.equal(size);
      expect(createHash("sha256").update(readFileSync(plainFile)).digest("hex")).to.equal(
        digest.digest("hex"),
      );
      expect(statSync(plainFile).mode & 0o777).to.equal(0o600);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses a malformed recipient or identity before reading anything", async function () {
    const { stream } = sink();
    try {
      await sealEnvelope([], stream, { recipient: "age1nope", binding: BINDING });
      expect.fail("sealed to a malformed recipient");
    } catch (e) {
      expect((e as Error).message).to.match(/^recipient: not an age X25519 recipient/);
    }
    for (const ids of [[], ["AGE-SECRET-KEY-PQ-1X"], ["not a key"]]) {
      try {
        await openEnvelope([], sink().stream, ids, expectation);
        expect.fail(`opened with ${JSON.stringify(ids)}`);
      } catch (e) {
        expect((e as Error).message).to.match(/^identities/);
      }
    }
  });

  it("opens with any of several identities (a key rotated since the envelope was sealed)", async function () {
    const other = await generateEncryptionIdentity();
    const { file } = await seal(randomBytes(100), publicKey);
    const { opened } = await open(file, [other.identity, identity]);
    expect(opened.binding.recipientKeyId).to.equal(BINDING.recipientKeyId);
  });
});

describe("exchange: every tampering is refused with its one reason", function () {
  let identity: string;
  let publicKey: string;
  /** An envelope of four chunks: header and plaintext fill three full ones and part of a fourth. */
  let file: Buffer;
  let chunks: number[];
  let commitment: string;
  before(async function () {
    ({ identity, publicKey } = await generateEncryptionIdentity());
    const sealed = await seal(randomBytes(3 * CHUNK_BYTES + 1000 - HEADER_BYTES), publicKey);
    file = sealed.file;
    commitment = sealed.sealed.commitment;
    chunks = chunkOffsets(file).chunks;
    expect(chunks).to.have.length(4);
  });

  it("a flipped byte in a chunk", async function () {
    const bad = Buffer.from(file);
    const at = (chunks[1] ?? 0) + 100;
    bad[at] = (bad[at] ?? 0) ^ 0x01;
    await expectRefused(open(bad, [identity]), "tampered-chunk", /^chunk 1 failed authentication/);
  });

  it("a flipped byte in the last chunk's tag", async function () {
    const bad = Buffer.from(file);
    bad[bad.length - 1] = (bad[bad.length - 1] ?? 0) ^ 0x80;
    await expectRefused(open(bad, [identity]), "tampered-chunk", /^chunk 3, the last, failed/);
  });

  it("truncation at a chunk boundary", async function () {
    await expectRefused(
      open(file.subarray(0, chunks[2]), [identity]),
      "truncated",
      /^truncated: the file ends after chunk 1, which is not the final chunk$/,
    );
  });

  it("truncation right after the header, and inside the last chunk", async function () {
    await expectRefused(
      open(file.subarray(0, chunks[0]), [identity]),
      "truncated",
      /^truncated: the file ends after the payload nonce$/,
    );
    await expectRefused(
      open(file.subarray(0, file.length - 10), [identity]),
      "tampered-chunk",
      /cut inside it/,
    );
  });

  it("a chunk dropped", async function () {
    const [, c1, c2] = chunks as [number, number, number];
    const bad = Buffer.concat([file.subarray(0, c1), file.subarray(c2)]);
    await expectRefused(
      open(bad, [identity]),
      "misplaced-chunk",
      /^chunk 1 is chunk 2 of the file: chunks were dropped, reordered or repeated$/,
    );
  });

  it("two chunks swapped", async function () {
    const [, c1, c2, c3] = chunks as [number, number, number, number];
    const bad = Buffer.concat([
      file.subarray(0, c1),
      file.subarray(c2, c3),
      file.subarray(c1, c2),
      file.subarray(c3),
    ]);
    await expectRefused(
      open(bad, [identity]),
      "misplaced-chunk",
      /^chunk 1 is chunk 2 of the file/,
    );
  });

  it("data appended after a full final chunk", async function () {
    // A final chunk shorter than 64 KiB followed by more bytes reads as a modified chunk instead:
    // where it ended can't be told without trying every length.
    const { file: full } = await seal(randomBytes(2 * CHUNK_BYTES - HEADER_BYTES), publicKey);
    const [, c1] = chunkOffsets(full).chunks as [number, number];
    const bad = Buffer.concat([full, full.subarray(c1)]);
    await expectRefused(
      open(bad, [identity]),
      "trailing-data",
      /^data after the final chunk: chunk 1 is the last one, yet more bytes follow it$/,
    );
  });

  it("the wrong identity", async function () {
    const other = await generateEncryptionIdentity();
    await expectRefused(
      open(file, [other.identity]),
      "wrong-recipient",
      /^wrong recipient: the envelope is not encrypted to any of the given identities$/,
    );
  });

  it("a modified age header", async function () {
    const bad = Buffer.from(file);
    const mac = bad.indexOf("\n--- ") + 6;
    bad[mac] = bad[mac] === 0x41 ? 0x42 : 0x41;
    await expectRefused(open(bad, [identity]), "header-tampered", /MAC does not match/);
  });

  it("an envelope encrypted to more than the requester", async function () {
    const eavesdropper = await generateEncryptionIdentity();
    const e = new Encrypter();
    e.addRecipient(ageRecipient(publicKey));
    e.addRecipient(ageRecipient(eavesdropper.publicKey));
    const header = encodeHeader(BINDING, randomBytes(32));
    const two = await e.encrypt(Buffer.concat([header, Buffer.from("rows")]));
    await expectRefused(open(two, [identity]), "extra-recipients", /encrypted to 2 recipients/);
  });

  it("a ciphertext of another grant (the binding differs)", async function () {
    const { file: other } = await seal(randomBytes(10), publicKey, { ...BINDING, requestId: 13n });
    await expectRefused(
      open(other, [identity]),
      "wrong-grant",
      /^the envelope is bound to another grant: requestId 13 \(expected 12\)$/,
    );
    const elsewhere = await seal(randomBytes(10), publicKey, {
      ...BINDING,
      chainId: 1n,
      sequence: 3,
    });
    await expectRefused(
      open(elsewhere.file, [identity]),
      "wrong-grant",
      /chainId 1 \(expected 31337\), sequence 3 \(expected 2\)$/,
    );
    await expectRefused(
      open(file, [identity], { binding: { ...BINDING, recipientKeyId: 10n } }),
      "wrong-grant",
      /recipientKeyId 9 \(expected 10\)/,
    );
  });

  it("a plaintext that does not match the attested commitment", async function () {
    const wrong = `0x${"11".repeat(32)}`;
    await expectRefused(
      open(file, [identity], { binding: BINDING, commitment: wrong }),
      "commitment-mismatch",
      new RegExp(
        `^commitment mismatch: the plaintext commits to ${commitment}, the delivery attests ${wrong}$`,
      ),
    );
  });

  it("a file whose hash is not the announced one", async function () {
    await expectRefused(
      open(file, [identity], { binding: BINDING, ciphertextHash: `0x${"22".repeat(32)}` }),
      "ciphertext-mismatch",
      /^ciphertext hash mismatch/,
    );
  });

  it("an age file that is no envelope, and a file that is not age", async function () {
    const e = new Encrypter();
    e.addRecipient(ageRecipient(publicKey));
    await expectRefused(
      open(await e.encrypt("just some text"), [identity]),
      "not-an-envelope",
      /fewer than the 320-byte header/,
    );
    await expectRefused(
      open(await e.encrypt("x".repeat(400)), [identity]),
      "not-an-envelope",
      /^not a Veritrace envelope of version 1: the header starts with "x{32}"$/,
    );
    await expectRefused(open(randomBytes(5000), [identity]), "not-age", /^not an age file/);
    await expectRefused(open(new Uint8Array(0), [identity]), "not-age", /^the file is empty$/);
  });

  it("leaves no plaintext behind when opening a file fails, even late (the commitment)", async function () {
    const dir = mkdtempSync(path.join(tmpdir(), "veritrace-envelope-"));
    try {
      const input = path.join(dir, "in.age");
      const output = path.join(dir, "out.csv");
      writeFileSync(input, file);
      await expectRefused(
        openEnvelopeFile(input, output, [identity], {
          binding: BINDING,
          commitment: `0x${"11".repeat(32)}`,
        }),
        "commitment-mismatch",
        /^commitment mismatch/,
      );
      const bad = Buffer.from(file);
      const at = (chunks[3] ?? 0) + 5;
      bad[at] = (bad[at] ?? 0) ^ 0xff;
      writeFileSync(input, bad);
      await expectRefused(
        openEnvelopeFile(input, output, [identity], expectation),
        "tampered-chunk",
        /^chunk 3/,
      );
      expect(readdirSync(dir)).to.deep.equal(["in.age"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("writes no plaintext at all to a stream when the binding is wrong", async function () {
    const out = new PassThrough();
    let written = 0;
    out.on("data", (c: Buffer) => (written += c.length));
    await expectRefused(
      openEnvelope([file], out, [identity], { binding: { ...BINDING, provider: 7 } }),
      "wrong-grant",
      /provider 6 \(expected 7\)/,
    );
    expect(written).to.equal(0);
  });

  it("seals a file to a file atomically", async function () {
    const dir = mkdtempSync(path.join(tmpdir(), "veritrace-envelope-"));
    try {
      const input = path.join(dir, "export.csv");
      writeFileSync(input, "a,b\n1,2\n");
      const sealed = await sealEnvelopeFile(input, path.join(dir, "export.age"), {
        recipient: publicKey,
        binding: BINDING,
      });
      expect(readdirSync(dir).sort()).to.deep.equal(["export.age", "export.csv"]);
      const { plaintext } = await open(readFileSync(path.join(dir, "export.age")), [identity], {
        binding: BINDING,
        commitment: sealed.commitment,
      });
      expect(plaintext.toString()).to.equal("a,b\n1,2\n");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
