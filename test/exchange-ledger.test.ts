import { expect } from "chai";
import { network } from "hardhat";
import {
  ContractRevertError,
  InputError,
  VeritraceError,
  gatewayUrlOf,
  generateEncryptionIdentity,
  hashDocument,
  ledgerOfferById,
  ledgerOfferOf,
  offerOnLedger,
  recordPurge,
  registerEncryptionKey,
  setGatewayUrl,
  type LedgerOfferInput,
} from "../src/client/index.js";
import { clientConsortium } from "./helpers/client-consortium.js";

const connection = await network.create();
const { ethers, networkHelpers } = connection;
const DAY = 86_400;

async function expectRevert(p: Promise<unknown>, pattern: RegExp): Promise<void> {
  try {
    await p;
  } catch (e) {
    expect(e).to.be.instanceOf(ContractRevertError);
    expect((e as Error).message).to.match(pattern);
    return;
  }
  expect.fail(`expected a revert matching ${pattern}`);
}

describe("client: the exchange ledger", function () {
  /** Police asks the bank under a case the prosecutor approved; the bank grants; police has a key. */
  async function consortium() {
    const { record, contracts, admit } = await clientConsortium(connection);
    const police = await admit("POLICE", 3);
    const prosecutor = await admit("PROSECUTOR", 4);
    const bank = await admit("BANK", 5);
    const telecom = await admit("TELECOM", 6);
    const now = (await ethers.provider.getBlock("latest"))?.timestamp ?? 0;
    await (
      await contracts.cases
        .connect(police.signer)
        .openCase(hashDocument("case"), hashDocument("basis"), 1n, now + 90 * DAY)
    ).wait();
    const caseId = await contracts.cases.caseCount();
    await (await contracts.cases.connect(prosecutor.signer).approveCase(caseId)).wait();
    await (
      await contracts.access.connect(bank.signer).registerDataset(0, hashDocument("schema"))
    ).wait();
    const [datasetId] = await contracts.access.counts();
    await (
      await contracts.access
        .connect(police.signer)
        .request(caseId, bank.id, datasetId, hashDocument("subject"), 1)
    ).wait();
    const [, requestId] = await contracts.access.counts();
    await (
      await contracts.access.connect(bank.signer).grant(requestId, now + 30 * DAY, 1000n)
    ).wait();
    const policeKey = await registerEncryptionKey(
      contracts,
      police.signer,
      (await generateEncryptionIdentity()).publicKey,
    );
    const offer: LedgerOfferInput = {
      requestId,
      sequence: 0,
      payloadHash: hashDocument("payload"),
      ciphertextHash: hashDocument("ciphertext"),
      ciphertextBytes: 1234n,
      recipientKeyId: policeKey.keyId,
      retentionSeconds: 7 * DAY,
    };
    return { record, contracts, police, bank, telecom, caseId, requestId, offer };
  }

  it("is in the deployment record, wired to the registries and the access ledger", async function () {
    const { record, contracts } = await networkHelpers.loadFixture(consortium);
    expect(record.contracts.ExchangeLedger).to.match(/^0x[0-9a-fA-F]{40}$/);
    expect(await contracts.exchangeLedger.registry()).to.equal(
      record.contracts.ParticipantRegistry,
    );
    expect(await contracts.exchangeLedger.cases()).to.equal(record.contracts.CaseRegistry);
    expect(await contracts.exchangeLedger.access()).to.equal(record.contracts.AccessLedger);
    expect(await contracts.exchangeLedger.keys()).to.equal(record.contracts.EncryptionKeyRegistry);
  });

  it("records an offer and reads it back, by delivery and by id", async function () {
    const { contracts, bank, police, caseId, requestId, offer } =
      await networkHelpers.loadFixture(consortium);
    const { offerId, receipt } = await offerOnLedger(contracts, bank.signer, offer);
    expect(offerId).to.equal(1n);
    await expect(receipt)
      .to.emit(contracts.exchangeLedger, "DeliveryOffered")
      .withArgs(
        requestId,
        bank.id,
        police.id,
        1n,
        caseId,
        0,
        offer.payloadHash,
        offer.ciphertextHash,
        1234n,
        offer.recipientKeyId,
        7 * DAY,
        bank.signer.address,
      );
    const read = await ledgerOfferOf(contracts, requestId, 0);
    expect(read).to.deep.include({
      offerId: 1n,
      requestId,
      sequence: 0,
      provider: bank.id,
      requester: police.id,
      state: "offered",
      payloadHash: offer.payloadHash,
      ciphertextHash: offer.ciphertextHash,
      ciphertextBytes: 1234n,
      recipientKeyId: offer.recipientKeyId,
      retentionSeconds: 7 * DAY,
      purgedAt: null,
      purgeReason: null,
    });
    expect(await ledgerOfferById(contracts, 1n)).to.deep.equal(read);
    expect(await ledgerOfferOf(contracts, requestId, 1)).to.equal(null);
  });

  it("records a purge once, with its reason", async function () {
    const { contracts, bank, police, caseId, requestId, offer } =
      await networkHelpers.loadFixture(consortium);
    await offerOnLedger(contracts, bank.signer, offer);
    const { receipt } = await recordPurge(contracts, bank.signer, requestId, 0, "revoked");
    await expect(receipt)
      .to.emit(contracts.exchangeLedger, "DeliveryPurged")
      .withArgs(requestId, bank.id, police.id, 1n, caseId, 0, 1, bank.signer.address);
    const read = await ledgerOfferOf(contracts, requestId, 0);
    expect(read?.state).to.equal("purged");
    expect(read?.purgeReason).to.equal("revoked");
    expect(read?.purgedAt).to.be.a("number");
    await expectRevert(
      recordPurge(contracts, bank.signer, requestId, 0, "retention"),
      /^OfferAlreadyPurged\(requestId=\d+, sequence=0, offerId=1\)$/,
    );
  });

  it("names each refusal: another institution, a third party's key, a replay, the requester's purge", async function () {
    const { contracts, bank, police, telecom, requestId, offer } =
      await networkHelpers.loadFixture(consortium);
    await expectRevert(
      offerOnLedger(contracts, telecom.signer, offer),
      new RegExp(`^NotRequestProvider\\(requestId=${requestId}, participantId=${telecom.id}\\)$`),
    );
    const telecomKey = await registerEncryptionKey(
      contracts,
      telecom.signer,
      (await generateEncryptionIdentity()).publicKey,
    );
    await expectRevert(
      offerOnLedger(contracts, bank.signer, { ...offer, recipientKeyId: telecomKey.keyId }),
      /^RecipientKeyNotCurrent\(requester=\d+, currentKeyId=1, recipientKeyId=2\)$/,
    );
    await offerOnLedger(contracts, bank.signer, offer);
    await expectRevert(
      offerOnLedger(contracts, bank.signer, offer),
      /^OfferStillLive\(requestId=\d+, sequence=0, offerId=1\)$/,
    );
    await expectRevert(
      recordPurge(contracts, police.signer, requestId, 0, "retention"),
      /^NotRequestProvider\(/,
    );
    await expectRevert(
      recordPurge(contracts, bank.signer, requestId, 5, "retention"),
      /^UnknownOffer\(requestId=\d+, sequence=5\)$/,
    );
  });

  it("refuses bad input before sending anything", async function () {
    const { contracts, bank, requestId, offer } = await networkHelpers.loadFixture(consortium);
    for (const [bad, field] of [
      [{ ...offer, ciphertextHash: `0x${"00".repeat(32)}` }, "ciphertextHash"],
      [{ ...offer, ciphertextBytes: 0n }, "ciphertextBytes"],
      [{ ...offer, sequence: -1 }, "sequence"],
      [{ ...offer, retentionSeconds: 2 ** 32 }, "retentionSeconds"],
    ] as const) {
      try {
        await offerOnLedger(contracts, bank.signer, bad);
        expect.fail(`expected an InputError on ${field}`);
      } catch (e) {
        expect(e).to.be.instanceOf(InputError);
        expect((e as InputError).field).to.equal(field);
      }
    }
    try {
      await recordPurge(contracts, bank.signer, requestId, 0, "whenever" as "retention");
      expect.fail("expected an InputError");
    } catch (e) {
      expect(e).to.be.instanceOf(InputError);
    }
    try {
      await ledgerOfferById(contracts, 9n);
      expect.fail("expected not-found");
    } catch (e) {
      expect((e as VeritraceError).kind).to.equal("not-found");
    }
  });

  it("publishes and withdraws a gateway URL", async function () {
    const { contracts, bank } = await networkHelpers.loadFixture(consortium);
    expect(await gatewayUrlOf(contracts, bank.id)).to.equal(null);
    await expect(setGatewayUrl(contracts, bank.signer, "https://gw.bank.example"))
      .to.emit(contracts.exchangeLedger, "GatewaySet")
      .withArgs(bank.id, "https://gw.bank.example", bank.signer.address);
    expect(await gatewayUrlOf(contracts, bank.id)).to.equal("https://gw.bank.example");
    await setGatewayUrl(contracts, bank.signer, "");
    expect(await gatewayUrlOf(contracts, bank.id)).to.equal(null);
    try {
      await setGatewayUrl(contracts, bank.signer, "ftp://gw.bank.example");
      expect.fail("expected an InputError");
    } catch (e) {
      expect(e).to.be.instanceOf(InputError);
    }
  });
});
