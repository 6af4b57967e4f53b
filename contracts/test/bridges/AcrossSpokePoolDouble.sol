// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @notice The one ERC-20 call the double makes.
interface IERC20Pull {
    function transferFrom(address from, address to, uint256 amount) external returns (bool);
}

/// @title AcrossSpokePoolDouble
/// @notice Test double of Across's SpokePool: emits its deposit and fill events with the signatures
/// of across-protocol/contracts (contracts/interfaces/V3SpokePoolInterface.sol); `deposit` and
/// `fill` move no funds, `depositFunds` and `fillFunds` move them as the SpokePool does.
contract AcrossSpokePoolDouble {
    /// @notice An ERC-20 transfer the double asked for failed.
    error PullFailed();
    /// @notice Across's fill types (V3SpokePoolInterface.FillType).
    enum FillType {
        FastFill,
        ReplacedSlowFill,
        SlowFill
    }

    /// @notice The execution details of a fill (bytes32 form).
    struct V3RelayExecutionEventInfo {
        bytes32 updatedRecipient;
        bytes32 updatedMessageHash;
        uint256 updatedOutputAmount;
        FillType fillType;
    }

    /// @notice The execution details of a fill (the legacy address form).
    struct LegacyV3RelayExecutionEventInfo {
        address updatedRecipient;
        bytes updatedMessage;
        uint256 updatedOutputAmount;
        FillType fillType;
    }

    /// @notice What a deposit or a fill says, in one place (the events' non-indexed fields).
    struct Relay {
        bytes32 inputToken;
        bytes32 outputToken;
        uint256 inputAmount;
        uint256 outputAmount;
        uint256 otherChainId;
        uint256 depositId;
        bytes32 depositor;
        bytes32 recipient;
    }

    /// @notice A deposit on the origin chain (bytes32 addresses).
    event FundsDeposited(
        bytes32 inputToken,
        bytes32 outputToken,
        uint256 inputAmount,
        uint256 outputAmount,
        uint256 indexed destinationChainId,
        uint256 indexed depositId,
        uint32 quoteTimestamp,
        uint32 fillDeadline,
        uint32 exclusivityDeadline,
        bytes32 indexed depositor,
        bytes32 recipient,
        bytes32 exclusiveRelayer,
        bytes message
    );

    /// @notice A fill on the destination chain (bytes32 addresses).
    event FilledRelay(
        bytes32 inputToken,
        bytes32 outputToken,
        uint256 inputAmount,
        uint256 outputAmount,
        uint256 repaymentChainId,
        uint256 indexed originChainId,
        uint256 indexed depositId,
        uint32 fillDeadline,
        uint32 exclusivityDeadline,
        bytes32 exclusiveRelayer,
        bytes32 indexed relayer,
        bytes32 depositor,
        bytes32 recipient,
        bytes32 messageHash,
        V3RelayExecutionEventInfo relayExecutionInfo
    );

    /// @notice The earlier V3 deposit (address fields, uint32 deposit id).
    event V3FundsDeposited(
        address inputToken,
        address outputToken,
        uint256 inputAmount,
        uint256 outputAmount,
        uint256 indexed destinationChainId,
        uint32 indexed depositId,
        uint32 quoteTimestamp,
        uint32 fillDeadline,
        uint32 exclusivityDeadline,
        address indexed depositor,
        address recipient,
        address exclusiveRelayer,
        bytes message
    );

    /// @notice The earlier V3 fill (address fields, uint32 deposit id).
    event FilledV3Relay(
        address inputToken,
        address outputToken,
        uint256 inputAmount,
        uint256 outputAmount,
        uint256 repaymentChainId,
        uint256 indexed originChainId,
        uint32 indexed depositId,
        uint32 fillDeadline,
        uint32 exclusivityDeadline,
        address exclusiveRelayer,
        address indexed relayer,
        address depositor,
        address recipient,
        bytes message,
        LegacyV3RelayExecutionEventInfo relayExecutionInfo
    );

    /// @notice As the SpokePool's deposit: takes the input from the caller, then emits FundsDeposited.
    function depositFunds(Relay calldata r) external {
        pull(r.inputToken, msg.sender, address(this), r.inputAmount);
        _deposit(r);
    }

    /// @notice As a relayer's fill: pays the recipient from the caller, then emits FilledRelay.
    function fillFunds(Relay calldata r) external {
        pull(r.outputToken, msg.sender, address(uint160(uint256(r.recipient))), r.outputAmount);
        _fill(r);
    }

    /// @notice Emits FundsDeposited for `r` (otherChainId: the destination).
    function deposit(Relay calldata r) external {
        _deposit(r);
    }

    /// @notice Emits FilledRelay for `r` (otherChainId: the origin), filled by the caller.
    function fill(Relay calldata r) external {
        _fill(r);
    }

    function pull(bytes32 token, address from, address to, uint256 amount) private {
        if (!IERC20Pull(address(uint160(uint256(token)))).transferFrom(from, to, amount)) revert PullFailed();
    }

    function _deposit(Relay calldata r) private {
        emit FundsDeposited(
            r.inputToken,
            r.outputToken,
            r.inputAmount,
            r.outputAmount,
            r.otherChainId,
            r.depositId,
            uint32(block.timestamp),
            uint32(block.timestamp + 3600),
            0,
            r.depositor,
            r.recipient,
            bytes32(0),
            ""
        );
    }

    function _fill(Relay calldata r) private {
        V3RelayExecutionEventInfo memory info = V3RelayExecutionEventInfo({
            updatedRecipient: r.recipient,
            updatedMessageHash: bytes32(0),
            updatedOutputAmount: r.outputAmount,
            fillType: FillType.FastFill
        });
        emit FilledRelay(
            r.inputToken,
            r.outputToken,
            r.inputAmount,
            r.outputAmount,
            block.chainid,
            r.otherChainId,
            r.depositId,
            uint32(block.timestamp + 3600),
            0,
            bytes32(0),
            bytes32(uint256(uint160(msg.sender))),
            r.depositor,
            r.recipient,
            bytes32(0),
            info
        );
    }

    /// @notice Emits V3FundsDeposited for `r` (addresses in the low 20 bytes).
    function depositV3(Relay calldata r) external {
        emit V3FundsDeposited(
            address(uint160(uint256(r.inputToken))),
            address(uint160(uint256(r.outputToken))),
            r.inputAmount,
            r.outputAmount,
            r.otherChainId,
            uint32(r.depositId),
            uint32(block.timestamp),
            uint32(block.timestamp + 3600),
            0,
            address(uint160(uint256(r.depositor))),
            address(uint160(uint256(r.recipient))),
            address(0),
            ""
        );
    }

    /// @notice Emits FilledV3Relay for `r`.
    function fillV3(Relay calldata r) external {
        LegacyV3RelayExecutionEventInfo memory info = LegacyV3RelayExecutionEventInfo({
            updatedRecipient: address(uint160(uint256(r.recipient))),
            updatedMessage: "",
            updatedOutputAmount: r.outputAmount,
            fillType: FillType.FastFill
        });
        emit FilledV3Relay(
            address(uint160(uint256(r.inputToken))),
            address(uint160(uint256(r.outputToken))),
            r.inputAmount,
            r.outputAmount,
            block.chainid,
            r.otherChainId,
            uint32(r.depositId),
            uint32(block.timestamp + 3600),
            0,
            address(0),
            msg.sender,
            address(uint160(uint256(r.depositor))),
            address(uint160(uint256(r.recipient))),
            "",
            info
        );
    }
}
