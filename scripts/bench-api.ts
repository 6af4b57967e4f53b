/**
 * Read throughput of the tracing API: `veritrace serve` under concurrent clients.
 *
 *   npm run bench:api [-- --duration S --warmup S --connections N --rounds N
 *                         --postgres URL | --no-postgres]
 *
 * 1. A realistic store, built once on a real chain: anvil, the consortium deployed with Ignition,
 *    four institutions onboarded, then one case of about 1 000 custody entries and 300 small
 *    cases (requests, grants, denials, co-signed deliveries, anchors, closures), indexed into a
 *    PGlite store (a temporary directory) and into a new database on the PostgreSQL server
 *    (default postgres://root@127.0.0.1:5432/test, dropped at the end), then ANALYZE on the
 *    server (what its autovacuum does soon after a bulk load; PGlite has none, so its store is
 *    measured as indexed). The store is closed before the server starts: `serve` opens it alone.
 * 2. For each engine, `veritrace serve --db … --port 0 --tokens FILE --access-log FILE --no-web`
 *    as a separate process on 127.0.0.1 (every request logged, as in production), and autocannon (programmatic API, in this process) against it with a
 *    bearer token: `connections` connections (default 50), a warm-up per route (default 2 s, not
 *    counted), then `rounds` runs (default 3) of `duration` seconds (default 10) per route,
 *    alternating between the routes:
 *      cases    GET /cases                 the case list's first page (50 cases)
 *      custody  GET /cases/{id}            the big case's report, its custody's first page (50)
 *    Every answer must be a 200 (any other status fails the benchmark); requests/s counts the
 *    200s. A request unanswered after 30 s (the server's request timeout) or a connection error
 *    counts as `failed` (the sum over the runs is reported). Reported per route: requests/s and
 *    the p50 and p99 latency (ms), each the median of the runs; per engine the server process's
 *    peak RSS (VmHWM).
 *
 * Targets, on the PostgreSQL server: ≥ 2 000 requests/s and p99 ≤ 100 ms at 50 connections (the
 * issue's machine: 2 cores; autocannon runs on the same machine and takes a share of them).
 * The last line printed is one JSON object, nested: `postgres.cases.rps`, `postgres.cases.p50Ms`,
 * `postgres.cases.p99Ms`, the same for `postgres.custody`, `pglite.cases` and `pglite.custody`,
 * are paths in it (`{"postgres":{"cases":{"rps":…,"p50Ms":…,"p99Ms":…,"runs":[…]},…},…}`).
 * Exit code 1, with one line on stderr, when a target is missed.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { cpus, loadavg, tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Indexer } from "../src/ledger/indexer.js";
import { RpcClient } from "../src/chain/rpc.js";
import { openDatabase } from "../src/db/db.js";
import { Store } from "../src/db/store.js";
import { startAnvil } from "./lib/anvil.js";
import {
  parseBenchApiArgs,
  summarize,
  type BenchApiOptions,
  type RouteRun,
  type RouteSummary,
} from "./lib/bench-api.js";
import { deployOnboarded } from "./lib/bench-chain.js";
import { ConsortiumTraffic, generateBulkActivity } from "./lib/bulk-activity.js";
import type { LocalChain } from "./lib/local-chain.js";
import { createPostgresDatabase } from "./lib/postgres.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const TARGET_RPS = 2000;
const TARGET_P99_MS = 100;
/** Custody entries of the big case, at least. */
const BIG_CASE_ENTRIES = 1000;
const SMALL_CASES = 300;
const TOKEN = "bench-api-token-0123456789abcdef01";
/** A request unanswered this long counts as failed (the server's own request timeout). */
const TIMEOUT_SECONDS = 30;

/** The part of autocannon's programmatic API used here (the package ships no types). */
interface AutocannonResult {
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  "2xx": number;
  latency: { p50: number; p99: number };
  requests: { total: number; average: number };
}
type Autocannon = (options: {
  url: string;
  connections: number;
  duration: number;
  timeout: number;
  headers: Record<string, string>;
}) => Promise<AutocannonResult>;
const autocannon = createRequire(import.meta.url)("autocannon") as Autocannon;

const say = (text = "") => console.log(text);

// ------------------------------------------------------------------ 1. the store

/** Generates the activity on a fresh anvil; returns the chain, its deployment and a count. */
async function chainWithActivity() {
  const chain = await startAnvil({ gasLimit: 1_000_000_000n, baseFee: 0n, order: "fifo" });
  try {
    const { record, cast } = await deployOnboarded(chain, "bench-api");
    const rpc = new RpcClient(chain.url);
    const traffic = await ConsortiumTraffic.create(rpc, record, cast);
    // About 1.27 custody entries an event (a delivery makes two).
    const big = await generateBulkActivity(rpc, traffic, {
      events: Math.ceil(BIG_CASE_ENTRIES / 1.25),
      cases: 1,
      requestsPerBlock: 40,
    });
    const small = await generateBulkActivity(rpc, traffic, {
      events: SMALL_CASES * 10,
      cases: SMALL_CASES,
      requestsPerBlock: 100,
    });
    return { chain, rpc, record, events: big.events + small.events };
  } catch (error) {
    await chain.stop().catch(() => undefined);
    throw error;
  }
}

// ------------------------------------------------------------------ 2. the server

interface Served {
  child: ChildProcess;
  base: string;
}

async function startServe(db: string, tokens: string, accessLog: string): Promise<Served> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env["DATABASE_URL"];
  delete env["VERITRACE_API_TOKENS"];
  const child = spawn(
    process.execPath,
    [
      path.join(ROOT, "bin", "veritrace.mjs"),
      "serve",
      "--db",
      db,
      "--port",
      "0",
      "--host",
      "127.0.0.1",
      "--tokens",
      tokens,
      "--access-log",
      accessLog,
      "--no-web",
    ],
    { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] },
  );
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  const base = await new Promise<string>((resolve, reject) => {
    let out = "";
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m?.[1] !== undefined) {
        child.stdout?.off("data", onData);
        child.stdout?.resume();
        resolve(m[1]);
      }
    };
    child.stdout?.on("data", onData);
    child.once("exit", (code) => reject(new Error(`serve exited ${code}: ${stderr.trim()}`)));
  });
  return { child, base };
}

/** The process's peak resident set size (Linux /proc), in MiB; NaN elsewhere. */
function peakRssMb(pid: number | undefined): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m?.[1] === undefined ? Number.NaN : Math.round(Number(m[1]) / 1024);
  } catch {
    return Number.NaN;
  }
}

async function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await exited;
}

// ------------------------------------------------------------------ 3. the load

const ROUTES = ["cases", "custody"] as const;
type RouteName = (typeof ROUTES)[number];

async function load(url: string, connections: number, duration: number): Promise<RouteRun> {
  const r = await autocannon({
    url,
    connections,
    duration,
    timeout: TIMEOUT_SECONDS,
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  if (r.non2xx > 0 || r["2xx"] === 0)
    throw new Error(`${url}: ${r["2xx"]} answers 200, ${r.non2xx} others, ${r.errors} errors`);
  return {
    rps: r["2xx"] / r.duration,
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    failed: r.errors,
  };
}

interface EngineResult {
  cases: RouteSummary;
  custody: RouteSummary;
  serverPeakRssMb: number;
  custodyEntries: number;
}

async function measure(
  engine: string,
  db: string,
  tokens: string,
  options: BenchApiOptions,
  track: (child: ChildProcess | undefined) => void,
): Promise<EngineResult> {
  const { child, base } = await startServe(
    db,
    tokens,
    path.join(path.dirname(tokens), `${engine}.access.jsonl`),
  );
  track(child);
  try {
    const get = async <T>(p: string): Promise<T> => {
      const res = await fetch(`${base}${p}`, { headers: { authorization: `Bearer ${TOKEN}` } });
      if (res.status !== 200) throw new Error(`GET ${p}: ${res.status}`);
      return (await res.json()) as T;
    };
    // The big case: the one with the most requests on the first page.
    const list = await get<{ items: { caseId: string; requests: number }[] }>("/cases?limit=500");
    const big = [...list.items].sort((a, b) => b.requests - a.requests)[0];
    if (big === undefined) throw new Error("no case in the store");
    const report = await get<{ counts: Record<string, number> }>(`/cases/${big.caseId}?limit=1`);
    const custodyEntries = Object.values(report.counts).reduce((s, n) => s + n, 0);
    if (custodyEntries < BIG_CASE_ENTRIES)
      throw new Error(`case ${big.caseId} has ${custodyEntries} custody entries`);
    const urls: Record<RouteName, string> = {
      cases: `${base}/cases`,
      custody: `${base}/cases/${big.caseId}`,
    };
    say(
      `\n${engine}: veritrace serve at ${base}; custody route: case ${big.caseId}, ${custodyEntries} entries`,
    );
    if (options.warmup > 0)
      for (const route of ROUTES) await load(urls[route], options.connections, options.warmup);
    const runs: Record<RouteName, RouteRun[]> = { cases: [], custody: [] };
    for (let i = 0; i < options.rounds; i++) {
      for (const route of ROUTES) {
        const run = await load(urls[route], options.connections, options.duration);
        runs[route].push(run);
        say(
          `   ${route.padEnd(8)} run ${i + 1}: ${run.rps.toFixed(0)} requests/s, p50 ${run.p50Ms} ms, p99 ${run.p99Ms} ms` +
            (run.failed > 0 ? `, ${run.failed} failed` : ""),
        );
      }
    }
    const serverPeakRssMb = peakRssMb(child.pid);
    const result = {
      cases: summarize(runs.cases),
      custody: summarize(runs.custody),
      serverPeakRssMb,
      custodyEntries,
    };
    for (const route of ROUTES)
      say(
        `   ${route.padEnd(8)} median: ${result[route].rps} requests/s, p50 ${result[route].p50Ms} ms, p99 ${result[route].p99Ms} ms`,
      );
    say(`   server peak RSS ${serverPeakRssMb} MiB`);
    return result;
  } finally {
    await stopChild(child);
    track(undefined);
  }
}

// ------------------------------------------------------------------ main

async function main(): Promise<number> {
  const options = parseBenchApiArgs(process.argv.slice(2));
  const started = performance.now();
  const load0 = loadavg()[0] ?? 0;
  say("Veritrace API read throughput (veritrace serve, autocannon on loopback)");
  say(
    `   ${cpus().length} CPUs, load average ${load0.toFixed(2)} at the start; ${options.connections} connections, ` +
      `${options.warmup} s warm-up, ${options.rounds} × ${options.duration} s per route, medians`,
  );
  const dir = mkdtempSync(path.join(tmpdir(), "veritrace-bench-api-"));
  const tokens = path.join(dir, "tokens");
  writeFileSync(tokens, `${TOKEN}\n`);
  let chain: LocalChain | undefined;
  let server: ChildProcess | undefined;
  let pgDb: { url: string; drop(): Promise<void> } | undefined;
  const stopAll = async () => {
    await stopChild(server).catch(() => undefined);
    server = undefined;
    await chain?.stop().catch(() => undefined);
    chain = undefined;
    await pgDb?.drop().catch(() => undefined);
    pgDb = undefined;
  };
  const onSignal = () => void stopAll().then(() => process.exit(130));
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    const t = performance.now();
    const built = await chainWithActivity();
    chain = built.chain;
    const pgliteDir = path.join(dir, "db");
    if (options.postgres !== null)
      pgDb = await createPostgresDatabase(options.postgres, "veritrace_bench_api");
    const targets: [string, string][] = [
      ["pglite", pgliteDir],
      ...(pgDb === undefined ? [] : [["postgres", pgDb.url] as [string, string]]),
    ];
    for (const [engine, where] of targets) {
      // Indexed, then closed: `serve` opens the store alone.
      const store = await Store.open(await openDatabase(where));
      try {
        await new Indexer(store, built.rpc, built.record, { finalityDepth: 0 }).syncOnce();
        // The server's autovacuum would gather the planner's statistics within a minute or so of
        // the bulk load; done here at once. PGlite has no autovacuum: its store stays as indexed.
        if (engine === "postgres") await store.db.query("ANALYZE");
      } finally {
        await store.close();
      }
    }
    await chain.stop();
    chain = undefined;
    say(
      `\n1. ${built.events} real events on anvil (one case of ≥ ${BIG_CASE_ENTRIES} custody entries, ${SMALL_CASES} small cases), ` +
        `indexed into ${targets.map(([e]) => e).join(" and ")} (${((performance.now() - t) / 1000).toFixed(1)} s)`,
    );
    const results: Record<string, EngineResult> = {};
    for (const [engine, where] of targets)
      results[engine] = await measure(engine, where, tokens, options, (c) => (server = c));

    const pgResult = results["postgres"];
    const missed: string[] = [];
    say("\nTargets (PostgreSQL server)");
    if (pgResult === undefined) say("   not measured (--no-postgres)");
    else
      for (const route of ROUTES) {
        const r = pgResult[route];
        const ok = r.rps >= TARGET_RPS && r.p99Ms <= TARGET_P99_MS;
        say(
          `   ${route}: ≥ ${TARGET_RPS} requests/s and p99 ≤ ${TARGET_P99_MS} ms: ${ok ? "met" : "MISSED"}`,
        );
        if (!ok) missed.push(`${route} ${r.rps} requests/s, p99 ${r.p99Ms} ms`);
      }
    console.log(
      JSON.stringify({
        ...results,
        events: built.events,
        connections: options.connections,
        durationSeconds: options.duration,
        warmupSeconds: options.warmup,
        rounds: options.rounds,
        "targets.rps": TARGET_RPS,
        "targets.p99Ms": TARGET_P99_MS,
        targetsMet: pgResult === undefined ? null : missed.length === 0,
        "machine.cpus": cpus().length,
        "machine.loadAverageAtStart": Math.round(load0 * 100) / 100,
        totalSeconds: Math.round((performance.now() - started) / 100) / 10,
      }),
    );
    if (missed.length > 0) {
      console.error(`bench:api: target missed on postgres: ${missed.join("; ")}`);
      return 1;
    }
    return 0;
  } finally {
    await stopAll();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`bench:api failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
