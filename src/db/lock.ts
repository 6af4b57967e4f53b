/**
 * One process at a time on an embedded store. PGlite has no lock between processes and each
 * process keeps its own page cache: two processes on one directory overwrite each other's pages
 * and corrupt it without an error. So every opener of a PGlite directory first takes this lock,
 * a file in the directory naming its holder (process id, the process's start time and the boot
 * id, host, command). A lock whose holder is gone (killed with SIGKILL, a reboot) is stale and is
 * taken over; a lock of a live process is never taken.
 *
 * Why it holds:
 * - The lock file appears whole or not at all: it is written under a temporary name and
 *   hard-linked into place, and link(2) fails when the name exists (exclusive creation).
 * - A holder is alive when its process id exists (kill(pid, 0)) with the start time recorded
 *   (/proc/<pid>/stat), on the boot recorded: a recycled process id is not mistaken for it.
 *   Without /proc (not Linux) or on another host, a holder whose liveness can't be told is taken
 *   as alive: refused, never stolen.
 * - Taking over a stale lock is one winner's: before removing it, a process must create a marker
 *   named after that exact stale content (exclusively, as above), and it removes the lock only if
 *   the file still holds that content. A dead holder never writes again, so once the stale content
 *   is gone it can't come back; the losers, and late comers that read the stale content earlier,
 *   find a live holder or no lock and start over.
 */
import { createHash, randomBytes } from "node:crypto";
import { linkSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import path from "node:path";
import { ConflictError } from "../shared/errors.js";

/** The lock file's name inside the store's directory. */
export const LOCK_FILE = "veritrace.lock";

/** Who holds a store, as its lock file says. */
export interface LockHolder {
  pid: number;
  /** The process's start time in clock ticks after boot (/proc/<pid>/stat field 22); null without /proc. */
  start: string | null;
  /** The kernel's boot id; null without /proc. */
  boot: string | null;
  host: string;
  /** The command line's command and option names (no values: they may hold secrets). */
  command: string;
  /** When the lock was taken (ISO 8601). */
  since: string;
}

/** A held lock; {@link StoreLock.release} gives it up (also done at exit and on SIGINT/SIGTERM). */
export interface StoreLock {
  readonly file: string;
  release(): void;
}

function readText(file: string): string | null {
  try {
    return readFileSync(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
}

/** A process's start time in clock ticks after boot, or null when it can't be read. */
export function processStartTime(pid: number): string | null {
  const stat = readText(`/proc/${pid}/stat`);
  if (stat === null) return null;
  // The command name (field 2) is in parentheses and may hold spaces or parentheses itself.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return fields[19] ?? null; // field 22; the fields after the name start at field 3
}

function bootId(): string | null {
  try {
    return readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
  } catch {
    return null;
  }
}

/** `veritrace index --rpc --deployment --follow`: the command words and option names only. */
export function describeCommand(argv: readonly string[] = process.argv): string {
  const args = argv.slice(2);
  const firstOption = args.findIndex((a) => a.startsWith("-"));
  const words = firstOption < 0 ? args : args.slice(0, firstOption);
  const options = args.filter((a) => a.startsWith("--")).map((a) => a.split("=")[0] ?? a);
  const name = path.basename(argv[1] ?? "veritrace").replace(/\.[cm]?[jt]s$/, "");
  return [name, ...words.slice(0, 2), ...options].join(" ");
}

function me(command: string): LockHolder {
  return {
    pid: process.pid,
    start: processStartTime(process.pid),
    boot: bootId(),
    host: hostname(),
    command,
    since: new Date().toISOString(),
  };
}

function parseHolder(text: string): LockHolder | null {
  try {
    const h = JSON.parse(text) as Partial<LockHolder>;
    if (
      typeof h.pid === "number" &&
      Number.isSafeInteger(h.pid) &&
      h.pid > 0 &&
      (typeof h.start === "string" || h.start === null) &&
      (typeof h.boot === "string" || h.boot === null) &&
      typeof h.host === "string" &&
      typeof h.command === "string" &&
      typeof h.since === "string"
    ) {
      return h as LockHolder;
    }
  } catch {
    // not JSON: below
  }
  return null;
}

/** Whether the holder may still be running (true when that can't be told). */
export function holderAlive(h: LockHolder): boolean {
  if (h.host !== hostname()) return true;
  const boot = bootId();
  if (h.boot !== null && boot !== null && h.boot !== boot) return false;
  try {
    process.kill(h.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ESRCH") return false;
    // EPERM: a process of another user has this id; its start time tells whether it's the holder.
  }
  if (h.start === null) return true;
  const start = processStartTime(h.pid);
  return start === null ? true : start === h.start;
}

/**
 * Creates `file` holding `content`, whole, if no file has that name: true if created, false if one
 * exists.
 */
function createExclusive(file: string, content: string): boolean {
  const tmp = `${file}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`;
  // No fsync: a lock need not outlive an OS crash (its holder doesn't); one whose content the
  // crash lost is left empty, and an empty lock is stale (lockStore).
  writeFileSync(tmp, content, { flag: "wx", mode: 0o644 });
  try {
    linkSync(tmp, file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  } finally {
    unlinkSync(tmp);
  }
}

const digest = (text: string) => createHash("sha256").update(text).digest("hex").slice(0, 16);

/**
 * Removes the lock file `file` if it still holds `stale` (content whose holder is gone). Returns
 * false when another process is taking it over at this moment (the caller tries again shortly).
 */
function removeStale(file: string, stale: string, self: string, depth = 0): boolean {
  const marker = `${file}.takeover-${digest(stale)}`;
  if (!createExclusive(marker, self)) {
    const text = readText(marker);
    if (text === null) return true; // the other taker is done: start over
    const holder = parseHolder(text);
    // A taker that died between its marker and its removal leaves a stale marker: taken over the
    // same way (one level deeper; a third dead taker in a row is left to a person).
    if (holder !== null && !holderAlive(holder) && depth < 2)
      removeStale(marker, text, self, depth + 1);
    return false;
  }
  try {
    if (readText(file) === stale) unlinkSync(file);
  } finally {
    unlinkSync(marker);
  }
  return true;
}

/** Held locks, released at exit and on a signal nobody else handles. */
const held = new Map<string, string>();

function releaseFile(file: string): void {
  const content = held.get(file);
  if (content === undefined) return;
  held.delete(file);
  try {
    if (readText(file) === content) unlinkSync(file);
  } catch {
    // a store directory removed under us: nothing left to release
  }
  if (held.size === 0) {
    process.off("exit", releaseAll);
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

function releaseAll(): void {
  for (const file of [...held.keys()]) releaseFile(file);
}

/**
 * First in line for SIGINT/SIGTERM. A command that handles the signal itself (index --follow,
 * serve) stops gracefully and closes the store, which releases the lock; otherwise the lock is
 * released here and the signal raised again, so the process ends as it would have.
 */
function onSignal(signal: NodeJS.Signals): void {
  if (process.listenerCount(signal) > 1) return;
  releaseAll();
  process.kill(process.pid, signal);
}

export interface LockOptions {
  /**
   * Runs after a lock was found stale, before it is taken over: the tests widen here the window
   * in which several processes race for one stale lock.
   */
  beforeTakeover?: () => Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Takes the exclusive lock of the store directory `dir`, taking over a stale one. Fails with one
 * line naming the holder's process id and command when a live process holds it (this process
 * too: two handles on one directory are two page caches).
 */
export async function lockStore(
  dir: string,
  command = describeCommand(),
  options: LockOptions = {},
): Promise<StoreLock> {
  return lockFile(path.join(dir, LOCK_FILE), command, options, {
    inUse: (who, holder) =>
      `the store ${dir} is in use by ${who} (${holder.command}, since ${holder.since}): ` +
      "an embedded store serves one process at a time; stop that process, run " +
      "veritrace serve --follow to index and serve in one process, or use a PostgreSQL server (--db postgres://…)",
    noHolder: (file) =>
      `the store ${dir} has a lock file that names no process (${file}): remove it if no process uses the store`,
    unstable: (file) => `cannot lock the store ${dir}: its lock file ${file} keeps changing`,
  });
}

/** The one-line messages of a refused lock. */
export interface LockMessages {
  /** A live process holds it: `who` is "this process", "PID n" or "PID n on HOST". */
  inUse(who: string, holder: LockHolder): string;
  /** The lock file holds something else than a holder. */
  noHolder(file: string): string;
  /** The lock file kept changing under every attempt. */
  unstable(file: string): string;
}

/**
 * Takes the exclusive lock file `file` (the same rules as a store's: a stale one is taken over,
 * a live holder's never), failing with one line of `messages`.
 */
export async function lockFile(
  file: string,
  command: string,
  options: LockOptions,
  messages: LockMessages,
): Promise<StoreLock> {
  const self = `${JSON.stringify(me(command))}\n`;
  for (let attempt = 0; attempt < 200; attempt++) {
    if (createExclusive(file, self)) {
      if (held.size === 0) {
        process.on("exit", releaseAll);
        process.prependListener("SIGINT", onSignal);
        process.prependListener("SIGTERM", onSignal);
      }
      held.set(file, self);
      return { file, release: () => releaseFile(file) };
    }
    const text = readText(file);
    if (text === null) continue; // released meanwhile
    // Empty: the content of a lock file linked just before an OS crash never reached the disk.
    const holder = text === "" ? null : parseHolder(text);
    if (holder === null && text !== "") throw new ConflictError(messages.noHolder(file));
    if (holder !== null && holderAlive(holder)) {
      const who =
        holder.pid === process.pid && holder.start === processStartTime(process.pid)
          ? "this process"
          : holder.host === hostname()
            ? `PID ${holder.pid}`
            : `PID ${holder.pid} on ${holder.host}`;
      throw new ConflictError(messages.inUse(who, holder));
    }
    await options.beforeTakeover?.();
    if (!removeStale(file, text, self)) await sleep(10 + Math.random() * 20);
  }
  throw new ConflictError(messages.unstable(file));
}
