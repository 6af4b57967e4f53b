import { TaintAmounts, type ModelContext, type TaintModel } from "./model.js";
import { addComponent, Components, ROOT, UNEXPLAINED } from "./paths.js";

/** The path mark of a clean lot (tainted lots carry their path node, or UNEXPLAINED). */
const CLEAN = -3;

/**
 * Lots of one address, oldest first, from `head` on. Adjacent clean lots are merged. With every
 * asset, `values` holds each lot's value in the seed's asset (0 for a clean lot).
 */
class Lots {
  amounts: bigint[] = [];
  paths: number[] = [];
  values: bigint[] | undefined;
  head = 0;

  constructor(values: boolean) {
    this.values = values ? [] : undefined;
  }

  append(amount: bigint, path: number, value: bigint): void {
    const last = this.paths.length - 1;
    if (last >= this.head && this.paths[last] === path) {
      this.amounts[last] = (this.amounts[last] as bigint) + amount;
      if (this.values !== undefined) this.values[last] = (this.values[last] as bigint) + value;
      return;
    }
    this.amounts.push(amount);
    this.paths.push(path);
    this.values?.push(value);
  }

  prependClean(amount: bigint): void {
    if (this.head < this.paths.length && this.paths[this.head] === CLEAN) {
      this.amounts[this.head] = (this.amounts[this.head] as bigint) + amount;
    } else if (this.head > 0) {
      this.head--;
      this.amounts[this.head] = amount;
      this.paths[this.head] = CLEAN;
      if (this.values !== undefined) this.values[this.head] = 0n;
    } else {
      this.amounts.unshift(amount);
      this.paths.unshift(CLEAN);
      this.values?.unshift(0n);
    }
  }

  /** Drops consumed lots once they are the larger part of the arrays. */
  compact(): void {
    if (this.head === this.paths.length) {
      this.amounts.length = 0;
      this.paths.length = 0;
      if (this.values !== undefined) this.values.length = 0;
      this.head = 0;
    } else if (this.head > 32 && this.head * 2 > this.paths.length) {
      this.amounts.splice(0, this.head);
      this.paths.splice(0, this.head);
      this.values?.splice(0, this.head);
      this.head = 0;
    }
  }
}

/**
 * FIFO (Clayton's case): each address holds a queue of lots; an outflow consumes the oldest lots
 * first and the receiver appends the consumed pieces in the same order. Only addresses holding
 * taint keep a queue; the others are one clean lot (their balance).
 */
export class FifoModel extends TaintAmounts implements TaintModel {
  private readonly queues: (Lots | undefined)[];
  /** The pieces of the last take, in order (none when the sender had no queue: all clean). */
  private readonly pieceAmounts: bigint[] = [];
  private readonly piecePaths: number[] = [];
  /** With every asset: the value of each piece. */
  private readonly pieceValues: bigint[] = [];
  private pieces = 0;
  private lastAmount = 0n;
  private carried = 0n;
  private value = 0n;
  private readonly values: boolean;
  /** Nodes made for the current give, by parent, so that equal paths share one node. */
  private readonly madeParents: number[] = [];
  private readonly madeNodes: number[] = [];
  private readonly madeSums: bigint[] = [];
  private readonly madeMap = new Map<number, number>();
  private made = 0;
  private edge = 0;

  constructor(private readonly ctx: ModelContext) {
    super(ctx.size);
    this.queues = new Array<Lots | undefined>(ctx.size);
    this.values = ctx.values;
  }

  addPreexisting(address: number, excess: bigint): void {
    this.queues[address]?.prependClean(excess);
  }

  take(address: number, amount: bigint): bigint {
    this.lastAmount = amount;
    this.pieces = 0;
    const q = this.queues[address];
    if (q === undefined) {
      this.carried = 0n;
      this.value = 0n;
      return 0n;
    }
    const { amounts, paths, values } = q;
    let rest = amount;
    let carried = 0n;
    let value = 0n;
    let n = 0;
    let head = q.head;
    while (rest > 0n) {
      // The lots add up to the balance, and the loop made the balance cover the amount.
      if (head >= amounts.length) throw new Error(`FIFO lots of address #${address} fall short`);
      const a = amounts[head] as bigint;
      const p = paths[head] as number;
      let piece: bigint;
      let v = 0n;
      if (a <= rest) {
        piece = a;
        if (values !== undefined) v = values[head] as bigint;
        head++;
      } else {
        piece = rest;
        amounts[head] = a - rest;
        if (values !== undefined) {
          const lot = values[head] as bigint;
          v = (lot * rest) / a;
          values[head] = lot - v;
        }
      }
      rest -= piece;
      if (p !== CLEAN) {
        carried += piece;
        value += v;
      }
      this.pieceAmounts[n] = piece;
      this.piecePaths[n] = p;
      this.pieceValues[n] = v;
      n++;
    }
    q.head = head;
    this.pieces = n;
    this.carried = carried;
    this.value = values === undefined ? carried : value;
    const left = (this.taint[address] ?? 0n) - carried;
    this.taint[address] = left;
    // With no taint left, the address is one clean lot again: its balance says how large.
    if (left === 0n) this.queues[address] = undefined;
    else q.compact();
    return carried;
  }

  /**
   * The pieces, `amountIn` in all, become `amountOut` of another asset: each piece is rescaled by
   * cumulative rounding (the lots map by the conversion's ratio, their order kept); values stay.
   */
  convert(amountIn: bigint, amountOut: bigint): bigint {
    let cum = 0n;
    let prev = 0n;
    let carried = 0n;
    for (let i = 0; i < this.pieces; i++) {
      cum += this.pieceAmounts[i] as bigint;
      const f = (amountOut * cum) / amountIn;
      const a = f - prev;
      prev = f;
      this.pieceAmounts[i] = a;
      if (this.piecePaths[i] !== CLEAN) carried += a;
    }
    this.carried = carried;
    this.lastAmount = amountOut;
    return carried;
  }

  carriedValue(): bigint {
    return this.value;
  }

  giveTainted(address: number, amount: bigint, balance: bigint, edge: number, seed: boolean): void {
    let q = this.queues[address];
    if (q === undefined) {
      this.queues[address] = q = new Lots(this.values);
      if (balance > 0n) q.append(balance, CLEAN, 0n);
      this.listCandidate(address);
    }
    this.startGive(edge);
    if (this.pieces === 0) {
      if (seed) q.append(amount, this.nodeFor(ROOT), amount);
      else q.append(amount, CLEAN, 0n);
    } else {
      for (let i = 0; i < this.pieces; i++) {
        const p = this.piecePaths[i] as number;
        const a = this.pieceAmounts[i] as bigint;
        if (p !== CLEAN) q.append(a, this.nodeFor(p), this.pieceValues[i] as bigint);
        else if (seed) q.append(a, this.nodeFor(ROOT), a);
        else q.append(a, CLEAN, 0n);
      }
    }
    const fresh = seed ? amount - this.carried : 0n;
    this.taint[address] = (this.taint[address] ?? 0n) + this.carried + fresh;
  }

  giveClean(address: number, amount: bigint): void {
    this.queues[address]?.append(amount, CLEAN, 0n);
  }

  giveExit(exit: Components, edge: number, seed: boolean): bigint {
    const k = this.ctx.k;
    this.startGive(edge);
    if (this.pieces === 0) {
      if (!seed) return 0n;
      addComponent(exit, this.nodeFor(ROOT), this.lastAmount, k);
      return this.lastAmount;
    }
    // Pieces of one path share one node: add them up first.
    let value = this.value;
    for (let i = 0; i < this.pieces; i++) {
      const p = this.piecePaths[i] as number;
      if (p === CLEAN && !seed) continue;
      const a = this.pieceAmounts[i] as bigint;
      if (p === CLEAN) value += a;
      if (p === UNEXPLAINED) exit.other += a;
      else {
        const s = this.slot(p === CLEAN ? ROOT : p);
        this.madeSums[s] = (this.madeSums[s] as bigint) + a;
      }
    }
    for (let s = 0; s < this.made; s++)
      addComponent(exit, this.madeNodes[s] as number, this.madeSums[s] as bigint, k);
    return value;
  }

  seedBalance(address: number, balance: bigint, node: number): void {
    const q = new Lots(this.values);
    if (balance > 0n) q.append(balance, node, balance);
    this.queues[address] = q;
    this.taint[address] = balance;
    this.listCandidate(address);
  }

  holding(address: number): { amount: bigint; value: bigint; components?: Components } {
    const amount = this.taint[address] ?? 0n;
    const q = this.queues[address];
    if (amount === 0n || q === undefined) return { amount, value: amount };
    const byNode = new Map<number, bigint>();
    let other = 0n;
    let value = 0n;
    for (let i = q.head; i < q.paths.length; i++) {
      const p = q.paths[i] as number;
      const a = q.amounts[i] as bigint;
      if (p === CLEAN) continue;
      if (q.values !== undefined) value += q.values[i] as bigint;
      if (p === UNEXPLAINED) other += a;
      else byNode.set(p, (byNode.get(p) ?? 0n) + a);
    }
    const components = new Components();
    components.other = other;
    for (const [node, a] of byNode) addComponent(components, node, a, this.ctx.k);
    return { amount, value: q.values === undefined ? amount : value, components };
  }

  private startGive(edge: number): void {
    this.edge = edge;
    if (this.made > 16) this.madeMap.clear();
    this.made = 0;
  }

  /** The node extending `parent` by the current edge; one per parent within a give. */
  private nodeFor(parent: number): number {
    return parent === UNEXPLAINED ? UNEXPLAINED : (this.madeNodes[this.slot(parent)] as number);
  }

  /** The index of the node made in this give for `parent` (made now if needed). */
  private slot(parent: number): number {
    if (this.made <= 16) {
      for (let i = 0; i < this.made; i++) if (this.madeParents[i] === parent) return i;
    } else {
      const found = this.madeMap.get(parent);
      if (found !== undefined) return found;
    }
    const i = this.made++;
    this.madeParents[i] = parent;
    this.madeNodes[i] = this.ctx.forest.add(this.edge, parent);
    this.madeSums[i] = 0n;
    if (this.made === 17)
      for (let j = 0; j < 17; j++) this.madeMap.set(this.madeParents[j] as number, j);
    else if (this.made > 17) this.madeMap.set(parent, i);
    return i;
  }
}
