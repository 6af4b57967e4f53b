import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { AbiCoder, encodeBytes32String, keccak256, toUtf8Bytes } from "ethers";
import type { NetworkConnection } from "hardhat/types/network";
import type {
  AccessLedger,
  AccessLogAnchor,
  FreezeRegistry,
  LabelRegistry,
  CaseRegistry,
  EncryptionKeyRegistry,
  ExchangeLedger,
  MatchingLedger,
  ParticipantRegistry,
} from "../../types/ethers-contracts/index.js";

/** Proposal actions, in the order of IParticipantRegistry.Action. */
export const Action = {
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

export const DAY = 24 * 60 * 60;
export const LIFETIME = 7 * DAY;
export const coder = AbiCoder.defaultAbiCoder();
export const kind = (name: string): string => encodeBytes32String(name);
export const commitment = (text: string): string => keccak256(toUtf8Bytes(text));

/** Data kinds used in tests (bit index in a case's scope). */
export const DataKind = {
  BankAccounts: 0,
  Transactions: 1,
  Subscribers: 2,
  CallRecords: 3,
  Metering: 4,
};
export const scopeOf = (...kinds: number[]): bigint =>
  kinds.reduce((s, k) => s | (1n << BigInt(k)), 0n);

export interface Consortium {
  registry: ParticipantRegistry;
  cases: CaseRegistry;
  access: AccessLedger;
  anchor: AccessLogAnchor;
  labels: LabelRegistry;
  freezes: FreezeRegistry;
  matching: MatchingLedger;
  keys: EncryptionKeyRegistry;
  exchangeLedger: ExchangeLedger;
  /** Founding council members (participants 1, 2, 3), quorum 2. */
  council: HardhatEthersSigner[];
  police: HardhatEthersSigner; // participant 4
  prosecutor: HardhatEthersSigner; // participant 5
  bank: HardhatEthersSigner; // participant 6
  telecom: HardhatEthersSigner; // participant 7
  others: HardhatEthersSigner[];
  ids: { police: number; prosecutor: number; bank: number; telecom: number };
}

type Ethers = NetworkConnection["ethers"];

/** Runs a council proposal through: proposal by council[0], approval by council[1], execution. */
export async function passProposal(
  registry: ParticipantRegistry,
  council: HardhatEthersSigner[],
  action: number,
  args: string,
): Promise<bigint> {
  const c0 = council[0];
  const c1 = council[1];
  if (c0 === undefined || c1 === undefined) throw new Error("two council members needed");
  await (await registry.connect(c0).propose(action, args, LIFETIME)).wait();
  const id = await registry.proposalCount();
  await (await registry.connect(c1).approve(id)).wait();
  await (await registry.connect(c1).execute(id)).wait();
  // A failing action does not revert execute: it marks the proposal Failed.
  const { status } = await registry.proposal(id);
  if (status !== 2n) throw new Error(`proposal ${id} did not execute (status ${status})`);
  return id;
}

export async function admit(
  registry: ParticipantRegistry,
  council: HardhatEthersSigner[],
  kindName: string,
  signer: string,
): Promise<number> {
  const args = coder.encode(
    ["bytes32", "bytes32", "address"],
    [kind(kindName), commitment(`${kindName}:${signer}`), signer],
  );
  await passProposal(registry, council, Action.Admit, args);
  return Number(await registry.participantCount());
}

/** Deploys the consortium with three founders (quorum 2) and admits police, prosecutor, bank, telecom. */
export async function deployConsortium(ethers: Ethers): Promise<Consortium> {
  const signers = await ethers.getSigners();
  const [c1, c2, c3, police, prosecutor, bank, telecom, ...others] = signers;
  if (!c1 || !c2 || !c3 || !police || !prosecutor || !bank || !telecom) throw new Error("signers");
  const council = [c1, c2, c3];
  const founders = council.map((s, i) => ({
    kind: kind("AUDITOR"),
    metadataCommitment: commitment(`founder-${i}`),
    signingKey: s.address,
  }));
  const registry = await ethers.deployContract("ParticipantRegistry", [founders, 2]);
  const cases = await ethers.deployContract("CaseRegistry", [await registry.getAddress()]);
  const access = await ethers.deployContract("AccessLedger", [
    await registry.getAddress(),
    await cases.getAddress(),
  ]);
  const anchor = await ethers.deployContract("AccessLogAnchor", [
    await registry.getAddress(),
    await cases.getAddress(),
  ]);
  const labels = await ethers.deployContract("LabelRegistry", [
    await registry.getAddress(),
    await cases.getAddress(),
  ]);
  const freezes = await ethers.deployContract("FreezeRegistry", [
    await registry.getAddress(),
    await cases.getAddress(),
  ]);
  const matching = await ethers.deployContract("MatchingLedger", [
    await registry.getAddress(),
    await cases.getAddress(),
    await access.getAddress(),
  ]);
  const keys = await ethers.deployContract("EncryptionKeyRegistry", [await registry.getAddress()]);
  const exchangeLedger = await ethers.deployContract("ExchangeLedger", [
    await registry.getAddress(),
    await cases.getAddress(),
    await access.getAddress(),
    await keys.getAddress(),
  ]);
  const ids = {
    police: await admit(registry, council, "POLICE", police.address),
    prosecutor: await admit(registry, council, "PROSECUTOR", prosecutor.address),
    bank: await admit(registry, council, "BANK", bank.address),
    telecom: await admit(registry, council, "TELECOM", telecom.address),
  };
  return {
    registry,
    cases,
    access,
    anchor,
    labels,
    freezes,
    matching,
    keys,
    exchangeLedger,
    council,
    police,
    prosecutor,
    bank,
    telecom,
    others,
    ids,
  };
}
