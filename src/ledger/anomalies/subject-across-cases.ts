/** The anomaly rule subject-across-cases: docs/anomalies.md explains it. */
import * as c from "./common.js";

/**
 * subject-across-cases. Subjects are keyed commitments: the same identifier under two case keys
 * gives two unrelated commitments. The same commitment in several cases therefore means the cases
 * share a key (reused or passed on), which is itself a finding; more than K such cases is flagged.
 */
export const rule = c.defineRule<{ subject: string }>({
  rule: "subject-across-cases",
  title: "one subject commitment queried in more cases than the threshold",
  thresholds: ["subjectMaxCases"],
  sql: `WITH s AS (
       SELECT subject FROM events
        WHERE event = 'AccessRequested' AND subject IS NOT NULL AND case_id IS NOT NULL
        GROUP BY subject HAVING count(DISTINCT case_id) > $1::bigint
     )
     SELECT s.subject,
            (SELECT ${c.EVIDENCE} FROM events e
              WHERE e.event = 'AccessRequested' AND e.subject = s.subject) AS evidence
       FROM s`,
  params: (t) => [t.subjectMaxCases],
  finding: (r, t) => {
    const cases = c.distinctIds(r.evidence.map((e) => e.caseId));
    return {
      severity: "high",
      participants: c.distinctNumbers(r.evidence.map((e) => e.actor)),
      summary:
        `Subject commitment ${c.short(r.subject)} was queried in ${cases.length} cases` +
        ` (${cases.join(", ")}; more than ${t.subjectMaxCases}): keyed commitments differ per` +
        ` case key, so these cases share one key, reused or passed on.`,
      details: { subject: r.subject, cases: cases.length, requests: r.evidence.length },
    };
  },
});
