import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import path from "node:path";

/** A JSON-RPC node started as a child process for the lifetime of a script or test. */
export interface LocalChain {
  kind: "hardhat" | "anvil";
  url: string;
  stop(): Promise<void>;
}

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const bin = (name: string) => path.join(root, "node_modules", ".bin", name);

/** A TCP port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => {
        if (address === null || typeof address === "string") reject(new Error("no port"));
        else resolve(address.port);
      });
    });
  });
}

async function rpcReady(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
    });
    return res.ok;
  } catch {
    return false;
  }
}

const running = new Set<ChildProcess>();
function killAll(): void {
  for (const child of running) {
    if (child.pid !== undefined) {
      try {
        process.kill(-child.pid, "SIGTERM");
      } catch {
        // already gone
      }
    }
  }
}
process.once("exit", killAll);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    killAll();
    process.exit(130);
  });
}

/** EIP-170's limit on deployed code, which both local nodes enforce by default. */
const MAX_CODE_SIZE = 24_576;

/**
 * Whether the compiled artifacts are larger than a chain accepts: `hardhat test --coverage`
 * instruments every contract (the registry grows from about 22 KB to 38 KB), and the tests'
 * local nodes must then accept them. Never true for a plain `hardhat build`, so the demo and
 * the benchmarks run under the real limit.
 */
export function artifactsExceedCodeSizeLimit(): boolean {
  try {
    const file = path.join(
      root,
      "artifacts/contracts/registry/ParticipantRegistry.sol/ParticipantRegistry.json",
    );
    const { deployedBytecode } = JSON.parse(readFileSync(file, "utf8")) as {
      deployedBytecode: string;
    };
    return (deployedBytecode.length - 2) / 2 > MAX_CODE_SIZE;
  } catch {
    return false;
  }
}

/**
 * Starts `hardhat node` (Hardhat's EDR) or anvil on 127.0.0.1 and a free port, and waits until it
 * answers JSON-RPC. Both use the same default mnemonic, so the same funded accounts. `chainId`
 * (anvil only) gives the chain another id than 31337, for tests that need two chains.
 */
export async function startLocalChain(
  kind: "hardhat" | "anvil",
  timeoutMs = 60_000,
  chainId?: number,
): Promise<LocalChain> {
  if (chainId !== undefined && kind !== "anvil") throw new Error("only anvil takes a chain id");
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const unlimited = artifactsExceedCodeSizeLimit();
  const [cmd, args] =
    kind === "hardhat"
      ? [bin("hardhat"), ["node", "--hostname", "127.0.0.1", "--port", String(port)]]
      : [
          bin("anvil"),
          [
            "--host",
            "127.0.0.1",
            "--port",
            String(port),
            "--silent",
            ...(chainId === undefined ? [] : ["--chain-id", String(chainId)]),
            ...(unlimited ? ["--disable-code-size-limit"] : []),
          ],
        ];
  const child = spawn(cmd, args, {
    cwd: root,
    // hardhat.config.ts reads this for the `node` network (instrumented artifacts only).
    env: unlimited ? { ...process.env, VERITRACE_UNLIMITED_CODE_SIZE: "1" } : process.env,
    detached: true,
    stdio: ["ignore", "ignore", "pipe"],
  });
  running.add(child);
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  let exited = false;
  const exitedPromise = new Promise<void>((resolve) =>
    child.once("exit", () => {
      exited = true;
      running.delete(child);
      resolve();
    }),
  );
  const stop = async () => {
    if (exited || child.pid === undefined) return;
    try {
      process.kill(-child.pid, "SIGTERM");
    } catch {
      return;
    }
    const timer = setTimeout(() => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
      } catch {
        // gone
      }
    }, 5000);
    await exitedPromise;
    clearTimeout(timer);
  };
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited)
      throw new Error(
        `${kind} node exited before answering: ${stderr.trim().split("\n").pop() ?? ""}`,
      );
    if (await rpcReady(url)) return { kind, url, stop };
    await new Promise((r) => setTimeout(r, 200));
  }
  await stop();
  throw new Error(`${kind} node did not answer on ${url} within ${timeoutMs} ms`);
}
