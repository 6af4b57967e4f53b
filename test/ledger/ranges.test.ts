import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { expect } from "chai";
import { Interface, id } from "ethers";
import type { DeploymentRecord } from "../../src/client/deployment.js";
import { Indexer, LOGS_PER_RANGE } from "../../src/ledger/indexer.js";
import { RpcClient } from "../../src/chain/rpc.js";
import { openMemoryDatabase } from "../../src/db/db.js";
import { Store, type RangeWrite } from "../../src/db/store.js";
import { AccessLedger__factory } from "../../types/ethers-contracts/index.js";

const RECORD: DeploymentRecord = {
  version: 1,
  chainId: 31337,
  startBlock: 1,
  contracts: {
    ParticipantRegistry: "0x1000000000000000000000000000000000000001",
    CaseRegistry: "0x2000000000000000000000000000000000000002",
    AccessLedger: "0x3000000000000000000000000000000000000003",
    AccessLogAnchor: "0x4000000000000000000000000000000000000004",
    LabelRegistry: "0x5000000000000000000000000000000000000005",
    FreezeRegistry: "0x6000000000000000000000000000000000000006",
    MatchingLedger: "0x7000000000000000000000000000000000000007",
    EncryptionKeyRegistry: "0x8000000000000000000000000000000000000008",
    ExchangeLedger: "0x9000000000000000000000000000000000000009",
  },
};

const hex = (n: number) => `0x${n.toString(16)}`;
const hashOf = (n: number) => id(`block ${n}`);

interface Chain {
  head: number;
  /** Consortium logs in block n. */
  logsIn(n: number): number;
}

interface FakeNode {
  url: string;
  /** eth_getLogs ranges asked (block spans), in order. */
  spans: number[];
  /** Requests received and requests answered. */
  received: number;
  answered: number;
  stop(): Promise<void>;
}

/**
 * A JSON-RPC node serving a synthetic chain whose blocks hold AccessRequested logs of the
 * deployment's ledger; eth_getLogs answers after `getLogsDelayMs`.
 */
async function startChainNode(chain: Chain, getLogsDelayMs = 0): Promise<FakeNode> {
  const ledger = new Interface(AccessLedger__factory.abi);
  const event = ledger.getEvent("AccessRequested");
  if (event === null) throw new Error("no AccessRequested");
  const block = (n: number) =>
    n < 0 || n > chain.head
      ? null
      : {
          number: hex(n),
          hash: hashOf(n),
          parentHash: n === 0 ? `0x${"00".repeat(32)}` : hashOf(n - 1),
          timestamp: hex(1_767_225_600 + n),
        };
  const logs = (from: number, to: number) => {
    const out: unknown[] = [];
    for (let n = from; n <= Math.min(to, chain.head); n++) {
      for (let i = 0; i < chain.logsIn(n); i++) {
        const { topics, data } = ledger.encodeEventLog(event, [
          n * 10_000 + i,
          1,
          6,
          4,
          2,
          1,
          id(`subject ${n}/${i}`),
          1,
          `0x${"5a".repeat(20)}`,
        ]);
        out.push({
          address: RECORD.contracts.AccessLedger,
          topics,
          data,
          blockNumber: hex(n),
          blockHash: hashOf(n),
          blockTimestamp: hex(1_767_225_600 + n),
          transactionHash: id(`tx ${n}/${i}`),
          transactionIndex: hex(i),
          logIndex: hex(i),
          removed: false,
        });
      }
    }
    return out;
  };
  const node: FakeNode = {
    url: "",
    spans: [],
    received: 0,
    answered: 0,
    stop: async () => undefined,
  };
  const answer = async (method: string, params: unknown[]): Promise<unknown> => {
    switch (method) {
      case "eth_chainId":
        return hex(RECORD.chainId);
      case "eth_getCode":
        return "0x6080";
      case "eth_blockNumber":
        return hex(chain.head);
      case "eth_getBlockByNumber":
        return block(Number(params[0]));
      case "eth_getLogs": {
        const filter = params[0] as { fromBlock: string; toBlock: string };
        const from = Number(filter.fromBlock);
        const to = Number(filter.toBlock);
        node.spans.push(to - from + 1);
        await sleep(getLogsDelayMs);
        return logs(from, to);
      }
      default:
        throw new Error(`unexpected ${method}`);
    }
  };
  const server: Server = createServer((req, res) => {
    node.received++;
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const call = JSON.parse(Buffer.concat(chunks).toString("utf8")) as {
        id: number;
        method: string;
        params: unknown[];
      };
      void answer(call.method, call.params).then((result) => {
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({ jsonrpc: "2.0", id: call.id, result }));
        node.answered++;
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  node.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  node.stop = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return node;
}

describe("Indexer ranges", function () {
  let store: Store;
  beforeEach(async function () {
    store = await Store.open(await openMemoryDatabase());
  });
  afterEach(async function () {
    await store.close();
  });

  it("probes with a small range, shrinks to the log density, doubles where the chain is sparse", async function () {
    // 30 blocks of 600 logs, then 200 empty blocks.
    const node = await startChainNode({ head: 230, logsIn: (n) => (n <= 30 ? 600 : 0) });
    try {
      let writes = 0;
      const indexer = new Indexer(store, new RpcClient(node.url), RECORD, {
        finalityDepth: 0,
        onProgress: () => writes++,
      });
      expect(await indexer.syncOnce()).to.equal(230);
      expect(await store.eventCount()).to.equal(30 * 600);
      expect(indexer.eventCount).to.equal(30 * 600);
      // 10 blocks (6000 logs, over the aim) → 10 × 5000 / 6000 = 8 blocks (4800 logs: kept) → …
      const dense = Math.floor((10 * LOGS_PER_RANGE) / 6000);
      expect(node.spans.slice(0, 4)).to.deep.equal([10, dense, dense, dense]);
      expect(Math.max(...node.spans.map((s) => s * 600).slice(1, 4))).to.be.at.most(LOGS_PER_RANGE);
      // … then, past the dense part, each range twice the one before (the last one cut at the head).
      const sparse = node.spans.slice(5, -1);
      sparse.forEach((s, i) => expect(s).to.equal(2 * (node.spans[4 + i] ?? 0)));
      // One write (transaction and checkpoint) per range.
      expect(writes).to.equal(node.spans.length);
      expect(await store.checkpoint()).to.deep.equal({ blockNumber: 230, blockHash: hashOf(230) });
    } finally {
      await node.stop();
    }
  });

  it("reads the next range while it writes the current one, and leaves no read behind when a write fails", async function () {
    const node = await startChainNode({ head: 60, logsIn: () => 100 }, 150);
    try {
      const write = store.writeRange.bind(store);
      let writes = 0;
      let readingDuringWrite = false;
      store.writeRange = async (w: RangeWrite) => {
        writes++;
        const before = node.received;
        await sleep(50);
        if (node.received > before || node.received > node.answered) readingDuringWrite = true;
        if (writes === 2) throw new Error("disk full");
        return write(w);
      };
      const indexer = new Indexer(store, new RpcClient(node.url), RECORD, { finalityDepth: 0 });
      let error: unknown;
      try {
        await indexer.syncOnce();
      } catch (e) {
        error = e;
      }
      expect((error as Error | undefined)?.message).to.equal("disk full");
      expect(readingDuringWrite).to.equal(true);
      // The read that was ahead had finished when syncOnce gave up: nothing runs on.
      expect(node.answered).to.equal(node.received);
      const received = node.received;
      await sleep(300);
      expect(node.received).to.equal(received);
      // What was written is whole: the first range, up to the checkpoint.
      const cp = await store.checkpoint();
      expect(await store.eventCount()).to.equal(
        ((cp?.blockNumber ?? 0) - RECORD.startBlock + 1) * 100,
      );
    } finally {
      await node.stop();
    }
  });
});
