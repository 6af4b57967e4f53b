/**
 * Deposit addresses as exits (docs/taint-models.md, "Exits"): an exchange freezes the account
 * behind a deposit address, so the trace stops taint there rather than at the hot wallet it
 * forwards to. The heuristic is the clustering's (analytics/cluster/deposits.ts, Victor 2020),
 * run only on the addresses a trace reached that send to an exchange. The stream is read once per
 * trace, into {@link DepositCandidates} (the senders to exchanges with their own transfers); each
 * later assessment reads only the reached addresses' transfers.
 */
import {
  assessDepositAddresses,
  depositCandidates,
  type DepositCandidates,
  type DepositTransfer,
  type Fraction,
} from "../cluster/deposits.js";
import { readPositionAsset, type DepositExit, type TraceResult } from "./types.js";

export interface DepositExitOptions {
  /** The label of each exchange address (lowercase), by address. */
  exchanges: ReadonlyMap<string, string>;
  /** τ and α of the heuristic (docs/clustering.md; defaults as `veritrace cluster`). */
  maxBlocks?: number;
  tolerance?: Fraction;
}

/** The addresses a trace's taint reached: every receiver of a tainted transfer, a balance seed's. */
export function reachedBy(result: TraceResult): Set<string> {
  const reached = new Set<string>();
  if (result.seed.kind === "balance") reached.add(result.seed.address);
  for (const e of result.edges) reached.add(e.to);
  return reached;
}

/**
 * The deposit addresses among `reached`, by address: those that send to an exchange and pass
 * the heuristic over all their transfers (the same verdicts as over the whole stream).
 * `candidates` is made by `depositCandidates` for the same exchanges as `options` names.
 */
export function depositExitsAmong(
  candidates: DepositCandidates,
  reached: Iterable<string>,
  options: DepositExitOptions,
): Map<string, DepositExit> {
  const found = new Map<string, DepositExit>();
  for (const d of assessDepositAddresses(candidates, options, reached))
    found.set(d.address, {
      depositOf: { address: d.exchange.address, label: d.exchange.label },
      evidence: [...new Set(d.forwards.map((f) => f.txHash))],
      confidence: d.shareBasisPoints / 10_000,
    });
  return found;
}

/**
 * The deposit addresses the runs of one trace find: after each run, the addresses it newly
 * reached are assessed once, per asset (the heuristic compares amounts of one token), over the
 * candidates gathered at the first assessment. `found` holds those taken as exits.
 */
export class DepositTracker {
  readonly found = new Map<string, DepositExit>();
  private readonly assessed = new Set<string>();
  private readonly candidates = new Map<string, DepositCandidates>();

  /**
   * `assets` gives each asset's transfers (conversions left out); nothing is assessed without
   * an exchange.
   */
  constructor(
    private readonly assets: () => Iterable<[string, readonly DepositTransfer[]]>,
    private readonly options: DepositExitOptions,
  ) {}

  /**
   * The deposit addresses among what `r` newly reached (those `assessable`, if given), and how to
   * take them as exits.
   */
  next(
    r: TraceResult,
    assessable?: (address: string) => boolean,
  ): { size: number; accept(): void } {
    const reached = new Set<string>();
    const found = new Map<string, DepositExit>();
    const { exchanges } = this.options;
    if (exchanges.size > 0) {
      for (const a of reachedBy(r))
        // A Uniswap V3 position's own account is no customer's (it pays what it is owed out).
        if (!this.assessed.has(a) && readPositionAsset(a) === null && (assessable?.(a) ?? true))
          reached.add(a);
      for (const [asset, transfers] of this.assets()) {
        let c = this.candidates.get(asset);
        if (c === undefined)
          this.candidates.set(asset, (c = depositCandidates(transfers, exchanges)));
        for (const [a, d] of depositExitsAmong(c, reached, this.options))
          if (!this.found.has(a) && !found.has(a)) found.set(a, d);
      }
    }
    return {
      size: found.size,
      accept: () => {
        for (const a of reached) this.assessed.add(a);
        for (const [a, d] of found) this.found.set(a, d);
      },
    };
  }

  /** Forgets the candidates gathered: a lazy trace's transfers grow from one round to the next. */
  refresh(): void {
    this.candidates.clear();
  }
}
