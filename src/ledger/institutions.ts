/** The institutions, from the registry's events: who they are, and what each did per case. */
import { decodeBytes32String, getAddress, isAddress } from "ethers";
import { InvalidInputError, NotFoundError } from "../shared/errors.js";
import type { Sql } from "../db/db.js";
import { type EventDbRow } from "./rows.js";

/** A participant as the events describe it. */
export interface Institution {
  id: number;
  kind: string;
  status: "active" | "suspended" | "revoked";
  admittedAt: number;
  keys: InstitutionKey[];
}

/** One signing key of an institution, from the registry's events. */
export interface InstitutionKey {
  address: string;
  addedBlock: number;
  removedBlock: number | null;
  /**
   * The code hash the registry pinned (zero: a key without code); the latest, if the council
   * added the key again after its code changed. Null for a participant's first key, whose pin
   * ParticipantAdmitted does not carry (the registry's `signingKey(key)` has it).
   */
  codeHash: string | null;
  /** The block the council last pinned the key's code again (SigningKeyAdded for a bound key). */
  repinnedBlock: number | null;
}

function kindName(kind: unknown): string {
  try {
    return decodeBytes32String(String(kind));
  } catch {
    return String(kind);
  }
}

/** Every participant with its kind, status and keys, from the registry's events. */
export async function institutions(db: Sql): Promise<Map<number, Institution>> {
  const rows = await db.query<EventDbRow>(
    `SELECT block_number, log_index, tx_index, tx_hash, block_time, event, actor, counterpart, signer, request_id,
            case_id, args
       FROM events
      WHERE event IN ('ParticipantAdmitted', 'ParticipantStatusChanged', 'SigningKeyAdded', 'SigningKeyRemoved')
      ORDER BY block_number, log_index`,
  );
  const out = new Map<number, Institution>();
  for (const r of rows) {
    const id = Number(r.actor);
    const a = r.args;
    if (r.event === "ParticipantAdmitted") {
      out.set(id, {
        id,
        kind: kindName(a["kind"]),
        status: "active",
        admittedAt: Number(r.block_time),
        keys: [
          {
            address: String(a["signingKey"]),
            addedBlock: Number(r.block_number),
            removedBlock: null,
            codeHash: null,
            repinnedBlock: null,
          },
        ],
      });
      continue;
    }
    const p = out.get(id);
    if (p === undefined) continue;
    if (r.event === "ParticipantStatusChanged") {
      p.status = (["none", "active", "suspended", "revoked"][Number(a["current"])] ??
        "active") as Institution["status"];
    } else if (r.event === "SigningKeyAdded") {
      const codeHash = String(a["codeHash"]);
      const bound = p.keys.find((x) => x.address === String(a["key"]) && x.removedBlock === null);
      if (bound !== undefined) {
        // The same key again: its code changed and the council pinned the new code.
        bound.codeHash = codeHash;
        bound.repinnedBlock = Number(r.block_number);
        continue;
      }
      p.keys.push({
        address: String(a["key"]),
        addedBlock: Number(r.block_number),
        removedBlock: null,
        codeHash,
        repinnedBlock: null,
      });
    } else {
      const k = p.keys.find((x) => x.address === String(a["key"]) && x.removedBlock === null);
      if (k !== undefined) k.removedBlock = Number(r.block_number);
    }
  }
  return out;
}

/** Resolves an institution given by its participant id or by one of its signing addresses (current or past). */
export async function resolveInstitution(db: Sql, ref: string): Promise<Institution> {
  const all = await institutions(db);
  if (/^\d+$/.test(ref)) {
    const p = all.get(Number(ref));
    if (p === undefined) throw new NotFoundError(`unknown institution ${ref}`);
    return p;
  }
  if (isAddress(ref)) {
    const address = getAddress(ref).toLowerCase();
    for (const p of all.values()) if (p.keys.some((k) => k.address === address)) return p;
    throw new NotFoundError(`no institution has signing key ${ref}`);
  }
  throw new InvalidInputError(`not an institution id or address: ${JSON.stringify(ref)}`);
}

export interface InstitutionCaseActivity {
  caseId: string;
  role: "requester" | "provider" | "case party";
  requests: number;
  granted: number;
  denied: number;
  revoked: number;
  deliveries: number;
  records: string;
  firstBlock: number;
  lastBlock: number;
}

/** What an institution requested and provided, per case. */
export async function institutionReport(
  db: Sql,
  ref: string,
): Promise<{ institution: Institution; cases: InstitutionCaseActivity[] }> {
  const institution = await resolveInstitution(db, ref);
  const rows = await db.query<{
    case_id: string;
    role: string;
    requests: string;
    granted: string;
    denied: string;
    revoked: string;
    deliveries: string;
    records: string;
    first_block: string;
    last_block: string;
  }>(
    `WITH req AS (
       SELECT request_id, case_id, actor AS requester, counterpart AS provider
         FROM events WHERE event = 'AccessRequested'
     ), mine AS (
       SELECT CASE WHEN r.requester = $1 THEN 'requester' ELSE 'provider' END AS role, e.*
         FROM req r JOIN events e ON e.request_id = r.request_id
        WHERE (r.requester = $1 OR r.provider = $1)
          AND e.event IN ('AccessRequested', 'AccessGranted', 'AccessDenied', 'GrantRevoked', 'DeliveryAttested')
     )
     SELECT case_id::text AS case_id, role,
            count(*) FILTER (WHERE event = 'AccessRequested')::text AS requests,
            count(*) FILTER (WHERE event = 'AccessGranted')::text AS granted,
            count(*) FILTER (WHERE event = 'AccessDenied')::text AS denied,
            count(*) FILTER (WHERE event = 'GrantRevoked')::text AS revoked,
            count(*) FILTER (WHERE event = 'DeliveryAttested')::text AS deliveries,
            coalesce(sum((args->'delivery'->>'recordCount')::numeric) FILTER (WHERE event = 'DeliveryAttested'), 0)::text AS records,
            min(block_number)::text AS first_block, max(block_number)::text AS last_block
       FROM mine GROUP BY case_id, role
     UNION ALL
     SELECT case_id::text, 'case party', 0::text, 0::text, 0::text, 0::text, 0::text, 0::text,
            min(block_number)::text, max(block_number)::text
       FROM events
      WHERE actor = $1 AND event IN ('CaseOpened', 'CaseApproved', 'CaseClosed')
        AND case_id NOT IN (SELECT case_id FROM req WHERE requester = $1 OR provider = $1)
      GROUP BY case_id
     ORDER BY 1, 2`,
    [institution.id],
  );
  return {
    institution,
    cases: rows
      .map((r) => ({
        caseId: r.case_id,
        role: r.role as InstitutionCaseActivity["role"],
        requests: Number(r.requests),
        granted: Number(r.granted),
        denied: Number(r.denied),
        revoked: Number(r.revoked),
        deliveries: Number(r.deliveries),
        records: r.records,
        firstBlock: Number(r.first_block),
        lastBlock: Number(r.last_block),
      }))
      .sort((a, b) => Number(BigInt(a.caseId) - BigInt(b.caseId)) || a.role.localeCompare(b.role)),
  };
}
