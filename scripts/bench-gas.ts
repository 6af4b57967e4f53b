/**
 * Gas benchmark: a Veritrace co-signed delivery against the Ethereum Attestation Service (EAS),
 * and batch anchoring of off-chain access logs.
 *
 * Usage: npm run bench:gas [-- --json]
 *
 * What is compared, and why it is fair:
 * - The same five fields are attested on both sides: requestId, sequence, payloadHash,
 *   recordCount, deadline. EAS gets them as the data of a schema with exactly those fields;
 *   Veritrace gets them as its `Delivery` struct.
 * - EAS has one attester. The provider is the attester, and the acknowledging party (the
 *   requester's key) is the attestation's recipient, so that both sides bind both parties.
 *   EAS does not verify any acknowledgement by the recipient; Veritrace verifies two EIP-712
 *   signatures (provider: `Delivery`, requester: `Acknowledgement`) and checks both keys, the
 *   grant, the case and the record limit against the consortium's registries. The comparison
 *   therefore leaves EAS doing less work, never more.
 * - Attestations are not revocable and never expire (Veritrace deliveries are neither); no
 *   resolver. `attestByDelegation` and `attestDelivery` are both submitted by a relayer.
 * - Headline figures are steady state: the second transaction of each kind by the same parties.
 *   That takes one-time writes out of both sides (the attester's EAS nonce going from 0 to 1;
 *   Veritrace's counters are already non-zero after the grant, so its first and second
 *   deliveries differ by calldata only). EAS stores every attestation in fresh storage slots by
 *   design: that is its steady state, not a warm-up cost, and it is included. First-time figures
 *   are reported too.
 * - Batch anchoring is measured after one warm-up anchor (the anchor counter's first write),
 *   on one case; gas per entry is the transaction's gasUsed divided by the entries, rounded up.
 * - A private-set-intersection matching session (MatchingLedger) is measured step by step under
 *   the same grant: open (by the requester), recordResponse (the provider's signature, relayed)
 *   and recordResult (both signatures, relayed); first = the ledger's first session, steady =
 *   the second. No comparison: EAS has no counterpart.
 * - The exchange ledger's offer (a sealed delivery's ciphertext hash, size and recipient key, by
 *   the provider) and purge (its deletion, by the provider) are measured last, so that no other
 *   figure moves: first = the ledger's first offer and purge, steady = the second. No comparison.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import {
  AbiCoder,
  Contract,
  ContractFactory,
  Signature,
  TypedDataEncoder,
  ZeroAddress,
  ZeroHash,
  getBytes,
  solidityPackedKeccak256,
  type ContractTransactionResponse,
  type JsonFragment,
  type TypedDataDomain,
  type TypedDataField,
} from "ethers";
import { network } from "hardhat";
import type { NetworkConnection } from "hardhat/types/network";
import { MATCH_RESPONSE_TYPES, MATCH_RESULT_TYPES } from "../src/client/eip712.js";
import { DAY, DataKind, commitment, deployConsortium, scopeOf } from "../test/helpers/fixture.js";

type Ethers = NetworkConnection["ethers"];

// ------------------------------------------------------------------ report

/** Gas of one measured transaction. */
export interface TxGas {
  /** Receipt gasUsed. */
  gasUsed: number;
  /** The part paid for the transaction itself: 21,000 base plus 4/16 gas per zero/non-zero calldata byte. */
  intrinsic: number;
}

/** A transaction measured the first time and in steady state (the second time). */
export interface FirstAndSteady {
  first: TxGas;
  steady: TxGas;
}

/** One batch anchoring. */
export interface BatchGas {
  entries: number;
  gas: TxGas;
  /** gasUsed / entries, rounded up (so the target check can only be stricter). */
  perEntry: number;
}

/** A target and whether it is met. */
export interface Target {
  rule: string;
  actual: number;
  limit: number;
  met: boolean;
}

/** The provider's two exchange-ledger records of a sealed delivery. */
export interface ExchangeGas {
  offer: FirstAndSteady;
  purge: FirstAndSteady;
}

/** The three recorded steps of a matching session. */
export interface MatchingGas {
  open: FirstAndSteady;
  recordResponse: FirstAndSteady;
  recordResult: FirstAndSteady;
}

export interface GasReport {
  chainId: number;
  hardfork: string;
  eas: { attest: FirstAndSteady; attestByDelegation: FirstAndSteady };
  veritrace: {
    delivery: FirstAndSteady;
    anchorFirstEver: TxGas;
    batches: BatchGas[];
    matching: MatchingGas;
    exchange: ExchangeGas;
  };
  targets: { delivery: Target; batchPerEntry: Target };
}

/** Batch sizes anchored, in entries. */
export const BATCH_SIZES = [1, 100, 10_000] as const;
/** Veritrace's delivery may cost at most this share of an EAS `attestByDelegation`. */
export const DELIVERY_SHARE_LIMIT = 0.5;
/** Anchoring the largest batch may cost at most this much gas per entry. */
export const BATCH_PER_ENTRY_LIMIT = 100;

/** The fields of one delivery, as EAS schema and as EIP-712 type (same order). */
export const DELIVERY_SCHEMA =
  "uint256 requestId,uint32 sequence,bytes32 payloadHash,uint64 recordCount,uint64 deadline";
const DELIVERY_FIELDS: TypedDataField[] = [
  { name: "requestId", type: "uint256" },
  { name: "sequence", type: "uint32" },
  { name: "payloadHash", type: "bytes32" },
  { name: "recordCount", type: "uint64" },
  { name: "deadline", type: "uint64" },
];

/** EAS's delegated-attestation type, from contracts/eip1271/EIP1271Verifier.sol (ATTEST_TYPEHASH). */
const EAS_ATTEST_TYPES: Record<string, TypedDataField[]> = {
  Attest: [
    { name: "attester", type: "address" },
    { name: "schema", type: "bytes32" },
    { name: "recipient", type: "address" },
    { name: "expirationTime", type: "uint64" },
    { name: "revocable", type: "bool" },
    { name: "refUID", type: "bytes32" },
    { name: "data", type: "bytes" },
    { name: "value", type: "uint256" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint64" },
  ],
};
/** EAS's EIP-712 domain name and version, from contracts/EAS.sol (`EIP1271Verifier("EAS", "1.4.0")`). */
const EAS_DOMAIN = { name: "EAS", version: "1.4.0" } as const;
const VERITRACE_DOMAIN = { name: "Veritrace Access Ledger", version: "1" } as const;
const MATCHING_DOMAIN = { name: "Veritrace Matching Ledger", version: "1" } as const;

interface Delivery {
  requestId: bigint;
  sequence: number;
  payloadHash: string;
  recordCount: bigint;
  deadline: bigint;
}

// ------------------------------------------------------------------ helpers

const coder = AbiCoder.defaultAbiCoder();
const require = createRequire(import.meta.url);

interface Artifact {
  abi: JsonFragment[];
  bytecode: string;
}

function isAbi(value: unknown): value is JsonFragment[] {
  return (
    Array.isArray(value) &&
    value.every((f: unknown) => typeof f === "object" && f !== null && "type" in f)
  );
}

/** Reads a compiled EAS contract (abi + bytecode) published in the npm package. */
function easArtifact(name: "EAS" | "SchemaRegistry"): Artifact {
  const file = require.resolve(
    `@ethereum-attestation-service/eas-contracts/artifacts/contracts/${name}.sol/${name}.json`,
  );
  const parsed: unknown = JSON.parse(readFileSync(file, "utf8"));
  if (
    typeof parsed !== "object" ||
    parsed === null ||
    !("abi" in parsed) ||
    !("bytecode" in parsed) ||
    !isAbi(parsed.abi) ||
    typeof parsed.bytecode !== "string" ||
    !parsed.bytecode.startsWith("0x")
  ) {
    throw new Error(`${file} is not a Hardhat artifact with abi and bytecode`);
  }
  return { abi: parsed.abi, bytecode: parsed.bytecode };
}

/** An EAS contract deployed from its published artifact, and a way to reach it as any key. */
interface Deployed {
  address: string;
  as(runner: HardhatEthersSigner): Contract;
}

/**
 * Deploys a published EAS artifact with ethers' ContractFactory. The package's own TypeChain
 * bindings are CommonJS and type against ethers' CommonJS build, which TypeScript does not
 * accept where this ESM project's ethers types are expected; the ABI-driven `Contract` is used
 * instead, and the few values read back are checked at run time.
 */
async function deployArtifact(
  name: "EAS" | "SchemaRegistry",
  deployer: HardhatEthersSigner,
  args: unknown[],
): Promise<Deployed> {
  const { abi, bytecode } = easArtifact(name);
  const contract = await new ContractFactory(abi, bytecode, deployer).deploy(...args);
  await contract.waitForDeployment();
  const address = await contract.getAddress();
  return { address, as: (runner) => new Contract(address, abi, runner) };
}

async function send(
  contract: Contract,
  fn: string,
  ...args: unknown[]
): Promise<ContractTransactionResponse> {
  return contract.getFunction(fn).send(...args);
}

async function call(contract: Contract, fn: string, ...args: unknown[]): Promise<unknown> {
  return contract.getFunction(fn).staticCall(...args);
}

/** 21,000 plus the calldata cost of `data` (4 gas per zero byte, 16 per other byte). */
function intrinsicGas(data: string): number {
  let gas = 21_000;
  for (const byte of getBytes(data)) gas += byte === 0 ? 4 : 16;
  return gas;
}

async function measure(sent: Promise<ContractTransactionResponse>): Promise<TxGas> {
  const tx = await sent;
  const receipt = await tx.wait();
  if (receipt === null || receipt.status !== 1) throw new Error(`transaction ${tx.hash} failed`);
  return { gasUsed: Number(receipt.gasUsed), intrinsic: intrinsicGas(tx.data) };
}

/**
 * Chain time the measured transactions start from. Deadlines and expiries are signed and sent
 * as calldata, whose cost depends on their bytes: pinning the clock makes every run cost the same.
 */
const PINNED_START = 2_000_000_000n; // 2033-05-18

/** Mines a block at PINNED_START (or just after the latest block, if that is later). */
async function pinClock(ethers: Ethers): Promise<bigint> {
  const latest = await ethers.provider.getBlock("latest");
  if (latest === null) throw new Error("no latest block");
  const start =
    BigInt(latest.timestamp) < PINNED_START ? PINNED_START : BigInt(latest.timestamp) + 1n;
  await ethers.provider.send("evm_setNextBlockTimestamp", [Number(start)]);
  await ethers.provider.send("evm_mine", []);
  return start;
}

function encodeDelivery(d: Delivery): string {
  return coder.encode(
    DELIVERY_FIELDS.map((f) => f.type),
    [d.requestId, d.sequence, d.payloadHash, d.recordCount, d.deadline],
  );
}

const ceilDiv = (a: number, b: number): number => Math.ceil(a / b);

// ------------------------------------------------------------------ EAS

async function measureEas(
  ethers: Ethers,
  attester: HardhatEthersSigner,
  recipient: string,
  relayer: HardhatEthersSigner,
  first: Delivery,
  steady: Delivery,
): Promise<GasReport["eas"]> {
  const registry = await deployArtifact("SchemaRegistry", attester, []);
  const eas = await deployArtifact("EAS", attester, [registry.address]);

  // No resolver, not revocable. The uid is SchemaRegistry._getUID's.
  await (await send(registry.as(attester), "register", DELIVERY_SCHEMA, ZeroAddress, false)).wait();
  const schema = solidityPackedKeccak256(
    ["string", "address", "bool"],
    [DELIVERY_SCHEMA, ZeroAddress, false],
  );
  const registered = await call(registry.as(attester), "getSchema", schema);
  if (!Array.isArray(registered) || registered[0] !== schema) {
    throw new Error(`EAS schema ${schema} is not registered`);
  }

  const chainId = (await ethers.provider.getNetwork()).chainId;
  const domain: TypedDataDomain = { ...EAS_DOMAIN, chainId, verifyingContract: eas.address };
  if (
    TypedDataEncoder.hashDomain(domain) !== (await call(eas.as(attester), "getDomainSeparator"))
  ) {
    throw new Error("EAS EIP-712 domain differs from the deployed contract's");
  }

  const requestData = (d: Delivery) => ({
    recipient,
    expirationTime: 0n,
    revocable: false,
    refUID: ZeroHash,
    data: encodeDelivery(d),
    value: 0n,
  });

  const attest = (d: Delivery) =>
    measure(send(eas.as(attester), "attest", { schema, data: requestData(d) }));

  const attestByDelegation = async (d: Delivery): Promise<TxGas> => {
    const data = requestData(d);
    const nonce = await call(eas.as(attester), "getNonce", attester.address);
    if (typeof nonce !== "bigint") throw new Error("EAS getNonce returned no number");
    const message = { attester: attester.address, schema, ...data, nonce, deadline: d.deadline };
    const sig = Signature.from(await attester.signTypedData(domain, EAS_ATTEST_TYPES, message));
    return measure(
      send(eas.as(relayer), "attestByDelegation", {
        schema,
        data,
        signature: { v: sig.v, r: sig.r, s: sig.s },
        attester: attester.address,
        deadline: d.deadline,
      }),
    );
  };

  return {
    attest: { first: await attest(first), steady: await attest(steady) },
    attestByDelegation: {
      first: await attestByDelegation(first),
      steady: await attestByDelegation(steady),
    },
  };
}

// ------------------------------------------------------------------ Veritrace

const DELIVERY_TYPES = { Delivery: DELIVERY_FIELDS };
const ACKNOWLEDGEMENT_TYPES = { Acknowledgement: DELIVERY_FIELDS };

/**
 * Measures the benchmark on a fresh consortium and EAS deployment on `connection`'s network
 * (best a fresh `network.create()`: the figures assume nothing else ran there).
 * @param onProgress called with a short description before each step
 */
export async function measureGas(
  connection: NetworkConnection,
  onProgress: (step: string) => void = () => undefined,
): Promise<GasReport> {
  const { ethers, networkConfig } = connection;
  const hardfork = networkConfig.type === "edr-simulated" ? networkConfig.hardfork : "unknown";
  onProgress("deploying the consortium");
  const c = await deployConsortium(ethers);
  const relayer = c.others[0];
  if (relayer === undefined) throw new Error("a relayer account is needed");
  const { police, prosecutor, bank } = c;

  onProgress("opening a case, requesting and granting access");
  const start = await pinClock(ethers);
  await (
    await c.cases
      .connect(police)
      .openCase(
        commitment("case-bench-1"),
        commitment("legal-basis"),
        scopeOf(DataKind.BankAccounts),
        start + 90n * BigInt(DAY),
      )
  ).wait();
  const caseId = await c.cases.caseCount();
  await (await c.cases.connect(prosecutor).approveCase(caseId)).wait();
  await (
    await c.access.connect(bank).registerDataset(DataKind.BankAccounts, commitment("schema"))
  ).wait();
  const [datasetId] = await c.access.counts();
  await (
    await c.access.connect(police).request(caseId, c.ids.bank, datasetId, commitment("subject"), 1)
  ).wait();
  const [, requestId] = await c.access.counts();
  await (
    await c.access.connect(bank).grant(requestId, start + 30n * BigInt(DAY), 1_000_000n)
  ).wait();

  const deadline = start + BigInt(DAY);
  const delivery = (sequence: number): Delivery => ({
    requestId,
    sequence,
    payloadHash: commitment(`payload-${sequence}`),
    recordCount: 250n,
    deadline,
  });

  onProgress("measuring EAS attest and attestByDelegation");
  const eas = await measureEas(ethers, bank, police.address, relayer, delivery(0), delivery(1));

  onProgress("measuring Veritrace attestDelivery");
  const chainId = (await ethers.provider.getNetwork()).chainId;
  const domain: TypedDataDomain = {
    ...VERITRACE_DOMAIN,
    chainId,
    verifyingContract: await c.access.getAddress(),
  };
  const attestDelivery = async (d: Delivery): Promise<TxGas> => {
    if (TypedDataEncoder.hash(domain, DELIVERY_TYPES, d) !== (await c.access.deliveryDigest(d))) {
      throw new Error("Veritrace EIP-712 digest differs from the contract's");
    }
    const providerSig = await bank.signTypedData(domain, DELIVERY_TYPES, d);
    const requesterSig = await police.signTypedData(domain, ACKNOWLEDGEMENT_TYPES, d);
    return measure(
      c.access
        .connect(relayer)
        .attestDelivery(
          d,
          { signer: bank.address, signature: providerSig },
          { signer: police.address, signature: requesterSig },
        ),
    );
  };
  const veritraceDelivery = {
    first: await attestDelivery(delivery(0)),
    steady: await attestDelivery(delivery(1)),
  };

  onProgress("measuring a Veritrace matching session");
  const matchingDomain: TypedDataDomain = {
    ...MATCHING_DOMAIN,
    chainId,
    verifyingContract: await c.matching.getAddress(),
  };
  const session = async (n: number) => {
    const tag = commitment(`session-tag-${n}`);
    const requestDigest = commitment(`request-message-${n}`);
    const open = await measure(
      c.matching.connect(police).open(requestId, 0, tag, requestDigest, 1_000n),
    );
    const sessionId = await c.matching.sessionCount();
    const response = {
      sessionId,
      tag,
      requestDigest,
      responseDigest: commitment(`response-message-${n}`),
      providerSetSize: 50_000n,
    };
    if (
      TypedDataEncoder.hash(matchingDomain, MATCH_RESPONSE_TYPES, response) !==
      (await c.matching.responseDigest(response))
    ) {
      throw new Error("MatchResponse EIP-712 digest differs from the contract's");
    }
    const recordResponse = await measure(
      c.matching.connect(relayer).recordResponse(response, {
        signer: bank.address,
        signature: await bank.signTypedData(matchingDomain, MATCH_RESPONSE_TYPES, response),
      }),
    );
    const signed = {
      sessionId,
      tag,
      requestDigest,
      responseDigest: response.responseDigest,
      resultCommitment: commitment(`result-${n}`),
      cardinality: 17n,
    };
    const recordResult = await measure(
      c.matching.connect(relayer).recordResult(
        signed,
        {
          signer: bank.address,
          signature: await bank.signTypedData(matchingDomain, MATCH_RESULT_TYPES, signed),
        },
        {
          signer: police.address,
          signature: await police.signTypedData(matchingDomain, MATCH_RESULT_TYPES, signed),
        },
      ),
    );
    return { open, recordResponse, recordResult };
  };
  const firstSession = await session(1);
  const steadySession = await session(2);
  const matching: MatchingGas = {
    open: { first: firstSession.open, steady: steadySession.open },
    recordResponse: { first: firstSession.recordResponse, steady: steadySession.recordResponse },
    recordResult: { first: firstSession.recordResult, steady: steadySession.recordResult },
  };

  onProgress("anchoring a warm-up batch");
  const anchorTree = async (entries: number): Promise<TxGas> => {
    const values: [bigint, string][] = [];
    for (let i = 0; i < entries; i++) {
      values.push([BigInt(i), commitment(`access-log-${entries}-${i}`)]);
    }
    const tree = StandardMerkleTree.of(values, ["uint256", "bytes32"]);
    const gas = await measure(c.anchor.connect(bank).anchor(caseId, 0n, tree.root, entries));
    // The tree's leaf encoding must be the one the contract verifies.
    const last = values.length - 1;
    const [index, entryHash] = tree.at(last) ?? [];
    if (index === undefined || entryHash === undefined) throw new Error("empty tree");
    const anchorId = await c.anchor.anchorCount();
    if (!(await c.anchor.verifyEntry(anchorId, index, entryHash, tree.getProof(last)))) {
      throw new Error(`AccessLogAnchor rejects a proof of the ${entries}-entry tree`);
    }
    return gas;
  };
  const anchorFirstEver = await anchorTree(1);
  const batches: BatchGas[] = [];
  for (const entries of BATCH_SIZES) {
    onProgress(`anchoring a batch of ${entries.toLocaleString("en-US")} entries`);
    const gas = await anchorTree(entries);
    batches.push({ entries, gas, perEntry: ceilDiv(gas.gasUsed, entries) });
  }

  onProgress("measuring an exchange offer and purge");
  const exchangeLedger = c.exchangeLedger;
  await (await c.keys.connect(police).registerKey(commitment("police x25519"), 0n)).wait();
  const recipientKeyId = await c.keys.latestKeyId(c.ids.police);
  // Deliveries 0 and 1 are attested: the next sequences are 2 and 3.
  const offer = (sequence: number): Promise<TxGas> =>
    measure(
      exchangeLedger
        .connect(bank)
        .offer(
          requestId,
          sequence,
          commitment(`payload-${sequence}`),
          commitment(`ciphertext-${sequence}`),
          1n << 30n,
          recipientKeyId,
          7 * DAY,
        ),
    );
  const purge = (sequence: number): Promise<TxGas> =>
    measure(exchangeLedger.connect(bank).recordPurge(requestId, sequence, 0));
  const exchange: ExchangeGas = {
    offer: { first: await offer(2), steady: await offer(3) },
    purge: { first: await purge(2), steady: await purge(3) },
  };

  const easDelegated = eas.attestByDelegation.steady.gasUsed;
  const deliveryShare = Math.round((veritraceDelivery.steady.gasUsed / easDelegated) * 1e4) / 1e4;
  const largest = batches[batches.length - 1];
  if (largest === undefined) throw new Error("no batch measured");
  return {
    chainId: Number(chainId),
    hardfork,
    eas,
    veritrace: { delivery: veritraceDelivery, anchorFirstEver, batches, matching, exchange },
    targets: {
      delivery: {
        rule: `veritrace.delivery <= ${DELIVERY_SHARE_LIMIT * 100}% of eas.attestByDelegation`,
        actual: deliveryShare,
        limit: DELIVERY_SHARE_LIMIT,
        met: deliveryShare <= DELIVERY_SHARE_LIMIT,
      },
      batchPerEntry: {
        rule: `veritrace.batchPerEntry at ${largest.entries} entries <= ${BATCH_PER_ENTRY_LIMIT} gas`,
        actual: largest.perEntry,
        limit: BATCH_PER_ENTRY_LIMIT,
        met: largest.perEntry <= BATCH_PER_ENTRY_LIMIT,
      },
    },
  };
}

// ------------------------------------------------------------------ output

/** What is compared, in one paragraph for people and machines. */
export const COMPARISON =
  "Same five fields on both sides. EAS: one attester (provider), recipient = requester key, " +
  "not revocable, no expiry, no resolver; attestByDelegation relayed. Veritrace: " +
  "provider Delivery + requester Acknowledgement EIP-712 signatures, both verified on-chain, " +
  "relayed. Headlines are steady state (second transaction of each kind by the same parties).";

/** The report as one flat JSON object; the first four keys are the benchmark's contract. */
export function toJson(report: GasReport): Record<string, unknown> {
  const perEntry: Record<string, number> = {};
  const batchGas: Record<string, number> = {};
  for (const b of report.veritrace.batches) {
    perEntry[String(b.entries)] = b.perEntry;
    batchGas[String(b.entries)] = b.gas.gasUsed;
  }
  return {
    "eas.attest": report.eas.attest.steady.gasUsed,
    "eas.attestByDelegation": report.eas.attestByDelegation.steady.gasUsed,
    "veritrace.delivery": report.veritrace.delivery.steady.gasUsed,
    "veritrace.batchPerEntry": perEntry,
    "eas.attestFirst": report.eas.attest.first.gasUsed,
    "eas.attestByDelegationFirst": report.eas.attestByDelegation.first.gasUsed,
    "veritrace.deliveryFirst": report.veritrace.delivery.first.gasUsed,
    "veritrace.batchGas": batchGas,
    "veritrace.anchorFirstEver": report.veritrace.anchorFirstEver.gasUsed,
    "veritrace.matchOpen": report.veritrace.matching.open.steady.gasUsed,
    "veritrace.matchResponse": report.veritrace.matching.recordResponse.steady.gasUsed,
    "veritrace.matchResult": report.veritrace.matching.recordResult.steady.gasUsed,
    "veritrace.matchOpenFirst": report.veritrace.matching.open.first.gasUsed,
    "veritrace.exchangeOffer": report.veritrace.exchange.offer.steady.gasUsed,
    "veritrace.exchangePurge": report.veritrace.exchange.purge.steady.gasUsed,
    "veritrace.exchangeOfferFirst": report.veritrace.exchange.offer.first.gasUsed,
    "targets.delivery": report.targets.delivery,
    "targets.batchPerEntry": report.targets.batchPerEntry,
    compared: COMPARISON,
    network: { chainId: report.chainId, hardfork: report.hardfork },
  };
}

const fmt = (n: number): string => n.toLocaleString("en-US");
const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;

/** The report as a table for people. */
export function formatTable(report: GasReport): string {
  const batchRows = report.veritrace.batches.map((b): [string, TxGas, string] => [
    `AccessLogAnchor.anchor, ${fmt(b.entries)} ${b.entries === 1 ? "entry" : "entries"}`,
    b.gas,
    `${fmt(b.perEntry)} gas/entry`,
  ]);
  const rows: [string, TxGas, string][] = [
    ["EAS attest (provider sends)", report.eas.attest.steady, ""],
    ["EAS attestByDelegation (relayed)", report.eas.attestByDelegation.steady, ""],
    ["Veritrace attestDelivery (relayed, 2 sigs)", report.veritrace.delivery.steady, ""],
    ...batchRows,
    ["MatchingLedger.open (requester)", report.veritrace.matching.open.steady, ""],
    [
      "MatchingLedger.recordResponse (relayed, 1 sig)",
      report.veritrace.matching.recordResponse.steady,
      "",
    ],
    [
      "MatchingLedger.recordResult (relayed, 2 sigs)",
      report.veritrace.matching.recordResult.steady,
      "",
    ],
    ["ExchangeLedger.offer (provider)", report.veritrace.exchange.offer.steady, ""],
    ["ExchangeLedger.recordPurge (provider)", report.veritrace.exchange.purge.steady, ""],
    ["first time: EAS attest", report.eas.attest.first, "sequence 0: a zero data word"],
    ["first time: EAS attestByDelegation", report.eas.attestByDelegation.first, "same; nonce 0→1"],
    ["first time: Veritrace attestDelivery", report.veritrace.delivery.first, "sequence 0"],
    ["first time: anchor (1 entry)", report.veritrace.anchorFirstEver, "counter 0→1"],
    [
      "first time: MatchingLedger.open",
      report.veritrace.matching.open.first,
      "session and identifier counters 0→1",
    ],
    ["first time: ExchangeLedger.offer", report.veritrace.exchange.offer.first, "counter 0→1"],
  ];
  const header = [
    "operation (steady state unless noted)",
    "gasUsed",
    "base+calldata",
    "execution",
    "note",
  ];
  const cells = rows.map(([label, g, note]) => [
    label,
    fmt(g.gasUsed),
    fmt(g.intrinsic),
    fmt(g.gasUsed - g.intrinsic),
    note,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]): string =>
    r
      .map((cell, i) =>
        i === 0 || i === r.length - 1 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0),
      )
      .join("  ")
      .trimEnd();
  const rule = widths.map((w) => "-".repeat(w)).join("  ");
  const { delivery, batchPerEntry } = report.targets;
  const verdict = (t: Target): string => (t.met ? "met" : "MISSED");
  return [
    `Veritrace gas benchmark (in-process EDR, chain ${report.chainId}, hardfork ${report.hardfork})`,
    "",
    line(header),
    rule,
    ...cells.map(line),
    "",
    "Targets",
    `  delivery <= ${pct(delivery.limit)} of EAS attestByDelegation: ${pct(delivery.actual)} ` +
      `(${fmt(report.veritrace.delivery.steady.gasUsed)} / ${fmt(report.eas.attestByDelegation.steady.gasUsed)}) ${verdict(delivery)}`,
    `  anchoring <= ${batchPerEntry.limit} gas per entry at ${fmt(BATCH_SIZES[BATCH_SIZES.length - 1] ?? 0)}: ` +
      `${fmt(batchPerEntry.actual)} ${verdict(batchPerEntry)}`,
    "",
    `Compared: ${COMPARISON}`,
  ].join("\n");
}

// ------------------------------------------------------------------ CLI

const USAGE = `Usage: npm run bench:gas [-- --json]

Measures receipt gasUsed of EAS attest/attestByDelegation, Veritrace attestDelivery,
AccessLogAnchor.anchor of 1, 100 and 10,000-entry Merkle trees, and the three recorded steps of a
MatchingLedger session (open, recordResponse, recordResult) and an ExchangeLedger offer and purge
on an in-process network.

  --json   print one JSON object (last line of stdout) instead of the table
  --help   show this help

Exit codes: 0 targets met, 1 a target missed or the run failed, 2 bad usage.`;

async function main(args: string[]): Promise<number> {
  const unknown = args.filter((a) => a !== "--json" && a !== "--help" && a !== "-h");
  if (unknown.length > 0) {
    process.stderr.write(`bench:gas: unknown argument ${unknown[0]} (try --help)\n`);
    return 2;
  }
  if (args.includes("--help") || args.includes("-h")) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const json = args.includes("--json");
  const progress = process.stderr.isTTY
    ? (step: string) => process.stderr.write(`\r\x1b[K${step}…`)
    : () => undefined;

  const connection = await network.create();
  const report = await measureGas(connection, progress);
  if (process.stderr.isTTY) process.stderr.write("\r\x1b[K");
  await connection.close();

  process.stdout.write(`${json ? JSON.stringify(toJson(report)) : formatTable(report)}\n`);
  const missed = [report.targets.delivery, report.targets.batchPerEntry].filter((t) => !t.met);
  if (missed.length > 0) {
    const what = missed.map((t) => `${t.rule} (actual ${t.actual})`).join("; ");
    process.stderr.write(`bench:gas: target missed: ${what}\n`);
    return 1;
  }
  return 0;
}

const invokedPath = process.argv[1];
if (
  invokedPath !== undefined &&
  import.meta.url === pathToFileURL(path.resolve(invokedPath)).href
) {
  try {
    process.exitCode = await main(process.argv.slice(2));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`bench:gas: ${message.split("\n")[0]}\n`);
    process.exitCode = 1;
  }
}
