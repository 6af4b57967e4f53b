/**
 * What a route of the API is: its path, and per method an operation whose parameters, body and
 * answer are schemas of wire.ts. {@link route} checks a request against them before the handler
 * runs (a refusal is a 400 naming the field), types the handler from them, and openapi.ts
 * documents the operation from them.
 */
import { z } from "zod";
import type { Store } from "../db/store.js";
import type { FollowerStatus } from "../ledger/indexer.js";
import type { RunTraceInput } from "../analytics/funds/run.js";
import { quote } from "../shared/request-checks.js";
import { badRequest } from "./http.js";

/** Another chain a trace of every asset may follow funds to over a bridge (`serve --chain`). */
export interface TraceChain {
  chainId: number;
  url: string;
}

/** Bridge contracts, tables and token groups beyond the built-in registry (`serve --bridges`). */
export type TraceBridges = Pick<RunTraceInput, "bridgeContracts" | "bridgeTables" | "bridgeTokens">;

export type Method = "GET" | "POST";

/** The schemas of a set of named parameters (path or query), each read from a string. */
type Shape = Readonly<Record<string, z.ZodType<unknown, string | undefined>>>;
type Parsed<S extends Shape> = { [K in keyof S]: z.output<S[K]> };

/** What a handler gets: the request checked against its operation's schemas. */
export interface RequestContext<P extends Shape = Shape, Q extends Shape = Shape, B = unknown> {
  store: Store;
  method: Method;
  /** The path's parameters, decoded and checked. */
  params: Parsed<P>;
  /** The query's parameters, checked (each at most once, none undeclared). */
  query: Parsed<Q>;
  /** The checked JSON body of a POST. */
  body: B;
  /** The server's JSON-RPC endpoint, if it has one ({@link ApiServerOptions.rpcUrl}). */
  rpcUrl?: string;
  /** The other chains a trace may follow funds to ({@link ApiServerOptions.chains}). */
  chains?: readonly TraceChain[];
  /** Bridge contracts beyond the built-in registry ({@link ApiServerOptions.bridges}). */
  bridges?: TraceBridges;
  /** The follower's progress, if one runs in this process ({@link ApiServerOptions.follower}). */
  follower?: () => FollowerStatus;
}

/** Error answers an operation documents beyond those every route can give. */
export type DocumentedStatus = 400 | 401 | 404 | 409 | 413 | 415 | 422 | 502 | 503;

/** One method of a route: its documentation, schemas and handler. */
export interface OperationSpec<
  P extends Shape,
  Q extends Shape,
  B extends z.ZodType | undefined,
  R extends z.ZodType,
> {
  operationId: string;
  summary: string;
  description?: string;
  tags: readonly string[];
  query?: Q;
  /** A POST's JSON body, and what the document says of it. */
  body?: B;
  bodyDescription?: string;
  /** The answer (200), and what the document says of it. */
  response: R;
  responseDescription: string;
  errors?: readonly DocumentedStatus[];
  /** Query parameters read as comma-separated lists (OpenAPI `explode: false`). */
  commaSeparated?: readonly (keyof Q & string)[];
  handle(
    ctx: RequestContext<P, Q, B extends z.ZodType ? z.output<B> : undefined>,
  ): Promise<z.input<R>>;
}

/** An operation as the server and the document read it. */
export interface Operation {
  operationId: string;
  summary: string;
  description?: string;
  tags: readonly string[];
  query: Shape;
  body?: z.ZodType;
  bodyDescription?: string;
  response: z.ZodType;
  responseDescription: string;
  errors: readonly DocumentedStatus[];
  commaSeparated: readonly string[];
  /** Checks the request's parameters and body against the schemas, then answers. */
  run(
    ctx: Omit<RequestContext, "params" | "query" | "body"> & {
      params: Readonly<Record<string, string>>;
      query: URLSearchParams;
      body: unknown;
    },
  ): Promise<unknown>;
}

/** One route: its OpenAPI path template and its operations. */
export interface Route {
  path: string;
  methods: readonly Method[];
  /** Answered without authentication, and not logged (nothing of a case or an institution). */
  public: boolean;
  /** Which path parameter names what was read, for the access log. */
  reads?: Readonly<Record<string, "case" | "subject" | "institution" | "delivery" | "anchor">>;
  /** The path's parameters. */
  params: Shape;
  /** The query parameters the route's GET takes (a POST takes none). */
  query: readonly string[];
  operations: Readonly<Partial<Record<Method, Operation>>>;
}

/** The message of a refusal: the field (or "body") and what it must be. */
export function refusal(error: z.ZodError, where: string): string {
  // An unknown field first: it is often the misspelling behind a missing one.
  const issue = error.issues.find((i) => i.code === "unrecognized_keys") ?? error.issues[0];
  if (issue === undefined) return `${where}: invalid`;
  const field = issue.path.length === 0 ? where : issue.path.map(String).join(".");
  if (issue.code === "unrecognized_keys") {
    return `${field}: unknown field ${quote(issue.keys[0] ?? "")}`;
  }
  return `${field}: ${issue.message}`;
}

function parseShape<S extends Shape>(shape: S, values: Record<string, string | undefined>) {
  const out: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries(shape)) {
    const parsed = schema.safeParse(values[name]);
    if (!parsed.success) throw badRequest(refusal(parsed.error, name));
    out[name] = parsed.data;
  }
  return out as Parsed<S>;
}

/** Builds an {@link Operation} of a route whose path parameters are `params`. */
function operation<
  P extends Shape,
  Q extends Shape,
  B extends z.ZodType | undefined,
  R extends z.ZodType,
>(params: P, spec: OperationSpec<P, Q, B, R>): Operation {
  const query = (spec.query ?? {}) as Q;
  return {
    operationId: spec.operationId,
    summary: spec.summary,
    ...(spec.description === undefined ? {} : { description: spec.description }),
    tags: spec.tags,
    query,
    ...(spec.body === undefined
      ? {}
      : { body: spec.body, bodyDescription: spec.bodyDescription ?? "" }),
    response: spec.response,
    responseDescription: spec.responseDescription,
    errors: spec.errors ?? [],
    commaSeparated: spec.commaSeparated ?? [],
    run(ctx) {
      const checkedParams = parseShape(params, ctx.params);
      const checkedQuery = parseShape(query, Object.fromEntries(ctx.query));
      let body: unknown;
      if (spec.body !== undefined) {
        const parsed = spec.body.safeParse(ctx.body);
        if (!parsed.success) throw badRequest(refusal(parsed.error, "body"));
        body = parsed.data;
      }
      return spec.handle({
        ...ctx,
        params: checkedParams,
        query: checkedQuery,
        body: body as B extends z.ZodType ? z.output<B> : undefined,
      });
    },
  };
}

/**
 * A route: `get` and `post` are its operations, each typed by its own schemas.
 *
 *     route({ path: "/cases/{ref}", params: { ref: caseRef }, public: false })
 *       .get({ operationId: "getCase", response: CaseReport, handle: (ctx) => … })
 */
export function route<P extends Shape>(head: {
  path: string;
  params?: P;
  public: boolean;
  reads?: Route["reads"];
}) {
  const params = (head.params ?? {}) as P;
  const operations: Partial<Record<Method, Operation>> = {};
  const built: Route & {
    get<Q extends Shape, B extends undefined, R extends z.ZodType>(
      spec: OperationSpec<P, Q, B, R>,
    ): typeof built;
    post<B extends z.ZodType, R extends z.ZodType>(
      spec: OperationSpec<P, Record<never, never>, B, R>,
    ): typeof built;
  } = {
    path: head.path,
    public: head.public,
    ...(head.reads === undefined ? {} : { reads: head.reads }),
    params,
    methods: [],
    query: [],
    operations,
    get(spec) {
      operations.GET = operation(params, spec);
      built.methods = [...built.methods, "GET"];
      built.query = Object.keys(spec.query ?? {});
      return built;
    },
    post(spec) {
      operations.POST = operation(params, spec);
      built.methods = [...built.methods, "POST"];
      return built;
    },
  };
  return built;
}
