/** The anomaly rule revoked-after-delivery: docs/anomalies.md explains it. */
import * as c from "./common.js";

/**
 * revoked-after-delivery. A revocation only stops future deliveries; after a delivery the data has
 * changed hands, so a revocation then is either a late discovery that the grant was wrong, or an
 * attempt to make a completed access look withdrawn. Flagged: a GrantRevoked preceded (in chain
 * order) by at least D deliveries under the same request.
 */
export const rule = c.defineRule<c.GrantRow & { deliveries: string | number }>({
  rule: "revoked-after-delivery",
  title: "a grant revoked after data was delivered under it",
  thresholds: ["revokeMinDeliveries"],
  sql: `WITH revoked AS (
       SELECT v.request_id, v.case_id, v.actor, v.block_number, v.log_index,
              (SELECT count(*) FROM events d
                WHERE d.event = 'DeliveryAttested' AND d.request_id = v.request_id
                  AND (d.block_number, d.log_index) < (v.block_number, v.log_index)) AS deliveries
         FROM events v
        WHERE v.event = 'GrantRevoked'
     )
     SELECT x.request_id::text AS request_id, x.case_id::text AS case_id, x.actor AS provider,
            x.deliveries,
            ${c.requesterOf("x.request_id")} AS requester,
            (SELECT ${c.EVIDENCE} FROM events e
              WHERE e.request_id = x.request_id
                AND e.event IN ('AccessGranted', 'DeliveryAttested', 'GrantRevoked')
                AND (e.block_number, e.log_index) <= (x.block_number, x.log_index)) AS evidence
       FROM revoked x
      WHERE x.deliveries >= $1::bigint`,
  params: (t) => [t.revokeMinDeliveries],
  finding: (r) => {
    const { provider, requester, participants } = c.grantParties(r);
    const deliveries = Number(r.deliveries);
    return {
      severity: "medium",
      caseId: r.case_id,
      participants,
      summary:
        `Participant ${provider} revoked its grant of request ${r.request_id} (case ${r.case_id})` +
        ` after ${deliveries} co-signed ${c.plural(deliveries, "delivery", "deliveries")}` +
        (requester === null ? "" : ` to participant ${requester}`) +
        `: the data had already changed hands.`,
      details: { requestId: r.request_id, deliveries },
    };
  },
});
