// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IParticipantRegistry} from "../../contracts/registry/IParticipantRegistry.sol";
import {ParticipantRegistry} from "../../contracts/registry/ParticipantRegistry.sol";
import {CaseRegistry} from "../../contracts/cases/CaseRegistry.sol";
import {AccessLedger} from "../../contracts/access/AccessLedger.sol";
import {IAccessLedger} from "../../contracts/access/IAccessLedger.sol";
import {AccessLogAnchor} from "../../contracts/access/AccessLogAnchor.sol";

/// @notice The cheatcodes these tests use. Hardhat's EDR serves Foundry's cheatcodes at this
/// address; forge-std is not available, so the interface is declared here.
interface Vm {
    function prank(address sender) external;
    function startPrank(address sender) external;
    function stopPrank() external;
    function expectRevert(bytes calldata revertData) external;
    function warp(uint256 timestamp) external;
    function assume(bool condition) external pure;
    function addr(uint256 privateKey) external pure returns (address);
    function sign(uint256 privateKey, bytes32 digest) external pure returns (uint8 v, bytes32 r, bytes32 s);
}

/// @notice Cheatcodes and assertions shared by tests and handlers. An assertion that fails
/// reverts with a custom error naming the rule, so the runner prints which rule broke.
abstract contract TestBase {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    /// @notice The functions of `addr` the invariant fuzzer may call (Foundry's
    /// `targetSelectors()` hook, which Hardhat's runner reads like `targetContracts()`).
    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    /// @notice The rule `what` does not hold.
    error AssertionFailed(string what);
    /// @notice The rule `what` expected `expected` and saw `actual`.
    error AssertionEqFailed(string what, uint256 actual, uint256 expected);
    /// @notice The rule `what` expected `expected` and saw `actual`.
    error AssertionEqBytes32Failed(string what, bytes32 actual, bytes32 expected);

    function assertTrue(bool condition, string memory what) internal pure {
        if (!condition) revert AssertionFailed(what);
    }

    function assertEq(uint256 actual, uint256 expected, string memory what) internal pure {
        if (actual != expected) revert AssertionEqFailed(what, actual, expected);
    }

    function assertEq(bytes32 actual, bytes32 expected, string memory what) internal pure {
        if (actual != expected) revert AssertionEqBytes32Failed(what, actual, expected);
    }

    function assertEq(address actual, address expected, string memory what) internal pure {
        assertEq(uint256(uint160(actual)), uint256(uint160(expected)), what);
    }

    /// @dev An elapsed time for clock tests: one time in four within a second of `boundary`
    /// (where off-by-one errors in expiry checks show), else anything in [0, max].
    function nearBoundary(uint256 seed, uint256 boundary, uint256 max) internal pure returns (uint256) {
        if (seed % 4 == 0 && boundary > 0) return boundary - 1 + ((seed >> 2) % 3);
        return bound(seed >> 2, 0, max);
    }

    /// @dev Maps any `x` into [lo, hi] (inclusive), spreading values evenly enough for fuzzing.
    function bound(uint256 x, uint256 lo, uint256 hi) internal pure returns (uint256) {
        if (lo == 0 && hi == type(uint256).max) return x;
        return lo + (x % (hi - lo + 1));
    }
}

/// @notice A deployed consortium: three AUDITOR founders on the council (quorum 2), then a
/// POLICE, a PROSECUTOR, a BANK and a TELECOM participant admitted by proposal, like the
/// TypeScript fixture. Keys are derived from small private keys so tests can sign.
abstract contract ConsortiumBase is TestBase {
    /// @notice A participant as the tests see it: its id and one signing key.
    struct Member {
        uint32 id;
        uint256 pk;
        address key;
    }

    uint40 internal constant LIFETIME = 7 days;
    /// @dev Tests start from a realistic clock rather than the runner's default.
    uint256 internal constant START = 1_700_000_000;

    ParticipantRegistry internal registry;
    CaseRegistry internal cases;
    AccessLedger internal ledger;
    AccessLogAnchor internal anchorLog;

    Member[] internal council;
    Member internal police;
    Member internal prosecutor;
    Member internal bank;
    Member internal telecom;

    function _deployConsortium() internal {
        vm.warp(START);
        IParticipantRegistry.Founder[] memory founders = new IParticipantRegistry.Founder[](3);
        for (uint256 i = 0; i < 3; ++i) {
            uint256 pk = 0xC0 + i;
            founders[i] = IParticipantRegistry.Founder({
                kind: "AUDITOR",
                metadataCommitment: keccak256(abi.encode("founder", i)),
                signingKey: vm.addr(pk)
            });
            council.push(Member({id: uint32(i + 1), pk: pk, key: vm.addr(pk)}));
        }
        registry = new ParticipantRegistry(founders, 2);
        cases = new CaseRegistry(registry);
        ledger = new AccessLedger(registry, cases);
        anchorLog = new AccessLogAnchor(registry, cases);
        police = _admit("POLICE", 0xA1);
        prosecutor = _admit("PROSECUTOR", 0xA2);
        bank = _admit("BANK", 0xA3);
        telecom = _admit("TELECOM", 0xA4);
    }

    /// @dev Proposal by council[0], approval by council[1], execution.
    function _pass(IParticipantRegistry.Action action, bytes memory args) internal returns (uint256 proposalId) {
        vm.prank(council[0].key);
        proposalId = registry.propose(action, args, LIFETIME);
        vm.prank(council[1].key);
        registry.approve(proposalId);
        registry.execute(proposalId);
        // A failing action no longer reverts execute: it marks the proposal Failed.
        assertTrue(registry.proposal(proposalId).status == IParticipantRegistry.ProposalStatus.Executed, "executed");
    }

    function _admit(bytes32 kind, uint256 pk) internal returns (Member memory m) {
        address key = vm.addr(pk);
        _pass(IParticipantRegistry.Action.Admit, abi.encode(kind, keccak256(abi.encode(kind, key)), key));
        m = Member({id: registry.participantCount(), pk: pk, key: key});
    }

    /// @dev Opens a case by `police` with scope `scope`, approved by `prosecutor` unless told not to.
    function _openCase(bytes32 number, uint256 scope, uint40 expiresAt, bool approve) internal returns (uint256 id) {
        vm.prank(police.key);
        id = cases.openCase(number, keccak256(abi.encode("legal basis", number)), scope, expiresAt);
        if (approve) {
            vm.prank(prosecutor.key);
            cases.approveCase(id);
        }
    }

    /// @dev One party's EIP-712 signature of `digest`, as the ledger expects it.
    function _sign(Member memory m, bytes32 digest) internal pure returns (IAccessLedger.PartySignature memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(m.pk, digest);
        return IAccessLedger.PartySignature({signer: m.key, signature: abi.encodePacked(r, s, v)});
    }
}
