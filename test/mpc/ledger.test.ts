import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, request as httpRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { expect } from "chai";
import { HDNodeWallet, encryptKeystoreJson } from "ethers";
import {
  DataKind,
  Investigator,
  Provider,
  Supervisor,
  generateCaseKey,
  matchSession,
  writeDeployment,
} from "../../src/client/index.js";
import { FAILURE_CODES } from "../../src/mpc/ledger.js";
import { MATCH_PATH, transcriptDigest } from "../../src/mpc/index.js";
import { ROOT, runVeritrace, startConsortiumNode, type ConsortiumNode } from "../helpers/tracer.js";

const BIN = path.join(ROOT, "bin", "veritrace.mjs");
const PASSWORD = "a keystore password for the test";
const MNEMONIC = "test test test test test test test test test test test junk";
const DAY = 86_400;

/** n distinct random E.164 numbers (+49 15x…), none in `avoid`. */
function randomPhones(n: number, avoid: ReadonlySet<string> = new Set()): string[] {
  const out = new Set<string>();
  while (out.size < n) {
    const digits = randomBytes(8).readBigUInt64BE() % 10_000_000_000n;
    const phone = `+4915${digits.toString().padStart(10, "0")}`;
    if (!avoid.has(phone)) out.add(phone);
  }
  return [...out];
}

interface Served {
  child: ChildProcess;
  url: string;
  lines: Record<string, unknown>[];
  stop(): Promise<void>;
}

/** `veritrace match serve` on a free port; resolves once it listens. */
async function serve(args: readonly string[], env: NodeJS.ProcessEnv): Promise<Served> {
  const child = spawn(process.execPath, [BIN, "match", "serve", "--port", "0", ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (c: Buffer) => (stderr += c.toString()));
  const lines: Record<string, unknown>[] = [];
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", (line) => {
      const entry = JSON.parse(line) as Record<string, unknown>;
      lines.push(entry);
      if (entry["msg"] === "listening") resolve(String(entry["url"]));
    });
    child.once("exit", (code) => reject(new Error(`match serve exited (${code}): ${stderr}`)));
  });
  return {
    child,
    url,
    lines,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) resolve();
        else {
          child.once("exit", () => resolve());
          child.kill("SIGTERM");
        }
      }),
  };
}

/** A proxy to `target` that flips the last byte of every session response. */
async function tamperingProxy(target: string): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const upstream = httpRequest(new URL(req.url ?? "/", target), {
      method: req.method,
      headers: req.headers,
    });
    upstream.on("response", async (answer) => {
      const parts: Buffer[] = [];
      for await (const c of answer as AsyncIterable<Buffer>) parts.push(c);
      const body = Buffer.concat(parts);
      if (req.url === MATCH_PATH && answer.statusCode === 200 && body.length > 0)
        body.writeUInt8(body.readUInt8(body.length - 1) ^ 0x01, body.length - 1);
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      res.end(body);
    });
    upstream.on("error", () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

/** Exactly one line on stderr naming the command, matching `pattern`, and the exit code. */
function expectOneLine(
  result: { code: number | null; stderr: string },
  command: string,
  pattern: RegExp,
  code = 1,
): void {
  const lines = result.stderr.split("\n").filter((l) => l.length > 0);
  expect(lines, result.stderr).to.have.length(1);
  expect(lines[0]).to.match(new RegExp(`^veritrace ${command}: `));
  expect(lines[0]).to.match(pattern);
  expect(result.code).to.equal(code);
}

interface ResultFile {
  status: string;
  tag: string;
  mode: string;
  cardinality: number;
  matches?: string[];
  requestDigest: string;
  responseDigest: string;
  transcriptDigest: string;
  resultCommitment: string;
  ledger: {
    sessionId: string;
    requestId: string;
    transactions: { open: string; response: string; result: string };
  };
}

/**
 * Matching sessions recorded on the ledger, between two real processes: the telecom operator's
 * `match serve` and the police's `match run` (or the air-gapped commands), on anvil.
 */
describe("veritrace match on the ledger: two processes and the chain", function () {
  this.timeout(120_000);
  let node: ConsortiumNode;
  let dir: string;
  let server: Served;
  let caseId: bigint;
  /** Granted by the telecom: 1000 identifiers. */
  let granted: bigint;
  /** Granted by the bank (another provider). */
  let bankGranted: bigint;
  /** Granted by the telecom: 50 identifiers. */
  let small: bigint;
  /** Not granted. */
  let pending: bigint;
  const file = (name: string) => path.join(dir, name);
  const env = { VERITRACE_KEYSTORE_PASSWORD: PASSWORD };
  const common = randomPhones(15);
  const suspects = [...common, ...randomPhones(45, new Set(common))];
  const subscribers = [...randomPhones(485, new Set(suspects)), ...common];

  const ledgerArgs = (who: "police" | "telecom") => [
    "--rpc",
    node.url,
    "--deployment",
    file("deployment.json"),
    "--keystore",
    file(`${who}.json`),
  ];

  const runArgs = (
    request: bigint,
    mode: string,
    peer = server.url,
    extra: string[] = [],
    ledger = ledgerArgs("police"),
  ) => [
    "match",
    "run",
    "--peer",
    peer,
    "--request",
    request.toString(),
    "--mode",
    mode,
    "--type",
    "phone",
    "--input",
    file("suspects.txt"),
    "--token-file",
    file("token"),
    "--threads",
    "0",
    ...ledger,
    ...extra,
  ];

  /** The MatchFailed reason code recorded for a session. */
  async function failureCodeOf(sessionId: bigint): Promise<number> {
    const m = node.contracts.matching;
    const events = await m.queryFilter(m.filters.MatchFailed(sessionId));
    expect(events).to.have.length(1);
    return Number(events[0]?.args.reasonCode);
  }

  before(async function () {
    dir = mkdtempSync(path.join(tmpdir(), "veritrace-match-ledger-"));
    node = await startConsortiumNode("anvil");
    writeDeployment(file("deployment.json"), node.record);
    // The institutions' keys, as encrypted JSON keystores (anvil's accounts 3 and 6).
    for (const [who, index] of [
      ["police", 3],
      ["telecom", 6],
    ] as const) {
      const wallet = HDNodeWallet.fromPhrase(MNEMONIC, undefined, `m/44'/60'/0'/0/${index}`);
      const signer = who === "police" ? node.cast.police.signer : node.cast.telecom.signer;
      expect(wallet.address).to.equal(await signer.getAddress());
      const json = await encryptKeystoreJson(
        { address: wallet.address, privateKey: wallet.privateKey },
        PASSWORD,
        { scrypt: { N: 1024 } },
      );
      writeFileSync(file(`${who}.json`), json, { mode: 0o600 });
    }
    writeFileSync(file("suspects.txt"), `${suspects.join("\n")}\n`);
    writeFileSync(file("subscribers.txt"), `${subscribers.join("\n")}\n`);
    writeFileSync(file("token"), `${randomBytes(24).toString("hex")}\n`, { mode: 0o600 });

    const { cast, contracts } = node;
    const police = new Investigator(contracts, cast.police.signer);
    const telecom = new Provider(contracts, cast.telecom.signer);
    const now = Number(await police.now());
    ({ caseId } = await police.openCase({
      caseNumber: "PSI-LEDGER-1",
      caseKey: generateCaseKey(),
      legalBasis: "order",
      scope: [DataKind.TelecomSubscribers, DataKind.BankTransactions],
      expiresAt: now + 365 * DAY,
    }));
    await new Supervisor(contracts, cast.prosecutor.signer).approveCase(caseId);
    const ask = async (to: "telecom" | "bank") =>
      (
        await police.request({
          caseId,
          provider: cast[to].id,
          datasetId: cast[to].dataset,
          subject: { type: "phone", identifier: "+41791234567" },
          caseKey: generateCaseKey(),
          purposeCode: 1,
        })
      ).requestId;
    granted = await ask("telecom");
    await telecom.grant(granted, { expiresAt: now + 30 * DAY, maxRecords: 1000 });
    bankGranted = await ask("bank");
    await new Provider(contracts, cast.bank.signer).grant(bankGranted, {
      expiresAt: now + 30 * DAY,
      maxRecords: 1000,
    });
    small = await ask("telecom");
    await telecom.grant(small, { expiresAt: now + 30 * DAY, maxRecords: 50 });
    pending = await ask("telecom");

    server = await serve(
      [
        "--input",
        file("subscribers.txt"),
        "--type",
        "phone",
        "--token-file",
        file("token"),
        "--threads",
        "0",
        ...ledgerArgs("telecom"),
      ],
      env,
    );
  });

  after(async function () {
    await server?.stop();
    await node?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it("the provider's server speaks for the keystore's participant", function () {
    expect(server.lines[0]?.["ledger"]).to.deep.include({ participant: node.cast.telecom.id });
  });

  it("without ledger options (and without --no-ledger) the commands refuse: exit 2, one line", async function () {
    const run = await runVeritrace(runArgs(granted, "psi", server.url, [], []), env);
    expectOneLine(run, "match run", /--no-ledger/, 2);
    const served = await runVeritrace(
      [
        "match",
        "serve",
        "--input",
        file("subscribers.txt"),
        "--type",
        "phone",
        "--token-file",
        file("token"),
      ],
      env,
    );
    expectOneLine(served, "match serve", /recorded on the ledger.*--no-ledger/, 2);
  });

  async function completed(mode: "psi" | "cardinality"): Promise<ResultFile> {
    const out = file(`result-${mode}.json`);
    const result = await runVeritrace(runArgs(granted, mode, server.url, ["--out", out]), env);
    expect(result.code, result.stderr).to.equal(0);
    const written = JSON.parse(readFileSync(out, "utf8")) as ResultFile;
    expect(result.stdout).to.include(`session ${written.ledger.sessionId} (tag ${written.tag})`);
    expect(result.stdout).to.match(/15 of 60 identifiers match/);
    const s = await matchSession(node.contracts, BigInt(written.ledger.sessionId));
    expect(s).to.deep.include({
      status: "completed",
      requestId: granted,
      caseId,
      requester: node.cast.police.id,
      provider: node.cast.telecom.id,
      mode,
      tag: written.tag,
      setSize: 60n,
      providerSetSize: 500n,
      cardinality: BigInt(written.cardinality),
      requestDigest: written.requestDigest,
      responseDigest: written.responseDigest,
      resultCommitment: written.resultCommitment,
    });
    expect(transcriptDigest(written.requestDigest, written.responseDigest)).to.equal(
      written.transcriptDigest,
    );
    const logged = server.lines.find((l) => l["msg"] === "session" && l["tag"] === written.tag);
    expect(logged?.["status"]).to.equal("completed");
    expect(logged?.["transcriptDigest"]).to.equal(written.transcriptDigest);
    return written;
  }

  it("psi: the session completes; the on-chain session matches the off-chain result", async function () {
    const written = await completed("psi");
    expect(written.cardinality).to.equal(15);
    expect([...(written.matches ?? [])].sort()).to.deep.equal([...common].sort());
    expect(
      server.lines.some(
        (l) => l["action"] === "cosigned" && l["sessionId"] === written.ledger.sessionId,
      ),
    ).to.equal(true);
  });

  it("cardinality: the session completes with the count only", async function () {
    const written = await completed("cardinality");
    expect(written.cardinality).to.equal(15);
    expect(written).not.to.have.property("matches");
  });

  it("the tracer shows opening, response and completion in the case's chain of custody", async function () {
    const db = file("db");
    const indexed = await runVeritrace([
      "index",
      "--rpc",
      node.url,
      "--deployment",
      file("deployment.json"),
      "--db",
      db,
      "--finality",
      "0",
    ]);
    expect(indexed.code, indexed.stderr).to.equal(0);
    const shown = await runVeritrace(["case", caseId.toString(), "--db", db, "--json"]);
    expect(shown.code, shown.stderr).to.equal(0);
    const report = JSON.parse(shown.stdout) as {
      custody: { step: string; action: string; requestId: string | null }[];
    };
    const matching = report.custody.filter((e) => e.step.startsWith("match-"));
    expect(matching.map((e) => e.step)).to.deep.equal([
      "match-opening",
      "match-response",
      "match-completion",
      "match-opening",
      "match-response",
      "match-completion",
    ]);
    expect(matching[2]?.action).to.equal("match session 1 completed: 15 matches");
    expect(matching[5]?.action).to.equal("match session 2 completed: cardinality 15");
    for (const e of matching) expect(e.requestId).to.equal(granted.toString());
  });

  it("a request that is not granted: the contract's error in one line, nothing opened", async function () {
    const before = await node.contracts.matching.sessionCount();
    const result = await runVeritrace(runArgs(pending, "psi"), env);
    expectOneLine(
      result,
      "match run",
      new RegExp(
        `RequestNotGranted\\(requestId=${pending}, status=Pending\\); nothing was recorded`,
      ),
    );
    expect(await node.contracts.matching.sessionCount()).to.equal(before);
  });

  it("more identifiers than the grant allows: IdentifierLimitExceeded, nothing opened", async function () {
    const before = await node.contracts.matching.sessionCount();
    const result = await runVeritrace(runArgs(small, "cardinality"), env);
    expectOneLine(
      result,
      "match run",
      new RegExp(`IdentifierLimitExceeded\\(requestId=${small}, total=60, maxRecords=50\\)`),
    );
    expect(await node.contracts.matching.sessionCount()).to.equal(before);
  });

  it("a session opened for another provider: 403, nothing computed, marked failed (wrong session)", async function () {
    const result = await runVeritrace(runArgs(bankGranted, "psi"), env);
    expectOneLine(
      result,
      "match run",
      /403 session-mismatch.*is for participant \d+, this provider is participant \d+; session (\d+) marked failed on the ledger \(code 3, wrong session\)/,
    );
    const id = BigInt(/session (\d+) marked failed/.exec(result.stderr)?.[1] ?? "0");
    expect((await matchSession(node.contracts, id))?.status).to.equal("failed");
    expect(await failureCodeOf(id)).to.equal(FAILURE_CODES["session-mismatch"]);
    const logged = server.lines.filter((l) => l["msg"] === "session").at(-1);
    expect(logged).to.include({ status: "failed", reason: "session-mismatch" });
  });

  it("a tampered response: the requester marks the session failed with the right code", async function () {
    const proxy = await tamperingProxy(server.url);
    try {
      const out = file("tampered.json");
      const result = await runVeritrace(runArgs(granted, "psi", proxy.url, ["--out", out]), env);
      expectOneLine(
        result,
        "match run",
        /the body's SHA-256 .*; session (\d+) marked failed on the ledger \(code 3, wrong session\)/,
      );
      expect(existsSync(out)).to.equal(false);
      const id = BigInt(/session (\d+) marked failed/.exec(result.stderr)?.[1] ?? "0");
      expect((await matchSession(node.contracts, id))?.status).to.equal("failed");
      expect(await failureCodeOf(id)).to.equal(FAILURE_CODES["digest-mismatch"]);
    } finally {
      await new Promise<void>((resolve) => proxy.server.close(() => resolve()));
    }
  });

  it("air-gapped: blind, respond, finish, cosign, record; the session completes", async function () {
    const step = async (command: string, args: string[], who: "police" | "telecom") => {
      const r = await runVeritrace(["match", command, ...args, ...ledgerArgs(who)], env);
      expect(r.code, `${command}: ${r.stderr}`).to.equal(0);
      return r;
    };
    await step(
      "blind",
      [
        "--request",
        granted.toString(),
        "--mode",
        "cardinality",
        "--type",
        "phone",
        "--input",
        file("suspects.txt"),
        "--out",
        file("request.psi"),
        "--state",
        file("state.json"),
      ],
      "police",
    );
    const state = JSON.parse(readFileSync(file("state.json"), "utf8")) as {
      ledger: { sessionId: string };
    };
    const id = BigInt(state.ledger.sessionId);
    expect((await matchSession(node.contracts, id))?.status).to.equal("open");
    await step(
      "respond",
      [
        "--request",
        file("request.psi"),
        "--type",
        "phone",
        "--input",
        file("subscribers.txt"),
        "--out",
        file("response.psi"),
      ],
      "telecom",
    );
    expect(existsSync(file("response.psi.sig.json"))).to.equal(true);
    await step(
      "finish",
      [
        "--state",
        file("state.json"),
        "--response",
        file("response.psi"),
        "--to-cosign",
        file("to-cosign.json"),
        "--out",
        file("result-files.json"),
      ],
      "police",
    );
    expect((await matchSession(node.contracts, id))?.status).to.equal("responded");
    await step(
      "cosign",
      ["--result", file("to-cosign.json"), "--out", file("cosignature.json")],
      "telecom",
    );
    const recorded = await step(
      "record",
      ["--result", file("to-cosign.json"), "--cosignature", file("cosignature.json")],
      "police",
    );
    expect(recorded.stdout).to.match(
      new RegExp(`session ${id} completed on the ledger: cardinality 15`),
    );
    const written = JSON.parse(readFileSync(file("result-files.json"), "utf8")) as ResultFile;
    expect(await matchSession(node.contracts, id)).to.deep.include({
      status: "completed",
      cardinality: 15n,
      resultCommitment: written.resultCommitment,
      responseDigest: written.responseDigest,
    });
  });
});
