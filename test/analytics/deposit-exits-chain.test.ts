/**
 * Deposit addresses as the trace's exits, on a real chain (anvil): an ERC-20 world with an
 * exchange's hot wallet H labeled in a TagPack. A holds 400 clean before the seed; the seed T → A
 * brings 600 tainted; A pays 500 into D, a customer's deposit address, which forwards 495 to H (a
 * fee of 5). The trace stops at D (an exit of kind exchange, "deposit address of Exchange H", the
 * forward as its evidence, confidence 1) and H gets nothing of this flow; with deposit addresses
 * turned off, the exit is H as before. Amounts are worked out by hand per model below.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { expect } from "chai";
import { importTagPacks } from "../../src/analytics/labels/store.js";
import { runTrace, type RunTraceOutput } from "../../src/analytics/funds/run.js";
import { toDot } from "../../src/analytics/funds/graph.js";
import type { TaintModelName } from "../../src/analytics/funds/taint.js";
import { answerTrace } from "../../src/api/routes/trace.js";
import { Trace, TraceRequest } from "../../src/api/wire.js";
import { openMemoryDatabase } from "../../src/db/db.js";
import { Store } from "../../src/db/store.js";
import { ExchangeWorld } from "../helpers/exchange-world.js";
import { runVeritrace } from "../helpers/tracer.js";

const ROLES = ["T", "A", "D", "H"] as const;
type Role = (typeof ROLES)[number];

let world: ExchangeWorld<Role>;
let store: Store;
const addr = (role: Role) => world.addr(role);
const tx = (name: string) => world.tx(name);

/**
 * By hand. A's funds before its payment to D: 400 clean (older), 600 tainted.
 * - poison: A → D 500 is tainted whole; D → H 495 too (D keeps 5, its whole balance); A holds 500.
 * - haircut: A → D carries floor(500 · 600 / 1000) = 300; D → H floor(495 · 300 / 500) = 297
 *   (D keeps 3); A holds 300.
 * - fifo: A → D takes the clean 400 then 100 tainted; D → H takes those 400 clean then 95 tainted
 *   (D keeps 5); A holds 500.
 */
const EXPECTED: Record<TaintModelName, { a: bigint; d: bigint; h: bigint; kept: bigint }> = {
  poison: { a: 500n, d: 500n, h: 495n, kept: 5n },
  haircut: { a: 300n, d: 300n, h: 297n, kept: 3n },
  fifo: { a: 500n, d: 100n, h: 95n, kept: 5n },
};

const trace = (model: TaintModelName, depositAddresses?: boolean): Promise<RunTraceOutput> =>
  runTrace({
    rpc: world.rpc,
    db: store.db,
    token: world.tokenAddress,
    seed: tx("seed"),
    model,
    depositAddresses,
  });

const amounts = (list: readonly { address: string; amount: bigint }[]) =>
  list.map((x) => [x.address, x.amount]);

describe("deposit addresses as exits on a real chain", function () {
  before(async function () {
    world = await ExchangeWorld.start(ROLES, { role: "H", label: "Exchange H" });
    await world.mint("A", 400n);
    await world.mint("T", 600n);
    await world.send("seed", "T", "A", 600n);
    await world.send("pay", "A", "D", 500n);
    await world.send("forward", "D", "H", 495n); // short by a fee of 5 (1 %)
    store = await Store.open(await openMemoryDatabase());
    await importTagPacks(store.db, [world.tagpack]);
  });

  after(async function () {
    await store?.close();
    await world?.stop();
  });

  for (const model of ["poison", "haircut", "fifo"] as const) {
    const e = EXPECTED[model];
    it(`${model}: the exit is the deposit address D (${e.d}), with its forward and confidence; H gets nothing`, async function () {
      const { result } = await trace(model);
      expect(result.exits).to.have.length(1);
      const exit = result.exits[0];
      expect(exit).to.deep.include({
        address: addr("D"),
        kind: "exchange",
        label: "deposit address of Exchange H",
        amount: e.d,
        hops: 1,
        depositOf: { address: addr("H"), label: "Exchange H" },
        evidence: [tx("forward")],
        confidence: 1,
      });
      expect(result.edges.some((x) => x.to === addr("H"))).to.equal(false);
      expect(amounts(result.holdings)).to.deep.equal([[addr("A"), e.a]]);
    });

    it(`${model}: without deposit addresses the exit is the hot wallet H (${e.h}), as before`, async function () {
      const { result } = await trace(model, false);
      expect(result.exits.map((x) => [x.address, x.kind, x.label, x.amount])).to.deep.equal([
        [addr("H"), "exchange", "Exchange H", e.h],
      ]);
      expect(result.exits[0]).not.to.have.property("depositOf");
      const holdings = new Map(amounts(result.holdings) as [string, bigint][]);
      expect(holdings.get(addr("A"))).to.equal(e.a);
      expect(holdings.get(addr("D"))).to.equal(e.kept);
    });
  }

  it("the graph labels the deposit address as such", async function () {
    const { result } = await trace("haircut");
    const dot = toDot(result);
    expect(dot).to.include("deposit address of Exchange H");
    expect(dot).to.include("exchange exit");
  });

  it("veritrace trace --json names the deposit address; --no-deposit-addresses the hot wallet", async function () {
    const run = async (...extra: string[]) => {
      const r = await runVeritrace([
        "trace",
        ...["--rpc", world.chain.url, "--token", world.tokenAddress, "--seed", tx("seed")],
        ...[
          "--model",
          "haircut",
          "--labels",
          world.tagpack,
          "--db",
          path.join(world.tmp, `db-${extra.length}`),
        ],
        ...extra,
        "--json",
      ]);
      expect(r.code, r.stderr).to.equal(0);
      return JSON.parse(r.stdout.trim().split("\n").at(-1) ?? "") as { exits: unknown[] };
    };
    expect((await run()).exits).to.deep.equal([
      {
        chainId: 31337,
        token: world.tokenAddress.toLowerCase(),
        address: addr("D"),
        label: "deposit address of Exchange H",
        amount: "300",
        value: "300",
        depositOf: { address: addr("H"), label: "Exchange H" },
        evidence: [tx("forward")],
        confidence: 1,
      },
    ]);
    expect((await run("--no-deposit-addresses")).exits).to.deep.equal([
      {
        chainId: 31337,
        token: world.tokenAddress.toLowerCase(),
        address: addr("H"),
        label: "Exchange H",
        amount: "297",
        value: "297",
      },
    ]);
  });

  it("veritrace trace --freeze-drafts writes the exchange's draft naming the deposit address and its evidence", async function () {
    const file = path.join(world.tmp, "drafts.json");
    const r = await runVeritrace([
      "trace",
      ...["--rpc", world.chain.url, "--token", world.tokenAddress, "--seed", tx("seed")],
      ...["--model", "haircut", "--labels", world.tagpack],
      ...["--db", path.join(world.tmp, "db-drafts"), "--freeze-drafts", file],
    ]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.include(`freeze request drafts written to ${file}`);
    expect(JSON.parse(readFileSync(file, "utf8"))).to.deep.equal({
      version: "veritrace-freeze-draft/1",
      model: "haircut",
      seeds: [tx("seed")],
      seedAsset: world.tokenAddress.toLowerCase(),
      drafts: [
        {
          exchange: { address: addr("H"), label: "Exchange H" },
          items: [
            {
              chainId: 31337,
              token: world.tokenAddress.toLowerCase(),
              account: addr("D"),
              amount: "300",
              value: "300",
              evidence: [tx("forward")],
              confidence: 1,
            },
          ],
        },
      ],
    });
    // A folder that does not exist: one line, no file.
    const bad = await runVeritrace([
      "trace",
      ...["--rpc", world.chain.url, "--token", world.tokenAddress, "--seed", tx("seed")],
      ...["--model", "haircut", "--db", path.join(world.tmp, "db-drafts2")],
      ...["--freeze-drafts", path.join(world.tmp, "nowhere", "drafts.json"), "--json"],
    ]);
    expect(bad.code).to.not.equal(0);
    expect(bad.stderr.trim().split("\n"), bad.stderr).to.have.length(1);
    expect(bad.stderr).to.match(/cannot write freeze drafts to /);
  });

  it("POST /trace answers with the deposit address's exit in the published schema, and without it on request", async function () {
    const request = { token: world.tokenAddress, seed: tx("seed"), model: "fifo" };
    const answer = Trace.parse(
      await answerTrace(store, world.chain.url, TraceRequest.parse(request)),
    );
    const d = answer.nodes.find((n) => n.address === addr("D"));
    expect(d?.exit).to.deep.equal({
      kind: "exchange",
      amount: "100",
      label: "deposit address of Exchange H",
      depositOf: { address: addr("H"), label: "Exchange H" },
      evidence: [tx("forward")],
      confidence: 1,
    });
    expect(answer.nodes.map((n) => n.address)).not.to.include(addr("H"));
    expect(answer.summary.exits).to.have.length(1);
    const off = Trace.parse(
      await answerTrace(
        store,
        world.chain.url,
        TraceRequest.parse({ ...request, depositAddresses: false }),
      ),
    );
    expect(off.summary.exits).to.deep.equal([
      {
        chainId: 31337,
        token: world.tokenAddress.toLowerCase(),
        address: addr("H"),
        label: "Exchange H",
        amount: "95",
        value: "95",
      },
    ]);
  });
});
