/**
 * The OP Stack's standard bridge (ethereum-optimism/optimism, packages/contracts-bedrock:
 * src/L1/L1StandardBridge.sol, src/L2/L2StandardBridge.sol, src/universal/CrossDomainMessenger.sol).
 * A deposit (L1 → L2) is ERC20DepositInitiated or ETHDepositInitiated on L1, released by
 * DepositFinalized on L2; a withdrawal (L2 → L1) is WithdrawalInitiated on L2, released by
 * ERC20WithdrawalFinalized or ETHWithdrawalFinalized on L1. The bridge's events carry no id: the
 * pairing id is the hash of the messenger's message (Hashing.hashCrossDomainMessageV1), computed
 * on the sending side from SentMessage and SentMessageExtension1, read on the receiving side from
 * RelayedMessage, in the same transaction as the bridge's event.
 */
import { Interface, id as keccakId, keccak256 } from "ethers";
import { NATIVE, coder, hasLogShape, laterLogs, topicAddress } from "./model.js";
import type { AdapterContext, AdapterOutcome, BridgeAdapter } from "./model.js";

export const OP_TOPICS = {
  erc20DepositInitiated: keccakId(
    "ERC20DepositInitiated(address,address,address,address,uint256,bytes)",
  ),
  ethDepositInitiated: keccakId("ETHDepositInitiated(address,address,uint256,bytes)"),
  depositFinalized: keccakId("DepositFinalized(address,address,address,address,uint256,bytes)"),
  withdrawalInitiated: keccakId(
    "WithdrawalInitiated(address,address,address,address,uint256,bytes)",
  ),
  erc20WithdrawalFinalized: keccakId(
    "ERC20WithdrawalFinalized(address,address,address,address,uint256,bytes)",
  ),
  ethWithdrawalFinalized: keccakId("ETHWithdrawalFinalized(address,address,uint256,bytes)"),
} as const;

/** The CrossDomainMessenger's events the pairing id is read from. */
export const OP_MESSENGER_TOPICS = {
  sentMessage: keccakId("SentMessage(address,address,bytes,uint256,uint256)"),
  sentMessageExtension1: keccakId("SentMessageExtension1(address,uint256)"),
  relayedMessage: keccakId("RelayedMessage(bytes32)"),
} as const;

export const opStandardBridge: BridgeAdapter = {
  bridge: "op-standard",
  roles: ["standard-bridge"],
  topics: Object.values(OP_TOPICS),
  read: readStandardBridge,
};

/** Predeploys.LEGACY_ERC20_ETH: the L2 token that stands for ETH in the L2 bridge's events. */
const LEGACY_ERC20_ETH = "0xdeaddeaddeaddeaddeaddeaddeaddeaddead0000";
const ZERO = `0x${"0".repeat(40)}`;
const token = (address: string) =>
  address === ZERO || address === LEGACY_ERC20_ETH ? NATIVE : address;

const relayMessage = new Interface([
  "function relayMessage(uint256 _nonce, address _sender, address _target, uint256 _value, uint256 _minGasLimit, bytes _message)",
]);

/**
 * Hashing.hashCrossDomainMessageV1: keccak256 of the relayMessage call the other chain's
 * messenger will receive.
 */
export function crossDomainMessageHash(m: {
  nonce: bigint;
  sender: string;
  target: string;
  value: bigint;
  gasLimit: bigint;
  message: string;
}): string {
  return keccak256(
    relayMessage.encodeFunctionData("relayMessage", [
      m.nonce,
      m.sender,
      m.target,
      m.value,
      m.gasLimit,
      m.message,
    ]),
  );
}

const isMessenger = (ctx: AdapterContext) => (address: string) =>
  ctx.registry.find(ctx.chainId, address, "op-standard", "messenger") !== undefined;

/** The hash of the message the bridge sent after `log` (the next SentMessage and its extension). */
function sentMessageHash(ctx: AdapterContext): string | null {
  const [sent] = laterLogs(ctx.txLogs, ctx.log, OP_MESSENGER_TOPICS.sentMessage, isMessenger(ctx));
  if (sent === undefined || !hasLogShape(sent, 2, 4, true)) return null;
  const ext = ctx.txLogs.find(
    (l) =>
      Number(l.logIndex) === Number(sent.logIndex) + 1 &&
      l.address.toLowerCase() === sent.address.toLowerCase() &&
      (l.topics[0] ?? "").toLowerCase() === OP_MESSENGER_TOPICS.sentMessageExtension1,
  );
  if (ext === undefined || !hasLogShape(ext, 2, 1)) return null;
  const [sender, message, nonce, gasLimit] = coder.decode(
    ["address", "bytes", "uint256", "uint256"],
    sent.data,
  ) as unknown as [string, string, bigint, bigint];
  // The message this bridge sent, not another application's.
  if (sender.toLowerCase() !== ctx.place.contract) return null;
  return crossDomainMessageHash({
    nonce,
    sender,
    target: topicAddress(sent.topics[1]),
    value: BigInt(ext.data),
    gasLimit,
    message,
  });
}

/** The hash of the message relayed around `log` (the next RelayedMessage of this chain's messenger). */
function relayedMessageHash(ctx: AdapterContext): string | null {
  const [relayed] = laterLogs(
    ctx.txLogs,
    ctx.log,
    OP_MESSENGER_TOPICS.relayedMessage,
    isMessenger(ctx),
  );
  return relayed === undefined || !hasLogShape(relayed, 2, 0)
    ? null
    : (relayed.topics[1] ?? "").toLowerCase();
}

function readStandardBridge(ctx: AdapterContext): AdapterOutcome {
  const { log, place } = ctx;
  const topic0 = (log.topics[0] ?? "").toLowerCase();
  const peer = ctx.contract.peerChainId;
  if (peer === undefined) return "a standard bridge whose other chain is not known";
  const id = (hash: string | null) => (hash === null ? null : `op:${hash}`);
  // The ERC-20 events' fields: l1Token, l2Token and from indexed; to, amount, extraData.
  const erc20 = () => {
    const [to, amount] = coder.decode(["address", "uint256", "bytes"], log.data) as unknown as [
      string,
      bigint,
    ];
    return {
      to: to.toLowerCase(),
      amount,
      l1: topicAddress(log.topics[1]),
      l2: topicAddress(log.topics[2]),
    };
  };
  // What every deposit and every release of this bridge says alike.
  const deposit = (
    event: string,
    sender: string,
    token: string,
    destinationToken: string,
    recipient: string,
    amount: bigint,
  ) => ({
    side: "deposit" as const,
    ...place,
    event,
    pairingId: id(sentMessageHash(ctx)),
    sender,
    token,
    amount,
    destinationChainId: peer,
    destinationToken,
    recipient,
  });
  const release = (
    event: string,
    sourceToken: string,
    token: string,
    recipient: string,
    amount: bigint,
  ) => ({
    side: "release" as const,
    ...place,
    event,
    pairingId: id(relayedMessageHash(ctx)),
    sourceChainId: peer,
    sourceToken,
    recipient,
    token,
    amount,
  });
  const ethAmount = () =>
    (coder.decode(["uint256"], log.data.slice(0, 66)) as unknown as [bigint])[0];
  const event = STANDARD_BRIDGE_EVENTS.get(topic0);
  if (event === undefined) return null;
  let fields: { sender: string; here: string; there: string; recipient: string; amount: bigint };
  if (event.erc20) {
    // l1Token, l2Token and from indexed; to, amount, extraData: the token of this chain first.
    if (!hasLogShape(log, 4, 3, true)) return null;
    const { to, amount, l1, l2 } = erc20();
    const [here, there] = event.onL1 ? [l1, l2] : [l2, l1];
    fields = {
      sender: topicAddress(log.topics[3]),
      here: token(here),
      there: token(there),
      recipient: to,
      amount,
    };
  } else {
    // from and to indexed; amount, extraData.
    if (!hasLogShape(log, 3, 2, true)) return null;
    fields = {
      sender: topicAddress(log.topics[1]),
      here: NATIVE,
      there: NATIVE,
      recipient: topicAddress(log.topics[2]),
      amount: ethAmount(),
    };
  }
  return event.sends
    ? deposit(event.name, fields.sender, fields.here, fields.there, fields.recipient, fields.amount)
    : release(event.name, fields.there, fields.here, fields.recipient, fields.amount);
}

/** The standard bridges' events: their name, whether they send, on L1 or L2, of an ERC-20 or ETH. */
const STANDARD_BRIDGE_EVENTS: ReadonlyMap<
  string,
  { name: string; sends: boolean; onL1: boolean; erc20: boolean }
> = new Map(
  (
    [
      [OP_TOPICS.erc20DepositInitiated, "ERC20DepositInitiated", true, true, true],
      [OP_TOPICS.withdrawalInitiated, "WithdrawalInitiated", true, false, true],
      [OP_TOPICS.ethDepositInitiated, "ETHDepositInitiated", true, true, false],
      [OP_TOPICS.depositFinalized, "DepositFinalized", false, false, true],
      [OP_TOPICS.erc20WithdrawalFinalized, "ERC20WithdrawalFinalized", false, true, true],
      [OP_TOPICS.ethWithdrawalFinalized, "ETHWithdrawalFinalized", false, true, false],
    ] as const
  ).map(([topic, name, sends, onL1, erc20]) => [topic, { name, sends, onL1, erc20 }]),
);
