// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {ACCOUNT_INGRESS} from "../permissioning/IRulesIngress.sol";

/// @title InertIngress
/// @notice Test double of a broken ingress: it declares itself an account ingress of `registry`
/// and accepts `setRules`, but never changes its rules, so the registry must notice.
contract InertIngress {
    /// @notice The registry it claims to serve.
    address public immutable registry;

    /// @param registry_ the registry it claims to serve
    constructor(address registry_) {
        registry = registry_;
    }

    /// @notice Claims to be an account ingress.
    function ingressKind() external pure returns (bytes32) {
        return ACCOUNT_INGRESS;
    }

    /// @notice Accepts any call and changes nothing.
    function setRules(address, address) external {}

    /// @notice Always zero: it never forwards.
    function rules() external pure returns (address) {
        return address(0);
    }
}
