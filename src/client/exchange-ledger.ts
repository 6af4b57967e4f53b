import type { ContractTransactionReceipt, Signer } from "ethers";
import type { ConsortiumContracts } from "./deployment.js";
import { InputError, VeritraceError, withDecodedReverts } from "./errors.js";
import { eventOf, transact } from "./transact.js";
import {
  requireCommitment,
  requireInteger,
  UINT32_MAX,
  UINT64_MAX,
  type Bytes32,
} from "./validate.js";

/**
 * A sealed delivery's custody on the ledger (ExchangeLedger): the provider records the offer of a
 * ciphertext (its hash, size and the requester's key it is sealed to) and, later, its purge. The
 * acknowledgement stays the access ledger's co-signed delivery of the same (request, sequence).
 */

/** Why a ciphertext was deleted, in the contract's order (IExchangeLedger.PurgeReason). */
export const PURGE_REASONS = [
  "retention",
  "revoked",
  "case-closed",
  "expired",
  "superseded",
] as const;
export type PurgeReason = (typeof PURGE_REASONS)[number];

/** An offer's state, in the contract's order (IExchangeLedger.OfferState; "none" never returned). */
export const OFFER_STATES = ["none", "offered", "purged"] as const;
export type OfferState = (typeof OFFER_STATES)[number];

/**
 * What the provider records when it offers a sealed delivery. The gateway's signed
 * `DeliveryOffer` has these fields (and so may be passed as it is), plus the retention.
 */
export interface LedgerOfferInput {
  requestId: bigint;
  sequence: number;
  /** The plaintext commitment the co-signed `Delivery` attests. */
  payloadHash: string;
  /** SHA-256 of the ciphertext as served. */
  ciphertextHash: string;
  ciphertextBytes: bigint;
  /** The requester's current encryption key the ciphertext is sealed to. */
  recipientKeyId: bigint;
  /** How long the provider keeps the ciphertext after the acknowledgement (seconds). */
  retentionSeconds: number;
}

/** One offer as the ledger records it. */
export interface LedgerOffer {
  offerId: bigint;
  requestId: bigint;
  sequence: number;
  provider: number;
  requester: number;
  state: Exclude<OfferState, "none">;
  payloadHash: Bytes32;
  ciphertextHash: Bytes32;
  ciphertextBytes: bigint;
  recipientKeyId: bigint;
  retentionSeconds: number;
  /** When it was offered (unix seconds). */
  offeredAt: number;
  /** When its purge was recorded; null while offered. */
  purgedAt: number | null;
  /** Why it was purged; null while offered. */
  purgeReason: PurgeReason | null;
}

/** What an offer or a purge transaction recorded. */
export interface OfferReceipt {
  offerId: bigint;
  receipt: ContractTransactionReceipt;
}

/** The contract's number for `reason`, or an {@link InputError}. */
export function purgeReasonCode(reason: PurgeReason): number {
  const code = PURGE_REASONS.indexOf(reason);
  if (code < 0)
    throw new InputError("reason", `must be one of ${PURGE_REASONS.join(", ")}, not ${reason}`);
  return code;
}

/**
 * Records an offer of a sealed delivery, by a signing key of the request's provider. The ledger
 * refuses it unless the grant is live, the case active, the sequence not yet delivered, the
 * recipient key the requester's current one and no other offer of the same delivery live (purge
 * it first, reason "superseded").
 */
export async function offerOnLedger(
  contracts: ConsortiumContracts,
  signer: Signer,
  offer: LedgerOfferInput,
): Promise<OfferReceipt> {
  const requestId = requireInteger("requestId", offer.requestId, 1n, 2n ** 256n - 1n);
  const sequence = requireInteger("sequence", offer.sequence, 0n, UINT32_MAX);
  const payloadHash = requireCommitment("payloadHash", offer.payloadHash);
  const ciphertextHash = requireCommitment("ciphertextHash", offer.ciphertextHash);
  const bytes = requireInteger("ciphertextBytes", offer.ciphertextBytes, 1n, UINT64_MAX);
  const keyId = requireInteger("recipientKeyId", offer.recipientKeyId, 1n, UINT64_MAX);
  const retention = requireInteger("retentionSeconds", offer.retentionSeconds, 0n, UINT32_MAX);
  const receipt = await transact(() =>
    contracts.exchangeLedger
      .connect(signer)
      .offer(requestId, sequence, payloadHash, ciphertextHash, bytes, keyId, retention),
  );
  const ev = await eventOf(receipt, contracts.exchangeLedger, "DeliveryOffered");
  return { offerId: ev.getValue("offerId") as bigint, receipt };
}

/** Records the deletion of the live offer of (`requestId`, `sequence`), by the provider's key. */
export async function recordPurge(
  contracts: ConsortiumContracts,
  signer: Signer,
  requestId: bigint,
  sequence: number,
  reason: PurgeReason,
): Promise<OfferReceipt> {
  const id = requireInteger("requestId", requestId, 1n, 2n ** 256n - 1n);
  const seq = requireInteger("sequence", sequence, 0n, UINT32_MAX);
  const code = purgeReasonCode(reason);
  const receipt = await transact(() =>
    contracts.exchangeLedger.connect(signer).recordPurge(id, seq, code),
  );
  const ev = await eventOf(receipt, contracts.exchangeLedger, "DeliveryPurged");
  return { offerId: ev.getValue("offerId") as bigint, receipt };
}

/** The latest offer of (`requestId`, `sequence`), or null when it was never offered. */
export async function ledgerOfferOf(
  contracts: ConsortiumContracts,
  requestId: bigint,
  sequence: number,
): Promise<LedgerOffer | null> {
  const id = requireInteger("requestId", requestId, 1n, 2n ** 256n - 1n);
  const seq = requireInteger("sequence", sequence, 0n, UINT32_MAX);
  const [offerId, o] = await withDecodedReverts(() => contracts.exchangeLedger.offerOf(id, seq));
  return offerId === 0n ? null : toOffer(offerId, o);
}

/** An offer by id, live or purged; a {@link VeritraceError} (not-found) for an unknown id. */
export async function ledgerOfferById(
  contracts: ConsortiumContracts,
  offerId: bigint,
): Promise<LedgerOffer> {
  const id = requireInteger("offerId", offerId, 1n, UINT64_MAX);
  const o = await withDecodedReverts(() => contracts.exchangeLedger.getOffer(id));
  if (o.state === 0n) throw new VeritraceError(`offer ${id} does not exist`, { kind: "not-found" });
  return toOffer(id, o);
}

/** Publishes (or, with "", withdraws) the gateway URL of the institution `signer` speaks for. */
export async function setGatewayUrl(
  contracts: ConsortiumContracts,
  signer: Signer,
  url: string,
): Promise<ContractTransactionReceipt> {
  if (url !== "") {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new InputError("url", `not a URL: ${JSON.stringify(url)}`);
    }
    if (parsed.protocol !== "https:" && parsed.protocol !== "http:")
      throw new InputError("url", `must be http(s), not ${parsed.protocol}`);
  }
  return transact(() => contracts.exchangeLedger.connect(signer).setGateway(url));
}

/** The gateway URL `participantId` published, or null when none. */
export async function gatewayUrlOf(
  contracts: ConsortiumContracts,
  participantId: number,
): Promise<string | null> {
  const id = Number(requireInteger("participantId", participantId, 1n, UINT32_MAX));
  const url = await withDecodedReverts(() => contracts.exchangeLedger.gatewayOf(id));
  return url === "" ? null : url;
}

type OfferStruct = Awaited<ReturnType<ConsortiumContracts["exchangeLedger"]["getOffer"]>>;

function toOffer(offerId: bigint, o: OfferStruct): LedgerOffer {
  const purged = o.state === 2n;
  return {
    offerId,
    requestId: o.requestId,
    sequence: Number(o.sequence),
    provider: Number(o.provider),
    requester: Number(o.requester),
    state: purged ? "purged" : "offered",
    payloadHash: o.payloadHash.toLowerCase() as Bytes32,
    ciphertextHash: o.ciphertextHash.toLowerCase() as Bytes32,
    ciphertextBytes: o.ciphertextBytes,
    recipientKeyId: o.recipientKeyId,
    retentionSeconds: Number(o.retentionSeconds),
    offeredAt: Number(o.offeredAt),
    purgedAt: purged ? Number(o.purgedAt) : null,
    purgeReason: purged ? (PURGE_REASONS[Number(o.reason)] ?? null) : null,
  };
}
