import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { writeDeployment } from "../../src/client/index.js";
import { ROOT, startConsortiumNode, type ConsortiumNode } from "../helpers/tracer.js";

type LogEntry = Record<string, unknown>;

/** `veritrace index --follow` as a child process whose JSON log lines can be awaited. */
function follow(args: readonly string[]): {
  child: ChildProcess;
  lines: LogEntry[];
  next(match: (e: LogEntry) => boolean, timeoutMs?: number): Promise<LogEntry>;
} {
  const child = spawn(process.execPath, [path.join(ROOT, "bin", "veritrace.mjs"), ...args], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: LogEntry[] = [];
  const waiters: { match: (e: LogEntry) => boolean; resolve: (e: LogEntry) => void }[] = [];
  let buffer = "";
  let stderr = "";
  child.stderr?.on("data", (c: Buffer) => (stderr += c.toString()));
  child.stdout?.on("data", (c: Buffer) => {
    buffer += c.toString();
    let nl: number;
    while ((nl = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      const entry = JSON.parse(line) as LogEntry;
      lines.push(entry);
      for (const w of [...waiters]) {
        if (w.match(entry)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(entry);
        }
      }
    }
  });
  let seen = 0;
  return {
    child,
    lines,
    // Resolves with the first matching line after those already returned by an earlier next().
    next: (match, timeoutMs = 30_000) => {
      const found = lines.slice(seen).findIndex(match);
      if (found >= 0) {
        seen += found + 1;
        return Promise.resolve(lines[seen - 1] as LogEntry);
      }
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no matching log line in ${timeoutMs} ms; stderr: ${stderr}`)),
          timeoutMs,
        );
        waiters.push({
          match,
          resolve: (e) => {
            clearTimeout(timer);
            seen = lines.length;
            resolve(e);
          },
        });
      });
    },
  };
}

describe("veritrace index --follow", function () {
  let node: ConsortiumNode;
  let dir: string;

  before(async function () {
    node = await startConsortiumNode("anvil");
    await node.activity(1, 1);
    dir = mkdtempSync(path.join(tmpdir(), "veritrace-follow-"));
    writeDeployment(path.join(dir, "deployment.json"), node.record);
  });
  after(async function () {
    await node?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("logs an indexed line after a reorganization that leaves the head at the same height", async function () {
    const f = follow([
      "index",
      "--follow",
      "--rpc",
      node.url,
      "--deployment",
      path.join(dir, "deployment.json"),
      "--db",
      path.join(dir, "db"),
      "--finality",
      "10",
      "--poll-ms",
      "20",
    ]);
    try {
      const caughtUp = await f.next((e) => e["msg"] === "caught up");
      const head = await node.head();
      expect(caughtUp["block"]).to.equal(head);

      // Two blocks re-mined with other transactions: the head stays at the same height.
      const council = await node.signers[0]?.getAddress();
      const data = node.contracts.registry.interface.encodeFunctionData("pause");
      await node.rpc.call("anvil_reorg", [
        2,
        [[{ from: council, to: node.record.contracts.ParticipantRegistry, data }, 0]],
      ]);
      expect(await node.head()).to.equal(head);

      const reorg = await f.next((e) => e["msg"] === "reorganization");
      expect(reorg["fork"]).to.equal(head - 2);
      const indexed = await f.next((e) => e["msg"] === "indexed");
      expect(indexed).to.include({
        from: head - 1,
        to: head,
        reorganizedFrom: head - 1,
        events: 1,
      });
    } finally {
      f.child.kill("SIGTERM");
      await new Promise((r) => f.child.once("close", r));
    }
    expect(f.lines.at(-1)).to.include({ msg: "stopped" });
  });
});
