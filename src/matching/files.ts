/**
 * Files of the air-gapped mode and of the results: written whole or not at all (a temporary file
 * beside the target, then a rename), read within the limits; `-` reads a message from stdin, and
 * `--out -` writes one to stdout.
 */
import { randomBytes } from "node:crypto";
import { closeSync, fsyncSync, openSync, readSync, renameSync, rmSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { InputTooLargeError, inputName, isStdin, readInput, readStdin } from "../shared/input.js";
import { MatchError } from "./errors.js";
import {
  DEFAULT_MAX_ELEMENTS,
  MAX_HEADER_BYTES,
  MessageReader,
  decodeRequest,
  decodeResponse,
  encodeMessage,
  maxMessageBytes,
  type PsiMessage,
  type PsiRequestMessage,
  type PsiResponseMessage,
  type RequestHeader,
} from "./messages.js";

/**
 * Writes `content` to `file` atomically: a new temporary file in the same directory (created with
 * `mode`, so a private file is never readable by others, not even briefly), flushed, then renamed
 * over the target. On failure the target is untouched and the temporary file removed.
 */
export function writeFileAtomic(
  file: string,
  content: string | Uint8Array | readonly Uint8Array[],
  mode = 0o644,
): void {
  // `-` means stdout wherever a file is written: a file named `-` is never created.
  if (isStdin(file)) throw new MatchError("internal", "cannot write a file named - (stdout)");
  const tmp = join(dirname(file), `.${basename(file)}.${randomBytes(6).toString("hex")}.tmp`);
  const parts =
    typeof content === "string"
      ? [Buffer.from(content, "utf8")]
      : content instanceof Uint8Array
        ? [content]
        : content;
  let fd: number | null = null;
  try {
    fd = openSync(tmp, "wx", mode);
    for (const part of parts) {
      let written = 0;
      while (written < part.length) written += writeSync(fd, part, written);
    }
    fsyncSync(fd);
    closeSync(fd);
    fd = null;
    renameSync(tmp, file);
  } catch (error) {
    if (fd !== null) closeSync(fd);
    rmSync(tmp, { force: true });
    throw new MatchError("internal", `cannot write ${file}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/**
 * Writes an output: to stdout for `-`, else to `file` atomically (see {@link writeFileAtomic},
 * `mode` for a new file).
 */
export function writeOutput(
  file: string,
  content: string | Uint8Array | readonly Uint8Array[],
  mode = 0o644,
): void {
  if (!isStdin(file)) {
    writeFileAtomic(file, content, mode);
    return;
  }
  const parts = typeof content === "string" || content instanceof Uint8Array ? [content] : content;
  for (const part of parts) process.stdout.write(part);
}

/** Writes a message file atomically, or to stdout for `-`. */
export function writeMessageFile(file: string, message: PsiMessage): void {
  writeOutput(file, encodeMessage(message));
}

/** A message file's bytes (stdin for `-`), refused beyond the size `maxElements` allows. */
function readBounded(file: string, maxElements: number): Buffer {
  try {
    return readInput(file, maxMessageBytes(maxElements));
  } catch (error) {
    if (error instanceof InputTooLargeError)
      throw new MatchError("too-large", `${error.message} (--max-elements)`);
    throw new MatchError(
      "invalid-input",
      `cannot read ${inputName(file)}: ${(error as Error).message}`,
    );
  }
}

/** Reads a request file; a failure names the file. */
export function readRequestFile(
  file: string,
  maxElements = DEFAULT_MAX_ELEMENTS,
): PsiRequestMessage {
  return withFileName(file, () => decodeRequest(readBounded(file, maxElements), { maxElements }));
}

/**
 * A request file read in two steps, in the order the server reads a request: `header`, parsed and
 * its form checked alone (so that the session is known before the body is, and before the limits
 * are applied), then `message()`, the whole message with its size and body checked. A failure
 * names the file.
 */
export function openRequestFile(
  file: string,
  maxElements = DEFAULT_MAX_ELEMENTS,
): { header: RequestHeader; message(): PsiRequestMessage } {
  // Stdin is read once: up to a byte past the limit, the header taken from its start, the limit
  // applied by message(), in the same order as for a file.
  const piped = isStdin(file) ? readPiped(maxElements) : null;
  return withFileName(file, () => {
    const first =
      piped === null
        ? readHead(file, MAX_HEADER_BYTES + 1)
        : piped.subarray(0, MAX_HEADER_BYTES + 1);
    const reader = new MessageReader({ maxElements });
    // More than a header's length without a newline: pushHeader refuses it.
    const header = reader.pushHeader(first) === null ? null : reader.parsedHeader;
    if (header === null)
      throw new MatchError("malformed-message", "the file ends before its header line does");
    if (header.kind !== "request")
      throw new MatchError("malformed-message", "expected a request, got a response");
    return {
      header,
      message: () =>
        withFileName(file, () => {
          if (piped === null) return decodeRequest(readBounded(file, maxElements), { maxElements });
          const limit = maxMessageBytes(maxElements);
          if (piped.length > limit)
            throw new MatchError(
              "too-large",
              `${new InputTooLargeError(file, undefined, limit).message} (--max-elements)`,
            );
          return decodeRequest(piped, { maxElements });
        }),
    };
  });
}

/** Stdin, up to one byte past the limit of a message of `maxElements`. */
function readPiped(maxElements: number): Buffer {
  try {
    return readStdin(maxMessageBytes(maxElements));
  } catch (error) {
    throw new MatchError("invalid-input", `cannot read stdin: ${(error as Error).message}`);
  }
}

/** The first `n` bytes of a file (fewer if it is shorter). */
function readHead(file: string, n: number): Buffer {
  let fd: number | null = null;
  try {
    fd = openSync(file, "r");
    const buffer = Buffer.alloc(n);
    const read = readSync(fd, buffer, 0, n, 0);
    return buffer.subarray(0, read);
  } catch (error) {
    throw new MatchError("invalid-input", `cannot read ${file}: ${(error as Error).message}`);
  } finally {
    if (fd !== null) closeSync(fd);
  }
}

/** Reads a response file; a failure names the file. */
export function readResponseFile(
  file: string,
  maxElements = DEFAULT_MAX_ELEMENTS,
): PsiResponseMessage {
  return withFileName(file, () => decodeResponse(readBounded(file, maxElements), { maxElements }));
}

function withFileName<T>(file: string, fn: () => T): T {
  const name = inputName(file);
  try {
    return fn();
  } catch (error) {
    if (error instanceof MatchError && !error.message.startsWith(name)) {
      throw new MatchError(error.reason, `${name}: ${error.message}`, {
        ...(error.index === undefined ? {} : { index: error.index }),
        cause: error,
      });
    }
    throw error;
  }
}
