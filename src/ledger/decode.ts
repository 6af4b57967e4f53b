import { Interface, type EventFragment, type ParamType, type Result } from "ethers";
import { CONTRACT_FACTORIES, type DeploymentRecord } from "../client/deployment.js";
import type { ContractName, EventRow } from "../db/store.js";
import { compileEvent, type EventArgsDecoder } from "../chain/abi.js";
import type { RawLog } from "../chain/rpc.js";

/** The row and log shapes, defined where they are stored and read (re-exported for callers). */
export type { ContractName, EventRow } from "../db/store.js";
export type { RawLog } from "../chain/rpc.js";

/** The consortium contracts' interfaces, by the names the deployment record uses. */
const INTERFACES = Object.fromEntries(
  Object.entries(CONTRACT_FACTORIES).map(([name, factory]) => [name, new Interface(factory.abi)]),
) as Record<ContractName, Interface>;

/** Which argument is the acting participant and which the other party, per event. */
const PARTIES: Record<string, { actor?: string; counterpart?: string }> = {
  ParticipantAdmitted: { actor: "participantId" },
  ParticipantStatusChanged: { actor: "participantId" },
  SigningKeyAdded: { actor: "participantId" },
  SigningKeyRemoved: { actor: "participantId" },
  ProposalCreated: { actor: "proposer" },
  ProposalApproved: { actor: "approver" },
  ApprovalWithdrawn: { actor: "approver" },
  // The proposer that cancelled its own proposal; 0 (no actor) when the council did.
  ProposalCancelled: { actor: "canceller" },
  EmergencyPaused: { actor: "participantId" },
  CaseOpened: { actor: "opener" },
  CaseApproved: { actor: "approver" },
  CaseExtensionRequested: { actor: "requester" },
  CaseExtended: { actor: "approver" },
  CaseClosed: { actor: "closer" },
  DatasetRegistered: { actor: "provider" },
  DatasetRetired: { actor: "provider" },
  AccessRequested: { actor: "requester", counterpart: "provider" },
  AccessRequestWithdrawn: { actor: "requester", counterpart: "provider" },
  AccessGranted: { actor: "provider" },
  AccessDenied: { actor: "provider" },
  GrantRevoked: { actor: "provider" },
  DeliveryAttested: { actor: "providerId", counterpart: "requesterId" },
  LogAnchored: { actor: "participant" },
  LabelPublished: { actor: "author" },
  LabelRevoked: { actor: "author" },
  FreezeRequested: { actor: "requester", counterpart: "exchange" },
  FreezeExecuted: { actor: "exchange" },
  FreezeRejected: { actor: "exchange" },
  FreezeAcknowledged: { actor: "requester" },
  MatchSessionOpened: { actor: "requesterId", counterpart: "providerId" },
  MatchResponseRecorded: { actor: "providerId", counterpart: "requesterId" },
  MatchCompleted: { actor: "requesterId", counterpart: "providerId" },
  MatchFailed: { actor: "participantId" },
  EncryptionKeyRegistered: { actor: "participantId" },
  EncryptionKeyRevoked: { actor: "participantId" },
  DeliveryOffered: { actor: "provider", counterpart: "requester" },
  DeliveryPurged: { actor: "provider", counterpart: "requester" },
  GatewaySet: { actor: "participantId" },
};

/** JSON-safe copy of decoded arguments: bigints as decimal strings, structs as objects. */
export function jsonArgs(args: Result, inputs: readonly ParamType[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  inputs.forEach((p, i) => {
    out[p.name] = toJson(args[i], p);
  });
  return out;
}

function toJson(v: unknown, p: ParamType): unknown {
  if (p.isArray()) return (v as unknown[]).map((x) => toJson(x, p.arrayChildren));
  if (p.isTuple()) {
    const values = v as unknown[];
    return Object.fromEntries(p.components.map((c, i) => [c.name, toJson(values[i], c)]));
  }
  if (typeof v === "bigint") return v.toString();
  if (typeof v === "string") return p.type === "address" ? v.toLowerCase() : v;
  return v;
}

const str = (v: unknown): string | null => (v === undefined || v === null ? null : String(v));
const num = (v: unknown): number | null => (v === undefined || v === null ? null : Number(v));
/** A participant id; 0, which the contracts use for "none" (a council decision), is no party. */
const participant = (v: unknown): number | null => {
  const n = num(v);
  return n === 0 ? null : n;
};

/** One event of one contract, ready to decode: its layout is compiled once, by topic0. */
interface KnownEvent {
  contract: ContractName;
  name: string;
  fragment: EventFragment;
  /** The fast path, or null when the event needs ethers (indexed dynamic arguments). */
  fast: EventArgsDecoder | null;
  parties: { actor?: string; counterpart?: string };
}

/** Per contract, its events by topic0 (lower case); compiled once for all decoders. */
const EVENTS: Record<ContractName, Map<string, KnownEvent>> = (() => {
  const out = {} as Record<ContractName, Map<string, KnownEvent>>;
  for (const [contract, iface] of Object.entries(INTERFACES) as [ContractName, Interface][]) {
    const byTopic = new Map<string, KnownEvent>();
    iface.forEachEvent((fragment) => {
      if (fragment.anonymous) return;
      byTopic.set(fragment.topicHash.toLowerCase(), {
        contract,
        name: fragment.name,
        fragment,
        fast: compileEvent(fragment),
        parties: PARTIES[fragment.name] ?? {},
      });
    });
    out[contract] = byTopic;
  }
  return out;
})();

/**
 * The arguments of a log of `known`, in their JSON form: by the compiled layout, or by ethers when
 * the layout does not apply (ethers' verdict, a value or an error, is then the answer).
 */
function decodeArgs(known: KnownEvent, log: RawLog): Record<string, unknown> | null {
  if (known.fast !== null) {
    try {
      return known.fast(log.topics, log.data);
    } catch {
      // Not the layout's case (AbiLayoutError) or invalid text: ethers decides.
    }
  }
  try {
    const args = INTERFACES[known.contract].decodeEventLog(known.fragment, log.data, log.topics);
    // Inside the try: ethers defers some decoding errors (a dirty address) to the first read.
    return jsonArgs(args, known.fragment.inputs);
  } catch {
    return null;
  }
}

/**
 * Decodes consortium logs; logs of unknown addresses or topics, and logs that don't decode, are
 * skipped (returned as null).
 */
export class EventDecoder {
  private readonly byAddress = new Map<string, ContractName>();

  constructor(deployment: DeploymentRecord) {
    for (const [name, address] of Object.entries(deployment.contracts)) {
      this.byAddress.set(address.toLowerCase(), name as ContractName);
    }
  }

  /** The addresses to ask eth_getLogs for. */
  get addresses(): string[] {
    return [...this.byAddress.keys()];
  }

  decode(log: RawLog, blockTime: number): EventRow | null {
    const contract = this.byAddress.get(log.address.toLowerCase());
    if (contract === undefined) return null;
    const topic0 = log.topics[0];
    if (topic0 === undefined) return null;
    const known = EVENTS[contract].get(topic0.toLowerCase());
    if (known === undefined) return null;
    const args = decodeArgs(known, log);
    if (args === null) return null;
    const parties = known.parties;
    return {
      blockNumber: Number(log.blockNumber),
      logIndex: Number(log.logIndex),
      txIndex: Number(log.transactionIndex),
      txHash: log.transactionHash.toLowerCase(),
      blockHash: log.blockHash.toLowerCase(),
      blockTime,
      contract,
      event: known.name,
      caseId: str(args["caseId"]),
      requestId: str(
        args["requestId"] ??
          (args["delivery"] as Record<string, unknown> | undefined)?.["requestId"],
      ),
      deliveryId: str(args["deliveryId"]),
      anchorId: str(args["anchorId"]),
      datasetId: str(args["datasetId"]),
      proposalId: str(args["proposalId"]),
      actor: parties.actor === undefined ? null : participant(args[parties.actor]),
      counterpart:
        parties.counterpart === undefined ? null : participant(args[parties.counterpart]),
      signer: str(args["signer"] ?? args["submitter"])?.toLowerCase() ?? null,
      subject: str(args["subjectCommitment"])?.toLowerCase() ?? null,
      args,
    };
  }
}
