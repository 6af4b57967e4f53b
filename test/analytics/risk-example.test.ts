/**
 * docs/risk.md's "Commands" example is real: `npm run example:risk` (scripts/risk-example.ts)
 * replays the worked example on a fresh anvil node with the real TagPacks and prints the command
 * and its output, which must be the docs' console block byte for byte, and must say what the
 * worked example says once Tornado Cash counts as sanctioned (OFAC's list names it).
 */
import { execFile } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { expect } from "chai";
import { ROOT } from "../helpers/tracer.js";

const run = promisify(execFile);

const TAGPACKS = path.resolve(ROOT, "..", "shared", "data", "tagpacks");
const TORNADO = "0x910cbd523d972eb0a6f4cae4618ad62622b39dbf";
/** TestToken deployed by anvil's account 0 as its first transaction. */
const TOKEN = "0x5fbdb2315678afecb367f032d93f642f64180aa3";

/** The console block of docs/risk.md's "Commands" section, with its final newline. */
function docsExample(): string {
  const doc = readFileSync(path.join(ROOT, "docs", "risk.md"), "utf8");
  const section = doc.slice(doc.indexOf("\n## Commands\n"));
  const open = "```console\n";
  const start = section.indexOf(open);
  expect(start, "a console block in the Commands section").to.be.greaterThan(0);
  const end = section.indexOf("\n```\n", start);
  expect(end, "the console block's end").to.be.greaterThan(start);
  return section.slice(start + open.length, end + 1);
}

const leftovers = () =>
  readdirSync(os.tmpdir()).filter((f) => f.startsWith("veritrace-risk-example-"));

describe("docs/risk.md's command example (npm run example:risk)", function () {
  this.timeout(300_000);

  let stdout: string;
  let tmpBefore: string[];

  before(async function () {
    tmpBefore = leftovers();
    ({ stdout } = await run(
      process.execPath,
      [path.join(ROOT, "node_modules", "tsx", "dist", "cli.mjs"), "scripts/risk-example.ts"],
      { cwd: ROOT, encoding: "utf8", timeout: 240_000 },
    ));
  });

  it("prints exactly the docs' console block", function () {
    expect(stdout).to.equal(docsExample());
  });

  it("shows the command as typed from the repository's root, with the TagPacks", function () {
    const command = stdout.slice(0, stdout.indexOf("\n0x"));
    expect(command).to.match(/^\$ veritrace risk 0x[0-9a-f]{40} \\\n/);
    expect(command).to.include(`--rpc http://127.0.0.1:8545 --token ${TOKEN}`);
    for (const pack of ["ofac", "tornado_cash", "ronin_bridge", "etherscamdb_tagpack"])
      expect(command).to.include(`--labels ../shared/data/tagpacks/${pack}.yaml`);
  });

  it("scores the deposit address 100, severe, on 100,000 received", function () {
    const lines = stdout.split("\n");
    const header = lines.find((l) => l.includes(" on chain 31337, "));
    expect(header).to.match(
      new RegExp(
        `^0x[0-9a-f]{40} on chain 31337, ${TOKEN}, blocks 0–\\d+, 3 hops: score 100/100, SEVERE$`,
      ),
    );
    expect(lines).to.include("received 100,000");
  });

  it("finds phishing 10,000 direct, sanctioned 15,000 and hack 5,000 indirect, with their points", function () {
    const rows = stdout
      .split("\n")
      .map((l) => l.trim().split(/\s+/))
      .filter((cells) => cells.length === 5 && /^\d+\.\d\d%$/.test(cells[3] ?? ""));
    expect(rows).to.deep.equal([
      ["phishing", "10,000", "0", "10.00%", "70.00"],
      ["sanctioned", "0", "15,000", "15.00%", "50.00"],
      ["hack", "0", "5,000", "5.00%", "22.50"],
    ]);
    expect(stdout).not.to.match(/^mixer /m);
  });

  it("names the labeled sources of the paths: OFAC's list for Tornado Cash, Ronin, EtherScamDB", function () {
    const paths = stdout.slice(stdout.indexOf("largest paths\n")).split("\n").slice(1, -1);
    expect(paths).to.have.length(3);
    expect(paths[0]).to.match(
      /^ {2}phishing 10,000 from myelherwallel\.com: 0x[0-9a-f]{8}… 0xd0cc2b…→/,
    );
    expect(paths[1]).to.match(
      /^ {2}sanctioned 15,000 from Asset listed under US Treasury OFAC Sanctions List: 0x[0-9a-f]{8}… 0x910cbd…→.* 30,000 ⇒ .* 20,000$/,
    );
    expect(paths[2]).to.match(
      /^ {2}hack 5,000 from Ronin bridge exploiter 4: 0x[0-9a-f]{8}… 0x29fc9b…→.* 10,000 ⇒ .* 20,000$/,
    );
  });

  it("uses a Tornado Cash address that OFAC's list names too", function () {
    for (const pack of ["tornado_cash.yaml", "ofac.yaml"])
      expect(readFileSync(path.join(TAGPACKS, pack), "utf8").toLowerCase()).to.include(TORNADO);
  });

  it("leaves no temporary store behind", function () {
    expect(leftovers()).to.deep.equal(tmpBefore);
  });
});
