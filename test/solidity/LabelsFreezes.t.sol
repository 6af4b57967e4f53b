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

    /// @dev `n` valid items: distinct non-zero accounts, non-zero amounts.
    function _items(uint256 n) internal pure returns (IFreezeRegistry.FreezeItem[] memory items) {
        items = new IFreezeRegistry.FreezeItem[](n);
        for (uint256 i = 0; i < n; ++i) {
            items[i] = IFreezeRegistry.FreezeItem({account: address(uint160(0x1000 + i)), amount: (i + 1) * 1e6});
        }
    }

    /// @dev A freeze request of `n` valid items by the case's opener to the exchange.
    function _request(uint256 n) internal returns (uint256 freezeId) {
        vm.prank(police.key);
        freezeId = freezes.requestFreeze(caseId, exchange.id, 1, address(0), _items(n), keccak256("trace"));
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

    /// A fuzzed item list is accepted exactly when it has 1 to 256 items, none with a zero account
    /// or amount; otherwise the first offending item is named.
    function testFuzz_FreezeItemsValidated(IFreezeRegistry.FreezeItem[] memory items, uint256 zeroSeed) public {
        // Two times in three, zero out the account or the amount of one item: random values are
        // almost never zero by themselves.
        if (items.length > 0 && zeroSeed % 3 != 0) {
            uint256 at = (zeroSeed >> 3) % items.length;
            if ((zeroSeed >> 2) & 1 == 0) items[at].account = address(0);
            else items[at].amount = 0;
        }
        bytes memory reason;
        if (items.length == 0 || items.length > freezes.MAX_ITEMS()) {
            reason = abi.encodeWithSelector(IFreezeRegistry.InvalidItemCount.selector, items.length, 256);
        } else {
            for (uint256 i = 0; i < items.length; ++i) {
                if (items[i].account == address(0) || items[i].amount == 0) {
                    reason = abi.encodeWithSelector(IFreezeRegistry.InvalidItem.selector, i);
                    break;
                }
            }
        }

        if (reason.length > 0) vm.expectRevert(reason);
        vm.prank(police.key);
        uint256 freezeId = freezes.requestFreeze(caseId, exchange.id, 1, address(0), items, keccak256("trace"));
        assertEq(freezes.freezeCount(), reason.length > 0 ? 0 : 1, "recorded exactly when the items are valid");
        if (reason.length == 0) assertEq(freezes.getFreeze(freezeId).itemCount, items.length, "item count stored");
    }

    /// Around both ends of the allowed range: 0 and 257+ items are refused, 1 to 256 accepted.
    function testFuzz_ItemCountWithinOneTo256(uint16 countSeed) public {
        // One time in two at 255, 256 or 257; otherwise anywhere in [0, 300].
        uint256 n = countSeed % 2 == 0 ? 255 + ((countSeed >> 1) % 3) : bound(countSeed >> 1, 0, 300);
        bool allowed = n >= 1 && n <= 256;
        if (!allowed) vm.expectRevert(abi.encodeWithSelector(IFreezeRegistry.InvalidItemCount.selector, n, 256));
        vm.prank(police.key);
        freezes.requestFreeze(caseId, exchange.id, 1, address(0), _items(n), keccak256("trace"));
        assertEq(freezes.freezeCount(), allowed ? 1 : 0, "recorded exactly when 1 <= n <= 256");
    }

    /// Only the exchange asked answers, with exactly one amount per item, and only once: after
    /// an answer, neither recordFrozen nor rejectFreeze is accepted.
    function testFuzz_RecordFrozenOnlyWithRightCountOnce(
        uint8 itemSeed,
        uint8 givenSeed,
        uint8 callerSeed,
        uint256 amountSeed
    ) public {
        uint256 n = bound(itemSeed, 1, 16);
        uint256 freezeId = _request(n);
        // Half the draws give the right count.
        uint256 m = givenSeed % 2 == 0 ? n : bound(givenSeed >> 1, 0, 20);
        uint256[] memory frozen = new uint256[](m);
        for (uint256 i = 0; i < m; ++i) frozen[i] = uint256(keccak256(abi.encode(amountSeed, i))) % 1e9;
        Member[7] memory who = _everyone();
        // Half the draws are the exchange's.
        Member memory caller = callerSeed % 2 == 0 ? exchange : who[(callerSeed >> 1) % 7];

        bool allowed = caller.id == exchange.id && m == n;
        if (caller.id == 0) {
            vm.expectRevert(abi.encodeWithSelector(IParticipantRegistry.UnknownSigningKey.selector, caller.key));
        } else if (caller.id != exchange.id) {
            vm.expectRevert(abi.encodeWithSelector(IFreezeRegistry.NotFreezeExchange.selector, freezeId, caller.id));
        } else if (m != n) {
            vm.expectRevert(abi.encodeWithSelector(IFreezeRegistry.FrozenCountMismatch.selector, freezeId, n, m));
        }
        vm.prank(caller.key);
        freezes.recordFrozen(freezeId, frozen, keccak256("evidence"));
        IFreezeRegistry.FreezeStatus expected =
            allowed ? IFreezeRegistry.FreezeStatus.Executed : IFreezeRegistry.FreezeStatus.Requested;
        assertEq(uint256(freezes.getFreeze(freezeId).status), uint256(expected), "executed exactly when allowed");
        if (!allowed) return;

        bytes memory notPending = abi.encodeWithSelector(
            IFreezeRegistry.FreezeNotPending.selector,
            freezeId,
            IFreezeRegistry.FreezeStatus.Executed
        );
        vm.expectRevert(notPending);
        vm.prank(exchange.key);
        freezes.recordFrozen(freezeId, frozen, keccak256("evidence"));
        vm.expectRevert(notPending);
        vm.prank(exchange.key);
        freezes.rejectFreeze(freezeId, 1);
    }
}
