/**
 * Pieces of the tests of lazy traces, on one chain or across chains: a JSON-RPC client that counts
 * what it asks, a lazy trace of every asset into a store of its own, the addresses whose
 * histories a store holds, and a trace's answer in a form two readings (the streams, lazily) must
 * agree on.
 */
import { RpcClient } from "../../src/chain/rpc.js";
import { openMemoryDatabase, type Database } from "../../src/db/db.js";
import { Store } from "../../src/db/store.js";
import {
  runTrace,
  type RunTraceInput,
  type RunTraceOutput,
} from "../../src/analytics/funds/run.js";
import type { Holding, TaintedEdge } from "../../src/analytics/funds/types.js";

/** A JSON-RPC client that counts what it asks, by method, and keeps each call's parameters. */
export class CountingRpc extends RpcClient {
  readonly asked: { method: string; params: readonly unknown[] }[] = [];
  count(method: string): number {
    return this.asked.filter((c) => c.method === method).length;
  }
  override call<T>(method: string, params: readonly unknown[] = [], retries?: number) {
    this.asked.push({ method, params });
    return super.call<T>(method, params, retries);
  }
  override firstCall<T>(method: string, params: readonly unknown[] = []) {
    this.asked.push({ method, params });
    return super.firstCall<T>(method, params);
  }
  override batch<T>(calls: readonly { method: string; params: readonly unknown[] }[]) {
    this.asked.push(...calls);
    return super.batch<T>(calls);
  }
}

/**
 * A lazy trace of every asset, every block taken as final (finality depth 0, so that all it reads
 * is stored), into a store of its own, closed after it, or into `into`, left open for the test.
 */
export async function lazyTrace(
  input: Omit<RunTraceInput, "db" | "token" | "read" | "finalityDepth">,
  into?: Store,
): Promise<RunTraceOutput> {
  const own = into ?? (await Store.open(await openMemoryDatabase()));
  try {
    return await runTrace({ ...input, db: own.db, token: "all", read: "lazy", finalityDepth: 0 });
  } finally {
    if (into === undefined) await own.close();
  }
}

/** The addresses whose histories a store holds, in any scope. */
export const addressesRead = async (db: Database): Promise<Set<string>> =>
  new Set(
    (await db.query<{ address: string }>("SELECT DISTINCT address FROM address_ranges")).map(
      (r) => r.address,
    ),
  );

/**
 * What a trace across chains must answer alike whichever way it reads: every holding and exit
 * (chain, token, amounts, values, a bridge exit's destinations), the tainted transfers, and the
 * crossings followed with their pairing.
 */
export function crossAnswer(out: RunTraceOutput) {
  const r = out.result;
  const order = (a: unknown[], b: unknown[]) =>
    JSON.stringify(a, big) < JSON.stringify(b, big) ? -1 : 1;
  return {
    seedAsset: r.seedAsset,
    seedAmount: r.seedAmount,
    total: r.total,
    holdings: r.holdings.map(holdingRow).sort(order),
    exits: r.exits
      .map((e) => [e.chainId, e.token, e.address, e.kind, e.amount, e.value, e.destinations])
      .sort(order),
    edges: r.edges.map((e) => [e.chainId, ...edgeRow(e)]).sort(order),
    crossings: (out.crossings ?? [])
      .map((p) => [
        p.deposit.chainId,
        p.deposit.txHash,
        p.deposit.logIndex,
        p.release.chainId,
        p.release.txHash,
        p.release.logIndex,
        p.by,
        p.confidence,
        p.reason,
      ])
      .sort(order),
    skippedCrossings: out.skippedCrossings ?? [],
  };
}

/** A holding as two readings must agree on it: where, what, how much, worth what, how far. */
export const holdingRow = (h: Holding) => [
  h.chainId,
  h.token,
  h.address,
  h.amount,
  h.value,
  h.hops,
];

/**
 * A tainted transfer as two readings must agree on it, but its chain. Ordinals are left out: a
 * lazy reader numbers native movements within their transaction.
 */
export const edgeRow = (e: TaintedEdge) => [
  e.txHash,
  e.token,
  e.from,
  e.to,
  e.amount,
  e.tainted,
  e.fate,
  e.out?.token,
  e.out?.amount,
  e.out?.tainted,
];

const big = (_: string, v: unknown) => (typeof v === "bigint" ? v.toString() : v);
