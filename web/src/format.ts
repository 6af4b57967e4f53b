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
export const short = (hex: string | null | undefined): string => {
  if (hex === null || hex === undefined) return "—";
  // Across chains, an address of another chain than the seed's is CHAIN:0x….
  const m = /^(\d+:)?(0x[0-9a-fA-F]{12,})$/.exec(hex);
  const bare = m?.[2];
  return bare === undefined ? hex : `${m?.[1] ?? ""}${bare.slice(0, 6)}…${bare.slice(-4)}`;
};
