/**
 * A trace of every asset through the Balancer V2 Vault on anvil, from its published bytecode
 * (test/helpers/balancer.ts): weighted pools A/B, B/WETH and A/WETH, funded by a liquidity
 * provider. The thief, who held 500 clean A before it stole 1,000 A, swaps through the Vault: a
 * single swap, a multi-hop batch swap (given in, then given out), a swap paid out in ether (the Vault
 * unwraps WETH), and the receiver of that ether swaps it back in (the Vault wraps it, refunding the
 * excess). The Vault emits its `Swap` events before it settles the call's net amounts, and a
 * multi-hop batch moves no intermediate token: each call is one move from payer to recipient. The
 * Vault, the pools, their liquidity provider and a later trader stay clean; every amount is
 * computed by hand from the rule of each model (docs/taint-models.md, "Conversions").
 */
import { expect } from "chai";
import { MaxUint256, Wallet, type JsonRpcProvider, type Signer } from "ethers";
import type { LocalChain } from "../../scripts/lib/local-chain.js";
import type { RpcClient } from "../../src/chain/rpc.js";
import { openMemoryDatabase } from "../../src/db/db.js";
import { Store } from "../../src/db/store.js";
import { accountKey, type TaintModelName } from "../../src/analytics/funds/taint.js";
import {
  balanceOf,
  call,
  DEADLINE,
  E18,
  send,
  startDefiChain,
  type DefiWorld,
} from "../helpers/defi.js";
import { mergeFlows } from "../../src/analytics/funds/flow.js";
import { addressesIn, traceOnce } from "../helpers/asset-traces.js";
import { addressesRead, lazyTrace } from "../helpers/lazy-chains.js";
import { heldAmounts } from "../helpers/taint-fixtures.js";
import {
  createWeightedPool,
  deployBalancer,
  ETH_ASSET,
  SwapKind,
  type BalancerWorld,
} from "../helpers/balancer.js";

describe("a trace of every asset through the Balancer V2 Vault (anvil)", function () {
  this.timeout(300_000);
  let chain: LocalChain;
  let provider: JsonRpcProvider;
  let rpc: RpcClient;
  let store: Store;
  let defi: DefiWorld;
  let balancer: BalancerWorld;
  const address: Record<string, string> = {};
  let seed = "";
  /** What each swap paid out, read from the chain. */
  const got: Record<"single" | "batch" | "eth" | "givenOut" | "ethIn", bigint> = {} as never;
  /** The A the thief spent on the batch given out (the pools priced it). */
  let givenOutIn = 0n;
  /** The receiver's gas for its swap, paid in the native coin it holds. */
  let receiverFee = 0n;

  const nativeOf = async (who: string): Promise<bigint> =>
    BigInt(await rpc.call<string>("eth_getBalance", [who, "latest"]));

  before(async function () {
    const node = await startDefiChain();
    ({ chain, provider, rpc, world: defi } = node);
    const lp = node.deployer;
    address["lp"] = (await lp.getAddress()).toLowerCase();
    const [a, b, weth] = await Promise.all(
      [defi.tokenA, defi.tokenB, defi.weth].map(async (t) => (await t.getAddress()).toLowerCase()),
    );
    Object.assign(address, { a, b, weth });
    balancer = await deployBalancer(lp, weth as string);
    const vault = (await balancer.vault.getAddress()).toLowerCase();
    address["vault"] = vault;
    for (const t of [defi.weth, defi.tokenA, defi.tokenB])
      await send(call(t, "approve", lp, vault, MaxUint256));
    await send(call(defi.weth, "deposit", lp, { value: 200n * E18 }));
    const pool = async (x: string, nx: bigint, y: string, ny: bigint) =>
      createWeightedPool(balancer, lp, [
        { address: x, amount: nx },
        { address: y, amount: ny },
      ]);
    const ab = await pool(a as string, 10_000n * E18, b as string, 10_000n * E18);
    const bWeth = await pool(b as string, 10_000n * E18, weth as string, 100n * E18);
    const aWeth = await pool(a as string, 10_000n * E18, weth as string, 100n * E18);
    Object.assign(address, { ab: ab.address, bWeth: bWeth.address, aWeth: aWeth.address });

    const [victim, thief, trader] = [await node.wallet(), await node.wallet(), await node.wallet()];
    address["thief"] = thief.address.toLowerCase();
    address["trader"] = trader.address.toLowerCase();
    // Fresh addresses that only receive: their balances are what the swaps paid them.
    for (const role of ["fence", "receiver", "buyer"])
      address[role] = Wallet.createRandom().address.toLowerCase();
    await send(call(defi.tokenA, "transfer", lp, thief.address, 500n * E18));
    await send(call(defi.tokenA, "transfer", lp, victim.address, 1000n * E18));
    await send(call(defi.tokenA, "transfer", lp, trader.address, 100n * E18));
    seed = await send(call(defi.tokenA, "transfer", victim, thief.address, 1000n * E18));
    for (const w of [thief, trader]) await send(call(defi.tokenA, "approve", w, vault, MaxUint256));

    const funds = (sender: string, recipient: string) => ({
      sender,
      fromInternalBalance: false,
      recipient,
      toInternalBalance: false,
    });
    const single = (poolId: string, assetIn: string, assetOut: string, amount: bigint) => ({
      poolId,
      kind: SwapKind.GivenIn,
      assetIn,
      assetOut,
      amount,
      userData: "0x",
    });
    const step = (poolId: string, assetInIndex: number, assetOutIndex: number, amount: bigint) => ({
      poolId,
      assetInIndex,
      assetOutIndex,
      amount,
      userData: "0x",
    });
    const thiefFunds = (to: string) => funds(thief.address, to);
    /** A swap in one pool at any price, paid by `signer` to `to` (with `value` of ether sent). */
    const swapOne = async (
      signer: Signer,
      swap: ReturnType<typeof single>,
      to: string,
      value?: bigint,
    ) =>
      send(
        call(
          balancer.vault,
          "swap",
          signer,
          swap,
          funds(await signer.getAddress(), to),
          0n,
          DEADLINE,
          ...(value === undefined ? [] : [{ value }]),
        ),
      );

    // 400 A for B, to the thief.
    await swapOne(thief, single(ab.poolId, a as string, b as string, 400n * E18), thief.address);
    got.single = await balanceOf(defi.tokenB, thief.address);
    // A batch swap given in: 300 A → B → WETH, to a fence (no B moves at all).
    await send(
      call(
        balancer.vault,
        "batchSwap",
        thief,
        SwapKind.GivenIn,
        [step(ab.poolId, 0, 1, 300n * E18), step(bWeth.poolId, 1, 2, 0n)],
        [a, b, weth],
        thiefFunds(address["fence"] as string),
        [300n * E18, 0n, 0n],
        DEADLINE,
      ),
    );
    got.batch = await balanceOf(defi.weth, address["fence"] as string);
    // 200 A for ether: the Vault unwraps the WETH the pool pays and sends the ether on.
    await swapOne(
      thief,
      single(aWeth.poolId, a as string, ETH_ASSET, 200n * E18),
      address["receiver"] as string,
    );
    got.eth = await nativeOf(address["receiver"] as string);
    // A batch swap given out: exactly half a WETH, its hops listed last first (B → WETH, A → B).
    const before = await balanceOf(defi.tokenA, thief.address);
    await send(
      call(
        balancer.vault,
        "batchSwap",
        thief,
        SwapKind.GivenOut,
        [step(bWeth.poolId, 1, 2, E18 / 2n), step(ab.poolId, 0, 1, 0n)],
        [a, b, weth],
        thiefFunds(address["buyer"] as string),
        [100n * E18, 0n, 0n],
        DEADLINE,
      ),
    );
    givenOutIn = before - (await balanceOf(defi.tokenA, thief.address));
    got.givenOut = await balanceOf(defi.weth, address["buyer"] as string);
    // The receiver swaps 1 ether of what it got for B, sending 1.5 (the Vault refunds 0.5).
    await rpc.call("anvil_impersonateAccount", [address["receiver"]]);
    const receiver = await provider.getSigner(address["receiver"]);
    const ethIn = await swapOne(
      receiver,
      single(bWeth.poolId, ETH_ASSET, b as string, E18),
      address["receiver"] as string,
      (3n * E18) / 2n,
    );
    const receipt = await provider.getTransactionReceipt(ethIn);
    receiverFee = (receipt?.gasUsed ?? 0n) * (receipt?.gasPrice ?? 0n);
    got.ethIn = await balanceOf(defi.tokenB, address["receiver"] as string);
    // A later trader, clean, through the pool that took the stolen A.
    await swapOne(
      trader,
      single(aWeth.poolId, a as string, weth as string, 100n * E18),
      trader.address,
    );
    store = await Store.open(await openMemoryDatabase());
  });

  after(async function () {
    await store?.close();
    await chain?.stop();
  });

  const traceOf = traceOnce(() => ({ rpc, db: store.db, seed }));
  /** Each holding's [amount, value], by asset and address. */
  const held = async (model: TaintModelName) => heldAmounts((await traceOf(model)).result.holdings);
  const key = (token: string, role: string) =>
    accountKey(address[token] ?? token, address[role] as string);

  /** Haircut: the thief's taint taken by each of its swaps, ⌊x·t/b⌋, and what is left. */
  const haircutTaken = () => {
    // The thief holds 1,500 A of which 1,000 are tainted; it spends 400, 300, 200 and the A the
    // batch given out took, in that order.
    let b = 1500n * E18;
    let t = 1000n * E18;
    const c = [400n * E18, 300n * E18, 200n * E18, givenOutIn].map((x) => {
      const taken = (x * t) / b;
      t -= taken;
      b -= x;
      return taken;
    }) as [bigint, bigint, bigint, bigint];
    return { c, t };
  };
  /** Haircut: the taint of the receiver's gas, its share of the ether the Vault paid it. */
  const receiverFeeTaint = () => {
    const taint = (haircutTaken().c[2] * got.eth) / (200n * E18);
    return (receiverFee * taint) / got.eth;
  };

  it("haircut: each swap takes ⌊x·t/b⌋ of the thief's A and converts it at the swap's rate, ⌊c·y/x⌋", async () => {
    const { c, t } = haircutTaken();
    // The receiver: its ether is all it holds; the fee, then the 1 ether swapped, take their share.
    const receiverTaint = (c[2] * got.eth) / (200n * E18);
    const fee = receiverFeeTaint();
    const swapped = (E18 * (receiverTaint - fee)) / (got.eth - receiverFee);
    const h = await held("haircut");
    expect(h[key("a", "thief")]?.[0]).to.equal(t);
    expect(h[key("b", "thief")]?.[0]).to.equal((c[0] * got.single) / (400n * E18));
    expect(h[key("weth", "fence")]?.[0]).to.equal((c[1] * got.batch) / (300n * E18));
    expect(h[key("weth", "buyer")]?.[0]).to.equal((c[3] * got.givenOut) / givenOutIn);
    expect(h[key("b", "receiver")]?.[0]).to.equal((swapped * got.ethIn) / E18);
    expect(h[key("native", "receiver")]?.[0]).to.equal(receiverTaint - fee - swapped);
    // A conversion carries the value of the taint it moves: the thief's swaps, each c in A.
    expect(h[key("b", "thief")]?.[1]).to.equal(c[0]);
    expect(h[key("weth", "fence")]?.[1]).to.equal(c[1]);
    expect(h[key("weth", "buyer")]?.[1]).to.equal(c[3]);
  });

  it("FIFO: the clean 500 A leave first; what the stolen lots bought is tainted whole", async () => {
    // 400 A clean, then 100 clean and 200 stolen (the first piece of the output is clean), then
    // stolen A only.
    const h = await held("fifo");
    expect(h[key("a", "thief")]).to.deep.equal([600n * E18 - givenOutIn, 600n * E18 - givenOutIn]);
    expect(h[key("b", "thief")]).to.equal(undefined);
    expect(h[key("weth", "fence")]).to.deep.equal([
      got.batch - (got.batch * 100n) / 300n,
      200n * E18,
    ]);
    expect(h[key("weth", "buyer")]).to.deep.equal([got.givenOut, givenOutIn]);
    // The receiver's ether was tainted whole: what is left of it, and the B it bought.
    expect(h[key("native", "receiver")]?.[0]).to.equal(
      await nativeOf(address["receiver"] as string),
    );
    expect(h[key("b", "receiver")]?.[0]).to.equal(got.ethIn);
  });

  it("poison: every output of a tainted payer is tainted whole, the balances the chain shows", async () => {
    const h = await held("poison");
    expect(h[key("a", "thief")]?.[0]).to.equal(
      await balanceOf(defi.tokenA, address["thief"] as string),
    );
    expect(h[key("b", "thief")]?.[0]).to.equal(got.single);
    expect(h[key("weth", "fence")]?.[0]).to.equal(got.batch);
    expect(h[key("weth", "buyer")]?.[0]).to.equal(got.givenOut);
    expect(h[key("native", "receiver")]?.[0]).to.equal(
      await nativeOf(address["receiver"] as string),
    );
    expect(h[key("b", "receiver")]?.[0]).to.equal(got.ethIn);
  });

  for (const model of ["haircut", "fifo"] as const)
    it(`${model}: the holdings, the receiver's fee and the buckets are worth exactly the theft`, async () => {
      const r = (await traceOf(model)).result;
      expect(r.seedAmount).to.equal(1000n * E18);
      const values =
        r.holdings.reduce((n, x) => n + x.value, 0n) +
        r.exits.reduce((n, x) => n + x.value, 0n) +
        r.beyondHopLimit +
        r.belowMinimum;
      expect(values).to.equal(1000n * E18);
      // The one exit: the gas the receiver paid from its tainted ether (FIFO: all of it).
      expect(r.exits.map((e) => [e.kind, e.amount])).to.deep.equal([
        ["fee", model === "fifo" ? receiverFee : receiverFeeTaint()],
      ]);
    });

  for (const model of ["haircut", "fifo", "poison"] as const)
    it(`${model}: the Vault, the pools, WETH, the liquidity provider and a later trader stay clean; every Vault swap is a move`, async () => {
      const out = await traceOf(model);
      const touched = addressesIn(out.result);
      for (const role of ["vault", "ab", "bWeth", "aWeth", "weth", "lp", "trader"])
        expect(touched.has(address[role] as string), role).to.equal(false);
      expect(out.skippedConversions).to.deep.equal([]);
    });

  it("each Vault call is one edge: the batch's hops in route order, each naming its pool, the ether paid out through the unwrap", async () => {
    const r = (await traceOf("poison")).result;
    const steps = (to: string, token: string) =>
      r.edges
        .find((e) => e.to === address[to] && e.out?.token === (address[token] ?? token))
        ?.out?.steps.map((s) => [s.venue, s.action, s.contract, s.pool, s.tokenIn, s.tokenOut]);
    const { vault, a, b, weth, ab, bWeth, aWeth } = address as Record<string, string>;
    expect(steps("thief", "b")).to.deep.equal([["balancer-v2", "swap", vault, ab, a, b]]);
    const route = [
      ["balancer-v2", "swap", vault, ab, a, b],
      ["balancer-v2", "swap", vault, bWeth, b, weth],
    ];
    expect(steps("fence", "weth")).to.deep.equal(route);
    expect(steps("buyer", "weth")).to.deep.equal(route);
    expect(steps("receiver", "native")).to.deep.equal([
      ["balancer-v2", "swap", vault, aWeth, a, weth],
      ["weth", "unwrap", weth, undefined, weth, "native"],
    ]);
    expect(steps("receiver", "b")).to.deep.equal([
      ["weth", "wrap", weth, undefined, "native", weth],
      ["balancer-v2", "swap", vault, bWeth, weth, b],
    ]);
    // The flow picture's conversion nodes are the pools, never the Vault they all share.
    const pictured = mergeFlows(r.edges).conversions;
    expect([...pictured.values()].map((c) => c.contract)).to.not.include(vault);
    for (const pool of [ab, bWeth, aWeth])
      expect(pictured.get(`${pool}/swap`), pool).to.include({
        contract: pool,
        venue: "balancer-v2",
      });
    // The receiver paid 1 ether, not the 1.5 it sent: the refund is part of the move.
    const ethIn = r.edges.find((e) => e.out?.steps[0]?.action === "wrap");
    expect(ethIn).to.include({ from: address["receiver"], token: "native", amount: E18 });
  });

  for (const model of ["haircut", "fifo", "poison"] as const)
    it(`${model}: read lazily (the histories the taint reaches), the same answer; the Vault's history is never read`, async () => {
      const lazyStore = await Store.open(await openMemoryDatabase());
      const lazy = await lazyTrace({ rpc, seed, model }, lazyStore);
      const stream = (await traceOf(model)).result;
      const answer = (r: typeof stream) => ({
        holdings: r.holdings.map((h) => [h.token, h.address, h.amount, h.value]),
        exits: r.exits.map((e) => [e.token, e.address, e.kind, e.amount, e.value]),
        edges: r.edges.map((e) => [e.txHash, e.from, e.to, e.token, e.amount, e.out?.amount]),
      });
      expect(answer(lazy.result)).to.deep.equal(answer(stream));
      expect(lazy.skippedConversions).to.deep.equal([]);
      const read = await addressesRead(lazyStore.db);
      for (const role of ["vault", "ab", "bWeth", "aWeth", "weth"])
        expect(read.has(address[role] as string), role).to.equal(false);
      expect(read.has(address["thief"] as string)).to.equal(true);
      await lazyStore.close();
    });
});
