/**
 * What went wrong, as the one who asked must act on it. Every error Veritrace raises on purpose
 * has a kind; the kind alone decides the exit code ({@link EXIT_CODES}) and the HTTP status
 * ({@link HTTP_STATUSES}), each mapped here once.
 */
export type ErrorKind =
  | "invalid-input"
  | "not-found"
  | "conflict"
  | "unavailable"
  | "usage"
  | "verification-failed"
  | "could-not-check"
  | "failed";

/** The exit code of a command that stopped on an error of each kind. */
export const EXIT_CODES: Readonly<Record<ErrorKind, number>> = {
  "invalid-input": 1,
  "not-found": 1,
  conflict: 1,
  unavailable: 1,
  usage: 2,
  "verification-failed": 1,
  "could-not-check": 3,
  failed: 1,
};

/** The HTTP status of an answer refused with an error of each kind, and its error code. */
export const HTTP_STATUSES: Readonly<Record<ErrorKind, { status: number; code: string }>> = {
  "invalid-input": { status: 400, code: "bad_request" },
  usage: { status: 400, code: "bad_request" },
  "not-found": { status: 404, code: "not_found" },
  conflict: { status: 409, code: "conflict" },
  unavailable: { status: 503, code: "unavailable" },
  "verification-failed": { status: 422, code: "verification_failed" },
  "could-not-check": { status: 503, code: "unavailable" },
  failed: { status: 500, code: "internal" },
};

/** The root of every error Veritrace raises on purpose: a message meant for people, and a kind. */
export class VeritraceError extends Error {
  override name = "VeritraceError";
  readonly kind: ErrorKind;
  constructor(message: string, options: { kind?: ErrorKind; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.kind = options.kind ?? "failed";
  }
}

/** An error of the tracing service with a message meant for the user: one line, no stack needed. */
export class TracerError extends VeritraceError {
  override name = "TracerError";
  /** The kind of every error of a subclass (a TracerError's own is the one thrown with it). */
  static readonly kind: ErrorKind | undefined = undefined;
  constructor(message: string, options: { kind?: ErrorKind; cause?: unknown } = {}) {
    super(message, { ...options, kind: (new.target as typeof TracerError).kind ?? options.kind });
  }
}

/** What was asked for does not exist (an unknown case, institution, delivery, anchor…). */
export class NotFoundError extends TracerError {
  override name = "NotFoundError";
  static override readonly kind = "not-found";
}

/** An input that is not what it must be (a malformed id, a file of the wrong shape…). */
export class InvalidInputError extends TracerError {
  override name = "InvalidInputError";
  static override readonly kind = "invalid-input";
}

/** A request that the state refuses: it names more than one thing, or contradicts what is. */
export class ConflictError extends TracerError {
  override name = "ConflictError";
  static override readonly kind = "conflict";
}

/** A service this needs (a node, a database) can't answer now; the same request may work later. */
export class UnavailableError extends TracerError {
  override name = "UnavailableError";
  static override readonly kind = "unavailable";
}

/** What was to be checked was checked, and does not hold (a changed log, a wrong signature). */
export class VerificationFailedError extends TracerError {
  override name = "VerificationFailedError";
  static override readonly kind = "verification-failed";
}

/**
 * An error in one short line: its `shortMessage` (ethers' errors carry the whole transaction in
 * their message), else the first line of its message.
 */
export function firstLine(error: unknown): string {
  const short = (error as { shortMessage?: unknown } | null)?.shortMessage;
  const message =
    typeof short === "string" ? short : error instanceof Error ? error.message : String(error);
  return message.split("\n")[0] ?? "";
}

/** Bad command-line usage (exit code 2). */
export class UsageError extends TracerError {
  override name = "UsageError";
  static override readonly kind = "usage";
}

/** The verify commands' exit codes: a negative answer is not a failure to answer. */
export const VERIFY_EXIT = { verifies: 0, doesNotVerify: 1, usage: 2, couldNotCheck: 3 } as const;

/** The verify commands' help line on their exit codes. */
export const VERIFY_EXIT_CODES =
  "exit codes: 0 verifies, 1 does not verify, 2 usage, 3 could not check (unknown id, empty store, unreadable file, store error)";

/** Thrown by a verify command that could not check: main exits with {@link VERIFY_EXIT}.couldNotCheck. */
export class CouldNotCheckError extends TracerError {
  override name = "CouldNotCheckError";
  readonly exitCode = VERIFY_EXIT.couldNotCheck;
  static override readonly kind = "could-not-check";
}

/** Runs a verification, turning any failure to answer into a {@link CouldNotCheckError}. */
export async function couldNotCheck<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new CouldNotCheckError(`could not check: ${(error as Error).message.split("\n")[0]}`);
  }
}
