/**
 * A matching session on the consortium's matching ledger, as `veritrace match` runs it (whose
 * options naming the ledger are src/cli/match-ledger.ts): the requester's steps (open, accept the
 * provider's signed response, have the result co-signed and record it, or mark the session
 * failed) and the provider's (check a request against the ledger before any work, sign its
 * response, co-sign a result). docs/psi.md, "Recorded on the ledger", tells the sequence.
 *
 * Naming: the protocol's 32-byte `sessionId` (in every message header and every hash) is the
 * ledger's `tag`; the ledger's `sessionId` is the number the ledger assigns at opening.
 */
import type { IncomingHttpHeaders } from "node:http";
import type { Signer, TypedDataDomain } from "ethers";
import type { ConsortiumContracts } from "../client/deployment.js";
import {
  recoverMatchSigner,
  signMatchRequest,
  signMatchResponse,
  signMatchResult,
  type MatchRequest,
  type MatchResponse,
  type MatchMessage,
  type MatchResult,
} from "../client/eip712.js";
import { ContractRevertError } from "../client/errors.js";
import {
  MATCH_FAILURE_NAMES,
  MatchFailure,
  failMatchSession,
  matchResultOf,
  matchSession,
  matchSessionByTag,
  matchingDomain,
  openMatchSessionWithReceipt,
  recordMatchResponse,
  recordMatchResult,
  requireOpenMatchSession,
  type MatchSession,
  type MatchSignature,
} from "../client/matching.js";
import {
  ConflictError,
  NotFoundError,
  TracerError,
  UnavailableError,
  VeritraceError,
  firstLine,
} from "../shared/errors.js";
import { MatchError, type MatchFailureReason } from "./errors.js";
import {
  LEDGER_SESSION_HEADER,
  REQUEST_SIGNATURE_HEADER,
  REQUEST_SIGNER_HEADER,
  SIGNATURE_HEADER,
  SIGNER_HEADER,
  type MatchServerOptions,
  type SessionGate,
} from "./http.js";
import type { CurveEngine } from "./engine.js";
import type { IdentifierSet } from "./identifiers.js";
import type { PsiMode, PsiRequestMessage, PsiResponseMessage, RequestHeader } from "./messages.js";
import {
  PsiRequester,
  sessionFailure,
  type ProviderOutcome,
  type PsiResult,
  type SessionFailure,
} from "./session.js";

/**
 * Why a session failed, as the ledger records it: one code per protocol reason (the
 * MATCH_FAILURE_* codes of IMatchingLedger.sol). The only place this mapping is written.
 */
export const FAILURE_CODES: Readonly<Record<MatchFailureReason, MatchFailure>> = {
  "malformed-message": MatchFailure.MalformedMessage,
  "invalid-point": MatchFailure.MalformedMessage,
  "low-order-point": MatchFailure.MalformedMessage,
  "duplicate-point": MatchFailure.MalformedMessage,
  "count-mismatch": MatchFailure.WrongCount,
  "session-mismatch": MatchFailure.WrongSession,
  "digest-mismatch": MatchFailure.WrongSession,
  "invalid-signature": MatchFailure.WrongSession,
  "too-large": MatchFailure.Oversize,
  "invalid-input": MatchFailure.Normalization,
  "peer-error": MatchFailure.Timeout,
  unauthorized: MatchFailure.Timeout,
  internal: MatchFailure.Other,
};

/** A command's connection to the ledger: the consortium's contracts and the institution's key. */
export interface MatchLedger {
  contracts: ConsortiumContracts;
  /**
   * The institution's key, connected to the chain: the keystore's wallet for the commands, any
   * ethers Signer from code ({@link connectMatchLedger}).
   */
  signer: Signer;
  /** The key's address. */
  address: string;
  /** The participant that key speaks for (an active key: checked at connection). */
  participant: number;
  /** The matching ledger's EIP-712 domain. */
  domain: TypedDataDomain;
  close(): void;
}

/** Any error as a MatchError with a short message (the reason kept, or "internal"). */
function asMatchError(error: unknown): MatchError {
  if (error instanceof MatchError) return error;
  const failure = sessionFailure(error);
  return new MatchError(failure.reason, firstLine(error), { cause: error });
}

/**
 * The ledger for an institution's `signer` (connected to the consortium's chain), as the
 * commands build it from their options: checks that the key is an active key of a participant.
 * `close` is called by `MatchLedger.close` (default: nothing).
 */
export async function connectMatchLedger(
  contracts: ConsortiumContracts,
  signer: Signer,
  options: { close?: () => void; what?: string } = {},
): Promise<MatchLedger> {
  const address = await signer.getAddress();
  const what = options.what ?? "the key";
  const [participant, active] = await contracts.registry.keyStatus(address);
  if (!active)
    throw participant === 0n
      ? new NotFoundError(`${what} ${address} is not a key of any participant`)
      : new ConflictError(
          `${what} ${address} of participant ${participant} may not act now (key removed or participant not active)`,
        );
  return {
    contracts,
    signer,
    address,
    participant: Number(participant),
    domain: await matchingDomain(contracts),
    close: options.close ?? (() => {}),
  };
}

/** Checks that `signature` signs `m` and is by an active key of `participant`. */
async function requireSignedBy(
  ledger: MatchLedger,
  m: MatchMessage,
  signature: MatchSignature,
  participant: number,
  who: "provider" | "requester",
): Promise<void> {
  const type =
    m.kind === "request" ? "MatchRequest" : m.kind === "response" ? "MatchResponse" : "MatchResult";
  const recovered = recoverMatchSigner(ledger.domain, m, signature.signature);
  if (recovered === undefined || recovered.toLowerCase() !== signature.signer.toLowerCase())
    throw new MatchError(
      "invalid-signature",
      `the ${who}'s ${type} signature is not ${signature.signer}'s over the ${m.kind} of session ${m.message.sessionId} as received`,
    );
  const [id, active] = await ledger.contracts.registry.keyStatus(recovered);
  if (Number(id) !== participant || !active)
    throw new MatchError(
      "invalid-signature",
      `the ${who}'s ${type} signer ${recovered} is not an active key of participant ${participant}`,
    );
}

/** A {signer, signature} pair from untrusted JSON; a MatchError names `what` otherwise. */
export function parseSignature(value: unknown, what: string): MatchSignature {
  const v = value as Partial<MatchSignature> | null;
  if (
    v === null ||
    typeof v !== "object" ||
    typeof v.signer !== "string" ||
    !/^0x[0-9a-fA-F]{40}$/.test(v.signer) ||
    typeof v.signature !== "string" ||
    !/^0x[0-9a-fA-F]+$/.test(v.signature)
  )
    throw new MatchError("malformed-message", `${what} is not a {signer, signature} pair`);
  return { signer: v.signer, signature: v.signature };
}

// ------------------------------------------------------------------ requester

/** A session the requester opened, and the transactions recorded for it so far. */
export interface OpenedSession {
  sessionId: bigint;
  requestId: bigint;
  /** The protocol's session id. */
  tag: string;
  requestDigest: string;
  /** The provider's participant id. */
  provider: number;
  transactions: { open: string; response?: string; result?: string };
}

/**
 * Opens the session on the ledger for a blinded request (tag = the request's protocol session
 * id, requestDigest = the digest the provider recomputes from the bytes, setSize = its count).
 * A refusal (e.g. `IdentifierLimitExceeded(…)`) says that nothing was recorded.
 */
export async function openOnLedger(
  ledger: MatchLedger,
  requestId: bigint,
  request: PsiRequestMessage,
): Promise<OpenedSession> {
  const h = request.header;
  let opened: Awaited<ReturnType<typeof openMatchSessionWithReceipt>>;
  try {
    opened = await openMatchSessionWithReceipt(ledger.contracts, ledger.signer, {
      requestId,
      mode: h.mode,
      tag: h.sessionId,
      requestDigest: request.digest,
      setSize: h.count,
    });
  } catch (error) {
    throw new TracerError(
      `the ledger refused to open a session under request ${requestId}: ${firstLine(error)}; nothing was recorded`,
      { kind: error instanceof VeritraceError ? error.kind : "failed" },
    );
  }
  const s = await matchSession(ledger.contracts, opened.sessionId);
  if (s === undefined)
    throw new UnavailableError(`session ${opened.sessionId} is not on the ledger`);
  return {
    sessionId: opened.sessionId,
    requestId,
    tag: h.sessionId,
    requestDigest: request.digest,
    provider: s.provider,
    transactions: { open: opened.receipt.hash },
  };
}

/**
 * A requester's session up to its opening, then `next`: blinds the identifiers under `tag` and,
 * with a ledger (null: the protocol alone), opens the session under the access request for the
 * blinded request. After the opening, any failure marks the session failed ({@link failOnLedger});
 * the requester's secret is disposed of in every case. `match run` and `match blind` start so.
 */
export async function blindAndOpen<T>(
  options: {
    engine: CurveEngine;
    tag: string;
    mode: PsiMode;
    identifiers: IdentifierSet;
    maxElements?: number;
    ledger: { ledger: MatchLedger; requestId: bigint } | null;
  },
  next: (session: {
    requester: PsiRequester;
    blinded: PsiRequestMessage;
    opened: OpenedSession | null;
  }) => Promise<T>,
): Promise<T> {
  const { engine, tag, mode, identifiers, maxElements, ledger } = options;
  const requester = new PsiRequester({
    sessionId: tag,
    mode,
    type: identifiers.type,
    engine,
    ...(maxElements === undefined ? {} : { maxElements }),
  });
  let opened: OpenedSession | null = null;
  try {
    const blinded = await requester.blind(identifiers);
    if (ledger !== null) opened = await openOnLedger(ledger.ledger, ledger.requestId, blinded);
    return await next({ requester, blinded, opened });
  } catch (error) {
    if (ledger !== null && opened !== null)
      throw await failOnLedger(ledger.ledger, opened.sessionId, error);
    throw error;
  } finally {
    requester.dispose();
  }
}

/**
 * The requester's signature binding its request to the session it opened (EIP-712
 * `MatchRequest`: the ledger's session id, the tag and the request digest recorded at opening).
 * The provider checks it before it marks the session failed for anything wrong in the request:
 * without it, anyone holding a serve token who read a tag on the ledger could have another
 * requester's session marked failed.
 */
export async function signRequest(
  ledger: MatchLedger,
  opened: Pick<OpenedSession, "sessionId" | "tag" | "requestDigest">,
): Promise<MatchSignature> {
  const m: MatchRequest = {
    sessionId: opened.sessionId,
    tag: opened.tag,
    requestDigest: opened.requestDigest,
  };
  return {
    signer: ledger.address,
    signature: await signMatchRequest(ledger.signer, ledger.domain, m),
  };
}

/** The HTTP headers carrying a request's binding ({@link signRequest}). */
export function requestSignatureHeaders(binding: MatchSignature): Record<string, string> {
  return { [REQUEST_SIGNER_HEADER]: binding.signer, [REQUEST_SIGNATURE_HEADER]: binding.signature };
}

/** The requester's binding from the headers of its HTTP request (null if absent). */
export function requestSignatureOf(headers: IncomingHttpHeaders): MatchSignature | null {
  const signer = headers[REQUEST_SIGNER_HEADER];
  const signature = headers[REQUEST_SIGNATURE_HEADER];
  if (typeof signer !== "string" && typeof signature !== "string") return null;
  return parseSignature({ signer, signature }, "the requester's request signature");
}

/** The provider's signature from the headers of its HTTP answer (null if absent). */
export function responseSignatureOf(headers: IncomingHttpHeaders): MatchSignature | null {
  const signer = headers[SIGNER_HEADER];
  const signature = headers[SIGNATURE_HEADER];
  if (typeof signer !== "string" || typeof signature !== "string") return null;
  return parseSignature({ signer, signature }, "the provider's response signature");
}

/**
 * Checks that the response answers this session's request (its tag and request digest), then the
 * provider's MatchResponse signature over it as received (its digest and set size, computed here
 * from the bytes), by an active key of the session's provider, and records it: the session is
 * Responded.
 */
export async function acceptResponse(
  ledger: MatchLedger,
  opened: OpenedSession,
  response: PsiResponseMessage,
  signature: MatchSignature | null,
): Promise<MatchResponse> {
  const h = response.header;
  if (h.sessionId !== opened.tag)
    throw new MatchError(
      "session-mismatch",
      `the response is of tag ${h.sessionId}, not of session ${opened.sessionId}'s tag ${opened.tag}`,
    );
  if (h.requestDigest !== opened.requestDigest)
    throw new MatchError(
      "session-mismatch",
      `the response answers request ${h.requestDigest}, not session ${opened.sessionId}'s ${opened.requestDigest}`,
    );
  if (signature === null)
    throw new MatchError(
      "invalid-signature",
      "the provider's response carries no MatchResponse signature",
    );
  const m: MatchResponse = {
    sessionId: opened.sessionId,
    tag: opened.tag,
    requestDigest: opened.requestDigest,
    responseDigest: response.digest,
    providerSetSize: BigInt(response.header.providerCount),
  };
  await requireSignedBy(
    ledger,
    { kind: "response", message: m },
    signature,
    opened.provider,
    "provider",
  );
  const receipt = await recordMatchResponse(ledger.contracts, ledger.signer, m, signature);
  opened.transactions.response = receipt.hash;
  return m;
}

/** What the requester sends the provider to co-sign (HTTP body, or the air-gapped file). */
export interface CosignRequest {
  format: "veritrace-match-result/1";
  result: Record<keyof MatchResult, string>;
  requester: MatchSignature;
}

/** The provider's answer (HTTP body, or the air-gapped file). */
export interface Cosignature {
  format: "veritrace-match-cosignature/1";
  sessionId: string;
  provider: MatchSignature;
}

function resultFields(m: MatchResult): Record<keyof MatchResult, string> {
  return {
    sessionId: m.sessionId.toString(),
    tag: m.tag,
    requestDigest: m.requestDigest,
    responseDigest: m.responseDigest,
    resultCommitment: m.resultCommitment,
    cardinality: m.cardinality.toString(),
  };
}

/** The result both parties sign, signed by the requester: what it asks the provider to co-sign. */
export async function resultToCosign(
  ledger: MatchLedger,
  opened: Pick<OpenedSession, "sessionId" | "tag" | "requestDigest">,
  responseDigest: string,
  result: Pick<PsiResult, "resultCommitment" | "cardinality">,
): Promise<CosignRequest> {
  const m: MatchResult = {
    sessionId: opened.sessionId,
    tag: opened.tag,
    requestDigest: opened.requestDigest,
    responseDigest,
    resultCommitment: result.resultCommitment,
    cardinality: BigInt(result.cardinality),
  };
  const signature = await signMatchResult(ledger.signer, ledger.domain, m);
  return {
    format: "veritrace-match-result/1",
    result: resultFields(m),
    requester: { signer: ledger.address, signature },
  };
}

/** Parses a co-sign request (from the network or a file); a MatchError says what is wrong. */
export function parseCosignRequest(value: unknown): {
  result: MatchResult;
  requester: MatchSignature;
} {
  const v = value as Partial<CosignRequest> | null;
  if (v === null || typeof v !== "object" || v.format !== "veritrace-match-result/1")
    throw new MatchError("malformed-message", "not a veritrace-match-result/1 document");
  const r = (v.result ?? {}) as Partial<Record<keyof MatchResult, unknown>>;
  const hex32 = (k: keyof MatchResult) => {
    const x = r[k];
    if (typeof x !== "string" || !/^0x[0-9a-f]{64}$/.test(x))
      throw new MatchError("malformed-message", `result.${k} is not 0x + 64 lowercase hex digits`);
    return x;
  };
  const count = (k: keyof MatchResult) => {
    const x = r[k];
    if (typeof x !== "string" || !/^\d{1,20}$/.test(x))
      throw new MatchError("malformed-message", `result.${k} is not a decimal integer`);
    return BigInt(x);
  };
  return {
    result: {
      sessionId: count("sessionId"),
      tag: hex32("tag"),
      requestDigest: hex32("requestDigest"),
      responseDigest: hex32("responseDigest"),
      resultCommitment: hex32("resultCommitment"),
      cardinality: count("cardinality"),
    },
    requester: parseSignature(v.requester, "requester"),
  };
}

/**
 * Records a result the provider co-signed: checks the co-signature (by an active key of the
 * provider, over this result) and submits `recordResult`; the requester is the one submitter.
 */
export async function recordCosigned(
  ledger: MatchLedger,
  request: CosignRequest,
  answer: unknown,
  provider: number,
): Promise<string> {
  const { result, requester } = parseCosignRequest(request);
  const a = answer as Partial<Cosignature> | null;
  if (a === null || typeof a !== "object" || a.format !== "veritrace-match-cosignature/1")
    throw new MatchError("malformed-message", "the provider's answer is not a co-signature");
  if (a.sessionId !== result.sessionId.toString())
    throw new MatchError(
      "session-mismatch",
      `the co-signature is for session ${String(a.sessionId)}, not ${result.sessionId}`,
    );
  const theirs = parseSignature(a.provider, "the provider's co-signature");
  await requireSignedBy(ledger, { kind: "result", message: result }, theirs, provider, "provider");
  const receipt = await recordMatchResult(
    ledger.contracts,
    ledger.signer,
    result,
    theirs,
    requester,
  );
  return receipt.hash;
}

/**
 * After a failure of an open or responded session: records it failed with the code of its
 * reason, and returns the error to show, one line saying that the session was marked failed.
 */
export async function failOnLedger(
  ledger: MatchLedger,
  sessionId: bigint,
  error: unknown,
): Promise<MatchError> {
  const failure = sessionFailure(asMatchError(error));
  const code = FAILURE_CODES[failure.reason];
  let note: string;
  try {
    await failMatchSession(ledger.contracts, ledger.signer, sessionId, code);
    note = `session ${sessionId} marked failed on the ledger (code ${code}, ${MATCH_FAILURE_NAMES[code]})`;
  } catch (e) {
    const s = await matchSession(ledger.contracts, sessionId).catch(() => undefined);
    note =
      s?.status === "failed"
        ? `session ${sessionId} was already marked failed on the ledger by the provider`
        : `marking session ${sessionId} failed did not succeed: ${firstLine(e)}`;
  }
  return new MatchError(failure.reason, `${failure.message}; ${note}`, { cause: error });
}

// ------------------------------------------------------------------ provider

/** What the provider keeps of a session it answered, for its co-signature. */
interface Answered {
  tag: string;
  requestDigest: string;
  responseDigest: string;
  providerSetSize: bigint;
  expires: number;
}

/** A log entry of the provider's ledger actions. */
export type LedgerLog = (entry: Record<string, unknown>) => void;

/**
 * The provider's side: checks each request against the ledger before any work, signs its
 * responses, co-signs results of the sessions it answered (kept in memory, bounded, for
 * `ttlMs`), and marks failed the sessions opened for it whose request it refused.
 */
export class ProviderLedger {
  private readonly answered = new Map<string, Answered>();
  private readonly maxSessions: number;
  private readonly ttlMs: number;

  constructor(
    readonly ledger: MatchLedger,
    private readonly log: LedgerLog = () => {},
    options: { maxSessions?: number; ttlMs?: number } = {},
  ) {
    this.maxSessions = options.maxSessions ?? 1024;
    this.ttlMs = options.ttlMs ?? 3_600_000;
  }

  /**
   * Before the body: an open session with this tag on the ledger, for this provider (and, if the
   * requester named one, with that id), the request bound to it by its requester (`binding`, a
   * `MatchRequest` signature by an active key of the session's requester over the session id, tag
   * and request digest the ledger recorded), of this mode and size. Only once the session is
   * known to be this provider's, open and the binding its requester's is it passed to `ours` (and
   * so may be marked failed if a later check refuses the request): a request from anyone else is
   * refused without touching the session.
   */
  async checkHeader(
    header: RequestHeader,
    claimed: string | undefined,
    binding: MatchSignature | null,
    ours: (s: MatchSession) => void,
  ): Promise<MatchSession> {
    const refuse = (message: string) => new MatchError("session-mismatch", message);
    const s = await matchSessionByTag(this.ledger.contracts, header.sessionId);
    if (s === undefined) throw refuse(`no session on the ledger has tag ${header.sessionId}`);
    if (claimed !== undefined && claimed !== s.sessionId.toString())
      throw refuse(
        `tag ${header.sessionId} is session ${s.sessionId} on the ledger, not ${claimed}`,
      );
    if (s.provider !== this.ledger.participant)
      throw refuse(
        `session ${s.sessionId} is for participant ${s.provider}, this provider is participant ${this.ledger.participant}`,
      );
    if (s.status !== "open") throw refuse(`session ${s.sessionId} is ${s.status}, not open`);
    if (binding === null)
      throw new MatchError(
        "invalid-signature",
        `the request carries no MatchRequest signature by session ${s.sessionId}'s requester`,
      );
    await requireSignedBy(
      this.ledger,
      {
        kind: "request",
        message: { sessionId: s.sessionId, tag: s.tag, requestDigest: s.requestDigest },
      },
      binding,
      s.requester,
      "requester",
    );
    ours(s);
    if (s.mode !== header.mode)
      throw refuse(
        `session ${s.sessionId} was opened in mode ${s.mode}, the request is ${header.mode}`,
      );
    if (s.setSize !== BigInt(header.count))
      throw refuse(
        `session ${s.sessionId} was opened for ${s.setSize} identifiers, the request holds ${header.count}`,
      );
    return s;
  }

  /** After the body: the ledger's check of the whole request (requireOpenMatchSession). */
  async checkRequest(request: PsiRequestMessage): Promise<MatchSession> {
    const h = request.header;
    try {
      return await requireOpenMatchSession(this.ledger.contracts, {
        tag: h.sessionId,
        requestDigest: request.digest,
        mode: h.mode,
        setSize: h.count,
        provider: this.ledger.participant,
      });
    } catch (error) {
      if (error instanceof MatchError) throw error;
      throw new MatchError("session-mismatch", firstLine(error));
    }
  }

  /** Signs the response computed for `session`, and remembers it for the co-signature. */
  async attest(session: MatchSession, outcome: ProviderOutcome): Promise<MatchSignature> {
    const m: MatchResponse = {
      sessionId: session.sessionId,
      tag: session.tag,
      requestDigest: session.requestDigest,
      responseDigest: outcome.response.digest,
      providerSetSize: BigInt(outcome.providerCount),
    };
    const signature = await signMatchResponse(this.ledger.signer, this.ledger.domain, m);
    this.remember(session.sessionId, {
      tag: m.tag,
      requestDigest: m.requestDigest,
      responseDigest: m.responseDigest,
      providerSetSize: m.providerSetSize,
      expires: Date.now() + this.ttlMs,
    });
    return { signer: this.ledger.address, signature };
  }

  private remember(sessionId: bigint, entry: Answered): void {
    const now = Date.now();
    for (const [id, e] of this.answered) if (e.expires <= now) this.answered.delete(id);
    this.answered.delete(sessionId.toString());
    this.answered.set(sessionId.toString(), entry);
    while (this.answered.size > this.maxSessions) {
      const oldest = this.answered.keys().next().value as string;
      this.answered.delete(oldest);
    }
  }

  /**
   * Marks a session of this provider failed with the code of the failure's reason; logs and
   * returns what happened (a refusal because the requester already marked it is no error).
   */
  async fail(sessionId: bigint, failure: SessionFailure): Promise<string> {
    const code = FAILURE_CODES[failure.reason];
    const entry = { msg: "ledger", sessionId: sessionId.toString(), code, reason: failure.reason };
    try {
      const receipt = await failMatchSession(
        this.ledger.contracts,
        this.ledger.signer,
        sessionId,
        code,
      );
      this.log({ level: "info", ...entry, action: "failed", tx: receipt.hash });
      return `session ${sessionId} marked failed on the ledger (code ${code}, ${MATCH_FAILURE_NAMES[code]})`;
    } catch (error) {
      const closed = error instanceof ContractRevertError && error.errorName === "SessionClosed";
      this.log({
        level: closed ? "info" : "warn",
        ...entry,
        action: closed ? "already closed" : "fail refused",
        message: firstLine(error),
      });
      return closed
        ? `session ${sessionId} was already closed on the ledger`
        : `marking session ${sessionId} failed did not succeed: ${firstLine(error)}`;
    }
  }

  /** The gate of one HTTP session request (createMatchServer's `gate`). */
  gate(headers: IncomingHttpHeaders): SessionGate {
    const value = headers[LEDGER_SESSION_HEADER];
    const claimed = typeof value === "string" ? value.trim() : undefined;
    let ours: MatchSession | null = null;
    let checked: MatchSession | null = null;
    return {
      authorize: async (header) => {
        await this.checkHeader(header, claimed, requestSignatureOf(headers), (s) => (ours = s));
      },
      admit: async (request) => {
        checked = await this.checkRequest(request);
      },
      attest: async (outcome) => {
        if (checked === null)
          throw new MatchError("internal", "a response for an unchecked session");
        const signature = await this.attest(checked, outcome);
        return { [SIGNER_HEADER]: signature.signer, [SIGNATURE_HEADER]: signature.signature };
      },
      failed: (failure) => {
        const s = ours as MatchSession | null;
        if (s !== null) void this.fail(s.sessionId, failure);
      },
    };
  }

  /**
   * What `createMatchServer` needs to answer for this provider on the ledger: the gate of each
   * session request and the co-signature route. `match serve` uses it; so can code serving in
   * process (the demo).
   */
  serverHooks(): Required<Pick<MatchServerOptions, "gate" | "cosign">> {
    return {
      gate: ({ headers }) => this.gate(headers),
      cosign: (body) => this.cosign(body),
    };
  }

  /**
   * Co-signs a result of a session this provider answered (HTTP: only one this process answered,
   * with the digests it computed; air-gapped: `answered` is null and the ledger's record of the
   * provider's own signed response stands for it). Checks the session on the ledger (Responded,
   * this provider's, the signed digests the recorded ones, the cardinality within both sets) and
   * the requester's signature.
   */
  async cosign(body: unknown, options: { requireAnswered?: boolean } = {}): Promise<Cosignature> {
    const { result, requester } = parseCosignRequest(body);
    const id = result.sessionId;
    const refuse = (message: string) => new MatchError("session-mismatch", message);
    const answered = this.answered.get(id.toString());
    if (
      (options.requireAnswered ?? true) &&
      (answered === undefined || answered.expires <= Date.now())
    )
      throw refuse(
        `this provider did not answer session ${id}, or has forgotten it (kept ${this.ttlMs / 60_000} minutes)`,
      );
    const s = await matchSession(this.ledger.contracts, id);
    if (s === undefined) throw refuse(`session ${id} is not on the ledger`);
    if (s.provider !== this.ledger.participant)
      throw refuse(`session ${id} is for participant ${s.provider}, not this provider`);
    if (s.status !== "responded") throw refuse(`session ${id} is ${s.status}, not responded`);
    if (
      answered !== undefined &&
      (s.responseDigest !== answered.responseDigest ||
        s.requestDigest !== answered.requestDigest ||
        s.tag !== answered.tag ||
        s.providerSetSize !== answered.providerSetSize)
    )
      throw refuse(`the response recorded for session ${id} is not the one this provider sent`);
    const expected = matchResultOf(s, result);
    for (const k of ["tag", "requestDigest", "responseDigest"] as const)
      if (expected[k] !== result[k]) throw refuse(`the result's ${k} is not session ${id}'s`);
    const bound = s.setSize < s.providerSetSize ? s.setSize : s.providerSetSize;
    if (result.cardinality > bound)
      throw new MatchError(
        "count-mismatch",
        `a cardinality of ${result.cardinality} is over ${bound}, the smaller set of session ${id}`,
      );
    await requireSignedBy(
      this.ledger,
      { kind: "result", message: result },
      requester,
      s.requester,
      "requester",
    );
    const signature = await signMatchResult(this.ledger.signer, this.ledger.domain, result);
    this.log({ level: "info", msg: "ledger", action: "cosigned", sessionId: id.toString() });
    return {
      format: "veritrace-match-cosignature/1",
      sessionId: id.toString(),
      provider: { signer: this.ledger.address, signature },
    };
  }
}
