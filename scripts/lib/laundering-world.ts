/**
 * A generated world of stolen funds laundered among everyday traffic, on two chains, with the
 * truth of where every unit of the theft ended (`npm run bench:laundering`; docs/taint-models.md,
 * "A scored benchmark").
 *
 * The world is what the tracer reads, in memory: ERC-20 and native transfers (native ones ordered
 * by {@link NATIVE_ORDINAL}, a gas fee for every transaction), the conversions a ConversionReader
 * would give (Uniswap-V2-style pairs with constant-product pricing and a 0.3 % fee, whose swaps are
 * a transfer in, a transfer out and a Swap; WETH9 wrapping and unwrapping, which emit no Transfer;
 * liquidity added and removed, a Mint or Burn read as two records), and the deposits and releases
 * of two bridges (Across, paired by its id; CCTP V2, whose events carry none: paired by the
 * fallback), with the transfers that pay the bridge and pay the recipient. Around them:
 * exchanges whose customers pay into deposit addresses of their own, swept to the labeled hot
 * wallet a few blocks later; a Tornado-style mixer (labeled); routers; liquidity providers; and
 * background traders paying, swapping, wrapping, depositing, withdrawing, mixing and bridging.
 *
 * The theft (two seed transactions) is laundered through a fan-out, peel chains, swaps (one
 * through a router to the native coin, a multi-hop route), wrapping and unwrapping, both bridges
 * (and a deposit bound for a chain nobody reads), the thief's own deposit addresses at the
 * exchanges, the mixer, and some is held at the end. Every laundering step also moves the truth
 * ({@link Truth}): the stolen amount and its value in the stolen asset (carried whole through a
 * conversion or a bridge, shared in proportion by a transfer, as the tracer values taint), so that
 * the value of the end points adds up to the theft exactly.
 *
 * Deterministic: one seeded PRNG, one agenda in time order.
 */
import type { Conversion } from "../../src/analytics/conversions.js";
import {
  KNOWN_BRIDGE_CONTRACTS,
  type BridgeDeposit,
  type BridgeRelease,
  type ChainToken,
} from "../../src/analytics/bridges/index.js";
import { NATIVE_ORDINAL } from "../../src/analytics/funds/moves.js";
import {
  accountKey,
  ZERO_ADDRESS,
  type Label,
  type Seed,
  type Transfer,
} from "../../src/analytics/funds/taint.js";
import { FEE_SINK } from "../../src/db/streams.js";
import { prng } from "./bench.js";

export const CHAIN_A = 1;
export const CHAIN_B = 8453;
/** A chain the world has no reading of: a bridge deposit bound there is never released. */
export const UNREAD_CHAIN = 42_161;
/** 2025-01-01T00:00:00Z. */
const START = 1_735_689_600;
const NATIVE = "native";
const E18 = 10n ** 18n;
const GWEI = 10n ** 9n;

/** The account a chain's asset is held in, as a trace across chains names it. */
export const worldAccount = (chainId: number, token: string, address: string): string =>
  accountKey(`${chainId}:${token}`, address);

export interface WorldOptions {
  /** The PRNG's seed (default 20_250_101). */
  seed?: number;
  /** Background traders on the first chain (the second gets half). Default 240. */
  traders?: number;
  /** Background transactions over both chains. Default 6000. */
  backgroundTxs?: number;
  /** How long the world runs, in hours (default 12). */
  hours?: number;
}

/** Where stolen value ended: an exchange deposit address, the mixer, a bridge, or a holder. */
export type EndKind = "deposit" | "mixer" | "bridge" | "holding";

export interface EndPoint {
  chainId: number;
  token: string;
  address: string;
  kind: EndKind;
  /** Stolen units of `token` that ended there, and their value in the stolen asset. */
  amount: bigint;
  value: bigint;
  /** Whose account it is, in words. */
  label: string;
}

/**
 * The truth of the theft: the stolen total (in the seed asset's base units), every end point by
 * {@link worldAccount}, and the accounts the stolen value passed through (the thief's accounts:
 * never a pool, a router, a bridge or a relayer, which only convert or pass on).
 */
export interface WorldTruth {
  seedChainId: number;
  seedToken: string;
  stolen: bigint;
  ends: Map<string, EndPoint>;
  path: Set<string>;
}

export interface WorldChain {
  chainId: number;
  name: string;
  /** Every transfer, each with `chainId`; native ones with the ordinals of {@link NATIVE_ORDINAL}. */
  transfers: Transfer[];
  conversions: Conversion[];
  deposits: BridgeDeposit[];
  releases: BridgeRelease[];
  /** Labels by address: the exchanges' hot wallets and the mixer's pools. */
  labels: Map<string, Label>;
}

export interface WorldSize {
  transfers: number;
  conversions: number;
  /** Bridge deposits released on the other chain (every crossing of the world), and unreleased. */
  crossings: number;
  unreleased: number;
  traders: number;
  exchanges: number;
  depositAddresses: number;
  pools: number;
  mixerDeposits: number;
  liquidityEvents: number;
  /** The thief's transactions after the seeds. */
  launderingTxs: number;
}

export interface LaunderingWorld {
  chains: WorldChain[];
  /** Balances before the first transfer, by {@link worldAccount}. */
  initialBalances: Map<string, bigint>;
  seeds: Seed[];
  /** The same token on both chains, for the bridges' fallback pairing. */
  bridgeTokens: ChainToken[][];
  truth: WorldTruth;
  size: WorldSize;
  /** Who the world's named addresses are (hot wallets, pools, the thief's accounts, …). */
  names: ReadonlyMap<string, string>;
  /** The assets, by `CHAINID:TOKEN`: symbol and decimals. */
  assets: ReadonlyMap<string, { symbol: string; decimals: number }>;
}

interface Token {
  address: string;
  symbol: string;
  decimals: number;
  /** Dollars per whole token, for sizing amounts. */
  price: number;
}

interface Pair {
  address: string;
  token0: string;
  token1: string;
  r0: bigint;
  r1: bigint;
  supply: bigint;
}

interface Exchange {
  name: string;
  hot: string;
}

/** A customer's account at an exchange: the deposit address it pays into. */
interface Account {
  address: string;
  ex: Exchange;
}

interface Trader {
  address: string;
  /** The customer's deposit address at its exchange on this chain. */
  deposit: string;
  exchange: Exchange;
  lp: boolean;
}

interface ChainState extends WorldChain {
  blockTime: number;
  firstBlock: number;
  /** Gas price bounds, in wei. */
  gasPrice: [bigint, bigint];
  block: number;
  txIndex: number;
  logIndex: number;
  nativeOrdinal: number;
  native: Token;
  usdc: Token;
  dai: Token;
  weth: Token;
  tkn: Token | undefined;
  tokens: Token[];
  pairs: Pair[];
  router: string;
  exchanges: Exchange[];
  traders: Trader[];
  spokePool: string;
  acrossRelayer: string;
  messenger: string;
  minter: string;
  cctpRelayer: string;
  depositIds: number;
}

/** The agenda: what happens next, in time order (ties in the order planned). */
class Agenda {
  private readonly heap: { time: number; seq: number; run: () => void }[] = [];
  private seq = 0;

  at(time: number, run: () => void): void {
    const item = { time: Math.floor(time), seq: this.seq++, run };
    const h = this.heap;
    h.push(item);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.before(i, p)) break;
      [h[i], h[p]] = [h[p] as typeof item, h[i] as typeof item];
      i = p;
    }
  }

  /**
   * Runs everything planned, including what the runs plan, in time order, telling `now` each
   * item's time before it runs.
   */
  drain(now: (time: number) => void): void {
    const h = this.heap;
    while (h.length > 0) {
      const top = h[0] as (typeof h)[number];
      const last = h.pop() as (typeof h)[number];
      if (h.length > 0) {
        h[0] = last;
        let i = 0;
        for (;;) {
          const l = 2 * i + 1;
          const r = l + 1;
          let m = i;
          if (l < h.length && this.before(l, m)) m = l;
          if (r < h.length && this.before(r, m)) m = r;
          if (m === i) break;
          [h[i], h[m]] = [h[m] as typeof top, h[i] as typeof top];
          i = m;
        }
      }
      now(top.time);
      top.run();
    }
  }

  private before(i: number, j: number): boolean {
    const a = this.heap[i] as { time: number; seq: number };
    const b = this.heap[j] as { time: number; seq: number };
    return a.time < b.time || (a.time === b.time && a.seq < b.seq);
  }
}

/** The truth as the laundering moves it (see the header). */
class Truth implements WorldTruth {
  stolen = 0n;
  readonly ends = new Map<string, EndPoint>();
  readonly path = new Set<string>();
  /** The thief's accounts holding stolen funds now: amount and value. */
  private readonly held = new Map<
    string,
    { chainId: number; token: string; address: string; amount: bigint; value: bigint }
  >();

  constructor(
    readonly seedChainId: number,
    readonly seedToken: string,
  ) {}

  seed(address: string, amount: bigint): void {
    this.stolen += amount;
    this.give(this.seedChainId, this.seedToken, address, amount, amount);
  }

  /** Stolen units of an account: how many it holds now. */
  holds(chainId: number, token: string, address: string): bigint {
    return this.held.get(worldAccount(chainId, token, address))?.amount ?? 0n;
  }

  /** Takes `amount` stolen units from an account; returns their value (its share, rounded down). */
  take(chainId: number, token: string, address: string, amount: bigint): bigint {
    const key = worldAccount(chainId, token, address);
    const h = this.held.get(key);
    if (h === undefined || h.amount < amount)
      throw new Error(`the thief's ${key} holds ${h?.amount ?? 0n} stolen, not ${amount}`);
    const value = amount === h.amount ? h.value : (h.value * amount) / h.amount;
    h.amount -= amount;
    h.value -= value;
    return value;
  }

  give(chainId: number, token: string, address: string, amount: bigint, value: bigint): void {
    const key = worldAccount(chainId, token, address);
    this.path.add(key);
    const h = this.held.get(key);
    if (h === undefined) this.held.set(key, { chainId, token, address, amount, value });
    else {
      h.amount += amount;
      h.value += value;
    }
  }

  end(
    chainId: number,
    token: string,
    address: string,
    kind: EndKind,
    label: string,
    amount: bigint,
    value: bigint,
  ): void {
    const key = worldAccount(chainId, token, address);
    const e = this.ends.get(key);
    if (e === undefined)
      this.ends.set(key, { chainId, token, address, kind, amount, value, label });
    else {
      e.amount += amount;
      e.value += value;
    }
  }

  /** What the thief still holds at the end: holdings, end points of their own. */
  finish(labelOf: (address: string) => string): void {
    for (const [key, h] of this.held)
      if (h.amount > 0n || h.value > 0n)
        this.ends.set(key, { ...h, kind: "holding", label: labelOf(h.address) });
  }
}

/** One transaction being built: its place, and the logs and native movements it emits. */
class Tx {
  constructor(
    private readonly w: World,
    readonly chain: ChainState,
    readonly hash: string,
    readonly blockNumber: number,
    readonly txIndex: number,
    readonly time: number,
  ) {}

  /** The next log index of the block (a log that is no Transfer: Swap, Sync, Deposit, …). */
  log(): number {
    return this.chain.logIndex++;
  }

  /** An ERC-20 Transfer log (from the zero address: a mint; to it: a burn). */
  erc20(token: string, from: string, to: string, amount: bigint): void {
    this.push(token, from, to, amount, this.log());
  }

  /** The transaction's own value. */
  value(from: string, to: string, amount: bigint): void {
    this.push(NATIVE, from, to, amount, NATIVE_ORDINAL.value + this.chain.nativeOrdinal++);
  }

  /** A call with value inside the transaction. */
  internal(from: string, to: string, amount: bigint): void {
    this.push(NATIVE, from, to, amount, NATIVE_ORDINAL.internal + this.chain.nativeOrdinal++);
  }

  fee(from: string, amount: bigint): void {
    this.push(NATIVE, from, FEE_SINK, amount, NATIVE_ORDINAL.fee + this.chain.nativeOrdinal++);
  }

  conversion(c: Omit<Conversion, "txHash" | "blockNumber">): void {
    this.chain.conversions.push({ ...c, txHash: this.hash, blockNumber: this.blockNumber });
  }

  private push(token: string, from: string, to: string, amount: bigint, ordinal: number): void {
    if (amount <= 0n) throw new Error(`a transfer of ${amount} ${token} in ${this.hash}`);
    this.w.move(this.chain.chainId, token, from, to, amount);
    this.chain.transfers.push({
      chainId: this.chain.chainId,
      blockNumber: this.blockNumber,
      txIndex: this.txIndex,
      ordinal,
      txHash: this.hash,
      token,
      from,
      to,
      amount,
      time: this.time,
    });
  }
}

/** Gas of each kind of transaction (typical mainnet figures). */
const GAS = {
  transfer: 21_000n,
  erc20: 55_000n,
  swap: 130_000n,
  route: 190_000n,
  router: 160_000n,
  wrap: 45_000n,
  liquidity: 180_000n,
  mixerDeposit: 1_000_000n,
  mixerWithdraw: 380_000n,
  bridge: 110_000n,
  disperse: 260_000n,
} as const;

/** The world and its builders (see the header). */
class World {
  readonly rnd: () => number;
  readonly agenda = new Agenda();
  readonly balances = new Map<string, bigint>();
  readonly initial = new Map<string, bigint>();
  readonly chains = new Map<number, ChainState>();
  readonly names = new Map<string, string>();
  readonly mixer: { pools: { address: string; denomination: bigint; notes: number }[] };
  mixerRelayer = "";
  now = START;
  launderingTxs = 0;
  mixerDeposits = 0;
  liquidityEvents = 0;
  /** Addresses made so far (no address is made twice). */
  private readonly made = new Set<string>();

  constructor(seed: number) {
    this.rnd = prng(seed);
    this.mixer = { pools: [] };
    this.names.set(FEE_SINK, "gas fees");
  }

  int(n: number): number {
    return Math.floor(this.rnd() * n);
  }

  /** Plans `run` at `time`, or now if that is past (a step planned after a late one). */
  at(time: number, run: () => void): void {
    this.agenda.at(Math.max(time, this.now), run);
  }

  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)] as T;
  }

  /** A share of `amount` between `lo` and `hi` (fractions), in exact integers. */
  share(amount: bigint, lo: number, hi: number): bigint {
    const f = lo + this.rnd() * (hi - lo);
    return (amount * BigInt(Math.floor(f * 1_000_000))) / 1_000_000n;
  }

  private hex(bytes: number): string {
    let s = "";
    for (let i = 0; i < bytes; i += 4)
      s += Math.floor(this.rnd() * 0x1_0000_0000)
        .toString(16)
        .padStart(8, "0");
    return s.slice(0, bytes * 2);
  }

  address(name?: string): string {
    let a = `0x${this.hex(20)}`;
    while (this.made.has(a)) a = `0x${this.hex(20)}`;
    this.made.add(a);
    if (name !== undefined) this.names.set(a, name);
    return a;
  }

  /** Whole tokens (a decimal number) in base units. */
  units(token: Token, whole: number): bigint {
    return (BigInt(Math.round(whole * 1e6)) * 10n ** BigInt(token.decimals)) / 1_000_000n;
  }

  /** An amount of `token` worth `dollars`. */
  worth(token: Token, dollars: number): bigint {
    return this.units(token, dollars / token.price);
  }

  balance(chainId: number, token: string, address: string): bigint {
    return this.balances.get(worldAccount(chainId, token, address)) ?? 0n;
  }

  /** A balance held before the world starts. */
  fund(chainId: number, token: string, address: string, amount: bigint): void {
    const key = worldAccount(chainId, token, address);
    this.initial.set(key, (this.initial.get(key) ?? 0n) + amount);
    this.balances.set(key, (this.balances.get(key) ?? 0n) + amount);
  }

  move(chainId: number, token: string, from: string, to: string, amount: bigint): void {
    if (from !== ZERO_ADDRESS) {
      const key = worldAccount(chainId, token, from);
      const has = this.balances.get(key) ?? 0n;
      if (has < amount) throw new Error(`${key} holds ${has}, cannot send ${amount}`);
      this.balances.set(key, has - amount);
    }
    if (to !== ZERO_ADDRESS) {
      const key = worldAccount(chainId, token, to);
      this.balances.set(key, (this.balances.get(key) ?? 0n) + amount);
    }
  }

  /** Credits or debits a balance no transfer shows (WETH9's deposit and withdrawal). */
  adjust(chainId: number, token: string, address: string, delta: bigint): void {
    const key = worldAccount(chainId, token, address);
    const next = (this.balances.get(key) ?? 0n) + delta;
    if (next < 0n) throw new Error(`${key} would hold ${next}`);
    this.balances.set(key, next);
  }

  gasPrice(c: ChainState): bigint {
    const [lo, hi] = c.gasPrice;
    return lo + (BigInt(this.int(1_000_000)) * (hi - lo)) / 1_000_000n;
  }

  /** The fee a transaction of `gas` would cost at most on `c`. */
  maxFee(c: ChainState, gas: bigint): bigint {
    return gas * c.gasPrice[1];
  }

  /**
   * A transaction sent by `sender` now on chain `c`, its fee paid first; `body` emits what it does.
   * False (nothing sent) when the sender can't pay the fee.
   */
  tx(c: ChainState, sender: string, gas: bigint, body: (t: Tx) => void): boolean {
    const fee = gas * this.gasPrice(c);
    if (this.balance(c.chainId, NATIVE, sender) < fee) return false;
    const block = c.firstBlock + Math.floor((this.now - START) / c.blockTime);
    if (block !== c.block) {
      c.block = block;
      c.txIndex = 0;
      c.logIndex = 0;
      c.nativeOrdinal = 0;
    } else c.txIndex++;
    const time = START + (block - c.firstBlock) * c.blockTime;
    const t = new Tx(this, c, `0x${this.hex(32)}`, block, c.txIndex, time);
    t.fee(sender, fee);
    body(t);
    return true;
  }

  /** Like {@link tx}, for a transaction that must happen (the laundering's, the exchanges'). */
  must(c: ChainState, sender: string, gas: bigint, body: (t: Tx) => void): Tx {
    let made: Tx | undefined;
    if (
      !this.tx(c, sender, gas, (t) => {
        made = t;
        body(t);
      })
    )
      throw new Error(`${sender} on chain ${c.chainId} cannot pay for gas`);
    return made as Tx;
  }

  // Pools, routers, wrapping.

  pairOf(c: ChainState, a: string, b: string): Pair {
    const p = c.pairs.find(
      (x) => (x.token0 === a && x.token1 === b) || (x.token0 === b && x.token1 === a),
    );
    if (p === undefined) throw new Error(`no pair of ${a} and ${b} on chain ${c.chainId}`);
    return p;
  }

  /** Uniswap V2's getAmountOut: constant product, 0.3 % fee. */
  static amountOut(amountIn: bigint, reserveIn: bigint, reserveOut: bigint): bigint {
    const withFee = amountIn * 997n;
    return (withFee * reserveOut) / (reserveIn * 1000n + withFee);
  }

  /** What a route of `path` (tokens) would pay for `amountIn` now. */
  quote(c: ChainState, path: readonly string[], amountIn: bigint): bigint {
    let amount = amountIn;
    for (let i = 0; i + 1 < path.length; i++) {
      const p = this.pairOf(c, path[i] as string, path[i + 1] as string);
      const zeroIn = p.token0 === path[i];
      amount = World.amountOut(amount, zeroIn ? p.r0 : p.r1, zeroIn ? p.r1 : p.r0);
    }
    return amount;
  }

  /**
   * Swaps `amountIn` of `path[0]` along `path` (pair after pair; each pair pays the next), the
   * last output to `to`; `payer` pays the first pair unless it was paid already. Returns the output.
   */
  swap(
    t: Tx,
    payer: string,
    path: readonly string[],
    amountIn: bigint,
    to: string,
    paid = false,
  ): bigint {
    const c = t.chain;
    let amount = amountIn;
    for (let i = 0; i + 1 < path.length; i++) {
      const tokenIn = path[i] as string;
      const tokenOut = path[i + 1] as string;
      const p = this.pairOf(c, tokenIn, tokenOut);
      if (i === 0 && !paid) t.erc20(tokenIn, payer, p.address, amount);
      const zeroIn = p.token0 === tokenIn;
      const out = World.amountOut(amount, zeroIn ? p.r0 : p.r1, zeroIn ? p.r1 : p.r0);
      if (out <= 0n) throw new Error(`a swap of ${amount} ${tokenIn} pays nothing`);
      const recipient =
        i + 2 < path.length ? this.pairOf(c, tokenOut, path[i + 2] as string).address : to;
      t.erc20(tokenOut, p.address, recipient, out);
      t.log(); // Sync
      t.conversion({
        venue: "uniswap-v2",
        action: "swap",
        contract: p.address,
        logIndex: t.log(),
        tokenIn,
        amountIn: amount,
        tokenOut,
        amountOut: out,
        recipient,
      });
      if (zeroIn) {
        p.r0 += amount;
        p.r1 -= out;
      } else {
        p.r1 += amount;
        p.r0 -= out;
      }
      amount = out;
    }
    return amount;
  }

  /** WETH9's deposit: native in (the sender's value, or a contract's call), no Transfer. */
  wrap(t: Tx, who: string, amount: bigint, call: "value" | "internal"): void {
    const weth = t.chain.weth.address;
    if (call === "value") t.value(who, weth, amount);
    else t.internal(who, weth, amount);
    this.adjust(t.chain.chainId, weth, who, amount);
    t.conversion({
      venue: "weth",
      action: "wrap",
      contract: weth,
      logIndex: t.log(),
      tokenIn: NATIVE,
      amountIn: amount,
      tokenOut: weth,
      amountOut: amount,
      recipient: who,
    });
  }

  /** WETH9's withdraw: no Transfer, the native coin paid back by a call. */
  unwrap(t: Tx, who: string, amount: bigint): void {
    const weth = t.chain.weth.address;
    this.adjust(t.chain.chainId, weth, who, -amount);
    t.conversion({
      venue: "weth",
      action: "unwrap",
      contract: weth,
      logIndex: t.log(),
      tokenIn: weth,
      amountIn: amount,
      tokenOut: NATIVE,
      amountOut: amount,
      recipient: who,
    });
    t.internal(weth, who, amount);
  }

  /** The router's swapExactETHForTokens: value to the router, wrapped, swapped along `path`. */
  ethForTokens(t: Tx, who: string, amountIn: bigint, path: readonly string[], to: string): bigint {
    const router = t.chain.router;
    t.value(who, router, amountIn);
    this.wrap(t, router, amountIn, "internal");
    t.erc20(
      t.chain.weth.address,
      router,
      this.pairOf(t.chain, path[0] as string, path[1] as string).address,
      amountIn,
    );
    return this.swap(t, router, path, amountIn, to, true);
  }

  /** The router's swapExactTokensForETH: swapped to the router, unwrapped, paid out. */
  tokensForEth(t: Tx, who: string, path: readonly string[], amountIn: bigint, to: string): bigint {
    const router = t.chain.router;
    const out = this.swap(t, who, path, amountIn, router);
    this.unwrap(t, router, out);
    t.internal(router, to, out);
    return out;
  }

  addLiquidity(t: Tx, lp: string, p: Pair, amount0: bigint): void {
    const amount1 = (amount0 * p.r1) / p.r0 + 1n;
    const l0 = (amount0 * p.supply) / p.r0;
    const l1 = (amount1 * p.supply) / p.r1;
    const minted = l0 < l1 ? l0 : l1;
    t.erc20(p.token0, lp, p.address, amount0);
    t.erc20(p.token1, lp, p.address, amount1);
    t.erc20(p.address, ZERO_ADDRESS, lp, minted);
    this.liquidityEvent(t, p, "add-liquidity", [amount0, amount1], null);
    p.r0 += amount0;
    p.r1 += amount1;
    p.supply += minted;
  }

  removeLiquidity(t: Tx, lp: string, p: Pair, liquidity: bigint): void {
    const amount0 = (liquidity * p.r0) / p.supply;
    const amount1 = (liquidity * p.r1) / p.supply;
    t.erc20(p.address, lp, p.address, liquidity);
    t.erc20(p.address, p.address, ZERO_ADDRESS, liquidity);
    t.erc20(p.token0, p.address, lp, amount0);
    t.erc20(p.token1, p.address, lp, amount1);
    this.liquidityEvent(t, p, "remove-liquidity", [amount0, amount1], lp);
    p.r0 -= amount0;
    p.r1 -= amount1;
    p.supply -= liquidity;
  }

  /**
   * A pair's Sync, then its Mint or Burn, read as two records (one per token, token0's first), as
   * the ConversionReader reads them: the liquidity token's amount is not in the event (0n).
   */
  private liquidityEvent(
    t: Tx,
    p: Pair,
    action: "add-liquidity" | "remove-liquidity",
    amounts: readonly [bigint, bigint],
    recipient: string | null,
  ): void {
    t.log(); // Sync
    const logIndex = t.log(); // Mint or Burn
    const add = action === "add-liquidity";
    for (const [token, amount] of [
      [p.token0, amounts[0]],
      [p.token1, amounts[1]],
    ] as const)
      t.conversion({
        venue: "uniswap-v2",
        action,
        contract: p.address,
        logIndex,
        tokenIn: add ? token : p.address,
        amountIn: add ? amount : 0n,
        tokenOut: add ? p.address : token,
        amountOut: add ? 0n : amount,
        recipient,
      });
    this.liquidityEvents++;
  }

  // Exchanges: deposit addresses swept to the hot wallet a few blocks later.

  private readonly pending = new Map<string, bigint>();

  /** Pays `amount` of `token` into a deposit address, and plans its sweep 1–5 blocks later. */
  depositTo(
    t: Tx,
    c: ChainState,
    from: string,
    deposit: string,
    ex: Exchange,
    token: string,
    amount: bigint,
  ): void {
    if (token === NATIVE) t.value(from, deposit, amount);
    else t.erc20(token, from, deposit, amount);
    const key = worldAccount(c.chainId, token, deposit);
    const before = this.pending.get(key) ?? 0n;
    this.pending.set(key, before + amount);
    if (before === 0n)
      this.at(this.now + c.blockTime * (1 + this.int(5)), () => this.sweep(c, deposit, ex, token));
  }

  /** The exchange sweeps what was paid into the deposit address (topping its gas up first for a token). */
  private sweep(c: ChainState, deposit: string, ex: Exchange, token: string): void {
    const key = worldAccount(c.chainId, token, deposit);
    const pending = this.pending.get(key) ?? 0n;
    this.pending.delete(key);
    if (pending === 0n) return;
    const gas = token === NATIVE ? GAS.transfer : GAS.erc20;
    if (token !== NATIVE && this.balance(c.chainId, NATIVE, deposit) < this.maxFee(c, gas)) {
      const topUp = this.maxFee(c, gas) * 3n;
      this.must(c, ex.hot, GAS.transfer, (t) => t.value(ex.hot, deposit, topUp));
    }
    this.must(c, deposit, gas, (t) => {
      if (token !== NATIVE) t.erc20(token, deposit, ex.hot, pending);
      else {
        const all = this.balance(c.chainId, NATIVE, deposit);
        t.value(deposit, ex.hot, pending < all ? pending : all);
      }
    });
  }

  // The mixer.

  mixerDeposit(
    t: Tx,
    who: string,
    pool: { address: string; denomination: bigint; notes: number },
  ): void {
    t.value(who, pool.address, pool.denomination);
    t.log(); // Deposit(commitment, leafIndex, timestamp)
    pool.notes++;
    this.mixerDeposits++;
  }

  mixerWithdraw(
    c: ChainState,
    pool: { address: string; denomination: bigint; notes: number },
    to: string,
  ): void {
    const fee = pool.denomination / 200n; // the relayer's 0.5 %
    pool.notes--;
    this.must(c, this.mixerRelayer, GAS.mixerWithdraw, (t) => {
      t.log(); // Withdrawal(to, nullifierHash, relayer, fee)
      t.internal(pool.address, to, pool.denomination - fee);
      t.internal(pool.address, this.mixerRelayer, fee);
    });
  }

  // Bridges.

  /**
   * An Across deposit (the SpokePool takes the token) for `recipient` on `to`; the relayer fills
   * it 20–90 s later from its own funds, less `feePpm`. Calls `then` with the fill's amount, at the
   * fill. A deposit bound for an unread chain is never filled.
   */
  across(
    c: ChainState,
    sender: string,
    token: Token,
    amount: bigint,
    toChain: number,
    recipient: string,
    feePpm: bigint,
    then?: (received: bigint) => void,
  ): void {
    const depositId = c.depositIds++;
    const dst = this.chains.get(toChain);
    const outputToken = dst === undefined ? token.address : this.sameToken(token, dst).address;
    const output = amount - (amount * feePpm) / 1_000_000n;
    const pairingId = `across:${c.chainId}:${depositId}`;
    const t = this.must(c, sender, GAS.bridge, (t) =>
      t.erc20(token.address, sender, c.spokePool, amount),
    );
    c.deposits.push({
      side: "deposit",
      bridge: "across",
      event: "V3FundsDeposited",
      chainId: c.chainId,
      contract: c.spokePool,
      txHash: t.hash,
      blockNumber: t.blockNumber,
      logIndex: t.log(),
      time: t.time,
      pairingId,
      sender,
      token: token.address,
      amount,
      destinationChainId: toChain,
      destinationToken: outputToken,
      recipient,
    });
    if (dst === undefined) return;
    this.at(this.now + 20 + this.int(70), () => {
      const f = this.must(dst, dst.acrossRelayer, GAS.bridge, (f) =>
        f.erc20(outputToken, dst.acrossRelayer, recipient, output),
      );
      dst.releases.push({
        side: "release",
        bridge: "across",
        event: "FilledV3Relay",
        chainId: dst.chainId,
        contract: dst.spokePool,
        txHash: f.hash,
        blockNumber: f.blockNumber,
        logIndex: f.log(),
        time: f.time,
        pairingId,
        sourceChainId: c.chainId,
        sourceToken: token.address,
        recipient,
        token: outputToken,
        amount: output,
      });
      then?.(output);
    });
  }

  /**
   * A CCTP V2 burn (the TokenMinter takes the USDC and burns it; no event says a nonce) for
   * `recipient` on `to`, minted there `delay` seconds later less `fee` (a fast transfer's). The
   * release carries no pairing id: the fallback pairs it.
   */
  cctp(
    c: ChainState,
    sender: string,
    amount: bigint,
    toChain: number,
    recipient: string,
    delay: number,
    fee: bigint,
    then?: (received: bigint) => void,
  ): void {
    const dst = this.chains.get(toChain) as ChainState;
    const usdc = c.usdc.address;
    const t = this.must(c, sender, GAS.bridge, (t) => {
      t.erc20(usdc, sender, c.minter, amount);
      t.erc20(usdc, c.minter, ZERO_ADDRESS, amount);
    });
    c.deposits.push({
      side: "deposit",
      bridge: "cctp",
      event: "DepositForBurn (V2)",
      chainId: c.chainId,
      contract: c.messenger,
      txHash: t.hash,
      blockNumber: t.blockNumber,
      logIndex: t.log(),
      time: t.time,
      pairingId: null,
      sender,
      token: usdc,
      amount,
      destinationChainId: toChain,
      destinationToken: null,
      recipient,
    });
    this.at(this.now + delay, () => {
      const minted = amount - fee;
      const r = this.must(dst, dst.cctpRelayer, GAS.bridge, (r) => {
        r.erc20(dst.usdc.address, ZERO_ADDRESS, recipient, minted);
        if (fee > 0n) r.erc20(dst.usdc.address, ZERO_ADDRESS, dst.cctpRelayer, fee);
      });
      dst.releases.push({
        side: "release",
        bridge: "cctp",
        event: "MintAndWithdraw (V2)",
        chainId: dst.chainId,
        contract: dst.messenger,
        txHash: r.hash,
        blockNumber: r.blockNumber,
        logIndex: r.log(),
        time: r.time,
        pairingId: null,
        sourceChainId: null,
        sourceToken: null,
        recipient,
        token: dst.usdc.address,
        amount: minted,
      });
      then?.(minted);
    });
  }

  sameToken(token: Token, on: ChainState): Token {
    const t = on.tokens.find((x) => x.symbol === token.symbol);
    if (t === undefined) throw new Error(`no ${token.symbol} on chain ${on.chainId}`);
    return t;
  }
}

/** A chain with its tokens, pairs, router, exchanges, bridges and traders. */
function makeChain(
  w: World,
  spec: {
    chainId: number;
    name: string;
    blockTime: number;
    firstBlock: number;
    gasPrice: [bigint, bigint];
    usdc: string;
    dai: string;
    weth: string;
    tkn: boolean;
    /** Dollars of depth per side of the USDC/WETH pair. */
    depth: number;
    exchanges: string[];
    traders: number;
  },
): ChainState {
  const native: Token = { address: NATIVE, symbol: "ETH", decimals: 18, price: 2500 };
  const usdc: Token = { address: spec.usdc, symbol: "USDC", decimals: 6, price: 1 };
  const dai: Token = { address: spec.dai, symbol: "DAI", decimals: 18, price: 1 };
  const weth: Token = { address: spec.weth, symbol: "WETH", decimals: 18, price: 2500 };
  const tkn: Token | undefined = spec.tkn
    ? { address: w.address("TKN"), symbol: "TKN", decimals: 18, price: 0.8 }
    : undefined;
  const bridge = (name: "across" | "cctp", role: "spoke-pool" | "token-messenger") => {
    const found = KNOWN_BRIDGE_CONTRACTS.find(
      (b) =>
        b.bridge === name &&
        b.role === role &&
        b.chainId === spec.chainId &&
        (name !== "cctp" || b.address === "0x28b5a0e9c621a5badaa536219b3a228c8168cf5d"),
    );
    if (found === undefined) throw new Error(`no ${name} ${role} on chain ${spec.chainId}`);
    return found.address;
  };
  const c: ChainState = {
    chainId: spec.chainId,
    name: spec.name,
    transfers: [],
    conversions: [],
    deposits: [],
    releases: [],
    labels: new Map(),
    blockTime: spec.blockTime,
    firstBlock: spec.firstBlock,
    gasPrice: spec.gasPrice,
    block: -1,
    txIndex: 0,
    logIndex: 0,
    nativeOrdinal: 0,
    native,
    usdc,
    dai,
    weth,
    tkn,
    tokens: [native, usdc, dai, weth, ...(tkn === undefined ? [] : [tkn])],
    pairs: [],
    router: w.address("the DEX router"),
    exchanges: spec.exchanges.map((name) => ({ name, hot: w.address(`${name} hot wallet`) })),
    traders: [],
    spokePool: bridge("across", "spoke-pool"),
    acrossRelayer: w.address("an Across relayer"),
    messenger: bridge("cctp", "token-messenger"),
    minter: w.address("the CCTP TokenMinter"),
    cctpRelayer: w.address("a CCTP relayer"),
    depositIds: 1000 + w.int(100_000),
  };
  w.chains.set(c.chainId, c);
  for (const ex of c.exchanges)
    c.labels.set(ex.hot, { category: "exchange", label: `${ex.name} hot wallet` });
  // Pairs (V2 orders a pair's tokens by address), each with a founding liquidity provider.
  const pairs: [Token, Token, number][] = [
    [usdc, weth, spec.depth],
    [dai, weth, spec.depth / 2],
    [usdc, dai, spec.depth / 8],
    ...(tkn === undefined ? [] : ([[tkn, weth, spec.depth / 10]] as [Token, Token, number][])),
  ];
  const founders: string[] = [];
  for (const [x, y, dollars] of pairs) {
    const [a, b] = x.address < y.address ? [x, y] : [y, x];
    const p: Pair = {
      address: w.address(`the ${x.symbol}/${y.symbol} pair`),
      token0: a.address,
      token1: b.address,
      r0: w.worth(a, dollars),
      r1: w.worth(b, dollars),
      supply: 0n,
    };
    p.supply = sqrt(p.r0 * p.r1);
    w.fund(c.chainId, p.token0, p.address, p.r0);
    w.fund(c.chainId, p.token1, p.address, p.r1);
    const founder = w.address("a liquidity provider");
    w.fund(c.chainId, p.address, founder, p.supply);
    w.fund(c.chainId, NATIVE, founder, w.units(native, 5));
    founders.push(founder);
    c.pairs.push(p);
  }
  // Those who hold much: the hot wallets, the relayers.
  const rich = (address: string, dollars: number) => {
    for (const token of c.tokens)
      w.fund(c.chainId, token.address, address, w.worth(token, dollars));
  };
  for (const ex of c.exchanges) rich(ex.hot, 80_000_000);
  rich(c.acrossRelayer, 30_000_000);
  w.fund(c.chainId, NATIVE, c.cctpRelayer, w.units(native, 50));
  // Traders: an exchange account each (a deposit address of its own), some provide liquidity.
  for (let i = 0; i < spec.traders; i++) {
    const who = founders[i] ?? w.address("a trader");
    const exchange = w.pick(c.exchanges);
    c.traders.push({
      address: who,
      deposit: w.address(`a deposit address at ${exchange.name}`),
      exchange,
      lp: i < founders.length || w.rnd() < 0.15,
    });
    w.fund(c.chainId, NATIVE, who, w.units(native, 0.5 + w.rnd() * 40));
    w.fund(c.chainId, usdc.address, who, w.units(usdc, 500 + w.rnd() * 150_000));
    w.fund(c.chainId, dai.address, who, w.units(dai, w.rnd() * 60_000));
    w.fund(c.chainId, weth.address, who, w.units(weth, w.rnd() * 20));
    if (tkn !== undefined) w.fund(c.chainId, tkn.address, who, w.units(tkn, w.rnd() * 100_000));
  }
  // WETH9 holds the native coin of every WETH held (its totalSupply is its balance).
  let supply = 0n;
  for (const [key, amount] of w.initial)
    if (key.startsWith(`${c.chainId}:${weth.address}/`)) supply += amount;
  w.fund(c.chainId, NATIVE, weth.address, supply);
  return c;
}

/** ⌊√n⌋ of a bigint (Newton's method). */
function sqrt(n: bigint): bigint {
  if (n < 2n) return n;
  let x = BigInt(Math.floor(Math.sqrt(Number(n))));
  for (;;) {
    const y = (x + n / x) / 2n;
    if (y >= x && y - x <= 1n) break;
    x = y;
  }
  while (x * x > n) x--;
  while ((x + 1n) * (x + 1n) <= n) x++;
  return x;
}

/** One background transaction on `c`: a trader pays, swaps, wraps, provides liquidity, banks, mixes or bridges. */
function background(w: World, c: ChainState, other: ChainState): void {
  const trader = w.pick(c.traders);
  const me = trader.address;
  const has = (token: Token) => w.balance(c.chainId, token.address, me);
  const reserve = w.maxFee(c, GAS.mixerDeposit) * 2n; // native kept for gas
  const spendable = (token: Token) => {
    const b = has(token);
    if (token.address !== NATIVE) return b;
    return b > reserve ? b - reserve : 0n;
  };
  /** A token the trader holds a usable amount of (worth ≥ $20), among `among`. */
  const holding = (among: readonly Token[]): Token | undefined => {
    const ok = among.filter((t) => spendable(t) >= w.worth(t, 20));
    return ok.length === 0 ? undefined : w.pick(ok);
  };
  const r = w.rnd();
  if (r < 0.27) {
    // A payment to another trader.
    const token = holding(c.tokens);
    if (token === undefined) return;
    const to = w.pick(c.traders).address;
    if (to === me) return;
    const amount = w.share(spendable(token), 0.01, 0.3);
    w.tx(c, me, token.address === NATIVE ? GAS.transfer : GAS.erc20, (t) =>
      token.address === NATIVE ? t.value(me, to, amount) : t.erc20(token.address, me, to, amount),
    );
  } else if (r < 0.43) {
    // A swap on a pair, paid and received directly (the router's transferFrom: the trader pays).
    const p = w.pick(c.pairs);
    const [tin, tout] = w.rnd() < 0.5 ? [p.token0, p.token1] : [p.token1, p.token0];
    const token = c.tokens.find((t) => t.address === tin) as Token;
    if (spendable(token) < w.worth(token, 20)) return;
    const amount = w.share(spendable(token), 0.02, 0.4);
    w.tx(c, me, GAS.swap, (t) => w.swap(t, me, [tin, tout], amount, me));
  } else if (r < 0.51) {
    // The native coin for a token, through the router.
    const amount = w.share(spendable(c.native), 0.02, 0.3);
    if (amount < w.worth(c.native, 20)) return;
    const out = w.pick([c.usdc, c.dai, ...(c.tkn === undefined ? [] : [c.tkn])]);
    w.tx(c, me, GAS.router, (t) =>
      w.ethForTokens(t, me, amount, [c.weth.address, out.address], me),
    );
  } else if (r < 0.59) {
    // A token for the native coin, through the router.
    const token = holding([c.usdc, c.dai, ...(c.tkn === undefined ? [] : [c.tkn])]);
    if (token === undefined) return;
    const amount = w.share(spendable(token), 0.02, 0.3);
    w.tx(c, me, GAS.router, (t) =>
      w.tokensForEth(t, me, [token.address, c.weth.address], amount, me),
    );
  } else if (r < 0.62) {
    // A route through two pairs (USDC → WETH → DAI, or back).
    const path = w.rnd() < 0.5 ? [c.usdc, c.weth, c.dai] : [c.dai, c.weth, c.usdc];
    const first = path[0] as Token;
    if (spendable(first) < w.worth(first, 20)) return;
    const amount = w.share(spendable(first), 0.02, 0.3);
    w.tx(c, me, GAS.route, (t) =>
      w.swap(
        t,
        me,
        path.map((x) => x.address),
        amount,
        me,
      ),
    );
  } else if (r < 0.66) {
    // Wrapping or unwrapping.
    if (w.rnd() < 0.5) {
      const amount = w.share(spendable(c.native), 0.05, 0.4);
      if (amount <= 0n) return;
      w.tx(c, me, GAS.wrap, (t) => w.wrap(t, me, amount, "value"));
    } else {
      const amount = w.share(has(c.weth), 0.1, 1);
      if (amount <= 0n) return;
      w.tx(c, me, GAS.wrap, (t) => w.unwrap(t, me, amount));
    }
  } else if (r < 0.7) {
    // Liquidity added or removed by one of the liquidity providers.
    const lp = w.pick(c.traders.filter((x) => x.lp)).address;
    const p = w.pick(c.pairs);
    const shares = w.balance(c.chainId, p.address, lp);
    if (shares > 0n && w.rnd() < 0.45) {
      const amount = w.share(shares, 0.1, 1);
      if (amount > 0n) w.tx(c, lp, GAS.liquidity, (t) => w.removeLiquidity(t, lp, p, amount));
      return;
    }
    // As much of both tokens as the pair's price asks, up to 40 % of the scarcer one.
    const b0 = w.balance(c.chainId, p.token0, lp);
    const b1 = (w.balance(c.chainId, p.token1, lp) * p.r0) / p.r1;
    const a0 = w.share(b0 < b1 ? b0 : b1, 0.05, 0.4);
    if (a0 <= 0n || (a0 * p.supply) / p.r0 === 0n) return;
    if (w.balance(c.chainId, p.token1, lp) < (a0 * p.r1) / p.r0 + 1n) return;
    w.tx(c, lp, GAS.liquidity, (t) => w.addLiquidity(t, lp, p, a0));
  } else if (r < 0.82) {
    // A deposit at the trader's exchange, into its own deposit address.
    const token = holding(c.tokens.filter((t) => t !== c.tkn));
    if (token === undefined) return;
    const amount = w.share(spendable(token), 0.05, 0.6);
    w.tx(c, me, token.address === NATIVE ? GAS.transfer : GAS.erc20, (t) =>
      w.depositTo(t, c, me, trader.deposit, trader.exchange, token.address, amount),
    );
  } else if (r < 0.9) {
    // A withdrawal from the exchange.
    const token = w.pick(c.tokens.filter((t) => t !== c.tkn));
    const amount = w.worth(token, 50 + w.rnd() * 20_000);
    const hot = trader.exchange.hot;
    w.must(c, hot, token.address === NATIVE ? GAS.transfer : GAS.erc20, (t) =>
      token.address === NATIVE ? t.value(hot, me, amount) : t.erc20(token.address, hot, me, amount),
    );
  } else if (r < 0.95) {
    // The mixer (first chain only): a deposit, or a relayed withdrawal to someone.
    const pools = w.mixer.pools;
    if (c.chainId !== CHAIN_A || pools.length === 0) return;
    const pool = w.pick(pools);
    if (w.rnd() < 0.55) {
      if (spendable(c.native) < pool.denomination) return;
      w.tx(c, me, GAS.mixerDeposit, (t) => w.mixerDeposit(t, me, pool));
    } else if (pool.notes > 0) w.mixerWithdraw(c, pool, me);
  } else {
    // A bridge to the other chain: Across (USDC or WETH) or CCTP (USDC).
    const token = holding([c.usdc, c.weth]);
    if (token === undefined || has(c.native) < w.maxFee(c, GAS.bridge)) return;
    const amount = w.share(spendable(token), 0.05, 0.5);
    const to = w.rnd() < 0.7 ? me : w.pick(other.traders).address;
    if (token === c.usdc && w.rnd() < 0.5) {
      const fast = w.rnd() < 0.4;
      w.cctp(
        c,
        me,
        amount,
        other.chainId,
        to,
        fast ? 20 + w.int(40) : 900 + w.int(240),
        fast ? amount / 10_000n : 0n,
      );
    } else w.across(c, me, token, amount, other.chainId, to, BigInt(300 + w.int(2000)));
  }
}

/**
 * The theft and its laundering, planned on the agenda (times relative to the first seed `t0`).
 * Every step moves the world and the truth together.
 */
function launder(w: World, truth: Truth, A: ChainState, B: ChainState, t0: number): Seed[] {
  const seeds: Seed[] = [];
  const minutes = (m: number) => t0 + m * 60;
  const thief = (name: string) => w.address(`the thief's ${name}`);
  const exA = A.exchanges;
  const exB = B.exchanges;
  // The thief's own accounts at the exchanges (deposit addresses), on both chains.
  const account = (c: ChainState, i: number): Account => {
    const ex = c.exchanges[i] as Exchange;
    const address = w.address(`the thief's deposit address at ${ex.name} (chain ${c.chainId})`);
    return { address, ex };
  };
  const [atA1, atA2, atA3] = [account(A, 0), account(A, 1), account(A, 2)];
  const [atB1, atB2] = [account(B, 0), account(B, 1)];
  const gasA = thief("gas wallet"); // the same key on both chains

  /** The thief's transaction: counted, and it must happen. */
  const act = (c: ChainState, sender: string, gas: bigint, body: (t: Tx) => void) => {
    w.launderingTxs++;
    return w.must(c, sender, gas, body);
  };
  /** Gas for a fresh address of the thief, from the gas wallet, enough for `txs` transactions. */
  const fuel = (c: ChainState, address: string, txs: number) => {
    const amount = w.maxFee(c, GAS.mixerDeposit) * BigInt(txs) + w.maxFee(c, GAS.transfer);
    act(c, gasA, GAS.transfer, (t) => t.value(gasA, address, amount));
  };
  /** Stolen `amount` of `token` from one of the thief's accounts to another (a plain transfer). */
  const pass = (c: ChainState, token: string, from: string, to: string, amount: bigint) => {
    act(c, from, token === NATIVE ? GAS.transfer : GAS.erc20, (t) =>
      token === NATIVE ? t.value(from, to, amount) : t.erc20(token, from, to, amount),
    );
    truth.give(c.chainId, token, to, amount, truth.take(c.chainId, token, from, amount));
  };
  /** Stolen funds paid into one of the thief's deposit addresses: an end point. */
  const bank = (c: ChainState, token: string, from: string, d: Account, amount: bigint) => {
    act(c, from, token === NATIVE ? GAS.transfer : GAS.erc20, (t) =>
      w.depositTo(t, c, from, d.address, d.ex, token, amount),
    );
    const value = truth.take(c.chainId, token, from, amount);
    truth.end(
      c.chainId,
      token,
      d.address,
      "deposit",
      `the thief's deposit address at ${d.ex.name}`,
      amount,
      value,
    );
  };
  /** A swap of stolen funds along `path` on pairs, the output to `to` (the thief's). */
  const swap = (c: ChainState, who: string, path: string[], amount: bigint, to = who) => {
    let out = 0n;
    act(
      c,
      who,
      path.length > 2 ? GAS.route : GAS.swap,
      (t) => (out = w.swap(t, who, path, amount, to)),
    );
    truth.give(
      c.chainId,
      path[path.length - 1] as string,
      to,
      out,
      truth.take(c.chainId, path[0] as string, who, amount),
    );
    return out;
  };
  const toEth = (c: ChainState, who: string, token: string, amount: bigint) => {
    let out = 0n;
    act(
      c,
      who,
      GAS.router,
      (t) => (out = w.tokensForEth(t, who, [token, c.weth.address], amount, who)),
    );
    truth.give(c.chainId, NATIVE, who, out, truth.take(c.chainId, token, who, amount));
    return out;
  };
  const wrap = (c: ChainState, who: string, amount: bigint) => {
    act(c, who, GAS.wrap, (t) => w.wrap(t, who, amount, "value"));
    truth.give(c.chainId, c.weth.address, who, amount, truth.take(c.chainId, NATIVE, who, amount));
  };
  const unwrap = (c: ChainState, who: string, amount: bigint) => {
    act(c, who, GAS.wrap, (t) => w.unwrap(t, who, amount));
    truth.give(c.chainId, NATIVE, who, amount, truth.take(c.chainId, c.weth.address, who, amount));
  };
  /** Stolen native coin into the mixer, one note at a time. */
  const mix = (who: string, pool: { address: string; denomination: bigint; notes: number }) => {
    act(A, who, GAS.mixerDeposit, (t) => w.mixerDeposit(t, who, pool));
    const value = truth.take(A.chainId, NATIVE, who, pool.denomination);
    truth.end(
      A.chainId,
      NATIVE,
      pool.address,
      "mixer",
      w.names.get(pool.address) ?? "the mixer",
      pool.denomination,
      value,
    );
  };
  const [pool1, pool10] = w.mixer.pools as [
    (typeof w.mixer.pools)[number],
    (typeof w.mixer.pools)[number],
  ];
  /** Notes of 10, then of 1, every ~4 minutes from minute `m`, while the address holds enough. */
  const mixAll = (who: string, m: number, keep: bigint, last?: () => void) => {
    let at = m;
    const step = () => {
      const held = truth.holds(A.chainId, NATIVE, who) - keep;
      const pool =
        held >= pool10.denomination ? pool10 : held >= pool1.denomination ? pool1 : undefined;
      if (pool === undefined) return last?.();
      mix(who, pool);
      at += 3 + w.int(4);
      w.at(minutes(at), step);
    };
    w.at(minutes(at), step);
  };
  /**
   * A peel chain from `start`: each hop keeps nothing, peels 6–15 % into one of `banks` and passes
   * the rest to a fresh hop, every 8–20 minutes; the last hop holds what is left.
   */
  const peel = (
    c: ChainState,
    token: string,
    start: string,
    hops: number,
    banks: Account[],
    m: number,
    last?: (holder: string) => void,
  ) => {
    let from = start;
    let at = m;
    for (let i = 0; i < hops; i++) {
      const next = thief(`peel hop ${i + 1}`);
      const bankTo = banks[i % banks.length] as Account;
      // `from` is read when the step runs: the hop the previous step passed to.
      w.at(minutes(at), () =>
        bank(c, token, from, bankTo, w.share(truth.holds(c.chainId, token, from), 0.06, 0.15)),
      );
      w.at(minutes(at + 1), () => {
        fuel(c, next, 3);
        pass(c, token, from, next, truth.holds(c.chainId, token, from));
        from = next;
      });
      at += 8 + w.int(12);
    }
    if (last !== undefined) w.at(minutes(at), () => last(from));
  };

  // Before: the gas wallet is paid from an exchange (clean), on both chains.
  const T1 = thief("first exploit account");
  const T2 = thief("second exploit account");
  w.at(minutes(-120), () => {
    const hot = (exA[2] as Exchange).hot;
    w.must(A, hot, GAS.transfer, (t) => t.value(hot, gasA, w.units(A.native, 40)));
    const hotB = (exB[0] as Exchange).hot;
    w.must(B, hotB, GAS.transfer, (t) => t.value(hotB, gasA, w.units(B.native, 1)));
  });
  w.at(minutes(-60), () => {
    fuel(A, T1, 3);
    fuel(A, T2, 4);
  });

  // The thefts: two victims' USDC.
  const victim1 = w.address("the first victim (a lending pool)");
  const victim2 = w.address("the second victim (a vault)");
  w.fund(A.chainId, A.usdc.address, victim1, w.units(A.usdc, 9_000_000));
  w.fund(A.chainId, A.usdc.address, victim2, w.units(A.usdc, 2_000_000));
  const usdcA = A.usdc.address;
  const usdcB = B.usdc.address;
  const steal = (who: string, victim: string, whole: number) => {
    const amount = w.units(A.usdc, whole);
    const t = act(A, who, GAS.erc20 * 4n, (t) => t.erc20(usdcA, victim, who, amount));
    seeds.push({ kind: "tx", txHash: t.hash });
    truth.seed(who, amount);
  };
  w.at(minutes(0), () => steal(T1, victim1, 2_400_000));
  w.at(minutes(25), () => steal(T2, victim2, 600_000));

  // The fan-out: eight accounts, one transaction (a disperse contract pulls from T1).
  const F = Array.from({ length: 8 }, (_, i) => thief(`fan-out account ${i + 1}`));
  const split = [450_000, 350_000, 300_000, 400_000, 350_000, 200_000, 150_000, 200_000];
  w.at(minutes(5), () => {
    const txs = [30, 8, 24, 4, 3, 3, 1, 6];
    F.forEach((f, i) => fuel(A, f, txs[i] as number));
  });
  w.at(minutes(8), () => {
    const amounts = split.map((x) => w.units(A.usdc, x));
    act(A, T1, GAS.disperse, (t) =>
      F.forEach((f, i) => t.erc20(usdcA, T1, f, amounts[i] as bigint)),
    );
    F.forEach((f, i) => {
      const amount = amounts[i] as bigint;
      truth.give(A.chainId, usdcA, f, amount, truth.take(A.chainId, usdcA, T1, amount));
    });
  });
  // F7 only holds: no step names it.
  const [F1, F2, F3, F4, F5, F6, , F8] = F as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];

  // F1: USDC → ETH through the router, into the mixer; the rest down a peel chain in ETH.
  w.at(minutes(15), () => toEth(A, F1, usdcA, truth.holds(A.chainId, usdcA, F1)));
  w.at(minutes(18), () => {
    const keep = w.share(truth.holds(A.chainId, NATIVE, F1), 0.25, 0.3);
    mixAll(F1, 19, keep, () => peel(A, NATIVE, F1, 4, [atA1, atA2], 120 + w.int(10)));
  });

  // F2: a route USDC → WETH → DAI, then a DAI peel chain into two exchanges; the last hop holds.
  w.at(minutes(12), () =>
    swap(A, F2, [usdcA, A.weth.address, A.dai.address], truth.holds(A.chainId, usdcA, F2)),
  );
  peel(A, A.dai.address, F2, 5, [atA1, atA3], 30);

  // F3: USDC → WETH on the pair, 60 % unwrapped and mixed (the change to an exchange), 40 % held.
  w.at(minutes(18), () => swap(A, F3, [usdcA, A.weth.address], truth.holds(A.chainId, usdcA, F3)));
  w.at(minutes(24), () =>
    unwrap(A, F3, w.share(truth.holds(A.chainId, A.weth.address, F3), 0.6, 0.6)),
  );
  mixAll(F3, 30, 0n);
  w.at(minutes(150), () => {
    const change = truth.holds(A.chainId, NATIVE, F3);
    if (change > 0n) bank(A, NATIVE, F3, atA2, change);
  });

  // F4: Across to the second chain; half swapped to ETH there and banked, half held in USDC.
  w.at(minutes(10), () => {
    const amount = truth.holds(A.chainId, usdcA, F4);
    const value = truth.take(A.chainId, usdcA, F4, amount);
    w.launderingTxs++;
    w.across(A, F4, A.usdc, amount, B.chainId, F4, 800n, (received) => {
      truth.give(B.chainId, usdcB, F4, received, value);
      const at = (w.now - t0) / 60;
      w.at(minutes(at + 2), () => fuel(B, F4, 4));
      w.at(minutes(at + 5), () => toEth(B, F4, usdcB, received / 2n));
      w.at(minutes(at + 15), () => bank(B, NATIVE, F4, atB1, truth.holds(B.chainId, NATIVE, F4)));
    });
  });

  // F5: CCTP to a fresh account on the second chain; 70 % swapped to WETH and held, 30 % banked.
  const R5 = thief("account on the second chain");
  w.at(minutes(14), () => {
    const amount = truth.holds(A.chainId, usdcA, F5);
    const value = truth.take(A.chainId, usdcA, F5, amount);
    w.launderingTxs++;
    w.cctp(A, F5, amount, B.chainId, R5, 960 + w.int(120), 0n, (received) => {
      truth.give(B.chainId, usdcB, R5, received, value);
      const at = (w.now - t0) / 60;
      w.at(minutes(at + 2), () => fuel(B, R5, 4));
      w.at(minutes(at + 6), () =>
        swap(B, R5, [usdcB, B.weth.address], w.share(received, 0.7, 0.7)),
      );
      w.at(minutes(at + 20), () => bank(B, usdcB, R5, atB2, truth.holds(B.chainId, usdcB, R5)));
    });
  });

  // F6: Across to a chain nobody reads: the bridge is its end point.
  w.at(minutes(16), () => {
    const amount = truth.holds(A.chainId, usdcA, F6);
    const value = truth.take(A.chainId, usdcA, F6, amount);
    w.launderingTxs++;
    w.across(A, F6, A.usdc, amount, UNREAD_CHAIN, F6, 500n);
    truth.end(
      A.chainId,
      usdcA,
      A.spokePool,
      "bridge",
      `Across SpokePool, bound for chain ${UNREAD_CHAIN}`,
      amount,
      value,
    );
  });

  // F7 holds its USDC. F8: a USDC peel chain into two exchanges, the rest routed to TKN and held.
  peel(A, usdcA, F8, 3, [atA3, atA1], 40, (holder) =>
    swap(
      A,
      holder,
      [usdcA, A.weth.address, (A.tkn as Token).address],
      truth.holds(A.chainId, usdcA, holder),
    ),
  );

  // T2's: half to F9 (ETH; half of it wrapped and swapped to TKN and held, the rest mixed), half to
  // F10 (banked in three deposits).
  const F9 = thief("ninth account");
  const F10 = thief("tenth account");
  w.at(minutes(28), () => {
    fuel(A, F9, 24);
    fuel(A, F10, 4);
  });
  w.at(minutes(30), () => pass(A, usdcA, T2, F9, w.units(A.usdc, 300_000)));
  w.at(minutes(31), () => pass(A, usdcA, T2, F10, w.units(A.usdc, 300_000)));
  w.at(minutes(40), () => toEth(A, F9, usdcA, truth.holds(A.chainId, usdcA, F9)));
  w.at(minutes(50), () => wrap(A, F9, w.share(truth.holds(A.chainId, NATIVE, F9), 0.5, 0.5)));
  w.at(minutes(55), () =>
    swap(
      A,
      F9,
      [A.weth.address, (A.tkn as Token).address],
      truth.holds(A.chainId, A.weth.address, F9),
    ),
  );
  mixAll(F9, 60, 0n);
  for (const [i, m] of [45, 75, 110].entries())
    w.at(minutes(m), () => {
      const held = truth.holds(A.chainId, usdcA, F10);
      bank(A, usdcA, F10, atA3, i === 2 ? held : w.units(A.usdc, 100_000));
    });

  // Later, mixer withdrawals to a fresh account of the thief's (clean), banked at an exchange.
  const W1 = thief("mixer withdrawal account");
  for (let i = 0; i < 6; i++) w.at(minutes(260 + 7 * i), () => w.mixerWithdraw(A, pool10, W1));
  w.at(minutes(320), () => {
    const amount = w.balance(A.chainId, NATIVE, W1) - w.maxFee(A, GAS.transfer);
    w.launderingTxs++;
    w.must(A, W1, GAS.transfer, (t) =>
      w.depositTo(t, A, W1, atA2.address, atA2.ex, NATIVE, amount),
    );
  });
  return seeds;
}

/** Generates the world (see the header). */
export function launderingWorld(options: WorldOptions = {}): LaunderingWorld {
  const w = new World(options.seed ?? 20_250_101);
  const traders = options.traders ?? 240;
  const backgroundTxs = options.backgroundTxs ?? 6000;
  const hours = options.hours ?? 12;
  const A = makeChain(w, {
    chainId: CHAIN_A,
    name: "Ethereum",
    blockTime: 12,
    firstBlock: 21_525_000,
    gasPrice: [4n * GWEI, 30n * GWEI],
    usdc: "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48",
    dai: "0x6b175474e89094c44da98b954eedeac495271d0f",
    weth: "0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2",
    tkn: true,
    depth: 40_000_000,
    exchanges: ["Exchange A", "Exchange B", "Exchange C"],
    traders,
  });
  const B = makeChain(w, {
    chainId: CHAIN_B,
    name: "Base",
    blockTime: 2,
    firstBlock: 24_700_000,
    gasPrice: [GWEI / 200n, GWEI / 20n],
    usdc: "0x833589fcd6edb6e08f4c7c32d4f71b54bda02913",
    dai: "0x50c5725949a6f0c72e6c4a641f24049a917db0cb",
    weth: "0x4200000000000000000000000000000000000006",
    tkn: false,
    depth: 8_000_000,
    exchanges: ["Exchange A", "Exchange B"],
    traders: Math.max(10, Math.floor(traders / 2)),
  });
  // The mixer: two pools (1 and 10 ETH) of one Tornado-style mixer, labeled, with a relayer.
  for (const denomination of [1n, 10n]) {
    const address = w.address(`the mixer's ${denomination} ETH pool`);
    w.mixer.pools.push({ address, denomination: denomination * E18, notes: 0 });
    A.labels.set(address, { category: "mixer", label: `Tornado-style mixer, ${denomination} ETH` });
    // Earlier deposits the pool still holds.
    w.fund(CHAIN_A, NATIVE, address, denomination * E18 * 200n);
    (w.mixer.pools.at(-1) as { notes: number }).notes = 200;
  }
  w.mixerRelayer = w.address("the mixer's relayer");
  w.fund(CHAIN_A, NATIVE, w.mixerRelayer, 20n * E18);

  const truth = new Truth(CHAIN_A, A.usdc.address);
  const seconds = hours * 3600;
  const t0 = START + Math.floor(seconds / 5);
  const seeds = launder(w, truth, A, B, t0);
  for (let i = 0; i < backgroundTxs; i++) {
    const time = START + 1 + Math.floor(w.rnd() * (seconds - 1));
    const onA = w.rnd() < 0.6;
    w.at(time, () => (onA ? background(w, A, B) : background(w, B, A)));
  }
  w.agenda.drain((time) => {
    w.now = time;
  });
  truth.finish((address) => w.names.get(address) ?? address);

  const chains = [A, B].map((c): WorldChain => ({
    chainId: c.chainId,
    name: c.name,
    transfers: c.transfers,
    conversions: c.conversions,
    deposits: c.deposits,
    releases: c.releases,
    labels: c.labels,
  }));
  const released = A.releases.length + B.releases.length;
  return {
    chains,
    initialBalances: w.initial,
    seeds,
    bridgeTokens: [
      [
        { chainId: A.chainId, token: A.usdc.address },
        { chainId: B.chainId, token: B.usdc.address },
      ],
      [
        { chainId: A.chainId, token: A.weth.address },
        { chainId: B.chainId, token: B.weth.address },
      ],
    ],
    truth,
    names: w.names,
    assets: new Map(
      [A, B].flatMap((c) =>
        [
          ...c.tokens,
          ...c.pairs.map((p) => ({ address: p.address, symbol: "UNI-V2", decimals: 18 })),
        ].map(
          (t) => [`${c.chainId}:${t.address}`, { symbol: t.symbol, decimals: t.decimals }] as const,
        ),
      ),
    ),
    size: {
      transfers: A.transfers.length + B.transfers.length,
      conversions: A.conversions.length + B.conversions.length,
      crossings: released,
      unreleased: A.deposits.length + B.deposits.length - released,
      traders: A.traders.length + B.traders.length,
      exchanges: A.exchanges.length + B.exchanges.length,
      depositAddresses: A.traders.length + B.traders.length + 5,
      pools: A.pairs.length + B.pairs.length,
      mixerDeposits: w.mixerDeposits,
      liquidityEvents: w.liquidityEvents,
      launderingTxs: w.launderingTxs,
    },
  };
}
