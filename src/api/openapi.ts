/**
 * The API's OpenAPI 3.1 document, generated from the routes and the schemas of wire.ts: nothing
 * in it is written twice. Served at `GET /openapi.json`; test/api/wire.test.ts checks real
 * answers of every route against it.
 */
import { z } from "zod";
import type { Operation as RouteOperation, Route } from "./route.js";
import { components } from "./wire.js";
import { PROBLEM_MEDIA_TYPE } from "../shared/problem-format.js";

/** A JSON Schema (2020-12, the dialect of OpenAPI 3.1). */
export type Schema = Record<string, unknown>;

export interface Reference {
  $ref: string;
}

export interface Parameter {
  name: string;
  in: "path" | "query";
  description?: string;
  required?: boolean;
  style?: "form";
  explode?: boolean;
  schema: Schema;
}

export interface MediaType {
  schema: Schema | Reference;
}

export interface Response {
  description: string;
  headers?: Readonly<Record<string, { description: string; schema: Schema }>>;
  content?: Readonly<Record<string, MediaType>>;
}

export interface Operation {
  operationId: string;
  summary: string;
  description?: string;
  tags: readonly string[];
  /** `[]` for the routes answered without authentication. */
  security?: readonly Readonly<Record<string, readonly string[]>>[];
  parameters?: readonly Parameter[];
  requestBody?: {
    description: string;
    required: boolean;
    content: Readonly<Record<string, MediaType>>;
  };
  responses: Readonly<Record<string, Response | Reference>>;
}

export interface PathItem {
  get?: Operation;
  post?: Operation;
}

/** The document (a type, not an interface: it is a JSON object of any keys to the wire). */
export type OpenApiDocument = {
  openapi: "3.1.0";
  info: {
    title: string;
    version: string;
    summary: string;
    description: string;
    license: { name: string; identifier: string };
  };
  jsonSchemaDialect: string;
  security: readonly Readonly<Record<string, readonly string[]>>[];
  tags: readonly { name: string; description: string }[];
  paths: Readonly<Record<string, PathItem>>;
  components: {
    schemas: Readonly<Record<string, Schema>>;
    responses: Readonly<Record<string, Response>>;
    securitySchemes: Readonly<
      Record<string, { type: "http"; scheme: "bearer"; description: string }>
    >;
  };
};

/** The operations' tags, and what each groups. */
const TAGS: Readonly<Record<string, string>> = {
  service: "State of the service itself.",
  cases: "Cases and their chains of custody.",
  institutions: "Participants and their activity.",
  verification: "Off-chain re-checks of signatures and proofs.",
  anomalies: "Patterns across transactions worth an auditor's look.",
  "fund flows": "Tracing tainted funds on the server's chain.",
  risk: "Address exposure scores for deposits and payouts (docs/risk.md).",
};

const problemContent = {
  [PROBLEM_MEDIA_TYPE]: { schema: { $ref: "#/components/schemas/Problem" } },
};

/** A response header, a string unless said otherwise. */
const header = (description: string, schema: Schema = { type: "string" }) => ({
  description,
  schema,
});

/** The error answers, by status (each a problem): every operation refers to them. */
const ERROR_RESPONSES: Readonly<Record<string, { name: string; response: Response }>> =
  Object.fromEntries(
    (
      [
        ["400", "BadRequest", "A parameter or the body is malformed (`detail` names it)."],
        [
          "401",
          "Unauthorized",
          "No valid bearer token.",
          { "WWW-Authenticate": header('Bearer realm="veritrace"') },
        ],
        [
          "403",
          "Forbidden",
          "An unauthenticated (--insecure-local) server refuses non-local clients.",
        ],
        ["404", "NotFound", "No such route, case, institution, delivery or anchor."],
        [
          "405",
          "MethodNotAllowed",
          "The route exists, not with this method.",
          { Allow: header("The methods the route accepts.") },
        ],
        [
          "409",
          "Conflict",
          "The case number commitment names cases of different openers (commitments are unique per opener only): give the case id.",
        ],
        ["413", "PayloadTooLarge", "The body exceeds the server's limit."],
        ["414", "UriTooLong", "The request target exceeds the server's limit."],
        ["415", "UnsupportedMediaType", "The body is not application/json."],
        ["422", "VerificationFailed", "What was to be checked was checked, and does not hold."],
        [
          "429",
          "TooManyRequests",
          "The token's (or client's) rate limit is spent.",
          {
            "Retry-After": header("Seconds until a request is allowed.", {
              type: "integer",
              minimum: 0,
            }),
          },
        ],
        ["500", "InternalError", "An unexpected failure (details in the server's log)."],
        ["502", "BadGateway", "The server's JSON-RPC node does not answer (code rpc_unavailable)."],
        [
          "503",
          "Unavailable",
          "The answer took longer than the server's request timeout (code timeout), the access log could not be written and the answer is withheld (code access_log), the route needs a JSON-RPC node the server has not (code no_rpc), or the store does not answer (code unavailable).",
        ],
      ] as const
    ).map(([status, name, description, headers]) => [
      status,
      {
        name,
        response: {
          description,
          ...(headers === undefined ? {} : { headers }),
          content: problemContent,
        },
      },
    ]),
  );

/** Statuses any route may answer. */
const ALWAYS = ["403", "405", "414", "429", "500", "503"] as const;

const ref = (schema: z.ZodType): Reference | null => {
  const id = components.get(schema)?.id;
  return id === undefined ? null : { $ref: `#/components/schemas/${id}` };
};

/** A schema without `$schema` and `$id`: the document's dialect and place name it. */
function withoutIds(schema: Schema): Schema {
  const out = { ...schema };
  delete out["$schema"];
  delete out["$id"];
  return out;
}

/** A schema standing alone (a parameter's), in the document's dialect. */
function jsonSchema(schema: z.ZodType, io: "input" | "output"): Schema {
  return withoutIds(z.toJSONSchema(schema, { io, unrepresentable: "any" }));
}

/** A body or an answer: a reference to its component. */
function content(schema: z.ZodType, media: string): Readonly<Record<string, MediaType>> {
  const target = ref(schema);
  if (target === null) throw new Error("a body or an answer must be a named schema of wire.ts");
  return { [media]: { schema: target } };
}

function parameters(route: Route, op: RouteOperation): Parameter[] {
  const one = (name: string, schema: z.ZodType, where: "path" | "query"): Parameter => {
    const { description, ...rest } = jsonSchema(schema, "output");
    return {
      name,
      in: where,
      ...(typeof description === "string" ? { description } : {}),
      ...(where === "path" || !schema.safeParse(undefined).success ? { required: true } : {}),
      ...(op.commaSeparated.includes(name) ? { style: "form", explode: false } : {}),
      schema: rest,
    };
  };
  return [
    ...Object.entries(route.params).map(([name, s]) => one(name, s, "path")),
    ...Object.entries(op.query).map(([name, s]) => one(name, s, "query")),
  ];
}

function operationOf(route: Route, op: RouteOperation): Operation {
  const statuses = new Set<string>([
    ...(route.public ? [] : ["401"]),
    ...op.errors.map(String),
    ...ALWAYS,
  ]);
  const params = parameters(route, op);
  return {
    operationId: op.operationId,
    summary: op.summary,
    ...(op.description === undefined ? {} : { description: op.description }),
    tags: op.tags,
    ...(route.public ? { security: [] } : {}),
    ...(params.length === 0 ? {} : { parameters: params }),
    ...(op.body === undefined
      ? {}
      : {
          requestBody: {
            description: op.bodyDescription ?? "",
            required: true,
            content: content(op.body, "application/json"),
          },
        }),
    responses: {
      "200": {
        description: op.responseDescription,
        content: content(op.response, "application/json"),
      },
      ...Object.fromEntries(
        [...statuses].sort().flatMap((s) => {
          const e = ERROR_RESPONSES[s];
          return e === undefined ? [] : [[s, { $ref: `#/components/responses/${e.name}` }]];
        }),
      ),
    },
  };
}

/** The component schemas: the bodies as clients write them, the answers as the server writes them. */
function componentSchemas(routes: readonly Route[]): Record<string, Schema> {
  const bodies = new Set<string>();
  for (const r of routes) {
    for (const op of Object.values(r.operations)) {
      const id = op.body === undefined ? undefined : components.get(op.body)?.id;
      if (id !== undefined) bodies.add(id);
    }
  }
  const convert = (io: "input" | "output") =>
    z.toJSONSchema(components, {
      io,
      unrepresentable: "any",
      uri: (id) => `#/components/schemas/${id}`,
    }).schemas;
  const output = convert("output");
  const input = convert("input");
  const out: Record<string, Schema> = {};
  for (const [id, schema] of Object.entries(output)) {
    out[id] = withoutIds((bodies.has(id) ? input[id] : schema) ?? schema);
  }
  return out;
}

/** The OpenAPI 3.1 description of `routes`. */
export function buildOpenApi(routes: readonly Route[]): OpenApiDocument {
  const paths: Record<string, PathItem> = {};
  for (const r of routes) {
    const item: PathItem = {};
    if (r.operations.GET !== undefined) item.get = operationOf(r, r.operations.GET);
    if (r.operations.POST !== undefined) item.post = operationOf(r, r.operations.POST);
    paths[r.path] = item;
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "Veritrace tracing API",
      version: "1.0.0",
      summary: "Read-only audit queries over the indexed events of a Veritrace consortium.",
      description:
        "Every answer is computed from the tracer's store, which the indexer fills from the chain. " +
        "Authenticate with `Authorization: Bearer <token>` (except /health and /openapi.json). " +
        "Lists are paginated with `limit` and an opaque `cursor`; ids of uint256 values are decimal " +
        "strings. Errors are RFC 9457 problem details (`application/problem+json`): " +
        "`{type, title, status, detail, code}`.",
      license: { name: "Apache 2.0", identifier: "Apache-2.0" },
    },
    jsonSchemaDialect: "https://spec.openapis.org/oas/3.1/dialect/base",
    security: [{ bearerAuth: [] }],
    tags: Object.entries(TAGS).map(([name, description]) => ({ name, description })),
    paths,
    components: {
      securitySchemes: {
        bearerAuth: {
          type: "http",
          scheme: "bearer",
          description: "One of the server's API tokens (--tokens FILE or VERITRACE_API_TOKENS).",
        },
      },
      responses: Object.fromEntries(
        Object.values(ERROR_RESPONSES).map(({ name, response }) => [name, response]),
      ),
      schemas: componentSchemas(routes),
    },
  };
}
