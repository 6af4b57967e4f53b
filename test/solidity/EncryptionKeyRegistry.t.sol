// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IParticipantRegistry} from "../../contracts/registry/IParticipantRegistry.sol";
import {EncryptionKeyRegistry} from "../../contracts/registry/EncryptionKeyRegistry.sol";
import {IEncryptionKeyRegistry} from "../../contracts/registry/IEncryptionKeyRegistry.sol";
import {ERC1271Wallet} from "../../contracts/test/ERC1271Wallet.sol";
import {ConsortiumBase} from "./Base.sol";

/// @notice The consortium with an encryption key registry beside its participant registry.
abstract contract KeysFixture is ConsortiumBase {
    EncryptionKeyRegistry internal keys;

    /// @dev A key that signs nothing in the consortium: an outsider.
    uint256 internal constant OUTSIDER_PK = 0xBAD;

    function _setUpKeys() internal {
        _deployConsortium();
        keys = new EncryptionKeyRegistry(registry);
    }

    /// @dev A distinct non-zero public key per seed (any 32 bytes are a valid X25519 input).
    function _pub(uint256 seed) internal pure returns (bytes32) {
        return keccak256(abi.encode("x25519 public key", seed));
    }

    function _rotation(
        Member memory m,
        bytes32 publicKey,
        uint64 replacesKeyId
    ) internal view returns (IEncryptionKeyRegistry.KeyRotation memory) {
        return
            IEncryptionKeyRegistry.KeyRotation({
                participantId: m.id,
                publicKey: publicKey,
                replacesKeyId: replacesKeyId,
                deadline: uint64(block.timestamp + 1 hours)
            });
    }

    /// @dev `r` signed with private key `pk` (65-byte r ‖ s ‖ v).
    function _signRotation(
        uint256 pk,
        IEncryptionKeyRegistry.KeyRotation memory r
    ) internal view returns (bytes memory) {
        (uint8 v, bytes32 rr, bytes32 s) = vm.sign(pk, keys.rotationDigest(r));
        return abi.encodePacked(rr, s, v);
    }

    function _register(Member memory m, bytes32 publicKey, uint64 replaces) internal returns (uint64) {
        vm.prank(m.key);
        return keys.registerKey(publicKey, replaces);
    }
}

/// @notice Registration, rotation and revocation, rule by rule, with the attacks each rule stops.
contract EncryptionKeyRegistryTest is KeysFixture {
    function setUp() public {
        _setUpKeys();
    }

    // ------------------------------------------------------------------ registerKey

    function test_RegisterKey_FirstKeyBecomesCurrent() public {
        vm.warp(START + 10);
        uint64 id = _register(bank, _pub(1), 0);
        assertEq(id, 1, "key ids start at 1");
        (uint64 currentId, bytes32 pub) = keys.currentKey(bank.id);
        assertEq(currentId, id, "the current key is the one registered");
        assertEq(pub, _pub(1), "its public key");
        IEncryptionKeyRegistry.EncryptionKey memory k = keys.encryptionKey(id);
        assertEq(k.participantId, bank.id, "owned by the registering institution");
        assertEq(k.validFrom, START + 10, "valid from its registration");
        assertEq(k.validUntil, 0, "no end while current");
        assertEq(k.previousKeyId, 0, "no previous key");
        assertTrue(!k.revoked, "not revoked");
        assertEq(keys.keyIdOf(_pub(1)), id, "found by public key");
        assertEq(keys.latestKeyId(bank.id), id, "head of the history");
        assertEq(keys.keyCount(), 1, "one key");
    }

    function test_RegisterKey_RotationKeepsTheOldKeyWithItsInterval() public {
        vm.warp(START + 10);
        uint64 first = _register(bank, _pub(1), 0);
        vm.warp(START + 500);
        uint64 second = _register(bank, _pub(2), first);
        IEncryptionKeyRegistry.EncryptionKey memory old = keys.encryptionKey(first);
        assertEq(old.validFrom, START + 10, "old key keeps its start");
        assertEq(old.validUntil, START + 500, "old key ends when replaced");
        assertTrue(!old.revoked, "a rotation is no revocation");
        assertEq(old.publicKey, _pub(1), "old key still readable");
        IEncryptionKeyRegistry.EncryptionKey memory fresh = keys.encryptionKey(second);
        assertEq(fresh.validFrom, START + 500, "new key starts when the old one ends");
        assertEq(fresh.previousKeyId, first, "history links back");
        (uint64 currentId, ) = keys.currentKey(bank.id);
        assertEq(currentId, second, "the new key is current");
    }

    function test_RegisterKey_InstitutionsHaveSeparateHistories() public {
        uint64 b = _register(bank, _pub(1), 0);
        uint64 t = _register(telecom, _pub(2), 0);
        (uint64 bankKey, ) = keys.currentKey(bank.id);
        (uint64 telecomKey, ) = keys.currentKey(telecom.id);
        assertEq(bankKey, b, "bank's key");
        assertEq(telecomKey, t, "telecom's key");
        // The telecom's registration does not count as the bank's current key.
        vm.expectRevert(abi.encodeWithSelector(IEncryptionKeyRegistry.StaleKeyRotation.selector, bank.id, b, t));
        _register(bank, _pub(3), t);
    }

    function test_RegisterKey_RevertsWithZeroPublicKey() public {
        vm.expectRevert(abi.encodeWithSelector(IEncryptionKeyRegistry.ZeroPublicKey.selector));
        _register(bank, bytes32(0), 0);
    }

    function test_RegisterKey_RevertsForANonMember() public {
        address outsider = vm.addr(OUTSIDER_PK);
        vm.expectRevert(abi.encodeWithSelector(IParticipantRegistry.UnknownSigningKey.selector, outsider));
        vm.prank(outsider);
        keys.registerKey(_pub(1), 0);
    }

    function test_RegisterKey_RevertsForASuspendedInstitution() public {
        _pass(IParticipantRegistry.Action.Suspend, abi.encode(bank.id));
        vm.expectRevert(
            abi.encodeWithSelector(
                IParticipantRegistry.ParticipantNotActive.selector,
                bank.id,
                IParticipantRegistry.Status.Suspended
            )
        );
        _register(bank, _pub(1), 0);
    }

    function test_RegisterKey_RevertsForARevokedInstitution() public {
        uint64 id = _register(bank, _pub(1), 0);
        _pass(IParticipantRegistry.Action.Revoke, abi.encode(bank.id));
        vm.expectRevert(
            abi.encodeWithSelector(
                IParticipantRegistry.ParticipantNotActive.selector,
                bank.id,
                IParticipantRegistry.Status.Revoked
            )
        );
        _register(bank, _pub(2), id);
    }

    function test_RegisterKey_RevertsWhenAnotherInstitutionHoldsTheKey() public {
        uint64 id = _register(bank, _pub(1), 0);
        // The telecom copying the bank's public key (a collusion to let the bank read what the
        // telecom receives, or a front-run to block the bank) is refused.
        vm.expectRevert(
            abi.encodeWithSelector(IEncryptionKeyRegistry.EncryptionKeyAlreadyRegistered.selector, _pub(1), id, bank.id)
        );
        _register(telecom, _pub(1), 0);
    }

    function test_RegisterKey_RevertsWhenTheInstitutionReusesARetiredKey() public {
        uint64 first = _register(bank, _pub(1), 0);
        uint64 second = _register(bank, _pub(2), first);
        vm.expectRevert(
            abi.encodeWithSelector(
                IEncryptionKeyRegistry.EncryptionKeyAlreadyRegistered.selector,
                _pub(1),
                first,
                bank.id
            )
        );
        _register(bank, _pub(1), second);
    }

    function test_RegisterKey_RevertsOnARotationFromAStaleView() public {
        uint64 first = _register(bank, _pub(1), 0);
        uint64 second = _register(bank, _pub(2), first);
        // A second gateway of the bank that still believes `first` is current.
        vm.expectRevert(
            abi.encodeWithSelector(IEncryptionKeyRegistry.StaleKeyRotation.selector, bank.id, second, first)
        );
        _register(bank, _pub(3), first);
        // Claiming to be the first registration while a key is current is stale too.
        vm.expectRevert(abi.encodeWithSelector(IEncryptionKeyRegistry.StaleKeyRotation.selector, bank.id, second, 0));
        _register(bank, _pub(3), 0);
    }

    function test_RegisterKey_RevertsForASigningKeyTheCouncilRemoved() public {
        address spare = vm.addr(0xA3A3);
        _pass(IParticipantRegistry.Action.AddSigningKey, abi.encode(bank.id, spare));
        uint64 first = _register(bank, _pub(1), 0);
        _pass(IParticipantRegistry.Action.RemoveSigningKey, abi.encode(bank.id, bank.key));
        vm.expectRevert(abi.encodeWithSelector(IParticipantRegistry.UnknownSigningKey.selector, bank.key));
        _register(bank, _pub(2), first);
        // The institution's remaining key still rotates.
        vm.prank(spare);
        keys.registerKey(_pub(2), first);
    }

    function test_RegisterKey_AcceptedDuringAPause() public {
        vm.prank(council[0].key);
        registry.pause();
        assertTrue(registry.paused(), "paused");
        uint64 id = _register(bank, _pub(1), 0);
        assertEq(id, 1, "registered during the pause");
    }

    // ------------------------------------------------------------------ registerKeyBySignature

    function test_BySignature_ARelayerSubmitsTheInstitutionsRotation() public {
        uint64 first = _register(bank, _pub(1), 0);
        IEncryptionKeyRegistry.KeyRotation memory r = _rotation(bank, _pub(2), first);
        bytes memory sig = _signRotation(bank.pk, r);
        vm.prank(vm.addr(OUTSIDER_PK));
        uint64 id = keys.registerKeyBySignature(r, bank.key, sig);
        (uint64 currentId, bytes32 pub) = keys.currentKey(bank.id);
        assertEq(currentId, id, "the signed key is current");
        assertEq(pub, _pub(2), "its public key");
        assertEq(keys.encryptionKey(first).validUntil, block.timestamp, "the old key ended");
    }

    function test_BySignature_RevertsOnAReplayedSignature() public {
        IEncryptionKeyRegistry.KeyRotation memory r = _rotation(bank, _pub(1), 0);
        bytes memory sig = _signRotation(bank.pk, r);
        uint64 id = keys.registerKeyBySignature(r, bank.key, sig);
        vm.expectRevert(abi.encodeWithSelector(IEncryptionKeyRegistry.StaleKeyRotation.selector, bank.id, id, 0));
        keys.registerKeyBySignature(r, bank.key, sig);
    }

    function test_BySignature_RevertsOnAReplayAfterARevocation() public {
        // After a revocation the institution again has no current key, so a first registration's
        // `replacesKeyId` (0) matches again: the key's uniqueness stops the replay.
        IEncryptionKeyRegistry.KeyRotation memory r = _rotation(bank, _pub(1), 0);
        bytes memory sig = _signRotation(bank.pk, r);
        uint64 id = keys.registerKeyBySignature(r, bank.key, sig);
        vm.prank(bank.key);
        keys.revokeKey(id, 7);
        vm.expectRevert(
            abi.encodeWithSelector(IEncryptionKeyRegistry.EncryptionKeyAlreadyRegistered.selector, _pub(1), id, bank.id)
        );
        keys.registerKeyBySignature(r, bank.key, sig);
    }

    function test_BySignature_RevertsWhenSignedByAnotherInstitution() public {
        IEncryptionKeyRegistry.KeyRotation memory r = _rotation(bank, _pub(1), 0);
        bytes memory sig = _signRotation(telecom.pk, r);
        vm.expectRevert(
            abi.encodeWithSelector(IEncryptionKeyRegistry.SignerNotParty.selector, telecom.key, telecom.id, bank.id)
        );
        keys.registerKeyBySignature(r, telecom.key, sig);
    }

    function test_BySignature_RevertsWhenTheSignatureIsNotTheClaimedSigners() public {
        IEncryptionKeyRegistry.KeyRotation memory r = _rotation(bank, _pub(1), 0);
        bytes memory sig = _signRotation(OUTSIDER_PK, r);
        vm.expectRevert(abi.encodeWithSelector(IEncryptionKeyRegistry.InvalidSignature.selector, bank.key));
        keys.registerKeyBySignature(r, bank.key, sig);
    }

    function test_BySignature_RevertsWhenAFieldChangedAfterSigning() public {
        IEncryptionKeyRegistry.KeyRotation memory r = _rotation(bank, _pub(1), 0);
        bytes memory sig = _signRotation(bank.pk, r);
        r.publicKey = _pub(666);
        vm.expectRevert(abi.encodeWithSelector(IEncryptionKeyRegistry.InvalidSignature.selector, bank.key));
        keys.registerKeyBySignature(r, bank.key, sig);
    }

    function test_BySignature_RevertsForANonMemberSigner() public {
        IEncryptionKeyRegistry.KeyRotation memory r = _rotation(bank, _pub(1), 0);
        address outsider = vm.addr(OUTSIDER_PK);
        bytes memory sig = _signRotation(OUTSIDER_PK, r);
        vm.expectRevert(abi.encodeWithSelector(IParticipantRegistry.UnknownSigningKey.selector, outsider));
        keys.registerKeyBySignature(r, outsider, sig);
    }

    function test_BySignature_RevertsForASuspendedInstitution() public {
        IEncryptionKeyRegistry.KeyRotation memory r = _rotation(bank, _pub(1), 0);
        bytes memory sig = _signRotation(bank.pk, r);
        _pass(IParticipantRegistry.Action.Suspend, abi.encode(bank.id));
        vm.expectRevert(
            abi.encodeWithSelector(
                IParticipantRegistry.ParticipantNotActive.selector,
                bank.id,
                IParticipantRegistry.Status.Suspended
            )
        );
        keys.registerKeyBySignature(r, bank.key, sig);
    }

    function test_BySignature_RevertsForASigningKeyRemovedAfterSigning() public {
        // Signed while the key spoke for the bank, submitted after the council removed it.
        address spare = vm.addr(0xA3A3);
        _pass(IParticipantRegistry.Action.AddSigningKey, abi.encode(bank.id, spare));
        IEncryptionKeyRegistry.KeyRotation memory r = _rotation(bank, _pub(1), 0);
        bytes memory sig = _signRotation(bank.pk, r);
        _pass(IParticipantRegistry.Action.RemoveSigningKey, abi.encode(bank.id, bank.key));
        vm.expectRevert(abi.encodeWithSelector(IParticipantRegistry.UnknownSigningKey.selector, bank.key));
        keys.registerKeyBySignature(r, bank.key, sig);
    }

    function test_BySignature_RevertsAfterTheDeadline() public {
        IEncryptionKeyRegistry.KeyRotation memory r = _rotation(bank, _pub(1), 0);
        bytes memory sig = _signRotation(bank.pk, r);
        vm.warp(r.deadline + 1);
        vm.expectRevert(abi.encodeWithSelector(IEncryptionKeyRegistry.DeadlinePassed.selector, r.deadline));
        keys.registerKeyBySignature(r, bank.key, sig);
    }

    function test_BySignature_AcceptedAtTheDeadline() public {
        IEncryptionKeyRegistry.KeyRotation memory r = _rotation(bank, _pub(1), 0);
        bytes memory sig = _signRotation(bank.pk, r);
        vm.warp(r.deadline);
        assertEq(keys.registerKeyBySignature(r, bank.key, sig), 1, "registered at the deadline");
    }

    function test_BySignature_RevertsOnASignatureForAnotherRegistry() public {
        // The EIP-712 domain names the contract: a signature for one registry is void at another.
        EncryptionKeyRegistry other = new EncryptionKeyRegistry(registry);
        IEncryptionKeyRegistry.KeyRotation memory r = _rotation(bank, _pub(1), 0);
        (uint8 v, bytes32 rr, bytes32 s) = vm.sign(bank.pk, other.rotationDigest(r));
        vm.expectRevert(abi.encodeWithSelector(IEncryptionKeyRegistry.InvalidSignature.selector, bank.key));
        keys.registerKeyBySignature(r, bank.key, abi.encodePacked(rr, s, v));
    }

    function test_BySignature_AcceptsAContractSigningKey() public {
        uint256 ownerPk = 0x1271;
        ERC1271Wallet wallet = new ERC1271Wallet(vm.addr(ownerPk));
        _pass(IParticipantRegistry.Action.AddSigningKey, abi.encode(bank.id, address(wallet)));
        IEncryptionKeyRegistry.KeyRotation memory r = _rotation(bank, _pub(1), 0);
        assertEq(keys.registerKeyBySignature(r, address(wallet), _signRotation(ownerPk, r)), 1, "ERC-1271 signer");
    }

    // ------------------------------------------------------------------ revokeKey

    function test_RevokeKey_LeavesNoCurrentKey() public {
        uint64 id = _register(bank, _pub(1), 0);
        vm.warp(START + 99);
        vm.prank(bank.key);
        keys.revokeKey(id, 3);
        IEncryptionKeyRegistry.EncryptionKey memory k = keys.encryptionKey(id);
        assertEq(k.validUntil, START + 99, "ends at the revocation");
        assertTrue(k.revoked, "marked revoked");
        vm.expectRevert(abi.encodeWithSelector(IEncryptionKeyRegistry.NoEncryptionKey.selector, bank.id));
        keys.currentKey(bank.id);
        // The next key starts a new interval and links back to the revoked one.
        uint64 next = _register(bank, _pub(2), 0);
        assertEq(keys.encryptionKey(next).previousKeyId, id, "history links through a revocation");
    }

    function test_RevokeKey_RevertsForAnotherInstitutionsKey() public {
        uint64 id = _register(bank, _pub(1), 0);
        vm.expectRevert(abi.encodeWithSelector(IEncryptionKeyRegistry.NotKeyOwner.selector, id, bank.id, telecom.id));
        vm.prank(telecom.key);
        keys.revokeKey(id, 1);
    }

    function test_RevokeKey_RevertsForAKeyNoLongerCurrent() public {
        uint64 first = _register(bank, _pub(1), 0);
        vm.warp(START + 5);
        _register(bank, _pub(2), first);
        vm.expectRevert(abi.encodeWithSelector(IEncryptionKeyRegistry.KeyNotCurrent.selector, first, START + 5));
        vm.prank(bank.key);
        keys.revokeKey(first, 1);
    }

    function test_RevokeKey_RevertsForAnUnknownKey() public {
        vm.expectRevert(abi.encodeWithSelector(IEncryptionKeyRegistry.UnknownEncryptionKey.selector, 42));
        vm.prank(bank.key);
        keys.revokeKey(42, 1);
    }

    function test_RevokeKey_RevertsForANonMember() public {
        uint64 id = _register(bank, _pub(1), 0);
        address outsider = vm.addr(OUTSIDER_PK);
        vm.expectRevert(abi.encodeWithSelector(IParticipantRegistry.UnknownSigningKey.selector, outsider));
        vm.prank(outsider);
        keys.revokeKey(id, 1);
    }

    // ------------------------------------------------------------------ currentKey

    function test_CurrentKey_RevertsForASuspendedInstitution() public {
        _register(bank, _pub(1), 0);
        _pass(IParticipantRegistry.Action.Suspend, abi.encode(bank.id));
        vm.expectRevert(
            abi.encodeWithSelector(
                IParticipantRegistry.ParticipantNotActive.selector,
                bank.id,
                IParticipantRegistry.Status.Suspended
            )
        );
        keys.currentKey(bank.id);
        // Reinstated, its key answers again: suspension ended nothing in this registry.
        _pass(IParticipantRegistry.Action.Reinstate, abi.encode(bank.id));
        (uint64 id, ) = keys.currentKey(bank.id);
        assertEq(id, 1, "current again once reinstated");
    }

    function test_CurrentKey_RevertsForAnUnknownParticipant() public {
        vm.expectRevert(abi.encodeWithSelector(IParticipantRegistry.UnknownParticipant.selector, 99));
        keys.currentKey(99);
    }

    function test_CurrentKey_RevertsWhenNoneRegistered() public {
        vm.expectRevert(abi.encodeWithSelector(IEncryptionKeyRegistry.NoEncryptionKey.selector, bank.id));
        keys.currentKey(bank.id);
    }
}

/// @notice Fuzz tests of the history: however rotations and revocations interleave in time, the
/// keys of an institution form one chain of adjacent intervals, at most one of them open.
contract EncryptionKeyRegistryFuzzTest is KeysFixture {
    function setUp() public {
        _setUpKeys();
    }

    /// Each step rotates (or, one time in four, revokes) the bank's key after some time, while the
    /// telecom rotates too; walking the bank's history back gives exactly the keys it registered,
    /// newest first, each interval ending where the next begins (or at its revocation).
    function testFuzz_HistoryIsOneChainOfIntervals(uint256 seed) public {
        uint256 steps = bound(seed, 1, 12);
        uint64[] memory registered = new uint64[](steps);
        uint64 current;
        uint256 n;
        for (uint256 i = 0; i < steps; ++i) {
            vm.warp(block.timestamp + bound(uint256(keccak256(abi.encode(seed, i))), 0, 3 days));
            if (current != 0 && uint256(keccak256(abi.encode(seed, i, "revoke"))) % 4 == 0) {
                vm.prank(bank.key);
                keys.revokeKey(current, 1);
                current = 0;
            } else {
                current = _register(bank, _pub(i), current);
                registered[n++] = current;
            }
            // Another institution's activity in between must not touch the bank's chain.
            _register(telecom, _pub(1000 + i), keys.latestKeyId(telecom.id));
        }

        uint64 id = keys.latestKeyId(bank.id);
        uint40 laterStart = type(uint40).max;
        for (uint256 j = n; j > 0; --j) {
            assertEq(id, registered[j - 1], "history lists the registrations newest first");
            IEncryptionKeyRegistry.EncryptionKey memory k = keys.encryptionKey(id);
            assertEq(k.participantId, bank.id, "every key of the chain is the bank's");
            if (j == n) {
                assertTrue((k.validUntil == 0) == (current != 0), "only the latest key may be open");
            } else {
                assertTrue(k.validUntil != 0, "an older key is closed");
                assertTrue(k.revoked || k.validUntil == laterStart, "a rotated key ends where the next starts");
            }
            assertTrue(k.validUntil == 0 || k.validFrom <= k.validUntil, "intervals are not inverted");
            laterStart = k.validFrom;
            id = k.previousKeyId;
        }
        assertEq(id, 0, "the chain ends at the first key");
    }

    /// Any public key is registered at most once, whoever tries again.
    function testFuzz_APublicKeyIsRegisteredOnce(bytes32 publicKey, bool sameInstitution) public {
        vm.assume(publicKey != bytes32(0));
        uint64 id = _register(bank, publicKey, 0);
        Member memory second = sameInstitution ? bank : telecom;
        uint64 replaces = sameInstitution ? id : 0;
        vm.expectRevert(
            abi.encodeWithSelector(
                IEncryptionKeyRegistry.EncryptionKeyAlreadyRegistered.selector,
                publicKey,
                id,
                bank.id
            )
        );
        _register(second, publicKey, replaces);
    }
}
