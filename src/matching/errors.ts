/**
 * Errors of the private set intersection. Every refusal is a {@link MatchError} with a short,
 * one-line message and a machine-readable reason, so that the CLI can print it and the ledger code
 * can record the session as failed (`sessionFailure` in session.ts). This module stays free of
 * heavy imports: the worker threads load it.
 */
import { TracerError, type ErrorKind } from "../shared/errors.js";

/** Why a matching session failed. */
export type MatchFailureReason =
  /** An identifier failed normalization, or a parameter (session id, mode, type) is invalid. */
  | "invalid-input"
  /** More elements or bytes than the configured limits. */
  | "too-large"
  /** A message's header or framing is wrong: not a message, wrong version, truncated, extra bytes. */
  | "malformed-message"
  /** A message's body does not hash to the digest in its header. */
  | "digest-mismatch"
  /** A message of another session, mode, identifier type or request. */
  | "session-mismatch"
  /** The response does not answer every element of the request. */
  | "count-mismatch"
  /** A point that is not a canonical 32-byte X25519 u-coordinate (u ≥ 2^255 − 19). */
  | "invalid-point"
  /** A point of small order: the Diffie-Hellman output would be all zero. */
  | "low-order-point"
  /** The same point twice in a list: it would count twice (or hide a size) in the intersection. */
  | "duplicate-point"
  /** The peer refused the bearer token. */
  | "unauthorized"
  /** The peer answered with an error, or could not be reached (or not in time). */
  | "peer-error"
  /** A party's EIP-712 signature does not verify, or is not by an active key of that party. */
  | "invalid-signature"
  /** Anything else (a bug or the machine): the message says what. */
  | "internal";

/**
 * The kind of each reason (shared/errors.ts): what the one who asked must do about it. A refused
 * token has no kind of its own, and "internal" is a failure.
 */
const KIND_OF_REASON: Readonly<Record<MatchFailureReason, ErrorKind>> = {
  "invalid-input": "invalid-input",
  "too-large": "invalid-input",
  "malformed-message": "invalid-input",
  "digest-mismatch": "verification-failed",
  "session-mismatch": "conflict",
  "count-mismatch": "invalid-input",
  "invalid-point": "invalid-input",
  "low-order-point": "invalid-input",
  "duplicate-point": "invalid-input",
  unauthorized: "failed",
  "peer-error": "unavailable",
  "invalid-signature": "verification-failed",
  internal: "failed",
};

/** Whether a peer's refusal names a reason of this protocol. */
export const isMatchFailureReason = (reason: string): reason is MatchFailureReason =>
  Object.hasOwn(KIND_OF_REASON, reason);

/** A matching session was refused or failed; its kind follows from its reason. */
export class MatchError extends TracerError {
  override name = "MatchError";
  readonly reason: MatchFailureReason;
  /** Index (0-based) of the offending element in its list, when one element is at fault. */
  readonly index: number | undefined;
  constructor(
    reason: MatchFailureReason,
    message: string,
    options: { index?: number; cause?: unknown } = {},
  ) {
    super(message, { kind: KIND_OF_REASON[reason], cause: options.cause });
    this.reason = reason;
    this.index = options.index;
  }
}
