/**
 * Pairs bridge deposits with their releases: by the pairing id the bridge's events share
 * (confidence 1); else, for a deposit or a release without one, by the same recipient, the same
 * token, an amount short of the deposit by at most the bridge's fee and a release within a time
 * window after the deposit (confidence below 1, with the reason). A release is paired once; the
 * result does not depend on the input's order; amounts stay exact.
 */
import { InvalidInputError } from "../../shared/errors.js";
import type { BridgeDeposit, BridgeRelease } from "./model.js";
import type { BridgeName } from "./registry.js";

/** How far the fallback reaches for one bridge. */
export interface FallbackParameters {
  /** The largest fee, in millionths of the deposit: a release may be short of it by this much. */
  feeTolerancePpm: number;
  /** How long after the deposit a release may come, in seconds. */
  windowSeconds: number;
}

/**
 * The fallback's defaults. The OP Stack's standard bridge takes no fee, and a withdrawal waits
 * out the 7-day challenge period; so do Arbitrum's gateways (the retryable's gas is paid apart
 * from the amount), whose deposits, paired by the fallback only, arrive in minutes and are taken
 * closest first. Polygon PoS takes no fee either; its deposits pair by the state id, its
 * withdrawals wait for a checkpoint (an hour to a few) and then for the owner's exit call, which
 * may come days later. Across's relayer and LP fees stay well under 1 %; CCTP V2's fast
 * transfer fee is a few basis points (V1 takes none); Stargate's fees are a fraction of 1 %.
 * Wormhole has none: its message amounts are normalized to 8 decimals, not comparable with what
 * the recipient receives, and its events always carry the pairing id.
 */
export const FALLBACK_DEFAULTS: Readonly<Record<BridgeName, FallbackParameters | null>> = {
  "op-standard": { feeTolerancePpm: 0, windowSeconds: 8 * 86_400 },
  arbitrum: { feeTolerancePpm: 0, windowSeconds: 8 * 86_400 },
  "polygon-pos": { feeTolerancePpm: 0, windowSeconds: 3 * 86_400 },
  across: { feeTolerancePpm: 10_000, windowSeconds: 6 * 3600 },
  cctp: { feeTolerancePpm: 5000, windowSeconds: 3600 },
  stargate: { feeTolerancePpm: 10_000, windowSeconds: 3600 },
  wormhole: null,
};

/** The confidence of a fallback pair no other candidate competed for, and of one chosen among rivals. */
export const FALLBACK_CONFIDENCE = { alone: 0.8, chosen: 0.5 } as const;

/** A token on one chain. */
export interface ChainToken {
  chainId: number;
  /** A lower-case address or "native". */
  token: string;
}

export interface PairingOptions {
  /** Per bridge, over {@link FALLBACK_DEFAULTS}; null turns the fallback off for that bridge. */
  fallback?: Partial<Record<BridgeName, Partial<FallbackParameters> | null>>;
  /**
   * Groups of the same token on different chains (USDC on Ethereum, on Base, …), for the
   * fallback, beyond what the events say (a deposit's destination token, a release's source token).
   */
  tokens?: readonly (readonly ChainToken[])[];
}

export interface BridgePair {
  deposit: BridgeDeposit;
  release: BridgeRelease;
  by: "id" | "fallback";
  /** 1 by id; {@link FALLBACK_CONFIDENCE} otherwise. */
  confidence: number;
  reason: string;
}

export interface BridgePairing {
  pairs: BridgePair[];
  unpairedDeposits: BridgeDeposit[];
  unpairedReleases: BridgeRelease[];
}

type Placed = BridgeDeposit | BridgeRelease;

/** Chain order over all chains: chain, block, log index, then hash. */
function compare(a: Placed, b: Placed): number {
  return (
    a.chainId - b.chainId ||
    a.blockNumber - b.blockNumber ||
    a.logIndex - b.logIndex ||
    (a.txHash < b.txHash ? -1 : a.txHash > b.txHash ? 1 : 0)
  );
}

function parameters(bridge: BridgeName, options: PairingOptions): FallbackParameters | null {
  const given = options.fallback?.[bridge];
  const base = FALLBACK_DEFAULTS[bridge];
  if (given === null || (base === null && given === undefined)) return null;
  return checked(bridge, { ...(base ?? { feeTolerancePpm: 0, windowSeconds: 0 }), ...given });
}

function checked(bridge: BridgeName, p: FallbackParameters): FallbackParameters {
  if (
    !Number.isInteger(p.feeTolerancePpm) ||
    p.feeTolerancePpm < 0 ||
    p.feeTolerancePpm > 1_000_000
  )
    throw new InvalidInputError(
      `${bridge}: feeTolerancePpm must be an integer from 0 to 1000000, not ${p.feeTolerancePpm}`,
    );
  if (!Number.isInteger(p.windowSeconds) || p.windowSeconds < 0)
    throw new InvalidInputError(
      `${bridge}: windowSeconds must be a non-negative integer, not ${p.windowSeconds}`,
    );
  return p;
}

/** Pairs `deposits` (from any chains) with `releases` (from any chains). */
export function pairBridgeTransfers(
  deposits: readonly BridgeDeposit[],
  releases: readonly BridgeRelease[],
  options: PairingOptions = {},
): BridgePairing {
  const ds = [...deposits].sort(compare);
  const rs = [...releases].sort(compare);
  const used = new Set<BridgeRelease>();
  const pairedDeposits = new Set<BridgeDeposit>();
  const pairs: BridgePair[] = [];

  // 1. By the shared id.
  const byId = new Map<string, BridgeRelease[]>();
  for (const r of rs) {
    if (r.pairingId === null) continue;
    const list = byId.get(r.pairingId) ?? [];
    list.push(r);
    byId.set(r.pairingId, list);
  }
  for (const d of ds) {
    if (d.pairingId === null) continue;
    const r = (byId.get(d.pairingId) ?? []).find(
      (c) =>
        !used.has(c) &&
        c.bridge === d.bridge &&
        (d.destinationChainId === null || c.chainId === d.destinationChainId),
    );
    if (r === undefined) continue;
    used.add(r);
    pairedDeposits.add(d);
    pairs.push({
      deposit: d,
      release: r,
      by: "id",
      confidence: 1,
      reason: `the same ${d.bridge} id ${d.pairingId}`,
    });
  }

  // 2. The fallback, for what lacks an id.
  const group = new Map<string, number>();
  (options.tokens ?? []).forEach((g, i) => {
    for (const t of g) group.set(`${t.chainId}:${t.token.toLowerCase()}`, i);
  });
  const sameToken = (d: BridgeDeposit, r: BridgeRelease): boolean => {
    if (r.token === null) return false;
    if (d.destinationToken !== null && d.destinationToken === r.token) return true;
    if (r.sourceToken !== null && r.sourceToken === d.token) return true;
    const a = group.get(`${d.chainId}:${d.token}`);
    return a !== undefined && a === group.get(`${r.chainId}:${r.token}`);
  };
  interface Candidate {
    d: BridgeDeposit;
    r: BridgeRelease;
    gap: number;
    fee: bigint;
    p: FallbackParameters;
  }
  const candidates: Candidate[] = [];
  const params = new Map<BridgeName, FallbackParameters | null>();
  // Releases by bridge and recipient: the fallback never pairs across either.
  const open = new Map<string, BridgeRelease[]>();
  for (const r of rs) {
    if (used.has(r) || r.recipient === null) continue;
    const key = `${r.bridge}|${r.recipient}`;
    open.set(key, [...(open.get(key) ?? []), r]);
  }
  for (const d of ds) {
    if (pairedDeposits.has(d) || d.recipient === null || d.time === null) continue;
    if (!params.has(d.bridge)) params.set(d.bridge, parameters(d.bridge, options));
    const p = params.get(d.bridge) ?? null;
    if (p === null) continue;
    for (const r of open.get(`${d.bridge}|${d.recipient}`) ?? []) {
      if (d.pairingId !== null && r.pairingId !== null) continue; // both named, and not the same transfer
      if (
        d.destinationChainId === null ? r.chainId === d.chainId : r.chainId !== d.destinationChainId
      )
        continue;
      if (r.sourceChainId !== null && r.sourceChainId !== d.chainId) continue;
      if (r.amount === null || r.time === null || !sameToken(d, r)) continue;
      const gap = r.time - d.time;
      if (gap < 0 || gap > p.windowSeconds) continue;
      if (
        r.amount > d.amount ||
        r.amount * 1_000_000n < d.amount * BigInt(1_000_000 - p.feeTolerancePpm)
      )
        continue;
      candidates.push({ d, r, gap, fee: d.amount - r.amount, p });
    }
  }
  // How many candidates each deposit and each release has: more than one is a choice.
  const claims = new Map<BridgeDeposit | BridgeRelease, number>();
  for (const c of candidates) for (const x of [c.d, c.r]) claims.set(x, (claims.get(x) ?? 0) + 1);
  const rivals = (c: Candidate) => (claims.get(c.d) ?? 1) + (claims.get(c.r) ?? 1) - 2;
  candidates.sort(
    (a, b) =>
      a.gap - b.gap ||
      (a.fee < b.fee ? -1 : a.fee > b.fee ? 1 : 0) ||
      compare(a.d, b.d) ||
      compare(a.r, b.r),
  );
  for (const c of candidates) {
    if (used.has(c.r) || pairedDeposits.has(c.d)) continue;
    used.add(c.r);
    pairedDeposits.add(c.d);
    const others = rivals(c);
    pairs.push({
      deposit: c.d,
      release: c.r,
      by: "fallback",
      confidence: others === 0 ? FALLBACK_CONFIDENCE.alone : FALLBACK_CONFIDENCE.chosen,
      reason:
        `no shared id: the same recipient and token, ${c.r.amount} for ${c.d.amount} ` +
        `(short by ${c.fee}, within ${c.p.feeTolerancePpm} ppm), ${c.gap} s after the deposit` +
        (others === 0
          ? ""
          : `; the closest of ${others + 1} candidates sharing this deposit or release`),
    });
  }
  pairs.sort((a, b) => compare(a.deposit, b.deposit));
  return {
    pairs,
    unpairedDeposits: ds.filter((d) => !pairedDeposits.has(d)),
    unpairedReleases: rs.filter((r) => !used.has(r)),
  };
}
