// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title TornadoPoolDouble
/// @notice Test double of a Tornado Cash native-coin pool (tornadocash/tornado-core, contracts/Tornado.sol and
/// ETHTornado.sol): a deposit takes exactly the denomination and emits Deposit; a withdrawal pays the recipient the
/// denomination minus the fee, the relayer the fee, and emits Withdrawal. No proof is checked: the double tests the
/// events and the payments, not the mixer.
contract TornadoPoolDouble {
    /// @notice Deposit of `commitment` as leaf `leafIndex`, at `timestamp` (the block's).
    event Deposit(bytes32 indexed commitment, uint32 leafIndex, uint256 timestamp);

    /// @notice Withdrawal to `to` of the note whose nullifier hashes to `nullifierHash`; `relayer` got `fee`.
    event Withdrawal(address to, bytes32 nullifierHash, address indexed relayer, uint256 fee);

    /// @notice The deposit's value was not the denomination.
    error WrongDenomination(uint256 sent, uint256 denomination);

    /// @notice The fee is above the denomination.
    error FeeExceedsDenomination(uint256 fee, uint256 denomination);

    /// @notice A payment failed.
    error PaymentFailed(address to, uint256 amount);

    /// @notice The amount each deposit takes and each withdrawal pays out, as Tornado's `denomination`.
    uint256 public immutable denomination;

    /// @notice The next leaf's index.
    uint32 public nextIndex;

    /// @param denomination_ the pool's fixed amount, in wei
    constructor(uint256 denomination_) {
        denomination = denomination_;
    }

    /// @notice Deposits the denomination for `commitment`; emits Deposit.
    function deposit(bytes32 commitment) external payable {
        if (msg.value != denomination) revert WrongDenomination(msg.value, denomination);
        uint32 index = nextIndex++;
        emit Deposit(commitment, index, block.timestamp);
    }

    /// @notice Pays `recipient` the denomination minus `fee` and `relayer` the fee; emits Withdrawal.
    function withdraw(bytes32 nullifierHash, address payable recipient, address payable relayer, uint256 fee) external {
        if (fee > denomination) revert FeeExceedsDenomination(fee, denomination);
        emit Withdrawal(recipient, nullifierHash, relayer, fee);
        _pay(recipient, denomination - fee);
        if (fee > 0) _pay(relayer, fee);
    }

    function _pay(address payable to, uint256 amount) private {
        (bool ok, ) = to.call{value: amount}("");
        if (!ok) revert PaymentFailed(to, amount);
    }
}
