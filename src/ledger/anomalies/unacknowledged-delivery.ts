/** The anomaly rule unacknowledged-delivery: docs/anomalies.md explains it. */
import * as c from "./common.js";

/**
 * unacknowledged-delivery. On this ledger a delivery is recorded only once both sides signed it
 * (the provider's `Delivery`, the requester's `Acknowledgement`), so an unacknowledged delivery
 * can't be seen as such: it shows as a granted request with no co-signed delivery. Flagged: a
 * grant at least T seconds old (against `now`) with no DeliveryAttested up to `now`, that stayed
 * live for those T seconds: its expiry at least T after the grant, not revoked and its case not
 * closed before then.
 */
export const rule = c.defineRule<c.GrantRow & { granted_at: string | number }>({
  rule: "unacknowledged-delivery",
  title: "a live grant with no co-signed delivery after the threshold",
  thresholds: ["unacknowledgedAfterSeconds"],
  usesClock: true,
  sql: `SELECT g.request_id::text AS request_id, g.case_id::text AS case_id, g.actor AS provider,
            g.block_time AS granted_at,
            ${c.requesterOf("g.request_id")} AS requester,
            (SELECT ${c.EVIDENCE} FROM events e
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
  params: (t, now) => [t.unacknowledgedAfterSeconds, now],
  finding: (r, t, now) => {
    const { provider, requester, participants } = c.grantParties(r);
    const grantedAt = Number(r.granted_at);
    return {
      severity: "medium",
      caseId: r.case_id,
      participants,
      summary:
        `Participant ${provider} granted request ${r.request_id}` +
        (requester === null ? "" : ` of participant ${requester}`) +
        ` (case ${r.case_id}) at ${c.isoTime(grantedAt)}, but no delivery co-signed by both sides` +
        ` was recorded in the ${c.duration(t.unacknowledgedAfterSeconds)} the grant stayed live.`,
      details: {
        requestId: r.request_id,
        grantedAt,
        secondsWithoutDelivery: now - grantedAt,
      },
    };
  },
});
