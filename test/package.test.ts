/**
 * The package as institutions install it: packed (npm pack), installed from its tarball into an
 * empty project (its dependencies from the registry), and used there: the `veritrace` command,
 * compiled, without tsx; the client imported as `veritrace/client`; a PSI session whose worker
 * threads load the compiled worker; labels in an embedded store.
 */
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { expect } from "chai";
import { ROOT } from "./helpers/tracer.js";

const NPM = process.platform === "win32" ? "npm.cmd" : "npm";

function run(
  command: string,
  args: readonly string[],
  cwd: string,
  input?: string,
): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(command, args, {
    cwd,
    encoding: "utf8",
    input,
    env: { ...process.env, npm_config_audit: "false", npm_config_fund: "false" },
    timeout: 600_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("the package, installed from its tarball", function () {
  this.timeout(900_000);
  let dir: string;
  let app: string;
  let bin: string;
  const version = (
    JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
      version: string;
    }
  ).version;

  before(function () {
    for (const built of [
      "dist/src/cli/main.js",
      "dist/src/client/index.d.ts",
      "dist/web/index.html",
    ])
      expect(
        existsSync(path.join(ROOT, built)),
        `${built}: run npm run build:dist and npm run build:web`,
      ).to.equal(true);
    dir = mkdtempSync(path.join(tmpdir(), "veritrace-package-"));
    // The scripts ran already (npm test builds first): pack what is built.
    const packed = run(
      NPM,
      ["pack", "--ignore-scripts", "--json", "--pack-destination", dir],
      ROOT,
    );
    expect(packed.code, packed.stderr).to.equal(0);
    const [{ filename, files }] = JSON.parse(packed.stdout) as [
      { filename: string; files: { path: string }[] },
    ];
    const paths = files.map((f) => f.path);
    // What ships: the compiled code and its declarations, the contract types, the dashboard, the
    // license; never the sources, the tests or the tooling.
    expect(paths).to.include.members([
      "LICENSE",
      "README.md",
      "bin/veritrace.mjs",
      "dist/src/cli/main.js",
      "dist/src/client/index.d.ts",
      "dist/src/matching/worker.js",
      "dist/types/ethers-contracts/index.js",
      "dist/web/index.html",
    ]);
    for (const p of paths) expect(p, p).to.not.match(/^(src|test|scripts|contracts|artifacts)\//);

    app = path.join(dir, "app");
    rmSync(app, { recursive: true, force: true });
    run("mkdir", ["-p", app], dir);
    writeFileSync(
      path.join(app, "package.json"),
      JSON.stringify({ name: "an-institution", private: true, type: "module" }),
    );
    const installed = run(
      NPM,
      ["install", "--prefer-offline", "--no-audit", "--no-fund", path.join(dir, filename)],
      app,
    );
    expect(installed.code, installed.stderr).to.equal(0);
    bin = path.join(app, "node_modules", ".bin", "veritrace");
  });

  after(function () {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it("installs only its runtime dependencies: no tsx, no Hardhat", function () {
    const modules = readdirSync(path.join(app, "node_modules"));
    expect(modules).to.include.members(["veritrace", "ethers", "@electric-sql"]);
    expect(modules).to.not.include.members(["tsx", "hardhat", "typescript", "vite"]);
  });

  it("runs veritrace --help and --version, compiled", function () {
    const help = run(bin, ["--help"], app);
    expect(help.code, help.stderr).to.equal(0);
    expect(help.stdout).to.match(/^veritrace: the Veritrace tracing service/);
    expect(help.stdout).to.include("match serve");
    const v = run(bin, ["--version"], app);
    expect(v.stdout.trim()).to.equal(`veritrace ${version}`);
  });

  it("gives the client as veritrace/client and as veritrace, with its types", function () {
    const script = [
      'import { Investigator, normalizePhone } from "veritrace/client";',
      'import * as root from "veritrace";',
      'if (typeof Investigator !== "function" || root.Investigator !== Investigator) throw new Error("no client");',
      'console.log(normalizePhone("+49 (0)30 1234567"));',
    ].join("\n");
    writeFileSync(path.join(app, "use.mjs"), script);
    const used = run(process.execPath, ["use.mjs"], app);
    expect(used.code, used.stderr).to.equal(0);
    expect(used.stdout.trim()).to.equal("+49301234567");
    const types = readFileSync(
      path.join(app, "node_modules", "veritrace", "dist", "src", "client", "roles.d.ts"),
      "utf8",
    );
    expect(types).to.include("export declare class Investigator");
  });

  it("imports TagPack labels into an embedded store and shows them", function () {
    const pack = path.join(ROOT, "..", "shared", "data", "tagpacks", "ofac.yaml");
    const address = /0x[0-9a-fA-F]{40}/.exec(readFileSync(pack, "utf8"))?.[0] ?? "";
    expect(address).to.not.equal("");
    const db = path.join(dir, "db");
    const imported = run(bin, ["labels", "import", pack, "--db", db, "--json"], app);
    expect(imported.code, imported.stderr).to.equal(0);
    const [result] = JSON.parse(imported.stdout) as { tags: number }[];
    expect(result?.tags).to.be.greaterThan(0);
    const shown = run(bin, ["labels", "show", address, "--db", db, "--json"], app);
    expect(shown.code, shown.stderr).to.equal(0);
    const [labels] = JSON.parse(shown.stdout) as { address: string; labels: unknown[] }[];
    expect(labels?.labels.length).to.be.greaterThan(0);
  });

  it("runs a PSI session whose worker threads load the compiled worker", async function () {
    const ours = ["+41791234567", "+41791234568", "+41791234569"];
    const theirs = ["+41791234568", "+41791234570"];
    writeFileSync(path.join(dir, "ours.txt"), `${ours.join("\n")}\n`);
    writeFileSync(path.join(dir, "theirs.txt"), `${theirs.join("\n")}\n`);
    const token = randomBytes(24).toString("hex");
    writeFileSync(path.join(dir, "token"), `${token}\n`, { mode: 0o600 });
    const session = randomBytes(32).toString("hex");
    const server = spawn(
      bin,
      [
        ...["match", "serve", "--no-ledger", "--input", path.join(dir, "ours.txt")],
        ...[
          "--type",
          "phone",
          "--port",
          "0",
          "--threads",
          "2",
          "--token-file",
          path.join(dir, "token"),
        ],
      ],
      { cwd: app, stdio: ["ignore", "pipe", "pipe"] },
    );
    try {
      let stderr = "";
      server.stderr?.on("data", (c: Buffer) => (stderr += c.toString()));
      const url = await new Promise<string>((resolve, reject) => {
        createInterface({ input: server.stdout as NodeJS.ReadableStream }).on("line", (line) => {
          const entry = JSON.parse(line) as Record<string, unknown>;
          if (entry["msg"] === "listening") resolve(String(entry["url"]));
        });
        server.once("exit", (code) => reject(new Error(`match serve exited ${code}: ${stderr}`)));
      });
      const r = run(
        bin,
        [
          ...["match", "run", "--no-ledger", "--peer", url, "--session", session],
          ...["--mode", "psi", "--type", "phone", "--input", path.join(dir, "theirs.txt")],
          ...["--token-file", path.join(dir, "token"), "--threads", "2"],
        ],
        app,
      );
      expect(r.code, r.stderr).to.equal(0);
      const result = JSON.parse(r.stdout) as { matches: string[] };
      expect(result.matches).to.deep.equal(["+41791234568"]);
    } finally {
      server.kill("SIGTERM");
    }
  });
});
