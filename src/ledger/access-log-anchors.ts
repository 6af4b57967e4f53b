/**
 * An access log held against its anchors on chain: the next batch anchored, which batch of lines
 * each anchor covers, whether the lines still hash to the anchored root, and the inclusion proof
 * of one line. The log file is the API's or the exchange gateway's (ledger/access-log.ts), or any
 * JSON-lines log numbered the same way.
 */
import { buildLogBatch, proofOf, type LogBatch } from "../client/anchoring.js";
import type { LogEntry, LoggedLine } from "./access-log.js";
import { InvalidInputError, NotFoundError, VerificationFailedError } from "../shared/errors.js";
import type { Sql } from "../db/db.js";

/** One LogAnchored event, as indexed. */
export interface AnchoredBatch {
  anchorId: string;
  caseId: string;
  /** The participant whose log it is (the anchoring key's). */
  participant: number;
  /** Sequence number of the batch's first entry. */
  firstSequence: number;
  entryCount: number;
  root: string;
  blockNumber: number;
  txHash: string;
}

interface AnchorRow {
  anchor_id: string;
  case_id: string | null;
  actor: string | number;
  block_number: string | number;
  tx_hash: string;
  args: Record<string, unknown>;
}

const ANCHOR_SELECT = `SELECT anchor_id::text AS anchor_id, case_id::text AS case_id, actor, block_number, tx_hash, args
    FROM events WHERE event = 'LogAnchored'`;

function toBatch(r: AnchorRow): AnchoredBatch {
  return {
    anchorId: r.anchor_id,
    caseId: r.case_id ?? "0",
    participant: Number(r.actor),
    firstSequence: Number(r.args["firstSequence"]),
    entryCount: Number(r.args["entryCount"]),
    root: String(r.args["root"]),
    blockNumber: Number(r.block_number),
    txHash: r.tx_hash,
  };
}

/** One anchor, from the store; a {@link NotFoundError} when the store has none with that id. */
export async function anchorOf(db: Sql, anchorId: string): Promise<AnchoredBatch> {
  if (!/^\d{1,78}$/.test(anchorId))
    throw new InvalidInputError(`not an anchor id: ${JSON.stringify(anchorId)}`);
  const rows = await db.query<AnchorRow>(`${ANCHOR_SELECT} AND anchor_id = $1::numeric`, [
    anchorId,
  ]);
  const r = rows[0];
  if (r === undefined) throw new NotFoundError(`unknown anchor ${anchorId}`);
  return toBatch(r);
}

/** Every anchor of a participant's log, by first sequence number (then anchor id). */
export async function anchorsOfParticipant(db: Sql, participant: number): Promise<AnchoredBatch[]> {
  const rows = await db.query<AnchorRow>(`${ANCHOR_SELECT} AND actor = $1 ORDER BY anchor_id`, [
    participant,
  ]);
  return rows
    .map(toBatch)
    .sort((a, b) => a.firstSequence - b.firstSequence || Number(a.anchorId) - Number(b.anchorId));
}

/** The entries numbered first … first + count - 1, or the reason the log doesn't hold them all. */
export function entriesOf(
  lines: readonly LoggedLine[],
  first: number,
  count: number,
): { entries: LogEntry[] } | { missing: string } {
  const start = lines[0]?.entry.seq;
  const last = lines[lines.length - 1]?.entry.seq;
  if (start === undefined || last === undefined) return { missing: "the log is empty" };
  const end = first + count - 1;
  if (first < start || end > last) {
    return { missing: `the log holds entries ${start}–${last}, not all of ${first}–${end}` };
  }
  // Numbered without gaps (parseAccessLog checked): entry k is line k - start.
  return { entries: lines.slice(first - start, end - start + 1).map((l) => l.entry) };
}

/** How one anchor's batch compares with the log. */
export interface AnchorCheck extends AnchoredBatch {
  /** matches: the log's lines hash to the root; differs: they don't; missing: not in the log. */
  status: "matches" | "differs" | "missing";
  /** Why, when it isn't `matches`. */
  reason?: string;
}

/** Compares one anchor's batch with the log's lines. */
export function checkAnchor(lines: readonly LoggedLine[], anchor: AnchoredBatch): AnchorCheck {
  const got = entriesOf(lines, anchor.firstSequence, anchor.entryCount);
  if ("missing" in got) return { ...anchor, status: "missing", reason: got.missing };
  const root = buildLogBatch(got.entries).root;
  if (root.toLowerCase() !== anchor.root.toLowerCase()) {
    return {
      ...anchor,
      status: "differs",
      reason: `entries ${anchor.firstSequence}–${anchor.firstSequence + anchor.entryCount - 1} hash to ${root}, not to the anchored root`,
    };
  }
  return { ...anchor, status: "matches" };
}

/**
 * The proof file of entry `seq` (as `veritrace verify entry` reads it), after checking that the
 * whole batch of its anchor still hashes to the anchored root.
 */
export function proveEntry(
  lines: readonly LoggedLine[],
  anchor: AnchoredBatch,
  seq: number,
): { index: number; entry: LogEntry; proof: string[] } {
  const end = anchor.firstSequence + anchor.entryCount - 1;
  if (seq < anchor.firstSequence || seq > end) {
    throw new InvalidInputError(
      `anchor ${anchor.anchorId} covers entries ${anchor.firstSequence}–${end}, not entry ${seq}`,
    );
  }
  const got = entriesOf(lines, anchor.firstSequence, anchor.entryCount);
  if ("missing" in got)
    throw new VerificationFailedError(`anchor ${anchor.anchorId}: ${got.missing}`);
  const batch = buildLogBatch(got.entries);
  if (batch.root.toLowerCase() !== anchor.root.toLowerCase()) {
    throw new VerificationFailedError(
      `the log's entries ${anchor.firstSequence}–${end} do not hash to anchor ${anchor.anchorId}'s root: ` +
        "the log changed after it was anchored, or it is not the log that was anchored",
    );
  }
  const index = seq - anchor.firstSequence;
  const entry = got.entries[index];
  if (entry === undefined) throw new NotFoundError(`no entry ${seq}`);
  return { index, entry, proof: proofOf(batch, index) };
}

/** What anchoring needs of an institution's client (ParticipantClient, client/roles.ts). */
export interface LogAnchorer {
  participantId(): Promise<number>;
  /** Where this institution's anchors end. */
  nextLogSequence(): Promise<bigint>;
  anchorLog(
    caseId: bigint,
    entries: readonly unknown[],
    firstSequence?: bigint,
  ): Promise<{ anchorId: bigint; batch: LogBatch }>;
}

/** What {@link anchorBatch} did. */
export type AnchorOutcome =
  | {
      anchored: false;
      participant: number;
      /** Where the institution's anchors end. */
      next: number;
      /** The log's last complete entry. */
      last: number | undefined;
    }
  | {
      anchored: true;
      anchorId: bigint;
      participant: number;
      next: number;
      caseId: bigint;
      firstSequence: number;
      lastSequence: number;
      entryCount: number;
      root: string;
    };

/**
 * Anchors the log's entries `from` … `to` (default: from where the institution's anchors end to
 * the log's last complete line) as one batch; nothing to anchor is no error. Used by `veritrace
 * access-log anchor` and by the exchange gateway, which anchors its own log as it goes.
 */
export async function anchorBatch(
  anchorer: LogAnchorer,
  lines: readonly LoggedLine[],
  options: { caseId: bigint; from?: number; to?: number; file: string },
): Promise<AnchorOutcome> {
  const participant = await anchorer.participantId();
  const next = Number(await anchorer.nextLogSequence());
  const from = options.from ?? next;
  const last = lines[lines.length - 1]?.entry.seq;
  const to = options.to ?? last ?? from - 1;
  if (to < from) return { anchored: false, participant, next, last };
  const got = entriesOf(lines, from, to - from + 1);
  if ("missing" in got) throw new NotFoundError(`${options.file}: ${got.missing}`);
  const { anchorId, batch } = await anchorer.anchorLog(options.caseId, got.entries, BigInt(from));
  return {
    anchored: true,
    anchorId,
    participant,
    next,
    caseId: options.caseId,
    firstSequence: from,
    lastSequence: to,
    entryCount: got.entries.length,
    root: batch.root,
  };
}
