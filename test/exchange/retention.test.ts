/**
 * The gateway's access log and retention, between real processes on anvil: every offer,
 * download, refusal and purge logged and numbered without gaps, batches anchored by the gateway
 * itself and a download line proved against the chain with `veritrace access-log proof|check`;
 * envelopes deleted when the grant is revoked or the case closed, and a retention period after
 * the acknowledgement's block (not before); one gateway per log; a torn log refuses the start.
 */
import { copyFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { expect } from "chai";
import { Wallet } from "ethers";
import { parseAccessLog, type GatewayLogEntry } from "../../src/ledger/access-log.js";
import { envelopePath, offersPath, type Offer } from "../../src/exchange/protocol.js";
import { runVeritrace } from "../helpers/tracer.js";
import { DAY, ExchangeBed, oneLine, type GatewayProcess } from "../helpers/exchange-gateway.js";

/** Retention after acknowledgement: a day of chain time. */
const RETENTION = DAY;

describe("veritrace exchange serve: the access log and retention, on anvil", function () {
  this.timeout(300_000);
  let world: ExchangeBed;
  let gateway: GatewayProcess;
  /** Fetched and acknowledged by the police in the first test. */
  let acknowledged: bigint;
  const file = (name: string) => world.file(name);
  const accessLog = () => file("gateway-access.jsonl");
  const entries = () =>
    parseAccessLog(readFileSync(accessLog(), "utf8"), accessLog()).lines.map(
      (l) => l.entry as GatewayLogEntry,
    );
  const offerDir = (requestId: bigint) => path.join(file("gw"), "offers", requestId.toString());
  const offerJson = (requestId: bigint) =>
    JSON.parse(readFileSync(path.join(offerDir(requestId), "0.json"), "utf8")) as Offer;
  const police = () => world.node.cast.police.signer;

  before(async function () {
    world = await ExchangeBed.start();
    gateway = await world.serve(
      { dir: "gw" },
      ...["--access-log", accessLog(), "--retention", String(RETENTION)],
      ...["--anchor-every", "4"],
    );
  });

  after(async function () {
    await world?.stop();
  });

  it("logs the offer, the offer list and the download, and each refusal, numbered without gaps, before answering", async function () {
    const requestId = await world.grantedRequest(1);
    acknowledged = requestId;
    const offered = await gateway.logged("offered", requestId);
    const r = await runVeritrace(world.fetchArgs(requestId, file("out-1"), gateway.url), world.env);
    expect(r.code, r.stderr).to.equal(0);
    // Another institution of the case, and a replayed signature.
    const telecom = await world.signedGet(
      gateway.url,
      envelopePath(requestId, 0),
      requestId,
      world.node.cast.telecom.signer,
    );
    expect(telecom.status).to.equal(403);
    const first = await world.signedGet(gateway.url, offersPath(requestId), requestId, police());
    expect(first.status).to.equal(200);
    const replay = await world.signedGet(
      gateway.url,
      offersPath(requestId),
      requestId,
      police(),
      first.headers,
    );
    expect(replay.status).to.equal(401);

    const lines = entries();
    expect(lines.map((e) => e.seq)).to.deep.equal(lines.map((_, i) => i));
    const id = requestId.toString();
    const mine = lines.filter((e) => e.requestId === id);
    const size = Number(offered["ciphertextBytes"]);
    expect(mine.find((e) => e.event === "offer")).to.include({
      sequence: 0,
      caseId: world.caseId.toString(),
      requester: world.node.cast.police.id,
      ciphertextHash: offered["ciphertextHash"],
      payloadHash: offered["payloadHash"],
      ciphertextBytes: size,
    });
    const download = mine.find((e) => e.event === "download");
    expect(download).to.include({
      sequence: 0,
      institution: world.node.cast.police.id,
      status: 200,
      range: `0-${size - 1}/${size}`,
      bytes: size,
      target: envelopePath(requestId, 0),
    });
    expect(download?.signer?.toLowerCase()).to.equal((await police().getAddress()).toLowerCase());
    const refusals = mine.filter((e) => e.event === "refusal");
    expect(refusals.map((e) => [e.status, e.code])).to.deep.equal([
      [403, "not_requester"],
      [401, "replayed"],
    ]);
    expect(refusals[0]?.signer?.toLowerCase()).to.equal(
      (await world.node.cast.telecom.signer.getAddress()).toLowerCase(),
    );
    expect(refusals[0]?.detail).to.equal(
      `institution ${world.node.cast.telecom.id} is not the requester of request ${requestId}`,
    );
    // The offer was logged before it was served, the download before it was answered.
    const seqOf = (event: string) => mine.find((e) => e.event === event)?.seq ?? -1;
    expect(seqOf("offer")).to.be.lessThan(seqOf("list"));
    expect(seqOf("list")).to.be.lessThan(seqOf("download"));
  });

  it("anchors its own log; a download line is proved against the chain, a changed one is not", async function () {
    const download = entries().find(
      (e) => e.event === "download" && e.requestId === acknowledged.toString(),
    );
    expect(download).to.not.equal(undefined);
    const seq = download?.seq ?? -1;
    let anchor: Record<string, unknown> | undefined;
    for (let i = 0; i < 200 && anchor === undefined; i++) {
      anchor = gateway.lines.find(
        (l) => l["msg"] === "anchored" && Number(l["lastSequence"]) >= seq,
      );
      if (anchor === undefined) await new Promise((r) => setTimeout(r, 100));
    }
    expect(anchor, JSON.stringify(gateway.lines)).to.not.equal(undefined);
    const anchorId = String(anchor?.["anchorId"]);
    const db = file("indexed");
    const indexed = await runVeritrace([
      "index",
      ...["--rpc", world.node.url, "--deployment", file("deployment.json"), "--db", db],
    ]);
    expect(indexed.code, indexed.stderr).to.equal(0);

    const proofArgs = (log: string) => [
      "access-log",
      "proof",
      ...["--log", log, "--anchor", anchorId, "--seq", String(seq), "--db", db],
    ];
    const proof = await runVeritrace(proofArgs(accessLog()));
    expect(proof.code, proof.stderr).to.equal(0);
    const proved = JSON.parse(proof.stdout) as { index: number; entry: GatewayLogEntry };
    expect(proved.entry).to.deep.equal(download);
    writeFileSync(file("entry.json"), proof.stdout);
    const verified = await runVeritrace([
      "verify",
      "entry",
      ...["--anchor", anchorId, "--entry", file("entry.json"), "--db", db],
    ]);
    expect(verified.code, verified.stderr).to.equal(0);
    expect(verified.stdout).to.match(new RegExp(`IS included in anchor ${anchorId}`));

    const check = await runVeritrace([
      "access-log",
      "check",
      ...["--log", accessLog(), "--institution", String(world.node.cast.bank.id)],
      ...["--db", db, "--json"],
    ]);
    expect(check.code, check.stderr).to.equal(0);
    const checked = JSON.parse(check.stdout) as { ok: boolean; anchors: { status: string }[] };
    expect(checked.ok).to.equal(true);
    expect(checked.anchors.length).to.be.greaterThan(0);

    // The provider shrinks the download it logged: the proof no longer holds.
    const changed = file("changed.jsonl");
    copyFileSync(accessLog(), changed);
    const text = readFileSync(changed, "utf8").split("\n");
    text[seq] = JSON.stringify({ ...download, bytes: 1 });
    writeFileSync(changed, text.join("\n"));
    const refused = await runVeritrace(proofArgs(changed));
    expect(refused.code).to.equal(1);
    expect(refused.stderr).to.match(/do not hash to anchor \d+'s root/);
  });

  it("revoking the grant deletes the envelope at once; a download then gets 410 saying when and why", async function () {
    const requestId = await world.grantedRequest(2);
    await gateway.logged("offered", requestId);
    await world.bank.revokeGrant(requestId, 1);
    const purged = await gateway.logged("purged", requestId);
    expect(purged).to.include({ reason: "grant-revoked", sequence: 0, envelopeDeleted: true });
    expect(existsSync(path.join(offerDir(requestId), "0.age"))).to.equal(false);
    // The signed offer stays, marked.
    const offer = offerJson(requestId);
    expect(offer.offerSignature).to.match(/^0x[0-9a-f]{130}$/);
    expect(offer).to.include({
      purgeReason: "grant-revoked",
      purgeDetail: `the grant of request ${requestId} was revoked`,
    });
    const gone = await world.signedGet(
      gateway.url,
      envelopePath(requestId, 0),
      requestId,
      police(),
    );
    expect(gone.status).to.equal(410);
    expect(gone.body).to.include({
      code: "gone",
      detail: `the envelope of offer 0 under request ${requestId} was purged at ${offer.purgedAt}: the grant of request ${requestId} was revoked`,
    });
    // Another institution learns nothing of the purge.
    const telecom = await world.signedGet(
      gateway.url,
      envelopePath(requestId, 0),
      requestId,
      world.node.cast.telecom.signer,
    );
    expect(telecom.status).to.equal(403);
    const logged410 = entries().filter((e) => e.requestId === requestId.toString());
    expect(logged410.map((e) => [e.event, e.reason ?? e.code ?? null])).to.deep.equal([
      ["offer", null],
      ["purge", "grant-revoked"],
      ["refusal", "gone"],
      ["refusal", "not_requester"],
    ]);
  });

  it("closing the case deletes the envelope at once", async function () {
    const other = await world.openCase("RETENTION-2");
    const requestId = await world.grantedRequest(3, { caseId: other });
    await gateway.logged("offered", requestId);
    await world.police.closeCase(other, 1);
    const purged = await gateway.logged("purged", requestId);
    expect(purged).to.include({ reason: "case-closed", detail: `case ${other} was closed` });
    expect(existsSync(path.join(offerDir(requestId), "0.age"))).to.equal(false);
    expect(offerJson(requestId).purgeReason).to.equal("case-closed");
  });

  it("an acknowledged delivery is kept for --retention after its block, then deleted", async function () {
    const envelope = path.join(offerDir(acknowledged), "0.age");
    const [attested] = await world.attested(acknowledged);
    const ackTime = (await attested?.getBlock())?.timestamp ?? 0;
    // Ten minutes short of the retention: kept. A request revoked after the clock moved shows
    // that a purge pass ran with the new time.
    await world.node.rpc.call("evm_increaseTime", [RETENTION - 600]);
    await world.node.rpc.call("evm_mine", []);
    const marker = await world.grantedRequest(4);
    await gateway.logged("offered", marker);
    await world.bank.revokeGrant(marker, 1);
    await gateway.logged("purged", marker);
    const head = await world.node.connection.ethers.provider.getBlock("latest");
    expect((head?.timestamp ?? 0) - ackTime).to.be.lessThan(RETENTION);
    expect(existsSync(envelope)).to.equal(true);
    expect(
      gateway.lines.some(
        (l) => l["msg"] === "purged" && l["requestId"] === acknowledged.toString(),
      ),
    ).to.equal(false);

    await world.node.rpc.call("evm_increaseTime", [1200]);
    await world.node.rpc.call("evm_mine", []);
    const purged = await gateway.logged("purged", acknowledged);
    expect(purged).to.include({ reason: "retention-elapsed", envelopeDeleted: true });
    expect(existsSync(envelope)).to.equal(false);
    const line = entries().find(
      (e) => e.event === "purge" && e.requestId === acknowledged.toString(),
    );
    expect(line?.acknowledgedAt).to.equal(new Date(ackTime * 1000).toISOString());
    const gone = await world.signedGet(
      gateway.url,
      envelopePath(acknowledged, 0),
      acknowledged,
      police(),
    );
    expect(gone.status).to.equal(410);
    expect(String(gone.body["detail"])).to.match(
      /was purged at .*: delivery \d+ was acknowledged at .*, more than 86400 s ago$/,
    );
    // Every line still numbered without a gap.
    const all = entries();
    expect(all.map((e) => e.seq)).to.deep.equal(all.map((_, i) => i));
  });

  it("refuses a second gateway on the same access log, in one line", async function () {
    const r = await runVeritrace(
      [
        "exchange",
        "serve",
        "--port",
        "0",
        ...world.gatewayArgs({ dir: "gw-2" }, "--access-log", accessLog()),
      ],
      world.env,
    );
    expect(oneLine(r)).to.match(/the access log .* is written by .*one server per access log/);
  });

  it("refuses to start on a log whose last line is torn, in one line", async function () {
    const torn = file("torn.jsonl");
    const [first] = readFileSync(accessLog(), "utf8").split("\n");
    writeFileSync(torn, `${first}\n{"seq":1,"time":"20`);
    const r = await runVeritrace(
      [
        "exchange",
        "serve",
        "--port",
        "0",
        ...world.gatewayArgs({ dir: "gw-3" }, "--access-log", torn),
      ],
      world.env,
    );
    expect(oneLine(r)).to.match(
      /the access log .*torn\.jsonl ends in a partial line \(after line 1\)/,
    );
  });

  it("a stranger's key gets nothing and is logged as refused", async function () {
    const stranger = Wallet.createRandom();
    const r = await world.signedGet(gateway.url, offersPath(acknowledged), acknowledged, stranger);
    expect(r.status).to.equal(403);
    const last = entries().at(-1);
    expect(last).to.include({ event: "refusal", code: "unknown_signer", signer: stranger.address });
  });
});
