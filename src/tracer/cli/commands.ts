import type { ParseArgsConfig } from "node:util";
import { UsageError, VERIFY_EXIT_CODES, couldNotCheck } from "../errors.js";
import { checkNode, Indexer } from "../indexer/sync.js";
import { RpcClient } from "../indexer/rpc.js";
import { openDatabase } from "../store/db.js";
import { Store } from "../store/store.js";
import { TracerError } from "../errors.js";
import {
  caseReport,
  institutionReport,
  subjectReport,
  verifyDelivery,
  verifyEntry,
  type EntryProofFile,
  type InstitutionKey,
} from "../audit/queries.js";
import {
  ANOMALY_COLUMNS,
  ANOMALY_RULES,
  DEFAULT_THRESHOLDS,
  anomalyRows,
  detectAnomalies,
  type AnomalyThresholds,
} from "../audit/anomalies.js";
import { serveCommand } from "../api/command.js";
import { ACCESS_LOG_COMMANDS } from "./access-log-commands.js";
import { freezeReport, readFreezeLists } from "../audit/freezes.js";
import { labelsImportCommand, labelsShowCommand } from "../labels/command.js";
import { traceCommand, transfersCommand } from "../funds/command.js";
import { riskCommand, screenCommand } from "../risk/command.js";
import { MATCH_COMMANDS } from "../../mpc/command.js";
import { inputName, readInputText } from "./input.js";
import { isoTime, json, logLine, table } from "./output.js";
import { ProgressBar } from "./progress.js";
import { Follower, SYNC_HELP, SYNC_OPTIONS, readDeploymentInput, syncSettings } from "./follow.js";

import { integer, required, str } from "./options.js";

export type Values = Record<string, string | boolean | undefined>;

/** One `veritrace` command. */
export interface Command {
  name: string;
  summary: string;
  usage: string;
  help: string;
  options: NonNullable<ParseArgsConfig["options"]>;
  run(values: Values, positionals: string[]): Promise<number>;
}

/** Option helpers shared by the commands (one definition, in options.ts). */
export { integer, required, str } from "./options.js";

export function rpcUrl(values: Values): string {
  const v = required(values, "rpc");
  try {
    const u = new URL(v);
    if (u.protocol !== "http:" && u.protocol !== "https:") throw new Error("protocol");
    return u.toString();
  } catch {
    throw new UsageError(`--rpc must be an http(s) URL, got ${JSON.stringify(v)}`);
  }
}

/**
 * Opens the store named by --db (or DATABASE_URL, or the default directory); with `mustExist`
 * (read commands), an embedded store that does not exist is refused rather than created.
 */
export async function openStore(values: Values, mustExist = false): Promise<Store> {
  return Store.open(await openDatabase(str(values, "db"), { mustExist }));
}

const DB_OPTION = { db: { type: "string" } } as const;
const DB_HELP =
  "  --db URL|DIR         store: a directory (PGlite, default .veritrace/db) or postgres://…";

const index: Command = {
  name: "index",
  summary: "read the consortium's events from a JSON-RPC node into the store",
  usage:
    "--rpc URL --deployment FILE [--db URL|DIR] [--from N] [--follow] [--confirmations N] [--finality N]",
  help: [
    "  --rpc URL            JSON-RPC endpoint (hardhat node, anvil, Besu, Geth, …)",
    "  --deployment FILE    deployment record written by the deployment (chain id, addresses, start",
    "                       block); - reads it from stdin",
    DB_HELP,
    "  --from N             first block to read into an empty store (default: the deployment's start block)",
    "  --follow             keep following the chain's head; structured log lines on stdout",
    ...SYNC_HELP,
    "The store takes one process: to serve the API while following, run veritrace serve --follow.",
  ].join("\n"),
  options: {
    rpc: { type: "string" },
    deployment: { type: "string" },
    ...DB_OPTION,
    from: { type: "string" },
    follow: { type: "boolean" },
    ...SYNC_OPTIONS,
  },
  async run(values) {
    const url = rpcUrl(values);
    const deployment = readDeploymentInput(required(values, "deployment"));
    const fromBlock = integer(values, "from");
    const settings = syncSettings(values);
    const follow = values["follow"] === true;
    const rpc = new RpcClient(url, {
      onRetry: (r) => {
        if (follow) console.log(logLine({ level: "warn", msg: "retrying", ...r }));
      },
    });
    // Check the node before touching the store, so a wrong node or record writes nothing.
    await checkNode(rpc, deployment);
    const store = await openStore(values);
    try {
      if (follow) {
        const follower = new Follower(store, rpc, deployment, settings, { fromBlock });
        const stop = () => follower.stop();
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
        try {
          await follower.run(store);
        } finally {
          process.off("SIGINT", stop);
          process.off("SIGTERM", stop);
        }
        return 0;
      }
      const bar = new ProgressBar("indexing");
      let first = -1;
      const indexer = new Indexer(store, rpc, deployment, {
        confirmations: settings.confirmations,
        finalityDepth: settings.finalityDepth,
        fromBlock,
        onProgress: (p) => {
          if (first < 0) first = p.indexedTo;
          bar.update({ done: p.indexedTo - first, total: p.target - first, events: p.events });
        },
        onLog: (entry) => process.stderr.write(`${entry["msg"]}: ${JSON.stringify(entry)}\n`),
      });
      const indexedTo = await indexer.syncOnce();
      bar.done({
        done: Math.max(0, indexedTo - first),
        total: Math.max(0, indexedTo - first),
        events: indexer.eventCount,
      });
      console.log(
        `indexed up to block ${indexedTo}: ${indexer.eventCount} new events, ${await store.eventCount()} in the store (${store.db.location})`,
      );
      return 0;
    } finally {
      await store.close();
    }
  },
};

const JSON_OPTION = { json: { type: "boolean" } } as const;
const JSON_HELP = "  --json               one JSON document on stdout instead of tables";

/**
 * Checks a positional argument's form before any store is opened, so that a bad argument
 * creates or migrates nothing; the value is echoed shortened.
 */
function checkedRef(value: string, what: string, forms: readonly [RegExp, string][]): string {
  if (forms.some(([re]) => re.test(value))) return value;
  const shown =
    value.length > 80
      ? `${JSON.stringify(value.slice(0, 60))}… (${value.length} characters)`
      : JSON.stringify(value);
  throw new UsageError(
    `expected ${what}: ${forms.map(([, name]) => name).join(" or ")}; got ${shown}`,
  );
}

const ID: [RegExp, string] = [/^\d{1,20}$/, "a decimal id"];
const HASH: [RegExp, string] = [/^0x[0-9a-fA-F]{64}$/, "a commitment (0x and 64 hex digits)"];
const ADDRESS: [RegExp, string] = [/^0x[0-9a-fA-F]{40}$/, "an address (0x and 40 hex digits)"];

function onePositional(positionals: string[], what: string): string {
  if (positionals.length !== 1 || positionals[0] === undefined)
    throw new UsageError(`expected one ${what}`);
  return positionals[0];
}

/**
 * Runs `fn` on the store named by --db, closing it afterwards. A read command (`create` false)
 * never creates an embedded store.
 */
export async function withStore<T>(
  values: Values,
  fn: (store: Store) => Promise<T>,
  create = false,
): Promise<T> {
  const store = await openStore(values, !create);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

const short = (hex: string | null) =>
  hex === null ? "" : hex.length > 14 ? `${hex.slice(0, 10)}…${hex.slice(-4)}` : hex;

const ZERO_HASH = `0x${"0".repeat(64)}`;

/** ", contract code 0x…" for a contract key (and when the council pinned new code); nothing else. */
function keyCode(k: InstitutionKey): string {
  if (k.codeHash === null || k.codeHash === ZERO_HASH) return "";
  const repinned = k.repinnedBlock === null ? "" : ` (re-pinned at block ${k.repinnedBlock})`;
  return `, contract code ${short(k.codeHash)}${repinned}`;
}

const caseCommand: Command = {
  name: "case",
  summary: "the chain of custody of a case, in chain order",
  usage: "<case-id | case-number-commitment> [--db URL|DIR] [--json]",
  help: [DB_HELP, JSON_HELP].join("\n"),
  options: { ...DB_OPTION, ...JSON_OPTION },
  async run(values, positionals) {
    const ref = checkedRef(
      onePositional(positionals, "case id or case number commitment"),
      "a case",
      [ID, HASH],
    );
    const report = await withStore(values, (s) => caseReport(s.db, ref));
    if (values["json"] === true) {
      console.log(json(report));
      return 0;
    }
    console.log(
      `case ${report.caseId}: ${report.status}, opened by institution ${report.opener}` +
        `${report.approver === null ? "" : `, approved by institution ${report.approver}`}, expires ${isoTime(report.expiresAt)}`,
    );
    console.log(
      `case number commitment ${report.caseNumberCommitment}; scope ${report.scope.join(", ")}\n`,
    );
    console.log(
      table(
        ["block", "time", "step", "request", "institution", "signer", "tx", "action"],
        report.custody.map((e) => [
          e.blockNumber,
          isoTime(e.time),
          e.step,
          e.requestId ?? "",
          e.institution === null ? "" : `${e.institution} ${e.institutionKind ?? ""}`.trim(),
          e.signer ?? "",
          short(e.txHash),
          e.action,
        ]),
      ),
    );
    return 0;
  },
};

const institutionCommand: Command = {
  name: "institution",
  summary: "what an institution requested and provided, per case",
  usage: "<participant-id | address> [--db URL|DIR] [--json]",
  help: [DB_HELP, JSON_HELP].join("\n"),
  options: { ...DB_OPTION, ...JSON_OPTION },
  async run(values, positionals) {
    const ref = checkedRef(
      onePositional(positionals, "participant id or address"),
      "an institution",
      [ID, ADDRESS],
    );
    const report = await withStore(values, (s) => institutionReport(s.db, ref));
    if (values["json"] === true) {
      console.log(json(report));
      return 0;
    }
    const i = report.institution;
    console.log(`institution ${i.id}: ${i.kind}, ${i.status}, admitted ${isoTime(i.admittedAt)}`);
    for (const k of i.keys) {
      console.log(
        `  key ${k.address} from block ${k.addedBlock}${k.removedBlock === null ? "" : ` to block ${k.removedBlock}`}${keyCode(k)}`,
      );
    }
    console.log("");
    console.log(
      table(
        [
          "case",
          "role",
          "requests",
          "granted",
          "denied",
          "revoked",
          "deliveries",
          "records",
          "blocks",
        ],
        report.cases.map((c) => [
          c.caseId,
          c.role,
          c.requests,
          c.granted,
          c.denied,
          c.revoked,
          c.deliveries,
          c.records,
          `${c.firstBlock}–${c.lastBlock}`,
        ]),
      ),
    );
    return 0;
  },
};

const subjectCommand: Command = {
  name: "subject",
  summary: "every case that touched a subject commitment",
  usage: "<commitment> [--db URL|DIR] [--json]",
  help: [DB_HELP, JSON_HELP].join("\n"),
  options: { ...DB_OPTION, ...JSON_OPTION },
  async run(values, positionals) {
    const commitment = checkedRef(onePositional(positionals, "subject commitment"), "a subject", [
      HASH,
    ]);
    const report = await withStore(values, (s) => subjectReport(s.db, commitment));
    if (values["json"] === true) {
      console.log(json(report));
      return 0;
    }
    if (report.cases.length === 0) {
      console.log(`no case touched subject ${report.subject}`);
      return 0;
    }
    console.log(
      table(
        ["case", "requests", "requesters", "providers", "first", "last"],
        report.cases.map((c) => [
          c.caseId,
          c.requests,
          c.requesters.join(","),
          c.providers.join(","),
          isoTime(c.firstTime),
          isoTime(c.lastTime),
        ]),
      ),
    );
    return 0;
  },
};

export { VERIFY_EXIT, CouldNotCheckError } from "../errors.js";

const verifyDeliveryCommand: Command = {
  name: "verify delivery",
  summary: "re-check both EIP-712 signatures of a delivery off-chain",
  usage: "<delivery-id> [--db URL|DIR] [--json]",
  help: [DB_HELP, JSON_HELP, VERIFY_EXIT_CODES].join("\n"),
  options: { ...DB_OPTION, ...JSON_OPTION },
  async run(values, positionals) {
    const id = checkedRef(onePositional(positionals, "delivery id"), "a delivery", [ID]);
    const result = await couldNotCheck(() =>
      withStore(values, async (s) => {
        const deployment = await s.deployment();
        if (deployment === null)
          throw new TracerError("the store is empty: run veritrace index first");
        return verifyDelivery(s.db, deployment, id);
      }),
    );
    if (values["json"] === true) console.log(json(result));
    else {
      console.log(
        `delivery ${result.deliveryId} (request ${result.requestId}, case ${result.caseId}, block ${result.blockNumber}, tx ${result.txHash})`,
      );
      for (const role of ["provider", "requester"] as const) {
        const r = result[role];
        console.log(
          `  ${role.padEnd(9)} institution ${r.institution}: signer ${r.signer} ` +
            `${r.valid ? "VALID" : "INVALID"} (recovered ${r.recovered ?? "nothing"}; key of the institution: ${r.signerIsKeyOfInstitution ? "yes" : "no"})`,
        );
      }
      console.log(result.valid ? "both signatures verify" : "verification FAILED");
    }
    return result.valid ? 0 : 1;
  },
};

const verifyEntryCommand: Command = {
  name: "verify entry",
  summary: "check an off-chain access-log entry's Merkle inclusion in an anchored batch",
  usage: "--anchor <id> --entry FILE [--db URL|DIR] [--json]",
  help: [
    "  --anchor ID          the anchor (batch) id",
    '  --entry FILE         JSON {"index": n, "entry": {...} | "entryHash": "0x…", "proof": ["0x…", …]};',
    "                       - reads it from stdin",
    DB_HELP,
    JSON_HELP,
    VERIFY_EXIT_CODES,
  ].join("\n"),
  options: { anchor: { type: "string" }, entry: { type: "string" }, ...DB_OPTION, ...JSON_OPTION },
  async run(values) {
    const anchorId = checkedRef(required(values, "anchor"), "an anchor", [ID]);
    const file = required(values, "entry");
    const result = await couldNotCheck(async () => {
      let parsed: EntryProofFile;
      try {
        parsed = JSON.parse(readInputText(file)) as EntryProofFile;
      } catch (error) {
        throw new TracerError(`${inputName(file)}: ${(error as Error).message}`);
      }
      return withStore(values, (s) => verifyEntry(s.db, anchorId, parsed));
    });
    if (values["json"] === true) console.log(json(result));
    else {
      console.log(
        `entry ${result.index} (hash ${result.entryHash}) ${result.included ? "IS" : "is NOT"} included in anchor ` +
          `${result.anchorId} (case ${result.caseId}, institution ${result.participant}, ${result.entryCount} entries, ` +
          `root ${result.root}, block ${result.blockNumber})`,
      );
    }
    return result.included ? 0 : 1;
  },
};

const anomaliesCommand: Command = {
  name: "anomalies",
  summary: "what the contracts can't see: anomalies found in the indexed events",
  usage: "[--rule RULE] [--set THRESHOLD=VALUE]… [--now UNIXTIME] [--db URL|DIR] [--json]",
  help: [
    "  --rule RULE          only this rule",
    "  --set NAME=VALUE     override a threshold (repeatable); defaults:",
    ...Object.entries(DEFAULT_THRESHOLDS).map(([k, v]) => `                         ${k}=${v}`),
    "  --now UNIXTIME       the time time-based rules measure against (default: the newest block's)",
    DB_HELP,
    JSON_HELP,
    "rules:",
    ...ANOMALY_RULES.map((r) => `  ${r.rule.padEnd(24)} ${r.title}`),
    "See docs/anomalies.md for each rule's definition and limits.",
  ].join("\n"),
  options: {
    rule: { type: "string" },
    set: { type: "string", multiple: true },
    now: { type: "string" },
    ...DB_OPTION,
    ...JSON_OPTION,
  },
  async run(values) {
    const rule = str(values, "rule");
    if (rule !== undefined && !ANOMALY_RULES.some((r) => r.rule === rule)) {
      throw new UsageError(
        `unknown rule ${JSON.stringify(rule)} (known: ${ANOMALY_RULES.map((r) => r.rule).join(", ")})`,
      );
    }
    const thresholds: Partial<AnomalyThresholds> = {};
    const sets = (values["set"] as unknown as string[] | undefined) ?? [];
    for (const item of sets) {
      const m = /^([A-Za-z]+)=(\d+)$/.exec(item);
      if (m === null || m[1] === undefined || m[2] === undefined) {
        throw new UsageError(`--set expects NAME=INTEGER, got ${JSON.stringify(item)}`);
      }
      if (!(m[1] in DEFAULT_THRESHOLDS))
        throw new UsageError(`unknown threshold ${JSON.stringify(m[1])}`);
      thresholds[m[1] as keyof AnomalyThresholds] = Number(m[2]);
    }
    const now = integer(values, "now");
    const found = await withStore(values, (s) => detectAnomalies(s.db, thresholds, now));
    const selected = rule === undefined ? found : found.filter((a) => a.rule === rule);
    if (values["json"] === true) console.log(json(selected));
    else if (selected.length === 0) console.log("no anomalies");
    else console.log(table([...ANOMALY_COLUMNS], anomalyRows(selected)));
    return 0;
  },
};

const freezesCommand: Command = {
  name: "freezes",
  summary:
    "freeze requests to exchanges and their answers; with the off-chain lists, requested vs frozen",
  usage: "[--case ID] [--lists DIR|FILE] [--db URL|DIR] [--json]",
  help: [
    "  --case ID            only this case",
    "  --lists DIR|FILE     the freeze lists held by the police or the exchange: a directory's *.json",
    "                       files, or one file holding a list or a JSON array of lists (- reads it",
    "                       from stdin); each is checked against the roots on chain (exit 1 on a",
    "                       mismatch), then requested vs frozen is shown per account, with flags",
    DB_HELP,
    JSON_HELP,
  ].join("\n"),
  options: { case: { type: "string" }, lists: { type: "string" }, ...DB_OPTION, ...JSON_OPTION },
  async run(values) {
    const caseId = str(values, "case");
    if (caseId !== undefined && !/^\d+$/.test(caseId))
      throw new UsageError(`--case must be a case id, got ${JSON.stringify(caseId)}`);
    const dir = str(values, "lists");
    const lists = dir === undefined ? [] : readFreezeLists(dir);
    const report = await withStore(values, (s) => freezeReport(s.db, { caseId, lists }));
    if (values["json"] === true) {
      console.log(json(report));
      return 0;
    }
    if (report.freezes.length === 0) {
      console.log("no freeze requests");
      return 0;
    }
    console.log(
      table(
        [
          "freeze",
          "case",
          "exchange",
          "police",
          "items",
          "status",
          "requested",
          "answered",
          "list root",
          "result root",
          "lists",
        ],
        report.freezes.map((f) => [
          f.freezeId,
          f.caseId,
          f.exchange,
          f.requester,
          f.itemCount,
          f.status,
          isoTime(f.requestedAt),
          f.answeredAt === null ? "" : isoTime(f.answeredAt),
          f.listRoot,
          f.resultRoot ?? "",
          [f.lists.request ? "request" : "", f.lists.result ? "result" : ""]
            .filter(Boolean)
            .join("+") || "-",
        ]),
      ),
    );
    if (report.lines.length === 0) return 0;
    console.log("");
    console.log(
      table(
        ["freeze", "case", "chain", "token", "account", "requested", "frozen", "status", "flags"],
        report.lines.map((l) => [
          l.freezeId,
          l.caseId,
          l.chainId,
          l.token,
          l.account,
          l.requested ?? "",
          l.frozen ?? "",
          l.status,
          l.flags.join(", "),
        ]),
      ),
    );
    console.log("");
    console.log(
      table(
        ["case", "chain", "token", "requested", "frozen", "pending", "rejected", "unknown"],
        report.totals.map((t) => [
          t.caseId,
          t.chainId,
          t.token,
          t.requested,
          t.frozen,
          t.pending,
          t.rejected,
          t.unknown,
        ]),
      ),
    );
    const flagged = report.lines.filter((l) => l.flags.length > 0).length;
    if (flagged > 0) console.log(`\n${flagged} flagged item${flagged === 1 ? "" : "s"}`);
    return 0;
  },
};

/** Every command, in the order `veritrace --help` lists them. */
export const COMMANDS: Command[] = [
  index,
  caseCommand,
  institutionCommand,
  subjectCommand,
  verifyDeliveryCommand,
  verifyEntryCommand,
  anomaliesCommand,
  freezesCommand,
  traceCommand,
  transfersCommand,
  riskCommand,
  screenCommand,
  labelsImportCommand,
  labelsShowCommand,
  serveCommand,
  ...ACCESS_LOG_COMMANDS,
  ...MATCH_COMMANDS,
];
