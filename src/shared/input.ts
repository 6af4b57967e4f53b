/**
 * `-` for stdin: wherever a command reads a file named by an option or an argument, `-` reads
 * stdin instead (as `--out -` writes to stdout). Stdin can be read only once, so a command takes
 * `-` for one of its inputs at a time ({@link oneStdin}); files that hold state or secrets refuse
 * it ({@link refuseStdin}), each saying why where it does. Likewise a file written beside the main
 * output (a signature) refuses `-` for stdout ({@link refuseStdout}): stdout carries one thing.
 * No command ever writes a file named `-`.
 */
import { readFileSync, readSync, statSync } from "node:fs";
import type { OptionValues } from "./options.js";
import { UsageError } from "./errors.js";

/** The file name that means stdin. */
export const STDIN = "-";

/** Whether `file` names stdin. */
export function isStdin(file: string | undefined): boolean {
  return file === STDIN;
}

/** How a file is named in messages: `stdin` for `-`. */
export function inputName(file: string): string {
  return isStdin(file) ? "stdin" : file;
}

/** An input over the size its reader accepts. */
export class InputTooLargeError extends Error {
  override name = "InputTooLargeError";
  constructor(
    readonly file: string,
    /** The file's size; undefined for stdin, which is read no further than the limit. */
    readonly size: number | undefined,
    readonly limit: number,
  ) {
    super(
      size === undefined
        ? `${inputName(file)}: more than ${limit.toLocaleString("en")} bytes`
        : `${inputName(file)}: ${size.toLocaleString("en")} bytes is over the limit of ${limit.toLocaleString("en")}`,
    );
  }
}

/** Blocks the thread for `ms` milliseconds (stdin not ready yet, in a synchronous read). */
function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Reads stdin to its end, or to `max` bytes (then returns those and one more, so the caller sees
 * it is over: for a reader that looks at the start before it applies the limit). Synchronous, like the readers of files it stands in for; stdin may have been made
 * non-blocking (as Node does once `process.stdin` is touched), hence the waits on EAGAIN.
 */
export function readStdin(max = Infinity): Buffer {
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    const room = max === Infinity ? 65_536 : Math.min(65_536, max + 1 - total);
    if (room <= 0) break;
    const chunk = Buffer.alloc(room);
    let n: number;
    try {
      n = readSync(0, chunk, 0, room, null);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "EAGAIN") {
        pause(5);
        continue;
      }
      throw error;
    }
    if (n === 0) break;
    chunks.push(chunk.subarray(0, n));
    total += n;
  }
  return Buffer.concat(chunks, total);
}

/**
 * A file's bytes, or stdin's for `-`. With `maxBytes`, a larger input is refused with an
 * {@link InputTooLargeError} before it is read whole (a file by its size; stdin once it has given
 * one byte more).
 */
export function readInput(file: string, maxBytes = Infinity): Buffer {
  if (isStdin(file)) {
    const data = readStdin(maxBytes);
    if (data.length > maxBytes) throw new InputTooLargeError(file, undefined, maxBytes);
    return data;
  }
  if (maxBytes !== Infinity) {
    const size = statSync(file).size;
    if (size > maxBytes) throw new InputTooLargeError(file, size, maxBytes);
  }
  return readFileSync(file);
}

/** A file's text (UTF-8), or stdin's for `-`; see {@link readInput}. */
export function readInputText(file: string, maxBytes = Infinity): string {
  return readInput(file, maxBytes).toString("utf8");
}

/**
 * {@link readInputText}, a failure to read it thrown as `failure(reason)`: the caller's error,
 * which names the input as its messages do.
 */
export function readInputTextOr(file: string, failure: (reason: string) => Error): string {
  try {
    return readInputText(file);
  } catch (error) {
    throw failure((error as Error).message);
  }
}

/**
 * Refuses a command given `-` for more than one of its inputs (the options named, repeatable or
 * not, and its file arguments): stdin can be read only once. One usage error naming them.
 */
export function oneStdin(
  values: OptionValues,
  options: readonly string[],
  files: readonly string[] = [],
): void {
  const given: string[] = [];
  let count = 0;
  const note = (n: number, what: string) => {
    if (n === 0) return;
    count += n;
    given.push(n === 1 ? what : `${what} (${n} times)`);
  };
  for (const name of options) {
    const v = values[name];
    note(
      typeof v === "string" ? Number(isStdin(v)) : Array.isArray(v) ? v.filter(isStdin).length : 0,
      `--${name}`,
    );
  }
  note(files.filter(isStdin).length, "FILE");
  if (count > 1)
    throw new UsageError(
      `only one input can be - (stdin), which is read once; got - for ${given.join(" and ")}`,
    );
}

/**
 * Refuses `-` for an option whose file is not an input to read once (state, secrets): `why` says
 * why, in one usage error.
 */
export function refuseStdin(values: OptionValues, name: string, why: string): void {
  if (values[name] === STDIN) throw new UsageError(`--${name} cannot be - (stdin): ${why}`);
}

/**
 * Refuses `-` for an option whose file is written beside the command's output (stdout carries one
 * thing: the output, or the report): `why` says why, in one usage error.
 */
export function refuseStdout(values: OptionValues, name: string, why: string): void {
  if (values[name] === STDIN) throw new UsageError(`--${name} cannot be - (stdout): ${why}`);
}

/** Why a secret (a keystore, its password file) is never read from stdin. */
const SECRET_FILE = "a secret is read from a file of its own, never from stdin";

/**
 * Refuses `-` for the files of a command that signs. The keystore and its password are secrets,
 * in files of their own (a password file is refused when others may read it; the password may
 * also come from the environment or a hidden prompt, which reads the terminal on stdin). The
 * deployment record is the consortium's configuration: `deploymentWhy` says why this command
 * does not read it from stdin.
 */
export function refuseSigningStdin(values: OptionValues, deploymentWhy: string): void {
  refuseStdin(values, "keystore", SECRET_FILE);
  refuseStdin(values, "password-file", SECRET_FILE);
  refuseStdin(values, "deployment", deploymentWhy);
}
