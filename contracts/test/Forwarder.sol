// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title Forwarder
/// @notice Test helper: passes the value it is sent on to several recipients with internal calls, so
/// that a test sees native transfers that no transaction's own value shows.
/// @dev A recipient whose call reverts does not fail the transaction: its amount stays here (and the
/// reverted call moved nothing). Anyone may call it.
contract Forwarder {
    /// @notice One internal transfer, and whether the recipient accepted it.
    event Forwarded(address indexed to, uint256 amount, bool delivered);

    /// @notice The recipient and amount lists do not have the same length.
    error LengthMismatch(uint256 recipients, uint256 amounts);
    /// @notice The value sent is not the sum of the amounts.
    error ValueMismatch(uint256 sent, uint256 total);

    /// @notice Sends amounts[i] to to[i], one call each, from the value sent (which must be their sum).
    /// @dev Emits {Forwarded} per recipient; a refused amount stays in this contract.
    function forward(address payable[] calldata to, uint256[] calldata amounts) external payable {
        if (to.length != amounts.length) revert LengthMismatch(to.length, amounts.length);
        uint256 total = 0;
        for (uint256 i = 0; i < amounts.length; i++) total += amounts[i];
        if (total != msg.value) revert ValueMismatch(msg.value, total);
        for (uint256 i = 0; i < to.length; i++) {
            // A low-level call on purpose: a refusal must not revert the whole transaction.
            // solhint-disable-next-line avoid-low-level-calls
            (bool delivered, ) = to[i].call{value: amounts[i]}("");
            emit Forwarded(to[i], amounts[i], delivered);
        }
    }

    /// @notice Accepts value (a Forwarder may be a recipient of another).
    receive() external payable {}
}
