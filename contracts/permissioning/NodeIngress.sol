// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {RulesIngress} from "./RulesIngress.sol";
import {INodeRulesV1, INodeRulesV2} from "./INodeRules.sol";
import {IRulesIngress, NODE_INGRESS} from "./IRulesIngress.sol";
import {BesuCalls} from "./BesuCalls.sol";

/// @title NodeIngress
/// @notice Besu's node-permissioning ingress, meant for the genesis address
/// 0x0000000000000000000000000000000000009999: forwards both `connectionAllowed` interfaces to
/// the current rules contract (see {RulesIngress} for the storage layout, {INodeRulesV1} and
/// {INodeRulesV2} for the ABIs).
/// @dev A v1 call is answered `0xff…ff` or `0x7fff…ff`, any other call 0 or 1: the rules' answer
/// when it is a valid one, else deny; allow while no rules contract is set.
///
/// New rules are probed before they are accepted: they must give a valid answer (allow or deny)
/// to a well-formed call of each interface, since Besu would read anything else as "deny" for
/// every node (a rules contract of the wrong kind, such as account rules, answers 0 to both).
contract NodeIngress is RulesIngress {
    /// @dev The probe's node: any well-formed enode id will do, only the answer's form is checked.
    bytes32 private constant PROBE_ENODE_HALF = keccak256("veritrace.permissioning.probe");
    /// @dev ::ffff:127.0.0.1, the IPv4-mapped form Besu passes to the v1 interface.
    bytes16 private constant PROBE_IP = 0x00000000000000000000ffff7f000001;
    uint16 private constant PROBE_PORT = 30303;

    /// @param registry_ the participant registry
    /// @param rules_ the first rules contract (zero: permissioning off)
    constructor(address registry_, address rules_) RulesIngress(registry_, rules_) {}

    /// @inheritdoc IRulesIngress
    function ingressKind() external pure returns (bytes32) {
        return NODE_INGRESS;
    }

    function _probe(address rules_, address, address) internal view override {
        bytes32 half = PROBE_ENODE_HALF;
        (bool success, bytes memory output) = _probeCall(
            rules_,
            abi.encodeCall(
                INodeRulesV1.connectionAllowed,
                (half, half, PROBE_IP, PROBE_PORT, half, half, PROBE_IP, PROBE_PORT)
            )
        );
        bytes32 word = success && output.length == 32 ? bytes32(output) : bytes32(0);
        if (word != BesuCalls.NODE_ALLOW && word != BesuCalls.NODE_DENY) {
            revert InvalidNodeRulesAnswer(rules_, INodeRulesV1.connectionAllowed.selector);
        }
        string memory id = string(abi.encodePacked(_hex(half), _hex(half)));
        (success, output) = _probeCall(
            rules_,
            abi.encodeCall(INodeRulesV2.connectionAllowed, (id, "127.0.0.1", PROBE_PORT))
        );
        if (!success || output.length != 32 || uint256(bytes32(output)) > 1) {
            revert InvalidNodeRulesAnswer(rules_, INodeRulesV2.connectionAllowed.selector);
        }
    }

    /// @dev 32 bytes as 64 lower-case hex characters, the v2 interface's form of an enode half.
    function _hex(bytes32 value) private pure returns (bytes memory out) {
        out = new bytes(64);
        for (uint256 i = 0; i < 64; ++i) {
            uint8 nibble = uint8(uint256(value) >> (252 - 4 * i)) & 0x0f;
            out[i] = bytes1(nibble < 10 ? nibble + 0x30 : nibble + 0x57);
        }
    }

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
