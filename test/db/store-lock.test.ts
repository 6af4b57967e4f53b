/**
 * One process at a time on an embedded (PGlite) store: PGlite has no lock between processes and
 * each keeps its own page cache, so two processes on one directory corrupt it silently. Every
 * opener takes the directory's lock (src/db/lock.ts); these tests run real processes.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { writeDeployment } from "../../src/client/index.js";
import { openDatabase } from "../../src/db/db.js";
import { LOCK_FILE, lockStore, processStartTime, type LockHolder } from "../../src/db/lock.js";
import { Store } from "../../src/db/store.js";
import {
  createPostgresDatabase,
  failure,
  freshIndex,
  ROOT,
  runVeritrace,
  snapshotStore,
  startConsortiumNode,
  type CommandResult,
  type ConsortiumNode,
} from "../helpers/tracer.js";

const BOOT = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();

function holder(pid: number, start: string | null, command = "veritrace index"): LockHolder {
  return { pid, start, boot: BOOT, host: hostname(), command, since: new Date().toISOString() };
}

function writeLock(dir: string, h: LockHolder): string {
  const text = `${JSON.stringify(h)}\n`;
  writeFileSync(path.join(dir, LOCK_FILE), text);
  return text;
}

/** The PID of a process that has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ["-e", ""]);
  if (child.pid === undefined) throw new Error("no child");
  return child.pid;
}

const lockText = (dir: string) => readFileSync(path.join(dir, LOCK_FILE), "utf8");

/** Without DATABASE_URL and tokens from the environment: the commands use what they're given. */
function env(): NodeJS.ProcessEnv {
  const e = { ...process.env };
  delete e["DATABASE_URL"];
  delete e["VERITRACE_API_TOKENS"];
  return e;
}

/** A `veritrace` process left running: its stdout lines, waited for by pattern. */
interface Running {
  child: ChildProcess;
  pid: number;
  stdout(): string;
  stderr(): string;
  waitFor(pattern: RegExp, ms?: number): Promise<string>;
  stop(signal?: NodeJS.Signals): Promise<CommandResult>;
}

function startVeritrace(args: readonly string[]): Running {
  const child = spawn(process.execPath, [path.join(ROOT, "bin", "veritrace.mjs"), ...args], {
    cwd: ROOT,
    env: env(),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  const waiters: { pattern: RegExp; resolve: (line: string) => void }[] = [];
  const check = () => {
    for (const w of [...waiters]) {
      const line = out.split("\n").find((l) => w.pattern.test(l));
      if (line !== undefined) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  };
  child.stdout?.on("data", (c: Buffer) => {
    out += c.toString();
    check();
  });
  child.stderr?.on("data", (c: Buffer) => (err += c.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  if (child.pid === undefined) throw new Error("no child");
  return {
    child,
    pid: child.pid,
    stdout: () => out,
    stderr: () => err,
    waitFor: (pattern, ms = 240_000) =>
      new Promise<string>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no line ${pattern}; stdout: ${out}; stderr: ${err}`)),
          ms,
        );
        void exited.then(({ code }) =>
          reject(new Error(`exited ${code} before ${pattern}: ${err}`)),
        );
        waiters.push({
          pattern,
          resolve: (line) => {
            clearTimeout(timer);
            resolve(line);
          },
        });
        check();
      }),
    stop: async (signal = "SIGTERM") => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const { code, signal: s } = await exited;
      return { code, signal: s, stdout: out, stderr: err };
    },
  };
}

/** One line on stderr naming the command and the holder; nothing else. */
function expectRefused(r: CommandResult, command: string, holderPid: number): void {
  const lines = r.stderr.split("\n").filter((l) => l !== "");
  expect(lines, r.stderr).to.have.length(1);
  expect(lines[0]).to.match(
    new RegExp(`^veritrace ${command}: the store .* is in use by PID ${holderPid} \\(veritrace `),
  );
  expect(r.code).to.equal(1);
  expect(r.stdout).to.equal("");
}

describe("lockStore: one holder of an embedded store's directory", function () {
  let dir: string;
  beforeEach(function () {
    dir = mkdtempSync(path.join(tmpdir(), "veritrace-lock-"));
  });
  afterEach(function () {
    rmSync(dir, { recursive: true, force: true });
  });

  it("writes its holder (PID, start time, boot, command) and removes the file on release", async function () {
    const lock = await lockStore(dir, "veritrace test");
    const h = JSON.parse(lockText(dir)) as LockHolder;
    expect(h).to.include({
      pid: process.pid,
      boot: BOOT,
      host: hostname(),
      command: "veritrace test",
    });
    expect(h.start).to.equal(processStartTime(process.pid));
    lock.release();
    expect(existsSync(path.join(dir, LOCK_FILE))).to.equal(false);
  });

  it("refuses a second lock in this very process: two handles are two page caches", async function () {
    const lock = await lockStore(dir);
    try {
      expect((await failure(lockStore(dir))).message).to.match(/is in use by this process/);
    } finally {
      lock.release();
    }
    // Released: the directory locks again.
    (await lockStore(dir)).release();
  });

  it("never takes the lock of a live process (its PID with its start time)", async function () {
    const sleeper = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"]);
    try {
      const pid = sleeper.pid ?? 0;
      const text = writeLock(dir, holder(pid, processStartTime(pid), "veritrace serve"));
      const error = await failure(lockStore(dir));
      expect(error.message).to.match(
        new RegExp(`is in use by PID ${pid} \\(veritrace serve, since .*\\)`),
      );
      expect(lockText(dir)).to.equal(text);
    } finally {
      sleeper.kill("SIGKILL");
    }
  });

  it("takes over a lock whose holder has exited", async function () {
    writeLock(dir, holder(deadPid(), "12345"));
    const lock = await lockStore(dir, "veritrace test");
    expect((JSON.parse(lockText(dir)) as LockHolder).pid).to.equal(process.pid);
    lock.release();
  });

  it("takes over a lock whose PID now belongs to another process (its start time differs)", async function () {
    // This process is alive, but it is not the holder: the holder started at another time.
    writeLock(dir, holder(process.pid, "1"));
    const lock = await lockStore(dir, "veritrace test");
    expect(JSON.parse(lockText(dir))).to.include({ start: processStartTime(process.pid) });
    lock.release();
  });

  it("takes over a lock left before the last boot", async function () {
    writeLock(dir, { ...holder(process.pid, processStartTime(process.pid)), boot: "another-boot" });
    (await lockStore(dir)).release();
  });

  it("takes over a stale lock whose taker died in the middle of taking it over", async function () {
    const stale = writeLock(dir, holder(deadPid(), "1"));
    const digest = createHash("sha256").update(stale).digest("hex").slice(0, 16);
    const marker = path.join(dir, `${LOCK_FILE}.takeover-${digest}`);
    writeFileSync(marker, `${JSON.stringify(holder(deadPid(), "2"))}\n`);
    const lock = await lockStore(dir);
    expect(existsSync(marker)).to.equal(false);
    lock.release();
  });

  it("takes over an empty lock file (its content never reached the disk before an OS crash)", async function () {
    writeFileSync(path.join(dir, LOCK_FILE), "");
    const lock = await lockStore(dir);
    expect((JSON.parse(lockText(dir)) as LockHolder).pid).to.equal(process.pid);
    lock.release();
  });

  it("refuses a lock file that names no process, and leaves it", async function () {
    writeFileSync(path.join(dir, LOCK_FILE), "garbage");
    const error = await failure(lockStore(dir));
    expect(error.message).to.match(/has a lock file that names no process/);
    expect(lockText(dir)).to.equal("garbage");
  });

  it("on release, leaves a lock file that is no longer its own", async function () {
    const lock = await lockStore(dir);
    const other = writeLock(dir, holder(deadPid(), "7"));
    lock.release();
    expect(lockText(dir)).to.equal(other);
  });
});

describe("two processes racing to take over a stale lock", function () {
  this.timeout(120_000);

  it("exactly one wins; the others are refused naming the winner", async function () {
    const racer = path.join(ROOT, "test", "helpers", "lock-racer.ts");
    for (let round = 0; round < 4; round++) {
      const dir = mkdtempSync(path.join(tmpdir(), "veritrace-race-"));
      try {
        writeLock(dir, holder(deadPid(), "1"));
        const racers = [0, 1, 2].map(() => {
          const child = spawn(process.execPath, ["--import", "tsx", racer, dir, "2000"], {
            cwd: ROOT,
            stdio: ["pipe", "pipe", "pipe"],
          });
          let out = "";
          let err = "";
          child.stderr.on("data", (c: Buffer) => (err += c.toString()));
          const ready = new Promise<void>((resolve, reject) => {
            child.stdout.on("data", (c: Buffer) => {
              out += c.toString();
              if (out.startsWith("ready\n")) resolve();
            });
            child.once("exit", () => reject(new Error(`exited before ready: ${err}`)));
          });
          const done = new Promise<string>((resolve, reject) => {
            child.once("error", reject);
            child.once("close", () =>
              err === "" ? resolve(out.slice("ready\n".length).trim()) : reject(new Error(err)),
            );
          });
          return { child, ready, done };
        });
        await Promise.all(racers.map((r) => r.ready));
        // All go at one instant; each finds the lock stale, and all take it over at a second one.
        const at = Date.now() + 1000;
        for (const r of racers) r.child.stdin.end(`${at} ${at + 2500}\n`);
        const results = await Promise.all(racers.map((r) => r.done));
        const winners = results.filter((r) => r.startsWith("won "));
        expect(winners, results.join("\n")).to.have.length(1);
        const winner = (winners[0] ?? "").slice(4);
        for (const r of results.filter((x) => !x.startsWith("won "))) {
          expect(r).to.match(new RegExp(`^refused .* in use by PID ${winner} \\(lock-racer`));
        }
        // The winner released it; no marker or temporary file is left.
        expect(spawnSync("ls", ["-A", dir]).stdout.toString()).to.equal("");
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  });
});

describe("a holder without a signal handler of its own", function () {
  this.timeout(120_000);

  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    it(`releases the lock on ${signal} and ends by the signal, as it would have`, async function () {
      const dir = mkdtempSync(path.join(tmpdir(), "veritrace-signal-"));
      try {
        const racer = path.join(ROOT, "test", "helpers", "lock-racer.ts");
        const child = spawn(process.execPath, ["--import", "tsx", racer, dir, "100000"], {
          cwd: ROOT,
          stdio: ["pipe", "pipe", "inherit"],
        });
        let out = "";
        const exited = new Promise<NodeJS.Signals | null>((resolve) =>
          child.once("exit", (_code, s) => resolve(s)),
        );
        await new Promise<void>((resolve) =>
          child.stdout.on("data", (c: Buffer) => {
            out += c.toString();
            if (out.startsWith("ready\n") && child.stdin.writable)
              child.stdin.end(`${Date.now()} ${Date.now()}\n`);
            if (out.includes("won ")) resolve();
          }),
        );
        expect((JSON.parse(lockText(dir)) as LockHolder).pid).to.equal(child.pid);
        child.kill(signal);
        expect(await exited).to.equal(signal);
        expect(existsSync(path.join(dir, LOCK_FILE))).to.equal(false);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});

describe("veritrace on one embedded store: one process at a time", function () {
  this.timeout(600_000);
  let node: ConsortiumNode;
  let tmp: string;
  let deployment: string;
  let running: Running[] = [];
  // One store directory for the tests below, in turn (each new directory costs an initdb).
  let shared: string;

  before(async function () {
    node = await startConsortiumNode("anvil");
    await node.activity(2, 2);
    tmp = mkdtempSync(path.join(tmpdir(), "veritrace-onestore-"));
    deployment = path.join(tmp, "deployment.json");
    writeDeployment(deployment, node.record);
    shared = path.join(tmp, "db");
    // The store created (an initdb takes a while on a busy machine) and indexed once.
    const first = await runVeritrace(indexArgs(shared), env());
    expect(first.code, first.stderr).to.equal(0);
  });
  afterEach(async function () {
    for (const r of running) await r.stop("SIGKILL");
    running = [];
  });
  after(async function () {
    await node?.stop();
    if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true });
  });

  const start = (args: string[]) => {
    const r = startVeritrace(args);
    running.push(r);
    return r;
  };
  const indexArgs = (db: string) => [
    "index",
    "--rpc",
    node.url,
    "--deployment",
    deployment,
    "--db",
    db,
    "--finality",
    "4",
  ];
  const follow = (db: string) => start([...indexArgs(db), "--follow", "--poll-ms", "100"]);
  const serve = (db: string, ...more: string[]) =>
    start(["serve", "--db", db, "--insecure-local", "--port", "0", "--no-web", ...more]);

  it("refuses a second index with the holder's PID; the first keeps indexing, whole", async function () {
    const db = shared;
    const first = follow(db);
    await first.waitFor(/"msg":"caught up"/);
    const second = await runVeritrace(indexArgs(db), env());
    expectRefused(second, "index", first.pid);
    const secondFollow = await runVeritrace([...indexArgs(db), "--follow"], env());
    expectRefused(secondFollow, "index", first.pid);

    await node.activity(1, 2);
    const head = await node.head();
    await first.waitFor(new RegExp(`"msg":"indexed".*"to":${head}\\b`));
    const end = await first.stop("SIGTERM");
    expect(end.code, end.stderr).to.equal(0);
    expect(end.stderr).to.equal("");
    expect(existsSync(path.join(db, LOCK_FILE))).to.equal(false);

    const store = await Store.open(await openDatabase(db));
    try {
      expect(await snapshotStore(store)).to.deep.equal(
        await freshIndex(node.url, node.record, { finalityDepth: 4 }),
      );
    } finally {
      await store.close();
    }
  });

  it("refuses serve beside index --follow, index --follow beside serve, and case beside either", async function () {
    const db = shared;
    const follower = follow(db);
    await follower.waitFor(/"msg":"caught up"/);
    expectRefused(
      await runVeritrace(["serve", "--db", db, "--insecure-local", "--port", "0"], env()),
      "serve",
      follower.pid,
    );
    expectRefused(await runVeritrace(["case", "1", "--db", db], env()), "case", follower.pid);
    expect((await follower.stop()).code).to.equal(0);

    const server = serve(db);
    await server.waitFor(/^listening on /);
    expectRefused(await runVeritrace([...indexArgs(db), "--follow"], env()), "index", server.pid);
    expectRefused(await runVeritrace(["case", "1", "--db", db], env()), "case", server.pid);
    const end = await server.stop("SIGINT");
    expect(end.code, end.stderr).to.equal(0);
    expect(existsSync(path.join(db, LOCK_FILE))).to.equal(false);
  });

  it("takes over the lock of an index --follow killed with SIGKILL", async function () {
    const db = shared;
    const victim = follow(db);
    await victim.waitFor(/"msg":"caught up"/);
    const killed = await victim.stop("SIGKILL");
    expect(killed.signal).to.equal("SIGKILL");
    // The killed process could not remove its lock: it names a process that is gone.
    expect((JSON.parse(lockText(db)) as LockHolder).pid).to.equal(victim.pid);

    await node.activity(1, 1);
    const next = await runVeritrace(indexArgs(db), env());
    expect(next.code, next.stderr).to.equal(0);
    expect(next.stdout).to.match(new RegExp(`^indexed up to block ${await node.head()}:`));
    expect(existsSync(path.join(db, LOCK_FILE))).to.equal(false);
  });

  it("serve --follow answers /health at the follower's block during chain activity; its custody equals veritrace case --json", async function () {
    const db = shared;
    const server = serve(
      db,
      "--follow",
      "--rpc",
      node.url,
      "--deployment",
      deployment,
      "--finality",
      "4",
      "--poll-ms",
      "100",
    );
    const base = /^listening on (\S+)$/.exec(await server.waitFor(/^listening on /))?.[1] ?? "";
    const health = async () =>
      (await (await fetch(`${base}/health`)).json()) as {
        indexedTo: { blockNumber: number } | null;
        events: number;
        follower: { target: number | null; indexedTo: number | null; syncedAt: string | null };
      };
    // Chain activity while it serves: the answers follow the chain.
    let active = true;
    const activity = node.activity(2, 2).finally(() => (active = false));
    const seen: number[] = [];
    while (active || seen.length < 10) {
      const h = await health();
      seen.push(h.indexedTo?.blockNumber ?? -1);
      // The store and the follower are one: /health's checkpoint is the follower's block.
      if (h.follower.indexedTo !== null)
        expect(h.indexedTo?.blockNumber).to.be.at.least(h.follower.indexedTo);
      await new Promise((r) => setTimeout(r, 50));
    }
    await activity;
    const head = await node.head();
    let h = await health();
    for (let i = 0; i < 200 && h.indexedTo?.blockNumber !== head; i++) {
      await new Promise((r) => setTimeout(r, 100));
      h = await health();
    }
    expect(h.indexedTo?.blockNumber).to.equal(head);
    expect(h.follower.indexedTo).to.equal(head);
    expect(h.follower.target).to.equal(head);
    expect(Date.parse(h.follower.syncedAt ?? "")).to.be.greaterThan(0);
    expect(new Set(seen).size, "the answers moved with the chain").to.be.greaterThan(1);

    const caseIds = (
      (await (await fetch(`${base}/cases?limit=500`)).json()) as {
        items: { caseId: string }[];
      }
    ).items.map((c) => c.caseId);
    expect(caseIds.length).to.be.at.least(4);
    const last = caseIds[caseIds.length - 1] ?? "";
    const api = (await (await fetch(`${base}/cases/${last}?limit=500`)).json()) as {
      custody: { items: unknown[] };
    };
    const end = await server.stop("SIGTERM");
    expect(end.code, end.stderr).to.equal(0);
    expect(end.stderr).to.equal("");

    const cli = await runVeritrace(["case", last, "--db", db, "--json"], env());
    expect(cli.code, cli.stderr).to.equal(0);
    const report = JSON.parse(cli.stdout) as { custody: unknown[] };
    expect(report.custody.length).to.be.greaterThan(3);
    expect(api.custody.items).to.deep.equal(report.custody);

    const store = await Store.open(await openDatabase(db));
    try {
      expect(await snapshotStore(store)).to.deep.equal(
        await freshIndex(node.url, node.record, { finalityDepth: 4 }),
      );
    } finally {
      await store.close();
    }
  });

  it("serve --follow needs --rpc and --deployment, and a node of the record's chain; --deployment alone goes with --follow", async function () {
    const db = path.join(tmp, "usage");
    mkdirSync(db, { recursive: true });
    const noRpc = await runVeritrace(
      ["serve", "--db", db, "--insecure-local", "--follow", "--deployment", deployment],
      env(),
    );
    expect(noRpc.code).to.equal(2);
    expect(noRpc.stderr).to.match(/^veritrace serve: --follow needs --rpc URL/);
    const noFollow = await runVeritrace(
      ["serve", "--db", db, "--insecure-local", "--deployment", deployment],
      env(),
    );
    expect(noFollow.code).to.equal(2);
    expect(noFollow.stderr).to.match(/^veritrace serve: --deployment goes with --follow/);

    // A node that doesn't serve the record's chain: refused before the store is touched.
    const other = path.join(tmp, "other-chain.json");
    writeDeployment(other, { ...node.record, chainId: node.record.chainId + 1 });
    const fresh = path.join(tmp, "never-created");
    const wrong = await runVeritrace(
      [
        ...["serve", "--db", fresh, "--insecure-local", "--port", "0"],
        ...["--follow", "--rpc", node.url, "--deployment", other],
      ],
      env(),
    );
    expect(wrong.code).to.equal(1);
    expect(wrong.stderr).to.match(
      /^veritrace serve: the node at .* serves chain \d+, the deployment record says chain \d+\n$/,
    );
    expect(existsSync(fresh)).to.equal(false);
  });

  describe("on a PostgreSQL server", function () {
    let database: { url: string; drop(): Promise<void> } | undefined;
    before(async function () {
      try {
        database = await createPostgresDatabase("veritrace_lock");
      } catch (error) {
        if (process.env["CI"] !== undefined) throw error;
        console.warn(`      PostgreSQL unreachable: ${(error as Error).message}`);
        this.skip();
      }
    });
    after(async function () {
      await database?.drop();
    });

    it("takes no lock: serve and index --follow run side by side on one database", async function () {
      const url = database?.url ?? "";
      const follower = follow(url);
      await follower.waitFor(/"msg":"caught up"/);
      const server = serve(url);
      const base = /^listening on (\S+)$/.exec(await server.waitFor(/^listening on /))?.[1] ?? "";
      await node.activity(1, 1);
      const head = await node.head();
      let at = -1;
      for (let i = 0; i < 200 && at !== head; i++) {
        const h = (await (await fetch(`${base}/health`)).json()) as {
          indexedTo: { blockNumber: number } | null;
        };
        at = h.indexedTo?.blockNumber ?? -1;
        if (at !== head) await new Promise((r) => setTimeout(r, 100));
      }
      expect(at).to.equal(head);
      const cli = await runVeritrace(["case", "1", "--db", url, "--json"], env());
      expect(cli.code, cli.stderr).to.equal(0);
      expect((await server.stop()).code).to.equal(0);
      expect((await follower.stop()).code).to.equal(0);
    });
  });
});
