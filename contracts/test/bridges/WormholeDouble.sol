// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {TestToken} from "../TestToken.sol";

/// @title WormholeCoreDouble
/// @notice Test double of the Wormhole core contract: publishes a message with the event of
/// wormhole-foundation/wormhole (ethereum/contracts/interfaces/IWormhole.sol), numbered per sender.
contract WormholeCoreDouble {
    /// @notice A message published by `sender`, numbered by `sequence`.
    event LogMessagePublished(
        address indexed sender,
        uint64 sequence,
        uint32 nonce,
        bytes payload,
        uint8 consistencyLevel
    );

    /// @notice The next sequence per sender.
    mapping(address sender => uint64) public nextSequence;

    /// @notice Publishes `payload` for the caller; returns its sequence.
    function publishMessage(
        uint32 nonce,
        bytes calldata payload,
        uint8 consistencyLevel
    ) external returns (uint64 sequence) {
        sequence = nextSequence[msg.sender]++;
        emit LogMessagePublished(msg.sender, sequence, nonce, payload, consistencyLevel);
    }
}

/// @title WormholeTokenBridgeDouble
/// @notice Test double of the Wormhole token bridge (ethereum/contracts/bridge/Bridge.sol): a
/// transfer publishes the payload-1 message through the core; a redemption emits TransferRedeemed,
/// then mints the amount to the recipient.
contract WormholeTokenBridgeDouble {
    /// @notice A transfer from `emitterChainId`'s bridge, numbered `sequence`, was redeemed.
    event TransferRedeemed(uint16 indexed emitterChainId, bytes32 indexed emitterAddress, uint64 indexed sequence);

    /// @notice The core contract messages are published through.
    WormholeCoreDouble public immutable core;

    /// @param core_ the core contract
    constructor(WormholeCoreDouble core_) {
        core = core_;
    }

    /// @notice Publishes a payload-1 transfer of `amount` (8 decimals) of `token` from `tokenChain`.
    function transferTokens(
        uint16 tokenChain,
        address token,
        uint256 amount,
        uint16 recipientChain,
        address recipient,
        uint256 fee
    ) external returns (uint64) {
        bytes memory payload = abi.encodePacked(
            uint8(1),
            amount,
            bytes32(uint256(uint160(token))),
            tokenChain,
            bytes32(uint256(uint160(recipient))),
            recipientChain,
            fee
        );
        return core.publishMessage(0, payload, 1);
    }

    /// @notice Redeems a transfer: emits TransferRedeemed, then mints `amount` of `token` to `recipient`.
    function completeTransfer(
        uint16 emitterChainId,
        bytes32 emitterAddress,
        uint64 sequence,
        TestToken token,
        address recipient,
        uint256 amount
    ) external {
        emit TransferRedeemed(emitterChainId, emitterAddress, sequence);
        token.mint(recipient, amount);
    }
}
