import { decodeBytes32String, encodeBytes32String } from "ethers";
import { InputError } from "./errors.js";

/** Participant kinds known to the client; the registry accepts any short ASCII name. */
export const ParticipantKind = {
  Police: "POLICE",
  Prosecutor: "PROSECUTOR",
  Bank: "BANK",
  Telecom: "TELECOM",
  Utility: "UTILITY",
  Exchange: "EXCHANGE",
  Auditor: "AUDITOR",
} as const;

/** The bytes32 form of a participant kind. */
export function encodeKind(name: string): string {
  if (!/^[A-Z][A-Z0-9_]{0,30}$/.test(name)) {
    throw new InputError(
      "kind",
      `${JSON.stringify(name)} is not an upper-case name of at most 31 characters`,
    );
  }
  return encodeBytes32String(name);
}

/** The name of a bytes32 participant kind. */
export function decodeKind(kind: string): string {
  try {
    return decodeBytes32String(kind);
  } catch {
    return kind;
  }
}

/** Data kinds of the consortium's code list: the bit index in a case's scope. */
export const DataKind = {
  BankAccountHolders: 0,
  BankTransactions: 1,
  TelecomSubscribers: 2,
  TelecomCallRecords: 3,
  WaterMetering: 4,
  ElectricityMetering: 5,
  ExchangeAccounts: 6,
} as const;

/** The names of the data kinds, by index. */
export const DATA_KIND_NAMES: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(DataKind).map(([name, index]) => [index, name]),
);

/** The scope bit set of a list of data kinds (0 to 255). */
export function scopeOf(kinds: readonly number[]): bigint {
  if (kinds.length === 0) throw new InputError("scope", "a case needs at least one data kind");
  let scope = 0n;
  for (const k of kinds) {
    if (!Number.isInteger(k) || k < 0 || k > 255)
      throw new InputError("scope", `data kind ${k} is not in 0..255`);
    scope |= 1n << BigInt(k);
  }
  return scope;
}

/** The data kinds in a scope bit set. */
export function kindsOf(scope: bigint): number[] {
  const out: number[] = [];
  for (let k = 0; k < 256; k++) if ((scope >> BigInt(k)) & 1n) out.push(k);
  return out;
}
