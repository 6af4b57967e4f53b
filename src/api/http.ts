/**
 * The error every route throws to answer with an HTTP status: its own module, so that route
 * modules (routes/trace.ts, routes/activity.ts) and the server can share it without an import cycle.
 */

import { HTTP_STATUSES, type ErrorKind, type VeritraceError } from "../shared/errors.js";

/** A failure with its HTTP status and error code. */
export class HttpError extends Error {
  override name = "HttpError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }
}

/**
 * The answer to an error Veritrace raised on purpose: the status and code of its kind
 * (shared/errors.ts, the one mapping). `unclassified` is the kind a route gives the errors whose
 * kind was not set where they were thrown (default "failed": 500).
 */
export function httpErrorOf(error: VeritraceError, unclassified: ErrorKind = "failed"): HttpError {
  const kind = error.kind === "failed" ? unclassified : error.kind;
  const { status, code } = HTTP_STATUSES[kind];
  return new HttpError(status, code, status === 500 ? "internal error" : error.message);
}

export const badRequest = (message: string) => new HttpError(400, "bad_request", message);
export const notFound = (message: string) => new HttpError(404, "not_found", message);
