import { rmSync } from "node:fs";
import path from "node:path";
import type { NetworkConnection } from "hardhat/types/network";
import VeritraceModule from "../../ignition/modules/Veritrace.js";
import { parseDeployment, type DeploymentRecord } from "../../src/client/deployment.js";
import { encodeKind } from "../../src/client/kinds.js";
import { requireAddress, requireCommitment } from "../../src/client/validate.js";
import { InputError } from "../../src/client/errors.js";
import { ParticipantRegistry__factory } from "../../types/ethers-contracts/index.js";

/** A founding council member as given in deployment parameters. */
export interface FounderInput {
  kind: string;
  metadataCommitment: string;
  signingKey: string;
}

/** Checks deployment parameters before anything is sent. */
export function checkParameters(founders: readonly FounderInput[], quorum: number): void {
  if (founders.length === 0)
    throw new InputError("founders", "at least one founding council member is needed");
  founders.forEach((f, i) => {
    encodeKind(f.kind);
    requireCommitment(`founders[${i}].metadataCommitment`, f.metadataCommitment);
    requireAddress(`founders[${i}].signingKey`, f.signingKey);
  });
  if (!Number.isInteger(quorum) || quorum < 1 || quorum > founders.length) {
    throw new InputError("quorum", `${quorum} is not in 1..${founders.length}`);
  }
}

/**
 * Deploys the consortium with Ignition over `connection` (in-process EDR, a hardhat node or
 * anvil) and returns its deployment record. On an HTTP network Ignition journals the deployment
 * under ignition/deployments/<deploymentId>; pass `ephemeral` to remove that journal afterwards
 * (for throw-away chains such as the demo's).
 */
export async function deployConsortium(
  connection: NetworkConnection,
  founders: readonly FounderInput[],
  quorum: number,
  options: { deploymentId?: string; ephemeral?: boolean } = {},
): Promise<DeploymentRecord> {
  checkParameters(founders, quorum);
  const deploymentId = options.deploymentId ?? `veritrace-${Date.now()}`;
  const parameters = {
    Veritrace: {
      founders: founders.map((f) => ({
        kind: encodeKind(f.kind),
        metadataCommitment: f.metadataCommitment,
        signingKey: f.signingKey,
      })),
      quorum,
    },
  };
  try {
    const { registry, cases, access, anchor, labels, freezes } = await connection.ignition.deploy(
      VeritraceModule,
      {
        parameters,
        deploymentId,
      },
    );
    const { chainId } = await connection.ethers.provider.getNetwork();
    const typedRegistry = ParticipantRegistry__factory.connect(
      await registry.getAddress(),
      connection.ethers.provider,
    );
    return parseDeployment({
      version: 1,
      chainId: Number(chainId),
      startBlock: Number(await typedRegistry.deploymentBlock()),
      contracts: {
        ParticipantRegistry: await registry.getAddress(),
        CaseRegistry: await cases.getAddress(),
        AccessLedger: await access.getAddress(),
        AccessLogAnchor: await anchor.getAddress(),
        LabelRegistry: await labels.getAddress(),
        FreezeRegistry: await freezes.getAddress(),
      },
    });
  } finally {
    if (options.ephemeral === true) {
      rmSync(path.join("ignition", "deployments", deploymentId), { recursive: true, force: true });
    }
  }
}
