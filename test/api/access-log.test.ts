/**
 * The API's access log: a line per request to a data route naming the token, before the answer;
 * one writer per file; numbering that survives restarts; anchored with AccessLogAnchor, one line
 * proved, a changed log caught.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { HDNodeWallet, encryptKeystoreJson } from "ethers";
import { writeDeployment } from "../../src/client/index.js";
import {
  parseAccessLog,
  type AccessLogEntry,
  type AccessRecord,
} from "../../src/ledger/access-log.js";
import { readNamedTokens } from "../../src/cli/commands/serve.js";
import { createApiServer, unnamedTokenName } from "../../src/api/server.js";
import { TracerError } from "../../src/shared/errors.js";
import { openMemoryDatabase } from "../../src/db/db.js";
import { Store } from "../../src/db/store.js";
import { ROOT, runVeritrace, startConsortiumNode, type ConsortiumNode } from "../helpers/tracer.js";

const ALICE = "alice-token-0123456789abcdef";
const BOB = "bob-token-0123456789abcdef";
const BARE = "bare-token-0123456789abcdef";
const MNEMONIC = "test test test test test test test test test test test junk";
const PASSWORD = "a keystore password for the access log test";
const COMMITMENT = `0x${"ab".repeat(32)}`;

const line = (seq: number, extra: Partial<AccessLogEntry> = {}) =>
  JSON.stringify({
    seq,
    time: "2026-12-07T00:00:00.000Z",
    token: "alice",
    client: "127.0.0.1",
    method: "GET",
    route: "/cases",
    target: "/cases",
    status: 200,
    bytes: 10,
    ms: 1,
    ...extra,
  });

async function get(base: string, target: string, token: string | null, init: RequestInit = {}) {
  const res = await fetch(`${base}${target}`, {
    ...init,
    headers: {
      ...(token === null ? {} : { authorization: `Bearer ${token}` }),
      ...(init.headers as Record<string, string> | undefined),
    },
  });
  return { status: res.status, text: await res.text() };
}

/** `veritrace serve ARGS` on a free port, once it listens. */
async function startServe(
  args: readonly string[],
): Promise<{ base: string; child: ChildProcess; stop: () => Promise<number | null> }> {
  const env = { ...process.env };
  delete env["DATABASE_URL"];
  delete env["VERITRACE_API_TOKENS"];
  const child = spawn(
    process.execPath,
    [path.join(ROOT, "bin", "veritrace.mjs"), "serve", "--port", "0", "--no-web", ...args],
    { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] },
  );
  let stderr = "";
  child.stderr?.on("data", (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  const base = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (c: Buffer) => {
      out += c.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m?.[1] !== undefined) resolve(m[1]);
    });
    child.once("exit", (code) => reject(new Error(`serve exited ${code}: ${stderr}`)));
  });
  return {
    base,
    child,
    stop: async () => {
      child.kill("SIGTERM");
      return exited;
    },
  };
}

describe("the API's access log", function () {
  describe("reading a log back", function () {
    it("reads entries numbered without a gap, and the partial line a writer may be writing", function () {
      const text = `${line(7)}\n${line(8, { case: "3" })}\n{"seq":9,"ti`;
      const { lines, partial } = parseAccessLog(text, "log");
      expect(lines.map((l) => l.entry.seq)).to.deep.equal([7, 8]);
      expect(lines[1]?.entry.case).to.equal("3");
      expect(partial).to.equal(true);
      expect(parseAccessLog(`${line(0)}\n`, "log").partial).to.equal(false);
    });

    for (const [what, text, message] of [
      [
        "a gap",
        `${line(0)}\n${line(2)}\n`,
        /log line 2 is entry 2 after entry 0: the log has a gap/,
      ],
      ["a repeat", `${line(0)}\n${line(0)}\n`, /log line 2 is entry 0 after entry 0/],
      ["a line that is not JSON", `${line(0)}\nhello\n`, /log line 2 is not JSON/],
      ["an unknown field", `${line(0, { extra: 1 } as never)}\n`, /unknown field "extra"/],
      [
        "a field of the wrong type",
        `${line(0, { status: "200" } as never)}\n`,
        /status is not a valid number/,
      ],
      ["a missing field", `{"seq":0}\n`, /log line 1: no time/],
      ["a negative number", `${line(-1)}\n`, /seq is not a valid number/],
      ["an array", `[1]\n`, /not an access-log entry/],
    ] as const) {
      it(`refuses ${what}`, function () {
        expect(() => parseAccessLog(text, "log")).to.throw(TracerError, message);
      });
    }
  });

  describe("token names", function () {
    let dir: string;
    before(() => (dir = mkdtempSync(path.join(tmpdir(), "veritrace-tokens-"))));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const file = (content: string) => {
      const f = path.join(dir, `tokens-${Math.random()}`);
      writeFileSync(f, content);
      return f;
    };

    it("names tokens from a file and the environment; a bare token by its hash", function () {
      const tokens = readNamedTokens(file(`# API\nalice ${ALICE}\n\n${BARE}\n`), `bob ${BOB}`);
      expect(tokens).to.deep.equal([
        { name: "alice", token: ALICE },
        { name: unnamedTokenName(BARE), token: BARE },
        { name: "bob", token: BOB },
      ]);
      expect(unnamedTokenName(BARE)).to.equal(
        `token-${createHash("sha256").update(BARE).digest("hex").slice(0, 8)}`,
      );
      // The same token under the same name twice (file and environment) is one token.
      expect(readNamedTokens(file(`alice ${ALICE}\n`), `alice ${ALICE}`)).to.have.length(1);
    });

    it("refuses a name given to two tokens, and a token under two names", function () {
      expect(() => readNamedTokens(file(`alice ${ALICE}\nalice ${BOB}\n`), undefined)).to.throw(
        /line 2 gives the name "alice" to a second token/,
      );
      expect(() => readNamedTokens(file(`alice ${ALICE}\n`), `mallory ${ALICE}`)).to.throw(
        /VERITRACE_API_TOKENS item 1 is also named "alice"/,
      );
      expect(() => readNamedTokens(file(`${ALICE}\nalice ${ALICE}\n`), undefined)).to.throw(
        /also named "token-/,
      );
    });

    it("refuses a line of three words, a bad name and a short token", function () {
      expect(() => readNamedTokens(file(`a b ${ALICE}\n`), undefined)).to.throw(
        /line 1 is not "NAME TOKEN" or "TOKEN"/,
      );
      expect(() => readNamedTokens(file(`-x ${ALICE}\n`), undefined)).to.throw(
        /the token name in .* line 1 is not a name/,
      );
      expect(() => readNamedTokens(undefined, "alice short")).to.throw(/at least 16 characters/);
    });
  });

  describe("the server writes a line per data request, before the answer", function () {
    let store: Store;
    let server: Server;
    let base: string;
    const logged: AccessRecord[] = [];
    let failing = false;
    const errors: unknown[] = [];

    before(async function () {
      store = await Store.open(await openMemoryDatabase());
      server = createApiServer(store, {
        tokens: [{ name: "alice", token: ALICE }, { name: "bob", token: BOB }, BARE],
        accessLog: {
          write(record) {
            if (failing) throw new Error("no space left on device");
            logged.push(record);
          },
        },
        onError: (e) => errors.push(e),
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    after(async function () {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await store.close();
    });
    beforeEach(() => (logged.length = 0));

    it("names the token and what was read: case, institution, subject, delivery, anchor", async function () {
      const answers = [
        await get(base, "/cases/12", ALICE),
        await get(base, `/institutions/0x${"11".repeat(20)}`, BOB),
        await get(base, `/subjects/${COMMITMENT}`, BARE),
        await get(base, "/deliveries/5/verification", ALICE),
        await get(base, "/anchors/9/entries/verify?index=0", ALICE),
        await get(base, "/cases?limit=2", ALICE),
      ];
      expect(logged.map((r) => [r.token, r.route, r.status])).to.deep.equal([
        ["alice", "/cases/{caseIdOrCommitment}", 404],
        ["bob", "/institutions/{idOrAddress}", 404],
        [unnamedTokenName(BARE), "/subjects/{commitment}", 200],
        ["alice", "/deliveries/{id}/verification", 404],
        ["alice", "/anchors/{id}/entries/verify", 400],
        ["alice", "/cases", 200],
      ]);
      expect(logged[0]).to.include({ case: "12", target: "/cases/12", method: "GET" });
      expect(logged[1]).to.include({ institution: `0x${"11".repeat(20)}` });
      expect(logged[2]).to.include({ subject: COMMITMENT });
      expect(logged[3]).to.include({ delivery: "5" });
      expect(logged[4]).to.include({ anchor: "9" });
      expect(logged[5]).to.include({ target: "/cases?limit=2" });
      expect(logged[5]).to.not.have.property("case");
      // The size logged is the size of the answer sent; the time the request's arrival.
      logged.forEach((r, i) => {
        expect(r.bytes, r.target).to.equal(Buffer.byteLength(answers[i]?.text ?? ""));
        expect(Date.now() - Date.parse(r.time)).to.be.within(0, 60_000);
        expect(r.ms).to.be.at.least(0);
        expect(r.client).to.match(/127\.0\.0\.1$/);
      });
      // Never the token itself.
      expect(JSON.stringify(logged)).to.not.include(ALICE.slice(0, 12));
    });

    it("logs refused requests (no token, a wrong token) as nobody's", async function () {
      await get(base, "/cases", null);
      await get(base, "/cases", "wrong-token-0123456789abcdef");
      expect(logged.map((r) => [r.token, r.status])).to.deep.equal([
        [null, 401],
        [null, 401],
      ]);
    });

    it("logs unknown paths and methods, not the public routes", async function () {
      await get(base, "/health", null);
      await get(base, "/openapi.json", null);
      await get(base, "/nothing-here", ALICE);
      await get(base, "/cases", ALICE, { method: "DELETE" });
      await get(base, "/cases", ALICE, { method: "HEAD" });
      expect(logged.map((r) => [r.method, r.route, r.status])).to.deep.equal([
        ["GET", null, 404],
        ["DELETE", "/cases", 405],
        ["HEAD", "/cases", 200],
      ]);
    });

    it("keeps a POST body's SHA-256, not the body", async function () {
      const body = JSON.stringify({ addresses: [`0x${"22".repeat(20)}`], chainId: 1 });
      await get(base, "/risk/screen", ALICE, {
        method: "POST",
        body,
        headers: { "content-type": "application/json" },
      });
      expect(logged).to.have.length(1);
      expect(logged[0]?.bodySha256).to.equal(
        `0x${createHash("sha256").update(body).digest("hex")}`,
      );
      expect(JSON.stringify(logged)).to.not.include("2222222222");
    });

    it("withholds an answer it can't log: 503, and none of the data", async function () {
      failing = true;
      try {
        const r = await get(base, "/cases", ALICE);
        expect(r.status).to.equal(503);
        expect(JSON.parse(r.text)).to.deep.equal({
          type: "/problems/access_log",
          title: "The access log can't be written",
          status: 503,
          detail: "the access log can't be written: no answer is given without its log line",
          code: "access_log",
        });
        expect(String(errors.at(-1))).to.include("no space left on device");
      } finally {
        failing = false;
      }
      expect((await get(base, "/cases", ALICE)).status).to.equal(200);
    });
  });

  describe("veritrace serve --access-log", function () {
    let dir: string;
    let tokens: string;
    before(function () {
      dir = mkdtempSync(path.join(tmpdir(), "veritrace-access-log-"));
      tokens = path.join(dir, "tokens");
      writeFileSync(tokens, `alice ${ALICE}\n`);
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it("numbers on across restarts; a second server on the log is refused", async function () {
      const log = path.join(dir, "api.jsonl");
      const db = path.join(dir, "db");
      const first = await startServe(["--db", db, "--tokens", tokens, "--access-log", log]);
      try {
        await get(first.base, "/cases", ALICE);
        await get(first.base, "/cases/1", ALICE);
        const second = await runVeritrace([
          "serve",
          ...["--db", path.join(dir, "db2"), "--tokens", tokens, "--access-log", log],
          ...["--port", "0", "--no-web"],
        ]);
        expect(second.code).to.equal(1);
        expect(second.stderr.trimEnd().split("\n")).to.have.length(1);
        expect(second.stderr).to.match(
          new RegExp(
            `the access log ${log} is written by PID ${first.child.pid} \\(veritrace serve`,
          ),
        );
      } finally {
        expect(await first.stop()).to.equal(0);
      }
      const again = await startServe(["--db", db, "--tokens", tokens, "--access-log", log]);
      try {
        await get(again.base, "/cases/2", ALICE);
      } finally {
        await again.stop();
      }
      const { lines } = parseAccessLog(readFileSync(log, "utf8"), log);
      expect(lines.map((l) => [l.entry.seq, l.entry.target, l.entry.token])).to.deep.equal([
        [0, "/cases", "alice"],
        [1, "/cases/1", "alice"],
        [2, "/cases/2", "alice"],
      ]);
    });

    it("writes the log beside the store directory by default", async function () {
      const db = path.join(dir, "default-db");
      const served = await startServe(["--db", db, "--tokens", tokens]);
      try {
        await get(served.base, "/cases", ALICE);
      } finally {
        await served.stop();
      }
      const { lines } = parseAccessLog(readFileSync(`${db}.access.jsonl`, "utf8"), "log");
      expect(lines.map((l) => l.entry.target)).to.deep.equal(["/cases"]);
    });

    it("refuses a log that ends mid-line or was changed, in one line, before opening the store", async function () {
      const torn = path.join(dir, "torn.jsonl");
      writeFileSync(torn, `${line(0)}\n{"seq":1,"time"`);
      const changed = path.join(dir, "changed.jsonl");
      writeFileSync(changed, `${line(0)}\n${line(1)}\n${line(3)}\n`);
      for (const [log, message] of [
        [torn, /ends in a partial line \(after line 1\)/],
        [changed, /line 3 is entry 3 after entry 1: the log has a gap/],
      ] as const) {
        const db = path.join(dir, `never-${path.basename(log)}`);
        const r = await runVeritrace([
          "serve",
          ...["--db", db, "--tokens", tokens, "--access-log", log, "--port", "0", "--no-web"],
        ]);
        expect(r.code, r.stderr).to.equal(1);
        expect(r.stderr.trimEnd().split("\n")).to.have.length(1);
        expect(r.stderr).to.match(message);
        expect(r.stdout).to.equal("");
        // Nothing was created: the store was never opened.
        expect(() => readFileSync(path.join(db, "PG_VERSION"))).to.throw();
      }
      const both = await runVeritrace([
        "serve",
        ...["--tokens", tokens, "--access-log", torn, "--no-access-log"],
      ]);
      expect(both.code).to.equal(2);
      expect(both.stderr).to.include("--access-log and --no-access-log exclude each other");
    });
  });

  describe("anchored on chain, proved, checked", function () {
    this.timeout(300_000);
    let node: ConsortiumNode;
    let dir: string;
    let deployment: string;
    let keystore: string;
    let passwordFile: string;
    let log: string;
    let served: Awaited<ReturnType<typeof startServe>> | undefined;
    const file = (name: string) => path.join(dir, name);
    const anchorArgs = () => [
      "access-log",
      "anchor",
      ...["--log", log, "--rpc", node.url, "--deployment", deployment],
      ...["--keystore", keystore, "--password-file", passwordFile],
    ];

    before(async function () {
      dir = mkdtempSync(path.join(tmpdir(), "veritrace-access-anchor-"));
      node = await startConsortiumNode("anvil");
      deployment = file("deployment.json");
      writeDeployment(deployment, node.record);
      // The police bureau's key (anvil's account 3) as an encrypted keystore.
      const wallet = HDNodeWallet.fromPhrase(MNEMONIC, undefined, "m/44'/60'/0'/0/3");
      expect(wallet.address).to.equal(await node.cast.police.signer.getAddress());
      keystore = file("police.json");
      writeFileSync(
        keystore,
        await encryptKeystoreJson(
          { address: wallet.address, privateKey: wallet.privateKey },
          PASSWORD,
          { scrypt: { N: 1024 } },
        ),
        { mode: 0o600 },
      );
      passwordFile = file("password");
      writeFileSync(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
      writeFileSync(file("tokens"), `alice ${ALICE}\nbob ${BOB}\n`);
      log = file("api.jsonl");
      served = await startServe([
        ...["--db", file("served-db"), "--tokens", file("tokens"), "--access-log", log],
      ]);
    });
    after(async function () {
      await served?.stop();
      await node?.stop();
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    });

    it("anchors what the running server logged, batch after batch, and nothing twice", async function () {
      const base = served?.base ?? "";
      for (const target of ["/cases", "/cases/1", "/institutions/2", "/subjects/" + COMMITMENT])
        await get(base, target, ALICE);
      await get(base, "/cases", BOB);
      const first = await runVeritrace([...anchorArgs(), "--json"]);
      expect(first.code, first.stderr).to.equal(0);
      const a = JSON.parse(first.stdout) as Record<string, unknown>;
      expect(a).to.include({
        anchored: true,
        participant: node.cast.police.id,
        caseId: "0",
        firstSequence: 0,
        lastSequence: 4,
        entryCount: 5,
      });
      const onChain = await node.contracts.anchor.getAnchor(BigInt(String(a["anchorId"])));
      expect(onChain.root).to.equal(a["root"]);
      expect(onChain.firstSequence).to.equal(0n);

      await get(base, "/cases/3", BOB);
      await get(base, "/cases/4", BOB);
      const second = await runVeritrace(anchorArgs());
      expect(second.code, second.stderr).to.equal(0);
      expect(second.stdout).to.match(
        /^anchored entries 5–6 \(2\) of .* as anchor \d+ \(institution \d+, case 0, root 0x[0-9a-f]{64}\)\n$/,
      );

      const none = await runVeritrace(anchorArgs());
      expect(none.code, none.stderr).to.equal(0);
      expect(none.stdout).to.match(
        /^nothing to anchor: institution \d+'s anchors end at entry 7, the log's last complete entry is 6/,
      );
      expect(await node.contracts.anchor.anchorCount()).to.equal(2n);
    });

    it("refuses a wrong password and a range the log doesn't hold, anchoring nothing", async function () {
      const wrong = file("wrong-password");
      writeFileSync(wrong, "not the password\n", { mode: 0o600 });
      const bad = await runVeritrace([
        "access-log",
        "anchor",
        ...["--log", log, "--rpc", node.url, "--deployment", deployment],
        ...["--keystore", keystore, "--password-file", wrong],
      ]);
      expect(bad.code).to.equal(1);
      expect(bad.stderr.trimEnd().split("\n")).to.have.length(1);
      const beyond = await runVeritrace([...anchorArgs(), "--from", "5", "--to", "40"]);
      expect(beyond.code).to.equal(1);
      expect(beyond.stderr).to.match(/the log holds entries 0–\d+, not all of 5–40/);
      const absent = await runVeritrace([
        "access-log",
        "anchor",
        ...["--log", file("no-such-log.jsonl"), "--rpc", node.url, "--deployment", deployment],
        ...["--keystore", keystore, "--password-file", passwordFile],
      ]);
      expect(absent.code).to.equal(1);
      expect(absent.stderr).to.match(/cannot read the access log .*no-such-log\.jsonl: ENOENT/);
      expect(await node.contracts.anchor.anchorCount()).to.equal(2n);
    });

    it("proves one line (verify entry agrees) and catches a changed log", async function () {
      const db = file("indexed");
      const indexed = await runVeritrace([
        "index",
        ...["--rpc", node.url, "--deployment", deployment, "--db", db],
      ]);
      expect(indexed.code, indexed.stderr).to.equal(0);

      const proof = await runVeritrace([
        "access-log",
        "proof",
        ...["--log", log, "--anchor", "2", "--seq", "6", "--db", db],
      ]);
      expect(proof.code, proof.stderr).to.equal(0);
      const proved = JSON.parse(proof.stdout) as { index: number; entry: AccessLogEntry };
      expect(proved.index).to.equal(1);
      expect(proved.entry).to.include({ seq: 6, token: "bob", case: "4" });
      writeFileSync(file("entry.json"), proof.stdout);
      const verified = await runVeritrace([
        "verify",
        "entry",
        ...["--anchor", "2", "--entry", file("entry.json"), "--db", db],
      ]);
      expect(verified.code, verified.stderr).to.equal(0);
      expect(verified.stdout).to.match(/^entry 1 .* IS included in anchor 2/);

      const check = await runVeritrace([
        "access-log",
        "check",
        ...["--log", log, "--institution", String(node.cast.police.id), "--db", db, "--json"],
      ]);
      expect(check.code, check.stderr).to.equal(0);
      const checked = JSON.parse(check.stdout) as { ok: boolean; anchors: { status: string }[] };
      expect(checked.ok).to.equal(true);
      expect(checked.anchors.map((x) => x.status)).to.deep.equal(["matches", "matches"]);
      // The log piped in: the same answer.
      const piped = await runVeritrace(
        [
          "access-log",
          "check",
          ...["--log", "-", "--institution", String(node.cast.police.id), "--db", db, "--json"],
        ],
        {},
        readFileSync(log, "utf8"),
      );
      expect(piped.code, piped.stderr).to.equal(0);
      expect(JSON.parse(piped.stdout)).to.deep.equal(checked);

      // Someone turns bob's read of case 3 into a read of case 1: the anchored root disagrees.
      const changed = file("changed.jsonl");
      writeFileSync(
        changed,
        readFileSync(log, "utf8").replace('"target":"/cases/3"', '"target":"/cases/1"'),
      );
      const caught = await runVeritrace([
        "access-log",
        "check",
        ...["--log", changed, "--institution", String(node.cast.police.id), "--db", db],
      ]);
      expect(caught.code).to.equal(1);
      expect(caught.stdout).to.match(/differs/);
      expect(caught.stdout).to.include("the log does NOT match its anchors");
      const refused = await runVeritrace([
        "access-log",
        "proof",
        ...["--log", changed, "--anchor", "2", "--seq", "6", "--db", db],
      ]);
      expect(refused.code).to.equal(1);
      expect(refused.stdout).to.equal("");
      expect(refused.stderr).to.match(/entries 5–6 do not hash to anchor 2's root/);

      // Lines cut off the log's start: the first anchor's batch is missing.
      const cut = file("cut.jsonl");
      writeFileSync(cut, readFileSync(log, "utf8").split("\n").slice(3).join("\n"));
      const missing = await runVeritrace([
        "access-log",
        "check",
        ...["--log", cut, "--institution", String(node.cast.police.id), "--db", db, "--json"],
      ]);
      expect(missing.code).to.equal(1);
      const m = JSON.parse(missing.stdout) as { anchors: { status: string }[] };
      expect(m.anchors.map((x) => x.status)).to.deep.equal(["missing", "matches"]);

      // A line removed in the middle: the log can't be read as one (could not check, 3).
      const holed = file("holed.jsonl");
      const all = readFileSync(log, "utf8").split("\n");
      writeFileSync(holed, [...all.slice(0, 2), ...all.slice(3)].join("\n"));
      const hole = await runVeritrace([
        "access-log",
        "check",
        ...["--log", holed, "--institution", String(node.cast.police.id), "--db", db],
      ]);
      expect(hole.code).to.equal(3);
      expect(hole.stderr).to.match(/line 3 is entry 3 after entry 1: the log has a gap/);
    });
  });
});
