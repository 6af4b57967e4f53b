// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title IEncryptionKeyRegistry
/// @notice Each institution's X25519 encryption public key, the one data delivered to it is
/// encrypted to (the age format's X25519 recipient), with rotation and a permanent history.
/// @dev Who may register: the institution itself, through one of its active signing keys (the keys
/// the council bound to it), either sending the transaction or signing an EIP-712 {KeyRotation}
/// that anyone submits. The council has no path to set a key: a key the council could set is a key
/// the council could read the institution's deliveries with. The council's levers are the ones it
/// has on the participant registry: suspending or revoking an institution stops {currentKey}
/// answering for it, and removing a compromised signing key stops that key from rotating.
///
/// Keys are numbered from 1 in registration order, across all institutions; id 0 means "none".
/// A key's record never goes away: once replaced or revoked it keeps its validity interval, so an
/// envelope encrypted to it can be checked later.
interface IEncryptionKeyRegistry {
    /// @notice One encryption key and its validity.
    /// @param participantId the institution it belongs to, forever
    /// @param validFrom when it was registered
    /// @param validUntil when it was replaced or revoked (0: it is the institution's current key);
    /// it was current over [validFrom, validUntil)
    /// @param previousKeyId the institution's key registered before it (0: its first), so that the
    /// whole history can be walked back from {latestKeyId}
    /// @param revoked whether it ended by {revokeKey} (possibly compromised) rather than rotation
    /// @param publicKey the X25519 public key (RFC 7748 u-coordinate, 32 bytes as encoded)
    struct EncryptionKey {
        uint32 participantId;
        uint40 validFrom;
        uint40 validUntil;
        uint64 previousKeyId;
        bool revoked;
        bytes32 publicKey;
    }

    /// @notice A registration signed by a signing key of the institution (EIP-712 type
    /// `KeyRotation`, with these fields in this order).
    /// @param participantId the institution whose key this is
    /// @param publicKey the new X25519 public key
    /// @param replacesKeyId the institution's current key id the signer saw (0: it has none): the
    /// registration is refused once that is no longer the current key, so a signature can't be
    /// replayed nor applied over a rotation it did not see
    /// @param deadline last timestamp at which the registration may be submitted
    struct KeyRotation {
        uint32 participantId;
        bytes32 publicKey;
        uint64 replacesKeyId;
        uint64 deadline;
    }

    /// @notice An institution registered an encryption key; the key it replaces, if any, stopped
    /// being current at the same time.
    /// @param participantId the institution
    /// @param keyId the new key's id
    /// @param publicKey the X25519 public key
    /// @param replacedKeyId the key it replaces (0: the institution had no current key)
    /// @param signer the signing key that authorized it (the sender, or the {KeyRotation}'s signer)
    /// @param submitter the account that sent the transaction
    event EncryptionKeyRegistered(
        uint32 indexed participantId,
        uint64 indexed keyId,
        bytes32 publicKey,
        uint64 replacedKeyId,
        address signer,
        address submitter
    );

    /// @notice An institution revoked its current encryption key without a successor: nothing
    /// may be encrypted to it any more, and it has no current key until it registers one.
    /// @param participantId the institution
    /// @param keyId the revoked key
    /// @param reasonCode why (consortium code list; for example, the private key was exposed)
    /// @param signer the key that sent the transaction
    event EncryptionKeyRevoked(uint32 indexed participantId, uint64 indexed keyId, uint16 reasonCode, address signer);

    /// @notice The public key is zero, which is no X25519 key.
    error ZeroPublicKey();
    /// @notice `publicKey` is already key `keyId` of participant `participantId`: a key is
    /// registered once, to one institution, for one interval.
    error EncryptionKeyAlreadyRegistered(bytes32 publicKey, uint64 keyId, uint32 participantId);
    /// @notice The registration replaces key `replacesKeyId`, but the current key of
    /// `participantId` is `currentKeyId` (0: none).
    error StaleKeyRotation(uint32 participantId, uint64 currentKeyId, uint64 replacesKeyId);
    /// @notice `participantId` has no current encryption key.
    error NoEncryptionKey(uint32 participantId);
    /// @notice `keyId` does not exist.
    error UnknownEncryptionKey(uint64 keyId);
    /// @notice Key `keyId` belongs to `owner`, not to the caller's participant `caller`.
    error NotKeyOwner(uint64 keyId, uint32 owner, uint32 caller);
    /// @notice Key `keyId` is no longer current: it ended at `validUntil`.
    error KeyNotCurrent(uint64 keyId, uint40 validUntil);
    /// @notice `signer` speaks for participant `actual`; the registration is for `expected`.
    error SignerNotParty(address signer, uint32 actual, uint32 expected);
    /// @notice The signature of `signer` does not match the registration.
    error InvalidSignature(address signer);
    /// @notice The registration's deadline `deadline` has passed.
    error DeadlinePassed(uint64 deadline);

    /// @notice Register an encryption key for the caller's institution, replacing its current one.
    /// @dev Caller: an active signing key of an active participant. Accepted during an emergency
    /// pause: a pause stops data moving, and replacing an exposed key is what a pause is for.
    /// Emits {EncryptionKeyRegistered}.
    /// @param publicKey the X25519 public key (not zero, never registered before)
    /// @param replacesKeyId the institution's current key id (0 when it has none)
    /// @return keyId the new key's id
    function registerKey(bytes32 publicKey, uint64 replacesKeyId) external returns (uint64 keyId);

    /// @notice Register an encryption key signed by a signing key of the institution.
    /// @dev Caller: anyone (the institution's gateway, a relayer); the signature is the authority.
    /// The signer must be an active signing key of `rotation.participantId`, which must be active
    /// (ECDSA for accounts, ERC-1271 for contract keys). Emits {EncryptionKeyRegistered}.
    /// @return keyId the new key's id
    function registerKeyBySignature(
        KeyRotation calldata rotation,
        address signer,
        bytes calldata signature
    ) external returns (uint64 keyId);

    /// @notice Revoke the caller's institution's current encryption key, leaving it none.
    /// @dev Caller: an active signing key of the key's participant. Accepted during an emergency
    /// pause (it only narrows what may be encrypted). Emits {EncryptionKeyRevoked}.
    function revokeKey(uint64 keyId, uint16 reasonCode) external;

    /// @notice The key to encrypt to for `participantId` now.
    /// @dev Reverts with the participant registry's {UnknownParticipant} or {ParticipantNotActive}
    /// unless the participant is active (nothing is delivered to a suspended or revoked
    /// institution), and with {NoEncryptionKey} when it has no current key.
    /// @return keyId the key's id
    /// @return publicKey the X25519 public key
    function currentKey(uint32 participantId) external view returns (uint64 keyId, bytes32 publicKey);

    /// @notice A key's record, current or not (all zero for an unknown id).
    function encryptionKey(uint64 keyId) external view returns (EncryptionKey memory);

    /// @notice The id of the key registered as `publicKey` (0: never registered).
    function keyIdOf(bytes32 publicKey) external view returns (uint64);

    /// @notice The last key `participantId` registered, current or not (0: none ever): the head of
    /// its history, walked back through {EncryptionKey.previousKeyId}.
    function latestKeyId(uint32 participantId) external view returns (uint64);

    /// @notice The number of keys ever registered (the highest key id).
    function keyCount() external view returns (uint64);

    /// @notice The EIP-712 digest a signing key signs for `rotation`.
    function rotationDigest(KeyRotation calldata rotation) external view returns (bytes32);
}
