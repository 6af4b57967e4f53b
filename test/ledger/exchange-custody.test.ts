import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Signer } from "ethers";
import { network } from "hardhat";
import {
  DataKind,
  Investigator,
  Provider,
  Supervisor,
  connectConsortium,
  generateCaseKey,
  generateEncryptionIdentity,
  hashDocument,
  offerOnLedger,
  recordPurge,
  registerEncryptionKey,
  submitDelivery,
  writeDeployment,
  type ConsortiumContracts,
  type DeploymentRecord,
} from "../../src/client/index.js";
import { detectAnomalies } from "../../src/ledger/anomalies.js";
import { caseReport } from "../../src/ledger/queries.js";
import { Indexer } from "../../src/ledger/indexer.js";
import { RpcClient } from "../../src/chain/rpc.js";
import { openMemoryDatabase } from "../../src/db/db.js";
import { Store } from "../../src/db/store.js";
import { deployConsortium } from "../../scripts/lib/deploy.js";
import { onboard, type Cast } from "../../scripts/lib/activity.js";
import { startLocalChain, type LocalChain } from "../../scripts/lib/local-chain.js";
import { runVeritrace } from "../helpers/tracer.js";

const DAY = 86_400;

/**
 * Sealed deliveries on anvil, read back by the tracer: under one granted request of the police to
 * the bank, delivery 0 offered, acknowledged (co-signed) and purged; delivery 1 offered and left
 * unacknowledged for eight days.
 */
describe("tracer: the exchange states of deliveries", function () {
  let chain: LocalChain;
  let record: DeploymentRecord;
  let contracts: ConsortiumContracts;
  let cast: Cast;
  let store: Store;
  let caseId: bigint;
  let requestId: bigint;
  let recipientKeyId: bigint;
  let dir: string;
  const ciphertext = [hashDocument("ciphertext 0"), hashDocument("ciphertext 1")];

  before(async function () {
    dir = mkdtempSync(path.join(tmpdir(), "veritrace-exchange-custody-"));
    chain = await startLocalChain("anvil");
    const connection = await network.create({ network: "localhost", override: { url: chain.url } });
    const signers: Signer[] = await connection.ethers.getSigners();
    const founders = await Promise.all(
      signers.slice(0, 3).map(async (s, i) => ({
        kind: "AUDITOR",
        metadataCommitment: hashDocument(`founder ${i}`),
        signingKey: await s.getAddress(),
      })),
    );
    record = await deployConsortium(connection, founders, 2, {
      deploymentId: `exchange-custody-${Date.now()}`,
      ephemeral: true,
    });
    contracts = connectConsortium(record, connection.ethers.provider);
    cast = await onboard(contracts, signers);
    const relayer = signers[9];
    if (relayer === undefined) throw new Error("signer 9 missing");

    const investigator = new Investigator(contracts, cast.police.signer);
    const bank = new Provider(contracts, cast.bank.signer);
    const now = Number(await investigator.now());
    const caseKey = generateCaseKey();
    ({ caseId } = await investigator.openCase({
      caseNumber: "EXCHANGE-1",
      caseKey,
      legalBasis: "order",
      scope: [DataKind.BankTransactions],
      expiresAt: now + 90 * DAY,
    }));
    await new Supervisor(contracts, cast.prosecutor.signer).approveCase(caseId);
    ({ requestId } = await investigator.request({
      caseId,
      provider: cast.bank.id,
      datasetId: cast.bank.dataset,
      subject: { type: "bankAccount", identifier: "ACC7" },
      caseKey,
      purposeCode: 1,
    }));
    await bank.grant(requestId, { expiresAt: now + 60 * DAY, maxRecords: 100 });
    ({ keyId: recipientKeyId } = await registerEncryptionKey(
      contracts,
      cast.police.signer,
      (await generateEncryptionIdentity()).publicKey,
    ));

    const payload = "accounts export";
    const offer = (sequence: number) =>
      offerOnLedger(contracts, cast.bank.signer, {
        requestId,
        sequence,
        payloadHash: hashDocument(`${payload} ${sequence}`),
        ciphertextHash: ciphertext[sequence] ?? "",
        ciphertextBytes: 4096n + BigInt(sequence),
        recipientKeyId,
        retentionSeconds: DAY,
      });
    await offer(0);
    const { delivery, signature } = await bank.prepareDelivery(requestId, `${payload} 0`, 3);
    const ack = await investigator.acknowledge(delivery, `${payload} 0`);
    await submitDelivery(
      contracts,
      relayer,
      delivery,
      { signer: await cast.bank.signer.getAddress(), signature },
      { signer: await cast.police.signer.getAddress(), signature: ack },
    );
    await recordPurge(contracts, cast.bank.signer, requestId, 0, "retention");
    await offer(1);
    const rpc = new RpcClient(chain.url);
    await rpc.call("evm_increaseTime", [8 * DAY]);
    await rpc.call("evm_mine", []);

    store = await Store.open(await openMemoryDatabase());
    await new Indexer(store, rpc, record, { finalityDepth: 0 }).syncOnce();
  });

  after(async function () {
    await store?.close();
    await chain?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it("shows offers and purges as custody steps of the provider, toward the requester", async function () {
    const report = await caseReport(store.db, String(caseId));
    const steps = report.custody.map((e) => e.step);
    expect(steps.slice(-6)).to.deep.equal([
      "grant",
      "offer",
      "delivery",
      "acknowledgement",
      "purge",
      "offer",
    ]);
    const offered = report.custody.find((e) => e.step === "offer");
    expect(offered?.institution).to.equal(cast.bank.id);
    expect(offered?.signer).to.equal((await cast.bank.signer.getAddress()).toLowerCase());
    expect(offered?.action).to.equal(
      `offer 1 of delivery 0: 4096 bytes sealed to key ${recipientKeyId}`,
    );
    expect(offered?.details).to.deep.include({
      offerId: "1",
      sequence: 0,
      requester: cast.police.id,
      ciphertextHash: ciphertext[0],
      retentionSeconds: DAY,
    });
    const purged = report.custody.find((e) => e.step === "purge");
    expect(purged?.action).to.equal("offer 1 of delivery 0 purged (retention)");
    expect(report.counts["offer"]).to.equal(2);
    expect(report.counts["purge"]).to.equal(1);
  });

  it("gives each delivery's states: offered, acknowledged and purged, with their times", async function () {
    const report = await caseReport(store.db, String(caseId));
    const [first, second] = report.exchanges;
    expect(report.exchanges).to.have.length(2);
    expect(first).to.deep.include({
      requestId: String(requestId),
      sequence: 0,
      provider: cast.bank.id,
      requester: cast.police.id,
      state: "purged",
      offerId: "1",
      supersededOffers: [],
    });
    expect(first?.offered).to.deep.include({
      ciphertextHash: ciphertext[0],
      ciphertextBytes: "4096",
      recipientKeyId: String(recipientKeyId),
      retentionSeconds: DAY,
    });
    expect(first?.acknowledged?.deliveryId).to.equal("1");
    expect(first?.purged?.reason).to.equal("retention");
    const times = [first?.offered?.time, first?.acknowledged?.time, first?.purged?.time];
    expect(times.every((t) => typeof t === "number")).to.equal(true);
    expect(times).to.deep.equal([...times].sort());
    expect(second).to.deep.include({ sequence: 1, state: "offered", offerId: "2" });
    expect(second?.acknowledged).to.equal(null);
    expect(second?.purged).to.equal(null);
  });

  it("flags the offer left unacknowledged, and not the one acknowledged and purged", async function () {
    const found = (await detectAnomalies(store.db)).filter((a) => a.caseId === String(caseId));
    expect(found.map((a) => a.rule)).to.deep.equal(["unacknowledged-offer"]);
    expect(found[0]?.details).to.deep.include({ offerId: "2", sequence: 1 });
  });

  it("prints the exchange states in `veritrace case`, and gives them in --json", async function () {
    const deploymentFile = path.join(dir, "deployment.json");
    writeDeployment(deploymentFile, record);
    const db = path.join(dir, "db");
    const indexed = await runVeritrace([
      "index",
      "--rpc",
      chain.url,
      "--deployment",
      deploymentFile,
      "--db",
      db,
    ]);
    expect(indexed.code, indexed.stderr).to.equal(0);
    const table = await runVeritrace(["case", caseId.toString(), "--db", db]);
    expect(table.code, table.stderr).to.equal(0);
    expect(table.stdout).to.match(/offer 1 of delivery 0: 4096 bytes sealed to key/);
    expect(table.stdout).to.match(/^exchanges /m);
    expect(table.stdout).to.match(/ purged +.*\(retention\)/);
    const json = await runVeritrace(["case", caseId.toString(), "--db", db, "--json"]);
    expect(json.code, json.stderr).to.equal(0);
    const parsed = JSON.parse(json.stdout) as { exchanges: { state: string }[] };
    expect(parsed.exchanges.map((x) => x.state)).to.deep.equal(["purged", "offered"]);
  });
});
