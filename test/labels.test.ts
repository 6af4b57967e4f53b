import { expect } from "chai";
import { ZeroAddress, ZeroHash, encodeBytes32String } from "ethers";
import { network } from "hardhat";
import {
  ParticipantStatus,
  addSigningKey,
  openApprovedCase,
  openCase,
  suspend,
} from "./helpers/access.js";
import { addressOf, at, nextTimestamp } from "./helpers/council.js";
import {
  admit,
  DAY,
  DataKind,
  commitment,
  type Consortium,
  deployConsortium,
  scopeOf,
} from "./helpers/fixture.js";

const { ethers, networkHelpers } = await network.create();
const { time } = networkHelpers;

const SCOPE = scopeOf(DataKind.Transactions);
const CASE_DURATION = 30 * DAY;
const CASE_NUMBER = "CASE-LABELS-1";
const CASE_COMMITMENT = commitment(CASE_NUMBER);
/** The police participant's id in deployConsortium: the opener of case 1. */
const OPENER = 4;
const SUBJECT = addressOf("subject: mixer deposit address");
const OTHER_SUBJECT = addressOf("subject: exchange hot wallet");
const ETHEREUM = 1n;
const POLYGON = 137n;
const SANCTIONED = encodeBytes32String("sanctioned");
const SCAM = encodeBytes32String("scam");
const CONFIDENCE = 80;
const REASON = 5;

/** The consortium and case 1 (CASE_NUMBER), opened by the police and approved. */
async function deployLabels() {
  const c = await deployConsortium(ethers);
  if (c.ids.police !== OPENER) throw new Error(`the police is participant ${c.ids.police}`);
  const caseExpiry = (await time.latest()) + CASE_DURATION;
  const caseId = await openApprovedCase(
    c.cases,
    c.police,
    c.prosecutor,
    CASE_NUMBER,
    SCOPE,
    caseExpiry,
  );
  return { ...c, caseId, caseExpiry };
}

/** deployLabels, plus label 1: the police labels SUBJECT on Ethereum as sanctioned. */
async function deployLabeled() {
  const f = await deployLabels();
  await (
    await f.labels
      .connect(f.police)
      .publishLabel(SUBJECT, ETHEREUM, SANCTIONED, OPENER, CASE_COMMITMENT, CONFIDENCE)
  ).wait();
  return { ...f, labelId: 1n };
}

/** Loads a fixture and names the spare signers: `stranger` holds no key, `spare` none yet. */
async function load<T extends Consortium>(fixture: () => Promise<T>) {
  const c = await networkHelpers.loadFixture(fixture);
  return { ...c, stranger: at(c.others, 0), spare: at(c.others, 1) };
}

describe("LabelRegistry", function () {
  describe("constructor", function () {
    it("binds the participant and case registries", async function () {
      const { labels, registry, cases } = await load(deployLabels);
      expect(await labels.registry()).to.equal(await registry.getAddress());
      expect(await labels.cases()).to.equal(await cases.getAddress());
    });
  });

  describe("publishLabel", function () {
    it("records a label bound to the case and emits LabelPublished", async function () {
      const { labels, police, ids, caseId } = await load(deployLabels);
      const ts = await nextTimestamp(networkHelpers);
      await expect(
        labels
          .connect(police)
          .publishLabel(SUBJECT, ETHEREUM, SANCTIONED, OPENER, CASE_COMMITMENT, CONFIDENCE),
      )
        .to.emit(labels, "LabelPublished")
        .withArgs(
          1n,
          ids.police,
          SUBJECT,
          ETHEREUM,
          SANCTIONED,
          caseId,
          CASE_COMMITMENT,
          CONFIDENCE,
          police.address,
        );
      const l = await labels.getLabel(1n);
      expect(l.subject).to.equal(SUBJECT);
      expect(l.chainId).to.equal(ETHEREUM);
      expect(l.author).to.equal(ids.police);
      expect(l.confidence).to.equal(CONFIDENCE);
      expect(l.revoked).to.equal(false);
      expect(l.category).to.equal(SANCTIONED);
      expect(l.caseId).to.equal(caseId);
      expect(l.publishedAt).to.equal(ts);
      expect(await labels.labelCount()).to.equal(1n);
    });

    it("accepts a label by any active participant, such as a bank that is no party to the case", async function () {
      const { labels, bank, ids, caseId } = await load(deployLabels);
      await expect(
        labels
          .connect(bank)
          .publishLabel(OTHER_SUBJECT, POLYGON, SCAM, OPENER, CASE_COMMITMENT, 60),
      )
        .to.emit(labels, "LabelPublished")
        .withArgs(
          1n,
          ids.bank,
          OTHER_SUBJECT,
          POLYGON,
          SCAM,
          caseId,
          CASE_COMMITMENT,
          60,
          bank.address,
        );
      expect((await labels.getLabel(1n)).author).to.equal(ids.bank);
    });

    it("credits the participant, not the key, when sent by a further signing key", async function () {
      const { labels, registry, council, spare, ids, caseId } = await load(deployLabels);
      await addSigningKey(registry, council, ids.police, spare.address);
      await expect(
        labels
          .connect(spare)
          .publishLabel(SUBJECT, ETHEREUM, SANCTIONED, OPENER, CASE_COMMITMENT, CONFIDENCE),
      )
        .to.emit(labels, "LabelPublished")
        .withArgs(
          1n,
          ids.police,
          SUBJECT,
          ETHEREUM,
          SANCTIONED,
          caseId,
          CASE_COMMITMENT,
          CONFIDENCE,
          spare.address,
        );
    });

    it("numbers labels from 1 in order, several per subject", async function () {
      const { labels, bank, ids, caseId } = await load(deployLabeled);
      await expect(
        labels
          .connect(bank)
          .publishLabel(SUBJECT, ETHEREUM, SCAM, OPENER, CASE_COMMITMENT, CONFIDENCE),
      )
        .to.emit(labels, "LabelPublished")
        .withArgs(
          2n,
          ids.bank,
          SUBJECT,
          ETHEREUM,
          SCAM,
          caseId,
          CASE_COMMITMENT,
          CONFIDENCE,
          bank.address,
        );
      expect(await labels.labelCount()).to.equal(2n);
      expect((await labels.getLabel(1n)).category).to.equal(SANCTIONED);
      expect((await labels.getLabel(2n)).category).to.equal(SCAM);
    });

    it("accepts a confidence of 100 (certain) and of 0 (none)", async function () {
      const { labels, police, ids, caseId } = await load(deployLabels);
      for (const [labelId, confidence] of [
        [1n, 100],
        [2n, 0],
      ] as const) {
        await expect(
          labels
            .connect(police)
            .publishLabel(SUBJECT, ETHEREUM, SANCTIONED, OPENER, CASE_COMMITMENT, confidence),
        )
          .to.emit(labels, "LabelPublished")
          .withArgs(
            labelId,
            ids.police,
            SUBJECT,
            ETHEREUM,
            SANCTIONED,
            caseId,
            CASE_COMMITMENT,
            confidence,
            police.address,
          );
        expect((await labels.getLabel(labelId)).confidence).to.equal(confidence);
      }
    });

    it("accepts any non-zero chain id up to the uint64 range", async function () {
      const { labels, police, ids, caseId } = await load(deployLabels);
      const chainId = 2n ** 64n - 1n;
      await expect(
        labels
          .connect(police)
          .publishLabel(SUBJECT, chainId, SANCTIONED, OPENER, CASE_COMMITMENT, CONFIDENCE),
      )
        .to.emit(labels, "LabelPublished")
        .withArgs(
          1n,
          ids.police,
          SUBJECT,
          chainId,
          SANCTIONED,
          caseId,
          CASE_COMMITMENT,
          CONFIDENCE,
          police.address,
        );
      expect((await labels.getLabel(1n)).chainId).to.equal(chainId);
    });

    it("reverts with ZeroValue(subject) when the subject is the zero address", async function () {
      const { labels, police } = await load(deployLabels);
      await expect(
        labels
          .connect(police)
          .publishLabel(ZeroAddress, ETHEREUM, SANCTIONED, OPENER, CASE_COMMITMENT, CONFIDENCE),
      )
        .to.be.revertedWithCustomError(labels, "ZeroValue")
        .withArgs("subject");
    });

    it("reverts with ZeroValue(chainId) when the chain id is zero", async function () {
      const { labels, police } = await load(deployLabels);
      await expect(
        labels
          .connect(police)
          .publishLabel(SUBJECT, 0n, SANCTIONED, OPENER, CASE_COMMITMENT, CONFIDENCE),
      )
        .to.be.revertedWithCustomError(labels, "ZeroValue")
        .withArgs("chainId");
    });

    it("reverts with ZeroValue(category) when the category is zero", async function () {
      const { labels, police } = await load(deployLabels);
      await expect(
        labels
          .connect(police)
          .publishLabel(SUBJECT, ETHEREUM, ZeroHash, OPENER, CASE_COMMITMENT, CONFIDENCE),
      )
        .to.be.revertedWithCustomError(labels, "ZeroValue")
        .withArgs("category");
    });

    it("reverts with InvalidConfidence when the confidence is 101", async function () {
      const { labels, police } = await load(deployLabels);
      await expect(
        labels
          .connect(police)
          .publishLabel(SUBJECT, ETHEREUM, SANCTIONED, OPENER, CASE_COMMITMENT, 101),
      )
        .to.be.revertedWithCustomError(labels, "InvalidConfidence")
        .withArgs(101);
    });

    it("reverts with InvalidConfidence when the confidence is the uint8 maximum", async function () {
      const { labels, police } = await load(deployLabels);
      await expect(
        labels
          .connect(police)
          .publishLabel(SUBJECT, ETHEREUM, SANCTIONED, OPENER, CASE_COMMITMENT, 255),
      )
        .to.be.revertedWithCustomError(labels, "InvalidConfidence")
        .withArgs(255);
    });

    it("binds the label to the named opener's case, not to one another police participant opened with the same commitment first", async function () {
      // The copier opens (and gets approved) a case with the victim's commitment before it.
      const c = await deployConsortium(ethers);
      const copier = await admit(c.registry, c.council, "POLICE", at(c.others, 1).address);
      const expiresAt = (await time.latest()) + CASE_DURATION;
      const theirs = await openApprovedCase(
        c.cases,
        at(c.others, 1),
        c.prosecutor,
        CASE_NUMBER,
        SCOPE,
        expiresAt,
      );
      const ours = await openApprovedCase(
        c.cases,
        c.police,
        c.prosecutor,
        CASE_NUMBER,
        SCOPE,
        expiresAt,
      );
      expect(ours).to.not.equal(theirs);
      for (const [author, id] of [
        [c.police, 1n],
        [c.bank, 2n],
      ] as const) {
        await expect(
          c.labels
            .connect(author)
            .publishLabel(SUBJECT, ETHEREUM, SANCTIONED, c.ids.police, CASE_COMMITMENT, CONFIDENCE),
        ).to.emit(c.labels, "LabelPublished");
        expect((await c.labels.getLabel(id)).caseId).to.equal(ours);
      }
      await c.labels
        .connect(at(c.others, 1))
        .publishLabel(SUBJECT, ETHEREUM, SCAM, copier, CASE_COMMITMENT, CONFIDENCE);
      expect((await c.labels.getLabel(3n)).caseId).to.equal(theirs);
    });

    it("reverts with UnknownCaseCommitment when the commitment is named with another participant than its opener", async function () {
      const { labels, bank, ids } = await load(deployLabels);
      await expect(
        labels
          .connect(bank)
          .publishLabel(SUBJECT, ETHEREUM, SANCTIONED, ids.bank, CASE_COMMITMENT, CONFIDENCE),
      )
        .to.be.revertedWithCustomError(labels, "UnknownCaseCommitment")
        .withArgs(ids.bank, CASE_COMMITMENT);
    });

    it("reverts with UnknownCaseCommitment when no case has the commitment", async function () {
      const { labels, police } = await load(deployLabels);
      const unknown = commitment("CASE-NEVER-OPENED");
      await expect(
        labels
          .connect(police)
          .publishLabel(SUBJECT, ETHEREUM, SANCTIONED, OPENER, unknown, CONFIDENCE),
      )
        .to.be.revertedWithCustomError(labels, "UnknownCaseCommitment")
        .withArgs(OPENER, unknown);
    });

    it("reverts with UnknownCaseCommitment when the commitment is zero", async function () {
      const { labels, police } = await load(deployLabels);
      await expect(
        labels
          .connect(police)
          .publishLabel(SUBJECT, ETHEREUM, SANCTIONED, OPENER, ZeroHash, CONFIDENCE),
      )
        .to.be.revertedWithCustomError(labels, "UnknownCaseCommitment")
        .withArgs(OPENER, ZeroHash);
    });

    it("reverts with CaseNotApproved when the case is not approved yet", async function () {
      const { labels, cases, police } = await load(deployLabels);
      const pending = await openCase(
        cases,
        police,
        "CASE-PENDING",
        SCOPE,
        (await time.latest()) + CASE_DURATION,
      );
      await expect(
        labels
          .connect(police)
          .publishLabel(
            SUBJECT,
            ETHEREUM,
            SANCTIONED,
            OPENER,
            commitment("CASE-PENDING"),
            CONFIDENCE,
          ),
      )
        .to.be.revertedWithCustomError(cases, "CaseNotApproved")
        .withArgs(pending);
    });

    it("reverts with CaseIsClosed when the case is closed", async function () {
      const { labels, cases, police, caseId } = await load(deployLabels);
      await (await cases.connect(police).closeCase(caseId, REASON)).wait();
      await expect(
        labels
          .connect(police)
          .publishLabel(SUBJECT, ETHEREUM, SANCTIONED, OPENER, CASE_COMMITMENT, CONFIDENCE),
      )
        .to.be.revertedWithCustomError(cases, "CaseIsClosed")
        .withArgs(caseId);
    });

    it("reverts with CaseExpired from the case's expiry on", async function () {
      const { labels, cases, police, caseId, caseExpiry } = await load(deployLabels);
      await time.setNextBlockTimestamp(caseExpiry);
      await expect(
        labels
          .connect(police)
          .publishLabel(SUBJECT, ETHEREUM, SANCTIONED, OPENER, CASE_COMMITMENT, CONFIDENCE),
      )
        .to.be.revertedWithCustomError(cases, "CaseExpired")
        .withArgs(caseId, caseExpiry);
    });

    it("accepts a label one second before the case's expiry", async function () {
      const { labels, police, caseExpiry } = await load(deployLabels);
      await time.setNextBlockTimestamp(caseExpiry - 1);
      await expect(
        labels
          .connect(police)
          .publishLabel(SUBJECT, ETHEREUM, SANCTIONED, OPENER, CASE_COMMITMENT, CONFIDENCE),
      ).to.emit(labels, "LabelPublished");
    });

    it("reverts with UnknownSigningKey when the caller is not a participant's key", async function () {
      const { labels, registry, stranger } = await load(deployLabels);
      await expect(
        labels
          .connect(stranger)
          .publishLabel(SUBJECT, ETHEREUM, SANCTIONED, OPENER, CASE_COMMITMENT, CONFIDENCE),
      )
        .to.be.revertedWithCustomError(registry, "UnknownSigningKey")
        .withArgs(stranger.address);
    });

    it("reverts with ParticipantNotActive when the caller's participant is suspended", async function () {
      const { labels, registry, council, bank, ids } = await load(deployLabels);
      await suspend(registry, council, ids.bank);
      await expect(
        labels
          .connect(bank)
          .publishLabel(SUBJECT, ETHEREUM, SANCTIONED, OPENER, CASE_COMMITMENT, CONFIDENCE),
      )
        .to.be.revertedWithCustomError(registry, "ParticipantNotActive")
        .withArgs(ids.bank, ParticipantStatus.Suspended);
    });

    it("reverts with ConsortiumPaused while the consortium is paused", async function () {
      const { labels, registry, council, police } = await load(deployLabels);
      await (await registry.connect(at(council, 0)).pause()).wait();
      await expect(
        labels
          .connect(police)
          .publishLabel(SUBJECT, ETHEREUM, SANCTIONED, OPENER, CASE_COMMITMENT, CONFIDENCE),
      )
        .to.be.revertedWithCustomError(labels, "ConsortiumPaused")
        .withArgs();
    });
  });

  describe("revokeLabel", function () {
    it("marks the label revoked and emits LabelRevoked", async function () {
      const { labels, police, ids, labelId, caseId } = await load(deployLabeled);
      await expect(labels.connect(police).revokeLabel(labelId, REASON))
        .to.emit(labels, "LabelRevoked")
        .withArgs(labelId, ids.police, SUBJECT, REASON, police.address);
      const l = await labels.getLabel(labelId);
      expect(l.revoked).to.equal(true);
      expect(l.subject).to.equal(SUBJECT);
      expect(l.author).to.equal(ids.police);
      expect(l.category).to.equal(SANCTIONED);
      expect(l.caseId).to.equal(caseId);
      expect(await labels.labelCount()).to.equal(1n);
    });

    it("accepts the revocation from another signing key of the author", async function () {
      const { labels, registry, council, spare, ids, labelId } = await load(deployLabeled);
      await addSigningKey(registry, council, ids.police, spare.address);
      await expect(labels.connect(spare).revokeLabel(labelId, REASON))
        .to.emit(labels, "LabelRevoked")
        .withArgs(labelId, ids.police, SUBJECT, REASON, spare.address);
    });

    it("revokes only the label given, not the author's other labels on the subject", async function () {
      const { labels, police, labelId } = await load(deployLabeled);
      await (
        await labels
          .connect(police)
          .publishLabel(SUBJECT, ETHEREUM, SCAM, OPENER, CASE_COMMITMENT, 50)
      ).wait();
      await (await labels.connect(police).revokeLabel(labelId, REASON)).wait();
      expect((await labels.getLabel(labelId)).revoked).to.equal(true);
      expect((await labels.getLabel(2n)).revoked).to.equal(false);
    });

    it("reverts with NotLabelAuthor when another participant tries to revoke", async function () {
      const { labels, bank, ids, labelId } = await load(deployLabeled);
      await expect(labels.connect(bank).revokeLabel(labelId, REASON))
        .to.be.revertedWithCustomError(labels, "NotLabelAuthor")
        .withArgs(labelId, ids.bank);
    });

    it("reverts with NotLabelAuthor when the case's approver tries to revoke the opener's label", async function () {
      const { labels, prosecutor, ids, labelId } = await load(deployLabeled);
      await expect(labels.connect(prosecutor).revokeLabel(labelId, REASON))
        .to.be.revertedWithCustomError(labels, "NotLabelAuthor")
        .withArgs(labelId, ids.prosecutor);
    });

    it("reverts with LabelAlreadyRevoked the second time", async function () {
      const { labels, police, labelId } = await load(deployLabeled);
      await (await labels.connect(police).revokeLabel(labelId, REASON)).wait();
      await expect(labels.connect(police).revokeLabel(labelId, REASON))
        .to.be.revertedWithCustomError(labels, "LabelAlreadyRevoked")
        .withArgs(labelId);
    });

    it("reverts with UnknownLabel when the label does not exist", async function () {
      const { labels, police } = await load(deployLabeled);
      await expect(labels.connect(police).revokeLabel(2n, REASON))
        .to.be.revertedWithCustomError(labels, "UnknownLabel")
        .withArgs(2n);
    });

    it("reverts with UnknownLabel for label 0", async function () {
      const { labels, police } = await load(deployLabeled);
      await expect(labels.connect(police).revokeLabel(0n, REASON))
        .to.be.revertedWithCustomError(labels, "UnknownLabel")
        .withArgs(0n);
    });

    it("accepts the revocation after the case was closed", async function () {
      const { labels, cases, police, ids, caseId, labelId } = await load(deployLabeled);
      await (await cases.connect(police).closeCase(caseId, REASON)).wait();
      await expect(labels.connect(police).revokeLabel(labelId, REASON))
        .to.emit(labels, "LabelRevoked")
        .withArgs(labelId, ids.police, SUBJECT, REASON, police.address);
    });

    it("accepts the revocation after the case expired", async function () {
      const { labels, police, ids, caseExpiry, labelId } = await load(deployLabeled);
      await time.increaseTo(caseExpiry + DAY);
      await expect(labels.connect(police).revokeLabel(labelId, REASON))
        .to.emit(labels, "LabelRevoked")
        .withArgs(labelId, ids.police, SUBJECT, REASON, police.address);
    });

    it("accepts the revocation during an emergency pause (it only withdraws a claim)", async function () {
      const { labels, registry, council, police, ids, labelId } = await load(deployLabeled);
      await (await registry.connect(at(council, 0)).pause()).wait();
      await expect(labels.connect(police).revokeLabel(labelId, REASON))
        .to.emit(labels, "LabelRevoked")
        .withArgs(labelId, ids.police, SUBJECT, REASON, police.address);
    });

    it("reverts with UnknownSigningKey when the caller is not a participant's key", async function () {
      const { labels, registry, stranger, labelId } = await load(deployLabeled);
      await expect(labels.connect(stranger).revokeLabel(labelId, REASON))
        .to.be.revertedWithCustomError(registry, "UnknownSigningKey")
        .withArgs(stranger.address);
    });

    it("reverts with ParticipantNotActive when the author is suspended", async function () {
      const { labels, registry, council, bank, ids } = await load(deployLabels);
      await (
        await labels
          .connect(bank)
          .publishLabel(SUBJECT, ETHEREUM, SCAM, OPENER, CASE_COMMITMENT, 40)
      ).wait();
      await suspend(registry, council, ids.bank);
      await expect(labels.connect(bank).revokeLabel(1n, REASON))
        .to.be.revertedWithCustomError(registry, "ParticipantNotActive")
        .withArgs(ids.bank, ParticipantStatus.Suspended);
    });
  });

  describe("getLabel", function () {
    it("returns an all-zero label for an id never published", async function () {
      const { labels } = await load(deployLabeled);
      const l = await labels.getLabel(99n);
      expect(l.subject).to.equal(ZeroAddress);
      expect(l.chainId).to.equal(0n);
      expect(l.author).to.equal(0n);
      expect(l.confidence).to.equal(0n);
      expect(l.revoked).to.equal(false);
      expect(l.category).to.equal(ZeroHash);
      expect(l.caseId).to.equal(0n);
      expect(l.publishedAt).to.equal(0n);
    });
  });

  describe("labelCount", function () {
    it("is 0 before any label is published", async function () {
      const { labels } = await load(deployLabels);
      expect(await labels.labelCount()).to.equal(0n);
    });

    it("counts revoked labels too (it counts labels ever published)", async function () {
      const { labels, police, labelId } = await load(deployLabeled);
      await (await labels.connect(police).revokeLabel(labelId, REASON)).wait();
      expect(await labels.labelCount()).to.equal(1n);
    });
  });
});
