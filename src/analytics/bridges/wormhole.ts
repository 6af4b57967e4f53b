/**
 * The Wormhole token bridge (wormhole-foundation/wormhole, ethereum/contracts/bridge/Bridge.sol).
 * A transfer is published by the core contract as LogMessagePublished(sender, sequence, nonce,
 * payload, consistencyLevel), `sender` being the token bridge and `payload` its Transfer (payload
 * 1) or TransferWithPayload (3) struct; the destination's token bridge emits
 * TransferRedeemed(emitterChainId, emitterAddress, sequence), then pays the recipient. The pairing
 * id is (Wormhole chain id of the source, token bridge as 32 bytes, sequence). TransferRedeemed
 * carries no amount: the release's recipient, token and amount are those of the ERC-20 Transfer
 * the bridge makes (or mints) after it in the same transaction, null when there is none (a
 * redemption paid in the native coin).
 */
import { id as keccakId } from "ethers";
import type { RawLog } from "../../chain/rpc.js";
import {
  ERC20_TRANSFER as TRANSFER,
  ZERO_ADDRESS as ZERO,
  account32,
  coder,
  hasLogShape,
  pad32,
  topicAddress,
} from "./model.js";
import type { AdapterContext, AdapterOutcome, BridgeAdapter } from "./model.js";
import { fromChainId, toChainId } from "./tables.js";

export const WORMHOLE_TOPICS = {
  logMessagePublished: keccakId("LogMessagePublished(address,uint64,uint32,bytes,uint8)"),
  transferRedeemed: keccakId("TransferRedeemed(uint16,bytes32,uint64)"),
} as const;

const pairingId = (chain: number | bigint, emitter: string, sequence: bigint) =>
  `wormhole:${chain}:${emitter.toLowerCase()}:${sequence}`;

/** The fields of a payload-1 or payload-3 transfer, or why it is not one. */
function parseTransfer(payload: string):
  | {
      amount: bigint;
      tokenAddress: string;
      tokenChain: number;
      to: string;
      toChain: number;
      from: string | null;
    }
  | string
  | null {
  const hex = payload.replace(/^0x/, "");
  const id = parseInt(hex.slice(0, 2), 16);
  if (id !== 1 && id !== 3) return null; // an attestation or another message of the bridge
  if (hex.length < 2 * 133) return `a transfer payload of ${hex.length / 2} bytes`;
  const at = (start: number, bytes: number) => hex.slice(2 * start, 2 * (start + bytes));
  return {
    amount: BigInt(`0x${at(1, 32)}`),
    tokenAddress: account32(at(33, 32)),
    tokenChain: parseInt(at(65, 2), 16),
    to: account32(at(67, 32)),
    toChain: parseInt(at(99, 2), 16),
    from: id === 3 ? account32(at(101, 32)) : null,
  };
}

function readCore(ctx: AdapterContext): AdapterOutcome {
  const { log, place } = ctx;
  if ((log.topics[0] ?? "").toLowerCase() !== WORMHOLE_TOPICS.logMessagePublished) return null;
  if (!hasLogShape(log, 2, 6, true)) return null;
  const bridge = topicAddress(log.topics[1]);
  // The core publishes every application's messages: only the token bridge's are transfers.
  if (ctx.registry.find(ctx.chainId, bridge, "wormhole", "token-bridge") === undefined) return null;
  const [sequence, , payload] = coder.decode(
    ["uint64", "uint32", "bytes", "uint8"],
    log.data,
  ) as unknown as [bigint, bigint, string];
  const transfer = parseTransfer(payload);
  if (transfer === null || typeof transfer === "string") return transfer;
  const own = fromChainId(ctx.tables.wormhole, ctx.chainId);
  const token =
    own !== null && transfer.tokenChain === own
      ? transfer.tokenAddress
      : `wormhole:${transfer.tokenChain}:${transfer.tokenAddress}`;
  return {
    side: "deposit",
    ...place,
    event: "LogMessagePublished",
    pairingId: own === null ? null : pairingId(own, pad32(bridge), sequence),
    sender: transfer.from,
    token,
    amount: transfer.amount,
    destinationChainId: toChainId(ctx.tables.wormhole, transfer.toChain),
    destinationToken: transfer.tokenChain === transfer.toChain ? transfer.tokenAddress : null,
    recipient: transfer.to,
  };
}

/** The last ERC-20 Transfer out of `bridge` (or minted) after `log`, before its next redemption. */
function payout(txLogs: readonly RawLog[], log: RawLog, bridge: string): RawLog | undefined {
  let found: RawLog | undefined;
  for (const l of txLogs) {
    if (Number(l.logIndex) <= Number(log.logIndex)) continue;
    const topic0 = (l.topics[0] ?? "").toLowerCase();
    if (topic0 === WORMHOLE_TOPICS.transferRedeemed && l.address.toLowerCase() === bridge) break;
    if (topic0 !== TRANSFER || !hasLogShape(l, 3, 1)) continue;
    const from = topicAddress(l.topics[1]);
    if (from === bridge || from === ZERO) found = l;
  }
  return found;
}

function readTokenBridge(ctx: AdapterContext): AdapterOutcome {
  const { log, place } = ctx;
  if ((log.topics[0] ?? "").toLowerCase() !== WORMHOLE_TOPICS.transferRedeemed) return null;
  if (!hasLogShape(log, 4, 0)) return null;
  const emitterChain = BigInt(log.topics[1] ?? "0x0");
  const paid = payout(ctx.txLogs, log, place.contract);
  return {
    side: "release",
    ...place,
    event: "TransferRedeemed",
    pairingId: pairingId(emitterChain, log.topics[2] ?? "", BigInt(log.topics[3] ?? "0x0")),
    sourceChainId: toChainId(ctx.tables.wormhole, Number(emitterChain)),
    sourceToken: null,
    recipient: paid === undefined ? null : topicAddress(paid.topics[2]),
    token: paid === undefined ? null : paid.address.toLowerCase(),
    amount: paid === undefined ? null : BigInt(paid.data),
  };
}

export const wormholeCore: BridgeAdapter = {
  bridge: "wormhole",
  roles: ["core"],
  topics: [WORMHOLE_TOPICS.logMessagePublished],
  read: readCore,
};

export const wormholeTokenBridge: BridgeAdapter = {
  bridge: "wormhole",
  roles: ["token-bridge"],
  topics: [WORMHOLE_TOPICS.transferRedeemed],
  read: readTokenBridge,
};
