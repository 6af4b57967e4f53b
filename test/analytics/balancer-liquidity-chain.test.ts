/**
 * Liquidity added to and removed from a Balancer V2 pool with stolen funds, on anvil, from the
 * Vault's and the weighted pool's published bytecode (test/helpers/balancer.ts). The thief, who
 * holds 1,000 clean B, steals 1,000 A and adds 600 A and 400 B to the A/B pool; the pool token
 * (BPT) it gets goes to a fence, who removes the liquidity: A and B paid out by the Vault. The taint
 * follows the pool token and comes back with the tokens removed (docs/taint-models.md, "Balancer
 * V2 liquidity"); the Vault, the pool, its first liquidity provider and a later trader stay clean.
 * Amounts are computed by hand from each model's rule.
 */
import { expect } from "chai";
import { Contract, MaxUint256, type Signer } from "ethers";
import type { LocalChain } from "../../scripts/lib/local-chain.js";
import type { RpcClient } from "../../src/chain/rpc.js";
import { openMemoryDatabase } from "../../src/db/db.js";
import { Store } from "../../src/db/store.js";
import { accountKey, type TaintModelName } from "../../src/analytics/funds/taint.js";
import { balanceOf, call, DEADLINE, E18, send, startDefiChain } from "../helpers/defi.js";
import { addressesIn, traceOnce } from "../helpers/asset-traces.js";
import { lazyTrace } from "../helpers/lazy-chains.js";
import { heldAmounts } from "../helpers/taint-fixtures.js";
import {
  createWeightedPool,
  deployBalancer,
  exitPool,
  joinPool,
  SwapKind,
} from "../helpers/balancer.js";

const BPT_ABI = [
  "function transfer(address to, uint256 amount) returns (bool)",
  "function balanceOf(address who) view returns (uint256)",
];

describe("Balancer V2 liquidity with stolen funds: the taint follows the pool token (anvil)", function () {
  this.timeout(300_000);
  let chain: LocalChain;
  let rpc: RpcClient;
  let store: Store;
  const address: Record<string, string> = {};
  let seed = "";
  /** The pool token the thief got, and what the fence's removal paid it. */
  let minted = 0n;
  let outA = 0n;
  let outB = 0n;

  before(async function () {
    const node = await startDefiChain();
    ({ chain, rpc } = node);
    const { world } = node;
    const lp = node.deployer;
    address["lp"] = (await lp.getAddress()).toLowerCase();
    const [a, b, weth] = await Promise.all(
      [world.tokenA, world.tokenB, world.weth].map(async (t) =>
        (await t.getAddress()).toLowerCase(),
      ),
    );
    Object.assign(address, { a, b });
    const balancer = await deployBalancer(lp, weth as string);
    const vault = (await balancer.vault.getAddress()).toLowerCase();
    address["vault"] = vault;
    for (const t of [world.tokenA, world.tokenB])
      await send(call(t, "approve", lp, vault, MaxUint256));
    const pool = await createWeightedPool(balancer, lp, [
      { address: a as string, amount: 10_000n * E18 },
      { address: b as string, amount: 10_000n * E18 },
    ]);
    address["pool"] = pool.address;

    const [victim, thief, fence, trader] = await Promise.all([
      node.wallet(),
      node.wallet(),
      node.wallet(),
      node.wallet(),
    ]);
    Object.assign(address, {
      thief: thief.address.toLowerCase(),
      fence: fence.address.toLowerCase(),
      trader: trader.address.toLowerCase(),
    });
    await send(call(world.tokenB, "transfer", lp, thief.address, 1000n * E18));
    await send(call(world.tokenA, "transfer", lp, victim.address, 1000n * E18));
    await send(call(world.tokenA, "transfer", lp, trader.address, 100n * E18));
    seed = await send(call(world.tokenA, "transfer", victim, thief.address, 1000n * E18));
    for (const [t, who] of [
      [world.tokenA, thief],
      [world.tokenB, thief],
      [world.tokenA, trader],
    ] as const)
      await send(call(t, "approve", who, vault, MaxUint256));

    // 600 stolen A and 400 clean B into the pool; the pool token to the thief, then the fence.
    await joinPool(
      balancer,
      pool,
      thief,
      [
        { address: a as string, amount: 600n * E18 },
        { address: b as string, amount: 400n * E18 },
      ],
      thief.address,
    );
    const bpt = new Contract(pool.address, BPT_ABI, thief);
    minted = (await bpt.getFunction("balanceOf")(thief.address)) as bigint;
    await send(call(bpt, "transfer", thief, fence.address, minted));
    // The fence removes it all: A and B paid out by the Vault.
    await exitPool(
      balancer,
      pool,
      fence as Signer,
      [a as string, b as string],
      minted,
      fence.address,
    );
    outA = await balanceOf(world.tokenA, fence.address);
    outB = await balanceOf(world.tokenB, fence.address);
    // A later trader, clean, through the pool the stolen A went into.
    await send(
      call(
        balancer.vault,
        "swap",
        trader,
        {
          poolId: pool.poolId,
          kind: SwapKind.GivenIn,
          assetIn: a,
          assetOut: b,
          amount: 100n * E18,
          userData: "0x",
        },
        {
          sender: trader.address,
          fromInternalBalance: false,
          recipient: trader.address,
          toInternalBalance: false,
        },
        0n,
        DEADLINE,
      ),
    );
    store = await Store.open(await openMemoryDatabase());
  });

  after(async function () {
    await store?.close();
    await chain?.stop();
  });

  const traceOf = traceOnce(() => ({ rpc, db: store.db, seed }));
  const held = async (model: TaintModelName) => heldAmounts((await traceOf(model)).result.holdings);
  const key = (token: string, role: string) =>
    accountKey(address[token] ?? token, address[role] as string);
  /**
   * The legs in the Vault's order (its tokens sorted by address): each token, its share of the pool
   * token (the first the larger half), and what the removal paid of it.
   */
  const legs = () => {
    const [first, second] =
      (address["a"] as string) < (address["b"] as string)
        ? (["a", "b"] as const)
        : (["b", "a"] as const);
    const out = { a: outA, b: outB };
    return [
      { token: first, share: minted - minted / 2n, out: out[first] },
      { token: second, share: minted / 2n, out: out[second] },
    ] as const;
  };
  /** The leg of `token` ("a" or "b"). */
  const leg = (token: string) =>
    legs().find((l) => l.token === token) as ReturnType<typeof legs>[0];

  it("the join is a conversion per token into the pool token, the removal one per token out of it, each naming the Vault and the pool", async () => {
    const r = (await traceOf("poison")).result;
    const { vault, pool, a, b } = address as Record<string, string>;
    const steps = r.edges
      .filter((e) => e.out?.steps[0]?.venue === "balancer-v2")
      .map((e) => {
        const s = e.out?.steps[0];
        return [e.from, e.to, s?.action, s?.contract, s?.pool, s?.tokenIn, s?.tokenOut];
      });
    expect(steps).to.deep.include.members([
      [address["thief"], address["thief"], "add-liquidity", vault, pool, a, pool],
      [address["fence"], address["fence"], "remove-liquidity", vault, pool, pool, a],
      [address["fence"], address["fence"], "remove-liquidity", vault, pool, pool, b],
    ]);
    // The clean B the thief paid in carries no taint: not an edge of the trace.
    expect(steps.filter((x) => x[2] === "add-liquidity")).to.have.length(1);
    const removal = r.edges.filter((e) => e.out?.steps[0]?.action === "remove-liquidity");
    expect(removal.map((e) => [e.amount, e.out?.amount])).to.deep.equal(
      legs().map((l) => [l.share, l.out]),
    );
  });

  it("haircut: the stolen A buys its share of the pool token whole; the removal hands it back ⌊x·t/b⌋, then ⌊c·y/x⌋", async () => {
    // The A leg's share of the pool token is tainted whole, the B leg's clean. The fence holds
    // `minted` pool tokens, of which that share is tainted; the removal's first leg takes
    // ⌊x·t/b⌋ of the taint, the second the rest; each converts at its rate, ⌊c·y/x⌋.
    const [first, second] = legs();
    const tainted = leg("a").share;
    const taken = { [first.token]: (first.share * tainted) / minted } as Record<string, bigint>;
    taken[second.token] = tainted - (taken[first.token] as bigint);
    const h = await held("haircut");
    expect(h[key("a", "thief")]?.[0]).to.equal(400n * E18);
    for (const l of legs())
      expect(h[key(l.token, "fence")]?.[0], l.token).to.equal(
        ((taken[l.token] as bigint) * l.out) / l.share,
      );
    expect(h[key("pool", "fence")]).to.equal(undefined);
    expect(h[key("b", "thief")]).to.equal(undefined);
  });

  it("FIFO: each leg's share of the pool token is one lot, so the A removed is tainted whole and the B clean", async () => {
    const h = await held("fifo");
    expect(h[key("a", "thief")]?.[0]).to.equal(400n * E18);
    expect(h[key("a", "fence")]?.[0]).to.equal(outA);
    expect(h[key("b", "fence")]).to.equal(undefined);
  });

  it("poison: everything the fence removed is tainted whole", async () => {
    const h = await held("poison");
    expect(h[key("a", "fence")]?.[0]).to.equal(outA);
    expect(h[key("b", "fence")]?.[0]).to.equal(outB);
  });

  for (const model of ["haircut", "fifo", "poison"] as const)
    it(`${model}: the Vault, the pool, its first liquidity provider and a later trader stay clean; no liquidity event is skipped`, async () => {
      const out = await traceOf(model);
      const touched = addressesIn(out.result);
      for (const role of ["vault", "pool", "lp", "trader"])
        expect(touched.has(address[role] as string), role).to.equal(false);
      expect(out.skippedConversions).to.deep.equal([]);
    });

  for (const model of ["haircut", "fifo"] as const)
    it(`${model}: what is held and the buckets are worth exactly the theft`, async () => {
      const r = (await traceOf(model)).result;
      const values =
        r.holdings.reduce((n, x) => n + x.value, 0n) +
        r.exits.reduce((n, x) => n + x.value, 0n) +
        r.beyondHopLimit +
        r.belowMinimum;
      expect(values).to.equal(1000n * E18);
    });

  it("read lazily (the histories the taint reaches), the same holdings", async () => {
    const lazyStore = await Store.open(await openMemoryDatabase());
    try {
      for (const model of ["haircut", "fifo"] as const) {
        const lazy = await lazyTrace({ rpc, seed, model }, lazyStore);
        const rows = (x: { holdings: { token: string; address: string; amount: bigint }[] }) =>
          x.holdings.map((h) => [h.token, h.address, h.amount]).sort();
        expect(rows(lazy.result), model).to.deep.equal(rows((await traceOf(model)).result));
      }
    } finally {
      await lazyStore.close();
    }
  });
});
