/**
 * The requester's online session, as `veritrace match run` runs it and as code may call it with
 * any ethers Signer (the demo): blind, open the session on the ledger, sign the request's binding
 * to the session, exchange over HTTP, record
 * the provider's signed response, finish, have the result co-signed and record it; after the
 * opening, any failure marks the session failed. docs/psi.md, "Recorded on the ledger".
 */
import { InlineEngine, WORKER_THRESHOLD, withEngine } from "./engine.js";
import { LEDGER_SESSION_HEADER, cosignOverHttp, exchangeWithHeaders } from "./http.js";
import type { IdentifierSet } from "./identifiers.js";
import {
  acceptResponse,
  blindAndOpen,
  recordCosigned,
  requestSignatureHeaders,
  responseSignatureOf,
  resultToCosign,
  signRequest,
  type MatchLedger,
  type OpenedSession,
} from "./ledger.js";
import type { PsiMode } from "./messages.js";
import type { PsiResult } from "./session.js";

export interface OnlineSessionOptions {
  /** The provider's base URL (`match serve`, or `createMatchServer` with `serverHooks()`). */
  peer: string;
  /** The bearer token the provider accepts. */
  token: string;
  /** The requester's identifiers (their type is the session's). */
  identifiers: IdentifierSet;
  mode: PsiMode;
  /**
   * The protocol's session id (the ledger's tag): with the ledger a fresh one
   * (`newSessionTag()`), never used before.
   */
  tag: string;
  /** The ledger and the granted access request the session runs under; null: the protocol alone. */
  ledger: { ledger: MatchLedger; requestId: bigint } | null;
  /** Largest set accepted from the provider; default the protocol's. */
  maxElements?: number;
  /** Worker threads (default one per core for large sets; 0: none). */
  threads?: number;
  /** Time for each exchange, in milliseconds; default 600 000. */
  timeoutMs?: number;
}

/** Runs one session against a provider; the result, and the ledger's session if recorded. */
export async function runOnlineSession(
  options: OnlineSessionOptions,
): Promise<{ result: PsiResult; opened: OpenedSession | null }> {
  const { peer, token, identifiers, mode, tag, threads } = options;
  const ledger = options.ledger?.ledger ?? null;
  const timeoutMs = options.timeoutMs ?? 600_000;
  const limits = options.maxElements === undefined ? {} : { maxElements: options.maxElements };
  // The provider's set size is known only from its response: the engine is sized for our own
  // set, and a larger one is started for unblinding a much larger provider set.
  return withEngine(identifiers.size, threads, (engine) =>
    blindAndOpen(
      { engine, tag, mode, identifiers, ...limits, ledger: options.ledger },
      async ({ requester, blinded, opened }) => {
        const { response, headers } = await exchangeWithHeaders(peer, token, blinded, {
          ...limits,
          timeoutMs,
          headers:
            ledger === null || opened === null
              ? {}
              : {
                  [LEDGER_SESSION_HEADER]: opened.sessionId.toString(),
                  ...requestSignatureHeaders(await signRequest(ledger, opened)),
                },
        });
        if (ledger !== null && opened !== null)
          await acceptResponse(ledger, opened, response, responseSignatureOf(headers));
        const result =
          engine instanceof InlineEngine && response.header.providerCount >= WORKER_THRESHOLD
            ? await withEngine(response.header.providerCount, threads, (larger) =>
                requester.finish(response, { engine: larger }),
              )
            : await requester.finish(response);
        if (ledger !== null && opened !== null) {
          const toCosign = await resultToCosign(ledger, opened, result.responseDigest, result);
          const answer = await cosignOverHttp(peer, token, toCosign, { timeoutMs });
          opened.transactions.result = await recordCosigned(
            ledger,
            toCosign,
            answer,
            opened.provider,
          );
        }
        return { result, opened };
      },
    ),
  );
}
