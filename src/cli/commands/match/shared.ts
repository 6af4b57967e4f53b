/**
 * What the `veritrace match …` commands share: the options' help and parsing (identifier type,
 * mode, session id, sizes, the identifiers file, the access request and the tag), the
 * requester's result document and its report, and how a command reads a JSON file and says where
 * it wrote. docs/psi.md describes the protocol and the commands.
 */
import { InputError } from "../../../client/errors.js";
import { newSessionTag } from "../../../client/matching.js";
import { requireDefaultCountry } from "../../../client/normalize.js";
import { stringOptions, type Values } from "../../command.js";
import { inputName, isStdin, readInputText } from "../../../shared/input.js";
import { integer, required, str } from "../../../shared/options.js";
import { UsageError } from "../../../shared/errors.js";
import { MatchError } from "../../../matching/errors.js";
import { writeFileAtomic } from "../../../matching/files.js";
import { IdentifierSet } from "../../../matching/identifiers.js";
import {
  DEFAULT_MAX_ELEMENTS,
  IDENTIFIER_TYPES,
  MODES,
  normalizeSessionId,
  type IdentifierType,
  type PsiMode,
} from "../../../matching/messages.js";
import type { MatchLedger, OpenedSession } from "../../../matching/ledger.js";
import { LEDGER_OPTIONS } from "../../match-ledger.js";
import type { PsiResult } from "../../../matching/session.js";

/** The help lines of the options several `match` commands take. */
export const OPTION_HELP = {
  type: `  --type TYPE          identifier type: ${IDENTIFIER_TYPES.join(", ")}`,
  input:
    "  --input FILE         identifiers, one a line (blank lines and # comments skipped; - reads stdin)",
  session: "  --session HEX        --no-ledger only: the protocol's session id (32 bytes of hex)",
  request:
    "  --request ID         the granted access request the session runs under (opens it on the ledger)",
  mode: "  --mode MODE          psi (which identifiers match) or cardinality (only how many)",
  maxElements: `  --max-elements N     largest set accepted from either party (default ${DEFAULT_MAX_ELEMENTS.toLocaleString("en")})`,
  threads: "  --threads N          worker threads (default: one per core; 0: none)",
  country:
    "  --country CODE       country of phone numbers written without + or 00: DE or 49, CN or 86, …; default none",
  json: "  --json               one JSON object on stdout instead of a sentence",
  oneStdin: "One input at a time may be - (stdin).",
  resultOut: [
    "  --out FILE           write the result (JSON, mode 0600) there and print a summary",
    "                       (default, and with -: the result on stdout, without a summary)",
  ].join("\n"),
  stdoutOut:
    "                       - writes it to stdout, the sentence then to stderr (not with --json)",
};

/** The options of every command that reads identifiers (serve, run, blind, respond). */
export const COMMON_OPTIONS = {
  ...stringOptions("type", "input", "max-elements", "threads", "country"),
  ...LEDGER_OPTIONS,
} as const;

export function identifierType(values: Values): IdentifierType {
  const type = required(values, "type");
  if (!IDENTIFIER_TYPES.includes(type as IdentifierType))
    throw new UsageError(
      `--type must be one of ${IDENTIFIER_TYPES.join(", ")}, got ${JSON.stringify(type)}`,
    );
  return type as IdentifierType;
}

export function mode(values: Values): PsiMode {
  const m = required(values, "mode");
  if (!MODES.includes(m as PsiMode))
    throw new UsageError(`--mode must be one of ${MODES.join(", ")}, got ${JSON.stringify(m)}`);
  return m as PsiMode;
}

export function modes(values: Values): PsiMode[] {
  const list = (str(values, "modes") ?? MODES.join(",")).split(",").map((m) => m.trim());
  for (const m of list) {
    if (!MODES.includes(m as PsiMode))
      throw new UsageError(
        `--modes takes ${MODES.join(", ")} separated by commas, got ${JSON.stringify(m)}`,
      );
  }
  return list as PsiMode[];
}

export function sessionId(values: Values, name = "session"): string {
  const v = required(values, name);
  try {
    return normalizeSessionId(v);
  } catch {
    throw new UsageError(`--${name} must be 32 bytes of hex (64 digits), got ${JSON.stringify(v)}`);
  }
}

export function maxElements(values: Values): number {
  return integer(values, "max-elements", 1) ?? DEFAULT_MAX_ELEMENTS;
}

function country(values: Values): { defaultCountryCode?: string } {
  const c = str(values, "country");
  if (c === undefined) return {};
  try {
    return { defaultCountryCode: requireDefaultCountry(c) };
  } catch (error) {
    if (error instanceof InputError)
      throw new UsageError(
        `--country must be a country (ISO 3166, e.g. DE) or a country calling code (e.g. 49), got ${JSON.stringify(c)}`,
      );
    throw error;
  }
}

export function readIdentifiers(values: Values, type: IdentifierType): IdentifierSet {
  return IdentifierSet.fromFile(type, required(values, "input"), {
    maxElements: maxElements(values),
    ...country(values),
  });
}

/** The ledger part of a requester's result document. */
export function ledgerPart(opened: OpenedSession | null): Record<string, unknown> {
  if (opened === null) return {};
  return {
    ledger: {
      sessionId: opened.sessionId.toString(),
      requestId: opened.requestId.toString(),
      transactions: opened.transactions,
    },
  };
}

/**
 * The requester's result as written: the protocol's session id is shown as `tag` (the ledger's
 * session id, a number, is `ledger.sessionId`).
 */
function resultDocument(
  result: PsiResult,
  duplicates: number | null,
  opened: OpenedSession | null,
): Record<string, unknown> {
  const { sessionId, status, ...rest } = result;
  return {
    status,
    tag: sessionId,
    ...rest,
    ...(duplicates === null ? {} : { duplicatesDropped: duplicates }),
    ...ledgerPart(opened),
  };
}

/**
 * Prints (or writes, with --out FILE) a requester's result; `--out -` prints it, as no --out does
 * (the result is the output: no summary beside it).
 */
export function report(
  values: Values,
  result: PsiResult,
  duplicates: number | null,
  opened: OpenedSession | null,
): void {
  const named = str(values, "out");
  const out = named === undefined || isStdin(named) ? undefined : named;
  const document = resultDocument(result, duplicates, opened);
  if (out !== undefined) writeFileAtomic(out, `${JSON.stringify(document, null, 2)}\n`, 0o600);
  if (out === undefined) {
    // On stdout, as every --json output: one line.
    console.log(JSON.stringify(document));
    return;
  }
  if (values["json"] === true) {
    // The matches and the salt stay in the file.
    const summary: Record<string, unknown> = { ...document, out };
    delete summary["matches"];
    delete summary["resultSalt"];
    console.log(JSON.stringify(summary));
    return;
  }
  const what = result.mode === "psi" ? "" : " (count only)";
  const name =
    opened === null
      ? `tag ${result.sessionId}`
      : `session ${opened.sessionId} (tag ${result.sessionId})`;
  const t = opened?.transactions;
  console.log(
    `${name}: ${result.cardinality.toLocaleString("en")} of ${result.requestCount.toLocaleString("en")} identifiers match${what}; ` +
      `the provider holds ${result.providerCount.toLocaleString("en")}; result in ${out}\n` +
      (t === undefined
        ? ""
        : `recorded on the ledger: opened ${t.open}, response ${t.response ?? "-"}, result ${t.result ?? "-"}\n`) +
      `transcript ${result.transcriptDigest}\nresult commitment ${result.resultCommitment}`,
  );
}

/** --request ID, required with the ledger. */
export function requestId(values: Values): bigint {
  const v = required(values, "request");
  if (!/^[1-9]\d{0,19}$/.test(v))
    throw new UsageError(`--request must be an access request id, got ${JSON.stringify(v)}`);
  return BigInt(v);
}

/**
 * The protocol's session id (the ledger's tag): drawn fresh with the ledger (it must never have
 * been used), --session without it.
 */
export function tagFor(values: Values, ledger: MatchLedger | null): string {
  if (ledger === null) return sessionId(values);
  if (str(values, "session") !== undefined)
    throw new UsageError("--session is for --no-ledger: with the ledger, the tag is drawn fresh");
  return newSessionTag();
}

/** A JSON file (stdin for `-`); a failure names it. */
export function readJson(file: string, what: string): unknown {
  try {
    return JSON.parse(readInputText(file));
  } catch (error) {
    throw new MatchError(
      "invalid-input",
      `cannot read ${what} ${inputName(file)}: ${(error as Error).message}`,
    );
  }
}

/** "in FILE", or "on stdout" for `-`. */
export const written = (file: string) => (isStdin(file) ? "on stdout" : `in ${file}`);

/**
 * How a command that writes `--out` and prints a report (blind, respond, cosign) prints it: on
 * stdout, or with `--out -`, which gives stdout to the output alone, on stderr; `--json`, a
 * summary on stdout, is then refused. `what` names the output.
 */
export function reporter(values: Values, out: string, what: string): (text: string) => void {
  if (!isStdin(out)) return (text) => console.log(text);
  if (values["json"] === true)
    throw new UsageError(
      `--out - writes the ${what} to stdout, where --json would print its summary: give --out FILE with --json`,
    );
  return (text) => console.error(text);
}
