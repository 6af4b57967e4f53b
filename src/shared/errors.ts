/** An error of the tracer with a message meant for the user: one line, no stack needed. */
export class TracerError extends Error {
  override name = "TracerError";
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
