import {
  hexlify,
  randomBytes,
  ZeroHash,
  type ContractTransactionReceipt,
  type Signer,
  type TypedDataDomain,
} from "ethers";
import type { ConsortiumContracts } from "./deployment.js";
import {
  matchingLedgerDomain,
  validateMatchResponse,
  validateMatchResult,
  type MatchResponse,
  type MatchResult,
} from "./eip712.js";
import { InputError, VeritraceError, withDecodedReverts } from "./errors.js";
import { eventOf, transact } from "./transact.js";
import {
  requireAddress,
  requireCommitment,
  requireInteger,
  UINT64_MAX,
  type Bytes32,
} from "./validate.js";

/**
 * Private-set-intersection matching sessions on the consortium's matching ledger: the requester
 * opens a session under a granted request, the provider's signed response commitment and the
 * result both parties sign are recorded, or either party records a failure. The protocol itself
 * runs off chain; these helpers only record it.
 */

/** What the requester learns: the matching identifiers, or only how many (IMatchingLedger.Mode). */
export type MatchMode = "psi" | "cardinality";
export const MATCH_MODES: readonly MatchMode[] = ["psi", "cardinality"];

/** Lifecycle of a session (IMatchingLedger.SessionStatus, without None). */
export type MatchSessionStatus = "open" | "responded" | "completed" | "failed";
const STATUSES: readonly (MatchSessionStatus | null)[] = [
  null,
  "open",
  "responded",
  "completed",
  "failed",
];

/** Why a session failed: the MATCH_FAILURE_* codes of IMatchingLedger.sol. */
export const MatchFailure = {
  MalformedMessage: 1,
  WrongCount: 2,
  WrongSession: 3,
  Oversize: 4,
  Normalization: 5,
  Timeout: 6,
  Other: 7,
} as const;
export type MatchFailure = (typeof MatchFailure)[keyof typeof MatchFailure];

/** A failure code in words, as the tracer shows it. */
export const MATCH_FAILURE_NAMES: Readonly<Record<number, string>> = {
  1: "malformed message",
  2: "wrong count",
  3: "wrong session",
  4: "oversize",
  5: "normalization",
  6: "timeout or abandoned",
  7: "other",
};

/** A session as the ledger holds it. Ids and sizes are bigints; digests not yet recorded are null. */
export interface MatchSession {
  sessionId: bigint;
  requestId: bigint;
  caseId: bigint;
  requester: number;
  provider: number;
  mode: MatchMode;
  status: MatchSessionStatus;
  /** Unix seconds. */
  openedAt: number;
  setSize: bigint;
  providerSetSize: bigint;
  cardinality: bigint;
  tag: Bytes32;
  requestDigest: Bytes32;
  responseDigest: Bytes32 | null;
  resultCommitment: Bytes32 | null;
}

/** Input of {@link openMatchSession}. */
export interface OpenMatchSessionInput {
  /** The granted access request the session runs under. */
  requestId: bigint | number;
  mode: MatchMode;
  /** The session tag ({@link newSessionTag}): the protocol's 32-byte session id, never reused. */
  tag: string;
  /** The requester's commitment to its request message (the message's digest). */
  requestDigest: string;
  /** Identifiers asked about; with the earlier sessions of the request at most the grant's maxRecords. */
  setSize: bigint | number;
}

/** A party's signature, as the ledger takes it. */
export interface MatchSignature {
  signer: string;
  signature: string;
}

/** A fresh session tag: 32 random bytes (never zero). */
export function newSessionTag(): Bytes32 {
  for (;;) {
    const tag = hexlify(randomBytes(32));
    if (tag !== ZeroHash) return tag as Bytes32;
  }
}

function requireMode(mode: MatchMode): number {
  const index = MATCH_MODES.indexOf(mode);
  if (index < 0) {
    throw new InputError("mode", `${JSON.stringify(mode)} is not one of ${MATCH_MODES.join(", ")}`);
  }
  return index;
}

function requireSessionId(sessionId: bigint | number): bigint {
  return requireInteger("sessionId", sessionId, 1n, 2n ** 256n - 1n);
}

function party(field: string, p: MatchSignature): MatchSignature {
  return { signer: requireAddress(`${field}.signer`, p.signer), signature: p.signature };
}

/**
 * Opens a matching session as the request's requester; returns the session id. The inputs are
 * checked before anything is sent; the ledger checks the grant, the case and the tag.
 */
export async function openMatchSession(
  contracts: ConsortiumContracts,
  signer: Signer,
  input: OpenMatchSessionInput,
): Promise<bigint> {
  return (await openMatchSessionWithReceipt(contracts, signer, input)).sessionId;
}

/** {@link openMatchSession}, with the transaction's receipt. */
export async function openMatchSessionWithReceipt(
  contracts: ConsortiumContracts,
  signer: Signer,
  input: OpenMatchSessionInput,
): Promise<{ sessionId: bigint; receipt: ContractTransactionReceipt }> {
  const requestId = requireInteger("requestId", input.requestId, 1n, UINT64_MAX);
  const mode = requireMode(input.mode);
  const tag = requireCommitment("tag", input.tag);
  const requestDigest = requireCommitment("requestDigest", input.requestDigest);
  const setSize = requireInteger("setSize", input.setSize, 1n, UINT64_MAX);
  const receipt = await transact(() =>
    contracts.matching.connect(signer).open(requestId, mode, tag, requestDigest, setSize),
  );
  const ev = await eventOf(receipt, contracts.matching, "MatchSessionOpened");
  return { sessionId: ev.getValue("sessionId") as bigint, receipt };
}

/** The matching ledger's EIP-712 domain, as the contract reports it (ERC-5267). */
export async function matchingDomain(contracts: ConsortiumContracts): Promise<TypedDataDomain> {
  const d = await contracts.matching.eip712Domain();
  return matchingLedgerDomain(d.chainId, d.verifyingContract);
}

/** The response a provider signs for `session`: its commitment and its set's size. */
export function matchResponseOf(
  session: MatchSession,
  response: { responseDigest: string; providerSetSize: bigint | number },
): MatchResponse {
  return validateMatchResponse({
    sessionId: session.sessionId,
    tag: session.tag,
    requestDigest: session.requestDigest,
    responseDigest: response.responseDigest,
    providerSetSize: BigInt(response.providerSetSize),
  });
}

/** The result both parties sign for a responded `session`. */
export function matchResultOf(
  session: MatchSession,
  result: { resultCommitment: string; cardinality: bigint | number },
): MatchResult {
  if (session.responseDigest === null) {
    throw new InputError("session", `session ${session.sessionId} has no recorded response yet`);
  }
  return validateMatchResult({
    sessionId: session.sessionId,
    tag: session.tag,
    requestDigest: session.requestDigest,
    responseDigest: session.responseDigest,
    resultCommitment: result.resultCommitment,
    cardinality: BigInt(result.cardinality),
  });
}

/** Records the provider's signed response commitment; anyone may submit it. */
export async function recordMatchResponse(
  contracts: ConsortiumContracts,
  submitter: Signer,
  response: MatchResponse,
  provider: MatchSignature,
): Promise<ContractTransactionReceipt> {
  const m = validateMatchResponse(response);
  const p = party("provider", provider);
  return transact(() => contracts.matching.connect(submitter).recordResponse(m, p));
}

/** Records a result signed by both parties; anyone may submit it. */
export async function recordMatchResult(
  contracts: ConsortiumContracts,
  submitter: Signer,
  result: MatchResult,
  provider: MatchSignature,
  requester: MatchSignature,
): Promise<ContractTransactionReceipt> {
  const m = validateMatchResult(result);
  const p = party("provider", provider);
  const q = party("requester", requester);
  return transact(() => contracts.matching.connect(submitter).recordResult(m, p, q));
}

/** Records that an open or responded session failed, as either party ({@link MatchFailure}). */
export async function failMatchSession(
  contracts: ConsortiumContracts,
  signer: Signer,
  sessionId: bigint | number,
  reasonCode: MatchFailure,
): Promise<ContractTransactionReceipt> {
  const id = requireSessionId(sessionId);
  const code = requireInteger("reasonCode", reasonCode, 1n, 7n);
  return transact(() => contracts.matching.connect(signer).fail(id, code));
}

type RawSession = Awaited<ReturnType<ConsortiumContracts["matching"]["session"]>>;

function toSession(sessionId: bigint, s: RawSession): MatchSession | undefined {
  const status = STATUSES[Number(s.status)] ?? null;
  if (status === null) return undefined;
  const orNull = (v: string): Bytes32 | null => (v === ZeroHash ? null : (v as Bytes32));
  return {
    sessionId,
    requestId: s.requestId,
    caseId: s.caseId,
    requester: Number(s.requester),
    provider: Number(s.provider),
    mode: MATCH_MODES[Number(s.mode)] ?? "psi",
    status,
    openedAt: Number(s.openedAt),
    setSize: s.setSize,
    providerSetSize: s.providerSetSize,
    cardinality: s.cardinality,
    tag: s.tag as Bytes32,
    requestDigest: s.requestDigest as Bytes32,
    responseDigest: orNull(s.responseDigest),
    resultCommitment: orNull(s.resultCommitment),
  };
}

/** A session by its id (undefined if there is none). */
export async function matchSession(
  contracts: ConsortiumContracts,
  sessionId: bigint | number,
): Promise<MatchSession | undefined> {
  const id = requireSessionId(sessionId);
  return toSession(id, await withDecodedReverts(() => contracts.matching.session(id)));
}

/** A session by its tag (undefined if no session has it). */
export async function matchSessionByTag(
  contracts: ConsortiumContracts,
  tag: string,
): Promise<MatchSession | undefined> {
  const t = requireCommitment("tag", tag);
  const [id, s] = await withDecodedReverts(() => contracts.matching.sessionByTag(t));
  return id === 0n ? undefined : toSession(id, s);
}

/**
 * What a provider checks before answering a request message: the ledger holds an open session
 * with this tag, for this provider, with the request digest, mode and size the message carries.
 * Returns the session; throws a {@link VeritraceError} saying what differs.
 */
export async function requireOpenMatchSession(
  contracts: ConsortiumContracts,
  expected: {
    tag: string;
    requestDigest: string;
    mode?: MatchMode;
    setSize?: bigint | number;
    provider?: number;
  },
): Promise<MatchSession> {
  const s = await matchSessionByTag(contracts, expected.tag);
  if (s === undefined)
    throw new VeritraceError(`no matching session has tag ${expected.tag}`, { kind: "not-found" });
  const differs = (what: string, recorded: unknown, given: unknown) =>
    new VeritraceError(
      `session ${s.sessionId}: ${what} is ${String(recorded)} on the ledger, ${String(given)} here`,
      { kind: "conflict" },
    );
  if (s.status !== "open") throw differs("the status", s.status, "open");
  const digest = requireCommitment("requestDigest", expected.requestDigest);
  if (s.requestDigest !== digest) throw differs("the request digest", s.requestDigest, digest);
  if (expected.mode !== undefined && s.mode !== expected.mode)
    throw differs("the mode", s.mode, expected.mode);
  if (expected.setSize !== undefined && s.setSize !== BigInt(expected.setSize))
    throw differs("the set size", s.setSize, expected.setSize);
  if (expected.provider !== undefined && s.provider !== expected.provider)
    throw differs("the provider", s.provider, expected.provider);
  return s;
}
