/**
 * The API's wire format, written once: the zod schemas of every route's parameters, bodies and
 * answers. The server validates requests with them (routes.ts), the handlers' types are derived
 * from them, `GET /openapi.json` is generated from them (openapi.ts), and the dashboard imports
 * their types (web/src/api.ts). Each named schema is a component of the OpenAPI document.
 *
 * This module imports zod and modules of no other import alone, so that the dashboard's build can
 * read it: the lists it repeats from domain modules that import more (taint models, rules, steps,
 * verdicts) are checked against theirs by test/api/wire.test.ts.
 */
import { z } from "zod";
import {
  DEFAULT_EXIT_CATEGORIES,
  PALETTE_ENTRIES,
  RISK_CATEGORIES,
  exitTerm,
} from "../analytics/labels/categories.js";

/** The named schemas: `components/schemas` of the OpenAPI document. */
export const components = z.registry<{ id: string }>();

/** Registers a schema as a component named `id` (its description where every schema's is). */
function named<T extends z.ZodType>(id: string, schema: T, description?: string): T {
  const described = description === undefined ? schema : schema.describe(description);
  components.add(described, { id });
  return described;
}

// ------------------------------------------------------------------------------ primitives

/** A non-negative safe integer. */
export const count = z.int().nonnegative();
const described = <T extends z.ZodType>(schema: T, description: string): T =>
  schema.describe(description);
/** A uint256 id as a decimal string. */
export const decimal = (description: string) =>
  z.string().regex(/^\d+$/).describe(`${description} (a decimal string: ids are uint256)`);
const BYTES32 = /^0x[0-9a-fA-F]{64}$/;
export const bytes32 = z.string().regex(BYTES32);
/** A 32-byte hex string in a request, with the message a refusal gives. */
const hex32 = (message: string) => z.string(message).regex(BYTES32, message);
/** A 20-byte address, any case. */
export const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/);
/** A 20-byte address, lowercase: as the fund-flow routes answer. */
export const lowAddress = z.string().regex(/^0x[0-9a-f]{40}$/);
/** A chain id prefix: across chains, what is on another chain than the seed's is `CHAIN:…`. */
const CHAIN_PREFIX = String.raw`(\d{1,20}:)?`;
/**
 * An address of a fund flow: lowercase, or `fees`, the gas fees a tainted address paid (an exit of
 * kind fee, on native-coin traces); across chains, prefixed by its chain when not the seed's.
 */
export const flowAddress = z
  .string()
  .regex(
    new RegExp(
      String.raw`^(bridge:[^\s]{1,200}|${CHAIN_PREFIX}(0x[0-9a-f]{40}|fees|v3pos:0x[0-9a-f]{40}:\d{1,78}))$`,
    ),
  )
  .describe(
    "A lowercase address; `fees`: the gas fees paid (an exit of kind fee); `v3pos:MANAGER:TOKENID`: a Uniswap V3 position's own account (the tokens owed to it); across chains, `CHAIN:…` on another chain than the seed's, and `bridge:…`: a bridge crossing's transit between two chains.",
  );
/** The contract of a conversion: an address, `CHAIN:address` on another chain than the seed's. */
const flowContract = z.string().regex(new RegExp(String.raw`^${CHAIN_PREFIX}0x[0-9a-f]{40}$`));
/** An amount of base units, decimal. */
export const amount = z.string().regex(/^\d+$/).describe("Base units, decimal.");
const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, "a day, YYYY-MM-DD");
const percent = z.int().min(0).max(100);

/** A page of a listing, in a stable order. */
const page = <T extends z.ZodType>(id: string, item: T) =>
  named(
    id,
    z.object({
      items: z.array(item),
      nextCursor: z
        .string()
        .nullable()
        .describe("Pass as `cursor` for the next page; null on the last page."),
    }),
    "A page of items, in a stable order.",
  );

// ---------------------------------------------------------------------- request parameters

/** Limits of the listings. */
export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 500;
const LIMIT_MESSAGE = `must be an integer from 1 to ${MAX_LIMIT}`;

/** The query parameters of the paginated listings (their values as the query string gives them). */
export const pagination = {
  limit: z
    .string()
    .regex(/^\d{1,4}$/, LIMIT_MESSAGE)
    .transform(Number)
    .pipe(z.int().min(1, LIMIT_MESSAGE).max(MAX_LIMIT, LIMIT_MESSAGE))
    .default(DEFAULT_LIMIT)
    .describe("Items per page."),
  cursor: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, "not a cursor this server returned")
    .optional()
    .describe("The `nextCursor` of the previous page of the same listing."),
};

export const caseRef = z
  .string()
  .regex(/^(\d{1,78}|0x[0-9a-fA-F]{64})$/, "a case id or 0x and 64 hex digits")
  .describe("A case id (decimal) or its case number commitment (0x and 64 hex digits).");
export const institutionRef = z
  .string()
  .regex(/^(\d{1,15}|0x[0-9a-fA-F]{40})$/, "a participant id or a 20-byte address")
  .describe("A participant id, or one of its signing keys (current or past).");
export const commitmentParam = hex32("0x and 64 hex digits").describe("A subject commitment.");
export const decimalParam = (what: string) =>
  z
    .string()
    .regex(/^\d{1,78}$/, `${what} (decimal)`)
    .describe(`${what[0]?.toUpperCase()}${what.slice(1)} (decimal).`);

// --------------------------------------------------------------------------------- service

export const Health = named(
  "Health",
  z.object({
    status: z.literal("ok"),
    engine: z.enum(["pglite", "postgres"]),
    indexedTo: z
      .object({ blockNumber: count, blockHash: bytes32 })
      .nullable()
      .describe("The checkpoint: every event up to this block is stored."),
    events: count,
    follower: z
      .object({
        target: count
          .nullable()
          .describe("The block its last sync aimed at: the node's head less the confirmations."),
        indexedTo: count
          .nullable()
          .describe("The block the store is complete up to, as the follower last wrote it."),
        syncedAt: z.iso.datetime().nullable().describe("When its last sync ended."),
      })
      .nullable()
      .describe(
        "The follower indexing into the store in this process (serve --follow); null without.",
      ),
  }),
);

// ----------------------------------------------------------------------------------- cases

export const CaseStatus = named("CaseStatus", z.enum(["pending", "approved", "closed"]));

export const CaseSummary = named(
  "CaseSummary",
  z.object({
    caseId: decimal("The case id"),
    caseNumberCommitment: bytes32,
    status: CaseStatus,
    opener: described(count, "The participant that opened the case."),
    approver: count.nullable().describe("The approving participant."),
    expiresAt: described(count, "Unix seconds, after any extension."),
    openedAt: described(count, "Unix seconds."),
    openedBlock: count,
    requests: count,
    grants: count,
    denials: count,
    deliveries: count,
  }),
);

/** The steps of a chain of custody, in words of the audit (ledger/custody.ts names them). */
export const CUSTODY_STEPS = [
  "opening",
  "approval",
  "extension-request",
  "extension",
  "request",
  "withdrawal",
  "grant",
  "denial",
  "offer",
  "delivery",
  "acknowledgement",
  "purge",
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
] as const;

export const CustodyEntry = named(
  "CustodyEntry",
  z.object({
    blockNumber: count,
    txIndex: count,
    logIndex: count,
    time: described(count, "Block time, unix seconds."),
    txHash: bytes32,
    step: z.enum(CUSTODY_STEPS),
    action: z
      .string()
      .describe("The step in words.")
      .meta({ examples: ["match session 2 completed: 7 matches"] }),
    event: z.string(),
    institution: count.nullable().describe("The acting institution."),
    institutionKind: z.string().nullable(),
    signer: address.nullable().describe("The key that sent or signed."),
    requestId: decimal("The request id").nullable(),
    details: z.record(z.string(), z.unknown()),
  }),
);

export const ExchangeState = named(
  "ExchangeState",
  z.object({
    requestId: decimal("The request id"),
    sequence: count,
    provider: count.nullable(),
    requester: count.nullable(),
    state: z.enum(["offered", "acknowledged", "purged"]).describe("The furthest step reached."),
    offerId: decimal("The latest offer's id").nullable(),
    offered: z
      .object({
        time: count,
        txHash: bytes32,
        ciphertextHash: bytes32,
        ciphertextBytes: decimal("The ciphertext's size in bytes"),
        recipientKeyId: decimal("The requester's encryption key id"),
        retentionSeconds: count,
      })
      .nullable(),
    acknowledged: z
      .object({ time: count, txHash: bytes32, deliveryId: decimal("The delivery id") })
      .nullable(),
    purged: z.object({ time: count, txHash: bytes32, reason: z.string() }).nullable(),
    supersededOffers: z.array(decimal("An earlier offer's id")),
  }),
  "One delivery's exchange states: offered (ExchangeLedger), acknowledged (the co-signed delivery), purged.",
);

export const CaseReport = named(
  "CaseReport",
  z.object({
    caseId: decimal("The case id"),
    caseNumberCommitment: bytes32,
    legalBasisCommitment: bytes32,
    status: CaseStatus,
    expiresAt: count,
    scope: z.array(z.string()),
    opener: count,
    approver: count.nullable(),
    counts: z.record(z.string(), count).describe("Custody entries per step."),
    custody: page("CustodyEntryPage", CustodyEntry),
    exchanges: z.array(ExchangeState).describe("Each delivery's exchange states."),
  }),
);

export const CaseSummaryPage = page("CaseSummaryPage", CaseSummary);

export const SubjectReport = named(
  "SubjectReport",
  z.object({
    subject: bytes32,
    cases: z.array(
      z.object({
        caseId: decimal("The case id"),
        requests: count,
        providers: z.array(count),
        requesters: z.array(count),
        firstBlock: count,
        lastBlock: count,
        firstTime: count,
        lastTime: count,
      }),
    ),
  }),
);

// ---------------------------------------------------------------------------- institutions

export const Institution = named(
  "Institution",
  z.object({
    id: count,
    kind: z.string().meta({ examples: ["POLICE", "BANK"] }),
    status: z.enum(["active", "suspended", "revoked"]),
    admittedAt: described(count, "Unix seconds."),
    keys: z.array(
      z.object({
        address,
        addedBlock: count,
        removedBlock: count.nullable(),
        codeHash: bytes32
          .nullable()
          .describe(
            "The code hash the registry pinned (zero: no code); null for a first key, whose admission event does not carry it.",
          ),
        repinnedBlock: count.nullable(),
      }),
    ),
  }),
);

export const InstitutionPage = page("InstitutionPage", Institution);

export const InstitutionCaseActivity = named(
  "InstitutionCaseActivity",
  z.object({
    caseId: decimal("The case id"),
    role: z.enum(["requester", "provider", "case party"]),
    requests: count,
    granted: count,
    denied: count,
    revoked: count,
    deliveries: count,
    records: decimal("Records delivered"),
    firstBlock: count,
    lastBlock: count,
  }),
);

export const InstitutionReport = named(
  "InstitutionReport",
  z.object({
    institution: Institution,
    cases: page("InstitutionCaseActivityPage", InstitutionCaseActivity),
  }),
);

/** Cases listed per cell of the activity at most (the count is always whole). */
export const MAX_CELL_CASES = 100;

export const ActivityCell = named(
  "ActivityCell",
  z.object({
    institution: count,
    role: z.enum(["requester", "provider"]),
    day: day.describe("UTC day, YYYY-MM-DD."),
    events: count,
    cases: z
      .array(z.string().regex(/^\d+$/))
      .describe(`Case ids (decimal strings), ascending, at most ${MAX_CELL_CASES}.`),
  }),
);

export const Activity = named(
  "Activity",
  z.object({
    days: z.array(day).describe("Every day with activity, ascending."),
    institutions: z.array(z.object({ id: count, kind: z.string(), status: z.string() })),
    cells: z.array(ActivityCell),
  }),
);

export const activityQuery = {
  from: day.optional().describe("First day (UTC), inclusive."),
  to: day.optional().describe("Last day (UTC), inclusive."),
};

// ---------------------------------------------------------------------------- verification

export const SignatureCheck = named(
  "SignatureCheck",
  z.object({
    institution: count,
    signer: address,
    recovered: address.nullable(),
    signerIsKeyOfInstitution: z.boolean(),
    valid: z.boolean(),
  }),
);

export const DeliveryVerification = named(
  "DeliveryVerification",
  z.object({
    deliveryId: decimal("The delivery id"),
    requestId: decimal("The request id"),
    caseId: decimal("The case id"),
    blockNumber: count,
    txHash: bytes32,
    delivery: z.object({
      requestId: decimal("The request id"),
      sequence: count,
      payloadHash: bytes32,
      recordCount: decimal("Records"),
      deadline: decimal("Unix seconds"),
    }),
    provider: SignatureCheck,
    requester: SignatureCheck,
    valid: z.boolean().describe("Both signatures verify."),
  }),
);

const hash32 = hex32("0x and 64 hex digits are required");
const proofIndex = z
  .int("a non-negative integer is required")
  .nonnegative("a non-negative integer is required");

/** The entry's inclusion proof in the query of `GET /anchors/{id}/entries/verify`. */
export const entryProofQuery = {
  index: z
    .string("a non-negative integer is required")
    .regex(/^\d{1,15}$/, "a non-negative integer is required")
    .transform(Number)
    .pipe(count)
    .describe("The entry's index in its batch."),
  entryHash: hash32.describe("keccak256 of the entry's canonical JSON."),
  proof: z
    .string()
    .regex(
      /^(0x[0-9a-fA-F]{64}(,0x[0-9a-fA-F]{64})*)?$/,
      "a comma-separated list of 32-byte hex strings",
    )
    .transform((s) => (s === "" ? [] : s.split(",")))
    .pipe(z.array(bytes32))
    .optional()
    .describe(
      "The inclusion proof: 32-byte hex strings separated by commas (empty for a batch of one).",
    ),
};

export const EntryProof = named(
  "EntryProof",
  z
    .strictObject(
      {
        index: proofIndex,
        entry: z.unknown().optional().describe("The entry itself (any JSON value)."),
        entryHash: hash32.optional(),
        proof: z
          .array(
            hex32("an array of 32-byte hex strings is required"),
            "an array of 32-byte hex strings is required",
          )
          .optional(),
      },
      "a JSON object {index, entry | entryHash, proof} is required",
    )
    .refine((b) => (b.entry === undefined) !== (b.entryHash === undefined), {
      message: "exactly one of entry and entryHash is required",
    }),
  "Exactly one of entry and entryHash.",
);

export const EntryVerification = named(
  "EntryVerification",
  z.object({
    anchorId: decimal("The anchor id"),
    caseId: decimal("The case id"),
    participant: count,
    root: bytes32,
    entryCount: count,
    index: count,
    entryHash: bytes32,
    included: z.boolean(),
    blockNumber: count,
    txHash: bytes32,
  }),
);

// ------------------------------------------------------------------------------- anomalies

/** The anomaly rules (ledger/anomalies/ has one module per rule). */
export const ANOMALY_RULE_NAMES = [
  "unacknowledged-delivery",
  "request-burst",
  "subject-across-cases",
  "approver-as-provider",
  "requests-before-expiry",
  "revoked-after-delivery",
  "anchor-gap",
  "unfinished-match-session",
  "unacknowledged-offer",
  "ciphertext-kept",
] as const;

export const AnomalyRule = named("AnomalyRule", z.enum(ANOMALY_RULE_NAMES));

export const Evidence = named(
  "Evidence",
  z.object({
    blockNumber: count,
    logIndex: count,
    txHash: bytes32,
    blockTime: count,
    event: z.string(),
    caseId: decimal("The case id").optional(),
    requestId: decimal("The request id").optional(),
    deliveryId: decimal("The delivery id").optional(),
    anchorId: decimal("The anchor id").optional(),
    actor: count.optional(),
    counterpart: count.optional(),
  }),
  "A stored event that shows the anomaly.",
);

export const Anomaly = named(
  "Anomaly",
  z.object({
    rule: AnomalyRule,
    severity: z.enum(["low", "medium", "high"]),
    caseId: decimal("The case it concerns").optional(),
    participants: z.array(count),
    summary: z.string(),
    details: z.record(z.string(), z.union([z.string(), z.number()])),
    evidence: z.array(Evidence),
    firstBlock: count,
    lastBlock: count,
  }),
);

export const AnomalyPage = page("AnomalyPage", Anomaly);

export const anomalyQuery = {
  ...pagination,
  rule: z
    .enum(ANOMALY_RULE_NAMES, `one of ${ANOMALY_RULE_NAMES.join(", ")}`)
    .optional()
    .describe("Only the anomalies of this rule."),
};

// ------------------------------------------------------------------------------ fund flows

/** The most hops a trace over HTTP may follow. */
export const MAX_TRACE_HOPS = 64;
/** The most addresses and transfers a trace over HTTP may answer with. */
export const MAX_TRACE_NODES = 10_000;
export const MAX_TRACE_EDGES = 50_000;
/** The most paths kept per holding or exit. */
export const MAX_TRACE_PATHS = 20;

/** The taint models (analytics/funds/taint.ts). */
export const TAINT_MODEL_NAMES = ["poison", "haircut", "fifo"] as const;

/** The kinds of exit (analytics/funds/types.ts). */
export const EXIT_KIND_NAMES = ["exchange", "bridge", "mixer", "service", "burn", "fee"] as const;

/** The codes of a trace's warnings (analytics/funds/types.ts; docs/taint-models.md, "Warnings"). */
export const WARNING_CODE_NAMES = [
  "incomplete-history",
  "empty-seed",
  "provenance-budget",
  "rounds-exhausted",
] as const;

/** The venues and actions of a conversion (analytics/funds/types.ts; docs/taint-models.md). */
export const CONVERSION_VENUE_NAMES = [
  "weth",
  "uniswap-v2",
  "uniswap-v3",
  "curve",
  "balancer-v2",
  "bridge",
] as const;
export const CONVERSION_ACTION_NAMES = [
  "swap",
  "wrap",
  "unwrap",
  "add-liquidity",
  "remove-liquidity",
  "bridge",
] as const;

/** The most seeds one trace over HTTP starts from. */
export const MAX_TRACE_SEEDS = 100;
/** The most other chains one trace over HTTP reads. */
export const MAX_TRACE_CHAINS = 16;

const TOKEN_MESSAGE = 'a token address (0x and 40 hex digits), "native" or "all"';
const tokenField = z.string(TOKEN_MESSAGE).regex(/^(all|native|0x[0-9a-fA-F]{40})$/, TOKEN_MESSAGE);
const ASSET_MESSAGE = 'a token address (0x and 40 hex digits) or "native"';
const assetField = z.string(ASSET_MESSAGE).regex(/^(native|0x[0-9a-fA-F]{40})$/, ASSET_MESSAGE);
/**
 * An asset a trace of every asset answers with: a token, the native coin, a Uniswap V3 position;
 * across chains, `CHAIN:…` on another chain than the seed's, and `bridge`, a crossing's transit.
 */
const TRACED_ASSET_MESSAGE =
  'a token address (0x and 40 hex digits), "native", or a Uniswap V3 position (v3pos:MANAGER:TOKENID), each CHAIN:… on another chain; or "bridge"';
const tracedAssetField = z
  .string(TRACED_ASSET_MESSAGE)
  .regex(
    new RegExp(
      String.raw`^(bridge|${CHAIN_PREFIX}(native|0x[0-9a-fA-F]{40}|v3pos:0x[0-9a-f]{40}:\d{1,78}))$`,
    ),
    TRACED_ASSET_MESSAGE,
  );
const SEED_MESSAGE = "a transaction hash or ADDRESS@BLOCK is required";
const seedField = z
  .string(SEED_MESSAGE)
  .trim()
  .regex(/^(0x[0-9a-fA-F]{64}|0x[0-9a-fA-F]{40}@\d{1,15})$/, SEED_MESSAGE);
/** A seed as written, the same whatever the case or the block's leading zeros. */
const seedKey = (seed: string) => seed.toLowerCase().replace(/@0+(?=\d)/, "@");
/** An asset as written, the same whatever the case. */
const assetKey = (token: string) => token.toLowerCase();
const countUpTo = (max: number, message: string) =>
  z.int(message).min(0, message).max(max, message);

/** A term of an exit list, as `veritrace trace --exit-categories` reads it. */
function exitCategoryCheck(text: string, ctx: z.RefinementCtx): void {
  const read = exitTerm(text);
  if ("problem" in read) ctx.addIssue({ code: "custom", message: read.problem });
}

export const TraceRequest = named(
  "TraceRequest",
  z
    .strictObject(
      {
        token: tokenField.describe(
          'A token address, "native", or "all": every asset the taint reaches, through swaps, wrapping and liquidity.',
        ),
        seed: z
          .union([
            seedField,
            z
              .array(seedField, "a list of seeds")
              .min(1, "a list of one seed at least")
              .max(MAX_TRACE_SEEDS, `at most ${MAX_TRACE_SEEDS} seeds`),
          ])
          .describe(
            "A transaction hash or ADDRESS@BLOCK, or a list of them (one combined trace, each holding and exit split by seed).",
          ),
        seedAsset: assetField
          .optional()
          .describe(
            'With "all": the asset the seeds create taint in (default: the only asset a seed transaction moves; required with a balance seed).',
          ),
        model: z.enum(TAINT_MODEL_NAMES, `one of ${TAINT_MODEL_NAMES.join(", ")} is required`),
        hops: countUpTo(MAX_TRACE_HOPS, `an integer from 0 to ${MAX_TRACE_HOPS}`).optional(),
        minAmount: z
          .string("a decimal string of base units")
          .regex(/^\d{1,78}$/, "a decimal string of base units")
          .optional(),
        window: z
          .int("a number of seconds, at least 1")
          .min(1, "a number of seconds, at least 1")
          .max(2 ** 40, "a number of seconds, at least 1")
          .optional()
          .describe("Seconds after the seed."),
        toBlock: countUpTo(Number.MAX_SAFE_INTEGER, "a block number").optional(),
        paths: countUpTo(MAX_TRACE_PATHS, `an integer from 0 to ${MAX_TRACE_PATHS}`).optional(),
        exitCategories: z
          .array(z.string().superRefine(exitCategoryCheck), "a list of category names")
          .optional()
          .describe(
            "The labels where taint stops: exchange, bridge, mixer and the GraphSense taxonomy's services " +
              `(default: ${DEFAULT_EXIT_CATEGORIES.join(", ")}).`,
          ),
        depositAddresses: z
          .boolean("true or false")
          .optional()
          .describe(
            "Whether taint stops at deposit addresses of labeled exchanges (default true; docs/clustering.md).",
          ),
        chains: z
          .array(
            z.int("a chain id").min(1, "a chain id").max(Number.MAX_SAFE_INTEGER, "a chain id"),
            "a list of chain ids",
          )
          .max(MAX_TRACE_CHAINS, `at most ${MAX_TRACE_CHAINS} chains`)
          .optional()
          .describe(
            'With "all": the other chains to follow the funds to over bridges, by id, among those the server reads (veritrace serve --chain); default every one of them.',
          ),
        lazy: z
          .boolean("true or false")
          .optional()
          .describe(
            "Read only the histories of the addresses the taint reaches, not the whole streams (as veritrace trace --lazy; docs/scale.md).",
          ),
      },
      "a JSON object {token, seed, model, hops?, …} is required",
    )
    .superRefine((body, ctx) => {
      // What `veritrace trace` refuses too: a seed twice, a seed asset that isn't the token
      // traced, a balance seed of every asset without its asset.
      const seeds = typeof body.seed === "string" ? [body.seed] : body.seed;
      const seen = new Set<string>();
      seeds.forEach((seed, i) => {
        if (seen.has(seedKey(seed)))
          ctx.addIssue({
            code: "custom",
            path: ["seed", i],
            message: `seed ${seedKey(seed)} is given twice`,
          });
        seen.add(seedKey(seed));
      });
      const all = body.token === "all";
      if (!all && (body.chains?.length ?? 0) > 0)
        ctx.addIssue({
          code: "custom",
          path: ["chains"],
          message: 'other chains need a trace of every asset (token "all")',
        });
      if (new Set(body.chains).size !== (body.chains?.length ?? 0))
        ctx.addIssue({ code: "custom", path: ["chains"], message: "a chain is given twice" });
      if (!all && body.seedAsset !== undefined && assetKey(body.seedAsset) !== assetKey(body.token))
        ctx.addIssue({
          code: "custom",
          path: ["seedAsset"],
          message: `${body.seedAsset} is not the token traced (${body.token})`,
        });
      if (all && body.seedAsset === undefined && seeds.some((seed) => seed.includes("@")))
        ctx.addIssue({
          code: "custom",
          path: ["seedAsset"],
          message:
            "a balance seed (ADDRESS@BLOCK) of every asset needs seedAsset, the asset it seeds",
        });
    }),
);

/** What a deposit address's exit carries: its exchange, the heuristic's evidence, its confidence. */
const depositEvidence = {
  depositOf: z
    .object({ address: lowAddress, label: z.string() })
    .optional()
    .describe("For a deposit address: the exchange it forwards to."),
  evidence: z
    .array(z.string())
    .optional()
    .describe("For a deposit address: the transactions that forwarded its inflows on."),
  confidence: z
    .number()
    .min(0)
    .max(1)
    .optional()
    .describe("For a deposit address: the share of its inflows it forwarded, 0 to 1."),
};

/** The legend entries of a node's fill (docs/flow-pictures.md, "Color"). */
export const GRAPH_CATEGORIES = PALETTE_ENTRIES;

export const FlowNode = named(
  "FlowNode",
  z.object({
    address: flowAddress,
    label: z.string().nullable().describe("The label's text, when the address has one."),
    category: z.enum(GRAPH_CATEGORIES).nullable(),
    seed: z.boolean(),
    taintIn: amount.describe("Taint received by tainted transfers."),
    taintOut: amount.describe("Taint sent on by tainted transfers."),
    held: amount.nullable().describe("Taint still held at the end (a holding)."),
    exit: z
      .object({
        kind: z.enum(EXIT_KIND_NAMES),
        amount,
        label: z.string().nullable(),
        ...depositEvidence,
      })
      .nullable(),
    weight: amount.describe(
      "The taint the node stands for: the most it received, passed, held or delivered.",
    ),
    hops: count.nullable().describe("The fewest hops from the seed, for holdings and exits."),
    assets: z
      .array(
        z.object({
          token: tracedAssetField,
          taintIn: amount,
          taintOut: amount,
          held: amount.nullable(),
          exited: amount.nullable(),
          value: amount.describe("What it holds and exited in this asset, in the seed's asset."),
        }),
      )
      .describe(
        "Its taint in each asset, in that asset's base units (a conversion's input counts at its payer, its output at its receiver).",
      ),
  }),
  "One address of the flow. Its amounts are in the seed's asset (valued at the rates of the " +
    "trace's conversions: equal to the amounts in a trace of one token); `assets` has each " +
    "asset's own.",
);

/** One conversion of a conversion edge, as its event says. */
export const ConversionStep = named(
  "ConversionStep",
  z.object({
    venue: z.enum(CONVERSION_VENUE_NAMES),
    action: z.enum(CONVERSION_ACTION_NAMES),
    contract: flowContract.describe("The pool, the wrapper, the Vault, the bridge's contract."),
    pool: flowContract
      .optional()
      .describe(
        "Balancer V2: the pool the Vault priced the swap in (the poolId's first 20 bytes); `contract` is the Vault.",
      ),
    logIndex: count,
    tokenIn: tracedAssetField,
    amountIn: amount,
    tokenOut: tracedAssetField,
    amountOut: amount,
    bridge: z
      .object({
        name: z.string(),
        fromChainId: count,
        toChainId: count,
        depositTx: z.string(),
        releaseTx: z.string(),
        by: z.enum(["id", "fallback"]),
        confidence: z.number().min(0).max(1),
        reason: z.string(),
      })
      .optional()
      .describe(
        "A bridge crossing (a trace across chains): its two sides and how they were paired.",
      ),
  }),
);

export const FlowEdge = named(
  "FlowEdge",
  z.object({
    chainId: count.optional().describe("In a trace across chains: the chain of the transfer."),
    txHash: z.string(),
    blockNumber: count,
    from: flowAddress,
    to: flowAddress,
    token: tracedAssetField.describe("The asset moved (for a conversion: the asset that went in)."),
    amount,
    tainted: amount,
    fate: z.enum(["seed", "carried", "exit", "beyond-hop-limit", "below-minimum"]),
    out: z
      .object({
        token: tracedAssetField,
        amount,
        tainted: amount,
        steps: z.array(ConversionStep),
      })
      .optional()
      .describe(
        "A conversion (a swap, a wrap, liquidity added or removed): what reached `to`, after the steps (a route: a step per pool).",
      ),
  }),
  "A tainted transfer, or a conversion from its payer to its receiver (the pool is in its steps).",
);

export const FlowPath = named(
  "FlowPath",
  z.object({
    origin: flowAddress,
    token: tracedAssetField.describe("The asset of `amount`: the holding's or exit's."),
    amount,
    steps: z.array(
      z.object({
        txHash: z.string(),
        from: flowAddress,
        to: flowAddress,
        token: tracedAssetField,
        tainted: amount,
      }),
    ),
  }),
);

/** One seed's share of a holding or an exit (a trace with several seeds). */
const bySeed = {
  bySeed: z
    .array(z.object({ seed: z.string(), amount, value: amount }))
    .optional()
    .describe('With several seeds: each seed\'s share (docs/taint-models.md, "Many seeds").'),
};

export const Trace = named(
  "Trace",
  z.object({
    summary: z.object({
      model: z.string(),
      token: z.string(),
      seedAsset: z.string().describe("The asset the seed created taint in: the unit of values."),
      seed: z.string(),
      seeds: z.array(z.string()).optional().describe("With several seeds: every seed."),
      holdings: z.array(
        z.object({
          chainId: count,
          token: z.string(),
          address: flowAddress,
          amount,
          value: amount.describe("The amount valued in the seed's asset."),
          ...bySeed,
        }),
      ),
      exits: z.array(
        z.object({
          chainId: count,
          token: z.string(),
          address: flowAddress,
          label: z.string(),
          amount,
          value: amount.describe("The amount valued in the seed's asset."),
          ...bySeed,
          destinations: z
            .array(z.object({ chainId: count.nullable(), amount }))
            .optional()
            .describe(
              "A bridge's exit: the chains the deposits were bound for (null: the event does not say).",
            ),
          ...depositEvidence,
        }),
      ),
      total: amount,
      crossings: z
        .array(
          z.object({
            bridge: z.string(),
            fromChainId: count,
            depositTx: z.string(),
            toChainId: count,
            releaseTx: z.string(),
            by: z.enum(["id", "fallback"]),
            confidence: z.number().min(0).max(1),
          }),
        )
        .optional()
        .describe("Across chains: the bridge crossings the taint followed."),
    }),
    chainId: count,
    fromBlock: count,
    toBlock: count,
    decimals: count.nullable().describe("The decimals of the seed's asset."),
    assets: z
      .array(
        z.object({
          token: tracedAssetField,
          decimals: count.nullable(),
          symbol: z.string().nullable(),
        }),
      )
      .describe(
        "Every asset of the trace, in the legend's order (the seed's first, the native coin, then tokens), with its decimals and symbol when the token says.",
      ),
    seedAmount: amount,
    beyondHopLimit: amount,
    belowMinimum: amount,
    complete: z.boolean(),
    note: z.string().nullable(),
    warnings: z.array(
      z.object({
        code: z.enum(WARNING_CODE_NAMES),
        message: z.string(),
        address: flowAddress.nullable(),
      }),
    ),
    nodes: z.array(FlowNode),
    edges: z.array(FlowEdge),
    paths: z
      .record(z.string(), z.array(FlowPath))
      .describe("The paths that carried taint to each holding and exit, by address."),
  }),
  `At most ${MAX_TRACE_NODES} nodes and ${MAX_TRACE_EDGES} edges (400 beyond).`,
);

// ------------------------------------------------------------------------------------ risk

/** The most addresses one screening request takes. */
export const MAX_SCREEN_ADDRESSES = 1000;
/** The most paths per scoring category over HTTP. */
export const MAX_SCREEN_PATHS = 20;
/** The most hops of a screening (analytics/risk/config.ts), and its default. */
export const MAX_SCREEN_HOPS = 10;
export const DEFAULT_SCREEN_HOPS = 3;

/** The categories a score counts: every risk category but "other" (analytics/risk/config.ts). */
const exposureCategory = z.enum(RISK_CATEGORIES).exclude(["other"]);
export const EXPOSURE_CATEGORY_NAMES = exposureCategory.options;
export const VERDICT_NAMES = ["low", "medium", "high", "severe"] as const;

const blockOrTime = (name: string) =>
  countUpTo(Number.MAX_SAFE_INTEGER, "a non-negative integer").optional().describe(name);

export const RiskScreenRequest = named(
  "RiskScreenRequest",
  z.strictObject(
    {
      addresses: z
        .array(z.string().max(128), "a non-empty list of strings is required")
        .min(1, "a non-empty list of strings is required")
        .max(MAX_SCREEN_ADDRESSES, `at most ${MAX_SCREEN_ADDRESSES} per request`)
        .describe("Each answered on its line (1-based)."),
      token: tokenField.optional().describe('A token address, or "native" (default).'),
      hops: z
        .int(`an integer from 1 to ${MAX_SCREEN_HOPS}`)
        .min(1, `an integer from 1 to ${MAX_SCREEN_HOPS}`)
        .max(MAX_SCREEN_HOPS, `an integer from 1 to ${MAX_SCREEN_HOPS}`)
        .default(DEFAULT_SCREEN_HOPS),
      paths: countUpTo(MAX_SCREEN_PATHS, `an integer from 0 to ${MAX_SCREEN_PATHS}`).default(3),
      fromBlock: blockOrTime("First block."),
      toBlock: blockOrTime("Last block."),
      since: blockOrTime("Block time, unix seconds."),
      until: blockOrTime("Block time, unix seconds."),
      config: z
        .strictObject({
          weights: z.record(z.string(), percent).optional(),
          hops: z.array(percent).optional(),
          saturation: z.int().min(1).max(10_000).optional(),
          thresholds: z
            .strictObject({
              medium: percent.optional(),
              high: percent.optional(),
              severe: percent.optional(),
            })
            .optional(),
        })
        .optional()
        .describe("Score parameters (docs/risk.md): weights, hops, saturation, thresholds."),
    },
    "a JSON object {addresses, token?, hops?, …} is required",
  ),
);

export const RiskLineError = named(
  "RiskLineError",
  z.object({
    line: z.int().min(1),
    input: z.string(),
    error: z.string().describe("Why the line was not screened."),
  }),
);

export const RiskReport = named(
  "RiskReport",
  z.object({
    line: z.int().min(1),
    input: z.string(),
    token: z.string(),
    address: lowAddress,
    hops: count,
    received: amount,
    score: percent,
    verdict: z.enum(VERDICT_NAMES),
    label: z.object({ category: exposureCategory, label: z.string() }).nullable(),
    exposures: z.array(
      z.object({
        category: exposureCategory,
        direct: amount,
        indirect: amount,
        byHop: z.array(amount),
        share: z.string().describe("Of what the address received, e.g. 12.50%."),
        points: z.number(),
      }),
    ),
    paths: z.array(
      z.object({
        category: exposureCategory,
        amount,
        source: lowAddress,
        sourceLabel: z.string(),
        steps: z.array(
          z.object({
            txHash: z.string(),
            blockNumber: count,
            ordinal: count.describe("position in the block (log index)"),
            from: lowAddress,
            to: lowAddress,
            amount,
          }),
        ),
      }),
    ),
  }),
);

export const RiskScreen = named(
  "RiskScreen",
  z.object({
    chainId: count,
    hops: count,
    toBlock: count,
    addresses: count,
    screened: count,
    errors: count,
    verdicts: z.object({ low: count, medium: count, high: count, severe: count }),
    streams: z.array(
      z.object({
        token: z.string(),
        fromBlock: count,
        transfers: count,
        complete: z.boolean(),
        note: z.string().nullable(),
      }),
    ),
    results: z.array(z.union([RiskReport, RiskLineError])),
  }),
);

/** The answer of `GET /openapi.json`. */
export const OpenApiDocument = named(
  "OpenApiDocument",
  z.looseObject({ openapi: z.literal("3.1.0") }),
  "The OpenAPI 3.1 document.",
);

// ---------------------------------------------------------------------------------- errors

/** The codes of the API's problems (`code` of a problem+json answer). */
export const PROBLEM_CODES = [
  "bad_request",
  "unauthorized",
  "forbidden",
  "not_found",
  "conflict",
  "method_not_allowed",
  "payload_too_large",
  "uri_too_long",
  "unsupported_media_type",
  "rate_limited",
  "verification_failed",
  "internal",
  "rpc_unavailable",
  "unavailable",
  "timeout",
  "access_log",
  "no_rpc",
] as const;

/** An error answer: RFC 9457 problem details (`application/problem+json`). */
export const Problem = named(
  "Problem",
  z.object({
    type: z
      .string()
      .describe("A URI reference naming the problem: /problems/ and its code (docs/api.md)."),
    title: z.string().describe("The problem's title, the same for every occurrence."),
    status: z.int().min(400).max(599).describe("The HTTP status."),
    detail: z.string().describe("One human sentence about this occurrence."),
    code: z.enum(PROBLEM_CODES).describe("The problem's code, for programs."),
  }),
  "RFC 9457 problem details.",
);

// ------------------------------------------------------------------------ the types derived

export type Health = z.output<typeof Health>;
export type CaseStatus = z.output<typeof CaseStatus>;
export type CaseSummary = z.output<typeof CaseSummary>;
export type CustodyEntry = z.output<typeof CustodyEntry>;
export type CaseReport = z.output<typeof CaseReport>;
export type ExchangeState = z.output<typeof ExchangeState>;
export type SubjectReport = z.output<typeof SubjectReport>;
export type Institution = z.output<typeof Institution>;
export type InstitutionCaseActivity = z.output<typeof InstitutionCaseActivity>;
export type InstitutionReport = z.output<typeof InstitutionReport>;
export type ActivityCell = z.output<typeof ActivityCell>;
export type Activity = z.output<typeof Activity>;
export type SignatureCheck = z.output<typeof SignatureCheck>;
export type DeliveryVerification = z.output<typeof DeliveryVerification>;
export type EntryVerification = z.output<typeof EntryVerification>;
export type AnomalyRule = z.output<typeof AnomalyRule>;
export type Evidence = z.output<typeof Evidence>;
export type Anomaly = z.output<typeof Anomaly>;
export type TraceRequest = z.input<typeof TraceRequest>;
export type FlowNode = z.output<typeof FlowNode>;
export type FlowEdge = z.output<typeof FlowEdge>;
export type ConversionStep = z.output<typeof ConversionStep>;
export type FlowPath = z.output<typeof FlowPath>;
export type Trace = z.output<typeof Trace>;
export type RiskScreenRequest = z.input<typeof RiskScreenRequest>;
export type RiskReport = z.output<typeof RiskReport>;
export type RiskLineError = z.output<typeof RiskLineError>;
export type RiskScreen = z.output<typeof RiskScreen>;
export type Problem = z.output<typeof Problem>;
export type ProblemCode = (typeof PROBLEM_CODES)[number];
