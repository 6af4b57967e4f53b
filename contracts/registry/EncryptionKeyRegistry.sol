// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {IParticipantRegistry} from "./IParticipantRegistry.sol";
import {IEncryptionKeyRegistry} from "./IEncryptionKeyRegistry.sol";

/// @title EncryptionKeyRegistry
/// @notice The institutions' encryption keys, beside the participant registry (which holds their
/// signing keys and is near the contract size limit).
/// @dev Every registration names the key it replaces ({KeyRotation.replacesKeyId}): that is the
/// replay guard of a signed registration (once applied, the key it replaced is no longer current)
/// and the guard against a rotation made on a stale view. A public key is registered once ever,
/// so even a signature whose `replacesKeyId` is current again (0, after a revocation) can't be
/// replayed. Not {ConsortiumGuarded}: registering a key moves no data and is accepted during a
/// pause; the caller's check is the registry's `activeParticipantOf`, asked here.
contract EncryptionKeyRegistry is IEncryptionKeyRegistry, EIP712 {
    /// @notice EIP-712 type a signing key signs to register an encryption key.
    bytes32 public constant KEY_ROTATION_TYPEHASH = keccak256(
        "KeyRotation(uint32 participantId,bytes32 publicKey,uint64 replacesKeyId,uint64 deadline)"
    );

    /// @notice The participant registry whose signing keys and statuses this registry trusts.
    IParticipantRegistry public immutable registry;

    mapping(uint64 keyId => EncryptionKey) private _keys;
    mapping(bytes32 publicKey => uint64 keyId) private _keyIdOf;
    mapping(uint32 participantId => uint64 keyId) private _latest;
    uint64 private _keyCount;

    /// @param registry_ the consortium's participant registry
    constructor(IParticipantRegistry registry_) EIP712("Veritrace Encryption Keys", "1") {
        registry = registry_;
    }

    // ------------------------------------------------------------------ registration

    /// @inheritdoc IEncryptionKeyRegistry
    function registerKey(bytes32 publicKey, uint64 replacesKeyId) external returns (uint64 keyId) {
        (uint32 participantId, ) = registry.activeParticipantOf(msg.sender);
        keyId = _register(participantId, publicKey, replacesKeyId, msg.sender);
    }

    /// @inheritdoc IEncryptionKeyRegistry
    function registerKeyBySignature(
        KeyRotation calldata rotation,
        address signer,
        bytes calldata signature
    ) external returns (uint64 keyId) {
        if (block.timestamp > rotation.deadline) revert DeadlinePassed(rotation.deadline);
        (uint32 actual, ) = registry.activeParticipantOf(signer);
        if (actual != rotation.participantId) revert SignerNotParty(signer, actual, rotation.participantId);
        if (!SignatureChecker.isValidSignatureNowCalldata(signer, _rotationHash(rotation), signature)) {
            revert InvalidSignature(signer);
        }
        keyId = _register(actual, rotation.publicKey, rotation.replacesKeyId, signer);
    }

    /// @inheritdoc IEncryptionKeyRegistry
    function revokeKey(uint64 keyId, uint16 reasonCode) external {
        (uint32 caller, ) = registry.activeParticipantOf(msg.sender);
        EncryptionKey storage k = _keys[keyId];
        uint32 owner = k.participantId;
        if (owner == 0) revert UnknownEncryptionKey(keyId);
        if (owner != caller) revert NotKeyOwner(keyId, owner, caller);
        if (k.validUntil != 0) revert KeyNotCurrent(keyId, k.validUntil);
        k.validUntil = uint40(block.timestamp);
        k.revoked = true;
        emit EncryptionKeyRevoked(caller, keyId, reasonCode, msg.sender);
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IEncryptionKeyRegistry
    function currentKey(uint32 participantId) external view returns (uint64 keyId, bytes32 publicKey) {
        IParticipantRegistry.Status status = registry.participant(participantId).status;
        if (status == IParticipantRegistry.Status.None) revert IParticipantRegistry.UnknownParticipant(participantId);
        if (status != IParticipantRegistry.Status.Active) {
            revert IParticipantRegistry.ParticipantNotActive(participantId, status);
        }
        keyId = _current(participantId);
        if (keyId == 0) revert NoEncryptionKey(participantId);
        publicKey = _keys[keyId].publicKey;
    }

    /// @inheritdoc IEncryptionKeyRegistry
    function encryptionKey(uint64 keyId) external view returns (EncryptionKey memory) {
        return _keys[keyId];
    }

    /// @inheritdoc IEncryptionKeyRegistry
    function keyIdOf(bytes32 publicKey) external view returns (uint64) {
        return _keyIdOf[publicKey];
    }

    /// @inheritdoc IEncryptionKeyRegistry
    function latestKeyId(uint32 participantId) external view returns (uint64) {
        return _latest[participantId];
    }

    /// @inheritdoc IEncryptionKeyRegistry
    function keyCount() external view returns (uint64) {
        return _keyCount;
    }

    /// @inheritdoc IEncryptionKeyRegistry
    function rotationDigest(KeyRotation calldata rotation) external view returns (bytes32) {
        return _rotationHash(rotation);
    }

    // ------------------------------------------------------------------ internals

    /// @dev The one place a key is registered; `participantId` is an active participant whose
    /// signing key `signer` authorized it.
    function _register(
        uint32 participantId,
        bytes32 publicKey,
        uint64 replacesKeyId,
        address signer
    ) private returns (uint64 keyId) {
        uint64 current = _current(participantId);
        if (replacesKeyId != current) revert StaleKeyRotation(participantId, current, replacesKeyId);
        if (publicKey == bytes32(0)) revert ZeroPublicKey();
        uint64 existing = _keyIdOf[publicKey];
        // Refused for the same institution too: re-registering a retired key would give it a second
        // validity interval, and a thief of an old private key a way back in.
        if (existing != 0) revert EncryptionKeyAlreadyRegistered(publicKey, existing, _keys[existing].participantId);

        if (current != 0) _keys[current].validUntil = uint40(block.timestamp);
        keyId = ++_keyCount;
        _keys[keyId] = EncryptionKey({
            participantId: participantId,
            validFrom: uint40(block.timestamp),
            validUntil: 0,
            previousKeyId: _latest[participantId],
            revoked: false,
            publicKey: publicKey
        });
        _keyIdOf[publicKey] = keyId;
        _latest[participantId] = keyId;
        emit EncryptionKeyRegistered(participantId, keyId, publicKey, current, signer, msg.sender);
    }

    /// @dev The participant's current key id, 0 when it has none (never registered, or revoked).
    function _current(uint32 participantId) private view returns (uint64 keyId) {
        keyId = _latest[participantId];
        if (keyId != 0 && _keys[keyId].validUntil != 0) keyId = 0;
    }

    function _rotationHash(KeyRotation calldata r) private view returns (bytes32) {
        return
            _hashTypedDataV4(
                keccak256(abi.encode(KEY_ROTATION_TYPEHASH, r.participantId, r.publicKey, r.replacesKeyId, r.deadline))
            );
    }
}
