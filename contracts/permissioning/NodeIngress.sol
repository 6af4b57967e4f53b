// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {RulesIngress} from "./RulesIngress.sol";
import {INodeRulesV1} from "./INodeRules.sol";
import {BesuCalls} from "./BesuCalls.sol";

/// @title NodeIngress
/// @notice Besu's node-permissioning ingress, meant for the genesis address
/// 0x0000000000000000000000000000000000009999: forwards both `connectionAllowed` interfaces to
/// the current rules contract (see {RulesIngress} for the storage layout, {INodeRulesV1} and
/// {INodeRulesV2} for the ABIs).
/// @dev A v1 call is answered `0xff…ff` or `0x7fff…ff`, any other call 0 or 1: the rules' answer
/// when it is a valid one, else deny; allow while no rules contract is set.
contract NodeIngress is RulesIngress {
    /// @param registry_ the participant registry
    /// @param rules_ the first rules contract (zero: permissioning off)
    constructor(address registry_, address rules_) RulesIngress(registry_, rules_) {}

    function _answer(bytes calldata input, bool allowed) internal pure override returns (bytes memory) {
        if (_isV1(input)) return abi.encode(allowed ? BesuCalls.NODE_ALLOW : BesuCalls.NODE_DENY);
        return abi.encode(allowed);
    }

    function _isAnswer(bytes calldata input, bytes32 word) internal pure override returns (bool) {
        if (_isV1(input)) return word == BesuCalls.NODE_ALLOW || word == BesuCalls.NODE_DENY;
        return _isBool(word);
    }

    function _isV1(bytes calldata input) private pure returns (bool) {
        return _selector(input) == INodeRulesV1.connectionAllowed.selector;
    }
}
