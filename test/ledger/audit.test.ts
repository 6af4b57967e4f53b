import { expect } from "chai";
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { network } from "hardhat";
import type { Signer } from "ethers";
import {
  Provider,
  buildLogBatch,
  connectConsortium,
  hashDocument,
  proofOf,
  writeDeployment,
  type ConsortiumContracts,
  type DeploymentRecord,
} from "../../src/client/index.js";
import {
  caseReport,
  institutionReport,
  subjectReport,
  verifyDelivery,
  verifyEntry,
} from "../../src/ledger/queries.js";
import { Indexer } from "../../src/ledger/indexer.js";
import { RpcClient } from "../../src/chain/rpc.js";
import { openMemoryDatabase } from "../../src/db/db.js";
import { Store } from "../../src/db/store.js";
import { deployConsortium } from "../../scripts/lib/deploy.js";
import { onboard, runCases, type Cast } from "../../scripts/lib/activity.js";
import { startLocalChain, type LocalChain } from "../../scripts/lib/local-chain.js";
import { runVeritrace } from "../helpers/tracer.js";

const run = promisify(execFile);

/** Runs the CLI; returns exit code, stdout and stderr. */
async function veritrace(
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run("node", ["bin/veritrace.mjs", ...args], {
      encoding: "utf8",
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe("tracer: audit queries and commands", function () {
  let chain: LocalChain;
  let record: DeploymentRecord;
  let contracts: ConsortiumContracts;
  let cast: Cast;
  let store: Store;
  let dir: string;
  let deploymentFile: string;
  let signers: Signer[];
  let subjectOfCase1: string;
  const anchorBatch = buildLogBatch([{ n: 0 }, { n: 1 }, { n: 2 }]);

  before(async function () {
    chain = await startLocalChain("anvil");
    const connection = await network.create({ network: "localhost", override: { url: chain.url } });
    signers = await connection.ethers.getSigners();
    const founders = await Promise.all(
      signers.slice(0, 3).map(async (s, i) => ({
        kind: "AUDITOR",
        metadataCommitment: hashDocument(`founder ${i}`),
        signingKey: await s.getAddress(),
      })),
    );
    record = await deployConsortium(connection, founders, 2, {
      deploymentId: `audit-${Date.now()}`,
      ephemeral: true,
    });
    contracts = connectConsortium(record, connection.ethers.provider);
    cast = await onboard(contracts, signers);
    const relayer = signers[9];
    if (relayer === undefined) throw new Error("signer");
    await runCases(contracts, cast, 3, 4, relayer);
    // One more batch by the bank, with entries we keep for the verify-entry checks.
    await new Provider(contracts, cast.bank.signer).anchorLog(0n, [{ n: 0 }, { n: 1 }, { n: 2 }]);
    store = await Store.open(await openMemoryDatabase());
    await new Indexer(store, new RpcClient(chain.url), record, { finalityDepth: 4 }).syncOnce();
    const rows = await store.db.query<{ subject: string }>(
      "SELECT subject FROM events WHERE event = 'AccessRequested' AND case_id = 1 ORDER BY block_number LIMIT 1",
    );
    subjectOfCase1 = rows[0]?.subject ?? "";
    dir = mkdtempSync(path.join(tmpdir(), "veritrace-audit-"));
    deploymentFile = path.join(dir, "deployment.json");
    writeDeployment(deploymentFile, record);
  });

  after(async function () {
    await store?.close();
    await chain?.stop();
  });

  describe("caseReport", function () {
    it("lists the custody of a case in chain order, with acting institutions and signers", async function () {
      const report = await caseReport(store.db, "1");
      expect(report.status).to.equal("closed");
      expect(report.opener).to.equal(cast.police.id);
      expect(report.approver).to.equal(cast.prosecutor.id);
      const steps = report.custody.map((e) => e.step);
      expect(steps[0]).to.equal("opening");
      expect(steps[1]).to.equal("approval");
      expect(steps.at(-1)).to.equal("closure");
      expect(steps.filter((s) => s === "request")).to.have.length(4);
      expect(steps.filter((s) => s === "delivery")).to.have.length(3);
      expect(steps.filter((s) => s === "acknowledgement")).to.have.length(3);
      expect(steps.filter((s) => s === "denial")).to.have.length(1);
      expect(steps).to.include("anchor");
      const order = report.custody.map((e) => [e.blockNumber, e.txIndex, e.logIndex]);
      const sorted = [...order].sort(
        (a, b) =>
          (a[0] ?? 0) - (b[0] ?? 0) || (a[1] ?? 0) - (b[1] ?? 0) || (a[2] ?? 0) - (b[2] ?? 0),
      );
      expect(order).to.deep.equal(sorted);
      const policeKey = (await cast.police.signer.getAddress()).toLowerCase();
      const opening = report.custody[0];
      expect(opening?.signer).to.equal(policeKey);
      expect(opening?.institutionKind).to.equal("POLICE");
      const ack = report.custody.find((e) => e.step === "acknowledgement");
      expect(ack?.institution).to.equal(cast.police.id);
      expect(ack?.signer).to.equal(policeKey);
    });

    it("finds a case by its case number commitment", async function () {
      const byId = await caseReport(store.db, "2");
      const byCommitment = await caseReport(store.db, byId.caseNumberCommitment);
      expect(byCommitment.caseId).to.equal("2");
      expect(byCommitment.custody).to.deep.equal(byId.custody);
    });

    it("reports an unknown case", async function () {
      await expectRejection(caseReport(store.db, "99"), /unknown case 99/);
      await expectRejection(
        caseReport(store.db, `0x${"ab".repeat(32)}`),
        /no case with case number commitment/,
      );
      await expectRejection(caseReport(store.db, "x1"), /not a case id/);
    });
  });

  describe("institutionReport", function () {
    it("gives the requester's activity per case", async function () {
      const r = await institutionReport(store.db, String(cast.police.id));
      expect(r.institution.kind).to.equal("POLICE");
      expect(
        r.cases.map((c) => [c.caseId, c.role, c.requests, c.granted, c.denied, c.deliveries]),
      ).to.deep.equal([
        ["1", "requester", 4, 3, 1, 3],
        ["2", "requester", 4, 3, 1, 3],
        ["3", "requester", 4, 3, 1, 3],
      ]);
    });

    it("gives the provider's activity per case, found by its address", async function () {
      const r = await institutionReport(store.db, await cast.bank.signer.getAddress());
      expect(r.institution.id).to.equal(cast.bank.id);
      // Requests 0 and 2 of each case go to the bank; request 2 is denied.
      expect(
        r.cases.map((c) => [
          c.caseId,
          c.role,
          c.requests,
          c.granted,
          c.denied,
          c.deliveries,
          c.records,
        ]),
      ).to.deep.equal([
        ["1", "provider", 2, 1, 1, 1, "3"],
        ["2", "provider", 2, 1, 1, 1, "3"],
        ["3", "provider", 2, 1, 1, 1, "3"],
      ]);
    });

    it("lists the prosecutor as a case party", async function () {
      const r = await institutionReport(store.db, String(cast.prosecutor.id));
      expect(r.cases.map((c) => c.role)).to.deep.equal(["case party", "case party", "case party"]);
    });

    it("reports unknown institutions", async function () {
      await expectRejection(institutionReport(store.db, "77"), /unknown institution 77/);
      await expectRejection(
        institutionReport(store.db, `0x${"12".repeat(20)}`),
        /no institution has signing key/,
      );
    });
  });

  describe("subjectReport", function () {
    it("finds the cases that queried a subject", async function () {
      const r = await subjectReport(store.db, subjectOfCase1);
      expect(r.cases.map((c) => c.caseId)).to.deep.equal(["1"]);
      expect(r.cases[0]?.requesters).to.deep.equal([cast.police.id]);
    });
    it("returns no case for an unknown subject and rejects a malformed one", async function () {
      expect((await subjectReport(store.db, `0x${"cd".repeat(32)}`)).cases).to.deep.equal([]);
      await expectRejection(subjectReport(store.db, "0x12"), /not a subject commitment/);
    });
  });

  describe("verifyDelivery", function () {
    it("re-checks both signatures of every delivery", async function () {
      for (const id of ["1", "2", "3", "4", "5", "6", "7", "8", "9"]) {
        const v = await verifyDelivery(store.db, record, id);
        expect(v.valid, `delivery ${id}`).to.equal(true);
        expect(v.requester.institution).to.equal(cast.police.id);
      }
    });
    it("fails a delivery whose stored signature was altered", async function () {
      const db = await openMemoryDatabase();
      const copy = await Store.open(db);
      try {
        const rows = await store.db.query<Record<string, unknown>>(
          "SELECT * FROM events ORDER BY block_number, log_index",
        );
        for (const r of rows) {
          const args = r["args"] as Record<string, unknown>;
          if (r["event"] === "DeliveryAttested" && String(r["delivery_id"]) === "1") {
            const p = args["provider"] as Record<string, string>;
            const sig = p["signature"] ?? "";
            p["signature"] = `${sig.slice(0, 10)}${sig[10] === "0" ? "1" : "0"}${sig.slice(11)}`;
          }
          await db.query(
            `INSERT INTO events (block_number, log_index, tx_index, tx_hash, block_hash, block_time, contract, event, case_id,
               request_id, delivery_id, anchor_id, dataset_id, proposal_id, actor, counterpart, signer, subject, args)
             VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19)`,
            [
              r["block_number"],
              r["log_index"],
              r["tx_index"],
              r["tx_hash"],
              r["block_hash"],
              r["block_time"],
              r["contract"],
              r["event"],
              r["case_id"],
              r["request_id"],
              r["delivery_id"],
              r["anchor_id"],
              r["dataset_id"],
              r["proposal_id"],
              r["actor"],
              r["counterpart"],
              r["signer"],
              r["subject"],
              JSON.stringify(args),
            ],
          );
        }
        const v = await verifyDelivery(copy.db, record, "1");
        expect(v.provider.valid).to.equal(false);
        expect(v.requester.valid).to.equal(true);
        expect(v.valid).to.equal(false);
      } finally {
        await copy.close();
      }
    });
    it("reports an unknown delivery", async function () {
      await expectRejection(verifyDelivery(store.db, record, "999"), /unknown delivery 999/);
    });
  });

  describe("verifyEntry", function () {
    it("proves an entry of the bank's batch and refuses a changed one", async function () {
      const anchors = await store.db.query<{ anchor_id: string }>(
        "SELECT anchor_id::text AS anchor_id FROM events WHERE event = 'LogAnchored' AND actor = $1",
        [cast.bank.id],
      );
      const anchorId = anchors[0]?.anchor_id ?? "";
      const good = await verifyEntry(store.db, anchorId, {
        index: 1,
        entry: { n: 1 },
        proof: proofOf(anchorBatch, 1),
      });
      expect(good.included).to.equal(true);
      expect(good.root).to.equal(anchorBatch.root);
      const bad = await verifyEntry(store.db, anchorId, {
        index: 1,
        entry: { n: 5 },
        proof: proofOf(anchorBatch, 1),
      });
      expect(bad.included).to.equal(false);
      await expectRejection(
        verifyEntry(store.db, "999", { index: 0, entry: {}, proof: [] }),
        /unknown anchor 999/,
      );
      await expectRejection(
        verifyEntry(store.db, anchorId, { index: 0, proof: [] }),
        /needs an entry or a 32-byte entryHash/,
      );
    });
  });

  describe("the veritrace command", function () {
    let db: string;
    before(async function () {
      db = path.join(dir, "db");
      const r = await veritrace(
        "index",
        "--rpc",
        chain.url,
        "--deployment",
        deploymentFile,
        "--db",
        db,
        "--finality",
        "4",
      );
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout).to.match(/indexed up to block \d+: \d+ new events/);
    });

    it("prints a case's custody as a table and as JSON equal to the query", async function () {
      const table = await veritrace("case", "1", "--db", db);
      expect(table.code).to.equal(0);
      expect(table.stdout).to.match(/case 1: closed/);
      expect(table.stdout).to.match(/acknowledgement/);
      const j = await veritrace("case", "1", "--db", db, "--json");
      expect(JSON.parse(j.stdout)).to.deep.equal(
        JSON.parse(JSON.stringify(await caseReport(store.db, "1"))),
      );
    });

    it("verifies a delivery (exit 0) and an entry file (exit 0 / 1)", async function () {
      expect((await veritrace("verify", "delivery", "2", "--db", db)).stdout).to.match(
        /both signatures verify/,
      );
      const anchors = await store.db.query<{ anchor_id: string }>(
        "SELECT anchor_id::text AS anchor_id FROM events WHERE event = 'LogAnchored' AND actor = $1",
        [cast.bank.id],
      );
      const file = path.join(dir, "entry.json");
      writeFileSync(
        file,
        JSON.stringify({ index: 2, entry: { n: 2 }, proof: proofOf(anchorBatch, 2) }),
      );
      const ok = await veritrace(
        "verify",
        "entry",
        "--anchor",
        anchors[0]?.anchor_id ?? "",
        "--entry",
        file,
        "--db",
        db,
      );
      expect(ok.code).to.equal(0);
      expect(ok.stdout).to.match(/IS included/);
      writeFileSync(
        file,
        JSON.stringify({ index: 2, entry: { n: 3 }, proof: proofOf(anchorBatch, 2) }),
      );
      const no = await veritrace(
        "verify",
        "entry",
        "--anchor",
        anchors[0]?.anchor_id ?? "",
        "--entry",
        file,
        "--db",
        db,
      );
      expect(no.code).to.equal(1);
      expect(no.stdout).to.match(/is NOT included/);
    });

    it("reads the entry file from stdin with --entry -", async function () {
      const [anchor] = await store.db.query<{ anchor_id: string }>(
        "SELECT anchor_id::text AS anchor_id FROM events WHERE event = 'LogAnchored' AND actor = $1",
        [cast.bank.id],
      );
      const args = ["verify", "entry", "--anchor", anchor?.anchor_id ?? "", "--entry", "-"];
      const entry = (n: number) =>
        JSON.stringify({ index: 1, entry: { n }, proof: proofOf(anchorBatch, 1) });
      const ok = await runVeritrace([...args, "--db", db, "--json"], {}, entry(1));
      expect(ok.code, ok.stderr).to.equal(0);
      expect(JSON.parse(ok.stdout)).to.include({ index: 1, included: true });
      const no = await runVeritrace([...args, "--db", db], {}, entry(5));
      expect(no.code, no.stderr).to.equal(1);
      expect(no.stdout).to.match(/is NOT included/);
      // Nothing on stdin: could not check (exit 3), the message naming stdin.
      const empty = await runVeritrace([...args, "--db", db], {}, "");
      expect(empty.code).to.equal(3);
      expect(empty.stderr.trim().split("\n")).to.have.length(1);
      expect(empty.stderr).to.match(/^veritrace verify entry: could not check: stdin: /);
    });

    it("answers bad input with one line and the right exit code", async function () {
      const unknown = await veritrace("case", "42", "--db", db);
      expect(unknown.code).to.equal(1);
      expect(unknown.stderr.trim().split("\n")).to.deep.equal(["veritrace case: unknown case 42"]);
      const usage = await veritrace("case", "--db", db);
      expect(usage.code).to.equal(2);
      expect(usage.stderr.trim().split("\n")).to.have.length(1);
      const flag = await veritrace("institution", "4", "--bogus");
      expect(flag.code).to.equal(2);
      const cmd = await veritrace("frobnicate");
      expect(cmd.code).to.equal(2);
    });

    it("has --help on every command", async function () {
      for (const c of [
        ["index"],
        ["case"],
        ["institution"],
        ["subject"],
        ["verify", "delivery"],
        ["verify", "entry"],
      ]) {
        const r = await veritrace(...c, "--help");
        expect(r.code, c.join(" ")).to.equal(0);
        expect(r.stdout).to.match(new RegExp(`^usage: veritrace ${c.join(" ")}`));
      }
    });
  });
});

async function expectRejection(p: Promise<unknown>, message: RegExp): Promise<void> {
  try {
    await p;
  } catch (error) {
    expect((error as Error).message).to.match(message);
    return;
  }
  throw new Error(`expected a rejection matching ${message}`);
}
