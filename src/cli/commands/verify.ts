import {
  InvalidInputError,
  NotFoundError,
  VERIFY_EXIT_CODES,
  couldNotCheck,
} from "../../shared/errors.js";
import { verifyDelivery, verifyEntry, type EntryProofFile } from "../../ledger/queries.js";
import { inputName, readInputText } from "../../shared/input.js";
import { json } from "../../shared/format.js";
import { required } from "../../shared/options.js";
import {
  type Command,
  DB_HELP,
  DB_OPTION,
  ID,
  JSON_HELP,
  JSON_OPTION,
  checkedRef,
  onePositional,
  withStore,
} from "../command.js";

export const verifyDeliveryCommand: Command = {
  name: "verify delivery",
  usage: "<delivery-id> [--db URL|DIR] [--json]",
  help: [DB_HELP, JSON_HELP, VERIFY_EXIT_CODES].join("\n"),
  options: { ...DB_OPTION, ...JSON_OPTION },
  async run(values, positionals) {
    const id = checkedRef(onePositional(positionals, "delivery id"), "a delivery", [ID]);
    const result = await couldNotCheck(() =>
      withStore(values, async (s) => {
        const deployment = await s.deployment();
        if (deployment === null)
          throw new NotFoundError("the store is empty: run veritrace index first");
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

export const verifyEntryCommand: Command = {
  name: "verify entry",
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
        throw new InvalidInputError(`${inputName(file)}: ${(error as Error).message}`);
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
