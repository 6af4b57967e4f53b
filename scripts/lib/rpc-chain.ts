/**
 * A generated chain behind a real JSON-RPC server: tens of millions of ERC-20 transfers of one
 * token, made up on the fly from a seed and never held in memory, and a laundering of a theft
 * (about ten thousand transfers) among them. Every answer is consistent with every other: logs,
 * blocks, transactions, receipts, balances at any block, call traces.
 *
 * Background transfers need no index. There are N addresses, each sending exactly K transfers
 * and receiving exactly K; transfer g (0 ≤ g < N·K) sits at block B0 + ⌊g / P⌋, position g mod P,
 * sent by π₁(g) mod N to π₂(g) mod N, where π₁ and π₂ are keyed permutations of [0, N·K) (Feistel
 * networks, cycle-walked). Their inverses enumerate an address's transfers: the K transfers sent
 * by X are π₁⁻¹(X + N·k) for k < K, so "the transfers from or to X in blocks a..b" costs 2K
 * permutations, whatever the chain's size. Every address is minted 1,000,000 tokens in the first
 * blocks and sends at most 10,000 a transfer, so no balance ever goes below zero. Addresses,
 * block and transaction hashes are keyed encryptions of their numbers (with a check part), so
 * each is read back from its text.
 *
 * The laundering is generated once, in memory (seeded): a victim's transfer to the thief (the
 * seed transaction), a fan-out to launderers, then layers in which every holder of stolen funds
 * peels a part to an exchange or into a background address (a leak, which the trace must then
 * follow), passes the rest on, splits it, merges it with others', cashes out or holds. The
 * launderers hold nothing but stolen funds, so where the theft ends is known exactly
 * ({@link Laundering}: each exchange's intake, each holder's balance, the leaks).
 *
 * eth_getLogs answers as a strict hosted provider does: at most `maxBlockRange` blocks per
 * request (QuickNode's wording) and at most `maxResults` logs (Infura's -32005, with the range
 * that would fit). Every HTTP request is answered after `latencyMs`, requests in parallel.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { prng } from "./bench.js";

export interface ChainSpec {
  /** Seed of everything generated. */
  seed: number;
  chainId: number;
  /** Background addresses (N). */
  addresses: number;
  /** Transfers each background address sends, and receives (K). */
  sendsPerAddress: number;
  /** Background transfers per block (P, at most 1,500). */
  perBlock: number;
  /** Where the theft happens, as a share of the background blocks (0 to 1). */
  seedAt: number;
  /** Laundering: layers after the fan-out, and the most holders of stolen funds at once. */
  layers: number;
  maxHolders: number;
  /** Blocks each laundering layer spans. */
  layerBlocks: number;
  /** Labeled exchanges the laundering cashes out to. */
  exchanges: number;
  /** The share of peels that go into background addresses (leaks). */
  leakShare: number;
}

export interface ServerOptions {
  /** Delay before each HTTP answer (default 30 ms). */
  latencyMs?: number;
  /** eth_getLogs: widest block range (default 10,000) and most logs (default 10,000). */
  maxBlockRange?: number;
  maxResults?: number;
  /** Whether trace_filter, trace_transaction and debug_traceBlockByHash are served (default true). */
  traces?: boolean;
  /** Whether logs carry their block's timestamp, as recent geth and Reth give it (default true). */
  logTimestamps?: boolean;
}

export const TOKEN = "0x7e570000000000000000000000000000000c0de1";
const TRANSFER_TOPIC = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef";
const ZERO = "0x0000000000000000000000000000000000000000";
const MINTER = "0x7e57000000000000000000000000000000000001";
const UNIT = 10n ** 18n;
const MINT = 1_000_000n * UNIT;
/** Laundering sums below this are no longer split: every laundering transfer is 100 tokens or more. */
const SMALL = 2_000n * UNIT;
const GENESIS_TIME = 1_700_000_000;
const BLOCK_SECONDS = 12;
/** Ids of the special (non-background) accounts start here; transaction positions fit 11 bits. */
const SPECIAL = 0x8000_0000;
const MAX_POSITION = 2048;

// ---------------------------------------------------------------- keyed permutations and hashes

function mix(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}
const hash2 = (a: number, b: number) =>
  mix(Math.imul(a ^ 0x9e3779b9, 0x27d4eb2d) ^ mix(b + 0x165667b1));

/** A keyed permutation of [0, size): a balanced Feistel network over 2^bits ≥ size, cycle-walked. */
class Permutation {
  private readonly half: number;
  private readonly mask: number;
  constructor(
    readonly size: number,
    private readonly key: number,
  ) {
    let bits = 2;
    while (2 ** bits < size) bits += 2;
    this.half = bits / 2;
    this.mask = 2 ** this.half - 1;
  }
  private round(x: number, forward: boolean): number {
    let l = Math.floor(x / 2 ** this.half);
    let r = x & this.mask;
    for (let i = 0; i < 4; i++) {
      if (forward) [l, r] = [r, (l ^ hash2(this.key + i, r)) & this.mask];
      else [l, r] = [(r ^ hash2(this.key + 3 - i, l)) & this.mask, l];
    }
    return l * 2 ** this.half + r;
  }
  apply(x: number): number {
    do x = this.round(x, true);
    while (x >= this.size);
    return x;
  }
  invert(y: number): number {
    do y = this.round(y, false);
    while (y >= this.size);
    return y;
  }
}

const hex = (n: number | bigint) => `0x${n.toString(16)}`;
/** The first element of a list known not to be empty. */
function head<T>(list: readonly T[]): T {
  const x = list[0];
  if (x === undefined) throw new Error("empty list");
  return x;
}
const word = (n: number) => n.toString(16).padStart(8, "0");
const pad64 = (h: string) => `0x${h.slice(2).padStart(64, "0")}`;

/** Encodes a 32-bit number as `length` hex digits: its encryption, then a check part. */
class Codec {
  private readonly perm: Permutation;
  constructor(
    private readonly key: number,
    private readonly length: number,
  ) {
    this.perm = new Permutation(2 ** 32, key);
  }
  encode(n: number): string {
    let s = word(this.perm.apply(n));
    for (let i = 0; s.length < this.length; i++) s += word(hash2(this.key + 17 * i, n));
    return `0x${s.slice(0, this.length)}`;
  }
  /** The number a text encodes, or null when it is not one of this codec's. */
  decode(text: string): number | null {
    if (typeof text !== "string" || text.length !== this.length + 2) return null;
    const n = this.perm.invert(Number.parseInt(text.slice(2, 10), 16));
    return this.encode(n) === text.toLowerCase() ? n : null;
  }
}

// ---------------------------------------------------------------- the chain

/** One transfer of the chain (a Transfer log). */
export interface ChainTransfer {
  block: number;
  /** Position of its transaction in the block, and of its log. */
  txIndex: number;
  logIndex: number;
  from: string;
  to: string;
  amount: bigint;
}

/** Where the stolen funds went: exact, since launderers hold nothing else. */
export interface Laundering {
  seedTx: string;
  seedBlock: number;
  victim: string;
  thief: string;
  stolen: bigint;
  exchanges: string[];
  /** What each exchange received from launderers. */
  exchangeIntake: Map<string, bigint>;
  /** Launderers that still hold stolen funds at the end, and how much. */
  held: Map<string, bigint>;
  /** Stolen funds sent into background addresses, by address. */
  leaks: Map<string, bigint>;
  launderers: Set<string>;
  /** The laundering's transfers (the seed's included). */
  transfers: number;
}

export class GeneratedChain {
  readonly total: number;
  /** First block of background transfers; the blocks before are mints. */
  readonly firstBlock: number;
  readonly head: number;
  private readonly sendPerm: Permutation;
  private readonly receivePerm: Permutation;
  private readonly addresses: Codec;
  private readonly blocks: Codec;
  private readonly txs: Codec;
  private readonly mintBlocks: number;
  /** Laundering transfers by block, and by account id. */
  private readonly extraByBlock = new Map<number, ChainTransfer[]>();
  private readonly extraById = new Map<number, ChainTransfer[]>();
  /** Special accounts' mints: block, position, amount. */
  private readonly specialMints = new Map<number, bigint>();
  readonly laundering: Laundering;

  constructor(readonly spec: ChainSpec) {
    const { addresses: n, sendsPerAddress: k, perBlock: p } = spec;
    if (p < 1 || p > 1500) throw new Error(`perBlock must be 1 to 1500, got ${p}`);
    this.total = n * k;
    this.sendPerm = new Permutation(this.total, spec.seed ^ 0x1111);
    this.receivePerm = new Permutation(this.total, spec.seed ^ 0x2222);
    this.addresses = new Codec(spec.seed ^ 0x3333, 40);
    this.blocks = new Codec(spec.seed ^ 0x4444, 64);
    this.txs = new Codec(spec.seed ^ 0x5555, 64);
    this.mintBlocks = Math.ceil(n / p) + 1; // the last one mints the special accounts
    this.firstBlock = 1 + this.mintBlocks;
    this.head = this.firstBlock + Math.ceil(this.total / p) - 1;
    this.laundering = this.launder();
  }

  // ---- names

  address(id: number): string {
    return this.addresses.encode(id);
  }
  idOf(address: string): number | null {
    return this.addresses.decode(address.toLowerCase());
  }
  blockHash(n: number): string {
    return this.blocks.encode(n);
  }
  blockOfHash(hash: string): number | null {
    const n = this.blocks.decode(hash.toLowerCase());
    return n !== null && n <= this.head ? n : null;
  }
  txHash(block: number, position: number): string {
    return this.txs.encode(block * MAX_POSITION + position);
  }
  txOfHash(hash: string): { block: number; position: number } | null {
    const n = this.txs.decode(hash.toLowerCase());
    if (n === null) return null;
    const block = Math.floor(n / MAX_POSITION);
    const position = n % MAX_POSITION;
    return block <= this.head && position < this.txCount(block) ? { block, position } : null;
  }
  time(block: number): number {
    return GENESIS_TIME + block * BLOCK_SECONDS;
  }

  // ---- background transfers

  private background(g: number): ChainTransfer {
    const { addresses: n, perBlock: p } = this.spec;
    return {
      block: this.firstBlock + Math.floor(g / p),
      txIndex: g % p,
      logIndex: g % p,
      from: this.address(this.sendPerm.apply(g) % n),
      to: this.address(this.receivePerm.apply(g) % n),
      amount: BigInt(1 + (hash2(this.spec.seed, g) % 1_000_000)) * 10n ** 16n,
    };
  }
  private backgroundBlocks(g: number): number {
    return this.firstBlock + Math.floor(g / this.spec.perBlock);
  }
  /** The mint of background address `id`. */
  private mint(id: number): ChainTransfer {
    const p = this.spec.perBlock;
    const position = id % p;
    return {
      block: 1 + Math.floor(id / p),
      txIndex: position,
      logIndex: position,
      from: ZERO,
      to: this.address(id),
      amount: MINT,
    };
  }

  /** Transactions in a block. */
  txCount(block: number): number {
    const { addresses: n, perBlock: p } = this.spec;
    if (block < 1 || block > this.head) return 0;
    if (block < this.mintBlocks) return Math.min(p, n - (block - 1) * p);
    if (block === this.mintBlocks) return this.specialMints.size;
    const background = Math.min(p, this.total - (block - this.firstBlock) * p);
    const extra = this.extraByBlock.get(block);
    return background + (extra === undefined ? 0 : head(extra.slice(-1)).txIndex - p + 1);
  }

  /** Every transfer of a block, in log order. */
  transfersIn(block: number): ChainTransfer[] {
    const { addresses: n, perBlock: p } = this.spec;
    const out: ChainTransfer[] = [];
    if (block < 1 || block > this.head) return out;
    if (block < this.mintBlocks) {
      for (let id = (block - 1) * p; id < Math.min(n, block * p); id++) out.push(this.mint(id));
      return out;
    }
    if (block === this.mintBlocks) {
      let i = 0;
      for (const [id, amount] of this.specialMints)
        out.push({ block, txIndex: i, logIndex: i++, from: ZERO, to: this.address(id), amount });
      return out;
    }
    const first = (block - this.firstBlock) * p;
    for (let g = first; g < Math.min(this.total, first + p); g++) out.push(this.background(g));
    for (const t of this.extraByBlock.get(block) ?? []) out.push(t);
    return out;
  }

  /** The transfers of transaction `position` of `block`, without generating the whole block. */
  transfersOfTx(block: number, position: number): ChainTransfer[] {
    const p = this.spec.perBlock;
    const g = (block - this.firstBlock) * p + position;
    if (block >= this.firstBlock && position < p && g < this.total) return [this.background(g)];
    if (block >= this.firstBlock)
      return (this.extraByBlock.get(block) ?? []).filter((t) => t.txIndex === position);
    return this.transfersIn(block).filter((t) => t.txIndex === position);
  }

  /** The transfers sent (`side` "from") or received ("to") by an address within [a, b]. */
  transfersOf(address: string, side: "from" | "to", a: number, b: number): ChainTransfer[] {
    const id = this.idOf(address);
    const out: ChainTransfer[] = [];
    if (id === null) {
      // The zero address sends the mints.
      if (address === ZERO && side === "from")
        for (let block = Math.max(1, a); block <= Math.min(b, this.mintBlocks); block++)
          out.push(...this.transfersIn(block));
      return out;
    }
    if (id < this.spec.addresses) {
      const { addresses: n, sendsPerAddress: k } = this.spec;
      const perm = side === "from" ? this.sendPerm : this.receivePerm;
      for (let i = 0; i < k; i++) {
        const g = perm.invert(id + n * i);
        const block = this.backgroundBlocks(g);
        if (block >= a && block <= b) out.push(this.background(g));
      }
      if (side === "to") {
        const m = this.mint(id);
        if (m.block >= a && m.block <= b) out.push(m);
      }
    } else if (
      side === "to" &&
      this.specialMints.has(id) &&
      this.mintBlocks >= a &&
      this.mintBlocks <= b
    )
      out.push(...this.transfersIn(this.mintBlocks).filter((t) => t.to === address));
    for (const t of this.extraById.get(id) ?? [])
      if (t.block >= a && t.block <= b && t[side] === address) out.push(t);
    return out;
  }

  /** An address's token balance at the end of a block. */
  balanceAt(address: string, block: number): bigint {
    let balance = 0n;
    for (const t of this.transfersOf(address, "to", 0, block)) balance += t.amount;
    for (const t of this.transfersOf(address, "from", 0, block)) balance -= t.amount;
    return balance;
  }

  // ---- the laundering

  private launder(): Laundering {
    const spec = this.spec;
    const rnd = prng(spec.seed ^ 0x7777);
    const int = (n: number) => Math.floor(rnd() * n);
    let nextId = SPECIAL;
    const newAccount = () => nextId++;
    const victim = newAccount();
    const thief = newAccount();
    const exchanges = Array.from({ length: spec.exchanges }, newAccount);
    const stolen = 250_000_000n * UNIT;
    this.specialMints.set(victim, stolen + 1000n * UNIT);
    for (const e of exchanges) this.specialMints.set(e, 50_000_000n * UNIT);
    const balance = new Map<number, bigint>([[victim, stolen + 1000n * UNIT]]);
    const exchangeIntake = new Map<string, bigint>();
    const leaks = new Map<string, bigint>();
    const launderers = new Set<number>([thief]);
    let transfers = 0;
    let lastBlock = 0;
    /** One transaction of several transfers, at `block`, after the block's background ones. */
    const tx = (block: number, moves: [from: number, to: number, amount: bigint][]): string => {
      const list = this.extraByBlock.get(block) ?? [];
      this.extraByBlock.set(block, list);
      const last = list[list.length - 1];
      const txIndex = last === undefined ? spec.perBlock : last.txIndex + 1;
      let logIndex = last === undefined ? spec.perBlock : last.logIndex + 1;
      if (txIndex >= MAX_POSITION) throw new Error(`block ${block} is full`);
      for (const [from, to, amount] of moves) {
        const t: ChainTransfer = {
          block,
          txIndex,
          logIndex: logIndex++,
          from: this.address(from),
          to: this.address(to),
          amount,
        };
        list.push(t);
        for (const id of new Set([from, to])) {
          const mine = this.extraById.get(id) ?? [];
          mine.push(t);
          this.extraById.set(id, mine);
        }
        balance.set(from, (balance.get(from) ?? 0n) - amount);
        balance.set(to, (balance.get(to) ?? 0n) + amount);
        if ((balance.get(from) ?? 0n) < 0n) throw new Error("laundering overdraws");
        const label = this.address(to);
        if (exchanges.includes(to))
          exchangeIntake.set(label, (exchangeIntake.get(label) ?? 0n) + amount);
        if (to < SPECIAL) leaks.set(label, (leaks.get(label) ?? 0n) + amount);
        transfers++;
      }
      lastBlock = Math.max(lastBlock, block);
      return this.txHash(block, txIndex);
    };
    const blocks = this.head - this.firstBlock + 1;
    const seedBlock = this.firstBlock + Math.floor(blocks * spec.seedAt);
    if (seedBlock + (spec.layers + 2) * spec.layerBlocks > this.head)
      throw new Error("the laundering does not fit before the head: lower seedAt or the layers");
    const seedTx = tx(seedBlock, [[victim, thief, stolen]]);
    // The fan-out, then the layers.
    let holders: number[] = [];
    const fanOut = Array.from({ length: 40 }, newAccount);
    const share = stolen / 40n;
    tx(
      seedBlock + spec.layerBlocks,
      fanOut.map((to) => [thief, to, share] as [number, number, bigint]),
    );
    for (const a of fanOut) launderers.add(a);
    holders = fanOut;
    const merges = Array.from({ length: 8 }, newAccount);
    for (const m of merges) launderers.add(m);
    const exchange = () => exchanges[int(exchanges.length)] as number;
    const part = (amount: bigint, min: number, max: number) =>
      (amount * BigInt(Math.floor((min + rnd() * (max - min)) * 10_000))) / 10_000n;
    for (let layer = 1; layer <= spec.layers; layer++) {
      const start = seedBlock + (layer + 1) * spec.layerBlocks;
      const next = new Set<number>();
      const last = layer === spec.layers;
      // Holders act in a random order, each at a random block of the layer.
      const acting = holders.map((h) => ({ h, block: start + int(spec.layerBlocks) }));
      acting.sort((x, y) => x.block - y.block);
      for (const { h, block } of acting) {
        const amount = balance.get(h) ?? 0n;
        if (amount === 0n) continue;
        const r = rnd();
        const over = holders.length > spec.maxHolders && rnd() < 0.5;
        if (last || amount < SMALL) {
          if (r < 0.5) tx(block, [[h, exchange(), amount]]);
          continue;
        }
        // Small sums are not split any more: they are cashed out (or kept, below).
        if (over || r < 0.1 || (amount < SMALL && r < 0.5)) {
          tx(block, [[h, exchange(), amount]]); // cash out
        } else if (r < 0.45) {
          // Peel chain: a part to an exchange, into the background (a leak) or to a holder that
          // keeps it; the rest to the next hop.
          const hop = newAccount();
          launderers.add(hop);
          const peel = part(amount, 0.05, 0.15);
          const s = rnd();
          let to: number;
          if (s < spec.leakShare) to = hash2(spec.seed, transfers) % spec.addresses;
          else if (s < spec.leakShare + 0.18) {
            to = newAccount();
            launderers.add(to);
          } else to = exchange();
          tx(block, [
            [h, to, peel],
            [h, hop, amount - peel],
          ]);
          next.add(hop);
        } else if (r < 0.65) {
          const n = 2 + int(4);
          const outs = Array.from({ length: n }, newAccount);
          const each = amount / BigInt(n);
          tx(
            block,
            outs.map((to, i) => [h, to, i === n - 1 ? amount - each * BigInt(n - 1) : each]),
          );
          for (const o of outs) {
            launderers.add(o);
            next.add(o);
          }
        } else if (r < 0.85) {
          const m = merges[int(merges.length)] as number;
          if (m === h) next.add(h);
          else {
            tx(block, [[h, m, amount]]);
            next.add(m);
          }
        } else {
          const hop = newAccount();
          launderers.add(hop);
          tx(block, [[h, hop, amount]]);
          next.add(hop);
        }
      }
      holders = [...next];
    }
    const held = new Map<string, bigint>();
    for (const id of launderers) {
      const b = balance.get(id) ?? 0n;
      if (b > 0n) held.set(this.address(id), b);
    }
    return {
      seedTx,
      seedBlock,
      victim: this.address(victim),
      thief: this.address(thief),
      stolen,
      exchanges: exchanges.map((e) => this.address(e)),
      exchangeIntake,
      held,
      leaks,
      launderers: new Set([...launderers].map((id) => this.address(id))),
      transfers,
    };
  }

  /** Every transfer of the chain, background, mints and laundering. */
  get transfers(): number {
    return this.total + this.spec.addresses + this.specialMints.size + this.laundering.transfers;
  }
}

// ---------------------------------------------------------------- JSON-RPC

interface Call {
  jsonrpc?: string;
  id?: unknown;
  method?: unknown;
  params?: unknown;
}

class RpcFailure extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What the server counted: HTTP requests and calls by method. */
export interface ChainStats {
  requests: number;
  calls: Record<string, number>;
  /** eth_getLogs requests that asked for blocks 64 or more below the head (final blocks). */
  finalGetLogs: number;
  /** Requests refused as too large (block range or results). */
  refused: number;
}

/** The JSON-RPC methods of a {@link GeneratedChain}. */
export class ChainRpc {
  readonly stats: ChainStats = { requests: 0, calls: {}, finalGetLogs: 0, refused: 0 };
  private readonly maxBlockRange: number;
  private readonly maxResults: number;
  private readonly traces: boolean;
  private readonly logTimestamps: boolean;

  constructor(
    readonly chain: GeneratedChain,
    options: ServerOptions = {},
  ) {
    this.maxBlockRange = options.maxBlockRange ?? 10_000;
    this.maxResults = options.maxResults ?? 10_000;
    this.traces = options.traces ?? true;
    this.logTimestamps = options.logTimestamps ?? true;
  }

  private blockNumber(tag: unknown): number {
    if (
      tag === "latest" ||
      tag === "safe" ||
      tag === "finalized" ||
      tag === "pending" ||
      tag === undefined
    )
      return this.chain.head;
    if (tag === "earliest") return 0;
    if (typeof tag === "string" && /^0x[0-9a-f]+$/i.test(tag)) return Number(tag);
    if (typeof tag === "object" && tag !== null && "blockNumber" in tag)
      return this.blockNumber((tag as { blockNumber: unknown }).blockNumber);
    throw new RpcFailure(-32602, `invalid block tag ${JSON.stringify(tag)}`);
  }

  private log(t: ChainTransfer) {
    const c = this.chain;
    return {
      address: TOKEN,
      topics: [TRANSFER_TOPIC, pad64(t.from), pad64(t.to)],
      data: pad64(hex(t.amount)),
      blockNumber: hex(t.block),
      blockHash: c.blockHash(t.block),
      ...(this.logTimestamps ? { blockTimestamp: hex(c.time(t.block)) } : {}),
      transactionHash: c.txHash(t.block, t.txIndex),
      transactionIndex: hex(t.txIndex),
      logIndex: hex(t.logIndex),
      removed: false,
    };
  }

  /** The transactions of a block: each one's transfers (a laundering transaction may have several). */
  private txsIn(block: number): ChainTransfer[][] {
    const txs: ChainTransfer[][] = [];
    for (const t of this.chain.transfersIn(block)) {
      const last = txs[txs.length - 1];
      if (last !== undefined && head(last).txIndex === t.txIndex) last.push(t);
      else txs.push([t]);
    }
    return txs;
  }

  private sender(moves: ChainTransfer[]): string {
    const first = head(moves);
    return first.from === ZERO ? MINTER : first.from;
  }

  private transaction(moves: ChainTransfer[]) {
    const c = this.chain;
    const t = head(moves);
    const input =
      moves.length === 1 && t.from !== ZERO
        ? `0xa9059cbb${pad64(t.to).slice(2)}${pad64(hex(t.amount)).slice(2)}`
        : `0x5eed${word(moves.length)}`;
    return {
      hash: c.txHash(t.block, t.txIndex),
      blockHash: c.blockHash(t.block),
      blockNumber: hex(t.block),
      transactionIndex: hex(t.txIndex),
      from: this.sender(moves),
      to: TOKEN,
      value: "0x0",
      input,
      nonce: "0x0",
      gas: "0x186a0",
      gasPrice: "0x0",
      type: "0x0",
      chainId: hex(c.spec.chainId),
      v: "0x1b",
      r: pad64("0x1"),
      s: pad64("0x1"),
    };
  }

  private receipt(moves: ChainTransfer[]) {
    const c = this.chain;
    const t = head(moves);
    return {
      transactionHash: c.txHash(t.block, t.txIndex),
      transactionIndex: hex(t.txIndex),
      blockHash: c.blockHash(t.block),
      blockNumber: hex(t.block),
      from: this.sender(moves),
      to: TOKEN,
      cumulativeGasUsed: hex(50_000 * (t.txIndex + 1)),
      gasUsed: "0xc350",
      effectiveGasPrice: "0x0",
      contractAddress: null,
      logs: moves.map((m) => this.log(m)),
      logsBloom: `0x${"0".repeat(512)}`,
      status: "0x1",
      type: "0x0",
    };
  }

  private block(n: number, full: boolean) {
    const c = this.chain;
    if (n < 0 || n > c.head) return null;
    const txs = this.txsIn(n);
    return {
      number: hex(n),
      hash: c.blockHash(n),
      parentHash: n === 0 ? pad64("0x0") : c.blockHash(n - 1),
      timestamp: hex(c.time(n)),
      miner: ZERO,
      gasLimit: hex(30_000_000),
      gasUsed: hex(50_000 * txs.length),
      baseFeePerGas: "0x0",
      difficulty: "0x0",
      extraData: "0x",
      logsBloom: `0x${"0".repeat(512)}`,
      nonce: "0x0000000000000000",
      mixHash: pad64("0x0"),
      sha3Uncles: pad64("0x0"),
      stateRoot: pad64("0x0"),
      receiptsRoot: pad64("0x0"),
      transactionsRoot: pad64("0x0"),
      size: "0x220",
      uncles: [],
      transactions: txs.map((m) => (full ? this.transaction(m) : c.txHash(n, head(m).txIndex))),
    };
  }

  private movesOf(hash: unknown): ChainTransfer[] | null {
    if (typeof hash !== "string") throw new RpcFailure(-32602, "invalid transaction hash");
    const at = this.chain.txOfHash(hash);
    if (at === null) return null;
    const moves = this.chain.transfersOfTx(at.block, at.position);
    return moves.length === 0 ? null : moves;
  }

  private addressList(v: unknown): string[] | null {
    if (v === null || v === undefined) return null;
    const list = Array.isArray(v) ? v : [v];
    if (list.length > 1000)
      throw new RpcFailure(-32602, "too many addresses in one filter (1000 at most)");
    return list.map((x) => `0x${String(x).slice(-40)}`.toLowerCase());
  }

  private getLogs(filter: Record<string, unknown>): unknown[] {
    const c = this.chain;
    let from: number;
    let to: number;
    if (typeof filter["blockHash"] === "string") {
      const n = c.blockOfHash(filter["blockHash"]);
      if (n === null) throw new RpcFailure(-32000, "unknown block");
      from = to = n;
    } else {
      from = this.blockNumber(filter["fromBlock"] ?? "latest");
      to = Math.min(c.head, this.blockNumber(filter["toBlock"] ?? "latest"));
    }
    if (to < from) return [];
    if (from <= c.head - 64) this.stats.finalGetLogs++;
    if (to - from + 1 > this.maxBlockRange)
      throw new RpcFailure(
        -32614,
        `eth_getLogs is limited to a ${this.maxBlockRange.toLocaleString("en-US")} range`,
      );
    const address = this.addressList(filter["address"]);
    if (address !== null && !address.includes(TOKEN)) return [];
    const topics = (filter["topics"] ?? []) as unknown[];
    const t0 =
      topics[0] === null || topics[0] === undefined ? null : ([] as unknown[]).concat(topics[0]);
    if (t0 !== null && !t0.map((t) => String(t).toLowerCase()).includes(TRANSFER_TOPIC)) return [];
    const senders = this.addressList(topics[1]);
    const receivers = this.addressList(topics[2]);
    let found: ChainTransfer[] = [];
    if (senders !== null || receivers !== null) {
      const [side, list] =
        senders !== null ? (["from", senders] as const) : (["to", receivers ?? []] as const);
      const seen = new Set<string>();
      for (const a of list)
        for (const t of c.transfersOf(a, side, from, to)) {
          const key = `${t.block}:${t.logIndex}`;
          if (!seen.has(key)) {
            seen.add(key);
            found.push(t);
          }
        }
      if (senders !== null && receivers !== null) {
        const want = new Set(receivers);
        found = found.filter((t) => want.has(t.to));
      }
      found.sort((a, b) => a.block - b.block || a.logIndex - b.logIndex);
    } else {
      for (let n = from; n <= to && found.length <= this.maxResults; n++)
        found.push(...c.transfersIn(n));
    }
    if (found.length > this.maxResults) {
      // The widest range from `from` whose logs fit, as Infura proposes it.
      const cut = (found[this.maxResults] as ChainTransfer).block;
      const fits = Math.max(from, cut - 1);
      throw new RpcFailure(
        -32005,
        `query returned more than ${this.maxResults} results. Try with this block range [${hex(from)}, ${hex(fits)}].`,
      );
    }
    return found.map((t) => this.log(t));
  }

  private balanceOf(data: string, tag: unknown): string {
    const holder = `0x${data.slice(-40)}`.toLowerCase();
    return pad64(hex(this.chain.balanceAt(holder, this.blockNumber(tag))));
  }

  /** A transaction's top call as a trace (OpenEthereum's format). */
  private trace(moves: ChainTransfer[]) {
    const c = this.chain;
    const t = head(moves);
    return {
      action: {
        from: this.sender(moves),
        callType: "call",
        gas: "0x186a0",
        input: "0x",
        to: TOKEN,
        value: "0x0",
      },
      blockHash: c.blockHash(t.block),
      blockNumber: t.block,
      result: { gasUsed: "0xc350", output: "0x" },
      subtraces: 0,
      traceAddress: [],
      transactionHash: c.txHash(t.block, t.txIndex),
      transactionPosition: t.txIndex,
      type: "call",
    };
  }

  private traceFilter(filter: Record<string, unknown>): unknown[] {
    const c = this.chain;
    const from = this.blockNumber(filter["fromBlock"] ?? "latest");
    const to = Math.min(c.head, this.blockNumber(filter["toBlock"] ?? "latest"));
    if (to - from + 1 > this.maxBlockRange)
      throw new RpcFailure(-32602, `block range too large: at most ${this.maxBlockRange} blocks`);
    const senders = this.addressList(filter["fromAddress"]);
    const receivers = this.addressList(filter["toAddress"]);
    const out: unknown[] = [];
    const add = (moves: ChainTransfer[]) => {
      out.push(this.trace(moves));
      if (out.length > this.maxResults)
        throw new RpcFailure(-32005, `query returned more than ${this.maxResults} results`);
    };
    if (receivers !== null && receivers.includes(TOKEN)) {
      for (let n = from; n <= to; n++) for (const m of this.txsIn(n)) add(m);
      return out;
    }
    for (const a of senders ?? []) {
      const seen = new Set<number>();
      for (const t of c.transfersOf(a, "from", from, to)) {
        const key = t.block * MAX_POSITION + t.txIndex;
        if (seen.has(key)) continue;
        seen.add(key);
        add(this.chain.transfersOfTx(t.block, t.txIndex));
      }
    }
    return out;
  }

  /** Answers one call. */
  answer(method: string, params: unknown[]): unknown {
    const c = this.chain;
    this.stats.calls[method] = (this.stats.calls[method] ?? 0) + 1;
    const tracing = () => {
      if (!this.traces)
        throw new RpcFailure(-32601, `the method ${method} does not exist/is not available`);
    };
    switch (method) {
      case "eth_chainId":
        return hex(c.spec.chainId);
      case "net_version":
        return String(c.spec.chainId);
      case "eth_blockNumber":
        return hex(c.head);
      case "eth_getBlockByNumber":
        return this.block(this.blockNumber(params[0]), params[1] === true);
      case "eth_getBlockByHash": {
        const n = c.blockOfHash(String(params[0]));
        return n === null ? null : this.block(n, params[1] === true);
      }
      case "eth_getLogs":
        return this.getLogs((params[0] ?? {}) as Record<string, unknown>);
      case "eth_getTransactionByHash": {
        const m = this.movesOf(params[0]);
        return m === null ? null : this.transaction(m);
      }
      case "eth_getTransactionReceipt": {
        const m = this.movesOf(params[0]);
        return m === null ? null : this.receipt(m);
      }
      case "eth_getCode":
        return String(params[0]).toLowerCase() === TOKEN ? "0x6080604052" : "0x";
      case "eth_getBalance":
        return hex(UNIT);
      case "eth_call": {
        const call = (params[0] ?? {}) as { to?: string; data?: string; input?: string };
        const data = (call.data ?? call.input ?? "").toLowerCase();
        if (String(call.to).toLowerCase() !== TOKEN) return "0x";
        if (data.startsWith("0x70a08231")) return this.balanceOf(data, params[1]);
        if (data.startsWith("0x313ce567")) return pad64("0x12");
        throw new RpcFailure(3, "execution reverted");
      }
      case "trace_filter":
        tracing();
        return this.traceFilter((params[0] ?? {}) as Record<string, unknown>);
      case "trace_transaction": {
        tracing();
        const m = this.movesOf(params[0]);
        return m === null ? null : [this.trace(m)];
      }
      case "debug_traceBlockByHash": {
        tracing();
        const n = c.blockOfHash(String(params[0]));
        if (n === null) throw new RpcFailure(-32000, "block not found");
        return this.txsIn(n).map((m) => ({
          txHash: c.txHash(n, head(m).txIndex),
          result: {
            type: "CALL",
            from: this.sender(m),
            to: TOKEN,
            value: "0x0",
            gas: "0x186a0",
            gasUsed: "0xc350",
            input: "0x",
            output: "0x",
          },
        }));
      }
      case "rpcchain_stats":
        return this.stats;
      default:
        throw new RpcFailure(-32601, `the method ${method} does not exist/is not available`);
    }
  }

  private one(call: Call): unknown {
    const id = call.id ?? null;
    try {
      if (typeof call.method !== "string") throw new RpcFailure(-32600, "invalid request");
      const params = Array.isArray(call.params) ? call.params : [];
      return { jsonrpc: "2.0", id, result: this.answer(call.method, params) };
    } catch (error) {
      if (error instanceof RpcFailure && (error.code === -32614 || error.code === -32005))
        this.stats.refused++;
      if (error instanceof RpcFailure)
        return { jsonrpc: "2.0", id, error: { code: error.code, message: error.message } };
      return { jsonrpc: "2.0", id, error: { code: -32603, message: (error as Error).message } };
    }
  }

  /** Answers a request body (one call or a batch). */
  handle(body: string): string {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      return JSON.stringify({
        jsonrpc: "2.0",
        id: null,
        error: { code: -32700, message: "parse error" },
      });
    }
    this.stats.requests++;
    return JSON.stringify(
      Array.isArray(parsed) ? parsed.map((c) => this.one(c as Call)) : this.one(parsed as Call),
    );
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on("data", (d: Buffer) => parts.push(d));
    req.on("end", () => resolve(Buffer.concat(parts).toString("utf8")));
    req.on("error", reject);
  });
}

export interface RunningChain {
  url: string;
  rpc: ChainRpc;
  close(): Promise<void>;
}

/** Serves a generated chain on 127.0.0.1 and a free port (in this process). */
export async function serveChain(
  spec: ChainSpec,
  options: ServerOptions = {},
): Promise<RunningChain> {
  const rpc = new ChainRpc(new GeneratedChain(spec), options);
  const latency = options.latencyMs ?? 30;
  const server: Server = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      const started = Date.now();
      const answer = rpc.handle(body);
      const wait = latency - (Date.now() - started);
      if (wait > 0) await sleep(wait);
      res.writeHead(200, { "content-type": "application/json" });
      res.end(answer);
    })().catch(() => {
      res.writeHead(500);
      res.end();
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    rpc,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A generated chain served by a child process (its memory and CPU are not the caller's). */
export interface ChildChain {
  url: string;
  /** What the server counted so far. */
  stats(): Promise<ChainStats>;
  close(): Promise<void>;
}

/** Starts `scripts/rpc-chain.ts` in a child process and waits for its URL. */
export async function spawnChain(
  spec: ChainSpec,
  options: ServerOptions = {},
): Promise<ChildChain> {
  const { spawn } = await import("node:child_process");
  const { fileURLToPath } = await import("node:url");
  const entry = fileURLToPath(new URL("../rpc-chain.ts", import.meta.url));
  const child = spawn(
    process.execPath,
    ["--import", "tsx", entry, JSON.stringify({ spec, options })],
    {
      stdio: ["pipe", "pipe", "inherit"],
    },
  );
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      const line = out.split("\n").find((l) => l.startsWith("{"));
      if (line !== undefined) resolve((JSON.parse(line) as { url: string }).url);
    });
    child.on("exit", (code) => reject(new Error(`the chain server exited with code ${code}`)));
  });
  const stats = async () => {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "rpcchain_stats", params: [] }),
    });
    return ((await res.json()) as { result: ChainStats }).result;
  };
  return {
    url,
    stats,
    close: () =>
      new Promise<void>((resolve) => {
        child.once("exit", () => resolve());
        child.stdin.end();
      }),
  };
}
