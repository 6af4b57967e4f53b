import type { ModelContext, TaintModel } from "./model.js";
import { addComponent, Components, ROOT } from "./paths.js";

/**
 * Poison: from its first tainted inflow on, every outflow of an address is wholly tainted, and
 * its whole balance counts as taint. An address's components are its tainted receipts: each
 * receipt's path is the path by which its sender was first tainted, then the receipt.
 */
export class PoisonModel implements TaintModel {
  private readonly tainted: Uint8Array;
  /** The path by which each tainted address was first tainted. */
  private readonly firstPath: Int32Array;
  private readonly receipts: (Components | undefined)[];
  private readonly list: number[] = [];
  private lastFrom = 0;
  private lastAmount = 0n;

  constructor(private readonly ctx: ModelContext) {
    this.tainted = new Uint8Array(ctx.size);
    this.firstPath = new Int32Array(ctx.size).fill(ROOT);
    this.receipts = new Array<Components | undefined>(ctx.size);
  }

  holdsTaint(address: number): boolean {
    return this.tainted[address] === 1;
  }

  addPreexisting(): void {}

  take(address: number, amount: bigint): bigint {
    this.lastFrom = address;
    this.lastAmount = amount;
    return this.tainted[address] === 1 ? amount : 0n;
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
  }

  giveClean(): void {}

  giveExit(exit: Components, edge: number): void {
    addComponent(exit, this.receiptNode(edge), this.lastAmount, this.ctx.k);
  }

  seedBalance(address: number, balance: bigint, node: number): void {
    this.mark(address, node);
    addComponent(this.componentsOf(address), node, balance, this.ctx.k);
  }

  holding(address: number, balance: bigint): { amount: bigint; components?: Components } {
    if (this.tainted[address] !== 1) return { amount: 0n };
    return { amount: balance, components: this.receipts[address] };
  }

  candidates(): Iterable<number> {
    return this.list;
  }

  private mark(address: number, node: number): void {
    if (this.tainted[address] === 1) return;
    this.tainted[address] = 1;
    this.firstPath[address] = node;
    this.list.push(address);
  }

  private componentsOf(address: number): Components {
    let c = this.receipts[address];
    if (c === undefined) this.receipts[address] = c = new Components();
    return c;
  }
}
