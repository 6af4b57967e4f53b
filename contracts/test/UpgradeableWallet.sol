// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

/// @title UpgradeableWallet
/// @notice Test double of a proxy contract wallet: every call runs the current implementation's
/// code (DELEGATECALL), and its admin may switch the implementation. Its own code, hence its code
/// hash, is the same before and after an upgrade, which is what a signing key must not be.
contract UpgradeableWallet {
    /// @dev The EIP-1967 implementation slot: keccak256("eip1967.proxy.implementation") - 1.
    bytes32 private constant IMPLEMENTATION_SLOT = 0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc;

    /// @notice The account that may upgrade the wallet.
    address public immutable admin;

    /// @notice `caller` is not the admin.
    error NotAdmin(address caller);

    /// @param admin_ the account that may upgrade the wallet
    /// @param implementation_ the first implementation
    constructor(address admin_, address implementation_) {
        admin = admin_;
        _setImplementation(implementation_);
    }

    /// @notice Runs `implementation_`'s code from now on. Caller: the admin.
    function upgradeTo(address implementation_) external {
        if (msg.sender != admin) revert NotAdmin(msg.sender);
        _setImplementation(implementation_);
    }

    /// @notice Runs the implementation's code on any call.
    fallback() external {
        address implementation_;
        bytes32 slot = IMPLEMENTATION_SLOT;
        // solhint-disable-next-line no-inline-assembly
        assembly {
            implementation_ := sload(slot)
            calldatacopy(0, 0, calldatasize())
            let ok := delegatecall(gas(), implementation_, 0, calldatasize(), 0, 0)
            returndatacopy(0, 0, returndatasize())
            if iszero(ok) {
                revert(0, returndatasize())
            }
            return(0, returndatasize())
        }
    }

    function _setImplementation(address implementation_) private {
        bytes32 slot = IMPLEMENTATION_SLOT;
        // solhint-disable-next-line no-inline-assembly
        assembly {
            sstore(slot, implementation_)
        }
    }
}

/// @title AcceptAnySignature
/// @notice Test double of a malicious wallet (or wallet implementation): accepts every signature.
contract AcceptAnySignature is IERC1271 {
    /// @inheritdoc IERC1271
    function isValidSignature(bytes32, bytes calldata) external pure returns (bytes4) {
        return IERC1271.isValidSignature.selector;
    }
}

/// @title RekeyableWallet
/// @notice Test double of a wallet whose owner its owner may change: no proxy, same code for good,
/// yet it accepts another key's signatures after `setOwner`.
contract RekeyableWallet is IERC1271 {
    /// @notice The account whose ECDSA signatures the wallet accepts now.
    address public owner;

    /// @notice `caller` is not the owner.
    error NotOwner(address caller);

    /// @param owner_ the first owner
    constructor(address owner_) {
        owner = owner_;
    }

    /// @notice Accept `owner_`'s signatures from now on. Caller: the owner.
    function setOwner(address owner_) external {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        owner = owner_;
    }

    /// @inheritdoc IERC1271
    function isValidSignature(bytes32 hash, bytes calldata signature) external view returns (bytes4) {
        (address recovered, ECDSA.RecoverError error, ) = ECDSA.tryRecover(hash, signature);
        if (error == ECDSA.RecoverError.NoError && recovered == owner) return IERC1271.isValidSignature.selector;
        return 0xffffffff;
    }
}
