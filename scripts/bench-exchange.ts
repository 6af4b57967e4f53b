/**
 * Deliveries that carry the data, measured between real processes on anvil (docs/exchange.md,
 * "Measured"):
 *
 *   npm run bench:exchange [-- --mib N --small N --concurrency N --json]
 *
 * Set-up (not timed): anvil, the consortium deployed and onboarded, keystores, a self-signed
 * certificate for 127.0.0.1, the police's encryption key registered, one open case. The two
 * commands run compiled, as installed (dist/: `npm run build:dist`, which the npm script runs).
 *
 * A. One large export (`--mib`, default 1024 MiB). The request is granted before the bank's
 *    gateway starts; `veritrace exchange serve` (HTTPS on loopback) finds the grant and runs its
 *    handler, `node scripts/lib/bench-export.ts` (a deterministic CSV generator), seals the export
 *    and offers it; as soon as the gateway logs the offer this script starts
 *    `veritrace exchange fetch`, which downloads over HTTPS, decrypts and verifies, co-signs the
 *    delivery on chain and renames the plaintext into the output folder. Timed, end to end: from
 *    the handler's start (the time it writes first) to the exit of `fetch` (the plaintext renamed
 *    into place, the delivery on the ledger). Reported apart: sealing (the handler's start to the
 *    offer logged: generation, encryption, both hashes, the envelope written) and fetching (the
 *    `fetch` process's start to its exit). MB/s are 10^6 bytes of plaintext a second. Peak memory
 *    of each process is its VmHWM, read from /proc every 50 ms while it runs (the high-water mark
 *    only grows, so the last read before the exit holds the peak): the gateway (provider) and
 *    `fetch` (requester); the handler is not counted.
 * B. `--small` deliveries (default 1 000) of 10 KiB each: the requests and grants are made first
 *    (not timed), then the gateway is started again (its handler now `cat` of a 10 KiB file) and,
 *    from its "listening" line until the last delivery is acknowledged, this process runs
 *    `--concurrency` (default 8) requester loops calling `fetchDelivery` (src/exchange/fetch.ts):
 *    each asks for its offer (again every 250 ms until the gateway has made it), downloads,
 *    verifies, and submits the co-signed delivery on chain. Deliveries per second: the count over
 *    that interval.
 *
 * Each plaintext is checked afterwards, by SHA-256 streamed from the file, against the bytes the
 * handler produced (the generator run again in this process; the 10 KiB file): a difference exits
 * 1 with one line. Targets (the issue's): ≥ 100 MB/s end to end, each process ≤ 256 MB peak,
 * ≥ 20 small deliveries a second; a missed target is reported (`met: false`), not an error. The
 * last line printed is one JSON object; with --json, the only one.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import {
  createReadStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { fileURLToPath } from "node:url";
import { NonceManager, Wallet } from "ethers";
import {
  DataKind,
  Investigator,
  Provider,
  Supervisor,
  generateCaseKey,
  generateEncryptionIdentity,
  registerEncryptionKey,
  writeDeployment,
} from "../src/client/index.js";
import { connectInstitution } from "../src/chain/institution.js";
import { fetchDelivery, FetchError, fetchFiles } from "../src/exchange/fetch.js";
import {
  ACCOUNT_INDEX,
  KEYSTORE_ENV,
  nodeWallet,
  startGateway,
  writeKeystores,
  writeLoopbackCertificate,
  type GatewayProcess,
} from "./lib/exchange-processes.js";
import { startConsortiumNode, type ConsortiumNode } from "../test/helpers/tracer.js";
import { fmt, peakRssMb } from "./lib/bench.js";
import { exportPieces } from "./lib/bench-export.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const GENERATOR = path.join(ROOT, "scripts", "lib", "bench-export.ts");
/**
 * The command as an installed package runs it: compiled (dist/, `npm run build:dist`), without
 * the TypeScript loader that bin/veritrace.mjs uses in a checkout.
 */
const CLI = path.join(ROOT, "dist", "src", "cli", "main.js");
const MIB = 1024 * 1024;
const SMALL_BYTES = 10 * 1024;
const DAY = 86_400;
const TARGET_MBPS = 100;
const TARGET_RSS_MB = 256;
const TARGET_SMALL_PER_SECOND = 20;
/** How often a requester loop asks again for an offer the gateway has not made yet. */
const OFFER_RETRY_MS = 250;

export interface BenchExchangeOptions {
  mib: number;
  small: number;
  concurrency: number;
  json: boolean;
}

const USAGE =
  "usage: bench-exchange [--mib N (default 1024)] [--small N (default 1000)] [--concurrency N (default 8)] [--json]";

export function parseBenchExchangeArgs(args: readonly string[]): BenchExchangeOptions {
  const o: BenchExchangeOptions = { mib: 1024, small: 1000, concurrency: 8, json: false };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--json") o.json = true;
    else if (a === "--mib" || a === "--small" || a === "--concurrency") {
      const v = Number(args[++i]);
      if (!Number.isSafeInteger(v) || v < 1)
        throw new Error(`${a} must be an integer ≥ 1\n${USAGE}`);
      o[a.slice(2) as "mib" | "small" | "concurrency"] = v;
    } else throw new Error(`unknown option ${JSON.stringify(a)}\n${USAGE}`);
  }
  return o;
}

const progress = (line: string) => process.stderr.write(`bench-exchange: ${line}\n`);

/**
 * Checks that the plaintext `fetch` wrote is what the handler produced (`expected`: its SHA-256,
 * hex): the file is hashed as it streams, never read whole. A difference throws one line.
 */
export async function verifyPlaintext(
  file: string,
  expected: string,
  requestId: bigint,
): Promise<void> {
  const h = createHash("sha256");
  await pipeline(createReadStream(file, { highWaterMark: MIB }), h);
  const got = h.digest("hex");
  if (got !== expected)
    throw new Error(
      `the verified plaintext of request ${requestId} is not what the handler produced: sha256 ${got}, expected ${expected}`,
    );
}

/** Samples a process's VmHWM every 50 ms until stopped; the largest value seen, in MB. */
function rssSampler(pid: number): { stop(): number } {
  let peak = 0;
  const read = () => {
    const mb = peakRssMb(pid);
    if (mb !== undefined && mb > peak) peak = mb;
  };
  read();
  const timer = setInterval(read, 50);
  return {
    stop() {
      clearInterval(timer);
      read();
      return peak;
    },
  };
}

interface World {
  node: ConsortiumNode;
  dir: string;
  police: Investigator;
  bank: Provider;
  identity: string;
  caseId: bigint;
  file(name: string): string;
  gatewayArgs(handler: string): string[];
}

async function setUp(node: ConsortiumNode, dir: string): Promise<World> {
  const file = (name: string) => path.join(dir, name);
  writeDeployment(file("deployment.json"), node.record);
  await writeKeystores(dir, ["police", "bank"]);
  const tls = writeLoopbackCertificate(dir);
  const { contracts, cast } = node;
  const police = new Investigator(contracts, cast.police.signer);
  const bank = new Provider(contracts, cast.bank.signer);
  const { identity, publicKey } = await generateEncryptionIdentity();
  await registerEncryptionKey(contracts, cast.police.signer, publicKey);
  writeFileSync(file("police.age"), `${identity}\n`, { mode: 0o600 });
  const now = Number(await police.now());
  const { caseId } = await police.openCase({
    caseNumber: "BENCH-EXCHANGE-1",
    caseKey: generateCaseKey(),
    legalBasis: "order",
    scope: [DataKind.BankTransactions],
    expiresAt: now + 365 * DAY,
  });
  await new Supervisor(contracts, cast.prosecutor.signer).approveCase(caseId);
  const keyArgs = (who: string) => [
    "--rpc",
    node.url,
    "--deployment",
    file("deployment.json"),
    "--keystore",
    file(`${who}.json`),
  ];
  return {
    node,
    dir,
    police,
    bank,
    identity,
    caseId,
    file,
    gatewayArgs: (handler) => [
      "--handler",
      handler,
      "--dir",
      file("gateway"),
      "--tls-cert",
      tls.cert,
      "--tls-key",
      tls.key,
      "--poll",
      "1",
      ...keyArgs("bank"),
    ],
  };
}

/** A request of the police to the bank, granted. */
async function grantedRequest(w: World, maxRecords: number): Promise<bigint> {
  const { requestId } = await w.police.request({
    caseId: w.caseId,
    provider: w.node.cast.bank.id,
    datasetId: w.node.cast.bank.dataset,
    subject: { type: "bankAccount", identifier: "DE89370400440532013000" },
    caseKey: generateCaseKey(),
    purposeCode: 1,
  });
  const now = Number(await w.bank.now());
  await w.bank.grant(requestId, { expiresAt: now + 30 * DAY, maxRecords });
  return requestId;
}

/** Resolves with the gateway's line about `requestId` among `msgs`, seen from now on. */
function gatewayLine(
  gateway: GatewayProcess,
  requestId: bigint,
  msgs: readonly string[],
): Promise<{ line: Record<string, unknown>; at: number }> {
  return new Promise((resolve, reject) => {
    gateway.onLine((line) => {
      if (line["requestId"] === requestId.toString() && msgs.includes(String(line["msg"])))
        resolve({ line, at: Date.now() });
    });
    gateway.child.once("exit", (code) => reject(new Error(`the gateway exited (${code})`)));
  });
}

interface LargeResult {
  plaintextBytes: number;
  seconds: { endToEnd: number; seal: number; fetch: number };
  peakRssMb: { provider: number; requester: number };
}

/** Part A: one large export, handler to verified plaintext. */
async function large(w: World, mib: number): Promise<LargeResult> {
  const bytes = mib * MIB;
  progress(`A: the handler's ${mib} MiB, hashed here first (not timed)`);
  const want = createHash("sha256");
  for (const piece of exportPieces(bytes)) want.update(piece);
  const expected = want.digest("hex");
  const requestId = await grantedRequest(w, 1_000_000_000);
  const started = w.file("handler-started");
  const handler = `${JSON.stringify(process.execPath)} ${JSON.stringify(GENERATOR)} ${bytes} ${JSON.stringify(started)}`;
  const gateway = await startGateway(w.gatewayArgs(handler), KEYSTORE_ENV, CLI);
  const providerRss = rssSampler(gateway.child.pid as number);
  try {
    progress(`A: request ${requestId}: waiting for the gateway's offer`);
    const offered = await gatewayLine(gateway, requestId, ["offered", "refused", "skipped"]);
    if (offered.line["msg"] !== "offered")
      throw new Error(
        `the gateway did not offer request ${requestId}: ${JSON.stringify(offered.line)}`,
      );
    const handlerStart = Number(readFileSync(started, "utf8"));
    progress(`A: offered after ${fmt((offered.at - handlerStart) / 1000, 1)} s; fetching`);
    const out = w.file("out-large");
    const fetchStart = Date.now();
    const child = spawn(
      process.execPath,
      [
        CLI,
        "exchange",
        "fetch",
        "--request",
        requestId.toString(),
        "--gateway",
        gateway.url,
        "--identity",
        w.file("police.age"),
        "--out",
        out,
        "--ca",
        w.file("cert.pem"),
        "--json",
        "--rpc",
        w.node.url,
        "--deployment",
        w.file("deployment.json"),
        "--keystore",
        w.file("police.json"),
      ],
      { cwd: ROOT, env: { ...process.env, ...KEYSTORE_ENV }, stdio: ["ignore", "pipe", "pipe"] },
    );
    const requesterRss = rssSampler(child.pid as number);
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.stdout.resume();
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    const fetchEnd = Date.now();
    const requester = requesterRss.stop();
    if (code !== 0) throw new Error(`exchange fetch exited with ${code}: ${stderr.trim()}`);
    const file = fetchFiles(out, requestId, 0).plaintext;
    await verifyPlaintext(file, expected, requestId);
    rmSync(file);
    return {
      plaintextBytes: bytes,
      seconds: {
        endToEnd: (fetchEnd - handlerStart) / 1000,
        seal: (offered.at - handlerStart) / 1000,
        fetch: (fetchEnd - fetchStart) / 1000,
      },
      peakRssMb: { provider: providerRss.stop(), requester },
    };
  } finally {
    providerRss.stop();
    await gateway.stop();
    // The large envelope is not needed again (the gateway's cursor has passed its grant).
    rmSync(w.file(path.join("gateway", "offers", requestId.toString())), {
      recursive: true,
      force: true,
    });
  }
}

interface SmallResult {
  deliveries: number;
  seconds: number;
  perSecond: number;
  setupSeconds: number;
  providerPeakRssMb: number;
}

/** Part B: many small deliveries, on chain, with `concurrency` requester loops. */
async function small(w: World, count: number, concurrency: number): Promise<SmallResult> {
  const content = Buffer.concat([...exportPieces(SMALL_BYTES)]);
  const source = w.file("small.csv");
  writeFileSync(source, content);
  const expected = createHash("sha256").update(content).digest("hex");

  progress(`B: ${count} requests and grants (not timed)`);
  const setupStart = Date.now();
  const ids: bigint[] = [];
  for (let i = 0; i < count; i++) {
    ids.push(await grantedRequest(w, 1_000_000));
    if ((i + 1) % 100 === 0) progress(`B: ${i + 1} granted`);
  }
  const setupSeconds = (Date.now() - setupStart) / 1000;

  const gateway = await startGateway(
    w.gatewayArgs(`cat ${JSON.stringify(source)}`),
    KEYSTORE_ENV,
    CLI,
  );
  const start = Date.now();
  const providerRss = rssSampler(gateway.child.pid as number);
  const out = w.file("out-small");
  mkdirSync(out, { recursive: true });
  // The police's key as `exchange fetch` holds it (a local wallet over the institution's
  // connection), with one nonce counter for the loops' concurrent transactions.
  const police = await connectInstitution({
    rpc: w.node.url,
    deployment: w.file("deployment.json"),
    key: new Wallet(nodeWallet(ACCOUNT_INDEX.police).privateKey),
  });
  const signer = new NonceManager(police.signer);
  const chainId = BigInt(police.record.chainId);
  const ca = readFileSync(w.file("cert.pem"));
  try {
    let next = 0;
    let done = 0;
    const worker = async () => {
      for (let i = next++; i < ids.length; i = next++) {
        const requestId = ids[i] as bigint;
        for (;;) {
          try {
            await fetchDelivery({
              contracts: police.contracts,
              signer,
              chainId,
              gateway: gateway.url,
              requestId,
              identities: [w.identity],
              outDir: out,
              ca,
            });
            break;
          } catch (e) {
            if (!(e instanceof FetchError && e.reason === "no-offer")) throw e;
            await new Promise((r) => setTimeout(r, OFFER_RETRY_MS));
          }
        }
        if (++done % 100 === 0) progress(`B: ${done} delivered`);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    const seconds = (Date.now() - start) / 1000;
    for (const requestId of ids) {
      await verifyPlaintext(fetchFiles(out, requestId, 0).plaintext, expected, requestId);
    }
    return {
      deliveries: count,
      seconds,
      perSecond: count / seconds,
      setupSeconds,
      providerPeakRssMb: providerRss.stop(),
    };
  } finally {
    providerRss.stop();
    await gateway.stop();
    police.close();
  }
}

async function main(o: BenchExchangeOptions): Promise<number> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build:dist first`);
  const dir = mkdtempSync(path.join(tmpdir(), "veritrace-bench-exchange-"));
  let node: ConsortiumNode | undefined;
  try {
    progress("starting anvil and deploying the consortium");
    node = await startConsortiumNode("anvil");
    const w = await setUp(node, dir);
    const a = await large(w, o.mib);
    const b = await small(w, o.small, o.concurrency);
    const mb = a.plaintextBytes / 1e6;
    const throughputMBps = rate(mb / a.seconds.endToEnd);
    const provider = Math.max(a.peakRssMb.provider, b.providerPeakRssMb);
    const requester = a.peakRssMb.requester;
    const perSecond = rate(b.perSecond);
    const result = {
      plaintextMiB: o.mib,
      throughputMBps,
      sealMBps: rate(mb / a.seconds.seal),
      fetchMBps: rate(mb / a.seconds.fetch),
      seconds: {
        endToEnd: round2(a.seconds.endToEnd),
        seal: round2(a.seconds.seal),
        fetch: round2(a.seconds.fetch),
      },
      peakRssMb: { provider, requester },
      smallDeliveries: b.deliveries,
      smallDeliveriesPerSecond: perSecond,
      smallSeconds: round2(b.seconds),
      smallSetupSeconds: round2(b.setupSeconds),
      concurrency: o.concurrency,
      plaintextVerified: true,
      targets: {
        throughputMBps: { target: TARGET_MBPS, met: throughputMBps >= TARGET_MBPS },
        peakRssMb: {
          target: TARGET_RSS_MB,
          met: provider <= TARGET_RSS_MB && requester <= TARGET_RSS_MB,
        },
        smallDeliveriesPerSecond: {
          target: TARGET_SMALL_PER_SECOND,
          met: perSecond >= TARGET_SMALL_PER_SECOND,
        },
      },
      machine: { cpus: cpus().length, loadAverage: loadavg().map((l) => round2(l)) },
    };
    if (!o.json) {
      console.log(
        `A: ${o.mib} MiB handler → verified plaintext in ${fmt(a.seconds.endToEnd, 1)} s: ${fmt(throughputMBps, 1)} MB/s ` +
          `(sealing ${fmt(a.seconds.seal, 1)} s, fetch ${fmt(a.seconds.fetch, 1)} s); ` +
          `peak RSS gateway ${provider} MB, fetch ${requester} MB`,
      );
      console.log(
        `B: ${b.deliveries} deliveries of 10 KiB, acknowledged on chain, in ${fmt(b.seconds, 1)} s: ` +
          `${fmt(perSecond, 1)} a second (${o.concurrency} requester loops)`,
      );
    }
    console.log(JSON.stringify(result));
    return 0;
  } finally {
    await node?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const round2 = (n: number) => Math.round(n * 100) / 100;
/** A rate to three significant digits (a small run's, on a loaded machine, is well under 0.1). */
const rate = (n: number) => Number(n.toPrecision(3));

if (import.meta.url === `file://${process.argv[1]}`) {
  let options: BenchExchangeOptions;
  try {
    options = parseBenchExchangeArgs(process.argv.slice(2));
  } catch (e) {
    console.error((e as Error).message);
    process.exit(2);
  }
  try {
    process.exitCode = await main(options);
  } catch (e) {
    console.error(`bench-exchange: ${(e as Error).message.split("\n")[0]}`);
    process.exitCode = 1;
  }
  // The node's connection keeps timers: leave once the result is out.
  process.exit();
}
