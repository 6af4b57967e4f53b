import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { expect } from "chai";
import { HDNodeWallet, Mnemonic, Wallet, id } from "ethers";
import hre from "hardhat";
import type { ConfigurationVariable } from "hardhat/types/config";
import userConfig from "../hardhat.config.js";

const ROOT = path.resolve(import.meta.dirname, "..");

/** Where deployment material lives: no private key may be written there. */
const SCANNED = ["ignition", "scripts", "src", "docs", "hardhat.config.ts"];

/** Never scanned: generated, installed or local-only. Dot-directories are skipped too. */
const SKIPPED_DIRS = new Set(["node_modules", "artifacts", "cache", "types", "coverage"]);
/** Never scanned either: Ignition's deployment journals (generated, not committed). */
const SKIPPED_PATHS = new Set([path.join("ignition", "deployments")]);

/** The public development mnemonic of `hardhat node` and anvil. */
const TEST_MNEMONIC = "test test test test test test test test test test test junk";

/** The well-known development keys (hardhat node: 20 accounts, anvil: 10), lower-case hex. */
const WELL_KNOWN_KEYS = new Set(
  Array.from({ length: 20 }, (_, i) =>
    HDNodeWallet.fromMnemonic(
      Mnemonic.fromPhrase(TEST_MNEMONIC),
      `m/44'/60'/0'/0/${i}`,
    ).privateKey.toLowerCase(),
  ),
);

/**
 * The HMAC keys of the published test vectors (docs/test-vectors.json's case key, and the freeze
 * list key docs/contracts.md derives from the case key 0x11…11): public on purpose, so that
 * another implementation can check itself, and never a signing key.
 */
const TEST_VECTOR_KEYS = new Set([
  "0x00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
  "0x922a33e0d39e2c860c4b8df0cba2351c24b2e665e444c3b36b4048db14fb9fc4",
]);

/** Words that make a 32-byte hex value on the same line look like a key. */
const KEY_CONTEXT = /key|secret|private|mnemonic|wallet|signer|account|deployer|\bpk\b/i;

/** 0x and exactly 64 hex digits, not part of a longer hex string. */
const HEX32 = /0x[0-9a-fA-F]{64}(?![0-9a-fA-F])/g;

export interface KeyFinding {
  file: string;
  line: number;
  value: string;
}

/**
 * The 32-byte hex values in `text` that sit on a key-like line and are neither a well-known
 * development key nor plainly not a key (a left-padded word: its first 12 bytes zero, as
 * addresses, small numbers and storage slots are; an event's topic written after its signature).
 */
export function findPrivateKeys(file: string, text: string): KeyFinding[] {
  const findings: KeyFinding[] = [];
  text.split("\n").forEach((content, i) => {
    if (!KEY_CONTEXT.test(content)) return;
    for (const match of content.matchAll(HEX32)) {
      const value = match[0].toLowerCase();
      if (WELL_KNOWN_KEYS.has(value) || TEST_VECTOR_KEYS.has(value)) continue;
      if (/^0x0{24}/.test(value)) continue;
      // An event topic after its signature ("Name(types) 0x…", docs/abi-selectors.json): the hash
      // of the text beside it, provably not a secret.
      const signature = /([A-Za-z_]\w*\([^()\s]*\))\s+0x[0-9a-fA-F]{64}/.exec(
        content.slice(0, (match.index ?? 0) + 66),
      )?.[1];
      if (signature !== undefined && id(signature) === value) continue;
      findings.push({ file, line: i + 1, value });
    }
  });
  return findings;
}

/** Text files under `entry` (a file or directory relative to the repository root). */
function textFiles(entry: string): string[] {
  const full = path.join(ROOT, entry);
  let stat;
  try {
    stat = statSync(full);
  } catch {
    return [];
  }
  if (stat.isFile()) return [entry];
  const files: string[] = [];
  for (const name of readdirSync(full)) {
    if (name.startsWith(".") || SKIPPED_DIRS.has(name)) continue;
    if (SKIPPED_PATHS.has(path.join(entry, name))) continue;
    files.push(...textFiles(path.join(entry, name)));
  }
  return files;
}

function isConfigurationVariable(value: unknown, name: string): boolean {
  const v = value as Partial<ConfigurationVariable> | undefined;
  return v?._type === "ConfigurationVariable" && v.name === name;
}

describe("network configuration", function () {
  describe("the consortium network", function () {
    it("is an http network of chain type l1 in the resolved config", function () {
      const consortium = hre.config.networks.consortium;
      expect(consortium, "networks.consortium").to.not.equal(undefined);
      expect(consortium?.type).to.equal("http");
      expect(consortium?.chainType).to.equal("l1");
    });

    it("takes its url from the configuration variable CONSORTIUM_RPC_URL", function () {
      const consortium = userConfig.networks?.consortium;
      expect(consortium?.type).to.equal("http");
      const url = consortium?.type === "http" ? consortium.url : undefined;
      expect(isConfigurationVariable(url, "CONSORTIUM_RPC_URL"), JSON.stringify(url)).to.be.true;
      // Resolved lazily: reading the config must not need the variable (CI has none).
      const resolved = hre.config.networks.consortium;
      expect(resolved?.type === "http" ? resolved.url._type : undefined).to.equal(
        "ResolvedConfigurationVariable",
      );
    });

    it("signs only with the configuration variable CONSORTIUM_DEPLOYER_KEY, never a literal key", function () {
      const consortium = userConfig.networks?.consortium;
      const accounts = consortium?.type === "http" ? consortium.accounts : undefined;
      expect(Array.isArray(accounts), "accounts must be a list").to.be.true;
      const list = accounts as unknown[];
      expect(list).to.have.length(1);
      expect(isConfigurationVariable(list[0], "CONSORTIUM_DEPLOYER_KEY"), JSON.stringify(list[0]))
        .to.be.true;
      for (const account of list) expect(account).to.not.be.a("string");
    });
  });

  describe("no private key in the repository", function () {
    it("finds a key on a key-like line but not the public development keys", function () {
      const fresh = Wallet.createRandom().privateKey;
      const hardhatAccount0 = [...WELL_KNOWN_KEYS][0];
      const text = [
        `const deployerKey = "${fresh}";`,
        `const devKey = "${hardhatAccount0}";`,
        `const slot = "0x${"0".repeat(63)}1"; // storage key`,
        `payloadHash: "${fresh}"`,
        // An event's topic after its signature is its hash, not a key; anything else there is.
        `"SigningKeyAdded(uint32,address) ${id("SigningKeyAdded(uint32,address)")}",`,
        `"SigningKeyAdded(uint32,address) ${fresh}",`,
      ].join("\n");
      const findings = findPrivateKeys("example.ts", text);
      expect(findings).to.deep.equal([
        { file: "example.ts", line: 1, value: fresh.toLowerCase() },
        { file: "example.ts", line: 6, value: fresh.toLowerCase() },
      ]);
    });

    it("knows hardhat's account #0 key as well known", function () {
      const account0 = new Wallet([...WELL_KNOWN_KEYS][0] ?? "");
      expect(account0.address).to.equal("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
    });

    it(`holds none in ${SCANNED.join(", ")}`, function () {
      const files = SCANNED.flatMap(textFiles);
      expect(files.length, "files scanned").to.be.greaterThan(10);
      const findings = files.flatMap((file) => {
        const bytes = readFileSync(path.join(ROOT, file));
        if (bytes.includes(0)) return []; // binary
        return findPrivateKeys(file, bytes.toString("utf8"));
      });
      expect(findings, JSON.stringify(findings, null, 2)).to.deep.equal([]);
    });
  });
});
