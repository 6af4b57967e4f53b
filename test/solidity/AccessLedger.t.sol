// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IParticipantRegistry} from "../../contracts/registry/IParticipantRegistry.sol";
import {ICaseRegistry} from "../../contracts/cases/ICaseRegistry.sol";
import {AccessLedger} from "../../contracts/access/AccessLedger.sol";
import {IAccessLedger} from "../../contracts/access/IAccessLedger.sol";
import {IAccessLogAnchor} from "../../contracts/access/IAccessLogAnchor.sol";
import {ConsortiumBase, TestBase} from "./Base.sol";

/// @notice A consortium with one approved case (scope: data kind 0) and a bank dataset of kind 0;
/// police (the case's opener) requests from the bank.
abstract contract LedgerFixture is ConsortiumBase {
    uint256 internal caseId;
    uint64 internal datasetId;

    function _setUpLedger() internal {
        _deployConsortium();
        vm.prank(bank.key);
        datasetId = ledger.registerDataset(0, keccak256("bank accounts schema"));
        caseId = _openCase("case-1", 1, uint40(START + 365 days), true);
    }

    /// @dev A request by police to the bank, granted until START + 30 days for `maxRecords`.
    function _grantedRequest(uint64 maxRecords) internal returns (uint256 requestId) {
        vm.prank(police.key);
        requestId = ledger.request(caseId, bank.id, datasetId, keccak256("subject"), 1);
        vm.prank(bank.key);
        ledger.grant(requestId, uint40(START + 30 days), maxRecords);
    }

    function _delivery(
        uint256 requestId,
        uint32 sequence,
        uint64 recordCount
    ) internal view returns (IAccessLedger.Delivery memory) {
        return
            IAccessLedger.Delivery({
                requestId: requestId,
                sequence: sequence,
                payloadHash: keccak256(abi.encode(requestId, sequence)),
                recordCount: recordCount,
                deadline: uint64(block.timestamp + 1 hours)
            });
    }

    /// @dev `d` signed by the bank (provider) and acknowledged by police (requester).
    function _cosign(
        IAccessLedger.Delivery memory d
    ) internal view returns (IAccessLedger.PartySignature memory, IAccessLedger.PartySignature memory) {
        return (_sign(bank, ledger.deliveryDigest(d)), _sign(police, ledger.acknowledgementDigest(d)));
    }

    /// @dev Submits `d` co-signed; when `reason` is not empty, expects exactly that revert.
    function _attest(IAccessLedger.Delivery memory d, bytes memory reason) internal {
        (IAccessLedger.PartySignature memory p, IAccessLedger.PartySignature memory q) = _cosign(d);
        // The signatures are computed first: expectRevert applies to the very next call.
        if (reason.length > 0) vm.expectRevert(reason);
        ledger.attestDelivery(d, p, q);
    }
}

/// @notice Fuzz tests of grants and co-signed deliveries.
contract AccessLedgerFuzzTest is LedgerFixture {
    function setUp() public {
        _setUpLedger();
    }

    /// For any sequence of record counts, a delivery is accepted exactly when the running total
    /// stays within maxRecords, so deliveredRecords never exceeds it.
    function testFuzz_DeliveredRecordsNeverExceedMax(uint64 maxSeed, uint64[8] calldata counts) public {
        // Half the runs use small limits and counts (many accepted), half the full uint64 range.
        bool wide = maxSeed % 2 == 0;
        uint64 maxRecords = uint64(wide ? bound(maxSeed, 1, type(uint64).max) : bound(maxSeed, 1, 1000));
        uint256 id = _grantedRequest(maxRecords);
        uint256 delivered = 0;
        uint32 accepted = 0;
        for (uint256 i = 0; i < counts.length; ++i) {
            uint64 count = wide ? counts[i] : uint64(bound(counts[i], 0, 400));
            uint256 total = delivered + count;
            IAccessLedger.Delivery memory d = _delivery(id, accepted, count);
            if (total > maxRecords) {
                _attest(d, abi.encodeWithSelector(IAccessLedger.RecordLimitExceeded.selector, id, total, maxRecords));
            } else {
                _attest(d, "");
                delivered = total;
                ++accepted;
            }
            IAccessLedger.Request memory r = ledger.getRequest(id);
            assertEq(r.deliveredRecords, delivered, "deliveredRecords = sum of accepted counts");
            assertTrue(r.deliveredRecords <= r.maxRecords, "deliveredRecords <= maxRecords");
            assertEq(r.deliveries, accepted, "deliveries = accepted deliveries");
        }
    }

    /// A co-signature never verifies for another sequence, request, contract, payload, record
    /// count or EIP-712 type; the honest one does, once.
    function testFuzz_SignatureBoundToSequenceRequestAndContract(
        uint8 modeSeed,
        bool requesterSide,
        uint32 delta,
        bytes32 payload,
        uint64 countSeed
    ) public {
        uint256 id = _grantedRequest(1000);
        IAccessLedger.Delivery memory d = _delivery(id, 0, uint64(bound(countSeed, 0, 1000)));
        d.payloadHash = payload;
        bytes32 forgedDigest = _forgedDigest(d, modeSeed % 6, requesterSide, delta);
        bytes32 honestDigest = requesterSide ? ledger.acknowledgementDigest(d) : ledger.deliveryDigest(d);
        assertTrue(forgedDigest != honestDigest, "the forged digest differs");

        (IAccessLedger.PartySignature memory providerSig, IAccessLedger.PartySignature memory requesterSig) = _cosign(
            d
        );
        if (requesterSide) requesterSig = _sign(police, forgedDigest);
        else providerSig = _sign(bank, forgedDigest);
        address forger = requesterSide ? police.key : bank.key;
        vm.expectRevert(abi.encodeWithSelector(IAccessLedger.InvalidSignature.selector, forger));
        ledger.attestDelivery(d, providerSig, requesterSig);
        assertEq(ledger.getRequest(id).deliveries, 0, "the forged delivery was not recorded");

        _attest(d, "");
        assertEq(ledger.getRequest(id).deliveries, 1, "the honest delivery was recorded");
        // Replaying the same signed delivery fails on the sequence.
        _attest(d, abi.encodeWithSelector(IAccessLedger.InvalidSequence.selector, id, 1, 0));
    }

    /// @dev The digest of `d` changed in one way: 0 another sequence, 1 another request, 2 as
    /// another ledger contract hashes it, 3 another payload, 4 another record count, 5 the other
    /// party's EIP-712 type.
    function _forgedDigest(
        IAccessLedger.Delivery memory d,
        uint256 mode,
        bool requesterSide,
        uint32 delta
    ) private returns (bytes32) {
        if (mode == 2) {
            AccessLedger otherLedger = new AccessLedger(registry, cases);
            return requesterSide ? otherLedger.acknowledgementDigest(d) : otherLedger.deliveryDigest(d);
        }
        if (mode == 5) return requesterSide ? ledger.deliveryDigest(d) : ledger.acknowledgementDigest(d);
        IAccessLedger.Delivery memory f = IAccessLedger.Delivery(
            d.requestId,
            d.sequence,
            d.payloadHash,
            d.recordCount,
            d.deadline
        );
        if (mode == 0) f.sequence = d.sequence + (delta == 0 ? 1 : delta);
        else if (mode == 1) f.requestId = _grantedRequest(1000);
        else if (mode == 3) f.payloadHash = d.payloadHash ^ bytes32(uint256(1));
        else f.recordCount = d.recordCount == 0 ? 1 : d.recordCount - 1;
        return requesterSide ? ledger.acknowledgementDigest(f) : ledger.deliveryDigest(f);
    }

    /// Only keys of the request's provider and requester can co-sign.
    function testFuzz_OnlyTheRequestPartiesSign(uint8 whoSeed, bool requesterSide) public {
        uint256 id = _grantedRequest(10);
        Member[4] memory others;
        (others[0], others[1], others[2], others[3]) = (council[0], prosecutor, telecom, requesterSide ? bank : police);
        Member memory intruder = others[whoSeed % 4];
        IAccessLedger.Delivery memory d = _delivery(id, 0, 1);
        (IAccessLedger.PartySignature memory providerSig, IAccessLedger.PartySignature memory requesterSig) = _cosign(
            d
        );
        if (requesterSide) requesterSig = _sign(intruder, ledger.acknowledgementDigest(d));
        else providerSig = _sign(intruder, ledger.deliveryDigest(d));
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessLedger.SignerNotParty.selector,
                intruder.key,
                intruder.id,
                requesterSide ? police.id : bank.id
            )
        );
        ledger.attestDelivery(d, providerSig, requesterSig);
    }

    /// Deliveries are accepted strictly before the grant's expiry and up to the attestation's
    /// deadline.
    function testFuzz_DeliveryOnlyBeforeGrantExpiryAndDeadline(
        uint40 grantSeed,
        uint40 elapsedSeed,
        uint32 deadlineSeed
    ) public {
        uint40 grantExpiry = uint40(START + bound(grantSeed, 1, 30 days));
        vm.prank(police.key);
        uint256 id = ledger.request(caseId, bank.id, datasetId, keccak256("subject"), 1);
        vm.prank(bank.key);
        ledger.grant(id, grantExpiry, 10);

        IAccessLedger.Delivery memory d = _delivery(id, 0, 1);
        d.deadline = uint64(START + bound(deadlineSeed, 0, 60 days));
        (IAccessLedger.PartySignature memory providerSig, IAccessLedger.PartySignature memory requesterSig) = _cosign(
            d
        );

        // Near the grant's expiry or, one time in two of those, near the deadline.
        uint256 boundary = (elapsedSeed >> 39) & 1 == 0 ? grantExpiry - START : d.deadline - START;
        uint256 now_ = START + nearBoundary(elapsedSeed, boundary, 60 days);
        vm.warp(now_);
        if (now_ >= grantExpiry) {
            vm.expectRevert(abi.encodeWithSelector(IAccessLedger.GrantExpired.selector, id, grantExpiry));
        } else if (now_ > d.deadline) {
            vm.expectRevert(abi.encodeWithSelector(IAccessLedger.DeadlinePassed.selector, d.deadline));
        }
        ledger.attestDelivery(d, providerSig, requesterSig);
        bool accepted = now_ < grantExpiry && now_ <= d.deadline;
        assertEq(ledger.getRequest(id).deliveries, accepted ? 1 : 0, "accepted exactly in time");
    }

    /// For any sequence of grant, deny, revoke, deliver and withdraw, each succeeds exactly when
    /// the request's state machine allows it: Pending→Granted, Pending→Denied, Pending→Withdrawn,
    /// Granted→Revoked, deliveries only while Granted (so a grant after a withdrawal reverts).
    function testFuzz_RequestStatusFollowsAllowedEdges(uint256 seed) public {
        vm.prank(police.key);
        uint256 id = ledger.request(caseId, bank.id, datasetId, keccak256("subject"), 1);
        IAccessLedger.RequestStatus status = IAccessLedger.RequestStatus.Pending;
        uint32 deliveries = 0;
        for (uint256 step = 0; step < 8; ++step) {
            uint256 op = (seed >> (step * 8)) % 5;
            bool allowed;
            bool ok;
            if (op == 0) {
                allowed = status == IAccessLedger.RequestStatus.Pending;
                vm.prank(bank.key);
                try ledger.grant(id, uint40(START + 30 days), 100) {
                    ok = true;
                    status = IAccessLedger.RequestStatus.Granted;
                } catch {}
            } else if (op == 1) {
                allowed = status == IAccessLedger.RequestStatus.Pending;
                vm.prank(bank.key);
                try ledger.deny(id, 3) {
                    ok = true;
                    status = IAccessLedger.RequestStatus.Denied;
                } catch {}
            } else if (op == 2) {
                allowed = status == IAccessLedger.RequestStatus.Granted;
                vm.prank(bank.key);
                try ledger.revokeGrant(id, 4) {
                    ok = true;
                    status = IAccessLedger.RequestStatus.Revoked;
                } catch {}
            } else if (op == 3) {
                allowed = status == IAccessLedger.RequestStatus.Pending;
                vm.prank(police.key);
                try ledger.withdrawRequest(id) {
                    ok = true;
                    status = IAccessLedger.RequestStatus.Withdrawn;
                } catch {}
            } else {
                allowed = status == IAccessLedger.RequestStatus.Granted;
                IAccessLedger.Delivery memory d = _delivery(id, deliveries, 1);
                (IAccessLedger.PartySignature memory p, IAccessLedger.PartySignature memory q) = _cosign(d);
                try ledger.attestDelivery(d, p, q) {
                    ok = true;
                    ++deliveries;
                } catch {}
            }
            assertTrue(ok == allowed, "an action succeeds exactly when the state machine allows it");
            assertEq(uint256(ledger.getRequest(id).status), uint256(status), "status follows the model");
            assertEq(ledger.getRequest(id).deliveries, deliveries, "deliveries follow the model");
        }
    }
}

/// @notice verifyEntry against trees built here with @openzeppelin/merkle-tree's
/// StandardMerkleTree leaf and sorted-pair hashing.
contract AccessLogAnchorFuzzTest is ConsortiumBase {
    function setUp() public {
        _deployConsortium();
    }

    /// Both leaves of a 2-leaf tree verify with their sibling as proof; a wrong hash, a wrong
    /// index or an index past the batch does not.
    function testFuzz_VerifyEntryInTwoLeafTree(bytes32 e0, bytes32 e1, bytes32 wrong) public {
        vm.assume(e0 != e1 && wrong != e0 && wrong != e1);
        bytes32 l0 = _leaf(0, e0);
        bytes32 l1 = _leaf(1, e1);
        uint256 id = _anchor(_hashPair(l0, l1), 2);

        assertTrue(anchorLog.verifyEntry(id, 0, e0, _proof(l1)), "entry 0 verifies");
        assertTrue(anchorLog.verifyEntry(id, 1, e1, _proof(l0)), "entry 1 verifies");
        assertTrue(!anchorLog.verifyEntry(id, 0, wrong, _proof(l1)), "a wrong entry hash fails");
        assertTrue(!anchorLog.verifyEntry(id, 1, e0, _proof(l1)), "an entry at another index fails");
        assertTrue(!anchorLog.verifyEntry(id, 0, e0, _proof(l0)), "a wrong proof fails");
        assertTrue(!anchorLog.verifyEntry(id, 2, e0, _proof(l1)), "an index past the batch fails");
    }

    /// Every leaf of a 4-leaf tree verifies with its 2-node proof; another index, a swapped
    /// proof or an entry count that excludes the index does not.
    function testFuzz_VerifyEntryInFourLeafTree(bytes32[4] memory e, uint8 iSeed, uint8 jSeed) public {
        uint256 i = iSeed % 4;
        uint256 j = (i + 1 + (jSeed % 3)) % 4;
        (bytes32 root, bytes32[] memory proof) = _fourLeafTree(e, i);
        uint256 full = _anchor(root, 4);
        uint256 short = _anchor(root, 3);

        assertTrue(anchorLog.verifyEntry(full, i, e[i], proof), "the leaf verifies");
        assertTrue(!anchorLog.verifyEntry(full, j, e[i], proof), "the entry at another index fails");
        assertTrue(anchorLog.verifyEntry(short, i, e[i], proof) == (i < 3), "only indexes below entryCount verify");
        (proof[0], proof[1]) = (proof[1], proof[0]);
        assertTrue(!anchorLog.verifyEntry(full, i, e[i], proof), "a swapped proof fails");
    }

    /// @dev Root of the 4-leaf tree over `e`, and the proof of leaf `i`: its sibling leaf, then
    /// the other half's node.
    function _fourLeafTree(bytes32[4] memory e, uint256 i) private pure returns (bytes32, bytes32[] memory proof) {
        bytes32[4] memory l;
        for (uint256 k = 0; k < 4; ++k) l[k] = _leaf(k, e[k]);
        bytes32 n01 = _hashPair(l[0], l[1]);
        bytes32 n23 = _hashPair(l[2], l[3]);
        proof = new bytes32[](2);
        proof[0] = l[i ^ 1];
        proof[1] = i < 2 ? n23 : n01;
        return (_hashPair(n01, n23), proof);
    }

    /// Anchors need a root and at least one entry, and record what they were given; unknown
    /// anchors can't be queried.
    function testFuzz_AnchorNeedsRootAndEntries(bytes32 root, uint32 entryCount, uint64 firstSequence) public {
        if (root == bytes32(0) || entryCount == 0) {
            vm.expectRevert(abi.encodeWithSelector(IAccessLogAnchor.EmptyBatch.selector));
            vm.prank(bank.key);
            anchorLog.anchor(0, firstSequence, root, entryCount);
            vm.expectRevert(abi.encodeWithSelector(IAccessLogAnchor.UnknownAnchor.selector, 1));
            anchorLog.verifyEntry(1, 0, bytes32(0), new bytes32[](0));
        } else {
            vm.prank(bank.key);
            uint256 id = anchorLog.anchor(0, firstSequence, root, entryCount);
            assertEq(anchorLog.getAnchor(id).root, root, "root stored");
            assertEq(anchorLog.getAnchor(id).firstSequence, firstSequence, "first sequence stored");
            assertEq(anchorLog.getAnchor(id).entryCount, entryCount, "entry count stored");
            assertEq(anchorLog.getAnchor(id).participant, bank.id, "anchoring participant stored");
        }
    }

    function _anchor(bytes32 root, uint32 entryCount) private returns (uint256) {
        vm.prank(bank.key);
        return anchorLog.anchor(0, 0, root, entryCount);
    }

    function _leaf(uint256 index, bytes32 entryHash) private pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(index, entryHash))));
    }

    function _hashPair(bytes32 a, bytes32 b) private pure returns (bytes32) {
        return a < b ? keccak256(abi.encode(a, b)) : keccak256(abi.encode(b, a));
    }

    function _proof(bytes32 sibling) private pure returns (bytes32[] memory proof) {
        proof = new bytes32[](1);
        proof[0] = sibling;
    }
}

/// @notice Drives the ledger through random requests, grants, denials, revocations, honest and
/// forged deliveries, case closings, pauses and clock moves, keeping ghost state.
/// @dev A broken rule is recorded in `violations`; the invariant test reads it.
contract AccessHandler is ConsortiumBase {
    enum Rule {
        RecordLimit,
        StatusEdge,
        UnallowedAction,
        CounterDecreased
    }

    mapping(uint32 participantId => Member) private _member;
    uint32[4] private _parties;
    uint64[2] private _datasets;

    uint256 public ghostRequests;
    uint256 public ghostDeliveries;
    mapping(uint256 requestId => uint256) public ghostDelivered;
    mapping(uint256 requestId => uint256) public ghostDeliveriesOf;
    mapping(uint256 requestId => IAccessLedger.RequestStatus) private _lastStatus;
    uint64[3] private _lastCounts;

    mapping(Rule => uint256) public violations;
    string public firstViolation;

    constructor() {
        _deployConsortium();
        _member[police.id] = police;
        _member[prosecutor.id] = prosecutor;
        _member[bank.id] = bank;
        _member[telecom.id] = telecom;
        _parties = [police.id, prosecutor.id, bank.id, telecom.id];
        vm.prank(bank.key);
        _datasets[0] = ledger.registerDataset(0, keccak256("bank accounts"));
        vm.prank(telecom.key);
        _datasets[1] = ledger.registerDataset(1, keccak256("call records"));
        _openCase(keccak256("case-0"), 3, uint40(block.timestamp + 60 days), true);
        _openCase(keccak256("case-1"), 1, uint40(block.timestamp + 20 days), true);
    }

    function accessLedger() external view returns (address) {
        return address(ledger);
    }

    // ------------------------------------------------------------------ actions

    function request(uint256 actorSeed, uint256 caseSeed, uint256 providerSeed) external {
        // Three times in four a case party (police opened, the prosecutor approved every case).
        Member memory requester = _member[
            actorSeed % 4 != 0 ? _parties[actorSeed % 2] : _parties[(actorSeed >> 2) % 4]
        ];
        uint256 id = bound(caseSeed, 1, cases.caseCount());
        uint256 p = providerSeed % 2;
        // One time in eight the other provider's dataset.
        uint64 dataset = _datasets[(providerSeed >> 1) % 8 == 0 ? 1 - p : p];
        Member memory provider = p == 0 ? bank : telecom;
        bool caseActive = cases.isActive(id);
        bool paused = registry.paused();
        vm.prank(requester.key);
        try ledger.request(id, provider.id, dataset, keccak256(abi.encode(caseSeed)), 1) {
            ++ghostRequests;
            ICaseRegistry.Case memory c = cases.getCase(id);
            bool party = requester.id == c.opener || requester.id == c.approver;
            if (paused || !caseActive || !party) _violate(Rule.UnallowedAction, "request outside an active case");
        } catch {}
        _observe();
    }

    function grant(uint256 requestSeed, uint256 expirySeed, uint256 maxSeed, bool wrongCaller) external {
        uint256 id = _requestId(requestSeed, IAccessLedger.RequestStatus.Pending);
        IAccessLedger.Request memory r = ledger.getRequest(id);
        Member memory caller = _caller(r, wrongCaller);
        uint40 expiresAt = uint40(block.timestamp + bound(expirySeed, 0, 40 days));
        uint64 maxRecords = uint64(bound(maxSeed, 0, 40));
        bool caseActive = cases.isActive(r.caseId);
        vm.prank(caller.key);
        try ledger.grant(id, expiresAt, maxRecords) {
            bool allowed =
                r.status == IAccessLedger.RequestStatus.Pending &&
                    caller.id == r.provider &&
                    caseActive &&
                    maxRecords > 0;
            if (!allowed) _violate(Rule.UnallowedAction, "granted a request that was not grantable");
        } catch {}
        _observe();
    }

    function deny(uint256 requestSeed, bool wrongCaller) external {
        uint256 id = _requestId(requestSeed, IAccessLedger.RequestStatus.Pending);
        IAccessLedger.Request memory r = ledger.getRequest(id);
        Member memory caller = _caller(r, wrongCaller);
        vm.prank(caller.key);
        try ledger.deny(id, 2) {
            if (r.status != IAccessLedger.RequestStatus.Pending || caller.id != r.provider) {
                _violate(Rule.UnallowedAction, "denied a request that was not deniable");
            }
        } catch {}
        _observe();
    }

    /// The requester withdraws a pending request, or (when told) its provider tries to.
    function withdrawRequest(uint256 requestSeed, bool wrongCaller) external {
        uint256 id = _requestId(requestSeed, IAccessLedger.RequestStatus.Pending);
        IAccessLedger.Request memory r = ledger.getRequest(id);
        Member memory caller = r.requester == 0 ? police : _member[wrongCaller ? r.provider : r.requester];
        vm.prank(caller.key);
        try ledger.withdrawRequest(id) {
            if (r.status != IAccessLedger.RequestStatus.Pending || caller.id != r.requester) {
                _violate(Rule.UnallowedAction, "withdrew a request that was not withdrawable");
            }
        } catch {}
        _observe();
    }

    function revokeGrant(uint256 requestSeed, bool wrongCaller) external {
        uint256 id = _requestId(requestSeed, IAccessLedger.RequestStatus.Granted);
        IAccessLedger.Request memory r = ledger.getRequest(id);
        Member memory caller = _caller(r, wrongCaller);
        vm.prank(caller.key);
        try ledger.revokeGrant(id, 2) {
            if (r.status != IAccessLedger.RequestStatus.Granted || caller.id != r.provider) {
                _violate(Rule.UnallowedAction, "revoked a grant that was not revocable");
            }
        } catch {}
        _observe();
    }

    /// An honest co-signed delivery, or (three times in eight) one forged in a single way.
    function deliver(uint256 requestSeed, uint256 countSeed, uint256 forgerySeed) external {
        uint256 id = _requestId(requestSeed, IAccessLedger.RequestStatus.Granted);
        IAccessLedger.Request memory r = ledger.getRequest(id);
        uint256 forgery = forgerySeed % 8; // 0-4: honest; 5: wrong sequence; 6: other request; 7: swapped types
        IAccessLedger.Delivery memory d = IAccessLedger.Delivery({
            requestId: id,
            sequence: r.deliveries + (forgery == 5 ? 1 : 0),
            payloadHash: keccak256(abi.encode(id, r.deliveries)),
            recordCount: uint64(bound(countSeed, 0, 25)),
            deadline: uint64(block.timestamp + 1 hours)
        });
        IAccessLedger.Delivery memory signed = d;
        if (forgery == 6) signed = _withRequestId(d, id + 1);
        bytes32 providerDigest = ledger.deliveryDigest(signed);
        bytes32 requesterDigest = ledger.acknowledgementDigest(signed);
        if (forgery == 7) (providerDigest, requesterDigest) = (requesterDigest, providerDigest);
        Member memory provider = r.provider != 0 ? _member[r.provider] : bank;
        Member memory requester = r.requester != 0 ? _member[r.requester] : police;

        bool caseActive = cases.isActive(r.caseId);
        bool paused = registry.paused();
        try ledger.attestDelivery(d, _sign(provider, providerDigest), _sign(requester, requesterDigest)) {
            ghostDelivered[id] += d.recordCount;
            ++ghostDeliveriesOf[id];
            ++ghostDeliveries;
            bool allowed =
                forgery < 5 &&
                    !paused &&
                    caseActive &&
                    r.status == IAccessLedger.RequestStatus.Granted &&
                    block.timestamp < r.grantExpiresAt &&
                    uint256(r.deliveredRecords) + d.recordCount <= r.maxRecords;
            if (!allowed) _violate(Rule.UnallowedAction, "accepted a delivery that was not acceptable");
        } catch {}
        _observe();
    }

    function openCase(uint256 durationSeed) external {
        uint256 n = cases.caseCount();
        _openCase(
            keccak256(abi.encode("case", n)),
            3,
            uint40(block.timestamp + bound(durationSeed, 1 days, 60 days)),
            true
        );
        _observe();
    }

    function closeCase(uint256 caseSeed) external {
        uint256 id = bound(caseSeed, 1, cases.caseCount());
        vm.prank(police.key);
        try cases.closeCase(id, 1) {} catch {}
        _observe();
    }

    /// Lifts a pause, or (one time in four) pauses, so the consortium runs unpaused mostly.
    function togglePause(uint256 seed) external {
        if (registry.paused()) {
            _pass(IParticipantRegistry.Action.Unpause, "");
        } else if (seed % 4 == 0) {
            vm.prank(council[0].key);
            registry.pause();
        }
        _observe();
    }

    function warp(uint256 secondsSeed) external {
        vm.warp(block.timestamp + bound(secondsSeed, 0, 5 days));
        _observe();
    }

    /// Moves the clock to within a second of a grant's expiry (or its case's), where off-by-one
    /// errors show.
    function warpNearExpiry(uint256 requestSeed, uint8 offset) external {
        IAccessLedger.Request memory r = ledger.getRequest(
            _requestId(requestSeed, IAccessLedger.RequestStatus.Granted)
        );
        uint256 expiry = offset % 2 == 0 ? r.grantExpiresAt : cases.getCase(r.caseId).expiresAt;
        uint256 target = expiry + ((offset >> 1) % 3);
        if (target > block.timestamp + 1) vm.warp(target - 1);
        _observe();
    }

    // ------------------------------------------------------------------ internals

    /// @dev Checks every request's change since the last call, its record limit and the counters.
    function _observe() private {
        (uint64 datasets, uint64 requests, uint64 deliveries) = ledger.counts();
        if (datasets < _lastCounts[0] || requests < _lastCounts[1] || deliveries < _lastCounts[2]) {
            _violate(Rule.CounterDecreased, "a counter of counts() decreased");
        }
        _lastCounts = [datasets, requests, deliveries];
        for (uint256 id = 1; id <= requests; ++id) {
            IAccessLedger.Request memory r = ledger.getRequest(id);
            if (r.deliveredRecords > r.maxRecords) _violate(Rule.RecordLimit, "deliveredRecords > maxRecords");
            IAccessLedger.RequestStatus last = _lastStatus[id];
            if (r.status != last && !_allowedEdge(last, r.status)) {
                _violate(Rule.StatusEdge, "request status moved along a forbidden edge");
            }
            _lastStatus[id] = r.status;
        }
    }

    function _allowedEdge(
        IAccessLedger.RequestStatus from,
        IAccessLedger.RequestStatus to
    ) private pure returns (bool) {
        if (from == IAccessLedger.RequestStatus.None) return to == IAccessLedger.RequestStatus.Pending;
        if (from == IAccessLedger.RequestStatus.Pending) {
            return
                to == IAccessLedger.RequestStatus.Granted ||
                to == IAccessLedger.RequestStatus.Denied ||
                to == IAccessLedger.RequestStatus.Withdrawn;
        }
        if (from == IAccessLedger.RequestStatus.Granted) return to == IAccessLedger.RequestStatus.Revoked;
        return false; // Denied, Revoked and Withdrawn are final.
    }

    /// @dev The request's provider, or (when told) the requester, who may not act for it.
    function _caller(IAccessLedger.Request memory r, bool wrong) private view returns (Member memory) {
        if (r.provider == 0) return bank;
        return _member[wrong ? r.requester : r.provider];
    }

    /// @dev Three times in four a request in `status` (if any), else any id up to one past the end.
    function _requestId(uint256 seed, IAccessLedger.RequestStatus status) private view returns (uint256) {
        (, uint64 requests, ) = ledger.counts();
        if (seed % 4 != 0) {
            uint256[] memory matching = new uint256[](requests);
            uint256 n = 0;
            for (uint256 id = 1; id <= requests; ++id) {
                if (ledger.getRequest(id).status == status) matching[n++] = id;
            }
            if (n > 0) return matching[(seed >> 2) % n];
        }
        return bound(seed >> 2, 1, uint256(requests) + 1);
    }

    function _withRequestId(
        IAccessLedger.Delivery memory d,
        uint256 requestId
    ) private pure returns (IAccessLedger.Delivery memory copy) {
        copy = IAccessLedger.Delivery(requestId, d.sequence, d.payloadHash, d.recordCount, d.deadline);
    }

    function _violate(Rule rule, string memory what) private {
        if (bytes(firstViolation).length == 0) firstViolation = what;
        ++violations[rule];
    }
}

/// @notice Invariants of the access ledger under random activity.
contract AccessLedgerInvariantTest is TestBase {
    AccessHandler private handler;
    AccessLedger private ledger;

    function setUp() public {
        handler = new AccessHandler();
        ledger = AccessLedger(handler.accessLedger());
    }

    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    function targetSelectors() public view returns (FuzzSelector[] memory targets) {
        bytes4[] memory selectors = new bytes4[](12);
        selectors[0] = AccessHandler.request.selector;
        selectors[1] = AccessHandler.grant.selector;
        selectors[2] = AccessHandler.deny.selector;
        selectors[3] = AccessHandler.revokeGrant.selector;
        selectors[4] = AccessHandler.deliver.selector;
        selectors[5] = AccessHandler.openCase.selector;
        selectors[6] = AccessHandler.closeCase.selector;
        selectors[7] = AccessHandler.togglePause.selector;
        selectors[8] = AccessHandler.warp.selector;
        // Deliveries are where the record limit is at stake: give them twice the weight.
        selectors[9] = AccessHandler.deliver.selector;
        selectors[10] = AccessHandler.warpNearExpiry.selector;
        selectors[11] = AccessHandler.withdrawRequest.selector;
        targets = new FuzzSelector[](1);
        targets[0] = FuzzSelector({addr: address(handler), selectors: selectors});
    }

    /// For every request, deliveredRecords ≤ maxRecords, and deliveredRecords and deliveries
    /// equal the sums of the accepted deliveries.
    /// hardhat-config: invariant.runs = 32
    /// hardhat-config: invariant.depth = 80
    function invariant_DeliveredRecordsNeverExceedMaxRecords() public view {
        assertEq(handler.violations(AccessHandler.Rule.RecordLimit), 0, handler.firstViolation());
        (, uint64 requests, ) = ledger.counts();
        for (uint256 id = 1; id <= requests; ++id) {
            IAccessLedger.Request memory r = ledger.getRequest(id);
            assertTrue(r.deliveredRecords <= r.maxRecords, "deliveredRecords <= maxRecords");
            assertEq(r.deliveredRecords, handler.ghostDelivered(id), "deliveredRecords = accepted records");
            assertEq(r.deliveries, handler.ghostDeliveriesOf(id), "deliveries = accepted deliveries");
        }
    }

    /// Requests move only Pending→Granted, Pending→Denied, Granted→Revoked.
    /// hardhat-config: invariant.runs = 32
    /// hardhat-config: invariant.depth = 80
    function invariant_RequestStatusAlongAllowedEdges() public view {
        assertEq(handler.violations(AccessHandler.Rule.StatusEdge), 0, handler.firstViolation());
    }

    /// Every successful call was allowed; no forged delivery (wrong sequence, other request,
    /// swapped EIP-712 types) was ever accepted.
    /// hardhat-config: invariant.runs = 32
    /// hardhat-config: invariant.depth = 80
    function invariant_ActionsSucceedOnlyWhenAllowed() public view {
        assertEq(handler.violations(AccessHandler.Rule.UnallowedAction), 0, handler.firstViolation());
    }

    /// counts() never decrease and equal the successful requests and deliveries.
    /// hardhat-config: invariant.runs = 32
    /// hardhat-config: invariant.depth = 80
    function invariant_CountsOnlyIncrease() public view {
        assertEq(handler.violations(AccessHandler.Rule.CounterDecreased), 0, handler.firstViolation());
        (uint64 datasets, uint64 requests, uint64 deliveries) = ledger.counts();
        assertEq(datasets, 2, "datasets = the two registered");
        assertEq(requests, handler.ghostRequests(), "requests = successful requests");
        assertEq(deliveries, handler.ghostDeliveries(), "deliveries = accepted deliveries");
    }
}
