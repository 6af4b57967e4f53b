import { expect } from "chai";
import { execFile } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { network } from "hardhat";
import type { Signer } from "ethers";
import {
  CouncilMember,
  Exchange,
  Investigator,
  Supervisor,
  connectConsortium,
  generateCaseKey,
  hashDocument,
  writeDeployment,
  DataKind,
} from "../../src/client/index.js";
import { freezeReport } from "../../src/tracer/audit/freezes.js";
import { Indexer } from "../../src/tracer/indexer/sync.js";
import { RpcClient } from "../../src/tracer/indexer/rpc.js";
import { openDatabase } from "../../src/tracer/store/db.js";
import { Store } from "../../src/tracer/store/store.js";
import { deployConsortium } from "../../scripts/lib/deploy.js";
import { onboard } from "../../scripts/lib/activity.js";
import { startLocalChain, type LocalChain } from "../../scripts/lib/local-chain.js";

const run = promisify(execFile);
const TOKEN = "0xdac17f958d2ee523a2206206994597c13d831ec7";
const A = "0x1111111111111111111111111111111111111111";
const B = "0x2222222222222222222222222222222222222222";
const C = "0x3333333333333333333333333333333333333333";

describe("tracer: freeze requests, requested vs frozen", function () {
  let chain: LocalChain;
  let dir: string;
  let store: Store;
  let caseId: bigint;

  before(async function () {
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
    const record = await deployConsortium(connection, founders, 2, {
      deploymentId: `freezes-${Date.now()}`,
      ephemeral: true,
    });
    const contracts = connectConsortium(record, connection.ethers.provider);
    const cast = await onboard(contracts, signers);
    const exchangeSigner = signers[8];
    if (exchangeSigner === undefined) throw new Error("signer");
    const c0 = new CouncilMember(contracts, signers[0] as Signer);
    const c1 = new CouncilMember(contracts, signers[1] as Signer);
    const p = await c0.proposeAdmit({
      kind: "EXCHANGE",
      metadataCommitment: hashDocument("exchange"),
      signingKey: await exchangeSigner.getAddress(),
    });
    await c1.approve(p);
    const exchangeId = await c1.executeAdmission(p);

    const police = new Investigator(contracts, cast.police.signer);
    const now = Number(await police.now());
    ({ caseId } = await police.openCase({
      caseNumber: "FRZ-1",
      caseKey: generateCaseKey(),
      legalBasis: "freeze order",
      scope: [DataKind.ExchangeAccounts],
      expiresAt: now + 30 * 86_400,
    }));
    await new Supervisor(contracts, cast.prosecutor.signer).approveCase(caseId);
    const exchange = new Exchange(contracts, exchangeSigner);
    const ask = (items: { account: string; amount: bigint }[]) =>
      police.requestFreeze({
        caseId,
        exchange: exchangeId,
        chainId: 1,
        token: TOKEN,
        items,
        traceCommitment: hashDocument("trace report"),
      });
    // Executed in part, rejected, and still pending.
    const f1 = await ask([
      { account: A, amount: 1_000n },
      { account: B, amount: 500n },
    ]);
    await exchange.recordFrozen(f1, [700n, 500n], "freeze record 1");
    const f2 = await ask([{ account: C, amount: 300n }]);
    await exchange.rejectFreeze(f2, 4);
    await ask([{ account: C, amount: 250n }]);

    dir = mkdtempSync(path.join(tmpdir(), "veritrace-freezes-"));
    writeDeployment(path.join(dir, "deployment.json"), record);
    store = await Store.open(await openDatabase(path.join(dir, "db")));
    await new Indexer(store, new RpcClient(chain.url), record, { finalityDepth: 4 }).syncOnce();
  });

  after(async function () {
    await store?.close();
    await chain?.stop();
  });

  it("reports each account's requested and frozen amount with the request's status", async function () {
    const { lines } = await freezeReport(store.db, caseId.toString());
    expect(
      lines.map((l) => [l.freezeId, l.account, l.requested, l.frozen, l.status]),
    ).to.deep.equal([
      ["1", A, "1000", "700", "executed"],
      ["1", B, "500", "500", "executed"],
      ["2", C, "300", null, "rejected"],
      ["3", C, "250", null, "requested"],
    ]);
    expect(lines.every((l) => l.token === TOKEN && l.chainId === 1)).to.equal(true);
  });

  it("totals requested, frozen, pending and rejected per case and token", async function () {
    const { totals } = await freezeReport(store.db);
    expect(totals).to.deep.equal([
      {
        caseId: caseId.toString(),
        chainId: 1,
        token: TOKEN,
        requested: "2050",
        frozen: "1200",
        pending: "250",
        rejected: "300",
      },
    ]);
    expect((await freezeReport(store.db, "99")).lines).to.deep.equal([]);
  });

  it("prints the same through `veritrace freezes`", async function () {
    await store.close();
    try {
      const { stdout } = await run(
        process.execPath,
        ["bin/veritrace.mjs", "freezes", "--db", path.join(dir, "db"), "--json"],
        {
          encoding: "utf8",
        },
      );
      const report = JSON.parse(stdout) as Awaited<ReturnType<typeof freezeReport>>;
      expect(report.totals[0]?.frozen).to.equal("1200");
      const table = await run(
        process.execPath,
        ["bin/veritrace.mjs", "freezes", "--db", path.join(dir, "db")],
        {
          encoding: "utf8",
        },
      );
      expect(table.stdout).to.match(/executed/);
      expect(table.stdout).to.match(/rejected/);
    } finally {
      store = await Store.open(await openDatabase(path.join(dir, "db")));
    }
  });
});
