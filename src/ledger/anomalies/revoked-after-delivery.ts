/** The anomaly rule revoked-after-delivery: docs/anomalies.md explains it. */
import type { Sql } from "../../db/db.js";
import * as c from "./common.js";

/**
 * revoked-after-delivery. A revocation only stops future deliveries; after a delivery the data has
 * changed hands, so a revocation then is either a late discovery that the grant was wrong, or an
 * attempt to make a completed access look withdrawn. Flagged: a GrantRevoked preceded (in chain
 * order) by at least D deliveries under the same request.
 */
async function revokedAfterDelivery(db: Sql, t: c.AnomalyThresholds): Promise<c.Anomaly[]> {
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
            (SELECT ${c.EVIDENCE} FROM events e
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
    return c.anomaly({
      rule: "revoked-after-delivery",
      severity: "medium",
      caseId: r.case_id,
      participants: requester === null ? [provider] : [provider, requester],
      summary:
        `Participant ${provider} revoked its grant of request ${r.request_id} (case ${r.case_id})` +
        ` after ${deliveries} co-signed ${c.plural(deliveries, "delivery", "deliveries")}` +
        (requester === null ? "" : ` to participant ${requester}`) +
        `: the data had already changed hands.`,
      details: { requestId: r.request_id, deliveries },
      evidence: c.evidenceOf(r.evidence),
    });
  });
}

export const rule: c.Rule = {
  rule: "revoked-after-delivery",
  title: "a grant revoked after data was delivered under it",
  thresholds: ["revokeMinDeliveries"],
  usesClock: false,
  detect: (db, t) => revokedAfterDelivery(db, t),
};
