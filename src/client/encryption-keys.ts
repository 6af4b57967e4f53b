import {
  TypedDataEncoder,
  type ContractTransactionReceipt,
  type Signer,
  type TypedDataDomain,
  type TypedDataField,
} from "ethers";
import { ageRecipient, requireEncryptionPublicKey } from "./age-keys.js";
import type { ConsortiumContracts } from "./deployment.js";
import { VeritraceError, withDecodedReverts } from "./errors.js";
import { eventOf, transact } from "./transact.js";
import {
  requireAddress,
  requireInteger,
  UINT16_MAX,
  UINT32_MAX,
  UINT64_MAX,
  type Bytes32,
} from "./validate.js";

/**
 * The institutions' encryption keys on the ledger (EncryptionKeyRegistry): register, rotate,
 * revoke, read. An institution registers with one of its active signing keys, sending the
 * transaction itself or signing a {@link KeyRotation} that anyone submits.
 */

/** One encryption key and its validity, as the registry records it. */
export interface EncryptionKeyRecord {
  keyId: bigint;
  participantId: number;
  /** The X25519 public key, 0x-hex. */
  publicKey: Bytes32;
  /** The same key as an age recipient (`age1…`), what an age implementation encrypts to. */
  recipient: string;
  /** When it was registered (unix seconds). */
  validFrom: number;
  /** When it was replaced or revoked; null while it is the institution's current key. */
  validUntil: number | null;
  /** The institution's key before it (0n: its first). */
  previousKeyId: bigint;
  /** Whether it ended by revocation (possibly exposed) rather than rotation. */
  revoked: boolean;
}

/** A registration signed by an institution's signing key (IEncryptionKeyRegistry.KeyRotation). */
export interface KeyRotation {
  participantId: number;
  publicKey: string;
  /** The institution's current key id (0n when it has none). */
  replacesKeyId: bigint;
  /** Last timestamp (unix seconds) at which it may be submitted. */
  deadline: bigint;
}

/** EIP-712 type a signing key signs to register an encryption key. */
export const KEY_ROTATION_TYPES: Record<string, TypedDataField[]> = {
  KeyRotation: [
    { name: "participantId", type: "uint32" },
    { name: "publicKey", type: "bytes32" },
    { name: "replacesKeyId", type: "uint64" },
    { name: "deadline", type: "uint64" },
  ],
};

/** The encryption key registry's EIP-712 domain: binds signatures to one chain and one contract. */
export function keyRegistryDomain(
  chainId: bigint | number,
  verifyingContract: string,
): TypedDataDomain {
  return {
    name: "Veritrace Encryption Keys",
    version: "1",
    chainId: BigInt(chainId),
    verifyingContract: requireAddress("verifyingContract", verifyingContract),
  };
}

/** Checks a rotation's fields before anyone signs it. */
export function validateKeyRotation(r: KeyRotation): KeyRotation {
  return {
    participantId: Number(requireInteger("participantId", r.participantId, 1n, UINT32_MAX)),
    publicKey: requireEncryptionPublicKey("publicKey", r.publicKey),
    replacesKeyId: requireInteger("replacesKeyId", r.replacesKeyId, 0n, UINT64_MAX),
    deadline: requireInteger("deadline", r.deadline, 1n, UINT64_MAX),
  };
}

/** The digest a signing key signs for `rotation`. */
export function keyRotationDigest(domain: TypedDataDomain, rotation: KeyRotation): string {
  return TypedDataEncoder.hash(domain, KEY_ROTATION_TYPES, validateKeyRotation(rotation));
}

/** A signing key's signature of `rotation`, for {@link submitKeyRotation}. */
export async function signKeyRotation(
  signer: Signer,
  domain: TypedDataDomain,
  rotation: KeyRotation,
): Promise<string> {
  return signer.signTypedData(domain, KEY_ROTATION_TYPES, validateKeyRotation(rotation));
}

/** The registry's domain, read from the chain the contracts are connected to. */
export async function keyRegistryDomainOf(
  contracts: ConsortiumContracts,
): Promise<TypedDataDomain> {
  const provider = contracts.keys.runner?.provider;
  if (provider === null || provider === undefined)
    throw new VeritraceError("the key registry is connected to no provider", {
      kind: "invalid-input",
    });
  const { chainId } = await provider.getNetwork();
  return keyRegistryDomain(chainId, await contracts.keys.getAddress());
}

/** What a registration did. */
export interface KeyRegistration {
  keyId: bigint;
  /** The key it replaced (0n: none was current). */
  replacedKeyId: bigint;
  receipt: ContractTransactionReceipt;
}

/**
 * Registers `publicKey` (0x-hex or `age1…`) as the encryption key of the institution `signer`
 * speaks for, replacing its current key. `replaces` is the key id it expects to be current; by
 * default the one current now (the registry refuses the registration if it changed meanwhile).
 */
export async function registerEncryptionKey(
  contracts: ConsortiumContracts,
  signer: Signer,
  publicKey: string,
  options: { replaces?: bigint } = {},
): Promise<KeyRegistration> {
  const key = requireEncryptionPublicKey("publicKey", publicKey);
  let replaces = options.replaces;
  if (replaces === undefined) {
    const [participantId] = await withDecodedReverts(() =>
      contracts.registry.activeParticipantOf(signer.getAddress()),
    );
    replaces = await currentKeyIdOf(contracts, Number(participantId));
  }
  const replacesKeyId = requireInteger("replaces", replaces, 0n, UINT64_MAX);
  const receipt = await transact(() =>
    contracts.keys.connect(signer).registerKey(key, replacesKeyId),
  );
  return registrationOf(contracts, receipt);
}

/** Submits a signed rotation (from anyone: the signature is the authority). */
export async function submitKeyRotation(
  contracts: ConsortiumContracts,
  submitter: Signer,
  rotation: KeyRotation,
  signingKey: string,
  signature: string,
): Promise<KeyRegistration> {
  const r = validateKeyRotation(rotation);
  const signer = requireAddress("signingKey", signingKey);
  const receipt = await transact(() =>
    contracts.keys.connect(submitter).registerKeyBySignature(r, signer, signature),
  );
  return registrationOf(contracts, receipt);
}

/** Revokes the current encryption key `keyId` of the institution `signer` speaks for. */
export async function revokeEncryptionKey(
  contracts: ConsortiumContracts,
  signer: Signer,
  keyId: bigint,
  reasonCode: number,
): Promise<ContractTransactionReceipt> {
  const id = requireInteger("keyId", keyId, 1n, UINT64_MAX);
  const code = requireInteger("reasonCode", reasonCode, 0n, UINT16_MAX);
  return transact(() => contracts.keys.connect(signer).revokeKey(id, code));
}

/** The key to encrypt to for `participantId` now (reverts unless it is active and has one). */
export async function currentEncryptionKey(
  contracts: ConsortiumContracts,
  participantId: number,
): Promise<EncryptionKeyRecord> {
  const id = Number(requireInteger("participantId", participantId, 1n, UINT32_MAX));
  const [keyId] = await withDecodedReverts(() => contracts.keys.currentKey(id));
  return encryptionKeyById(contracts, keyId);
}

/** A key's record, current or not; a {@link VeritraceError} (not-found) for an unknown id. */
export async function encryptionKeyById(
  contracts: ConsortiumContracts,
  keyId: bigint,
): Promise<EncryptionKeyRecord> {
  const id = requireInteger("keyId", keyId, 1n, UINT64_MAX);
  const k = await withDecodedReverts(() => contracts.keys.encryptionKey(id));
  if (k.participantId === 0n)
    throw new VeritraceError(`encryption key ${id} does not exist`, { kind: "not-found" });
  const publicKey = k.publicKey.toLowerCase() as Bytes32;
  return {
    keyId: id,
    participantId: Number(k.participantId),
    publicKey,
    recipient: ageRecipient(publicKey),
    validFrom: Number(k.validFrom),
    validUntil: k.validUntil === 0n ? null : Number(k.validUntil),
    previousKeyId: k.previousKeyId,
    revoked: k.revoked,
  };
}

/** Every key `participantId` ever registered, newest first. */
export async function encryptionKeyHistory(
  contracts: ConsortiumContracts,
  participantId: number,
): Promise<EncryptionKeyRecord[]> {
  const id = Number(requireInteger("participantId", participantId, 1n, UINT32_MAX));
  const out: EncryptionKeyRecord[] = [];
  let next = await contracts.keys.latestKeyId(id);
  while (next !== 0n) {
    const k = await encryptionKeyById(contracts, next);
    out.push(k);
    next = k.previousKeyId;
  }
  return out;
}

/** The current key id of `participantId` (0n: none), whatever its status. */
async function currentKeyIdOf(
  contracts: ConsortiumContracts,
  participantId: number,
): Promise<bigint> {
  const latest = await contracts.keys.latestKeyId(participantId);
  if (latest === 0n) return 0n;
  const k = await contracts.keys.encryptionKey(latest);
  return k.validUntil === 0n ? latest : 0n;
}

async function registrationOf(
  contracts: ConsortiumContracts,
  receipt: ContractTransactionReceipt,
): Promise<KeyRegistration> {
  const ev = await eventOf(receipt, contracts.keys, "EncryptionKeyRegistered");
  return {
    keyId: ev.getValue("keyId") as bigint,
    replacedKeyId: ev.getValue("replacedKeyId") as bigint,
    receipt,
  };
}
