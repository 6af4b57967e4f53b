// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IRulesIngress} from "./IRulesIngress.sol";
import {BesuCalls} from "./BesuCalls.sol";

/// @title RulesIngress
/// @notice What the account and node ingresses share: the registry that may change the rules,
/// the rules contract, Besu's name lookup, and forwarding every other call to the rules.
/// @dev The ingresses live in the genesis alloc, where no constructor runs, so their state is
/// plain storage a genesis file can give (see `ingressStorage` in scripts/lib/permissioning.ts):
///
///   slot 0: the participant registry (address, right-aligned in the word)
///   slot 1: the rules contract (address, right-aligned; zero: permissioning off)
///
/// The constructor writes the same slots, for deployments outside a genesis (tests, other
/// chains). Nothing else is stored, so inheriting contracts must declare no state variables.
abstract contract RulesIngress is IRulesIngress {
    /// @notice Besu's name of the rules contract: bytes32("rules").
    bytes32 public constant RULES_CONTRACT = "rules";
    /// @notice Besu's name of the administration contract (here the registry): bytes32("administration").
    bytes32 public constant ADMIN_CONTRACT = "administration";

    address private _registry; // slot 0
    address private _rules; // slot 1

    /// @param registry_ the participant registry
    /// @param rules_ the first rules contract (zero: permissioning off)
    constructor(address registry_, address rules_) {
        _registry = registry_;
        _rules = rules_;
    }

    /// @notice Forwards Besu's call to the rules contract and passes on its answer if it is a
    /// valid one for the call's interface; otherwise, or if the rules revert, denies. With no
    /// rules contract, allows (see {setRules}). Never reverts.
    fallback(bytes calldata input) external returns (bytes memory) {
        return _forward(input);
    }

    function _forward(bytes calldata input) private view returns (bytes memory) {
        address rules_ = _rules;
        if (rules_ == address(0)) return _answer(input, true);
        (bool success, bytes memory output) = rules_.staticcall(input);
        if (success && output.length == 32 && _isAnswer(input, bytes32(output))) return output;
        return _answer(input, false);
    }

    /// @inheritdoc IRulesIngress
    function setRules(address rules_, address executor) external {
        address registry_ = _registry;
        if (msg.sender != registry_) revert NotRegistry(msg.sender);
        // Zero turns permissioning off: everything is allowed, nobody is locked out.
        if (rules_ != address(0)) _probe(rules_, executor, registry_);
        emit RulesChanged(_rules, rules_);
        _rules = rules_;
    }

    /// @inheritdoc IRulesIngress
    function getContractAddress(bytes32 name) external view returns (address) {
        // Besu's ingress reverts on an empty name; this one answers zero, like any unknown name.
        if (name == RULES_CONTRACT) return _rules;
        if (name == ADMIN_CONTRACT) return _registry;
        return address(0);
    }

    /// @inheritdoc IRulesIngress
    function getContractVersion() external pure returns (uint256) {
        return 1_000_000;
    }

    /// @inheritdoc IRulesIngress
    function registry() external view returns (address) {
        return _registry;
    }

    /// @inheritdoc IRulesIngress
    function rules() external view returns (address) {
        return _rules;
    }

    /// @dev A static call of the rules for a probe. A call that ran out of gas reverts the whole
    /// setRules without data, which the registry reads as "not executed" (the proposal stays
    /// pending): whoever executes must not be able to fail good rules by starving the probe.
    function _probeCall(address rules_, bytes memory data) internal view returns (bool success, bytes memory output) {
        uint256 before = gasleft();
        (success, output) = rules_.staticcall(data);
        // The call got at most 63/64 of the gas; if it used it all, about before/64 is left.
        if (!success && output.length == 0 && gasleft() <= before / 63) {
            // solhint-disable-next-line gas-custom-errors
            revert();
        }
    }

    /// @dev Reverts unless `rules_` answers Besu's calls of this ingress's interface in a way that
    /// keeps the network governable; `executor` is the council key executing the change.
    function _probe(address rules_, address executor, address registry_) internal view virtual;

    /// @dev The one-word answer meaning `allowed` for the interface `input` calls.
    function _answer(bytes calldata input, bool allowed) internal pure virtual returns (bytes memory);

    /// @dev Whether `word` is a valid answer of the interface `input` calls.
    function _isAnswer(bytes calldata input, bytes32 word) internal pure virtual returns (bool);

    /// @dev Boolean answers: one word, 0 or 1.
    function _isBool(bytes32 word) internal pure returns (bool) {
        return uint256(word) <= 1;
    }

    /// @dev Keeps the selector helper in one place for the inheriting ingresses.
    function _selector(bytes calldata input) internal pure returns (bytes4) {
        return BesuCalls.selector(input);
    }
}
