import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { request as httpRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { expect } from "chai";
import { InlineEngine, WorkerEngine } from "../../src/matching/engine.js";
import { MatchError } from "../../src/matching/errors.js";
import { readResponseFile } from "../../src/matching/files.js";
import {
  P,
  POINT_BYTES,
  encodeU,
  hashAndMultiplyAll,
  hashToCurve,
  isCanonical,
  isOnCurve,
  decodeU,
  multiplyAll,
} from "../../src/matching/group.js";
import { IdentifierSet } from "../../src/matching/identifiers.js";
import {
  MATCH_PATH,
  RESULT_PATH,
  PsiProvider,
  createMatchServer,
  exchangeOverHttp,
  type SessionRecord,
  PsiRequester,
  buildRequest,
  buildResponse,
  decodeRequest,
  decodeResponse,
  encodeMessage,
  resultCommitment,
  sessionFailure,
  shufflePoints,
  transcriptDigest,
  type PsiMode,
  type PsiRequestMessage,
  type PsiResponseMessage,
  type PsiResult,
} from "../../src/matching/index.js";

import { CHUNKINGS, rawPost, rawRequest, type RawAnswer } from "../helpers/raw-http.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const BIN = path.join(ROOT, "bin", "veritrace.mjs");

/** n distinct random valid E.164 numbers (German mobiles, +49 151 and 8 digits), none in `avoid`. */
function randomPhones(n: number, avoid: ReadonlySet<string> = new Set()): string[] {
  const out = new Set<string>();
  while (out.size < n) {
    const digits = randomBytes(8).readBigUInt64BE() % 100_000_000n;
    const phone = `+49151${digits.toString().padStart(8, "0")}`;
    if (!avoid.has(phone)) out.add(phone);
  }
  return [...out];
}

const newSession = () => randomBytes(32);

interface Run {
  request: PsiRequestMessage;
  response: PsiResponseMessage;
  result: PsiResult;
  providerTranscript: string;
}

/** One whole session in memory, messages encoded and decoded as on the wire. */
async function runSession(
  mine: readonly string[],
  theirs: readonly string[],
  mode: PsiMode = "psi",
  engine = new InlineEngine(),
): Promise<Run> {
  const sessionId = newSession();
  const requester = new PsiRequester({ sessionId, mode, type: "phone", engine });
  const provider = new PsiProvider({ type: "phone", engine });
  const request = await requester.blind(mine);
  const outcome = await provider.respond(encodeMessage(request), theirs);
  const response = decodeResponse(encodeMessage(outcome.response));
  const result = await requester.finish(response);
  return { request, response, result, providerTranscript: outcome.transcriptDigest };
}

function plainIntersection(mine: readonly string[], theirs: readonly string[]): string[] {
  const t = new Set(theirs);
  return [...new Set(mine)].filter((x) => t.has(x));
}

/** A MatchError with this reason whose message matches `pattern`. */
async function expectMatchError(
  fn: () => Promise<unknown> | unknown,
  reason: string,
  pattern?: RegExp,
): Promise<MatchError> {
  let caught: unknown;
  try {
    await fn();
  } catch (error) {
    caught = error;
  }
  expect(caught, "expected a MatchError").to.be.instanceOf(MatchError);
  const e = caught as MatchError;
  expect(e.reason, e.message).to.equal(reason);
  if (pattern !== undefined) expect(e.message).to.match(pattern);
  expect(e.message).not.to.include("\n");
  return e;
}

/** A blinded request and a matching provider response, for tampering. */
async function exchange(mode: PsiMode = "psi") {
  const sessionId = newSession();
  const requester = new PsiRequester({ sessionId, mode, type: "phone" });
  const mine = randomPhones(8);
  const request = await requester.blind(mine);
  const provider = new PsiProvider({ type: "phone" });
  const outcome = await provider.respond(request, [...mine.slice(0, 3), ...randomPhones(5)]);
  return { sessionId, requester, request, provider, response: outcome.response };
}

/** The response rebuilt with new lists (a well-formed message whose content was changed). */
function forgeResponse(
  response: PsiResponseMessage,
  edit: { reblinded?: Buffer; providerPoints?: Buffer; sessionId?: string },
): PsiResponseMessage {
  const h = response.header;
  return buildResponse(
    {
      sessionId: edit.sessionId ?? h.sessionId,
      mode: h.mode,
      type: h.type,
      requestDigest: h.requestDigest,
    },
    edit.reblinded ?? Buffer.from(response.reblinded),
    edit.providerPoints ?? Buffer.from(response.providerPoints),
  );
}

/** XORs one byte of a buffer with `mask`. */
function flip(bytes: Buffer, index: number, mask: number): void {
  bytes.writeUInt8((bytes.readUInt8(index) ^ mask) & 0xff, index);
}

function withPoint(list: Buffer, index: number, point: Uint8Array): Buffer {
  const copy = Buffer.from(list);
  copy.set(point, index * POINT_BYTES);
  return copy;
}

const LOW_ORDER_POINTS = [
  Buffer.alloc(32), // u = 0
  encodeU(1n),
  encodeU(P - 1n),
  Buffer.from("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800", "hex"),
  Buffer.from("5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157", "hex"),
];

describe("psi: the group", function () {
  it("blinding commutes: H(x)^ab = H(x)^ba", function () {
    const a = randomBytes(32);
    const b = randomBytes(32);
    const h = hashToCurve(newSession(), "phone", "+4915112345678");
    expect(multiplyAll(b, multiplyAll(a, h))).to.deep.equal(multiplyAll(a, multiplyAll(b, h)));
  });

  it("hashes onto the curve, never its twist, and canonically", function () {
    const session = newSession();
    for (const phone of randomPhones(200)) {
      const h = hashToCurve(session, "phone", phone);
      expect(isCanonical(h)).to.equal(true);
      expect(isOnCurve(decodeU(h))).to.equal(true);
    }
  });

  it("separates sessions and types: the same identifier hashes differently", function () {
    const x = "+4915112345678";
    const s = newSession();
    expect(hashToCurve(s, "phone", x)).to.deep.equal(hashToCurve(s, "phone", x));
    expect(hashToCurve(s, "phone", x)).not.to.deep.equal(hashToCurve(newSession(), "phone", x));
    expect(hashToCurve(s, "phone", x)).not.to.deep.equal(hashToCurve(s, "nationalId", x));
  });

  it("refuses non-canonical points (u ≥ 2^255 − 19, top bit set), which Node would reduce", function () {
    const a = randomBytes(32);
    for (const u of [encodeU(P), encodeU(P + 9n), encodeU((1n << 255n) + 9n)]) {
      expect(isCanonical(u)).to.equal(false);
      try {
        multiplyAll(a, u);
        expect.fail("accepted a non-canonical point");
      } catch (error) {
        expect((error as MatchError).reason).to.equal("invalid-point");
      }
    }
    expect(isCanonical(encodeU(P - 1n))).to.equal(true);
  });

  it("refuses every point of small order (Node's all-zero output error)", function () {
    const a = randomBytes(32);
    for (const u of LOW_ORDER_POINTS) {
      try {
        multiplyAll(a, u);
        expect.fail(`accepted the small-order point ${u.toString("hex")}`);
      } catch (error) {
        expect((error as MatchError).reason).to.equal("low-order-point");
      }
    }
  });

  it("shuffles points as a permutation", function () {
    const list = Buffer.concat(Array.from({ length: 50 }, (_, i) => encodeU(BigInt(i + 2))));
    const shuffled = shufflePoints(list);
    const key = (b: Buffer) =>
      Array.from({ length: 50 }, (_, i) => b.toString("hex", i * 32, i * 32 + 32)).sort();
    expect(key(shuffled)).to.deep.equal(key(list));
    expect(shuffled).not.to.deep.equal(list);
  });
});

describe("psi: correctness against the plaintext intersection", function () {
  const check = async (mine: string[], theirs: string[]) => {
    const { result, providerTranscript } = await runSession(mine, theirs);
    const expected = plainIntersection(mine, theirs);
    expect(result.status).to.equal("completed");
    expect(result.matches).to.deep.equal(expected);
    expect(result.cardinality).to.equal(expected.length);
    expect(result.requestCount).to.equal(new Set(mine).size);
    expect(result.providerCount).to.equal(new Set(theirs).size);
    expect(result.transcriptDigest).to.equal(providerTranscript);
    return result;
  };

  it("random sets with a partial overlap", async function () {
    const common = randomPhones(37);
    const mine = [...randomPhones(150, new Set(common)), ...common];
    const theirs = [...common, ...randomPhones(220, new Set(mine))];
    await check(mine, theirs);
  });

  it("empty sets on either side and both", async function () {
    await check([], randomPhones(10));
    await check(randomPhones(10), []);
    await check([], []);
  });

  it("disjoint sets", async function () {
    const mine = randomPhones(60);
    await check(mine, randomPhones(70, new Set(mine)));
  });

  it("identical sets", async function () {
    const mine = randomPhones(80);
    const result = await check(mine, [...mine].reverse());
    expect(result.cardinality).to.equal(80);
  });

  it("duplicates are dropped after normalization, on both sides", async function () {
    const mine = ["+49 151 1234 5678", "0049151-12345678", "+4915112345678", "+33612345678"];
    const theirs = ["+4915112345678", "(0049) 151 12345678", "+4917000000000"];
    const set = IdentifierSet.fromList("phone", mine);
    expect(set.values).to.deep.equal(["+4915112345678", "+33612345678"]);
    expect(set.duplicates).to.equal(2);
    const { result } = await runSession(mine, theirs);
    expect(result.matches).to.deep.equal(["+4915112345678"]);
    expect(result.requestCount).to.equal(2);
    expect(result.providerCount).to.equal(2);
  });

  it("1 identifier against 100,000, on worker threads", async function () {
    this.timeout(120_000); // normalizing 100,000 numbers by libphonenumber-js adds a few seconds
    const theirs = randomPhones(100_000);
    const engine = await WorkerEngine.start();
    try {
      const hit = await runSession([theirs[54_321] as string], theirs, "psi", engine);
      expect(hit.result.matches).to.deep.equal([theirs[54_321]]);
      expect(hit.result.providerCount).to.equal(100_000);
    } finally {
      await engine.close();
    }
  });
});

describe("psi: cardinality mode", function () {
  it("gives the right count and no identifier at all", async function () {
    const common = randomPhones(12);
    const mine = [...randomPhones(30, new Set(common)), ...common];
    const theirs = [...common, ...randomPhones(40, new Set(mine))];
    const { result, providerTranscript } = await runSession(mine, theirs, "cardinality");
    expect(result.cardinality).to.equal(12);
    expect(result).not.to.have.property("matches");
    const text = JSON.stringify(result);
    for (const phone of mine) expect(text).not.to.include(phone.slice(1));
    expect(result.transcriptDigest).to.equal(providerTranscript);
  });

  it("the provider shuffles the re-blinded list (in psi mode it keeps the order)", async function () {
    // The requester's side by hand, with a known secret, to see where the matches land.
    const mine = randomPhones(40);
    const theirs = [...mine.slice(0, 10), ...randomPhones(30, new Set(mine))];
    const positions = async (mode: PsiMode) => {
      const sessionId = newSession();
      const a = randomBytes(32);
      const request = buildRequest(
        { sessionId: `0x${sessionId.toString("hex")}`, mode, type: "phone" },
        hashAndMultiplyAll(a, sessionId, "phone", mine),
      );
      const { response } = await new PsiProvider({ type: "phone" }).respond(request, theirs);
      const d = multiplyAll(a, response.providerPoints);
      const set = new Set<string>();
      for (let o = 0; o < d.length; o += 32) set.add(d.toString("hex", o, o + 32));
      const hits: number[] = [];
      for (let i = 0; i < 40; i++)
        if (set.has(response.reblinded.toString("hex", i * 32, i * 32 + 32))) hits.push(i);
      return hits;
    };
    expect(await positions("psi")).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const shuffled = await positions("cardinality");
    expect(shuffled).to.have.length(10);
    // Equal by chance with probability 1 / C(40, 10) ≈ 1.2e-9.
    expect(shuffled).not.to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });
});

describe("psi: transcript and result commitment", function () {
  it("the commitment is salted and opens with the salt and the sorted matching values", async function () {
    const mine = randomPhones(20);
    const { result, response } = await runSession(mine, mine.slice(0, 5));
    expect(result.resultCommitment).to.match(/^0x[0-9a-f]{64}$/);
    expect(result.resultSalt).to.match(/^0x[0-9a-f]{64}$/);
    const values = Array.from({ length: 5 }, (_, i) =>
      response.reblinded.subarray(i * 32, i * 32 + 32),
    ).reverse();
    const salt = Buffer.from(result.resultSalt.slice(2), "hex");
    const open = (cardinality: number, s: Buffer) =>
      resultCommitment({
        sessionId: result.sessionId,
        mode: "psi",
        salt: s,
        cardinality,
        matchingValues: values,
      });
    expect(open(5, salt)).to.equal(result.resultCommitment);
    expect(open(4, salt)).not.to.equal(result.resultCommitment);
    expect(open(5, randomBytes(32))).not.to.equal(result.resultCommitment);
  });

  it("the transcript digest is SHA-256 over both message digests, in order", async function () {
    const { request, response, result } = await runSession(randomPhones(5), randomPhones(5));
    expect(result.transcriptDigest).to.equal(transcriptDigest(request.digest, response.digest));
    expect(result.transcriptDigest).not.to.equal(transcriptDigest(response.digest, request.digest));
  });
});

describe("psi: tampered and malformed messages", function () {
  it("a flipped byte in a point fails the body digest", async function () {
    const { requester, response } = await exchange();
    const bytes = encodeMessage(response);
    flip(bytes, bytes.length - 40, 0x01);
    await expectMatchError(() => requester.finish(bytes), "digest-mismatch", /SHA-256/);
  });

  it("a flipped byte in the request makes its response answer another request", async function () {
    const { sessionId, requester, request, provider } = await exchange();
    const bytes = encodeMessage(request);
    flip(bytes, bytes.length - 1, 0x01);
    const tampered = decodeRequest(
      encodeMessage(buildRequest(request.header, decodeRequestBody(bytes, request))),
    );
    const { response } = await provider.respond(tampered, randomPhones(3));
    expect(response.header.sessionId).to.equal(`0x${sessionId.toString("hex")}`);
    await expectMatchError(() => requester.finish(response), "session-mismatch", /request/);
  });

  it("a non-canonical point (u ≥ p), with a correct digest, is refused by either party", async function () {
    const { requester, request, provider, response } = await exchange();
    const bad = encodeU(P + 1n);
    const forged = forgeResponse(response, {
      providerPoints: withPoint(response.providerPoints, 2, bad),
    });
    const e = await expectMatchError(() => requester.finish(forged), "invalid-point", /canonical/);
    expect(e.index).to.equal(2);
    const badRequest = buildRequest(request.header, withPoint(request.points, 0, bad));
    await expectMatchError(
      () => provider.respond(badRequest, randomPhones(3)),
      "invalid-point",
      /element 0/,
    );
  });

  it("a non-canonical re-blinded value is refused too", async function () {
    const { requester, response } = await exchange();
    const forged = forgeResponse(response, {
      reblinded: withPoint(response.reblinded, 1, encodeU(P)),
    });
    await expectMatchError(() => requester.finish(forged), "invalid-point", /element 1/);
  });

  it("all-zero and other small-order points are refused by either party", async function () {
    for (const point of LOW_ORDER_POINTS) {
      const { requester, request, provider, response } = await exchange();
      const forged = forgeResponse(response, {
        providerPoints: withPoint(response.providerPoints, 0, point),
      });
      await expectMatchError(() => requester.finish(forged), "low-order-point", /small order/);
      await expectMatchError(
        () =>
          provider.respond(
            buildRequest(request.header, withPoint(request.points, 3, point)),
            randomPhones(2),
          ),
        "low-order-point",
        /element 3/,
      );
    }
  });

  it("refuses a re-blinded list holding a small-order value (it would silently drop a match)", async function () {
    for (const point of LOW_ORDER_POINTS) {
      const { requester, response } = await exchange();
      // Element 0 is one of the three matches: replaced by a small-order value, it would just not
      // match, and the session would complete with a cardinality of 2.
      const forged = forgeResponse(response, {
        reblinded: withPoint(response.reblinded, 0, point),
      });
      const e = await expectMatchError(
        () => requester.finish(encodeMessage(forged)),
        "low-order-point",
        /^re-blinded element 0 is a point of small order$/,
      );
      expect(e.index).to.equal(0);
    }
  });

  it("refuses a re-blinded list holding a repeated value (it would silently add a match)", async function () {
    for (const mode of ["psi", "cardinality"] as const) {
      const { requester, response } = await exchange(mode);
      // In psi mode elements 0..2 match; a copy of element 0 over element 5 (a non-match) would
      // count 4. In cardinality mode the order is shuffled: any copy is a repeat.
      const copy = response.reblinded.subarray(0, POINT_BYTES);
      const forged = forgeResponse(response, {
        reblinded: withPoint(response.reblinded, 5, copy),
      });
      const e = await expectMatchError(
        () => requester.finish(forged),
        "duplicate-point",
        /^re-blinded element 5 repeats element 0$/,
      );
      expect(e.index).to.equal(5);
    }
  });

  it("refuses a repeated value in the provider's own list and in a request", async function () {
    const { requester, request, provider, response } = await exchange();
    const copy = response.providerPoints.subarray(POINT_BYTES, 2 * POINT_BYTES);
    await expectMatchError(
      () =>
        requester.finish(
          forgeResponse(response, {
            providerPoints: withPoint(response.providerPoints, 4, copy),
          }),
        ),
      "duplicate-point",
      /^the provider's element 4 repeats element 1$/,
    );
    const repeated = buildRequest(
      request.header,
      withPoint(request.points, 7, request.points.subarray(2 * POINT_BYTES, 3 * POINT_BYTES)),
    );
    await expectMatchError(
      () => provider.respond(encodeMessage(repeated), randomPhones(3)),
      "duplicate-point",
      /^request element 7 repeats element 2$/,
    );
  });

  it("an honest session never trips the checks: a set against itself matches every element", async function () {
    const phones = randomPhones(300);
    const { result } = await runSession(phones, phones, "cardinality");
    expect(result.cardinality).to.equal(300);
  });

  it("a response with another count than the request is refused", async function () {
    const { requester, response } = await exchange();
    const forged = forgeResponse(response, {
      reblinded: Buffer.from(response.reblinded.subarray(0, 7 * POINT_BYTES)),
    });
    await expectMatchError(() => requester.finish(forged), "count-mismatch", /7 elements.*8/);
  });

  it("a truncated message is refused", async function () {
    const { requester, response } = await exchange();
    const bytes = encodeMessage(response);
    await expectMatchError(
      () => requester.finish(bytes.subarray(0, bytes.length - 5)),
      "malformed-message",
      /truncated/,
    );
    await expectMatchError(
      () => decodeResponse(bytes.subarray(0, 20)),
      "malformed-message",
      /no complete header/,
    );
    await expectMatchError(() => decodeResponse(Buffer.alloc(0)), "malformed-message", /empty/);
  });

  it("extra bytes, a wrong digest in the header, and headers that are not ours are refused", async function () {
    const { response } = await exchange();
    const bytes = encodeMessage(response);
    await expectMatchError(
      () => decodeResponse(Buffer.concat([bytes, Buffer.from([0])])),
      "malformed-message",
      /longer than its header/,
    );
    const header = { ...response.header, bodySha256: `0x${"ab".repeat(32)}` };
    const swapped = Buffer.concat([
      Buffer.from(`${JSON.stringify(header)}\n`),
      response.reblinded,
      response.providerPoints,
    ]);
    await expectMatchError(() => decodeResponse(swapped), "digest-mismatch");
    const body = Buffer.concat([response.reblinded, response.providerPoints]);
    const variants: [Record<string, unknown>, RegExp][] = [
      // A peer on protocol 1 hashes under the old normalization: refused, not matched against.
      [{ ...response.header, protocol: "veritrace-psi/1" }, /not a veritrace-psi\/2 message/],
      [{ ...response.header, extra: 1 }, /unknown header field extra/],
      [{ ...response.header, count: -1 }, /count is not a count/],
      [{ ...response.header, mode: "all" }, /unknown mode/],
    ];
    for (const [h, pattern] of variants) {
      await expectMatchError(
        () => decodeResponse(Buffer.concat([Buffer.from(`${JSON.stringify(h)}\n`), body])),
        "malformed-message",
        pattern,
      );
    }
    await expectMatchError(
      () => decodeResponse(Buffer.from("not json\n")),
      "malformed-message",
      /not JSON/,
    );
    await expectMatchError(
      () => decodeResponse(Buffer.alloc(5000, 0x41)),
      "malformed-message",
      /no header line/,
    );
  });

  it("a count over the limit is refused from the header alone", async function () {
    const { response } = await exchange();
    const header = { ...response.header, providerCount: 2_000_000 };
    await expectMatchError(
      () => decodeResponse(Buffer.from(`${JSON.stringify(header)}\n`)),
      "too-large",
      /2,000,000 elements/,
    );
    await expectMatchError(
      () => decodeResponse(encodeMessage(response), { maxElements: 4 }),
      "too-large",
    );
  });

  it("a failure becomes a record the ledger can keep", async function () {
    const { requester, response } = await exchange();
    const bytes = encodeMessage(response);
    flip(bytes, bytes.length - 1, 0xff);
    try {
      await requester.finish(bytes);
      expect.fail("accepted a tampered response");
    } catch (error) {
      expect(sessionFailure(error, requester.sessionId)).to.deep.equal({
        status: "failed",
        sessionId: requester.sessionId,
        reason: "digest-mismatch",
        message: (error as Error).message,
      });
    }
  });
});

/** The body of a request message's bytes (the header is the original's). */
function decodeRequestBody(bytes: Buffer, original: PsiRequestMessage): Buffer {
  return Buffer.from(bytes.subarray(original.headerBytes.length));
}

describe("psi: sessions", function () {
  it("a response of another session is refused", async function () {
    const { requester, response } = await exchange();
    const other = `0x${newSession().toString("hex")}`;
    await expectMatchError(
      () => requester.finish(forgeResponse(response, { sessionId: other })),
      "session-mismatch",
      /session/,
    );
  });

  it("a provider bound to a session refuses another session's request", async function () {
    const { request } = await exchange();
    const provider = new PsiProvider({ type: "phone", sessionId: newSession() });
    await expectMatchError(
      () => provider.respond(request, randomPhones(3)),
      "session-mismatch",
      /not 0x/,
    );
    const bank = new PsiProvider({ type: "bankAccount" });
    await expectMatchError(() => bank.respond(request, []), "session-mismatch", /phone/);
    const countOnly = new PsiProvider({ type: "phone", modes: ["cardinality"] });
    await expectMatchError(() => countOnly.respond(request, []), "session-mismatch", /mode psi/);
  });

  it("session A's blinded set replayed in session B, header rewritten, matches nothing", async function () {
    const mine = randomPhones(30);
    const a = new PsiRequester({ sessionId: newSession(), mode: "psi", type: "phone" });
    const requestA = await a.blind(mine);
    const stateA = a.exportState();
    // Session B: A's points under B's header (digest recomputed), answered by a provider that
    // holds every one of A's identifiers.
    const sessionB = `0x${newSession().toString("hex")}`;
    const replayed = buildRequest({ ...requestA.header, sessionId: sessionB }, requestA.points);
    const outcome = await new PsiProvider({ type: "phone" }).respond(replayed, mine);
    // Even with A's secret, unblinding B's response finds nothing: H differs per session.
    const holder = PsiRequester.fromState({
      ...stateA,
      sessionId: sessionB,
      requestDigest: replayed.digest,
    });
    const result = await holder.finish(outcome.response);
    expect(result.cardinality).to.equal(0);
    expect(result.matches).to.deep.equal([]);
    // The control: the same set in session A matches everything.
    const control = await new PsiProvider({ type: "phone" }).respond(requestA, mine);
    const again = await PsiRequester.fromState(stateA).finish(control.response);
    expect(again.cardinality).to.equal(30);
  });

  it("a requester finishes once, and its state round-trips through JSON", async function () {
    const { requester, request, provider } = await exchange();
    const state = JSON.parse(JSON.stringify(requester.exportState())) as unknown;
    const { response } = await provider.respond(request, []);
    const restored = PsiRequester.fromState(state);
    expect((await restored.finish(response)).cardinality).to.equal(0);
    await expectMatchError(() => restored.finish(response), "internal", /finished/);
    expect(() => PsiRequester.fromState({ format: "x" })).to.throw(
      MatchError,
      /not a requester state/,
    );
  });
});

describe("psi: identifiers", function () {
  it("a normalization failure names the file and line", function () {
    const dir = mkdtempSync(path.join(tmpdir(), "veritrace-psi-"));
    try {
      const file = path.join(dir, "ids.txt");
      writeFileSync(file, "# suspects\n+4915112345678\n\n+4915112345679\n+49 not a phone\n");
      const e = (() => {
        try {
          IdentifierSet.fromFile("phone", file);
        } catch (error) {
          return error as MatchError;
        }
        throw new Error("accepted a bad line");
      })();
      expect(e.reason).to.equal("invalid-input");
      expect(e.message).to.equal(
        `${file} line 5: phone: "+49 not a phone" has characters other than digits, spaces, - . / ( ) and a leading +`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a list names the entry; too many identifiers are refused", async function () {
    const requester = new PsiRequester({ sessionId: newSession(), mode: "psi", type: "phone" });
    await expectMatchError(
      () => requester.blind(["+4915112345678", "12"]),
      "invalid-input",
      /^entry 2: phone: "12" has no country code/,
    );
    const small = new PsiRequester({
      sessionId: newSession(),
      mode: "psi",
      type: "phone",
      maxElements: 3,
    });
    await expectMatchError(() => small.blind(randomPhones(4)), "too-large", /more than 3/);
  });
});

describe("psi: the HTTP server in process", function () {
  it("refuses a session the ledger hook does not grant (403) and records the failure", async function () {
    const granted = `0x${newSession().toString("hex")}`;
    const records: SessionRecord[] = [];
    const server = createMatchServer({
      identifiers: IdentifierSet.fromList("phone", randomPhones(10)),
      tokens: ["a-token-of-enough-length"],
      engine: new InlineEngine(),
      authorize: (header) => {
        if (header.sessionId !== granted)
          throw new MatchError("session-mismatch", `session ${header.sessionId} is not granted`);
      },
      onSession: (record) => records.push(record),
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const other = new PsiRequester({ sessionId: newSession(), mode: "psi", type: "phone" });
      const refused = await expectMatchError(
        async () =>
          exchangeOverHttp(url, "a-token-of-enough-length", await other.blind(randomPhones(3))),
        "session-mismatch",
        /403 session-mismatch.*not granted/,
      );
      expect(refused.message).not.to.include("\n");
      expect(records).to.have.length(1);
      expect(records[0]).to.include({ status: "failed", reason: "session-mismatch" });
      const ok = new PsiRequester({ sessionId: granted, mode: "cardinality", type: "phone" });
      const response = await exchangeOverHttp(
        url,
        "a-token-of-enough-length",
        await ok.blind(randomPhones(3)),
      );
      expect((await ok.finish(response)).cardinality).to.equal(0);
      expect(records[1]).to.include({ status: "completed", sessionId: granted });
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe("psi: the HTTP server's request checks", function () {
  const TOKEN = "a-token-of-enough-length";
  const OTHER = "another-token-of-enough-length";
  const cosigned: unknown[] = [];
  let server: Server;
  let url: string;
  before(async function () {
    server = createMatchServer({
      identifiers: IdentifierSet.fromList("phone", randomPhones(10)),
      tokens: [TOKEN, OTHER],
      engine: new InlineEngine(),
      cosign: (body) => {
        cosigned.push(body);
        return Promise.resolve({ ok: true });
      },
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async function () {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  /** POSTs `body` to `path` with the header lines given (a Host and a token unless replaced). */
  const post = (path: string, body: Buffer, lines: string[], type = "application/octet-stream") =>
    rawRequest(
      url,
      [
        `POST ${path} HTTP/1.1`,
        ...lines,
        `content-type: ${type}`,
        `content-length: ${body.length}`,
      ],
      body,
    );
  const errorOf = (a: RawAnswer) =>
    JSON.parse(a.body.toString("utf8")) as { code: string; detail: string; status: number };
  const session = async () =>
    Buffer.from(
      encodeMessage(
        await new PsiRequester({
          sessionId: newSession(),
          mode: "cardinality",
          type: "phone",
        }).blind(randomPhones(3)),
      ),
    );

  it("answers 400 to a session request with two Host headers", async function () {
    const host = `host: ${new URL(url).host}`;
    const auth = `authorization: Bearer ${TOKEN}`;
    expect((await post(MATCH_PATH, await session(), [host, auth])).status).to.equal(200);
    for (const second of [host, "host: evil.example"]) {
      const a = await post(MATCH_PATH, await session(), [host, second, auth]);
      expect(a.status, second).to.equal(400);
      expect(errorOf(a).detail).to.equal("more than one Host header");
    }
  });

  it("answers 401 to a request with two Authorization headers, even two valid ones", async function () {
    const host = `host: ${new URL(url).host}`;
    const auth = `authorization: Bearer ${TOKEN}`;
    for (const second of [auth, `authorization: Bearer ${OTHER}`]) {
      const a = await post(MATCH_PATH, await session(), [host, auth, second]);
      expect(a.status, second).to.equal(401);
      expect(errorOf(a)).to.deep.equal({
        type: "/problems/unauthorized",
        title: "A valid bearer token is required",
        status: 401,
        detail: "more than one Authorization header",
        code: "unauthorized",
      });
      expect(new Map(a.headers).get("content-type")).to.equal("application/problem+json");
      const r = await post(
        RESULT_PATH,
        Buffer.from("{}"),
        [host, auth, second],
        "application/json",
      );
      expect(r.status).to.equal(401);
    }
  });

  it("refuses to create a server with a token that is not printable ASCII", function () {
    for (const bad of ["tëst-token-0123456789", "test-token-012345\x7f6789", "a token with spaces"])
      expect(() =>
        createMatchServer({
          identifiers: IdentifierSet.fromList("phone", randomPhones(1)),
          tokens: [bad],
          engine: new InlineEngine(),
        }),
      ).to.throw(MatchError, /not printable ASCII/);
  });

  it("answers 400 to a result body nested deeper than 64 levels or not valid UTF-8", async function () {
    const lines = [`host: ${new URL(url).host}`, `authorization: Bearer ${TOKEN}`];
    const json = (b: Buffer) => post(RESULT_PATH, b, lines, "application/json");
    const before = cosigned.length;
    for (const body of [
      `${"[".repeat(30_000)}${"]".repeat(30_000)}`,
      `{"a":${"[".repeat(65)}${"]".repeat(65)}}`,
    ]) {
      const a = await json(Buffer.from(body));
      expect(a.status).to.equal(400);
      expect(errorOf(a)).to.deep.include({
        code: "malformed-message",
        status: 400,
        detail: "the body nests arrays and objects deeper than 64 levels",
      });
    }
    const invalid = await json(
      Buffer.concat([Buffer.from('{"a":"'), Buffer.of(0xff), Buffer.from('"}')]),
    );
    expect(invalid.status).to.equal(400);
    expect(errorOf(invalid).detail).to.equal("the body is not valid UTF-8");
    expect(cosigned.length).to.equal(before);
    const ok = await json(Buffer.from(`{"a":${"[".repeat(63)}"[[["${"]".repeat(63)}}`));
    expect(ok.status).to.equal(200);
    expect(cosigned.length).to.equal(before + 1);
  });

  it("echoes at most 80 characters of an unknown route", async function () {
    const lines = [`host: ${new URL(url).host}`, `authorization: Bearer ${TOKEN}`];
    const a = await post(`/${"p".repeat(5000)}`, Buffer.alloc(0), lines);
    expect(a.status).to.equal(404);
    expect(errorOf(a).detail).to.include(`"/${"p".repeat(79)}…"`);
    expect(errorOf(a).detail.length).to.be.below(200);
  });
});

describe("psi: the server reads the header first, whatever the TCP chunking", function () {
  const TOKEN = "a-token-of-enough-length";
  /** A server whose gate records, for each failed session, whether the gate had seen its header. */
  async function gated(maxElements: number) {
    const failures: { gated: boolean; reason: string }[] = [];
    const server = createMatchServer({
      identifiers: IdentifierSet.fromList("phone", randomPhones(2)),
      tokens: [TOKEN],
      engine: new InlineEngine(),
      maxElements,
      gate: () => {
        let seen = false;
        return {
          authorize: () => {
            seen = true;
          },
          failed: (f) => failures.push({ gated: seen, reason: f.reason }),
        };
      },
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return { server, failures, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
  }

  for (const [what, maxElements, phones, extra, status, reason] of [
    ["a message longer than its header", 10, 3, 1, 400, "malformed-message"],
    ["a count over the limit", 2, 3, 0, 413, "too-large"],
  ] as const) {
    it(`${what}: refused after the gate saw the header, in every chunking (${status})`, async function () {
      const { server, failures, url } = await gated(maxElements);
      try {
        for (const chunking of CHUNKINGS) {
          const requester = new PsiRequester({
            sessionId: newSession(),
            mode: "psi",
            type: "phone",
          });
          const bytes = encodeMessage(await requester.blind(randomPhones(phones)));
          const answer = await rawPost(
            url,
            { authorization: `Bearer ${TOKEN}` },
            Buffer.concat([bytes, Buffer.alloc(extra)]),
            chunking,
          );
          expect(answer.status, chunking).to.equal(status);
          expect(answer.body.code, chunking).to.equal(reason);
          expect(failures.at(-1), chunking).to.deep.equal({ gated: true, reason });
        }
        expect(failures).to.have.length(CHUNKINGS.length);
      } finally {
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    });
  }
});

// ---------------------------------------------------------------------------------------------
// The command line, as separate processes.

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Stdout's bytes (a message written with --out -). */
  stdoutBytes: Buffer;
}

/** Runs `veritrace …`; `input`, if given, is its stdin. */
function runCli(
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
  input?: string | Buffer,
): Promise<CliResult> {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
  });
  // A command that stops reading (an input over its limit) closes the pipe: EPIPE is expected.
  child.stdin?.on("error", () => {});
  if (input !== undefined) child.stdin?.end(input);
  const out: Buffer[] = [];
  let stderr = "";
  child.stdout?.on("data", (c: Buffer) => out.push(c));
  child.stderr?.on("data", (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code) => {
      const stdoutBytes = Buffer.concat(out);
      resolve({ code, stdout: stdoutBytes.toString(), stderr, stdoutBytes });
    });
  });
}

/** Exactly one line on stderr, naming the command, matching `pattern`. */
function expectOneLineError(result: CliResult, command: string, pattern: RegExp, code = 1): void {
  const lines = result.stderr.split("\n").filter((l) => l.length > 0);
  expect(lines, result.stderr).to.have.length(1);
  expect(lines[0]).to.match(new RegExp(`^veritrace ${command}: `));
  expect(lines[0]).to.match(pattern);
  expect(result.code).to.equal(code);
}

interface Served {
  child: ChildProcess;
  url: string;
  lines: string[];
  stop(): Promise<void>;
}

/** `veritrace match serve` on a free port; resolves with its URL from its first JSON line. */
async function serve(args: readonly string[]): Promise<Served> {
  const child = spawn(
    process.execPath,
    [BIN, "match", "serve", "--port", "0", "--no-ledger", ...args],
    {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let stderr = "";
  child.stderr?.on("data", (c: Buffer) => (stderr += c.toString()));
  const lines: string[] = [];
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", (line) => {
      lines.push(line);
      const entry = JSON.parse(line) as { msg?: string; url?: string };
      if (entry.msg === "listening" && entry.url !== undefined) resolve(entry.url);
    });
    child.once("exit", (code) => reject(new Error(`match serve exited (${code}): ${stderr}`)));
  });
  return {
    child,
    url,
    lines,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) resolve();
        else {
          child.once("exit", () => resolve());
          child.kill("SIGTERM");
        }
      }),
  };
}

describe("veritrace match: two processes over HTTP", function () {
  this.timeout(60_000);
  let dir: string;
  let server: Served;
  const file = (name: string) => path.join(dir, name);
  const session = randomBytes(32).toString("hex");
  const common = randomPhones(15);
  const mine = [...common, ...randomPhones(45, new Set(common))];
  const theirs = [...randomPhones(80, new Set(mine)), ...common];

  before(async function () {
    dir = mkdtempSync(path.join(tmpdir(), "veritrace-psi-cli-"));
    writeFileSync(file("mine.txt"), `${mine.join("\n")}\n`);
    writeFileSync(file("theirs.txt"), `${theirs.join("\n")}\n`);
    writeFileSync(file("token"), `${randomBytes(24).toString("hex")}\n`, { mode: 0o600 });
    writeFileSync(file("wrong-token"), `${randomBytes(24).toString("hex")}\n`);
    server = await serve([
      "--input",
      file("theirs.txt"),
      "--type",
      "phone",
      "--token-file",
      file("token"),
      "--max-elements",
      "100",
      "--threads",
      "0",
    ]);
  });
  after(async function () {
    await server?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  const runArgs = (extra: string[] = [], input = file("mine.txt")) => [
    "match",
    "run",
    "--no-ledger",
    "--peer",
    server.url,
    "--session",
    session,
    "--mode",
    "psi",
    "--type",
    "phone",
    "--input",
    input,
    "--threads",
    "0",
    ...extra,
  ];

  it("match run finds the intersection; both sides hold the same transcript digest", async function () {
    const result = await runCli(
      runArgs(["--token-file", file("token"), "--out", file("result.json")]),
    );
    expect(result.code, result.stderr).to.equal(0);
    expect(result.stdout).to.match(/15 of 60 identifiers match; the provider holds 95/);
    const written = JSON.parse(readFileSync(file("result.json"), "utf8")) as PsiResult;
    expect([...(written.matches ?? [])].sort()).to.deep.equal([...common].sort());
    expect(statSync(file("result.json")).mode & 0o777).to.equal(0o600);
    const logged = server.lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l["msg"] === "session");
    expect(logged?.["status"]).to.equal("completed");
    expect(logged?.["transcriptDigest"]).to.equal(written.transcriptDigest);
  });

  it("cardinality mode over HTTP prints a count and no identifier (token from the environment)", async function () {
    const args = runArgs(["--json"]).map((a) => (a === "psi" ? "cardinality" : a));
    const token = readFileSync(file("token"), "utf8").trim();
    const result = await runCli(args, { VERITRACE_MATCH_TOKEN: token });
    expect(result.code, result.stderr).to.equal(0);
    // JSON on stdout is one line, as everywhere.
    expect(result.stdout.trimEnd().split("\n")).to.have.length(1);
    const out = JSON.parse(result.stdout) as PsiResult;
    expect(out.cardinality).to.equal(15);
    expect(out).not.to.have.property("matches");
    for (const phone of mine) expect(result.stdout).not.to.include(phone.slice(1));
  });

  it("a wrong token: 401 from the server, one line and exit 1 from the CLI", async function () {
    const result = await runCli(runArgs(["--token-file", file("wrong-token")]));
    expectOneLineError(result, "match run", /401 unauthorized/);
    expect(result.stdout).to.equal("");
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(new URL(MATCH_PATH, server.url), {
        method: "POST",
        headers: { authorization: "Bearer not-the-token-at-all" },
      });
      req.on("response", (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", reject);
      req.end("x");
    });
    expect(status).to.equal(401);
  });

  it("an input over the server's limit is refused (413), nothing written", async function () {
    writeFileSync(file("many.txt"), `${randomPhones(120).join("\n")}\n`);
    const result = await runCli(
      runArgs(["--token-file", file("token"), "--out", file("many.json")], file("many.txt")),
    );
    expectOneLineError(result, "match run", /413 too-large.*120 elements/);
    expect(existsSync(file("many.json"))).to.equal(false);
  });

  it("a bad identifier: one line naming the line, exit 1, no request sent", async function () {
    writeFileSync(file("bad.txt"), "+4915112345678\n+49 151 oops\n");
    const result = await runCli(runArgs(["--token-file", file("token")], file("bad.txt")));
    expectOneLineError(result, "match run", /bad\.txt line 2: phone: "\+49 151 oops"/);
  });

  it("a client that goes away mid-request leaves the server ready for the next", async function () {
    const token = readFileSync(file("token"), "utf8").trim();
    await new Promise<void>((resolve) => {
      const req = httpRequest(new URL(MATCH_PATH, server.url), {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-length": "5000" },
      });
      req.on("error", () => resolve());
      req.write('{"protocol":"veritrace-psi/2"', () => setTimeout(() => req.destroy(), 100));
      req.on("close", () => resolve());
    });
    const result = await runCli(runArgs(["--token-file", file("token"), "--json"]));
    expect(result.code, result.stderr).to.equal(0);
    expect((JSON.parse(result.stdout) as PsiResult).cardinality).to.equal(15);
  });

  it("match serve refuses a token that is not printable ASCII: one line, from the environment or a file", async function () {
    const serveArgs = [
      "match",
      "serve",
      "--no-ledger",
      "--input",
      file("theirs.txt"),
      "--type",
      "phone",
    ];
    const fromEnv = await runCli(serveArgs, {
      VERITRACE_MATCH_TOKEN: "tëst-token-0123456789abcdef",
    });
    expectOneLineError(
      fromEnv,
      "match serve",
      /VERITRACE_MATCH_TOKEN is not a token: printable ASCII only/,
    );
    writeFileSync(file("bad-token"), "test-token-\x7f0123456789abcdef\n");
    const fromFile = await runCli([...serveArgs, "--token-file", file("bad-token")]);
    expectOneLineError(
      fromFile,
      "match serve",
      /bad-token line 1 is not a token: printable ASCII only/,
    );
  });

  it("a token on the command line is not an option", async function () {
    const result = await runCli([...runArgs(), "--token", "abc"]);
    expect(result.code).to.equal(2);
  });

  it("--country takes a country or a calling code; anything else is one usage error", async function () {
    for (const bad of ["XX", "999", "Germany"]) {
      const result = await runCli([...runArgs(["--token-file", file("token")]), "--country", bad]);
      expect(result.code, result.stderr).to.equal(2);
      expect(result.stderr.trim().split("\n")).to.have.length(1);
      expect(result.stderr).to.include(
        `--country must be a country (ISO 3166, e.g. DE) or a country calling code (e.g. 49), got "${bad}"`,
      );
    }
  });
});

describe("veritrace match: air-gapped files", function () {
  this.timeout(60_000);
  let dir: string;
  const file = (name: string) => path.join(dir, name);
  before(function () {
    dir = mkdtempSync(path.join(tmpdir(), "veritrace-psi-files-"));
  });
  after(function () {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it("blind, respond, finish; the state is private and removed; tampering leaves no result", async function () {
    const session = randomBytes(32).toString("hex");
    const common = randomPhones(4);
    writeFileSync(file("mine.txt"), [...common, ...randomPhones(6)].join("\n"));
    writeFileSync(file("theirs.txt"), [...randomPhones(9), ...common].join("\n"));
    const blind = await runCli([
      "match",
      "blind",
      "--no-ledger",
      "--session",
      session,
      "--mode",
      "psi",
      "--type",
      "phone",
      "--input",
      file("mine.txt"),
      "--out",
      file("request.bin"),
      "--state",
      file("state.json"),
    ]);
    expect(blind.code, blind.stderr).to.equal(0);
    expect(statSync(file("state.json")).mode & 0o777).to.equal(0o600);

    const respond = await runCli([
      "match",
      "respond",
      "--no-ledger",
      "--request",
      file("request.bin"),
      "--type",
      "phone",
      "--input",
      file("theirs.txt"),
      "--out",
      file("response.bin"),
      "--session",
      session,
      "--json",
    ]);
    expect(respond.code, respond.stderr).to.equal(0);
    const provider = JSON.parse(respond.stdout) as { transcriptDigest: string };

    // A tampered copy of the response: finish refuses it, writes nothing, keeps the state.
    const tampered = readFileSync(file("response.bin"));
    flip(tampered, tampered.length - 1, 0x01);
    writeFileSync(file("tampered.bin"), tampered);
    const refused = await runCli([
      "match",
      "finish",
      "--no-ledger",
      "--state",
      file("state.json"),
      "--response",
      file("tampered.bin"),
      "--out",
      file("result.json"),
    ]);
    expectOneLineError(refused, "match finish", /tampered\.bin: the body's SHA-256/);
    expect(existsSync(file("result.json"))).to.equal(false);
    expect(existsSync(file("state.json"))).to.equal(true);

    const finish = await runCli([
      "match",
      "finish",
      "--no-ledger",
      "--state",
      file("state.json"),
      "--response",
      file("response.bin"),
      "--out",
      file("result.json"),
    ]);
    expect(finish.code, finish.stderr).to.equal(0);
    const result = JSON.parse(readFileSync(file("result.json"), "utf8")) as PsiResult;
    expect([...(result.matches ?? [])].sort()).to.deep.equal([...common].sort());
    expect(result.transcriptDigest).to.equal(provider.transcriptDigest);
    expect(existsSync(file("state.json"))).to.equal(false);
    expect(readResponseFile(file("response.bin")).header.providerCount).to.equal(13);
  });

  it("blind, respond and finish read their input from stdin (-), as the files carried would be piped", async function () {
    const session = randomBytes(32).toString("hex");
    const common = randomPhones(3);
    const mine = [...common, ...randomPhones(5)];
    writeFileSync(file("theirs-piped.txt"), [...randomPhones(6), ...common].join("\n"));
    const blind = await runCli(
      [
        "match",
        "blind",
        "--no-ledger",
        "--session",
        session,
        "--mode",
        "psi",
        "--type",
        "phone",
        "--input",
        "-",
        "--out",
        file("piped-request.bin"),
        "--state",
        file("piped-state.json"),
      ],
      {},
      `# piped\n${mine.join("\n")}\n`,
    );
    expect(blind.code, blind.stderr).to.equal(0);
    const respondArgs = [
      "match",
      "respond",
      "--no-ledger",
      "--type",
      "phone",
      "--out",
      file("piped-response.bin"),
    ];
    const respond = await runCli(
      [...respondArgs, "--request", "-", "--input", file("theirs-piped.txt")],
      {},
      readFileSync(file("piped-request.bin")),
    );
    expect(respond.code, respond.stderr).to.equal(0);
    const finish = await runCli(
      [
        "match",
        "finish",
        "--no-ledger",
        "--state",
        file("piped-state.json"),
        "--response",
        "-",
        "--json",
      ],
      {},
      readFileSync(file("piped-response.bin")),
    );
    expect(finish.code, finish.stderr).to.equal(0);
    expect(finish.stdout.trimEnd().split("\n")).to.have.length(1);
    const result = JSON.parse(finish.stdout) as PsiResult;
    expect([...(result.matches ?? [])].sort()).to.deep.equal([...common].sort());

    // The identifiers from stdin are named "stdin" with their line.
    const bad = await runCli(
      [...respondArgs, "--request", file("piped-request.bin"), "--input", "-"],
      {},
      "+4915112345678\n+49 151 oops\n",
    );
    expectOneLineError(bad, "match respond", /stdin line 2: phone: "\+49 151 oops"/);
    // A request on stdin over the limits is refused, naming stdin: by its count, and by its size
    // (read no further than the limit allows).
    writeFileSync(file("one.txt"), `${common[0] ?? ""}\n`);
    const over = (max: string, request: Buffer) =>
      runCli(
        [...respondArgs, "--request", "-", "--input", file("one.txt"), "--max-elements", max],
        {},
        request,
      );
    const request = readFileSync(file("piped-request.bin"));
    expectOneLineError(
      await over("4", request),
      "match respond",
      /: stdin: the message holds 8 elements, more than the limit of 4$/,
    );
    expectOneLineError(
      await over("8", Buffer.concat([request, Buffer.alloc(1_000_000)])),
      "match respond",
      /: stdin: more than [\d,]+ bytes \(--max-elements\)$/,
    );
    expect(existsSync(file("piped-response.bin"))).to.equal(true);
  });

  it("only one input may be - (stdin); state and tokens never are: one usage line, exit 2, nothing written", async function () {
    const session = randomBytes(32).toString("hex");
    const twice = await runCli(
      [
        "match",
        "respond",
        "--no-ledger",
        "--request",
        "-",
        "--type",
        "phone",
        "--input",
        "-",
        "--out",
        file("never.bin"),
      ],
      {},
      "",
    );
    expectOneLineError(
      twice,
      "match respond",
      /only one input can be - \(stdin\), which is read once; got - for --request and --input$/,
      2,
    );
    expect(existsSync(file("never.bin"))).to.equal(false);
    const state = await runCli(
      [
        "match",
        "blind",
        "--no-ledger",
        "--session",
        session,
        "--mode",
        "psi",
        "--type",
        "phone",
        "--input",
        file("theirs-piped.txt"),
        "--out",
        file("never.bin"),
        "--state",
        "-",
      ],
      {},
      "",
    );
    expectOneLineError(state, "match blind", /--state cannot be - \(stdin\): the state holds/, 2);
    expect(existsSync(file("never.bin"))).to.equal(false);
    const token = await runCli(
      [
        "match",
        "run",
        "--no-ledger",
        "--peer",
        "http://127.0.0.1:9",
        "--session",
        session,
        "--mode",
        "psi",
        "--type",
        "phone",
        "--input",
        file("theirs-piped.txt"),
        "--token-file",
        "-",
      ],
      {},
      "a-token-that-would-be-long-enough-0123456789\n",
    );
    expectOneLineError(token, "match run", /--token-file cannot be - \(stdin\)/, 2);
  });

  it("--out - writes the request, the response and the result to stdout, the sentence to stderr, as the files would hold them", async function () {
    const session = randomBytes(32).toString("hex");
    const common = randomPhones(3);
    writeFileSync(file("mine-out.txt"), [...common, ...randomPhones(4)].join("\n"));
    writeFileSync(file("theirs-out.txt"), [...randomPhones(5), ...common].join("\n"));
    const blindArgs = (out: string, state: string) => [
      "match",
      "blind",
      "--no-ledger",
      "--session",
      session,
      "--mode",
      "psi",
      "--type",
      "phone",
      "--input",
      file("mine-out.txt"),
      "--out",
      out,
      "--state",
      state,
    ];
    const respondArgs = (request: string, out: string) => [
      "match",
      "respond",
      "--no-ledger",
      "--request",
      request,
      "--type",
      "phone",
      "--input",
      file("theirs-out.txt"),
      "--out",
      out,
    ];
    const finishArgs = (state: string, response: string, out: string) => [
      "match",
      "finish",
      "--no-ledger",
      "--state",
      state,
      "--response",
      response,
      "--out",
      out,
    ];
    // The session through files, the control.
    for (const r of [
      await runCli(blindArgs(file("out-request.bin"), file("out-state-1.json"))),
      await runCli(respondArgs(file("out-request.bin"), file("out-response.bin"))),
      await runCli(
        finishArgs(file("out-state-1.json"), file("out-response.bin"), file("out-result.json")),
      ),
    ])
      expect(r.code, r.stderr).to.equal(0);
    const fromFiles = JSON.parse(readFileSync(file("out-result.json"), "utf8")) as PsiResult;

    // The same session through stdout (and stdin): blinding is randomized, so the messages are
    // compared by their headers and the result by what it finds.
    const blind = await runCli(blindArgs("-", file("out-state-2.json")));
    expect(blind.code, blind.stderr).to.equal(0);
    expect(blind.stderr).to.match(
      /^request for tag 0x[0-9a-f]{64} \(psi\): 7 identifiers on stdout; keep .*out-state-2\.json private until match finish\n$/,
    );
    const request = decodeRequest(blind.stdoutBytes);
    const control = decodeRequest(readFileSync(file("out-request.bin")));
    expect({ ...request.header, bodySha256: "" }).to.deep.equal({
      ...control.header,
      bodySha256: "",
    });

    const respond = await runCli(respondArgs("-", "-"), {}, blind.stdoutBytes);
    expect(respond.code, respond.stderr).to.equal(0);
    expect(respond.stderr).to.match(
      /: 7 re-blinded, 8 of ours, on stdout\ntranscript 0x[0-9a-f]{64}\n$/,
    );
    const response = decodeResponse(respond.stdoutBytes);
    expect([response.header.requestDigest, response.header.providerCount]).to.deep.equal([
      request.digest,
      8,
    ]);

    const finish = await runCli(
      finishArgs(file("out-state-2.json"), "-", "-"),
      {},
      respond.stdoutBytes,
    );
    expect(finish.code, finish.stderr).to.equal(0);
    expect(finish.stderr).to.equal("");
    // The result document on stdout, as --out FILE holds it (and as without --out).
    const result = JSON.parse(finish.stdout) as PsiResult;
    expect(Object.keys(result)).to.deep.equal(Object.keys(fromFiles));
    expect([...(result.matches ?? [])].sort()).to.deep.equal([...(fromFiles.matches ?? [])].sort());
    expect([...(result.matches ?? [])].sort()).to.deep.equal([...common].sort());
    expect(existsSync(file("out-state-2.json"))).to.equal(false);
    expect(existsSync(path.join(ROOT, "-")), "a file named - in the working directory").to.equal(
      false,
    );
  });

  it("--out - refuses what stdout can't carry beside the output: one usage line, exit 2, nothing written", async function () {
    const session = randomBytes(32).toString("hex");
    writeFileSync(file("refused.txt"), `${randomPhones(1)[0] ?? ""}\n`);
    const blind = (...extra: string[]) =>
      runCli([
        "match",
        "blind",
        "--session",
        session,
        "--mode",
        "psi",
        "--type",
        "phone",
        "--input",
        file("refused.txt"),
        "--state",
        file("refused-state.json"),
        ...extra,
      ]);
    // Checked before the ledger is reached: these files need not exist.
    const ledger = [
      "--request",
      "1",
      "--rpc",
      "http://127.0.0.1:9",
      "--deployment",
      file("no-deployment.json"),
      "--keystore",
      file("no-keystore.json"),
    ];
    const cases: [string, CliResult, RegExp][] = [
      [
        "match blind",
        await blind("--no-ledger", "--out", "-", "--json"),
        /--out - writes the request to stdout, where --json would print its summary: give --out FILE with --json$/,
      ],
      [
        "match blind",
        await blind(...ledger, "--out", "-"),
        /--out - writes the request to stdout, with nothing beside it: give --signature-out FILE for its signature$/,
      ],
      [
        "match blind",
        await blind(...ledger, "--out", file("refused.bin"), "--signature-out", "-"),
        /--signature-out cannot be - \(stdout\): the signature is a file of its own/,
      ],
      [
        "match blind",
        await blind("--no-ledger", "--out", "-", "--signature-out", file("refused.sig.json")),
        /--signature-out goes with the ledger/,
      ],
      [
        "match respond",
        await runCli([
          "match",
          "respond",
          "--no-ledger",
          "--request",
          file("piped-request.bin"),
          "--type",
          "phone",
          "--input",
          file("refused.txt"),
          "--out",
          "-",
          "--json",
        ]),
        /--out - writes the response to stdout, where --json would print its summary/,
      ],
      [
        "match finish",
        await runCli([
          "match",
          "finish",
          ...ledger.slice(2),
          "--state",
          file("refused-state.json"),
          "--response",
          file("piped-response.bin"),
          "--to-cosign",
          "-",
        ]),
        /--to-cosign cannot be - \(stdout\): the signed result is a file carried to the provider/,
      ],
    ];
    for (const [command, result, pattern] of cases) {
      expectOneLineError(result, command, pattern, 2);
      expect(result.stdout).to.equal("");
    }
    for (const never of ["refused-state.json", "refused.bin", "refused.sig.json", "-"])
      expect(existsSync(file(never)), never).to.equal(false);
    expect(existsSync(path.join(ROOT, "-")), "a file named - in the working directory").to.equal(
      false,
    );
  });
});
