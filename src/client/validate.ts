import { getAddress, isHexString, ZeroHash } from "ethers";
import { InputError } from "./errors.js";

/** A 0x-prefixed, 32-byte hex string. */
export type Bytes32 = `0x${string}`;

/** Returns the checksummed address, or throws an {@link InputError} naming `field`. */
export function requireAddress(field: string, value: string): string {
  try {
    return getAddress(value);
  } catch {
    throw new InputError(field, `not an address: ${JSON.stringify(value)}`);
  }
}

/** Returns a non-zero 32-byte commitment, or throws an {@link InputError} naming `field`. */
export function requireCommitment(field: string, value: string): Bytes32 {
  if (!isHexString(value, 32)) {
    throw new InputError(field, `not a 32-byte hex commitment: ${JSON.stringify(value)}`);
  }
  if (value.toLowerCase() === ZeroHash)
    throw new InputError(field, "the zero commitment commits to nothing");
  return value.toLowerCase() as Bytes32;
}

/** Returns `value` if it is an integer in [min, max], or throws an {@link InputError}. */
export function requireInteger(
  field: string,
  value: bigint | number,
  min: bigint,
  max: bigint,
): bigint {
  if (typeof value === "number" && !Number.isSafeInteger(value)) {
    throw new InputError(field, `not an integer: ${value}`);
  }
  const v = BigInt(value);
  if (v < min || v > max) throw new InputError(field, `${v} is outside [${min}, ${max}]`);
  return v;
}

/** Returns `timestamp` if it lies in the future of `now` (seconds), or throws an {@link InputError}. */
export function requireFuture(
  field: string,
  timestamp: bigint | number,
  now: bigint | number,
): bigint {
  const t = requireInteger(field, timestamp, 0n, 2n ** 40n - 1n);
  if (t <= BigInt(now)) throw new InputError(field, `${t} is not in the future (now ${now})`);
  return t;
}

export const UINT16_MAX = 2n ** 16n - 1n;
export const UINT32_MAX = 2n ** 32n - 1n;
export const UINT64_MAX = 2n ** 64n - 1n;
