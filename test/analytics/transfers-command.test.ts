import { expect } from "chai";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { network } from "hardhat";
import { startLocalChain, type LocalChain } from "../../scripts/lib/local-chain.js";

const run = promisify(execFile);

async function veritrace(
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ["bin/veritrace.mjs", ...args], {
      encoding: "utf8",
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

interface Summary {
  stream: string;
  indexedTo: number;
  newTransfers: number;
  tokens: { token: string; transfers: number }[];
  complete: boolean;
}

describe("veritrace transfers", function () {
  let chain: LocalChain;
  let dir: string;
  let tokens: string[];
  let head: number;

  before(async function () {
    chain = await startLocalChain("anvil");
    const connection = await network.create({ network: "localhost", override: { url: chain.url } });
    const [, alice, bob] = await connection.ethers.getSigners();
    if (alice === undefined || bob === undefined) throw new Error("signers");
    const usd = await connection.ethers.deployContract("TestToken", ["Test USD", "TUSD", 6]);
    const eur = await connection.ethers.deployContract("TestToken", ["Test EUR", "TEUR", 18]);
    for (const [token, n] of [
      [usd, 3],
      [eur, 2],
    ] as const) {
      await (await token.mint(alice.address, 1_000n)).wait();
      for (let i = 0; i < n; i++)
        await (await token.connect(alice).transfer(bob.address, 10n)).wait();
    }
    await (await alice.sendTransaction({ to: bob.address, value: 12_345n })).wait();
    tokens = [(await usd.getAddress()).toLowerCase(), (await eur.getAddress()).toLowerCase()];
    head = await connection.ethers.provider.getBlockNumber();
    dir = mkdtempSync(path.join(tmpdir(), "veritrace-transfers-"));
  });

  after(async function () {
    await chain?.stop();
  });

  it("reads every token's transfers of a block range (mints included)", async function () {
    const r = await veritrace(
      "transfers",
      "--rpc",
      chain.url,
      "--token",
      "all",
      "--from",
      "1",
      "--db",
      path.join(dir, "db"),
      "--json",
    );
    expect(r.code, r.stderr).to.equal(0);
    const s = JSON.parse(r.stdout.trim().split("\n").at(-1) ?? "{}") as Summary;
    expect(s.stream).to.equal("erc20:31337:*");
    expect(s.indexedTo).to.equal(head);
    expect(s.tokens).to.deep.equal([
      { token: tokens[0], transfers: 4 },
      { token: tokens[1], transfers: 3 },
    ]);
    expect(s.complete).to.equal(true);
  });

  it("reads native value transfers with their fees", async function () {
    const r = await veritrace(
      "transfers",
      "--rpc",
      chain.url,
      "--token",
      "native",
      "--from",
      "1",
      "--db",
      path.join(dir, "db"),
      "--json",
    );
    expect(r.code, r.stderr).to.equal(0);
    const s = JSON.parse(r.stdout.trim().split("\n").at(-1) ?? "{}") as Summary;
    expect(s.stream).to.equal("native:31337:native");
    // Every transaction pays a fee; one of them also moves 12,345 wei.
    expect(s.newTransfers).to.be.greaterThan(head);
    expect(s.complete).to.equal(true);
  });

  it("names bad input in one line and writes nothing", async function () {
    const db = path.join(dir, "never");
    for (const [args, code] of [
      [["--token", "bogus", "--from", "1"], 2],
      [["--token", "all"], 2],
      [["--token", "all", "--from", String(head + 100)], 1],
    ] as const) {
      const r = await veritrace("transfers", "--rpc", chain.url, ...args, "--db", db);
      expect(r.code, r.stderr).to.equal(code);
      expect(r.stderr.trim().split("\n")).to.have.length(1);
    }
    expect(existsSync(db)).to.equal(false);
  });
});
