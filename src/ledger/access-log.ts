/**
 * The access logs: one JSON line per event, numbered without gaps (`seq`) across restarts, so
 * batches of them can be anchored with AccessLogAnchor (`veritrace access-log anchor`) and any one
 * line proved later (`veritrace access-log proof`, `veritrace verify entry`). Two writers keep one:
 * - the API (`veritrace serve`): one line per request to a data route, naming the token (by its
 *   name, never the token), what was read (case, subject, institution, delivery, anchor), the
 *   answer's status, size and time ({@link AccessLogEntry});
 * - the provider's exchange gateway (`veritrace exchange serve`): one line per offer made, offer
 *   list or envelope served, refusal and purge ({@link GatewayLogEntry}, told apart by `event`).
 * Reading, numbering, locking and anchoring are the same for both: a log is a log.
 *
 * Why it holds:
 * - One writer per file: the file is locked as a store is (lock.ts), so a second server on the
 *   same log is refused instead of numbering lines twice.
 * - A line is written (one write(2) of the whole line, O_APPEND) before the answer is sent: an
 *   answer that could not be logged is not sent (the server answers 503 instead).
 * - At start the log is read back: its numbering must run without a gap and every line must be
 *   an entry; a log that ends mid-line (the disk filled up) is refused, never repaired silently.
 * - No fsync per line: a process killed with SIGKILL loses nothing written (the kernel has it);
 *   an OS crash may lose the last lines, which were answered. Anchor often.
 */
import { closeSync, mkdirSync, openSync, readFileSync, writeSync } from "node:fs";
import path from "node:path";
import { InvalidInputError, NotFoundError, TracerError } from "../shared/errors.js";
import { describeCommand, lockFile, type StoreLock } from "../db/lock.js";

/** One request to the API, as logged. `seq` is set by the log. */
export interface AccessLogEntry {
  /** The line's number in this log, from 0, without gaps. */
  seq: number;
  /** When the request arrived (ISO 8601, UTC, milliseconds). */
  time: string;
  /** The token's name; null without a valid token (refused, or a server without authentication). */
  token: string | null;
  /** The client's address. */
  client: string;
  method: string;
  /** The route's path template; null when no route matched. */
  route: string | null;
  /** The request target as received (path and query), at most 512 characters. */
  target: string;
  /** What was read, from the path: at most one of each. */
  case?: string;
  subject?: string;
  institution?: string;
  delivery?: string;
  anchor?: string;
  /** SHA-256 of a POST's body (what was asked, provable without keeping it). */
  bodySha256?: string;
  status: number;
  /** Size of the answer's body, in bytes. */
  bytes: number;
  /** Time to answer, in milliseconds. */
  ms: number;
}

/** What the server gives for each request; the log numbers and stamps it. */
export type AccessRecord = Omit<AccessLogEntry, "seq">;

/** What the gateway logs (docs/exchange.md, "Retention and the access log"). */
export type GatewayEvent = "offer" | "list" | "download" | "refusal" | "purge";

/**
 * One event of the exchange gateway, as logged. `seq` is set by the log. Integers that may
 * exceed 2^53 (request and case ids, record counts) are decimal strings.
 */
export interface GatewayLogEntry {
  seq: number;
  /** When it happened (ISO 8601, UTC, milliseconds): the request's arrival, the offer, the purge. */
  time: string;
  event: GatewayEvent;
  /** The request the event is about; absent on a refusal before any request id was read. */
  requestId?: string;
  /** The offer's sequence (the delivery's, under its request). */
  sequence?: number;
  /** HTTP events: the key that signed the download (null when unsigned or not yet read). */
  signer?: string | null;
  /** HTTP events: the signer's institution, once the ledger named it. */
  institution?: number;
  client?: string;
  method?: string;
  /** The request target as received, at most 512 characters. */
  target?: string;
  /** A download: the bytes served, `first-last/size`. */
  range?: string;
  status?: number;
  /** The answer's body size in bytes (a download: the bytes of its range). */
  bytes?: number;
  ms?: number;
  /** A refusal: the problem code and its one-line detail. */
  code?: string;
  detail?: string;
  /** An offer: what was sealed for whom, as the signed offer says. */
  caseId?: string;
  requester?: number;
  recipientKeyId?: string;
  recordCount?: string;
  payloadHash?: string;
  ciphertextHash?: string;
  ciphertextBytes?: number;
  /** An offer listing: how many offers were listed. */
  offers?: number;
  /** A purge: why the ciphertext was deleted, and the acknowledgement it followed, if any. */
  reason?: string;
  acknowledgedAt?: string;
  // The API's own fields, never on a gateway's line: declared so that code reading any log's
  // lines may ask for them (and gets undefined here).
  token?: never;
  route?: never;
  case?: never;
  subject?: never;
  delivery?: never;
  anchor?: never;
  bodySha256?: never;
}

/** What the gateway gives for each event; the log numbers it. */
export type GatewayRecord = Omit<GatewayLogEntry, "seq">;

/** Any line of an access log. */
export type LogEntry = AccessLogEntry | GatewayLogEntry;

/** Where requests are logged. */
export interface AccessLogSink {
  /** Writes one entry; throws when it can't (the server then refuses the answer). */
  write(record: AccessRecord): void;
}

type FieldType = "string" | "number" | "string|null";

/** Keys an API entry may have, and the type of each. */
const FIELDS: Readonly<Record<string, FieldType>> = {
  seq: "number",
  time: "string",
  token: "string|null",
  client: "string",
  method: "string",
  route: "string|null",
  target: "string",
  case: "string",
  subject: "string",
  institution: "string",
  delivery: "string",
  anchor: "string",
  bodySha256: "string",
  status: "number",
  bytes: "number",
  ms: "number",
};
const GATEWAY_FIELDS: Readonly<Record<string, FieldType>> = {
  seq: "number",
  time: "string",
  event: "string",
  requestId: "string",
  sequence: "number",
  signer: "string|null",
  institution: "number",
  client: "string",
  method: "string",
  target: "string",
  range: "string",
  status: "number",
  bytes: "number",
  ms: "number",
  code: "string",
  detail: "string",
  caseId: "string",
  requester: "number",
  recipientKeyId: "string",
  recordCount: "string",
  payloadHash: "string",
  ciphertextHash: "string",
  ciphertextBytes: "number",
  offers: "number",
  reason: "string",
  acknowledgedAt: "string",
};
/** What each gateway event must name, beyond `seq`, `time` and `event`. */
const GATEWAY_REQUIRED: Readonly<Record<GatewayEvent, readonly string[]>> = {
  offer: ["requestId", "sequence", "caseId", "requester", "ciphertextHash", "payloadHash"],
  list: ["requestId", "signer", "client", "target", "status", "bytes", "ms"],
  download: [
    "requestId",
    "sequence",
    "signer",
    "client",
    "target",
    "range",
    "status",
    "bytes",
    "ms",
  ],
  refusal: ["client", "target", "status", "code", "detail", "ms"],
  purge: ["requestId", "sequence", "reason", "ciphertextHash"],
};
const REQUIRED = [
  "seq",
  "time",
  "token",
  "client",
  "method",
  "route",
  "target",
  "status",
  "bytes",
  "ms",
];

/** One line of a log, read back. */
export interface LoggedLine {
  /** The entry as parsed (anchoring hashes this object's canonical JSON). */
  entry: LogEntry;
  /** 1-based line number in the file. */
  line: number;
}

/**
 * Parses an access log's text: every complete line must be an entry, numbered on from the first
 * one without a gap. A last line without its line break is returned as `partial` (a server may
 * be writing it, or was stopped by a full disk); nothing else is skipped.
 */
export function parseAccessLog(
  text: string,
  file: string,
): { lines: LoggedLine[]; partial: boolean } {
  const parts = text.split("\n");
  const tail = parts.pop() ?? "";
  const lines: LoggedLine[] = [];
  parts.forEach((raw, i) => {
    const where = `${file} line ${i + 1}`;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      throw new InvalidInputError(
        `${where} is not JSON: not an access log, or one changed by hand`,
      );
    }
    const entry = checkEntry(value, where);
    const previous = lines[lines.length - 1];
    if (previous !== undefined && entry.seq !== previous.entry.seq + 1) {
      throw new InvalidInputError(
        `${where} is entry ${entry.seq} after entry ${previous.entry.seq}: the log has a gap or a repeat`,
      );
    }
    lines.push({ entry, line: i + 1 });
  });
  return { lines, partial: tail !== "" };
}

/**
 * One line checked against its writer's schema: a gateway's line names its `event`, an API's
 * has none (its format predates the gateway and stays as it was).
 */
function checkEntry(value: unknown, where: string): LogEntry {
  if (value === null || typeof value !== "object" || Array.isArray(value))
    throw new InvalidInputError(`${where} is not an access-log entry (a JSON object)`);
  const record = value as Record<string, unknown>;
  const event = record["event"];
  let fields = FIELDS;
  let required = REQUIRED;
  if (event !== undefined) {
    if (typeof event !== "string" || !Object.hasOwn(GATEWAY_REQUIRED, event))
      throw new InvalidInputError(
        `${where}: event is not one of ${Object.keys(GATEWAY_REQUIRED).join(", ")}`,
      );
    fields = GATEWAY_FIELDS;
    required = ["seq", "time", "event", ...GATEWAY_REQUIRED[event as GatewayEvent]];
  }
  for (const [key, v] of Object.entries(record)) {
    const type = fields[key];
    if (type === undefined)
      throw new InvalidInputError(`${where}: unknown field ${JSON.stringify(key)}`);
    const ok =
      type === "number"
        ? typeof v === "number" && Number.isSafeInteger(v) && v >= 0
        : type === "string"
          ? typeof v === "string"
          : typeof v === "string" || v === null;
    if (!ok) throw new InvalidInputError(`${where}: ${key} is not a valid ${type}`);
  }
  for (const key of required) {
    if (!(key in record)) throw new InvalidInputError(`${where}: no ${key}`);
  }
  return record as unknown as LogEntry;
}

/**
 * Reads an access log file (see {@link parseAccessLog}); a missing file is an empty log when
 * `missingIsEmpty` (a server about to start one), else refused.
 */
export function readAccessLog(
  file: string,
  missingIsEmpty = false,
): { lines: LoggedLine[]; partial: boolean } {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT" && missingIsEmpty)
      return { lines: [], partial: false };
    throw new NotFoundError(`cannot read the access log ${file}: ${(error as Error).message}`);
  }
  return parseAccessLog(text, file);
}

/** The access log file of a running server: locked, appended to, numbered on. */
export class AccessLogFile implements AccessLogSink {
  private constructor(
    readonly file: string,
    private fd: number | null,
    private readonly lock: StoreLock,
    /** The number the next entry gets. */
    public next: number,
  ) {}

  /**
   * Opens (or creates) the log `file` for appending, after locking it and reading it back (see
   * the module's comment). Fails with one line naming the file.
   */
  static async open(file: string, command = describeCommand()): Promise<AccessLogFile> {
    try {
      mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    } catch (error) {
      throw new TracerError(`cannot create the access log ${file}: ${(error as Error).message}`);
    }
    const lock = await lockFile(
      `${file}.lock`,
      command,
      {},
      {
        inUse: (who, holder) =>
          `the access log ${file} is written by ${who} (${holder.command}, since ${holder.since}): ` +
          "one server per access log; give this one its own --access-log FILE",
        noHolder: (lockPath) =>
          `the access log ${file} has a lock file that names no process (${lockPath}): remove it if no server writes the log`,
        unstable: (lockPath) =>
          `cannot lock the access log ${file}: its lock file ${lockPath} keeps changing`,
      },
    );
    try {
      const { lines, partial } = readAccessLog(file, true);
      if (partial) {
        throw new InvalidInputError(
          `the access log ${file} ends in a partial line (after line ${lines.length}): a write was cut short (disk full?); ` +
            "keep a copy, remove the partial last line, and start again",
        );
      }
      const last = lines[lines.length - 1];
      let fd: number;
      try {
        fd = openSync(file, "a", 0o640);
      } catch (error) {
        throw new TracerError(`cannot open the access log ${file}: ${(error as Error).message}`);
      }
      return new AccessLogFile(file, fd, lock, last === undefined ? 0 : last.entry.seq + 1);
    } catch (error) {
      lock.release();
      throw error;
    }
  }

  write(record: AccessRecord | GatewayRecord): void {
    if (this.fd === null) throw new TracerError(`the access log ${this.file} is closed`);
    const entry = { seq: this.next, ...record };
    const line = Buffer.from(`${JSON.stringify(entry)}\n`, "utf8");
    const written = writeSync(this.fd, line);
    if (written !== line.length) {
      // A short write leaves a partial line: nothing more may follow it.
      closeSync(this.fd);
      this.fd = null;
      throw new TracerError(`the access log ${this.file}: a write was cut short (disk full?)`);
    }
    this.next += 1;
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
    this.lock.release();
  }
}
