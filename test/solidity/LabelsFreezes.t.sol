// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IParticipantRegistry} from "../../contracts/registry/IParticipantRegistry.sol";
import {LabelRegistry} from "../../contracts/labels/LabelRegistry.sol";
import {ILabelRegistry} from "../../contracts/labels/ILabelRegistry.sol";
import {FreezeRegistry} from "../../contracts/freezes/FreezeRegistry.sol";
import {IFreezeRegistry} from "../../contracts/freezes/IFreezeRegistry.sol";
import {ConsortiumBase} from "./Base.sol";

/// @notice The consortium of Base.sol plus the label and freeze registries, an EXCHANGE
/// participant and one approved case (police opened it, the prosecutor approved it).
abstract contract LabelsFreezesFixture is ConsortiumBase {
    bytes32 internal constant CASE_NUMBER = keccak256("case-labels-freezes");

    LabelRegistry internal labels;
    FreezeRegistry internal freezes;
    Member internal exchange;
    uint256 internal caseId;

    function _setUpLabelsFreezes() internal {
        _deployConsortium();
        labels = new LabelRegistry(registry, cases);
        freezes = new FreezeRegistry(registry, cases);
        exchange = _admit("EXCHANGE", 0xA5);
        caseId = _openCase(CASE_NUMBER, 1, uint40(START + 365 days), true);
    }

    /// @dev The active participants, then a key nobody registered (id 0) as the last element.
    function _everyone() internal view returns (Member[7] memory who) {
        (who[0], who[1], who[2], who[3], who[4], who[5]) = (council[0], police, prosecutor, bank, telecom, exchange);
        who[6] = Member({id: 0, pk: 0xDEAD, key: vm.addr(0xDEAD)});
    }

    /// @dev A stand-in for the Merkle root of a list of `n` items (the chain never sees the items).
    function _root(uint256 n) internal pure returns (bytes32) {
        return keccak256(abi.encode("freeze list", n));
    }

    /// @dev A freeze request of a list of `n` items by the case's opener to the exchange.
    function _request(uint256 n) internal returns (uint256 freezeId) {
        vm.prank(police.key);
        freezeId = freezes.requestFreeze(caseId, exchange.id, _root(n), uint16(n), keccak256("trace"));
    }
}

/// @notice Fuzz tests of risk labels: who may publish and revoke, and what a label may say.
contract LabelRegistryFuzzTest is LabelsFreezesFixture {
    function setUp() public {
        _setUpLabelsFreezes();
    }

    /// Any active participant may publish; only a key of the label's author revokes it, once.
    function testFuzz_OnlyTheAuthorRevokes(uint8 authorSeed, uint8 revokerSeed, uint16 reason) public {
        Member[7] memory who = _everyone();
        Member memory author = who[authorSeed % 7];
        Member memory revoker = who[revokerSeed % 7];

        if (author.id == 0) {
            vm.expectRevert(abi.encodeWithSelector(IParticipantRegistry.UnknownSigningKey.selector, author.key));
        }
        vm.prank(author.key);
        uint256 labelId = labels.publishLabel(address(0xBEEF), 1, "sanctioned", police.id, CASE_NUMBER, 90);
        if (author.id == 0) {
            assertEq(labels.labelCount(), 0, "an unregistered key publishes nothing");
            return;
        }
        assertEq(labels.getLabel(labelId).author, author.id, "the publishing participant is the author");

        if (revoker.id == 0) {
            vm.expectRevert(abi.encodeWithSelector(IParticipantRegistry.UnknownSigningKey.selector, revoker.key));
        } else if (revoker.id != author.id) {
            vm.expectRevert(abi.encodeWithSelector(ILabelRegistry.NotLabelAuthor.selector, labelId, revoker.id));
        }
        vm.prank(revoker.key);
        labels.revokeLabel(labelId, reason);
        bool revoked = revoker.id == author.id;
        assertTrue(labels.getLabel(labelId).revoked == revoked, "revoked exactly when the author revoked");

        // Whoever tried first, the author can revoke once and only once.
        if (!revoked) {
            vm.prank(author.key);
            labels.revokeLabel(labelId, reason);
        }
        vm.expectRevert(abi.encodeWithSelector(ILabelRegistry.LabelAlreadyRevoked.selector, labelId));
        vm.prank(author.key);
        labels.revokeLabel(labelId, reason);
        assertTrue(labels.getLabel(labelId).revoked, "the label stays revoked");
    }

    /// A label needs a subject, a chain and a category, and a confidence of at most 100; what is
    /// accepted is stored as given.
    function testFuzz_ConfidenceAtMost100(
        address subject,
        uint64 chainId,
        bytes32 category,
        uint8 confidenceSeed,
        uint8 zeroSeed
    ) public {
        // One time in two a confidence within two of the limit (99 to 102), else any uint8.
        uint8 confidence = confidenceSeed % 2 == 0 ? uint8(99 + ((confidenceSeed >> 1) % 4)) : confidenceSeed;
        // One time in eight each, a zero subject, chain id or category.
        uint256 zeroed = zeroSeed % 8;
        if (zeroed == 0) subject = address(0);
        else if (zeroed == 1) chainId = 0;
        else if (zeroed == 2) category = bytes32(0);
        bytes memory reason;
        if (subject == address(0)) reason = abi.encodeWithSelector(ILabelRegistry.ZeroValue.selector, "subject");
        else if (chainId == 0) reason = abi.encodeWithSelector(ILabelRegistry.ZeroValue.selector, "chainId");
        else if (category == bytes32(0)) reason = abi.encodeWithSelector(ILabelRegistry.ZeroValue.selector, "category");
        else if (confidence > 100) {
            reason = abi.encodeWithSelector(ILabelRegistry.InvalidConfidence.selector, confidence);
        }

        if (reason.length > 0) vm.expectRevert(reason);
        vm.prank(bank.key);
        uint256 labelId = labels.publishLabel(subject, chainId, category, police.id, CASE_NUMBER, confidence);
        if (reason.length > 0) {
            assertEq(labels.labelCount(), 0, "a refused label is not recorded");
            return;
        }
        ILabelRegistry.Label memory label = labels.getLabel(labelId);
        assertTrue(label.confidence <= 100, "stored confidence <= 100");
        assertEq(label.confidence, confidence, "confidence stored");
        assertEq(label.subject, subject, "subject stored");
        assertEq(label.chainId, chainId, "chain id stored");
        assertEq(label.category, category, "category stored");
        assertEq(label.caseId, caseId, "bound to the case of the commitment");
    }

    /// A label is bound only to a case its opener opened with that commitment: the same commitment
    /// under any other opener names no case.
    function testFuzz_LabelNeedsAKnownCaseCommitment(uint32 opener, bytes32 commitment) public {
        vm.assume(opener != police.id || commitment != CASE_NUMBER);
        vm.expectRevert(abi.encodeWithSelector(ILabelRegistry.UnknownCaseCommitment.selector, opener, commitment));
        vm.prank(police.key);
        labels.publishLabel(address(0xBEEF), 1, "scam", opener, commitment, 50);
    }
}

/// @notice Fuzz tests of freeze requests and the exchange's answers.
contract FreezeRegistryFuzzTest is LabelsFreezesFixture {
    function setUp() public {
        _setUpLabelsFreezes();
    }

    /// Around both ends of the allowed range: 0 and 257+ items are refused, 1 to 256 accepted.
    function testFuzz_ItemCountWithinOneTo256(uint16 countSeed) public {
        // One time in two at 255, 256 or 257; otherwise anywhere in [0, 300].
        uint256 n = countSeed % 2 == 0 ? 255 + ((countSeed >> 1) % 3) : bound(countSeed >> 1, 0, 300);
        bool allowed = n >= 1 && n <= 256;
        if (!allowed) vm.expectRevert(abi.encodeWithSelector(IFreezeRegistry.InvalidItemCount.selector, n, 256));
        _request(n);
        assertEq(freezes.freezeCount(), allowed ? 1 : 0, "recorded exactly when 1 <= n <= 256");
        if (allowed) assertEq(freezes.getFreeze(1).itemCount, n, "item count stored");
    }

    /// Only the exchange asked answers, naming the root of the list requested, and only once:
    /// after an answer, neither recordFrozen nor rejectFreeze is accepted.
    function testFuzz_RecordFrozenOnlyForTheRequestedListOnce(
        uint8 itemSeed,
        bool wrongList,
        uint8 callerSeed,
        bytes32 resultRoot
    ) public {
        vm.assume(resultRoot != bytes32(0));
        uint256 n = bound(itemSeed, 1, 16);
        uint256 freezeId = _request(n);
        // Half the draws name the list of another request (one more item).
        bytes32 named = wrongList ? _root(n + 1) : _root(n);
        Member[7] memory who = _everyone();
        // Half the draws are the exchange's.
        Member memory caller = callerSeed % 2 == 0 ? exchange : who[(callerSeed >> 1) % 7];

        bool allowed = caller.id == exchange.id && !wrongList;
        if (caller.id == 0) {
            vm.expectRevert(abi.encodeWithSelector(IParticipantRegistry.UnknownSigningKey.selector, caller.key));
        } else if (caller.id != exchange.id) {
            vm.expectRevert(abi.encodeWithSelector(IFreezeRegistry.NotFreezeExchange.selector, freezeId, caller.id));
        } else if (wrongList) {
            vm.expectRevert(
                abi.encodeWithSelector(IFreezeRegistry.ListRootMismatch.selector, freezeId, _root(n), named)
            );
        }
        vm.prank(caller.key);
        freezes.recordFrozen(freezeId, named, resultRoot, keccak256("evidence"));
        IFreezeRegistry.FreezeStatus expected =
            allowed ? IFreezeRegistry.FreezeStatus.Executed : IFreezeRegistry.FreezeStatus.Requested;
        assertEq(uint256(freezes.getFreeze(freezeId).status), uint256(expected), "executed exactly when allowed");
        if (!allowed) return;
        assertEq(freezes.getFreeze(freezeId).resultRoot, resultRoot, "result root stored");

        bytes memory notPending = abi.encodeWithSelector(
            IFreezeRegistry.FreezeNotPending.selector,
            freezeId,
            IFreezeRegistry.FreezeStatus.Executed
        );
        vm.expectRevert(notPending);
        vm.prank(exchange.key);
        freezes.recordFrozen(freezeId, named, resultRoot, keccak256("evidence"));
        vm.expectRevert(notPending);
        vm.prank(exchange.key);
        freezes.rejectFreeze(freezeId, 1);
    }

    /// Only the requester acknowledges, naming the result root the exchange recorded, and once.
    function testFuzz_AcknowledgeOnlyTheRecordedResultOnce(bytes32 resultRoot, bytes32 named, uint8 callerSeed) public {
        vm.assume(resultRoot != bytes32(0));
        uint256 freezeId = _request(3);
        vm.prank(exchange.key);
        freezes.recordFrozen(freezeId, _root(3), resultRoot, keccak256("evidence"));
        // Half the draws name the recorded root.
        if (callerSeed % 4 < 2) named = resultRoot;
        Member[7] memory who = _everyone();
        Member memory caller = callerSeed % 2 == 0 ? police : who[(callerSeed >> 1) % 7];

        bool allowed = caller.id == police.id && named == resultRoot;
        if (caller.id == 0) {
            vm.expectRevert(abi.encodeWithSelector(IParticipantRegistry.UnknownSigningKey.selector, caller.key));
        } else if (caller.id != police.id) {
            vm.expectRevert(abi.encodeWithSelector(IFreezeRegistry.NotFreezeRequester.selector, freezeId, caller.id));
        } else if (named != resultRoot) {
            vm.expectRevert(
                abi.encodeWithSelector(IFreezeRegistry.ResultRootMismatch.selector, freezeId, resultRoot, named)
            );
        }
        vm.prank(caller.key);
        freezes.acknowledgeFrozen(freezeId, named);
        IFreezeRegistry.FreezeStatus expected =
            allowed ? IFreezeRegistry.FreezeStatus.Acknowledged : IFreezeRegistry.FreezeStatus.Executed;
        assertEq(uint256(freezes.getFreeze(freezeId).status), uint256(expected), "acknowledged exactly when allowed");
        if (!allowed) return;
        vm.expectRevert(
            abi.encodeWithSelector(
                IFreezeRegistry.FreezeNotExecuted.selector,
                freezeId,
                IFreezeRegistry.FreezeStatus.Acknowledged
            )
        );
        vm.prank(police.key);
        freezes.acknowledgeFrozen(freezeId, named);
    }
}
