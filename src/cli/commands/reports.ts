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

const ZERO_HASH = `0x${"0".repeat(64)}`;

/** ", contract code 0x…" for a contract key (and when the council pinned new code); nothing else. */
function keyCode(k: InstitutionKey): string {
  if (k.codeHash === null || k.codeHash === ZERO_HASH) return "";
  const repinned = k.repinnedBlock === null ? "" : ` (re-pinned at block ${k.repinnedBlock})`;
  return `, contract code ${short(k.codeHash)}${repinned}`;
}

export const caseCommand: Command = {
  name: "case",
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

export const institutionCommand: Command = {
  name: "institution",
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

export const subjectCommand: Command = {
  name: "subject",
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
