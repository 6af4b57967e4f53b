/**
 * Uniswap V3 liquidity positions as conversions (docs/taint-models.md, "Uniswap V3 positions").
 * Liquidity added through the NonfungiblePositionManager is an ERC-721 position, not an ERC-20
 * token: the tokens paid into the pool buy liquidity of the position (`IncreaseLiquidity`), the
 * position changes hands by its ERC-721 `Transfer`, liquidity removed (`DecreaseLiquidity`) becomes
 * tokens owed to the position, and `Collect` pays them out with the swap fees the position earned.
 * Each event of the manager is read together with the pool's own event of the same transaction
 * (`Mint`, `Burn`, `Collect` for the manager), and the manager and the pool are recognised by what
 * they answer (the manager's `factory()` is the pool's, which the factory's `getPool` names),
 * never by a label.
 */
import { id as keccakId } from "ethers";
import { RangeTooLargeError, topicAddress, type RawLog, type RpcClient } from "../chain/rpc.js";
import { positionAsset } from "./funds/types.js";
import type { Conversion, SkippedLog } from "./conversion-types.js";

/** topic0 of the events a position is read from: the manager's, then the pool's. */
export const POSITION_TOPICS = {
  /** `IncreaseLiquidity(uint256 indexed tokenId, uint128 liquidity, uint256 amount0, uint256 amount1)`. */
  increase: keccakId("IncreaseLiquidity(uint256,uint128,uint256,uint256)"),
  /** `DecreaseLiquidity(uint256 indexed tokenId, uint128 liquidity, uint256 amount0, uint256 amount1)`. */
  decrease: keccakId("DecreaseLiquidity(uint256,uint128,uint256,uint256)"),
  /** `Collect(uint256 indexed tokenId, address recipient, uint256 amount0, uint256 amount1)`. */
  collect: keccakId("Collect(uint256,address,uint256,uint256)"),
  /** The pool's `Mint(address sender, address indexed owner, int24 indexed tickLower, int24 indexed tickUpper, uint128 amount, uint256 amount0, uint256 amount1)`. */
  poolMint: keccakId("Mint(address,address,int24,int24,uint128,uint256,uint256)"),
  /** The pool's `Burn(address indexed owner, int24 indexed tickLower, int24 indexed tickUpper, uint128 amount, uint256 amount0, uint256 amount1)`. */
  poolBurn: keccakId("Burn(address,int24,int24,uint128,uint256,uint256)"),
  /** The pool's `Collect(address indexed owner, address recipient, int24 indexed tickLower, int24 indexed tickUpper, uint128 amount0, uint128 amount1)`. */
  poolCollect: keccakId("Collect(address,address,int24,int24,uint128,uint128)"),
} as const;

/** ERC-721 `Transfer(address indexed from, address indexed to, uint256 indexed tokenId)`. */
const TRANSFER_TOPIC = keccakId("Transfer(address,address,uint256)");

/** The views a position's contracts are asked (the conversion reader's, cached there). */
export interface PositionViews {
  /** An `eth_call`'s answer at a block, or null when it fails or answers nothing. */
  view(to: string, data: string, block: number): Promise<string | null>;
  /** A pool's two tokens, or null. */
  poolTokens(pool: string, block: number): Promise<[string, string] | null>;
}

const SELECTOR = {
  factory: "0xc45a0155",
  fee: "0xddca3f43",
  getPool: "0x1698ee82",
  ownerOf: "0x6352211e",
  positions: "0x99fbab88",
} as const;

/** Blocks per eth_getLogs of the positions' transfers at first (halved when the node refuses). */
const LOG_RANGE = 100_000;
/** Token ids per eth_getLogs (one topic's list of alternatives). */
const IDS_PER_CALL = 50;

const word = (n: bigint) => n.toString(16).padStart(64, "0");
const words = (data: string): bigint[] => {
  const out: bigint[] = [];
  for (let i = 2; i + 64 <= data.length; i += 64) out.push(BigInt(`0x${data.slice(i, i + 64)}`));
  return out;
};
const addressWord = (w: bigint | undefined) => `0x${word(w ?? 0n).slice(24)}`;
const shape = (log: RawLog, topics: number, n: number) =>
  log.topics.length === topics && log.data.length === 2 + 64 * n;

/** A log with its place, decoded once. */
interface Event {
  log: RawLog;
  contract: string;
  txHash: string;
  block: number;
  index: number;
  /** topic1: the token id of a manager's event or transfer, the owner of a pool's. */
  key: string;
  data: bigint[];
}

const place = (log: RawLog): Omit<Event, "key" | "data"> => ({
  log,
  contract: log.address.toLowerCase(),
  txHash: log.transactionHash.toLowerCase(),
  block: Number(log.blockNumber),
  index: Number(log.logIndex),
});
const before = (a: { block: number; index: number }, b: { block: number; index: number }) =>
  a.block < b.block || (a.block === b.block && a.index < b.index);

/**
 * Reads Uniswap V3 positions' events into conversion records. `range` is the trace's blocks: the
 * transfers of every position an event names are read over it (an ERC-721 transfer alone in its
 * transaction carries no other event).
 */
export class PositionReader {
  private readonly managers = new Map<string, Promise<string | null>>();
  private readonly pools = new Map<string, Promise<[string, string] | string>>();
  /** The views asked, by contract, call and block (a lazy trace reads its logs again each round). */
  private readonly answers = new Map<string, Promise<string | null>>();
  /** The transfers of each position over the trace's blocks, by `MANAGER/ID`, asked once. */
  private readonly transfers = new Map<string, Promise<RawLog[]>>();

  constructor(
    private readonly rpc: RpcClient,
    private readonly views: PositionViews,
    private readonly range: { fromBlock: number; toBlock: number },
  ) {}

  /** The factory of a position manager (its `factory()`), null for a contract that is none. */
  private factoryOf(manager: string, block: number): Promise<string | null> {
    let known = this.managers.get(manager);
    if (known === undefined) {
      known = this.address(manager, SELECTOR.factory, block);
      this.managers.set(manager, known);
    }
    return known;
  }

  /** A view's answer at a block, asked once. */
  private view(to: string, data: string, block: number): Promise<string | null> {
    const key = `${to}/${data}/${block}`;
    let known = this.answers.get(key);
    if (known === undefined) {
      known = this.views.view(to, data, block);
      this.answers.set(key, known);
    }
    return known;
  }

  private async address(to: string, data: string, block: number): Promise<string | null> {
    const out = await this.view(to, data, block);
    if (out === null || !/^0x0{24}[0-9a-fA-F]{40}/.test(out)) return null;
    const a = `0x${out.slice(26, 66)}`.toLowerCase();
    return /^0x0{40}$/.test(a) ? null : a;
  }

  /**
   * A pool's tokens when it is the pool its factory (the manager's) names for them and its fee,
   * else why not.
   */
  private poolOf(pool: string, factory: string, block: number): Promise<[string, string] | string> {
    const key = `${pool}/${factory}`;
    let known = this.pools.get(key);
    if (known === undefined) {
      known = (async () => {
        const tokens = await this.views.poolTokens(pool, block);
        const [own, fee] = await Promise.all([
          this.address(pool, SELECTOR.factory, block),
          this.view(pool, SELECTOR.fee, block),
        ]);
        if (tokens === null || own !== factory || fee === null)
          return "the pool does not answer token0, token1, fee and the manager's factory";
        const named = await this.address(
          factory,
          `${SELECTOR.getPool}${word(BigInt(tokens[0]))}${word(BigInt(tokens[1]))}${word(BigInt(fee.slice(0, 66)))}`,
          block,
        );
        return named === pool
          ? tokens
          : "the factory does not name the pool for its tokens and fee";
      })();
      this.pools.set(key, known);
    }
    return known;
  }

  /** The owner of a position at the end of a block (`ownerOf`), null when it has none. */
  private ownerOf(manager: string, tokenId: bigint, block: number): Promise<string | null> {
    return this.address(manager, `${SELECTOR.ownerOf}${word(tokenId)}`, block);
  }

  /** A position's liquidity at the end of a block (`positions`), 0 once it is burnt. */
  private async liquidityOf(manager: string, tokenId: bigint, block: number): Promise<bigint> {
    const out = await this.view(manager, `${SELECTOR.positions}${word(tokenId)}`, block);
    return out === null ? 0n : (words(out)[7] ?? 0n);
  }

  /**
   * The logs of `manager` over the trace's blocks with one of `topic0s` and, at topic `at`, one of
   * `ids` (a position's own events name it at topic 1, its ERC-721 transfers at topic 3).
   */
  private async byIds(
    manager: string,
    ids: readonly bigint[],
    topic0s: readonly string[],
    at: 1 | 3,
  ): Promise<RawLog[]> {
    const out: RawLog[] = [];
    for (let i = 0; i < ids.length; i += IDS_PER_CALL) {
      const idTopics = ids.slice(i, i + IDS_PER_CALL).map((n) => `0x${word(n)}`);
      const topics = at === 1 ? [topic0s, idTopics] : [topic0s, null, null, idTopics];
      let span = LOG_RANGE;
      for (let a = this.range.fromBlock; a <= this.range.toBlock;) {
        const b = Math.min(this.range.toBlock, a + span - 1);
        try {
          out.push(
            ...(await this.rpc.call<RawLog[]>("eth_getLogs", [
              {
                fromBlock: `0x${a.toString(16)}`,
                toBlock: `0x${b.toString(16)}`,
                address: manager,
                topics,
              },
            ])),
          );
          a = b + 1;
        } catch (error) {
          if (!(error instanceof RangeTooLargeError) || span === 1) throw error;
          span = Math.max(1, Math.floor(span / 2));
        }
      }
    }
    return out;
  }

  /** The ERC-721 transfers of `ids` of `manager` over the trace's blocks (each position's once). */
  private async transfersOf(manager: string, ids: readonly bigint[]): Promise<RawLog[]> {
    const key = (id: bigint) => `${manager}/${id}`;
    const fresh = [...new Set(ids)].filter((id) => !this.transfers.has(key(id)));
    if (fresh.length > 0) {
      const read = this.byIds(manager, fresh, [TRANSFER_TOPIC], 3);
      for (const id of fresh)
        this.transfers.set(
          key(id),
          read.then((logs) => logs.filter((l) => BigInt(l.topics[3] ?? "0x0") === id)),
        );
    }
    return (await Promise.all(ids.map((id) => this.transfers.get(key(id)) ?? []))).flat();
  }

  /**
   * Every event of the positions `ids` of `manager` over the trace's blocks: its own
   * (`IncreaseLiquidity`, `DecreaseLiquidity`, `Collect`, filtered by the token id) and its ERC-721
   * transfers. A lazy trace reads their transactions whole for the positions the taint reached,
   * never the manager's history.
   */
  async eventsOf(manager: string, ids: readonly bigint[]): Promise<RawLog[]> {
    const T = POSITION_TOPICS;
    const [own, moved] = await Promise.all([
      this.byIds(manager, ids, [T.increase, T.decrease, T.collect], 1),
      this.transfersOf(manager, ids),
    ]);
    return [...own, ...moved];
  }

  /**
   * The conversion records of the positions' events among `logs` (in chain order; logs of other
   * events are ignored), and the events that could not be read as such, with the reason.
   */
  async read(
    logs: readonly RawLog[],
  ): Promise<{ conversions: Conversion[]; skipped: SkippedLog[] }> {
    const conversions: Conversion[] = [];
    const skipped: SkippedLog[] = [];
    const skip = (e: Omit<Event, "key" | "data">, reason: string) =>
      skipped.push({ txHash: e.txHash, logIndex: e.index, contract: e.contract, reason });
    const T = POSITION_TOPICS;
    const own: Event[] = [];
    const poolEvents = new Map<string, Event[]>();
    const given721: RawLog[] = [];
    for (const log of logs) {
      if (log.removed === true) continue;
      const topic = (log.topics[0] ?? "").toLowerCase();
      const decoded = () => ({
        ...place(log),
        key: (log.topics[1] ?? "").toLowerCase(),
        data: words(log.data),
      });
      if (topic === T.increase || topic === T.decrease || topic === T.collect) {
        if (shape(log, 2, 3)) own.push(decoded());
      } else if (topic === T.poolMint || topic === T.poolBurn || topic === T.poolCollect) {
        if (shape(log, 4, topic === T.poolMint ? 4 : 3)) {
          const e = decoded();
          const list = poolEvents.get(e.txHash) ?? [];
          list.push(e);
          poolEvents.set(e.txHash, list);
        }
      } else if (topic === TRANSFER_TOPIC && shape(log, 4, 0)) given721.push(log);
    }
    own.sort((a, b) => a.block - b.block || a.index - b.index);

    // The managers among the contracts, and the transfers of every position they name.
    const factories = new Map<string, string | null>();
    for (const e of own)
      if (!factories.has(e.contract))
        factories.set(e.contract, await this.factoryOf(e.contract, e.block));
    const ids = new Map<string, Set<bigint>>();
    for (const e of own) {
      if (factories.get(e.contract) === null) continue;
      const set = ids.get(e.contract) ?? new Set<bigint>();
      set.add(BigInt(e.key));
      ids.set(e.contract, set);
    }
    const seen = new Set<string>();
    const transfers: Event[] = [];
    const fetched = await Promise.all(
      [...ids].map(([manager, set]) => this.transfersOf(manager, [...set])),
    );
    for (const log of [...given721, ...fetched.flat()]) {
      const e = { ...place(log), key: (log.topics[3] ?? "").toLowerCase(), data: [] };
      const tokenId = BigInt(e.key);
      if (!ids.get(e.contract)?.has(tokenId) || log.removed === true) continue;
      const at = `${e.txHash}/${e.index}`;
      if (seen.has(at)) continue;
      seen.add(at);
      transfers.push(e);
    }
    transfers.sort((a, b) => a.block - b.block || a.index - b.index);
    const sameBlock = <X extends Event>(
      list: X[],
      manager: string,
      tokenId: bigint,
      block: number,
    ) =>
      list.filter((x) => x.contract === manager && x.block === block && BigInt(x.key) === tokenId);

    /**
     * The owner of a position at an event: the sender of its first transfer after the event in the
     * same block, else its owner at the end of the block.
     */
    const ownerAt = async (e: Event, tokenId: bigint): Promise<string | null> => {
      const next = sameBlock(transfers, e.contract, tokenId, e.block).find((t) => before(e, t));
      return next !== undefined
        ? topicAddress(next.log.topics[1])
        : this.ownerOf(e.contract, tokenId, e.block);
    };

    /** The pool's event that pairs with a manager's: same transaction, before it, unused. */
    const used = new Set<Event>();
    const pairOf = (e: Event, topic: string, test: (p: Event) => boolean): Event | undefined =>
      (poolEvents.get(e.txHash) ?? [])
        .filter(
          (p) =>
            !used.has(p) &&
            p.index < e.index &&
            (p.log.topics[0] ?? "").toLowerCase() === topic &&
            topicAddress(p.key) === e.contract &&
            test(p),
        )
        .pop();

    for (const e of own) {
      const factory = factories.get(e.contract) ?? null;
      if (factory === null) {
        skip(e, "a position manager's event from a contract without factory()");
        continue;
      }
      const topic = (e.log.topics[0] ?? "").toLowerCase();
      const tokenId = BigInt(e.key);
      const asset = positionAsset(e.contract, tokenId);
      const [x, a0, a1] = e.data as [bigint, bigint, bigint];
      const kind =
        topic === T.increase ? "increase" : topic === T.decrease ? "decrease" : "collect";
      const pool =
        kind === "increase"
          ? pairOf(e, T.poolMint, (p) => p.data[1] === x && p.data[2] === a0 && p.data[3] === a1)
          : kind === "decrease"
            ? pairOf(e, T.poolBurn, (p) => p.data[0] === x && p.data[1] === a0 && p.data[2] === a1)
            : pairOf(
                e,
                T.poolCollect,
                (p) => p.data[0] === x && p.data[1] === a0 && p.data[2] === a1,
              );
      if (pool === undefined) {
        const names = { increase: "Mint", decrease: "Burn", collect: "Collect" };
        skip(e, `no ${names[kind]} of the same amounts by a pool for the manager before it`);
        continue;
      }
      const tokens = await this.poolOf(pool.contract, factory, e.block);
      if (typeof tokens === "string") {
        skip(e, tokens);
        continue;
      }
      used.add(pool);
      const at = {
        venue: "uniswap-v3" as const,
        contract: pool.contract,
        txHash: e.txHash,
        blockNumber: e.block,
        logIndex: e.index,
      };
      if (kind === "collect") {
        const recipient = addressWord(x);
        for (const [i, amount] of [a0, a1].entries())
          conversions.push({
            ...at,
            action: "collect",
            tokenIn: tokens[i] as string,
            amountIn: amount,
            tokenOut: tokens[i] as string,
            amountOut: amount,
            recipient,
            position: { manager: e.contract, tokenId, asset, owner: asset, liquidity: 0n },
          });
        continue;
      }
      const owner = await ownerAt(e, tokenId);
      if (owner === null) {
        skip(e, "the position has no owner at the event (ownerOf fails)");
        continue;
      }
      const position = { manager: e.contract, tokenId, asset, owner, liquidity: x };
      for (const [i, amount] of [a0, a1].entries())
        conversions.push(
          kind === "increase"
            ? {
                ...at,
                action: "add-liquidity",
                tokenIn: tokens[i] as string,
                amountIn: amount,
                tokenOut: asset,
                amountOut: 0n,
                recipient: owner,
                position,
              }
            : {
                ...at,
                action: "remove-liquidity",
                tokenIn: asset,
                amountIn: 0n,
                tokenOut: tokens[i] as string,
                amountOut: amount,
                recipient: asset,
                position,
              },
        );
    }

    // A transfer moves the position's whole liquidity at that moment: its liquidity at the end of
    // the block, less what the block's later events added, plus what they removed.
    for (const t of transfers) {
      const tokenId = BigInt(t.key);
      const after = sameBlock(own, t.contract, tokenId, t.block).filter((e) => before(t, e));
      let liquidity = await this.liquidityOf(t.contract, tokenId, t.block);
      for (const e of after) {
        const topic = (e.log.topics[0] ?? "").toLowerCase();
        if (topic === T.increase) liquidity -= e.data[0] ?? 0n;
        else if (topic === T.decrease) liquidity += e.data[0] ?? 0n;
      }
      if (liquidity <= 0n) continue;
      const asset = positionAsset(t.contract, tokenId);
      conversions.push({
        venue: "uniswap-v3",
        action: "position-transfer",
        contract: t.contract,
        txHash: t.txHash,
        blockNumber: t.block,
        logIndex: t.index,
        tokenIn: asset,
        amountIn: liquidity,
        tokenOut: asset,
        amountOut: liquidity,
        recipient: topicAddress(t.log.topics[2]),
        position: {
          manager: t.contract,
          tokenId,
          asset,
          owner: topicAddress(t.log.topics[1]),
          liquidity,
        },
      });
    }

    // What a pool paid or was paid for liquidity that no manager's event explains stays with it.
    for (const list of poolEvents.values())
      for (const p of list) {
        const topic = (p.log.topics[0] ?? "").toLowerCase();
        const moved =
          topic === T.poolMint
            ? (p.data[2] ?? 0n) + (p.data[3] ?? 0n)
            : topic === T.poolCollect
              ? (p.data[1] ?? 0n) + (p.data[2] ?? 0n)
              : 0n;
        if (used.has(p) || moved === 0n) continue;
        skip(
          p,
          topic === T.poolMint
            ? "liquidity added to a Uniswap V3 pool by no position manager's IncreaseLiquidity: not followed (the pool keeps what was paid in)"
            : "tokens collected from a Uniswap V3 pool by no position manager's Collect: not followed",
        );
      }
    return { conversions, skipped };
  }
}
