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
  type DepositCandidates,
  type Fraction,
} from "../cluster/deposits.js";
import type { DepositExit, TraceResult } from "./types.js";

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
