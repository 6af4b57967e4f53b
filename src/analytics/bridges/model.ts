/**
 * What a bridge adapter reads from a log: a deposit on the source chain or a release on the
 * destination chain, with the pairing id the bridge's events share when they share one.
 */
import { AbiCoder, id as keccakId } from "ethers";
import { hasLogShape, topicAddress, type RawLog } from "../../chain/rpc.js";
import type { BridgeContract, BridgeName, BridgeRegistry, BridgeRole } from "./registry.js";
import type { ChainTables } from "./tables.js";

/** The native coin, as a token of a bridge transfer. */
export const NATIVE = "native";

/** Where a bridge event was read. */
export interface BridgeEventPlace {
  bridge: BridgeName;
  /** The event's name, as the bridge's source declares it. */
  event: string;
  chainId: number;
  /** The contract that emitted it (lower case). */
  contract: string;
  txHash: string;
  blockNumber: number;
  logIndex: number;
  /** Block time, unix seconds; null when the reader had no node to ask. */
  time: number | null;
  /**
   * The id the deposit and its release share (`across:<origin>:<depositId>`,
   * `cctp:<domain>:<nonce>`, `wormhole:<chain>:<emitter>:<sequence>`, `stargate:<guid>`,
   * `op:<message hash>`), or null when the events read carry none.
   */
  pairingId: string | null;
}

/** Value that left `chainId` through a bridge. */
export interface BridgeDeposit extends BridgeEventPlace {
  side: "deposit";
  /** Who paid it in, when the event says. */
  sender: string | null;
  /** A token address (lower case), {@link NATIVE}, or `<bridge>:<chain>:<address>` for a token named by its origin. */
  token: string;
  /** In the token's base units, as the event says (Wormhole: its 8-decimal normalized amount). */
  amount: bigint;
  destinationChainId: number | null;
  /** The token expected on the destination chain, when the event says. */
  destinationToken: string | null;
  /** An address, or a 32-byte account of a non-EVM chain; null when the event does not say. */
  recipient: string | null;
}

/** Value that arrived on `chainId` through a bridge. */
export interface BridgeRelease extends BridgeEventPlace {
  side: "release";
  sourceChainId: number | null;
  /** The token on the source chain, when the event says. */
  sourceToken: string | null;
  recipient: string | null;
  token: string | null;
  amount: bigint | null;
}

/** A log from a bridge's contract that carries one of its topics but could not be read, and why. */
export interface SkippedBridgeLog {
  chainId: number;
  txHash: string;
  logIndex: number;
  contract: string;
  reason: string;
}

/** What an adapter is given for one log. */
export interface AdapterContext {
  chainId: number;
  log: RawLog;
  place: Omit<BridgeEventPlace, "event" | "pairingId">;
  /** The registry entry of the log's contract, in one of the adapter's roles. */
  contract: BridgeContract;
  /** All the given logs of the same transaction, in log order. */
  txLogs: readonly RawLog[];
  registry: BridgeRegistry;
  tables: ChainTables;
  /** A pool's token (`token()`, zero for the native coin), or null when it answers none. */
  tokenOf(contract: string, block: number): Promise<string | null>;
}

/** A deposit, a release, null for a log that is not one, or why it could not be read. */
export type AdapterOutcome = BridgeDeposit | BridgeRelease | string | null;

/** One bridge's reading of its events. */
export interface BridgeAdapter {
  bridge: BridgeName;
  roles: readonly BridgeRole[];
  /** topic0 of the events it reads. */
  topics: readonly string[];
  read(ctx: AdapterContext): Promise<AdapterOutcome> | AdapterOutcome;
}

export const coder = AbiCoder.defaultAbiCoder();

export { hasLogShape, topicAddress };

/**
 * An account given as 32 bytes: an EVM address when its first 12 bytes are zero, else the 32
 * bytes themselves (an account of a non-EVM chain).
 */
export function account32(word: string): string {
  const hex = word.toLowerCase().replace(/^0x/, "").padStart(64, "0");
  return hex.startsWith("0".repeat(24)) ? `0x${hex.slice(24)}` : `0x${hex}`;
}

/** An address as 32 bytes, lower case. */
export const pad32 = (address: string): string =>
  `0x${address.toLowerCase().replace(/^0x/, "").padStart(64, "0")}`;

/** topic0 of the ERC-20 `Transfer(address,address,uint256)`. */
export const ERC20_TRANSFER = keccakId("Transfer(address,address,uint256)");

export const ZERO_ADDRESS = `0x${"0".repeat(40)}`;

/**
 * The ERC-20 transfer nearest before `log` in its transaction that moved `amount` from `from` to
 * `to` (the zero address: a mint or a burn), of any token: what a gateway or a child token did
 * just before its bridge's event.
 */
export function tokenMoveBefore(
  txLogs: readonly RawLog[],
  log: RawLog,
  from: string,
  to: string,
  amount: bigint,
): RawLog | undefined {
  return earlierLogs(txLogs, log, ERC20_TRANSFER, () => true).find(
    (l) =>
      hasLogShape(l, 3, 1) &&
      topicAddress(l.topics[1]) === from &&
      topicAddress(l.topics[2]) === to &&
      BigInt(l.data) === amount,
  );
}

/** The logs of `txLogs` whose index passes `at`, of topic0 `topic`, from a contract that passes `from`. */
function logsOfTx(
  txLogs: readonly RawLog[],
  at: (logIndex: number) => boolean,
  topic: string,
  from: (address: string) => boolean,
): RawLog[] {
  return txLogs.filter(
    (l) =>
      at(Number(l.logIndex)) &&
      (l.topics[0] ?? "").toLowerCase() === topic &&
      from(l.address.toLowerCase()),
  );
}

/** The logs of `txLogs` after `log`, of topic0 `topic`, from a contract that passes `from`. */
export const laterLogs = (
  txLogs: readonly RawLog[],
  log: RawLog,
  topic: string,
  from: (address: string) => boolean,
): RawLog[] => logsOfTx(txLogs, (i) => i > Number(log.logIndex), topic, from);

/** The logs of `txLogs` before `log`, of topic0 `topic`, from a contract that passes `from`, nearest first. */
export const earlierLogs = (
  txLogs: readonly RawLog[],
  log: RawLog,
  topic: string,
  from: (address: string) => boolean,
): RawLog[] => logsOfTx(txLogs, (i) => i < Number(log.logIndex), topic, from).reverse();

/** An adapter of one role. */
export const adapterOf = (
  bridge: BridgeName,
  role: BridgeRole,
  topics: readonly string[],
  read: BridgeAdapter["read"],
): BridgeAdapter => ({ bridge, roles: [role], topics, read });
