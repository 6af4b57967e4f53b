import { expect } from "chai";
import { execFile } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  writeFileSync,
} from "node:fs";
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
  freezeListJson,
  freezeResultRoot,
  generateCaseKey,
  hashDocument,
  type FreezeList,
  writeDeployment,
  DataKind,
} from "../../src/client/index.js";
import { freezeReport, readFreezeLists } from "../../src/ledger/freezes.js";
import { caseReport } from "../../src/ledger/queries.js";
import { Indexer } from "../../src/ledger/indexer.js";
import { RpcClient } from "../../src/chain/rpc.js";
import { openDatabase } from "../../src/db/db.js";
import { Store } from "../../src/db/store.js";
import { deployConsortium } from "../../scripts/lib/deploy.js";
import { onboard } from "../../scripts/lib/activity.js";
import { startLocalChain, type LocalChain } from "../../scripts/lib/local-chain.js";
import { ROOT, runVeritrace, type CommandResult } from "../helpers/tracer.js";

const run = promisify(execFile);
const TOKEN = "0xdac17f958d2ee523a2206206994597c13d831ec7";
const A = "0x1111111111111111111111111111111111111111";
const B = "0x2222222222222222222222222222222222222222";
const C = "0x3333333333333333333333333333333333333333";
const D = "0x4444444444444444444444444444444444444444";

/** Writes freeze lists as files into `dir`, one per list. */
function writeLists(dir: string, lists: readonly FreezeList[]): string {
  mkdirSync(dir, { recursive: true });
  for (const l of lists)
    writeFileSync(path.join(dir, `freeze-${l.freezeId}-${l.kind}.json`), freezeListJson(l));
  return dir;
}

describe("tracer: freeze requests, requested vs frozen", function () {
  let chain: LocalChain;
  let dir: string;
  let store: Store;
  let caseId: bigint;
  /** Every list the police and the exchange hold. */
  let lists: FreezeList[];
  let listsDir: string;

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
    const caseKey = generateCaseKey();
    ({ caseId } = await police.openCase({
      caseNumber: "FRZ-1",
      caseKey,
      legalBasis: "freeze order",
      scope: [DataKind.ExchangeAccounts],
      expiresAt: now + 30 * 86_400,
    }));
    await new Supervisor(contracts, cast.prosecutor.signer).approveCase(caseId);
    const exchange = new Exchange(contracts, exchangeSigner);
    const ask = async (items: { account: string; amount: bigint }[]) =>
      (
        await police.requestFreeze({
          caseId,
          exchange: exchangeId,
          caseKey,
          items: items.map((i) => ({ ...i, chainId: 1, token: TOKEN })),
          traceCommitment: hashDocument("trace report"),
        })
      ).list;
    // Executed in part and acknowledged, rejected, still pending, and answered by an exchange
    // that bypassed the client (an account not requested, more frozen than requested).
    const l1 = await ask([
      { account: A, amount: 1_000n },
      { account: B, amount: 500n },
    ]);
    const { result: r1 } = await exchange.recordFrozen(l1, [700n, 500n], "freeze record 1");
    await police.acknowledgeFrozen(l1, r1);
    const l2 = await ask([{ account: C, amount: 300n }]);
    await exchange.rejectFreeze(l2.freezeId ?? 0n, 4);
    const l3 = await ask([{ account: C, amount: 250n }]);
    const l4 = await ask([{ account: A, amount: 100n }]);
    const items4 = [
      { chainId: 1n, token: TOKEN, account: A, requested: 100n, frozen: 150n },
      { chainId: 1n, token: TOKEN, account: D, requested: 40n, frozen: 40n },
    ];
    const r4 = {
      ...r1,
      freezeId: 4n,
      listRoot: l4.root,
      key: l4.key,
      items: items4,
      root: freezeResultRoot(l4.key, items4),
    };
    await (
      await contracts.freezes
        .connect(exchangeSigner)
        .recordFrozen(4n, l4.root, r4.root, hashDocument("freeze record 4"))
    ).wait();
    lists = [l1, r1, l2, l3, l4, r4];

    dir = mkdtempSync(path.join(tmpdir(), "veritrace-freezes-"));
    listsDir = writeLists(path.join(dir, "lists"), lists);
    writeDeployment(path.join(dir, "deployment.json"), record);
    store = await Store.open(await openDatabase(path.join(dir, "db")));
    await new Indexer(store, new RpcClient(chain.url), record, { finalityDepth: 4 }).syncOnce();
  });

  after(async function () {
    await store?.close();
    await chain?.stop();
  });

  it("without the lists shows only what the chain holds: counts, roots, statuses, parties", async function () {
    const report = await freezeReport(store.db, { caseId: caseId.toString() });
    expect(
      report.freezes.map((f) => [f.freezeId, f.itemCount, f.status, f.resultRoot !== null]),
    ).to.deep.equal([
      ["1", 2, "acknowledged", true],
      ["2", 1, "rejected", false],
      ["3", 1, "requested", false],
      ["4", 1, "executed", true],
    ]);
    expect(report.freezes[0]?.listRoot).to.equal(lists[0]?.root);
    expect(report.freezes[1]?.reasonCode).to.equal(4);
    expect(report.freezes.every((f) => f.requestedAt > 0 && !f.lists.request)).to.equal(true);
    expect(report.lines).to.deep.equal([]);
    expect(report.totals).to.deep.equal([]);
    // Nothing the store holds names an account or an amount.
    const stored = JSON.stringify(
      await store.db.query("SELECT args FROM events WHERE event LIKE 'Freeze%'"),
    ).toLowerCase();
    for (const account of [A, B, C, D]) expect(stored).to.not.include(account.slice(2));
    expect(stored).to.not.match(/"(1000|500|700|300|250)"/);
  });

  it("with the lists reports each account's requested and frozen amount, with flags", async function () {
    const { lines, freezes } = await freezeReport(store.db, {
      caseId: caseId.toString(),
      lists: readFreezeLists(listsDir),
    });
    expect(
      lines.map((l) => [l.freezeId, l.account, l.requested, l.frozen, l.status, l.flags]),
    ).to.deep.equal([
      ["1", A, "1000", "700", "acknowledged", []],
      ["1", B, "500", "500", "acknowledged", []],
      ["2", C, "300", null, "rejected", []],
      ["3", C, "250", null, "requested", []],
      ["4", A, "100", "150", "executed", ["frozen-above-requested"]],
      ["4", D, null, "40", "executed", ["not-requested"]],
    ]);
    expect(lines.every((l) => l.token === TOKEN && l.chainId === "1")).to.equal(true);
    expect(freezes.map((f) => f.lists)).to.deep.equal([
      { request: true, result: true },
      { request: true, result: false },
      { request: true, result: false },
      { request: true, result: true },
    ]);
  });

  it("totals requested, frozen, pending and rejected per case and token", async function () {
    const { totals } = await freezeReport(store.db, { lists: readFreezeLists(listsDir) });
    expect(totals).to.deep.equal([
      {
        caseId: caseId.toString(),
        chainId: "1",
        token: TOKEN,
        requested: "2150",
        frozen: "1390",
        pending: "250",
        rejected: "300",
        unknown: "0",
      },
    ]);
    expect((await freezeReport(store.db, { caseId: "99" })).freezes).to.deep.equal([]);
  });

  it("derives the request from a result list alone when its requested amounts give the request's root", async function () {
    const only = writeLists(path.join(dir, "result-only"), [lists[1] as FreezeList]);
    const { lines } = await freezeReport(store.db, { lists: readFreezeLists(only) });
    expect(lines.map((l) => [l.account, l.requested, l.frozen])).to.deep.equal([
      [A, "1000", "700"],
      [B, "500", "500"],
    ]);
  });

  it("refuses a list with a tampered amount or an extra account, naming the file", async function () {
    const l1 = lists[0] as FreezeList & { kind: "request" };
    const tampered = {
      ...l1,
      items: l1.items.map((i, k) => (k === 0 ? { ...i, amount: 10n } : i)),
    };
    const extra = {
      ...l1,
      items: [...l1.items, { ...(l1.items[0] as (typeof l1.items)[0]), account: D }],
    };
    for (const [name, list] of [
      ["tampered", tampered],
      ["extra", extra],
    ] as const) {
      const bad = writeLists(path.join(dir, name), [list]);
      let error: unknown;
      try {
        await freezeReport(store.db, { lists: readFreezeLists(bad) });
      } catch (e) {
        error = e;
      }
      expect((error as Error).message, name).to.match(
        new RegExp(
          `^${path.join(bad, "freeze-1-request.json")}: freeze 1: the list's \\d items have root 0x[0-9a-f]{64}; the chain holds 2 items with root ${l1.root}$`,
        ),
      );
    }
  });

  it("prints the same through `veritrace freezes`, and refuses a wrong list in one line", async function () {
    await store.close();
    try {
      const db = path.join(dir, "db");
      const { stdout } = await run(
        process.execPath,
        ["bin/veritrace.mjs", "freezes", "--db", db, "--lists", listsDir, "--json"],
        { encoding: "utf8" },
      );
      const report = JSON.parse(stdout) as Awaited<ReturnType<typeof freezeReport>>;
      expect(report.totals[0]?.frozen).to.equal("1390");
      const table = await run(
        process.execPath,
        ["bin/veritrace.mjs", "freezes", "--db", db, "--lists", listsDir],
        { encoding: "utf8" },
      );
      expect(table.stdout).to.match(/acknowledged/);
      expect(table.stdout).to.match(/frozen-above-requested/);
      expect(table.stdout).to.match(/not-requested/);
      expect(table.stdout).to.match(/2 flagged items/);
      // A trace's drafts name A as a deposit address of an exchange: the report says so.
      const drafts = path.join(dir, "drafts.json");
      writeFileSync(
        drafts,
        JSON.stringify({
          version: "veritrace-freeze-draft/1",
          model: "fifo",
          seeds: [],
          seedAsset: TOKEN,
          drafts: [
            {
              exchange: { address: D, label: "Exchange D" },
              items: [
                {
                  chainId: 1,
                  token: TOKEN,
                  account: A,
                  amount: "1000",
                  value: "1000",
                  evidence: ["0x01"],
                  confidence: 0.98,
                },
              ],
            },
          ],
        }),
      );
      const named = await run(
        process.execPath,
        ["bin/veritrace.mjs", "freezes", "--db", db, "--lists", listsDir, "--drafts", drafts],
        { encoding: "utf8" },
      );
      expect(named.stdout).to.match(/found as/);
      expect(named.stdout).to.include("deposit address of Exchange D (confidence 98%)");
      const namedJson = JSON.parse(
        (
          await run(
            process.execPath,
            ["bin/veritrace.mjs", "freezes", "--db", db, "--drafts", drafts, "--json"],
            { encoding: "utf8" },
          )
        ).stdout,
      ) as { lines: { account: string; foundAs?: { exchange: { label: string } } }[] };
      const lineA = namedJson.lines.find((l) => l.account.toLowerCase() === A.toLowerCase());
      expect(lineA === undefined || lineA.foundAs?.exchange.label === "Exchange D").to.equal(true);
      writeFileSync(drafts, JSON.stringify({ version: "veritrace-freeze-draft/0", drafts: [] }));
      const badDrafts = await run(
        process.execPath,
        ["bin/veritrace.mjs", "freezes", "--db", db, "--drafts", drafts],
        { encoding: "utf8" },
      ).then(
        () => null,
        (e: { code: number; stderr: string }) => e,
      );
      expect(badDrafts?.code).to.equal(1);
      expect(badDrafts?.stderr).to.match(/^veritrace freezes: --drafts .*drafts\.json: version: /);
      const wrong = lists[0] as FreezeList & { kind: "request" };
      const bad = writeLists(path.join(dir, "cli-bad"), [
        { ...wrong, items: wrong.items.map((i) => ({ ...i, amount: i.amount + 1n })) },
      ]);
      const refused = await run(
        process.execPath,
        ["bin/veritrace.mjs", "freezes", "--db", db, "--lists", bad],
        { encoding: "utf8" },
      ).then(
        () => null,
        (e: { code: number; stdout: string; stderr: string }) => e,
      );
      expect(refused?.code).to.equal(1);
      expect(refused?.stdout).to.equal("");
      expect(refused?.stderr.trim().split("\n")).to.have.length(1);
      expect(refused?.stderr).to.match(
        /^veritrace freezes: .*freeze-1-request\.json: freeze 1: the list's 2 items have root/,
      );
    } finally {
      store = await Store.open(await openDatabase(path.join(dir, "db")));
    }
  });

  it("reads the lists from stdin for --lists -, or from one file, as from the directory", async function () {
    await store.close();
    try {
      const db = path.join(dir, "db");
      const freezes = (lists: string, input?: string) =>
        runVeritrace(["freezes", "--db", db, "--lists", lists, "--json"], {}, input);
      const report = (r: CommandResult) => {
        expect(r.code, r.stderr).to.equal(0);
        return JSON.parse(r.stdout) as Awaited<ReturnType<typeof freezeReport>>;
      };
      // As `jq -s . DIR/*.json` pipes them: every list of the directory in one array.
      const texts = readdirSync(listsDir)
        .sort()
        .map((name) => readFileSync(path.join(listsDir, name), "utf8"));
      const fromDir = report(await freezes(listsDir));
      expect(report(await freezes("-", `[${texts.join(",")}]`))).to.deep.equal(fromDir);
      // One list alone, in a file or on stdin, as a directory holding only it.
      const only = writeLists(path.join(dir, "one-list"), [lists[1] as FreezeList]);
      const [name] = readdirSync(only);
      const single = path.join(only, name ?? "");
      const fromOne = report(await freezes(only));
      expect(fromOne.lines).to.not.deep.equal(fromDir.lines);
      expect(report(await freezes(single))).to.deep.equal(fromOne);
      expect(report(await freezes("-", readFileSync(single, "utf8")))).to.deep.equal(fromOne);
      // A wrong list is named by its place in the array.
      const wrong = lists[0] as FreezeList & { kind: "request" };
      const refused = await freezes(
        "-",
        `[${texts[1]},${freezeListJson({ ...wrong, items: wrong.items.map((i) => ({ ...i, amount: i.amount + 1n })) })}]`,
      );
      expect(refused.code).to.equal(1);
      expect(refused.stdout).to.equal("");
      expect(refused.stderr.trim().split("\n")).to.have.length(1);
      expect(refused.stderr).to.match(
        /^veritrace freezes: stdin list 2: freeze 1: the list's 2 items have root/,
      );
      expect(existsSync(path.join(ROOT, "-")), "a file named -").to.equal(false);
    } finally {
      store = await Store.open(await openDatabase(path.join(dir, "db")));
    }
  });

  it("shows the freeze steps in the case's custody with roots only", async function () {
    const report = await caseReport(store.db, caseId.toString());
    const steps = report.custody.filter((c) => c.step.startsWith("freeze-"));
    expect(steps.map((c) => c.step)).to.deep.equal([
      "freeze-request",
      "freeze-execution",
      "freeze-acknowledgement",
      "freeze-request",
      "freeze-rejection",
      "freeze-request",
      "freeze-request",
      "freeze-execution",
    ]);
    expect(steps[0]?.action).to.equal(
      `freeze 1 asked of institution ${lists[0]?.exchange} (2 accounts, list committed)`,
    );
    expect(steps[2]?.institutionKind).to.equal("POLICE");
    expect(steps[1]?.institutionKind).to.equal("EXCHANGE");
  });
});
