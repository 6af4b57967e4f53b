// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title IConsortiumGuarded
/// @notice What every contract that participants act on shares: its functions first check that
/// the consortium is not paused and that the caller is an active signing key of an active
/// participant (see {ConsortiumGuarded}).
/// @dev The errors of that check are declared here once; each contract's interface inherits them,
/// so that its ABI lists each of them once. The participant registry's own errors (an unknown key,
/// an inactive participant) come back from the registry as they are.
interface IConsortiumGuarded {
    /// @notice The consortium is paused.
    error ConsortiumPaused();
}
