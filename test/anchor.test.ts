import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { expect } from "chai";
import { ZeroHash } from "ethers";
import { network } from "hardhat";
import { ParticipantStatus, openApprovedCase, openCase, suspend } from "./helpers/access.js";
import { DAY, DataKind, commitment, deployConsortium, scopeOf } from "./helpers/fixture.js";

const { ethers, networkHelpers } = await network.create();
const { time } = networkHelpers;

const SCOPE = scopeOf(DataKind.BankAccounts);
const CASE_DURATION = 30 * DAY;
const REASON = 3;

/** An access-log entry: its index in the batch and the hash of its canonical bytes. */
type Entry = [bigint, string];
const LEAF_ENCODING = ["uint256", "bytes32"];

/** A batch of `count` entries; `batch` tells batches apart. */
function batchOf(count: number, batch = "A"): StandardMerkleTree<Entry> {
  const entries: Entry[] = Array.from({ length: count }, (_, i) => [
    BigInt(i),
    commitment(`access-log batch ${batch} entry ${i}`),
  ]);
  return StandardMerkleTree.of(entries, LEAF_ENCODING);
}

/** The entry at `index` of `tree`, with its proof. */
function entryOf(tree: StandardMerkleTree<Entry>, index: number) {
  const [entryIndex, entryHash] = tree.at(index) ?? [];
  if (entryIndex === undefined || entryHash === undefined) throw new Error(`no entry ${index}`);
  return { index: entryIndex, entryHash, proof: tree.getProof(index) };
}

/** The consortium and an approved case. */
async function deployAnchor() {
  const c = await deployConsortium(ethers);
  const caseExpiry = (await time.latest()) + CASE_DURATION;
  const caseId = await openApprovedCase(
    c.cases,
    c.police,
    c.prosecutor,
    "CASE-1",
    SCOPE,
    caseExpiry,
  );
  const outsider = c.others[0];
  if (outsider === undefined) throw new Error("outsider");
  return { ...c, caseId, caseExpiry, outsider };
}

/** deployAnchor, plus anchor 1: a batch of 4 entries by the bank under the case. */
async function deployAnchored() {
  const f = await deployAnchor();
  const tree = batchOf(4);
  await (await f.anchor.connect(f.bank).anchor(f.caseId, 0n, tree.root, 4)).wait();
  return { ...f, tree, anchorId: 1n };
}

describe("AccessLogAnchor", function () {
  describe("constructor", function () {
    it("binds the participant and case registries", async function () {
      const { anchor, registry, cases } = await networkHelpers.loadFixture(deployAnchor);
      expect(await anchor.registry()).to.equal(await registry.getAddress());
      expect(await anchor.cases()).to.equal(await cases.getAddress());
      expect(await anchor.anchorCount()).to.equal(0n);
    });
  });

  describe("anchor", function () {
    for (const count of [1, 3, 1000]) {
      const entries = count === 1 ? "1 entry" : `${count} entries`;
      it(`anchors a batch of ${entries}, records it and emits LogAnchored`, async function () {
        const { anchor, bank, ids, caseId } = await networkHelpers.loadFixture(deployAnchor);
        const tree = batchOf(count);
        const tx = anchor.connect(bank).anchor(caseId, 0n, tree.root, count);
        await expect(tx)
          .to.emit(anchor, "LogAnchored")
          .withArgs(1n, caseId, ids.bank, 0n, tree.root, count, bank.address);

        const receipt = await (await tx).wait();
        if (receipt === null) throw new Error("no receipt");
        const block = await ethers.provider.getBlock(receipt.blockNumber);
        const a = await anchor.getAnchor(1n);
        expect(a.root).to.equal(tree.root);
        expect(a.caseId).to.equal(caseId);
        expect(a.participant).to.equal(ids.bank);
        expect(a.entryCount).to.equal(count);
        expect(a.anchoredAt).to.equal(block?.timestamp);
        expect(a.firstSequence).to.equal(0n);
        expect(await anchor.anchorCount()).to.equal(1n);
      });

      it(`proves every sampled entry of a batch of ${entries}`, async function () {
        const { anchor, bank, caseId } = await networkHelpers.loadFixture(deployAnchor);
        const tree = batchOf(count);
        await anchor.connect(bank).anchor(caseId, 0n, tree.root, count);
        // Every entry of small batches; in the large one both ends, the middle and a stride.
        const sample =
          count <= 3
            ? [...Array(count).keys()]
            : [0, 1, count / 2 - 1, count / 2, count - 2, count - 1].concat(
                Array.from({ length: 20 }, (_, i) => 7 + i * 49),
              );
        for (const i of sample) {
          const e = entryOf(tree, i);
          expect(
            await anchor.verifyEntry(1n, e.index, e.entryHash, e.proof),
            `entry ${i}`,
          ).to.equal(true);
        }
      });
    }

    it("records the first entry's sequence number in the participant's log", async function () {
      const { anchor, bank, ids, caseId } = await networkHelpers.loadFixture(deployAnchor);
      const tree = batchOf(3);
      await expect(anchor.connect(bank).anchor(caseId, 40n, tree.root, 3))
        .to.emit(anchor, "LogAnchored")
        .withArgs(1n, caseId, ids.bank, 40n, tree.root, 3, bank.address);
      expect((await anchor.getAnchor(1n)).firstSequence).to.equal(40n);
    });

    it("accepts case id 0 for entries of several cases or none", async function () {
      const { anchor, telecom, ids } = await networkHelpers.loadFixture(deployAnchor);
      const tree = batchOf(3);
      await expect(anchor.connect(telecom).anchor(0n, 0n, tree.root, 3))
        .to.emit(anchor, "LogAnchored")
        .withArgs(1n, 0n, ids.telecom, 0n, tree.root, 3, telecom.address);
      expect((await anchor.getAnchor(1n)).caseId).to.equal(0n);
    });

    it("accepts a batch under an active case from any active participant", async function () {
      const { anchor, telecom, ids, caseId } = await networkHelpers.loadFixture(deployAnchor);
      const tree = batchOf(3);
      await expect(anchor.connect(telecom).anchor(caseId, 0n, tree.root, 3))
        .to.emit(anchor, "LogAnchored")
        .withArgs(1n, caseId, ids.telecom, 0n, tree.root, 3, telecom.address);
    });

    it("numbers anchors from 1 in order and counts them", async function () {
      const { anchor, police, ids, caseId, tree } =
        await networkHelpers.loadFixture(deployAnchored);
      const next = batchOf(3, "B");
      await expect(anchor.connect(police).anchor(caseId, 0n, next.root, 3))
        .to.emit(anchor, "LogAnchored")
        .withArgs(2n, caseId, ids.police, 0n, next.root, 3, police.address);
      expect(await anchor.anchorCount()).to.equal(2n);
      expect((await anchor.getAnchor(1n)).root).to.equal(tree.root);
      expect((await anchor.getAnchor(2n)).root).to.equal(next.root);
    });

    it("reverts with EmptyBatch when the root is zero", async function () {
      const { anchor, bank, caseId } = await networkHelpers.loadFixture(deployAnchor);
      await expect(
        anchor.connect(bank).anchor(caseId, 0n, ZeroHash, 3),
      ).to.be.revertedWithCustomError(anchor, "EmptyBatch");
    });

    it("reverts with EmptyBatch when the entry count is zero", async function () {
      const { anchor, bank, caseId } = await networkHelpers.loadFixture(deployAnchor);
      await expect(
        anchor.connect(bank).anchor(caseId, 0n, batchOf(3).root, 0),
      ).to.be.revertedWithCustomError(anchor, "EmptyBatch");
    });

    it("reverts with UnknownCase when the case does not exist", async function () {
      const { anchor, cases, bank } = await networkHelpers.loadFixture(deployAnchor);
      await expect(anchor.connect(bank).anchor(99n, 0n, batchOf(3).root, 3))
        .to.be.revertedWithCustomError(cases, "UnknownCase")
        .withArgs(99n);
    });

    it("reverts with CaseNotApproved when the case is not approved yet", async function () {
      const { anchor, cases, police, bank } = await networkHelpers.loadFixture(deployAnchor);
      const pending = await openCase(
        cases,
        police,
        "CASE-2",
        SCOPE,
        (await time.latest()) + CASE_DURATION,
      );
      await expect(anchor.connect(bank).anchor(pending, 0n, batchOf(3).root, 3))
        .to.be.revertedWithCustomError(cases, "CaseNotApproved")
        .withArgs(pending);
    });

    it("reverts with CaseIsClosed when the case is closed", async function () {
      const { anchor, cases, police, bank, caseId } =
        await networkHelpers.loadFixture(deployAnchor);
      await cases.connect(police).closeCase(caseId, REASON);
      await expect(anchor.connect(bank).anchor(caseId, 0n, batchOf(3).root, 3))
        .to.be.revertedWithCustomError(cases, "CaseIsClosed")
        .withArgs(caseId);
    });

    it("reverts with CaseExpired from the case's expiry on", async function () {
      const { anchor, cases, bank, caseId, caseExpiry } =
        await networkHelpers.loadFixture(deployAnchor);
      await time.setNextBlockTimestamp(caseExpiry);
      await expect(anchor.connect(bank).anchor(caseId, 0n, batchOf(3).root, 3))
        .to.be.revertedWithCustomError(cases, "CaseExpired")
        .withArgs(caseId, caseExpiry);
    });

    it("reverts with UnknownSigningKey when the caller is not a participant's key", async function () {
      const { anchor, registry, outsider } = await networkHelpers.loadFixture(deployAnchor);
      await expect(anchor.connect(outsider).anchor(0n, 0n, batchOf(3).root, 3))
        .to.be.revertedWithCustomError(registry, "UnknownSigningKey")
        .withArgs(outsider.address);
    });

    it("reverts with ParticipantNotActive when the caller's participant is suspended", async function () {
      const { anchor, registry, council, bank, ids } =
        await networkHelpers.loadFixture(deployAnchor);
      await suspend(registry, council, ids.bank);
      await expect(anchor.connect(bank).anchor(0n, 0n, batchOf(3).root, 3))
        .to.be.revertedWithCustomError(registry, "ParticipantNotActive")
        .withArgs(ids.bank, ParticipantStatus.Suspended);
    });

    it("reverts with ConsortiumPaused while the consortium is paused", async function () {
      const { anchor, registry, council, bank, caseId } =
        await networkHelpers.loadFixture(deployAnchor);
      await registry.connect(council[0]).pause();
      await expect(
        anchor.connect(bank).anchor(caseId, 0n, batchOf(3).root, 3),
      ).to.be.revertedWithCustomError(anchor, "ConsortiumPaused");
    });
  });

  describe("verifyEntry", function () {
    it("returns true for an entry of the batch with its proof", async function () {
      const { anchor, anchorId, tree } = await networkHelpers.loadFixture(deployAnchored);
      for (let i = 0; i < 4; i++) {
        const e = entryOf(tree, i);
        expect(await anchor.verifyEntry(anchorId, e.index, e.entryHash, e.proof)).to.equal(true);
      }
    });

    it("returns false for a wrong entry hash", async function () {
      const { anchor, anchorId, tree } = await networkHelpers.loadFixture(deployAnchored);
      const e = entryOf(tree, 1);
      const wrong = commitment("an entry that was never logged");
      expect(await anchor.verifyEntry(anchorId, e.index, wrong, e.proof)).to.equal(false);
    });

    it("returns false for a wrong index", async function () {
      const { anchor, anchorId, tree } = await networkHelpers.loadFixture(deployAnchored);
      const e = entryOf(tree, 1);
      expect(await anchor.verifyEntry(anchorId, 2n, e.entryHash, e.proof)).to.equal(false);
    });

    it("returns false for an index at or beyond the entry count, even with a valid proof", async function () {
      const { anchor, bank, tree } = await networkHelpers.loadFixture(deployAnchored);
      // The same 4-leaf root anchored as a batch of 3: leaf 3 is in the tree, not in the batch.
      await anchor.connect(bank).anchor(0n, 0n, tree.root, 3);
      const e = entryOf(tree, 3);
      expect(await anchor.verifyEntry(1n, e.index, e.entryHash, e.proof)).to.equal(true);
      expect(await anchor.verifyEntry(2n, e.index, e.entryHash, e.proof)).to.equal(false);
      expect(await anchor.verifyEntry(2n, 2n ** 256n - 1n, e.entryHash, e.proof)).to.equal(false);
    });

    it("returns false for a proof of another anchor", async function () {
      const { anchor, bank, anchorId, tree } = await networkHelpers.loadFixture(deployAnchored);
      const other = batchOf(4, "B");
      await anchor.connect(bank).anchor(0n, 0n, other.root, 4);
      const e = entryOf(other, 1);
      expect(await anchor.verifyEntry(2n, e.index, e.entryHash, e.proof)).to.equal(true);
      expect(await anchor.verifyEntry(anchorId, e.index, e.entryHash, e.proof)).to.equal(false);
      const mine = entryOf(tree, 1);
      expect(await anchor.verifyEntry(anchorId, mine.index, mine.entryHash, e.proof)).to.equal(
        false,
      );
    });

    it("returns false for an entry of a multi-entry batch without its proof", async function () {
      const { anchor, anchorId, tree } = await networkHelpers.loadFixture(deployAnchored);
      const e = entryOf(tree, 0);
      expect(await anchor.verifyEntry(anchorId, e.index, e.entryHash, [])).to.equal(false);
    });

    it("reverts with UnknownAnchor when the anchor does not exist", async function () {
      const { anchor, tree } = await networkHelpers.loadFixture(deployAnchored);
      const e = entryOf(tree, 0);
      await expect(anchor.verifyEntry(99n, e.index, e.entryHash, e.proof))
        .to.be.revertedWithCustomError(anchor, "UnknownAnchor")
        .withArgs(99n);
      await expect(anchor.verifyEntry(0n, e.index, e.entryHash, e.proof))
        .to.be.revertedWithCustomError(anchor, "UnknownAnchor")
        .withArgs(0n);
    });
  });

  describe("getAnchor", function () {
    it("returns an empty record for an unknown anchor", async function () {
      const { anchor } = await networkHelpers.loadFixture(deployAnchored);
      const a = await anchor.getAnchor(99n);
      expect(a.root).to.equal(ZeroHash);
      expect(a.caseId).to.equal(0n);
      expect(a.participant).to.equal(0n);
      expect(a.entryCount).to.equal(0n);
      expect(a.anchoredAt).to.equal(0n);
    });
  });

  describe("anchorCount", function () {
    it("counts the anchors made", async function () {
      const { anchor, bank } = await networkHelpers.loadFixture(deployAnchored);
      expect(await anchor.anchorCount()).to.equal(1n);
      await anchor.connect(bank).anchor(0n, 0n, batchOf(1, "B").root, 1);
      expect(await anchor.anchorCount()).to.equal(2n);
    });
  });
});
