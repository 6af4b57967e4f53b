import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { dataSlice, getAddress, type Interface } from "ethers";
import type { NetworkConnection } from "hardhat/types/network";
import type { ParticipantRegistry } from "../../types/ethers-contracts/index.js";
import { coder, commitment, kind, LIFETIME } from "./fixture.js";

type Ethers = NetworkConnection["ethers"];
type NetworkHelpers = NetworkConnection["networkHelpers"];

/** Proposal statuses, in the order of IParticipantRegistry.ProposalStatus. */
export const ProposalStatus = {
  None: 0,
  Pending: 1,
  Executed: 2,
  Failed: 3,
  Cancelled: 4,
} as const;

/**
 * The revert data of custom error `name` of `contract` with `args`: what `ProposalFailed` carries
 * when a proposal's action reverted with that error.
 */
export function reason(
  contract: { interface: Interface },
  name: string,
  ...args: unknown[]
): string {
  return contract.interface.encodeErrorResult(name, args);
}

/** Participant statuses, in the order of IParticipantRegistry.Status. */
export const Status = { None: 0, Active: 1, Suspended: 2, Revoked: 3 } as const;

/** Case statuses, in the order of ICaseRegistry.Status. */
export const CaseStatus = { None: 0, Pending: 1, Approved: 2, Closed: 3 } as const;

/** ABI-encoded arguments of each proposal action (see IParticipantRegistry.Action). */
export const encode = {
  admit: (kindName: string, metadata: string, key: string): string =>
    coder.encode(["bytes32", "bytes32", "address"], [kind(kindName), metadata, key]),
  participant: (id: number | bigint): string => coder.encode(["uint32"], [id]),
  key: (id: number | bigint, key: string): string => coder.encode(["uint32", "address"], [id, key]),
  quorum: (quorum: number): string => coder.encode(["uint16"], [quorum]),
  proposal: (proposalId: bigint): string => coder.encode(["uint256"], [proposalId]),
  duration: (seconds: number): string => coder.encode(["uint32"], [seconds]),
  none: "0x",
};

/** A deterministic address whose private key nobody holds: a signing key that never signs. */
export const addressOf = (label: string): string => getAddress(dataSlice(commitment(label), 12));

/** A founder record for the ParticipantRegistry constructor. */
export const founder = (signingKey: string, label = signingKey) => ({
  kind: kind("AUDITOR"),
  metadataCommitment: commitment(`founder:${label}`),
  signingKey,
});

/** Deploys a bare registry with the given founders and quorum. */
export async function deployRegistry(
  ethers: Ethers,
  founders: ReturnType<typeof founder>[],
  quorum: number,
): Promise<ParticipantRegistry> {
  return ethers.deployContract("ParticipantRegistry", [founders, quorum]);
}

/** Proposes `action` as `proposer` and returns the new proposal's id. */
export async function propose(
  registry: ParticipantRegistry,
  proposer: HardhatEthersSigner,
  action: number,
  args: string,
  lifetime: number = LIFETIME,
): Promise<bigint> {
  await (await registry.connect(proposer).propose(action, args, lifetime)).wait();
  return registry.proposalCount();
}

/**
 * Proposes `action` as council[0] and approves it as council[1]: with the fixture's quorum of
 * 2 the proposal is then ready for `execute`, which the caller runs to observe its effect.
 */
export async function approved(
  registry: ParticipantRegistry,
  council: HardhatEthersSigner[],
  action: number,
  args: string,
): Promise<bigint> {
  const [c0, c1] = council;
  if (c0 === undefined || c1 === undefined) throw new Error("two council members needed");
  const id = await propose(registry, c0, action, args);
  await (await registry.connect(c1).approve(id)).wait();
  return id;
}

/** Fixes the timestamp of the next block (the next transaction's) and returns it. */
export async function nextTimestamp(networkHelpers: NetworkHelpers, ahead = 1): Promise<number> {
  const ts = (await networkHelpers.time.latest()) + ahead;
  await networkHelpers.time.setNextBlockTimestamp(ts);
  return ts;
}

/** The element at `index`, which the test's setup guarantees exists. */
export function at<T>(items: readonly T[], index: number): T {
  const item = items[index];
  if (item === undefined) throw new Error(`no element at index ${index}`);
  return item;
}
