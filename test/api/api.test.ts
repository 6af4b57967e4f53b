import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request as httpRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { JsonRpcProvider, Wallet, type Signer } from "ethers";
import { network } from "hardhat";
import pg from "pg";
import { onboard, runCases, type Cast } from "../../scripts/lib/activity.js";
import { deployConsortium } from "../../scripts/lib/deploy.js";
import { startLocalChain, type LocalChain } from "../../scripts/lib/local-chain.js";
import {
  DataKind,
  Investigator,
  Provider,
  Supervisor,
  buildLogBatch,
  connectConsortium,
  generateCaseKey,
  proofOf,
  submitDelivery,
  type ConsortiumContracts,
  type DeploymentRecord,
} from "../../src/client/index.js";
import { detectAnomalies } from "../../src/ledger/anomalies.js";
import { listInstitutions } from "../../src/ledger/lists.js";
import {
  caseReport,
  institutionReport,
  subjectReport,
  verifyDelivery,
  verifyEntry,
} from "../../src/ledger/queries.js";
import { TracerError } from "../../src/shared/errors.js";
import { RpcClient } from "../../src/chain/rpc.js";
import { Indexer } from "../../src/ledger/indexer.js";
import type { Parameter, Reference } from "../../src/api/openapi.js";
import {
  ROUTES,
  createApiServer,
  openApiDocument,
  type ApiServerOptions,
} from "../../src/api/server.js";
import { rawRequest, type RawAnswer } from "../helpers/raw-http.js";
import { AnswerChecker } from "../helpers/openapi-check.js";
import { openDatabase, openMemoryDatabase, type Database } from "../../src/db/db.js";
import { Store } from "../../src/db/store.js";

const TOKEN = "test-token-0123456789abcdef";
const OTHER_TOKEN = "other-token-0123456789abcdef";
const ADMIN_URL =
  process.env["VERITRACE_TEST_POSTGRES_URL"] ?? "postgres://root@127.0.0.1:5432/test";
const ROOT = path.resolve(import.meta.dirname, "../..");

// ---------------------------------------------------------------------------------- helpers

interface Answer {
  status: number;
  headers: Headers;
  body: Json;
}
/** A parsed JSON answer, read field by field in the tests. */
type Json = Record<string, unknown> & { items?: unknown[]; nextCursor?: string | null };

/** A request to a running server; the token is sent unless `token` is null. */
async function call(
  base: string,
  target: string,
  init: {
    token?: string | null;
    method?: string;
    body?: string;
    headers?: Record<string, string>;
  } = {},
): Promise<Answer> {
  const token = init.token === undefined ? TOKEN : init.token;
  const res = await fetch(`${base}${target}`, {
    method: init.method ?? "GET",
    headers: {
      ...(token === null ? {} : { authorization: `Bearer ${token}` }),
      ...(init.body === undefined ? {} : { "content-type": "application/json" }),
      ...init.headers,
    },
    ...(init.body === undefined ? {} : { body: init.body }),
  });
  const text = await res.text();
  const body = JSON.parse(text) as Json;
  // Every answer a test reads is one the published document describes.
  if ((init.method ?? "GET") !== "HEAD") {
    conformance.check(init.method ?? "GET", target, {
      status: res.status,
      contentType: res.headers.get("content-type"),
      body,
    });
  }
  return { status: res.status, headers: res.headers, body };
}

/** The checker of every answer {@link call} reads, against the document the server publishes. */
const conformance = new AnswerChecker(
  JSON.parse(JSON.stringify(openApiDocument)) as ConstructorParameters<typeof AnswerChecker>[0],
);

/** The body of a 200 answer. */
async function get(base: string, target: string): Promise<Json> {
  const a = await call(base, target);
  expect(a.status, `${target}: ${JSON.stringify(a.body)}`).to.equal(200);
  return a.body;
}

/** The error code of an answer with the given status. */
async function failing(
  base: string,
  target: string,
  status: number,
  init: Parameters<typeof call>[2] = {},
): Promise<Answer> {
  const a = await call(base, target, init);
  expect(a.status, `${target}: ${JSON.stringify(a.body)}`).to.equal(status);
  expect(a.headers.get("content-type")).to.match(/^application\/problem\+json/);
  expect(a.body["code"]).to.be.a("string");
  expect(a.body["detail"]).to.be.a("string");
  expect(a.body["status"]).to.equal(status);
  return a;
}

/** Every item of a paginated listing, following nextCursor; `pick` finds the page in a body. */
async function walk(
  base: string,
  target: string,
  limit: number,
  pick: (body: Json) => Json = (b) => b,
): Promise<{ items: unknown[]; pages: number }> {
  const items: unknown[] = [];
  let cursor: string | null = null;
  let pages = 0;
  const sep = target.includes("?") ? "&" : "?";
  do {
    const body = await get(
      base,
      `${target}${sep}limit=${limit}${cursor === null ? "" : `&cursor=${cursor}`}`,
    );
    const page = pick(body);
    const batch = page.items ?? [];
    expect(batch.length).to.be.at.most(limit);
    items.push(...batch);
    cursor = page.nextCursor ?? null;
    pages++;
    if (cursor !== null) expect(batch.length).to.equal(limit);
  } while (cursor !== null);
  return { items, pages };
}

/** A value as the API serializes it. */
const wire = (v: unknown): unknown =>
  JSON.parse(JSON.stringify(v, (_k, x: unknown) => (typeof x === "bigint" ? x.toString() : x)));

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function stop(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** A raw request (for headers fetch won't send, and chunked bodies). */
function raw(
  base: string,
  options: { path: string; method?: string; headers?: Record<string, string>; chunks?: Buffer[] },
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        path: options.path,
        method: options.method ?? "GET",
        headers: options.headers,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString("utf8"),
          }),
        );
      },
    );
    req.on("error", reject);
    for (const c of options.chunks ?? []) req.write(c);
    req.end();
  });
}

// ----------------------------------------------------------------------- consortium activity

interface World {
  url: string;
  record: DeploymentRecord;
  caseIds: bigint[];
  /** A case left pending, and an extended open case whose two grants were revoked after delivery. */
  pendingCase: bigint;
  openCase: bigint;
  /** An anchor of a single entry, and that entry. */
  singleAnchor: { anchorId: bigint; entry: unknown };
  policeAddress: string;
}

async function extraActivity(
  contracts: ConsortiumContracts,
  cast: Cast,
  relayer: Signer,
): Promise<Omit<World, "url" | "record" | "caseIds" | "policeAddress">> {
  const investigator = new Investigator(contracts, cast.police.signer);
  const supervisor = new Supervisor(contracts, cast.prosecutor.signer);
  const bank = new Provider(contracts, cast.bank.signer);
  const caseKey = generateCaseKey();
  const now = Number(await investigator.now());
  const pending = await investigator.openCase({
    caseNumber: `PENDING-${now}`,
    caseKey,
    legalBasis: "order p",
    scope: [DataKind.BankTransactions],
    expiresAt: now + 30 * 86_400,
  });
  const open = await investigator.openCase({
    caseNumber: `OPEN-${now}`,
    caseKey,
    legalBasis: "order o",
    scope: [DataKind.BankTransactions],
    expiresAt: now + 60 * 86_400,
  });
  await supervisor.approveCase(open.caseId);
  await investigator.requestExtension(open.caseId, now + 90 * 86_400);
  await supervisor.approveExtension(open.caseId, now + 90 * 86_400);
  for (const i of [0, 1]) {
    const { requestId } = await investigator.request({
      caseId: open.caseId,
      provider: cast.bank.id,
      datasetId: cast.bank.dataset,
      subject: { type: "bankAccount", identifier: "ACC1000" },
      caseKey,
      purposeCode: 1,
    });
    await bank.grant(requestId, { expiresAt: now + 30 * 86_400, maxRecords: 10 });
    const payload = `revoked ${i}`;
    const { delivery, signature } = await bank.prepareDelivery(requestId, payload, 2);
    const ack = await investigator.acknowledge(delivery, payload);
    await submitDelivery(
      contracts,
      relayer,
      delivery,
      { signer: await cast.bank.signer.getAddress(), signature },
      { signer: await cast.police.signer.getAddress(), signature: ack },
    );
    await bank.revokeGrant(requestId, 3);
  }
  const entry = { note: "a batch of one", caseId: open.caseId.toString() };
  const { anchorId } = await investigator.anchorLog(open.caseId, [entry]);
  return {
    pendingCase: pending.caseId,
    openCase: open.caseId,
    singleAnchor: { anchorId, entry },
  };
}

async function buildWorld(chain: LocalChain): Promise<World> {
  const connection = await network.create({ network: "localhost", override: { url: chain.url } });
  try {
    const signers = await connection.ethers.getSigners();
    const founders = await Promise.all(
      signers.slice(0, 3).map(async (s, i) => ({
        kind: "AUDITOR",
        metadataCommitment: `0x${(i + 1).toString(16).padStart(64, "0")}`,
        signingKey: await s.getAddress(),
      })),
    );
    const record = await deployConsortium(connection, founders, 2, {
      deploymentId: `api-test-${Date.now()}`,
      ephemeral: true,
    });
    const contracts = connectConsortium(record, connection.ethers.provider);
    const cast = await onboard(contracts, signers);
    const relayer = signers[7];
    if (relayer === undefined) throw new Error("no relayer account");
    const { caseIds } = await runCases(contracts, cast, 3, 4, relayer);
    const extra = await extraActivity(contracts, cast, relayer);
    return {
      url: chain.url,
      record,
      caseIds,
      ...extra,
      policeAddress: await cast.police.signer.getAddress(),
    };
  } finally {
    await connection.close();
  }
}

async function indexInto(store: Store, world: World): Promise<void> {
  await new Indexer(store, new RpcClient(world.url), world.record, { finalityDepth: 4 }).syncOnce();
}

// ------------------------------------------------------------------------------------ tests

describe("tracer API", function () {
  this.timeout(120_000);
  let chain: LocalChain | undefined;
  let world: World;
  let memory: Store;

  before(async function () {
    chain = await startLocalChain("anvil");
    world = await buildWorld(chain);
    memory = await Store.open(await openMemoryDatabase());
    await indexInto(memory, world);
  });

  after(async function () {
    await memory?.close();
    await chain?.stop();
  });

  for (const engine of ["pglite", "postgres"] as const) {
    describe(`routes on ${engine}`, function () {
      let store: Store;
      let server: Server;
      let base: string;
      let database: string | undefined;

      before(async function () {
        if (engine === "pglite") {
          store = memory;
        } else {
          database = `veritrace_api_${randomBytes(6).toString("hex")}`;
          const admin = new pg.Client({ connectionString: ADMIN_URL });
          try {
            await admin.connect();
          } catch (error) {
            // In CI the server is started by .ci/run: its absence is a failure, not a skip.
            if (process.env["CI"] !== undefined) throw error;
            console.warn(
              `      PostgreSQL unreachable at ${ADMIN_URL}: ${(error as Error).message}`,
            );
            database = undefined;
            this.skip();
          }
          try {
            await admin.query(`CREATE DATABASE ${database}`);
          } finally {
            await admin.end();
          }
          const url = new URL(ADMIN_URL);
          url.pathname = `/${database}`;
          store = await Store.open(await openDatabase(url.toString()));
          await indexInto(store, world);
        }
        server = createApiServer(store, { tokens: [TOKEN, OTHER_TOKEN] });
        base = await listen(server);
      });

      after(async function () {
        if (server !== undefined) await stop(server);
        if (engine === "postgres" && database !== undefined) {
          await store?.close();
          const admin = new pg.Client({ connectionString: ADMIN_URL });
          await admin.connect();
          try {
            await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
          } finally {
            await admin.end();
          }
        }
      });

      describe("authentication", function () {
        it("answers /health and /openapi.json without a token", async function () {
          const health = await call(base, "/health", { token: null });
          expect(health.status).to.equal(200);
          expect(health.body).to.deep.equal({
            status: "ok",
            engine,
            indexedTo: wire(await store.checkpoint()),
            events: await store.eventCount(),
            follower: null,
          });
          expect(health.body["events"]).to.be.greaterThan(50);
          expect((await call(base, "/openapi.json", { token: null })).status).to.equal(200);
        });

        it("refuses a protected route without a token, with WWW-Authenticate", async function () {
          const a = await failing(base, "/cases", 401, { token: null });
          expect(a.headers.get("www-authenticate")).to.match(/^Bearer/);
          expect(a.body["code"]).to.equal("unauthorized");
        });

        it("refuses a wrong token, a prefix of a token, a longer one and another scheme", async function () {
          for (const token of ["wrong", TOKEN.slice(0, -1), `${TOKEN}x`, TOKEN.repeat(40)]) {
            await failing(base, "/cases", 401, { token });
          }
          await failing(base, "/cases", 401, {
            token: null,
            headers: { authorization: `Basic ${TOKEN}` },
          });
        });

        it("accepts each configured token, the scheme in any case", async function () {
          await get(base, "/cases");
          expect((await call(base, "/cases", { token: OTHER_TOKEN })).status).to.equal(200);
          const a = await call(base, "/cases", {
            token: null,
            headers: { authorization: `bearer ${TOKEN}` },
          });
          expect(a.status).to.equal(200);
        });
      });

      describe("GET /cases", function () {
        it("lists every case exactly once, matching its case report", async function () {
          const { items, pages } = await walk(base, "/cases", 2);
          expect(pages).to.be.greaterThan(1);
          const ids = items.map((c) => (c as { caseId: string }).caseId);
          const expected = [...world.caseIds, world.pendingCase, world.openCase].map(String);
          expect(ids).to.deep.equal(expected);
          for (const item of items) {
            const c = item as Record<string, unknown>;
            const report = await caseReport(store.db, String(c["caseId"]));
            expect(c).to.include({
              caseId: report.caseId,
              caseNumberCommitment: report.caseNumberCommitment,
              status: report.status,
              opener: report.opener,
              approver: report.approver,
              expiresAt: report.expiresAt,
              requests: report.counts["request"] ?? 0,
              grants: report.counts["grant"] ?? 0,
              denials: report.counts["denial"] ?? 0,
              deliveries: report.counts["delivery"] ?? 0,
            });
          }
          const statuses = items.map((c) => (c as { status: string }).status);
          expect(statuses).to.include.members(["closed", "pending", "approved"]);
        });

        it("shows an extended expiry", async function () {
          const { items } = await walk(base, "/cases", 500);
          const open = items.find(
            (c) => (c as { caseId: string }).caseId === String(world.openCase),
          ) as { expiresAt: number };
          const report = await caseReport(store.db, String(world.openCase));
          expect(report.counts["extension"]).to.equal(1);
          expect(open.expiresAt).to.equal(report.expiresAt);
        });
      });

      describe("GET /cases/{caseIdOrCommitment}", function () {
        it("answers the case report, its custody walked page by page", async function () {
          for (const id of [...world.caseIds, world.openCase]) {
            const report = wire(await caseReport(store.db, String(id))) as Record<string, unknown>;
            const first = await get(base, `/cases/${id}?limit=3`);
            const { custody, ...expectedRest } = report;
            expect({ ...first, custody: undefined }).to.deep.equal({
              ...expectedRest,
              custody: undefined,
            });
            const { items, pages } = await walk(
              base,
              `/cases/${id}`,
              3,
              (b) => b["custody"] as Json,
            );
            expect(items).to.deep.equal(custody);
            expect(pages).to.equal(Math.ceil((custody as unknown[]).length / 3));
          }
        });

        it("finds a case by its case number commitment", async function () {
          const report = await caseReport(store.db, String(world.caseIds[1]));
          const body = await get(base, `/cases/${report.caseNumberCommitment}`);
          expect(body["caseId"]).to.equal(report.caseId);
        });

        it("answers 404 for an unknown case, 400 for a malformed reference", async function () {
          await failing(base, "/cases/999999", 404);
          await failing(base, `/cases/0x${"00".repeat(32)}`, 404);
          for (const bad of ["abc", "0x1234", "-1", "1.5", `0x${"zz".repeat(32)}`, "%E0%A4%A"]) {
            await failing(base, `/cases/${bad}`, 400);
          }
        });
      });

      describe("GET /institutions and /institutions/{idOrAddress}", function () {
        it("lists every institution exactly once", async function () {
          const { items, pages } = await walk(base, "/institutions", 2);
          expect(pages).to.be.greaterThan(1);
          expect(items).to.deep.equal(wire(await listInstitutions(store.db)));
          expect(items.length).to.equal(7);
        });

        it("answers each institution's report, its cases walked page by page", async function () {
          for (const institution of await listInstitutions(store.db)) {
            const report = wire(await institutionReport(store.db, String(institution.id))) as {
              institution: unknown;
              cases: unknown[];
            };
            const body = await get(base, `/institutions/${institution.id}`);
            expect(body["institution"]).to.deep.equal(report.institution);
            const { items } = await walk(
              base,
              `/institutions/${institution.id}`,
              1,
              (b) => b["cases"] as Json,
            );
            expect(items).to.deep.equal(report.cases);
          }
        });

        it("finds an institution by a signing address, in any case", async function () {
          const byAddress = await get(
            base,
            `/institutions/${world.policeAddress.toUpperCase().replace("0X", "0x")}`,
          );
          const report = await institutionReport(store.db, world.policeAddress);
          expect((byAddress["institution"] as { id: number }).id).to.equal(report.institution.id);
          expect((byAddress["cases"] as Json).items?.length).to.be.greaterThan(0);
        });

        it("answers 404 for an unknown institution, 400 for a malformed one", async function () {
          await failing(base, "/institutions/999", 404);
          await failing(base, `/institutions/0x${"11".repeat(20)}`, 404);
          for (const bad of ["police", "0x1234", "1e3"]) {
            await failing(base, `/institutions/${bad}`, 400);
          }
        });
      });

      describe("GET /subjects/{commitment}", function () {
        it("answers every subject's report", async function () {
          const rows = await store.db.query<{ subject: string }>(
            "SELECT DISTINCT subject FROM events WHERE event = 'AccessRequested'",
          );
          expect(rows.length).to.be.greaterThan(3);
          for (const { subject } of rows) {
            expect(await get(base, `/subjects/${subject}`)).to.deep.equal(
              wire(await subjectReport(store.db, subject)),
            );
          }
        });

        it("answers no cases for an unknown subject, 400 for a malformed one", async function () {
          const none = `0x${"ab".repeat(32)}`;
          expect(await get(base, `/subjects/${none}`)).to.deep.equal({ subject: none, cases: [] });
          await failing(base, "/subjects/0x12", 400);
        });
      });

      describe("GET /deliveries/{id}/verification", function () {
        it("verifies every delivery as the query does", async function () {
          const rows = await store.db.query<{ id: string }>(
            "SELECT delivery_id::text AS id FROM events WHERE event = 'DeliveryAttested' ORDER BY delivery_id",
          );
          expect(rows.length).to.equal(3 * 3 + 2);
          for (const { id } of rows) {
            const body = await get(base, `/deliveries/${id}/verification`);
            expect(body).to.deep.equal(wire(await verifyDelivery(store.db, world.record, id)));
            expect(body["valid"]).to.equal(true);
          }
        });

        it("answers 404 for an unknown delivery, 400 for a malformed id", async function () {
          await failing(base, "/deliveries/424242/verification", 404);
          await failing(base, "/deliveries/x1/verification", 400);
        });
      });

      describe("/anchors/{id}/entries/verify", function () {
        /** The anchors of the generated cases, and their entries as runCases built them. */
        async function anchors(): Promise<{ anchorId: string; entries: unknown[] }[]> {
          const out: { anchorId: string; entries: unknown[] }[] = [];
          for (const caseId of world.caseIds) {
            const rows = await store.db.query<{ event: string; id: string; request: string }>(
              `SELECT event, coalesce(anchor_id, delivery_id)::text AS id, request_id::text AS request
                 FROM events WHERE case_id = $1 AND event IN ('DeliveryAttested', 'LogAnchored')
                ORDER BY block_number, log_index`,
              [caseId.toString()],
            );
            const entries = rows
              .filter((r) => r.event === "DeliveryAttested")
              .map((r) => ({ caseId: caseId.toString(), requestId: r.request, deliveryId: r.id }));
            const anchor = rows.find((r) => r.event === "LogAnchored");
            if (anchor !== undefined) out.push({ anchorId: anchor.id, entries });
          }
          return out;
        }

        it("checks an entry by its hash (GET) and in full (POST) as the query does", async function () {
          const all = await anchors();
          expect(all.length).to.equal(world.caseIds.length);
          for (const { anchorId, entries } of all) {
            const batch = buildLogBatch(entries);
            for (let index = 0; index < entries.length; index++) {
              const proof = proofOf(batch, index);
              const entryHash = batch.entryHashes[index] ?? "";
              const expected = wire(
                await verifyEntry(store.db, anchorId, { index, entryHash, proof }),
              );
              const byHash = await get(
                base,
                `/anchors/${anchorId}/entries/verify?index=${index}&entryHash=${entryHash}&proof=${proof.join(",")}`,
              );
              expect(byHash).to.deep.equal(expected);
              expect(byHash["included"]).to.equal(true);
              const posted = await call(base, `/anchors/${anchorId}/entries/verify`, {
                method: "POST",
                body: JSON.stringify({ index, entry: entries[index], proof }),
              });
              expect(posted.status).to.equal(200);
              expect(posted.body).to.deep.equal(expected);
            }
            const moved = await call(base, `/anchors/${anchorId}/entries/verify`, {
              method: "POST",
              body: JSON.stringify({ index: 1, entry: entries[0], proof: proofOf(batch, 0) }),
            });
            expect(moved.status).to.equal(200);
            expect(moved.body["included"]).to.equal(false);
          }
        });

        it("checks the entry of a batch of one, with an empty proof", async function () {
          const { anchorId, entry } = world.singleAnchor;
          const { entryHashes } = buildLogBatch([entry]);
          const body = await get(
            base,
            `/anchors/${anchorId}/entries/verify?index=0&entryHash=${entryHashes[0]}&proof=`,
          );
          expect(body["included"]).to.equal(true);
          const posted = await call(base, `/anchors/${anchorId}/entries/verify`, {
            method: "POST",
            body: JSON.stringify({ index: 0, entry }),
          });
          expect(posted.body["included"]).to.equal(true);
        });

        it("answers 404 for an unknown anchor, 400 for malformed input", async function () {
          const h = `0x${"12".repeat(32)}`;
          await failing(base, `/anchors/9999/entries/verify?index=0&entryHash=${h}`, 404);
          await failing(base, `/anchors/x/entries/verify?index=0&entryHash=${h}`, 400);
          await failing(base, `/anchors/1/entries/verify?entryHash=${h}`, 400);
          await failing(base, `/anchors/1/entries/verify?index=-1&entryHash=${h}`, 400);
          await failing(base, `/anchors/1/entries/verify?index=0&entryHash=0x12`, 400);
          await failing(base, `/anchors/1/entries/verify?index=0&entryHash=${h}&proof=0x12`, 400);
          const post = (body: string, headers?: Record<string, string>) =>
            failing(base, "/anchors/1/entries/verify", 400, { method: "POST", body, headers });
          await post("{not json");
          await post("[1]");
          await post(JSON.stringify({ index: 0, entry: {}, entryHash: h }));
          await post(JSON.stringify({ index: 0 }));
          await post(JSON.stringify({ index: "0", entryHash: h }));
          await post(JSON.stringify({ index: 0, entryHash: h, proof: ["0x12"] }));
          await post(JSON.stringify({ index: 0, entryHash: h, extra: 1 }));
          await failing(base, `/anchors/1/entries/verify?index=0`, 400, {
            method: "POST",
            body: JSON.stringify({ index: 0, entryHash: h }),
          });
          await failing(base, "/anchors/1/entries/verify", 415, {
            method: "POST",
            body: JSON.stringify({ index: 0, entryHash: h }),
            headers: { "content-type": "text/plain" },
          });
        });
      });

      describe("GET /anomalies", function () {
        it("lists every anomaly exactly once, as detectAnomalies finds them", async function () {
          const expected = wire(await detectAnomalies(store.db)) as { rule: string }[];
          expect(expected.filter((a) => a.rule === "revoked-after-delivery")).to.have.length(2);
          const { items } = await walk(base, "/anomalies", 1);
          expect(items).to.deep.equal(expected);
          const filtered = await walk(base, "/anomalies?rule=revoked-after-delivery", 1);
          expect(filtered.items).to.deep.equal(
            expected.filter((a) => a.rule === "revoked-after-delivery"),
          );
          expect((await get(base, "/anomalies?rule=anchor-gap"))["items"]).to.deep.equal([]);
        });

        it("answers 400 for an unknown rule", async function () {
          await failing(base, "/anomalies?rule=bogus", 400);
        });
      });

      describe("pagination parameters and routing", function () {
        it("answers 400 for a bad limit, a bad cursor or another listing's cursor", async function () {
          for (const limit of ["0", "501", "abc", "-1", "1.5", ""]) {
            await failing(base, `/cases?limit=${limit}`, 400);
          }
          await failing(base, "/cases?cursor=!!!", 400);
          await failing(base, "/cases?cursor=bm90IGpzb24", 400);
          const page = await get(base, "/cases?limit=1");
          expect(page.nextCursor).to.be.a("string");
          await failing(base, `/institutions?cursor=${page.nextCursor}`, 400);
          await failing(base, `/anomalies?cursor=${page.nextCursor}`, 400);
          const custody = (await get(base, `/cases/${world.caseIds[0]}?limit=1`))[
            "custody"
          ] as Json;
          await failing(base, `/cases/${world.caseIds[1]}?cursor=${custody.nextCursor}`, 400);
        });

        it("answers the default page size and at most 500", async function () {
          const page = await get(base, `/cases/${world.caseIds[0]}`);
          const custody = page["custody"] as Json;
          expect(custody.items?.length).to.be.at.most(50);
          expect((await get(base, "/cases?limit=500")).items).to.have.length(5);
        });

        it("answers 400 for an unknown or repeated query parameter", async function () {
          await failing(base, "/cases?limt=3", 400);
          await failing(base, "/cases?limit=1&limit=2", 400);
        });

        it("answers 404 for an unknown route, 405 with Allow for a wrong method", async function () {
          await failing(base, "/nothing", 404);
          await failing(base, "/cases/1/extra", 404);
          await failing(base, "/", 404);
          const post = await failing(base, "/cases", 405, { method: "POST", body: "{}" });
          expect(post.headers.get("allow")).to.equal("GET, HEAD");
          const del = await failing(base, "/anchors/1/entries/verify", 405, { method: "DELETE" });
          expect(del.headers.get("allow")).to.equal("GET, HEAD, POST");
        });

        it("serializes JSON with no-store caching", async function () {
          const res = await fetch(`${base}/health`);
          expect(res.headers.get("content-type")).to.equal("application/json; charset=utf-8");
          expect(res.headers.get("cache-control")).to.equal("no-store");
          await res.text();
        });
      });
    });
  }

  describe("limits", function () {
    const servers: Server[] = [];
    async function serve(options: ApiServerOptions): Promise<string> {
      const server = createApiServer(memory, options);
      servers.push(server);
      return listen(server);
    }
    after(async function () {
      for (const s of servers) await stop(s);
    });

    it("refuses to create a server without tokens unless insecureLocal", function () {
      expect(() => createApiServer(memory, { tokens: [] })).to.throw(TracerError, /no API tokens/);
      expect(() => createApiServer(memory, { tokens: [""] })).to.throw(TracerError);
    });

    it("answers 413 for a body over the limit, declared or chunked", async function () {
      const base = await serve({ tokens: [TOKEN], maxBodyBytes: 1024 });
      const big = JSON.stringify({ index: 0, entry: "x".repeat(4096) });
      const a = await failing(base, "/anchors/1/entries/verify", 413, {
        method: "POST",
        body: big,
      });
      expect(a.body["code"]).to.equal("payload_too_large");
      const chunked = await raw(base, {
        path: "/anchors/1/entries/verify",
        method: "POST",
        headers: {
          authorization: `Bearer ${TOKEN}`,
          "content-type": "application/json",
          "transfer-encoding": "chunked",
        },
        chunks: [Buffer.from(big.slice(0, 600)), Buffer.from(big.slice(600))],
      });
      expect(chunked.status).to.equal(413);
      const small = JSON.stringify({ index: 0, entryHash: `0x${"12".repeat(32)}` });
      await failing(base, "/anchors/9999/entries/verify", 404, { method: "POST", body: small });
    });

    it("answers 414 for a request target over the limit", async function () {
      const base = await serve({ tokens: [TOKEN], maxUrlBytes: 256 });
      await failing(base, `/cases?cursor=${"a".repeat(300)}`, 414);
      await failing(base, `/cases?cursor=${"a".repeat(100)}`, 400);
    });

    describe("request-level checks", function () {
      const BIG = 1 << 20;
      /** A concrete target for a route's path template (each parameter "1"). */
      const target = (route: { path: string }) => route.path.replace(/\{[^}]+\}/g, "1");
      const postRoutes = () => ROUTES.filter((r) => r.methods.includes("POST"));
      const post = (base: string, path: string, body: Buffer, headers: string[] = []) =>
        rawRequest(
          base,
          [
            `POST ${path} HTTP/1.1`,
            `host: ${new URL(base).host}`,
            `authorization: Bearer ${TOKEN}`,
            "content-type: application/json",
            `content-length: ${body.length}`,
            ...headers,
          ],
          body,
        );
      const errorOf = (a: RawAnswer) =>
        JSON.parse(a.body.toString("utf8")) as { code: string; detail: string };

      it("answers HEAD on every GET route with the GET's status and headers, and no body", async function () {
        const base = await serve({ tokens: [TOKEN] });
        const host = `host: ${new URL(base).host}`;
        const auth = `authorization: Bearer ${TOKEN}`;
        const routes = ROUTES.filter((r) => r.methods.includes("GET"));
        expect(routes.length).to.be.greaterThan(5);
        const statuses = new Set<number>();
        for (const route of routes) {
          const t = target(route);
          const get = await rawRequest(base, [`GET ${t} HTTP/1.1`, host, auth]);
          const head = await rawRequest(base, [`HEAD ${t} HTTP/1.1`, host, auth]);
          const fields = (a: RawAnswer) => a.headers.filter(([k]) => k !== "date");
          expect(head.status, t).to.equal(get.status);
          expect(fields(head), t).to.deep.equal(fields(get));
          expect(head.body.length, t).to.equal(0);
          expect(get.body.length, t).to.be.greaterThan(0);
          statuses.add(get.status);
        }
        expect(statuses.has(200)).to.equal(true);
        // Without a token, HEAD is refused as GET is.
        const refused = await rawRequest(base, ["HEAD /cases HTTP/1.1", host]);
        expect(refused.status).to.equal(401);
        expect(refused.body.length).to.equal(0);
      });

      it("answers 400 to a request with two Host headers", async function () {
        const base = await serve({ tokens: [TOKEN] });
        const host = `host: ${new URL(base).host}`;
        const once = await rawRequest(base, ["GET /health HTTP/1.1", host]);
        expect(once.status).to.equal(200);
        for (const second of [host, "host: evil.example"]) {
          const twice = await rawRequest(base, ["GET /health HTTP/1.1", host, second]);
          expect(twice.status, second).to.equal(400);
          expect(errorOf(twice).detail).to.match(/more than one Host header/);
        }
        // The same on a local server without tokens (its Host check reads one Host).
        const local = await serve({ tokens: [], insecureLocal: true });
        const localHost = `host: ${new URL(local).host}`;
        const r = await rawRequest(local, ["GET /cases HTTP/1.1", localHost, "host: evil.example"]);
        expect(r.status).to.equal(400);
      });

      it("answers 401 to a request with two Authorization headers, even two valid ones", async function () {
        const base = await serve({ tokens: [TOKEN, OTHER_TOKEN] });
        const host = `host: ${new URL(base).host}`;
        const auth = `authorization: Bearer ${TOKEN}`;
        expect((await rawRequest(base, ["GET /cases HTTP/1.1", host, auth])).status).to.equal(200);
        for (const second of [auth, `authorization: Bearer ${OTHER_TOKEN}`, "authorization: x"]) {
          for (const path of ["/cases", "/health"]) {
            const a = await rawRequest(base, [`GET ${path} HTTP/1.1`, host, auth, second]);
            expect(a.status, `${path} ${second}`).to.equal(401);
            expect(errorOf(a).detail).to.match(/more than one Authorization header/);
            expect(a.headers).to.deep.include(["www-authenticate", 'Bearer realm="veritrace"']);
          }
        }
      });

      it("refuses to create a server with a token that is not printable ASCII", function () {
        for (const bad of [
          "tëst-token-0123456789",
          "test-token-012345\x7f6789",
          "tab\ttoken-0123456789",
        ])
          expect(() => createApiServer(memory, { tokens: [bad] }), JSON.stringify(bad)).to.throw(
            TracerError,
            /not printable ASCII/,
          );
      });

      it("answers 400 to a JSON body nested deeper than 64 levels on every POST route", async function () {
        const base = await serve({ tokens: [TOKEN], maxBodyBytes: BIG });
        expect(postRoutes().length).to.be.greaterThan(1);
        const deep = (n: number, inner = "") => `${"[".repeat(n)}${inner}${"]".repeat(n)}`;
        for (const route of postRoutes()) {
          for (const body of [
            deep(100_000),
            "[".repeat(100_000),
            `{"index":0,"entry":${deep(65)},"proof":[]}`,
            `{"a":${'{"a":'.repeat(70)}1${"}".repeat(71)}`,
          ]) {
            const a = await post(base, target(route), Buffer.from(body));
            expect(a.status, `${route.path} ${body.slice(0, 30)}`).to.equal(400);
            expect(errorOf(a).detail).to.match(/deeper than 64 levels/);
          }
        }
        // 64 levels, and brackets inside strings (escaped quotes too), are not refused for depth.
        for (const entry of [deep(63), `"${"[".repeat(1000)}"`, `"\\"${"{".repeat(1000)}"`]) {
          const a = await post(
            base,
            "/anchors/9999/entries/verify",
            Buffer.from(`{"index":0,"entry":${entry},"proof":[]}`),
          );
          expect(a.status, entry.slice(0, 30)).to.equal(404);
        }
      });

      it("answers 400 to a body that is not valid UTF-8, never reading it as U+FFFD", async function () {
        const base = await serve({ tokens: [TOKEN] });
        const path = "/anchors/9999/entries/verify";
        const valid = Buffer.from(`{"index":0,"entry":"é","proof":[]}`);
        expect((await post(base, path, valid)).status).to.equal(404);
        for (const bad of [[0xff], [0xc3], [0xed, 0xa0, 0x80], [0xc0, 0xaf]]) {
          const body = Buffer.concat([
            Buffer.from(`{"index":0,"entry":"`),
            Buffer.from(bad),
            Buffer.from(`","proof":[]}`),
          ]);
          for (const route of [path, ...postRoutes().map(target)]) {
            const a = await post(base, route, body);
            expect(a.status, `${route} ${bad.join(",")}`).to.equal(400);
            expect(errorOf(a).detail).to.equal("the body is not valid UTF-8");
          }
        }
      });

      it("echoes at most 80 characters of an input value in an error", async function () {
        const base = await serve({ tokens: [TOKEN], maxBodyBytes: BIG });
        const key = "k".repeat(50_000);
        for (const route of postRoutes()) {
          const a = await post(base, target(route), Buffer.from(`{"${key}":1}`));
          expect(a.status, route.path).to.equal(400);
          const { detail: message } = errorOf(a);
          expect(message, route.path).to.include(`"${"k".repeat(80)}…"`);
          expect(message.length, route.path).to.be.below(200);
        }
        const host = `host: ${new URL(base).host}`;
        const auth = `authorization: Bearer ${TOKEN}`;
        for (const t of [`/cases?${key.slice(0, 3000)}=1`, `/${key.slice(0, 3000)}`]) {
          const a = await rawRequest(base, [`GET ${t} HTTP/1.1`, host, auth]);
          expect(a.status).to.be.oneOf([400, 404]);
          expect(errorOf(a).detail.length, t.slice(0, 20)).to.be.below(200);
        }
      });
    });

    it("answers 429 with Retry-After past the rate, per token, refilling over time", async function () {
      let now = 1_000_000;
      const base = await serve({
        tokens: [TOKEN, OTHER_TOKEN],
        rateLimit: { perMinute: 3 },
        clock: () => now,
      });
      for (let i = 0; i < 3; i++) await get(base, "/institutions");
      const limited = await failing(base, "/institutions", 429);
      expect(limited.headers.get("retry-after")).to.equal("20");
      expect(limited.body["code"]).to.equal("rate_limited");
      expect((await call(base, "/institutions", { token: OTHER_TOKEN })).status).to.equal(200);
      now += 10_000;
      expect((await failing(base, "/institutions", 429)).headers.get("retry-after")).to.equal("10");
      now += 10_001;
      await get(base, "/institutions");
      await failing(base, "/institutions", 429);
    });

    it("counts failed authentication against the client's address", async function () {
      const base = await serve({ tokens: [TOKEN], rateLimit: { perMinute: 2 }, clock: () => 0 });
      await failing(base, "/cases", 401, { token: "nope" });
      await failing(base, "/cases", 401, { token: "nope" });
      await failing(base, "/cases", 429, { token: "nope" });
      await get(base, "/cases");
    });

    it("serves without tokens when insecureLocal, to local clients on localhost only", async function () {
      const base = await serve({ tokens: [], insecureLocal: true });
      expect((await call(base, "/cases", { token: null })).status).to.equal(200);
      const port = new URL(base).port;
      const local = await raw(base, { path: "/cases", headers: { host: `localhost:${port}` } });
      expect(local.status).to.equal(200);
      const rebound = await raw(base, { path: "/cases", headers: { host: "evil.example" } });
      expect(rebound.status).to.equal(403);
      expect(JSON.parse(rebound.body)).to.have.property("code", "forbidden");
    });

    it("answers 500 without details when a query fails, and reports the error", async function () {
      let broken500 = false;
      const db: Database = {
        engine: memory.db.engine,
        location: "broken",
        query: (text, params) =>
          broken500 ? Promise.reject(new Error("disk on fire")) : memory.db.query(text, params),
        transaction: (fn) => memory.db.transaction(fn),
        close: () => Promise.resolve(),
      };
      const broken = await Store.open(db);
      broken500 = true;
      const seen: unknown[] = [];
      const server = createApiServer(broken, { tokens: [TOKEN], onError: (e) => seen.push(e) });
      servers.push(server);
      const brokenBase = await listen(server);
      const a = await failing(brokenBase, "/cases", 500);
      expect(a.body).to.deep.equal({
        type: "/problems/internal",
        title: "Internal error",
        status: 500,
        detail: "internal error",
        code: "internal",
      });
      expect(seen.map((e) => (e as Error).message)).to.deep.equal(["disk on fire"]);
    });
    it("answers 503 when the answer takes longer than the request timeout", async function () {
      const slow: Database = {
        engine: memory.db.engine,
        location: "slow",
        query: async (text, params) => {
          await new Promise((r) => setTimeout(r, 300));
          return memory.db.query(text, params);
        },
        transaction: (fn) => memory.db.transaction(fn),
        close: () => Promise.resolve(),
      };
      const server = createApiServer(await Store.open(slow), {
        tokens: [TOKEN],
        requestTimeoutMs: 100,
      });
      servers.push(server);
      const a = await failing(await listen(server), "/institutions", 503);
      expect(a.body).to.have.property("code", "timeout");
    });
  });

  describe("OpenAPI document", function () {
    type Doc = typeof openApiDocument;
    let served: Doc;
    let base: string;
    let server: Server;

    before(async function () {
      server = createApiServer(memory, { tokens: [TOKEN] });
      base = await listen(server);
      const res = await fetch(`${base}/openapi.json`);
      served = JSON.parse(await res.text()) as Doc;
    });
    after(async function () {
      await stop(server);
    });

    /** Resolves a local $ref (#/components/…). */
    function resolve<T>(value: T | Reference): T {
      if (typeof value === "object" && value !== null && "$ref" in value) {
        const target = value.$ref
          .replace(/^#\//, "")
          .split("/")
          .reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], served);
        expect(target, value.$ref).to.not.equal(undefined);
        return target as T;
      }
      return value;
    }

    it("is OpenAPI 3.1 JSON whose every $ref resolves", function () {
      expect(served.openapi).to.equal("3.1.0");
      expect(served.info.title).to.be.a("string");
      expect(served).to.deep.equal(wire(openApiDocument));
      const refs: string[] = [];
      JSON.stringify(served, (key, v: unknown) => {
        if (key === "$ref" && typeof v === "string") refs.push(v);
        return v;
      });
      expect(refs.length).to.be.greaterThan(20);
      for (const r of refs) resolve({ $ref: r });
    });

    it("has a path, with the same methods, for every route the server answers, and no other", function () {
      const fromServer = Object.fromEntries(
        ROUTES.map((r) => [r.path, r.methods.map((m) => m.toLowerCase()).sort()]),
      );
      const fromDoc = Object.fromEntries(
        Object.entries(served.paths).map(([p, item]) => [p, Object.keys(item).sort()]),
      );
      expect(fromDoc).to.deep.equal(fromServer);
    });

    it("describes every path and query parameter, security and responses of each operation", function () {
      const ids = new Set<string>();
      for (const route of ROUTES) {
        const item = served.paths[route.path] ?? {};
        for (const method of route.methods) {
          const op = method === "GET" ? item.get : item.post;
          if (op === undefined) throw new Error(`${method} ${route.path} undocumented`);
          expect(ids.has(op.operationId), op.operationId).to.equal(false);
          ids.add(op.operationId);
          const params = (op.parameters ?? []).map((p) => resolve<Parameter>(p));
          const inPath = [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
          expect(params.filter((p) => p.in === "path").map((p) => p.name)).to.deep.equal(inPath);
          for (const p of params.filter((x) => x.in === "path")) expect(p.required).to.equal(true);
          if (method === "GET") {
            expect(
              params
                .filter((p) => p.in === "query")
                .map((p) => p.name)
                .sort(),
            ).to.deep.equal([...route.query].sort());
          } else {
            expect(op.requestBody?.required).to.equal(true);
            expect(op.responses).to.have.property("413");
          }
          expect(op.responses).to.have.property("200");
          if (route.public) expect(op.security).to.deep.equal([]);
          else {
            expect(op.security).to.equal(undefined);
            expect(op.responses).to.have.property("401");
          }
          if (route.query.includes("cursor")) expect(op.responses).to.have.property("400");
        }
      }
      expect(served.security).to.deep.equal([{ bearerAuth: [] }]);
      expect(served.components.securitySchemes["bearerAuth"]?.scheme).to.equal("bearer");
    });

    it("names routes the server answers (no path of it is an unknown route)", async function () {
      for (const p of Object.keys(served.paths)) {
        const target = p.replace(/\{[^}]+\}/g, "1");
        const a = await call(base, target);
        const detail = a.body["detail"] as string | undefined;
        expect(detail ?? "", target).to.not.match(/^no route/);
      }
    });
  });

  describe("wire format", function () {
    let server: Server;
    let base: string;
    let seed: string;

    before(async function () {
      // A native transfer on the chain: a real trace to answer.
      // The receiver spends part of it: a transfer on, and the gas it pays (an exit of kind fee).
      const provider = new JsonRpcProvider(world.url);
      const [from, via] = [await provider.getSigner(9), await provider.getSigner(8)];
      const sent = await from.sendTransaction({ to: await via.getAddress(), value: 10n ** 15n });
      const receipt = await sent.wait();
      if (receipt === null) throw new Error("no receipt");
      seed = receipt.hash;
      const on = await via.sendTransaction({
        to: Wallet.createRandom().address,
        value: 10n ** 14n,
      });
      await on.wait();
      provider.destroy();
      server = createApiServer(memory, { tokens: [TOKEN], rpcUrl: world.url });
      base = await listen(server);
    });
    after(async function () {
      await stop(server);
    });

    it("answers every operation of every route with a body its published schema accepts", async function () {
      const one = async <T>(sql: string): Promise<T> => {
        const [row] = await memory.db.query<{ v: T }>(sql);
        if (row === undefined) throw new Error(`no row: ${sql}`);
        return row.v;
      };
      const subject = await one<string>(
        "SELECT subject AS v FROM events WHERE event = 'AccessRequested' LIMIT 1",
      );
      const delivery = await one<string>(
        "SELECT args->>'deliveryId' AS v FROM events WHERE event = 'DeliveryAttested' LIMIT 1",
      );
      const { anchorId, entry } = world.singleAnchor;
      const { entryHashes } = buildLogBatch([entry]);
      for (const target of [
        "/health",
        "/openapi.json",
        "/cases?limit=2",
        `/cases/${world.openCase}`,
        "/institutions",
        `/institutions/${world.policeAddress}`,
        `/subjects/${subject}`,
        `/deliveries/${delivery}/verification`,
        `/anchors/${anchorId}/entries/verify?index=0&entryHash=${entryHashes[0]}&proof=`,
        "/anomalies",
        "/activity",
      ]) {
        await get(base, target);
      }
      const posts: [string, unknown][] = [
        [`/anchors/${anchorId}/entries/verify`, { index: 0, entry }],
        ["/trace", { token: "native", seed, model: "poison" }],
        [
          "/risk/screen",
          {
            addresses: [
              await (
                await memory.db.query<{ v: string }>(
                  "SELECT signer AS v FROM events WHERE signer IS NOT NULL LIMIT 1",
                )
              )[0]?.v,
              "not-an-address",
            ],
          },
        ],
      ];
      for (const [target, body] of posts) {
        const a = await call(base, target, { method: "POST", body: JSON.stringify(body) });
        expect(a.status, `${target}: ${JSON.stringify(a.body)}`).to.equal(200);
      }
      // The trace followed the seed; the screening answered one line of each kind.
      const trace = await call(base, "/trace", {
        method: "POST",
        body: JSON.stringify({ token: "native", seed, model: "poison" }),
      });
      expect((trace.body["edges"] as unknown[]).length).to.be.greaterThan(0);
      const exits = (trace.body["summary"] as { exits: { address: string; chainId: number }[] })
        .exits;
      expect(exits.map((e) => [e.address, e.chainId])).to.deep.include(["fees", 31337]);
      const missing = ROUTES.flatMap((r) => r.methods.map((m) => `${m} ${r.path} 200`)).filter(
        (k) => !conformance.checked.has(k),
      );
      expect(missing).to.deep.equal([]);
    });

    it("answers every refusal as a problem its schema accepts, with the status it names", async function () {
      for (const [target, status, init] of [
        ["/cases?limit=0", 400, {}],
        ["/cases/99999", 404, {}],
        ["/nowhere", 404, {}],
        ["/cases", 401, { token: null }],
        ["/cases", 405, { method: "POST", body: "{}" }],
        ["/trace", 400, { method: "POST", body: JSON.stringify({ token: "native" }) }],
        ["/trace", 415, { method: "POST", body: "{}", headers: { "content-type": "text/plain" } }],
      ] as const) {
        const a = await failing(base, target, status, init);
        expect(a.body["type"]).to.equal(`/problems/${String(a.body["code"])}`);
      }
    });
  });

  describe("veritrace serve", function () {
    let dir: string;
    const env = () => {
      const e = { ...process.env };
      delete e["VERITRACE_API_TOKENS"];
      delete e["DATABASE_URL"];
      return e;
    };
    before(function () {
      dir = mkdtempSync(path.join(tmpdir(), "veritrace-api-"));
    });
    after(function () {
      rmSync(dir, { recursive: true, force: true });
      // The access log the servers wrote beside their store directory.
      rmSync(`${dir}.access.jsonl`, { force: true });
    });

    /** Runs the command to its end. */
    function run(args: string[], extraEnv: Record<string, string> = {}) {
      return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, ["bin/veritrace.mjs", ...args], {
          cwd: ROOT,
          env: { ...env(), ...extraEnv },
          stdio: ["ignore", "pipe", "pipe"],
        });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
        child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
        child.on("exit", (code) => resolve({ code, stdout, stderr }));
      });
    }

    /**
     * Starts the command and waits for its one line; `stop` sends SIGTERM and waits for the exit.
     * `input`, if given, is its stdin.
     */
    async function start(args: string[], extraEnv: Record<string, string> = {}, input?: string) {
      const child = spawn(process.execPath, ["bin/veritrace.mjs", "serve", ...args], {
        cwd: ROOT,
        env: { ...env(), ...extraEnv },
        stdio: ["pipe", "pipe", "pipe"],
      });
      // Without input, stdin ends at once, as /dev/null would.
      child.stdin.end(input);
      let stdout = "";
      let stderr = "";
      child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
      const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
      try {
        const line = await new Promise<string>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`no line; stderr: ${stderr}`)), 30_000);
          child.stdout.on("data", (c: Buffer) => {
            stdout += c.toString();
            if (stdout.includes("\n")) {
              clearTimeout(timer);
              resolve(stdout.split("\n")[0] ?? "");
            }
          });
          child.on("exit", (code) => reject(new Error(`exited ${code}: ${stderr}`)));
        });
        return {
          line,
          stop: async () => {
            child.kill("SIGTERM");
            return { code: await exited, stdout, stderr };
          },
        };
      } catch (error) {
        child.kill("SIGKILL");
        await exited;
        throw error;
      }
    }

    it("refuses to start without tokens: a usage error (exit 2), one line on stderr", async function () {
      const r = await run(["serve", "--db", dir]);
      expect(r.code).to.equal(2);
      expect(r.stdout).to.equal("");
      expect(r.stderr.trimEnd().split("\n")).to.have.length(1);
      expect(r.stderr).to.match(/^veritrace serve: no API tokens/);
    });

    it("refuses --insecure-local on an address other than loopback", async function () {
      const r = await run(["serve", "--db", dir, "--insecure-local", "--host", "0.0.0.0"]);
      expect(r.code).to.equal(2);
      expect(r.stderr.trimEnd().split("\n")).to.have.length(1);
      expect(r.stderr).to.match(/--insecure-local serves only on 127\.0\.0\.1/);
    });

    it("refuses a short token", async function () {
      const r = await run(["serve", "--db", dir], { VERITRACE_API_TOKENS: "short" });
      expect(r.code).to.equal(1);
      expect(r.stderr.trimEnd().split("\n")).to.have.length(1);
    });

    it("refuses a token that is not printable ASCII, from the environment or a file: one line", async function () {
      const file = path.join(dir, "bad-tokens");
      writeFileSync(file, `# API tokens\n${TOKEN}\ntëst-token-0123456789abcdef\n`);
      const fromFile = await run(["serve", "--db", dir, "--tokens", file]);
      const fromEnv = await run(["serve", "--db", dir], {
        VERITRACE_API_TOKENS: `${TOKEN},test-token-\x010123456789abcdef`,
      });
      for (const [r, where] of [
        [fromFile, `${file} line 3`],
        [fromEnv, "VERITRACE_API_TOKENS item 2"],
      ] as const) {
        expect(r.code).to.equal(1);
        expect(r.stdout).to.equal("");
        expect(r.stderr.trimEnd().split("\n")).to.have.length(1);
        expect(r.stderr).to.include(`the token in ${where} is not a token: printable ASCII only`);
      }
    });

    it("echoes at most 80 characters of an option's value in its error line", async function () {
      const long = `http${"x".repeat(5000)} `;
      const r = await run(["serve", "--db", dir, "--insecure-local", "--rpc", long]);
      expect(r.code).to.not.equal(0);
      expect(r.stderr.trimEnd().split("\n")).to.have.length(1);
      expect(r.stderr).to.include("…");
      expect(r.stderr.length).to.be.below(200);
    });

    it("starts with --insecure-local on 127.0.0.1, answers, and stops on SIGTERM", async function () {
      const server = await start(["--db", dir, "--insecure-local", "--port", "0"]);
      const m = /^listening on (http:\/\/127\.0\.0\.1:\d+)$/.exec(server.line);
      expect(m, server.line).to.not.equal(null);
      const base = m?.[1] ?? "";
      const health = await call(base, "/health", { token: null });
      expect(health.body).to.include({ status: "ok", engine: "pglite", events: 0 });
      expect((await call(base, "/cases", { token: null })).status).to.equal(200);
      const end = await server.stop();
      expect(end.code).to.equal(0);
      // The listening line, then the access log's (the one request to a data route is in it).
      const lines = end.stdout.trimEnd().split("\n");
      expect(lines).to.have.length(2);
      expect(JSON.parse(lines[1] ?? "")).to.include({
        level: "info",
        msg: "access log",
        file: `${dir}.access.jsonl`,
      });
      expect(readFileSync(`${dir}.access.jsonl`, "utf8")).to.match(
        /^\{"seq":0,.*"token":null,.*"target":"\/cases",.*"status":200,/,
      );
      expect(end.stderr).to.equal("");
    });

    it("starts with tokens from a file and the environment, and requires them", async function () {
      const file = path.join(dir, "tokens");
      writeFileSync(file, `# API tokens\n\n${TOKEN}\n  # old: ${"z".repeat(20)}\n`);
      const server = await start(["--db", dir, "--port", "0", "--tokens", file], {
        VERITRACE_API_TOKENS: ` ${OTHER_TOKEN} ,`,
      });
      const base = /(http:\S+)/.exec(server.line)?.[1] ?? "";
      await failing(base, "/cases", 401, { token: null });
      await failing(base, "/cases", 401, { token: "z".repeat(20) });
      expect((await call(base, "/cases")).status).to.equal(200);
      expect((await call(base, "/cases", { token: OTHER_TOKEN })).status).to.equal(200);
      expect((await server.stop()).code).to.equal(0);
    });

    it("takes its tokens from stdin for --tokens -, as a secrets manager pipes them", async function () {
      const log = path.join(dir, "stdin-tokens.access.jsonl");
      const server = await start(
        ["--db", dir, "--port", "0", "--tokens", "-", "--access-log", log],
        {},
        `# from the vault\nanalyst ${TOKEN}\n`,
      );
      const base = /(http:\S+)/.exec(server.line)?.[1] ?? "";
      await failing(base, "/cases", 401, { token: null });
      await failing(base, "/cases", 401, { token: OTHER_TOKEN });
      expect((await call(base, "/cases")).status).to.equal(200);
      const end = await server.stop();
      expect([end.code, end.stderr]).to.deep.equal([0, ""]);
      // Named as in a file: the access log says who read.
      const entries = readFileSync(log, "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as { token: string | null; status: number });
      expect(entries.map((e) => [e.token, e.status])).to.deep.include(["analyst", 200]);
      expect(existsSync(path.join(ROOT, "-")), "a file named -").to.equal(false);
    });
  });
});
