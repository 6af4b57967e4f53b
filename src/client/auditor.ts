import type { BaseContract, Log, Provider as EthersProvider, Result } from "ethers";
import { verifyLogEntry } from "./anchoring.js";
import type { ConsortiumContracts, DeploymentRecord } from "./deployment.js";
import { accessLedgerDomain, recoverSigner, type Delivery } from "./eip712.js";
import { VeritraceError } from "./errors.js";

/** One step of a case's chain of custody, straight from an event. */
export interface CustodyEntry {
  blockNumber: number;
  transactionIndex: number;
  logIndex: number;
  transactionHash: string;
  contract: "CaseRegistry" | "AccessLedger" | "AccessLogAnchor" | "MatchingLedger";
  event: string;
  args: Record<string, unknown>;
}

/** Result of the off-chain re-check of a delivery's two signatures. */
export interface DeliveryCheck {
  deliveryId: bigint;
  delivery: Delivery;
  provider: { signer: string; recovered: string | undefined; valid: boolean };
  requester: { signer: string; recovered: string | undefined; valid: boolean };
  valid: boolean;
}

function toRecord(args: Result, names: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  names.forEach((n, i) => {
    const v: unknown = args[i];
    out[n] =
      v !== null && typeof v === "object" && "toObject" in v ? (v as Result).toObject(true) : v;
  });
  return out;
}

/** Read-only access for auditors: chains of custody and signature checks, from events alone. */
export class Auditor {
  constructor(
    readonly contracts: ConsortiumContracts,
    readonly provider: EthersProvider,
    readonly deployment: DeploymentRecord,
  ) {}

  private async logs(
    contract: BaseContract,
    label: CustodyEntry["contract"],
    topics: (string | null)[],
  ): Promise<CustodyEntry[]> {
    const address = await contract.getAddress();
    const raw: Log[] = await this.provider.getLogs({
      address,
      topics,
      fromBlock: this.deployment.startBlock,
      toBlock: "latest",
    });
    const out: CustodyEntry[] = [];
    for (const log of raw) {
      const parsed = contract.interface.parseLog(log);
      if (parsed === null) continue;
      out.push({
        blockNumber: log.blockNumber,
        transactionIndex: log.transactionIndex,
        logIndex: log.index,
        transactionHash: log.transactionHash,
        contract: label,
        event: parsed.name,
        args: toRecord(
          parsed.args,
          parsed.fragment.inputs.map((i) => i.name),
        ),
      });
    }
    return out;
  }

  /** Every event of a case, in chain order (block, transaction index, log index). */
  async caseHistory(caseId: bigint): Promise<CustodyEntry[]> {
    const id = `0x${caseId.toString(16).padStart(64, "0")}`;
    const { cases, access, anchor, matching } = this.contracts;
    const parts = await Promise.all([
      this.logs(cases, "CaseRegistry", [null, id]),
      this.logs(access, "AccessLedger", [null, null, id]),
      this.logs(access, "AccessLedger", [
        access.getEvent("DeliveryAttested").fragment.topicHash,
        null,
        null,
        id,
      ]),
      this.logs(anchor, "AccessLogAnchor", [null, null, id]),
      // Every matching event has (sessionId, requestId, caseId) as its indexed arguments.
      this.logs(matching, "MatchingLedger", [null, null, null, id]),
    ]);
    const all = parts.flat().filter((e) => {
      // The positional filters above also match events whose topic at that position is another
      // field (e.g. a dataset id); keep only events whose caseId argument is this case.
      return e.args["caseId"] === caseId;
    });
    const seen = new Set<string>();
    return all
      .filter((e) => {
        const key = `${e.transactionHash}:${e.logIndex}`;
        if (seen.has(key)) return false;
        seen.add(key);
        return true;
      })
      .sort(
        (a, b) =>
          a.blockNumber - b.blockNumber ||
          a.transactionIndex - b.transactionIndex ||
          a.logIndex - b.logIndex,
      );
  }

  /** Re-checks both EIP-712 signatures of a recorded delivery off-chain (ECDSA signers). */
  async verifyDelivery(deliveryId: bigint): Promise<DeliveryCheck> {
    const { access } = this.contracts;
    const events = await access.queryFilter(
      access.filters.DeliveryAttested(deliveryId),
      this.deployment.startBlock,
    );
    const ev = events[0];
    if (ev === undefined)
      throw new VeritraceError(`no delivery ${deliveryId} on chain`, { kind: "not-found" });
    const d = ev.args.delivery;
    const delivery: Delivery = {
      requestId: d.requestId,
      sequence: Number(d.sequence),
      payloadHash: d.payloadHash,
      recordCount: d.recordCount,
      deadline: d.deadline,
    };
    const domain = accessLedgerDomain(this.deployment.chainId, await access.getAddress());
    const check = (role: "provider" | "requester", signer: string, signature: string) => {
      const recovered = recoverSigner(role, domain, delivery, signature);
      return {
        signer,
        recovered,
        valid: recovered !== undefined && recovered.toLowerCase() === signer.toLowerCase(),
      };
    };
    const provider = check("provider", ev.args.provider.signer, ev.args.provider.signature);
    const requester = check("requester", ev.args.requester.signer, ev.args.requester.signature);
    return { deliveryId, delivery, provider, requester, valid: provider.valid && requester.valid };
  }

  /** Checks an access-log entry's inclusion in an anchored batch, on chain and off chain. */
  async verifyEntry(
    anchorId: bigint,
    index: bigint,
    entryHash: string,
    proof: string[],
  ): Promise<{ onChain: boolean; offChain: boolean }> {
    const { anchor } = this.contracts;
    const a = await anchor.getAnchor(anchorId);
    const onChain = await anchor.verifyEntry(anchorId, index, entryHash, proof);
    const offChain = index < a.entryCount && verifyLogEntry(a.root, index, entryHash, proof);
    return { onChain, offChain };
  }
}
