// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IConsortiumGuarded} from "../common/IConsortiumGuarded.sol";

/// @title IAccessLedger
/// @notice Datasets offered by providers, and the life of every access to them: request under
/// an approved case, grant or denial by the provider, deliveries attested by both sides as
/// EIP-712 typed data, revocation. Only commitments are recorded, never the data.
interface IAccessLedger is IConsortiumGuarded {
    /// @notice Lifecycle of a request.
    enum RequestStatus {
        None,
        Pending,
        Granted,
        Denied,
        Revoked,
        Withdrawn
    }

    /// @notice What a provider offers.
    struct Dataset {
        uint32 provider;
        uint8 dataKind;
        bool active;
        bytes32 schemaCommitment;
    }

    /// @notice A request and, once granted, the state of its grant.
    struct Request {
        uint64 caseId;
        uint32 requester;
        uint32 provider;
        uint64 datasetId;
        RequestStatus status;
        uint40 grantExpiresAt;
        uint64 maxRecords;
        uint64 deliveredRecords;
        uint32 deliveries;
    }

    /// @notice One delivery, as both sides sign it (EIP-712 types `Delivery` for the provider and
    /// `Acknowledgement` for the requester, with these fields in this order).
    /// @param requestId the granted request
    /// @param sequence the number of deliveries made before under this request (replay guard)
    /// @param payloadHash hash of the response payload
    /// @param recordCount records in the payload
    /// @param deadline last timestamp at which the attestation may be submitted
    struct Delivery {
        uint256 requestId;
        uint32 sequence;
        bytes32 payloadHash;
        uint64 recordCount;
        uint64 deadline;
    }

    /// @notice A signature of a delivery by one party: the key and its signature (65-byte ECDSA
    /// for accounts, anything the key's ERC-1271 `isValidSignature` accepts for contracts).
    struct PartySignature {
        address signer;
        bytes signature;
    }

    /// @notice A provider offered a dataset.
    /// @param datasetId the dataset
    /// @param provider the provider participant
    /// @param dataKind the kind of data (bit index in case scopes)
    /// @param schemaCommitment hash of the dataset's schema
    /// @param signer the key that sent the transaction
    event DatasetRegistered(
        uint64 indexed datasetId,
        uint32 indexed provider,
        uint8 dataKind,
        bytes32 schemaCommitment,
        address signer
    );

    /// @notice A provider withdrew a dataset; it accepts no new requests.
    /// @param datasetId the dataset
    /// @param provider the provider participant
    /// @param signer the key that sent the transaction
    event DatasetRetired(uint64 indexed datasetId, uint32 indexed provider, address signer);

    /// @notice A case party asked a provider for data.
    /// @param requestId the request
    /// @param caseId the case it is made under
    /// @param provider the provider asked
    /// @param requester the requesting participant
    /// @param datasetId the dataset
    /// @param dataKind the dataset's kind
    /// @param subjectCommitment keyed commitment of the query subject (never the identifier)
    /// @param purposeCode why (consortium code list)
    /// @param signer the key that sent the transaction
    event AccessRequested(
        uint256 indexed requestId,
        uint256 indexed caseId,
        uint32 indexed provider,
        uint32 requester,
        uint64 datasetId,
        uint8 dataKind,
        bytes32 subjectCommitment,
        uint16 purposeCode,
        address signer
    );

    /// @notice The requester withdrew its pending request; the provider can no longer answer it.
    /// @param requestId the request
    /// @param caseId its case
    /// @param requester the requesting participant
    /// @param provider the provider that was asked
    /// @param signer the key that sent the transaction
    event AccessRequestWithdrawn(
        uint256 indexed requestId,
        uint256 indexed caseId,
        uint32 indexed requester,
        uint32 provider,
        address signer
    );

    /// @notice The provider granted a request.
    /// @param requestId the request
    /// @param caseId its case
    /// @param provider the provider
    /// @param expiresAt first timestamp at which deliveries are no longer accepted
    /// @param maxRecords most records that may be delivered in all
    /// @param signer the key that sent the transaction
    event AccessGranted(
        uint256 indexed requestId,
        uint256 indexed caseId,
        uint32 indexed provider,
        uint40 expiresAt,
        uint64 maxRecords,
        address signer
    );

    /// @notice The provider denied a request.
    /// @param requestId the request
    /// @param caseId its case
    /// @param provider the provider
    /// @param reasonCode why (consortium code list)
    /// @param signer the key that sent the transaction
    event AccessDenied(
        uint256 indexed requestId,
        uint256 indexed caseId,
        uint32 indexed provider,
        uint16 reasonCode,
        address signer
    );

    /// @notice The provider revoked a grant; no further delivery is accepted.
    /// @param requestId the request
    /// @param caseId its case
    /// @param provider the provider
    /// @param reasonCode why (consortium code list)
    /// @param signer the key that sent the transaction
    event GrantRevoked(
        uint256 indexed requestId,
        uint256 indexed caseId,
        uint32 indexed provider,
        uint16 reasonCode,
        address signer
    );

    /// @notice A delivery, signed by the provider and acknowledged by the requester, was recorded.
    /// @param deliveryId the delivery
    /// @param requestId the request
    /// @param caseId its case
    /// @param providerId the provider participant
    /// @param requesterId the requesting participant
    /// @param delivery the signed fields
    /// @param provider the provider's signature
    /// @param requester the requester's signature
    /// @param submitter who sent the transaction (either party or a relayer)
    event DeliveryAttested(
        uint256 indexed deliveryId,
        uint256 indexed requestId,
        uint256 indexed caseId,
        uint32 providerId,
        uint32 requesterId,
        Delivery delivery,
        PartySignature provider,
        PartySignature requester,
        address submitter
    );

    /// @notice `datasetId` does not exist.
    error UnknownDataset(uint64 datasetId);
    /// @notice `datasetId` is not an active dataset of `provider`.
    error DatasetNotOffered(uint64 datasetId, uint32 provider);
    /// @notice `participantId` is not the provider of `datasetId`.
    error NotDatasetProvider(uint64 datasetId, uint32 participantId);
    /// @notice A zero commitment was given for `field`.
    error ZeroCommitment(string field);
    /// @notice `participantId` is neither the opener nor the approver of `caseId`.
    error NotCaseParty(uint256 caseId, uint32 participantId);
    /// @notice `participantId` asked itself for data: a delivery needs two institutions.
    error SelfRequest(uint32 participantId);
    /// @notice `provider` is not an active participant.
    error ProviderNotActive(uint32 provider);
    /// @notice Data kind `dataKind` is outside the scope `scope` of `caseId`.
    error DataKindOutOfScope(uint256 caseId, uint8 dataKind, uint256 scope);
    /// @notice `requestId` does not exist.
    error UnknownRequest(uint256 requestId);
    /// @notice `participantId` is not the provider asked in `requestId`.
    error NotRequestProvider(uint256 requestId, uint32 participantId);
    /// @notice `participantId` is not the participant that made `requestId`.
    error NotRequester(uint256 requestId, uint32 participantId);
    /// @notice `requestId` is `status`, not pending.
    error RequestNotPending(uint256 requestId, RequestStatus status);
    /// @notice `requestId` is `status`, not granted.
    error RequestNotGranted(uint256 requestId, RequestStatus status);
    /// @notice The grant expiry `expiresAt` is not in (now, `caseExpiry`].
    error InvalidGrantExpiry(uint40 expiresAt, uint40 caseExpiry);
    /// @notice A grant must allow at least one record.
    error ZeroMaxRecords();
    /// @notice The grant of `requestId` expired at `expiresAt`.
    error GrantExpired(uint256 requestId, uint40 expiresAt);
    /// @notice The attestation's deadline `deadline` has passed.
    error DeadlinePassed(uint64 deadline);
    /// @notice The delivery's sequence is `given`; the next one of `requestId` is `expected`.
    error InvalidSequence(uint256 requestId, uint32 expected, uint32 given);
    /// @notice Delivering would bring `requestId` to `total` records, above the grant's `maxRecords`.
    error RecordLimitExceeded(uint256 requestId, uint256 total, uint64 maxRecords);
    /// @notice `signer` speaks for participant `actual`; the delivery needs participant `expected`.
    error SignerNotParty(address signer, uint32 actual, uint32 expected);
    /// @notice The signature of `signer` does not match the delivery.
    error InvalidSignature(address signer);

    /// @notice Offer a dataset.
    /// @dev Caller: an active key of an active participant. Emits {DatasetRegistered}.
    /// @return datasetId the new dataset's id
    function registerDataset(uint8 dataKind, bytes32 schemaCommitment) external returns (uint64 datasetId);

    /// @notice Withdraw a dataset from new requests.
    /// @dev Caller: an active key of the dataset's provider. Emits {DatasetRetired}.
    function retireDataset(uint64 datasetId) external;

    /// @notice Ask a provider for data under a case.
    /// @dev Caller: an active key of the case's opener or approver. The case must be approved,
    /// open and unexpired, the provider active, the dataset its own and in the case's scope.
    /// Emits {AccessRequested}.
    /// @return requestId the new request's id
    function request(
        uint256 caseId,
        uint32 provider,
        uint64 datasetId,
        bytes32 subjectCommitment,
        uint16 purposeCode
    ) external returns (uint256 requestId);

    /// @notice Withdraw a pending request, so that it is no longer pending and can't be granted or
    /// denied; accepted after the case closed or expired and during an emergency pause too, since
    /// it only narrows access. A grant mined before the withdrawal wins (the withdrawal then reverts
    /// with {RequestNotPending}: revoking a grant is the provider's); one mined after reverts.
    /// @dev Caller: an active key of the requester. Emits {AccessRequestWithdrawn}.
    function withdrawRequest(uint256 requestId) external;

    /// @notice Grant a pending request of an active case, until `expiresAt` (exclusive, at most
    /// the case's expiry).
    /// @dev Caller: an active key of the provider asked. Emits {AccessGranted}.
    function grant(uint256 requestId, uint40 expiresAt, uint64 maxRecords) external;

    /// @notice Deny a pending request; accepted after the case closed or expired too, so that no
    /// request stays pending for ever.
    /// @dev Caller: an active key of the provider asked. Emits {AccessDenied}.
    function deny(uint256 requestId, uint16 reasonCode) external;

    /// @notice Revoke a grant; accepted after the case closed and during an emergency pause,
    /// since it only narrows access.
    /// @dev Caller: an active key of the provider. Emits {GrantRevoked}.
    function revokeGrant(uint256 requestId, uint16 reasonCode) external;

    /// @notice Record a delivery signed by the provider and acknowledged by the requester.
    /// @dev Caller: anyone (either party or a relayer); the signatures are the authority.
    /// Emits {DeliveryAttested}.
    /// @return deliveryId the new delivery's id
    function attestDelivery(
        Delivery calldata delivery,
        PartySignature calldata provider,
        PartySignature calldata requester
    ) external returns (uint256 deliveryId);

    /// @notice The EIP-712 digest the provider signs for `delivery`.
    function deliveryDigest(Delivery calldata delivery) external view returns (bytes32);

    /// @notice The EIP-712 digest the requester signs to acknowledge `delivery`.
    function acknowledgementDigest(Delivery calldata delivery) external view returns (bytes32);

    /// @notice A dataset.
    function dataset(uint64 datasetId) external view returns (Dataset memory);

    /// @notice A request.
    function getRequest(uint256 requestId) external view returns (Request memory);

    /// @notice Counters: datasets, requests and deliveries ever recorded.
    function counts() external view returns (uint64 datasets, uint64 requests, uint64 deliveries);
}
