// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title CctpTokenMessengerDouble
/// @notice Test double of Circle CCTP's TokenMessenger (V1 and V2): emits the events of
/// circlefin/evm-cctp-contracts (src/TokenMessenger.sol, src/v2/TokenMessengerV2.sol,
/// src/v2/BaseTokenMessenger.sol) with their signatures, burning and minting nothing.
contract CctpTokenMessengerDouble {
    /// @notice V1: a burn on the source domain, numbered by the message's nonce.
    event DepositForBurn(
        uint64 indexed nonce,
        address indexed burnToken,
        uint256 amount,
        address indexed depositor,
        bytes32 mintRecipient,
        uint32 destinationDomain,
        bytes32 destinationTokenMessenger,
        bytes32 destinationCaller
    );

    /// @notice V1: the mint on the destination domain.
    event MintAndWithdraw(address indexed mintRecipient, uint256 amount, address indexed mintToken);

    /// @notice V2: a burn; its nonce is assigned by the attestation service, not in the event.
    event DepositForBurn(
        address indexed burnToken,
        uint256 amount,
        address indexed depositor,
        bytes32 mintRecipient,
        uint32 destinationDomain,
        bytes32 destinationTokenMessenger,
        bytes32 destinationCaller,
        uint256 maxFee,
        uint32 indexed minFinalityThreshold,
        bytes hookData
    );

    /// @notice V2: the mint, net of the fee collected.
    event MintAndWithdraw(
        address indexed mintRecipient,
        uint256 amount,
        address indexed mintToken,
        uint256 feeCollected
    );

    /// @notice Emits the V1 DepositForBurn.
    function depositForBurn(
        uint64 nonce,
        address token,
        uint256 amount,
        address recipient,
        uint32 destinationDomain
    ) external {
        emit DepositForBurn(
            nonce,
            token,
            amount,
            msg.sender,
            bytes32(uint256(uint160(recipient))),
            destinationDomain,
            bytes32(0),
            bytes32(0)
        );
    }

    /// @notice Emits the V2 DepositForBurn.
    function depositForBurnV2(address token, uint256 amount, address recipient, uint32 destinationDomain) external {
        emit DepositForBurn(
            token,
            amount,
            msg.sender,
            bytes32(uint256(uint160(recipient))),
            destinationDomain,
            bytes32(0),
            bytes32(0),
            0,
            2000,
            ""
        );
    }

    /// @notice Emits the V1 MintAndWithdraw (called by the message transmitter).
    function mint(address recipient, uint256 amount, address token) external {
        emit MintAndWithdraw(recipient, amount, token);
    }

    /// @notice Emits the V2 MintAndWithdraw.
    function mintV2(address recipient, uint256 amount, address token, uint256 fee) external {
        emit MintAndWithdraw(recipient, amount, token, fee);
    }
}

/// @title CctpMessageTransmitterDouble
/// @notice Test double of CCTP V1's MessageTransmitter: `receiveMessage` has the token messenger
/// mint, then emits MessageReceived, in that order, as the real one does.
contract CctpMessageTransmitterDouble {
    /// @notice A message received from `sourceDomain` with its `nonce`.
    event MessageReceived(
        address indexed caller,
        uint32 sourceDomain,
        uint64 indexed nonce,
        bytes32 sender,
        bytes messageBody
    );

    /// @notice Delivers a burn message: the messenger mints, then the message is marked received.
    function receiveMessage(
        CctpTokenMessengerDouble messenger,
        uint32 sourceDomain,
        uint64 nonce,
        address recipient,
        uint256 amount,
        address token
    ) external {
        messenger.mint(recipient, amount, token);
        emit MessageReceived(msg.sender, sourceDomain, nonce, bytes32(uint256(uint160(address(messenger)))), "");
    }
}
