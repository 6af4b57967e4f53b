/**
 * The routes over the consortium's ledger: cases and their custody, institutions, subjects, the
 * off-chain re-checks of deliveries and anchored entries, and the anomalies. Each answers from
 * the store alone; lists are paginated by keyset (pagination.ts).
 */
import { isAddress } from "ethers";
import { ANOMALY_RULES, detectAnomalies, type Anomaly } from "../../ledger/anomalies.js";
import { listCases, listInstitutions } from "../../ledger/lists.js";
import {
  caseReport,
  institutionReport,
  subjectReport,
  verifyDelivery,
  verifyEntry,
  type CustodyEntry,
  type Institution,
  type InstitutionCaseActivity,
} from "../../ledger/queries.js";
import { VeritraceError } from "../../shared/errors.js";
import { badRequest, httpErrorOf, notFound } from "../http.js";
import {
  compareDecimal,
  decodeCursor,
  encodeCursor,
  isDecimalId,
  isIndex,
  pageOf,
  type Order,
} from "../pagination.js";
import { route } from "../route.js";
import {
  AnomalyPage,
  CaseReport,
  CaseSummaryPage,
  DeliveryVerification,
  EntryProof,
  EntryVerification,
  InstitutionPage,
  InstitutionReport,
  SubjectReport,
  anomalyQuery,
  caseRef,
  commitmentParam,
  decimalParam,
  entryProofQuery,
  institutionRef,
  pagination,
} from "../wire.js";

/**
 * Runs a query for a route: its errors answered by their kind (an unknown case 404, a malformed
 * reference 400, …), errors of no kind as a request the query could not answer for its input
 * (400), as before.
 */
async function found<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof VeritraceError) throw httpErrorOf(error, "invalid-input");
    throw error;
  }
}

// ------------------------------------------------------------------ the orders of the pages

const compareNumbers = (a: readonly number[], b: readonly number[]): number => {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return a.length - b.length;
};

/** Custody entries are in chain order; a delivery's acknowledgement follows it at the same log. */
const CUSTODY_ORDER: Order<CustodyEntry, [number, number, number]> = {
  position: (e) => [e.blockNumber, e.logIndex, e.step === "acknowledgement" ? 1 : 0],
  compare: compareNumbers,
  read(p) {
    if (!Array.isArray(p) || p.length !== 3) return null;
    const [block, log, sub] = p as unknown[];
    return isIndex(block) && isIndex(log) && isIndex(sub) ? [block, log, sub] : null;
  },
};

const INSTITUTION_ORDER: Order<Institution, number> = {
  position: (i) => i.id,
  compare: (a, b) => a - b,
  read: (p) => (isIndex(p) ? p : null),
};

const ACTIVITY_ORDER: Order<InstitutionCaseActivity, [string, string]> = {
  position: (c) => [c.caseId, c.role],
  compare: (a, b) => compareDecimal(a[0], b[0]) || a[1].localeCompare(b[1]),
  read(p) {
    if (!Array.isArray(p) || p.length !== 2) return null;
    const [caseId, role] = p as unknown[];
    return isDecimalId(caseId) && typeof role === "string" && role.length <= 32
      ? [caseId, role]
      : null;
  },
};

/** The order {@link detectAnomalies} returns. */
const ANOMALY_ORDER: Order<Anomaly, [number, number, number, string, string]> = {
  position: (a) => [a.firstBlock, a.evidence[0]?.logIndex ?? 0, a.lastBlock, a.rule, a.summary],
  compare: (a, b) =>
    compareNumbers(a.slice(0, 3) as number[], b.slice(0, 3) as number[]) ||
    a[3].localeCompare(b[3]) ||
    a[4].localeCompare(b[4]),
  read(p) {
    if (!Array.isArray(p) || p.length !== 5) return null;
    const [first, log, last, rule, summary] = p as unknown[];
    return isIndex(first) &&
      isIndex(log) &&
      isIndex(last) &&
      typeof rule === "string" &&
      typeof summary === "string"
      ? [first, log, last, rule, summary]
      : null;
  },
};

/** The rules the anomaly detector runs; wire.ts lists their names for the document. */
export const RULE_NAMES: readonly string[] = ANOMALY_RULES.map((r) => r.rule);

// ---------------------------------------------------------------------------------- routes

export const casesRoute = route({ path: "/cases", public: false }).get({
  operationId: "listCases",
  summary: "Every case, in ascending id order",
  tags: ["cases"],
  query: pagination,
  response: CaseSummaryPage,
  responseDescription: "A page of cases.",
  errors: [400],
  async handle(ctx) {
    const { limit, cursor } = ctx.query;
    const after =
      cursor === undefined
        ? undefined
        : decodeCursor(cursor, "cases", (p) => (isDecimalId(p) ? p : null));
    const rows = await listCases(ctx.store.db, { after, limit: limit + 1 });
    const items = rows.slice(0, limit);
    const last = items[items.length - 1];
    return {
      items,
      nextCursor:
        rows.length > limit && last !== undefined ? encodeCursor("cases", last.caseId) : null,
    };
  },
});

export const caseRoute = route({
  path: "/cases/{caseIdOrCommitment}",
  params: { caseIdOrCommitment: caseRef },
  public: false,
  reads: { caseIdOrCommitment: "case" },
}).get({
  operationId: "getCase",
  summary: "A case and its chain of custody",
  description:
    "The custody lists every event of the case in chain order; a delivery appears twice " +
    "(the provider's `delivery` and the requester's `acknowledgement`); a matching session's " +
    "steps are `match-opening`, `match-response`, `match-completion` and `match-failure`; a freeze's " +
    "are `freeze-request`, `freeze-execution` (or `freeze-rejection`) and `freeze-acknowledgement`, " +
    "with list and result roots only, never accounts or amounts. A sealed delivery's `offer` and " +
    "`purge` (ExchangeLedger) are steps too, and `exchanges` gives each delivery's states " +
    "(offered, acknowledged, purged) with their times. Each " +
    "entry's `action` says the step in words. It is paginated with `limit` and `cursor`.",
  tags: ["cases"],
  query: pagination,
  response: CaseReport,
  responseDescription: "The case report.",
  errors: [400, 404, 409],
  async handle(ctx) {
    const { custody, ...report } = await found(() =>
      caseReport(ctx.store.db, ctx.params.caseIdOrCommitment),
    );
    return {
      ...report,
      custody: pageOf(custody, `custody:${report.caseId}`, CUSTODY_ORDER, ctx.query),
    };
  },
});

export const institutionsRoute = route({ path: "/institutions", public: false }).get({
  operationId: "listInstitutions",
  summary: "Every participant, in ascending id order",
  tags: ["institutions"],
  query: pagination,
  response: InstitutionPage,
  responseDescription: "A page of institutions.",
  errors: [400],
  async handle(ctx) {
    return pageOf(
      await listInstitutions(ctx.store.db),
      "institutions",
      INSTITUTION_ORDER,
      ctx.query,
    );
  },
});

export const institutionRoute = route({
  path: "/institutions/{idOrAddress}",
  params: { idOrAddress: institutionRef },
  public: false,
  reads: { idOrAddress: "institution" },
}).get({
  operationId: "getInstitution",
  summary: "What an institution requested and provided, per case",
  tags: ["institutions"],
  query: pagination,
  response: InstitutionReport,
  responseDescription: "The institution and a page of its case activity.",
  errors: [400, 404],
  async handle(ctx) {
    const ref = ctx.params.idOrAddress;
    if (ref.startsWith("0x") && !isAddress(ref))
      throw badRequest("idOrAddress: a participant id or a 20-byte address");
    const report = await found(() => institutionReport(ctx.store.db, ref));
    return {
      institution: report.institution,
      cases: pageOf(
        report.cases,
        `institution:${report.institution.id}`,
        ACTIVITY_ORDER,
        ctx.query,
      ),
    };
  },
});

export const subjectRoute = route({
  path: "/subjects/{commitment}",
  params: { commitment: commitmentParam },
  public: false,
  reads: { commitment: "subject" },
}).get({
  operationId: "getSubject",
  summary: "Every case that touched a subject commitment",
  description: "An unknown commitment answers 200 with no cases.",
  tags: ["cases"],
  response: SubjectReport,
  responseDescription: "The cases.",
  errors: [400],
  handle: (ctx) => subjectReport(ctx.store.db, ctx.params.commitment),
});

export const deliveryRoute = route({
  path: "/deliveries/{id}/verification",
  params: { id: decimalParam("a delivery id") },
  public: false,
  reads: { id: "delivery" },
}).get({
  operationId: "verifyDelivery",
  summary: "Re-check both EIP-712 signatures of a delivery off-chain",
  description:
    "Recovers each signer in the access ledger's domain and checks that it was a key of the " +
    "right institution at the delivery's block. A failed check is still a 200: read `valid`.",
  tags: ["verification"],
  response: DeliveryVerification,
  responseDescription: "The verification.",
  errors: [400, 404],
  async handle(ctx) {
    const { id } = ctx.params;
    const deployment = await ctx.store.deployment();
    if (deployment === null) throw notFound(`unknown delivery ${id}`);
    return found(() => verifyDelivery(ctx.store.db, deployment, id));
  },
});

export const anchorEntryRoute = route({
  path: "/anchors/{id}/entries/verify",
  params: { id: decimalParam("an anchor (batch) id") },
  public: false,
  reads: { id: "anchor" },
})
  .get({
    operationId: "verifyEntryByHash",
    summary: "Check an access-log entry's Merkle inclusion in an anchored batch",
    description: "A failed check is still a 200: read `included`.",
    tags: ["verification"],
    query: entryProofQuery,
    commaSeparated: ["proof"],
    response: EntryVerification,
    responseDescription: "The verification.",
    errors: [400, 404],
    handle: (ctx) => {
      const { index, entryHash, proof } = ctx.query;
      return found(() =>
        verifyEntry(ctx.store.db, ctx.params.id, { index, entryHash, proof: proof ?? [] }),
      );
    },
  })
  .post({
    operationId: "verifyEntry",
    summary: "Check an access-log entry's Merkle inclusion, the entry given in full",
    description:
      "The entry's canonical JSON (keys sorted at every level) is hashed with keccak256. " +
      "The body is limited in size (413 beyond). A failed check is still a 200.",
    tags: ["verification"],
    body: EntryProof,
    bodyDescription: "The entry (or its hash), its index in the batch and its proof.",
    response: EntryVerification,
    responseDescription: "The verification.",
    errors: [400, 404, 413, 415],
    // canonicalJson's refusals (InputError) are invalid input: 400, by their kind.
    handle: (ctx) =>
      found(() =>
        verifyEntry(ctx.store.db, ctx.params.id, { ...ctx.body, proof: ctx.body.proof ?? [] }),
      ),
  });

export const anomaliesRoute = route({ path: "/anomalies", public: false }).get({
  operationId: "listAnomalies",
  summary: "Anomalies found by every rule, by first block",
  tags: ["anomalies"],
  query: anomalyQuery,
  response: AnomalyPage,
  responseDescription: "A page of anomalies.",
  errors: [400],
  async handle(ctx) {
    const { rule } = ctx.query;
    const all = await detectAnomalies(ctx.store.db);
    const selected = (rule === undefined ? all : all.filter((a) => a.rule === rule)).sort((a, b) =>
      ANOMALY_ORDER.compare(ANOMALY_ORDER.position(a), ANOMALY_ORDER.position(b)),
    );
    return pageOf(selected, "anomalies", ANOMALY_ORDER, ctx.query);
  },
});
