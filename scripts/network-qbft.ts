/**
 * Writes a QBFT consortium network: genesis, node keys and Besu configuration per node.
 *
 *   npm run network:qbft -- --validators 4 --out DIR [--params FILE] [--chain-id N]
 *                           [--block-period S] [--gas-limit N] [--host H] [--p2p-port P]
 *                           [--rpc-port P] [--registry-address A]
 *
 * DIR gets genesis.json (ingress contracts and the participant registry with the founding
 * council in the alloc, validators in extraData), registry.json (what the genesis registry
 * holds, for `npm run deploy -- --genesis-registry`), and node-1 … node-N, each with the node's
 * key (mode 0600), enode, config.toml and plugin.env. Exit codes: 0 written, 1 failure, 2 bad
 * arguments. DIR must not exist or be empty; nothing is left behind unless everything was written.
 */
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { getAddress } from "ethers";
import { InputError } from "../src/client/errors.js";
import { readParameters } from "./lib/deploy.js";
import {
  DEFAULT_REGISTRY_ADDRESS,
  besuConfig,
  checkSettings,
  enode,
  newNodeKey,
  pluginEnv,
  qbftGenesis,
  registryGenesis,
  type NodeSpec,
  type QbftSettings,
} from "./lib/genesis.js";

const USAGE = `usage: npm run network:qbft -- --validators N --out DIR [options]
  --validators N          validators (1..64; 4 tolerate one faulty node)
  --out DIR               output directory (must not exist, or be empty)
  --params FILE           founders and quorum, as for npm run deploy
                          (default ignition/parameters/local.json: development keys only)
  --chain-id N            chain id (default 7412)
  --block-period S        QBFT block period in seconds (default 2)
  --request-timeout S     QBFT round timeout in seconds (default twice the block period)
  --gas-limit N           block gas limit (default 30000000)
  --host H                the nodes' p2p host in their enodes (default 127.0.0.1)
  --p2p-port P            first node's p2p port, the next nodes count up (default 30303)
  --rpc-port P            first node's JSON-RPC port, the next nodes count up (default 8545)
  --registry-address A    the participant registry's genesis address (default ${DEFAULT_REGISTRY_ADDRESS})`;

class UsageError extends Error {}

function integerOption(values: Record<string, unknown>, name: string, fallback: number): number {
  const v = values[name];
  if (v === undefined) return fallback;
  if (typeof v !== "string" || !/^\d+$/.test(v))
    throw new UsageError(`--${name}: not a whole number: ${String(v)}`);
  return Number(v);
}

function port(values: Record<string, unknown>, name: string, fallback: number, count: number) {
  const p = integerOption(values, name, fallback);
  if (p < 1 || p + count - 1 > 65535)
    throw new UsageError(`--${name}: ${p} leaves no room for ${count} nodes`);
  return p;
}

async function main(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        validators: { type: "string" },
        out: { type: "string" },
        params: { type: "string" },
        "chain-id": { type: "string" },
        "block-period": { type: "string" },
        "request-timeout": { type: "string" },
        "gas-limit": { type: "string" },
        host: { type: "string" },
        "p2p-port": { type: "string" },
        "rpc-port": { type: "string" },
        "registry-address": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (values.help === true) {
    console.log(USAGE);
    return 0;
  }
  if (values.out === undefined) throw new UsageError("--out is required");
  if (values.validators === undefined) throw new UsageError("--validators is required");
  const count = integerOption(values, "validators", 0);
  const blockPeriod = integerOption(values, "block-period", 2);
  let registryAddress: string;
  try {
    registryAddress = getAddress(values["registry-address"] ?? DEFAULT_REGISTRY_ADDRESS);
  } catch {
    throw new UsageError(`--registry-address: not an address: ${values["registry-address"] ?? ""}`);
  }
  let gasLimit: bigint;
  try {
    gasLimit = BigInt(values["gas-limit"] ?? "30000000");
  } catch {
    throw new UsageError(`--gas-limit: not a whole number: ${values["gas-limit"] ?? ""}`);
  }
  const settings: QbftSettings = {
    chainId: integerOption(values, "chain-id", 7412),
    blockPeriodSeconds: blockPeriod,
    requestTimeoutSeconds: integerOption(values, "request-timeout", 2 * blockPeriod),
    epochLength: 30000,
    gasLimit,
    registryAddress,
  };
  const host = values.host ?? "127.0.0.1";
  if (!/^[A-Za-z0-9.:-]+$/.test(host))
    throw new UsageError(`--host: not a host name or address: ${host}`);
  const p2pPort = port(values, "p2p-port", 30303, count);
  const rpcPort = port(values, "rpc-port", 8545, count);
  const paramsFile = values.params ?? "ignition/parameters/local.json";
  let params;
  try {
    checkSettings(settings, count);
    params = readParameters(paramsFile);
  } catch (e) {
    if (e instanceof InputError) throw new UsageError(e.message);
    throw e;
  }
  const out = path.resolve(values.out);
  if (existsSync(out) && readdirSync(out).length > 0)
    throw new UsageError(`--out: ${values.out} exists and is not empty`);

  const registry = await registryGenesis(params.founders, params.quorum);
  const nodes: NodeSpec[] = Array.from({ length: count }, (_, i) => ({
    name: `node-${i + 1}`,
    key: newNodeKey(),
    host,
    p2pPort: p2pPort + i,
    rpcPort: rpcPort + i,
  }));
  const genesis = qbftGenesis(
    settings,
    nodes.map((n) => n.key.address),
    registry,
  );

  // Everything goes to a sibling directory first, renamed into place once complete.
  const staging = `${out}.partial-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  try {
    mkdirSync(staging, { recursive: true });
    writeFileSync(path.join(staging, "genesis.json"), `${JSON.stringify(genesis, null, 2)}\n`);
    const record = {
      chainId: settings.chainId,
      startBlock: 0,
      ParticipantRegistry: registryAddress,
      quorum: params.quorum,
      founders: params.founders.map((f, i) => ({
        participantId: i + 1,
        kind: f.kind,
        metadataCommitment: f.metadataCommitment,
        signingKey: getAddress(f.signingKey),
      })),
      validators: nodes.map((n) => ({ name: n.name, address: n.key.address, enode: enode(n) })),
    };
    writeFileSync(path.join(staging, "registry.json"), `${JSON.stringify(record, null, 2)}\n`);
    for (const node of nodes) {
      const dir = path.join(staging, node.name);
      mkdirSync(dir);
      writeFileSync(path.join(dir, "key"), `${node.key.privateKey}\n`, { mode: 0o600 });
      chmodSync(path.join(dir, "key"), 0o600);
      writeFileSync(path.join(dir, "enode"), `${enode(node)}\n`);
      writeFileSync(path.join(dir, "config.toml"), besuConfig(node, nodes));
      writeFileSync(path.join(dir, "plugin.env"), pluginEnv());
    }
    if (existsSync(out)) rmSync(out, { recursive: true });
    renameSync(staging, out);
  } catch (e) {
    rmSync(staging, { recursive: true, force: true });
    throw e;
  }
  console.log(
    `QBFT network written to ${values.out}: chain ${settings.chainId}, ${count} validators, ` +
      `${settings.blockPeriodSeconds} s blocks, registry ${registryAddress} with ${params.founders.length} founders (quorum ${params.quorum})`,
  );
  if (values.params === undefined)
    console.log(
      "note: founders from ignition/parameters/local.json (development keys); pass --params for a real network",
    );
  for (const n of nodes) console.log(`  ${n.name}  validator ${n.key.address}  ${enode(n)}`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    const message = e instanceof Error ? (e.message.split("\n")[0] ?? "") : String(e);
    console.error(`network:qbft: ${message}`);
    process.exit(e instanceof UsageError ? 2 : 1);
  },
);
