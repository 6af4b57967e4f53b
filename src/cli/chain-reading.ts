/**
 * What the commands that read a chain's transfers into the store share (`trace`, `transfers`,
 * `risk`, `screen`): the options that tune the reading, the TagPacks imported first, the
 * progress of the reading and what an incomplete history is said as.
 */
import { importTagPacks } from "../analytics/labels/store.js";
import type { Store } from "../db/store.js";
import { flagOptions, stringOptions, type Values } from "./command.js";
import { ProgressBar } from "./progress.js";

/** The options of the reading, each command's last ones. */
export const READING_OPTIONS = {
  ...stringOptions("confirmations", "finality", "db"),
  ...flagOptions("no-trace-calls"),
};

export const READING_HELP = [
  "  --confirmations N    leave the newest N blocks out (default 0)",
  "  --finality N         reorganization depth of the chain (default 64)",
  "  --no-trace-calls     native: don't ask the node for internal transfers (reported incomplete)",
  "  --db URL|DIR         store (default .veritrace/db)",
];

/** Imports the TagPacks of --labels (repeatable; - reads stdin); says how many unless `quiet`. */
export async function importLabelFiles(values: Values, store: Store, quiet: boolean) {
  const files = (values["labels"] as unknown as string[] | undefined) ?? [];
  if (files.length === 0) return;
  const imported = await importTagPacks(store.db, files);
  if (!quiet)
    process.stderr.write(
      `imported ${imported.reduce((n, r) => n + r.tags, 0)} labels from ${imported.length} TagPack(s)\n`,
    );
}

/**
 * The progress callback of a reading, on `bar` (null: none): the blocks read since the first
 * report, of those to read, and the transfers read.
 */
export function readingProgress(
  bar: ProgressBar | null,
): (p: { indexedTo: number; target: number; rows: number }) => void {
  let first = -1;
  return (p) => {
    if (first < 0) first = p.indexedTo;
    bar?.update({ done: p.indexedTo - first, total: p.target - first, events: p.rows });
  };
}

/**
 * How a command reads transfers: call tracing unless `--no-trace-calls`, a progress bar unless
 * `quiet` (its `onProgress`), and `done` to close the bar with the transfers read.
 */
export function reading(values: Values, quiet: boolean) {
  const bar = quiet ? null : new ProgressBar("reading transfers");
  return {
    traceCalls: values["no-trace-calls"] !== true,
    onProgress: readingProgress(bar),
    done: (rows: number) => bar?.done({ done: 1, total: 1, events: rows }),
  };
}

/**
 * Says that a transfer history is incomplete (if it is): beside --json on stderr, so that the
 * JSON keeps its fixed shape; else on stdout, after the report's first line.
 */
export function sayIfIncomplete(
  history: { complete: boolean; note: string | null } | undefined,
  asJson: boolean,
  prefix = "",
): void {
  if (history === undefined || history.complete) return;
  const note = `${prefix}${history.note ?? "the transfer history is incomplete"}`;
  if (asJson) process.stderr.write(`warning: ${note}\n`);
  else console.log(`WARNING: ${note}`);
}

/** One transfer of a path, shortened: its transaction, from → to, and the amount it carries. */
export function stepText(s: { txHash: string; from: string; to: string }, amount: string): string {
  return `${s.txHash.slice(0, 10)}… ${s.from.slice(0, 8)}…→${s.to.slice(0, 8)}… ${amount}`;
}
