// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {IParticipantRegistry} from "../registry/IParticipantRegistry.sol";
import {ICaseRegistry} from "../cases/ICaseRegistry.sol";
import {IAccessLedger} from "../access/IAccessLedger.sol";
import {IMatchingLedger, MATCH_FAILURE_MALFORMED_MESSAGE, MATCH_FAILURE_OTHER} from "./IMatchingLedger.sol";
import {ConsortiumGuarded} from "../common/ConsortiumGuarded.sol";

/// @title MatchingLedger
/// @notice Records private-set-intersection matching sessions run under granted access requests:
/// opening, the provider's signed response commitment, the co-signed result, failures.
/// @dev Replay protection: the EIP-712 domain binds a signature to this chain and this contract;
/// the session id (and its unique tag) binds it to one session, whose status allows each message
/// once. Grants and cases are read from the consortium's access ledger and case registry.
contract MatchingLedger is IMatchingLedger, ConsortiumGuarded, EIP712 {
    /// @notice EIP-712 type the provider signs for its response.
    bytes32 public constant MATCH_RESPONSE_TYPEHASH = keccak256(
        "MatchResponse(uint256 sessionId,bytes32 tag,bytes32 requestDigest,bytes32 responseDigest,"
        "uint64 providerSetSize)"
    );
    /// @notice EIP-712 type both parties sign for the result.
    bytes32 public constant MATCH_RESULT_TYPEHASH = keccak256(
        "MatchResult(uint256 sessionId,bytes32 tag,bytes32 requestDigest,bytes32 responseDigest,"
        "bytes32 resultCommitment,uint64 cardinality)"
    );

    /// @notice The case registry this ledger trusts.
    ICaseRegistry public immutable cases;
    /// @notice The access ledger whose grants sessions run under.
    IAccessLedger public immutable access;

    mapping(uint256 sessionId => Session) private _sessions;
    mapping(bytes32 tag => uint256 sessionId) private _sessionOfTag;
    mapping(uint256 requestId => uint64 identifiers) private _identifiersAsked;
    uint256 private _sessionCount;

    /// @param registry_ the consortium's participant registry
    /// @param cases_ the consortium's case registry
    /// @param access_ the consortium's access ledger
    constructor(
        IParticipantRegistry registry_,
        ICaseRegistry cases_,
        IAccessLedger access_
    ) ConsortiumGuarded(registry_) EIP712("Veritrace Matching Ledger", "1") {
        cases = cases_;
        access = access_;
    }

    // ------------------------------------------------------------------ transitions

    /// @inheritdoc IMatchingLedger
    function open(
        uint256 requestId,
        Mode mode,
        bytes32 tag,
        bytes32 requestDigest,
        uint64 setSize
    ) external returns (uint256 sessionId) {
        (uint32 caller, IAccessLedger.Request memory r) = _requesterOfLiveGrant(requestId);
        if (tag == bytes32(0)) revert ZeroCommitment("tag");
        uint256 tagged = _sessionOfTag[tag];
        if (tagged != 0) revert TagAlreadyUsed(tag, tagged);
        if (requestDigest == bytes32(0)) revert ZeroCommitment("requestDigest");
        if (setSize == 0) revert ZeroSetSize();
        // The grant caps the identifiers asked over all sessions of the request, not per session:
        // otherwise many sessions could ask about maxRecords identifiers each.
        uint256 total = uint256(_identifiersAsked[requestId]) + setSize;
        if (total > r.maxRecords) revert IdentifierLimitExceeded(requestId, total, r.maxRecords);

        // total ≤ maxRecords, a uint64, so the narrowing is exact; so is requestId's below: the
        // request exists, so it is at most the access ledger's uint64 request counter.
        _identifiersAsked[requestId] = uint64(total);
        sessionId = ++_sessionCount;
        _sessionOfTag[tag] = sessionId;
        // Field by field: the response and result slots stay untouched (zero) until recorded.
        Session storage s = _sessions[sessionId];
        s.requestId = uint64(requestId);
        s.caseId = r.caseId;
        s.requester = caller;
        s.provider = r.provider;
        s.mode = mode;
        s.status = SessionStatus.Open;
        s.openedAt = uint40(block.timestamp);
        s.setSize = setSize;
        s.tag = tag;
        s.requestDigest = requestDigest;
        emit MatchSessionOpened(
            sessionId,
            requestId,
            r.caseId,
            caller,
            r.provider,
            mode,
            tag,
            requestDigest,
            setSize,
            msg.sender
        );
    }

    /// @inheritdoc IMatchingLedger
    function recordResponse(
        MatchResponse calldata response,
        IAccessLedger.PartySignature calldata provider
    ) external whenNotPaused {
        uint256 sessionId = response.sessionId;
        Session storage s = _existingSession(sessionId);
        if (s.status != SessionStatus.Open) revert SessionNotOpen(sessionId, s.status);
        _requireLiveGrant(s.requestId, access.getRequest(s.requestId));
        _requireSameSession(s, sessionId, response.tag, response.requestDigest);
        if (response.responseDigest == bytes32(0)) revert ZeroCommitment("responseDigest");
        _checkParty(provider, s.provider, _responseHash(response));

        s.status = SessionStatus.Responded;
        s.responseDigest = response.responseDigest;
        s.providerSetSize = response.providerSetSize;
        emit MatchResponseRecorded(
            sessionId,
            s.requestId,
            s.caseId,
            s.provider,
            s.requester,
            response.responseDigest,
            response.providerSetSize,
            provider,
            msg.sender
        );
    }

    /// @inheritdoc IMatchingLedger
    function recordResult(
        MatchResult calldata result,
        IAccessLedger.PartySignature calldata provider,
        IAccessLedger.PartySignature calldata requester
    ) external whenNotPaused {
        // No grant or case check: see the interface. A pause still stops it, like every record.
        uint256 sessionId = result.sessionId;
        Session storage s = _existingSession(sessionId);
        if (s.status != SessionStatus.Responded) revert SessionNotResponded(sessionId, s.status);
        _requireSameSession(s, sessionId, result.tag, result.requestDigest);
        if (result.responseDigest != s.responseDigest) revert FieldMismatch(sessionId, "responseDigest");
        if (result.resultCommitment == bytes32(0)) revert ZeroCommitment("resultCommitment");
        uint64 bound = s.setSize < s.providerSetSize ? s.setSize : s.providerSetSize;
        if (result.cardinality > bound) revert CardinalityOutOfBounds(sessionId, result.cardinality, bound);
        bytes32 digest = _resultHash(result);
        _checkParty(provider, s.provider, digest);
        _checkParty(requester, s.requester, digest);

        s.status = SessionStatus.Completed;
        s.resultCommitment = result.resultCommitment;
        s.cardinality = result.cardinality;
        emit MatchCompleted(
            sessionId,
            s.requestId,
            s.caseId,
            s.requester,
            s.provider,
            result.resultCommitment,
            result.cardinality,
            provider,
            requester,
            msg.sender
        );
    }

    /// @inheritdoc IMatchingLedger
    function fail(uint256 sessionId, uint16 reasonCode) external {
        // Failing only closes a session: accepted during a pause and after the grant or case ended.
        (uint32 caller, ) = registry.activeParticipantOf(msg.sender);
        Session storage s = _existingSession(sessionId);
        if (caller != s.requester && caller != s.provider) revert NotSessionParty(sessionId, caller);
        SessionStatus status = s.status;
        if (status != SessionStatus.Open && status != SessionStatus.Responded) revert SessionClosed(sessionId, status);
        if (reasonCode < MATCH_FAILURE_MALFORMED_MESSAGE || reasonCode > MATCH_FAILURE_OTHER) {
            revert InvalidReasonCode(reasonCode);
        }
        s.status = SessionStatus.Failed;
        emit MatchFailed(sessionId, s.requestId, s.caseId, caller, reasonCode, msg.sender);
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IMatchingLedger
    function session(uint256 sessionId) external view returns (Session memory) {
        return _sessions[sessionId];
    }

    /// @inheritdoc IMatchingLedger
    function sessionByTag(bytes32 tag) external view returns (uint256 sessionId, Session memory) {
        sessionId = _sessionOfTag[tag];
        return (sessionId, _sessions[sessionId]);
    }

    /// @inheritdoc IMatchingLedger
    function identifiersAsked(uint256 requestId) external view returns (uint64) {
        return _identifiersAsked[requestId];
    }

    /// @inheritdoc IMatchingLedger
    function responseDigest(MatchResponse calldata response) external view returns (bytes32) {
        return _responseHash(response);
    }

    /// @inheritdoc IMatchingLedger
    function resultDigest(MatchResult calldata result) external view returns (bytes32) {
        return _resultHash(result);
    }

    /// @inheritdoc IMatchingLedger
    function sessionCount() external view returns (uint256) {
        return _sessionCount;
    }

    // ------------------------------------------------------------------ internals

    /// @dev The calling requester of `requestId`, and the request, checked for opening a session.
    function _requesterOfLiveGrant(
        uint256 requestId
    ) private view returns (uint32 caller, IAccessLedger.Request memory r) {
        caller = _activeCaller();
        r = access.getRequest(requestId);
        if (r.status == IAccessLedger.RequestStatus.None) revert UnknownRequest(requestId);
        if (r.requester != caller) revert NotRequestRequester(requestId, caller);
        _requireLiveGrant(requestId, r);
        // A session with an inactive provider could never get its response signed.
        if (!registry.isActive(r.provider)) revert ProviderNotActive(r.provider);
    }

    /// @dev Granted, strictly before the grant's expiry (like a case's), on an active case.
    function _requireLiveGrant(uint256 requestId, IAccessLedger.Request memory r) private view {
        if (r.status != IAccessLedger.RequestStatus.Granted) revert RequestNotGranted(requestId, r.status);
        if (block.timestamp >= r.grantExpiresAt) revert GrantExpired(requestId, r.grantExpiresAt);
        cases.requireActive(r.caseId);
    }

    function _existingSession(uint256 sessionId) private view returns (Session storage s) {
        s = _sessions[sessionId];
        if (s.status == SessionStatus.None) revert UnknownSession(sessionId);
    }

    /// @dev A signed message must name the session's tag and request digest: a message of the
    /// protocol's run under another tag (another session) is refused.
    function _requireSameSession(
        Session storage s,
        uint256 sessionId,
        bytes32 tag,
        bytes32 requestDigest
    ) private view {
        if (tag != s.tag) revert FieldMismatch(sessionId, "tag");
        if (requestDigest != s.requestDigest) revert FieldMismatch(sessionId, "requestDigest");
    }

    function _checkParty(IAccessLedger.PartySignature calldata party, uint32 expected, bytes32 digest) private view {
        (uint32 actual, ) = registry.activeParticipantOf(party.signer);
        if (actual != expected) revert SignerNotParty(party.signer, actual, expected);
        if (!SignatureChecker.isValidSignatureNowCalldata(party.signer, digest, party.signature)) {
            revert InvalidSignature(party.signer);
        }
    }

    function _responseHash(MatchResponse calldata m) private view returns (bytes32) {
        return
            _hashTypedDataV4(
                keccak256(
                    abi.encode(
                        MATCH_RESPONSE_TYPEHASH,
                        m.sessionId,
                        m.tag,
                        m.requestDigest,
                        m.responseDigest,
                        m.providerSetSize
                    )
                )
            );
    }

    function _resultHash(MatchResult calldata m) private view returns (bytes32) {
        return
            _hashTypedDataV4(
                keccak256(
                    abi.encode(
                        MATCH_RESULT_TYPEHASH,
                        m.sessionId,
                        m.tag,
                        m.requestDigest,
                        m.responseDigest,
                        m.resultCommitment,
                        m.cardinality
                    )
                )
            );
    }
}
