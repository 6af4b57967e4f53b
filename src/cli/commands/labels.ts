/**
 * `veritrace labels import` and `veritrace labels show`.
 */
import path from "node:path";
import { type Command, DB_HELP, DB_OPTION, JSON_HELP, JSON_OPTION, withStore } from "../command.js";
import { oneStdin } from "../../shared/input.js";
import { json, table } from "../../shared/format.js";
import { UsageError } from "../../shared/errors.js";
import { readTagPacks, storeTagPacks, labelsFor } from "../../analytics/labels/store.js";

/** A path as short as it can be said: relative to the working directory when under it. */
function shortPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative !== "" && !relative.startsWith("..") && !path.isAbsolute(relative)
    ? relative
    : file;
}

export const labelsImportCommand: Command = {
  name: "labels import",
  usage: "FILE... [--db URL|DIR] [--json]",
  help: [
    DB_HELP,
    JSON_HELP,
    "All files are checked, then written in one transaction: one bad file writes nothing.",
    "A file imported before (same path) has its labels replaced. Warnings go to stderr.",
    "- reads one TagPack from stdin; the store names it stdin:TITLE (its title), so piping the",
    "same TagPack again replaces its labels.",
    "See docs/labels.md for the format and the category normalization.",
  ].join("\n"),
  options: { ...DB_OPTION, ...JSON_OPTION },
  async run(values, positionals) {
    if (positionals.length === 0) throw new UsageError("expected one or more TagPack files");
    oneStdin(values, [], positionals);
    // Every file read and checked before the store is opened (or created).
    const parsed = readTagPacks(positionals);
    const results = await withStore(values, (s) => storeTagPacks(s.db, parsed), true);
    if (values["json"] === true) {
      console.log(json(results));
      return 0;
    }
    console.log(
      table(
        ["file", "title", "tags", "warnings"],
        results.map((r) => [shortPath(r.file), r.title, r.tags, r.warnings.length]),
      ),
    );
    for (const r of results) {
      for (const w of r.warnings) process.stderr.write(`warning: ${shortPath(r.file)}: ${w}\n`);
    }
    return 0;
  },
};

export const labelsShowCommand: Command = {
  name: "labels show",
  usage: "ADDRESS... [--db URL|DIR] [--json]",
  help: [
    DB_HELP,
    JSON_HELP,
    "EVM addresses match in any case; other addresses exactly.",
    "category is the normalized risk category; original is the TagPack's category/abuse.",
  ].join("\n"),
  options: { ...DB_OPTION, ...JSON_OPTION },
  async run(values, positionals) {
    if (positionals.length === 0) throw new UsageError("expected one or more addresses");
    const found = await withStore(values, (s) => labelsFor(s.db, positionals));
    const unique = [...new Set(positionals)];
    if (values["json"] === true) {
      console.log(json(unique.map((address) => ({ address, labels: found.get(address) ?? [] }))));
      return 0;
    }
    const rows = unique.flatMap((address) =>
      (found.get(address) ?? []).map((l) => [
        l.address,
        l.network,
        l.category,
        [l.originalCategory, l.abuse].filter((t) => t !== null).join("/"),
        l.label,
        l.actor ?? "",
        l.confidence ?? "",
        l.tagpack.title,
      ]),
    );
    if (rows.length > 0) {
      console.log(
        table(
          ["address", "network", "category", "original", "label", "actor", "confidence", "from"],
          rows,
        ),
      );
    }
    const unlabeled = unique.filter((a) => !found.has(a));
    for (const a of unlabeled) console.log(`${a}: no label`);
    return 0;
  },
};
