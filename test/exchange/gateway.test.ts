/**
 * The gateway between real processes on anvil: the bank's `veritrace exchange serve` (HTTPS on
 * loopback, a handler that exports CSV) and the police's `veritrace exchange fetch`, with the
 * attacks a gateway must refuse.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { createServer as createTcpServer, connect as tcpConnect, type Server } from "node:net";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { Wallet, type Signer } from "ethers";
import {
  CouncilMember,
  DataKind,
  Investigator,
  Provider,
  Supervisor,
  generateCaseKey,
  generateEncryptionIdentity,
  registerEncryptionKey,
  writeDeployment,
} from "../../src/client/index.js";
import {
  envelopePath,
  gatewayDomain,
  offersPath,
  signedRequestHeaders,
} from "../../src/exchange/protocol.js";
import { fetchFiles } from "../../src/exchange/fetch.js";
import {
  KEYSTORE_ENV,
  nodeWallet,
  startGateway,
  writeKeystores,
  writeLoopbackCertificate,
  type GatewayProcess,
} from "../helpers/exchange-gateway.js";
import { runVeritrace, startConsortiumNode, type ConsortiumNode } from "../helpers/tracer.js";

const DAY = 86_400;
/** Purpose codes the test handler reads: a failing export, a large one; any other: three lines. */
const FAIL = 9;
const LARGE = 7;
const LARGE_LINES = 20_000;

/** What the handler exports for a request (it must match handler.cjs below). */
function exportOf(requestId: bigint, lines: number): string {
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

type Gateway = GatewayProcess;

/** A TCP proxy to `port` that closes each connection after `cutAfter` bytes of the answer. */
async function cuttingProxy(
  port: number,
  cutAfter: number,
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
      if (sent >= cutAfter) {
        // What was written reaches the client, then the connection ends mid-answer.
        client.end();
        upstream.destroy();
      }
    });
    upstream.on("error", () => client.destroy());
    client.on("error", () => upstream.destroy());
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port: p } = server.address() as AddressInfo;
  return { url: `https://127.0.0.1:${p}`, close: () => server.close() };
}

/** The last line of stderr, and that there is only one. */
function oneLine(r: { code: number | null; stderr: string }, code = 1): string {
  const lines = r.stderr.split("\n").filter((l) => l !== "");
  expect(lines, r.stderr).to.have.length(1);
  expect(r.code, r.stderr).to.equal(code);
  return lines[0] as string;
}

describe("veritrace exchange: the provider's gateway and the requester's fetch, on anvil", function () {
  this.timeout(180_000);
  let node: ConsortiumNode;
  let dir: string;
  let gateway: Gateway;
  let ca: Buffer;
  let caseId: bigint;
  let police: Investigator;
  let bank: Provider;
  let policeSigner: Signer;
  const file = (name: string) => path.join(dir, name);
  const env = KEYSTORE_ENV;
  const keyArgs = (who: "police" | "bank" | "telecom") => [
    "--rpc",
    node.url,
    "--deployment",
    file("deployment.json"),
    "--keystore",
    file(`${who}.json`),
  ];

  /** A request of the police to the bank under `c`, granted. */
  async function grantedRequest(purposeCode: number, c = caseId): Promise<bigint> {
    const { requestId } = await police.request({
      caseId: c,
      provider: node.cast.bank.id,
      datasetId: node.cast.bank.dataset,
      subject: { type: "bankAccount", identifier: "DE89370400440532013000" },
      caseKey: generateCaseKey(),
      purposeCode,
    });
    const now = Number(await bank.now());
    await bank.grant(requestId, { expiresAt: now + 30 * DAY, maxRecords: 100_000 });
    return requestId;
  }

  /** Waits for the gateway's log line about `requestId` with `msg`. */
  async function logged(msg: string, requestId: bigint): Promise<Record<string, unknown>> {
    for (let i = 0; i < 300; i++) {
      const found = gateway.lines.find(
        (l) => l["msg"] === msg && l["requestId"] === requestId.toString(),
      );
      if (found !== undefined) return found;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`no ${msg} for request ${requestId}: ${JSON.stringify(gateway.lines)}`);
  }

  const fetchArgs = (
    requestId: bigint,
    out: string,
    url = gateway.url,
    who: "police" | "telecom" = "police",
  ) => [
    "exchange",
    "fetch",
    "--request",
    requestId.toString(),
    "--gateway",
    url,
    "--identity",
    file("police.age"),
    "--out",
    out,
    "--ca",
    file("cert.pem"),
    "--json",
    ...keyArgs(who),
  ];

  /** A GET signed by `signer` (headers may be given to replay them); status and problem. */
  async function signedGet(
    p: string,
    requestId: bigint,
    signer: Signer,
    headers?: Record<string, string>,
  ): Promise<{ status: number; body: Record<string, unknown>; headers: Record<string, string> }> {
    const domain = gatewayDomain(node.record.chainId, node.record.contracts.AccessLedger);
    const h =
      headers ??
      (await signedRequestHeaders(signer, domain, { method: "GET", path: p, requestId }));
    return new Promise((resolve, reject) => {
      const req = httpsRequest(new URL(p, gateway.url), { headers: h, ca }, (res) => {
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
  async function attested(requestId: bigint) {
    const a = node.contracts.access;
    return a.queryFilter(a.filters.DeliveryAttested(undefined, requestId));
  }

  before(async function () {
    dir = mkdtempSync(path.join(tmpdir(), "veritrace-exchange-"));
    node = await startConsortiumNode("anvil");
    writeDeployment(file("deployment.json"), node.record);
    await writeKeystores(dir);
    expect(nodeWallet(3).address).to.equal(await node.cast.police.signer.getAddress());
    // A self-signed certificate for 127.0.0.1.
    writeLoopbackCertificate(dir);
    ca = readFileSync(file("cert.pem"));
    writeFileSync(file("handler.cjs"), HANDLER);

    const { contracts, cast } = node;
    policeSigner = cast.police.signer;
    police = new Investigator(contracts, cast.police.signer);
    bank = new Provider(contracts, cast.bank.signer);
    const { identity, publicKey } = await generateEncryptionIdentity();
    await registerEncryptionKey(contracts, cast.police.signer, publicKey);
    writeFileSync(file("police.age"), `# the police's encryption key\n${identity}\n`, {
      mode: 0o600,
    });
    const now = Number(await police.now());
    ({ caseId } = await police.openCase({
      caseNumber: "EXCHANGE-1",
      caseKey: generateCaseKey(),
      legalBasis: "order",
      scope: [DataKind.BankTransactions],
      expiresAt: now + 365 * DAY,
    }));
    await new Supervisor(contracts, cast.prosecutor.signer).approveCase(caseId);

    gateway = await startGateway(
      [
        "--handler",
        `${JSON.stringify(process.execPath)} ${JSON.stringify(file("handler.cjs"))}`,
        "--dir",
        file("gateway"),
        "--tls-cert",
        file("cert.pem"),
        "--tls-key",
        file("key.pem"),
        "--poll",
        "1",
        ...keyArgs("bank"),
      ],
      env,
    );
  });

  after(async function () {
    await gateway?.stop();
    await node?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it("serves HTTPS as the keystore's institution", function () {
    expect(gateway.url).to.match(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(gateway.lines[0]).to.include({ msg: "listening", participant: node.cast.bank.id });
  });

  it("refuses plain HTTP on an address other than loopback, in one line", async function () {
    const r = await runVeritrace(
      [
        "exchange",
        "serve",
        "--handler",
        "cat",
        "--dir",
        file("x"),
        "--host",
        "0.0.0.0",
        ...keyArgs("bank"),
      ],
      env,
    );
    expect(oneLine(r, 2)).to.match(
      /plain HTTP is served on loopback only: give --tls-cert and --tls-key/,
    );
  });

  it("end to end: the handler's export, sealed, downloaded, verified, co-signed, written", async function () {
    const requestId = await grantedRequest(1);
    const offered = await logged("offered", requestId);
    expect(offered).to.include({ recordCount: "3", sequence: 0 });
    const out = file("out-happy");
    const r = await runVeritrace(fetchArgs(requestId, out), env);
    expect(r.code, r.stderr).to.equal(0);
    const summary = JSON.parse(r.stdout) as Record<string, unknown>;
    const expected = exportOf(requestId, 3);
    expect(readFileSync(String(summary["file"]), "utf8")).to.equal(expected);
    expect(summary).to.include({
      payloadHash: offered["payloadHash"],
      ciphertextHash: offered["ciphertextHash"],
      recordCount: "3",
      resumedAt: 0,
    });
    // On the ledger: the delivery co-signed, the commitment as payloadHash.
    const [ev, ...more] = await attested(requestId);
    expect(more).to.have.length(0);
    expect(ev?.args.delivery.payloadHash).to.equal(offered["payloadHash"]);
    expect(ev?.args.delivery.recordCount).to.equal(3n);
    expect(ev?.args.requester.signer).to.equal(await policeSigner.getAddress());
    expect(ev?.args.provider.signer).to.equal(await node.cast.bank.signer.getAddress());
    // Nothing left beside the plaintext.
    expect(readdirSync(out)).to.deep.equal([path.basename(String(summary["file"]))]);
  });

  it("a handler that fails: refused and logged with its reason, nothing offered", async function () {
    const requestId = await grantedRequest(FAIL);
    const refused = await logged("refused", requestId);
    expect(refused).to.include({ reason: "handler-exit" });
    expect(String(refused["detail"])).to.equal(
      "the handler exited with code 3: core banking: account not found",
    );
    const r = await runVeritrace(fetchArgs(requestId, file("out-fail")), env);
    expect(oneLine(r)).to.match(/the gateway has no offer 0 under request \d+$/);
    expect(existsSync(file("out-fail")) ? readdirSync(file("out-fail")) : []).to.deep.equal([]);
  });

  it("refuses a download signed by another institution's key, an unknown key, a removed key", async function () {
    const requestId = await grantedRequest(2);
    await logged("offered", requestId);
    const p = envelopePath(requestId, 0);
    const telecom = await signedGet(p, requestId, node.cast.telecom.signer);
    expect(telecom.status).to.equal(403);
    expect(telecom.body).to.include({ code: "not_requester" });
    expect(String(telecom.body["detail"])).to.equal(
      `institution ${node.cast.telecom.id} is not the requester of request ${requestId}`,
    );
    const stranger = await signedGet(p, requestId, Wallet.createRandom());
    expect(stranger.status).to.equal(403);
    expect(stranger.body).to.include({ code: "unknown_signer" });

    // A second key of the police, added by the council, works; removed, it no longer does.
    const second = Wallet.createRandom();
    const c0 = new CouncilMember(node.contracts, node.signers[0] as Signer);
    const c1 = new CouncilMember(node.contracts, node.signers[1] as Signer);
    const add = await c0.proposeKey("add", node.cast.police.id, second.address);
    await c1.approve(add);
    await c1.execute(add);
    expect((await signedGet(offersPath(requestId), requestId, second)).status).to.equal(200);
    const remove = await c0.proposeKey("remove", node.cast.police.id, second.address);
    await c1.approve(remove);
    await c1.execute(remove);
    const removed = await signedGet(offersPath(requestId), requestId, second);
    expect(removed.status).to.equal(403);
    expect(removed.body).to.include({ code: "inactive_signer" });

    // The other institution's fetch is refused before anything is asked of the gateway.
    const r = await runVeritrace(
      fetchArgs(requestId, file("out-telecom"), gateway.url, "telecom"),
      env,
    );
    expect(oneLine(r)).to.match(
      new RegExp(`request ${requestId} is institution ${node.cast.police.id}'s, not this key's`),
    );
  });

  it("refuses a replayed signature, a signature for another path, an unsigned request", async function () {
    const requestId = await grantedRequest(3);
    await logged("offered", requestId);
    const first = await signedGet(offersPath(requestId), requestId, policeSigner);
    expect(first.status).to.equal(200);
    const again = await signedGet(offersPath(requestId), requestId, policeSigner, first.headers);
    expect(again.status).to.equal(401);
    expect(again.body).to.include({ code: "replayed" });
    // The headers of one path, on another (with a fresh nonce the signature no longer holds).
    const moved = await signedGet(envelopePath(requestId, 0), requestId, policeSigner, {
      ...first.headers,
      "veritrace-nonce": `0x${"ab".repeat(32)}`,
    });
    expect(moved.status).to.equal(401);
    expect(moved.body).to.include({ code: "invalid_signature" });
    const unsigned = await signedGet(offersPath(requestId), requestId, policeSigner, {});
    expect(unsigned.status).to.equal(401);
    expect(unsigned.body).to.include({ code: "unsigned" });
  });

  it("after the grant is revoked, the download is refused and nothing is written", async function () {
    const requestId = await grantedRequest(4);
    await logged("offered", requestId);
    await bank.revokeGrant(requestId, 1);
    const direct = await signedGet(envelopePath(requestId, 0), requestId, policeSigner);
    expect(direct.status).to.equal(403);
    expect(direct.body).to.include({ code: "grant_not_live" });
    const r = await runVeritrace(fetchArgs(requestId, file("out-revoked")), env);
    expect(oneLine(r)).to.match(new RegExp(`request ${requestId} is Revoked, not granted$`));
    expect(existsSync(file("out-revoked"))).to.equal(false);
  });

  it("after the case is closed, the download is refused", async function () {
    const now = Number(await police.now());
    const { caseId: other } = await police.openCase({
      caseNumber: "EXCHANGE-2",
      caseKey: generateCaseKey(),
      legalBasis: "order 2",
      scope: [DataKind.BankTransactions],
      expiresAt: now + 365 * DAY,
    });
    await new Supervisor(node.contracts, node.cast.prosecutor.signer).approveCase(other);
    const requestId = await grantedRequest(5, other);
    await logged("offered", requestId);
    await police.closeCase(other, 1);
    const direct = await signedGet(envelopePath(requestId, 0), requestId, policeSigner);
    expect(direct.status).to.equal(403);
    expect(direct.body).to.include({ code: "case_not_open" });
    const r = await runVeritrace(fetchArgs(requestId, file("out-closed")), env);
    expect(oneLine(r)).to.match(/case_not_open/);
    expect(existsSync(file("out-closed")) ? readdirSync(file("out-closed")) : []).to.deep.equal([]);
  });

  it("a ciphertext tampered with on the provider's disk: refused in one line, nothing written, nothing attested", async function () {
    const requestId = await grantedRequest(LARGE);
    await logged("offered", requestId);
    const envelope = path.join(file("gateway"), "offers", requestId.toString(), "0.age");
    const bytes = readFileSync(envelope);
    bytes[200_000] = (bytes[200_000] as number) ^ 0x01;
    writeFileSync(envelope, bytes);
    const out = file("out-tampered");
    const r = await runVeritrace(fetchArgs(requestId, out), env);
    expect(oneLine(r)).to.match(
      /^veritrace exchange fetch: chunk \d+ failed authentication: it was modified$/,
    );
    expect(readdirSync(out)).to.deep.equal([]);
    expect(await attested(requestId)).to.have.length(0);
  });

  it("a transfer cut short is resumed with Range, then verified", async function () {
    const requestId = await grantedRequest(LARGE);
    const offered = await logged("offered", requestId);
    const total = Number(offered["ciphertextBytes"]);
    const { port } = new URL(gateway.url);
    const proxy = await cuttingProxy(Number(port), 150_000);
    const out = file("out-resumed");
    let line: string;
    try {
      line = oneLine(await runVeritrace(fetchArgs(requestId, out, proxy.url), env));
    } finally {
      proxy.close();
    }
    // How much of the 150,000 bytes the client parsed before the connection ended depends on
    // timing; what it reports and what it kept must agree, and be resumed from.
    const partial = fetchFiles(out, requestId, 0).download;
    const kept = readFileSync(partial).length;
    expect(line).to.match(
      new RegExp(
        `the transfer stopped after ${kept} of ${total} bytes; run the command again to resume$`,
      ),
    );
    expect(kept).to.be.greaterThan(0).and.lessThan(total);
    const r = await runVeritrace(fetchArgs(requestId, out), env);
    expect(r.code, r.stderr).to.equal(0);
    const summary = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(summary["resumedAt"]).to.equal(kept);
    expect(readFileSync(String(summary["file"]), "utf8")).to.equal(
      exportOf(requestId, LARGE_LINES),
    );
    expect(summary["ciphertextHash"]).to.equal(offered["ciphertextHash"]);
    expect(existsSync(partial)).to.equal(false);
    // The gateway answered the resumption with 206 from where the first transfer stopped.
    expect(
      gateway.lines.some(
        (l) =>
          l["msg"] === "request" &&
          l["status"] === 206 &&
          l["range"] === `${kept}-${total - 1}/${total}`,
      ),
    ).to.equal(true);
  });

  it("an identity that is not the envelope's recipient: refused, nothing written", async function () {
    const requestId = await grantedRequest(6);
    await logged("offered", requestId);
    const { identity } = await generateEncryptionIdentity();
    writeFileSync(file("other.age"), `${identity}\n`);
    const args = fetchArgs(requestId, file("out-wrong-key"));
    args[args.indexOf("--identity") + 1] = file("other.age");
    const r = await runVeritrace(args, env);
    expect(oneLine(r)).to.match(
      /wrong recipient: the envelope is not encrypted to any of the given identities$/,
    );
    expect(readdirSync(file("out-wrong-key"))).to.deep.equal([]);
  });
});
