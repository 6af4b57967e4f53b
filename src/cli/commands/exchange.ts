/**
 * `veritrace exchange serve` (the provider's gateway) and `veritrace exchange fetch` (the
 * requester): deliveries that carry the data, end to end encrypted, bound to the live grant and
 * co-signed on the access ledger. docs/exchange.md describes the protocol; src/exchange/ holds it.
 */
import { readFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import type { AddressInfo } from "node:net";
import { KEYSTORE_PASSWORD_ENV } from "../../client/keystore.js";
import { connectInstitution, type InstitutionConnection } from "../../chain/institution.js";
import { describeCommand, lockFile } from "../../db/lock.js";
import { createGatewayServer } from "../../exchange/gateway-server.js";
import { DEFAULT_RETENTION, Gateway } from "../../exchange/gateway.js";
import { GatewayAnchoring } from "../../exchange/gateway-log.js";
import { ParticipantClient } from "../../client/roles.js";
import { AccessLogFile } from "../../ledger/access-log.js";
import { fetchDelivery } from "../../exchange/fetch.js";
import { fetchAll } from "../../exchange/fetch-all.js";
import { logLine, json } from "../../shared/format.js";
import { readInputTextOr, refuseSigningStdin, refuseStdout } from "../../shared/input.js";
import { InvalidInputError, TracerError, UsageError } from "../../shared/errors.js";
import { quote } from "../../shared/request-checks.js";
import { integer, required, str } from "../../shared/options.js";
import { checkHttpUrl, flagOptions, stringOptions, type Command, type Values } from "../command.js";
import { RPC_ENV } from "../match-ledger.js";

const KEY_HELP = [
  `  --rpc URL            JSON-RPC endpoint of the consortium's chain (or ${RPC_ENV})`,
  "  --deployment FILE    the consortium's deployment record",
  "  --keystore FILE      this institution's encrypted JSON keystore (a signing key; password from",
  `                       --password-file, ${KEYSTORE_PASSWORD_ENV} or a hidden prompt)`,
  "  --password-file FILE the keystore's password: the file's first line (mode 600)",
].join("\n");

const KEY_OPTIONS = stringOptions("rpc", "deployment", "keystore", "password-file");

/** The lock file in a gateway's --dir. */
const GATEWAY_LOCK = "gateway.lock";

/** Addresses that only this machine reaches: where plain HTTP is allowed. */
const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1|localhost)$/i;

async function connect(values: Values): Promise<InstitutionConnection> {
  refuseSigningStdin(values, "the exchange commands read the deployment record from a file");
  const env = process.env[RPC_ENV];
  const rpc = str(values, "rpc") ?? (env === undefined || env === "" ? undefined : env);
  if (rpc === undefined) throw new UsageError(`--rpc URL (or ${RPC_ENV}) is required`);
  return connectInstitution({
    rpc: checkHttpUrl("rpc", rpc),
    deployment: required(values, "deployment"),
    key: { keystore: required(values, "keystore"), passwordFile: str(values, "password-file") },
  });
}

function readPem(values: Values, name: string): Buffer {
  const file = required(values, name);
  try {
    return readFileSync(file);
  } catch (e) {
    throw new InvalidInputError(`--${name}: cannot read ${quote(file)}: ${(e as Error).message}`);
  }
}

export const exchangeServeCommand: Command = {
  name: "exchange serve",
  usage:
    "--handler CMD --dir DIR --rpc URL --deployment FILE --keystore FILE [--tls-cert FILE --tls-key FILE] [--host HOST] [--port N] [--handler-timeout S] [--poll S] [--offer-ttl S] [--max-downloads N] [--concurrency N] [--retry-max N] [--retry-backoff S] [--confirmations N] [--access-log FILE] [--anchor-every N] [--anchor-interval S] [--retention S]",
  help: [
    "  --handler CMD        the command that makes an export (run by /bin/sh -c): the request's",
    "                       fields as JSON on stdin, the export on stdout; a non-zero exit or the",
    "                       timeout refuses the attempt (logged, nothing offered; retried, see",
    "                       --retry-max). It may write the record count to the file named by",
    "                       $VERITRACE_RECORDS_FILE (default: the export's lines)",
    "  --dir DIR            where the offers (envelopes, signed offers), the block cursor and the",
    "                       retry schedule are kept; one gateway process per directory (locked)",
    KEY_HELP,
    "  --tls-cert FILE      PEM certificate chain; with --tls-key, serve HTTPS",
    "  --tls-key FILE       PEM private key of the certificate",
    "  --host HOST          address to bind (default 127.0.0.1; without TLS, loopback only)",
    "  --port N             TCP port (default 8790; 0 for any free port)",
    "  --handler-timeout S  seconds a handler may run (default 600)",
    "  --poll S             seconds between looks for new grants (default 2)",
    "  --offer-ttl S        seconds the requester has to acknowledge an offer (default 604800,",
    "                       never past the grant's expiry)",
    "  --max-downloads N    envelopes streamed at once (default 16; more are answered 503)",
    "  --concurrency N      grants offered at once, each handler bounded by --handler-timeout",
    "                       (default 4)",
    "  --retry-max N        retries of a grant refused for a transient reason: the handler failed or",
    "                       timed out, the node failed, the requester has no encryption key yet",
    "                       (default 5; 0: none). A record limit exceeded or a grant no longer live",
    "                       is never retried",
    "  --retry-backoff S    seconds before the first retry, doubled before each next one, at most",
    "                       an hour (default 30); the schedule is kept in DIR across restarts",
    "  --confirmations N    blocks a grant must be under the head before it is acted on (default 0).",
    "                       0 is right on Besu/QBFT: a QBFT block is final once it is added (no",
    "                       forks, no reorganisations), so waiting adds delay and no safety; set it",
    "                       on a chain whose head can be replaced (Clique, proof of work or stake)",
    "  --access-log FILE    the access log: one JSON line per offer, offer list, download, refusal",
    "                       and purge, written before the answer (default DIR/access-log.jsonl;",
    "                       one gateway per log; a file, never -)",
    "  --anchor-every N     anchor the log's unanchored lines with AccessLogAnchor once N are waiting",
    "  --anchor-interval S  and/or every S seconds when any are waiting (default: never; anchor",
    "                       by hand with veritrace access-log anchor)",
    `  --retention S        seconds a ciphertext is kept after its acknowledgement's block (default`,
    `                       ${DEFAULT_RETENTION}: 30 days); deleted at once when the grant is revoked,`,
    "                       withdrawn or expired, or the case closed or expired",
    "Polls the access ledger for grants to the keystore's institution; for each live grant runs the",
    "handler, seals its export to the requester's current encryption key, signs the Delivery (the",
    "envelope's commitment as payloadHash) and the offer (the ciphertext's hash and size), and",
    "serves them to the requester's signing keys alone, checked against the ledger on every",
    'request; purges on every poll. Prints one JSON line {"msg":"listening","url":…}, then one',
    "JSON line per offer, refusal, request, purge and anchor; stops on SIGINT or SIGTERM. See",
    "docs/exchange.md.",
  ].join("\n"),
  options: {
    ...KEY_OPTIONS,
    ...stringOptions(
      "handler",
      "dir",
      "tls-cert",
      "tls-key",
      "host",
      "port",
      "handler-timeout",
      "poll",
      "offer-ttl",
      "max-downloads",
      "concurrency",
      "retry-max",
      "retry-backoff",
      "confirmations",
      "access-log",
      "anchor-every",
      "anchor-interval",
      "retention",
    ),
  },
  async run(values) {
    const handler = required(values, "handler");
    if (handler.trim() === "") throw new UsageError("--handler must not be empty");
    const dir = required(values, "dir");
    const host = str(values, "host") ?? "127.0.0.1";
    const port = integer(values, "port") ?? 8790;
    if (port > 65_535) throw new UsageError(`--port must be at most 65535, got ${port}`);
    const hasCert = str(values, "tls-cert") !== undefined;
    const hasKey = str(values, "tls-key") !== undefined;
    if (hasCert !== hasKey) throw new UsageError("--tls-cert and --tls-key go together");
    if (!hasCert && !LOOPBACK.test(host))
      throw new UsageError(
        `plain HTTP is served on loopback only: give --tls-cert and --tls-key to bind ${quote(host)}`,
      );
    const tls = hasCert
      ? { cert: readPem(values, "tls-cert"), key: readPem(values, "tls-key") }
      : undefined;
    const handlerTimeout = integer(values, "handler-timeout", 1) ?? 600;
    const poll = integer(values, "poll", 1) ?? 2;
    const offerTtl = integer(values, "offer-ttl", 60) ?? 7 * 86_400;
    const maxDownloads = integer(values, "max-downloads", 1) ?? 16;
    const concurrency = integer(values, "concurrency", 1) ?? 4;
    if (concurrency > 256)
      throw new UsageError(`--concurrency must be at most 256, got ${concurrency}`);
    const retryMax = integer(values, "retry-max", 0) ?? 5;
    const retryBackoff = integer(values, "retry-backoff", 1) ?? 30;
    const confirmations = integer(values, "confirmations", 0) ?? 0;
    refuseStdout(
      values,
      "access-log",
      "the access log is a file the gateway keeps, locks and continues across restarts",
    );
    const accessLogFile = str(values, "access-log") ?? path.join(dir, "access-log.jsonl");
    const anchorEvery = integer(values, "anchor-every", 1);
    const anchorInterval = integer(values, "anchor-interval", 1);
    const retention = integer(values, "retention") ?? DEFAULT_RETENTION;

    // One process per directory: two would each run the handler for the same grant, and sign two
    // offers of one sequence.
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const lock = await lockFile(
      path.join(dir, GATEWAY_LOCK),
      describeCommand(),
      {},
      {
        inUse: (who, holder) =>
          `the gateway directory ${dir} is in use by ${who} (${holder.command}, since ${holder.since}): one gateway process per --dir`,
        noHolder: (file) =>
          `the gateway directory ${dir} has a lock file that names no process (${file}): remove it if no gateway uses the directory`,
        unstable: (file) =>
          `cannot lock the gateway directory ${dir}: its lock file ${file} keeps changing`,
      },
    );
    // Then the log: a log in use or torn refuses the start before the chain or the password.
    let accessLog: AccessLogFile;
    let connection: InstitutionConnection;
    try {
      accessLog = await AccessLogFile.open(accessLogFile);
    } catch (e) {
      lock.release();
      throw e;
    }
    try {
      connection = await connect(values);
    } catch (e) {
      accessLog.close();
      lock.release();
      throw e;
    }
    const log = (entry: Record<string, unknown>) => console.log(logLine(entry));
    try {
      const [participantId] = await connection.contracts.registry.activeParticipantOf(
        connection.signer.address,
      );
      const gateway = await Gateway.open({
        contracts: connection.contracts,
        signer: connection.signer,
        participantId: Number(participantId),
        chainId: BigInt(connection.record.chainId),
        dir,
        handler,
        handlerTimeoutMs: handlerTimeout * 1000,
        offerTtl,
        startBlock: connection.record.startBlock ?? 0,
        concurrency,
        retryMax,
        retryBackoffMs: retryBackoff * 1000,
        confirmations,
        log,
        retention,
        accessLog,
      });
      const anchoring =
        anchorEvery === undefined && anchorInterval === undefined
          ? undefined
          : new GatewayAnchoring(
              accessLog,
              new ParticipantClient(connection.contracts, connection.signer),
              {
                ...(anchorEvery === undefined ? {} : { every: anchorEvery }),
                ...(anchorInterval === undefined ? {} : { intervalSeconds: anchorInterval }),
              },
              log,
            );
      let server;
      try {
        server = createGatewayServer({
          gateway,
          log,
          accessLog,
          maxDownloads,
          ...(tls ? { tls } : {}),
        });
      } catch (e) {
        throw new InvalidInputError(`--tls-cert/--tls-key: ${(e as Error).message}`);
      }
      await new Promise<void>((resolve, reject) => {
        server.once("error", (error) =>
          reject(
            new TracerError(`cannot listen on ${host}:${port}: ${error.message}`, {
              kind: (error as NodeJS.ErrnoException).code === "EADDRINUSE" ? "conflict" : "failed",
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
        url: `${tls ? "https" : "http"}://${shown}:${address.port}`,
        participant: Number(participantId),
        key: connection.signer.address,
        accessLog: accessLog.file,
        accessLogNext: accessLog.next,
        retention,
      });

      let stopping = false;
      const stopped = new Promise<void>((resolve) => {
        const stop = () => {
          stopping = true;
          resolve();
        };
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
      });
      // A look for grants every --poll seconds; it starts their offers and returns (a slow
      // handler holds back no later grant); downloads are served meanwhile. Each round then purges
      // what is due (the first round at start) and anchors the log if due. On a stop, the offers
      // under way are finished, and those waiting for a handler slot are left to the next start.
      const attempt = async (what: string, step: () => Promise<unknown>) => {
        try {
          await step();
        } catch (e) {
          log({
            level: "error",
            msg: `${what} failed`,
            detail: (e as Error).message.split("\n")[0],
          });
        }
      };
      const loop = (async () => {
        while (!stopping) {
          await attempt("poll", () => gateway.poll());
          await attempt("purge", () => gateway.purge());
          if (anchoring !== undefined) await attempt("anchor", () => anchoring.maybeAnchor());
          await Promise.race([stopped, new Promise((r) => setTimeout(r, poll * 1000))]);
        }
        await gateway.stop();
      })();
      await stopped;
      await loop;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return 0;
    } finally {
      connection.close();
      accessLog.close();
      lock.release();
    }
  },
};

/** Age identities from a file: one `AGE-SECRET-KEY-1…` a line; blank lines and `#` comments skipped. */
function readIdentities(file: string): string[] {
  const text = readInputTextOr(
    file,
    (reason) => new InvalidInputError(`--identity: cannot read ${quote(file)}: ${reason}`),
  );
  const ids = text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
  ids.forEach((id, i) => {
    if (!/^AGE-SECRET-KEY-1[0-9A-Z]+$/.test(id))
      throw new InvalidInputError(
        `--identity: line ${i + 1} of ${quote(file)} is not an age identity (AGE-SECRET-KEY-1…)`,
      );
  });
  if (ids.length === 0)
    throw new InvalidInputError(`--identity: ${quote(file)} holds no age identity`);
  return ids;
}

export const exchangeFetchCommand: Command = {
  name: "exchange fetch",
  usage:
    "(--request ID --gateway URL | --all --gateway PROVIDER=URL… [--watch] [--poll S] [--concurrency N]) --identity FILE --out DIR --rpc URL --deployment FILE --keystore FILE [--sequence N] [--ca FILE] [--timeout S] [--json]",
  help: [
    "  --request ID         the granted request whose delivery to fetch",
    "  --gateway URL        the provider's gateway (https://…; http:// on loopback only); with",
    "                       --all, PROVIDER_ID=URL, repeated for each provider",
    "  --all                every granted request of this institution, and every one an earlier",
    "                       run left unfinished in --out: one JSON line per delivery (fetched,",
    "                       skipped with its reason, failed with its reason); exit 1 if any failed",
    "  --watch              with --all: keep following the ledger for new grants until SIGINT or",
    "                       SIGTERM (a download in progress is stopped and resumed by the next run)",
    "  --poll S             with --watch: seconds between looks at the ledger (default 5)",
    "  --concurrency N      with --all: requests fetched at once (default 4)",
    "  --identity FILE      this institution's age identities (AGE-SECRET-KEY-1…, one a line: the",
    "                       current encryption key's and older ones)",
    "  --out DIR            where the plaintext is written (request-ID-delivery-N.data)",
    KEY_HELP,
    "  --sequence N         the delivery's sequence (default: the next one the ledger expects)",
    "  --ca FILE            PEM certificates to trust for the gateway, beside the system's",
    "  --timeout S          seconds without progress before a transfer is given up (default 60)",
    "  --json               one JSON document on stdout",
    "Reads the offer (signed by an active key of the request's provider, sealed to this",
    "institution's key), downloads the envelope (resuming an interrupted transfer), decrypts it",
    "while checking its binding, commitment and ciphertext hash, co-signs the delivery on the",
    "ledger, and only then writes the plaintext. A failure writes nothing and exits non-zero",
    "with one line saying why. A run stopped after its acknowledgement reached the ledger is",
    "finished by the next one from what it left in --out, without acknowledging twice. See",
    "docs/exchange.md.",
  ].join("\n"),
  options: {
    ...KEY_OPTIONS,
    ...stringOptions(
      "request",
      "identity",
      "out",
      "sequence",
      "ca",
      "timeout",
      "poll",
      "concurrency",
    ),
    gateway: { type: "string", multiple: true },
    ...flagOptions("json", "all", "watch"),
  },
  async run(values) {
    if (values["all"] === true) return fetchAllCommand(values);
    for (const name of ["watch", "poll", "concurrency"])
      if (values[name] !== undefined) throw new UsageError(`--${name} goes with --all`);
    const gateways = gatewayValues(values);
    if (gateways.length !== 1)
      throw new UsageError("--gateway URL is required, once (several go with --all)");
    const requestText = required(values, "request");
    if (!/^[1-9]\d{0,76}$/.test(requestText))
      throw new UsageError(`--request must be a request id, got ${quote(requestText)}`);
    const gateway = gatewayUrl(gateways[0] as string);
    const identities = readIdentities(required(values, "identity"));
    const outDir = required(values, "out");
    const sequence = integer(values, "sequence");
    const timeout = integer(values, "timeout", 1) ?? 60;
    const ca = str(values, "ca") === undefined ? undefined : readPem(values, "ca");

    const connection = await connect(values);
    try {
      const result = await fetchDelivery({
        contracts: connection.contracts,
        signer: connection.signer,
        chainId: BigInt(connection.record.chainId),
        gateway: gateway.toString(),
        requestId: BigInt(requestText),
        identities,
        outDir,
        timeoutMs: timeout * 1000,
        fromBlock: connection.record.startBlock ?? 0,
        ...(sequence === undefined ? {} : { sequence }),
        ...(ca === undefined ? {} : { ca }),
      });
      const summary = {
        requestId: result.requestId,
        sequence: result.sequence,
        deliveryId: result.deliveryId,
        file: result.file,
        recordCount: result.recordCount,
        plaintextBytes: result.opened.plaintextBytes,
        ciphertextBytes: result.opened.ciphertextBytes,
        payloadHash: result.opened.commitment,
        ciphertextHash: result.opened.ciphertextHash,
        resumedAt: result.resumedAt,
        recovered: result.recovered,
      };
      if (values["json"] === true) console.log(json(summary));
      else
        console.log(
          `delivery ${result.deliveryId} (request ${result.requestId}, sequence ${result.sequence}): ${result.opened.plaintextBytes} bytes, ${result.recordCount} records verified and acknowledged; written to ${result.file}`,
        );
      return 0;
    } finally {
      connection.close();
    }
  },
};

function gatewayValues(values: Values): string[] {
  const v = values["gateway"] as unknown as string[] | string | undefined;
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/** A gateway's URL: https, or plain http to a loopback address. */
function gatewayUrl(text: string): URL {
  let gateway: URL;
  try {
    gateway = new URL(text);
  } catch {
    throw new UsageError(`--gateway must be a URL, got ${quote(text)}`);
  }
  if (gateway.protocol !== "https:" && gateway.protocol !== "http:")
    throw new UsageError(`--gateway must be an https URL, got ${quote(text)}`);
  if (gateway.protocol === "http:" && !LOOPBACK.test(gateway.hostname.replace(/^\[|\]$/g, "")))
    throw new UsageError(
      `--gateway: plain HTTP only to a loopback address; use https:// for ${quote(gateway.host)}`,
    );
  return gateway;
}

/** `exchange fetch --all`: see {@link fetchAll}. */
async function fetchAllCommand(values: Values): Promise<number> {
  for (const name of ["request", "sequence"])
    if (values[name] !== undefined) throw new UsageError(`--${name} does not go with --all`);
  const gateways = new Map<number, string>();
  for (const text of gatewayValues(values)) {
    const m = /^([1-9]\d{0,9})=(.+)$/.exec(text);
    if (m === null)
      throw new UsageError(`--gateway with --all must be PROVIDER_ID=URL, got ${quote(text)}`);
    const provider = Number(m[1]);
    if (gateways.has(provider))
      throw new UsageError(`--gateway: provider ${provider} is given twice`);
    gateways.set(provider, gatewayUrl(m[2] as string).toString());
  }
  if (gateways.size === 0)
    throw new UsageError("--all needs at least one --gateway PROVIDER_ID=URL");
  const watch = values["watch"] === true;
  if (!watch && values["poll"] !== undefined) throw new UsageError("--poll goes with --watch");
  const poll = integer(values, "poll", 1) ?? 5;
  const concurrency = integer(values, "concurrency", 1) ?? 4;
  const identities = readIdentities(required(values, "identity"));
  const outDir = required(values, "out");
  const timeout = integer(values, "timeout", 1) ?? 60;
  const ca = str(values, "ca") === undefined ? undefined : readPem(values, "ca");

  const connection = await connect(values);
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    const { failed } = await fetchAll({
      contracts: connection.contracts,
      signer: connection.signer,
      chainId: BigInt(connection.record.chainId),
      gateways,
      identities,
      outDir,
      timeoutMs: timeout * 1000,
      concurrency,
      fromBlock: connection.record.startBlock ?? 0,
      watch,
      pollMs: poll * 1000,
      signal: stop.signal,
      report: (line) => console.log(logLine(line)),
      ...(ca === undefined ? {} : { ca }),
    });
    return failed > 0 && !watch ? 1 : 0;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    connection.close();
  }
}
