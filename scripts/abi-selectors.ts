/**
 * The selectors clients and the indexer rely on: every function selector, event topic and error
 * selector of each consortium contract, from the compiled artifacts. `--write` records them in
 * docs/abi-selectors.json; test/abi-selectors.test.ts fails when a build differs from the record
 * (a refactoring must not change what is on the wire; a deliberate change rewrites the record).
 *
 *   npx tsx scripts/abi-selectors.ts [--write]
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Interface } from "ethers";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const RECORD = path.join(ROOT, "docs", "abi-selectors.json");

/** Per contract: "signature selector" lines for functions, events and errors, sorted. */
export type Selectors = Record<string, { functions: string[]; events: string[]; errors: string[] }>;

/** The selectors of every deployable consortium contract (not the test contracts). */
export function currentSelectors(
  artifactsDir = path.join(ROOT, "artifacts", "contracts"),
): Selectors {
  const out: Selectors = {};
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (path.relative(artifactsDir, full) !== "test") walk(full);
      } else if (entry.name.endsWith(".json") && !entry.name.endsWith(".dbg.json")) {
        const artifact = JSON.parse(readFileSync(full, "utf8")) as {
          contractName?: string;
          abi?: unknown[];
          bytecode?: string;
        };
        // Deployable contracts only: interfaces and abstract bases have no bytecode of their own.
        if (artifact.contractName === undefined || artifact.abi === undefined) continue;
        if (artifact.bytecode === undefined || artifact.bytecode === "0x") continue;
        const iface = new Interface(artifact.abi as never);
        const functions: string[] = [];
        const events: string[] = [];
        const errors: string[] = [];
        iface.forEachFunction((f) => functions.push(`${f.format("sighash")} ${f.selector}`));
        iface.forEachEvent((e) => events.push(`${e.format("sighash")} ${e.topicHash}`));
        iface.forEachError((e) => errors.push(`${e.format("sighash")} ${e.selector}`));
        if (functions.length + events.length + errors.length === 0) continue; // a library
        out[artifact.contractName] = {
          functions: functions.sort(),
          events: events.sort(),
          errors: errors.sort(),
        };
      }
    }
  };
  walk(artifactsDir);
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : 1)));
}

if (
  process.argv[1] !== undefined &&
  path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)
) {
  const selectors = currentSelectors();
  if (process.argv.includes("--write")) {
    writeFileSync(RECORD, `${JSON.stringify(selectors, null, 2)}\n`);
    console.log(`wrote ${path.relative(ROOT, RECORD)}: ${Object.keys(selectors).length} contracts`);
  } else {
    console.log(JSON.stringify(selectors, null, 2));
  }
}
