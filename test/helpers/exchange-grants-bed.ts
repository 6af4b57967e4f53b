/**
 * The exchange gateway's world on anvil, for the tests that run `veritrace exchange serve` as a
 * real process: the institutions' keystores, a self-signed certificate for 127.0.0.1, the
 * police's encryption key registered, an approved case, granted requests, the gateway process
 * with its JSON log, and GETs signed by any signer.
 */
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import path from "node:path";
import { createInterface } from "node:readline";
import { HDNodeWallet, encryptKeystoreJson, type Signer } from "ethers";
import {
  DataKind,
  Investigator,
  Provider,
  Supervisor,
  generateCaseKey,
  generateEncryptionIdentity,
  registerEncryptionKey,
  writeDeployment,
} from "../../src/client/index.js";
import { gatewayDomain, signedRequestHeaders } from "../../src/exchange/protocol.js";
import { ROOT, type ConsortiumNode } from "./tracer.js";

export const BIN = path.join(ROOT, "bin", "veritrace.mjs");
const PASSWORD = "a keystore password for the test";
const MNEMONIC = "test test test test test test test test test test test junk";
export const DAY = 86_400;
/** The environment a command needs to open the keystores. */
export const KEYSTORE_ENV = { VERITRACE_KEYSTORE_PASSWORD: PASSWORD };

export type Who = "police" | "bank" | "telecom";

/** A running `veritrace exchange serve`: its URL, every JSON line it logged so far. */
export interface GatewayProcess {
  child: ChildProcess;
  url: string;
  lines: Record<string, unknown>[];
  /** The first line logged with `msg` about `requestId` (and `extra`), waited for up to 30 s. */
  logged(
    msg: string,
    requestId: bigint,
    extra?: Record<string, unknown>,
  ): Promise<Record<string, unknown>>;
  /** The lines logged about `requestId`. */
  about(requestId: bigint): Record<string, unknown>[];
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export async function startGateway(
  args: readonly string[],
  env: NodeJS.ProcessEnv = KEYSTORE_ENV,
): Promise<GatewayProcess> {
  const child = spawn(process.execPath, [BIN, "exchange", "serve", "--port", "0", ...args], {
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
    child.once("exit", (code) => reject(new Error(`exchange serve exited (${code}): ${stderr}`)));
  });
  const about = (requestId: bigint) => lines.filter((l) => l["requestId"] === `${requestId}`);
  return {
    child,
    url,
    lines,
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
        if (child.exitCode !== null || child.signalCode !== null) resolve();
        else {
          child.once("exit", () => resolve());
          child.kill(signal);
        }
      }),
  };
}

/** The consortium's exchange set-up in `dir`: files, clients and an approved case. */
export interface ExchangeSetup {
  police: Investigator;
  bank: Provider;
  caseId: bigint;
  /** The gateway's certificate, to trust. */
  ca: Buffer;
  /** A file of the set-up's directory. */
  file(name: string): string;
  /** --rpc, --deployment and --keystore of an institution. */
  keyArgs(who: Who): string[];
  /** --tls-cert and --tls-key of the gateway. */
  tlsArgs: string[];
  /** A request of the police to the bank under the case, granted. */
  grantedRequest(
    purposeCode: number,
    options?: { caseId?: bigint; maxRecords?: number },
  ): Promise<bigint>;
  /** A GET of `p` on `url` signed by `signer` (or with `headers` as given, to replay them). */
  signedGet(
    url: string,
    p: string,
    requestId: bigint,
    signer: Signer,
    headers?: Record<string, string>,
  ): Promise<SignedAnswer>;
}

export interface SignedAnswer {
  status: number;
  body: Record<string, unknown>;
  /** The answer's bytes (an envelope). */
  raw: Buffer;
  headers: Record<string, string>;
}

/**
 * Writes the deployment record and the police's, bank's and telecom's keystores (the node's
 * accounts 3, 5, 6) into `dir`, a certificate for 127.0.0.1, registers the police's encryption key
 * (its identity in police.age) and opens an approved case.
 */
export async function setUpExchange(node: ConsortiumNode, dir: string): Promise<ExchangeSetup> {
  const file = (name: string) => path.join(dir, name);
  writeDeployment(file("deployment.json"), node.record);
  for (const [who, index] of [
    ["police", 3],
    ["bank", 5],
    ["telecom", 6],
  ] as const) {
    const wallet = HDNodeWallet.fromPhrase(MNEMONIC, undefined, `m/44'/60'/0'/0/${index}`);
    if (wallet.address !== (await node.cast[who].signer.getAddress()))
      throw new Error(`account ${index} is not the ${who}'s key`);
    const json = await encryptKeystoreJson(
      { address: wallet.address, privateKey: wallet.privateKey },
      PASSWORD,
      { scrypt: { N: 1024 } },
    );
    writeFileSync(file(`${who}.json`), json, { mode: 0o600 });
  }
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
      file("key.pem"),
      "-out",
      file("cert.pem"),
    ],
    { stdio: "ignore" },
  );
  const ca = readFileSync(file("cert.pem"));

  const { contracts, cast } = node;
  const police = new Investigator(contracts, cast.police.signer);
  const bank = new Provider(contracts, cast.bank.signer);
  const { identity, publicKey } = await generateEncryptionIdentity();
  await registerEncryptionKey(contracts, cast.police.signer, publicKey);
  writeFileSync(file("police.age"), `# the police's encryption key\n${identity}\n`, {
    mode: 0o600,
  });
  const now = Number(await police.now());
  const { caseId } = await police.openCase({
    caseNumber: `EXCHANGE-${path.basename(dir)}`,
    caseKey: generateCaseKey(),
    legalBasis: "order",
    scope: [DataKind.BankTransactions],
    expiresAt: now + 365 * DAY,
  });
  await new Supervisor(contracts, cast.prosecutor.signer).approveCase(caseId);
  const domain = gatewayDomain(node.record.chainId, node.record.contracts.AccessLedger);

  return {
    police,
    bank,
    caseId,
    ca,
    file,
    keyArgs: (who) => [
      "--rpc",
      node.url,
      "--deployment",
      file("deployment.json"),
      "--keystore",
      file(`${who}.json`),
    ],
    tlsArgs: ["--tls-cert", file("cert.pem"), "--tls-key", file("key.pem")],
    async grantedRequest(purposeCode, options = {}) {
      const { requestId } = await police.request({
        caseId: options.caseId ?? caseId,
        provider: cast.bank.id,
        datasetId: cast.bank.dataset,
        subject: { type: "bankAccount", identifier: "DE89370400440532013000" },
        caseKey: generateCaseKey(),
        purposeCode,
      });
      const at = Number(await bank.now());
      await bank.grant(requestId, {
        expiresAt: at + 30 * DAY,
        maxRecords: options.maxRecords ?? 100_000,
      });
      return requestId;
    },
    async signedGet(url, p, requestId, signer, headers) {
      const h =
        headers ??
        (await signedRequestHeaders(signer, domain, { method: "GET", path: p, requestId }));
      return new Promise((resolve, reject) => {
        const req = httpsRequest(new URL(p, url), { headers: h, ca }, (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            const raw = Buffer.concat(chunks);
            let body: Record<string, unknown> = {};
            try {
              body = JSON.parse(raw.toString()) as Record<string, unknown>;
            } catch {
              body = { raw: raw.length };
            }
            resolve({ status: res.statusCode ?? 0, body, raw, headers: h });
          });
        });
        req.on("error", reject);
        req.end();
      });
    },
  };
}
