/**
 * The two parties of a Diffie-Hellman private set intersection (semi-honest model), transport
 * aside: the transports (files, HTTP) only move the messages of messages.ts.
 *
 *   requester                                   provider
 *   a ← random                                  b ← random
 *   A = [H(x)^a for x in X]     ── request ──►
 *                                               B = [A_i^b] (shuffled in cardinality mode)
 *                               ◄── response ── C = shuffle([H(y)^b for y in Y])
 *   D = {C_j^a}; x_i matches ⇔ B_i ∈ D
 *
 * H is keyed by the session id (group.ts), so messages of one session are useless in another.
 * Both parties end with the same transcript digest; the requester also gets a salted commitment
 * to its result. Both are what the ledger records (docs/psi.md, "Recorded on the ledger").
 */
import { createHash, randomBytes, randomInt } from "node:crypto";
import { InputError } from "../client/errors.js";
import { InlineEngine, type CurveEngine } from "./engine.js";
import { MatchError, type MatchFailureReason } from "./errors.js";
import { POINT_BYTES, checkReceivedPoints } from "./group.js";
import { IdentifierSet, checkIdentifierType, type IdentifierOptions } from "./identifiers.js";
import {
  DEFAULT_MAX_ELEMENTS,
  MODES,
  buildRequest,
  buildResponse,
  decodeRequest,
  decodeResponse,
  normalizeSessionId,
  sessionIdBytes,
  type IdentifierType,
  type PsiMode,
  type PsiRequestMessage,
  type PsiResponseMessage,
  type RequestHeader,
} from "./messages.js";

/** What both parties know of a completed session. */
interface CompletedSession {
  status: "completed";
  /** The protocol's session id: the ledger's `tag` (the ledger's session id is a number). */
  sessionId: string;
  mode: PsiMode;
  type: IdentifierType;
  /** Elements the requester sent (after normalization and deduplication). */
  requestCount: number;
  /** Elements the provider holds (the protocol reveals this size). */
  providerCount: number;
  /** SHA-256 binding both messages ({@link transcriptDigest}); both parties compute the same. */
  transcriptDigest: string;
}

/** What the requester learns, and what it records. */
export interface PsiResult extends CompletedSession {
  /** How many of the requester's identifiers the provider holds too. */
  cardinality: number;
  /** "psi" mode only: the requester's matching identifiers (normalized), in input order. */
  matches?: string[];
  /** SHA-256 of the request message (the ledger's `requestDigest`). */
  requestDigest: string;
  /** SHA-256 of the response message (the ledger's `responseDigest`). */
  responseDigest: string;
  /** Salted commitment to the result ({@link resultCommitment}). */
  resultCommitment: string;
  /** The salt that opens `resultCommitment`. Keep it private, with the result. */
  resultSalt: string;
}

/** What the provider sends, and what it records. */
export interface ProviderOutcome extends CompletedSession {
  response: PsiResponseMessage;
}

/** A provider's outcome without the response message: what its log and the ledger record. */
export type ProviderRecord = Omit<ProviderOutcome, "response">;

export function providerRecord(outcome: ProviderOutcome): ProviderRecord {
  return {
    status: outcome.status,
    sessionId: outcome.sessionId,
    mode: outcome.mode,
    type: outcome.type,
    requestCount: outcome.requestCount,
    providerCount: outcome.providerCount,
    transcriptDigest: outcome.transcriptDigest,
  };
}

/** What the ledger code records for a session that did not complete. */
export interface SessionFailure {
  status: "failed";
  /** The session id (0x + 64 hex digits), when known. */
  sessionId: string | null;
  reason: MatchFailureReason;
  /** One line, for people. */
  message: string;
}

/** Turns any error of a matching session into the record of a failed session. */
export function sessionFailure(error: unknown, sessionId: string | null = null): SessionFailure {
  if (error instanceof MatchError)
    return { status: "failed", sessionId, reason: error.reason, message: error.message };
  if (error instanceof InputError)
    return { status: "failed", sessionId, reason: "invalid-input", message: error.message };
  const message = error instanceof Error ? error.message : String(error);
  return {
    status: "failed",
    sessionId,
    reason: "internal",
    message: message.split("\n")[0] ?? message,
  };
}

const hex = (bytes: Uint8Array) => `0x${Buffer.from(bytes).toString("hex")}`;
const fromHex = (s: string) => Buffer.from(s.slice(2), "hex");

/**
 * The transcript digest: SHA-256("veritrace:psi:transcript:v1\0" ‖ request digest ‖ response
 * digest), the message digests being SHA-256 over each message's bytes. Both parties see the same
 * two messages in the same order, so both compute the same value.
 */
export function transcriptDigest(requestDigest: string, responseDigest: string): string {
  return hex(
    createHash("sha256")
      .update("veritrace:psi:transcript:v1\0")
      .update(fromHex(requestDigest))
      .update(fromHex(responseDigest))
      .digest(),
  );
}

/**
 * The result commitment: SHA-256("veritrace:psi:result:v1\0" ‖ session id (32 bytes) ‖ mode ‖
 * "\0" ‖ salt (32 bytes) ‖ cardinality (uint32, big-endian) ‖ the matching doubly-blinded values
 * H(x)^ab, 32 bytes each, sorted bytewise). The same in both modes. The random salt keeps the
 * commitment from being tested by guessing: without it, anyone could try every small count, and
 * the provider, who computed every H(x)^ab, could try subsets of them to learn which matched.
 */
export function resultCommitment(fields: {
  sessionId: string;
  mode: PsiMode;
  salt: Uint8Array;
  cardinality: number;
  matchingValues: readonly Uint8Array[];
}): string {
  const sorted = [...fields.matchingValues].sort((x, y) => Buffer.compare(x, y));
  const count = Buffer.alloc(4);
  count.writeUInt32BE(fields.cardinality);
  const h = createHash("sha256")
    .update("veritrace:psi:result:v1\0")
    .update(sessionIdBytes(fields.sessionId))
    .update(`${fields.mode}\0`)
    .update(fields.salt)
    .update(count);
  for (const v of sorted) h.update(v);
  return hex(h.digest());
}

export interface PsiSessionOptions extends IdentifierOptions {
  /** The session id, 32 bytes (later assigned by the ledger). */
  sessionId: string | Uint8Array;
  mode: PsiMode;
  type: IdentifierType;
  /** Where the curve work runs; default: in the calling thread. */
  engine?: CurveEngine;
}

function checkMode(mode: string): PsiMode {
  if (!MODES.includes(mode as PsiMode)) {
    throw new MatchError(
      "invalid-input",
      `unknown mode ${JSON.stringify(mode)} (one of ${MODES.join(", ")})`,
    );
  }
  return mode as PsiMode;
}

function identifierSet(
  type: IdentifierType,
  identifiers: readonly string[] | IdentifierSet,
  options: IdentifierOptions,
): IdentifierSet {
  if (identifiers instanceof IdentifierSet) {
    if (identifiers.type !== type) {
      throw new MatchError(
        "invalid-input",
        `the identifiers are of type ${identifiers.type}, the session's are ${type}`,
      );
    }
    const max = options.maxElements ?? DEFAULT_MAX_ELEMENTS;
    if (identifiers.size > max) {
      throw new MatchError(
        "too-large",
        `${identifiers.size.toLocaleString("en")} identifiers, more than the limit of ${max.toLocaleString("en")}`,
      );
    }
    return identifiers;
  }
  return IdentifierSet.fromList(type, identifiers, options);
}

/** The requester's saved state between `match blind` and `match finish` (a private file). */
export interface RequesterState {
  format: "veritrace-psi-requester-state/1";
  sessionId: string;
  mode: PsiMode;
  type: IdentifierType;
  /** The requester's secret scalar: whoever holds it can unblind this session's messages. */
  secret: string;
  requestDigest: string;
  /** The normalized identifiers, in request order. */
  identifiers: string[];
}

/** The party that asks: it learns the intersection (or its size), and the provider's set size. */
export class PsiRequester {
  readonly sessionId: string;
  readonly mode: PsiMode;
  readonly type: IdentifierType;
  private readonly engine: CurveEngine;
  private readonly options: IdentifierOptions;
  private secret: Buffer | null = null;
  private identifiers: readonly string[] | null = null;
  private requestDigest: string | null = null;
  private done = false;

  constructor(options: PsiSessionOptions) {
    this.sessionId = normalizeSessionId(options.sessionId);
    this.mode = checkMode(options.mode);
    this.type = checkIdentifierType(options.type);
    this.engine = options.engine ?? new InlineEngine();
    this.options = {
      ...(options.maxElements === undefined ? {} : { maxElements: options.maxElements }),
      ...(options.defaultCountryCode === undefined
        ? {}
        : { defaultCountryCode: options.defaultCountryCode }),
    };
  }

  /** Normalizes and deduplicates the identifiers, draws the secret, and blinds: H(x)^a. */
  async blind(identifiers: readonly string[] | IdentifierSet): Promise<PsiRequestMessage> {
    if (this.secret !== null || this.done)
      throw new MatchError("internal", "this requester has already blinded its set");
    const set = identifierSet(this.type, identifiers, this.options);
    this.secret = randomBytes(32);
    const points = await this.engine.hashAndMultiply({
      scalar: this.secret,
      sessionId: sessionIdBytes(this.sessionId),
      type: this.type,
      identifiers: set.values,
    });
    const request = buildRequest(this, points);
    this.identifiers = set.values;
    this.requestDigest = request.digest;
    return request;
  }

  /**
   * Checks the response against the request, unblinds the provider's set and intersects.
   * `options.engine` overrides the constructor's engine for this step (the provider's set may be
   * much larger than the requester's).
   */
  async finish(
    response: PsiResponseMessage | Uint8Array,
    options: { engine?: CurveEngine } = {},
  ): Promise<PsiResult> {
    const secret = this.secret;
    const identifiers = this.identifiers;
    const requestDigest = this.requestDigest;
    if (secret === null || identifiers === null || requestDigest === null)
      throw new MatchError("internal", this.done ? "this session is finished" : "blind first");
    const message =
      response instanceof Uint8Array ? decodeResponse(response, this.limits()) : response;
    const h = message.header;
    const expect = (what: string, got: unknown, want: unknown) => {
      if (got !== want) {
        throw new MatchError(
          "session-mismatch",
          `the response is for ${what} ${String(got)}, not ${String(want)}`,
        );
      }
    };
    expect("session", h.sessionId, this.sessionId);
    expect("mode", h.mode, this.mode);
    expect("identifier type", h.type, this.type);
    expect("request", h.requestDigest, requestDigest);
    if (h.count !== identifiers.length || message.reblinded.length !== h.count * POINT_BYTES) {
      throw new MatchError(
        "count-mismatch",
        `the response re-blinds ${h.count} elements, the request had ${identifiers.length}`,
      );
    }
    const max = this.options.maxElements ?? DEFAULT_MAX_ELEMENTS;
    if (h.providerCount > max) {
      throw new MatchError(
        "too-large",
        `the provider's set of ${h.providerCount.toLocaleString("en")} is over the limit of ${max.toLocaleString("en")}`,
      );
    }
    // Every point received, before any is used: a small-order or repeated value would otherwise
    // drop or add a match without an error.
    checkReceivedPoints(message.reblinded, "re-blinded");
    checkReceivedPoints(message.providerPoints, "the provider's");
    const engine = options.engine ?? this.engine;
    const theirs = await engine.multiply(secret, message.providerPoints);
    const set = new Set<string>();
    for (let o = 0; o < theirs.length; o += POINT_BYTES)
      set.add(theirs.toString("latin1", o, o + POINT_BYTES));
    const matchingValues: Buffer[] = [];
    const matches: string[] = [];
    for (let i = 0; i < h.count; i++) {
      const o = i * POINT_BYTES;
      if (!set.has(message.reblinded.toString("latin1", o, o + POINT_BYTES))) continue;
      matchingValues.push(message.reblinded.subarray(o, o + POINT_BYTES));
      // In cardinality mode the order is shuffled: position i says nothing about identifier i.
      if (this.mode === "psi") matches.push(identifiers[i] as string);
    }
    const salt = randomBytes(32);
    const result: PsiResult = {
      status: "completed",
      sessionId: this.sessionId,
      mode: this.mode,
      type: this.type,
      requestCount: identifiers.length,
      providerCount: h.providerCount,
      cardinality: matchingValues.length,
      ...(this.mode === "psi" ? { matches } : {}),
      requestDigest,
      responseDigest: message.digest,
      transcriptDigest: transcriptDigest(requestDigest, message.digest),
      resultCommitment: resultCommitment({
        sessionId: this.sessionId,
        mode: this.mode,
        salt,
        cardinality: matchingValues.length,
        matchingValues,
      }),
      resultSalt: hex(salt),
    };
    this.dispose();
    return result;
  }

  /** Forgets the secret (and the identifiers): the session can no longer be finished. */
  dispose(): void {
    this.secret?.fill(0);
    this.secret = null;
    this.identifiers = null;
    this.done = true;
  }

  private limits() {
    return { maxElements: this.options.maxElements ?? DEFAULT_MAX_ELEMENTS };
  }

  /** The state `finish` needs, secret included: for the air-gapped mode only (a 0600 file). */
  exportState(): RequesterState {
    if (this.secret === null || this.identifiers === null || this.requestDigest === null)
      throw new MatchError("internal", "nothing to save: blind first");
    return {
      format: "veritrace-psi-requester-state/1",
      sessionId: this.sessionId,
      mode: this.mode,
      type: this.type,
      secret: hex(this.secret),
      requestDigest: this.requestDigest,
      identifiers: [...this.identifiers],
    };
  }

  /** A requester ready to `finish`, from a state saved by {@link exportState}. */
  static fromState(
    state: unknown,
    options: { engine?: CurveEngine; maxElements?: number } = {},
  ): PsiRequester {
    const s = state as Partial<RequesterState> | null;
    const bad = (what: string) => new MatchError("invalid-input", `not a requester state: ${what}`);
    if (s === null || typeof s !== "object") throw bad("not an object");
    if (s.format !== "veritrace-psi-requester-state/1") throw bad("unknown format");
    if (typeof s.secret !== "string" || !/^0x[0-9a-f]{64}$/.test(s.secret)) throw bad("secret");
    if (typeof s.requestDigest !== "string" || !/^0x[0-9a-f]{64}$/.test(s.requestDigest))
      throw bad("requestDigest");
    if (!Array.isArray(s.identifiers) || !s.identifiers.every((x) => typeof x === "string"))
      throw bad("identifiers");
    const requester = new PsiRequester({
      sessionId: String(s.sessionId),
      mode: String(s.mode) as PsiMode,
      type: String(s.type) as IdentifierType,
      ...options,
    });
    requester.secret = fromHex(s.secret);
    requester.identifiers = s.identifiers;
    requester.requestDigest = s.requestDigest;
    return requester;
  }
}

export interface PsiProviderOptions {
  type: IdentifierType;
  /** Answer only this session (e.g. one the ledger granted); default: any. */
  sessionId?: string | Uint8Array;
  /** Modes this provider answers; default both. */
  modes?: readonly PsiMode[];
  /** Largest request answered; default {@link DEFAULT_MAX_ELEMENTS}. */
  maxElements?: number;
  engine?: CurveEngine;
}

/** A random permutation of n elements (Fisher-Yates over crypto.randomInt). */
function permutation(n: number): Uint32Array {
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    const t = p[i] as number;
    p[i] = p[j] as number;
    p[j] = t;
  }
  return p;
}

/** The points of `list` (n × 32 bytes) in a random order. */
export function shufflePoints(list: Buffer): Buffer {
  const n = list.length / POINT_BYTES;
  const order = permutation(n);
  const out = Buffer.alloc(list.length);
  for (let i = 0; i < n; i++) {
    const from = (order[i] as number) * POINT_BYTES;
    list.copy(out, i * POINT_BYTES, from, from + POINT_BYTES);
  }
  return out;
}

/** The party that answers: it learns the requester's set size, nothing else. */
export class PsiProvider {
  readonly type: IdentifierType;
  readonly sessionId: string | null;
  readonly modes: readonly PsiMode[];
  readonly maxElements: number;
  private readonly engine: CurveEngine;

  constructor(options: PsiProviderOptions) {
    this.type = checkIdentifierType(options.type);
    this.sessionId = options.sessionId === undefined ? null : normalizeSessionId(options.sessionId);
    this.modes = (options.modes ?? MODES).map(checkMode);
    this.maxElements = options.maxElements ?? DEFAULT_MAX_ELEMENTS;
    this.engine = options.engine ?? new InlineEngine();
  }

  /** Checks a request against what this provider answers (before any curve work). */
  check(request: PsiRequestMessage): void {
    const h = request.header;
    this.checkHeader(h);
    if (request.points.length !== h.count * POINT_BYTES)
      throw new MatchError("count-mismatch", `the request's body does not hold ${h.count} points`);
    checkReceivedPoints(request.points, "request");
  }

  /** Checks a request's header alone: session, type, mode and size (before its body arrives). */
  checkHeader(h: RequestHeader): void {
    if (this.sessionId !== null && h.sessionId !== this.sessionId) {
      throw new MatchError(
        "session-mismatch",
        `the request is for session ${h.sessionId}, not ${this.sessionId}`,
      );
    }
    if (h.type !== this.type) {
      throw new MatchError(
        "session-mismatch",
        `the request is for ${h.type} identifiers, this provider holds ${this.type}`,
      );
    }
    if (!this.modes.includes(h.mode))
      throw new MatchError("session-mismatch", `this provider does not answer mode ${h.mode}`);
    if (h.count > this.maxElements) {
      throw new MatchError(
        "too-large",
        `the request holds ${h.count.toLocaleString("en")} elements, more than the limit of ${this.maxElements.toLocaleString("en")}`,
      );
    }
  }

  /**
   * Answers a request with its own identifiers: re-blinds the request (H(x)^ab; shuffled in
   * cardinality mode) and blinds its own set (H(y)^b, shuffled), with a fresh secret b.
   */
  async respond(
    request: PsiRequestMessage | Uint8Array,
    own: readonly string[] | IdentifierSet,
  ): Promise<ProviderOutcome> {
    const message =
      request instanceof Uint8Array
        ? decodeRequest(request, { maxElements: this.maxElements })
        : request;
    this.check(message);
    const h = message.header;
    const set = identifierSet(this.type, own, { maxElements: this.maxElements });
    const secret = randomBytes(32);
    try {
      const [reblinded, mine] = await Promise.all([
        this.engine.multiply(secret, message.points),
        this.engine.hashAndMultiply({
          scalar: secret,
          sessionId: sessionIdBytes(h.sessionId),
          type: this.type,
          identifiers: set.values,
        }),
      ]);
      const response = buildResponse(
        { sessionId: h.sessionId, mode: h.mode, type: h.type, requestDigest: message.digest },
        h.mode === "cardinality" ? shufflePoints(reblinded) : reblinded,
        shufflePoints(mine),
      );
      return {
        status: "completed",
        sessionId: h.sessionId,
        mode: h.mode,
        type: h.type,
        requestCount: h.count,
        providerCount: set.size,
        response,
        transcriptDigest: transcriptDigest(message.digest, response.digest),
      };
    } finally {
      secret.fill(0);
    }
  }
}
