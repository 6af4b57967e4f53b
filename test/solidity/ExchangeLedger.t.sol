// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IParticipantRegistry} from "../../contracts/registry/IParticipantRegistry.sol";
import {ICaseRegistry} from "../../contracts/cases/ICaseRegistry.sol";
import {IAccessLedger} from "../../contracts/access/IAccessLedger.sol";
import {IConsortiumGuarded} from "../../contracts/common/IConsortiumGuarded.sol";
import {EncryptionKeyRegistry} from "../../contracts/registry/EncryptionKeyRegistry.sol";
import {IEncryptionKeyRegistry} from "../../contracts/registry/IEncryptionKeyRegistry.sol";
import {ExchangeLedger} from "../../contracts/access/ExchangeLedger.sol";
import {IExchangeLedger} from "../../contracts/access/IExchangeLedger.sol";
import {LedgerFixture} from "./AccessLedger.t.sol";

/// @notice The access ledger's fixture (police requests from the bank under an approved case),
/// with an encryption key registry where police and the telecom operator hold keys, and an
/// exchange ledger over both.
abstract contract ExchangeFixture is LedgerFixture {
    EncryptionKeyRegistry internal keys;
    ExchangeLedger internal exchange;
    uint64 internal policeKey;
    uint64 internal telecomKey;
    uint256 internal requestId;

    bytes32 internal constant PAYLOAD = keccak256("salted commitment");
    bytes32 internal constant CIPHERTEXT = keccak256("ciphertext");
    uint64 internal constant BYTES = 4096;
    uint32 internal constant RETENTION = 7 days;

    function _setUpExchange() internal {
        _setUpLedger();
        keys = new EncryptionKeyRegistry(registry);
        exchange = new ExchangeLedger(registry, cases, ledger, keys);
        vm.prank(police.key);
        policeKey = keys.registerKey(keccak256("police x25519"), 0);
        vm.prank(telecom.key);
        telecomKey = keys.registerKey(keccak256("telecom x25519"), 0);
        requestId = _grantedRequest(1000);
    }

    /// @dev The bank's offer of `sequence` sealed to `keyId`; expects `reason` when not empty.
    function _offer(uint32 sequence, uint64 keyId, bytes memory reason) internal returns (uint64) {
        return _offerAs(bank.key, sequence, keyId, reason);
    }

    function _offerAs(address key, uint32 sequence, uint64 keyId, bytes memory reason) internal returns (uint64) {
        if (reason.length > 0) vm.expectRevert(reason);
        vm.prank(key);
        return exchange.offer(requestId, sequence, PAYLOAD, CIPHERTEXT, BYTES, keyId, RETENTION);
    }

    function _purge(uint32 sequence, IExchangeLedger.PurgeReason reason) internal returns (uint64) {
        vm.prank(bank.key);
        return exchange.recordPurge(requestId, sequence, reason);
    }
}

/// @notice Offers, purges and gateways, rule by rule, with the attacks each rule stops.
contract ExchangeLedgerTest is ExchangeFixture {
    function setUp() public {
        _setUpExchange();
    }

    // ------------------------------------------------------------------ offer

    function test_Offer_RecordsTheCiphertextAndItsRecipient() public {
        uint64 id = _offer(0, policeKey, "");
        assertEq(id, 1, "offers are numbered from 1");
        assertEq(exchange.offerCount(), 1, "one offer");
        (uint64 latest, IExchangeLedger.Offer memory o) = exchange.offerOf(requestId, 0);
        assertEq(latest, id, "the latest offer of (request, 0)");
        assertTrue(o.state == IExchangeLedger.OfferState.Offered, "offered");
        assertEq(o.provider, bank.id, "provider");
        assertEq(o.requester, police.id, "requester");
        assertEq(o.requestId, requestId, "request");
        assertEq(o.sequence, 0, "sequence");
        assertEq(o.payloadHash, PAYLOAD, "payload hash");
        assertEq(o.ciphertextHash, CIPHERTEXT, "ciphertext hash");
        assertEq(o.ciphertextBytes, BYTES, "bytes");
        assertEq(o.recipientKeyId, policeKey, "recipient key");
        assertEq(o.retentionSeconds, RETENTION, "retention");
        assertEq(o.offeredAt, block.timestamp, "offered now");
        assertEq(o.purgedAt, 0, "not purged");
        assertEq(exchange.getOffer(id).ciphertextHash, CIPHERTEXT, "by id too");
    }

    function test_Offer_AcceptsSeveralSequencesAhead() public {
        _offer(0, policeKey, "");
        _offer(1, policeKey, "");
        assertEq(exchange.offerCount(), 2, "two live offers of two deliveries");
    }

    function test_Offer_RevertsForAKeyOfAnotherInstitution() public {
        _offerAs(
            telecom.key,
            0,
            policeKey,
            abi.encodeWithSelector(IAccessLedger.NotRequestProvider.selector, requestId, telecom.id)
        );
        // Nor the requester itself.
        _offerAs(
            police.key,
            0,
            policeKey,
            abi.encodeWithSelector(IAccessLedger.NotRequestProvider.selector, requestId, police.id)
        );
    }

    function test_Offer_RevertsForAnOutsider() public {
        address outsider = vm.addr(0xBAD);
        _offerAs(
            outsider,
            0,
            policeKey,
            abi.encodeWithSelector(IParticipantRegistry.UnknownSigningKey.selector, outsider)
        );
    }

    function test_Offer_RevertsForASigningKeyTheCouncilRemoved() public {
        address spare = vm.addr(0xA33);
        _pass(IParticipantRegistry.Action.AddSigningKey, abi.encode(bank.id, spare));
        _pass(IParticipantRegistry.Action.RemoveSigningKey, abi.encode(bank.id, bank.key));
        _offer(0, policeKey, abi.encodeWithSelector(IParticipantRegistry.UnknownSigningKey.selector, bank.key));
        // The bank's rotated-in key offers.
        _offerAs(spare, 0, policeKey, "");
    }

    function test_Offer_RevertsForASuspendedProvider() public {
        _pass(IParticipantRegistry.Action.Suspend, abi.encode(bank.id));
        _offer(
            0,
            policeKey,
            abi.encodeWithSelector(
                IParticipantRegistry.ParticipantNotActive.selector,
                bank.id,
                IParticipantRegistry.Status.Suspended
            )
        );
    }

    function test_Offer_RevertsForAnUnknownRequest() public {
        vm.expectRevert(abi.encodeWithSelector(IAccessLedger.UnknownRequest.selector, 99));
        vm.prank(bank.key);
        exchange.offer(99, 0, PAYLOAD, CIPHERTEXT, BYTES, policeKey, RETENTION);
    }

    function test_Offer_RevertsForARevokedGrant() public {
        vm.prank(bank.key);
        ledger.revokeGrant(requestId, 1);
        _offer(
            0,
            policeKey,
            abi.encodeWithSelector(
                IAccessLedger.RequestNotGranted.selector,
                requestId,
                IAccessLedger.RequestStatus.Revoked
            )
        );
    }

    function test_Offer_RevertsForAPendingWithdrawnOrDeniedRequest() public {
        vm.prank(police.key);
        requestId = ledger.request(caseId, bank.id, datasetId, keccak256("subject 2"), 1);
        _offer(
            0,
            policeKey,
            abi.encodeWithSelector(
                IAccessLedger.RequestNotGranted.selector,
                requestId,
                IAccessLedger.RequestStatus.Pending
            )
        );
        vm.prank(police.key);
        ledger.withdrawRequest(requestId);
        _offer(
            0,
            policeKey,
            abi.encodeWithSelector(
                IAccessLedger.RequestNotGranted.selector,
                requestId,
                IAccessLedger.RequestStatus.Withdrawn
            )
        );
        vm.prank(police.key);
        requestId = ledger.request(caseId, bank.id, datasetId, keccak256("subject 3"), 1);
        vm.prank(bank.key);
        ledger.deny(requestId, 2);
        _offer(
            0,
            policeKey,
            abi.encodeWithSelector(
                IAccessLedger.RequestNotGranted.selector,
                requestId,
                IAccessLedger.RequestStatus.Denied
            )
        );
    }

    function test_Offer_RevertsAtTheGrantsExpiry() public {
        uint40 expiry = ledger.getRequest(requestId).grantExpiresAt;
        vm.warp(expiry - 1);
        _offer(0, policeKey, "");
        vm.warp(expiry);
        _offer(1, policeKey, abi.encodeWithSelector(IAccessLedger.GrantExpired.selector, requestId, expiry));
    }

    function test_Offer_RevertsForAClosedCase() public {
        vm.prank(police.key);
        cases.closeCase(caseId, 1);
        _offer(0, policeKey, abi.encodeWithSelector(ICaseRegistry.CaseIsClosed.selector, caseId));
    }

    function test_Offer_RevertsWhilePaused() public {
        vm.prank(council[0].key);
        registry.pause();
        _offer(0, policeKey, abi.encodeWithSelector(IConsortiumGuarded.ConsortiumPaused.selector));
    }

    function test_Offer_RevertsForADeliveredSequence() public {
        _attest(_delivery(requestId, 0, 10), "");
        _offer(
            0,
            policeKey,
            abi.encodeWithSelector(IExchangeLedger.SequenceAlreadyDelivered.selector, requestId, 1, 0)
        );
        _offer(1, policeKey, "");
    }

    function test_Offer_RevertsForARecipientKeyOfAThirdInstitution() public {
        _offer(
            0,
            telecomKey,
            abi.encodeWithSelector(IExchangeLedger.RecipientKeyNotCurrent.selector, police.id, policeKey, telecomKey)
        );
    }

    function test_Offer_RevertsForARotatedAwayRecipientKey() public {
        vm.prank(police.key);
        uint64 next = keys.registerKey(keccak256("police x25519 #2"), policeKey);
        _offer(
            0,
            policeKey,
            abi.encodeWithSelector(IExchangeLedger.RecipientKeyNotCurrent.selector, police.id, next, policeKey)
        );
        _offer(0, next, "");
    }

    function test_Offer_RevertsForARevokedRecipientKey() public {
        vm.prank(police.key);
        keys.revokeKey(policeKey, 1);
        _offer(0, policeKey, abi.encodeWithSelector(IEncryptionKeyRegistry.NoEncryptionKey.selector, police.id));
    }

    function test_Offer_RevertsForZeroHashesOrNoBytes() public {
        vm.startPrank(bank.key);
        vm.expectRevert(abi.encodeWithSelector(IExchangeLedger.ZeroHash.selector, "payloadHash"));
        exchange.offer(requestId, 0, 0, CIPHERTEXT, BYTES, policeKey, RETENTION);
        vm.expectRevert(abi.encodeWithSelector(IExchangeLedger.ZeroHash.selector, "ciphertextHash"));
        exchange.offer(requestId, 0, PAYLOAD, 0, BYTES, policeKey, RETENTION);
        vm.expectRevert(abi.encodeWithSelector(IExchangeLedger.EmptyCiphertext.selector));
        exchange.offer(requestId, 0, PAYLOAD, CIPHERTEXT, 0, policeKey, RETENTION);
        vm.stopPrank();
    }

    function test_Offer_RevertsForAReplayedOffer() public {
        uint64 id = _offer(0, policeKey, "");
        _offer(0, policeKey, abi.encodeWithSelector(IExchangeLedger.OfferStillLive.selector, requestId, 0, id));
    }

    function test_Offer_SupersedesOnlyAfterThePurge() public {
        uint64 first = _offer(0, policeKey, "");
        vm.prank(police.key);
        uint64 next = keys.registerKey(keccak256("police x25519 #2"), policeKey);
        _offer(0, next, abi.encodeWithSelector(IExchangeLedger.OfferStillLive.selector, requestId, 0, first));
        _purge(0, IExchangeLedger.PurgeReason.Superseded);
        uint64 second = _offer(0, next, "");
        (uint64 latest, IExchangeLedger.Offer memory o) = exchange.offerOf(requestId, 0);
        assertEq(latest, second, "the re-sealed offer is the latest");
        assertEq(o.recipientKeyId, next, "sealed to the new key");
        IExchangeLedger.Offer memory old = exchange.getOffer(first);
        assertTrue(old.state == IExchangeLedger.OfferState.Purged, "the first stays, purged");
        assertTrue(old.reason == IExchangeLedger.PurgeReason.Superseded, "as superseded");
    }

    // ------------------------------------------------------------------ recordPurge

    function test_RecordPurge_MarksTheOfferPurged() public {
        uint64 id = _offer(0, policeKey, "");
        vm.warp(block.timestamp + 3 days);
        assertEq(_purge(0, IExchangeLedger.PurgeReason.Retention), id, "the purged offer");
        IExchangeLedger.Offer memory o = exchange.getOffer(id);
        assertTrue(o.state == IExchangeLedger.OfferState.Purged, "purged");
        assertTrue(o.reason == IExchangeLedger.PurgeReason.Retention, "reason");
        assertEq(o.purgedAt, block.timestamp, "purged now");
    }

    function test_RecordPurge_AcceptedAfterRevocationClosureAndDuringAPause() public {
        _offer(0, policeKey, "");
        _offer(1, policeKey, "");
        _offer(2, policeKey, "");
        vm.prank(bank.key);
        ledger.revokeGrant(requestId, 1);
        _purge(0, IExchangeLedger.PurgeReason.Revoked);
        vm.prank(police.key);
        cases.closeCase(caseId, 1);
        _purge(1, IExchangeLedger.PurgeReason.CaseClosed);
        vm.prank(council[0].key);
        registry.pause();
        _purge(2, IExchangeLedger.PurgeReason.Expired);
        assertTrue(exchange.getOffer(3).state == IExchangeLedger.OfferState.Purged, "purged during the pause");
    }

    function test_RecordPurge_RevertsForTheRequester() public {
        _offer(0, policeKey, "");
        vm.expectRevert(abi.encodeWithSelector(IAccessLedger.NotRequestProvider.selector, requestId, police.id));
        vm.prank(police.key);
        exchange.recordPurge(requestId, 0, IExchangeLedger.PurgeReason.Retention);
    }

    function test_RecordPurge_RevertsForADoublePurge() public {
        uint64 id = _offer(0, policeKey, "");
        _purge(0, IExchangeLedger.PurgeReason.Retention);
        vm.expectRevert(abi.encodeWithSelector(IExchangeLedger.OfferAlreadyPurged.selector, requestId, 0, id));
        vm.prank(bank.key);
        exchange.recordPurge(requestId, 0, IExchangeLedger.PurgeReason.Expired);
        assertTrue(exchange.getOffer(id).reason == IExchangeLedger.PurgeReason.Retention, "the first reason stays");
    }

    function test_RecordPurge_RevertsForAnUnknownOffer() public {
        vm.expectRevert(abi.encodeWithSelector(IExchangeLedger.UnknownOffer.selector, requestId, 0));
        vm.prank(bank.key);
        exchange.recordPurge(requestId, 0, IExchangeLedger.PurgeReason.Retention);
        vm.expectRevert(abi.encodeWithSelector(IAccessLedger.UnknownRequest.selector, 42));
        vm.prank(bank.key);
        exchange.recordPurge(42, 0, IExchangeLedger.PurgeReason.Retention);
    }

    // ------------------------------------------------------------------ setGateway

    function test_SetGateway_PublishesAndWithdraws() public {
        vm.prank(bank.key);
        exchange.setGateway("https://gateway.bank.example:8443");
        assertEq(
            keccak256(bytes(exchange.gatewayOf(bank.id))),
            keccak256("https://gateway.bank.example:8443"),
            "published"
        );
        vm.prank(bank.key);
        exchange.setGateway("");
        assertEq(bytes(exchange.gatewayOf(bank.id)).length, 0, "withdrawn");
    }

    function test_SetGateway_RevertsForAnOutsiderOrALongUrl() public {
        address outsider = vm.addr(0xBAD);
        vm.expectRevert(abi.encodeWithSelector(IParticipantRegistry.UnknownSigningKey.selector, outsider));
        vm.prank(outsider);
        exchange.setGateway("https://evil.example");
        bytes memory long = new bytes(257);
        vm.expectRevert(abi.encodeWithSelector(IExchangeLedger.GatewayUrlTooLong.selector, 257, 256));
        vm.prank(bank.key);
        exchange.setGateway(string(long));
    }
}
