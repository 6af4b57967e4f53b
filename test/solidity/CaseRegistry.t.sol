// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IParticipantRegistry} from "../../contracts/registry/IParticipantRegistry.sol";
import {ICaseRegistry} from "../../contracts/cases/ICaseRegistry.sol";
import {IAccessLogAnchor} from "../../contracts/access/IAccessLogAnchor.sol";
import {ConsortiumBase, TestBase} from "./Base.sol";

/// @notice Fuzz tests of the case lifecycle: who may open and approve, and when a case accepts
/// requests.
contract CaseRegistryFuzzTest is ConsortiumBase {
    uint64 private datasetId;

    function setUp() public {
        _deployConsortium();
        vm.prank(bank.key);
        datasetId = ledger.registerDataset(0, keccak256("bank accounts schema"));
    }

    /// A request (and a case-bound anchor) succeeds only if the case is approved, not closed
    /// and now < expiry, for any status path and any clock.
    function testFuzz_RequestOnlyUnderApprovedOpenUnexpiredCase(
        uint8 pathSeed,
        uint40 durationSeed,
        uint40 elapsedSeed
    ) public {
        // 0: pending; 1: approved; 2: approved, then closed; 3: pending, then closed.
        uint256 path = pathSeed % 4;
        uint40 duration = uint40(bound(durationSeed, 1, cases.MAX_CASE_DURATION()));
        uint40 expiresAt = uint40(START) + duration;
        uint256 id = _openCase("case-1", 1, expiresAt, path == 1 || path == 2);
        if (path >= 2) {
            vm.prank(police.key);
            cases.closeCase(id, 1);
        }
        // Half the draws land at or after the expiry, including exactly on it.
        uint256 elapsed = nearBoundary(elapsedSeed, duration, 2 * uint256(duration));
        vm.warp(START + elapsed);

        bool allowed = path == 1 && elapsed < duration;
        assertTrue(cases.isActive(id) == allowed, "isActive = approved, open and unexpired");

        bytes memory reason;
        if (path >= 2) reason = abi.encodeWithSelector(ICaseRegistry.CaseIsClosed.selector, id);
        else if (path == 0) reason = abi.encodeWithSelector(ICaseRegistry.CaseNotApproved.selector, id);
        else if (!allowed) reason = abi.encodeWithSelector(ICaseRegistry.CaseExpired.selector, id, expiresAt);

        if (!allowed) vm.expectRevert(reason);
        vm.prank(police.key);
        uint256 requestId = ledger.request(id, bank.id, datasetId, keccak256("subject"), 1);
        (, uint64 requests, ) = ledger.counts();
        assertEq(requests, allowed ? 1 : 0, "a request is recorded exactly when allowed");
        if (allowed) assertEq(ledger.getRequest(requestId).caseId, id, "the request is bound to the case");

        if (!allowed) vm.expectRevert(reason);
        vm.prank(bank.key);
        anchorLog.anchor(id, 0, keccak256("root"), 1);
        assertEq(anchorLog.anchorCount(), allowed ? 1 : 0, "a case-bound anchor is recorded exactly when allowed");
    }

    /// Only POLICE opens, only PROSECUTOR approves; unregistered keys are refused.
    function testFuzz_OnlyPoliceOpensOnlyProsecutorApproves(uint8 openerSeed, uint8 approverSeed) public {
        Member[6] memory who;
        (who[0], who[1], who[2], who[3], who[4]) = (council[0], police, prosecutor, bank, telecom);
        who[5] = Member({id: 0, pk: 0xDEAD, key: vm.addr(0xDEAD)});
        bytes32[6] memory kinds = [bytes32("AUDITOR"), "POLICE", "PROSECUTOR", "BANK", "TELECOM", ""];
        uint256 o = openerSeed % 6;
        uint256 a = approverSeed % 6;
        uint40 expiresAt = uint40(START + 30 days);

        if (o == 5) {
            vm.expectRevert(abi.encodeWithSelector(IParticipantRegistry.UnknownSigningKey.selector, who[o].key));
        } else if (o != 1) {
            vm.expectRevert(
                abi.encodeWithSelector(
                    ICaseRegistry.WrongParticipantKind.selector,
                    who[o].id,
                    kinds[o],
                    bytes32("POLICE")
                )
            );
        }
        vm.prank(who[o].key);
        cases.openCase("case-1", keccak256("basis"), 1, expiresAt);
        assertEq(cases.caseCount(), o == 1 ? 1 : 0, "only police opened a case");

        uint256 id = _openCase("case-2", 1, expiresAt, false);
        if (a == 5) {
            vm.expectRevert(abi.encodeWithSelector(IParticipantRegistry.UnknownSigningKey.selector, who[a].key));
        } else if (a != 2) {
            vm.expectRevert(
                abi.encodeWithSelector(
                    ICaseRegistry.WrongParticipantKind.selector,
                    who[a].id,
                    kinds[a],
                    bytes32("PROSECUTOR")
                )
            );
        }
        vm.prank(who[a].key);
        cases.approveCase(id);
        assertEq(
            uint256(cases.getCase(id).status),
            uint256(a == 2 ? ICaseRegistry.Status.Approved : ICaseRegistry.Status.Pending),
            "only a prosecutor approved"
        );
    }

    /// A case can't be approved at or after its expiry.
    function testFuzz_ApprovalOnlyBeforeExpiry(uint40 durationSeed, uint40 elapsedSeed) public {
        uint40 duration = uint40(bound(durationSeed, 1, 365 days));
        uint256 elapsed = nearBoundary(elapsedSeed, duration, 2 * uint256(duration));
        uint256 id = _openCase("case-1", 1, uint40(START) + duration, false);
        vm.warp(START + elapsed);
        if (elapsed >= duration) {
            vm.expectRevert(abi.encodeWithSelector(ICaseRegistry.CaseExpired.selector, id, uint40(START) + duration));
        }
        vm.prank(prosecutor.key);
        cases.approveCase(id);
        assertTrue(cases.isActive(id) == (elapsed < duration), "approved and active exactly before expiry");
    }

    /// An extension must lie after the current expiry and within MAX_CASE_DURATION of now, and
    /// once approved it only moves the expiry forward.
    function testFuzz_ExtensionOnlyMovesExpiryForward(uint40 elapsedSeed, uint40 newExpiry) public {
        uint40 expiresAt = uint40(START + 30 days);
        uint256 id = _openCase("case-1", 1, expiresAt, true);
        uint256 elapsed = bound(elapsedSeed, 0, 30 days - 1);
        vm.warp(START + elapsed);
        uint40 notAfter = uint40(START + elapsed) + cases.MAX_CASE_DURATION();
        bool valid = newExpiry > expiresAt && newExpiry <= notAfter;
        if (!valid) {
            vm.expectRevert(
                abi.encodeWithSelector(ICaseRegistry.InvalidExpiry.selector, newExpiry, expiresAt, notAfter)
            );
        }
        vm.prank(police.key);
        cases.requestExtension(id, newExpiry);
        if (!valid) {
            vm.expectRevert(abi.encodeWithSelector(ICaseRegistry.NoExtensionRequested.selector, id));
        }
        vm.prank(prosecutor.key);
        cases.approveExtension(id, newExpiry);
        assertEq(cases.getCase(id).expiresAt, valid ? newExpiry : expiresAt, "expiry after the extension");
        assertTrue(cases.getCase(id).expiresAt >= expiresAt, "the expiry never moves back");
    }

    /// The approval names the expiry the prosecutor reviewed: after the opener replaced the
    /// request, approving the reviewed expiry reverts with ExtensionMismatch and changes nothing.
    function testFuzz_ExtensionApprovalBindsTheReviewedExpiry(uint40 reviewedSeed, uint40 replacedSeed) public {
        uint40 expiresAt = uint40(START + 30 days);
        uint256 id = _openCase("case-1", 1, expiresAt, true);
        uint40 reviewed = uint40(bound(reviewedSeed, expiresAt + 1, START + cases.MAX_CASE_DURATION()));
        uint40 replaced = uint40(bound(replacedSeed, expiresAt + 1, START + cases.MAX_CASE_DURATION()));
        vm.startPrank(police.key);
        cases.requestExtension(id, reviewed);
        cases.requestExtension(id, replaced);
        vm.stopPrank();
        if (replaced != reviewed) {
            vm.expectRevert(abi.encodeWithSelector(ICaseRegistry.ExtensionMismatch.selector, id, reviewed, replaced));
        }
        vm.prank(prosecutor.key);
        cases.approveExtension(id, reviewed);
        assertEq(cases.getCase(id).expiresAt, replaced == reviewed ? reviewed : expiresAt, "only the reviewed expiry");
    }

    /// Only the participant that approved the case approves its extension: another prosecutor,
    /// the opener or anyone else is refused with NotCaseApprover.
    function testFuzz_OnlyTheCaseApproverApprovesExtension(uint8 approverSeed) public {
        Member memory prosecutor2 = _admit("PROSECUTOR", 0xA6);
        Member[6] memory who = [council[0], police, prosecutor, prosecutor2, bank, telecom];
        Member memory caller = who[approverSeed % 6];
        uint40 expiresAt = uint40(START + 30 days);
        uint256 id = _openCase("case-1", 1, expiresAt, true);
        vm.prank(police.key);
        cases.requestExtension(id, expiresAt + 30 days);
        if (caller.id != prosecutor.id) {
            vm.expectRevert(
                abi.encodeWithSelector(ICaseRegistry.NotCaseApprover.selector, id, caller.id, prosecutor.id)
            );
        }
        vm.prank(caller.key);
        cases.approveExtension(id, expiresAt + 30 days);
        assertEq(
            cases.getCase(id).expiresAt,
            caller.id == prosecutor.id ? expiresAt + 30 days : expiresAt,
            "extended only by the case's approver"
        );
    }

    /// A case number commitment is unique per opener: another police participant that uses it
    /// first (a copy from the mempool) neither blocks the opener nor takes its lookups.
    function testFuzz_CommitmentIsUniquePerOpener(bytes32 number) public {
        vm.assume(number != bytes32(0));
        Member memory police2 = _admit("POLICE", 0xA5);
        vm.prank(police2.key);
        uint256 theirs = cases.openCase(number, keccak256("basis"), 1, uint40(START + 30 days));
        vm.prank(police.key);
        uint256 ours = cases.openCase(number, keccak256("basis"), 1, uint40(START + 30 days));
        assertTrue(ours != theirs, "two cases");
        assertEq(cases.caseIdOf(police.id, number), ours, "the opener's lookup finds its own case");
        assertEq(cases.caseIdOf(police2.id, number), theirs, "the copier's lookup finds its own case");
        vm.expectRevert(abi.encodeWithSelector(ICaseRegistry.CaseNumberAlreadyUsed.selector, police.id, number, ours));
        vm.prank(police.key);
        cases.openCase(number, keccak256("basis"), 1, uint40(START + 30 days));
    }

    /// A closed case accepts nothing: no approval, extension, second closing or request, at any time.
    function testFuzz_ClosedCaseAcceptsNothing(bool approvedFirst, uint40 elapsedSeed) public {
        uint256 id = _openCase("case-1", 1, uint40(START + 30 days), approvedFirst);
        vm.prank(police.key);
        cases.closeCase(id, 7);
        vm.warp(START + bound(elapsedSeed, 0, 60 days));
        bytes memory closed = abi.encodeWithSelector(ICaseRegistry.CaseIsClosed.selector, id);

        vm.expectRevert(closed);
        vm.prank(prosecutor.key);
        cases.approveCase(id);
        vm.expectRevert(closed);
        vm.prank(police.key);
        cases.requestExtension(id, uint40(block.timestamp + 60 days));
        vm.expectRevert(closed);
        vm.prank(prosecutor.key);
        cases.approveExtension(id, uint40(block.timestamp + 60 days));
        vm.expectRevert(closed);
        vm.prank(police.key);
        cases.closeCase(id, 8);
        vm.expectRevert(closed);
        vm.prank(police.key);
        ledger.request(id, bank.id, datasetId, keccak256("subject"), 1);
        assertEq(uint256(cases.getCase(id).status), uint256(ICaseRegistry.Status.Closed), "still closed");
        assertTrue(!cases.isActive(id), "a closed case is not active");
    }

    /// Anchoring under a case id that does not exist is refused like any inactive case.
    function testFuzz_AnchorUnderUnknownCaseIsRefused(uint256 caseId) public {
        vm.assume(caseId != 0);
        vm.expectRevert(abi.encodeWithSelector(ICaseRegistry.UnknownCase.selector, caseId));
        vm.prank(bank.key);
        anchorLog.anchor(caseId, 0, keccak256("root"), 1);
        vm.expectRevert(abi.encodeWithSelector(IAccessLogAnchor.UnknownAnchor.selector, 1));
        anchorLog.verifyEntry(1, 0, bytes32(0), new bytes32[](0));
    }
}

/// @notice Drives the case registry through random openings, approvals, extensions, closings,
/// pauses and clock moves by police, prosecutors and others, keeping ghost state.
/// @dev A broken rule is recorded in `violations`; the invariant test reads it.
contract CaseHandler is ConsortiumBase {
    enum Rule {
        StatusEdge,
        ClosedReopened,
        ExpiryMovedBack,
        PartiesChanged,
        UnallowedAction,
        CounterDecreased
    }

    Member[] private _actors;
    mapping(uint32 participantId => uint256 actorIndex) private _actorOf;

    uint256 public ghostOpened;
    mapping(uint256 caseId => bool) public everClosed;
    mapping(uint256 caseId => ICaseRegistry.Case) private _last;
    uint256 private _lastCount;
    uint256 private _numbers;
    mapping(uint32 opener => mapping(bytes32 number => bool)) private _used;

    mapping(Rule => uint256) public violations;
    string public firstViolation;

    constructor() {
        _deployConsortium();
        Member memory police2 = _admit("POLICE", 0xA5);
        Member memory prosecutor2 = _admit("PROSECUTOR", 0xA6);
        _addActor(police);
        _addActor(police2);
        _addActor(prosecutor);
        _addActor(prosecutor2);
        _addActor(bank);
        _addActor(council[0]);
    }

    function caseRegistry() external view returns (address) {
        return address(cases);
    }

    // ------------------------------------------------------------------ actions

    function openCase(uint256 actorSeed, uint256 numberSeed, uint256 scopeSeed, uint256 durationSeed) external {
        // Three times in four a police officer; one time in four a case number already used.
        Member memory actor = actorSeed % 4 != 0 ? _actors[actorSeed % 2] : _actors[(actorSeed >> 2) % _actors.length];
        bytes32 number =
            numberSeed % 4 == 0 && _numbers > 0
                ? keccak256(abi.encode("case", (numberSeed >> 2) % _numbers))
                : keccak256(abi.encode("case", _numbers++));
        uint256 scope = scopeSeed % 8 == 0 ? 0 : scopeSeed | 1;
        // Mostly weeks, so clock moves expire cases; sometimes anything, invalid values included.
        uint256 duration =
            durationSeed % 4 == 0
                ? bound(durationSeed, 0, cases.MAX_CASE_DURATION() + 1 days)
                : bound(durationSeed, 1 hours, 20 days);
        bool paused = registry.paused();
        vm.prank(actor.key);
        try cases.openCase(number, keccak256("basis"), scope, uint40(block.timestamp + duration)) returns (uint256 id) {
            ++ghostOpened;
            if (paused || !_is(actor, "POLICE")) _violate(Rule.UnallowedAction, "opened by a non-police or paused");
            if (_used[actor.id][number]) _violate(Rule.UnallowedAction, "one opener used a commitment twice");
            if (cases.caseIdOf(actor.id, number) != id) _violate(Rule.UnallowedAction, "lookup misses the case");
            _used[actor.id][number] = true;
        } catch {}
        _observe();
    }

    function approveCase(uint256 actorSeed, uint256 caseSeed) external {
        Member memory actor = actorSeed % 4 != 0 ? _actors[2 + (actorSeed % 2)] : _actor(actorSeed >> 2);
        uint256 id = _caseId(caseSeed);
        ICaseRegistry.Case memory c = cases.getCase(id);
        bool paused = registry.paused();
        vm.prank(actor.key);
        try cases.approveCase(id) {
            bool allowed =
                !paused &&
                    _is(actor, "PROSECUTOR") &&
                    c.status == ICaseRegistry.Status.Pending &&
                    block.timestamp < c.expiresAt;
            if (!allowed) _violate(Rule.UnallowedAction, "approved a case that was not approvable");
        } catch {}
        _observe();
    }

    function requestExtension(uint256 actorSeed, uint256 caseSeed, uint256 extensionSeed) external {
        uint256 id = _caseId(caseSeed);
        ICaseRegistry.Case memory c = cases.getCase(id);
        Member memory actor = actorSeed % 4 != 0 && c.opener != 0 ? _actors[_actorOf[c.opener]] : _actor(actorSeed);
        uint40 newExpiry = uint40(c.expiresAt + bound(extensionSeed, 0, 60 days));
        bool paused = registry.paused();
        vm.prank(actor.key);
        try cases.requestExtension(id, newExpiry) {
            if (paused || !_active(c) || actor.id != c.opener) {
                _violate(Rule.UnallowedAction, "extension requested by a non-opener or on an inactive case");
            }
        } catch {}
        _observe();
    }

    function approveExtension(uint256 actorSeed, uint256 caseSeed, uint40 expectedSeed) external {
        Member memory actor = actorSeed % 4 != 0 ? _actors[2 + (actorSeed % 2)] : _actor(actorSeed >> 2);
        uint256 id = _caseId(caseSeed);
        ICaseRegistry.Case memory c = cases.getCase(id);
        // Mostly the pending request's expiry; one time in four another one.
        uint40 expected = expectedSeed % 4 != 0 ? c.requestedExpiry : expectedSeed;
        bool paused = registry.paused();
        vm.prank(actor.key);
        try cases.approveExtension(id, expected) {
            bool allowed =
                !paused &&
                    actor.id == c.approver &&
                    _active(c) &&
                    c.requestedExpiry != 0 &&
                    expected == c.requestedExpiry;
            if (!allowed) _violate(Rule.UnallowedAction, "approved an extension that was not approvable");
            if (cases.getCase(id).expiresAt != c.requestedExpiry) {
                _violate(Rule.UnallowedAction, "the approved extension is not the requested one");
            }
        } catch {}
        _observe();
    }

    function closeCase(uint256 actorSeed, uint256 caseSeed, uint16 reasonCode) external {
        uint256 id = _caseId(caseSeed);
        ICaseRegistry.Case memory c = cases.getCase(id);
        uint32 party = actorSeed % 2 == 0 ? c.opener : c.approver;
        Member memory actor = actorSeed % 4 != 0 && party != 0 ? _actors[_actorOf[party]] : _actor(actorSeed >> 2);
        vm.prank(actor.key);
        try cases.closeCase(id, reasonCode) {
            bool allowed =
                c.status != ICaseRegistry.Status.Closed &&
                    c.status != ICaseRegistry.Status.None &&
                    (actor.id == c.opener || actor.id == c.approver);
            if (!allowed) _violate(Rule.UnallowedAction, "closed by a non-party or closed twice");
        } catch {}
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
        vm.warp(block.timestamp + bound(secondsSeed, 0, 10 days));
        _observe();
    }

    /// Moves the clock to within a second of a case's expiry, where off-by-one errors show.
    function warpNearExpiry(uint256 caseSeed, uint8 offset) external {
        uint256 target = uint256(cases.getCase(_caseId(caseSeed)).expiresAt) + (offset % 3);
        if (target > block.timestamp + 1) vm.warp(target - 1);
        _observe();
    }

    // ------------------------------------------------------------------ internals

    /// @dev Checks every case's change since the last call and the counter.
    function _observe() private {
        uint256 count = cases.caseCount();
        if (count < _lastCount) _violate(Rule.CounterDecreased, "caseCount decreased");
        _lastCount = count;
        for (uint256 id = 1; id <= count; ++id) {
            ICaseRegistry.Case memory c = cases.getCase(id);
            ICaseRegistry.Case memory last = _last[id];
            if (c.status != last.status && !_allowedEdge(last.status, c.status)) {
                _violate(Rule.StatusEdge, "case status moved along a forbidden edge");
            }
            if (everClosed[id] && c.status != ICaseRegistry.Status.Closed) {
                _violate(Rule.ClosedReopened, "a closed case reopened");
            }
            if (c.expiresAt < last.expiresAt) _violate(Rule.ExpiryMovedBack, "a case's expiry moved back");
            if (
                (last.opener != 0 && c.opener != last.opener) ||
                (last.approver != 0 && c.approver != last.approver) ||
                (c.approver != 0 && c.approver == c.opener)
            ) {
                _violate(Rule.PartiesChanged, "a case's opener or approver changed");
            }
            if (c.status == ICaseRegistry.Status.Closed) everClosed[id] = true;
            _last[id] = c;
        }
    }

    function _allowedEdge(ICaseRegistry.Status from, ICaseRegistry.Status to) private pure returns (bool) {
        if (from == ICaseRegistry.Status.None) return to == ICaseRegistry.Status.Pending;
        if (from == ICaseRegistry.Status.Pending) return to != ICaseRegistry.Status.None;
        if (from == ICaseRegistry.Status.Approved) return to == ICaseRegistry.Status.Closed;
        return false; // Closed is final.
    }

    function _active(ICaseRegistry.Case memory c) private view returns (bool) {
        return c.status == ICaseRegistry.Status.Approved && block.timestamp < c.expiresAt;
    }

    function _is(Member memory m, bytes32 kind) private view returns (bool) {
        return registry.participant(m.id).kind == kind;
    }

    function _actor(uint256 seed) private view returns (Member memory) {
        return _actors[seed % _actors.length];
    }

    function _addActor(Member memory m) private {
        _actorOf[m.id] = _actors.length;
        _actors.push(m);
    }

    function _caseId(uint256 seed) private view returns (uint256) {
        // Mostly an existing case, sometimes one past the end.
        return bound(seed, 1, cases.caseCount() + 1);
    }

    function _violate(Rule rule, string memory what) private {
        if (bytes(firstViolation).length == 0) firstViolation = what;
        ++violations[rule];
    }
}

/// @notice Invariants of the case registry under random activity.
contract CaseRegistryInvariantTest is TestBase {
    CaseHandler private handler;
    ICaseRegistry private caseRegistry;

    function setUp() public {
        handler = new CaseHandler();
        caseRegistry = ICaseRegistry(handler.caseRegistry());
    }

    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    function targetSelectors() public view returns (FuzzSelector[] memory targets) {
        bytes4[] memory selectors = new bytes4[](8);
        selectors[0] = CaseHandler.openCase.selector;
        selectors[1] = CaseHandler.approveCase.selector;
        selectors[2] = CaseHandler.requestExtension.selector;
        selectors[3] = CaseHandler.approveExtension.selector;
        selectors[4] = CaseHandler.closeCase.selector;
        selectors[5] = CaseHandler.togglePause.selector;
        selectors[6] = CaseHandler.warp.selector;
        selectors[7] = CaseHandler.warpNearExpiry.selector;
        targets = new FuzzSelector[](1);
        targets[0] = FuzzSelector({addr: address(handler), selectors: selectors});
    }

    /// A closed case never reopens and is never active again.
    /// hardhat-config: invariant.runs = 32
    /// hardhat-config: invariant.depth = 80
    function invariant_ClosedCaseNeverReopens() public view {
        assertEq(handler.violations(CaseHandler.Rule.ClosedReopened), 0, handler.firstViolation());
        for (uint256 id = 1; id <= caseRegistry.caseCount(); ++id) {
            if (!handler.everClosed(id)) continue;
            assertEq(uint256(caseRegistry.getCase(id).status), uint256(ICaseRegistry.Status.Closed), "still closed");
            assertTrue(!caseRegistry.isActive(id), "a closed case is not active");
        }
    }

    /// Statuses move only Pending→Approved, Pending→Closed, Approved→Closed; expiries never
    /// move back; opener and approver never change once set and are never the same.
    /// hardhat-config: invariant.runs = 32
    /// hardhat-config: invariant.depth = 80
    function invariant_StatusAlongAllowedEdges() public view {
        assertEq(handler.violations(CaseHandler.Rule.StatusEdge), 0, handler.firstViolation());
        assertEq(handler.violations(CaseHandler.Rule.ExpiryMovedBack), 0, handler.firstViolation());
        assertEq(handler.violations(CaseHandler.Rule.PartiesChanged), 0, handler.firstViolation());
    }

    /// Every successful call was allowed: police opens, prosecutors approve pending unexpired
    /// cases and extensions of active ones, the opener asks for extensions, parties close.
    /// hardhat-config: invariant.runs = 32
    /// hardhat-config: invariant.depth = 80
    function invariant_ActionsSucceedOnlyWhenAllowed() public view {
        assertEq(handler.violations(CaseHandler.Rule.UnallowedAction), 0, handler.firstViolation());
        for (uint256 id = 1; id <= caseRegistry.caseCount(); ++id) {
            ICaseRegistry.Case memory c = caseRegistry.getCase(id);
            bool active = c.status == ICaseRegistry.Status.Approved && block.timestamp < c.expiresAt;
            assertTrue(caseRegistry.isActive(id) == active, "isActive = approved, open and unexpired");
        }
    }

    /// caseCount() never decreases and equals the number of successful openings.
    /// hardhat-config: invariant.runs = 32
    /// hardhat-config: invariant.depth = 80
    function invariant_CaseCountOnlyIncreases() public view {
        assertEq(handler.violations(CaseHandler.Rule.CounterDecreased), 0, handler.firstViolation());
        assertEq(caseRegistry.caseCount(), handler.ghostOpened(), "caseCount = successful openings");
    }
}
