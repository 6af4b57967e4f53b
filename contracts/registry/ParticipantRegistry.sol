// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IParticipantRegistry} from "./IParticipantRegistry.sol";
import {IRulesIngress, ACCOUNT_INGRESS, NODE_INGRESS} from "../permissioning/IRulesIngress.sol";
import {KeyCode} from "./KeyCode.sol";

/// @title ParticipantRegistry
/// @notice Institutions, their signing keys and the council that governs both. Every
/// membership change is a proposal that takes effect only once a quorum of the current
/// council approved it, in the state it was proposed in (see {Proposal.context}).
contract ParticipantRegistry is IParticipantRegistry {
    /// @notice Upper bound on the council's size, so that counting approvals stays cheap.
    uint256 public constant MAX_COUNCIL = 32;
    /// @notice Shortest lifetime of a proposal.
    uint40 public constant MIN_PROPOSAL_LIFETIME = 1 hours;
    /// @notice Longest lifetime of a proposal. A week is enough for a council to vote; beyond it,
    /// approvals given on a situation that has moved on would stay executable for too long (the
    /// context binding voids a proposal whose own subject changed, but not every change around it).
    uint40 public constant MAX_PROPOSAL_LIFETIME = 7 days;
    /// @notice How long one member's pause lasts unless a quorum extends or lifts it: long enough
    /// for the council to meet, short enough that a member that never votes again can't stop the
    /// consortium for good.
    uint40 public constant PAUSE_DURATION = 72 hours;
    /// @notice After pausing, a member may not pause again for this long (from its pause's start),
    /// so it can't chain pauses while the council votes to remove it.
    uint40 public constant PAUSE_COOLDOWN = 14 days;
    /// @notice The longest extension one ExtendPause proposal may give, from its execution.
    uint32 public constant MAX_PAUSE_EXTENSION = 30 days;

    /// @notice The block this registry was deployed in: where indexers start reading the
    /// consortium's events (the other contracts are deployed after it).
    uint256 public immutable deploymentBlock;

    mapping(uint32 participantId => Participant) private _participants;
    mapping(address key => SigningKey) private _keys;
    mapping(uint256 proposalId => Proposal) private _proposals;
    mapping(bytes32 enodeHash => uint32 participantId) private _nodeOwners;
    /// @dev The council seat a participant approved with. A seat number is given each time a
    /// participant joins the council, so approvals made before it left never count again.
    mapping(uint256 proposalId => mapping(uint32 participantId => uint64 seat)) private _approvedWith;
    mapping(uint32 participantId => uint64 seat) private _seat;
    uint64 private _seatCount;

    /// @dev The versions the proposals' contexts are made of (see {_context}); each only grows.
    struct Versions {
        /// The number of proposals executed so far.
        uint256 executions;
        /// For keccak256(abi.encode(action, args)): the `executions` count of the last proposal
        /// with that action and those arguments to execute (0: none yet).
        mapping(bytes32 actionKey => uint256 execution) lastExecution;
        /// Bumped on every status change and council seat change of the participant.
        mapping(uint32 participantId => uint64 version) participant;
        /// Bumped on every registration and removal of the node.
        mapping(bytes32 enodeHash => uint64 version) node;
        /// Bumped on every change of the council's members or quorum.
        uint64 council;
    }

    /// @dev The emergency pause.
    struct Pause {
        /// A pause is in force while block.timestamp < until.
        uint40 until;
        /// The number of pauses ever begun: the version Unpause and ExtendPause are bound to.
        uint64 count;
        /// When each member last paused (0: never).
        mapping(uint32 participantId => uint40 time) lastPausedAt;
    }

    uint32[] private _council;
    uint16 private _quorum;
    uint32 private _participantCount;
    uint256 private _proposalCount;
    Versions private _versions;
    Pause private _pause;

    /// @param founders the founding council members, admitted as active participants
    /// @param quorum approvals a proposal needs (1 ≤ quorum ≤ founders.length)
    constructor(Founder[] memory founders, uint16 quorum) {
        deploymentBlock = block.number;
        if (founders.length > MAX_COUNCIL) revert CouncilTooLarge(MAX_COUNCIL);
        if (quorum == 0 || quorum > founders.length) revert InvalidQuorum(quorum, founders.length);
        for (uint256 i = 0; i < founders.length; ++i) {
            uint32 id = _admit(founders[i].kind, founders[i].metadataCommitment, founders[i].signingKey, 0);
            _seatOnCouncil(id);
        }
        _quorum = quorum;
        emit CouncilChanged(_council, quorum, 0);
    }

    // ------------------------------------------------------------------ council actions

    /// @inheritdoc IParticipantRegistry
    function propose(Action action, bytes calldata args, uint40 lifetime) external returns (uint256 proposalId) {
        uint32 proposer = _requireCouncilCaller();
        if (lifetime < MIN_PROPOSAL_LIFETIME || lifetime > MAX_PROPOSAL_LIFETIME) {
            revert InvalidProposalLifetime(lifetime, MIN_PROPOSAL_LIFETIME, MAX_PROPOSAL_LIFETIME);
        }
        _checkArgs(action, args);
        if (action == Action.Unpause || action == Action.ExtendPause) {
            // A pause decision answers the pause in force, and only that one (see {_context}).
            if (!paused()) revert NotPaused();
            if (action == Action.ExtendPause) {
                uint32 duration = uint32(bytes4(args[28:32]));
                if (duration == 0 || duration > MAX_PAUSE_EXTENSION) {
                    revert InvalidPauseExtension(duration, MAX_PAUSE_EXTENSION);
                }
            }
        } else if (action == Action.CancelProposal) {
            _requireOpenProposal(uint256(bytes32(args)));
        }
        proposalId = ++_proposalCount;
        uint40 expiresAt = uint40(block.timestamp) + lifetime;
        _proposals[proposalId] = Proposal({
            action: action,
            proposer: proposer,
            createdAt: uint40(block.timestamp),
            expiresAt: expiresAt,
            status: ProposalStatus.Pending,
            context: _context(action, args),
            args: args
        });
        _approvedWith[proposalId][proposer] = _seat[proposer];
        emit ProposalCreated(proposalId, proposer, action, args, expiresAt, msg.sender);
    }

    /// @inheritdoc IParticipantRegistry
    function approve(uint256 proposalId) external {
        uint32 approver = _requireCouncilCaller();
        _requireCurrentProposal(proposalId);
        if (_approvedWith[proposalId][approver] == _seat[approver]) revert AlreadyApproved(proposalId, approver);
        _approvedWith[proposalId][approver] = _seat[approver];
        emit ProposalApproved(proposalId, approver, msg.sender);
    }

    /// @inheritdoc IParticipantRegistry
    function withdrawApproval(uint256 proposalId) external {
        uint32 member = _requireCouncilCaller();
        Proposal storage p = _requireOpenProposal(proposalId);
        if (member == p.proposer) revert ProposerCannotWithdraw(proposalId);
        if (!_hasApproved(proposalId, member)) revert NotApproved(proposalId, member);
        delete _approvedWith[proposalId][member];
        emit ApprovalWithdrawn(proposalId, member, msg.sender);
    }

    /// @inheritdoc IParticipantRegistry
    function cancel(uint256 proposalId) external {
        uint32 member = _requireCouncilCaller();
        Proposal storage p = _requireOpenProposal(proposalId);
        uint256 others = approvalCount(proposalId);
        // The proposer's own approval counts only while it holds the seat it proposed from.
        if (_hasApproved(proposalId, p.proposer)) --others;
        if (member != p.proposer || others != 0) revert CancelNotAllowed(proposalId, member, others);
        p.status = ProposalStatus.Cancelled;
        emit ProposalCancelled(proposalId, member, 0, msg.sender);
    }

    /// @inheritdoc IParticipantRegistry
    function execute(uint256 proposalId) external {
        Proposal storage p = _requireOpenProposal(proposalId);
        uint256 approvals = approvalCount(proposalId);
        if (approvals < _quorum) revert QuorumNotReached(proposalId, approvals, _quorum);
        Action action = p.action;
        // Who executes a SetRules matters (the ingress probes the new rules with that key), so a
        // wrong executor is refused without failing the proposal: anyone could otherwise fail it.
        if (action == Action.SetRules) {
            uint32 executor = _activeKeyOwner(msg.sender);
            if (!_isCouncilMember(executor)) revert NotCouncilMember(executor);
        }
        bytes memory args = p.args;
        if (_context(action, args) != p.context) {
            // Final, like a revert of the action: the state the approvals were given in is gone
            // for good, since every version in the context only grows.
            p.status = ProposalStatus.Failed;
            emit ProposalFailed(proposalId, abi.encodeWithSelector(ProposalStale.selector, proposalId), msg.sender);
            return;
        }
        // Set before the call, so that the action can't execute its own proposal again.
        p.status = ProposalStatus.Executed;
        try this.applyProposal(proposalId, action, args, msg.sender) {
            _versions.lastExecution[_actionKey(action, args)] = ++_versions.executions;
        } catch (bytes memory reason) {
            // Out of gas leaves no data: a caller must not be able to fail a proposal by starving it.
            if (reason.length == 0) revert ExecutionRevertedWithoutReason(proposalId);
            p.status = ProposalStatus.Failed;
            emit ProposalFailed(proposalId, reason, msg.sender);
        }
    }

    /// @inheritdoc IParticipantRegistry
    function applyProposal(uint256 proposalId, Action action, bytes calldata args, address executor) external {
        if (msg.sender != address(this)) revert OnlyRegistry(msg.sender);
        _apply(proposalId, action, args, executor);
    }

    /// @inheritdoc IParticipantRegistry
    function pause() external {
        uint32 member = _requireCouncilCaller();
        if (paused()) revert EmergencyPauseActive();
        uint40 last = _pause.lastPausedAt[member];
        if (last != 0 && block.timestamp < last + PAUSE_COOLDOWN) revert PauseCooldown(member, last + PAUSE_COOLDOWN);
        uint40 until = uint40(block.timestamp) + PAUSE_DURATION;
        _pause.lastPausedAt[member] = uint40(block.timestamp);
        _pause.until = until;
        emit EmergencyPaused(member, until, ++_pause.count, msg.sender);
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IParticipantRegistry
    function activeParticipantOf(address key) external view returns (uint32 participantId, bytes32 kind) {
        participantId = _activeKeyOwner(key);
        kind = _participants[participantId].kind;
    }

    /// @inheritdoc IParticipantRegistry
    function keyStatus(address key) external view returns (uint32 participantId, bool active) {
        SigningKey storage k = _keys[key];
        participantId = k.participantId;
        active = k.removedAt == 0 && _isActiveParticipant(participantId) && !_codeChanged(k, key);
    }

    /// @inheritdoc IParticipantRegistry
    function nodeStatus(bytes32 enodeHigh, bytes32 enodeLow) external view returns (uint32 participantId, bool active) {
        participantId = _nodeOwners[_enodeHash(enodeHigh, enodeLow)];
        active = _isActiveParticipant(participantId);
    }

    /// @inheritdoc IParticipantRegistry
    function isActive(uint32 participantId) external view returns (bool) {
        return _isActiveParticipant(participantId);
    }

    /// @inheritdoc IParticipantRegistry
    function paused() public view returns (bool) {
        return block.timestamp < _pause.until;
    }

    /// @inheritdoc IParticipantRegistry
    function pauseState() external view returns (uint40 until, uint64 pauseCount) {
        return (_pause.until, _pause.count);
    }

    /// @inheritdoc IParticipantRegistry
    function participant(uint32 participantId) external view returns (Participant memory) {
        return _participants[participantId];
    }

    /// @inheritdoc IParticipantRegistry
    function signingKey(address key) external view returns (SigningKey memory) {
        return _keys[key];
    }

    /// @inheritdoc IParticipantRegistry
    function council() external view returns (uint32[] memory members, uint16 quorum) {
        return (_council, _quorum);
    }

    /// @inheritdoc IParticipantRegistry
    function proposal(uint256 proposalId) external view returns (Proposal memory) {
        return _proposals[proposalId];
    }

    /// @inheritdoc IParticipantRegistry
    function approvalCount(uint256 proposalId) public view returns (uint256 count) {
        // Only current council members count: a member removed after approving no longer does.
        uint256 n = _council.length;
        for (uint256 i = 0; i < n; ++i) {
            uint32 member = _council[i];
            if (_approvedWith[proposalId][member] == _seat[member]) ++count;
        }
    }

    /// @inheritdoc IParticipantRegistry
    function hasApproved(uint256 proposalId, uint32 participantId) external view returns (bool) {
        return _hasApproved(proposalId, participantId);
    }

    /// @inheritdoc IParticipantRegistry
    function participantCount() external view returns (uint32) {
        return _participantCount;
    }

    /// @inheritdoc IParticipantRegistry
    function proposalCount() external view returns (uint256) {
        return _proposalCount;
    }

    // ------------------------------------------------------------------ internals

    function _apply(uint256 proposalId, Action action, bytes memory args, address executor) private {
        if (action == Action.Admit) {
            (bytes32 kind, bytes32 metadata, address key) = abi.decode(args, (bytes32, bytes32, address));
            _admit(kind, metadata, key, proposalId);
        } else if (action == Action.Suspend) {
            _transition(abi.decode(args, (uint32)), Status.Active, Status.Suspended, proposalId);
        } else if (action == Action.Reinstate) {
            _transition(abi.decode(args, (uint32)), Status.Suspended, Status.Active, proposalId);
        } else if (action == Action.Revoke) {
            _revoke(abi.decode(args, (uint32)), proposalId);
        } else if (action == Action.AddSigningKey) {
            (uint32 id, address key) = abi.decode(args, (uint32, address));
            _requireExisting(id);
            if (_participants[id].status == Status.Revoked) {
                revert InvalidStatusTransition(id, Status.Revoked, Status.Active);
            }
            _addKey(id, key, proposalId);
        } else if (action == Action.RemoveSigningKey) {
            (uint32 id, address key) = abi.decode(args, (uint32, address));
            _removeKey(id, key, proposalId);
        } else if (action == Action.AddCouncilMember) {
            _addCouncilMember(abi.decode(args, (uint32)), proposalId);
        } else if (action == Action.RemoveCouncilMember) {
            _removeCouncilMember(abi.decode(args, (uint32)), proposalId);
        } else if (action == Action.SetQuorum) {
            uint16 quorum = abi.decode(args, (uint16));
            if (quorum == 0 || quorum > _council.length) revert InvalidQuorum(quorum, _council.length);
            _quorum = quorum;
            ++_versions.council;
            emit CouncilChanged(_council, quorum, proposalId);
        } else if (action == Action.AddNode || action == Action.RemoveNode) {
            (uint32 id, bytes32 high, bytes32 low) = abi.decode(args, (uint32, bytes32, bytes32));
            if (action == Action.AddNode) _addNode(id, high, low, proposalId);
            else _removeNode(id, high, low, proposalId);
        } else if (action == Action.SetRules) {
            (address ingress, address rules) = abi.decode(args, (address, address));
            _setRules(ingress, rules, proposalId, executor);
        } else if (action == Action.CancelProposal) {
            uint256 target = abi.decode(args, (uint256));
            _requireOpenProposal(target).status = ProposalStatus.Cancelled;
            emit ProposalCancelled(target, 0, proposalId, executor);
        } else {
            // Unpause or ExtendPause: the enum has no other member, and decoding the action
            // rejects others.
            _decidePause(proposalId, action, args);
        }
        emit ProposalExecuted(proposalId, executor);
    }

    /// @dev Unpause or ExtendPause: either answers the pause in force.
    function _decidePause(uint256 proposalId, Action action, bytes memory args) private {
        if (!paused()) revert NotPaused();
        if (action == Action.Unpause) {
            _pause.until = uint40(block.timestamp);
            emit EmergencyUnpaused(proposalId);
        } else {
            uint40 until = uint40(block.timestamp) + abi.decode(args, (uint32));
            if (until > _pause.until) _pause.until = until;
            emit EmergencyPauseExtended(proposalId, _pause.until);
        }
    }

    function _admit(bytes32 kind, bytes32 metadata, address key, uint256 proposalId) private returns (uint32 id) {
        if (kind == bytes32(0)) revert ZeroValue("kind");
        if (metadata == bytes32(0)) revert ZeroValue("metadataCommitment");
        if (key == address(0)) revert ZeroValue("signingKey");
        uint32 owner = _keys[key].participantId;
        if (owner != 0) revert SigningKeyAlreadyRegistered(key, owner);
        id = ++_participantCount;
        _participants[id] = Participant({
            kind: kind,
            metadataCommitment: metadata,
            status: Status.Active,
            admittedAt: uint40(block.timestamp),
            activeKeys: 1
        });
        _keys[key] = _newKey(id, key);
        emit ParticipantAdmitted(id, kind, metadata, key, proposalId);
    }

    function _transition(uint32 id, Status from, Status to, uint256 proposalId) private {
        Status current = _requireExisting(id);
        if (current != from) revert InvalidStatusTransition(id, current, to);
        // A suspended council member could not vote and might leave the quorum unreachable.
        if (to == Status.Suspended && _isCouncilMember(id)) revert RemoveFromCouncilFirst(id);
        _participants[id].status = to;
        ++_versions.participant[id];
        emit ParticipantStatusChanged(id, from, to, proposalId);
    }

    function _revoke(uint32 id, uint256 proposalId) private {
        Status current = _requireExisting(id);
        if (current == Status.Revoked) revert InvalidStatusTransition(id, current, Status.Revoked);
        if (_isCouncilMember(id)) revert RemoveFromCouncilFirst(id);
        _participants[id].status = Status.Revoked;
        ++_versions.participant[id];
        emit ParticipantStatusChanged(id, current, Status.Revoked, proposalId);
    }

    function _addKey(uint32 id, address key, uint256 proposalId) private {
        if (key == address(0)) revert ZeroValue("signingKey");
        SigningKey storage k = _keys[key];
        uint32 owner = k.participantId;
        if (owner == id && k.removedAt == 0 && KeyCode.current(key) != k.codeHash) {
            // The key's code changed since it was bound: adding it again is the council accepting
            // the new code (checked like a new key's), which makes the key speak again.
            k.codeHash = _pinnedCode(key);
            emit SigningKeyAdded(id, key, proposalId, k.codeHash);
            return;
        }
        if (owner != 0) revert SigningKeyAlreadyRegistered(key, owner);
        _keys[key] = _newKey(id, key);
        ++_participants[id].activeKeys;
        emit SigningKeyAdded(id, key, proposalId, _keys[key].codeHash);
    }

    /// @dev Whether `key` has code other than the code pinned in `k`. A key without code now is
    /// unchanged: an EOA key keeps its zero pin, and a contract key whose code was destroyed
    /// (SELFDESTRUCT before Cancun) can neither send nor sign; if code reappears, this catches
    /// it. So the common case, an EOA key, costs one EXTCODESIZE and no read of the pin.
    function _codeChanged(SigningKey storage k, address key) private view returns (bool) {
        return key.code.length != 0 && key.codehash != k.codeHash;
    }

    /// @dev The record of a key bound now, with its code pinned.
    function _newKey(uint32 id, address key) private view returns (SigningKey memory) {
        return
            SigningKey({participantId: id, addedAt: uint40(block.timestamp), removedAt: 0, codeHash: _pinnedCode(key)});
    }

    /// @dev The code hash to pin for `key`, refusing code that could change behaviour unseen.
    function _pinnedCode(address key) private view returns (bytes32) {
        (bool found, uint256 offset, uint8 opcode) = KeyCode.firstMutation(key.code);
        if (found) revert MutableSigningKeyCode(key, offset, opcode);
        return KeyCode.current(key);
    }

    function _removeKey(uint32 id, address key, uint256 proposalId) private {
        // Without this, id 0 matches every unregistered key and the decrement below underflows.
        _requireExisting(id);
        SigningKey storage k = _keys[key];
        if (k.participantId != id || k.removedAt != 0) revert SigningKeyNotActive(key, id);
        Participant storage p = _participants[id];
        if (p.activeKeys == 1) revert LastSigningKey(id);
        k.removedAt = uint40(block.timestamp);
        --p.activeKeys;
        emit SigningKeyRemoved(id, key, proposalId);
    }

    function _addCouncilMember(uint32 id, uint256 proposalId) private {
        Status status = _requireExisting(id);
        if (status != Status.Active) revert ParticipantNotActive(id, status);
        if (_isCouncilMember(id)) revert AlreadyCouncilMember(id);
        if (_council.length == MAX_COUNCIL) revert CouncilTooLarge(MAX_COUNCIL);
        _seatOnCouncil(id);
        emit CouncilChanged(_council, _quorum, proposalId);
    }

    function _removeCouncilMember(uint32 id, uint256 proposalId) private {
        if (_seat[id] == 0) revert NotCouncilMember(id);
        uint256 n = _council.length;
        // n ≥ quorum ≥ 1, so n - 1 cannot underflow.
        if (_quorum > n - 1) revert InvalidQuorum(_quorum, n - 1);
        for (uint256 i = 0; i < n; ++i) {
            if (_council[i] == id) {
                _council[i] = _council[n - 1];
                _council.pop();
                break;
            }
        }
        _seat[id] = 0;
        ++_versions.participant[id];
        ++_versions.council;
        emit CouncilChanged(_council, _quorum, proposalId);
    }

    function _addNode(uint32 id, bytes32 high, bytes32 low, uint256 proposalId) private {
        // Like a signing key, a node can be given to a suspended participant but not a revoked one.
        if (_requireExisting(id) == Status.Revoked) revert InvalidStatusTransition(id, Status.Revoked, Status.Active);
        bytes32 h = _enodeHash(high, low);
        uint32 owner = _nodeOwners[h];
        if (owner != 0) revert NodeAlreadyRegistered(high, low, owner);
        // A removed node may be registered again, to any participant: nothing is attributed to a
        // node after the fact, so unlike a key it needs no permanent owner.
        _nodeOwners[h] = id;
        ++_versions.node[h];
        emit NodeAdded(id, high, low, proposalId);
    }

    function _removeNode(uint32 id, bytes32 high, bytes32 low, uint256 proposalId) private {
        bytes32 h = _enodeHash(high, low);
        if (id == 0 || _nodeOwners[h] != id) revert NodeNotRegistered(high, low, id);
        delete _nodeOwners[h];
        ++_versions.node[h];
        emit NodeRemoved(id, high, low, proposalId);
    }

    function _setRules(address ingress, address rules, uint256 proposalId, address executor) private {
        // The ingress probes the new account rules with the executing key, so that key must be one
        // that votes: a key of an active council member.
        uint32 member = _activeKeyOwner(executor);
        if (!_isCouncilMember(member)) revert NotCouncilMember(member);
        if (ingress.code.length == 0) revert NotAContract(ingress);
        // Zero turns the ingress's permissioning off (it then allows everything); any other
        // address must be a contract, or the ingress would deny everything.
        if (rules != address(0) && rules.code.length == 0) revert NotAContract(rules);
        // A rules contract answers any call with one word and AccountRules has a registry() too:
        // only an ingress declares an ingress kind.
        bytes32 kind = _staticWord(ingress, abi.encodeCall(IRulesIngress.ingressKind, ()));
        bytes32 registry = _staticWord(ingress, abi.encodeCall(IRulesIngress.registry, ()));
        if ((kind != ACCOUNT_INGRESS && kind != NODE_INGRESS) || registry != bytes32(uint256(uint160(address(this))))) {
            revert NotAnIngress(ingress);
        }
        IRulesIngress(ingress).setRules(rules, executor);
        address actual = IRulesIngress(ingress).rules();
        if (actual != rules) revert RulesNotSet(ingress, rules, actual);
        emit PermissioningRulesSet(ingress, rules, proposalId);
    }

    /// @dev The one-word answer of a static call, or zero if it reverts or answers another length.
    /// A call that ran out of gas reverts without data instead (see {execute}): a starved read
    /// must not turn into a NotAnIngress that fails the proposal.
    function _staticWord(address target, bytes memory data) private view returns (bytes32) {
        uint256 before = gasleft();
        (bool success, bytes memory output) = target.staticcall(data);
        if (!success && output.length == 0 && gasleft() <= before / 63) {
            // solhint-disable-next-line gas-custom-errors
            revert();
        }
        return success && output.length == 32 ? bytes32(output) : bytes32(0);
    }

    function _seatOnCouncil(uint32 id) private {
        _council.push(id);
        _seat[id] = ++_seatCount;
        ++_versions.participant[id];
        ++_versions.council;
    }

    /// @dev The hash of the state `action` with `args` depends on (see {Proposal.context}). Every
    /// part only grows, so once a proposal's context differs it never matches again.
    function _context(Action action, bytes memory args) private view returns (bytes32) {
        uint256 version;
        if (
            action == Action.Suspend ||
            action == Action.Reinstate ||
            action == Action.Revoke ||
            action == Action.AddCouncilMember ||
            action == Action.RemoveCouncilMember
        ) {
            version = _versions.participant[abi.decode(args, (uint32))];
        } else if (action == Action.SetQuorum) {
            version = _versions.council;
        } else if (action == Action.Unpause || action == Action.ExtendPause) {
            version = _pause.count;
        } else if (action == Action.AddNode || action == Action.RemoveNode) {
            (, bytes32 high, bytes32 low) = abi.decode(args, (uint32, bytes32, bytes32));
            version = _versions.node[_enodeHash(high, low)];
        }
        return keccak256(abi.encode(_versions.lastExecution[_actionKey(action, args)], version));
    }

    function _actionKey(Action action, bytes memory args) private pure returns (bytes32) {
        return keccak256(abi.encode(action, args));
    }

    /// @dev Checks that `args` is the ABI encoding `execute` will decode for `action`, so that a
    /// malformed proposal is refused with a named error at once rather than at execution.
    function _checkArgs(Action action, bytes calldata args) private pure {
        // Bit widths of the ABI words of each action's arguments (256: any value).
        uint16[3] memory widths;
        uint256 words;
        if (action == Action.Admit) {
            (widths, words) = ([uint16(256), 256, 160], 3);
        } else if (action == Action.AddSigningKey || action == Action.RemoveSigningKey) {
            (widths, words) = ([uint16(32), 160, 0], 2);
        } else if (action == Action.SetQuorum) {
            (widths, words) = ([uint16(16), 0, 0], 1);
        } else if (action == Action.AddNode || action == Action.RemoveNode) {
            (widths, words) = ([uint16(32), 256, 256], 3);
        } else if (action == Action.SetRules) {
            (widths, words) = ([uint16(160), 160, 0], 2);
        } else if (action == Action.Unpause) {
            words = 0;
        } else if (action == Action.CancelProposal) {
            (widths, words) = ([uint16(256), 0, 0], 1);
        } else {
            (widths, words) = ([uint16(32), 0, 0], 1);
        }
        if (args.length != words * 32) revert InvalidProposalArgs(action, args.length);
        for (uint256 w = 0; w < words; ++w) {
            uint256 value = uint256(bytes32(args[w * 32:(w + 1) * 32]));
            if (widths[w] < 256 && value >> widths[w] != 0) revert InvalidProposalArgs(action, args.length);
        }
    }

    function _requireCouncilCaller() private view returns (uint32 id) {
        id = _activeKeyOwner(msg.sender);
        if (!_isCouncilMember(id)) revert NotCouncilMember(id);
    }

    function _requireOpenProposal(uint256 proposalId) private view returns (Proposal storage p) {
        p = _proposals[proposalId];
        if (p.createdAt == 0) revert UnknownProposal(proposalId);
        if (p.status != ProposalStatus.Pending) revert ProposalNotPending(proposalId, p.status);
        // Like cases and grants, a proposal is valid strictly before its expiry.
        if (block.timestamp >= p.expiresAt) revert ProposalExpired(proposalId, p.expiresAt);
    }

    /// @dev An open proposal whose context still holds: the only kind an approval may be given to.
    function _requireCurrentProposal(uint256 proposalId) private view {
        Proposal storage p = _requireOpenProposal(proposalId);
        if (_context(p.action, p.args) != p.context) revert ProposalStale(proposalId);
    }

    function _hasApproved(uint256 proposalId, uint32 participantId) private view returns (bool) {
        uint64 seat = _seat[participantId];
        return seat != 0 && _approvedWith[proposalId][participantId] == seat;
    }

    function _requireExisting(uint32 id) private view returns (Status status) {
        status = _participants[id].status;
        if (status == Status.None) revert UnknownParticipant(id);
    }

    function _activeKeyOwner(address key) private view returns (uint32 id) {
        SigningKey storage k = _keys[key];
        id = k.participantId;
        if (id == 0 || k.removedAt != 0) revert UnknownSigningKey(key);
        if (_codeChanged(k, key)) revert SigningKeyCodeChanged(key, k.codeHash, key.codehash);
        Status status = _participants[id].status;
        if (status != Status.Active) revert ParticipantNotActive(id, status);
    }

    /// @dev False for id 0, whose record is empty (status None).
    function _isActiveParticipant(uint32 id) private view returns (bool) {
        return _participants[id].status == Status.Active;
    }

    function _enodeHash(bytes32 high, bytes32 low) private pure returns (bytes32) {
        return keccak256(abi.encode(high, low));
    }

    function _isCouncilMember(uint32 id) private view returns (bool) {
        return _seat[id] != 0;
    }
}
