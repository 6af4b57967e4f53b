// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IParticipantRegistry} from "../registry/IParticipantRegistry.sol";
import {IEncryptionKeyRegistry} from "../registry/IEncryptionKeyRegistry.sol";
import {ICaseRegistry} from "../cases/ICaseRegistry.sol";
import {IAccessLedger} from "./IAccessLedger.sol";
import {IExchangeLedger} from "./IExchangeLedger.sol";
import {ConsortiumGuarded} from "../common/ConsortiumGuarded.sol";

/// @title ExchangeLedger
/// @notice Offers of sealed deliveries and their purges, and the institutions' gateway URLs.
/// @dev Reads the request, its grant and its delivered count from the access ledger, the case's
/// state from the case registry and the requester's current key from the encryption key
/// registry: a rule those contracts hold is asked of them, never copied here.
contract ExchangeLedger is IExchangeLedger, ConsortiumGuarded {
    /// @notice Longest gateway URL accepted, in bytes.
    uint256 public constant MAX_GATEWAY_URL_BYTES = 256;

    /// @notice The case registry whose cases the requests are made under.
    ICaseRegistry public immutable cases;
    /// @notice The access ledger whose requests are offered against.
    IAccessLedger public immutable access;
    /// @notice The registry of the requesters' encryption keys.
    IEncryptionKeyRegistry public immutable keys;

    mapping(uint64 offerId => Offer) private _offers;
    mapping(uint256 requestId => mapping(uint32 sequence => uint64 offerId)) private _latest;
    mapping(uint32 participantId => string url) private _gateways;
    uint64 private _offerCount;

    /// @param registry_ the consortium's participant registry
    /// @param cases_ the consortium's case registry
    /// @param access_ the consortium's access ledger
    /// @param keys_ the consortium's encryption key registry
    constructor(
        IParticipantRegistry registry_,
        ICaseRegistry cases_,
        IAccessLedger access_,
        IEncryptionKeyRegistry keys_
    ) ConsortiumGuarded(registry_) {
        cases = cases_;
        access = access_;
        keys = keys_;
    }

    // ------------------------------------------------------------------ offers

    /// @inheritdoc IExchangeLedger
    function offer(
        uint256 requestId,
        uint32 sequence,
        bytes32 payloadHash,
        bytes32 ciphertextHash,
        uint64 ciphertextBytes,
        uint64 recipientKeyId,
        uint32 retentionSeconds
    ) external returns (uint64 offerId) {
        uint32 caller = _activeCaller();
        IAccessLedger.Request memory r = _requestOf(requestId, caller);
        if (r.status != IAccessLedger.RequestStatus.Granted) {
            revert IAccessLedger.RequestNotGranted(requestId, r.status);
        }
        // As the access ledger: a grant is valid strictly before its expiry.
        if (block.timestamp >= r.grantExpiresAt) revert IAccessLedger.GrantExpired(requestId, r.grantExpiresAt);
        cases.requireActive(r.caseId);
        if (sequence < r.deliveries) revert SequenceAlreadyDelivered(requestId, r.deliveries, sequence);
        if (payloadHash == bytes32(0)) revert ZeroHash("payloadHash");
        if (ciphertextHash == bytes32(0)) revert ZeroHash("ciphertextHash");
        if (ciphertextBytes == 0) revert EmptyCiphertext();
        // currentKey also refuses a requester that is no longer active.
        (uint64 current, ) = keys.currentKey(r.requester);
        if (recipientKeyId != current) revert RecipientKeyNotCurrent(r.requester, current, recipientKeyId);
        uint64 previous = _latest[requestId][sequence];
        if (previous != 0 && _offers[previous].state == OfferState.Offered) {
            revert OfferStillLive(requestId, sequence, previous);
        }

        offerId = ++_offerCount;
        _offers[offerId] = Offer({
            provider: caller,
            requester: r.requester,
            sequence: sequence,
            state: OfferState.Offered,
            reason: PurgeReason.Retention,
            offeredAt: uint40(block.timestamp),
            purgedAt: 0,
            retentionSeconds: retentionSeconds,
            recipientKeyId: recipientKeyId,
            ciphertextBytes: ciphertextBytes,
            requestId: requestId,
            payloadHash: payloadHash,
            ciphertextHash: ciphertextHash
        });
        _latest[requestId][sequence] = offerId;
        _emitOffered(offerId, r.caseId);
    }

    /// @inheritdoc IExchangeLedger
    function recordPurge(uint256 requestId, uint32 sequence, PurgeReason reason) external returns (uint64 offerId) {
        // A purge only narrows what exists: it is accepted during an emergency pause too.
        (uint32 caller, ) = registry.activeParticipantOf(msg.sender);
        IAccessLedger.Request memory r = _requestOf(requestId, caller);
        offerId = _latest[requestId][sequence];
        if (offerId == 0) revert UnknownOffer(requestId, sequence);
        Offer storage o = _offers[offerId];
        if (o.state != OfferState.Offered) revert OfferAlreadyPurged(requestId, sequence, offerId);
        o.state = OfferState.Purged;
        o.reason = reason;
        o.purgedAt = uint40(block.timestamp);
        emit DeliveryPurged(requestId, caller, r.requester, offerId, r.caseId, sequence, reason, msg.sender);
    }

    // ------------------------------------------------------------------ gateways

    /// @inheritdoc IExchangeLedger
    function setGateway(string calldata url) external {
        uint32 caller = _activeCaller();
        if (bytes(url).length > MAX_GATEWAY_URL_BYTES) {
            revert GatewayUrlTooLong(bytes(url).length, MAX_GATEWAY_URL_BYTES);
        }
        _gateways[caller] = url;
        emit GatewaySet(caller, url, msg.sender);
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IExchangeLedger
    function offerOf(uint256 requestId, uint32 sequence) external view returns (uint64 offerId, Offer memory) {
        offerId = _latest[requestId][sequence];
        return (offerId, _offers[offerId]);
    }

    /// @inheritdoc IExchangeLedger
    function getOffer(uint64 offerId) external view returns (Offer memory) {
        return _offers[offerId];
    }

    /// @inheritdoc IExchangeLedger
    function offerCount() external view returns (uint64) {
        return _offerCount;
    }

    /// @inheritdoc IExchangeLedger
    function gatewayOf(uint32 participantId) external view returns (string memory) {
        return _gateways[participantId];
    }

    // ------------------------------------------------------------------ internals

    /// @dev Emits {DeliveryOffered} for a stored offer (from storage: the offer's fields would not
    /// fit the stack beside the caller's locals).
    function _emitOffered(uint64 offerId, uint64 caseId) private {
        Offer storage o = _offers[offerId];
        emit DeliveryOffered(
            o.requestId,
            o.provider,
            o.requester,
            offerId,
            caseId,
            o.sequence,
            o.payloadHash,
            o.ciphertextHash,
            o.ciphertextBytes,
            o.recipientKeyId,
            o.retentionSeconds,
            msg.sender
        );
    }

    /// @dev The request, which must exist and be `caller`'s as its provider.
    function _requestOf(uint256 requestId, uint32 caller) private view returns (IAccessLedger.Request memory r) {
        r = access.getRequest(requestId);
        if (r.status == IAccessLedger.RequestStatus.None) revert IAccessLedger.UnknownRequest(requestId);
        if (r.provider != caller) revert IAccessLedger.NotRequestProvider(requestId, caller);
    }
}
