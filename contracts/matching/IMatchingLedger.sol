// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IAccessLedger} from "../access/IAccessLedger.sol";
import {IConsortiumGuarded} from "../common/IConsortiumGuarded.sol";

// Why a matching session failed (`fail`'s reason code). Codes outside 1..7 are refused, so the
// tracer can name every recorded failure.
/// @dev A message did not parse (a point not on the curve, a wrong length).
uint16 constant MATCH_FAILURE_MALFORMED_MESSAGE = 1;
/// @dev A message carried another number of elements than announced.
uint16 constant MATCH_FAILURE_WRONG_COUNT = 2;
/// @dev A message belonged to another session (wrong tag or digest).
uint16 constant MATCH_FAILURE_WRONG_SESSION = 3;
/// @dev A set was larger than the party accepts.
uint16 constant MATCH_FAILURE_OVERSIZE = 4;
/// @dev Identifiers could not be normalized or committed as the consortium prescribes.
uint16 constant MATCH_FAILURE_NORMALIZATION = 5;
/// @dev The other party did not answer in time, or the session was abandoned.
uint16 constant MATCH_FAILURE_TIMEOUT = 6;
/// @dev Any other reason.
uint16 constant MATCH_FAILURE_OTHER = 7;

/// @title IMatchingLedger
/// @notice Private-set-intersection (PSI) matching sessions run off chain between the requester of
/// a granted access request and its provider. The ledger records that a session was opened under
/// which case and grant, each party's commitment to the messages it sent, and the result both
/// parties signed, or why the session failed. Only commitments and counts are recorded, never
/// identifiers or messages.
/// @dev Lifecycle: `open` (requester) → Open; `recordResponse` (provider's signature) → Responded;
/// `recordResult` (both signatures) → Completed; `fail` (either party) from Open or Responded →
/// Failed. Completed and Failed are final.
interface IMatchingLedger is IConsortiumGuarded {
    /// @notice What the requester learns: the matching identifiers (`Psi`) or only their number
    /// (`Cardinality`, PSI-CA).
    enum Mode {
        Psi,
        Cardinality
    }

    /// @notice Lifecycle of a session.
    enum SessionStatus {
        None,
        Open,
        Responded,
        Completed,
        Failed
    }

    /// @notice A matching session.
    /// @param requestId the granted access request it runs under
    /// @param caseId that request's case
    /// @param requester the requesting participant (learns the result)
    /// @param provider the providing participant
    /// @param mode what the requester learns
    /// @param status where the session stands
    /// @param openedAt when it was opened
    /// @param setSize identifiers the requester asked about
    /// @param providerSetSize elements in the provider's response (0 until Responded)
    /// @param cardinality size of the intersection (0 until Completed)
    /// @param tag the session tag the protocol's messages are bound to (unique on this ledger)
    /// @param requestDigest the requester's commitment to the messages it sent
    /// @param responseDigest the provider's commitment to the messages it sent (0 until Responded)
    /// @param resultCommitment both parties' commitment to the result (0 until Completed)
    struct Session {
        uint64 requestId;
        uint64 caseId;
        uint32 requester;
        uint32 provider;
        Mode mode;
        SessionStatus status;
        uint40 openedAt;
        uint64 setSize;
        uint64 providerSetSize;
        uint64 cardinality;
        bytes32 tag;
        bytes32 requestDigest;
        bytes32 responseDigest;
        bytes32 resultCommitment;
    }

    /// @notice The provider's commitment to its response, as it signs it (EIP-712 type
    /// `MatchResponse`, these fields in this order).
    /// @param sessionId the session
    /// @param tag the session's tag
    /// @param requestDigest the requester's commitment the provider answered
    /// @param responseDigest the provider's commitment to the messages it sent
    /// @param providerSetSize elements in the provider's set
    struct MatchResponse {
        uint256 sessionId;
        bytes32 tag;
        bytes32 requestDigest;
        bytes32 responseDigest;
        uint64 providerSetSize;
    }

    /// @notice A session's result, as both parties sign it (EIP-712 type `MatchResult`, these
    /// fields in this order).
    /// @param sessionId the session
    /// @param tag the session's tag
    /// @param requestDigest the requester's commitment recorded at opening
    /// @param responseDigest the provider's commitment recorded with its response
    /// @param resultCommitment commitment to the result (the matching identifiers' commitments,
    /// or the PSI-CA transcript)
    /// @param cardinality size of the intersection
    struct MatchResult {
        uint256 sessionId;
        bytes32 tag;
        bytes32 requestDigest;
        bytes32 responseDigest;
        bytes32 resultCommitment;
        uint64 cardinality;
    }

    /// @notice The requester opened a matching session.
    /// @param sessionId the session
    /// @param requestId the granted request it runs under
    /// @param caseId that request's case
    /// @param requesterId the requesting participant
    /// @param providerId the providing participant
    /// @param mode what the requester learns
    /// @param tag the session tag
    /// @param requestDigest the requester's commitment to the messages it sent
    /// @param setSize identifiers asked about
    /// @param signer the key that sent the transaction
    event MatchSessionOpened(
        uint256 indexed sessionId,
        uint256 indexed requestId,
        uint256 indexed caseId,
        uint32 requesterId,
        uint32 providerId,
        Mode mode,
        bytes32 tag,
        bytes32 requestDigest,
        uint64 setSize,
        address signer
    );

    /// @notice The provider's signed commitment to its response was recorded.
    /// @param sessionId the session
    /// @param requestId its request
    /// @param caseId its case
    /// @param providerId the providing participant
    /// @param requesterId the requesting participant
    /// @param responseDigest the provider's commitment to the messages it sent
    /// @param providerSetSize elements in the provider's set
    /// @param provider the provider's signature of the `MatchResponse`
    /// @param submitter who sent the transaction (either party or a relayer)
    event MatchResponseRecorded(
        uint256 indexed sessionId,
        uint256 indexed requestId,
        uint256 indexed caseId,
        uint32 providerId,
        uint32 requesterId,
        bytes32 responseDigest,
        uint64 providerSetSize,
        IAccessLedger.PartySignature provider,
        address submitter
    );

    /// @notice A result signed by both parties was recorded; the session is completed.
    /// @param sessionId the session
    /// @param requestId its request
    /// @param caseId its case
    /// @param requesterId the requesting participant
    /// @param providerId the providing participant
    /// @param resultCommitment commitment to the result
    /// @param cardinality size of the intersection
    /// @param provider the provider's signature of the `MatchResult`
    /// @param requester the requester's signature of the `MatchResult`
    /// @param submitter who sent the transaction (either party or a relayer)
    event MatchCompleted(
        uint256 indexed sessionId,
        uint256 indexed requestId,
        uint256 indexed caseId,
        uint32 requesterId,
        uint32 providerId,
        bytes32 resultCommitment,
        uint64 cardinality,
        IAccessLedger.PartySignature provider,
        IAccessLedger.PartySignature requester,
        address submitter
    );

    /// @notice A party declared a session failed.
    /// @param sessionId the session
    /// @param requestId its request
    /// @param caseId its case
    /// @param participantId the party that declared it
    /// @param reasonCode why (MATCH_FAILURE_* constants)
    /// @param signer the key that sent the transaction
    event MatchFailed(
        uint256 indexed sessionId,
        uint256 indexed requestId,
        uint256 indexed caseId,
        uint32 participantId,
        uint16 reasonCode,
        address signer
    );

    /// @notice `requestId` does not exist.
    error UnknownRequest(uint256 requestId);
    /// @notice `participantId` is not the requester of `requestId`.
    error NotRequestRequester(uint256 requestId, uint32 participantId);
    /// @notice `requestId` is `status`, not granted.
    error RequestNotGranted(uint256 requestId, IAccessLedger.RequestStatus status);
    /// @notice The grant of `requestId` expired at `expiresAt`.
    error GrantExpired(uint256 requestId, uint40 expiresAt);
    /// @notice `provider` is not an active participant.
    error ProviderNotActive(uint32 provider);
    /// @notice A zero commitment was given for `field`.
    error ZeroCommitment(string field);
    /// @notice `tag` already names session `sessionId`.
    error TagAlreadyUsed(bytes32 tag, uint256 sessionId);
    /// @notice A session must ask about at least one identifier.
    error ZeroSetSize();
    /// @notice Opening would bring the identifiers asked under `requestId` to `total`, above the
    /// grant's `maxRecords`.
    error IdentifierLimitExceeded(uint256 requestId, uint256 total, uint64 maxRecords);
    /// @notice `sessionId` does not exist.
    error UnknownSession(uint256 sessionId);
    /// @notice `sessionId` is `status`, not open.
    error SessionNotOpen(uint256 sessionId, SessionStatus status);
    /// @notice `sessionId` is `status`, not responded.
    error SessionNotResponded(uint256 sessionId, SessionStatus status);
    /// @notice `sessionId` is already `status` (completed or failed).
    error SessionClosed(uint256 sessionId, SessionStatus status);
    /// @notice The signed `field` differs from the one recorded for `sessionId`.
    error FieldMismatch(uint256 sessionId, string field);
    /// @notice The cardinality `cardinality` exceeds `bound`, the smaller of the two set sizes.
    error CardinalityOutOfBounds(uint256 sessionId, uint64 cardinality, uint64 bound);
    /// @notice `signer` speaks for participant `actual`; the session needs participant `expected`.
    error SignerNotParty(address signer, uint32 actual, uint32 expected);
    /// @notice The signature of `signer` does not match the message.
    error InvalidSignature(address signer);
    /// @notice `participantId` is neither the requester nor the provider of `sessionId`.
    error NotSessionParty(uint256 sessionId, uint32 participantId);
    /// @notice `reasonCode` is not one of the MATCH_FAILURE_* codes.
    error InvalidReasonCode(uint16 reasonCode);

    /// @notice Open a matching session under a granted request.
    /// @dev Caller: an active key of the request's requester. The request must be granted and its
    /// grant unexpired, its case active, its provider active, the consortium not paused. The
    /// identifiers asked in all sessions of the request may not exceed the grant's `maxRecords`.
    /// Emits {MatchSessionOpened}.
    /// @param requestId the granted request
    /// @param mode what the requester learns
    /// @param tag the session tag (non-zero, never used before on this ledger)
    /// @param requestDigest the requester's commitment to the messages it sends (non-zero)
    /// @param setSize identifiers asked about (at least 1)
    /// @return sessionId the new session's id
    function open(
        uint256 requestId,
        Mode mode,
        bytes32 tag,
        bytes32 requestDigest,
        uint64 setSize
    ) external returns (uint256 sessionId);

    /// @notice Record the provider's signed commitment to its response; the session is Responded.
    /// @dev Caller: anyone (the requester as soon as it receives the response, or a relayer); the
    /// provider's signature is the authority. The session must be open; its grant live and its
    /// case active (the response is where the provider's data leaves it), the consortium not
    /// paused. Emits {MatchResponseRecorded}.
    function recordResponse(MatchResponse calldata response, IAccessLedger.PartySignature calldata provider) external;

    /// @notice Record a result signed by both parties; the session is Completed.
    /// @dev Caller: anyone. The session must be responded and the signed digests the recorded
    /// ones; cardinality ≤ min(setSize, providerSetSize). Accepted after the grant expired or
    /// was revoked and after the case ended (the data changed hands under the live grant the
    /// response needed; the result records what the requester learned from it), not during a
    /// pause. Emits {MatchCompleted}.
    function recordResult(
        MatchResult calldata result,
        IAccessLedger.PartySignature calldata provider,
        IAccessLedger.PartySignature calldata requester
    ) external;

    /// @notice Declare an open or responded session failed.
    /// @dev Caller: an active key of its requester or provider. Accepted during a pause and after
    /// the grant or the case ended: it only closes a session. Emits {MatchFailed}.
    /// @param reasonCode why (MATCH_FAILURE_* constants, 1 to 7)
    function fail(uint256 sessionId, uint16 reasonCode) external;

    /// @notice A session (all zero if it does not exist).
    function session(uint256 sessionId) external view returns (Session memory);

    /// @notice The session a tag names (id 0 and an all-zero session if none).
    function sessionByTag(bytes32 tag) external view returns (uint256 sessionId, Session memory);

    /// @notice Identifiers asked about in all sessions of `requestId` so far.
    function identifiersAsked(uint256 requestId) external view returns (uint64);

    /// @notice The EIP-712 digest the provider signs for `response`.
    function responseDigest(MatchResponse calldata response) external view returns (bytes32);

    /// @notice The EIP-712 digest both parties sign for `result`.
    function resultDigest(MatchResult calldata result) external view returns (bytes32);

    /// @notice The number of sessions ever opened.
    function sessionCount() external view returns (uint256);
}
