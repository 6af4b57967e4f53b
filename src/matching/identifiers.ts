/**
 * A party's identifiers, ready for matching: normalized with the client's helpers (E.164 phone
 * numbers, bank accounts, national ids), then deduplicated (first occurrence kept), so that equal
 * identifiers written differently match and no party reveals how often one occurs. An identifier
 * that fails normalization stops everything, naming its line (file) or position (list).
 */
import { normalizeIdentifier } from "../client/normalize.js";
import { InputError } from "../client/errors.js";
import { InputTooLargeError, inputName, readInputText } from "../shared/input.js";
import { MatchError } from "./errors.js";
import { DEFAULT_MAX_ELEMENTS, IDENTIFIER_TYPES, type IdentifierType } from "./messages.js";

export interface IdentifierOptions {
  /** Largest set accepted; default {@link DEFAULT_MAX_ELEMENTS}. */
  maxElements?: number;
  /**
   * Country of phone numbers written without a country code, e.g. "DE" or "49"; none by default
   * (such numbers are then refused).
   */
  defaultCountryCode?: string;
}

/** Longest line of an identifier file, in bytes, to bound what a file may make us read. */
const MAX_LINE_BYTES = 256;

export function checkIdentifierType(type: string): IdentifierType {
  if (!IDENTIFIER_TYPES.includes(type as IdentifierType)) {
    throw new MatchError(
      "invalid-input",
      `unknown identifier type ${JSON.stringify(type)} (one of ${IDENTIFIER_TYPES.join(", ")})`,
    );
  }
  return type as IdentifierType;
}

/** Normalized, deduplicated identifiers of one type. */
export class IdentifierSet {
  readonly type: IdentifierType;
  /** Normalized identifiers, in first-occurrence order, each once. */
  readonly values: readonly string[];
  /** Entries dropped as duplicates (after normalization). */
  readonly duplicates: number;

  private constructor(type: IdentifierType, values: string[], duplicates: number) {
    this.type = type;
    this.values = values;
    this.duplicates = duplicates;
  }

  get size(): number {
    return this.values.length;
  }

  /**
   * From identifiers in memory; a failure names the entry as `entry N` (1-based), or as
   * `where(i)` when given (e.g. a file's line).
   */
  static fromList(
    type: IdentifierType,
    identifiers: readonly string[],
    options: IdentifierOptions & { where?: (index: number) => string } = {},
  ): IdentifierSet {
    checkIdentifierType(type);
    const max = options.maxElements ?? DEFAULT_MAX_ELEMENTS;
    const where = options.where ?? ((i: number) => `entry ${i + 1}`);
    const seen = new Set<string>();
    const values: string[] = [];
    let duplicates = 0;
    const normalizeOptions =
      options.defaultCountryCode === undefined
        ? {}
        : { defaultCountryCode: options.defaultCountryCode };
    identifiers.forEach((raw, i) => {
      let normalized: string;
      try {
        normalized = normalizeIdentifier(type, raw, normalizeOptions);
      } catch (error) {
        if (error instanceof InputError)
          throw new MatchError("invalid-input", `${where(i)}: ${error.message}`, { index: i });
        throw error;
      }
      if (seen.has(normalized)) {
        duplicates++;
        return;
      }
      seen.add(normalized);
      values.push(normalized);
      if (values.length > max) {
        throw new MatchError(
          "too-large",
          `more than ${max.toLocaleString("en")} identifiers (the limit; --max-elements)`,
        );
      }
    });
    return new IdentifierSet(type, values, duplicates);
  }

  /**
   * From a text file (stdin for `-`), one identifier a line; blank lines and lines starting with
   * # are skipped. A failure names the file and the line.
   */
  static fromFile(
    type: IdentifierType,
    file: string,
    options: IdentifierOptions = {},
  ): IdentifierSet {
    const max = options.maxElements ?? DEFAULT_MAX_ELEMENTS;
    const name = inputName(file);
    const bound = (max + 1000) * MAX_LINE_BYTES;
    let text: string;
    try {
      text = readInputText(file, bound);
    } catch (error) {
      if (error instanceof InputTooLargeError) {
        const size =
          error.size === undefined
            ? `more than ${bound.toLocaleString("en")}`
            : error.size.toLocaleString("en");
        throw new MatchError(
          "too-large",
          `${name}: ${size} bytes is too large for ${max.toLocaleString("en")} identifiers (--max-elements)`,
        );
      }
      throw new MatchError("invalid-input", `cannot read ${name}: ${(error as Error).message}`);
    }
    const lines = text.split("\n");
    const entries: string[] = [];
    const lineOf: number[] = [];
    lines.forEach((line, i) => {
      const s = line.trim();
      if (s === "" || s.startsWith("#")) return;
      entries.push(s);
      lineOf.push(i + 1);
    });
    return IdentifierSet.fromList(type, entries, {
      ...options,
      where: (i) => `${name} line ${lineOf[i] ?? "?"}`,
    });
  }
}
