import { id as keccakText } from "ethers";
import { commitSubject } from "../../src/client/commitments.js";
import type { ContractName, EventRow } from "../../src/ledger/decode.js";
import type { BlockHeader, RangeWrite } from "../../src/db/store.js";

/**
 * A builder of realistic stored events, as the indexer's decoder writes them: ids as decimal
 * strings, addresses lower-case, integer arguments as decimal strings, one transaction per event,
 * events at the same time in the same block (block times only grow). Ids are assigned in order
 * like the contracts do, and arguments nobody passes get plausible values (the case's expiry for a
 * grant, the next sequence for a delivery or an anchor).
 */

export const HOUR = 60 * 60;
export const DAY = 24 * HOUR;
/** 2026-01-01T00:00:00Z: where the builder's clock starts. */
export const T0 = 1_767_225_600;

/** Participant ids as the test consortium numbers them. */
export const Participants = {
  police: 4,
  prosecutor: 5,
  bank: 6,
  telecom: 7,
  exchange: 8,
  police2: 9,
} as const;

/** The signing key of a participant: a stable lower-case address. */
export function keyOf(participant: number): string {
  return `0x${keccakText(`signing key of participant ${participant}`).slice(-40)}`;
}

/** A deterministic 32-byte case key for a label. */
export function caseKeyOf(label: string): string {
  return keccakText(`case key ${label}`);
}

interface CaseState {
  key: string;
  expiresAt: number;
}

interface RequestState {
  caseId: string;
  requester: number;
  provider: number;
  deliveries: number;
}

export class EventLog {
  readonly rows: EventRow[] = [];
  private clock = T0;
  private block: BlockHeader | null = null;
  private head: BlockHeader | null = null;
  private logIndex = 0;
  private readonly counters = {
    case: 0,
    request: 0,
    delivery: 0,
    anchor: 0,
    dataset: 0,
    session: 0,
    offer: 0,
  };
  /** Exchange offers: their request and sequence. */
  private readonly offers = new Map<string, { requestId: string; sequence: number }>();
  /** Matching sessions: their request. */
  private readonly sessions = new Map<string, string>();
  private readonly cases = new Map<string, CaseState>();
  private readonly requestStates = new Map<string, RequestState>();
  private readonly datasets = new Map<string, string>();
  private readonly sequences = new Map<number, bigint>();

  /** The builder's clock (unix seconds): the time of the next event. */
  get now(): number {
    return this.clock;
  }

  /** Moves the clock to `time`; it never goes back. */
  at(time: number): this {
    if (time < this.clock) throw new Error(`time goes back: ${time} < ${this.clock}`);
    this.clock = time;
    return this;
  }

  /** Moves the clock `seconds` ahead. */
  after(seconds: number): this {
    return this.at(this.clock + seconds);
  }

  /** Mines an empty block at the clock: the store's newest block time, with no event in it. */
  mine(): this {
    this.head = this.nextBlock();
    return this;
  }

  // -------------------------------------------------------------------------------- cases

  /** CaseOpened by `opener` (police); `key` names the case key (default: the case's own). */
  openCase(opts: { opener?: number; expiresAt?: number; key?: string } = {}): string {
    const caseId = `${++this.counters.case}`;
    const opener = opts.opener ?? Participants.police;
    const expiresAt = opts.expiresAt ?? this.clock + 90 * DAY;
    const key = caseKeyOf(opts.key ?? `case ${caseId}`);
    this.cases.set(caseId, { key, expiresAt });
    this.emit("CaseRegistry", "CaseOpened", {
      caseId,
      actor: opener,
      args: {
        caseId,
        opener: `${opener}`,
        caseNumberCommitment: keccakText(`${key}:case number ${caseId}`),
        legalBasisCommitment: keccakText(`legal basis of case ${caseId}`),
        scope: "127",
        expiresAt: `${expiresAt}`,
        signer: keyOf(opener),
      },
    });
    return caseId;
  }

  /** CaseApproved by `approver` (prosecutor). */
  approveCase(caseId: string, approver: number = Participants.prosecutor): this {
    const c = this.caseOf(caseId);
    this.emit("CaseRegistry", "CaseApproved", {
      caseId,
      actor: approver,
      args: {
        caseId,
        approver: `${approver}`,
        expiresAt: `${c.expiresAt}`,
        signer: keyOf(approver),
      },
    });
    return this;
  }

  /** An approved case: CaseOpened then CaseApproved. */
  approvedCase(
    opts: { opener?: number; approver?: number; expiresAt?: number; key?: string } = {},
  ): string {
    const caseId = this.openCase(opts);
    this.approveCase(caseId, opts.approver);
    return caseId;
  }

  /** CaseExtensionRequested by the opener, then CaseExtended by `approver`, at the clock. */
  extendCase(caseId: string, newExpiry: number, approver: number = Participants.prosecutor): this {
    const c = this.caseOf(caseId);
    this.emit("CaseRegistry", "CaseExtensionRequested", {
      caseId,
      actor: Participants.police,
      args: {
        caseId,
        requester: `${Participants.police}`,
        newExpiry: `${newExpiry}`,
        replacedExpiry: "0",
        signer: keyOf(Participants.police),
      },
    });
    this.emit("CaseRegistry", "CaseExtended", {
      caseId,
      actor: approver,
      args: {
        caseId,
        approver: `${approver}`,
        previousExpiry: `${c.expiresAt}`,
        newExpiry: `${newExpiry}`,
        signer: keyOf(approver),
      },
    });
    c.expiresAt = newExpiry;
    return this;
  }

  /** CaseClosed by `closer`. */
  closeCase(caseId: string, closer: number = Participants.police): this {
    this.caseOf(caseId);
    this.emit("CaseRegistry", "CaseClosed", {
      caseId,
      actor: closer,
      args: { caseId, closer: `${closer}`, reasonCode: "1", signer: keyOf(closer) },
    });
    return this;
  }

  // ------------------------------------------------------------------------------- access

  /**
   * AccessRequested under `caseId` (registering the provider's dataset first if needed). The
   * subject is a phone number committed with the case's key, or a raw `subjectCommitment`.
   */
  request(opts: {
    caseId: string;
    requester?: number;
    provider?: number;
    subject?: string;
    subjectCommitment?: string;
    dataKind?: number;
  }): string {
    const c = this.caseOf(opts.caseId);
    const requester = opts.requester ?? Participants.police;
    const provider = opts.provider ?? Participants.bank;
    const dataKind = opts.dataKind ?? 0;
    const datasetId = this.datasetOf(provider, dataKind);
    const requestId = `${++this.counters.request}`;
    const subject = (
      opts.subjectCommitment ?? commitSubject("phone", opts.subject ?? "+41791234567", c.key)
    ).toLowerCase();
    this.requestStates.set(requestId, { caseId: opts.caseId, requester, provider, deliveries: 0 });
    this.emit("AccessLedger", "AccessRequested", {
      caseId: opts.caseId,
      requestId,
      datasetId,
      actor: requester,
      counterpart: provider,
      subject,
      args: {
        requestId,
        caseId: opts.caseId,
        provider: `${provider}`,
        requester: `${requester}`,
        datasetId,
        dataKind: `${dataKind}`,
        subjectCommitment: subject,
        purposeCode: "2",
        signer: keyOf(requester),
      },
    });
    return requestId;
  }

  /** `count` requests, one every `spacing` seconds from the clock; returns their ids. */
  requests(count: number, spacing: number, opts: Parameters<EventLog["request"]>[0]): string[] {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      if (i > 0) this.after(spacing);
      ids.push(this.request({ subject: `+4179123${String(4000 + i)}`, ...opts }));
    }
    return ids;
  }

  /** AccessGranted by the request's provider, until `expiresAt` (default: the case's expiry). */
  grant(requestId: string, opts: { expiresAt?: number; maxRecords?: number } = {}): this {
    const r = this.requestOf(requestId);
    const expiresAt = opts.expiresAt ?? this.caseOf(r.caseId).expiresAt;
    this.emit("AccessLedger", "AccessGranted", {
      caseId: r.caseId,
      requestId,
      actor: r.provider,
      args: {
        requestId,
        caseId: r.caseId,
        provider: `${r.provider}`,
        expiresAt: `${expiresAt}`,
        maxRecords: `${opts.maxRecords ?? 1000}`,
        signer: keyOf(r.provider),
      },
    });
    return this;
  }

  /** AccessRequestWithdrawn by the request's requester. */
  withdraw(requestId: string): this {
    const r = this.requestOf(requestId);
    this.emit("AccessLedger", "AccessRequestWithdrawn", {
      caseId: r.caseId,
      requestId,
      actor: r.requester,
      counterpart: r.provider,
      args: {
        requestId,
        caseId: r.caseId,
        requester: `${r.requester}`,
        provider: `${r.provider}`,
        signer: keyOf(r.requester),
      },
    });
    return this;
  }

  /** AccessDenied by the request's provider. */
  deny(requestId: string): this {
    return this.providerAction("AccessDenied", requestId);
  }

  /** GrantRevoked by the request's provider. */
  revoke(requestId: string): this {
    return this.providerAction("GrantRevoked", requestId);
  }

  /**
   * DeliveryAttested for the request, signed by both parties and submitted by the provider, with
   * the providerId and requesterId arguments of the current AccessLedger.
   */
  deliver(requestId: string, recordCount = 10): string {
    const r = this.requestOf(requestId);
    const deliveryId = `${++this.counters.delivery}`;
    const sequence = r.deliveries++;
    this.emit("AccessLedger", "DeliveryAttested", {
      caseId: r.caseId,
      requestId,
      deliveryId,
      actor: r.provider,
      counterpart: r.requester,
      signer: keyOf(r.provider),
      args: {
        deliveryId,
        requestId,
        caseId: r.caseId,
        providerId: `${r.provider}`,
        requesterId: `${r.requester}`,
        delivery: {
          requestId,
          sequence: `${sequence}`,
          payloadHash: keccakText(`payload ${deliveryId}`),
          recordCount: `${recordCount}`,
          deadline: `${this.clock + HOUR}`,
        },
        provider: { signer: keyOf(r.provider), signature: signatureOf(r.provider, deliveryId) },
        requester: { signer: keyOf(r.requester), signature: signatureOf(r.requester, deliveryId) },
        submitter: keyOf(r.provider),
      },
    });
    return deliveryId;
  }

  // ------------------------------------------------------------------------------ exchange

  /**
   * DeliveryOffered by the request's provider, of its next delivery unless `sequence` says which
   * (ExchangeLedger); returns the offer id.
   */
  offer(
    requestId: string,
    opts: { sequence?: number; retentionSeconds?: number; recipientKeyId?: number } = {},
  ): string {
    const r = this.requestOf(requestId);
    const offerId = `${++this.counters.offer}`;
    const sequence = opts.sequence ?? r.deliveries;
    this.offers.set(offerId, { requestId, sequence });
    this.emit("ExchangeLedger", "DeliveryOffered", {
      caseId: r.caseId,
      requestId,
      actor: r.provider,
      counterpart: r.requester,
      args: {
        requestId,
        provider: `${r.provider}`,
        requester: `${r.requester}`,
        offerId,
        caseId: r.caseId,
        sequence: `${sequence}`,
        payloadHash: keccakText(`payload of offer ${offerId}`),
        ciphertextHash: keccakText(`ciphertext of offer ${offerId}`),
        ciphertextBytes: "4096",
        recipientKeyId: `${opts.recipientKeyId ?? 1}`,
        retentionSeconds: `${opts.retentionSeconds ?? 7 * DAY}`,
        signer: keyOf(r.provider),
      },
    });
    return offerId;
  }

  /** DeliveryPurged of `offerId` by its provider; `reason` as the contract numbers it (0: retention). */
  purge(offerId: string, reason = 0): this {
    const o = this.offers.get(offerId);
    if (o === undefined) throw new Error(`no offer ${offerId} in the log`);
    const r = this.requestOf(o.requestId);
    this.emit("ExchangeLedger", "DeliveryPurged", {
      caseId: r.caseId,
      requestId: o.requestId,
      actor: r.provider,
      counterpart: r.requester,
      args: {
        requestId: o.requestId,
        provider: `${r.provider}`,
        requester: `${r.requester}`,
        offerId,
        caseId: r.caseId,
        sequence: `${o.sequence}`,
        reason: `${reason}`,
        signer: keyOf(r.provider),
      },
    });
    return this;
  }

  // ------------------------------------------------------------------------------ matching

  /** MatchSessionOpened by the request's requester; returns the session id. */
  openMatch(requestId: string, opts: { mode?: 0 | 1; setSize?: number } = {}): string {
    const r = this.requestOf(requestId);
    const sessionId = `${++this.counters.session}`;
    this.sessions.set(sessionId, requestId);
    this.emit("MatchingLedger", "MatchSessionOpened", {
      caseId: r.caseId,
      requestId,
      actor: r.requester,
      counterpart: r.provider,
      args: {
        sessionId,
        requestId,
        caseId: r.caseId,
        requesterId: `${r.requester}`,
        providerId: `${r.provider}`,
        mode: `${opts.mode ?? 0}`,
        tag: keccakText(`tag ${sessionId}`),
        requestDigest: keccakText(`request message ${sessionId}`),
        setSize: `${opts.setSize ?? 100}`,
        signer: keyOf(r.requester),
      },
    });
    return sessionId;
  }

  /** MatchResponseRecorded: the provider's signed commitment, submitted by the requester. */
  respondMatch(sessionId: string, providerSetSize = 500): this {
    const [requestId, r] = this.sessionOf(sessionId);
    this.emit("MatchingLedger", "MatchResponseRecorded", {
      caseId: r.caseId,
      requestId,
      actor: r.provider,
      counterpart: r.requester,
      signer: keyOf(r.requester),
      args: {
        sessionId,
        requestId,
        caseId: r.caseId,
        providerId: `${r.provider}`,
        requesterId: `${r.requester}`,
        responseDigest: keccakText(`response message ${sessionId}`),
        providerSetSize: `${providerSetSize}`,
        provider: { signer: keyOf(r.provider), signature: signatureOf(r.provider, sessionId) },
        submitter: keyOf(r.requester),
      },
    });
    return this;
  }

  /** MatchCompleted: a result both parties signed, submitted by the requester. */
  completeMatch(sessionId: string, cardinality = 7): this {
    const [requestId, r] = this.sessionOf(sessionId);
    this.emit("MatchingLedger", "MatchCompleted", {
      caseId: r.caseId,
      requestId,
      actor: r.requester,
      counterpart: r.provider,
      signer: keyOf(r.requester),
      args: {
        sessionId,
        requestId,
        caseId: r.caseId,
        requesterId: `${r.requester}`,
        providerId: `${r.provider}`,
        resultCommitment: keccakText(`result ${sessionId}`),
        cardinality: `${cardinality}`,
        provider: { signer: keyOf(r.provider), signature: signatureOf(r.provider, sessionId) },
        requester: { signer: keyOf(r.requester), signature: signatureOf(r.requester, sessionId) },
        submitter: keyOf(r.requester),
      },
    });
    return this;
  }

  /** MatchFailed by `by` (default: the requester) with `reasonCode` (default 6, timeout). */
  failMatch(sessionId: string, opts: { by?: number; reasonCode?: number } = {}): this {
    const [requestId, r] = this.sessionOf(sessionId);
    const by = opts.by ?? r.requester;
    this.emit("MatchingLedger", "MatchFailed", {
      caseId: r.caseId,
      requestId,
      actor: by,
      args: {
        sessionId,
        requestId,
        caseId: r.caseId,
        participantId: `${by}`,
        reasonCode: `${opts.reasonCode ?? 6}`,
        signer: keyOf(by),
      },
    });
    return this;
  }

  // ----------------------------------------------------------------------------- anchoring

  /**
   * LogAnchored by `participant` for `entryCount` entries; the batch starts where the
   * participant's previous batch ended unless `firstSequence` says otherwise.
   */
  anchor(
    participant: number,
    entryCount: number,
    opts: { caseId?: string; firstSequence?: number } = {},
  ): string {
    const anchorId = `${++this.counters.anchor}`;
    const first =
      opts.firstSequence === undefined
        ? (this.sequences.get(participant) ?? 0n)
        : BigInt(opts.firstSequence);
    this.sequences.set(participant, first + BigInt(entryCount));
    const caseId = opts.caseId ?? "0";
    this.emit("AccessLogAnchor", "LogAnchored", {
      caseId,
      anchorId,
      actor: participant,
      args: {
        anchorId,
        caseId,
        participant: `${participant}`,
        firstSequence: `${first}`,
        root: keccakText(`root of anchor ${anchorId}`),
        entryCount: `${entryCount}`,
        signer: keyOf(participant),
      },
    });
    return anchorId;
  }

  // ---------------------------------------------------------------------------------- output

  /** What the indexer would write for the whole log: events, the newest header, the checkpoint. */
  range(): RangeWrite {
    const newest = this.head ?? this.block;
    if (newest === null) {
      return {
        events: [],
        blocks: [],
        checkpoint: { blockNumber: 0, blockHash: blockHashOf(0) },
        pruneBelow: 0,
      };
    }
    return {
      events: this.rows,
      blocks: [newest],
      checkpoint: { blockNumber: newest.number, blockHash: newest.hash },
      pruneBelow: 0,
    };
  }

  // -------------------------------------------------------------------------------- internals

  private providerAction(event: "AccessDenied" | "GrantRevoked", requestId: string): this {
    const r = this.requestOf(requestId);
    this.emit("AccessLedger", event, {
      caseId: r.caseId,
      requestId,
      actor: r.provider,
      args: {
        requestId,
        caseId: r.caseId,
        provider: `${r.provider}`,
        reasonCode: "4",
        signer: keyOf(r.provider),
      },
    });
    return this;
  }

  private datasetOf(provider: number, dataKind: number): string {
    const k = `${provider}/${dataKind}`;
    const known = this.datasets.get(k);
    if (known !== undefined) return known;
    const datasetId = `${++this.counters.dataset}`;
    this.datasets.set(k, datasetId);
    this.emit("AccessLedger", "DatasetRegistered", {
      datasetId,
      actor: provider,
      args: {
        datasetId,
        provider: `${provider}`,
        dataKind: `${dataKind}`,
        schemaCommitment: keccakText(`schema ${dataKind}`),
        signer: keyOf(provider),
      },
    });
    return datasetId;
  }

  private caseOf(caseId: string): CaseState {
    const c = this.cases.get(caseId);
    if (c === undefined) throw new Error(`no case ${caseId} in the log`);
    return c;
  }

  private sessionOf(sessionId: string): [string, RequestState] {
    const requestId = this.sessions.get(sessionId);
    if (requestId === undefined) throw new Error(`no matching session ${sessionId} in the log`);
    return [requestId, this.requestOf(requestId)];
  }

  private requestOf(requestId: string): RequestState {
    const r = this.requestStates.get(requestId);
    if (r === undefined) throw new Error(`no request ${requestId} in the log`);
    return r;
  }

  private nextBlock(): BlockHeader {
    const previous = this.head ?? this.block;
    const number = (previous?.number ?? 99) + 1;
    return {
      number,
      hash: blockHashOf(number),
      parentHash: blockHashOf(number - 1),
      timestamp: this.clock,
    };
  }

  /** Appends one event in its own transaction: in the current block if the clock hasn't moved. */
  private emit(
    contract: ContractName,
    event: string,
    f: {
      caseId?: string;
      requestId?: string;
      deliveryId?: string;
      anchorId?: string;
      datasetId?: string;
      actor?: number;
      counterpart?: number;
      signer?: string;
      subject?: string;
      args: Record<string, unknown>;
    },
  ): void {
    const newest = this.head ?? this.block;
    if (newest === null || newest.timestamp < this.clock || newest === this.head) {
      this.block = this.nextBlock();
      this.head = null;
      this.logIndex = 0;
    } else {
      this.logIndex++;
    }
    const block = this.block;
    if (block === null) throw new Error("unreachable: no block");
    const signerArg = f.args["signer"];
    this.rows.push({
      blockNumber: block.number,
      logIndex: this.logIndex,
      txIndex: this.logIndex,
      txHash: keccakText(`tx ${block.number}/${this.logIndex}`),
      blockHash: block.hash,
      blockTime: block.timestamp,
      contract,
      event,
      caseId: f.caseId ?? null,
      requestId: f.requestId ?? null,
      deliveryId: f.deliveryId ?? null,
      anchorId: f.anchorId ?? null,
      datasetId: f.datasetId ?? null,
      proposalId: null,
      actor: f.actor ?? null,
      counterpart: f.counterpart ?? null,
      signer: f.signer ?? (typeof signerArg === "string" ? signerArg : null),
      subject: f.subject ?? null,
      args: f.args,
    });
  }
}

function blockHashOf(n: number): string {
  return keccakText(`block ${n}`);
}

/** A 65-byte stand-in signature (r, s, v): the tracer never checks it, the contract did. */
function signatureOf(participant: number, deliveryId: string): string {
  const r = keccakText(`r ${participant} ${deliveryId}`).slice(2);
  const s = keccakText(`s ${participant} ${deliveryId}`).slice(2);
  return `0x${r}${s}1b`;
}
