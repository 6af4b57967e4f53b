/** The anomaly rule requests-before-expiry: docs/anomalies.md explains it. */
import * as c from "./common.js";

/**
 * requests-before-expiry. The case's expiry is the one set by its latest CaseOpened, CaseApproved
 * or CaseExtended event; flagged: at least M requests in [expiresAt − W, expiresAt).
 */
export const rule = c.defineRule<{
  case_id: string;
  expires_at: string | number;
  requests: string | number;
}>({
  rule: "requests-before-expiry",
  title: "requests clustered right before a case's expiry",
  thresholds: ["expiryMinRequests", "expiryWindowSeconds"],
  sql: `WITH expiry AS (
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
            (SELECT ${c.EVIDENCE} FROM events e
              WHERE (e.block_number = rush.block_number AND e.log_index = rush.log_index)
                 OR (e.event = 'AccessRequested' AND e.case_id = rush.case_id
                     AND e.block_time >= rush.expires_at - $2::bigint
                     AND e.block_time < rush.expires_at)) AS evidence
       FROM rush`,
  params: (t) => [t.expiryMinRequests, t.expiryWindowSeconds],
  // The event that set the expiry only gives the context.
  activity: (e) => e.event === "AccessRequested",
  finding: (r, t) => {
    const expiresAt = Number(r.expires_at);
    const requesters = c.distinctNumbers(
      r.evidence.filter((e) => e.event === "AccessRequested").map((e) => e.actor),
    );
    return {
      severity: "low",
      caseId: r.case_id,
      participants: requesters,
      summary:
        `${c.plural(requesters.length, "Participant")} ${requesters.join(", ")} made` +
        ` ${r.requests} requests in case ${r.case_id} in the ${c.duration(t.expiryWindowSeconds)}` +
        ` before its expiry at ${c.isoTime(expiresAt)} (at least ${t.expiryMinRequests}).`,
      details: { expiresAt, requests: Number(r.requests), windowSeconds: t.expiryWindowSeconds },
    };
  },
});
