import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { oneLine } from "../../src/shared/format.js";
import { ROOT, runVeritrace } from "../helpers/tracer.js";

describe("veritrace: command-line conventions", function () {
  let tmp: string;
  let dbCount = 0;
  /** A --db directory that does not exist yet. */
  const newDb = () => path.join(tmp, `db-${++dbCount}`);

  before(function () {
    tmp = mkdtempSync(path.join(os.tmpdir(), "veritrace-conventions-"));
  });
  after(function () {
    rmSync(tmp, { recursive: true, force: true });
  });

  it("--version prints the package's version", async function () {
    const { version } = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
      version: string;
    };
    for (const flag of ["--version", "-V"]) {
      const r = await runVeritrace([flag]);
      expect([r.code, r.stdout]).to.deep.equal([0, `veritrace ${version}\n`]);
    }
  });

  it("a command group alone lists its subcommands (exit 2), with --help too (exit 0)", async function () {
    const match = await runVeritrace(["match"]);
    expect(match.code).to.equal(2);
    for (const sub of ["serve", "run", "blind", "respond", "finish", "cosign", "record"]) {
      expect(match.stdout).to.match(new RegExp(`^  ${sub} +\\S`, "m"));
    }
    const verify = await runVeritrace(["verify", "--help"]);
    expect(verify.code).to.equal(0);
    expect(verify.stdout)
      .to.match(/^ {2}delivery +re-check/m)
      .and.match(/^ {2}entry +check/m);
    const labels = await runVeritrace(["labels"]);
    expect(labels.stdout)
      .to.match(/^ {2}import /m)
      .and.match(/^ {2}show /m);
  });

  describe("read commands given bad input refuse before creating a store", function () {
    const cases: [string, string[], number, RegExp][] = [
      ["a case id that is SQL", ["case", "1' OR '1'='1"], 2, /expected a case: a decimal id or/],
      ["an institution that is no address", ["institution", "0xZZ"], 2, /got "0xZZ"/],
      ["a subject that is no commitment", ["subject", "0x12"], 2, /expected a subject/],
      ["a delivery id that is no number", ["verify", "delivery", "abc"], 2, /a decimal id/],
      [
        "an anchor id that is no number",
        ["verify", "entry", "--anchor", "x", "--entry", "e.json"],
        2,
        /expected an anchor/,
      ],
      ["a TagPack that does not exist", ["labels", "import", "missing.yaml"], 1, /cannot read/],
    ];
    for (const [what, args, code, message] of cases) {
      it(what, async function () {
        const db = newDb();
        const r = await runVeritrace([...args, "--db", db]);
        expect(r.code, r.stderr).to.equal(code);
        const lines = r.stderr.split("\n").filter((l) => l !== "");
        expect(lines).to.have.length(1);
        expect(lines[0]).to.match(message);
        expect(existsSync(db), "a store was created").to.equal(false);
      });
    }

    it("a well-formed question to a store that does not exist", async function () {
      for (const args of [["case", "1"], ["anomalies"], ["freezes"], ["labels", "show", "0x1"]]) {
        const db = newDb();
        const r = await runVeritrace([...args, "--db", db]);
        expect(r.code, args.join(" ")).to.equal(1);
        expect(r.stderr.trim()).to.match(new RegExp(`: no store in ${db}: fill one first`));
        expect(existsSync(db), "a store was created").to.equal(false);
      }
    });

    it("a bad TagPack among good ones", async function () {
      const bad = path.join(tmp, "bad.yaml");
      writeFileSync(bad, "title: t\ncreator: c\ntags: []\n");
      const db = newDb();
      const r = await runVeritrace(["labels", "import", bad, "--db", db]);
      expect(r.code).to.equal(1);
      expect(r.stderr).to.match(/tags: the list is empty/);
      expect(existsSync(db)).to.equal(false);
    });
  });

  it("an error line never echoes a 100 KB argument", async function () {
    const huge = "x".repeat(100_000);
    for (const args of [
      ["case", huge],
      ["nosuchcommand", huge],
      ["institution", `0x${huge}`],
    ]) {
      const r = await runVeritrace([...args, "--db", newDb()]);
      expect(r.code).to.not.equal(0);
      expect(r.stderr.trim().split("\n")).to.have.length(1);
      expect(r.stderr.length, args[0]).to.be.below(600);
    }
  });

  it("oneLine keeps a message's start and end and says how much it left out", function () {
    expect(oneLine("short")).to.equal("short");
    expect(oneLine("two\nlines\r\n  here")).to.equal("two lines here");
    const long = `start ${"y".repeat(10_000)} end`;
    const line = oneLine(long);
    expect(line.length).to.be.below(460);
    expect(line).to.match(/^start y+ …\(\d+ characters left out\)… y+ end$/);
  });

  describe("- for stdin, wherever a file is read", function () {
    const ADDRESS = `0x${"11".repeat(20)}`;
    /** A node where nothing listens: every case below ends before it is asked. */
    const NOWHERE = "http://127.0.0.1:9";
    const dash = path.join(ROOT, "-");

    /** The error lines: one, naming the command. */
    function oneLineError(r: { code: number | null; stdout: string; stderr: string }): string {
      const lines = r.stderr.split("\n").filter((l) => l !== "");
      expect(lines, r.stderr).to.have.length(1);
      expect(r.stdout).to.equal("");
      return lines[0] ?? "";
    }

    it("reads --config, --tokens, --deployment and --lists from stdin as from the file: the same answer, naming stdin", async function () {
      const write = (name: string, text: string) => {
        const file = path.join(tmp, name);
        writeFileSync(file, text);
        return file;
      };
      const cases: [string, string[], string, number][] = [
        [
          write("risk.json", '{"saturation": 0}\n'),
          ["risk", ADDRESS, "--rpc", NOWHERE, "--config"],
          "--db",
          2,
        ],
        [
          write("screen-risk.json", '{"saturation": 0}\n'),
          ["screen", write("one.txt", `${ADDRESS}\n`), "--rpc", NOWHERE, "--config"],
          "--db",
          2,
        ],
        [
          write("tokens", "# API tokens\nanalyst short\n"),
          ["serve", "--no-web", "--tokens"],
          "--db",
          1,
        ],
        [
          write("deployment.json", '{"version": 1'),
          ["index", "--rpc", NOWHERE, "--deployment"],
          "--db",
          1,
        ],
        [
          write("deployment-2.json", '{"version": 1}'),
          ["serve", "--insecure-local", "--follow", "--rpc", NOWHERE, "--deployment"],
          "--db",
          1,
        ],
        [write("list.json", '{"version": 2}'), ["freezes", "--lists"], "--db", 1],
      ];
      for (const [file, args, dbOption, code] of cases) {
        const db = newDb();
        const fromFile = await runVeritrace([...args, file, dbOption, db]);
        const fromStdin = await runVeritrace([...args, "-", dbOption, db], {}, readFileSync(file));
        expect([fromFile.code, fromStdin.code], args.join(" ")).to.deep.equal([code, code]);
        const line = oneLineError(fromFile);
        expect(line, args.join(" ")).to.include(file);
        expect(oneLineError(fromStdin)).to.equal(line.replaceAll(file, "stdin"));
        expect(existsSync(db), "a store was created").to.equal(false);
      }
      expect(existsSync(dash), "a file named -").to.equal(false);
    });

    it("refuses a second -, - for a signing command's files and for the access log: one usage line, exit 2, nothing created", async function () {
      const cases: [string[], RegExp][] = [
        [
          ["serve", "--tokens", "-", "--follow", "--rpc", NOWHERE, "--deployment", "-"],
          /^veritrace serve: only one input can be - \(stdin\), which is read once; got - for --tokens and --deployment$/,
        ],
        [
          ["screen", "-", "--rpc", NOWHERE, "--config", "-"],
          /^veritrace screen: only one input can be - \(stdin\), which is read once; got - for --config and FILE$/,
        ],
        [
          ["risk", ADDRESS, "--rpc", NOWHERE, "--labels", "-", "--config", "-"],
          /^veritrace risk: only one input can be - \(stdin\), which is read once; got - for --labels and --config$/,
        ],
        [
          ["access-log", "anchor", "--log", "-", "--rpc", NOWHERE, "--deployment", "-"],
          /^veritrace access-log anchor: --deployment cannot be - \(stdin\): a command that signs reads the deployment record from a file; stdin is left for the log$/,
        ],
        [
          ["access-log", "anchor", "--log", "-", "--rpc", NOWHERE, "--keystore", "-"],
          /^veritrace access-log anchor: --keystore cannot be - \(stdin\): a secret is read from a file of its own/,
        ],
        [
          ["serve", "--insecure-local", "--access-log", "-"],
          /^veritrace serve: --access-log cannot be - \(stdout\): the access log is a file the server keeps/,
        ],
      ];
      for (const [args, message] of cases) {
        const db = newDb();
        // access-log anchor has no store.
        const store = args[0] === "access-log" ? [] : ["--db", db];
        const r = await runVeritrace([...args, ...store], {}, '{"version": 1}\n');
        expect(r.code, r.stderr).to.equal(2);
        expect(oneLineError(r)).to.match(message);
        expect(existsSync(db), "a store was created").to.equal(false);
      }
      expect(existsSync(dash), "a file named -").to.equal(false);
    });
  });

  it("verify distinguishes could not check (exit 3) from does not verify (exit 1)", async function () {
    // An entry file that can't be read: nothing could be checked.
    const r = await runVeritrace([
      "verify",
      "entry",
      "--anchor",
      "1",
      "--entry",
      path.join(tmp, "no-such-entry.json"),
      "--db",
      newDb(),
    ]);
    expect(r.code, r.stderr).to.equal(3);
    expect(r.stderr).to.match(/^veritrace verify entry: could not check: .*no-such-entry\.json/);
    const noStore = await runVeritrace(["verify", "delivery", "1", "--db", newDb()]);
    expect(noStore.code, noStore.stderr).to.equal(3);
    expect(noStore.stderr).to.match(/^veritrace verify delivery: could not check: no store in /);
  });
});

describe("veritrace: the command table", function () {
  it("loads, for every line, the command of that name from its module", async function () {
    const { COMMANDS } = await import("../../src/cli/commands.js");
    expect(COMMANDS.length).to.be.greaterThan(20);
    expect(new Set(COMMANDS.map((c) => c.name)).size).to.equal(COMMANDS.length);
    for (const entry of COMMANDS) {
      const command = await entry.load();
      expect(command.name, entry.name).to.equal(entry.name);
      expect(entry.summary, entry.name).to.match(/^[a-z].{10,100}$/);
      expect(command.usage, entry.name).to.be.a("string");
    }
  });

  it("names the RPC headers' variable in the help of a command that reads a node, as the RPC client reads it", async function () {
    const { RPC_HEADERS_ENV } = await import("../../src/chain/rpc.js");
    const help = await runVeritrace(["index", "--help"]);
    expect(help.code).to.equal(0);
    expect(help.stdout).to.include(`also ${RPC_HEADERS_ENV}, one header per line`);
  });
});
