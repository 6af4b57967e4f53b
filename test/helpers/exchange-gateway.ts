/**
 * The exchange's test bed on anvil, shared by the gateway and fetch tests: the consortium with the
 * police (requester, with an age identity registered), the bank (provider) and the telecom
 * operator (a third party of the case), their keystores, a self-signed certificate for 127.0.0.1,
 * an approved case, and the bank's `veritrace exchange serve` over HTTPS with a handler that
 * exports CSV (three lines, `LARGE_LINES` for purpose `LARGE`, a failure for purpose `FAIL`).
 */
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { createServer as createTcpServer, connect as tcpConnect, type Server } from "node:net";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { expect } from "chai";
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
import { ROOT, startConsortiumNode, type ConsortiumNode } from "./tracer.js";

export const BIN = path.join(ROOT, "bin", "veritrace.mjs");
export const PASSWORD = "a keystore password for the test";
const MNEMONIC = "test test test test test test test test test test test junk";
export const DAY = 86_400;
/** Purpose codes the test handler reads: a failing export, a large one; any other: three lines. */
export const FAIL = 9;
export const LARGE = 7;
export const LARGE_LINES = 20_000;

/** What the handler exports for a request (it must match handler.cjs below). */
export function exportOf(requestId: bigint, lines: number): string {
  let out = "account,amount\n";
  for (let i = 0; i < lines; i++) out += `ACC${requestId}-${i},${i * 100}\n`;
  return out;
}

const HANDLER = `
let s = "";
process.stdin.on("data", (c) => (s += c)).on("end", () => {
  const r = JSON.parse(s);
  if (r.purposeCode === ${FAIL}) {
    process.stderr.write("core banking: account not found\\n");
    process.exit(3);
  }
  const n = r.purposeCode === ${LARGE} ? ${LARGE_LINES} : 3;
  let out = "account,amount\\n";
  for (let i = 0; i < n; i++) out += "ACC" + r.requestId + "-" + i + "," + i * 100 + "\\n";
  require("node:fs").writeFileSync(process.env.VERITRACE_RECORDS_FILE, String(n));
  process.stdout.write(out);
});
`;

export interface GatewayProcess {
  child: ChildProcess;
  url: string;
  lines: Record<string, unknown>[];
  stop(): Promise<void>;
}

export async function startGateway(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
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

/**
 * A TCP proxy to `port` that closes each connection after `cutAfter` bytes of the answer; with
 * `hold`, it passes no more bytes after those but keeps the connection open until the upstream
 * ends it (a transfer in progress, for a test to act on meanwhile).
 */
export async function cuttingProxy(
  port: number,
  cutAfter: number,
  hold = false,
): Promise<{ url: string; close(): void }> {
  const server: Server = createTcpServer((client) => {
    const upstream = tcpConnect(port, "127.0.0.1");
    let sent = 0;
    client.pipe(upstream);
    upstream.on("data", (c: Buffer) => {
      const room = cutAfter - sent;
      if (room <= 0) return;
      client.write(room >= c.length ? c : c.subarray(0, room));
      sent += Math.min(room, c.length);
      if (sent >= cutAfter && !hold) {
        // What was written reaches the client, then the connection ends mid-answer.
        client.end();
        upstream.destroy();
      }
    });
    upstream.on("error", () => client.destroy());
    upstream.on("close", () => client.end());
    client.on("error", () => upstream.destroy());
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port: p } = server.address() as AddressInfo;
  return { url: `https://127.0.0.1:${p}`, close: () => server.close() };
}

/** The last line of stderr, and that there is only one. */
export function oneLine(r: { code: number | null; stderr: string }, code = 1): string {
  const lines = r.stderr.split("\n").filter((l) => l !== "");
  expect(lines, r.stderr).to.have.length(1);
  expect(r.code, r.stderr).to.equal(code);
  return lines[0] as string;
}

export type Who = "police" | "bank" | "telecom";

/** The running test bed; {@link ExchangeBed.stop} ends the gateway and the node. */
export class ExchangeBed {
  readonly env = { VERITRACE_KEYSTORE_PASSWORD: PASSWORD };

  private constructor(
    readonly node: ConsortiumNode,
    readonly dir: string,
    readonly ca: Buffer,
    readonly caseId: bigint,
    readonly police: Investigator,
    readonly bank: Provider,
    public gateway: GatewayProcess,
  ) {}

  get policeSigner(): Signer {
    return this.node.cast.police.signer;
  }

  file(name: string): string {
    return path.join(this.dir, name);
  }

  keyArgs(who: Who): string[] {
    return [
      "--rpc",
      this.node.url,
      "--deployment",
      this.file("deployment.json"),
      "--keystore",
      this.file(`${who}.json`),
    ];
  }

  /** The arguments of the bank's gateway (the same `--dir` on every start). */
  gatewayArgs(): string[] {
    return [
      "--handler",
      `${JSON.stringify(process.execPath)} ${JSON.stringify(this.file("handler.cjs"))}`,
      "--dir",
      this.file("gateway"),
      "--tls-cert",
      this.file("cert.pem"),
      "--tls-key",
      this.file("key.pem"),
      "--poll",
      "1",
      ...this.keyArgs("bank"),
    ];
  }

  static async start(): Promise<ExchangeBed> {
    const dir = mkdtempSync(path.join(tmpdir(), "veritrace-exchange-"));
    const file = (name: string) => path.join(dir, name);
    const node = await startConsortiumNode("anvil");
    writeDeployment(file("deployment.json"), node.record);
    for (const [who, index] of [
      ["police", 3],
      ["bank", 5],
      ["telecom", 6],
    ] as const) {
      const wallet = HDNodeWallet.fromPhrase(MNEMONIC, undefined, `m/44'/60'/0'/0/${index}`);
      const json = await encryptKeystoreJson(
        { address: wallet.address, privateKey: wallet.privateKey },
        PASSWORD,
        { scrypt: { N: 1024 } },
      );
      writeFileSync(file(`${who}.json`), json, { mode: 0o600 });
    }
    expect(HDNodeWallet.fromPhrase(MNEMONIC, undefined, "m/44'/60'/0'/0/3").address).to.equal(
      await node.cast.police.signer.getAddress(),
    );
    // A self-signed certificate for 127.0.0.1.
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
    writeFileSync(file("handler.cjs"), HANDLER);

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
      caseNumber: "EXCHANGE-1",
      caseKey: generateCaseKey(),
      legalBasis: "order",
      scope: [DataKind.BankTransactions],
      expiresAt: now + 365 * DAY,
    });
    await new Supervisor(contracts, cast.prosecutor.signer).approveCase(caseId);
    const bed = new ExchangeBed(node, dir, ca, caseId, police, bank, undefined as never);
    bed.gateway = await startGateway(bed.gatewayArgs(), bed.env);
    return bed;
  }

  async stop(): Promise<void> {
    await this.gateway?.stop();
    await this.node.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Starts the bank's gateway again (after it was stopped or killed), on a new port. */
  async restartGateway(): Promise<void> {
    this.gateway = await startGateway(this.gatewayArgs(), this.env);
  }

  /** A new approved case of the police, expiring in `days`. */
  async openCase(caseNumber: string, days = 365): Promise<bigint> {
    const now = Number(await this.police.now());
    const { caseId } = await this.police.openCase({
      caseNumber,
      caseKey: generateCaseKey(),
      legalBasis: `order ${caseNumber}`,
      scope: [DataKind.BankTransactions],
      expiresAt: now + days * DAY,
    });
    await new Supervisor(this.node.contracts, this.node.cast.prosecutor.signer).approveCase(caseId);
    return caseId;
  }

  /** A request of the police to the bank under `c`, granted for `days`. */
  async grantedRequest(purposeCode: number, c = this.caseId, days = 30): Promise<bigint> {
    const { requestId } = await this.police.request({
      caseId: c,
      provider: this.node.cast.bank.id,
      datasetId: this.node.cast.bank.dataset,
      subject: { type: "bankAccount", identifier: "DE89370400440532013000" },
      caseKey: generateCaseKey(),
      purposeCode,
    });
    const now = Number(await this.bank.now());
    await this.bank.grant(requestId, { expiresAt: now + days * DAY, maxRecords: 100_000 });
    return requestId;
  }

  /** Waits for the gateway's log line about `requestId` with `msg`. */
  async logged(msg: string, requestId: bigint): Promise<Record<string, unknown>> {
    for (let i = 0; i < 300; i++) {
      const found = this.gateway.lines.find(
        (l) => l["msg"] === msg && l["requestId"] === requestId.toString(),
      );
      if (found !== undefined) return found;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`no ${msg} for request ${requestId}: ${JSON.stringify(this.gateway.lines)}`);
  }

  fetchArgs(
    requestId: bigint,
    out: string,
    url = this.gateway.url,
    who: "police" | "telecom" = "police",
  ): string[] {
    return [
      "exchange",
      "fetch",
      "--request",
      requestId.toString(),
      "--gateway",
      url,
      "--identity",
      this.file("police.age"),
      "--out",
      out,
      "--ca",
      this.file("cert.pem"),
      "--json",
      ...this.keyArgs(who),
    ];
  }

  /** A GET signed by `signer` (headers may be given to replay them); status and problem. */
  async signedGet(
    p: string,
    requestId: bigint,
    signer: Signer,
    headers?: Record<string, string>,
  ): Promise<{ status: number; body: Record<string, unknown>; headers: Record<string, string> }> {
    const { node } = this;
    const domain = gatewayDomain(node.record.chainId, node.record.contracts.AccessLedger);
    const h =
      headers ??
      (await signedRequestHeaders(signer, domain, { method: "GET", path: p, requestId }));
    return new Promise((resolve, reject) => {
      const req = httpsRequest(new URL(p, this.gateway.url), { headers: h, ca: this.ca }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString();
          let body: Record<string, unknown> = {};
          try {
            body = JSON.parse(text) as Record<string, unknown>;
          } catch {
            body = { raw: text.length };
          }
          resolve({ status: res.statusCode ?? 0, body, headers: h });
        });
      });
      req.on("error", reject);
      req.end();
    });
  }

  /** The deliveries attested on the ledger under a request. */
  async attested(requestId: bigint) {
    const a = this.node.contracts.access;
    return a.queryFilter(a.filters.DeliveryAttested(undefined, requestId));
  }
}
