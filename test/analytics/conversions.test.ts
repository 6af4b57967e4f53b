/**
 * Conversions read from the real contracts: WETH9, Uniswap V2 and V3 deployed from their
 * published bytecode on anvil (test/helpers/defi.ts). Every amount read from a swap event is
 * checked against the ERC-20 Transfer logs of the same transaction: what went into the pool and
 * what came out of it.
 */
import { expect } from "chai";
import { AbiCoder, Contract, JsonRpcProvider, id as keccakId, type Signer } from "ethers";
import { startLocalChain, type LocalChain } from "../../scripts/lib/local-chain.js";
import { RpcClient, type RawLog } from "../../src/chain/rpc.js";
import {
  CONVERSION_TOPICS,
  ConversionReader,
  NATIVE,
  type Conversion,
} from "../../src/analytics/conversions.js";
import { TRANSFER_TOPIC } from "../../src/analytics/transfers.js";
import {
  FULL_RANGE,
  SQRT_PRICE_1_1,
  approveAll,
  call,
  deployDefi,
  type DefiWorld,
  type Sent,
} from "../helpers/defi.js";

const E18 = 10n ** 18n;
const DEADLINE = 2n ** 40n;

type Call = (...args: unknown[]) => Sent;
/** Calls `name` on `c` as `signer` (by default its own), with the DeFi tests' fixed gas limit. */
const fn =
  (c: Contract, name: string, signer?: Signer): Call =>
  (...args) =>
    call(c, name, signer ?? (c.runner as Signer), ...args);

describe("conversions from the published contracts (anvil)", function () {
  this.timeout(120_000);
  let chain: LocalChain;
  let provider: JsonRpcProvider;
  let rpc: RpcClient;
  let deployer: Signer;
  let trader: Signer;
  let world: DefiWorld;
  let addr: { weth: string; a: string; b: string; trader: string };

  /** The raw logs of a transaction, as the tracer reads them. */
  async function logsOf(hash: string): Promise<RawLog[]> {
    const receipt = await rpc.call<{ logs: RawLog[] }>("eth_getTransactionReceipt", [hash]);
    return receipt.logs;
  }

  async function send(call: Promise<{ hash: string; wait(): Promise<unknown> }>): Promise<string> {
    const tx = await call;
    await tx.wait();
    return tx.hash;
  }

  /** The amount of `token` moved by Transfer logs from `from` to `to` in `logs`. */
  function moved(logs: readonly RawLog[], token: string, match: { from?: string; to?: string }) {
    let total = 0n;
    for (const l of logs) {
      if (l.topics[0] !== TRANSFER_TOPIC || l.address.toLowerCase() !== token) continue;
      const from = `0x${(l.topics[1] ?? "").slice(26)}`;
      const to = `0x${(l.topics[2] ?? "").slice(26)}`;
      if (match.from !== undefined && from !== match.from) continue;
      if (match.to !== undefined && to !== match.to) continue;
      total += BigInt(l.data);
    }
    return total;
  }

  /** Checks a swap against the pool's Transfer logs: its input in, its output out. */
  function agreesWithTransfers(c: Conversion, logs: readonly RawLog[]): void {
    expect(moved(logs, c.tokenIn, { to: c.contract }), "input").to.equal(c.amountIn);
    expect(moved(logs, c.tokenOut, { from: c.contract }), "output").to.equal(c.amountOut);
  }

  before(async function () {
    chain = await startLocalChain("anvil");
    provider = new JsonRpcProvider(chain.url);
    rpc = new RpcClient(chain.url);
    deployer = await provider.getSigner(0);
    trader = await provider.getSigner(1);
    world = await deployDefi(deployer);
    addr = {
      weth: (await world.weth.getAddress()).toLowerCase(),
      a: (await world.tokenA.getAddress()).toLowerCase(),
      b: (await world.tokenB.getAddress()).toLowerCase(),
      trader: (await trader.getAddress()).toLowerCase(),
    };
    const router = await world.v2Router.getAddress();
    await approveAll(world, deployer, router);
    await approveAll(world, deployer, await world.v3Positions.getAddress());
    // Two V2 pools around WETH, seeded with liquidity by the deployer.
    for (const token of [addr.a, addr.b]) {
      await send(
        fn(world.v2Router, "addLiquidityETH")(
          token,
          1000n * E18,
          0,
          0,
          await deployer.getAddress(),
          DEADLINE,
          { value: 100n * E18 },
        ),
      );
    }
    // The trader holds tokenA and tokenB.
    await send(fn(world.tokenA, "transfer")(addr.trader, 50n * E18));
    await send(fn(world.tokenB, "transfer")(addr.trader, 50n * E18));
    await approveAll(world, trader, router);
    await approveAll(world, trader, await world.v3Router.getAddress());
  });

  after(async function () {
    provider?.destroy();
    await chain?.stop();
  });

  it("reads wrapping and unwrapping at WETH9 as 1:1 conversions with the native coin", async function () {
    const reader = new ConversionReader(rpc);
    const wrapped = await send(fn(world.weth, "deposit", trader)({ value: 3n * E18 }));
    const unwrapped = await send(fn(world.weth, "withdraw", trader)(E18));
    const { conversions } = await reader.read([
      ...(await logsOf(wrapped)),
      ...(await logsOf(unwrapped)),
    ]);
    expect(
      conversions.map((c) => [
        c.venue,
        c.tokenIn,
        c.amountIn,
        c.tokenOut,
        c.amountOut,
        c.recipient,
      ]),
    ).to.deep.equal([
      ["weth", NATIVE, 3n * E18, addr.weth, 3n * E18, addr.trader],
      ["weth", addr.weth, E18, NATIVE, E18, addr.trader],
    ]);
  });

  it("reads a multi-hop Uniswap V2 route as one swap per pool, amounts as the pools moved them", async function () {
    const reader = new ConversionReader(rpc);
    const hash = await send(
      fn(world.v2Router, "swapExactTokensForTokens", trader)(
        2n * E18,
        0,
        [addr.a, addr.weth, addr.b],
        addr.trader,
        DEADLINE,
      ),
    );
    const logs = await logsOf(hash);
    const { conversions, skipped } = await reader.read(logs);
    expect(skipped).to.deep.equal([]);
    expect(conversions.map((c) => [c.venue, c.tokenIn, c.tokenOut])).to.deep.equal([
      ["uniswap-v2", addr.a, addr.weth],
      ["uniswap-v2", addr.weth, addr.b],
    ]);
    const [first, second] = conversions as [Conversion, Conversion];
    expect(first.amountIn).to.equal(2n * E18);
    // The first pool pays the second directly: its output is the second's input.
    expect(first.recipient).to.equal(second.contract);
    expect(second.amountIn).to.equal(first.amountOut);
    expect(second.recipient).to.equal(addr.trader);
    for (const c of conversions) agreesWithTransfers(c, logs);
    // The constant-product formula with the 0.3 % fee, by hand: 2 A into 1000 A / 100 WETH.
    const out = (2n * E18 * 997n * (100n * E18)) / (1000n * E18 * 1000n + 2n * E18 * 997n);
    expect(first.amountOut).to.equal(out);
  });

  it("reads a swap to the native coin as a swap, then the router's unwrapping", async function () {
    const reader = new ConversionReader(rpc);
    const router = (await world.v2Router.getAddress()).toLowerCase();
    const hash = await send(
      fn(world.v2Router, "swapExactTokensForETH", trader)(
        E18,
        0,
        [addr.b, addr.weth],
        addr.trader,
        DEADLINE,
      ),
    );
    const logs = await logsOf(hash);
    const { conversions } = await reader.read(logs);
    expect(conversions.map((c) => [c.venue, c.tokenIn, c.tokenOut, c.recipient])).to.deep.equal([
      ["uniswap-v2", addr.b, addr.weth, router],
      ["weth", addr.weth, NATIVE, router],
    ]);
    const [swap, unwrap] = conversions as [Conversion, Conversion];
    agreesWithTransfers(swap, logs);
    expect(unwrap.amountIn).to.equal(swap.amountOut);
  });

  it("reads a Uniswap V3 swap from the pool's signed amounts", async function () {
    const [t0, t1] = addr.a < addr.b ? [addr.a, addr.b] : [addr.b, addr.a];
    await send(
      fn(world.v3Positions, "createAndInitializePoolIfNecessary")(t0, t1, 3000, SQRT_PRICE_1_1),
    );
    await send(
      fn(
        world.v3Positions,
        "mint",
      )({
        token0: t0,
        token1: t1,
        fee: 3000,
        ...FULL_RANGE,
        amount0Desired: 100n * E18,
        amount1Desired: 100n * E18,
        amount0Min: 0,
        amount1Min: 0,
        recipient: await deployer.getAddress(),
        deadline: DEADLINE,
      }),
    );
    const reader = new ConversionReader(rpc);
    const hash = await send(
      fn(
        world.v3Router,
        "exactInputSingle",
        trader,
      )({
        tokenIn: addr.b,
        tokenOut: addr.a,
        fee: 3000,
        recipient: addr.trader,
        deadline: DEADLINE,
        amountIn: 3n * E18,
        amountOutMinimum: 0,
        sqrtPriceLimitX96: 0,
      }),
    );
    const logs = await logsOf(hash);
    const { conversions } = await reader.read(logs);
    expect(conversions).to.have.length(1);
    const [swap] = conversions as [Conversion];
    expect([swap.venue, swap.tokenIn, swap.amountIn, swap.tokenOut, swap.recipient]).to.deep.equal([
      "uniswap-v3",
      addr.b,
      3n * E18,
      addr.a,
      addr.trader,
    ]);
    expect(swap.amountOut > 0n && swap.amountOut < 3n * E18).to.equal(true);
    agreesWithTransfers(swap, logs);
  });

  it("does not take another contract's Deposit(address,uint256) for a wrapping", async function () {
    // A contract that emits Deposit(caller, msg.value) and answers nothing: not a wrapper.
    const topic = CONVERSION_TOPICS.wrap.slice(2);
    const runtime = `3460005233 7f${topic} 6020 6000 a2 00`.replace(/ /g, "");
    const length = (runtime.length / 2).toString(16).padStart(2, "0");
    const init = `60${length}600c60003960${length}6000f3${runtime}`;
    const deployed = await send(deployer.sendTransaction({ data: `0x${init}` }));
    const receipt = await rpc.call<{ contractAddress: string }>("eth_getTransactionReceipt", [
      deployed,
    ]);
    const decoy = await send(
      trader.sendTransaction({ to: receipt.contractAddress, value: 7n * E18 }),
    );
    const logs = await logsOf(decoy);
    expect(logs.map((l) => l.topics[0])).to.deep.equal([CONVERSION_TOPICS.wrap]);
    const { conversions, skipped } = await new ConversionReader(rpc).read(logs);
    expect([conversions, skipped]).to.deep.equal([[], []]);
  });

  it("reads the Balancer V2 Vault's and Curve's events, and refuses what is not one token for another", async function () {
    const coder = AbiCoder.defaultAbiCoder();
    const pad = (a: string) => `0x${a.slice(2).padStart(64, "0")}`;
    const base = {
      blockNumber: "0x1",
      blockHash: `0x${"00".repeat(32)}`,
      transactionHash: `0x${"11".repeat(32)}`,
      transactionIndex: "0x0",
    };
    const vault = `0x${"ba".repeat(20)}`;
    const balancer: RawLog = {
      ...base,
      address: vault,
      logIndex: "0x0",
      topics: [CONVERSION_TOPICS.balancerV2, keccakId("pool"), pad(addr.a), pad(addr.b)],
      data: coder.encode(["uint256", "uint256"], [5n, 9n]),
    };
    // A V2-shaped swap from a contract that answers no token0/token1 (an account without code).
    const noPool: RawLog = {
      ...base,
      address: `0x${"cd".repeat(20)}`,
      logIndex: "0x1",
      topics: [CONVERSION_TOPICS.uniswapV2, pad(addr.trader), pad(addr.trader)],
      data: coder.encode(["uint256", "uint256", "uint256", "uint256"], [1n, 0n, 0n, 1n]),
    };
    const { conversions, skipped } = await new ConversionReader(rpc).read([balancer, noPool]);
    expect(
      conversions.map((c) => [c.venue, c.tokenIn, c.amountIn, c.tokenOut, c.amountOut]),
    ).to.deep.equal([["balancer-v2", addr.a, 5n, addr.b, 9n]]);
    expect(skipped.map((s) => s.reason)).to.deep.equal([
      "a Swap of Uniswap V2's shape from a contract without token0/token1",
    ]);
    // Curve's coins are asked of the pool: the V2 pair answers no coins(i), so the exchange is refused.
    const pair = (
      (await fn(world.v2Factory, "getPair")(addr.a, addr.weth)) as unknown as string
    ).toLowerCase();
    const curve: RawLog = {
      ...base,
      blockNumber: `0x${(await provider.getBlockNumber()).toString(16)}`,
      address: pair,
      logIndex: "0x2",
      topics: [CONVERSION_TOPICS.curve, pad(addr.trader)],
      data: coder.encode(["int128", "uint256", "int128", "uint256"], [0n, 4n, 1n, 3n]),
    };
    const refused = await new ConversionReader(rpc).read([curve]);
    expect(refused.skipped.map((s) => s.reason)).to.deep.equal([
      "a TokenExchange from a contract whose coins are unknown",
    ]);
    // The Vault's PoolBalanceChanged: one record per token whose balance changed, naming the
    // pool (the poolId's first 20 bytes); deltas of both signs, or arrays of unequal length, refused.
    const poolId = `0x${"ab".repeat(20)}0002${"00".repeat(10)}`;
    const changed = (logIndex: number, deltas: bigint[], fees = [0n, 0n, 0n]): RawLog => ({
      ...base,
      address: vault,
      logIndex: `0x${logIndex.toString(16)}`,
      topics: [CONVERSION_TOPICS.balancerV2Liquidity, poolId, pad(addr.trader)],
      data: coder.encode(
        ["address[]", "int256[]", "uint256[]"],
        [[addr.a, addr.b, addr.weth], deltas, fees],
      ),
    });
    const liquidity = await new ConversionReader(rpc).read([
      changed(3, [5n, 0n, 7n]),
      changed(4, [0n, -2n, -1n]),
      changed(5, [5n, -1n, 0n]),
      changed(6, [5n, 1n, 0n], [0n]),
    ]);
    expect(
      liquidity.conversions.map((c) => [
        c.action,
        c.pool,
        c.tokenIn,
        c.amountIn,
        c.tokenOut,
        c.amountOut,
      ]),
    ).to.deep.equal([
      ["add-liquidity", `0x${"ab".repeat(20)}`, addr.a, 5n, `0x${"ab".repeat(20)}`, 0n],
      ["add-liquidity", `0x${"ab".repeat(20)}`, addr.weth, 7n, `0x${"ab".repeat(20)}`, 0n],
      ["remove-liquidity", `0x${"ab".repeat(20)}`, `0x${"ab".repeat(20)}`, 0n, addr.b, 2n],
      ["remove-liquidity", `0x${"ab".repeat(20)}`, `0x${"ab".repeat(20)}`, 0n, addr.weth, 1n],
    ]);
    expect(liquidity.skipped.map((s) => s.reason)).to.deep.equal([
      "a PoolBalanceChanged that both adds and removes tokens",
      "a PoolBalanceChanged whose tokens, deltas and fees are not of one length",
    ]);
  });
});
