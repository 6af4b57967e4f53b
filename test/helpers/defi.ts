/**
 * DeFi on a test chain from the projects' published bytecode: WETH9 and Uniswap V2
 * (`@uniswap/v2-core`, `@uniswap/v2-periphery` builds) and Uniswap V3 (`@uniswap/v3-core`,
 * `@uniswap/v3-periphery` artifacts), deployed as they are on mainnet, plus the test ERC-20 of
 * the V2 periphery. The routers compute pool addresses from the pools' init code hashes, so the
 * pools are exactly the published ones.
 */
import { createRequire } from "node:module";
import { Contract, ContractFactory, MaxUint256, type Signer } from "ethers";

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
