import { UsageError } from "./errors.js";

/** Parsed command-line values, as node:util parseArgs gives them. */
export type OptionValues = Readonly<Record<string, string | boolean | string[] | undefined>>;

/** An option's string value, if given. */
export function str(values: OptionValues, name: string): string | undefined {
  const v = values[name];
  return typeof v === "string" ? v : undefined;
}

/** An option's string value; a usage error (exit code 2) when missing. */
export function required(values: OptionValues, name: string): string {
  const v = str(values, name);
  if (v === undefined) throw new UsageError(`--${name} is required`);
  return v;
}

/** An option's integer value (≥ min), if given; a usage error when it isn't one. */
export function integer(values: OptionValues, name: string, min = 0): number | undefined {
  const v = str(values, name);
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < min || !Number.isSafeInteger(Number(v))) {
    throw new UsageError(`--${name} must be an integer ≥ ${min}, got ${JSON.stringify(v)}`);
  }
  return Number(v);
}
