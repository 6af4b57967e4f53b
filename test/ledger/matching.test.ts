import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Signer, TypedDataDomain } from "ethers";
import { network } from "hardhat";
import type { NetworkConnection } from "hardhat/types/network";
import {
  Auditor,
  DataKind,
  Investigator,
  MatchFailure,
  Provider,
  Supervisor,
  connectConsortium,
  failMatchSession,
  generateCaseKey,
  hashDocument,
  matchResponseOf,
  matchResultOf,
  matchSession,
  matchingDomain,
  newSessionTag,
  openMatchSession,
  recordMatchResponse,
  recordMatchResult,
  signMatchResponse,
  signMatchResult,
  writeDeployment,
  type ConsortiumContracts,
  type DeploymentRecord,
  type MatchMode,
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
 * Matching sessions on anvil (which enforces the contract size limit), read back by the tracer:
 * one case, one granted request of the police to the bank, four sessions under it: completed in
 * psi mode, completed in cardinality mode, failed by the bank, and one left responded past its
 * grant's expiry.
 */
describe("tracer: matching sessions in the chain of custody", function () {
  let chain: LocalChain;
  let record: DeploymentRecord;
  let contracts: ConsortiumContracts;
  let cast: Cast;
  let store: Store;
  let relayer: Signer;
  let caseId: bigint;
  let requestId: bigint;
  let dir: string;
  let policeKey: string;
  let bankKey: string;
  let provider: NetworkConnection["ethers"]["provider"];

  /** Opens a session as the police, records the bank's response; returns the session id. */
  async function openAndRespond(
    domain: TypedDataDomain,
    mode: MatchMode,
    setSize: number,
    providerSetSize: number,
  ): Promise<bigint> {
    const sessionId = await openMatchSession(contracts, cast.police.signer, {
      requestId,
      mode,
      tag: newSessionTag(),
      requestDigest: hashDocument(`request message of a ${mode} session`),
      setSize,
    });
    const open = await matchSession(contracts, sessionId);
    if (open === undefined) throw new Error("session not recorded");
    const response = matchResponseOf(open, {
      responseDigest: hashDocument(`response message ${sessionId}`),
      providerSetSize,
    });
    const signature = await signMatchResponse(cast.bank.signer, domain, response);
    await recordMatchResponse(contracts, cast.police.signer, response, {
      signer: bankKey,
      signature,
    });
    return sessionId;
  }

  async function complete(domain: TypedDataDomain, sessionId: bigint, cardinality: number) {
    const responded = await matchSession(contracts, sessionId);
    if (responded === undefined) throw new Error("session not recorded");
    const result = matchResultOf(responded, {
      resultCommitment: hashDocument(`result ${sessionId}`),
      cardinality,
    });
    await recordMatchResult(
      contracts,
      relayer,
      result,
      { signer: bankKey, signature: await signMatchResult(cast.bank.signer, domain, result) },
      { signer: policeKey, signature: await signMatchResult(cast.police.signer, domain, result) },
    );
  }

  before(async function () {
    chain = await startLocalChain("anvil");
    const connection = await network.create({ network: "localhost", override: { url: chain.url } });
    provider = connection.ethers.provider;
    const signers = await connection.ethers.getSigners();
    const founders = await Promise.all(
      signers.slice(0, 3).map(async (s, i) => ({
        kind: "AUDITOR",
        metadataCommitment: hashDocument(`founder ${i}`),
        signingKey: await s.getAddress(),
      })),
    );
    record = await deployConsortium(connection, founders, 2, {
      deploymentId: `matching-${Date.now()}`,
      ephemeral: true,
    });
    contracts = connectConsortium(record, connection.ethers.provider);
    cast = await onboard(contracts, signers);
    const r = signers[9];
    if (r === undefined) throw new Error("signer");
    relayer = r;
    policeKey = (await cast.police.signer.getAddress()).toLowerCase();
    bankKey = (await cast.bank.signer.getAddress()).toLowerCase();

    const police = new Investigator(contracts, cast.police.signer);
    const now = Number(await police.now());
    ({ caseId } = await police.openCase({
      caseNumber: "PSI-2026-1",
      caseKey: generateCaseKey(),
      legalBasis: "order",
      scope: [DataKind.BankTransactions],
      expiresAt: now + 365 * DAY,
    }));
    await new Supervisor(contracts, cast.prosecutor.signer).approveCase(caseId);
    ({ requestId } = await police.request({
      caseId,
      provider: cast.bank.id,
      datasetId: cast.bank.dataset,
      subject: { type: "phone", identifier: "+41791234567" },
      caseKey: generateCaseKey(),
      purposeCode: 1,
    }));
    await new Provider(contracts, cast.bank.signer).grant(requestId, {
      expiresAt: now + 2 * DAY,
      maxRecords: 1000,
    });

    const domain = await matchingDomain(contracts);
    await complete(domain, await openAndRespond(domain, "psi", 120, 500), 7);
    await complete(domain, await openAndRespond(domain, "cardinality", 10, 40), 4);
    const failed = await openMatchSession(contracts, cast.police.signer, {
      requestId,
      mode: "psi",
      tag: newSessionTag(),
      requestDigest: hashDocument("a request the bank could not parse"),
      setSize: 5,
    });
    await failMatchSession(contracts, cast.bank.signer, failed, MatchFailure.MalformedMessage);
    await openAndRespond(domain, "psi", 1, 9);

    // Past the grant's expiry and the day of grace of unfinished-match-session.
    const rpc = new RpcClient(chain.url, { maxRetries: 0 });
    await rpc.call("evm_increaseTime", [4 * DAY]);
    await rpc.call("evm_mine", []);

    store = await Store.open(await openMemoryDatabase());
    await new Indexer(store, new RpcClient(chain.url), record, { finalityDepth: 0 }).syncOnce();
    dir = mkdtempSync(path.join(tmpdir(), "veritrace-matching-"));
  });

  after(async function () {
    await store?.close();
    await chain?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it("stores the four events with their case, request, parties and signer", async function () {
    const rows = await store.db.query<{
      event: string;
      case_id: string;
      request_id: string;
      actor: number;
      counterpart: number | null;
      signer: string;
    }>(
      `SELECT event, case_id::text AS case_id, request_id::text AS request_id, actor, counterpart, signer
         FROM events WHERE event LIKE 'Match%' ORDER BY block_number, log_index`,
    );
    expect(rows.map((r) => r.event)).to.deep.equal([
      "MatchSessionOpened",
      "MatchResponseRecorded",
      "MatchCompleted",
      "MatchSessionOpened",
      "MatchResponseRecorded",
      "MatchCompleted",
      "MatchSessionOpened",
      "MatchFailed",
      "MatchSessionOpened",
      "MatchResponseRecorded",
    ]);
    const relayerKey = (await relayer.getAddress()).toLowerCase();
    const { police, bank } = { police: cast.police.id, bank: cast.bank.id };
    const expected: Record<string, [number, number | null, string]> = {
      MatchSessionOpened: [police, bank, policeKey],
      MatchResponseRecorded: [bank, police, policeKey],
      MatchCompleted: [police, bank, relayerKey],
      MatchFailed: [bank, null, bankKey],
    };
    for (const r of rows) {
      expect([r.case_id, r.request_id]).to.deep.equal([caseId.toString(), requestId.toString()]);
      expect([
        Number(r.actor),
        r.counterpart === null ? null : Number(r.counterpart),
        r.signer,
      ]).to.deep.equal(expected[r.event]);
    }
  });

  it("shows every session in the case's chain of custody, in words", async function () {
    const report = await caseReport(store.db, caseId.toString());
    const matching = report.custody.filter((e) => e.step.startsWith("match-"));
    expect(matching.map((e) => [e.step, e.action])).to.deep.equal([
      ["match-opening", "match session 1 opened (psi, 120 identifiers)"],
      ["match-response", "match session 1: response committed (500 provider elements)"],
      ["match-completion", "match session 1 completed: 7 matches"],
      ["match-opening", "match session 2 opened (cardinality, 10 identifiers)"],
      ["match-response", "match session 2: response committed (40 provider elements)"],
      ["match-completion", "match session 2 completed: cardinality 4"],
      ["match-opening", "match session 3 opened (psi, 5 identifiers)"],
      ["match-failure", "match session 3 failed: malformed message"],
      ["match-opening", "match session 4 opened (psi, 1 identifier)"],
      ["match-response", "match session 4: response committed (9 provider elements)"],
    ]);
    expect(report.counts["match-opening"]).to.equal(4);
    for (const e of matching) expect(e.requestId).to.equal(requestId.toString());
    const [opening, response, completion] = matching;
    expect([opening?.institution, opening?.institutionKind, opening?.signer]).to.deep.equal([
      cast.police.id,
      "POLICE",
      policeKey,
    ]);
    // The response is the bank's: its institution and its signing key, whoever submitted it.
    expect([response?.institution, response?.institutionKind, response?.signer]).to.deep.equal([
      cast.bank.id,
      "BANK",
      bankKey,
    ]);
    expect(completion?.details).to.deep.include({
      sessionId: "1",
      cardinality: "7",
      mode: "psi",
      provider: cast.bank.id,
      providerSigner: bankKey,
      submitter: (await relayer.getAddress()).toLowerCase(),
    });
    expect(completion?.signer).to.equal(policeKey);
    expect(matching[7]?.details).to.deep.equal({
      sessionId: "3",
      reasonCode: 1,
      reason: "malformed message",
    });
    expect(report.custody.every((e) => e.action.length > 0)).to.equal(true);
  });

  it("flags the session left responded past its grant's expiry", async function () {
    const found = (await detectAnomalies(store.db)).filter(
      (a) => a.rule === "unfinished-match-session",
    );
    expect(found).to.have.length(1);
    expect(found[0]?.details).to.deep.include({ sessionId: "4", status: "responded" });
    expect(found[0]?.severity).to.equal("medium");
    expect(found[0]?.participants).to.deep.equal([cast.police.id, cast.bank.id]);
  });

  it("lists the sessions in the client's on-chain case history", async function () {
    const auditor = new Auditor(contracts, provider, record);
    const history = await auditor.caseHistory(caseId);
    expect(history.filter((e) => e.contract === "MatchingLedger")).to.have.length(10);
  });

  it("prints the actions in `veritrace case`", async function () {
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
    expect(table.stdout).to.match(/match-completion .* match session 1 completed: 7 matches/);
    expect(table.stdout).to.match(/match session 3 failed: malformed message/);
  });
});
