// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IParticipantRegistry} from "../registry/IParticipantRegistry.sol";
import {ICaseRegistry} from "../cases/ICaseRegistry.sol";
import {IFreezeRegistry} from "./IFreezeRegistry.sol";
import {ConsortiumGuarded} from "../common/ConsortiumGuarded.sol";

/// @title FreezeRegistry
/// @notice Freeze requests to exchanges and their answers, bound to cases: roots of keyed
/// commitments only, never the accounts or amounts.
contract FreezeRegistry is IFreezeRegistry, ConsortiumGuarded {
    /// @notice Kind of the participants that request freezes.
    bytes32 public constant POLICE = "POLICE";
    /// @notice Kind of the participants that freeze.
    bytes32 public constant EXCHANGE = "EXCHANGE";
    /// @notice Most accounts in one request.
    uint256 public constant MAX_ITEMS = 256;

    /// @notice The case registry this contract trusts.
    ICaseRegistry public immutable cases;

    mapping(uint256 freezeId => FreezeRequest) private _freezes;
    uint256 private _freezeCount;

    /// @param registry_ the consortium's participant registry
    /// @param cases_ the consortium's case registry
    constructor(IParticipantRegistry registry_, ICaseRegistry cases_) ConsortiumGuarded(registry_) {
        cases = cases_;
    }

    /// @inheritdoc IFreezeRegistry
    function requestFreeze(
        uint256 caseId,
        uint32 exchange,
        bytes32 listRoot,
        uint16 itemCount,
        bytes32 traceCommitment
    ) external returns (uint256 freezeId) {
        uint32 requester = _activeCallerOfKind(POLICE);
        (uint32 opener, uint32 approver) = cases.requireActive(caseId);
        if (requester != opener && requester != approver) revert NotCaseParty(caseId, requester);
        if (!registry.isActive(exchange) || registry.participant(exchange).kind != EXCHANGE) {
            revert NotAnActiveExchange(exchange);
        }
        if (listRoot == bytes32(0)) revert ZeroCommitment("listRoot");
        if (itemCount == 0 || itemCount > MAX_ITEMS) revert InvalidItemCount(itemCount, MAX_ITEMS);

        freezeId = ++_freezeCount;
        _freezes[freezeId] = FreezeRequest({
            caseId: uint64(caseId),
            requester: requester,
            exchange: exchange,
            status: FreezeStatus.Requested,
            itemCount: itemCount,
            requestedAt: uint40(block.timestamp),
            answeredAt: 0,
            listRoot: listRoot,
            resultRoot: bytes32(0)
        });
        emit FreezeRequested(freezeId, caseId, exchange, requester, listRoot, itemCount, traceCommitment, msg.sender);
    }

    /// @inheritdoc IFreezeRegistry
    function recordFrozen(uint256 freezeId, bytes32 listRoot, bytes32 resultRoot, bytes32 evidenceCommitment) external {
        FreezeRequest storage f = _pendingForExchange(freezeId);
        if (listRoot != f.listRoot) revert ListRootMismatch(freezeId, f.listRoot, listRoot);
        if (resultRoot == bytes32(0)) revert ZeroCommitment("resultRoot");
        f.status = FreezeStatus.Executed;
        f.answeredAt = uint40(block.timestamp);
        f.resultRoot = resultRoot;
        emit FreezeExecuted(freezeId, f.caseId, f.exchange, listRoot, resultRoot, evidenceCommitment, msg.sender);
    }

    /// @inheritdoc IFreezeRegistry
    function rejectFreeze(uint256 freezeId, uint16 reasonCode) external {
        FreezeRequest storage f = _pendingForExchange(freezeId);
        f.status = FreezeStatus.Rejected;
        f.answeredAt = uint40(block.timestamp);
        emit FreezeRejected(freezeId, f.caseId, f.exchange, reasonCode, msg.sender);
    }

    /// @inheritdoc IFreezeRegistry
    function acknowledgeFrozen(uint256 freezeId, bytes32 resultRoot) external {
        (uint32 caller, FreezeRequest storage f) = _callerAndFreeze(freezeId);
        if (f.requester != caller) revert NotFreezeRequester(freezeId, caller);
        if (f.status != FreezeStatus.Executed) revert FreezeNotExecuted(freezeId, f.status);
        if (resultRoot != f.resultRoot) revert ResultRootMismatch(freezeId, f.resultRoot, resultRoot);
        f.status = FreezeStatus.Acknowledged;
        emit FreezeAcknowledged(freezeId, f.caseId, caller, resultRoot, msg.sender);
    }

    /// @inheritdoc IFreezeRegistry
    function getFreeze(uint256 freezeId) external view returns (FreezeRequest memory) {
        return _freezes[freezeId];
    }

    /// @inheritdoc IFreezeRegistry
    function freezeCount() external view returns (uint256) {
        return _freezeCount;
    }

    /// @dev An exchange answers even after the case closed: funds may already be frozen.
    function _pendingForExchange(uint256 freezeId) private view returns (FreezeRequest storage f) {
        uint32 caller;
        (caller, f) = _callerAndFreeze(freezeId);
        if (f.exchange != caller) revert NotFreezeExchange(freezeId, caller);
        if (f.status != FreezeStatus.Requested) revert FreezeNotPending(freezeId, f.status);
    }

    function _callerAndFreeze(uint256 freezeId) private view returns (uint32 caller, FreezeRequest storage f) {
        caller = _activeCaller();
        f = _freezes[freezeId];
        if (f.status == FreezeStatus.None) revert UnknownFreeze(freezeId);
    }
}
