/**
 * Besu permissioning at genesis: the ingress contracts sit at fixed addresses in the genesis
 * alloc, where no constructor runs, so their state is given as initial storage.
 *
 * Storage layout of AccountIngress and NodeIngress (see contracts/permissioning/RulesIngress.sol):
 *   slot 0: the participant registry, the only account that may change the rules
 *   slot 1: the rules contract (zero: permissioning off, every call allowed)
 */
import { getAddress, toBeHex, zeroPadValue } from "ethers";

/** Besu's conventional genesis addresses of the permissioning ingress contracts. */
export const INGRESS_ADDRESS = {
  accounts: "0x0000000000000000000000000000000000008888",
  nodes: "0x0000000000000000000000000000000000009999",
} as const;

/** The storage slots of an ingress contract's state. */
export const INGRESS_SLOT = { registry: 0n, rules: 1n } as const;

/** A storage slot or value as a genesis file writes it: 32 bytes, 0x-prefixed hex. */
const word = (value: bigint | string): string =>
  typeof value === "bigint" ? toBeHex(value, 32) : zeroPadValue(getAddress(value), 32);

/**
 * The initial storage of an ingress contract that lets `registry` change the rules and
 * forwards to `rules` (the zero address: permissioning off until the council's `SetRules`).
 * Returns slot → value, both as 32-byte hex, ready for a genesis alloc's `storage`.
 */
export function ingressStorage(registry: string, rules: string): Record<string, string> {
  return {
    [word(INGRESS_SLOT.registry)]: word(registry),
    [word(INGRESS_SLOT.rules)]: word(rules),
  };
}
