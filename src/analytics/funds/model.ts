import type { Components, PathForest } from "./paths.js";

/**
 * What the trace loop (taint.ts) needs from a taint model. The loop keeps balances, hops,
 * exits, buckets and edges; a model keeps how taint sits in each address and moves with a
 * transfer. A transfer is one `take` from the sender, then (for a conversion) one `convert`, then
 * exactly one `give*` for the receiver. Address ids are those of the TransferLog (accounts, with
 * every asset).
 *
 * Value: with every asset, a model also keeps the value of the taint in the seed's asset, which a
 * conversion carries unchanged (docs/taint-models.md, "Valuation"); on one asset, value and amount
 * are one number.
 */
export interface TaintModel {
  /** Whether `address` holds taint now. */
  holdsTaint(address: number): boolean;
  /** `excess` units of unknown history appear at `address`: clean funds older than any known. */
  addPreexisting(address: number, excess: bigint): void;
  /**
   * Takes `amount` out of `address`, whose balance before is `balance` (≥ amount); returns the
   * tainted part and remembers what was taken for the next `give*`.
   */
  take(address: number, amount: bigint, balance: bigint): bigint;
  /**
   * The last take arrives at `address` and its taint stays taint there, carried by `edge`. With
   * `seed`, the whole amount arrives tainted: its clean part is new taint, rooted at `edge`.
   * `balance` is the receiver's balance before the transfer.
   */
  giveTainted(address: number, amount: bigint, balance: bigint, edge: number, seed: boolean): void;
  /**
   * The last take, `amountIn` of one asset, becomes `amountOut` of another (a conversion, called
   * only when the take carried taint); returns the tainted part of `amountOut`.
   */
  convert(amountIn: bigint, amountOut: bigint): bigint;
  /** The value of the last take's taint (after `convert`, the same value). */
  carriedValue(): bigint;
  /** The last take arrives at `address` as clean funds (its taint, if any, was stopped). */
  giveClean(address: number, amount: bigint): void;
  /**
   * The last take's taint (or, with `seed`, all of it) reaches an exit via `edge`; returns its
   * value.
   */
  giveExit(exit: Components, edge: number, seed: boolean): bigint;
  /** The whole balance of `address` becomes taint, along path `node` (a balance seed). */
  seedBalance(address: number, balance: bigint, node: number): void;
  /** Taint at `address` at the end: its amount, its value and its split by path. */
  holding(
    address: number,
    balance: bigint,
  ): { amount: bigint; value: bigint; components?: Components };
  /** Addresses that may hold taint (a superset), for building holdings. */
  candidates(): Iterable<number>;
}

/**
 * What the models that count taint per address (FIFO, haircut) share: the taint each address
 * holds, and the addresses that may hold some (each listed once, for {@link TaintModel.candidates}).
 */
export abstract class TaintAmounts {
  protected readonly taint: bigint[];
  private readonly list: number[] = [];
  private readonly listed: Uint8Array;

  constructor(size: number) {
    this.taint = new Array<bigint>(size).fill(0n);
    this.listed = new Uint8Array(size);
  }

  holdsTaint(address: number): boolean {
    return this.taint[address] !== 0n;
  }

  candidates(): Iterable<number> {
    return this.list;
  }

  /** Lists `address` among the candidates, unless it is listed already. */
  protected listCandidate(address: number): void {
    if (this.listed[address] === 0) {
      this.listed[address] = 1;
      this.list.push(address);
    }
  }
}

export interface ModelContext {
  /** Whether values are kept apart from amounts (a trace of every asset). */
  values: boolean;
  forest: PathForest;
  /** Paths kept per account (`maxPaths`). */
  k: number;
  /** Number of address ids. */
  size: number;
}
