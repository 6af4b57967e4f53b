// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title RevertingReceiver
/// @notice Test helper: a recipient that passes the value it receives on to a beneficiary, then reverts,
/// so that the value it was sent and the internal transfer it made both never happened.
contract RevertingReceiver {
    /// @notice Where received value is passed on before the revert.
    address payable public immutable beneficiary;

    /// @notice Always: this contract refuses every payment (after trying to pass it on).
    error Refused(uint256 amount, bool passedOn);

    /// @param beneficiary_ where received value is passed on before the revert
    constructor(address payable beneficiary_) {
        beneficiary = beneficiary_;
    }

    /// @notice Passes the value on to the beneficiary, then reverts with {Refused}.
    receive() external payable {
        // solhint-disable-next-line avoid-low-level-calls
        (bool passedOn, ) = beneficiary.call{value: msg.value}("");
        revert Refused(msg.value, passedOn);
    }
}
