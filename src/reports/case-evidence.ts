/**
 * What a case report shows, gathered from the store in one place: the case's chain of custody,
 * its parties, each delivery's signatures re-checked, and the access-log roots anchored for it.
 * The PDF (case-pdf.ts) only lays this out: two languages, one content.
 */
import { createHash } from "node:crypto";
import { canonicalJson } from "../client/anchoring.js";
import type { DeploymentRecord } from "../client/deployment.js";
import type { Store } from "../db/store.js";
import {
  caseReport,
  institutions,
  verifyDelivery,
  type CaseReport,
  type DeliveryVerification,
} from "../ledger/queries.js";
import { NotFoundError } from "../shared/errors.js";

/** An institution that acted in the case. */
export interface CaseParty {
  id: number;
  kind: string;
  /** The steps it took, by step name, in chain order of their first occurrence. */
  steps: string[];
}

/** An access-log batch anchored for the case: its Merkle root, not checked without its entries. */
export interface AnchoredBatch {
  anchorId: string;
  institution: number | null;
  entryCount: number;
  root: string;
  blockNumber: number;
  txHash: string;
}

export interface CaseEvidence {
  case: CaseReport;
  chainId: number;
  contracts: DeploymentRecord["contracts"];
  /** The last block the store had read when the report was made (not in the digest). */
  indexedTo: number | null;
  parties: CaseParty[];
  openedAt: number | null;
  closedAt: number | null;
  deliveries: DeliveryVerification[];
  anchors: AnchoredBatch[];
  /**
   * SHA-256 of the canonical JSON of everything above but `indexedTo`: the same for anyone who
   * re-derives the case from the chain, however far their store has read past it.
   */
  digest: string;
}

/** The evidence of the case `ref` (id or case number commitment) in `store`. */
export async function caseEvidence(store: Store, ref: string): Promise<CaseEvidence> {
  const deployment = await store.deployment();
  if (deployment === null) throw new NotFoundError("the store is empty: run veritrace index first");
  const report = await caseReport(store.db, ref);
  const who = await institutions(store.db);
  const parties = new Map<number, CaseParty>();
  const deliveryIds: string[] = [];
  const anchors: AnchoredBatch[] = [];
  for (const e of report.custody) {
    if (e.institution !== null) {
      const party = parties.get(e.institution) ?? {
        id: e.institution,
        kind: who.get(e.institution)?.kind ?? e.institutionKind ?? "",
        steps: [],
      };
      if (!party.steps.includes(e.step)) party.steps.push(e.step);
      parties.set(e.institution, party);
    }
    if (e.step === "delivery") deliveryIds.push(String(e.details["deliveryId"]));
    if (e.step === "anchor")
      anchors.push({
        anchorId: String(e.details["anchorId"]),
        institution: e.institution,
        entryCount: Number(e.details["entryCount"]),
        root: String(e.details["root"]),
        blockNumber: e.blockNumber,
        txHash: e.txHash,
      });
  }
  const deliveries: DeliveryVerification[] = [];
  for (const id of deliveryIds) deliveries.push(await verifyDelivery(store.db, deployment, id));
  const content = {
    case: report,
    chainId: deployment.chainId,
    contracts: deployment.contracts,
    parties: [...parties.values()].sort((a, b) => a.id - b.id),
    openedAt: report.custody.find((e) => e.step === "opening")?.time ?? null,
    closedAt: report.custody.find((e) => e.step === "closure")?.time ?? null,
    deliveries,
    anchors,
  };
  const digest = `0x${createHash("sha256").update(canonicalJson(content)).digest("hex")}`;
  const indexedTo = (await store.checkpoint())?.blockNumber ?? null;
  return { ...content, indexedTo, digest };
}
