import { expect } from "chai";
import { network } from "hardhat";
import type { Signer } from "ethers";
import {
  CouncilMember,
  DataKind,
  Investigator,
  Supervisor,
  connectConsortium,
  generateCaseKey,
  hashDocument,
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

const DAY = 86_400;

/**
 * Custody of withdrawn requests, replaced extension requests and case number commitments two
 * openers share, read back from a real chain.
 */
describe("tracer: custody of withdrawals, replaced extensions and shared commitments", function () {
  let chain: LocalChain;
  let record: DeploymentRecord;
  let contracts: ConsortiumContracts;
  let cast: Cast;
  let store: Store;
  let caseId: bigint;
  let requestId: bigint;
  let shared: { commitment: string; theirs: bigint };
  let times: { first: number; second: number };

  before(async function () {
    chain = await startLocalChain("anvil");
    const connection = await network.create({ network: "localhost", override: { url: chain.url } });
    const signers: Signer[] = await connection.ethers.getSigners();
    const at = (i: number): Signer => {
      const s = signers[i];
      if (s === undefined) throw new Error(`signer ${i} missing`);
      return s;
    };
    const founders = await Promise.all(
      signers.slice(0, 3).map(async (s, i) => ({
        kind: "AUDITOR",
        metadataCommitment: hashDocument(`founder ${i}`),
        signingKey: await s.getAddress(),
      })),
    );
    record = await deployConsortium(connection, founders, 2, {
      deploymentId: `custody-${Date.now()}`,
      ephemeral: true,
    });
    contracts = connectConsortium(record, connection.ethers.provider);
    cast = await onboard(contracts, signers);

    const investigator = new Investigator(contracts, cast.police.signer);
    const supervisor = new Supervisor(contracts, cast.prosecutor.signer);
    const now = Number(await investigator.now());
    const caseKey = generateCaseKey();
    const opened = await investigator.openCase({
      caseNumber: "CUSTODY-1",
      caseKey,
      legalBasis: "order",
      scope: [DataKind.BankTransactions],
      expiresAt: now + 30 * DAY,
    });
    caseId = opened.caseId;
    await supervisor.approveCase(caseId);
    times = { first: now + 60 * DAY, second: now + 90 * DAY };
    await investigator.requestExtension(caseId, times.first);
    await investigator.requestExtension(caseId, times.second);
    await supervisor.approveExtension(caseId, times.second);
    ({ requestId } = await investigator.request({
      caseId,
      provider: cast.bank.id,
      datasetId: cast.bank.dataset,
      subject: { type: "bankAccount", identifier: "ACC42" },
      caseKey,
      purposeCode: 1,
    }));
    await investigator.withdrawRequest(requestId);

    // A second police bureau opens a case with the same commitment (copied from the first).
    const [c0, c1] = [new CouncilMember(contracts, at(0)), new CouncilMember(contracts, at(1))];
    const p = await c0.proposeAdmit({
      kind: "POLICE",
      metadataCommitment: hashDocument("police 2"),
      signingKey: await at(7).getAddress(),
    });
    await c1.approve(p);
    await c1.executeAdmission(p);
    const copier = at(7);
    const tx = await contracts.cases
      .connect(copier)
      .openCase(opened.caseNumberCommitment, hashDocument("copy"), 1n, now + 10 * DAY);
    await tx.wait();
    shared = { commitment: opened.caseNumberCommitment, theirs: await contracts.cases.caseCount() };

    store = await Store.open(await openMemoryDatabase());
    await new Indexer(store, new RpcClient(chain.url), record, { finalityDepth: 0 }).syncOnce();
  });

  after(async function () {
    await store?.close();
    await chain?.stop();
  });

  it("shows a withdrawn request as a withdrawal step by the requester, with its signer", async function () {
    const report = await caseReport(store.db, String(caseId));
    const withdrawal = report.custody.find((e) => e.step === "withdrawal");
    expect(withdrawal?.event).to.equal("AccessRequestWithdrawn");
    expect(withdrawal?.requestId).to.equal(String(requestId));
    expect(withdrawal?.institution).to.equal(cast.police.id);
    expect(withdrawal?.institutionKind).to.equal("POLICE");
    expect(withdrawal?.signer).to.equal((await cast.police.signer.getAddress()).toLowerCase());
    expect(withdrawal?.action).to.equal(`request to institution ${cast.bank.id} withdrawn`);
    expect(report.counts["withdrawal"]).to.equal(1);
    expect(report.custody.map((e) => e.step).slice(-2)).to.deep.equal(["request", "withdrawal"]);
  });

  it("does not report a withdrawn request as an anomaly", async function () {
    const found = await detectAnomalies(store.db);
    expect(found.filter((a) => a.caseId === String(caseId))).to.deep.equal([]);
  });

  it("names the request a replacing extension request replaced, and the expiry approved", async function () {
    const report = await caseReport(store.db, String(caseId));
    const requests = report.custody.filter((e) => e.step === "extension-request");
    expect(requests.map((e) => e.details)).to.deep.equal([
      { newExpiry: times.first },
      { newExpiry: times.second, replacedExpiry: times.first },
    ]);
    expect(requests[1]?.action).to.match(/^extension to .* requested, replacing the request for /);
    expect(report.expiresAt).to.equal(times.second);
  });

  it("refuses a case number commitment two openers used, naming both cases", async function () {
    let error: Error | null = null;
    try {
      await caseReport(store.db, shared.commitment);
    } catch (e) {
      error = e as Error;
    }
    expect(error?.message).to.equal(
      `case number commitment ${shared.commitment} names cases ${caseId}, ${shared.theirs} (of different openers): give the case id`,
    );
    expect((await caseReport(store.db, String(shared.theirs))).caseNumberCommitment).to.equal(
      shared.commitment,
    );
  });
});
