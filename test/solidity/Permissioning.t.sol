// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {ConsortiumBase} from "./Base.sol";
import {IParticipantRegistry} from "../../contracts/registry/IParticipantRegistry.sol";
import {AccountRules} from "../../contracts/permissioning/AccountRules.sol";
import {NodeRules} from "../../contracts/permissioning/NodeRules.sol";
import {AccountIngress} from "../../contracts/permissioning/AccountIngress.sol";
import {NodeIngress} from "../../contracts/permissioning/NodeIngress.sol";
import {IAccountRules} from "../../contracts/permissioning/IAccountRules.sol";
import {INodeRulesV1, INodeRulesV2} from "../../contracts/permissioning/INodeRules.sol";

/// @notice Besu's permissioning calls never revert and always answer one valid word, whatever
/// the arguments or the raw calldata.
contract PermissioningTest is ConsortiumBase {
    bytes32 private constant ALLOW = bytes32(type(uint256).max);
    bytes32 private constant DENY = bytes32(type(uint256).max >> 1);
    bytes32 private constant NODE_HIGH = keccak256("node-high");
    bytes32 private constant NODE_LOW = keccak256("node-low");

    AccountRules private accountRules;
    NodeRules private nodeRules;
    AccountIngress private accountIngress;
    NodeIngress private nodeIngress;
    address[] private accountTargets;
    address[] private nodeTargets;

    function setUp() public {
        _deployConsortium();
        bytes32[] memory kinds = new bytes32[](1);
        kinds[0] = "BANK";
        address[] memory consortium = new address[](1);
        consortium[0] = address(cases);
        accountRules = new AccountRules(registry, kinds, consortium);
        nodeRules = new NodeRules(registry);
        accountIngress = new AccountIngress(address(registry), address(accountRules));
        nodeIngress = new NodeIngress(address(registry), address(nodeRules));
        _pass(IParticipantRegistry.Action.AddNode, abi.encode(police.id, NODE_HIGH, NODE_LOW));
        accountTargets.push(address(accountRules));
        accountTargets.push(address(accountIngress));
        nodeTargets.push(address(nodeRules));
        nodeTargets.push(address(nodeIngress));
    }

    /// @notice transactionAllowed answers 0 or 1 for any arguments, 1 only for an active key.
    function testTransactionAllowedNeverReverts(
        address sender,
        address target,
        uint256 value,
        uint256 gasPrice,
        uint256 gasLimit,
        bytes calldata payload,
        bool knownSender
    ) public view {
        if (knownSender) sender = bank.key;
        bytes memory data = abi.encodeCall(
            IAccountRules.transactionAllowed,
            (sender, target, value, gasPrice, gasLimit, payload)
        );
        for (uint256 i = 0; i < accountTargets.length; ++i) {
            bytes32 answer = _boolAnswer(accountTargets[i], data);
            (, bool active) = registry.keyStatus(sender);
            if (answer == bytes32(uint256(1))) assertTrue(active, "allowed an inactive key");
            if (knownSender && target == address(cases)) assertEq(answer, bytes32(uint256(1)), "denied bank");
        }
    }

    /// @notice connectionAllowed v1 answers allow or deny for any arguments.
    function testConnectionAllowedV1NeverReverts(
        bytes32 sourceHigh,
        bytes32 sourceLow,
        bytes16 sourceIp,
        uint16 sourcePort,
        bytes32 destinationHigh,
        bytes32 destinationLow,
        bytes16 destinationIp,
        uint16 destinationPort,
        bool known
    ) public view {
        if (known) (sourceHigh, sourceLow) = (NODE_HIGH, NODE_LOW);
        bytes memory data = abi.encodeCall(
            INodeRulesV1.connectionAllowed,
            (
                sourceHigh,
                sourceLow,
                sourceIp,
                sourcePort,
                destinationHigh,
                destinationLow,
                destinationIp,
                destinationPort
            )
        );
        for (uint256 i = 0; i < nodeTargets.length; ++i) {
            (bool ok, bytes memory output) = nodeTargets[i].staticcall(data);
            assertTrue(ok && output.length == 32, "v1 reverted or answered more than a word");
            bytes32 answer = bytes32(output);
            assertTrue(answer == ALLOW || answer == DENY, "v1 answer is neither allow nor deny");
            (, bool destinationActive) = registry.nodeStatus(destinationHigh, destinationLow);
            if (!destinationActive) assertEq(answer, DENY, "v1 allowed an unregistered destination");
        }
    }

    /// @notice connectionAllowed v2 answers 0 or 1 for any strings and port.
    function testConnectionAllowedV2NeverReverts(
        string calldata enodeId,
        string calldata host,
        uint16 port
    ) public view {
        bytes memory data = abi.encodeCall(INodeRulesV2.connectionAllowed, (enodeId, host, port));
        for (uint256 i = 0; i < nodeTargets.length; ++i) {
            bytes32 answer = _boolAnswer(nodeTargets[i], data);
            if (bytes(enodeId).length != 128) assertEq(answer, bytes32(0), "v2 allowed a malformed enode id");
        }
    }

    /// @notice Raw calldata after each Besu selector: never a revert, always one valid word.
    function testRawCalldataNeverReverts(bytes calldata tail, uint8 which) public view {
        bytes4[3] memory selectors = [
            IAccountRules.transactionAllowed.selector,
            INodeRulesV1.connectionAllowed.selector,
            INodeRulesV2.connectionAllowed.selector
        ];
        bytes4 selector = selectors[which % 3];
        bytes memory data = abi.encodePacked(selector, tail);
        address[] storage targets = which % 3 == 0 ? accountTargets : nodeTargets;
        for (uint256 i = 0; i < targets.length; ++i) {
            (bool ok, bytes memory output) = targets[i].staticcall(data);
            assertTrue(ok && output.length == 32, "raw calldata reverted or answered more than a word");
            bytes32 answer = bytes32(output);
            if (which % 3 == 1) assertTrue(answer == ALLOW || answer == DENY, "v1 answer invalid");
            else assertTrue(uint256(answer) <= 1, "bool answer invalid");
        }
    }

    /// @notice Any calldata at all to the rules contracts: never a revert, always one word.
    function testAnyCalldataToRulesNeverReverts(bytes calldata data) public view {
        address[2] memory rules = [address(accountRules), address(nodeRules)];
        for (uint256 i = 0; i < 2; ++i) {
            (bool ok, bytes memory output) = rules[i].staticcall(data);
            assertTrue(ok && output.length == 32, "any calldata reverted or answered more than a word");
        }
    }

    /// @notice Whatever account rules a SetRules vote names, the council key executing it can still
    /// send a transaction to the registry afterwards: the switch happens only if it can.
    function testSetRulesNeverLocksOutTheExecutor(
        bool restrictAuditors,
        bool registryIsConsortium,
        bool alsoRestrictBanks,
        uint8 executorIndex
    ) public {
        bytes32[] memory kinds = new bytes32[](alsoRestrictBanks ? 2 : 1);
        kinds[0] = restrictAuditors ? bytes32("AUDITOR") : bytes32("TELECOM");
        if (alsoRestrictBanks) kinds[1] = "BANK";
        address[] memory consortium = new address[](1);
        consortium[0] = registryIsConsortium ? address(registry) : address(cases);
        address rules = address(new AccountRules(registry, kinds, consortium));
        AccountIngress ingress = new AccountIngress(address(registry), address(0));
        address executor = council[executorIndex % 3].key;

        vm.prank(council[0].key);
        uint256 id = registry.propose(IParticipantRegistry.Action.SetRules, abi.encode(ingress, rules), LIFETIME);
        vm.prank(council[1].key);
        registry.approve(id);
        vm.prank(executor);
        registry.execute(id);
        // A refusal by the ingress's probe fails the proposal (final); it never reverts execute.
        if (registry.proposal(id).status == IParticipantRegistry.ProposalStatus.Executed) {
            assertEq(ingress.rules(), rules, "executed without switching");
        } else {
            assertEq(
                uint8(registry.proposal(id).status),
                uint8(IParticipantRegistry.ProposalStatus.Failed),
                "neither executed nor failed"
            );
            assertEq(ingress.rules(), address(0), "refused yet switched");
            assertTrue(restrictAuditors && !registryIsConsortium, "refused rules that let the council in");
        }
        bytes memory asked = abi.encodeCall(
            IAccountRules.transactionAllowed,
            (executor, address(registry), 0, 0, 21_000, "")
        );
        assertEq(_boolAnswer(address(ingress), asked), bytes32(uint256(1)), "executor locked out");
    }

    function _boolAnswer(address target, bytes memory data) private view returns (bytes32 answer) {
        (bool ok, bytes memory output) = target.staticcall(data);
        assertTrue(ok && output.length == 32, "reverted or answered more than a word");
        answer = bytes32(output);
        assertTrue(uint256(answer) <= 1, "answer is not 0 or 1");
    }
}
