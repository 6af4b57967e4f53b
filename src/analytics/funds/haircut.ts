import { TaintAmounts, type ModelContext, type TaintModel } from "./model.js";
import { addComponent, apportion, Components, ROOT, Taken } from "./paths.js";

/**
 * Haircut: an outflow of x from an address with balance b holding taint t carries
 * floor(x·t/b) of taint, and t decreases by exactly that much. The carried taint is shared among
 * the sender's paths in proportion to their amounts (cumulative rounding, exact). A conversion of
 * x into y carries floor(c·y/x) of the output's asset for c taken; the value goes along whole.
 */
export class HaircutModel extends TaintAmounts implements TaintModel {
  private readonly parts: (Components | undefined)[];
  /** With every asset: the value of each account's taint, in the seed's asset. */
  private readonly values: bigint[] | undefined;
  private readonly taken = new Taken();
  /** The amount, the taint and the value of the last take. */
  private lastAmount = 0n;
  private carried = 0n;
  private value = 0n;

  constructor(private readonly ctx: ModelContext) {
    super(ctx.size);
    this.parts = new Array<Components | undefined>(ctx.size);
    this.values = ctx.values ? new Array<bigint>(ctx.size).fill(0n) : undefined;
  }

  addPreexisting(): void {}

  take(address: number, amount: bigint, balance: bigint): bigint {
    this.lastAmount = amount;
    const t = this.taint[address] ?? 0n;
    if (t === 0n) {
      this.carried = 0n;
      this.value = 0n;
      this.taken.reset();
      return 0n;
    }
    const c = t === balance ? amount : (amount * t) / balance;
    this.carried = c;
    const values = this.values;
    if (values === undefined) this.value = c;
    else {
      const v = values[address] as bigint;
      const cv = c === t ? v : (v * c) / t;
      values[address] = v - cv;
      this.value = cv;
    }
    if (c === 0n) {
      this.taken.reset();
      return 0n;
    }
    const parts = this.parts[address] as Components;
    apportion(parts, c, t, this.taken);
    this.taint[address] = t - c;
    if (t === c) this.parts[address] = undefined;
    return c;
  }

  convert(amountIn: bigint, amountOut: bigint): bigint {
    const c = (this.carried * amountOut) / amountIn;
    this.taken.scale(this.carried, c);
    this.carried = c;
    this.lastAmount = amountOut;
    return c;
  }

  carriedValue(): bigint {
    return this.value;
  }

  giveTainted(
    address: number,
    amount: bigint,
    _balance: bigint,
    edge: number,
    seed: boolean,
  ): void {
    const fresh = seed ? amount - this.carried : 0n;
    this.deliver(this.partsOf(address), edge, fresh);
    this.taint[address] = (this.taint[address] ?? 0n) + this.carried + fresh;
    if (this.values !== undefined)
      this.values[address] = (this.values[address] as bigint) + this.value + fresh;
  }

  giveClean(): void {}

  giveExit(exit: Components, edge: number, seed: boolean): bigint {
    const fresh = seed ? this.lastAmount - this.carried : 0n;
    this.deliver(exit, edge, fresh);
    return this.value + fresh;
  }

  seedBalance(address: number, balance: bigint, node: number): void {
    const fresh = balance - (this.taint[address] ?? 0n);
    addComponent(this.partsOf(address), node, fresh, this.ctx.k);
    this.taint[address] = balance;
    if (this.values !== undefined) this.values[address] = (this.values[address] as bigint) + fresh;
  }

  holding(address: number): { amount: bigint; value: bigint; components?: Components } {
    const amount = this.taint[address] ?? 0n;
    return {
      amount,
      value: this.values === undefined ? amount : (this.values[address] as bigint),
      components: this.parts[address],
    };
  }

  private deliver(to: Components, edge: number, fresh: bigint): void {
    const { forest, k } = this.ctx;
    const taken = this.taken;
    for (let i = 0; i < taken.count; i++)
      addComponent(to, forest.add(edge, taken.nodes[i] as number), taken.amounts[i] as bigint, k);
    to.other += taken.other;
    if (fresh > 0n) addComponent(to, forest.add(edge, ROOT), fresh, k);
  }

  private partsOf(address: number): Components {
    let c = this.parts[address];
    if (c === undefined) {
      this.parts[address] = c = new Components();
      this.listCandidate(address);
    }
    return c;
  }
}
