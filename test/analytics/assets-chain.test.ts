/**
 * A trace of every asset on anvil, through the published bytecode of WETH9 and Uniswap V2
 * (test/helpers/defi.ts): a theft of token A is swapped for WETH, sent on, unwrapped to the native
 * coin; the rest is swapped, put into the pool as liquidity and taken out again. Every swap,
 * wrap and liquidity move is a conversion: the pair, its liquidity provider and a later trader
 * stay clean; what the thief and the receiver hold is exactly what the chain says they hold;
 * the valuations add up to the theft exactly (haircut, FIFO).
 */
import { expect } from "chai";
import { Wallet, type Signer } from "ethers";
import type { LocalChain } from "../../scripts/lib/local-chain.js";
import type { RpcClient } from "../../src/chain/rpc.js";
import { openMemoryDatabase } from "../../src/db/db.js";
import { Store } from "../../src/db/store.js";
import { runTrace, traceSummaryJson, type RunTraceOutput } from "../../src/analytics/funds/run.js";
import { accountKey } from "../../src/analytics/funds/taint.js";
import { assetsOf } from "../../src/analytics/funds/flow.js";
import {
  addV2LiquidityETH,
  approveAll,
  balanceOf,
  call,
  createV3Pool,
  DEADLINE,
  E18,
  send,
  sorted,
  startDefiChain,
  v2LiquidityInAndOut,
  v2PairOf,
  v2Swap,
  v3SwapParams,
  type DefiWorld,
} from "../helpers/defi.js";
import { drawnTrace, traceAnswer, traceOnce } from "../helpers/asset-traces.js";
import { runVeritrace } from "../helpers/tracer.js";
import { importTagPacks } from "../../src/analytics/labels/store.js";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

describe("a trace of every asset through Uniswap V2 and WETH9 (anvil)", function () {
  this.timeout(300_000);
  let chain: LocalChain;
  let rpc: RpcClient;
  let store: Store;
  let world: DefiWorld;
  let deployer: Signer;
  const wallets: Record<"victim" | "thief" | "receiver" | "trader", Wallet> = {} as never;
  const address: Record<string, string> = {};
  let seed = "";
  let swapOut = 0n;
  let v3Out = 0n;
  let depositGot = 0n;
  let tagpackDir = "";

  before(async function () {
    const node = await startDefiChain();
    ({ chain, rpc, deployer, world } = node);
    for (const role of ["victim", "thief", "receiver", "trader"] as const) {
      const wallet = await node.wallet();
      wallets[role] = wallet;
      address[role] = wallet.address.toLowerCase();
    }
    const a = (await world.tokenA.getAddress()).toLowerCase();
    const weth = (await world.weth.getAddress()).toLowerCase();
    Object.assign(address, { a, weth });
    const router = await world.v2Router.getAddress();
    address["router"] = router.toLowerCase();
    // The liquidity provider: 100,000 A against 100 ether.
    await approveAll(world, deployer, router);
    await addV2LiquidityETH(world, deployer, a);
    const pair = await v2PairOf(world, a);
    address["pair"] = pair;
    address["lp"] = (await deployer.getAddress()).toLowerCase();
    await send(call(world.tokenA, "transfer", deployer, address["victim"], 1000n * E18));
    await send(call(world.tokenA, "transfer", deployer, address["trader"], 500n * E18));
    for (const role of ["thief", "trader"] as const) await approveAll(world, wallets[role], router);

    // The theft, then 600 A for WETH straight to the thief, sent on and unwrapped by the receiver.
    seed = await send(
      call(world.tokenA, "transfer", wallets.victim, address["thief"], 1000n * E18),
    );
    const before = await balanceOf(world.weth, address["thief"] as string);
    await v2Swap(world, wallets.thief, 600n * E18, [a, weth], address["thief"] as string);
    swapOut = (await balanceOf(world.weth, address["thief"] as string)) - before;
    await send(call(world.weth, "transfer", wallets.thief, address["receiver"], swapOut));
    await send(call(world.weth, "withdraw", wallets.receiver, swapOut));
    // 200 A more for WETH, then the last 200 A and that WETH as liquidity, taken out again.
    await v2Swap(world, wallets.thief, 200n * E18, [a, weth], address["thief"] as string);
    const wethHeld = await balanceOf(world.weth, address["thief"] as string);
    await v2LiquidityInAndOut(world, wallets.thief, pair, a, 200n * E18, wethHeld);
    // Uniswap V3: 50 A for B in a pool the deployer provides (one pays out before it is paid).
    const b = (await world.tokenB.getAddress()).toLowerCase();
    address["b"] = b;
    address["v3pool"] = await createV3Pool(world, deployer, ...sorted(a, b));
    await approveAll(world, wallets.thief, await world.v3Router.getAddress());
    const bBefore = await balanceOf(world.tokenB, address["thief"] as string);
    await send(
      call(
        world.v3Router,
        "exactInputSingle",
        wallets.thief,
        v3SwapParams(a, b, 50n * E18, address["thief"] as string),
      ),
    );
    v3Out = (await balanceOf(world.tokenB, address["thief"] as string)) - bBefore;
    // A route through two V2 pairs, A → WETH → B, paid to a fence.
    await addV2LiquidityETH(world, deployer, b);
    address["pair2"] = await v2PairOf(world, b);
    const fence = Wallet.createRandom().address.toLowerCase();
    address["fence"] = fence;
    await v2Swap(world, wallets.thief, 50n * E18, [a, weth, b], fence);
    // An exchange customer's deposit address paid by a swap: the thief swaps 20 A for WETH straight
    // to it, and it forwards the WETH to the exchange's hot wallet (labeled in a TagPack).
    const depositWallet = await node.wallet();
    const deposit = depositWallet.address.toLowerCase();
    address["deposit"] = deposit;
    address["exchange"] = Wallet.createRandom().address.toLowerCase();
    await v2Swap(world, wallets.thief, 20n * E18, [a, weth], deposit);
    depositGot = await balanceOf(world.weth, address["deposit"] as string);
    await send(call(world.weth, "transfer", depositWallet, address["exchange"], depositGot));
    // The receiver buys 10 A with ether through the router, paying more than needed: the router
    // wraps what the pair takes and refunds the rest (internal transfers, after the logs).
    await send(
      call(
        world.v2Router,
        "swapETHForExactTokens",
        wallets.receiver,
        10n * E18,
        [address["weth"], address["a"]],
        address["receiver"],
        DEADLINE,
        { value: E18 / 2n },
      ),
    );
    // A later trader, clean, through the same pool.
    await v2Swap(
      world,
      wallets.trader,
      500n * E18,
      [a, weth],
      address["trader"] as string,
      "swapExactTokensForETH",
    );
    store = await Store.open(await openMemoryDatabase());
    tagpackDir = mkdtempSync(path.join(os.tmpdir(), "veritrace-assets-"));
    const tagpack = path.join(tagpackDir, "exchange.yaml");
    writeFileSync(
      tagpack,
      [
        "title: Assets test exchange",
        "creator: Veritrace tests",
        "source: https://example.org/exchange",
        "currency: ETH",
        "tags:",
        `- address: '${address["exchange"]}'`,
        "  label: Exchange E",
        "  category: exchange",
        "",
      ].join("\n"),
    );
    await importTagPacks(store.db, [tagpack]);
  });

  after(async function () {
    await store?.close();
    if (tagpackDir !== "") rmSync(tagpackDir, { recursive: true, force: true });
    await chain?.stop();
  });

  const traceOf = traceOnce(() => ({ rpc, db: store.db, seed }));
  const held = (out: RunTraceOutput) =>
    new Map(out.result.holdings.map((h) => [accountKey(h.token, h.address), h]));

  for (const model of ["haircut", "fifo"] as const)
    it(`${model}: the theft ends where the chain says, worth exactly what was stolen`, async () => {
      const out = await traceOf(model);
      const r = out.result;
      expect(r.seedAsset).to.equal(address["a"]);
      expect(r.seedAmount).to.equal(1000n * E18);
      expect(r.total).to.equal(1000n * E18);
      const h = held(out);
      // The receiver unwrapped every WETH it got, then bought A through the router (refunded the
      // rest): its native coin and that A, with the gas it paid from tainted ether, are worth the
      // 600 A swapped, exactly.
      const receiver = address["receiver"] as string;
      const worth = (xs: { address: string; value: bigint }[]) =>
        xs.filter((x) => x.address === receiver).reduce((n, x) => n + x.value, 0n);
      const fees = r.exits.filter((e) => e.kind === "fee").reduce((n, e) => n + e.value, 0n);
      expect(worth(r.holdings) + fees).to.equal(600n * E18);
      expect(h.get(accountKey("native", receiver))?.value ?? 0n).to.be.greaterThan(590n * E18);
      expect(h.has(accountKey(address["weth"] as string, receiver))).to.equal(false);
      // The thief's A and WETH came back from the pool, its B from the V3 pool, the fence's B from
      // the route: all of it is the rest of the theft, exactly the balances the chain shows.
      const a = h.get(accountKey(address["a"] as string, address["thief"] as string));
      const weth = h.get(accountKey(address["weth"] as string, address["thief"] as string));
      const b = h.get(accountKey(address["b"] as string, address["thief"] as string));
      const fence = h.get(accountKey(address["b"] as string, address["fence"] as string));
      expect(a?.amount).to.equal(await balanceOf(world.tokenA, address["thief"] as string));
      expect(weth?.amount).to.equal(await balanceOf(world.weth, address["thief"] as string));
      expect(b?.amount).to.equal(v3Out);
      expect(fence?.amount).to.equal(await balanceOf(world.tokenB, address["fence"] as string));
      // Their values are at the rates the taint went through (the A that came back from the pair
      // is worth what the liquidity was): together, exactly the rest of the theft.
      const value = (x?: { value: bigint }) => x?.value ?? 0n;
      // The 20 A swapped to a deposit address: an exit there, its exchange named (not the hot
      // wallet it forwarded to).
      const deposit = r.exits.find((e) => e.address === address["deposit"]);
      expect(deposit).to.include({ kind: "exchange", token: address["weth"], amount: depositGot });
      expect(deposit?.depositOf).to.deep.equal({
        address: address["exchange"],
        label: "Exchange E",
      });
      expect(r.exits.map((e) => e.address)).to.not.include(address["exchange"]);
      expect(value(a) + value(weth) + value(b) + value(fence) + value(deposit)).to.equal(
        400n * E18,
      );
      expect(value(b) > 49n * E18 && value(fence) > 49n * E18).to.equal(true);
      expect([...h.keys()].filter((k) => !k.endsWith(receiver)).sort()).to.deep.equal(
        [
          accountKey(address["a"] as string, address["thief"] as string),
          accountKey(address["weth"] as string, address["thief"] as string),
          accountKey(address["b"] as string, address["thief"] as string),
          accountKey(address["b"] as string, address["fence"] as string),
        ].sort(),
      );
      expect(out.skippedConversions).to.deep.equal([]);
    });

  for (const model of ["haircut", "fifo", "poison"] as const)
    it(`${model}: the pools, their liquidity providers and a later trader stay clean; the router keeps nothing`, async () => {
      const r = (await traceOf(model)).result;
      const touched = new Set([
        ...r.holdings.map((h) => h.address),
        ...r.exits.map((e) => e.address),
        ...r.edges.map((e) => e.to),
      ]);
      for (const role of ["pair", "pair2", "v3pool", "lp", "trader"])
        expect(touched.has(address[role] as string), role).to.equal(false);
      // The router passes on what it receives within the transaction, and keeps nothing.
      const kept = [...r.holdings, ...r.exits].map((x) => x.address);
      expect(kept).to.not.include(address["router"]);
    });

  it("each conversion is one edge naming the pool, in and out", async () => {
    const r = (await traceOf("haircut")).result;
    const conversions = r.edges.filter((e) => e.out !== undefined);
    const actions = conversions.flatMap((e) => e.out?.steps.map((s) => s.action) ?? []);
    // Two swaps, the unwrap, liquidity in (two tokens) and out (two tokens), the V3 swap, the
    // route's two swaps (one edge), the swap to a deposit address, the router's wrap and swap for
    // the receiver.
    expect(actions.sort()).to.deep.equal([
      "add-liquidity",
      "add-liquidity",
      "remove-liquidity",
      "remove-liquidity",
      "swap",
      "swap",
      "swap",
      "swap",
      "swap",
      "swap",
      "swap",
      "unwrap",
      "wrap",
    ]);
    const route = conversions.find((e) => (e.out?.steps.length ?? 0) === 2);
    expect(route?.out?.steps.map((s) => s.contract)).to.deep.equal([
      address["pair"],
      address["pair2"],
    ]);
    expect(route?.to).to.equal(address["fence"]);
    const v3 = conversions.find((e) => e.out?.steps[0]?.venue === "uniswap-v3");
    expect(v3?.out).to.include({ token: address["b"], amount: v3Out, tainted: v3Out });
    const first = conversions[0];
    expect(first?.out?.steps[0]).to.include({ venue: "uniswap-v2", contract: address["pair"] });
    expect(first).to.include({ token: address["a"], amount: 600n * E18, tainted: 600n * E18 });
    expect(first?.out).to.include({ token: address["weth"], amount: swapOut, tainted: swapOut });
  });

  it("veritrace trace --graph draws each conversion through its pool and one legend entry per asset", async () => {
    const svg = await drawnTrace(chain.url, seed);
    const titles = [
      ...svg.matchAll(/<g id="node\d+" class="node">\s*<title>([^<]*)<\/title>/g),
      // Graphviz writes "-" as &#45;.
    ].map((m) => m[1]?.replace(/&#45;/g, "-"));
    const pair = address["pair"] as string;
    for (const node of [`${pair}/swap`, `${pair}/add-liquidity`, `${pair}/remove-liquidity`])
      expect(titles, node).to.include(node);
    expect(titles).to.include(`${address["weth"]}/unwrap`);
    expect(svg).to.include("Uniswap V2 swap");
    // The legend: one entry per asset the trace moved (A, WETH, the pair's liquidity token,
    // ether, …), each named by its symbol and address, A as the seed's asset.
    const legend = svg.slice(svg.indexOf("<title>legend</title>"));
    const texts = [
      ...legend.slice(0, legend.indexOf("</g>")).matchAll(/<text[^>]*>([^<]*)<\/text>/g),
    ].map((m) => m[1] ?? "");
    const assets = assetsOf((await traceOf("haircut")).result);
    expect(assets).to.include.members([address["a"], address["weth"], pair, "native"]);
    for (const token of assets) {
      const name = token === "native" ? "native" : `${token.slice(0, 6)}…${token.slice(-4)}`;
      expect(
        texts.filter((t) => t.includes(name)),
        token,
      ).to.have.length(1);
    }
    const a = address["a"] as string;
    expect(texts.find((t) => t.endsWith("(seed asset)"))).to.include(
      `${a.slice(0, 6)}…${a.slice(-4)}`,
    );
    expect(texts.filter((t) => t.startsWith("WETH "))).to.have.length(1);
    // The thief received the theft: it holds taint, it is no seed source.
    const thief = svg.slice(svg.indexOf(`<title>${address["thief"]}</title>`));
    expect(thief.slice(0, thief.indexOf("</g>"))).to.not.include("seed · sent");
  });

  it("POST /trace of every asset: each edge's asset and conversion steps, each node's taint per asset, as the published schema says", async () => {
    const answer = await traceAnswer(store, chain.url, { token: "all", seed, model: "haircut" });
    expect(answer.summary).to.deep.equal(
      JSON.parse(JSON.stringify(traceSummaryJson(await traceOf("haircut")))),
    );
    const [a, weth, pair] = [address["a"], address["weth"], address["pair"]] as string[];
    const swap = answer.edges.find((e) => e.out?.steps[0]?.action === "swap");
    expect(swap).to.deep.include({ from: address["thief"], to: address["thief"], token: a });
    expect(swap?.out?.steps[0]).to.include({
      venue: "uniswap-v2",
      contract: pair,
      tokenIn: a,
      tokenOut: weth,
    });
    // Every asset the trace names, the seed's first, then the native coin, then the tokens.
    const tokens = answer.assets.map((x) => x.token);
    expect(tokens).to.deep.equal(assetsOf((await traceOf("haircut")).result));
    expect(tokens.slice(0, 2)).to.deep.equal([a, "native"]);
    expect(tokens).to.include.members([weth, pair]);
    expect(answer.assets.find((x) => x.token === weth)).to.deep.equal({
      token: weth,
      decimals: 18,
      symbol: "WETH",
    });
    // The receiver holds ether (and A it bought): its amounts are values in A, summed over its
    // holdings, its assets each holding's own amount and value.
    const holdings = (await traceOf("haircut")).result.holdings.filter(
      (h) => h.address === address["receiver"],
    );
    const receiver = answer.nodes.find((n) => n.address === address["receiver"]);
    expect(receiver?.held).to.equal(holdings.reduce((n, h) => n + h.value, 0n).toString());
    const native = holdings.find((h) => h.token === "native");
    expect(receiver?.assets.find((x) => x.token === "native")).to.deep.include({
      held: native?.amount.toString(),
      value: native?.value.toString(),
    });
  });

  it("poison: the receiver's whole native balance, valued at the swap's rate", async () => {
    const out = await traceOf("poison");
    const native = held(out).get(accountKey("native", address["receiver"] as string));
    const balance = BigInt(
      await rpc.call<string>("eth_getBalance", [address["receiver"], "latest"]),
    );
    expect(native?.amount).to.equal(balance);
    expect(native?.value).to.equal((balance * 600n * E18) / swapOut);
  });

  it("the JSON names the chain, the token and the value of every holding", async () => {
    const json = traceSummaryJson(await traceOf("haircut"));
    expect(json.token).to.equal("all");
    expect(json.seedAsset).to.equal(address["a"]);
    for (const h of json.holdings) {
      expect(h.chainId).to.equal(31337);
      expect(h.token).to.match(/^(native|0x[0-9a-f]{40})$/);
      expect(BigInt(h.value) > 0n).to.equal(true);
    }
  });

  it("veritrace trace with two seeds (--seed and --seeds FILE): one result, each seed's share", async () => {
    const tmp = mkdtempSync(path.join(os.tmpdir(), "veritrace-seeds-"));
    try {
      const file = path.join(tmp, "seeds.txt");
      // The second seed: the trader's whole A balance before its swap (a second victim).
      const head = Number(await rpc.call<string>("eth_blockNumber"));
      writeFileSync(file, `# a second victim\n${address["trader"]}@${head - 1}\n`);
      const db = path.join(tmp, "db");
      const out = await runVeritrace([
        "trace",
        "--rpc",
        chain.url,
        "--seed",
        seed,
        "--seeds",
        file,
        "--seed-asset",
        address["a"] as string,
        "--model",
        "haircut",
        "--db",
        db,
        "--json",
      ]);
      expect(out.code, out.stderr).to.equal(0);
      const json = JSON.parse(out.stdout.trim().split("\n").pop() as string) as {
        seeds: string[];
        total: string;
        holdings: {
          address: string;
          token: string;
          value: string;
          bySeed: { seed: string; value: string }[];
        }[];
      };
      expect(json.seeds).to.deep.equal([seed, `${address["trader"]}@${head - 1}`]);
      // The theft (1,000 A) and the trader's 500 A, swapped for ether it holds now.
      expect(json.total).to.equal((1500n * E18).toString());
      const trader = json.holdings.find((h) => h.address === address["trader"]);
      expect(trader?.token).to.equal("native");
      expect(trader?.bySeed.map((b) => b.seed)).to.deep.equal([`${address["trader"]}@${head - 1}`]);
      for (const h of json.holdings) {
        const shares = h.bySeed.reduce((n, b) => n + BigInt(b.value), 0n);
        expect(shares, h.address).to.equal(BigInt(h.value));
      }
      // A bad line in the file: one line naming it, exit 2, no store.
      writeFileSync(file, `${seed}\nnot-a-seed\n`);
      const bad = await runVeritrace([
        "trace",
        "--rpc",
        chain.url,
        "--seeds",
        file,
        "--model",
        "fifo",
        "--db",
        path.join(tmp, "db2"),
      ]);
      expect(bad.code).to.equal(2);
      expect(bad.stderr.trim().split("\n")).to.have.length(1);
      expect(bad.stderr).to.match(/--seeds .*seeds\.txt, line 2: /);
      const twice = await runVeritrace([
        "trace",
        "--rpc",
        chain.url,
        "--seed",
        seed,
        "--seed",
        seed.toUpperCase().replace("0X", "0x"),
        "--model",
        "fifo",
        "--db",
        path.join(tmp, "db3"),
      ]);
      expect(twice.code).to.equal(2);
      expect(twice.stderr).to.match(/is given twice/);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it("--token A keeps the single-token trace: the pair holds what was swapped into it", async () => {
    const out = await runTrace({
      rpc,
      db: store.db,
      token: address["a"] as string,
      seed,
      model: "haircut",
    });
    // One token knows no conversion: the A paid into the pair stays there as a holding.
    expect(out.result.holdings.map((h) => h.address)).to.include(address["pair"]);
    expect(out.result.token).to.equal(address["a"]);
  });
});
