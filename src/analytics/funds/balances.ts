/**
 * Balances of every address, exact. A balance changes with every transfer, so this is the
 * innermost loop of a trace: a bigint per update would allocate two heap objects per transfer,
 * most of them long-lived enough to burden the garbage collector. When every balance is sure to
 * stay below 2^101 (checked up front), balances are kept as two integer limbs in Float64Arrays
 * (value = hi·2^48 + lo, both exact doubles) and no object is allocated; otherwise as bigints.
 */

/** Balances, for the transfer amount last `load`ed. */
export interface BalanceBook {
  /** The amount of the next withdraw/deposit. */
  load(amount: bigint): void;
  /**
   * Takes the loaded amount out of `id`. Returns the part it did not hold (0n if none): the
   * balance then ends at zero.
   */
  withdraw(id: number): bigint;
  deposit(id: number): void;
  get(id: number): bigint;
  set(id: number, value: bigint): void;
}

const LIMB = 2 ** 48;
const LIMB_BITS = 48n;
const LIMB_MASK = (1n << 48n) - 1n;
const SAFE = 1n << 53n;

/** Below this, every sum of balances and amounts is exact in two limbs. */
export const LIMB_BOOK_LIMIT = 1n << 101n;

/** Two limbs per address (see the module comment). */
export class LimbBook implements BalanceBook {
  private readonly hi: Float64Array;
  private readonly lo: Float64Array;
  private xh = 0;
  private xl = 0;

  constructor(size: number) {
    this.hi = new Float64Array(size);
    this.lo = new Float64Array(size);
  }

  load(amount: bigint): void {
    if (amount < SAFE) {
      const n = Number(amount);
      const h = Math.floor(n / LIMB);
      this.xh = h;
      this.xl = n - h * LIMB;
    } else {
      this.xh = Number(amount >> LIMB_BITS);
      this.xl = Number(amount & LIMB_MASK);
    }
  }

  withdraw(id: number): bigint {
    let h = (this.hi[id] as number) - this.xh;
    let l = (this.lo[id] as number) - this.xl;
    if (l < 0) {
      l += LIMB;
      h -= 1;
    }
    if (h < 0) {
      // Short by −(h·2^48 + l).
      this.hi[id] = 0;
      this.lo[id] = 0;
      let sh = -h;
      let sl = -l;
      if (sl < 0) {
        sl += LIMB;
        sh -= 1;
      }
      return (BigInt(sh) << LIMB_BITS) + BigInt(sl);
    }
    this.hi[id] = h;
    this.lo[id] = l;
    return 0n;
  }

  deposit(id: number): void {
    let h = (this.hi[id] as number) + this.xh;
    let l = (this.lo[id] as number) + this.xl;
    if (l >= LIMB) {
      l -= LIMB;
      h += 1;
    }
    this.hi[id] = h;
    this.lo[id] = l;
  }

  get(id: number): bigint {
    const h = this.hi[id] as number;
    const l = this.lo[id] as number;
    return h === 0 ? BigInt(l) : (BigInt(h) << LIMB_BITS) + BigInt(l);
  }

  set(id: number, value: bigint): void {
    this.hi[id] = Number(value >> LIMB_BITS);
    this.lo[id] = Number(value & LIMB_MASK);
  }
}

/** One bigint per address: any size. */
export class BigBook implements BalanceBook {
  private readonly values: bigint[];
  private x = 0n;

  constructor(size: number) {
    this.values = new Array<bigint>(size).fill(0n);
  }

  load(amount: bigint): void {
    this.x = amount;
  }

  withdraw(id: number): bigint {
    const b = this.values[id] as bigint;
    if (this.x > b) {
      this.values[id] = 0n;
      return this.x - b;
    }
    this.values[id] = b - this.x;
    return 0n;
  }

  deposit(id: number): void {
    this.values[id] = (this.values[id] as bigint) + this.x;
  }

  get(id: number): bigint {
    return this.values[id] as bigint;
  }

  set(id: number, value: bigint): void {
    this.values[id] = value;
  }
}
