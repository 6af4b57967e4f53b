/** The anomaly rule unacknowledged-offer: docs/anomalies.md explains it. */
import * as c from "./common.js";

/**
 * unacknowledged-offer. A provider's gateway offers a sealed delivery (ExchangeLedger's
 * DeliveryOffered); the requester fetches it and co-signs the delivery (AccessLedger's
 * DeliveryAttested of the same request and sequence). An offer that is never acknowledged is data
 * prepared for a requester that never took it, or took it without acknowledging. Its deadline is
 * the earliest of: N seconds after the offer, the grant's expiry, its revocation, the case's
 * closure (after any of the last three no delivery can be attested). Flagged: an offer with no
 * acknowledgement up to `now`, past its deadline, that its provider did not purge before the
 * deadline (a purge before it, superseded or withdrawn, ends the offer). The gateway's signed
 * `Delivery` deadline is not on the chain, so it is not the measure.
 */
export const rule = c.defineRule<{
  offer_id: string;
  request_id: string;
  case_id: string;
  provider: string | number;
  requester: string | number | null;
  sequence: string;
  offered_at: string | number;
  due_at: string | number;
}>({
  rule: "unacknowledged-offer",
  title: "an offered delivery not acknowledged by the grant's end or after the threshold",
  thresholds: ["offerAcknowledgeSeconds"],
  usesClock: true,
  sql: `WITH offers AS (
       SELECT o.args->>'offerId' AS offer_id, o.request_id, o.case_id, o.actor AS provider,
              o.counterpart AS requester, o.args->>'sequence' AS sequence,
              o.block_time AS offered_at,
              LEAST(o.block_time + $1::bigint,
                (SELECT (g.args->>'expiresAt')::bigint FROM events g
                  WHERE g.event = 'AccessGranted' AND g.request_id = o.request_id
                  ORDER BY g.block_number DESC, g.log_index DESC LIMIT 1),
                (SELECT min(v.block_time) FROM events v
                  WHERE v.event = 'GrantRevoked' AND v.request_id = o.request_id
                    AND v.block_time <= $2::bigint),
                (SELECT min(x.block_time) FROM events x
                  WHERE x.event = 'CaseClosed' AND x.case_id = o.case_id
                    AND x.block_time <= $2::bigint)) AS due_at
         FROM events o
        WHERE o.event = 'DeliveryOffered' AND o.block_time <= $2::bigint
          AND NOT EXISTS (SELECT 1 FROM events d
                WHERE d.event = 'DeliveryAttested' AND d.request_id = o.request_id
                  AND d.args->'delivery'->>'sequence' = o.args->>'sequence'
                  AND d.block_time <= $2::bigint)
     )
     SELECT u.offer_id, u.request_id::text AS request_id, u.case_id::text AS case_id, u.provider,
            u.requester, u.sequence, u.offered_at, u.due_at,
            (SELECT ${c.EVIDENCE} FROM events e
              WHERE e.request_id = u.request_id AND e.block_time <= $2::bigint
                AND (e.event IN ('AccessGranted', 'GrantRevoked')
                     OR (e.event IN ('DeliveryOffered', 'DeliveryPurged')
                         AND e.args->>'offerId' = u.offer_id))) AS evidence
       FROM offers u
      WHERE u.due_at <= $2::bigint
        AND NOT EXISTS (SELECT 1 FROM events p
              WHERE p.event = 'DeliveryPurged' AND p.request_id = u.request_id
                AND p.args->>'offerId' = u.offer_id AND p.block_time < u.due_at)`,
  params: (t, now) => [t.offerAcknowledgeSeconds, now],
  // The grant's events only give the context.
  activity: (e) => e.event === "DeliveryOffered" || e.event === "DeliveryPurged",
  finding: (r, _t, now) => {
    const { provider, requester, participants } = c.grantParties(r);
    const offeredAt = Number(r.offered_at);
    const dueAt = Number(r.due_at);
    return {
      severity: "medium",
      caseId: r.case_id,
      participants,
      summary:
        `Participant ${provider} offered delivery ${r.sequence} of request ${r.request_id}` +
        (requester === null ? "" : ` to participant ${requester}`) +
        ` (case ${r.case_id}, offer ${r.offer_id}) at ${c.isoTime(offeredAt)}; it was due to be` +
        ` acknowledged by ${c.isoTime(dueAt)} and no co-signed delivery was recorded.`,
      details: {
        offerId: r.offer_id,
        requestId: r.request_id,
        sequence: Number(r.sequence),
        offeredAt,
        dueAt,
        secondsOverdue: now - dueAt,
      },
    };
  },
});
