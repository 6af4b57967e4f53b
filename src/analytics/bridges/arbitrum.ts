/**
 * Arbitrum's canonical bridge (OffchainLabs/token-bridge-contracts, contracts/tokenbridge:
 * ethereum/gateway/L1ArbitrumGateway.sol, arbitrum/gateway/L2ArbitrumGateway.sol; and
 * OffchainLabs/nitro-contracts: src/bridge/IOutbox.sol, IBridge.sol, IDelayedMessageProvider.sol,
 * src/precompiles/ArbSys.sol).
 *
 * Tokens go through the gateways. A deposit (L1 → L2) is DepositInitiated on the L1 gateway, with
 * the retryable ticket's sequence number, released by DepositFinalized on the L2 gateway, which
 * carries no number: deposits pair by the fallback (DepositFinalized names the L1 token; the L2
 * token is the one minted to the recipient just before it). A withdrawal (L2 → L1) is
 * WithdrawalInitiated on the L2 gateway (the L2 token: the one burned from the sender just before),
 * released by WithdrawalFinalized on the L1 gateway. Its pairing id is the message's position in
 * the send tree: ArbSys's L2ToL1Tx (whose hash is the withdrawal's `_l2ToL1Id`) gives it on L2, the
 * Outbox's OutBoxTransactionExecuted (its `transactionIndex`) on L1, both in the same transaction
 * as the gateway's event.
 *
 * ETH: a withdrawal is ArbSys's L2ToL1Tx without data (withdrawEth), released by the Bridge's
 * BridgeCallTriggered without data for the Outbox, paired by the same position. A deposit is the
 * Inbox's InboxMessageDelivered of an ETH-deposit message (kind 12 in the Bridge's MessageDelivered
 * before it); L2 credits it with no log at all, so it is never paired and stays a bridge exit
 * bound for the L2.
 */
import { id as keccakId } from "ethers";
import {
  NATIVE,
  ZERO_ADDRESS,
  adapterOf,
  coder,
  earlierLogs,
  hasLogShape,
  tokenMoveBefore,
  topicAddress,
} from "./model.js";
import type { AdapterContext, AdapterOutcome, BridgeAdapter } from "./model.js";
import type { BridgeRole } from "./registry.js";

export const ARBITRUM_TOPICS = {
  depositInitiated: keccakId("DepositInitiated(address,address,address,uint256,uint256)"),
  depositFinalized: keccakId("DepositFinalized(address,address,address,uint256)"),
  withdrawalInitiated: keccakId(
    "WithdrawalInitiated(address,address,address,uint256,uint256,uint256)",
  ),
  withdrawalFinalized: keccakId("WithdrawalFinalized(address,address,address,uint256,uint256)"),
  /** ArbSys: a message to L1. */
  l2ToL1Tx: keccakId(
    "L2ToL1Tx(address,address,uint256,uint256,uint256,uint256,uint256,uint256,bytes)",
  ),
  /** Outbox: an L2 → L1 message executed. */
  outBoxTransactionExecuted: keccakId("OutBoxTransactionExecuted(address,address,uint256,uint256)"),
  /** Bridge: a call made for the Outbox. */
  bridgeCallTriggered: keccakId("BridgeCallTriggered(address,address,uint256,bytes)"),
  /** Bridge: a delayed message (its kind) from an inbox. */
  messageDelivered: keccakId(
    "MessageDelivered(uint256,bytes32,address,uint8,address,bytes32,uint256,uint64)",
  ),
  /** Inbox: a delayed message's data. */
  inboxMessageDelivered: keccakId("InboxMessageDelivered(uint256,bytes)"),
} as const;

/** Nitro's L1MessageType_ethDeposit (src/libraries/MessageTypes.sol). */
const ETH_DEPOSIT_KIND = 12n;
/** AddressAliasHelper's offset: an L1 sender as the Bridge records it. */
const ALIAS_OFFSET = 0x1111000000000000000000000000000000001111n;
const unalias = (address: string) =>
  `0x${((BigInt(address) - ALIAS_OFFSET + (1n << 160n)) % (1n << 160n)).toString(16).padStart(40, "0")}`;

/** The non-indexed `l1Token` and `_amount` of DepositInitiated and WithdrawalFinalized. */
const tokenAndAmount = (data: string) =>
  coder.decode(["address", "uint256"], data) as unknown as [string, bigint];

/** A message's id: the L2 chain and its position in the send tree (null when it was not read). */
const pairingId = (l2ChainId: number, position: bigint | null) =>
  position === null ? null : `arbitrum:${l2ChainId}:${position}`;

const known = (ctx: AdapterContext, role: BridgeRole) => (address: string) =>
  ctx.registry.find(ctx.chainId, address, "arbitrum", role) !== undefined;

/** On L2: the position of the message of hash `hash` that ArbSys sent before `ctx.log`. */
function sentPosition(ctx: AdapterContext, hash: bigint): bigint | null {
  const sent = earlierLogs(
    ctx.txLogs,
    ctx.log,
    ARBITRUM_TOPICS.l2ToL1Tx,
    known(ctx, "arbsys"),
  ).find((l) => hasLogShape(l, 4, 7, true) && BigInt(l.topics[2] ?? "0x0") === hash);
  return sent === undefined ? null : BigInt(sent.topics[3] ?? "0x0");
}

/** On L1: the position of the message the Outbox executed towards `to` last before `ctx.log`. */
function executedPosition(ctx: AdapterContext, to: string): bigint | null {
  const [executed] = earlierLogs(
    ctx.txLogs,
    ctx.log,
    ARBITRUM_TOPICS.outBoxTransactionExecuted,
    known(ctx, "outbox"),
  ).filter((l) => hasLogShape(l, 4, 1) && topicAddress(l.topics[1]) === to);
  return executed === undefined ? null : BigInt(executed.data);
}

function readGateway(ctx: AdapterContext): AdapterOutcome {
  const { log, place } = ctx;
  const topic0 = (log.topics[0] ?? "").toLowerCase();
  const peer = ctx.contract.peerChainId;
  if (peer === undefined) return "a gateway whose other chain is not known";
  const from = topicAddress(log.topics[1]);
  const to = topicAddress(log.topics[2]);
  switch (topic0) {
    case ARBITRUM_TOPICS.depositInitiated: {
      if (!hasLogShape(log, 4, 2)) return null;
      const [l1Token, amount] = tokenAndAmount(log.data);
      return {
        side: "deposit",
        ...place,
        event: "DepositInitiated",
        pairingId: null,
        sender: from,
        token: l1Token.toLowerCase(),
        amount,
        destinationChainId: peer,
        destinationToken: null,
        recipient: to,
      };
    }
    case ARBITRUM_TOPICS.depositFinalized: {
      // The only one of the four whose l1Token is indexed: l1Token, _from, _to.
      if (!hasLogShape(log, 4, 1)) return null;
      const recipient = topicAddress(log.topics[3]);
      const amount = BigInt(log.data);
      const minted = tokenMoveBefore(ctx.txLogs, log, ZERO_ADDRESS, recipient, amount);
      return {
        side: "release",
        ...place,
        event: "DepositFinalized",
        pairingId: null,
        sourceChainId: peer,
        sourceToken: topicAddress(log.topics[1]),
        recipient,
        token: minted === undefined ? null : minted.address.toLowerCase(),
        amount,
      };
    }
    case ARBITRUM_TOPICS.withdrawalInitiated: {
      if (!hasLogShape(log, 4, 3)) return null;
      const [l1Token, , amount] = coder.decode(
        ["address", "uint256", "uint256"],
        log.data,
      ) as unknown as [string, bigint, bigint];
      const burned = tokenMoveBefore(ctx.txLogs, log, from, ZERO_ADDRESS, amount);
      if (burned === undefined) return "a withdrawal without the burn of its L2 token before it";
      const position = sentPosition(ctx, BigInt(log.topics[3] ?? "0x0"));
      return {
        side: "deposit",
        ...place,
        event: "WithdrawalInitiated",
        pairingId: pairingId(ctx.chainId, position),
        sender: from,
        token: burned.address.toLowerCase(),
        amount,
        destinationChainId: peer,
        destinationToken: l1Token.toLowerCase(),
        recipient: to,
      };
    }
    case ARBITRUM_TOPICS.withdrawalFinalized: {
      if (!hasLogShape(log, 4, 2)) return null;
      const [l1Token, amount] = tokenAndAmount(log.data);
      const position = executedPosition(ctx, place.contract);
      return {
        side: "release",
        ...place,
        event: "WithdrawalFinalized",
        pairingId: pairingId(peer, position),
        sourceChainId: peer,
        sourceToken: null,
        recipient: to,
        token: l1Token.toLowerCase(),
        amount,
      };
    }
    default:
      return null;
  }
}

// The single-event adapters below are called by the reader for their event's topic0 only.

/** ArbSys's L2ToL1Tx: an ETH withdrawal when it carries value and no data (a gateway's message has data). */
function readArbSys(ctx: AdapterContext): AdapterOutcome {
  const { log, place } = ctx;
  const peer = ctx.contract.peerChainId;
  if (peer === undefined || !hasLogShape(log, 4, 7, true)) return null;
  const [caller, , , , callvalue, data] = coder.decode(
    ["address", "uint256", "uint256", "uint256", "uint256", "bytes"],
    log.data,
  ) as unknown as [string, bigint, bigint, bigint, bigint, string];
  if (data !== "0x" || callvalue === 0n) return null;
  return {
    side: "deposit",
    ...place,
    event: "L2ToL1Tx",
    pairingId: pairingId(ctx.chainId, BigInt(log.topics[3] ?? "0x0")),
    sender: caller.toLowerCase(),
    token: NATIVE,
    amount: callvalue,
    destinationChainId: peer,
    destinationToken: NATIVE,
    recipient: topicAddress(log.topics[1]),
  };
}

/** The Bridge's BridgeCallTriggered for a known Outbox, with value and no data: an ETH withdrawal paid. */
function readRollupBridge(ctx: AdapterContext): AdapterOutcome {
  const { log, place } = ctx;
  const peer = ctx.contract.peerChainId;
  const outbox = topicAddress(log.topics[1]);
  if (peer === undefined || !hasLogShape(log, 3, 3, true) || !known(ctx, "outbox")(outbox))
    return null;
  const [value, data] = coder.decode(["uint256", "bytes"], log.data) as unknown as [bigint, string];
  if (data !== "0x" || value === 0n) return null;
  const to = topicAddress(log.topics[2]);
  const position = executedPosition(ctx, to);
  return {
    side: "release",
    ...place,
    event: "BridgeCallTriggered",
    pairingId: pairingId(peer, position),
    sourceChainId: peer,
    sourceToken: NATIVE,
    recipient: to,
    token: NATIVE,
    amount: value,
  };
}

/** The Inbox's InboxMessageDelivered of an ETH deposit: `dest` (20 bytes) then the value (32). */
function readInbox(ctx: AdapterContext): AdapterOutcome {
  const { log, place } = ctx;
  const peer = ctx.contract.peerChainId;
  if (peer === undefined || !hasLogShape(log, 2, 2, true)) return null;
  const messageNum = BigInt(log.topics[1] ?? "0x0");
  const delivered = earlierLogs(
    ctx.txLogs,
    log,
    ARBITRUM_TOPICS.messageDelivered,
    known(ctx, "rollup-bridge"),
  ).find((l) => hasLogShape(l, 3, 6) && BigInt(l.topics[1] ?? "0x0") === messageNum);
  if (delivered === undefined) return null;
  const [, kind, sender] = coder.decode(
    ["address", "uint8", "address", "bytes32", "uint256", "uint64"],
    delivered.data,
  ) as unknown as [string, bigint, string];
  if (kind !== ETH_DEPOSIT_KIND) return null;
  const [data] = coder.decode(["bytes"], log.data) as unknown as [string];
  if (data.length !== 2 + 2 * 52) return `an ETH deposit message of ${(data.length - 2) / 2} bytes`;
  return {
    side: "deposit",
    ...place,
    event: "InboxMessageDelivered",
    pairingId: null,
    sender: unalias(sender),
    token: NATIVE,
    amount: BigInt(`0x${data.slice(42)}`),
    destinationChainId: peer,
    destinationToken: NATIVE,
    recipient: `0x${data.slice(2, 42)}`.toLowerCase(),
  };
}

/** The adapters of Arbitrum's contracts, one per role. */
export const ARBITRUM_ADAPTERS: readonly BridgeAdapter[] = (
  [
    [
      "token-gateway",
      [
        ARBITRUM_TOPICS.depositInitiated,
        ARBITRUM_TOPICS.depositFinalized,
        ARBITRUM_TOPICS.withdrawalInitiated,
        ARBITRUM_TOPICS.withdrawalFinalized,
      ],
      readGateway,
    ],
    ["arbsys", [ARBITRUM_TOPICS.l2ToL1Tx], readArbSys],
    ["rollup-bridge", [ARBITRUM_TOPICS.bridgeCallTriggered], readRollupBridge],
    ["inbox", [ARBITRUM_TOPICS.inboxMessageDelivered], readInbox],
  ] as const
).map(([role, topics, read]) => adapterOf("arbitrum", role, topics, read));
