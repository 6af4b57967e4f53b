import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { writeDeployment } from "../../src/client/index.js";
import { Indexer, type IndexerOptions } from "../../src/ledger/indexer.js";
import { RpcClient, RpcUnavailableError, type RpcOptions } from "../../src/chain/rpc.js";
import { openMemoryDatabase } from "../../src/db/db.js";
import { Store } from "../../src/db/store.js";
import { FAULTS, startRpcProxy, type Fault, type RpcProxy } from "../helpers/rpc-proxy.js";
import {
  failure,
  freshIndex,
  runVeritrace,
  snapshotStore,
  startConsortiumNode,
  type ConsortiumNode,
  type StoreSnapshot,
} from "../helpers/tracer.js";

/** Small delays keep a faulty sync fast; the timeout is well below the proxy's delay fault. */
const CLIENT: RpcOptions = { baseDelayMs: 5, maxDelayMs: 50, timeoutMs: 500 };
const FINALITY = 10;
const MAX_LOGS_RANGE = 8;

describe("Indexer through a faulty RPC endpoint", function () {
  let node: ConsortiumNode;
  let proxy: RpcProxy;
  let reference: StoreSnapshot;
  let store: Store;

  before(async function () {
    node = await startConsortiumNode("anvil");
    await node.activity(12, 6);
    // The reference: the same chain indexed straight from the node, no proxy.
    reference = await freshIndex(node.url, node.record, { finalityDepth: FINALITY });
    proxy = await startRpcProxy(node.url);
  });
  after(async function () {
    await proxy?.stop();
    await node?.stop();
  });
  beforeEach(async function () {
    proxy.configure({});
    store = await Store.open(await openMemoryDatabase());
  });
  afterEach(async function () {
    await store.close();
  });

  it("has a few hundred events to index", function () {
    expect(reference.events.length).to.be.within(200, 1000);
    expect(reference.checkpoint?.blockNumber).to.be.greaterThan(200);
  });

  it("stores exactly what an index without faults stores, whatever fault the endpoint injects", async function () {
    const logs: Record<string, unknown>[] = [];
    let retries = 0;
    const rpc = new RpcClient(proxy.url, { ...CLIENT, onRetry: () => retries++ });
    const indexer = new Indexer(store, rpc, node.record, {
      finalityDepth: FINALITY,
      onLog: (e) => logs.push(e),
    });
    await indexer.start();
    const faults0 = proxy.faultCount();
    const spans0 = proxy.counters.getLogsSpans.length;
    const refusals0 = { ...proxy.counters.rangeRefusals };
    // 4 % of the requests for each fault class (2.5 % for delays, which each cost a timeout).
    const rates = Object.fromEntries(
      FAULTS.map((f) => [f, f === "delay" ? 0.025 : 0.04]),
    ) as Record<Fault, number>;
    proxy.configure({
      seed: 20240611,
      rates,
      delayMs: 800,
      retryAfterSeconds: 1,
      maxLogsRange: MAX_LOGS_RANGE,
    });

    const indexedTo = await indexer.syncOnce();

    expect(indexedTo).to.equal(reference.checkpoint?.blockNumber);
    expect(await snapshotStore(store)).to.deep.equal(reference);
    // Every fault class was injected, and the client retried after each one.
    for (const f of FAULTS) expect(proxy.counters.faults[f], f).to.be.greaterThan(0);
    // (More retries than faults only if the loaded machine made a plain request time out.)
    expect(retries).to.be.at.least(proxy.faultCount() - faults0);
    // Refusals with and without a suggested range made the indexer shrink its range; no range it
    // then asked for was larger than the endpoint takes.
    const suggested = proxy.counters.rangeRefusals.suggested - refusals0.suggested;
    const unsuggested = proxy.counters.rangeRefusals.unsuggested - refusals0.unsuggested;
    expect(suggested).to.be.greaterThan(0);
    expect(unsuggested).to.be.greaterThan(0);
    expect(logs.filter((e) => e["msg"] === "range shrunk")).to.have.length(suggested + unsuggested);
    expect(Math.max(...proxy.counters.getLogsSpans.slice(spans0))).to.equal(MAX_LOGS_RANGE);
  });

  it("veritrace index starts through a node that answers busy from its very first request", async function () {
    // 503, 429 (with and without Retry-After), 502 and a dropped connection before anything
    // gets through: the node is reachable and busy, so the start-up retries as the sync does.
    proxy.configure({
      sequence: ["http503", "http429", "http502", "http429RetryAfter", "drop", "http503"],
      retryAfterSeconds: 1,
    });
    const dir = mkdtempSync(path.join(tmpdir(), "veritrace-storm-"));
    try {
      const record = path.join(dir, "deployment.json");
      writeDeployment(record, node.record);
      const before = proxy.counters.requests;
      const faults0 = proxy.faultCount();
      const result = await runVeritrace([
        "index",
        "--rpc",
        proxy.url,
        "--deployment",
        record,
        "--db",
        path.join(dir, "db"),
        "--finality",
        String(FINALITY),
      ]);
      expect(result.stderr).to.not.match(/error/i);
      expect(result.code).to.equal(0);
      expect(result.stdout).to.include(
        `indexed up to block ${reference.checkpoint?.blockNumber}: ${reference.events.length} new events`,
      );
      // All six faults hit the start-up's first request, and the run went on past them.
      expect(proxy.faultCount() - faults0).to.equal(6);
      expect(proxy.counters.requests - before).to.be.greaterThan(7);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("resumes from the checkpoint after the endpoint went down mid-sync", async function () {
    const options: IndexerOptions = { finalityDepth: FINALITY, initialRange: 8, maxRange: 8 };
    const getLogs = () => proxy.counters.methods["eth_getLogs"] ?? 0;

    // An uninterrupted run, for the number of eth_getLogs calls a whole sync takes.
    let before = getLogs();
    const whole = await Store.open(await openMemoryDatabase());
    try {
      await new Indexer(whole, new RpcClient(proxy.url, CLIENT), node.record, options).syncOnce();
    } finally {
      await whole.close();
    }
    const wholeCalls = getLogs() - before;

    // The endpoint goes down for good after a dozen ranges: the sync stops with a clear error.
    let ranges = 0;
    const first = new Indexer(
      store,
      new RpcClient(proxy.url, { ...CLIENT, maxRetries: 2 }),
      node.record,
      {
        ...options,
        onProgress: () => {
          if (++ranges === 12) proxy.configure({ rates: { http503: 1 } });
        },
      },
    );
    const error = await failure(first.syncOnce());
    expect(error).to.be.instanceOf(RpcUnavailableError);
    expect(error.message).to.include(proxy.url);
    const partial = await snapshotStore(store);
    const stoppedAt = partial.checkpoint?.blockNumber ?? -1;
    expect(stoppedAt).to.be.greaterThan(node.record.startBlock);
    expect(stoppedAt).to.be.lessThan(reference.checkpoint?.blockNumber ?? 0);
    // What was stored is exactly the reference up to the checkpoint: nothing half-written.
    expect(partial.events).to.deep.equal(
      reference.events.filter((e) => e.block_number <= stoppedAt),
    );

    // Back up: a new indexer on the same store reads on from the checkpoint, not from the start.
    proxy.configure({});
    before = getLogs();
    const again = new Indexer(store, new RpcClient(proxy.url, CLIENT), node.record, options);
    await again.syncOnce();
    const resumedCalls = getLogs() - before;
    expect(await snapshotStore(store)).to.deep.equal(reference);
    expect(resumedCalls).to.be.greaterThan(0);
    expect(resumedCalls).to.be.lessThan(wholeCalls);
    expect(again.eventCount).to.equal(reference.events.length - partial.events.length);
  });
});
