/** What a route of the API is and what its handler gets (server.ts answers them). */
import type { Store } from "../db/store.js";
import type { FollowerStatus } from "../ledger/indexer.js";

export type Method = "GET" | "POST";

/** What a route's handler gets. */
export interface RequestContext {
  store: Store;
  method: Method;
  /** The path's parameters, decoded. */
  params: Readonly<Record<string, string>>;
  /** The query string (only the route's declared parameters, each at most once). */
  query: URLSearchParams;
  /** The parsed JSON body of a POST. */
  body: unknown;
  /** The server's JSON-RPC endpoint, if it has one ({@link ApiServerOptions.rpcUrl}). */
  rpcUrl?: string;
  /** The follower's progress, if one runs in this process ({@link ApiServerOptions.follower}). */
  follower?: () => FollowerStatus;
}

/** One route: its OpenAPI path template, methods, query parameters and handler. */
export interface Route {
  path: string;
  methods: readonly Method[];
  /** Answered without authentication, and not logged (nothing of a case or an institution). */
  public: boolean;
  /** Which path parameter names what was read, for the access log. */
  reads?: Readonly<Record<string, "case" | "subject" | "institution" | "delivery" | "anchor">>;
  query: readonly string[];
  handle(ctx: RequestContext): Promise<unknown>;
}
