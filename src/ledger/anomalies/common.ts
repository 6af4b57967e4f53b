/** What every anomaly rule shares: the anomaly's shape, the thresholds, the evidence query, helpers. */
import type { Sql } from "../../db/db.js";

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
  | "unfinished-match-session"
  | "unacknowledged-offer"
  | "ciphertext-kept";

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
  /** unacknowledged-offer: how long after its offer a sealed delivery may go unacknowledged. */
  offerAcknowledgeSeconds: number;
  /** ciphertext-kept: how long after its purge was due a ciphertext's purge may be recorded. */
  purgeGraceSeconds: number;
}

/** A day, in seconds. */
export const DAY = 24 * 60 * 60;

/** The JSON array of the events `e` of a group, in chain order. */
export const EVIDENCE = `json_agg(json_build_object(
    'blockNumber', e.block_number, 'logIndex', e.log_index, 'txHash', e.tx_hash,
    'blockTime', e.block_time, 'event', e.event, 'caseId', e.case_id::text,
    'requestId', e.request_id::text, 'deliveryId', e.delivery_id::text,
    'anchorId', e.anchor_id::text, 'actor', e.actor, 'counterpart', e.counterpart)
  ORDER BY e.block_number, e.log_index)`;

/** Provider actions: each one is taken by the provider (the row's actor). */
export const PROVIDER_ACTIONS = `('AccessGranted', 'AccessDenied', 'GrantRevoked', 'DeliveryAttested', 'MatchResponseRecorded')`;

/**
 * The requester of the request whose id the SQL expression `requestId` gives (an SQL expression):
 * the actor of its AccessRequested, null when that event is not stored.
 */
export function requesterOf(requestId: string): string {
  return `(SELECT r.actor FROM events r
              WHERE r.event = 'AccessRequested' AND r.request_id = ${requestId} LIMIT 1)`;
}

/** The columns of a rule's row that concern one grant (the requester: see {@link requesterOf}). */
export interface GrantRow {
  request_id: string;
  case_id: string;
  provider: string | number;
  requester: string | number | null;
}

/** A grant's parties: its provider, and its requester when the request is stored (else null). */
export function grantParties(row: GrantRow): {
  provider: number;
  requester: number | null;
  participants: number[];
} {
  const provider = Number(row.provider);
  const requester = row.requester === null ? null : Number(row.requester);
  return {
    provider,
    requester,
    participants: requester === null ? [provider] : [provider, requester],
  };
}

/**
 * An anomaly with its block span: the blocks of its evidence, or of the part of it `activity`
 * selects when the rest only gives the context (the event that set a case's expiry).
 */
export function anomaly(
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
export function evidenceOf(value: unknown): Evidence[] {
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

export function compareAnomalies(a: Anomaly, b: Anomaly): number {
  return (
    a.firstBlock - b.firstBlock ||
    a.lastBlock - b.lastBlock ||
    a.rule.localeCompare(b.rule) ||
    a.summary.localeCompare(b.summary)
  );
}

export function distinctNumbers(values: readonly (number | undefined)[]): number[] {
  return [...new Set(values.filter((v): v is number => v !== undefined))].sort((a, b) => a - b);
}

/** Distinct decimal ids, in numeric order. */
export function distinctIds(values: readonly (string | undefined)[]): string[] {
  return [...new Set(values.filter((v): v is string => v !== undefined))].sort((a, b) => {
    const d = BigInt(a) - BigInt(b);
    return d < 0n ? -1 : d > 0n ? 1 : 0;
  });
}

export function range(from: bigint, to: bigint): string {
  return from === to ? `${from}` : `${from}–${to}`;
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return n === 1 ? one : many;
}

/** A commitment shortened for a sentence: 0x1234…cdef. */
export function short(hex: string): string {
  return hex.length > 14 ? `${hex.slice(0, 6)}…${hex.slice(-4)}` : hex;
}

/** ISO time of a unix timestamp (seconds). */
export function isoTime(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(".000Z", "Z");
}

/** A duration in the largest whole unit: "7 days", "1 hour", "90 seconds". */
export function duration(seconds: number): string {
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

/** One rule: what it flags, the thresholds it reads, and its query. */
export interface Rule {
  rule: AnomalyRule;
  title: string;
  /** The thresholds it reads. */
  thresholds: readonly (keyof AnomalyThresholds)[];
  /** Whether it measures against the clock (the newest block's time, or `--now`). */
  usesClock: boolean;
  detect(db: Sql, t: AnomalyThresholds, now: number): Promise<Anomaly[]>;
}

/** What a rule says of one finding; the rule's id, the evidence and the block span are added. */
export type Finding = Omit<Anomaly, "rule" | "evidence" | "firstBlock" | "lastBlock">;

/** What is a rule's own: {@link Rule} but `detect`, which {@link defineRule} builds from the rest. */
export interface RuleSpec<Row> extends Omit<Rule, "usesClock" | "detect"> {
  /** Whether it measures against the clock; default false. */
  usesClock?: boolean;
  /** One row a finding: the columns `Row` names and `evidence`, built with {@link EVIDENCE}. */
  sql: string;
  /** The query's parameters ($1, $2, …). */
  params(t: AnomalyThresholds, now: number): readonly unknown[];
  /** The evidence that is the anomalous activity (see {@link anomaly}); default all of it. */
  activity?: (e: Evidence) => boolean;
  /** The finding one row shows, its evidence read. */
  finding(row: Row & { evidence: Evidence[] }, t: AnomalyThresholds, now: number): Finding;
}

/** A rule from its own parts: it runs the query and turns each row into an anomaly. */
export function defineRule<Row extends object>(spec: RuleSpec<Row>): Rule {
  const { rule, title, thresholds, usesClock = false, sql, params, activity, finding } = spec;
  return {
    rule,
    title,
    thresholds,
    usesClock,
    async detect(db, t, now) {
      const rows = await db.query<Row & { evidence: unknown }>(sql, params(t, now));
      return rows.map((row) => {
        const evidence = evidenceOf(row.evidence);
        return anomaly({ rule, ...finding({ ...row, evidence }, t, now), evidence }, activity);
      });
    },
  };
}
