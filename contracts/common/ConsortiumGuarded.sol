// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IParticipantRegistry} from "../registry/IParticipantRegistry.sol";
import {ICaseRegistry} from "../cases/ICaseRegistry.sol";
import {IConsortiumGuarded} from "./IConsortiumGuarded.sol";

/// @title ConsortiumGuarded
/// @notice The check every consortium contract makes before a participant acts: the consortium is
/// not paused, and the sender is an active signing key of an active participant (of the kind the
/// action needs). Written once here, after OpenZeppelin's AccessManaged.
/// @dev Each check costs one view call to the registry per question asked, and at most one internal
/// call: the pause check is a modifier, so it is inlined where it is used.
///
/// Not every function takes the whole check, and those that don't say so where they differ: a
/// function that only narrows access (closing a case, revoking a grant) is accepted during a pause,
/// so it asks the registry for its caller itself, next to a comment saying why; a function anyone
/// may submit, its signatures being the authority (a co-signed delivery), checks only {whenNotPaused}.
abstract contract ConsortiumGuarded is IConsortiumGuarded {
    /// @notice The participant registry this contract trusts: who may act, and whether the
    /// consortium is paused.
    IParticipantRegistry public immutable registry;

    /// @dev Reverts with {ConsortiumPaused} while the consortium is paused.
    modifier whenNotPaused() {
        if (registry.paused()) revert ConsortiumPaused();
        _;
    }

    /// @param registry_ the consortium's participant registry
    constructor(IParticipantRegistry registry_) {
        registry = registry_;
    }

    /// @dev The participant behind msg.sender. Reverts while the consortium is paused, and with the
    /// registry's error unless msg.sender is an active key of an active participant.
    function _activeCaller() internal view whenNotPaused returns (uint32 id) {
        (id, ) = registry.activeParticipantOf(msg.sender);
    }

    /// @dev {_activeCaller}, of kind `kind` ({ICaseRegistry-WrongParticipantKind} otherwise). That
    /// error is declared once, in ICaseRegistry: a contract that calls this function lists it in its
    /// ABI once, a contract that does not, not at all.
    function _activeCallerOfKind(bytes32 kind) internal view whenNotPaused returns (uint32 id) {
        bytes32 actual;
        (id, actual) = registry.activeParticipantOf(msg.sender);
        if (actual != kind) revert ICaseRegistry.WrongParticipantKind(id, actual, kind);
    }
}
