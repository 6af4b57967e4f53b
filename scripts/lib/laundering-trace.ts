/**
 * A trace of every asset across chains, as `veritrace trace` runs it (src/analytics/funds/
 * run-assets.ts), over a generated laundering world instead of a node: conversion moves per chain,
 * bridge deposits paired with their releases and replaced by crossings, assets told apart by chain
 * (`CHAINID:TOKEN`), labels per chain (a bridge contract of the registry is a bridge), the engine
 * with every asset, deposit addresses found by the clustering heuristic among the addresses the
 * taint reached and the trace run again until none is new, and per-seed attribution. Then the
 * score of a result against the world's truth (scripts/lib/laundering-world.ts).
 *
 * The steps are run-assets.ts's own: conversionMoves, crossChains (pairing, crossings, assets
 * named by chain), inflowsByAsset and the DepositTracker, engineOptions, settle, attributeSeeds and
 * the engine; only the node's reading is replaced by the world.
 */
import {
  KNOWN_BRIDGE_CONTRACTS,
  type BridgeDeposit,
  type BridgePair,
} from "../../src/analytics/bridges/index.js";
import type { SkippedLog } from "../../src/analytics/conversions.js";
import { attributeSeeds } from "../../src/analytics/funds/attribution.js";
import { TRANSIT } from "../../src/analytics/funds/bridge-moves.js";
import { DepositTracker } from "../../src/analytics/funds/deposit-exits.js";
import { readExitCategories, DEFAULT_EXIT_CATEGORIES } from "../../src/analytics/funds/exits.js";
import { conversionMoves } from "../../src/analytics/funds/moves.js";
import { crossChains, inflowsByAsset } from "../../src/analytics/funds/run-assets.js";
import {
  engineOptions,
  exchangesAmong,
  settle,
  type Needs,
} from "../../src/analytics/funds/run-common.js";
import {
  accountKey,
  ALL_ASSETS,
  trace,
  ZERO_ADDRESS,
  type DepositExit,
  type Label,
  type TaintModelName,
  type TraceResult,
  type Transfer,
} from "../../src/analytics/funds/taint.js";
import type { EndKind, EndPoint, LaunderingWorld, WorldTruth } from "./laundering-world.js";

/** The world read as run-assets.ts reads the chains, up to the engine's input. */
export interface PreparedWorld {
  /** Every chain's transfers, conversions and crossings as moves, assets as `CHAINID:TOKEN`. */
  transfers: Transfer[];
  /** Conversions read as moves (a route's steps count one each), and those left as transfers. */
  converted: number;
  skippedConversions: SkippedLog[];
  /** Crossings followed, and pairs whose transfers were not found. */
  crossings: BridgePair[];
  skippedCrossings: { pair: BridgePair; reason: string }[];
  unpairedDeposits: BridgeDeposit[];
  labels: (address: string, asset?: string) => Label | undefined;
  /** The labeled exchanges' addresses, by address, with their labels. */
  exchanges: Map<string, string>;
  initialBalances: ReadonlyMap<string, bigint>;
  seeds: LaunderingWorld["seeds"];
  /** The first chain's id: the chain of an asset that names none (a transit's). */
  chainId: number;
}

/** The chain and the token of an engine's asset (`CHAINID:TOKEN`, or a transit's). */
export function splitAsset(asset: string, chainId: number): { chainId: number; token: string } {
  const colon = asset.indexOf(":");
  return colon > 0 && asset !== TRANSIT
    ? { chainId: Number(asset.slice(0, colon)), token: asset.slice(colon + 1) }
    : { chainId, token: asset };
}

/** Reads the world as run-assets.ts reads its chains (see the header). */
export function prepareWorld(world: LaunderingWorld): PreparedWorld {
  const chainId = (world.chains[0] as LaunderingWorld["chains"][number]).chainId;
  let converted = 0;
  const skippedConversions: SkippedLog[] = [];
  const chains = world.chains.map((c) => {
    const m = conversionMoves(c.transfers, c.conversions);
    for (const t of m.transfers) t.chainId = c.chainId;
    converted += m.converted;
    skippedConversions.push(...m.skipped);
    return {
      chainId: c.chainId,
      transfers: m.transfers,
      deposits: c.deposits,
      releases: c.releases,
    };
  });
  const { pairing, crossings, q, split, transfers } = crossChains(
    chains,
    chainId,
    world.bridgeTokens,
  );

  // Labels per chain; a bridge contract of the registry is a bridge.
  const labelsOf = new Map(world.chains.map((c) => [c.chainId, c.labels]));
  const bridgeLabel = new Map<string, Label>();
  for (const c of world.chains)
    for (const b of KNOWN_BRIDGE_CONTRACTS)
      if (b.chainId === c.chainId)
        bridgeLabel.set(`${c.chainId}:${b.address}`, {
          category: "bridge",
          label: `${b.bridge} ${b.role}`,
        });
  const labels = (a: string, asset?: string): Label | undefined => {
    if (a === ZERO_ADDRESS) return undefined;
    const chain = asset === undefined ? chainId : split(asset).chainId;
    return labelsOf.get(chain)?.get(a) ?? bridgeLabel.get(`${chain}:${a}`);
  };
  const exits = readExitCategories(DEFAULT_EXIT_CATEGORIES, "exitCategories");
  const exchanges = new Map<string, string>();
  for (const c of world.chains)
    for (const [a, label] of exchangesAmong(
      c.labels.keys(),
      (x) => labels(x, q(c.chainId, "native")),
      exits,
      {},
    ))
      exchanges.set(a, label);
  return {
    transfers,
    converted,
    skippedConversions,
    crossings: crossings.crossed,
    skippedCrossings: crossings.skipped,
    unpairedDeposits: pairing.unpairedDeposits,
    labels,
    exchanges,
    initialBalances: world.initialBalances,
    seeds: world.seeds,
    chainId,
  };
}

export interface WorldTrace {
  result: TraceResult;
  /** The deposit addresses the trace took as exits (those its taint reached). */
  depositAddresses: Map<string, DepositExit>;
  /** Runs of the engine until no deposit address was new (per-seed attribution aside). */
  runs: number;
}

/**
 * The engine over the prepared world with one model, as run-assets.ts runs it: deposit addresses
 * found among the reached addresses until none is new, then each seed's share. Every balance before
 * the world is known, so no round reads any.
 */
export async function traceWorld(p: PreparedWorld, model: TaintModelName): Promise<WorldTrace> {
  const byAsset = inflowsByAsset(p.transfers);
  const deposits = new DepositTracker(() => byAsset, { exchanges: p.exchanges });
  const needs = (r: TraceResult): Needs => ({
    deposits: deposits.next(r),
    balances: { size: 0, read: async () => {} },
  });
  const options = () =>
    engineOptions(
      { model },
      {
        seeds: [...p.seeds],
        token: ALL_ASSETS,
        labels: p.labels,
        depositAddresses: deposits.found,
        initialBalances: p.initialBalances,
      },
    );
  let runs = 0;
  const result = await settle(() => {
    runs++;
    return trace(p.transfers, options());
  }, needs);
  return {
    result: attributeSeeds(p.transfers, options(), result),
    depositAddresses: deposits.found,
    runs,
  };
}

/** What became of one end point of the truth in a trace. */
export interface EndScore {
  end: EndPoint;
  /** The value the trace reports at that account (holding or exit), in the seed's asset. */
  reported: bigint;
  /** Whether it is at least 90 % of the true value. */
  found: boolean;
}

export interface Score {
  stolen: bigint;
  /** Σ true value of the end points found. */
  recalled: bigint;
  recall: number;
  /** Σ value of the holdings and exits reported. */
  reported: bigint;
  /** Of it, at accounts on the true path or true end points. */
  onPath: bigint;
  precision: number;
  ends: EndScore[];
  /** Reported values at accounts neither on the path nor an end point, largest first. */
  offPath: { account: string; kind: string; value: bigint }[];
}

/** At least this share of an end point's true value must be reported there for it to count. */
export const FOUND_SHARE = { numerator: 9n, denominator: 10n } as const;

/** A share of two bigints as a number (0 when the whole is 0). */
export const ratio = (part: bigint, whole: bigint): number =>
  whole === 0n ? 0 : Number((part * 1_000_000n) / whole) / 1_000_000;

/**
 * Scores a trace against the truth. Recall: the share of the stolen value whose true end point
 * (chain, asset, address) the trace reports with at least 90 % of its true value there. Precision:
 * the share of the reported value (holdings' and exits' `value`) that sits at accounts on the true
 * path or at true end points.
 */
export function scoreTrace(truth: WorldTruth, result: TraceResult): Score {
  const at = new Map<string, { value: bigint; kind: string }>();
  let reported = 0n;
  const add = (token: string, address: string, value: bigint, kind: string) => {
    const key = accountKey(token, address);
    const x = at.get(key);
    at.set(key, { value: (x?.value ?? 0n) + value, kind: x?.kind ?? kind });
    reported += value;
  };
  for (const h of result.holdings) add(h.token, h.address, h.value, "holding");
  for (const e of result.exits) add(e.token, e.address, e.value, e.kind);
  let recalled = 0n;
  const ends: EndScore[] = [];
  for (const [key, end] of truth.ends) {
    const value = at.get(key)?.value ?? 0n;
    const found = value * FOUND_SHARE.denominator >= end.value * FOUND_SHARE.numerator;
    if (found) recalled += end.value;
    ends.push({ end, reported: value, found });
  }
  let onPath = 0n;
  const offPath: Score["offPath"] = [];
  for (const [account, { value, kind }] of at) {
    if (truth.path.has(account) || truth.ends.has(account)) onPath += value;
    else if (value > 0n) offPath.push({ account, kind, value });
  }
  offPath.sort((a, b) => (a.value > b.value ? -1 : a.value < b.value ? 1 : 0));
  ends.sort((a, b) => (a.end.value > b.end.value ? -1 : a.end.value < b.end.value ? 1 : 0));
  return {
    stolen: truth.stolen,
    recalled,
    recall: ratio(recalled, truth.stolen),
    reported,
    onPath,
    precision: ratio(onPath, reported),
    ends,
    offPath,
  };
}

/** The end kinds in the order the tables list them. */
export const END_KINDS: readonly EndKind[] = ["deposit", "mixer", "bridge", "holding"];
