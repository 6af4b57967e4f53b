/**
 * Lazy traces of every asset (`runTrace` with token "all" and `read: "lazy"`,
 * src/analytics/funds/lazy-assets.ts), on anvil with the published bytecode of WETH9 and Uniswap V2
 * (test/helpers/defi.ts): a theft of token A mixed with clean A and WETH the thief held before,
 * swapped for WETH and sent on, unwrapped and paid partly to an exchange, swapped for ether through
 * the router to a payee, routed through two pairs to a fence, put into the pool as liquidity and
 * taken out again; a clean trader uses the same pair and router afterwards. Reading only the
 * histories the taint reaches gives the streams' answer under every model, never reads a pool's
 * history, and a second trace reads nothing of final blocks.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { Wallet, type JsonRpcProvider, type Signer } from "ethers";
import type { LocalChain } from "../../scripts/lib/local-chain.js";
import { RpcClient } from "../../src/chain/rpc.js";
import { openMemoryDatabase, type Database } from "../../src/db/db.js";
import { Store } from "../../src/db/store.js";
import { importTagPacks } from "../../src/analytics/labels/store.js";
import {
  runTrace,
  traceSummaryJson,
  type RunTraceInput,
  type RunTraceOutput,
} from "../../src/analytics/funds/run.js";
import { TAINT_MODELS, type TaintModelName } from "../../src/analytics/funds/taint.js";
import {
  addV2LiquidityETH,
  approveAll,
  balanceOf,
  call,
  E18,
  send,
  startDefiChain,
  v2LiquidityInAndOut,
  v2PairOf,
  v2Swap,
  type DefiWorld,
  type Sent,
} from "../helpers/defi.js";
import { addressesRead, CountingRpc, edgeRow, holdingRow } from "../helpers/lazy-chains.js";
import { failure, runVeritrace } from "../helpers/tracer.js";

/** What the two readings must agree on: every holding and exit, the buckets, the tainted transfers. */
function answer(out: RunTraceOutput) {
  const r = out.result;
  return {
    seedAsset: r.seedAsset,
    seedAmount: r.seedAmount,
    total: r.total,
    beyondHopLimit: r.beyondHopLimit,
    belowMinimum: r.belowMinimum,
    holdings: r.holdings.map(holdingRow),
    exits: r.exits.map((e) => [e.token, e.address, e.kind, e.amount, e.value, e.depositOf]),
    edges: r.edges.map(edgeRow),
    skipped: out.skippedConversions,
  };
}

describe("lazy traces of every asset (anvil, Uniswap V2 and WETH9)", function () {
  this.timeout(300_000);
  let chain: LocalChain;
  let provider: JsonRpcProvider;
  let world: DefiWorld;
  let deployer: Signer;
  let tmp: string;
  let tagpack: string;
  const wallets: Record<"victim" | "thief" | "receiver" | "trader", Wallet> = {} as never;
  const address: Record<string, string> = {};
  let seed = "";

  const a = (name: string) => address[name] as string;
  /** The thief's swap of exactly `amount` along `route`, paid to `to`. */
  const swap = (amount: bigint, route: string[], to: string, method?: string) =>
    v2Swap(world, wallets.thief, amount, route, to, method);

  before(async function () {
    const node = await startDefiChain();
    ({ chain, provider, deployer, world } = node);
    for (const role of ["victim", "thief", "receiver", "trader"] as const) {
      const wallet = await node.wallet(3n * E18);
      wallets[role] = wallet;
      address[role] = wallet.address.toLowerCase();
    }
    for (const role of ["fence", "payee", "exchange"])
      address[role] = Wallet.createRandom().address.toLowerCase();
    address["a"] = (await world.tokenA.getAddress()).toLowerCase();
    address["b"] = (await world.tokenB.getAddress()).toLowerCase();
    address["weth"] = (await world.weth.getAddress()).toLowerCase();
    const router = await world.v2Router.getAddress();
    address["router"] = router.toLowerCase();
    await approveAll(world, deployer, router);
    for (const token of ["a", "b"]) await addV2LiquidityETH(world, deployer, a(token));
    address["pair"] = await v2PairOf(world, a("a"));
    address["pair2"] = await v2PairOf(world, a("b"));
    await send(call(world.tokenA, "transfer", deployer, a("victim"), 1000n * E18));
    await send(call(world.tokenA, "transfer", deployer, a("trader"), 500n * E18));
    // Before the theft: clean A and clean WETH in the thief's hands.
    await send(call(world.tokenA, "transfer", deployer, a("thief"), 300n * E18));
    await send(call(world.weth, "deposit", deployer, { value: 2n * E18 }));
    await send(call(world.weth, "transfer", deployer, a("thief"), E18));
    for (const role of ["thief", "trader"] as const) await approveAll(world, wallets[role], router);

    seed = await send(call(world.tokenA, "transfer", wallets.victim, a("thief"), 1000n * E18));
    // 600 A for WETH to the thief; the WETH sent on, unwrapped, and partly paid to an exchange.
    const before = await balanceOf(world.weth, a("thief"));
    await swap(600n * E18, [a("a"), a("weth")], a("thief"));
    const swapOut = (await balanceOf(world.weth, a("thief"))) - before;
    await send(call(world.weth, "transfer", wallets.thief, a("receiver"), swapOut));
    await send(call(world.weth, "withdraw", wallets.receiver, swapOut));
    await send(
      wallets.receiver.sendTransaction({ to: a("exchange"), value: swapOut / 2n }) as Sent,
    );
    // 200 A for ether through the router (it receives the WETH, unwraps it, pays the payee).
    await swap(200n * E18, [a("a"), a("weth")], a("payee"), "swapExactTokensForETH");
    // A route A → WETH → B to a fence.
    await swap(100n * E18, [a("a"), a("weth"), a("b")], a("fence"));
    // Liquidity: 200 A and the thief's WETH in, taken out again.
    const weth = await balanceOf(world.weth, a("thief"));
    await v2LiquidityInAndOut(world, wallets.thief, a("pair"), a("a"), 200n * E18, weth);
    await send(call(world.tokenA, "transfer", wallets.thief, a("fence"), 50n * E18));
    // A clean trader afterwards, through the same router and pair.
    await v2Swap(
      world,
      wallets.trader,
      500n * E18,
      [a("a"), a("weth")],
      a("trader"),
      "swapExactTokensForETH",
    );
    tmp = mkdtempSync(path.join(os.tmpdir(), "veritrace-lazy-assets-"));
    tagpack = path.join(tmp, "exchange.yaml");
    writeFileSync(
      tagpack,
      [
        "title: Lazy assets test exchange",
        "creator: Veritrace tests",
        "source: https://example.org/exchange",
        "currency: ETH",
        "tags:",
        `- address: '${a("exchange")}'`,
        "  label: Example Exchange",
        "  category: exchange",
        "",
      ].join("\n"),
    );
  });

  after(async function () {
    await chain?.stop();
    if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true });
  });

  const labeledStore = async (): Promise<Database> => {
    const store = await Store.open(await openMemoryDatabase());
    await importTagPacks(store.db, [tagpack]);
    return store.db;
  };
  const trace = (
    db: Database,
    model: TaintModelName,
    read: "lazy" | "stream",
    more: Partial<RunTraceInput> = {},
  ) =>
    runTrace({
      rpc: new RpcClient(chain.url, { maxRetries: 0 }),
      db,
      token: "all",
      seed,
      model,
      read,
      ...more,
    });

  for (const model of TAINT_MODELS)
    it(`${model}: the streams' holdings, exits, values and tainted transfers`, async function () {
      const stream = await trace(await labeledStore(), model, "stream");
      const db = await labeledStore();
      const lazy = await trace(db, model, "lazy", { finalityDepth: 0 });
      expect(answer(lazy)).to.deep.equal(answer(stream));
      const r = lazy.result;
      expect(r.seedAmount).to.equal(1000n * E18);
      if (model !== "poison") expect(r.total).to.equal(1000n * E18);
      // The taint reached ether (the receiver's, the payee's), B (the fence's), and under haircut
      // and poison the exchange (FIFO pays it the receiver's older, clean ether).
      const assets = new Set(r.holdings.map((h) => h.token));
      expect([...assets].sort()).to.include.members(["native", a("a"), a("b")]);
      const exchange = r.exits.find(
        (e) => e.address === a("exchange") || e.depositOf?.address === a("exchange"),
      );
      expect(exchange !== undefined, "exchange").to.equal(model !== "fifo");
      // No pool, wrapper or liquidity provider had its history read.
      const read = await addressesRead(db);
      for (const name of ["pair", "pair2", "weth", "a", "b"])
        expect(read.has(a(name)), name).to.equal(false);
      expect(read.has(a("thief"))).to.equal(true);
      // The router, which the taint passed through, is read in that block alone (haircut, FIFO);
      // poison taints it for good, so its whole history is read.
      const router = await db.query<{ from_block: string | number; to_block: string | number }>(
        "SELECT from_block, to_block FROM address_ranges WHERE address = $1",
        [a("router")],
      );
      expect(router.length).to.be.greaterThan(0);
      const blocks = router.map((r) => Number(r.to_block) - Number(r.from_block) + 1);
      if (model === "poison") expect(Math.min(...blocks)).to.be.greaterThan(10);
      else expect(blocks.every((n) => n === 1)).to.equal(true);
    });

  it("two seeds (the theft and a second victim's balance): the streams' answer, each seed's share", async function () {
    // The trader's whole A before it swapped it for ether through the router (the last block).
    const head = Number(await provider.getBlockNumber());
    const more = { seed: [seed, `${a("trader")}@${head - 1}`], seedAsset: a("a") };
    const stream = await trace(await labeledStore(), "haircut", "stream", more);
    const lazy = await trace(await labeledStore(), "haircut", "lazy", more);
    expect(answer(lazy)).to.deep.equal(answer(stream));
    expect(lazy.result.seedAmount).to.equal(1500n * E18);
    const shares = (out: RunTraceOutput) =>
      traceSummaryJson(out).holdings.map((h) => [h.token, h.address, h.bySeed]);
    expect(shares(lazy)).to.deep.equal(shares(stream));
    expect(lazy.result.holdings.some((h) => h.address === a("trader"))).to.equal(true);
  });

  it("never asks the node for a pool's history, and a second trace reads nothing of final blocks", async function () {
    const db = await labeledStore();
    const first = new CountingRpc(chain.url, { maxRetries: 0 });
    const out = await trace(db, "haircut", "lazy", { rpc: first, finalityDepth: 0 });
    const topic = (x: string) => `0x${x.slice(2).padStart(64, "0")}`;
    const named = (params: readonly unknown[]) => JSON.stringify(params);
    for (const pool of ["pair", "pair2"]) {
      const logs = first.asked.filter(
        (c) => c.method === "eth_getLogs" && named(c.params).includes(topic(a(pool))),
      );
      const traces = first.asked.filter(
        (c) => c.method === "trace_filter" && named(c.params).includes(a(pool)),
      );
      expect([...logs, ...traces], pool).to.deep.equal([]);
    }
    expect(first.count("eth_getLogs")).to.be.greaterThan(0);

    const second = new CountingRpc(chain.url, { maxRetries: 0 });
    const again = await trace(db, "haircut", "lazy", { rpc: second, finalityDepth: 0 });
    expect(answer(again)).to.deep.equal(answer(out));
    expect(second.count("eth_getLogs")).to.equal(0);
    expect(second.count("trace_filter")).to.equal(0);
    // The seed transaction alone is read again (a seed is read whole from the node, and the plan
    // asks its block), and no balance: only the wrapper's, which tells WETH9 apart.
    const asked = (method: string) =>
      new Set(second.asked.filter((c) => c.method === method).map((c) => c.params[0]));
    expect([...asked("eth_getTransactionReceipt")]).to.deep.equal([seed]);
    expect([...asked("trace_transaction")]).to.deep.equal([seed]);
    expect([...asked("eth_getBalance")]).to.deep.equal([a("weth")]);
    expect(again.ingest.rows).to.equal(0);

    // A trace of token A alone reuses the histories of every token: the thief's is not asked.
    const one = new CountingRpc(chain.url, { maxRetries: 0 });
    await trace(db, "haircut", "lazy", { rpc: one, token: a("a"), finalityDepth: 0 });
    const thief = one.asked.filter(
      (c) => c.method === "eth_getLogs" && named(c.params).includes(topic(a("thief"))),
    );
    expect(thief).to.deep.equal([]);
  });

  it("veritrace trace --lazy follows every asset without --token", async function () {
    const db = path.join(tmp, "cli-db");
    const out = await runVeritrace([
      "trace",
      "--rpc",
      chain.url,
      "--seed",
      seed,
      "--model",
      "fifo",
      "--labels",
      tagpack,
      "--lazy",
      "--db",
      db,
      "--json",
    ]);
    expect(out.code, out.stderr).to.equal(0);
    const json = JSON.parse(out.stdout.trim().split("\n").pop() as string) as ReturnType<
      typeof traceSummaryJson
    >;
    const stream = traceSummaryJson(await trace(await labeledStore(), "fifo", "stream"));
    expect(json.token).to.equal("all");
    expect(json.total).to.equal((1000n * E18).toString());
    expect(json.holdings).to.deep.equal(stream.holdings);
    expect(json.exits).to.deep.equal(stream.exits);
  });

  it("reads a router whole once it keeps something of what passed through it", async function () {
    const rpc = new RpcClient(chain.url, { maxRetries: 0 });
    const snapshot = await rpc.call<string>("evm_snapshot");
    try {
      // Dust in the router's WETH, then 10 A more for ether through it: the router's WETH is not
      // empty at the end of that block, so the taint it keeps there (haircut) is a holding, and
      // its whole history is read.
      await send(call(world.weth, "transfer", deployer, a("router"), 1000n));
      await swap(10n * E18, [a("a"), a("weth")], a("payee"), "swapExactTokensForETH");
      const stream = await trace(await labeledStore(), "haircut", "stream");
      const db = await labeledStore();
      const lazy = await trace(db, "haircut", "lazy", { finalityDepth: 0 });
      expect(answer(lazy)).to.deep.equal(answer(stream));
      expect(
        lazy.result.holdings.some((h) => h.address === a("router") && h.token === a("weth")),
      ).to.equal(true);
      const ranges = await db.query<{ from_block: string | number; to_block: string | number }>(
        "SELECT from_block, to_block FROM address_ranges WHERE address = $1",
        [a("router")],
      );
      expect(ranges.some((r) => Number(r.to_block) - Number(r.from_block) > 10)).to.equal(true);
    } finally {
      await rpc.call("evm_revert", [snapshot]);
    }
  });

  it("refuses its own chain given again as another, in one line", async function () {
    const error = await failure(
      trace(await labeledStore(), "haircut", "lazy", {
        chains: [{ rpc: new RpcClient(chain.url) }],
      }),
    );
    expect(error.message).to.match(/^chain \d+ is given twice/);
    expect(error.message).not.to.include("\n");
  });
});
