import {
  caseReport,
  institutionReport,
  subjectReport,
  type InstitutionKey,
} from "../../ledger/queries.js";
import { isoTime, json, table } from "../../shared/format.js";
import {
  ADDRESS,
  type Command,
  DB_HELP,
  DB_OPTION,
  HASH,
  ID,
  JSON_HELP,
  JSON_OPTION,
  checkedRef,
  onePositional,
  short,
  withStore,
} from "../command.js";
import type { Store } from "../../db/store.js";

const ZERO_HASH = `0x${"0".repeat(64)}`;

/** ", contract code 0x…" for a contract key (and when the council pinned new code); nothing else. */
function keyCode(k: InstitutionKey): string {
  if (k.codeHash === null || k.codeHash === ZERO_HASH) return "";
  const repinned = k.repinnedBlock === null ? "" : ` (re-pinned at block ${k.repinnedBlock})`;
  return `, contract code ${short(k.codeHash)}${repinned}`;
}

/**
 * A command that shows one report of the store, for the reference it is given (checked before the
 * store is opened): `--json` prints the report whole, else `print` shows it.
 */
function reportCommand<R>(spec: {
  name: string;
  usage: string;
  /** The argument, as a usage error asks for it, what it names and the forms it takes. */
  argument: string;
  what: string;
  forms: readonly [RegExp, string][];
  read: (db: Store["db"], ref: string) => Promise<R>;
  print: (report: R) => void;
}): Command {
  return {
    name: spec.name,
    usage: `${spec.usage} [--db URL|DIR] [--json]`,
    help: [DB_HELP, JSON_HELP].join("\n"),
    options: { ...DB_OPTION, ...JSON_OPTION },
    async run(values, positionals) {
      const ref = checkedRef(onePositional(positionals, spec.argument), spec.what, spec.forms);
      const report = await withStore(values, (s) => spec.read(s.db, ref));
      if (values["json"] === true) console.log(json(report));
      else spec.print(report);
      return 0;
    },
  };
}

export const caseCommand = reportCommand({
  name: "case",
  usage: "<case-id | case-number-commitment>",
  argument: "case id or case number commitment",
  what: "a case",
  forms: [ID, HASH],
  read: caseReport,
  print: (report) => {
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
    if (report.exchanges.length === 0) return;
    console.log(
      "\nexchanges (offered and purged: ExchangeLedger; acknowledged: the co-signed delivery)",
    );
    console.log(
      table(
        [
          "request",
          "seq",
          "state",
          "offered",
          "ciphertext",
          "bytes",
          "key",
          "acknowledged",
          "purged",
        ],
        report.exchanges.map((x) => [
          x.requestId,
          x.sequence,
          x.state,
          x.offered === null ? "" : isoTime(x.offered.time),
          x.offered === null ? "" : short(x.offered.ciphertextHash),
          x.offered?.ciphertextBytes ?? "",
          x.offered?.recipientKeyId ?? "",
          x.acknowledged === null ? "" : isoTime(x.acknowledged.time),
          x.purged === null ? "" : `${isoTime(x.purged.time)} (${x.purged.reason})`,
        ]),
      ),
    );
  },
});

export const institutionCommand = reportCommand({
  name: "institution",
  usage: "<participant-id | address>",
  argument: "participant id or address",
  what: "an institution",
  forms: [ID, ADDRESS],
  read: institutionReport,
  print: (report) => {
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
  },
});

export const subjectCommand = reportCommand({
  name: "subject",
  usage: "<commitment>",
  argument: "subject commitment",
  what: "a subject",
  forms: [HASH],
  read: subjectReport,
  print: (report) =>
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
        `no case touched subject ${report.subject}`,
      ),
    ),
});
