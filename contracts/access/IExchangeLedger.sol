// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IConsortiumGuarded} from "../common/IConsortiumGuarded.sol";

/// @title IExchangeLedger
/// @notice The custody of a delivery's ciphertext, beside the access ledger's co-signed
/// attestation: the provider records that it offered a sealed export (the ciphertext's hash and
/// size, the requester's encryption key it is sealed to, how long it keeps it after the
/// acknowledgement) and, later, that it deleted it and why. The acknowledgement itself stays the
/// access ledger's {IAccessLedger-DeliveryAttested} for the same (requestId, sequence).
/// @dev One concern per contract: the access ledger is near its size budget and its `Delivery`
/// type is signed by both parties; an offer is the provider's word alone, so it needs no
/// signature beyond the transaction.
///
/// An offer is identified by (requestId, sequence) and numbered from 1 across all requests
/// (`offerId`). At most one offer of a (requestId, sequence) is live at a time. A provider that
/// re-seals a delivery (the requester rotated its key before fetching) first records the purge of
/// the earlier ciphertext with reason {PurgeReason.Superseded}, then offers again: every
/// ciphertext that ever existed thus has its own offer and its own purge on chain, and an offer is
/// never replaced silently. A purged offer's record stays, reachable by its `offerId`.
///
/// The purge reason is the provider's statement; the tracer checks it against the chain (a
/// revocation, the case's closure, the acknowledgement's time plus the retention).
interface IExchangeLedger is IConsortiumGuarded {
    /// @notice The state of an offer.
    enum OfferState {
        None,
        Offered,
        Purged
    }

    /// @notice Why a ciphertext was deleted.
    enum PurgeReason {
        // The retention period after the acknowledgement ran out.
        Retention,
        // The grant was revoked.
        Revoked,
        // The case was closed.
        CaseClosed,
        // The grant or the case expired, or the offer was never fetched in time.
        Expired,
        // A later offer of the same delivery replaces it (re-sealed, for example to a new key).
        Superseded
    }

    /// @notice One offered ciphertext and what became of it.
    /// @param provider the provider participant that offered it
    /// @param requester the requesting participant it is sealed for
    /// @param sequence the delivery's sequence under its request (the access ledger's)
    /// @param state offered or purged
    /// @param reason why it was purged (meaningful once purged)
    /// @param offeredAt when it was offered
    /// @param purgedAt when its purge was recorded (0: not yet)
    /// @param retentionSeconds how long the provider keeps it after the acknowledgement
    /// @param recipientKeyId the requester's encryption key it is sealed to (EncryptionKeyRegistry)
    /// @param ciphertextBytes the ciphertext's size
    /// @param requestId the access ledger's request
    /// @param payloadHash the plaintext commitment the delivery attests
    /// @param ciphertextHash SHA-256 of the ciphertext as served
    struct Offer {
        uint32 provider;
        uint32 requester;
        uint32 sequence;
        OfferState state;
        PurgeReason reason;
        uint40 offeredAt;
        uint40 purgedAt;
        uint32 retentionSeconds;
        uint64 recipientKeyId;
        uint64 ciphertextBytes;
        uint256 requestId;
        bytes32 payloadHash;
        bytes32 ciphertextHash;
    }

    /// @notice A provider offered a sealed delivery to the requester.
    /// @param requestId the access ledger's request
    /// @param provider the provider participant
    /// @param requester the requesting participant
    /// @param offerId the offer's id
    /// @param caseId the request's case
    /// @param sequence the delivery's sequence under the request
    /// @param payloadHash the plaintext commitment the `Delivery` will attest
    /// @param ciphertextHash SHA-256 of the ciphertext
    /// @param ciphertextBytes the ciphertext's size
    /// @param recipientKeyId the requester's encryption key the ciphertext is sealed to
    /// @param retentionSeconds how long the provider keeps it after the acknowledgement
    /// @param signer the key that sent the transaction
    event DeliveryOffered(
        uint256 indexed requestId,
        uint32 indexed provider,
        uint32 indexed requester,
        uint64 offerId,
        uint256 caseId,
        uint32 sequence,
        bytes32 payloadHash,
        bytes32 ciphertextHash,
        uint64 ciphertextBytes,
        uint64 recipientKeyId,
        uint32 retentionSeconds,
        address signer
    );

    /// @notice A provider recorded that it deleted an offered ciphertext.
    /// @param requestId the access ledger's request
    /// @param provider the provider participant
    /// @param requester the requesting participant
    /// @param offerId the purged offer
    /// @param caseId the request's case
    /// @param sequence the delivery's sequence under the request
    /// @param reason why
    /// @param signer the key that sent the transaction
    event DeliveryPurged(
        uint256 indexed requestId,
        uint32 indexed provider,
        uint32 indexed requester,
        uint64 offerId,
        uint256 caseId,
        uint32 sequence,
        PurgeReason reason,
        address signer
    );

    /// @notice An institution published where its gateway serves (an empty URL withdraws it).
    /// @param participantId the institution
    /// @param url the gateway's base URL
    /// @param signer the key that sent the transaction
    event GatewaySet(uint32 indexed participantId, string url, address signer);

    /// @notice Sequence `sequence` of `requestId` was already delivered: `delivered` deliveries are
    /// recorded, so the next one is `delivered`.
    error SequenceAlreadyDelivered(uint256 requestId, uint32 delivered, uint32 sequence);
    /// @notice `recipientKeyId` is not the current encryption key of the requester `requester`,
    /// which is `currentKeyId`.
    error RecipientKeyNotCurrent(uint32 requester, uint64 currentKeyId, uint64 recipientKeyId);
    /// @notice A zero hash was given for `field`.
    error ZeroHash(string field);
    /// @notice An offer of no bytes.
    error EmptyCiphertext();
    /// @notice Offer `offerId` of (`requestId`, `sequence`) is still live: purge it (reason
    /// Superseded) before offering the same delivery again.
    error OfferStillLive(uint256 requestId, uint32 sequence, uint64 offerId);
    /// @notice (`requestId`, `sequence`) was never offered.
    error UnknownOffer(uint256 requestId, uint32 sequence);
    /// @notice The latest offer `offerId` of (`requestId`, `sequence`) was already purged.
    error OfferAlreadyPurged(uint256 requestId, uint32 sequence, uint64 offerId);
    /// @notice The gateway URL is `length` bytes, above `max`.
    error GatewayUrlTooLong(uint256 length, uint256 max);

    /// @notice Record an offer of a sealed delivery.
    /// @dev Caller: an active signing key of the request's provider, the consortium not paused.
    /// The request must be granted, its grant unexpired, its case active, `sequence` not yet
    /// delivered, `recipientKeyId` the requester's current encryption key, and no other offer of
    /// (`requestId`, `sequence`) live. Reverts with the access ledger's {UnknownRequest},
    /// {NotRequestProvider}, {RequestNotGranted}, {GrantExpired}, the case registry's errors, the
    /// encryption key registry's {NoEncryptionKey} or {ParticipantNotActive}, or this contract's.
    /// Emits {DeliveryOffered}.
    /// @return offerId the new offer's id
    function offer(
        uint256 requestId,
        uint32 sequence,
        bytes32 payloadHash,
        bytes32 ciphertextHash,
        uint64 ciphertextBytes,
        uint64 recipientKeyId,
        uint32 retentionSeconds
    ) external returns (uint64 offerId);

    /// @notice Record the deletion of the live offer of (`requestId`, `sequence`).
    /// @dev Caller: an active signing key of the request's provider. Accepted during an emergency
    /// pause and after the grant or case ended: it only narrows what exists. Once per offer.
    /// Emits {DeliveryPurged}.
    /// @return offerId the purged offer
    function recordPurge(uint256 requestId, uint32 sequence, PurgeReason reason) external returns (uint64 offerId);

    /// @notice Publish (or, with "", withdraw) the caller's institution's gateway URL, so that
    /// requesters find it without configuration.
    /// @dev Caller: an active signing key of an active participant. At most 256 bytes; the URL is
    /// a hint, the gateway still proves itself by the ledger's keys. Emits {GatewaySet}.
    function setGateway(string calldata url) external;

    /// @notice The latest offer of (`requestId`, `sequence`): its id (0: never offered) and record.
    function offerOf(uint256 requestId, uint32 sequence) external view returns (uint64 offerId, Offer memory);

    /// @notice An offer by id, live or purged (all zero for an unknown id).
    function getOffer(uint64 offerId) external view returns (Offer memory);

    /// @notice The number of offers ever recorded (the highest offer id).
    function offerCount() external view returns (uint64);

    /// @notice The gateway URL `participantId` published ("" when none).
    function gatewayOf(uint32 participantId) external view returns (string memory);
}
