// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice The ERC-20 calls the predicate double makes.
interface IERC20Escrow {
    function transferFrom(address from, address to, uint256 amount) external returns (bool);
    function transfer(address to, uint256 amount) external returns (bool);
}

/// @notice What the root chain manager double asks of a predicate.
interface IPosPredicate {
    function lockTokens(address depositor, address depositReceiver, address rootToken, bytes calldata data) external;
    function exitTokens(address withdrawer, address rootToken, uint256 amount) external;
}

/// @notice Errors the Polygon PoS doubles share.
interface IPolygonPosDoubleErrors {
    /// @notice `caller` may not call this; only `expected` may.
    error PosUnauthorized(address caller, address expected);
    /// @notice A token transfer or an ETH payment the double made failed.
    error PosMoveFailed();
}

/// @title PosStateSenderDouble
/// @notice Test double of Polygon's StateSender on the root chain (pos-portal
/// contracts/root/StateSender/DummyStateSender.sol's event): each sync numbered by a counter.
contract PosStateSenderDouble {
    /// @notice State sync `id` of `data` to `contractAddress` on the child chain.
    event StateSynced(uint256 indexed id, address indexed contractAddress, bytes data);

    /// @notice The last id given.
    uint256 public counter;

    /// @notice Syncs `data` to `receiver` on the child chain.
    function syncState(address receiver, bytes calldata data) external {
        emit StateSynced(++counter, receiver, data);
    }
}

/// @title PosERC20PredicateDouble
/// @notice Test double of pos-portal's ERC20Predicate (contracts/root/TokenPredicates/ERC20Predicate.sol):
/// locks a deposit (LockedERC20, then the transfer into escrow) and pays an exit (the transfer,
/// then ExitedERC20). The real exitTokens reads the burn from an RLP-encoded log; the double is
/// given its fields.
contract PosERC20PredicateDouble is IPosPredicate, IPolygonPosDoubleErrors {
    /// @notice A deposit of `amount` of `rootToken` locked for `depositReceiver` on the child chain.
    event LockedERC20(
        address indexed depositor,
        address indexed depositReceiver,
        address indexed rootToken,
        uint256 amount
    );

    /// @notice A withdrawal of `amount` of `rootToken` paid to `exitor`.
    event ExitedERC20(address indexed exitor, address indexed rootToken, uint256 amount);

    /// @notice The root chain manager (the only caller).
    address public immutable manager;

    /// @param manager_ the root chain manager
    constructor(address manager_) {
        manager = manager_;
    }

    /// @inheritdoc IPosPredicate
    function lockTokens(
        address depositor,
        address depositReceiver,
        address rootToken,
        bytes calldata depositData
    ) external {
        if (msg.sender != manager) revert PosUnauthorized(msg.sender, manager);
        uint256 amount = abi.decode(depositData, (uint256));
        emit LockedERC20(depositor, depositReceiver, rootToken, amount);
        if (!IERC20Escrow(rootToken).transferFrom(depositor, address(this), amount)) revert PosMoveFailed();
    }

    /// @inheritdoc IPosPredicate
    function exitTokens(address withdrawer, address rootToken, uint256 amount) external {
        if (msg.sender != manager) revert PosUnauthorized(msg.sender, manager);
        if (!IERC20Escrow(rootToken).transfer(withdrawer, amount)) revert PosMoveFailed();
        emit ExitedERC20(withdrawer, rootToken, amount);
    }
}

/// @title PosEtherPredicateDouble
/// @notice Test double of pos-portal's EtherPredicate (contracts/root/TokenPredicates/EtherPredicate.sol):
/// LockedEther on a deposit (the manager forwards the ETH), ExitedEther then the payment on an exit.
contract PosEtherPredicateDouble is IPosPredicate, IPolygonPosDoubleErrors {
    /// @notice A deposit of `amount` ETH locked for `depositReceiver` on the child chain.
    event LockedEther(address indexed depositor, address indexed depositReceiver, uint256 amount);

    /// @notice A withdrawal of `amount` ETH paid to `exitor`.
    event ExitedEther(address indexed exitor, uint256 amount);

    /// @notice The root chain manager (the only caller).
    address public immutable manager;

    /// @param manager_ the root chain manager
    constructor(address manager_) {
        manager = manager_;
    }

    /// @notice Takes the ETH of deposits from the manager.
    receive() external payable {
        if (msg.sender != manager) revert PosUnauthorized(msg.sender, manager);
    }

    /// @inheritdoc IPosPredicate
    function lockTokens(address depositor, address depositReceiver, address, bytes calldata depositData) external {
        if (msg.sender != manager) revert PosUnauthorized(msg.sender, manager);
        emit LockedEther(depositor, depositReceiver, abi.decode(depositData, (uint256)));
    }

    /// @inheritdoc IPosPredicate
    function exitTokens(address withdrawer, address, uint256 amount) external {
        if (msg.sender != manager) revert PosUnauthorized(msg.sender, manager);
        emit ExitedEther(withdrawer, amount);
        (bool ok, ) = withdrawer.call{value: amount}("");
        if (!ok) revert PosMoveFailed();
    }
}

/// @title PosRootChainManagerDouble
/// @notice Test double of pos-portal's RootChainManager (contracts/root/RootChainManager/RootChainManager.sol):
/// a deposit has the token's predicate lock it, then syncs (DEPOSIT, user, rootToken, data) to the
/// child chain manager; ETH is forwarded to the ETH predicate after. An exit has the predicate pay
/// (the real one proves the child chain's burn against a checkpoint first).
contract PosRootChainManagerDouble is IPolygonPosDoubleErrors {
    /// @notice The sync type of a deposit.
    bytes32 public constant DEPOSIT = keccak256("DEPOSIT");
    /// @notice The root token that stands for ETH.
    address public constant ETHER_ADDRESS = 0xEeeeeEeeeEeEeeEeEeEeeEEEeeeeEeeeeeeeEEeE;

    /// @notice The state sender.
    PosStateSenderDouble public immutable stateSender;
    /// @notice The child chain manager, on the child chain.
    address public immutable childChainManager;
    /// @notice The ERC-20 and ETH predicates, set once by the deployer.
    IPosPredicate public erc20Predicate;
    IPosPredicate public etherPredicate;
    address private immutable deployer;

    /// @param stateSender_ the state sender
    /// @param childChainManager_ the child chain manager's address on the child chain
    constructor(PosStateSenderDouble stateSender_, address childChainManager_) {
        stateSender = stateSender_;
        childChainManager = childChainManager_;
        deployer = msg.sender;
    }

    /// @notice Sets the predicates (the deployer only).
    function setPredicates(IPosPredicate erc20, IPosPredicate eth) external {
        if (msg.sender != deployer) revert PosUnauthorized(msg.sender, deployer);
        erc20Predicate = erc20;
        etherPredicate = eth;
    }

    /// @notice Deposits the caller's `depositData` (an amount) of `rootToken` for `user` on the child chain.
    function depositFor(address user, address rootToken, bytes calldata depositData) external {
        _depositFor(erc20Predicate, user, rootToken, depositData);
    }

    /// @notice Deposits the ETH paid for `user` on the child chain.
    function depositEtherFor(address user) external payable {
        _depositFor(etherPredicate, user, ETHER_ADDRESS, abi.encode(msg.value));
        (bool ok, ) = address(etherPredicate).call{value: msg.value}("");
        if (!ok) revert PosMoveFailed();
    }

    /// @notice Pays a withdrawal of `amount` of `rootToken` (ETHER_ADDRESS for ETH) to `withdrawer`.
    function exit(address rootToken, address withdrawer, uint256 amount) external {
        (rootToken == ETHER_ADDRESS ? etherPredicate : erc20Predicate).exitTokens(withdrawer, rootToken, amount);
    }

    function _depositFor(IPosPredicate predicate, address user, address rootToken, bytes memory data) private {
        predicate.lockTokens(msg.sender, user, rootToken, data);
        stateSender.syncState(childChainManager, abi.encode(DEPOSIT, abi.encode(user, rootToken, data)));
    }
}

/// @title PosStateReceiverDouble
/// @notice Test double of Bor's StateReceiver (maticnetwork/genesis-contracts contracts/StateReceiver.sol):
/// commits each state sync by calling its receiver's onStateReceive, then emits StateCommitted.
contract PosStateReceiverDouble {
    /// @notice State sync `stateId` was delivered; `success` says whether its receiver accepted it.
    event StateCommitted(uint256 indexed stateId, bool success);

    /// @notice Delivers state syncs `firstId`, `firstId + 1`, … of `data` to `receiver` in one
    /// transaction, as Bor delivers a sprint's syncs.
    function commitStates(uint256 firstId, address receiver, bytes[] calldata data) external {
        for (uint256 i = 0; i < data.length; i++) {
            (bool success, ) = receiver.call(
                abi.encodeWithSignature("onStateReceive(uint256,bytes)", firstId + i, data[i])
            );
            emit StateCommitted(firstId + i, success);
        }
    }
}

/// @title PosChildTokenDouble
/// @notice Test double of pos-portal's ChildERC20 (contracts/child/ChildToken/ChildERC20.sol):
/// minted by the child chain manager on a deposit, burned by its holder to withdraw.
contract PosChildTokenDouble is ERC20, IPolygonPosDoubleErrors {
    /// @notice The child chain manager (the only minter).
    address public immutable childChainManager;

    /// @param name_ the token's name
    /// @param manager_ the child chain manager
    constructor(string memory name_, address manager_) ERC20(name_, name_) {
        childChainManager = manager_;
    }

    /// @notice Mints a deposit of `depositData` (an amount) to `user` (the child chain manager only).
    function deposit(address user, bytes calldata depositData) external {
        if (msg.sender != childChainManager) revert PosUnauthorized(msg.sender, childChainManager);
        _mint(user, abi.decode(depositData, (uint256)));
    }

    /// @notice Burns `amount` of the caller's: the withdrawal the root chain pays on exit.
    function withdraw(uint256 amount) external {
        _burn(msg.sender, amount);
    }
}

/// @title PosChildChainManagerDouble
/// @notice Test double of pos-portal's ChildChainManager (contracts/child/ChildChainManager/ChildChainManager.sol):
/// a synced deposit mints the child token mapped to its root token.
contract PosChildChainManagerDouble is IPolygonPosDoubleErrors {
    /// @notice The sync type of a deposit.
    bytes32 public constant DEPOSIT = keccak256("DEPOSIT");

    /// @notice The state receiver (the only caller of onStateReceive).
    address public immutable stateReceiver;
    /// @notice The child token of each root token.
    mapping(address rootToken => PosChildTokenDouble) public rootToChildToken;

    /// @param stateReceiver_ the state receiver
    constructor(address stateReceiver_) {
        stateReceiver = stateReceiver_;
    }

    /// @notice Maps `rootToken` to `childToken`.
    function mapToken(address rootToken, PosChildTokenDouble childToken) external {
        rootToChildToken[rootToken] = childToken;
    }

    /// @notice Receives a state sync: a deposit mints the child token to its user.
    function onStateReceive(uint256, bytes calldata data) external {
        if (msg.sender != stateReceiver) revert PosUnauthorized(msg.sender, stateReceiver);
        (bytes32 syncType, bytes memory syncData) = abi.decode(data, (bytes32, bytes));
        if (syncType != DEPOSIT) return;
        (address user, address rootToken, bytes memory depositData) = abi.decode(syncData, (address, address, bytes));
        rootToChildToken[rootToken].deposit(user, depositData);
    }
}
