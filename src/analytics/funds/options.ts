import { InvalidInputError } from "../../shared/errors.js";
import { DEFAULT_EXITS, readExitCategories, type ExitCategories } from "./exits.js";
import { formatSeed } from "./seed.js";
import {
  TAINT_MODELS,
  ZERO_ADDRESS,
  type DepositExit,
  type LabelLookup,
  type Seed,
  type TraceOptions,
} from "./types.js";

/** Default number of paths reported per holding or exit. */
export const DEFAULT_MAX_PATHS = 5;

/** The options of a trace, checked and normalized. */
export interface Settings {
  /** The seeds, in the order given (one at least, none twice). */
  seeds: readonly Seed[];
  token: string;
  /** With every asset: the seed asset given (else found from the seed transaction). */
  seedAsset: string | undefined;
  labels: LabelLookup | undefined;
  exits: ExitCategories;
  deposits: ReadonlyMap<string, DepositExit> | undefined;
  maxHops: number;
  minAmount: bigint;
  windowSeconds: number | undefined;
  feeSink: string | undefined;
  maxPaths: number;
}

/** `text` in lower case (the same string when it already is). */
export const lowercase = (text: string) => (/[A-Z]/.test(text) ? text.toLowerCase() : text);

const isCount = (n: unknown): n is number =>
  typeof n === "number" && Number.isSafeInteger(n) && n >= 0;

/** A seed, checked and in lower case. */
function normalizeSeed(seed: Seed): Seed {
  if (seed.kind === "tx") {
    if (typeof seed.txHash !== "string" || seed.txHash === "")
      throw new InvalidInputError("seed transaction hash is empty");
    return { kind: "tx", txHash: seed.txHash.toLowerCase() };
  }
  const address = typeof seed.address === "string" ? seed.address.toLowerCase() : "";
  if (address === "" || address === ZERO_ADDRESS)
    throw new InvalidInputError(
      `seed address "${String(seed.address)}" is not an address that can hold funds`,
    );
  if (!isCount(seed.block))
    throw new InvalidInputError(`seed block ${String(seed.block)} is not a non-negative integer`);
  return { kind: "balance", address, block: seed.block };
}

/** Checks `options` (an {@link InvalidInputError} names the first bad value) and normalizes them. */
export function settingsOf(options: TraceOptions): Settings {
  const { model } = options;
  if (!TAINT_MODELS.includes(model))
    throw new InvalidInputError(
      `unknown taint model "${String(model)}": expected poison, haircut or fifo`,
    );
  if (typeof options.token !== "string" || options.token === "")
    throw new InvalidInputError('token is required: a token address or "native"');
  const given: readonly Seed[] = Array.isArray(options.seed)
    ? (options.seed as readonly Seed[])
    : [options.seed as Seed];
  if (given.length === 0) throw new InvalidInputError("no seed given: a trace needs one at least");
  const seeds = given.map(normalizeSeed);
  const seen = new Set<string>();
  for (const seed of seeds) {
    const key = formatSeed(seed);
    if (seen.has(key)) throw new InvalidInputError(`seed ${key} is given twice`);
    seen.add(key);
  }
  const maxHops = options.maxHops ?? Number.POSITIVE_INFINITY;
  if (options.maxHops !== undefined && !isCount(maxHops))
    throw new InvalidInputError(`maxHops ${String(maxHops)} is not a non-negative integer`);
  const minAmount = options.minAmount ?? 0n;
  if (typeof minAmount !== "bigint" || minAmount < 0n)
    throw new InvalidInputError(`minAmount ${String(minAmount)} is not a non-negative bigint`);
  const windowSeconds = options.windowSeconds;
  if (windowSeconds !== undefined && !(Number.isFinite(windowSeconds) && windowSeconds >= 0))
    throw new InvalidInputError(
      `windowSeconds ${String(windowSeconds)} is not a non-negative number`,
    );
  const maxPaths = options.maxPaths ?? DEFAULT_MAX_PATHS;
  if (!isCount(maxPaths) || maxPaths > 1000)
    throw new InvalidInputError(`maxPaths ${String(maxPaths)} is not an integer from 0 to 1000`);
  const list = options.exitCategories;
  if (list !== undefined && !(Array.isArray(list) && list.every((t) => typeof t === "string")))
    throw new InvalidInputError("exitCategories is not a list of category names");
  const exits = list === undefined ? DEFAULT_EXITS : readExitCategories(list, "exitCategories");
  return {
    seeds,
    token: options.token.toLowerCase(),
    seedAsset: options.seedAsset?.toLowerCase(),
    labels: options.labels,
    exits,
    deposits: options.depositAddresses,
    maxHops,
    minAmount,
    windowSeconds,
    feeSink: options.feeSink?.toLowerCase(),
    maxPaths,
  };
}
