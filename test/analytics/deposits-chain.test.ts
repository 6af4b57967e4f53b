/**
 * Exchange deposit addresses on a real chain (anvil): an ERC-20 world with an exchange's hot wallet
 * labeled in a TagPack, two customers paying into deposit addresses that forward to it (one
 * forward short by a fee, one sweeping two deposits), a decoy that forwards too late (beyond τ),
 * one that forwards half of what it received (beyond α), and a user who pays the hot wallet
 * directly. The module and `veritrace cluster` must find exactly the two deposit addresses, with
 * the evidence written down here as the transactions were sent, and link the senders of the same
 * deposit address; bad input is refused in one line.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { expect } from "chai";
import { importTagPacks } from "../../src/analytics/labels/store.js";
import { clusterAddresses, planCluster } from "../../src/analytics/cluster/run.js";
import { parseFraction } from "../../src/analytics/cluster/deposits.js";
import { openMemoryDatabase } from "../../src/db/db.js";
import { Store } from "../../src/db/store.js";
import { ExchangeWorld } from "../helpers/exchange-world.js";
import { runVeritrace, type CommandResult } from "../helpers/tracer.js";

/** τ of these tests: the late decoy forwards 63 blocks after its inflow. */
const TAU = 50;

const ROLES = ["H", "U1", "U1b", "D1", "U2", "D2", "U3", "L", "U4", "M", "P"] as const;
type Role = (typeof ROLES)[number];

let world: ExchangeWorld<Role>;
const addr = (role: Role) => world.addr(role);
const tx = (name: string) => world.tx(name);
const block = (name: string) => world.block(name);

const cluster = (args: string[], db: string) =>
  runVeritrace([
    "cluster",
    ...args,
    "--rpc",
    world.chain.url,
    "--token",
    world.tokenAddress,
    "--db",
    db,
  ]);

function lastJson(r: CommandResult): Record<string, unknown> {
  expect(r.code, r.stderr).to.equal(0);
  return JSON.parse(r.stdout.trim().split("\n").at(-1) ?? "") as Record<string, unknown>;
}

interface LinkJson {
  sender: string;
  depositAddress: string;
  exchange: string;
  inflow: { txHash: string; block: number; amount: string };
  forward: {
    txHash: string;
    block: number;
    to: string;
    amount: string;
    received: string;
    blocksApart: number;
  };
}

interface ResultJson {
  address: string;
  depositAddress: { address: string; senders: string[]; share: string } | null;
  cluster: {
    members: string[];
    depositAddresses: { address: string }[];
    links: LinkJson[];
  };
}

/** The link the scenario made: sender → deposit address (inflow) → hot wallet (forward). */
function link(
  sender: Role,
  deposit: Role,
  inflow: [name: string, amount: number],
  forward: [name: string, amount: number, received: number, firstInflow: string],
): LinkJson {
  return {
    sender: addr(sender),
    depositAddress: addr(deposit),
    exchange: "Exchange H",
    inflow: { txHash: tx(inflow[0]), block: block(inflow[0]), amount: String(inflow[1]) },
    forward: {
      txHash: tx(forward[0]),
      block: block(forward[0]),
      to: addr("H"),
      amount: String(forward[1]),
      received: String(forward[2]),
      blocksApart: block(forward[0]) - block(forward[3]),
    },
  };
}

describe("exchange deposit addresses on a real chain", function () {
  before(async function () {
    world = await ExchangeWorld.start(ROLES, { role: "H", label: "Exchange H" });
    for (const role of ["U1", "U1b", "U2", "U3", "U4", "P"] as const) await world.mint(role, 1000n);
    await world.send("a1", "U1", "D1", 1000n);
    await world.send("f1", "D1", "H", 995n); // short by a fee of 5 (0.5 %)
    await world.send("a2", "U2", "D2", 300n);
    await world.send("a3", "U2", "D2", 200n);
    await world.send("f2", "D2", "H", 500n); // sweeps both deposits
    await world.send("a4", "U4", "M", 600n);
    await world.send("f3", "M", "H", 300n); // half of what came in: beyond α
    await world.send("direct", "P", "H", 250n); // pays the exchange directly
    await world.send("a5", "U3", "L", 700n);
    await world.send("a6", "U1b", "D1", 400n);
    await world.send("f4", "D1", "H", 398n); // short by 2
    await world.rpc.call("anvil_mine", [`0x${(TAU + 10).toString(16)}`]);
    await world.send("f5", "L", "H", 700n); // 63 blocks after its inflow: beyond τ
  });

  after(async function () {
    await world?.stop();
  });

  describe("findDepositAddresses through clusterAddresses (store, labels, chain)", function () {
    let store: Store;
    before(async function () {
      store = await Store.open(await openMemoryDatabase());
      await importTagPacks(store.db, [world.tagpack]);
    });
    after(async function () {
      await store?.close();
    });

    const run = async (maxBlocks: number, addresses: Role[] = [], tolerance?: string) => {
      const plan = await planCluster(world.rpc, { token: world.tokenAddress });
      return clusterAddresses({
        rpc: world.rpc,
        db: store.db,
        plan,
        addresses: addresses.map(addr),
        maxBlocks,
        tolerance: tolerance === undefined ? undefined : parseFraction(tolerance),
      });
    };

    it("finds exactly the two deposit addresses, with the forwards that prove them", async function () {
      const r = await run(TAU);
      expect(r.deposits.map((d) => d.address)).to.deep.equal([addr("D1"), addr("D2")].sort());
      const d1 = r.deposits.find((d) => d.address === addr("D1"));
      const d2 = r.deposits.find((d) => d.address === addr("D2"));
      expect(d1?.exchange).to.deep.equal({
        address: addr("H"),
        label: "Exchange H",
        forwarded: 1393n,
        forwards: 2,
      });
      expect([
        d1?.received,
        d1?.matched,
        d1?.shareBasisPoints,
        d1?.unmatchedForwards,
      ]).to.deep.equal([1400n, 1400n, 10_000, 0]);
      expect(d1?.senders).to.deep.equal([addr("U1"), addr("U1b")].sort());
      expect(
        d1?.forwards.map((f) => [f.txHash, f.amount, f.received, f.shortBy, f.blocksApart]),
      ).to.deep.equal([
        [tx("f1"), 995n, 1000n, 5n, 1],
        [tx("f4"), 398n, 400n, 2n, 1],
      ]);
      expect(
        d1?.forwards.map((f) => f.inflows.map((i) => [i.txHash, i.from, i.amount])),
      ).to.deep.equal([[[tx("a1"), addr("U1"), 1000n]], [[tx("a6"), addr("U1b"), 400n]]]);
      // One forward carries both deposits on: a sweep, 2 blocks after the first.
      expect(d2?.forwards).to.have.length(1);
      const sweep = d2?.forwards[0];
      expect([
        sweep?.txHash,
        sweep?.amount,
        sweep?.received,
        sweep?.shortBy,
        sweep?.blocksApart,
      ]).to.deep.equal([tx("f2"), 500n, 500n, 0n, block("f2") - block("a2")]);
      expect(sweep?.inflows.map((i) => [i.txHash, i.amount])).to.deep.equal([
        [tx("a2"), 300n],
        [tx("a3"), 200n],
      ]);
      expect(d2?.senders).to.deep.equal([addr("U2")]);
    });

    it("the decoys and the direct payer are no deposit addresses, and belong to no cluster", async function () {
      const r = await run(TAU, ["L", "M", "P", "H"]);
      for (const c of r.clusters) {
        expect(c.depositAddress, c.address).to.equal(null);
        expect(c.cluster.links, c.address).to.deep.equal([]);
      }
    });

    it("τ and α are what keep the decoys out: a τ as long as the late one's wait takes it, an α of 0.5 the short one", async function () {
      const wait = block("f5") - block("a5");
      expect(wait).to.equal(TAU + 13);
      const wider = await run(wait);
      expect(wider.deposits.map((d) => d.address)).to.include(addr("L"));
      const justShort = await run(wait - 1);
      expect(justShort.deposits.map((d) => d.address)).to.not.include(addr("L"));
      // M forwarded 300 of 600: exactly α = 0.5 short, which is within.
      const loose = await run(TAU, [], "0.5");
      expect(loose.deposits.map((d) => d.address)).to.include(addr("M"));
    });

    it("links the senders of one deposit address into one customer", async function () {
      const [u1, d2] = (await run(TAU, ["U1", "D2"])).clusters;
      expect(u1?.depositAddress).to.equal(null);
      expect(u1?.cluster.members).to.deep.equal([addr("U1"), addr("U1b")].sort());
      expect(u1?.cluster.depositAddresses.map((d) => d.address)).to.deep.equal([addr("D1")]);
      expect(
        u1?.cluster.links.map((l) => [l.sender, l.inflow.txHash, l.forward.txHash]),
      ).to.deep.equal([
        [addr("U1"), tx("a1"), tx("f1")],
        [addr("U1b"), tx("a6"), tx("f4")],
      ]);
      expect(d2?.depositAddress?.address).to.equal(addr("D2"));
      expect(d2?.cluster.members).to.deep.equal([addr("U2")]);
    });
  });

  describe("veritrace cluster", function () {
    let db: string;
    before(function () {
      db = path.join(world.tmp, "db");
    });

    it("--json: the cluster of a customer, with every link's transactions", async function () {
      const json = lastJson(
        await cluster(
          [
            addr("U1b"),
            world.wallet("D2").address, // checksummed, as a user may paste it
            addr("P"),
            "--labels",
            world.tagpack,
            "--max-blocks",
            String(TAU),
            "--json",
          ],
          db,
        ),
      );
      expect(json["maxBlocks"]).to.equal(TAU);
      expect(json["tolerance"]).to.equal("0.01");
      expect(json["depositAddresses"]).to.equal(2);
      const [u1b, d2, p] = json["results"] as ResultJson[];
      expect(u1b?.depositAddress).to.equal(null);
      expect(u1b?.cluster.members).to.deep.equal([addr("U1"), addr("U1b")].sort());
      expect(u1b?.cluster.links).to.deep.equal([
        link("U1", "D1", ["a1", 1000], ["f1", 995, 1000, "a1"]),
        link("U1b", "D1", ["a6", 400], ["f4", 398, 400, "a6"]),
      ]);
      expect(d2?.address).to.equal(addr("D2"));
      expect(d2?.depositAddress?.share).to.equal("100.00%");
      expect(d2?.depositAddress?.senders).to.deep.equal([addr("U2")]);
      expect(d2?.cluster.links).to.deep.equal([
        link("U2", "D2", ["a2", 300], ["f2", 500, 500, "a2"]),
        link("U2", "D2", ["a3", 200], ["f2", 500, 500, "a2"]),
      ]);
      expect(p).to.deep.equal({
        address: addr("P"),
        depositAddress: null,
        cluster: { members: [], depositAddresses: [], links: [] },
      });
    });

    it("for people: the deposit address, the same customer, the links", async function () {
      const r = await cluster([addr("U1"), addr("D1"), addr("L"), "--max-blocks", String(TAU)], db);
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout).to.match(/: 2 found$/m);
      expect(r.stdout).to.include(
        `${addr("U1")}: paid into deposit address(es) ${addr("D1")} (Exchange H)`,
      );
      expect(r.stdout).to.include(`  same customer: ${addr("U1b")}`);
      expect(r.stdout).to.include(`${addr("D1")}: deposit address of Exchange H (${addr("H")})`);
      expect(r.stdout).to.include(`${addr("L")}: no deposit address found`);
      expect(r.stdout).to.include(tx("f4"));
    });

    it("refuses bad input in one line, with no store left behind", async function () {
      const some = addr("U1");
      const cases: [string[], number, RegExp][] = [
        [["0xZZ"], 2, /"0xZZ": malformed address/],
        [[], 2, /expected one or more addresses/],
        [[some, "--tolerance", "1.5"], 2, /--tolerance must be a decimal fraction/],
        [[some, "--max-blocks", "soon"], 2, /--max-blocks must be an integer/],
        [[some, "--to-block", "999999"], 1, /beyond the node's head/],
      ];
      for (const [i, [args, code, message]] of cases.entries()) {
        const where = path.join(world.tmp, `never-${i}`);
        const r = await cluster(args, where);
        expect(r.code, `${args.join(" ")}: ${r.stderr}`).to.equal(code);
        const lines = r.stderr.split("\n").filter((l) => l !== "");
        expect(lines, r.stderr).to.have.length(1);
        expect(lines[0])
          .to.match(/^veritrace cluster: /)
          .and.match(message);
        expect(existsSync(where), "a store was created").to.equal(false);
      }
      const where = path.join(world.tmp, "never-token");
      for (const [tokenArg, code, message] of [
        ["bogus", 2, /--token must be a token address or "native"/],
        [addr("P"), 1, /no contract at token address/],
      ] as const) {
        const r = await runVeritrace([
          "cluster",
          some,
          "--rpc",
          world.chain.url,
          "--token",
          tokenArg,
          "--db",
          where,
        ]);
        expect(r.code, r.stderr).to.equal(code);
        expect(r.stderr.trim().split("\n")).to.have.length(1);
        expect(r.stderr).to.match(message);
      }
      expect(existsSync(where), "a store was created").to.equal(false);
    });
  });
});
