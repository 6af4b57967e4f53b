/** Off-chain checks of what the ledger recorded: a delivery's signatures, an entry's inclusion. */
import { isHexString } from "ethers";
import { canonicalJson, entryHash as hashEntry, verifyLogEntry } from "../client/anchoring.js";
import type { DeploymentRecord } from "../client/deployment.js";
import { accessLedgerDomain, recoverSigner, type Delivery } from "../client/eip712.js";
import { InvalidInputError, NotFoundError } from "../shared/errors.js";
import type { Sql } from "../db/db.js";
import { type EventDbRow } from "./rows.js";
import { institutions } from "./institutions.js";
import { anchorOf } from "./access-log-anchors.js";

export interface DeliveryVerification {
  deliveryId: string;
  requestId: string;
  caseId: string;
  blockNumber: number;
  txHash: string;
  delivery: {
    requestId: string;
    sequence: number;
    payloadHash: string;
    recordCount: string;
    deadline: string;
  };
  provider: {
    institution: number;
    signer: string;
    recovered: string | null;
    signerIsKeyOfInstitution: boolean;
    valid: boolean;
  };
  requester: {
    institution: number;
    signer: string;
    recovered: string | null;
    signerIsKeyOfInstitution: boolean;
    valid: boolean;
  };
  valid: boolean;
}

/**
 * Re-checks both EIP-712 signatures of a stored delivery off-chain, in the access ledger's
 * domain, and that each signer was a key of the right institution at that block. Contract
 * (ERC-1271) signers can't be re-checked off-chain: `recovered` is null and `valid` false.
 */
export async function verifyDelivery(
  db: Sql,
  deployment: DeploymentRecord,
  deliveryId: string,
): Promise<DeliveryVerification> {
  if (!/^\d+$/.test(deliveryId))
    throw new InvalidInputError(`not a delivery id: ${JSON.stringify(deliveryId)}`);
  const rows = await db.query<EventDbRow>(
    `SELECT block_number, log_index, tx_index, tx_hash, block_time, event, actor, counterpart, signer,
            request_id::text AS request_id, case_id::text AS case_id, args
       FROM events WHERE event = 'DeliveryAttested' AND delivery_id = $1::numeric`,
    [deliveryId],
  );
  const r = rows[0];
  if (r === undefined) throw new NotFoundError(`unknown delivery ${deliveryId}`);
  const a = r.args;
  const d = a["delivery"] as Record<string, string>;
  const delivery: Delivery = {
    requestId: BigInt(d["requestId"] ?? "0"),
    sequence: Number(d["sequence"]),
    payloadHash: String(d["payloadHash"]),
    recordCount: BigInt(d["recordCount"] ?? "0"),
    deadline: BigInt(d["deadline"] ?? "0"),
  };
  const domain = accessLedgerDomain(deployment.chainId, deployment.contracts.AccessLedger);
  const who = await institutions(db);
  const block = Number(r.block_number);
  const check = (role: "provider" | "requester", institution: number) => {
    const sig = a[role] as Record<string, string>;
    const signer = String(sig["signer"]).toLowerCase();
    const recovered =
      recoverSigner(role, domain, delivery, String(sig["signature"]))?.toLowerCase() ?? null;
    const keys = who.get(institution)?.keys ?? [];
    const signerIsKeyOfInstitution = keys.some(
      (k) =>
        k.address === signer &&
        k.addedBlock <= block &&
        (k.removedBlock === null || k.removedBlock > block),
    );
    return {
      institution,
      signer,
      recovered,
      signerIsKeyOfInstitution,
      valid: recovered === signer && signerIsKeyOfInstitution,
    };
  };
  const provider = check("provider", Number(r.actor));
  const requester = check("requester", Number(r.counterpart));
  return {
    deliveryId,
    requestId: String(r.request_id),
    caseId: String(r.case_id),
    blockNumber: block,
    txHash: r.tx_hash,
    delivery: {
      requestId: delivery.requestId.toString(),
      sequence: delivery.sequence,
      payloadHash: delivery.payloadHash,
      recordCount: delivery.recordCount.toString(),
      deadline: delivery.deadline.toString(),
    },
    provider,
    requester,
    valid: provider.valid && requester.valid,
  };
}

/** An off-chain access-log entry with its inclusion proof, as `veritrace verify entry --entry FILE` reads it. */
export interface EntryProofFile {
  /** The entry's index in its batch. */
  index: number;
  /** The entry itself (its canonical JSON is hashed), or… */
  entry?: unknown;
  /** …its hash, when the entry can't be shown. */
  entryHash?: string;
  proof: string[];
}

export interface EntryVerification {
  anchorId: string;
  caseId: string;
  participant: number;
  root: string;
  entryCount: number;
  index: number;
  entryHash: string;
  included: boolean;
  blockNumber: number;
  txHash: string;
}

/**
 * Checks an entry's Merkle inclusion in an anchored batch (root read from the store). The entry
 * file is checked first, then the anchor id (see {@link anchorOf}).
 */
export async function verifyEntry(
  db: Sql,
  anchorId: string,
  file: EntryProofFile,
): Promise<EntryVerification> {
  if (!Number.isSafeInteger(file.index) || file.index < 0)
    throw new InvalidInputError("entry file: index must be a non-negative integer");
  if (!Array.isArray(file.proof) || !file.proof.every((p) => isHexString(p, 32))) {
    throw new InvalidInputError("entry file: proof must be an array of 32-byte hex strings");
  }
  let hash: string;
  if (file.entry !== undefined) {
    canonicalJson(file.entry);
    hash = hashEntry(file.entry);
  } else if (file.entryHash !== undefined && isHexString(file.entryHash, 32)) {
    hash = file.entryHash.toLowerCase();
  } else {
    throw new InvalidInputError("entry file: needs an entry or a 32-byte entryHash");
  }
  const anchor = await anchorOf(db, anchorId);
  const included =
    file.index < anchor.entryCount &&
    verifyLogEntry(anchor.root, BigInt(file.index), hash, file.proof);
  return {
    anchorId,
    caseId: anchor.caseId,
    participant: anchor.participant,
    root: anchor.root,
    entryCount: anchor.entryCount,
    index: file.index,
    entryHash: hash,
    included,
    blockNumber: anchor.blockNumber,
    txHash: anchor.txHash,
  };
}
