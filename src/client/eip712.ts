import {
  Signature,
  TypedDataEncoder,
  verifyTypedData,
  type Signer,
  type TypedDataDomain,
  type TypedDataField,
} from "ethers";
import {
  requireAddress,
  requireCommitment,
  requireInteger,
  UINT32_MAX,
  UINT64_MAX,
} from "./validate.js";

/** The fields both parties sign for one delivery (IAccessLedger.Delivery). */
export interface Delivery {
  requestId: bigint;
  sequence: number;
  payloadHash: string;
  recordCount: bigint;
  deadline: bigint;
}

const fields: TypedDataField[] = [
  { name: "requestId", type: "uint256" },
  { name: "sequence", type: "uint32" },
  { name: "payloadHash", type: "bytes32" },
  { name: "recordCount", type: "uint64" },
  { name: "deadline", type: "uint64" },
];

/** EIP-712 types: the provider signs `Delivery`, the requester signs `Acknowledgement`. */
export const DELIVERY_TYPES: Record<string, TypedDataField[]> = { Delivery: fields };
export const ACKNOWLEDGEMENT_TYPES: Record<string, TypedDataField[]> = { Acknowledgement: fields };

/** The access ledger's EIP-712 domain: binds signatures to one chain and one contract. */
export function accessLedgerDomain(
  chainId: bigint | number,
  verifyingContract: string,
): TypedDataDomain {
  return {
    name: "Veritrace Access Ledger",
    version: "1",
    chainId: BigInt(chainId),
    verifyingContract: requireAddress("verifyingContract", verifyingContract),
  };
}

/** Checks a delivery's fields before anyone signs it. */
export function validateDelivery(d: Delivery): Delivery {
  return {
    requestId: requireInteger("requestId", d.requestId, 1n, 2n ** 256n - 1n),
    sequence: Number(requireInteger("sequence", d.sequence, 0n, UINT32_MAX)),
    payloadHash: requireCommitment("payloadHash", d.payloadHash),
    recordCount: requireInteger("recordCount", d.recordCount, 0n, UINT64_MAX),
    deadline: requireInteger("deadline", d.deadline, 1n, UINT64_MAX),
  };
}

/** The provider's signature of a delivery. */
export async function signDelivery(
  signer: Signer,
  domain: TypedDataDomain,
  d: Delivery,
): Promise<string> {
  return signer.signTypedData(domain, DELIVERY_TYPES, validateDelivery(d));
}

/** The requester's acknowledgement of a delivery. */
export async function signAcknowledgement(
  signer: Signer,
  domain: TypedDataDomain,
  d: Delivery,
): Promise<string> {
  return signer.signTypedData(domain, ACKNOWLEDGEMENT_TYPES, validateDelivery(d));
}

/** The digest the provider signs. */
export function deliveryDigest(domain: TypedDataDomain, d: Delivery): string {
  return TypedDataEncoder.hash(domain, DELIVERY_TYPES, d);
}

/** The digest the requester signs. */
export function acknowledgementDigest(domain: TypedDataDomain, d: Delivery): string {
  return TypedDataEncoder.hash(domain, ACKNOWLEDGEMENT_TYPES, d);
}

/**
 * Off-chain check of an ECDSA signature of either party: the address that signed, or undefined
 * when the signature is malformed. (Contract signers are checked on chain through ERC-1271.)
 */
export function recoverSigner(
  role: "provider" | "requester",
  domain: TypedDataDomain,
  d: Delivery,
  signature: string,
): string | undefined {
  try {
    Signature.from(signature);
    return verifyTypedData(
      domain,
      role === "provider" ? DELIVERY_TYPES : ACKNOWLEDGEMENT_TYPES,
      d,
      signature,
    );
  } catch {
    return undefined;
  }
}

// ------------------------------------------------------------------ matching sessions

/** The provider's commitment to its response in a matching session (IMatchingLedger.MatchResponse). */
export interface MatchResponse {
  sessionId: bigint;
  /** The session tag: the protocol's 32-byte session id. */
  tag: string;
  /** The requester's commitment to its request message, as recorded at opening. */
  requestDigest: string;
  /** The provider's commitment to its response message. */
  responseDigest: string;
  /** Elements in the provider's set. */
  providerSetSize: bigint;
}

/**
 * The requester's binding of a request message to the session it opened: signed by an active key
 * of the session's requester and checked by the provider (off chain, before it marks a session
 * failed), so that a request under a session is known to come from the session's opener.
 */
export interface MatchRequest {
  sessionId: bigint;
  tag: string;
  /** The digest of the request message, as recorded at opening. */
  requestDigest: string;
}

/** A matching session's result, as both parties sign it (IMatchingLedger.MatchResult). */
export interface MatchResult {
  sessionId: bigint;
  tag: string;
  requestDigest: string;
  responseDigest: string;
  /** Commitment to the result (salted: it must not be testable by guessing). */
  resultCommitment: string;
  /** Size of the intersection. */
  cardinality: bigint;
}

/** EIP-712 type the provider signs for its response. */
export const MATCH_RESPONSE_TYPES: Record<string, TypedDataField[]> = {
  MatchResponse: [
    { name: "sessionId", type: "uint256" },
    { name: "tag", type: "bytes32" },
    { name: "requestDigest", type: "bytes32" },
    { name: "responseDigest", type: "bytes32" },
    { name: "providerSetSize", type: "uint64" },
  ],
};

/** EIP-712 type the requester signs for its request (checked off chain by the provider). */
export const MATCH_REQUEST_TYPES: Record<string, TypedDataField[]> = {
  MatchRequest: [
    { name: "sessionId", type: "uint256" },
    { name: "tag", type: "bytes32" },
    { name: "requestDigest", type: "bytes32" },
  ],
};

/** EIP-712 type both parties sign for the result. */
export const MATCH_RESULT_TYPES: Record<string, TypedDataField[]> = {
  MatchResult: [
    { name: "sessionId", type: "uint256" },
    { name: "tag", type: "bytes32" },
    { name: "requestDigest", type: "bytes32" },
    { name: "responseDigest", type: "bytes32" },
    { name: "resultCommitment", type: "bytes32" },
    { name: "cardinality", type: "uint64" },
  ],
};

/** The matching ledger's EIP-712 domain: binds signatures to one chain and one contract. */
export function matchingLedgerDomain(
  chainId: bigint | number,
  verifyingContract: string,
): TypedDataDomain {
  return {
    name: "Veritrace Matching Ledger",
    version: "1",
    chainId: BigInt(chainId),
    verifyingContract: requireAddress("verifyingContract", verifyingContract),
  };
}

/** Checks a response's fields before anyone signs it. */
export function validateMatchResponse(m: MatchResponse): MatchResponse {
  return {
    sessionId: requireInteger("sessionId", m.sessionId, 1n, 2n ** 256n - 1n),
    tag: requireCommitment("tag", m.tag),
    requestDigest: requireCommitment("requestDigest", m.requestDigest),
    responseDigest: requireCommitment("responseDigest", m.responseDigest),
    providerSetSize: requireInteger("providerSetSize", m.providerSetSize, 0n, UINT64_MAX),
  };
}

/** Checks a request binding's fields before anyone signs it. */
export function validateMatchRequest(m: MatchRequest): MatchRequest {
  return {
    sessionId: requireInteger("sessionId", m.sessionId, 1n, 2n ** 256n - 1n),
    tag: requireCommitment("tag", m.tag),
    requestDigest: requireCommitment("requestDigest", m.requestDigest),
  };
}

/** Checks a result's fields before anyone signs it (the set-size bound is the contract's). */
export function validateMatchResult(m: MatchResult): MatchResult {
  return {
    sessionId: requireInteger("sessionId", m.sessionId, 1n, 2n ** 256n - 1n),
    tag: requireCommitment("tag", m.tag),
    requestDigest: requireCommitment("requestDigest", m.requestDigest),
    responseDigest: requireCommitment("responseDigest", m.responseDigest),
    resultCommitment: requireCommitment("resultCommitment", m.resultCommitment),
    cardinality: requireInteger("cardinality", m.cardinality, 0n, UINT64_MAX),
  };
}

/** The provider's signature of its response commitment. */
export async function signMatchResponse(
  signer: Signer,
  domain: TypedDataDomain,
  m: MatchResponse,
): Promise<string> {
  return signer.signTypedData(domain, MATCH_RESPONSE_TYPES, validateMatchResponse(m));
}

/** The requester's signature binding its request to the session it opened. */
export async function signMatchRequest(
  signer: Signer,
  domain: TypedDataDomain,
  m: MatchRequest,
): Promise<string> {
  return signer.signTypedData(domain, MATCH_REQUEST_TYPES, validateMatchRequest(m));
}

/** Either party's signature of a session's result. */
export async function signMatchResult(
  signer: Signer,
  domain: TypedDataDomain,
  m: MatchResult,
): Promise<string> {
  return signer.signTypedData(domain, MATCH_RESULT_TYPES, validateMatchResult(m));
}

/** The digest the provider signs for its response. */
export function matchResponseDigest(domain: TypedDataDomain, m: MatchResponse): string {
  return TypedDataEncoder.hash(domain, MATCH_RESPONSE_TYPES, m);
}

/** The digest both parties sign for a result. */
export function matchResultDigest(domain: TypedDataDomain, m: MatchResult): string {
  return TypedDataEncoder.hash(domain, MATCH_RESULT_TYPES, m);
}

/** A message of a matching session that a party signs, named by its kind. */
export type MatchMessage =
  | { kind: "request"; message: MatchRequest }
  | { kind: "response"; message: MatchResponse }
  | { kind: "result"; message: MatchResult };

/**
 * Off-chain check of an ECDSA signature of a request, a response or a result: the address that signed, or
 * undefined when the signature is malformed. (Contract signers are checked on chain, ERC-1271.)
 */
export function recoverMatchSigner(
  domain: TypedDataDomain,
  m: MatchMessage,
  signature: string,
): string | undefined {
  try {
    Signature.from(signature);
    switch (m.kind) {
      case "request":
        return verifyTypedData(domain, MATCH_REQUEST_TYPES, m.message, signature);
      case "response":
        return verifyTypedData(domain, MATCH_RESPONSE_TYPES, m.message, signature);
      case "result":
        return verifyTypedData(domain, MATCH_RESULT_TYPES, m.message, signature);
    }
  } catch {
    return undefined;
  }
}
