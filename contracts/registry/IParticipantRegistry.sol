// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title IParticipantRegistry
/// @notice The consortium's membership: institutions, their signing keys, the council that
/// votes on every membership change, and the emergency pause.
/// @dev Participants are numbered from 1; id 0 means "none". Kinds are short ASCII names
/// packed in a bytes32 (for example `bytes32("POLICE")`), so the council can admit a new kind
/// of institution without a contract upgrade.
interface IParticipantRegistry {
    /// @notice Lifecycle of a participant. Revoked is final.
    enum Status {
        None,
        Active,
        Suspended,
        Revoked
    }

    /// @notice What a council proposal does once a quorum approved it.
    enum Action {
        Admit, // (bytes32 kind, bytes32 metadataCommitment, address signingKey)
        Suspend, // (uint32 participantId)
        Reinstate, // (uint32 participantId)
        Revoke, // (uint32 participantId)
        AddSigningKey, // (uint32 participantId, address key)
        RemoveSigningKey, // (uint32 participantId, address key)
        AddCouncilMember, // (uint32 participantId)
        RemoveCouncilMember, // (uint32 participantId)
        SetQuorum, // (uint16 quorum)
        Unpause, // ()
        // Appended after the original members, so their numbering stays valid.
        AddNode, // (uint32 participantId, bytes32 enodeHigh, bytes32 enodeLow)
        RemoveNode, // (uint32 participantId, bytes32 enodeHigh, bytes32 enodeLow)
        SetRules, // (address ingress, address rules)
        CancelProposal, // (uint256 proposalId)
        ExtendPause // (uint32 duration): the pause in force lasts until at least now + duration
    }

    /// @notice Lifecycle of a proposal. Executed, Failed and Cancelled are final.
    /// @dev Failed: its action reverted when a quorum executed it, or the state it was proposed
    /// in had changed (see {ProposalStale}); either way it can never run. Expiry is not a status:
    /// a Pending proposal past its `expiresAt` can no longer be approved, executed or cancelled.
    enum ProposalStatus {
        None,
        Pending,
        Executed,
        Failed,
        Cancelled
    }

    /// @notice A founding council member, admitted at deployment.
    struct Founder {
        bytes32 kind;
        bytes32 metadataCommitment;
        address signingKey;
    }

    /// @notice A registered institution.
    struct Participant {
        bytes32 kind;
        bytes32 metadataCommitment;
        Status status;
        uint40 admittedAt;
        uint16 activeKeys;
    }

    /// @notice The history of one signing key. A key belongs to one participant forever.
    /// @dev `codeHash` is the key's code hash when the council (or the deployment) last bound it,
    /// zero for a key with no code. A key whose code hash differs from it now does not speak for
    /// its participant ({SigningKeyCodeChanged}) until the council adds it again.
    struct SigningKey {
        uint32 participantId;
        uint40 addedAt;
        uint40 removedAt;
        bytes32 codeHash;
    }

    /// @notice A council proposal.
    /// @dev `context` is a hash of the state the action depends on, taken at {propose}: the last
    /// execution of a proposal with the same action and arguments, and for actions on one
    /// participant, node, the council or the pause, that thing's version. Approvals and the
    /// execution are accepted only while the state still hashes to `context`.
    struct Proposal {
        Action action;
        uint32 proposer;
        uint40 createdAt;
        uint40 expiresAt;
        ProposalStatus status;
        bytes32 context;
        bytes args;
    }

    // ------------------------------------------------------------------ events

    /// @notice An institution joined the consortium.
    /// @param participantId the new participant's id
    /// @param kind its kind, e.g. bytes32("BANK")
    /// @param metadataCommitment hash of its off-chain registration record
    /// @param signingKey its first signing key
    /// @param proposalId the council proposal that admitted it (0 for founders)
    event ParticipantAdmitted(
        uint32 indexed participantId,
        bytes32 indexed kind,
        bytes32 metadataCommitment,
        address signingKey,
        uint256 indexed proposalId
    );

    /// @notice A participant's status changed (suspended, reinstated or revoked).
    /// @param participantId the participant
    /// @param previous its status before
    /// @param current its status now
    /// @param proposalId the council proposal that decided it
    event ParticipantStatusChanged(
        uint32 indexed participantId,
        Status previous,
        Status current,
        uint256 indexed proposalId
    );

    /// @notice A signing key was bound to a participant, or (same participant and key) its code
    /// was pinned again after it changed.
    /// @param participantId the participant
    /// @param key the key's address
    /// @param proposalId the council proposal that decided it
    /// @param codeHash the key's code hash now pinned (zero: no code, an EOA); a key signs only
    /// while its code hash is this one
    event SigningKeyAdded(
        uint32 indexed participantId,
        address indexed key,
        uint256 indexed proposalId,
        bytes32 codeHash
    );

    /// @notice A signing key stopped speaking for its participant (its history stays).
    /// @param participantId the participant
    /// @param key the key's address
    /// @param proposalId the council proposal that decided it
    event SigningKeyRemoved(uint32 indexed participantId, address indexed key, uint256 indexed proposalId);

    /// @notice The council or its quorum changed.
    /// @param members the council members after the change
    /// @param quorum the number of approvals a proposal needs after the change
    /// @param proposalId the council proposal that decided it (0 at deployment)
    event CouncilChanged(uint32[] members, uint16 quorum, uint256 indexed proposalId);

    /// @notice A council member proposed a change.
    /// @param proposalId the proposal
    /// @param proposer the proposing council member (its approval is counted)
    /// @param action what the proposal does
    /// @param args the ABI-encoded arguments of the action
    /// @param expiresAt the time after which it can no longer be approved or executed
    /// @param signer the key that sent the transaction
    event ProposalCreated(
        uint256 indexed proposalId,
        uint32 indexed proposer,
        Action action,
        bytes args,
        uint40 expiresAt,
        address signer
    );

    /// @notice A council member approved a proposal.
    /// @param proposalId the proposal
    /// @param approver the approving council member
    /// @param signer the key that sent the transaction
    event ProposalApproved(uint256 indexed proposalId, uint32 indexed approver, address signer);

    /// @notice A council member withdrew its approval of a proposal.
    /// @param proposalId the proposal
    /// @param approver the council member
    /// @param signer the key that sent the transaction
    event ApprovalWithdrawn(uint256 indexed proposalId, uint32 indexed approver, address signer);

    /// @notice A proposal's action was carried out (its own events precede this one).
    /// @param proposalId the proposal
    /// @param signer the account that called {execute}
    event ProposalExecuted(uint256 indexed proposalId, address signer);

    /// @notice A proposal a quorum approved will never run: its action reverted with `reason`, or
    /// `reason` is {ProposalStale} because the state it was proposed in changed.
    /// @param proposalId the proposal
    /// @param reason the revert data (an ABI-encoded custom error of the registry or of a contract
    /// it called)
    /// @param signer the account that called {execute}
    event ProposalFailed(uint256 indexed proposalId, bytes reason, address signer);

    /// @notice A proposal was withdrawn before it ran.
    /// @param proposalId the cancelled proposal
    /// @param canceller its proposer when it cancelled its own proposal; 0 when the council did
    /// @param byProposalId the CancelProposal proposal that cancelled it (0: its proposer did)
    /// @param signer the account that sent the transaction (for the council, the one that called
    /// {execute})
    event ProposalCancelled(uint256 indexed proposalId, uint32 indexed canceller, uint256 byProposalId, address signer);

    /// @notice A council member stopped all case and access activity until `until`.
    /// @param participantId the council member
    /// @param until when the pause lapses by itself unless a quorum extends it
    /// @param pauseNumber the pause's ordinal (1 for the first pause ever)
    /// @param signer the key that sent the transaction
    event EmergencyPaused(uint32 indexed participantId, uint40 until, uint64 pauseNumber, address signer);

    /// @notice A quorum of the council extended the pause in force.
    /// @param proposalId the proposal that extended it
    /// @param until the pause's new end
    event EmergencyPauseExtended(uint256 indexed proposalId, uint40 until);

    /// @notice A quorum of the council lifted the emergency pause.
    /// @param proposalId the proposal that lifted it
    event EmergencyUnpaused(uint256 indexed proposalId);

    /// @notice A node was registered to a participant: while the participant is active, the node
    /// may connect to the consortium's network.
    /// @param participantId the participant operating the node
    /// @param enodeHigh bytes 0-31 of the node's enode id
    /// @param enodeLow bytes 32-63 of the node's enode id
    /// @param proposalId the council proposal that decided it
    event NodeAdded(uint32 indexed participantId, bytes32 enodeHigh, bytes32 enodeLow, uint256 indexed proposalId);

    /// @notice A node's registration ended: it may no longer connect.
    /// @param participantId the participant that operated the node
    /// @param enodeHigh bytes 0-31 of the node's enode id
    /// @param enodeLow bytes 32-63 of the node's enode id
    /// @param proposalId the council proposal that decided it
    event NodeRemoved(uint32 indexed participantId, bytes32 enodeHigh, bytes32 enodeLow, uint256 indexed proposalId);

    /// @notice The council pointed a permissioning ingress contract at a new rules contract.
    /// @dev Emitted only after the ingress accepted the rules (its probe passed) and answers them
    /// as its `rules()`. A `SetRules` proposal must be executed by an active key of a council
    /// member ({NotCouncilMember}, {UnknownSigningKey}), since the account ingress's probe checks
    /// that the new rules still let that key send a transaction to the registry.
    /// @param ingress the ingress contract (Besu's fixed genesis address for accounts or nodes)
    /// @param rules the rules contract it forwards to from now on (zero: permissioning off)
    /// @param proposalId the council proposal that decided it
    event PermissioningRulesSet(address indexed ingress, address indexed rules, uint256 indexed proposalId);

    // ------------------------------------------------------------------ errors

    /// @notice `key` is not an active signing key of any participant.
    error UnknownSigningKey(address key);
    /// @notice `participantId` does not exist.
    error UnknownParticipant(uint32 participantId);
    /// @notice `participantId` is not active (it is `status`).
    error ParticipantNotActive(uint32 participantId, Status status);
    /// @notice `participantId` is not a council member.
    error NotCouncilMember(uint32 participantId);
    /// @notice `participantId` sits on the council: remove it from the council before suspending
    /// or revoking it, so the quorum stays reachable.
    error RemoveFromCouncilFirst(uint32 participantId);
    /// @notice The `length` bytes of arguments are not a valid encoding of `action`'s arguments.
    error InvalidProposalArgs(Action action, uint256 length);
    /// @notice `participantId` is already a council member.
    error AlreadyCouncilMember(uint32 participantId);
    /// @notice A quorum of `quorum` is impossible with `members` council members.
    error InvalidQuorum(uint16 quorum, uint256 members);
    /// @notice The council would have more than `max` members.
    error CouncilTooLarge(uint256 max);
    /// @notice `key` is already bound to participant `participantId`.
    error SigningKeyAlreadyRegistered(address key, uint32 participantId);
    /// @notice `key` is not an active key of `participantId`.
    error SigningKeyNotActive(address key, uint32 participantId);
    /// @notice Removing the only active key of `participantId` would leave it unable to act.
    error LastSigningKey(uint32 participantId);
    /// @notice A zero address, kind or commitment was given where a value is needed.
    error ZeroValue(string field);
    /// @notice `participantId` can't go from `current` to the requested status.
    error InvalidStatusTransition(uint32 participantId, Status current, Status requested);
    /// @notice `proposalId` does not exist.
    error UnknownProposal(uint256 proposalId);
    /// @notice `proposalId` expired at `expiresAt`.
    error ProposalExpired(uint256 proposalId, uint40 expiresAt);
    /// @notice `proposalId` is `status`, no longer Pending.
    error ProposalNotPending(uint256 proposalId, ProposalStatus status);
    /// @notice The state `proposalId` was proposed in changed (its twin ran, or the participant,
    /// node, council or pause it acts on changed since): its approvals no longer apply.
    error ProposalStale(uint256 proposalId);
    /// @notice `participantId` may not cancel `proposalId`: only its proposer may, and only while
    /// no other current council member approved it (`otherApprovals` did).
    error CancelNotAllowed(uint256 proposalId, uint32 participantId, uint256 otherApprovals);
    /// @notice `participantId` has no approval of `proposalId` to withdraw.
    error NotApproved(uint256 proposalId, uint32 participantId);
    /// @notice The proposer's approval can't be withdrawn; it may {cancel} instead.
    error ProposerCannotWithdraw(uint256 proposalId);
    /// @notice `proposalId`'s action reverted without any revert data (for example out of gas):
    /// nothing was recorded, the proposal stays Pending.
    error ExecutionRevertedWithoutReason(uint256 proposalId);
    /// @notice Only the registry itself may call this function; `caller` did.
    error OnlyRegistry(address caller);
    /// @notice `participantId` paused at most PAUSE_COOLDOWN ago: it may pause again at `notBefore`.
    error PauseCooldown(uint32 participantId, uint40 notBefore);
    /// @notice A pause extension of `duration` seconds is outside [1, `max`].
    error InvalidPauseExtension(uint32 duration, uint32 max);
    /// @notice `participantId` already approved `proposalId`.
    error AlreadyApproved(uint256 proposalId, uint32 participantId);
    /// @notice `proposalId` has `approvals` approvals of current council members; `quorum` needed.
    error QuorumNotReached(uint256 proposalId, uint256 approvals, uint16 quorum);
    /// @notice The proposal's lifetime `lifetime` is outside [min, max].
    error InvalidProposalLifetime(uint40 lifetime, uint40 min, uint40 max);
    /// @notice The node `enodeHigh ‖ enodeLow` is already registered to `participantId`.
    error NodeAlreadyRegistered(bytes32 enodeHigh, bytes32 enodeLow, uint32 participantId);
    /// @notice The node `enodeHigh ‖ enodeLow` is not a registered node of `participantId`.
    error NodeNotRegistered(bytes32 enodeHigh, bytes32 enodeLow, uint32 participantId);
    /// @notice `account` has no code, where a contract is needed.
    error NotAContract(address account);
    /// @notice The code of signing key `key` changed since the council bound it: its code hash was
    /// `pinned` (zero: no code) and is `current` now. The key speaks again once re-added.
    error SigningKeyCodeChanged(address key, bytes32 pinned, bytes32 current);
    /// @notice The contract `key` can't be a signing key: the instruction `opcode` at byte `offset`
    /// of its code could change its behaviour while its code hash stays the same (SSTORE 0x55,
    /// TSTORE 0x5d, CALLCODE 0xf2, DELEGATECALL 0xf4; 0xef at 0: an EIP-7702 delegation or EOF).
    error MutableSigningKeyCode(address key, uint256 offset, uint8 opcode);
    /// @notice `target` is not a permissioning ingress of this registry (it declares no ingress kind,
    /// or names another registry), so `SetRules` would change nothing.
    error NotAnIngress(address target);
    /// @notice After `SetRules`, the ingress `ingress` forwards to `actual`, not to `expected`.
    error RulesNotSet(address ingress, address expected, address actual);
    /// @notice The consortium is paused.
    error EmergencyPauseActive();
    /// @notice The consortium is not paused.
    error NotPaused();

    // ------------------------------------------------------------------ council actions

    /// @notice Propose a membership change; the proposer's approval is counted at once.
    /// @dev Caller: an active signing key of an active council member. Emits {ProposalCreated}.
    /// @param action what to do
    /// @param args the ABI-encoded arguments (see {Action})
    /// @param lifetime seconds until the proposal expires
    /// @return proposalId the new proposal's id
    function propose(Action action, bytes calldata args, uint40 lifetime) external returns (uint256 proposalId);

    /// @notice Approve a proposal.
    /// @dev Caller: an active signing key of an active council member who has not approved it yet.
    /// Emits {ProposalApproved}.
    function approve(uint256 proposalId) external;

    /// @notice Withdraw the caller's approval of a pending proposal.
    /// @dev Caller: an active signing key of a council member that approved `proposalId` in its
    /// current seat, other than the proposer (who may {cancel}). Emits {ApprovalWithdrawn}.
    function withdrawApproval(uint256 proposalId) external;

    /// @notice Cancel one's own pending proposal while no other council member approved it.
    /// @dev Caller: an active signing key of the proposer, still on the council. Once another
    /// current member approved, only the council can cancel it (Action.CancelProposal).
    /// Emits {ProposalCancelled}.
    function cancel(uint256 proposalId) external;

    /// @notice Carry out a proposal that a quorum of current council members approved. The
    /// outcome is final: the proposal becomes Executed (emits the action's events, then
    /// {ProposalExecuted}) or Failed (emits {ProposalFailed} with the revert data, also when the
    /// state it was proposed in changed).
    /// @dev Caller: anyone (the approvals are the authority). Reverts, leaving the proposal
    /// Pending, only when it is not open, lacks its quorum, or its action reverted without data.
    function execute(uint256 proposalId) external;

    /// @notice Runs a proposal's action; {execute} calls it so that a revert can be recorded.
    /// @dev Caller: the registry itself only ({OnlyRegistry} otherwise).
    /// @param proposalId the proposal
    /// @param action its action
    /// @param args its arguments
    /// @param executor the account that called {execute}
    function applyProposal(uint256 proposalId, Action action, bytes calldata args, address executor) external;

    /// @notice Stop all case and access activity for PAUSE_DURATION. It lapses by itself unless a
    /// quorum extends it (Action.ExtendPause); a quorum may lift it sooner (Action.Unpause).
    /// @dev Caller: an active signing key of an active council member that did not pause within
    /// the last PAUSE_COOLDOWN. Emits {EmergencyPaused}.
    function pause() external;

    // ------------------------------------------------------------------ views

    /// @notice The participant an active signing key speaks for; reverts if the key is not active
    /// or the participant is not active.
    /// @return participantId the participant
    /// @return kind its kind
    function activeParticipantOf(address key) external view returns (uint32 participantId, bytes32 kind);

    /// @notice Who a key belongs to and whether it may act now; never reverts.
    /// @dev For permissioning contracts, which must answer for any address without reverting.
    /// @return participantId the key's participant, also after the key's removal (0: unknown key)
    /// @return active whether the key is not removed and its participant is active
    function keyStatus(address key) external view returns (uint32 participantId, bool active);

    /// @notice Who a node belongs to and whether it may connect now; never reverts. A node is
    /// identified by its enode id, the 64-byte secp256k1 public key split in two words
    /// (`enodeHigh` = bytes 0-31, `enodeLow` = bytes 32-63); its history is in the events.
    /// @return participantId the node's participant (0: not registered, or removed)
    /// @return active whether the node is registered and its participant is active
    function nodeStatus(bytes32 enodeHigh, bytes32 enodeLow) external view returns (uint32 participantId, bool active);

    /// @notice Whether `participantId` is active.
    function isActive(uint32 participantId) external view returns (bool);

    /// @notice Whether a pause is in force now (started and neither lapsed nor lifted).
    function paused() external view returns (bool);

    /// @notice When the current or last pause ends (0: never paused), and how many pauses began.
    function pauseState() external view returns (uint40 until, uint64 pauseCount);

    /// @notice A participant's record.
    function participant(uint32 participantId) external view returns (Participant memory);

    /// @notice A signing key's history and pinned code hash.
    function signingKey(address key) external view returns (SigningKey memory);

    /// @notice The council members and the quorum.
    function council() external view returns (uint32[] memory members, uint16 quorum);

    /// @notice A proposal.
    function proposal(uint256 proposalId) external view returns (Proposal memory);

    /// @notice How many current council members approved `proposalId` (an approval made by a
    /// member before it left the council does not count, even if it rejoined).
    function approvalCount(uint256 proposalId) external view returns (uint256);

    /// @notice Whether `participantId`, in its current council seat, approved `proposalId`.
    function hasApproved(uint256 proposalId, uint32 participantId) external view returns (bool);

    /// @notice The number of participants ever admitted.
    function participantCount() external view returns (uint32);

    /// @notice The number of proposals ever made.
    function proposalCount() external view returns (uint256);
}
