/**
 * `veritrace match …`: private set intersection between two institutions, online (serve / run)
 * or with files carried across an air gap (blind / respond / finish).
 * docs/psi.md describes the protocol and the commands.
 */
import { existsSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { InputError } from "../../client/errors.js";
import { matchSession, newSessionTag } from "../../client/matching.js";
import { requireDefaultCountry } from "../../client/normalize.js";
import { MIN_TOKEN_LENGTH, readTokens } from "./serve.js";
import { isTokenText } from "../../shared/request-checks.js";
import { flagOptions, stringOptions, type Command, type Values } from "../command.js";
import {
  inputName,
  isStdin,
  oneStdin,
  readInputText,
  refuseStdin,
  refuseStdout,
} from "../../shared/input.js";
import { logLine } from "../../shared/format.js";
import { integer, required, str } from "../../shared/options.js";
import { InvalidInputError, TracerError, UsageError } from "../../shared/errors.js";
import { engineFor, withEngine as withEngineFor, type CurveEngine } from "../../matching/engine.js";
import { MatchError } from "../../matching/errors.js";
import {
  openRequestFile,
  readResponseFile,
  writeFileAtomic,
  writeMessageFile,
  writeOutput,
} from "../../matching/files.js";
import { createMatchServer, type SessionRecord } from "../../matching/http.js";
import { IdentifierSet } from "../../matching/identifiers.js";
import {
  DEFAULT_MAX_ELEMENTS,
  IDENTIFIER_TYPES,
  MODES,
  normalizeSessionId,
  type IdentifierType,
  type PsiMode,
} from "../../matching/messages.js";
import { runOnlineSession } from "../../matching/online.js";
import {
  ProviderLedger,
  acceptResponse,
  blindAndOpen,
  failOnLedger,
  parseCosignRequest,
  parseSignature,
  recordCosigned,
  resultToCosign,
  signRequest,
  type CosignRequest,
  type MatchLedger,
  type OpenedSession,
} from "../../matching/ledger.js";
import {
  LEDGER_HELP,
  LEDGER_OPTIONS,
  SIGNING_HELP,
  requireLedger,
  usesLedger,
  withLedger,
} from "../match-ledger.js";
import type { MatchSignature } from "../../client/matching.js";
import {
  PsiProvider,
  PsiRequester,
  providerRecord,
  sessionFailure,
  type PsiResult,
} from "../../matching/session.js";

/** Environment variable holding the bearer token (instead of --token-file). */
export const TOKEN_ENV = "VERITRACE_MATCH_TOKEN";

const OPTION_HELP = {
  type: `  --type TYPE          identifier type: ${IDENTIFIER_TYPES.join(", ")}`,
  input:
    "  --input FILE         identifiers, one a line (blank lines and # comments skipped; - reads stdin)",
  session: "  --session HEX        --no-ledger only: the protocol's session id (32 bytes of hex)",
  request:
    "  --request ID         the granted access request the session runs under (opens it on the ledger)",
  mode: "  --mode MODE          psi (which identifiers match) or cardinality (only how many)",
  maxElements: `  --max-elements N     largest set accepted from either party (default ${DEFAULT_MAX_ELEMENTS.toLocaleString("en")})`,
  threads: "  --threads N          worker threads (default: one per core; 0: none)",
  country:
    "  --country CODE       country of phone numbers written without + or 00: DE or 49, CN or 86, …; default none",
  token: `  --token-file FILE    bearer token (first line; at least ${MIN_TOKEN_LENGTH} characters; a file, never -); or ${TOKEN_ENV}`,
  json: "  --json               one JSON object on stdout instead of a sentence",
  oneStdin: "One input at a time may be - (stdin).",
  resultOut: [
    "  --out FILE           write the result (JSON, mode 0600) there and print a summary",
    "                       (default, and with -: the result on stdout, without a summary)",
  ].join("\n"),
  stdoutOut:
    "                       - writes it to stdout, the sentence then to stderr (not with --json)",
};

const COMMON_OPTIONS = {
  ...stringOptions("type", "input", "max-elements", "threads", "country"),
  ...LEDGER_OPTIONS,
} as const;

function identifierType(values: Values): IdentifierType {
  const type = required(values, "type");
  if (!IDENTIFIER_TYPES.includes(type as IdentifierType))
    throw new UsageError(
      `--type must be one of ${IDENTIFIER_TYPES.join(", ")}, got ${JSON.stringify(type)}`,
    );
  return type as IdentifierType;
}

function mode(values: Values): PsiMode {
  const m = required(values, "mode");
  if (!MODES.includes(m as PsiMode))
    throw new UsageError(`--mode must be one of ${MODES.join(", ")}, got ${JSON.stringify(m)}`);
  return m as PsiMode;
}

function modes(values: Values): PsiMode[] {
  const list = (str(values, "modes") ?? MODES.join(",")).split(",").map((m) => m.trim());
  for (const m of list) {
    if (!MODES.includes(m as PsiMode))
      throw new UsageError(
        `--modes takes ${MODES.join(", ")} separated by commas, got ${JSON.stringify(m)}`,
      );
  }
  return list as PsiMode[];
}

function sessionId(values: Values, name = "session"): string {
  const v = required(values, name);
  try {
    return normalizeSessionId(v);
  } catch {
    throw new UsageError(`--${name} must be 32 bytes of hex (64 digits), got ${JSON.stringify(v)}`);
  }
}

function maxElements(values: Values): number {
  return integer(values, "max-elements", 1) ?? DEFAULT_MAX_ELEMENTS;
}

function country(values: Values): { defaultCountryCode?: string } {
  const c = str(values, "country");
  if (c === undefined) return {};
  try {
    return { defaultCountryCode: requireDefaultCountry(c) };
  } catch (error) {
    if (error instanceof InputError)
      throw new UsageError(
        `--country must be a country (ISO 3166, e.g. DE) or a country calling code (e.g. 49), got ${JSON.stringify(c)}`,
      );
    throw error;
  }
}

function readIdentifiers(values: Values, type: IdentifierType): IdentifierSet {
  return IdentifierSet.fromFile(type, required(values, "input"), {
    maxElements: maxElements(values),
    ...country(values),
  });
}

/** Bearer tokens from --token-file (one a line) and from the environment; at least one. */
export function matchTokens(values: Values): string[] {
  // A token is a secret: from a file of its own or the environment, never stdin, which is left
  // for the identifiers (--input -).
  refuseStdin(values, "token-file", `a token comes from a file of its own or ${TOKEN_ENV}`);
  const tokens = readTokens(str(values, "token-file"), undefined);
  const env = process.env[TOKEN_ENV];
  if (env !== undefined && env.trim() !== "") {
    const t = env.trim();
    if (t.length < MIN_TOKEN_LENGTH || /\s/.test(t))
      throw new InvalidInputError(
        `${TOKEN_ENV} is not a token: at least ${MIN_TOKEN_LENGTH} characters, no spaces`,
      );
    if (!isTokenText(t))
      throw new InvalidInputError(
        `${TOKEN_ENV} is not a token: printable ASCII only (no Authorization header could carry it)`,
      );
    tokens.push(t);
  }
  if (tokens.length === 0)
    throw new UsageError(
      `no token: give --token-file FILE or set ${TOKEN_ENV} (never the token itself as an option)`,
    );
  return tokens;
}

function threadsOption(values: Values): { threads?: number } {
  const threads = integer(values, "threads", 0);
  return threads === undefined ? {} : { threads };
}

async function withEngine<T>(
  values: Values,
  elements: number,
  fn: (engine: CurveEngine) => Promise<T>,
): Promise<T> {
  return withEngineFor(elements, integer(values, "threads", 0), fn);
}

/** The ledger part of a requester's result document. */
function ledgerPart(opened: OpenedSession | null): Record<string, unknown> {
  if (opened === null) return {};
  return {
    ledger: {
      sessionId: opened.sessionId.toString(),
      requestId: opened.requestId.toString(),
      transactions: opened.transactions,
    },
  };
}

/**
 * The requester's result as written: the protocol's session id is shown as `tag` (the ledger's
 * session id, a number, is `ledger.sessionId`).
 */
function resultDocument(
  result: PsiResult,
  duplicates: number | null,
  opened: OpenedSession | null,
): Record<string, unknown> {
  const { sessionId, status, ...rest } = result;
  return {
    status,
    tag: sessionId,
    ...rest,
    ...(duplicates === null ? {} : { duplicatesDropped: duplicates }),
    ...ledgerPart(opened),
  };
}

/**
 * Prints (or writes, with --out FILE) a requester's result; `--out -` prints it, as no --out does
 * (the result is the output: no summary beside it).
 */
function report(
  values: Values,
  result: PsiResult,
  duplicates: number | null,
  opened: OpenedSession | null,
): void {
  const named = str(values, "out");
  const out = named === undefined || isStdin(named) ? undefined : named;
  const document = resultDocument(result, duplicates, opened);
  if (out !== undefined) writeFileAtomic(out, `${JSON.stringify(document, null, 2)}\n`, 0o600);
  if (out === undefined) {
    // On stdout, as every --json output: one line.
    console.log(JSON.stringify(document));
    return;
  }
  if (values["json"] === true) {
    // The matches and the salt stay in the file.
    const summary: Record<string, unknown> = { ...document, out };
    delete summary["matches"];
    delete summary["resultSalt"];
    console.log(JSON.stringify(summary));
    return;
  }
  const what = result.mode === "psi" ? "" : " (count only)";
  const name =
    opened === null
      ? `tag ${result.sessionId}`
      : `session ${opened.sessionId} (tag ${result.sessionId})`;
  const t = opened?.transactions;
  console.log(
    `${name}: ${result.cardinality.toLocaleString("en")} of ${result.requestCount.toLocaleString("en")} identifiers match${what}; ` +
      `the provider holds ${result.providerCount.toLocaleString("en")}; result in ${out}\n` +
      (t === undefined
        ? ""
        : `recorded on the ledger: opened ${t.open}, response ${t.response ?? "-"}, result ${t.result ?? "-"}\n`) +
      `transcript ${result.transcriptDigest}\nresult commitment ${result.resultCommitment}`,
  );
}

/** --request ID, required with the ledger. */
function requestId(values: Values): bigint {
  const v = required(values, "request");
  if (!/^[1-9]\d{0,19}$/.test(v))
    throw new UsageError(`--request must be an access request id, got ${JSON.stringify(v)}`);
  return BigInt(v);
}

/**
 * The protocol's session id (the ledger's tag): drawn fresh with the ledger (it must never have
 * been used), --session without it.
 */
function tagFor(values: Values, ledger: MatchLedger | null): string {
  if (ledger === null) return sessionId(values);
  if (str(values, "session") !== undefined)
    throw new UsageError("--session is for --no-ledger: with the ledger, the tag is drawn fresh");
  return newSessionTag();
}

/** A JSON file (stdin for `-`); a failure names it. */
function readJson(file: string, what: string): unknown {
  try {
    return JSON.parse(readInputText(file));
  } catch (error) {
    throw new MatchError(
      "invalid-input",
      `cannot read ${what} ${inputName(file)}: ${(error as Error).message}`,
    );
  }
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

/** "in FILE", or "on stdout" for `-`. */
const written = (file: string) => (isStdin(file) ? "on stdout" : `in ${file}`);

/**
 * How a command that writes `--out` and prints a report (blind, respond, cosign) prints it: on
 * stdout, or with `--out -`, which gives stdout to the output alone, on stderr; `--json`, a
 * summary on stdout, is then refused. `what` names the output.
 */
function reporter(values: Values, out: string, what: string): (text: string) => void {
  if (!isStdin(out)) return (text) => console.log(text);
  if (values["json"] === true)
    throw new UsageError(
      `--out - writes the ${what} to stdout, where --json would print its summary: give --out FILE with --json`,
    );
  return (text) => console.error(text);
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

const serve: Command = {
  name: "match serve",
  usage:
    "--input FILE --type TYPE (--rpc URL --deployment FILE --keystore FILE | --no-ledger) [--port N] [--host HOST] [--token-file FILE] [--session HEX] [--modes LIST] [--max-elements N] [--threads N]",
  help: [
    OPTION_HELP.input,
    OPTION_HELP.type,
    LEDGER_HELP,
    "  --port N             TCP port (default 8788; 0 for any free port)",
    "  --host HOST          address to bind (default 127.0.0.1)",
    `${OPTION_HELP.token} (tokens: one a line)`,
    "  --session HEX        answer only this tag (the protocol's session id; default: any)",
    `  --modes LIST         modes answered, separated by commas (default ${MODES.join(",")})`,
    OPTION_HELP.maxElements,
    OPTION_HELP.threads,
    OPTION_HELP.country,
    "With the ledger, a request is answered only for a session open on the ledger for this",
    "institution (the keystore's participant) with the request's tag, mode, size and digest; the",
    "response carries this institution's MatchResponse signature, and POST /psi/v1/results",
    "co-signs the result of a session it answered. A refused session is marked failed.",
    `Prints one JSON line {"msg":"listening","url":…}, then one JSON line per session; stops on`,
    "SIGINT or SIGTERM. See docs/psi.md.",
  ].join("\n"),
  options: {
    ...COMMON_OPTIONS,
    ...stringOptions("port", "host", "token-file", "session", "modes"),
  },
  async run(values) {
    usesLedger(values);
    const type = identifierType(values);
    const port = integer(values, "port") ?? 8788;
    if (port > 65_535) throw new UsageError(`--port must be at most 65535, got ${port}`);
    const host = str(values, "host") ?? "127.0.0.1";
    const tokens = matchTokens(values);
    const only = str(values, "session") === undefined ? undefined : sessionId(values);
    const answered = modes(values);
    const max = maxElements(values);
    const threads = integer(values, "threads", 0);
    return withLedger(values, async (ledger) => {
      const identifiers = readIdentifiers(values, type);
      const log = (entry: Record<string, unknown>) => console.log(logLine(entry));
      const gatekeeper = ledger === null ? null : new ProviderLedger(ledger, log);
      // The server's engine lives as long as the server: started once, for every session.
      const engine = await engineFor(threads === 0 ? 0 : Number.MAX_SAFE_INTEGER, threads);
      try {
        const server = createMatchServer({
          identifiers,
          tokens,
          engine,
          maxElements: max,
          modes: answered,
          ...(only === undefined ? {} : { sessionId: only }),
          ...(gatekeeper === null ? {} : gatekeeper.serverHooks()),
          onRefused: (record) => log({ level: "warn", msg: "refused", ...record }),
          onSession: ({ sessionId: tag, ...record }: SessionRecord) =>
            log({
              level: record.status === "completed" ? "info" : "warn",
              msg: "session",
              tag,
              ...record,
            }),
        });
        await new Promise<void>((resolve, reject) => {
          server.once("error", (error) =>
            reject(
              new TracerError(`cannot listen on ${host}:${port}: ${error.message}`, {
                kind:
                  (error as NodeJS.ErrnoException).code === "EADDRINUSE" ? "conflict" : "failed",
              }),
            ),
          );
          server.listen(port, host, resolve);
        });
        const address = server.address() as AddressInfo;
        const shown = address.family === "IPv6" ? `[${address.address}]` : address.address;
        log({
          level: "info",
          msg: "listening",
          url: `http://${shown}:${address.port}`,
          type,
          elements: identifiers.size,
          duplicatesDropped: identifiers.duplicates,
          modes: answered,
          maxElements: max,
          ledger: ledger === null ? null : { participant: ledger.participant, key: ledger.address },
        });
        await new Promise<void>((resolve) => {
          process.once("SIGINT", resolve);
          process.once("SIGTERM", resolve);
        });
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        return 0;
      } finally {
        await engine.close();
      }
    });
  },
};

function tokenForPeer(values: Values): string {
  const [token] = matchTokens(values);
  return token as string;
}

const run: Command = {
  name: "match run",
  usage:
    "--peer URL --request ID --mode psi|cardinality --type TYPE --input FILE --rpc URL --deployment FILE --keystore FILE [--token-file FILE] [--out FILE] [--json]\n" +
    "       veritrace match run --no-ledger --peer URL --session HEX --mode … --type … --input FILE …",
  help: [
    "  --peer URL           the provider's base URL (veritrace match serve)",
    OPTION_HELP.request,
    OPTION_HELP.mode,
    OPTION_HELP.type,
    OPTION_HELP.input,
    LEDGER_HELP,
    OPTION_HELP.session,
    OPTION_HELP.token,
    OPTION_HELP.resultOut,
    OPTION_HELP.json,
    OPTION_HELP.maxElements,
    OPTION_HELP.threads,
    OPTION_HELP.country,
    "  --timeout S          seconds for the whole exchange (default 600)",
    "With the ledger: opens the session under the request, sends it, records the provider's",
    "signed response, has the result co-signed and records it. A failure after the opening marks",
    "the session failed on the ledger; an identifier that fails normalization records nothing.",
  ].join("\n"),
  options: {
    ...COMMON_OPTIONS,
    ...stringOptions("peer", "request", "session", "mode", "token-file", "out", "timeout"),
    ...flagOptions("json"),
  },
  async run(values) {
    usesLedger(values);
    const peer = required(values, "peer");
    const m = mode(values);
    const type = identifierType(values);
    const token = tokenForPeer(values);
    const max = maxElements(values);
    const timeoutMs = (integer(values, "timeout", 1) ?? 600) * 1000;
    return withLedger(values, async (ledger) => {
      const request = ledger === null ? null : requestId(values);
      const tag = tagFor(values, ledger);
      // Before the opening: an identifier that fails normalization records nothing.
      const identifiers = readIdentifiers(values, type);
      const { result, opened } = await runOnlineSession({
        peer,
        token,
        identifiers,
        mode: m,
        tag,
        ledger: ledger === null || request === null ? null : { ledger, requestId: request },
        maxElements: max,
        timeoutMs,
        ...threadsOption(values),
      });
      report(values, result, identifiers.duplicates, opened);
      return 0;
    });
  },
};

/** What `match blind` keeps of the ledger in the state file, for `match finish`. */
interface LedgerState {
  sessionId: string;
  requestId: string;
  provider: number;
  transactions: OpenedSession["transactions"];
}

const blind: Command = {
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

const respond: Command = {
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

const finish: Command = {
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

const cosign: Command = {
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

const record: Command = {
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

/** The `veritrace match …` commands, listed in the CLI's COMMANDS. */
export const MATCH_COMMANDS: Command[] = [serve, run, blind, respond, finish, cosign, record];
