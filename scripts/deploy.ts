/**
 * Deploys the consortium with Ignition to a JSON-RPC node and writes the deployment record.
 *
 *   npm run deploy -- --rpc http://127.0.0.1:8545 --params ignition/parameters/local.json --out deployment.json
 *
 * The deployer is the node's first unlocked account (a `hardhat node` or anvil), or, with
 * `--keystore FILE`, the key of an encrypted JSON keystore whose password is read from
 * `--password-file`, the environment variable VERITRACE_KEYSTORE_PASSWORD or a hidden prompt on
 * the terminal (never from the command line). Exit codes:
 * 0 deployed, 1 deployment failed, 2 bad arguments or parameters. Nothing is written unless it
 * succeeded.
 */
import { parseArgs } from "node:util";
import { network } from "hardhat";
import {
  KEYSTORE_PASSWORD_ENV,
  readKeystorePassword,
  signerFromKeystore,
  writeDeployment,
} from "../src/client/index.js";
import {
  deployConsortium,
  deployOnRegistry,
  readGenesisRegistry,
  readParameters,
  type GenesisRegistry,
} from "./lib/deploy.js";

const USAGE =
  "usage: npm run deploy -- --rpc URL (--params FILE | --genesis-registry FILE) --out FILE [--keystore FILE] [--deployment-id ID]\n" +
  "  --rpc URL           JSON-RPC endpoint of the node (unlocked accounts)\n" +
  "  --params FILE       JSON {founders: [{kind, metadataCommitment, signingKey}], quorum}\n" +
  "  --genesis-registry FILE\n" +
  "                      registry.json of npm run network:qbft: the registry is already in the\n" +
  "                      genesis; deploy the other contracts around it\n" +
  "  --out FILE          where to write the deployment record\n" +
  "  --keystore FILE     deploy with the key of this encrypted JSON keystore (password from\n" +
  `                      --password-file, ${KEYSTORE_PASSWORD_ENV} or a hidden prompt)\n` +
  "  --password-file FILE\n" +
  "                      the keystore's password: the file's first line (mode 600)\n" +
  "  --deployment-id ID  Ignition deployment id (journal under ignition/deployments/ID)";

function fail(code: number, message: string): never {
  console.error(`deploy: ${message}`);
  process.exit(code);
}

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        rpc: { type: "string" },
        params: { type: "string" },
        "genesis-registry": { type: "string" },
        out: { type: "string" },
        "deployment-id": { type: "string" },
        keystore: { type: "string" },
        "password-file": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (e) {
    fail(2, (e as Error).message);
  }
  if (values.help === true) {
    console.log(USAGE);
    return;
  }
  if (values.rpc === undefined) fail(2, "--rpc is required");
  if ((values.params === undefined) === (values["genesis-registry"] === undefined))
    fail(2, "exactly one of --params and --genesis-registry is required");
  if (values.out === undefined) fail(2, "--out is required");
  let url: URL;
  try {
    url = new URL(values.rpc);
  } catch {
    fail(2, `--rpc: not a URL: ${values.rpc}`);
  }
  let params: ReturnType<typeof readParameters> | undefined;
  let genesis: GenesisRegistry | undefined;
  try {
    if (values.params !== undefined) params = readParameters(values.params);
    if (values["genesis-registry"] !== undefined)
      genesis = readGenesisRegistry(values["genesis-registry"]);
  } catch (e) {
    fail(2, (e as Error).message);
  }
  let accounts: string[] | undefined;
  if (values.keystore !== undefined) {
    try {
      const password = await readKeystorePassword(values.keystore, {
        passwordFile: values["password-file"],
      });
      // The key stays in memory: handed to this process's network connection only.
      accounts = [(await signerFromKeystore(values.keystore, password)).privateKey];
    } catch (e) {
      fail(2, (e as Error).message);
    }
  }
  const connection = await network.create({
    network: "localhost",
    override: accounts === undefined ? { url: url.toString() } : { url: url.toString(), accounts },
  });
  const options = { deploymentId: values["deployment-id"] };
  if (genesis !== undefined) {
    const { chainId } = await connection.ethers.provider.getNetwork();
    if (Number(chainId) !== genesis.chainId)
      fail(
        2,
        `--genesis-registry: written for chain ${genesis.chainId}, the node is on chain ${chainId}`,
      );
  }
  const record =
    genesis !== undefined
      ? await deployOnRegistry(connection, genesis.registry, {
          ...options,
          genesisFounders: genesis.founders,
        })
      : await deployConsortium(connection, params?.founders ?? [], params?.quorum ?? 0, options);
  writeDeployment(values.out, record);
  console.log(
    `deployed on chain ${record.chainId} from block ${record.startBlock}; record written to ${values.out}`,
  );
  for (const [name, address] of Object.entries(record.contracts))
    console.log(`  ${name.padEnd(20)} ${address}`);
}

main().then(
  () => process.exit(0),
  (e: unknown) => fail(1, e instanceof Error ? (e.message.split("\n")[0] ?? "") : String(e)),
);
