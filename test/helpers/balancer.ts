/**
 * The Balancer V2 Vault on a test chain from its published bytecode (`@balancer-labs/v2-deployments`,
 * the tasks deployed on mainnet in April 2021): the Authorizer, the Vault over a WETH9, and the
 * WeightedPoolFactory whose pools register with it. Pools are created and funded as on mainnet:
 * the factory deploys the pool, the Vault takes the liquidity (an `INIT` join).
 */
import { createRequire } from "node:module";
import { AbiCoder, Contract, ContractFactory, type Signer } from "ethers";

const require = createRequire(import.meta.url);

const TASKS = "@balancer-labs/v2-deployments/dist/tasks";

/** A contract of a deployment task: its ABI and its creation code. */
function task(id: string, name: string): { abi: readonly unknown[]; bytecode: string } {
  const abi = require(`${TASKS}/${id}/abi/${name}.json`) as readonly unknown[];
  const { creationCode } = require(`${TASKS}/${id}/bytecode/${name}.json`) as {
    creationCode: string;
  };
  return {
    abi,
    bytecode: creationCode.startsWith("0x") ? creationCode : `0x${creationCode}`,
  };
}

async function deploy(
  signer: Signer,
  a: { abi: readonly unknown[]; bytecode: string },
  ...args: unknown[]
): Promise<Contract> {
  const contract = await new ContractFactory(a.abi as never, a.bytecode, signer).deploy(...args, {
    gasLimit: 12_000_000n,
  });
  await contract.waitForDeployment();
  return contract as Contract;
}

/** The Vault's swap kinds. */
export const SwapKind = { GivenIn: 0, GivenOut: 1 } as const;

/** The Vault's sentinel for the native coin among a swap's assets. */
export const ETH_ASSET = "0x0000000000000000000000000000000000000000";

/** The Vault and a factory of weighted pools, deployed. */
export interface BalancerWorld {
  authorizer: Contract;
  vault: Contract;
  weightedPoolFactory: Contract;
}

/** Deploys the Authorizer (`deployer` its admin), the Vault over `weth`, and the factory. */
export async function deployBalancer(deployer: Signer, weth: string): Promise<BalancerWorld> {
  const authorizer = await deploy(
    deployer,
    task("20210418-authorizer", "Authorizer"),
    await deployer.getAddress(),
  );
  // The pause window and buffer period of the mainnet deployment (90 and 30 days).
  const vault = await deploy(
    deployer,
    task("20210418-vault", "Vault"),
    await authorizer.getAddress(),
    weth,
    7_776_000n,
    2_592_000n,
  );
  const weightedPoolFactory = await deploy(
    deployer,
    task("20210418-weighted-pool", "WeightedPoolFactory"),
    await vault.getAddress(),
  );
  return { authorizer, vault, weightedPoolFactory };
}

/** A pool: its contract (its BPT) and its id in the Vault. */
export interface WeightedPool {
  address: string;
  poolId: string;
}

/**
 * Creates a weighted pool of `tokens` (any order: the pool wants them sorted) with equal weights
 * and a 0.3 % swap fee, and funds it from `provider` (an `INIT` join of `amounts`, the Vault
 * pulling the tokens, which `provider` must have approved).
 */
export async function createWeightedPool(
  world: BalancerWorld,
  provider: Signer,
  tokens: readonly { address: string; amount: bigint }[],
): Promise<WeightedPool> {
  const sorted = [...tokens].sort((a, b) =>
    a.address.toLowerCase() < b.address.toLowerCase() ? -1 : 1,
  );
  const n = BigInt(sorted.length);
  const E18 = 10n ** 18n;
  // Normalized weights sum to exactly 1e18: the first takes the remainder.
  const weights = sorted.map((_, i) => (i === 0 ? E18 - (E18 / n) * (n - 1n) : E18 / n));
  const owner = await provider.getAddress();
  const factory = world.weightedPoolFactory.connect(provider) as Contract;
  const tx = (await factory.getFunction("create")(
    "Test weighted pool",
    "TWP",
    sorted.map((t) => t.address),
    weights,
    3n * 10n ** 15n,
    owner,
    { gasLimit: 12_000_000n },
  )) as { wait(): Promise<{ logs: { topics: string[] }[] } | null> };
  const receipt = await tx.wait();
  const created = world.weightedPoolFactory.interface.getEvent("PoolCreated")?.topicHash;
  const log = receipt?.logs.find((l) => l.topics[0] === created);
  if (log === undefined) throw new Error("the factory created no pool");
  const address = `0x${(log.topics[1] as string).slice(26)}`;
  const pool = new Contract(
    address,
    task("20210418-weighted-pool", "WeightedPool").abi as never,
    provider,
  );
  const poolId = (await pool.getFunction("getPoolId")()) as string;
  // WeightedPool's JoinKind.INIT (0) with the amounts in.
  const userData = AbiCoder.defaultAbiCoder().encode(
    ["uint256", "uint256[]"],
    [0n, sorted.map((t) => t.amount)],
  );
  const join = (await (world.vault.connect(provider) as Contract).getFunction("joinPool")(
    poolId,
    owner,
    owner,
    {
      assets: sorted.map((t) => t.address),
      maxAmountsIn: sorted.map((t) => t.amount),
      userData,
      fromInternalBalance: false,
    },
    { gasLimit: 12_000_000n },
  )) as { wait(): Promise<unknown> };
  await join.wait();
  return { address: address.toLowerCase(), poolId };
}

/** The pool's tokens, sorted as the Vault lists them. */
const sortedAddresses = (tokens: readonly string[]) =>
  [...tokens].sort((a, b) => (a.toLowerCase() < b.toLowerCase() ? -1 : 1));

/**
 * `provider` adds liquidity to `pool` (WeightedPool's JoinKind.EXACT_TOKENS_IN_FOR_BPT_OUT, 1):
 * `amounts[i]` of `tokens[i]`, the pool token (BPT) minted to `recipient`.
 */
export async function joinPool(
  world: BalancerWorld,
  pool: WeightedPool,
  provider: Signer,
  tokens: readonly { address: string; amount: bigint }[],
  recipient: string,
): Promise<string> {
  const assets = sortedAddresses(tokens.map((t) => t.address));
  const amounts = assets.map((a) => tokens.find((t) => t.address === a)?.amount ?? 0n);
  const userData = AbiCoder.defaultAbiCoder().encode(
    ["uint256", "uint256[]", "uint256"],
    [1n, amounts, 0n],
  );
  const tx = (await (world.vault.connect(provider) as Contract).getFunction("joinPool")(
    pool.poolId,
    await provider.getAddress(),
    recipient,
    { assets, maxAmountsIn: amounts, userData, fromInternalBalance: false },
    { gasLimit: 12_000_000n },
  )) as { hash: string; wait(): Promise<unknown> };
  await tx.wait();
  return tx.hash.toLowerCase();
}

/**
 * `holder` removes liquidity from `pool` (WeightedPool's ExitKind.EXACT_BPT_IN_FOR_TOKENS_OUT, 1):
 * `bpt` of its pool token burnt, each of `tokens` paid to `recipient` in proportion.
 */
export async function exitPool(
  world: BalancerWorld,
  pool: WeightedPool,
  holder: Signer,
  tokens: readonly string[],
  bpt: bigint,
  recipient: string,
): Promise<string> {
  const assets = sortedAddresses(tokens);
  const userData = AbiCoder.defaultAbiCoder().encode(["uint256", "uint256"], [1n, bpt]);
  const tx = (await (world.vault.connect(holder) as Contract).getFunction("exitPool")(
    pool.poolId,
    await holder.getAddress(),
    recipient,
    { assets, minAmountsOut: assets.map(() => 0n), userData, toInternalBalance: false },
    { gasLimit: 12_000_000n },
  )) as { hash: string; wait(): Promise<unknown> };
  await tx.wait();
  return tx.hash.toLowerCase();
}
