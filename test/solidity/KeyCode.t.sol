// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {TestBase} from "./Base.sol";
import {KeyCode} from "../../contracts/registry/KeyCode.sol";

/// @notice KeyCode.firstMutation finds every instruction that could execute and change a key's
/// behaviour, and judges no byte that can't execute (push data, dead code before a JUMPDEST).
contract KeyCodeTest is TestBase {
    uint8[4] private FORBIDDEN = [0x55, 0x5d, 0xf2, 0xf4]; // SSTORE, TSTORE, CALLCODE, DELEGATECALL
    uint8[6] private HALTS = [0x00, 0x56, 0xf3, 0xfd, 0xfe, 0xff];

    /// @notice A forbidden instruction reached after any prefix of harmless instructions is found
    /// at its offset.
    function testFindsAReachableForbiddenOpcode(uint8 prefixLength, uint8 which, bytes calldata tail) public view {
        bytes memory prefix = new bytes(prefixLength % 64);
        for (uint256 i = 0; i < prefix.length; ++i) prefix[i] = 0x5b; // JUMPDEST: harmless, reachable
        uint8 op = FORBIDDEN[which % 4];
        (bool found, uint256 offset, uint8 opcode) = KeyCode.firstMutation(abi.encodePacked(prefix, op, tail));
        assertTrue(found, "missed a reachable forbidden opcode");
        assertEq(offset, prefix.length, "wrong offset");
        assertEq(opcode, op, "wrong opcode");
    }

    /// @notice Push data is never read as instructions, whatever it holds.
    function testSkipsPushData(bytes32 data, uint8 width) public pure {
        uint8 n = (width % 32) + 1;
        bytes memory code = abi.encodePacked(uint8(0x5f + n), _take(data, n), uint8(0x00));
        (bool found, , ) = KeyCode.firstMutation(code);
        assertTrue(!found, "read push data as an instruction");
    }

    /// @notice After a halting instruction, bytes up to the next JUMPDEST can't run; from the
    /// JUMPDEST on they can.
    function testDeadCodeUntilJumpdest(uint8 halt, uint8 which) public view {
        uint8 op = FORBIDDEN[which % 4];
        bytes memory dead = abi.encodePacked(HALTS[halt % 6], op, op);
        (bool found, , ) = KeyCode.firstMutation(dead);
        assertTrue(!found, "judged dead code");
        (bool alive, uint256 offset, ) = KeyCode.firstMutation(abi.encodePacked(dead, uint8(0x5b), op));
        assertTrue(alive, "missed code after a JUMPDEST");
        assertEq(offset, 4, "wrong offset after a JUMPDEST");
    }

    /// @notice Code starting with 0xEF (an EIP-7702 delegation designator, or EOF) is refused at 0.
    function testRefusesDelegationDesignator(address target) public pure {
        (bool found, uint256 offset, uint8 opcode) = KeyCode.firstMutation(abi.encodePacked(hex"ef0100", target));
        assertTrue(found && offset == 0 && opcode == 0xef, "accepted a delegation designator");
    }

    function _take(bytes32 data, uint8 n) private pure returns (bytes memory out) {
        out = new bytes(n);
        for (uint256 i = 0; i < n; ++i) out[i] = data[i];
    }
}
