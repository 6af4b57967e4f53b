// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title KeyCode
/// @notice What the registry pins of a signing key's code, and the check that a contract key's
/// behaviour is fixed by that code.
/// @dev A key's signature check (ERC-1271 `isValidSignature`) runs the key's code against the
/// key's storage. Pinning the code hash fixes the code; it does not fix the storage, and a proxy
/// keeps its code hash while its implementation changes. So a contract key is admitted only if
/// its code can never change its own storage or run other code in its own context: no SSTORE,
/// TSTORE, DELEGATECALL or CALLCODE anywhere it could execute. Its storage is then the one its
/// constructor left, for good, and the pinned code hash pins its behaviour up to what the code
/// itself reads (block values, balances, other contracts it calls): that part the council reads
/// in the code whose hash it pins.
library KeyCode {
    /// @notice The code hash to pin for `key`: zero while it has no code (an EOA, or an account
    /// with no code yet), else `key.codehash`.
    /// @dev EXTCODEHASH answers zero for an empty account and keccak256("") for an EOA that
    /// holds ether or sent a transaction; both mean "no code" here, so funding an EOA key does not
    /// change its pin.
    function current(address key) internal view returns (bytes32) {
        return key.code.length == 0 ? bytes32(0) : key.codehash;
    }

    /// @notice The first instruction of `code` that could change the key's behaviour while its
    /// code stays the same, as (found, offset, opcode).
    /// @dev Reads the code as the EVM's jump analysis does (push data skipped), so every
    /// instruction that can execute is seen. Bytes after a halting instruction and before the next
    /// JUMPDEST can't execute and are not judged: that is where Solidity's metadata sits. Code
    /// starting with 0xEF (an EIP-7702 delegation designator, or EOF) runs other code than its
    /// own, which can change without its code hash changing: refused at offset 0.
    function firstMutation(bytes memory code) internal pure returns (bool found, uint256 offset, uint8 opcode) {
        uint256 n = code.length;
        if (n > 0 && uint8(code[0]) == 0xef) return (true, 0, 0xef);
        bool reachable = true;
        for (uint256 i = 0; i < n;) {
            uint8 op = uint8(code[i]);
            if (op == 0x5b) {
                reachable = true; // JUMPDEST: a jump may land here
            } else if (reachable) {
                // SSTORE, TSTORE, CALLCODE, DELEGATECALL
                if (op == 0x55 || op == 0x5d || op == 0xf2 || op == 0xf4) return (true, i, op);
                // STOP, JUMP, RETURN, REVERT, INVALID, SELFDESTRUCT: the next byte runs only if jumped to
                if (op == 0x00 || op == 0x56 || op == 0xf3 || op == 0xfd || op == 0xfe || op == 0xff) {
                    reachable = false;
                }
            }
            // PUSH1..PUSH32 carry 1..32 bytes of data; i < n ≤ 2^24 (EIP-170), so no overflow.
            unchecked {
                i += op >= 0x60 && op <= 0x7f ? op - 0x5e : 1;
            }
        }
    }
}
