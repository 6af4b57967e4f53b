// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title OptimismMessengerDouble
/// @notice Test double of the OP Stack's CrossDomainMessenger (ethereum-optimism/optimism,
/// packages/contracts-bedrock/src/universal/CrossDomainMessenger.sol): sends with SentMessage and
/// SentMessageExtension1, relays with RelayedMessage carrying Hashing.hashCrossDomainMessageV1.
contract OptimismMessengerDouble {
    /// @notice A message sent to `target` on the other chain.
    event SentMessage(address indexed target, address sender, bytes message, uint256 messageNonce, uint256 gasLimit);

    /// @notice The sender and value of the message just sent.
    event SentMessageExtension1(address indexed sender, uint256 value);

    /// @notice A message relayed on this chain, by its hash.
    event RelayedMessage(bytes32 indexed msgHash);

    /// @notice The next message nonce, version 1 in its top two bytes as the real messenger's.
    uint240 public messageNonce;

    /// @notice Sends `message` to `target` for the caller.
    function sendMessage(address target, bytes calldata message, uint32 minGasLimit) external payable {
        uint256 nonce = (uint256(1) << 240) | messageNonce++;
        emit SentMessage(target, msg.sender, message, nonce, minGasLimit);
        emit SentMessageExtension1(msg.sender, msg.value);
    }

    /// @notice Relays a message: calls `target` with `message`, then emits RelayedMessage with its hash.
    function relayMessage(
        uint256 nonce,
        address sender,
        address target,
        uint256 value,
        uint256 minGasLimit,
        bytes calldata message
    ) external {
        bytes32 msgHash = keccak256(
            abi.encodeWithSignature(
                "relayMessage(uint256,address,address,uint256,uint256,bytes)",
                nonce,
                sender,
                target,
                value,
                minGasLimit,
                message
            )
        );
        (bool ok, ) = target.call(message);
        if (!ok) revert RelayFailed(msgHash);
        emit RelayedMessage(msgHash);
    }

    /// @notice The relayed call reverted.
    error RelayFailed(bytes32 msgHash);
}

/// @title OptimismStandardBridgeDouble
/// @notice Test double of the OP Stack's L1StandardBridge and L2StandardBridge (the events of
/// src/L1/L1StandardBridge.sol and src/L2/L2StandardBridge.sol): a deposit on L1 emits
/// ERC20DepositInitiated and sends finalizeBridgeERC20 through the messenger; on L2 the
/// messenger's call emits DepositFinalized.
contract OptimismStandardBridgeDouble {
    /// @notice L1: an ERC-20 deposit initiated.
    event ERC20DepositInitiated(
        address indexed l1Token,
        address indexed l2Token,
        address indexed from,
        address to,
        uint256 amount,
        bytes extraData
    );

    /// @notice L1: an ETH deposit initiated.
    event ETHDepositInitiated(address indexed from, address indexed to, uint256 amount, bytes extraData);

    /// @notice L2: a deposit finalized.
    event DepositFinalized(
        address indexed l1Token,
        address indexed l2Token,
        address indexed from,
        address to,
        uint256 amount,
        bytes extraData
    );

    /// @notice The messenger of this chain.
    OptimismMessengerDouble public immutable messenger;
    /// @notice The standard bridge of the other chain.
    address public immutable otherBridge;

    /// @param messenger_ this chain's messenger
    /// @param otherBridge_ the other chain's bridge
    constructor(OptimismMessengerDouble messenger_, address otherBridge_) {
        messenger = messenger_;
        otherBridge = otherBridge_;
    }

    /// @notice L1: deposits `amount` of `l1Token` for `to` on L2.
    function depositERC20To(address l1Token, address l2Token, address to, uint256 amount) external {
        emit ERC20DepositInitiated(l1Token, l2Token, msg.sender, to, amount, "");
        messenger.sendMessage(
            otherBridge,
            abi.encodeCall(this.finalizeBridgeERC20, (l2Token, l1Token, msg.sender, to, amount, "")),
            200_000
        );
    }

    /// @notice L2: finalizes a deposit (called by the messenger).
    function finalizeBridgeERC20(
        address localToken,
        address remoteToken,
        address from,
        address to,
        uint256 amount,
        bytes calldata extraData
    ) external {
        emit DepositFinalized(remoteToken, localToken, from, to, amount, extraData);
    }
}
