/**
 * docs/risk.md's worked example replayed on a local chain, and `veritrace risk` run on it: the
 * output shown in the docs' "Commands" section (test/analytics/risk-example.test.ts checks that the
 * two are the same).
 *
 *   npm run example:risk
 *
 * Starts a fresh anvil node, deploys TestToken ("Test USD", 6 decimals) from anvil's account 0,
 * mints to the senders and sends, from real addresses of the GraphSense TagPacks in
 * ../shared/data/tagpacks (impersonated) and from three wallets of fixed keys (intermediary B,
 * clean wallet W, deposit address X), the example's transfers scaled to money: Tornado Cash → B
 * 30,000; Ronin bridge exploiter → B 10,000; phishing → X 10,000; B → X 20,000; W → X 70,000.
 * Then runs the real command (bin/veritrace.mjs) with a fresh store and the TagPacks as
 * `--labels`, and prints the command line as a user would type it (the node's URL as
 * http://127.0.0.1:8545, the store left at its default) and the command's output verbatim.
 * Everything is fixed (keys, nonces, gas, fees, block times), so the output is the same on every
 * run, transaction hashes included. Progress goes to stderr; on failure, one line and exit 1.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { HDNodeWallet, JsonRpcProvider, Wallet, keccak256, toUtf8Bytes, type Signer } from "ethers";
import { TestToken__factory, type TestToken } from "../types/ethers-contracts/index.js";
import { startAnvil } from "./lib/anvil.js";
import { DEFAULT_MNEMONIC } from "./lib/bulk-activity.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
/** The TagPacks, as typed from the repository's root. */
const PACKS = ["ofac.yaml", "tornado_cash.yaml", "ronin_bridge.yaml", "etherscamdb_tagpack.yaml"];
const packPath = (file: string) => `../shared/data/tagpacks/${file}`;

/** Labeled addresses of the TagPacks. */
const TORNADO = "0x910cbd523d972eb0a6f4cae4618ad62622b39dbf"; // tornado_cash.yaml (a pool) and ofac.yaml
const RONIN = "0x29fc9b71492ec63696cf9cd56e9832a42b0dced0"; // ronin_bridge.yaml: Ronin bridge exploiter 4
const PHISHING = "0xd0cc2b24980cbcca47ef755da88b220a82291407"; // EtherScamDB: myelherwallel.com

/** Unlabeled wallets of fixed keys. */
const walletKey = (name: string) => keccak256(toUtf8Bytes(`veritrace risk example: ${name}`));

const UNIT = 1_000_000n; // 6 decimals
/** Fixed gas and fees: the transactions, so their hashes, are the same on every run. */
const FEES = { maxFeePerGas: 10_000_000_000n, maxPriorityFeePerGas: 1_000_000_000n };
const TRANSFER_GAS = 100_000n;
const DEPLOY_GAS = 3_000_000n;
/** Block times: from a fixed moment, 12 s apart. */
const FIRST_BLOCK_TIME = 4_000_000_000; // 2096: after the genesis block's wall-clock time
const BLOCK_INTERVAL = 12;
const ETHER = "0xde0b6b3a7640000";

const log = (text: string) => process.stderr.write(`${text}\n`);

/**
 * The command line as docs/risk.md shows it: a user's shell, from the repository's root, one
 * option a line. `--labels` takes one file: repeated for each TagPack.
 */
function commandLine(x: string, token: string): string {
  return [
    `$ veritrace risk ${x}`,
    `    --rpc http://127.0.0.1:8545 --token ${token}`,
    ...PACKS.map((f) => `    --labels ${packPath(f)}`),
  ].join(" \\\n");
}

/** Runs bin/veritrace.mjs; its stderr passes through, its stdout is returned. */
async function veritrace(args: readonly string[]): Promise<string> {
  const child = spawn(process.execPath, [path.join(root, "bin", "veritrace.mjs"), ...args], {
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
  child.stderr.on("data", (c: Buffer) => {
    stderr += c.toString();
    process.stderr.write(c);
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", resolve);
  });
  if (code !== 0) {
    const last = stderr.trim().split("\n").pop() ?? "";
    throw new Error(`veritrace ${args[0] ?? ""} exited with ${code}: ${last}`);
  }
  return stdout;
}

async function main(): Promise<void> {
  for (const file of PACKS) {
    if (!existsSync(path.join(root, packPath(file))))
      throw new Error(`TagPack not found: ${packPath(file)} (from ${root})`);
  }
  const chain = await startAnvil();
  const tmp = mkdtempSync(path.join(tmpdir(), "veritrace-risk-example-"));
  const provider = new JsonRpcProvider(chain.url, undefined, {
    staticNetwork: true,
    pollingInterval: 50,
  });
  try {
    log(`anvil at ${chain.url}`);
    await provider.send("evm_setNextBlockTimestamp", [FIRST_BLOCK_TIME]);
    await provider.send("anvil_setBlockTimestampInterval", [BLOCK_INTERVAL]);

    const nonces = new Map<string, number>();
    const overrides = async (signer: Signer, gasLimit: bigint) => {
      const from = (await signer.getAddress()).toLowerCase();
      const nonce = nonces.get(from) ?? 0;
      nonces.set(from, nonce + 1);
      return { ...FEES, gasLimit, nonce, type: 2 };
    };

    // anvil's account 0 (the default mnemonic's first key): the token's deployer and minter.
    const deployer = HDNodeWallet.fromPhrase(DEFAULT_MNEMONIC).connect(provider);
    const deployed = await new TestToken__factory(deployer).deploy(
      "Test USD",
      "TUSD",
      6,
      await overrides(deployer, DEPLOY_GAS),
    );
    await deployed.waitForDeployment();
    const tokenAddress = (await deployed.getAddress()).toLowerCase();
    log(`TestToken (TUSD, 6 decimals) at ${tokenAddress}`);

    const [B, W, X] = ["B", "W", "X"].map((n) => new Wallet(walletKey(n), provider)) as [
      Wallet,
      Wallet,
      Wallet,
    ];
    const [b, w, x] = [B, W, X].map((s) => s.address.toLowerCase()) as [string, string, string];
    for (const a of [b, w]) await provider.send("anvil_setBalance", [a, ETHER]);
    const impersonated = async (address: string): Promise<Signer> => {
      await provider.send("anvil_impersonateAccount", [address]);
      await provider.send("anvil_setBalance", [address, ETHER]);
      return provider.getSigner(address);
    };
    const signers: Record<string, Signer> = {
      [TORNADO]: await impersonated(TORNADO),
      [RONIN]: await impersonated(RONIN),
      [PHISHING]: await impersonated(PHISHING),
      [b]: B,
      [w]: W,
    };
    const token = (signer: Signer): TestToken => TestToken__factory.connect(tokenAddress, signer);

    const mint = async (to: string, amount: bigint) => {
      const tx = await token(deployer).mint(to, amount, await overrides(deployer, TRANSFER_GAS));
      await tx.wait();
    };
    const send = async (from: string, to: string, amount: bigint, what: string) => {
      const signer = signers[from];
      if (signer === undefined) throw new Error(`no signer for ${from}`);
      const tx = await token(signer).transfer(to, amount, await overrides(signer, TRANSFER_GAS));
      const receipt = await tx.wait();
      log(`${tx.hash} block ${receipt?.blockNumber ?? "?"}: ${what}`);
    };

    // The senders' funds: mints (from the zero address: clean, no history).
    await mint(TORNADO, 30_000n * UNIT);
    await mint(RONIN, 10_000n * UNIT);
    await mint(PHISHING, 10_000n * UNIT);
    await mint(w, 70_000n * UNIT);
    // The worked example, ×1,000 TUSD.
    await send(TORNADO, b, 30_000n * UNIT, "Tornado Cash → B 30,000");
    await send(RONIN, b, 10_000n * UNIT, "Ronin bridge exploiter → B 10,000");
    await send(PHISHING, x, 10_000n * UNIT, "phishing → X 10,000");
    await send(b, x, 20_000n * UNIT, "B → X 20,000");
    await send(w, x, 70_000n * UNIT, "W → X 70,000");

    const output = await veritrace([
      "risk",
      x,
      "--rpc",
      chain.url,
      "--token",
      tokenAddress,
      "--db",
      path.join(tmp, "db"),
      ...PACKS.flatMap((f) => ["--labels", path.join(root, packPath(f))]),
    ]);
    process.stdout.write(`${commandLine(x, tokenAddress)}\n${output}`);
  } finally {
    provider.destroy();
    await chain.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(`example:risk failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
