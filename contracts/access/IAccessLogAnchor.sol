// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IConsortiumGuarded} from "../common/IConsortiumGuarded.sol";

/// @title IAccessLogAnchor
/// @notice Merkle roots of batches of off-chain access-log entries. One transaction anchors any
/// number of entries; anyone holding an entry and its proof can show it was anchored.
/// @dev Leaves follow @openzeppelin/merkle-tree's StandardMerkleTree with the leaf encoding
/// `["uint256", "bytes32"]` = (index of the entry in its batch, keccak256 of the entry's
/// canonical bytes): leaf = keccak256(bytes.concat(keccak256(abi.encode(index, entryHash)))).
interface IAccessLogAnchor is IConsortiumGuarded {
    /// @notice An anchored batch.
    struct Anchor {
        bytes32 root;
        uint64 caseId;
        uint32 participant;
        uint32 entryCount;
        uint40 anchoredAt;
        uint64 firstSequence;
    }

    /// @notice A participant anchored a batch of access-log entries.
    /// @param anchorId the anchor
    /// @param caseId the case the entries belong to (0: entries of several cases or none)
    /// @param participant the anchoring participant
    /// @param firstSequence the sequence number of the batch's first entry in the participant's own
    /// access log (0-based): consecutive batches of one participant continue each other's sequence
    /// @param root the Merkle root
    /// @param entryCount the number of entries (leaves)
    /// @param signer the key that sent the transaction
    event LogAnchored(
        uint256 indexed anchorId,
        uint256 indexed caseId,
        uint32 indexed participant,
        uint64 firstSequence,
        bytes32 root,
        uint32 entryCount,
        address signer
    );

    /// @notice The root is zero or the batch is empty.
    error EmptyBatch();
    /// @notice `anchorId` does not exist.
    error UnknownAnchor(uint256 anchorId);

    /// @notice Anchor the Merkle root of `entryCount` access-log entries, numbered from
    /// `firstSequence` in the caller's access log.
    /// @dev Caller: an active key of an active participant; a non-zero `caseId` must be an
    /// approved, open, unexpired case. The sequence is not enforced on chain (a participant's log
    /// may legitimately be anchored by several systems): the tracer flags gaps and overlaps.
    /// Emits {LogAnchored}.
    /// @return anchorId the new anchor's id
    function anchor(
        uint256 caseId,
        uint64 firstSequence,
        bytes32 root,
        uint32 entryCount
    ) external returns (uint256 anchorId);

    /// @notice Whether the entry (`index`, `entryHash`) is in the batch `anchorId`.
    function verifyEntry(
        uint256 anchorId,
        uint256 index,
        bytes32 entryHash,
        bytes32[] calldata proof
    ) external view returns (bool);

    /// @notice An anchor.
    function getAnchor(uint256 anchorId) external view returns (Anchor memory);

    /// @notice The number of anchors ever made.
    function anchorCount() external view returns (uint256);
}
