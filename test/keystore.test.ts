import { expect } from "chai";
import { execFile } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { Wallet, encryptKeystoreJson, parseEther } from "ethers";
import { network } from "hardhat";
import {
  InputError,
  hashDocument,
  readDeployment,
  readKeystorePassword,
  signerFromKeystore,
} from "../src/client/index.js";
import { startLocalChain, type LocalChain } from "../scripts/lib/local-chain.js";
import { ROOT, runOnTerminal } from "./helpers/tracer.js";

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

  describe("readKeystorePassword", function () {
    const noTerminal = { env: {}, terminal: null };
    const passwordFile = (name: string, text: string, mode: number) => {
      const file = path.join(dir, name);
      writeFileSync(file, text);
      chmodSync(file, mode);
      return file;
    };

    it("reads the first line of --password-file, before the environment", async function () {
      const file = passwordFile("pw", `${PASSWORD}\nignored second line\n`, 0o600);
      const env = { VERITRACE_KEYSTORE_PASSWORD: "from the environment" };
      expect(await readKeystorePassword("k.json", { passwordFile: file, env })).to.equal(PASSWORD);
      const crlf = passwordFile("pw-crlf", `${PASSWORD}\r\n`, 0o400);
      expect(await readKeystorePassword("k.json", { passwordFile: crlf, ...noTerminal })).to.equal(
        PASSWORD,
      );
    });

    it("refuses a password file other users may read, naming its mode", async function () {
      for (const mode of [0o644, 0o640, 0o604]) {
        const file = passwordFile(`pw-${mode.toString(8)}`, PASSWORD, mode);
        await expectInputError(
          readKeystorePassword("k.json", { passwordFile: file, ...noTerminal }),
          new RegExp(`other users may read this password file \\(mode ${mode.toString(8)}\\)`),
        );
      }
    });

    it("refuses a missing password file and an empty first line", async function () {
      await expectInputError(
        readKeystorePassword("k.json", { passwordFile: path.join(dir, "nope"), ...noTerminal }),
        /cannot read the password file/,
      );
      const empty = passwordFile("pw-empty", `\n${PASSWORD}\n`, 0o600);
      await expectInputError(
        readKeystorePassword("k.json", { passwordFile: empty, ...noTerminal }),
        /first line is empty/,
      );
    });

    it("takes the environment's password, and names every source when there is none", async function () {
      expect(
        await readKeystorePassword("k.json", {
          env: { VERITRACE_KEYSTORE_PASSWORD: PASSWORD },
          terminal: null,
        }),
      ).to.equal(PASSWORD);
      await expectInputError(
        readKeystorePassword("k.json", noTerminal),
        /^k\.json: the keystore needs its password: --password-file FILE, VERITRACE_KEYSTORE_PASSWORD, or a terminal/,
      );
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

    it("asks for the password on a terminal without echoing it, and deploys", async function () {
      const { file, address } = await keystore(dir);
      const connection = await network.create({
        network: "localhost",
        override: { url: chain.url },
      });
      const [funder] = await connection.ethers.getSigners();
      if (funder === undefined) throw new Error("signer");
      await (await funder.sendTransaction({ to: address, value: parseEther("10") })).wait();
      const out = path.join(dir, "deployment-prompted.json");
      const deploymentId = `ks-prompt-${Date.now()}`;
      const env = { VERITRACE_KEYSTORE_PASSWORD: "" };
      const r = await runOnTerminal(
        [
          process.execPath,
          path.join(ROOT, "node_modules/tsx/dist/cli.mjs"),
          path.join(ROOT, "scripts/deploy.ts"),
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
        env,
        [{ prompt: /password for .*\.json: $/, reply: PASSWORD }],
      ).finally(() =>
        rmSync(path.join(ROOT, "ignition", "deployments", deploymentId), {
          recursive: true,
          force: true,
        }),
      );
      expect(r.prompted, r.output).to.equal(1);
      expect(r.code, r.output).to.equal(0);
      expect(r.output).to.not.include(PASSWORD);
      expect(readDeployment(out).chainId).to.equal(31337);
      expect(await connection.ethers.provider.getTransactionCount(address)).to.be.greaterThan(0);
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
