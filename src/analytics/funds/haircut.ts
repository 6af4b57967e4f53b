import { TaintAmounts, type ModelContext, type TaintModel } from "./model.js";
import { addComponent, apportion, Components, ROOT, Taken } from "./paths.js";

/**
 * Haircut: an outflow of x from an address with balance b holding taint t carries
 * floor(x·t/b) of taint, and t decreases by exactly that much. The carried taint is shared among
 * the sender's paths in proportion to their amounts (cumulative rounding, exact).
 */
export class HaircutModel extends TaintAmounts implements TaintModel {
  private readonly parts: (Components | undefined)[];
  private readonly taken = new Taken();
  /** The amount and the taint of the last take. */
  private lastAmount = 0n;
  private carried = 0n;

  constructor(private readonly ctx: ModelContext) {
    super(ctx.size);
    this.parts = new Array<Components | undefined>(ctx.size);
  }

  addPreexisting(): void {}

  take(address: number, amount: bigint, balance: bigint): bigint {
    this.lastAmount = amount;
    const t = this.taint[address] ?? 0n;
    if (t === 0n) {
      this.carried = 0n;
      this.taken.reset();
      return 0n;
    }
    const c = t === balance ? amount : (amount * t) / balance;
    this.carried = c;
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
  }

  giveClean(): void {}

  giveExit(exit: Components, edge: number, seed: boolean): void {
    this.deliver(exit, edge, seed ? this.lastAmount - this.carried : 0n);
  }

  seedBalance(address: number, balance: bigint, node: number): void {
    const fresh = balance - (this.taint[address] ?? 0n);
    addComponent(this.partsOf(address), node, fresh, this.ctx.k);
    this.taint[address] = balance;
  }

  holding(address: number): { amount: bigint; components?: Components } {
    return { amount: this.taint[address] ?? 0n, components: this.parts[address] };
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
