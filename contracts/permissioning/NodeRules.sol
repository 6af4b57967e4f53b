// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IParticipantRegistry} from "../registry/IParticipantRegistry.sol";
import {INodeRulesV1, INodeRulesV2} from "./INodeRules.sol";
import {BesuCalls} from "./BesuCalls.sol";

/// @title NodeRules
/// @notice Besu's node permissioning (both interfaces) served from the participant registry: a
/// node may connect while it is registered (council `AddNode`) to an active participant.
/// @dev Only the enode id is checked, not the host or port: the enode id is the node's public
/// key, proven by the devp2p handshake, whereas addresses change (NAT, DHCP, failover) and are
/// not authenticated. A v1 connection is allowed only when both ends are allowed.
///
/// Both `connectionAllowed` are served by the fallback, which reads its arguments leniently:
/// malformed calldata gets the deny answer of the interface it names (v1: `0x7fff…ff`, v2: 0),
/// any other selector one zero word; it never reverts. Their ABIs are {INodeRulesV1} and
/// {INodeRulesV2}.
contract NodeRules {
    /// @notice The registry the rules read.
    IParticipantRegistry public immutable registry;

    /// @notice `account` has no code, where a contract is needed.
    error NotAContract(address account);

    /// @param registry_ the participant registry
    constructor(IParticipantRegistry registry_) {
        if (address(registry_).code.length == 0) revert NotAContract(address(registry_));
        registry = registry_;
    }

    /// @notice Serves {INodeRulesV1-connectionAllowed} and {INodeRulesV2-connectionAllowed}.
    /// @dev Not view only because a fallback can't be; it writes nothing.
    fallback(bytes calldata input) external returns (bytes memory) {
        return _serve(input);
    }

    function _serve(bytes calldata input) private view returns (bytes memory) {
        bytes4 selector = BesuCalls.selector(input);
        if (selector == INodeRulesV1.connectionAllowed.selector) {
            return abi.encode(_connectionAllowedV1(input) ? BesuCalls.NODE_ALLOW : BesuCalls.NODE_DENY);
        }
        if (selector == INodeRulesV2.connectionAllowed.selector) return abi.encode(_connectionAllowedV2(input));
        return abi.encode(false);
    }

    function _connectionAllowedV1(bytes calldata input) private view returns (bool) {
        if (!BesuCalls.hasWords(input, 8)) return false;
        // Words 2 and 6 are bytes16 addresses (left-aligned), 3 and 7 uint16 ports.
        for (uint256 side = 0; side < 8; side += 4) {
            if (uint128(BesuCalls.word(input, side + 2)) != 0 || BesuCalls.word(input, side + 3) >> 16 != 0) {
                return false;
            }
        }
        return
            _nodeAllowed(bytes32(BesuCalls.word(input, 0)), bytes32(BesuCalls.word(input, 1))) &&
            _nodeAllowed(bytes32(BesuCalls.word(input, 4)), bytes32(BesuCalls.word(input, 5)));
    }

    function _connectionAllowedV2(bytes calldata input) private view returns (bool) {
        if (!BesuCalls.hasWords(input, 3) || BesuCalls.word(input, 2) >> 16 != 0) return false;
        (bool idOk, bytes calldata enodeId) = BesuCalls.dynamicArg(input, 0, 3);
        (bool hostOk, ) = BesuCalls.dynamicArg(input, 1, 3);
        if (!idOk || !hostOk || enodeId.length != 128) return false;
        (bool highOk, bytes32 high) = _parseHex(enodeId[:64]);
        (bool lowOk, bytes32 low) = _parseHex(enodeId[64:]);
        return highOk && lowOk && _nodeAllowed(high, low);
    }

    function _nodeAllowed(bytes32 high, bytes32 low) private view returns (bool active) {
        (, active) = registry.nodeStatus(high, low);
    }

    /// @dev 64 hex characters (either case) → 32 bytes; ok = false on any other character.
    function _parseHex(bytes calldata hex64) private pure returns (bool ok, bytes32 value) {
        uint256 v;
        for (uint256 i = 0; i < 64; ++i) {
            uint8 c = uint8(hex64[i]);
            uint8 d;
            if (c >= 0x30 && c <= 0x39) d = c - 0x30;
            else if (c >= 0x61 && c <= 0x66) d = c - 0x57;
            else if (c >= 0x41 && c <= 0x46) d = c - 0x37;
            else return (false, bytes32(0));
            v = (v << 4) | d;
        }
        return (true, bytes32(v));
    }
}
