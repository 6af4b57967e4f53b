/**
 * The requester's side of the gateway (docs/exchange.md, "Fetching"): read the offer under a
 * request, check it against the ledger (the request is ours and granted, the offer signed by an
 * active key of the request's provider, sealed to one of our keys, next in sequence), download
 * the envelope (resuming with `Range` where an earlier attempt stopped), open it while checking
 * the binding, the commitment and the ciphertext hash, have the delivery co-signed on the ledger
 * (our `Acknowledgement`, submitted with the provider's `Delivery` signature), and only then move
 * the plaintext into place. Any failure leaves no plaintext behind and says why in one line.
 *
 * A run that stopped after the acknowledgement landed but before the rename is finished by the
 * next one: the ledger already holds the delivery, so the envelope kept on disk is opened again and
 * checked against the ledger's `payloadHash`, and the plaintext moved into place; nothing is
 * submitted twice. The signed offer is kept beside the download for that (`….offer.json`), so the
 * recovery needs neither the gateway nor a live grant.
 */
import { createWriteStream } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import path from "node:path";
import type { Signer, TypedDataDomain } from "ethers";
import type { ConsortiumContracts } from "../client/deployment.js";
import { accessLedgerDomain, signAcknowledgement } from "../client/eip712.js";
import { publicKeyOfIdentity } from "../client/age-keys.js";
import { encryptionKeyById } from "../client/encryption-keys.js";
import { ledgerOfferOf } from "../client/exchange-ledger.js";
import { submitDelivery } from "../client/roles.js";
import { VeritraceError } from "../shared/errors.js";
import { openEnvelopeFile, type OpenedEnvelope } from "./envelope.js";
import { REQUEST_STATUS } from "./gateway.js";
import {
  checkOffer,
  deliveryOf,
  envelopePath,
  gatewayDomain,
  offersPath,
  OfferError,
  signedRequestHeaders,
  type Offer,
  type OffersDocument,
} from "./protocol.js";

/** A fetch that could not complete; the message is one line. */
export class FetchError extends VeritraceError {
  override name = "FetchError";
  constructor(
    readonly reason:
      | "not-ours"
      | "not-granted"
      | "no-offer"
      | "gateway"
      | "interrupted"
      | "misaddressed"
      | "exists"
      | "acknowledgement"
      | "disk"
      | "stopped",
    message: string,
    kind: "conflict" | "unavailable" | "verification-failed" | "not-found" = "conflict",
  ) {
    super(message, { kind });
  }
}

export interface FetchOptions {
  contracts: ConsortiumContracts;
  /** A signing key of the requesting institution, connected to the node. */
  signer: Signer;
  chainId: bigint;
  /** The provider's gateway: its base URL. */
  gateway: string;
  requestId: bigint;
  /** The requester's age identities (its current key's, and older ones). */
  identities: readonly string[];
  /** Where the plaintext is written. */
  outDir: string;
  /** The offer's sequence; default: the next one the ledger expects. */
  sequence?: number;
  /** Certificates to trust for the gateway (PEM), beside the system's. */
  ca?: Buffer;
  /** Time for each HTTP exchange without progress, in milliseconds. Default 60 000. */
  timeoutMs?: number;
  /** Progress lines (JSON), if wanted. */
  log?: (entry: Record<string, unknown>) => void;
  /** The first block to look for the ledger's deliveries from (the deployment's). Default 0. */
  fromBlock?: number;
  /** Aborts a download in progress (the bytes received are kept for the next run). */
  signal?: AbortSignal;
  /**
   * Runs the acknowledgement's submission: fetches sharing a key pass one that runs them one at a
   * time (a key's transactions take consecutive nonces). Default: runs it.
   */
  submitting?: <T>(submit: () => Promise<T>) => Promise<T>;
}

export interface FetchResult {
  requestId: bigint;
  sequence: number;
  deliveryId: bigint;
  file: string;
  recordCount: bigint;
  opened: OpenedEnvelope;
  /** Bytes downloaded by this run (less than the file when it resumed). */
  downloaded: number;
  resumedAt: number;
  /** Whether the ledger already held the delivery (an earlier run's acknowledgement), so none was sent. */
  recovered: boolean;
}

/** The one-line problem detail of a gateway's refusal, or the status alone. */
async function refusalOf(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of res as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > 16_384) break;
    chunks.push(c);
  }
  try {
    const p = JSON.parse(Buffer.concat(chunks).toString("utf8")) as {
      detail?: unknown;
      code?: unknown;
    };
    if (typeof p.detail === "string") return `${p.detail} (${res.statusCode} ${String(p.code)})`;
  } catch {
    // Not a problem document.
  }
  return `HTTP ${res.statusCode}`;
}

/** The file names of a delivery in `outDir`: the plaintext, and the envelope being downloaded. */
export function fetchFiles(outDir: string, requestId: bigint, sequence: number) {
  const base = `request-${requestId}-delivery-${sequence}`;
  return {
    plaintext: path.join(outDir, `${base}.data`),
    download: path.join(outDir, `.${base}.age.download`),
    staged: path.join(outDir, `.${base}.data.verified`),
    offer: path.join(outDir, `.${base}.offer.json`),
  };
}

const exists = (file: string): Promise<boolean> =>
  stat(file).then(
    () => true,
    () => false,
  );

/** Errors of the disk, not of the transfer: the data received is kept for a later run. */
const DISK_ERRORS = new Set(["ENOSPC", "EFBIG", "EDQUOT", "EROFS", "EIO", "EACCES", "EPERM"]);
const diskError = (e: unknown): e is NodeJS.ErrnoException =>
  DISK_ERRORS.has(String((e as NodeJS.ErrnoException)?.code));

/**
 * The sequences under `requestId` that an earlier run left unfinished in `outDir` (a download, a
 * staged plaintext or a kept offer without the plaintext), lowest first.
 */
export async function unfinishedSequences(outDir: string, requestId: bigint): Promise<number[]> {
  let names: string[];
  try {
    names = await readdir(outDir);
  } catch {
    return [];
  }
  const re = new RegExp(
    `^\\.request-${requestId}-delivery-(\\d+)\\.(?:age\\.download|data\\.verified|offer\\.json)$`,
  );
  const found = new Set<number>();
  for (const n of names) {
    const m = re.exec(n);
    if (m === null) continue;
    const s = Number(m[1]);
    if (!names.includes(`request-${requestId}-delivery-${s}.data`)) found.add(s);
  }
  return [...found].sort((a, b) => a - b);
}

/** The ledger's delivery `sequence` under `requestId`, or null while it has none. */
async function attestedDelivery(
  contracts: ConsortiumContracts,
  requestId: bigint,
  sequence: number,
  fromBlock: number,
): Promise<{ deliveryId: bigint; payloadHash: string } | null> {
  const { access } = contracts;
  const events = await access.queryFilter(
    access.filters.DeliveryAttested(undefined, requestId),
    fromBlock,
  );
  const e = events.find((x) => Number(x.args.delivery.sequence) === sequence);
  return e === undefined
    ? null
    : { deliveryId: e.args.deliveryId, payloadHash: e.args.delivery.payloadHash.toLowerCase() };
}

/**
 * Fetches, verifies, acknowledges and writes one delivery; or finishes one whose acknowledgement
 * an earlier run left on the ledger (see the module's comment).
 */
export async function fetchDelivery(o: FetchOptions): Promise<FetchResult> {
  const { contracts, signer, requestId } = o;
  const log = o.log ?? (() => {});
  const timeoutMs = o.timeoutMs ?? 60_000;
  const base = new URL(o.gateway);
  const accessLedger = await contracts.access.getAddress();
  const ledgerDomain: TypedDataDomain = accessLedgerDomain(o.chainId, accessLedger);
  const domain = gatewayDomain(o.chainId, accessLedger);
  const me = await signer.getAddress();
  const [participant] = await contracts.registry.activeParticipantOf(me);

  const r = await contracts.access.getRequest(requestId);
  if (r.status === 0n) throw new FetchError("not-ours", `no request ${requestId}`, "not-found");
  if (r.requester !== participant)
    throw new FetchError(
      "not-ours",
      `request ${requestId} is institution ${r.requester}'s, not this key's (institution ${participant})`,
    );

  // An unfinished earlier run is finished first: its acknowledgement may be on the ledger already.
  const sequence =
    o.sequence ??
    (await unfinishedSequences(o.outDir, requestId)).find((s) => s < Number(r.deliveries)) ??
    Number(r.deliveries);
  const files = fetchFiles(o.outDir, requestId, sequence);
  // A run killed while opening leaves its temporary plaintext (`.….data.verified.PID.….partial`,
  // see envelope.ts): unverified, it is removed.
  const stray = `${path.basename(files.staged)}.`;
  for (const name of await readdir(o.outDir).catch(() => [] as string[]))
    if (name.startsWith(stray) && name.endsWith(".partial"))
      await rm(path.join(o.outDir, name), { force: true });
  const onLedger =
    sequence < Number(r.deliveries)
      ? await attestedDelivery(contracts, requestId, sequence, o.fromBlock ?? 0)
      : null;

  if (await exists(files.plaintext)) {
    if (onLedger !== null)
      for (const f of [files.download, files.staged, files.offer]) await rm(f, { force: true });
    throw new FetchError("exists", `${files.plaintext} exists; nothing was overwritten`);
  }
  if (onLedger === null) {
    // What the ledger already refuses, refused here before the gateway is asked; a partial
    // download that can never be completed is dropped.
    const status = REQUEST_STATUS[Number(r.status)] ?? String(r.status);
    let refusal: string | undefined;
    if (status !== "Granted") refusal = `request ${requestId} is ${status}, not granted`;
    else {
      const head = await contracts.access.runner?.provider?.getBlock("latest");
      if (head && BigInt(head.timestamp) >= r.grantExpiresAt)
        refusal = `the grant of request ${requestId} expired at ${new Date(Number(r.grantExpiresAt) * 1000).toISOString()}`;
      else if (!(await contracts.cases.isActive(r.caseId)))
        refusal = `case ${r.caseId} of request ${requestId} is not open (closed or expired)`;
    }
    if (refusal !== undefined) {
      for (const f of [files.download, files.staged, files.offer]) await rm(f, { force: true });
      throw new FetchError("not-granted", refusal);
    }
  }

  /** A signed GET of `p`; the response, or a FetchError with the gateway's reason. */
  const get = async (p: string, headers: Record<string, string> = {}): Promise<IncomingMessage> => {
    const url = new URL(p, base);
    const signed = await signedRequestHeaders(signer, domain, {
      method: "GET",
      path: url.pathname,
      requestId,
    });
    const send = url.protocol === "https:" ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = send(
        url,
        {
          method: "GET",
          headers: { ...signed, ...headers },
          ...(o.ca === undefined ? {} : { ca: o.ca }),
        },
        resolve,
      );
      req.setTimeout(timeoutMs, () =>
        req.destroy(new Error(`no answer within ${timeoutMs / 1000} s`)),
      );
      req.once("error", (e) =>
        reject(
          new FetchError(
            "gateway",
            `the gateway at ${base.origin} can't be reached: ${e.message}`,
            "unavailable",
          ),
        ),
      );
      req.end();
    });
  };
  const missing =
    onLedger === null
      ? ""
      : `delivery ${sequence} of request ${requestId} is acknowledged on the ledger but its envelope is no longer in ${o.outDir}, and `;

  // The offer: the one kept by an earlier run, else the gateway's.
  let offer: Offer | undefined;
  try {
    offer = JSON.parse(await readFile(files.offer, "utf8")) as Offer;
  } catch {
    offer = undefined;
  }
  if (offer === undefined) {
    const listed = await get(offersPath(requestId));
    if (listed.statusCode !== 200)
      throw new FetchError(
        "gateway",
        `${missing}the gateway refused the offers of request ${requestId}: ${await refusalOf(listed)}`,
      );
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of listed as AsyncIterable<Buffer>) {
      size += c.length;
      if (size > 1_048_576)
        throw new FetchError("gateway", "the gateway's list of offers is larger than 1 MiB");
      chunks.push(c);
    }
    let doc: OffersDocument;
    try {
      doc = JSON.parse(Buffer.concat(chunks).toString("utf8")) as OffersDocument;
    } catch {
      throw new FetchError("gateway", "the gateway's list of offers is not JSON");
    }
    offer = Array.isArray(doc.offers)
      ? doc.offers.find((x) => x?.sequence === sequence)
      : undefined;
    if (offer === undefined)
      throw new FetchError(
        "no-offer",
        `${missing}the gateway has no offer ${sequence} under request ${requestId}`,
        "not-found",
      );
  }

  // The offer, against the ledger (again for a kept one: the file is only a cache).
  const providerKey = checkOffer(offer, requestId, ledgerDomain, domain);
  if (offer.sequence !== sequence)
    throw new OfferError(
      `the offer kept in ${files.offer} is of sequence ${offer.sequence}, not ${sequence}`,
    );
  if (onLedger === null) {
    const [keyOwner, keyActive] = await contracts.registry.keyStatus(providerKey);
    if (keyOwner !== r.provider || !keyActive)
      throw new OfferError(
        `the offer is signed by ${providerKey}, not an active key of the request's provider (institution ${r.provider})`,
      );
    // The provider recorded the offer on ExchangeLedger before serving it: the ciphertext's hash
    // and size, the commitment and the key it is sealed to must be the ones recorded, and live.
    const recorded = await ledgerOfferOf(contracts, requestId, sequence);
    const differs =
      recorded === null
        ? "it has none"
        : recorded.state !== "offered"
          ? `it was purged (${recorded.purgeReason ?? "?"})`
          : recorded.ciphertextHash !== offer.ciphertextHash.toLowerCase()
            ? `its ciphertext hash is ${recorded.ciphertextHash}`
            : recorded.ciphertextBytes !== BigInt(offer.ciphertextBytes)
              ? `its ciphertext is ${recorded.ciphertextBytes} bytes`
              : recorded.payloadHash !== offer.delivery.payloadHash.toLowerCase()
                ? `its commitment is ${recorded.payloadHash}`
                : recorded.recipientKeyId !== BigInt(offer.recipientKeyId)
                  ? `it is sealed to key ${recorded.recipientKeyId}`
                  : null;
    if (differs !== null)
      throw new OfferError(
        `the gateway's offer ${sequence} of request ${requestId} is not the one ExchangeLedger records: ${differs}`,
      );
  } else if (offer.delivery.payloadHash.toLowerCase() !== onLedger.payloadHash)
    throw new OfferError(
      `the offer's payloadHash ${offer.delivery.payloadHash} is not the one the ledger holds for delivery ${sequence} of request ${requestId} (${onLedger.payloadHash})`,
    );
  if (
    BigInt(offer.caseId) !== r.caseId ||
    offer.provider !== Number(r.provider) ||
    offer.requester !== Number(r.requester)
  )
    throw new OfferError(
      `the offer names case ${offer.caseId}, provider ${offer.provider}, requester ${offer.requester}: not request ${requestId}'s`,
    );
  const recipient = await encryptionKeyById(contracts, BigInt(offer.recipientKeyId)).catch(
    () => null,
  );
  if (recipient === null || recipient.participantId !== Number(participant))
    throw new FetchError(
      "misaddressed",
      `the offer is sealed to encryption key ${offer.recipientKeyId}${recipient === null ? " (unknown)" : ` of institution ${recipient.participantId}`}, not to institution ${participant}'s`,
      "verification-failed",
    );
  // The key it is sealed to must be among ours given: said before anything is downloaded (after a
  // rotation, the old key's identity still opens what was sealed to it, if it was kept).
  const held = await Promise.all(o.identities.map((id) => publicKeyOfIdentity(id).catch(() => "")));
  if (!held.includes(recipient.publicKey))
    throw new FetchError(
      "misaddressed",
      `the envelope is sealed to encryption key ${recipient.keyId} (${recipient.recipient}${recipient.validUntil === null ? "" : `, this institution's until ${new Date(recipient.validUntil * 1000).toISOString()}`}) and none of the identities given is of that key`,
      "verification-failed",
    );
  const delivery = deliveryOf(offer);
  const expectedBytes = Number(offer.ciphertextBytes);
  await mkdir(o.outDir, { recursive: true });
  if (!(await exists(files.offer)))
    await writeFile(files.offer, `${JSON.stringify(offer)}\n`, { mode: 0o600 });

  // The envelope, resumed where an earlier run stopped.
  let have = await stat(files.download).then(
    (s) => s.size,
    () => 0,
  );
  if (have > expectedBytes) {
    await rm(files.download, { force: true });
    have = 0;
  }
  const resumedAt = have;
  let downloaded = 0;
  if (have < expectedBytes) {
    if (o.signal?.aborted)
      throw new FetchError(
        "stopped",
        `stopped before downloading request ${requestId}'s delivery ${sequence}`,
        "unavailable",
      );
    const res = await get(
      envelopePath(requestId, sequence),
      have > 0 ? { range: `bytes=${have}-` } : {},
    );
    if (res.statusCode === 200) {
      have = 0;
    } else if (res.statusCode === 206) {
      const start = /^bytes (\d+)-\d+\/\d+$/.exec(res.headers["content-range"] ?? "")?.[1];
      if (start === undefined || Number(start) !== have) {
        res.destroy();
        throw new FetchError(
          "gateway",
          `the gateway answered the range from byte ${start ?? "?"}, not ${have}`,
        );
      }
    } else {
      throw new FetchError(
        "gateway",
        `${missing}the gateway refused the envelope: ${await refusalOf(res)}`,
      );
    }
    log({ msg: "downloading", requestId, sequence, from: have, of: expectedBytes });
    // Written chunk by chunk and flushed even when the transfer breaks off, so that the file
    // holds every byte received and the next run resumes after the last of them.
    const out = createWriteStream(files.download, { flags: have === 0 ? "w" : "a", mode: 0o600 });
    let writeError: NodeJS.ErrnoException | undefined;
    const abort = () => res.destroy();
    o.signal?.addEventListener("abort", abort);
    // Flowing mode: every chunk received is handed over before a broken connection's error (an
    // async iterator would drop what it had buffered).
    const broken = await new Promise<boolean>((resolve) => {
      res.on("data", (c: Buffer) => {
        if (!out.write(c)) {
          res.pause();
          out.once("drain", () => res.resume());
        }
      });
      res.once("end", () => resolve(!res.complete));
      res.once("error", () => resolve(true));
      res.once("aborted", () => resolve(true));
      res.once("close", () => resolve(!res.complete));
      out.once("error", (e) => {
        writeError = e;
        res.destroy();
        resolve(true);
      });
    });
    o.signal?.removeEventListener("abort", abort);
    if (writeError === undefined)
      await new Promise<void>((resolve) =>
        out.end((e?: Error | null) => {
          if (e) writeError = e;
          resolve();
        }),
      );
    else out.destroy();
    const now = await stat(files.download).then(
      (s) => s.size,
      () => 0,
    );
    downloaded = now - have;
    have = now;
    if (writeError !== undefined)
      throw new FetchError(
        "disk",
        `cannot write the envelope to ${files.download} after ${have} of ${expectedBytes} bytes: ${writeError.code ?? writeError.message}; the bytes kept are resumed from by the next run`,
        "unavailable",
      );
    if (broken || have < expectedBytes)
      throw new FetchError(
        o.signal?.aborted ? "stopped" : "interrupted",
        `the transfer stopped after ${have} of ${expectedBytes} bytes; run the command again to resume`,
        "unavailable",
      );
  }

  // Open and verify; a file that fails is discarded (downloading it again gives the same file).
  let opened: OpenedEnvelope;
  try {
    opened = await openEnvelopeFile(files.download, files.staged, o.identities, {
      binding: {
        chainId: o.chainId,
        accessLedger,
        requestId,
        caseId: r.caseId,
        provider: Number(r.provider),
        requester: Number(r.requester),
        sequence,
        recipientKeyId: BigInt(offer.recipientKeyId),
      },
      commitment: onLedger?.payloadHash ?? delivery.payloadHash,
      ciphertextHash: offer.ciphertextHash,
    });
  } catch (e) {
    await rm(files.staged, { force: true });
    // A disk that refuses the plaintext is no fault of the envelope: it is kept for a later run.
    if (diskError(e))
      throw new FetchError(
        "disk",
        `cannot write the plaintext in ${o.outDir}: ${e.code}; the verified envelope is kept for the next run`,
        "unavailable",
      );
    await rm(files.download, { force: true });
    await rm(files.offer, { force: true });
    throw e;
  }

  // The co-signature on the ledger; the plaintext is kept only with it.
  let deliveryId: bigint;
  if (onLedger !== null) {
    deliveryId = onLedger.deliveryId;
    log({ msg: "already acknowledged", requestId, sequence, deliveryId });
  } else
    try {
      const acknowledgement = await signAcknowledgement(signer, ledgerDomain, delivery);
      const submit = () =>
        submitDelivery(contracts, signer, delivery, offer.providerSignature, {
          signer: me,
          signature: acknowledgement,
        });
      deliveryId = await (o.submitting ? o.submitting(submit) : submit());
    } catch (e) {
      await rm(files.staged, { force: true });
      throw new FetchError(
        "acknowledgement",
        `the delivery verified but the ledger refused its acknowledgement, so nothing was kept: ${(e as Error).message.split("\n")[0]}`,
      );
    }
  await rename(files.staged, files.plaintext);
  await rm(files.download, { force: true });
  await rm(files.offer, { force: true });
  return {
    requestId,
    sequence,
    deliveryId,
    file: files.plaintext,
    recordCount: delivery.recordCount,
    opened,
    downloaded,
    resumedAt,
    recovered: onLedger !== null,
  };
}
