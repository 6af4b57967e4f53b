// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IParticipantRegistry} from "../../contracts/registry/IParticipantRegistry.sol";
import {ParticipantRegistry} from "../../contracts/registry/ParticipantRegistry.sol";
import {TestBase} from "./Base.sol";

/// @notice Deploys registries with founders whose keys derive from 0xD0, 0xD1, ...
abstract contract RegistryFixture is TestBase {
    uint256 internal constant FOUNDER_PK = 0xD0;
    uint256 internal constant START = 1_700_000_000;

    function _deploy(uint256 size, uint16 quorum) internal returns (ParticipantRegistry r) {
        vm.warp(START);
        IParticipantRegistry.Founder[] memory founders = new IParticipantRegistry.Founder[](size);
        for (uint256 i = 0; i < size; ++i) {
            founders[i] = IParticipantRegistry.Founder({
                kind: "AUDITOR",
                metadataCommitment: keccak256(abi.encode("founder", i)),
                signingKey: _founder(i)
            });
        }
        r = new ParticipantRegistry(founders, quorum);
    }

    /// @dev Key of founder `i` (participant id i + 1).
    function _founder(uint256 i) internal pure returns (address) {
        return vm.addr(FOUNDER_PK + i);
    }

    function _admitArgs(uint256 pk) internal pure returns (bytes memory) {
        address key = vm.addr(pk);
        return abi.encode(bytes32("BANK"), keccak256(abi.encode(key)), key);
    }
}

/// @notice Fuzz tests of the council's rules: quorum, distinct approvals, single execution,
/// expiry, and the participant status machine.
contract ParticipantRegistryFuzzTest is RegistryFixture {
    /// A proposal executes exactly when approvals of distinct current council members reach
    /// the quorum; a second approval by the same member is rejected and not counted; an
    /// executed proposal can't be executed or approved again.
    function testFuzz_ExecutesOnlyWithQuorumOfDistinctApprovals(
        uint8 sizeSeed,
        uint8 quorumSeed,
        uint8 proposerSeed,
        uint256 approverMask
    ) public {
        uint256 size = bound(sizeSeed, 1, 8);
        uint16 quorum = uint16(bound(quorumSeed, 1, size));
        uint256 proposer = bound(proposerSeed, 0, size - 1);
        ParticipantRegistry r = _deploy(size, quorum);

        vm.prank(_founder(proposer));
        uint256 id = r.propose(IParticipantRegistry.Action.Admit, _admitArgs(0xBEEF), 1 days);
        uint256 expected = 1;
        assertEq(r.approvalCount(id), expected, "the proposer's approval is counted at once");

        vm.expectRevert(abi.encodeWithSelector(IParticipantRegistry.AlreadyApproved.selector, id, proposer + 1));
        vm.prank(_founder(proposer));
        r.approve(id);

        for (uint256 i = 0; i < size; ++i) {
            if (i == proposer || (approverMask >> i) & 1 == 0) continue;
            vm.prank(_founder(i));
            r.approve(id);
            ++expected;
            assertEq(r.approvalCount(id), expected, "each distinct approval counts once");
            vm.expectRevert(abi.encodeWithSelector(IParticipantRegistry.AlreadyApproved.selector, id, i + 1));
            vm.prank(_founder(i));
            r.approve(id);
            assertEq(r.approvalCount(id), expected, "a repeated approval is not counted");
        }

        if (expected < quorum) {
            vm.expectRevert(
                abi.encodeWithSelector(IParticipantRegistry.QuorumNotReached.selector, id, expected, quorum)
            );
            r.execute(id);
            assertEq(r.participantCount(), size, "nothing happened below the quorum");
            // Completing the quorum with the missing members makes it executable.
            for (uint256 i = 0; i < size && expected < quorum; ++i) {
                if (r.hasApproved(id, uint32(i + 1))) continue;
                vm.prank(_founder(i));
                r.approve(id);
                ++expected;
            }
        }
        r.execute(id);
        assertEq(r.participantCount(), size + 1, "the admission took effect");
        assertEq(
            uint256(r.proposal(id).status),
            uint256(IParticipantRegistry.ProposalStatus.Executed),
            "the proposal is marked executed"
        );

        vm.expectRevert(
            abi.encodeWithSelector(
                IParticipantRegistry.ProposalNotPending.selector,
                id,
                IParticipantRegistry.ProposalStatus.Executed
            )
        );
        r.execute(id);
        assertEq(r.participantCount(), size + 1, "a second execution changed nothing");
    }

    /// A proposal can be approved and executed strictly before its expiry, never at or after it.
    function testFuzz_NeverExecutesAfterExpiry(uint40 lifetimeSeed, uint40 elapsedSeed) public {
        ParticipantRegistry r = _deploy(3, 2);
        uint40 lifetime = uint40(bound(lifetimeSeed, r.MIN_PROPOSAL_LIFETIME(), r.MAX_PROPOSAL_LIFETIME()));
        uint40 elapsed = uint40(nearBoundary(elapsedSeed, lifetime, 2 * uint256(r.MAX_PROPOSAL_LIFETIME())));
        vm.prank(_founder(0));
        uint256 id = r.propose(IParticipantRegistry.Action.Admit, _admitArgs(0xBEEF), lifetime);
        uint40 expiresAt = uint40(START) + lifetime;
        assertEq(r.proposal(id).expiresAt, expiresAt, "expiry = creation + lifetime");

        vm.warp(START + elapsed);
        if (elapsed >= lifetime) {
            bytes memory expired = abi.encodeWithSelector(IParticipantRegistry.ProposalExpired.selector, id, expiresAt);
            vm.expectRevert(expired);
            vm.prank(_founder(1));
            r.approve(id);
            // Even with the quorum gathered in time, execution after expiry fails.
            vm.warp(START);
            vm.prank(_founder(1));
            r.approve(id);
            vm.warp(START + elapsed);
            vm.expectRevert(expired);
            r.execute(id);
            assertEq(r.participantCount(), 3, "an expired proposal changed nothing");
        } else {
            vm.prank(_founder(1));
            r.approve(id);
            r.execute(id);
            assertEq(r.participantCount(), 4, "an unexpired proposal executes");
        }
    }

    /// Lifetimes outside [MIN_PROPOSAL_LIFETIME, MAX_PROPOSAL_LIFETIME] are refused.
    function testFuzz_RejectsLifetimeOutsideBounds(uint40 lifetime) public {
        ParticipantRegistry r = _deploy(3, 2);
        uint40 min = r.MIN_PROPOSAL_LIFETIME();
        uint40 max = r.MAX_PROPOSAL_LIFETIME();
        if (lifetime < min || lifetime > max) {
            vm.expectRevert(
                abi.encodeWithSelector(IParticipantRegistry.InvalidProposalLifetime.selector, lifetime, min, max)
            );
        }
        vm.prank(_founder(0));
        r.propose(IParticipantRegistry.Action.Admit, _admitArgs(0xBEEF), lifetime);
        assertEq(r.proposalCount(), lifetime < min || lifetime > max ? 0 : 1, "proposal count");
    }

    /// Approvals of members removed from the council stop counting, and removed members can't
    /// approve any more.
    function testFuzz_OnlyCurrentCouncilApprovalsCount(uint8 removedSeed) public {
        ParticipantRegistry r = _deploy(3, 2);
        uint256 gone = bound(removedSeed, 0, 2);
        uint256 a = (gone + 1) % 3;
        uint256 b = (gone + 2) % 3;

        vm.prank(_founder(gone));
        uint256 pending = r.propose(IParticipantRegistry.Action.Admit, _admitArgs(0xBEEF), 1 days);

        vm.prank(_founder(a));
        uint256 removal = r.propose(IParticipantRegistry.Action.RemoveCouncilMember, abi.encode(gone + 1), 1 days);
        vm.prank(_founder(b));
        r.approve(removal);
        r.execute(removal);

        assertEq(r.approvalCount(pending), 0, "the removed member's approval no longer counts");
        vm.expectRevert(abi.encodeWithSelector(IParticipantRegistry.NotCouncilMember.selector, gone + 1));
        vm.prank(_founder(gone));
        r.approve(pending);

        vm.prank(_founder(a));
        r.approve(pending);
        vm.expectRevert(abi.encodeWithSelector(IParticipantRegistry.QuorumNotReached.selector, pending, 1, 2));
        r.execute(pending);

        // Seated again, the member's old approval still does not count; a new one counts once.
        vm.prank(_founder(a));
        uint256 readd = r.propose(IParticipantRegistry.Action.AddCouncilMember, abi.encode(gone + 1), 1 days);
        vm.prank(_founder(b));
        r.approve(readd);
        r.execute(readd);
        assertEq(r.approvalCount(pending), 1, "an approval from an earlier seat does not count");
        assertTrue(!r.hasApproved(pending, uint32(gone + 1)), "no approval in the current seat");
        vm.prank(_founder(gone));
        r.approve(pending);
        assertEq(r.approvalCount(pending), 2, "the new approval counts once");
        vm.expectRevert(abi.encodeWithSelector(IParticipantRegistry.AlreadyApproved.selector, pending, gone + 1));
        vm.prank(_founder(gone));
        r.approve(pending);

        r.execute(pending);
        assertEq(r.participantCount(), 4, "executed once two current members approved");
    }

    /// Arguments must be the exact ABI encoding the action decodes: a participant id wider than
    /// uint32 is refused when proposed, not at execution.
    function testFuzz_RejectsMalformedArgs(uint256 word) public {
        ParticipantRegistry r = _deploy(3, 2);
        if (word > type(uint32).max) {
            vm.expectRevert(
                abi.encodeWithSelector(
                    IParticipantRegistry.InvalidProposalArgs.selector,
                    IParticipantRegistry.Action.Suspend,
                    32
                )
            );
        }
        vm.prank(_founder(0));
        r.propose(IParticipantRegistry.Action.Suspend, abi.encode(word), 1 days);
        assertEq(r.proposalCount(), word > type(uint32).max ? 0 : 1, "proposal count");
    }

    /// For any sequence of status, council and key actions on one participant, each action
    /// succeeds exactly when the state machine allows it, and the status only moves along
    /// Active→Suspended, Suspended→Active, Active→Revoked, Suspended→Revoked.
    function testFuzz_StatusFollowsAllowedEdges(uint256 seed) public {
        ParticipantRegistry r = _deploy(3, 2);
        _passOn(r, IParticipantRegistry.Action.Admit, _admitArgs(0xA0));
        uint32 x = 4;

        IParticipantRegistry.Status status = IParticipantRegistry.Status.Active;
        bool member = false;
        uint256 keys = 1;
        uint256 nextKey = 0xA100;
        // Private keys of the added keys still active, newest last.
        uint256[] memory added = new uint256[](16);

        for (uint256 step = 0; step < 16; ++step) {
            uint256 op = (seed >> (step * 4)) % 7;
            bool allowed;
            bool ok;
            if (op == 0) {
                allowed = status == IParticipantRegistry.Status.Active && !member;
                ok = _passOn(r, IParticipantRegistry.Action.Suspend, abi.encode(x));
                if (ok) status = IParticipantRegistry.Status.Suspended;
            } else if (op == 1) {
                allowed = status == IParticipantRegistry.Status.Suspended;
                ok = _passOn(r, IParticipantRegistry.Action.Reinstate, abi.encode(x));
                if (ok) status = IParticipantRegistry.Status.Active;
            } else if (op == 2) {
                allowed = status != IParticipantRegistry.Status.Revoked && !member;
                ok = _passOn(r, IParticipantRegistry.Action.Revoke, abi.encode(x));
                if (ok) status = IParticipantRegistry.Status.Revoked;
            } else if (op == 3) {
                allowed = status == IParticipantRegistry.Status.Active && !member;
                ok = _passOn(r, IParticipantRegistry.Action.AddCouncilMember, abi.encode(x));
                if (ok) member = true;
            } else if (op == 4) {
                allowed = member;
                ok = _passOn(r, IParticipantRegistry.Action.RemoveCouncilMember, abi.encode(x));
                if (ok) member = false;
            } else if (op == 5) {
                allowed = status != IParticipantRegistry.Status.Revoked;
                ok = _passOn(r, IParticipantRegistry.Action.AddSigningKey, abi.encode(x, vm.addr(nextKey)));
                if (ok) added[keys++ - 1] = nextKey;
                ++nextKey;
            } else {
                // Remove the newest added key, or the first key when it is the only one.
                allowed = keys > 1;
                address key = keys > 1 ? vm.addr(added[keys - 2]) : vm.addr(0xA0);
                ok = _passOn(r, IParticipantRegistry.Action.RemoveSigningKey, abi.encode(x, key));
                if (ok) --keys;
            }
            assertTrue(ok == allowed, "an action succeeds exactly when the state machine allows it");
            assertEq(uint256(r.participant(x).status), uint256(status), "status follows the model");
            assertEq(r.participant(x).activeKeys, keys, "active keys follow the model");
            assertTrue(r.isActive(x) == (status == IParticipantRegistry.Status.Active), "isActive");
        }
    }

    /// Of any number of identical proposals approved together, one executes and every other
    /// one fails as stale; none of them can ever run again, whatever the state becomes.
    function testFuzz_DuplicatesRunOnce(uint8 copiesSeed, uint8 orderSeed) public {
        ParticipantRegistry r = _deploy(3, 2);
        _passOn(r, IParticipantRegistry.Action.Admit, _admitArgs(0xA0));
        uint256 copies = bound(copiesSeed, 2, 5);
        uint256[] memory ids = new uint256[](copies);
        for (uint256 i = 0; i < copies; ++i) {
            vm.prank(_founder(0));
            ids[i] = r.propose(IParticipantRegistry.Action.AddCouncilMember, abi.encode(uint32(4)), 1 days);
            vm.prank(_founder(1));
            r.approve(ids[i]);
        }
        uint256 first = orderSeed % copies;
        r.execute(ids[first]);
        _passOn(r, IParticipantRegistry.Action.RemoveCouncilMember, abi.encode(uint32(4)));
        for (uint256 i = 0; i < copies; ++i) {
            if (i == first) continue;
            r.execute(ids[i]);
            assertEq(
                uint256(r.proposal(ids[i]).status),
                uint256(IParticipantRegistry.ProposalStatus.Failed),
                "a twin fails"
            );
        }
        (uint32[] memory members, ) = r.council();
        assertEq(members.length, 3, "the removed member is not back");
    }

    /// A pause by one member ends by itself after PAUSE_DURATION, whatever the council does not
    /// do; the same member can't pause again within PAUSE_COOLDOWN of its pause.
    function testFuzz_OneMemberPauseLapses(uint40 elapsedSeed) public {
        ParticipantRegistry r = _deploy(3, 3);
        uint40 duration = r.PAUSE_DURATION();
        uint40 cooldown = r.PAUSE_COOLDOWN();
        uint40 elapsed = uint40(nearBoundary(elapsedSeed, duration, 2 * uint256(cooldown)));
        vm.prank(_founder(0));
        r.pause();
        vm.warp(START + elapsed);
        assertTrue(r.paused() == (elapsed < duration), "paused exactly before PAUSE_DURATION");
        if (elapsed < duration) return;
        if (elapsed < cooldown) {
            vm.expectRevert(
                abi.encodeWithSelector(IParticipantRegistry.PauseCooldown.selector, 1, uint40(START) + cooldown)
            );
        }
        vm.prank(_founder(0));
        r.pause();
        assertTrue(r.paused() == (elapsed >= cooldown), "a second pause only after the cooldown");
    }

    /// @dev Proposal by founder 0, approval by founder 1, execution; false if it did not execute.
    function _passOn(
        ParticipantRegistry r,
        IParticipantRegistry.Action action,
        bytes memory args
    ) private returns (bool ok) {
        vm.prank(_founder(0));
        uint256 id = r.propose(action, args, 1 days);
        vm.prank(_founder(1));
        r.approve(id);
        r.execute(id);
        ok = r.proposal(id).status == IParticipantRegistry.ProposalStatus.Executed;
    }
}

/// @notice Drives a registry with three founders (quorum 2, one removal from the edge) through random valid and invalid
/// proposals, approvals, executions, pauses and clock moves, keeping ghost state.
/// @dev Its public functions are the invariant fuzzer's only targets. A broken rule is recorded
/// in `violations` (a reverting handler call would just be skipped by the fuzzer).
contract RegistryHandler is TestBase {
    enum Rule {
        StatusEdge,
        RevokedReactivated,
        ExecutedWithoutQuorum,
        ExecutedTwice,
        ExecutedAfterExpiry,
        ApprovalCountedTwice,
        CounterDecreased,
        StaleExecuted,
        UnallowedCancel
    }

    uint256 private constant FOUNDERS = 3;
    uint256 private constant FRESH_PK = 0x1000;

    ParticipantRegistry public immutable registry;

    /// Every key the handler has used: founders' keys, then keys handed out for admissions
    /// and key additions (whether or not the proposal went through).
    address[] private _keys;
    uint256 private _freshKeys;
    mapping(uint32 participantId => address[]) private _keysOf;

    uint256 public ghostProposals;
    uint256 public ghostExecutions;
    mapping(uint32 participantId => uint256) public ghostActiveKeys;
    mapping(uint32 participantId => bool) public everRevoked;
    mapping(uint32 participantId => IParticipantRegistry.Status) private _lastStatus;
    mapping(uint256 proposalId => bool) private _executed;
    uint256 private _lastProposalCount;
    uint32 private _lastParticipantCount;

    // Ghost clock of the state a proposal depends on: each change gets the next tick, and a
    // proposal that executes must have been proposed after every change of what it acts on.
    uint256 private _tick;
    mapping(uint256 proposalId => uint256 tick) private _proposedAt;
    mapping(bytes32 actionKey => uint256 tick) private _lastRunOf;
    mapping(uint32 participantId => uint256 tick) private _participantChangedAt;
    mapping(uint32 participantId => bool) private _wasMember;
    uint256 private _councilChangedAt;
    bytes32 private _lastCouncil;
    uint256 private _pauseBeganAt;
    uint64 private _lastPauseCount;

    mapping(Rule => uint256) public violations;
    string public firstViolation;

    constructor() {
        IParticipantRegistry.Founder[] memory founders = new IParticipantRegistry.Founder[](FOUNDERS);
        for (uint256 i = 0; i < FOUNDERS; ++i) {
            address key = vm.addr(0xF0 + i);
            founders[i] = IParticipantRegistry.Founder({
                kind: "AUDITOR",
                metadataCommitment: keccak256(abi.encode("founder", i)),
                signingKey: key
            });
            _keys.push(key);
            _keysOf[uint32(i + 1)].push(key);
            ghostActiveKeys[uint32(i + 1)] = 1;
        }
        registry = new ParticipantRegistry(founders, 2);
        _observe();
    }

    // ------------------------------------------------------------------ actions

    function propose(uint256 actorSeed, uint8 actionSeed, uint256 argSeed, uint256 lifetimeSeed) external {
        IParticipantRegistry.Action action = _action(actionSeed);
        // Lifetimes from just under the minimum to two days; clock moves of up to a day expire some.
        uint40 lifetime = uint40(bound(lifetimeSeed, 1 hours - 60, 2 days));
        _propose(_actor(actorSeed), action, _args(action, argSeed), lifetime);
        _observe();
    }

    function approve(uint256 actorSeed, uint256 proposalSeed) external {
        _approve(_actor(actorSeed), _proposalId(proposalSeed));
        _observe();
    }

    function execute(uint256 proposalSeed) external {
        _execute(_proposalId(proposalSeed));
        _observe();
    }

    /// A proposal by a council member, approved by up to `approvals` other members (usually
    /// enough for the quorum), then executed.
    function passProposal(uint256 actorSeed, uint8 actionSeed, uint256 argSeed, uint8 approvals) external {
        IParticipantRegistry.Action action = _action(actionSeed);
        (bool ok, uint256 id) = _propose(_councilKey(actorSeed), action, _args(action, argSeed), 1 days);
        if (ok) {
            (uint32[] memory members, ) = registry.council();
            uint256 wanted = approvals % 8;
            for (uint256 i = 0; i < members.length && wanted > 0; ++i) {
                if (registry.hasApproved(id, members[i])) continue;
                _approve(_councilKey(i), id);
                --wanted;
            }
            _execute(id);
        }
        _observe();
    }

    /// Moves the clock to within a second of a proposal's expiry, then tries to execute it.
    function executeNearExpiry(uint256 proposalSeed, uint8 offset) external {
        uint256 id = _proposalId(proposalSeed);
        uint256 target = uint256(registry.proposal(id).expiresAt) + (offset % 3);
        if (target > block.timestamp + 1) vm.warp(target - 1);
        _execute(id);
        _observe();
    }

    function pause(uint256 actorSeed) external {
        vm.prank(_actor(actorSeed));
        try registry.pause() {} catch {}
        _observe();
    }

    function cancel(uint256 actorSeed, uint256 proposalSeed) external {
        address actor = _actor(actorSeed);
        uint256 id = _proposalId(proposalSeed);
        uint32 member = registry.signingKey(actor).participantId;
        IParticipantRegistry.Proposal memory p = registry.proposal(id);
        uint256 others = registry.approvalCount(id) - (registry.hasApproved(id, p.proposer) ? 1 : 0);
        vm.prank(actor);
        try registry.cancel(id) {
            if (member != p.proposer || others != 0)
                _violate(Rule.UnallowedCancel, "cancelled by other than a lone proposer");
            if (p.status != IParticipantRegistry.ProposalStatus.Pending)
                _violate(Rule.UnallowedCancel, "cancelled twice");
        } catch {}
        _observe();
    }

    function withdrawApproval(uint256 actorSeed, uint256 proposalSeed) external {
        address actor = _actor(actorSeed);
        uint256 id = _proposalId(proposalSeed);
        uint256 before = registry.approvalCount(id);
        vm.prank(actor);
        try registry.withdrawApproval(id) {
            if (registry.approvalCount(id) != before - 1) {
                _violate(Rule.ApprovalCountedTwice, "a withdrawal changed the count by other than one");
            }
        } catch {}
        _observe();
    }

    function warp(uint256 secondsSeed) external {
        vm.warp(block.timestamp + bound(secondsSeed, 0, 1 days));
        _observe();
    }

    // ------------------------------------------------------------------ views for invariants

    function keysOf(uint32 participantId) external view returns (address[] memory) {
        return _keysOf[participantId];
    }

    // ------------------------------------------------------------------ internals

    function _propose(
        address actor,
        IParticipantRegistry.Action action,
        bytes memory args,
        uint40 lifetime
    ) private returns (bool ok, uint256 id) {
        vm.prank(actor);
        try registry.propose(action, args, lifetime) returns (uint256 proposalId) {
            (ok, id) = (true, proposalId);
            ++ghostProposals;
            _proposedAt[id] = ++_tick;
        } catch {}
    }

    function _approve(address actor, uint256 id) private {
        uint32 approver = registry.signingKey(actor).participantId;
        bool had = registry.hasApproved(id, approver);
        uint256 before = registry.approvalCount(id);
        vm.prank(actor);
        try registry.approve(id) {
            if (had) _violate(Rule.ApprovalCountedTwice, "a member approved the same proposal twice");
            if (registry.approvalCount(id) != before + 1) {
                _violate(Rule.ApprovalCountedTwice, "an approval changed the count by other than one");
            }
        } catch {}
    }

    function _execute(uint256 id) private {
        IParticipantRegistry.Proposal memory p = registry.proposal(id);
        uint256 approvals = registry.approvalCount(id);
        (, uint16 quorum) = registry.council();
        try registry.execute(id) {
            if (p.status != IParticipantRegistry.ProposalStatus.Pending) _violate(Rule.ExecutedTwice, "ran twice");
            if (approvals < quorum) _violate(Rule.ExecutedWithoutQuorum, "executed below the quorum");
            if (block.timestamp >= p.expiresAt) _violate(Rule.ExecutedAfterExpiry, "executed at or after expiry");
            if (registry.proposal(id).status != IParticipantRegistry.ProposalStatus.Executed) return;
            ++ghostExecutions;
            if (_executed[id]) _violate(Rule.ExecutedTwice, "executed twice");
            if (_stale(id, p.action, p.args)) _violate(Rule.StaleExecuted, "a stale proposal executed");
            _executed[id] = true;
            _lastRunOf[keccak256(abi.encode(p.action, p.args))] = ++_tick;
            _applyGhost(p.action, p.args);
        } catch {}
    }

    /// @dev Whether what `id` acts on changed since it was proposed, by the ghost clock.
    function _stale(uint256 id, IParticipantRegistry.Action action, bytes memory args) private view returns (bool) {
        uint256 at = _proposedAt[id];
        if (_lastRunOf[keccak256(abi.encode(action, args))] > at) return true;
        if (action == IParticipantRegistry.Action.SetQuorum) return _councilChangedAt > at;
        if (action == IParticipantRegistry.Action.Unpause || action == IParticipantRegistry.Action.ExtendPause) {
            return _pauseBeganAt > at;
        }
        if (
            action == IParticipantRegistry.Action.Suspend ||
            action == IParticipantRegistry.Action.Reinstate ||
            action == IParticipantRegistry.Action.Revoke ||
            action == IParticipantRegistry.Action.AddCouncilMember ||
            action == IParticipantRegistry.Action.RemoveCouncilMember
        ) {
            return _participantChangedAt[abi.decode(args, (uint32))] > at;
        }
        return false;
    }

    /// @dev Mirrors the key bookkeeping of an executed proposal in the ghost state.
    function _applyGhost(IParticipantRegistry.Action action, bytes memory args) private {
        if (action == IParticipantRegistry.Action.Admit) {
            (, , address key) = abi.decode(args, (bytes32, bytes32, address));
            uint32 id = registry.participantCount();
            _keysOf[id].push(key);
            ghostActiveKeys[id] = 1;
        } else if (action == IParticipantRegistry.Action.AddSigningKey) {
            (uint32 id, address key) = abi.decode(args, (uint32, address));
            _keysOf[id].push(key);
            ++ghostActiveKeys[id];
        } else if (action == IParticipantRegistry.Action.RemoveSigningKey) {
            (uint32 id, ) = abi.decode(args, (uint32, address));
            --ghostActiveKeys[id];
        }
    }

    /// @dev Checks every participant's status change since the last call and the counters.
    function _observe() private {
        uint32 count = registry.participantCount();
        uint256 proposals = registry.proposalCount();
        if (count < _lastParticipantCount || proposals < _lastProposalCount) {
            _violate(Rule.CounterDecreased, "a counter decreased");
        }
        (_lastParticipantCount, _lastProposalCount) = (count, proposals);
        (uint32[] memory members, uint16 quorum) = registry.council();
        bytes32 councilHash = keccak256(abi.encode(members, quorum));
        if (councilHash != _lastCouncil) (_lastCouncil, _councilChangedAt) = (councilHash, ++_tick);
        (, uint64 pauses) = registry.pauseState();
        if (pauses != _lastPauseCount) (_lastPauseCount, _pauseBeganAt) = (pauses, ++_tick);
        for (uint32 id = 1; id <= count; ++id) {
            bool member = false;
            for (uint256 i = 0; i < members.length; ++i) if (members[i] == id) member = true;
            if (member != _wasMember[id]) (_wasMember[id], _participantChangedAt[id]) = (member, ++_tick);
            IParticipantRegistry.Status current = registry.participant(id).status;
            IParticipantRegistry.Status previous = _lastStatus[id];
            if (current == previous) continue;
            _participantChangedAt[id] = ++_tick;
            if (!_allowedEdge(previous, current)) _violate(Rule.StatusEdge, "status moved along a forbidden edge");
            if (everRevoked[id]) _violate(Rule.RevokedReactivated, "a revoked participant changed status");
            if (current == IParticipantRegistry.Status.Revoked) everRevoked[id] = true;
            _lastStatus[id] = current;
        }
    }

    function _allowedEdge(
        IParticipantRegistry.Status from,
        IParticipantRegistry.Status to
    ) private pure returns (bool) {
        if (from == IParticipantRegistry.Status.None) return to == IParticipantRegistry.Status.Active;
        if (from == IParticipantRegistry.Status.Active) return to != IParticipantRegistry.Status.None;
        if (from == IParticipantRegistry.Status.Suspended) return to != IParticipantRegistry.Status.None;
        return false; // Revoked is final.
    }

    function _args(IParticipantRegistry.Action action, uint256 seed) private returns (bytes memory) {
        // Mostly an existing participant; one time in sixteen none (0) or one not admitted yet.
        uint32 count = registry.participantCount();
        uint32 id = (seed & 0xff) < 16 ? uint32((seed & 1) * (count + 1)) : uint32(1 + ((seed >> 8) % count));
        // Seven times in eight a key never used before, else a used one (registration must fail).
        address key = (seed >> 24) % 8 != 0 ? _freshKey() : _keys[(seed >> 28) % _keys.length];
        if (action == IParticipantRegistry.Action.Admit) {
            // One time in sixteen a zero key, which execution must refuse.
            if ((seed >> 32) % 16 == 0) key = address(0);
            return abi.encode(bytes32("BANK"), keccak256(abi.encode(key, seed)), key);
        }
        if (
            action == IParticipantRegistry.Action.AddSigningKey ||
            action == IParticipantRegistry.Action.RemoveSigningKey
        ) {
            // Removal: mostly one of the participant's own keys.
            address[] storage own = _keysOf[id];
            if (action == IParticipantRegistry.Action.RemoveSigningKey && own.length > 0 && (seed >> 40) % 4 != 0) {
                key = own[(seed >> 48) % own.length];
            }
            return abi.encode(id, key);
        }
        if (action == IParticipantRegistry.Action.SetQuorum) return abi.encode(uint16(bound(seed >> 56, 0, 6)));
        if (action == IParticipantRegistry.Action.Unpause) return "";
        if (action == IParticipantRegistry.Action.CancelProposal) return abi.encode(_proposalId(seed >> 64));
        if (action == IParticipantRegistry.Action.ExtendPause) return abi.encode(uint32(bound(seed >> 64, 0, 40 days)));
        return abi.encode(id);
    }

    /// @dev Key changes and status changes weigh more, so that longer histories build up.
    function _action(uint8 seed) private pure returns (IParticipantRegistry.Action) {
        uint8[24] memory table = [0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 13, 13, 14];
        return IParticipantRegistry.Action(table[seed % 24]);
    }

    /// @dev Three times in four an active key of a current council member, else any known key.
    function _actor(uint256 seed) private view returns (address) {
        if (seed % 4 != 0) return _councilKey(seed >> 2);
        return _keys[(seed >> 2) % _keys.length];
    }

    function _councilKey(uint256 seed) private view returns (address) {
        (uint32[] memory members, ) = registry.council();
        address[] storage keys = _keysOf[members[seed % members.length]];
        for (uint256 i = 0; i < keys.length; ++i) {
            if (registry.signingKey(keys[i]).removedAt == 0) return keys[i];
        }
        return keys[0];
    }

    function _proposalId(uint256 seed) private view returns (uint256) {
        // Mostly an existing proposal, sometimes one past the end.
        return bound(seed, 1, registry.proposalCount() + 1);
    }

    function _freshKey() private returns (address key) {
        key = vm.addr(FRESH_PK + _freshKeys++);
        _keys.push(key);
    }

    function _violate(Rule rule, string memory what) private {
        if (bytes(firstViolation).length == 0) firstViolation = what;
        ++violations[rule];
    }
}

/// @notice Invariants of the registry under random council activity.
contract ParticipantRegistryInvariantTest is TestBase {
    RegistryHandler private handler;
    ParticipantRegistry private registry;

    function setUp() public {
        handler = new RegistryHandler();
        registry = handler.registry();
    }

    /// @notice Only the handler is fuzzed; the registry is reached through it.
    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    /// @notice Only the handler's actions are fuzzed, not its ghost getters.
    function targetSelectors() public view returns (FuzzSelector[] memory targets) {
        bytes4[] memory selectors = new bytes4[](10);
        selectors[0] = RegistryHandler.propose.selector;
        selectors[1] = RegistryHandler.approve.selector;
        selectors[2] = RegistryHandler.execute.selector;
        selectors[3] = RegistryHandler.passProposal.selector;
        selectors[4] = RegistryHandler.executeNearExpiry.selector;
        selectors[5] = RegistryHandler.pause.selector;
        selectors[6] = RegistryHandler.warp.selector;
        // Passing proposals is what changes the membership: give it twice the weight.
        selectors[7] = RegistryHandler.passProposal.selector;
        selectors[8] = RegistryHandler.cancel.selector;
        selectors[9] = RegistryHandler.withdrawApproval.selector;
        targets = new FuzzSelector[](1);
        targets[0] = FuzzSelector({addr: address(handler), selectors: selectors});
    }

    /// The council always has at least `quorum` members, the quorum is at least one, and every
    /// member is an active participant, so a quorum stays reachable.
    /// hardhat-config: invariant.runs = 32
    /// hardhat-config: invariant.depth = 100
    function invariant_CouncilSizeAtLeastQuorumAtLeastOne() public view {
        (uint32[] memory members, uint16 quorum) = registry.council();
        assertTrue(quorum >= 1, "quorum >= 1");
        assertTrue(members.length >= quorum, "council size >= quorum");
        for (uint256 i = 0; i < members.length; ++i) {
            assertTrue(registry.isActive(members[i]), "every council member is active");
        }
    }

    /// A revoked participant stays revoked; statuses only move along the allowed edges.
    /// hardhat-config: invariant.runs = 32
    /// hardhat-config: invariant.depth = 100
    function invariant_RevokedNeverActiveAgain() public view {
        assertEq(handler.violations(RegistryHandler.Rule.RevokedReactivated), 0, handler.firstViolation());
        assertEq(handler.violations(RegistryHandler.Rule.StatusEdge), 0, handler.firstViolation());
        for (uint32 id = 1; id <= registry.participantCount(); ++id) {
            if (!handler.everRevoked(id)) continue;
            assertEq(uint256(registry.participant(id).status), 3, "revoked stays revoked");
            assertTrue(!registry.isActive(id), "a revoked participant is not active");
        }
    }

    /// Each participant's recorded number of active keys equals the ghost count kept from the
    /// executed proposals, and equals the number of its keys whose history shows no removal.
    /// hardhat-config: invariant.runs = 32
    /// hardhat-config: invariant.depth = 100
    function invariant_ActiveKeysMatchGhost() public view {
        for (uint32 id = 1; id <= registry.participantCount(); ++id) {
            uint256 recorded = registry.participant(id).activeKeys;
            assertEq(recorded, handler.ghostActiveKeys(id), "activeKeys = ghost count");
            address[] memory keys = handler.keysOf(id);
            uint256 live = 0;
            for (uint256 i = 0; i < keys.length; ++i) {
                if (registry.signingKey(keys[i]).participantId == id && registry.signingKey(keys[i]).removedAt == 0) {
                    ++live;
                }
            }
            assertEq(recorded, live, "activeKeys = keys never removed");
        }
    }

    /// Proposals execute only with a quorum of current council approvals, once (a failed one
    /// never runs later), before expiry, and only while nothing they act on changed since they
    /// were proposed (no twin ran, no change of their participant, council or pause); no
    /// approval is counted twice; only a proposer whose proposal no one else approved cancels.
    /// hardhat-config: invariant.runs = 32
    /// hardhat-config: invariant.depth = 100
    function invariant_ProposalsExecuteOnlyByQuorumOnceAndInTime() public view {
        assertEq(handler.violations(RegistryHandler.Rule.StaleExecuted), 0, handler.firstViolation());
        assertEq(handler.violations(RegistryHandler.Rule.UnallowedCancel), 0, handler.firstViolation());
        assertEq(handler.violations(RegistryHandler.Rule.ExecutedWithoutQuorum), 0, handler.firstViolation());
        assertEq(handler.violations(RegistryHandler.Rule.ExecutedTwice), 0, handler.firstViolation());
        assertEq(handler.violations(RegistryHandler.Rule.ExecutedAfterExpiry), 0, handler.firstViolation());
        assertEq(handler.violations(RegistryHandler.Rule.ApprovalCountedTwice), 0, handler.firstViolation());
    }

    /// proposalCount() and participantCount() never decrease; proposalCount() equals the
    /// number of successful proposals.
    /// hardhat-config: invariant.runs = 32
    /// hardhat-config: invariant.depth = 100
    function invariant_CountersOnlyIncrease() public view {
        assertEq(handler.violations(RegistryHandler.Rule.CounterDecreased), 0, handler.firstViolation());
        assertEq(registry.proposalCount(), handler.ghostProposals(), "proposalCount = successful proposals");
    }
}
