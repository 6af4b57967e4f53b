/**
 * `veritrace match cosign` and `veritrace match record`: the last two air-gapped steps, which
 * only the ledger has: the provider co-signs the requester's signed result, and the requester
 * records the co-signed result on the ledger. docs/psi.md describes the protocol and the commands.
 */
import { matchSession } from "../../../client/matching.js";
import { stringOptions, type Command } from "../../command.js";
import { oneStdin } from "../../../shared/input.js";
import { required } from "../../../shared/options.js";
import { MatchError } from "../../../matching/errors.js";
import { writeOutput } from "../../../matching/files.js";
import {
  ProviderLedger,
  failOnLedger,
  parseCosignRequest,
  recordCosigned,
  type CosignRequest,
} from "../../../matching/ledger.js";
import { LEDGER_OPTIONS, SIGNING_HELP, requireLedger, usesLedger } from "../../match-ledger.js";
import { readJson, reporter, written } from "./shared.js";

export const matchCosignCommand: Command = {
  name: "match cosign",
  usage: "--result FILE --out FILE --rpc URL --deployment FILE --keystore FILE",
  help: [
    "  --result FILE        the requester's result to co-sign (match finish --to-cosign; - reads stdin)",
    "  --out FILE           this institution's co-signature, to carry back to the requester;",
    "                       - writes it to stdout, the sentence then to stderr",
    SIGNING_HELP,
    "Checks on the ledger that the session is this institution's and Responded, that the",
    "result names the recorded tag and digests, that the cardinality is within both sets, and",
    "the requester's signature; then signs the MatchResult.",
  ].join("\n"),
  options: { ...LEDGER_OPTIONS, ...stringOptions("result", "out") },
  async run(values) {
    const file = required(values, "result");
    const out = required(values, "out");
    const say = reporter(values, out, "co-signature");
    return requireLedger(values, "match cosign", async (ledger) => {
      const body = readJson(file, "the result");
      const answer = await new ProviderLedger(ledger).cosign(body, { requireAnswered: false });
      writeOutput(out, `${JSON.stringify(answer, null, 2)}\n`);
      const { result } = parseCosignRequest(body);
      say(
        `co-signed the result of session ${answer.sessionId} (cardinality ${result.cardinality}) ${written(out)}`,
      );
      return 0;
    });
  },
};

export const matchRecordCommand: Command = {
  name: "match record",
  usage: "--result FILE --cosignature FILE --rpc URL --deployment FILE --keystore FILE",
  help: [
    "  --result FILE        the result this institution signed (match finish --to-cosign)",
    "  --cosignature FILE   the provider's co-signature (match cosign --out)",
    "                       (either may be - for stdin, one at a time)",
    SIGNING_HELP,
    "Checks the provider's signature and submits recordResult; a failure marks the session failed.",
  ].join("\n"),
  options: { ...LEDGER_OPTIONS, ...stringOptions("result", "cosignature") },
  async run(values) {
    oneStdin(values, ["result", "cosignature"]);
    usesLedger(values);
    const body = readJson(required(values, "result"), "the result");
    const answer = readJson(required(values, "cosignature"), "the co-signature");
    return requireLedger(values, "match record", async (ledger) => {
      const { result } = parseCosignRequest(body);
      const s = await matchSession(ledger.contracts, result.sessionId);
      if (s === undefined)
        throw new MatchError(
          "session-mismatch",
          `session ${result.sessionId} is not on the ledger`,
        );
      let tx: string;
      try {
        tx = await recordCosigned(ledger, body as CosignRequest, answer, s.provider);
      } catch (error) {
        throw await failOnLedger(ledger, result.sessionId, error);
      }
      console.log(
        `session ${result.sessionId} completed on the ledger: cardinality ${result.cardinality}, tx ${tx}`,
      );
      return 0;
    });
  },
};
