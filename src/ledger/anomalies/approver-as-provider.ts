/** The anomaly rule approver-as-provider: docs/anomalies.md explains it. */
import * as c from "./common.js";

/**
 * approver-as-provider. The two-person rule separates who asks (police), who authorizes
 * (prosecutor) and who holds the data (provider). Flagged: a participant that approved a case (or
 * an extension of it) and also grants, denies, revokes or delivers as a provider in that case.
 */
export const rule = c.defineRule<{
  case_id: string;
  participant: string | number;
  actions: string | number;
}>({
  rule: "approver-as-provider",
  title: "the case's approver also acts as a provider in the case",
  thresholds: ["approverMinProviderActions"],
  sql: `WITH approvers AS (
       SELECT DISTINCT case_id, actor FROM events
        WHERE event IN ('CaseApproved', 'CaseExtended') AND case_id IS NOT NULL AND actor IS NOT NULL
     ), acting AS (
       SELECT a.case_id, a.actor, count(*) AS actions
         FROM approvers a
         JOIN events p ON p.case_id = a.case_id AND p.actor = a.actor
                      AND p.event IN ${c.PROVIDER_ACTIONS}
        GROUP BY a.case_id, a.actor
       HAVING count(*) >= $1::bigint
     )
     SELECT x.case_id::text AS case_id, x.actor AS participant, x.actions,
            (SELECT ${c.EVIDENCE} FROM events e
              WHERE e.case_id = x.case_id AND e.actor = x.actor
                AND (e.event IN ('CaseApproved', 'CaseExtended') OR e.event IN ${c.PROVIDER_ACTIONS})
            ) AS evidence
       FROM acting x`,
  params: (t) => [t.approverMinProviderActions],
  finding: (r) => {
    const participant = Number(r.participant);
    const actions = r.evidence
      .filter((e) => e.event !== "CaseApproved" && e.event !== "CaseExtended")
      .map((e) => e.event);
    const tally = [...new Set(actions)].map(
      (name) => `${name} ×${actions.filter((a) => a === name).length}`,
    );
    return {
      severity: "high",
      caseId: r.case_id,
      participants: [participant],
      summary:
        `Participant ${participant} approved case ${r.case_id} and also acted in it as a` +
        ` provider (${tally.join(", ")}), so one institution both authorized the case and` +
        ` answered its requests as a data holder.`,
      details: { participant, providerActions: Number(r.actions) },
    };
  },
});
