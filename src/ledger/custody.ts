/** A case's chain of custody: every event of the case, in chain order, in words. */
import { isHexString } from "ethers";
import { DATA_KIND_NAMES, kindsOf } from "../client/kinds.js";
import { MATCH_FAILURE_NAMES, MATCH_MODES } from "../client/matching.js";
import { PURGE_REASONS } from "../client/exchange-ledger.js";
import { ConflictError, InvalidInputError, NotFoundError } from "../shared/errors.js";
import { StampedCache } from "./stamped-cache.js";
import type { Sql } from "../db/db.js";
import { n, type EventDbRow } from "./rows.js";
import { institutions } from "./institutions.js";

/** One step of a chain of custody. */
export interface CustodyEntry {
  blockNumber: number;
  txIndex: number;
  logIndex: number;
  time: number;
  txHash: string;
  /** What the event is in the case's custody (a delivery also makes an "acknowledgement"). */
  step: CustodyStep;
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

/**
 * What became of one delivery of a request (a request and a sequence): the provider's offer of
 * the sealed ciphertext (ExchangeLedger), the co-signed acknowledgement (AccessLedger's delivery)
 * and the purge of the ciphertext. A delivery made outside the exchange has no offer. Fetches are
 * not on the chain: they are in the provider's access log.
 */
export interface ExchangeState {
  requestId: string;
  sequence: number;
  provider: number | null;
  requester: number | null;
  /** The furthest step reached: purged, else acknowledged, else offered. */
  state: "offered" | "acknowledged" | "purged";
  /** The latest offer's id (null: never offered). */
  offerId: string | null;
  offered: {
    time: number;
    txHash: string;
    ciphertextHash: string;
    ciphertextBytes: string;
    recipientKeyId: string;
    retentionSeconds: number;
  } | null;
  acknowledged: { time: number; txHash: string; deliveryId: string } | null;
  purged: { time: number; txHash: string; reason: string } | null;
  /** Earlier offers of the same delivery, purged to be re-sealed, oldest first. */
  supersededOffers: string[];
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
  /** Each delivery's exchange states, by request and sequence. */
  exchanges: ExchangeState[];
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

const STEPS = {
  CaseOpened: "opening",
  CaseApproved: "approval",
  CaseExtensionRequested: "extension-request",
  CaseExtended: "extension",
  AccessRequested: "request",
  AccessRequestWithdrawn: "withdrawal",
  AccessGranted: "grant",
  AccessDenied: "denial",
  DeliveryOffered: "offer",
  DeliveryAttested: "delivery",
  DeliveryPurged: "purge",
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
} as const;

/** The steps of a chain of custody: one per event of a case, and a delivery's acknowledgement. */
export type CustodyStep = (typeof STEPS)[keyof typeof STEPS] | "acknowledgement";

/** Every step a chain of custody can show. */
export const CUSTODY_STEP_NAMES: readonly CustodyStep[] = [
  ...Object.values(STEPS),
  "acknowledgement",
];

/** The step of an event of a case; an event the table lacks is refused, never shown raw. */
function stepOf(event: string): CustodyStep {
  const step = (STEPS as Readonly<Record<string, CustodyStep>>)[event];
  if (step === undefined) throw new Error(`custody: no step for the event ${event}`);
  return step;
}

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
    case "DeliveryOffered":
      return `offer ${String(d["offerId"])} of delivery ${String(d["sequence"])}: ${plural(String(d["ciphertextBytes"]), "byte")} sealed to key ${String(d["recipientKeyId"])}`;
    case "DeliveryPurged":
      return `offer ${String(d["offerId"])} of delivery ${String(d["sequence"])} purged (${String(d["reason"])})`;
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

/** A purge reason by its number in the event ("retention", … "superseded"). */
const purgeReasonName = (v: unknown): string => PURGE_REASONS[Number(v)] ?? `reason ${String(v)}`;

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
    case "DeliveryOffered":
      return {
        offerId: a["offerId"],
        sequence: Number(a["sequence"]),
        requester: Number(a["requester"]),
        payloadHash: a["payloadHash"],
        ciphertextHash: a["ciphertextHash"],
        ciphertextBytes: a["ciphertextBytes"],
        recipientKeyId: a["recipientKeyId"],
        retentionSeconds: Number(a["retentionSeconds"]),
      };
    case "DeliveryPurged":
      return {
        offerId: a["offerId"],
        sequence: Number(a["sequence"]),
        reason: purgeReasonName(a["reason"]),
      };
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
  const exchanges = new Map<string, ExchangeState>();
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
    const step = stepOf(r.event);
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
    if (r.event === "DeliveryOffered" || r.event === "DeliveryPurged") {
      trackExchange(exchanges, r);
    }
    if (r.event === "DeliveryAttested") {
      trackExchange(exchanges, r);
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
    exchanges: [...exchanges.values()].sort(
      (x, y) => compareIds(x.requestId, y.requestId) || x.sequence - y.sequence,
    ),
  };
}

const compareIds = (a: string, b: string): number => {
  const d = BigInt(a) - BigInt(b);
  return d < 0n ? -1 : d > 0n ? 1 : 0;
};

/** Folds an offer, an acknowledgement (a co-signed delivery) or a purge into its delivery's state. */
function trackExchange(exchanges: Map<string, ExchangeState>, r: EventDbRow): void {
  const a = r.args;
  const sequence = Number(
    r.event === "DeliveryAttested"
      ? (a["delivery"] as Record<string, unknown>)["sequence"]
      : a["sequence"],
  );
  const requestId = String(r.request_id);
  const key = `${requestId}:${sequence}`;
  let x = exchanges.get(key);
  if (x === undefined) {
    x = {
      requestId,
      sequence,
      provider: n(r.actor),
      requester: n(r.counterpart),
      state: "offered",
      offerId: null,
      offered: null,
      acknowledged: null,
      purged: null,
      supersededOffers: [],
    };
    exchanges.set(key, x);
  }
  const at = { time: Number(r.block_time), txHash: r.tx_hash };
  if (r.event === "DeliveryOffered") {
    // A new offer of the same delivery follows the purge of the one it supersedes.
    if (x.offerId !== null) x.supersededOffers.push(x.offerId);
    x.offerId = String(a["offerId"]);
    x.offered = {
      ...at,
      ciphertextHash: String(a["ciphertextHash"]),
      ciphertextBytes: String(a["ciphertextBytes"]),
      recipientKeyId: String(a["recipientKeyId"]),
      retentionSeconds: Number(a["retentionSeconds"]),
    };
    x.purged = null;
  } else if (r.event === "DeliveryAttested") {
    x.acknowledged = { ...at, deliveryId: String(a["deliveryId"]) };
  } else if (String(a["offerId"]) === x.offerId) {
    x.purged = { ...at, reason: purgeReasonName(a["reason"]) };
  }
  x.state = x.purged !== null ? "purged" : x.acknowledged !== null ? "acknowledged" : "offered";
}
