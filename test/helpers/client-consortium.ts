/**
 * The consortium of the typed client's tests, deployed with Ignition (scripts/lib/deploy.ts) on a
 * test network: the first three accounts its founding council (auditors, quorum 2), and the
 * institutions each test needs admitted through that council.
 */
import type { NetworkConnection } from "hardhat/types/network";
import {
  CouncilMember,
  connectConsortium,
  hashDocument,
  type ConsortiumContracts,
  type DeploymentRecord,
} from "../../src/client/index.js";
import { deployConsortium } from "../../scripts/lib/deploy.js";

type Signers = Awaited<ReturnType<NetworkConnection["ethers"]["getSigners"]>>;
type Account = Signers[number];

export interface ClientConsortium {
  signers: Signers;
  record: DeploymentRecord;
  contracts: ConsortiumContracts;
  /** The founders, as council members. */
  council: CouncilMember[];
  /**
   * Admits account `i` as an institution of `kind`: proposed by the first council member,
   * approved and executed by the second. Its participant id and signer.
   */
  admit(kind: string, i: number): Promise<{ id: number; signer: Account }>;
}

export async function clientConsortium(connection: NetworkConnection): Promise<ClientConsortium> {
  const signers = await connection.ethers.getSigners();
  const founders = signers.slice(0, 3).map((s, i) => ({
    kind: "AUDITOR",
    metadataCommitment: hashDocument(`founder ${i}`),
    signingKey: s.address,
  }));
  const record = await deployConsortium(connection, founders, 2);
  const contracts = connectConsortium(record, connection.ethers.provider);
  const council = signers.slice(0, 3).map((s) => new CouncilMember(contracts, s));
  const [c0, c1] = council as [CouncilMember, CouncilMember];
  const admit = async (kind: string, i: number) => {
    const signer = signers[i];
    if (signer === undefined) throw new Error("signer");
    const id = await c0.proposeAdmit({
      kind,
      metadataCommitment: hashDocument(kind),
      signingKey: signer.address,
    });
    await c1.approve(id);
    return { id: await c1.executeAdmission(id), signer };
  };
  return { signers, record, contracts, council, admit };
}
