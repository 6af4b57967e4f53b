/**
 * Private set intersection benchmark: two sets of random phone numbers, end to end over loopback
 * HTTP, the provider as a separate process.
 *
 *   npm run bench:psi [-- --elements N] [-- --overlap K] [-- --json]
 *
 * Draws (from a fixed PRNG seed) N distinct E.164 phone numbers for each party, K of them in
 * common (default N = 100 000, K = N / 10), writes the provider's to a file and starts
 * `node bin/veritrace.mjs match serve` on it (its start-up, reading and normalizing its file, is
 * not timed). Then, timed, the requester does what `veritrace match run` does in this process:
 * read and normalize its file, start its worker threads, blind (H(x)^a), post the request, let the
 * provider re-blind it and blind its own set, read the response, unblind (H(y)^ba) and intersect.
 * The result is checked against the plaintext intersection.
 *
 * Also measured, before the run, on a quiet machine: one X25519 operation as the implementation
 * does it (a public key object from 32 raw bytes, then diffieHellman with the session's private key
 * object), median of 10 000 timed one by one; and the same with a fresh private key object too.
 * The floor is the X25519 work alone, 4 operations per element over both parties (2 each), spread
 * over every core of this machine (both parties share it): floorSeconds = 4 · N · op / cores.
 *
 * Virtual CPUs are not always independent cores: the run also measures how much faster X25519
 * runs on all worker threads than on one (parallelSpeedup), and gives the ratio to the floor with
 * that speedup in place of the core count (floorRatioMeasuredSpeedup).
 *
 * The last line is one JSON object: elements, seconds, peakRssMb (the larger VmHWM of the two
 * processes), scalarMultMicros, microsPerElement (seconds · 10⁶ / N), floorRatio (seconds /
 * floorSeconds), and details. Exit code 1, with one line on stderr, when a target is missed:
 * ≤ 45 s and peak RSS ≤ 2 GiB.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createPrivateKey, createPublicKey, diffieHellman, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { WorkerEngine } from "../src/matching/engine.js";
import { exchangeOverHttp } from "../src/matching/http.js";
import { IdentifierSet } from "../src/matching/identifiers.js";
import { PsiRequester } from "../src/matching/session.js";
import { fmt, median, prng } from "./lib/bench.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const TARGET_SECONDS = 45;
const TARGET_RSS_MB = 2048;

const USAGE = `Usage: npm run bench:psi [-- --elements N] [-- --overlap K] [-- --json]
  --elements N   identifiers per party (default 100000)
  --overlap K    identifiers in common (default N / 10)
  --json         print only the JSON object`;

const { values: args } = (() => {
  try {
    return parseArgs({
      args: process.argv.slice(2),
      options: {
        elements: { type: "string" },
        overlap: { type: "string" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    });
  } catch (error) {
    console.error(`bench:psi: ${(error as Error).message}\n${USAGE}`);
    process.exit(2);
  }
})();
if (args.help === true) {
  console.log(USAGE);
  process.exit(0);
}
const count = (name: string, v: string | undefined, fallback: number, min: number): number => {
  if (v === undefined) return fallback;
  if (!/^\d+$/.test(v) || Number(v) < min || !Number.isSafeInteger(Number(v))) {
    console.error(`bench:psi: --${name} must be an integer ≥ ${min}, got ${JSON.stringify(v)}`);
    process.exit(2);
  }
  return Number(v);
};
const ELEMENTS = count("elements", args.elements, 100_000, 1);
const OVERLAP = count("overlap", args.overlap, Math.floor(ELEMENTS / 10), 0);
if (OVERLAP > ELEMENTS) {
  console.error(`bench:psi: --overlap (${OVERLAP}) is more than --elements (${ELEMENTS})`);
  process.exit(2);
}
const JSON_ONLY = args.json === true;
const say = (text = "") => {
  if (!JSON_ONLY) console.log(text);
};

/**
 * Mobile number ranges (country code and prefix, digits after it) in which every number is valid
 * for libphonenumber-js, so that normalization refuses none of the drawn numbers.
 */
const RANGES: readonly (readonly [string, number])[] = [
  ["49151", 8],
  ["3361", 7],
  ["39347", 7],
  ["346", 8],
  ["4478", 8],
  ["3161", 7],
  ["4850", 7],
  ["43664", 7],
  ["4179", 7],
  ["86138", 8],
];

/** 2N − K distinct valid phone numbers: +<country><prefix><subscriber>, 10 to 13 digits after +. */
function phoneNumbers(): { mine: string[]; theirs: string[]; common: string[] } {
  const rnd = prng(20_260_421);
  const seen = new Set<string>();
  const all: string[] = [];
  while (all.length < 2 * ELEMENTS - OVERLAP) {
    const [prefix, length] = RANGES[Math.floor(rnd() * RANGES.length)] as readonly [string, number];
    let subscriber = "";
    while (subscriber.length < length) subscriber += String(Math.floor(rnd() * 10));
    const number = `+${prefix}${subscriber}`;
    if (seen.has(number)) continue;
    seen.add(number);
    all.push(number);
  }
  const common = all.slice(0, OVERLAP);
  const mine = [...common, ...all.slice(OVERLAP, ELEMENTS)];
  const theirs = [...common, ...all.slice(ELEMENTS)];
  // Written in a national-looking format some of the time: normalization is part of the work.
  const styled = (list: string[]) =>
    list.map((n, i) => (i % 3 === 0 ? `00${n.slice(1, 3)} ${n.slice(3, 6)} ${n.slice(6)}` : n));
  return { mine: shuffle(styled(mine), rnd), theirs: shuffle(styled(theirs), rnd), common };
}

function shuffle<T>(list: T[], rnd: () => number): T[] {
  for (let i = list.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [list[i], list[j]] = [list[j] as T, list[i] as T];
  }
  return list;
}

/** One X25519 operation as the implementation does it, median of 10 000 timed one by one. */
function measureScalarMult(freshPrivateKey: boolean): number {
  const pkcs8 = Buffer.from("302e020100300506032b656e04220420", "hex");
  const spki = Buffer.from("302a300506032b656e032100", "hex");
  const scalar = randomBytes(32);
  const priv = () =>
    createPrivateKey({ key: Buffer.concat([pkcs8, scalar]), format: "der", type: "pkcs8" });
  const session = priv();
  let u = Buffer.from(randomBytes(32));
  u[31] = (u[31] ?? 0) & 0x3f;
  const times: number[] = [];
  for (let i = 0; i < 11_000; i++) {
    const start = performance.now();
    const publicKey = createPublicKey({
      key: Buffer.concat([spki, u]),
      format: "der",
      type: "spki",
    });
    u = diffieHellman({ privateKey: freshPrivateKey ? priv() : session, publicKey });
    const t = performance.now() - start;
    if (i >= 1000) times.push(t * 1000); // the first 1 000 warm up
  }
  return median(times);
}

/**
 * How much faster X25519 runs on all worker threads than on one: 20,000 multiplications each
 * way, twice, best of each. A machine's cores are not always independent (shared or throttled
 * virtual CPUs); this says how many cores' worth the floor may really count on.
 */
async function parallelSpeedup(): Promise<number> {
  const points = randomBytes(20_000 * 32);
  for (let o = 31; o < points.length; o += 32) points[o] = (points[o] ?? 0) & 0x3f;
  const scalar = randomBytes(32);
  const best = async (threads: number) => {
    const engine = await WorkerEngine.start({ threads });
    try {
      let min = Infinity;
      for (let round = 0; round < 2; round++) {
        const start = performance.now();
        await engine.multiply(scalar, points);
        min = Math.min(min, performance.now() - start);
      }
      return min;
    } finally {
      await engine.close();
    }
  };
  const one = await best(1);
  const all = await best(cores);
  return one / all;
}

/** VmHWM (peak resident set) of a process, in MiB. */
function peakRssMb(pid: number | "self"): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const m = /VmHWM:\s+(\d+) kB/.exec(status);
  if (m === null) throw new Error(`no VmHWM in /proc/${pid}/status`);
  return Number(m[1]) / 1024;
}

/** Starts `veritrace match serve`; resolves with its URL once it listens. */
async function startServer(
  input: string,
  tokenFile: string,
): Promise<{ child: ChildProcess; url: string; lines: string[] }> {
  const child = spawn(
    process.execPath,
    [
      path.join(ROOT, "bin", "veritrace.mjs"),
      "match",
      "serve",
      "--no-ledger",
      "--port",
      "0",
      "--input",
      input,
      "--type",
      "phone",
      "--token-file",
      tokenFile,
      "--max-elements",
      String(Math.max(ELEMENTS, 1000)),
    ],
    { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] },
  );
  const lines: string[] = [];
  const url = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    rl.on("line", (line) => {
      lines.push(line);
      try {
        const entry = JSON.parse(line) as { msg?: string; url?: string };
        if (entry.msg === "listening" && typeof entry.url === "string") resolve(entry.url);
      } catch {
        // not JSON: ignore
      }
    });
    child.once("exit", (code) => reject(new Error(`match serve exited with code ${code}`)));
  });
  return { child, url, lines };
}

const cores = availableParallelism();
say(
  `Private set intersection benchmark (${cores} cores, ${cpus()[0]?.model ?? "?"}, Node ${process.version})`,
);
const generateStart = performance.now();
const sets = phoneNumbers();
say(
  `Sets: ${fmt(ELEMENTS)} phone numbers each, ${fmt(OVERLAP)} in common, generated in ${fmt((performance.now() - generateStart) / 1000, 1)} s`,
);
const scalarMultMicros = measureScalarMult(false);
const scalarMultFreshKeyMicros = measureScalarMult(true);
const speedup = await parallelSpeedup();
say(
  `One X25519 operation: ${fmt(scalarMultMicros, 1)} µs (public key object + diffieHellman; ` +
    `${fmt(scalarMultFreshKeyMicros, 1)} µs with a fresh private key object too), median of 10,000`,
);
say(`Worker threads: ${cores} run X25519 ${fmt(speedup, 2)} times as fast as one`);

const dir = mkdtempSync(path.join(tmpdir(), "veritrace-bench-psi-"));
const mineFile = path.join(dir, "requester.txt");
const theirsFile = path.join(dir, "provider.txt");
const tokenFile = path.join(dir, "token");
writeFileSync(mineFile, `${sets.mine.join("\n")}\n`);
writeFileSync(theirsFile, `${sets.theirs.join("\n")}\n`);
writeFileSync(tokenFile, `${randomBytes(24).toString("hex")}\n`, { mode: 0o600 });
const token = readFileSync(tokenFile, "utf8").trim();

let server: Awaited<ReturnType<typeof startServer>> | undefined;
try {
  const serverStart = performance.now();
  server = await startServer(theirsFile, tokenFile);
  say(
    `Provider: match serve up in ${fmt((performance.now() - serverStart) / 1000, 1)} s at ${server.url}`,
  );

  const phases: Record<string, number> = {};
  const start = performance.now();
  let mark = start;
  const phase = (name: string) => {
    const now = performance.now();
    phases[name] = (now - mark) / 1000;
    mark = now;
  };
  const identifiers = IdentifierSet.fromFile("phone", mineFile, {
    maxElements: Math.max(ELEMENTS, 1000),
  });
  phase("read");
  const engine = await WorkerEngine.start();
  phase("workers");
  let result;
  try {
    const requester = new PsiRequester({
      sessionId: randomBytes(32),
      mode: "psi",
      type: "phone",
      engine,
      maxElements: Math.max(ELEMENTS, 1000),
    });
    const request = await requester.blind(identifiers);
    phase("blind");
    const response = await exchangeOverHttp(server.url, token, request, {
      maxElements: Math.max(ELEMENTS, 1000),
    });
    phase("exchange");
    result = await requester.finish(response);
    phase("finish");
  } finally {
    await engine.close();
  }
  const seconds = (performance.now() - start) / 1000;

  const expected = new Set(sets.common);
  const matches = result.matches ?? [];
  if (
    result.cardinality !== OVERLAP ||
    matches.length !== OVERLAP ||
    !matches.every((m) => expected.has(m))
  )
    throw new Error(`wrong intersection: ${result.cardinality} matches, expected ${OVERLAP}`);
  const serverPid = server.child.pid;
  if (serverPid === undefined) throw new Error("no server pid");
  const serverRss = peakRssMb(serverPid);
  const selfRss = peakRssMb("self");
  const sessionLine = server.lines
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .find((l) => l["msg"] === "session");
  const serverMs = Number(sessionLine?.["milliseconds"] ?? NaN);

  const floorSeconds = (4 * ELEMENTS * scalarMultMicros) / 1e6 / cores;
  const microsPerElement = (seconds * 1e6) / ELEMENTS;
  say();
  say(
    `End to end: ${fmt(seconds, 2)} s, ${fmt(microsPerElement, 1)} µs per element, intersection ${fmt(result.cardinality)} (correct)`,
  );
  say(
    `  requester: read and normalize ${fmt(phases["read"] ?? 0, 2)} s, start workers ${fmt(phases["workers"] ?? 0, 2)} s, ` +
      `blind ${fmt(phases["blind"] ?? 0, 2)} s, exchange ${fmt(phases["exchange"] ?? 0, 2)} s ` +
      `(of which the provider's work ${fmt(serverMs / 1000, 2)} s), finish ${fmt(phases["finish"] ?? 0, 2)} s`,
  );
  const measuredFloor = (4 * ELEMENTS * scalarMultMicros) / 1e6 / speedup;
  say(
    `  floor (X25519 alone, 4 ops per element over ${cores} cores): ${fmt(floorSeconds, 2)} s; ratio ${fmt(seconds / floorSeconds, 2)}` +
      ` (${fmt(measuredFloor, 2)} s and ${fmt(seconds / measuredFloor, 2)} with the measured ${fmt(speedup, 2)}× speedup)`,
  );
  say(`Peak RSS: requester ${fmt(selfRss)} MB, provider ${fmt(serverRss)} MB`);

  const summary = {
    elements: ELEMENTS,
    seconds: Number(seconds.toFixed(3)),
    peakRssMb: Math.round(Math.max(serverRss, selfRss)),
    scalarMultMicros: Number(scalarMultMicros.toFixed(2)),
    microsPerElement: Number(microsPerElement.toFixed(2)),
    floorRatio: Number((seconds / floorSeconds).toFixed(2)),
    floorSeconds: Number(floorSeconds.toFixed(3)),
    scalarMultFreshKeyMicros: Number(scalarMultFreshKeyMicros.toFixed(2)),
    parallelSpeedup: Number(speedup.toFixed(2)),
    floorRatioMeasuredSpeedup: Number((seconds / measuredFloor).toFixed(2)),
    overlap: OVERLAP,
    cardinality: result.cardinality,
    "seconds.read": Number((phases["read"] ?? 0).toFixed(3)),
    "seconds.workers": Number((phases["workers"] ?? 0).toFixed(3)),
    "seconds.blind": Number((phases["blind"] ?? 0).toFixed(3)),
    "seconds.exchange": Number((phases["exchange"] ?? 0).toFixed(3)),
    "seconds.provider": Number((serverMs / 1000).toFixed(3)),
    "seconds.finish": Number((phases["finish"] ?? 0).toFixed(3)),
    "peakRssMb.requester": Math.round(selfRss),
    "peakRssMb.provider": Math.round(serverRss),
    cores,
  };
  console.log(JSON.stringify(summary));

  const missed: string[] = [];
  if (seconds > TARGET_SECONDS)
    missed.push(`took ${fmt(seconds, 1)} s (target ≤ ${TARGET_SECONDS} s)`);
  if (summary.peakRssMb > TARGET_RSS_MB)
    missed.push(`peak RSS ${fmt(summary.peakRssMb)} MB (target ≤ ${TARGET_RSS_MB} MB)`);
  if (missed.length > 0) {
    console.error(`bench:psi missed its targets: ${missed.join("; ")}`);
    process.exitCode = 1;
  }
} finally {
  server?.child.kill("SIGTERM");
  rmSync(dir, { recursive: true, force: true });
}
