/**
 * The error answers of both HTTP servers (the tracing API and the matching server): RFC 9457
 * problem details, `application/problem+json`. `type` names the problem (`/problems/` and its
 * code, a URI reference docs/api.md lists), `title` is the same for every occurrence of it,
 * `detail` says this one in a sentence, `code` is the code programs test. The format itself,
 * which clients read too, is problem-format.ts.
 */
import { STATUS_CODES } from "node:http";
import { clip } from "./request-checks.js";
import type { Problem } from "./problem-format.js";

/** Longest `detail` answered: a backstop for messages that echo a value. */
const MAX_DETAIL = 400;

/** Titles of the problems whose title is not the status's reason phrase. */
const TITLES: Readonly<Record<string, string>> = {
  bad_request: "The request is malformed",
  unauthorized: "A valid bearer token is required",
  forbidden: "This server does not answer this client",
  not_found: "No such resource",
  conflict: "The request names more than one thing",
  rate_limited: "Too many requests",
  verification_failed: "The check does not hold",
  timeout: "No answer within the request timeout",
  access_log: "The access log can't be written",
  no_rpc: "This server has no JSON-RPC node",
  rpc_unavailable: "The JSON-RPC node does not answer",
  unavailable: "A service this needs does not answer",
  internal: "Internal error",
};

/** The problem of an answer with this status and code. */
export function problem(status: number, code: string, detail: string): Problem {
  return {
    type: `/problems/${code}`,
    title: TITLES[code] ?? STATUS_CODES[status] ?? "Error",
    status,
    detail: clip(detail, MAX_DETAIL),
    code,
  };
}
