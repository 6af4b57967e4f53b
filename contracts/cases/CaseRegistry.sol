// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IParticipantRegistry} from "../registry/IParticipantRegistry.sol";
import {ICaseRegistry} from "./ICaseRegistry.sol";
import {ConsortiumGuarded} from "../common/ConsortiumGuarded.sol";

/// @title CaseRegistry
/// @notice Cases: opened by police, approved by a prosecutor, extended by approval again,
/// closed for good. Closed or expired cases accept nothing.
contract CaseRegistry is ICaseRegistry, ConsortiumGuarded {
    /// @notice Kind of the participants that open cases.
    bytes32 public constant POLICE = "POLICE";
    /// @notice Kind of the participants that approve cases.
    bytes32 public constant PROSECUTOR = "PROSECUTOR";
    /// @notice Longest time a case may run ahead of now, at opening or at an extension.
    uint40 public constant MAX_CASE_DURATION = 730 days;

    mapping(uint256 caseId => Case) private _cases;
    mapping(uint32 opener => mapping(bytes32 caseNumberCommitment => uint256 caseId)) private _byNumber;
    uint256 private _caseCount;

    /// @param registry_ the consortium's participant registry
    constructor(IParticipantRegistry registry_) ConsortiumGuarded(registry_) {}

    /// @inheritdoc ICaseRegistry
    function openCase(
        bytes32 caseNumberCommitment,
        bytes32 legalBasisCommitment,
        uint256 scope,
        uint40 expiresAt
    ) external returns (uint256 caseId) {
        uint32 opener = _activeCallerOfKind(POLICE);
        if (caseNumberCommitment == bytes32(0)) revert ZeroCommitment("caseNumberCommitment");
        if (legalBasisCommitment == bytes32(0)) revert ZeroCommitment("legalBasisCommitment");
        if (scope == 0) revert EmptyScope();
        uint256 existing = _byNumber[opener][caseNumberCommitment];
        if (existing != 0) revert CaseNumberAlreadyUsed(opener, caseNumberCommitment, existing);
        _checkExpiry(expiresAt, uint40(block.timestamp));

        caseId = ++_caseCount;
        _byNumber[opener][caseNumberCommitment] = caseId;
        _cases[caseId] = Case({
            caseNumberCommitment: caseNumberCommitment,
            legalBasisCommitment: legalBasisCommitment,
            scope: scope,
            opener: opener,
            approver: 0,
            status: Status.Pending,
            openedAt: uint40(block.timestamp),
            expiresAt: expiresAt,
            requestedExpiry: 0
        });
        emit CaseOpened(caseId, opener, caseNumberCommitment, legalBasisCommitment, scope, expiresAt, msg.sender);
    }

    /// @inheritdoc ICaseRegistry
    function approveCase(uint256 caseId) external {
        uint32 approver = _activeCallerOfKind(PROSECUTOR);
        Case storage c = _existing(caseId);
        if (c.status == Status.Closed) revert CaseIsClosed(caseId);
        if (c.status == Status.Approved) revert CaseAlreadyApproved(caseId);
        if (block.timestamp >= c.expiresAt) revert CaseExpired(caseId, c.expiresAt);
        if (approver == c.opener) revert SameInstitution(caseId, approver);
        c.status = Status.Approved;
        c.approver = approver;
        emit CaseApproved(caseId, approver, c.expiresAt, msg.sender);
    }

    /// @inheritdoc ICaseRegistry
    function requestExtension(uint256 caseId, uint40 newExpiry) external {
        uint32 caller = _activeCaller();
        Case storage c = _active(caseId);
        if (caller != c.opener) revert NotCaseParty(caseId, caller);
        _checkExpiry(newExpiry, c.expiresAt);
        uint40 replaced = c.requestedExpiry;
        c.requestedExpiry = newExpiry;
        emit CaseExtensionRequested(caseId, caller, newExpiry, replaced, msg.sender);
    }

    /// @inheritdoc ICaseRegistry
    function approveExtension(uint256 caseId, uint40 expectedExpiry) external {
        uint32 approver = _activeCaller();
        Case storage c = _active(caseId);
        // The prosecutor that reviewed the case, not any prosecutor, reviews its extension.
        if (approver != c.approver) revert NotCaseApprover(caseId, approver, c.approver);
        uint40 newExpiry = c.requestedExpiry;
        if (newExpiry == 0) revert NoExtensionRequested(caseId);
        if (newExpiry != expectedExpiry) revert ExtensionMismatch(caseId, expectedExpiry, newExpiry);
        uint40 previous = c.expiresAt;
        c.expiresAt = newExpiry;
        c.requestedExpiry = 0;
        emit CaseExtended(caseId, approver, previous, newExpiry, msg.sender);
    }

    /// @inheritdoc ICaseRegistry
    function closeCase(uint256 caseId, uint16 reasonCode) external {
        // Closing only narrows access: it is accepted during an emergency pause too.
        (uint32 caller, ) = registry.activeParticipantOf(msg.sender);
        Case storage c = _existing(caseId);
        if (c.status == Status.Closed) revert CaseIsClosed(caseId);
        if (caller != c.opener && caller != c.approver) revert NotCaseParty(caseId, caller);
        c.status = Status.Closed;
        c.requestedExpiry = 0;
        emit CaseClosed(caseId, caller, reasonCode, msg.sender);
    }

    /// @inheritdoc ICaseRegistry
    function requireActive(uint256 caseId) external view returns (uint32 opener, uint32 approver) {
        Case storage c = _active(caseId);
        return (c.opener, c.approver);
    }

    /// @inheritdoc ICaseRegistry
    function scopeOf(uint256 caseId) external view returns (uint256) {
        return _cases[caseId].scope;
    }

    /// @inheritdoc ICaseRegistry
    function isActive(uint256 caseId) external view returns (bool) {
        Case storage c = _cases[caseId];
        return c.status == Status.Approved && block.timestamp < c.expiresAt;
    }

    /// @inheritdoc ICaseRegistry
    function getCase(uint256 caseId) external view returns (Case memory) {
        return _cases[caseId];
    }

    /// @inheritdoc ICaseRegistry
    function caseIdOf(uint32 opener, bytes32 caseNumberCommitment) external view returns (uint256) {
        return _byNumber[opener][caseNumberCommitment];
    }

    /// @inheritdoc ICaseRegistry
    function caseCount() external view returns (uint256) {
        return _caseCount;
    }

    function _existing(uint256 caseId) private view returns (Case storage c) {
        c = _cases[caseId];
        if (c.status == Status.None) revert UnknownCase(caseId);
    }

    function _active(uint256 caseId) private view returns (Case storage c) {
        c = _existing(caseId);
        if (c.status == Status.Closed) revert CaseIsClosed(caseId);
        if (c.status != Status.Approved) revert CaseNotApproved(caseId);
        if (block.timestamp >= c.expiresAt) revert CaseExpired(caseId, c.expiresAt);
    }

    function _checkExpiry(uint40 expiresAt, uint40 notBefore) private view {
        uint40 notAfter = uint40(block.timestamp) + MAX_CASE_DURATION;
        if (expiresAt <= notBefore || expiresAt > notAfter) {
            revert InvalidExpiry(expiresAt, notBefore, notAfter);
        }
    }
}
