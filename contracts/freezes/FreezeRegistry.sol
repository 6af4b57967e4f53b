// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IParticipantRegistry} from "../registry/IParticipantRegistry.sol";
import {ICaseRegistry} from "../cases/ICaseRegistry.sol";
import {IFreezeRegistry} from "./IFreezeRegistry.sol";

/// @title FreezeRegistry
/// @notice Freeze requests to exchanges and their answers, bound to cases.
contract FreezeRegistry is IFreezeRegistry {
    /// @notice Kind of the participants that request freezes.
    bytes32 public constant POLICE = "POLICE";
    /// @notice Kind of the participants that freeze.
    bytes32 public constant EXCHANGE = "EXCHANGE";
    /// @notice Most accounts in one request.
    uint256 public constant MAX_ITEMS = 256;

    /// @notice The participant registry this contract trusts.
    IParticipantRegistry public immutable registry;
    /// @notice The case registry this contract trusts.
    ICaseRegistry public immutable cases;

    mapping(uint256 freezeId => FreezeRequest) private _freezes;
    uint256 private _freezeCount;

    /// @param registry_ the consortium's participant registry
    /// @param cases_ the consortium's case registry
    constructor(IParticipantRegistry registry_, ICaseRegistry cases_) {
        registry = registry_;
        cases = cases_;
    }

    /// @inheritdoc IFreezeRegistry
    function requestFreeze(
        uint256 caseId,
        uint32 exchange,
        uint64 chainId,
        address token,
        FreezeItem[] calldata items,
        bytes32 traceCommitment
    ) external returns (uint256 freezeId) {
        if (registry.paused()) revert ConsortiumPaused();
        (uint32 requester, bytes32 kind) = registry.activeParticipantOf(msg.sender);
        if (kind != POLICE) revert WrongParticipantKind(requester, kind, POLICE);
        (uint32 opener, uint32 approver) = cases.requireActive(caseId);
        if (requester != opener && requester != approver) revert NotCaseParty(caseId, requester);
        if (!registry.isActive(exchange) || registry.participant(exchange).kind != EXCHANGE) {
            revert NotAnActiveExchange(exchange);
        }
        if (chainId == 0) revert ZeroChainId();
        if (items.length == 0 || items.length > MAX_ITEMS) revert InvalidItemCount(items.length, MAX_ITEMS);
        for (uint256 i = 0; i < items.length; ++i) {
            if (items[i].account == address(0) || items[i].amount == 0) revert InvalidItem(i);
        }

        freezeId = ++_freezeCount;
        _freezes[freezeId] = FreezeRequest({
            caseId: uint64(caseId),
            requester: requester,
            exchange: exchange,
            status: FreezeStatus.Requested,
            // items.length ≤ MAX_ITEMS = 256 fits a uint16.
            itemCount: uint16(items.length),
            requestedAt: uint40(block.timestamp),
            chainId: chainId,
            token: token
        });
        emit FreezeRequested(freezeId, caseId, exchange, requester, chainId, token, items, traceCommitment, msg.sender);
    }

    /// @inheritdoc IFreezeRegistry
    function recordFrozen(uint256 freezeId, uint256[] calldata frozen, bytes32 evidenceCommitment) external {
        FreezeRequest storage f = _pendingForExchange(freezeId);
        if (frozen.length != f.itemCount) revert FrozenCountMismatch(freezeId, f.itemCount, frozen.length);
        f.status = FreezeStatus.Executed;
        emit FreezeExecuted(freezeId, f.caseId, f.exchange, frozen, evidenceCommitment, msg.sender);
    }

    /// @inheritdoc IFreezeRegistry
    function rejectFreeze(uint256 freezeId, uint16 reasonCode) external {
        FreezeRequest storage f = _pendingForExchange(freezeId);
        f.status = FreezeStatus.Rejected;
        emit FreezeRejected(freezeId, f.caseId, f.exchange, reasonCode, msg.sender);
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
        if (registry.paused()) revert ConsortiumPaused();
        (uint32 caller, ) = registry.activeParticipantOf(msg.sender);
        f = _freezes[freezeId];
        if (f.status == FreezeStatus.None) revert UnknownFreeze(freezeId);
        if (f.exchange != caller) revert NotFreezeExchange(freezeId, caller);
        if (f.status != FreezeStatus.Requested) revert FreezeNotPending(freezeId, f.status);
    }
}
