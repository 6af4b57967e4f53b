// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @notice A rules contract that answers every call with the bytes it was given, so tests can
/// check how an ingress treats invalid answers (wrong length, values that are no valid answer).
contract WordRules {
    bytes private _answer;

    constructor(bytes memory answer) {
        _answer = answer;
    }

    fallback(bytes calldata) external returns (bytes memory) {
        return _answer;
    }
}
