/** The anomaly rule subject-across-cases: docs/anomalies.md explains it. */
import type { Sql } from "../../db/db.js";
import * as c from "./common.js";

/**
 * subject-across-cases. Subjects are keyed commitments: the same identifier under two case keys
 * gives two unrelated commitments. The same commitment in several cases therefore means the cases
 * share a key (reused or passed on), which is itself a finding; more than K such cases is flagged.
 */
async function subjectAcrossCases(db: Sql, t: c.AnomalyThresholds): Promise<c.Anomaly[]> {
  const rows = await db.query<{ subject: string; evidence: unknown }>(
    `WITH s AS (
       SELECT subject FROM events
        WHERE event = 'AccessRequested' AND subject IS NOT NULL AND case_id IS NOT NULL
        GROUP BY subject HAVING count(DISTINCT case_id) > $1::bigint
     )
     SELECT s.subject,
            (SELECT ${c.EVIDENCE} FROM events e
              WHERE e.event = 'AccessRequested' AND e.subject = s.subject) AS evidence
       FROM s`,
    [t.subjectMaxCases],
  );
  return rows.map((r) => {
    const evidence = c.evidenceOf(r.evidence);
    const cases = c.distinctIds(evidence.map((e) => e.caseId));
    return c.anomaly({
      rule: "subject-across-cases",
      severity: "high",
      participants: c.distinctNumbers(evidence.map((e) => e.actor)),
      summary:
        `Subject commitment ${c.short(r.subject)} was queried in ${cases.length} cases` +
        ` (${cases.join(", ")}; more than ${t.subjectMaxCases}): keyed commitments differ per` +
        ` case key, so these cases share one key, reused or passed on.`,
      details: { subject: r.subject, cases: cases.length, requests: evidence.length },
      evidence,
    });
  });
}

export const rule: c.Rule = {
  rule: "subject-across-cases",
  title: "one subject commitment queried in more cases than the threshold",
  thresholds: ["subjectMaxCases"],
  usesClock: false,
  detect: (db, t) => subjectAcrossCases(db, t),
};
