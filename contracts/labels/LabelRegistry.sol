// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IParticipantRegistry} from "../registry/IParticipantRegistry.sol";
import {ICaseRegistry} from "../cases/ICaseRegistry.sol";
import {ILabelRegistry} from "./ILabelRegistry.sol";
import {ConsortiumGuarded} from "../common/ConsortiumGuarded.sol";

/// @title LabelRegistry
/// @notice Case-bound risk labels on addresses, published and revoked by participants.
contract LabelRegistry is ILabelRegistry, ConsortiumGuarded {
    /// @notice The case registry this contract trusts.
    ICaseRegistry public immutable cases;

    mapping(uint256 labelId => Label) private _labels;
    uint256 private _labelCount;

    /// @param registry_ the consortium's participant registry
    /// @param cases_ the consortium's case registry
    constructor(IParticipantRegistry registry_, ICaseRegistry cases_) ConsortiumGuarded(registry_) {
        cases = cases_;
    }

    /// @inheritdoc ILabelRegistry
    function publishLabel(
        address subject,
        uint64 chainId,
        bytes32 category,
        uint32 caseOpener,
        bytes32 caseNumberCommitment,
        uint8 confidence
    ) external returns (uint256 labelId) {
        uint32 author = _activeCaller();
        if (subject == address(0)) revert ZeroValue("subject");
        if (chainId == 0) revert ZeroValue("chainId");
        if (category == bytes32(0)) revert ZeroValue("category");
        if (confidence > 100) revert InvalidConfidence(confidence);
        uint256 caseId = cases.caseIdOf(caseOpener, caseNumberCommitment);
        if (caseId == 0) revert UnknownCaseCommitment(caseOpener, caseNumberCommitment);
        cases.requireActive(caseId);

        labelId = ++_labelCount;
        _labels[labelId] = Label({
            subject: subject,
            chainId: chainId,
            author: author,
            confidence: confidence,
            revoked: false,
            category: category,
            caseId: uint64(caseId),
            publishedAt: uint40(block.timestamp)
        });
        emit LabelPublished(
            labelId,
            author,
            subject,
            chainId,
            category,
            caseId,
            caseNumberCommitment,
            confidence,
            msg.sender
        );
    }

    /// @inheritdoc ILabelRegistry
    function revokeLabel(uint256 labelId, uint16 reasonCode) external {
        // Revoking withdraws only the author's own label: it is accepted during an emergency pause too.
        (uint32 caller, ) = registry.activeParticipantOf(msg.sender);
        Label storage label = _labels[labelId];
        if (label.author == 0) revert UnknownLabel(labelId);
        if (label.author != caller) revert NotLabelAuthor(labelId, caller);
        if (label.revoked) revert LabelAlreadyRevoked(labelId);
        label.revoked = true;
        emit LabelRevoked(labelId, caller, label.subject, reasonCode, msg.sender);
    }

    /// @inheritdoc ILabelRegistry
    function getLabel(uint256 labelId) external view returns (Label memory) {
        return _labels[labelId];
    }

    /// @inheritdoc ILabelRegistry
    function labelCount() external view returns (uint256) {
        return _labelCount;
    }
}
