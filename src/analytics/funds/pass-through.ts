/**
 * Addresses taint only passes through, read by a lazy trace of every asset (lazy-assets.ts) in the
 * blocks where it passes, not whole (docs/scale.md, "Every asset, lazily").
 */
import { FEE_SINK } from "../../db/streams.js";
import {
  accountKey,
  readPositionAsset,
  ZERO_ADDRESS,
  type TaintedEdge,
  type TaintPath,
  type TraceResult,
  type Transfer,
} from "./types.js";

/** An account (asset, address) at the end of a block. */
export interface AccountAt {
  token: string;
  address: string;
  block: number;
}

/** An account at a block as a key: its {@link accountKey}, `@`, the block. */
export const atBlock = (x: AccountAt) => `${accountKey(x.token, x.address)}@${x.block}`;

/** The address behind a name the engine saw (`ADDRESS@BLOCK` for an address read by blocks). */
export const addressOf = (name: string) => {
  const at = name.indexOf("@");
  return at < 0 ? name : name.slice(0, at);
};

/** What the next round reads: histories in full, and histories in some blocks only, by block. */
export interface Reads {
  full: string[];
  blocks: Map<number, string[]>;
}

/**
 * Addresses taint only passes through, read in the blocks where it does (docs/scale.md, "Every
 * asset, lazily"). A router receives a swap's output and pays it on in the same transaction, and
 * on a mainnet its history is millions of transactions. An address the taint reached that the
 * engine does not see holding any is asked its balance at the end of each block where taint
 * reached it, in each asset taint reached it in; if all are zero, only those blocks of its history
 * are read, and in each it takes part as an address of its own (`ADDRESS@BLOCK`) whose balances
 * are those it held at the end of the block before, so the engine sees it exactly as over its
 * whole history. Empty at the end of the block, it carries no taint out of it: what it does
 * between those blocks moves no taint (and what it pays to addresses read whole is in their
 * histories). Exact under haircut and FIFO, where an empty account holds no taint; poison taints
 * an address for good, so under poison (`enabled` false) every address is read whole.
 */
export class PassThrough {
  /** The addresses read by blocks, and their blocks read. */
  private readonly blocks = new Map<string, Set<number>>();
  /** Whether an account was empty at the end of a block, by {@link atBlock}. */
  private readonly empty = new Map<string, boolean>();

  constructor(
    private readonly enabled: boolean,
    private readonly balances: (wanted: readonly AccountAt[]) => Promise<bigint[]>,
  ) {}

  /** Records that `address`'s history in `block` is read. */
  read(address: string, block: number): void {
    const set = this.blocks.get(address) ?? new Set();
    set.add(block);
    this.blocks.set(address, set);
  }

  /**
   * Renames, in `transfers`, every address in a block it is read by to `ADDRESS@BLOCK`; returns
   * the accounts so named (with the block).
   */
  rename(transfers: Transfer[]): AccountAt[] {
    const named = new Map<string, AccountAt>();
    const name = (address: string, block: number, token: string): string => {
      if (this.blocks.get(address)?.has(block) !== true) return address;
      const x = { token, address, block };
      named.set(atBlock(x), x);
      return `${address}@${block}`;
    };
    for (const t of transfers) {
      t.from = name(t.from, t.blockNumber, t.token);
      t.to = name(t.to, t.blockNumber, t.out?.token ?? t.token);
    }
    return [...named.values()];
  }

  /**
   * What the next round reads after `result`: in full, the addresses the taint reached that hold
   * taint or don't empty (all of them when disabled); by blocks, the others, in the blocks where
   * taint reached them and that are not read yet.
   */
  async reads(result: TraceResult, complete: ReadonlySet<string>): Promise<Reads> {
    const full = new Set<string>();
    for (const h of result.holdings) full.add(addressOf(h.address));
    const reached = new Map<string, AccountAt[]>();
    for (const e of result.edges) {
      if (e.fate !== "seed" && e.fate !== "carried") continue;
      const address = addressOf(e.to);
      if (!this.enabled) full.add(address);
      const list = reached.get(address) ?? [];
      list.push({ token: e.out?.token ?? e.token, address, block: e.blockNumber });
      reached.set(address, list);
    }
    // A Uniswap V3 position's own account is no address of the chain: its events are read by
    // the position's token id (lazy-assets.ts), never as a history.
    for (const a of [...full, ...reached.keys()])
      if (
        complete.has(a) ||
        a === ZERO_ADDRESS ||
        a === FEE_SINK ||
        readPositionAsset(a) !== null
      ) {
        full.delete(a);
        reached.delete(a);
      }
    const unknown = [...reached]
      .filter(([a]) => !full.has(a))
      .flatMap(([, list]) => list.filter((x) => !this.empty.has(atBlock(x))));
    const got = await this.balances(unknown);
    unknown.forEach((x, i) => this.empty.set(atBlock(x), got[i] === 0n));
    const blocks = new Map<number, string[]>();
    for (const [a, list] of reached) {
      if (!full.has(a) && list.every((x) => this.empty.get(atBlock(x)) === true)) {
        for (const block of new Set(list.map((x) => x.block)))
          if (this.blocks.get(a)?.has(block) !== true)
            blocks.set(block, [...(blocks.get(block) ?? []), a]);
      } else full.add(a);
    }
    for (const a of full) this.blocks.delete(a);
    return { full: [...full], blocks };
  }
}

/** `result` with the addresses the engine saw by blocks (`ADDRESS@BLOCK`) named as themselves. */
export function addressed(result: TraceResult): TraceResult {
  const edges = result.edges.map((e) =>
    e.from.includes("@") || e.to.includes("@")
      ? { ...e, from: addressOf(e.from), to: addressOf(e.to) }
      : e,
  );
  const edgeOf = new Map(result.edges.map((e, i) => [e, edges[i] as TaintedEdge]));
  const paths = (x: { paths: TaintPath[] }) =>
    x.paths.map((p) => ({
      ...p,
      origin: addressOf(p.origin),
      steps: p.steps.map((e) => edgeOf.get(e) ?? e),
    }));
  return {
    ...result,
    holdings: result.holdings.map((h) => ({
      ...h,
      address: addressOf(h.address),
      paths: paths(h),
    })),
    exits: result.exits.map((x) => ({ ...x, address: addressOf(x.address), paths: paths(x) })),
    edges,
    warnings: result.warnings.map((w) =>
      w.address === undefined ? w : { ...w, address: addressOf(w.address) },
    ),
  };
}
