/**
 * Across (across-protocol/contracts, contracts/interfaces/V3SpokePoolInterface.sol): a deposit is
 * FundsDeposited on the origin chain's SpokePool, its fill FilledRelay on the destination's, both
 * naming the deposit by (origin chain id, depositId). The earlier V3 forms, V3FundsDeposited and
 * FilledV3Relay (addresses instead of bytes32, a uint32 depositId), are read the same way. The
 * relayer pays the recipient `updatedOutputAmount` of `outputToken` from its own funds.
 */
import { id as keccakId } from "ethers";
import { account32, coder, hasLogShape } from "./model.js";
import type { AdapterContext, AdapterOutcome, BridgeAdapter } from "./model.js";

export const ACROSS_TOPICS = {
  fundsDeposited: keccakId(
    "FundsDeposited(bytes32,bytes32,uint256,uint256,uint256,uint256,uint32,uint32,uint32,bytes32,bytes32,bytes32,bytes)",
  ),
  filledRelay: keccakId(
    "FilledRelay(bytes32,bytes32,uint256,uint256,uint256,uint256,uint256,uint32,uint32,bytes32,bytes32,bytes32,bytes32,bytes32,(bytes32,bytes32,uint256,uint8))",
  ),
  v3FundsDeposited: keccakId(
    "V3FundsDeposited(address,address,uint256,uint256,uint256,uint32,uint32,uint32,uint32,address,address,address,bytes)",
  ),
  filledV3Relay: keccakId(
    "FilledV3Relay(address,address,uint256,uint256,uint256,uint256,uint32,uint32,uint32,address,address,address,address,bytes,(address,bytes,uint256,uint8))",
  ),
} as const;

const pairingId = (origin: bigint | number, depositId: bigint) => `across:${origin}:${depositId}`;

function readSpokePool(ctx: AdapterContext): AdapterOutcome {
  const { log, place } = ctx;
  const topic0 = (log.topics[0] ?? "").toLowerCase();
  const indexed = (i: number) => BigInt(log.topics[i] ?? "0x0");
  switch (topic0) {
    case ACROSS_TOPICS.fundsDeposited:
    case ACROSS_TOPICS.v3FundsDeposited: {
      if (!hasLogShape(log, 4, 10, true)) return null;
      const bytes32 = topic0 === ACROSS_TOPICS.fundsDeposited;
      const a = bytes32 ? "bytes32" : "address";
      const [inputToken, outputToken, inputAmount, , , , , recipient] = coder.decode(
        [a, a, "uint256", "uint256", "uint32", "uint32", "uint32", a, a, "bytes"],
        log.data,
      ) as unknown as [string, string, bigint, bigint, bigint, bigint, bigint, string];
      const depositor = account32(log.topics[3] ?? "0x0");
      return {
        side: "deposit",
        ...place,
        event: bytes32 ? "FundsDeposited" : "V3FundsDeposited",
        pairingId: pairingId(ctx.chainId, indexed(2)),
        sender: depositor,
        token: account32(inputToken),
        amount: inputAmount,
        destinationChainId: Number(indexed(1)),
        destinationToken: account32(outputToken),
        recipient: account32(recipient),
      };
    }
    case ACROSS_TOPICS.filledRelay:
    case ACROSS_TOPICS.filledV3Relay: {
      // The same fields, as bytes32 (FilledRelay: the message's hash) or as addresses (FilledV3Relay: the message).
      const bytes32 = topic0 === ACROSS_TOPICS.filledRelay;
      if (!(bytes32 ? hasLogShape(log, 4, 15) : hasLogShape(log, 4, 12, true))) return null;
      const a = bytes32 ? "bytes32" : "address";
      const message = bytes32 ? "bytes32" : "bytes";
      const decoded = coder.decode(
        [
          a,
          a,
          "uint256",
          "uint256",
          "uint256",
          "uint32",
          "uint32",
          a,
          a,
          a,
          message,
          `tuple(${a},${message},uint256,uint8)`,
        ],
        log.data,
      );
      // V3RelayExecutionEventInfo: what the relayer actually paid, and to whom.
      const info = decoded[11] as unknown as [string, string, bigint, bigint];
      return {
        side: "release",
        ...place,
        event: bytes32 ? "FilledRelay" : "FilledV3Relay",
        pairingId: pairingId(indexed(1), indexed(2)),
        sourceChainId: Number(indexed(1)),
        sourceToken: account32(decoded[0] as string),
        recipient: account32(info[0]),
        token: account32(decoded[1] as string),
        amount: info[2],
      };
    }
    default:
      return null;
  }
}

export const across: BridgeAdapter = {
  bridge: "across",
  roles: ["spoke-pool"],
  topics: Object.values(ACROSS_TOPICS),
  read: readSpokePool,
};
