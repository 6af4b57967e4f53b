import { InvalidInputError } from "../../shared/errors.js";
import type { Seed } from "./types.js";

const TX_HASH = /^0x[0-9a-f]{64}$/;
const ADDRESS_AT_BLOCK = /^(0x[0-9a-f]{40})@(\d+)$/;

/**
 * Reads a seed as a user writes it: a transaction hash (`0x` and 64 hex digits) or
 * ADDRESS@BLOCK (`0x` and 40 hex digits, `@`, a decimal block number). Case-insensitive.
 */
export function parseSeed(text: string): Seed {
  const s = text.trim().toLowerCase();
  if (TX_HASH.test(s)) return { kind: "tx", txHash: s };
  const m = ADDRESS_AT_BLOCK.exec(s);
  if (m !== null) {
    const block = Number(m[2]);
    if (Number.isSafeInteger(block)) return { kind: "balance", address: m[1] ?? "", block };
  }
  throw new InvalidInputError(
    `invalid seed "${text}": expected a transaction hash (0x + 64 hex digits) or ADDRESS@BLOCK`,
  );
}

/** The seed as `parseSeed` reads it. */
export function formatSeed(seed: Seed): string {
  return seed.kind === "tx" ? seed.txHash : `${seed.address}@${seed.block}`;
}
