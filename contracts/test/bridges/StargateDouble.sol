// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title StargatePoolDouble
/// @notice Test double of a Stargate V2 pool (stargate-protocol/stargate-v2,
/// packages/stg-evm-v2/src/StargateBase.sol): emits LayerZero's OFT events, keyed by the message's guid.
contract StargatePoolDouble {
    /// @notice A send to endpoint `dstEid`, identified by the LayerZero message's `guid`.
    event OFTSent(
        bytes32 indexed guid,
        uint32 dstEid,
        address indexed fromAddress,
        uint256 amountSentLD,
        uint256 amountReceivedLD
    );

    /// @notice The receipt of message `guid` from endpoint `srcEid`.
    event OFTReceived(bytes32 indexed guid, uint32 srcEid, address indexed toAddress, uint256 amountReceivedLD);

    /// @notice The pool's token (zero for the native coin), as StargateBase.token().
    address public immutable token;

    /// @param token_ the pool's token
    constructor(address token_) {
        token = token_;
    }

    /// @notice Emits OFTSent for the caller.
    function send(bytes32 guid, uint32 dstEid, uint256 amountSent, uint256 amountReceived) external {
        emit OFTSent(guid, dstEid, msg.sender, amountSent, amountReceived);
    }

    /// @notice Emits OFTReceived.
    function receive_(bytes32 guid, uint32 srcEid, address to, uint256 amount) external {
        emit OFTReceived(guid, srcEid, to, amount);
    }
}
