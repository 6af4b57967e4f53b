/**
 * Deploys the consortium with Ignition to a JSON-RPC node and writes the deployment record.
 *
 *   npm run deploy -- --rpc http://127.0.0.1:8545 --params ignition/parameters/local.json --out deployment.json
 *
 * The deployer is the node's first unlocked account (a `hardhat node` or anvil), or, with
 * `--keystore FILE`, the key of an encrypted JSON keystore whose password is read from the
 * environment variable VERITRACE_KEYSTORE_PASSWORD (never from the command line). Exit codes:
 * 0 deployed, 1 deployment failed, 2 bad arguments or parameters. Nothing is written unless it
 * succeeded.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { network } from "hardhat";
import {
  InputError,
  KEYSTORE_PASSWORD_ENV,
  signerFromKeystore,
  writeDeployment,
} from "../src/client/index.js";
import { checkParameters, deployConsortium, type FounderInput } from "./lib/deploy.js";

const USAGE =
  "usage: npm run deploy -- --rpc URL --params FILE --out FILE [--keystore FILE] [--deployment-id ID]\n" +
  "  --rpc URL           JSON-RPC endpoint of the node (unlocked accounts)\n" +
  "  --params FILE       JSON {founders: [{kind, metadataCommitment, signingKey}], quorum}\n" +
  "  --out FILE          where to write the deployment record\n" +
  "  --keystore FILE     deploy with the key of this encrypted JSON keystore (password from\n" +
  `                      the environment variable ${KEYSTORE_PASSWORD_ENV})\n` +
  "  --deployment-id ID  Ignition deployment id (journal under ignition/deployments/ID)";

function fail(code: number, message: string): never {
  console.error(`deploy: ${message}`);
  process.exit(code);
}

function readParams(file: string): { founders: FounderInput[]; quorum: number } {
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

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        rpc: { type: "string" },
        params: { type: "string" },
        out: { type: "string" },
        "deployment-id": { type: "string" },
        keystore: { type: "string" },
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
  if (values.params === undefined) fail(2, "--params is required");
  if (values.out === undefined) fail(2, "--out is required");
  let url: URL;
  try {
    url = new URL(values.rpc);
  } catch {
    fail(2, `--rpc: not a URL: ${values.rpc}`);
  }
  let params;
  try {
    params = readParams(values.params);
  } catch (e) {
    fail(2, (e as Error).message);
  }
  let accounts: string[] | undefined;
  if (values.keystore !== undefined) {
    const password = process.env[KEYSTORE_PASSWORD_ENV];
    if (password === undefined)
      fail(2, `--keystore needs its password in ${KEYSTORE_PASSWORD_ENV}`);
    try {
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
  const record = await deployConsortium(connection, params.founders, params.quorum, {
    deploymentId: values["deployment-id"],
  });
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
