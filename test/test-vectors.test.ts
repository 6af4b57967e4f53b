import { expect } from "chai";
import { createHash, createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  CASE_NUMBER_TAG,
  InputError,
  SUBJECT_TAG,
  commitCaseNumber,
  commitSubject,
  normalizeIdentifier,
} from "../src/client/index.js";
import {
  HASH_DOMAIN,
  hashToCurve,
  isCanonical,
  isOnCurve,
  decodeU,
  multiplyAll,
} from "../src/matching/group.js";
import { PROTOCOL, buildRequest, buildResponse } from "../src/matching/messages.js";
import { resultCommitment, transcriptDigest } from "../src/matching/session.js";
import { buildTestVectors, type TestVectors } from "../scripts/lib/test-vectors.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const vectors = JSON.parse(
  readFileSync(path.join(ROOT, "docs", "test-vectors.json"), "utf8"),
) as TestVectors;

const bytes = (hex: string) => Buffer.from(hex.slice(2), "hex");
const hex = (b: Uint8Array) => `0x${Buffer.from(b).toString("hex")}`;
const sha256 = (...parts: Uint8Array[]) => {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return hex(h.digest());
};
const hmac = (key: string, message: string) =>
  hex(createHmac("sha256", bytes(key)).update(message, "utf8").digest());
const options = (v: { defaultCountry?: string }) =>
  v.defaultCountry === undefined ? {} : { defaultCountryCode: v.defaultCountry };

describe("docs/test-vectors.json: every known answer recomputes", function () {
  it("is what the code computes today, vector for vector (regenerate: scripts/test-vectors.ts)", function () {
    // The metadata version is informative: a newer one passes as long as every vector holds.
    const expected: Partial<TestVectors> = buildTestVectors();
    const published: Partial<TestVectors> = { ...vectors };
    delete expected.libphonenumberJs;
    delete published.libphonenumberJs;
    expect(published).to.deep.equal(expected);
  });

  it("names the domain tags in force", function () {
    expect(vectors.tags).to.deep.equal({
      subject: SUBJECT_TAG,
      caseNumber: CASE_NUMBER_TAG,
      psiHash: HASH_DOMAIN,
      protocol: PROTOCOL,
    });
    expect(SUBJECT_TAG).to.equal("veritrace:subject:v2");
    expect(HASH_DOMAIN).to.equal("veritrace:psi:v2");
  });

  it("normalizes each input to the published form, and the form to itself", function () {
    expect(vectors.normalization.length).to.be.greaterThan(20);
    for (const v of vectors.normalization) {
      expect(normalizeIdentifier(v.type, v.input, options(v)), v.input).to.equal(v.normalized);
      expect(normalizeIdentifier(v.type, v.normalized), v.normalized).to.equal(v.normalized);
    }
  });

  it("refuses each published refusal with the published reason", function () {
    expect(vectors.refusals.length).to.be.greaterThan(5);
    for (const v of vectors.refusals) {
      expect(() => normalizeIdentifier(v.type, v.input, options(v)), v.input)
        .to.throw(InputError)
        .with.property("message", v.error);
    }
  });

  it("commits subjects as HMAC-SHA256(caseKey, tag:type:normalized)", function () {
    for (const v of vectors.subjectCommitments) {
      expect(v.message).to.equal(`veritrace:subject:v2:${v.type}:${v.normalized}`);
      expect(hmac(v.caseKey, v.message)).to.equal(v.commitment);
      expect(commitSubject(v.type, v.normalized, v.caseKey)).to.equal(v.commitment);
    }
  });

  it("commits case numbers as HMAC-SHA256(caseKey, tag:number)", function () {
    for (const v of vectors.caseNumberCommitments) {
      expect(v.message).to.equal(`veritrace:case-number:v1:${v.caseNumber}`);
      expect(hmac(v.caseKey, v.message)).to.equal(v.commitment);
      expect(commitCaseNumber(v.caseNumber, v.caseKey)).to.equal(v.commitment);
    }
  });

  it("hashes onto the curve at the published try, every earlier try off the curve", function () {
    for (const v of vectors.hashToCurve) {
      const prefix = Buffer.concat([
        Buffer.from("veritrace:psi:v2\0", "utf8"),
        bytes(v.sessionId),
        Buffer.from(`${v.type}\0${v.normalized}\0`, "utf8"),
      ]);
      expect(hex(prefix)).to.equal(v.prefix);
      for (let j = 0; j <= v.tries; j++) {
        const u = createHash("sha512").update(prefix).update(Uint8Array.of(j)).digest();
        u[31] = (u[31] ?? 0) & 0x7f;
        const point = u.subarray(0, 32);
        const accepted = isCanonical(point) && isOnCurve(decodeU(point));
        expect(accepted, `${v.normalized} try ${j}`).to.equal(j === v.tries);
        if (j === v.tries) expect(hex(point)).to.equal(v.point);
      }
      expect(hex(hashToCurve(bytes(v.sessionId), v.type, v.normalized))).to.equal(v.point);
    }
  });

  it("blinds, digests the messages, and commits to the result as published", function () {
    expect(vectors.sessions.map((s) => s.mode)).to.deep.equal(["psi", "cardinality"]);
    for (const s of vectors.sessions) {
      const sid = bytes(s.sessionId);
      const a = bytes(s.requesterScalar);
      const b = bytes(s.providerScalar);
      const hashAll = (ids: string[]) => Buffer.concat(ids.map((x) => hashToCurve(sid, s.type, x)));
      const requestPoints = multiplyAll(a, hashAll(s.requesterIdentifiers));
      expect(s.requestPoints).to.deep.equal(
        s.requestPoints.map((_, i) => hex(requestPoints.subarray(i * 32, i * 32 + 32))),
      );
      const request = buildRequest(
        { sessionId: s.sessionId, mode: s.mode, type: s.type },
        requestPoints,
      );
      expect(request.headerBytes.toString("utf8")).to.equal(s.requestHeader);
      expect(sha256(Buffer.from(s.requestHeader, "utf8"), requestPoints)).to.equal(s.requestDigest);
      expect(request.digest).to.equal(s.requestDigest);

      const reblinded = multiplyAll(b, requestPoints);
      const providerPoints = multiplyAll(b, hashAll(s.providerIdentifiers));
      expect(Buffer.concat(s.reblinded.map(bytes))).to.deep.equal(reblinded);
      expect(Buffer.concat(s.providerPoints.map(bytes))).to.deep.equal(providerPoints);
      const response = buildResponse(
        { sessionId: s.sessionId, mode: s.mode, type: s.type, requestDigest: s.requestDigest },
        reblinded,
        providerPoints,
      );
      expect(response.headerBytes.toString("utf8")).to.equal(s.responseHeader);
      expect(sha256(Buffer.from(s.responseHeader, "utf8"), reblinded, providerPoints)).to.equal(
        s.responseDigest,
      );
      expect(response.digest).to.equal(s.responseDigest);
      expect(transcriptDigest(s.requestDigest, s.responseDigest)).to.equal(s.transcriptDigest);
      expect(s.transcriptDigest).to.equal(
        sha256(
          Buffer.from("veritrace:psi:transcript:v1\0"),
          bytes(s.requestDigest),
          bytes(s.responseDigest),
        ),
      );

      const doubly = new Set(s.providerPoints.map((p) => hex(multiplyAll(a, bytes(p)))));
      const matching = s.reblinded.flatMap((p, i) => (doubly.has(p) ? [i] : []));
      expect(matching.map((i) => s.requesterIdentifiers[i])).to.deep.equal(s.matches);
      expect(s.matches).to.deep.equal(
        s.requesterIdentifiers.filter((x) => s.providerIdentifiers.includes(x)),
      );
      const count = Buffer.alloc(4);
      count.writeUInt32BE(matching.length);
      const sorted = matching.map((i) => bytes(s.reblinded[i] as string)).sort(Buffer.compare);
      expect(
        sha256(
          Buffer.from("veritrace:psi:result:v1\0"),
          sid,
          Buffer.from(`${s.mode}\0`),
          bytes(s.resultSalt),
          count,
          ...sorted,
        ),
      ).to.equal(s.resultCommitment);
      expect(
        resultCommitment({
          sessionId: s.sessionId,
          mode: s.mode,
          salt: bytes(s.resultSalt),
          cardinality: matching.length,
          matchingValues: sorted,
        }),
      ).to.equal(s.resultCommitment);
    }
  });
});
