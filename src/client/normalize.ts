/**
 * Normalization of identifiers: one string for one identifier, however it is written, the same at
 * every institution. Subjects go on chain as keyed commitments of the normalized identifier and PSI
 * hashes it onto the curve, so two institutions that normalize differently fail to match, silently.
 * The rules are fixed (docs/contracts.md "Identifiers"), versioned with the commitment's domain tag,
 * and pinned by the known-answer vectors in docs/test-vectors.json.
 *
 * - phone: E.164 by libphonenumber-js with its full ("max") metadata: every country's national
 *   trunk prefix ("0" in Germany, "8" in Russia, "06" in Hungary; none in Italy, whose 0 belongs to
 *   the number), the "(0)" written after a country code, and a check that the number lies in one
 *   of the country's number ranges.
 * - bankAccount: an IBAN (also when written with its "IBAN" prefix) with its country's length and
 *   mod-97 check; any other account number as written, upper case, without separators.
 * - nationalId: upper case without separators; a Chinese resident ID number (18 characters, or the
 *   15-digit first generation, converted) must carry its GB 11643 check digit.
 *
 * Every refusal is an {@link InputError} naming the identifier type and what was wrong.
 */
import {
  ParseError,
  getCountries,
  getCountryCallingCode,
  isSupportedCountry,
  parsePhoneNumberWithError,
  type CountryCode,
  type PhoneNumber,
} from "libphonenumber-js/max";
import { cnResidentId18, looksLikeCnResidentId } from "./cn-resident-id.js";
import { InputError } from "./errors.js";
import { ibanProblem } from "./iban.js";

/** Kinds of identifiers the client knows how to normalize. */
export type IdentifierType = "phone" | "bankAccount" | "nationalId";

/** Options of {@link normalizeIdentifier}. */
export interface NormalizeOptions {
  /**
   * The country of phone numbers written without a country code: an ISO 3166 code ("DE", "CN")
   * or a country calling code ("49", "86"). A calling code shared by several countries stands for
   * its main one (the trunk prefix of "7" is Russia's, of "1" the United States').
   */
  defaultCountryCode?: string;
}

const quote = (s: string) => JSON.stringify(s);

/** Unicode compatibility form: full-width digits, letters and "+" become ASCII. */
const compatible = (input: string) => input.normalize("NFKC").trim();

let callingCodes: ReadonlySet<string> | undefined;
function isCallingCode(code: string): boolean {
  callingCodes ??= new Set(getCountries().map((c) => getCountryCallingCode(c)));
  return callingCodes.has(code);
}

/** The libphonenumber-js option for a default country given as "DE" or as "49". */
function defaultCountryOption(
  code: string,
): { defaultCountry: CountryCode } | { defaultCallingCode: string } {
  const c = code.trim();
  if (/^[A-Za-z]{2}$/.test(c) && isSupportedCountry(c.toUpperCase()))
    return { defaultCountry: c.toUpperCase() as CountryCode };
  if (/^[1-9]\d{0,2}$/.test(c) && isCallingCode(c)) return { defaultCallingCode: c };
  throw new InputError(
    "defaultCountryCode",
    `${quote(code)} is neither a country (ISO 3166, e.g. "DE") nor a country calling code (e.g. "49")`,
  );
}

/**
 * Checks a default country for phone numbers ("DE" or "49", see {@link NormalizeOptions}) and
 * returns it in canonical form (ISO codes upper case); an {@link InputError} says why not.
 */
export function requireDefaultCountry(code: string): string {
  const option = defaultCountryOption(code);
  return "defaultCountry" in option ? option.defaultCountry : option.defaultCallingCode;
}

/** Why libphonenumber-js could not parse a number, in words. */
function parseProblem(code: string, international: boolean): string {
  switch (code) {
    case "INVALID_COUNTRY":
      return international
        ? "starts with no country calling code that exists"
        : 'has no country code (write it with "+" or "00", or give a default country)';
    case "TOO_SHORT":
      return "is too short for a phone number";
    case "TOO_LONG":
      return "is too long for a phone number";
    default:
      return "is not a phone number";
  }
}

/**
 * Normalizes a phone number to E.164 ("+", the country calling code and the national significant
 * number). Accepts spaces, dashes, dots, slashes and parentheses (so "+49 (0)30 …"), a leading "+"
 * or "00", and, with `defaultCountryCode`, national numbers with the country's trunk prefix. The
 * number must be valid for its country (libphonenumber-js "max" metadata).
 */
export function normalizePhone(input: string, defaultCountryCode?: string): string {
  const s = compatible(input);
  if (s === "") throw new InputError("phone", "is empty");
  if (!/^\+?[\d\s\-.()/]+$/.test(s)) {
    throw new InputError(
      "phone",
      `${quote(input)} has characters other than digits, spaces, - . / ( ) and a leading +`,
    );
  }
  let compact = s.replace(/[\s\-.()/]/g, "");
  if (compact.startsWith("00")) compact = `+${compact.slice(2)}`;
  const international = compact.startsWith("+");
  const options = {
    extract: false,
    ...(defaultCountryCode === undefined ? {} : defaultCountryOption(defaultCountryCode)),
  };
  let phone: PhoneNumber;
  try {
    phone = parsePhoneNumberWithError(compact, options);
  } catch (error) {
    if (error instanceof ParseError)
      throw new InputError(
        "phone",
        `${quote(input)} ${parseProblem(error.message, international)}`,
      );
    throw error;
  }
  if (!phone.isValid()) {
    const where = phone.country ?? `+${phone.countryCallingCode}`;
    throw new InputError(
      "phone",
      phone.isPossible()
        ? `${quote(input)} is not a number of ${where} (in none of its number ranges)`
        : `${quote(input)} has the wrong number of digits for ${where}`,
    );
  }
  return phone.number;
}

/**
 * Normalizes a bank account number: upper case, without spaces, dashes or dots. An IBAN (two
 * letters and two digits first, or the word "IBAN" before it) must have its country's length and
 * pass its mod-97 check; any other account number must be 4 to 34 letters or digits.
 */
export function normalizeBankAccount(input: string): string {
  let s = compatible(input)
    .toUpperCase()
    .replace(/[\s\-.]/g, "");
  const prefixed = /^IBAN:?/.exec(s);
  if (prefixed) s = s.slice(prefixed[0].length);
  if (prefixed || /^[A-Z]{2}\d{2}/.test(s)) {
    const problem = ibanProblem(s);
    if (problem !== undefined)
      throw new InputError("bankAccount", `${quote(input)} is not an IBAN: ${problem}`);
    return s;
  }
  if (!/^[A-Z0-9]{4,34}$/.test(s)) {
    throw new InputError(
      "bankAccount",
      `${quote(input)} is not an account number (4 to 34 letters or digits)`,
    );
  }
  return s;
}

/**
 * Normalizes a national ID number: upper case, without spaces, dashes, dots or slashes; 4 to 32
 * letters or digits. One of the form of a Chinese resident ID number (17 digits and a digit or X,
 * or 15 digits) is read as one: its GB 11643 check digit and birth date must hold, and a 15-digit
 * number becomes its 18-character form.
 */
export function normalizeNationalId(input: string): string {
  const s = compatible(input)
    .toUpperCase()
    .replace(/[\s\-./]/g, "");
  if (looksLikeCnResidentId(s)) {
    const result = cnResidentId18(s);
    if ("problem" in result) {
      throw new InputError(
        "nationalId",
        `${quote(input)} is not a Chinese resident ID number (GB 11643): ${result.problem}`,
      );
    }
    return result.id;
  }
  if (!/^[A-Z0-9]{4,32}$/.test(s)) {
    throw new InputError(
      "nationalId",
      `${quote(input)} is not an ID number (4 to 32 letters or digits)`,
    );
  }
  return s;
}

/** Normalizes an identifier of the given type. */
export function normalizeIdentifier(
  type: IdentifierType,
  identifier: string,
  options: NormalizeOptions = {},
): string {
  switch (type) {
    case "phone":
      return normalizePhone(identifier, options.defaultCountryCode);
    case "bankAccount":
      return normalizeBankAccount(identifier);
    case "nationalId":
      return normalizeNationalId(identifier);
  }
}
