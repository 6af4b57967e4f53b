// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IAccessLedger} from "../../contracts/access/IAccessLedger.sol";
import {MatchingLedger} from "../../contracts/matching/MatchingLedger.sol";
import {IMatchingLedger, MATCH_FAILURE_TIMEOUT} from "../../contracts/matching/IMatchingLedger.sol";
import {ConsortiumBase} from "./Base.sol";

/// @notice A consortium with its matching ledger, one approved case (scope: data kind 0) and a
/// bank dataset of kind 0; police (the case's opener) requests from the bank.
abstract contract MatchingFixture is ConsortiumBase {
    MatchingLedger internal matching;
    uint256 internal caseId;
    uint64 internal datasetId;
    uint40 internal grantExpiry;

    function _setUpMatching() internal {
        _deployConsortium();
        matching = new MatchingLedger(registry, cases, ledger);
        vm.prank(bank.key);
        datasetId = ledger.registerDataset(0, keccak256("bank accounts schema"));
        caseId = _openCase("case-1", 1, uint40(START + 365 days), true);
        grantExpiry = uint40(START + 30 days);
    }

    /// @dev A request by police to the bank, granted until grantExpiry for `maxRecords`.
    function _grantedRequest(uint64 maxRecords) internal returns (uint256 requestId) {
        vm.prank(police.key);
        requestId = ledger.request(caseId, bank.id, datasetId, keccak256("subject set"), 1);
        vm.prank(bank.key);
        ledger.grant(requestId, grantExpiry, maxRecords);
    }

    /// @dev Opens a session by police under `requestId`, with a tag derived from `salt`.
    function _open(uint256 requestId, uint64 setSize, uint256 salt) internal returns (uint256) {
        vm.prank(police.key);
        return
            matching.open(
                requestId,
                IMatchingLedger.Mode.Psi,
                keccak256(abi.encode("tag", salt)),
                keccak256(abi.encode("request messages", salt)),
                setSize
            );
    }

    function _response(
        uint256 sessionId,
        uint64 providerSetSize
    ) internal view returns (IMatchingLedger.MatchResponse memory) {
        IMatchingLedger.Session memory s = matching.session(sessionId);
        return
            IMatchingLedger.MatchResponse({
                sessionId: sessionId,
                tag: s.tag,
                requestDigest: s.requestDigest,
                responseDigest: keccak256(abi.encode("response messages", sessionId)),
                providerSetSize: providerSetSize
            });
    }

    function _result(uint256 sessionId, uint64 cardinality) internal view returns (IMatchingLedger.MatchResult memory) {
        IMatchingLedger.Session memory s = matching.session(sessionId);
        return
            IMatchingLedger.MatchResult({
                sessionId: sessionId,
                tag: s.tag,
                requestDigest: s.requestDigest,
                responseDigest: s.responseDigest,
                resultCommitment: keccak256(abi.encode("result", sessionId, cardinality)),
                cardinality: cardinality
            });
    }

    /// @dev Records the bank's signed response; when `reason` is not empty, expects that revert.
    function _respond(IMatchingLedger.MatchResponse memory m, bytes memory reason) internal {
        IAccessLedger.PartySignature memory p = _sign(bank, matching.responseDigest(m));
        if (reason.length > 0) vm.expectRevert(reason);
        matching.recordResponse(m, p);
    }

    /// @dev Records `m` signed by both parties; when `reason` is not empty, expects that revert.
    function _complete(IMatchingLedger.MatchResult memory m, bytes memory reason) internal {
        bytes32 digest = matching.resultDigest(m);
        IAccessLedger.PartySignature memory p = _sign(bank, digest);
        IAccessLedger.PartySignature memory q = _sign(police, digest);
        if (reason.length > 0) vm.expectRevert(reason);
        matching.recordResult(m, p, q);
    }
}

/// @notice Fuzz tests of matching sessions.
contract MatchingLedgerFuzzTest is MatchingFixture {
    function setUp() public {
        _setUpMatching();
    }

    /// A result is accepted exactly when its cardinality is at most the smaller of the two set
    /// sizes; the recorded cardinality therefore never exceeds either.
    function testFuzz_CardinalityNeverExceedsTheSmallerSet(
        uint64 setSeed,
        uint64 providerSeed,
        uint64 cardinalitySeed
    ) public {
        // Half the runs small sizes (bound and cardinality collide often), half the full range.
        bool wide = setSeed % 2 == 0;
        uint64 setSize = uint64(wide ? bound(setSeed, 1, type(uint64).max) : bound(setSeed, 1, 50));
        uint64 providerSetSize = wide ? providerSeed : uint64(bound(providerSeed, 0, 50));
        uint64 cardinality = wide ? cardinalitySeed : uint64(bound(cardinalitySeed, 0, 60));
        uint256 id = _open(_grantedRequest(type(uint64).max), setSize, 0);
        _respond(_response(id, providerSetSize), "");
        uint64 smaller = setSize < providerSetSize ? setSize : providerSetSize;
        if (cardinality > smaller) {
            _complete(
                _result(id, cardinality),
                abi.encodeWithSelector(IMatchingLedger.CardinalityOutOfBounds.selector, id, cardinality, smaller)
            );
            assertEq(uint256(matching.session(id).status), uint256(IMatchingLedger.SessionStatus.Responded), "kept");
        } else {
            _complete(_result(id, cardinality), "");
            IMatchingLedger.Session memory s = matching.session(id);
            assertEq(uint256(s.status), uint256(IMatchingLedger.SessionStatus.Completed), "completed");
            assertEq(s.cardinality, cardinality, "cardinality recorded");
            assertTrue(s.cardinality <= s.setSize && s.cardinality <= s.providerSetSize, "within both sets");
        }
    }

    /// For any sequence of set sizes, a session opens exactly when the identifiers asked in all
    /// sessions of the request stay within the grant's maxRecords (and the size is not zero).
    function testFuzz_IdentifiersAskedNeverExceedMaxRecords(uint64 maxSeed, uint64[6] calldata sizes) public {
        bool wide = maxSeed % 2 == 0;
        uint64 maxRecords = uint64(wide ? bound(maxSeed, 1, type(uint64).max) : bound(maxSeed, 1, 500));
        uint256 requestId = _grantedRequest(maxRecords);
        uint256 asked = 0;
        uint256 opened = 0;
        for (uint256 i = 0; i < sizes.length; ++i) {
            uint64 size = wide ? sizes[i] : uint64(bound(sizes[i], 0, 200));
            uint256 total = asked + size;
            if (size == 0) {
                vm.expectRevert(abi.encodeWithSelector(IMatchingLedger.ZeroSetSize.selector));
            } else if (total > maxRecords) {
                vm.expectRevert(
                    abi.encodeWithSelector(
                        IMatchingLedger.IdentifierLimitExceeded.selector,
                        requestId,
                        total,
                        maxRecords
                    )
                );
            }
            bool accepted = size != 0 && total <= maxRecords;
            _open(requestId, size, i);
            if (accepted) {
                asked = total;
                ++opened;
            }
            assertEq(matching.identifiersAsked(requestId), asked, "identifiersAsked = sum of opened sizes");
            assertTrue(matching.identifiersAsked(requestId) <= maxRecords, "identifiersAsked <= maxRecords");
            assertEq(matching.sessionCount(), opened, "one session per accepted opening");
        }
    }

    /// Sessions open strictly before the grant's expiry; responses too; a result is accepted
    /// whenever the session was responded, also after the grant expired.
    function testFuzz_GrantExpiryBoundsOpeningAndResponseNotResult(uint256 elapsedSeed, bool respondLate) public {
        uint256 requestId = _grantedRequest(100);
        uint256 now_ = START + nearBoundary(elapsedSeed, grantExpiry - START, 60 days);
        if (respondLate) {
            uint256 id = _open(requestId, 10, 0);
            vm.warp(now_);
            if (now_ >= grantExpiry) {
                _respond(
                    _response(id, 10),
                    abi.encodeWithSelector(IMatchingLedger.GrantExpired.selector, requestId, grantExpiry)
                );
                return;
            }
            _respond(_response(id, 10), "");
            vm.warp(now_ + 90 days);
            _complete(_result(id, 3), "");
            assertEq(matching.session(id).cardinality, 3, "result recorded after the grant expired");
        } else {
            vm.warp(now_);
            if (now_ >= grantExpiry) {
                vm.expectRevert(abi.encodeWithSelector(IMatchingLedger.GrantExpired.selector, requestId, grantExpiry));
            }
            _open(requestId, 10, 0);
            assertEq(matching.sessionCount(), now_ < grantExpiry ? 1 : 0, "opened exactly in time");
        }
    }

    /// A signature of a result never verifies for another session, tag, digest, commitment,
    /// cardinality or ledger contract; the honest one does, once.
    function testFuzz_ResultSignatureBoundToSessionAndFields(uint8 modeSeed, bool requesterSide, bytes32 noise) public {
        uint256 requestId = _grantedRequest(100);
        uint256 id = _open(requestId, 10, 1);
        uint256 other = _open(requestId, 10, 2);
        _respond(_response(id, 10), "");
        _respond(_response(other, 10), "");
        IMatchingLedger.MatchResult memory m = _result(id, 5);
        IMatchingLedger.MatchResult memory f = _result(id, 5);
        uint256 mode = modeSeed % 7;
        bytes32 flip = noise == bytes32(0) ? bytes32(uint256(1)) : noise;
        if (mode == 0) f.sessionId = other;
        else if (mode == 1) f.tag ^= flip;
        else if (mode == 2) f.requestDigest ^= flip;
        else if (mode == 3) f.responseDigest ^= flip;
        else if (mode == 4) f.resultCommitment ^= flip;
        else if (mode == 5) f.cardinality = 4;
        bytes32 forged =
            mode == 6 ? new MatchingLedger(registry, cases, ledger).resultDigest(m) : matching.resultDigest(f);
        assertTrue(forged != matching.resultDigest(m), "the forged digest differs");

        bytes32 honest = matching.resultDigest(m);
        IAccessLedger.PartySignature memory p = _sign(bank, requesterSide ? honest : forged);
        IAccessLedger.PartySignature memory q = _sign(police, requesterSide ? forged : honest);
        vm.expectRevert(
            abi.encodeWithSelector(IMatchingLedger.InvalidSignature.selector, requesterSide ? police.key : bank.key)
        );
        matching.recordResult(m, p, q);

        _complete(m, "");
        _complete(
            m,
            abi.encodeWithSelector(
                IMatchingLedger.SessionNotResponded.selector,
                id,
                IMatchingLedger.SessionStatus.Completed
            )
        );
    }

    /// Tags are unique on the ledger: a tag opens one session, and sessionByTag finds it.
    function testFuzz_TagOpensOneSession(bytes32 tag, bytes32 digest) public {
        vm.assume(tag != bytes32(0) && digest != bytes32(0));
        uint256 requestId = _grantedRequest(100);
        vm.prank(police.key);
        uint256 id = matching.open(requestId, IMatchingLedger.Mode.Cardinality, tag, digest, 1);
        (uint256 found, IMatchingLedger.Session memory s) = matching.sessionByTag(tag);
        assertEq(found, id, "sessionByTag finds the session");
        assertEq(s.tag, tag, "the session carries its tag");
        vm.expectRevert(abi.encodeWithSelector(IMatchingLedger.TagAlreadyUsed.selector, tag, id));
        vm.prank(police.key);
        matching.open(requestId, IMatchingLedger.Mode.Psi, tag, digest, 1);
    }

    /// For any sequence of responses, results and failures (by either party), each succeeds
    /// exactly when the session's state machine allows it: Open→Responded, Responded→Completed,
    /// Open|Responded→Failed; Completed and Failed are final.
    function testFuzz_SessionStatusFollowsAllowedEdges(uint256 seed) public {
        uint256 id = _open(_grantedRequest(100), 10, 0);
        IMatchingLedger.SessionStatus status = IMatchingLedger.SessionStatus.Open;
        for (uint256 step = 0; step < 6; ++step) {
            uint256 op = (seed >> (step * 2)) % 4;
            bool allowed;
            bool ok;
            if (op == 0) {
                allowed = status == IMatchingLedger.SessionStatus.Open;
                IMatchingLedger.MatchResponse memory m = _response(id, 10);
                IAccessLedger.PartySignature memory p = _sign(bank, matching.responseDigest(m));
                try matching.recordResponse(m, p) {
                    ok = true;
                    status = IMatchingLedger.SessionStatus.Responded;
                } catch {}
            } else if (op == 1) {
                allowed = status == IMatchingLedger.SessionStatus.Responded;
                IMatchingLedger.MatchResult memory m = _result(id, 2);
                bytes32 digest = matching.resultDigest(m);
                IAccessLedger.PartySignature memory p = _sign(bank, digest);
                IAccessLedger.PartySignature memory q = _sign(police, digest);
                try matching.recordResult(m, p, q) {
                    ok = true;
                    status = IMatchingLedger.SessionStatus.Completed;
                } catch {}
            } else {
                allowed =
                    status == IMatchingLedger.SessionStatus.Open ||
                    status == IMatchingLedger.SessionStatus.Responded;
                vm.prank(op == 2 ? police.key : bank.key);
                try matching.fail(id, MATCH_FAILURE_TIMEOUT) {
                    ok = true;
                    status = IMatchingLedger.SessionStatus.Failed;
                } catch {}
            }
            assertTrue(ok == allowed, "an action succeeds exactly when the state machine allows it");
            assertEq(uint256(matching.session(id).status), uint256(status), "status follows the model");
        }
    }
}
