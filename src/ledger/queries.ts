import { decodeBytes32String, getAddress, isAddress, isHexString } from "ethers";
import { canonicalJson, entryHash as hashEntry, verifyLogEntry } from "../client/anchoring.js";
import type { DeploymentRecord } from "../client/deployment.js";
import { accessLedgerDomain, recoverSigner, type Delivery } from "../client/eip712.js";
import { DATA_KIND_NAMES, kindsOf } from "../client/kinds.js";
import { MATCH_FAILURE_NAMES, MATCH_MODES } from "../client/matching.js";
import { ConflictError, InvalidInputError, NotFoundError } from "../shared/errors.js";
import { StampedCache } from "./stamped-cache.js";
import type { Sql } from "../db/db.js";

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

/** One step of a chain of custody. */
export interface CustodyEntry {
  blockNumber: number;
  txIndex: number;
  logIndex: number;
  time: number;
  txHash: string;
  /**
   * opening, approval, extension-request, extension, request, withdrawal, grant, denial,
   * delivery, acknowledgement, revocation, anchor, match-opening, match-response,
   * match-completion, match-failure, freeze-request, freeze-execution, freeze-rejection,
   * freeze-acknowledgement, closure
   */
  step: string;
  /** The step in words, e.g. "match session 2 completed: 7 matches". */
  action: string;
  event: string;
  /** The acting institution. */
  institution: number | null;
  institutionKind: string | null;
  /** The address that signed (sent the transaction, or signed the typed data). */
  signer: string | null;
  requestId: string | null;
  details: Record<string, unknown>;
}

export interface CaseReport {
  caseId: string;
  caseNumberCommitment: string;
  legalBasisCommitment: string;
  status: "pending" | "approved" | "closed";
  expiresAt: number;
  scope: string[];
  opener: number;
  approver: number | null;
  counts: Record<string, number>;
  custody: CustodyEntry[];
}

interface EventDbRow {
  block_number: string | number;
  log_index: number;
  tx_index: number;
  tx_hash: string;
  block_time: string | number;
  event: string;
  actor: string | number | null;
  counterpart: string | number | null;
  signer: string | null;
  request_id: string | null;
  case_id: string | null;
  args: Record<string, unknown>;
}

const n = (v: string | number | null | undefined): number | null =>
  v === null || v === undefined ? null : Number(v);

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

/** Resolves a case given by its id or by its case number commitment (0x + 64 hex digits). */
export async function resolveCase(db: Sql, ref: string): Promise<string> {
  if (/^\d+$/.test(ref)) {
    const rows = await db.query<{ case_id: string }>(
      "SELECT case_id::text AS case_id FROM events WHERE event = 'CaseOpened' AND case_id = $1::numeric",
      [ref],
    );
    if (rows[0] === undefined) throw new NotFoundError(`unknown case ${ref}`);
    return rows[0].case_id;
  }
  if (isHexString(ref, 32)) {
    const rows = await db.query<{ case_id: string }>(
      "SELECT case_id::text AS case_id FROM events WHERE event = 'CaseOpened' AND args->>'caseNumberCommitment' = $1 ORDER BY case_id",
      [ref.toLowerCase()],
    );
    if (rows[0] === undefined)
      throw new NotFoundError(`no case with case number commitment ${ref}`);
    // Commitments are unique per opener only: two openers may have used the same one.
    if (rows.length > 1)
      throw new ConflictError(
        `case number commitment ${ref} names cases ${rows.map((r) => r.case_id).join(", ")} (of different openers): give the case id`,
      );
    return rows[0].case_id;
  }
  throw new InvalidInputError(`not a case id or case number commitment: ${JSON.stringify(ref)}`);
}

const STEPS: Record<string, string> = {
  CaseOpened: "opening",
  CaseApproved: "approval",
  CaseExtensionRequested: "extension-request",
  CaseExtended: "extension",
  AccessRequested: "request",
  AccessRequestWithdrawn: "withdrawal",
  AccessGranted: "grant",
  AccessDenied: "denial",
  DeliveryAttested: "delivery",
  GrantRevoked: "revocation",
  LogAnchored: "anchor",
  MatchSessionOpened: "match-opening",
  MatchResponseRecorded: "match-response",
  MatchCompleted: "match-completion",
  MatchFailed: "match-failure",
  FreezeRequested: "freeze-request",
  FreezeExecuted: "freeze-execution",
  FreezeRejected: "freeze-rejection",
  FreezeAcknowledged: "freeze-acknowledgement",
  CaseClosed: "closure",
};

/** A matching session's mode by its numeric value in the event ("psi", "cardinality"). */
const modeName = (v: unknown): string => MATCH_MODES[Number(v)] ?? `mode ${String(v)}`;

const plural = (n: string, one: string, many = `${one}s`): string =>
  `${n} ${n === "1" ? one : many}`;

const isoTime = (seconds: number): string =>
  new Date(seconds * 1000).toISOString().replace(".000Z", "Z");

/** A custody step in words, from its event and the details shown for it. */
function actionOf(event: string, d: Record<string, unknown>): string {
  const id = String(d["sessionId"]);
  switch (event) {
    case "CaseOpened":
      return `case opened, scope ${(d["scope"] as string[]).join(", ")}`;
    case "CaseApproved":
      return `case approved until ${isoTime(Number(d["expiresAt"]))}`;
    case "CaseExtensionRequested":
      return d["replacedExpiry"] === undefined
        ? `extension to ${isoTime(Number(d["newExpiry"]))} requested`
        : `extension to ${isoTime(Number(d["newExpiry"]))} requested, replacing the request for ${isoTime(Number(d["replacedExpiry"]))}`;
    case "CaseExtended":
      return `case extended to ${isoTime(Number(d["newExpiry"]))}`;
    case "AccessRequested":
      return `request to institution ${String(d["provider"])} (${String(d["dataKind"])})`;
    case "AccessRequestWithdrawn":
      return `request to institution ${String(d["provider"])} withdrawn`;
    case "AccessGranted":
      return `granted until ${isoTime(Number(d["expiresAt"]))}, ${plural(String(d["maxRecords"]), "record")} at most`;
    case "AccessDenied":
      return `denied (reason ${String(d["reasonCode"])})`;
    case "GrantRevoked":
      return `grant revoked (reason ${String(d["reasonCode"])})`;
    case "LogAnchored":
      return `${plural(String(d["entryCount"]), "access-log entry", "access-log entries")} anchored`;
    case "CaseClosed":
      return `case closed (reason ${String(d["reasonCode"])})`;
    case "MatchSessionOpened":
      return `match session ${id} opened (${String(d["mode"])}, ${plural(String(d["setSize"]), "identifier")})`;
    case "MatchResponseRecorded":
      return `match session ${id}: response committed (${plural(String(d["providerSetSize"]), "provider element")})`;
    case "MatchCompleted":
      return d["mode"] === "cardinality"
        ? `match session ${id} completed: cardinality ${String(d["cardinality"])}`
        : `match session ${id} completed: ${plural(String(d["cardinality"]), "match", "matches")}`;
    case "MatchFailed":
      return `match session ${id} failed: ${String(d["reason"])}`;
    case "FreezeRequested":
      return `freeze ${String(d["freezeId"])} asked of institution ${String(d["exchange"])} (${plural(String(d["itemCount"]), "account")}, list committed)`;
    case "FreezeExecuted":
      return `freeze ${String(d["freezeId"])} executed (result committed)`;
    case "FreezeRejected":
      return `freeze ${String(d["freezeId"])} rejected (reason ${String(d["reasonCode"])})`;
    case "FreezeAcknowledged":
      return `freeze ${String(d["freezeId"])} result acknowledged`;
    default:
      return event;
  }
}

function details(event: string, a: Record<string, unknown>): Record<string, unknown> {
  switch (event) {
    case "CaseOpened":
      return {
        caseNumberCommitment: a["caseNumberCommitment"],
        legalBasisCommitment: a["legalBasisCommitment"],
        scope: kindsOf(BigInt(String(a["scope"]))).map((k) => DATA_KIND_NAMES[k] ?? `kind ${k}`),
        expiresAt: Number(a["expiresAt"]),
      };
    case "CaseApproved":
      return { expiresAt: Number(a["expiresAt"]) };
    case "CaseExtensionRequested":
      // A request that replaced a pending one names it; the first request of a round replaces none.
      return Number(a["replacedExpiry"] ?? 0) === 0
        ? { newExpiry: Number(a["newExpiry"]) }
        : { newExpiry: Number(a["newExpiry"]), replacedExpiry: Number(a["replacedExpiry"]) };
    case "AccessRequestWithdrawn":
      return { provider: Number(a["provider"]) };
    case "CaseExtended":
      return { previousExpiry: Number(a["previousExpiry"]), newExpiry: Number(a["newExpiry"]) };
    case "AccessRequested":
      return {
        provider: Number(a["provider"]),
        datasetId: a["datasetId"],
        dataKind: DATA_KIND_NAMES[Number(a["dataKind"])] ?? `kind ${String(a["dataKind"])}`,
        subjectCommitment: a["subjectCommitment"],
        purposeCode: Number(a["purposeCode"]),
      };
    case "AccessGranted":
      return { expiresAt: Number(a["expiresAt"]), maxRecords: a["maxRecords"] };
    case "AccessDenied":
    case "GrantRevoked":
    case "CaseClosed":
      return { reasonCode: Number(a["reasonCode"]) };
    case "LogAnchored":
      return {
        anchorId: a["anchorId"],
        firstSequence: a["firstSequence"],
        entryCount: Number(a["entryCount"]),
        root: a["root"],
      };
    case "MatchSessionOpened":
      return {
        sessionId: a["sessionId"],
        provider: Number(a["providerId"]),
        mode: modeName(a["mode"]),
        tag: a["tag"],
        requestDigest: a["requestDigest"],
        setSize: a["setSize"],
      };
    case "MatchResponseRecorded":
      return {
        sessionId: a["sessionId"],
        responseDigest: a["responseDigest"],
        providerSetSize: a["providerSetSize"],
        signature: (a["provider"] as Record<string, unknown> | undefined)?.["signature"],
        submitter: a["submitter"],
      };
    case "MatchCompleted":
      return {
        sessionId: a["sessionId"],
        resultCommitment: a["resultCommitment"],
        cardinality: a["cardinality"],
        provider: Number(a["providerId"]),
        providerSigner: (a["provider"] as Record<string, unknown> | undefined)?.["signer"],
        submitter: a["submitter"],
      };
    case "FreezeRequested":
      return {
        freezeId: a["freezeId"],
        exchange: Number(a["exchange"]),
        itemCount: Number(a["itemCount"]),
        listRoot: a["listRoot"],
        traceCommitment: a["traceCommitment"],
      };
    case "FreezeExecuted":
      return {
        freezeId: a["freezeId"],
        listRoot: a["listRoot"],
        resultRoot: a["resultRoot"],
        evidenceCommitment: a["evidenceCommitment"],
      };
    case "FreezeRejected":
      return { freezeId: a["freezeId"], reasonCode: Number(a["reasonCode"]) };
    case "FreezeAcknowledged":
      return { freezeId: a["freezeId"], resultRoot: a["resultRoot"] };
    case "MatchFailed":
      return {
        sessionId: a["sessionId"],
        reasonCode: Number(a["reasonCode"]),
        reason: MATCH_FAILURE_NAMES[Number(a["reasonCode"])] ?? `reason ${String(a["reasonCode"])}`,
      };
    default:
      return {};
  }
}

/** The chain of custody of a case: every event, in chain order, with the acting institution and signer. */
export async function caseReport(db: Sql, ref: string): Promise<CaseReport> {
  // Kept by the reference as given: the case it names is resolved under the same stamp.
  return reportCache.get(db, ref, async () => buildCaseReport(db, await resolveCase(db, ref)));
}

/** Case reports recently built, per database (the API server's store): see stamped-cache.ts. */
const reportCache = new StampedCache<CaseReport>(16);

async function buildCaseReport(db: Sql, caseId: string): Promise<CaseReport> {
  const rows = await db.query<EventDbRow>(
    `SELECT block_number, log_index, tx_index, tx_hash, block_time, event, actor, counterpart, signer,
            request_id::text AS request_id, case_id::text AS case_id, args
       FROM events WHERE case_id = $1::numeric
      ORDER BY block_number, tx_index, log_index`,
    [caseId],
  );
  const who = await institutions(db);
  const kindOf = (id: number | null) => (id === null ? null : (who.get(id)?.kind ?? null));
  const custody: CustodyEntry[] = [];
  let opened: Record<string, unknown> = {};
  let opener = 0;
  let approver: number | null = null;
  let status: CaseReport["status"] = "pending";
  let expiresAt = 0;
  const counts: Record<string, number> = {};
  /** Session modes, from their openings (a completion's event does not repeat it). */
  const modes = new Map<string, string>();
  for (const r of rows) {
    const a = r.args;
    const base = {
      blockNumber: Number(r.block_number),
      txIndex: r.tx_index,
      logIndex: r.log_index,
      time: Number(r.block_time),
      txHash: r.tx_hash,
      event: r.event,
      requestId: r.request_id,
    };
    const step = STEPS[r.event] ?? r.event;
    counts[step] = (counts[step] ?? 0) + 1;
    if (r.event === "CaseOpened") {
      opened = a;
      opener = Number(r.actor);
      expiresAt = Number(a["expiresAt"]);
    } else if (r.event === "CaseApproved") {
      approver = Number(r.actor);
      status = "approved";
    } else if (r.event === "CaseExtended") {
      expiresAt = Number(a["newExpiry"]);
    } else if (r.event === "CaseClosed") {
      status = "closed";
    }
    if (r.event === "DeliveryAttested") {
      const d = a["delivery"] as Record<string, unknown>;
      const p = a["provider"] as Record<string, unknown>;
      const q = a["requester"] as Record<string, unknown>;
      const common = {
        deliveryId: a["deliveryId"],
        sequence: Number(d["sequence"]),
        payloadHash: d["payloadHash"],
        recordCount: d["recordCount"],
        submitter: a["submitter"],
      };
      custody.push({
        ...base,
        step: "delivery",
        action: `delivery ${String(a["deliveryId"])}: ${plural(String(d["recordCount"]), "record")}`,
        institution: n(r.actor),
        institutionKind: kindOf(n(r.actor)),
        signer: String(p["signer"]),
        details: { ...common, signature: p["signature"] },
      });
      custody.push({
        ...base,
        step: "acknowledgement",
        action: `delivery ${String(a["deliveryId"])} acknowledged`,
        institution: n(r.counterpart),
        institutionKind: kindOf(n(r.counterpart)),
        signer: String(q["signer"]),
        details: { ...common, signature: q["signature"] },
      });
      counts["acknowledgement"] = (counts["acknowledgement"] ?? 0) + 1;
      continue;
    }
    const shown = details(r.event, a);
    // The key that signed: for a match response the provider's, for a result the requester's
    // (the provider's is in the details); the transaction's sender otherwise.
    let signer = r.signer;
    if (r.event === "MatchSessionOpened") modes.set(String(a["sessionId"]), String(shown["mode"]));
    if (r.event === "MatchCompleted") shown["mode"] = modes.get(String(a["sessionId"])) ?? null;
    if (r.event === "MatchResponseRecorded" || r.event === "MatchCompleted") {
      const party = a[r.event === "MatchCompleted" ? "requester" : "provider"];
      signer = String((party as Record<string, unknown>)["signer"]);
    }
    custody.push({
      ...base,
      step,
      action: actionOf(r.event, shown),
      institution: n(r.actor),
      institutionKind: kindOf(n(r.actor)),
      signer,
      details: shown,
    });
  }
  return {
    caseId,
    caseNumberCommitment: String(opened["caseNumberCommitment"]),
    legalBasisCommitment: String(opened["legalBasisCommitment"]),
    status,
    expiresAt,
    scope: kindsOf(BigInt(String(opened["scope"] ?? "0"))).map(
      (k) => DATA_KIND_NAMES[k] ?? `kind ${k}`,
    ),
    opener,
    approver,
    counts,
    custody,
  };
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

export interface DeliveryVerification {
  deliveryId: string;
  requestId: string;
  caseId: string;
  blockNumber: number;
  txHash: string;
  delivery: {
    requestId: string;
    sequence: number;
    payloadHash: string;
    recordCount: string;
    deadline: string;
  };
  provider: {
    institution: number;
    signer: string;
    recovered: string | null;
    signerIsKeyOfInstitution: boolean;
    valid: boolean;
  };
  requester: {
    institution: number;
    signer: string;
    recovered: string | null;
    signerIsKeyOfInstitution: boolean;
    valid: boolean;
  };
  valid: boolean;
}

/**
 * Re-checks both EIP-712 signatures of a stored delivery off-chain, in the access ledger's
 * domain, and that each signer was a key of the right institution at that block. Contract
 * (ERC-1271) signers can't be re-checked off-chain: `recovered` is null and `valid` false.
 */
export async function verifyDelivery(
  db: Sql,
  deployment: DeploymentRecord,
  deliveryId: string,
): Promise<DeliveryVerification> {
  if (!/^\d+$/.test(deliveryId))
    throw new InvalidInputError(`not a delivery id: ${JSON.stringify(deliveryId)}`);
  const rows = await db.query<EventDbRow>(
    `SELECT block_number, log_index, tx_index, tx_hash, block_time, event, actor, counterpart, signer,
            request_id::text AS request_id, case_id::text AS case_id, args
       FROM events WHERE event = 'DeliveryAttested' AND delivery_id = $1::numeric`,
    [deliveryId],
  );
  const r = rows[0];
  if (r === undefined) throw new NotFoundError(`unknown delivery ${deliveryId}`);
  const a = r.args;
  const d = a["delivery"] as Record<string, string>;
  const delivery: Delivery = {
    requestId: BigInt(d["requestId"] ?? "0"),
    sequence: Number(d["sequence"]),
    payloadHash: String(d["payloadHash"]),
    recordCount: BigInt(d["recordCount"] ?? "0"),
    deadline: BigInt(d["deadline"] ?? "0"),
  };
  const domain = accessLedgerDomain(deployment.chainId, deployment.contracts.AccessLedger);
  const who = await institutions(db);
  const block = Number(r.block_number);
  const check = (role: "provider" | "requester", institution: number) => {
    const sig = a[role] as Record<string, string>;
    const signer = String(sig["signer"]).toLowerCase();
    const recovered =
      recoverSigner(role, domain, delivery, String(sig["signature"]))?.toLowerCase() ?? null;
    const keys = who.get(institution)?.keys ?? [];
    const signerIsKeyOfInstitution = keys.some(
      (k) =>
        k.address === signer &&
        k.addedBlock <= block &&
        (k.removedBlock === null || k.removedBlock > block),
    );
    return {
      institution,
      signer,
      recovered,
      signerIsKeyOfInstitution,
      valid: recovered === signer && signerIsKeyOfInstitution,
    };
  };
  const provider = check("provider", Number(r.actor));
  const requester = check("requester", Number(r.counterpart));
  return {
    deliveryId,
    requestId: String(r.request_id),
    caseId: String(r.case_id),
    blockNumber: block,
    txHash: r.tx_hash,
    delivery: {
      requestId: delivery.requestId.toString(),
      sequence: delivery.sequence,
      payloadHash: delivery.payloadHash,
      recordCount: delivery.recordCount.toString(),
      deadline: delivery.deadline.toString(),
    },
    provider,
    requester,
    valid: provider.valid && requester.valid,
  };
}

/** An off-chain access-log entry with its inclusion proof, as `veritrace verify entry --entry FILE` reads it. */
export interface EntryProofFile {
  /** The entry's index in its batch. */
  index: number;
  /** The entry itself (its canonical JSON is hashed), or… */
  entry?: unknown;
  /** …its hash, when the entry can't be shown. */
  entryHash?: string;
  proof: string[];
}

export interface EntryVerification {
  anchorId: string;
  caseId: string;
  participant: number;
  root: string;
  entryCount: number;
  index: number;
  entryHash: string;
  included: boolean;
  blockNumber: number;
  txHash: string;
}

/** Checks an entry's Merkle inclusion in an anchored batch (root read from the store). */
export async function verifyEntry(
  db: Sql,
  anchorId: string,
  file: EntryProofFile,
): Promise<EntryVerification> {
  if (!/^\d+$/.test(anchorId))
    throw new InvalidInputError(`not an anchor id: ${JSON.stringify(anchorId)}`);
  if (!Number.isSafeInteger(file.index) || file.index < 0)
    throw new InvalidInputError("entry file: index must be a non-negative integer");
  if (!Array.isArray(file.proof) || !file.proof.every((p) => isHexString(p, 32))) {
    throw new InvalidInputError("entry file: proof must be an array of 32-byte hex strings");
  }
  let hash: string;
  if (file.entry !== undefined) {
    canonicalJson(file.entry);
    hash = hashEntry(file.entry);
  } else if (file.entryHash !== undefined && isHexString(file.entryHash, 32)) {
    hash = file.entryHash.toLowerCase();
  } else {
    throw new InvalidInputError("entry file: needs an entry or a 32-byte entryHash");
  }
  const rows = await db.query<EventDbRow>(
    `SELECT block_number, log_index, tx_index, tx_hash, block_time, event, actor, counterpart, signer,
            request_id::text AS request_id, case_id::text AS case_id, args
       FROM events WHERE event = 'LogAnchored' AND anchor_id = $1::numeric`,
    [anchorId],
  );
  const r = rows[0];
  if (r === undefined) throw new NotFoundError(`unknown anchor ${anchorId}`);
  const root = String(r.args["root"]);
  const entryCount = Number(r.args["entryCount"]);
  const included =
    file.index < entryCount && verifyLogEntry(root, BigInt(file.index), hash, file.proof);
  return {
    anchorId,
    caseId: String(r.case_id),
    participant: Number(r.actor),
    root,
    entryCount,
    index: file.index,
    entryHash: hash,
    included,
    blockNumber: Number(r.block_number),
    txHash: r.tx_hash,
  };
}
