// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IParticipantRegistry} from "../registry/IParticipantRegistry.sol";
import {IAccountRules} from "./IAccountRules.sol";
import {BesuCalls} from "./BesuCalls.sol";

/// @title AccountRules
/// @notice Besu's account permissioning served from the participant registry: an active
/// participant's current signing keys may transact; keys of suspended or revoked participants,
/// removed keys and unknown accounts may not. A council vote therefore changes who may transact
/// in the block that executes it.
/// @dev Participants of a *restricted kind* (set at deployment) may only call the consortium's
/// contracts (also set at deployment; address(0) in that set lets them create contracts). To
/// change either set, the council deploys a new AccountRules and points the ingress at it with
/// a `SetRules` proposal: the configuration is as governed as the rules themselves.
///
/// `transactionAllowed` is served by the fallback, which reads its arguments leniently: any
/// calldata (short, malformed, another selector) gets the one-word answer 0, never a revert.
/// Its ABI is {IAccountRules}.
contract AccountRules {
    /// @notice The registry the rules read.
    IParticipantRegistry public immutable registry;

    mapping(bytes32 kind => bool) private _isRestrictedKind;
    mapping(address target => bool) private _isConsortiumContract;
    bytes32[] private _restrictedKinds;
    address[] private _consortiumContracts;

    /// @notice `account` has no code, where a contract is needed.
    error NotAContract(address account);

    /// @param registry_ the participant registry
    /// @param restrictedKinds_ kinds of participants limited to the consortium's contracts
    /// @param consortiumContracts_ the targets restricted participants may call (address(0):
    /// contract creation)
    constructor(
        IParticipantRegistry registry_,
        bytes32[] memory restrictedKinds_,
        address[] memory consortiumContracts_
    ) {
        if (address(registry_).code.length == 0) revert NotAContract(address(registry_));
        registry = registry_;
        for (uint256 i = 0; i < restrictedKinds_.length; ++i) {
            _isRestrictedKind[restrictedKinds_[i]] = true;
        }
        for (uint256 i = 0; i < consortiumContracts_.length; ++i) {
            _isConsortiumContract[consortiumContracts_[i]] = true;
        }
        _restrictedKinds = restrictedKinds_;
        _consortiumContracts = consortiumContracts_;
    }

    /// @notice Serves {IAccountRules-transactionAllowed}: answers abi.encode(bool) for any input.
    /// @dev Not view only because a fallback can't be; it writes nothing.
    fallback(bytes calldata input) external returns (bytes memory) {
        return abi.encode(_transactionAllowed(input));
    }

    /// @notice Kinds of participants limited to the consortium's contracts.
    function restrictedKinds() external view returns (bytes32[] memory) {
        return _restrictedKinds;
    }

    /// @notice The targets restricted participants may call (address(0): contract creation).
    function consortiumContracts() external view returns (address[] memory) {
        return _consortiumContracts;
    }

    function _transactionAllowed(bytes calldata input) private view returns (bool) {
        // transactionAllowed(address,address,uint256,uint256,uint256,bytes): five words and an offset.
        if (BesuCalls.selector(input) != IAccountRules.transactionAllowed.selector) return false;
        if (!BesuCalls.hasWords(input, 6)) return false;
        uint256 sender = BesuCalls.word(input, 0);
        uint256 target = BesuCalls.word(input, 1);
        if (sender >> 160 != 0 || target >> 160 != 0) return false;
        (bool wellFormed, ) = BesuCalls.dynamicArg(input, 5, 6);
        if (!wellFormed) return false;

        (uint32 participantId, bool active) = registry.keyStatus(address(uint160(sender)));
        if (!active) return false;
        if (_restrictedKinds.length == 0 || _isConsortiumContract[address(uint160(target))]) return true;
        return !_isRestrictedKind[registry.participant(participantId).kind];
    }
}
