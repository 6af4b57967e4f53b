import { readFileSync, rmSync } from "node:fs";
import path from "node:path";
import type { NetworkConnection } from "hardhat/types/network";
import VeritraceModule from "../../ignition/modules/Veritrace.js";
import VeritraceOnRegistryModule from "../../ignition/modules/VeritraceOnRegistry.js";
import {
  parseDeployment,
  type DeploymentRecord,
  type GenesisFounder,
} from "../../src/client/deployment.js";
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

/** Reads and checks a deployment parameters file: {founders: [{kind, metadataCommitment, signingKey}], quorum}. */
export function readParameters(file: string): { founders: FounderInput[]; quorum: number } {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new InputError(file, `cannot read JSON: ${(e as Error).message}`);
  }
  const v = json as { founders?: unknown; quorum?: unknown };
  if (!Array.isArray(v.founders)) throw new InputError(`${file}: founders`, "must be an array");
  if (typeof v.quorum !== "number") throw new InputError(`${file}: quorum`, "must be a number");
  const founders = v.founders as FounderInput[];
  checkParameters(founders, v.quorum);
  return { founders, quorum: v.quorum };
}

/** What a QBFT genesis's registry.json (written by `npm run network:qbft`) says about the chain. */
export interface GenesisRegistry {
  chainId: number;
  registry: string;
  founders: GenesisFounder[];
}

/** Reads registry.json of `npm run network:qbft`. */
export function readGenesisRegistry(file: string): GenesisRegistry {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new InputError(file, `cannot read JSON: ${(e as Error).message}`);
  }
  const v = json as { chainId?: unknown; ParticipantRegistry?: unknown };
  if (typeof v.chainId !== "number" || !Number.isInteger(v.chainId))
    throw new InputError(`${file}: chainId`, "must be a whole number");
  if (typeof v.ParticipantRegistry !== "string")
    throw new InputError(`${file}: ParticipantRegistry`, "must be an address");
  const founders = (json as { founders?: unknown }).founders;
  if (!Array.isArray(founders) || founders.length === 0)
    throw new InputError(`${file}: founders`, "must be a non-empty array");
  return {
    chainId: v.chainId,
    registry: requireAddress(`${file}: ParticipantRegistry`, v.ParticipantRegistry),
    founders: founders.map((f: unknown, i) => {
      const g = (f ?? {}) as { participantId?: unknown; signingKey?: unknown };
      if (typeof g.participantId !== "number" || typeof g.signingKey !== "string")
        throw new InputError(`${file}: founders[${i}]`, "needs participantId and signingKey");
      return {
        participantId: g.participantId,
        signingKey: requireAddress(`${file}: founders[${i}].signingKey`, g.signingKey),
      };
    }),
  };
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
  return recordOf(
    connection,
    () => connection.ignition.deploy(VeritraceModule, { parameters, deploymentId }),
    deploymentId,
    options,
  );
}

/**
 * Deploys the rest of the consortium around a participant registry that already exists (the
 * one a QBFT genesis holds in its alloc, `npm run network:qbft`). The record's start block is
 * the registry's `deploymentBlock`: 0 for a genesis registry.
 */
export async function deployOnRegistry(
  connection: NetworkConnection,
  registryAddress: string,
  options: { deploymentId?: string; ephemeral?: boolean; genesisFounders?: GenesisFounder[] } = {},
): Promise<DeploymentRecord> {
  const registry = requireAddress("registry", registryAddress);
  if ((await connection.ethers.provider.getCode(registry)) === "0x")
    throw new InputError("registry", `no contract at ${registry} on this chain`);
  const deploymentId = options.deploymentId ?? `veritrace-${Date.now()}`;
  return recordOf(
    connection,
    () =>
      connection.ignition.deploy(VeritraceOnRegistryModule, {
        parameters: { VeritraceOnRegistry: { registry } },
        deploymentId,
      }),
    deploymentId,
    options,
  );
}

type Deployed = Record<
  | "registry"
  | "cases"
  | "access"
  | "anchor"
  | "labels"
  | "freezes"
  | "matching"
  | "keys"
  | "exchange",
  { getAddress(): Promise<string> }
>;

/** Runs an Ignition deployment of the consortium and returns its deployment record. */
async function recordOf(
  connection: NetworkConnection,
  deploy: () => Promise<Deployed>,
  deploymentId: string,
  options: { ephemeral?: boolean; genesisFounders?: GenesisFounder[] },
): Promise<DeploymentRecord> {
  try {
    const { registry, cases, access, anchor, labels, freezes, matching, keys, exchange } =
      await deploy();
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
        MatchingLedger: await matching.getAddress(),
        EncryptionKeyRegistry: await keys.getAddress(),
        ExchangeLedger: await exchange.getAddress(),
      },
      ...(options.genesisFounders === undefined
        ? {}
        : { genesisFounders: options.genesisFounders }),
    });
  } finally {
    if (options.ephemeral === true) {
      rmSync(path.join("ignition", "deployments", deploymentId), { recursive: true, force: true });
    }
  }
}
