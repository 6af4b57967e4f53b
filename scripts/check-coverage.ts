/**
 * Fails when the contracts' line coverage (from coverage/lcov.info, written by
 * `hardhat test --coverage`) is below the threshold given as the first argument (percent).
 *
 *   tsx scripts/check-coverage.ts 95
 */
import { readFileSync } from "node:fs";

const threshold = Number(process.argv[2] ?? "95");
if (!Number.isFinite(threshold) || threshold < 0 || threshold > 100) {
  console.error(
    `check-coverage: threshold must be a percentage, got ${JSON.stringify(process.argv[2])}`,
  );
  process.exit(2);
}

let lcov: string;
try {
  lcov = readFileSync("coverage/lcov.info", "utf8");
} catch {
  console.error(
    "check-coverage: coverage/lcov.info is missing; run `hardhat test --coverage` first",
  );
  process.exit(2);
}

let file = "";
let found = 0;
let hit = 0;
const perFile: string[] = [];
for (const line of lcov.split("\n")) {
  if (line.startsWith("SF:")) file = line.slice(3);
  // Only the consortium's own contracts count: not test doubles, not test files.
  const counted =
    /(^|\/)contracts\//.test(file) && !/contracts\/test\//.test(file) && !file.endsWith(".t.sol");
  if (!counted) continue;
  if (line.startsWith("LF:")) found += Number(line.slice(3));
  if (line.startsWith("LH:")) {
    hit += Number(line.slice(3));
    perFile.push(file);
  }
}
if (found === 0) {
  console.error("check-coverage: no contract lines in coverage/lcov.info");
  process.exit(1);
}
const pct = (100 * hit) / found;
console.log(
  `contract line coverage: ${pct.toFixed(2)}% (${hit}/${found} lines in ${perFile.length} files; threshold ${threshold}%)`,
);
if (pct < threshold) {
  console.error(`check-coverage: line coverage ${pct.toFixed(2)}% is below ${threshold}%`);
  process.exit(1);
}
