/**
 * The OpenAPI description of the routes the dashboard added (`GET /activity`, `POST /trace`),
 * merged into {@link openApiDocument} (openapi.ts) next to the others. Its schema helpers serve
 * openapi-risk.ts too.
 */
import type { MediaType, PathItem, Reference, Schema } from "./openapi-types.js";
import {
  MAX_TRACE_EDGES,
  MAX_TRACE_HOPS,
  MAX_TRACE_NODES,
  MAX_TRACE_PATHS,
} from "./routes/trace.js";

export const schema = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
export const response = (name: string): Reference => ({ $ref: `#/components/responses/${name}` });
export const json = (s: Schema): Readonly<Record<string, MediaType>> => ({
  "application/json": { schema: s },
});
export const errors = (...statuses: readonly string[]): Record<string, Reference> => {
  const names: Record<string, string> = {
    "400": "BadRequest",
    "401": "Unauthorized",
    "403": "Forbidden",
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
    if (name !== undefined) out[s] = response(name);
  }
  return out;
};
export const amount: Schema = {
  type: "string",
  pattern: "^\\d+$",
  description: "Base units, decimal.",
};
export const address: Schema = { type: "string", pattern: "^0x[0-9a-f]{40}$" };
export const nullable = (s: Schema): Schema => ({ oneOf: [s, { type: "null" }] });
export const object = (
  properties: Readonly<Record<string, Schema>>,
  description?: string,
): Schema => ({
  type: "object",
  ...(description === undefined ? {} : { description }),
  properties,
  required: Object.keys(properties),
});
export const arrayOf = (items: Schema): Schema => ({ type: "array", items });
const day: Schema = { type: "string", pattern: "^\\d{4}-\\d{2}-\\d{2}$" };

export const dashboardTags = [
  { name: "fund flows", description: "Tracing tainted funds on the server's chain." },
] as const;

export const dashboardPaths: Readonly<Record<string, PathItem>> = {
  "/activity": {
    get: {
      operationId: "getActivity",
      summary: "Every institution's activity per UTC day, as requester and as provider",
      description:
        "Requester: requests sent. Provider: grants, denials, deliveries and revocations. Each " +
        "cell lists its cases (at most 100).",
      tags: ["institutions"],
      parameters: [
        { name: "from", in: "query", description: "First day (UTC), inclusive.", schema: day },
        { name: "to", in: "query", description: "Last day (UTC), inclusive.", schema: day },
      ],
      responses: {
        "200": { description: "The activity.", content: json(schema("Activity")) },
        ...errors("400", "401"),
      },
    },
  },
  "/trace": {
    post: {
      operationId: "runTrace",
      summary: "Trace tainted funds on the server's chain (as veritrace trace --json)",
      description:
        "Reads the token's transfers from the server's JSON-RPC node (`veritrace serve --rpc`) " +
        "into the store and runs the taint model. `summary` is exactly the object `veritrace " +
        "trace --json` prints for the same input; `nodes`, `edges` and `paths` draw the flow. " +
        "Traces run one at a time; a trace longer than the request timeout answers 503.",
      tags: ["fund flows"],
      requestBody: {
        description: "The trace's input, as the command's options.",
        required: true,
        content: json(schema("TraceRequest")),
      },
      responses: {
        "200": { description: "The trace.", content: json(schema("Trace")) },
        "502": {
          description: "The server's node does not answer.",
          content: json(schema("Error")),
        },
        ...errors("400", "401", "413", "415"),
      },
    },
  },
};

export const dashboardSchemas: Readonly<Record<string, Schema>> = {
  Activity: object({
    days: arrayOf(day),
    institutions: arrayOf(
      object({ id: { type: "integer" }, kind: { type: "string" }, status: { type: "string" } }),
    ),
    cells: arrayOf(
      object({
        institution: { type: "integer" },
        role: { type: "string", enum: ["requester", "provider"] },
        day,
        events: { type: "integer" },
        cases: arrayOf({ type: "string", pattern: "^\\d+$" }),
      }),
    ),
  }),
  TraceRequest: {
    type: "object",
    properties: {
      token: { type: "string", description: 'A token address, or "native".' },
      seed: { type: "string", description: "A transaction hash, or ADDRESS@BLOCK." },
      model: { type: "string", enum: ["poison", "haircut", "fifo"] },
      hops: { type: "integer", minimum: 0, maximum: MAX_TRACE_HOPS },
      minAmount: amount,
      window: { type: "integer", minimum: 1, description: "Seconds after the seed." },
      toBlock: { type: "integer", minimum: 0 },
      paths: { type: "integer", minimum: 0, maximum: MAX_TRACE_PATHS },
    },
    required: ["token", "seed", "model"],
    additionalProperties: false,
  },
  Trace: object(
    {
      summary: object({
        model: { type: "string" },
        token: { type: "string" },
        seed: { type: "string" },
        holdings: arrayOf(object({ address, amount })),
        exits: arrayOf(object({ address, label: { type: "string" }, amount })),
        total: amount,
      }),
      chainId: { type: "integer" },
      fromBlock: { type: "integer" },
      toBlock: { type: "integer" },
      decimals: nullable({ type: "integer" }),
      seedAmount: amount,
      beyondHopLimit: amount,
      belowMinimum: amount,
      complete: { type: "boolean" },
      note: nullable({ type: "string" }),
      warnings: arrayOf(
        object({
          code: { type: "string" },
          message: { type: "string" },
          address: nullable(address),
        }),
      ),
      nodes: arrayOf(schema("FlowNode")),
      edges: arrayOf(
        object({
          txHash: { type: "string" },
          blockNumber: { type: "integer" },
          from: address,
          to: address,
          amount,
          tainted: amount,
          fate: {
            type: "string",
            enum: ["seed", "carried", "exit", "beyond-hop-limit", "below-minimum"],
          },
        }),
      ),
      paths: {
        type: "object",
        description: "The paths that carried taint to each holding and exit, by address.",
        additionalProperties: arrayOf(
          object({
            origin: address,
            amount,
            steps: arrayOf(
              object({ txHash: { type: "string" }, from: address, to: address, tainted: amount }),
            ),
          }),
        ),
      },
    },
    `At most ${MAX_TRACE_NODES} nodes and ${MAX_TRACE_EDGES} edges (400 beyond).`,
  ),
  FlowNode: object({
    address,
    label: nullable({ type: "string" }),
    category: nullable({
      type: "string",
      enum: [
        "sanctioned",
        "hack / ransomware",
        "scam / phishing",
        "darknet",
        "mixer",
        "bridge",
        "exchange",
        "other",
      ],
    }),
    seed: { type: "boolean" },
    taintIn: amount,
    taintOut: amount,
    held: nullable(amount),
    exit: nullable(
      object({
        kind: { type: "string", enum: ["exchange", "bridge", "mixer", "burn", "fee"] },
        amount,
        label: nullable({ type: "string" }),
      }),
    ),
    weight: amount,
    hops: nullable({ type: "integer" }),
  }),
};
