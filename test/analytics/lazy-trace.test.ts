/**
 * Lazy traces (`runTrace` with `read: "lazy"`, src/analytics/funds/lazy.ts): read only the
 * histories of the addresses the taint reaches, and give the answer of the whole stream. Played on
 * a small generated chain behind a real JSON-RPC server (scripts/lib/rpc-chain.ts: about 100,000
 * ERC-20 transfers and a laundering), on the same chain behind a node that refuses wide ranges,
 * on a node without trace_filter, and on anvil for the native coin (internal transfers and fees).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { hexlify, JsonRpcProvider, randomBytes, Wallet } from "ethers";
import {
  runTrace,
  type RunTraceInput,
  type RunTraceOutput,
} from "../../src/analytics/funds/run.js";
import { NO_TRACE_FILTER } from "../../src/analytics/funds/histories.js";
import { TAINT_MODELS, type TaintModelName } from "../../src/analytics/funds/taint.js";
import { importTagPacks } from "../../src/analytics/labels/store.js";
import { RpcClient } from "../../src/chain/rpc.js";
import { openMemoryDatabase, type Database } from "../../src/db/db.js";
import { Store } from "../../src/db/store.js";
import {
  serveChain,
  TOKEN,
  type ChainSpec,
  type RunningChain,
} from "../../scripts/lib/rpc-chain.js";
import { startAnvil } from "../../scripts/lib/anvil.js";
import type { LocalChain } from "../../scripts/lib/local-chain.js";
import { Forwarder__factory } from "../../types/ethers-contracts/index.js";

const UNIT = 10n ** 18n;
const SPEC: ChainSpec = {
  seed: 7,
  chainId: 31_999,
  addresses: 2048,
  sendsPerAddress: 48,
  perBlock: 96,
  seedAt: 0.3,
  layers: 16,
  maxHolders: 60,
  layerBlocks: 20,
  exchanges: 4,
  leakShare: 0.1,
};

/** Per model: poison would taint the whole background through the leaks: it stops at 3 hops. */
const OPTIONS: Record<TaintModelName, Partial<RunTraceInput>> = {
  haircut: { minAmount: 100n * UNIT },
  fifo: { minAmount: 100n * UNIT },
  poison: { minAmount: 100n * UNIT, maxHops: 3 },
};

/** What two traces must agree on: amounts, where taint is, and every transfer that carried it. */
function answer(out: RunTraceOutput) {
  const r = out.result;
  return {
    seedAmount: r.seedAmount,
    total: r.total,
    beyondHopLimit: r.beyondHopLimit,
    belowMinimum: r.belowMinimum,
    holdings: r.holdings.map((h) => [h.address, h.amount, h.hops, h.received]),
    exits: r.exits.map((e) => [e.address, e.kind, e.amount, e.hops, e.depositOf?.address]),
    edges: r.edges.map((e) => [e.txHash, e.txIndex, e.from, e.to, e.amount, e.tainted, e.fate]),
    warnings: r.warnings.map((w) => [w.code, w.address]),
  };
}

async function labeledStore(dir: string, exchanges: readonly string[]): Promise<Database> {
  const store = await Store.open(await openMemoryDatabase());
  const tagpack = path.join(dir, `exchanges-${exchanges.length}.yaml`);
  writeFileSync(
    tagpack,
    [
      "title: Lazy trace test exchanges",
      "creator: Veritrace tests",
      "source: https://example.org/exchanges",
      "currency: ETH",
      "tags:",
      ...exchanges.flatMap((a, i) => [
        `- address: '${a}'`,
        `  label: Exchange ${i + 1}`,
        "  category: exchange",
      ]),
      "",
    ].join("\n"),
  );
  await importTagPacks(store.db, [tagpack]);
  return store.db;
}

describe("lazy traces", function () {
  let chain: RunningChain;
  let tmp: string;
  /** The store of the whole stream, read once for every model. */
  let streamDb: Database | undefined;
  const seedTx = () => chain.rpc.chain.laundering.seedTx;
  const calls = (method: string) => chain.rpc.stats.calls[method] ?? 0;

  before(async function () {
    chain = await serveChain(SPEC, { latencyMs: 0 });
    tmp = mkdtempSync(path.join(os.tmpdir(), "veritrace-lazy-"));
  });
  after(async function () {
    await chain.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  const trace = async (
    db: Database,
    model: TaintModelName,
    read: "lazy" | "stream",
    more: Partial<RunTraceInput> = {},
    url = chain.url,
  ) =>
    runTrace({
      rpc: new RpcClient(url),
      db,
      token: TOKEN,
      seed: seedTx(),
      model,
      read,
      ...OPTIONS[model],
      ...more,
    });

  for (const model of TAINT_MODELS)
    it(`${model}: gives the whole stream's holdings, exits and tainted transfers, reading a part`, async function () {
      const exchanges = chain.rpc.chain.laundering.exchanges;
      streamDb ??= await labeledStore(tmp, exchanges);
      const stream = await trace(streamDb, model, "stream");
      const lazy = await trace(await labeledStore(tmp, exchanges), model, "lazy");
      expect(answer(lazy)).to.deep.equal(answer(stream));
      expect(lazy.result.holdings.length + lazy.result.exits.length).to.be.greaterThan(10);
      // The exchanges' deposit addresses are among what both found (the lazy one once read whole).
      expect(lazy.result.exits.filter((e) => e.depositOf !== undefined)).to.not.be.empty;
      // The stream read everything from the seed's block on; the lazy trace a part of it.
      expect(lazy.result.stats.transfers).to.be.lessThan(stream.result.stats.transfers / 2);
    });

  it("two seeds (the theft and what its victim kept): the stream's answer, each seed's share", async function () {
    const { victim, seedBlock } = chain.rpc.chain.laundering;
    const exchanges = chain.rpc.chain.laundering.exchanges;
    const seed = [seedTx(), `${victim}@${seedBlock}`];
    streamDb ??= await labeledStore(tmp, exchanges);
    const stream = await trace(streamDb, "haircut", "stream", { seed });
    const lazy = await trace(await labeledStore(tmp, exchanges), "haircut", "lazy", { seed });
    expect(lazy.result.seeds).to.have.length(2);
    expect(answer(lazy)).to.deep.equal(answer(stream));
    const shares = (out: RunTraceOutput) =>
      [...out.result.holdings, ...out.result.exits].map((x) => ({ at: x.address, by: x.bySeed }));
    expect(shares(lazy)).to.deep.equal(shares(stream));
    // Both seeds left taint somewhere, each named by its share.
    const named = new Set(shares(lazy).flatMap((x) => (x.by ?? []).map((b) => b.seed)));
    expect(named.size).to.equal(2);
    expect(lazy.result.stats.transfers).to.be.lessThan(stream.result.stats.transfers / 2);
  });

  it("reuses what it read: a second trace over the same addresses asks no logs and no balances", async function () {
    const db = await labeledStore(tmp, chain.rpc.chain.laundering.exchanges);
    const first = await trace(db, "haircut", "lazy", { finalityDepth: 0 });
    const logs = calls("eth_getLogs");
    const balances = calls("eth_call");
    const second = await trace(db, "haircut", "lazy", { finalityDepth: 0 });
    expect(calls("eth_getLogs")).to.equal(logs);
    // One eth_call: the token's decimals, for the report.
    expect(calls("eth_call")).to.equal(balances + 1);
    expect(second.ingest.rows).to.equal(0);
    expect(answer(second)).to.deep.equal(answer(first));
  });

  it("stores only final blocks: above the finality depth, every trace reads again", async function () {
    const db = await labeledStore(tmp, chain.rpc.chain.laundering.exchanges);
    await trace(db, "fifo", "lazy");
    const head = chain.rpc.chain.head;
    const rows = await db.query<{ top: string | number }>(
      "SELECT max(to_block) AS top FROM address_ranges",
    );
    expect(Number(rows[0]?.top)).to.equal(head - 64);
    const final = chain.rpc.stats.finalGetLogs;
    const logs = calls("eth_getLogs");
    await trace(db, "fifo", "lazy");
    expect(chain.rpc.stats.finalGetLogs).to.equal(final);
    expect(calls("eth_getLogs")).to.be.greaterThan(logs);
  });

  it("adapts to a node that refuses wide block ranges and large answers", async function () {
    const strict = await serveChain(SPEC, { latencyMs: 0, maxBlockRange: 60, maxResults: 150 });
    try {
      const exchanges = chain.rpc.chain.laundering.exchanges;
      const loose = await trace(await labeledStore(tmp, exchanges), "haircut", "lazy");
      const narrow = await trace(
        await labeledStore(tmp, exchanges),
        "haircut",
        "lazy",
        { lazy: { batch: 50 } },
        strict.url,
      );
      expect(answer(narrow)).to.deep.equal(answer(loose));
      expect(strict.rpc.stats.refused).to.be.greaterThan(0);
    } finally {
      await strict.close();
    }
  });

  it("refuses the native coin in one line on a node without trace_filter", async function () {
    const bare = await serveChain(SPEC, { latencyMs: 0, traces: false });
    try {
      const victim = bare.rpc.chain.laundering.victim;
      const db = (await Store.open(await openMemoryDatabase())).db;
      let error: Error | undefined;
      try {
        await runTrace({
          rpc: new RpcClient(bare.url),
          db,
          token: "native",
          seed: `${victim}@${bare.rpc.chain.laundering.seedBlock}`,
          model: "haircut",
          read: "lazy",
        });
      } catch (e) {
        error = e as Error;
      }
      expect(error?.message).to.equal(NO_TRACE_FILTER);
      expect(error?.message).not.to.include("\n");
    } finally {
      await bare.close();
    }
  });

  describe("the native coin on anvil (trace_filter, internal transfers, fees)", function () {
    let node: LocalChain;
    let seed: string;
    let forwarder: string;

    before(async function () {
      node = await startAnvil();
      const provider = new JsonRpcProvider(node.url, undefined, { staticNetwork: true });
      const rpc = new RpcClient(node.url);
      const wallets = new Map<string, Wallet>();
      // Nonces counted here: the provider's view of a just-mined account can lag behind.
      const nonces = new Map<string, number>();
      const nonce = (name: string) => {
        const n = nonces.get(name) ?? 0;
        nonces.set(name, n + 1);
        return n;
      };
      const wallet = async (name: string) => {
        let w = wallets.get(name);
        if (w === undefined) {
          w = new Wallet(hexlify(randomBytes(32)), provider);
          await rpc.call("anvil_setBalance", [w.address, `0x${(20n * UNIT).toString(16)}`]);
          wallets.set(name, w);
        }
        return w;
      };
      const send = async (from: string, to: string, amount: bigint) => {
        const tx = await (
          await wallet(from)
        ).sendTransaction({
          to: (await wallet(to)).address,
          value: amount,
          nonce: nonce(from),
        });
        return (await tx.wait())?.hash ?? "";
      };
      const deployer = await wallet("deployer");
      const contract = await new Forwarder__factory(deployer).deploy({ nonce: nonce("deployer") });
      await contract.waitForDeployment();
      forwarder = (await contract.getAddress()).toLowerCase();
      await send("X", "Y", 2n * UNIT); // before the theft: unrelated
      seed = await send("V", "A", 10n * UNIT);
      await send("A", "B", 3n * UNIT);
      const fwd = await contract
        .connect(await wallet("A"))
        .forward([(await wallet("C")).address, (await wallet("D")).address], [2n * UNIT, UNIT], {
          value: 3n * UNIT,
          nonce: nonce("A"),
        });
      await fwd.wait();
      await send("X", "A", 4n * UNIT); // clean funds mixed in
      await send("C", "E", UNIT);
      await send("B", "A", UNIT); // a cycle
      await send("A", "F", 18n * UNIT); // FIFO: past A's older clean funds, into the stolen ones
      await send("Y", "Z", UNIT); // unrelated
    });
    after(async function () {
      await node.stop();
    });

    for (const model of TAINT_MODELS)
      it(`${model}: the same answer as reading every block`, async function () {
        const run = async (read: "lazy" | "stream") =>
          runTrace({
            rpc: new RpcClient(node.url),
            db: (await Store.open(await openMemoryDatabase())).db,
            token: "native",
            seed,
            model,
            read,
          });
        const stream = await run("stream");
        const lazy = await run("lazy");
        // Ordinals are left out of the answer: the lazy reader numbers a native transaction's
        // movements within the transaction (it reads only some of a block's transactions).
        expect(answer(lazy)).to.deep.equal(answer(stream));
        // The forwarder's internal transfers carried taint (FIFO: A paid it with its older, clean
        // funds), and fees left as exits of kind fee.
        const r = lazy.result;
        expect(r.edges.some((e) => e.from === forwarder)).to.equal(model !== "fifo");
        expect(r.exits.some((e) => e.kind === "fee")).to.equal(true);
        expect(r.holdings.length).to.be.greaterThan(1);
      });
  });
});
