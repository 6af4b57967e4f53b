import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { artifactsExceedCodeSizeLimit, freePort, type LocalChain } from "./local-chain.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** Extra settings of an anvil node (each one anvil's command-line option of the same meaning). */
export interface AnvilOptions {
  /** Block gas limit (`--gas-limit`); large blocks let a benchmark pack many transactions. */
  gasLimit?: bigint;
  /** Constant base fee (`--base-fee`); 0 keeps it at 0 however full the blocks are. */
  baseFee?: bigint;
  /** Mempool order (`--order`): "fifo" mines transactions in the order they arrived. */
  order?: "fees" | "fifo";
  /** Interval mining (`--block-time`), in seconds, instead of one block per transaction. */
  blockTime?: number;
  /** Mine only on `evm_mine` (`--no-mining`). */
  noMining?: boolean;
  /** Start from this genesis file (`--init`): its chain id, alloc and block-0 fields. */
  init?: string;
  /** Chain id (`--chain-id`); with `init`, give the genesis's, which anvil's own signer uses. */
  chainId?: number;
}

function anvilArgs(port: number, o: AnvilOptions): string[] {
  const args = ["--host", "127.0.0.1", "--port", String(port), "--silent"];
  if (o.gasLimit !== undefined) args.push("--gas-limit", o.gasLimit.toString());
  if (o.baseFee !== undefined) args.push("--base-fee", o.baseFee.toString());
  if (o.order !== undefined) args.push("--order", o.order);
  if (o.blockTime !== undefined) args.push("--block-time", String(o.blockTime));
  if (o.noMining === true) args.push("--no-mining");
  if (o.init !== undefined) args.push("--init", o.init);
  if (o.chainId !== undefined) args.push("--chain-id", String(o.chainId));
  // Instrumented artifacts (hardhat test --coverage) are larger than EIP-170 allows.
  if (artifactsExceedCodeSizeLimit()) args.push("--disable-code-size-limit");
  return args;
}

async function answers(url: string): Promise<boolean> {
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

/**
 * Starts anvil (npm `@foundry-rs/anvil`) on 127.0.0.1 and a free port with the given settings,
 * and waits until it answers JSON-RPC. Same accounts as `hardhat node` (the default mnemonic).
 * The node is killed when this process exits, whatever the reason.
 */
export async function startAnvil(
  options: AnvilOptions = {},
  timeoutMs = 30_000,
): Promise<LocalChain> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(path.join(root, "node_modules", ".bin", "anvil"), anvilArgs(port, options), {
    cwd: root,
    detached: true,
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  let exited = false;
  const exitedPromise = new Promise<void>((resolve) =>
    child.once("exit", () => {
      exited = true;
      resolve();
    }),
  );
  const kill = (signal: NodeJS.Signals) => {
    if (exited || child.pid === undefined) return;
    try {
      process.kill(-child.pid, signal);
    } catch {
      // already gone
    }
  };
  const onExit = () => kill("SIGKILL");
  process.once("exit", onExit);
  const stop = async () => {
    process.off("exit", onExit);
    if (exited) return;
    kill("SIGTERM");
    const timer = setTimeout(() => kill("SIGKILL"), 5000);
    await exitedPromise;
    clearTimeout(timer);
  };
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited) {
      throw new Error(`anvil exited before answering: ${stderr.trim().split("\n").pop() ?? ""}`);
    }
    if (await answers(url)) return { kind: "anvil", url, stop };
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  throw new Error(`anvil did not answer on ${url} within ${timeoutMs} ms`);
}
