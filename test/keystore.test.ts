import { expect } from "chai";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { Wallet, encryptKeystoreJson, parseEther } from "ethers";
import { network } from "hardhat";
import {
  InputError,
  hashDocument,
  readDeployment,
  signerFromKeystore,
} from "../src/client/index.js";
import { startLocalChain, type LocalChain } from "../scripts/lib/local-chain.js";

const run = promisify(execFile);
const PASSWORD = "correct horse battery staple";

/** An encrypted JSON keystore of a fresh key (light scrypt to keep the test fast). */
async function keystore(dir: string): Promise<{ file: string; address: string }> {
  const wallet = Wallet.createRandom();
  const json = await encryptKeystoreJson(
    { address: wallet.address, privateKey: wallet.privateKey },
    PASSWORD,
    { scrypt: { N: 1024 } },
  );
  const file = path.join(dir, `${wallet.address}.json`);
  writeFileSync(file, json);
  return { file, address: wallet.address };
}

async function deploy(
  args: string[],
  password?: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...process.env };
  delete env["VERITRACE_KEYSTORE_PASSWORD"];
  if (password !== undefined) env["VERITRACE_KEYSTORE_PASSWORD"] = password;
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      ["node_modules/tsx/dist/cli.mjs", "scripts/deploy.ts", ...args],
      { encoding: "utf8", env },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe("institution keys from an encrypted JSON keystore", function () {
  let dir: string;

  before(function () {
    dir = mkdtempSync(path.join(tmpdir(), "veritrace-keystore-"));
  });

  describe("signerFromKeystore", function () {
    it("decrypts the key with the right password", async function () {
      const { file, address } = await keystore(dir);
      expect((await signerFromKeystore(file, PASSWORD)).address).to.equal(address);
    });
    it("names the file when the password is wrong, the file is not JSON or missing", async function () {
      const { file } = await keystore(dir);
      await expectInputError(signerFromKeystore(file, "wrong"), /wrong password/);
      const junk = path.join(dir, "junk.json");
      writeFileSync(junk, "not json");
      await expectInputError(signerFromKeystore(junk, PASSWORD), /not a JSON keystore/);
      await expectInputError(
        signerFromKeystore(path.join(dir, "missing.json"), PASSWORD),
        /cannot read/,
      );
      await expectInputError(signerFromKeystore(file, ""), /password is empty/);
    });
  });

  describe("npm run deploy -- --keystore FILE", function () {
    let chain: LocalChain;
    let params: string;

    before(async function () {
      chain = await startLocalChain("anvil");
      const connection = await network.create({
        network: "localhost",
        override: { url: chain.url },
      });
      const signers = await connection.ethers.getSigners();
      params = path.join(dir, "params.json");
      writeFileSync(
        params,
        JSON.stringify({
          founders: signers.slice(0, 3).map((s, i) => ({
            kind: "AUDITOR",
            metadataCommitment: hashDocument(`founder ${i}`),
            signingKey: s.address,
          })),
          quorum: 2,
        }),
      );
    });

    after(async function () {
      await chain?.stop();
    });

    it("deploys with the keystore's key, read with the password from the environment", async function () {
      const { file, address } = await keystore(dir);
      const connection = await network.create({
        network: "localhost",
        override: { url: chain.url },
      });
      const [funder] = await connection.ethers.getSigners();
      if (funder === undefined) throw new Error("signer");
      await (await funder.sendTransaction({ to: address, value: parseEther("10") })).wait();
      const out = path.join(dir, "deployment.json");
      const deploymentId = `ks-${Date.now()}`;
      const r = await deploy(
        [
          "--rpc",
          chain.url,
          "--params",
          params,
          "--out",
          out,
          "--keystore",
          file,
          "--deployment-id",
          deploymentId,
        ],
        PASSWORD,
      ).finally(() =>
        // Ignition journals a deployment to an HTTP network; this one is a test's.
        rmSync(path.join("ignition", "deployments", deploymentId), {
          recursive: true,
          force: true,
        }),
      );
      expect(r.code, r.stderr).to.equal(0);
      const record = readDeployment(out);
      // The deployer's nonce moved: every consortium contract was created by the keystore's key.
      expect(await connection.ethers.provider.getTransactionCount(address)).to.equal(
        Object.keys(record.contracts).length,
      );
      const registry = record.contracts.ParticipantRegistry;
      expect(await connection.ethers.provider.getCode(registry)).to.not.equal("0x");
    });

    it("refuses a wrong or missing password in one line, writing nothing", async function () {
      const { file } = await keystore(dir);
      const out = path.join(dir, "never.json");
      const wrong = await deploy(
        ["--rpc", chain.url, "--params", params, "--out", out, "--keystore", file],
        "nope",
      );
      expect(wrong.code).to.equal(2);
      expect(wrong.stderr.trim().split("\n")).to.deep.equal([
        `deploy: ${file}: wrong password, or not an encrypted JSON keystore`,
      ]);
      const missing = await deploy([
        "--rpc",
        chain.url,
        "--params",
        params,
        "--out",
        out,
        "--keystore",
        file,
      ]);
      expect(missing.code).to.equal(2);
      expect(missing.stderr).to.match(/VERITRACE_KEYSTORE_PASSWORD/);
      expect(existsSync(out)).to.equal(false);
    });
  });
});

async function expectInputError(p: Promise<unknown>, message: RegExp): Promise<void> {
  try {
    await p;
  } catch (error) {
    expect(error).to.be.instanceOf(InputError);
    expect((error as Error).message).to.match(message);
    return;
  }
  throw new Error(`expected an InputError matching ${message}`);
}
