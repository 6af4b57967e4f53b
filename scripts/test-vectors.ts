/**
 * Prints the known-answer test vectors (docs/identifiers.md) as JSON, or with --write replaces
 * docs/test-vectors.json with them. Run after a deliberate change of normalization or of a domain
 * tag (which then needs a new version), or of the libphonenumber-js metadata.
 *
 *   npx tsx scripts/test-vectors.ts [--write]
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { format, resolveConfig } from "prettier";
import { buildTestVectors } from "./lib/test-vectors.js";

const FILE = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  "..",
  "docs",
  "test-vectors.json",
);
const text = await format(JSON.stringify(buildTestVectors()), {
  ...(await resolveConfig(FILE)),
  filepath: FILE,
});
if (process.argv.includes("--write")) {
  writeFileSync(FILE, text);
  console.log(`wrote ${path.relative(process.cwd(), FILE)}`);
} else {
  process.stdout.write(text);
}
