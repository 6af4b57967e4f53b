/**
 * The Polygon PoS bridge (maticnetwork/pos-portal: contracts/root/TokenPredicates/ERC20Predicate.sol,
 * EtherPredicate.sol, contracts/root/RootChainManager/RootChainManager.sol,
 * contracts/child/ChildToken/ChildERC20.sol; Bor's StateReceiver, maticnetwork/genesis-contracts
 * contracts/StateReceiver.sol).
 *
 * A deposit (root chain → Polygon) is LockedERC20 or LockedEther on a predicate, followed in the
 * same transaction by the StateSender's StateSynced, whose id numbers the state sync. On Polygon,
 * Bor's StateReceiver delivers the sync to the ChildChainManager, which mints the child token to the
 * recipient, then emits StateCommitted(stateId): the release is that StateCommitted, paid by the
 * mint just before it, and the pairing id is the state id on both sides.
 *
 * A withdrawal (Polygon → root chain) is the child token's burn (`withdraw`: a Transfer to the zero
 * address), paid out on the root chain by ExitedERC20 or ExitedEther to the burner once a checkpoint
 * covers the burn. Neither carries an id (the exit is numbered by a hash of the proof, in storage
 * only), so withdrawals pair by the fallback. Child tokens are many and not listed centrally: the
 * caller names those it follows (role `child-token`), and the same token on both chains (`tokens`).
 */
import { id as keccakId } from "ethers";
import {
  ERC20_TRANSFER,
  NATIVE,
  ZERO_ADDRESS,
  adapterOf,
  earlierLogs,
  hasLogShape,
  laterLogs,
  topicAddress,
} from "./model.js";
import type { AdapterContext, AdapterOutcome, BridgeAdapter } from "./model.js";

export const POLYGON_POS_TOPICS = {
  lockedERC20: keccakId("LockedERC20(address,address,address,uint256)"),
  lockedEther: keccakId("LockedEther(address,address,uint256)"),
  exitedERC20: keccakId("ExitedERC20(address,address,uint256)"),
  exitedEther: keccakId("ExitedEther(address,uint256)"),
  /** StateSender (root chain): a state sync numbered `id`. */
  stateSynced: keccakId("StateSynced(uint256,address,bytes)"),
  /** StateReceiver (Polygon): state sync `stateId` delivered. */
  stateCommitted: keccakId("StateCommitted(uint256,bool)"),
} as const;

/** The child chain the state ids number: the root chain's peer, or Polygon itself. */
const pairingId = (childChainId: number, stateId: bigint) =>
  `polygon-pos:${childChainId}:${stateId}`;

function readPredicate(ctx: AdapterContext): AdapterOutcome {
  const { log, place } = ctx;
  const topic0 = (log.topics[0] ?? "").toLowerCase();
  const peer = ctx.contract.peerChainId;
  if (peer === undefined) return "a predicate whose child chain is not known";
  switch (topic0) {
    case POLYGON_POS_TOPICS.lockedERC20:
    case POLYGON_POS_TOPICS.lockedEther: {
      const erc20 = topic0 === POLYGON_POS_TOPICS.lockedERC20;
      if (!hasLogShape(log, erc20 ? 4 : 3, 1)) return null;
      // The sync the root chain manager sent right after the lock names the deposit.
      const [synced] = laterLogs(
        ctx.txLogs,
        log,
        POLYGON_POS_TOPICS.stateSynced,
        (a) => ctx.registry.find(ctx.chainId, a, "polygon-pos", "state-sender") !== undefined,
      );
      return {
        side: "deposit",
        ...place,
        event: erc20 ? "LockedERC20" : "LockedEther",
        pairingId:
          synced === undefined || !hasLogShape(synced, 3, 2, true)
            ? null
            : pairingId(peer, BigInt(synced.topics[1] ?? "0x0")),
        sender: topicAddress(log.topics[1]),
        token: erc20 ? topicAddress(log.topics[3]) : NATIVE,
        amount: BigInt(log.data),
        destinationChainId: peer,
        destinationToken: null,
        recipient: topicAddress(log.topics[2]),
      };
    }
    case POLYGON_POS_TOPICS.exitedERC20:
    case POLYGON_POS_TOPICS.exitedEther: {
      const erc20 = topic0 === POLYGON_POS_TOPICS.exitedERC20;
      if (!hasLogShape(log, erc20 ? 3 : 2, 1)) return null;
      return {
        side: "release",
        ...place,
        event: erc20 ? "ExitedERC20" : "ExitedEther",
        pairingId: null,
        sourceChainId: peer,
        sourceToken: null,
        recipient: topicAddress(log.topics[1]),
        token: erc20 ? topicAddress(log.topics[2]) : NATIVE,
        amount: BigInt(log.data),
      };
    }
    default:
      return null;
  }
}

/**
 * StateCommitted: the release of a deposit, paid by the last mint after the previous commit of
 * this receiver (Bor delivers a sprint's syncs in one system transaction). A sync that minted
 * nothing (a token mapping, another application's message) or that failed is no release.
 */
function readStateReceiver(ctx: AdapterContext): AdapterOutcome {
  const { log, place } = ctx; // the reader calls it for StateCommitted only
  const peer = ctx.contract.peerChainId;
  if (peer === undefined || !hasLogShape(log, 2, 1) || BigInt(log.data) !== 1n) return null;
  const previous = earlierLogs(
    ctx.txLogs,
    log,
    POLYGON_POS_TOPICS.stateCommitted,
    (a) => a === place.contract,
  )[0];
  const after = previous === undefined ? -1 : Number(previous.logIndex);
  const mint = earlierLogs(ctx.txLogs, log, ERC20_TRANSFER, () => true).find(
    (l) =>
      Number(l.logIndex) > after &&
      hasLogShape(l, 3, 1) &&
      topicAddress(l.topics[1]) === ZERO_ADDRESS,
  );
  if (mint === undefined) return null;
  return {
    side: "release",
    ...place,
    event: "StateCommitted",
    pairingId: pairingId(ctx.chainId, BigInt(log.topics[1] ?? "0x0")),
    sourceChainId: peer,
    sourceToken: null,
    recipient: topicAddress(mint.topics[2]),
    token: mint.address.toLowerCase(),
    amount: BigInt(mint.data),
  };
}

/** A child token's burn: a withdrawal to the root chain, paid there to the burner. */
function readChildToken(ctx: AdapterContext): AdapterOutcome {
  const { log, place } = ctx; // the reader calls it for Transfer only
  if (!hasLogShape(log, 3, 1) || topicAddress(log.topics[2]) !== ZERO_ADDRESS) return null;
  const peer = ctx.contract.peerChainId;
  if (peer === undefined) return "a child token whose root chain is not known";
  const burner = topicAddress(log.topics[1]);
  return {
    side: "deposit",
    ...place,
    event: "Transfer (burn)",
    pairingId: null,
    sender: burner,
    token: place.contract,
    amount: BigInt(log.data),
    destinationChainId: peer,
    destinationToken: null,
    recipient: burner,
  };
}

/** The adapters of Polygon PoS's contracts, one per role. */
export const POLYGON_POS_ADAPTERS: readonly BridgeAdapter[] = (
  [
    [
      "predicate",
      [
        POLYGON_POS_TOPICS.lockedERC20,
        POLYGON_POS_TOPICS.lockedEther,
        POLYGON_POS_TOPICS.exitedERC20,
        POLYGON_POS_TOPICS.exitedEther,
      ],
      readPredicate,
    ],
    ["state-receiver", [POLYGON_POS_TOPICS.stateCommitted], readStateReceiver],
    ["child-token", [ERC20_TRANSFER], readChildToken],
  ] as const
).map(([role, topics, read]) => adapterOf("polygon-pos", role, topics, read));
