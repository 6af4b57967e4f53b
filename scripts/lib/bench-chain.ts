import { network } from "hardhat";
import { connectConsortium, hashDocument, type DeploymentRecord } from "../../src/client/index.js";
import { onboard, type Cast } from "./activity.js";
import { deployConsortium } from "./deploy.js";
import type { LocalChain } from "./local-chain.js";

/**
 * Deploys the consortium on a benchmark's node (three founders, quorum 2, a throw-away Ignition
 * journal) and onboards the four institutions of {@link onboard}.
 */
export async function deployOnboarded(
  chain: LocalChain,
  label: string,
): Promise<{ record: DeploymentRecord; cast: Cast }> {
  const connection = await network.create({ network: "localhost", override: { url: chain.url } });
  try {
    const signers = await connection.ethers.getSigners();
    const founders = await Promise.all(
      signers.slice(0, 3).map(async (s, i) => ({
        kind: "AUDITOR",
        metadataCommitment: hashDocument(`registration record of founder ${i}`),
        signingKey: await s.getAddress(),
      })),
    );
    const record = await deployConsortium(connection, founders, 2, {
      deploymentId: `${label}-${Date.now()}`,
      ephemeral: true,
    });
    const cast = await onboard(connectConsortium(record, connection.ethers.provider), signers);
    return { record, cast };
  } finally {
    await connection.close();
  }
}
