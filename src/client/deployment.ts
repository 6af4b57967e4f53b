import { readFileSync, renameSync, writeFileSync } from "node:fs";
import type { ContractRunner } from "ethers";
import {
  AccessLedger__factory,
  AccessLogAnchor__factory,
  CaseRegistry__factory,
  ParticipantRegistry__factory,
  LabelRegistry__factory,
  FreezeRegistry__factory,
  MatchingLedger__factory,
  EncryptionKeyRegistry__factory,
  ExchangeLedger__factory,
  type EncryptionKeyRegistry,
  type ExchangeLedger,
  type LabelRegistry,
  type FreezeRegistry,
  type MatchingLedger,
  type AccessLedger,
  type AccessLogAnchor,
  type CaseRegistry,
  type ParticipantRegistry,
} from "../../types/ethers-contracts/index.js";
import { InputError } from "./errors.js";
import { requireAddress } from "./validate.js";

/** Where a consortium lives: what indexers and clients read to find it. */
export interface DeploymentRecord {
  /** Format version of this record. */
  version: 1;
  chainId: number;
  /** The block of the first consortium contract: indexers start here. */
  startBlock: number;
  /**
   * The founders whose registry state a genesis alloc holds (`npm run network:qbft`): no
   * transaction admitted them, so no event names their keys; the tracer reads them from here and
   * checks each against the registry at block 0.
   */
  genesisFounders?: GenesisFounder[];
  contracts: {
    ParticipantRegistry: string;
    CaseRegistry: string;
    AccessLedger: string;
    AccessLogAnchor: string;
    LabelRegistry: string;
    FreezeRegistry: string;
    MatchingLedger: string;
    EncryptionKeyRegistry: string;
    ExchangeLedger: string;
  };
}

/** A founding participant written into a genesis registry, and its signing key. */
export interface GenesisFounder {
  participantId: number;
  signingKey: string;
}

/** The consortium's contracts, typed. */
export interface ConsortiumContracts {
  registry: ParticipantRegistry;
  cases: CaseRegistry;
  access: AccessLedger;
  anchor: AccessLogAnchor;
  labels: LabelRegistry;
  freezes: FreezeRegistry;
  matching: MatchingLedger;
  keys: EncryptionKeyRegistry;
  exchangeLedger: ExchangeLedger;
}

/** The consortium's contract factories (ABI, typed `connect`), by the names the record uses. */
export const CONTRACT_FACTORIES = {
  ParticipantRegistry: ParticipantRegistry__factory,
  CaseRegistry: CaseRegistry__factory,
  AccessLedger: AccessLedger__factory,
  AccessLogAnchor: AccessLogAnchor__factory,
  LabelRegistry: LabelRegistry__factory,
  FreezeRegistry: FreezeRegistry__factory,
  MatchingLedger: MatchingLedger__factory,
  EncryptionKeyRegistry: EncryptionKeyRegistry__factory,
  ExchangeLedger: ExchangeLedger__factory,
} as const satisfies Record<keyof DeploymentRecord["contracts"], unknown>;

const CONTRACT_NAMES = Object.keys(CONTRACT_FACTORIES) as (keyof typeof CONTRACT_FACTORIES)[];

/** Validates an untrusted value as a deployment record, naming the first thing wrong. */
export function parseDeployment(value: unknown, source = "deployment"): DeploymentRecord {
  if (value === null || typeof value !== "object")
    throw new InputError(source, "is not a JSON object");
  const v = value as Record<string, unknown>;
  if (v["version"] !== 1) throw new InputError(`${source}.version`, "must be 1");
  const chainId = v["chainId"];
  if (typeof chainId !== "number" || !Number.isSafeInteger(chainId) || chainId <= 0) {
    throw new InputError(`${source}.chainId`, "must be a positive integer");
  }
  const startBlock = v["startBlock"];
  if (typeof startBlock !== "number" || !Number.isSafeInteger(startBlock) || startBlock < 0) {
    throw new InputError(`${source}.startBlock`, "must be a non-negative integer");
  }
  const contracts = v["contracts"];
  if (contracts === null || typeof contracts !== "object") {
    throw new InputError(`${source}.contracts`, "is missing");
  }
  const c = contracts as Record<string, unknown>;
  const out: Record<string, string> = {};
  for (const name of CONTRACT_NAMES) {
    const a = c[name];
    if (typeof a !== "string") throw new InputError(`${source}.contracts.${name}`, "is missing");
    out[name] = requireAddress(`${source}.contracts.${name}`, a);
  }
  const record: DeploymentRecord = {
    version: 1,
    chainId,
    startBlock,
    contracts: out as DeploymentRecord["contracts"],
  };
  const founders = v["genesisFounders"];
  if (founders !== undefined) {
    if (!Array.isArray(founders) || founders.length === 0)
      throw new InputError(`${source}.genesisFounders`, "must be a non-empty array");
    if (startBlock !== 0)
      throw new InputError(
        `${source}.genesisFounders`,
        "only a start block of 0 has genesis founders",
      );
    record.genesisFounders = founders.map((f: unknown, i) => {
      const field = `${source}.genesisFounders[${i}]`;
      const g = (f ?? {}) as Record<string, unknown>;
      const id = g["participantId"];
      if (typeof id !== "number" || !Number.isInteger(id) || id < 1 || id > 2 ** 32 - 1)
        throw new InputError(`${field}.participantId`, "must be a participant id (1 or more)");
      if (typeof g["signingKey"] !== "string")
        throw new InputError(`${field}.signingKey`, "must be an address");
      return {
        participantId: id,
        signingKey: requireAddress(`${field}.signingKey`, g["signingKey"]),
      };
    });
  }
  return record;
}

/** Reads and validates a deployment record file. */
export function readDeployment(file: string): DeploymentRecord {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new InputError(file, `cannot read: ${(e as Error).message}`);
  }
  return parseDeploymentText(text, file);
}

/** Validates a deployment record's text (JSON), read from `source` (named in errors). */
export function parseDeploymentText(text: string, source: string): DeploymentRecord {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new InputError(source, "is not valid JSON");
  }
  return parseDeployment(json, source);
}

/** Writes a deployment record atomically (a reader never sees half a file). */
export function writeDeployment(file: string, record: DeploymentRecord): void {
  const checked = parseDeployment(record);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(checked, null, 2)}\n`);
  renameSync(tmp, file);
}

/** Typed contract instances of a deployment, bound to a signer or provider. */
export function connectConsortium(
  record: DeploymentRecord,
  runner: ContractRunner,
): ConsortiumContracts {
  return {
    registry: ParticipantRegistry__factory.connect(record.contracts.ParticipantRegistry, runner),
    cases: CaseRegistry__factory.connect(record.contracts.CaseRegistry, runner),
    access: AccessLedger__factory.connect(record.contracts.AccessLedger, runner),
    anchor: AccessLogAnchor__factory.connect(record.contracts.AccessLogAnchor, runner),
    labels: LabelRegistry__factory.connect(record.contracts.LabelRegistry, runner),
    freezes: FreezeRegistry__factory.connect(record.contracts.FreezeRegistry, runner),
    matching: MatchingLedger__factory.connect(record.contracts.MatchingLedger, runner),
    keys: EncryptionKeyRegistry__factory.connect(record.contracts.EncryptionKeyRegistry, runner),
    exchangeLedger: ExchangeLedger__factory.connect(record.contracts.ExchangeLedger, runner),
  };
}
