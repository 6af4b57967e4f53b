/**
 * `veritrace serve`: the read-only HTTP API over the store (src/api/).
 */
import { existsSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { checkHttpUrl, flagOptions, stringOptions, type Command, type Values } from "../command.js";
import { Follower, SYNC_HELP, SYNC_OPTIONS, readDeploymentInput, syncSettings } from "../follow.js";
import { chainOptions, readBridgesFile } from "../bridges-option.js";
import { inputName, oneStdin, readInputText, refuseStdout } from "../../shared/input.js";
import { logLine } from "../../shared/format.js";
import {
  ConflictError,
  InvalidInputError,
  NotFoundError,
  TracerError,
  UsageError,
} from "../../shared/errors.js";
import { checkNode } from "../../ledger/indexer.js";
import { RpcClient } from "../../chain/rpc.js";
import { DEFAULT_DB_DIR, isPostgresUrl, openDatabase } from "../../db/db.js";
import { Store } from "../../db/store.js";
import { AccessLogFile } from "../../ledger/access-log.js";
import { isTokenText, quote } from "../../shared/request-checks.js";
import { createApiServer, unnamedTokenName, type NamedToken } from "../../api/server.js";
import { DEFAULT_WEB_DIR, staticSite, type StaticSite } from "../../api/static.js";

/** The environment variable holding API tokens, separated by commas. */
export const TOKENS_ENV = "VERITRACE_API_TOKENS";
/** Shortest token accepted: a guessable token is no authentication. */
export const MIN_TOKEN_LENGTH = 16;
const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(["127.0.0.1", "::1", "localhost"]);

function text(values: Values, name: string): string | undefined {
  const v = values[name];
  return typeof v === "string" ? v : undefined;
}

function integerOption(values: Values, name: string, min: number, max: number): number | undefined {
  const v = text(values, name);
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) {
    throw new UsageError(`--${name} must be an integer from ${min} to ${max}, got ${quote(v)}`);
  }
  return Number(v);
}

/** A token's name: what the access log says instead of the token. */
const TOKEN_NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

/**
 * Tokens from a file (stdin for `-`; one a line, `NAME TOKEN` or a bare `TOKEN`; blank lines and
 * # comments skipped) and from the environment (the same, separated by commas). A bare token is named by
 * {@link unnamedTokenName}. Refuses a name given to two tokens, and a token under two names (the
 * access log could not tell who read what).
 */
export function readNamedTokens(file: string | undefined, env: string | undefined): NamedToken[] {
  const items: { text: string; where: string }[] = [];
  if (file !== undefined) {
    const name = inputName(file);
    let content: string;
    try {
      content = readInputText(file);
    } catch (error) {
      throw new NotFoundError(`cannot read tokens from ${name}: ${(error as Error).message}`);
    }
    content.split(/\r?\n/).forEach((line, i) => {
      const item = line.trim();
      if (item !== "" && !item.startsWith("#"))
        items.push({ text: item, where: `${name} line ${i + 1}` });
    });
  }
  (env ?? "").split(",").forEach((part, i) => {
    const item = part.trim();
    if (item !== "") items.push({ text: item, where: `${TOKENS_ENV} item ${i + 1}` });
  });
  const byToken = new Map<string, NamedToken>();
  const byName = new Map<string, string>();
  for (const { text: item, where } of items) {
    const fields = item.split(/[ \t]+/);
    if (fields.length > 2) {
      throw new InvalidInputError(`${where} is not "NAME TOKEN" or "TOKEN": a token has no spaces`);
    }
    const token = fields[fields.length - 1] ?? "";
    if (token.length < MIN_TOKEN_LENGTH) {
      throw new InvalidInputError(
        `the token in ${where} is not a token: at least ${MIN_TOKEN_LENGTH} characters, no spaces`,
      );
    }
    if (!isTokenText(token)) {
      throw new InvalidInputError(
        `the token in ${where} is not a token: printable ASCII only (no Authorization header could carry it)`,
      );
    }
    const name = fields.length === 2 ? (fields[0] ?? "") : unnamedTokenName(token);
    if (!TOKEN_NAME.test(name)) {
      throw new InvalidInputError(
        `the token name in ${where} is not a name: letters, digits, ".", "_", "@" or "-", at most 64`,
      );
    }
    const known = byToken.get(token);
    if (known !== undefined && known.name !== name) {
      throw new ConflictError(
        `the token in ${where} is also named ${JSON.stringify(known.name)}: one name per token, or the access log can't tell who read what`,
      );
    }
    const other = byName.get(name);
    if (other !== undefined && other !== token) {
      throw new ConflictError(`${where} gives the name ${JSON.stringify(name)} to a second token`);
    }
    byToken.set(token, { name, token });
    byName.set(name, token);
  }
  return [...byToken.values()];
}

/** The tokens of {@link readNamedTokens}, without their names. */
export function readTokens(file: string | undefined, env: string | undefined): string[] {
  return readNamedTokens(file, env).map((t) => t.token);
}

/** Where a server logs its requests by default: beside a store directory, else in .veritrace/. */
export function defaultAccessLog(db: string | undefined): string {
  const where = db ?? process.env["DATABASE_URL"] ?? DEFAULT_DB_DIR;
  if (isPostgresUrl(where)) return ".veritrace/api-access.jsonl";
  return `${where.replace(/[/\\]+$/, "")}.access.jsonl`;
}

const urlHost = (host: string) => (host.includes(":") ? `[${host}]` : host);

export const serveCommand: Command = {
  name: "serve",
  usage:
    "[--db URL|DIR] [--port N] [--host HOST] [--tokens FILE] [--access-log FILE | --no-access-log] [--rate N] [--insecure-local] [--rpc URL [--chain ID=URL]… [--bridges FILE]] [--follow --deployment FILE] [--web DIR | --no-web]",
  help: [
    "  --db URL|DIR         store: a directory (PGlite, default .veritrace/db) or postgres://…",
    "  --port N             TCP port (default 8787; 0 for any free port)",
    "  --host HOST          address to bind (default 127.0.0.1)",
    `  --tokens FILE        API tokens, one a line: "NAME TOKEN" (# comments); also`,
    `                       ${TOKENS_ENV}="name1 token1,name2 token2" (tokens at least`,
    `                       ${MIN_TOKEN_LENGTH} characters; the access log names the token; a bare TOKEN`,
    "                       is named token-<8 hex digits of its SHA-256>); - reads them from stdin,",
    "                       e.g. piped from a secrets manager",
    "  --access-log FILE    JSON lines, one per request to a data route (token name, what was read,",
    "                       status, time), written before the answer; default: beside the store",
    "                       directory (DIR.access.jsonl), or .veritrace/api-access.jsonl; anchor it",
    "                       with veritrace access-log anchor (a file, never -)",
    "  --no-access-log      serve without an access log (testing only)",
    "  --rate N             requests per minute per token (default: no limit)",
    "  --insecure-local     without tokens, serve without authentication: only on 127.0.0.1,",
    "                       ::1 or localhost",
    "  --rpc URL            JSON-RPC endpoint POST /trace reads the chain from (default: no traces)",
    "  --chain ID=URL       another chain POST /trace of every asset follows funds to over bridges",
    "                       (repeat for more; the node must answer as chain ID; needs --rpc)",
    "  --bridges FILE       bridge contracts beyond the built-in registry (as veritrace trace --bridges)",
    "  --follow             also index the consortium's events from --rpc into the store, following",
    "                       the head (as veritrace index --follow), in this process: an embedded store",
    "                       takes one process; GET /health shows the follower's progress",
    "  --deployment FILE    with --follow: the deployment record (- reads it from stdin)",
    ...SYNC_HELP.map((line) => `${line} (with --follow)`),
    "  --web DIR            the dashboard's built files (default dist/web when built: npm run build:web)",
    "  --no-web             serve the API alone",
    "One of --tokens and --deployment at a time may be - (stdin).",
    "Prints one line, listening on http://HOST:PORT; stops on SIGINT or SIGTERM. See docs/api.md.",
  ].join("\n"),
  options: {
    ...stringOptions("db", "port", "host", "tokens", "access-log", "rate"),
    ...stringOptions("rpc", "deployment", "web", "bridges"),
    chain: { type: "string", multiple: true },
    ...flagOptions("no-access-log", "insecure-local", "follow", "no-web"),
    ...SYNC_OPTIONS,
  },
  async run(values) {
    oneStdin(values, ["tokens", "deployment"]);
    // The access log is a file kept across restarts, locked while in use and anchored on chain;
    // stdout carries the server's own lines.
    refuseStdout(
      values,
      "access-log",
      "the access log is a file the server keeps, locks and continues across restarts",
    );
    const port = integerOption(values, "port", 0, 65_535) ?? 8787;
    const host = text(values, "host") ?? "127.0.0.1";
    const perMinute = integerOption(values, "rate", 1, 1_000_000);
    const insecureLocal = values["insecure-local"] === true;
    const tokens = readNamedTokens(text(values, "tokens"), process.env[TOKENS_ENV]);
    const noAccessLog = values["no-access-log"] === true;
    if (noAccessLog && values["access-log"] !== undefined)
      throw new UsageError("--access-log and --no-access-log exclude each other");
    const accessLogFile = noAccessLog
      ? undefined
      : (text(values, "access-log") ?? defaultAccessLog(text(values, "db")));
    if (tokens.length === 0 && !insecureLocal) {
      throw new UsageError(
        `no API tokens: give --tokens FILE or ${TOKENS_ENV}, or --insecure-local to serve without authentication on 127.0.0.1`,
      );
    }
    if (tokens.length === 0 && !LOOPBACK_HOSTS.has(host)) {
      throw new UsageError(
        `--insecure-local serves only on 127.0.0.1, ::1 or localhost, not ${quote(host)}: give API tokens to serve there`,
      );
    }

    const given = text(values, "rpc");
    const rpcUrl = given === undefined ? undefined : checkHttpUrl("rpc", given);
    const chains = chainOptions(values);
    const bridgesFile = text(values, "bridges");
    if (rpcUrl === undefined && (chains.length > 0 || bridgesFile !== undefined))
      throw new UsageError("--chain and --bridges go with --rpc, the trace's first chain");
    const bridges = bridgesFile === undefined ? undefined : readBridgesFile(bridgesFile);
    const follow = values["follow"] === true;
    if (!follow) {
      for (const name of ["deployment", ...Object.keys(SYNC_OPTIONS)]) {
        if (values[name] !== undefined) throw new UsageError(`--${name} goes with --follow`);
      }
    } else if (rpcUrl === undefined) {
      throw new UsageError("--follow needs --rpc URL, the node to index");
    }
    const deploymentFile = text(values, "deployment");
    if (follow && deploymentFile === undefined)
      throw new UsageError("--follow needs --deployment FILE");
    const settings = syncSettings(values);
    const webDir = text(values, "web");
    let site: StaticSite | undefined;
    if (values["no-web"] !== true) {
      try {
        if (webDir !== undefined || existsSync(DEFAULT_WEB_DIR))
          site = staticSite(webDir ?? DEFAULT_WEB_DIR);
      } catch (error) {
        throw new NotFoundError(`--web: ${(error as Error).message}`);
      }
    }

    let rpc: RpcClient | undefined;
    const deployment =
      deploymentFile === undefined ? undefined : readDeploymentInput(deploymentFile);
    if (follow && rpcUrl !== undefined && deployment !== undefined) {
      rpc = new RpcClient(rpcUrl, {
        onRetry: (r) => console.log(logLine({ level: "warn", msg: "retrying", ...r })),
      });
      // Check the node before touching the store, so a wrong node or record writes nothing.
      await checkNode(rpc, deployment);
    }

    // The log before the store: a log in use or damaged stops the server before it opens anything.
    const accessLog =
      accessLogFile === undefined ? undefined : await AccessLogFile.open(accessLogFile);
    let store: Store;
    try {
      store = await Store.open(await openDatabase(text(values, "db")));
    } catch (error) {
      accessLog?.close();
      throw error;
    }
    try {
      const follower =
        rpc === undefined || deployment === undefined
          ? undefined
          : new Follower(store, rpc, deployment, settings);
      // The store bound to the deployment before the API answers; the catching up is seen in
      // GET /health.
      await follower?.indexer.start();
      const server = createApiServer(store, {
        tokens,
        insecureLocal,
        ...(accessLog === undefined ? {} : { accessLog }),
        ...(perMinute === undefined ? {} : { rateLimit: { perMinute } }),
        ...(rpcUrl === undefined ? {} : { rpcUrl }),
        ...(chains.length === 0 ? {} : { chains }),
        ...(bridges === undefined
          ? {}
          : {
              bridges: {
                bridgeContracts: bridges.contracts,
                bridgeTables: bridges.tables,
                bridgeTokens: bridges.tokens,
              },
            }),
        ...(site === undefined ? {} : { site }),
        ...(follower === undefined ? {} : { follower: () => follower.status() }),
        onError: (error) =>
          console.error(
            `veritrace serve: ${(error as Error).message?.split("\n")[0] ?? String(error)}`,
          ),
      });
      await new Promise<void>((resolve, reject) => {
        server.once("error", (error) =>
          reject(
            new TracerError(`cannot listen on ${urlHost(host)}:${port}: ${error.message}`, {
              kind: (error as NodeJS.ErrnoException).code === "EADDRINUSE" ? "conflict" : "failed",
            }),
          ),
        );
        server.listen(port, host, () => resolve());
      });
      console.log(`listening on http://${urlHost(host)}:${(server.address() as AddressInfo).port}`);
      console.log(
        accessLog === undefined
          ? logLine({ level: "warn", msg: "no access log: requests are not recorded" })
          : logLine({
              level: "info",
              msg: "access log",
              file: accessLog.file,
              next: accessLog.next,
            }),
      );

      // Until SIGINT or SIGTERM, or until the follower fails (reported after the server stops).
      let failure: { error: unknown } | undefined;
      let following: Promise<void> = Promise.resolve();
      await new Promise<void>((resolve) => {
        const stop = () => {
          process.off("SIGINT", stop);
          process.off("SIGTERM", stop);
          follower?.stop();
          resolve();
        };
        process.on("SIGINT", stop);
        process.on("SIGTERM", stop);
        if (follower !== undefined) {
          following = follower.run(store).catch((error: unknown) => {
            failure = { error };
            stop();
          });
        }
      });
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        // Requests in flight get a moment to finish; then their connections are cut.
        setTimeout(() => server.closeAllConnections(), 5000).unref();
      });
      // The sync in progress is written before the store closes.
      await following;
      if (failure !== undefined) throw failure.error;
      return 0;
    } finally {
      await store.close();
      accessLog?.close();
    }
  },
};
