/**
 * `veritrace exchange serve` (the provider's gateway) and `veritrace exchange fetch` (the
 * requester): deliveries that carry the data, end to end encrypted, bound to the live grant and
 * co-signed on the access ledger. docs/exchange.md describes the protocol; src/exchange/ holds it.
 */
import { readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { KEYSTORE_PASSWORD_ENV } from "../../client/keystore.js";
import { connectInstitution, type InstitutionConnection } from "../../chain/institution.js";
import { createGatewayServer } from "../../exchange/gateway-server.js";
import { DEFAULT_RETENTION, Gateway } from "../../exchange/gateway.js";
import { GatewayAnchoring } from "../../exchange/gateway-log.js";
import { ParticipantClient } from "../../client/roles.js";
import { AccessLogFile } from "../../ledger/access-log.js";
import { fetchDelivery } from "../../exchange/fetch.js";
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
    "--handler CMD --dir DIR --rpc URL --deployment FILE --keystore FILE [--tls-cert FILE --tls-key FILE] [--host HOST] [--port N] [--handler-timeout S] [--poll S] [--offer-ttl S] [--max-downloads N] [--access-log FILE] [--anchor-every N] [--anchor-interval S] [--retention S]",
  help: [
    "  --handler CMD        the command that makes an export (run by /bin/sh -c): the request's",
    "                       fields as JSON on stdin, the export on stdout; a non-zero exit or the",
    "                       timeout refuses the grant (logged, nothing offered). It may write the",
    "                       record count to the file named by $VERITRACE_RECORDS_FILE (default:",
    "                       the export's lines)",
    "  --dir DIR            where the offers (envelopes, signed offers) and the block cursor are kept",
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
    refuseStdout(
      values,
      "access-log",
      "the access log is a file the gateway keeps, locks and continues across restarts",
    );
    const accessLogFile = str(values, "access-log") ?? path.join(dir, "access-log.jsonl");
    const anchorEvery = integer(values, "anchor-every", 1);
    const anchorInterval = integer(values, "anchor-interval", 1);
    const retention = integer(values, "retention") ?? DEFAULT_RETENTION;

    // The log first: a log in use or torn refuses the start before the chain or the password.
    const accessLog = await AccessLogFile.open(accessLogFile);
    let connection: InstitutionConnection;
    try {
      connection = await connect(values);
    } catch (e) {
      accessLog.close();
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
      // Grants are handled one at a time, between polls; downloads are served meanwhile. Each
      // round then purges what is due (the first round at start) and anchors the log if due.
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
    "--request ID --gateway URL --identity FILE --out DIR --rpc URL --deployment FILE --keystore FILE [--sequence N] [--ca FILE] [--timeout S] [--json]",
  help: [
    "  --request ID         the granted request whose delivery to fetch",
    "  --gateway URL        the provider's gateway (https://…; http:// on loopback only)",
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
    "with one line saying why. See docs/exchange.md.",
  ].join("\n"),
  options: {
    ...KEY_OPTIONS,
    ...stringOptions("request", "gateway", "identity", "out", "sequence", "ca", "timeout"),
    ...flagOptions("json"),
  },
  async run(values) {
    const requestText = required(values, "request");
    if (!/^[1-9]\d{0,76}$/.test(requestText))
      throw new UsageError(`--request must be a request id, got ${quote(requestText)}`);
    const gatewayText = required(values, "gateway");
    let gateway: URL;
    try {
      gateway = new URL(gatewayText);
    } catch {
      throw new UsageError(`--gateway must be a URL, got ${quote(gatewayText)}`);
    }
    if (gateway.protocol !== "https:" && gateway.protocol !== "http:")
      throw new UsageError(`--gateway must be an https URL, got ${quote(gatewayText)}`);
    if (gateway.protocol === "http:" && !LOOPBACK.test(gateway.hostname.replace(/^\[|\]$/g, "")))
      throw new UsageError(
        `--gateway: plain HTTP only to a loopback address; use https:// for ${quote(gateway.host)}`,
      );
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
