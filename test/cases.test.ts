import { expect } from "chai";
import { network } from "hardhat";
import {
  Action,
  admit,
  commitment,
  type Consortium,
  DataKind,
  DAY,
  deployConsortium,
  kind,
  passProposal,
  scopeOf,
} from "./helpers/fixture.js";
import { addSigningKey } from "./helpers/access.js";
import { at, CaseStatus, encode, nextTimestamp, Status } from "./helpers/council.js";

const { ethers, networkHelpers } = await network.create();

const MAX_CASE_DURATION = 730 * DAY;
const CASE_DURATION = 90 * DAY;
const POLICE = kind("POLICE");
const PROSECUTOR = kind("PROSECUTOR");
const CASE_NUMBER = commitment("case:2025-0001");
const LEGAL_BASIS = commitment("warrant:2025-0001");
const SCOPE = scopeOf(DataKind.BankAccounts, DataKind.Transactions);
const REASON = 7;

async function consortium() {
  return deployConsortium(ethers);
}

/** The consortium with case 1 opened by the police and awaiting approval. */
async function pendingCase() {
  const c = await deployConsortium(ethers);
  const expiresAt = (await networkHelpers.time.latest()) + CASE_DURATION;
  await (
    await c.cases.connect(c.police).openCase(CASE_NUMBER, LEGAL_BASIS, SCOPE, expiresAt)
  ).wait();
  return { ...c, caseId: 1n, expiresAt };
}

/** Case 1, approved by the prosecutor. */
async function approvedCase() {
  const c = await pendingCase();
  await (await c.cases.connect(c.prosecutor).approveCase(c.caseId)).wait();
  return c;
}

/** Loads a fixture and names the spare signers: `stranger` holds no key, `spare` none yet. */
async function load<T extends Consortium>(fixture: () => Promise<T>) {
  const c = await networkHelpers.loadFixture(fixture);
  return { ...c, stranger: at(c.others, 0), spare: at(c.others, 1) };
}

describe("CaseRegistry", function () {
  describe("constructor", function () {
    it("trusts the registry it was deployed with", async function () {
      const { cases, registry } = await load(consortium);
      expect(await cases.registry()).to.equal(await registry.getAddress());
    });

    it("names the POLICE and PROSECUTOR kinds and a MAX_CASE_DURATION of 730 days", async function () {
      const { cases } = await load(consortium);
      expect(await cases.POLICE()).to.equal(POLICE);
      expect(await cases.PROSECUTOR()).to.equal(PROSECUTOR);
      expect(await cases.MAX_CASE_DURATION()).to.equal(MAX_CASE_DURATION);
    });
  });

  describe("openCase", function () {
    it("opens a pending case and emits CaseOpened", async function () {
      const { cases, police, ids } = await load(consortium);
      const ts = await nextTimestamp(networkHelpers);
      const expiresAt = ts + CASE_DURATION;
      await expect(cases.connect(police).openCase(CASE_NUMBER, LEGAL_BASIS, SCOPE, expiresAt))
        .to.emit(cases, "CaseOpened")
        .withArgs(1, ids.police, CASE_NUMBER, LEGAL_BASIS, SCOPE, expiresAt, police.address);
      const c = await cases.getCase(1);
      expect(c.caseNumberCommitment).to.equal(CASE_NUMBER);
      expect(c.legalBasisCommitment).to.equal(LEGAL_BASIS);
      expect(c.scope).to.equal(SCOPE);
      expect(c.opener).to.equal(ids.police);
      expect(c.approver).to.equal(0);
      expect(c.status).to.equal(CaseStatus.Pending);
      expect(c.openedAt).to.equal(ts);
      expect(c.expiresAt).to.equal(expiresAt);
      expect(c.requestedExpiry).to.equal(0);
      expect(await cases.caseIdOf(ids.police, CASE_NUMBER)).to.equal(1);
      expect(await cases.caseCount()).to.equal(1);
      expect(await cases.isActive(1)).to.equal(false);
    });

    it("returns the new case's id, numbering cases from 1", async function () {
      const { cases, police, expiresAt } = await load(pendingCase);
      const other = commitment("case:2025-0002");
      expect(
        await cases.connect(police).openCase.staticCall(other, LEGAL_BASIS, SCOPE, expiresAt),
      ).to.equal(2);
    });

    it("accepts an expiry exactly MAX_CASE_DURATION ahead", async function () {
      const { cases, police } = await load(consortium);
      const ts = await nextTimestamp(networkHelpers);
      await expect(
        cases.connect(police).openCase(CASE_NUMBER, LEGAL_BASIS, SCOPE, ts + MAX_CASE_DURATION),
      ).to.emit(cases, "CaseOpened");
    });

    it("accepts an expiry one second ahead", async function () {
      const { cases, police } = await load(consortium);
      const ts = await nextTimestamp(networkHelpers);
      await expect(cases.connect(police).openCase(CASE_NUMBER, LEGAL_BASIS, SCOPE, ts + 1)).to.emit(
        cases,
        "CaseOpened",
      );
    });

    it("accepts any active key of the police participant and records the key as signer", async function () {
      const { cases, registry, council, spare, ids } = await load(consortium);
      await passProposal(
        registry,
        council,
        Action.AddSigningKey,
        encode.key(ids.police, spare.address),
      );
      const expiresAt = (await networkHelpers.time.latest()) + CASE_DURATION;
      await expect(cases.connect(spare).openCase(CASE_NUMBER, LEGAL_BASIS, SCOPE, expiresAt))
        .to.emit(cases, "CaseOpened")
        .withArgs(1, ids.police, CASE_NUMBER, LEGAL_BASIS, SCOPE, expiresAt, spare.address);
    });

    it("reverts with InvalidExpiry when the expiry is now", async function () {
      const { cases, police } = await load(consortium);
      const ts = await nextTimestamp(networkHelpers);
      await expect(cases.connect(police).openCase(CASE_NUMBER, LEGAL_BASIS, SCOPE, ts))
        .to.be.revertedWithCustomError(cases, "InvalidExpiry")
        .withArgs(ts, ts, ts + MAX_CASE_DURATION);
    });

    it("reverts with InvalidExpiry when the expiry is in the past", async function () {
      const { cases, police } = await load(consortium);
      const ts = await nextTimestamp(networkHelpers);
      await expect(cases.connect(police).openCase(CASE_NUMBER, LEGAL_BASIS, SCOPE, ts - DAY))
        .to.be.revertedWithCustomError(cases, "InvalidExpiry")
        .withArgs(ts - DAY, ts, ts + MAX_CASE_DURATION);
    });

    it("reverts with InvalidExpiry when the expiry is more than MAX_CASE_DURATION ahead", async function () {
      const { cases, police } = await load(consortium);
      const ts = await nextTimestamp(networkHelpers);
      const tooLate = ts + MAX_CASE_DURATION + 1;
      await expect(cases.connect(police).openCase(CASE_NUMBER, LEGAL_BASIS, SCOPE, tooLate))
        .to.be.revertedWithCustomError(cases, "InvalidExpiry")
        .withArgs(tooLate, ts, ts + MAX_CASE_DURATION);
    });

    it("reverts with ZeroCommitment when the case number commitment is zero", async function () {
      const { cases, police } = await load(consortium);
      const expiresAt = (await networkHelpers.time.latest()) + CASE_DURATION;
      await expect(cases.connect(police).openCase(ethers.ZeroHash, LEGAL_BASIS, SCOPE, expiresAt))
        .to.be.revertedWithCustomError(cases, "ZeroCommitment")
        .withArgs("caseNumberCommitment");
    });

    it("reverts with ZeroCommitment when the legal basis commitment is zero", async function () {
      const { cases, police } = await load(consortium);
      const expiresAt = (await networkHelpers.time.latest()) + CASE_DURATION;
      await expect(cases.connect(police).openCase(CASE_NUMBER, ethers.ZeroHash, SCOPE, expiresAt))
        .to.be.revertedWithCustomError(cases, "ZeroCommitment")
        .withArgs("legalBasisCommitment");
    });

    it("reverts with EmptyScope when the scope names no data kind", async function () {
      const { cases, police } = await load(consortium);
      const expiresAt = (await networkHelpers.time.latest()) + CASE_DURATION;
      await expect(
        cases.connect(police).openCase(CASE_NUMBER, LEGAL_BASIS, 0, expiresAt),
      ).to.be.revertedWithCustomError(cases, "EmptyScope");
    });

    it("reverts with CaseNumberAlreadyUsed when the opener already used the case number commitment", async function () {
      const { cases, police, ids, expiresAt } = await load(pendingCase);
      await expect(cases.connect(police).openCase(CASE_NUMBER, LEGAL_BASIS, SCOPE, expiresAt))
        .to.be.revertedWithCustomError(cases, "CaseNumberAlreadyUsed")
        .withArgs(ids.police, CASE_NUMBER, 1);
    });

    it("reverts with CaseNumberAlreadyUsed even after that case was closed", async function () {
      const { cases, police, ids, expiresAt } = await load(pendingCase);
      await cases.connect(police).closeCase(1, REASON);
      await expect(cases.connect(police).openCase(CASE_NUMBER, LEGAL_BASIS, SCOPE, expiresAt))
        .to.be.revertedWithCustomError(cases, "CaseNumberAlreadyUsed")
        .withArgs(ids.police, CASE_NUMBER, 1);
    });

    it("is not blocked by another police participant that opened a case with the same commitment first", async function () {
      // The front-runner copies the commitment from the mempool and gets its transaction in first.
      const { cases, registry, council, police, spare, ids } = await load(consortium);
      const frontRunner = await admit(registry, council, "POLICE", spare.address);
      const expiresAt = (await networkHelpers.time.latest()) + CASE_DURATION;
      await cases.connect(spare).openCase(CASE_NUMBER, LEGAL_BASIS, SCOPE, expiresAt);
      await expect(cases.connect(police).openCase(CASE_NUMBER, LEGAL_BASIS, SCOPE, expiresAt))
        .to.emit(cases, "CaseOpened")
        .withArgs(2, ids.police, CASE_NUMBER, LEGAL_BASIS, SCOPE, expiresAt, police.address);
      expect(await cases.caseIdOf(ids.police, CASE_NUMBER)).to.equal(2);
      expect(await cases.caseIdOf(frontRunner, CASE_NUMBER)).to.equal(1);
      expect((await cases.getCase(2)).opener).to.equal(ids.police);
    });

    it("reverts with WrongParticipantKind when the caller is a prosecutor", async function () {
      const { cases, prosecutor, ids } = await load(consortium);
      const expiresAt = (await networkHelpers.time.latest()) + CASE_DURATION;
      await expect(cases.connect(prosecutor).openCase(CASE_NUMBER, LEGAL_BASIS, SCOPE, expiresAt))
        .to.be.revertedWithCustomError(cases, "WrongParticipantKind")
        .withArgs(ids.prosecutor, PROSECUTOR, POLICE);
    });

    it("reverts with WrongParticipantKind when the caller is a data holder", async function () {
      const { cases, bank, ids } = await load(consortium);
      const expiresAt = (await networkHelpers.time.latest()) + CASE_DURATION;
      await expect(cases.connect(bank).openCase(CASE_NUMBER, LEGAL_BASIS, SCOPE, expiresAt))
        .to.be.revertedWithCustomError(cases, "WrongParticipantKind")
        .withArgs(ids.bank, kind("BANK"), POLICE);
    });

    it("reverts with UnknownSigningKey when the caller is no signing key", async function () {
      const { cases, registry, stranger } = await load(consortium);
      const expiresAt = (await networkHelpers.time.latest()) + CASE_DURATION;
      await expect(cases.connect(stranger).openCase(CASE_NUMBER, LEGAL_BASIS, SCOPE, expiresAt))
        .to.be.revertedWithCustomError(registry, "UnknownSigningKey")
        .withArgs(stranger.address);
    });

    it("reverts with UnknownSigningKey when the caller's key was removed", async function () {
      const { cases, registry, council, police, spare, ids } = await load(consortium);
      await passProposal(
        registry,
        council,
        Action.AddSigningKey,
        encode.key(ids.police, spare.address),
      );
      await passProposal(
        registry,
        council,
        Action.RemoveSigningKey,
        encode.key(ids.police, police.address),
      );
      const expiresAt = (await networkHelpers.time.latest()) + CASE_DURATION;
      await expect(cases.connect(police).openCase(CASE_NUMBER, LEGAL_BASIS, SCOPE, expiresAt))
        .to.be.revertedWithCustomError(registry, "UnknownSigningKey")
        .withArgs(police.address);
    });

    it("reverts with ParticipantNotActive when the police participant is suspended", async function () {
      const { cases, registry, council, police, ids } = await load(consortium);
      await passProposal(registry, council, Action.Suspend, encode.participant(ids.police));
      const expiresAt = (await networkHelpers.time.latest()) + CASE_DURATION;
      await expect(cases.connect(police).openCase(CASE_NUMBER, LEGAL_BASIS, SCOPE, expiresAt))
        .to.be.revertedWithCustomError(registry, "ParticipantNotActive")
        .withArgs(ids.police, Status.Suspended);
    });

    it("reverts with ConsortiumPaused while the consortium is paused", async function () {
      const { cases, registry, council, police } = await load(consortium);
      await registry.connect(at(council, 0)).pause();
      const expiresAt = (await networkHelpers.time.latest()) + CASE_DURATION;
      await expect(
        cases.connect(police).openCase(CASE_NUMBER, LEGAL_BASIS, SCOPE, expiresAt),
      ).to.be.revertedWithCustomError(cases, "ConsortiumPaused");
    });
  });

  describe("approveCase", function () {
    // SameInstitution cannot be reached: the opener must be a POLICE participant, the approver a
    // PROSECUTOR one, and a participant has exactly one kind, so the two are never the same.

    it("approves a pending case and emits CaseApproved", async function () {
      const { cases, prosecutor, ids, caseId, expiresAt } = await load(pendingCase);
      await expect(cases.connect(prosecutor).approveCase(caseId))
        .to.emit(cases, "CaseApproved")
        .withArgs(caseId, ids.prosecutor, expiresAt, prosecutor.address);
      const c = await cases.getCase(caseId);
      expect(c.status).to.equal(CaseStatus.Approved);
      expect(c.approver).to.equal(ids.prosecutor);
      expect(c.expiresAt).to.equal(expiresAt);
      expect(await cases.isActive(caseId)).to.equal(true);
    });

    it("approves in the last second before the expiry", async function () {
      const { cases, prosecutor, caseId, expiresAt } = await load(pendingCase);
      await networkHelpers.time.setNextBlockTimestamp(expiresAt - 1);
      await expect(cases.connect(prosecutor).approveCase(caseId)).to.emit(cases, "CaseApproved");
    });

    it("reverts with CaseExpired at the expiry", async function () {
      const { cases, prosecutor, caseId, expiresAt } = await load(pendingCase);
      await networkHelpers.time.setNextBlockTimestamp(expiresAt);
      await expect(cases.connect(prosecutor).approveCase(caseId))
        .to.be.revertedWithCustomError(cases, "CaseExpired")
        .withArgs(caseId, expiresAt);
    });

    it("reverts with CaseExpired after the expiry", async function () {
      const { cases, prosecutor, caseId, expiresAt } = await load(pendingCase);
      await networkHelpers.time.increase(CASE_DURATION + DAY);
      await expect(cases.connect(prosecutor).approveCase(caseId))
        .to.be.revertedWithCustomError(cases, "CaseExpired")
        .withArgs(caseId, expiresAt);
    });

    it("reverts with CaseAlreadyApproved when the case is approved", async function () {
      const { cases, registry, council, spare, caseId } = await load(approvedCase);
      await admit(registry, council, "PROSECUTOR", spare.address);
      await expect(cases.connect(spare).approveCase(caseId))
        .to.be.revertedWithCustomError(cases, "CaseAlreadyApproved")
        .withArgs(caseId);
    });

    it("reverts with CaseIsClosed when the case is closed", async function () {
      const { cases, police, prosecutor, caseId } = await load(pendingCase);
      await cases.connect(police).closeCase(caseId, REASON);
      await expect(cases.connect(prosecutor).approveCase(caseId))
        .to.be.revertedWithCustomError(cases, "CaseIsClosed")
        .withArgs(caseId);
    });

    it("reverts with UnknownCase when the case does not exist", async function () {
      const { cases, prosecutor } = await load(pendingCase);
      await expect(cases.connect(prosecutor).approveCase(2))
        .to.be.revertedWithCustomError(cases, "UnknownCase")
        .withArgs(2);
      await expect(cases.connect(prosecutor).approveCase(0))
        .to.be.revertedWithCustomError(cases, "UnknownCase")
        .withArgs(0);
    });

    it("reverts with WrongParticipantKind when the caller is not a prosecutor", async function () {
      const { cases, police, ids, caseId } = await load(pendingCase);
      await expect(cases.connect(police).approveCase(caseId))
        .to.be.revertedWithCustomError(cases, "WrongParticipantKind")
        .withArgs(ids.police, POLICE, PROSECUTOR);
    });

    it("reverts with UnknownSigningKey when the caller is no signing key", async function () {
      const { cases, registry, stranger, caseId } = await load(pendingCase);
      await expect(cases.connect(stranger).approveCase(caseId))
        .to.be.revertedWithCustomError(registry, "UnknownSigningKey")
        .withArgs(stranger.address);
    });

    it("reverts with ParticipantNotActive when the prosecutor is suspended", async function () {
      const { cases, registry, council, prosecutor, ids, caseId } = await load(pendingCase);
      await passProposal(registry, council, Action.Suspend, encode.participant(ids.prosecutor));
      await expect(cases.connect(prosecutor).approveCase(caseId))
        .to.be.revertedWithCustomError(registry, "ParticipantNotActive")
        .withArgs(ids.prosecutor, Status.Suspended);
    });

    it("reverts with ConsortiumPaused while the consortium is paused", async function () {
      const { cases, registry, council, prosecutor, caseId } = await load(pendingCase);
      await registry.connect(at(council, 0)).pause();
      await expect(cases.connect(prosecutor).approveCase(caseId)).to.be.revertedWithCustomError(
        cases,
        "ConsortiumPaused",
      );
    });
  });

  describe("requestExtension", function () {
    it("records the requested expiry and emits CaseExtensionRequested", async function () {
      const { cases, police, ids, caseId, expiresAt } = await load(approvedCase);
      const newExpiry = expiresAt + 30 * DAY;
      await expect(cases.connect(police).requestExtension(caseId, newExpiry))
        .to.emit(cases, "CaseExtensionRequested")
        .withArgs(caseId, ids.police, newExpiry, 0, police.address);
      const c = await cases.getCase(caseId);
      expect(c.requestedExpiry).to.equal(newExpiry);
      expect(c.expiresAt).to.equal(expiresAt);
    });

    it("replaces an earlier request and names the replaced expiry in CaseExtensionRequested", async function () {
      const { cases, police, ids, caseId, expiresAt } = await load(approvedCase);
      await cases.connect(police).requestExtension(caseId, expiresAt + 30 * DAY);
      await expect(cases.connect(police).requestExtension(caseId, expiresAt + 10 * DAY))
        .to.emit(cases, "CaseExtensionRequested")
        .withArgs(caseId, ids.police, expiresAt + 10 * DAY, expiresAt + 30 * DAY, police.address);
      expect((await cases.getCase(caseId)).requestedExpiry).to.equal(expiresAt + 10 * DAY);
    });

    it("accepts an expiry exactly MAX_CASE_DURATION ahead of now", async function () {
      const { cases, police, caseId } = await load(approvedCase);
      const ts = await nextTimestamp(networkHelpers);
      await expect(cases.connect(police).requestExtension(caseId, ts + MAX_CASE_DURATION)).to.emit(
        cases,
        "CaseExtensionRequested",
      );
    });

    it("reverts with InvalidExpiry when the new expiry equals the current one", async function () {
      const { cases, police, caseId, expiresAt } = await load(approvedCase);
      const ts = await nextTimestamp(networkHelpers);
      await expect(cases.connect(police).requestExtension(caseId, expiresAt))
        .to.be.revertedWithCustomError(cases, "InvalidExpiry")
        .withArgs(expiresAt, expiresAt, ts + MAX_CASE_DURATION);
    });

    it("reverts with InvalidExpiry when the new expiry is earlier than the current one", async function () {
      const { cases, police, caseId, expiresAt } = await load(approvedCase);
      const ts = await nextTimestamp(networkHelpers);
      await expect(cases.connect(police).requestExtension(caseId, expiresAt - DAY))
        .to.be.revertedWithCustomError(cases, "InvalidExpiry")
        .withArgs(expiresAt - DAY, expiresAt, ts + MAX_CASE_DURATION);
    });

    it("reverts with InvalidExpiry when the new expiry is more than MAX_CASE_DURATION ahead", async function () {
      const { cases, police, caseId, expiresAt } = await load(approvedCase);
      const ts = await nextTimestamp(networkHelpers);
      const tooLate = ts + MAX_CASE_DURATION + 1;
      await expect(cases.connect(police).requestExtension(caseId, tooLate))
        .to.be.revertedWithCustomError(cases, "InvalidExpiry")
        .withArgs(tooLate, expiresAt, ts + MAX_CASE_DURATION);
    });

    it("reverts with NotCaseParty when the caller is the case's approver", async function () {
      const { cases, prosecutor, ids, caseId, expiresAt } = await load(approvedCase);
      await expect(cases.connect(prosecutor).requestExtension(caseId, expiresAt + DAY))
        .to.be.revertedWithCustomError(cases, "NotCaseParty")
        .withArgs(caseId, ids.prosecutor);
    });

    it("reverts with NotCaseParty when the caller is another police participant", async function () {
      const { cases, registry, council, spare, caseId, expiresAt } = await load(approvedCase);
      const otherPolice = await admit(registry, council, "POLICE", spare.address);
      await expect(cases.connect(spare).requestExtension(caseId, expiresAt + DAY))
        .to.be.revertedWithCustomError(cases, "NotCaseParty")
        .withArgs(caseId, otherPolice);
    });

    it("reverts with CaseNotApproved when the case is pending", async function () {
      const { cases, police, caseId, expiresAt } = await load(pendingCase);
      await expect(cases.connect(police).requestExtension(caseId, expiresAt + DAY))
        .to.be.revertedWithCustomError(cases, "CaseNotApproved")
        .withArgs(caseId);
    });

    it("reverts with CaseIsClosed when the case is closed", async function () {
      const { cases, police, caseId, expiresAt } = await load(approvedCase);
      await cases.connect(police).closeCase(caseId, REASON);
      await expect(cases.connect(police).requestExtension(caseId, expiresAt + DAY))
        .to.be.revertedWithCustomError(cases, "CaseIsClosed")
        .withArgs(caseId);
    });

    it("reverts with CaseExpired once the case has expired", async function () {
      const { cases, police, caseId, expiresAt } = await load(approvedCase);
      await networkHelpers.time.setNextBlockTimestamp(expiresAt);
      await expect(cases.connect(police).requestExtension(caseId, expiresAt + DAY))
        .to.be.revertedWithCustomError(cases, "CaseExpired")
        .withArgs(caseId, expiresAt);
    });

    it("reverts with UnknownCase when the case does not exist", async function () {
      const { cases, police, expiresAt } = await load(approvedCase);
      await expect(cases.connect(police).requestExtension(2, expiresAt + DAY))
        .to.be.revertedWithCustomError(cases, "UnknownCase")
        .withArgs(2);
    });

    it("reverts with UnknownSigningKey when the caller is no signing key", async function () {
      const { cases, registry, stranger, caseId, expiresAt } = await load(approvedCase);
      await expect(cases.connect(stranger).requestExtension(caseId, expiresAt + DAY))
        .to.be.revertedWithCustomError(registry, "UnknownSigningKey")
        .withArgs(stranger.address);
    });

    it("reverts with ConsortiumPaused while the consortium is paused", async function () {
      const { cases, registry, council, police, caseId, expiresAt } = await load(approvedCase);
      await registry.connect(at(council, 0)).pause();
      await expect(
        cases.connect(police).requestExtension(caseId, expiresAt + DAY),
      ).to.be.revertedWithCustomError(cases, "ConsortiumPaused");
    });
  });

  describe("approveExtension", function () {
    it("moves the expiry, clears the request and emits CaseExtended", async function () {
      const { cases, police, prosecutor, ids, caseId, expiresAt } = await load(approvedCase);
      const newExpiry = expiresAt + 30 * DAY;
      await cases.connect(police).requestExtension(caseId, newExpiry);
      await expect(cases.connect(prosecutor).approveExtension(caseId, newExpiry))
        .to.emit(cases, "CaseExtended")
        .withArgs(caseId, ids.prosecutor, expiresAt, newExpiry, prosecutor.address);
      const c = await cases.getCase(caseId);
      expect(c.expiresAt).to.equal(newExpiry);
      expect(c.requestedExpiry).to.equal(0);
      expect(c.approver).to.equal(ids.prosecutor);
      await networkHelpers.time.increaseTo(expiresAt + DAY);
      expect(await cases.isActive(caseId)).to.equal(true);
    });

    it("accepts any active key of the approving prosecutor", async function () {
      const { cases, registry, council, police, spare, ids, caseId, expiresAt } =
        await load(approvedCase);
      await addSigningKey(registry, council, ids.prosecutor, spare.address);
      await cases.connect(police).requestExtension(caseId, expiresAt + DAY);
      await expect(cases.connect(spare).approveExtension(caseId, expiresAt + DAY))
        .to.emit(cases, "CaseExtended")
        .withArgs(caseId, ids.prosecutor, expiresAt, expiresAt + DAY, spare.address);
    });

    it("reverts with ExtensionMismatch when the opener replaced the reviewed request by a longer one", async function () {
      // The prosecutor reviewed +60 days; the police replace it by the longest extension allowed
      // just before the approval is mined (or front-run it).
      const { cases, police, prosecutor, caseId, expiresAt } = await load(approvedCase);
      const reviewed = expiresAt + 60 * DAY;
      await cases.connect(police).requestExtension(caseId, reviewed);
      const ts = await nextTimestamp(networkHelpers);
      const replaced = ts + MAX_CASE_DURATION;
      await cases.connect(police).requestExtension(caseId, replaced);
      await expect(cases.connect(prosecutor).approveExtension(caseId, reviewed))
        .to.be.revertedWithCustomError(cases, "ExtensionMismatch")
        .withArgs(caseId, reviewed, replaced);
      const c = await cases.getCase(caseId);
      expect(c.expiresAt).to.equal(expiresAt);
      expect(c.requestedExpiry).to.equal(replaced);
    });

    it("reverts with ExtensionMismatch when the approval names another expiry than the one pending", async function () {
      const { cases, police, prosecutor, caseId, expiresAt } = await load(approvedCase);
      await cases.connect(police).requestExtension(caseId, expiresAt + DAY);
      await expect(cases.connect(prosecutor).approveExtension(caseId, expiresAt + 2 * DAY))
        .to.be.revertedWithCustomError(cases, "ExtensionMismatch")
        .withArgs(caseId, expiresAt + 2 * DAY, expiresAt + DAY);
    });

    it("reverts with NotCaseApprover when a prosecutor that did not approve the case approves", async function () {
      const { cases, registry, council, police, spare, ids, caseId, expiresAt } =
        await load(approvedCase);
      const otherProsecutor = await admit(registry, council, "PROSECUTOR", spare.address);
      await cases.connect(police).requestExtension(caseId, expiresAt + DAY);
      await expect(cases.connect(spare).approveExtension(caseId, expiresAt + DAY))
        .to.be.revertedWithCustomError(cases, "NotCaseApprover")
        .withArgs(caseId, otherProsecutor, ids.prosecutor);
      expect((await cases.getCase(caseId)).expiresAt).to.equal(expiresAt);
    });

    it("reverts with NotCaseApprover when the opener approves its own request", async function () {
      const { cases, police, ids, caseId, expiresAt } = await load(approvedCase);
      await cases.connect(police).requestExtension(caseId, expiresAt + DAY);
      await expect(cases.connect(police).approveExtension(caseId, expiresAt + DAY))
        .to.be.revertedWithCustomError(cases, "NotCaseApprover")
        .withArgs(caseId, ids.police, ids.prosecutor);
    });

    it("reverts with NoExtensionRequested when no extension is pending", async function () {
      const { cases, prosecutor, caseId, expiresAt } = await load(approvedCase);
      await expect(cases.connect(prosecutor).approveExtension(caseId, expiresAt + DAY))
        .to.be.revertedWithCustomError(cases, "NoExtensionRequested")
        .withArgs(caseId);
    });

    it("reverts with NoExtensionRequested when the request was already approved", async function () {
      const { cases, police, prosecutor, caseId, expiresAt } = await load(approvedCase);
      await cases.connect(police).requestExtension(caseId, expiresAt + DAY);
      await cases.connect(prosecutor).approveExtension(caseId, expiresAt + DAY);
      await expect(cases.connect(prosecutor).approveExtension(caseId, expiresAt + DAY))
        .to.be.revertedWithCustomError(cases, "NoExtensionRequested")
        .withArgs(caseId);
    });

    it("reverts with CaseNotApproved when the case is pending", async function () {
      const { cases, prosecutor, caseId, expiresAt } = await load(pendingCase);
      await expect(cases.connect(prosecutor).approveExtension(caseId, expiresAt + DAY))
        .to.be.revertedWithCustomError(cases, "CaseNotApproved")
        .withArgs(caseId);
    });

    it("reverts with CaseIsClosed when the case was closed with a request pending", async function () {
      const { cases, police, prosecutor, caseId, expiresAt } = await load(approvedCase);
      await cases.connect(police).requestExtension(caseId, expiresAt + DAY);
      await cases.connect(police).closeCase(caseId, REASON);
      await expect(cases.connect(prosecutor).approveExtension(caseId, expiresAt + DAY))
        .to.be.revertedWithCustomError(cases, "CaseIsClosed")
        .withArgs(caseId);
    });

    it("reverts with CaseExpired when the case expired with a request pending", async function () {
      const { cases, police, prosecutor, caseId, expiresAt } = await load(approvedCase);
      await cases.connect(police).requestExtension(caseId, expiresAt + DAY);
      await networkHelpers.time.setNextBlockTimestamp(expiresAt);
      await expect(cases.connect(prosecutor).approveExtension(caseId, expiresAt + DAY))
        .to.be.revertedWithCustomError(cases, "CaseExpired")
        .withArgs(caseId, expiresAt);
    });

    it("reverts with UnknownCase when the case does not exist", async function () {
      const { cases, prosecutor, expiresAt } = await load(approvedCase);
      await expect(cases.connect(prosecutor).approveExtension(2, expiresAt + DAY))
        .to.be.revertedWithCustomError(cases, "UnknownCase")
        .withArgs(2);
    });

    it("reverts with ParticipantNotActive when the prosecutor is suspended", async function () {
      const { cases, registry, council, police, prosecutor, ids, caseId, expiresAt } =
        await load(approvedCase);
      await cases.connect(police).requestExtension(caseId, expiresAt + DAY);
      await passProposal(registry, council, Action.Suspend, encode.participant(ids.prosecutor));
      await expect(cases.connect(prosecutor).approveExtension(caseId, expiresAt + DAY))
        .to.be.revertedWithCustomError(registry, "ParticipantNotActive")
        .withArgs(ids.prosecutor, Status.Suspended);
    });

    it("reverts with ConsortiumPaused while the consortium is paused", async function () {
      const { cases, registry, council, police, prosecutor, caseId, expiresAt } =
        await load(approvedCase);
      await cases.connect(police).requestExtension(caseId, expiresAt + DAY);
      await registry.connect(at(council, 0)).pause();
      await expect(
        cases.connect(prosecutor).approveExtension(caseId, expiresAt + DAY),
      ).to.be.revertedWithCustomError(cases, "ConsortiumPaused");
    });
  });

  describe("closeCase", function () {
    it("closes the case when the opener asks and emits CaseClosed", async function () {
      const { cases, police, ids, caseId } = await load(approvedCase);
      await expect(cases.connect(police).closeCase(caseId, REASON))
        .to.emit(cases, "CaseClosed")
        .withArgs(caseId, ids.police, REASON, police.address);
      expect((await cases.getCase(caseId)).status).to.equal(CaseStatus.Closed);
      expect(await cases.isActive(caseId)).to.equal(false);
    });

    it("closes the case when the approver asks", async function () {
      const { cases, prosecutor, ids, caseId } = await load(approvedCase);
      await expect(cases.connect(prosecutor).closeCase(caseId, REASON))
        .to.emit(cases, "CaseClosed")
        .withArgs(caseId, ids.prosecutor, REASON, prosecutor.address);
      expect((await cases.getCase(caseId)).status).to.equal(CaseStatus.Closed);
    });

    it("closes a pending case when the opener asks", async function () {
      const { cases, police, ids, caseId } = await load(pendingCase);
      await expect(cases.connect(police).closeCase(caseId, 0))
        .to.emit(cases, "CaseClosed")
        .withArgs(caseId, ids.police, 0, police.address);
    });

    it("closes an expired case", async function () {
      const { cases, police, caseId, expiresAt } = await load(approvedCase);
      await networkHelpers.time.increaseTo(expiresAt + DAY);
      await expect(cases.connect(police).closeCase(caseId, REASON)).to.emit(cases, "CaseClosed");
    });

    it("drops a pending extension request", async function () {
      const { cases, police, caseId, expiresAt } = await load(approvedCase);
      await cases.connect(police).requestExtension(caseId, expiresAt + DAY);
      await cases.connect(police).closeCase(caseId, REASON);
      expect((await cases.getCase(caseId)).requestedExpiry).to.equal(0);
    });

    it("reverts with NotCaseParty when the caller is neither opener nor approver", async function () {
      const { cases, bank, ids, caseId } = await load(approvedCase);
      await expect(cases.connect(bank).closeCase(caseId, REASON))
        .to.be.revertedWithCustomError(cases, "NotCaseParty")
        .withArgs(caseId, ids.bank);
    });

    it("reverts with NotCaseParty when the caller is a prosecutor that did not approve the case", async function () {
      const { cases, registry, council, spare, caseId } = await load(approvedCase);
      const otherProsecutor = await admit(registry, council, "PROSECUTOR", spare.address);
      await expect(cases.connect(spare).closeCase(caseId, REASON))
        .to.be.revertedWithCustomError(cases, "NotCaseParty")
        .withArgs(caseId, otherProsecutor);
    });

    it("reverts with NotCaseParty when a prosecutor closes a case nobody approved yet", async function () {
      const { cases, prosecutor, ids, caseId } = await load(pendingCase);
      await expect(cases.connect(prosecutor).closeCase(caseId, REASON))
        .to.be.revertedWithCustomError(cases, "NotCaseParty")
        .withArgs(caseId, ids.prosecutor);
    });

    it("reverts with CaseIsClosed when the case is already closed", async function () {
      const { cases, police, prosecutor, caseId } = await load(approvedCase);
      await cases.connect(police).closeCase(caseId, REASON);
      await expect(cases.connect(prosecutor).closeCase(caseId, REASON))
        .to.be.revertedWithCustomError(cases, "CaseIsClosed")
        .withArgs(caseId);
    });

    it("reverts with UnknownCase when the case does not exist", async function () {
      const { cases, police } = await load(approvedCase);
      await expect(cases.connect(police).closeCase(2, REASON))
        .to.be.revertedWithCustomError(cases, "UnknownCase")
        .withArgs(2);
    });

    it("reverts with ParticipantNotActive when the opener is suspended", async function () {
      const { cases, registry, council, police, ids, caseId } = await load(approvedCase);
      await passProposal(registry, council, Action.Suspend, encode.participant(ids.police));
      await expect(cases.connect(police).closeCase(caseId, REASON))
        .to.be.revertedWithCustomError(registry, "ParticipantNotActive")
        .withArgs(ids.police, Status.Suspended);
    });

    it("is accepted during an emergency pause, since closing only narrows access", async function () {
      const { cases, registry, council, police, ids, caseId } = await load(approvedCase);
      await registry.connect(at(council, 0)).pause();
      await expect(cases.connect(police).closeCase(caseId, REASON))
        .to.emit(cases, "CaseClosed")
        .withArgs(caseId, ids.police, REASON, police.address);
    });
  });

  describe("requireActive", function () {
    it("returns the opener and the approver of an active case", async function () {
      const { cases, ids, caseId } = await load(approvedCase);
      const [opener, approver] = await cases.requireActive(caseId);
      expect(opener).to.equal(ids.police);
      expect(approver).to.equal(ids.prosecutor);
    });

    it("answers while the consortium is paused (the callers check the pause themselves)", async function () {
      const { cases, registry, council, ids, caseId } = await load(approvedCase);
      await registry.connect(at(council, 0)).pause();
      const [opener] = await cases.requireActive(caseId);
      expect(opener).to.equal(ids.police);
    });

    it("reverts with UnknownCase when the case does not exist", async function () {
      const { cases } = await load(approvedCase);
      await expect(cases.requireActive(2))
        .to.be.revertedWithCustomError(cases, "UnknownCase")
        .withArgs(2);
    });

    it("reverts with CaseNotApproved when the case is pending", async function () {
      const { cases, caseId } = await load(pendingCase);
      await expect(cases.requireActive(caseId))
        .to.be.revertedWithCustomError(cases, "CaseNotApproved")
        .withArgs(caseId);
    });

    it("reverts with CaseIsClosed when the case is closed", async function () {
      const { cases, police, caseId } = await load(approvedCase);
      await cases.connect(police).closeCase(caseId, REASON);
      await expect(cases.requireActive(caseId))
        .to.be.revertedWithCustomError(cases, "CaseIsClosed")
        .withArgs(caseId);
    });

    it("reverts with CaseExpired once the expiry is reached", async function () {
      const { cases, caseId, expiresAt } = await load(approvedCase);
      await networkHelpers.time.increaseTo(expiresAt);
      await expect(cases.requireActive(caseId))
        .to.be.revertedWithCustomError(cases, "CaseExpired")
        .withArgs(caseId, expiresAt);
    });
  });

  describe("isActive", function () {
    it("is true for an approved, open, unexpired case", async function () {
      const { cases, caseId } = await load(approvedCase);
      expect(await cases.isActive(caseId)).to.equal(true);
    });

    it("is false for a pending case", async function () {
      const { cases, caseId } = await load(pendingCase);
      expect(await cases.isActive(caseId)).to.equal(false);
    });

    it("is false once the expiry is reached", async function () {
      const { cases, caseId, expiresAt } = await load(approvedCase);
      await networkHelpers.time.increaseTo(expiresAt);
      expect(await cases.isActive(caseId)).to.equal(false);
    });

    it("is false for a closed case", async function () {
      const { cases, prosecutor, caseId } = await load(approvedCase);
      await cases.connect(prosecutor).closeCase(caseId, REASON);
      expect(await cases.isActive(caseId)).to.equal(false);
    });

    it("is false for an unknown case", async function () {
      const { cases } = await load(approvedCase);
      expect(await cases.isActive(2)).to.equal(false);
      expect(await cases.isActive(0)).to.equal(false);
    });
  });

  describe("scopeOf", function () {
    it("returns the case's bit set of data kinds", async function () {
      const { cases, caseId } = await load(pendingCase);
      expect(await cases.scopeOf(caseId)).to.equal(SCOPE);
      expect(SCOPE).to.equal(0b11n);
    });

    it("is zero for an unknown case", async function () {
      const { cases } = await load(pendingCase);
      expect(await cases.scopeOf(2)).to.equal(0);
    });
  });

  describe("getCase", function () {
    it("returns the approver once the case is approved", async function () {
      const { cases, ids, caseId, expiresAt } = await load(approvedCase);
      const c = await cases.getCase(caseId);
      expect(c.opener).to.equal(ids.police);
      expect(c.approver).to.equal(ids.prosecutor);
      expect(c.status).to.equal(CaseStatus.Approved);
      expect(c.expiresAt).to.equal(expiresAt);
    });

    it("returns an empty record for an unknown case", async function () {
      const { cases } = await load(pendingCase);
      const c = await cases.getCase(2);
      expect(c.caseNumberCommitment).to.equal(ethers.ZeroHash);
      expect(c.legalBasisCommitment).to.equal(ethers.ZeroHash);
      expect(c.scope).to.equal(0);
      expect(c.opener).to.equal(0);
      expect(c.approver).to.equal(0);
      expect(c.status).to.equal(CaseStatus.None);
      expect(c.openedAt).to.equal(0);
      expect(c.expiresAt).to.equal(0);
      expect(c.requestedExpiry).to.equal(0);
    });
  });

  describe("caseIdOf", function () {
    it("returns the case the opener opened with that case number commitment", async function () {
      const { cases, ids, caseId } = await load(pendingCase);
      expect(await cases.caseIdOf(ids.police, CASE_NUMBER)).to.equal(caseId);
    });

    it("is zero for an unused case number commitment", async function () {
      const { cases, ids } = await load(pendingCase);
      expect(await cases.caseIdOf(ids.police, commitment("case:unused"))).to.equal(0);
    });

    it("is zero for another participant than the opener, whatever the commitment", async function () {
      const { cases, ids } = await load(pendingCase);
      expect(await cases.caseIdOf(ids.prosecutor, CASE_NUMBER)).to.equal(0);
      expect(await cases.caseIdOf(ids.bank, CASE_NUMBER)).to.equal(0);
    });
  });

  describe("caseCount", function () {
    it("is zero before any case is opened", async function () {
      const { cases } = await load(consortium);
      expect(await cases.caseCount()).to.equal(0);
    });

    it("counts every case ever opened, closed ones included", async function () {
      const { cases, police, caseId, expiresAt } = await load(pendingCase);
      await cases.connect(police).closeCase(caseId, REASON);
      await cases
        .connect(police)
        .openCase(
          commitment("case:2025-0002"),
          LEGAL_BASIS,
          scopeOf(DataKind.CallRecords),
          expiresAt,
        );
      expect(await cases.caseCount()).to.equal(2);
    });
  });
});
