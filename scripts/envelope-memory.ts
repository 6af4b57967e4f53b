/**
 * Seals and opens one large export through the delivery envelope, file to file, each in a process
 * of its own, and reports the time and each process's peak resident memory (docs/exchange.md,
 * "Streaming"). The envelope never holds the export: the peak stays flat as the size grows.
 *
 *   npx tsx scripts/envelope-memory.ts [--mib 1024]
 *
 * Needs about three times the size in free space under the system's temporary directory. The
 * last line is one JSON object.
 */
import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { createReadStream, createWriteStream, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { fileURLToPath } from "node:url";
import { generateEncryptionIdentity } from "../src/client/age-keys.js";
import {
  openEnvelopeFile,
  sealEnvelopeFile,
  type EnvelopeBinding,
} from "../src/exchange/envelope.js";

const BINDING: EnvelopeBinding = {
  chainId: 31337n,
  accessLedger: "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0",
  requestId: 1n,
  caseId: 1n,
  provider: 6,
  requester: 4,
  sequence: 0,
  recipientKeyId: 1n,
};

interface Run {
  seconds: number;
  peakRssMb: number;
  commitment: string;
}

/** One side, in this (child) process: prints its figures as JSON. */
async function child(mode: string, input: string, output: string, key: string): Promise<void> {
  const start = performance.now();
  const result =
    mode === "seal"
      ? await sealEnvelopeFile(input, output, { recipient: key, binding: BINDING })
      : await openEnvelopeFile(input, output, [key], { binding: BINDING });
  const run: Run = {
    seconds: (performance.now() - start) / 1000,
    // maxRSS is in KiB.
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    commitment: result.commitment,
  };
  process.stdout.write(`${JSON.stringify(run)}\n`);
}

async function main(mib: number): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), "veritrace-envelope-memory-"));
  const self = fileURLToPath(import.meta.url);
  try {
    const plain = path.join(dir, "export.bin");
    const sealed = path.join(dir, "export.age");
    const opened = path.join(dir, "export.out");
    // Incompressible content, written in 1 MiB pieces; its hash checks the round trip.
    const digest = createHash("sha256");
    const block = randomBytes(1024 * 1024);
    await pipeline(
      (async function* () {
        for (let i = 0; i < mib; i++) {
          block.writeUInt32BE(i, 0);
          digest.update(block);
          yield block;
        }
      })(),
      createWriteStream(plain),
    );
    const want = digest.digest("hex");
    const { identity, publicKey } = await generateEncryptionIdentity();
    const side = (mode: string, input: string, output: string, key: string): Run => {
      const out = execFileSync(
        process.execPath,
        [...process.execArgv, self, "--child", mode, input, output, key],
        {
          encoding: "utf8",
        },
      );
      return JSON.parse(out.trim().split("\n").pop() ?? "{}") as Run;
    };
    const seal = side("seal", plain, sealed, publicKey);
    rmSync(plain);
    const open = side("open", sealed, opened, identity);
    const got = createHash("sha256");
    await pipeline(createReadStream(opened), got);
    if (got.digest("hex") !== want) throw new Error("the opened export differs from the original");
    if (seal.commitment !== open.commitment) throw new Error("the two sides' commitments differ");
    const mb = (mib * 1024 * 1024) / 1e6;
    console.log(
      `${mib} MiB: sealed in ${seal.seconds.toFixed(1)} s (${(mb / seal.seconds).toFixed(0)} MB/s, peak ${seal.peakRssMb} MB), ` +
        `opened and verified in ${open.seconds.toFixed(1)} s (${(mb / open.seconds).toFixed(0)} MB/s, peak ${open.peakRssMb} MB)`,
    );
    console.log(
      JSON.stringify({
        plaintextMiB: mib,
        sealMBps: Math.round(mb / seal.seconds),
        openMBps: Math.round(mb / open.seconds),
        peakRssMb: { seal: seal.peakRssMb, open: open.peakRssMb },
      }),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const args = process.argv.slice(2);
if (args[0] === "--child") {
  const [, mode, input, output, key] = args as [string, string, string, string, string];
  await child(mode, input, output, key);
} else {
  const i = args.indexOf("--mib");
  const mib = i >= 0 ? Number(args[i + 1]) : 1024;
  if (!Number.isInteger(mib) || mib < 1) {
    console.error("--mib: a whole number of MiB, 1 or more");
    process.exit(2);
  }
  await main(mib);
}
