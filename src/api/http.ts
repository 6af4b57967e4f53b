/**
 * The error every route throws to answer with an HTTP status: its own module, so that route
 * modules (routes/trace.ts, routes/activity.ts) and the server can share it without an import cycle.
 */

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

export const badRequest = (message: string) => new HttpError(400, "bad_request", message);
export const notFound = (message: string) => new HttpError(404, "not_found", message);
