/**
 * Which labeled addresses are exit points, where taint stops: custodial services, which pool
 * their customers' funds (what leaves them is not what a customer paid in), bridges and mixers.
 * The one list both the trace (taint.ts) and the choice of an address's label (run.ts) read.
 * Deposit addresses of labeled exchanges (found by the clustering heuristic) are exits too.
 * docs/taint-models.md, "Exits".
 */
import { InvalidInputError } from "../../shared/errors.js";
import {
  DEFAULT_EXIT_CATEGORIES,
  exitTerm,
  taxonomyTerm,
  type ExitRiskCategory,
} from "../labels/categories.js";
import type { DepositExit, ExitKind, Label } from "./types.js";

export { DEFAULT_EXIT_CATEGORIES };

/** An exit list, read: the risk categories and the taxonomy terms that stop taint. */
export interface ExitCategories {
  categories: ReadonlySet<ExitRiskCategory>;
  /** Services of the taxonomy (lower case, `_` between words) matched against a label's `term`. */
  services: ReadonlySet<string>;
}

/**
 * Reads an exit list: exchange, bridge, mixer (or a taxonomy term the tracer reads as one, such
 * as mixing_service) and the taxonomy's services (gambling, wallet_service, …), in any case, `-` or
 * space for `_`. Throws an {@link InvalidInputError} naming the first term that is neither,
 * after `what` (the option's name).
 */
export function readExitCategories(terms: readonly string[], what: string): ExitCategories {
  const categories = new Set<ExitRiskCategory>();
  const services = new Set<string>();
  for (const text of terms) {
    const read = exitTerm(text);
    if ("problem" in read) throw new InvalidInputError(`${what}: ${read.problem}`);
    if ("category" in read) categories.add(read.category);
    else services.add(read.service);
  }
  return { categories, services };
}

/** A comma-separated exit list (`--exit-categories`): its terms, empty items left out. */
export function splitExitCategories(list: string): string[] {
  return list
    .split(",")
    .map((t) => t.trim())
    .filter((t) => t !== "");
}

export const DEFAULT_EXITS: ExitCategories = readExitCategories(DEFAULT_EXIT_CATEGORIES, "default");

/**
 * The kind of exit a label makes, if any: its risk category when the list names it (exchange,
 * bridge, mixer); "service" when its risk category is "other" and the list names its taxonomy
 * term. A label whose abuse the tracer knows (a casino's wallet labeled gambling and
 * service_hack is a hack) is no service exit: its risk category decides, as for exchanges.
 */
export function exitKindOf(label: Label, exits: ExitCategories): ExitKind | undefined {
  if ((exits.categories as ReadonlySet<string>).has(label.category))
    return label.category as ExitRiskCategory;
  if (label.category === "other" && exits.services.has(taxonomyTerm(label.term))) return "service";
  return undefined;
}

/** The text of a labeled exit: the label's, and for a service its taxonomy term after it. */
export function exitLabelText(label: Label, kind: ExitKind): string {
  return kind === "service" ? `${label.label} (${taxonomyTerm(label.term)})` : label.label;
}

/** The text of a deposit address's exit: "deposit address of" its exchange's label. */
export function depositLabelText(deposit: DepositExit): string {
  return `deposit address of ${deposit.depositOf.label}`;
}

/** What an exit is: its kind, its text, and for a deposit address the heuristic's evidence. */
export interface ExitDecision {
  kind: ExitKind;
  label?: string;
  deposit?: DepositExit;
}

/**
 * Whether an address is an exit, from its label and what the deposit heuristic found: its own
 * label decides first ({@link exitKindOf}); else a deposit address of an exchange is an exit of
 * kind exchange when the list names exchanges (the account the exchange can freeze).
 */
export function exitDecision(
  label: Label | undefined,
  deposit: DepositExit | undefined,
  exits: ExitCategories,
): ExitDecision | undefined {
  const kind = label === undefined ? undefined : exitKindOf(label, exits);
  if (label !== undefined && kind !== undefined) return { kind, label: exitLabelText(label, kind) };
  if (deposit !== undefined && exits.categories.has("exchange"))
    return { kind: "exchange", label: depositLabelText(deposit), deposit };
  return undefined;
}
