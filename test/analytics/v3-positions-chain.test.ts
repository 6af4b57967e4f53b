/**
 * Uniswap V3 positions in a trace of every asset, on anvil with the published bytecode of the
 * pool (`@uniswap/v3-core`) and the NonfungiblePositionManager (`@uniswap/v3-periphery`): the
 * thief adds stolen tokens (and clean ones) as liquidity, hands the position (its ERC-721) to an
 * accomplice, clean traders swap through the pool (the position earns fees), and the accomplice
 * removes the liquidity and collects it in a later transaction. The taint follows the position and
 * comes back to the collector, exactly as docs/taint-models.md ("Uniswap V3 positions") works it
 * out; the pool, the other liquidity providers and the traders stay clean, and a position added
 * with clean funds stays clean.
 */
import { expect } from "chai";
import { Wallet, type Contract, type JsonRpcProvider, type Signer } from "ethers";
import type { LocalChain } from "../../scripts/lib/local-chain.js";
import type { RpcClient } from "../../src/chain/rpc.js";
import { openMemoryDatabase } from "../../src/db/db.js";
import { Store } from "../../src/db/store.js";
import { runTrace, type RunTraceOutput } from "../../src/analytics/funds/run.js";
import { accountKey, type TaintModelName } from "../../src/analytics/funds/taint.js";
import { positionAsset } from "../../src/analytics/funds/types.js";
import {
  approveAll,
  call,
  createV3Pool,
  DEADLINE,
  E18,
  send,
  startDefiChain,
  v3MintParams,
  v3SwapParams,
  type DefiChain,
  type DefiWorld,
} from "../helpers/defi.js";
import { addressesIn, drawnTrace, traceAnswer, traceOnce } from "../helpers/asset-traces.js";
import { heldAmounts } from "../helpers/taint-fixtures.js";
import { CountingRpc, crossAnswer, lazyTrace } from "../helpers/lazy-chains.js";

const MAX128 = 2n ** 128n - 1n;

/** The four amounts of a position manager's event: id, liquidity (or recipient), amount0, amount1. */
interface Amounts {
  tokenId: bigint;
  liquidity: bigint;
  amount0: bigint;
  amount1: bigint;
}

describe("a trace of every asset through a Uniswap V3 position (anvil)", function () {
  this.timeout(300_000);
  let node: DefiChain;
  let chain: LocalChain;
  let provider: JsonRpcProvider;
  let rpc: RpcClient;
  let store: Store;
  let world: DefiWorld;
  let deployer: Signer;
  const w: Record<"victim" | "thief" | "accomplice" | "trader" | "lp", Wallet> = {} as never;
  const at: Record<string, string> = {};
  let x: Contract; // the stolen token: the pool's token0
  let y: Contract; // the clean one: token1
  let seed = "";
  let added: Amounts;
  let removed: Amounts;
  let collected: Amounts;
  let clean: Amounts;
  let manager = "";

  /** The named event of the position manager in a transaction's receipt. */
  async function eventOf(hash: string, name: string): Promise<Amounts> {
    const receipt = await provider.getTransactionReceipt(hash);
    for (const log of receipt?.logs ?? []) {
      if (log.address.toLowerCase() !== manager) continue;
      const parsed = world.v3Positions.interface.parseLog(log);
      if (parsed?.name !== name) continue;
      const [tokenId, second, amount0, amount1] = parsed.args as unknown as [
        bigint,
        bigint | string,
        bigint,
        bigint,
      ];
      return {
        tokenId,
        liquidity: typeof second === "bigint" ? second : 0n,
        amount0,
        amount1,
      };
    }
    throw new Error(`no ${name} in ${hash}`);
  }

  const mint = (owner: Wallet, amount: bigint) =>
    send(
      call(
        world.v3Positions,
        "mint",
        owner,
        v3MintParams(at["x"] as string, at["y"] as string, amount, owner.address),
      ),
    );
  const removeAll = async (owner: Wallet, a: Amounts) => {
    const decreased = await send(
      call(world.v3Positions, "decreaseLiquidity", owner, {
        tokenId: a.tokenId,
        liquidity: a.liquidity,
        amount0Min: 0,
        amount1Min: 0,
        deadline: DEADLINE,
      }),
    );
    const collectedIn = await send(
      call(world.v3Positions, "collect", owner, {
        tokenId: a.tokenId,
        recipient: owner.address,
        amount0Max: MAX128,
        amount1Max: MAX128,
      }),
    );
    return { decreased, collectedIn };
  };
  const swap = (trader: Wallet, tokenIn: string, tokenOut: string, amountIn: bigint) =>
    send(
      call(
        world.v3Router,
        "exactInputSingle",
        trader,
        v3SwapParams(tokenIn, tokenOut, amountIn, trader.address),
      ),
    );

  before(async function () {
    node = await startDefiChain();
    ({ chain, provider, rpc, deployer, world } = node);
    manager = (await world.v3Positions.getAddress()).toLowerCase();
    for (const role of ["victim", "thief", "accomplice", "trader", "lp"] as const) {
      const wallet = await node.wallet();
      w[role] = wallet;
      at[role] = wallet.address.toLowerCase();
    }
    const [a, b] = [world.tokenA, world.tokenB];
    const [aAt, bAt] = [(await a.getAddress()).toLowerCase(), (await b.getAddress()).toLowerCase()];
    [x, y] = aAt < bAt ? [a, b] : [b, a];
    at["x"] = aAt < bAt ? aAt : bAt;
    at["y"] = aAt < bAt ? bAt : aAt;
    // The pool at 1:1, its first liquidity provider the deployer.
    at["pool"] = await createV3Pool(world, deployer, at["x"], at["y"]);
    at["deployer"] = (await deployer.getAddress()).toLowerCase();
    // Clean funds: the thief's 500 X and 600 Y, the victim's 1,000 X, the trader's and the other
    // provider's.
    await send(call(x, "transfer", deployer, at["thief"], 500n * E18));
    await send(call(y, "transfer", deployer, at["thief"], 600n * E18));
    await send(call(x, "transfer", deployer, at["victim"], 1000n * E18));
    for (const role of ["trader", "lp"] as const) {
      await send(call(x, "transfer", deployer, at[role], 2000n * E18));
      await send(call(y, "transfer", deployer, at[role], 2000n * E18));
    }
    for (const role of ["thief", "accomplice", "lp"] as const)
      await approveAll(world, w[role], manager);
    await approveAll(world, w.trader, await world.v3Router.getAddress());

    // The theft; the thief's 600 X and 600 Y become a position, handed to the accomplice.
    seed = await send(call(x, "transfer", w.victim, at["thief"], 1000n * E18));
    added = await eventOf(await mint(w.thief, 600n * E18), "IncreaseLiquidity");
    await send(
      call(
        world.v3Positions,
        "transferFrom",
        w.thief,
        at["thief"],
        at["accomplice"],
        added.tokenId,
      ),
    );
    // A clean position; clean swaps both ways (fees for every position in range).
    clean = await eventOf(await mint(w.lp, 1000n * E18), "IncreaseLiquidity");
    await swap(w.trader, at["x"] as string, at["y"] as string, 1000n * E18);
    await swap(w.trader, at["y"] as string, at["x"] as string, 1000n * E18);
    // The accomplice removes it all, then collects in a transaction of its own; so does the other
    // provider; a later trader swaps.
    const out = await removeAll(w.accomplice, added);
    removed = await eventOf(out.decreased, "DecreaseLiquidity");
    collected = await eventOf(out.collectedIn, "Collect");
    await removeAll(w.lp, clean);
    await swap(w.trader, at["x"] as string, at["y"] as string, 100n * E18);
    store = await Store.open(await openMemoryDatabase());
  });

  after(async function () {
    await store?.close();
    await chain?.stop();
  });

  const traceOf = traceOnce(() => ({ rpc, db: store.db, seed }));
  const holdingsOf = (out: RunTraceOutput) => heldAmounts(out.result.holdings);

  it("the chain did what the test says: fees were earned on top of what was removed", () => {
    expect(added.amount0 > 500n * E18 && added.amount1 > 0n).to.equal(true);
    expect(removed.liquidity).to.equal(added.liquidity);
    expect(collected.amount0 > removed.amount0).to.equal(true);
    expect(collected.amount1 > removed.amount1).to.equal(true);
  });

  it("haircut: the taint comes back to the accomplice as worked out by hand, conserved", async () => {
    const out = await traceOf("haircut");
    const L = added.liquidity;
    const [L0, L1] = [L - L / 2n, L / 2n];
    // The thief's X: 1,500, 1,000 tainted. The mint takes a0 X: c tainted, which buy
    // floor(c·L0/a0) of the position (the clean Y buys the rest, untainted).
    const c = (added.amount0 * 1000n * E18) / (1500n * E18);
    const T = (c * L0) / added.amount0;
    // The position (T of L tainted) goes to the accomplice whole; the X half removed takes
    // floor(L0·T/L), the Y half the rest of T; each becomes the tokens owed, collected first.
    const c0 = (L0 * T) / L;
    const x0 = (c0 * removed.amount0) / L0;
    const y1 = ((T - c0) * removed.amount1) / L1;
    const v0 = (c * c0) / T;
    expect(holdingsOf(out)).to.deep.equal({
      [accountKey(at["x"] as string, at["thief"] as string)]: [1000n * E18 - c, 1000n * E18 - c],
      [accountKey(at["x"] as string, at["accomplice"] as string)]: [x0, v0],
      [accountKey(at["y"] as string, at["accomplice"] as string)]: [y1, c - v0],
    });
    expect(out.result.total).to.equal(1000n * E18);
    expect(out.skippedConversions).to.deep.equal([]);
  });

  it("FIFO: the tainted lot of the position comes back as the X removed, the fees after it clean", async () => {
    const out = await traceOf("fifo");
    const L0 = added.liquidity - added.liquidity / 2n;
    // The thief's X lots: [500 clean][1,000 tainted]. The mint takes [500 clean][a0 − 500
    // tainted], which buy [p clean][L0 − p tainted] of the position; the Y buys L1, clean.
    const p = (L0 * 500n * E18) / added.amount0;
    // Removed: the first L0 units ([p clean][L0 − p tainted]) are the X owed; collected first.
    const x0 = removed.amount0 - (removed.amount0 * p) / L0;
    const stolenIn = added.amount0 - 500n * E18;
    expect(holdingsOf(out)).to.deep.equal({
      [accountKey(at["x"] as string, at["thief"] as string)]: [
        1000n * E18 - stolenIn,
        1000n * E18 - stolenIn,
      ],
      [accountKey(at["x"] as string, at["accomplice"] as string)]: [x0, stolenIn],
    });
    expect(out.result.total).to.equal(1000n * E18);
  });

  it("poison: the accomplice's whole balances of both tokens", async () => {
    const out = await traceOf("poison");
    const h = holdingsOf(out);
    const accomplice = at["accomplice"] as string;
    expect(h[accountKey(at["x"] as string, accomplice)]?.[0]).to.equal(collected.amount0);
    expect(h[accountKey(at["y"] as string, accomplice)]?.[0]).to.equal(collected.amount1);
    expect(await x.getFunction("balanceOf")(accomplice)).to.equal(collected.amount0);
  });

  for (const model of ["haircut", "fifo", "poison"] as const)
    it(`${model}: the pool, the other providers, the traders and the clean position stay clean`, async () => {
      const r = (await traceOf(model)).result;
      const touched = addressesIn(r);
      for (const role of ["pool", "deployer", "lp", "trader"])
        expect(touched.has(at[role] as string), role).to.equal(false);
      const cleanPosition = positionAsset(manager, clean.tokenId);
      const assets = new Set([
        ...r.holdings.map((h) => h.token),
        ...r.edges.flatMap((e) => [e.token, e.out?.token]),
      ]);
      expect(assets.has(cleanPosition)).to.equal(false);
      // The stolen position went from the thief to the accomplice, whole.
      const position = positionAsset(manager, added.tokenId);
      const handed = r.edges.find((e) => e.token === position && e.out === undefined);
      expect(handed).to.include({
        from: at["thief"],
        to: at["accomplice"],
        amount: added.liquidity,
      });
      // Nothing is left in the position, nor owed to it.
      expect(
        r.holdings.filter((h) => h.address === position || h.token === position),
      ).to.deep.equal([]);
    });

  /** What the two readings must agree on: the buckets besides, and the conversions skipped. */
  const answer = (out: RunTraceOutput) => ({
    ...crossAnswer(out),
    beyondHopLimit: out.result.beyondHopLimit,
    belowMinimum: out.result.belowMinimum,
    skipped: out.skippedConversions,
  });
  /** A lazy trace into a store of its own, its requests counted. */
  const countedLazyTrace = async (model: TaintModelName) => {
    const counted = new CountingRpc(chain.url, { maxRetries: 0 });
    return { out: await lazyTrace({ rpc: counted, seed, model }), counted };
  };
  const word = (a: string) => `0x${a.slice(2).padStart(64, "0")}`;

  for (const model of ["haircut", "fifo", "poison"] as const)
    it(`${model}, read lazily: the streams' holdings, exits, values and tainted transfers, never the pool's or the manager's history`, async () => {
      const { out, counted } = await countedLazyTrace(model);
      expect(answer(out)).to.deep.equal(answer(await traceOf(model)));
      // The position was followed: it went to the accomplice whole, and came back collected.
      const position = positionAsset(manager, added.tokenId);
      expect(
        out.result.edges.some((e) => e.token === position && e.to === at["accomplice"]),
      ).to.equal(true);
      expect(out.result.holdings.some((h) => h.address === at["accomplice"])).to.equal(true);
      // No history of the pool, the manager or the position's account: the manager's logs only by
      // the position's token id.
      for (const name of ["pool", "manager"]) {
        const address = name === "manager" ? manager : (at[name] as string);
        const named = counted.asked.filter(
          (c) =>
            (c.method === "eth_getLogs" &&
              JSON.stringify(c.params).toLowerCase().includes(word(address))) ||
            (c.method === "trace_filter" &&
              JSON.stringify(c.params).toLowerCase().includes(address)),
        );
        expect(named, name).to.deep.equal([]);
      }
      const ofManager = counted.asked.filter(
        (c) =>
          c.method === "eth_getLogs" &&
          (c.params[0] as { address?: string }).address?.toLowerCase() === manager,
      );
      expect(ofManager.length).to.be.greaterThan(0);
      for (const c of ofManager)
        expect(JSON.stringify(c.params), "by token id").to.include(
          `0x${added.tokenId.toString(16).padStart(64, "0")}`,
        );
      expect(JSON.stringify(counted.asked)).to.not.include("v3pos:");
    });

  it("read lazily, a position emptied by an operator to a third address is followed there", async () => {
    const snapshot = await rpc.call<string>("evm_snapshot");
    try {
      // The thief puts 300 X (tainted in part) and 300 clean Y into a second position and lets an
      // operator remove it and collect it to a fence: none of it in the thief's own history.
      await send(call(y, "transfer", deployer, at["thief"], 300n * E18));
      const operator = await node.wallet();
      const fence = Wallet.createRandom().address.toLowerCase();
      const second = await eventOf(await mint(w.thief, 300n * E18), "IncreaseLiquidity");
      await send(call(world.v3Positions, "approve", w.thief, operator.address, second.tokenId));
      await send(
        call(world.v3Positions, "decreaseLiquidity", operator, {
          tokenId: second.tokenId,
          liquidity: second.liquidity,
          amount0Min: 0,
          amount1Min: 0,
          deadline: DEADLINE,
        }),
      );
      await send(
        call(world.v3Positions, "collect", operator, {
          tokenId: second.tokenId,
          recipient: fence,
          amount0Max: MAX128,
          amount1Max: MAX128,
        }),
      );
      for (const model of ["haircut", "fifo", "poison"] as const) {
        const stream = await runTrace({
          rpc,
          db: (await Store.open(await openMemoryDatabase())).db,
          token: "all",
          seed,
          model,
        });
        const { out } = await countedLazyTrace(model);
        expect(answer(out), model).to.deep.equal(answer(stream));
        expect(
          out.result.holdings.some((h) => h.address === fence && h.token === at["x"]),
          model,
        ).to.equal(true);
        const p2 = positionAsset(manager, second.tokenId);
        expect(out.result.holdings.filter((h) => h.token === p2 || h.address === p2)).to.deep.equal(
          [],
        );
      }
    } finally {
      await rpc.call("evm_revert", [snapshot]);
    }
  });

  it("POST /trace names the position as an asset, as the published schema says", async () => {
    const answer = await traceAnswer(store, chain.url, { token: "all", seed, model: "haircut" });
    const position = positionAsset(manager, added.tokenId);
    expect(answer.assets.map((a) => a.token)).to.include(position);
    expect(answer.assets.find((a) => a.token === position)).to.deep.equal({
      token: position,
      decimals: null,
      symbol: null,
    });
    // The tokens owed to the position passed through its own account.
    expect(answer.nodes.map((n) => n.address)).to.include(position);
  });

  it("veritrace trace --graph draws the position as an asset of its own", async () => {
    const svg = await drawnTrace(chain.url, seed, ["--json"]);
    expect(svg).to.include(`Uniswap V3 position #${added.tokenId}`);
    expect(svg).to.include("Uniswap V3 add liquidity");
    expect(svg).to.include("Uniswap V3 remove liquidity");
  });
});
