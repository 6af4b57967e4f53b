// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {IParticipantRegistry} from "../registry/IParticipantRegistry.sol";
import {ICaseRegistry} from "../cases/ICaseRegistry.sol";
import {IAccessLogAnchor} from "./IAccessLogAnchor.sol";
import {ConsortiumGuarded} from "../common/ConsortiumGuarded.sol";

/// @title AccessLogAnchor
/// @notice Batch anchoring of off-chain access logs: the cost of one transaction is shared by
/// every entry of the batch.
contract AccessLogAnchor is IAccessLogAnchor, ConsortiumGuarded {
    /// @notice The case registry this contract trusts.
    ICaseRegistry public immutable cases;

    mapping(uint256 anchorId => Anchor) private _anchors;
    uint256 private _anchorCount;

    /// @param registry_ the consortium's participant registry
    /// @param cases_ the consortium's case registry
    constructor(IParticipantRegistry registry_, ICaseRegistry cases_) ConsortiumGuarded(registry_) {
        cases = cases_;
    }

    /// @inheritdoc IAccessLogAnchor
    function anchor(
        uint256 caseId,
        uint64 firstSequence,
        bytes32 root,
        uint32 entryCount
    ) external returns (uint256 anchorId) {
        uint32 participant = _activeCaller();
        if (root == bytes32(0) || entryCount == 0) revert EmptyBatch();
        if (caseId != 0) cases.requireActive(caseId);
        anchorId = ++_anchorCount;
        _anchors[anchorId] = Anchor({
            root: root,
            caseId: uint64(caseId),
            participant: participant,
            entryCount: entryCount,
            anchoredAt: uint40(block.timestamp),
            firstSequence: firstSequence
        });
        emit LogAnchored(anchorId, caseId, participant, firstSequence, root, entryCount, msg.sender);
    }

    /// @inheritdoc IAccessLogAnchor
    function verifyEntry(
        uint256 anchorId,
        uint256 index,
        bytes32 entryHash,
        bytes32[] calldata proof
    ) external view returns (bool) {
        bytes32 root = _anchors[anchorId].root;
        if (root == bytes32(0)) revert UnknownAnchor(anchorId);
        if (index >= _anchors[anchorId].entryCount) return false;
        bytes32 leaf = keccak256(bytes.concat(keccak256(abi.encode(index, entryHash))));
        return MerkleProof.verifyCalldata(proof, root, leaf);
    }

    /// @inheritdoc IAccessLogAnchor
    function getAnchor(uint256 anchorId) external view returns (Anchor memory) {
        return _anchors[anchorId];
    }

    /// @inheritdoc IAccessLogAnchor
    function anchorCount() external view returns (uint256) {
        return _anchorCount;
    }
}
