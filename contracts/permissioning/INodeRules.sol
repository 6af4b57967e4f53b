// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title INodeRulesV1
/// @notice Hyperledger Besu's first node-permissioning interface: both ends of a connection.
/// @dev An enode id is the node's 64-byte public key, split in two words; an IPv4 address is
/// given as the IPv4-mapped IPv6 address ::ffff:a.b.c.d.
interface INodeRulesV1 {
    /// @notice Whether the two nodes may connect.
    /// @dev Selector 0x3620b1df. Answers `0xff…ff` (all 32 bytes) to allow, `0x7fff…ff` to deny.
    function connectionAllowed(
        bytes32 sourceEnodeHigh,
        bytes32 sourceEnodeLow,
        bytes16 sourceIp,
        uint16 sourcePort,
        bytes32 destinationEnodeHigh,
        bytes32 destinationEnodeLow,
        bytes16 destinationIp,
        uint16 destinationPort
    ) external view returns (bytes32);
}

/// @title INodeRulesV2
/// @notice Hyperledger Besu's second node-permissioning interface: one node at a time.
interface INodeRulesV2 {
    /// @notice Whether the node may connect.
    /// @dev Selector 0x45a59e5b. `enodeId` is the public key as 128 hex characters without `0x`.
    function connectionAllowed(
        string calldata enodeId,
        string calldata enodeHost,
        uint16 enodePort
    ) external view returns (bool);
}
