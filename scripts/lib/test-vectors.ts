/**
 * Known-answer test vectors for what two institutions must compute alike: identifier
 * normalization, keyed subject and case number commitments, the PSI hash onto the curve, blinding,
 * the messages' digests, the transcript digest and the result commitment. Written to
 * docs/test-vectors.json by `npx tsx scripts/test-vectors.ts --write`; test/test-vectors.test.ts
 * recomputes every vector from its inputs, so the file and the code cannot drift apart. A bank
 * writing its side in another language checks itself against the file (docs/identifiers.md).
 */
import { createHash, createHmac } from "node:crypto";
import { createRequire } from "node:module";
import {
  CASE_NUMBER_TAG,
  SUBJECT_TAG,
  commitCaseNumber,
  commitNormalizedSubject,
} from "../../src/client/commitments.js";
import { InputError } from "../../src/client/errors.js";
import { normalizeIdentifier, type IdentifierType } from "../../src/client/normalize.js";
import { HASH_DOMAIN, hashToCurve, multiplyAll, POINT_BYTES } from "../../src/matching/group.js";
import {
  PROTOCOL,
  buildRequest,
  buildResponse,
  type PsiMode,
} from "../../src/matching/messages.js";
import { resultCommitment, transcriptDigest } from "../../src/matching/session.js";

export interface NormalizationVector {
  type: IdentifierType;
  input: string;
  /** The default country for phone numbers written without a country code. */
  defaultCountry?: string;
  normalized: string;
}

export interface RefusalVector {
  type: IdentifierType;
  input: string;
  defaultCountry?: string;
  /** This implementation's error message (informative; another may word it differently). */
  error: string;
}

export interface SubjectCommitmentVector {
  caseKey: string;
  type: IdentifierType;
  normalized: string;
  /** The HMAC message, UTF-8. */
  message: string;
  commitment: string;
}

export interface CaseNumberCommitmentVector {
  caseKey: string;
  caseNumber: string;
  message: string;
  commitment: string;
}

export interface HashToCurveVector {
  sessionId: string;
  type: IdentifierType;
  normalized: string;
  /** The bytes hashed before the try counter: domain ‖ 0 ‖ session id ‖ type ‖ 0 ‖ identifier ‖ 0. */
  prefix: string;
  /** The counter j of the first SHA-512(prefix ‖ j) that gave a point on the curve. */
  tries: number;
  /** u-coordinate, 32 bytes little-endian. */
  point: string;
}

export interface SessionVector {
  sessionId: string;
  mode: PsiMode;
  type: IdentifierType;
  requesterScalar: string;
  providerScalar: string;
  requesterIdentifiers: string[];
  /** In the order the response carries them (a real provider shuffles them). */
  providerIdentifiers: string[];
  /** H(x)^a of each requester identifier. */
  requestPoints: string[];
  requestHeader: string;
  requestDigest: string;
  /** H(x)^ab, in request order. */
  reblinded: string[];
  /** H(y)^b of each provider identifier. */
  providerPoints: string[];
  responseHeader: string;
  responseDigest: string;
  transcriptDigest: string;
  /** The requester identifiers found in the provider's set. */
  matches: string[];
  resultSalt: string;
  resultCommitment: string;
}

export interface TestVectors {
  description: string;
  libphonenumberJs: string;
  tags: { subject: string; caseNumber: string; psiHash: string; protocol: string };
  normalization: NormalizationVector[];
  refusals: RefusalVector[];
  subjectCommitments: SubjectCommitmentVector[];
  caseNumberCommitments: CaseNumberCommitmentVector[];
  hashToCurve: HashToCurveVector[];
  sessions: SessionVector[];
}

type Input = { type: IdentifierType; input: string; defaultCountry?: string };
const phone = (input: string, defaultCountry?: string): Input =>
  defaultCountry === undefined
    ? { type: "phone", input }
    : { type: "phone", input, defaultCountry };
const bank = (input: string): Input => ({ type: "bankAccount", input });
const nid = (input: string): Input => ({ type: "nationalId", input });

/** Identifiers as people write them, each normalized. */
export const NORMALIZATION_INPUTS: readonly Input[] = [
  phone("+49 30 901820"),
  phone("0049-30-901820"),
  phone("030 901820", "DE"),
  phone("030 901820", "49"),
  phone("+49 (0)30 1234567"),
  phone("+49 030 1234567"),
  phone("+44 (0)20 7946 0958"),
  phone("020 7946 0958", "GB"),
  phone("06 6982 1234", "IT"),
  phone("06 6982 1234", "39"),
  phone("+39 06 6982 1234"),
  phone("8 (495) 123-45-67", "RU"),
  phone("8 (495) 123-45-67", "7"),
  phone("+7 8 495 123 45 67"),
  phone("06 1 234 5678", "HU"),
  phone("+36 06 1 234 5678"),
  phone("+86 138 0013 8000"),
  phone("0086 13800138000"),
  phone("138-0013-8000", "CN"),
  phone("138-0013-8000", "86"),
  phone("86-138-0013-8000", "CN"),
  phone("(213) 373-4253", "US"),
  phone("＋１　２１３　３７３　４２５３"),
  bank("DE89 3704 0044 0532 0130 00"),
  bank("de89-3704-0044-0532-0130-00"),
  bank("IBAN DE89 3704 0044 0532 0130 00"),
  bank("IBAN: GB82 WEST 1234 5698 7654 32"),
  bank("NO93 8601 1117 947"),
  bank("0532-0130-00"),
  bank("6222 0212 3456 7890 128"),
  nid("11010519491231002X"),
  nid("110105 19491231 002x"),
  nid("110105491231002"),
  nid(" t22-000.129 "),
];

/** Identifiers every implementation must refuse. */
export const REFUSAL_INPUTS: readonly Input[] = [
  phone("030 901820"),
  phone("+49 30 CALL ME"),
  phone("+4912"),
  phone("+9991234567"),
  phone("+1 213 073 4253"),
  bank("DE88 3704 0044 0532 0130 00"),
  bank("DE51 3704 0044 0532 0130 0"),
  bank("DE98 3704 0044 0532 0130 0000"),
  bank("XX12 3456 7890"),
  bank("IBAN 0532 0130 00"),
  nid("110105194912310021"),
  nid("11010519491331002X"),
  nid("110105491331002"),
];

const CASE_KEY = `0x${"00112233445566778899aabbccddeeff".repeat(2)}`;
const SESSION_ID = `0x${createHash("sha256").update("veritrace test vector session").digest("hex")}`;
const scalar = (label: string) => createHash("sha256").update(label).digest();
const hex = (bytes: Uint8Array) => `0x${Buffer.from(bytes).toString("hex")}`;
const points = (buf: Uint8Array) => {
  const out: string[] = [];
  for (let o = 0; o < buf.length; o += POINT_BYTES) out.push(hex(buf.subarray(o, o + POINT_BYTES)));
  return out;
};

function optionsOf(v: { defaultCountry?: string }) {
  return v.defaultCountry === undefined ? {} : { defaultCountryCode: v.defaultCountry };
}

/** The bytes hashed for an identifier before the counter (as in src/matching/group.ts). */
export function hashPrefix(sessionId: string, type: string, normalized: string): Buffer {
  return Buffer.concat([
    Buffer.from(`${HASH_DOMAIN}\0`, "utf8"),
    Buffer.from(sessionId.slice(2), "hex"),
    Buffer.from(`${type}\0${normalized}\0`, "utf8"),
  ]);
}

/** The counter j at which SHA-512(prefix ‖ j), top bit cleared, is `point`. */
export function triesOf(prefix: Buffer, point: Buffer): number {
  for (let j = 0; j < 256; j++) {
    const candidate = createHash("sha512").update(prefix).update(Uint8Array.of(j)).digest();
    candidate[31] = (candidate[31] ?? 0) & 0x7f;
    if (candidate.subarray(0, POINT_BYTES).equals(point)) return j;
  }
  throw new Error("the point is none of the first 256 candidates");
}

function session(
  mode: PsiMode,
  type: IdentifierType,
  mine: string[],
  theirs: string[],
): SessionVector {
  const a = scalar(`veritrace test vector requester ${mode}`);
  const b = scalar(`veritrace test vector provider ${mode}`);
  const sid = Buffer.from(SESSION_ID.slice(2), "hex");
  const hashAll = (ids: string[]) => Buffer.concat(ids.map((x) => hashToCurve(sid, type, x)));
  const requestPoints = multiplyAll(a, hashAll(mine));
  const request = buildRequest({ sessionId: SESSION_ID, mode, type }, requestPoints);
  const reblinded = multiplyAll(b, requestPoints);
  const providerPoints = multiplyAll(b, hashAll(theirs));
  const response = buildResponse(
    { sessionId: SESSION_ID, mode, type, requestDigest: request.digest },
    reblinded,
    providerPoints,
  );
  const doubly = new Set(points(multiplyAll(a, providerPoints)));
  const reblindedList = points(reblinded);
  const matchIndexes = reblindedList.flatMap((p, i) => (doubly.has(p) ? [i] : []));
  const salt = scalar(`veritrace test vector salt ${mode}`);
  return {
    sessionId: SESSION_ID,
    mode,
    type,
    requesterScalar: hex(a),
    providerScalar: hex(b),
    requesterIdentifiers: mine,
    providerIdentifiers: theirs,
    requestPoints: points(requestPoints),
    requestHeader: request.headerBytes.toString("utf8"),
    requestDigest: request.digest,
    reblinded: reblindedList,
    providerPoints: points(providerPoints),
    responseHeader: response.headerBytes.toString("utf8"),
    responseDigest: response.digest,
    transcriptDigest: transcriptDigest(request.digest, response.digest),
    matches: matchIndexes.map((i) => mine[i] as string),
    resultSalt: hex(salt),
    resultCommitment: resultCommitment({
      sessionId: SESSION_ID,
      mode,
      salt,
      cardinality: matchIndexes.length,
      matchingValues: matchIndexes.map((i) => reblinded.subarray(i * 32, i * 32 + 32)),
    }),
  };
}

/** The installed libphonenumber-js version (its metadata decides which numbers are valid). */
export function libphonenumberVersion(): string {
  const require = createRequire(import.meta.url);
  return (require("libphonenumber-js/package.json") as { version: string }).version;
}

/** Every vector, computed by this implementation. */
export function buildTestVectors(): TestVectors {
  const normalization = NORMALIZATION_INPUTS.map((v) => ({
    ...v,
    normalized: normalizeIdentifier(v.type, v.input, optionsOf(v)),
  }));
  const refusals = REFUSAL_INPUTS.map((v) => {
    try {
      normalizeIdentifier(v.type, v.input, optionsOf(v));
    } catch (error) {
      if (error instanceof InputError) return { ...v, error: error.message };
      throw error;
    }
    throw new Error(`${JSON.stringify(v.input)} was not refused`);
  });
  const distinct = [
    ...new Map(normalization.map((v) => [`${v.type}:${v.normalized}`, v])).values(),
  ];
  const subjectCommitments = distinct.map(({ type, normalized }) => ({
    caseKey: CASE_KEY,
    type,
    normalized,
    message: `${SUBJECT_TAG}:${type}:${normalized}`,
    commitment: commitNormalizedSubject(type, normalized, CASE_KEY),
  }));
  const caseNumberCommitments = ["PSB-2026-00042", "检察院〔2026〕17号"].map((caseNumber) => ({
    caseKey: CASE_KEY,
    caseNumber,
    message: `${CASE_NUMBER_TAG}:${caseNumber}`,
    commitment: commitCaseNumber(caseNumber, CASE_KEY),
  }));
  const sid = Buffer.from(SESSION_ID.slice(2), "hex");
  const hashVectors = distinct.map(({ type, normalized }) => {
    const point = hashToCurve(sid, type, normalized);
    const prefix = hashPrefix(SESSION_ID, type, normalized);
    return {
      sessionId: SESSION_ID,
      type,
      normalized,
      prefix: hex(prefix),
      tries: triesOf(prefix, point),
      point: hex(point),
    };
  });
  const mine = ["+8613800138000", "+49301234567", "+390669821234"];
  const theirs = ["+74951234567", "+8613800138000", "+3612345678", "+390669821234"];
  return {
    description:
      "Veritrace known-answer vectors: identifier normalization (v2), subject commitments " +
      "HMAC-SHA256(caseKey, message), the PSI hash onto Curve25519 and a whole PSI exchange. " +
      "docs/identifiers.md explains every field; test/test-vectors.test.ts recomputes them all.",
    libphonenumberJs: libphonenumberVersion(),
    tags: {
      subject: SUBJECT_TAG,
      caseNumber: CASE_NUMBER_TAG,
      psiHash: HASH_DOMAIN,
      protocol: PROTOCOL,
    },
    normalization,
    refusals,
    subjectCommitments,
    caseNumberCommitments,
    hashToCurve: hashVectors,
    sessions: [
      session("psi", "phone", mine, theirs),
      session("cardinality", "phone", mine, theirs),
    ],
  };
}

/** HMAC-SHA256(key, message) as 0x-hex, written out for readers of the vectors. */
export function hmacHex(key: string, message: string): string {
  return hex(
    createHmac("sha256", Buffer.from(key.slice(2), "hex"))
      .update(message)
      .digest(),
  );
}
