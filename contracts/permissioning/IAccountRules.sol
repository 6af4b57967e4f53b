// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title IAccountRules
/// @notice The account-permissioning interface Hyperledger Besu calls (`eth_call` from the zero
/// address, at the head) before accepting a transaction into its pool or a block.
interface IAccountRules {
    /// @notice Whether `sender` may send a transaction to `target` (zero: contract creation).
    /// @dev Selector 0x936421d5. Answers exactly one 32-byte word, 0 or 1, and never reverts.
    function transactionAllowed(
        address sender,
        address target,
        uint256 value,
        uint256 gasPrice,
        uint256 gasLimit,
        bytes calldata payload
    ) external view returns (bool);
}
