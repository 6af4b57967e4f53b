/**
 * The exchange gateway's world on anvil, shared by the gateway tests: a consortium node, the
 * police's, the bank's and the telecom operator's keystores, a self-signed certificate for
 * 127.0.0.1, a handler that exports CSV, the police's encryption key registered and an approved
 * case; the bank's `veritrace exchange serve` as a real process, signed GETs to it, and the
 * arguments of the police's `veritrace exchange fetch`.
 */
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request as httpsRequest } from "node:https";
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

/** What the handler exports for a request (it must match HANDLER below). */
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

/** A running `veritrace exchange serve`: its URL and every JSON line it printed so far. */
export interface GatewayProcess {
  child: ChildProcess;
  url: string;
  lines: Record<string, unknown>[];
  stop(): Promise<void>;
}

/** Starts `veritrace exchange serve --port 0 …args`; resolves once it listens. */
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

/** The last line of stderr, and that there is only one. */
export function oneLine(r: { code: number | null; stderr: string }, code = 1): string {
  const lines = r.stderr.split("\n").filter((l) => l !== "");
  expect(lines, r.stderr).to.have.length(1);
  expect(r.code, r.stderr).to.equal(code);
  return lines[0] as string;
}

/** Waits for the gateway's stdout line about `requestId` with `msg`. */
export async function logged(
  gateway: GatewayProcess,
  msg: string,
  requestId: bigint,
  more: (line: Record<string, unknown>) => boolean = () => true,
): Promise<Record<string, unknown>> {
  for (let i = 0; i < 300; i++) {
    const found = gateway.lines.find(
      (l) => l["msg"] === msg && l["requestId"] === requestId.toString() && more(l),
    );
    if (found !== undefined) return found;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no ${msg} for request ${requestId}: ${JSON.stringify(gateway.lines)}`);
}

export type Who = "police" | "bank" | "telecom";

/** The consortium, the keys and files of the gateway tests; see the module's comment. */
export class GatewayWorld {
  readonly env = { VERITRACE_KEYSTORE_PASSWORD: PASSWORD };
  /** The approved case of the police that requests are made under by default. */
  caseId = 0n;

  private constructor(
    readonly node: ConsortiumNode,
    /** The test's directory, removed by {@link stop}. */
    readonly dir: string,
    /** The certificate the gateway serves (trusted by the test's requests). */
    readonly ca: Buffer,
    readonly police: Investigator,
    readonly bank: Provider,
  ) {}

  static async start(): Promise<GatewayWorld> {
    const dir = mkdtempSync(path.join(tmpdir(), "veritrace-exchange-"));
    const file = (name: string) => path.join(dir, name);
    const node = await startConsortiumNode("anvil");
    try {
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
      writeFileSync(file("handler.cjs"), HANDLER);

      const { contracts, cast } = node;
      const police = new Investigator(contracts, cast.police.signer);
      const bank = new Provider(contracts, cast.bank.signer);
      const { identity, publicKey } = await generateEncryptionIdentity();
      await registerEncryptionKey(contracts, cast.police.signer, publicKey);
      writeFileSync(file("police.age"), `# the police's encryption key\n${identity}\n`, {
        mode: 0o600,
      });
      const world = new GatewayWorld(node, dir, readFileSync(file("cert.pem")), police, bank);
      world.caseId = await world.openCase("EXCHANGE-1");
      return world;
    } catch (e) {
      await node.stop();
      rmSync(dir, { recursive: true, force: true });
      throw e;
    }
  }

  async stop(): Promise<void> {
    await this.node.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  file(name: string): string {
    return path.join(this.dir, name);
  }

  /** --rpc, --deployment and --keystore of an institution. */
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

  /** The bank's gateway over HTTPS with the test handler, offers kept in `dir`. */
  gatewayArgs(dir: string, ...more: string[]): string[] {
    return [
      "--handler",
      `${JSON.stringify(process.execPath)} ${JSON.stringify(this.file("handler.cjs"))}`,
      "--dir",
      this.file(dir),
      "--tls-cert",
      this.file("cert.pem"),
      "--tls-key",
      this.file("key.pem"),
      "--poll",
      "1",
      ...this.keyArgs("bank"),
      ...more,
    ];
  }

  /** An approved case of the police (scope: bank transactions, a year). */
  async openCase(caseNumber: string): Promise<bigint> {
    const now = Number(await this.police.now());
    const { caseId } = await this.police.openCase({
      caseNumber,
      caseKey: generateCaseKey(),
      legalBasis: `order ${caseNumber}`,
      scope: [DataKind.BankTransactions],
      expiresAt: now + 365 * DAY,
    });
    await new Supervisor(this.node.contracts, this.node.cast.prosecutor.signer).approveCase(caseId);
    return caseId;
  }

  /** A request of the police to the bank under `caseId`, granted for 30 days. */
  async grantedRequest(purposeCode: number, caseId = this.caseId): Promise<bigint> {
    const { requestId } = await this.police.request({
      caseId,
      provider: this.node.cast.bank.id,
      datasetId: this.node.cast.bank.dataset,
      subject: { type: "bankAccount", identifier: "DE89370400440532013000" },
      caseKey: generateCaseKey(),
      purposeCode,
    });
    const now = Number(await this.bank.now());
    await this.bank.grant(requestId, { expiresAt: now + 30 * DAY, maxRecords: 100_000 });
    return requestId;
  }

  /** The arguments of `veritrace exchange fetch` of `requestId` from `url` into `out`. */
  fetchArgs(url: string, requestId: bigint, out: string, who: "police" | "telecom" = "police") {
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

  /** A GET of `p` on the gateway at `url`, signed by `signer` (or with `headers`, to replay them). */
  async signedGet(
    url: string,
    p: string,
    requestId: bigint,
    signer: Signer,
    headers?: Record<string, string>,
  ): Promise<{ status: number; body: Record<string, unknown>; headers: Record<string, string> }> {
    const domain = gatewayDomain(this.node.record.chainId, this.node.record.contracts.AccessLedger);
    const h =
      headers ??
      (await signedRequestHeaders(signer, domain, { method: "GET", path: p, requestId }));
    return new Promise((resolve, reject) => {
      const req = httpsRequest(new URL(p, url), { headers: h, ca: this.ca }, (res) => {
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
