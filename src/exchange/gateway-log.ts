/**
 * The gateway's access log, anchored as it goes (docs/exchange.md, "Retention and the access
 * log"). The log is the API's kind of log (ledger/access-log.ts: one writer under a lock, numbered
 * lines, a torn last line refused at start) holding the gateway's events; batches of it are
 * anchored with the institution's signing key through AccessLogAnchor by the same code as
 * `veritrace access-log anchor` (ledger/access-log-anchors.ts), so `veritrace access-log
 * proof|check` prove its lines like any other log's.
 */
import { readAccessLog, type AccessLogFile } from "../ledger/access-log.js";
import { anchorBatch, type LogAnchorer } from "../ledger/access-log-anchors.js";
import type { GatewayLog } from "./gateway.js";

/** When to anchor: after `every` unanchored lines, and/or `intervalSeconds` after the last anchor. */
export interface AnchorPolicy {
  every?: number;
  intervalSeconds?: number;
}

/** Anchors the gateway's own log when the policy says so; one batch per call at most. */
export class GatewayAnchoring {
  /** The first entry not anchored yet (read from the chain on the first call). */
  private anchoredTo: number | undefined;
  private lastAnchorAt = Date.now();
  private warned = false;

  constructor(
    private readonly log: AccessLogFile,
    private readonly anchorer: LogAnchorer,
    private readonly policy: AnchorPolicy,
    private readonly out: GatewayLog,
    /** The clock in milliseconds (tests). */
    private readonly clock: () => number = Date.now,
  ) {}

  /** Whether a batch is due now. */
  private due(pending: number): boolean {
    if (pending <= 0) return false;
    const { every, intervalSeconds } = this.policy;
    if (every !== undefined && pending >= every) return true;
    return (
      intervalSeconds !== undefined && this.clock() - this.lastAnchorAt >= intervalSeconds * 1000
    );
  }

  /** Anchors the unanchored lines if due; the anchor made, or undefined. */
  async maybeAnchor(): Promise<bigint | undefined> {
    this.anchoredTo ??= Number(await this.anchorer.nextLogSequence());
    if (this.anchoredTo > this.log.next) {
      // AccessLogAnchor numbers one log per institution: another log was anchored with this
      // key beyond this one's end, and this log's lines could never be placed after it.
      if (!this.warned)
        this.out({
          level: "error",
          msg: "anchoring off",
          detail: `the institution's anchors end at entry ${this.anchoredTo}, beyond this log's ${this.log.next} entries: another log is anchored with this institution's key; give the gateway that log or anchor this one by hand`,
        });
      this.warned = true;
      return undefined;
    }
    if (!this.due(this.log.next - this.anchoredTo)) return undefined;
    // The gateway is the log's one writer and writes whole lines: the file read back is complete.
    const { lines } = readAccessLog(this.log.file);
    const outcome = await anchorBatch(this.anchorer, lines, { caseId: 0n, file: this.log.file });
    this.lastAnchorAt = this.clock();
    if (!outcome.anchored) {
      this.anchoredTo = outcome.next;
      return undefined;
    }
    this.anchoredTo = outcome.lastSequence + 1;
    this.out({
      level: "info",
      msg: "anchored",
      anchorId: outcome.anchorId,
      firstSequence: outcome.firstSequence,
      lastSequence: outcome.lastSequence,
      entryCount: outcome.entryCount,
      root: outcome.root,
      log: this.log.file,
    });
    return outcome.anchorId;
  }
}
