/** The anomaly rule unfinished-match-session: docs/anomalies.md explains it. */
import * as c from "./common.js";

/**
 * unfinished-match-session. A matching session ends in a co-signed result (MatchCompleted) or a
 * failure either party records (MatchFailed). Its grant ends at the grant's expiry, its
 * revocation or the case's closure, whichever comes first; from then on no response can be
 * recorded, so a session still open then can only fail, and a responded one should have its
 * result or its failure recorded. Flagged: a session with neither, up to `now`, G seconds after
 * its grant ended. Responded sessions weigh more: the provider's data changed hands, and what the
 * requester learned from it is not on the ledger.
 */
export const rule = c.defineRule<{
  session_id: string;
  request_id: string;
  case_id: string;
  requester: string | number;
  provider: string | number;
  responded: boolean;
  ended_at: string | number;
}>({
  rule: "unfinished-match-session",
  title: "a matching session neither completed nor failed after its grant ended",
  thresholds: ["matchGraceSeconds"],
  usesClock: true,
  sql: `WITH unfinished AS (
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
            (SELECT ${c.EVIDENCE} FROM events e
              WHERE e.request_id = u.request_id AND e.block_time <= $2::bigint
                AND (e.event IN ('AccessGranted', 'GrantRevoked')
                     OR (e.event IN ('MatchSessionOpened', 'MatchResponseRecorded')
                         AND e.args->>'sessionId' = u.session_id))) AS evidence
       FROM unfinished u
      WHERE u.ended_at + $1::bigint <= $2::bigint`,
  params: (t, now) => [t.matchGraceSeconds, now],
  // The grant's events only give the context.
  activity: (e) => e.event.startsWith("Match"),
  finding: (r, _t, now) => {
    const requester = Number(r.requester);
    const provider = Number(r.provider);
    const endedAt = Number(r.ended_at);
    const status = r.responded ? "responded" : "open";
    return {
      severity: r.responded ? "medium" : "low",
      caseId: r.case_id,
      participants: [requester, provider],
      summary:
        `Matching session ${r.session_id} of participant ${requester} with participant` +
        ` ${provider} (request ${r.request_id}, case ${r.case_id}) is still ${status}` +
        ` ${c.duration(now - endedAt)} after its grant ended at ${c.isoTime(endedAt)}: ` +
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
    };
  },
});
