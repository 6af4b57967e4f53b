import {
  AbiCoder,
  encodeBytes32String,
  id as keccakText,
  MaxUint256,
  ZeroHash,
  ZeroAddress,
  type ContractTransactionReceipt,
  type Signer,
  type TypedDataDomain,
} from "ethers";
import { buildLogBatch, type LogBatch } from "./anchoring.js";
import {
  buildFreezeRequestList,
  buildFreezeResultList,
  compareFreezeLists,
  verifyRequestList,
  verifyResultList,
  type FreezeOnChain,
  type FreezeRequestList,
  type FreezeResultList,
} from "./freezes.js";
import { commitCaseNumber, commitSubject, hashDocument } from "./commitments.js";
import { IRulesIngress__factory } from "../../types/ethers-contracts/index.js";
import type { ConsortiumContracts } from "./deployment.js";
import {
  accessLedgerDomain,
  signAcknowledgement,
  signDelivery,
  validateDelivery,
  type Delivery,
} from "./eip712.js";
import { InputError, ProposalFailedError, VeritraceError, withDecodedReverts } from "./errors.js";
import { encodeKind, scopeOf } from "./kinds.js";
import type { IdentifierType } from "./normalize.js";
import { eventOf, transact } from "./transact.js";
import {
  requireAddress,
  requireCommitment,
  requireFuture,
  requireInteger,
  UINT16_MAX,
  UINT32_MAX,
  UINT64_MAX,
  type Bytes32,
} from "./validate.js";

/** Council proposal actions, in the order of IParticipantRegistry.Action. */
export const ProposalAction = {
  Admit: 0,
  Suspend: 1,
  Reinstate: 2,
  Revoke: 3,
  AddSigningKey: 4,
  RemoveSigningKey: 5,
  AddCouncilMember: 6,
  RemoveCouncilMember: 7,
  SetQuorum: 8,
  Unpause: 9,
  AddNode: 10,
  RemoveNode: 11,
  SetRules: 12,
  CancelProposal: 13,
  ExtendPause: 14,
} as const;
export type ProposalAction = (typeof ProposalAction)[keyof typeof ProposalAction];

const coder = AbiCoder.defaultAbiCoder();
const DAY = 24 * 60 * 60;

/** What a permissioning ingress answers to `ingressKind()` (contracts/permissioning/IRulesIngress.sol). */
export const INGRESS_KIND = {
  accounts: keccakText("veritrace.permissioning.AccountIngress"),
  nodes: keccakText("veritrace.permissioning.NodeIngress"),
} as const;

function participantId(field: string, id: number): number {
  return Number(requireInteger(field, id, 1n, UINT32_MAX));
}

/** Returns the checksummed address unless it is the zero address. */
function requireNonZeroAddress(field: string, value: string): string {
  const address = requireAddress(field, value);
  if (address === ZeroAddress) throw new InputError(field, "the zero address is not an account");
  return address;
}

/** The bytes32 form of a risk-label category: a short lower-case name such as "sanctioned". */
function encodeCategory(name: string): string {
  if (!/^[a-z][a-z0-9_-]{0,30}$/.test(name)) {
    throw new InputError(
      "category",
      `${JSON.stringify(name)} is not a lower-case name of at most 31 characters`,
    );
  }
  return encodeBytes32String(name);
}

/** Input of {@link ParticipantClient.publishLabel}. */
export interface LabelInput {
  /** The labeled address. */
  subject: string;
  /** The chain the address is on. */
  chainId: bigint | number;
  /** The risk category, a short lower-case name such as "sanctioned". */
  category: string;
  /** The case number commitment of the active case the label is bound to. */
  caseNumberCommitment: string;
  /**
   * The police participant that opened that case (default: the author itself). Commitments are
   * unique per opener only, so the case is named by both.
   */
  caseOpener?: number;
  /** 0 (none) to 100 (certain). */
  confidence: number;
}

/** What every role shares: the consortium's contracts and the signer acting for an institution. */
export class ParticipantClient {
  constructor(
    readonly contracts: ConsortiumContracts,
    readonly signer: Signer,
  ) {}

  /** The latest block's timestamp (the chain's clock, which may run ahead of this machine's). */
  async now(): Promise<bigint> {
    const provider = this.signer.provider;
    if (provider === null)
      throw new VeritraceError("the signer has no provider", { kind: "invalid-input" });
    const block = await provider.getBlock("latest");
    if (block === null)
      throw new VeritraceError("the node returned no latest block", { kind: "unavailable" });
    return BigInt(block.timestamp);
  }

  /** The participant this signer speaks for (reverts if its key or institution is not active). */
  async participantId(): Promise<number> {
    const [id] = await withDecodedReverts(() =>
      this.contracts.registry.activeParticipantOf(this.signer.getAddress()),
    );
    return Number(id);
  }

  /**
   * The sequence number the next batch of this participant's access log starts at: where its
   * anchors so far end (read from the LogAnchored events).
   */
  async nextLogSequence(): Promise<bigint> {
    const { anchor } = this.contracts;
    const events = await anchor.queryFilter(
      anchor.filters.LogAnchored(undefined, undefined, await this.participantId()),
    );
    let next = 0n;
    for (const e of events) {
      const end = e.args.firstSequence + e.args.entryCount;
      if (end > next) next = end;
    }
    return next;
  }

  /**
   * Anchors the Merkle root of a batch of access-log entries, numbered from `firstSequence` in
   * this participant's log (default: where its previous anchors end). Returns the anchor id and
   * the batch (keep it: its proofs show each entry's inclusion).
   */
  async anchorLog(
    caseId: bigint,
    entries: readonly unknown[],
    firstSequence?: bigint,
  ): Promise<{ anchorId: bigint; batch: LogBatch; firstSequence: bigint }> {
    const batch = buildLogBatch(entries);
    const count = requireInteger("entries", entries.length, 1n, UINT32_MAX);
    const first = requireInteger(
      "firstSequence",
      firstSequence ?? (await this.nextLogSequence()),
      0n,
      UINT64_MAX,
    );
    const receipt = await transact(() =>
      this.contracts.anchor.connect(this.signer).anchor(caseId, first, batch.root, count),
    );
    const args = await eventOf(receipt, this.contracts.anchor, "LogAnchored");
    return { anchorId: args.getValue("anchorId") as bigint, batch, firstSequence: first };
  }

  /** The EIP-712 domain of this consortium's access ledger. */
  async domain(): Promise<TypedDataDomain> {
    const provider = this.signer.provider;
    if (provider === null)
      throw new VeritraceError("the signer has no provider", { kind: "invalid-input" });
    const { chainId } = await provider.getNetwork();
    return accessLedgerDomain(chainId, await this.contracts.access.getAddress());
  }

  /** Publishes a risk label about an address of any chain, bound to an active case; returns its id. */
  async publishLabel(input: LabelInput): Promise<bigint> {
    const subject = requireNonZeroAddress("subject", input.subject);
    const chainId = requireInteger("chainId", input.chainId, 1n, UINT64_MAX);
    const category = encodeCategory(input.category);
    const caseNumber = requireCommitment("caseNumberCommitment", input.caseNumberCommitment);
    const confidence = requireInteger("confidence", input.confidence, 0n, 100n);
    const opener =
      input.caseOpener === undefined
        ? await this.participantId()
        : participantId("caseOpener", input.caseOpener);
    const receipt = await transact(() =>
      this.contracts.labels
        .connect(this.signer)
        .publishLabel(subject, chainId, category, opener, caseNumber, confidence),
    );
    const ev = await eventOf(receipt, this.contracts.labels, "LabelPublished");
    return ev.getValue("labelId") as bigint;
  }

  /** Revokes one of this participant's labels (accepted after the case closed and during a pause). */
  async revokeLabel(labelId: bigint, reasonCode: number): Promise<ContractTransactionReceipt> {
    const code = requireInteger("reasonCode", reasonCode, 0n, UINT16_MAX);
    return transact(() => this.contracts.labels.connect(this.signer).revokeLabel(labelId, code));
  }
}

/** A council member: proposes, approves and executes membership changes; can pause. */
export class CouncilMember extends ParticipantClient {
  /** Proposes a change; returns the proposal id. `lifetime` in seconds (default 7 days). */
  async propose(action: ProposalAction, args: string, lifetime = 7 * DAY): Promise<bigint> {
    const receipt = await transact(() =>
      this.contracts.registry.connect(this.signer).propose(action, args, lifetime),
    );
    const ev = await eventOf(receipt, this.contracts.registry, "ProposalCreated");
    return ev.getValue("proposalId") as bigint;
  }

  /** Proposes to admit an institution. */
  async proposeAdmit(p: {
    kind: string;
    metadataCommitment: string;
    signingKey: string;
  }): Promise<bigint> {
    const args = coder.encode(
      ["bytes32", "bytes32", "address"],
      [
        encodeKind(p.kind),
        requireCommitment("metadataCommitment", p.metadataCommitment),
        requireAddress("signingKey", p.signingKey),
      ],
    );
    return this.propose(ProposalAction.Admit, args);
  }

  /** Proposes a status change of a participant. */
  async proposeStatus(
    action: "suspend" | "reinstate" | "revoke",
    participant: number,
  ): Promise<bigint> {
    const code = {
      suspend: ProposalAction.Suspend,
      reinstate: ProposalAction.Reinstate,
      revoke: ProposalAction.Revoke,
    };
    return this.propose(
      code[action],
      coder.encode(["uint32"], [participantId("participant", participant)]),
    );
  }

  /** Proposes to add or remove a signing key of a participant. */
  async proposeKey(action: "add" | "remove", participant: number, key: string): Promise<bigint> {
    const args = coder.encode(
      ["uint32", "address"],
      [participantId("participant", participant), requireAddress("key", key)],
    );
    return this.propose(
      action === "add" ? ProposalAction.AddSigningKey : ProposalAction.RemoveSigningKey,
      args,
    );
  }

  /** Proposes to add or remove a council member. */
  async proposeCouncil(action: "add" | "remove", participant: number): Promise<bigint> {
    const args = coder.encode(["uint32"], [participantId("participant", participant)]);
    return this.propose(
      action === "add" ? ProposalAction.AddCouncilMember : ProposalAction.RemoveCouncilMember,
      args,
    );
  }

  /** Proposes a new quorum. */
  async proposeQuorum(quorum: number): Promise<bigint> {
    return this.propose(
      ProposalAction.SetQuorum,
      coder.encode(["uint16"], [requireInteger("quorum", quorum, 1n, UINT16_MAX)]),
    );
  }

  /**
   * Proposes to point a permissioning ingress (Besu's 0x…8888 for accounts, 0x…9999 for nodes)
   * at a new rules contract; the zero address turns that permissioning off. Refuses, before
   * sending anything, an `ingress` that is not an ingress of this registry (such as the rules
   * contract, with the two addresses swapped). The ingress probes the rules when the proposal is
   * executed, which an active council key must do: a rules contract that would bar that key from
   * the registry reverts with RulesLockOutCouncil, node rules without a valid answer to both
   * interfaces with InvalidNodeRulesAnswer.
   */
  async proposeSetRules(ingress: string, rules: string): Promise<bigint> {
    const target = requireNonZeroAddress("ingress", ingress);
    const next = requireAddress("rules", rules);
    const runner = this.signer.provider ?? this.signer;
    const contract = IRulesIngress__factory.connect(target, runner);
    const [kind, registry] = await Promise.all([
      contract.ingressKind().catch(() => undefined),
      contract.registry().catch(() => undefined),
    ]);
    if (kind !== INGRESS_KIND.accounts && kind !== INGRESS_KIND.nodes) {
      throw new InputError("ingress", `${target} is not a permissioning ingress (no ingress kind)`);
    }
    const ours = await this.contracts.registry.getAddress();
    if (registry !== ours) {
      throw new InputError("ingress", `${target} serves registry ${String(registry)}, not ${ours}`);
    }
    return this.propose(
      ProposalAction.SetRules,
      coder.encode(["address", "address"], [target, next]),
    );
  }

  /** Proposes to lift the pause in force (refused when none is). */
  async proposeUnpause(): Promise<bigint> {
    return this.propose(ProposalAction.Unpause, "0x");
  }

  /**
   * Proposes to extend the pause in force until at least `seconds` after the proposal executes
   * (1 second to MAX_PAUSE_EXTENSION, 30 days; refused when no pause is in force).
   */
  async proposeExtendPause(seconds: number): Promise<bigint> {
    const duration = requireInteger("seconds", seconds, 1n, 30n * BigInt(DAY));
    return this.propose(ProposalAction.ExtendPause, coder.encode(["uint32"], [duration]));
  }

  /** Proposes that the council cancel a pending proposal (which others already approved). */
  async proposeCancel(proposalId: bigint): Promise<bigint> {
    const id = requireInteger("proposalId", proposalId, 1n, MaxUint256);
    return this.propose(ProposalAction.CancelProposal, coder.encode(["uint256"], [id]));
  }

  /** Approves a proposal. */
  async approve(proposalId: bigint): Promise<ContractTransactionReceipt> {
    return transact(() => this.contracts.registry.connect(this.signer).approve(proposalId));
  }

  /** Withdraws this member's approval of a pending proposal (the proposer cancels instead). */
  async withdrawApproval(proposalId: bigint): Promise<ContractTransactionReceipt> {
    return transact(() =>
      this.contracts.registry.connect(this.signer).withdrawApproval(proposalId),
    );
  }

  /** Cancels this member's own proposal, allowed while no other member approved it. */
  async cancel(proposalId: bigint): Promise<ContractTransactionReceipt> {
    return transact(() => this.contracts.registry.connect(this.signer).cancel(proposalId));
  }

  /**
   * Executes a proposal that has its quorum. Throws {@link ProposalFailedError} when the
   * execution was recorded as failed (its action reverted, or it was stale): that is final.
   */
  async execute(proposalId: bigint): Promise<ContractTransactionReceipt> {
    const receipt = await transact(() =>
      this.contracts.registry.connect(this.signer).execute(proposalId),
    );
    const registry = this.contracts.registry;
    const address = (await registry.getAddress()).toLowerCase();
    for (const log of receipt.logs) {
      if (log.address.toLowerCase() !== address) continue;
      const parsed = registry.interface.parseLog(log);
      if (parsed?.name === "ProposalFailed")
        throw new ProposalFailedError(proposalId, parsed.args.getValue("reason") as string);
    }
    return receipt;
  }

  /** Executes an Admit proposal and returns the new participant's id. */
  async executeAdmission(proposalId: bigint): Promise<number> {
    const receipt = await this.execute(proposalId);
    const ev = await eventOf(receipt, this.contracts.registry, "ParticipantAdmitted");
    return Number(ev.getValue("participantId"));
  }

  /**
   * Stops all case and access activity for PAUSE_DURATION (72 hours) unless the council extends
   * or lifts the pause; a member may pause again only PAUSE_COOLDOWN (14 days) after its last pause.
   */
  async pause(): Promise<ContractTransactionReceipt> {
    return transact(() => this.contracts.registry.connect(this.signer).pause());
  }
}

/** Input of {@link Investigator.openCase}. */
export interface OpenCaseInput {
  /** The internal case number (never sent: only its keyed commitment). */
  caseNumber: string;
  /** The case's 32-byte key, held off-chain by the case's parties. */
  caseKey: string;
  /** The legal-basis document (bytes or text): only its hash is sent. */
  legalBasis: Uint8Array | string;
  /** Data kinds that may be requested. */
  scope: readonly number[];
  /** Expiry (unix seconds). */
  expiresAt: bigint | number;
}

/** Input of {@link Investigator.request}. */
export interface RequestInput {
  caseId: bigint;
  provider: number;
  datasetId: bigint;
  /**
   * The subject, normalized (docs/identifiers.md) and committed with the case key; a phone number
   * written without + or 00 needs `defaultCountryCode` ("DE" or "49").
   */
  subject: { type: IdentifierType; identifier: string; defaultCountryCode?: string };
  caseKey: string;
  purposeCode: number;
}

/** Input of {@link Investigator.requestFreeze}. */
export interface FreezeInput {
  caseId: bigint;
  /** The EXCHANGE participant asked. */
  exchange: number;
  /** The case's 32-byte key: the list's key is derived from it (the case key is never sent). */
  caseKey: string;
  /**
   * The accounts to freeze (1 to 256): each with its chain, its token (the zero address for the
   * chain's native coin) and the amount asked, in the token's base units.
   */
  items: readonly {
    chainId: bigint | number;
    token: string;
    account: string;
    amount: bigint | number;
  }[];
  /** Hash of the trace report that found the accounts. */
  traceCommitment: string;
}

/** The chain's record of a freeze, in the form lists are checked against. */
async function freezeOnChain(
  contracts: ConsortiumContracts,
  freezeId: bigint,
): Promise<FreezeOnChain> {
  const f = await contracts.freezes.getFreeze(freezeId);
  if (f.status === 0n)
    throw new VeritraceError(`freeze ${freezeId} does not exist`, { kind: "not-found" });
  return {
    freezeId,
    caseId: f.caseId,
    exchange: Number(f.exchange),
    itemCount: Number(f.itemCount),
    listRoot: f.listRoot,
    resultRoot: f.resultRoot === ZeroHash ? null : f.resultRoot,
  };
}

/** A party of a case (its opener or its approver): either may close it. */
export abstract class CaseParty extends ParticipantClient {
  /** Closes a case. */
  async closeCase(caseId: bigint, reasonCode: number): Promise<ContractTransactionReceipt> {
    const code = requireInteger("reasonCode", reasonCode, 0n, UINT16_MAX);
    return transact(() => this.contracts.cases.connect(this.signer).closeCase(caseId, code));
  }
}

/** A police investigator: opens cases, requests data and freezes, acknowledges deliveries. */
export class Investigator extends CaseParty {
  /** Opens a case; returns its id and the case number commitment. */
  async openCase(input: OpenCaseInput): Promise<{ caseId: bigint; caseNumberCommitment: Bytes32 }> {
    const caseNumberCommitment = commitCaseNumber(input.caseNumber, input.caseKey);
    const legalBasis = hashDocument(input.legalBasis);
    const scope = scopeOf(input.scope);
    const expiresAt = requireFuture("expiresAt", input.expiresAt, await this.now());
    const receipt = await transact(() =>
      this.contracts.cases
        .connect(this.signer)
        .openCase(caseNumberCommitment, legalBasis, scope, expiresAt),
    );
    const ev = await eventOf(receipt, this.contracts.cases, "CaseOpened");
    return { caseId: ev.getValue("caseId") as bigint, caseNumberCommitment };
  }

  /** Asks to extend an approved case. */
  async requestExtension(
    caseId: bigint,
    newExpiry: bigint | number,
  ): Promise<ContractTransactionReceipt> {
    const expiry = requireFuture("newExpiry", newExpiry, await this.now());
    return transact(() =>
      this.contracts.cases.connect(this.signer).requestExtension(caseId, expiry),
    );
  }

  /**
   * Withdraws one of this participant's pending requests; the provider can no longer grant or deny
   * it. Reverts with RequestNotPending if the provider answered first.
   */
  async withdrawRequest(requestId: bigint): Promise<ContractTransactionReceipt> {
    const id = requireInteger("requestId", requestId, 1n, UINT64_MAX);
    return transact(() => this.contracts.access.connect(this.signer).withdrawRequest(id));
  }

  /** Requests data about a subject; only the subject's keyed commitment is sent. */
  async request(input: RequestInput): Promise<{ requestId: bigint; subjectCommitment: Bytes32 }> {
    const subjectCommitment = commitSubject(
      input.subject.type,
      input.subject.identifier,
      input.caseKey,
      {
        defaultCountryCode: input.subject.defaultCountryCode,
      },
    );
    const provider = participantId("provider", input.provider);
    const datasetId = requireInteger("datasetId", input.datasetId, 1n, UINT64_MAX);
    const purpose = requireInteger("purposeCode", input.purposeCode, 0n, UINT16_MAX);
    const receipt = await transact(() =>
      this.contracts.access
        .connect(this.signer)
        .request(input.caseId, provider, datasetId, subjectCommitment, purpose),
    );
    const ev = await eventOf(receipt, this.contracts.access, "AccessRequested");
    return { requestId: ev.getValue("requestId") as bigint, subjectCommitment };
  }

  /**
   * Asks an exchange to freeze the accounts a trace found. Only the list's root and item count go
   * on chain; returns the request's id and the list to deliver to the exchange off chain (with
   * its list key, never the case key).
   */
  async requestFreeze(input: FreezeInput): Promise<{ freezeId: bigint; list: FreezeRequestList }> {
    participantId("exchange", input.exchange);
    const list = buildFreezeRequestList(input);
    const trace = requireCommitment("traceCommitment", input.traceCommitment);
    const receipt = await transact(() =>
      this.contracts.freezes
        .connect(this.signer)
        .requestFreeze(list.caseId, list.exchange, list.root, list.items.length, trace),
    );
    const ev = await eventOf(receipt, this.contracts.freezes, "FreezeRequested");
    const freezeId = ev.getValue("freezeId") as bigint;
    return { freezeId, list: { ...list, freezeId } };
  }

  /**
   * Acknowledges the exchange's answer after checking it: both lists must be the ones whose roots
   * the chain holds, and every account must be one requested, with nothing frozen above the amount
   * asked. Refuses otherwise, naming the first account at fault.
   */
  async acknowledgeFrozen(
    request: FreezeRequestList,
    result: FreezeResultList,
  ): Promise<ContractTransactionReceipt> {
    if (request.freezeId === null || request.freezeId !== result.freezeId) {
      throw new InputError("result", "the result does not answer this request");
    }
    const chain = await freezeOnChain(this.contracts, result.freezeId);
    verifyRequestList(request, chain);
    verifyResultList(result, chain);
    const wrong = compareFreezeLists(request.items, result.items).find((c) => c.flags.length > 0);
    if (wrong !== undefined) {
      throw new VeritraceError(
        `freeze ${result.freezeId}: ${wrong.account} (${wrong.token} on chain ${wrong.chainId}) is ${wrong.flags.join(", ")}`,
        { kind: "verification-failed" },
      );
    }
    return transact(() =>
      this.contracts.freezes.connect(this.signer).acknowledgeFrozen(result.freezeId, result.root),
    );
  }

  /** Acknowledges receipt of a delivery (EIP-712 `Acknowledgement`), after checking the payload. */
  async acknowledge(delivery: Delivery, receivedPayload: Uint8Array | string): Promise<string> {
    const d = validateDelivery(delivery);
    if (hashDocument(receivedPayload) !== d.payloadHash) {
      throw new VeritraceError(`payload received does not match payloadHash ${d.payloadHash}`, {
        kind: "verification-failed",
      });
    }
    return signAcknowledgement(this.signer, await this.domain(), d);
  }
}

/** A prosecutor: approves cases and their extensions, closes cases. */
export class Supervisor extends CaseParty {
  /** Approves a pending case. */
  async approveCase(caseId: bigint): Promise<ContractTransactionReceipt> {
    return transact(() => this.contracts.cases.connect(this.signer).approveCase(caseId));
  }

  /**
   * Approves the pending extension of a case this prosecutor approved, which must be for
   * `expectedExpiry` (unix seconds), the expiry reviewed: if the opener replaced the request
   * meanwhile, the contract reverts with ExtensionMismatch and nothing changes.
   */
  async approveExtension(
    caseId: bigint,
    expectedExpiry: bigint | number,
  ): Promise<ContractTransactionReceipt> {
    const expiry = requireFuture("expectedExpiry", expectedExpiry, await this.now());
    return transact(() =>
      this.contracts.cases.connect(this.signer).approveExtension(caseId, expiry),
    );
  }
}

/** A data provider (bank, telecom, utility, exchange): offers datasets, answers requests, delivers. */
export class Provider extends ParticipantClient {
  /** Offers a dataset; returns its id. */
  async registerDataset(dataKind: number, schema: Uint8Array | string): Promise<bigint> {
    const kind = requireInteger("dataKind", dataKind, 0n, 255n);
    const receipt = await transact(() =>
      this.contracts.access.connect(this.signer).registerDataset(kind, hashDocument(schema)),
    );
    const ev = await eventOf(receipt, this.contracts.access, "DatasetRegistered");
    return ev.getValue("datasetId") as bigint;
  }

  /** Grants a pending request. */
  async grant(
    requestId: bigint,
    g: { expiresAt: bigint | number; maxRecords: bigint | number },
  ): Promise<ContractTransactionReceipt> {
    const expiresAt = requireFuture("expiresAt", g.expiresAt, await this.now());
    const maxRecords = requireInteger("maxRecords", g.maxRecords, 1n, UINT64_MAX);
    return transact(() =>
      this.contracts.access.connect(this.signer).grant(requestId, expiresAt, maxRecords),
    );
  }

  /** Denies a pending request. */
  async deny(requestId: bigint, reasonCode: number): Promise<ContractTransactionReceipt> {
    const code = requireInteger("reasonCode", reasonCode, 0n, UINT16_MAX);
    return transact(() => this.contracts.access.connect(this.signer).deny(requestId, code));
  }

  /** Revokes a grant. */
  async revokeGrant(requestId: bigint, reasonCode: number): Promise<ContractTransactionReceipt> {
    const code = requireInteger("reasonCode", reasonCode, 0n, UINT16_MAX);
    return transact(() => this.contracts.access.connect(this.signer).revokeGrant(requestId, code));
  }

  /**
   * Prepares and signs the next delivery under a grant: the payload's hash, its record count, the
   * next sequence number read from the chain, and a submission deadline `validFor` seconds ahead.
   */
  async prepareDelivery(
    requestId: bigint,
    payload: Uint8Array | string,
    recordCount: bigint | number,
    validFor = 3600,
  ): Promise<{ delivery: Delivery; signature: string }> {
    const r = await this.contracts.access.getRequest(requestId);
    const delivery = validateDelivery({
      requestId,
      sequence: Number(r.deliveries),
      payloadHash: hashDocument(payload),
      recordCount: BigInt(recordCount),
      deadline:
        (await this.now()) + BigInt(requireInteger("validFor", validFor, 1n, 365n * 86400n)),
    });
    return { delivery, signature: await signDelivery(this.signer, await this.domain(), delivery) };
  }

  /** Submits a co-signed delivery; returns its id. Either party or a relayer may submit. */
  async attestDelivery(
    delivery: Delivery,
    provider: { signer: string; signature: string },
    requester: { signer: string; signature: string },
  ): Promise<bigint> {
    return submitDelivery(this.contracts, this.signer, delivery, provider, requester);
  }
}

/** An exchange: a provider that also answers freeze requests. */
export class Exchange extends Provider {
  /**
   * Reports what was frozen under a freeze request: `request` is the list received from the police
   * (refused unless its root is the one on chain), `frozen` one amount per item in its order (0
   * where nothing could be frozen, never above the amount asked). `evidence` is the exchange's
   * freeze record (bytes or text): only its hash is sent. Returns the result list to deliver to
   * the police off chain.
   */
  async recordFrozen(
    request: FreezeRequestList,
    frozen: readonly (bigint | number)[],
    evidence: Uint8Array | string,
  ): Promise<{ receipt: ContractTransactionReceipt; result: FreezeResultList }> {
    const result = buildFreezeResultList(request, frozen);
    verifyRequestList(request, await freezeOnChain(this.contracts, result.freezeId));
    const evidenceCommitment = hashDocument(evidence);
    const receipt = await transact(() =>
      this.contracts.freezes
        .connect(this.signer)
        .recordFrozen(result.freezeId, result.listRoot, result.root, evidenceCommitment),
    );
    return { receipt, result };
  }

  /** Rejects a freeze request. */
  async rejectFreeze(freezeId: bigint, reasonCode: number): Promise<ContractTransactionReceipt> {
    const code = requireInteger("reasonCode", reasonCode, 0n, UINT16_MAX);
    return transact(() => this.contracts.freezes.connect(this.signer).rejectFreeze(freezeId, code));
  }
}

/** Submits a co-signed delivery from any account (a party or a relayer); returns the delivery id. */
export async function submitDelivery(
  contracts: ConsortiumContracts,
  submitter: Signer,
  delivery: Delivery,
  provider: { signer: string; signature: string },
  requester: { signer: string; signature: string },
): Promise<bigint> {
  const d = validateDelivery(delivery);
  const p = {
    signer: requireAddress("provider.signer", provider.signer),
    signature: provider.signature,
  };
  const q = {
    signer: requireAddress("requester.signer", requester.signer),
    signature: requester.signature,
  };
  const receipt = await transact(() => contracts.access.connect(submitter).attestDelivery(d, p, q));
  const ev = await eventOf(receipt, contracts.access, "DeliveryAttested");
  return ev.getValue("deliveryId") as bigint;
}
