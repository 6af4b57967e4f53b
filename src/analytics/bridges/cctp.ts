/**
 * Circle CCTP (circlefin/evm-cctp-contracts). V1: DepositForBurn on the source domain's
 * TokenMessenger carries the message's nonce; on the destination, the MessageTransmitter's
 * receiveMessage has the TokenMessenger mint (MintAndWithdraw), then emits MessageReceived with the
 * source domain and the nonce, in the same transaction: the pairing id is (source domain, nonce).
 * V2 (src/v2): DepositForBurn and MintAndWithdraw have other signatures and the nonce is assigned
 * by Circle's attestation service, in no event of the source chain: V2 transfers have no pairing id.
 */
import { id as keccakId } from "ethers";
import { account32, coder, hasLogShape, laterLogs, topicAddress } from "./model.js";
import type { AdapterContext, AdapterOutcome, BridgeAdapter } from "./model.js";
import { fromChainId, toChainId } from "./tables.js";

export const CCTP_TOPICS = {
  depositForBurn: keccakId(
    "DepositForBurn(uint64,address,uint256,address,bytes32,uint32,bytes32,bytes32)",
  ),
  mintAndWithdraw: keccakId("MintAndWithdraw(address,uint256,address)"),
  depositForBurnV2: keccakId(
    "DepositForBurn(address,uint256,address,bytes32,uint32,bytes32,bytes32,uint256,uint32,bytes)",
  ),
  mintAndWithdrawV2: keccakId("MintAndWithdraw(address,uint256,address,uint256)"),
} as const;

/** The V1 MessageTransmitter's event for a message received. */
export const CCTP_MESSAGE_RECEIVED = keccakId(
  "MessageReceived(address,uint32,uint64,bytes32,bytes)",
);

export const cctp: BridgeAdapter = {
  bridge: "cctp",
  roles: ["token-messenger"],
  topics: Object.values(CCTP_TOPICS),
  read: readTokenMessenger,
};

const pairingId = (domain: number | bigint, nonce: bigint) => `cctp:${domain}:${nonce}`;

function readTokenMessenger(ctx: AdapterContext): AdapterOutcome {
  const { log, place } = ctx;
  const topic0 = (log.topics[0] ?? "").toLowerCase();
  switch (topic0) {
    case CCTP_TOPICS.depositForBurn:
    case CCTP_TOPICS.depositForBurnV2: {
      const v1 = topic0 === CCTP_TOPICS.depositForBurn;
      if (!(v1 ? hasLogShape(log, 4, 5) : hasLogShape(log, 4, 8, true))) return null;
      const [amount, mintRecipient, destinationDomain] = coder.decode(
        ["uint256", "bytes32", "uint32"],
        log.data.slice(0, 2 + 64 * 3),
      ) as unknown as [bigint, string, bigint];
      const ownDomain = fromChainId(ctx.tables.cctp, ctx.chainId);
      // Indexed: V1 (nonce, burnToken, depositor), V2 (burnToken, depositor, minFinalityThreshold).
      const topic = (v1Index: number) => log.topics[v1 ? v1Index : v1Index - 1];
      return {
        side: "deposit",
        ...place,
        event: v1 ? "DepositForBurn" : "DepositForBurn (V2)",
        pairingId:
          v1 && ownDomain !== null ? pairingId(ownDomain, BigInt(log.topics[1] ?? "0x0")) : null,
        sender: topicAddress(topic(3)),
        token: topicAddress(topic(2)),
        amount,
        destinationChainId: toChainId(ctx.tables.cctp, Number(destinationDomain)),
        destinationToken: null,
        recipient: account32(mintRecipient),
      };
    }
    case CCTP_TOPICS.mintAndWithdraw:
    case CCTP_TOPICS.mintAndWithdrawV2: {
      const v1 = topic0 === CCTP_TOPICS.mintAndWithdraw;
      if (!hasLogShape(log, 3, v1 ? 1 : 2)) return null;
      // V1: the transmitter's MessageReceived that follows the mint names the source and the nonce.
      const [received] = v1
        ? laterLogs(
            ctx.txLogs,
            log,
            CCTP_MESSAGE_RECEIVED,
            (a) => ctx.registry.find(ctx.chainId, a, "cctp", "message-transmitter") !== undefined,
          )
        : [];
      let id: string | null = null;
      let sourceChainId: number | null = null;
      if (received !== undefined && hasLogShape(received, 3, 4, true)) {
        const [sourceDomain] = coder.decode(["uint32"], received.data.slice(0, 66)) as unknown as [
          bigint,
        ];
        id = pairingId(sourceDomain, BigInt(received.topics[2] ?? "0x0"));
        sourceChainId = toChainId(ctx.tables.cctp, Number(sourceDomain));
      }
      return {
        side: "release",
        ...place,
        event: v1 ? "MintAndWithdraw" : "MintAndWithdraw (V2)",
        pairingId: id,
        sourceChainId,
        sourceToken: null,
        recipient: topicAddress(log.topics[1]),
        token: topicAddress(log.topics[2]),
        amount: BigInt(log.data.slice(0, 66)),
      };
    }
    default:
      return null;
  }
}
