/**
 * The requester's side between real processes on anvil: `veritrace exchange fetch` against the
 * bank's `veritrace exchange serve`, when things go wrong — a run killed after its acknowledgement
 * reached the ledger, the provider killed mid-transfer, a grant revoked mid-download, an expired
 * grant, a full disk, the requester's key rotated — and the automatic mode (`--all`, `--watch`).
 * Every refusal is one line, and no plaintext (nor a staged one) is left behind on a failure.
 */
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline";
import { expect } from "chai";
import {
  encryptionKeyHistory,
  generateEncryptionIdentity,
  registerEncryptionKey,
} from "../../src/client/index.js";
import { fetchFiles } from "../../src/exchange/fetch.js";
import { envelopePath, gatewayDomain, signedRequestHeaders } from "../../src/exchange/protocol.js";
import {
  BIN,
  DAY,
  ExchangeBed,
  LARGE,
  LARGE_LINES,
  cuttingProxy,
  exportOf,
  oneLine,
} from "../helpers/exchange-gateway.js";
import { ROOT, runVeritrace } from "../helpers/tracer.js";

/** What a failed fetch may leave in `out`: ciphertext and the signed offer, never plaintext. */
function noPlaintext(out: string): void {
  const names = existsSync(out) ? readdirSync(out) : [];
  expect(names.filter((n) => /\.data($|\.verified|.*\.partial$)/.test(n))).to.deep.equal([]);
}

/** Runs `veritrace` (prefixed by `wrap`, e.g. prlimit), as runVeritrace does. */
function run(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  wrap: readonly string[] = [],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const argv = [...wrap, process.execPath, BIN, ...args];
  const child = spawn(argv[0] as string, argv.slice(1), {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
  child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr }));
  });
}

const lines = (stdout: string) =>
  stdout
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe("veritrace exchange fetch: recovery, refusals and the automatic mode, on anvil", function () {
  this.timeout(240_000);
  let bed: ExchangeBed;
  const file = (name: string) => bed.file(name);
  const waitFor = async (what: string, check: () => boolean | Promise<boolean>) => {
    for (let i = 0; i < 600; i++) {
      if (await check()) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`timed out waiting for ${what}`);
  };
  const allArgs = (out: string, gateways: string[]) => [
    "exchange",
    "fetch",
    "--all",
    ...gateways.flatMap((g) => ["--gateway", g]),
    "--identity",
    file("police.age"),
    "--out",
    out,
    "--ca",
    file("cert.pem"),
    ...bed.keyArgs("police"),
  ];
  const bankGateway = () => `${bed.node.cast.bank.id}=${bed.gateway.url}`;

  before(async function () {
    bed = await ExchangeBed.start();
    await bed.serve();
  });

  after(async function () {
    await bed?.stop();
  });

  it("a run killed after its acknowledgement was mined is finished by the next, without a second acknowledgement", async function () {
    const requestId = await bed.grantedRequest(1);
    await bed.logged("offered", requestId);
    const out = file("out-crash");
    // The acknowledgement waits in the pool (no automine) while the fetch waits for its receipt:
    // the fetch is killed there, then the block is mined. Nothing of the fetch is changed for it.
    await bed.node.rpc.call("evm_setAutomine", [false]);
    const child = spawn(process.execPath, [BIN, ...bed.fetchArgs(requestId, out)], {
      cwd: ROOT,
      env: { ...process.env, ...bed.env },
      stdio: "ignore",
    });
    const exited = new Promise((r) => child.once("exit", r));
    try {
      await waitFor("the acknowledgement in the pool", async () => {
        const s = (await bed.node.rpc.call("txpool_status", [])) as { pending: string };
        return Number(s.pending) > 0;
      });
      child.kill("SIGKILL");
      await exited;
      await bed.node.rpc.call("evm_mine", []);
    } finally {
      await bed.node.rpc.call("evm_setAutomine", [true]);
    }
    const [ack, ...more] = await bed.attested(requestId);
    expect(more).to.have.length(0);
    const files = fetchFiles(out, requestId, 0);
    expect(existsSync(files.plaintext)).to.equal(false);
    expect(existsSync(files.download)).to.equal(true);
    expect(existsSync(files.offer)).to.equal(true);
    // As a run killed while opening would leave it: an unverified temporary plaintext.
    writeFileSync(`${files.staged}.4242.0a1b2c.partial`, "not verified");

    const r = await runVeritrace(bed.fetchArgs(requestId, out), bed.env);
    expect(r.code, r.stderr).to.equal(0);
    const summary = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(summary).to.include({
      sequence: 0,
      recovered: true,
      deliveryId: ack?.args.deliveryId.toString(),
    });
    expect(readFileSync(files.plaintext, "utf8")).to.equal(exportOf(requestId, 3));
    expect(await bed.attested(requestId)).to.have.length(1);
    expect(readdirSync(out)).to.deep.equal([path.basename(files.plaintext)]);
  });

  it("after such a crash with the files gone: fetched again by sequence, verified against the ledger, not acknowledged twice", async function () {
    const requestId = await bed.grantedRequest(2);
    await bed.logged("offered", requestId);
    const out = file("out-crash-gone");
    await bed.node.rpc.call("evm_setAutomine", [false]);
    const child = spawn(process.execPath, [BIN, ...bed.fetchArgs(requestId, out)], {
      cwd: ROOT,
      env: { ...process.env, ...bed.env },
      stdio: "ignore",
    });
    const exited = new Promise((r) => child.once("exit", r));
    try {
      await waitFor("the acknowledgement in the pool", async () => {
        const s = (await bed.node.rpc.call("txpool_status", [])) as { pending: string };
        return Number(s.pending) > 0;
      });
      child.kill("SIGKILL");
      await exited;
      await bed.node.rpc.call("evm_mine", []);
    } finally {
      await bed.node.rpc.call("evm_setAutomine", [true]);
    }
    rmSync(out, { recursive: true });
    const args = [...bed.fetchArgs(requestId, out), "--sequence", "0"];
    const r = await runVeritrace(args, bed.env);
    expect(r.code, r.stderr).to.equal(0);
    expect(JSON.parse(r.stdout)).to.include({ recovered: true, resumedAt: 0 });
    expect(readFileSync(fetchFiles(out, requestId, 0).plaintext, "utf8")).to.equal(
      exportOf(requestId, 3),
    );
    expect(await bed.attested(requestId)).to.have.length(1);
    // Asked again, the plaintext is there: nothing overwritten, nothing submitted.
    expect(oneLine(await runVeritrace(args, bed.env))).to.match(/exists; nothing was overwritten$/);
  });

  it("the provider killed mid-transfer (SIGKILL), restarted: the download resumes from the partial file", async function () {
    const requestId = await bed.grantedRequest(LARGE);
    const offered = await bed.logged("offered", requestId);
    const total = Number(offered["ciphertextBytes"]);
    const out = file("out-provider-killed");
    const proxy = await cuttingProxy(Number(new URL(bed.gateway.url).port), 120_000, true);
    const partial = fetchFiles(out, requestId, 0).download;
    let line: string;
    try {
      const fetching = runVeritrace(bed.fetchArgs(requestId, out, proxy.url), bed.env);
      await waitFor("a partial download", () => existsSync(partial) && statSync(partial).size > 0);
      // The gateway dies with the transfer under way.
      bed.gateway.child.kill("SIGKILL");
      await new Promise((r) => bed.gateway.child.once("exit", r));
      line = oneLine(await fetching);
    } finally {
      proxy.close();
    }
    const kept = statSync(partial).size;
    expect(kept).to.be.greaterThan(0).and.lessThan(total);
    expect(line).to.match(new RegExp(`the transfer stopped after ${kept} of ${total} bytes`));
    noPlaintext(out);

    await bed.restartGateway();
    const r = await run(allArgs(out, [bankGateway()]), bed.env);
    const mine = lines(r.stdout).find((l) => l["requestId"] === requestId.toString());
    expect(mine, r.stdout + r.stderr).to.include({ status: "fetched", from: kept, sequence: 0 });
    expect(readFileSync(String(mine?.["file"]), "utf8")).to.equal(exportOf(requestId, LARGE_LINES));
    expect(existsSync(partial)).to.equal(false);
  });

  it("a grant revoked mid-download: the gateway refuses the rest, the fetch refuses in one line, nothing is written", async function () {
    const requestId = await bed.grantedRequest(LARGE);
    const offered = await bed.logged("offered", requestId);
    const out = file("out-revoked-mid");
    const proxy = await cuttingProxy(Number(new URL(bed.gateway.url).port), 100_000);
    try {
      oneLine(await runVeritrace(bed.fetchArgs(requestId, out, proxy.url), bed.env));
    } finally {
      proxy.close();
    }
    const partial = fetchFiles(out, requestId, 0).download;
    const kept = statSync(partial).size;
    expect(kept).to.be.greaterThan(0);
    await bed.bank.revokeGrant(requestId, 1);
    // The resumption, asked of the gateway directly: refused.
    const p = envelopePath(requestId, 0);
    const { chainId, contracts } = bed.node.record;
    const signed = await signedRequestHeaders(
      bed.policeSigner,
      gatewayDomain(chainId, contracts.AccessLedger),
      { method: "GET", path: p, requestId },
    );
    const direct = await bed.signedGet(bed.gateway.url, p, requestId, bed.policeSigner, {
      ...signed,
      range: `bytes=${kept}-${Number(offered["ciphertextBytes"]) - 1}`,
    });
    expect(direct.status).to.equal(403);
    expect(direct.body).to.include({ code: "grant_not_live" });
    // The fetch: refused before asking; the ciphertext that can never be completed is dropped.
    const r = await runVeritrace(bed.fetchArgs(requestId, out), bed.env);
    expect(oneLine(r)).to.match(new RegExp(`request ${requestId} is Revoked, not granted$`));
    expect(readdirSync(out)).to.deep.equal([]);
    expect(await bed.attested(requestId)).to.have.length(0);
  });

  it("a full disk (RLIMIT_FSIZE): one line, no plaintext; a later run with room resumes and succeeds", async function () {
    const requestId = await bed.grantedRequest(LARGE);
    const offered = await bed.logged("offered", requestId);
    const total = Number(offered["ciphertextBytes"]);
    const limit = 65_536;
    expect(total).to.be.greaterThan(limit);
    const out = file("out-full-disk");
    const r = await run(bed.fetchArgs(requestId, out), bed.env, [
      "prlimit",
      `--fsize=${limit}`,
      "--",
    ]);
    expect(oneLine(r)).to.match(
      new RegExp(
        `cannot write the envelope to \\S+ after ${limit} of ${total} bytes: EFBIG; the bytes kept are resumed from by the next run$`,
      ),
    );
    noPlaintext(out);
    expect(await bed.attested(requestId)).to.have.length(0);
    const again = await runVeritrace(bed.fetchArgs(requestId, out), bed.env);
    expect(again.code, again.stderr).to.equal(0);
    const summary = JSON.parse(again.stdout) as Record<string, unknown>;
    expect(summary).to.include({ resumedAt: limit, recovered: false });
    expect(readFileSync(String(summary["file"]), "utf8")).to.equal(
      exportOf(requestId, LARGE_LINES),
    );
  });

  it("--all: every granted request fetched, one JSON line each, past a failure, exit 1 for it", async function () {
    const a = await bed.grantedRequest(11);
    const b = await bed.grantedRequest(12);
    const bad = await bed.grantedRequest(LARGE);
    await bed.logged("offered", a);
    await bed.logged("offered", b);
    await bed.logged("offered", bad);
    const envelope = path.join(file("gateway"), "offers", bad.toString(), "0.age");
    const bytes = readFileSync(envelope);
    bytes[100_000] = (bytes[100_000] as number) ^ 0x01;
    writeFileSync(envelope, bytes);
    const out = file("out-all");
    const r = await run([...allArgs(out, [bankGateway()]), "--concurrency", "2"], bed.env);
    expect(r.code, r.stderr).to.equal(1);
    const report = lines(r.stdout);
    const of = (id: bigint) => report.filter((l) => l["requestId"] === id.toString());
    for (const id of [a, b]) {
      const [fetched, ...rest] = of(id);
      expect(fetched, r.stdout).to.include({ status: "fetched", sequence: 0, from: 0 });
      expect(readFileSync(String(fetched?.["file"]), "utf8")).to.equal(exportOf(id, 3));
      // Then: no further offer.
      expect(rest.map((l) => l["status"])).to.deep.equal(["skipped"]);
    }
    const [failed, ...none] = of(bad);
    expect(none).to.have.length(0);
    expect(failed).to.include({ status: "failed" });
    expect(String(failed?.["detail"])).to.match(/chunk \d+ failed authentication/);
    expect(existsSync(fetchFiles(out, bad, 0).plaintext)).to.equal(false);
    expect(readdirSync(out).filter((n) => n.includes(`request-${bad}-`))).to.deep.equal([]);
    // Not fetched by later runs of these tests.
    await bed.bank.revokeGrant(bad, 1);
  });

  it("--all with no gateway for the provider: each request skipped once, naming the provider", async function () {
    const requestId = await bed.grantedRequest(13);
    await bed.logged("offered", requestId);
    const r = await run(allArgs(file("out-no-gateway"), ["999=https://127.0.0.1:1"]), bed.env);
    expect(r.code, r.stderr).to.equal(0);
    const mine = lines(r.stdout).filter((l) => l["requestId"] === requestId.toString());
    expect(mine).to.have.length(1);
    expect(mine[0]).to.include({
      status: "skipped",
      provider: bed.node.cast.bank.id,
      reason: `no --gateway for provider ${bed.node.cast.bank.id}`,
    });
    noPlaintext(file("out-no-gateway"));
  });

  it("--all --watch: follows the ledger and fetches a grant made meanwhile; stops on SIGTERM with exit 0", async function () {
    const out = file("out-watch");
    const child = spawn(
      process.execPath,
      [BIN, ...allArgs(out, [bankGateway()]), "--watch", "--poll", "1"],
      { cwd: ROOT, env: { ...process.env, ...bed.env }, stdio: ["ignore", "pipe", "pipe"] },
    );
    const seen: Record<string, unknown>[] = [];
    createInterface({ input: child.stdout }).on("line", (l) =>
      seen.push(JSON.parse(l) as Record<string, unknown>),
    );
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((r) => child.once("exit", r));
    try {
      const requestId = await bed.grantedRequest(14);
      await waitFor(
        "the new grant fetched",
        () =>
          seen.some((l) => l["requestId"] === requestId.toString() && l["status"] === "fetched") ||
          child.exitCode !== null,
      );
      expect(child.exitCode, stderr).to.equal(null);
      expect(readFileSync(fetchFiles(out, requestId, 0).plaintext, "utf8")).to.equal(
        exportOf(requestId, 3),
      );
    } finally {
      child.kill("SIGTERM");
    }
    expect(await exited, stderr).to.equal(0);
  });

  it("an expired case (and with it its grant, which cannot outlive it): refused by the gateway and by the fetch, in one line, nothing written", async function () {
    const expiring = await bed.openCase("EXPIRING", 2);
    const requestId = await bed.grantedRequest(15, { caseId: expiring, days: 1 });
    await bed.logged("offered", requestId);
    await bed.node.rpc.call("evm_increaseTime", [3 * DAY]);
    await bed.node.rpc.call("evm_mine", []);
    expect(await bed.node.contracts.cases.isActive(expiring)).to.equal(false);
    const direct = await bed.signedGet(
      bed.gateway.url,
      envelopePath(requestId, 0),
      requestId,
      bed.policeSigner,
    );
    expect(direct.status).to.equal(403);
    expect(direct.body).to.include({ code: "grant_not_live" });
    const out = file("out-expired");
    const r = await runVeritrace(bed.fetchArgs(requestId, out), bed.env);
    expect(oneLine(r)).to.match(new RegExp(`the grant of request ${requestId} expired at \\S+Z$`));
    noPlaintext(out);
    expect(existsSync(out) ? readdirSync(out) : []).to.deep.equal([]);
  });

  it("the requester's key rotated between offer and fetch: without the old identity refused naming its key; with it, fetched", async function () {
    const requestId = await bed.grantedRequest(16);
    const offered = await bed.logged("offered", requestId);
    const { contracts, cast } = bed.node;
    const [old] = await encryptionKeyHistory(contracts, cast.police.id);
    const fresh = await generateEncryptionIdentity();
    await registerEncryptionKey(contracts, cast.police.signer, fresh.publicKey);
    const oldIdentity = readFileSync(file("police.age"), "utf8");
    writeFileSync(file("police.age"), `${fresh.identity}\n`, { mode: 0o600 });
    const out = file("out-rotated");
    const r = await runVeritrace(bed.fetchArgs(requestId, out), bed.env);
    expect(oneLine(r)).to.match(
      new RegExp(
        `the envelope is sealed to encryption key ${old?.keyId} \\(${old?.recipient}, this institution's until \\S+Z\\) and none of the identities given is of that key$`,
      ),
    );
    noPlaintext(out);
    expect(existsSync(out) ? readdirSync(out) : []).to.deep.equal([]);
    // Kept beside the new one, the old identity opens what was sealed to it.
    writeFileSync(file("police.age"), `${fresh.identity}\n${oldIdentity}`, { mode: 0o600 });
    const again = await runVeritrace(bed.fetchArgs(requestId, out), bed.env);
    expect(again.code, again.stderr).to.equal(0);
    const summary = JSON.parse(again.stdout) as Record<string, unknown>;
    expect(summary["payloadHash"]).to.equal(offered["payloadHash"]);
    expect(readFileSync(String(summary["file"]), "utf8")).to.equal(exportOf(requestId, 3));
  });
});
