/** The anomaly rule request-burst: docs/anomalies.md explains it. */
import * as c from "./common.js";

/**
 * request-burst. For every request, the number of requests of the same requester in the window
 * ending at it (`RANGE … PRECEDING`: requests less than the window apart); windows above the limit
 * that overlap are merged into one episode, reported once with all its requests.
 */
export const rule = c.defineRule<{
  requester: string | number;
  peak: string | number;
  requests: string | number;
  cases: string | number;
  case_id: string | null;
}>({
  rule: "request-burst",
  title: "one requester above the request limit in a sliding window",
  thresholds: ["burstMaxRequests", "burstWindowSeconds"],
  sql: `WITH counted AS (
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
                min(e.case_id)::text AS case_id, ${c.EVIDENCE} AS evidence
           FROM events e
          WHERE e.event = 'AccessRequested' AND e.actor = ep.actor
            AND e.block_time BETWEEN ep.from_time AND ep.to_time
       ) x`,
  params: (t) => [t.burstMaxRequests, t.burstWindowSeconds - 1],
  finding: (r, t) => {
    const requester = Number(r.requester);
    const peak = Number(r.peak);
    const requests = Number(r.requests);
    const single = Number(r.cases) === 1;
    const from = r.evidence[0]?.blockTime ?? 0;
    const to = r.evidence[r.evidence.length - 1]?.blockTime ?? 0;
    return {
      severity: peak > 2 * t.burstMaxRequests ? "high" : "medium",
      ...(single ? { caseId: r.case_id ?? "" } : {}),
      participants: [requester],
      summary:
        `Participant ${requester} made ${peak} requests within ${c.duration(t.burstWindowSeconds)}` +
        ` (more than ${t.burstMaxRequests}), ${requests} in all between ${c.isoTime(from)} and` +
        ` ${c.isoTime(to)}${single ? ` in case ${r.case_id}` : ` across ${r.cases} cases`}.`,
      details: { peak, requests, cases: Number(r.cases), windowSeconds: t.burstWindowSeconds },
    };
  },
});
