/**
 * The gateway's protocol (docs/exchange.md, "The gateway"): its paths, the EIP-712 types of a
 * signed download request and of a signed offer, the offer document, and the checks of both that
 * need no chain. The provider's server (gateway-server.ts) and the requester's client (fetch.ts)
 * both read it, so that the two sides can't drift apart.
 */
import { randomBytes } from "node:crypto";
import {
  getAddress,
  Signature,
  verifyTypedData,
  type Signer,
  type TypedDataDomain,
  type TypedDataField,
} from "ethers";
import { recoverSigner, validateDelivery, type Delivery } from "../client/eip712.js";
import { VeritraceError } from "../shared/errors.js";

/** Every path of the gateway starts with this. */
export const GATEWAY_PREFIX = "/exchange/v1";

/** The offers under a request: `GET` answers an {@link OffersDocument}. */
export const offersPath = (requestId: bigint): string =>
  `${GATEWAY_PREFIX}/requests/${requestId}/offers`;

/** One offer's envelope (the age file): `GET`, with `Range`. */
export const envelopePath = (requestId: bigint, sequence: number): string =>
  `${GATEWAY_PREFIX}/requests/${requestId}/offers/${sequence}/envelope`;

/** The request headers carrying the signature of a download request. */
export const SIGNER_HEADER = "veritrace-signer";
export const TIMESTAMP_HEADER = "veritrace-timestamp";
export const NONCE_HEADER = "veritrace-nonce";
export const SIGNATURE_HEADER = "veritrace-signature";

/** How far a request's timestamp may be from the gateway's clock, in seconds, either way. */
export const MAX_CLOCK_SKEW = 300;

/**
 * The gateway's EIP-712 domain: a separate name from the access ledger's, so that no gateway
 * signature can ever be taken for a delivery or an acknowledgement; bound to the consortium by the
 * chain and the access ledger's address.
 */
export function gatewayDomain(chainId: bigint | number, accessLedger: string): TypedDataDomain {
  return {
    name: "Veritrace Exchange Gateway",
    version: "1",
    chainId: BigInt(chainId),
    verifyingContract: getAddress(accessLedger),
  };
}

/** What a requester signs for every request to a gateway. */
export interface GatewayRequest {
  /** The HTTP method, upper case ("GET"). */
  method: string;
  /** The request target's path, exactly as sent (no query: the gateway's paths have none). */
  path: string;
  /** The request the path is under (the grant the gateway checks on the ledger). */
  requestId: bigint;
  /** Unix seconds at signing. */
  timestamp: bigint;
  /** 32 random bytes, never used twice. */
  nonce: string;
}

export const GATEWAY_REQUEST_TYPES: Record<string, TypedDataField[]> = {
  GatewayRequest: [
    { name: "method", type: "string" },
    { name: "path", type: "string" },
    { name: "requestId", type: "uint256" },
    { name: "timestamp", type: "uint64" },
    { name: "nonce", type: "bytes32" },
  ],
};

/**
 * What the provider signs for each offer beside the `Delivery`: the ciphertext's hash and size,
 * which the access ledger's `Delivery` has no field for, and the key the envelope is sealed to.
 */
export interface DeliveryOffer {
  requestId: bigint;
  sequence: number;
  payloadHash: string;
  ciphertextHash: string;
  ciphertextBytes: bigint;
  recipientKeyId: bigint;
}

export const DELIVERY_OFFER_TYPES: Record<string, TypedDataField[]> = {
  DeliveryOffer: [
    { name: "requestId", type: "uint256" },
    { name: "sequence", type: "uint32" },
    { name: "payloadHash", type: "bytes32" },
    { name: "ciphertextHash", type: "bytes32" },
    { name: "ciphertextBytes", type: "uint64" },
    { name: "recipientKeyId", type: "uint64" },
  ],
};

/** One offer, as the gateway serves it (JSON; integers as decimal strings). */
export interface Offer {
  version: 1;
  chainId: string;
  accessLedger: string;
  requestId: string;
  caseId: string;
  provider: number;
  requester: number;
  sequence: number;
  recipientKeyId: string;
  /** The `Delivery` the provider signed (its `payloadHash` is the envelope's commitment). */
  delivery: {
    requestId: string;
    sequence: number;
    payloadHash: string;
    recordCount: string;
    deadline: string;
  };
  /** The provider's EIP-712 `Delivery` signature (on the access ledger's domain). */
  providerSignature: { signer: string; signature: string };
  ciphertextHash: string;
  ciphertextBytes: string;
  /** The provider's EIP-712 `DeliveryOffer` signature (on the gateway's domain), same signer. */
  offerSignature: string;
  /** When the gateway made the offer (ISO 8601). */
  offeredAt: string;
  /**
   * Set when the gateway deleted the envelope (retention, a revoked grant, a closed case): when,
   * why (a code) and a one-line detail. The provider's claim, not signed; its access log (anchored)
   * holds the same.
   */
  purgedAt?: string;
  purgeReason?: string;
  purgeDetail?: string;
  /** The offer's id on ExchangeLedger, where the gateway records it before serving it. */
  ledgerOfferId?: string;
  /** The transaction that recorded the purge on ExchangeLedger (or "recorded"). */
  ledgerPurge?: string;
}

/** The answer of `GET …/offers`. */
export interface OffersDocument {
  requestId: string;
  offers: Offer[];
}

/** A fresh nonce: 32 random bytes, 0x-hex. */
export const newNonce = (): string => `0x${randomBytes(32).toString("hex")}`;

/** The headers of a request signed by `signer`. */
export async function signedRequestHeaders(
  signer: Signer,
  domain: TypedDataDomain,
  request: Omit<GatewayRequest, "timestamp" | "nonce"> & { timestamp?: bigint; nonce?: string },
): Promise<Record<string, string>> {
  const full: GatewayRequest = {
    ...request,
    timestamp: request.timestamp ?? BigInt(Math.floor(Date.now() / 1000)),
    nonce: request.nonce ?? newNonce(),
  };
  const signature = await signer.signTypedData(domain, GATEWAY_REQUEST_TYPES, full);
  return {
    [SIGNER_HEADER]: await signer.getAddress(),
    [TIMESTAMP_HEADER]: full.timestamp.toString(),
    [NONCE_HEADER]: full.nonce,
    [SIGNATURE_HEADER]: signature,
  };
}

/** The address that signed a gateway request, or undefined for a malformed signature. */
export function recoverRequestSigner(
  domain: TypedDataDomain,
  request: GatewayRequest,
  signature: string,
): string | undefined {
  try {
    Signature.from(signature);
    return verifyTypedData(domain, GATEWAY_REQUEST_TYPES, request, signature);
  } catch {
    return undefined;
  }
}

/** The offer's `Delivery`, as bigints. */
export function deliveryOf(offer: Offer): Delivery {
  return validateDelivery({
    requestId: BigInt(offer.delivery.requestId),
    sequence: offer.delivery.sequence,
    payloadHash: offer.delivery.payloadHash,
    recordCount: BigInt(offer.delivery.recordCount),
    deadline: BigInt(offer.delivery.deadline),
  });
}

/** The offer's `DeliveryOffer`, as signed. */
export function deliveryOfferOf(offer: Offer): DeliveryOffer {
  return {
    requestId: BigInt(offer.requestId),
    sequence: offer.sequence,
    payloadHash: offer.delivery.payloadHash,
    ciphertextHash: offer.ciphertextHash,
    ciphertextBytes: BigInt(offer.ciphertextBytes),
    recipientKeyId: BigInt(offer.recipientKeyId),
  };
}

/** An offer whose form or signatures don't hold (before anything is downloaded). */
export class OfferError extends VeritraceError {
  override name = "OfferError";
  constructor(message: string) {
    super(message, { kind: "verification-failed" });
  }
}

const HEX32 = /^0x[0-9a-f]{64}$/;
const DECIMAL = /^(0|[1-9]\d{0,77})$/;

/**
 * Checks an offer's form, that it is for `requestId` and the consortium of `ledgerDomain` /
 * `gateway`, and that both of its signatures are by one key (`providerSignature.signer`), which
 * the caller must then check is an active key of the request's provider. Returns that signer.
 */
export function checkOffer(
  offer: Offer,
  requestId: bigint,
  ledgerDomain: TypedDataDomain,
  gateway: TypedDataDomain,
): string {
  const strings: [string, unknown, RegExp][] = [
    ["chainId", offer.chainId, DECIMAL],
    ["requestId", offer.requestId, DECIMAL],
    ["caseId", offer.caseId, DECIMAL],
    ["recipientKeyId", offer.recipientKeyId, DECIMAL],
    ["ciphertextBytes", offer.ciphertextBytes, DECIMAL],
    ["ciphertextHash", offer.ciphertextHash, HEX32],
  ];
  for (const [name, value, form] of strings)
    if (typeof value !== "string" || !form.test(value))
      throw new OfferError(`the gateway's offer is malformed: ${name}`);
  if (offer.version !== 1)
    throw new OfferError(`the gateway's offer is of version ${String(offer.version)}, not 1`);
  if (BigInt(offer.requestId) !== requestId)
    throw new OfferError(`the gateway answered an offer for request ${offer.requestId}`);
  if (BigInt(offer.chainId) !== BigInt(ledgerDomain.chainId as bigint))
    throw new OfferError(`the offer is for chain ${offer.chainId}`);
  if (
    typeof offer.accessLedger !== "string" ||
    offer.accessLedger.toLowerCase() !== String(ledgerDomain.verifyingContract).toLowerCase()
  )
    throw new OfferError(`the offer is for another access ledger: ${String(offer.accessLedger)}`);
  let delivery: Delivery;
  try {
    delivery = deliveryOf(offer);
  } catch (e) {
    throw new OfferError(`the offer's delivery is malformed: ${(e as Error).message}`);
  }
  if (delivery.requestId !== requestId || delivery.sequence !== offer.sequence)
    throw new OfferError("the offer's delivery names another request or sequence");
  const signer = offer.providerSignature?.signer;
  if (typeof signer !== "string" || !/^0x[0-9a-fA-F]{40}$/.test(signer))
    throw new OfferError("the offer's provider signer is malformed");
  const recovered = recoverSigner(
    "provider",
    ledgerDomain,
    delivery,
    String(offer.providerSignature.signature),
  );
  if (recovered === undefined || recovered.toLowerCase() !== signer.toLowerCase())
    throw new OfferError(`the offer's Delivery signature is not by ${signer}`);
  let offerSigner: string | undefined;
  try {
    Signature.from(offer.offerSignature);
    offerSigner = verifyTypedData(
      gateway,
      DELIVERY_OFFER_TYPES,
      deliveryOfferOf(offer),
      offer.offerSignature,
    );
  } catch {
    offerSigner = undefined;
  }
  if (offerSigner === undefined || offerSigner.toLowerCase() !== signer.toLowerCase())
    throw new OfferError(`the offer's DeliveryOffer signature is not by ${signer}`);
  return getAddress(signer);
}
