import { Interface, type ErrorDescription, type Result } from "ethers";
import { VeritraceError } from "../shared/errors.js";
import {
  AccessLedger__factory,
  AccessLogAnchor__factory,
  AccountIngress__factory,
  LabelRegistry__factory,
  FreezeRegistry__factory,
  CaseRegistry__factory,
  MatchingLedger__factory,
  EncryptionKeyRegistry__factory,
  ExchangeLedger__factory,
  NodeIngress__factory,
  ParticipantRegistry__factory,
} from "../../types/ethers-contracts/index.js";

/** The root of every error Veritrace raises on purpose (shared with the tracing service). */
export { VeritraceError, type ErrorKind } from "../shared/errors.js";

/** An input was rejected before anything was sent to the chain. */
export class InputError extends VeritraceError {
  override name = "InputError";
  /** The offending field. */
  readonly field: string;
  constructor(field: string, message: string) {
    super(`${field}: ${message}`, { kind: "invalid-input" });
    this.field = field;
  }
}

/** Names of the values of the contracts' enums, by their ABI internal type. */
const ENUMS: Readonly<Record<string, readonly string[]>> = {
  "enum IParticipantRegistry.Status": ["None", "Active", "Suspended", "Revoked"],
  "enum IParticipantRegistry.Action": [
    "Admit",
    "Suspend",
    "Reinstate",
    "Revoke",
    "AddSigningKey",
    "RemoveSigningKey",
    "AddCouncilMember",
    "RemoveCouncilMember",
    "SetQuorum",
    "Unpause",
    "AddNode",
    "RemoveNode",
    "SetRules",
    "CancelProposal",
    "ExtendPause",
  ],
  "enum IParticipantRegistry.ProposalStatus": [
    "None",
    "Pending",
    "Executed",
    "Failed",
    "Cancelled",
  ],
  "enum ICaseRegistry.Status": ["None", "Pending", "Approved", "Closed"],
  "enum IAccessLedger.RequestStatus": [
    "None",
    "Pending",
    "Granted",
    "Denied",
    "Revoked",
    "Withdrawn",
  ],
  "enum IFreezeRegistry.FreezeStatus": [
    "None",
    "Requested",
    "Executed",
    "Rejected",
    "Acknowledged",
  ],
  "enum IMatchingLedger.Mode": ["Psi", "Cardinality"],
  "enum IMatchingLedger.SessionStatus": ["None", "Open", "Responded", "Completed", "Failed"],
};

/** A contract reverted with one of the consortium's custom errors. */
export class ContractRevertError extends VeritraceError {
  override name = "ContractRevertError";
  /** The custom error's name, e.g. "CaseNotApproved". */
  readonly errorName: string;
  /** The error's arguments by name. */
  readonly args: Readonly<Record<string, unknown>>;
  constructor(
    errorName: string,
    args: Record<string, unknown>,
    cause?: unknown,
    enumTypes: Readonly<Record<string, string>> = {},
  ) {
    const shown = Object.entries(args)
      .map(([k, v]) => `${k}=${formatValue(v, enumTypes[k])}`)
      .join(", ");
    // The chain refused what its state does not allow: a conflict with that state.
    super(`${errorName}(${shown})`, { cause, kind: "conflict" });
    this.errorName = errorName;
    this.args = args;
  }
}

function formatValue(v: unknown, enumType?: string): string {
  if (typeof v === "bigint") {
    const names = enumType === undefined ? undefined : ENUMS[enumType];
    return names?.[Number(v)] ?? v.toString();
  }
  if (typeof v === "string") return v;
  if (Array.isArray(v)) return `[${v.map((x) => formatValue(x)).join(", ")}]`;
  return String(v);
}

const errorFragments = dedupe([
  ...ParticipantRegistry__factory.abi,
  ...CaseRegistry__factory.abi,
  ...AccessLedger__factory.abi,
  ...AccessLogAnchor__factory.abi,
  ...LabelRegistry__factory.abi,
  ...FreezeRegistry__factory.abi,
  ...MatchingLedger__factory.abi,
  ...EncryptionKeyRegistry__factory.abi,
  ...ExchangeLedger__factory.abi,
  // A SetRules execution bubbles up the ingress's refusal of the new rules.
  ...AccountIngress__factory.abi,
  ...NodeIngress__factory.abi,
]).filter((f) => f.type === "error");

/** Every custom error of every consortium contract, for decoding reverts that bubble across contracts. */
const consortiumErrors = new Interface(errorFragments);

/** For each error, its enum-typed inputs: input name → ABI internal type. */
const enumInputs = new Map<string, Record<string, string>>(
  errorFragments.map((f) => {
    const inputs = ("inputs" in f ? f.inputs : []) as readonly {
      name: string;
      internalType?: string;
    }[];
    const enums: Record<string, string> = {};
    for (const i of inputs)
      if (i.internalType?.startsWith("enum ") === true) enums[i.name] = i.internalType;
    return [String(f.name), enums];
  }),
);

function dedupe<T extends { type: string; name?: string }>(fragments: readonly T[]): T[] {
  const seen = new Set<string>();
  return fragments.filter((f) => {
    const key = `${f.type}:${f.name ?? ""}:${JSON.stringify(f)}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Finds the revert data (0x-prefixed hex) anywhere in an error thrown by ethers or a provider. */
export function revertDataOf(error: unknown, depth = 0): string | undefined {
  if (depth > 6 || error === null || typeof error !== "object") return undefined;
  const e = error as Record<string, unknown>;
  const data = e["data"];
  if (typeof data === "string" && /^0x[0-9a-fA-F]{8}/.test(data)) return data;
  if (typeof data === "object" && data !== null) {
    const inner = revertDataOf(data, depth + 1);
    if (inner !== undefined) return inner;
  }
  for (const key of ["error", "info", "cause", "revert"]) {
    const inner = revertDataOf(e[key], depth + 1);
    if (inner !== undefined) return inner;
  }
  return undefined;
}

function toObject(desc: ErrorDescription): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  desc.fragment.inputs.forEach((input, i) => {
    out[input.name === "" ? `arg${i}` : input.name] = plain(desc.args[i]);
  });
  return out;
}

function plain(v: unknown): unknown {
  if (v !== null && typeof v === "object" && "toArray" in v)
    return (v as Result).toArray().map(plain);
  return v;
}

/**
 * Turns an error thrown by a contract call into a {@link ContractRevertError} naming the custom
 * error and its values, when the revert data is one of the consortium's errors; otherwise returns
 * the error unchanged.
 */
export function decodeRevert(error: unknown): unknown {
  if (error instanceof VeritraceError) return error;
  const data = revertDataOf(error);
  if (data === undefined) return error;
  return decodeRevertData(data, error) ?? error;
}

/** The consortium custom error that `data` (revert data, 0x-hex) encodes; undefined for others. */
export function decodeRevertData(data: string, cause?: unknown): ContractRevertError | undefined {
  let desc: ErrorDescription | null;
  try {
    desc = consortiumErrors.parseError(data);
  } catch {
    return undefined;
  }
  if (desc === null) return undefined;
  return new ContractRevertError(desc.name, toObject(desc), cause, enumInputs.get(desc.name));
}

/**
 * A council proposal's execution was recorded as failed (event `ProposalFailed`): its action
 * reverted, or the state it was proposed in had changed (`ProposalStale`). The failure is final on
 * chain: the proposal can never run; propose it again if it is still wanted.
 */
export class ProposalFailedError extends VeritraceError {
  override name = "ProposalFailedError";
  /** The failed proposal. */
  readonly proposalId: bigint;
  /** The decoded revert reason, or its raw data when it is no consortium error. */
  readonly reason: ContractRevertError | string;
  constructor(proposalId: bigint, data: string) {
    const decoded = decodeRevertData(data);
    super(`proposal ${proposalId} failed: ${decoded?.message ?? data}`, { kind: "conflict" });
    this.proposalId = proposalId;
    this.reason = decoded ?? data;
  }
}

/** Runs `fn`, rethrowing consortium reverts as {@link ContractRevertError}. */
export async function withDecodedReverts<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw decodeRevert(error);
  }
}
