// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

/// @title TransferBatch
/// @notice Test helper: several ERC-20 transfers between arbitrary holders in one transaction, so that
/// a test can write a transaction that moves a token more than once (a seed that fans out, or that
/// passes funds on within itself).
/// @dev Each `from` must have approved this contract. Anyone may call it: a test double, never deployed
/// where the approvals would be worth anything.
contract TransferBatch {
    using SafeERC20 for IERC20;

    /// @notice The three lists do not have the same length.
    error LengthMismatch(uint256 senders, uint256 recipients, uint256 amounts);

    /// @notice Moves amounts[i] of `token` from from[i] to to[i], in order, with transferFrom.
    /// @dev Reverts (the whole batch) if one transfer fails.
    function transferMany(
        IERC20 token,
        address[] calldata from,
        address[] calldata to,
        uint256[] calldata amounts
    ) external {
        if (from.length != to.length || to.length != amounts.length) {
            revert LengthMismatch(from.length, to.length, amounts.length);
        }
        for (uint256 i = 0; i < from.length; i++) {
            token.safeTransferFrom(from[i], to[i], amounts[i]);
        }
    }
}
