/** An error of the tracer with a message meant for the user: one line, no stack needed. */
export class TracerError extends Error {
  override name = "TracerError";
}

/** Bad command-line usage (exit code 2). */
export class UsageError extends TracerError {
  override name = "UsageError";
}
