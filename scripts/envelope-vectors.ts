/**
 * The envelope's test vectors (docs/exchange.md, "Test vectors"): prints them as JSON, or with
 * --write replaces test/vectors/envelope-v1.json. The header and commitment vectors are
 * deterministic. The ciphertext (test/vectors/envelope-v1.age) is not, since age draws a random
 * file key and ephemeral share: it is written only with --new-ciphertext (or when missing), and
 * the JSON records its SHA-256.
 *
 *   npx tsx scripts/envelope-vectors.ts [--write] [--new-ciphertext]
 */
import { createHash } from "node:crypto";
import { createWriteStream, existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { format, resolveConfig } from "prettier";
import { bech32Encode, publicKeyOfIdentity } from "../src/client/age-keys.js";
import { sealEnvelope } from "../src/exchange/envelope.js";
import {
  COMMITMENT_TAG,
  ENVELOPE_MAGIC,
  encodeHeader,
  payloadCommitment,
  type EnvelopeBinding,
} from "../src/exchange/format.js";

const DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "test", "vectors");
export const VECTORS_FILE = path.join(DIR, "envelope-v1.json");
export const CIPHERTEXT_FILE = path.join(DIR, "envelope-v1.age");

/** The vectors' fixed inputs. */
const IDENTITY_SCALAR = Uint8Array.from({ length: 32 }, (_, i) => i + 1);
const SALT = Uint8Array.from({ length: 32 }, (_, i) => 0x80 + i);
const BINDING: EnvelopeBinding = {
  chainId: 31337n,
  accessLedger: "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0",
  requestId: 7n,
  caseId: 3n,
  provider: 6,
  requester: 4,
  sequence: 0,
  recipientKeyId: 1n,
};
const PLAINTEXT = "account,booked,amount\nDE89370400440532013000,2026-01-05,1200.00\n";
/** A plaintext longer than one 64 KiB chunk: byte i is i mod 251. */
const LONG_LENGTH = 70_000;
const longPlaintext = () => Uint8Array.from({ length: LONG_LENGTH }, (_, i) => i % 251);

export interface EnvelopeVectors {
  spec: string;
  identity: string;
  recipient: string;
  publicKey: string;
  magic: string;
  commitmentTag: string;
  binding: Record<string, string | number>;
  salt: string;
  header: string;
  commitments: { name: string; plaintext: string; plaintextHex?: string; commitment: string }[];
  ciphertext: { file: string; sha256: string; plaintext: string; commitment: string };
}

const hex = (b: Uint8Array) => `0x${Buffer.from(b).toString("hex")}`;

export async function buildEnvelopeVectors(ciphertext: Buffer): Promise<EnvelopeVectors> {
  const identity = bech32Encode("age-secret-key-", IDENTITY_SCALAR).toUpperCase();
  const publicKey = await publicKeyOfIdentity(identity);
  const header = encodeHeader(BINDING, SALT);
  const text = new TextEncoder().encode(PLAINTEXT);
  return {
    spec: "docs/exchange.md",
    identity,
    recipient: bech32Encode("age", Buffer.from(publicKey.slice(2), "hex")),
    publicKey,
    magic: hex(ENVELOPE_MAGIC),
    commitmentTag: hex(COMMITMENT_TAG),
    binding: {
      chainId: BINDING.chainId.toString(),
      accessLedger: BINDING.accessLedger,
      requestId: BINDING.requestId.toString(),
      caseId: BINDING.caseId.toString(),
      provider: BINDING.provider,
      requester: BINDING.requester,
      sequence: BINDING.sequence,
      recipientKeyId: BINDING.recipientKeyId.toString(),
    },
    salt: hex(SALT),
    header: hex(header),
    commitments: [
      { name: "csv", plaintext: PLAINTEXT, commitment: payloadCommitment(header, text) },
      { name: "empty", plaintext: "", commitment: payloadCommitment(header, new Uint8Array(0)) },
      {
        name: "long",
        plaintext: `${LONG_LENGTH} bytes, byte i = i mod 251`,
        commitment: payloadCommitment(header, longPlaintext()),
      },
    ],
    ciphertext: {
      file: "envelope-v1.age",
      sha256: `0x${createHash("sha256").update(ciphertext).digest("hex")}`,
      plaintext: PLAINTEXT,
      commitment: payloadCommitment(header, text),
    },
  };
}

/** Seals the csv vector's plaintext to the vector identity (a new random age file each time). */
async function newCiphertext(recipient: string): Promise<void> {
  await sealEnvelope([new TextEncoder().encode(PLAINTEXT)], createWriteStream(CIPHERTEXT_FILE), {
    recipient,
    binding: BINDING,
    salt: SALT,
  });
}

if (
  process.argv[1] !== undefined &&
  path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)
) {
  if (process.argv.includes("--new-ciphertext") || !existsSync(CIPHERTEXT_FILE)) {
    const identity = bech32Encode("age-secret-key-", IDENTITY_SCALAR).toUpperCase();
    await newCiphertext(await publicKeyOfIdentity(identity));
  }
  const vectors = await buildEnvelopeVectors(readFileSync(CIPHERTEXT_FILE));
  const text = await format(JSON.stringify(vectors), {
    ...(await resolveConfig(VECTORS_FILE)),
    filepath: VECTORS_FILE,
  });
  if (process.argv.includes("--write")) {
    writeFileSync(VECTORS_FILE, text);
    console.log(`wrote ${path.relative(process.cwd(), VECTORS_FILE)}`);
  } else {
    process.stdout.write(text);
  }
}
