/**
 * Per-seed attribution of a trace with several seeds (several victims, several thefts): the
 * combined trace runs every seed at once; each seed's share of a holding or an exit is what that
 * seed alone leaves there, under the same model and options (docs/taint-models.md, "Many seeds").
 * Balances do not depend on taint, so each seed's trace sees the same flows; for haircut the
 * shares add up to the combined amount up to rounding (at most one base unit per transfer on the
 * way), for FIFO exactly unless one seed's transaction moves another seed's taint (that taint is
 * then counted by both), for poison each seed's share is the balance it alone would taint.
 */
import { formatSeed } from "./seed.js";
import { trace } from "./taint.js";
import {
  accountKey,
  type Seed,
  type SeedShare,
  type TraceOptions,
  type TraceResult,
  type Transfer,
} from "./types.js";

/** Adds `bySeed` to every holding and exit of `combined`, from one trace per seed. */
export function attributeSeeds(
  transfers: readonly Transfer[],
  options: TraceOptions,
  combined: TraceResult,
): TraceResult {
  if (combined.seeds.length < 2) return combined;
  const shares = new Map<string, SeedShare[]>();
  const add = (key: string, share: SeedShare) => {
    const list = shares.get(key);
    if (list === undefined) shares.set(key, [share]);
    else list.push(share);
  };
  for (const seed of combined.seeds) {
    const alone = trace(transfers, {
      ...options,
      seed: seed as Seed,
      seedAsset: combined.seedAsset,
      maxPaths: 0,
    });
    const name = formatSeed(seed);
    for (const h of alone.holdings)
      add(`h ${accountKey(h.token, h.address)}`, { seed: name, amount: h.amount, value: h.value });
    for (const e of alone.exits)
      add(`e ${accountKey(e.token, e.address)}`, { seed: name, amount: e.amount, value: e.value });
  }
  return {
    ...combined,
    holdings: combined.holdings.map((h) => ({
      ...h,
      bySeed: shares.get(`h ${accountKey(h.token, h.address)}`) ?? [],
    })),
    exits: combined.exits.map((e) => ({
      ...e,
      bySeed: shares.get(`e ${accountKey(e.token, e.address)}`) ?? [],
    })),
  };
}
