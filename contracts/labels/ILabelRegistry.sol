// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IConsortiumGuarded} from "../common/IConsortiumGuarded.sol";

/// @title ILabelRegistry
/// @notice Risk labels that consortium participants publish about addresses of any EVM chain,
/// each bound to a case and revocable by its author. The tracer reads them back from events.
interface ILabelRegistry is IConsortiumGuarded {
    /// @notice A published label.
    struct Label {
        address subject;
        uint64 chainId;
        uint32 author;
        uint8 confidence;
        bool revoked;
        bytes32 category;
        uint64 caseId;
        uint40 publishedAt;
    }

    /// @notice A participant published a label.
    /// @param labelId the label
    /// @param author the publishing participant
    /// @param subject the labeled address
    /// @param chainId the chain the address is on
    /// @param category the risk category, a short name such as bytes32("sanctioned")
    /// @param caseId the case the label is bound to
    /// @param caseNumberCommitment that case's number commitment
    /// @param confidence 0 (none) to 100 (certain)
    /// @param signer the key that sent the transaction
    event LabelPublished(
        uint256 indexed labelId,
        uint32 indexed author,
        address indexed subject,
        uint64 chainId,
        bytes32 category,
        uint256 caseId,
        bytes32 caseNumberCommitment,
        uint8 confidence,
        address signer
    );

    /// @notice The author revoked a label.
    /// @param labelId the label
    /// @param author the author
    /// @param subject the labeled address
    /// @param reasonCode why (consortium code list)
    /// @param signer the key that sent the transaction
    event LabelRevoked(
        uint256 indexed labelId,
        uint32 indexed author,
        address indexed subject,
        uint16 reasonCode,
        address signer
    );

    /// @notice `caseOpener` opened no case with this case number commitment.
    error UnknownCaseCommitment(uint32 caseOpener, bytes32 caseNumberCommitment);
    /// @notice A zero address, chain id or category was given for `field`.
    error ZeroValue(string field);
    /// @notice The confidence `confidence` is above 100.
    error InvalidConfidence(uint8 confidence);
    /// @notice `labelId` does not exist.
    error UnknownLabel(uint256 labelId);
    /// @notice `participantId` is not the author of `labelId`.
    error NotLabelAuthor(uint256 labelId, uint32 participantId);
    /// @notice `labelId` is already revoked.
    error LabelAlreadyRevoked(uint256 labelId);

    /// @notice Publish a risk label about `subject` on chain `chainId`, bound to an active case.
    /// @dev Caller: an active key of an active participant. Emits {LabelPublished}.
    /// The case is named by its opener and its case number commitment together: commitments are
    /// unique per opener only, so another police participant that opened a case with a copied
    /// commitment can't have the label bound to its own case.
    /// @param subject the labeled address
    /// @param chainId the chain the address is on
    /// @param category the risk category, a short name such as bytes32("sanctioned")
    /// @param caseOpener the police participant that opened the case (the author itself for its own case)
    /// @param caseNumberCommitment the case's number commitment
    /// @param confidence 0 (none) to 100 (certain)
    /// @return labelId the new label's id
    function publishLabel(
        address subject,
        uint64 chainId,
        bytes32 category,
        uint32 caseOpener,
        bytes32 caseNumberCommitment,
        uint8 confidence
    ) external returns (uint256 labelId);

    /// @notice Revoke one of your labels; accepted after the case closed and during a pause.
    /// @dev Caller: an active key of the label's author. Emits {LabelRevoked}.
    function revokeLabel(uint256 labelId, uint16 reasonCode) external;

    /// @notice A label.
    function getLabel(uint256 labelId) external view returns (Label memory);

    /// @notice The number of labels ever published.
    function labelCount() external view returns (uint256);
}
