// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice The ERC-20 calls the gateway doubles make.
interface IERC20Move {
    function transferFrom(address from, address to, uint256 amount) external returns (bool);
    function transfer(address to, uint256 amount) external returns (bool);
}

/// @notice Errors the Arbitrum doubles share.
interface IArbitrumDoubleErrors {
    /// @notice `caller` may not call this; only `expected` may.
    error ArbUnauthorized(address caller, address expected);
    /// @notice A token transfer or an ETH payment the double made failed.
    error ArbMoveFailed();
}

/// @title ArbTokenDouble
/// @notice An L2 token of Arbitrum's standard gateway (StandardArbERC20's `bridgeMint`/`bridgeBurn`):
/// only its gateway mints and burns.
contract ArbTokenDouble is ERC20, IArbitrumDoubleErrors {
    /// @notice The L2 gateway that mints on deposits and burns on withdrawals.
    address public immutable gateway;

    /// @param gateway_ the L2 gateway
    constructor(address gateway_) ERC20("Arbitrum token", "ARBT") {
        gateway = gateway_;
    }

    /// @notice Mints `amount` to `account` (gateway only).
    function bridgeMint(address account, uint256 amount) external {
        if (msg.sender != gateway) revert ArbUnauthorized(msg.sender, gateway);
        _mint(account, amount);
    }

    /// @notice Burns `amount` of `account` (gateway only).
    function bridgeBurn(address account, uint256 amount) external {
        if (msg.sender != gateway) revert ArbUnauthorized(msg.sender, gateway);
        _burn(account, amount);
    }
}

/// @title ArbSysDouble
/// @notice Test double of the ArbSys precompile (OffchainLabs/nitro-contracts
/// src/precompiles/ArbSys.sol): a message to L1 emits L2ToL1Tx with its hash and its position in
/// the send tree, and returns the hash, as Nitro does.
contract ArbSysDouble {
    /// @notice A message to L1: `position` is its leaf in the send tree, the Outbox's index of it.
    event L2ToL1Tx(
        address caller,
        address indexed destination,
        uint256 indexed hash,
        uint256 indexed position,
        uint256 arbBlockNum,
        uint256 ethBlockNum,
        uint256 timestamp,
        uint256 callvalue,
        bytes data
    );

    /// @notice The number of messages sent so far (the next position).
    uint256 public leaves;

    /// @notice Sends `data` with the value paid to `destination` on L1; returns the message's hash.
    function sendTxToL1(address destination, bytes calldata data) external payable returns (uint256) {
        return _send(destination, data);
    }

    /// @notice Withdraws the value paid to `destination` on L1 (sendTxToL1 without data).
    function withdrawEth(address destination) external payable returns (uint256) {
        return _send(destination, "");
    }

    function _send(address destination, bytes memory data) private returns (uint256 hash) {
        hash = uint256(
            keccak256(abi.encodePacked(msg.sender, destination, block.number, block.timestamp, msg.value, data))
        );
        emit L2ToL1Tx(
            msg.sender,
            destination,
            hash,
            leaves++,
            block.number,
            block.number,
            block.timestamp,
            msg.value,
            data
        );
    }
}

/// @title ArbBridgeDouble
/// @notice Test double of Arbitrum's Bridge (src/bridge/AbsBridge.sol): holds the ETH of deposits,
/// records delayed messages (MessageDelivered) and makes the Outbox's calls (BridgeCallTriggered
/// after the call, as the real one).
contract ArbBridgeDouble is IArbitrumDoubleErrors {
    /// @notice A delayed message from an inbox, numbered `messageIndex`.
    event MessageDelivered(
        uint256 indexed messageIndex,
        bytes32 indexed beforeInboxAcc,
        address inbox,
        uint8 kind,
        address sender,
        bytes32 messageDataHash,
        uint256 baseFeeL1,
        uint64 timestamp
    );

    /// @notice A call the outbox had the bridge make.
    event BridgeCallTriggered(address indexed outbox, address indexed to, uint256 value, bytes data);

    /// @notice The number of delayed messages (the next index).
    uint256 public delayedMessageCount;

    /// @notice Records a delayed message of `kind` from `sender`; returns its number.
    function enqueueDelayedMessage(
        uint8 kind,
        address sender,
        bytes32 messageDataHash
    ) external payable returns (uint256 index) {
        index = delayedMessageCount++;
        emit MessageDelivered(
            index,
            bytes32(0),
            msg.sender,
            kind,
            sender,
            messageDataHash,
            block.basefee,
            uint64(block.timestamp)
        );
    }

    /// @notice Calls `to` with `value` and `data` for the outbox.
    function executeCall(address to, uint256 value, bytes calldata data) external {
        (bool ok, ) = to.call{value: value}(data);
        if (!ok) revert ArbMoveFailed();
        emit BridgeCallTriggered(msg.sender, to, value, data);
    }

    /// @notice Takes ETH (the tests fund the bridge with it).
    receive() external payable {}
}

/// @title ArbInboxDouble
/// @notice Test double of Arbitrum's Inbox (src/bridge/Inbox.sol, AbsInbox.sol): an ETH deposit
/// and a retryable ticket, each a delayed message of the bridge announced by InboxMessageDelivered.
contract ArbInboxDouble {
    /// @notice A message added to the bridge's delayed inbox, with its data.
    event InboxMessageDelivered(uint256 indexed messageNum, bytes data);

    uint8 private constant KIND_ETH_DEPOSIT = 12;
    uint8 private constant KIND_SUBMIT_RETRYABLE = 9;
    uint160 private constant ALIAS_OFFSET = uint160(0x1111000000000000000000000000000000001111);

    /// @notice The bridge messages are delivered to.
    ArbBridgeDouble public immutable bridge;

    /// @param bridge_ the bridge
    constructor(ArbBridgeDouble bridge_) {
        bridge = bridge_;
    }

    /// @notice Deposits the value paid to the caller's account on L2.
    function depositEth() external payable returns (uint256) {
        return _deliver(KIND_ETH_DEPOSIT, abi.encodePacked(msg.sender, msg.value));
    }

    /// @notice A retryable ticket carrying `data` (what a gateway's deposit sends); returns its number.
    function createRetryableTicket(bytes calldata data) external payable returns (uint256) {
        return _deliver(KIND_SUBMIT_RETRYABLE, data);
    }

    function _deliver(uint8 kind, bytes memory data) private returns (uint256 messageNum) {
        address aliased;
        unchecked {
            // The L1 → L2 alias wraps around by design (AddressAliasHelper.applyL1ToL2Alias).
            aliased = address(uint160(msg.sender) + ALIAS_OFFSET);
        }
        messageNum = bridge.enqueueDelayedMessage{value: msg.value}(kind, aliased, keccak256(data));
        emit InboxMessageDelivered(messageNum, data);
    }
}

/// @title ArbOutboxDouble
/// @notice Test double of Arbitrum's Outbox (src/bridge/AbsOutbox.sol): executing an L2 → L1
/// message emits OutBoxTransactionExecuted with its index, then has the bridge make the call.
contract ArbOutboxDouble {
    /// @notice The message of leaf `transactionIndex` sent by `l2Sender` was executed towards `to`.
    event OutBoxTransactionExecuted(
        address indexed to,
        address indexed l2Sender,
        uint256 indexed zero,
        uint256 transactionIndex
    );

    /// @notice The bridge that makes the calls.
    ArbBridgeDouble public immutable bridge;

    /// @param bridge_ the bridge
    constructor(ArbBridgeDouble bridge_) {
        bridge = bridge_;
    }

    /// @notice Executes message `index` from `l2Sender`: a call of `to` with `value` and `data`.
    function executeTransaction(
        uint256 index,
        address l2Sender,
        address to,
        uint256 value,
        bytes calldata data
    ) external {
        emit OutBoxTransactionExecuted(to, l2Sender, 0, index);
        bridge.executeCall(to, value, data);
    }
}

/// @title ArbL1GatewayDouble
/// @notice Test double of L1ERC20Gateway (token-bridge-contracts
/// contracts/tokenbridge/ethereum/gateway/L1ArbitrumGateway.sol): a deposit escrows the tokens,
/// creates a retryable ticket and emits DepositInitiated with its sequence number; a withdrawal
/// finalized by the bridge pays the tokens out of escrow and emits WithdrawalFinalized.
contract ArbL1GatewayDouble is IArbitrumDoubleErrors {
    /// @notice A deposit to L2, numbered by its retryable ticket's `_sequenceNumber`.
    event DepositInitiated(
        address l1Token,
        address indexed _from,
        address indexed _to,
        uint256 indexed _sequenceNumber,
        uint256 _amount
    );

    /// @notice A withdrawal from L2 paid out, numbered by the L2 gateway's `_exitNum`.
    event WithdrawalFinalized(
        address l1Token,
        address indexed _from,
        address indexed _to,
        uint256 indexed _exitNum,
        uint256 _amount
    );

    /// @notice The inbox deposits go through.
    ArbInboxDouble public immutable inbox;
    /// @notice The bridge that delivers withdrawals.
    address public immutable bridge;

    /// @param inbox_ the inbox
    constructor(ArbInboxDouble inbox_) {
        inbox = inbox_;
        bridge = address(inbox_.bridge());
    }

    /// @notice Deposits `amount` of `l1Token` of the caller for `to` on L2.
    function outboundTransfer(address l1Token, address to, uint256 amount) external returns (uint256 seqNum) {
        if (!IERC20Move(l1Token).transferFrom(msg.sender, address(this), amount)) revert ArbMoveFailed();
        seqNum = inbox.createRetryableTicket(abi.encode(l1Token, msg.sender, to, amount));
        emit DepositInitiated(l1Token, msg.sender, to, seqNum, amount);
    }

    /// @notice Pays a withdrawal out of escrow (the bridge only); `data` encodes the exit number.
    function finalizeInboundTransfer(
        address token,
        address from,
        address to,
        uint256 amount,
        bytes calldata data
    ) external payable {
        if (msg.sender != bridge) revert ArbUnauthorized(msg.sender, bridge);
        (uint256 exitNum, ) = abi.decode(data, (uint256, bytes));
        if (!IERC20Move(token).transfer(to, amount)) revert ArbMoveFailed();
        emit WithdrawalFinalized(token, from, to, exitNum, amount);
    }
}

/// @title ArbL2GatewayDouble
/// @notice Test double of L2ERC20Gateway (contracts/tokenbridge/arbitrum/gateway/L2ArbitrumGateway.sol):
/// a deposit mints the L2 token and emits DepositFinalized; a withdrawal burns it, sends the
/// L1 gateway's finalizeInboundTransfer through ArbSys and emits WithdrawalInitiated with the
/// message's id and the exit number.
contract ArbL2GatewayDouble {
    /// @notice A deposit from L1 minted on L2.
    event DepositFinalized(address indexed l1Token, address indexed _from, address indexed _to, uint256 _amount);

    /// @notice A withdrawal to L1: `_l2ToL1Id` is ArbSys's hash of the message.
    event WithdrawalInitiated(
        address l1Token,
        address indexed _from,
        address indexed _to,
        uint256 indexed _l2ToL1Id,
        uint256 _exitNum,
        uint256 _amount
    );

    /// @notice ArbSys (the precompile's double).
    ArbSysDouble public immutable arbSys;
    /// @notice The L1 gateway withdrawals are sent to.
    address public immutable counterpartGateway;
    /// @notice The next exit number.
    uint256 public exitNum;
    /// @notice The L2 token of each L1 token.
    mapping(address l1Token => ArbTokenDouble) public l2TokenOf;

    /// @param arbSys_ ArbSys
    /// @param counterpartGateway_ the L1 gateway
    constructor(ArbSysDouble arbSys_, address counterpartGateway_) {
        arbSys = arbSys_;
        counterpartGateway = counterpartGateway_;
    }

    /// @notice Names the L2 token of `l1Token`.
    function setToken(address l1Token, ArbTokenDouble l2Token) external {
        l2TokenOf[l1Token] = l2Token;
    }

    /// @notice Finalizes a deposit from L1: mints the L2 token to `to`.
    function finalizeInboundTransfer(address l1Token, address from, address to, uint256 amount) external {
        l2TokenOf[l1Token].bridgeMint(to, amount);
        emit DepositFinalized(l1Token, from, to, amount);
    }

    /// @notice Withdraws `amount` of the caller's L2 token of `l1Token` to `to` on L1.
    function outboundTransfer(address l1Token, address to, uint256 amount) external returns (uint256 id) {
        l2TokenOf[l1Token].bridgeBurn(msg.sender, amount);
        uint256 currExitNum = exitNum++;
        id = arbSys.sendTxToL1(
            counterpartGateway,
            abi.encodeCall(
                ArbL1GatewayDouble.finalizeInboundTransfer,
                (l1Token, msg.sender, to, amount, abi.encode(currExitNum, bytes("")))
            )
        );
        emit WithdrawalInitiated(l1Token, msg.sender, to, id, currExitNum, amount);
    }
}
