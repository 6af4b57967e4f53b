// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

/// @title ERC1271Wallet
/// @notice Test double of a contract wallet: it accepts a digest signed by its owner's key.
/// @dev The digest is checked as given (no EIP-191 prefix), so the owner signs exactly what
/// the verifying contract computed, e.g. an EIP-712 digest produced by `signTypedData`.
contract ERC1271Wallet is IERC1271 {
    /// @notice The account whose ECDSA signatures this wallet accepts.
    address public immutable owner;

    /// @param owner_ the account whose signatures the wallet accepts
    constructor(address owner_) {
        owner = owner_;
    }

    /// @inheritdoc IERC1271
    function isValidSignature(bytes32 hash, bytes calldata signature) external view returns (bytes4) {
        (address recovered, ECDSA.RecoverError error, ) = ECDSA.tryRecover(hash, signature);
        if (error == ECDSA.RecoverError.NoError && recovered == owner) return IERC1271.isValidSignature.selector;
        return 0xffffffff;
    }
}
