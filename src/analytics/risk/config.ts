/**
 * The risk score's parameters: a weight per category, a factor per hop distance, the share of
 * what an address received at which an exposure counts in full, and the verdicts' thresholds.
 * docs/risk.md explains each one with a worked example; `--config FILE` overrides any of them.
 */
import { inputName, readInputTextOr } from "../../shared/input.js";
import { InvalidInputError, NotFoundError } from "../../shared/errors.js";
import { RISK_CATEGORIES, type RiskCategory } from "../labels/categories.js";

/** The categories an exposure is measured in: every risk category but `other`. */
export const EXPOSURE_CATEGORIES = RISK_CATEGORIES.filter(
  (c): c is Exclude<RiskCategory, "other"> => c !== "other",
);
export type ExposureCategory = (typeof EXPOSURE_CATEGORIES)[number];

export const VERDICTS = ["low", "medium", "high", "severe"] as const;
export type Verdict = (typeof VERDICTS)[number];

export interface RiskConfig {
  /** Points (0–100) an exposure of the category gives when it counts in full. */
  weights: Readonly<Record<ExposureCategory, number>>;
  /**
   * Percent (0–100) of a category's points an exposure keeps at hop distance 1, 2, …; distances
   * beyond the list keep the last value. Distance 0 (the address's own label) keeps 100.
   */
  hops: readonly number[];
  /** Share of what the address received, in basis points, at which an exposure counts in full. */
  saturation: number;
  /** The least score of each verdict above `low`. */
  thresholds: Readonly<{ medium: number; high: number; severe: number }>;
}

export const DEFAULT_RISK_CONFIG: RiskConfig = {
  weights: {
    sanctioned: 100,
    ransomware: 100,
    hack: 90,
    phishing: 70,
    scam: 70,
    darknet: 90,
    mixer: 80,
    bridge: 0,
    exchange: 0,
  },
  hops: [100, 50, 25],
  saturation: 1000,
  thresholds: { medium: 25, high: 50, severe: 75 },
};

/** Default hops walked back from a screened address. */
export const DEFAULT_HOPS = 3;
/** Most hops a walk may take. */
export const MAX_HOPS = 10;

const isPercent = (v: unknown): v is number =>
  typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= 100;

/**
 * Checks a configuration (as parsed from JSON) and fills what it leaves out from the defaults.
 * Throws an {@link InvalidInputError} naming the first bad field.
 */
export function riskConfigOf(value: unknown, source = "risk configuration"): RiskConfig {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new InvalidInputError(
      `${source}: expected a JSON object {weights, hops, saturation, thresholds}`,
    );
  const v = value as Record<string, unknown>;
  const unknownKey = Object.keys(v).find(
    (k) => !["weights", "hops", "saturation", "thresholds"].includes(k),
  );
  if (unknownKey !== undefined)
    throw new InvalidInputError(`${source}: unknown field ${JSON.stringify(unknownKey)}`);
  const weights = { ...DEFAULT_RISK_CONFIG.weights };
  if (v["weights"] !== undefined) {
    const w = v["weights"];
    if (typeof w !== "object" || w === null || Array.isArray(w))
      throw new InvalidInputError(`${source}: weights must be an object of category: points`);
    for (const [category, points] of Object.entries(w)) {
      if (!(EXPOSURE_CATEGORIES as readonly string[]).includes(category))
        throw new InvalidInputError(
          `${source}: weights: unknown category ${JSON.stringify(category)} (known: ${EXPOSURE_CATEGORIES.join(", ")})`,
        );
      if (!isPercent(points))
        throw new InvalidInputError(
          `${source}: weights.${category} must be an integer from 0 to 100`,
        );
      weights[category as ExposureCategory] = points;
    }
  }
  const hops = v["hops"] ?? DEFAULT_RISK_CONFIG.hops;
  if (!Array.isArray(hops) || hops.length === 0 || !hops.every(isPercent))
    throw new InvalidInputError(
      `${source}: hops must be a non-empty list of integers from 0 to 100`,
    );
  const saturation = v["saturation"] ?? DEFAULT_RISK_CONFIG.saturation;
  if (
    typeof saturation !== "number" ||
    !Number.isInteger(saturation) ||
    saturation < 1 ||
    saturation > 10_000
  )
    throw new InvalidInputError(
      `${source}: saturation must be basis points, an integer from 1 to 10000`,
    );
  const thresholds = { ...DEFAULT_RISK_CONFIG.thresholds };
  if (v["thresholds"] !== undefined) {
    const t = v["thresholds"];
    if (typeof t !== "object" || t === null || Array.isArray(t))
      throw new InvalidInputError(`${source}: thresholds must be an object {medium, high, severe}`);
    for (const [name, score] of Object.entries(t)) {
      if (!["medium", "high", "severe"].includes(name))
        throw new InvalidInputError(
          `${source}: thresholds: unknown verdict ${JSON.stringify(name)}`,
        );
      if (!isPercent(score))
        throw new InvalidInputError(
          `${source}: thresholds.${name} must be an integer from 0 to 100`,
        );
      thresholds[name as keyof typeof thresholds] = score;
    }
  }
  if (!(thresholds.medium <= thresholds.high && thresholds.high <= thresholds.severe))
    throw new InvalidInputError(`${source}: thresholds must rise: medium ≤ high ≤ severe`);
  return { weights, hops: hops as number[], saturation, thresholds };
}

/** Reads a configuration file (JSON), or stdin for `-`. */
export function readRiskConfig(file: string): RiskConfig {
  const name = inputName(file);
  const text = readInputTextOr(
    file,
    (reason) => new NotFoundError(`cannot read ${name}: ${reason}`),
  );
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new InvalidInputError(`${name}: not JSON: ${(error as Error).message}`);
  }
  return riskConfigOf(parsed, name);
}

/** The percent of a category's points an exposure keeps at hop distance `d` (0: own label). */
export function hopFactor(config: RiskConfig, d: number): number {
  if (d <= 0) return 100;
  return config.hops[Math.min(d, config.hops.length) - 1] ?? 0;
}

/** The verdict of a score. */
export function verdictOf(config: RiskConfig, score: number): Verdict {
  const t = config.thresholds;
  return score >= t.severe
    ? "severe"
    : score >= t.high
      ? "high"
      : score >= t.medium
        ? "medium"
        : "low";
}
