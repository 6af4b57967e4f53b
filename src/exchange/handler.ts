/**
 * The provider's handler: the institution's own command that turns a grant into an export
 * (`veritrace exchange serve --handler CMD`). It runs under /bin/sh with the request's fields as
 * one JSON document on stdin and writes the export to stdout, which is consumed as a stream (it
 * is sealed as it arrives, never held whole). A non-zero exit, a signal or the timeout is a
 * refusal: whatever it wrote is discarded by the caller.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { VeritraceError } from "../shared/errors.js";

/**
 * Environment variable naming a file where the handler may write the export's record count (a
 * decimal number); without it, the count is the number of lines of the export.
 */
export const RECORDS_FILE_ENV = "VERITRACE_RECORDS_FILE";

/** Why a handler's export was refused. */
export type HandlerFailure = "exit" | "signal" | "timeout" | "spawn" | "record-count";

/** The handler refused or failed: nothing is offered. The message is one line. */
export class HandlerError extends VeritraceError {
  override name = "HandlerError";
  constructor(
    readonly reason: HandlerFailure,
    message: string,
  ) {
    super(message, { kind: "failed" });
  }
}

/** What a handler run produced beside the consumer's own result. */
export interface HandlerRun<T> {
  result: T;
  /** Records in the export: the handler's count, or the export's lines. */
  records: bigint;
  /** Bytes of the export. */
  bytes: number;
}

/** The last line of a handler's stderr worth showing, cut short. */
function lastLine(stderr: string): string {
  const lines = stderr
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "");
  const line = lines[lines.length - 1] ?? "";
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

/**
 * Runs `command` with `input` (JSON) on its stdin and hands its stdout to `consume` as a stream of
 * chunks. Resolves once both the command exited with 0 and `consume` finished; throws a
 * {@link HandlerError} otherwise (the command is killed, with its process group, on a timeout or
 * if `consume` fails).
 */
export async function runHandler<T>(
  command: string,
  input: unknown,
  timeoutMs: number,
  consume: (stdout: AsyncIterable<Buffer>) => Promise<T>,
): Promise<HandlerRun<T>> {
  const recordsFile = path.join(
    tmpdir(),
    `veritrace-records-${process.pid}-${randomBytes(6).toString("hex")}`,
  );
  // A process group of its own, so that a timeout kills what the shell started too.
  const child = spawn("/bin/sh", ["-c", command], {
    stdio: ["pipe", "pipe", "pipe"],
    detached: true,
    env: { ...process.env, [RECORDS_FILE_ENV]: recordsFile },
  });
  const kill = () => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
    } catch {
      // Already gone.
    }
  };
  // When a child exits, Node resumes each of its pipes nobody listens to yet, so their unread
  // bytes are dropped (child_process, flushStdio): a handler that finished before `consume` began
  // reading (`cat` of a small file, while the envelope's header is being made) would have
  // exported nothing. A listener marks stdout as ours; it stays buffered until read.
  child.stdout.on("readable", () => {});
  let stderr = "";
  child.stderr.on("data", (c: Buffer) => {
    stderr = (stderr + c.toString()).slice(-4096);
  });
  // A handler that does not read its input closes the pipe: EPIPE is expected.
  child.stdin.on("error", () => {});
  child.stdin.end(`${JSON.stringify(input)}\n`);

  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    kill();
  }, timeoutMs);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(
    (resolve, reject) => {
      child.once("error", reject);
      child.once("close", (code, signal) => resolve({ code, signal }));
    },
  );

  let lines = 0n;
  let bytes = 0;
  let last = 0x0a;
  async function* counted(): AsyncGenerator<Buffer> {
    for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
      bytes += chunk.length;
      for (let i = chunk.indexOf(0x0a); i !== -1; i = chunk.indexOf(0x0a, i + 1)) lines++;
      if (chunk.length > 0) last = chunk[chunk.length - 1] as number;
      yield chunk;
    }
  }

  try {
    let result: T;
    try {
      result = await consume(counted());
    } catch (error) {
      kill();
      await exited.catch(() => undefined);
      if (timedOut)
        throw new HandlerError(
          "timeout",
          `the handler did not finish within ${timeoutMs / 1000} s`,
        );
      throw error;
    }
    let status: { code: number | null; signal: NodeJS.Signals | null };
    try {
      status = await exited;
    } catch (error) {
      throw new HandlerError(
        "spawn",
        `the handler could not be started: ${(error as Error).message}`,
      );
    }
    if (timedOut)
      throw new HandlerError("timeout", `the handler did not finish within ${timeoutMs / 1000} s`);
    const said = lastLine(stderr);
    if (status.code !== 0) {
      throw status.signal !== null
        ? new HandlerError("signal", `the handler was killed by ${status.signal}`)
        : new HandlerError(
            "exit",
            `the handler exited with code ${status.code}${said === "" ? "" : `: ${said}`}`,
          );
    }
    // An unterminated last line is a record too.
    if (last !== 0x0a) lines++;
    return { result, records: await recordCount(recordsFile, lines), bytes };
  } finally {
    clearTimeout(timer);
    await rm(recordsFile, { force: true });
  }
}

async function recordCount(file: string, lines: bigint): Promise<bigint> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    return lines;
  }
  const t = text.trim();
  if (!/^\d{1,20}$/.test(t))
    throw new HandlerError(
      "record-count",
      `the handler wrote ${JSON.stringify(t.slice(0, 40))} to $${RECORDS_FILE_ENV}, not a record count`,
    );
  return BigInt(t);
}
