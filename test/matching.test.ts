import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { expect } from "chai";
import { TypedDataEncoder, ZeroHash, id as keccakText, type TypedDataDomain } from "ethers";
import { network } from "hardhat";
import {
  ContractRevertError,
  InputError,
  MATCH_RESPONSE_TYPES,
  MATCH_RESULT_TYPES,
  MatchFailure,
  VeritraceError,
  failMatchSession,
  matchResponseDigest,
  matchResponseOf,
  matchResultDigest,
  matchResultOf,
  matchSession,
  matchSessionByTag,
  matchingDomain,
  newSessionTag,
  openMatchSession,
  recordMatchResponse,
  recordMatchResult,
  recoverMatchSigner,
  requireOpenMatchSession,
  signMatchResponse,
  signMatchResult,
  type Bytes32,
  type MatchResponse,
  type MatchResult,
} from "../src/client/index.js";
import { addSigningKey, openApprovedCase, RequestStatus, suspend } from "./helpers/access.js";
import { DAY, DataKind, commitment, deployConsortium, scopeOf } from "./helpers/fixture.js";

const { ethers, networkHelpers } = await network.create();
const { time } = networkHelpers;

const CASE_DURATION = 30 * DAY;
const GRANT_DURATION = 10 * DAY;
const MAX_RECORDS = 100n;
const SET_SIZE = 40n;
const TAG = commitment("session tag 1");
const REQUEST_DIGEST = commitment("request message 1");
const RESPONSE_DIGEST = commitment("response message 1");
const RESULT_COMMITMENT = commitment("result 1");

/** Mode and SessionStatus, in the order of IMatchingLedger. */
const Mode = { Psi: 0, Cardinality: 1 } as const;
const Status = { None: 0, Open: 1, Responded: 2, Completed: 3, Failed: 4 } as const;

type Party = { signer: string; signature: string };

/**
 * The consortium with an approved case (bank accounts), the bank's dataset, and request 1 of the
 * police to the bank, granted for GRANT_DURATION and MAX_RECORDS.
 */
async function deployGranted() {
  const c = await deployConsortium(ethers);
  const caseExpiry = (await time.latest()) + CASE_DURATION;
  const caseId = await openApprovedCase(
    c.cases,
    c.police,
    c.prosecutor,
    "CASE-PSI-1",
    scopeOf(DataKind.BankAccounts),
    caseExpiry,
  );
  await (
    await c.access.connect(c.bank).registerDataset(DataKind.BankAccounts, commitment("schema"))
  ).wait();
  await (
    await c.access.connect(c.police).request(caseId, c.ids.bank, 1n, commitment("subjects"), 7)
  ).wait();
  const requestId = 1n;
  const grantExpiry = (await time.latest()) + GRANT_DURATION;
  await (await c.access.connect(c.bank).grant(requestId, grantExpiry, MAX_RECORDS)).wait();
  const domain = await matchingDomain(c);
  const [relayer, stranger, walletOwner] = c.others;
  if (relayer === undefined || stranger === undefined || walletOwner === undefined)
    throw new Error("signers");
  return {
    ...c,
    caseId,
    caseExpiry,
    requestId,
    grantExpiry,
    domain,
    relayer,
    stranger,
    walletOwner,
  };
}

type Fixture = Awaited<ReturnType<typeof deployGranted>>;

/** deployGranted, plus session 1 opened by the police (psi, SET_SIZE identifiers). */
async function deployOpen() {
  const f = await deployGranted();
  await (
    await f.matching.connect(f.police).open(f.requestId, Mode.Psi, TAG, REQUEST_DIGEST, SET_SIZE)
  ).wait();
  return { ...f, sessionId: 1n };
}

type Open = Awaited<ReturnType<typeof deployOpen>>;

/** The bank's response to session 1, with overrides. */
function responseOf(f: Open, overrides: Partial<MatchResponse> = {}): MatchResponse {
  return {
    sessionId: f.sessionId,
    tag: TAG,
    requestDigest: REQUEST_DIGEST,
    responseDigest: RESPONSE_DIGEST,
    providerSetSize: 500n,
    ...overrides,
  };
}

/** `key` signs `m` as type MatchResponse; `signer` (default: the key) is the address named. */
async function signResponse(
  f: Fixture,
  key: HardhatEthersSigner,
  m: MatchResponse,
  signer?: string,
): Promise<Party> {
  return {
    signer: signer ?? key.address,
    signature: await key.signTypedData(f.domain, MATCH_RESPONSE_TYPES, m),
  };
}

async function signResult(
  f: Fixture,
  key: HardhatEthersSigner,
  m: MatchResult,
  signer?: string,
): Promise<Party> {
  return {
    signer: signer ?? key.address,
    signature: await key.signTypedData(f.domain, MATCH_RESULT_TYPES, m),
  };
}

/** deployOpen, plus the bank's response recorded by the police. */
async function deployResponded() {
  const f = await deployOpen();
  const m = responseOf(f);
  await (
    await f.matching.connect(f.police).recordResponse(m, await signResponse(f, f.bank, m))
  ).wait();
  return f;
}

type Responded = Awaited<ReturnType<typeof deployResponded>>;

function resultOf(f: Responded, overrides: Partial<MatchResult> = {}): MatchResult {
  return {
    sessionId: f.sessionId,
    tag: TAG,
    requestDigest: REQUEST_DIGEST,
    responseDigest: RESPONSE_DIGEST,
    resultCommitment: RESULT_COMMITMENT,
    cardinality: 7n,
    ...overrides,
  };
}

/** Both parties' signatures of `m` by their first keys. */
async function cosign(f: Responded, m: MatchResult): Promise<[Party, Party]> {
  return [await signResult(f, f.bank, m), await signResult(f, f.police, m)];
}

async function complete(f: Responded, m: MatchResult = resultOf(f)) {
  const [p, q] = await cosign(f, m);
  return f.matching.connect(f.relayer).recordResult(m, p, q);
}

/** The error a promise rejects with (fails the test if it resolves). */
async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected a rejection");
}

describe("MatchingLedger", function () {
  describe("constructor", function () {
    it("binds the participant registry, the case registry and the access ledger", async function () {
      const f = await networkHelpers.loadFixture(deployGranted);
      expect(await f.matching.registry()).to.equal(await f.registry.getAddress());
      expect(await f.matching.cases()).to.equal(await f.cases.getAddress());
      expect(await f.matching.access()).to.equal(await f.access.getAddress());
    });

    it("exposes the EIP-712 domain 'Veritrace Matching Ledger' version 1 (ERC-5267)", async function () {
      const f = await networkHelpers.loadFixture(deployGranted);
      const d = await f.matching.eip712Domain();
      expect(d.name).to.equal("Veritrace Matching Ledger");
      expect(d.version).to.equal("1");
      expect(d.chainId).to.equal((await ethers.provider.getNetwork()).chainId);
      expect(d.verifyingContract).to.equal(await f.matching.getAddress());
    });

    it("declares the type hashes of MatchResponse and MatchResult", async function () {
      const f = await networkHelpers.loadFixture(deployGranted);
      expect(await f.matching.MATCH_RESPONSE_TYPEHASH()).to.equal(
        keccakText(TypedDataEncoder.from(MATCH_RESPONSE_TYPES).encodeType("MatchResponse")),
      );
      expect(await f.matching.MATCH_RESULT_TYPEHASH()).to.equal(
        keccakText(TypedDataEncoder.from(MATCH_RESULT_TYPES).encodeType("MatchResult")),
      );
    });
  });

  describe("open", function () {
    it("opens a session under a granted request and emits MatchSessionOpened", async function () {
      const f = await networkHelpers.loadFixture(deployGranted);
      await expect(
        f.matching.connect(f.police).open(f.requestId, Mode.Cardinality, TAG, REQUEST_DIGEST, 100n),
      )
        .to.emit(f.matching, "MatchSessionOpened")
        .withArgs(
          1n,
          f.requestId,
          f.caseId,
          f.ids.police,
          f.ids.bank,
          Mode.Cardinality,
          TAG,
          REQUEST_DIGEST,
          100n,
          f.police.address,
        );
      const s = await f.matching.session(1n);
      expect(s.requestId).to.equal(f.requestId);
      expect(s.caseId).to.equal(f.caseId);
      expect(s.requester).to.equal(BigInt(f.ids.police));
      expect(s.provider).to.equal(BigInt(f.ids.bank));
      expect(s.mode).to.equal(BigInt(Mode.Cardinality));
      expect(s.status).to.equal(BigInt(Status.Open));
      expect(s.openedAt).to.equal(BigInt(await time.latest()));
      expect(s.setSize).to.equal(100n);
      expect([s.tag, s.requestDigest, s.responseDigest, s.resultCommitment]).to.deep.equal([
        TAG,
        REQUEST_DIGEST,
        ZeroHash,
        ZeroHash,
      ]);
      const [byTag, same] = await f.matching.sessionByTag(TAG);
      expect(byTag).to.equal(1n);
      expect(same.tag).to.equal(TAG);
      expect(await f.matching.sessionCount()).to.equal(1n);
      expect(await f.matching.identifiersAsked(f.requestId)).to.equal(MAX_RECORDS);
    });

    it("counts the identifiers of every session of a request against the grant's maxRecords", async function () {
      const f = await networkHelpers.loadFixture(deployGranted);
      await f.matching.connect(f.police).open(f.requestId, Mode.Psi, TAG, REQUEST_DIGEST, 60n);
      const tag2 = commitment("tag 2");
      await expect(
        f.matching.connect(f.police).open(f.requestId, Mode.Psi, tag2, REQUEST_DIGEST, 41n),
      )
        .to.be.revertedWithCustomError(f.matching, "IdentifierLimitExceeded")
        .withArgs(f.requestId, 101n, MAX_RECORDS);
      await expect(
        f.matching.connect(f.police).open(f.requestId, Mode.Psi, tag2, REQUEST_DIGEST, 40n),
      )
        .to.emit(f.matching, "MatchSessionOpened")
        .withArgs(
          2n,
          f.requestId,
          f.caseId,
          f.ids.police,
          f.ids.bank,
          Mode.Psi,
          tag2,
          REQUEST_DIGEST,
          40n,
          f.police.address,
        );
      expect(await f.matching.identifiersAsked(f.requestId)).to.equal(MAX_RECORDS);
    });

    it("reverts with IdentifierLimitExceeded when one session asks about more than maxRecords", async function () {
      const f = await networkHelpers.loadFixture(deployGranted);
      await expect(
        f.matching
          .connect(f.police)
          .open(f.requestId, Mode.Psi, TAG, REQUEST_DIGEST, MAX_RECORDS + 1n),
      )
        .to.be.revertedWithCustomError(f.matching, "IdentifierLimitExceeded")
        .withArgs(f.requestId, MAX_RECORDS + 1n, MAX_RECORDS);
    });

    it("reverts with ZeroSetSize when the set is empty", async function () {
      const f = await networkHelpers.loadFixture(deployGranted);
      await expect(
        f.matching.connect(f.police).open(f.requestId, Mode.Psi, TAG, REQUEST_DIGEST, 0n),
      ).to.be.revertedWithCustomError(f.matching, "ZeroSetSize");
    });

    it("reverts with ZeroCommitment when the tag or the request digest is zero", async function () {
      const f = await networkHelpers.loadFixture(deployGranted);
      await expect(
        f.matching.connect(f.police).open(f.requestId, Mode.Psi, ZeroHash, REQUEST_DIGEST, 1n),
      )
        .to.be.revertedWithCustomError(f.matching, "ZeroCommitment")
        .withArgs("tag");
      await expect(f.matching.connect(f.police).open(f.requestId, Mode.Psi, TAG, ZeroHash, 1n))
        .to.be.revertedWithCustomError(f.matching, "ZeroCommitment")
        .withArgs("requestDigest");
    });

    it("reverts with TagAlreadyUsed when the tag named an earlier session, also a failed one", async function () {
      const f = await networkHelpers.loadFixture(deployOpen);
      await f.matching.connect(f.police).fail(f.sessionId, MatchFailure.Timeout);
      await expect(
        f.matching.connect(f.police).open(f.requestId, Mode.Psi, TAG, commitment("other"), 1n),
      )
        .to.be.revertedWithCustomError(f.matching, "TagAlreadyUsed")
        .withArgs(TAG, f.sessionId);
    });

    it("reverts with NotRequestRequester when the caller is the provider or another case party", async function () {
      const f = await networkHelpers.loadFixture(deployGranted);
      for (const [who, id] of [
        [f.bank, f.ids.bank],
        [f.prosecutor, f.ids.prosecutor],
      ] as const) {
        await expect(f.matching.connect(who).open(f.requestId, Mode.Psi, TAG, REQUEST_DIGEST, 1n))
          .to.be.revertedWithCustomError(f.matching, "NotRequestRequester")
          .withArgs(f.requestId, id);
      }
    });

    it("reverts with UnknownSigningKey when the caller is no participant's key", async function () {
      const f = await networkHelpers.loadFixture(deployGranted);
      await expect(
        f.matching.connect(f.stranger).open(f.requestId, Mode.Psi, TAG, REQUEST_DIGEST, 1n),
      )
        .to.be.revertedWithCustomError(f.registry, "UnknownSigningKey")
        .withArgs(f.stranger.address);
    });

    it("reverts with ParticipantNotActive when the requester is suspended", async function () {
      const f = await networkHelpers.loadFixture(deployGranted);
      await suspend(f.registry, f.council, f.ids.police);
      await expect(
        f.matching.connect(f.police).open(f.requestId, Mode.Psi, TAG, REQUEST_DIGEST, 1n),
      )
        .to.be.revertedWithCustomError(f.registry, "ParticipantNotActive")
        .withArgs(f.ids.police, 2n);
    });

    it("reverts with UnknownRequest when the request does not exist", async function () {
      const f = await networkHelpers.loadFixture(deployGranted);
      await expect(f.matching.connect(f.police).open(99n, Mode.Psi, TAG, REQUEST_DIGEST, 1n))
        .to.be.revertedWithCustomError(f.matching, "UnknownRequest")
        .withArgs(99n);
    });

    it("reverts with RequestNotGranted when the request is pending, denied or revoked", async function () {
      const f = await networkHelpers.loadFixture(deployGranted);
      const ask = async () => {
        await f.access.connect(f.police).request(f.caseId, f.ids.bank, 1n, commitment("s"), 7);
        return (await f.access.counts())[1];
      };
      const pending = await ask();
      const denied = await ask();
      await f.access.connect(f.bank).deny(denied, 2);
      await f.access.connect(f.bank).revokeGrant(f.requestId, 3);
      for (const [requestId, status] of [
        [pending, RequestStatus.Pending],
        [denied, RequestStatus.Denied],
        [f.requestId, RequestStatus.Revoked],
      ] as const) {
        await expect(
          f.matching.connect(f.police).open(requestId, Mode.Psi, TAG, REQUEST_DIGEST, 1n),
        )
          .to.be.revertedWithCustomError(f.matching, "RequestNotGranted")
          .withArgs(requestId, status);
      }
    });

    it("reverts with GrantExpired at the grant's expiry, and opens one second before", async function () {
      const f = await networkHelpers.loadFixture(deployGranted);
      await time.setNextBlockTimestamp(f.grantExpiry - 1);
      await f.matching.connect(f.police).open(f.requestId, Mode.Psi, TAG, REQUEST_DIGEST, 1n);
      await expect(
        f.matching
          .connect(f.police)
          .open(f.requestId, Mode.Psi, commitment("t2"), REQUEST_DIGEST, 1n),
      )
        .to.be.revertedWithCustomError(f.matching, "GrantExpired")
        .withArgs(f.requestId, f.grantExpiry);
    });

    it("reverts with CaseIsClosed when the request's case was closed", async function () {
      const f = await networkHelpers.loadFixture(deployGranted);
      await f.cases.connect(f.police).closeCase(f.caseId, 1);
      await expect(
        f.matching.connect(f.police).open(f.requestId, Mode.Psi, TAG, REQUEST_DIGEST, 1n),
      )
        .to.be.revertedWithCustomError(f.cases, "CaseIsClosed")
        .withArgs(f.caseId);
    });

    it("reverts with ProviderNotActive when the provider is suspended", async function () {
      const f = await networkHelpers.loadFixture(deployGranted);
      await suspend(f.registry, f.council, f.ids.bank);
      await expect(
        f.matching.connect(f.police).open(f.requestId, Mode.Psi, TAG, REQUEST_DIGEST, 1n),
      )
        .to.be.revertedWithCustomError(f.matching, "ProviderNotActive")
        .withArgs(f.ids.bank);
    });

    it("reverts with ConsortiumPaused during an emergency pause", async function () {
      const f = await networkHelpers.loadFixture(deployGranted);
      await f.registry.connect(f.council[0]).pause();
      await expect(
        f.matching.connect(f.police).open(f.requestId, Mode.Psi, TAG, REQUEST_DIGEST, 1n),
      ).to.be.revertedWithCustomError(f.matching, "ConsortiumPaused");
    });
  });

  describe("recordResponse", function () {
    it("records the provider's signed commitment, submitted by anyone, and emits MatchResponseRecorded", async function () {
      const f = await networkHelpers.loadFixture(deployOpen);
      const m = responseOf(f);
      const p = await signResponse(f, f.bank, m);
      await expect(f.matching.connect(f.relayer).recordResponse(m, p))
        .to.emit(f.matching, "MatchResponseRecorded")
        .withArgs(
          f.sessionId,
          f.requestId,
          f.caseId,
          f.ids.bank,
          f.ids.police,
          RESPONSE_DIGEST,
          500n,
          [p.signer, p.signature],
          f.relayer.address,
        );
      const s = await f.matching.session(f.sessionId);
      expect(s.status).to.equal(BigInt(Status.Responded));
      expect(s.responseDigest).to.equal(RESPONSE_DIGEST);
      expect(s.providerSetSize).to.equal(500n);
    });

    it("accepts a provider's ERC-1271 contract key", async function () {
      const f = await networkHelpers.loadFixture(deployOpen);
      const wallet = await ethers.deployContract("ERC1271Wallet", [f.walletOwner.address]);
      const walletAddress = await wallet.getAddress();
      await addSigningKey(f.registry, f.council, f.ids.bank, walletAddress);
      const m = responseOf(f);
      const p = await signResponse(f, f.walletOwner, m, walletAddress);
      await expect(f.matching.connect(f.police).recordResponse(m, p))
        .to.emit(f.matching, "MatchResponseRecorded")
        .withArgs(
          f.sessionId,
          f.requestId,
          f.caseId,
          f.ids.bank,
          f.ids.police,
          RESPONSE_DIGEST,
          500n,
          [walletAddress, p.signature],
          f.police.address,
        );
    });

    it("reverts with InvalidSignature when the ERC-1271 contract rejects the signature", async function () {
      const f = await networkHelpers.loadFixture(deployOpen);
      const wallet = await ethers.deployContract("ERC1271Wallet", [f.walletOwner.address]);
      const walletAddress = await wallet.getAddress();
      await addSigningKey(f.registry, f.council, f.ids.bank, walletAddress);
      const m = responseOf(f);
      const p = await signResponse(f, f.stranger, m, walletAddress);
      await expect(f.matching.connect(f.police).recordResponse(m, p))
        .to.be.revertedWithCustomError(f.matching, "InvalidSignature")
        .withArgs(walletAddress);
    });

    it("reverts with SignerNotParty when a key of another participant signs", async function () {
      const f = await networkHelpers.loadFixture(deployOpen);
      const m = responseOf(f);
      for (const [key, id] of [
        [f.police, f.ids.police],
        [f.telecom, f.ids.telecom],
      ] as const) {
        await expect(f.matching.connect(f.police).recordResponse(m, await signResponse(f, key, m)))
          .to.be.revertedWithCustomError(f.matching, "SignerNotParty")
          .withArgs(key.address, id, f.ids.bank);
      }
    });

    it("reverts with InvalidSignature when the provider's key is named but another key signed", async function () {
      const f = await networkHelpers.loadFixture(deployOpen);
      const m = responseOf(f);
      const p = await signResponse(f, f.telecom, m, f.bank.address);
      await expect(f.matching.connect(f.police).recordResponse(m, p))
        .to.be.revertedWithCustomError(f.matching, "InvalidSignature")
        .withArgs(f.bank.address);
    });

    it("reverts with InvalidSignature when the signature is for another domain or other fields", async function () {
      const f = await networkHelpers.loadFixture(deployOpen);
      const m = responseOf(f);
      const otherDomain: TypedDataDomain = {
        ...f.domain,
        verifyingContract: await f.access.getAddress(),
      };
      const foreign = {
        signer: f.bank.address,
        signature: await f.bank.signTypedData(otherDomain, MATCH_RESPONSE_TYPES, m),
      };
      await expect(f.matching.connect(f.police).recordResponse(m, foreign))
        .to.be.revertedWithCustomError(f.matching, "InvalidSignature")
        .withArgs(f.bank.address);
      const other = await signResponse(f, f.bank, { ...m, providerSetSize: 499n });
      await expect(f.matching.connect(f.police).recordResponse(m, other))
        .to.be.revertedWithCustomError(f.matching, "InvalidSignature")
        .withArgs(f.bank.address);
    });

    it("reverts with UnknownSigningKey when the signer is no participant's key", async function () {
      const f = await networkHelpers.loadFixture(deployOpen);
      const m = responseOf(f);
      await expect(
        f.matching.connect(f.police).recordResponse(m, await signResponse(f, f.stranger, m)),
      )
        .to.be.revertedWithCustomError(f.registry, "UnknownSigningKey")
        .withArgs(f.stranger.address);
    });

    it("reverts with FieldMismatch when the tag or the request digest is not the session's", async function () {
      const f = await networkHelpers.loadFixture(deployOpen);
      for (const [field, m] of [
        ["tag", responseOf(f, { tag: commitment("another tag") })],
        ["requestDigest", responseOf(f, { requestDigest: commitment("another request") })],
      ] as const) {
        await expect(
          f.matching.connect(f.police).recordResponse(m, await signResponse(f, f.bank, m)),
        )
          .to.be.revertedWithCustomError(f.matching, "FieldMismatch")
          .withArgs(f.sessionId, field);
      }
    });

    it("reverts with ZeroCommitment when the response digest is zero", async function () {
      const f = await networkHelpers.loadFixture(deployOpen);
      const m = responseOf(f, { responseDigest: ZeroHash });
      await expect(f.matching.connect(f.police).recordResponse(m, await signResponse(f, f.bank, m)))
        .to.be.revertedWithCustomError(f.matching, "ZeroCommitment")
        .withArgs("responseDigest");
    });

    it("reverts with SessionNotOpen when the response was already recorded, or the session failed", async function () {
      const f = await networkHelpers.loadFixture(deployResponded);
      const m = responseOf(f);
      const p = await signResponse(f, f.bank, m);
      await expect(f.matching.connect(f.police).recordResponse(m, p))
        .to.be.revertedWithCustomError(f.matching, "SessionNotOpen")
        .withArgs(f.sessionId, Status.Responded);
      await f.matching.connect(f.bank).fail(f.sessionId, MatchFailure.Other);
      await expect(f.matching.connect(f.police).recordResponse(m, p))
        .to.be.revertedWithCustomError(f.matching, "SessionNotOpen")
        .withArgs(f.sessionId, Status.Failed);
    });

    it("reverts with UnknownSession when the session does not exist", async function () {
      const f = await networkHelpers.loadFixture(deployOpen);
      const m = responseOf(f, { sessionId: 9n });
      await expect(f.matching.connect(f.police).recordResponse(m, await signResponse(f, f.bank, m)))
        .to.be.revertedWithCustomError(f.matching, "UnknownSession")
        .withArgs(9n);
    });

    it("reverts with GrantExpired, RequestNotGranted or CaseIsClosed once the grant is no longer live", async function () {
      const f = await networkHelpers.loadFixture(deployOpen);
      const m = responseOf(f);
      const p = await signResponse(f, f.bank, m);
      const id = await networkHelpers.takeSnapshot();
      await time.increaseTo(f.grantExpiry);
      await expect(f.matching.connect(f.police).recordResponse(m, p))
        .to.be.revertedWithCustomError(f.matching, "GrantExpired")
        .withArgs(f.requestId, f.grantExpiry);
      await id.restore();
      await f.access.connect(f.bank).revokeGrant(f.requestId, 3);
      await expect(f.matching.connect(f.police).recordResponse(m, p))
        .to.be.revertedWithCustomError(f.matching, "RequestNotGranted")
        .withArgs(f.requestId, RequestStatus.Revoked);
      await id.restore();
      await f.cases.connect(f.prosecutor).closeCase(f.caseId, 1);
      await expect(f.matching.connect(f.police).recordResponse(m, p))
        .to.be.revertedWithCustomError(f.cases, "CaseIsClosed")
        .withArgs(f.caseId);
    });

    it("reverts with ConsortiumPaused during an emergency pause", async function () {
      const f = await networkHelpers.loadFixture(deployOpen);
      const m = responseOf(f);
      const p = await signResponse(f, f.bank, m);
      await f.registry.connect(f.council[0]).pause();
      await expect(f.matching.connect(f.police).recordResponse(m, p)).to.be.revertedWithCustomError(
        f.matching,
        "ConsortiumPaused",
      );
    });
  });

  describe("recordResult", function () {
    it("records a result signed by both parties and emits MatchCompleted", async function () {
      const f = await networkHelpers.loadFixture(deployResponded);
      const m = resultOf(f);
      const [p, q] = await cosign(f, m);
      await expect(f.matching.connect(f.relayer).recordResult(m, p, q))
        .to.emit(f.matching, "MatchCompleted")
        .withArgs(
          f.sessionId,
          f.requestId,
          f.caseId,
          f.ids.police,
          f.ids.bank,
          RESULT_COMMITMENT,
          7n,
          [p.signer, p.signature],
          [q.signer, q.signature],
          f.relayer.address,
        );
      const s = await f.matching.session(f.sessionId);
      expect(s.status).to.equal(BigInt(Status.Completed));
      expect(s.resultCommitment).to.equal(RESULT_COMMITMENT);
      expect(s.cardinality).to.equal(7n);
    });

    it("accepts a cardinality equal to the smaller set, and 0", async function () {
      const f = await networkHelpers.loadFixture(deployResponded);
      const id = await networkHelpers.takeSnapshot();
      await expect(complete(f, resultOf(f, { cardinality: SET_SIZE }))).to.emit(
        f.matching,
        "MatchCompleted",
      );
      await id.restore();
      await expect(complete(f, resultOf(f, { cardinality: 0n }))).to.emit(
        f.matching,
        "MatchCompleted",
      );
    });

    it("reverts with CardinalityOutOfBounds above the requester's set size", async function () {
      const f = await networkHelpers.loadFixture(deployResponded);
      await expect(complete(f, resultOf(f, { cardinality: SET_SIZE + 1n })))
        .to.be.revertedWithCustomError(f.matching, "CardinalityOutOfBounds")
        .withArgs(f.sessionId, SET_SIZE + 1n, SET_SIZE);
    });

    it("reverts with CardinalityOutOfBounds above the provider's set size when it is the smaller", async function () {
      const f = await networkHelpers.loadFixture(deployOpen);
      const r = responseOf(f, { providerSetSize: 5n });
      await f.matching.connect(f.police).recordResponse(r, await signResponse(f, f.bank, r));
      await expect(complete(f, resultOf(f, { cardinality: 6n })))
        .to.be.revertedWithCustomError(f.matching, "CardinalityOutOfBounds")
        .withArgs(f.sessionId, 6n, 5n);
      await expect(complete(f, resultOf(f, { cardinality: 5n }))).to.emit(
        f.matching,
        "MatchCompleted",
      );
    });

    it("reverts with FieldMismatch when the tag or a digest is not the session's", async function () {
      const f = await networkHelpers.loadFixture(deployResponded);
      for (const [field, m] of [
        ["tag", resultOf(f, { tag: commitment("x") })],
        ["requestDigest", resultOf(f, { requestDigest: commitment("x") })],
        ["responseDigest", resultOf(f, { responseDigest: commitment("x") })],
      ] as const) {
        await expect(complete(f, m))
          .to.be.revertedWithCustomError(f.matching, "FieldMismatch")
          .withArgs(f.sessionId, field);
      }
    });

    it("reverts with ZeroCommitment when the result commitment is zero", async function () {
      const f = await networkHelpers.loadFixture(deployResponded);
      await expect(complete(f, resultOf(f, { resultCommitment: ZeroHash })))
        .to.be.revertedWithCustomError(f.matching, "ZeroCommitment")
        .withArgs("resultCommitment");
    });

    it("reverts with SignerNotParty when the signatures are swapped or a third party signs", async function () {
      const f = await networkHelpers.loadFixture(deployResponded);
      const m = resultOf(f);
      const [p, q] = await cosign(f, m);
      await expect(f.matching.connect(f.relayer).recordResult(m, q, p))
        .to.be.revertedWithCustomError(f.matching, "SignerNotParty")
        .withArgs(f.police.address, f.ids.police, f.ids.bank);
      const t = await signResult(f, f.telecom, m);
      await expect(f.matching.connect(f.relayer).recordResult(m, p, t))
        .to.be.revertedWithCustomError(f.matching, "SignerNotParty")
        .withArgs(f.telecom.address, f.ids.telecom, f.ids.police);
    });

    it("reverts with InvalidSignature when either signature does not match the result", async function () {
      const f = await networkHelpers.loadFixture(deployResponded);
      const m = resultOf(f);
      const [p, q] = await cosign(f, m);
      const other = resultOf(f, { cardinality: 6n });
      const [p6, q6] = await cosign(f, other);
      await expect(f.matching.connect(f.relayer).recordResult(m, p6, q))
        .to.be.revertedWithCustomError(f.matching, "InvalidSignature")
        .withArgs(f.bank.address);
      await expect(f.matching.connect(f.relayer).recordResult(m, p, q6))
        .to.be.revertedWithCustomError(f.matching, "InvalidSignature")
        .withArgs(f.police.address);
    });

    it("accepts a requester's ERC-1271 contract key", async function () {
      const f = await networkHelpers.loadFixture(deployResponded);
      const wallet = await ethers.deployContract("ERC1271Wallet", [f.walletOwner.address]);
      const walletAddress = await wallet.getAddress();
      await addSigningKey(f.registry, f.council, f.ids.police, walletAddress);
      const m = resultOf(f);
      const p = await signResult(f, f.bank, m);
      const q = await signResult(f, f.walletOwner, m, walletAddress);
      await expect(f.matching.connect(f.relayer).recordResult(m, p, q)).to.emit(
        f.matching,
        "MatchCompleted",
      );
    });

    it("reverts with ParticipantNotActive when the requester was suspended since", async function () {
      const f = await networkHelpers.loadFixture(deployResponded);
      await suspend(f.registry, f.council, f.ids.police);
      await expect(complete(f))
        .to.be.revertedWithCustomError(f.registry, "ParticipantNotActive")
        .withArgs(f.ids.police, 2n);
    });

    it("reverts with SessionNotResponded before the response and after completion (no double result)", async function () {
      const f = await networkHelpers.loadFixture(deployOpen);
      const m = resultOf(f, { responseDigest: ZeroHash });
      await expect(complete(f, m))
        .to.be.revertedWithCustomError(f.matching, "SessionNotResponded")
        .withArgs(f.sessionId, Status.Open);
      const r = responseOf(f);
      await f.matching.connect(f.police).recordResponse(r, await signResponse(f, f.bank, r));
      const [p, q] = await cosign(f, resultOf(f));
      await f.matching.connect(f.relayer).recordResult(resultOf(f), p, q);
      await expect(f.matching.connect(f.relayer).recordResult(resultOf(f), p, q))
        .to.be.revertedWithCustomError(f.matching, "SessionNotResponded")
        .withArgs(f.sessionId, Status.Completed);
    });

    it("reverts with UnknownSession when the session does not exist", async function () {
      const f = await networkHelpers.loadFixture(deployResponded);
      await expect(complete(f, resultOf(f, { sessionId: 5n })))
        .to.be.revertedWithCustomError(f.matching, "UnknownSession")
        .withArgs(5n);
    });

    it("accepts the result after the grant expired, after a revocation and after the case closed", async function () {
      const f = await networkHelpers.loadFixture(deployResponded);
      await f.access.connect(f.bank).revokeGrant(f.requestId, 3);
      await f.cases.connect(f.police).closeCase(f.caseId, 1);
      await time.increaseTo(f.caseExpiry + DAY);
      await expect(complete(f)).to.emit(f.matching, "MatchCompleted");
    });

    it("reverts with ConsortiumPaused during an emergency pause", async function () {
      const f = await networkHelpers.loadFixture(deployResponded);
      const m = resultOf(f);
      const [p, q] = await cosign(f, m);
      await f.registry.connect(f.council[0]).pause();
      await expect(
        f.matching.connect(f.relayer).recordResult(m, p, q),
      ).to.be.revertedWithCustomError(f.matching, "ConsortiumPaused");
    });
  });

  describe("fail", function () {
    it("lets the requester fail an open session and emits MatchFailed", async function () {
      const f = await networkHelpers.loadFixture(deployOpen);
      await expect(f.matching.connect(f.police).fail(f.sessionId, MatchFailure.MalformedMessage))
        .to.emit(f.matching, "MatchFailed")
        .withArgs(f.sessionId, f.requestId, f.caseId, f.ids.police, 1n, f.police.address);
      expect((await f.matching.session(f.sessionId)).status).to.equal(BigInt(Status.Failed));
    });

    it("lets the provider fail a responded session", async function () {
      const f = await networkHelpers.loadFixture(deployResponded);
      await expect(f.matching.connect(f.bank).fail(f.sessionId, MatchFailure.WrongCount))
        .to.emit(f.matching, "MatchFailed")
        .withArgs(f.sessionId, f.requestId, f.caseId, f.ids.bank, 2n, f.bank.address);
    });

    it("reverts with NotSessionParty when a third party or another case party fails it", async function () {
      const f = await networkHelpers.loadFixture(deployOpen);
      for (const [who, id] of [
        [f.telecom, f.ids.telecom],
        [f.prosecutor, f.ids.prosecutor],
      ] as const) {
        await expect(f.matching.connect(who).fail(f.sessionId, MatchFailure.Other))
          .to.be.revertedWithCustomError(f.matching, "NotSessionParty")
          .withArgs(f.sessionId, id);
      }
    });

    it("reverts with UnknownSigningKey when the caller is no participant's key", async function () {
      const f = await networkHelpers.loadFixture(deployOpen);
      await expect(f.matching.connect(f.stranger).fail(f.sessionId, MatchFailure.Other))
        .to.be.revertedWithCustomError(f.registry, "UnknownSigningKey")
        .withArgs(f.stranger.address);
    });

    it("reverts with SessionClosed after completion and after a failure", async function () {
      const f = await networkHelpers.loadFixture(deployResponded);
      const id = await networkHelpers.takeSnapshot();
      await complete(f);
      await expect(f.matching.connect(f.police).fail(f.sessionId, MatchFailure.Other))
        .to.be.revertedWithCustomError(f.matching, "SessionClosed")
        .withArgs(f.sessionId, Status.Completed);
      await id.restore();
      await f.matching.connect(f.police).fail(f.sessionId, MatchFailure.Timeout);
      await expect(f.matching.connect(f.bank).fail(f.sessionId, MatchFailure.Other))
        .to.be.revertedWithCustomError(f.matching, "SessionClosed")
        .withArgs(f.sessionId, Status.Failed);
    });

    it("reverts with InvalidReasonCode outside 1..7", async function () {
      const f = await networkHelpers.loadFixture(deployOpen);
      for (const code of [0, 8, 65535]) {
        await expect(f.matching.connect(f.police).fail(f.sessionId, code))
          .to.be.revertedWithCustomError(f.matching, "InvalidReasonCode")
          .withArgs(code);
      }
    });

    it("reverts with UnknownSession when the session does not exist", async function () {
      const f = await networkHelpers.loadFixture(deployOpen);
      await expect(f.matching.connect(f.police).fail(2n, MatchFailure.Other))
        .to.be.revertedWithCustomError(f.matching, "UnknownSession")
        .withArgs(2n);
    });

    it("is accepted during a pause and after the grant and the case ended", async function () {
      const f = await networkHelpers.loadFixture(deployOpen);
      await f.cases.connect(f.police).closeCase(f.caseId, 1);
      await time.increaseTo(f.caseExpiry + DAY);
      await f.registry.connect(f.council[0]).pause();
      await expect(f.matching.connect(f.bank).fail(f.sessionId, MatchFailure.Timeout)).to.emit(
        f.matching,
        "MatchFailed",
      );
    });
  });

  describe("views", function () {
    it("computes the EIP-712 digests the parties sign", async function () {
      const f = await networkHelpers.loadFixture(deployResponded);
      const r = responseOf(f);
      const m = resultOf(f);
      expect(await f.matching.responseDigest(r)).to.equal(matchResponseDigest(f.domain, r));
      expect(await f.matching.resultDigest(m)).to.equal(matchResultDigest(f.domain, m));
    });

    it("answers an all-zero session for an unknown id or tag", async function () {
      const f = await networkHelpers.loadFixture(deployOpen);
      expect((await f.matching.session(2n)).status).to.equal(0n);
      const [id, s] = await f.matching.sessionByTag(commitment("nothing"));
      expect(id).to.equal(0n);
      expect(s.tag).to.equal(ZeroHash);
    });
  });
});

describe("client: matching sessions", function () {
  it("runs a session end to end: open, check, respond, co-sign, complete", async function () {
    const f = await networkHelpers.loadFixture(deployGranted);
    const tag = newSessionTag();
    const sessionId = await openMatchSession(f, f.police, {
      requestId: f.requestId,
      mode: "cardinality",
      tag,
      requestDigest: REQUEST_DIGEST,
      setSize: 12,
    });
    expect(sessionId).to.equal(1n);

    // The provider checks the request message against the ledger before answering.
    const open = await requireOpenMatchSession(f, {
      tag,
      requestDigest: REQUEST_DIGEST,
      mode: "cardinality",
      setSize: 12,
      provider: f.ids.bank,
    });
    expect(open).to.include({ sessionId, status: "open", mode: "cardinality", setSize: 12n });
    expect(open.responseDigest).to.equal(null);

    const response = matchResponseOf(open, {
      responseDigest: RESPONSE_DIGEST,
      providerSetSize: 30,
    });
    const providerSig = await signMatchResponse(f.bank, f.domain, response);
    expect(
      recoverMatchSigner(f.domain, { kind: "response", message: response }, providerSig),
    ).to.equal(f.bank.address);
    await recordMatchResponse(f, f.police, response, {
      signer: f.bank.address,
      signature: providerSig,
    });

    const responded = await matchSession(f, sessionId);
    if (responded === undefined) throw new Error("no session");
    expect(responded.status).to.equal("responded");
    const result = matchResultOf(responded, {
      resultCommitment: RESULT_COMMITMENT,
      cardinality: 3,
    });
    const p = await signMatchResult(f.bank, f.domain, result);
    const q = await signMatchResult(f.police, f.domain, result);
    expect(recoverMatchSigner(f.domain, { kind: "result", message: result }, q)).to.equal(
      f.police.address,
    );
    expect(recoverMatchSigner(f.domain, { kind: "result", message: result }, "0x12")).to.equal(
      undefined,
    );
    await recordMatchResult(
      f,
      f.relayer,
      result,
      { signer: f.bank.address, signature: p },
      { signer: f.police.address, signature: q },
    );
    const done = await matchSessionByTag(f, tag);
    expect(done).to.deep.include({
      sessionId,
      requestId: f.requestId,
      caseId: f.caseId,
      requester: f.ids.police,
      provider: f.ids.bank,
      status: "completed",
      cardinality: 3n,
      providerSetSize: 30n,
      resultCommitment: RESULT_COMMITMENT,
    });
    expect(await matchSessionByTag(f, commitment("unknown"))).to.equal(undefined);
    expect(await matchSession(f, 9n)).to.equal(undefined);
  });

  it("records a failure by either party", async function () {
    const f = await networkHelpers.loadFixture(deployOpen);
    await failMatchSession(f, f.bank, f.sessionId, MatchFailure.Oversize);
    expect((await matchSession(f, f.sessionId))?.status).to.equal("failed");
  });

  it("checks every input before sending anything", async function () {
    const f = await networkHelpers.loadFixture(deployGranted);
    const good = {
      requestId: f.requestId,
      mode: "psi" as const,
      tag: TAG,
      requestDigest: REQUEST_DIGEST,
      setSize: 1,
    };
    const before = await ethers.provider.getBlockNumber();
    for (const [field, input] of [
      ["requestId", { ...good, requestId: 0n }],
      ["mode", { ...good, mode: "intersection" as "psi" }],
      ["tag", { ...good, tag: ZeroHash }],
      ["tag", { ...good, tag: "0x1234" }],
      ["requestDigest", { ...good, requestDigest: ZeroHash }],
      ["setSize", { ...good, setSize: 0 }],
      ["setSize", { ...good, setSize: 2n ** 64n }],
    ] as const) {
      const error = await failure(openMatchSession(f, f.police, input));
      expect(error, field).to.be.instanceOf(InputError);
      expect((error as InputError).field).to.equal(field);
    }
    expect((await failure(failMatchSession(f, f.police, 1n, 9 as MatchFailure))) as InputError)
      .to.be.instanceOf(InputError)
      .and.have.property("field", "reasonCode");
    const bad = { signer: "0x12", signature: "0x" };
    const error = await failure(
      recordMatchResult(
        f,
        f.police,
        {
          sessionId: 1n,
          tag: TAG,
          requestDigest: REQUEST_DIGEST,
          responseDigest: RESPONSE_DIGEST,
          resultCommitment: RESULT_COMMITMENT,
          cardinality: 1n,
        },
        bad,
        bad,
      ),
    );
    expect(error).to.be.instanceOf(InputError).and.have.property("field", "provider.signer");
    expect(() =>
      matchResultOf(
        {
          sessionId: 1n,
          requestId: 1n,
          caseId: 1n,
          requester: 4,
          provider: 6,
          mode: "psi",
          status: "open",
          openedAt: 0,
          setSize: 1n,
          providerSetSize: 0n,
          cardinality: 0n,
          tag: TAG as Bytes32,
          requestDigest: REQUEST_DIGEST as Bytes32,
          responseDigest: null,
          resultCommitment: null,
        },
        { resultCommitment: RESULT_COMMITMENT, cardinality: 0 },
      ),
    ).to.throw(InputError, /no recorded response/);
    expect(await ethers.provider.getBlockNumber()).to.equal(before);
  });

  it("turns the ledger's refusals into readable errors, enum values by name", async function () {
    const f = await networkHelpers.loadFixture(deployResponded);
    const reused = await failure(
      openMatchSession(f, f.police, {
        requestId: f.requestId,
        mode: "psi",
        tag: TAG,
        requestDigest: REQUEST_DIGEST,
        setSize: 1,
      }),
    );
    expect(reused).to.be.instanceOf(ContractRevertError);
    expect(reused.message).to.equal(`TagAlreadyUsed(tag=${TAG}, sessionId=1)`);
    const again = await failure(
      recordMatchResponse(f, f.police, responseOf(f), await signResponse(f, f.bank, responseOf(f))),
    );
    expect(again.message).to.equal("SessionNotOpen(sessionId=1, status=Responded)");
    await f.access.connect(f.bank).revokeGrant(f.requestId, 1);
    const revoked = await failure(
      openMatchSession(f, f.police, {
        requestId: f.requestId,
        mode: "psi",
        tag: newSessionTag(),
        requestDigest: REQUEST_DIGEST,
        setSize: 1,
      }),
    );
    expect(revoked.message).to.equal(`RequestNotGranted(requestId=1, status=Revoked)`);
  });

  it("refuses to answer a request the ledger does not hold open as given", async function () {
    const f = await networkHelpers.loadFixture(deployResponded);
    const expected = { tag: TAG, requestDigest: REQUEST_DIGEST };
    const responded = await failure(requireOpenMatchSession(f, expected));
    expect(responded).to.be.instanceOf(VeritraceError);
    expect(responded.message).to.equal(
      "session 1: the status is responded on the ledger, open here",
    );
    expect(
      (await failure(requireOpenMatchSession(f, { ...expected, tag: commitment("none") }))).message,
    ).to.match(/no matching session has tag/);
    const tag = newSessionTag();
    await f.matching.connect(f.police).open(f.requestId, Mode.Psi, tag, REQUEST_DIGEST, 5n);
    for (const [given, message] of [
      [{ requestDigest: commitment("x") }, /the request digest is/],
      [{ mode: "cardinality" as const }, /the mode is psi on the ledger, cardinality here/],
      [{ setSize: 6 }, /the set size is 5 on the ledger, 6 here/],
      [{ provider: f.ids.telecom }, /the provider is 6 on the ledger, 7 here/],
    ] as const) {
      const error = await failure(requireOpenMatchSession(f, { ...expected, tag, ...given }));
      expect(error).to.be.instanceOf(VeritraceError);
      expect(error.message).to.match(message);
    }
  });

  it("draws fresh non-zero 32-byte session tags", function () {
    const tags = new Set(Array.from({ length: 50 }, () => newSessionTag()));
    expect(tags.size).to.equal(50);
    for (const t of tags)
      expect(t)
        .to.match(/^0x[0-9a-f]{64}$/)
        .and.not.equal(ZeroHash);
  });
});
