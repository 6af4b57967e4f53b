/**
 * Chinese resident identity card numbers (公民身份号码, GB 11643-1999): 6 digits of region code, 8
 * of birth date (YYYYMMDD), 3 of sequence, and a check digit (0–9 or X) computed over the first 17
 * under ISO 7064 MOD 11-2. The first-generation cards (before 1999) carry 15 digits: the birth
 * year in two digits (19YY) and no check digit; GB 11643 converts them by inserting "19" after the
 * region code and appending the check digit.
 */

/** Weights of the 17 digits: 2^(17 − i) mod 11 for position i = 0 … 16. */
const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2] as const;
/** The check character by (Σ digit × weight) mod 11. */
const CHECK = "10X98765432";

/** The GB 11643 check character (0–9 or X) of the first 17 digits. */
export function cnResidentIdCheckDigit(first17: string): string {
  if (!/^\d{17}$/.test(first17)) throw new RangeError("a check digit needs exactly 17 digits");
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(first17[i]) * (WEIGHTS[i] ?? 0);
  return CHECK[sum % 11] ?? "";
}

/** Whether YYYYMMDD is a date of the Gregorian calendar. */
function isDate(yyyymmdd: string): boolean {
  const y = Number(yyyymmdd.slice(0, 4));
  const m = Number(yyyymmdd.slice(4, 6));
  const d = Number(yyyymmdd.slice(6, 8));
  const date = new Date(Date.UTC(y, m - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
}

/** Whether a compacted, upper-cased value has the form of a resident ID number (18 or 15 digits). */
export function looksLikeCnResidentId(s: string): boolean {
  return /^\d{17}[\dX]$/.test(s) || /^\d{15}$/.test(s);
}

/**
 * The 18-character form of a resident ID number (see {@link looksLikeCnResidentId}), or why it is
 * not one: a wrong check digit or a birth date that is no date. A 15-digit number is converted.
 */
export function cnResidentId18(s: string): { id: string } | { problem: string } {
  let id = s;
  if (/^\d{15}$/.test(s)) {
    const first17 = `${s.slice(0, 6)}19${s.slice(6)}`;
    id = first17 + cnResidentIdCheckDigit(first17);
  }
  const birth = id.slice(6, 14);
  if (!isDate(birth)) return { problem: `its birth date ${birth} is not a date` };
  const expected = cnResidentIdCheckDigit(id.slice(0, 17));
  if (id[17] !== expected)
    return { problem: `its check digit is ${id[17]}, the first 17 digits give ${expected}` };
  return { id };
}
