// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IConsortiumGuarded} from "../common/IConsortiumGuarded.sol";

/// @title ICaseRegistry
/// @notice Investigations under which data may be requested. A police participant opens a
/// case; a prosecutor participant of another institution approves it (two-person rule).
/// Only an approved, unexpired, open case accepts requests.
/// @dev The scope is a bit set of data kinds: bit k set means data kind k may be requested.
interface ICaseRegistry is IConsortiumGuarded {
    /// @notice Lifecycle of a case. Expiry is not a status: it is read from the clock.
    enum Status {
        None,
        Pending,
        Approved,
        Closed
    }

    /// @notice A case's record.
    struct Case {
        bytes32 caseNumberCommitment;
        bytes32 legalBasisCommitment;
        uint256 scope;
        uint32 opener;
        uint32 approver;
        Status status;
        uint40 openedAt;
        uint40 expiresAt;
        uint40 requestedExpiry;
    }

    /// @notice A police participant opened a case.
    /// @param caseId the case
    /// @param opener the police participant
    /// @param caseNumberCommitment keyed commitment of the internal case number
    /// @param legalBasisCommitment hash of the legal-basis document
    /// @param scope bit set of the data kinds that may be requested
    /// @param expiresAt when the case stops accepting anything
    /// @param signer the key that sent the transaction
    event CaseOpened(
        uint256 indexed caseId,
        uint32 indexed opener,
        bytes32 indexed caseNumberCommitment,
        bytes32 legalBasisCommitment,
        uint256 scope,
        uint40 expiresAt,
        address signer
    );

    /// @notice A prosecutor participant approved a case.
    /// @param caseId the case
    /// @param approver the prosecutor participant
    /// @param expiresAt the case's expiry
    /// @param signer the key that sent the transaction
    event CaseApproved(uint256 indexed caseId, uint32 indexed approver, uint40 expiresAt, address signer);

    /// @notice The opener asked to extend an approved case. A new request replaces a pending one;
    /// the approval names the expiry it approves, so a replaced request is never approved by mistake.
    /// @param caseId the case
    /// @param requester the opener
    /// @param newExpiry the requested expiry
    /// @param replacedExpiry the expiry of the pending request this one replaces (0 if none)
    /// @param signer the key that sent the transaction
    event CaseExtensionRequested(
        uint256 indexed caseId,
        uint32 indexed requester,
        uint40 newExpiry,
        uint40 replacedExpiry,
        address signer
    );

    /// @notice The case's approver approved its extension.
    /// @param caseId the case
    /// @param approver the prosecutor participant that approved the case
    /// @param previousExpiry the expiry before
    /// @param newExpiry the expiry now
    /// @param signer the key that sent the transaction
    event CaseExtended(
        uint256 indexed caseId,
        uint32 indexed approver,
        uint40 previousExpiry,
        uint40 newExpiry,
        address signer
    );

    /// @notice A case was closed; it accepts nothing any more.
    /// @param caseId the case
    /// @param closer the participant that closed it (opener or approver)
    /// @param reasonCode why (consortium code list)
    /// @param signer the key that sent the transaction
    event CaseClosed(uint256 indexed caseId, uint32 indexed closer, uint16 reasonCode, address signer);

    /// @notice `participantId` is of kind `kind`; the action needs `required`.
    /// @dev Declared here once for every contract that checks a participant's kind (see
    /// {ConsortiumGuarded-_activeCallerOfKind}): the freeze registry reverts with it too.
    error WrongParticipantKind(uint32 participantId, bytes32 kind, bytes32 required);
    /// @notice `opener` already used the case number commitment for `caseId`.
    error CaseNumberAlreadyUsed(uint32 opener, bytes32 caseNumberCommitment, uint256 caseId);
    /// @notice `caseId` does not exist.
    error UnknownCase(uint256 caseId);
    /// @notice `caseId` is not approved yet.
    error CaseNotApproved(uint256 caseId);
    /// @notice `caseId` is already approved.
    error CaseAlreadyApproved(uint256 caseId);
    /// @notice `caseId` is closed.
    error CaseIsClosed(uint256 caseId);
    /// @notice `caseId` expired at `expiresAt`.
    error CaseExpired(uint256 caseId, uint40 expiresAt);
    /// @notice The expiry `expiresAt` is not in (`notBefore`, `notAfter`].
    error InvalidExpiry(uint40 expiresAt, uint40 notBefore, uint40 notAfter);
    /// @notice The scope is empty.
    error EmptyScope();
    /// @notice A zero commitment was given for `field`.
    error ZeroCommitment(string field);
    /// @notice The approver `participantId` belongs to the opener's institution.
    error SameInstitution(uint256 caseId, uint32 participantId);
    /// @notice `participantId` may not act on `caseId`.
    error NotCaseParty(uint256 caseId, uint32 participantId);
    /// @notice No extension of `caseId` is pending.
    error NoExtensionRequested(uint256 caseId);
    /// @notice The approval of `caseId`'s extension names `expectedExpiry`; the pending request is
    /// `requestedExpiry`.
    error ExtensionMismatch(uint256 caseId, uint40 expectedExpiry, uint40 requestedExpiry);
    /// @notice `participantId` is not `approver`, the participant that approved `caseId`.
    error NotCaseApprover(uint256 caseId, uint32 participantId, uint32 approver);

    /// @notice Open a case.
    /// @dev Caller: an active signing key of an active POLICE participant. Emits {CaseOpened}.
    /// A commitment is unique per opener, not globally: another police participant that copies it
    /// from the mempool opens its own case, and neither blocks nor captures this one.
    /// @param caseNumberCommitment keyed commitment of the internal case number (unique per opener)
    /// @param legalBasisCommitment hash of the legal-basis document
    /// @param scope bit set of data kinds (non-empty)
    /// @param expiresAt the case's expiry (future, at most MAX_CASE_DURATION ahead)
    /// @return caseId the new case's id
    function openCase(
        bytes32 caseNumberCommitment,
        bytes32 legalBasisCommitment,
        uint256 scope,
        uint40 expiresAt
    ) external returns (uint256 caseId);

    /// @notice Approve a pending case.
    /// @dev Caller: an active key of an active PROSECUTOR participant other than the opener.
    /// Emits {CaseApproved}.
    function approveCase(uint256 caseId) external;

    /// @notice Ask for a later expiry of an approved, open, unexpired case; replaces a pending
    /// request (the event names the replaced expiry).
    /// @dev Caller: an active key of the opener. Emits {CaseExtensionRequested}.
    function requestExtension(uint256 caseId, uint40 newExpiry) external;

    /// @notice Approve the pending extension request, which must be for `expectedExpiry`: the
    /// approval is bound to the expiry the prosecutor reviewed, so a request replaced in between
    /// (or front-run) makes it revert with {ExtensionMismatch} instead of extending further.
    /// @dev Caller: an active key of the participant that approved the case. Emits {CaseExtended}.
    /// @param caseId the case
    /// @param expectedExpiry the requested expiry being approved
    function approveExtension(uint256 caseId, uint40 expectedExpiry) external;

    /// @notice Close a case for good; accepted during an emergency pause too.
    /// @dev Caller: an active key of the opener or of the approver. Emits {CaseClosed}.
    function closeCase(uint256 caseId, uint16 reasonCode) external;

    /// @notice Reverts with the reason unless `caseId` is approved, open and unexpired.
    /// @return opener the participant that opened it
    /// @return approver the participant that approved it
    function requireActive(uint256 caseId) external view returns (uint32 opener, uint32 approver);

    /// @notice The bit set of data kinds that may be requested under `caseId`.
    function scopeOf(uint256 caseId) external view returns (uint256);

    /// @notice Whether `caseId` is approved, open and unexpired.
    function isActive(uint256 caseId) external view returns (bool);

    /// @notice A case's record.
    function getCase(uint256 caseId) external view returns (Case memory);

    /// @notice The case `opener` opened with this case number commitment (0 if none).
    function caseIdOf(uint32 opener, bytes32 caseNumberCommitment) external view returns (uint256);

    /// @notice The number of cases ever opened.
    function caseCount() external view returns (uint256);
}
