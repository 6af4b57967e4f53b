/**
 * Address labels from GraphSense TagPacks: the nine real TagPacks in ../shared/data/tagpacks
 * (graphsense/graphsense-tagpacks, MIT License, Iknaio Cryptoasset Analytics GmbH: read in
 * place, never copied) imported into PGlite and into a PostgreSQL server, and malformed packs
 * written to a temporary directory.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "chai";
import type { Values } from "../../src/cli/command.js";
import { TracerError, UsageError } from "../../src/shared/errors.js";
import { RISK_CATEGORIES, riskCategory } from "../../src/analytics/labels/categories.js";
import {
  DEFAULT_EXITS,
  exitKindOf,
  exitLabelText,
  readExitCategories,
} from "../../src/analytics/funds/exits.js";
import { engineLabel } from "../../src/analytics/funds/run.js";
import { labelsImportCommand, labelsShowCommand } from "../../src/cli/commands/labels.js";
import {
  importTagPacks,
  labelOf,
  labelStats,
  labelsFor,
  mergeLabels,
  primaryLabel,
  type ChainLabel,
  type ImportResult,
  type Label,
} from "../../src/analytics/labels/store.js";
import { parseTagPack } from "../../src/analytics/labels/tagpack.js";
import { openDatabase, openMemoryDatabase, type Database } from "../../src/db/db.js";
import { Store } from "../../src/db/store.js";
import { runVeritrace } from "../helpers/tracer.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
/** The real TagPacks, next to the repository (CI has them there). */
const TAGPACKS = path.resolve(ROOT, "..", "shared", "data", "tagpacks");
const POSTGRES_URL =
  process.env["VERITRACE_TEST_POSTGRES_URL"] ?? "postgres://root@127.0.0.1:5432/test";

const TORNADO_ROUTER = "0x722122dF12D4e14e13Ac3b6895a86e84145b6967";
const OFAC_ETH = "0x8576acc5c05d6ce88f4e49bf65bdf0c62f91353c";
const BINANCE_14 = "0x28c6c06298d514db089934071355e5743bf21d60";
const RONIN_EXPLOITER = "0x098B716B8Aaf21512996dC57EB0615e2383E2f96";
const SCAM_CHECKSUMMED = "0xD0cC2B24980CBCCA47EF755Da88B220a82291407";
const BINANCE_BTC = "34xp4vRoCGJym3xR7yCVPFHoCNxv4Twseo";
const BINANCE_TRX = "TV6MuMXfmLbBqPZvBHdwFsDnQeVfnmiuSi";
const BINANCE_BEP2 = "bnb1edrs5cukhx060e02u98v9j8spum7vhuqg9ctxd";

/** The error a promise rejects with (fails the test if it resolves). */
async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected a rejection");
}

/** The error a function throws (fails the test if it returns). */
function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected an error");
}

/** The real files, and the addresses of their `- address:` entries as written, counted here. */
function realPacks(): { file: string; name: string; addresses: string[] }[] {
  return readdirSync(TAGPACKS)
    .filter((f) => f.endsWith(".yaml"))
    .sort()
    .map((name) => {
      const file = path.join(TAGPACKS, name);
      const text = readFileSync(file, "utf8");
      const addresses = [...text.matchAll(/^- address: *'?([^'\n]*)'?$/gm)].map((m) => m[1] ?? "");
      return { file, name, addresses };
    });
}

const HEADER = "title: Test pack\ncreator: Veritrace tests\nsource: https://example.org/list\n";

function labelsOf(map: Map<string, Label[]>, address: string): Label[] {
  return map.get(address) ?? [];
}

async function countLabels(db: Database): Promise<number> {
  const [row] = await db.query<{ n: string | number }>("SELECT count(*) AS n FROM labels");
  return Number(row?.n ?? 0);
}

async function sourceFiles(db: Database): Promise<string[]> {
  const rows = await db.query<{ file: string }>("SELECT file FROM label_sources ORDER BY file");
  return rows.map((r) => r.file);
}

describe("TagPack labels", function () {
  let tmp: string;
  let packCount = 0;
  /** Writes a TagPack to the temporary directory; returns its path. */
  const pack = (body: string, name = `pack-${++packCount}.yaml`): string => {
    const file = path.join(tmp, name);
    writeFileSync(file, body);
    return file;
  };

  before(function () {
    tmp = mkdtempSync(path.join(os.tmpdir(), "veritrace-labels-"));
  });
  after(function () {
    rmSync(tmp, { recursive: true, force: true });
  });

  describe("riskCategory", function () {
    it("maps every category and abuse of the real TagPacks", function () {
      expect(riskCategory("exchange", null)).to.equal("exchange");
      expect(riskCategory("mixing_service", null)).to.equal("mixer");
      expect(riskCategory("black_list", null)).to.equal("sanctioned");
      expect(riskCategory("user", "sanction")).to.equal("sanctioned");
      expect(riskCategory(null, "phishing")).to.equal("phishing");
      expect(riskCategory(null, "scam")).to.equal("scam");
      expect(riskCategory(null, "investment_fraud")).to.equal("scam");
      expect(riskCategory(null, "service_hack")).to.equal("hack");
      for (const neutral of ["user", "gambling", "miner", "wallet_service", null])
        expect(riskCategory(neutral, null), String(neutral)).to.equal("other");
    });

    it("maps the rest of the taxonomy the tracer cares about", function () {
      expect(riskCategory("defi_bridge", null)).to.equal("bridge");
      expect(riskCategory(null, "ransomware")).to.equal("ransomware");
      expect(riskCategory(null, "dark_web")).to.equal("darknet");
      expect(riskCategory("coinjoin", null)).to.equal("mixer");
      expect(riskCategory(null, "sextortion")).to.equal("scam");
      expect(riskCategory("market", "terrorism")).to.equal("other");
    });

    it("reads terms in any case, with spaces or hyphens between words", function () {
      expect(riskCategory(" Mixing Service ", null)).to.equal("mixer");
      expect(riskCategory("DeFi-Bridge", null)).to.equal("bridge");
      expect(riskCategory("constructor", "__proto__")).to.equal("other");
    });

    it("takes the more severe of category and abuse", function () {
      expect(riskCategory("exchange", "service_hack")).to.equal("hack");
      expect(riskCategory("mixing_service", "sanction")).to.equal("sanctioned");
      expect(riskCategory("ransomware", "phishing")).to.equal("ransomware");
    });

    it("makes a government sanctions list source sanctioned only when the terms say nothing", function () {
      const sdn = "https://www.treasury.gov/ofac/downloads/sdnlist.txt";
      const action =
        "https://home.treasury.gov/policy-issues/financial-sanctions/recent-actions/20220808";
      expect(riskCategory("user", null, sdn)).to.equal("sanctioned");
      expect(riskCategory(null, null, action)).to.equal("sanctioned");
      expect(riskCategory("mixing_service", null, action)).to.equal("mixer");
      expect(riskCategory("user", null, "https://example.org/sanctions")).to.equal("other");
      expect(riskCategory("user", null, "not a url")).to.equal("other");
    });
  });

  describe("parseTagPack", function () {
    it("gives every tag the header's fields unless it sets its own", function () {
      const parsed = parseTagPack(
        `${HEADER}description: d\nlastmod: 2024-02-26\nis_public: true\ncurrency: ETH\n` +
          `category: exchange\nconfidence: service_data\nlabel: Header label\ntags:\n` +
          `- address: '0x${"11".repeat(20)}'\n` +
          `- address: '0x${"22".repeat(20)}'\n  label: Own label\n  category: defi_bridge\n` +
          `  source: https://example.org/own\n  confidence: forensic\n`,
        "p.yaml",
      );
      expect(parsed.header).to.deep.include({
        title: "Test pack",
        creator: "Veritrace tests",
        description: "d",
        lastmod: "2024-02-26",
        isPublic: true,
      });
      expect(parsed.warnings).to.deep.equal([]);
      expect(parsed.tags).to.have.length(2);
      expect(parsed.tags[0]).to.deep.include({
        index: 1,
        label: "Header label",
        category: "exchange",
        risk: "exchange",
        confidence: "service_data",
        source: "https://example.org/list",
        currency: "ETH",
        network: "ethereum",
        isEvm: true,
      });
      expect(parsed.tags[0]?.extra).to.deep.equal({ lastmod: "2024-02-26" });
      expect(parsed.tags[1]).to.deep.include({
        index: 2,
        label: "Own label",
        category: "defi_bridge",
        risk: "bridge",
        confidence: "forensic",
        source: "https://example.org/own",
      });
    });

    it("lets a tag clear an inherited optional field with an empty value", function () {
      const parsed = parseTagPack(
        `${HEADER}currency: BTC\nlabel: l\nabuse: scam\ntags:\n- address: 1BoatSLRHtKNngkdXEeobR76b53LETtpyT\n  abuse:\n`,
        "p.yaml",
      );
      expect(parsed.tags[0]).to.deep.include({ abuse: null, risk: "other" });
    });

    it("keeps every scalar as text: unquoted 0x addresses, numbers and dates are not converted", function () {
      const address = "0x8589427373D6D84E98730D7795D8f6f8731FDA16";
      const parsed = parseTagPack(
        `${HEADER}currency: ETH\nlabel: 1e3\ntags:\n- address: ${address}\n  context: 2022-08-08\n`,
        "p.yaml",
      );
      expect(parsed.tags[0]).to.deep.include({ address: address.toLowerCase(), label: "1e3" });
      expect(parsed.tags[0]?.extra).to.deep.equal({ context: "2022-08-08" });
    });

    it("accepts network instead of currency, and maps currencies and networks to one name", function () {
      const parsed = parseTagPack(
        `${HEADER}label: l\ntags:\n` +
          `- address: '0x${"11".repeat(20)}'\n  network: ETH\n` +
          `- address: '0x${"12".repeat(20)}'\n  network: ethereum\n  currency: usdt\n` +
          `- address: TV6MuMXfmLbBqPZvBHdwFsDnQeVfnmiuSi\n  currency: TRX\n` +
          `- address: '0x${"33".repeat(20)}'\n  currency: BEP20\n` +
          `- address: bnb1edrs5cukhx060e02u98v9j8spum7vhuqg9ctxd\n  currency: BEP2\n` +
          `- address: LZ2Rz5k6rRc1bwiAXTzDq1dK3MTdaB5Xb1\n  currency: LTC\n`,
        "p.yaml",
      );
      expect(parsed.tags.map((t) => [t.currency, t.network, t.isEvm])).to.deep.equal([
        ["ETH", "ethereum", true],
        ["USDT", "ethereum", true],
        ["TRX", "tron", false],
        ["BEP20", "bsc", true],
        ["BEP2", "bnb_beacon_chain", false],
        ["LTC", "litecoin", false],
      ]);
      expect(parsed.warnings).to.deep.equal([]);
    });

    it("infers the network of a multi-network token from each address, with one warning", function () {
      const parsed = parseTagPack(
        `${HEADER}label: l\ncurrency: USDT\ntags:\n` +
          `- address: '0x${"ab".repeat(20)}'\n- address: TV6MuMXfmLbBqPZvBHdwFsDnQeVfnmiuSi\n` +
          `- address: 1BoatSLRHtKNngkdXEeobR76b53LETtpyT\n`,
        "p.yaml",
      );
      expect(parsed.tags.map((t) => [t.network, t.isEvm])).to.deep.equal([
        ["ethereum", true],
        ["tron", false],
        ["bitcoin", false],
      ]);
      expect(parsed.warnings).to.deep.equal([
        "currency USDT is a token on several networks: each tag's network inferred from its address (1 ethereum, 1 tron, 1 bitcoin); set network to be explicit",
      ]);
    });

    it("keeps an unknown currency as its network, EVM only if the address is", function () {
      const parsed = parseTagPack(
        `${HEADER}label: l\ncurrency: FOO\ntags:\n- address: '0x${"AB".repeat(20)}'\n- address: foo:1\n`,
        "p.yaml",
      );
      expect(parsed.tags.map((t) => [t.address, t.network, t.isEvm])).to.deep.equal([
        [`0x${"ab".repeat(20)}`, "foo", true],
        ["foo:1", "foo", false],
      ]);
      expect(parsed.warnings).to.deep.equal([
        'unknown currency or network "foo" (tags 1 and 2): stored as network "foo", EVM only if the address is',
      ]);
    });

    it("keeps unknown fields in extra, with one warning per field name", function () {
      const parsed = parseTagPack(
        `${HEADER}currency: BTC\nlabel: l\nanalyst: alice\nis_cluster_definer: true\ntags:\n` +
          `- address: 1BoatSLRHtKNngkdXEeobR76b53LETtpyT\n  note: first\n  context: '{"a": 1}'\n` +
          `- address: 1dice8EMZmqKvrGE4Qc9bUFf9PX3xaYDp\n  note: second\n  colour: [red]\n`,
        "p.yaml",
      );
      expect(parsed.tags.map((t) => t.extra)).to.deep.equal([
        { analyst: "alice", is_cluster_definer: true, note: "first", context: '{"a": 1}' },
        { analyst: "alice", is_cluster_definer: true, note: "second", colour: ["red"] },
      ]);
      expect(parsed.warnings).to.deep.equal([
        'unknown field "analyst" in the header, inherited by every tag: kept in extra',
        'unknown field "note" (tags 1 and 2): kept in extra',
        'unknown field "colour" (tag 2): kept in extra',
      ]);
    });

    it("keeps one tag per address, network and label (any case), and reports the others", function () {
      const lower = `0x${"ab".repeat(20)}`;
      const checksummed = "0xABaBaBaBABabABabAbAbABAbABabababaBaBABaB";
      const parsed = parseTagPack(
        `${HEADER}currency: ETH\ntags:\n` +
          `- address: '${lower}'\n  label: Scam site\n` +
          `- address: '${checksummed}'\n  label: scam SITE\n` +
          `- address: '${lower}'\n  label: Another site\n` +
          `- address: '${lower}'\n  label: Scam site\n  currency: BEP20\n`,
        "p.yaml",
      );
      expect(parsed.tags.map((t) => [t.index, t.label, t.network])).to.deep.equal([
        [1, "Scam site", "ethereum"],
        [3, "Another site", "ethereum"],
        [4, "Scam site", "bsc"],
      ]);
      expect(parsed.warnings).to.deep.equal([
        "1 duplicate tag dropped (same address, network and label as an earlier tag, which is kept): tag 2 = tag 1",
      ]);
    });

    it("warns about unknown confidence names, misplaced addresses and keyless addresses", function () {
      const parsed = parseTagPack(
        `${HEADER}label: l\ntags:\n` +
          `- address: TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq\n  currency: BTC\n  confidence: manual\n` +
          `- address: '0x0000000000000000000000000000000000000000'\n  currency: ETH\n` +
          `- address: ' 1BoatSLRHtKNngkdXEeobR76b53LETtpyT '\n  currency: BTC\n`,
        "p.yaml",
      );
      expect(parsed.tags.map((t) => t.address)).to.deep.equal([
        "TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq",
        "0x0000000000000000000000000000000000000000",
        "1BoatSLRHtKNngkdXEeobR76b53LETtpyT",
      ]);
      expect(parsed.warnings).to.deep.equal([
        `confidence "manual" (tag 1) is not one of GraphSense's confidence names: kept as written`,
        "whitespace around the address of tag 3: trimmed",
        "1 address not in the format of its network, kept as written: tag 1 (TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq: bitcoin, looks like tron)",
        "tag 2 label addresses no one holds a key for (the zero address, precompiles): kept, but every mint or burn through them will match",
      ]);
    });

    describe("rejects, naming the file, the tag and the field", function () {
      const cases: [string, string, string][] = [
        [
          "a tag without an address",
          `${HEADER}label: l\ncurrency: BTC\ntags:\n- address: 1BoatSLRHtKNngkdXEeobR76b53LETtpyT\n- label: x\n`,
          "tag 2: address is missing (every tag needs one)",
        ],
        [
          "a transaction tag",
          `${HEADER}label: l\ncurrency: ETH\ntags:\n- tx_hash: '0x${"00".repeat(32)}'\n`,
          "tag 1: address is missing (tags of a transaction (tx_hash) are not supported, only tags of an address)",
        ],
        [
          "a header without a title",
          "creator: c\nsource: s\nlabel: l\ncurrency: BTC\ntags:\n- address: a\n",
          "header: title is missing",
        ],
        [
          "a header without a creator",
          "title: t\ncreator: ''\nsource: s\nlabel: l\ncurrency: BTC\ntags:\n- address: a\n",
          "header: creator is missing",
        ],
        [
          "no label in the tag nor in the header",
          `${HEADER}currency: BTC\ntags:\n- address: 1BoatSLRHtKNngkdXEeobR76b53LETtpyT\n`,
          "tag 1 (address 1BoatSLRHtKNngkdXEeobR76b53LETtpyT): label is missing (set it in the tag or in the header)",
        ],
        [
          "no source",
          "title: t\ncreator: c\nlabel: l\ncurrency: BTC\ntags:\n- address: a\n",
          "tag 1 (address a): source is missing (set it in the tag or in the header)",
        ],
        [
          "neither currency nor network",
          `${HEADER}label: l\ntags:\n- address: a\n`,
          "tag 1 (address a): currency is missing (set currency or network, in the tag or in the header)",
        ],
        [
          "a label that is a list",
          `${HEADER}currency: BTC\ntags:\n- address: a\n  label: [x, y]\n`,
          "tag 1 (address a): label must be text, got a list",
        ],
        [
          "a header field of the wrong kind",
          `${HEADER}currency: BTC\nlabel: {a: b}\ntags:\n- address: a\n`,
          "tag 1 (address a): label must be text, got a mapping (inherited from the header)",
        ],
        [
          "an EVM tag with a short address",
          `${HEADER}label: l\ncurrency: ETH\ntags:\n- address: '0x1234'\n`,
          "tag 1 (address 0x1234): address is not a valid EVM address (currency ETH, network ethereum): expected 0x and 40 hex digits",
        ],
        [
          "an EVM token tag with a Bitcoin address",
          `${HEADER}label: l\ncurrency: BEP20\ntags:\n- address: 1BoatSLRHtKNngkdXEeobR76b53LETtpyT\n`,
          "tag 1 (address 1BoatSLRHtKNngkdXEeobR76b53LETtpyT): address is not a valid EVM address (currency BEP20, network bsc): expected 0x and 40 hex digits",
        ],
        [
          "an EVM address with a wrong checksum",
          `${HEADER}label: l\nnetwork: ethereum\ntags:\n- address: '0x722122dF12D4e14e13Ac3b6895a86e84145b6966'\n`,
          "tag 1 (address 0x722122dF12D4e14e13Ac3b6895a86e84145b6966): address is not a valid EVM address (currency ETH, network ethereum): its EIP-55 checksum is wrong",
        ],
        [
          "an address with whitespace inside",
          `${HEADER}label: l\ncurrency: BTC\ntags:\n- address: 1Boat SLRH\n`,
          'tag 1: address "1Boat SLRH" contains whitespace',
        ],
        [
          "bad YAML",
          `${HEADER}tags:\n- address: [a\n  label: b\n`,
          "bad YAML at line 6, column 3: missed comma between flow collection entries",
        ],
        [
          "a duplicated key",
          `${HEADER}title: again\ntags: []\n`,
          "bad YAML at line 4, column 1: duplicated mapping key",
        ],
        [
          "an empty file",
          "# nothing\n",
          "empty: a TagPack is a YAML mapping with a header and a tags list",
        ],
        [
          "a document that is a list",
          "- address: a\n",
          "not a TagPack: the document is a list, not a mapping",
        ],
        ["no tags", `${HEADER}label: l\n`, "header: tags is missing"],
        [
          "tags that are not a list",
          `${HEADER}tags:\n  address: a\n`,
          "tags must be a list, got a mapping",
        ],
        ["an empty tags list", `${HEADER}tags: []\n`, "tags: the list is empty"],
        [
          "a tag that is not a mapping",
          `${HEADER}label: l\ncurrency: BTC\ntags:\n- address: a\n- just text\n`,
          "tag 2: not a mapping but text",
        ],
        [
          // A "billion laughs": nine levels of nine aliases stand for 9⁹ strings in 600 bytes.
          "a YAML alias (billion laughs), before anything expands it",
          `${HEADER}a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n` +
            Array.from(
              { length: 8 },
              (_, i) => `a${i + 1}: &a${i + 1} [${Array(9).fill(`*a${i}`).join(", ")}]\n`,
            ).join("") +
            `label: l\ncurrency: ETH\ntags:\n- address: '0x${"11".repeat(20)}'\n  extra: *a8\n`,
          "YAML aliases are not accepted in a TagPack (*a0 at line 5): an alias can expand a small file into gigabytes; write the values out",
        ],
        [
          "an alias of one tag in the tags list",
          `${HEADER}label: l\ncurrency: ETH\ntags:\n- &t\n  address: '0x${"11".repeat(20)}'\n- *t\n`,
          "YAML aliases are not accepted in a TagPack (*t at line 9): an alias can expand a small file into gigabytes; write the values out",
        ],
      ];
      let db: Database;
      before(async function () {
        db = await openMemoryDatabase();
        await Store.open(db);
      });
      after(async function () {
        await db.close();
      });

      for (const [what, text, message] of cases) {
        it(what, async function () {
          const parseError = thrown(() => parseTagPack(text, "bad.yaml"));
          expect(parseError).to.be.instanceOf(TracerError);
          expect(parseError.message).to.equal(`bad.yaml: ${message}`);
          const file = pack(text);
          const error = await failure(importTagPacks(db, [file]));
          expect(error).to.be.instanceOf(TracerError);
          expect(error.message).to.equal(`${file}: ${message}`);
          expect(await countLabels(db)).to.equal(0);
          expect(await sourceFiles(db)).to.deep.equal([]);
        });
      }
    });
  });

  for (const engine of ["pglite", "postgres"] as const) {
    describe(`the real TagPacks, on ${engine === "pglite" ? "PGlite" : "a PostgreSQL server"}`, function () {
      let db: Database;
      let drop: (() => Promise<void>) | null = null;
      let results: ImportResult[];
      const packs = realPacks();

      before(async function () {
        if (engine === "pglite") {
          db = await openMemoryDatabase();
        } else {
          let admin: Database;
          try {
            admin = await openDatabase(POSTGRES_URL);
          } catch (error) {
            // In CI the server is started for the tests: its absence is a failure, not a skip.
            if (process.env["CI"] !== undefined) throw error;
            console.warn(`    (PostgreSQL server not reachable: ${(error as Error).message})`);
            this.skip();
          }
          const name = `veritrace_labels_${randomBytes(6).toString("hex")}`;
          await admin.query(`CREATE DATABASE ${name}`);
          const url = new URL(POSTGRES_URL);
          url.pathname = `/${name}`;
          db = await openDatabase(url.toString());
          drop = async () => {
            await admin.query(`DROP DATABASE IF EXISTS ${name}`);
            await admin.close();
          };
        }
        await Store.open(db);
        results = await importTagPacks(
          db,
          packs.map((p) => p.file),
        );
      });

      after(async function () {
        await db?.close();
        if (drop !== null) await drop();
      });

      it("finds the nine TagPacks", function () {
        expect(packs.map((p) => p.name)).to.deep.equal([
          "etherscamdb_tagpack.yaml",
          "exchange-wallets-binance.yaml",
          "exchange-wallets-okx.yaml",
          "hacks.yaml",
          "lazarus.yaml",
          "ofac.yaml",
          "ronin_bridge.yaml",
          "tornado_cash.yaml",
          "usdt_blacklist.yaml",
        ]);
      });

      it("stores one label per address entry of each file, less the one duplicate", async function () {
        // tornado_cash.yaml lists 0x4736…a9D twice, the second time with a trailing space.
        const tornado = packs.find((p) => p.name === "tornado_cash.yaml");
        const [sixth, last] = [tornado?.addresses[5], tornado?.addresses[38]];
        expect(last).to.equal("0x4736dCf1b7A3d580672CcE6E7c65cd5cc9cFBa9D ");
        expect(last?.trim()).to.equal(sixth);
        const stored = await db.query<{ file: string; tags: number; n: string | number }>(
          `SELECT s.file, s.tags, count(l.address) AS n
           FROM label_sources s LEFT JOIN labels l ON l.source_id = s.id GROUP BY s.file, s.tags`,
        );
        const byFile = new Map(stored.map((r) => [r.file, r]));
        for (const p of packs) {
          const expected = p.addresses.length - (p.name === "tornado_cash.yaml" ? 1 : 0);
          expect(results.find((r) => r.file === p.file)?.tags, p.name).to.equal(expected);
          expect(Number(byFile.get(p.file)?.n), p.name).to.equal(expected);
          expect(Number(byFile.get(p.file)?.tags), p.name).to.equal(expected);
        }
        expect(packs.map((p) => p.addresses.length)).to.deep.equal([
          3117, 86, 36, 608, 21, 572, 6, 39, 774,
        ]);
      });

      it("reports the real files' oddities as warnings", function () {
        const warnings = Object.fromEntries(
          results.map((r) => [path.basename(r.file), r.warnings]),
        );
        expect(warnings["tornado_cash.yaml"]).to.deep.equal([
          "whitespace around the address of tag 39: trimmed",
          "1 duplicate tag dropped (same address, network and label as an earlier tag, which is kept): tag 39 = tag 6",
        ]);
        expect(warnings["ofac.yaml"]).to.deep.equal([
          "currency USDT is a token on several networks: each tag's network inferred from its address (3 bitcoin, 3 ethereum, 3 tron); set network to be explicit",
          "1 address not in the format of its network, kept as written: tag 531 (TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq: bitcoin, looks like tron)",
        ]);
        expect(warnings["usdt_blacklist.yaml"]).to.have.length(1);
        expect(warnings["usdt_blacklist.yaml"]?.[0]).to.match(
          /^tags 2, 3, 4, 5, 6 and 9 more label addresses no one holds a key for/,
        );
        for (const name of [
          "etherscamdb_tagpack.yaml",
          "exchange-wallets-binance.yaml",
          "exchange-wallets-okx.yaml",
          "hacks.yaml",
          "lazarus.yaml",
          "ronin_bridge.yaml",
        ])
          expect(warnings[name], name).to.deep.equal([]);
      });

      it("resolves a Tornado Cash contract as a mixer, and as sanctioned by the OFAC list", async function () {
        const labels = labelsOf(await labelsFor(db, [TORNADO_ROUTER]), TORNADO_ROUTER);
        expect(labels.map((l) => [l.category, l.originalCategory, l.label])).to.deep.equal([
          ["sanctioned", "user", "Asset listed under US Treasury OFAC Sanctions List"],
          ["mixer", "mixing_service", "tornado.cash"],
        ]);
        expect(labels[1]).to.deep.include({
          address: TORNADO_ROUTER.toLowerCase(),
          network: "ethereum",
          currency: "ETH",
          isEvm: true,
          abuse: null,
          actor: "tornado",
          confidence: "authority_data",
          origin: "tagpack",
          tagpack: { title: "Tornado.cash", file: path.join(TAGPACKS, "tornado_cash.yaml") },
        });
        expect((await labelOf(db, TORNADO_ROUTER))?.category).to.equal("sanctioned");
      });

      it("makes custodial services exits of kind service (a casino, wallet services), and neither their hacks nor miners", async function () {
        // hacks.yaml: Betco.in (gambling), Inputs.io (wallet_service), a Betco.in hack address
        // (abuse service_hack), 50btc (miner); a Binance reserve wallet; the Tornado router.
        const cases: [string, string | undefined, string | undefined][] = [
          ["1Lgnzb1p9YE3uKwGpspMQZ1NcAD1EMxzSh", "service", "Betco.in (gambling)"],
          ["19NXYce4udWqeW9U1KgVoLzDVa26v6SbGz", "service", "Inputs.io (wallet_service)"],
          ["1HVi6re6zDr5c5v9Sk2mmL9u7svEHfiBt4", undefined, undefined],
          ["1AbY3D7VFRemePM2NgUTquQmAjXLKPg7XH", undefined, undefined],
          ["34xp4vRoCGJym3xR7yCVPFHoCNxv4Twseo", "exchange", "binance reserve wallets BTC"],
          [TORNADO_ROUTER.toLowerCase(), "mixer", "tornado.cash"],
        ];
        const found = await labelsFor(
          db,
          cases.map(([a]) => a),
        );
        const today = readExitCategories(["exchange", "bridge", "mixer"], "test");
        for (const [address, kind, text] of cases) {
          const label = engineLabel(found.get(address));
          if (label === undefined) throw new Error(`no label for ${address}`);
          const exit = exitKindOf(label, DEFAULT_EXITS);
          expect(exit, address).to.equal(kind);
          if (exit !== undefined) expect(exitLabelText(label, exit), address).to.equal(text);
          // Today's list: the services are no exits; exchanges and mixers still are.
          const seen = engineLabel(found.get(address), today);
          const before = seen === undefined ? undefined : exitKindOf(seen, today);
          expect(before, address).to.equal(kind === "service" ? undefined : kind);
        }
      });

      it("resolves an OFAC Ethereum address as sanctioned", async function () {
        const label = await labelOf(db, OFAC_ETH);
        expect(label).to.deep.include({
          category: "sanctioned",
          originalCategory: "user",
          abuse: null,
          source: "https://www.treasury.gov/ofac/downloads/sdnlist.txt",
          confidence: null,
        });
        expect(label?.origin === "tagpack" && label.tagpack.title).to.equal(
          "US Treasury OFAC Sanctions List",
        );
      });

      it("resolves a Binance hot wallet as an exchange, once per token the pack lists", async function () {
        const labels = labelsOf(await labelsFor(db, [BINANCE_14]), BINANCE_14);
        expect(labels.map((l) => l.label)).to.deep.equal([
          "binance reserve wallets BUSD",
          "binance reserve wallets ETH",
          "binance reserve wallets USDC",
          "binance reserve wallets USDT",
        ]);
        for (const l of labels)
          expect(l).to.deep.include({ category: "exchange", actor: "binance" });
      });

      it("ranks the Ronin exploiter's labels: sanctioned (Lazarus, OFAC) before hack", async function () {
        const labels = labelsOf(await labelsFor(db, [RONIN_EXPLOITER]), RONIN_EXPLOITER);
        expect(
          labels.map((l) => [l.category, l.origin === "tagpack" && l.tagpack.title]),
        ).to.deep.equal([
          ["sanctioned", "OFAC Tagpack"],
          ["sanctioned", "US Treasury OFAC Sanctions List"],
          ["hack", "Ronin bridge hack"],
        ]);
      });

      it("finds EVM addresses in any case, keyed by the address as asked", async function () {
        const forms = [
          SCAM_CHECKSUMMED,
          SCAM_CHECKSUMMED.toLowerCase(),
          `0x${SCAM_CHECKSUMMED.slice(2).toUpperCase()}`,
        ];
        const found = await labelsFor(db, forms);
        expect([...found.keys()]).to.deep.equal(forms);
        const [first, ...others] = forms.map((f) => found.get(f));
        expect(first?.map((l) => [l.label, l.category])).to.deep.equal([
          ["myelherwallel.com", "phishing"],
        ]);
        for (const other of others) expect(other).to.deep.equal(first);
      });

      it("stores EVM addresses lower-case, and others as written, case-sensitive", async function () {
        const [mixed] = await db.query<{ n: string | number }>(
          "SELECT count(*) AS n FROM labels WHERE is_evm AND address !~ '^0x[0-9a-f]{40}$'",
        );
        expect(Number(mixed?.n)).to.equal(0);
        const nonEvm = await labelsFor(db, [BINANCE_BTC, BINANCE_TRX, BINANCE_BEP2]);
        expect(
          [BINANCE_BTC, BINANCE_TRX, BINANCE_BEP2].map((a) => {
            const l = nonEvm.get(a)?.[0];
            return [l?.address, l?.network, l?.currency, l?.isEvm];
          }),
        ).to.deep.equal([
          [BINANCE_BTC, "bitcoin", "BTC", false],
          [BINANCE_TRX, "tron", "TRX", false],
          [BINANCE_BEP2, "bnb_beacon_chain", "BEP2", false],
        ]);
        expect((await labelsFor(db, [BINANCE_BTC.toLowerCase()])).size).to.equal(0);
        const networks = await db.query<{ network: string; is_evm: boolean; n: string | number }>(
          "SELECT network, is_evm, count(*) AS n FROM labels GROUP BY network, is_evm ORDER BY network",
        );
        expect(networks.map((r) => [r.network, r.is_evm, Number(r.n)])).to.deep.equal([
          ["bitcoin", false, 1348],
          ["bitcoin_cash", false, 9],
          ["bitcoin_gold", false, 1],
          ["bitcoin_sv", false, 1],
          ["bnb_beacon_chain", false, 25],
          ["bsc", true, 16],
          ["dash", false, 3],
          ["ethereum", true, 3807],
          ["litecoin", false, 23],
          ["monero", false, 3],
          ["tron", false, 15],
          ["verge", false, 1],
          ["xrp_ledger", false, 1],
          ["zcash", false, 5],
        ]);
      });

      it("keeps fields without a column in extra", async function () {
        const rows = await db.query<{ extra: Record<string, unknown> }>(
          "SELECT extra FROM labels WHERE address = $1",
          ["0x098b716b8aaf21512996dc57eb0615e2383e2f96"],
        );
        expect(rows.map((r) => r.extra)).to.deep.include({
          lastmod: "2022-04-05",
          is_cluster_definer: true,
          context: '{"description": "original address"}',
        });
      });

      it("counts labels per normalized category and per file", async function () {
        const stats = await labelStats(db);
        expect(stats.total).to.equal(5258);
        expect(stats.byCategory).to.deep.equal({
          sanctioned: 21 + 572 + 774,
          ransomware: 0,
          hack: 178 + 6,
          phishing: 678,
          scam: 2434 + 5,
          darknet: 0,
          mixer: 38,
          bridge: 0,
          exchange: 86 + 36 + 403,
          other: 27,
        });
        expect(Object.keys(stats.byCategory)).to.deep.equal([...RISK_CATEGORIES]);
        expect(
          stats.bySource.map((s) => [path.basename(s.file), s.tags, s.byCategory]),
        ).to.deep.equal([
          ["etherscamdb_tagpack.yaml", 3117, { phishing: 678, scam: 2439 }],
          ["exchange-wallets-binance.yaml", 86, { exchange: 86 }],
          ["exchange-wallets-okx.yaml", 36, { exchange: 36 }],
          ["hacks.yaml", 608, { exchange: 403, hack: 178, other: 27 }],
          ["lazarus.yaml", 21, { sanctioned: 21 }],
          ["ofac.yaml", 572, { sanctioned: 572 }],
          ["ronin_bridge.yaml", 6, { hack: 6 }],
          ["tornado_cash.yaml", 38, { mixer: 38 }],
          ["usdt_blacklist.yaml", 774, { sanctioned: 774 }],
        ]);
        for (const s of stats.bySource) {
          expect(s.sha256).to.match(/^[0-9a-f]{64}$/);
          expect(s.importedAt).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
        }
      });

      it("re-imports a file by replacing its labels, leaving the other files' alone", async function () {
        const before = await countLabels(db);
        const file = pack(
          `${HEADER}currency: ETH\nlabel: first\ntags:\n- address: '0x${"a1".repeat(20)}'\n- address: '0x${"a2".repeat(20)}'\n`,
          `reimport-${engine}.yaml`,
        );
        await importTagPacks(db, [file]);
        expect(await countLabels(db)).to.equal(before + 2);
        const [first] = await db.query<{ id: string }>(
          "SELECT id::text FROM label_sources WHERE file = $1",
          [file],
        );
        expect(first).to.not.equal(undefined);
        writeFileSync(
          file,
          `${HEADER}currency: ETH\nlabel: second\ntags:\n- address: '0x${"a3".repeat(20)}'\n`,
        );
        const [result] = await importTagPacks(db, [path.relative(process.cwd(), file)]);
        expect(result).to.deep.include({ file, title: "Test pack", tags: 1 });
        expect(await countLabels(db)).to.equal(before + 1);
        const found = await labelsFor(db, [`0x${"a1".repeat(20)}`, `0x${"a3".repeat(20)}`]);
        expect([...found.keys()]).to.deep.equal([`0x${"a3".repeat(20)}`]);
        expect(found.get(`0x${"a3".repeat(20)}`)?.[0]?.label).to.equal("second");
        const [again] = await db.query<{ id: string; tags: number }>(
          "SELECT id::text, tags FROM label_sources WHERE file = $1",
          [file],
        );
        expect(again).to.deep.equal({ id: first?.id, tags: 1 });
        await db.query("DELETE FROM label_sources WHERE file = $1", [file]);
        expect(await countLabels(db)).to.equal(before);
      });

      it("writes nothing when one file of an import is bad, not even the good files", async function () {
        const before = await countLabels(db);
        const files = await sourceFiles(db);
        const good = pack(
          `${HEADER}currency: ETH\nlabel: l\ntags:\n- address: '0x${"b1".repeat(20)}'\n`,
        );
        const bad = pack(`${HEADER}currency: ETH\nlabel: l\ntags:\n- address: '0xnope'\n`);
        const tornado = path.join(TAGPACKS, "tornado_cash.yaml");
        const error = await failure(importTagPacks(db, [good, tornado, bad]));
        expect(error).to.be.instanceOf(TracerError);
        expect(error.message).to.equal(
          `${bad}: tag 1 (address 0xnope): address is not a valid EVM address (currency ETH, network ethereum): expected 0x and 40 hex digits`,
        );
        expect(await countLabels(db)).to.equal(before);
        expect(await sourceFiles(db)).to.deep.equal(files);
      });

      it("rolls back the files already written when the store fails mid-import", async function () {
        const before = await countLabels(db);
        const files = await sourceFiles(db);
        const good = pack(
          `${HEADER}currency: ETH\nlabel: l\ntags:\n- address: '0x${"c1".repeat(20)}'\n`,
        );
        const rejected = pack(
          `title: '${"t".repeat(10)}'\ncreator: c\nsource: s\ncurrency: ETH\nlabel: l\ntags:\n- address: '0x${"c2".repeat(20)}'\n`,
        );
        // A trigger makes the second file's insert fail after the first file's rows are written.
        await db.query(`CREATE FUNCTION veritrace_test_reject() RETURNS trigger LANGUAGE plpgsql AS $$
          BEGIN IF NEW.title = '${"t".repeat(10)}' THEN RAISE EXCEPTION 'rejected by test'; END IF; RETURN NEW; END $$`);
        await db.query(
          "CREATE TRIGGER veritrace_test_reject BEFORE INSERT ON label_sources FOR EACH ROW EXECUTE FUNCTION veritrace_test_reject()",
        );
        try {
          const error = await failure(importTagPacks(db, [good, rejected]));
          expect(error.message).to.match(/rejected by test/);
        } finally {
          await db.query("DROP TRIGGER veritrace_test_reject ON label_sources");
          await db.query("DROP FUNCTION veritrace_test_reject()");
        }
        expect(await countLabels(db)).to.equal(before);
        expect(await sourceFiles(db)).to.deep.equal(files);
      });

      it("rejects a file given twice, and a file that can't be read", async function () {
        const file = path.join(TAGPACKS, "lazarus.yaml");
        expect((await failure(importTagPacks(db, [file, file]))).message).to.equal(
          `${file}: given twice`,
        );
        const missing = path.join(tmp, "missing.yaml");
        expect((await failure(importTagPacks(db, [missing]))).message).to.match(
          new RegExp(`^cannot read ${missing.replace(/[.]/g, "\\.")}: ENOENT`),
        );
      });
    });
  }

  describe("merging labels", function () {
    const base = {
      address: "0x" + "ab".repeat(20),
      network: "ethereum",
      currency: "ETH",
      isEvm: true,
      originalCategory: null,
      abuse: null,
      actor: null,
      source: null,
    };
    const tagpackLabel: Label = {
      ...base,
      label: "exchange wallet",
      category: "exchange",
      confidence: "service_data",
      origin: "tagpack",
      tagpack: { title: "t", file: "/f.yaml" },
    };
    const chainLabel: ChainLabel = {
      ...base,
      label: "case 7: stolen funds",
      category: "hack",
      confidence: "ownership",
      origin: "chain",
      event: { blockNumber: 10, logIndex: 2, txHash: "0x" + "00".repeat(32) },
    };

    it("orders an address's labels from TagPacks and from the chain together, most severe first", function () {
      const merged = mergeLabels(
        new Map([[base.address, [tagpackLabel]]]),
        new Map([[base.address, [chainLabel]]]),
      );
      expect(merged.get(base.address)).to.deep.equal([chainLabel, tagpackLabel]);
      expect(primaryLabel(merged.get(base.address))).to.equal(chainLabel);
      expect(primaryLabel(undefined)).to.equal(null);
    });

    it("ranks labels of one category by confidence", function () {
      const weak: Label = { ...tagpackLabel, label: "a", confidence: "web_crawl" };
      const strong: Label = { ...tagpackLabel, label: "b", confidence: "ownership" };
      expect(primaryLabel([weak, strong])).to.equal(strong);
    });

    it("answers an empty question without a query", async function () {
      const found = await labelsFor(
        {
          query: () => Promise.reject(new Error("no query expected")),
        },
        [],
      );
      expect(found.size).to.equal(0);
    });
  });

  describe("the labels commands", function () {
    let dir: string;

    /** Runs a command with console.log and stderr captured. */
    async function run(
      command: typeof labelsImportCommand,
      values: Values,
      positionals: string[],
    ): Promise<{ code: number; out: string; err: string }> {
      const out: string[] = [];
      const err: string[] = [];
      const log = console.log;
      const write = process.stderr.write.bind(process.stderr);
      console.log = (...args: unknown[]) => {
        out.push(args.map(String).join(" "));
      };
      process.stderr.write = ((chunk: string | Uint8Array) => {
        err.push(String(chunk));
        return true;
      }) as typeof process.stderr.write;
      try {
        const code = await command.run(values, positionals);
        return { code, out: out.join("\n"), err: err.join("") };
      } finally {
        console.log = log;
        process.stderr.write = write;
      }
    }

    before(function () {
      dir = path.join(tmp, "cli-db");
    });

    it("imports files and prints a table of files, tags and warnings; warnings on stderr", async function () {
      const files = ["ronin_bridge.yaml", "tornado_cash.yaml"].map((f) => path.join(TAGPACKS, f));
      const r = await run(labelsImportCommand, { db: dir }, files);
      expect(r.code).to.equal(0);
      const lines = r.out.split("\n");
      expect(lines[0]).to.match(/^file\s+title\s+tags\s+warnings$/);
      expect(lines[2]).to.match(/ronin_bridge\.yaml\s+Ronin bridge hack\s+6\s+0$/);
      expect(lines[3]).to.match(/tornado_cash\.yaml\s+Tornado\.cash\s+38\s+2$/);
      expect(r.err.split("\n").filter((l) => l !== "")).to.have.length(2);
      expect(r.err).to.match(/^warning: .*tornado_cash\.yaml: whitespace around the address/);
    });

    it("prints the import's results as JSON with --json", async function () {
      const file = path.join(TAGPACKS, "lazarus.yaml");
      const r = await run(labelsImportCommand, { db: dir, json: true }, [file]);
      expect(JSON.parse(r.out)).to.deep.equal([
        { file, title: "OFAC Tagpack", tags: 21, warnings: [] },
      ]);
      expect(r.err).to.equal("");
    });

    it("shows the labels of addresses, most relevant first, and the addresses without", async function () {
      const r = await run(labelsShowCommand, { db: dir }, [RONIN_EXPLOITER, "nobody"]);
      expect(r.code).to.equal(0);
      const lines = r.out.split("\n");
      expect(lines[0]).to.match(
        /^address\s+network\s+category\s+original\s+label\s+actor\s+confidence\s+from$/,
      );
      expect(lines[2]).to.match(
        /^0x098b716b8aaf21512996dc57eb0615e2383e2f96\s+ethereum\s+sanctioned\s+user\/sanction\s+Lazarus group/,
      );
      expect(lines[3]).to.match(
        /\s+hack\s+service_hack\s+Ronin bridge exploiter\s+service_data\s+Ronin bridge hack$/,
      );
      expect(lines[4]).to.equal("nobody: no label");
    });

    it("shows labels as JSON with --json, one entry per address asked", async function () {
      const r = await run(labelsShowCommand, { db: dir, json: true }, [
        TORNADO_ROUTER.toLowerCase(),
        "nobody",
      ]);
      const shown = JSON.parse(r.out) as { address: string; labels: Label[] }[];
      expect(shown.map((s) => [s.address, s.labels.map((l) => l.category)])).to.deep.equal([
        [TORNADO_ROUTER.toLowerCase(), ["mixer"]],
        ["nobody", []],
      ]);
    });

    it("imports a TagPack from stdin (-), named by its title; piping it again replaces it", async function () {
      const db = path.join(tmp, "stdin-db");
      const ronin = readFileSync(path.join(TAGPACKS, "ronin_bridge.yaml"), "utf8");
      const lazarus = path.join(TAGPACKS, "lazarus.yaml");
      const first = await runVeritrace(
        ["labels", "import", "-", lazarus, "--db", db, "--json"],
        {},
        ronin,
      );
      expect(first.code, first.stderr).to.equal(0);
      expect(JSON.parse(first.stdout)).to.deep.equal([
        { file: "stdin:Ronin bridge hack", title: "Ronin bridge hack", tags: 6, warnings: [] },
        { file: lazarus, title: "OFAC Tagpack", tags: 21, warnings: [] },
      ]);
      const again = await runVeritrace(["labels", "import", "--db", db, "-"], {}, ronin);
      expect(again.code, again.stderr).to.equal(0);
      expect(again.stdout).to.match(/^stdin:Ronin bridge hack\s+Ronin bridge hack\s+6\s+0$/m);
      const shown = await runVeritrace(["labels", "show", RONIN_EXPLOITER, "--db", db, "--json"]);
      const [labels] = JSON.parse(shown.stdout) as { labels: Label[] }[];
      const fromStdin = (labels?.labels ?? []).filter(
        (l) => l.origin === "tagpack" && l.tagpack.file === "stdin:Ronin bridge hack",
      );
      expect(fromStdin, "replaced, not added").to.have.length(1);
    });

    it("refuses - twice, in one usage line, before any store is made", async function () {
      const db = path.join(tmp, "stdin-twice-db");
      const r = await runVeritrace(["labels", "import", "-", "-", "--db", db], {}, "");
      expect(r.code).to.equal(2);
      expect(r.stderr.trim().split("\n")).to.deep.equal([
        "veritrace labels import: only one input can be - (stdin), which is read once; got - for FILE (2 times)",
      ]);
      expect(existsSync(db)).to.equal(false);
    });

    it("needs at least one file or address", async function () {
      for (const command of [labelsImportCommand, labelsShowCommand]) {
        const error = await failure(command.run({ db: dir }, []));
        expect(error, command.name).to.be.instanceOf(UsageError);
      }
    });
  });
});
