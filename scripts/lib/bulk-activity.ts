import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import { HDNodeWallet, JsonRpcProvider, SigningKey, Transaction, type Signer } from "ethers";
import {
  DataKind,
  accessLedgerDomain,
  acknowledgementDigest,
  buildLogBatch,
  commitCaseNumber,
  commitSubject,
  connectConsortium,
  deliveryDigest,
  generateCaseKey,
  hashDocument,
  scopeOf,
  type Delivery,
  type DeploymentRecord,
} from "../../src/client/index.js";
import type { RpcClient } from "../../src/chain/rpc.js";
import {
  AccessLedger__factory,
  AccessLogAnchor__factory,
  CaseRegistry__factory,
} from "../../types/ethers-contracts/index.js";
import type { Cast } from "./activity.js";

/** The mnemonic of hardhat node's and anvil's funded accounts. */
export const DEFAULT_MNEMONIC = "test test test test test test test test test test test junk";

const DAY = 86_400;
const ledger = AccessLedger__factory.createInterface();
const caseRegistry = CaseRegistry__factory.createInterface();
const anchorLog = AccessLogAnchor__factory.createInterface();

/**
 * Gas limits per call, with margin over what the calls use (a limit too low makes the call
 * revert, which {@link ConsortiumTraffic.counters} then shows).
 */
const GAS = {
  openCase: 300_000n,
  approveCase: 150_000n,
  request: 300_000n,
  grant: 150_000n,
  deny: 150_000n,
  attestDelivery: 400_000n,
  anchor: 300_000n,
  closeCase: 150_000n,
} as const;

/** An account of the default mnemonic that signs locally, with nonces counted here. */
export class RawAccount {
  readonly key: SigningKey;
  readonly address: string;
  nonce = 0;

  constructor(
    index: number,
    private readonly chainId: bigint,
    mnemonic = DEFAULT_MNEMONIC,
  ) {
    const wallet = HDNodeWallet.fromPhrase(mnemonic, undefined, `m/44'/60'/0'/0/${index}`);
    this.key = new SigningKey(wallet.privateKey);
    this.address = wallet.address;
  }

  /** A signed EIP-1559 transaction calling `to` with `data`, at this account's next nonce. */
  sign(to: string, data: string, gasLimit: bigint): string {
    const tx = Transaction.from({
      type: 2,
      chainId: this.chainId,
      nonce: this.nonce++,
      to,
      data,
      gasLimit,
      maxFeePerGas: 2_000_000_000n,
      maxPriorityFeePerGas: 1_000_000_000n,
    });
    tx.signature = this.key.sign(tx.unsignedHash);
    return tx.serialized;
  }

  /** A 65-byte ECDSA signature of an EIP-712 digest. */
  signDigest(digest: string): string {
    return this.key.sign(digest).serialized;
  }
}

/** A case opened by the traffic; its key stays here, as it would at the police. */
export interface TrafficCase {
  caseId: bigint;
  key: string;
  /** Access-log entries of its deliveries, for the anchor. */
  entries: { caseId: string; requestId: string; deliveryId: string }[];
  /** Requests made under it so far. */
  requests: number;
}

/** A request made by the traffic, with the ledger's id for it. */
export interface TrafficRequest {
  requestId: bigint;
  case: TrafficCase;
  toBank: boolean;
}

/** The consortium's counters: cases, requests, deliveries and anchors ever made. */
export interface Counters {
  cases: bigint;
  requests: bigint;
  deliveries: bigint;
  anchors: bigint;
}

/**
 * Real consortium transactions for an onboarded cast, built with the contracts' typed interfaces
 * and signed locally (EIP-1559, explicit nonces; deliveries co-signed as EIP-712 typed data by the
 * provider's and the police's keys, relayed by accounts 7 and 8). Ids are predicted from the
 * contracts' counters, so that answers can be signed before their requests are mined: the
 * transactions must be mined in the order they are built, and all succeed (check with
 * {@link counters}). Each transaction emits exactly one event.
 */
export class ConsortiumTraffic {
  private nextCaseId: bigint;
  private nextRequestId: bigint;
  private nextDeliveryId: bigint;
  private logSequence = 0n;

  private constructor(
    private readonly url: string,
    private readonly record: DeploymentRecord,
    private readonly cast: Cast,
    private readonly chainId: bigint,
    readonly police: RawAccount,
    readonly prosecutor: RawAccount,
    readonly bank: RawAccount,
    readonly telecom: RawAccount,
    readonly relayers: readonly RawAccount[],
    /** The chain's clock when the traffic started (expiries and deadlines are set from it). */
    readonly now: number,
    counters: Counters,
  ) {
    this.nextCaseId = counters.cases + 1n;
    this.nextRequestId = counters.requests + 1n;
    this.nextDeliveryId = counters.deliveries + 1n;
  }

  /**
   * Prepares traffic for `cast`, which must have been onboarded with accounts 3 to 6 of the
   * default mnemonic (police, prosecutor, bank, telecom), and with no transaction of theirs pending.
   */
  static async create(
    rpc: RpcClient,
    record: DeploymentRecord,
    cast: Cast,
  ): Promise<ConsortiumTraffic> {
    const chainId = BigInt(await rpc.call<string>("eth_chainId"));
    const accounts = [3, 4, 5, 6, 7, 8].map((i) => new RawAccount(i, chainId));
    const [police, prosecutor, bank, telecom, ...relayers] = accounts as [
      RawAccount,
      RawAccount,
      RawAccount,
      RawAccount,
      ...RawAccount[],
    ];
    const onboarded: [RawAccount, Signer][] = [
      [police, cast.police.signer],
      [prosecutor, cast.prosecutor.signer],
      [bank, cast.bank.signer],
      [telecom, cast.telecom.signer],
    ];
    for (const [raw, signer] of onboarded) {
      if (raw.address !== (await signer.getAddress()))
        throw new Error(`${raw.address} is not the onboarded key: onboard with accounts 3 to 6`);
    }
    for (const a of accounts) {
      a.nonce = Number(await rpc.call<string>("eth_getTransactionCount", [a.address, "pending"]));
    }
    const latest = await rpc.call<{ timestamp: string }>("eth_getBlockByNumber", ["latest", false]);
    return new ConsortiumTraffic(
      rpc.url,
      record,
      cast,
      chainId,
      police,
      prosecutor,
      bank,
      telecom,
      relayers,
      Number(latest.timestamp),
      await readCounters(rpc.url, chainId, record),
    );
  }

  /** The counters on chain now (compare with those before to see that nothing reverted). */
  counters(): Promise<Counters> {
    return readCounters(this.url, this.chainId, this.record);
  }

  /** The police opens a case over bank transactions and telecom subscribers, for a year. */
  openCase(label: string): { raw: string; case: TrafficCase } {
    const c: TrafficCase = {
      caseId: this.nextCaseId++,
      key: generateCaseKey(),
      entries: [],
      requests: 0,
    };
    const raw = this.police.sign(
      this.record.contracts.CaseRegistry,
      caseRegistry.encodeFunctionData("openCase", [
        commitCaseNumber(`BENCH-${label}-${this.now}`, c.key),
        hashDocument(`court order ${label}`),
        scopeOf([DataKind.BankTransactions, DataKind.TelecomSubscribers]),
        this.now + 365 * DAY,
      ]),
      GAS.openCase,
    );
    return { raw, case: c };
  }

  /** The prosecutor approves a case. */
  approveCase(c: TrafficCase): string {
    return this.prosecutor.sign(
      this.record.contracts.CaseRegistry,
      caseRegistry.encodeFunctionData("approveCase", [c.caseId]),
      GAS.approveCase,
    );
  }

  /** The police asks the bank or the telecom about a subject, under an approved case. */
  request(c: TrafficCase, toBank: boolean): { raw: string; request: TrafficRequest } {
    const n = c.requests++;
    const subject = toBank
      ? commitSubject("bankAccount", `ACC${(Number(c.caseId) * 7919 + n) % 100_000}00`, c.key)
      : commitSubject("phone", `+4930${100_000 + ((Number(c.caseId) * 31 + n) % 900_000)}`, c.key);
    const provider = toBank ? this.cast.bank : this.cast.telecom;
    const raw = this.police.sign(
      this.record.contracts.AccessLedger,
      ledger.encodeFunctionData("request", [c.caseId, provider.id, provider.dataset, subject, 1]),
      GAS.request,
    );
    return { raw, request: { requestId: this.nextRequestId++, case: c, toBank } };
  }

  /** The provider asked grants a request for 30 days and 1000 records, or denies it. */
  answer(r: TrafficRequest, grant: boolean): string {
    const provider = r.toBank ? this.bank : this.telecom;
    const data = grant
      ? ledger.encodeFunctionData("grant", [r.requestId, this.now + 30 * DAY, 1000])
      : ledger.encodeFunctionData("deny", [r.requestId, 2]);
    return provider.sign(this.record.contracts.AccessLedger, data, grant ? GAS.grant : GAS.deny);
  }

  /** A delivery under a granted request, signed by the provider and the police, sent by a relayer. */
  deliver(r: TrafficRequest, relayer: number): string {
    const domain = accessLedgerDomain(this.chainId, this.record.contracts.AccessLedger);
    const d: Delivery = {
      requestId: r.requestId,
      sequence: 0,
      payloadHash: hashDocument(`records for request ${r.requestId}`),
      recordCount: 3n,
      deadline: BigInt(this.now + 7 * DAY),
    };
    const provider = r.toBank ? this.bank : this.telecom;
    const sender = this.relayers[relayer % this.relayers.length] ?? this.police;
    const raw = sender.sign(
      this.record.contracts.AccessLedger,
      ledger.encodeFunctionData("attestDelivery", [
        d,
        { signer: provider.address, signature: provider.signDigest(deliveryDigest(domain, d)) },
        {
          signer: this.police.address,
          signature: this.police.signDigest(acknowledgementDigest(domain, d)),
        },
      ]),
      GAS.attestDelivery,
    );
    r.case.entries.push({
      caseId: r.case.caseId.toString(),
      requestId: r.requestId.toString(),
      deliveryId: (this.nextDeliveryId++).toString(),
    });
    return raw;
  }

  /** The police anchors the Merkle root of a case's access log (null when it has no entry). */
  anchor(c: TrafficCase): string | null {
    if (c.entries.length === 0) return null;
    const batch = buildLogBatch(c.entries);
    const raw = this.police.sign(
      this.record.contracts.AccessLogAnchor,
      anchorLog.encodeFunctionData("anchor", [
        c.caseId,
        this.logSequence,
        batch.root,
        c.entries.length,
      ]),
      GAS.anchor,
    );
    this.logSequence += BigInt(c.entries.length);
    return raw;
  }

  /** The prosecutor closes a case. */
  closeCase(c: TrafficCase): string {
    return this.prosecutor.sign(
      this.record.contracts.CaseRegistry,
      caseRegistry.encodeFunctionData("closeCase", [c.caseId, 1]),
      GAS.closeCase,
    );
  }
}

async function readCounters(
  url: string,
  chainId: bigint,
  record: DeploymentRecord,
): Promise<Counters> {
  const provider = new JsonRpcProvider(url, chainId, { staticNetwork: true });
  try {
    const c = connectConsortium(record, provider);
    const [cases, counts, anchors] = await Promise.all([
      c.cases.caseCount(),
      c.access.counts(),
      c.anchor.anchorCount(),
    ]);
    return { cases, requests: counts.requests, deliveries: counts.deliveries, anchors };
  } finally {
    provider.destroy();
  }
}

/** Sends signed transactions to the node's pool in one JSON-RPC batch. */
export async function sendRaw(rpc: RpcClient, raws: readonly string[]): Promise<void> {
  await rpc.batch(raws.map((raw) => ({ method: "eth_sendRawTransaction", params: [raw] })));
}

/** What to generate. */
export interface BulkPlan {
  /** At least this many events. */
  events: number;
  /** Cases the requests are spread over. */
  cases: number;
  /**
   * New requests per block; each block also answers the previous block's requests and delivers
   * the grants of the block before (about 2.75 transactions per request in a block).
   */
  requestsPerBlock: number;
  /** Called after each mined block. */
  onProgress?: (p: { events: number; target: number; blocks: number }) => void;
}

/** What was generated. */
export interface BulkReport {
  events: number;
  transactions: number;
  blocks: number;
  firstBlock: number;
  lastBlock: number;
  byEvent: Record<string, number>;
  seconds: number;
}

/**
 * Generates at least `plan.events` real consortium events fast, many transactions per block:
 * cases opened and approved; requests spread over them, alternating between the bank and the
 * telecom, three in four granted and delivered, one denied; each case's access log anchored; the
 * cases closed. Each block's transactions are sent in one JSON-RPC batch and mined with
 * `evm_mine`; the next block's are signed meanwhile. Automine is switched off and left off.
 * Throws if any transaction reverted (the counters would fall short).
 */
export async function generateBulkActivity(
  rpc: RpcClient,
  traffic: ConsortiumTraffic,
  plan: BulkPlan,
): Promise<BulkReport> {
  const started = performance.now();
  const before = await traffic.counters();
  await rpc.call("evm_setAutomine", [false]);
  const firstBlock = Number(await rpc.call<string>("eth_blockNumber")) + 1;
  const byEvent: Record<string, number> = {};
  let events = 0;
  let transactions = 0;
  let blocks = 0;
  const count = (event: string, n: number) => {
    byEvent[event] = (byEvent[event] ?? 0) + n;
    events += n;
  };

  /** Sends one block's transactions and mines them; checks that they all got in. */
  const mine = async (raws: readonly string[]) => {
    await sendRaw(rpc, raws);
    await rpc.call("evm_mine");
    const included = Number(
      await rpc.call<string>("eth_getBlockTransactionCountByNumber", ["latest"]),
    );
    if (included !== raws.length)
      throw new Error(`a block took ${included} of the ${raws.length} transactions sent`);
    transactions += raws.length;
    blocks++;
    plan.onProgress?.({ events, target: plan.events, blocks });
  };
  let inflight: Promise<void> = Promise.resolve();
  /** Mines the previous block first (this one depends on it); the caller signs the next meanwhile. */
  const submit = async (raws: string[]) => {
    await inflight;
    inflight = mine(raws);
    inflight.catch(() => undefined);
  };

  const opened = Array.from({ length: plan.cases }, (_, i) => traffic.openCase(String(i)));
  const cases = opened.map((o) => o.case);
  await submit(opened.map((o) => o.raw));
  count("CaseOpened", cases.length);
  await submit(cases.map((c) => traffic.approveCase(c)));
  count("CaseApproved", cases.length);

  // Request i goes to case i mod cases, to the bank when its number in the case is even, and is
  // denied when (its number in the case + its case) mod 4 = 3: every case gets grants and denials.
  const toBank = (i: number) => Math.floor(i / plan.cases) % 2 === 0;
  const denied = (i: number) => (Math.floor(i / plan.cases) + (i % plan.cases)) % 4 === 3;
  const eventsWith = (requests: number) => {
    const delivering = new Set<number>();
    let n = events + plan.cases; // and one closure per case
    for (let i = 0; i < requests; i++) {
      n += denied(i) ? 2 : 3;
      if (!denied(i)) delivering.add(i % plan.cases);
    }
    return n + delivering.size; // one anchor per case with a delivery
  };
  let requests = Math.max(0, Math.floor((plan.events - events - 2 * plan.cases) / 2.75) - 8);
  while (eventsWith(requests) < plan.events) requests++;

  let asked: { request: TrafficRequest; denied: boolean }[] = [];
  let granted: TrafficRequest[] = [];
  let relayed = 0;
  for (let done = 0; done < requests || asked.length > 0 || granted.length > 0;) {
    const raws: string[] = [];
    // Deliveries of the grants mined one block ago.
    for (const r of granted) {
      raws.push(traffic.deliver(r, relayed++));
      if (relayed % 16 === 0) await yieldToEventLoop();
    }
    count("DeliveryAttested", granted.length);
    // Answers to the requests mined one block ago.
    granted = [];
    for (const a of asked) {
      raws.push(traffic.answer(a.request, !a.denied));
      if (!a.denied) granted.push(a.request);
    }
    count("AccessGranted", granted.length);
    count("AccessDenied", asked.length - granted.length);
    // New requests.
    asked = [];
    for (let k = 0; k < plan.requestsPerBlock && done < requests; k++, done++) {
      const c = cases[done % plan.cases];
      if (c === undefined) throw new Error("no case");
      const { raw, request } = traffic.request(c, toBank(done));
      raws.push(raw);
      asked.push({ request, denied: denied(done) });
      if (k % 16 === 15) await yieldToEventLoop();
    }
    count("AccessRequested", asked.length);
    await submit(raws);
  }

  const anchors = cases.map((c) => traffic.anchor(c)).filter((raw) => raw !== null);
  await submit(anchors);
  count("LogAnchored", anchors.length);
  await submit(cases.map((c) => traffic.closeCase(c)));
  count("CaseClosed", cases.length);
  await inflight;
  const lastBlock = Number(await rpc.call<string>("eth_blockNumber"));

  // Every transaction must have succeeded: a revert would leave a counter short.
  const after = await traffic.counters();
  const short: string[] = [];
  const check = (what: string, got: bigint, want: number) => {
    if (got !== BigInt(want)) short.push(`${what} ${got}, expected ${want}`);
  };
  check("cases", after.cases - before.cases, cases.length);
  check("requests", after.requests - before.requests, byEvent["AccessRequested"] ?? 0);
  check("deliveries", after.deliveries - before.deliveries, byEvent["DeliveryAttested"] ?? 0);
  check("anchors", after.anchors - before.anchors, anchors.length);
  if (short.length > 0) throw new Error(`generated transactions reverted: ${short.join("; ")}`);
  return {
    events,
    transactions,
    blocks,
    firstBlock,
    lastBlock,
    byEvent,
    seconds: (performance.now() - started) / 1000,
  };
}
