import type { ParseArgsConfig } from "node:util";
import { UsageError } from "../shared/errors.js";
import { openDatabase } from "../db/db.js";
import { Store } from "../db/store.js";
import { str } from "../shared/options.js";
import { quote } from "../shared/request-checks.js";
import { redactUrl } from "../chain/rpc.js";

/**
 * What every `veritrace` command shares: the command's shape, the store and output options, and
 * the checks of ids and references. The table of commands is commands.ts; each command's own file
 * is under commands/.
 */

export type Values = Record<string, string | boolean | undefined>;

/** One `veritrace` command. */
export interface Command {
  name: string;
  usage: string;
  help: string;
  options: NonNullable<ParseArgsConfig["options"]>;
  run(values: Values, positionals: string[]): Promise<number>;
}

/** Options of a command's table that take a value (`--name VALUE`), by name. */
export function stringOptions(...names: string[]): Record<string, { type: "string" }> {
  return Object.fromEntries(names.map((name) => [name, { type: "string" as const }]));
}

/** Options of a command's table that take no value (`--name`), by name. */
export function flagOptions(...names: string[]): Record<string, { type: "boolean" }> {
  return Object.fromEntries(names.map((name) => [name, { type: "boolean" as const }]));
}

/** Option helpers shared by the commands (one definition, in options.ts). */
export { integer, required, str } from "../shared/options.js";

/**
 * `value`, given for --`name` (--rpc, --ledger-rpc), if it is an http(s) URL; a usage error
 * otherwise, which shows the value without the credentials or API key a URL may hold.
 */
export function checkHttpUrl(name: string, value: string): string {
  let shown = value;
  try {
    const u = new URL(value);
    if (u.protocol === "http:" || u.protocol === "https:") return value;
    if (u.host !== "") shown = redactUrl(value);
  } catch {
    // Not a URL at all: shown as given (cut short).
  }
  throw new UsageError(`--${name} must be an http(s) URL, got ${quote(shown)}`);
}

/** The http(s) URL of --`name` (default --rpc), else `fallback`; a usage error without either. */
export function rpcUrl(values: Values, name = "rpc", fallback?: string): string {
  const v = str(values, name) ?? fallback;
  if (v === undefined) throw new UsageError(`--${name} is required`);
  return checkHttpUrl(name, v);
}

/**
 * Opens the store named by --db (or DATABASE_URL, or the default directory); with `mustExist`
 * (read commands), an embedded store that does not exist is refused rather than created.
 */
export async function openStore(values: Values, mustExist = false): Promise<Store> {
  return Store.open(await openDatabase(str(values, "db"), { mustExist }));
}

export const DB_OPTION = { db: { type: "string" } } as const;

export const DB_HELP =
  "  --db URL|DIR         store: a directory (PGlite, default .veritrace/db) or postgres://…";

export const JSON_OPTION = { json: { type: "boolean" } } as const;

export const JSON_HELP = "  --json               one JSON document on stdout instead of tables";

/**
 * Checks a positional argument's form before any store is opened, so that a bad argument
 * creates or migrates nothing; the value is echoed shortened.
 */
export function checkedRef(
  value: string,
  what: string,
  forms: readonly [RegExp, string][],
): string {
  if (forms.some(([re]) => re.test(value))) return value;
  const shown =
    value.length > 80
      ? `${JSON.stringify(value.slice(0, 60))}… (${value.length} characters)`
      : JSON.stringify(value);
  throw new UsageError(
    `expected ${what}: ${forms.map(([, name]) => name).join(" or ")}; got ${shown}`,
  );
}

export const ID: [RegExp, string] = [/^\d{1,20}$/, "a decimal id"];

export const HASH: [RegExp, string] = [
  /^0x[0-9a-fA-F]{64}$/,
  "a commitment (0x and 64 hex digits)",
];

export const ADDRESS: [RegExp, string] = [
  /^0x[0-9a-fA-F]{40}$/,
  "an address (0x and 40 hex digits)",
];

export function onePositional(positionals: string[], what: string): string {
  if (positionals.length !== 1 || positionals[0] === undefined)
    throw new UsageError(`expected one ${what}`);
  return positionals[0];
}

/**
 * Runs `fn` on the store named by --db, closing it afterwards. A read command (`create` false)
 * never creates an embedded store.
 */
export async function withStore<T>(
  values: Values,
  fn: (store: Store) => Promise<T>,
  create = false,
): Promise<T> {
  const store = await openStore(values, !create);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

export const short = (hex: string | null) =>
  hex === null ? "" : hex.length > 14 ? `${hex.slice(0, 10)}…${hex.slice(-4)}` : hex;

export { VERIFY_EXIT, CouldNotCheckError } from "../shared/errors.js";
