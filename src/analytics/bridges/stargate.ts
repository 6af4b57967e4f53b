/**
 * Stargate V2 (stargate-protocol/stargate-v2, packages/stg-evm-v2/src/StargateBase.sol): a pool
 * or OFT emits LayerZero's OFTSent(guid, dstEid, fromAddress, amountSentLD, amountReceivedLD) on
 * the source chain and OFTReceived(guid, srcEid, toAddress, amountReceivedLD) on the destination;
 * the LayerZero message's guid pairs them. OFTSent does not name the recipient (it is in the
 * LayerZero packet). The token is the pool's `token()` (zero: the native coin).
 */
import { id as keccakId } from "ethers";
import { NATIVE, coder, hasLogShape, topicAddress } from "./model.js";
import type { AdapterContext, AdapterOutcome, BridgeAdapter } from "./model.js";
import { toChainId } from "./tables.js";

export const STARGATE_TOPICS = {
  oftSent: keccakId("OFTSent(bytes32,uint32,address,uint256,uint256)"),
  oftReceived: keccakId("OFTReceived(bytes32,uint32,address,uint256)"),
} as const;

const ZERO = `0x${"0".repeat(40)}`;

async function readPool(ctx: AdapterContext): Promise<AdapterOutcome> {
  const { log, place } = ctx;
  const topic0 = (log.topics[0] ?? "").toLowerCase();
  const sent = topic0 === STARGATE_TOPICS.oftSent;
  if (!(sent || topic0 === STARGATE_TOPICS.oftReceived) || !hasLogShape(log, 3, sent ? 3 : 2))
    return null;
  const poolToken = await ctx.tokenOf(place.contract, place.blockNumber);
  if (poolToken === null) return "an OFT event from a contract that answers no token()";
  const token = poolToken === ZERO ? NATIVE : poolToken;
  const guid = (log.topics[1] ?? "").toLowerCase();
  if (sent) {
    const [dstEid, amountSent] = coder.decode(
      ["uint32", "uint256", "uint256"],
      log.data,
    ) as unknown as [bigint, bigint];
    return {
      side: "deposit",
      ...place,
      event: "OFTSent",
      pairingId: `stargate:${guid}`,
      sender: topicAddress(log.topics[2]),
      token,
      amount: amountSent,
      destinationChainId: toChainId(ctx.tables.layerZero, Number(dstEid)),
      destinationToken: null,
      recipient: null,
    };
  }
  const [srcEid, amount] = coder.decode(["uint32", "uint256"], log.data) as unknown as [
    bigint,
    bigint,
  ];
  return {
    side: "release",
    ...place,
    event: "OFTReceived",
    pairingId: `stargate:${guid}`,
    sourceChainId: toChainId(ctx.tables.layerZero, Number(srcEid)),
    sourceToken: null,
    recipient: topicAddress(log.topics[2]),
    token,
    amount,
  };
}

export const stargate: BridgeAdapter = {
  bridge: "stargate",
  roles: ["pool"],
  topics: Object.values(STARGATE_TOPICS),
  read: readPool,
};
