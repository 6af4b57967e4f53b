/** Every case that touched a subject commitment. */
import { isHexString } from "ethers";
import { InvalidInputError } from "../shared/errors.js";
import type { Sql } from "../db/db.js";

export interface SubjectCase {
  caseId: string;
  requests: number;
  providers: number[];
  requesters: number[];
  firstBlock: number;
  lastBlock: number;
  firstTime: number;
  lastTime: number;
}

/** Every case that touched a subject commitment. */
export async function subjectReport(
  db: Sql,
  commitment: string,
): Promise<{ subject: string; cases: SubjectCase[] }> {
  if (!isHexString(commitment, 32))
    throw new InvalidInputError(
      `not a subject commitment (0x + 64 hex digits): ${JSON.stringify(commitment)}`,
    );
  const subject = commitment.toLowerCase();
  const rows = await db.query<{
    case_id: string;
    requests: string;
    providers: (string | number)[];
    requesters: (string | number)[];
    first_block: string;
    last_block: string;
    first_time: string;
    last_time: string;
  }>(
    `SELECT case_id::text AS case_id, count(*)::text AS requests,
            array_agg(DISTINCT counterpart) AS providers, array_agg(DISTINCT actor) AS requesters,
            min(block_number)::text AS first_block, max(block_number)::text AS last_block,
            min(block_time)::text AS first_time, max(block_time)::text AS last_time
       FROM events WHERE event = 'AccessRequested' AND subject = $1
      GROUP BY case_id ORDER BY min(block_number)`,
    [subject],
  );
  return {
    subject,
    cases: rows.map((r) => ({
      caseId: r.case_id,
      requests: Number(r.requests),
      providers: r.providers.map(Number),
      requesters: r.requesters.map(Number),
      firstBlock: Number(r.first_block),
      lastBlock: Number(r.last_block),
      firstTime: Number(r.first_time),
      lastTime: Number(r.last_time),
    })),
  };
}
