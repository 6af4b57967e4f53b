import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import type { Signer, TypedDataDomain, TypedDataField } from "ethers";
import type { CaseRegistry, ParticipantRegistry } from "../../types/ethers-contracts/index.js";
import { Action, coder, commitment, passProposal } from "./fixture.js";

/** Request statuses, in the order of IAccessLedger.RequestStatus. */
export const RequestStatus = {
  None: 0,
  Pending: 1,
  Granted: 2,
  Denied: 3,
  Revoked: 4,
  Withdrawn: 5,
} as const;

/** Participant statuses, in the order of IParticipantRegistry.Status. */
export const ParticipantStatus = {
  None: 0,
  Active: 1,
  Suspended: 2,
  Revoked: 3,
} as const;

/** The fields both parties sign, in the order of IAccessLedger.Delivery. */
const DELIVERY_FIELDS: TypedDataField[] = [
  { name: "requestId", type: "uint256" },
  { name: "sequence", type: "uint32" },
  { name: "payloadHash", type: "bytes32" },
  { name: "recordCount", type: "uint64" },
  { name: "deadline", type: "uint64" },
];

/** EIP-712 primary types: the provider signs `Delivery`, the requester `Acknowledgement`. */
export type SignedType = "Delivery" | "Acknowledgement";

export const typesOf = (type: SignedType): Record<string, TypedDataField[]> => ({
  [type]: DELIVERY_FIELDS,
});

/** A delivery as both parties sign it. */
export interface Delivery {
  requestId: bigint;
  sequence: bigint;
  payloadHash: string;
  recordCount: bigint;
  deadline: bigint;
}

/** A party's signature as AccessLedger.attestDelivery takes it. */
export interface PartySignature {
  signer: string;
  signature: string;
}

/** The EIP-712 domain of an AccessLedger at `verifyingContract` on `chainId`. */
export const ledgerDomain = (chainId: bigint, verifyingContract: string): TypedDataDomain => ({
  name: "Veritrace Access Ledger",
  version: "1",
  chainId,
  verifyingContract,
});

/** `key` signs `delivery` as `type` in `domain`; `signer` (default: the key) is the address named. */
export async function signAs(
  type: SignedType,
  key: Signer,
  domain: TypedDataDomain,
  delivery: Delivery,
  signer?: string,
): Promise<PartySignature> {
  return {
    signer: signer ?? (await key.getAddress()),
    signature: await key.signTypedData(domain, typesOf(type), delivery),
  };
}

/** Opens a case as `police` and approves it as `prosecutor`; returns its id. */
export async function openApprovedCase(
  cases: CaseRegistry,
  police: HardhatEthersSigner,
  prosecutor: HardhatEthersSigner,
  number: string,
  scope: bigint,
  expiresAt: number,
): Promise<bigint> {
  const caseId = await openCase(cases, police, number, scope, expiresAt);
  await (await cases.connect(prosecutor).approveCase(caseId)).wait();
  return caseId;
}

/** Opens a case as `police`, leaving it pending; returns its id. */
export async function openCase(
  cases: CaseRegistry,
  police: HardhatEthersSigner,
  number: string,
  scope: bigint,
  expiresAt: number,
): Promise<bigint> {
  await (
    await cases
      .connect(police)
      .openCase(commitment(number), commitment(`legal basis of ${number}`), scope, expiresAt)
  ).wait();
  return cases.caseCount();
}

/** Suspends `participantId` through a council proposal. */
export async function suspend(
  registry: ParticipantRegistry,
  council: HardhatEthersSigner[],
  participantId: number,
): Promise<void> {
  await passProposal(registry, council, Action.Suspend, coder.encode(["uint32"], [participantId]));
}

/** Binds `key` to `participantId` as a further signing key through a council proposal. */
export async function addSigningKey(
  registry: ParticipantRegistry,
  council: HardhatEthersSigner[],
  participantId: number,
  key: string,
): Promise<void> {
  await passProposal(
    registry,
    council,
    Action.AddSigningKey,
    coder.encode(["uint32", "address"], [participantId, key]),
  );
}
