import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { Wallet } from "ethers";
import pg from "pg";
import { writeDeployment, type DeploymentRecord } from "../../src/client/index.js";
import { freePort } from "../../scripts/lib/local-chain.js";
import {
  ROOT,
  createPostgresDatabase,
  runVeritrace,
  startConsortiumNode,
  type CommandResult,
  type ConsortiumNode,
} from "../helpers/tracer.js";

/** Exactly one line on stderr, naming the command, matching `pattern`; nothing on stdout. */
function expectOneLineError(result: CommandResult, exitCode: number, pattern: RegExp): void {
  const lines = result.stderr.split("\n").filter((l) => l.length > 0);
  expect(lines, result.stderr).to.have.length(1);
  expect(lines[0]).to.match(/^veritrace index: /);
  expect(lines[0]).to.match(pattern);
  expect(result.stdout).to.equal("");
  expect(result.code).to.equal(exitCode);
}

async function tablesIn(url: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ table_name: string }>(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'",
    );
    return rows.map((r) => r.table_name);
  } finally {
    await client.end();
  }
}

describe("veritrace index: bad input", function () {
  let node: ConsortiumNode;
  let tmp: string;
  let good: string;
  let dbCount = 0;
  /** A --db directory that does not exist yet. */
  const newDbDir = () => path.join(tmp, `db-${++dbCount}`);
  /** A deployment record file: the node's, changed by `edit`. */
  const recordFile = (name: string, edit: (r: DeploymentRecord) => unknown): string => {
    const file = path.join(tmp, name);
    writeFileSync(file, JSON.stringify(edit(structuredClone(node.record)), null, 2));
    return file;
  };

  before(async function () {
    node = await startConsortiumNode("anvil");
    tmp = mkdtempSync(path.join(os.tmpdir(), "veritrace-cli-"));
    good = path.join(tmp, "deployment.json");
    writeDeployment(good, node.record);
  });
  after(async function () {
    await node?.stop();
    if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true });
  });

  it("indexes with good input (the control for every case below)", async function () {
    const db = newDbDir();
    const result = await runVeritrace([
      "index",
      "--rpc",
      node.url,
      "--deployment",
      good,
      "--db",
      db,
    ]);
    expect(result.code, result.stderr).to.equal(0);
    expect(result.stdout).to.match(/^indexed up to block \d+: \d+ new events/);
    expect(existsSync(db)).to.equal(true);
  });

  it("reads the deployment record from stdin for --deployment -, as from the file", async function () {
    const [db1, db2] = [newDbDir(), newDbDir()];
    const fromFile = await runVeritrace([
      "index",
      "--rpc",
      node.url,
      "--deployment",
      good,
      "--db",
      db1,
    ]);
    const fromStdin = await runVeritrace(
      ["index", "--rpc", node.url, "--deployment", "-", "--db", db2],
      {},
      readFileSync(good),
    );
    expect([fromFile.code, fromStdin.code], fromStdin.stderr).to.deep.equal([0, 0]);
    expect(fromStdin.stdout.replace(db2, "DB")).to.equal(fromFile.stdout.replace(db1, "DB"));
    expect(fromStdin.stdout).to.match(/^indexed up to block \d+: [1-9]\d* new events/);
    expect(existsSync(path.join(ROOT, "-")), "a file named -").to.equal(false);
  });

  describe("exit code 1, nothing written", function () {
    it("an unreachable node", async function () {
      const url = `http://127.0.0.1:${await freePort()}/`;
      const db = newDbDir();
      const result = await runVeritrace(["index", "--rpc", url, "--deployment", good, "--db", db]);
      expectOneLineError(
        result,
        1,
        new RegExp(
          // The URL as printed: without its trailing slash (and any credentials or key).
          `eth_chainId to ${url.replace(/\/$/, "").replace(/\./g, "\\.")} failed after 2 attempts: ECONNREFUSED`,
        ),
      );
      expect(existsSync(db)).to.equal(false);
    });

    it("a node of another chain than the deployment record's", async function () {
      const file = recordFile("other-chain.json", (r) => ({ ...r, chainId: 4242 }));
      const db = newDbDir();
      const result = await runVeritrace([
        "index",
        "--rpc",
        node.url,
        "--deployment",
        file,
        "--db",
        db,
      ]);
      expectOneLineError(result, 1, /serves chain 31337, the deployment record says chain 4242$/);
      expect(existsSync(db)).to.equal(false);
    });

    it("no contract code at a recorded address", async function () {
      const nowhere = Wallet.createRandom().address;
      const file = recordFile("no-code.json", (r) => ({
        ...r,
        contracts: { ...r.contracts, AccessLedger: nowhere },
      }));
      const db = newDbDir();
      const result = await runVeritrace([
        "index",
        "--rpc",
        node.url,
        "--deployment",
        file,
        "--db",
        db,
      ]);
      expectOneLineError(
        result,
        1,
        new RegExp(`no contract code at ${nowhere} \\(AccessLedger\\) on chain 31337`),
      );
      expect(existsSync(db)).to.equal(false);
    });

    it("a deployment file that is not JSON", async function () {
      const file = path.join(tmp, "broken.json");
      writeFileSync(file, '{"version": 1, "chainId": 31337, "contr');
      const db = newDbDir();
      const result = await runVeritrace([
        "index",
        "--rpc",
        node.url,
        "--deployment",
        file,
        "--db",
        db,
      ]);
      expectOneLineError(result, 1, /broken\.json: is not valid JSON$/);
      expect(existsSync(db)).to.equal(false);
    });

    it("a deployment record with a malformed address", async function () {
      const file = recordFile("bad-address.json", (r) => ({
        ...r,
        contracts: { ...r.contracts, CaseRegistry: "0x1234" },
      }));
      const db = newDbDir();
      const result = await runVeritrace([
        "index",
        "--rpc",
        node.url,
        "--deployment",
        file,
        "--db",
        db,
      ]);
      expectOneLineError(result, 1, /bad-address\.json\.contracts\.CaseRegistry: /);
      expect(existsSync(db)).to.equal(false);
    });

    it("a deployment file that does not exist", async function () {
      const file = path.join(tmp, "missing.json");
      const db = newDbDir();
      const result = await runVeritrace([
        "index",
        "--rpc",
        node.url,
        "--deployment",
        file,
        "--db",
        db,
      ]);
      expectOneLineError(result, 1, /missing\.json: cannot read: ENOENT/);
      expect(existsSync(db)).to.equal(false);
    });

    it("a PostgreSQL server that can't be reached", async function () {
      const result = await runVeritrace([
        "index",
        "--rpc",
        node.url,
        "--deployment",
        good,
        "--db",
        "postgres://nobody@127.0.0.1:1/x",
      ]);
      expectOneLineError(
        result,
        1,
        /cannot connect to postgres:\/\/nobody@127\.0\.0\.1:1\/x: .*ECONNREFUSED/,
      );
    });

    it("a database URL of an unsupported kind", async function () {
      const result = await runVeritrace([
        "index",
        "--rpc",
        node.url,
        "--deployment",
        good,
        "--db",
        "mysql://root@127.0.0.1:3306/x",
      ]);
      expectOneLineError(result, 1, /unsupported database URL mysql:\/\/root@127\.0\.0\.1:3306\/x/);
      expect(existsSync(path.join(process.cwd(), "mysql:"))).to.equal(false);
    });

    it("creates no table in a fresh PostgreSQL database when the node check fails", async function () {
      const database = await createPostgresDatabase("veritrace_cli");
      try {
        const file = recordFile("other-chain-pg.json", (r) => ({ ...r, chainId: 4242 }));
        const result = await runVeritrace([
          "index",
          "--rpc",
          node.url,
          "--deployment",
          file,
          "--db",
          database.url,
        ]);
        expectOneLineError(result, 1, /the deployment record says chain 4242$/);
        expect(await tablesIn(database.url)).to.deep.equal([]);
      } finally {
        await database.drop();
      }
    });
  });

  describe("exit code 2 (usage), nothing written", function () {
    it("no --rpc", async function () {
      const db = newDbDir();
      const result = await runVeritrace(["index", "--deployment", good, "--db", db]);
      expectOneLineError(result, 2, /--rpc is required$/);
      expect(existsSync(db)).to.equal(false);
    });

    it("an --rpc that is not an http(s) URL", async function () {
      const db = newDbDir();
      const result = await runVeritrace([
        "index",
        "--rpc",
        "ws://127.0.0.1:8545",
        "--deployment",
        good,
        "--db",
        db,
      ]);
      expectOneLineError(
        result,
        2,
        /--rpc must be an http\(s\) URL, got "ws:\/\/127\.0\.0\.1:8545"$/,
      );
      expect(existsSync(db)).to.equal(false);
    });

    it("an unknown option", async function () {
      const db = newDbDir();
      const result = await runVeritrace([
        "index",
        "--rpc",
        node.url,
        "--deployment",
        good,
        "--db",
        db,
        "--fast",
      ]);
      expectOneLineError(result, 2, /--fast/);
      expect(existsSync(db)).to.equal(false);
    });

    it("a --finality that is not a number", async function () {
      const db = newDbDir();
      const result = await runVeritrace([
        "index",
        "--rpc",
        node.url,
        "--deployment",
        good,
        "--db",
        db,
        "--finality",
        "ten",
      ]);
      expectOneLineError(result, 2, /--finality must be an integer/);
      expect(existsSync(db)).to.equal(false);
    });
  });
});
