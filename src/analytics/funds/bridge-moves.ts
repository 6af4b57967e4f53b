/**
 * Bridge crossings as moves of a trace across chains: a deposit on one chain paired with its
 * release on another (analytics/bridges/pairing.ts) replaces the transfer that paid the bridge and
 * the transfer that paid the recipient by two moves through a transit account of that crossing
 * alone: the depositor's asset on the source chain → the transit (at the deposit), the transit →
 * the recipient's asset on the destination chain (at the release, the bridge's fee as a
 * conversion's rate). The transit holds nothing else, so under every model the taint that went in
 * comes out; the bridge contract, its pool and the relayer who paid the recipient are never
 * tainted. A deposit without a release stays what it is: a transfer to the bridge, an exit
 * (docs/taint-models.md, "Bridges").
 */
import type { BridgeDeposit, BridgePair, BridgeRelease } from "../bridges/index.js";
import { ZERO_ADDRESS, type ConversionStep, type TaintedEdge, type Transfer } from "./types.js";

/** The asset of a transit account (it has no chain). */
export const TRANSIT = "bridge";

/** The transit account of a crossing. */
export const transitAddress = (pair: BridgePair): string =>
  `bridge:${pair.deposit.pairingId ?? `${pair.deposit.chainId}:${pair.deposit.txHash}:${pair.deposit.logIndex}`}`;

/** Whether an account's address is a crossing's transit ({@link transitAddress}). */
export const isTransit = (address: string): boolean => address.startsWith("bridge:");

export interface BridgeMoves {
  /** The transfers of every chain, the crossings' moves in place of the transfers they explain. */
  transfers: Transfer[];
  /**
   * The crossings moved: every pair whose transfers were found, whether taint crossed or not (the
   * ones it followed: {@link crossingsFollowed}).
   */
  crossed: BridgePair[];
  /** Pairs whose transfers could not be found, and why (their transfers stay as they are). */
  skipped: { pair: BridgePair; reason: string }[];
}

/**
 * The transfer of `txs` (one transaction's) that a bridge event moved: of `token`, from `from` (or
 * anyone) or to `to` (or anyone), of `amount`, else the only one that fits the rest (a bridge that
 * reports a normalized amount, as Wormhole does). A burn only as what a named sender paid (a
 * burning bridge's deposit, when no other transfer pays it), a mint only as what paid a named
 * recipient (a minting bridge's release: CCTP, a wrapped token's).
 */
function findTransfer(
  txs: readonly Transfer[],
  used: Set<Transfer>,
  want: { token: string | null; from?: string | null; to?: string | null; amount: bigint | null },
): Transfer | undefined {
  const fits = txs.filter(
    (t) =>
      !used.has(t) &&
      t.out === undefined &&
      t.token === want.token &&
      (want.from === undefined || want.from === null || t.from === want.from) &&
      (want.to === undefined || want.to === null || t.to === want.to) &&
      (t.to !== ZERO_ADDRESS || (want.from !== undefined && want.from !== null)) &&
      (t.from !== ZERO_ADDRESS || (want.to !== undefined && want.to !== null)),
  );
  // A burn pays a deposit only when nothing else does (the OP Stack's L2 bridge burns the
  // token from the sender; CCTP is paid first, then burns).
  const paid = fits.filter((t) => t.to !== ZERO_ADDRESS);
  const pick = (list: Transfer[]) =>
    list.find((t) => t.amount === want.amount) ?? (list.length === 1 ? list[0] : undefined);
  return pick(paid) ?? pick(fits);
}

/** Replaces, in `transfers` (every chain's, each with its `chainId`), the paired crossings. */
export function bridgeMoves(
  transfers: readonly Transfer[],
  pairs: readonly BridgePair[],
): BridgeMoves {
  const byTx = new Map<string, Transfer[]>();
  for (const t of transfers) {
    const key = `${t.chainId ?? 0}:${t.txHash}`;
    const list = byTx.get(key);
    if (list === undefined) byTx.set(key, [t]);
    else list.push(t);
  }
  const used = new Set<Transfer>();
  const moves: Transfer[] = [];
  const crossed: BridgePair[] = [];
  const skipped: { pair: BridgePair; reason: string }[] = [];
  const txOf = (e: BridgeDeposit | BridgeRelease) => byTx.get(`${e.chainId}:${e.txHash}`) ?? [];
  for (const pair of pairs) {
    const { deposit: d, release: r } = pair;
    const paid = findTransfer(txOf(d), used, { token: d.token, from: d.sender, amount: d.amount });
    if (paid === undefined) {
      skipped.push({ pair, reason: `no transfer of ${d.token} paid the deposit in ${d.txHash}` });
      continue;
    }
    const payout = findTransfer(txOf(r), used, {
      token: r.token,
      to: r.recipient,
      amount: r.amount,
    });
    if (payout === undefined) {
      skipped.push({
        pair,
        reason: `no transfer of ${r.token ?? "an unknown token"} paid the release in ${r.txHash}`,
      });
      continue;
    }
    used.add(paid);
    used.add(payout);
    // A burning bridge burns what it was paid in the same transaction: that burn is the deposit.
    const burn = txOf(d).find(
      (t) =>
        !used.has(t) && t.token === paid.token && t.to === ZERO_ADDRESS && t.amount === paid.amount,
    );
    if (burn !== undefined) used.add(burn);
    const step: ConversionStep = {
      venue: "bridge",
      action: "bridge",
      contract: d.contract,
      logIndex: d.logIndex,
      tokenIn: paid.token,
      amountIn: paid.amount,
      tokenOut: payout.token,
      amountOut: payout.amount,
      bridge: {
        name: d.bridge,
        fromChainId: d.chainId,
        toChainId: r.chainId,
        depositTx: d.txHash,
        releaseTx: r.txHash,
        by: pair.by,
        confidence: pair.confidence,
        reason: pair.reason,
      },
    };
    const transit = transitAddress(pair);
    moves.push({
      ...paid,
      to: transit,
      out: { token: TRANSIT, amount: paid.amount, steps: [step] },
    });
    moves.push({
      ...payout,
      // A release is never before its deposit (clocks of two chains may disagree by seconds).
      time: Math.max(payout.time, paid.time),
      token: TRANSIT,
      from: transit,
      amount: paid.amount,
      out: { token: payout.token, amount: payout.amount, steps: [step] },
    });
    crossed.push(pair);
  }
  return {
    transfers: transfers.filter((t) => !used.has(t)).concat(moves),
    crossed,
    skipped,
  };
}

/**
 * The crossings of `crossed` the taint followed: those whose deposit's move (into the crossing's
 * transit) carried taint on, as the seed or carried by the model (not stopped by the hop limit or
 * the minimum). A crossing of clean funds is none of them: which crossings a trace lists does not
 * depend on how much of the chains it read beyond the taint.
 */
export function crossingsFollowed(
  crossed: readonly BridgePair[],
  edges: readonly TaintedEdge[],
): BridgePair[] {
  const carried = new Set(
    edges
      .filter((e) => (e.fate === "seed" || e.fate === "carried") && isTransit(e.to))
      .map((e) => e.to),
  );
  return crossed.filter((p) => carried.has(transitAddress(p)));
}

/**
 * The pairs of `skipped` the taint reached: those whose deposit's transaction moved taint (a
 * tainted edge of that transaction, on the deposit's chain). Like {@link crossingsFollowed}, what a
 * trace lists does not depend on how much of the chains it read beyond the taint: a lazy reading,
 * which reads no transaction the taint did not reach, lists the same ones as a reading of the
 * streams.
 */
export function skippedCrossingsReached<S extends { pair: BridgePair }>(
  skipped: readonly S[],
  edges: readonly TaintedEdge[],
): S[] {
  const reached = new Set(
    edges.filter((e) => e.tainted > 0n).map((e) => `${e.chainId ?? ""}:${e.txHash}`),
  );
  return skipped.filter(
    (s) =>
      reached.has(`${s.pair.deposit.chainId}:${s.pair.deposit.txHash}`) ||
      reached.has(`:${s.pair.deposit.txHash}`),
  );
}
