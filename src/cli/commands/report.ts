/**
 * `veritrace report case`: a case's report as a PDF, in English or Simplified Chinese. Its own
 * module, so that the plain `veritrace case` never loads the PDF library and its fonts.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, statSync } from "node:fs";
import path from "node:path";
import { caseEvidence } from "../../reports/case-evidence.js";
import { caseReportPdf } from "../../reports/case-pdf.js";
import { LANGUAGES, type Lang } from "../../reports/i18n.js";
import { creationTime, writeWhole } from "../../reports/pdf.js";
import { InvalidInputError, UsageError } from "../../shared/errors.js";
import { json } from "../../shared/format.js";
import { quote } from "../../shared/request-checks.js";
import {
  type Command,
  DB_HELP,
  DB_OPTION,
  HASH,
  ID,
  JSON_OPTION,
  checkedRef,
  onePositional,
  required,
  str,
  stringOptions,
  withStore,
} from "../command.js";

/** --lang, checked before anything is read: "en" when not given. */
function language(value: string | undefined): Lang {
  const lang = value ?? "en";
  if (!(LANGUAGES as readonly string[]).includes(lang))
    throw new UsageError(`--lang must be one of ${LANGUAGES.join(", ")}, got ${quote(lang)}`);
  return lang as Lang;
}

/**
 * --out, checked before the store is read: it, or the nearest of its parents that exists, must be
 * a directory. Nothing is made until the report is ready (then `makeDirectory`).
 */
function checkedOutput(dir: string): string {
  for (let p = path.resolve(dir); ; p = path.dirname(p)) {
    if (existsSync(p)) {
      if (!statSync(p).isDirectory())
        throw new InvalidInputError(`--out ${quote(dir)}: ${quote(p)} is not a directory`);
      return dir;
    }
    if (path.dirname(p) === p) return dir;
  }
}

function makeDirectory(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    throw new InvalidInputError(`--out ${quote(dir)}: cannot write there (${e.code ?? e.message})`);
  }
}

export const reportCaseCommand: Command = {
  name: "report case",
  usage: "<case-id | case-number-commitment> --out DIR [--lang en|zh] [--db URL|DIR] [--json]",
  help: [
    "  --out DIR            directory for the report, made if missing: DIR/case-ID.LANG.pdf",
    "  --lang en|zh         English (default) or Simplified Chinese",
    DB_HELP,
    "  --json               print the file's path, SHA-256 and the report's content digest as JSON",
    "The PDF embeds its fonts. Its creation time is SOURCE_DATE_EPOCH (seconds) when set, else now;",
    "the same store and creation time give the same file, byte for byte.",
    "Exit code 0, or 1 when a delivery's signature does not verify (the report is written and says so).",
  ].join("\n"),
  options: { ...DB_OPTION, ...JSON_OPTION, ...stringOptions("out", "lang") },
  async run(values, positionals) {
    const ref = checkedRef(
      onePositional(positionals, "case id or case number commitment"),
      "a case",
      [ID, HASH],
    );
    const lang = language(str(values, "lang"));
    const createdAt = creationTime();
    const dir = checkedOutput(required(values, "out"));
    const evidence = await withStore(values, (s) => caseEvidence(s, ref));
    const pdf = await caseReportPdf(evidence, lang, createdAt);
    makeDirectory(dir);
    const file = writeWhole(dir, `case-${evidence.case.caseId}.${lang}.pdf`, pdf);
    const sha256 = `0x${createHash("sha256").update(pdf).digest("hex")}`;
    // The report is written either way (it says which check failed); the exit code tells a script.
    const failed = evidence.deliveries.filter((d) => !d.valid).map((d) => d.deliveryId);
    if (values["json"] === true)
      console.log(
        json({ file, sha256, caseId: evidence.case.caseId, lang, digest: evidence.digest, failed }),
      );
    else {
      console.log(`wrote ${file} (sha256 ${sha256})`);
      if (failed.length > 0)
        console.log(`signature check FAILED for deliveries ${failed.join(", ")} (see the report)`);
    }
    return failed.length > 0 ? 1 : 0;
  },
};
