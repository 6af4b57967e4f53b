/**
 * Where a deposit's release is, without reading the destination chain whole: the eth_getLogs
 * filters that find it among the release events of the bridge's contracts on that chain, by the
 * contracts' addresses and the events' topic0, and by the indexed topic that names the deposit's
 * pairing id or its recipient where the event has one (docs/scale.md, "Every asset, lazily, across
 * chains"). A filter finds every release the pairing (pairing.ts) could pair the deposit with:
 *
 * - by id: a release with the same id. Where the release's event (or the event its id is read
 *   from, in the same transaction: the OP messenger's RelayedMessage, CCTP's MessageReceived)
 *   indexes the id, the filter names it, and a release of an event that always carries an id needs
 *   no other filter (the fallback pairs a deposit with an id only with a release without one);
 * - by the fallback, or by an id the event does not index (Arbitrum's position in the send tree, read
 *   from the Outbox's event data): a release to the deposit's recipient (the fallback never pairs
 *   across recipients, and a bridge pays the recipient its deposit names). Where the event indexes
 *   the recipient, the filter names it; where it does not, the filter is the contracts and topic0
 *   alone (every such release of the chain's window).
 *
 * The fallback weighs the deposits to the same recipient through the same bridge against each
 * other (the closest in time takes a release): {@link rivalFilters} finds them on the other chains,
 * by the deposit events that index the recipient.
 */
import { ACROSS_TOPICS } from "./across.js";
import { ARBITRUM_TOPICS } from "./arbitrum.js";
import { CCTP_MESSAGE_RECEIVED, CCTP_TOPICS } from "./cctp.js";
import { ERC20_TRANSFER, ZERO_ADDRESS, pad32, type BridgeDeposit } from "./model.js";
import { OP_MESSENGER_TOPICS, OP_TOPICS } from "./optimism.js";
import { FALLBACK_DEFAULTS } from "./pairing.js";
import { POLYGON_POS_TOPICS } from "./polygon.js";
import type { BridgeContract, BridgeName, BridgeRole } from "./registry.js";
import { STARGATE_TOPICS } from "./stargate.js";
import { WORMHOLE_TOPICS } from "./wormhole.js";

/**
 * An eth_getLogs filter (without its blocks): contracts, then topic0 (any of several) and the
 * topics after it.
 */
export interface LogFilter {
  address: string[];
  topics: (string | string[] | null)[];
}

/** A release's event, or the event of the same transaction its pairing id is read from. */
interface ReleaseEvent {
  bridge: BridgeName;
  /** The role of the contracts that emit it. */
  role: BridgeRole;
  topic0: string;
  /** The topics after topic0 that name a deposit's pairing id, or null if the id is not of this form. */
  id?: (pairingId: string) => (string | null)[] | null;
  /** The index of the topic that names the recipient, where the event indexes it. */
  recipient?: number;
  /**
   * Every release read through this event has a pairing id: always (true), or when a contract of
   * this role is known on the chain too (the id is read from its event).
   */
  named?: true | BridgeRole;
}

/** A number as a 32-byte topic. */
const word = (n: string | bigint): string => `0x${BigInt(n).toString(16).padStart(64, "0")}`;

/** The parts of a pairing id after its bridge's prefix (`across:10:7` → `["10", "7"]`), if it has `n`. */
const parts = (pairingId: string, n: number): string[] | null => {
  const all = pairingId.split(":").slice(1);
  return all.length === n ? all : null;
};

const RELEASE_EVENTS: readonly ReleaseEvent[] = [
  // OP Stack: the id is the hash the messenger's RelayedMessage indexes; of the bridge's own
  // events only ETHWithdrawalFinalized indexes its recipient.
  {
    bridge: "op-standard",
    role: "messenger",
    topic0: OP_MESSENGER_TOPICS.relayedMessage,
    id: (p) => parts(p, 1)?.map((h) => h.toLowerCase()) ?? null,
    named: true,
  },
  {
    bridge: "op-standard",
    role: "standard-bridge",
    topic0: OP_TOPICS.depositFinalized,
    named: "messenger",
  },
  {
    bridge: "op-standard",
    role: "standard-bridge",
    topic0: OP_TOPICS.erc20WithdrawalFinalized,
    named: "messenger",
  },
  {
    bridge: "op-standard",
    role: "standard-bridge",
    topic0: OP_TOPICS.ethWithdrawalFinalized,
    recipient: 2,
    named: "messenger",
  },
  // Arbitrum: no release indexes its id (a withdrawal's position is in the Outbox's event data).
  {
    bridge: "arbitrum",
    role: "token-gateway",
    topic0: ARBITRUM_TOPICS.depositFinalized,
    recipient: 3,
  },
  {
    bridge: "arbitrum",
    role: "token-gateway",
    topic0: ARBITRUM_TOPICS.withdrawalFinalized,
    recipient: 2,
  },
  {
    bridge: "arbitrum",
    role: "rollup-bridge",
    topic0: ARBITRUM_TOPICS.bridgeCallTriggered,
    recipient: 2,
  },
  // Polygon PoS: StateCommitted indexes the state id; the exits their exitor.
  {
    bridge: "polygon-pos",
    role: "state-receiver",
    topic0: POLYGON_POS_TOPICS.stateCommitted,
    id: (p) => parts(p, 2)?.slice(1).map(word) ?? null,
    named: true,
  },
  {
    bridge: "polygon-pos",
    role: "predicate",
    topic0: POLYGON_POS_TOPICS.exitedERC20,
    recipient: 1,
  },
  {
    bridge: "polygon-pos",
    role: "predicate",
    topic0: POLYGON_POS_TOPICS.exitedEther,
    recipient: 1,
  },
  // Across: both fills index the origin chain and the deposit id.
  ...[ACROSS_TOPICS.filledRelay, ACROSS_TOPICS.filledV3Relay].map((topic0): ReleaseEvent => ({
    bridge: "across",
    role: "spoke-pool",
    topic0,
    id: (p) => parts(p, 2)?.map(word) ?? null,
    named: true,
  })),
  // CCTP: V1's id is the nonce the transmitter's MessageReceived indexes; the mints index their recipient.
  {
    bridge: "cctp",
    role: "message-transmitter",
    topic0: CCTP_MESSAGE_RECEIVED,
    id: (p) => {
      const [, nonce] = parts(p, 2) ?? [];
      return nonce === undefined ? null : [null, word(nonce)];
    },
    named: true,
  },
  {
    bridge: "cctp",
    role: "token-messenger",
    topic0: CCTP_TOPICS.mintAndWithdraw,
    recipient: 1,
    named: "message-transmitter",
  },
  { bridge: "cctp", role: "token-messenger", topic0: CCTP_TOPICS.mintAndWithdrawV2, recipient: 1 },
  // Stargate V2: the LayerZero guid.
  {
    bridge: "stargate",
    role: "pool",
    topic0: STARGATE_TOPICS.oftReceived,
    id: (p) => parts(p, 1)?.map((g) => g.toLowerCase()) ?? null,
    recipient: 2,
    named: true,
  },
  // Wormhole: the source's chain, its token bridge and the sequence.
  {
    bridge: "wormhole",
    role: "token-bridge",
    topic0: WORMHOLE_TOPICS.transferRedeemed,
    id: (p) => {
      const [chain, emitter, sequence] = parts(p, 3) ?? [];
      return chain === undefined || emitter === undefined || sequence === undefined
        ? null
        : [word(chain), emitter.toLowerCase(), word(sequence)];
    },
    named: true,
  },
];

/** Whether the fallback may pair `d` (its bridge has one, and the deposit names a recipient and a time). */
const fallbackFor = (d: BridgeDeposit): boolean =>
  FALLBACK_DEFAULTS[d.bridge] !== null && d.recipient !== null && d.time !== null;

/** Topic0, then `recipient` (an EVM address) as topic `index`, where given. */
function recipientTopics(topic0: string, index: number | undefined, recipient: string | null) {
  const topics: (string | null)[] = [topic0];
  if (index !== undefined && recipient !== null && /^0x[0-9a-f]{40}$/.test(recipient)) {
    while (topics.length < index) topics.push(null);
    topics.push(pad32(recipient));
  }
  return topics;
}

/** Filters of the same contracts and topics after topic0 as one request, their topic0s as a list. */
function merged(filters: readonly { address: string[]; topics: (string | null)[] }[]): LogFilter[] {
  const byRest = new Map<
    string,
    { address: string[]; topic0s: string[]; rest: (string | null)[] }
  >();
  for (const f of filters) {
    const [topic0, ...rest] = f.topics as [string, ...(string | null)[]];
    const key = JSON.stringify([f.address, rest]);
    const m = byRest.get(key) ?? { address: f.address, topic0s: [], rest };
    if (!m.topic0s.includes(topic0)) m.topic0s.push(topic0);
    byRest.set(key, m);
  }
  return [...byRest.values()].map((m) => ({
    address: m.address,
    topics: [m.topic0s.length === 1 ? (m.topic0s[0] as string) : m.topic0s, ...m.rest],
  }));
}

/** The contracts of `bridge` in `role` among `contracts`, each once. */
const addressesOf = (
  contracts: readonly BridgeContract[],
  bridge: BridgeName,
  role: BridgeRole,
) => [
  ...new Set(contracts.filter((c) => c.bridge === bridge && c.role === role).map((c) => c.address)),
];

/**
 * The filters that find, among the logs of one chain, every release `deposit` could be paired with
 * there (above); `contracts` are the bridge contracts known on that chain. None when the bridge has
 * no contract there that releases.
 */
export function releaseFilters(
  deposit: BridgeDeposit,
  contracts: readonly BridgeContract[],
): LogFilter[] {
  const own = contracts.filter((c) => c.bridge === deposit.bridge);
  const roles = new Set(own.map((c) => c.role));
  const out: { address: string[]; topics: (string | null)[] }[] = [];
  const { pairingId, recipient } = deposit;
  for (const e of RELEASE_EVENTS) {
    if (e.bridge !== deposit.bridge || !roles.has(e.role)) continue;
    const address = addressesOf(own, e.bridge, e.role);
    const named = e.named === true || (e.named !== undefined && roles.has(e.named));
    const byId = pairingId === null || e.id === undefined ? null : e.id(pairingId);
    if (byId !== null) out.push({ address, topics: [e.topic0, ...byId] });
    // A release that always has an id pairs with a deposit with one by that id alone (found by
    // this filter, or by the event its id is read from).
    if (pairingId !== null && named && (e.id === undefined || byId !== null)) continue;
    if (pairingId === null && !fallbackFor(deposit)) continue;
    out.push({ address, topics: recipientTopics(e.topic0, e.recipient, recipient) });
  }
  return merged(out);
}

/** A deposit's event that indexes its recipient: where the fallback's rival deposits are found. */
interface DepositEvent {
  bridge: BridgeName;
  role: BridgeRole;
  topic0: string;
  recipient: number;
  /** Topics after the recipient's (a burn's zero address). */
  after?: string[];
}

/**
 * The deposits' events that index the recipient. Not here, so not looked for as rivals: the OP
 * Stack's ERC-20 deposits and withdrawals and CCTP's burns (their recipient is in the data),
 * Across's, Stargate's and Wormhole's (never paired by the fallback: their releases always have an
 * id, or the deposit names no recipient).
 */
const DEPOSIT_EVENTS: readonly DepositEvent[] = [
  {
    bridge: "op-standard",
    role: "standard-bridge",
    topic0: OP_TOPICS.ethDepositInitiated,
    recipient: 2,
  },
  {
    bridge: "arbitrum",
    role: "token-gateway",
    topic0: ARBITRUM_TOPICS.depositInitiated,
    recipient: 2,
  },
  {
    bridge: "arbitrum",
    role: "token-gateway",
    topic0: ARBITRUM_TOPICS.withdrawalInitiated,
    recipient: 2,
  },
  { bridge: "arbitrum", role: "arbsys", topic0: ARBITRUM_TOPICS.l2ToL1Tx, recipient: 1 },
  {
    bridge: "polygon-pos",
    role: "predicate",
    topic0: POLYGON_POS_TOPICS.lockedERC20,
    recipient: 2,
  },
  {
    bridge: "polygon-pos",
    role: "predicate",
    topic0: POLYGON_POS_TOPICS.lockedEther,
    recipient: 2,
  },
  // A child token's burn: its burner is its recipient on the root chain.
  {
    bridge: "polygon-pos",
    role: "child-token",
    topic0: ERC20_TRANSFER,
    recipient: 1,
    after: [pad32(ZERO_ADDRESS)],
  },
];

/**
 * The filters that find, among the logs of one chain (its bridge contracts `contracts`), the other
 * deposits the fallback weighs against `deposit` for the same release: of the same bridge, to the
 * same recipient (the fallback never pairs across either). None when `deposit` pairs by id alone on
 * its destination chain (whose contracts are `destination`), or not by the fallback.
 */
export function rivalFilters(
  deposit: BridgeDeposit,
  destination: readonly BridgeContract[],
  contracts: readonly BridgeContract[],
): LogFilter[] {
  if (!fallbackFor(deposit) || deposit.recipient === null) return [];
  if (deposit.pairingId !== null) {
    // Paired by id alone if every release event on the destination always has an id.
    const roles = new Set(
      destination.filter((c) => c.bridge === deposit.bridge).map((c) => c.role),
    );
    const unnamed = RELEASE_EVENTS.some(
      (e) =>
        e.bridge === deposit.bridge &&
        roles.has(e.role) &&
        !(e.named === true || (e.named !== undefined && roles.has(e.named))),
    );
    if (!unnamed) return [];
  }
  const out: { address: string[]; topics: (string | null)[] }[] = [];
  for (const e of DEPOSIT_EVENTS) {
    if (e.bridge !== deposit.bridge) continue;
    const address = addressesOf(contracts, e.bridge, e.role);
    const topics = recipientTopics(e.topic0, e.recipient, deposit.recipient);
    if (address.length === 0 || topics.length === 1) continue;
    out.push({ address, topics: [...topics, ...(e.after ?? [])] });
  }
  return merged(out);
}
