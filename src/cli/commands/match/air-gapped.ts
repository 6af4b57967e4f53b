/**
 * `veritrace match blind`, `veritrace match respond` and `veritrace match finish`: private set
 * intersection with files carried across an air gap (the request, the response, and with the
 * ledger the signatures beside them), and the requester's state kept between blind and finish.
 * docs/psi.md describes the protocol and the commands.
 */
import { existsSync, rmSync } from "node:fs";
import { flagOptions, stringOptions, type Command, type Values } from "../../command.js";
import { inputName, isStdin, oneStdin, refuseStdin, refuseStdout } from "../../../shared/input.js";
import { integer, required, str } from "../../../shared/options.js";
import { UsageError } from "../../../shared/errors.js";
import { withEngine as withEngineFor, type CurveEngine } from "../../../matching/engine.js";
import { MatchError } from "../../../matching/errors.js";
import {
  openRequestFile,
  readResponseFile,
  writeFileAtomic,
  writeMessageFile,
} from "../../../matching/files.js";
import { MODES } from "../../../matching/messages.js";
import {
  ProviderLedger,
  acceptResponse,
  blindAndOpen,
  failOnLedger,
  parseSignature,
  resultToCosign,
  signRequest,
  type OpenedSession,
} from "../../../matching/ledger.js";
import { LEDGER_HELP, LEDGER_OPTIONS, usesLedger, withLedger } from "../../match-ledger.js";
import type { MatchSignature } from "../../../client/matching.js";
import {
  PsiProvider,
  PsiRequester,
  providerRecord,
  sessionFailure,
  type PsiResult,
} from "../../../matching/session.js";
import {
  COMMON_OPTIONS,
  OPTION_HELP,
  identifierType,
  ledgerPart,
  maxElements,
  mode,
  modes,
  readIdentifiers,
  readJson,
  report,
  reporter,
  requestId,
  sessionId,
  tagFor,
  written,
} from "./shared.js";

async function withEngine<T>(
  values: Values,
  elements: number,
  fn: (engine: CurveEngine) => Promise<T>,
): Promise<T> {
  return withEngineFor(elements, integer(values, "threads", 0), fn);
}

/**
 * The state file of `match blind` and `match finish`: never stdin. It holds the session's secret
 * (written with mode 600, never to stdout) and outlives the command: finish deletes it after
 * success only, so that a failed finish can be run again.
 */
function stateOption(values: Values): string {
  refuseStdin(
    values,
    "state",
    "the state holds the session's secret and is kept until finish succeeds",
  );
  return required(values, "state");
}

/**
 * The signature file beside a message file (`MESSAGE.sig.json`), or `option`'s; a message read
 * from stdin has nothing beside it, so `option` must name it.
 */
function signatureFileFor(values: Values, option: string, message: string): string {
  const file = str(values, option);
  if (file !== undefined) return file;
  if (isStdin(message))
    throw new UsageError(
      `a message read from stdin has no signature file beside it: give --${option} FILE`,
    );
  return signatureFileOf(message);
}

/**
 * Where a command that writes a signed message (blind, respond) writes it: `--out`, the file of
 * its signature ({@link signatureOutFor}) and how it prints its report ({@link reporter}).
 */
function signedOutput(
  values: Values,
  what: string,
  onLedger: boolean,
): { out: string; signatureOut: string | undefined; say: (text: string) => void } {
  const out = required(values, "out");
  return {
    out,
    signatureOut: signatureOutFor(values, out, what, onLedger),
    say: reporter(values, out, what),
  };
}

/**
 * The file a signature of the message written to `out` goes to (with the ledger; none without):
 * `--signature-out FILE`, else beside the message (`OUT.sig.json`). A message written to stdout
 * has nothing beside it, so --signature-out must name the file; never stdout itself.
 */
function signatureOutFor(
  values: Values,
  out: string,
  what: string,
  onLedger: boolean,
): string | undefined {
  refuseStdout(
    values,
    "signature-out",
    `the signature is a file of its own, carried beside the ${what}`,
  );
  const file = str(values, "signature-out");
  if (!onLedger) {
    if (file !== undefined)
      throw new UsageError("--signature-out goes with the ledger: --no-ledger signs nothing");
    return undefined;
  }
  if (file !== undefined) return file;
  if (isStdin(out))
    throw new UsageError(
      `--out - writes the ${what} to stdout, with nothing beside it: give --signature-out FILE for its signature`,
    );
  return signatureFileOf(out);
}

/** What `match blind` keeps of the ledger in the state file, for `match finish`. */
interface LedgerState {
  sessionId: string;
  requestId: string;
  provider: number;
  transactions: OpenedSession["transactions"];
}

export const matchBlindCommand: Command = {
  name: "match blind",
  usage:
    "--request ID --mode psi|cardinality --type TYPE --input FILE --out REQUEST --state STATE (--rpc URL --deployment FILE --keystore FILE [--signature-out FILE] | --no-ledger --session HEX) [--json]",
  help: [
    OPTION_HELP.request,
    OPTION_HELP.mode,
    OPTION_HELP.type,
    OPTION_HELP.input,
    "  --out FILE           the request file, to carry to the provider, and beside it (with the",
    "                       ledger) FILE.sig.json, the signature binding it to the session (carry it too);",
    OPTION_HELP.stdoutOut,
    "  --signature-out FILE with the ledger: where the signature goes instead (needed with --out -;",
    "                       a file, never -)",
    "  --state FILE         the private state for `match finish` (mode 0600; holds the session's",
    "                       secret, the identifiers and the ledger's session id: keep it, never send it;",
    "                       a file, never -)",
    LEDGER_HELP,
    OPTION_HELP.session,
    OPTION_HELP.json,
    OPTION_HELP.maxElements,
    OPTION_HELP.threads,
    OPTION_HELP.country,
    "With the ledger, the session is opened on the ledger before the files are written.",
  ].join("\n"),
  options: {
    ...COMMON_OPTIONS,
    ...stringOptions("request", "session", "mode", "out", "signature-out", "state"),
    ...flagOptions("json"),
  },
  async run(values) {
    const onLedger = usesLedger(values);
    const m = mode(values);
    const type = identifierType(values);
    const { out, signatureOut, say } = signedOutput(values, "request", onLedger);
    const stateFile = stateOption(values);
    return withLedger(values, async (ledger) => {
      const request = ledger === null ? null : requestId(values);
      const tag = tagFor(values, ledger);
      const identifiers = readIdentifiers(values, type);
      const summary = await withEngine(values, identifiers.size, (engine) =>
        blindAndOpen(
          {
            engine,
            tag,
            mode: m,
            identifiers,
            maxElements: maxElements(values),
            ledger: ledger === null || request === null ? null : { ledger, requestId: request },
          },
          async ({ requester, blinded, opened }) => {
            const ledgerState: LedgerState | undefined =
              opened === null
                ? undefined
                : {
                    sessionId: opened.sessionId.toString(),
                    requestId: opened.requestId.toString(),
                    provider: opened.provider,
                    transactions: opened.transactions,
                  };
            // The state first: a request whose state is lost could never be finished.
            writeFileAtomic(
              stateFile,
              `${JSON.stringify({ ...requester.exportState(), ledger: ledgerState })}\n`,
              0o600,
            );
            if (ledger !== null && opened !== null && signatureOut !== undefined) {
              const binding: RequestSignatureFile = {
                format: "veritrace-match-request-signature/1",
                sessionId: opened.sessionId.toString(),
                tag: opened.tag,
                requestDigest: opened.requestDigest,
                requester: await signRequest(ledger, opened),
              };
              writeFileAtomic(signatureOut, `${JSON.stringify(binding, null, 2)}\n`);
            }
            writeMessageFile(out, blinded);
            return {
              tag,
              mode: m,
              type,
              count: blinded.header.count,
              duplicatesDropped: identifiers.duplicates,
              requestDigest: blinded.digest,
              ...ledgerPart(opened),
              out,
              ...(signatureOut === undefined ? {} : { signature: signatureOut }),
              state: stateFile,
            };
          },
        ),
      );
      if (values["json"] === true) console.log(JSON.stringify(summary));
      else {
        const ledgerSession = (summary as { ledger?: { sessionId: string } }).ledger?.sessionId;
        say(
          `request for ${ledgerSession === undefined ? "" : `session ${ledgerSession}, `}tag ${tag} (${m}): ${summary.count.toLocaleString("en")} identifiers` +
            `${summary.duplicatesDropped > 0 ? ` (${summary.duplicatesDropped} duplicates dropped)` : ""} ${written(out)}` +
            `${signatureOut === undefined ? "" : ` (signature in ${signatureOut})`}; ` +
            `keep ${stateFile} private until match finish`,
        );
      }
      return 0;
    });
  },
};

/** The requester's signature binding its request to its session, beside the request file. */
interface RequestSignatureFile {
  format: "veritrace-match-request-signature/1";
  sessionId: string;
  tag: string;
  requestDigest: string;
  requester: MatchSignature;
}

/**
 * The requester's binding of a request file (null if the file does not exist); a file that is not
 * one is refused, naming it.
 */
function readRequestSignature(file: string): MatchSignature | null {
  if (!isStdin(file) && !existsSync(file)) return null;
  const name = inputName(file);
  const doc = readJson(file, "the request signature") as Partial<RequestSignatureFile> | null;
  if (doc?.format !== "veritrace-match-request-signature/1")
    throw new MatchError("malformed-message", `${name} is not a request signature`);
  return parseSignature(doc.requester, `${name}: requester`);
}

/** The provider's signature of its response, beside the response file (air-gapped mode). */
interface ResponseSignatureFile {
  format: "veritrace-match-response-signature/1";
  sessionId: string;
  tag: string;
  requestDigest: string;
  responseDigest: string;
  providerSetSize: string;
  provider: { signer: string; signature: string };
}

const signatureFileOf = (response: string) => `${response}.sig.json`;

export const matchRespondCommand: Command = {
  name: "match respond",
  usage:
    "--request FILE --type TYPE --input FILE --out RESPONSE (--rpc URL --deployment FILE --keystore FILE [--request-signature FILE] [--signature-out FILE] | --no-ledger) [--session HEX] [--modes LIST] [--json]",
  help: [
    "  --request FILE       the requester's request file (- reads stdin)",
    "  --request-signature FILE  with the ledger: the requester's signature binding the request to",
    "                       its session (default: REQUEST.sig.json; needed with --request -)",
    OPTION_HELP.type,
    OPTION_HELP.input,
    "  --out FILE           the response file, to carry back to the requester, and beside it (with",
    "                       the ledger) FILE.sig.json, its MatchResponse signature (carry it too);",
    OPTION_HELP.stdoutOut,
    "  --signature-out FILE with the ledger: where the signature goes instead (needed with --out -;",
    "                       a file, never -)",
    LEDGER_HELP,
    "  --session HEX        refuse a request of any other tag (the protocol's session id)",
    `  --modes LIST         modes answered, separated by commas (default ${MODES.join(",")})`,
    OPTION_HELP.json,
    OPTION_HELP.maxElements,
    OPTION_HELP.threads,
    OPTION_HELP.country,
    "With the ledger, the request must be of a session open on the ledger for this institution,",
    "with its tag, mode, size and digest; a refused request of such a session marks it failed.",
    OPTION_HELP.oneStdin,
  ].join("\n"),
  options: {
    ...COMMON_OPTIONS,
    ...stringOptions("request", "request-signature", "out", "signature-out", "session", "modes"),
    ...flagOptions("json"),
  },
  async run(values) {
    oneStdin(values, ["request", "request-signature", "input"]);
    const onLedger = usesLedger(values);
    const type = identifierType(values);
    const { out, signatureOut, say } = signedOutput(values, "response", onLedger);
    const max = maxElements(values);
    const only = str(values, "session") === undefined ? undefined : sessionId(values);
    const answered = modes(values);
    const requestFile = required(values, "request");
    const requestSignature = onLedger
      ? signatureFileFor(values, "request-signature", requestFile)
      : undefined;
    return withLedger(values, async (ledger) => {
      // As the server does: the header first, so that a session opened for this provider is
      // known (and marked failed) even when the body is what is wrong.
      const file = openRequestFile(requestFile, max);
      const identifiers = readIdentifiers(values, type);
      const gatekeeper = ledger === null ? null : new ProviderLedger(ledger);
      let ours: bigint | null = null;
      try {
        const checked =
          gatekeeper === null
            ? null
            : await gatekeeper.checkHeader(
                file.header,
                undefined,
                readRequestSignature(requestSignature ?? signatureFileOf(requestFile)),
                (s) => (ours = s.sessionId),
              );
        const request = file.message();
        if (gatekeeper !== null) await gatekeeper.checkRequest(request);
        const outcome = await withEngine(
          values,
          request.header.count + identifiers.size,
          async (engine) => {
            const provider = new PsiProvider({
              type,
              engine,
              maxElements: max,
              modes: answered,
              ...(only === undefined ? {} : { sessionId: only }),
            });
            return provider.respond(request, identifiers);
          },
        );
        const summary = { ...providerRecord(outcome), out };
        const { sessionId: tag, ...rest } = summary;
        if (gatekeeper !== null && checked !== null && signatureOut !== undefined) {
          const signature = await gatekeeper.attest(checked, outcome);
          const file: ResponseSignatureFile = {
            format: "veritrace-match-response-signature/1",
            sessionId: checked.sessionId.toString(),
            tag,
            requestDigest: checked.requestDigest,
            responseDigest: outcome.response.digest,
            providerSetSize: String(outcome.providerCount),
            provider: signature,
          };
          writeFileAtomic(signatureOut, `${JSON.stringify(file, null, 2)}\n`);
        }
        writeMessageFile(out, outcome.response);
        const ledgerSession = checked?.sessionId.toString();
        if (values["json"] === true)
          console.log(
            JSON.stringify({
              tag,
              ...rest,
              ...(ledgerSession === undefined ? {} : { ledgerSessionId: ledgerSession }),
              ...(signatureOut === undefined ? {} : { signature: signatureOut }),
            }),
          );
        else
          say(
            `response for ${ledgerSession === undefined ? "" : `session ${ledgerSession}, `}tag ${tag} (${summary.mode}): ${summary.requestCount.toLocaleString("en")} re-blinded, ` +
              `${summary.providerCount.toLocaleString("en")} of ours, ${written(out)}` +
              `${signatureOut === undefined ? "" : ` (signature in ${signatureOut})`}\ntranscript ${summary.transcriptDigest}`,
          );
        return 0;
      } catch (error) {
        const id = ours as bigint | null;
        if (gatekeeper === null || id === null) throw error;
        const failure = sessionFailure(error, file.header.sessionId);
        throw new MatchError(
          failure.reason,
          `${failure.message}; ${await gatekeeper.fail(id, failure)}`,
          {
            cause: error,
          },
        );
      }
    });
  },
};

export const matchFinishCommand: Command = {
  name: "match finish",
  usage:
    "--state FILE --response FILE (--rpc URL --deployment FILE --keystore FILE --to-cosign FILE | --no-ledger) [--signature FILE] [--out FILE] [--json] [--keep-state]",
  help: [
    "  --state FILE         the state written by match blind (deleted after success; a file, never -)",
    "  --response FILE      the provider's response file (- reads stdin)",
    "  --signature FILE     the provider's response signature (default: RESPONSE.sig.json; needed",
    "                       with --response -)",
    "  --to-cosign FILE     with the ledger: the result, signed by this institution, for the",
    "                       provider's `match cosign` (carry it to the provider; a file, never -)",
    LEDGER_HELP,
    OPTION_HELP.resultOut,
    OPTION_HELP.json,
    "  --keep-state         keep the state file (it holds the session's secret)",
    OPTION_HELP.maxElements,
    OPTION_HELP.threads,
    "With the ledger: checks and records the provider's signed response, then finishes. A failure",
    "marks the session failed on the ledger.",
    OPTION_HELP.oneStdin,
  ].join("\n"),
  options: {
    ...LEDGER_OPTIONS,
    ...stringOptions("state", "response", "signature", "to-cosign", "out"),
    ...stringOptions("max-elements", "threads"),
    ...flagOptions("json", "keep-state"),
  },
  async run(values) {
    oneStdin(values, ["response", "signature"]);
    const onLedger = usesLedger(values);
    const stateFile = stateOption(values);
    refuseStdout(
      values,
      "to-cosign",
      "the signed result is a file carried to the provider, and stdout carries the result or its summary",
    );
    const responseFile = required(values, "response");
    const signatureFile = onLedger
      ? signatureFileFor(values, "signature", responseFile)
      : signatureFileOf(responseFile);
    const max = maxElements(values);
    return withLedger(values, async (ledger) => {
      const state = readJson(stateFile, "the state") as { ledger?: LedgerState } | null;
      const ls = state?.ledger;
      const toCosignFile = ledger === null ? undefined : required(values, "to-cosign");
      if (ledger !== null && ls === undefined)
        throw new UsageError(
          `${stateFile} was written with --no-ledger: finish it with --no-ledger`,
        );
      if (ledger === null && ls !== undefined)
        throw new UsageError(
          `session ${ls.sessionId} is on the ledger: finish it with the ledger options`,
        );
      for (const f of ledger === null ? [responseFile] : [responseFile, signatureFile])
        if (!isStdin(f) && !existsSync(f))
          throw new MatchError("invalid-input", `${f} does not exist`);
      const opened: OpenedSession | null =
        ledger === null || ls === undefined
          ? null
          : {
              sessionId: BigInt(ls.sessionId),
              requestId: BigInt(ls.requestId),
              tag: String((state as { sessionId?: unknown }).sessionId),
              requestDigest: String((state as { requestDigest?: unknown }).requestDigest),
              provider: ls.provider,
              transactions: ls.transactions,
            };
      let result: PsiResult;
      try {
        const response = readResponseFile(responseFile, max);
        if (ledger !== null && opened !== null) {
          const doc = readJson(
            signatureFile,
            "the response signature",
          ) as Partial<ResponseSignatureFile>;
          if (doc?.format !== "veritrace-match-response-signature/1")
            throw new MatchError(
              "malformed-message",
              `${inputName(signatureFile)} is not a response signature`,
            );
          await acceptResponse(
            ledger,
            opened,
            response,
            parseSignature(doc.provider, `${inputName(signatureFile)}: provider`),
          );
        }
        result = await withEngine(values, response.header.providerCount, async (engine) => {
          const requester = PsiRequester.fromState(state, { engine, maxElements: max });
          try {
            return await requester.finish(response);
          } finally {
            requester.dispose();
          }
        });
        if (ledger !== null && opened !== null && toCosignFile !== undefined) {
          const toCosign = await resultToCosign(ledger, opened, result.responseDigest, result);
          writeFileAtomic(toCosignFile, `${JSON.stringify(toCosign, null, 2)}\n`);
        }
      } catch (error) {
        if (ledger !== null && opened !== null)
          throw await failOnLedger(ledger, opened.sessionId, error);
        throw error;
      }
      report(values, result, null, opened);
      if (values["keep-state"] !== true) rmSync(stateFile, { force: true });
      return 0;
    });
  },
};
