import { expect } from "chai";
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { network } from "hardhat";
import {
  Auditor,
  ContractRevertError,
  CouncilMember,
  DataKind,
  InputError,
  Investigator,
  ProposalFailedError,
  Provider,
  Supervisor,
  buildLogBatch,
  canonicalJson,
  commitCaseNumber,
  commitSubject,
  decodeKind,
  decodeRevert,
  encodeKind,
  entryHash,
  generateCaseKey,
  kindsOf,
  normalizeBankAccount,
  normalizeNationalId,
  normalizePhone,
  parseDeployment,
  proofOf,
  readDeployment,
  requireAddress,
  requireCommitment,
  requireFuture,
  scopeOf,
  submitDelivery,
  verifyLogEntry,
  writeDeployment,
  type DeploymentRecord,
} from "../src/client/index.js";
import { clientConsortium } from "./helpers/client-consortium.js";

const connection = await network.create();
const { ethers, networkHelpers } = connection;
const DAY = 86_400;

describe("client: commitments", function () {
  describe("normalizePhone", function () {
    it("accepts the usual ways of writing one E.164 number", function () {
      for (const s of ["+49 30 901820", "+49 (30) 90-18-20", "0049 30 901820", "+49.30.901820"]) {
        expect(normalizePhone(s)).to.equal("+4930901820");
      }
    });
    it("applies a default country code to a national number with trunk prefix", function () {
      expect(normalizePhone("030 901820", "49")).to.equal("+4930901820");
    });
    it("rejects a national number without a country code", function () {
      expect(() => normalizePhone("030 901820")).to.throw(InputError, /^phone: .*country code/);
    });
    it("rejects letters, too short and too long numbers", function () {
      for (const s of ["+49 30 CALL ME", "+4912", "+1234567890123456"]) {
        expect(() => normalizePhone(s)).to.throw(InputError, /^phone: .*(characters|digits)/);
      }
    });
  });

  describe("normalizeBankAccount", function () {
    it("normalizes an IBAN with a valid checksum", function () {
      expect(normalizeBankAccount("de89 3704 0044 0532 0130 00")).to.equal(
        "DE89370400440532013000",
      );
    });
    it("rejects an IBAN whose checksum fails", function () {
      expect(() => normalizeBankAccount("DE88 3704 0044 0532 0130 00")).to.throw(
        InputError,
        /IBAN/,
      );
    });
    it("accepts a domestic account number", function () {
      expect(normalizeBankAccount("0532-0130-00")).to.equal("0532013000");
    });
    it("rejects punctuation it does not know", function () {
      expect(() => normalizeBankAccount("12#34")).to.throw(InputError, /account number/);
    });
  });

  describe("normalizeNationalId", function () {
    it("upper-cases and strips separators", function () {
      expect(normalizeNationalId(" t22-000.129 ")).to.equal("T22000129");
    });
    it("rejects a too short ID", function () {
      expect(() => normalizeNationalId("A1")).to.throw(InputError, /nationalId/);
    });
  });

  describe("commitSubject", function () {
    const key = generateCaseKey();
    it("gives one commitment for one identifier however it is written", function () {
      expect(commitSubject("phone", "+49 30 901820", key)).to.equal(
        commitSubject("phone", "0049-30-901820", key),
      );
    });
    it("gives another commitment under another case key", function () {
      expect(commitSubject("phone", "+49 30 901820", key)).to.not.equal(
        commitSubject("phone", "+49 30 901820", generateCaseKey()),
      );
    });
    it("separates identifier types (domain separation)", function () {
      expect(commitSubject("nationalId", "12345678", key)).to.not.equal(
        commitSubject("bankAccount", "12345678", key),
      );
    });
    it("is HMAC-SHA256 of the documented message", async function () {
      const { createHmac } = await import("node:crypto");
      const expected = createHmac("sha256", Buffer.from(key.slice(2), "hex"))
        .update("veritrace:subject:v2:phone:+4930901820")
        .digest("hex");
      expect(commitSubject("phone", "+49 30 901820", key)).to.equal(`0x${expected}`);
    });
    it("rejects a case key that is not 32 bytes", function () {
      expect(() => commitSubject("phone", "+49 30 901820", "0x1234")).to.throw(
        InputError,
        /caseKey/,
      );
      expect(() => commitCaseNumber("A-1", new Uint8Array(31))).to.throw(InputError, /caseKey/);
    });
    it("rejects an empty case number", function () {
      expect(() => commitCaseNumber("  ", key)).to.throw(InputError, /caseNumber/);
    });
  });
});

describe("client: validation and kinds", function () {
  it("requireAddress checksums a valid address and names the field otherwise", function () {
    expect(requireAddress("to", "0x70997970c51812dc3a010c7d01b50e0d17dc79c8")).to.equal(
      "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    );
    expect(() => requireAddress("to", "0x7099")).to.throw(InputError, /^to: not an address/);
  });
  it("requireCommitment rejects short hex and the zero commitment", function () {
    expect(() => requireCommitment("c", "0x12")).to.throw(InputError, /32-byte/);
    expect(() => requireCommitment("c", ethers.ZeroHash)).to.throw(InputError, /zero commitment/);
  });
  it("requireFuture rejects the present", function () {
    expect(() => requireFuture("deadline", 100, 100)).to.throw(InputError, /not in the future/);
    expect(requireFuture("deadline", 101, 100)).to.equal(101n);
  });
  it("scopeOf and kindsOf are inverse", function () {
    const kinds = [DataKind.BankTransactions, DataKind.TelecomSubscribers, 255];
    expect(kindsOf(scopeOf(kinds))).to.deep.equal([1, 2, 255]);
    expect(() => scopeOf([])).to.throw(InputError, /scope/);
    expect(() => scopeOf([256])).to.throw(InputError, /0\.\.255/);
  });
  it("encodes and decodes participant kinds", function () {
    expect(decodeKind(encodeKind("EXCHANGE"))).to.equal("EXCHANGE");
    expect(() => encodeKind("bank")).to.throw(InputError, /kind/);
  });
});

describe("client: anchoring helpers", function () {
  it("hashes entries independently of key order", function () {
    expect(canonicalJson({ b: 1, a: [2, { d: 3n, c: null }] })).to.equal(
      '{"a":[2,{"c":null,"d":"3"}],"b":1}',
    );
    expect(entryHash({ a: 1, b: 2 })).to.equal(entryHash({ b: 2, a: 1 }));
  });
  it("proves every entry of a batch and rejects a changed one", function () {
    const batch = buildLogBatch([{ n: 1 }, { n: 2 }, { n: 3 }]);
    for (let i = 0; i < 3; i++) {
      expect(
        verifyLogEntry(batch.root, BigInt(i), batch.entryHashes[i] ?? "", proofOf(batch, i)),
      ).to.equal(true);
    }
    expect(verifyLogEntry(batch.root, 0n, entryHash({ n: 9 }), proofOf(batch, 0))).to.equal(false);
  });
  it("refuses an empty batch and an index outside the batch", function () {
    expect(() => buildLogBatch([])).to.throw(InputError, /at least one/);
    expect(() => proofOf(buildLogBatch([1]), 1)).to.throw(InputError, /index/);
  });
});

describe("client: deployment records", function () {
  const good: DeploymentRecord = {
    version: 1,
    chainId: 31337,
    startBlock: 1,
    contracts: {
      ParticipantRegistry: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
      CaseRegistry: "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512",
      AccessLedger: "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0",
      AccessLogAnchor: "0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9",
      LabelRegistry: "0xDc64a140Aa3E981100a9becA4E685f962f0cF6C9",
      FreezeRegistry: "0x5FC8d32690cc91D4c39d9d3abcBD16989F875707",
      MatchingLedger: "0x0165878A594ca255338adfa4d48449f69242Eb8F",
      EncryptionKeyRegistry: "0xa513E6E4b8f2a923D98304ec87F64353C4D5C853",
      ExchangeLedger: "0x2279B7A0a67DB372996a5FaB50D91eAA73d2eBe6",
    },
  };
  it("round-trips through a file, leaving no temporary file", function () {
    const dir = mkdtempSync(path.join(tmpdir(), "veritrace-"));
    const file = path.join(dir, "deployment.json");
    writeDeployment(file, good);
    expect(readDeployment(file)).to.deep.equal(good);
    expect(readdirSync(dir)).to.deep.equal(["deployment.json"]);
  });
  it("names the first wrong field", function () {
    expect(() => parseDeployment({ ...good, chainId: -1 })).to.throw(
      InputError,
      /deployment\.chainId/,
    );
    expect(() =>
      parseDeployment({ ...good, contracts: { ...good.contracts, AccessLedger: "0x12" } }),
    ).to.throw(InputError, /contracts\.AccessLedger/);
    expect(() => parseDeployment({ ...good, version: 2 })).to.throw(InputError, /version/);
  });
  it("keeps a genesis registry's founders, and names what is wrong in them", function () {
    const key = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
    const genesis = {
      ...good,
      startBlock: 0,
      genesisFounders: [{ participantId: 1, signingKey: key }],
    };
    expect(parseDeployment(genesis).genesisFounders).to.deep.equal([
      { participantId: 1, signingKey: key },
    ]);
    expect(() => parseDeployment({ ...genesis, startBlock: 5 })).to.throw(
      InputError,
      /genesisFounders.*start block of 0/,
    );
    expect(() => parseDeployment({ ...genesis, genesisFounders: [] })).to.throw(
      InputError,
      /genesisFounders.*non-empty/,
    );
    expect(() =>
      parseDeployment({ ...genesis, genesisFounders: [{ participantId: 0, signingKey: key }] }),
    ).to.throw(InputError, /genesisFounders\[0\]\.participantId/);
    expect(() =>
      parseDeployment({ ...genesis, genesisFounders: [{ participantId: 1, signingKey: "0x12" }] }),
    ).to.throw(InputError, /genesisFounders\[0\]\.signingKey/);
  });
  it("reports unreadable and non-JSON files", function () {
    const dir = mkdtempSync(path.join(tmpdir(), "veritrace-"));
    const file = path.join(dir, "bad.json");
    writeFileSync(file, "{ not json");
    expect(() => readDeployment(file)).to.throw(InputError, /not valid JSON/);
    expect(() => readDeployment(path.join(dir, "missing.json"))).to.throw(
      InputError,
      /cannot read/,
    );
    expect(() => writeDeployment(file, { ...good, startBlock: -5 })).to.throw(InputError);
    expect(existsSync(file)).to.equal(true);
  });
});

describe("client: roles against a deployed consortium", function () {
  async function consortium() {
    const { signers, record, contracts, council, admit } = await clientConsortium(connection);
    const police = await admit("POLICE", 3);
    const prosecutor = await admit("PROSECUTOR", 4);
    const bank = await admit("BANK", 5);
    const relayer = signers[9];
    if (relayer === undefined) throw new Error("signer");
    return { record, contracts, council, police, prosecutor, bank, relayer };
  }

  it("runs a case from opening to a co-signed delivery the auditor can verify", async function () {
    const { record, contracts, police, prosecutor, bank, relayer } =
      await networkHelpers.loadFixture(consortium);
    const investigator = new Investigator(contracts, police.signer);
    const supervisor = new Supervisor(contracts, prosecutor.signer);
    const provider = new Provider(contracts, bank.signer);
    expect(await investigator.participantId()).to.equal(police.id);

    const datasetId = await provider.registerDataset(DataKind.BankTransactions, "schema v1");
    const caseKey = generateCaseKey();
    const now = Number(await investigator.now());
    const { caseId, caseNumberCommitment } = await investigator.openCase({
      caseNumber: "C-1",
      caseKey,
      legalBasis: "order",
      scope: [DataKind.BankTransactions],
      expiresAt: now + 10 * DAY,
    });
    expect(caseNumberCommitment).to.equal(commitCaseNumber("C-1", caseKey));
    expect(await contracts.cases.caseIdOf(police.id, caseNumberCommitment)).to.equal(caseId);
    await supervisor.approveCase(caseId);
    const { requestId, subjectCommitment } = await investigator.request({
      caseId,
      provider: bank.id,
      datasetId,
      subject: { type: "bankAccount", identifier: "DE89 3704 0044 0532 0130 00" },
      caseKey,
      purposeCode: 7,
    });
    expect(subjectCommitment).to.equal(
      commitSubject("bankAccount", "DE89370400440532013000", caseKey),
    );
    await provider.grant(requestId, { expiresAt: now + 5 * DAY, maxRecords: 10 });

    const payload = '{"rows":[1,2,3]}';
    const { delivery, signature } = await provider.prepareDelivery(requestId, payload, 3);
    expect(delivery.sequence).to.equal(0);
    await expectRejected(
      investigator.acknowledge(delivery, "tampered"),
      /does not match payloadHash/,
    );
    const ack = await investigator.acknowledge(delivery, payload);
    const deliveryId = await submitDelivery(
      contracts,
      relayer,
      delivery,
      { signer: bank.signer.address, signature },
      { signer: police.signer.address, signature: ack },
    );
    expect(deliveryId).to.equal(1n);

    const { anchorId, batch, firstSequence } = await investigator.anchorLog(caseId, [
      { deliveryId: 1 },
      { deliveryId: 2 },
    ]);
    expect(firstSequence).to.equal(0n);
    expect(await investigator.nextLogSequence()).to.equal(2n);
    const auditor = new Auditor(contracts, connection.ethers.provider, record);
    const check = await auditor.verifyDelivery(deliveryId);
    expect(check.valid).to.equal(true);
    expect(check.provider.recovered).to.equal(bank.signer.address);
    expect(check.requester.recovered).to.equal(police.signer.address);
    const inclusion = await auditor.verifyEntry(
      anchorId,
      1n,
      batch.entryHashes[1] ?? "",
      proofOf(batch, 1),
    );
    expect(inclusion).to.deep.equal({ onChain: true, offChain: true });
    const wrong = await auditor.verifyEntry(
      anchorId,
      0n,
      batch.entryHashes[1] ?? "",
      proofOf(batch, 1),
    );
    expect(wrong).to.deep.equal({ onChain: false, offChain: false });

    const history = await auditor.caseHistory(caseId);
    expect(history.map((e) => e.event)).to.deep.equal([
      "CaseOpened",
      "CaseApproved",
      "AccessRequested",
      "AccessGranted",
      "DeliveryAttested",
      "LogAnchored",
    ]);
    await expectRejected(auditor.verifyDelivery(99n), /no delivery 99/);
  });

  it("names the custom error and its values when a contract refuses, even across contracts", async function () {
    const { contracts, council, police, prosecutor, bank } =
      await networkHelpers.loadFixture(consortium);
    const investigator = new Investigator(contracts, police.signer);
    const now = Number(await investigator.now());
    const caseKey = generateCaseKey();
    const { caseId } = await investigator.openCase({
      caseNumber: "C-2",
      caseKey,
      legalBasis: "order",
      scope: [DataKind.BankTransactions],
      expiresAt: now + 10 * DAY,
    });
    const provider = new Provider(contracts, bank.signer);
    const datasetId = await provider.registerDataset(DataKind.BankTransactions, "schema");
    const ask = () =>
      investigator.request({
        caseId,
        provider: bank.id,
        datasetId,
        subject: { type: "nationalId", identifier: "ID12345" },
        caseKey,
        purposeCode: 1,
      });
    const notApproved = await rejection(ask());
    expect(notApproved).to.be.instanceOf(ContractRevertError);
    expect(notApproved.message).to.equal(`CaseNotApproved(caseId=${caseId})`);

    await new Supervisor(contracts, prosecutor.signer).approveCase(caseId);
    // Suspend the police bureau: the refusal comes from the registry, through the access ledger.
    const [c0, c1] = council as [CouncilMember, CouncilMember];
    const p = await c0.proposeStatus("suspend", police.id);
    await c1.approve(p);
    await c1.execute(p);
    const suspended = await rejection(ask());
    expect(suspended).to.be.instanceOf(ContractRevertError);
    expect((suspended as ContractRevertError).errorName).to.equal("ParticipantNotActive");
    expect((suspended as ContractRevertError).args).to.deep.equal({
      participantId: BigInt(police.id),
      status: 2n,
    });
  });

  it("lets council members cancel, withdraw approvals, extend a pause, and names a failed execution", async function () {
    const { contracts, council, police } = await networkHelpers.loadFixture(consortium);
    const [c0, c1, c2] = council as [CouncilMember, CouncilMember, CouncilMember];
    // The proposer alone cancels its own proposal.
    const lone = await c0.proposeStatus("suspend", police.id);
    await c0.cancel(lone);
    expect((await contracts.registry.proposal(lone)).status).to.equal(4n);
    // A member withdraws its approval; the council cancels a proposal others approved.
    const approvedByTwo = await c0.proposeStatus("suspend", police.id);
    await c1.approve(approvedByTwo);
    await c1.withdrawApproval(approvedByTwo);
    expect(await contracts.registry.approvalCount(approvedByTwo)).to.equal(1n);
    await c2.approve(approvedByTwo);
    const cancel = await c1.proposeCancel(approvedByTwo);
    await c2.approve(cancel);
    await c2.execute(cancel);
    expect((await contracts.registry.proposal(approvedByTwo)).status).to.equal(4n);
    // A quorum extends the pause in force.
    await c0.pause();
    const extend = await c0.proposeExtendPause(10 * DAY);
    await c1.approve(extend);
    await c1.execute(extend);
    const [until] = await contracts.registry.pauseState();
    expect(until > BigInt(await c0.now()) + BigInt(9 * DAY)).to.equal(true);
    // A failed execution throws, naming the reason; it is final.
    const twice = await c0.proposeStatus("suspend", police.id);
    await c1.approve(twice);
    const again = await c0.proposeStatus("suspend", police.id);
    await c1.approve(again);
    await c1.execute(twice);
    const failed = await rejection(c1.execute(again));
    expect(failed).to.be.instanceOf(ProposalFailedError);
    expect(failed.message).to.equal(`proposal ${again} failed: ProposalStale(proposalId=${again})`);
    expect(((failed as ProposalFailedError).reason as ContractRevertError).errorName).to.equal(
      "ProposalStale",
    );
    await expectRejected(c0.proposeExtendPause(0), /^seconds: /);
  });

  it("approves only the extension it names and withdraws a pending request, with readable refusals", async function () {
    const { contracts, police, prosecutor, bank } = await networkHelpers.loadFixture(consortium);
    const investigator = new Investigator(contracts, police.signer);
    const supervisor = new Supervisor(contracts, prosecutor.signer);
    const provider = new Provider(contracts, bank.signer);
    const now = Number(await investigator.now());
    const caseKey = generateCaseKey();
    const { caseId } = await investigator.openCase({
      caseNumber: "C-3",
      caseKey,
      legalBasis: "order",
      scope: [DataKind.BankTransactions],
      expiresAt: now + 10 * DAY,
    });
    await supervisor.approveCase(caseId);

    // The prosecutor reviewed +60 days; the police replaced the request by +700 days.
    await investigator.requestExtension(caseId, now + 60 * DAY);
    await investigator.requestExtension(caseId, now + 700 * DAY);
    const mismatch = await rejection(supervisor.approveExtension(caseId, now + 60 * DAY));
    expect(mismatch.message).to.equal(
      `ExtensionMismatch(caseId=${caseId}, expectedExpiry=${now + 60 * DAY}, requestedExpiry=${now + 700 * DAY})`,
    );
    await supervisor.approveExtension(caseId, now + 700 * DAY);
    expect((await contracts.cases.getCase(caseId)).expiresAt).to.equal(BigInt(now + 700 * DAY));

    const datasetId = await provider.registerDataset(DataKind.BankTransactions, "schema");
    const { requestId } = await investigator.request({
      caseId,
      provider: bank.id,
      datasetId,
      subject: { type: "nationalId", identifier: "ID777" },
      caseKey,
      purposeCode: 1,
    });
    const receipt = await investigator.withdrawRequest(requestId);
    expect(receipt.status).to.equal(1);
    expect((await contracts.access.getRequest(requestId)).status).to.equal(5n);
    const late = await rejection(
      provider.grant(requestId, { expiresAt: now + DAY, maxRecords: 1 }),
    );
    expect(late.message).to.equal(`RequestNotPending(requestId=${requestId}, status=Withdrawn)`);
  });

  it("proposes SetRules: refuses a target that is no ingress of this registry, decodes the ingress's lock-out refusal", async function () {
    const { contracts, council } = await networkHelpers.loadFixture(consortium);
    const [c0, c1] = council as [CouncilMember, CouncilMember];
    const registry = await contracts.registry.getAddress();
    const ingress = await ethers.deployContract("AccountIngress", [registry, ethers.ZeroAddress]);
    const ingressAddress = await ingress.getAddress();
    const deployRules = async (restricted: string[]) =>
      (await ethers.deployContract("AccountRules", [registry, restricted, []])).getAddress();
    const open = await deployRules([]);
    const foreign = await ethers.deployContract("AccountIngress", [open, ethers.ZeroAddress]);
    const before = await ethers.provider.getBlockNumber();
    // The two addresses swapped: AccountRules answers any call, but declares no ingress kind.
    await expectRejected(
      c0.proposeSetRules(open, ingressAddress),
      new RegExp(`^ingress: ${open} is not a permissioning ingress`),
    );
    await expectRejected(
      c0.proposeSetRules(await foreign.getAddress(), open),
      /^ingress: 0x[0-9a-fA-F]{40} serves registry 0x[0-9a-fA-F]{40}, not /,
    );
    expect(await ethers.provider.getBlockNumber()).to.equal(before);

    // Rules that restrict the council's own kind to no contract would lock it out.
    const lockout = await deployRules([encodeKind("AUDITOR")]);
    const refused = await c0.proposeSetRules(ingressAddress, lockout);
    await c1.approve(refused);
    const error = await rejection(c1.execute(refused));
    // The execution failed for good, naming the ingress's refusal.
    expect(error).to.be.instanceOf(ProposalFailedError);
    expect(error.message).to.equal(
      `proposal ${refused} failed: RulesLockOutCouncil(rules=${lockout}, executor=${await c1.signer.getAddress()}, registry=${registry})`,
    );

    const accepted = await c0.proposeSetRules(ingressAddress, open);
    await c1.approve(accepted);
    await c1.execute(accepted);
    expect(await ingress.rules()).to.equal(open);
  });

  it("validates inputs before sending anything", async function () {
    const { contracts, police } = await networkHelpers.loadFixture(consortium);
    const investigator = new Investigator(contracts, police.signer);
    const before = await connection.ethers.provider.getBlockNumber();
    const now = Number(await investigator.now());
    await expectRejected(
      investigator.openCase({
        caseNumber: "C",
        caseKey: generateCaseKey(),
        legalBasis: "x",
        scope: [1],
        expiresAt: now - 1,
      }),
      /^expiresAt: .*not in the future/,
    );
    await expectRejected(
      investigator.request({
        caseId: 1n,
        provider: 0,
        datasetId: 1n,
        subject: { type: "phone", identifier: "+49 30 901820" },
        caseKey: generateCaseKey(),
        purposeCode: 1,
      }),
      /^provider: 0 is outside/,
    );
    await expectRejected(
      new CouncilMember(contracts, police.signer).proposeAdmit({
        kind: "BANK",
        metadataCommitment: "0x00",
        signingKey: police.signer.address,
      }),
      /metadataCommitment/,
    );
    expect(await connection.ethers.provider.getBlockNumber()).to.equal(before);
  });

  it("leaves errors it cannot decode unchanged", function () {
    const plain = new Error("socket hang up");
    expect(decodeRevert(plain)).to.equal(plain);
    const unknown = { data: "0xdeadbeef" };
    expect(decodeRevert(unknown)).to.equal(unknown);
  });
});

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (error) {
    if (error instanceof Error) return error;
    throw new Error(`rejected with a non-error: ${String(error)}`);
  }
  throw new Error("expected a rejection");
}

async function expectRejected(p: Promise<unknown>, message: RegExp): Promise<void> {
  const error = await rejection(p);
  expect(error.message).to.match(message);
}
