/**
 * Deposit addresses as exits (docs/taint-models.md, "Exits"): an exchange freezes the account
 * behind a deposit address, so the trace stops taint there rather than at the hot wallet it
 * forwards to. The heuristic is the clustering's (analytics/cluster/deposits.ts, Victor 2020),
 * run only on the addresses a trace reached that send to an exchange: on a large stream that is
 * a few passes over the transfers, not an assessment of every exchange customer.
 */
import {
  findDepositAddresses,
  ZERO_ADDRESS,
  type DepositTransfer,
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
 * the heuristic over all their transfers (an address's verdict depends on its own transfers
 * only, so the result is the same as the whole stream's, restricted to `reached`).
 */
export function depositExitsAmong(
  transfers: readonly DepositTransfer[],
  reached: ReadonlySet<string>,
  options: DepositExitOptions,
): Map<string, DepositExit> {
  const { exchanges } = options;
  const candidates = new Set<string>();
  for (const t of transfers)
    if (
      reached.has(t.from) &&
      exchanges.has(t.to) &&
      !exchanges.has(t.from) &&
      t.from !== ZERO_ADDRESS
    )
      candidates.add(t.from);
  const found = new Map<string, DepositExit>();
  if (candidates.size === 0) return found;
  const own = transfers.filter((t) => candidates.has(t.from) || candidates.has(t.to));
  for (const d of findDepositAddresses(own, options))
    found.set(d.address, {
      depositOf: { address: d.exchange.address, label: d.exchange.label },
      evidence: [...new Set(d.forwards.map((f) => f.txHash))],
      confidence: d.shareBasisPoints / 10_000,
    });
  return found;
}
