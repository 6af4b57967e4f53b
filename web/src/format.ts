/** Display helpers: exact amounts (no floating point), times in UTC, short hashes. */

/** Base units as an exact decimal with `decimals` digits, trailing zeros dropped, grouped. */
export function formatAmount(amount: string | bigint, decimals = 0): string {
  const v = BigInt(amount);
  const negative = v < 0n;
  const digits = (negative ? -v : v).toString().padStart(decimals + 1, "0");
  const whole = digits.slice(0, digits.length - decimals);
  const fraction = digits.slice(digits.length - decimals).replace(/0+$/, "");
  const grouped = whole.replace(/\B(?=(\d{3})+$)/g, ",");
  return `${negative ? "-" : ""}${grouped}${fraction === "" ? "" : `.${fraction}`}`;
}

/** Unix seconds as YYYY-MM-DD HH:MM:SSZ. */
export const formatTime = (seconds: number): string =>
  new Date(seconds * 1000).toISOString().replace("T", " ").replace(".000Z", "Z");

export const formatDay = (seconds: number): string =>
  new Date(seconds * 1000).toISOString().slice(0, 10);

/** 0x1234…abcd for long hex strings. */
export const short = (hex: string | null | undefined): string =>
  hex === null || hex === undefined
    ? "—"
    : /^0x[0-9a-fA-F]{12,}$/.test(hex)
      ? `${hex.slice(0, 6)}…${hex.slice(-4)}`
      : hex;
