/**
 * The OpenAPI description of `POST /risk/screen` (src/api/routes/risk-screen.ts), merged into
 * {@link openApiDocument} (openapi.ts) like the dashboard's routes.
 */
import { EXPOSURE_CATEGORIES, MAX_HOPS, VERDICTS } from "../analytics/risk/config.js";
import { MAX_SCREEN_ADDRESSES, MAX_SCREEN_PATHS } from "./routes/risk-screen.js";
import {
  address,
  amount,
  arrayOf,
  errors,
  json,
  nullable,
  object,
  schema,
} from "./openapi-dashboard.js";
import type { PathItem, Schema } from "./openapi-types.js";

const category: Schema = { type: "string", enum: EXPOSURE_CATEGORIES };
const count: Schema = { type: "integer", minimum: 0 };
const percent: Schema = { type: "integer", minimum: 0, maximum: 100 };

export const riskTags = [
  {
    name: "risk",
    description: "Address exposure scores for deposits and payouts (docs/risk.md).",
  },
] as const;

export const riskPaths: Readonly<Record<string, PathItem>> = {
  "/risk/screen": {
    post: {
      operationId: "screenAddresses",
      summary: "Score addresses' exposure to risky funds (as veritrace screen --json)",
      description:
        "Reads the token's transfers from the server's JSON-RPC node (`veritrace serve --rpc`) " +
        "into the store, walks back from each address up to `hops` transfers and scores what " +
        "it received from labeled addresses. The answer is exactly the object `veritrace screen " +
        "--json` prints. A malformed or non-EVM address, or a token with no contract, is " +
        "answered on its line (`error`); the others are screened. Screens run one at a time, " +
        "with traces.",
      tags: ["risk"],
      requestBody: {
        description: "The addresses and the screening's options.",
        required: true,
        content: json(schema("RiskScreenRequest")),
      },
      responses: {
        "200": { description: "The screening.", content: json(schema("RiskScreen")) },
        "502": {
          description: "The server's node does not answer.",
          content: json(schema("Error")),
        },
        ...errors("400", "401", "413", "415"),
      },
    },
  },
};

export const riskSchemas: Readonly<Record<string, Schema>> = {
  RiskScreenRequest: {
    type: "object",
    properties: {
      addresses: {
        type: "array",
        items: { type: "string" },
        minItems: 1,
        description: `At most ${MAX_SCREEN_ADDRESSES}; each answered on its line (1-based).`,
      },
      token: { type: "string", description: 'A token address, or "native" (default).' },
      hops: { type: "integer", minimum: 1, maximum: MAX_HOPS, default: 3 },
      paths: { type: "integer", minimum: 0, maximum: MAX_SCREEN_PATHS, default: 3 },
      fromBlock: count,
      toBlock: count,
      since: { type: "integer", minimum: 0, description: "Block time, unix seconds." },
      until: { type: "integer", minimum: 0, description: "Block time, unix seconds." },
      config: {
        type: "object",
        description: "Score parameters (docs/risk.md): weights, hops, saturation, thresholds.",
        properties: {
          weights: { type: "object", additionalProperties: percent },
          hops: arrayOf(percent),
          saturation: { type: "integer", minimum: 1, maximum: 10_000 },
          thresholds: {
            type: "object",
            properties: { medium: percent, high: percent, severe: percent },
            additionalProperties: false,
          },
        },
        additionalProperties: false,
      },
    },
    required: ["addresses"],
    additionalProperties: false,
  },
  RiskScreen: object({
    chainId: { type: "integer" },
    hops: { type: "integer" },
    toBlock: { type: "integer" },
    addresses: count,
    screened: count,
    errors: count,
    verdicts: object(Object.fromEntries(VERDICTS.map((v) => [v, count]))),
    streams: arrayOf(
      object({
        token: { type: "string" },
        fromBlock: count,
        transfers: count,
        complete: { type: "boolean" },
        note: nullable({ type: "string" }),
      }),
    ),
    results: arrayOf({ oneOf: [schema("RiskReport"), schema("RiskLineError")] }),
  }),
  RiskLineError: object({
    line: { type: "integer", minimum: 1 },
    input: { type: "string" },
    error: { type: "string", description: "Why the line was not screened." },
  }),
  RiskReport: object({
    line: { type: "integer", minimum: 1 },
    input: { type: "string" },
    token: { type: "string" },
    address,
    hops: { type: "integer" },
    received: amount,
    score: percent,
    verdict: { type: "string", enum: VERDICTS },
    label: nullable(object({ category, label: { type: "string" } })),
    exposures: arrayOf(
      object({
        category,
        direct: amount,
        indirect: amount,
        byHop: arrayOf(amount),
        share: { type: "string", description: "Of what the address received, e.g. 12.50%." },
        points: { type: "number" },
      }),
    ),
    paths: arrayOf(
      object({
        category,
        amount,
        source: address,
        sourceLabel: { type: "string" },
        steps: arrayOf(
          object({
            txHash: { type: "string" },
            blockNumber: { type: "integer" },
            ordinal: { type: "integer", description: "position in the block (log index)" },
            from: address,
            to: address,
            amount,
          }),
        ),
      }),
    ),
  }),
};
