// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title BesuCalls
/// @notice Lenient reading of the calldata of Besu's permissioning calls. The rules contracts
/// must answer every input without reverting, so they read their arguments with these
/// functions instead of Solidity's ABI decoder (which reverts on short or malformed calldata).
library BesuCalls {
    /// @notice Node rules v1: the connection is allowed (all 32 bytes set).
    bytes32 internal constant NODE_ALLOW = bytes32(type(uint256).max);
    /// @notice Node rules v1: the connection is denied (all bits but the first set).
    bytes32 internal constant NODE_DENY = bytes32(type(uint256).max >> 1);

    /// @notice The first four bytes of `input`, or zero when it is shorter.
    function selector(bytes calldata input) internal pure returns (bytes4) {
        return input.length < 4 ? bytes4(0) : bytes4(input[:4]);
    }

    /// @notice Whether `input` holds at least `words` argument words after the selector.
    function hasWords(bytes calldata input, uint256 words) internal pure returns (bool) {
        return input.length >= 4 + words * 32;
    }

    /// @notice The argument word `index`; the caller checked {hasWords}.
    function word(bytes calldata input, uint256 index) internal pure returns (uint256) {
        uint256 start = 4 + index * 32;
        return uint256(bytes32(input[start:start + 32]));
    }

    /// @notice The dynamic `bytes`/`string` argument whose offset is in head word `index`, if
    /// its offset and length stay inside the arguments and past a head of `headWords` words.
    function dynamicArg(
        bytes calldata input,
        uint256 index,
        uint256 headWords
    ) internal pure returns (bool ok, bytes calldata value) {
        bytes calldata args = input[4:];
        uint256 offset = word(input, index);
        // Compared by subtraction: offset and length are attacker-chosen and may be near 2^256.
        if (offset < headWords * 32 || offset > args.length || args.length - offset < 32) return (false, args[:0]);
        uint256 length = uint256(bytes32(args[offset:offset + 32]));
        if (length > args.length - offset - 32) return (false, args[:0]);
        return (true, args[offset + 32:offset + 32 + length]);
    }
}
