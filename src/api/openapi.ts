/**
 * The API's OpenAPI 3.1 document, served at `GET /openapi.json`. Written out as a typed object so
 * that the compiler checks its shape; the tests check that it names every route the server answers.
 */

import { dashboardPaths, dashboardSchemas, dashboardTags } from "./openapi-dashboard.js";
import { riskPaths, riskSchemas, riskTags } from "./openapi-risk.js";

export type {
  Header,
  MediaType,
  OpenApiDocument,
  Operation,
  Parameter,
  PathItem,
  Reference,
  Response,
  Schema,
} from "./openapi-types.js";
import type { MediaType, OpenApiDocument, Reference, Response, Schema } from "./openapi-types.js";

// ------------------------------------------------------------------------------- helpers

const ref = (kind: "schemas" | "parameters" | "responses", name: string) => ({
  $ref: `#/components/${kind}/${name}`,
});
const schema = (name: string): Schema => ref("schemas", name);

const JSON_TYPE = "application/json";
const json = (s: Schema): Readonly<Record<string, MediaType>> => ({ [JSON_TYPE]: { schema: s } });

const integer: Schema = { type: "integer", minimum: 0 };
const decimal = (description: string): Schema => ({
  type: "string",
  pattern: "^\\d+$",
  description: `${description} (a decimal string: ids are uint256)`,
});
const bytes32: Schema = { type: "string", pattern: "^0x[0-9a-fA-F]{64}$" };
const address: Schema = { type: "string", pattern: "^0x[0-9a-fA-F]{40}$" };
const nullable = (s: Schema): Schema => ({ oneOf: [s, { type: "null" }] });
const object = (
  properties: Readonly<Record<string, Schema>>,
  description?: string,
  optional: readonly string[] = [],
): Schema => ({
  type: "object",
  ...(description === undefined ? {} : { description }),
  properties,
  required: Object.keys(properties).filter((k) => !optional.includes(k)),
});
const arrayOf = (items: Schema): Schema => ({ type: "array", items });
const page = (item: string): Schema =>
  object(
    {
      items: arrayOf(schema(item)),
      nextCursor: {
        type: ["string", "null"],
        description: "Pass as `cursor` for the next page; null on the last page.",
      },
    },
    `A page of ${item} items, in a stable order.`,
  );

const errors = (...statuses: readonly string[]): Record<string, Reference> => {
  const names: Record<string, string> = {
    "400": "BadRequest",
    "401": "Unauthorized",
    "403": "Forbidden",
    "404": "NotFound",
    "409": "Conflict",
    "405": "MethodNotAllowed",
    "413": "PayloadTooLarge",
    "414": "UriTooLong",
    "415": "UnsupportedMediaType",
    "429": "TooManyRequests",
    "500": "InternalError",
    "503": "Timeout",
  };
  const out: Record<string, Reference> = {};
  for (const s of [...statuses, "403", "405", "414", "429", "500", "503"]) {
    const name = names[s];
    if (name !== undefined) out[s] = ref("responses", name);
  }
  return out;
};
const ok = (description: string, s: Schema): Response => ({ description, content: json(s) });
const paged = [ref("parameters", "limit"), ref("parameters", "cursor")];

// ------------------------------------------------------------------------------ document

/** The OpenAPI 3.1 description of every route of {@link createApiServer}. */
export const openApiDocument: OpenApiDocument = {
  openapi: "3.1.0",
  info: {
    title: "Veritrace tracing API",
    version: "1.0.0",
    summary: "Read-only audit queries over the indexed events of a Veritrace consortium.",
    description:
      "Every answer is computed from the tracer's store, which the indexer fills from the chain. " +
      "Authenticate with `Authorization: Bearer <token>` (except /health and /openapi.json). " +
      "Lists are paginated with `limit` and an opaque `cursor`; ids of uint256 values are decimal " +
      'strings. Errors are `{"error": {"code", "message"}}`.',
    license: { name: "Apache 2.0", identifier: "Apache-2.0" },
  },
  jsonSchemaDialect: "https://spec.openapis.org/oas/3.1/dialect/base",
  security: [{ bearerAuth: [] }],
  tags: [
    { name: "service", description: "State of the service itself." },
    { name: "cases", description: "Cases and their chains of custody." },
    { name: "institutions", description: "Participants and their activity." },
    { name: "verification", description: "Off-chain re-checks of signatures and proofs." },
    { name: "anomalies", description: "Patterns across transactions worth an auditor's look." },
    ...dashboardTags,
    ...riskTags,
  ],
  paths: {
    ...dashboardPaths,
    ...riskPaths,
    "/health": {
      get: {
        operationId: "getHealth",
        summary: "Whether the service answers, and how far the store is indexed",
        tags: ["service"],
        security: [],
        responses: { "200": ok("The service is up.", schema("Health")), ...errors() },
      },
    },
    "/openapi.json": {
      get: {
        operationId: "getOpenApi",
        summary: "This document",
        tags: ["service"],
        security: [],
        responses: {
          "200": ok("The OpenAPI 3.1 document.", { type: "object" }),
          ...errors(),
        },
      },
    },
    "/cases": {
      get: {
        operationId: "listCases",
        summary: "Every case, in ascending id order",
        tags: ["cases"],
        parameters: paged,
        responses: {
          "200": ok("A page of cases.", page("CaseSummary")),
          ...errors("400", "401"),
        },
      },
    },
    "/cases/{caseIdOrCommitment}": {
      get: {
        operationId: "getCase",
        summary: "A case and its chain of custody",
        description:
          "The custody lists every event of the case in chain order; a delivery appears twice " +
          "(the provider's `delivery` and the requester's `acknowledgement`); a matching session's " +
          "steps are `match-opening`, `match-response`, `match-completion` and `match-failure`; a freeze's " +
          "are `freeze-request`, `freeze-execution` (or `freeze-rejection`) and `freeze-acknowledgement`, " +
          "with list and result roots only, never accounts or amounts. Each " +
          "entry's `action` says the step in words. It is paginated with `limit` and `cursor`.",
        tags: ["cases"],
        parameters: [ref("parameters", "caseIdOrCommitment"), ...paged],
        responses: {
          "200": ok("The case report.", schema("CaseReport")),
          ...errors("400", "401", "404", "409"),
        },
      },
    },
    "/institutions": {
      get: {
        operationId: "listInstitutions",
        summary: "Every participant, in ascending id order",
        tags: ["institutions"],
        parameters: paged,
        responses: {
          "200": ok("A page of institutions.", page("Institution")),
          ...errors("400", "401"),
        },
      },
    },
    "/institutions/{idOrAddress}": {
      get: {
        operationId: "getInstitution",
        summary: "What an institution requested and provided, per case",
        tags: ["institutions"],
        parameters: [ref("parameters", "idOrAddress"), ...paged],
        responses: {
          "200": ok(
            "The institution and a page of its case activity.",
            schema("InstitutionReport"),
          ),
          ...errors("400", "401", "404"),
        },
      },
    },
    "/subjects/{commitment}": {
      get: {
        operationId: "getSubject",
        summary: "Every case that touched a subject commitment",
        description: "An unknown commitment answers 200 with no cases.",
        tags: ["cases"],
        parameters: [ref("parameters", "commitment")],
        responses: {
          "200": ok("The cases.", schema("SubjectReport")),
          ...errors("400", "401"),
        },
      },
    },
    "/deliveries/{id}/verification": {
      get: {
        operationId: "verifyDelivery",
        summary: "Re-check both EIP-712 signatures of a delivery off-chain",
        description:
          "Recovers each signer in the access ledger's domain and checks that it was a key of the " +
          "right institution at the delivery's block. A failed check is still a 200: read `valid`.",
        tags: ["verification"],
        parameters: [ref("parameters", "deliveryId")],
        responses: {
          "200": ok("The verification.", schema("DeliveryVerification")),
          ...errors("400", "401", "404"),
        },
      },
    },
    "/anchors/{id}/entries/verify": {
      get: {
        operationId: "verifyEntryByHash",
        summary: "Check an access-log entry's Merkle inclusion in an anchored batch",
        description: "A failed check is still a 200: read `included`.",
        tags: ["verification"],
        parameters: [
          ref("parameters", "anchorId"),
          ref("parameters", "index"),
          ref("parameters", "entryHash"),
          ref("parameters", "proof"),
        ],
        responses: {
          "200": ok("The verification.", schema("EntryVerification")),
          ...errors("400", "401", "404"),
        },
      },
      post: {
        operationId: "verifyEntry",
        summary: "Check an access-log entry's Merkle inclusion, the entry given in full",
        description:
          "The entry's canonical JSON (keys sorted at every level) is hashed with keccak256. " +
          "The body is limited in size (413 beyond). A failed check is still a 200.",
        tags: ["verification"],
        parameters: [ref("parameters", "anchorId")],
        requestBody: {
          description: "The entry (or its hash), its index in the batch and its proof.",
          required: true,
          content: json(schema("EntryProof")),
        },
        responses: {
          "200": ok("The verification.", schema("EntryVerification")),
          ...errors("400", "401", "404", "413", "415"),
        },
      },
    },
    "/anomalies": {
      get: {
        operationId: "listAnomalies",
        summary: "Anomalies found by every rule, by first block",
        tags: ["anomalies"],
        parameters: [...paged, ref("parameters", "rule")],
        responses: {
          "200": ok("A page of anomalies.", page("Anomaly")),
          ...errors("400", "401"),
        },
      },
    },
  },
  components: {
    securitySchemes: {
      bearerAuth: {
        type: "http",
        scheme: "bearer",
        description: "One of the server's API tokens (--tokens FILE or VERITRACE_API_TOKENS).",
      },
    },
    parameters: {
      limit: {
        name: "limit",
        in: "query",
        description: "Items per page.",
        schema: { type: "integer", minimum: 1, maximum: 500, default: 50 },
      },
      cursor: {
        name: "cursor",
        in: "query",
        description: "The `nextCursor` of the previous page of the same listing.",
        schema: { type: "string", pattern: "^[A-Za-z0-9_-]+$" },
      },
      caseIdOrCommitment: {
        name: "caseIdOrCommitment",
        in: "path",
        required: true,
        description: "A case id (decimal) or its case number commitment (0x and 64 hex digits).",
        schema: { type: "string", pattern: "^(\\d{1,78}|0x[0-9a-fA-F]{64})$" },
        example: "1",
      },
      idOrAddress: {
        name: "idOrAddress",
        in: "path",
        required: true,
        description: "A participant id, or one of its signing keys (current or past).",
        schema: { type: "string", pattern: "^(\\d{1,15}|0x[0-9a-fA-F]{40})$" },
        example: "3",
      },
      commitment: {
        name: "commitment",
        in: "path",
        required: true,
        description: "A subject commitment.",
        schema: bytes32,
      },
      deliveryId: {
        name: "id",
        in: "path",
        required: true,
        description: "A delivery id (decimal).",
        schema: { type: "string", pattern: "^\\d{1,78}$" },
      },
      anchorId: {
        name: "id",
        in: "path",
        required: true,
        description: "An anchor (batch) id (decimal).",
        schema: { type: "string", pattern: "^\\d{1,78}$" },
      },
      index: {
        name: "index",
        in: "query",
        required: true,
        description: "The entry's index in its batch.",
        schema: integer,
      },
      entryHash: {
        name: "entryHash",
        in: "query",
        required: true,
        description: "keccak256 of the entry's canonical JSON.",
        schema: bytes32,
      },
      proof: {
        name: "proof",
        in: "query",
        description:
          "The inclusion proof: 32-byte hex strings separated by commas (empty for a batch of one).",
        schema: { type: "string", pattern: "^(0x[0-9a-fA-F]{64}(,0x[0-9a-fA-F]{64})*)?$" },
      },
      rule: {
        name: "rule",
        in: "query",
        description: "Only the anomalies of this rule.",
        schema: schema("AnomalyRule"),
      },
    },
    responses: {
      BadRequest: {
        description: "A parameter or the body is malformed.",
        content: json(schema("Error")),
      },
      Unauthorized: {
        description: "No valid bearer token.",
        headers: {
          "WWW-Authenticate": {
            description: 'Bearer realm="veritrace"',
            schema: { type: "string" },
          },
        },
        content: json(schema("Error")),
      },
      Forbidden: {
        description: "An unauthenticated (--insecure-local) server refuses non-local clients.",
        content: json(schema("Error")),
      },
      NotFound: {
        description: "No such route, case, institution, delivery or anchor.",
        content: json(schema("Error")),
      },
      Conflict: {
        description:
          "The case number commitment names cases of different openers (commitments are unique per opener only): give the case id.",
        content: json(schema("Error")),
      },
      MethodNotAllowed: {
        description: "The route exists, not with this method.",
        headers: {
          Allow: { description: "The methods the route accepts.", schema: { type: "string" } },
        },
        content: json(schema("Error")),
      },
      PayloadTooLarge: {
        description: "The body exceeds the server's limit.",
        content: json(schema("Error")),
      },
      UriTooLong: {
        description: "The request target exceeds the server's limit.",
        content: json(schema("Error")),
      },
      UnsupportedMediaType: {
        description: "The body is not application/json.",
        content: json(schema("Error")),
      },
      TooManyRequests: {
        description: "The token's (or client's) rate limit is spent.",
        headers: {
          "Retry-After": { description: "Seconds until a request is allowed.", schema: integer },
        },
        content: json(schema("Error")),
      },
      InternalError: {
        description: "An unexpected failure (details in the server's log).",
        content: json(schema("Error")),
      },
      Timeout: {
        description:
          "The answer took longer than the server's request timeout (code timeout), or the access log could not be written and the answer is withheld (code access_log).",
        content: json(schema("Error")),
      },
    },
    schemas: {
      ...dashboardSchemas,
      ...riskSchemas,
      Error: object({
        error: object({
          code: {
            type: "string",
            enum: [
              "bad_request",
              "unauthorized",
              "forbidden",
              "not_found",
              "method_not_allowed",
              "payload_too_large",
              "uri_too_long",
              "unsupported_media_type",
              "rate_limited",
              "internal",
              "timeout",
            ],
          },
          message: { type: "string", description: "One human sentence." },
        }),
      }),
      Health: object({
        status: { const: "ok" },
        engine: { type: "string", enum: ["pglite", "postgres"] },
        indexedTo: nullable(
          object(
            { blockNumber: integer, blockHash: bytes32 },
            "The checkpoint: every event up to this block is stored.",
          ),
        ),
        events: integer,
        follower: nullable(
          object(
            {
              target: {
                type: ["integer", "null"],
                description:
                  "The block its last sync aimed at: the node's head less the confirmations.",
              },
              indexedTo: {
                type: ["integer", "null"],
                description:
                  "The block the store is complete up to, as the follower last wrote it.",
              },
              syncedAt: {
                type: ["string", "null"],
                format: "date-time",
                description: "When its last sync ended.",
              },
            },
            "The follower indexing into the store in this process (serve --follow); null without.",
          ),
        ),
      }),
      CaseStatus: { type: "string", enum: ["pending", "approved", "closed"] },
      CaseSummary: object({
        caseId: decimal("The case id"),
        caseNumberCommitment: bytes32,
        status: schema("CaseStatus"),
        opener: { ...integer, description: "The participant that opened the case." },
        approver: { type: ["integer", "null"], description: "The approving participant." },
        expiresAt: { ...integer, description: "Unix seconds, after any extension." },
        openedAt: { ...integer, description: "Unix seconds." },
        openedBlock: integer,
        requests: integer,
        grants: integer,
        denials: integer,
        deliveries: integer,
      }),
      CustodyEntry: object({
        blockNumber: integer,
        txIndex: integer,
        logIndex: integer,
        time: { ...integer, description: "Block time, unix seconds." },
        txHash: bytes32,
        step: {
          type: "string",
          enum: [
            "opening",
            "approval",
            "extension-request",
            "extension",
            "request",
            "withdrawal",
            "grant",
            "denial",
            "delivery",
            "acknowledgement",
            "revocation",
            "anchor",
            "match-opening",
            "match-response",
            "match-completion",
            "match-failure",
            "freeze-request",
            "freeze-execution",
            "freeze-rejection",
            "freeze-acknowledgement",
            "closure",
          ],
        },
        action: {
          type: "string",
          description: "The step in words.",
          examples: ["match session 2 completed: 7 matches"],
        },
        event: { type: "string" },
        institution: { type: ["integer", "null"], description: "The acting institution." },
        institutionKind: { type: ["string", "null"] },
        signer: nullable({ ...address, description: "The key that sent or signed." }),
        requestId: nullable(decimal("The request id")),
        details: { type: "object", additionalProperties: true },
      }),
      CaseReport: object({
        caseId: decimal("The case id"),
        caseNumberCommitment: bytes32,
        legalBasisCommitment: bytes32,
        status: schema("CaseStatus"),
        expiresAt: integer,
        scope: arrayOf({ type: "string" }),
        opener: integer,
        approver: { type: ["integer", "null"] },
        counts: {
          type: "object",
          description: "Custody entries per step.",
          additionalProperties: integer,
        },
        custody: page("CustodyEntry"),
      }),
      Institution: object({
        id: integer,
        kind: { type: "string", examples: ["POLICE", "BANK"] },
        status: { type: "string", enum: ["active", "suspended", "revoked"] },
        admittedAt: { ...integer, description: "Unix seconds." },
        keys: arrayOf(
          object({
            address,
            addedBlock: integer,
            removedBlock: { type: ["integer", "null"] },
            codeHash: {
              type: ["string", "null"],
              description:
                "The code hash the registry pinned (zero: no code); null for a first key, whose admission event does not carry it.",
            },
            repinnedBlock: { type: ["integer", "null"] },
          }),
        ),
      }),
      InstitutionCaseActivity: object({
        caseId: decimal("The case id"),
        role: { type: "string", enum: ["requester", "provider", "case party"] },
        requests: integer,
        granted: integer,
        denied: integer,
        revoked: integer,
        deliveries: integer,
        records: decimal("Records delivered"),
        firstBlock: integer,
        lastBlock: integer,
      }),
      InstitutionReport: object({
        institution: schema("Institution"),
        cases: page("InstitutionCaseActivity"),
      }),
      SubjectReport: object({
        subject: bytes32,
        cases: arrayOf(
          object({
            caseId: decimal("The case id"),
            requests: integer,
            providers: arrayOf(integer),
            requesters: arrayOf(integer),
            firstBlock: integer,
            lastBlock: integer,
            firstTime: integer,
            lastTime: integer,
          }),
        ),
      }),
      SignatureCheck: object({
        institution: integer,
        signer: address,
        recovered: nullable(address),
        signerIsKeyOfInstitution: { type: "boolean" },
        valid: { type: "boolean" },
      }),
      DeliveryVerification: object({
        deliveryId: decimal("The delivery id"),
        requestId: decimal("The request id"),
        caseId: decimal("The case id"),
        blockNumber: integer,
        txHash: bytes32,
        delivery: object({
          requestId: decimal("The request id"),
          sequence: integer,
          payloadHash: bytes32,
          recordCount: decimal("Records"),
          deadline: decimal("Unix seconds"),
        }),
        provider: schema("SignatureCheck"),
        requester: schema("SignatureCheck"),
        valid: { type: "boolean", description: "Both signatures verify." },
      }),
      EntryProof: object(
        {
          index: integer,
          entry: { description: "The entry itself (any JSON value)." },
          entryHash: bytes32,
          proof: arrayOf(bytes32),
        },
        "Exactly one of entry and entryHash.",
        ["entry", "entryHash", "proof"],
      ),
      EntryVerification: object({
        anchorId: decimal("The anchor id"),
        caseId: decimal("The case id"),
        participant: integer,
        root: bytes32,
        entryCount: integer,
        index: integer,
        entryHash: bytes32,
        included: { type: "boolean" },
        blockNumber: integer,
        txHash: bytes32,
      }),
      AnomalyRule: {
        type: "string",
        enum: [
          "unacknowledged-delivery",
          "request-burst",
          "subject-across-cases",
          "approver-as-provider",
          "requests-before-expiry",
          "revoked-after-delivery",
          "anchor-gap",
          "unfinished-match-session",
        ],
      },
      Evidence: object(
        {
          blockNumber: integer,
          logIndex: integer,
          txHash: bytes32,
          blockTime: integer,
          event: { type: "string" },
          caseId: decimal("The case id"),
          requestId: decimal("The request id"),
          deliveryId: decimal("The delivery id"),
          anchorId: decimal("The anchor id"),
          actor: integer,
          counterpart: integer,
        },
        "A stored event that shows the anomaly.",
        ["caseId", "requestId", "deliveryId", "anchorId", "actor", "counterpart"],
      ),
      Anomaly: object(
        {
          rule: schema("AnomalyRule"),
          severity: { type: "string", enum: ["low", "medium", "high"] },
          caseId: decimal("The case it concerns"),
          participants: arrayOf(integer),
          summary: { type: "string" },
          details: {
            type: "object",
            additionalProperties: { type: ["string", "number"] },
          },
          evidence: arrayOf(schema("Evidence")),
          firstBlock: integer,
          lastBlock: integer,
        },
        undefined,
        ["caseId"],
      ),
    },
  },
};
