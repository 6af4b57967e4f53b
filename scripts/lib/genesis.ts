/**
 * A QBFT consortium network's genesis and Besu node configuration (docs/permissioned-network.md).
 *
 * The genesis alloc holds three contracts, none of which had a constructor run on this chain:
 * - the ParticipantRegistry with the founding council: its runtime code and every storage word
 *   its constructor wrote, taken from a deployment on a scratch anvil node, with the immutable
 *   `deploymentBlock` set to 0 (the genesis block);
 * - AccountIngress (0x…8888) and NodeIngress (0x…9999): runtime code plus two storage words,
 *   the registry and the rules contract (zero: permissioning off until the council's SetRules).
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import {
  ContractFactory,
  JsonRpcProvider,
  Wallet,
  encodeRlp,
  getAddress,
  toBeHex,
  toQuantity,
  zeroPadValue,
} from "ethers";
import { encodeKind } from "../../src/client/kinds.js";
import { InputError } from "../../src/client/errors.js";
import { startAnvil } from "./anvil.js";
import { checkParameters, type FounderInput } from "./deploy.js";
import { INGRESS_ADDRESS, ingressStorage } from "./permissioning.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** Besu's QBFT `mixHash` ("for Istanbul block identification"). */
export const QBFT_MIX_HASH = "0x63746963616c2062797a616e74696e65206661756c7420746f6c6572616e6365";

/** Where the genesis puts the participant registry unless told otherwise. */
export const DEFAULT_REGISTRY_ADDRESS = "0x0000000000000000000000000000000000007777";

interface Artifact {
  abi: unknown[];
  bytecode: string;
  deployedBytecode: string;
  immutableReferences?: Record<string, { start: number; length: number }[]>;
}

function readArtifact(source: string, name: string): Artifact {
  const file = path.join(root, "artifacts", "contracts", source, `${name}.json`);
  try {
    return JSON.parse(readFileSync(file, "utf8")) as Artifact;
  } catch (e) {
    throw new Error(`cannot read ${file} (run "npx hardhat build" first): ${(e as Error).message}`);
  }
}

/**
 * QBFT `extraData`: RLP([32-byte vanity, [validators], no vote, round 0, no seals]), the format
 * Besu's `rlp encode --type=QBFT_EXTRA_DATA` writes.
 */
export function qbftExtraData(validators: readonly string[]): string {
  return encodeRlp([
    zeroPadValue("0x", 32),
    validators.map((v) => getAddress(v).toLowerCase()),
    [],
    "0x",
    [],
  ]);
}

/** A validator's node key: its address goes into extraData, its public key is the enode id. */
export interface NodeKey {
  privateKey: string;
  address: string;
  /** The enode id: the uncompressed public key without its 04 prefix, 128 hex digits. */
  enodeId: string;
}

export function newNodeKey(): NodeKey {
  const w = Wallet.createRandom();
  return {
    privateKey: w.privateKey,
    address: w.address,
    enodeId: w.signingKey.publicKey.slice(4),
  };
}

/** Replaces every immutable's bytes in `runtime` (0x hex) by the given 32-byte values. */
export function setImmutables(
  runtime: string,
  references: Record<string, { start: number; length: number }[]>,
  values: Record<string, bigint>,
): string {
  const bytes = Buffer.from(runtime.slice(2), "hex");
  for (const [id, spots] of Object.entries(references)) {
    const value = values[id];
    if (value === undefined) throw new Error(`no value for immutable ${id}`);
    const word = Buffer.from(toBeHex(value, 32).slice(2), "hex");
    for (const { start, length } of spots) word.copy(bytes, start, 32 - length);
  }
  return `0x${bytes.toString("hex")}`;
}

/** An account of a genesis alloc. */
export interface AllocAccount {
  balance: string;
  code?: string;
  storage?: Record<string, string>;
}

/** The participant registry's genesis account, and the block time its constructor saw. */
export interface RegistryGenesis {
  account: AllocAccount;
  /** The scratch deployment's block time: the admission time of the founders. */
  timestamp: number;
}

/**
 * Runs the registry's constructor with `founders` and `quorum` on a scratch anvil node and
 * returns the contract as a genesis account: runtime code with `deploymentBlock` = 0 and the
 * storage the constructor wrote (read with anvil_dumpState).
 */
export async function registryGenesis(
  founders: readonly FounderInput[],
  quorum: number,
): Promise<RegistryGenesis> {
  checkParameters(founders, quorum);
  const artifact = readArtifact("registry/ParticipantRegistry.sol", "ParticipantRegistry");
  const references = artifact.immutableReferences ?? {};
  if (Object.keys(references).length !== 1)
    throw new Error("ParticipantRegistry: expected one immutable (deploymentBlock)");
  const chain = await startAnvil();
  try {
    const provider = new JsonRpcProvider(chain.url, undefined, { staticNetwork: true });
    const deployer = await provider.getSigner(0);
    const factory = new ContractFactory(artifact.abi as never[], artifact.bytecode, deployer);
    const contract = await factory.deploy(
      founders.map((f) => ({
        kind: encodeKind(f.kind),
        metadataCommitment: f.metadataCommitment,
        signingKey: f.signingKey,
      })),
      quorum,
    );
    const receipt = await contract.deploymentTransaction()?.wait();
    if (receipt === null || receipt === undefined) throw new Error("registry deployment failed");
    const block = await provider.getBlock(receipt.blockNumber);
    if (block === null) throw new Error("scratch block missing");
    const address = (await contract.getAddress()).toLowerCase();
    const dump: string = await provider.send("anvil_dumpState", []);
    const raw = Buffer.from(dump.slice(2), "hex");
    const state = JSON.parse(gunzipSync(raw).toString("utf8")) as {
      accounts: Record<string, { code: string; storage: Record<string, string> }>;
    };
    const entry = Object.entries(state.accounts).find(([a]) => a.toLowerCase() === address);
    if (entry === undefined) throw new Error("registry missing from the scratch state");
    const deployed = entry[1];
    const [id] = Object.keys(references) as [string];
    const expected = setImmutables(artifact.deployedBytecode, references, {
      [id]: BigInt(receipt.blockNumber),
    });
    if (deployed.code.toLowerCase() !== expected.toLowerCase())
      throw new Error("the scratch registry's code differs from the build artifact");
    const storage: Record<string, string> = {};
    for (const [slot, value] of Object.entries(deployed.storage)) {
      if (BigInt(value) !== 0n) storage[toBeHex(BigInt(slot), 32)] = toBeHex(BigInt(value), 32);
    }
    return {
      account: {
        balance: "0x0",
        code: setImmutables(artifact.deployedBytecode, references, { [id]: 0n }),
        storage,
      },
      timestamp: block.timestamp,
    };
  } finally {
    await chain.stop();
  }
}

/** Settings of a QBFT network (defaults in `network-qbft.ts`). */
export interface QbftSettings {
  chainId: number;
  blockPeriodSeconds: number;
  requestTimeoutSeconds: number;
  epochLength: number;
  gasLimit: bigint;
  registryAddress: string;
}

/** The genesis file, from the validators' addresses and the registry's genesis account. */
export function qbftGenesis(
  settings: QbftSettings,
  validators: readonly string[],
  registry: RegistryGenesis,
  extraAlloc: Record<string, AllocAccount> = {},
): Record<string, unknown> {
  const registryAddress = getAddress(settings.registryAddress);
  const ingressCode = {
    accounts: readArtifact("permissioning/AccountIngress.sol", "AccountIngress").deployedBytecode,
    nodes: readArtifact("permissioning/NodeIngress.sol", "NodeIngress").deployedBytecode,
  };
  const off = "0x0000000000000000000000000000000000000000";
  const alloc: Record<string, AllocAccount> = {
    [INGRESS_ADDRESS.accounts]: {
      balance: "0x0",
      code: ingressCode.accounts,
      storage: ingressStorage(registryAddress, off),
    },
    [INGRESS_ADDRESS.nodes]: {
      balance: "0x0",
      code: ingressCode.nodes,
      storage: ingressStorage(registryAddress, off),
    },
    [registryAddress]: registry.account,
    ...extraAlloc,
  };
  return {
    config: {
      chainId: settings.chainId,
      berlinBlock: 0,
      londonBlock: 0,
      shanghaiTime: 0,
      cancunTime: 0,
      zeroBaseFee: true,
      contractSizeLimit: 2147483647,
      qbft: {
        blockperiodseconds: settings.blockPeriodSeconds,
        epochlength: settings.epochLength,
        requesttimeoutseconds: settings.requestTimeoutSeconds,
      },
    },
    nonce: "0x0",
    timestamp: toQuantity(registry.timestamp),
    gasLimit: toQuantity(settings.gasLimit),
    difficulty: "0x1",
    mixHash: QBFT_MIX_HASH,
    coinbase: off,
    extraData: qbftExtraData(validators),
    alloc,
  };
}

/** One node of the network as its configuration names it. */
export interface NodeSpec {
  name: string;
  key: NodeKey;
  host: string;
  p2pPort: number;
  rpcPort: number;
}

export const enode = (n: NodeSpec): string => `enode://${n.key.enodeId}@${n.host}:${n.p2pPort}`;

const tomlString = (s: string): string => JSON.stringify(s);

/**
 * A node's Besu `config.toml`, with native contract permissioning (Besu up to 25.5.x; for
 * 25.6.0 and later drop the `permissions-*` lines and use the plugin, see `plugin.env`).
 */
export function besuConfig(node: NodeSpec, peers: readonly NodeSpec[]): string {
  const bootnodes = peers.filter((p) => p.name !== node.name).map(enode);
  return [
    `# Besu configuration of ${node.name} (docs/permissioned-network.md)`,
    `# Paths are relative to the directory Besu is started in: run it from this node's directory.`,
    `data-path="data"`,
    `genesis-file="../genesis.json"`,
    `node-private-key-file="key"`,
    `min-gas-price=0`,
    ``,
    `p2p-host=${tomlString(node.host)}`,
    `p2p-port=${node.p2pPort}`,
    `discovery-enabled=false`,
    `bootnodes=[${bootnodes.map(tomlString).join(",")}]`,
    ``,
    `rpc-http-enabled=true`,
    `rpc-http-host="127.0.0.1"`,
    `rpc-http-port=${node.rpcPort}`,
    `rpc-http-api=["ETH","NET","WEB3","QBFT"]`,
    `host-allowlist=["localhost","127.0.0.1"]`,
    ``,
    `# Contract permissioning, Besu up to 25.5.x (removed in 25.6.0: see plugin.env).`,
    `permissions-accounts-contract-enabled=true`,
    `permissions-accounts-contract-address="${INGRESS_ADDRESS.accounts}"`,
    `permissions-nodes-contract-enabled=true`,
    `permissions-nodes-contract-address="${INGRESS_ADDRESS.nodes}"`,
    `permissions-nodes-contract-version=2`,
    ``,
  ].join("\n");
}

/** The permissioning plugin's environment for Besu 25.6.0 and later. */
export function pluginEnv(): string {
  return [
    "# Besu 25.6.0 and later: contract permissioning through the besu-permissioning-plugin.",
    "# Remove the permissions-* lines from config.toml, put the plugin jar in plugins/, and",
    "# export these before starting Besu (docs/permissioned-network.md).",
    `BESU_PERMISSIONS_ACCOUNTS_CONTRACT_ADDRESS=${INGRESS_ADDRESS.accounts}`,
    `BESU_PERMISSIONS_NODES_CONTRACT_ADDRESS=${INGRESS_ADDRESS.nodes}`,
    "BESU_PERMISSIONS_NODES_CONTRACT_VERSION=2",
    "",
  ].join("\n");
}

/** Validates a settings value the command line gave, naming the option on failure. */
export function checkSettings(s: QbftSettings, validators: number): void {
  if (!Number.isInteger(validators) || validators < 1 || validators > 64)
    throw new InputError("--validators", `${validators} is not in 1..64`);
  if (!Number.isInteger(s.chainId) || s.chainId < 1 || s.chainId > 2 ** 53 - 1)
    throw new InputError("--chain-id", `${s.chainId} is not a positive chain id`);
  if (!Number.isInteger(s.blockPeriodSeconds) || s.blockPeriodSeconds < 1)
    throw new InputError("--block-period", `${s.blockPeriodSeconds} is not a whole number ≥ 1`);
  if (s.gasLimit < 5000n) throw new InputError("--gas-limit", `${s.gasLimit} is too small`);
  const registry = getAddress(s.registryAddress).toLowerCase();
  for (const ingress of Object.values(INGRESS_ADDRESS))
    if (registry === ingress.toLowerCase())
      throw new InputError("--registry-address", `${registry} is an ingress address`);
}
