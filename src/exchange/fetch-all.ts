/**
 * The requester's automatic mode (`veritrace exchange fetch --all`): every request of this
 * institution that is granted, or that an earlier run left unfinished on disk, is fetched from its
 * provider's gateway, delivery after delivery, several requests at once. One report per delivery
 * (fetched, skipped with its reason, failed with its one-line reason); a failure does not stop the
 * others. With `watch`, the ledger is followed for new requests and grants until the signal aborts;
 * a download in progress then stops and keeps its bytes for the next run.
 */
import type { Signer } from "ethers";
import type { ConsortiumContracts } from "../client/deployment.js";
import { oneLine } from "../shared/format.js";
import { fetchDelivery, FetchError, unfinishedSequences, type FetchResult } from "./fetch.js";
import { REQUEST_STATUS } from "./gateway.js";

/** One line of the report. */
export type FetchReport =
  | ({ status: "fetched" } & Record<string, unknown>)
  | { status: "skipped"; requestId: string; provider?: number; reason: string }
  | { status: "failed"; requestId: string; sequence?: number; reason: string; detail: string };

export interface FetchAllOptions {
  contracts: ConsortiumContracts;
  signer: Signer;
  chainId: bigint;
  /** Each provider's gateway (base URL), by participant id. */
  gateways: ReadonlyMap<number, string>;
  identities: readonly string[];
  outDir: string;
  ca?: Buffer;
  timeoutMs?: number;
  /** Requests fetched at once (their deliveries one after the other). */
  concurrency: number;
  /** The deployment's first block: requests and deliveries are looked for from there. */
  fromBlock: number;
  /** Follow the ledger until `signal` aborts; otherwise one pass. */
  watch: boolean;
  pollMs: number;
  signal: AbortSignal;
  report: (line: FetchReport) => void;
}

/** Reasons that a later look at the ledger may change: retried in watch mode. */
const RETRIED = new Set(["no-offer", "gateway", "interrupted", "stopped", "disk", "not-granted"]);

/** The outcome of one pass or of the whole watch: how many deliveries failed. */
export async function fetchAll(o: FetchAllOptions): Promise<{ fetched: number; failed: number }> {
  const { contracts } = o;
  const [participant] = await contracts.registry.activeParticipantOf(await o.signer.getAddress());
  const ours = new Set<bigint>();
  let cursor = o.fromBlock;
  /** Reports already made (watch mode says a skip or a failure once, until it changes). */
  const said = new Set<string>();
  /** Requests not to try again while the ledger's state of them stays as it was. */
  const settled = new Map<bigint, string>();
  let fetched = 0;
  let failed = 0;
  // One key sends every acknowledgement: one at a time, so that their nonces follow each other.
  let queue: Promise<unknown> = Promise.resolve();
  const submitting = <T>(submit: () => Promise<T>): Promise<T> => {
    const next = queue.then(submit, submit);
    queue = next.catch(() => undefined);
    return next;
  };

  const sayOnce = (key: string, line: FetchReport) => {
    if (said.has(key)) return;
    said.add(key);
    o.report(line);
  };

  /** Fetches the deliveries of one request, in sequence, until none is left or one fails. */
  const follow = async (requestId: bigint, gateway: string): Promise<void> => {
    for (;;) {
      if (o.signal.aborted) return;
      let result: FetchResult;
      try {
        result = await fetchDelivery({
          contracts,
          signer: o.signer,
          chainId: o.chainId,
          gateway,
          requestId,
          identities: o.identities,
          outDir: o.outDir,
          fromBlock: o.fromBlock,
          signal: o.signal,
          submitting,
          ...(o.ca === undefined ? {} : { ca: o.ca }),
          ...(o.timeoutMs === undefined ? {} : { timeoutMs: o.timeoutMs }),
        });
      } catch (e) {
        const reason = e instanceof FetchError ? e.reason : "verification";
        const detail = oneLine((e as Error).message);
        if (reason === "no-offer" || reason === "not-granted" || reason === "exists") {
          sayOnce(`${requestId}:${detail}`, {
            status: "skipped",
            requestId: requestId.toString(),
            reason: detail,
          });
        } else {
          if (reason !== "stopped") failed++;
          sayOnce(`${requestId}:${detail}`, {
            status: "failed",
            requestId: requestId.toString(),
            reason,
            detail,
          });
        }
        if (!RETRIED.has(reason)) settled.set(requestId, await ledgerState(requestId));
        return;
      }
      fetched++;
      o.report({
        status: "fetched",
        requestId: result.requestId.toString(),
        sequence: result.sequence,
        deliveryId: result.deliveryId.toString(),
        file: result.file,
        recordCount: result.recordCount.toString(),
        plaintextBytes: result.opened.plaintextBytes,
        payloadHash: result.opened.commitment,
        ciphertextHash: result.opened.ciphertextHash,
        from: result.resumedAt,
        recovered: result.recovered,
      });
    }
  };

  const ledgerState = async (requestId: bigint): Promise<string> => {
    const r = await contracts.access.getRequest(requestId);
    return `${r.status}:${r.deliveries}`;
  };

  const pass = async () => {
    // New requests of ours since the last look.
    const provider = contracts.access.runner?.provider;
    const head = (await provider?.getBlockNumber()) ?? cursor;
    while (cursor <= head) {
      const to = Math.min(head, cursor + 9_999);
      const events = await contracts.access.queryFilter(
        contracts.access.filters.AccessRequested(),
        cursor,
        to,
      );
      for (const e of events) if (e.args.requester === participant) ours.add(e.args.requestId);
      cursor = to + 1;
    }
    const tasks: (() => Promise<void>)[] = [];
    for (const requestId of [...ours].sort((a, b) => (a < b ? -1 : 1))) {
      const r = await contracts.access.getRequest(requestId);
      const state = `${r.status}:${r.deliveries}`;
      if (settled.get(requestId) === state) continue;
      settled.delete(requestId);
      const unfinished = (await unfinishedSequences(o.outDir, requestId)).length > 0;
      if (REQUEST_STATUS[Number(r.status)] !== "Granted" && !unfinished) continue;
      const gateway = o.gateways.get(Number(r.provider));
      if (gateway === undefined) {
        sayOnce(`${requestId}:no-gateway`, {
          status: "skipped",
          requestId: requestId.toString(),
          provider: Number(r.provider),
          reason: `no --gateway for provider ${r.provider}`,
        });
        continue;
      }
      tasks.push(() => follow(requestId, gateway));
    }
    // A small pool: `concurrency` requests at once.
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(o.concurrency, tasks.length) }, async () => {
        while (next < tasks.length && !o.signal.aborted)
          await (tasks[next++] as () => Promise<void>)();
      }),
    );
  };

  await pass();
  while (o.watch && !o.signal.aborted) {
    await new Promise<void>((resolve) => {
      const t = setTimeout(done, o.pollMs);
      function done() {
        clearTimeout(t);
        o.signal.removeEventListener("abort", done);
        resolve();
      }
      o.signal.addEventListener("abort", done);
    });
    if (!o.signal.aborted) await pass();
  }
  return { fetched, failed };
}
