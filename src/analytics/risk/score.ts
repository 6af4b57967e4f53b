/**
 * The risk score of an address: 0–100 from its exposures, with the weights and thresholds of a
 * {@link RiskConfig}, a verdict, and the explanation (each category's amounts and points, the
 * largest paths). docs/risk.md, "The score", defines each number.
 */
import { share } from "../../shared/format.js";
import {
  hopFactor,
  verdictOf,
  type ExposureCategory,
  type RiskConfig,
  type Verdict,
} from "./config.js";
import type { Exposure, ExposureEngine } from "./exposure.js";
import { topPaths, type ExposurePath } from "./paths.js";

/** One category's part of a score. */
export interface CategoryExposure {
  category: ExposureCategory;
  /** Received straight from addresses of the category (hop 1). */
  direct: bigint;
  /** Received through unlabeled intermediaries (hops 2 and more). */
  indirect: bigint;
  /** By hop distance: byHop[d − 1]. */
  byHop: bigint[];
  /** (direct + indirect) / received, in basis points (rounded down). */
  shareBasisPoints: number;
  /** The points (hundredths) the category adds to the score. */
  centipoints: number;
}

export interface RiskReport {
  address: string;
  hops: number;
  received: bigint;
  score: number;
  verdict: Verdict;
  /** The address's own label, if of an exposure category (it scores as distance 0). */
  label: { category: ExposureCategory; label: string } | null;
  /** Categories with an exposure or a label, the most points first. */
  exposures: CategoryExposure[];
  /** The largest paths of each category that scores, the largest first. */
  paths: ExposurePath[];
}

/** Basis points of part in whole, rounded down (0 for nothing received). */
function basisPoints(part: bigint, whole: bigint): number {
  return whole === 0n ? 0 : Number((part * 10_000n) / whole);
}

/** Points (hundredths) of an exposure of `bp` basis points at hop distance d. */
function centipointsOf(
  config: RiskConfig,
  category: ExposureCategory,
  d: number,
  bp: number,
): number {
  const counted = Math.min(bp, config.saturation);
  return Math.floor(
    (config.weights[category] * hopFactor(config, d) * counted) / config.saturation,
  );
}

/** The score and its explanation from an exposure. */
export function scoreExposure(
  exposure: Exposure,
  config: RiskConfig,
  hops: number,
  paths: (category: ExposureCategory) => ExposurePath[] = () => [],
): RiskReport {
  const rows = new Map<ExposureCategory, CategoryExposure>();
  for (const { category, byHop } of exposure.categories) {
    const direct = byHop[0] ?? 0n;
    const total = byHop.reduce((s, v) => s + v, 0n);
    let centipoints = 0;
    byHop.forEach((v, i) => {
      centipoints += centipointsOf(config, category, i + 1, basisPoints(v, exposure.received));
    });
    rows.set(category, {
      category,
      direct,
      indirect: total - direct,
      byHop,
      shareBasisPoints: basisPoints(total, exposure.received),
      centipoints,
    });
  }
  if (exposure.label !== null) {
    const { category } = exposure.label;
    const row = rows.get(category) ?? {
      category,
      direct: 0n,
      indirect: 0n,
      byHop: new Array<bigint>(hops).fill(0n),
      shareBasisPoints: 0,
      centipoints: 0,
    };
    row.centipoints += centipointsOf(config, category, 0, 10_000);
    rows.set(category, row);
  }
  const exposures = [...rows.values()].sort(
    (a, b) => b.centipoints - a.centipoints || b.shareBasisPoints - a.shareBasisPoints,
  );
  const score = Math.min(100, Math.floor(exposures.reduce((s, e) => s + e.centipoints, 0) / 100));
  return {
    address: exposure.address,
    hops,
    received: exposure.received,
    score,
    verdict: verdictOf(config, score),
    label: exposure.label,
    exposures,
    paths: exposures
      .filter((e) => e.centipoints > 0 && e.direct + e.indirect > 0n)
      .flatMap((e) => paths(e.category)),
  };
}

/** Exposure, score and paths of one address (lower-case) on an engine. */
export function assessAddress(
  engine: ExposureEngine,
  address: string,
  config: RiskConfig,
  options: { hops?: number; paths?: number } = {},
): RiskReport {
  const hops = options.hops ?? engine.maxHops;
  const limit = options.paths ?? 3;
  return scoreExposure(engine.exposure(address, hops), config, hops, (category) =>
    topPaths(engine, address, category, limit, hops),
  );
}

/** A report as JSON: amounts as decimal strings, shares as percentages. */
export function riskReportJson(r: RiskReport) {
  return {
    address: r.address,
    hops: r.hops,
    received: r.received.toString(),
    score: r.score,
    verdict: r.verdict,
    label: r.label,
    exposures: r.exposures.map((e) => ({
      category: e.category,
      direct: e.direct.toString(),
      indirect: e.indirect.toString(),
      byHop: e.byHop.map(String),
      share: share(e.direct + e.indirect, r.received),
      points: e.centipoints / 100,
    })),
    paths: r.paths.map((p) => ({
      category: p.category,
      amount: p.amount.toString(),
      source: p.source,
      sourceLabel: p.sourceLabel,
      steps: p.steps.map((s) => ({ ...s, amount: s.amount.toString() })),
    })),
  };
}
