import type { Signer } from "ethers";
import {
  CouncilMember,
  DataKind,
  Investigator,
  Provider,
  Supervisor,
  generateCaseKey,
  hashDocument,
  submitDelivery,
  type ConsortiumContracts,
} from "../../src/client/index.js";

/** The institutions of a generated consortium, with their participant ids. */
export interface Cast {
  police: { signer: Signer; id: number };
  prosecutor: { signer: Signer; id: number };
  bank: { signer: Signer; id: number; dataset: bigint };
  telecom: { signer: Signer; id: number; dataset: bigint };
}

/**
 * Onboards a police bureau, a prosecutor's office, a bank and a telecom operator through the
 * council (signers[0] and signers[1] must be council members, quorum ≤ 2), and registers one
 * dataset per provider. Uses signers[3..6].
 */
export async function onboard(
  contracts: ConsortiumContracts,
  signers: readonly Signer[],
): Promise<Cast> {
  const at = (i: number): Signer => {
    const s = signers[i];
    if (s === undefined) throw new Error(`signer ${i} missing`);
    return s;
  };
  const c0 = new CouncilMember(contracts, at(0));
  const c1 = new CouncilMember(contracts, at(1));
  const admit = async (kind: string, i: number): Promise<number> => {
    const p = await c0.proposeAdmit({
      kind,
      metadataCommitment: hashDocument(`${kind} ${i}`),
      signingKey: await at(i).getAddress(),
    });
    await c1.approve(p);
    return c1.executeAdmission(p);
  };
  const police = { signer: at(3), id: await admit("POLICE", 3) };
  const prosecutor = { signer: at(4), id: await admit("PROSECUTOR", 4) };
  const bankId = await admit("BANK", 5);
  const telecomId = await admit("TELECOM", 6);
  const bankDataset = await new Provider(contracts, at(5)).registerDataset(
    DataKind.BankTransactions,
    "bank v1",
  );
  const telecomDataset = await new Provider(contracts, at(6)).registerDataset(
    DataKind.TelecomSubscribers,
    "tel v1",
  );
  return {
    police,
    prosecutor,
    bank: { signer: at(5), id: bankId, dataset: bankDataset },
    telecom: { signer: at(6), id: telecomId, dataset: telecomDataset },
  };
}

/**
 * Runs `cases` investigations through the typed client: open, approve, `requestsPerCase`
 * requests alternating between bank and telecom, each granted and delivered once (every third
 * denied instead), an anchor, and closure. About 4 + 4 × requestsPerCase events per case.
 */
export async function runCases(
  contracts: ConsortiumContracts,
  cast: Cast,
  cases: number,
  requestsPerCase: number,
  relayer: Signer,
): Promise<{ caseIds: bigint[] }> {
  const investigator = new Investigator(contracts, cast.police.signer);
  const supervisor = new Supervisor(contracts, cast.prosecutor.signer);
  const bank = new Provider(contracts, cast.bank.signer);
  const telecom = new Provider(contracts, cast.telecom.signer);
  const caseIds: bigint[] = [];
  for (let c = 0; c < cases; c++) {
    const caseKey = generateCaseKey();
    const now = Number(await investigator.now());
    const { caseId } = await investigator.openCase({
      caseNumber: `GEN-${c}-${now}`,
      caseKey,
      legalBasis: `order ${c}`,
      scope: [DataKind.BankTransactions, DataKind.TelecomSubscribers],
      expiresAt: now + 365 * 86_400,
    });
    await supervisor.approveCase(caseId);
    const entries: unknown[] = [];
    for (let r = 0; r < requestsPerCase; r++) {
      const toBank = r % 2 === 0;
      const provider = toBank ? bank : telecom;
      const who = toBank ? cast.bank : cast.telecom;
      const { requestId } = await investigator.request({
        caseId,
        provider: who.id,
        datasetId: who.dataset,
        subject: toBank
          ? { type: "bankAccount", identifier: `ACC${(c * 7919 + r) % 1000}000` }
          : { type: "phone", identifier: `+4930${String(100000 + ((c * 31 + r) % 900000))}` },
        caseKey,
        purposeCode: 1,
      });
      if (r % 3 === 2) {
        await provider.deny(requestId, 2);
        continue;
      }
      await provider.grant(requestId, { expiresAt: now + 30 * 86_400, maxRecords: 1000 });
      const payload = `payload ${caseId}/${requestId}`;
      const { delivery, signature } = await provider.prepareDelivery(requestId, payload, 3);
      const ack = await investigator.acknowledge(delivery, payload);
      const deliveryId = await submitDelivery(
        contracts,
        relayer,
        delivery,
        { signer: await who.signer.getAddress(), signature },
        { signer: await cast.police.signer.getAddress(), signature: ack },
      );
      entries.push({
        caseId: caseId.toString(),
        requestId: requestId.toString(),
        deliveryId: deliveryId.toString(),
      });
    }
    if (entries.length > 0) await investigator.anchorLog(caseId, entries);
    await investigator.closeCase(caseId, 1);
    caseIds.push(caseId);
  }
  return { caseIds };
}
