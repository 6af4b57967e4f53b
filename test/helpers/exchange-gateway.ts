/**
 * The exchange's test bed on anvil, shared by the gateway's tests: the consortium with the police
 * (requester, with an age identity registered), the bank (provider) and the telecom operator (a
 * third party of the case), their keystores, a self-signed certificate for 127.0.0.1, an approved
 * case, granted requests, the bank's `veritrace exchange serve` over HTTPS (by default with a
 * handler that exports CSV: three lines, `LARGE_LINES` for purpose `LARGE`, a failure for purpose
 * `FAIL`), GETs to it signed by any signer, and the police's `veritrace exchange fetch`. The
 * processes themselves are started as `npm run bench:exchange` starts them
 * (scripts/lib/exchange-processes.ts).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { createServer as createTcpServer, connect as tcpConnect, type Server } from "node:net";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import type { Signer } from "ethers";
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
import {
  ACCOUNT_INDEX,
  KEYSTORE_ENV,
  nodeWallet,
  startGateway,
  writeKeystores,
  writeLoopbackCertificate,
  type GatewayProcess,
  type Who,
} from "../../scripts/lib/exchange-processes.js";
import { startConsortiumNode, type ConsortiumNode } from "./tracer.js";

export {
  BIN,
  KEYSTORE_ENV,
  startGateway,
  type GatewayProcess,
  type Who,
} from "../../scripts/lib/exchange-processes.js";

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

/** A GET's answer: its status, its body as JSON (`{ raw: length }` if not), its bytes. */
export interface SignedAnswer {
  status: number;
  body: Record<string, unknown>;
  /** The answer's bytes (an envelope). */
  raw: Buffer;
  /** The headers sent, to replay them. */
  headers: Record<string, string>;
}

/** Where the bank's gateway keeps its offers (in the bed's directory), and what exports them. */
export interface GatewayOptions {
  /** The `--dir`, a name in the bed's directory; "gateway" unless given. */
  dir?: string;
  /** The handler's script, run with node; the bed's CSV handler unless given. */
  handler?: string;
}

/** The running test bed; {@link ExchangeBed.stop} ends the gateways it started and the node. */
export class ExchangeBed {
  readonly env = KEYSTORE_ENV;
  /** --tls-cert and --tls-key of the gateway. */
  readonly tlsArgs: string[];
  private served: GatewayProcess[] = [];
  private lastServe: [GatewayOptions, string[]] = [{}, []];
  private current: GatewayProcess | undefined;

  private constructor(
    readonly node: ConsortiumNode,
    /** The test's directory, removed by {@link stop}. */
    readonly dir: string,
    /** The certificate the gateway serves (trusted by the test's requests). */
    readonly ca: Buffer,
    readonly police: Investigator,
    readonly bank: Provider,
    /** The approved case of the police that requests are made under by default. */
    public caseId: bigint,
  ) {
    this.tlsArgs = ["--tls-cert", this.file("cert.pem"), "--tls-key", this.file("key.pem")];
  }

  /** The gateway started last by {@link serve}. */
  get gateway(): GatewayProcess {
    if (this.current === undefined) throw new Error("no gateway was started");
    return this.current;
  }

  get policeSigner(): Signer {
    return this.node.cast.police.signer;
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

  /** The arguments of the bank's gateway over HTTPS, polling every second, then `more`. */
  gatewayArgs(options: GatewayOptions = {}, ...more: string[]): string[] {
    const handler = options.handler ?? this.file("handler.cjs");
    return [
      "--handler",
      `${JSON.stringify(process.execPath)} ${JSON.stringify(handler)}`,
      "--dir",
      this.file(options.dir ?? "gateway"),
      ...this.tlsArgs,
      "--poll",
      "1",
      ...this.keyArgs("bank"),
      ...more,
    ];
  }

  /**
   * Writes the deployment record, the police's, bank's and telecom's keystores, the certificate
   * and the CSV handler into a new directory, registers the police's encryption key (its identity
   * in police.age) and opens an approved case; starts no gateway (see {@link serve}).
   */
  static async start(): Promise<ExchangeBed> {
    const dir = mkdtempSync(path.join(tmpdir(), "veritrace-exchange-"));
    const file = (name: string) => path.join(dir, name);
    const node = await startConsortiumNode("anvil");
    try {
      writeDeployment(file("deployment.json"), node.record);
      for (const who of ["police", "bank", "telecom"] as const)
        expect(nodeWallet(ACCOUNT_INDEX[who]).address, who).to.equal(
          await node.cast[who].signer.getAddress(),
        );
      await writeKeystores(dir);
      writeLoopbackCertificate(dir);
      writeFileSync(file("handler.cjs"), HANDLER);

      const { contracts, cast } = node;
      const police = new Investigator(contracts, cast.police.signer);
      const bank = new Provider(contracts, cast.bank.signer);
      const { identity, publicKey } = await generateEncryptionIdentity();
      await registerEncryptionKey(contracts, cast.police.signer, publicKey);
      writeFileSync(file("police.age"), `# the police's encryption key\n${identity}\n`, {
        mode: 0o600,
      });
      const bed = new ExchangeBed(node, dir, readFileSync(file("cert.pem")), police, bank, 0n);
      bed.caseId = await bed.openCase("EXCHANGE-1");
      return bed;
    } catch (e) {
      await node.stop();
      rmSync(dir, { recursive: true, force: true });
      throw e;
    }
  }

  /** Starts the bank's gateway with {@link gatewayArgs}; it becomes {@link gateway}. */
  async serve(options: GatewayOptions = {}, ...more: string[]): Promise<GatewayProcess> {
    this.lastServe = [options, more];
    const gateway = await startGateway(this.gatewayArgs(options, ...more), this.env);
    this.served.push(gateway);
    this.current = gateway;
    return gateway;
  }

  /** Starts the bank's gateway again as last served (after it was stopped or killed), on a new port. */
  async restartGateway(): Promise<GatewayProcess> {
    const [options, more] = this.lastServe;
    return this.serve(options, ...more);
  }

  async stop(): Promise<void> {
    for (const gateway of this.served) await gateway.stop();
    await this.node.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Waits for the line of the current gateway about `requestId` with `msg` (and `extra`). */
  logged(
    msg: string,
    requestId: bigint,
    extra?: Record<string, unknown>,
  ): Promise<Record<string, unknown>> {
    return this.gateway.logged(msg, requestId, extra);
  }

  /** A new approved case of the police (scope: bank transactions), expiring in `days`. */
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

  /** A request of the police to the bank (under the bed's case unless given), granted. */
  async grantedRequest(
    purposeCode: number,
    options: { caseId?: bigint; days?: number; maxRecords?: number } = {},
  ): Promise<bigint> {
    const { requestId } = await this.police.request({
      caseId: options.caseId ?? this.caseId,
      provider: this.node.cast.bank.id,
      datasetId: this.node.cast.bank.dataset,
      subject: { type: "bankAccount", identifier: "DE89370400440532013000" },
      caseKey: generateCaseKey(),
      purposeCode,
    });
    const now = Number(await this.bank.now());
    await this.bank.grant(requestId, {
      expiresAt: now + (options.days ?? 30) * DAY,
      maxRecords: options.maxRecords ?? 100_000,
    });
    return requestId;
  }

  /** The arguments of `veritrace exchange fetch` of `requestId` from `url` into `out`. */
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

  /** A GET of `p` on the gateway at `url`, signed by `signer` (or with `headers`, to replay them). */
  async signedGet(
    url: string,
    p: string,
    requestId: bigint,
    signer: Signer,
    headers?: Record<string, string>,
  ): Promise<SignedAnswer> {
    const { chainId, contracts } = this.node.record;
    const domain = gatewayDomain(chainId, contracts.AccessLedger);
    const h =
      headers ??
      (await signedRequestHeaders(signer, domain, { method: "GET", path: p, requestId }));
    return new Promise((resolve, reject) => {
      const req = httpsRequest(new URL(p, url), { headers: h, ca: this.ca }, (res) => {
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
  }

  /** The deliveries attested on the ledger under a request. */
  async attested(requestId: bigint) {
    const a = this.node.contracts.access;
    return a.queryFilter(a.filters.DeliveryAttested(undefined, requestId));
  }
}
