// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IConsortiumGuarded} from "../common/IConsortiumGuarded.sol";

/// @title IFreezeRegistry
/// @notice Freeze requests from the police to exchanges for the exit accounts of a trace, and
/// what the exchanges froze. Case-bound. Only commitments go on chain: the accounts and amounts
/// travel off chain in a list whose Merkle root of keyed commitments the police records here; the
/// exchange names that root when it answers and records the root of its result list; the police
/// acknowledges that result root. Leaf encoding: docs/contracts.md, "Freezes".
interface IFreezeRegistry is IConsortiumGuarded {
    /// @notice Lifecycle of a freeze request.
    enum FreezeStatus {
        None,
        Requested,
        Executed,
        Rejected,
        Acknowledged
    }

    /// @notice A freeze request.
    /// @param caseId its case
    /// @param requester the police participant
    /// @param exchange the exchange participant asked
    /// @param status where it is in its lifecycle
    /// @param itemCount accounts in the request list
    /// @param requestedAt when it was requested
    /// @param answeredAt when the exchange answered (0 while pending)
    /// @param listRoot Merkle root of the request list's keyed item commitments
    /// @param resultRoot Merkle root of the exchange's result list (0 until executed)
    struct FreezeRequest {
        uint64 caseId;
        uint32 requester;
        uint32 exchange;
        FreezeStatus status;
        uint16 itemCount;
        uint40 requestedAt;
        uint40 answeredAt;
        bytes32 listRoot;
        bytes32 resultRoot;
    }

    /// @notice The police asked an exchange to freeze the accounts of a list delivered off chain.
    /// @param freezeId the request
    /// @param caseId its case
    /// @param exchange the exchange participant asked
    /// @param requester the police participant
    /// @param listRoot Merkle root of the list's keyed commitments of (chain, token, account, amount)
    /// @param itemCount accounts in the list
    /// @param traceCommitment hash of the trace report that found them
    /// @param signer the key that sent the transaction
    event FreezeRequested(
        uint256 indexed freezeId,
        uint256 indexed caseId,
        uint32 indexed exchange,
        uint32 requester,
        bytes32 listRoot,
        uint16 itemCount,
        bytes32 traceCommitment,
        address signer
    );

    /// @notice The exchange answered the list it received with what it froze.
    /// @param freezeId the request
    /// @param caseId its case
    /// @param exchange the exchange
    /// @param listRoot the root of the list the exchange received (equal to the request's)
    /// @param resultRoot Merkle root of the keyed commitments of (chain, token, account, requested,
    /// frozen), one per item of the list, in its order
    /// @param evidenceCommitment hash of the exchange's freeze record
    /// @param signer the key that sent the transaction
    event FreezeExecuted(
        uint256 indexed freezeId,
        uint256 indexed caseId,
        uint32 indexed exchange,
        bytes32 listRoot,
        bytes32 resultRoot,
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

    /// @notice The police acknowledged the exchange's result list: both sides have now signed what
    /// changed hands.
    /// @param freezeId the request
    /// @param caseId its case
    /// @param requester the police participant
    /// @param resultRoot the root of the result list the police received (equal to the exchange's)
    /// @param signer the key that sent the transaction
    event FreezeAcknowledged(
        uint256 indexed freezeId,
        uint256 indexed caseId,
        uint32 indexed requester,
        bytes32 resultRoot,
        address signer
    );

    /// @notice `participantId` is neither the opener nor the approver of `caseId`.
    error NotCaseParty(uint256 caseId, uint32 participantId);
    /// @notice `exchange` is not an active EXCHANGE participant.
    error NotAnActiveExchange(uint32 exchange);
    /// @notice A request needs 1 to `max` items; `count` were given.
    error InvalidItemCount(uint256 count, uint256 max);
    /// @notice A zero root or commitment was given for `field`.
    error ZeroCommitment(string field);
    /// @notice `freezeId` does not exist.
    error UnknownFreeze(uint256 freezeId);
    /// @notice `participantId` is not the exchange asked in `freezeId`.
    error NotFreezeExchange(uint256 freezeId, uint32 participantId);
    /// @notice `participantId` is not the police participant that requested `freezeId`.
    error NotFreezeRequester(uint256 freezeId, uint32 participantId);
    /// @notice `freezeId` is `status`, not requested.
    error FreezeNotPending(uint256 freezeId, FreezeStatus status);
    /// @notice `freezeId` is `status`, not executed.
    error FreezeNotExecuted(uint256 freezeId, FreezeStatus status);
    /// @notice The exchange answered a list of root `given`; `freezeId` requested the list of root
    /// `expected`.
    error ListRootMismatch(uint256 freezeId, bytes32 expected, bytes32 given);
    /// @notice The police acknowledged a result of root `given`; the exchange recorded `expected`.
    error ResultRootMismatch(uint256 freezeId, bytes32 expected, bytes32 given);

    /// @notice Ask an exchange to freeze the accounts of a list delivered to it off chain; only the
    /// list's root and item count are recorded.
    /// @dev Caller: an active key of the POLICE participant that opened or approved the case (an
    /// approved, open, unexpired case); a participant of another kind gets
    /// {ICaseRegistry-WrongParticipantKind}. Emits {FreezeRequested}.
    /// @return freezeId the new request's id
    function requestFreeze(
        uint256 caseId,
        uint32 exchange,
        bytes32 listRoot,
        uint16 itemCount,
        bytes32 traceCommitment
    ) external returns (uint256 freezeId);

    /// @notice Report what was frozen: the root of the list received (must be the request's) and
    /// the root of the result list, one leaf per item (frozen 0 where nothing could be frozen).
    /// @dev Caller: an active key of the exchange asked; accepted after the case closed. The chain
    /// cannot see the amounts: frozen ≤ requested is checked by the client that builds the result,
    /// by the police before it acknowledges, and by `veritrace freezes`. Emits {FreezeExecuted}.
    function recordFrozen(uint256 freezeId, bytes32 listRoot, bytes32 resultRoot, bytes32 evidenceCommitment) external;

    /// @notice Reject a freeze request.
    /// @dev Caller: an active key of the exchange asked. Emits {FreezeRejected}.
    function rejectFreeze(uint256 freezeId, uint16 reasonCode) external;

    /// @notice Acknowledge the exchange's result list, naming its root (must be the recorded one).
    /// @dev Caller: an active key of the police participant that requested the freeze; accepted
    /// after the case closed. Emits {FreezeAcknowledged}.
    function acknowledgeFrozen(uint256 freezeId, bytes32 resultRoot) external;

    /// @notice A freeze request.
    function getFreeze(uint256 freezeId) external view returns (FreezeRequest memory);

    /// @notice The number of freeze requests ever made.
    function freezeCount() external view returns (uint256);
}
