/**
 * Possible continuations of a mixer deposit: the same pool's later withdrawals within a window,
 * each with the published linking heuristics that hold for it as evidence. A pool stays an exit
 * of the trace: a candidate is a lead for an investigator, never taint (docs/taint-models.md,
 * "Mixers"). The heuristics are Tutela's (Wu, McTighe et al., arXiv:2201.06811, §6, and its code,
 * pareto-xyz/tutela-app), of the kind Wang et al. measure on Tornado Cash (WWW 2023), and a timing
 * rule after the first-in, first-out matching of arXiv:2510.09433.
 */
import { InvalidInputError } from "../../shared/errors.js";
import type { MixerDeposit, MixerWithdrawal } from "./reader.js";

export type MixerHeuristic = "address-reuse" | "unique-gas-price" | "multi-denomination" | "timing";

/**
 * Each heuristic's weight in a candidate's score: powers of two, so that a stronger heuristic
 * outranks any number of weaker ones (the score orders, it is no probability).
 */
export const HEURISTIC_WEIGHTS: Readonly<Record<MixerHeuristic, number>> = {
  "address-reuse": 8,
  "unique-gas-price": 4,
  "multi-denomination": 2,
  timing: 1,
};

/** What a heuristic saw; `txHashes` are the transactions that show it, `reason` says it in words. */
export type Evidence = { reason: string; txHashes: string[] } & (
  | {
      heuristic: "address-reuse";
      /** The withdrawal's recipient, or the sender of its transaction. */
      via: "recipient" | "sender";
      address: string;
      /** The depositor itself, or an address the caller knows to be linked to it. */
      link: "depositor" | "linked";
    }
  | {
      heuristic: "unique-gas-price";
      gasChoice: string;
      /** How many of the pool's deposits, and withdrawals, around the deposit carry it. */
      deposits: number;
      withdrawals: number;
    }
  | {
      heuristic: "multi-denomination";
      recipient: string;
      /** Per pool, the depositor's deposits and the recipient's withdrawals (equal counts). */
      portfolio: { pool: string; label: string; count: number }[];
    }
  | { heuristic: "timing"; seconds: number; anonymitySet: number }
);

/** A withdrawal that could continue the deposit. */
export interface Candidate {
  withdrawal: MixerWithdrawal;
  /** Seconds from the deposit to the withdrawal. */
  secondsAfter: number;
  /**
   * The anonymity set at the withdrawal, from this deposit's side: the pool's deposits from this
   * one (included) up to the withdrawal. A withdrawal that continues this deposit is one of them.
   */
  anonymitySet: number;
  /** The heuristics that hold, strongest first; empty when none does. */
  evidence: Evidence[];
  /** The sum of {@link HEURISTIC_WEIGHTS} of the evidence: ranks candidates, nothing more. */
  score: number;
}

export interface ContinuationOptions {
  /** How long after the deposit a withdrawal may come, in seconds (default 30 days). */
  windowSeconds?: number;
  /** Addresses known to be linked to the depositor (e.g. the trace's tainted addresses). */
  linkedAddresses?: readonly string[];
  /** A gas price is rare when at most this many deposits, and withdrawals, of the pool carry it (default 1). */
  rareGasPriceMaxUses?: number;
  /** How close in time the deposits, and the withdrawals, of one multi-denomination pattern are (default 24 hours). */
  multiDenominationSeconds?: number;
  /** Timing: how soon after the deposit (default 1 hour) … */
  timingSeconds?: number;
  /** … and with at most how many deposits in the anonymity set (default 5). */
  timingMaxAnonymitySet?: number;
  /** List only the candidates with evidence (default false: every withdrawal of the window). */
  evidenceOnly?: boolean;
}

export const CONTINUATION_DEFAULTS: Readonly<
  Required<Omit<ContinuationOptions, "linkedAddresses">>
> = {
  windowSeconds: 30 * 86_400,
  rareGasPriceMaxUses: 1,
  multiDenominationSeconds: 86_400,
  timingSeconds: 3600,
  timingMaxAnonymitySet: 5,
  evidenceOnly: false,
};

/** The pools' events the heuristics look at (a reader's reading of the pools over the window). */
export interface MixerActivity {
  deposits: readonly MixerDeposit[];
  withdrawals: readonly MixerWithdrawal[];
}

export interface Continuations {
  deposit: MixerDeposit;
  windowSeconds: number;
  /** Best first: score, then smaller anonymity set, then chain order. */
  candidates: Candidate[];
}

type Placed = MixerDeposit | MixerWithdrawal;
const poolOf = (e: Placed) => `${e.pool.chainId}:${e.pool.address}`;
const before = (a: Placed, b: Placed) =>
  a.blockNumber < b.blockNumber || (a.blockNumber === b.blockNumber && a.logIndex < b.logIndex);

function settings(options: ContinuationOptions) {
  const s = { ...CONTINUATION_DEFAULTS, ...options };
  for (const key of [
    "windowSeconds",
    "rareGasPriceMaxUses",
    "multiDenominationSeconds",
    "timingSeconds",
    "timingMaxAnonymitySet",
  ] as const) {
    const v = s[key];
    if (!Number.isInteger(v) || v < (key === "rareGasPriceMaxUses" ? 1 : 0))
      throw new InvalidInputError(
        `${key} must be a non-negative integer (at least 1 for rareGasPriceMaxUses), not ${v}`,
      );
  }
  return s;
}

/** Per pool, the events of `events` (the portfolio of an address). */
const portfolio = (events: readonly Placed[]): Map<string, Placed[]> =>
  events.reduce(
    (out, e) => out.set(poolOf(e), [...(out.get(poolOf(e)) ?? []), e]),
    new Map<string, Placed[]>(),
  );

/**
 * The same pool's withdrawals after `deposit` and within the window, each with the heuristics
 * that hold. `activity` holds the pools' deposits and withdrawals the heuristics compare with
 * (at least the window's; other pools' for the multi-denomination pattern).
 */
export function possibleContinuations(
  deposit: MixerDeposit,
  activity: MixerActivity,
  options: ContinuationOptions = {},
): Continuations {
  const s = settings(options);
  const pool = poolOf(deposit);
  const linked = new Set((options.linkedAddresses ?? []).map((a) => a.toLowerCase()));
  linked.delete(deposit.depositor);
  const poolDeposits = activity.deposits.filter((d) => poolOf(d) === pool);
  const poolWithdrawals = activity.withdrawals.filter((w) => poolOf(w) === pool);
  const near = (e: Placed) => Math.abs(e.time - deposit.time) <= s.windowSeconds;

  // The depositor's portfolio for the multi-denomination pattern: its deposits around this one.
  const deposited = portfolio(
    activity.deposits.filter(
      (d) =>
        d.depositor === deposit.depositor &&
        d.pool.chainId === deposit.pool.chainId &&
        Math.abs(d.time - deposit.time) <= s.multiDenominationSeconds,
    ),
  );

  const candidates: Candidate[] = [];
  for (const w of poolWithdrawals) {
    const secondsAfter = w.time - deposit.time;
    if (!before(deposit, w) || secondsAfter > s.windowSeconds) continue;
    const anonymitySet = poolDeposits.filter((d) => !before(d, deposit) && before(d, w)).length;
    const pair = [deposit.txHash, w.txHash];
    const evidence: Evidence[] = [];

    // (a) Address reuse: the recipient, or the withdrawal's sender, is the depositor or linked to it.
    for (const [via, address] of [
      ["recipient", w.recipient],
      ["sender", w.sender],
    ] as const) {
      const link =
        address === deposit.depositor ? "depositor" : linked.has(address) ? "linked" : null;
      if (link === null) continue;
      evidence.push({
        heuristic: "address-reuse",
        via,
        address,
        link,
        txHashes: pair,
        reason: `the withdrawal's ${via} ${address} is ${link === "depositor" ? "the depositor" : "an address linked to the depositor"}`,
      });
      break;
    }

    // (b) Unique gas price: both senders chose the same gas price, rare in the pool around the deposit.
    if (!w.relayed && w.gasChoice === deposit.gasChoice) {
      const deposits = poolDeposits.filter((d) => near(d) && d.gasChoice === w.gasChoice).length;
      const withdrawals = poolWithdrawals.filter(
        (o) => near(o) && o.gasChoice === w.gasChoice,
      ).length;
      if (deposits <= s.rareGasPriceMaxUses && withdrawals <= s.rareGasPriceMaxUses)
        evidence.push({
          heuristic: "unique-gas-price",
          gasChoice: w.gasChoice,
          deposits,
          withdrawals,
          txHashes: pair,
          reason: `both transactions chose gas price ${w.gasChoice}, carried by ${deposits} deposit(s) and ${withdrawals} withdrawal(s) of the pool within ${s.windowSeconds} s of the deposit`,
        });
    }

    // (c) Multi-denomination: the recipient withdrew from the depositor's pools as often as it deposited.
    if (deposited.size >= 2) {
      const withdrawn = portfolio(
        activity.withdrawals.filter(
          (o) =>
            o.recipient === w.recipient &&
            o.pool.chainId === w.pool.chainId &&
            Math.abs(o.time - w.time) <= s.multiDenominationSeconds &&
            (deposited.get(poolOf(o)) ?? []).some((d) => before(d, o)),
        ),
      );
      const same =
        withdrawn.size === deposited.size &&
        [...deposited].every(([p, ds]) => withdrawn.get(p)?.length === ds.length);
      if (same) {
        const rows = [...deposited].map(([p, ds]) => ({
          pool: p.split(":")[1] as string,
          label: (ds[0] as Placed).pool.label,
          count: ds.length,
        }));
        evidence.push({
          heuristic: "multi-denomination",
          recipient: w.recipient,
          portfolio: rows,
          txHashes: [...deposited.values(), ...withdrawn.values()].flat().map((e) => e.txHash),
          reason: `the depositor's deposits into ${rows.map((r) => `${r.label} ×${r.count}`).join(", ")} within ${s.multiDenominationSeconds} s, and as many withdrawals from the same pools to ${w.recipient}`,
        });
      }
    }

    // (d) Timing: soon after the deposit, with few deposits to hide among.
    if (secondsAfter <= s.timingSeconds && anonymitySet <= s.timingMaxAnonymitySet)
      evidence.push({
        heuristic: "timing",
        seconds: secondsAfter,
        anonymitySet,
        txHashes: pair,
        reason: `${secondsAfter} s after the deposit, one of ${anonymitySet} deposit(s) into the pool since it`,
      });

    if (s.evidenceOnly && evidence.length === 0) continue;
    candidates.push({
      withdrawal: w,
      secondsAfter,
      anonymitySet,
      evidence,
      score: evidence.reduce((sum, e) => sum + HEURISTIC_WEIGHTS[e.heuristic], 0),
    });
  }
  candidates.sort(
    (a, b) =>
      b.score - a.score ||
      a.anonymitySet - b.anonymitySet ||
      (before(a.withdrawal, b.withdrawal) ? -1 : before(b.withdrawal, a.withdrawal) ? 1 : 0),
  );
  return { deposit, windowSeconds: s.windowSeconds, candidates };
}
