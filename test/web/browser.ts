/**
 * What the dashboard's browser tests and `npm run bench:web` share: Debian's Chromium driven by
 * playwright-core (never a downloaded browser), with the flags that keep it quiet on an offline
 * machine, and `veritrace serve` as a subprocess. playwright-core gives every launch a new empty
 * profile (its own --user-data-dir, removed on close) and adds --headless.
 */
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser } from "playwright-core";

export const CHROMIUM = process.env["VERITRACE_CHROMIUM"] ?? "/usr/bin/chromium";
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/**
 * `veritrace serve ARGS` as a subprocess accepting `token` (and no token from the caller's
 * environment or DATABASE_URL); resolves with its base URL once it listens.
 */
export async function serve(
  args: readonly string[],
  token: string,
): Promise<{ base: string; child: ChildProcess }> {
  const env: NodeJS.ProcessEnv = { ...process.env, VERITRACE_API_TOKENS: token };
  delete env["DATABASE_URL"];
  const child = spawn(
    process.execPath,
    [path.join(ROOT, "bin", "veritrace.mjs"), "serve", ...args],
    { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] },
  );
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  const base = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m?.[1] !== undefined) resolve(m[1]);
    });
    child.once("exit", (code) => reject(new Error(`serve exited ${code}: ${stderr}`)));
  });
  return { base, child };
}

/** Stops a subprocess with SIGTERM and waits for it to exit. */
export async function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await exited;
}
