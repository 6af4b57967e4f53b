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
  matchingDomain,
  newSessionTag,
  openMatchSession,
  signMatchResponse,
  signMatchResult,
  writeDeployment,
  type MatchResult,
} from "../../src/client/index.js";
import {
  FAILURE_CODES,
  LEDGER_SESSION_HEADER,
  MATCH_PATH,
  MatchError,
  PsiProvider,
  PsiRequester,
  RESULT_PATH,
  acceptResponse,
  buildResponse,
  connectMatchLedger,
  encodeMessage,
  exchangeWithHeaders,
  readRequestFile,
  requestSignatureHeaders,
  signRequest,
  transcriptDigest,
  writeMessageFile,
  type CosignRequest,
  type MatchLedger,
  type PsiMode,
  type PsiRequestMessage,
} from "../../src/matching/index.js";
import { responseSignatureOf } from "../../src/matching/ledger.js";
import { CHUNKINGS, rawPost } from "../helpers/raw-http.js";
import { startRpcProxy } from "../helpers/rpc-proxy.js";
import {
  ROOT,
  failure,
  runVeritrace,
  startConsortiumNode,
  type ConsortiumNode,
} from "../helpers/tracer.js";

const BIN = path.join(ROOT, "bin", "veritrace.mjs");
const PASSWORD = "a keystore password for the test";
const MNEMONIC = "test test test test test test test test test test test junk";
const DAY = 86_400;

/** n distinct random valid E.164 numbers (German mobiles, +49 151 and 8 digits), none in `avoid`. */
function randomPhones(n: number, avoid: ReadonlySet<string> = new Set()): string[] {
  const out = new Set<string>();
  while (out.size < n) {
    const digits = randomBytes(8).readBigUInt64BE() % 100_000_000n;
    const phone = `+49151${digits.toString().padStart(8, "0")}`;
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

/** One request that went through a {@link proxy}. */
interface Exchange {
  path: string;
  headers: Record<string, string>;
  body: Buffer;
  status: number;
}

/**
 * A proxy to `target` that records every exchange and, with `tamper`, flips the last byte of every
 * session response.
 */
async function proxy(
  target: string,
  options: { tamper?: boolean } = {},
): Promise<{ url: string; server: Server; exchanges: Exchange[] }> {
  const exchanges: Exchange[] = [];
  const server = createServer((req, res) => {
    const sent: Buffer[] = [];
    req.on("data", (c: Buffer) => sent.push(c));
    const upstream = httpRequest(new URL(req.url ?? "/", target), {
      method: req.method,
      headers: req.headers,
    });
    upstream.on("response", async (answer) => {
      const parts: Buffer[] = [];
      for await (const c of answer as AsyncIterable<Buffer>) parts.push(c);
      const body = Buffer.concat(parts);
      if (options.tamper === true && req.url === MATCH_PATH && answer.statusCode === 200)
        body.writeUInt8(body.readUInt8(body.length - 1) ^ 0x01, body.length - 1);
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string") headers[k] = v;
      exchanges.push({
        path: req.url ?? "/",
        headers,
        body: Buffer.concat(sent),
        status: answer.statusCode ?? 0,
      });
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      res.end(body);
    });
    upstream.on("error", () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    server,
    exchanges,
  };
}

const closeServer = (server: Server) =>
  new Promise<void>((resolve) => server.close(() => resolve()));

/** A request of `phones`, blinded with the library under `tag`. */
async function blinded(tag: string, mode: PsiMode, phones: string[]): Promise<PsiRequestMessage> {
  const requester = new PsiRequester({ sessionId: tag, mode, type: "phone" });
  try {
    return await requester.blind(phones);
  } finally {
    requester.dispose();
  }
}

/** A byte of a file flipped (the last by default). */
function flipByte(file: string, fromEnd = 1): void {
  const bytes = readFileSync(file);
  bytes.writeUInt8(bytes.readUInt8(bytes.length - fromEnd) ^ 0x01, bytes.length - fromEnd);
  writeFileSync(file, bytes);
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
  /** Granted by the telecom: 100,000 identifiers (the sessions of the refusals below). */
  let more: bigint;
  const file = (name: string) => path.join(dir, name);
  const env = { VERITRACE_KEYSTORE_PASSWORD: PASSWORD };
  const common = randomPhones(15);
  const suspects = [...common, ...randomPhones(45, new Set(common))];
  const subscribers = [...randomPhones(485, new Set(suspects)), ...common];
  /** 60 numbers in neither set. */
  const others = randomPhones(60, new Set([...suspects, ...subscribers]));

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

  /** `veritrace match COMMAND …` with the ledger options of `who`; `input`, if given, on stdin. */
  const matchCommand = (
    command: string,
    args: string[],
    who: "police" | "telecom",
    input?: string | Uint8Array,
  ) => runVeritrace(["match", command, ...args, ...ledgerArgs(who)], env, input);

  /** {@link matchCommand}, which must succeed. */
  const step = async (
    command: string,
    args: string[],
    who: "police" | "telecom",
    input?: string | Uint8Array,
  ) => {
    const r = await matchCommand(command, args, who, input);
    expect(r.code, `${command}: ${r.stderr}`).to.equal(0);
    return r;
  };

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
    more = await ask("telecom");
    await telecom.grant(more, { expiresAt: now + 30 * DAY, maxRecords: 100_000 });

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
    const tampering = await proxy(server.url, { tamper: true });
    try {
      const out = file("tampered.json");
      const result = await runVeritrace(
        runArgs(granted, "psi", tampering.url, ["--out", out]),
        env,
      );
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
      await closeServer(tampering.server);
    }
  });

  it("air-gapped: blind, respond, finish, cosign, record; the session completes", async function () {
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

  it("air-gapped, each step reading its input from stdin (-); two - or a keystore on stdin refused", async function () {
    const inputArgs = ["--request", more.toString(), "--mode", "psi", "--type", "phone"];
    await step(
      "blind",
      [
        ...inputArgs,
        "--input",
        "-",
        "--out",
        file("piped-request.psi"),
        "--state",
        file("piped-state.json"),
      ],
      "police",
      readFileSync(file("suspects.txt"), "utf8"),
    );
    const state = JSON.parse(readFileSync(file("piped-state.json"), "utf8")) as {
      ledger: { sessionId: string };
    };
    const id = BigInt(state.ledger.sessionId);
    // A request on stdin has no REQUEST.sig.json beside it: its signature file must be named.
    const respondArgs = [
      "--request",
      "-",
      "--type",
      "phone",
      "--input",
      file("subscribers.txt"),
      "--out",
      file("piped-response.psi"),
    ];
    const request = readFileSync(file("piped-request.psi"));
    const unsigned = await matchCommand("respond", respondArgs, "telecom", request);
    expectOneLine(unsigned, "match respond", /give --request-signature FILE$/, 2);
    await step(
      "respond",
      [...respondArgs, "--request-signature", file("piped-request.psi.sig.json")],
      "telecom",
      request,
    );
    await step(
      "finish",
      [
        "--state",
        file("piped-state.json"),
        "--response",
        "-",
        "--signature",
        file("piped-response.psi.sig.json"),
        "--to-cosign",
        file("piped-to-cosign.json"),
        "--out",
        file("piped-result.json"),
      ],
      "police",
      readFileSync(file("piped-response.psi")),
    );
    const toCosign = readFileSync(file("piped-to-cosign.json"), "utf8");
    await step(
      "cosign",
      ["--result", "-", "--out", file("piped-cosignature.json")],
      "telecom",
      toCosign,
    );
    const twice = await matchCommand(
      "record",
      ["--result", "-", "--cosignature", "-"],
      "police",
      toCosign,
    );
    expectOneLine(
      twice,
      "match record",
      /only one input can be - \(stdin\), which is read once; got - for --result and --cosignature$/,
      2,
    );
    const keystore = await runVeritrace(
      [
        "match",
        "record",
        "--result",
        file("piped-to-cosign.json"),
        "--cosignature",
        file("piped-cosignature.json"),
        "--rpc",
        node.url,
        "--deployment",
        file("deployment.json"),
        "--keystore",
        "-",
      ],
      env,
      readFileSync(file("police.json"), "utf8"),
    );
    expectOneLine(keystore, "match record", /--keystore cannot be - \(stdin\)/, 2);
    expect((await matchSession(node.contracts, id))?.status).to.equal("responded");
    const recorded = await step(
      "record",
      ["--result", file("piped-to-cosign.json"), "--cosignature", "-"],
      "police",
      readFileSync(file("piped-cosignature.json"), "utf8"),
    );
    expect(recorded.stdout).to.match(new RegExp(`session ${id} completed on the ledger`));
    expect((await matchSession(node.contracts, id))?.status).to.equal("completed");
  });

  it("air-gapped, each step writing its output to stdout (--out -), the signatures to --signature-out; the session completes", async function () {
    const blindArgs = ["--request", more.toString(), "--mode", "psi", "--type", "phone"];
    const blindTo = [...blindArgs, "--input", file("suspects.txt"), "--out", "-"];
    // A request on stdout has nothing beside it: its signature file must be named, before the
    // session is opened.
    const unsigned = await matchCommand(
      "blind",
      [...blindTo, "--state", file("out-state-unsigned.json")],
      "police",
    );
    expectOneLine(unsigned, "match blind", /give --signature-out FILE for its signature$/, 2);
    expect(existsSync(file("out-state-unsigned.json"))).to.equal(false);
    const blind = await step(
      "blind",
      [
        ...blindTo,
        "--state",
        file("out-state.json"),
        "--signature-out",
        file("out-request.sig.json"),
      ],
      "police",
    );
    expect(blind.stderr).to.match(
      /^request for session \d+, tag 0x[0-9a-f]{64} \(psi\): 60 identifiers on stdout \(signature in .*out-request\.sig\.json\); keep .* private until match finish\n$/,
    );
    const state = JSON.parse(readFileSync(file("out-state.json"), "utf8")) as {
      ledger: { sessionId: string };
    };
    const id = BigInt(state.ledger.sessionId);
    writeFileSync(file("out-request.psi"), blind.stdoutBytes);
    const respond = await step(
      "respond",
      [
        "--request",
        file("out-request.psi"),
        "--request-signature",
        file("out-request.sig.json"),
        "--type",
        "phone",
        "--input",
        file("subscribers.txt"),
        "--out",
        "-",
        "--signature-out",
        file("out-response.sig.json"),
      ],
      "telecom",
    );
    expect(respond.stderr).to.match(
      new RegExp(
        `^response for session ${id}, tag .* on stdout \\(signature in .*out-response\\.sig\\.json\\)\n`,
      ),
    );
    const finish = await step(
      "finish",
      [
        "--state",
        file("out-state.json"),
        "--response",
        "-",
        "--signature",
        file("out-response.sig.json"),
        "--to-cosign",
        file("out-to-cosign.json"),
        "--out",
        "-",
      ],
      "police",
      respond.stdoutBytes,
    );
    expect(finish.stderr).to.equal("");
    const result = JSON.parse(finish.stdout) as ResultFile;
    expect(result.ledger.sessionId).to.equal(id.toString());
    expect([...(result.matches ?? [])].sort()).to.deep.equal([...common].sort());
    const cosign = await step(
      "cosign",
      ["--result", file("out-to-cosign.json"), "--out", "-"],
      "telecom",
    );
    expect(cosign.stderr).to.match(
      new RegExp(`^co-signed the result of session ${id} \\(cardinality 15\\) on stdout\n$`),
    );
    await step(
      "record",
      ["--result", file("out-to-cosign.json"), "--cosignature", "-"],
      "police",
      cosign.stdoutBytes,
    );
    expect(await matchSession(node.contracts, id)).to.deep.include({
      status: "completed",
      cardinality: 15n,
      resultCommitment: result.resultCommitment,
    });
    expect(existsSync(file("-")) || existsSync(path.join(ROOT, "-")), "a file named -").to.equal(
      false,
    );
  });

  it("reaches a node that wants credentials with --rpc-header or the URL's user and password; without them, one line and nothing opened", async function () {
    const token = randomBytes(16).toString("hex");
    const nodePassword = "n0de:p@ss/word";
    const basic = `Basic ${Buffer.from(`police:${nodePassword}`).toString("base64")}`;
    const guarded = await startRpcProxy(node.url, {
      accept: (h) => h.authorization === `Bearer ${token}` || h.authorization === basic,
    });
    let n = 0;
    /** `match blind` on the ledger through the guarded node, with `rpc` and `extra`. */
    const blind = async (rpc: string, extra: string[] = []) => {
      const out = file(`guarded-${++n}.psi`);
      const r = await runVeritrace(
        [
          "match",
          "blind",
          "--request",
          more.toString(),
          "--mode",
          "cardinality",
          "--type",
          "phone",
          "--input",
          file("suspects.txt"),
          "--out",
          out,
          "--state",
          file(`guarded-${n}.state`),
          "--rpc",
          rpc,
          "--deployment",
          file("deployment.json"),
          "--keystore",
          file("police.json"),
          ...extra,
        ],
        { ...env, VERITRACE_RPC_HEADERS: "" },
      );
      for (const secret of [token, nodePassword, encodeURIComponent(nodePassword)])
        expect(r.stdout + r.stderr).to.not.include(secret);
      return { ...r, wrote: existsSync(out) };
    };
    const withPassword = (password: string) =>
      guarded.url.replace("http://", `http://police:${encodeURIComponent(password)}@`);
    try {
      const before = await node.contracts.matching.sessionCount();
      const refusal =
        /HTTP 401 from http:\/\/127\.0\.0\.1:\d+: the node refused the request's credentials \(give them in the URL, with --rpc-header, or in VERITRACE_RPC_HEADERS\)$/;
      for (const refused of [
        await blind(guarded.url),
        await blind(guarded.url, ["--rpc-header", "Authorization: Bearer not-the-token"]),
        await blind(withPassword("not-the-password")),
      ]) {
        expectOneLine(refused, "match blind", refusal);
        expect(refused.wrote).to.equal(false);
      }
      expect(await node.contracts.matching.sessionCount()).to.equal(before);
      expect(guarded.counters.unauthorized).to.equal(3);

      const byHeader = await blind(guarded.url, ["--rpc-header", `Authorization: Bearer ${token}`]);
      expect(byHeader.code, byHeader.stderr).to.equal(0);
      expect(byHeader.wrote).to.equal(true);
      const byUrl = await blind(withPassword(nodePassword));
      expect(byUrl.code, byUrl.stderr).to.equal(0);
      expect(byUrl.wrote).to.equal(true);
      expect(await node.contracts.matching.sessionCount()).to.equal(before + 2n);
      // Every request of the two sessions' openings carried the credentials.
      expect(guarded.counters.unauthorized).to.equal(3);
      expect(guarded.counters.forwarded).to.be.greaterThan(4);
    } finally {
      await guarded.stop();
    }
  });

  // ------------------------------------------------------------ refusals, on the ledger

  const token = () => readFileSync(file("token"), "utf8").trim();
  const sessionLines = () => server.lines.filter((l) => l["msg"] === "session");
  const completedLines = () => sessionLines().filter((l) => l["status"] === "completed").length;
  const hex32 = "0x[0-9a-f]{64}";

  let policeLedger: MatchLedger | null = null;
  /** The police's `MatchRequest` binding of `opened` (the request it opened session `id` with). */
  async function binding(id: bigint, opened: PsiRequestMessage) {
    policeLedger ??= await connectMatchLedger(node.contracts, node.cast.police.signer);
    return signRequest(policeLedger, {
      sessionId: id,
      tag: opened.header.sessionId,
      requestDigest: opened.digest,
    });
  }
  /** The HTTP headers of a request under session `id`, bound by the police. */
  const sessionHeaders = async (id: bigint, opened: PsiRequestMessage) => ({
    [LEDGER_SESSION_HEADER]: id.toString(),
    ...requestSignatureHeaders(await binding(id, opened)),
  });
  /** The police's binding written beside a request file, as `match blind` writes it. */
  async function writeBinding(requestFile: string, id: bigint, opened: PsiRequestMessage) {
    const doc = {
      format: "veritrace-match-request-signature/1",
      sessionId: id.toString(),
      tag: opened.header.sessionId,
      requestDigest: opened.digest,
      requester: await binding(id, opened),
    };
    writeFileSync(`${requestFile}.sig.json`, JSON.stringify(doc));
  }

  /** Opens a session honestly on the ledger, as the police, for a library-blinded request. */
  const openHonestly = (request: PsiRequestMessage, requestId = more): Promise<bigint> =>
    openMatchSession(node.contracts, node.cast.police.signer, {
      requestId,
      mode: request.header.mode,
      tag: request.header.sessionId,
      requestDigest: request.digest,
      setSize: request.header.count,
    });

  /** `fn`'s value once it is not undefined (polled for up to 10 s). */
  async function eventually<T>(what: string, fn: () => Promise<T | undefined>): Promise<T> {
    for (let i = 0; i < 100; i++) {
      const v = await fn();
      if (v !== undefined) return v;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`never happened: ${what}`);
  }

  /** Who marked a session failed, and why (waits for the transaction the server sends). */
  const failedBy = (sessionId: bigint) =>
    eventually(`session ${sessionId} marked failed`, async () => {
      const m = node.contracts.matching;
      const events = await m.queryFilter(m.filters.MatchFailed(sessionId));
      if (events.length === 0) return undefined;
      expect(events).to.have.length(1);
      const args = events[0]?.args;
      return { participantId: Number(args?.participantId), reasonCode: Number(args?.reasonCode) };
    });

  async function completedEvents(sessionId: bigint): Promise<number> {
    const m = node.contracts.matching;
    return (await m.queryFilter(m.filters.MatchCompleted(sessionId))).length;
  }

  const variants: { what: string; mode: PsiMode; phones: () => string[]; refusal: RegExp }[] = [
    {
      what: "digest",
      mode: "psi",
      phones: () => others,
      refusal: new RegExp(`the request digest is ${hex32} on the ledger, ${hex32} here$`),
    },
    {
      what: "mode",
      mode: "cardinality",
      phones: () => suspects,
      refusal: /was opened in mode psi, the request is cardinality$/,
    },
    {
      what: "set size",
      mode: "psi",
      phones: () => suspects.slice(1),
      refusal: /was opened for 60 identifiers, the request holds 59$/,
    },
  ];
  for (const v of variants) {
    it(`the server refuses a request whose ${v.what} is not the opening's (403) and marks the session failed, as the provider`, async function () {
      const tag = newSessionTag();
      const honest = await blinded(tag, "psi", suspects);
      const id = await openHonestly(honest);
      const completed = completedLines();
      const refused = await failure(
        exchangeWithHeaders(server.url, token(), await blinded(tag, v.mode, v.phones()), {
          headers: await sessionHeaders(id, honest),
        }),
      );
      expect(refused).to.be.instanceOf(MatchError);
      expect((refused as MatchError).reason).to.equal("session-mismatch");
      expect(refused.message).to.match(
        /^the provider refused the request \(403 session-mismatch\)/,
      );
      expect(refused.message).to.match(v.refusal);
      expect(await failedBy(id)).to.deep.equal({
        participantId: node.cast.telecom.id,
        reasonCode: FAILURE_CODES["session-mismatch"],
      });
      expect((await matchSession(node.contracts, id))?.status).to.equal("failed");
      expect(sessionLines().at(-1)).to.include({
        tag,
        status: "failed",
        reason: "session-mismatch",
      });
      expect(completedLines()).to.equal(completed);
      await eventually("the provider's ledger log line", async () =>
        server.lines.find(
          (l) => l["msg"] === "ledger" && l["action"] === "failed" && l["sessionId"] === `${id}`,
        ),
      );
    });
  }

  it("a whole valid exchange of session A replayed for session B: 403, nothing computed, neither session touched", async function () {
    const recorder = await proxy(server.url);
    const out = file("replayed.json");
    try {
      const a = await runVeritrace(runArgs(more, "psi", recorder.url, ["--out", out]), env);
      expect(a.code, a.stderr).to.equal(0);
    } finally {
      await closeServer(recorder.server);
    }
    const written = JSON.parse(readFileSync(out, "utf8")) as ResultFile;
    const idA = BigInt(written.ledger.sessionId);
    const sent = recorder.exchanges.find((e) => e.path === MATCH_PATH);
    const cosigned = recorder.exchanges.find((e) => e.path === RESULT_PATH);
    expect(sent?.status).to.equal(200);
    expect(cosigned?.status).to.equal(200);
    expect(sent?.headers[LEDGER_SESSION_HEADER]).to.equal(`${idA}`);
    const idB = await openHonestly(await blinded(newSessionTag(), "psi", suspects));
    const lines = sessionLines().length;
    const completed = completedLines();
    const replay = async (exchange: Exchange | undefined, ledgerSession?: bigint) => {
      const res = await fetch(new URL(exchange?.path ?? "/", server.url), {
        method: "POST",
        headers: {
          authorization: exchange?.headers["authorization"] ?? "",
          "content-type": exchange?.headers["content-type"] ?? "",
          ...(ledgerSession === undefined ? {} : { [LEDGER_SESSION_HEADER]: `${ledgerSession}` }),
        },
        body: exchange?.body ?? Buffer.alloc(0),
      });
      return { status: res.status, body: (await res.json()) as { code: string; detail: string } };
    };

    // A's request under B's id: the tag names A on the ledger.
    const forB = await replay(sent, idB);
    expect(forB.status).to.equal(403);
    expect(forB.body.code).to.equal("session-mismatch");
    expect(forB.body.detail).to.equal(
      `tag ${written.tag} is session ${idA} on the ledger, not ${idB}`,
    );
    // The same bytes as sent, A's id included: A is over.
    const asSent = await replay(sent, idA);
    expect(asSent.status).to.equal(403);
    expect(asSent.body.detail).to.equal(`session ${idA} is completed, not open`);
    // The co-signature request too.
    const cosign = await replay(cosigned);
    expect(cosign.status).to.equal(403);
    expect(cosign.body.detail).to.equal(`session ${idA} is completed, not responded`);

    // Nothing computed: two failed sessions logged, no response, no completion.
    const logged = sessionLines().slice(lines);
    expect(logged.map((l) => [l["status"], l["reason"]])).to.deep.equal([
      ["failed", "session-mismatch"],
      ["failed", "session-mismatch"],
    ]);
    for (const l of logged) expect(l).not.to.have.property("transcriptDigest");
    expect(completedLines()).to.equal(completed);
    // Neither session touched: the provider cannot tell which is the replayer's.
    expect(await matchSession(node.contracts, idA)).to.deep.include({
      status: "completed",
      responseDigest: written.responseDigest,
    });
    expect((await matchSession(node.contracts, idB))?.status).to.equal("open");
    const m = node.contracts.matching;
    expect(await m.queryFilter(m.filters.MatchFailed(idB))).to.have.length(0);
  });

  /** `match respond` as the telecom, to a request file; its response must not be written. */
  async function respondRefused(request: string, pattern: RegExp): Promise<void> {
    const out = file(`${path.basename(request)}.response`);
    const r = await matchCommand(
      "respond",
      ["--request", request, "--type", "phone", "--input", file("subscribers.txt"), "--out", out],
      "telecom",
    );
    expectOneLine(r, "match respond", pattern);
    expect(existsSync(out)).to.equal(false);
    expect(existsSync(`${out}.sig.json`)).to.equal(false);
  }

  it("match respond: a request of no session open for this provider: exit 1, one line, no response; nothing marked", async function () {
    // Opened for the bank: not this provider's session, so not its to mark.
    const forBank = await blinded(newSessionTag(), "psi", suspects);
    const bankSession = await openHonestly(forBank, bankGranted);
    writeMessageFile(file("for-bank.psi"), forBank);
    await respondRefused(
      file("for-bank.psi"),
      new RegExp(
        `session ${bankSession} is for participant ${node.cast.bank.id}, this provider is participant ${node.cast.telecom.id}$`,
      ),
    );
    expect((await matchSession(node.contracts, bankSession))?.status).to.equal("open");
    // Never opened.
    const unopened = await blinded(newSessionTag(), "psi", suspects);
    writeMessageFile(file("unopened.psi"), unopened);
    await respondRefused(
      file("unopened.psi"),
      new RegExp(`no session on the ledger has tag ${unopened.header.sessionId}$`),
    );
    // Already failed (by the requester).
    const closed = await blinded(newSessionTag(), "psi", suspects);
    const closedSession = await openHonestly(closed);
    await (
      await node.contracts.matching.connect(node.cast.police.signer).fail(closedSession, 6)
    ).wait();
    writeMessageFile(file("closed.psi"), closed);
    await respondRefused(
      file("closed.psi"),
      new RegExp(`session ${closedSession} is failed, not open$`),
    );
    expect(await failedBy(closedSession)).to.deep.equal({
      participantId: node.cast.police.id,
      reasonCode: 6,
    });
  });

  it("match respond: a tampered request file: exit 1, one line, no response; the provider marks the session failed", async function () {
    // A flipped byte: the body no longer hashes to its header's bodySha256.
    const flipped = await blinded(newSessionTag(), "psi", suspects);
    const flippedSession = await openHonestly(flipped);
    writeMessageFile(file("flipped.psi"), flipped);
    await writeBinding(file("flipped.psi"), flippedSession, flipped);
    flipByte(file("flipped.psi"));
    await respondRefused(
      file("flipped.psi"),
      new RegExp(
        `flipped\\.psi: the body's SHA-256 ${hex32} is not the header's ${hex32}; session ${flippedSession} marked failed on the ledger \\(code 3, wrong session\\)$`,
      ),
    );
    expect(await failedBy(flippedSession)).to.deep.equal({
      participantId: node.cast.telecom.id,
      reasonCode: FAILURE_CODES["digest-mismatch"],
    });
    // Another body under the session's tag, hashed consistently: not the recorded digest.
    const tag = newSessionTag();
    const swappedHonest = await blinded(tag, "psi", suspects);
    const swappedSession = await openHonestly(swappedHonest);
    writeMessageFile(file("swapped.psi"), await blinded(tag, "psi", others));
    await writeBinding(file("swapped.psi"), swappedSession, swappedHonest);
    await respondRefused(
      file("swapped.psi"),
      new RegExp(
        `session ${swappedSession}: the request digest is ${hex32} on the ledger, ${hex32} here; session ${swappedSession} marked failed on the ledger \\(code 3, wrong session\\)$`,
      ),
    );
    expect(await failedBy(swappedSession)).to.deep.equal({
      participantId: node.cast.telecom.id,
      reasonCode: FAILURE_CODES["session-mismatch"],
    });
  });

  /** A session through blind, respond and finish (Responded on the ledger), by the commands. */
  async function respondedSession(name: string) {
    const f = (x: string) => file(`${name}-${x}`);
    await step(
      "blind",
      [
        "--request",
        more.toString(),
        "--mode",
        "cardinality",
        "--type",
        "phone",
        "--input",
        file("suspects.txt"),
        "--out",
        f("request.psi"),
        "--state",
        f("state.json"),
      ],
      "police",
    );
    const state = JSON.parse(readFileSync(f("state.json"), "utf8")) as {
      ledger: { sessionId: string };
    };
    const id = BigInt(state.ledger.sessionId);
    await step(
      "respond",
      [
        "--request",
        f("request.psi"),
        "--type",
        "phone",
        "--input",
        file("subscribers.txt"),
        "--out",
        f("response.psi"),
      ],
      "telecom",
    );
    await step(
      "finish",
      [
        "--state",
        f("state.json"),
        "--response",
        f("response.psi"),
        "--to-cosign",
        f("to-cosign.json"),
        "--out",
        f("result.json"),
      ],
      "police",
    );
    expect((await matchSession(node.contracts, id))?.status).to.equal("responded");
    const toCosign = f("to-cosign.json");
    const doc = JSON.parse(readFileSync(toCosign, "utf8")) as CosignRequest;
    const result: MatchResult = {
      sessionId: BigInt(doc.result.sessionId),
      tag: doc.result.tag,
      requestDigest: doc.result.requestDigest,
      responseDigest: doc.result.responseDigest,
      resultCommitment: doc.result.resultCommitment,
      cardinality: BigInt(doc.result.cardinality),
    };
    return { id, toCosign, doc, result, response: f("response.psi"), file: f };
  }
  let responded: Awaited<ReturnType<typeof respondedSession>>;

  /** The bank's key (an active key, of another participant) signing `result`. */
  async function bankSignature(result: MatchResult) {
    const bank = node.cast.bank.signer;
    const domain = await matchingDomain(node.contracts);
    return {
      signer: await bank.getAddress(),
      signature: await signMatchResult(bank, domain, result),
    };
  }

  it("match cosign: a result whose digests are not the ledger's: exit 1, one line, no co-signature", async function () {
    responded = await respondedSession("cosign");
    const out = responded.file("cosignature.json");
    for (const field of ["requestDigest", "responseDigest"] as const) {
      const wrong = {
        ...responded.doc,
        result: { ...responded.doc.result, [field]: `0x${randomBytes(32).toString("hex")}` },
      };
      writeFileSync(responded.file("wrong.json"), JSON.stringify(wrong));
      const r = await matchCommand(
        "cosign",
        ["--result", responded.file("wrong.json"), "--out", out],
        "telecom",
      );
      expectOneLine(
        r,
        "match cosign",
        new RegExp(`the result's ${field} is not session ${responded.id}'s$`),
      );
      expect(existsSync(out)).to.equal(false);
    }
    expect((await matchSession(node.contracts, responded.id))?.status).to.equal("responded");
  });

  it("match record: a co-signature by a key not of the provider: exit 1, one line, no result recorded", async function () {
    const cosignature = responded.file("bank-cosignature.json");
    const bank = await bankSignature(responded.result);
    writeFileSync(
      cosignature,
      JSON.stringify({
        format: "veritrace-match-cosignature/1",
        sessionId: responded.id.toString(),
        provider: bank,
      }),
    );
    const r = await matchCommand(
      "record",
      ["--result", responded.toCosign, "--cosignature", cosignature],
      "police",
    );
    expectOneLine(
      r,
      "match record",
      new RegExp(
        `the provider's MatchResult signer ${bank.signer} is not an active key of participant ${node.cast.telecom.id}; session ${responded.id} marked failed on the ledger \\(code 3, wrong session\\)$`,
      ),
    );
    expect(await completedEvents(responded.id)).to.equal(0);
    expect(await failedBy(responded.id)).to.deep.equal({
      participantId: node.cast.police.id,
      reasonCode: FAILURE_CODES["invalid-signature"],
    });
  });

  it("match record: a result the contract refuses: its error decoded in one line, no result recorded", async function () {
    const s = await respondedSession("contract");
    await step("cosign", ["--result", s.toCosign, "--out", s.file("cosignature.json")], "telecom");
    // The provider co-signed; then the requester's signature is swapped for another
    // institution's. The command checks the provider's signature, the contract both.
    const bank = await bankSignature(s.result);
    writeFileSync(s.file("swapped.json"), JSON.stringify({ ...s.doc, requester: bank }));
    const r = await matchCommand(
      "record",
      ["--result", s.file("swapped.json"), "--cosignature", s.file("cosignature.json")],
      "police",
    );
    expectOneLine(
      r,
      "match record",
      new RegExp(
        `SignerNotParty\\(signer=${bank.signer}, actual=${node.cast.bank.id}, expected=${node.cast.police.id}\\); session ${s.id} marked failed on the ledger \\(code 7, other\\)$`,
        "i",
      ),
    );
    expect(await completedEvents(s.id)).to.equal(0);
    expect((await matchSession(node.contracts, s.id))?.status).to.equal("failed");
  });

  it("match finish: the response of another session: exit 1, one line, no result; the session marked failed", async function () {
    await step(
      "blind",
      [
        "--request",
        more.toString(),
        "--mode",
        "psi",
        "--type",
        "phone",
        "--input",
        file("suspects.txt"),
        "--out",
        file("other-request.psi"),
        "--state",
        file("other-state.json"),
      ],
      "police",
    );
    const state = JSON.parse(readFileSync(file("other-state.json"), "utf8")) as {
      sessionId: string;
      ledger: { sessionId: string };
    };
    const id = BigInt(state.ledger.sessionId);
    const r = await matchCommand(
      "finish",
      [
        "--state",
        file("other-state.json"),
        "--response",
        responded.response,
        "--to-cosign",
        file("other-to-cosign.json"),
        "--out",
        file("other-result.json"),
      ],
      "police",
    );
    expectOneLine(
      r,
      "match finish",
      new RegExp(
        `the response is of tag ${responded.doc.result.tag}, not of session ${id}'s tag ${state.sessionId}; session ${id} marked failed on the ledger \\(code 3, wrong session\\)$`,
      ),
    );
    expect(existsSync(file("other-result.json"))).to.equal(false);
    expect(existsSync(file("other-to-cosign.json"))).to.equal(false);
    expect(existsSync(file("other-state.json"))).to.equal(true);
    expect(await failedBy(id)).to.deep.equal({
      participantId: node.cast.police.id,
      reasonCode: FAILURE_CODES["session-mismatch"],
    });
  });

  it("match finish: a signed response whose re-blinded list repeats a value: exit 1, one line naming it, no result; the session marked failed (malformed message)", async function () {
    const f = (x: string) => file(`repeat-${x}`);
    await step(
      "blind",
      [
        "--request",
        more.toString(),
        "--mode",
        "psi",
        "--type",
        "phone",
        "--input",
        file("suspects.txt"),
        "--out",
        f("request.psi"),
        "--state",
        f("state.json"),
      ],
      "police",
    );
    const id = BigInt(
      (JSON.parse(readFileSync(f("state.json"), "utf8")) as { ledger: { sessionId: string } })
        .ledger.sessionId,
    );
    // The provider answers honestly, then copies the re-blinded value of suspect 0 (a match) over
    // that of suspect 20 (no match): the requester would count 16 matches, not 15. It signs what
    // it sends, so only the points' check can catch it.
    const request = readRequestFile(f("request.psi"));
    const { response: honest } = await new PsiProvider({ type: "phone" }).respond(
      request,
      subscribers,
    );
    const reblinded = Buffer.from(honest.reblinded);
    reblinded.copy(reblinded, 20 * 32, 0, 32);
    const forged = buildResponse(
      { ...honest.header, requestDigest: request.digest },
      reblinded,
      Buffer.from(honest.providerPoints),
    );
    writeMessageFile(f("response.psi"), forged);
    const telecom = node.cast.telecom.signer;
    const signed = {
      sessionId: id,
      tag: request.header.sessionId,
      requestDigest: request.digest,
      responseDigest: forged.digest,
      providerSetSize: BigInt(forged.header.providerCount),
    };
    writeFileSync(
      `${f("response.psi")}.sig.json`,
      JSON.stringify({
        format: "veritrace-match-response-signature/1",
        sessionId: id.toString(),
        tag: signed.tag,
        requestDigest: signed.requestDigest,
        responseDigest: signed.responseDigest,
        providerSetSize: signed.providerSetSize.toString(),
        provider: {
          signer: await telecom.getAddress(),
          signature: await signMatchResponse(telecom, await matchingDomain(node.contracts), signed),
        },
      }),
    );
    const r = await matchCommand(
      "finish",
      [
        "--state",
        f("state.json"),
        "--response",
        f("response.psi"),
        "--to-cosign",
        f("to-cosign.json"),
        "--out",
        f("result.json"),
      ],
      "police",
    );
    expectOneLine(
      r,
      "match finish",
      new RegExp(
        `re-blinded element 20 repeats element 0; session ${id} marked failed on the ledger \\(code 1, malformed message\\)$`,
      ),
    );
    expect(existsSync(f("result.json"))).to.equal(false);
    expect(existsSync(f("to-cosign.json"))).to.equal(false);
    expect(await failedBy(id)).to.deep.equal({
      participantId: node.cast.police.id,
      reasonCode: FAILURE_CODES["duplicate-point"],
    });
  });

  // ------------------------------------------------------------ the same bytes, any TCP chunking

  for (const chunking of CHUNKINGS) {
    it(`match serve, ${chunking}: a request longer than its header announces is refused (400) and its session marked failed, as the provider`, async function () {
      const request = await blinded(newSessionTag(), "psi", suspects.slice(0, 3));
      const id = await openHonestly(request);
      const answer = await rawPost(
        server.url,
        { authorization: `Bearer ${token()}`, ...(await sessionHeaders(id, request)) },
        Buffer.concat([encodeMessage(request), Buffer.of(0)]),
        chunking,
      );
      expect(answer.status).to.equal(400);
      expect(answer.body.code).to.equal("malformed-message");
      expect(answer.body.detail).to.match(/longer than its header announces/);
      expect(await failedBy(id)).to.deep.equal({
        participantId: node.cast.telecom.id,
        reasonCode: FAILURE_CODES["malformed-message"],
      });
    });
  }

  it("match serve: a count over --max-elements is refused (413) and its session marked failed, the same in every chunking", async function () {
    // --max-elements bounds the provider's own set too.
    writeFileSync(file("few-subscribers.txt"), `${subscribers.slice(0, 40).join("\n")}\n`);
    const small = await serve(
      [
        "--input",
        file("few-subscribers.txt"),
        "--type",
        "phone",
        "--token-file",
        file("token"),
        "--threads",
        "0",
        "--max-elements",
        "50",
        ...ledgerArgs("telecom"),
      ],
      env,
    );
    try {
      for (const chunking of CHUNKINGS) {
        const request = await blinded(newSessionTag(), "psi", suspects); // 60 > 50
        const id = await openHonestly(request);
        const answer = await rawPost(
          small.url,
          { authorization: `Bearer ${token()}`, ...(await sessionHeaders(id, request)) },
          encodeMessage(request),
          chunking,
        );
        expect(answer.status, chunking).to.equal(413);
        expect(answer.body).to.deep.equal({
          type: "/problems/too-large",
          title: "Payload Too Large",
          status: 413,
          detail: "the request holds 60 elements, more than the limit of 50",
          code: "too-large",
        });
        expect(await failedBy(id), chunking).to.deep.equal({
          participantId: node.cast.telecom.id,
          reasonCode: FAILURE_CODES["too-large"],
        });
      }
    } finally {
      await small.stop();
    }
  });

  // ------------------------------------------------------------ a request is bound to its opener

  it("a request under another requester's open session, by a holder of a serve token, is refused (403) without touching the session; the opener's later request succeeds", async function () {
    const tag = newSessionTag();
    const honest = await blinded(tag, "psi", suspects);
    const id = await openHonestly(honest);
    // The attacker read the tag from MatchSessionOpened; its request is garbage for this session.
    const garbage = await blinded(tag, "cardinality", others.slice(0, 7));
    const bank = await connectMatchLedger(node.contracts, node.cast.bank.signer);
    const other = await blinded(newSessionTag(), "psi", suspects);
    const otherId = await openHonestly(other);
    const attempts: [string, Record<string, string>, RegExp][] = [
      [
        "no binding",
        { [LEDGER_SESSION_HEADER]: `${id}` },
        new RegExp(`the request carries no MatchRequest signature by session ${id}'s requester$`),
      ],
      [
        "a binding by another institution's key",
        {
          [LEDGER_SESSION_HEADER]: `${id}`,
          ...requestSignatureHeaders(
            await signRequest(bank, { sessionId: id, tag, requestDigest: honest.digest }),
          ),
        },
        new RegExp(
          `the requester's MatchRequest signer ${await node.cast.bank.signer.getAddress()} is not an active key of participant ${node.cast.police.id}$`,
        ),
      ],
      [
        "the opener's binding of another session",
        {
          [LEDGER_SESSION_HEADER]: `${id}`,
          ...requestSignatureHeaders(await binding(otherId, other)),
        },
        new RegExp(
          `MatchRequest signature is not 0x[0-9a-fA-F]{40}'s over the request of session ${id}`,
        ),
      ],
    ];
    const completed = completedLines();
    for (const [what, headers, pattern] of attempts) {
      const refused = await failure(exchangeWithHeaders(server.url, token(), garbage, { headers }));
      expect(refused, what).to.be.instanceOf(MatchError);
      expect((refused as MatchError).reason, what).to.equal("invalid-signature");
      expect(refused.message, what).to.match(
        /^the provider refused the request \(403 invalid-signature\)/,
      );
      expect(refused.message, what).to.match(pattern);
      expect(sessionLines().at(-1), what).to.include({
        tag,
        status: "failed",
        reason: "invalid-signature",
      });
    }
    // The same garbage as a request file, with no binding beside it: refused, nothing marked.
    writeMessageFile(file("garbage.psi"), garbage);
    await respondRefused(
      file("garbage.psi"),
      new RegExp(`the request carries no MatchRequest signature by session ${id}'s requester$`),
    );
    // Give a marking transaction time to land, had one been sent.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const m = node.contracts.matching;
    expect(await m.queryFilter(m.filters.MatchFailed(id))).to.have.length(0);
    expect((await matchSession(node.contracts, id))?.status).to.equal("open");
    expect(completedLines()).to.equal(completed);

    // The opener's own request, bound by its key: answered, and its response recorded.
    const { response, headers } = await exchangeWithHeaders(server.url, token(), honest, {
      headers: await sessionHeaders(id, honest),
    });
    expect(response.header.count).to.equal(60);
    await acceptResponse(
      policeLedger as MatchLedger,
      {
        sessionId: id,
        requestId: more,
        tag,
        requestDigest: honest.digest,
        provider: node.cast.telecom.id,
        transactions: { open: "" },
      },
      response,
      responseSignatureOf(headers),
    );
    expect(await matchSession(node.contracts, id)).to.deep.include({
      status: "responded",
      responseDigest: response.digest,
    });
  });
});
