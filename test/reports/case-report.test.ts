import { expect } from "chai";
import { execFileSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { writeDeployment } from "../../src/client/index.js";
import { openDatabase } from "../../src/db/db.js";
import type { CaseReport } from "../../src/ledger/queries.js";
import { LANGUAGES, MESSAGES } from "../../src/reports/i18n.js";
import { runVeritrace, startConsortiumNode, type ConsortiumNode } from "../helpers/tracer.js";

/** The text of a PDF as poppler's pdftotext extracts it (UTF-8, in reading order). */
const pdfText = (file: string): string =>
  execFileSync("pdftotext", ["-enc", "UTF-8", file, "-"], { encoding: "utf8" });

/** The same text without any white space: a hash wrapped over two lines is whole again. */
const compact = (text: string): string => text.replace(/\s+/g, "");

describe("veritrace report case: the case report as a PDF", function () {
  it("has every key in both languages, and no empty word", function () {
    const keys = LANGUAGES.map((lang) => Object.keys(MESSAGES[lang]).sort());
    for (const k of keys) expect(k).to.deep.equal(keys[0]);
    for (const lang of LANGUAGES)
      for (const [key, word] of Object.entries(MESSAGES[lang]))
        expect(word.trim(), `${lang} ${key}`).to.not.equal("");
  });

  describe("on an indexed consortium", function () {
    let node: ConsortiumNode;
    let dir: string;
    let db: string;
    /** The case as `veritrace case 1 --json` gives it: what the report must show. */
    let expected: CaseReport;
    const file = (name: string) => path.join(dir, name);
    /** `veritrace report case …` into `out`, at a fixed creation time unless `epoch` says. */
    const report = (args: string[], epoch = "1780000000") =>
      runVeritrace(["report", "case", ...args, "--db", db], { SOURCE_DATE_EPOCH: epoch });

    before(async function () {
      dir = mkdtempSync(path.join(tmpdir(), "veritrace-case-report-"));
      node = await startConsortiumNode("anvil");
      // One case: three requests, two granted and delivered, one denied; a log anchored; closed.
      await node.activity(1, 3);
      writeDeployment(file("deployment.json"), node.record);
      db = file("db");
      const indexed = await runVeritrace([
        ...["index", "--rpc", node.url, "--deployment", file("deployment.json")],
        ...["--db", db],
      ]);
      expect(indexed.code, indexed.stderr).to.equal(0);
      const shown = await runVeritrace(["case", "1", "--json", "--db", db]);
      expect(shown.code, shown.stderr).to.equal(0);
      expected = JSON.parse(shown.stdout) as CaseReport;
      expect(expected.custody.map((e) => e.step)).to.include.members([
        "delivery",
        "acknowledgement",
        "denial",
        "anchor",
        "closure",
      ]);
    });
    after(async function () {
      await node?.stop();
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    });

    /** What both languages must show whole: commitments, every step's tx, key and numbers. */
    function expectTheCase(text: string): void {
      const flat = compact(text).toLowerCase();
      for (const hash of [expected.caseNumberCommitment, expected.legalBasisCommitment])
        expect(flat).to.include(hash.toLowerCase());
      for (const e of expected.custody) {
        expect(flat, `tx of ${e.step}`).to.include(e.txHash.toLowerCase());
        expect(flat, `signer of ${e.step}`).to.include(String(e.signer).toLowerCase());
        expect(flat, `block and log of ${e.step}`).to.include(`${e.blockNumber}/${e.logIndex}`);
        for (const key of ["payloadHash", "root", "subjectCommitment"])
          if (typeof e.details[key] === "string")
            expect(flat, `${key} of ${e.step}`).to.include(String(e.details[key]).toLowerCase());
      }
      // The amounts: records delivered (3 each) and granted (1000 at most), entries anchored.
      const deliveries = expected.custody.filter((e) => e.step === "delivery");
      expect(deliveries).to.have.length(2);
      for (const d of deliveries) expect(String(d.details["recordCount"])).to.equal("3");
      expect(text).to.match(/\b3\b/);
      expect(text).to.match(/\b1000\b/);
    }

    it("writes the English report: the case, every step, the checks and how to verify", async function () {
      const r = await report(["1", "--out", file("en"), "--lang", "en"]);
      expect(r.code, r.stderr).to.equal(0);
      const pdf = file("en/case-1.en.pdf");
      expect(r.stdout).to.match(/^wrote .*case-1\.en\.pdf \(sha256 0x[0-9a-f]{64}\)\n$/);
      const text = pdfText(pdf);
      for (const heading of [
        "Case report 1",
        "1. The case",
        "2. Chain of custody",
        "3. Signature and Merkle checks",
        "4. How to verify this report",
        "Result: every delivery signature verifies.",
        "delivery signed (provider)",
        "access denied",
      ])
        expect(text).to.include(heading);
      expect(text).to.not.match(/[\u4e00-\u9fff]/);
      expect(text.match(/provider: VALID/g)).to.have.length(2);
      expect(text.match(/requester: VALID/g)).to.have.length(2);
      expectTheCase(text);
    });

    it("writes the Chinese report, complete, with its font embedded", async function () {
      const r = await report(["1", "--out", file("zh"), "--lang", "zh", "--json"]);
      expect(r.code, r.stderr).to.equal(0);
      const out = JSON.parse(r.stdout) as { file: string; sha256: string; digest: string };
      expect(out.file).to.equal(file("zh/case-1.zh.pdf"));
      const text = pdfText(out.file);
      for (const heading of [
        "案件报告 1",
        "一、案件",
        "二、证据保管链",
        "三、签名与默克尔校验",
        "四、如何核验本报告",
        "结果：所有交付签名均验证通过。",
        "交付签名（提供方）",
        "拒绝调取",
      ])
        expect(text).to.include(heading);
      // No English word of the tables is left in the Chinese report.
      for (const word of ["Chain of custody", "delivery signed", "Result:", "VALID"])
        expect(text).to.not.include(word);
      expect(text.match(/提供方：有效/g)).to.have.length(2);
      expect(text.match(/请求方：有效/g)).to.have.length(2);
      expectTheCase(text);
      // Every font is embedded (a subset): a reader's machine needs none of them.
      const fonts = execFileSync("pdffonts", [out.file], { encoding: "utf8" })
        .split("\n")
        .slice(2)
        .filter((l) => l.trim() !== "");
      expect(fonts.some((l) => /NotoSansHans/.test(l))).to.equal(true);
      for (const l of fonts) expect(l, l).to.match(/\byes yes yes\b/);
      // The content digest is the same whatever the language.
      const en = await report(["1", "--out", file("en-json"), "--json"]);
      expect((JSON.parse(en.stdout) as { digest: string }).digest).to.equal(out.digest);
    });

    it("renders pages poppler can draw (PNG of page 1 in each language)", async function () {
      for (const lang of LANGUAGES) {
        const pdf = file(`${lang}/case-1.${lang}.pdf`);
        if (!existsSync(pdf))
          expect((await report(["1", "--out", file(lang), "--lang", lang])).code).to.equal(0);
        const png = file(`page-${lang}`);
        execFileSync("pdftoppm", [
          "-png",
          "-r",
          "60",
          "-f",
          "1",
          "-l",
          "1",
          "-singlefile",
          pdf,
          png,
        ]);
        const bytes = readFileSync(`${png}.png`);
        expect(bytes.subarray(1, 4).toString()).to.equal("PNG");
        expect(bytes.length).to.be.above(10_000);
      }
    });

    it("is the same file for the same inputs; only the creation time and /ID follow the time", async function () {
      const a = await report(["1", "--out", file("det-a"), "--lang", "zh"]);
      const b = await report(["1", "--out", file("det-b"), "--lang", "zh"]);
      const c = await report(["1", "--out", file("det-c"), "--lang", "zh"], "1790000000");
      for (const r of [a, b, c]) expect(r.code, r.stderr).to.equal(0);
      const [pa, pb, pc] = ["det-a", "det-b", "det-c"].map((d) =>
        readFileSync(file(`${d}/case-1.zh.pdf`)),
      );
      expect(pa?.equals(pb ?? Buffer.alloc(0)), "same time, same bytes").to.equal(true);
      expect(pa?.equals(pc ?? Buffer.alloc(0))).to.equal(false);
      const timeless = (p: Buffer | undefined) =>
        (p ?? Buffer.alloc(0))
          .toString("latin1")
          .replace(/\(D:\d{14}Z\)/g, "(D:…)")
          .replace(/\/ID \[<[0-9a-f]+> <[0-9a-f]+>\]/g, "/ID […]");
      expect(timeless(pa)).to.equal(timeless(pc));
      expect(timeless(pa)).to.not.equal(pa?.toString("latin1"));
    });

    it("refuses bad input in one line, and writes nothing", async function () {
      const out = file("refused");
      const cases: [string[], number, RegExp][] = [
        [["42", "--out", out], 1, /^veritrace report case: unknown case 42$/],
        [["1", "--out", out, "--lang", "fr"], 2, /--lang must be one of en, zh, got "fr"/],
        [["1"], 2, /--out is required/],
        [["1 OR 1=1", "--out", out], 2, /expected a case/],
        [["1", "--out", file("deployment.json/sub")], 1, /is not a directory/],
      ];
      for (const [args, code, message] of cases) {
        const r = await report(args);
        expect(r.code, args.join(" ")).to.equal(code);
        const lines = r.stderr.split("\n").filter((l) => l !== "");
        expect(lines, r.stderr).to.have.length(1);
        expect(lines[0]).to.match(message);
        expect(r.stdout).to.equal("");
        expect(existsSync(out), "the --out directory was made").to.equal(false);
      }
      const bad = await runVeritrace(["report", "case", "1", "--out", out, "--db", db], {
        SOURCE_DATE_EPOCH: "yesterday",
      });
      expect(bad.code).to.equal(2);
      expect(bad.stderr).to.match(/SOURCE_DATE_EPOCH must be seconds/);
    });

    it("leaves no temporary file, and replaces an older report whole", async function () {
      const out = file("again");
      expect((await report(["1", "--out", out])).code).to.equal(0);
      writeFileSync(path.join(out, "case-1.en.pdf"), "old");
      expect((await report(["1", "--out", out])).code).to.equal(0);
      expect(readdirSync(out)).to.deep.equal(["case-1.en.pdf"]);
      expect(readFileSync(path.join(out, "case-1.en.pdf")).subarray(0, 5).toString()).to.equal(
        "%PDF-",
      );
    });

    it("shows a delivery signature altered in the store as INVALID, and exits 1", async function () {
      // A copy of the store in which delivery 1's provider signature has one hex digit changed.
      const forged = file("forged-db");
      cpSync(db, forged, { recursive: true });
      const sql = await openDatabase(forged, { mustExist: true });
      try {
        const [row] = await sql.query<{ sig: string }>(
          "SELECT args->'provider'->>'signature' AS sig FROM events WHERE event = 'DeliveryAttested' AND delivery_id = 1",
        );
        const sig = row?.sig ?? "";
        const changed = `${sig.slice(0, 10)}${sig[10] === "0" ? "1" : "0"}${sig.slice(11)}`;
        await sql.query(
          "UPDATE events SET args = jsonb_set(args, '{provider,signature}', to_jsonb($1::text)) WHERE event = 'DeliveryAttested' AND delivery_id = 1",
          [changed],
        );
      } finally {
        await sql.close();
      }
      for (const lang of LANGUAGES) {
        const r = await runVeritrace(
          ["report", "case", "1", "--out", file(`forged-${lang}`), "--lang", lang, "--db", forged],
          { SOURCE_DATE_EPOCH: "1780000000" },
        );
        expect(r.code, r.stderr).to.equal(1);
        expect(r.stdout).to.match(/signature check FAILED for deliveries 1 \(see the report\)/);
        const text = pdfText(file(`forged-${lang}/case-1.${lang}.pdf`));
        if (lang === "en") {
          expect(text.match(/provider: INVALID/g)).to.have.length(1);
          expect(text).to.include(
            "Result: VERIFICATION FAILED for at least one delivery signature.",
          );
        } else {
          expect(text.match(/提供方：无效/g)).to.have.length(1);
          expect(text).to.include("结果：至少一项交付签名验证失败。");
        }
      }
    });
  });
});
