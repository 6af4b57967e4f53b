// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IParticipantRegistry} from "./IParticipantRegistry.sol";
import {IRulesIngress, ACCOUNT_INGRESS, NODE_INGRESS} from "../permissioning/IRulesIngress.sol";
import {KeyCode} from "./KeyCode.sol";

/// @title ParticipantRegistry
/// @notice Institutions, their signing keys and the council that governs both. Every
/// membership change is a proposal that takes effect only once a quorum of the current
/// council approved it.
contract ParticipantRegistry is IParticipantRegistry {
    /// @notice Upper bound on the council's size, so that counting approvals stays cheap.
    uint256 public constant MAX_COUNCIL = 32;
    /// @notice Shortest lifetime of a proposal.
    uint40 public constant MIN_PROPOSAL_LIFETIME = 1 hours;
    /// @notice Longest lifetime of a proposal.
    uint40 public constant MAX_PROPOSAL_LIFETIME = 30 days;

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

    uint32[] private _council;
    uint16 private _quorum;
    bool private _paused;
    uint32 private _participantCount;
    uint256 private _proposalCount;

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
        proposalId = ++_proposalCount;
        uint40 expiresAt = uint40(block.timestamp) + lifetime;
        _proposals[proposalId] = Proposal({
            action: action,
            proposer: proposer,
            createdAt: uint40(block.timestamp),
            expiresAt: expiresAt,
            executed: false,
            args: args
        });
        _approvedWith[proposalId][proposer] = _seat[proposer];
        emit ProposalCreated(proposalId, proposer, action, args, expiresAt, msg.sender);
    }

    /// @inheritdoc IParticipantRegistry
    function approve(uint256 proposalId) external {
        uint32 approver = _requireCouncilCaller();
        _requireOpenProposal(proposalId);
        if (_approvedWith[proposalId][approver] == _seat[approver]) revert AlreadyApproved(proposalId, approver);
        _approvedWith[proposalId][approver] = _seat[approver];
        emit ProposalApproved(proposalId, approver, msg.sender);
    }

    /// @inheritdoc IParticipantRegistry
    function execute(uint256 proposalId) external {
        Proposal storage p = _requireOpenProposal(proposalId);
        uint256 approvals = approvalCount(proposalId);
        if (approvals < _quorum) revert QuorumNotReached(proposalId, approvals, _quorum);
        p.executed = true;
        _apply(proposalId, p.action, p.args, msg.sender);
    }

    /// @inheritdoc IParticipantRegistry
    function pause() external {
        uint32 member = _requireCouncilCaller();
        if (_paused) revert EmergencyPauseActive();
        _paused = true;
        emit EmergencyPaused(member, msg.sender);
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
    function paused() external view returns (bool) {
        return _paused;
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
        uint64 seat = _seat[participantId];
        return seat != 0 && _approvedWith[proposalId][participantId] == seat;
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
            emit CouncilChanged(_council, quorum, proposalId);
        } else if (action == Action.AddNode || action == Action.RemoveNode) {
            (uint32 id, bytes32 high, bytes32 low) = abi.decode(args, (uint32, bytes32, bytes32));
            if (action == Action.AddNode) _addNode(id, high, low, proposalId);
            else _removeNode(id, high, low, proposalId);
        } else if (action == Action.SetRules) {
            (address ingress, address rules) = abi.decode(args, (address, address));
            _setRules(ingress, rules, proposalId, executor);
        } else {
            // Action.Unpause: the enum has no other member, and decoding the action rejects others.
            if (!_paused) revert NotPaused();
            _paused = false;
            emit EmergencyUnpaused(proposalId);
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
        emit ParticipantStatusChanged(id, from, to, proposalId);
    }

    function _revoke(uint32 id, uint256 proposalId) private {
        Status current = _requireExisting(id);
        if (current == Status.Revoked) revert InvalidStatusTransition(id, current, Status.Revoked);
        if (_isCouncilMember(id)) revert RemoveFromCouncilFirst(id);
        _participants[id].status = Status.Revoked;
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
        emit NodeAdded(id, high, low, proposalId);
    }

    function _removeNode(uint32 id, bytes32 high, bytes32 low, uint256 proposalId) private {
        bytes32 h = _enodeHash(high, low);
        if (id == 0 || _nodeOwners[h] != id) revert NodeNotRegistered(high, low, id);
        delete _nodeOwners[h];
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
    function _staticWord(address target, bytes memory data) private view returns (bytes32) {
        (bool success, bytes memory output) = target.staticcall(data);
        return success && output.length == 32 ? bytes32(output) : bytes32(0);
    }

    function _seatOnCouncil(uint32 id) private {
        _council.push(id);
        _seat[id] = ++_seatCount;
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
        if (p.executed) revert ProposalAlreadyExecuted(proposalId);
        // Like cases and grants, a proposal is valid strictly before its expiry.
        if (block.timestamp >= p.expiresAt) revert ProposalExpired(proposalId, p.expiresAt);
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
