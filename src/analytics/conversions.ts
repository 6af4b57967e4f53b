/**
 * Conversions: where value changes asset without changing hands for good. A WETH-style contract
 * wraps the native coin 1:1 (`Deposit`) and unwraps it (`Withdrawal`); a DEX pool takes one token
 * and gives another (Uniswap V2 and V3 `Swap`, Curve `TokenExchange`, the Balancer V2 Vault's
 * `Swap`). They are recognised by their events and by what the emitting contract answers (a pool's
 * tokens, WETH9's `totalSupply()` equal to its balance), never by a label: pools and wrappers are
 * mostly unlabeled. The tracer uses them so that a pool or a wrapper is a conversion, not a holder
 * (docs/taint-models.md, "Conversions").
 */
import { AbiCoder, id as keccakId } from "ethers";
import { hasLogShape, topicAddress, type RawLog, type RpcClient } from "../chain/rpc.js";
import type { ConversionVenue } from "./funds/types.js";
import type { Conversion, SkippedLog } from "./conversion-types.js";
import { POSITION_TOPICS, PositionReader } from "./v3-positions.js";

/** topic0 of the events a conversion is read from. */
export const CONVERSION_TOPICS = {
  /** WETH9 and its clones: `Deposit(address indexed dst, uint wad)`. */
  wrap: keccakId("Deposit(address,uint256)"),
  /** `Withdrawal(address indexed src, uint wad)`. */
  unwrap: keccakId("Withdrawal(address,uint256)"),
  /** `Swap(address indexed sender, uint amount0In, uint amount1In, uint amount0Out, uint amount1Out, address indexed to)`. */
  uniswapV2: keccakId("Swap(address,uint256,uint256,uint256,uint256,address)"),
  /** `Swap(address indexed sender, address indexed recipient, int256 amount0, int256 amount1, uint160 sqrtPriceX96, uint128 liquidity, int24 tick)`. */
  uniswapV3: keccakId("Swap(address,address,int256,int256,uint160,uint128,int24)"),
  /** Curve: `TokenExchange(address indexed buyer, int128 sold_id, uint256 tokens_sold, int128 bought_id, uint256 tokens_bought)`. */
  curve: keccakId("TokenExchange(address,int128,uint256,int128,uint256)"),
  /** Balancer V2 Vault: `Swap(bytes32 indexed poolId, address indexed tokenIn, address indexed tokenOut, uint256 amountIn, uint256 amountOut)`. */
  balancerV2: keccakId("Swap(bytes32,address,address,uint256,uint256)"),
  /** Uniswap V2 liquidity added: `Mint(address indexed sender, uint amount0, uint amount1)`. */
  uniswapV2Mint: keccakId("Mint(address,uint256,uint256)"),
  /** Uniswap V2 liquidity removed: `Burn(address indexed sender, uint amount0, uint amount1, address indexed to)`. */
  uniswapV2Burn: keccakId("Burn(address,uint256,uint256,address)"),
  /**
   * Balancer V2 Vault, liquidity added (deltas ≥ 0) or removed (≤ 0): `PoolBalanceChanged(bytes32
   * indexed poolId, address indexed liquidityProvider, address[] tokens, int256[] deltas, uint256[]
   * protocolFeeAmounts)`.
   */
  balancerV2Liquidity: keccakId("PoolBalanceChanged(bytes32,address,address[],int256[],uint256[])"),
} as const;

export type Venue = ConversionVenue;
export type { Conversion, PositionAction, SkippedLog } from "./conversion-types.js";

/** The native coin, as a token of a conversion. */
export const NATIVE = "native";

const TOPIC_VENUE: ReadonlyMap<string, keyof typeof CONVERSION_TOPICS> = new Map(
  Object.entries(CONVERSION_TOPICS).map(([k, t]) => [t, k as keyof typeof CONVERSION_TOPICS]),
);

const coder = AbiCoder.defaultAbiCoder();
const word = (n: bigint) => n.toString(16).padStart(64, "0");

/** Selectors of the views a conversion's contract is asked. */
const SELECTOR = {
  token0: "0x0dfe1681",
  token1: "0xd21220a7",
  totalSupply: "0x18160ddd",
  coinsUint: "0xc6610657",
  coinsInt128: "0x23746eb8",
} as const;

/**
 * What the contracts of conversions answer, asked once each (per block for WETH's supply check,
 * which holds at every block).
 */
export class ConversionReader {
  private readonly pools = new Map<string, Promise<[string, string] | null>>();
  private readonly wrappers = new Map<string, Promise<boolean>>();
  private readonly coins = new Map<string, Promise<string | null>>();

  private readonly positions: PositionReader | null;

  /**
   * `positions`: the trace's blocks, to follow Uniswap V3 positions over them (their events are
   * then among {@link topics}); without it, their events are not read.
   */
  constructor(
    private readonly rpc: RpcClient,
    options: { positions?: { fromBlock: number; toBlock: number } } = {},
  ) {
    this.positions =
      options.positions === undefined ? null : new PositionReader(rpc, this, options.positions);
  }

  /** topic0 of every event this reader reads. */
  get topics(): string[] {
    return [
      ...Object.values(CONVERSION_TOPICS),
      ...(this.positions === null ? [] : Object.values(POSITION_TOPICS)),
    ];
  }

  /** An `eth_call`'s answer (whole words) at a block, or null when it fails. */
  async view(to: string, data: string, block: number): Promise<string | null> {
    try {
      const out = await this.rpc.call<string>("eth_call", [
        { to, data },
        `0x${block.toString(16)}`,
      ]);
      return typeof out === "string" && /^0x([0-9a-fA-F]{64})+$/.test(out) ? out : null;
    } catch {
      return null;
    }
  }

  private async address(to: string, data: string, block: number): Promise<string | null> {
    const out = await this.view(to, data, block);
    if (out === null || out.length !== 66 || !/^0x0{24}/.test(out)) return null;
    return `0x${out.slice(26)}`.toLowerCase();
  }

  /** A pool's two tokens (`token0()`, `token1()`), or null when it answers neither. */
  poolTokens(pool: string, block: number): Promise<[string, string] | null> {
    let known = this.pools.get(pool);
    if (known === undefined) {
      known = (async () => {
        const [t0, t1] = await Promise.all([
          this.address(pool, SELECTOR.token0, block),
          this.address(pool, SELECTOR.token1, block),
        ]);
        return t0 === null || t1 === null || t0 === t1 ? null : ([t0, t1] as [string, string]);
      })();
      this.pools.set(pool, known);
    }
    return known;
  }

  /**
   * Whether a contract is a WETH9-style wrapper: its `totalSupply()` is its own balance of the
   * native coin (WETH9 returns `this.balance`), and not zero, at the block of the event.
   */
  isWrapper(contract: string, block: number): Promise<boolean> {
    let known = this.wrappers.get(contract);
    if (known === undefined) {
      known = (async () => {
        const tag = `0x${block.toString(16)}`;
        const [supply, balance] = await Promise.all([
          this.view(contract, SELECTOR.totalSupply, block),
          this.rpc.call<string>("eth_getBalance", [contract, tag]).catch(() => null),
        ]);
        if (supply === null || supply.length !== 66 || typeof balance !== "string") return false;
        return BigInt(supply) === BigInt(balance) && BigInt(balance) > 0n;
      })();
      this.wrappers.set(contract, known);
    }
    return known;
  }

  /** A Curve pool's coin `i` (`coins(uint256)`, or `coins(int128)` of the first pools). */
  coin(pool: string, i: bigint, block: number): Promise<string | null> {
    const key = `${pool}/${i}`;
    let known = this.coins.get(key);
    if (known === undefined) {
      known = (async () =>
        (await this.address(pool, `${SELECTOR.coinsUint}${word(i)}`, block)) ??
        (await this.address(pool, `${SELECTOR.coinsInt128}${word(i)}`, block)))();
      this.coins.set(key, known);
    }
    return known;
  }

  /**
   * The conversions of `logs` (any logs: those without a conversion's topic are ignored), in
   * log order, and the logs that carry a conversion's topic but could not be read as one.
   */
  async read(
    logs: readonly RawLog[],
  ): Promise<{ conversions: Conversion[]; skipped: SkippedLog[] }> {
    const add = (outcome: Conversion | string | null, at: Omit<SkippedLog, "reason">) => {
      if (typeof outcome === "string") skipped.push({ ...at, reason: outcome });
      else if (outcome !== null) conversions.push(outcome);
    };
    const conversions: Conversion[] = [];
    const skipped: SkippedLog[] = [];
    for (const log of logs) {
      if (log.removed === true) continue;
      const kind = TOPIC_VENUE.get((log.topics[0] ?? "").toLowerCase());
      if (kind === undefined) continue;
      const at = {
        contract: log.address.toLowerCase(),
        txHash: log.transactionHash.toLowerCase(),
        blockNumber: Number(log.blockNumber),
        logIndex: Number(log.logIndex),
      };
      const where = { txHash: at.txHash, logIndex: at.logIndex, contract: at.contract };
      if (kind === "uniswapV2Mint" || kind === "uniswapV2Burn")
        for (const outcome of await this.liquidity(kind, log, at)) add(outcome, where);
      else if (kind === "balancerV2Liquidity")
        for (const outcome of balancerLiquidity(log, at)) add(outcome, where);
      else add(await this.convert(kind, log, at), where);
    }
    if (this.positions !== null) {
      const read = await this.positions.read(logs);
      conversions.push(...read.conversions);
      skipped.push(...read.skipped);
    }
    conversions.sort((a, b) => a.blockNumber - b.blockNumber || a.logIndex - b.logIndex);
    return { conversions, skipped };
  }

  /**
   * Liquidity added to or removed from a Uniswap V2 pair: two conversions (one per token of the
   * pair), null for a log of the same signature from a contract that is not a pair.
   */
  private async liquidity(
    kind: "uniswapV2Mint" | "uniswapV2Burn",
    log: RawLog,
    at: { contract: string; txHash: string; blockNumber: number; logIndex: number },
  ): Promise<(Conversion | string | null)[]> {
    const mint = kind === "uniswapV2Mint";
    const data = log.data;
    if (!hasLogShape(log, mint ? 2 : 3, 2)) return [null];
    const tokens = await this.poolTokens(at.contract, at.blockNumber);
    if (tokens === null) return [null];
    const amounts = coder.decode(["uint256", "uint256"], data) as unknown as [bigint, bigint];
    const recipient = mint ? null : topicAddress(log.topics[2]);
    return ([0, 1] as const).map((i): Conversion => {
      const token = tokens[i];
      const amount = amounts[i];
      return mint
        ? {
            venue: "uniswap-v2",
            action: "add-liquidity",
            ...at,
            tokenIn: token,
            amountIn: amount,
            tokenOut: at.contract,
            amountOut: 0n,
            recipient,
          }
        : {
            venue: "uniswap-v2",
            action: "remove-liquidity",
            ...at,
            tokenIn: at.contract,
            amountIn: 0n,
            tokenOut: token,
            amountOut: amount,
            recipient,
          };
    });
  }

  /** A conversion, null for a log that is not one (another event of the same signature), or why not. */
  private async convert(
    kind: Exclude<
      keyof typeof CONVERSION_TOPICS,
      "uniswapV2Mint" | "uniswapV2Burn" | "balancerV2Liquidity"
    >,
    log: RawLog,
    at: { contract: string; txHash: string; blockNumber: number; logIndex: number },
  ): Promise<Conversion | string | null> {
    const data = log.data;
    switch (kind) {
      case "wrap":
      case "unwrap": {
        // Deposit(address,uint256) is a common event: only a wrapper's counts.
        if (!hasLogShape(log, 2, 1) || !(await this.isWrapper(at.contract, at.blockNumber)))
          return null;
        const amount = BigInt(data);
        const who = topicAddress(log.topics[1]);
        return kind === "wrap"
          ? {
              venue: "weth",
              action: "wrap",
              ...at,
              tokenIn: NATIVE,
              amountIn: amount,
              tokenOut: at.contract,
              amountOut: amount,
              recipient: who,
            }
          : {
              venue: "weth",
              action: "unwrap",
              ...at,
              tokenIn: at.contract,
              amountIn: amount,
              tokenOut: NATIVE,
              amountOut: amount,
              recipient: who,
            };
      }
      case "uniswapV2": {
        if (!hasLogShape(log, 3, 4)) return null;
        const tokens = await this.poolTokens(at.contract, at.blockNumber);
        if (tokens === null)
          return "a Swap of Uniswap V2's shape from a contract without token0/token1";
        const [in0, in1, out0, out1] = coder.decode(
          ["uint256", "uint256", "uint256", "uint256"],
          data,
        ) as unknown as bigint[];
        const side =
          (in0 ?? 0n) > 0n && (in1 ?? 0n) === 0n && (out1 ?? 0n) > 0n && (out0 ?? 0n) === 0n
            ? 0
            : (in1 ?? 0n) > 0n && (in0 ?? 0n) === 0n && (out0 ?? 0n) > 0n && (out1 ?? 0n) === 0n
              ? 1
              : null;
        if (side === null)
          return `a swap that is not one token for the other (in ${in0}/${in1}, out ${out0}/${out1})`;
        return {
          venue: "uniswap-v2",
          action: "swap",
          ...at,
          tokenIn: tokens[side],
          amountIn: side === 0 ? (in0 as bigint) : (in1 as bigint),
          tokenOut: tokens[1 - side] as string,
          amountOut: side === 0 ? (out1 as bigint) : (out0 as bigint),
          recipient: topicAddress(log.topics[2]),
        };
      }
      case "uniswapV3": {
        if (!hasLogShape(log, 3, 5)) return null;
        const tokens = await this.poolTokens(at.contract, at.blockNumber);
        if (tokens === null)
          return "a Swap of Uniswap V3's shape from a contract without token0/token1";
        const [a0, a1] = coder.decode(
          ["int256", "int256"],
          `0x${data.slice(2, 130)}`,
        ) as unknown as bigint[];
        // The pool's view: positive is what it received.
        if (a0 === undefined || a1 === undefined || !((a0 > 0n && a1 < 0n) || (a1 > 0n && a0 < 0n)))
          return `a swap that is not one token for the other (amounts ${a0}, ${a1})`;
        const side = a0 > 0n ? 0 : 1;
        return {
          venue: "uniswap-v3",
          action: "swap",
          ...at,
          tokenIn: tokens[side],
          amountIn: side === 0 ? a0 : a1,
          tokenOut: tokens[1 - side] as string,
          amountOut: side === 0 ? -a1 : -a0,
          recipient: topicAddress(log.topics[2]),
        };
      }
      case "curve": {
        if (!hasLogShape(log, 2, 4)) return null;
        const [sold, amountIn, bought, amountOut] = coder.decode(
          ["int128", "uint256", "int128", "uint256"],
          data,
        ) as unknown as bigint[];
        const [tokenIn, tokenOut] = await Promise.all([
          this.coin(at.contract, sold as bigint, at.blockNumber),
          this.coin(at.contract, bought as bigint, at.blockNumber),
        ]);
        if (tokenIn === null || tokenOut === null)
          return "a TokenExchange from a contract whose coins are unknown";
        return {
          venue: "curve",
          action: "swap",
          ...at,
          tokenIn,
          amountIn: amountIn as bigint,
          tokenOut,
          amountOut: amountOut as bigint,
          recipient: topicAddress(log.topics[1]),
        };
      }
      case "balancerV2": {
        if (!hasLogShape(log, 4, 2)) return null;
        const [amountIn, amountOut] = coder.decode(
          ["uint256", "uint256"],
          data,
        ) as unknown as bigint[];
        return {
          venue: "balancer-v2",
          action: "swap",
          ...at,
          tokenIn: topicAddress(log.topics[2]),
          amountIn: amountIn as bigint,
          tokenOut: topicAddress(log.topics[3]),
          amountOut: amountOut as bigint,
          recipient: null,
          pool: balancerPool(log.topics[1]),
        };
      }
    }
  }
}

/** The Balancer pool of a `poolId`: its first 20 bytes (then its specialization and a nonce). */
const balancerPool = (poolId: string | undefined): string =>
  (poolId ?? "0x").slice(0, 42).toLowerCase();

/**
 * Liquidity added to or removed from a Balancer V2 pool through the Vault (`PoolBalanceChanged`):
 * one conversion per token whose balance changed, each naming the pool, whose own token (BPT) the
 * liquidity is; or why the log is not read (deltas of both signs, arrays that disagree).
 */
function balancerLiquidity(
  log: RawLog,
  at: { contract: string; txHash: string; blockNumber: number; logIndex: number },
): (Conversion | string | null)[] {
  if (!hasLogShape(log, 3, 3, true)) return [null];
  let tokens: string[];
  let deltas: bigint[];
  try {
    const [t, d, fees] = coder.decode(
      ["address[]", "int256[]", "uint256[]"],
      log.data,
    ) as unknown as [string[], bigint[], bigint[]];
    if (t.length !== d.length || t.length !== fees.length)
      return ["a PoolBalanceChanged whose tokens, deltas and fees are not of one length"];
    tokens = t.map((x) => x.toLowerCase());
    deltas = [...d];
  } catch {
    return [null];
  }
  const join = deltas.some((d) => d > 0n);
  if (join && deltas.some((d) => d < 0n))
    return ["a PoolBalanceChanged that both adds and removes tokens"];
  const pool = balancerPool(log.topics[1]);
  const out: Conversion[] = [];
  tokens.forEach((token, i) => {
    const delta = deltas[i] as bigint;
    if (delta === 0n) return;
    out.push(
      join
        ? {
            venue: "balancer-v2",
            action: "add-liquidity",
            ...at,
            tokenIn: token,
            amountIn: delta,
            tokenOut: pool,
            amountOut: 0n,
            recipient: null,
            pool,
          }
        : {
            venue: "balancer-v2",
            action: "remove-liquidity",
            ...at,
            tokenIn: pool,
            amountIn: 0n,
            tokenOut: token,
            amountOut: -delta,
            recipient: null,
            pool,
          },
    );
  });
  return out.length === 0 ? [null] : out;
}
