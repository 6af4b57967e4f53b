import type { ModelContext, TaintModel } from "./model.js";
import { addComponent, Components, ROOT } from "./paths.js";

const gcd = (a: bigint, b: bigint): bigint => {
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
};

/**
 * Poison: from its first tainted inflow on, every outflow of an address is wholly tainted, and
 * its whole balance counts as taint. An address's components are its tainted receipts: each
 * receipt's path is the path by which its sender was first tainted, then the receipt. A
 * conversion's whole output is tainted. Value (with every asset): an account's taint is valued at
 * the rate of its first tainted receipt (seed asset per unit: the product of the conversions' in/out
 * on the path that first tainted it). With every asset, an account its outflows empty is clean
 * again (its whole balance, none, is the taint): a router or any pass-through that holds nothing
 * between transactions does not poison everyone who uses it later.
 */
export class PoisonModel implements TaintModel {
  private readonly tainted: Uint8Array;
  /** The path by which each tainted address was first tainted. */
  private readonly firstPath: Int32Array;
  private readonly receipts: (Components | undefined)[];
  /** With every asset: each tainted account's rate, as a fraction num/den. */
  private readonly rateNum: bigint[] | undefined;
  private readonly rateDen: bigint[] | undefined;
  private readonly list: number[] = [];
  private readonly listed: Uint8Array;
  /** With every asset: the account the last take emptied, cleaned once the take is given. */
  private emptied = -1;
  private lastFrom = 0;
  private lastAmount = 0n;
  /** The rate of the last take (after a conversion, of its output). */
  private num = 1n;
  private den = 1n;

  constructor(private readonly ctx: ModelContext) {
    this.tainted = new Uint8Array(ctx.size);
    this.firstPath = new Int32Array(ctx.size).fill(ROOT);
    this.receipts = new Array<Components | undefined>(ctx.size);
    this.listed = new Uint8Array(ctx.size);
    if (ctx.values) {
      this.rateNum = new Array<bigint>(ctx.size).fill(1n);
      this.rateDen = new Array<bigint>(ctx.size).fill(1n);
    }
  }

  holdsTaint(address: number): boolean {
    return this.tainted[address] === 1;
  }

  addPreexisting(): void {}

  take(address: number, amount: bigint, balance: bigint): bigint {
    this.lastFrom = address;
    this.lastAmount = amount;
    // The balance before is given when the account holds taint.
    if (this.rateNum !== undefined && this.tainted[address] === 1 && balance === amount)
      this.emptied = address;
    if (this.rateNum !== undefined && this.rateDen !== undefined) {
      this.num = this.rateNum[address] as bigint;
      this.den = this.rateDen[address] as bigint;
    }
    return this.tainted[address] === 1 ? amount : 0n;
  }

  convert(amountIn: bigint, amountOut: bigint): bigint {
    const num = this.num * amountIn;
    const den = this.den * amountOut;
    const g = gcd(num, den);
    this.num = num / g;
    this.den = den / g;
    this.lastAmount = amountOut;
    return amountOut;
  }

  carriedValue(): bigint {
    if (this.tainted[this.lastFrom] !== 1) return 0n;
    return this.rateNum === undefined ? this.lastAmount : (this.lastAmount * this.num) / this.den;
  }

  /** The node of the last take's receipt via `edge`. */
  private receiptNode(edge: number): number {
    const from = this.lastFrom;
    const parent = this.tainted[from] === 1 ? (this.firstPath[from] ?? ROOT) : ROOT;
    return this.ctx.forest.add(edge, parent);
  }

  giveTainted(address: number, amount: bigint, _balance: bigint, edge: number): void {
    const node = this.receiptNode(edge);
    this.mark(address, node);
    addComponent(this.componentsOf(address), node, amount, this.ctx.k);
    this.clean();
  }

  giveClean(): void {
    this.clean();
  }

  giveExit(exit: Components, edge: number): bigint {
    addComponent(exit, this.receiptNode(edge), this.lastAmount, this.ctx.k);
    this.clean();
    return this.rateNum === undefined ? this.lastAmount : (this.lastAmount * this.num) / this.den;
  }

  /** The account the last take emptied holds no taint any more (with every asset). */
  private clean(): void {
    if (this.emptied < 0) return;
    const a = this.emptied;
    this.emptied = -1;
    this.tainted[a] = 0;
    this.receipts[a] = undefined;
  }

  seedBalance(address: number, balance: bigint, node: number): void {
    this.markWith(address, node, 1n, 1n);
    addComponent(this.componentsOf(address), node, balance, this.ctx.k);
  }

  holding(
    address: number,
    balance: bigint,
  ): { amount: bigint; value: bigint; components?: Components } {
    if (this.tainted[address] !== 1) return { amount: 0n, value: 0n };
    const value =
      this.rateNum === undefined || this.rateDen === undefined
        ? balance
        : (balance * (this.rateNum[address] as bigint)) / (this.rateDen[address] as bigint);
    return { amount: balance, value, components: this.receipts[address] };
  }

  candidates(): Iterable<number> {
    return this.list;
  }

  /** Marks `address` tainted by the last take (its rate; a seed's is 1). */
  private mark(address: number, node: number): void {
    const seeded = this.tainted[this.lastFrom] !== 1;
    this.markWith(address, node, seeded ? 1n : this.num, seeded ? 1n : this.den);
  }

  private markWith(address: number, node: number, num: bigint, den: bigint): void {
    if (this.tainted[address] === 1) return;
    this.tainted[address] = 1;
    this.firstPath[address] = node;
    if (this.rateNum !== undefined && this.rateDen !== undefined) {
      this.rateNum[address] = num;
      this.rateDen[address] = den;
    }
    if (this.listed[address] === 0) {
      this.listed[address] = 1;
      this.list.push(address);
    }
  }

  private componentsOf(address: number): Components {
    let c = this.receipts[address];
    if (c === undefined) this.receipts[address] = c = new Components();
    return c;
  }
}
