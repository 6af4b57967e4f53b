/**
 * The provider's gateway (docs/exchange.md, "The gateway"): it watches the access ledger for
 * grants to its institution, turns each into an offer (the handler's export sealed to the
 * requester's current encryption key, the `Delivery` signed with the envelope's commitment as
 * `payloadHash`, the ciphertext's hash and size signed beside it), keeps the offers on disk, and
 * decides, against the ledger at the time of asking, who may download them. The HTTP side is
 * gateway-server.ts.
 *
 * Grants are found by polling the ledger's `AccessGranted` events filtered on the indexed
 * `provider`: the node answers with this institution's grants alone, and the gateway needs no
 * store of the whole consortium's events (an embedded store takes one process, which the
 * institution's tracer may be). The offers on disk, a block cursor and the refusals waiting for
 * a retry are its only state, all in its directory, which one process holds at a time.
 */
import { createWriteStream } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Signer, TypedDataDomain } from "ethers";
import type { ConsortiumContracts } from "../client/deployment.js";
import { accessLedgerDomain, signDelivery, type Delivery } from "../client/eip712.js";
import { currentEncryptionKey } from "../client/encryption-keys.js";
import {
  ledgerOfferOf,
  offerOnLedger,
  recordPurge,
  type PurgeReason as LedgerPurgeReason,
} from "../client/exchange-ledger.js";
import type { GatewayRecord } from "../ledger/access-log.js";
import { VeritraceError } from "../shared/errors.js";
import { sealEnvelope } from "./envelope.js";
import { runHandler, HandlerError } from "./handler.js";
import {
  DELIVERY_OFFER_TYPES,
  gatewayDomain,
  type DeliveryOffer,
  type GatewayRequest,
  type Offer,
} from "./protocol.js";
import {
  verifyRequestSignature,
  type ContractSignatureLimits,
  type SignatureVerdict,
} from "./request-signature.js";

/** Request statuses, in the order of IAccessLedger.RequestStatus. */
export const REQUEST_STATUS = ["None", "Pending", "Granted", "Denied", "Revoked", "Withdrawn"];

/** One JSON log entry (a line of the gateway's log). */
export type GatewayLog = (entry: Record<string, unknown>) => void;

export interface GatewayOptions {
  contracts: ConsortiumContracts;
  /** This institution's signing key, connected to the node. */
  signer: Signer;
  /** The participant the key speaks for. */
  participantId: number;
  chainId: bigint;
  /** Where offers and the cursor are kept. */
  dir: string;
  /** The handler command (run with /bin/sh -c). */
  handler: string;
  handlerTimeoutMs: number;
  /** How long the requester has to acknowledge an offer, in seconds (capped by the grant). */
  offerTtl: number;
  /** First block to look for grants in (the deployment's start block). */
  startBlock: number;
  /** Grants offered at once (handlers running at once). Default 4. */
  concurrency?: number;
  /** Retries of a grant refused for a transient reason, after the first attempt. Default 0. */
  retryMax?: number;
  /** The wait before the first retry, doubled before each next one (capped at an hour). */
  retryBackoffMs?: number;
  /** Blocks a grant must be under the head before it is acted on. Default 0. */
  confirmations?: number;
  /** Bounds of a contract signer's ERC-1271 check. */
  contractSignatureLimits?: ContractSignatureLimits;
  log: GatewayLog;
  /**
   * Seconds an acknowledged delivery's ciphertext is kept after the acknowledgement's block
   * (default {@link DEFAULT_RETENTION}); see {@link Gateway.purge}.
   */
  retention?: number;
  /** The access log (gateway-log.ts): offers and purges are written to it before they count. */
  accessLog?: GatewayAccessSink;
}

/** The longest wait between two attempts at a grant. */
const MAX_RETRY_DELAY_MS = 3_600_000;

/**
 * A grant's refusal, kept in DIR/refusals/<requestId>.json so that a restart keeps the schedule:
 * `retrying` until `nextAttemptAt`, `refused` for good (a permanent reason, or the retries spent).
 * Removed once the grant is offered or found no longer live.
 */
export interface RefusalRecord {
  requestId: string;
  state: "retrying" | "refused";
  /** Attempts made so far. */
  attempts: number;
  reason: string;
  detail: string;
  lastAttemptAt: string;
  nextAttemptAt: string | null;
}

/** How a grant was settled by one pass. */
type Settlement = "offered" | "offered-before" | "skipped" | "recorded" | "deferred";

/** One attempt's outcome: a refusal says whether it is final. */
type Attempt =
  | { result: "offered" | "offered-before" | "skipped" }
  | { result: "refused"; reason: string; detail: string; permanent: boolean; caseId?: bigint };

/** At most `size` holders at once; the others wait in order. */
class Slots {
  private used = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly size: number) {}

  async acquire(): Promise<void> {
    if (this.used < this.size) {
      this.used++;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  release(): void {
    const next = this.waiting.shift();
    // The slot passes to the next waiter as it is.
    if (next !== undefined) next();
    else this.used--;
  }
}

/** Where the gateway's events are logged; `write` throws when it can't. */
export interface GatewayAccessSink {
  write(record: GatewayRecord): void;
}

/** The default retention after acknowledgement: 30 days. */
export const DEFAULT_RETENTION = 30 * 86_400;

/** Why an offer's ciphertext was deleted. */
export type PurgeReason =
  | "grant-revoked"
  | "request-withdrawn"
  | "grant-expired"
  | "case-closed"
  | "case-expired"
  | "superseded"
  | "retention-elapsed";

/** How each reason is recorded on ExchangeLedger (its enum is coarser). */
const LEDGER_PURGE_REASON: Record<PurgeReason, LedgerPurgeReason> = {
  "grant-revoked": "revoked",
  "request-withdrawn": "revoked",
  "grant-expired": "expired",
  "case-closed": "case-closed",
  "case-expired": "expired",
  superseded: "superseded",
  "retention-elapsed": "retention",
};

/** A refusal of an HTTP request: status, problem code and a one-line detail. */
export class GatewayRefusal extends VeritraceError {
  override name = "GatewayRefusal";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message, { kind: status === 404 ? "not-found" : "conflict" });
  }
}

/** Who was let through, for the log. */
export interface Authorized {
  participant: number;
  caseId: bigint;
}

/** The provider's gateway: grants in, offers out, downloads authorized against the ledger. */
export class Gateway {
  readonly ledgerDomain: TypedDataDomain;
  readonly domain: TypedDataDomain;
  /** The block the cursor on disk names: below it, every grant is settled. */
  private cursor: number | undefined;
  private cursorOnDisk: number | undefined;
  private cursorSaved: Promise<void> = Promise.resolve();
  /** The next block to look for grants in. */
  private scanned: number | undefined;
  /** Blocks with grants not settled yet, and how many. */
  private readonly unsettled = new Map<number, number>();
  /** The settlements under way. */
  private readonly settling = new Set<Promise<void>>();
  private stopping = false;
  private readonly accessLedger: string;
  /** The grants being attempted, by request id: one attempt at a time each. */
  private readonly inFlight = new Map<string, Promise<Settlement>>();
  private readonly slots: Slots;
  /** The last of the gateway's transactions queued (see `serially`). */
  private sending: Promise<unknown> = Promise.resolve();

  /** The delivery on the ledger at each acknowledged offer's sequence, by "requestId/sequence". */
  private readonly acknowledgements = new Map<
    string,
    { deliveryId: bigint; payloadHash: string; at: bigint }
  >();

  private constructor(
    private readonly o: GatewayOptions,
    accessLedger: string,
  ) {
    this.accessLedger = accessLedger;
    this.ledgerDomain = accessLedgerDomain(o.chainId, accessLedger);
    this.domain = gatewayDomain(o.chainId, accessLedger);
    this.slots = new Slots(Math.max(1, o.concurrency ?? 4));
  }

  static async open(options: GatewayOptions): Promise<Gateway> {
    await mkdir(path.join(options.dir, "offers"), { recursive: true, mode: 0o700 });
    return new Gateway(options, await options.contracts.access.getAddress());
  }

  get participantId(): number {
    return this.o.participantId;
  }

  private offerDir(requestId: bigint): string {
    return path.join(this.o.dir, "offers", requestId.toString());
  }

  /** The file of an offer's envelope. */
  envelopeFile(requestId: bigint, sequence: number): string {
    return path.join(this.offerDir(requestId), `${sequence}.age`);
  }

  /** The offers made under a request, by sequence. */
  async offers(requestId: bigint): Promise<Offer[]> {
    let names: string[];
    try {
      names = await readdir(this.offerDir(requestId));
    } catch {
      return [];
    }
    const sequences = names
      .map((n) => /^(\d+)\.json$/.exec(n)?.[1])
      .filter((s): s is string => s !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
    return Promise.all(
      sequences.map(
        async (s) =>
          JSON.parse(
            await readFile(path.join(this.offerDir(requestId), `${s}.json`), "utf8"),
          ) as Offer,
      ),
    );
  }

  private async chainNow(): Promise<bigint> {
    const block = await this.o.contracts.access.runner?.provider?.getBlock("latest");
    if (block === null || block === undefined)
      throw new VeritraceError("the node returned no latest block", { kind: "unavailable" });
    return BigInt(block.timestamp);
  }

  // ---------------------------------------------------------------- grants → offers

  /**
   * Looks for grants to this institution from where the last look stopped to the head less
   * `confirmations`, and starts the offer of each (up to `concurrency` handlers run at once; the
   * rest wait for a slot); then starts the retries whose time has come. Returns the grants
   * started, without waiting for them ({@link idle} does), so that a slow handler holds back no
   * grant found later. Each grant is attempted by one attempt at a time, whoever asks.
   *
   * The cursor on disk moves past a block only once every grant in it is settled: offered,
   * skipped (not live), or recorded in DIR as refused (to retry, or for good). A crash before
   * that rescans the block, where the offers on disk and the records keep anything from being
   * done twice.
   */
  async poll(): Promise<number> {
    const { access } = this.o.contracts;
    const provider = access.runner?.provider;
    if (provider === null || provider === undefined)
      throw new VeritraceError("the contracts have no provider", { kind: "invalid-input" });
    if (this.scanned === undefined) {
      const next = await this.readCursor();
      this.scanned ??= next;
      this.cursor ??= next;
    }
    const head = (await provider.getBlockNumber()) - (this.o.confirmations ?? 0);
    let started = 0;
    while (this.scanned <= head) {
      const from: number = this.scanned;
      const to = Math.min(head, from + 9_999);
      const events = await access.queryFilter(
        access.filters.AccessGranted(undefined, undefined, this.o.participantId),
        from,
        to,
      );
      // Another poll scanned these blocks meanwhile: its grants are under way.
      if (this.scanned !== from) continue;
      for (const e of events) {
        this.unsettled.set(e.blockNumber, (this.unsettled.get(e.blockNumber) ?? 0) + 1);
        this.track(e.args.requestId, e.blockNumber);
        started++;
      }
      this.scanned = to + 1;
      this.saveCursor();
    }
    for (const id of await this.dueRetries()) {
      this.track(id, undefined, true);
      started++;
    }
    return started;
  }

  /**
   * Stops starting attempts: the ones running finish, the ones waiting for a slot are left
   * unsettled (the cursor stays before them, so the next process attempts them). Resolves once
   * the gateway is idle.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.idle();
  }

  /** Resolves once every grant started so far is settled (and the cursor saved). */
  async idle(): Promise<void> {
    while (this.settling.size > 0) await Promise.all(this.settling);
    await this.cursorSaved;
  }

  /** Settles a grant in the background; once it is, the cursor may pass its block. */
  private track(requestId: bigint, block: number | undefined, retry = false): void {
    const done: Promise<void> = this.settleGrant(requestId, retry).then(
      (settlement) => {
        if (block === undefined || settlement === "deferred") return;
        const left = (this.unsettled.get(block) ?? 1) - 1;
        if (left > 0) this.unsettled.set(block, left);
        else this.unsettled.delete(block);
        this.saveCursor();
      },
      (error: unknown) =>
        // Not even recorded (the disk failed): the block stays unsettled, so the cursor on disk
        // stays before it and a restart attempts the grant again.
        this.o.log({
          level: "error",
          msg: "grant not settled",
          requestId,
          detail: (error as Error).message.split("\n")[0],
          ...(block === undefined ? {} : { block }),
        }),
    );
    this.settling.add(done);
    void done.finally(() => this.settling.delete(done));
  }

  /**
   * Saves the cursor: the lowest block with a grant unsettled, or the next block to scan. The
   * writes are queued, so that none overtakes another; it never moves back.
   */
  private saveCursor(): void {
    const next = Math.min(this.scanned ?? 0, ...this.unsettled.keys());
    if (this.cursor !== undefined && next <= this.cursor) return;
    this.cursor = next;
    this.cursorSaved = this.cursorSaved
      .then(async () => {
        const value = this.cursor;
        if (value === undefined || value === this.cursorOnDisk) return;
        const file = path.join(this.o.dir, "cursor.json");
        await writeFile(`${file}.partial`, `${JSON.stringify({ next: value })}\n`);
        await rename(`${file}.partial`, file);
        this.cursorOnDisk = value;
      })
      .catch((error: unknown) =>
        this.o.log({
          level: "error",
          msg: "cursor not saved",
          detail: (error as Error).message.split("\n")[0],
        }),
      );
  }

  private async readCursor(): Promise<number> {
    try {
      const { next } = JSON.parse(await readFile(path.join(this.o.dir, "cursor.json"), "utf8")) as {
        next: number;
      };
      if (Number.isSafeInteger(next) && next >= 0) return next;
    } catch {
      // No cursor yet: from the deployment's first block.
    }
    return this.o.startBlock;
  }

  // ---------------------------------------------------------------- refusals and retries

  private refusalFile(requestId: bigint): string {
    return path.join(this.o.dir, "refusals", `${requestId}.json`);
  }

  /** The refusal recorded for a grant, if any. */
  async refusal(requestId: bigint): Promise<RefusalRecord | undefined> {
    try {
      return JSON.parse(await readFile(this.refusalFile(requestId), "utf8")) as RefusalRecord;
    } catch {
      return undefined;
    }
  }

  private async recordRefusal(record: RefusalRecord): Promise<void> {
    const file = this.refusalFile(BigInt(record.requestId));
    await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
    await writeFile(`${file}.partial`, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
    await rename(`${file}.partial`, file);
  }

  /** The grants whose retry is due (their attempts are scheduled in DIR/refusals). */
  private async dueRetries(): Promise<bigint[]> {
    let names: string[];
    try {
      names = await readdir(path.join(this.o.dir, "refusals"));
    } catch {
      return [];
    }
    const now = Date.now();
    const due: bigint[] = [];
    for (const n of names) {
      const id = /^(\d+)\.json$/.exec(n)?.[1];
      if (id === undefined || this.inFlight.has(id)) continue;
      const r = await this.refusal(BigInt(id));
      if (r?.state === "retrying" && Date.parse(r.nextAttemptAt ?? "") <= now) due.push(BigInt(id));
    }
    return due;
  }

  /**
   * Settles one grant: nothing when it is offered already, in flight, or recorded as refused
   * (a retry waits for its time: `retry` says it has come); otherwise one attempt, whose
   * transient failure is recorded with the time of the next attempt, and whose permanent one for
   * good. The same grant is never attempted twice at once (the polls share the attempt).
   */
  private settleGrant(requestId: bigint, retry = false): Promise<Settlement> {
    const key = requestId.toString();
    const running = this.inFlight.get(key);
    if (running !== undefined) return running;
    const attempt = (async (): Promise<Settlement> => {
      const before = await this.refusal(requestId);
      if (
        before !== undefined &&
        (before.state === "refused" ||
          !retry ||
          Date.parse(before.nextAttemptAt ?? "") > Date.now())
      )
        return "recorded";
      if ((await this.offers(requestId)).length > 0) return "offered-before";
      const number = (before?.attempts ?? 0) + 1;
      await this.slots.acquire();
      if (this.stopping) {
        // Not attempted: left unsettled, for the next process.
        this.slots.release();
        return "deferred";
      }
      let outcome: Attempt;
      try {
        outcome = await this.attemptOffer(requestId, number);
      } catch (error) {
        // The node or the disk failed mid-attempt: transient.
        outcome = {
          result: "refused",
          reason: "node-error",
          detail: (error as Error).message.split("\n")[0] ?? "",
          permanent: false,
        };
      } finally {
        this.slots.release();
      }
      if (outcome.result !== "refused") {
        if (before !== undefined) await rm(this.refusalFile(requestId), { force: true });
        return outcome.result;
      }
      const retryMax = this.o.retryMax ?? 0;
      const giveUp = outcome.permanent || number > retryMax;
      const delay = Math.min(
        (this.o.retryBackoffMs ?? 30_000) * 2 ** (number - 1),
        MAX_RETRY_DELAY_MS,
      );
      const record: RefusalRecord = {
        requestId: key,
        state: giveUp ? "refused" : "retrying",
        attempts: number,
        reason: outcome.reason,
        detail: outcome.detail,
        lastAttemptAt: new Date().toISOString(),
        nextAttemptAt: giveUp ? null : new Date(Date.now() + delay).toISOString(),
      };
      await this.recordRefusal(record);
      this.o.log({
        level: "warn",
        msg: "refused",
        requestId,
        attempt: number,
        reason: outcome.reason,
        detail: outcome.detail,
        ...(outcome.caseId === undefined ? {} : { caseId: outcome.caseId }),
        ...(giveUp
          ? { retry: false, why: outcome.permanent ? "permanent" : `${retryMax} retries made` }
          : { retry: true, nextAttemptAt: record.nextAttemptAt }),
      });
      return "recorded";
    })().finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, attempt);
    return attempt;
  }

  /**
   * Makes the offer of a grant if it is live, not offered yet and not recorded as refused: true
   * when an offer was made (a refusal is recorded as `poll` records it).
   */
  async offerGrant(requestId: bigint): Promise<boolean> {
    return (await this.settleGrant(requestId)) === "offered";
  }

  /** One attempt at a grant's offer; its refusal says whether another attempt could succeed. */
  private async attemptOffer(requestId: bigint, attempt: number): Promise<Attempt> {
    const { contracts, log } = this.o;
    if ((await this.offers(requestId)).length > 0) return { result: "offered-before" };
    const r = await contracts.access.getRequest(requestId);
    const status = REQUEST_STATUS[Number(r.status)] ?? String(r.status);
    const skip = (reason: string): Attempt => {
      log({ level: "info", msg: "skipped", requestId, attempt, reason });
      return { result: "skipped" };
    };
    if (status !== "Granted") return skip(`the request is ${status}, not granted`);
    const now = await this.chainNow();
    if (now >= r.grantExpiresAt) return skip(`the grant expired at ${r.grantExpiresAt}`);
    if (!(await contracts.cases.isActive(r.caseId)))
      return skip(`case ${r.caseId} is not open (closed or expired)`);
    const refuse = (reason: string, detail: string, permanent = false): Attempt => ({
      result: "refused",
      reason,
      detail,
      permanent,
      caseId: r.caseId,
    });

    let key;
    try {
      key = await currentEncryptionKey(contracts, Number(r.requester));
    } catch (e) {
      return refuse(
        "no-recipient-key",
        `institution ${r.requester} has no current encryption key: ${(e as Error).message}`,
      );
    }
    const [asked] = await contracts.access.queryFilter(
      contracts.access.filters.AccessRequested(requestId),
    );
    const sequence = Number(r.deliveries);
    const remaining = r.maxRecords - r.deliveredRecords;
    const input = {
      chainId: this.o.chainId.toString(),
      accessLedger: this.accessLedger,
      requestId: requestId.toString(),
      caseId: r.caseId.toString(),
      provider: Number(r.provider),
      requester: Number(r.requester),
      datasetId: r.datasetId.toString(),
      dataKind: asked === undefined ? null : Number(asked.args.dataKind),
      subjectCommitment: asked?.args.subjectCommitment ?? null,
      purposeCode: asked === undefined ? null : Number(asked.args.purposeCode),
      grantExpiresAt: Number(r.grantExpiresAt),
      maxRecords: r.maxRecords.toString(),
      remainingRecords: remaining.toString(),
      sequence,
    };

    const dir = this.offerDir(requestId);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const partial = path.join(dir, `.${sequence}.age.partial`);
    const binding = {
      chainId: this.o.chainId,
      accessLedger: this.accessLedger,
      requestId,
      caseId: r.caseId,
      provider: Number(r.provider),
      requester: Number(r.requester),
      sequence,
      recipientKeyId: key.keyId,
    };
    let run;
    try {
      run = await runHandler(this.o.handler, input, this.o.handlerTimeoutMs, (stdout) =>
        sealEnvelope(stdout, createWriteStream(partial, { mode: 0o600 }), {
          recipient: key.publicKey,
          binding,
        }),
      );
    } catch (e) {
      await rm(partial, { force: true });
      if (e instanceof HandlerError) return refuse(`handler-${e.reason}`, e.message);
      throw e;
    }
    if (run.records > remaining) {
      await rm(partial, { force: true });
      return refuse(
        "record-limit",
        `the export has ${run.records} records; the grant allows ${remaining} more`,
        true,
      );
    }

    const sealed = run.result;
    const deadlineCap = BigInt(r.grantExpiresAt) - 1n;
    const wanted = (await this.chainNow()) + BigInt(this.o.offerTtl);
    const delivery: Delivery = {
      requestId,
      sequence,
      payloadHash: sealed.commitment,
      recordCount: run.records,
      deadline: wanted < deadlineCap ? wanted : deadlineCap,
    };
    const signerAddress = await this.o.signer.getAddress();
    const deliverySignature = await signDelivery(this.o.signer, this.ledgerDomain, delivery);
    const offered: DeliveryOffer = {
      requestId,
      sequence,
      payloadHash: sealed.commitment,
      ciphertextHash: sealed.ciphertextHash,
      ciphertextBytes: BigInt(sealed.ciphertextBytes),
      recipientKeyId: key.keyId,
    };
    const offerSignature = await this.o.signer.signTypedData(
      this.domain,
      DELIVERY_OFFER_TYPES,
      offered,
    );
    const offer: Offer = {
      version: 1,
      chainId: this.o.chainId.toString(),
      accessLedger: this.accessLedger,
      requestId: requestId.toString(),
      caseId: r.caseId.toString(),
      provider: Number(r.provider),
      requester: Number(r.requester),
      sequence,
      recipientKeyId: key.keyId.toString(),
      delivery: {
        requestId: requestId.toString(),
        sequence,
        payloadHash: sealed.commitment,
        recordCount: run.records.toString(),
        deadline: delivery.deadline.toString(),
      },
      providerSignature: { signer: signerAddress, signature: deliverySignature },
      ciphertextHash: sealed.ciphertextHash,
      ciphertextBytes: sealed.ciphertextBytes.toString(),
      offerSignature,
      offeredAt: new Date().toISOString(),
    };
    // The envelope first, then the offer on the ledger, the offer on disk last: an offer on disk
    // always has its whole envelope and its record on chain.
    await rename(partial, this.envelopeFile(requestId, sequence));
    try {
      offer.ledgerOfferId = (await this.offerOnChain(offered)).toString();
    } catch (e) {
      await rm(this.envelopeFile(requestId, sequence), { force: true });
      return refuse(
        "ledger-offer",
        `ExchangeLedger refused the offer: ${(e as Error).message.split("\n")[0]}`,
      );
    }
    this.logOffer(offer, run.records);
    const json = path.join(dir, `${sequence}.json`);
    await writeFile(`${json}.partial`, `${JSON.stringify(offer, null, 2)}\n`, { mode: 0o600 });
    await rename(`${json}.partial`, json);
    log({
      level: "info",
      msg: "offered",
      requestId,
      attempt,
      sequence,
      caseId: r.caseId,
      requester: Number(r.requester),
      recipientKeyId: key.keyId,
      recordCount: run.records,
      plaintextBytes: sealed.plaintextBytes,
      payloadHash: sealed.commitment,
      // Kept here, in the signed offer and on ExchangeLedger (the access ledger's Delivery has no
      // field for it).
      ciphertextHash: sealed.ciphertextHash,
      ledgerOfferId: offer.ledgerOfferId,
      ciphertextBytes: sealed.ciphertextBytes,
      deadline: delivery.deadline,
    });
    return { result: "offered" };
  }

  /**
   * Records the offer on ExchangeLedger (the ciphertext's hash and size, the key it is sealed to,
   * the retention), and returns its id. A live offer of the same sequence already there is one an
   * earlier run recorded and never kept on disk (a crash between the two): its ciphertext is gone,
   * so it is recorded purged, superseded, first.
   */
  private offerOnChain(offered: DeliveryOffer): Promise<bigint> {
    return this.serially(() => this.offerOnChainNow(offered));
  }

  /**
   * Runs the gateway's transactions one at a time: offers made concurrently and the purge pass
   * all send from one key, whose transactions must take consecutive nonces.
   */
  private serially<T>(send: () => Promise<T>): Promise<T> {
    const run = this.sending.then(send, send);
    this.sending = run.catch(() => undefined);
    return run;
  }

  private async offerOnChainNow(offered: DeliveryOffer): Promise<bigint> {
    const { contracts, signer } = this.o;
    const earlier = await ledgerOfferOf(contracts, offered.requestId, offered.sequence);
    if (
      earlier?.state === "offered" &&
      earlier.ciphertextHash !== offered.ciphertextHash.toLowerCase()
    ) {
      await recordPurge(contracts, signer, offered.requestId, offered.sequence, "superseded");
      this.o.log({
        level: "warn",
        msg: "superseded on the ledger",
        requestId: offered.requestId,
        sequence: offered.sequence,
        ledgerOfferId: earlier.offerId,
        detail: "an earlier offer of this sequence was recorded on chain but never kept on disk",
      });
    }
    const { offerId } = await offerOnLedger(contracts, signer, {
      ...offered,
      retentionSeconds: this.o.retention ?? DEFAULT_RETENTION,
    });
    return offerId;
  }

  /**
   * Records the purge of an offer (already deleted on disk) on ExchangeLedger, once: an offer the
   * ledger shows purged already is only marked. Returns the transaction's hash, or "recorded".
   */
  private purgeOnChain(offer: Offer, reason: PurgeReason): Promise<string> {
    return this.serially(() => this.purgeOnChainNow(offer, reason));
  }

  private async purgeOnChainNow(offer: Offer, reason: PurgeReason): Promise<string> {
    const { contracts, signer } = this.o;
    const requestId = BigInt(offer.requestId);
    const onChain = await ledgerOfferOf(contracts, requestId, offer.sequence);
    if (onChain === null || onChain.state === "purged") return "recorded";
    const { receipt } = await recordPurge(
      contracts,
      signer,
      requestId,
      offer.sequence,
      LEDGER_PURGE_REASON[reason],
    );
    return receipt.hash;
  }

  // ---------------------------------------------------------------- downloads

  /**
   * Whether `signer` signed a download request: by ECDSA, or by ERC-1271 when it is a contract
   * (request-signature.ts). Who the signer is, is `authorize`'s question.
   */
  verifyRequestSignature(
    signer: string,
    request: GatewayRequest,
    signature: string,
  ): Promise<SignatureVerdict> {
    const provider = this.o.contracts.access.runner?.provider;
    if (provider === null || provider === undefined)
      throw new VeritraceError("the contracts have no provider", { kind: "invalid-input" });
    return verifyRequestSignature(
      provider,
      this.domain,
      request,
      signer,
      signature,
      this.o.contractSignatureLimits,
    );
  }

  /**
   * Whether `signer` may read the offers under `requestId` now: an active signing key of an
   * active institution that is the request's requester, the request granted to this institution,
   * its grant unexpired, its case open. Throws a {@link GatewayRefusal} naming the first failed
   * check.
   */
  async authorize(signer: string, requestId: bigint): Promise<Authorized> {
    const { registry, access, cases } = this.o.contracts;
    const [participant, active] = await registry.keyStatus(signer);
    if (participant === 0n)
      throw new GatewayRefusal(
        403,
        "unknown_signer",
        `${signer} is not a signing key of any institution`,
      );
    if (!active)
      throw new GatewayRefusal(
        403,
        "inactive_signer",
        `${signer} is not an active signing key of an active institution (institution ${participant})`,
      );
    const r = await access.getRequest(requestId);
    if (r.status === 0n || Number(r.provider) !== this.o.participantId)
      throw new GatewayRefusal(404, "not_found", `no request ${requestId} to this provider`);
    if (r.requester !== participant)
      throw new GatewayRefusal(
        403,
        "not_requester",
        `institution ${participant} is not the requester of request ${requestId}`,
      );
    const status = REQUEST_STATUS[Number(r.status)] ?? String(r.status);
    if (status !== "Granted")
      throw new GatewayRefusal(
        403,
        "grant_not_live",
        `request ${requestId} is ${status}, not granted`,
      );
    if ((await this.chainNow()) >= r.grantExpiresAt)
      throw new GatewayRefusal(
        403,
        "grant_not_live",
        `the grant of request ${requestId} expired at ${r.grantExpiresAt}`,
      );
    if (!(await cases.isActive(r.caseId)))
      throw new GatewayRefusal(
        403,
        "case_not_open",
        `case ${r.caseId} of request ${requestId} is not open (closed or expired)`,
      );
    return { participant: Number(participant), caseId: r.caseId };
  }

  // ---------------------------------------------------------------- access log and retention

  /**
   * Writes an offer to the access log before it is put in place (so every offer served was
   * logged): a log that can't be written throws, the envelope is removed, and the grant is tried
   * again on the next run.
   */
  private logOffer(offer: Offer, records: bigint): void {
    if (this.o.accessLog === undefined) return;
    try {
      this.o.accessLog.write({
        time: offer.offeredAt,
        event: "offer",
        requestId: offer.requestId,
        sequence: offer.sequence,
        caseId: offer.caseId,
        requester: offer.requester,
        recipientKeyId: offer.recipientKeyId,
        recordCount: records.toString(),
        payloadHash: offer.delivery.payloadHash,
        ciphertextHash: offer.ciphertextHash,
        ciphertextBytes: Number(offer.ciphertextBytes),
      });
    } catch (e) {
      void rm(this.envelopeFile(BigInt(offer.requestId), offer.sequence), { force: true });
      throw e;
    }
  }

  /** The request ids that have offers on disk. */
  private async offeredRequests(): Promise<bigint[]> {
    let names: string[];
    try {
      names = await readdir(path.join(this.o.dir, "offers"));
    } catch {
      return [];
    }
    return names.filter((n) => /^[1-9]\d{0,76}$/.test(n)).map(BigInt);
  }

  /**
   * Why the offer's ciphertext must go now, or undefined to keep it: at once when the grant is
   * revoked, withdrawn or expired, when the case is closed or expired, or when the ledger holds
   * another delivery at the offer's sequence (it can never be acknowledged); `retention` seconds
   * after the block that acknowledged it. Times are the chain's, as the ledger's are.
   */
  private async purgeReason(
    offer: Offer,
    now: bigint,
  ): Promise<{ reason: PurgeReason; detail: string; acknowledgedAt?: string } | undefined> {
    const { access, cases } = this.o.contracts;
    const requestId = BigInt(offer.requestId);
    const r = await access.getRequest(requestId);
    const status = REQUEST_STATUS[Number(r.status)] ?? String(r.status);
    if (status === "Revoked")
      return { reason: "grant-revoked", detail: `the grant of request ${requestId} was revoked` };
    if (status === "Withdrawn")
      return { reason: "request-withdrawn", detail: `request ${requestId} was withdrawn` };
    if (now >= r.grantExpiresAt)
      return {
        reason: "grant-expired",
        detail: `the grant of request ${requestId} expired at ${r.grantExpiresAt}`,
      };
    if (!(await cases.isActive(r.caseId))) {
      const c = await cases.getCase(r.caseId);
      return Number(c.status) === 3
        ? { reason: "case-closed", detail: `case ${r.caseId} was closed` }
        : { reason: "case-expired", detail: `case ${r.caseId} expired at ${c.expiresAt}` };
    }
    if (BigInt(r.deliveries) <= BigInt(offer.sequence)) return undefined;
    // The ledger is past the offer's sequence: which delivery holds it, and when (remembered:
    // an acknowledged offer is looked at on every pass for the whole retention period).
    const key = `${requestId}/${offer.sequence}`;
    let ack = this.acknowledgements.get(key);
    if (ack === undefined) {
      const events = await access.queryFilter(
        access.filters.DeliveryAttested(undefined, requestId),
        this.o.startBlock,
      );
      const held = events.find((e) => Number(e.args.delivery.sequence) === offer.sequence);
      if (held === undefined) return undefined; // not served by the node yet: next pass
      ack = {
        deliveryId: held.args.deliveryId,
        payloadHash: held.args.delivery.payloadHash,
        at: BigInt((await held.getBlock()).timestamp),
      };
      this.acknowledgements.set(key, ack);
    }
    if (ack.payloadHash.toLowerCase() !== offer.delivery.payloadHash.toLowerCase())
      return {
        reason: "superseded",
        detail: `delivery ${ack.deliveryId} holds sequence ${offer.sequence} of request ${requestId} with another payload`,
      };
    const acknowledgedAt = ack.at;
    const retention = BigInt(this.o.retention ?? DEFAULT_RETENTION);
    if (now < acknowledgedAt + retention) return undefined;
    const at = new Date(Number(acknowledgedAt) * 1000).toISOString();
    return {
      reason: "retention-elapsed",
      detail: `delivery ${ack.deliveryId} was acknowledged at ${at}, more than ${retention} s ago`,
      acknowledgedAt: at,
    };
  }

  /**
   * One purge pass (docs/exchange.md, "Retention and the access log"): deletes the ciphertext of
   * every offer whose time is up (see {@link purgeReason}). Each purge is written to the access
   * log first (no log, no deletion: tried again next pass), then recorded in the offer's JSON
   * (`purgedAt`, `purgeReason`, `purgeDetail`, replaced atomically: the signed custody record
   * stays), then the envelope is removed. An offer marked purged whose envelope is still there
   * (a crash between the two) loses it on the next pass. Returns the offers purged.
   */
  async purge(): Promise<number> {
    const now = await this.chainNow();
    let purged = 0;
    for (const requestId of await this.offeredRequests()) {
      for (const offer of await this.offers(requestId)) {
        const envelope = this.envelopeFile(requestId, offer.sequence);
        if (offer.purgedAt !== undefined) {
          await rm(envelope, { force: true });
          // A purge whose record on the ledger failed (the node down, a crash): tried again.
          if (offer.ledgerOfferId !== undefined && offer.ledgerPurge === undefined)
            await this.markLedgerPurge(requestId, offer, offer.purgeReason as PurgeReason);
          continue;
        }
        const why = await this.purgeReason(offer, now);
        if (why === undefined) continue;
        const purgedAt = new Date().toISOString();
        this.o.accessLog?.write({
          time: purgedAt,
          event: "purge",
          requestId: offer.requestId,
          sequence: offer.sequence,
          reason: why.reason,
          detail: why.detail,
          ciphertextHash: offer.ciphertextHash,
          ...(why.acknowledgedAt === undefined ? {} : { acknowledgedAt: why.acknowledgedAt }),
        });
        const json = path.join(this.offerDir(requestId), `${offer.sequence}.json`);
        const marked: Offer = {
          ...offer,
          purgedAt,
          purgeReason: why.reason,
          purgeDetail: why.detail,
        };
        await writeFile(`${json}.partial`, `${JSON.stringify(marked, null, 2)}\n`, { mode: 0o600 });
        await rename(`${json}.partial`, json);
        const existed = await stat(envelope).then(
          () => true,
          () => false,
        );
        await rm(envelope, { force: true });
        purged++;
        this.o.log({
          level: "info",
          msg: "purged",
          requestId,
          sequence: offer.sequence,
          reason: why.reason,
          detail: why.detail,
          ciphertextHash: offer.ciphertextHash,
          envelopeDeleted: existed,
        });
        if (marked.ledgerOfferId !== undefined)
          await this.markLedgerPurge(requestId, marked, why.reason);
      }
    }
    return purged;
  }

  /** Records a purge on the ledger and, once recorded, in the offer's JSON (`ledgerPurge`). */
  private async markLedgerPurge(requestId: bigint, offer: Offer, reason: PurgeReason) {
    let ledgerPurge: string;
    try {
      ledgerPurge = await this.purgeOnChain(offer, reason);
    } catch (e) {
      this.o.log({
        level: "warn",
        msg: "purge not recorded on the ledger",
        requestId,
        sequence: offer.sequence,
        detail: (e as Error).message.split("\n")[0],
      });
      return;
    }
    const json = path.join(this.offerDir(requestId), `${offer.sequence}.json`);
    const marked: Offer = { ...offer, ledgerPurge };
    await writeFile(`${json}.partial`, `${JSON.stringify(marked, null, 2)}\n`, { mode: 0o600 });
    await rename(`${json}.partial`, json);
  }
}
