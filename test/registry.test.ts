import { anyValue } from "@nomicfoundation/hardhat-ethers-chai-matchers/withArgs";
import { expect } from "chai";
import { network } from "hardhat";
import type { Interface } from "ethers";
import { revertDataOf } from "../src/client/errors.js";
import {
  Action,
  commitment,
  deployConsortium,
  kind,
  LIFETIME,
  passProposal,
} from "./helpers/fixture.js";
import {
  addressOf,
  approved,
  at,
  deployRegistry,
  encode,
  founder,
  nextTimestamp,
  propose,
  ProposalStatus,
  reason,
  Status,
} from "./helpers/council.js";

const { ethers, networkHelpers } = await network.create();

const MAX_COUNCIL = 32;
const HOUR = 60 * 60;
const MIN_LIFETIME = HOUR;
const MAX_LIFETIME = 7 * 24 * HOUR;
/** A proposal that changes nothing (the fixture's quorum is 2), for rules about proposals as such. */
const KEEP_QUORUM = encode.quorum(2);
/** An admission of a newcomer, which no council change makes stale. */
const ADMIT_ARGS = encode.admit("BANK", commitment("newcomer"), addressOf("newcomer"));
const AUDITOR = kind("AUDITOR");
const DAY = 24 * HOUR;
const PAUSE_DURATION = 72 * HOUR;
const PAUSE_COOLDOWN = 14 * DAY;

async function consortium() {
  return deployConsortium(ethers);
}

/** The fixture's consortium, with its signers unpacked (council members are participants 1-3). */
async function setup() {
  const c = await networkHelpers.loadFixture(consortium);
  return {
    ...c,
    c0: at(c.council, 0),
    c1: at(c.council, 1),
    c2: at(c.council, 2),
    stranger: at(c.others, 0),
    spare: at(c.others, 1),
  };
}

/** A registry whose council is full: the fixture's first two signers plus 30 key-only founders. */
async function fullCouncil() {
  const signers = await ethers.getSigners();
  const council = [at(signers, 0), at(signers, 1)];
  const founders = [
    ...council.map((s) => founder(s.address)),
    ...Array.from({ length: MAX_COUNCIL - 2 }, (_, i) => founder(addressOf(`founder-${i}`))),
  ];
  const registry = await deployRegistry(ethers, founders, 2);
  const newcomer = addressOf("newcomer");
  await passProposal(
    registry,
    council,
    Action.Admit,
    encode.admit("BANK", commitment("n"), newcomer),
  );
  return { registry, council, newcomerId: MAX_COUNCIL + 1 };
}

/**
 * A predicate for a `ProposalFailed` reason: the revert data of `contract`'s error `name`, each
 * argument equal to the expected value or passing the expected predicate.
 */
function revertData(
  contract: { interface: Interface },
  name: string,
  ...expected: unknown[]
): (data: string) => boolean {
  return (data: string) => {
    const parsed = contract.interface.parseError(data);
    if (parsed?.name !== name || parsed.args.length !== expected.length) return false;
    return expected.every((e, i) => {
      const actual: unknown = parsed.args[i];
      if (typeof e === "function") return (e as (v: unknown) => boolean)(actual);
      if (e === anyValue) return true;
      return String(actual).toLowerCase() === String(e).toLowerCase();
    });
  };
}

describe("ParticipantRegistry", function () {
  describe("constructor", function () {
    it("admits every founder as an active participant with proposal id 0", async function () {
      const signers = await ethers.getSigners();
      const founders = [founder(at(signers, 0).address), founder(at(signers, 1).address)];
      const registry = await deployRegistry(ethers, founders, 1);
      const tx = registry.deploymentTransaction();
      for (const [i, f] of founders.entries()) {
        await expect(tx)
          .to.emit(registry, "ParticipantAdmitted")
          .withArgs(i + 1, AUDITOR, f.metadataCommitment, f.signingKey, 0);
        const p = await registry.participant(i + 1);
        expect(p.kind).to.equal(AUDITOR);
        expect(p.metadataCommitment).to.equal(f.metadataCommitment);
        expect(p.status).to.equal(Status.Active);
        expect(p.activeKeys).to.equal(1);
        expect((await registry.signingKey(f.signingKey)).participantId).to.equal(i + 1);
      }
      expect(await registry.participantCount()).to.equal(2);
    });

    it("seats the founders on the council with the quorum and emits CouncilChanged", async function () {
      const founders = [1, 2, 3].map((i) => founder(addressOf(`f${i}`)));
      const registry = await deployRegistry(ethers, founders, 3);
      await expect(registry.deploymentTransaction())
        .to.emit(registry, "CouncilChanged")
        .withArgs([1, 2, 3], 3, 0);
      const [members, quorum] = await registry.council();
      expect(members).to.deep.equal([1n, 2n, 3n]);
      expect(quorum).to.equal(3);
      expect(await registry.paused()).to.equal(false);
      expect(await registry.proposalCount()).to.equal(0);
    });

    it("accepts a council of MAX_COUNCIL founders", async function () {
      const founders = Array.from({ length: MAX_COUNCIL }, (_, i) => founder(addressOf(`f${i}`)));
      const registry = await deployRegistry(ethers, founders, MAX_COUNCIL);
      const [members, quorum] = await registry.council();
      expect(members.length).to.equal(MAX_COUNCIL);
      expect(quorum).to.equal(MAX_COUNCIL);
      expect(await registry.MAX_COUNCIL()).to.equal(MAX_COUNCIL);
    });

    it("reverts with CouncilTooLarge when there are more than MAX_COUNCIL founders", async function () {
      const factory = await ethers.getContractFactory("ParticipantRegistry");
      const founders = Array.from({ length: MAX_COUNCIL + 1 }, (_, i) =>
        founder(addressOf(`f${i}`)),
      );
      await expect(factory.deploy(founders, 2))
        .to.be.revertedWithCustomError(factory, "CouncilTooLarge")
        .withArgs(MAX_COUNCIL);
    });

    it("reverts with InvalidQuorum when the quorum is zero", async function () {
      const factory = await ethers.getContractFactory("ParticipantRegistry");
      await expect(factory.deploy([founder(addressOf("f"))], 0))
        .to.be.revertedWithCustomError(factory, "InvalidQuorum")
        .withArgs(0, 1);
    });

    it("reverts with InvalidQuorum when the quorum exceeds the number of founders", async function () {
      const factory = await ethers.getContractFactory("ParticipantRegistry");
      await expect(factory.deploy([founder(addressOf("f1")), founder(addressOf("f2"))], 3))
        .to.be.revertedWithCustomError(factory, "InvalidQuorum")
        .withArgs(3, 2);
    });

    it("reverts with InvalidQuorum when there are no founders", async function () {
      const factory = await ethers.getContractFactory("ParticipantRegistry");
      await expect(factory.deploy([], 1))
        .to.be.revertedWithCustomError(factory, "InvalidQuorum")
        .withArgs(1, 0);
    });

    it("reverts with ZeroValue when a founder has no kind", async function () {
      const factory = await ethers.getContractFactory("ParticipantRegistry");
      const bad = { ...founder(addressOf("f")), kind: ethers.ZeroHash };
      await expect(factory.deploy([bad], 1))
        .to.be.revertedWithCustomError(factory, "ZeroValue")
        .withArgs("kind");
    });

    it("reverts with ZeroValue when a founder has no metadata commitment", async function () {
      const factory = await ethers.getContractFactory("ParticipantRegistry");
      const bad = { ...founder(addressOf("f")), metadataCommitment: ethers.ZeroHash };
      await expect(factory.deploy([bad], 1))
        .to.be.revertedWithCustomError(factory, "ZeroValue")
        .withArgs("metadataCommitment");
    });

    it("reverts with ZeroValue when a founder has no signing key", async function () {
      const factory = await ethers.getContractFactory("ParticipantRegistry");
      await expect(factory.deploy([founder(ethers.ZeroAddress, "zero")], 1))
        .to.be.revertedWithCustomError(factory, "ZeroValue")
        .withArgs("signingKey");
    });

    it("reverts with SigningKeyAlreadyRegistered when two founders share a key", async function () {
      const factory = await ethers.getContractFactory("ParticipantRegistry");
      const key = addressOf("shared");
      await expect(factory.deploy([founder(key, "a"), founder(key, "b")], 1))
        .to.be.revertedWithCustomError(factory, "SigningKeyAlreadyRegistered")
        .withArgs(key, 1);
    });
  });

  describe("deploymentBlock", function () {
    it("is the block the registry was deployed in", async function () {
      const registry = await deployRegistry(ethers, [founder(addressOf("f"))], 1);
      const receipt = await registry.deploymentTransaction()?.wait();
      expect(receipt).to.not.equal(null);
      expect(await registry.deploymentBlock()).to.equal(receipt?.blockNumber);
    });
  });

  describe("propose", function () {
    it("records the proposal, counts the proposer's approval and emits ProposalCreated", async function () {
      const { registry, c0, ids } = await setup();
      const args = encode.participant(ids.bank);
      const before = await registry.proposalCount();
      const ts = await nextTimestamp(networkHelpers);
      await expect(registry.connect(c0).propose(Action.Suspend, args, LIFETIME))
        .to.emit(registry, "ProposalCreated")
        .withArgs(before + 1n, 1, Action.Suspend, args, ts + LIFETIME, c0.address);
      const id = await registry.proposalCount();
      expect(id).to.equal(before + 1n);
      const p = await registry.proposal(id);
      expect(p.action).to.equal(Action.Suspend);
      expect(p.proposer).to.equal(1);
      expect(p.createdAt).to.equal(ts);
      expect(p.expiresAt).to.equal(ts + LIFETIME);
      expect(p.status).to.equal(ProposalStatus.Pending);
      expect(p.args).to.equal(args);
      expect(await registry.hasApproved(id, 1)).to.equal(true);
      expect(await registry.approvalCount(id)).to.equal(1);
    });

    it("returns the new proposal's id", async function () {
      const { registry, c0 } = await setup();
      const expected = (await registry.proposalCount()) + 1n;
      expect(
        await registry.connect(c0).propose.staticCall(Action.SetQuorum, KEEP_QUORUM, LIFETIME),
      ).to.equal(expected);
    });

    it("accepts the shortest lifetime, MIN_PROPOSAL_LIFETIME", async function () {
      const { registry, c0 } = await setup();
      expect(await registry.MIN_PROPOSAL_LIFETIME()).to.equal(MIN_LIFETIME);
      const ts = await nextTimestamp(networkHelpers);
      await registry.connect(c0).propose(Action.SetQuorum, KEEP_QUORUM, MIN_LIFETIME);
      const p = await registry.proposal(await registry.proposalCount());
      expect(p.expiresAt).to.equal(ts + MIN_LIFETIME);
    });

    it("accepts the longest lifetime, MAX_PROPOSAL_LIFETIME", async function () {
      const { registry, c0 } = await setup();
      expect(await registry.MAX_PROPOSAL_LIFETIME()).to.equal(MAX_LIFETIME);
      const ts = await nextTimestamp(networkHelpers);
      await registry.connect(c0).propose(Action.SetQuorum, KEEP_QUORUM, MAX_LIFETIME);
      const p = await registry.proposal(await registry.proposalCount());
      expect(p.expiresAt).to.equal(ts + MAX_LIFETIME);
    });

    it("reverts with InvalidProposalLifetime when the lifetime is below the minimum", async function () {
      const { registry, c0 } = await setup();
      await expect(registry.connect(c0).propose(Action.SetQuorum, KEEP_QUORUM, MIN_LIFETIME - 1))
        .to.be.revertedWithCustomError(registry, "InvalidProposalLifetime")
        .withArgs(MIN_LIFETIME - 1, MIN_LIFETIME, MAX_LIFETIME);
    });

    it("reverts with InvalidProposalLifetime when the lifetime is above the maximum", async function () {
      const { registry, c0 } = await setup();
      await expect(registry.connect(c0).propose(Action.SetQuorum, KEEP_QUORUM, MAX_LIFETIME + 1))
        .to.be.revertedWithCustomError(registry, "InvalidProposalLifetime")
        .withArgs(MAX_LIFETIME + 1, MIN_LIFETIME, MAX_LIFETIME);
    });

    const argLengths: [keyof typeof Action, number][] = [
      ["Admit", 96],
      ["Suspend", 32],
      ["Reinstate", 32],
      ["Revoke", 32],
      ["AddSigningKey", 64],
      ["RemoveSigningKey", 64],
      ["AddCouncilMember", 32],
      ["RemoveCouncilMember", 32],
      ["SetQuorum", 32],
      ["Unpause", 0],
      ["AddNode", 96],
      ["RemoveNode", 96],
      ["SetRules", 64],
    ];
    for (const [name, length] of argLengths) {
      it(`reverts with InvalidProposalArgs when ${name} args are not ${length} bytes`, async function () {
        const { registry, c0 } = await setup();
        const wrong = ethers.hexlify(new Uint8Array(length + 32));
        const short = ethers.hexlify(new Uint8Array(Math.max(length - 1, 0)));
        await expect(registry.connect(c0).propose(Action[name], wrong, LIFETIME))
          .to.be.revertedWithCustomError(registry, "InvalidProposalArgs")
          .withArgs(Action[name], length + 32);
        if (length > 0) {
          await expect(registry.connect(c0).propose(Action[name], short, LIFETIME))
            .to.be.revertedWithCustomError(registry, "InvalidProposalArgs")
            .withArgs(Action[name], length - 1);
        }
      });
    }

    it("reverts without a reason when the action is outside the Action enum", async function () {
      const { registry, c0 } = await setup();
      await expect(
        registry.connect(c0).propose(Action.ExtendPause + 1, "0x", LIFETIME),
      ).to.be.revertedWithoutReason(ethers);
    });

    it("reverts with NotCouncilMember when the caller is an active participant off the council", async function () {
      const { registry, bank, ids } = await setup();
      await expect(registry.connect(bank).propose(Action.SetQuorum, KEEP_QUORUM, LIFETIME))
        .to.be.revertedWithCustomError(registry, "NotCouncilMember")
        .withArgs(ids.bank);
    });

    it("reverts with UnknownSigningKey when the caller is no signing key", async function () {
      const { registry, stranger } = await setup();
      await expect(registry.connect(stranger).propose(Action.SetQuorum, KEEP_QUORUM, LIFETIME))
        .to.be.revertedWithCustomError(registry, "UnknownSigningKey")
        .withArgs(stranger.address);
    });

    it("reverts with UnknownSigningKey when the caller's key was removed", async function () {
      const { registry, council, c0, spare } = await setup();
      await passProposal(registry, council, Action.AddSigningKey, encode.key(1, spare.address));
      await passProposal(registry, council, Action.RemoveSigningKey, encode.key(1, c0.address));
      await expect(registry.connect(c0).propose(Action.SetQuorum, KEEP_QUORUM, LIFETIME))
        .to.be.revertedWithCustomError(registry, "UnknownSigningKey")
        .withArgs(c0.address);
    });

    it("reverts with ParticipantNotActive when the caller's participant is suspended", async function () {
      const { registry, council, bank, ids } = await setup();
      await passProposal(registry, council, Action.Suspend, encode.participant(ids.bank));
      await expect(registry.connect(bank).propose(Action.SetQuorum, KEEP_QUORUM, LIFETIME))
        .to.be.revertedWithCustomError(registry, "ParticipantNotActive")
        .withArgs(ids.bank, Status.Suspended);
    });

    it("still accepts proposals while the consortium is paused", async function () {
      const { registry, c0, c1 } = await setup();
      await registry.connect(c0).pause();
      await expect(registry.connect(c1).propose(Action.SetQuorum, KEEP_QUORUM, LIFETIME)).to.emit(
        registry,
        "ProposalCreated",
      );
    });
  });

  describe("approve", function () {
    it("records the approval and emits ProposalApproved", async function () {
      const { registry, c0, c1 } = await setup();
      const id = await propose(registry, c0, Action.SetQuorum, KEEP_QUORUM);
      expect(await registry.hasApproved(id, 2)).to.equal(false);
      await expect(registry.connect(c1).approve(id))
        .to.emit(registry, "ProposalApproved")
        .withArgs(id, 2, c1.address);
      expect(await registry.hasApproved(id, 2)).to.equal(true);
      expect(await registry.approvalCount(id)).to.equal(2);
    });

    it("accepts an approval at the last second before the proposal expires", async function () {
      const { registry, c0, c1 } = await setup();
      const id = await propose(registry, c0, Action.SetQuorum, KEEP_QUORUM);
      const { expiresAt } = await registry.proposal(id);
      await networkHelpers.time.setNextBlockTimestamp(expiresAt - 1n);
      await expect(registry.connect(c1).approve(id)).to.emit(registry, "ProposalApproved");
    });

    it("reverts with ProposalExpired at the very second the proposal expires (expiry is exclusive)", async function () {
      const { registry, c0, c1 } = await setup();
      const id = await propose(registry, c0, Action.SetQuorum, KEEP_QUORUM);
      const { expiresAt } = await registry.proposal(id);
      await networkHelpers.time.setNextBlockTimestamp(expiresAt);
      await expect(registry.connect(c1).approve(id))
        .to.be.revertedWithCustomError(registry, "ProposalExpired")
        .withArgs(id, expiresAt);
    });

    it("reverts with UnknownProposal when the proposal does not exist", async function () {
      const { registry, c1 } = await setup();
      const next = (await registry.proposalCount()) + 1n;
      await expect(registry.connect(c1).approve(next))
        .to.be.revertedWithCustomError(registry, "UnknownProposal")
        .withArgs(next);
      await expect(registry.connect(c1).approve(0))
        .to.be.revertedWithCustomError(registry, "UnknownProposal")
        .withArgs(0);
    });

    it("reverts with ProposalNotPending when the proposal was executed", async function () {
      const { registry, council, c2 } = await setup();
      const id = await passProposal(registry, council, Action.SetQuorum, encode.quorum(3));
      await expect(registry.connect(c2).approve(id))
        .to.be.revertedWithCustomError(registry, "ProposalNotPending")
        .withArgs(id, ProposalStatus.Executed);
    });

    it("reverts with ProposalExpired once the lifetime has passed", async function () {
      const { registry, c0, c1 } = await setup();
      const id = await propose(registry, c0, Action.SetQuorum, KEEP_QUORUM);
      const { expiresAt } = await registry.proposal(id);
      await networkHelpers.time.increase(LIFETIME + 1);
      await expect(registry.connect(c1).approve(id))
        .to.be.revertedWithCustomError(registry, "ProposalExpired")
        .withArgs(id, expiresAt);
    });

    it("reverts with AlreadyApproved when the proposer approves its own proposal", async function () {
      const { registry, c0 } = await setup();
      const id = await propose(registry, c0, Action.SetQuorum, KEEP_QUORUM);
      await expect(registry.connect(c0).approve(id))
        .to.be.revertedWithCustomError(registry, "AlreadyApproved")
        .withArgs(id, 1);
    });

    it("reverts with AlreadyApproved when a member approves twice", async function () {
      const { registry, c0, c1 } = await setup();
      const id = await propose(registry, c0, Action.SetQuorum, KEEP_QUORUM);
      await registry.connect(c1).approve(id);
      await expect(registry.connect(c1).approve(id))
        .to.be.revertedWithCustomError(registry, "AlreadyApproved")
        .withArgs(id, 2);
    });

    it("reverts with AlreadyApproved when another key of the same member approves again", async function () {
      const { registry, council, c0, c1, spare } = await setup();
      await passProposal(registry, council, Action.AddSigningKey, encode.key(2, spare.address));
      const id = await propose(registry, c0, Action.SetQuorum, KEEP_QUORUM);
      await registry.connect(c1).approve(id);
      await expect(registry.connect(spare).approve(id))
        .to.be.revertedWithCustomError(registry, "AlreadyApproved")
        .withArgs(id, 2);
    });

    it("reverts with NotCouncilMember when the caller is off the council", async function () {
      const { registry, c0, bank, ids } = await setup();
      const id = await propose(registry, c0, Action.SetQuorum, KEEP_QUORUM);
      await expect(registry.connect(bank).approve(id))
        .to.be.revertedWithCustomError(registry, "NotCouncilMember")
        .withArgs(ids.bank);
    });

    it("reverts with NotCouncilMember when the caller was removed from the council", async function () {
      const { registry, council, c0, c2 } = await setup();
      const id = await propose(registry, c0, Action.SetQuorum, KEEP_QUORUM);
      await passProposal(registry, council, Action.RemoveCouncilMember, encode.participant(3));
      await expect(registry.connect(c2).approve(id))
        .to.be.revertedWithCustomError(registry, "NotCouncilMember")
        .withArgs(3);
    });

    it("reverts with UnknownSigningKey when the caller is no signing key", async function () {
      const { registry, c0, stranger } = await setup();
      const id = await propose(registry, c0, Action.SetQuorum, KEEP_QUORUM);
      await expect(registry.connect(stranger).approve(id))
        .to.be.revertedWithCustomError(registry, "UnknownSigningKey")
        .withArgs(stranger.address);
    });
  });

  describe("execute", function () {
    it("carries out a proposal a quorum approved and marks it executed", async function () {
      const { registry, council } = await setup();
      const id = await approved(registry, council, Action.SetQuorum, encode.quorum(3));
      await expect(registry.execute(id))
        .to.emit(registry, "CouncilChanged")
        .withArgs([1, 2, 3], 3, id)
        .and.to.emit(registry, "ProposalExecuted")
        .withArgs(id, anyValue);
      expect((await registry.proposal(id)).status).to.equal(ProposalStatus.Executed);
    });

    it("may be called by anyone, even an address that is no participant", async function () {
      const { registry, council, stranger } = await setup();
      const id = await approved(registry, council, Action.SetQuorum, encode.quorum(3));
      await expect(registry.connect(stranger).execute(id)).to.emit(registry, "CouncilChanged");
    });

    it("executes at the last second before the proposal expires", async function () {
      const { registry, council } = await setup();
      const id = await approved(registry, council, Action.SetQuorum, encode.quorum(3));
      const { expiresAt } = await registry.proposal(id);
      await networkHelpers.time.setNextBlockTimestamp(expiresAt - 1n);
      await expect(registry.execute(id)).to.emit(registry, "CouncilChanged");
    });

    it("reverts with ProposalExpired at the very second the proposal expires", async function () {
      const { registry, council } = await setup();
      const id = await approved(registry, council, Action.SetQuorum, encode.quorum(3));
      const { expiresAt } = await registry.proposal(id);
      await networkHelpers.time.setNextBlockTimestamp(expiresAt);
      await expect(registry.execute(id))
        .to.be.revertedWithCustomError(registry, "ProposalExpired")
        .withArgs(id, expiresAt);
    });

    it("reverts with QuorumNotReached when only the proposer approved", async function () {
      const { registry, c0 } = await setup();
      const id = await propose(registry, c0, Action.SetQuorum, encode.quorum(3));
      await expect(registry.execute(id))
        .to.be.revertedWithCustomError(registry, "QuorumNotReached")
        .withArgs(id, 1, 2);
    });

    it("reverts with QuorumNotReached when an approver was removed from the council since", async function () {
      const { registry, council, c0, c2 } = await setup();
      const id = await propose(registry, c2, Action.Admit, ADMIT_ARGS);
      await passProposal(registry, council, Action.RemoveCouncilMember, encode.participant(3));
      await registry.connect(c0).approve(id);
      expect(await registry.hasApproved(id, 3)).to.equal(false);
      await expect(registry.execute(id))
        .to.be.revertedWithCustomError(registry, "QuorumNotReached")
        .withArgs(id, 1, 2);
    });

    it("reverts with QuorumNotReached when the quorum was raised since the approvals", async function () {
      const { registry, council } = await setup();
      const id = await approved(registry, council, Action.Suspend, encode.participant(6));
      await passProposal(registry, council, Action.SetQuorum, encode.quorum(3));
      await expect(registry.execute(id))
        .to.be.revertedWithCustomError(registry, "QuorumNotReached")
        .withArgs(id, 2, 3);
    });

    it("reverts with UnknownProposal when the proposal does not exist", async function () {
      const { registry } = await setup();
      const next = (await registry.proposalCount()) + 1n;
      await expect(registry.execute(next))
        .to.be.revertedWithCustomError(registry, "UnknownProposal")
        .withArgs(next);
    });

    it("reverts with ProposalNotPending when executed twice", async function () {
      const { registry, council } = await setup();
      const id = await passProposal(registry, council, Action.SetQuorum, encode.quorum(3));
      await expect(registry.execute(id))
        .to.be.revertedWithCustomError(registry, "ProposalNotPending")
        .withArgs(id, ProposalStatus.Executed);
    });

    it("reverts with ProposalExpired once the lifetime has passed", async function () {
      const { registry, council } = await setup();
      const id = await approved(registry, council, Action.SetQuorum, encode.quorum(3));
      const { expiresAt } = await registry.proposal(id);
      await networkHelpers.time.increase(LIFETIME + 1);
      await expect(registry.execute(id))
        .to.be.revertedWithCustomError(registry, "ProposalExpired")
        .withArgs(id, expiresAt);
    });

    it("marks the proposal Failed with the revert data when its action reverts, and it never runs later", async function () {
      const { registry, council, bank, spare, ids } = await setup();
      // Removing the bank's only key fails today; once it has a second key it would succeed.
      const id = await approved(
        registry,
        council,
        Action.RemoveSigningKey,
        encode.key(ids.bank, bank.address),
      );
      await expect(registry.execute(id))
        .to.emit(registry, "ProposalFailed")
        .withArgs(id, reason(registry, "LastSigningKey", ids.bank), anyValue);
      expect((await registry.proposal(id)).status).to.equal(ProposalStatus.Failed);
      await passProposal(
        registry,
        council,
        Action.AddSigningKey,
        encode.key(ids.bank, spare.address),
      );
      await expect(registry.execute(id))
        .to.be.revertedWithCustomError(registry, "ProposalNotPending")
        .withArgs(id, ProposalStatus.Failed);
      expect((await registry.signingKey(bank.address)).removedAt).to.equal(0);
    });

    it("reverts with ExecutionRevertedWithoutReason, leaving the proposal Pending, when the action runs out of gas", async function () {
      const { registry, council, stranger } = await setup();
      const id = await approved(registry, council, Action.Admit, ADMIT_ARGS);
      const starved = registry.interface.encodeErrorResult("ExecutionRevertedWithoutReason", [id]);
      let seen = 0;
      for (let gasLimit = 40_000; gasLimit <= 400_000; gasLimit += 5_000) {
        try {
          await registry.connect(stranger).execute.staticCall(id, { gasLimit });
          break;
        } catch (error) {
          if (revertDataOf(error) === starved) seen++;
        }
      }
      expect(seen).to.be.greaterThan(0);
      // No gas limit makes it Failed: sent for real, it reverts or executes.
      for (let gasLimit = 40_000; gasLimit <= 400_000; gasLimit += 10_000) {
        try {
          await (await registry.connect(stranger).execute(id, { gasLimit })).wait();
        } catch {
          // Reverted: nothing recorded.
        }
        const { status } = await registry.proposal(id);
        expect(status, `gas limit ${gasLimit}`).to.not.equal(ProposalStatus.Failed);
        if (status === BigInt(ProposalStatus.Executed)) break;
      }
      expect((await registry.proposal(id)).status).to.equal(ProposalStatus.Executed);
    });

    it("fails a duplicate AddCouncilMember as ProposalStale once its twin ran, so a removed member can't come back", async function () {
      const { registry, council, bank, ids } = await setup();
      const first = await approved(
        registry,
        council,
        Action.AddCouncilMember,
        encode.participant(ids.bank),
      );
      const twin = await approved(
        registry,
        council,
        Action.AddCouncilMember,
        encode.participant(ids.bank),
      );
      await registry.execute(first);
      await passProposal(
        registry,
        council,
        Action.RemoveCouncilMember,
        encode.participant(ids.bank),
      );
      await expect(registry.connect(bank).execute(twin))
        .to.emit(registry, "ProposalFailed")
        .withArgs(twin, reason(registry, "ProposalStale", twin), bank.address);
      expect((await registry.council())[0]).to.not.include(BigInt(ids.bank));
      expect((await registry.proposal(twin)).status).to.equal(ProposalStatus.Failed);
    });

    it("fails a leftover Reinstate as ProposalStale after a later Suspend of the same participant", async function () {
      const { registry, council, ids } = await setup();
      await passProposal(registry, council, Action.Suspend, encode.participant(ids.bank));
      const first = await approved(
        registry,
        council,
        Action.Reinstate,
        encode.participant(ids.bank),
      );
      const leftover = await approved(
        registry,
        council,
        Action.Reinstate,
        encode.participant(ids.bank),
      );
      await registry.execute(first);
      await passProposal(registry, council, Action.Suspend, encode.participant(ids.bank));
      await expect(registry.execute(leftover))
        .to.emit(registry, "ProposalFailed")
        .withArgs(leftover, reason(registry, "ProposalStale", leftover), anyValue);
      expect((await registry.participant(ids.bank)).status).to.equal(Status.Suspended);
    });

    it("fails a Reinstate as ProposalStale when the participant's status changed after it was proposed", async function () {
      const { registry, council, ids } = await setup();
      await passProposal(registry, council, Action.Suspend, encode.participant(ids.bank));
      const id = await approved(registry, council, Action.Reinstate, encode.participant(ids.bank));
      await passProposal(registry, council, Action.Reinstate, encode.participant(ids.bank));
      await passProposal(registry, council, Action.Suspend, encode.participant(ids.bank));
      await expect(registry.execute(id))
        .to.emit(registry, "ProposalFailed")
        .withArgs(id, reason(registry, "ProposalStale", id), anyValue);
      expect((await registry.participant(ids.bank)).status).to.equal(Status.Suspended);
    });

    it("fails a SetQuorum as ProposalStale when the council changed after it was proposed", async function () {
      const { registry, council, ids } = await setup();
      const id = await approved(registry, council, Action.SetQuorum, encode.quorum(3));
      await passProposal(registry, council, Action.AddCouncilMember, encode.participant(ids.bank));
      await expect(registry.execute(id))
        .to.emit(registry, "ProposalFailed")
        .withArgs(id, reason(registry, "ProposalStale", id), anyValue);
      expect((await registry.council())[1]).to.equal(2);
    });

    it("fails an Unpause approved during one pause as ProposalStale in the next pause", async function () {
      const { registry, council, c0, c1 } = await setup();
      await registry.connect(c0).pause();
      const id = await approved(registry, council, Action.Unpause, encode.none);
      await networkHelpers.time.increase(PAUSE_DURATION);
      expect(await registry.paused()).to.equal(false);
      await registry.connect(c1).pause();
      await expect(registry.execute(id))
        .to.emit(registry, "ProposalFailed")
        .withArgs(id, reason(registry, "ProposalStale", id), anyValue);
      expect(await registry.paused()).to.equal(true);
    });

    it("cannot meet arguments that do not decode: propose refuses them with InvalidProposalArgs", async function () {
      const { registry, c0 } = await setup();
      const dirty = ethers.zeroPadValue("0x0100000006", 32);
      await expect(registry.connect(c0).propose(Action.Suspend, dirty, LIFETIME))
        .to.be.revertedWithCustomError(registry, "InvalidProposalArgs")
        .withArgs(Action.Suspend, 32);
    });
  });

  describe("execute: approvals bound to the state they were given in", function () {
    it("records the state's hash as the proposal's context and executes while it holds", async function () {
      const { registry, council, ids } = await setup();
      const id = await approved(registry, council, Action.Suspend, encode.participant(ids.bank));
      expect((await registry.proposal(id)).context).to.not.equal(ethers.ZeroHash);
      await passProposal(
        registry,
        council,
        Action.AddSigningKey,
        encode.key(ids.bank, addressOf("k")),
      );
      await expect(registry.execute(id)).to.emit(registry, "ParticipantStatusChanged");
    });

    it("approve reverts with ProposalStale once the state it depends on changed", async function () {
      const { registry, council, c2, ids } = await setup();
      const id = await propose(
        registry,
        at(council, 0),
        Action.Suspend,
        encode.participant(ids.bank),
      );
      await passProposal(registry, council, Action.Suspend, encode.participant(ids.bank));
      await expect(registry.connect(c2).approve(id))
        .to.be.revertedWithCustomError(registry, "ProposalStale")
        .withArgs(id);
    });

    it("leaves a stale proposal without a quorum Pending: execute reverts with QuorumNotReached", async function () {
      const { registry, council, c0, ids } = await setup();
      const id = await propose(registry, c0, Action.Suspend, encode.participant(ids.bank));
      await passProposal(registry, council, Action.Suspend, encode.participant(ids.bank));
      await expect(registry.execute(id))
        .to.be.revertedWithCustomError(registry, "QuorumNotReached")
        .withArgs(id, 1, 2);
    });
  });

  describe("applyProposal", function () {
    it("reverts with OnlyRegistry when anyone but the registry calls it", async function () {
      const { registry, c0 } = await setup();
      await expect(
        registry.connect(c0).applyProposal(1, Action.SetQuorum, encode.quorum(1), c0.address),
      )
        .to.be.revertedWithCustomError(registry, "OnlyRegistry")
        .withArgs(c0.address);
    });
  });

  describe("withdrawApproval", function () {
    it("removes the caller's approval and emits ApprovalWithdrawn", async function () {
      const { registry, council, c1 } = await setup();
      const id = await approved(registry, council, Action.Admit, ADMIT_ARGS);
      await expect(registry.connect(c1).withdrawApproval(id))
        .to.emit(registry, "ApprovalWithdrawn")
        .withArgs(id, 2, c1.address);
      expect(await registry.hasApproved(id, 2)).to.equal(false);
      expect(await registry.approvalCount(id)).to.equal(1);
      await expect(registry.execute(id))
        .to.be.revertedWithCustomError(registry, "QuorumNotReached")
        .withArgs(id, 1, 2);
    });

    it("lets the member approve again afterwards", async function () {
      const { registry, council, c1 } = await setup();
      const id = await approved(registry, council, Action.Admit, ADMIT_ARGS);
      await registry.connect(c1).withdrawApproval(id);
      await expect(registry.connect(c1).approve(id)).to.emit(registry, "ProposalApproved");
      expect(await registry.approvalCount(id)).to.equal(2);
    });

    it("reverts with ProposerCannotWithdraw when the proposer tries (it may cancel instead)", async function () {
      const { registry, c0 } = await setup();
      const id = await propose(registry, c0, Action.Admit, ADMIT_ARGS);
      await expect(registry.connect(c0).withdrawApproval(id))
        .to.be.revertedWithCustomError(registry, "ProposerCannotWithdraw")
        .withArgs(id);
    });

    it("reverts with NotApproved when the caller did not approve", async function () {
      const { registry, c0, c2 } = await setup();
      const id = await propose(registry, c0, Action.Admit, ADMIT_ARGS);
      await expect(registry.connect(c2).withdrawApproval(id))
        .to.be.revertedWithCustomError(registry, "NotApproved")
        .withArgs(id, 3);
    });

    it("reverts with NotCouncilMember when the caller is off the council", async function () {
      const { registry, council, police, ids } = await setup();
      const id = await approved(registry, council, Action.Admit, ADMIT_ARGS);
      await expect(registry.connect(police).withdrawApproval(id))
        .to.be.revertedWithCustomError(registry, "NotCouncilMember")
        .withArgs(ids.police);
    });

    it("reverts with ProposalNotPending when the proposal was executed", async function () {
      const { registry, council, c1 } = await setup();
      const id = await passProposal(registry, council, Action.Admit, ADMIT_ARGS);
      await expect(registry.connect(c1).withdrawApproval(id))
        .to.be.revertedWithCustomError(registry, "ProposalNotPending")
        .withArgs(id, ProposalStatus.Executed);
    });

    it("reverts with ProposalExpired once the proposal expired", async function () {
      const { registry, council, c1 } = await setup();
      const id = await approved(registry, council, Action.Admit, ADMIT_ARGS);
      const { expiresAt } = await registry.proposal(id);
      await networkHelpers.time.increaseTo(expiresAt);
      await expect(registry.connect(c1).withdrawApproval(id))
        .to.be.revertedWithCustomError(registry, "ProposalExpired")
        .withArgs(id, expiresAt);
    });
  });

  describe("cancel", function () {
    it("lets the proposer cancel while no other member approved, and emits ProposalCancelled", async function () {
      const { registry, c0, c1 } = await setup();
      const id = await propose(registry, c0, Action.Admit, ADMIT_ARGS);
      await expect(registry.connect(c0).cancel(id))
        .to.emit(registry, "ProposalCancelled")
        .withArgs(id, 1, 0, c0.address);
      expect((await registry.proposal(id)).status).to.equal(ProposalStatus.Cancelled);
      await expect(registry.connect(c1).approve(id))
        .to.be.revertedWithCustomError(registry, "ProposalNotPending")
        .withArgs(id, ProposalStatus.Cancelled);
    });

    it("lets the proposer cancel once the only other approval was withdrawn", async function () {
      const { registry, council, c0, c1 } = await setup();
      const id = await approved(registry, council, Action.Admit, ADMIT_ARGS);
      await registry.connect(c1).withdrawApproval(id);
      await expect(registry.connect(c0).cancel(id)).to.emit(registry, "ProposalCancelled");
    });

    it("reverts with CancelNotAllowed when the proposer cancels after another member approved", async function () {
      const { registry, council, c0 } = await setup();
      const id = await approved(registry, council, Action.Admit, ADMIT_ARGS);
      await expect(registry.connect(c0).cancel(id))
        .to.be.revertedWithCustomError(registry, "CancelNotAllowed")
        .withArgs(id, 1, 1);
    });

    it("reverts with CancelNotAllowed when a member other than the proposer cancels", async function () {
      const { registry, c0, c1 } = await setup();
      const id = await propose(registry, c0, Action.Admit, ADMIT_ARGS);
      await expect(registry.connect(c1).cancel(id))
        .to.be.revertedWithCustomError(registry, "CancelNotAllowed")
        .withArgs(id, 2, 0);
    });

    it("reverts with NotCouncilMember when the caller is off the council", async function () {
      const { registry, c0, police, ids } = await setup();
      const id = await propose(registry, c0, Action.Admit, ADMIT_ARGS);
      await expect(registry.connect(police).cancel(id))
        .to.be.revertedWithCustomError(registry, "NotCouncilMember")
        .withArgs(ids.police);
    });

    it("reverts with NotCouncilMember when the proposer left the council", async function () {
      const { registry, council, c2 } = await setup();
      const id = await propose(registry, c2, Action.Admit, ADMIT_ARGS);
      await passProposal(registry, council, Action.RemoveCouncilMember, encode.participant(3));
      await expect(registry.connect(c2).cancel(id))
        .to.be.revertedWithCustomError(registry, "NotCouncilMember")
        .withArgs(3);
    });

    it("reverts with ProposalNotPending when the proposal was already cancelled", async function () {
      const { registry, c0 } = await setup();
      const id = await propose(registry, c0, Action.Admit, ADMIT_ARGS);
      await registry.connect(c0).cancel(id);
      await expect(registry.connect(c0).cancel(id))
        .to.be.revertedWithCustomError(registry, "ProposalNotPending")
        .withArgs(id, ProposalStatus.Cancelled);
    });
  });

  describe("execute Action.CancelProposal", function () {
    it("cancels a proposal a quorum approved and emits ProposalCancelled with the deciding proposal", async function () {
      const { registry, council, stranger, ids } = await setup();
      const target = await approved(
        registry,
        council,
        Action.Suspend,
        encode.participant(ids.bank),
      );
      const id = await approved(registry, council, Action.CancelProposal, encode.proposal(target));
      await expect(registry.connect(stranger).execute(id))
        .to.emit(registry, "ProposalCancelled")
        .withArgs(target, 0, id, stranger.address)
        .and.to.emit(registry, "ProposalExecuted")
        .withArgs(id, stranger.address);
      await expect(registry.execute(target))
        .to.be.revertedWithCustomError(registry, "ProposalNotPending")
        .withArgs(target, ProposalStatus.Cancelled);
      expect((await registry.participant(ids.bank)).status).to.equal(Status.Active);
    });

    it("fails the proposal with ProposalNotPending when the target ran first", async function () {
      const { registry, council, ids } = await setup();
      const target = await approved(
        registry,
        council,
        Action.Suspend,
        encode.participant(ids.bank),
      );
      const id = await approved(registry, council, Action.CancelProposal, encode.proposal(target));
      await registry.execute(target);
      await expect(registry.execute(id))
        .to.emit(registry, "ProposalFailed")
        .withArgs(
          id,
          reason(registry, "ProposalNotPending", target, ProposalStatus.Executed),
          anyValue,
        );
    });

    it("reverts with UnknownProposal when proposed for a proposal that does not exist", async function () {
      const { registry, c0 } = await setup();
      const next = (await registry.proposalCount()) + 1n;
      await expect(
        registry.connect(c0).propose(Action.CancelProposal, encode.proposal(next), LIFETIME),
      )
        .to.be.revertedWithCustomError(registry, "UnknownProposal")
        .withArgs(next);
    });
  });

  describe("execute Action.ExtendPause", function () {
    it("extends the pause in force and emits EmergencyPauseExtended", async function () {
      const { registry, council, c2 } = await setup();
      await registry.connect(c2).pause();
      const id = await approved(registry, council, Action.ExtendPause, encode.duration(10 * DAY));
      const ts = await nextTimestamp(networkHelpers);
      await expect(registry.execute(id))
        .to.emit(registry, "EmergencyPauseExtended")
        .withArgs(id, ts + 10 * DAY);
      expect((await registry.pauseState())[0]).to.equal(ts + 10 * DAY);
      await networkHelpers.time.increaseTo(ts + 10 * DAY - 1);
      expect(await registry.paused()).to.equal(true);
      await networkHelpers.time.increaseTo(ts + 10 * DAY);
      expect(await registry.paused()).to.equal(false);
    });

    it("never shortens the pause", async function () {
      const { registry, council, c2 } = await setup();
      await registry.connect(c2).pause();
      const [until] = await registry.pauseState();
      const id = await approved(registry, council, Action.ExtendPause, encode.duration(60));
      await expect(registry.execute(id))
        .to.emit(registry, "EmergencyPauseExtended")
        .withArgs(id, until);
    });

    it("reverts with NotPaused when proposed while no pause is in force", async function () {
      const { registry, c0 } = await setup();
      await expect(
        registry.connect(c0).propose(Action.ExtendPause, encode.duration(DAY), LIFETIME),
      ).to.be.revertedWithCustomError(registry, "NotPaused");
    });

    it("reverts with InvalidPauseExtension when the duration is zero or above MAX_PAUSE_EXTENSION", async function () {
      const { registry, c0 } = await setup();
      await registry.connect(c0).pause();
      const max = await registry.MAX_PAUSE_EXTENSION();
      for (const d of [0, Number(max) + 1]) {
        await expect(registry.connect(c0).propose(Action.ExtendPause, encode.duration(d), LIFETIME))
          .to.be.revertedWithCustomError(registry, "InvalidPauseExtension")
          .withArgs(d, max);
      }
    });

    it("fails the proposal with NotPaused when the pause lapsed before execution", async function () {
      const { registry, council, c0 } = await setup();
      await registry.connect(c0).pause();
      const id = await approved(registry, council, Action.ExtendPause, encode.duration(DAY));
      await networkHelpers.time.increase(PAUSE_DURATION);
      await expect(registry.execute(id))
        .to.emit(registry, "ProposalFailed")
        .withArgs(id, reason(registry, "NotPaused"), anyValue);
      expect(await registry.paused()).to.equal(false);
    });

    it("fails the proposal with ProposalStale when another pause began since", async function () {
      const { registry, council, c0, c1 } = await setup();
      await registry.connect(c0).pause();
      const id = await approved(registry, council, Action.ExtendPause, encode.duration(DAY));
      await networkHelpers.time.increase(PAUSE_DURATION);
      await registry.connect(c1).pause();
      await expect(registry.execute(id))
        .to.emit(registry, "ProposalFailed")
        .withArgs(id, reason(registry, "ProposalStale", id), anyValue);
    });
  });

  describe("execute Action.Admit", function () {
    it("admits an active participant with its first key and emits ParticipantAdmitted", async function () {
      const { registry, council, spare } = await setup();
      const meta = commitment("notary record");
      const id = await approved(
        registry,
        council,
        Action.Admit,
        encode.admit("NOTARY", meta, spare.address),
      );
      const ts = await nextTimestamp(networkHelpers);
      await expect(registry.execute(id))
        .to.emit(registry, "ParticipantAdmitted")
        .withArgs(8, kind("NOTARY"), meta, spare.address, id);
      expect(await registry.participantCount()).to.equal(8);
      const p = await registry.participant(8);
      expect(p.kind).to.equal(kind("NOTARY"));
      expect(p.metadataCommitment).to.equal(meta);
      expect(p.status).to.equal(Status.Active);
      expect(p.admittedAt).to.equal(ts);
      expect(p.activeKeys).to.equal(1);
      const k = await registry.signingKey(spare.address);
      expect(k.participantId).to.equal(8);
      expect(k.addedAt).to.equal(ts);
      expect(k.removedAt).to.equal(0);
      const [who, what] = await registry.activeParticipantOf(spare.address);
      expect(who).to.equal(8);
      expect(what).to.equal(kind("NOTARY"));
    });

    it("fails the proposal with ZeroValue when the kind is zero", async function () {
      const { registry, council, spare } = await setup();
      const args = ethers.AbiCoder.defaultAbiCoder().encode(
        ["bytes32", "bytes32", "address"],
        [ethers.ZeroHash, commitment("m"), spare.address],
      );
      const id = await approved(registry, council, Action.Admit, args);
      await expect(registry.execute(id))
        .to.emit(registry, "ProposalFailed")
        .withArgs(id, reason(registry, "ZeroValue", "kind"), anyValue);
    });

    it("fails the proposal with ZeroValue when the metadata commitment is zero", async function () {
      const { registry, council, spare } = await setup();
      const args = encode.admit("NOTARY", ethers.ZeroHash, spare.address);
      const id = await approved(registry, council, Action.Admit, args);
      await expect(registry.execute(id))
        .to.emit(registry, "ProposalFailed")
        .withArgs(id, reason(registry, "ZeroValue", "metadataCommitment"), anyValue);
    });

    it("fails the proposal with ZeroValue when the signing key is zero", async function () {
      const { registry, council } = await setup();
      const args = encode.admit("NOTARY", commitment("m"), ethers.ZeroAddress);
      const id = await approved(registry, council, Action.Admit, args);
      await expect(registry.execute(id))
        .to.emit(registry, "ProposalFailed")
        .withArgs(id, reason(registry, "ZeroValue", "signingKey"), anyValue);
    });

    it("fails the proposal with SigningKeyAlreadyRegistered when the key belongs to a participant", async function () {
      const { registry, council, bank, ids } = await setup();
      const args = encode.admit("NOTARY", commitment("m"), bank.address);
      const id = await approved(registry, council, Action.Admit, args);
      await expect(registry.execute(id))
        .to.emit(registry, "ProposalFailed")
        .withArgs(
          id,
          reason(registry, "SigningKeyAlreadyRegistered", bank.address, ids.bank),
          anyValue,
        );
    });

    it("fails the proposal with SigningKeyAlreadyRegistered when the key was removed from its participant", async function () {
      const { registry, council, bank, spare, ids } = await setup();
      await passProposal(
        registry,
        council,
        Action.AddSigningKey,
        encode.key(ids.bank, spare.address),
      );
      await passProposal(
        registry,
        council,
        Action.RemoveSigningKey,
        encode.key(ids.bank, bank.address),
      );
      const args = encode.admit("NOTARY", commitment("m"), bank.address);
      const id = await approved(registry, council, Action.Admit, args);
      await expect(registry.execute(id))
        .to.emit(registry, "ProposalFailed")
        .withArgs(
          id,
          reason(registry, "SigningKeyAlreadyRegistered", bank.address, ids.bank),
          anyValue,
        );
    });
  });

  describe("execute Action.Suspend", function () {
    it("suspends an active participant and emits ParticipantStatusChanged", async function () {
      const { registry, council, bank, ids } = await setup();
      const id = await approved(registry, council, Action.Suspend, encode.participant(ids.bank));
      await expect(registry.execute(id))
        .to.emit(registry, "ParticipantStatusChanged")
        .withArgs(ids.bank, Status.Active, Status.Suspended, id);
      expect((await registry.participant(ids.bank)).status).to.equal(Status.Suspended);
      expect(await registry.isActive(ids.bank)).to.equal(false);
      await expect(registry.activeParticipantOf(bank.address))
        .to.be.revertedWithCustomError(registry, "ParticipantNotActive")
        .withArgs(ids.bank, Status.Suspended);
    });

    it("fails the proposal with UnknownParticipant when the participant does not exist", async function () {
      const { registry, council } = await setup();
      const id = await approved(registry, council, Action.Suspend, encode.participant(99));
      await expect(registry.execute(id))
        .to.emit(registry, "ProposalFailed")
        .withArgs(id, reason(registry, "UnknownParticipant", 99), anyValue);
    });

    it("fails the proposal with InvalidStatusTransition when the participant is already suspended", async function () {
      const { registry, council, ids } = await setup();
      await passProposal(registry, council, Action.Suspend, encode.participant(ids.bank));
      const id = await approved(registry, council, Action.Suspend, encode.participant(ids.bank));
      await expect(registry.execute(id))
        .to.emit(registry, "ProposalFailed")
        .withArgs(
          id,
          reason(registry, "InvalidStatusTransition", ids.bank, Status.Suspended, Status.Suspended),
          anyValue,
        );
    });

    it("fails the proposal with InvalidStatusTransition when the participant is revoked", async function () {
      const { registry, council, ids } = await setup();
      await passProposal(registry, council, Action.Revoke, encode.participant(ids.bank));
      const id = await approved(registry, council, Action.Suspend, encode.participant(ids.bank));
      await expect(registry.execute(id))
        .to.emit(registry, "ProposalFailed")
        .withArgs(
          id,
          reason(registry, "InvalidStatusTransition", ids.bank, Status.Revoked, Status.Suspended),
          anyValue,
        );
    });

    it("fails the proposal with RemoveFromCouncilFirst when the participant sits on the council", async function () {
      const { registry, council } = await setup();
      const id = await approved(registry, council, Action.Suspend, encode.participant(3));
      await expect(registry.execute(id))
        .to.emit(registry, "ProposalFailed")
        .withArgs(id, reason(registry, "RemoveFromCouncilFirst", 3), anyValue);
    });

    it("suspends a former council member once it was removed from the council", async function () {
      const { registry, council } = await setup();
      await passProposal(registry, council, Action.RemoveCouncilMember, encode.participant(3));
      const id = await approved(registry, council, Action.Suspend, encode.participant(3));
      await expect(registry.execute(id))
        .to.emit(registry, "ParticipantStatusChanged")
        .withArgs(3, Status.Active, Status.Suspended, id);
    });
  });

  describe("execute Action.Reinstate", function () {
    it("reinstates a suspended participant and emits ParticipantStatusChanged", async function () {
      const { registry, council, bank, ids } = await setup();
      await passProposal(registry, council, Action.Suspend, encode.participant(ids.bank));
      const id = await approved(registry, council, Action.Reinstate, encode.participant(ids.bank));
      await expect(registry.execute(id))
        .to.emit(registry, "ParticipantStatusChanged")
        .withArgs(ids.bank, Status.Suspended, Status.Active, id);
      expect(await registry.isActive(ids.bank)).to.equal(true);
      const [who] = await registry.activeParticipantOf(bank.address);
      expect(who).to.equal(ids.bank);
    });

    it("fails the proposal with UnknownParticipant when the participant does not exist", async function () {
      const { registry, council } = await setup();
      const id = await approved(registry, council, Action.Reinstate, encode.participant(99));
      await expect(registry.execute(id))
        .to.emit(registry, "ProposalFailed")
        .withArgs(id, reason(registry, "UnknownParticipant", 99), anyValue);
    });

    it("fails the proposal with InvalidStatusTransition when the participant is active", async function () {
      const { registry, council, ids } = await setup();
      const id = await approved(registry, council, Action.Reinstate, encode.participant(ids.bank));
      await expect(registry.execute(id))
        .to.emit(registry, "ProposalFailed")
        .withArgs(
          id,
          reason(registry, "InvalidStatusTransition", ids.bank, Status.Active, Status.Active),
          anyValue,
        );
    });

    it("fails the proposal with InvalidStatusTransition when the participant is revoked", async function () {
      const { registry, council, ids } = await setup();
      await passProposal(registry, council, Action.Revoke, encode.participant(ids.bank));
      const id = await approved(registry, council, Action.Reinstate, encode.participant(ids.bank));
      await expect(registry.execute(id))
        .to.emit(registry, "ProposalFailed")
        .withArgs(
          id,
          reason(registry, "InvalidStatusTransition", ids.bank, Status.Revoked, Status.Active),
          anyValue,
        );
    });
  });

  describe("execute Action.Revoke", function () {
    it("revokes an active participant and emits ParticipantStatusChanged", async function () {
      const { registry, council, bank, ids } = await setup();
      const id = await approved(registry, council, Action.Revoke, encode.participant(ids.bank));
      await expect(registry.execute(id))
        .to.emit(registry, "ParticipantStatusChanged")
        .withArgs(ids.bank, Status.Active, Status.Revoked, id);
      expect((await registry.participant(ids.bank)).status).to.equal(Status.Revoked);
      await expect(registry.activeParticipantOf(bank.address))
        .to.be.revertedWithCustomError(registry, "ParticipantNotActive")
        .withArgs(ids.bank, Status.Revoked);
    });

    it("revokes a suspended participant", async function () {
      const { registry, council, ids } = await setup();
      await passProposal(registry, council, Action.Suspend, encode.participant(ids.bank));
      const id = await approved(registry, council, Action.Revoke, encode.participant(ids.bank));
      await expect(registry.execute(id))
        .to.emit(registry, "ParticipantStatusChanged")
        .withArgs(ids.bank, Status.Suspended, Status.Revoked, id);
    });

    it("fails the proposal with UnknownParticipant when the participant does not exist", async function () {
      const { registry, council } = await setup();
      const id = await approved(registry, council, Action.Revoke, encode.participant(0));
      await expect(registry.execute(id))
        .to.emit(registry, "ProposalFailed")
        .withArgs(id, reason(registry, "UnknownParticipant", 0), anyValue);
    });

    it("fails the proposal with InvalidStatusTransition when the participant is already revoked", async function () {
      const { registry, council, ids } = await setup();
      await passProposal(registry, council, Action.Revoke, encode.participant(ids.bank));
      const id = await approved(registry, council, Action.Revoke, encode.participant(ids.bank));
      await expect(registry.execute(id))
        .to.emit(registry, "ProposalFailed")
        .withArgs(
          id,
          reason(registry, "InvalidStatusTransition", ids.bank, Status.Revoked, Status.Revoked),
          anyValue,
        );
    });

    it("fails the proposal with RemoveFromCouncilFirst when the participant sits on the council", async function () {
      const { registry, council } = await setup();
      const id = await approved(registry, council, Action.Revoke, encode.participant(1));
      await expect(registry.execute(id))
        .to.emit(registry, "ProposalFailed")
        .withArgs(id, reason(registry, "RemoveFromCouncilFirst", 1), anyValue);
    });
  });

  describe("execute Action.AddSigningKey", function () {
    it("binds a new key to the participant and emits SigningKeyAdded", async function () {
      const { registry, council, spare, ids } = await setup();
      const id = await approved(
        registry,
        council,
        Action.AddSigningKey,
        encode.key(ids.bank, spare.address),
      );
      const ts = await nextTimestamp(networkHelpers);
      await expect(registry.execute(id))
        .to.emit(registry, "SigningKeyAdded")
        .withArgs(ids.bank, spare.address, id, ethers.ZeroHash);
      const k = await registry.signingKey(spare.address);
      expect(k.participantId).to.equal(ids.bank);
      expect(k.addedAt).to.equal(ts);
      expect(k.removedAt).to.equal(0);
      expect(k.codeHash).to.equal(ethers.ZeroHash);
      expect((await registry.participant(ids.bank)).activeKeys).to.equal(2);
      const [who, what] = await registry.activeParticipantOf(spare.address);
      expect(who).to.equal(ids.bank);
      expect(what).to.equal(kind("BANK"));
    });

    it("lets the new key act for its participant", async function () {
      const { registry, council, spare } = await setup();
      await passProposal(registry, council, Action.AddSigningKey, encode.key(1, spare.address));
      await expect(registry.connect(spare).pause())
        .to.emit(registry, "EmergencyPaused")
        .withArgs(1, anyValue, 1, spare.address);
    });

    it("binds a key to a suspended participant", async function () {
      const { registry, council, spare, ids } = await setup();
      await passProposal(registry, council, Action.Suspend, encode.participant(ids.bank));
      const id = await approved(
        registry,
        council,
        Action.AddSigningKey,
        encode.key(ids.bank, spare.address),
      );
      await expect(registry.execute(id))
        .to.emit(registry, "SigningKeyAdded")
        .withArgs(ids.bank, spare.address, id, ethers.ZeroHash);
    });

    it("fails the proposal with UnknownParticipant when the participant does not exist", async function () {
      const { registry, council, spare } = await setup();
      const id = await approved(
        registry,
        council,
        Action.AddSigningKey,
        encode.key(99, spare.address),
      );
      await expect(registry.execute(id))
        .to.emit(registry, "ProposalFailed")
        .withArgs(id, reason(registry, "UnknownParticipant", 99), anyValue);
    });

    it("fails the proposal with InvalidStatusTransition when the participant is revoked", async function () {
      const { registry, council, spare, ids } = await setup();
      await passProposal(registry, council, Action.Revoke, encode.participant(ids.bank));
      const id = await approved(
        registry,
        council,
        Action.AddSigningKey,
        encode.key(ids.bank, spare.address),
      );
      await expect(registry.execute(id))
        .to.emit(registry, "ProposalFailed")
        .withArgs(
          id,
          reason(registry, "InvalidStatusTransition", ids.bank, Status.Revoked, Status.Active),
          anyValue,
        );
    });

    it("fails the proposal with ZeroValue when the key is zero", async function () {
      const { registry, council, ids } = await setup();
      const id = await approved(
        registry,
        council,
        Action.AddSigningKey,
        encode.key(ids.bank, ethers.ZeroAddress),
      );
      await expect(registry.execute(id))
        .to.emit(registry, "ProposalFailed")
        .withArgs(id, reason(registry, "ZeroValue", "signingKey"), anyValue);
    });

    it("fails the proposal with SigningKeyAlreadyRegistered when the key belongs to another participant", async function () {
      const { registry, council, telecom, ids } = await setup();
      const id = await approved(
        registry,
        council,
        Action.AddSigningKey,
        encode.key(ids.bank, telecom.address),
      );
      await expect(registry.execute(id))
        .to.emit(registry, "ProposalFailed")
        .withArgs(
          id,
          reason(registry, "SigningKeyAlreadyRegistered", telecom.address, ids.telecom),
          anyValue,
        );
    });

    it("fails the proposal with SigningKeyAlreadyRegistered when the key is already the participant's", async function () {
      const { registry, council, bank, ids } = await setup();
      const id = await approved(
        registry,
        council,
        Action.AddSigningKey,
        encode.key(ids.bank, bank.address),
      );
      await expect(registry.execute(id))
        .to.emit(registry, "ProposalFailed")
        .withArgs(
          id,
          reason(registry, "SigningKeyAlreadyRegistered", bank.address, ids.bank),
          anyValue,
        );
    });

    it("fails the proposal with SigningKeyAlreadyRegistered when the key was removed before (a key is never reused)", async function () {
      const { registry, council, bank, spare, ids } = await setup();
      await passProposal(
        registry,
        council,
        Action.AddSigningKey,
        encode.key(ids.bank, spare.address),
      );
      await passProposal(
        registry,
        council,
        Action.RemoveSigningKey,
        encode.key(ids.bank, bank.address),
      );
      const id = await approved(
        registry,
        council,
        Action.AddSigningKey,
        encode.key(ids.bank, bank.address),
      );
      await expect(registry.execute(id))
        .to.emit(registry, "ProposalFailed")
        .withArgs(
          id,
          reason(registry, "SigningKeyAlreadyRegistered", bank.address, ids.bank),
          anyValue,
        );
    });
  });

  describe("signing key code pinning", function () {
    /** Binds `key` to the bank by a council vote and returns the proposal id. */
    async function bindToBank(f: Awaited<ReturnType<typeof setup>>, key: string): Promise<bigint> {
      return passProposal(f.registry, f.council, Action.AddSigningKey, encode.key(f.ids.bank, key));
    }
    /** The code of an EOA that delegated to `target` with EIP-7702. */
    const delegation = (target: string): string => ethers.concat(["0xef0100", target]);

    it("pins zero for a key without code, and funding it changes nothing", async function () {
      const f = await setup();
      const key = addressOf("cold-key");
      await bindToBank(f, key);
      expect((await f.registry.signingKey(key)).codeHash).to.equal(ethers.ZeroHash);
      // EXTCODEHASH turns from 0 to keccak256("") once the account exists: still no code.
      await networkHelpers.setBalance(key, 10n ** 18n);
      expect(await f.registry.keyStatus(key)).to.deep.equal([BigInt(f.ids.bank), true]);
      expect((await f.registry.activeParticipantOf(key))[0]).to.equal(f.ids.bank);
    });

    it("pins a contract key's code hash and emits it in SigningKeyAdded", async function () {
      const f = await setup();
      const wallet = await ethers.deployContract("ERC1271Wallet", [f.spare.address]);
      const key = await wallet.getAddress();
      const codeHash = ethers.keccak256(await ethers.provider.getCode(key));
      const id = await approved(
        f.registry,
        f.council,
        Action.AddSigningKey,
        encode.key(f.ids.bank, key),
      );
      await expect(f.registry.execute(id))
        .to.emit(f.registry, "SigningKeyAdded")
        .withArgs(f.ids.bank, key, id, codeHash);
      expect((await f.registry.signingKey(key)).codeHash).to.equal(codeHash);
    });

    it("pins founders' keys at deployment", async function () {
      const wallet = await ethers.deployContract("ERC1271Wallet", [
        at(await ethers.getSigners(), 0).address,
      ]);
      const key = await wallet.getAddress();
      const registry = await deployRegistry(ethers, [founder(key)], 1);
      expect((await registry.signingKey(key)).codeHash).to.equal(
        ethers.keccak256(await ethers.provider.getCode(key)),
      );
    });

    it("reverts with SigningKeyCodeChanged when a contract key's code was replaced", async function () {
      const f = await setup();
      const wallet = await ethers.deployContract("ERC1271Wallet", [f.spare.address]);
      const key = await wallet.getAddress();
      await bindToBank(f, key);
      const pinned = (await f.registry.signingKey(key)).codeHash;
      const acceptAny = await ethers.deployContract("AcceptAnySignature");
      const code = await ethers.provider.getCode(await acceptAny.getAddress());
      await networkHelpers.setCode(key, code);
      await expect(f.registry.activeParticipantOf(key))
        .to.be.revertedWithCustomError(f.registry, "SigningKeyCodeChanged")
        .withArgs(key, pinned, ethers.keccak256(code));
      expect(await f.registry.keyStatus(key)).to.deep.equal([BigInt(f.ids.bank), false]);
    });

    it("reverts with SigningKeyCodeChanged when code appears at a key bound without code (EIP-7702, CREATE2)", async function () {
      const f = await setup();
      await bindToBank(f, f.spare.address);
      const acceptAny = await ethers.deployContract("AcceptAnySignature");
      const code = delegation(await acceptAny.getAddress());
      await networkHelpers.setCode(f.spare.address, code);
      await expect(f.registry.activeParticipantOf(f.spare.address))
        .to.be.revertedWithCustomError(f.registry, "SigningKeyCodeChanged")
        .withArgs(f.spare.address, ethers.ZeroHash, ethers.keccak256(code));
      expect(await f.registry.keyStatus(f.spare.address)).to.deep.equal([
        BigInt(f.ids.bank),
        false,
      ]);
    });

    it("lets a key speak again once the council adds it again, pinning its new code", async function () {
      const f = await setup();
      const wallet = await ethers.deployContract("ERC1271Wallet", [f.spare.address]);
      const key = await wallet.getAddress();
      await bindToBank(f, key);
      const other = await ethers.deployContract("ERC1271Wallet", [f.stranger.address]);
      const code = await ethers.provider.getCode(await other.getAddress());
      await networkHelpers.setCode(key, code);
      const id = await approved(
        f.registry,
        f.council,
        Action.AddSigningKey,
        encode.key(f.ids.bank, key),
      );
      await expect(f.registry.execute(id))
        .to.emit(f.registry, "SigningKeyAdded")
        .withArgs(f.ids.bank, key, id, ethers.keccak256(code));
      expect((await f.registry.activeParticipantOf(key))[0]).to.equal(f.ids.bank);
      // Re-pinning is not a new key: the count stays.
      expect((await f.registry.participant(f.ids.bank)).activeKeys).to.equal(2);
    });

    it("fails the proposal with MutableSigningKeyCode when the council adds again a key that now delegates with EIP-7702", async function () {
      const f = await setup();
      await bindToBank(f, f.spare.address);
      const acceptAny = await ethers.deployContract("AcceptAnySignature");
      await networkHelpers.setCode(f.spare.address, delegation(await acceptAny.getAddress()));
      const id = await approved(
        f.registry,
        f.council,
        Action.AddSigningKey,
        encode.key(f.ids.bank, f.spare.address),
      );
      await expect(f.registry.execute(id))
        .to.emit(f.registry, "ProposalFailed")
        .withArgs(
          id,
          revertData(f.registry, "MutableSigningKeyCode", f.spare.address, 0, 0xef),
          anyValue,
        );
    });

    it("fails the proposal with MutableSigningKeyCode when the key is an upgradeable proxy, whose code hash survives an upgrade", async function () {
      const f = await setup();
      const honest = await ethers.deployContract("ERC1271Wallet", [f.spare.address]);
      const proxy = await ethers.deployContract("UpgradeableWallet", [
        f.spare.address,
        await honest.getAddress(),
      ]);
      const key = await proxy.getAddress();
      // Why the code hash alone can't hold a proxy: an upgrade leaves it unchanged.
      const before = ethers.keccak256(await ethers.provider.getCode(key));
      const acceptAny = await ethers.deployContract("AcceptAnySignature");
      const snapshot = await networkHelpers.takeSnapshot();
      await (await proxy.connect(f.spare).upgradeTo(await acceptAny.getAddress())).wait();
      expect(ethers.keccak256(await ethers.provider.getCode(key))).to.equal(before);
      await snapshot.restore();

      const id = await approved(
        f.registry,
        f.council,
        Action.AddSigningKey,
        encode.key(f.ids.bank, key),
      );
      await expect(f.registry.execute(id))
        .to.emit(f.registry, "ProposalFailed")
        .withArgs(
          id,
          revertData(
            f.registry,
            "MutableSigningKeyCode",
            key,
            anyValue,
            (op: bigint) => op === 0x55n || op === 0xf4n,
          ),
          anyValue,
        );
    });

    it("fails the proposal with MutableSigningKeyCode when the key's code can rewrite its own storage (a settable owner)", async function () {
      const f = await setup();
      const wallet = await ethers.deployContract("RekeyableWallet", [f.spare.address]);
      const key = await wallet.getAddress();
      const id = await approved(
        f.registry,
        f.council,
        Action.AddSigningKey,
        encode.key(f.ids.bank, key),
      );
      await expect(f.registry.execute(id))
        .to.emit(f.registry, "ProposalFailed")
        .withArgs(
          id,
          revertData(f.registry, "MutableSigningKeyCode", key, anyValue, 0x55),
          anyValue,
        );
    });

    it("fails the proposal with MutableSigningKeyCode when a proxy is admitted as a participant's first key", async function () {
      const f = await setup();
      const honest = await ethers.deployContract("ERC1271Wallet", [f.spare.address]);
      const proxy = await ethers.deployContract("UpgradeableWallet", [
        f.spare.address,
        await honest.getAddress(),
      ]);
      const key = await proxy.getAddress();
      const id = await approved(
        f.registry,
        f.council,
        Action.Admit,
        encode.admit("BANK", commitment("proxy-bank"), key),
      );
      await expect(f.registry.execute(id))
        .to.emit(f.registry, "ProposalFailed")
        .withArgs(
          id,
          revertData(
            f.registry,
            "MutableSigningKeyCode",
            key,
            anyValue,
            (op: bigint) => op === 0x55n || op === 0xf4n,
          ),
          anyValue,
        );
    });
  });

  describe("execute Action.RemoveSigningKey", function () {
    it("retires the key, keeps its history and emits SigningKeyRemoved", async function () {
      const { registry, council, bank, spare, ids } = await setup();
      await passProposal(
        registry,
        council,
        Action.AddSigningKey,
        encode.key(ids.bank, spare.address),
      );
      const { addedAt } = await registry.signingKey(bank.address);
      const id = await approved(
        registry,
        council,
        Action.RemoveSigningKey,
        encode.key(ids.bank, bank.address),
      );
      const ts = await nextTimestamp(networkHelpers);
      await expect(registry.execute(id))
        .to.emit(registry, "SigningKeyRemoved")
        .withArgs(ids.bank, bank.address, id);
      const k = await registry.signingKey(bank.address);
      expect(k.participantId).to.equal(ids.bank);
      expect(k.addedAt).to.equal(addedAt);
      expect(k.removedAt).to.equal(ts);
      expect((await registry.participant(ids.bank)).activeKeys).to.equal(1);
      await expect(registry.activeParticipantOf(bank.address))
        .to.be.revertedWithCustomError(registry, "UnknownSigningKey")
        .withArgs(bank.address);
      const [who] = await registry.activeParticipantOf(spare.address);
      expect(who).to.equal(ids.bank);
    });

    it("fails the proposal with LastSigningKey when it is the participant's only active key", async function () {
      const { registry, council, bank, ids } = await setup();
      const id = await approved(
        registry,
        council,
        Action.RemoveSigningKey,
        encode.key(ids.bank, bank.address),
      );
      await expect(registry.execute(id))
        .to.emit(registry, "ProposalFailed")
        .withArgs(id, reason(registry, "LastSigningKey", ids.bank), anyValue);
    });

    it("fails the proposal with SigningKeyNotActive when the key belongs to another participant", async function () {
      const { registry, council, telecom, ids } = await setup();
      const id = await approved(
        registry,
        council,
        Action.RemoveSigningKey,
        encode.key(ids.bank, telecom.address),
      );
      await expect(registry.execute(id))
        .to.emit(registry, "ProposalFailed")
        .withArgs(id, reason(registry, "SigningKeyNotActive", telecom.address, ids.bank), anyValue);
    });

    it("fails the proposal with SigningKeyNotActive when the key was already removed", async function () {
      const { registry, council, bank, spare, stranger, ids } = await setup();
      await passProposal(
        registry,
        council,
        Action.AddSigningKey,
        encode.key(ids.bank, spare.address),
      );
      await passProposal(
        registry,
        council,
        Action.AddSigningKey,
        encode.key(ids.bank, stranger.address),
      );
      await passProposal(
        registry,
        council,
        Action.RemoveSigningKey,
        encode.key(ids.bank, bank.address),
      );
      const id = await approved(
        registry,
        council,
        Action.RemoveSigningKey,
        encode.key(ids.bank, bank.address),
      );
      await expect(registry.execute(id))
        .to.emit(registry, "ProposalFailed")
        .withArgs(id, reason(registry, "SigningKeyNotActive", bank.address, ids.bank), anyValue);
    });

    it("fails the proposal with SigningKeyNotActive when the key was never registered", async function () {
      const { registry, council, spare, ids } = await setup();
      const id = await approved(
        registry,
        council,
        Action.RemoveSigningKey,
        encode.key(ids.bank, spare.address),
      );
      await expect(registry.execute(id))
        .to.emit(registry, "ProposalFailed")
        .withArgs(id, reason(registry, "SigningKeyNotActive", spare.address, ids.bank), anyValue);
    });

    it("fails the proposal with UnknownParticipant when the participant does not exist", async function () {
      const { registry, council, bank } = await setup();
      const id = await approved(
        registry,
        council,
        Action.RemoveSigningKey,
        encode.key(99, bank.address),
      );
      await expect(registry.execute(id))
        .to.emit(registry, "ProposalFailed")
        .withArgs(id, reason(registry, "UnknownParticipant", 99), anyValue);
    });

    it("fails the proposal with UnknownParticipant for participant 0 and a key that was never registered", async function () {
      // Regression: participant 0 matched every unregistered key and the key count underflowed.
      const { registry, council, spare } = await setup();
      const id = await approved(
        registry,
        council,
        Action.RemoveSigningKey,
        encode.key(0, spare.address),
      );
      await expect(registry.execute(id))
        .to.emit(registry, "ProposalFailed")
        .withArgs(id, reason(registry, "UnknownParticipant", 0), anyValue);
    });
  });

  describe("execute Action.AddCouncilMember", function () {
    it("seats an active participant on the council and emits CouncilChanged", async function () {
      const { registry, council, bank, ids } = await setup();
      const id = await approved(
        registry,
        council,
        Action.AddCouncilMember,
        encode.participant(ids.bank),
      );
      await expect(registry.execute(id))
        .to.emit(registry, "CouncilChanged")
        .withArgs([1, 2, 3, ids.bank], 2, id);
      const [members, quorum] = await registry.council();
      expect(members).to.deep.equal([1n, 2n, 3n, BigInt(ids.bank)]);
      expect(quorum).to.equal(2);
      await expect(registry.connect(bank).propose(Action.SetQuorum, KEEP_QUORUM, LIFETIME)).to.emit(
        registry,
        "ProposalCreated",
      );
    });

    it("fails the proposal with UnknownParticipant when the participant does not exist", async function () {
      const { registry, council } = await setup();
      const id = await approved(registry, council, Action.AddCouncilMember, encode.participant(99));
      await expect(registry.execute(id))
        .to.emit(registry, "ProposalFailed")
        .withArgs(id, reason(registry, "UnknownParticipant", 99), anyValue);
    });

    it("fails the proposal with ParticipantNotActive when the participant is suspended", async function () {
      const { registry, council, ids } = await setup();
      await passProposal(registry, council, Action.Suspend, encode.participant(ids.bank));
      const id = await approved(
        registry,
        council,
        Action.AddCouncilMember,
        encode.participant(ids.bank),
      );
      await expect(registry.execute(id))
        .to.emit(registry, "ProposalFailed")
        .withArgs(
          id,
          reason(registry, "ParticipantNotActive", ids.bank, Status.Suspended),
          anyValue,
        );
    });

    it("fails the proposal with ParticipantNotActive when the participant is revoked", async function () {
      const { registry, council, ids } = await setup();
      await passProposal(registry, council, Action.Revoke, encode.participant(ids.bank));
      const id = await approved(
        registry,
        council,
        Action.AddCouncilMember,
        encode.participant(ids.bank),
      );
      await expect(registry.execute(id))
        .to.emit(registry, "ProposalFailed")
        .withArgs(id, reason(registry, "ParticipantNotActive", ids.bank, Status.Revoked), anyValue);
    });

    it("fails the proposal with AlreadyCouncilMember when the participant sits on the council", async function () {
      const { registry, council } = await setup();
      const id = await approved(registry, council, Action.AddCouncilMember, encode.participant(2));
      await expect(registry.execute(id))
        .to.emit(registry, "ProposalFailed")
        .withArgs(id, reason(registry, "AlreadyCouncilMember", 2), anyValue);
    });

    it("fails the proposal with CouncilTooLarge when the council already has MAX_COUNCIL members", async function () {
      const { registry, council, newcomerId } = await networkHelpers.loadFixture(fullCouncil);
      const id = await approved(
        registry,
        council,
        Action.AddCouncilMember,
        encode.participant(newcomerId),
      );
      await expect(registry.execute(id))
        .to.emit(registry, "ProposalFailed")
        .withArgs(id, reason(registry, "CouncilTooLarge", MAX_COUNCIL), anyValue);
    });
  });

  describe("execute Action.RemoveCouncilMember", function () {
    it("removes the member, moving the last member into its seat, and emits CouncilChanged", async function () {
      const { registry, council } = await setup();
      const id = await approved(
        registry,
        council,
        Action.RemoveCouncilMember,
        encode.participant(1),
      );
      await expect(registry.execute(id))
        .to.emit(registry, "CouncilChanged")
        .withArgs([3, 2], 2, id);
      const [members, quorum] = await registry.council();
      expect(members).to.deep.equal([3n, 2n]);
      expect(quorum).to.equal(2);
    });

    it("removes the last seat", async function () {
      const { registry, council } = await setup();
      const id = await approved(
        registry,
        council,
        Action.RemoveCouncilMember,
        encode.participant(3),
      );
      await expect(registry.execute(id))
        .to.emit(registry, "CouncilChanged")
        .withArgs([1, 2], 2, id);
    });

    it("leaves the removed member an active participant that can no longer propose", async function () {
      const { registry, council, c2 } = await setup();
      await passProposal(registry, council, Action.RemoveCouncilMember, encode.participant(3));
      expect(await registry.isActive(3)).to.equal(true);
      await expect(registry.connect(c2).propose(Action.SetQuorum, KEEP_QUORUM, LIFETIME))
        .to.be.revertedWithCustomError(registry, "NotCouncilMember")
        .withArgs(3);
    });

    it("fails the proposal with InvalidQuorum when fewer members than the quorum would remain", async function () {
      const { registry, council, c0, c1, c2 } = await setup();
      await passProposal(registry, council, Action.SetQuorum, encode.quorum(3));
      const id = await propose(registry, c0, Action.RemoveCouncilMember, encode.participant(3));
      await registry.connect(c1).approve(id);
      await registry.connect(c2).approve(id);
      await expect(registry.execute(id))
        .to.emit(registry, "ProposalFailed")
        .withArgs(id, reason(registry, "InvalidQuorum", 3, 2), anyValue);
    });

    it("fails the proposal with NotCouncilMember when the participant is not on the council", async function () {
      const { registry, council, ids } = await setup();
      const id = await approved(
        registry,
        council,
        Action.RemoveCouncilMember,
        encode.participant(ids.bank),
      );
      await expect(registry.execute(id))
        .to.emit(registry, "ProposalFailed")
        .withArgs(id, reason(registry, "NotCouncilMember", ids.bank), anyValue);
    });

    it("names NotCouncilMember before the quorum when the council is at its quorum", async function () {
      const { registry, council, c0, c1, c2, ids } = await setup();
      await passProposal(registry, council, Action.SetQuorum, encode.quorum(3));
      const id = await propose(
        registry,
        c0,
        Action.RemoveCouncilMember,
        encode.participant(ids.bank),
      );
      await registry.connect(c1).approve(id);
      await registry.connect(c2).approve(id);
      await expect(registry.execute(id))
        .to.emit(registry, "ProposalFailed")
        .withArgs(id, reason(registry, "NotCouncilMember", ids.bank), anyValue);
    });
  });

  describe("execute Action.SetQuorum", function () {
    it("sets the quorum and emits CouncilChanged", async function () {
      const { registry, council } = await setup();
      const id = await approved(registry, council, Action.SetQuorum, encode.quorum(1));
      await expect(registry.execute(id))
        .to.emit(registry, "CouncilChanged")
        .withArgs([1, 2, 3], 1, id);
      const [, quorum] = await registry.council();
      expect(quorum).to.equal(1);
    });

    it("accepts a quorum equal to the council's size", async function () {
      const { registry, council } = await setup();
      const id = await approved(registry, council, Action.SetQuorum, encode.quorum(3));
      await expect(registry.execute(id))
        .to.emit(registry, "CouncilChanged")
        .withArgs([1, 2, 3], 3, id);
    });

    it("fails the proposal with InvalidQuorum when the quorum is zero", async function () {
      const { registry, council } = await setup();
      const id = await approved(registry, council, Action.SetQuorum, encode.quorum(0));
      await expect(registry.execute(id))
        .to.emit(registry, "ProposalFailed")
        .withArgs(id, reason(registry, "InvalidQuorum", 0, 3), anyValue);
    });

    it("fails the proposal with InvalidQuorum when the quorum exceeds the council's size", async function () {
      const { registry, council } = await setup();
      const id = await approved(registry, council, Action.SetQuorum, encode.quorum(4));
      await expect(registry.execute(id))
        .to.emit(registry, "ProposalFailed")
        .withArgs(id, reason(registry, "InvalidQuorum", 4, 3), anyValue);
    });
  });

  describe("execute Action.Unpause", function () {
    it("lifts the pause and emits EmergencyUnpaused", async function () {
      const { registry, council, c2 } = await setup();
      await registry.connect(c2).pause();
      const id = await approved(registry, council, Action.Unpause, "0x");
      await expect(registry.execute(id)).to.emit(registry, "EmergencyUnpaused").withArgs(id);
      expect(await registry.paused()).to.equal(false);
    });

    it("reverts with NotPaused when proposed while no pause is in force", async function () {
      const { registry, c0 } = await setup();
      await expect(
        registry.connect(c0).propose(Action.Unpause, encode.none, LIFETIME),
      ).to.be.revertedWithCustomError(registry, "NotPaused");
    });

    it("fails the proposal with NotPaused when the pause lapsed before execution", async function () {
      const { registry, council, c0 } = await setup();
      await registry.connect(c0).pause();
      const id = await approved(registry, council, Action.Unpause, "0x");
      await networkHelpers.time.increase(PAUSE_DURATION);
      await expect(registry.execute(id))
        .to.emit(registry, "ProposalFailed")
        .withArgs(id, reason(registry, "NotPaused"), anyValue);
    });
  });

  describe("pause", function () {
    it("pauses the consortium for PAUSE_DURATION and emits EmergencyPaused with the expiry", async function () {
      const { registry, c2 } = await setup();
      const ts = await nextTimestamp(networkHelpers);
      await expect(registry.connect(c2).pause())
        .to.emit(registry, "EmergencyPaused")
        .withArgs(3, ts + PAUSE_DURATION, 1, c2.address);
      expect(await registry.paused()).to.equal(true);
      expect(await registry.pauseState()).to.deep.equal([BigInt(ts + PAUSE_DURATION), 1n]);
      expect(await registry.PAUSE_DURATION()).to.equal(PAUSE_DURATION);
    });

    it("lapses by itself after PAUSE_DURATION, even with quorum equal to the council's size and the pauser silent", async function () {
      const { registry, council, c0 } = await setup();
      await passProposal(registry, council, Action.SetQuorum, encode.quorum(3));
      const ts = await nextTimestamp(networkHelpers);
      await registry.connect(c0).pause();
      await networkHelpers.time.increaseTo(ts + PAUSE_DURATION - 1);
      expect(await registry.paused()).to.equal(true);
      await networkHelpers.time.increaseTo(ts + PAUSE_DURATION);
      expect(await registry.paused()).to.equal(false);
    });

    it("reverts with PauseCooldown when the member paused less than PAUSE_COOLDOWN ago", async function () {
      const { registry, c0 } = await setup();
      const ts = await nextTimestamp(networkHelpers);
      await registry.connect(c0).pause();
      await networkHelpers.time.setNextBlockTimestamp(ts + PAUSE_COOLDOWN - 1);
      await expect(registry.connect(c0).pause())
        .to.be.revertedWithCustomError(registry, "PauseCooldown")
        .withArgs(1, ts + PAUSE_COOLDOWN);
      await networkHelpers.time.setNextBlockTimestamp(ts + PAUSE_COOLDOWN);
      await expect(registry.connect(c0).pause()).to.emit(registry, "EmergencyPaused");
    });

    it("lets another member pause once the first pause lapsed", async function () {
      const { registry, c0, c1 } = await setup();
      await registry.connect(c0).pause();
      await networkHelpers.time.increase(PAUSE_DURATION);
      await expect(registry.connect(c1).pause())
        .to.emit(registry, "EmergencyPaused")
        .withArgs(2, anyValue, 2, c1.address);
    });

    it("leaves the council able to remove the pausing member while the pause is in force", async function () {
      const { registry, council, c2 } = await setup();
      await registry.connect(c2).pause();
      await passProposal(registry, council, Action.RemoveCouncilMember, encode.participant(3));
      expect(await registry.paused()).to.equal(true);
      expect((await registry.council())[0]).to.deep.equal([1n, 2n]);
    });

    it("reverts with EmergencyPauseActive when the consortium is already paused", async function () {
      const { registry, c0, c1 } = await setup();
      await registry.connect(c0).pause();
      await expect(registry.connect(c1).pause()).to.be.revertedWithCustomError(
        registry,
        "EmergencyPauseActive",
      );
    });

    it("reverts with NotCouncilMember when the caller is off the council", async function () {
      const { registry, police, ids } = await setup();
      await expect(registry.connect(police).pause())
        .to.be.revertedWithCustomError(registry, "NotCouncilMember")
        .withArgs(ids.police);
    });

    it("reverts with UnknownSigningKey when the caller is no signing key", async function () {
      const { registry, stranger } = await setup();
      await expect(registry.connect(stranger).pause())
        .to.be.revertedWithCustomError(registry, "UnknownSigningKey")
        .withArgs(stranger.address);
    });
  });

  describe("activeParticipantOf", function () {
    it("returns the participant and kind an active key speaks for", async function () {
      const { registry, police, ids } = await setup();
      const [id, k] = await registry.activeParticipantOf(police.address);
      expect(id).to.equal(ids.police);
      expect(k).to.equal(kind("POLICE"));
    });

    it("reverts with UnknownSigningKey when the key was never registered", async function () {
      const { registry, stranger } = await setup();
      await expect(registry.activeParticipantOf(stranger.address))
        .to.be.revertedWithCustomError(registry, "UnknownSigningKey")
        .withArgs(stranger.address);
    });

    it("reverts with UnknownSigningKey for the zero address", async function () {
      const { registry } = await setup();
      await expect(registry.activeParticipantOf(ethers.ZeroAddress))
        .to.be.revertedWithCustomError(registry, "UnknownSigningKey")
        .withArgs(ethers.ZeroAddress);
    });

    it("reverts with ParticipantNotActive when the participant is suspended", async function () {
      const { registry, council, police, ids } = await setup();
      await passProposal(registry, council, Action.Suspend, encode.participant(ids.police));
      await expect(registry.activeParticipantOf(police.address))
        .to.be.revertedWithCustomError(registry, "ParticipantNotActive")
        .withArgs(ids.police, Status.Suspended);
    });
  });

  describe("isActive", function () {
    it("is true for an active participant", async function () {
      const { registry, ids } = await setup();
      expect(await registry.isActive(ids.bank)).to.equal(true);
      expect(await registry.isActive(1)).to.equal(true);
    });

    it("is false for a suspended or revoked participant", async function () {
      const { registry, council, ids } = await setup();
      await passProposal(registry, council, Action.Suspend, encode.participant(ids.bank));
      await passProposal(registry, council, Action.Revoke, encode.participant(ids.telecom));
      expect(await registry.isActive(ids.bank)).to.equal(false);
      expect(await registry.isActive(ids.telecom)).to.equal(false);
    });

    it("is false for an unknown participant and for id 0", async function () {
      const { registry } = await setup();
      expect(await registry.isActive(0)).to.equal(false);
      expect(await registry.isActive(99)).to.equal(false);
    });
  });

  describe("participant", function () {
    it("returns an empty record for an unknown participant", async function () {
      const { registry } = await setup();
      const p = await registry.participant(99);
      expect(p.kind).to.equal(ethers.ZeroHash);
      expect(p.metadataCommitment).to.equal(ethers.ZeroHash);
      expect(p.status).to.equal(Status.None);
      expect(p.admittedAt).to.equal(0);
      expect(p.activeKeys).to.equal(0);
    });
  });

  describe("signingKey", function () {
    it("returns an empty history for a key that was never registered", async function () {
      const { registry, stranger } = await setup();
      const k = await registry.signingKey(stranger.address);
      expect(k.participantId).to.equal(0);
      expect(k.addedAt).to.equal(0);
      expect(k.removedAt).to.equal(0);
    });

    it("keeps the history of a revoked participant's key", async function () {
      const { registry, council, bank, ids } = await setup();
      const before = await registry.signingKey(bank.address);
      await passProposal(registry, council, Action.Revoke, encode.participant(ids.bank));
      const after = await registry.signingKey(bank.address);
      expect(after.participantId).to.equal(ids.bank);
      expect(after.addedAt).to.equal(before.addedAt);
      expect(after.removedAt).to.equal(0);
    });
  });

  describe("council", function () {
    it("returns the founders and the quorum after deployment", async function () {
      const { registry } = await setup();
      const [members, quorum] = await registry.council();
      expect(members).to.deep.equal([1n, 2n, 3n]);
      expect(quorum).to.equal(2);
    });
  });

  describe("proposal", function () {
    it("returns an empty record for an unknown proposal", async function () {
      const { registry } = await setup();
      const p = await registry.proposal(999);
      expect(p.proposer).to.equal(0);
      expect(p.createdAt).to.equal(0);
      expect(p.expiresAt).to.equal(0);
      expect(p.status).to.equal(ProposalStatus.None);
      expect(p.context).to.equal(ethers.ZeroHash);
      expect(p.args).to.equal("0x");
    });
  });

  describe("hasApproved", function () {
    it("is true for the proposer and each approver, false for the others", async function () {
      const { registry, c0, c1 } = await setup();
      const id = await propose(registry, c0, Action.SetQuorum, KEEP_QUORUM);
      await registry.connect(c1).approve(id);
      expect(await registry.hasApproved(id, 1)).to.equal(true);
      expect(await registry.hasApproved(id, 2)).to.equal(true);
      expect(await registry.hasApproved(id, 3)).to.equal(false);
      expect(await registry.hasApproved(id + 1n, 1)).to.equal(false);
    });
  });

  describe("propose: argument encoding", function () {
    const high = (bits: number) => ethers.toBeHex(1n << BigInt(bits), 32);
    const word = (hex: string) => ethers.zeroPadValue(hex, 32);
    const cases: [string, number, string][] = [
      [
        "Admit with a key above 160 bits",
        Action.Admit,
        ethers.concat([word("0x01"), word("0x02"), high(160)]),
      ],
      [
        "AddSigningKey with an id above 32 bits",
        Action.AddSigningKey,
        ethers.concat([high(32), word("0x01")]),
      ],
      [
        "RemoveSigningKey with a key above 160 bits",
        Action.RemoveSigningKey,
        ethers.concat([word("0x01"), high(160)]),
      ],
      ["SetQuorum above 16 bits", Action.SetQuorum, high(16)],
      ["RemoveCouncilMember above 32 bits", Action.RemoveCouncilMember, high(32)],
    ];
    for (const [name, action, args] of cases) {
      it(`reverts with InvalidProposalArgs for ${name}`, async function () {
        const { registry, c0 } = await setup();
        await expect(registry.connect(c0).propose(action, args, LIFETIME))
          .to.be.revertedWithCustomError(registry, "InvalidProposalArgs")
          .withArgs(action, ethers.dataLength(args));
      });
    }
  });

  describe("approvalCount", function () {
    it("counts the approvals of current council members", async function () {
      const { registry, c0, c1, c2 } = await setup();
      const id = await propose(registry, c0, Action.SetQuorum, KEEP_QUORUM);
      expect(await registry.approvalCount(id)).to.equal(1);
      await registry.connect(c1).approve(id);
      await registry.connect(c2).approve(id);
      expect(await registry.approvalCount(id)).to.equal(3);
    });

    it("stops counting a member's approval once it leaves the council, even if it returns", async function () {
      const { registry, council, c2 } = await setup();
      const id = await propose(registry, c2, Action.Admit, ADMIT_ARGS);
      await passProposal(registry, council, Action.RemoveCouncilMember, encode.participant(3));
      expect(await registry.approvalCount(id)).to.equal(0);
      expect(await registry.hasApproved(id, 3)).to.equal(false);
      await passProposal(registry, council, Action.AddCouncilMember, encode.participant(3));
      expect(await registry.approvalCount(id)).to.equal(0);
      expect(await registry.hasApproved(id, 3)).to.equal(false);
      // In its new seat it may approve again, and that approval counts.
      await expect(registry.connect(c2).approve(id)).to.emit(registry, "ProposalApproved");
      expect(await registry.approvalCount(id)).to.equal(1);
    });

    it("is zero for an unknown proposal", async function () {
      const { registry } = await setup();
      expect(await registry.approvalCount(999)).to.equal(0);
    });
  });

  describe("participantCount", function () {
    it("counts every participant ever admitted, revoked ones included", async function () {
      const { registry, council, ids } = await setup();
      expect(await registry.participantCount()).to.equal(7);
      await passProposal(registry, council, Action.Revoke, encode.participant(ids.bank));
      expect(await registry.participantCount()).to.equal(7);
    });
  });

  describe("proposalCount", function () {
    it("counts every proposal ever made, executed or not", async function () {
      const { registry, c0 } = await setup();
      const before = await registry.proposalCount();
      // The fixture passed one proposal per admitted institution.
      expect(before).to.equal(4);
      await propose(registry, c0, Action.SetQuorum, KEEP_QUORUM);
      expect(await registry.proposalCount()).to.equal(before + 1n);
    });
  });
});
