import { randomBytes } from "node:crypto";
import { expect } from "chai";
import {
  ANOMALY_COLUMNS,
  ANOMALY_RULES,
  DEFAULT_THRESHOLDS,
  anomalyRows,
  detectAnomalies,
  resolveThresholds,
  storeTime,
  type Anomaly,
  type AnomalyThresholds,
} from "../../src/ledger/anomalies.js";
import { TracerError } from "../../src/shared/errors.js";
import { openDatabase, openMemoryDatabase, type Database } from "../../src/db/db.js";
import { Store } from "../../src/db/store.js";
import { DAY, EventLog, HOUR, Participants as P } from "../helpers/events.js";

/** The PostgreSQL server the tests create their own database on. */
const POSTGRES_URL =
  process.env["VERITRACE_TEST_POSTGRES_URL"] ?? "postgres://root@127.0.0.1:5432/test";

/** A second prosecutor, to tell approvers apart. */
const PROSECUTOR_2 = 10;

interface Engine {
  name: string;
  store: Store;
}

const rulesOf = (anomalies: readonly Anomaly[]): string[] => anomalies.map((a) => a.rule);
const eventsOf = (a: Anomaly | undefined): string[] => (a?.evidence ?? []).map((e) => e.event);

function only(anomalies: readonly Anomaly[]): Anomaly {
  expect(anomalies).to.have.length(1);
  const a = anomalies[0];
  if (a === undefined) throw new Error("no anomaly");
  return a;
}

describe("anomaly detection", function () {
  const engines: Engine[] = [];
  let admin: Database | null = null;
  let databaseName: string | null = null;
  let postgresMissing: string | null = null;

  before(async function () {
    engines.push({ name: "pglite", store: await Store.open(await openMemoryDatabase()) });
    try {
      admin = await openDatabase(POSTGRES_URL);
    } catch (error) {
      // In CI the server is started by .ci/run: its absence is a failure, not a skip.
      if (process.env["CI"] !== undefined) throw error;
      postgresMissing = (error as Error).message;
      console.warn(`    (PostgreSQL server not reachable, PGlite only: ${postgresMissing})`);
      return;
    }
    databaseName = `veritrace_anomalies_${randomBytes(6).toString("hex")}`;
    await admin.query(`CREATE DATABASE ${databaseName}`);
    const url = new URL(POSTGRES_URL);
    url.pathname = `/${databaseName}`;
    engines.push({ name: "postgres", store: await Store.open(await openDatabase(url.toString())) });
  });

  after(async function () {
    for (const e of engines) await e.store.close();
    if (admin !== null) {
      if (databaseName !== null) await admin.query(`DROP DATABASE IF EXISTS ${databaseName}`);
      await admin.close();
    }
  });

  /**
   * Writes the log into every engine's emptied store and detects anomalies on each: the engines
   * must agree exactly. Returns the (common) result.
   */
  async function detect(
    log: EventLog,
    options?: Partial<AnomalyThresholds>,
    now?: number,
  ): Promise<Anomaly[]> {
    const results: Anomaly[][] = [];
    for (const e of engines) {
      await e.store.db.query("DELETE FROM events");
      await e.store.db.query("DELETE FROM blocks");
      await e.store.writeRange(log.range());
      results.push(await detectAnomalies(e.store.db, options, now));
    }
    const [first, ...others] = results;
    if (first === undefined) throw new Error("no engine");
    others.forEach((r, i) =>
      expect(r, `${engines[i + 1]?.name} differs from ${engines[0]?.name}`).to.deep.equal(first),
    );
    return first;
  }

  it("runs every scenario on PGlite and on the PostgreSQL server, with identical results", function () {
    if (postgresMissing !== null) this.skip();
    expect(engines.map((e) => e.name)).to.deep.equal(["pglite", "postgres"]);
  });

  describe("the store", function () {
    it("finds nothing in an empty store, whose clock is unknown", async function () {
      expect(await detect(new EventLog())).to.deep.equal([]);
      for (const e of engines) expect(await storeTime(e.store.db)).to.equal(null);
    });

    it("takes the store's clock from the newest block, even one without events", async function () {
      const log = new EventLog();
      log.approvedCase();
      log.after(3 * DAY).mine();
      await detect(log);
      for (const e of engines) expect(await storeTime(e.store.db)).to.equal(log.now);
    });
  });

  describe("unacknowledged-delivery", function () {
    /** An approved case with one granted request; the clock at the grant. */
    function granted(grant: { expiresAt?: number } = {}) {
      const log = new EventLog();
      const caseId = log.approvedCase();
      log.after(HOUR);
      const requestId = log.request({ caseId, requester: P.police, provider: P.bank });
      log.after(HOUR).grant(requestId, grant);
      return { log, caseId, requestId, grantedAt: log.now };
    }

    it("flags a live grant with no co-signed delivery T after it", async function () {
      const { log, caseId, requestId, grantedAt } = granted();
      log.at(grantedAt + 7 * DAY).mine();
      const a = only(await detect(log));
      expect(a.rule).to.equal("unacknowledged-delivery");
      expect(a.severity).to.equal("medium");
      expect(a.caseId).to.equal(caseId);
      expect(a.participants).to.deep.equal([P.police, P.bank]);
      expect(eventsOf(a)).to.deep.equal(["AccessRequested", "AccessGranted"]);
      expect(a.evidence[1]?.requestId).to.equal(requestId);
      expect(a.firstBlock).to.equal(a.evidence[0]?.blockNumber);
      expect(a.lastBlock).to.equal(a.evidence[1]?.blockNumber);
      expect(a.details).to.deep.equal({
        requestId,
        grantedAt,
        secondsWithoutDelivery: 7 * DAY,
      });
      expect(a.summary).to.equal(
        `Participant ${P.bank} granted request ${requestId} of participant ${P.police} (case ${caseId})` +
          ` at 2026-01-01T02:00:00Z, but no delivery co-signed by both sides was recorded in the` +
          ` 7 days the grant stayed live.`,
      );
    });

    it("does not flag it one second before T", async function () {
      const { log, grantedAt } = granted();
      log.at(grantedAt + 7 * DAY - 1).mine();
      expect(await detect(log)).to.deep.equal([]);
    });

    it("measures against the given time instead of the store's newest block", async function () {
      const { log, grantedAt } = granted();
      expect(rulesOf(await detect(log, {}, grantedAt + 7 * DAY))).to.deep.equal([
        "unacknowledged-delivery",
      ]);
      expect(await detect(log, {}, grantedAt + 7 * DAY - 1)).to.deep.equal([]);
    });

    it("does not flag a grant with a co-signed delivery, even a late one", async function () {
      const { log, requestId, grantedAt } = granted();
      log.at(grantedAt + 8 * DAY).deliver(requestId);
      log.at(grantedAt + 10 * DAY).mine();
      expect(await detect(log)).to.deep.equal([]);
    });

    it("ignores deliveries after the given time", async function () {
      const { log, requestId, grantedAt } = granted();
      log.at(grantedAt + 8 * DAY).deliver(requestId);
      expect(rulesOf(await detect(log, {}, grantedAt + 8 * DAY - 1))).to.deep.equal([
        "unacknowledged-delivery",
      ]);
    });

    it("does not flag a grant revoked before T, and flags one revoked at T", async function () {
      const early = granted();
      early.log.at(early.grantedAt + 7 * DAY - 1).revoke(early.requestId);
      early.log.after(DAY).mine();
      expect(await detect(early.log)).to.deep.equal([]);

      const late = granted();
      late.log.at(late.grantedAt + 7 * DAY).revoke(late.requestId);
      const a = only(await detect(late.log));
      expect(eventsOf(a)).to.deep.equal(["AccessRequested", "AccessGranted", "GrantRevoked"]);
    });

    it("does not flag a grant that expired before T, and flags one expiring at T", async function () {
      const start = new EventLog().now + 2 * HOUR;
      const short = granted({ expiresAt: start + 7 * DAY - 1 });
      short.log.at(short.grantedAt + 8 * DAY).mine();
      expect(await detect(short.log)).to.deep.equal([]);

      const exact = granted({ expiresAt: start + 7 * DAY });
      exact.log.at(exact.grantedAt + 8 * DAY).mine();
      expect(rulesOf(await detect(exact.log))).to.deep.equal(["unacknowledged-delivery"]);
    });

    it("does not flag a grant whose case was closed before T", async function () {
      const { log, caseId, grantedAt } = granted();
      log.at(grantedAt + DAY).closeCase(caseId);
      log.at(grantedAt + 8 * DAY).mine();
      expect(await detect(log)).to.deep.equal([]);
    });

    it("takes T from the thresholds", async function () {
      const { log, grantedAt } = granted();
      log.at(grantedAt + DAY).mine();
      const a = only(await detect(log, { unacknowledgedAfterSeconds: DAY }));
      expect(a.summary).to.contain("in the 1 day the grant stayed live");
      expect(await detect(log, { unacknowledgedAfterSeconds: DAY + 1 })).to.deep.equal([]);
    });
  });

  describe("request-burst", function () {
    it("flags 21 requests of one requester within one hour", async function () {
      const log = new EventLog();
      const caseId = log.approvedCase();
      log.after(DAY);
      const ids = log.requests(21, 179, { caseId, requester: P.police });
      const a = only(await detect(log));
      expect(a.rule).to.equal("request-burst");
      expect(a.severity).to.equal("medium");
      expect(a.caseId).to.equal(caseId);
      expect(a.participants).to.deep.equal([P.police]);
      expect(a.evidence.map((e) => e.requestId)).to.deep.equal(ids);
      expect(a.details).to.deep.equal({ peak: 21, requests: 21, cases: 1, windowSeconds: HOUR });
      expect(a.summary).to.match(
        /^Participant 4 made 21 requests within 1 hour \(more than 20\), 21 in all between .* in case 1\.$/,
      );
    });

    it("does not flag 21 requests whose first and last are one hour apart", async function () {
      const log = new EventLog();
      const caseId = log.approvedCase();
      log.after(DAY).requests(21, 180, { caseId });
      expect(await detect(log)).to.deep.equal([]);
    });

    it("does not flag 20 requests in ten minutes", async function () {
      const log = new EventLog();
      const caseId = log.approvedCase();
      log.after(DAY).requests(20, 30, { caseId });
      expect(await detect(log)).to.deep.equal([]);
    });

    it("counts each requester on its own", async function () {
      const log = new EventLog();
      const caseId = log.approvedCase();
      log.after(DAY);
      for (let i = 0; i < 15; i++) {
        log.request({ caseId, requester: P.police, subject: `+4179100${1000 + i}` });
        log.request({ caseId, requester: P.prosecutor, subject: `+4179200${1000 + i}` });
        log.after(60);
      }
      expect(await detect(log)).to.deep.equal([]);
    });

    it("reports one episode per burst, merging overlapping windows", async function () {
      const log = new EventLog();
      const caseId = log.approvedCase();
      log.after(DAY);
      const first = log.requests(25, 60, { caseId });
      log.after(5 * HOUR);
      const second = log.requests(22, 10, { caseId });
      const found = await detect(log);
      expect(found.map((a) => a.evidence.length)).to.deep.equal([25, 22]);
      expect(found[0]?.evidence.map((e) => e.requestId)).to.deep.equal(first);
      expect(found[1]?.evidence.map((e) => e.requestId)).to.deep.equal(second);
      expect(found[0]?.details["peak"]).to.equal(25);
    });

    it("rates a burst of more than twice the limit high, across cases", async function () {
      const log = new EventLog();
      const a1 = log.approvedCase();
      const a2 = log.approvedCase();
      log.after(DAY);
      log.requests(21, 20, { caseId: a1 });
      log.after(20).requests(20, 20, { caseId: a2 });
      const a = only(await detect(log));
      expect(a.severity).to.equal("high");
      expect(a.caseId).to.equal(undefined);
      expect(a.details).to.include({ peak: 41, cases: 2 });
      expect(a.summary).to.match(/across 2 cases\.$/);
    });

    it("takes the limit and the window from the thresholds", async function () {
      const log = new EventLog();
      const caseId = log.approvedCase();
      log.after(DAY).requests(6, 119, { caseId });
      const thresholds = { burstMaxRequests: 5, burstWindowSeconds: 600 };
      expect(only(await detect(log, thresholds)).summary).to.contain(
        "6 requests within 10 minutes",
      );
      expect(await detect(log, { ...thresholds, burstWindowSeconds: 595 })).to.deep.equal([]);
    });
  });

  describe("subject-across-cases", function () {
    const SUBJECT = "+41 79 555 00 00";

    it("flags one subject commitment queried in 4 cases sharing a case key", async function () {
      const log = new EventLog();
      for (let i = 0; i < 8; i++) log.approvedCase();
      const cases = [1, 2, 3, 4].map(() => log.approvedCase({ key: "shared" }));
      log.after(DAY);
      for (const caseId of cases) log.request({ caseId, subject: SUBJECT });
      log.request({ caseId: cases[0] ?? "", requester: P.prosecutor, subject: SUBJECT });
      const a = only(await detect(log));
      expect(a.rule).to.equal("subject-across-cases");
      expect(a.severity).to.equal("high");
      expect(a.caseId).to.equal(undefined);
      expect(a.participants).to.deep.equal([P.police, P.prosecutor]);
      expect(a.evidence).to.have.length(5);
      expect(a.details).to.include({ cases: 4, requests: 5 });
      expect(a.summary).to.match(
        /^Subject commitment 0x[0-9a-f]{4}…[0-9a-f]{4} was queried in 4 cases \(9, 10, 11, 12; more than 3\): .* share one key/,
      );
    });

    it("does not flag it in 3 cases, however often it is queried in each", async function () {
      const log = new EventLog();
      const cases = [1, 2, 3].map(() => log.approvedCase({ key: "shared" }));
      log.after(DAY);
      for (const caseId of cases) {
        log.request({ caseId, subject: SUBJECT });
        log.request({ caseId, subject: SUBJECT, provider: P.telecom });
      }
      expect(await detect(log)).to.deep.equal([]);
    });

    it("does not flag one identifier queried in 5 cases under their own keys", async function () {
      const log = new EventLog();
      const cases = [1, 2, 3, 4, 5].map(() => log.approvedCase());
      log.after(DAY);
      for (const caseId of cases) log.request({ caseId, subject: SUBJECT });
      expect(await detect(log)).to.deep.equal([]);
    });

    it("takes K from the thresholds", async function () {
      const log = new EventLog();
      const cases = [1, 2].map(() => log.approvedCase({ key: "shared" }));
      log.after(DAY);
      for (const caseId of cases) log.request({ caseId, subject: SUBJECT });
      expect(rulesOf(await detect(log, { subjectMaxCases: 1 }))).to.deep.equal([
        "subject-across-cases",
      ]);
    });
  });

  describe("approver-as-provider", function () {
    it("flags an approver that grants and delivers in its own case", async function () {
      const log = new EventLog();
      const caseId = log.approvedCase({ approver: P.prosecutor });
      log.after(HOUR);
      const requestId = log.request({ caseId, provider: P.prosecutor });
      log.after(HOUR).grant(requestId);
      log.after(HOUR).deliver(requestId);
      const a = only(await detect(log));
      expect(a.rule).to.equal("approver-as-provider");
      expect(a.severity).to.equal("high");
      expect(a.caseId).to.equal(caseId);
      expect(a.participants).to.deep.equal([P.prosecutor]);
      expect(eventsOf(a)).to.deep.equal(["CaseApproved", "AccessGranted", "DeliveryAttested"]);
      expect(a.details).to.deep.equal({ participant: P.prosecutor, providerActions: 2 });
      expect(a.summary).to.equal(
        `Participant ${P.prosecutor} approved case ${caseId} and also acted in it as a provider` +
          ` (AccessGranted ×1, DeliveryAttested ×1), so one institution both authorized the case` +
          ` and answered its requests as a data holder.`,
      );
    });

    it("does not flag an approver that was asked but has not acted yet", async function () {
      const log = new EventLog();
      const caseId = log.approvedCase({ approver: P.prosecutor });
      log.after(HOUR).request({ caseId, provider: P.prosecutor });
      expect(await detect(log)).to.deep.equal([]);
    });

    it("does not flag a provider that approved another case", async function () {
      const log = new EventLog();
      log.approvedCase({ approver: P.prosecutor });
      const other = log.approvedCase({ approver: PROSECUTOR_2 });
      log.after(HOUR);
      const requestId = log.request({ caseId: other, provider: P.prosecutor });
      log.after(HOUR).grant(requestId);
      log.after(HOUR).deliver(requestId);
      expect(await detect(log)).to.deep.equal([]);
    });

    it("flags the approver of an extension that denies as a provider", async function () {
      const log = new EventLog();
      const caseId = log.approvedCase({ approver: P.prosecutor });
      log.after(DAY).extendCase(caseId, log.now + 120 * DAY, PROSECUTOR_2);
      const requestId = log.after(HOUR).request({ caseId, provider: PROSECUTOR_2 });
      log.after(HOUR).deny(requestId);
      const a = only(await detect(log));
      expect(a.participants).to.deep.equal([PROSECUTOR_2]);
      expect(eventsOf(a)).to.deep.equal(["CaseExtended", "AccessDenied"]);
    });

    it("takes the number of provider actions from the thresholds", async function () {
      const log = new EventLog();
      const caseId = log.approvedCase({ approver: P.prosecutor });
      const requestId = log.after(HOUR).request({ caseId, provider: P.prosecutor });
      log.after(HOUR).deny(requestId);
      expect(await detect(log, { approverMinProviderActions: 2 })).to.deep.equal([]);
      expect(rulesOf(await detect(log, { approverMinProviderActions: 1 }))).to.deep.equal([
        "approver-as-provider",
      ]);
    });
  });

  describe("requests-before-expiry", function () {
    /** An approved case expiring in 30 days; the clock at the approval. */
    function expiring() {
      const log = new EventLog();
      const expiresAt = log.now + 30 * DAY;
      const caseId = log.approvedCase({ expiresAt });
      return { log, caseId, expiresAt };
    }

    it("flags 5 requests in the last 24 hours before the case's expiry", async function () {
      const { log, caseId, expiresAt } = expiring();
      log.at(expiresAt - DAY).requests(4, 6 * HOUR, { caseId, requester: P.police });
      log.at(expiresAt - 1).request({ caseId, requester: P.prosecutor });
      const a = only(await detect(log));
      expect(a.rule).to.equal("requests-before-expiry");
      expect(a.severity).to.equal("low");
      expect(a.caseId).to.equal(caseId);
      expect(a.participants).to.deep.equal([P.police, P.prosecutor]);
      expect(eventsOf(a)).to.deep.equal([
        "CaseApproved",
        ...Array<string>(5).fill("AccessRequested"),
      ]);
      expect(a.details).to.deep.equal({ expiresAt, requests: 5, windowSeconds: DAY });
      // The block span is the requests'; the approval only tells the expiry.
      expect(a.firstBlock).to.equal(a.evidence[1]?.blockNumber);
      expect(a.firstBlock).to.be.greaterThan(a.evidence[0]?.blockNumber ?? Infinity);
      expect(a.lastBlock).to.equal(a.evidence[5]?.blockNumber);
      expect(a.summary).to.equal(
        `Participants ${P.police}, ${P.prosecutor} made 5 requests in case ${caseId} in the` +
          ` 1 day before its expiry at 2026-01-31T00:00:00Z (at least 5).`,
      );
    });

    it("does not flag 4 requests in the window and one a second before it", async function () {
      const { log, caseId, expiresAt } = expiring();
      log.at(expiresAt - DAY - 1).request({ caseId });
      log.at(expiresAt - DAY).requests(4, 6 * HOUR, { caseId });
      expect(await detect(log)).to.deep.equal([]);
    });

    it("measures against the latest expiry, after an extension", async function () {
      const { log, caseId, expiresAt } = expiring();
      log.at(expiresAt - DAY).requests(5, HOUR, { caseId });
      const extended = expiresAt + 30 * DAY;
      log.at(expiresAt - 600).extendCase(caseId, extended);
      expect(await detect(log)).to.deep.equal([]);

      log.at(extended - 12 * HOUR).requests(5, HOUR, { caseId });
      const a = only(await detect(log));
      expect(eventsOf(a)).to.deep.equal([
        "CaseExtended",
        ...Array<string>(5).fill("AccessRequested"),
      ]);
      expect(a.details["expiresAt"]).to.equal(extended);
    });

    it("takes the count and the window from the thresholds", async function () {
      const { log, caseId, expiresAt } = expiring();
      log.at(expiresAt - HOUR).requests(2, 60, { caseId });
      const thresholds = { expiryMinRequests: 2, expiryWindowSeconds: HOUR };
      expect(only(await detect(log, thresholds)).summary).to.contain("in the 1 hour before");
      expect(await detect(log, { ...thresholds, expiryWindowSeconds: HOUR - 1 })).to.deep.equal([]);
    });
  });

  describe("revoked-after-delivery", function () {
    /** A granted request of the police to the bank; the clock at the grant. */
    function granted() {
      const log = new EventLog();
      const caseId = log.approvedCase();
      const requestId = log.after(HOUR).request({ caseId });
      log.after(HOUR).grant(requestId);
      return { log, caseId, requestId };
    }

    it("flags a grant revoked after two deliveries", async function () {
      const { log, caseId, requestId } = granted();
      log.after(HOUR).deliver(requestId);
      log.after(HOUR).deliver(requestId);
      log.after(HOUR).revoke(requestId);
      const a = only(await detect(log));
      expect(a.rule).to.equal("revoked-after-delivery");
      expect(a.severity).to.equal("medium");
      expect(a.caseId).to.equal(caseId);
      expect(a.participants).to.deep.equal([P.police, P.bank]);
      expect(eventsOf(a)).to.deep.equal([
        "AccessGranted",
        "DeliveryAttested",
        "DeliveryAttested",
        "GrantRevoked",
      ]);
      expect(a.details).to.deep.equal({ requestId, deliveries: 2 });
      expect(a.summary).to.equal(
        `Participant ${P.bank} revoked its grant of request ${requestId} (case ${caseId}) after 2` +
          ` co-signed deliveries to participant ${P.police}: the data had already changed hands.`,
      );
    });

    it("does not flag a grant revoked before any delivery under it", async function () {
      const { log, caseId, requestId } = granted();
      const other = log.after(HOUR).request({ caseId, provider: P.telecom });
      log.after(HOUR).grant(other);
      log.after(HOUR).deliver(other);
      log.after(HOUR).revoke(requestId);
      expect(await detect(log)).to.deep.equal([]);
    });

    it("takes the number of deliveries from the thresholds", async function () {
      const { log, requestId } = granted();
      log.after(HOUR).deliver(requestId);
      log.after(HOUR).deliver(requestId);
      log.after(HOUR).revoke(requestId);
      expect(await detect(log, { revokeMinDeliveries: 3 })).to.deep.equal([]);
      expect(only(await detect(log, { revokeMinDeliveries: 2 })).details["deliveries"]).to.equal(2);
    });
  });

  describe("anchor-gap", function () {
    it("flags an anchor that skips entries of the participant's log", async function () {
      const log = new EventLog();
      log.anchor(P.bank, 10);
      log.after(HOUR).anchor(P.bank, 5);
      const anchorId = log.after(HOUR).anchor(P.bank, 5, { firstSequence: 20 });
      const a = only(await detect(log));
      expect(a.rule).to.equal("anchor-gap");
      expect(a.severity).to.equal("high");
      expect(a.caseId).to.equal(undefined);
      expect(a.participants).to.deep.equal([P.bank]);
      expect(a.evidence.map((e) => e.anchorId)).to.deep.equal(["2", anchorId]);
      expect(a.details).to.deep.equal({
        kind: "gap",
        anchorId,
        previousAnchorId: "2",
        firstSequence: "20",
        expectedSequence: "15",
        entries: "5",
      });
      expect(a.summary).to.equal(
        `Participant ${P.bank}'s anchor 3 starts its access log at entry 20, but its previous` +
          ` anchor 2 ended at entry 14: entries 15–19 were never anchored.`,
      );
    });

    it("flags an anchor that repeats entries already anchored", async function () {
      const log = new EventLog();
      log.anchor(P.bank, 10);
      log.after(HOUR).anchor(P.bank, 5);
      log.after(HOUR).anchor(P.bank, 5, { firstSequence: 12 });
      const a = only(await detect(log));
      expect(a.details).to.include({ kind: "overlap", entries: "3" });
      expect(a.summary).to.equal(
        `Participant ${P.bank}'s anchor 3 starts its access log at entry 12, but its previous` +
          ` anchor 2 already covered entries up to 14: entries 12–14 are anchored twice.`,
      );
    });

    it("does not flag contiguous batches, interleaved between participants and cases", async function () {
      const log = new EventLog();
      const caseId = log.approvedCase();
      log.after(HOUR);
      log.anchor(P.bank, 10, { caseId });
      log.anchor(P.telecom, 3);
      log.after(HOUR).anchor(P.bank, 1);
      log.anchor(P.telecom, 7, { caseId });
      log.after(HOUR).anchor(P.bank, 4, { caseId, firstSequence: 11 });
      log.anchor(P.telecom, 2, { firstSequence: 10 });
      expect(await detect(log)).to.deep.equal([]);
    });

    it("skips anchors of the contract before firstSequence", async function () {
      const log = new EventLog();
      log.anchor(P.bank, 10);
      log.after(HOUR).anchor(P.bank, 10, { firstSequence: 50 });
      for (const row of log.rows) delete row.args["firstSequence"];
      expect(await detect(log)).to.deep.equal([]);
    });

    it("tolerates the gap the thresholds allow", async function () {
      const log = new EventLog();
      log.anchor(P.bank, 10);
      log.after(HOUR).anchor(P.bank, 10, { firstSequence: 15 });
      expect(await detect(log, { anchorMaxGap: 5 })).to.deep.equal([]);
      expect(rulesOf(await detect(log, { anchorMaxGap: 4 }))).to.deep.equal(["anchor-gap"]);
    });
  });

  describe("unfinished-match-session", function () {
    /** A request of the police to the bank granted for two days; session 1 opened an hour later. */
    function session() {
      const log = new EventLog();
      const caseId = log.approvedCase();
      const requestId = log.after(HOUR).request({ caseId });
      log.after(HOUR).grant(requestId, { expiresAt: log.now + 2 * DAY });
      const expiresAt = log.now + 2 * DAY;
      const sessionId = log.after(HOUR).openMatch(requestId, { setSize: 120 });
      return { log, caseId, requestId, sessionId, expiresAt };
    }

    it("flags a responded session with no result a day after its grant expired", async function () {
      const { log, caseId, requestId, sessionId, expiresAt } = session();
      log.after(HOUR).respondMatch(sessionId);
      log.at(expiresAt + DAY).mine();
      const a = only(await detect(log));
      expect(a.rule).to.equal("unfinished-match-session");
      expect(a.severity).to.equal("medium");
      expect(a.caseId).to.equal(caseId);
      expect(a.participants).to.deep.equal([P.police, P.bank]);
      expect(eventsOf(a)).to.deep.equal([
        "AccessGranted",
        "MatchSessionOpened",
        "MatchResponseRecorded",
      ]);
      expect(a.firstBlock).to.equal(a.evidence[1]?.blockNumber);
      expect(a.lastBlock).to.equal(a.evidence[2]?.blockNumber);
      expect(a.details).to.deep.equal({
        sessionId,
        requestId,
        status: "responded",
        grantEndedAt: expiresAt,
        secondsUnfinished: DAY,
      });
      expect(a.summary).to.equal(
        `Matching session ${sessionId} of participant ${P.police} with participant ${P.bank}` +
          ` (request ${requestId}, case ${caseId}) is still responded 1 day after its grant ended` +
          ` at 2026-01-03T02:00:00Z: the provider's response was recorded, but neither a result` +
          ` nor a failure.`,
      );
    });

    it("flags an open session with low severity, and not one second before the grace ends", async function () {
      const { log, sessionId, expiresAt } = session();
      log.at(expiresAt + DAY - 1).mine();
      expect(await detect(log)).to.deep.equal([]);
      log.after(1).mine();
      const a = only(await detect(log));
      expect(a.severity).to.equal("low");
      expect(a.details["status"]).to.equal("open");
      expect(a.details["sessionId"]).to.equal(sessionId);
      expect(a.summary).to.match(/is still open 1 day after .*neither a response nor a failure/);
    });

    it("does not flag a completed or a failed session", async function () {
      const { log, requestId, sessionId, expiresAt } = session();
      log.after(HOUR).respondMatch(sessionId).completeMatch(sessionId);
      const failed = log.after(HOUR).openMatch(requestId);
      log.after(HOUR).failMatch(failed, { by: P.bank, reasonCode: 1 });
      log.at(expiresAt + 30 * DAY).mine();
      expect(await detect(log)).to.deep.equal([]);
    });

    it("counts from a revocation or a closure that ended the grant early", async function () {
      const { log, requestId } = session();
      const revokedAt = log.after(HOUR).now;
      log.revoke(requestId);
      log.at(revokedAt + DAY).mine();
      const a = only(await detect(log));
      expect(a.details["grantEndedAt"]).to.equal(revokedAt);
      expect(eventsOf(a)).to.deep.equal(["AccessGranted", "MatchSessionOpened", "GrantRevoked"]);

      const other = session();
      const closedAt = other.log.after(HOUR).now;
      other.log.closeCase(other.caseId);
      other.log.at(closedAt + DAY).mine();
      expect(only(await detect(other.log)).details["grantEndedAt"]).to.equal(closedAt);
    });

    it("takes the grace from the thresholds, and judges as of `now`", async function () {
      const { log, sessionId, expiresAt } = session();
      log.at(expiresAt).mine();
      expect(await detect(log)).to.deep.equal([]);
      expect(rulesOf(await detect(log, { matchGraceSeconds: 0 }))).to.deep.equal([
        "unfinished-match-session",
      ]);
      log.after(3 * DAY).failMatch(sessionId);
      expect(await detect(log)).to.deep.equal([]);
      expect(rulesOf(await detect(log, {}, expiresAt + 2 * DAY))).to.deep.equal([
        "unfinished-match-session",
      ]);
    });

    it("counts a matching response as a provider action of the case's approver", async function () {
      const log = new EventLog();
      const caseId = log.approvedCase({ approver: P.prosecutor });
      const requestId = log.after(HOUR).request({ caseId, provider: P.prosecutor });
      log.after(HOUR).grant(requestId, { expiresAt: log.now + 2 * DAY });
      const sessionId = log.after(HOUR).openMatch(requestId);
      log.after(HOUR).respondMatch(sessionId).completeMatch(sessionId);
      const a = only(await detect(log));
      expect(a.rule).to.equal("approver-as-provider");
      expect(eventsOf(a)).to.deep.equal(["CaseApproved", "AccessGranted", "MatchResponseRecorded"]);
    });
  });

  describe("withdrawn requests", function () {
    it("does not flag a request its requester withdrew before any answer", async function () {
      const log = new EventLog();
      const caseId = log.approvedCase();
      const requestId = log.after(HOUR).request({ caseId });
      log.after(HOUR).withdraw(requestId);
      log.after(30 * DAY).mine();
      expect(await detect(log)).to.deep.equal([]);
    });

    it("still counts withdrawn requests in a burst: the provider received them", async function () {
      const log = new EventLog();
      const caseId = log.approvedCase();
      for (const requestId of log.after(HOUR).requests(21, 60, { caseId })) log.withdraw(requestId);
      const burst = only(await detect(log));
      expect(burst.rule).to.equal("request-burst");
      expect(eventsOf(burst).filter((e) => e === "AccessRequested")).to.have.length(21);
    });
  });

  describe("all rules together", function () {
    it("reports every rule once, sorted by first block", async function () {
      const log = new EventLog();
      const expiresAt = log.now + 60 * DAY;
      const caseId = log.approvedCase({ key: "shared", expiresAt });
      log.anchor(P.bank, 10);
      const unacknowledged = log.after(HOUR).request({ caseId });
      log.grant(unacknowledged);
      log.offer(unacknowledged);
      const revoked = log.after(HOUR).request({ caseId, provider: P.telecom });
      log.grant(revoked);
      log.offer(revoked);
      log.deliver(revoked);
      log.after(HOUR).revoke(revoked);
      log.deny(log.after(HOUR).request({ caseId, provider: P.prosecutor }));
      log.after(HOUR).anchor(P.bank, 10, { firstSequence: 30 });
      for (const other of [1, 2, 3].map(() => log.approvedCase({ key: "shared" }))) {
        log.request({ caseId: other, subject: "+41790000000", provider: P.exchange });
      }
      log.request({ caseId, subject: "+41790000000", provider: P.exchange });
      const matched = log.after(HOUR).request({ caseId, provider: P.telecom });
      log.grant(matched, { expiresAt: log.now + DAY });
      log.openMatch(matched);
      log.after(DAY).requests(21, 60, { caseId, provider: P.exchange });
      log.at(expiresAt - 5 * HOUR);
      log.requests(5, 60, { caseId, provider: P.exchange, requester: P.prosecutor });

      const found = await detect(log);
      expect([...rulesOf(found)].sort()).to.deep.equal(ANOMALY_RULES.map((r) => r.rule).sort());
      const firsts = found.map((a) => a.firstBlock);
      expect(firsts).to.deep.equal([...firsts].sort((a, b) => a - b));

      const rows = anomalyRows(found);
      expect(rows).to.have.length(found.length);
      rows.forEach((row, i) => {
        const a = found[i];
        expect(row).to.have.length(ANOMALY_COLUMNS.length);
        expect(row[0]).to.equal(
          a?.firstBlock === a?.lastBlock ? `${a?.firstBlock}` : `${a?.firstBlock}-${a?.lastBlock}`,
        );
        expect(row.slice(1)).to.deep.equal([
          a?.severity,
          a?.rule,
          a?.caseId ?? "",
          a?.participants.join(","),
          a?.summary,
        ]);
      });
    });
  });

  describe("unacknowledged-offer", function () {
    const ofRule = (found: readonly Anomaly[]): Anomaly[] =>
      found.filter((a) => a.rule === "unacknowledged-offer");

    /** A request of the police to the bank granted for 30 days; its delivery offered an hour later. */
    function offered(grantDays = 30) {
      const log = new EventLog();
      const caseId = log.approvedCase();
      const requestId = log.after(HOUR).request({ caseId });
      const expiresAt = log.after(HOUR).now + grantDays * DAY;
      log.grant(requestId, { expiresAt });
      const offeredAt = log.after(HOUR).now;
      const offerId = log.offer(requestId);
      return { log, caseId, requestId, offerId, offeredAt, expiresAt };
    }

    it("flags an offer with no co-signed delivery 7 days after it, and not a second before", async function () {
      const { log, caseId, requestId, offerId, offeredAt } = offered();
      log.at(offeredAt + 7 * DAY - 1).mine();
      expect(ofRule(await detect(log))).to.deep.equal([]);
      log.after(1).mine();
      const a = only(ofRule(await detect(log)));
      expect(a.severity).to.equal("medium");
      expect(a.caseId).to.equal(caseId);
      expect(a.participants).to.deep.equal([P.police, P.bank]);
      expect(eventsOf(a)).to.deep.equal(["AccessGranted", "DeliveryOffered"]);
      expect(a.firstBlock).to.equal(a.evidence[1]?.blockNumber);
      expect(a.details).to.deep.equal({
        offerId,
        requestId,
        sequence: 0,
        offeredAt,
        dueAt: offeredAt + 7 * DAY,
        secondsOverdue: 0,
      });
      expect(a.summary).to.equal(
        `Participant ${P.bank} offered delivery 0 of request ${requestId} to participant ${P.police}` +
          ` (case ${caseId}, offer ${offerId}) at 2026-01-01T03:00:00Z; it was due to be` +
          ` acknowledged by 2026-01-08T03:00:00Z and no co-signed delivery was recorded.`,
      );
    });

    it("does not flag an acknowledged offer, nor one superseded before its deadline", async function () {
      const { log, requestId, offerId, offeredAt } = offered();
      log.after(HOUR).deliver(requestId);
      // The next delivery is offered, superseded (re-sealed) a day later, and acknowledged.
      const second = log.after(HOUR).offer(requestId);
      log.after(DAY).purge(second, 4);
      log.offer(requestId, { sequence: 1, recipientKeyId: 2 });
      log.after(HOUR).deliver(requestId);
      log.at(offeredAt + 60 * DAY).mine();
      expect(ofRule(await detect(log))).to.deep.equal([]);
      expect(offerId).to.equal("1");
    });

    it("takes the grant's expiry, revocation or the case's closure as the deadline when earlier", async function () {
      const short = offered(2);
      short.log.at(short.expiresAt).mine();
      expect(only(ofRule(await detect(short.log))).details["dueAt"]).to.equal(short.expiresAt);

      const revoked = offered();
      const revokedAt = revoked.log.after(DAY).now;
      revoked.log.revoke(revoked.requestId).mine();
      const a = only(ofRule(await detect(revoked.log)));
      expect(a.details["dueAt"]).to.equal(revokedAt);
      expect(eventsOf(a)).to.deep.equal(["AccessGranted", "DeliveryOffered", "GrantRevoked"]);

      const closed = offered();
      const closedAt = closed.log.after(2 * DAY).now;
      closed.log.closeCase(closed.caseId).mine();
      expect(only(ofRule(await detect(closed.log))).details["dueAt"]).to.equal(closedAt);
      // Purged on the closure itself: the offer ended before it was due.
      const purged = offered();
      purged.log
        .after(2 * DAY)
        .closeCase(purged.caseId)
        .purge(purged.offerId, 2);
      purged.log.after(DAY).mine();
      expect(only(ofRule(await detect(purged.log))).details["offerId"]).to.equal(purged.offerId);
      const early = offered();
      early.log.after(DAY).purge(early.offerId, 3);
      early.log.after(30 * DAY).mine();
      expect(ofRule(await detect(early.log))).to.deep.equal([]);
    });

    it("takes N from the thresholds, and judges as of `now`", async function () {
      const { log, requestId, offeredAt } = offered();
      log.at(offeredAt + DAY).mine();
      expect(ofRule(await detect(log))).to.deep.equal([]);
      expect(ofRule(await detect(log, { offerAcknowledgeSeconds: DAY }))).to.have.length(1);
      log.after(10 * DAY).deliver(requestId);
      expect(ofRule(await detect(log))).to.deep.equal([]);
      expect(ofRule(await detect(log, {}, offeredAt + 8 * DAY))).to.have.length(1);
    });
  });

  describe("ciphertext-kept", function () {
    const ofRule = (found: readonly Anomaly[]): Anomaly[] =>
      found.filter((a) => a.rule === "ciphertext-kept");

    /** A delivery of the bank to the police offered (retention 7 days) and acknowledged an hour later. */
    function acknowledged() {
      const log = new EventLog();
      const caseId = log.approvedCase();
      const requestId = log.after(HOUR).request({ caseId });
      log.after(HOUR).grant(requestId);
      const offerId = log.after(HOUR).offer(requestId, { retentionSeconds: 7 * DAY });
      const acknowledgedAt = log.after(HOUR).now;
      log.deliver(requestId);
      return { log, caseId, requestId, offerId, acknowledgedAt };
    }

    it("flags a ciphertext still held a day after its retention ran out, and not a second before", async function () {
      const { log, caseId, requestId, offerId, acknowledgedAt } = acknowledged();
      const dueAt = acknowledgedAt + 7 * DAY;
      log.at(dueAt + DAY - 1).mine();
      expect(ofRule(await detect(log))).to.deep.equal([]);
      log.after(1).mine();
      const a = only(ofRule(await detect(log)));
      expect(a.severity).to.equal("high");
      expect(a.caseId).to.equal(caseId);
      expect(a.participants).to.deep.equal([P.police, P.bank]);
      expect(eventsOf(a)).to.deep.equal(["DeliveryOffered", "DeliveryAttested"]);
      expect(a.details).to.deep.equal({
        offerId,
        requestId,
        sequence: 0,
        dueAt,
        secondsKept: DAY,
      });
      expect(a.summary).to.equal(
        `Participant ${P.bank} was to purge the ciphertext of delivery 0 of request ${requestId}` +
          ` to participant ${P.police} (case ${caseId}, offer ${offerId}) by 2026-01-08T04:00:00Z,` +
          ` when its retention after the acknowledgement ran out, plus 1 day of grace; no purge is` +
          ` recorded 1 day later.`,
      );
    });

    it("does not flag a purge recorded in time, nor an offer not yet acknowledged", async function () {
      const { log, offerId, acknowledgedAt } = acknowledged();
      log.at(acknowledgedAt + 7 * DAY + HOUR).purge(offerId, 0);
      log.after(90 * DAY).mine();
      expect(ofRule(await detect(log))).to.deep.equal([]);

      const pending = new EventLog();
      const caseId = pending.approvedCase();
      const requestId = pending.after(HOUR).request({ caseId });
      pending.after(HOUR).grant(requestId);
      pending.after(HOUR).offer(requestId);
      pending.after(60 * DAY).mine();
      expect(ofRule(await detect(pending))).to.deep.equal([]);
    });

    it("flags a purge recorded late with medium severity", async function () {
      const { log, offerId, acknowledgedAt } = acknowledged();
      const purgedAt = log.at(acknowledgedAt + 10 * DAY).now;
      log.purge(offerId, 0);
      const a = only(ofRule(await detect(log)));
      expect(a.severity).to.equal("medium");
      expect(a.details["purgedAt"]).to.equal(purgedAt);
      expect(eventsOf(a)).to.deep.equal(["DeliveryOffered", "DeliveryAttested", "DeliveryPurged"]);
      expect(a.summary).to.match(/its purge was recorded only at 2026-01-11T04:00:00Z\.$/);
    });

    it("makes the purge due at the grant's revocation or the case's closure, before the retention", async function () {
      const revoked = acknowledged();
      const revokedAt = revoked.log.after(HOUR).now;
      revoked.log.revoke(revoked.requestId);
      revoked.log.at(revokedAt + DAY).mine();
      const a = only(ofRule(await detect(revoked.log)));
      expect(a.details["dueAt"]).to.equal(revokedAt);
      expect(a.summary).to.include("when the grant was revoked");

      const closed = acknowledged();
      const closedAt = closed.log.after(HOUR).now;
      closed.log.closeCase(closed.caseId);
      closed.log.at(closedAt + DAY).mine();
      const b = only(ofRule(await detect(closed.log)));
      expect(b.details["dueAt"]).to.equal(closedAt);
      expect(b.summary).to.include("when the case was closed");
      // Purged when the grace ends: in time; a second later: late.
      closed.log.purge(closed.offerId, 2);
      expect(ofRule(await detect(closed.log))).to.deep.equal([]);
      const late = acknowledged();
      late.log.after(HOUR).closeCase(late.caseId);
      late.log.after(DAY + 1).purge(late.offerId, 2);
      expect(only(ofRule(await detect(late.log))).severity).to.equal("medium");
      const prompt = acknowledged();
      prompt.log.after(HOUR).closeCase(prompt.caseId).purge(prompt.offerId, 2);
      prompt.log.after(30 * DAY).mine();
      expect(ofRule(await detect(prompt.log))).to.deep.equal([]);
    });

    it("takes the grace from the thresholds", async function () {
      const { log, acknowledgedAt } = acknowledged();
      log.at(acknowledgedAt + 7 * DAY).mine();
      expect(ofRule(await detect(log))).to.deep.equal([]);
      expect(ofRule(await detect(log, { purgeGraceSeconds: 0 }))).to.have.length(1);
    });
  });

  describe("thresholds", function () {
    it("defaults to DEFAULT_THRESHOLDS, overridden by the options given", function () {
      expect(resolveThresholds()).to.deep.equal(DEFAULT_THRESHOLDS);
      expect(DEFAULT_THRESHOLDS).to.deep.equal({
        unacknowledgedAfterSeconds: 7 * DAY,
        burstMaxRequests: 20,
        burstWindowSeconds: HOUR,
        subjectMaxCases: 3,
        approverMinProviderActions: 1,
        expiryMinRequests: 5,
        expiryWindowSeconds: DAY,
        revokeMinDeliveries: 1,
        anchorMaxGap: 0,
        matchGraceSeconds: DAY,
        offerAcknowledgeSeconds: 7 * DAY,
        purgeGraceSeconds: DAY,
      });
      expect(resolveThresholds({ burstMaxRequests: 50, anchorMaxGap: undefined })).to.deep.equal({
        ...DEFAULT_THRESHOLDS,
        burstMaxRequests: 50,
      });
    });

    it("names every threshold of every rule", function () {
      const used = ANOMALY_RULES.flatMap((r) => r.thresholds).sort();
      expect(used).to.deep.equal(Object.keys(DEFAULT_THRESHOLDS).sort());
    });

    it("rejects an unknown threshold", function () {
      const bad = { burstMax: 3 } as Partial<AnomalyThresholds>;
      expect(() => resolveThresholds(bad)).to.throw(
        TracerError,
        /unknown anomaly threshold "burstMax" \(known: unacknowledgedAfterSeconds, /,
      );
    });

    it("rejects a value below the threshold's minimum or not an integer", function () {
      expect(() => resolveThresholds({ burstWindowSeconds: 0 })).to.throw(
        TracerError,
        "anomaly threshold burstWindowSeconds must be an integer ≥ 1, got 0",
      );
      expect(() => resolveThresholds({ anchorMaxGap: -1 })).to.throw(TracerError, /≥ 0, got -1/);
      expect(() => resolveThresholds({ subjectMaxCases: 2.5 })).to.throw(TracerError, /got 2.5/);
    });

    it("rejects a time that is not unix seconds", async function () {
      const db = engines[0]?.store.db;
      if (db === undefined) throw new Error("no engine");
      for (const now of [-1, 1.5, Number.NaN]) {
        let error: unknown;
        await detectAnomalies(db, {}, now).catch((e: unknown) => (error = e));
        expect(error).to.be.instanceOf(TracerError);
      }
    });
  });
});
