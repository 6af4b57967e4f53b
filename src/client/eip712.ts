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
