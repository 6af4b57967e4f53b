// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title IRulesIngress
/// @notice A permissioning ingress: the contract Hyperledger Besu calls at a fixed genesis
/// address, which forwards each call to the current rules contract. Only the participant
/// registry, executing a council `SetRules` proposal, changes the rules contract.
/// @dev A minimal form of the ingress of Besu's permissioning-smart-contracts: the lookup
/// `getContractAddress(name)` and the names `RULES_CONTRACT` ("rules") and `ADMIN_CONTRACT`
/// ("administration", here the registry) are kept; the admin list and `setContractAddress`
/// are replaced by the council's proposals.
interface IRulesIngress {
    /// @notice The ingress now forwards to `current`.
    /// @param previous the rules contract before (zero: permissioning was off)
    /// @param current the rules contract now (zero: permissioning is off)
    event RulesChanged(address indexed previous, address indexed current);

    /// @notice `caller` is not the participant registry, the only account that may set the rules.
    error NotRegistry(address caller);

    /// @notice Forward Besu's calls to `rules` from now on; zero turns permissioning off (every
    /// call is then allowed, which is how a network starts before its rules are deployed).
    /// @dev Caller: the participant registry. Emits {RulesChanged}.
    function setRules(address rules) external;

    /// @notice The contract registered under `name`: `RULES_CONTRACT` → the rules contract,
    /// `ADMIN_CONTRACT` → the participant registry, anything else → zero. Never reverts.
    function getContractAddress(bytes32 name) external view returns (address);

    /// @notice The version of the ingress interface, in Besu's numbering (1.0.0 → 1000000).
    function getContractVersion() external pure returns (uint256);

    /// @notice The participant registry, which alone may change the rules contract.
    function registry() external view returns (address);

    /// @notice The rules contract calls are forwarded to (zero: permissioning off).
    function rules() external view returns (address);
}
