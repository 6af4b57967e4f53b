/**
 * Start-up of the `veritrace` command, as an installed package runs it: the compiled code
 * (dist/, `npm run build:dist`), no tsx.
 *
 *   npm run bench:cli
 *
 * Times, as separate processes (the wall time from spawn to exit, the median of `runs`, default
 * 11, after one warm-up run each):
 *   help  `veritrace --help`
 *   case  `veritrace case 1` on a small embedded store (PGlite, one case of 40 custody entries,
 *         written here through the store's own API before the runs)
 * and, for comparison, `--help` from the TypeScript sources through tsx (bin/veritrace.mjs in the
 * repository). Targets: help ≤ 300 ms, case ≤ 1 000 ms. The last line is one JSON object (flat
 * dotted keys); exit 1 with one line on stderr when a target is missed.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { openDatabase } from "../src/db/db.js";
import { Store, type EventRow } from "../src/db/store.js";
import { median } from "./lib/bench.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const COMPILED = path.join(ROOT, "dist", "src", "cli", "main.js");
const TARGET_HELP_MS = 300;
const TARGET_CASE_MS = 1000;
const runs = Number(process.env["VERITRACE_BENCH_RUNS"] ?? 11);
if (!Number.isSafeInteger(runs) || runs < 3 || runs > 101)
  throw new Error(`VERITRACE_BENCH_RUNS must be an integer from 3 to 101, got ${runs}`);

const hash = (n: number) => `0x${n.toString(16).padStart(64, "0")}`;

/** A case with requests, grants and deliveries: 40 events, hand-made (the report reads the columns). */
function caseEvents(): EventRow[] {
  const base = {
    txIndex: 0,
    contract: "CaseRegistry" as const,
    caseId: "1",
    requestId: null,
    deliveryId: null,
    anchorId: null,
    datasetId: null,
    proposalId: null,
    counterpart: null,
    signer: `0x${"11".repeat(20)}`,
    subject: null,
  };
  const events: EventRow[] = [];
  const at = (block: number, event: string, args: Record<string, unknown>, more = {}) =>
    events.push({
      ...base,
      blockNumber: block,
      logIndex: 0,
      txHash: hash(1000 + block),
      blockHash: hash(block),
      blockTime: 1_700_000_000 + block * 12,
      event,
      actor: 1,
      args,
      ...more,
    });
  at(10, "CaseOpened", {
    caseId: "1",
    caseNumberCommitment: hash(7),
    legalBasisCommitment: hash(8),
    scope: "1",
    expiresAt: "1800000000",
  });
  at(11, "CaseApproved", { caseId: "1", expiresAt: "1800000000" }, { actor: 2 });
  for (let i = 0; i < 38; i++) {
    at(12 + i, "CaseExtensionRequested", {
      caseId: "1",
      newExpiry: String(1_800_000_000 + i),
      replacedExpiry: i === 0 ? "0" : String(1_800_000_000 + i - 1),
    });
  }
  return events;
}

function time(argv: readonly string[]): { ms: number; code: number | null; stderr: string } {
  const t = performance.now();
  const r = spawnSync(process.execPath, argv, { cwd: ROOT, encoding: "utf8" });
  return { ms: performance.now() - t, code: r.status, stderr: r.stderr };
}

function measure(what: string, argv: readonly string[]): number {
  const first = time(argv);
  if (first.code !== 0) throw new Error(`${what}: exit ${first.code}: ${first.stderr.trim()}`);
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) samples.push(time(argv).ms);
  return Math.round(median(samples));
}

async function main(): Promise<number> {
  if (!existsSync(COMPILED)) {
    console.error("bench:cli: no compiled code in dist/: run npm run build:dist first");
    return 1;
  }
  const dir = mkdtempSync(path.join(tmpdir(), "veritrace-bench-cli-"));
  try {
    const db = path.join(dir, "db");
    const store = await Store.open(await openDatabase(db));
    try {
      await store.writeRange({
        events: caseEvents(),
        blocks: [],
        checkpoint: { blockNumber: 60, blockHash: hash(60) },
        pruneBelow: 60,
      });
    } finally {
      await store.close();
    }
    const load = loadavg()[0] ?? 0;
    console.log(
      `veritrace start-up, compiled (dist/), median of ${runs} runs; ${cpus().length} CPUs, load average ${load.toFixed(2)}`,
    );
    const help = measure("--help", [COMPILED, "--help"]);
    console.log(`  veritrace --help             ${help} ms (target ≤ ${TARGET_HELP_MS} ms)`);
    const report = measure("case 1", [COMPILED, "case", "1", "--db", db, "--json"]);
    console.log(`  veritrace case 1 (PGlite)    ${report} ms (target ≤ ${TARGET_CASE_MS} ms)`);
    const source = measure("--help from the sources", [
      path.join(ROOT, "bin", "veritrace.mjs"),
      "--help",
    ]);
    console.log(`  --help from the sources (tsx) ${source} ms (for comparison)`);
    const met = help <= TARGET_HELP_MS && report <= TARGET_CASE_MS;
    console.log(
      JSON.stringify({
        "help.ms": help,
        "case.ms": report,
        "sourceHelp.ms": source,
        "targets.helpMs": TARGET_HELP_MS,
        "targets.caseMs": TARGET_CASE_MS,
        targetsMet: met,
        runs,
        "machine.cpus": cpus().length,
        "machine.loadAverageAtStart": Number(load.toFixed(2)),
      }),
    );
    if (!met) {
      console.error(
        `bench:cli: target missed: --help ${help} ms (≤ ${TARGET_HELP_MS}), case ${report} ms (≤ ${TARGET_CASE_MS})`,
      );
      return 1;
    }
    return 0;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

process.exitCode = await main();
