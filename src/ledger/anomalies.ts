import { InvalidInputError } from "../shared/errors.js";
import type { Sql } from "../db/db.js";
import { rule as anchorGap } from "./anomalies/anchor-gap.js";
import { rule as ciphertextKept } from "./anomalies/ciphertext-kept.js";
import { rule as approverAsProvider } from "./anomalies/approver-as-provider.js";
import {
  DAY,
  compareAnomalies,
  type Anomaly,
  type AnomalyThresholds,
  type Rule,
} from "./anomalies/common.js";
import { rule as requestBurst } from "./anomalies/request-burst.js";
import { rule as requestsBeforeExpiry } from "./anomalies/requests-before-expiry.js";
import { rule as revokedAfterDelivery } from "./anomalies/revoked-after-delivery.js";
import { rule as subjectAcrossCases } from "./anomalies/subject-across-cases.js";
import { rule as unacknowledgedDelivery } from "./anomalies/unacknowledged-delivery.js";
import { rule as unacknowledgedOffer } from "./anomalies/unacknowledged-offer.js";
import { rule as unfinishedMatchSession } from "./anomalies/unfinished-match-session.js";

export type {
  Anomaly,
  AnomalyRule,
  AnomalyThresholds,
  Evidence,
  Rule,
  Severity,
} from "./anomalies/common.js";

/**
 * Anomaly detection: "who watches the watchers". The contracts enforce what can be checked at
 * the moment of a transaction (an approved case, a live grant, two signatures); these rules look
 * at patterns across many transactions that no single call can see. Each rule is one SQL query
 * over the `events` table, the same text on PGlite and on a PostgreSQL server, with a threshold
 * from {@link AnomalyThresholds}. docs/anomalies.md explains every rule, its threshold, why it
 * matters and what it can't see.
 */

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
  offerAcknowledgeSeconds: 7 * DAY,
  purgeGraceSeconds: DAY,
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
  offerAcknowledgeSeconds: 1,
  purgeGraceSeconds: 0,
};

/** Every rule, in the order their findings are listed: one module each under anomalies/. */
export const ANOMALY_RULES: readonly Rule[] = [
  unacknowledgedDelivery,
  requestBurst,
  subjectAcrossCases,
  approverAsProvider,
  requestsBeforeExpiry,
  revokedAfterDelivery,
  anchorGap,
  unfinishedMatchSession,
  unacknowledgedOffer,
  ciphertextKept,
];

/** What each rule is, for help texts and API listings. */
export type RuleInfo = Pick<Rule, "rule" | "title" | "thresholds">;

/**
 * The full thresholds: the defaults overridden by `options`. Throws an {@link InvalidInputError} naming
 * the first unknown threshold or invalid value.
 */
export function resolveThresholds(options: Partial<AnomalyThresholds> = {}): AnomalyThresholds {
  const out: AnomalyThresholds = { ...DEFAULT_THRESHOLDS };
  for (const [key, value] of Object.entries(options) as [string, unknown][]) {
    if (!Object.hasOwn(THRESHOLD_MINIMUM, key)) {
      throw new InvalidInputError(
        `unknown anomaly threshold ${JSON.stringify(key)} (known: ${Object.keys(THRESHOLD_MINIMUM).join(", ")})`,
      );
    }
    if (value === undefined) continue;
    const name = key as keyof AnomalyThresholds;
    const min = THRESHOLD_MINIMUM[name];
    if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min) {
      throw new InvalidInputError(
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
    throw new InvalidInputError(`now must be a unix time in seconds, got ${JSON.stringify(now)}`);
  }
  const clock = now ?? (await storeTime(db));
  const found: Anomaly[] = [];
  for (const r of ANOMALY_RULES) {
    // A rule that measures against the clock has nothing to measure in an empty store.
    if (r.usesClock && clock === null) continue;
    found.push(...(await r.detect(db, t, clock ?? 0)));
  }
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
