import { TracerError } from "../shared/errors.js";
import type { Sql } from "../db/db.js";

/**
 * Anomaly detection: "who watches the watchers". The contracts enforce what can be checked at
 * the moment of a transaction (an approved case, a live grant, two signatures); these rules look
 * at patterns across many transactions that no single call can see. Each rule is one SQL query
 * over the `events` table, the same text on PGlite and on a PostgreSQL server, with a threshold
 * from {@link AnomalyThresholds}. docs/anomalies.md explains every rule, its threshold, why it
 * matters and what it can't see.
 */

/** How much an anomaly deserves an auditor's attention. */
export type Severity = "low" | "medium" | "high";

/** The rules, by their stable ids. */
export type AnomalyRule =
  | "unacknowledged-delivery"
  | "request-burst"
  | "subject-across-cases"
  | "approver-as-provider"
  | "requests-before-expiry"
  | "revoked-after-delivery"
  | "anchor-gap"
  | "unfinished-match-session";

/** A transaction that shows an anomaly: one stored event. */
export interface Evidence {
  blockNumber: number;
  logIndex: number;
  txHash: string;
  /** Block time, unix seconds. */
  blockTime: number;
  event: string;
  caseId?: string;
  requestId?: string;
  deliveryId?: string;
  anchorId?: string;
  /** The acting participant. */
  actor?: number;
  /** The other party (the provider asked, in AccessRequested; the requester, in DeliveryAttested). */
  counterpart?: number;
}

/** One finding of one rule. */
export interface Anomaly {
  rule: AnomalyRule;
  severity: Severity;
  /** The case it concerns, when it concerns one case. */
  caseId?: string;
  /** The participants whose conduct it concerns, ascending. */
  participants: number[];
  /** One human sentence. */
  summary: string;
  /** What the rule measured, for machines (counts, ids, times); ids as decimal strings. */
  details: Record<string, string | number>;
  /** The events that show it, in chain order. */
  evidence: Evidence[];
  /**
   * The first and last block of the anomalous activity: of all the evidence, except the event
   * that only gives the context (requests-before-expiry: the event that set the expiry).
   */
  firstBlock: number;
  lastBlock: number;
}

/**
 * The thresholds of the rules. Times are in seconds; every value is an integer. "Max" values
 * are tolerated (one more is an anomaly); "Min" values are the first anomalous count.
 */
export interface AnomalyThresholds {
  /** unacknowledged-delivery: how long a live grant may go without a co-signed delivery. */
  unacknowledgedAfterSeconds: number;
  /** request-burst: the most requests one requester may make in any sliding window. */
  burstMaxRequests: number;
  /** request-burst: the sliding window's length. */
  burstWindowSeconds: number;
  /** subject-across-cases: the most cases one subject commitment may be queried in. */
  subjectMaxCases: number;
  /** approver-as-provider: provider actions (grant, deny, revoke, delivery) of an approver that are flagged. */
  approverMinProviderActions: number;
  /** requests-before-expiry: requests in the window before a case's expiry that are flagged. */
  expiryMinRequests: number;
  /** requests-before-expiry: the window before the case's expiry. */
  expiryWindowSeconds: number;
  /** revoked-after-delivery: deliveries before a revocation that are flagged. */
  revokeMinDeliveries: number;
  /** anchor-gap: the most entries a participant's anchors may skip or repeat. */
  anchorMaxGap: number;
  /** unfinished-match-session: how long after its grant ended a session may stay unfinished. */
  matchGraceSeconds: number;
}

const DAY = 24 * 60 * 60;

/** The defaults, chosen for an investigation workload (see docs/anomalies.md). */
export const DEFAULT_THRESHOLDS: Readonly<AnomalyThresholds> = Object.freeze({
  unacknowledgedAfterSeconds: 7 * DAY,
  burstMaxRequests: 20,
  burstWindowSeconds: 60 * 60,
  subjectMaxCases: 3,
  approverMinProviderActions: 1,
  expiryMinRequests: 5,
  expiryWindowSeconds: DAY,
  revokeMinDeliveries: 1,
  anchorMaxGap: 0,
  matchGraceSeconds: DAY,
});

/** The smallest value each threshold accepts. */
const THRESHOLD_MINIMUM: Readonly<Record<keyof AnomalyThresholds, number>> = {
  unacknowledgedAfterSeconds: 1,
  burstMaxRequests: 1,
  burstWindowSeconds: 1,
  subjectMaxCases: 1,
  approverMinProviderActions: 1,
  expiryMinRequests: 1,
  expiryWindowSeconds: 1,
  revokeMinDeliveries: 1,
  anchorMaxGap: 0,
  matchGraceSeconds: 0,
};

/** What each rule is, for help texts and API listings. */
export interface RuleInfo {
  rule: AnomalyRule;
  title: string;
  /** The thresholds it reads. */
  thresholds: readonly (keyof AnomalyThresholds)[];
}

export const ANOMALY_RULES: readonly RuleInfo[] = [
  {
    rule: "unacknowledged-delivery",
    title: "a live grant with no co-signed delivery after the threshold",
    thresholds: ["unacknowledgedAfterSeconds"],
  },
  {
    rule: "request-burst",
    title: "one requester above the request limit in a sliding window",
    thresholds: ["burstMaxRequests", "burstWindowSeconds"],
  },
  {
    rule: "subject-across-cases",
    title: "one subject commitment queried in more cases than the threshold",
    thresholds: ["subjectMaxCases"],
  },
  {
    rule: "approver-as-provider",
    title: "the case's approver also acts as a provider in the case",
    thresholds: ["approverMinProviderActions"],
  },
  {
    rule: "requests-before-expiry",
    title: "requests clustered right before a case's expiry",
    thresholds: ["expiryMinRequests", "expiryWindowSeconds"],
  },
  {
    rule: "revoked-after-delivery",
    title: "a grant revoked after data was delivered under it",
    thresholds: ["revokeMinDeliveries"],
  },
  {
    rule: "anchor-gap",
    title: "a gap or an overlap in a participant's anchored access-log sequence",
    thresholds: ["anchorMaxGap"],
  },
  {
    rule: "unfinished-match-session",
    title: "a matching session neither completed nor failed after its grant ended",
    thresholds: ["matchGraceSeconds"],
  },
];

/**
 * The full thresholds: the defaults overridden by `options`. Throws a {@link TracerError} naming
 * the first unknown threshold or invalid value.
 */
export function resolveThresholds(options: Partial<AnomalyThresholds> = {}): AnomalyThresholds {
  const out: AnomalyThresholds = { ...DEFAULT_THRESHOLDS };
  for (const [key, value] of Object.entries(options) as [string, unknown][]) {
    if (!Object.hasOwn(THRESHOLD_MINIMUM, key)) {
      throw new TracerError(
        `unknown anomaly threshold ${JSON.stringify(key)} (known: ${Object.keys(THRESHOLD_MINIMUM).join(", ")})`,
      );
    }
    if (value === undefined) continue;
    const name = key as keyof AnomalyThresholds;
    const min = THRESHOLD_MINIMUM[name];
    if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min) {
      throw new TracerError(
        `anomaly threshold ${name} must be an integer ≥ ${min}, got ${JSON.stringify(value)}`,
      );
    }
    out[name] = value;
  }
  return out;
}

/**
 * The store's clock: the newest block time it holds (events, or the headers of the newest
 * indexed blocks, which may have no events), or null for an empty store.
 */
export async function storeTime(db: Sql): Promise<number | null> {
  const rows = await db.query<{ now: string | number | null }>(
    `SELECT GREATEST((SELECT max(block_time) FROM events), (SELECT max(timestamp) FROM blocks)) AS now`,
  );
  const v = rows[0]?.now;
  return v === null || v === undefined ? null : Number(v);
}

/**
 * Runs every rule over the store and returns the anomalies sorted by first block.
 *
 * @param options thresholds overriding {@link DEFAULT_THRESHOLDS}
 * @param now the time (unix seconds) time-based rules measure against; default the newest
 *   block time in the store
 */
export async function detectAnomalies(
  db: Sql,
  options: Partial<AnomalyThresholds> = {},
  now?: number,
): Promise<Anomaly[]> {
  const t = resolveThresholds(options);
  if (now !== undefined && (!Number.isSafeInteger(now) || now < 0)) {
    throw new TracerError(`now must be a unix time in seconds, got ${JSON.stringify(now)}`);
  }
  const clock = now ?? (await storeTime(db));
  const found: Anomaly[] = [];
  if (clock !== null) found.push(...(await unacknowledgedDelivery(db, t, clock)));
  found.push(...(await requestBurst(db, t)));
  found.push(...(await subjectAcrossCases(db, t)));
  found.push(...(await approverAsProvider(db, t)));
  found.push(...(await requestsBeforeExpiry(db, t)));
  found.push(...(await revokedAfterDelivery(db, t)));
  found.push(...(await anchorGap(db, t)));
  if (clock !== null) found.push(...(await unfinishedMatchSession(db, t, clock)));
  return found.sort(compareAnomalies);
}

/** The columns of {@link anomalyRows}. */
export const ANOMALY_COLUMNS = [
  "blocks",
  "severity",
  "rule",
  "case",
  "participants",
  "summary",
] as const;

/** Anomalies as table rows (columns {@link ANOMALY_COLUMNS}), for the CLI and reports. */
export function anomalyRows(anomalies: readonly Anomaly[]): string[][] {
  return anomalies.map((a) => [
    a.firstBlock === a.lastBlock ? `${a.firstBlock}` : `${a.firstBlock}-${a.lastBlock}`,
    a.severity,
    a.rule,
    a.caseId ?? "",
    a.participants.join(","),
    a.summary,
  ]);
}

// ------------------------------------------------------------------------------------ rules

/** The JSON array of the events `e` of a group, in chain order. */
const EVIDENCE = `json_agg(json_build_object(
    'blockNumber', e.block_number, 'logIndex', e.log_index, 'txHash', e.tx_hash,
    'blockTime', e.block_time, 'event', e.event, 'caseId', e.case_id::text,
    'requestId', e.request_id::text, 'deliveryId', e.delivery_id::text,
    'anchorId', e.anchor_id::text, 'actor', e.actor, 'counterpart', e.counterpart)
  ORDER BY e.block_number, e.log_index)`;

/** Provider actions: each one is taken by the provider (the row's actor). */
const PROVIDER_ACTIONS = `('AccessGranted', 'AccessDenied', 'GrantRevoked', 'DeliveryAttested', 'MatchResponseRecorded')`;

/**
 * unacknowledged-delivery. On this ledger a delivery is recorded only once both sides signed it
 * (the provider's `Delivery`, the requester's `Acknowledgement`), so an unacknowledged delivery
 * can't be seen as such: it shows as a granted request with no co-signed delivery. Flagged: a
 * grant at least T seconds old (against `now`) with no DeliveryAttested up to `now`, that stayed
 * live for those T seconds: its expiry at least T after the grant, not revoked and its case not
 * closed before then.
 */
async function unacknowledgedDelivery(
  db: Sql,
  t: AnomalyThresholds,
  now: number,
): Promise<Anomaly[]> {
  const rows = await db.query<{
    request_id: string;
    case_id: string;
    provider: string | number;
    requester: string | number | null;
    granted_at: string | number;
    evidence: unknown;
  }>(
    `SELECT g.request_id::text AS request_id, g.case_id::text AS case_id, g.actor AS provider,
            g.block_time AS granted_at,
            (SELECT r.actor FROM events r
              WHERE r.event = 'AccessRequested' AND r.request_id = g.request_id LIMIT 1) AS requester,
            (SELECT ${EVIDENCE} FROM events e
              WHERE e.request_id = g.request_id AND e.block_time <= $2::bigint
                AND e.event IN ('AccessRequested', 'AccessGranted', 'GrantRevoked')) AS evidence
       FROM events g
      WHERE g.event = 'AccessGranted'
        AND g.block_time + $1::bigint <= $2::bigint
        AND (g.args->>'expiresAt')::bigint >= g.block_time + $1::bigint
        AND NOT EXISTS (SELECT 1 FROM events d
              WHERE d.event = 'DeliveryAttested' AND d.request_id = g.request_id
                AND d.block_time <= $2::bigint)
        AND NOT EXISTS (SELECT 1 FROM events v
              WHERE v.event = 'GrantRevoked' AND v.request_id = g.request_id
                AND v.block_time < g.block_time + $1::bigint)
        AND NOT EXISTS (SELECT 1 FROM events c
              WHERE c.event = 'CaseClosed' AND c.case_id = g.case_id
                AND c.block_time < g.block_time + $1::bigint)`,
    [t.unacknowledgedAfterSeconds, now],
  );
  return rows.map((r) => {
    const provider = Number(r.provider);
    const requester = r.requester === null ? null : Number(r.requester);
    const grantedAt = Number(r.granted_at);
    return anomaly({
      rule: "unacknowledged-delivery",
      severity: "medium",
      caseId: r.case_id,
      participants: requester === null ? [provider] : [provider, requester],
      summary:
        `Participant ${provider} granted request ${r.request_id}` +
        (requester === null ? "" : ` of participant ${requester}`) +
        ` (case ${r.case_id}) at ${isoTime(grantedAt)}, but no delivery co-signed by both sides` +
        ` was recorded in the ${duration(t.unacknowledgedAfterSeconds)} the grant stayed live.`,
      details: {
        requestId: r.request_id,
        grantedAt,
        secondsWithoutDelivery: now - grantedAt,
      },
      evidence: evidenceOf(r.evidence),
    });
  });
}

/**
 * request-burst. For every request, the number of requests of the same requester in the window
 * ending at it (`RANGE … PRECEDING`: requests less than the window apart); windows above the limit
 * that overlap are merged into one episode, reported once with all its requests.
 */
async function requestBurst(db: Sql, t: AnomalyThresholds): Promise<Anomaly[]> {
  const rows = await db.query<{
    requester: string | number;
    peak: string | number;
    requests: string | number;
    cases: string | number;
    case_id: string | null;
    evidence: unknown;
  }>(
    `WITH counted AS (
       SELECT actor, block_time,
              count(*) OVER (PARTITION BY actor ORDER BY block_time
                             RANGE BETWEEN $2::bigint PRECEDING AND CURRENT ROW) AS n
         FROM events
        WHERE event = 'AccessRequested' AND actor IS NOT NULL
     ), hot AS (
       SELECT actor, block_time AS hot_end, max(n) AS n
         FROM counted WHERE n > $1::bigint GROUP BY actor, block_time
     ), marked AS (
       SELECT actor, hot_end, n,
              CASE WHEN hot_end - $2::bigint <= lag(hot_end) OVER (PARTITION BY actor ORDER BY hot_end)
                   THEN 0 ELSE 1 END AS starts
         FROM hot
     ), numbered AS (
       SELECT actor, hot_end, n,
              sum(starts) OVER (PARTITION BY actor ORDER BY hot_end ROWS UNBOUNDED PRECEDING) AS episode
         FROM marked
     ), episodes AS (
       SELECT actor, min(hot_end) - $2::bigint AS from_time, max(hot_end) AS to_time, max(n) AS peak
         FROM numbered GROUP BY actor, episode
     )
     SELECT ep.actor AS requester, ep.peak, x.requests, x.cases, x.case_id, x.evidence
       FROM episodes ep
       CROSS JOIN LATERAL (
         SELECT count(*) AS requests, count(DISTINCT e.case_id) AS cases,
                min(e.case_id)::text AS case_id, ${EVIDENCE} AS evidence
           FROM events e
          WHERE e.event = 'AccessRequested' AND e.actor = ep.actor
            AND e.block_time BETWEEN ep.from_time AND ep.to_time
       ) x`,
    [t.burstMaxRequests, t.burstWindowSeconds - 1],
  );
  return rows.map((r) => {
    const requester = Number(r.requester);
    const peak = Number(r.peak);
    const requests = Number(r.requests);
    const evidence = evidenceOf(r.evidence);
    const single = Number(r.cases) === 1;
    const from = evidence[0]?.blockTime ?? 0;
    const to = evidence[evidence.length - 1]?.blockTime ?? 0;
    return anomaly({
      rule: "request-burst",
      severity: peak > 2 * t.burstMaxRequests ? "high" : "medium",
      ...(single ? { caseId: r.case_id ?? "" } : {}),
      participants: [requester],
      summary:
        `Participant ${requester} made ${peak} requests within ${duration(t.burstWindowSeconds)}` +
        ` (more than ${t.burstMaxRequests}), ${requests} in all between ${isoTime(from)} and` +
        ` ${isoTime(to)}${single ? ` in case ${r.case_id}` : ` across ${r.cases} cases`}.`,
      details: { peak, requests, cases: Number(r.cases), windowSeconds: t.burstWindowSeconds },
      evidence,
    });
  });
}

/**
 * subject-across-cases. Subjects are keyed commitments: the same identifier under two case keys
 * gives two unrelated commitments. The same commitment in several cases therefore means the cases
 * share a key (reused or passed on), which is itself a finding; more than K such cases is flagged.
 */
async function subjectAcrossCases(db: Sql, t: AnomalyThresholds): Promise<Anomaly[]> {
  const rows = await db.query<{ subject: string; evidence: unknown }>(
    `WITH s AS (
       SELECT subject FROM events
        WHERE event = 'AccessRequested' AND subject IS NOT NULL AND case_id IS NOT NULL
        GROUP BY subject HAVING count(DISTINCT case_id) > $1::bigint
     )
     SELECT s.subject,
            (SELECT ${EVIDENCE} FROM events e
              WHERE e.event = 'AccessRequested' AND e.subject = s.subject) AS evidence
       FROM s`,
    [t.subjectMaxCases],
  );
  return rows.map((r) => {
    const evidence = evidenceOf(r.evidence);
    const cases = distinctIds(evidence.map((e) => e.caseId));
    return anomaly({
      rule: "subject-across-cases",
      severity: "high",
      participants: distinctNumbers(evidence.map((e) => e.actor)),
      summary:
        `Subject commitment ${short(r.subject)} was queried in ${cases.length} cases` +
        ` (${cases.join(", ")}; more than ${t.subjectMaxCases}): keyed commitments differ per` +
        ` case key, so these cases share one key, reused or passed on.`,
      details: { subject: r.subject, cases: cases.length, requests: evidence.length },
      evidence,
    });
  });
}

/**
 * approver-as-provider. The two-person rule separates who asks (police), who authorizes
 * (prosecutor) and who holds the data (provider). Flagged: a participant that approved a case (or
 * an extension of it) and also grants, denies, revokes or delivers as a provider in that case.
 */
async function approverAsProvider(db: Sql, t: AnomalyThresholds): Promise<Anomaly[]> {
  const rows = await db.query<{
    case_id: string;
    participant: string | number;
    actions: string | number;
    evidence: unknown;
  }>(
    `WITH approvers AS (
       SELECT DISTINCT case_id, actor FROM events
        WHERE event IN ('CaseApproved', 'CaseExtended') AND case_id IS NOT NULL AND actor IS NOT NULL
     ), acting AS (
       SELECT a.case_id, a.actor, count(*) AS actions
         FROM approvers a
         JOIN events p ON p.case_id = a.case_id AND p.actor = a.actor
                      AND p.event IN ${PROVIDER_ACTIONS}
        GROUP BY a.case_id, a.actor
       HAVING count(*) >= $1::bigint
     )
     SELECT x.case_id::text AS case_id, x.actor AS participant, x.actions,
            (SELECT ${EVIDENCE} FROM events e
              WHERE e.case_id = x.case_id AND e.actor = x.actor
                AND (e.event IN ('CaseApproved', 'CaseExtended') OR e.event IN ${PROVIDER_ACTIONS})
            ) AS evidence
       FROM acting x`,
    [t.approverMinProviderActions],
  );
  return rows.map((r) => {
    const participant = Number(r.participant);
    const evidence = evidenceOf(r.evidence);
    const actions = evidence
      .filter((e) => e.event !== "CaseApproved" && e.event !== "CaseExtended")
      .map((e) => e.event);
    const tally = [...new Set(actions)].map(
      (name) => `${name} ×${actions.filter((a) => a === name).length}`,
    );
    return anomaly({
      rule: "approver-as-provider",
      severity: "high",
      caseId: r.case_id,
      participants: [participant],
      summary:
        `Participant ${participant} approved case ${r.case_id} and also acted in it as a` +
        ` provider (${tally.join(", ")}), so one institution both authorized the case and` +
        ` answered its requests as a data holder.`,
      details: { participant, providerActions: Number(r.actions) },
      evidence,
    });
  });
}

/**
 * requests-before-expiry. The case's expiry is the one set by its latest CaseOpened, CaseApproved
 * or CaseExtended event; flagged: at least M requests in [expiresAt − W, expiresAt).
 */
async function requestsBeforeExpiry(db: Sql, t: AnomalyThresholds): Promise<Anomaly[]> {
  const rows = await db.query<{
    case_id: string;
    expires_at: string | number;
    requests: string | number;
    evidence: unknown;
  }>(
    `WITH expiry AS (
       SELECT DISTINCT ON (case_id) case_id, block_number, log_index,
              COALESCE(args->>'newExpiry', args->>'expiresAt')::bigint AS expires_at
         FROM events
        WHERE event IN ('CaseOpened', 'CaseApproved', 'CaseExtended') AND case_id IS NOT NULL
        ORDER BY case_id, block_number DESC, log_index DESC
     ), rush AS (
       SELECT x.case_id, x.block_number, x.log_index, x.expires_at, count(*) AS requests
         FROM expiry x
         JOIN events r ON r.event = 'AccessRequested' AND r.case_id = x.case_id
                      AND r.block_time >= x.expires_at - $2::bigint AND r.block_time < x.expires_at
        GROUP BY x.case_id, x.block_number, x.log_index, x.expires_at
       HAVING count(*) >= $1::bigint
     )
     SELECT rush.case_id::text AS case_id, rush.expires_at, rush.requests,
            (SELECT ${EVIDENCE} FROM events e
              WHERE (e.block_number = rush.block_number AND e.log_index = rush.log_index)
                 OR (e.event = 'AccessRequested' AND e.case_id = rush.case_id
                     AND e.block_time >= rush.expires_at - $2::bigint
                     AND e.block_time < rush.expires_at)) AS evidence
       FROM rush`,
    [t.expiryMinRequests, t.expiryWindowSeconds],
  );
  return rows.map((r) => {
    const evidence = evidenceOf(r.evidence);
    const expiresAt = Number(r.expires_at);
    const requesters = distinctNumbers(
      evidence.filter((e) => e.event === "AccessRequested").map((e) => e.actor),
    );
    return anomaly(
      {
        rule: "requests-before-expiry",
        severity: "low",
        caseId: r.case_id,
        participants: requesters,
        summary:
          `${plural(requesters.length, "Participant")} ${requesters.join(", ")} made` +
          ` ${r.requests} requests in case ${r.case_id} in the ${duration(t.expiryWindowSeconds)}` +
          ` before its expiry at ${isoTime(expiresAt)} (at least ${t.expiryMinRequests}).`,
        details: { expiresAt, requests: Number(r.requests), windowSeconds: t.expiryWindowSeconds },
        evidence,
      },
      (e) => e.event === "AccessRequested",
    );
  });
}

/**
 * revoked-after-delivery. A revocation only stops future deliveries; after a delivery the data has
 * changed hands, so a revocation then is either a late discovery that the grant was wrong, or an
 * attempt to make a completed access look withdrawn. Flagged: a GrantRevoked preceded (in chain
 * order) by at least D deliveries under the same request.
 */
async function revokedAfterDelivery(db: Sql, t: AnomalyThresholds): Promise<Anomaly[]> {
  const rows = await db.query<{
    request_id: string;
    case_id: string;
    provider: string | number;
    requester: string | number | null;
    deliveries: string | number;
    evidence: unknown;
  }>(
    `WITH revoked AS (
       SELECT v.request_id, v.case_id, v.actor, v.block_number, v.log_index,
              (SELECT count(*) FROM events d
                WHERE d.event = 'DeliveryAttested' AND d.request_id = v.request_id
                  AND (d.block_number, d.log_index) < (v.block_number, v.log_index)) AS deliveries
         FROM events v
        WHERE v.event = 'GrantRevoked'
     )
     SELECT x.request_id::text AS request_id, x.case_id::text AS case_id, x.actor AS provider,
            x.deliveries,
            (SELECT r.actor FROM events r
              WHERE r.event = 'AccessRequested' AND r.request_id = x.request_id LIMIT 1) AS requester,
            (SELECT ${EVIDENCE} FROM events e
              WHERE e.request_id = x.request_id
                AND e.event IN ('AccessGranted', 'DeliveryAttested', 'GrantRevoked')
                AND (e.block_number, e.log_index) <= (x.block_number, x.log_index)) AS evidence
       FROM revoked x
      WHERE x.deliveries >= $1::bigint`,
    [t.revokeMinDeliveries],
  );
  return rows.map((r) => {
    const provider = Number(r.provider);
    const requester = r.requester === null ? null : Number(r.requester);
    const deliveries = Number(r.deliveries);
    return anomaly({
      rule: "revoked-after-delivery",
      severity: "medium",
      caseId: r.case_id,
      participants: requester === null ? [provider] : [provider, requester],
      summary:
        `Participant ${provider} revoked its grant of request ${r.request_id} (case ${r.case_id})` +
        ` after ${deliveries} co-signed ${plural(deliveries, "delivery", "deliveries")}` +
        (requester === null ? "" : ` to participant ${requester}`) +
        `: the data had already changed hands.`,
      details: { requestId: r.request_id, deliveries },
      evidence: evidenceOf(r.evidence),
    });
  });
}

/**
 * anchor-gap. Each participant anchors its own access log in batches; batch n+1 must start where
 * batch n ended: firstSequence(n+1) = firstSequence(n) + entryCount(n). A larger start leaves
 * entries never anchored (a gap), a smaller one anchors entries twice (an overlap: two roots for
 * the same entries). Anchors without firstSequence (the contract before it had one) are skipped.
 */
async function anchorGap(db: Sql, t: AnomalyThresholds): Promise<Anomaly[]> {
  const rows = await db.query<{
    participant: string | number;
    anchor_id: string;
    previous_anchor_id: string;
    first_sequence: string;
    entry_count: string;
    expected: string;
    evidence: unknown;
  }>(
    `WITH anchors AS (
       SELECT actor, anchor_id, block_number, log_index,
              (args->>'firstSequence')::numeric AS first_sequence,
              (args->>'entryCount')::numeric AS entry_count,
              lag(anchor_id) OVER w AS previous_anchor_id,
              lag(block_number) OVER w AS previous_block,
              lag(log_index) OVER w AS previous_log,
              lag((args->>'firstSequence')::numeric + (args->>'entryCount')::numeric) OVER w AS expected
         FROM events
        WHERE event = 'LogAnchored' AND actor IS NOT NULL AND args->>'firstSequence' IS NOT NULL
       WINDOW w AS (PARTITION BY actor ORDER BY block_number, log_index)
     )
     SELECT a.actor AS participant, a.anchor_id::text AS anchor_id,
            a.previous_anchor_id::text AS previous_anchor_id,
            a.first_sequence::text AS first_sequence, a.entry_count::text AS entry_count,
            a.expected::text AS expected,
            (SELECT ${EVIDENCE} FROM events e
              WHERE (e.block_number = a.previous_block AND e.log_index = a.previous_log)
                 OR (e.block_number = a.block_number AND e.log_index = a.log_index)) AS evidence
       FROM anchors a
      WHERE a.expected IS NOT NULL AND abs(a.first_sequence - a.expected) > $1::numeric`,
    [t.anchorMaxGap],
  );
  return rows.map((r) => {
    const participant = Number(r.participant);
    const first = BigInt(r.first_sequence);
    const expected = BigInt(r.expected);
    const gap = first > expected;
    const lastRepeated = [expected, first + BigInt(r.entry_count)].reduce((a, b) =>
      a < b ? a : b,
    );
    return anomaly({
      rule: "anchor-gap",
      severity: "high",
      participants: [participant],
      summary: gap
        ? `Participant ${participant}'s anchor ${r.anchor_id} starts its access log at entry` +
          ` ${first}, but its previous anchor ${r.previous_anchor_id} ended at entry` +
          ` ${expected - 1n}: entries ${range(expected, first - 1n)} were never anchored.`
        : `Participant ${participant}'s anchor ${r.anchor_id} starts its access log at entry` +
          ` ${first}, but its previous anchor ${r.previous_anchor_id} already covered entries up` +
          ` to ${expected - 1n}: entries ${range(first, lastRepeated - 1n)} are anchored twice.`,
      details: {
        kind: gap ? "gap" : "overlap",
        anchorId: r.anchor_id,
        previousAnchorId: r.previous_anchor_id,
        firstSequence: r.first_sequence,
        expectedSequence: r.expected,
        entries: (gap ? first - expected : expected - first).toString(),
      },
      evidence: evidenceOf(r.evidence),
    });
  });
}

/**
 * unfinished-match-session. A matching session ends in a co-signed result (MatchCompleted) or a
 * failure either party records (MatchFailed). Its grant ends at the grant's expiry, its
 * revocation or the case's closure, whichever comes first; from then on no response can be
 * recorded, so a session still open then can only fail, and a responded one should have its
 * result or its failure recorded. Flagged: a session with neither, up to `now`, G seconds after
 * its grant ended. Responded sessions weigh more: the provider's data changed hands, and what the
 * requester learned from it is not on the ledger.
 */
async function unfinishedMatchSession(
  db: Sql,
  t: AnomalyThresholds,
  now: number,
): Promise<Anomaly[]> {
  const rows = await db.query<{
    session_id: string;
    request_id: string;
    case_id: string;
    requester: string | number;
    provider: string | number;
    responded: boolean;
    ended_at: string | number;
    evidence: unknown;
  }>(
    `WITH unfinished AS (
       SELECT o.args->>'sessionId' AS session_id, o.request_id, o.case_id, o.actor AS requester,
              o.counterpart AS provider,
              EXISTS (SELECT 1 FROM events x
                       WHERE x.event = 'MatchResponseRecorded' AND x.request_id = o.request_id
                         AND x.args->>'sessionId' = o.args->>'sessionId'
                         AND x.block_time <= $2::bigint) AS responded,
              LEAST(
                (SELECT (g.args->>'expiresAt')::bigint FROM events g
                  WHERE g.event = 'AccessGranted' AND g.request_id = o.request_id
                  ORDER BY g.block_number DESC, g.log_index DESC LIMIT 1),
                (SELECT min(v.block_time) FROM events v
                  WHERE v.event = 'GrantRevoked' AND v.request_id = o.request_id
                    AND v.block_time <= $2::bigint),
                (SELECT min(c.block_time) FROM events c
                  WHERE c.event = 'CaseClosed' AND c.case_id = o.case_id
                    AND c.block_time <= $2::bigint)) AS ended_at
         FROM events o
        WHERE o.event = 'MatchSessionOpened' AND o.block_time <= $2::bigint
          AND NOT EXISTS (SELECT 1 FROM events x
                WHERE x.event IN ('MatchCompleted', 'MatchFailed') AND x.request_id = o.request_id
                  AND x.args->>'sessionId' = o.args->>'sessionId' AND x.block_time <= $2::bigint)
     )
     SELECT u.session_id, u.request_id::text AS request_id, u.case_id::text AS case_id,
            u.requester, u.provider, u.responded, u.ended_at,
            (SELECT ${EVIDENCE} FROM events e
              WHERE e.request_id = u.request_id AND e.block_time <= $2::bigint
                AND (e.event IN ('AccessGranted', 'GrantRevoked')
                     OR (e.event IN ('MatchSessionOpened', 'MatchResponseRecorded')
                         AND e.args->>'sessionId' = u.session_id))) AS evidence
       FROM unfinished u
      WHERE u.ended_at + $1::bigint <= $2::bigint`,
    [t.matchGraceSeconds, now],
  );
  return rows.map((r) => {
    const requester = Number(r.requester);
    const provider = Number(r.provider);
    const endedAt = Number(r.ended_at);
    const status = r.responded ? "responded" : "open";
    return anomaly(
      {
        rule: "unfinished-match-session",
        severity: r.responded ? "medium" : "low",
        caseId: r.case_id,
        participants: [requester, provider],
        summary:
          `Matching session ${r.session_id} of participant ${requester} with participant` +
          ` ${provider} (request ${r.request_id}, case ${r.case_id}) is still ${status}` +
          ` ${duration(now - endedAt)} after its grant ended at ${isoTime(endedAt)}: ` +
          (r.responded
            ? "the provider's response was recorded, but neither a result nor a failure."
            : "neither a response nor a failure was recorded."),
        details: {
          sessionId: r.session_id,
          requestId: r.request_id,
          status,
          grantEndedAt: endedAt,
          secondsUnfinished: now - endedAt,
        },
        evidence: evidenceOf(r.evidence),
      },
      (e) => e.event.startsWith("Match"),
    );
  });
}

// ---------------------------------------------------------------------------------- helpers

/**
 * An anomaly with its block span: the blocks of its evidence, or of the part of it `activity`
 * selects when the rest only gives the context (the event that set a case's expiry).
 */
function anomaly(
  a: Omit<Anomaly, "firstBlock" | "lastBlock">,
  activity: (e: Evidence) => boolean = () => true,
): Anomaly {
  const blocks = a.evidence.filter(activity).map((e) => e.blockNumber);
  return {
    ...a,
    participants: distinctNumbers(a.participants),
    firstBlock: blocks.length === 0 ? 0 : Math.min(...blocks),
    lastBlock: blocks.length === 0 ? 0 : Math.max(...blocks),
  };
}

/** Evidence from the JSON a rule's query built (see EVIDENCE); nulls are dropped. */
function evidenceOf(value: unknown): Evidence[] {
  if (!Array.isArray(value)) return [];
  return value.map((item: unknown) => {
    const o = (typeof item === "object" && item !== null ? item : {}) as Record<string, unknown>;
    const e: Evidence = {
      blockNumber: Number(o["blockNumber"]),
      logIndex: Number(o["logIndex"]),
      txHash: String(o["txHash"]),
      blockTime: Number(o["blockTime"]),
      event: String(o["event"]),
    };
    for (const key of ["caseId", "requestId", "deliveryId", "anchorId"] as const) {
      const v = o[key];
      if (v !== null && v !== undefined) e[key] = String(v);
    }
    for (const key of ["actor", "counterpart"] as const) {
      const v = o[key];
      if (v !== null && v !== undefined) e[key] = Number(v);
    }
    return e;
  });
}

function compareAnomalies(a: Anomaly, b: Anomaly): number {
  return (
    a.firstBlock - b.firstBlock ||
    a.lastBlock - b.lastBlock ||
    a.rule.localeCompare(b.rule) ||
    a.summary.localeCompare(b.summary)
  );
}

function distinctNumbers(values: readonly (number | undefined)[]): number[] {
  return [...new Set(values.filter((v): v is number => v !== undefined))].sort((a, b) => a - b);
}

/** Distinct decimal ids, in numeric order. */
function distinctIds(values: readonly (string | undefined)[]): string[] {
  return [...new Set(values.filter((v): v is string => v !== undefined))].sort((a, b) => {
    const d = BigInt(a) - BigInt(b);
    return d < 0n ? -1 : d > 0n ? 1 : 0;
  });
}

function range(from: bigint, to: bigint): string {
  return from === to ? `${from}` : `${from}–${to}`;
}

function plural(n: number, one: string, many = `${one}s`): string {
  return n === 1 ? one : many;
}

/** A commitment shortened for a sentence: 0x1234…cdef. */
function short(hex: string): string {
  return hex.length > 14 ? `${hex.slice(0, 6)}…${hex.slice(-4)}` : hex;
}

/** ISO time of a unix timestamp (seconds). */
function isoTime(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(".000Z", "Z");
}

/** A duration in the largest whole unit: "7 days", "1 hour", "90 seconds". */
function duration(seconds: number): string {
  const units: [number, string][] = [
    [DAY, "day"],
    [3600, "hour"],
    [60, "minute"],
  ];
  for (const [size, name] of units) {
    if (seconds % size === 0) {
      const n = seconds / size;
      return `${n} ${plural(n, name)}`;
    }
  }
  return `${seconds} ${plural(seconds, "second")}`;
}
