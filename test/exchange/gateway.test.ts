/**
 * The gateway between real processes on anvil: the bank's `veritrace exchange serve` (HTTPS on
 * loopback, a handler that exports CSV) and the police's `veritrace exchange fetch`, with the
 * attacks a gateway must refuse.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { expect } from "chai";
import { Wallet, type Signer } from "ethers";
import {
  CouncilMember,
  DataKind,
  Supervisor,
  generateCaseKey,
  generateEncryptionIdentity,
  type Investigator,
  type Provider,
} from "../../src/client/index.js";
import { envelopePath, offersPath } from "../../src/exchange/protocol.js";
import { fetchFiles } from "../../src/exchange/fetch.js";
import {
  DAY,
  ExchangeBed,
  FAIL,
  KEYSTORE_ENV,
  LARGE,
  LARGE_LINES,
  cuttingProxy,
  exportOf,
  oneLine,
  type Who,
} from "../helpers/exchange-gateway.js";
import { runVeritrace, type ConsortiumNode } from "../helpers/tracer.js";

describe("veritrace exchange: the provider's gateway and the requester's fetch, on anvil", function () {
  this.timeout(180_000);
  let bed: ExchangeBed;
  let node: ConsortiumNode;
  let police: Investigator;
  let bank: Provider;
  let policeSigner: Signer;
  const file = (name: string) => bed.file(name);
  const env = KEYSTORE_ENV;
  const keyArgs = (who: Who) => bed.keyArgs(who);
  const grantedRequest = (purposeCode: number, c?: bigint) =>
    bed.grantedRequest(purposeCode, { caseId: c });
  const logged = (msg: string, requestId: bigint) => bed.logged(msg, requestId);
  const fetchArgs = (requestId: bigint, out: string, url?: string, who?: "police" | "telecom") =>
    bed.fetchArgs(requestId, out, url, who);
  const signedGet = (
    p: string,
    requestId: bigint,
    signer: Signer,
    headers?: Record<string, string>,
  ) => bed.signedGet(bed.gateway.url, p, requestId, signer, headers);
  const attested = (requestId: bigint) => bed.attested(requestId);

  before(async function () {
    bed = await ExchangeBed.start();
    await bed.serve();
    ({ node, police, bank, policeSigner } = bed);
  });

  after(async function () {
    await bed?.stop();
  });

  it("serves HTTPS as the keystore's institution", function () {
    expect(bed.gateway.url).to.match(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(bed.gateway.lines[0]).to.include({ msg: "listening", participant: node.cast.bank.id });
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
      fetchArgs(requestId, file("out-telecom"), bed.gateway.url, "telecom"),
      env,
    );
    expect(oneLine(r)).to.match(
      new RegExp(`request ${requestId} is institution ${node.cast.police.id}'s, not this key's`),
    );
    expect(existsSync(file("out-telecom"))).to.equal(false);
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

  /**
   * A direct download after the grant or the case ended: refused 403, or 410 once the gateway's
   * purge pass (after each poll) has deleted the envelope, naming the same reason.
   */
  function refusedOrPurged(
    r: { status: number; body: Record<string, unknown> },
    code: string,
    why: string,
  ) {
    if (r.status === 410) {
      expect(r.body).to.include({ code: "gone" });
      expect(String(r.body["detail"])).to.match(new RegExp(`was purged at [^ ]+: ${why}$`));
    } else {
      expect(r.status).to.equal(403);
      expect(r.body).to.include({ code });
    }
  }

  it("after the grant is revoked, the download is refused and nothing is written", async function () {
    const requestId = await grantedRequest(4);
    await logged("offered", requestId);
    await bank.revokeGrant(requestId, 1);
    const direct = await signedGet(envelopePath(requestId, 0), requestId, policeSigner);
    refusedOrPurged(direct, "grant_not_live", `the grant of request ${requestId} was revoked`);
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
    refusedOrPurged(direct, "case_not_open", `case ${other} was closed`);
    const r = await runVeritrace(fetchArgs(requestId, file("out-closed")), env);
    expect(oneLine(r)).to.match(
      new RegExp(`case ${other} of request ${requestId} is not open \\(closed or expired\\)$`),
    );
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
    const { port } = new URL(bed.gateway.url);
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
      bed.gateway.lines.some(
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
      /the envelope is sealed to encryption key \d+ \(age1[0-9a-z]+\) and none of the identities given is of that key$/,
    );
    // Refused before anything is downloaded: not even the folder is made.
    expect(existsSync(file("out-wrong-key"))).to.equal(false);
  });
});
