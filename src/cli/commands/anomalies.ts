import { UsageError } from "../../shared/errors.js";
import {
  ANOMALY_COLUMNS,
  ANOMALY_RULES,
  DEFAULT_THRESHOLDS,
  anomalyRows,
  detectAnomalies,
  type AnomalyThresholds,
} from "../../ledger/anomalies.js";
import { json, table } from "../../shared/format.js";
import { integer, str } from "../../shared/options.js";
import {
  type Command,
  DB_HELP,
  DB_OPTION,
  JSON_HELP,
  JSON_OPTION,
  stringOptions,
  withStore,
} from "../command.js";

export const anomaliesCommand: Command = {
  name: "anomalies",
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
    ...stringOptions("rule", "now"),
    set: { type: "string", multiple: true },
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
