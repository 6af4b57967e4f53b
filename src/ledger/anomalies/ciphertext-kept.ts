/** The anomaly rule ciphertext-kept: docs/anomalies.md explains it. */
import * as c from "./common.js";

/**
 * ciphertext-kept. A provider keeps an offered ciphertext until the earliest of: its
 * acknowledgement plus the retention it recorded with the offer, the grant's revocation, the case's
 * closure; then it deletes it and records the purge (ExchangeLedger's DeliveryPurged). Flagged: an
 * offer whose purge is due (that time plus G seconds of grace, up to `now`) and was not recorded by
 * then. High while no purge is recorded at all (the ciphertext may still be served), medium when
 * it was recorded late. An offer never acknowledged, its grant running on, is unacknowledged-offer's.
 */
export const rule = c.defineRule<{
  offer_id: string;
  request_id: string;
  case_id: string;
  provider: string | number;
  requester: string | number | null;
  sequence: string;
  due_at: string | number;
  acknowledged_at: string | number | null;
  revoked_at: string | number | null;
  closed_at: string | number | null;
  purged_at: string | number | null;
}>({
  rule: "ciphertext-kept",
  title:
    "a ciphertext not purged after its retention, the grant's revocation or the case's closure",
  thresholds: ["purgeGraceSeconds"],
  usesClock: true,
  sql: `WITH offers AS (
       SELECT o.args->>'offerId' AS offer_id, o.request_id, o.case_id, o.actor AS provider,
              o.counterpart AS requester, o.args->>'sequence' AS sequence,
              (o.args->>'retentionSeconds')::bigint AS retention,
              (SELECT min(d.block_time) FROM events d
                WHERE d.event = 'DeliveryAttested' AND d.request_id = o.request_id
                  AND d.args->'delivery'->>'sequence' = o.args->>'sequence'
                  AND d.block_time >= o.block_time AND d.block_time <= $2::bigint) AS acknowledged_at,
              (SELECT min(v.block_time) FROM events v
                WHERE v.event = 'GrantRevoked' AND v.request_id = o.request_id
                  AND v.block_time <= $2::bigint) AS revoked_at,
              (SELECT min(x.block_time) FROM events x
                WHERE x.event = 'CaseClosed' AND x.case_id = o.case_id
                  AND x.block_time <= $2::bigint) AS closed_at,
              (SELECT min(p.block_time) FROM events p
                WHERE p.event = 'DeliveryPurged' AND p.request_id = o.request_id
                  AND p.args->>'offerId' = o.args->>'offerId'
                  AND p.block_time <= $2::bigint) AS purged_at
         FROM events o
        WHERE o.event = 'DeliveryOffered' AND o.block_time <= $2::bigint
     ), due AS (
       SELECT u.*, LEAST(u.acknowledged_at + u.retention, u.revoked_at, u.closed_at) AS due_at
         FROM offers u
     )
     SELECT u.offer_id, u.request_id::text AS request_id, u.case_id::text AS case_id, u.provider,
            u.requester, u.sequence, u.due_at, u.acknowledged_at, u.revoked_at, u.closed_at,
            u.purged_at,
            (SELECT ${c.EVIDENCE} FROM events e
              WHERE e.request_id = u.request_id AND e.block_time <= $2::bigint
                AND (e.event = 'GrantRevoked'
                     OR (e.event = 'DeliveryAttested'
                         AND e.args->'delivery'->>'sequence' = u.sequence)
                     OR (e.event IN ('DeliveryOffered', 'DeliveryPurged')
                         AND e.args->>'offerId' = u.offer_id))) AS evidence
       FROM due u
      WHERE u.due_at IS NOT NULL AND u.due_at + $1::bigint <= $2::bigint
        AND (u.purged_at IS NULL OR u.purged_at > u.due_at + $1::bigint)`,
  params: (t, now) => [t.purgeGraceSeconds, now],
  finding: (r, t, now) => {
    const { provider, requester, participants } = c.grantParties(r);
    const dueAt = Number(r.due_at);
    const purgedAt = r.purged_at === null ? null : Number(r.purged_at);
    const cause =
      r.revoked_at !== null && Number(r.revoked_at) === dueAt
        ? "the grant was revoked"
        : r.closed_at !== null && Number(r.closed_at) === dueAt
          ? "the case was closed"
          : "its retention after the acknowledgement ran out";
    return {
      severity: purgedAt === null ? "high" : "medium",
      caseId: r.case_id,
      participants,
      summary:
        `Participant ${provider} was to purge the ciphertext of delivery ${r.sequence} of request` +
        ` ${r.request_id}` +
        (requester === null ? "" : ` to participant ${requester}`) +
        ` (case ${r.case_id}, offer ${r.offer_id}) by ${c.isoTime(dueAt)}, when ${cause}` +
        (t.purgeGraceSeconds === 0 ? "" : `, plus ${c.duration(t.purgeGraceSeconds)} of grace`) +
        (purgedAt === null
          ? `; no purge is recorded ${c.duration(now - dueAt)} later.`
          : `; its purge was recorded only at ${c.isoTime(purgedAt)}.`),
      details: {
        offerId: r.offer_id,
        requestId: r.request_id,
        sequence: Number(r.sequence),
        dueAt,
        ...(purgedAt === null ? { secondsKept: now - dueAt } : { purgedAt }),
      },
    };
  },
});
