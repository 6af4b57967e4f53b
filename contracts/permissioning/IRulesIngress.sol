// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @dev What {IRulesIngress-ingressKind} answers for the account ingress (0x…8888).
bytes32 constant ACCOUNT_INGRESS = keccak256("veritrace.permissioning.AccountIngress");
/// @dev What {IRulesIngress-ingressKind} answers for the node ingress (0x…9999).
bytes32 constant NODE_INGRESS = keccak256("veritrace.permissioning.NodeIngress");

/// @title IRulesIngress
/// @notice A permissioning ingress: the contract Hyperledger Besu calls at a fixed genesis
/// address, which forwards each call to the current rules contract. Only the participant
/// registry, executing a council `SetRules` proposal, changes the rules contract, and only to
/// rules that pass the ingress's probe (see {setRules}).
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

    /// @notice The account rules `rules` would not let `executor`, the council key executing the
    /// change, send a transaction to the registry `registry`: the council could never vote again.
    error RulesLockOutCouncil(address rules, address executor, address registry);

    /// @notice The node rules `rules` gave no valid answer to a `connectionAllowed` call with
    /// selector `selector` (v1: `0xff…ff` or `0x7fff…ff`; v2: 0 or 1); Besu would deny every node.
    error InvalidNodeRulesAnswer(address rules, bytes4 selector);

    /// @notice Forward Besu's calls to `rules` from now on; zero turns permissioning off (every
    /// call is then allowed, which is how a network starts before its rules are deployed).
    /// @dev Caller: the participant registry, executing a `SetRules` proposal by the council key
    /// `executor`. Before switching, probes `rules` as Besu will call them: the account ingress
    /// requires that `executor` may still send a transaction to the registry
    /// ({RulesLockOutCouncil}); the node ingress requires a valid answer to both
    /// `connectionAllowed` interfaces ({InvalidNodeRulesAnswer}). Emits {RulesChanged}.
    function setRules(address rules, address executor) external;

    /// @notice Which ingress this is: {ACCOUNT_INGRESS} or {NODE_INGRESS}. Lets the registry tell
    /// an ingress from a rules contract, whose fallback answers any call with one word.
    function ingressKind() external pure returns (bytes32);

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
