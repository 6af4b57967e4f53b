import { expect } from "chai";
import { ZeroAddress, ZeroHash, encodeBytes32String } from "ethers";
import { network } from "hardhat";
import {
  ContractRevertError,
  DataKind,
  Exchange,
  InputError,
  Investigator,
  MAX_FREEZE_ITEMS,
  Provider,
  Supervisor,
  generateCaseKey,
  hashDocument,
  buildFreezeRequestList,
  buildFreezeResultList,
  compareFreezeLists,
  freezeListJson,
  freezeListKey,
  freezeRequestRoot,
  freezeResultRoot,
  parseFreezeList,
  withDecodedReverts,
  type FreezeInput,
  type FrozenItem,
  type LabelInput,
} from "../src/client/index.js";
import { clientConsortium } from "./helpers/client-consortium.js";

const connection = await network.create();
const { ethers, networkHelpers } = connection;
const DAY = 86_400;

/** Freeze statuses, in the order of IFreezeRegistry.FreezeStatus. */
const FreezeStatus = {
  None: 0n,
  Requested: 1n,
  Executed: 2n,
  Rejected: 3n,
  Acknowledged: 4n,
} as const;

/** An address of another chain, written in lower case as block explorers often show it. */
const SUBJECT = "0x8589427373d6d84e98730d7795d8f6f8731fda16";
const USDT = "0xdac17f958d2ee523a2206206994597c13d831ec7";
const exits = (n: number, token = USDT) =>
  Array.from({ length: n }, (_, i) => ({
    chainId: 1n,
    token,
    account: `0x${(0x1000 + i).toString(16).padStart(40, "0")}`,
    amount: 1_000_000n * BigInt(i + 1),
  }));

describe("client: labels and freezes against a deployed consortium", function () {
  /** The consortium deployed with Ignition, with police, prosecutor, bank and exchange, and an approved case. */
  async function consortium() {
    const { contracts, admit } = await clientConsortium(connection);
    const police = await admit("POLICE", 3);
    const prosecutor = await admit("PROSECUTOR", 4);
    const bank = await admit("BANK", 5);
    const exchange = await admit("EXCHANGE", 6);

    const investigator = new Investigator(contracts, police.signer);
    const caseKey = generateCaseKey();
    const { caseId, caseNumberCommitment } = await investigator.openCase({
      caseNumber: "F-1",
      caseKey,
      legalBasis: "freeze order F-1",
      scope: [DataKind.ExchangeAccounts],
      expiresAt: Number(await investigator.now()) + 30 * DAY,
    });
    await new Supervisor(contracts, prosecutor.signer).approveCase(caseId);
    return {
      contracts,
      police,
      bank,
      exchange,
      caseId,
      caseKey,
      caseNumberCommitment,
      investigator,
      provider: new Provider(contracts, bank.signer),
      desk: new Exchange(contracts, exchange.signer),
    };
  }

  type Fixture = Awaited<ReturnType<typeof consortium>>;

  const labelOf = (f: Fixture, overrides: Partial<LabelInput> = {}): LabelInput => ({
    subject: SUBJECT,
    chainId: 1,
    category: "sanctioned",
    caseNumberCommitment: f.caseNumberCommitment,
    confidence: 90,
    ...overrides,
  });

  const freezeOf = (f: Fixture, overrides: Partial<FreezeInput> = {}): FreezeInput => ({
    caseId: f.caseId,
    exchange: f.exchange.id,
    caseKey: f.caseKey,
    items: exits(2),
    traceCommitment: hashDocument("trace report F-1"),
    ...overrides,
  });

  it("publishes a label bound to the case and revokes it", async function () {
    const f = await networkHelpers.loadFixture(consortium);
    const labelId = await f.investigator.publishLabel(labelOf(f));
    expect(labelId).to.equal(1n);
    const l = await f.contracts.labels.getLabel(labelId);
    expect(l.subject).to.equal(ethers.getAddress(SUBJECT));
    expect(l.chainId).to.equal(1n);
    expect(l.category).to.equal(encodeBytes32String("sanctioned"));
    expect(l.caseId).to.equal(f.caseId);
    expect(l.author).to.equal(BigInt(f.police.id));
    expect(l.confidence).to.equal(90n);

    // Any participant role may label: a bank, on another chain, with confidence 100. It names the
    // case by its opener too; without it, the commitment names the bank's own case, and there is none.
    const unnamed = await rejection(
      f.provider.publishLabel(labelOf(f, { chainId: 137n, category: "money_mule" })),
    );
    expect(unnamed.message).to.equal(
      `UnknownCaseCommitment(caseOpener=${f.bank.id}, caseNumberCommitment=${f.caseNumberCommitment})`,
    );
    const bankLabel = await f.provider.publishLabel(
      labelOf(f, {
        chainId: 137n,
        category: "money_mule",
        confidence: 100,
        caseOpener: f.police.id,
      }),
    );
    expect(bankLabel).to.equal(2n);
    expect((await f.contracts.labels.getLabel(bankLabel)).author).to.equal(BigInt(f.bank.id));

    const receipt = await f.investigator.revokeLabel(labelId, 4);
    expect(receipt.status).to.equal(1);
    expect((await f.contracts.labels.getLabel(labelId)).revoked).to.equal(true);
    const [revoked] = await f.contracts.labels.queryFilter(
      f.contracts.labels.filters.LabelRevoked(labelId),
    );
    expect(revoked?.args.author).to.equal(BigInt(f.police.id));
    expect(revoked?.args.subject).to.equal(ethers.getAddress(SUBJECT));
    expect(revoked?.args.reasonCode).to.equal(4n);
    expect(revoked?.args.signer).to.equal(f.police.signer.address);
  });

  it("requests a freeze whose list travels off chain, answered and acknowledged by root", async function () {
    const f = await networkHelpers.loadFixture(consortium);
    const { freezeId, list } = await f.investigator.requestFreeze(freezeOf(f, { items: exits(3) }));
    expect(freezeId).to.equal(1n);
    expect(list.freezeId).to.equal(1n);
    expect(list.items.map((i) => i.amount)).to.deep.equal([1_000_000n, 2_000_000n, 3_000_000n]);
    // The list key is derived from the case key and the list's nonce; the case key is not in it.
    expect(list.key).to.equal(freezeListKey(f.caseKey, list.nonce));
    expect(freezeListJson(list)).to.not.include(f.caseKey.slice(2));
    const r = await f.contracts.freezes.getFreeze(freezeId);
    expect(r.caseId).to.equal(f.caseId);
    expect(r.requester).to.equal(BigInt(f.police.id));
    expect(r.exchange).to.equal(BigInt(f.exchange.id));
    expect(r.status).to.equal(FreezeStatus.Requested);
    expect(r.itemCount).to.equal(3n);
    expect(r.listRoot).to.equal(list.root);

    // The exchange receives the file, answers it, and hands its result back.
    const received = parseFreezeList(freezeListJson(list));
    if (received.kind !== "request") throw new Error("kind");
    const { result } = await f.desk.recordFrozen(
      received,
      [1_000_000n, 0, 1_500_000n],
      "freeze record #77",
    );
    expect(result.items.map((i) => [i.requested, i.frozen])).to.deep.equal([
      [1_000_000n, 1_000_000n],
      [2_000_000n, 0n],
      [3_000_000n, 1_500_000n],
    ]);
    const [executed] = await f.contracts.freezes.queryFilter(
      f.contracts.freezes.filters.FreezeExecuted(freezeId),
    );
    expect(executed?.args.listRoot).to.equal(list.root);
    expect(executed?.args.resultRoot).to.equal(result.root);
    expect(executed?.args.evidenceCommitment).to.equal(hashDocument("freeze record #77"));
    expect(executed?.args.signer).to.equal(f.exchange.signer.address);

    await f.investigator.acknowledgeFrozen(list, result);
    expect((await f.contracts.freezes.getFreeze(freezeId)).status).to.equal(
      FreezeStatus.Acknowledged,
    );

    // The native coin (token zero), then a rejection.
    const second = await f.investigator.requestFreeze(
      freezeOf(f, { items: exits(2, ZeroAddress) }),
    );
    expect(second.freezeId).to.equal(2n);
    await f.desk.rejectFreeze(second.freezeId, 3);
    expect((await f.contracts.freezes.getFreeze(second.freezeId)).status).to.equal(
      FreezeStatus.Rejected,
    );
  });

  it("refuses to build a result that freezes more than was requested", async function () {
    const f = await networkHelpers.loadFixture(consortium);
    const { list } = await f.investigator.requestFreeze(freezeOf(f));
    const before = await ethers.provider.getBlockNumber();
    const error = await rejection(f.desk.recordFrozen(list, [1_000_000n, 2_000_001n], "record"));
    expect(error).to.be.instanceOf(InputError);
    expect((error as InputError).field).to.equal("frozen[1]");
    expect(error.message).to.match(/2000001 is above the 2000000 requested for 0x0+1001/);
    expect(await ethers.provider.getBlockNumber()).to.equal(before);
  });

  it("refuses a received list that is not the one on chain, before sending anything", async function () {
    const f = await networkHelpers.loadFixture(consortium);
    const { list } = await f.investigator.requestFreeze(freezeOf(f));
    const before = await ethers.provider.getBlockNumber();
    const items = list.items.map((i, k) => (k === 0 ? { ...i, amount: i.amount + 1n } : i));
    const tampered = { ...list, items, root: freezeRequestRoot(list.key, items) };
    const error = await rejection(f.desk.recordFrozen(tampered, [0n, 0n], "record"));
    expect(error.message).to.match(
      /^freeze 1: the list's 2 items have root 0x[0-9a-f]{64}; the chain holds 2 items with root/,
    );
    expect(await ethers.provider.getBlockNumber()).to.equal(before);
  });

  it("refuses to acknowledge a result with an account not requested or frozen above requested", async function () {
    const f = await networkHelpers.loadFixture(consortium);
    const { list } = await f.investigator.requestFreeze(freezeOf(f));
    // A hostile exchange bypasses the client: its result adds an account and over-freezes.
    const items = [
      { ...(buildFreezeResultList(list, [0n, 0n]).items[0] as FrozenItem), frozen: 5_000_000n },
      {
        chainId: 1n,
        token: USDT,
        account: "0x0000000000000000000000000000000000009999",
        requested: 7n,
        frozen: 7n,
      },
    ];
    const result = {
      ...buildFreezeResultList(list, [0n, 0n]),
      items,
      root: freezeResultRoot(list.key, items),
    };
    await (
      await f.contracts.freezes
        .connect(f.exchange.signer)
        .recordFrozen(list.freezeId ?? 0n, list.root, result.root, hashDocument("record"))
    ).wait();
    const error = await rejection(f.investigator.acknowledgeFrozen(list, result));
    expect(error.message).to.equal(
      `freeze 1: ${list.items[0]?.account} (${USDT} on chain 1) is frozen-above-requested`,
    );
    expect(compareFreezeLists(list.items, result.items).map((c) => c.flags)).to.deep.equal([
      ["frozen-above-requested"],
      ["missing-from-result"],
      ["not-requested"],
    ]);
    expect((await f.contracts.freezes.getFreeze(1n)).status).to.equal(FreezeStatus.Executed);
  });

  it("names the contract's refusal with its values", async function () {
    const f = await networkHelpers.loadFixture(consortium);
    const labelId = await f.investigator.publishLabel(labelOf(f));
    const notAuthor = await rejection(f.provider.revokeLabel(labelId, 1));
    expect(notAuthor).to.be.instanceOf(ContractRevertError);
    expect(notAuthor.message).to.equal(`NotLabelAuthor(labelId=1, participantId=${f.bank.id})`);

    const { freezeId, list } = await f.investigator.requestFreeze(freezeOf(f));
    const otherExchange = new Exchange(f.contracts, f.bank.signer);
    const notExchange = await rejection(otherExchange.rejectFreeze(freezeId, 1));
    expect(notExchange.message).to.equal(
      `NotFreezeExchange(freezeId=1, participantId=${f.bank.id})`,
    );
    const other = freezeResultRoot(list.key, buildFreezeResultList(list, [1n, 1n]).items);
    const listMismatch = await rejection(
      withDecodedReverts(() =>
        f.contracts.freezes
          .connect(f.exchange.signer)
          .recordFrozen(freezeId, other, other, hashDocument("record")),
      ),
    );
    expect(listMismatch.message).to.equal(
      `ListRootMismatch(freezeId=1, expected=${list.root}, given=${other})`,
    );
    await f.desk.rejectFreeze(freezeId, 1);
    const answered = await rejection(f.desk.recordFrozen(list, [1n, 2n], "record"));
    expect(answered).to.be.instanceOf(ContractRevertError);
    expect((answered as ContractRevertError).errorName).to.equal("FreezeNotPending");
    expect((answered as ContractRevertError).args).to.deep.equal({
      freezeId: 1n,
      status: FreezeStatus.Rejected,
    });
    // A bank can't ask for a freeze: the kind check comes from the freeze registry.
    const bankAsks = new Investigator(f.contracts, f.bank.signer);
    const wrongKind = await rejection(bankAsks.requestFreeze(freezeOf(f)));
    expect((wrongKind as ContractRevertError).errorName).to.equal("WrongParticipantKind");
  });

  it("validates label inputs before sending anything", async function () {
    const f = await networkHelpers.loadFixture(consortium);
    const before = await ethers.provider.getBlockNumber();
    const cases: [Partial<LabelInput>, string, RegExp][] = [
      [{ subject: "0x8589" }, "subject", /not an address/],
      [{ subject: ZeroAddress }, "subject", /zero address/],
      [{ chainId: 0 }, "chainId", /0 is outside \[1, /],
      [{ chainId: 2n ** 64n }, "chainId", /outside/],
      [{ chainId: 1.5 }, "chainId", /not an integer/],
      [{ category: "Sanctioned" }, "category", /lower-case name/],
      [{ category: "" }, "category", /lower-case name/],
      [{ category: "has space" }, "category", /lower-case name/],
      [{ category: "a".repeat(32) }, "category", /at most 31/],
      [{ caseNumberCommitment: "0x00" }, "caseNumberCommitment", /32-byte/],
      [{ caseNumberCommitment: ZeroHash }, "caseNumberCommitment", /zero commitment/],
      [{ confidence: 101 }, "confidence", /101 is outside \[0, 100\]/],
      [{ confidence: -1 }, "confidence", /outside/],
    ];
    for (const [override, field, message] of cases) {
      const error = await rejection(f.investigator.publishLabel(labelOf(f, override)));
      expect(error, JSON.stringify(override, jsonBigint)).to.be.instanceOf(InputError);
      expect((error as InputError).field).to.equal(field);
      expect(error.message).to.match(message);
    }
    const revoke = await rejection(f.investigator.revokeLabel(1n, 70_000));
    expect((revoke as InputError).field).to.equal("reasonCode");
    expect(await ethers.provider.getBlockNumber()).to.equal(before);
  });

  it("validates freeze inputs before sending anything", async function () {
    const f = await networkHelpers.loadFixture(consortium);
    const before = await ethers.provider.getBlockNumber();
    const item = exits(1)[0] as FreezeInput["items"][number];
    const cases: [Partial<FreezeInput>, string, RegExp][] = [
      [{ exchange: 0 }, "exchange", /0 is outside/],
      [{ caseKey: "0x12" }, "caseKey", /32 bytes/],
      [{ items: [{ ...item, chainId: 0 }] }, "items[0].chainId", /0 is outside/],
      [{ items: [{ ...item, token: "USDT" }] }, "items[0].token", /not an address/],
      [{ items: [] }, "items", /1 to 256 items, 0 given/],
      [{ items: exits(MAX_FREEZE_ITEMS + 1) }, "items", /1 to 256 items, 257 given/],
      [{ items: [item, { ...item, account: ZeroAddress }] }, "items[1].account", /zero address/],
      [{ items: [{ ...item, account: "0x12" }] }, "items[0].account", /not an address/],
      [{ items: [{ ...item, amount: 0n }] }, "items[0].amount", /0 is outside \[1, /],
      [{ items: [{ ...item, amount: 2n ** 256n }] }, "items[0].amount", /outside/],
      [{ items: [item, { ...item, amount: 5n }] }, "items[1]", /listed twice/],
      [{ traceCommitment: ZeroHash }, "traceCommitment", /zero commitment/],
    ];
    for (const [override, field, message] of cases) {
      const error = await rejection(f.investigator.requestFreeze(freezeOf(f, override)));
      expect(error, JSON.stringify(override, jsonBigint)).to.be.instanceOf(InputError);
      expect((error as InputError).field).to.equal(field);
      expect(error.message).to.match(message);
    }
    const unsent = buildFreezeRequestList({
      caseId: f.caseId,
      exchange: f.exchange.id,
      caseKey: f.caseKey,
      items: exits(2),
    });
    const sent = { ...unsent, freezeId: 1n };
    const answers: [() => Promise<unknown>, string][] = [
      [() => f.desk.recordFrozen(unsent, [0n, 0n], "record"), "request"],
      [() => f.desk.recordFrozen(sent, [], "record"), "frozen"],
      [() => f.desk.recordFrozen(sent, [1n, 2n, 3n], "record"), "frozen"],
      [() => f.desk.recordFrozen(sent, [1n, -1n], "record"), "frozen[1]"],
      [() => f.desk.rejectFreeze(1n, -1), "reasonCode"],
    ];
    for (const [answer, field] of answers) {
      const error = await rejection(answer());
      expect(error).to.be.instanceOf(InputError);
      expect((error as InputError).field).to.equal(field);
    }
    expect(await ethers.provider.getBlockNumber()).to.equal(before);
  });
});

function jsonBigint(_key: string, value: unknown): unknown {
  return typeof value === "bigint" ? `${value}n` : value;
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (error) {
    if (error instanceof Error) return error;
    throw new Error(`rejected with a non-error: ${String(error)}`);
  }
  throw new Error("expected a rejection");
}
