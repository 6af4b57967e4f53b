// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title IFreezeRegistry
/// @notice Freeze requests from the police to exchanges for the exit addresses of a trace, and
/// what the exchanges froze. Case-bound; amounts in the token's base units.
interface IFreezeRegistry {
    /// @notice Lifecycle of a freeze request.
    enum FreezeStatus {
        None,
        Requested,
        Executed,
        Rejected
    }

    /// @notice One account to freeze and the amount asked.
    struct FreezeItem {
        address account;
        uint256 amount;
    }

    /// @notice A freeze request.
    struct FreezeRequest {
        uint64 caseId;
        uint32 requester;
        uint32 exchange;
        FreezeStatus status;
        uint16 itemCount;
        uint40 requestedAt;
        uint64 chainId;
        address token;
    }

    /// @notice The police asked an exchange to freeze accounts.
    /// @param freezeId the request
    /// @param caseId its case
    /// @param exchange the exchange participant asked
    /// @param requester the police participant
    /// @param chainId the chain of the accounts
    /// @param token the token (address(0) for the chain's native coin)
    /// @param items the accounts and amounts
    /// @param traceCommitment hash of the trace report that found them
    /// @param signer the key that sent the transaction
    event FreezeRequested(
        uint256 indexed freezeId,
        uint256 indexed caseId,
        uint32 indexed exchange,
        uint32 requester,
        uint64 chainId,
        address token,
        FreezeItem[] items,
        bytes32 traceCommitment,
        address signer
    );

    /// @notice The exchange reported what it froze, per item of the request.
    /// @param freezeId the request
    /// @param caseId its case
    /// @param exchange the exchange
    /// @param frozen the amounts frozen, in the order of the request's items
    /// @param evidenceCommitment hash of the exchange's freeze record
    /// @param signer the key that sent the transaction
    event FreezeExecuted(
        uint256 indexed freezeId,
        uint256 indexed caseId,
        uint32 indexed exchange,
        uint256[] frozen,
        bytes32 evidenceCommitment,
        address signer
    );

    /// @notice The exchange rejected the request.
    /// @param freezeId the request
    /// @param caseId its case
    /// @param exchange the exchange
    /// @param reasonCode why (consortium code list)
    /// @param signer the key that sent the transaction
    event FreezeRejected(
        uint256 indexed freezeId,
        uint256 indexed caseId,
        uint32 indexed exchange,
        uint16 reasonCode,
        address signer
    );

    /// @notice The consortium is paused.
    error ConsortiumPaused();
    /// @notice `participantId` is of kind `kind`; the action needs `required`.
    error WrongParticipantKind(uint32 participantId, bytes32 kind, bytes32 required);
    /// @notice `participantId` is neither the opener nor the approver of `caseId`.
    error NotCaseParty(uint256 caseId, uint32 participantId);
    /// @notice `exchange` is not an active EXCHANGE participant.
    error NotAnActiveExchange(uint32 exchange);
    /// @notice A request needs 1 to `max` items; `count` were given.
    error InvalidItemCount(uint256 count, uint256 max);
    /// @notice Item `index` has a zero account or amount.
    error InvalidItem(uint256 index);
    /// @notice The chain id is zero.
    error ZeroChainId();
    /// @notice `freezeId` does not exist.
    error UnknownFreeze(uint256 freezeId);
    /// @notice `participantId` is not the exchange asked in `freezeId`.
    error NotFreezeExchange(uint256 freezeId, uint32 participantId);
    /// @notice `freezeId` is `status`, not requested.
    error FreezeNotPending(uint256 freezeId, FreezeStatus status);
    /// @notice `frozen` has `given` amounts; the request has `expected` items.
    error FrozenCountMismatch(uint256 freezeId, uint256 expected, uint256 given);

    /// @notice Ask an exchange to freeze accounts found by a trace.
    /// @dev Caller: an active key of the POLICE participant that opened or approved the case (an
    /// approved, open, unexpired case). Emits {FreezeRequested}.
    /// @return freezeId the new request's id
    function requestFreeze(
        uint256 caseId,
        uint32 exchange,
        uint64 chainId,
        address token,
        FreezeItem[] calldata items,
        bytes32 traceCommitment
    ) external returns (uint256 freezeId);

    /// @notice Report what was frozen, per item (0 where nothing could be frozen).
    /// @dev Caller: an active key of the exchange asked. Emits {FreezeExecuted}.
    function recordFrozen(uint256 freezeId, uint256[] calldata frozen, bytes32 evidenceCommitment) external;

    /// @notice Reject a freeze request.
    /// @dev Caller: an active key of the exchange asked. Emits {FreezeRejected}.
    function rejectFreeze(uint256 freezeId, uint16 reasonCode) external;

    /// @notice A freeze request.
    function getFreeze(uint256 freezeId) external view returns (FreezeRequest memory);

    /// @notice The number of freeze requests ever made.
    function freezeCount() external view returns (uint256);
}
