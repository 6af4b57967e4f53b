import { expect } from "chai";
import {
  TypedDataEncoder,
  Wallet,
  ZeroHash,
  keccak256,
  recoverAddress,
  toUtf8Bytes,
  verifyTypedData,
} from "ethers";
import { network } from "hardhat";
import {
  ParticipantStatus,
  RequestStatus,
  addSigningKey,
  ledgerDomain,
  openApprovedCase,
  openCase,
  signAs,
  suspend,
  typesOf,
  type Delivery,
  type PartySignature,
} from "./helpers/access.js";
import { DAY, DataKind, commitment, deployConsortium, scopeOf } from "./helpers/fixture.js";

const { ethers, networkHelpers } = await network.create();
const { time } = networkHelpers;

const SCOPE = scopeOf(DataKind.BankAccounts, DataKind.Transactions);
const CASE_DURATION = 30 * DAY;
const GRANT_DURATION = 10 * DAY;
const MAX_RECORDS = 100n;
const BANK_SCHEMA = commitment("schema: bank accounts v1");
const TELECOM_SCHEMA = commitment("schema: call records v1");
const SUBJECT = commitment("subject: account holder 42");
const PURPOSE = 7;
const REASON = 3;

/** The consortium, an approved case (bank accounts and transactions) and two datasets. */
async function deployLedger() {
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
  // Dataset 1: the bank's accounts (in scope). Dataset 2: the telecom's call records (not).
  await (await c.access.connect(c.bank).registerDataset(DataKind.BankAccounts, BANK_SCHEMA)).wait();
  await (
    await c.access.connect(c.telecom).registerDataset(DataKind.CallRecords, TELECOM_SCHEMA)
  ).wait();
  const { chainId } = await ethers.provider.getNetwork();
  const domain = ledgerDomain(chainId, await c.access.getAddress());
  const relayer = c.others[0];
  if (relayer === undefined) throw new Error("relayer");
  return {
    ...c,
    caseId,
    caseExpiry,
    chainId,
    domain,
    relayer,
    datasets: { bank: 1n, telecom: 2n },
  };
}

/** deployLedger, plus request 1: the police asks the bank for dataset 1. */
async function deployRequested() {
  const f = await deployLedger();
  await (
    await f.access
      .connect(f.police)
      .request(f.caseId, f.ids.bank, f.datasets.bank, SUBJECT, PURPOSE)
  ).wait();
  return { ...f, requestId: 1n };
}

/** deployRequested, plus the bank's grant of request 1 for GRANT_DURATION and MAX_RECORDS. */
async function deployGranted() {
  const f = await deployRequested();
  const grantExpiry = (await time.latest()) + GRANT_DURATION;
  await (await f.access.connect(f.bank).grant(f.requestId, grantExpiry, MAX_RECORDS)).wait();
  return { ...f, grantExpiry };
}

type Granted = Awaited<ReturnType<typeof deployGranted>>;

/** A delivery under the granted request, with defaults that the tests override. */
function deliveryOf(f: Granted, overrides: Partial<Delivery> = {}): Delivery {
  return {
    requestId: f.requestId,
    sequence: 0n,
    payloadHash: commitment("payload 0"),
    recordCount: 10n,
    deadline: BigInt(f.grantExpiry),
    ...overrides,
  };
}

/** The provider's and the requester's signatures of `d` by their first keys. */
async function cosign(f: Granted, d: Delivery): Promise<[PartySignature, PartySignature]> {
  return [
    await signAs("Delivery", f.bank, f.domain, d),
    await signAs("Acknowledgement", f.police, f.domain, d),
  ];
}

/** Signs `d` by both parties and submits it as the relayer. */
async function attest(f: Granted, d: Delivery) {
  const [p, r] = await cosign(f, d);
  return f.access.connect(f.relayer).attestDelivery(d, p, r);
}

const asTuple = (d: Delivery) => [
  d.requestId,
  d.sequence,
  d.payloadHash,
  d.recordCount,
  d.deadline,
];

describe("AccessLedger", function () {
  describe("constructor", function () {
    it("binds the participant and case registries", async function () {
      const { access, registry, cases } = await networkHelpers.loadFixture(deployLedger);
      expect(await access.registry()).to.equal(await registry.getAddress());
      expect(await access.cases()).to.equal(await cases.getAddress());
    });

    it("exposes the EIP-712 domain 'Veritrace Access Ledger' version 1 (ERC-5267)", async function () {
      const { access, chainId } = await networkHelpers.loadFixture(deployLedger);
      const domain = await access.eip712Domain();
      expect(domain.name).to.equal("Veritrace Access Ledger");
      expect(domain.version).to.equal("1");
      expect(domain.chainId).to.equal(chainId);
      expect(domain.verifyingContract).to.equal(await access.getAddress());
    });

    it("declares the Delivery and Acknowledgement type hashes of the signed struct", async function () {
      const { access } = await networkHelpers.loadFixture(deployLedger);
      const encodeType = (type: "Delivery" | "Acknowledgement") =>
        keccak256(toUtf8Bytes(TypedDataEncoder.from(typesOf(type)).encodeType(type)));
      expect(await access.DELIVERY_TYPEHASH()).to.equal(encodeType("Delivery"));
      expect(await access.ACKNOWLEDGEMENT_TYPEHASH()).to.equal(encodeType("Acknowledgement"));
    });
  });

  describe("registerDataset", function () {
    it("records an active dataset of the caller's participant and emits DatasetRegistered", async function () {
      const { access, bank, ids } = await networkHelpers.loadFixture(deployLedger);
      const schema = commitment("schema: transactions v2");
      await expect(access.connect(bank).registerDataset(DataKind.Transactions, schema))
        .to.emit(access, "DatasetRegistered")
        .withArgs(3n, ids.bank, DataKind.Transactions, schema, bank.address);
      const d = await access.dataset(3n);
      expect(d.provider).to.equal(ids.bank);
      expect(d.dataKind).to.equal(DataKind.Transactions);
      expect(d.active).to.equal(true);
      expect(d.schemaCommitment).to.equal(schema);
    });

    it("numbers datasets from 1 in order and counts them", async function () {
      const { access, bank, ids } = await networkHelpers.loadFixture(deployLedger);
      expect((await access.counts()).datasets).to.equal(2n);
      await expect(access.connect(bank).registerDataset(DataKind.Transactions, BANK_SCHEMA))
        .to.emit(access, "DatasetRegistered")
        .withArgs(3n, ids.bank, DataKind.Transactions, BANK_SCHEMA, bank.address);
      expect((await access.counts()).datasets).to.equal(3n);
    });

    it("accepts any data kind of the uint8 range", async function () {
      const { access, telecom, ids } = await networkHelpers.loadFixture(deployLedger);
      await expect(access.connect(telecom).registerDataset(255, TELECOM_SCHEMA))
        .to.emit(access, "DatasetRegistered")
        .withArgs(3n, ids.telecom, 255, TELECOM_SCHEMA, telecom.address);
    });

    it("credits the participant, not the key, when sent by a further signing key", async function () {
      const { access, registry, council, others, ids } =
        await networkHelpers.loadFixture(deployLedger);
      const key = others[1];
      if (key === undefined) throw new Error("signer");
      await addSigningKey(registry, council, ids.bank, key.address);
      await expect(access.connect(key).registerDataset(DataKind.Transactions, BANK_SCHEMA))
        .to.emit(access, "DatasetRegistered")
        .withArgs(3n, ids.bank, DataKind.Transactions, BANK_SCHEMA, key.address);
    });

    it("reverts with ZeroCommitment when the schema commitment is zero", async function () {
      const { access, bank } = await networkHelpers.loadFixture(deployLedger);
      await expect(access.connect(bank).registerDataset(DataKind.Transactions, ZeroHash))
        .to.be.revertedWithCustomError(access, "ZeroCommitment")
        .withArgs("schemaCommitment");
    });

    it("reverts with UnknownSigningKey when the caller is not a participant's key", async function () {
      const { access, registry, relayer } = await networkHelpers.loadFixture(deployLedger);
      await expect(access.connect(relayer).registerDataset(DataKind.Transactions, BANK_SCHEMA))
        .to.be.revertedWithCustomError(registry, "UnknownSigningKey")
        .withArgs(relayer.address);
    });

    it("reverts with ParticipantNotActive when the caller's participant is suspended", async function () {
      const { access, registry, council, bank, ids } =
        await networkHelpers.loadFixture(deployLedger);
      await suspend(registry, council, ids.bank);
      await expect(access.connect(bank).registerDataset(DataKind.Transactions, BANK_SCHEMA))
        .to.be.revertedWithCustomError(registry, "ParticipantNotActive")
        .withArgs(ids.bank, ParticipantStatus.Suspended);
    });

    it("reverts with ConsortiumPaused while the consortium is paused", async function () {
      const { access, registry, council, bank } = await networkHelpers.loadFixture(deployLedger);
      await registry.connect(council[0]).pause();
      await expect(
        access.connect(bank).registerDataset(DataKind.Transactions, BANK_SCHEMA),
      ).to.be.revertedWithCustomError(access, "ConsortiumPaused");
    });
  });

  describe("retireDataset", function () {
    it("deactivates the dataset and emits DatasetRetired", async function () {
      const { access, bank, ids, datasets } = await networkHelpers.loadFixture(deployLedger);
      await expect(access.connect(bank).retireDataset(datasets.bank))
        .to.emit(access, "DatasetRetired")
        .withArgs(datasets.bank, ids.bank, bank.address);
      const d = await access.dataset(datasets.bank);
      expect(d.active).to.equal(false);
      expect(d.provider).to.equal(ids.bank);
      expect(d.schemaCommitment).to.equal(BANK_SCHEMA);
    });

    it("leaves requests made before it untouched: they can still be granted", async function () {
      const { access, bank, requestId, caseExpiry, datasets } =
        await networkHelpers.loadFixture(deployRequested);
      await access.connect(bank).retireDataset(datasets.bank);
      await expect(access.connect(bank).grant(requestId, caseExpiry, MAX_RECORDS)).to.emit(
        access,
        "AccessGranted",
      );
    });

    it("reverts with UnknownDataset when the dataset does not exist", async function () {
      const { access, bank } = await networkHelpers.loadFixture(deployLedger);
      await expect(access.connect(bank).retireDataset(99n))
        .to.be.revertedWithCustomError(access, "UnknownDataset")
        .withArgs(99n);
    });

    it("reverts with NotDatasetProvider when the caller is not the dataset's provider", async function () {
      const { access, telecom, ids, datasets } = await networkHelpers.loadFixture(deployLedger);
      await expect(access.connect(telecom).retireDataset(datasets.bank))
        .to.be.revertedWithCustomError(access, "NotDatasetProvider")
        .withArgs(datasets.bank, ids.telecom);
    });

    it("reverts with DatasetNotOffered when the dataset is already retired", async function () {
      const { access, bank, ids, datasets } = await networkHelpers.loadFixture(deployLedger);
      await access.connect(bank).retireDataset(datasets.bank);
      await expect(access.connect(bank).retireDataset(datasets.bank))
        .to.be.revertedWithCustomError(access, "DatasetNotOffered")
        .withArgs(datasets.bank, ids.bank);
    });

    it("reverts with UnknownSigningKey when the caller is not a participant's key", async function () {
      const { access, registry, relayer, datasets } =
        await networkHelpers.loadFixture(deployLedger);
      await expect(access.connect(relayer).retireDataset(datasets.bank))
        .to.be.revertedWithCustomError(registry, "UnknownSigningKey")
        .withArgs(relayer.address);
    });

    it("reverts with ConsortiumPaused while the consortium is paused", async function () {
      const { access, registry, council, bank, datasets } =
        await networkHelpers.loadFixture(deployLedger);
      await registry.connect(council[0]).pause();
      await expect(access.connect(bank).retireDataset(datasets.bank)).to.be.revertedWithCustomError(
        access,
        "ConsortiumPaused",
      );
    });
  });

  describe("request", function () {
    it("records a pending request by the case's opener and emits AccessRequested", async function () {
      const { access, police, ids, caseId, datasets } =
        await networkHelpers.loadFixture(deployLedger);
      await expect(
        access.connect(police).request(caseId, ids.bank, datasets.bank, SUBJECT, PURPOSE),
      )
        .to.emit(access, "AccessRequested")
        .withArgs(
          1n,
          caseId,
          ids.bank,
          ids.police,
          datasets.bank,
          DataKind.BankAccounts,
          SUBJECT,
          PURPOSE,
          police.address,
        );
      const r = await access.getRequest(1n);
      expect(r.caseId).to.equal(caseId);
      expect(r.requester).to.equal(ids.police);
      expect(r.provider).to.equal(ids.bank);
      expect(r.datasetId).to.equal(datasets.bank);
      expect(r.status).to.equal(RequestStatus.Pending);
      expect(r.grantExpiresAt).to.equal(0n);
      expect(r.maxRecords).to.equal(0n);
      expect(r.deliveredRecords).to.equal(0n);
      expect(r.deliveries).to.equal(0n);
      expect((await access.counts()).requests).to.equal(1n);
    });

    it("reverts with SelfRequest when the requester asks its own dataset", async function () {
      const { access, police, ids, caseId } = await networkHelpers.loadFixture(deployLedger);
      await (
        await access.connect(police).registerDataset(DataKind.BankAccounts, BANK_SCHEMA)
      ).wait();
      await expect(access.connect(police).request(caseId, ids.police, 3n, SUBJECT, PURPOSE))
        .to.be.revertedWithCustomError(access, "SelfRequest")
        .withArgs(ids.police);
    });

    it("accepts a request by the case's approver", async function () {
      const { access, prosecutor, ids, caseId, datasets } =
        await networkHelpers.loadFixture(deployLedger);
      await expect(
        access.connect(prosecutor).request(caseId, ids.bank, datasets.bank, SUBJECT, PURPOSE),
      )
        .to.emit(access, "AccessRequested")
        .withArgs(
          1n,
          caseId,
          ids.bank,
          ids.prosecutor,
          datasets.bank,
          DataKind.BankAccounts,
          SUBJECT,
          PURPOSE,
          prosecutor.address,
        );
      expect((await access.getRequest(1n)).requester).to.equal(ids.prosecutor);
    });

    it("numbers requests from 1 in order", async function () {
      const { access, prosecutor, ids, caseId, datasets } =
        await networkHelpers.loadFixture(deployRequested);
      await expect(
        access.connect(prosecutor).request(caseId, ids.bank, datasets.bank, SUBJECT, PURPOSE),
      )
        .to.emit(access, "AccessRequested")
        .withArgs(
          2n,
          caseId,
          ids.bank,
          ids.prosecutor,
          datasets.bank,
          DataKind.BankAccounts,
          SUBJECT,
          PURPOSE,
          prosecutor.address,
        );
      expect((await access.counts()).requests).to.equal(2n);
      expect((await access.getRequest(1n)).requester).to.equal(ids.police);
    });

    it("reverts with UnknownCase when the case does not exist", async function () {
      const { access, cases, police, ids, datasets } =
        await networkHelpers.loadFixture(deployLedger);
      await expect(access.connect(police).request(99n, ids.bank, datasets.bank, SUBJECT, PURPOSE))
        .to.be.revertedWithCustomError(cases, "UnknownCase")
        .withArgs(99n);
    });

    it("reverts with CaseNotApproved when the case is not approved yet", async function () {
      const { access, cases, police, ids, datasets } =
        await networkHelpers.loadFixture(deployLedger);
      const pending = await openCase(
        cases,
        police,
        "CASE-2",
        SCOPE,
        (await time.latest()) + CASE_DURATION,
      );
      await expect(
        access.connect(police).request(pending, ids.bank, datasets.bank, SUBJECT, PURPOSE),
      )
        .to.be.revertedWithCustomError(cases, "CaseNotApproved")
        .withArgs(pending);
    });

    it("reverts with CaseIsClosed when the case is closed", async function () {
      const { access, cases, police, ids, caseId, datasets } =
        await networkHelpers.loadFixture(deployLedger);
      await cases.connect(police).closeCase(caseId, REASON);
      await expect(
        access.connect(police).request(caseId, ids.bank, datasets.bank, SUBJECT, PURPOSE),
      )
        .to.be.revertedWithCustomError(cases, "CaseIsClosed")
        .withArgs(caseId);
    });

    it("reverts with CaseExpired from the case's expiry on", async function () {
      const { access, cases, police, ids, caseId, caseExpiry, datasets } =
        await networkHelpers.loadFixture(deployLedger);
      await time.setNextBlockTimestamp(caseExpiry);
      await expect(
        access.connect(police).request(caseId, ids.bank, datasets.bank, SUBJECT, PURPOSE),
      )
        .to.be.revertedWithCustomError(cases, "CaseExpired")
        .withArgs(caseId, caseExpiry);
    });

    it("reverts with NotCaseParty when the requester is neither opener nor approver", async function () {
      const { access, telecom, ids, caseId, datasets } =
        await networkHelpers.loadFixture(deployLedger);
      await expect(
        access.connect(telecom).request(caseId, ids.bank, datasets.bank, SUBJECT, PURPOSE),
      )
        .to.be.revertedWithCustomError(access, "NotCaseParty")
        .withArgs(caseId, ids.telecom);
    });

    it("reverts with ParticipantNotActive when the requester is suspended", async function () {
      const { access, registry, council, police, ids, caseId, datasets } =
        await networkHelpers.loadFixture(deployLedger);
      await suspend(registry, council, ids.police);
      await expect(
        access.connect(police).request(caseId, ids.bank, datasets.bank, SUBJECT, PURPOSE),
      )
        .to.be.revertedWithCustomError(registry, "ParticipantNotActive")
        .withArgs(ids.police, ParticipantStatus.Suspended);
    });

    it("reverts with UnknownSigningKey when the caller is not a participant's key", async function () {
      const { access, registry, relayer, ids, caseId, datasets } =
        await networkHelpers.loadFixture(deployLedger);
      await expect(
        access.connect(relayer).request(caseId, ids.bank, datasets.bank, SUBJECT, PURPOSE),
      )
        .to.be.revertedWithCustomError(registry, "UnknownSigningKey")
        .withArgs(relayer.address);
    });

    it("reverts with ProviderNotActive when the provider is suspended", async function () {
      const { access, registry, council, police, ids, caseId, datasets } =
        await networkHelpers.loadFixture(deployLedger);
      await suspend(registry, council, ids.bank);
      await expect(
        access.connect(police).request(caseId, ids.bank, datasets.bank, SUBJECT, PURPOSE),
      )
        .to.be.revertedWithCustomError(access, "ProviderNotActive")
        .withArgs(ids.bank);
    });

    it("reverts with ProviderNotActive when the provider does not exist", async function () {
      const { access, police, caseId, datasets } = await networkHelpers.loadFixture(deployLedger);
      await expect(access.connect(police).request(caseId, 99, datasets.bank, SUBJECT, PURPOSE))
        .to.be.revertedWithCustomError(access, "ProviderNotActive")
        .withArgs(99);
    });

    it("reverts with DatasetNotOffered when the dataset belongs to another provider", async function () {
      const { access, police, ids, caseId, datasets } =
        await networkHelpers.loadFixture(deployLedger);
      await expect(
        access.connect(police).request(caseId, ids.bank, datasets.telecom, SUBJECT, PURPOSE),
      )
        .to.be.revertedWithCustomError(access, "DatasetNotOffered")
        .withArgs(datasets.telecom, ids.bank);
    });

    it("reverts with DatasetNotOffered when the dataset is retired", async function () {
      const { access, police, bank, ids, caseId, datasets } =
        await networkHelpers.loadFixture(deployLedger);
      await access.connect(bank).retireDataset(datasets.bank);
      await expect(
        access.connect(police).request(caseId, ids.bank, datasets.bank, SUBJECT, PURPOSE),
      )
        .to.be.revertedWithCustomError(access, "DatasetNotOffered")
        .withArgs(datasets.bank, ids.bank);
    });

    it("reverts with DatasetNotOffered when the dataset does not exist", async function () {
      const { access, police, ids, caseId } = await networkHelpers.loadFixture(deployLedger);
      await expect(access.connect(police).request(caseId, ids.bank, 99n, SUBJECT, PURPOSE))
        .to.be.revertedWithCustomError(access, "DatasetNotOffered")
        .withArgs(99n, ids.bank);
    });

    it("reverts with DataKindOutOfScope when the dataset's kind is outside the case's scope", async function () {
      const { access, police, ids, caseId, datasets } =
        await networkHelpers.loadFixture(deployLedger);
      await expect(
        access.connect(police).request(caseId, ids.telecom, datasets.telecom, SUBJECT, PURPOSE),
      )
        .to.be.revertedWithCustomError(access, "DataKindOutOfScope")
        .withArgs(caseId, DataKind.CallRecords, SCOPE);
    });

    it("reverts with ZeroCommitment when the subject commitment is zero", async function () {
      const { access, police, ids, caseId, datasets } =
        await networkHelpers.loadFixture(deployLedger);
      await expect(
        access.connect(police).request(caseId, ids.bank, datasets.bank, ZeroHash, PURPOSE),
      )
        .to.be.revertedWithCustomError(access, "ZeroCommitment")
        .withArgs("subjectCommitment");
    });

    it("reverts with ConsortiumPaused while the consortium is paused", async function () {
      const { access, registry, council, police, ids, caseId, datasets } =
        await networkHelpers.loadFixture(deployLedger);
      await registry.connect(council[0]).pause();
      await expect(
        access.connect(police).request(caseId, ids.bank, datasets.bank, SUBJECT, PURPOSE),
      ).to.be.revertedWithCustomError(access, "ConsortiumPaused");
    });
  });

  describe("grant", function () {
    it("grants the pending request and emits AccessGranted", async function () {
      const { access, bank, ids, caseId, requestId } =
        await networkHelpers.loadFixture(deployRequested);
      const expiresAt = (await time.latest()) + GRANT_DURATION;
      await expect(access.connect(bank).grant(requestId, expiresAt, MAX_RECORDS))
        .to.emit(access, "AccessGranted")
        .withArgs(requestId, caseId, ids.bank, expiresAt, MAX_RECORDS, bank.address);
      const r = await access.getRequest(requestId);
      expect(r.status).to.equal(RequestStatus.Granted);
      expect(r.grantExpiresAt).to.equal(expiresAt);
      expect(r.maxRecords).to.equal(MAX_RECORDS);
      expect(r.deliveredRecords).to.equal(0n);
      expect(r.deliveries).to.equal(0n);
    });

    it("accepts an expiry equal to the case's expiry", async function () {
      const { access, bank, ids, caseId, caseExpiry, requestId } =
        await networkHelpers.loadFixture(deployRequested);
      await expect(access.connect(bank).grant(requestId, caseExpiry, 1n))
        .to.emit(access, "AccessGranted")
        .withArgs(requestId, caseId, ids.bank, caseExpiry, 1n, bank.address);
    });

    it("accepts an expiry one second after the grant's block", async function () {
      const { access, bank, requestId } = await networkHelpers.loadFixture(deployRequested);
      const now = (await time.latest()) + 10;
      await time.setNextBlockTimestamp(now);
      await expect(access.connect(bank).grant(requestId, now + 1, 1n)).to.emit(
        access,
        "AccessGranted",
      );
    });

    it("reverts with InvalidGrantExpiry when the expiry is not after the grant's block", async function () {
      const { access, bank, caseExpiry, requestId } =
        await networkHelpers.loadFixture(deployRequested);
      const now = (await time.latest()) + 10;
      await time.setNextBlockTimestamp(now);
      await expect(access.connect(bank).grant(requestId, now, MAX_RECORDS))
        .to.be.revertedWithCustomError(access, "InvalidGrantExpiry")
        .withArgs(now, caseExpiry);
    });

    it("reverts with InvalidGrantExpiry when the expiry is after the case's expiry", async function () {
      const { access, bank, caseExpiry, requestId } =
        await networkHelpers.loadFixture(deployRequested);
      await expect(access.connect(bank).grant(requestId, caseExpiry + 1, MAX_RECORDS))
        .to.be.revertedWithCustomError(access, "InvalidGrantExpiry")
        .withArgs(caseExpiry + 1, caseExpiry);
    });

    it("reverts with ZeroMaxRecords when the grant allows no record", async function () {
      const { access, bank, caseExpiry, requestId } =
        await networkHelpers.loadFixture(deployRequested);
      await expect(
        access.connect(bank).grant(requestId, caseExpiry, 0n),
      ).to.be.revertedWithCustomError(access, "ZeroMaxRecords");
    });

    it("reverts with NotRequestProvider when the caller is not the provider asked", async function () {
      const { access, telecom, ids, caseExpiry, requestId } =
        await networkHelpers.loadFixture(deployRequested);
      await expect(access.connect(telecom).grant(requestId, caseExpiry, MAX_RECORDS))
        .to.be.revertedWithCustomError(access, "NotRequestProvider")
        .withArgs(requestId, ids.telecom);
    });

    it("reverts with NotRequestProvider when the requester grants its own request", async function () {
      const { access, police, ids, caseExpiry, requestId } =
        await networkHelpers.loadFixture(deployRequested);
      await expect(access.connect(police).grant(requestId, caseExpiry, MAX_RECORDS))
        .to.be.revertedWithCustomError(access, "NotRequestProvider")
        .withArgs(requestId, ids.police);
    });

    it("reverts with RequestNotPending when the request is already granted", async function () {
      const { access, bank, caseExpiry, requestId } =
        await networkHelpers.loadFixture(deployGranted);
      await expect(access.connect(bank).grant(requestId, caseExpiry, MAX_RECORDS))
        .to.be.revertedWithCustomError(access, "RequestNotPending")
        .withArgs(requestId, RequestStatus.Granted);
    });

    it("reverts with RequestNotPending when the request was denied", async function () {
      const { access, bank, caseExpiry, requestId } =
        await networkHelpers.loadFixture(deployRequested);
      await access.connect(bank).deny(requestId, REASON);
      await expect(access.connect(bank).grant(requestId, caseExpiry, MAX_RECORDS))
        .to.be.revertedWithCustomError(access, "RequestNotPending")
        .withArgs(requestId, RequestStatus.Denied);
    });

    it("reverts with UnknownRequest when the request does not exist", async function () {
      const { access, bank, caseExpiry } = await networkHelpers.loadFixture(deployRequested);
      await expect(access.connect(bank).grant(99n, caseExpiry, MAX_RECORDS))
        .to.be.revertedWithCustomError(access, "UnknownRequest")
        .withArgs(99n);
    });

    it("reverts with CaseIsClosed when the case was closed after the request", async function () {
      const { access, cases, police, bank, caseId, caseExpiry, requestId } =
        await networkHelpers.loadFixture(deployRequested);
      await cases.connect(police).closeCase(caseId, REASON);
      await expect(access.connect(bank).grant(requestId, caseExpiry, MAX_RECORDS))
        .to.be.revertedWithCustomError(cases, "CaseIsClosed")
        .withArgs(caseId);
    });

    it("reverts with UnknownSigningKey when the caller is not a participant's key", async function () {
      const { access, registry, relayer, caseExpiry, requestId } =
        await networkHelpers.loadFixture(deployRequested);
      await expect(access.connect(relayer).grant(requestId, caseExpiry, MAX_RECORDS))
        .to.be.revertedWithCustomError(registry, "UnknownSigningKey")
        .withArgs(relayer.address);
    });

    it("reverts with ConsortiumPaused while the consortium is paused", async function () {
      const { access, registry, council, bank, caseExpiry, requestId } =
        await networkHelpers.loadFixture(deployRequested);
      await registry.connect(council[0]).pause();
      await expect(
        access.connect(bank).grant(requestId, caseExpiry, MAX_RECORDS),
      ).to.be.revertedWithCustomError(access, "ConsortiumPaused");
    });
  });

  describe("deny", function () {
    it("denies the pending request and emits AccessDenied", async function () {
      const { access, bank, ids, caseId, requestId } =
        await networkHelpers.loadFixture(deployRequested);
      await expect(access.connect(bank).deny(requestId, REASON))
        .to.emit(access, "AccessDenied")
        .withArgs(requestId, caseId, ids.bank, REASON, bank.address);
      const r = await access.getRequest(requestId);
      expect(r.status).to.equal(RequestStatus.Denied);
      expect(r.maxRecords).to.equal(0n);
    });

    it("reverts with NotRequestProvider when the caller is not the provider asked", async function () {
      const { access, telecom, ids, requestId } = await networkHelpers.loadFixture(deployRequested);
      await expect(access.connect(telecom).deny(requestId, REASON))
        .to.be.revertedWithCustomError(access, "NotRequestProvider")
        .withArgs(requestId, ids.telecom);
    });

    it("reverts with RequestNotPending when the request is already denied", async function () {
      const { access, bank, requestId } = await networkHelpers.loadFixture(deployRequested);
      await access.connect(bank).deny(requestId, REASON);
      await expect(access.connect(bank).deny(requestId, REASON))
        .to.be.revertedWithCustomError(access, "RequestNotPending")
        .withArgs(requestId, RequestStatus.Denied);
    });

    it("reverts with RequestNotPending when the request is granted", async function () {
      const { access, bank, requestId } = await networkHelpers.loadFixture(deployGranted);
      await expect(access.connect(bank).deny(requestId, REASON))
        .to.be.revertedWithCustomError(access, "RequestNotPending")
        .withArgs(requestId, RequestStatus.Granted);
    });

    it("reverts with UnknownRequest when the request does not exist", async function () {
      const { access, bank } = await networkHelpers.loadFixture(deployRequested);
      await expect(access.connect(bank).deny(99n, REASON))
        .to.be.revertedWithCustomError(access, "UnknownRequest")
        .withArgs(99n);
    });

    it("is accepted after the case was closed, so no request stays pending", async function () {
      const { access, cases, police, bank, ids, caseId, requestId } =
        await networkHelpers.loadFixture(deployRequested);
      await cases.connect(police).closeCase(caseId, REASON);
      await expect(access.connect(bank).deny(requestId, REASON))
        .to.emit(access, "AccessDenied")
        .withArgs(requestId, caseId, ids.bank, REASON, bank.address);
    });

    it("reverts with ConsortiumPaused while the consortium is paused", async function () {
      const { access, registry, council, bank, requestId } =
        await networkHelpers.loadFixture(deployRequested);
      await registry.connect(council[0]).pause();
      await expect(access.connect(bank).deny(requestId, REASON)).to.be.revertedWithCustomError(
        access,
        "ConsortiumPaused",
      );
    });
  });

  describe("withdrawRequest", function () {
    it("withdraws the pending request and emits AccessRequestWithdrawn", async function () {
      const { access, police, ids, caseId, requestId } =
        await networkHelpers.loadFixture(deployRequested);
      await expect(access.connect(police).withdrawRequest(requestId))
        .to.emit(access, "AccessRequestWithdrawn")
        .withArgs(requestId, caseId, ids.police, ids.bank, police.address);
      const r = await access.getRequest(requestId);
      expect(r.status).to.equal(RequestStatus.Withdrawn);
      expect(r.maxRecords).to.equal(0n);
    });

    it("accepts any active key of the requester", async function () {
      const { access, registry, council, others, ids, requestId } =
        await networkHelpers.loadFixture(deployRequested);
      const spare = others[1];
      if (spare === undefined) throw new Error("spare");
      await addSigningKey(registry, council, ids.police, spare.address);
      await expect(access.connect(spare).withdrawRequest(requestId))
        .to.emit(access, "AccessRequestWithdrawn")
        .withArgs(requestId, 1n, ids.police, ids.bank, spare.address);
    });

    it("reverts with RequestNotPending when the provider grants after the withdrawal", async function () {
      // The provider's grant was sent before it saw the withdrawal, and is mined after it.
      const { access, police, bank, requestId } = await networkHelpers.loadFixture(deployRequested);
      await access.connect(police).withdrawRequest(requestId);
      const grantExpiry = (await time.latest()) + GRANT_DURATION;
      await expect(access.connect(bank).grant(requestId, grantExpiry, MAX_RECORDS))
        .to.be.revertedWithCustomError(access, "RequestNotPending")
        .withArgs(requestId, RequestStatus.Withdrawn);
      expect((await access.getRequest(requestId)).status).to.equal(RequestStatus.Withdrawn);
    });

    it("reverts with RequestNotPending when the provider denies after the withdrawal", async function () {
      const { access, police, bank, requestId } = await networkHelpers.loadFixture(deployRequested);
      await access.connect(police).withdrawRequest(requestId);
      await expect(access.connect(bank).deny(requestId, REASON))
        .to.be.revertedWithCustomError(access, "RequestNotPending")
        .withArgs(requestId, RequestStatus.Withdrawn);
    });

    it("reverts with RequestNotPending when the request was granted first (the grant wins)", async function () {
      const { access, police, requestId } = await networkHelpers.loadFixture(deployGranted);
      await expect(access.connect(police).withdrawRequest(requestId))
        .to.be.revertedWithCustomError(access, "RequestNotPending")
        .withArgs(requestId, RequestStatus.Granted);
    });

    it("reverts with RequestNotPending when the request is already withdrawn", async function () {
      const { access, police, requestId } = await networkHelpers.loadFixture(deployRequested);
      await access.connect(police).withdrawRequest(requestId);
      await expect(access.connect(police).withdrawRequest(requestId))
        .to.be.revertedWithCustomError(access, "RequestNotPending")
        .withArgs(requestId, RequestStatus.Withdrawn);
    });

    it("reverts with NotRequester when the provider withdraws", async function () {
      const { access, bank, ids, requestId } = await networkHelpers.loadFixture(deployRequested);
      await expect(access.connect(bank).withdrawRequest(requestId))
        .to.be.revertedWithCustomError(access, "NotRequester")
        .withArgs(requestId, ids.bank);
    });

    it("reverts with NotRequester when the case's other party withdraws", async function () {
      const { access, prosecutor, ids, requestId } =
        await networkHelpers.loadFixture(deployRequested);
      await expect(access.connect(prosecutor).withdrawRequest(requestId))
        .to.be.revertedWithCustomError(access, "NotRequester")
        .withArgs(requestId, ids.prosecutor);
    });

    it("reverts with UnknownRequest when the request does not exist", async function () {
      const { access, police } = await networkHelpers.loadFixture(deployRequested);
      await expect(access.connect(police).withdrawRequest(99n))
        .to.be.revertedWithCustomError(access, "UnknownRequest")
        .withArgs(99n);
    });

    it("reverts with ParticipantNotActive when the requester is suspended", async function () {
      const { access, registry, council, police, ids, requestId } =
        await networkHelpers.loadFixture(deployRequested);
      await suspend(registry, council, ids.police);
      await expect(access.connect(police).withdrawRequest(requestId))
        .to.be.revertedWithCustomError(registry, "ParticipantNotActive")
        .withArgs(ids.police, ParticipantStatus.Suspended);
    });

    it("is accepted after the case was closed and during an emergency pause, since it only narrows access", async function () {
      const { access, cases, registry, council, police, ids, caseId, requestId } =
        await networkHelpers.loadFixture(deployRequested);
      await cases.connect(police).closeCase(caseId, REASON);
      await registry.connect(council[0]).pause();
      await expect(access.connect(police).withdrawRequest(requestId))
        .to.emit(access, "AccessRequestWithdrawn")
        .withArgs(requestId, caseId, ids.police, ids.bank, police.address);
    });
  });

  describe("revokeGrant", function () {
    it("revokes the grant and emits GrantRevoked", async function () {
      const { access, bank, ids, caseId, requestId, grantExpiry } =
        await networkHelpers.loadFixture(deployGranted);
      await expect(access.connect(bank).revokeGrant(requestId, REASON))
        .to.emit(access, "GrantRevoked")
        .withArgs(requestId, caseId, ids.bank, REASON, bank.address);
      const r = await access.getRequest(requestId);
      expect(r.status).to.equal(RequestStatus.Revoked);
      expect(r.grantExpiresAt).to.equal(grantExpiry);
    });

    it("is accepted after the case was closed", async function () {
      const { access, cases, police, bank, ids, caseId, requestId } =
        await networkHelpers.loadFixture(deployGranted);
      await cases.connect(police).closeCase(caseId, REASON);
      await expect(access.connect(bank).revokeGrant(requestId, REASON))
        .to.emit(access, "GrantRevoked")
        .withArgs(requestId, caseId, ids.bank, REASON, bank.address);
    });

    it("is accepted after the case and the grant expired", async function () {
      const { access, bank, ids, caseId, caseExpiry, requestId } =
        await networkHelpers.loadFixture(deployGranted);
      await time.increaseTo(caseExpiry + DAY);
      await expect(access.connect(bank).revokeGrant(requestId, REASON))
        .to.emit(access, "GrantRevoked")
        .withArgs(requestId, caseId, ids.bank, REASON, bank.address);
    });

    it("reverts with NotRequestProvider when the caller is not the request's provider", async function () {
      const { access, police, ids, requestId } = await networkHelpers.loadFixture(deployGranted);
      await expect(access.connect(police).revokeGrant(requestId, REASON))
        .to.be.revertedWithCustomError(access, "NotRequestProvider")
        .withArgs(requestId, ids.police);
    });

    it("reverts with RequestNotGranted when the request is still pending", async function () {
      const { access, bank, requestId } = await networkHelpers.loadFixture(deployRequested);
      await expect(access.connect(bank).revokeGrant(requestId, REASON))
        .to.be.revertedWithCustomError(access, "RequestNotGranted")
        .withArgs(requestId, RequestStatus.Pending);
    });

    it("reverts with RequestNotGranted when the request was denied", async function () {
      const { access, bank, requestId } = await networkHelpers.loadFixture(deployRequested);
      await access.connect(bank).deny(requestId, REASON);
      await expect(access.connect(bank).revokeGrant(requestId, REASON))
        .to.be.revertedWithCustomError(access, "RequestNotGranted")
        .withArgs(requestId, RequestStatus.Denied);
    });

    it("reverts with RequestNotGranted when the grant is already revoked", async function () {
      const { access, bank, requestId } = await networkHelpers.loadFixture(deployGranted);
      await access.connect(bank).revokeGrant(requestId, REASON);
      await expect(access.connect(bank).revokeGrant(requestId, REASON))
        .to.be.revertedWithCustomError(access, "RequestNotGranted")
        .withArgs(requestId, RequestStatus.Revoked);
    });

    it("reverts with UnknownRequest when the request does not exist", async function () {
      const { access, bank } = await networkHelpers.loadFixture(deployGranted);
      await expect(access.connect(bank).revokeGrant(99n, REASON))
        .to.be.revertedWithCustomError(access, "UnknownRequest")
        .withArgs(99n);
    });

    it("reverts with UnknownSigningKey when the caller is not a participant's key", async function () {
      const { access, registry, relayer, requestId } =
        await networkHelpers.loadFixture(deployGranted);
      await expect(access.connect(relayer).revokeGrant(requestId, REASON))
        .to.be.revertedWithCustomError(registry, "UnknownSigningKey")
        .withArgs(relayer.address);
    });

    it("is accepted during an emergency pause, since it only narrows access", async function () {
      const { access, registry, council, bank, ids, caseId, requestId } =
        await networkHelpers.loadFixture(deployGranted);
      await registry.connect(council[0]).pause();
      await expect(access.connect(bank).revokeGrant(requestId, REASON))
        .to.emit(access, "GrantRevoked")
        .withArgs(requestId, caseId, ids.bank, REASON, bank.address);
    });
  });

  describe("deliveryDigest", function () {
    it("equals the EIP-712 hash of the Delivery in the ledger's domain", async function () {
      const f = await networkHelpers.loadFixture(deployGranted);
      const d = deliveryOf(f);
      expect(await f.access.deliveryDigest(d)).to.equal(
        TypedDataEncoder.hash(f.domain, typesOf("Delivery"), d),
      );
    });

    it("is what the provider's signTypedData signs", async function () {
      const f = await networkHelpers.loadFixture(deployGranted);
      const d = deliveryOf(f);
      const { signature } = await signAs("Delivery", f.bank, f.domain, d);
      expect(verifyTypedData(f.domain, typesOf("Delivery"), d, signature)).to.equal(f.bank.address);
      expect(recoverAddress(await f.access.deliveryDigest(d), signature)).to.equal(f.bank.address);
    });

    it("changes with every signed field", async function () {
      const f = await networkHelpers.loadFixture(deployGranted);
      const d = deliveryOf(f);
      const base = await f.access.deliveryDigest(d);
      const variants: Delivery[] = [
        { ...d, requestId: d.requestId + 1n },
        { ...d, sequence: d.sequence + 1n },
        { ...d, payloadHash: commitment("another payload") },
        { ...d, recordCount: d.recordCount + 1n },
        { ...d, deadline: d.deadline + 1n },
      ];
      for (const v of variants) {
        expect(await f.access.deliveryDigest(v)).to.not.equal(base);
      }
    });
  });

  describe("acknowledgementDigest", function () {
    it("equals the EIP-712 hash of the Acknowledgement in the ledger's domain", async function () {
      const f = await networkHelpers.loadFixture(deployGranted);
      const d = deliveryOf(f);
      expect(await f.access.acknowledgementDigest(d)).to.equal(
        TypedDataEncoder.hash(f.domain, typesOf("Acknowledgement"), d),
      );
    });

    it("differs from the delivery digest of the same fields", async function () {
      const f = await networkHelpers.loadFixture(deployGranted);
      const d = deliveryOf(f);
      expect(await f.access.acknowledgementDigest(d)).to.not.equal(
        await f.access.deliveryDigest(d),
      );
    });
  });

  describe("attestDelivery", function () {
    it("records a co-signed delivery submitted by a relayer and emits DeliveryAttested", async function () {
      const f = await networkHelpers.loadFixture(deployGranted);
      const d = deliveryOf(f);
      const [p, r] = await cosign(f, d);
      const tx = f.access.connect(f.relayer).attestDelivery(d, p, r);
      await expect(tx)
        .to.emit(f.access, "DeliveryAttested")
        .withArgs(
          1n,
          f.requestId,
          f.caseId,
          f.ids.bank,
          f.ids.police,
          asTuple(d),
          [p.signer, p.signature],
          [r.signer, r.signature],
          f.relayer.address,
        );

      const receipt = await (await tx).wait();
      if (receipt === null) throw new Error("no receipt");
      const logs = await f.access.queryFilter(
        f.access.filters.DeliveryAttested(),
        receipt.blockNumber,
        receipt.blockNumber,
      );
      expect(logs).to.have.length(1);
      const event = logs[0]?.args;
      if (event === undefined) throw new Error("no DeliveryAttested log");
      expect(event.deliveryId).to.equal(1n);
      expect(event.requestId).to.equal(f.requestId);
      expect(event.caseId).to.equal(f.caseId);
      expect(event.delivery.requestId).to.equal(d.requestId);
      expect(event.delivery.sequence).to.equal(d.sequence);
      expect(event.delivery.payloadHash).to.equal(d.payloadHash);
      expect(event.delivery.recordCount).to.equal(d.recordCount);
      expect(event.delivery.deadline).to.equal(d.deadline);
      expect(event.provider.signer).to.equal(f.bank.address);
      expect(event.provider.signature).to.equal(p.signature);
      expect(event.requester.signer).to.equal(f.police.address);
      expect(event.requester.signature).to.equal(r.signature);
      expect(event.submitter).to.equal(f.relayer.address);

      const request = await f.access.getRequest(f.requestId);
      expect(request.deliveries).to.equal(1n);
      expect(request.deliveredRecords).to.equal(d.recordCount);
      expect(request.status).to.equal(RequestStatus.Granted);
      expect((await f.access.counts()).deliveries).to.equal(1n);
    });

    it("accepts submission by either party", async function () {
      const f = await networkHelpers.loadFixture(deployGranted);
      const d0 = deliveryOf(f);
      const [p0, r0] = await cosign(f, d0);
      await expect(f.access.connect(f.bank).attestDelivery(d0, p0, r0))
        .to.emit(f.access, "DeliveryAttested")
        .withArgs(
          1n,
          f.requestId,
          f.caseId,
          f.ids.bank,
          f.ids.police,
          asTuple(d0),
          [p0.signer, p0.signature],
          [r0.signer, r0.signature],
          f.bank.address,
        );
      const d1 = deliveryOf(f, { sequence: 1n });
      const [p1, r1] = await cosign(f, d1);
      await expect(f.access.connect(f.police).attestDelivery(d1, p1, r1))
        .to.emit(f.access, "DeliveryAttested")
        .withArgs(
          2n,
          f.requestId,
          f.caseId,
          f.ids.bank,
          f.ids.police,
          asTuple(d1),
          [p1.signer, p1.signature],
          [r1.signer, r1.signature],
          f.police.address,
        );
    });

    it("accepts deliveries in sequence and accumulates their records", async function () {
      const f = await networkHelpers.loadFixture(deployGranted);
      const counts = [10n, 25n, 40n];
      for (const [i, recordCount] of counts.entries()) {
        const d = deliveryOf(f, {
          sequence: BigInt(i),
          payloadHash: commitment(`payload ${i}`),
          recordCount,
        });
        const [p, r] = await cosign(f, d);
        await expect(f.access.connect(f.relayer).attestDelivery(d, p, r))
          .to.emit(f.access, "DeliveryAttested")
          .withArgs(
            BigInt(i + 1),
            f.requestId,
            f.caseId,
            f.ids.bank,
            f.ids.police,
            asTuple(d),
            [p.signer, p.signature],
            [r.signer, r.signature],
            f.relayer.address,
          );
      }
      const r = await f.access.getRequest(f.requestId);
      expect(r.deliveries).to.equal(3n);
      expect(r.deliveredRecords).to.equal(75n);
      expect((await f.access.counts()).deliveries).to.equal(3n);
    });

    it("numbers deliveries across requests", async function () {
      const f = await networkHelpers.loadFixture(deployGranted);
      await attest(f, deliveryOf(f));
      await f.access
        .connect(f.prosecutor)
        .request(f.caseId, f.ids.bank, f.datasets.bank, SUBJECT, PURPOSE);
      await f.access.connect(f.bank).grant(2n, f.grantExpiry, MAX_RECORDS);
      const d = deliveryOf(f, { requestId: 2n });
      const p = await signAs("Delivery", f.bank, f.domain, d);
      const r = await signAs("Acknowledgement", f.prosecutor, f.domain, d);
      await expect(f.access.connect(f.relayer).attestDelivery(d, p, r))
        .to.emit(f.access, "DeliveryAttested")
        .withArgs(
          2n,
          2n,
          f.caseId,
          f.ids.bank,
          f.ids.prosecutor,
          asTuple(d),
          [p.signer, p.signature],
          [r.signer, r.signature],
          f.relayer.address,
        );
      expect((await f.access.getRequest(2n)).deliveries).to.equal(1n);
      expect((await f.access.getRequest(1n)).deliveries).to.equal(1n);
    });

    it("accepts deliveries that reach the grant's record limit exactly", async function () {
      const f = await networkHelpers.loadFixture(deployGranted);
      await attest(f, deliveryOf(f, { recordCount: 60n }));
      await expect(attest(f, deliveryOf(f, { sequence: 1n, recordCount: 40n }))).to.emit(
        f.access,
        "DeliveryAttested",
      );
      expect((await f.access.getRequest(f.requestId)).deliveredRecords).to.equal(MAX_RECORDS);
    });

    it("accepts a delivery of zero records", async function () {
      const f = await networkHelpers.loadFixture(deployGranted);
      await expect(attest(f, deliveryOf(f, { recordCount: 0n }))).to.emit(
        f.access,
        "DeliveryAttested",
      );
      const r = await f.access.getRequest(f.requestId);
      expect(r.deliveries).to.equal(1n);
      expect(r.deliveredRecords).to.equal(0n);
    });

    it("accepts a submission at the deadline's second", async function () {
      const f = await networkHelpers.loadFixture(deployGranted);
      const deadline = (await time.latest()) + 100;
      const d = deliveryOf(f, { deadline: BigInt(deadline) });
      const [p, r] = await cosign(f, d);
      await time.setNextBlockTimestamp(deadline);
      await expect(f.access.connect(f.relayer).attestDelivery(d, p, r)).to.emit(
        f.access,
        "DeliveryAttested",
      );
    });

    it("accepts a submission at the grant's last second", async function () {
      const f = await networkHelpers.loadFixture(deployGranted);
      const d = deliveryOf(f);
      const [p, r] = await cosign(f, d);
      await time.setNextBlockTimestamp(f.grantExpiry - 1);
      await expect(f.access.connect(f.relayer).attestDelivery(d, p, r)).to.emit(
        f.access,
        "DeliveryAttested",
      );
    });

    it("accepts signatures by further signing keys of the parties", async function () {
      const f = await networkHelpers.loadFixture(deployGranted);
      const [bankKey, policeKey] = f.others.slice(1, 3);
      if (bankKey === undefined || policeKey === undefined) throw new Error("signers");
      await addSigningKey(f.registry, f.council, f.ids.bank, bankKey.address);
      await addSigningKey(f.registry, f.council, f.ids.police, policeKey.address);
      const d = deliveryOf(f);
      const p = await signAs("Delivery", bankKey, f.domain, d);
      const r = await signAs("Acknowledgement", policeKey, f.domain, d);
      await expect(f.access.connect(f.relayer).attestDelivery(d, p, r))
        .to.emit(f.access, "DeliveryAttested")
        .withArgs(
          1n,
          f.requestId,
          f.caseId,
          f.ids.bank,
          f.ids.police,
          asTuple(d),
          [bankKey.address, p.signature],
          [policeKey.address, r.signature],
          f.relayer.address,
        );
    });

    it("accepts an ERC-1271 contract registered as the provider's signing key", async function () {
      const f = await networkHelpers.loadFixture(deployGranted);
      const owner = f.others[1];
      if (owner === undefined) throw new Error("signer");
      const wallet = await ethers.deployContract("ERC1271Wallet", [owner.address]);
      const walletAddress = await wallet.getAddress();
      await addSigningKey(f.registry, f.council, f.ids.bank, walletAddress);
      expect((await f.registry.signingKey(walletAddress)).participantId).to.equal(f.ids.bank);

      const d = deliveryOf(f);
      const p = await signAs("Delivery", owner, f.domain, d, walletAddress);
      const r = await signAs("Acknowledgement", f.police, f.domain, d);
      await expect(f.access.connect(f.relayer).attestDelivery(d, p, r))
        .to.emit(f.access, "DeliveryAttested")
        .withArgs(
          1n,
          f.requestId,
          f.caseId,
          f.ids.bank,
          f.ids.police,
          asTuple(d),
          [walletAddress, p.signature],
          [r.signer, r.signature],
          f.relayer.address,
        );
    });

    it("reverts with InvalidSignature when the ERC-1271 contract rejects the signature", async function () {
      const f = await networkHelpers.loadFixture(deployGranted);
      const [owner, stranger] = f.others.slice(1, 3);
      if (owner === undefined || stranger === undefined) throw new Error("signers");
      const wallet = await ethers.deployContract("ERC1271Wallet", [owner.address]);
      const walletAddress = await wallet.getAddress();
      await addSigningKey(f.registry, f.council, f.ids.bank, walletAddress);

      const d = deliveryOf(f);
      const p = await signAs("Delivery", stranger, f.domain, d, walletAddress);
      const r = await signAs("Acknowledgement", f.police, f.domain, d);
      await expect(f.access.connect(f.relayer).attestDelivery(d, p, r))
        .to.be.revertedWithCustomError(f.access, "InvalidSignature")
        .withArgs(walletAddress);
    });

    it("reverts with SigningKeyCodeChanged when the ERC-1271 key's code changed after the council bound it", async function () {
      const f = await networkHelpers.loadFixture(deployGranted);
      const [owner, stranger] = f.others.slice(1, 3);
      if (owner === undefined || stranger === undefined) throw new Error("signers");
      const wallet = await ethers.deployContract("ERC1271Wallet", [owner.address]);
      const walletAddress = await wallet.getAddress();
      await addSigningKey(f.registry, f.council, f.ids.bank, walletAddress);
      const pinned = keccak256(await ethers.provider.getCode(walletAddress));

      // The wallet's code is swapped for one that accepts anything (a metamorphic redeploy).
      const acceptAny = await ethers.deployContract("AcceptAnySignature");
      const code = await ethers.provider.getCode(await acceptAny.getAddress());
      await networkHelpers.setCode(walletAddress, code);
      const d = deliveryOf(f);
      const p = await signAs("Delivery", stranger, f.domain, d, walletAddress);
      const r = await signAs("Acknowledgement", f.police, f.domain, d);
      await expect(f.access.connect(f.relayer).attestDelivery(d, p, r))
        .to.be.revertedWithCustomError(f.registry, "SigningKeyCodeChanged")
        .withArgs(walletAddress, pinned, keccak256(code));
    });

    it("reverts with SigningKeyCodeChanged when a key bound without code delegates with EIP-7702", async function () {
      const f = await networkHelpers.loadFixture(deployGranted);
      const [bankKey, stranger] = f.others.slice(1, 3);
      if (bankKey === undefined || stranger === undefined) throw new Error("signers");
      await addSigningKey(f.registry, f.council, f.ids.bank, bankKey.address);
      const acceptAny = await ethers.deployContract("AcceptAnySignature");
      const code = ethers.concat(["0xef0100", await acceptAny.getAddress()]);
      await networkHelpers.setCode(bankKey.address, code);
      const d = deliveryOf(f);
      const p = await signAs("Delivery", stranger, f.domain, d, bankKey.address);
      const r = await signAs("Acknowledgement", f.police, f.domain, d);
      await expect(f.access.connect(f.relayer).attestDelivery(d, p, r))
        .to.be.revertedWithCustomError(f.registry, "SigningKeyCodeChanged")
        .withArgs(bankKey.address, ZeroHash, keccak256(code));
    });

    it("refuses a proxy wallet as a signing key with MutableSigningKeyCode: an upgrade would make it accept anything", async function () {
      const f = await networkHelpers.loadFixture(deployGranted);
      const [owner, stranger] = f.others.slice(1, 3);
      if (owner === undefined || stranger === undefined) throw new Error("signers");
      const honest = await ethers.deployContract("ERC1271Wallet", [owner.address]);
      const proxy = await ethers.deployContract("UpgradeableWallet", [
        owner.address,
        await honest.getAddress(),
      ]);
      const proxyAddress = await proxy.getAddress();
      const refused = await addSigningKey(f.registry, f.council, f.ids.bank, proxyAddress).then(
        () => null,
        (e: Error) => e,
      );
      expect(refused?.message).to.match(/did not execute \(status 3\)/);
      const failed = (await f.registry.queryFilter(f.registry.filters.ProposalFailed())).at(-1);
      const reason = f.registry.interface.parseError(failed?.args.reason ?? "0x");
      expect(reason?.name).to.equal("MutableSigningKeyCode");
      expect(reason?.args[0]).to.equal(proxyAddress);
      expect([0x55n, 0xf4n]).to.include(reason?.args[2]);

      // What the refusal prevents: the same address, same code hash, accepting a stranger.
      const d = deliveryOf(f);
      const forged = await signAs("Delivery", stranger, f.domain, d, proxyAddress);
      const digest = await f.access.deliveryDigest(d);
      const wallet = await ethers.getContractAt("ERC1271Wallet", proxyAddress);
      expect(await wallet.isValidSignature(digest, forged.signature)).to.equal("0xffffffff");
      const codeHash = keccak256(await ethers.provider.getCode(proxyAddress));
      const acceptAny = await ethers.deployContract("AcceptAnySignature");
      await (await proxy.connect(owner).upgradeTo(await acceptAny.getAddress())).wait();
      expect(keccak256(await ethers.provider.getCode(proxyAddress))).to.equal(codeHash);
      expect(await wallet.isValidSignature(digest, forged.signature)).to.equal("0x1626ba7e");
    });

    it("reverts with InvalidSequence when the same signatures are replayed", async function () {
      const f = await networkHelpers.loadFixture(deployGranted);
      const d = deliveryOf(f);
      const [p, r] = await cosign(f, d);
      await f.access.connect(f.relayer).attestDelivery(d, p, r);
      await expect(f.access.connect(f.relayer).attestDelivery(d, p, r))
        .to.be.revertedWithCustomError(f.access, "InvalidSequence")
        .withArgs(f.requestId, 1n, 0n);
    });

    it("reverts with InvalidSequence when the sequence skips ahead", async function () {
      const f = await networkHelpers.loadFixture(deployGranted);
      await expect(attest(f, deliveryOf(f, { sequence: 1n })))
        .to.be.revertedWithCustomError(f.access, "InvalidSequence")
        .withArgs(f.requestId, 0n, 1n);
    });

    it("reverts with InvalidSignature when signed for another chain id", async function () {
      const f = await networkHelpers.loadFixture(deployGranted);
      const d = deliveryOf(f);
      const otherChain = ledgerDomain(f.chainId + 1n, await f.access.getAddress());
      const p = await signAs("Delivery", f.bank, otherChain, d);
      const r = await signAs("Acknowledgement", f.police, f.domain, d);
      await expect(f.access.connect(f.relayer).attestDelivery(d, p, r))
        .to.be.revertedWithCustomError(f.access, "InvalidSignature")
        .withArgs(f.bank.address);
    });

    it("reverts with InvalidSignature when signed for another ledger contract", async function () {
      const f = await networkHelpers.loadFixture(deployGranted);
      const otherLedger = await ethers.deployContract("AccessLedger", [
        await f.registry.getAddress(),
        await f.cases.getAddress(),
      ]);
      const d = deliveryOf(f);
      const otherContract = ledgerDomain(f.chainId, await otherLedger.getAddress());
      const p = await signAs("Delivery", f.bank, f.domain, d);
      const r = await signAs("Acknowledgement", f.police, otherContract, d);
      await expect(f.access.connect(f.relayer).attestDelivery(d, p, r))
        .to.be.revertedWithCustomError(f.access, "InvalidSignature")
        .withArgs(f.police.address);
    });

    it("reverts with InvalidSignature when the requester signed the Delivery type instead of the Acknowledgement", async function () {
      const f = await networkHelpers.loadFixture(deployGranted);
      const d = deliveryOf(f);
      const p = await signAs("Delivery", f.bank, f.domain, d);
      const r = await signAs("Delivery", f.police, f.domain, d);
      await expect(f.access.connect(f.relayer).attestDelivery(d, p, r))
        .to.be.revertedWithCustomError(f.access, "InvalidSignature")
        .withArgs(f.police.address);
    });

    it("reverts with InvalidSignature when the provider signed the Acknowledgement type instead of the Delivery", async function () {
      const f = await networkHelpers.loadFixture(deployGranted);
      const d = deliveryOf(f);
      const p = await signAs("Acknowledgement", f.bank, f.domain, d);
      const r = await signAs("Acknowledgement", f.police, f.domain, d);
      await expect(f.access.connect(f.relayer).attestDelivery(d, p, r))
        .to.be.revertedWithCustomError(f.access, "InvalidSignature")
        .withArgs(f.bank.address);
    });

    it("reverts with SignerNotParty when the provider's signature is used as the acknowledgement", async function () {
      const f = await networkHelpers.loadFixture(deployGranted);
      const d = deliveryOf(f);
      const p = await signAs("Delivery", f.bank, f.domain, d);
      await expect(f.access.connect(f.relayer).attestDelivery(d, p, p))
        .to.be.revertedWithCustomError(f.access, "SignerNotParty")
        .withArgs(f.bank.address, f.ids.bank, f.ids.police);
    });

    it("reverts with InvalidSignature when the provider's signature is presented in the requester's name", async function () {
      const f = await networkHelpers.loadFixture(deployGranted);
      const d = deliveryOf(f);
      const p = await signAs("Delivery", f.bank, f.domain, d);
      const forged: PartySignature = { signer: f.police.address, signature: p.signature };
      await expect(f.access.connect(f.relayer).attestDelivery(d, p, forged))
        .to.be.revertedWithCustomError(f.access, "InvalidSignature")
        .withArgs(f.police.address);
    });

    it("reverts with InvalidSignature when a signed field was altered", async function () {
      const f = await networkHelpers.loadFixture(deployGranted);
      const d = deliveryOf(f, { recordCount: 10n });
      const [p, r] = await cosign(f, d);
      await expect(f.access.connect(f.relayer).attestDelivery({ ...d, recordCount: 1n }, p, r))
        .to.be.revertedWithCustomError(f.access, "InvalidSignature")
        .withArgs(f.bank.address);
    });

    it("reverts with InvalidSignature when the signature is malformed", async function () {
      const f = await networkHelpers.loadFixture(deployGranted);
      const d = deliveryOf(f);
      const [p, r] = await cosign(f, d);
      const truncated: PartySignature = { signer: r.signer, signature: r.signature.slice(0, 130) };
      await expect(f.access.connect(f.relayer).attestDelivery(d, p, truncated))
        .to.be.revertedWithCustomError(f.access, "InvalidSignature")
        .withArgs(f.police.address);
    });

    it("reverts with SignerNotParty when the delivery is signed by another participant", async function () {
      const f = await networkHelpers.loadFixture(deployGranted);
      const d = deliveryOf(f);
      const p = await signAs("Delivery", f.telecom, f.domain, d);
      const r = await signAs("Acknowledgement", f.police, f.domain, d);
      await expect(f.access.connect(f.relayer).attestDelivery(d, p, r))
        .to.be.revertedWithCustomError(f.access, "SignerNotParty")
        .withArgs(f.telecom.address, f.ids.telecom, f.ids.bank);
    });

    it("reverts with SignerNotParty when the case's approver acknowledges the opener's request", async function () {
      const f = await networkHelpers.loadFixture(deployGranted);
      const d = deliveryOf(f);
      const p = await signAs("Delivery", f.bank, f.domain, d);
      const r = await signAs("Acknowledgement", f.prosecutor, f.domain, d);
      await expect(f.access.connect(f.relayer).attestDelivery(d, p, r))
        .to.be.revertedWithCustomError(f.access, "SignerNotParty")
        .withArgs(f.prosecutor.address, f.ids.prosecutor, f.ids.police);
    });

    it("reverts with UnknownSigningKey when the signer is not a registered key", async function () {
      const f = await networkHelpers.loadFixture(deployGranted);
      const d = deliveryOf(f);
      const outsider = Wallet.createRandom();
      const p = await signAs("Delivery", outsider, f.domain, d);
      const r = await signAs("Acknowledgement", f.police, f.domain, d);
      await expect(f.access.connect(f.relayer).attestDelivery(d, p, r))
        .to.be.revertedWithCustomError(f.registry, "UnknownSigningKey")
        .withArgs(outsider.address);
    });

    it("reverts with ParticipantNotActive when the provider was suspended after the grant", async function () {
      const f = await networkHelpers.loadFixture(deployGranted);
      const d = deliveryOf(f);
      const [p, r] = await cosign(f, d);
      await suspend(f.registry, f.council, f.ids.bank);
      await expect(f.access.connect(f.relayer).attestDelivery(d, p, r))
        .to.be.revertedWithCustomError(f.registry, "ParticipantNotActive")
        .withArgs(f.ids.bank, ParticipantStatus.Suspended);
    });

    it("reverts with DeadlinePassed after the attestation's deadline", async function () {
      const f = await networkHelpers.loadFixture(deployGranted);
      const deadline = BigInt(await time.latest());
      await expect(attest(f, deliveryOf(f, { deadline })))
        .to.be.revertedWithCustomError(f.access, "DeadlinePassed")
        .withArgs(deadline);
    });

    it("reverts with GrantExpired from the grant's expiry on (expiry is exclusive)", async function () {
      const f = await networkHelpers.loadFixture(deployGranted);
      const d = deliveryOf(f, { deadline: BigInt(f.caseExpiry) });
      const [p, r] = await cosign(f, d);
      await time.setNextBlockTimestamp(f.grantExpiry);
      await expect(f.access.connect(f.relayer).attestDelivery(d, p, r))
        .to.be.revertedWithCustomError(f.access, "GrantExpired")
        .withArgs(f.requestId, f.grantExpiry);
    });

    it("reverts with RecordLimitExceeded when one delivery exceeds the grant", async function () {
      const f = await networkHelpers.loadFixture(deployGranted);
      await expect(attest(f, deliveryOf(f, { recordCount: MAX_RECORDS + 1n })))
        .to.be.revertedWithCustomError(f.access, "RecordLimitExceeded")
        .withArgs(f.requestId, MAX_RECORDS + 1n, MAX_RECORDS);
    });

    it("reverts with RecordLimitExceeded when deliveries together exceed the grant", async function () {
      const f = await networkHelpers.loadFixture(deployGranted);
      await attest(f, deliveryOf(f, { recordCount: 60n }));
      await expect(attest(f, deliveryOf(f, { sequence: 1n, recordCount: 41n })))
        .to.be.revertedWithCustomError(f.access, "RecordLimitExceeded")
        .withArgs(f.requestId, 101n, MAX_RECORDS);
    });

    it("reverts with RecordLimitExceeded without overflow for the largest record count", async function () {
      const f = await networkHelpers.loadFixture(deployGranted);
      await attest(f, deliveryOf(f, { recordCount: 1n }));
      const max = 2n ** 64n - 1n;
      await expect(attest(f, deliveryOf(f, { sequence: 1n, recordCount: max })))
        .to.be.revertedWithCustomError(f.access, "RecordLimitExceeded")
        .withArgs(f.requestId, max + 1n, MAX_RECORDS);
    });

    it("reverts with RequestNotGranted after the grant was revoked", async function () {
      const f = await networkHelpers.loadFixture(deployGranted);
      const d = deliveryOf(f);
      const [p, r] = await cosign(f, d);
      await f.access.connect(f.bank).revokeGrant(f.requestId, REASON);
      await expect(f.access.connect(f.relayer).attestDelivery(d, p, r))
        .to.be.revertedWithCustomError(f.access, "RequestNotGranted")
        .withArgs(f.requestId, RequestStatus.Revoked);
    });

    it("reverts with RequestNotGranted when the request was denied", async function () {
      const f = await networkHelpers.loadFixture(deployGranted);
      await f.access
        .connect(f.police)
        .request(f.caseId, f.ids.bank, f.datasets.bank, SUBJECT, PURPOSE);
      await f.access.connect(f.bank).deny(2n, REASON);
      await expect(attest(f, deliveryOf(f, { requestId: 2n })))
        .to.be.revertedWithCustomError(f.access, "RequestNotGranted")
        .withArgs(2n, RequestStatus.Denied);
    });

    it("reverts with RequestNotGranted when the request is still pending", async function () {
      const f = await networkHelpers.loadFixture(deployGranted);
      await f.access
        .connect(f.police)
        .request(f.caseId, f.ids.bank, f.datasets.bank, SUBJECT, PURPOSE);
      await expect(attest(f, deliveryOf(f, { requestId: 2n })))
        .to.be.revertedWithCustomError(f.access, "RequestNotGranted")
        .withArgs(2n, RequestStatus.Pending);
    });

    it("reverts with UnknownRequest when the request does not exist", async function () {
      const f = await networkHelpers.loadFixture(deployGranted);
      await expect(attest(f, deliveryOf(f, { requestId: 99n })))
        .to.be.revertedWithCustomError(f.access, "UnknownRequest")
        .withArgs(99n);
    });

    it("reverts with CaseIsClosed when the case was closed after the grant", async function () {
      const f = await networkHelpers.loadFixture(deployGranted);
      const d = deliveryOf(f);
      const [p, r] = await cosign(f, d);
      await f.cases.connect(f.police).closeCase(f.caseId, REASON);
      await expect(f.access.connect(f.relayer).attestDelivery(d, p, r))
        .to.be.revertedWithCustomError(f.cases, "CaseIsClosed")
        .withArgs(f.caseId);
    });

    it("reverts with GrantExpired at the case's expiry under a grant that runs to it", async function () {
      const f = await networkHelpers.loadFixture(deployRequested);
      await f.access.connect(f.bank).grant(f.requestId, f.caseExpiry, MAX_RECORDS);
      const g: Granted = { ...f, grantExpiry: f.caseExpiry };
      const d = deliveryOf(g);
      const [p, r] = await cosign(g, d);
      await time.setNextBlockTimestamp(f.caseExpiry);
      await expect(f.access.connect(f.relayer).attestDelivery(d, p, r))
        .to.be.revertedWithCustomError(f.access, "GrantExpired")
        .withArgs(f.requestId, f.caseExpiry);
    });

    it("reverts with ConsortiumPaused while the consortium is paused", async function () {
      const f = await networkHelpers.loadFixture(deployGranted);
      const d = deliveryOf(f);
      const [p, r] = await cosign(f, d);
      await f.registry.connect(f.council[0]).pause();
      await expect(
        f.access.connect(f.relayer).attestDelivery(d, p, r),
      ).to.be.revertedWithCustomError(f.access, "ConsortiumPaused");
    });
  });

  describe("dataset", function () {
    it("returns an empty record for an unknown dataset", async function () {
      const { access } = await networkHelpers.loadFixture(deployLedger);
      const d = await access.dataset(99n);
      expect(d.provider).to.equal(0n);
      expect(d.active).to.equal(false);
      expect(d.schemaCommitment).to.equal(ZeroHash);
    });
  });

  describe("getRequest", function () {
    it("returns an empty record with status None for an unknown request", async function () {
      const { access } = await networkHelpers.loadFixture(deployLedger);
      const r = await access.getRequest(99n);
      expect(r.status).to.equal(RequestStatus.None);
      expect(r.caseId).to.equal(0n);
      expect(r.provider).to.equal(0n);
    });
  });

  describe("counts", function () {
    it("counts datasets, requests and deliveries", async function () {
      const f = await networkHelpers.loadFixture(deployGranted);
      expect(await f.access.counts()).to.deep.equal([2n, 1n, 0n]);
      await attest(f, deliveryOf(f));
      expect(await f.access.counts()).to.deep.equal([2n, 1n, 1n]);
    });
  });
});
