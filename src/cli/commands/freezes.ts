import { UsageError } from "../../shared/errors.js";
import { freezeReport, readFreezeLists } from "../../ledger/freezes.js";
import { isoTime, json, table } from "../../shared/format.js";
import { str } from "../../shared/options.js";
import { draftedText, readFreezeDrafts } from "../../analytics/funds/freeze-drafts.js";
import { type Command, DB_HELP, DB_OPTION, JSON_HELP, JSON_OPTION, withStore } from "../command.js";

export const freezesCommand: Command = {
  name: "freezes",
  usage: "[--case ID] [--lists DIR|FILE] [--drafts FILE] [--db URL|DIR] [--json]",
  help: [
    "  --case ID            only this case",
    "  --lists DIR|FILE     the freeze lists held by the police or the exchange: a directory's *.json",
    "                       files, or one file holding a list or a JSON array of lists (- reads it",
    "                       from stdin); each is checked against the roots on chain (exit 1 on a",
    "                       mismatch), then requested vs frozen is shown per account, with flags",
    "  --drafts FILE        freeze request drafts written by `veritrace trace --freeze-drafts`: each",
    "                       account they name is shown as what the trace found it to be (a deposit",
    "                       address of an exchange, with the heuristic's confidence)",
    DB_HELP,
    JSON_HELP,
  ].join("\n"),
  options: {
    case: { type: "string" },
    lists: { type: "string" },
    drafts: { type: "string" },
    ...DB_OPTION,
    ...JSON_OPTION,
  },
  async run(values) {
    const caseId = str(values, "case");
    if (caseId !== undefined && !/^\d+$/.test(caseId))
      throw new UsageError(`--case must be a case id, got ${JSON.stringify(caseId)}`);
    const dir = str(values, "lists");
    const lists = dir === undefined ? [] : readFreezeLists(dir);
    const draftsFile = str(values, "drafts");
    const drafted = draftsFile === undefined ? undefined : readFreezeDrafts(draftsFile);
    const foundAs = (l: { chainId: string; token: string; account: string }) =>
      drafted?.get(`${l.chainId}:${l.token.toLowerCase()}:${l.account.toLowerCase()}`);
    const report = await withStore(values, (s) => freezeReport(s.db, { caseId, lists }));
    if (values["json"] === true) {
      if (drafted === undefined) console.log(json(report));
      else
        console.log(
          json({
            ...report,
            lines: report.lines.map((l) => {
              const a = foundAs(l);
              return a === undefined ? l : { ...l, foundAs: a };
            }),
          }),
        );
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
        [
          "freeze",
          "case",
          "chain",
          "token",
          "account",
          ...(drafted === undefined ? [] : ["found as"]),
          "requested",
          "frozen",
          "status",
          "flags",
        ],
        report.lines.map((l) => [
          l.freezeId,
          l.caseId,
          l.chainId,
          l.token,
          l.account,
          ...(drafted === undefined ? [] : [draftedText(foundAs(l))]),
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
