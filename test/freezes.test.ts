import { expect } from "chai";
import { ZeroAddress } from "ethers";
import { network } from "hardhat";
import type { IFreezeRegistry } from "../types/ethers-contracts/index.js";
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
const FreezeStatus = { None: 0, Requested: 1, Executed: 2, Rejected: 3 } as const;

const POLICE = kind("POLICE");
const EXCHANGE = kind("EXCHANGE");
const MAX_ITEMS = 256;
const SCOPE = scopeOf(DataKind.Transactions);
const CASE_DURATION = 30 * DAY;
const ETHEREUM = 1n;
const USDT = addressOf("token: USDT on Ethereum");
const TRACE = commitment("trace report: case 1, run 1");
const EVIDENCE = commitment("exchange freeze record 1");
const REASON = 9;

type Item = IFreezeRegistry.FreezeItemStruct & { account: string; amount: bigint };

/** `n` distinct accounts with amounts 1000, 2000, ...: the exits of a trace. */
const itemsOf = (n: number): Item[] =>
  Array.from({ length: n }, (_, i) => ({
    account: addressOf(`exit account ${i}`),
    amount: 1000n * BigInt(i + 1),
  }));
/** Items as the event's decoded tuples. */
const tuples = (items: readonly Item[]) => items.map((i) => [i.account, i.amount]);

const ITEMS = itemsOf(3);

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

/** deployFreezes, plus freeze 1: the police asks the exchange to freeze ITEMS of USDT. */
async function deployRequested() {
  const f = await deployFreezes();
  await (
    await f.freezes
      .connect(f.police)
      .requestFreeze(f.caseId, f.ids.exchange, ETHEREUM, USDT, ITEMS, TRACE)
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
    it("records a request by the case's opener and emits FreezeRequested with every item", async function () {
      const { freezes, police, ids, caseId } = await load(deployFreezes);
      const ts = await nextTimestamp(networkHelpers);
      await expect(
        freezes.connect(police).requestFreeze(caseId, ids.exchange, ETHEREUM, USDT, ITEMS, TRACE),
      )
        .to.emit(freezes, "FreezeRequested")
        .withArgs(
          1n,
          caseId,
          ids.exchange,
          ids.police,
          ETHEREUM,
          USDT,
          tuples(ITEMS),
          TRACE,
          police.address,
        );
      const r = await freezes.getFreeze(1n);
      expect(r.caseId).to.equal(caseId);
      expect(r.requester).to.equal(ids.police);
      expect(r.exchange).to.equal(ids.exchange);
      expect(r.status).to.equal(FreezeStatus.Requested);
      expect(r.itemCount).to.equal(ITEMS.length);
      expect(r.requestedAt).to.equal(ts);
      expect(r.chainId).to.equal(ETHEREUM);
      expect(r.token).to.equal(USDT);
      expect(await freezes.freezeCount()).to.equal(1n);
    });

    it("accepts the zero token address for the chain's native coin", async function () {
      const { freezes, police, ids, caseId } = await load(deployFreezes);
      await expect(
        freezes
          .connect(police)
          .requestFreeze(caseId, ids.exchange, ETHEREUM, ZeroAddress, ITEMS, TRACE),
      )
        .to.emit(freezes, "FreezeRequested")
        .withArgs(
          1n,
          caseId,
          ids.exchange,
          ids.police,
          ETHEREUM,
          ZeroAddress,
          tuples(ITEMS),
          TRACE,
          police.address,
        );
      expect((await freezes.getFreeze(1n)).token).to.equal(ZeroAddress);
    });

    it("numbers requests from 1 in order", async function () {
      const { freezes, police, ids, caseId } = await load(deployRequested);
      const one = itemsOf(1);
      await expect(
        freezes.connect(police).requestFreeze(caseId, ids.exchange, 56n, USDT, one, TRACE),
      )
        .to.emit(freezes, "FreezeRequested")
        .withArgs(
          2n,
          caseId,
          ids.exchange,
          ids.police,
          56n,
          USDT,
          tuples(one),
          TRACE,
          police.address,
        );
      expect(await freezes.freezeCount()).to.equal(2n);
      expect((await freezes.getFreeze(1n)).itemCount).to.equal(ITEMS.length);
      expect((await freezes.getFreeze(2n)).itemCount).to.equal(1n);
    });

    it("credits the participant, not the key, when sent by a further signing key", async function () {
      const { freezes, registry, council, spare, ids, caseId } = await load(deployFreezes);
      await addSigningKey(registry, council, ids.police, spare.address);
      await expect(
        freezes.connect(spare).requestFreeze(caseId, ids.exchange, ETHEREUM, USDT, ITEMS, TRACE),
      )
        .to.emit(freezes, "FreezeRequested")
        .withArgs(
          1n,
          caseId,
          ids.exchange,
          ids.police,
          ETHEREUM,
          USDT,
          tuples(ITEMS),
          TRACE,
          spare.address,
        );
    });

    it("accepts 256 items, the maximum", async function () {
      const { freezes, police, ids, caseId } = await load(deployFreezes);
      const items = itemsOf(MAX_ITEMS);
      await expect(
        freezes.connect(police).requestFreeze(caseId, ids.exchange, ETHEREUM, USDT, items, TRACE),
      )
        .to.emit(freezes, "FreezeRequested")
        .withArgs(
          1n,
          caseId,
          ids.exchange,
          ids.police,
          ETHEREUM,
          USDT,
          tuples(items),
          TRACE,
          police.address,
        );
      expect((await freezes.getFreeze(1n)).itemCount).to.equal(MAX_ITEMS);
    });

    it("reverts with WrongParticipantKind when a bank asks", async function () {
      const { freezes, bank, ids, caseId } = await load(deployFreezes);
      await expect(
        freezes.connect(bank).requestFreeze(caseId, ids.exchange, ETHEREUM, USDT, ITEMS, TRACE),
      )
        .to.be.revertedWithCustomError(freezes, "WrongParticipantKind")
        .withArgs(ids.bank, kind("BANK"), POLICE);
    });

    it("reverts with WrongParticipantKind when the case's approver, a prosecutor, asks", async function () {
      const { freezes, prosecutor, ids, caseId } = await load(deployFreezes);
      await expect(
        freezes
          .connect(prosecutor)
          .requestFreeze(caseId, ids.exchange, ETHEREUM, USDT, ITEMS, TRACE),
      )
        .to.be.revertedWithCustomError(freezes, "WrongParticipantKind")
        .withArgs(ids.prosecutor, kind("PROSECUTOR"), POLICE);
    });

    it("reverts with NotCaseParty when a police participant that is no party to the case asks", async function () {
      const { freezes, registry, council, other, ids, caseId } = await load(deployFreezes);
      const police2 = await admit(registry, council, "POLICE", other.address);
      await expect(
        freezes.connect(other).requestFreeze(caseId, ids.exchange, ETHEREUM, USDT, ITEMS, TRACE),
      )
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
      await expect(
        freezes.connect(other).requestFreeze(own, ids.exchange, ETHEREUM, USDT, ITEMS, TRACE),
      )
        .to.emit(freezes, "FreezeRequested")
        .withArgs(
          1n,
          own,
          ids.exchange,
          police2,
          ETHEREUM,
          USDT,
          tuples(ITEMS),
          TRACE,
          other.address,
        );
    });

    it("reverts with NotAnActiveExchange when the participant asked is not an exchange", async function () {
      const { freezes, police, ids, caseId } = await load(deployFreezes);
      await expect(
        freezes.connect(police).requestFreeze(caseId, ids.bank, ETHEREUM, USDT, ITEMS, TRACE),
      )
        .to.be.revertedWithCustomError(freezes, "NotAnActiveExchange")
        .withArgs(ids.bank);
    });

    it("reverts with NotAnActiveExchange when the exchange is suspended", async function () {
      const { freezes, registry, council, police, ids, caseId } = await load(deployFreezes);
      await suspend(registry, council, ids.exchange);
      await expect(
        freezes.connect(police).requestFreeze(caseId, ids.exchange, ETHEREUM, USDT, ITEMS, TRACE),
      )
        .to.be.revertedWithCustomError(freezes, "NotAnActiveExchange")
        .withArgs(ids.exchange);
    });

    it("reverts with NotAnActiveExchange when the participant does not exist", async function () {
      const { freezes, police, caseId } = await load(deployFreezes);
      for (const id of [0, 99]) {
        await expect(
          freezes.connect(police).requestFreeze(caseId, id, ETHEREUM, USDT, ITEMS, TRACE),
        )
          .to.be.revertedWithCustomError(freezes, "NotAnActiveExchange")
          .withArgs(id);
      }
    });

    it("reverts with ZeroChainId when the chain id is zero", async function () {
      const { freezes, police, ids, caseId } = await load(deployFreezes);
      await expect(
        freezes.connect(police).requestFreeze(caseId, ids.exchange, 0n, USDT, ITEMS, TRACE),
      )
        .to.be.revertedWithCustomError(freezes, "ZeroChainId")
        .withArgs();
    });

    it("reverts with InvalidItemCount when there are no items", async function () {
      const { freezes, police, ids, caseId } = await load(deployFreezes);
      await expect(
        freezes.connect(police).requestFreeze(caseId, ids.exchange, ETHEREUM, USDT, [], TRACE),
      )
        .to.be.revertedWithCustomError(freezes, "InvalidItemCount")
        .withArgs(0, MAX_ITEMS);
    });

    it("reverts with InvalidItemCount when there are 257 items", async function () {
      const { freezes, police, ids, caseId } = await load(deployFreezes);
      await expect(
        freezes
          .connect(police)
          .requestFreeze(caseId, ids.exchange, ETHEREUM, USDT, itemsOf(MAX_ITEMS + 1), TRACE),
      )
        .to.be.revertedWithCustomError(freezes, "InvalidItemCount")
        .withArgs(MAX_ITEMS + 1, MAX_ITEMS);
    });

    it("reverts with InvalidItem(i) when item i has the zero account", async function () {
      const { freezes, police, ids, caseId } = await load(deployFreezes);
      const items = itemsOf(4);
      items[2] = { account: ZeroAddress, amount: 5n };
      await expect(
        freezes.connect(police).requestFreeze(caseId, ids.exchange, ETHEREUM, USDT, items, TRACE),
      )
        .to.be.revertedWithCustomError(freezes, "InvalidItem")
        .withArgs(2);
    });

    it("reverts with InvalidItem(i) when item i has a zero amount", async function () {
      const { freezes, police, ids, caseId } = await load(deployFreezes);
      const items = itemsOf(4);
      items[0] = { account: addressOf("exit account 0"), amount: 0n };
      await expect(
        freezes.connect(police).requestFreeze(caseId, ids.exchange, ETHEREUM, USDT, items, TRACE),
      )
        .to.be.revertedWithCustomError(freezes, "InvalidItem")
        .withArgs(0);
    });

    it("reverts with InvalidItem naming the first bad item when several are bad", async function () {
      const { freezes, police, ids, caseId } = await load(deployFreezes);
      const items = itemsOf(MAX_ITEMS);
      items[MAX_ITEMS - 1] = { account: ZeroAddress, amount: 0n };
      items[100] = { account: addressOf("exit account 100"), amount: 0n };
      await expect(
        freezes.connect(police).requestFreeze(caseId, ids.exchange, ETHEREUM, USDT, items, TRACE),
      )
        .to.be.revertedWithCustomError(freezes, "InvalidItem")
        .withArgs(100);
    });

    it("reverts with UnknownCase when the case does not exist", async function () {
      const { freezes, cases, police, ids } = await load(deployFreezes);
      await expect(
        freezes.connect(police).requestFreeze(99n, ids.exchange, ETHEREUM, USDT, ITEMS, TRACE),
      )
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
      await expect(
        freezes.connect(police).requestFreeze(pending, ids.exchange, ETHEREUM, USDT, ITEMS, TRACE),
      )
        .to.be.revertedWithCustomError(cases, "CaseNotApproved")
        .withArgs(pending);
    });

    it("reverts with CaseIsClosed when the case is closed", async function () {
      const { freezes, cases, police, ids, caseId } = await load(deployFreezes);
      await (await cases.connect(police).closeCase(caseId, REASON)).wait();
      await expect(
        freezes.connect(police).requestFreeze(caseId, ids.exchange, ETHEREUM, USDT, ITEMS, TRACE),
      )
        .to.be.revertedWithCustomError(cases, "CaseIsClosed")
        .withArgs(caseId);
    });

    it("reverts with CaseExpired from the case's expiry on", async function () {
      const { freezes, cases, police, ids, caseId, caseExpiry } = await load(deployFreezes);
      await time.setNextBlockTimestamp(caseExpiry);
      await expect(
        freezes.connect(police).requestFreeze(caseId, ids.exchange, ETHEREUM, USDT, ITEMS, TRACE),
      )
        .to.be.revertedWithCustomError(cases, "CaseExpired")
        .withArgs(caseId, caseExpiry);
    });

    it("reverts with UnknownSigningKey when the caller is not a participant's key", async function () {
      const { freezes, registry, stranger, ids, caseId } = await load(deployFreezes);
      await expect(
        freezes.connect(stranger).requestFreeze(caseId, ids.exchange, ETHEREUM, USDT, ITEMS, TRACE),
      )
        .to.be.revertedWithCustomError(registry, "UnknownSigningKey")
        .withArgs(stranger.address);
    });

    it("reverts with ParticipantNotActive when the requester is suspended", async function () {
      const { freezes, registry, council, police, ids, caseId } = await load(deployFreezes);
      await suspend(registry, council, ids.police);
      await expect(
        freezes.connect(police).requestFreeze(caseId, ids.exchange, ETHEREUM, USDT, ITEMS, TRACE),
      )
        .to.be.revertedWithCustomError(registry, "ParticipantNotActive")
        .withArgs(ids.police, ParticipantStatus.Suspended);
    });

    it("reverts with ConsortiumPaused while the consortium is paused", async function () {
      const { freezes, registry, council, police, ids, caseId } = await load(deployFreezes);
      await (await registry.connect(at(council, 0)).pause()).wait();
      await expect(
        freezes.connect(police).requestFreeze(caseId, ids.exchange, ETHEREUM, USDT, ITEMS, TRACE),
      )
        .to.be.revertedWithCustomError(freezes, "ConsortiumPaused")
        .withArgs();
    });
  });

  describe("recordFrozen", function () {
    it("records what the exchange froze per item and emits FreezeExecuted", async function () {
      const { freezes, exchange, ids, caseId, freezeId } = await load(deployRequested);
      const frozen = [1000n, 1500n, 0n];
      await expect(freezes.connect(exchange).recordFrozen(freezeId, frozen, EVIDENCE))
        .to.emit(freezes, "FreezeExecuted")
        .withArgs(freezeId, caseId, ids.exchange, frozen, EVIDENCE, exchange.address);
      const r = await freezes.getFreeze(freezeId);
      expect(r.status).to.equal(FreezeStatus.Executed);
      expect(r.itemCount).to.equal(ITEMS.length);
      expect(r.requester).to.equal(ids.police);
      expect(r.exchange).to.equal(ids.exchange);
    });

    it("accepts all zeros when nothing could be frozen", async function () {
      const { freezes, exchange, ids, caseId, freezeId } = await load(deployRequested);
      const frozen = [0n, 0n, 0n];
      await expect(freezes.connect(exchange).recordFrozen(freezeId, frozen, EVIDENCE))
        .to.emit(freezes, "FreezeExecuted")
        .withArgs(freezeId, caseId, ids.exchange, frozen, EVIDENCE, exchange.address);
    });

    it("accepts the report from another signing key of the exchange", async function () {
      const { freezes, registry, council, spare, ids, caseId, freezeId } =
        await load(deployRequested);
      await addSigningKey(registry, council, ids.exchange, spare.address);
      const frozen = [1n, 2n, 3n];
      await expect(freezes.connect(spare).recordFrozen(freezeId, frozen, EVIDENCE))
        .to.emit(freezes, "FreezeExecuted")
        .withArgs(freezeId, caseId, ids.exchange, frozen, EVIDENCE, spare.address);
    });

    it("accepts the report after the case was closed (funds may already be frozen)", async function () {
      const { freezes, cases, police, exchange, ids, caseId, freezeId } =
        await load(deployRequested);
      await (await cases.connect(police).closeCase(caseId, REASON)).wait();
      const frozen = [1000n, 2000n, 3000n];
      await expect(freezes.connect(exchange).recordFrozen(freezeId, frozen, EVIDENCE))
        .to.emit(freezes, "FreezeExecuted")
        .withArgs(freezeId, caseId, ids.exchange, frozen, EVIDENCE, exchange.address);
    });

    it("accepts the report after the case expired", async function () {
      const { freezes, exchange, ids, caseId, caseExpiry, freezeId } = await load(deployRequested);
      await time.increaseTo(caseExpiry + DAY);
      const frozen = [1000n, 2000n, 3000n];
      await expect(freezes.connect(exchange).recordFrozen(freezeId, frozen, EVIDENCE))
        .to.emit(freezes, "FreezeExecuted")
        .withArgs(freezeId, caseId, ids.exchange, frozen, EVIDENCE, exchange.address);
    });

    it("reverts with FrozenCountMismatch when an amount is missing", async function () {
      const { freezes, exchange, freezeId } = await load(deployRequested);
      await expect(freezes.connect(exchange).recordFrozen(freezeId, [1n, 2n], EVIDENCE))
        .to.be.revertedWithCustomError(freezes, "FrozenCountMismatch")
        .withArgs(freezeId, ITEMS.length, 2);
    });

    it("reverts with FrozenCountMismatch when there are more amounts than items", async function () {
      const { freezes, exchange, freezeId } = await load(deployRequested);
      await expect(freezes.connect(exchange).recordFrozen(freezeId, [1n, 2n, 3n, 4n], EVIDENCE))
        .to.be.revertedWithCustomError(freezes, "FrozenCountMismatch")
        .withArgs(freezeId, ITEMS.length, 4);
    });

    it("reverts with NotFreezeExchange when another exchange reports", async function () {
      const { freezes, registry, council, other, freezeId } = await load(deployRequested);
      const exchange2 = await admit(registry, council, "EXCHANGE", other.address);
      await expect(freezes.connect(other).recordFrozen(freezeId, [1n, 2n, 3n], EVIDENCE))
        .to.be.revertedWithCustomError(freezes, "NotFreezeExchange")
        .withArgs(freezeId, exchange2);
    });

    it("reverts with NotFreezeExchange when the requester reports", async function () {
      const { freezes, police, ids, freezeId } = await load(deployRequested);
      await expect(freezes.connect(police).recordFrozen(freezeId, [1n, 2n, 3n], EVIDENCE))
        .to.be.revertedWithCustomError(freezes, "NotFreezeExchange")
        .withArgs(freezeId, ids.police);
    });

    it("reverts with FreezeNotPending when the request was already executed", async function () {
      const { freezes, exchange, freezeId } = await load(deployRequested);
      await (await freezes.connect(exchange).recordFrozen(freezeId, [1n, 2n, 3n], EVIDENCE)).wait();
      await expect(freezes.connect(exchange).recordFrozen(freezeId, [1n, 2n, 3n], EVIDENCE))
        .to.be.revertedWithCustomError(freezes, "FreezeNotPending")
        .withArgs(freezeId, FreezeStatus.Executed);
    });

    it("reverts with FreezeNotPending when the request was rejected", async function () {
      const { freezes, exchange, freezeId } = await load(deployRequested);
      await (await freezes.connect(exchange).rejectFreeze(freezeId, REASON)).wait();
      await expect(freezes.connect(exchange).recordFrozen(freezeId, [1n, 2n, 3n], EVIDENCE))
        .to.be.revertedWithCustomError(freezes, "FreezeNotPending")
        .withArgs(freezeId, FreezeStatus.Rejected);
    });

    it("reverts with UnknownFreeze when the request does not exist", async function () {
      const { freezes, exchange } = await load(deployRequested);
      await expect(freezes.connect(exchange).recordFrozen(99n, [1n], EVIDENCE))
        .to.be.revertedWithCustomError(freezes, "UnknownFreeze")
        .withArgs(99n);
    });

    it("reverts with UnknownSigningKey when the caller is not a participant's key", async function () {
      const { freezes, registry, stranger, freezeId } = await load(deployRequested);
      await expect(freezes.connect(stranger).recordFrozen(freezeId, [1n, 2n, 3n], EVIDENCE))
        .to.be.revertedWithCustomError(registry, "UnknownSigningKey")
        .withArgs(stranger.address);
    });

    it("reverts with ParticipantNotActive when the exchange was suspended after the request", async function () {
      const { freezes, registry, council, exchange, ids, freezeId } = await load(deployRequested);
      await suspend(registry, council, ids.exchange);
      await expect(freezes.connect(exchange).recordFrozen(freezeId, [1n, 2n, 3n], EVIDENCE))
        .to.be.revertedWithCustomError(registry, "ParticipantNotActive")
        .withArgs(ids.exchange, ParticipantStatus.Suspended);
    });

    it("reverts with ConsortiumPaused while the consortium is paused", async function () {
      const { freezes, registry, council, exchange, freezeId } = await load(deployRequested);
      await (await registry.connect(at(council, 0)).pause()).wait();
      await expect(freezes.connect(exchange).recordFrozen(freezeId, [1n, 2n, 3n], EVIDENCE))
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
      await (await freezes.connect(exchange).recordFrozen(freezeId, [1n, 2n, 3n], EVIDENCE)).wait();
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
      expect(r.chainId).to.equal(0n);
      expect(r.token).to.equal(ZeroAddress);
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
