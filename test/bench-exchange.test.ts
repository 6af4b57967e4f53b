/**
 * `npm run bench:exchange` at a tiny size: the script runs end to end (anvil, the gateway and fetch
 * as processes, small deliveries on chain), verifies the plaintexts, and ends with its JSON line.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import path from "node:path";
import { expect } from "chai";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { parseBenchExchangeArgs, verifyPlaintext } from "../scripts/bench-exchange.js";
import { ROOT } from "./helpers/tracer.js";

const TSX = path.join(ROOT, "node_modules", ".bin", "tsx");

function runBench(
  args: readonly string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(TSX, [path.join(ROOT, "scripts", "bench-exchange.ts"), ...args], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.once("error", reject);
    child.once("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("npm run bench:exchange", function () {
  it("defaults to 1 GiB, 1,000 small deliveries and 8 requester loops; refuses a bad option", function () {
    expect(parseBenchExchangeArgs([])).to.deep.equal({
      mib: 1024,
      small: 1000,
      concurrency: 8,
      json: false,
    });
    expect(parseBenchExchangeArgs(["--mib", "2", "--small", "5", "--json"])).to.deep.equal({
      mib: 2,
      small: 5,
      concurrency: 8,
      json: true,
    });
    expect(() => parseBenchExchangeArgs(["--mib", "0"])).to.throw(/--mib must be an integer/);
    expect(() => parseBenchExchangeArgs(["--small", "1.5"])).to.throw(/--small must be/);
    expect(() => parseBenchExchangeArgs(["--fast"])).to.throw(/unknown option/);
  });

  it("fails in one line when a plaintext is not what the handler produced", async function () {
    const dir = mkdtempSync(path.join(tmpdir(), "veritrace-bench-exchange-test-"));
    try {
      const file = path.join(dir, "plain");
      writeFileSync(file, "account,amount\nDE1,100\n");
      const right = createHash("sha256").update("account,amount\nDE1,100\n").digest("hex");
      await verifyPlaintext(file, right, 7n);
      // One byte changed: the amount.
      writeFileSync(file, "account,amount\nDE1,101\n");
      const error = await verifyPlaintext(file, right, 7n).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(error?.message).to.match(
        /^the verified plaintext of request 7 is not what the handler produced: sha256 [0-9a-f]{64}, expected [0-9a-f]{64}$/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("moves 2 MiB and 5 small deliveries through real processes and ends with its JSON line", async function () {
    this.timeout(240_000);
    const r = await runBench(["--mib", "2", "--small", "5", "--json"]);
    expect(r.code, r.stderr).to.equal(0);
    const lines = r.stdout.trim().split("\n");
    // --json: the JSON object is the only line, and so the last.
    expect(lines).to.have.length(1);
    const result = JSON.parse(lines[0] as string) as {
      plaintextMiB: number;
      throughputMBps: number;
      sealMBps: number;
      fetchMBps: number;
      seconds: { endToEnd: number; seal: number; fetch: number };
      peakRssMb: { provider: number; requester: number };
      smallDeliveries: number;
      smallDeliveriesPerSecond: number;
      plaintextVerified: boolean;
      targets: Record<string, { target: number; met: boolean }>;
    };
    expect(result.plaintextMiB).to.equal(2);
    expect(result.plaintextVerified).to.equal(true);
    expect(result.smallDeliveries).to.equal(5);
    for (const n of [
      result.throughputMBps,
      result.sealMBps,
      result.fetchMBps,
      result.smallDeliveriesPerSecond,
    ])
      expect(n).to.be.a("number").and.greaterThan(0);
    // End to end covers both phases, which do not overlap.
    expect(result.seconds.endToEnd).to.be.at.least(
      result.seconds.seal + result.seconds.fetch - 0.01,
    );
    // Real processes were measured: Node alone takes more than 20 MB.
    expect(result.peakRssMb.provider).to.be.greaterThan(20);
    expect(result.peakRssMb.requester).to.be.greaterThan(20);
    expect(result.targets).to.have.all.keys(
      "throughputMBps",
      "peakRssMb",
      "smallDeliveriesPerSecond",
    );
    expect(result.targets["throughputMBps"]).to.deep.equal({
      target: 100,
      met: result.throughputMBps >= 100,
    });
    expect(result.targets["smallDeliveriesPerSecond"]?.target).to.equal(20);
    expect(result.targets["peakRssMb"]).to.deep.equal({
      target: 256,
      met: result.peakRssMb.provider <= 256 && result.peakRssMb.requester <= 256,
    });
  });
});
