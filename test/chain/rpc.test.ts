import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { expect } from "chai";
import {
  RangeTooLargeError,
  RpcClient,
  RpcError,
  RpcUnavailableError,
  hasLogShape,
  logDataWords,
  suggestedRange,
  type RpcOptions,
} from "../../src/chain/rpc.js";
import { freePort } from "../../scripts/lib/local-chain.js";
import {
  FAULTS,
  rangeRefusal,
  startRpcProxy,
  type Fault,
  type RangeErrorStyle,
  type RpcProxy,
} from "../helpers/rpc-proxy.js";
import { failure } from "../helpers/tracer.js";

interface Call {
  id: number | string | null;
  method: string;
  params: unknown[];
}
type Answer = { result: unknown } | { error: { code: number; message: string; data?: unknown } };

/** A tiny JSON-RPC node on 127.0.0.1: `answer` decides each call's result or error. */
async function startFakeNode(
  answer: (call: Call) => Answer,
  raw?: (req: IncomingMessage, res: ServerResponse, body: string) => boolean,
): Promise<{ url: string; calls: Call[]; stop(): Promise<void> }> {
  const calls: Call[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      if (raw?.(req, res, body) === true) return;
      const parsed = JSON.parse(body) as Call | Call[];
      const one = (c: Call) => {
        calls.push(c);
        return { jsonrpc: "2.0", id: c.id, ...answer(c) };
      };
      const out = Array.isArray(parsed) ? parsed.map(one) : one(parsed);
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(out));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** What a plain node answers: block 0x2a, an empty log list, an unknown method for the rest. */
function plainNode(call: Call): Answer {
  switch (call.method) {
    case "eth_blockNumber":
      return { result: "0x2a" };
    case "eth_getLogs":
      return { result: [] };
    case "eth_call":
      return { error: { code: 3, message: "execution reverted", data: "0x08c379a0" } };
    default:
      return { error: { code: -32601, message: `the method ${call.method} does not exist` } };
  }
}

/** How the client words each fault in its retry log. */
const REASONS: Record<Fault, RegExp> = {
  http429: /^HTTP 429$/,
  http429RetryAfter: /^HTTP 429$/,
  http500: /^HTTP 500$/,
  http502: /^HTTP 502$/,
  http503: /^HTTP 503$/,
  delay: /^timed out after 150 ms$/,
  truncate: /^unparsable answer \(\d+ bytes\)$/,
  cutConnection: /UND_ERR_SOCKET|ECONNRESET|terminated|other side closed/,
  drop: /UND_ERR_SOCKET|ECONNRESET|other side closed/,
};

describe("RpcClient", function () {
  let node: Awaited<ReturnType<typeof startFakeNode>>;
  let proxy: RpcProxy;
  const retries: { attempt: number; delayMs: number; reason: string }[] = [];
  const client = (options: RpcOptions = {}) =>
    new RpcClient(proxy.url, {
      timeoutMs: 150,
      baseDelayMs: 1,
      maxDelayMs: 20,
      onRetry: (r) => retries.push(r),
      ...options,
    });

  before(async function () {
    node = await startFakeNode(plainNode);
    proxy = await startRpcProxy(node.url);
  });
  after(async function () {
    await proxy.stop();
    await node.stop();
  });
  beforeEach(function () {
    retries.length = 0;
    proxy.configure({});
  });

  describe("retries", function () {
    for (const fault of FAULTS) {
      it(`retries after ${fault} and then succeeds`, async function () {
        proxy.configure({ sequence: [fault, fault], delayMs: 400 });
        const before = proxy.counters.faults[fault];
        const rpc = client();
        expect(await rpc.call<string>("eth_blockNumber")).to.equal("0x2a");
        expect(proxy.counters.faults[fault] - before).to.equal(2);
        expect(rpc.requests).to.equal(3);
        expect(retries.map((r) => r.attempt)).to.deep.equal([1, 2]);
        for (const r of retries) expect(r.reason).to.match(REASONS[fault]);
      });
    }

    it("retries a batch as a whole and returns its answers in order", async function () {
      proxy.configure({ sequence: ["http503", "truncate"] });
      const rpc = client();
      const answers = await rpc.batch<unknown>([
        { method: "eth_blockNumber", params: [] },
        { method: "eth_getLogs", params: [{ fromBlock: "0x1", toBlock: "0x2" }] },
      ]);
      expect(answers).to.deep.equal(["0x2a", []]);
      expect(rpc.requests).to.equal(3);
    });

    it("waits as long as Retry-After asks, capped at maxDelayMs", async function () {
      proxy.configure({ sequence: ["http429RetryAfter", "http429"], retryAfterSeconds: 1 });
      const started = Date.now();
      expect(await client({ maxDelayMs: 120 }).call("eth_blockNumber")).to.equal("0x2a");
      // Retry-After: 1 s, capped at 120 ms; a plain 429 backs off by ~1 ms.
      expect(retries.map((r) => r.delayMs)).to.have.length(2);
      expect(retries[0]?.delayMs).to.equal(120);
      expect(retries[1]?.delayMs).to.be.at.most(2);
      expect(Date.now() - started).to.be.at.least(115);
    });

    it("doubles the backoff on each retry up to maxDelayMs", async function () {
      proxy.configure({ sequence: ["http500", "http500", "http500", "http500", "http500"] });
      await client({ baseDelayMs: 4, maxDelayMs: 20 }).call("eth_blockNumber");
      // Jitter keeps each delay within [50 %, 100 %] of min(maxDelayMs, base · 2^attempt).
      const ceilings = [4, 8, 16, 20, 20];
      retries.forEach((r, i) => {
        const ceiling = ceilings[i] ?? 0;
        expect(r.delayMs).to.be.within(Math.round(ceiling / 2), ceiling);
      });
    });

    it("retries a rate limit reported inside JSON-RPC (HTTP 200, code 429 or -32005)", async function () {
      let refusals = 2;
      const limited = await startFakeNode((call) => {
        if (refusals-- === 2)
          return {
            error: {
              code: 429,
              message: "Your app has exceeded its compute units per second capacity",
            },
          };
        if (refusals === 0)
          return {
            error: { code: -32005, message: "daily request count exceeded, request rate limited" },
          };
        return plainNode(call);
      });
      try {
        const rpc = new RpcClient(limited.url, { baseDelayMs: 1, maxDelayMs: 5 });
        // On eth_getLogs too: Infura's rate limit shares -32005 with its range refusal.
        expect(await rpc.call("eth_getLogs", [{ fromBlock: "0x1", toBlock: "0x1" }])).to.deep.equal(
          [],
        );
        expect(limited.calls).to.have.length(3);
      } finally {
        await limited.stop();
      }
    });
  });

  describe("giving up", function () {
    it("throws RpcUnavailableError naming the URL after maxRetries", async function () {
      proxy.configure({ rates: { http503: 1 } });
      const before = proxy.counters.requests;
      const rpc = client({ maxRetries: 3 });
      const error = await failure(rpc.call("eth_blockNumber"));
      expect(error).to.be.instanceOf(RpcUnavailableError);
      expect((error as Error).message)
        .to.include(proxy.url)
        .and.include("after 4 attempts");
      expect((error as Error).message).to.include("HTTP 503");
      expect(proxy.counters.requests - before).to.equal(4);
      expect(retries).to.have.length(3);
    });

    it("honours a per-call retry budget", async function () {
      proxy.configure({ rates: { drop: 1 } });
      const before = proxy.counters.requests;
      const rpc = client({ maxRetries: 8 });
      const error = await failure(rpc.call("eth_blockNumber", [], 1));
      expect(error).to.be.instanceOf(RpcUnavailableError);
      expect(error.message).to.match(/after 2 attempts/);
      expect(proxy.counters.requests - before).to.equal(2);
    });

    it("gives a first call two attempts when nothing listens at the URL", async function () {
      const url = `http://127.0.0.1:${await freePort()}`;
      const rpc = new RpcClient(url, { maxRetries: 8, baseDelayMs: 1 });
      const error = await failure(rpc.firstCall("eth_chainId"));
      expect(error).to.be.instanceOf(RpcUnavailableError);
      expect(error.message)
        .to.include("ECONNREFUSED")
        .and.match(/after 2 attempts/);
      expect(rpc.requests).to.equal(2);
    });

    it("gives a first call the whole budget while the node answers busy (503, 429, 502, dropped)", async function () {
      // A rate-limited node from the very first request: reachable, so not a wrong URL.
      proxy.configure({
        sequence: ["http503", "http429", "http502", "http429RetryAfter", "drop", "http503"],
        retryAfterSeconds: 0.01,
      });
      const before = proxy.counters.requests;
      const rpc = client({ maxRetries: 8 });
      expect(await rpc.firstCall("eth_blockNumber")).to.equal("0x2a");
      expect(proxy.counters.requests - before).to.equal(7);
      expect(retries.map((r) => r.reason).slice(0, 4)).to.deep.equal([
        "HTTP 503",
        "HTTP 429",
        "HTTP 502",
        "HTTP 429",
      ]);
    });

    it("still gives up on a first call once a busy node exhausts the budget", async function () {
      proxy.configure({ rates: { http429: 1 } });
      const before = proxy.counters.requests;
      const rpc = client({ maxRetries: 3 });
      const error = await failure(rpc.firstCall("eth_chainId"));
      expect(error).to.be.instanceOf(RpcUnavailableError);
      expect(error.message).to.match(/after 4 attempts: HTTP 429/);
      expect(proxy.counters.requests - before).to.equal(4);
    });

    it("throws RpcUnavailableError naming the URL when nothing listens there", async function () {
      const url = `http://127.0.0.1:${await freePort()}`;
      const rpc = new RpcClient(url, { maxRetries: 2, baseDelayMs: 1 });
      const error = await failure(rpc.call("eth_chainId"));
      expect(error).to.be.instanceOf(RpcUnavailableError);
      expect((error as Error).message)
        .to.include(url)
        .and.include("ECONNREFUSED");
      expect(rpc.requests).to.equal(3);
    });

    it("does not retry an HTTP error that is not JSON-RPC (e.g. 404)", async function () {
      const web = await startFakeNode(plainNode, (_req, res) => {
        res.writeHead(404, { "content-type": "text/html" }).end("<h1>Not Found</h1>");
        return true;
      });
      try {
        const rpc = new RpcClient(web.url, { baseDelayMs: 1 });
        const error = await failure(rpc.call("eth_blockNumber"));
        expect(error).to.be.instanceOf(RpcUnavailableError);
        expect(error.message).to.match(/HTTP 404/);
        expect(rpc.requests).to.equal(1);
      } finally {
        await web.stop();
      }
    });
  });

  describe("JSON-RPC errors", function () {
    it("are not retried: RpcError with the method and the code", async function () {
      const before = proxy.counters.requests;
      const error = await failure(client().call("debug_nothing"));
      expect(error).to.be.instanceOf(RpcError).and.not.instanceOf(RangeTooLargeError);
      const e = error as RpcError;
      expect(e.method).to.equal("debug_nothing");
      expect(e.code).to.equal(-32601);
      expect(e.message).to.equal(
        "debug_nothing: the method debug_nothing does not exist (code -32601)",
      );
      expect(proxy.counters.requests - before).to.equal(1);
      expect(retries).to.deep.equal([]);
    });

    it("keep the error's data (a revert reason)", async function () {
      const error = await failure(client().call("eth_call", [{}]));
      expect(error).to.be.instanceOf(RpcError);
      expect((error as RpcError).code).to.equal(3);
      expect((error as RpcError).data).to.equal("0x08c379a0");
    });
  });

  describe("eth_getLogs range refusals", function () {
    const range = [{ address: [], fromBlock: "0x10", toBlock: "0x20f" }];
    for (const style of ["geth", "infura", "alchemy"] as RangeErrorStyle[]) {
      it(`become RangeTooLargeError, not retried (${style} wording)`, async function () {
        proxy.configure({ maxLogsRange: 64, rangeErrorStyles: [style] });
        const before = proxy.counters.requests;
        const error = await failure(client().call("eth_getLogs", range));
        expect(error).to.be.instanceOf(RangeTooLargeError);
        const e = error as RangeTooLargeError;
        expect(e.code).to.equal(rangeRefusal(style, 0x10, 64).code);
        expect(e.suggested).to.deep.equal(style === "geth" ? undefined : { from: 0x10, to: 0x4f });
        expect(proxy.counters.requests - before).to.equal(1);
      });
    }

    it("lets a range within the limit through", async function () {
      proxy.configure({ maxLogsRange: 64 });
      const spans = proxy.counters.getLogsSpans.length;
      const logs = await client().call("eth_getLogs", [{ fromBlock: "0x10", toBlock: "0x4f" }]);
      expect(logs).to.deep.equal([]);
      expect(proxy.counters.getLogsSpans.slice(spans)).to.deep.equal([64]);
    });

    it("only for eth_getLogs: the same words elsewhere are a plain RpcError", async function () {
      const node2 = await startFakeNode(() => ({
        error: { code: -32005, message: "query returned more than 10000 results" },
      }));
      try {
        const rpc = new RpcClient(node2.url);
        const error = await failure(rpc.call("eth_getBlockReceipts", ["0x1"]));
        expect(error).to.be.instanceOf(RpcError).and.not.instanceOf(RangeTooLargeError);
      } finally {
        await node2.stop();
      }
    });

    it("recognises other providers' wordings (Infura, QuickNode, reth, Erigon)", async function () {
      const messages = [
        { code: -32602, message: "range 1000000 exceeds limit of 10000" },
        { code: -32614, message: "eth_getLogs is limited to a 10,000 range" },
        { code: -32602, message: "query exceeds max block range 5000" },
        { code: -32602, message: "query block range exceeds server limit, narrow your filter: 5." },
        {
          code: -32000,
          message:
            "block range is larger than max block range, block range = 5120, max block range = 5000",
        },
      ];
      let next = 0;
      const node2 = await startFakeNode(() => ({
        error: messages[next++] ?? { code: 0, message: "" },
      }));
      try {
        const rpc = new RpcClient(node2.url);
        for (const m of messages) {
          const error = await failure(
            rpc.call("eth_getLogs", [{ fromBlock: "0x0", toBlock: "0xffff" }]),
          );
          expect(error, m.message).to.be.instanceOf(RangeTooLargeError);
          expect((error as RangeTooLargeError).suggested).to.equal(undefined);
        }
      } finally {
        await node2.stop();
      }
    });
  });

  describe("suggestedRange", function () {
    it("finds none in geth's and Besu's refusal", function () {
      expect(suggestedRange("query returned more than 10000 results")).to.equal(undefined);
    });

    it("parses Infura's suggestion", function () {
      expect(
        suggestedRange(
          "query returned more than 10000 results. Try with this block range [0x1, 0x2].",
        ),
      ).to.deep.equal({ from: 1, to: 2 });
    });

    it("parses Alchemy's suggestion", function () {
      expect(
        suggestedRange(
          "Log response size exceeded. You can make eth_getLogs requests with up to a 2K block range and no " +
            "limit on the response size, or you can request any block range with a cap of 10K logs in the " +
            "response. Based on your parameters, this block range should work: [0x0, 0x1f3]",
        ),
      ).to.deep.equal({ from: 0, to: 0x1f3 });
    });

    it("parses a suggestion in the error's data, and decimal numbers", function () {
      expect(suggestedRange("too many logs", { hint: "use [100, 199]" })).to.deep.equal({
        from: 100,
        to: 199,
      });
      expect(suggestedRange("too many logs", "[0x64, 0xc7]")).to.deep.equal({ from: 100, to: 199 });
    });

    it("ignores a reversed or unsafe range", function () {
      expect(suggestedRange("try [0x20, 0x10]")).to.equal(undefined);
      expect(suggestedRange("try [0x0, 0xffffffffffffffffffff]")).to.equal(undefined);
    });
  });
});

describe("hasLogShape", function () {
  const topic = `0x${"11".repeat(32)}`;
  const log = (topics: number, data: string) => ({
    topics: Array<string>(topics).fill(topic),
    data,
  });
  const words = (n: number) => `0x${"00".repeat(32 * n)}`;

  it("counts the topics and the data's 32-byte words exactly", function () {
    expect(hasLogShape(log(3, words(1)), 3, 1)).to.equal(true);
    expect(hasLogShape(log(2, words(1)), 3, 1)).to.equal(false);
    expect(hasLogShape(log(3, words(2)), 3, 1)).to.equal(false);
    expect(hasLogShape(log(1, "0x"), 1, 0)).to.equal(true);
  });

  it("takes more words for an event with dynamic fields, never fewer", function () {
    expect(hasLogShape(log(2, words(9)), 2, 6, true)).to.equal(true);
    expect(hasLogShape(log(2, words(6)), 2, 6, true)).to.equal(true);
    expect(hasLogShape(log(2, words(5)), 2, 6, true)).to.equal(false);
  });

  it("refuses data that is no whole number of words", function () {
    const odd = `${words(1)}00`;
    expect(logDataWords({ data: odd })).to.not.equal(1);
    expect(hasLogShape(log(3, odd), 3, 1)).to.equal(false);
  });
});
