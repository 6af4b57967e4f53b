/**
 * Deposit addresses as the trace's exits, on a real chain (anvil): an ERC-20 world with an
 * exchange's hot wallet H labeled in a TagPack. A holds 400 clean before the seed; the seed T → A
 * brings 600 tainted; A pays 500 into D, a customer's deposit address, which forwards 495 to H (a
 * fee of 5). The trace stops at D (an exit of kind exchange, "deposit address of Exchange H", the
 * forward as its evidence, confidence 1) and H gets nothing of this flow; with deposit addresses
 * turned off, the exit is H as before. Amounts are worked out by hand per model below.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { hexlify, randomBytes, Wallet } from "ethers";
import { network } from "hardhat";
import type { NetworkConnection } from "hardhat/types/network";
import { RpcClient } from "../../src/chain/rpc.js";
import { importTagPacks } from "../../src/analytics/labels/store.js";
import { runTrace, type RunTraceOutput } from "../../src/analytics/funds/run.js";
import { toDot } from "../../src/analytics/funds/graph.js";
import type { TaintModelName } from "../../src/analytics/funds/taint.js";
import { answerTrace } from "../../src/api/routes/trace.js";
import { Trace, TraceRequest } from "../../src/api/wire.js";
import { openMemoryDatabase } from "../../src/db/db.js";
import { Store } from "../../src/db/store.js";
import { startLocalChain, type LocalChain } from "../../scripts/lib/local-chain.js";
import { TestToken__factory, type TestToken } from "../../types/ethers-contracts/index.js";
import { runVeritrace } from "../helpers/tracer.js";

let chain: LocalChain;
let connection: NetworkConnection;
let rpc: RpcClient;
let token: TestToken;
let tokenAddress: string;
let tmp: string;
let tagpack: string;
let store: Store;
const wallets: Record<string, Wallet> = {};
const sent: Record<string, string> = {};

const ROLES = ["T", "A", "D", "H"] as const;
type Role = (typeof ROLES)[number];
const addr = (role: Role) => (wallets[role] as Wallet).address.toLowerCase();

async function send(name: string, from: Role, to: Role, amount: bigint): Promise<void> {
  const response = await token.connect(wallets[from] as Wallet).transfer(addr(to), amount);
  const receipt = await response.wait();
  if (receipt === null) throw new Error("no receipt");
  sent[name] = receipt.hash.toLowerCase();
}
const tx = (name: string) => sent[name] as string;

/**
 * By hand. A's funds before its payment to D: 400 clean (older), 600 tainted.
 * - poison: A → D 500 is tainted whole; D → H 495 too (D keeps 5, its whole balance); A holds 500.
 * - haircut: A → D carries floor(500 · 600 / 1000) = 300; D → H floor(495 · 300 / 500) = 297
 *   (D keeps 3); A holds 300.
 * - fifo: A → D takes the clean 400 then 100 tainted; D → H takes those 400 clean then 95 tainted
 *   (D keeps 5); A holds 500.
 */
const EXPECTED: Record<TaintModelName, { a: bigint; d: bigint; h: bigint; kept: bigint }> = {
  poison: { a: 500n, d: 500n, h: 495n, kept: 5n },
  haircut: { a: 300n, d: 300n, h: 297n, kept: 3n },
  fifo: { a: 500n, d: 100n, h: 95n, kept: 5n },
};

const trace = (model: TaintModelName, depositAddresses?: boolean): Promise<RunTraceOutput> =>
  runTrace({
    rpc,
    db: store.db,
    token: tokenAddress,
    seed: tx("seed"),
    model,
    depositAddresses,
  });

const amounts = (list: readonly { address: string; amount: bigint }[]) =>
  list.map((x) => [x.address, x.amount]);

describe("deposit addresses as exits on a real chain", function () {
  before(async function () {
    chain = await startLocalChain("anvil");
    connection = await network.create({ network: "localhost", override: { url: chain.url } });
    rpc = new RpcClient(chain.url, { maxRetries: 0 });
    const [deployer] = await connection.ethers.getSigners();
    if (deployer === undefined) throw new Error("signers");
    token = await new TestToken__factory(deployer).deploy("Test USD", "TUSD", 6);
    await token.waitForDeployment();
    tokenAddress = (await token.getAddress()).toLowerCase();
    for (const role of ROLES) {
      const wallet = new Wallet(hexlify(randomBytes(32)), connection.ethers.provider);
      await rpc.call("anvil_setBalance", [wallet.address, "0xde0b6b3a7640000"]);
      wallets[role] = wallet;
    }
    await (await token.connect(deployer).mint(addr("A"), 400n)).wait();
    await (await token.connect(deployer).mint(addr("T"), 600n)).wait();
    await send("seed", "T", "A", 600n);
    await send("pay", "A", "D", 500n);
    await send("forward", "D", "H", 495n); // short by a fee of 5 (1 %)
    tmp = mkdtempSync(path.join(os.tmpdir(), "veritrace-deposit-exits-"));
    tagpack = path.join(tmp, "exchange.yaml");
    writeFileSync(
      tagpack,
      [
        "title: Deposit exit test exchange",
        "creator: Veritrace tests",
        "source: https://example.org/exchange",
        "currency: ETH",
        "tags:",
        `- address: '${addr("H")}'`,
        "  label: Exchange H",
        "  category: exchange",
        "",
      ].join("\n"),
    );
    store = await Store.open(await openMemoryDatabase());
    await importTagPacks(store.db, [tagpack]);
  });

  after(async function () {
    await store?.close();
    await connection?.close();
    await chain?.stop();
    if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true });
  });

  for (const model of ["poison", "haircut", "fifo"] as const) {
    const e = EXPECTED[model];
    it(`${model}: the exit is the deposit address D (${e.d}), with its forward and confidence; H gets nothing`, async function () {
      const { result } = await trace(model);
      expect(result.exits).to.have.length(1);
      const exit = result.exits[0];
      expect(exit).to.deep.include({
        address: addr("D"),
        kind: "exchange",
        label: "deposit address of Exchange H",
        amount: e.d,
        hops: 1,
        depositOf: { address: addr("H"), label: "Exchange H" },
        evidence: [tx("forward")],
        confidence: 1,
      });
      expect(result.edges.some((x) => x.to === addr("H"))).to.equal(false);
      expect(amounts(result.holdings)).to.deep.equal([[addr("A"), e.a]]);
    });

    it(`${model}: without deposit addresses the exit is the hot wallet H (${e.h}), as before`, async function () {
      const { result } = await trace(model, false);
      expect(result.exits.map((x) => [x.address, x.kind, x.label, x.amount])).to.deep.equal([
        [addr("H"), "exchange", "Exchange H", e.h],
      ]);
      expect(result.exits[0]).not.to.have.property("depositOf");
      const holdings = new Map(amounts(result.holdings) as [string, bigint][]);
      expect(holdings.get(addr("A"))).to.equal(e.a);
      expect(holdings.get(addr("D"))).to.equal(e.kept);
    });
  }

  it("the graph labels the deposit address as such", async function () {
    const { result } = await trace("haircut");
    const dot = toDot(result);
    expect(dot).to.include("deposit address of Exchange H");
    expect(dot).to.include("exchange exit");
  });

  it("veritrace trace --json names the deposit address; --no-deposit-addresses the hot wallet", async function () {
    const run = async (...extra: string[]) => {
      const r = await runVeritrace([
        "trace",
        ...["--rpc", chain.url, "--token", tokenAddress, "--seed", tx("seed")],
        ...[
          "--model",
          "haircut",
          "--labels",
          tagpack,
          "--db",
          path.join(tmp, `db-${extra.length}`),
        ],
        ...extra,
        "--json",
      ]);
      expect(r.code, r.stderr).to.equal(0);
      return JSON.parse(r.stdout.trim().split("\n").at(-1) ?? "") as { exits: unknown[] };
    };
    expect((await run()).exits).to.deep.equal([
      {
        chainId: 31337,
        token: tokenAddress.toLowerCase(),
        address: addr("D"),
        label: "deposit address of Exchange H",
        amount: "300",
        value: "300",
        depositOf: { address: addr("H"), label: "Exchange H" },
        evidence: [tx("forward")],
        confidence: 1,
      },
    ]);
    expect((await run("--no-deposit-addresses")).exits).to.deep.equal([
      {
        chainId: 31337,
        token: tokenAddress.toLowerCase(),
        address: addr("H"),
        label: "Exchange H",
        amount: "297",
        value: "297",
      },
    ]);
  });

  it("POST /trace answers with the deposit address's exit in the published schema, and without it on request", async function () {
    const request = { token: tokenAddress, seed: tx("seed"), model: "fifo" };
    const answer = Trace.parse(await answerTrace(store, chain.url, TraceRequest.parse(request)));
    const d = answer.nodes.find((n) => n.address === addr("D"));
    expect(d?.exit).to.deep.equal({
      kind: "exchange",
      amount: "100",
      label: "deposit address of Exchange H",
      depositOf: { address: addr("H"), label: "Exchange H" },
      evidence: [tx("forward")],
      confidence: 1,
    });
    expect(answer.nodes.map((n) => n.address)).not.to.include(addr("H"));
    expect(answer.summary.exits).to.have.length(1);
    const off = Trace.parse(
      await answerTrace(
        store,
        chain.url,
        TraceRequest.parse({ ...request, depositAddresses: false }),
      ),
    );
    expect(off.summary.exits).to.deep.equal([
      {
        chainId: 31337,
        token: tokenAddress.toLowerCase(),
        address: addr("H"),
        label: "Exchange H",
        amount: "95",
        value: "95",
      },
    ]);
  });
});
