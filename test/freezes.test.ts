import { expect } from "chai";
import { AbiCoder, ZeroHash, getBytes } from "ethers";
import { network } from "hardhat";
import {
  buildFreezeRequestList,
  buildFreezeResultList,
  type FreezeItem,
  type FreezeRequestList,
} from "../src/client/index.js";
import {
  ParticipantStatus,
  addSigningKey,
  openApprovedCase,
  openCase,
  suspend,
} from "./helpers/access.js";
import { addressOf, at, nextTimestamp } from "./helpers/council.js";
import {
  DAY,
  DataKind,
  admit,
  commitment,
  type Consortium,
  deployConsortium,
  kind,
  scopeOf,
} from "./helpers/fixture.js";

const { ethers, networkHelpers } = await network.create();
const { time } = networkHelpers;

/** Freeze statuses, in the order of IFreezeRegistry.FreezeStatus. */
const FreezeStatus = { None: 0, Requested: 1, Executed: 2, Rejected: 3, Acknowledged: 4 } as const;

const POLICE = kind("POLICE");
const EXCHANGE = kind("EXCHANGE");
const MAX_ITEMS = 256;
const SCOPE = scopeOf(DataKind.Transactions);
const CASE_DURATION = 30 * DAY;
const ETHEREUM = 1n;
const USDT = addressOf("token: USDT on Ethereum").toLowerCase();
const TRACE = commitment("trace report: case 1, run 1");
const EVIDENCE = commitment("exchange freeze record 1");
const REASON = 9;
/** The case's key, held off chain by the police and the prosecutor. */
const CASE_KEY = commitment("case key of CASE-FREEZE-1");
const NONCE = commitment("nonce of freeze list 1");

/** `n` distinct accounts with amounts 1000, 2000, ... of USDT: the exits of a trace. */
const itemsOf = (n: number): FreezeItem[] =>
  Array.from({ length: n }, (_, i) => ({
    chainId: ETHEREUM,
    token: USDT,
    account: addressOf(`exit account ${i}`).toLowerCase(),
    amount: 1000n * BigInt(i + 1),
  }));
/** The request list of `items` (its root depends on the key and the items only). */
const listOf = (items: FreezeItem[]): FreezeRequestList => ({
  ...buildFreezeRequestList({ caseId: 1n, exchange: 1, caseKey: CASE_KEY, items, nonce: NONCE }),
  freezeId: 1n,
});

const ITEMS = itemsOf(3);
const LIST = listOf(ITEMS);
const ROOT = LIST.root;
const COUNT = ITEMS.length;
/** The exchange's answer to LIST: 1000 of 1000, 1500 of 2000, nothing of 3000. */
const RESULT = buildFreezeResultList(LIST, [1000n, 1500n, 0n]).root;

/** The consortium, an EXCHANGE participant and case 1, opened by the police and approved. */
async function deployFreezes() {
  const c = await deployConsortium(ethers);
  const exchange = at(c.others, 0);
  const exchangeId = await admit(c.registry, c.council, "EXCHANGE", exchange.address);
  const caseExpiry = (await time.latest()) + CASE_DURATION;
  const caseId = await openApprovedCase(
    c.cases,
    c.police,
    c.prosecutor,
    "CASE-FREEZE-1",
    SCOPE,
    caseExpiry,
  );
  return { ...c, exchange, ids: { ...c.ids, exchange: exchangeId }, caseId, caseExpiry };
}

/** deployFreezes, plus freeze 1: the police asks the exchange to freeze the accounts of LIST. */
async function deployRequested() {
  const f = await deployFreezes();
  await (
    await f.freezes.connect(f.police).requestFreeze(f.caseId, f.ids.exchange, ROOT, COUNT, TRACE)
  ).wait();
  return { ...f, freezeId: 1n };
}

/**
 * Loads a fixture and names the spare signers: `other` (a second institution, admitted by the
 * test that needs it), `stranger` (holds no key) and `spare` (a key to bind).
 */
async function load<T extends Consortium>(fixture: () => Promise<T>) {
  const c = await networkHelpers.loadFixture(fixture);
  return { ...c, other: at(c.others, 1), stranger: at(c.others, 2), spare: at(c.others, 3) };
}

describe("FreezeRegistry", function () {
  describe("constructor", function () {
    it("binds the participant and case registries", async function () {
      const { freezes, registry, cases } = await load(deployFreezes);
      expect(await freezes.registry()).to.equal(await registry.getAddress());
      expect(await freezes.cases()).to.equal(await cases.getAddress());
    });

    it("names the POLICE and EXCHANGE kinds and at most 256 items a request", async function () {
      const { freezes } = await load(deployFreezes);
      expect(await freezes.POLICE()).to.equal(POLICE);
      expect(await freezes.EXCHANGE()).to.equal(EXCHANGE);
      expect(await freezes.MAX_ITEMS()).to.equal(MAX_ITEMS);
    });
  });

  describe("requestFreeze", function () {
    it("records a request by the case's opener and emits FreezeRequested with the list's root and count", async function () {
      const { freezes, police, ids, caseId } = await load(deployFreezes);
      const ts = await nextTimestamp(networkHelpers);
      await expect(freezes.connect(police).requestFreeze(caseId, ids.exchange, ROOT, COUNT, TRACE))
        .to.emit(freezes, "FreezeRequested")
        .withArgs(1n, caseId, ids.exchange, ids.police, ROOT, COUNT, TRACE, police.address);
      const r = await freezes.getFreeze(1n);
      expect(r.caseId).to.equal(caseId);
      expect(r.requester).to.equal(ids.police);
      expect(r.exchange).to.equal(ids.exchange);
      expect(r.status).to.equal(FreezeStatus.Requested);
      expect(r.itemCount).to.equal(COUNT);
      expect(r.requestedAt).to.equal(ts);
      expect(r.answeredAt).to.equal(0n);
      expect(r.listRoot).to.equal(ROOT);
      expect(r.resultRoot).to.equal(ZeroHash);
      expect(await freezes.freezeCount()).to.equal(1n);
    });

    it("numbers requests from 1 in order", async function () {
      const { freezes, police, ids, caseId } = await load(deployRequested);
      const one = listOf(itemsOf(1)).root;
      await expect(freezes.connect(police).requestFreeze(caseId, ids.exchange, one, 1, TRACE))
        .to.emit(freezes, "FreezeRequested")
        .withArgs(2n, caseId, ids.exchange, ids.police, one, 1, TRACE, police.address);
      expect(await freezes.freezeCount()).to.equal(2n);
      expect((await freezes.getFreeze(1n)).itemCount).to.equal(COUNT);
      expect((await freezes.getFreeze(2n)).itemCount).to.equal(1n);
    });

    it("credits the participant, not the key, when sent by a further signing key", async function () {
      const { freezes, registry, council, spare, ids, caseId } = await load(deployFreezes);
      await addSigningKey(registry, council, ids.police, spare.address);
      await expect(freezes.connect(spare).requestFreeze(caseId, ids.exchange, ROOT, COUNT, TRACE))
        .to.emit(freezes, "FreezeRequested")
        .withArgs(1n, caseId, ids.exchange, ids.police, ROOT, COUNT, TRACE, spare.address);
    });

    it("reverts with WrongParticipantKind when a bank asks", async function () {
      const { freezes, bank, ids, caseId } = await load(deployFreezes);
      await expect(freezes.connect(bank).requestFreeze(caseId, ids.exchange, ROOT, COUNT, TRACE))
        .to.be.revertedWithCustomError(freezes, "WrongParticipantKind")
        .withArgs(ids.bank, kind("BANK"), POLICE);
    });

    it("reverts with WrongParticipantKind when the case's approver, a prosecutor, asks", async function () {
      const { freezes, prosecutor, ids, caseId } = await load(deployFreezes);
      await expect(
        freezes.connect(prosecutor).requestFreeze(caseId, ids.exchange, ROOT, COUNT, TRACE),
      )
        .to.be.revertedWithCustomError(freezes, "WrongParticipantKind")
        .withArgs(ids.prosecutor, kind("PROSECUTOR"), POLICE);
    });

    it("reverts with NotCaseParty when a police participant that is no party to the case asks", async function () {
      const { freezes, registry, council, other, ids, caseId } = await load(deployFreezes);
      const police2 = await admit(registry, council, "POLICE", other.address);
      await expect(freezes.connect(other).requestFreeze(caseId, ids.exchange, ROOT, COUNT, TRACE))
        .to.be.revertedWithCustomError(freezes, "NotCaseParty")
        .withArgs(caseId, police2);
    });

    it("accepts a request by a second police participant under its own case", async function () {
      const { freezes, cases, registry, council, other, prosecutor, ids } =
        await load(deployFreezes);
      const police2 = await admit(registry, council, "POLICE", other.address);
      const own = await openApprovedCase(
        cases,
        other,
        prosecutor,
        "CASE-FREEZE-2",
        SCOPE,
        (await time.latest()) + CASE_DURATION,
      );
      await expect(freezes.connect(other).requestFreeze(own, ids.exchange, ROOT, COUNT, TRACE))
        .to.emit(freezes, "FreezeRequested")
        .withArgs(1n, own, ids.exchange, police2, ROOT, COUNT, TRACE, other.address);
    });

    it("reverts with NotAnActiveExchange when the participant asked is not an exchange", async function () {
      const { freezes, police, ids, caseId } = await load(deployFreezes);
      await expect(freezes.connect(police).requestFreeze(caseId, ids.bank, ROOT, COUNT, TRACE))
        .to.be.revertedWithCustomError(freezes, "NotAnActiveExchange")
        .withArgs(ids.bank);
    });

    it("reverts with NotAnActiveExchange when the exchange is suspended", async function () {
      const { freezes, registry, council, police, ids, caseId } = await load(deployFreezes);
      await suspend(registry, council, ids.exchange);
      await expect(freezes.connect(police).requestFreeze(caseId, ids.exchange, ROOT, COUNT, TRACE))
        .to.be.revertedWithCustomError(freezes, "NotAnActiveExchange")
        .withArgs(ids.exchange);
    });

    it("reverts with NotAnActiveExchange when the participant does not exist", async function () {
      const { freezes, police, caseId } = await load(deployFreezes);
      for (const id of [0, 99]) {
        await expect(freezes.connect(police).requestFreeze(caseId, id, ROOT, COUNT, TRACE))
          .to.be.revertedWithCustomError(freezes, "NotAnActiveExchange")
          .withArgs(id);
      }
    });

    it("accepts a list of 256 items, the maximum", async function () {
      const { freezes, police, ids, caseId } = await load(deployFreezes);
      const root = listOf(itemsOf(MAX_ITEMS)).root;
      await expect(
        freezes.connect(police).requestFreeze(caseId, ids.exchange, root, MAX_ITEMS, TRACE),
      )
        .to.emit(freezes, "FreezeRequested")
        .withArgs(1n, caseId, ids.exchange, ids.police, root, MAX_ITEMS, TRACE, police.address);
      expect((await freezes.getFreeze(1n)).itemCount).to.equal(MAX_ITEMS);
    });

    it("reverts with InvalidItemCount when the list has no items", async function () {
      const { freezes, police, ids, caseId } = await load(deployFreezes);
      await expect(freezes.connect(police).requestFreeze(caseId, ids.exchange, ROOT, 0, TRACE))
        .to.be.revertedWithCustomError(freezes, "InvalidItemCount")
        .withArgs(0, MAX_ITEMS);
    });

    it("reverts with InvalidItemCount when the list has 257 items", async function () {
      const { freezes, police, ids, caseId } = await load(deployFreezes);
      await expect(
        freezes.connect(police).requestFreeze(caseId, ids.exchange, ROOT, MAX_ITEMS + 1, TRACE),
      )
        .to.be.revertedWithCustomError(freezes, "InvalidItemCount")
        .withArgs(MAX_ITEMS + 1, MAX_ITEMS);
    });

    it("reverts with ZeroCommitment when the list root is zero", async function () {
      const { freezes, police, ids, caseId } = await load(deployFreezes);
      await expect(
        freezes.connect(police).requestFreeze(caseId, ids.exchange, ZeroHash, COUNT, TRACE),
      )
        .to.be.revertedWithCustomError(freezes, "ZeroCommitment")
        .withArgs("listRoot");
    });

    it("reverts with UnknownCase when the case does not exist", async function () {
      const { freezes, cases, police, ids } = await load(deployFreezes);
      await expect(freezes.connect(police).requestFreeze(99n, ids.exchange, ROOT, COUNT, TRACE))
        .to.be.revertedWithCustomError(cases, "UnknownCase")
        .withArgs(99n);
    });

    it("reverts with CaseNotApproved when the case is not approved yet", async function () {
      const { freezes, cases, police, ids } = await load(deployFreezes);
      const pending = await openCase(
        cases,
        police,
        "CASE-PENDING",
        SCOPE,
        (await time.latest()) + CASE_DURATION,
      );
      await expect(freezes.connect(police).requestFreeze(pending, ids.exchange, ROOT, COUNT, TRACE))
        .to.be.revertedWithCustomError(cases, "CaseNotApproved")
        .withArgs(pending);
    });

    it("reverts with CaseIsClosed when the case is closed", async function () {
      const { freezes, cases, police, ids, caseId } = await load(deployFreezes);
      await (await cases.connect(police).closeCase(caseId, REASON)).wait();
      await expect(freezes.connect(police).requestFreeze(caseId, ids.exchange, ROOT, COUNT, TRACE))
        .to.be.revertedWithCustomError(cases, "CaseIsClosed")
        .withArgs(caseId);
    });

    it("reverts with CaseExpired from the case's expiry on", async function () {
      const { freezes, cases, police, ids, caseId, caseExpiry } = await load(deployFreezes);
      await time.setNextBlockTimestamp(caseExpiry);
      await expect(freezes.connect(police).requestFreeze(caseId, ids.exchange, ROOT, COUNT, TRACE))
        .to.be.revertedWithCustomError(cases, "CaseExpired")
        .withArgs(caseId, caseExpiry);
    });

    it("reverts with UnknownSigningKey when the caller is not a participant's key", async function () {
      const { freezes, registry, stranger, ids, caseId } = await load(deployFreezes);
      await expect(
        freezes.connect(stranger).requestFreeze(caseId, ids.exchange, ROOT, COUNT, TRACE),
      )
        .to.be.revertedWithCustomError(registry, "UnknownSigningKey")
        .withArgs(stranger.address);
    });

    it("reverts with ParticipantNotActive when the requester is suspended", async function () {
      const { freezes, registry, council, police, ids, caseId } = await load(deployFreezes);
      await suspend(registry, council, ids.police);
      await expect(freezes.connect(police).requestFreeze(caseId, ids.exchange, ROOT, COUNT, TRACE))
        .to.be.revertedWithCustomError(registry, "ParticipantNotActive")
        .withArgs(ids.police, ParticipantStatus.Suspended);
    });

    it("reverts with ConsortiumPaused while the consortium is paused", async function () {
      const { freezes, registry, council, police, ids, caseId } = await load(deployFreezes);
      await (await registry.connect(at(council, 0)).pause()).wait();
      await expect(freezes.connect(police).requestFreeze(caseId, ids.exchange, ROOT, COUNT, TRACE))
        .to.be.revertedWithCustomError(freezes, "ConsortiumPaused")
        .withArgs();
    });
  });

  describe("recordFrozen", function () {
    it("records the result root of the list received and emits FreezeExecuted", async function () {
      const { freezes, exchange, ids, caseId, freezeId } = await load(deployRequested);
      const ts = await nextTimestamp(networkHelpers);
      await expect(freezes.connect(exchange).recordFrozen(freezeId, ROOT, RESULT, EVIDENCE))
        .to.emit(freezes, "FreezeExecuted")
        .withArgs(freezeId, caseId, ids.exchange, ROOT, RESULT, EVIDENCE, exchange.address);
      const r = await freezes.getFreeze(freezeId);
      expect(r.status).to.equal(FreezeStatus.Executed);
      expect(r.answeredAt).to.equal(ts);
      expect(r.listRoot).to.equal(ROOT);
      expect(r.resultRoot).to.equal(RESULT);
      expect(r.itemCount).to.equal(COUNT);
      expect(r.requester).to.equal(ids.police);
      expect(r.exchange).to.equal(ids.exchange);
    });

    it("accepts the report from another signing key of the exchange", async function () {
      const { freezes, registry, council, spare, ids, caseId, freezeId } =
        await load(deployRequested);
      await addSigningKey(registry, council, ids.exchange, spare.address);
      await expect(freezes.connect(spare).recordFrozen(freezeId, ROOT, RESULT, EVIDENCE))
        .to.emit(freezes, "FreezeExecuted")
        .withArgs(freezeId, caseId, ids.exchange, ROOT, RESULT, EVIDENCE, spare.address);
    });

    it("accepts the report after the case was closed (funds may already be frozen)", async function () {
      const { freezes, cases, police, exchange, ids, caseId, freezeId } =
        await load(deployRequested);
      await (await cases.connect(police).closeCase(caseId, REASON)).wait();
      await expect(freezes.connect(exchange).recordFrozen(freezeId, ROOT, RESULT, EVIDENCE))
        .to.emit(freezes, "FreezeExecuted")
        .withArgs(freezeId, caseId, ids.exchange, ROOT, RESULT, EVIDENCE, exchange.address);
    });

    it("accepts the report after the case expired", async function () {
      const { freezes, exchange, ids, caseId, caseExpiry, freezeId } = await load(deployRequested);
      await time.increaseTo(caseExpiry + DAY);
      await expect(freezes.connect(exchange).recordFrozen(freezeId, ROOT, RESULT, EVIDENCE))
        .to.emit(freezes, "FreezeExecuted")
        .withArgs(freezeId, caseId, ids.exchange, ROOT, RESULT, EVIDENCE, exchange.address);
    });

    it("reverts with ListRootMismatch when the exchange answers a list with a tampered amount", async function () {
      const { freezes, exchange, freezeId } = await load(deployRequested);
      const tampered = itemsOf(3).map((i, k) => (k === 1 ? { ...i, amount: i.amount + 1n } : i));
      const root = listOf(tampered).root;
      await expect(freezes.connect(exchange).recordFrozen(freezeId, root, RESULT, EVIDENCE))
        .to.be.revertedWithCustomError(freezes, "ListRootMismatch")
        .withArgs(freezeId, ROOT, root);
    });

    it("reverts with ListRootMismatch when the exchange answers a list with an extra account", async function () {
      const { freezes, exchange, freezeId } = await load(deployRequested);
      const root = listOf(itemsOf(4)).root;
      await expect(freezes.connect(exchange).recordFrozen(freezeId, root, RESULT, EVIDENCE))
        .to.be.revertedWithCustomError(freezes, "ListRootMismatch")
        .withArgs(freezeId, ROOT, root);
    });

    it("reverts with ZeroCommitment when the result root is zero", async function () {
      const { freezes, exchange, freezeId } = await load(deployRequested);
      await expect(freezes.connect(exchange).recordFrozen(freezeId, ROOT, ZeroHash, EVIDENCE))
        .to.be.revertedWithCustomError(freezes, "ZeroCommitment")
        .withArgs("resultRoot");
    });

    it("reverts with NotFreezeExchange when another exchange reports", async function () {
      const { freezes, registry, council, other, freezeId } = await load(deployRequested);
      const exchange2 = await admit(registry, council, "EXCHANGE", other.address);
      await expect(freezes.connect(other).recordFrozen(freezeId, ROOT, RESULT, EVIDENCE))
        .to.be.revertedWithCustomError(freezes, "NotFreezeExchange")
        .withArgs(freezeId, exchange2);
    });

    it("reverts with NotFreezeExchange when the requester reports", async function () {
      const { freezes, police, ids, freezeId } = await load(deployRequested);
      await expect(freezes.connect(police).recordFrozen(freezeId, ROOT, RESULT, EVIDENCE))
        .to.be.revertedWithCustomError(freezes, "NotFreezeExchange")
        .withArgs(freezeId, ids.police);
    });

    it("reverts with FreezeNotPending when the request was already executed", async function () {
      const { freezes, exchange, freezeId } = await load(deployRequested);
      await (await freezes.connect(exchange).recordFrozen(freezeId, ROOT, RESULT, EVIDENCE)).wait();
      await expect(freezes.connect(exchange).recordFrozen(freezeId, ROOT, RESULT, EVIDENCE))
        .to.be.revertedWithCustomError(freezes, "FreezeNotPending")
        .withArgs(freezeId, FreezeStatus.Executed);
    });

    it("reverts with FreezeNotPending when the request was rejected", async function () {
      const { freezes, exchange, freezeId } = await load(deployRequested);
      await (await freezes.connect(exchange).rejectFreeze(freezeId, REASON)).wait();
      await expect(freezes.connect(exchange).recordFrozen(freezeId, ROOT, RESULT, EVIDENCE))
        .to.be.revertedWithCustomError(freezes, "FreezeNotPending")
        .withArgs(freezeId, FreezeStatus.Rejected);
    });

    it("reverts with UnknownFreeze when the request does not exist", async function () {
      const { freezes, exchange } = await load(deployRequested);
      await expect(freezes.connect(exchange).recordFrozen(99n, ROOT, RESULT, EVIDENCE))
        .to.be.revertedWithCustomError(freezes, "UnknownFreeze")
        .withArgs(99n);
    });

    it("reverts with UnknownSigningKey when the caller is not a participant's key", async function () {
      const { freezes, registry, stranger, freezeId } = await load(deployRequested);
      await expect(freezes.connect(stranger).recordFrozen(freezeId, ROOT, RESULT, EVIDENCE))
        .to.be.revertedWithCustomError(registry, "UnknownSigningKey")
        .withArgs(stranger.address);
    });

    it("reverts with ParticipantNotActive when the exchange was suspended after the request", async function () {
      const { freezes, registry, council, exchange, ids, freezeId } = await load(deployRequested);
      await suspend(registry, council, ids.exchange);
      await expect(freezes.connect(exchange).recordFrozen(freezeId, ROOT, RESULT, EVIDENCE))
        .to.be.revertedWithCustomError(registry, "ParticipantNotActive")
        .withArgs(ids.exchange, ParticipantStatus.Suspended);
    });

    it("reverts with ConsortiumPaused while the consortium is paused", async function () {
      const { freezes, registry, council, exchange, freezeId } = await load(deployRequested);
      await (await registry.connect(at(council, 0)).pause()).wait();
      await expect(freezes.connect(exchange).recordFrozen(freezeId, ROOT, RESULT, EVIDENCE))
        .to.be.revertedWithCustomError(freezes, "ConsortiumPaused")
        .withArgs();
    });
  });

  describe("rejectFreeze", function () {
    it("marks the request rejected and emits FreezeRejected", async function () {
      const { freezes, exchange, ids, caseId, freezeId } = await load(deployRequested);
      await expect(freezes.connect(exchange).rejectFreeze(freezeId, REASON))
        .to.emit(freezes, "FreezeRejected")
        .withArgs(freezeId, caseId, ids.exchange, REASON, exchange.address);
      expect((await freezes.getFreeze(freezeId)).status).to.equal(FreezeStatus.Rejected);
    });

    it("accepts the rejection after the case was closed", async function () {
      const { freezes, cases, police, exchange, ids, caseId, freezeId } =
        await load(deployRequested);
      await (await cases.connect(police).closeCase(caseId, REASON)).wait();
      await expect(freezes.connect(exchange).rejectFreeze(freezeId, REASON))
        .to.emit(freezes, "FreezeRejected")
        .withArgs(freezeId, caseId, ids.exchange, REASON, exchange.address);
    });

    it("reverts with NotFreezeExchange when another participant rejects", async function () {
      const { freezes, bank, ids, freezeId } = await load(deployRequested);
      await expect(freezes.connect(bank).rejectFreeze(freezeId, REASON))
        .to.be.revertedWithCustomError(freezes, "NotFreezeExchange")
        .withArgs(freezeId, ids.bank);
    });

    it("reverts with FreezeNotPending when the request was already executed", async function () {
      const { freezes, exchange, freezeId } = await load(deployRequested);
      await (await freezes.connect(exchange).recordFrozen(freezeId, ROOT, RESULT, EVIDENCE)).wait();
      await expect(freezes.connect(exchange).rejectFreeze(freezeId, REASON))
        .to.be.revertedWithCustomError(freezes, "FreezeNotPending")
        .withArgs(freezeId, FreezeStatus.Executed);
    });

    it("reverts with FreezeNotPending when the request was already rejected", async function () {
      const { freezes, exchange, freezeId } = await load(deployRequested);
      await (await freezes.connect(exchange).rejectFreeze(freezeId, REASON)).wait();
      await expect(freezes.connect(exchange).rejectFreeze(freezeId, REASON))
        .to.be.revertedWithCustomError(freezes, "FreezeNotPending")
        .withArgs(freezeId, FreezeStatus.Rejected);
    });

    it("reverts with UnknownFreeze when the request does not exist", async function () {
      const { freezes, exchange } = await load(deployRequested);
      await expect(freezes.connect(exchange).rejectFreeze(0n, REASON))
        .to.be.revertedWithCustomError(freezes, "UnknownFreeze")
        .withArgs(0n);
    });

    it("reverts with UnknownSigningKey when the caller is not a participant's key", async function () {
      const { freezes, registry, stranger, freezeId } = await load(deployRequested);
      await expect(freezes.connect(stranger).rejectFreeze(freezeId, REASON))
        .to.be.revertedWithCustomError(registry, "UnknownSigningKey")
        .withArgs(stranger.address);
    });

    it("reverts with ParticipantNotActive when the exchange was suspended after the request", async function () {
      const { freezes, registry, council, exchange, ids, freezeId } = await load(deployRequested);
      await suspend(registry, council, ids.exchange);
      await expect(freezes.connect(exchange).rejectFreeze(freezeId, REASON))
        .to.be.revertedWithCustomError(registry, "ParticipantNotActive")
        .withArgs(ids.exchange, ParticipantStatus.Suspended);
    });

    it("reverts with ConsortiumPaused while the consortium is paused", async function () {
      const { freezes, registry, council, exchange, freezeId } = await load(deployRequested);
      await (await registry.connect(at(council, 0)).pause()).wait();
      await expect(freezes.connect(exchange).rejectFreeze(freezeId, REASON))
        .to.be.revertedWithCustomError(freezes, "ConsortiumPaused")
        .withArgs();
    });
  });

  describe("acknowledgeFrozen", function () {
    /** deployRequested, plus the exchange's answer RESULT. */
    async function deployExecuted() {
      const f = await deployRequested();
      await (
        await f.freezes.connect(f.exchange).recordFrozen(f.freezeId, ROOT, RESULT, EVIDENCE)
      ).wait();
      return f;
    }

    it("marks the result acknowledged by the requester and emits FreezeAcknowledged", async function () {
      const { freezes, police, ids, caseId, freezeId } = await load(deployExecuted);
      await expect(freezes.connect(police).acknowledgeFrozen(freezeId, RESULT))
        .to.emit(freezes, "FreezeAcknowledged")
        .withArgs(freezeId, caseId, ids.police, RESULT, police.address);
      expect((await freezes.getFreeze(freezeId)).status).to.equal(FreezeStatus.Acknowledged);
    });

    it("accepts the acknowledgement after the case was closed", async function () {
      const { freezes, cases, police, ids, caseId, freezeId } = await load(deployExecuted);
      await (await cases.connect(police).closeCase(caseId, REASON)).wait();
      await expect(freezes.connect(police).acknowledgeFrozen(freezeId, RESULT))
        .to.emit(freezes, "FreezeAcknowledged")
        .withArgs(freezeId, caseId, ids.police, RESULT, police.address);
    });

    it("reverts with ResultRootMismatch when the police names another result", async function () {
      const { freezes, police, freezeId } = await load(deployExecuted);
      const other = buildFreezeResultList(LIST, [1000n, 2000n, 0n]).root;
      await expect(freezes.connect(police).acknowledgeFrozen(freezeId, other))
        .to.be.revertedWithCustomError(freezes, "ResultRootMismatch")
        .withArgs(freezeId, RESULT, other);
    });

    it("reverts with NotFreezeRequester when the exchange or the prosecutor acknowledges", async function () {
      const { freezes, exchange, prosecutor, ids, freezeId } = await load(deployExecuted);
      for (const [who, id] of [
        [exchange, ids.exchange],
        [prosecutor, ids.prosecutor],
      ] as const) {
        await expect(freezes.connect(who).acknowledgeFrozen(freezeId, RESULT))
          .to.be.revertedWithCustomError(freezes, "NotFreezeRequester")
          .withArgs(freezeId, id);
      }
    });

    it("reverts with FreezeNotExecuted while pending, after a rejection and after an acknowledgement", async function () {
      const { freezes, police, exchange, freezeId } = await load(deployRequested);
      await expect(freezes.connect(police).acknowledgeFrozen(freezeId, RESULT))
        .to.be.revertedWithCustomError(freezes, "FreezeNotExecuted")
        .withArgs(freezeId, FreezeStatus.Requested);
      await (await freezes.connect(exchange).rejectFreeze(freezeId, REASON)).wait();
      await expect(freezes.connect(police).acknowledgeFrozen(freezeId, RESULT))
        .to.be.revertedWithCustomError(freezes, "FreezeNotExecuted")
        .withArgs(freezeId, FreezeStatus.Rejected);
      const executed = await load(deployExecuted);
      await (
        await executed.freezes.connect(executed.police).acknowledgeFrozen(freezeId, RESULT)
      ).wait();
      await expect(executed.freezes.connect(executed.police).acknowledgeFrozen(freezeId, RESULT))
        .to.be.revertedWithCustomError(freezes, "FreezeNotExecuted")
        .withArgs(freezeId, FreezeStatus.Acknowledged);
    });

    it("reverts with UnknownFreeze when the request does not exist", async function () {
      const { freezes, police } = await load(deployExecuted);
      await expect(freezes.connect(police).acknowledgeFrozen(99n, RESULT))
        .to.be.revertedWithCustomError(freezes, "UnknownFreeze")
        .withArgs(99n);
    });

    it("reverts with ConsortiumPaused while the consortium is paused", async function () {
      const { freezes, registry, council, police, freezeId } = await load(deployExecuted);
      await (await registry.connect(at(council, 0)).pause()).wait();
      await expect(freezes.connect(police).acknowledgeFrozen(freezeId, RESULT))
        .to.be.revertedWithCustomError(freezes, "ConsortiumPaused")
        .withArgs();
    });
  });

  describe("privacy: a member reading the logs", function () {
    /** Every 32-byte word of a log's topics and data. */
    const wordsOf = (log: { topics: readonly string[]; data: string }): string[] => {
      const data = getBytes(log.data);
      const words = [...log.topics.map((t) => t.toLowerCase())];
      for (let i = 0; i + 32 <= data.length; i += 32) {
        words.push(`0x${Buffer.from(data.slice(i, i + 32)).toString("hex")}`);
      }
      return words;
    };
    const coder = AbiCoder.defaultAbiCoder();
    /** The words an account or an amount would occupy in a log, however it is laid out. */
    const secretsOf = (items: readonly FreezeItem[]): string[] =>
      items.flatMap((i) => [
        coder.encode(["address"], [i.account]),
        coder.encode(["uint256"], [i.amount]),
      ]);

    it("finds no account and no amount in any topic or data word of a freeze's logs", async function () {
      const { freezes, police, exchange, ids, caseId } = await load(deployFreezes);
      const receipts = [
        await (
          await freezes.connect(police).requestFreeze(caseId, ids.exchange, ROOT, COUNT, TRACE)
        ).wait(),
        await (await freezes.connect(exchange).recordFrozen(1n, ROOT, RESULT, EVIDENCE)).wait(),
        await (await freezes.connect(police).acknowledgeFrozen(1n, RESULT)).wait(),
      ];
      const logs = receipts.flatMap((r) => r?.logs ?? []);
      expect(logs).to.have.length(3);
      const words = logs.flatMap(wordsOf);
      const secrets = new Set(
        [...secretsOf(ITEMS), ...[1000n, 1500n].map((a) => coder.encode(["uint256"], [a]))].map(
          (w) => w.toLowerCase(),
        ),
      );
      expect(words.filter((w) => secrets.has(w))).to.deep.equal([]);
      // Nor anywhere in the raw bytes (an address packed off a word boundary).
      const raw = logs
        .map((l) => l.topics.join("") + l.data)
        .join("")
        .toLowerCase();
      for (const i of ITEMS) expect(raw).to.not.include(i.account.slice(2));
    });

    it("cannot confirm a guessed account by hashing it: the commitments are keyed", async function () {
      const guessedWithoutKey = listOf(ITEMS).items.map((i) => ({ ...i }));
      const unkeyed = buildFreezeRequestList({
        caseId: 1n,
        exchange: 1,
        caseKey: commitment("a guessed key"),
        items: guessedWithoutKey,
        nonce: NONCE,
      });
      expect(unkeyed.root).to.not.equal(ROOT);
    });
  });

  describe("getFreeze", function () {
    it("returns an all-zero request with status None for an id never requested", async function () {
      const { freezes } = await load(deployRequested);
      const r = await freezes.getFreeze(99n);
      expect(r.caseId).to.equal(0n);
      expect(r.requester).to.equal(0n);
      expect(r.exchange).to.equal(0n);
      expect(r.status).to.equal(FreezeStatus.None);
      expect(r.itemCount).to.equal(0n);
      expect(r.requestedAt).to.equal(0n);
      expect(r.answeredAt).to.equal(0n);
      expect(r.listRoot).to.equal(ZeroHash);
      expect(r.resultRoot).to.equal(ZeroHash);
    });
  });

  describe("freezeCount", function () {
    it("is 0 before any request", async function () {
      const { freezes } = await load(deployFreezes);
      expect(await freezes.freezeCount()).to.equal(0n);
    });

    it("counts answered requests too (it counts requests ever made)", async function () {
      const { freezes, exchange, freezeId } = await load(deployRequested);
      await (await freezes.connect(exchange).rejectFreeze(freezeId, REASON)).wait();
      expect(await freezes.freezeCount()).to.equal(1n);
    });
  });
});
