/**
 * The analyst dashboard in real Chromium, against a real `veritrace serve` (a subprocess) over a
 * store indexed from a real anvil chain: consortium cases with deliveries, anchors and a grant
 * revoked after its delivery (an anomaly), and a stolen-token scenario traced both by the page
 * (POST /trace) and by `veritrace trace --json`. Screenshots go to test/web/screenshots/.
 */
import type { ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { Wallet, hexlify, randomBytes, type Signer } from "ethers";
import type { Browser, Locator, Page } from "playwright-core";
import { runCases } from "../../scripts/lib/activity.js";
import {
  DataKind,
  Investigator,
  Provider,
  Supervisor,
  generateCaseKey,
  submitDelivery,
} from "../../src/client/index.js";
import { Indexer } from "../../src/ledger/indexer.js";
import { RpcClient } from "../../src/chain/rpc.js";
import { openDatabase } from "../../src/db/db.js";
import { Store } from "../../src/db/store.js";
import { TestToken__factory } from "../../types/ethers-contracts/index.js";
import { ROOT, runVeritrace, startConsortiumNode, type ConsortiumNode } from "../helpers/tracer.js";
import { launchChromium, serve, stopChild } from "./browser.js";
import { syntheticTrace } from "./synthetic-trace.js";
import { DEFAULT_EXITS } from "../../src/analytics/funds/exits.js";
import { traceAnswer } from "../../src/api/routes/trace.js";
import { openApiDocument } from "../../src/api/server.js";
import type { Trace } from "../../src/api/wire.js";
import type { AssetInfo } from "../../src/analytics/funds/assets.js";
import type { TraceResult } from "../../src/analytics/funds/types.js";
import { AnswerChecker } from "../helpers/openapi-check.js";
import {
  BASE_EXCHANGE,
  DEPOSIT,
  POOL,
  THIEF,
  USDC_BASE,
  USDC_TOKEN,
  WETH_TOKEN,
  bridged,
  swapped,
} from "../helpers/trace-fixtures.js";

const TOKEN = "web-test-token-0123456789abcdef";

/** Answers given to the page in place of the server's are checked against its published schema. */
const traceChecker = new AnswerChecker(
  JSON.parse(JSON.stringify(openApiDocument)) as ConstructorParameters<typeof AnswerChecker>[0],
);
const SHOTS = path.join(ROOT, "test", "web", "screenshots");

/**
 * The server's own answer (routes/trace.ts) for a result built by hand, on chain `chainId`, with
 * its assets' decimals and symbols; checked against the published schema.
 */
function servedAnswer(
  result: TraceResult,
  chainId: number,
  assets: ReadonlyMap<string, AssetInfo>,
): Trace {
  const body = traceAnswer(
    {
      chainId,
      result,
      ingest: { stream: "fixture", indexedTo: 200, rows: 5, complete: true, note: null },
      fromBlock: 100,
      toBlock: 200,
      labels: new Map(),
      initialBalances: new Map(),
      exits: DEFAULT_EXITS,
      depositAddresses: new Map(),
      decimals: 6,
      assetDecimals: new Map(),
    },
    assets,
  );
  const answer = JSON.parse(JSON.stringify(body)) as Trace;
  traceChecker.check("POST", "/trace", {
    status: 200,
    contentType: "application/json",
    body: answer,
  });
  return answer;
}

interface CliTrace {
  model: string;
  token: string;
  seed: string;
  holdings: { address: string; amount: string }[];
  exits: { address: string; label: string; amount: string }[];
  total: string;
}

/** A case whose two grants are revoked after their deliveries: a revoked-after-delivery anomaly. */
async function revokedCase(node: ConsortiumNode): Promise<bigint> {
  const { contracts, cast } = node;
  const investigator = new Investigator(contracts, cast.police.signer);
  const bank = new Provider(contracts, cast.bank.signer);
  const caseKey = generateCaseKey();
  const now = Number(await investigator.now());
  const { caseId } = await investigator.openCase({
    caseNumber: `REVOKED-${now}`,
    caseKey,
    legalBasis: "order r",
    scope: [DataKind.BankTransactions],
    expiresAt: now + 60 * 86_400,
  });
  await new Supervisor(contracts, cast.prosecutor.signer).approveCase(caseId);
  const { requestId } = await investigator.request({
    caseId,
    provider: cast.bank.id,
    datasetId: cast.bank.dataset,
    subject: { type: "bankAccount", identifier: "ACC777" },
    caseKey,
    purposeCode: 1,
  });
  await bank.grant(requestId, { expiresAt: now + 30 * 86_400, maxRecords: 10 });
  const { delivery, signature } = await bank.prepareDelivery(requestId, "revoked payload", 2);
  const ack = await investigator.acknowledge(delivery, "revoked payload");
  const relayer = node.signers[7] as Signer;
  await submitDelivery(
    contracts,
    relayer,
    delivery,
    { signer: await cast.bank.signer.getAddress(), signature },
    { signer: await cast.police.signer.getAddress(), signature: ack },
  );
  await bank.revokeGrant(requestId, 3);
  return caseId;
}

/** A time in Unix seconds as its UTC day, YYYY-MM-DD. */
const utcDay = (seconds: number): string => new Date(seconds * 1000).toISOString().slice(0, 10);

/**
 * Moves the chain's clock to 10:00 UTC `days` UTC days after its latest block's day and mines a
 * block there; returns that day. Work started at 10:00 ends long before midnight.
 */
async function advanceDays(node: ConsortiumNode, days: number): Promise<string> {
  const latest = await node.connection.ethers.provider.getBlock("latest");
  if (latest === null) throw new Error("no latest block");
  const at = (Math.floor(latest.timestamp / 86_400) + days) * 86_400 + 10 * 3600;
  await node.rpc.call("anvil_setNextBlockTimestamp", [at]);
  await node.rpc.call("evm_mine");
  return utcDay(at);
}

/**
 * 300 tokens stolen from V (the seed: V → A), split (A → B 100, A → C 150), and B, holding 500
 * clean tokens, pays 300 to an exchange X: under haircut 50 of them are tainted.
 */
async function stolenTokens(
  node: ConsortiumNode,
  dir: string,
): Promise<{ token: string; seed: string; labels: string; exchange: string }> {
  const provider = node.connection.ethers.provider;
  const deployer = node.signers[8] as Signer;
  const wallet = async () => {
    const w = new Wallet(hexlify(randomBytes(32)), provider);
    await node.rpc.call("hardhat_setBalance", [w.address, "0x56bc75e2d63100000"]);
    return w;
  };
  const [v, a, b, c, x] = [
    await wallet(),
    await wallet(),
    await wallet(),
    await wallet(),
    await wallet(),
  ];
  const token = await new TestToken__factory(deployer).deploy("Test USD", "TUSD", 0);
  await token.waitForDeployment();
  await (await token.mint(v.address, 300n)).wait();
  await (await token.mint(b.address, 500n)).wait();
  const seed = await (await token.connect(v).transfer(a.address, 300n)).wait();
  await (await token.connect(a).transfer(b.address, 100n)).wait();
  await (await token.connect(a).transfer(c.address, 150n)).wait();
  await (await token.connect(b).transfer(x.address, 300n)).wait();
  const labels = path.join(dir, "exchanges.yaml");
  writeFileSync(
    labels,
    [
      "title: Dashboard test exchange",
      "creator: Veritrace tests",
      "source: https://example.org/exchange",
      "currency: ETH",
      "tags:",
      `- address: '${x.address.toLowerCase()}'`,
      "  label: Example Exchange hot wallet",
      "  category: exchange",
      "",
    ].join("\n"),
  );
  if (seed === null) throw new Error("no receipt");
  return {
    token: (await token.getAddress()).toLowerCase(),
    seed: seed.hash,
    labels,
    exchange: x.address.toLowerCase(),
  };
}

async function apiGet<T>(base: string, target: string): Promise<T> {
  const res = await fetch(`${base}${target}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  expect(res.status, target).to.equal(200);
  return (await res.json()) as T;
}

/** axe-core in the page: serious and critical violations, as "rule: target" lines. */
async function seriousViolations(page: Page): Promise<string[]> {
  // Evaluated through the DevTools protocol, which the page's CSP does not govern.
  await page.evaluate(readFileSync(path.join(ROOT, "node_modules/axe-core/axe.min.js"), "utf8"));
  const violations = await page.evaluate(async () => {
    const axe = (
      globalThis as unknown as {
        axe: {
          run(): Promise<{
            violations: { id: string; impact: string | null; nodes: { target: unknown[] }[] }[];
          }>;
        };
      }
    ).axe;
    const result = await axe.run();
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      targets: v.nodes.map((n) => JSON.stringify(n.target)),
    }));
  });
  return violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id}: ${v.targets.join(" ")}`);
}

/** The little of the DOM the page functions below touch: the tests compile without the DOM library. */
interface PageWindow {
  document: {
    activeElement: PageElement | null;
    documentElement: { scrollWidth: number; clientWidth: number };
  };
  getComputedStyle(element: PageElement): {
    outlineStyle: string;
    outlineWidth: string;
    backgroundColor: string;
  };
}
interface PageElement {
  matches(selector: string): boolean;
  getAttribute(name: string): string | null;
  outerHTML: string;
  textContent: string | null;
}

/** The focused element matches `selector`. */
const focused = (page: Page, selector: string): Promise<boolean> =>
  page.evaluate(
    (sel) => (globalThis as unknown as PageWindow).document.activeElement?.matches(sel) ?? false,
    selector,
  );

/** Waits until the focused element matches `selector` (focus moves after a page's render). */
async function focusMovesTo(page: Page, selector: string): Promise<void> {
  await page.waitForFunction(
    (sel) => (globalThis as unknown as PageWindow).document.activeElement?.matches(sel) ?? false,
    selector,
    { timeout: 5000 },
  );
}

/**
 * Presses Tab (Shift+Tab with `back`) until the focused element matches `selector`, then checks
 * that it shows a focus ring: it matches :focus-visible and its computed outline is drawn.
 */
async function tabTo(page: Page, selector: string, back = false, max = 80): Promise<void> {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press(back ? "Shift+Tab" : "Tab");
    if (await focused(page, selector)) {
      await expectFocusRing(page, selector);
      return;
    }
  }
  throw new Error(`${selector} not reached with ${max} presses of ${back ? "Shift+Tab" : "Tab"}`);
}

/** One press of Tab (or Shift+Tab) lands exactly on `selector`, with a focus ring. */
async function tabOnceTo(page: Page, selector: string, back = false): Promise<void> {
  await page.keyboard.press(back ? "Shift+Tab" : "Tab");
  const now = await page.evaluate(
    () =>
      (globalThis as unknown as PageWindow).document.activeElement?.outerHTML.slice(0, 120) ?? "",
  );
  expect(await focused(page, selector), `focus on ${now}, not ${selector}`).to.equal(true);
  await expectFocusRing(page, selector);
}

async function expectFocusRing(page: Page, what: string): Promise<void> {
  const ring = await page.evaluate(() => {
    const w = globalThis as unknown as PageWindow;
    const el = w.document.activeElement;
    if (el === null) return { visible: false, style: "none", width: 0 };
    const style = w.getComputedStyle(el);
    return {
      visible: el.matches(":focus-visible"),
      style: style.outlineStyle,
      width: parseFloat(style.outlineWidth),
    };
  });
  expect(ring.visible, `${what} :focus-visible`).to.equal(true);
  expect(ring.style, `${what} outline`).to.not.equal("none");
  expect(ring.width, `${what} outline width`).to.be.greaterThan(0);
}

/** The page is no wider than the window: no horizontal scroll bar. */
async function horizontalOverflow(page: Page): Promise<number> {
  return page.evaluate(() => {
    const root = (globalThis as unknown as PageWindow).document.documentElement;
    return root.scrollWidth - root.clientWidth;
  });
}

/**
 * An exported SVG parsed by the page's own XML parser: the root element, a parse error if any,
 * the node groups' addresses, the edges, the edges' amounts, and any reference to something
 * outside the file (a link, a url(), an image, a font).
 */
async function parseSvg(
  page: Page,
  text: string,
): Promise<{
  root: string;
  error: string | null;
  nodes: string[];
  edges: number;
  edgeLabels: string[];
  /** The colours of the edges (one group of edges per colour and width). */
  strokes: string[];
  /** The labels of the boxes of deposit addresses. */
  clusters: string[];
  external: string[];
}> {
  // In-page code as a string: this file compiles without the DOM library.
  return page.evaluate(`(() => {
    const doc = new DOMParser().parseFromString(${JSON.stringify(text)}, "image/svg+xml");
    const error = doc.querySelector("parsererror");
    const all = [...doc.querySelectorAll("*")];
    return {
      root: doc.documentElement.namespaceURI === "http://www.w3.org/2000/svg" ? doc.documentElement.localName : "not svg",
      error: error === null ? null : error.textContent,
      nodes: [...doc.querySelectorAll("g.node")].map((g) => g.querySelector("title")?.textContent ?? ""),
      edges: doc.querySelectorAll("path.edge").length,
      edgeLabels: [...doc.querySelectorAll(".edge-labels text")].map((t) => t.textContent),
      strokes: [...doc.querySelectorAll("g.edges > g")].map((g) => g.getAttribute("stroke")),
      clusters: [...doc.querySelectorAll("g.cluster text")].map((t) => t.textContent),
      external: all.flatMap((e) => [...e.attributes].filter((a) => /href$/.test(a.name) || /url[(]/.test(a.value)).map((a) => a.name + "=" + a.value))
        .concat(all.filter((e) => ["image", "style", "use", "foreignObject"].includes(e.localName)).map((e) => e.localName)),
    };
  })()`);
}

describe("analyst dashboard (Chromium)", function () {
  this.timeout(120_000);
  let node: ConsortiumNode;
  let dir: string;
  let server: ChildProcess | undefined;
  let base: string;
  let browser: Browser;
  let page: Page;
  let caseIds: bigint[];
  let revoked: bigint;
  /** The UTC days from the first activity to the last, as the chain's clock was set. */
  const days: string[] = [];
  let traced: { token: string; seed: string; labels: string; exchange: string };
  let cli: CliTrace;
  const pageErrors: string[] = [];

  before(async function () {
    mkdirSync(SHOTS, { recursive: true });
    dir = mkdtempSync(path.join(tmpdir(), "veritrace-web-"));
    node = await startConsortiumNode("anvil");
    // Activity over four UTC days, the third a quiet one: a case of 3 requests, the next day one
    // of 5, the revoked case two days later. Each case is opened after the clock moved, so its expiries
    // (and its grants') lie ahead of it.
    const relayer = node.signers[7] as Signer;
    caseIds = [];
    for (const requests of [3, 5]) {
      days.push(await advanceDays(node, 1));
      caseIds.push(...(await runCases(node.contracts, node.cast, 1, requests, relayer)).caseIds);
    }
    days.push(await advanceDays(node, 1)); // quiet: a block, no activity
    days.push(await advanceDays(node, 1));
    revoked = await revokedCase(node);
    traced = await stolenTokens(node, dir);
    const db = path.join(dir, "db");
    const store = await Store.open(await openDatabase(db));
    try {
      await new Indexer(store, new RpcClient(node.url), node.record).syncOnce();
    } finally {
      await store.close();
    }
    const run = await runVeritrace([
      "trace",
      "--rpc",
      node.url,
      "--token",
      traced.token,
      "--seed",
      traced.seed,
      "--model",
      "haircut",
      "--labels",
      traced.labels,
      "--db",
      db,
      "--json",
    ]);
    expect(run.code, run.stderr).to.equal(0);
    cli = JSON.parse(run.stdout.trim().split("\n").at(-1) ?? "") as CliTrace;
    ({ base, child: server } = await serve(["--db", db, "--port", "0", "--rpc", node.url], TOKEN));
    browser = await launchChromium();
    // A time zone 14 hours ahead of UTC: the chain's 10:00 UTC is the next local day, so a day
    // taken from the local clock instead of UTC would show.
    const context = await browser.newContext({
      viewport: { width: 1280, height: 800 },
      acceptDownloads: true,
      timezoneId: "Pacific/Kiritimati",
    });
    page = await context.newPage();
    page.on("pageerror", (e) => pageErrors.push(e.message));
  });

  after(async function () {
    await browser?.close();
    await stopChild(server);
    await node?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  afterEach(function () {
    expect(pageErrors, "errors thrown in the page").to.deep.equal([]);
  });

  it("serves the bundle from the API's origin with content types, cache headers and a CSP, and no file outside it", async function () {
    const index = await fetch(`${base}/`);
    expect(index.status).to.equal(200);
    expect(index.headers.get("content-type")).to.match(/^text\/html/);
    expect(index.headers.get("cache-control")).to.equal("no-cache");
    expect(index.headers.get("content-security-policy")).to.include("default-src 'self'");
    const html = await index.text();
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(script).to.be.a("string");
    const js = await fetch(`${base}${script}`);
    expect(js.headers.get("content-type")).to.match(/^text\/javascript/);
    expect(js.headers.get("cache-control")).to.include("immutable");
    expect(html).to.not.match(/https?:\/\//);
    // Client routes fall back to index.html; API routes keep precedence and their auth.
    const fallback = await fetch(`${base}/somewhere/else`, { headers: { accept: "text/html" } });
    expect(fallback.status).to.equal(200);
    expect((await fetch(`${base}/cases`)).status).to.equal(401);
    for (const bad of [
      "/../package.json",
      "/%2e%2e/package.json",
      "/assets/..%2f..%2fpackage.json",
      "/.env",
    ]) {
      const res = await fetch(`${base}${bad}`);
      expect(res.status, bad).to.equal(404);
      expect(res.headers.get("content-type"), bad).to.match(/^application\/problem\+json/);
    }
  });

  it("refuses a wrong token, then signs in and keeps the token in sessionStorage only", async function () {
    await page.goto(`${base}/`);
    await page.getByLabel("API token").fill("not-a-token-of-this-server");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("alert").getByText("not one of the server's").waitFor();
    await page.screenshot({ path: path.join(SHOTS, "sign-in.png") });
    await page.getByLabel("API token").fill(TOKEN);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Cases" }).waitFor();
    const stored = await page.evaluate(() => ({
      session: sessionStorage.getItem("veritrace.token"),
      local: localStorage.length,
    }));
    expect(stored).to.deep.equal({ session: TOKEN, local: 0 });
  });

  it("lists every case with status, opener, approver, expiry and counts", async function () {
    await page.goto(`${base}/#/cases`);
    const rows = page.getByRole("table", { name: "Cases" }).locator("tbody tr");
    await rows.first().waitFor();
    const all = [...caseIds, revoked].map(String);
    expect(await rows.count()).to.equal(all.length);
    const first = (await rows.first().innerText()).split("\t");
    expect(first[0]).to.equal(`Case ${all[0]}`);
    expect(first[1]).to.equal("closed");
    expect(first[2]).to.match(/POLICE/);
    expect(first[3]).to.match(/PROSECUTOR/);
    await page.screenshot({ path: path.join(SHOTS, "cases.png"), fullPage: true });
  });

  it("shows a case's every custody entry in chain order, with its signatures re-checked", async function () {
    const id = String(caseIds[0]);
    const report = await apiGet<{
      custody: { items: { step: string; txHash: string; signer: string }[] };
    }>(base, `/cases/${id}?limit=500`);
    await page.goto(`${base}/#/cases/${id}`);
    const entries = page.getByRole("list", { name: "Chain of custody" }).locator("li.entry");
    await entries.first().waitFor();
    const shown = await entries.evaluateAll((lis) =>
      lis.map((li) => ({ step: li.getAttribute("data-step"), tx: li.getAttribute("data-tx") })),
    );
    expect(shown).to.deep.equal(report.custody.items.map((e) => ({ step: e.step, tx: e.txHash })));
    const steps = shown.map((s) => s.step);
    expect(steps[0]).to.equal("opening");
    expect(steps[1]).to.equal("approval");
    expect(steps.at(-1)).to.equal("closure");
    for (const s of ["request", "grant", "denial", "delivery", "acknowledgement", "anchor"])
      expect(steps, s).to.include(s);
    // Every delivery and acknowledgement: its EIP-712 signature re-checked and valid.
    const signed = entries.filter({ has: page.locator("text=EIP-712") });
    await page.waitForSelector(".verify.pending", { state: "detached", timeout: 20_000 });
    const checked = await entries.evaluateAll((lis) =>
      lis
        .filter((li) =>
          ["delivery", "acknowledgement"].includes(li.getAttribute("data-step") ?? ""),
        )
        .map((li) => li.querySelector(".verify")?.textContent ?? ""),
    );
    expect(checked.length).to.equal(
      steps.filter((s) => s === "delivery" || s === "acknowledgement").length,
    );
    for (const text of checked) expect(text).to.match(/re-checked: valid/);
    expect(await signed.count()).to.equal(checked.length);
    await page.screenshot({ path: path.join(SHOTS, "case.png"), fullPage: true });
  });

  it("draws institution activity per UTC day, quiet days included, with a legend, and drills down to the cases", async function () {
    // Per institution, role and UTC day, from the cases' chains of custody: requests count for
    // the requester; grants, denials, deliveries and revocations for the provider.
    const expected = new Map<string, { events: number; cases: Set<string> }>();
    for (const id of [...caseIds, revoked].map(String)) {
      const report = await apiGet<{
        custody: { items: { step: string; time: number; institution: number | null }[] };
      }>(base, `/cases/${id}?limit=500`);
      for (const e of report.custody.items) {
        const role =
          e.step === "request"
            ? "requester"
            : ["grant", "denial", "delivery", "revocation"].includes(e.step)
              ? "provider"
              : null;
        if (role === null || e.institution === null) continue;
        const key = `${e.institution}/${role}/${utcDay(e.time)}`;
        const cell = expected.get(key) ?? { events: 0, cases: new Set<string>() };
        cell.events++;
        cell.cases.add(id);
        expected.set(key, cell);
      }
    }
    const activeDays = [...new Set([...expected.keys()].map((k) => k.split("/")[2]))].sort();
    expect(days).to.have.length(4);
    expect(activeDays, "days with activity").to.deep.equal([days[0], days[1], days[3]]);
    const institutions = (
      await apiGet<{ items: { id: number; kind: string }[] }>(base, "/institutions?limit=500")
    ).items;

    await page.goto(`${base}/#/institutions`);
    const heat = page.getByRole("table", { name: "Activity per institution and day" });
    await heat.waitFor();
    // A column per UTC day from the first activity to the last, the quiet day included.
    const header = heat.locator("thead th[data-day]");
    expect(await header.count()).to.equal(days.length);
    expect(await header.allInnerTexts()).to.deep.equal(days);
    expect(await header.evaluateAll((ths) => ths.map((th) => th.className))).to.deep.equal([
      "",
      "",
      "quiet",
      "",
    ]);
    // Every cell names its institution, role, day and count, and shows the count.
    const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
    expect(await heat.locator("tbody td").count()).to.equal(institutions.length * 2 * days.length);
    for (const inst of institutions)
      for (const role of ["requester", "provider"])
        for (const day of days) {
          const want = expected.get(`${inst.id}/${role}/${day}`);
          const name = `${inst.kind} ${inst.id} as ${role} on ${day}: ${plural(want?.events ?? 0, "event")}`;
          const cell = heat.getByRole("cell", {
            name: want === undefined ? name : `${name} in ${plural(want.cases.size, "case")}`,
            exact: true,
          });
          expect(await cell.count(), name).to.equal(1);
          if (want !== undefined)
            expect(await cell.getByRole("button").innerText(), name).to.equal(String(want.events));
          else expect(await cell.getByRole("button").count(), name).to.equal(0);
        }
    // The legend says what a colour counts, up to the busiest cell, whose colour it shows.
    const busiest = Math.max(...[...expected.values()].map((c) => c.events));
    const legend = page.getByRole("group", {
      name: "Colour scale: events per institution, role and UTC day",
    });
    const steps = legend.locator("li");
    expect(await steps.first().innerText()).to.equal("none");
    expect(await steps.last().innerText()).to.equal(`${busiest} (busiest)`);
    const colour = (l: Locator) =>
      l.evaluate(
        (e) =>
          (globalThis as unknown as PageWindow).getComputedStyle(e as unknown as PageElement)
            .backgroundColor,
      );
    const [busiestKey] = [...expected].find(([, c]) => c.events === busiest) ?? [];
    const [id, role, day] = (busiestKey ?? "").split("/");
    const kind = institutions.find((i) => String(i.id) === id)?.kind;
    const busiestCell = heat.getByRole("button", {
      name: new RegExp(`^${kind} ${id} as ${role} on ${day}: `),
    });
    expect(await colour(steps.last().locator(".swatch"))).to.equal(await colour(busiestCell));
    expect(await colour(steps.first().locator(".swatch"))).to.equal("rgb(255, 255, 255)");
    // Drill-down: the first day's requests of the police are the first case's.
    const police = institutions.find((i) => i.kind === "POLICE");
    const cell = heat.getByRole("button", {
      name: new RegExp(`^POLICE ${police?.id} as requester on ${days[0]}: `),
    });
    await cell.click();
    const drill = page.getByRole("region", { name: "Cases of the selected cell" });
    await drill.getByRole("link", { name: `Case ${caseIds[0]}` }).waitFor();
    expect(await drill.getByRole("link").allInnerTexts()).to.deep.equal([`Case ${caseIds[0]}`]);
    await page.screenshot({ path: path.join(SHOTS, "institutions.png"), fullPage: true });
    await page.locator("main").screenshot({ path: path.join(SHOTS, "institutions-heat-map.png") });
    await drill.getByRole("link", { name: `Case ${caseIds[0]}` }).click();
    await page.getByRole("heading", { name: `Case ${caseIds[0]}` }).waitFor();
  });

  it("opens an anomaly and follows its link to the case's transaction", async function () {
    await page.goto(`${base}/#/anomalies`);
    const anomaly = page.locator('li.anomaly[data-rule="revoked-after-delivery"]').first();
    await anomaly.waitFor();
    await anomaly.locator("summary").click();
    await page.screenshot({ path: path.join(SHOTS, "anomalies.png"), fullPage: true });
    const link = anomaly.locator("a.tx").first();
    const tx = ((await link.getAttribute("href")) ?? "").split("tx=")[1] ?? "";
    expect(tx).to.match(/^0x[0-9a-f]{64}$/);
    await link.click();
    await page.getByRole("heading", { name: `Case ${revoked}` }).waitFor();
    const highlighted = page.locator("li.entry.highlight");
    await highlighted.first().waitFor();
    expect(await highlighted.first().getAttribute("data-tx")).to.equal(tx);
  });

  it("runs a trace whose graph and exits match veritrace trace --json, and exports the picture (PNG, SVG) and JSON", async function () {
    await page.goto(`${base}/#/trace`);
    await page.getByLabel("Token (address, native or all)").fill(traced.token);
    await page
      .getByLabel("Seed (transaction hash or ADDRESS@BLOCK; several: spaces between)")
      .fill(traced.seed);
    await page.getByLabel("Model").selectOption("haircut");
    await page.getByRole("button", { name: "Run trace" }).click();
    const graph = page.locator('.graph[data-graph-ready="true"]');
    await graph.waitFor({ timeout: 60_000 });
    const exits = await page
      .getByRole("list", { name: "Exit points" })
      .locator("li")
      .evaluateAll((lis) =>
        lis.map((li) => ({
          address: li.getAttribute("data-address"),
          text: li.textContent ?? "",
        })),
      );
    expect(exits.map((e) => e.address)).to.deep.equal(cli.exits.map((e) => e.address));
    cli.exits.forEach((x, i) => {
      expect(exits[i]?.text).to.include(x.label);
      expect(exits[i]?.text).to.include(x.amount);
    });
    expect(cli.exits.map((e) => e.address)).to.deep.equal([traced.exchange]);
    await page.locator("details.node-table summary").click();
    const rows = page.locator('table[aria-label="Addresses in the graph"] tbody tr');
    await rows.first().waitFor();
    const nodes = await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-address")));
    for (const a of [...cli.holdings, ...cli.exits].map((h) => h.address))
      expect(nodes).to.include(a);
    expect(Number(await graph.getAttribute("data-node-count"))).to.equal(nodes.length);
    // The same answer the page drew, over HTTP: its summary is the CLI's --json object.
    const res = await fetch(`${base}/trace`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ token: traced.token, seed: traced.seed, model: "haircut" }),
    });
    const answer = (await res.json()) as {
      summary: CliTrace;
      nodes: { address: string }[];
      edges: { from: string; to: string }[];
    };
    expect(answer.summary).to.deep.equal(cli);
    expect(answer.nodes.map((n) => n.address)).to.deep.equal(nodes);
    // A node selected from the exits list shows its tainted amount and the path that carried it.
    await page.getByRole("list", { name: "Exit points" }).getByRole("button").first().click();
    const panel = page.getByRole("region", { name: "Selected address" });
    await panel.waitFor();
    expect(await panel.getByTestId("node-tainted").innerText()).to.include(
      `${cli.exits[0]?.amount} exited`,
    );
    expect(await panel.locator("ol.paths li").count()).to.be.greaterThan(0);
    await page.screenshot({ path: path.join(SHOTS, "fund-flow.png"), fullPage: true });
    for (const [button, ext] of [
      ["Export picture (PNG)", ".png"],
      ["Export SVG", ".svg"],
      ["Export JSON", ".json"],
    ] as const) {
      const [download] = await Promise.all([
        page.waitForEvent("download"),
        page.getByRole("button", { name: button }).click(),
      ]);
      const file = path.join(dir, `export${ext}`);
      await download.saveAs(file);
      expect(download.suggestedFilename()).to.match(new RegExp(`\\${ext}$`));
      const bytes = readFileSync(file);
      if (ext === ".png") {
        expect(bytes.subarray(1, 4).toString()).to.equal("PNG");
        expect(statSync(file).size).to.be.greaterThan(2000);
      } else if (ext === ".svg") {
        const svg = await parseSvg(page, bytes.toString());
        expect(svg.error).to.equal(null);
        expect(svg.root).to.equal("svg");
        // One element per node of the trace, named by its address; one path and one amount per
        // sender → receiver.
        expect(svg.nodes).to.deep.equal(nodes);
        const pairs = new Set(answer.edges.map((e) => `${e.from}>${e.to}`));
        expect(svg.edges).to.equal(pairs.size);
        expect(svg.edgeLabels).to.have.length(pairs.size);
        expect(svg.edgeLabels.join(" ")).to.include(cli.exits[0]?.amount);
        expect(svg.external, "external references").to.deep.equal([]);
      } else {
        expect((JSON.parse(bytes.toString()) as { summary: CliTrace }).summary).to.deep.equal(cli);
      }
    }
  });

  it("draws a trace of every asset: a colour and legend entry per asset, conversion nodes, deposit addresses boxed with their exchange", async function () {
    // The server's own answer (routes/trace.ts) for a result built by hand: USDC stolen, swapped
    // on a Uniswap V2 pool for WETH, unwrapped, and ether paid to a deposit address.
    const answer = servedAnswer(
      swapped,
      31337,
      new Map([
        [USDC_TOKEN, { decimals: 6, symbol: "USDC" }],
        [WETH_TOKEN, { decimals: 18, symbol: "WETH" }],
        ["native", { decimals: 18, symbol: null }],
      ]),
    );
    const url = `${base}/trace`;
    await page.route(url, (route) =>
      route.request().method() === "POST"
        ? route.fulfill({
            status: 200,
            contentType: "application/json",
            body: JSON.stringify(answer),
          })
        : route.continue(),
    );
    try {
      await page.goto(`${base}/#/trace`);
      await page.getByLabel("Token (address, native or all)").fill("all");
      await page
        .getByLabel("Seed (transaction hash or ADDRESS@BLOCK; several: spaces between)")
        .fill(`0x${"5e".repeat(32)}`);
      await page.getByRole("button", { name: "Run trace" }).click();
      const graph = page.locator('.graph[data-graph-ready="true"]');
      await graph.waitFor({ timeout: 60_000 });
      expect(await page.getByTestId("trace-caption").innerText()).to.include("every asset");
      // The legend: one entry per asset, in the answer's order, and the conversions and boxes.
      const legend = page.getByRole("list", { name: "Legend" });
      const entries = await legend
        .locator("li.asset")
        .evaluateAll((lis) =>
          lis.map((li) => ({ token: li.getAttribute("data-token"), text: li.textContent?.trim() })),
        );
      expect(entries).to.deep.equal([
        { token: USDC_TOKEN, text: "USDC 0xa0b8…a0b8 (seed asset)" },
        { token: "native", text: "native" },
        { token: WETH_TOKEN, text: "WETH 0xc02a…c02a" },
      ]);
      expect(await legend.locator("li.conversion").count()).to.equal(1);
      expect(await legend.locator("li.deposits").count()).to.equal(1);
      // Four addresses and the two conversions (the pool's swap, the wrapper's unwrap).
      expect(await graph.getAttribute("data-drawn-nodes")).to.equal("6");
      const exits = await page.getByRole("list", { name: "Exit points" }).innerText();
      expect(exits).to.include("deposit address of Example Exchange: 0.1 native");
      await page.getByRole("list", { name: "Holdings" }).getByRole("button").first().click();
      const panel = page.getByRole("region", { name: "Selected address" });
      await panel.waitFor();
      const inEach = await panel.getByRole("list", { name: "Taint in each asset" }).innerText();
      expect(inEach).to.include("400 USDC held");
      expect(inEach).to.include("0.1 WETH held");
      expect(inEach).to.include("(worth 200 USDC)");
      await page.screenshot({ path: path.join(SHOTS, "fund-flow-assets.png"), fullPage: true });
      const [download] = await Promise.all([
        page.waitForEvent("download"),
        page.getByRole("button", { name: "Export SVG" }).click(),
      ]);
      const file = path.join(dir, "export-assets.svg");
      await download.saveAs(file);
      const svg = await parseSvg(page, readFileSync(file).toString());
      expect(svg.error).to.equal(null);
      expect(svg.nodes).to.include.members([`${POOL}/swap`, `${WETH_TOKEN}/unwrap`, DEPOSIT]);
      expect(svg.clusters).to.deep.equal(["deposit addresses of Example Exchange"]);
      // An edge colour per asset: USDC, ether, WETH.
      expect(new Set(svg.strokes).size).to.equal(3);
      expect(svg.edgeLabels).to.include.members(["600 USDC", "0.3 WETH", "0.2 native"]);
    } finally {
      await page.unroute(url);
    }
  });

  it("draws a trace across chains: the other chain's addresses named by their chain, the crossing through the bridge", async function () {
    // The server's own answer (routes/trace.ts) for a result as the engine gives it across two
    // chains: USDC stolen on chain 1, bridged by Across to chain 8453, paid to an exchange there.
    const answer = servedAnswer(
      bridged,
      1,
      new Map([
        [USDC_TOKEN, { decimals: 6, symbol: "USDC" }],
        [`8453:${USDC_BASE}`, { decimals: 6, symbol: "USDC" }],
      ]),
    );
    expect(answer.nodes.map((n) => n.address)).to.include.members([
      THIEF,
      `8453:${THIEF}`,
      `8453:${BASE_EXCHANGE}`,
    ]);
    const url = `${base}/trace`;
    await page.route(url, (route) =>
      route.request().method() === "POST"
        ? route.fulfill({
            status: 200,
            contentType: "application/json",
            body: JSON.stringify(answer),
          })
        : route.continue(),
    );
    try {
      await page.goto(`${base}/#/trace`);
      await page.getByLabel("Token (address, native or all)").fill("all");
      await page
        .getByLabel("Seed (transaction hash or ADDRESS@BLOCK; several: spaces between)")
        .fill(`0x${"b1".repeat(32)}`);
      await page.getByLabel("Read only what the taint reaches (lazily)").check();
      const [request] = await Promise.all([
        page.waitForRequest((r) => r.url() === url && r.method() === "POST"),
        page.getByRole("button", { name: "Run trace" }).click(),
      ]);
      expect(JSON.parse(request.postData() ?? "{}")).to.include({ token: "all", lazy: true });
      const graph = page.locator('.graph[data-graph-ready="true"]');
      await graph.waitFor({ timeout: 60_000 });
      expect(await page.getByTestId("trace-caption").innerText()).to.include(
        "on chain 1 and over bridges chain 8453,",
      );
      // Two USDC, one per chain; the holder and the exchange on 8453 named with their chain.
      const legend = page.getByRole("list", { name: "Legend" });
      expect(await legend.locator("li.asset").count()).to.equal(2);
      const holdings = await page.getByRole("list", { name: "Holdings" }).innerText();
      expect(holdings).to.include("8453:0x7e7e…7e7e");
      expect(holdings).to.include("200 USDC");
      const exits = await page.getByRole("list", { name: "Exit points" }).innerText();
      expect(exits).to.include("8453:0xeeee…eeee");
      // Selecting the holder on 8453 opens its own node, not the thief's on chain 1.
      await page.getByRole("list", { name: "Holdings" }).getByRole("button").first().click();
      const panel = page.getByRole("region", { name: "Selected address" });
      await panel.waitFor();
      expect(await panel.innerText()).to.include(`8453:${THIEF}`);
      await page.screenshot({ path: path.join(SHOTS, "fund-flow-chains.png"), fullPage: true });
    } finally {
      await page.unroute(url);
    }
  });

  it("draws a large trace on its canvas with every node and edge, selects a clicked node, pans, and exports it as SVG", async function () {
    // A synthetic answer in the server's shape (as npm run bench:web): 1 000 addresses and
    // 4 000 transfers, past the size the dashboard draws with cytoscape.
    const body = JSON.stringify(syntheticTrace(1000, 4000));
    traceChecker.check("POST", "/trace", {
      status: 200,
      contentType: "application/json",
      body: JSON.parse(body),
    });
    const answer = JSON.parse(body) as {
      nodes: { address: string }[];
      summary: { exits: { address: string }[] };
    };
    const url = `${base}/trace`;
    await page.route(url, (route) =>
      route.request().method() === "POST"
        ? route.fulfill({ status: 200, contentType: "application/json", body })
        : route.continue(),
    );
    try {
      await page.goto(`${base}/#/trace`);
      await page.getByLabel("Token (address, native or all)").fill(`0x${"ab".repeat(20)}`);
      await page
        .getByLabel("Seed (transaction hash or ADDRESS@BLOCK; several: spaces between)")
        .fill(`0x${"cd".repeat(32)}`);
      await page.getByRole("button", { name: "Run trace" }).click();
      const graph = page.locator('.graph[data-graph-ready="true"]');
      await graph.waitFor({ timeout: 60_000 });
      expect(await graph.getAttribute("data-renderer")).to.equal("canvas");
      expect(await graph.getAttribute("data-drawn-nodes")).to.equal("1000");
      expect(await graph.getAttribute("data-drawn-edges")).to.equal("4000");
      // The canvas is not blank: the graph's ink covers part of it.
      const inked = await page.evaluate(`(() => {
        const c = document.querySelector(".graph canvas");
        const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 0; i < d.length; i += 4) if (d[i] < 200) n++;
        return n / (d.length / 4);
      })()`);
      expect(inked).to.be.greaterThan(0.02);
      // A click on an exit selects it: the panel shows its address.
      await graph.scrollIntoViewIfNeeded();
      const exit = answer.summary.exits[3]?.address ?? "";
      const at = await page.evaluate<{ x: number; y: number } | null>(
        `document.querySelector(".graph").veritraceFlow.clientPosition(${JSON.stringify(exit)})`,
      );
      expect(at).to.not.equal(null);
      await page.mouse.click(at?.x ?? 0, at?.y ?? 0);
      const panel = page.getByRole("region", { name: "Selected address" });
      await panel.waitFor();
      expect(await panel.locator("h3").innerText()).to.equal(exit);
      // A drag pans the view.
      const panOf = () =>
        page.evaluate<{ x: number; y: number }>(
          `document.querySelector(".graph").veritraceFlow.pan()`,
        );
      const before = await panOf();
      const box = await graph.boundingBox();
      if (box === null) throw new Error("no graph on screen");
      await page.mouse.move(box.x + 40, box.y + 40);
      await page.mouse.down();
      for (let i = 1; i <= 10; i++) await page.mouse.move(box.x + 40 + 12 * i, box.y + 40 + 5 * i);
      await page.mouse.up();
      const after = await panOf();
      expect(after.x - before.x).to.be.closeTo(120, 1);
      expect(after.y - before.y).to.be.closeTo(50, 1);
      await page.screenshot({ path: path.join(SHOTS, "fund-flow-large.png") });
      const [download] = await Promise.all([
        page.waitForEvent("download"),
        page.getByRole("button", { name: "Export SVG" }).click(),
      ]);
      const file = path.join(dir, "export-large.svg");
      await download.saveAs(file);
      const svg = await parseSvg(page, readFileSync(file).toString());
      expect(svg.error).to.equal(null);
      expect(svg.root).to.equal("svg");
      expect(svg.nodes).to.deep.equal(answer.nodes.map((n) => n.address));
      expect(svg.edges).to.equal(4000);
      expect(svg.external).to.deep.equal([]);
      const [png] = await Promise.all([
        page.waitForEvent("download"),
        page.getByRole("button", { name: "Export picture (PNG)" }).click(),
      ]);
      const pngFile = path.join(dir, "export-large.png");
      await png.saveAs(pngFile);
      expect(readFileSync(pngFile).subarray(1, 4).toString()).to.equal("PNG");
    } finally {
      await page.unroute(url);
    }
  });

  it("shows the server's message when a trace fails", async function () {
    await page.goto(`${base}/#/trace`);
    await page.getByLabel("Token (address, native or all)").fill(traced.token);
    await page
      .getByLabel("Seed (transaction hash or ADDRESS@BLOCK; several: spaces between)")
      .fill(`0x${"ab".repeat(32)}`);
    await page.getByRole("button", { name: "Run trace" }).click();
    const error = page.getByTestId("trace-error");
    await error.waitFor();
    const res = await fetch(`${base}/trace`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ token: traced.token, seed: `0x${"ab".repeat(32)}`, model: "haircut" }),
    });
    // A seed the chain does not have is not found (its kind), the answer a problem.
    expect(res.status).to.equal(404);
    expect(res.headers.get("content-type")).to.match(/^application\/problem\+json/);
    const body = (await res.json()) as { detail: string; code: string };
    expect(body.code).to.equal("not_found");
    expect(await error.innerText()).to.equal(body.detail);
    await page.screenshot({ path: path.join(SHOTS, "trace-error.png") });
  });

  it("has no serious accessibility violations on any page (axe-core)", async function () {
    const found: string[] = [];
    for (const route of [
      "#/cases",
      `#/cases/${caseIds[0]}`,
      "#/institutions",
      "#/anomalies",
      "#/trace",
    ]) {
      await page.goto(`${base}/${route}`);
      await page.locator("main h1").waitFor();
      await page.waitForSelector(".state.loading", { state: "detached" });
      found.push(...(await seriousViolations(page)).map((v) => `${route} ${v}`));
    }
    expect(found).to.deep.equal([]);
  });

  it("is usable with the keyboard alone: sign-in, navigation, a case, a heat-map cell and a trace, each with a focus ring", async function () {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const kb = await context.newPage();
    kb.on("pageerror", (e) => pageErrors.push(e.message));
    try {
      await kb.goto(`${base}/`);
      // Sign-in: the token field, then the button, submitted with Enter.
      await tabTo(kb, "#token");
      await kb.keyboard.type(TOKEN);
      await tabOnceTo(kb, 'button[type="submit"]');
      await kb.keyboard.press("Enter");
      await kb.getByRole("table", { name: "Cases" }).waitFor();
      // The skip link comes first and takes the focus to the content.
      await tabTo(kb, "a.skip");
      await kb.keyboard.press("Enter");
      await focusMovesTo(kb, "#main");
      // A case link, opened with Enter: the new page's content gets the focus.
      await tabOnceTo(kb, `a[href="#/cases/${caseIds[0]}"]`);
      await kb.keyboard.press("Enter");
      await kb.getByRole("heading", { name: `Case ${caseIds[0]}` }).waitFor();
      await focusMovesTo(kb, "#main");
      // Back to the navigation with Shift+Tab, every link on the way with a ring.
      await tabOnceTo(kb, "header button.link", true);
      await tabOnceTo(kb, 'nav a[href="#/trace"]', true);
      await tabOnceTo(kb, 'nav a[href="#/anomalies"]', true);
      await tabOnceTo(kb, 'nav a[href="#/institutions"]', true);
      await kb.keyboard.press("Enter");
      await kb.getByRole("table", { name: "Activity per institution and day" }).waitFor();
      await focusMovesTo(kb, "#main");
      // A heat-map cell, pressed with Space, then a case of its drill-down with Enter.
      await tabTo(kb, "button.cell");
      await kb.keyboard.press("Space");
      const drill = kb.getByRole("region", { name: "Cases of the selected cell" });
      await drill.waitFor();
      const pressed = await kb.evaluate(() =>
        (globalThis as unknown as PageWindow).document.activeElement?.getAttribute("aria-pressed"),
      );
      expect(pressed).to.equal("true");
      await tabTo(kb, ".drill a");
      const target = await kb.evaluate(
        () => (globalThis as unknown as PageWindow).document.activeElement?.textContent ?? "",
      );
      await kb.keyboard.press("Enter");
      await kb.getByRole("heading", { name: target }).waitFor();
      await focusMovesTo(kb, "#main");
      // The trace form: each field in order, Shift+Tab back, submitted with Enter on the button.
      await tabTo(kb, 'nav a[href="#/trace"]', true);
      await kb.keyboard.press("Enter");
      await kb.getByRole("heading", { name: "Fund flows" }).waitFor();
      await focusMovesTo(kb, "#main");
      await tabTo(kb, 'input[name="token"]');
      await kb.keyboard.type(traced.token);
      await tabOnceTo(kb, 'input[name="seed"]');
      await kb.keyboard.type(traced.seed);
      await tabOnceTo(kb, 'input[name="seedAsset"]');
      await tabOnceTo(kb, 'select[name="model"]');
      await tabOnceTo(kb, 'input[name="hops"]');
      await tabOnceTo(kb, 'input[name="minAmount"]');
      await tabOnceTo(kb, 'input[name="lazy"]');
      await tabOnceTo(kb, 'button[type="submit"]');
      await tabOnceTo(kb, 'input[name="lazy"]', true);
      await tabOnceTo(kb, 'button[type="submit"]');
      await kb.keyboard.press("Enter");
      await kb.locator('.graph[data-graph-ready="true"]').waitFor({ timeout: 60_000 });
      // The exits beside the graph select a node from the keyboard too.
      await tabTo(kb, '[aria-label="Exit points"] button');
      await kb.keyboard.press("Enter");
      await kb.getByRole("region", { name: "Selected address" }).waitFor();
    } finally {
      await context.close();
    }
  });

  for (const viewport of [
    { width: 1366, height: 768 },
    { width: 1024, height: 768 },
  ]) {
    it(`fits a ${viewport.width}×${viewport.height} laptop screen: no horizontal scroll bar on any page`, async function () {
      const context = await browser.newContext({ viewport });
      await context.addInitScript((t) => sessionStorage.setItem("veritrace.token", t), TOKEN);
      const laptop = await context.newPage();
      laptop.on("pageerror", (e) => pageErrors.push(e.message));
      const overflows: string[] = [];
      const check = async (name: string) => {
        const over = await horizontalOverflow(laptop);
        if (over > 0) overflows.push(`${name}: ${over} px too wide`);
        await laptop.screenshot({
          path: path.join(SHOTS, `laptop-${viewport.width}-${name}.png`),
          fullPage: true,
        });
      };
      try {
        for (const [name, route] of [
          ["cases", "#/cases"],
          ["case", `#/cases/${caseIds[0]}`],
          ["institutions", "#/institutions"],
          ["anomalies", "#/anomalies?open=0"],
          ["trace", "#/trace"],
        ] as const) {
          await laptop.goto(`${base}/${route}`);
          await laptop.locator("main h1").waitFor();
          await laptop.waitForSelector(".state.loading", { state: "detached" });
          await check(name);
        }
        await laptop.getByLabel("Token (address, native or all)").fill(traced.token);
        await laptop
          .getByLabel("Seed (transaction hash or ADDRESS@BLOCK; several: spaces between)")
          .fill(traced.seed);
        await laptop.getByRole("button", { name: "Run trace" }).click();
        await laptop.locator('.graph[data-graph-ready="true"]').waitFor({ timeout: 60_000 });
        await laptop.getByRole("list", { name: "Exit points" }).getByRole("button").first().click();
        await laptop.locator("details.node-table summary").click();
        await check("fund-flow");
      } finally {
        await context.close();
      }
      expect(overflows).to.deep.equal([]);
    });
  }

  it("says when the tracer is unreachable", async function () {
    await page.route("**/cases?**", (route) => route.abort("connectionrefused"));
    try {
      await page.goto(`${base}/#/cases`);
      await page
        .getByRole("alert")
        .getByText("The tracer is unreachable", { exact: true })
        .waitFor();
      await page.screenshot({ path: path.join(SHOTS, "unreachable.png") });
    } finally {
      await page.unroute("**/cases?**");
    }
  });
});

describe("analyst dashboard over an empty store (Chromium)", function () {
  this.timeout(60_000);
  let dir: string;
  let server: ChildProcess | undefined;
  let base: string;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  before(async function () {
    mkdirSync(SHOTS, { recursive: true });
    dir = mkdtempSync(path.join(tmpdir(), "veritrace-web-empty-"));
    // A store nothing has indexed into yet, and no node to trace on.
    ({ base, child: server } = await serve(["--db", path.join(dir, "db"), "--port", "0"], TOKEN));
    browser = await launchChromium();
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    await context.addInitScript((t) => sessionStorage.setItem("veritrace.token", t), TOKEN);
    page = await context.newPage();
    page.on("pageerror", (e) => pageErrors.push(e.message));
  });

  after(async function () {
    await browser?.close();
    await stopChild(server);
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it("says on every page that there is no chain data yet, and shows no error", async function () {
    for (const [route, says] of [
      ["#/cases", "No cases on the chain yet."],
      ["#/institutions", "No institutions on the chain yet."],
      ["#/anomalies", "No anomalies"],
      ["#/trace", "Give a token and a seed, then run the trace."],
    ] as const) {
      await page.goto(`${base}/${route}`);
      await page.locator(".state.empty").getByText(says).waitFor();
      await page.locator(".health").getByText("nothing indexed yet").waitFor();
      expect(await page.getByRole("alert").count(), route).to.equal(0);
      await page.screenshot({ path: path.join(SHOTS, `empty-${route.slice(2)}.png`) });
    }
    expect(pageErrors).to.deep.equal([]);
  });

  it("says a trace needs a node when the server has none", async function () {
    await page.goto(`${base}/#/trace`);
    await page.getByLabel("Token (address, native or all)").fill("native");
    await page
      .getByLabel("Seed (transaction hash or ADDRESS@BLOCK; several: spaces between)")
      .fill(`0x${"ab".repeat(32)}`);
    await page.getByRole("button", { name: "Run trace" }).click();
    expect(await page.getByTestId("trace-error").innerText()).to.include("--rpc");
    expect(pageErrors).to.deep.equal([]);
  });
});
