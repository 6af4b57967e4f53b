// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {RulesIngress} from "./RulesIngress.sol";

/// @title AccountIngress
/// @notice Besu's account-permissioning ingress, meant for the genesis address
/// 0x0000000000000000000000000000000000008888: forwards `transactionAllowed` to the current
/// rules contract (see {RulesIngress} for the storage layout and {IAccountRules} for the ABI).
/// @dev Answers one word, 0 or 1: the rules' answer when it is one, else 0; 1 while no rules
/// contract is set, so a new network can deploy its registry and rules before the council
/// turns permissioning on with a `SetRules` proposal.
contract AccountIngress is RulesIngress {
    /// @param registry_ the participant registry
    /// @param rules_ the first rules contract (zero: permissioning off)
    constructor(address registry_, address rules_) RulesIngress(registry_, rules_) {}

    function _answer(bytes calldata, bool allowed) internal pure override returns (bytes memory) {
        return abi.encode(allowed);
    }

    function _isAnswer(bytes calldata, bytes32 word) internal pure override returns (bool) {
        return _isBool(word);
    }
}
