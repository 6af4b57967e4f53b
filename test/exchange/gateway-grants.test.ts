/**
 * The provider's gateway turning grants into offers, as a real `veritrace exchange serve` process
 * on anvil: several grants at once within --concurrency, a crash that skips no grant, one process
 * per directory, transient refusals retried on a schedule that survives a restart, permanent ones
 * never, --confirmations, and downloads signed by contract (ERC-1271) signing keys.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { expect } from "chai";
import {
  AbstractSigner,
  BaseWallet,
  Wallet,
  type Provider as EthersProvider,
  type Signer,
  type TypedDataDomain,
  type TypedDataField,
} from "ethers";
import { CouncilMember } from "../../src/client/index.js";
import { Gateway } from "../../src/exchange/gateway.js";
import { envelopePath, offersPath, type OffersDocument } from "../../src/exchange/protocol.js";
import {
  AcceptAnySignature__factory,
  ERC1271Wallet__factory,
} from "../../types/ethers-contracts/index.js";
import { ExchangeBed, KEYSTORE_ENV, type GatewayProcess } from "../helpers/exchange-gateway.js";
import { runVeritrace, type ConsortiumNode } from "../helpers/tracer.js";

/** Purpose codes the handler reads: a slow export, one that hangs while the hang flag is set. */
const SLOW = 11;
const HANG = 12;
const SLOW_MS = 1_500;

/**
 * The test handler: fails while `ctl/fail` exists, hangs (8 s) on HANG while `ctl/hang` exists,
 * takes SLOW_MS on SLOW; logs its start and end to `ctl/runs.log`; exports three records.
 */
const handlerSource = (ctl: string) => `
const fs = require("node:fs");
const ctl = ${JSON.stringify(ctl)};
let s = "";
process.stdin.on("data", (c) => (s += c)).on("end", () => {
  const r = JSON.parse(s);
  fs.appendFileSync(ctl + "/runs.log", "start " + r.requestId + " " + Date.now() + "\\n");
  if (fs.existsSync(ctl + "/fail")) {
    process.stderr.write("core banking: unavailable\\n");
    process.exit(4);
  }
  const wait = r.purposeCode === ${HANG} && fs.existsSync(ctl + "/hang") ? 8000 : r.purposeCode === ${SLOW} ? ${SLOW_MS} : 0;
  setTimeout(() => {
    fs.appendFileSync(ctl + "/runs.log", "end " + r.requestId + " " + Date.now() + "\\n");
    fs.writeFileSync(process.env.VERITRACE_RECORDS_FILE, "3");
    process.stdout.write("account,amount\\nA,1\\nB,2\\nC,3\\n");
  }, wait);
});
`;

/**
 * A contract signing key as a requester holds it: its address is the wallet's, its signatures
 * are its owner's ECDSA signatures over the digest (what ERC1271Wallet accepts).
 */
class ContractKey extends AbstractSigner {
  constructor(
    private readonly wallet: string,
    private readonly owner: BaseWallet,
  ) {
    super();
  }
  getAddress(): Promise<string> {
    return Promise.resolve(this.wallet);
  }
  connect(_: EthersProvider | null): ContractKey {
    return this;
  }
  signTransaction(): Promise<string> {
    throw new Error("a contract key sends no transaction");
  }
  signMessage(message: string | Uint8Array): Promise<string> {
    return this.owner.signMessage(message);
  }
  signTypedData(
    domain: TypedDataDomain,
    types: Record<string, TypedDataField[]>,
    value: Record<string, unknown>,
  ): Promise<string> {
    return this.owner.signTypedData(domain, types, value);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("veritrace exchange serve: grants to offers, retries, confirmations, contract signers", function () {
  this.timeout(240_000);
  let node: ConsortiumNode;
  let x: ExchangeBed;
  let gateway: GatewayProcess | undefined;
  const file = (name: string) => x.file(name);
  const gwDir = () => file("gateway");
  const ctl = () => file("ctl");

  /** Starts the bank's gateway on the one directory of this file, with `args` beside. */
  async function serve(...args: string[]): Promise<GatewayProcess> {
    gateway = await x.serve({ dir: "gateway", handler: file("ctl-handler.cjs") }, ...args);
    return gateway;
  }

  /** The handler runs logged for `requestId`: [start, end] in ms (end NaN while running). */
  function runs(requestId: bigint): { start: number; end: number }[] {
    const text = existsSync(path.join(ctl(), "runs.log"))
      ? readFileSync(path.join(ctl(), "runs.log"), "utf8")
      : "";
    const out: { start: number; end: number }[] = [];
    for (const line of text.split("\n")) {
      const [what, id, at] = line.split(" ");
      if (id !== `${requestId}`) continue;
      if (what === "start") out.push({ start: Number(at), end: NaN });
      else if (what === "end") {
        const open = out.find((r) => Number.isNaN(r.end));
        if (open !== undefined) open.end = Number(at);
      }
    }
    return out;
  }

  const offerFiles = (requestId: bigint) =>
    readdirSync(path.join(gwDir(), "offers", `${requestId}`)).filter((n) => !n.startsWith("."));
  const cursor = () =>
    (JSON.parse(readFileSync(path.join(gwDir(), "cursor.json"), "utf8")) as { next: number }).next;
  const refusal = (requestId: bigint) =>
    JSON.parse(readFileSync(path.join(gwDir(), "refusals", `${requestId}.json`), "utf8")) as Record<
      string,
      unknown
    >;
  const flag = (name: "fail" | "hang", on: boolean) => {
    const f = path.join(ctl(), name);
    if (on) writeFileSync(f, "");
    else rmSync(f, { force: true });
  };

  before(async function () {
    x = await ExchangeBed.start();
    node = x.node;
    mkdirSync(ctl());
    writeFileSync(file("ctl-handler.cjs"), handlerSource(ctl()));
  });

  afterEach(async function () {
    await gateway?.stop();
    gateway = undefined;
  });

  after(async function () {
    await x?.stop();
  });

  describe("polls that overlap (in process)", function () {
    it("start each grant once, however many polls run at once", async function () {
      const startBlock = (await node.head()) + 1;
      const ids = [await x.grantedRequest(SLOW), await x.grantedRequest(1)];
      const log: Record<string, unknown>[] = [];
      const gw = await Gateway.open({
        contracts: node.contracts,
        signer: node.cast.bank.signer,
        participantId: node.cast.bank.id,
        chainId: BigInt(node.record.chainId),
        dir: file("in-process"),
        handler: `${JSON.stringify(process.execPath)} ${JSON.stringify(file("ctl-handler.cjs"))}`,
        handlerTimeoutMs: 30_000,
        offerTtl: 86_400,
        startBlock,
        concurrency: 4,
        log: (entry) => log.push(entry),
      });
      const started = await Promise.all([gw.poll(), gw.poll(), gw.poll()]);
      // One poll found the two grants; the others found them taken.
      expect([...started].sort()).to.deep.equal([0, 0, 2]);
      // Polls while the slow export runs find nothing new to start.
      expect(await gw.poll()).to.equal(0);
      await gw.idle();
      expect(await gw.poll()).to.equal(0);
      await gw.idle();
      for (const id of ids) {
        expect(log.filter((l) => l["msg"] === "offered" && l["requestId"] === id)).to.have.length(
          1,
        );
        expect(await gw.offers(id)).to.have.length(1);
        expect(runs(id)).to.have.length(1);
      }
      const next = JSON.parse(readFileSync(file("in-process/cursor.json"), "utf8")) as {
        next: number;
      };
      expect(next.next).to.equal((await node.head()) + 1);
    });
  });

  describe("several grants at once", function () {
    it("offers them concurrently, never more than --concurrency handlers at a time, each once", async function () {
      // This directory starts after the grants of the test in process (they are offered there).
      mkdirSync(gwDir());
      writeFileSync(
        path.join(gwDir(), "cursor.json"),
        `${JSON.stringify({ next: (await node.head()) + 1 })}\n`,
      );
      const ids: bigint[] = [];
      for (let i = 0; i < 5; i++) ids.push(await x.grantedRequest(SLOW));
      const g = await serve("--concurrency", "2");
      for (const id of ids) await g.logged("offered", id);
      const all = ids.flatMap((id) => runs(id));
      expect(all).to.have.length(5);
      // The most handlers running at one instant.
      let most = 0;
      for (const r of all)
        most = Math.max(most, all.filter((o) => o.start <= r.start && r.start < o.end).length);
      expect(most).to.equal(2);
      // Five runs of 1.5 s, two at a time: three rounds, where one at a time would take five.
      const span = Math.max(...all.map((r) => r.end)) - Math.min(...all.map((r) => r.start));
      expect(span).to.be.greaterThan(3 * SLOW_MS);
      expect(span).to.be.lessThan(5 * SLOW_MS);
      for (const id of ids) {
        expect(offerFiles(id)).to.deep.equal(["0.age", "0.json"]);
        expect(g.about(id).filter((l) => l["msg"] === "offered")).to.have.length(1);
      }
      const last = await node.head();
      for (let i = 0; i < 30 && cursor() <= last; i++) await sleep(100);
      expect(cursor()).to.equal(last + 1);
    });

    it("refuses a second gateway process on the same directory, in one line", async function () {
      const g = await serve();
      const r = await runVeritrace(
        [
          "exchange",
          "serve",
          "--port",
          "0",
          "--handler",
          "cat",
          "--dir",
          gwDir(),
          ...x.tlsArgs,
          ...x.keyArgs("bank"),
        ],
        KEYSTORE_ENV,
      );
      expect(r.code, r.stderr).to.equal(1);
      const lines = r.stderr.split("\n").filter((l) => l !== "");
      expect(lines).to.have.length(1);
      expect(lines[0]).to.match(
        new RegExp(`the gateway directory .* is in use by PID ${g.child.pid} \\(.*exchange serve`),
      );
    });

    it("killed while a handler runs: the cursor stays before that grant, the restart offers it once", async function () {
      flag("hang", true);
      const earlier = await x.grantedRequest(1);
      const hung = await x.grantedRequest(HANG);
      const hungBlock = await node.head();
      let g = await serve();
      await g.logged("offered", earlier);
      await sleep(500);
      for (let i = 0; i < 100 && runs(hung).length === 0; i++) await sleep(100);
      expect(runs(hung)).to.have.length(1);
      await g.stop("SIGKILL");
      // The grant of the block `hungBlock` was never settled: the cursor did not pass it.
      expect(cursor()).to.be.at.most(hungBlock);
      expect(cursor()).to.be.greaterThan(hungBlock - 2);
      flag("hang", false);
      // The lock of the killed process is stale: taken over.
      g = await serve();
      const offered = await g.logged("offered", hung);
      expect(offered).to.include({ attempt: 1, sequence: 0 });
      expect(offerFiles(hung)).to.deep.equal(["0.age", "0.json"]);
      // The grants rescanned before it were offered before: not again.
      await sleep(1_500);
      expect(g.lines.filter((l) => l["msg"] === "offered")).to.have.length(1);
      expect(offerFiles(earlier)).to.deep.equal(["0.age", "0.json"]);
    });
  });

  describe("a slow handler", function () {
    it("holds back no grant found after it", async function () {
      flag("hang", true);
      try {
        const g = await serve("--concurrency", "2");
        const hung = await x.grantedRequest(HANG);
        for (let i = 0; i < 100 && runs(hung).length === 0; i++) await sleep(100);
        const later = await x.grantedRequest(1);
        await g.logged("offered", later);
        // Offered while the first export still runs.
        expect(runs(hung)).to.have.length(1);
        expect(runs(hung)[0]?.end).to.be.NaN;
        expect(g.about(hung)).to.deep.equal([]);
        await g.logged("offered", hung);
      } finally {
        flag("hang", false);
      }
    });
  });

  describe("refusals", function () {
    it("a transient one is retried with backoff, each attempt logged; the schedule survives a restart", async function () {
      flag("fail", true);
      const id = await x.grantedRequest(1);
      let g = await serve("--retry-max", "3", "--retry-backoff", "1");
      const first = await g.logged("refused", id, { attempt: 1 });
      expect(first).to.include({ reason: "handler-exit", retry: true });
      expect(String(first["detail"])).to.equal(
        "the handler exited with code 4: core banking: unavailable",
      );
      const second = await g.logged("refused", id, { attempt: 2 });
      expect(second).to.include({ retry: true });
      // Backoff: 1 s before the second attempt, 2 s before the third.
      const record = refusal(id);
      expect(record).to.include({ state: "retrying", attempts: 2, reason: "handler-exit" });
      expect(Date.parse(String(record["lastAttemptAt"]))).to.be.at.least(
        Date.parse(String(first["nextAttemptAt"])),
      );
      expect(
        Date.parse(String(record["nextAttemptAt"])) - Date.parse(String(record["lastAttemptAt"])),
      ).to.be.within(1_900, 2_100);
      await g.stop();
      expect(runs(id)).to.have.length(2);

      flag("fail", false);
      g = await serve("--retry-max", "3", "--retry-backoff", "1");
      const offered = await g.logged("offered", id);
      expect(offered).to.include({ attempt: 3 });
      expect(existsSync(path.join(gwDir(), "refusals", `${id}.json`))).to.equal(false);
      expect(runs(id)).to.have.length(3);
    });

    it("retries spent: refused for good, never attempted again", async function () {
      flag("fail", true);
      try {
        const id = await x.grantedRequest(1);
        const g = await serve("--retry-max", "1", "--retry-backoff", "1");
        await g.logged("refused", id, { attempt: 1, retry: true });
        const last = await g.logged("refused", id, { attempt: 2 });
        expect(last).to.include({ retry: false, why: "1 retries made" });
        expect(refusal(id)).to.include({ state: "refused", attempts: 2, nextAttemptAt: null });
        await sleep(3_000);
        expect(runs(id)).to.have.length(2);
      } finally {
        flag("fail", false);
      }
    });

    it("a record limit exceeded is permanent: not retried, even after a restart", async function () {
      const id = await x.grantedRequest(1, { maxRecords: 2 });
      let g = await serve("--retry-max", "5", "--retry-backoff", "1");
      const refused = await g.logged("refused", id);
      expect(refused).to.include({
        attempt: 1,
        reason: "record-limit",
        retry: false,
        why: "permanent",
      });
      expect(refusal(id)).to.include({ state: "refused", attempts: 1 });
      await g.stop();
      g = await serve("--retry-max", "5", "--retry-backoff", "1");
      await sleep(3_000);
      expect(g.about(id)).to.deep.equal([]);
      expect(runs(id)).to.have.length(1);
    });

    it("a grant revoked while it waits for a retry is dropped, not retried", async function () {
      flag("fail", true);
      const id = await x.grantedRequest(1);
      try {
        const g = await serve("--retry-max", "3", "--retry-backoff", "2");
        await g.logged("refused", id, { attempt: 1, retry: true });
        await x.bank.revokeGrant(id, 1);
        flag("fail", false);
        const skipped = await g.logged("skipped", id, { attempt: 2 });
        expect(String(skipped["reason"])).to.equal("the request is Revoked, not granted");
        // The record goes once the attempt is settled, just after its log line.
        for (let i = 0; i < 50 && existsSync(path.join(gwDir(), "refusals", `${id}.json`)); i++)
          await sleep(100);
        expect(existsSync(path.join(gwDir(), "refusals", `${id}.json`))).to.equal(false);
        expect(runs(id)).to.have.length(1);
      } finally {
        flag("fail", false);
      }
    });
  });

  describe("--confirmations", function () {
    it("a grant at the head is not acted on until it is N blocks deep", async function () {
      const g = await serve("--confirmations", "3");
      const id = await x.grantedRequest(1);
      const granted = await node.head();
      await sleep(2_500);
      expect(g.about(id)).to.deep.equal([]);
      await node.rpc.call("evm_mine");
      await node.rpc.call("evm_mine");
      await sleep(2_500);
      expect(await node.head()).to.equal(granted + 2);
      expect(g.about(id)).to.deep.equal([]);
      expect(runs(id)).to.have.length(0);
      await node.rpc.call("evm_mine");
      await g.logged("offered", id);
    });

    it("refuses a confirmation depth that is not a number, in one line", async function () {
      const r = await runVeritrace(
        [
          "exchange",
          "serve",
          "--handler",
          "cat",
          "--dir",
          file("never"),
          "--confirmations",
          "deep",
          ...x.keyArgs("bank"),
        ],
        KEYSTORE_ENV,
      );
      expect(r.code).to.equal(2);
      expect(r.stderr.trim()).to.match(/--confirmations must be an integer ≥ 0, got "deep"$/);
    });
  });

  describe("downloads signed by a contract key (ERC-1271)", function () {
    let council: [CouncilMember, CouncilMember];

    async function addPoliceKey(key: string) {
      const [c0, c1] = council;
      const add = await c0.proposeKey("add", node.cast.police.id, key);
      await c1.approve(add);
      await c1.execute(add);
    }

    before(function () {
      council = [
        new CouncilMember(node.contracts, node.signers[0] as Signer),
        new CouncilMember(node.contracts, node.signers[1] as Signer),
      ];
    });

    it("a wallet registered as the police's key reads the offers and downloads the envelope", async function () {
      const owner = Wallet.createRandom();
      const wallet = await new ERC1271Wallet__factory(node.signers[0] as Signer).deploy(
        owner.address,
      );
      await wallet.waitForDeployment();
      const address = await wallet.getAddress();
      await addPoliceKey(address);
      const id = await x.grantedRequest(1);
      const g = await serve();
      await g.logged("offered", id);
      const key = new ContractKey(address, owner);

      const listed = await x.signedGet(g.url, offersPath(id), id, key);
      expect(listed.status, JSON.stringify(listed.body)).to.equal(200);
      const [offer] = (listed.body as unknown as OffersDocument).offers;
      const envelope = await x.signedGet(g.url, envelopePath(id, 0), id, key);
      expect(envelope.status).to.equal(200);
      expect(`0x${createHash("sha256").update(envelope.raw).digest("hex")}`).to.equal(
        offer?.ciphertextHash,
      );
      // The server logs a download once its last byte is written: wait for both lines.
      const served = () =>
        g.lines.filter(
          (l) => l["msg"] === "request" && l["signer"] === address && l["status"] === 200,
        );
      for (let i = 0; i < 50 && served().length < 2; i++) await sleep(100);
      expect(served()).to.have.length(2);
      expect(g.lines.find((l) => l["signer"] === address)).to.include({
        signatureKind: "erc1271",
        participant: node.cast.police.id,
      });

      // The owner's key itself is no key of the police; a stranger's signature for the wallet fails.
      const asOwner = await x.signedGet(g.url, offersPath(id), id, owner);
      expect(asOwner.status).to.equal(403);
      expect(asOwner.body).to.include({ code: "unknown_signer" });
      const forged = await x.signedGet(
        g.url,
        offersPath(id),
        id,
        new ContractKey(address, Wallet.createRandom()),
      );
      expect(forged.status).to.equal(401);
      expect(forged.body).to.include({ code: "invalid_signature" });
      expect(String(forged.body["detail"])).to.match(
        /the contract's isValidSignature rejected it$/,
      );
    });

    it("a wallet that accepts every signature but is no registered key is refused", async function () {
      const anything = await new AcceptAnySignature__factory(node.signers[0] as Signer).deploy();
      await anything.waitForDeployment();
      const address = await anything.getAddress();
      const id = await x.grantedRequest(1);
      const g = await serve();
      await g.logged("offered", id);
      const r = await x.signedGet(
        g.url,
        envelopePath(id, 0),
        id,
        new ContractKey(address, Wallet.createRandom()),
      );
      expect(r.status).to.equal(403);
      expect(r.body).to.include({ code: "unknown_signer" });
      expect(String(r.body["detail"])).to.equal(
        `${address} is not a signing key of any institution`,
      );
    });

    it("a registered wallet whose owner changed (its code replaced) is refused", async function () {
      const owner = Wallet.createRandom();
      const thief = Wallet.createRandom();
      const factory = new ERC1271Wallet__factory(node.signers[0] as Signer);
      const wallet = await factory.deploy(owner.address);
      await wallet.waitForDeployment();
      const address = await wallet.getAddress();
      await addPoliceKey(address);
      const id = await x.grantedRequest(1);
      const g = await serve();
      await g.logged("offered", id);
      expect(
        (await x.signedGet(g.url, offersPath(id), id, new ContractKey(address, owner))).status,
      ).to.equal(200);

      // The wallet now answers for another owner (its owner is in its code: the code changes).
      const other = await factory.deploy(thief.address);
      await other.waitForDeployment();
      const code = await node.connection.ethers.provider.getCode(await other.getAddress());
      await node.rpc.call("anvil_setCode", [address, code]);
      const byThief = await x.signedGet(
        g.url,
        envelopePath(id, 0),
        id,
        new ContractKey(address, thief),
      );
      expect(byThief.status).to.equal(403);
      expect(byThief.body).to.include({ code: "inactive_signer" });
      const byOwner = await x.signedGet(
        g.url,
        envelopePath(id, 0),
        id,
        new ContractKey(address, owner),
      );
      expect(byOwner.status).to.equal(401);
      expect(byOwner.body).to.include({ code: "invalid_signature" });
    });

    it("a contract whose isValidSignature never ends is cut off by the gas cap", async function () {
      const address = Wallet.createRandom().address;
      // JUMPDEST PUSH1 0 JUMP: a loop until the gas runs out.
      await node.rpc.call("anvil_setCode", [address, "0x5b600056"]);
      const id = await x.grantedRequest(1);
      const g = await serve();
      await g.logged("offered", id);
      const started = Date.now();
      const r = await x.signedGet(
        g.url,
        offersPath(id),
        id,
        new ContractKey(address, Wallet.createRandom()),
      );
      expect(r.status).to.equal(401);
      expect(r.body).to.include({ code: "invalid_signature" });
      expect(String(r.body["detail"])).to.match(/isValidSignature failed \(gas cap 200000\)/);
      expect(Date.now() - started).to.be.lessThan(5_000);
    });
  });
});
