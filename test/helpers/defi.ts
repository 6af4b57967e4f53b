/**
 * DeFi on a test chain from the projects' published bytecode: WETH9 and Uniswap V2
 * (`@uniswap/v2-core`, `@uniswap/v2-periphery` builds) and Uniswap V3 (`@uniswap/v3-core`,
 * `@uniswap/v3-periphery` artifacts), deployed as they are on mainnet, plus the test ERC-20 of
 * the V2 periphery. The routers compute pool addresses from the pools' init code hashes, so the
 * pools are exactly the published ones. Below the deployment: an anvil chain with the world on
 * it, and the calls the tests of traces through it make (pools, liquidity, swaps).
 */
import { createRequire } from "node:module";
import {
  Contract,
  ContractFactory,
  JsonRpcProvider,
  MaxUint256,
  Wallet,
  hexlify,
  randomBytes,
  type Signer,
} from "ethers";
import { startLocalChain, type LocalChain } from "../../scripts/lib/local-chain.js";
import { RpcClient } from "../../src/chain/rpc.js";

const require = createRequire(import.meta.url);

interface Artifact {
  abi: readonly unknown[];
  bytecode: string | { object: string };
}

function artifact(path: string): { abi: readonly unknown[]; bytecode: string } {
  const a = require(path) as Artifact;
  const code = typeof a.bytecode === "string" ? a.bytecode : a.bytecode.object;
  return { abi: a.abi, bytecode: code.startsWith("0x") ? code : `0x${code}` };
}

const V2 = (name: string) => artifact(`@uniswap/v2-periphery/build/${name}.json`);
const V2_CORE = (name: string) => artifact(`@uniswap/v2-core/build/${name}.json`);
const V3_CORE = (name: string) =>
  artifact(`@uniswap/v3-core/artifacts/contracts/${name}.sol/${name}.json`);
const V3_PERIPHERY = (name: string) =>
  artifact(`@uniswap/v3-periphery/artifacts/contracts/${name}.sol/${name}.json`);

async function deploy(
  signer: Signer,
  a: { abi: readonly unknown[]; bytecode: string },
  ...args: unknown[]
): Promise<Contract> {
  const factory = new ContractFactory(a.abi as never, a.bytecode, signer);
  const contract = await factory.deploy(...args);
  await contract.waitForDeployment();
  return contract as Contract;
}

/** The published contracts, deployed. */
export interface DefiWorld {
  weth: Contract;
  /** Two test tokens (18 decimals), their whole supply minted to the deployer. */
  tokenA: Contract;
  tokenB: Contract;
  v2Factory: Contract;
  v2Router: Contract;
  v3Factory: Contract;
  v3Router: Contract;
  v3Positions: Contract;
}

export async function deployDefi(deployer: Signer): Promise<DefiWorld> {
  const supply = 10n ** 30n;
  const weth = await deploy(deployer, V2("WETH9"));
  const tokenA = await deploy(deployer, V2("ERC20"), supply);
  const tokenB = await deploy(deployer, V2("ERC20"), supply);
  const v2Factory = await deploy(
    deployer,
    V2_CORE("UniswapV2Factory"),
    await deployer.getAddress(),
  );
  const v2Router = await deploy(
    deployer,
    V2("UniswapV2Router02"),
    await v2Factory.getAddress(),
    await weth.getAddress(),
  );
  const v3Factory = await deploy(deployer, V3_CORE("UniswapV3Factory"));
  const v3Router = await deploy(
    deployer,
    V3_PERIPHERY("SwapRouter"),
    await v3Factory.getAddress(),
    await weth.getAddress(),
  );
  const v3Positions = await deploy(
    deployer,
    V3_PERIPHERY("NonfungiblePositionManager"),
    await v3Factory.getAddress(),
    await weth.getAddress(),
    "0x0000000000000000000000000000000000000000",
  );
  return { weth, tokenA, tokenB, v2Factory, v2Router, v3Factory, v3Router, v3Positions };
}

/** Lets `spender` move every token of the world for `owner`. */
export async function approveAll(world: DefiWorld, owner: Signer, spender: string): Promise<void> {
  for (const token of [world.weth, world.tokenA, world.tokenB]) {
    const tx = (await (token.connect(owner) as Contract).getFunction("approve")(
      spender,
      MaxUint256,
    )) as { wait(): Promise<unknown> };
    await tx.wait();
  }
}

/** sqrtPriceX96 of a 1:1 price. */
export const SQRT_PRICE_1_1 = 2n ** 96n;

/** The full tick range of a 0.3 % V3 pool (tick spacing 60). */
export const FULL_RANGE = { tickLower: -887220, tickUpper: 887220 } as const;

export const E18 = 10n ** 18n;
/** A deadline no test reaches. */
export const DEADLINE = 2n ** 40n;
/** The fee tier of the tests' V3 pools (0.3 %). */
export const V3_FEE = 3000;

export type Sent = Promise<{ hash: string; wait(): Promise<unknown> }>;

/**
 * Calls `name` on `c` as `signer`, with a fixed gas limit: a gas estimate made against a state the
 * node has not settled yet could fall short and revert the call. A last argument `{ value }` is
 * the ether the call sends.
 */
export const call = (c: Contract, name: string, signer: Signer, ...args: unknown[]): Sent => {
  const last = args[args.length - 1];
  const overrides =
    typeof last === "object" && last !== null && !Array.isArray(last) && "value" in last
      ? { ...(args.pop() as object), gasLimit: 12_000_000n }
      : { gasLimit: 12_000_000n };
  return (c.connect(signer) as Contract).getFunction(name)(...args, overrides) as unknown as Sent;
};

/** Waits until a sent transaction is mined; its hash, in lower case. */
export async function send(sent: Sent): Promise<string> {
  const tx = await sent;
  await tx.wait();
  return tx.hash.toLowerCase();
}

export const balanceOf = async (token: Contract, who: string): Promise<bigint> =>
  (await token.getFunction("balanceOf")(who)) as bigint;

/** An anvil chain with the published contracts deployed by its first account. */
export interface DefiChain {
  chain: LocalChain;
  /** Never caches an answer: the tests read the chain right after they change it. */
  provider: JsonRpcProvider;
  /** Raw JSON-RPC to the node (anvil_setBalance, evm_snapshot, …), no retries. */
  rpc: RpcClient;
  deployer: Signer;
  world: DefiWorld;
  /** A new account with `wei` of the native coin (1 ether, for gas, unless told). */
  wallet(wei?: bigint): Promise<Wallet>;
}

export async function startDefiChain(): Promise<DefiChain> {
  const chain = await startLocalChain("anvil");
  try {
    const provider = new JsonRpcProvider(chain.url, undefined, { cacheTimeout: -1 });
    const rpc = new RpcClient(chain.url, { maxRetries: 0 });
    const deployer = await provider.getSigner(0);
    const world = await deployDefi(deployer);
    const wallet = async (wei = E18) => {
      const w = new Wallet(hexlify(randomBytes(32)), provider);
      await rpc.call("anvil_setBalance", [w.address, `0x${wei.toString(16)}`]);
      return w;
    };
    return { chain, provider, rpc, deployer, world, wallet };
  } catch (error) {
    await chain.stop();
    throw error;
  }
}

/** The token of `a` and `b` that sorts first, then the other: a V3 pool's token0 and token1. */
export const sorted = (a: string, b: string): [string, string] => (a < b ? [a, b] : [b, a]);

/** NonfungiblePositionManager.mint's parameters: `amount` of each token over the full range. */
export const v3MintParams = (
  token0: string,
  token1: string,
  amount: bigint,
  recipient: string,
) => ({
  token0,
  token1,
  fee: V3_FEE,
  ...FULL_RANGE,
  amount0Desired: amount,
  amount1Desired: amount,
  amount0Min: 0,
  amount1Min: 0,
  recipient,
  deadline: DEADLINE,
});

/** SwapRouter.exactInputSingle's parameters: `amountIn` of `tokenIn` for `tokenOut`, any price. */
export const v3SwapParams = (
  tokenIn: string,
  tokenOut: string,
  amountIn: bigint,
  recipient: string,
) => ({
  tokenIn,
  tokenOut,
  fee: V3_FEE,
  recipient,
  deadline: DEADLINE,
  amountIn,
  amountOutMinimum: 0,
  sqrtPriceLimitX96: 0,
});

/**
 * Creates the V3 pool of `token0` and `token1` at 1:1, its first position 10,000 of each, minted
 * by the deployer (who lets the position manager take all its tokens); the pool's address, in
 * lower case.
 */
export async function createV3Pool(
  world: DefiWorld,
  deployer: Signer,
  token0: string,
  token1: string,
): Promise<string> {
  await approveAll(world, deployer, await world.v3Positions.getAddress());
  await send(
    call(
      world.v3Positions,
      "createAndInitializePoolIfNecessary",
      deployer,
      token0,
      token1,
      V3_FEE,
      SQRT_PRICE_1_1,
    ),
  );
  await send(
    call(
      world.v3Positions,
      "mint",
      deployer,
      v3MintParams(token0, token1, 10_000n * E18, await deployer.getAddress()),
    ),
  );
  const pool = (await world.v3Factory.getFunction("getPool")(token0, token1, V3_FEE)) as string;
  return pool.toLowerCase();
}

/** The deployer pays 100,000 of `token` against 100 ether into their V2 pair (the router's approved). */
export const addV2LiquidityETH = async (world: DefiWorld, deployer: Signer, token: string) =>
  send(
    call(
      world.v2Router,
      "addLiquidityETH",
      deployer,
      token,
      100_000n * E18,
      0n,
      0n,
      await deployer.getAddress(),
      DEADLINE,
      { value: 100n * E18 },
    ),
  );

/** The V2 pair of `token` and WETH, in lower case. */
export const v2PairOf = async (world: DefiWorld, token: string): Promise<string> =>
  (
    (await world.v2Factory.getFunction("getPair")(token, await world.weth.getAddress())) as string
  ).toLowerCase();

/**
 * A V2 swap of exactly `amountIn` along `route` to `to`, through the router, at any price
 * (`swapExactTokensForTokens`, or `swapExactTokensForETH`).
 */
export const v2Swap = async (
  world: DefiWorld,
  signer: Signer,
  amountIn: bigint,
  route: string[],
  to: string,
  method = "swapExactTokensForTokens",
) => send(call(world.v2Router, method, signer, amountIn, 0n, route, to, DEADLINE));

/**
 * `owner` puts `amount` of `token` and `wethAmount` WETH into their V2 pair `pair` as liquidity,
 * then takes all of it out again (the router's approved for both tokens).
 */
export async function v2LiquidityInAndOut(
  world: DefiWorld,
  owner: Signer,
  pair: string,
  token: string,
  amount: bigint,
  wethAmount: bigint,
): Promise<void> {
  const [router, weth, to] = await Promise.all([
    world.v2Router.getAddress(),
    world.weth.getAddress(),
    owner.getAddress(),
  ]);
  await send(
    call(
      world.v2Router,
      "addLiquidity",
      owner,
      token,
      weth,
      amount,
      wethAmount,
      0n,
      0n,
      to,
      DEADLINE,
    ),
  );
  const liquidityToken = new Contract(
    pair,
    [
      "function balanceOf(address) view returns (uint256)",
      "function approve(address,uint256) returns (bool)",
    ],
    owner,
  );
  const liquidity = await balanceOf(liquidityToken, to);
  await send(call(liquidityToken, "approve", owner, router, liquidity));
  await send(
    call(world.v2Router, "removeLiquidity", owner, token, weth, liquidity, 0n, 0n, to, DEADLINE),
  );
}
