/**
 * `veritrace access-log anchor|proof|check`: an access log (the API's or the exchange gateway's,
 * ledger/access-log.ts) anchored on chain with AccessLogAnchor, one line proved, the whole log
 * held against its anchors.
 */
import { writeFileSync } from "node:fs";
import { ParticipantClient } from "../../client/roles.js";
import { parseAccessLog, readAccessLog } from "../../ledger/access-log.js";
import {
  anchorBatch,
  anchorOf,
  anchorsOfParticipant,
  checkAnchor,
  proveEntry,
} from "../../ledger/access-log-anchors.js";
import {
  InvalidInputError,
  TracerError,
  UsageError,
  VERIFY_EXIT,
  couldNotCheck,
} from "../../shared/errors.js";
import { connectInstitution } from "../../chain/institution.js";
import { openDatabase } from "../../db/db.js";
import { Store } from "../../db/store.js";
import { flagOptions, rpcUrl, stringOptions, type Command, type Values } from "../command.js";
import { isStdin, readInputTextOr, refuseSigningStdin } from "../../shared/input.js";
import { integer, required, str } from "../../shared/options.js";
import { json, table } from "../../shared/format.js";

const DB_HELP =
  "  --db URL|DIR         store: a directory (PGlite, default .veritrace/db) or postgres://…";
const LOG_HELP =
  "  --log FILE|-         the access log (JSON lines, as veritrace serve or exchange serve write it;\n                       - reads stdin)";

/** The log named by --log: a file, or stdin for `-`. */
function readLog(file: string): ReturnType<typeof readAccessLog> {
  if (!isStdin(file)) return readAccessLog(file);
  const text = readInputTextOr(
    file,
    (reason) => new InvalidInputError(`cannot read the access log from stdin: ${reason}`),
  );
  return parseAccessLog(text, "stdin");
}

async function withReadStore<T>(values: Values, fn: (store: Store) => Promise<T>): Promise<T> {
  const store = await Store.open(await openDatabase(str(values, "db"), { mustExist: true }));
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

function decimalId(values: Values, name: string, what: string): string | undefined {
  const v = str(values, name);
  if (v === undefined) return undefined;
  if (!/^\d{1,78}$/.test(v))
    throw new UsageError(`--${name} must be ${what}, got ${JSON.stringify(v)}`);
  return v;
}

const anchorCommand: Command = {
  name: "access-log anchor",
  usage:
    "--log FILE --rpc URL --deployment FILE --keystore FILE [--password-file FILE] [--case ID] [--from SEQ] [--to SEQ] [--json]",
  help: [
    LOG_HELP,
    "  --rpc URL            JSON-RPC endpoint of the consortium's chain",
    "  --deployment FILE    the consortium's deployment record",
    "  --keystore FILE      the institution's encrypted JSON keystore: the anchors are its log's",
    "  --password-file FILE the keystore's password: the file's first line (else",
    "                       VERITRACE_KEYSTORE_PASSWORD, else a hidden prompt on the terminal)",
    "                       (--deployment, --keystore, --password-file: files, never - for stdin)",
    "  --case ID            bind the batch to this active case (default 0: no case)",
    "  --from SEQ           first entry (default: where this institution's anchors end)",
    "  --to SEQ             last entry (default: the log's last complete line)",
    "  --json               one JSON line",
    "Nothing new to anchor is not an error (exit 0). Keep the log: veritrace access-log proof",
    "proves any anchored line from it.",
  ].join("\n"),
  options: {
    ...stringOptions("log", "rpc", "deployment", "keystore", "password-file", "case", "from", "to"),
    ...flagOptions("json"),
  },
  async run(values) {
    // As every command that signs: the key and its password are secrets in files of their own
    // (or the environment, or the terminal's prompt), and stdin is left for the log.
    refuseSigningStdin(
      values,
      "a command that signs reads the deployment record from a file; stdin is left for the log",
    );
    const file = required(values, "log");
    const rpc = rpcUrl(values);
    const deploymentFile = required(values, "deployment");
    const keystore = required(values, "keystore");
    const caseId = BigInt(decimalId(values, "case", "a case id (decimal)") ?? "0");
    const fromOption = integer(values, "from");
    const toOption = integer(values, "to");
    if (fromOption !== undefined && toOption !== undefined && toOption < fromOption)
      throw new UsageError(`--to ${toOption} is before --from ${fromOption}`);

    // The log before the record, the password and the chain: a bad file costs nothing.
    const { lines, partial } = readLog(file);
    const connection = await connectInstitution({
      rpc,
      deployment: deploymentFile,
      key: { keystore, passwordFile: str(values, "password-file") },
    });
    try {
      const client = new ParticipantClient(connection.contracts, connection.signer);
      const outcome = await anchorBatch(client, lines, {
        caseId,
        file,
        ...(fromOption === undefined ? {} : { from: fromOption }),
        ...(toOption === undefined ? {} : { to: toOption }),
      });
      const { participant, next } = outcome;
      if (!outcome.anchored) {
        const result = { anchored: false, participant, next, logEntries: lines.length };
        if (values["json"] === true) console.log(json(result));
        else
          console.log(
            `nothing to anchor: institution ${participant}'s anchors end at entry ${next}, ` +
              `the log's last complete entry is ${outcome.last ?? "none"}${partial ? " (a line is being written)" : ""}`,
          );
        return 0;
      }
      const { anchorId, firstSequence: from, lastSequence: to, entryCount, root } = outcome;
      if (from !== next) {
        console.error(
          `veritrace access-log anchor: warning: --from ${from} is not where institution ${participant}'s anchors end (${next}); the anchor-gap anomaly will show it`,
        );
      }
      const result = {
        anchored: true,
        anchorId: anchorId.toString(),
        participant,
        caseId: caseId.toString(),
        firstSequence: from,
        lastSequence: to,
        entryCount,
        root,
      };
      if (values["json"] === true) console.log(json(result));
      else
        console.log(
          `anchored entries ${from}–${to} (${entryCount}) of ${file} as anchor ${anchorId} ` +
            `(institution ${participant}, case ${caseId}, root ${root})`,
        );
      return 0;
    } finally {
      connection.close();
    }
  },
};

const proofCommand: Command = {
  name: "access-log proof",
  usage: "--log FILE --anchor ID --seq N [--db URL|DIR] [--out FILE|-]",
  help: [
    LOG_HELP,
    "  --anchor ID          the anchor whose batch holds the entry",
    "  --seq N              the entry's number in the log",
    DB_HELP,
    "  --out FILE|-         where to write the proof file (default -: stdout)",
    "Refuses (exit 1) when the log's lines no longer hash to the anchored root.",
  ].join("\n"),
  options: {
    ...stringOptions("log", "anchor", "seq", "db", "out"),
  },
  async run(values) {
    const file = required(values, "log");
    const anchorId = decimalId(values, "anchor", "an anchor id (decimal)");
    if (anchorId === undefined) throw new UsageError("--anchor ID is required");
    const seq = integer(values, "seq");
    if (seq === undefined) throw new UsageError("--seq N is required");
    const out = str(values, "out") ?? "-";
    const { lines } = readLog(file);
    const anchor = await withReadStore(values, (s) => anchorOf(s.db, anchorId));
    const proof = proveEntry(lines, anchor, seq);
    const text = `${json(proof)}\n`;
    if (out === "-") process.stdout.write(text);
    else {
      try {
        writeFileSync(out, text, { flag: "wx" });
      } catch (error) {
        throw new TracerError(`cannot write ${out}: ${(error as Error).message}`, {
          kind: (error as NodeJS.ErrnoException).code === "EEXIST" ? "conflict" : "failed",
        });
      }
    }
    return 0;
  },
};

const checkCommand: Command = {
  name: "access-log check",
  usage: "--log FILE --institution ID [--db URL|DIR] [--json]",
  help: [
    LOG_HELP,
    "  --institution ID     the participant whose log it is (whose key anchored it)",
    DB_HELP,
    "  --json               one JSON line",
    "exit codes: 0 every anchored batch matches the log, 1 one does not (changed or missing lines),",
    "            2 usage, 3 could not check (unreadable log, store error)",
  ].join("\n"),
  options: {
    ...stringOptions("log", "institution", "db"),
    ...flagOptions("json"),
  },
  async run(values) {
    const file = required(values, "log");
    const institution = integer(values, "institution", 1);
    if (institution === undefined) throw new UsageError("--institution ID is required");
    const { checks, lines, partial } = await couldNotCheck(async () => {
      const log = readLog(file);
      const anchors = await withReadStore(values, (s) => anchorsOfParticipant(s.db, institution));
      return { ...log, checks: anchors.map((a) => checkAnchor(log.lines, a)) };
    });
    const anchoredTo = checks.reduce((m, c) => Math.max(m, c.firstSequence + c.entryCount), 0);
    const last = lines[lines.length - 1]?.entry.seq;
    const unanchored = last === undefined ? 0 : Math.max(0, last + 1 - anchoredTo);
    const ok = checks.every((c) => c.status === "matches");
    const result = {
      institution,
      ok,
      anchors: checks,
      logEntries: lines.length,
      unanchoredEntries: unanchored,
      partialLastLine: partial,
    };
    if (values["json"] === true) console.log(json(result));
    else {
      console.log(
        table(
          ["anchor", "entries", "case", "block", "status", "why"],
          checks.map((c) => [
            c.anchorId,
            `${c.firstSequence}–${c.firstSequence + c.entryCount - 1}`,
            c.caseId,
            c.blockNumber,
            c.status,
            c.reason ?? "",
          ]),
        ),
      );
      console.log(
        `${checks.length} anchors of institution ${institution}; ${lines.length} entries in ${file}, ${unanchored} not anchored yet: ` +
          (ok ? "the log matches every anchor" : "the log does NOT match its anchors"),
      );
    }
    return ok ? VERIFY_EXIT.verifies : VERIFY_EXIT.doesNotVerify;
  },
};

/** The access-log commands, for the command table. */
export const ACCESS_LOG_COMMANDS: readonly Command[] = [anchorCommand, proofCommand, checkCommand];
