import { expect } from "chai";
import { EventFragment, Interface, hexlify, type ParamType } from "ethers";
import type { DeploymentRecord } from "../../src/client/deployment.js";
import { AbiLayoutError, compileEvent } from "../../src/chain/abi.js";
import { EventDecoder, jsonArgs, type RawLog } from "../../src/ledger/decode.js";
import {
  AccessLedger__factory,
  AccessLogAnchor__factory,
  CaseRegistry__factory,
  EncryptionKeyRegistry__factory,
  ExchangeLedger__factory,
  FreezeRegistry__factory,
  MatchingLedger__factory,
  ParticipantRegistry__factory,
} from "../../types/ethers-contracts/index.js";

const RECORD: DeploymentRecord = {
  version: 1,
  chainId: 31337,
  startBlock: 1,
  contracts: {
    ParticipantRegistry: "0x1000000000000000000000000000000000000001",
    CaseRegistry: "0x2000000000000000000000000000000000000002",
    AccessLedger: "0x3000000000000000000000000000000000000003",
    AccessLogAnchor: "0x4000000000000000000000000000000000000004",
    LabelRegistry: "0x5000000000000000000000000000000000000005",
    FreezeRegistry: "0x6000000000000000000000000000000000000006",
    MatchingLedger: "0x7000000000000000000000000000000000000007",
    EncryptionKeyRegistry: "0x8000000000000000000000000000000000000008",
    ExchangeLedger: "0x9000000000000000000000000000000000000009",
  },
};

const CONTRACTS: [address: string, iface: Interface][] = [
  [RECORD.contracts.ParticipantRegistry, new Interface(ParticipantRegistry__factory.abi)],
  [RECORD.contracts.CaseRegistry, new Interface(CaseRegistry__factory.abi)],
  [RECORD.contracts.AccessLedger, new Interface(AccessLedger__factory.abi)],
  [RECORD.contracts.AccessLogAnchor, new Interface(AccessLogAnchor__factory.abi)],
  [RECORD.contracts.MatchingLedger, new Interface(MatchingLedger__factory.abi)],
  [RECORD.contracts.FreezeRegistry, new Interface(FreezeRegistry__factory.abi)],
  [RECORD.contracts.EncryptionKeyRegistry, new Interface(EncryptionKeyRegistry__factory.abi)],
  [RECORD.contracts.ExchangeLedger, new Interface(ExchangeLedger__factory.abi)],
];

/** A seeded generator (mulberry32): a failing case can be replayed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const STRINGS = ["", "POLICE", "ünïcødé ✓ 🚀", "x".repeat(70)];

/** A value of type `p`, edge values often (zero, one, the extremes, empty and long dynamic values). */
function valueOf(p: ParamType, next: () => number): unknown {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)] as T;
  const bytes = (n: number) =>
    hexlify(Uint8Array.from({ length: n }, () => Math.floor(next() * 256)));
  if (p.isTuple()) return p.components.map((c) => valueOf(c, next));
  if (p.isArray()) {
    const n = p.arrayLength >= 0 ? p.arrayLength : Math.floor(next() * 4);
    return Array.from({ length: n }, () => valueOf(p.arrayChildren, next));
  }
  const int = /^(u?)int(\d*)$/.exec(p.type);
  if (int !== null) {
    const bits = BigInt(int[2] === "" ? 256 : Number(int[2]));
    const r = BigInt(bytes(32)) & ((1n << bits) - 1n);
    if (int[1] === "u") return pick([0n, 1n, (1n << bits) - 1n, r]);
    const half = 1n << (bits - 1n);
    return pick([0n, -1n, -half, half - 1n, r - half]);
  }
  const fixed = /^bytes(\d+)$/.exec(p.type);
  if (fixed !== null) return bytes(Number(fixed[1]));
  switch (p.type) {
    case "address":
      return pick([`0x${"0".repeat(40)}`, bytes(20)]);
    case "bool":
      return next() < 0.5;
    case "bytes":
      return bytes(pick([0, 1, 32, 33, 65, 200]));
    case "string":
      return pick(STRINGS);
  }
  throw new Error(`no generator for ${p.type}`);
}

function rawLog(address: string, topics: readonly string[], data: string): RawLog {
  return {
    address,
    topics: [...topics],
    data,
    blockNumber: "0x10",
    blockHash: `0x${"ab".repeat(32)}`,
    transactionHash: `0x${"cd".repeat(32)}`,
    transactionIndex: "0x2",
    logIndex: "0x3",
  };
}

/** What the decoder answered before the fast path: ethers' parseLog, then jsonArgs; null if ethers throws. */
function reference(iface: Interface, log: RawLog): { event: string; args: unknown } | null {
  try {
    const parsed = iface.parseLog({ topics: log.topics, data: log.data });
    if (parsed === null) return null;
    return { event: parsed.name, args: jsonArgs(parsed.args, parsed.fragment.inputs) };
  } catch {
    return null;
  }
}

function decoded(decoder: EventDecoder, log: RawLog): { event: string; args: unknown } | null {
  const row = decoder.decode(log, 1000);
  return row === null ? null : { event: row.event, args: row.args };
}

describe("EventDecoder", function () {
  const decoder = new EventDecoder(RECORD);

  it("decodes every consortium event exactly as ethers does", function () {
    const next = random(20250611);
    let checked = 0;
    for (const [address, iface] of CONTRACTS) {
      iface.forEachEvent((fragment) => {
        for (let i = 0; i < 25; i++) {
          const values = fragment.inputs.map((p) => valueOf(p, next));
          const { topics, data } = iface.encodeEventLog(fragment, values);
          const log = rawLog(address, topics, data);
          const want = reference(iface, log);
          expect(want, fragment.name).to.not.equal(null);
          expect(decoded(decoder, log), fragment.name).to.deep.equal(want);
          checked++;
        }
      });
    }
    expect(checked).to.be.greaterThan(500);
  });

  it("fills the row's columns from the arguments", function () {
    const iface = new Interface(AccessLedger__factory.abi);
    const fragment = iface.getEvent("AccessRequested");
    if (fragment === null) throw new Error("no AccessRequested");
    const signer = `0x${"5a".repeat(20)}`;
    const subject = `0x${"AB".repeat(32)}`;
    const { topics, data } = iface.encodeEventLog(fragment, [
      7n,
      3n,
      6,
      4,
      2n,
      1,
      subject,
      9,
      signer,
    ]);
    const row = decoder.decode(rawLog(RECORD.contracts.AccessLedger, topics, data), 1234);
    expect(row).to.include({
      blockNumber: 16,
      logIndex: 3,
      txIndex: 2,
      blockTime: 1234,
      contract: "AccessLedger",
      event: "AccessRequested",
      requestId: "7",
      caseId: "3",
      datasetId: "2",
      actor: 4,
      counterpart: 6,
      signer,
      subject: subject.toLowerCase(),
    });
  });

  it("fills the columns of an encryption key's registration and revocation", function () {
    const iface = new Interface(EncryptionKeyRegistry__factory.abi);
    const signer = `0x${"5a".repeat(20)}`;
    const relayer = `0x${"6b".repeat(20)}`;
    const key = `0x${"cd".repeat(32)}`;
    const row = (name: string, values: unknown[]) => {
      const fragment = iface.getEvent(name);
      if (fragment === null) throw new Error(`no ${name}`);
      const { topics, data } = iface.encodeEventLog(fragment, values);
      return decoder.decode(rawLog(RECORD.contracts.EncryptionKeyRegistry, topics, data), 1234);
    };
    const registered = row("EncryptionKeyRegistered", [6, 3n, key, 2n, signer, relayer]);
    expect(registered).to.include({
      contract: "EncryptionKeyRegistry",
      event: "EncryptionKeyRegistered",
      actor: 6,
      signer,
    });
    expect(registered?.args).to.include({ keyId: "3", publicKey: key, replacedKeyId: "2" });
    expect(row("EncryptionKeyRevoked", [6, 3n, 4, signer])).to.include({ actor: 6, signer });
  });

  it("fills the columns of an offer, a purge and a gateway: case, request, provider to requester", function () {
    const iface = new Interface(ExchangeLedger__factory.abi);
    const signer = `0x${"5a".repeat(20)}`;
    const hash = (b: string) => `0x${b.repeat(32)}`;
    const row = (name: string, values: unknown[]) => {
      const fragment = iface.getEvent(name);
      if (fragment === null) throw new Error(`no ${name}`);
      const { topics, data } = iface.encodeEventLog(fragment, values);
      return decoder.decode(rawLog(RECORD.contracts.ExchangeLedger, topics, data), 1234);
    };
    const offered = row("DeliveryOffered", [
      12n,
      6,
      4,
      3n,
      9n,
      2,
      hash("aa"),
      hash("bb"),
      4096n,
      5n,
      86_400,
      signer,
    ]);
    expect(offered).to.include({
      contract: "ExchangeLedger",
      event: "DeliveryOffered",
      caseId: "9",
      requestId: "12",
      actor: 6,
      counterpart: 4,
      signer,
    });
    expect(offered?.args).to.include({
      offerId: "3",
      sequence: "2",
      ciphertextHash: hash("bb"),
      ciphertextBytes: "4096",
      recipientKeyId: "5",
      retentionSeconds: "86400",
    });
    expect(row("DeliveryPurged", [12n, 6, 4, 3n, 9n, 2, 1, signer])).to.include({
      caseId: "9",
      requestId: "12",
      actor: 6,
      counterpart: 4,
    });
    const gateway = row("GatewaySet", [6, "https://gw.example", signer]);
    expect(gateway).to.include({ actor: 6, caseId: null, signer });
    expect(gateway?.args).to.include({ url: "https://gw.example" });
  });

  it("fills the columns of the council's proposal lifecycle: withdrawals, cancellations, outcomes", function () {
    const iface = new Interface(ParticipantRegistry__factory.abi);
    const signer = `0x${"5a".repeat(20)}`;
    const row = (name: string, values: unknown[]) => {
      const fragment = iface.getEvent(name);
      if (fragment === null) throw new Error(`no ${name}`);
      const { topics, data } = iface.encodeEventLog(fragment, values);
      return decoder.decode(rawLog(RECORD.contracts.ParticipantRegistry, topics, data), 1234);
    };
    expect(row("ApprovalWithdrawn", [7n, 2, signer])).to.include({
      event: "ApprovalWithdrawn",
      proposalId: "7",
      actor: 2,
      signer,
    });
    // Cancelled by its proposer: the proposer acts.
    expect(row("ProposalCancelled", [7n, 1, 0n, signer])).to.include({ proposalId: "7", actor: 1 });
    // Cancelled by the council (proposal 9): no single participant acts.
    const byCouncil = row("ProposalCancelled", [7n, 0, 9n, signer]);
    expect(byCouncil).to.include({ proposalId: "7", actor: null, signer });
    expect(byCouncil?.args["byProposalId"]).to.equal("9");
    expect(row("ProposalExecuted", [9n, signer])).to.include({
      proposalId: "9",
      actor: null,
      signer,
    });
    const failed = row("ProposalFailed", [8n, "0x1234abcd", signer]);
    expect(failed).to.include({ proposalId: "8", signer });
    expect(failed?.args["reason"]).to.equal("0x1234abcd");
    expect(row("EmergencyPaused", [3, 1_800_000_000n, 2n, signer])).to.include({
      actor: 3,
      signer,
    });
  });

  it("fills the columns of a matching result: case, request, requester as actor, submitter as signer", function () {
    const iface = new Interface(MatchingLedger__factory.abi);
    const fragment = iface.getEvent("MatchCompleted");
    if (fragment === null) throw new Error("no MatchCompleted");
    const submitter = `0x${"5b".repeat(20)}`;
    const sig = (b: string) => [`0x${b.repeat(20)}`, `0x${b.repeat(65)}`];
    const { topics, data } = iface.encodeEventLog(fragment, [
      2n,
      7n,
      3n,
      4,
      6,
      `0x${"cc".repeat(32)}`,
      5n,
      sig("66"),
      sig("44"),
      submitter,
    ]);
    const row = decoder.decode(rawLog(RECORD.contracts.MatchingLedger, topics, data), 99);
    expect(row).to.include({
      contract: "MatchingLedger",
      event: "MatchCompleted",
      requestId: "7",
      caseId: "3",
      actor: 4,
      counterpart: 6,
      signer: submitter,
    });
    expect(row?.args["sessionId"]).to.equal("2");
    expect(row?.args["provider"]).to.deep.equal({
      signer: `0x${"66".repeat(20)}`,
      signature: `0x${"66".repeat(65)}`,
    });
  });

  it("answers as ethers does for logs that don't fit their event's layout", function () {
    const iface = new Interface(AccessLedger__factory.abi);
    const fragment = iface.getEvent("DeliveryAttested");
    if (fragment === null) throw new Error("no DeliveryAttested");
    const next = random(7);
    const { topics, data } = iface.encodeEventLog(
      fragment,
      fragment.inputs.map((p) => valueOf(p, next)),
    );
    const address = RECORD.contracts.AccessLedger;
    // The submitter (the last static word of the head) with dirty upper bytes.
    const head = 2 + 64 * 9;
    const dirty = `${data.slice(0, head)}ff${data.slice(head + 2)}`;
    const cases: RawLog[] = [
      rawLog(address, topics, dirty),
      rawLog(address, topics, data.slice(0, data.length - 64)),
      rawLog(address, topics, `${data}00`),
      rawLog(address, topics.slice(0, 3), data),
      rawLog(address, [...topics, `0x${"11".repeat(32)}`], data),
      rawLog(address, [topics[0] ?? "", ...topics.slice(1).map((t) => t.slice(0, 40))], data),
      rawLog(address, [`0x${"00".repeat(32)}`, ...topics.slice(1)], data),
      rawLog(`0x${"99".repeat(20)}`, topics, data),
      rawLog(address, [], data),
    ];
    for (const [i, log] of cases.entries()) {
      const want = log.address === address ? reference(iface, log) : null;
      expect(decoded(decoder, log), `case ${i}`).to.deep.equal(want);
    }
    expect(decoded(decoder, cases[0] as RawLog)).to.equal(null);
  });
});

describe("compileEvent", function () {
  it("decodes types the consortium does not use (yet) exactly as ethers does", function () {
    const iface = new Interface([
      "event Wide(uint8 indexed a, int16 indexed b, bytes3 indexed c, int256 d, uint40 e, bytes f, string g, (uint256 x, string y, bytes2[2] z)[] h, address[2] i, bool j, int8[] k, (bool p, (string q, uint64[] r) s) t)",
    ]);
    const fragment = iface.getEvent("Wide");
    if (fragment === null) throw new Error("no Wide");
    const fast = compileEvent(fragment);
    if (fast === null) throw new Error("expected a fast layout");
    const next = random(99);
    for (let i = 0; i < 200; i++) {
      const { topics, data } = iface.encodeEventLog(
        fragment,
        fragment.inputs.map((p) => valueOf(p, next)),
      );
      const want = jsonArgs(iface.decodeEventLog(fragment, data, topics), fragment.inputs);
      expect(fast(topics, data)).to.deep.equal(want);
    }
  });

  it("leaves events with indexed arguments of reference types to ethers (logs carry their hash)", function () {
    for (const signature of [
      "event A(string indexed s, uint8 a)",
      "event B(bytes indexed b)",
      "event C(uint256[] indexed c)",
      "event D((uint8 x, string y) indexed d)",
      "event E((uint8 x) indexed e)",
      "event G(uint8[1] indexed g)",
    ]) {
      expect(compileEvent(EventFragment.from(signature)), signature).to.equal(null);
    }
  });

  it("throws AbiLayoutError, never a wrong value, on offsets and lengths out of bounds", function () {
    const fragment = EventFragment.from("event F(bytes b, string[] s)");
    const fast = compileEvent(fragment);
    if (fast === null) throw new Error("expected a fast layout");
    const word = (n: number) => n.toString(16).padStart(64, "0");
    const topic = [fragment.topicHash];
    for (const data of [
      `0x${word(0x40)}${word(0x1000)}${word(0)}`, // the array's offset points beyond the data
      `0x${word(0x40)}${word(0x60)}${word(0x20)}`, // 32 bytes announced, none there
      `0x${word(0x40)}${word(0x60)}${word(0)}${word(2 ** 40)}`, // a huge array length
      `0x${"f".repeat(64)}${word(0x60)}`, // an offset that is no small number
      `0x${word(0x40)}`, // a head cut short
      "0xzz",
    ]) {
      expect(() => fast(topic, data), data).to.throw(AbiLayoutError);
    }
  });
});
