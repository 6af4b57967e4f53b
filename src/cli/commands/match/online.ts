/**
 * `veritrace match serve` and `veritrace match run`: private set intersection over HTTP, the
 * provider serving its set, the requester running a session against it; the bearer tokens
 * between them. docs/psi.md describes the protocol and the commands.
 */
import type { AddressInfo } from "node:net";
import { MIN_TOKEN_LENGTH, readTokens } from "../serve.js";
import { isTokenText } from "../../../shared/request-checks.js";
import { flagOptions, stringOptions, type Command, type Values } from "../../command.js";
import { refuseStdin } from "../../../shared/input.js";
import { logLine } from "../../../shared/format.js";
import { integer, required, str } from "../../../shared/options.js";
import { InvalidInputError, TracerError, UsageError } from "../../../shared/errors.js";
import { engineFor } from "../../../matching/engine.js";
import { createMatchServer, type SessionRecord } from "../../../matching/http.js";
import { MODES } from "../../../matching/messages.js";
import { runOnlineSession } from "../../../matching/online.js";
import { ProviderLedger } from "../../../matching/ledger.js";
import { LEDGER_HELP, usesLedger, withLedger } from "../../match-ledger.js";
import {
  COMMON_OPTIONS,
  OPTION_HELP,
  identifierType,
  maxElements,
  mode,
  modes,
  readIdentifiers,
  report,
  requestId,
  sessionId,
  tagFor,
} from "./shared.js";

/** Environment variable holding the bearer token (instead of --token-file). */
export const TOKEN_ENV = "VERITRACE_MATCH_TOKEN";

/** The help line of --token-file. */
const TOKEN_HELP = `  --token-file FILE    bearer token (first line; at least ${MIN_TOKEN_LENGTH} characters; a file, never -); or ${TOKEN_ENV}`;

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

export const matchServeCommand: Command = {
  name: "match serve",
  usage:
    "--input FILE --type TYPE (--rpc URL --deployment FILE --keystore FILE | --no-ledger) [--port N] [--host HOST] [--token-file FILE] [--session HEX] [--modes LIST] [--max-elements N] [--threads N]",
  help: [
    OPTION_HELP.input,
    OPTION_HELP.type,
    LEDGER_HELP,
    "  --port N             TCP port (default 8788; 0 for any free port)",
    "  --host HOST          address to bind (default 127.0.0.1)",
    `${TOKEN_HELP} (tokens: one a line)`,
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

export const matchRunCommand: Command = {
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
    TOKEN_HELP,
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
