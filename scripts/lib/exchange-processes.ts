/**
 * The set-up of the exchange between real processes (the gateway's tests and
 * `npm run bench:exchange`): keystores of the node's institutions, a self-signed certificate for
 * 127.0.0.1, and `veritrace exchange serve` as a child process whose JSON log lines are kept.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { HDNodeWallet, encryptKeystoreJson } from "ethers";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export const BIN = path.join(ROOT, "bin", "veritrace.mjs");
/** The password of the keystores written by {@link writeKeystores}. */
export const KEYSTORE_PASSWORD = "a keystore password for the test";
/** The node's accounts (anvil's and Hardhat's default mnemonic). */
export const MNEMONIC = "test test test test test test test test test test test junk";
/** The environment that unlocks the keystores. */
export const KEYSTORE_ENV = { VERITRACE_KEYSTORE_PASSWORD: KEYSTORE_PASSWORD };
/** The institutions' account indexes in the node's mnemonic (scripts/lib/activity.ts, `onboard`). */
export const ACCOUNT_INDEX = { police: 3, bank: 5, telecom: 6 } as const;
/** An institution of the exchange's set-up. */
export type Who = keyof typeof ACCOUNT_INDEX;

/** The node's account `index`, as the wallet its mnemonic derives. */
export function nodeWallet(index: number): HDNodeWallet {
  return HDNodeWallet.fromPhrase(MNEMONIC, undefined, `m/44'/60'/0'/0/${index}`);
}

/** Writes `<dir>/<who>.json`, an encrypted keystore of each institution's signing key (mode 600). */
export async function writeKeystores(
  dir: string,
  who: readonly Who[] = ["police", "bank", "telecom"],
): Promise<void> {
  for (const name of who) {
    const wallet = nodeWallet(ACCOUNT_INDEX[name]);
    const json = await encryptKeystoreJson(
      { address: wallet.address, privateKey: wallet.privateKey },
      KEYSTORE_PASSWORD,
      // A cheap scrypt: the tests unlock keystores many times.
      { scrypt: { N: 1024 } },
    );
    writeFileSync(path.join(dir, `${name}.json`), json, { mode: 0o600 });
  }
}

/** Writes `<dir>/cert.pem` and `<dir>/key.pem`: a self-signed P-256 certificate for 127.0.0.1. */
export function writeLoopbackCertificate(dir: string): { cert: string; key: string } {
  const cert = path.join(dir, "cert.pem");
  const key = path.join(dir, "key.pem");
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-days",
      "2",
      "-subj",
      "/CN=127.0.0.1",
      "-addext",
      "subjectAltName=IP:127.0.0.1",
      "-keyout",
      key,
      "-out",
      cert,
    ],
    { stdio: "ignore" },
  );
  return { cert, key };
}

/** A running `veritrace exchange serve`. */
export interface GatewayProcess {
  child: ChildProcess;
  url: string;
  /** Every JSON line it printed, in order. */
  lines: Record<string, unknown>[];
  /** Called with each line as it is printed. */
  onLine(listen: (line: Record<string, unknown>) => void): void;
  /** The lines printed about `requestId`. */
  about(requestId: bigint): Record<string, unknown>[];
  /** The first line printed with `msg` about `requestId` (and `extra`), waited for up to 30 s. */
  logged(
    msg: string,
    requestId: bigint,
    extra?: Record<string, unknown>,
  ): Promise<Record<string, unknown>>;
  /** Sends `signal` (SIGTERM: a clean stop) unless it has ended; resolves once it has. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Starts `veritrace exchange serve --port 0 ARGS`; resolves once it listens. `entry` is the
 * command's script: bin/veritrace.mjs (the sources, in a checkout) or dist/src/cli/main.js.
 */
export async function startGateway(
  args: readonly string[],
  env: NodeJS.ProcessEnv = KEYSTORE_ENV,
  entry = BIN,
): Promise<GatewayProcess> {
  const child = spawn(process.execPath, [entry, "exchange", "serve", "--port", "0", ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (c: Buffer) => (stderr += c.toString()));
  const lines: Record<string, unknown>[] = [];
  const listeners: ((line: Record<string, unknown>) => void)[] = [];
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", (line) => {
      const entry = JSON.parse(line) as Record<string, unknown>;
      lines.push(entry);
      for (const listen of listeners) listen(entry);
      if (entry["msg"] === "listening") resolve(String(entry["url"]));
    });
    child.once("exit", (code) => reject(new Error(`exchange serve exited (${code}): ${stderr}`)));
  });
  const about = (requestId: bigint) => lines.filter((l) => l["requestId"] === `${requestId}`);
  return {
    child,
    url,
    lines,
    onLine: (listen) => listeners.push(listen),
    about,
    async logged(msg, requestId, extra = {}) {
      for (let i = 0; i < 300; i++) {
        const found = about(requestId).find(
          (l) => l["msg"] === msg && Object.entries(extra).every(([k, v]) => l[k] === v),
        );
        if (found !== undefined) return found;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`no ${msg} for request ${requestId}: ${JSON.stringify(lines)}`);
    },
    stop: (signal = "SIGTERM") =>
      new Promise<void>((resolve) => {
        // A process killed by a signal has no exit code, only its signal.
        if (child.exitCode !== null || child.signalCode !== null) resolve();
        else {
          child.once("exit", () => resolve());
          child.kill(signal);
        }
      }),
  };
}
