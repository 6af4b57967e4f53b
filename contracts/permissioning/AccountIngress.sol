// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {RulesIngress} from "./RulesIngress.sol";
import {IRulesIngress, ACCOUNT_INGRESS} from "./IRulesIngress.sol";
import {IAccountRules} from "./IAccountRules.sol";

/// @title AccountIngress
/// @notice Besu's account-permissioning ingress, meant for the genesis address
/// 0x0000000000000000000000000000000000008888: forwards `transactionAllowed` to the current
/// rules contract (see {RulesIngress} for the storage layout and {IAccountRules} for the ABI).
/// @dev Answers one word, 0 or 1: the rules' answer when it is one, else 0; 1 while no rules
/// contract is set, so a new network can deploy its registry and rules before the council
/// turns permissioning on with a `SetRules` proposal.
///
/// New rules are probed before they are accepted: they must let the council key executing the
/// change send a transaction to the registry, or no council key could ever vote the rules back.
contract AccountIngress is RulesIngress {
    /// @param registry_ the participant registry
    /// @param rules_ the first rules contract (zero: permissioning off)
    constructor(address registry_, address rules_) RulesIngress(registry_, rules_) {}

    /// @inheritdoc IRulesIngress
    function ingressKind() external pure returns (bytes32) {
        return ACCOUNT_INGRESS;
    }

    /// @dev Asks exactly what Besu asks before it takes the executor's next transaction to the
    /// registry: value 0, this transaction's gas price, the block's gas limit, no payload. A valid
    /// "allowed" answer (one word, 1) is required; the ingress would read anything else as deny.
    function _probe(address rules_, address executor, address registry_) internal view override {
        (bool success, bytes memory output) = _probeCall(
            rules_,
            abi.encodeCall(IAccountRules.transactionAllowed, (executor, registry_, 0, tx.gasprice, block.gaslimit, ""))
        );
        if (!success || output.length != 32 || uint256(bytes32(output)) != 1) {
            revert RulesLockOutCouncil(rules_, executor, registry_);
        }
    }

    function _answer(bytes calldata, bool allowed) internal pure override returns (bytes memory) {
        return abi.encode(allowed);
    }

    function _isAnswer(bytes calldata, bytes32 word) internal pure override returns (bool) {
        return _isBool(word);
    }
}
