// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {IParticipantRegistry} from "../registry/IParticipantRegistry.sol";
import {ICaseRegistry} from "../cases/ICaseRegistry.sol";
import {IAccessLedger} from "./IAccessLedger.sol";
import {ConsortiumGuarded} from "../common/ConsortiumGuarded.sol";

/// @title AccessLedger
/// @notice Requests, withdrawals, grants, denials, revocations and co-signed deliveries.
/// @dev Replay protection: the EIP-712 domain binds a signature to this chain and this
/// contract; the per-request sequence binds it to one delivery; the deadline bounds its life.
contract AccessLedger is IAccessLedger, ConsortiumGuarded, EIP712 {
    /// @notice EIP-712 type the provider signs.
    bytes32 public constant DELIVERY_TYPEHASH = keccak256(
        "Delivery(uint256 requestId,uint32 sequence,bytes32 payloadHash,uint64 recordCount,uint64 deadline)"
    );
    /// @notice EIP-712 type the requester signs.
    bytes32 public constant ACKNOWLEDGEMENT_TYPEHASH = keccak256(
        "Acknowledgement(uint256 requestId,uint32 sequence,bytes32 payloadHash,uint64 recordCount,uint64 deadline)"
    );

    /// @notice The case registry this ledger trusts.
    ICaseRegistry public immutable cases;

    mapping(uint64 datasetId => Dataset) private _datasets;
    mapping(uint256 requestId => Request) private _requests;
    uint64 private _datasetCount;
    uint64 private _requestCount;
    uint64 private _deliveryCount;

    /// @param registry_ the consortium's participant registry
    /// @param cases_ the consortium's case registry
    constructor(
        IParticipantRegistry registry_,
        ICaseRegistry cases_
    ) ConsortiumGuarded(registry_) EIP712("Veritrace Access Ledger", "1") {
        cases = cases_;
    }

    // ------------------------------------------------------------------ datasets

    /// @inheritdoc IAccessLedger
    function registerDataset(uint8 dataKind, bytes32 schemaCommitment) external returns (uint64 datasetId) {
        uint32 provider = _activeCaller();
        if (schemaCommitment == bytes32(0)) revert ZeroCommitment("schemaCommitment");
        datasetId = ++_datasetCount;
        _datasets[datasetId] = Dataset({
            provider: provider,
            dataKind: dataKind,
            active: true,
            schemaCommitment: schemaCommitment
        });
        emit DatasetRegistered(datasetId, provider, dataKind, schemaCommitment, msg.sender);
    }

    /// @inheritdoc IAccessLedger
    function retireDataset(uint64 datasetId) external {
        uint32 caller = _activeCaller();
        Dataset storage d = _datasets[datasetId];
        if (d.provider == 0) revert UnknownDataset(datasetId);
        if (d.provider != caller) revert NotDatasetProvider(datasetId, caller);
        if (!d.active) revert DatasetNotOffered(datasetId, caller);
        d.active = false;
        emit DatasetRetired(datasetId, caller, msg.sender);
    }

    // ------------------------------------------------------------------ requests

    /// @inheritdoc IAccessLedger
    function request(
        uint256 caseId,
        uint32 provider,
        uint64 datasetId,
        bytes32 subjectCommitment,
        uint16 purposeCode
    ) external returns (uint256 requestId) {
        uint32 requester = _activeCaller();
        (uint32 opener, uint32 approver) = cases.requireActive(caseId);
        if (requester != opener && requester != approver) revert NotCaseParty(caseId, requester);
        // One institution signing both sides of a delivery would defeat the co-signature.
        if (provider == requester) revert SelfRequest(requester);
        if (!registry.isActive(provider)) revert ProviderNotActive(provider);
        Dataset storage d = _datasets[datasetId];
        if (d.provider != provider || !d.active) revert DatasetNotOffered(datasetId, provider);
        uint8 kind = d.dataKind;
        uint256 scope = cases.scopeOf(caseId);
        if ((scope >> kind) & 1 == 0) revert DataKindOutOfScope(caseId, kind, scope);
        if (subjectCommitment == bytes32(0)) revert ZeroCommitment("subjectCommitment");

        requestId = ++_requestCount;
        _requests[requestId] = Request({
            caseId: uint64(caseId),
            requester: requester,
            provider: provider,
            datasetId: datasetId,
            status: RequestStatus.Pending,
            grantExpiresAt: 0,
            maxRecords: 0,
            deliveredRecords: 0,
            deliveries: 0
        });
        emit AccessRequested(
            requestId,
            caseId,
            provider,
            requester,
            datasetId,
            kind,
            subjectCommitment,
            purposeCode,
            msg.sender
        );
    }

    /// @inheritdoc IAccessLedger
    function withdrawRequest(uint256 requestId) external {
        // Withdrawing only narrows access: it is accepted during an emergency pause too.
        (uint32 caller, ) = registry.activeParticipantOf(msg.sender);
        Request storage r = _existingRequest(requestId);
        if (r.requester != caller) revert NotRequester(requestId, caller);
        if (r.status != RequestStatus.Pending) revert RequestNotPending(requestId, r.status);
        r.status = RequestStatus.Withdrawn;
        emit AccessRequestWithdrawn(requestId, r.caseId, caller, r.provider, msg.sender);
    }

    /// @inheritdoc IAccessLedger
    function grant(uint256 requestId, uint40 expiresAt, uint64 maxRecords) external {
        Request storage r = _pendingForProvider(requestId);
        cases.requireActive(r.caseId);
        uint40 caseExpiry = cases.getCase(r.caseId).expiresAt;
        if (expiresAt <= block.timestamp || expiresAt > caseExpiry) revert InvalidGrantExpiry(expiresAt, caseExpiry);
        if (maxRecords == 0) revert ZeroMaxRecords();
        r.status = RequestStatus.Granted;
        r.grantExpiresAt = expiresAt;
        r.maxRecords = maxRecords;
        emit AccessGranted(requestId, r.caseId, r.provider, expiresAt, maxRecords, msg.sender);
    }

    /// @inheritdoc IAccessLedger
    function deny(uint256 requestId, uint16 reasonCode) external {
        Request storage r = _pendingForProvider(requestId);
        r.status = RequestStatus.Denied;
        emit AccessDenied(requestId, r.caseId, r.provider, reasonCode, msg.sender);
    }

    /// @inheritdoc IAccessLedger
    function revokeGrant(uint256 requestId, uint16 reasonCode) external {
        // Revocation only narrows access: it is accepted during an emergency pause too.
        (uint32 caller, ) = registry.activeParticipantOf(msg.sender);
        Request storage r = _existingRequest(requestId);
        if (r.provider != caller) revert NotRequestProvider(requestId, caller);
        if (r.status != RequestStatus.Granted) revert RequestNotGranted(requestId, r.status);
        r.status = RequestStatus.Revoked;
        emit GrantRevoked(requestId, r.caseId, caller, reasonCode, msg.sender);
    }

    // ------------------------------------------------------------------ deliveries

    /// @inheritdoc IAccessLedger
    function attestDelivery(
        Delivery calldata delivery,
        PartySignature calldata provider,
        PartySignature calldata requester
    ) external whenNotPaused returns (uint256 deliveryId) {
        uint256 requestId = delivery.requestId;
        Request storage r = _existingRequest(requestId);
        if (r.status != RequestStatus.Granted) revert RequestNotGranted(requestId, r.status);
        // Like a case, a grant is valid strictly before its expiry.
        if (block.timestamp >= r.grantExpiresAt) revert GrantExpired(requestId, r.grantExpiresAt);
        if (block.timestamp > delivery.deadline) revert DeadlinePassed(delivery.deadline);
        if (delivery.sequence != r.deliveries) revert InvalidSequence(requestId, r.deliveries, delivery.sequence);
        uint256 total = uint256(r.deliveredRecords) + delivery.recordCount;
        if (total > r.maxRecords) revert RecordLimitExceeded(requestId, total, r.maxRecords);
        cases.requireActive(r.caseId);

        _checkParty(provider, r.provider, _hash(DELIVERY_TYPEHASH, delivery));
        _checkParty(requester, r.requester, _hash(ACKNOWLEDGEMENT_TYPEHASH, delivery));

        // total ≤ maxRecords, a uint64, so the narrowing is exact; deliveries < 2^32 because
        // the sequence signed, a uint32, equals it.
        r.deliveredRecords = uint64(total);
        r.deliveries = delivery.sequence + 1;
        deliveryId = ++_deliveryCount;
        emit DeliveryAttested(
            deliveryId,
            requestId,
            r.caseId,
            r.provider,
            r.requester,
            delivery,
            provider,
            requester,
            msg.sender
        );
    }

    /// @inheritdoc IAccessLedger
    function deliveryDigest(Delivery calldata delivery) external view returns (bytes32) {
        return _hash(DELIVERY_TYPEHASH, delivery);
    }

    /// @inheritdoc IAccessLedger
    function acknowledgementDigest(Delivery calldata delivery) external view returns (bytes32) {
        return _hash(ACKNOWLEDGEMENT_TYPEHASH, delivery);
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IAccessLedger
    function dataset(uint64 datasetId) external view returns (Dataset memory) {
        return _datasets[datasetId];
    }

    /// @inheritdoc IAccessLedger
    function getRequest(uint256 requestId) external view returns (Request memory) {
        return _requests[requestId];
    }

    /// @inheritdoc IAccessLedger
    function counts() external view returns (uint64 datasets, uint64 requests, uint64 deliveries) {
        return (_datasetCount, _requestCount, _deliveryCount);
    }

    // ------------------------------------------------------------------ internals

    function _existingRequest(uint256 requestId) private view returns (Request storage r) {
        r = _requests[requestId];
        if (r.status == RequestStatus.None) revert UnknownRequest(requestId);
    }

    function _pendingForProvider(uint256 requestId) private view returns (Request storage r) {
        uint32 caller = _activeCaller();
        r = _existingRequest(requestId);
        if (r.provider != caller) revert NotRequestProvider(requestId, caller);
        if (r.status != RequestStatus.Pending) revert RequestNotPending(requestId, r.status);
    }

    function _checkParty(PartySignature calldata party, uint32 expected, bytes32 digest) private view {
        (uint32 actual, ) = registry.activeParticipantOf(party.signer);
        if (actual != expected) revert SignerNotParty(party.signer, actual, expected);
        if (!SignatureChecker.isValidSignatureNowCalldata(party.signer, digest, party.signature)) {
            revert InvalidSignature(party.signer);
        }
    }

    function _hash(bytes32 typehash, Delivery calldata d) private view returns (bytes32) {
        return
            _hashTypedDataV4(
                keccak256(abi.encode(typehash, d.requestId, d.sequence, d.payloadHash, d.recordCount, d.deadline))
            );
    }
}
