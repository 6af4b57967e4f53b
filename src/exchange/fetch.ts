/**
 * The requester's side of the gateway (docs/exchange.md, "Fetching"): read the offer under a
 * request, check it against the ledger (the request is ours and granted, the offer signed by an
 * active key of the request's provider, sealed to one of our keys, next in sequence), download
 * the envelope (resuming with `Range` where an earlier attempt stopped), open it while checking
 * the binding, the commitment and the ciphertext hash, have the delivery co-signed on the ledger
 * (our `Acknowledgement`, submitted with the provider's `Delivery` signature), and only then move
 * the plaintext into place. Any failure leaves no plaintext behind and says why in one line.
 */
import { createWriteStream } from "node:fs";
import { mkdir, rename, rm, stat } from "node:fs/promises";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import path from "node:path";
import type { Signer, TypedDataDomain } from "ethers";
import type { ConsortiumContracts } from "../client/deployment.js";
import { accessLedgerDomain, signAcknowledgement } from "../client/eip712.js";
import { encryptionKeyById } from "../client/encryption-keys.js";
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
      | "acknowledgement",
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
  };
}

/** Fetches, verifies, acknowledges and writes one delivery. */
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
  const status = REQUEST_STATUS[Number(r.status)] ?? String(r.status);
  if (status !== "Granted")
    throw new FetchError("not-granted", `request ${requestId} is ${status}, not granted`);

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

  // The offer.
  const listed = await get(offersPath(requestId));
  if (listed.statusCode !== 200)
    throw new FetchError(
      "gateway",
      `the gateway refused the offers of request ${requestId}: ${await refusalOf(listed)}`,
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
  const sequence = o.sequence ?? Number(r.deliveries);
  const offer: Offer | undefined = Array.isArray(doc.offers)
    ? doc.offers.find((x) => x?.sequence === sequence)
    : undefined;
  if (offer === undefined)
    throw new FetchError(
      "no-offer",
      `the gateway has no offer ${sequence} under request ${requestId}`,
      "not-found",
    );
  if (sequence < Number(r.deliveries))
    throw new FetchError(
      "acknowledgement",
      `delivery ${sequence} of request ${requestId} is already on the ledger`,
    );

  // The offer, against the ledger.
  const providerKey = checkOffer(offer, requestId, ledgerDomain, domain);
  const [keyOwner, keyActive] = await contracts.registry.keyStatus(providerKey);
  if (keyOwner !== r.provider || !keyActive)
    throw new OfferError(
      `the offer is signed by ${providerKey}, not an active key of the request's provider (institution ${r.provider})`,
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
  const delivery = deliveryOf(offer);
  const expectedBytes = Number(offer.ciphertextBytes);

  await mkdir(o.outDir, { recursive: true });
  const files = fetchFiles(o.outDir, requestId, sequence);
  if (
    await stat(files.plaintext).then(
      () => true,
      () => false,
    )
  )
    throw new FetchError("exists", `${files.plaintext} exists; nothing was overwritten`);

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
      throw new FetchError("gateway", `the gateway refused the envelope: ${await refusalOf(res)}`);
    }
    log({ msg: "downloading", requestId, sequence, from: have, of: expectedBytes });
    // Written chunk by chunk and flushed even when the transfer breaks off, so that the file
    // holds every byte received and the next run resumes after the last of them.
    const out = createWriteStream(files.download, { flags: have === 0 ? "w" : "a", mode: 0o600 });
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
      out.once("error", () => {
        res.destroy();
        resolve(true);
      });
    });
    await new Promise<void>((resolve, reject) =>
      out.end((e?: Error | null) => (e ? reject(e) : resolve())),
    );
    const now = (await stat(files.download)).size;
    downloaded = now - have;
    have = now;
    if (broken || have < expectedBytes)
      throw new FetchError(
        "interrupted",
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
      commitment: delivery.payloadHash,
      ciphertextHash: offer.ciphertextHash,
    });
  } catch (e) {
    await rm(files.download, { force: true });
    throw e;
  }

  // The co-signature on the ledger; the plaintext is kept only with it.
  let deliveryId: bigint;
  try {
    const acknowledgement = await signAcknowledgement(signer, ledgerDomain, delivery);
    deliveryId = await submitDelivery(contracts, signer, delivery, offer.providerSignature, {
      signer: me,
      signature: acknowledgement,
    });
  } catch (e) {
    await rm(files.staged, { force: true });
    throw new FetchError(
      "acknowledgement",
      `the delivery verified but the ledger refused its acknowledgement, so nothing was kept: ${(e as Error).message.split("\n")[0]}`,
    );
  }
  await rename(files.staged, files.plaintext);
  await rm(files.download, { force: true });
  return {
    requestId,
    sequence,
    deliveryId,
    file: files.plaintext,
    recordCount: delivery.recordCount,
    opened,
    downloaded,
    resumedAt,
  };
}
