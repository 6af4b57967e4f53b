/**
 * A participant registry that sits in a genesis alloc (`npm run network:qbft`) was never
 * constructed on its chain, so no `ParticipantAdmitted` or `CouncilChanged` event names the
 * founding council. This module rebuilds those events for block 0 from the registry's state at
 * block 0, with the founders' keys taken from the deployment record and each one checked against
 * the registry (`keyStatus` at block 0), so the tracer's institution and custody views start with
 * the founders as on any other chain. The events are marked: transaction hash zero, and
 * `args.genesis = true`.
 */
import { Interface, ZeroHash } from "ethers";
import type { DeploymentRecord } from "../client/deployment.js";
import { ParticipantRegistry__factory } from "../../types/ethers-contracts/index.js";
import { ConflictError, TracerError, UnavailableError } from "../shared/errors.js";
import type { BlockHeader } from "../db/store.js";
import type { EventDecoder, EventRow, RawLog } from "./decode.js";
import type { RpcClient } from "../chain/rpc.js";

const registryAbi = new Interface(ParticipantRegistry__factory.abi);

const hex = (n: number | bigint): string => `0x${n.toString(16)}`;

async function callAtGenesis(
  rpc: RpcClient,
  registry: string,
  name: string,
  args: readonly unknown[] = [],
) {
  const data = registryAbi.encodeFunctionData(name, args);
  const result = await rpc.call<string>("eth_call", [{ to: registry, data }, "0x0"]);
  return registryAbi.decodeFunctionResult(name, result);
}

/**
 * The founding council's events at block 0, or null when the registry was deployed by a
 * transaction (no code at block 0). Throws a {@link TracerError} when the record's founders are
 * missing or don't match the registry.
 */
export async function genesisEvents(
  rpc: RpcClient,
  deployment: DeploymentRecord,
  decoder: EventDecoder,
): Promise<{ rows: EventRow[]; block: BlockHeader } | null> {
  if (deployment.startBlock !== 0) return null;
  const registry = deployment.contracts.ParticipantRegistry;
  const code = await rpc.call<string>("eth_getCode", [registry, "0x0"]);
  if (code === "0x" || code === "") return null;
  const [count] = await callAtGenesis(rpc, registry, "participantCount");
  const participants = Number(count);
  const founders = deployment.genesisFounders ?? [];
  if (participants > 0 && founders.length === 0) {
    throw new ConflictError(
      `the registry holds ${participants} participants at genesis, but the deployment record names none of their keys (genesisFounders; written by npm run deploy -- --genesis-registry)`,
    );
  }
  const block = await rpc.call<{ hash: string; parentHash: string; timestamp: string } | null>(
    "eth_getBlockByNumber",
    ["0x0", false],
  );
  if (block === null) throw new UnavailableError("the node has no block 0");
  const header: BlockHeader = {
    number: 0,
    hash: block.hash,
    parentHash: block.parentHash,
    timestamp: Number(block.timestamp),
  };

  const logs: RawLog[] = [];
  const log = (name: string, values: readonly unknown[]): void => {
    const { data, topics } = registryAbi.encodeEventLog(name, values);
    logs.push({
      address: registry,
      topics,
      data,
      blockNumber: "0x0",
      blockHash: header.hash,
      transactionHash: ZeroHash,
      transactionIndex: "0x0",
      logIndex: hex(logs.length),
    });
  };
  for (let id = 1; id <= participants; id++) {
    const [p] = await callAtGenesis(rpc, registry, "participant", [id]);
    const keys = founders.filter((f) => f.participantId === id);
    const key = keys[0];
    if (key === undefined || keys.length !== Number(p.activeKeys)) {
      throw new ConflictError(
        `participant ${id} has ${p.activeKeys} signing key(s) at genesis, the deployment record names ${keys.length}`,
      );
    }
    const [owner, active] = await callAtGenesis(rpc, registry, "keyStatus", [key.signingKey]);
    if (Number(owner) !== id || active !== true) {
      throw new ConflictError(
        `the deployment record gives ${key.signingKey} to participant ${id}; at genesis the registry says participant ${owner} (${active === true ? "active" : "inactive"})`,
      );
    }
    log("ParticipantAdmitted", [id, p.kind, p.metadataCommitment, key.signingKey, 0]);
  }
  const extra = founders.find((f) => f.participantId > participants);
  if (extra !== undefined) {
    throw new ConflictError(
      `the deployment record names participant ${extra.participantId}, the registry holds ${participants} at genesis`,
    );
  }
  const [members, quorum] = await callAtGenesis(rpc, registry, "council");
  log("CouncilChanged", [members, quorum, 0]);

  const rows: EventRow[] = [];
  for (const l of logs) {
    const row = decoder.decode(l, header.timestamp);
    if (row === null) throw new TracerError("could not decode a genesis event (internal)");
    row.args = { ...row.args, genesis: true };
    rows.push(row);
  }
  return { rows, block: header };
}
