/**
 * Pieces of the tests of lazy traces across chains: a JSON-RPC client that counts what it asks,
 * and a trace's answer in a form two readings (the streams, lazily) must agree on.
 */
import { RpcClient } from "../../src/chain/rpc.js";
import type { RunTraceOutput } from "../../src/analytics/funds/run.js";

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
    holdings: r.holdings
      .map((h) => [h.chainId, h.token, h.address, h.amount, h.value, h.hops])
      .sort(order),
    exits: r.exits
      .map((e) => [e.chainId, e.token, e.address, e.kind, e.amount, e.value, e.destinations])
      .sort(order),
    // Ordinals are left out: a lazy reader numbers native movements within their transaction.
    edges: r.edges
      .map((e) => [
        e.chainId,
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
      ])
      .sort(order),
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

const big = (_: string, v: unknown) => (typeof v === "bigint" ? v.toString() : v);
