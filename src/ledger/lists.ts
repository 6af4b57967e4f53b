import type { Sql } from "../db/db.js";
import { institutions, type CaseReport, type Institution } from "./queries.js";
import { StampedCache } from "./stamped-cache.js";

/** One line of the case list: what {@link caseReport} says about a case, without its custody. */
export interface CaseSummary {
  caseId: string;
  caseNumberCommitment: string;
  status: CaseReport["status"];
  /** The participant that opened the case. */
  opener: number;
  /** The participant that approved it, or null while pending. */
  approver: number | null;
  /** Unix seconds: the opening's expiry, or the last extension's. */
  expiresAt: number;
  openedAt: number;
  openedBlock: number;
  requests: number;
  grants: number;
  denials: number;
  deliveries: number;
}

/**
 * Cases in ascending id order, at most `limit`, after case `after` (a decimal id) when given:
 * keyset pagination, so a page never skips or repeats a case while the indexer adds more.
 */
export async function listCases(
  db: Sql,
  options: { after?: string; limit: number },
): Promise<readonly CaseSummary[]> {
  return listCache.get(db, `${options.after ?? ""}/${options.limit}`, () => readCases(db, options));
}

/** Pages of the case list recently read, per database: see stamped-cache.ts. */
const listCache = new StampedCache<CaseSummary[]>(64);

async function readCases(
  db: Sql,
  options: { after?: string; limit: number },
): Promise<CaseSummary[]> {
  const rows = await db.query<{
    case_id: string;
    commitment: string;
    opener: string | number;
    approver: string | number | null;
    closed: boolean;
    expires_at: string;
    opened_at: string | number;
    opened_block: string | number;
    requests: string | number;
    grants: string | number;
    denials: string | number;
    deliveries: string | number;
  }>(
    // The page's openings by the partial index events_case_opened (never all the cases), then
    // each case's events read once, by events_case: its counts, closure, latest approval and
    // latest extension in one pass.
    `WITH opened AS (
       SELECT case_id, actor, args, block_number, block_time
         FROM events
        WHERE event = 'CaseOpened' AND case_id IS NOT NULL
          AND ($1::numeric IS NULL OR case_id > $1::numeric)
        ORDER BY case_id
        LIMIT $2
     )
     SELECT o.case_id::text AS case_id, o.args->>'caseNumberCommitment' AS commitment,
            o.actor AS opener, o.block_time AS opened_at, o.block_number AS opened_block,
            k.approver, k.closed, coalesce(k.new_expiry, o.args->>'expiresAt') AS expires_at,
            k.requests, k.grants, k.denials, k.deliveries
       FROM opened o
       CROSS JOIN LATERAL (
         SELECT count(*) FILTER (WHERE e.event = 'AccessRequested') AS requests,
                count(*) FILTER (WHERE e.event = 'AccessGranted') AS grants,
                count(*) FILTER (WHERE e.event = 'AccessDenied') AS denials,
                count(*) FILTER (WHERE e.event = 'DeliveryAttested') AS deliveries,
                coalesce(bool_or(e.event = 'CaseClosed'), false) AS closed,
                (array_agg(e.actor ORDER BY e.block_number DESC, e.log_index DESC)
                   FILTER (WHERE e.event = 'CaseApproved'))[1] AS approver,
                (array_agg(e.args->>'newExpiry' ORDER BY e.block_number DESC, e.log_index DESC)
                   FILTER (WHERE e.event = 'CaseExtended'))[1] AS new_expiry
           FROM events e WHERE e.case_id = o.case_id
       ) k
      ORDER BY o.case_id`,
    [options.after ?? null, options.limit],
  );
  return rows.map((r) => ({
    caseId: r.case_id,
    caseNumberCommitment: r.commitment,
    status: r.closed ? "closed" : r.approver !== null ? "approved" : "pending",
    opener: Number(r.opener),
    approver: r.approver === null ? null : Number(r.approver),
    expiresAt: Number(r.expires_at),
    openedAt: Number(r.opened_at),
    openedBlock: Number(r.opened_block),
    requests: Number(r.requests),
    grants: Number(r.grants),
    denials: Number(r.denials),
    deliveries: Number(r.deliveries),
  }));
}

/** Every participant, in ascending id order. */
export async function listInstitutions(db: Sql): Promise<Institution[]> {
  return [...(await institutions(db)).values()].sort((a, b) => a.id - b.id);
}
