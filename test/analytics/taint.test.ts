import { expect } from "chai";
import { TracerError } from "../../src/shared/errors.js";
import {
  formatSeed,
  parseSeed,
  trace,
  ZERO_ADDRESS,
  type Label,
  type Seed,
  type TaintModelName,
  type TaintPath,
  type TraceOptions,
  type TraceResult,
  type Transfer,
} from "../../src/analytics/funds/taint.js";
import { BigBook, LimbBook } from "../../src/analytics/funds/balances.js";
import { PathForest, ROOT, UNEXPLAINED } from "../../src/analytics/funds/paths.js";
import { transfer } from "../helpers/taint-fixtures.js";

/** An 18-decimal token (DAI) and a 6-decimal one (USDC). */
const DAI = "0x6b175474e89094c44da98b954eedeac495271d0f";
const USDC = "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48";

const V = "0xv"; // the victim
const W = "0xw"; // someone with clean funds
const A = "0xa";
const B = "0xb";
const C = "0xc";
const D = "0xd";
const E = "0xe";
const X = "0xexchange";
const FEE = "0xfee";
const SEED_TX = "0x5eed";
const SEED: Seed = { kind: "tx", txHash: SEED_TX };

type Move = [from: string, to: string, amount: bigint];

/** A chain being written: each transaction goes in a new block, 10 seconds after the last. */
class Ledger {
  readonly transfers: Transfer[] = [];
  block = 100;

  tx(hash: string, ...moves: Move[]): this {
    return this.txOf(DAI, hash, ...moves);
  }

  txOf(token: string, hash: string, ...moves: Move[]): this {
    this.block++;
    moves.forEach(([from, to, amount], ordinal) =>
      this.transfers.push(
        transfer(hash, ordinal, token, from, to, amount, this.block, this.block * 10),
      ),
    );
    return this;
  }
}

const MODELS: readonly TaintModelName[] = ["poison", "haircut", "fifo"];

function run(ledger: Ledger, model: TaintModelName, extra: Partial<TraceOptions> = {}) {
  return trace(ledger.transfers, { model, seed: SEED, token: DAI, ...extra });
}

const held = (r: TraceResult) => Object.fromEntries(r.holdings.map((h) => [h.address, h.amount]));
const exited = (r: TraceResult) => Object.fromEntries(r.exits.map((e) => [e.address, e.amount]));
const hashes = (p: TaintPath | undefined) => (p?.steps ?? []).map((s) => s.txHash);
const holding = (r: TraceResult, address: string) => {
  const h = r.holdings.find((x) => x.address === address);
  if (h === undefined) throw new Error(`${address} holds no taint`);
  return h;
};
const exitAt = (r: TraceResult, address: string) => {
  const e = r.exits.find((x) => x.address === address);
  if (e === undefined) throw new Error(`${address} is no exit`);
  return e;
};

/** Labels: X is an exchange, plus any given. */
const labelsOf =
  (extra: Record<string, Label> = {}) =>
  (address: string): Label | undefined =>
    address === X ? { category: "exchange", label: "Exchange X" } : extra[address];

/** The textbook case, amounts ×10: A receives 30 tainted then 70 clean; sends 20 then 80. */
function textbook(): Ledger {
  return new Ledger()
    .tx(SEED_TX, [V, A, 30n])
    .tx("0x2", [W, A, 70n])
    .tx("0x3", [A, B, 20n])
    .tx("0x4", [A, C, 80n]);
}
const TEXTBOOK_BALANCES = new Map([
  [V, 30n],
  [W, 70n],
]);

describe("taint tracing", function () {
  describe("the textbook case (3 tainted then 7 clean; sends 2 then 8), amounts ×10", function () {
    it("poison taints both outflows wholly: 20 and 80", function () {
      const r = run(textbook(), "poison", { initialBalances: TEXTBOOK_BALANCES });
      expect(held(r)).to.deep.equal({ [B]: 20n, [C]: 80n });
      expect(r.seedAmount).to.equal(30n);
      expect(r.total).to.equal(100n);
    });

    it("haircut carries floor(x·t/b): 6 (0.6) and 24 (2.4)", function () {
      const r = run(textbook(), "haircut", { initialBalances: TEXTBOOK_BALANCES });
      expect(held(r)).to.deep.equal({ [B]: 6n, [C]: 24n });
      expect(r.total).to.equal(r.seedAmount);
    });

    it("FIFO consumes the oldest lots first: 20 (2) and 10 (1)", function () {
      const r = run(textbook(), "fifo", { initialBalances: TEXTBOOK_BALANCES });
      expect(held(r)).to.deep.equal({ [B]: 20n, [C]: 10n });
      expect(r.total).to.equal(r.seedAmount);
    });

    it("lists the tainted transfers in chain order with their fate", function () {
      const r = run(textbook(), "haircut", { initialBalances: TEXTBOOK_BALANCES });
      expect(
        r.edges.map((e) => [e.txHash, e.from, e.to, e.amount, e.tainted, e.fate]),
      ).to.deep.equal([
        [SEED_TX, V, A, 30n, 30n, "seed"],
        ["0x3", A, B, 20n, 6n, "carried"],
        ["0x4", A, C, 80n, 24n, "carried"],
      ]);
    });
  });

  describe("haircut", function () {
    it("rounds each outflow down and keeps the remainder at the sender, conserving taint", function () {
      // A: 10 tainted + 20 clean. Sends 7: floor(7·10/30) = 2, A keeps 8 of 23; sends 23: all 8.
      const ledger = new Ledger()
        .tx(SEED_TX, [V, A, 10n])
        .tx("0x2", [W, A, 20n])
        .tx("0x3", [A, B, 7n])
        .tx("0x4", [A, C, 23n]);
      const r = run(ledger, "haircut", { initialBalances: new Map([[W, 20n]]) });
      expect(held(r)).to.deep.equal({ [C]: 8n, [B]: 2n });
      expect(r.total).to.equal(10n);
    });

    it("splits a fan-out and merges taint with clean funds", function () {
      // A (40 tainted) → B 10; B (30 clean + 10) → C 40 (all, 10 tainted); C (60 clean + 40) → E 50.
      const ledger = new Ledger()
        .tx(SEED_TX, [V, A, 40n])
        .tx("0x2", [A, B, 10n])
        .tx("0x3", [D, C, 60n])
        .tx("0x4", [B, C, 40n])
        .tx("0x5", [C, E, 50n]);
      const initialBalances = new Map([
        [B, 30n],
        [D, 60n],
      ]);
      expect(held(run(ledger, "haircut", { initialBalances }))).to.deep.equal({
        [A]: 30n,
        [C]: 5n,
        [E]: 5n,
      });
      expect(held(run(ledger, "fifo", { initialBalances }))).to.deep.equal({ [A]: 30n, [C]: 10n });
      expect(held(run(ledger, "poison", { initialBalances }))).to.deep.equal({
        [C]: 50n,
        [E]: 50n,
        [A]: 30n,
      });
    });

    it("follows a cycle A→B→A", function () {
      // A: 10 clean + 10 tainted; → B 10 (5 tainted); B → A 10 (5 back); A → C 4 (2 of 10/20).
      const ledger = new Ledger()
        .tx(SEED_TX, [V, A, 10n])
        .tx("0x2", [A, B, 10n])
        .tx("0x3", [B, A, 10n])
        .tx("0x4", [A, C, 4n]);
      const initialBalances = new Map([[A, 10n]]);
      const r = run(ledger, "haircut", { initialBalances });
      expect(held(r)).to.deep.equal({ [A]: 8n, [C]: 2n });
      // C's 2: 1 straight from A, 1 that went round the cycle (ties: the older path first).
      const c = holding(r, C);
      expect(c.paths.map((p) => [p.amount, hashes(p)])).to.deep.equal([
        [1n, [SEED_TX, "0x4"]],
        [1n, [SEED_TX, "0x2", "0x3", "0x4"]],
      ]);
      // FIFO: A's clean lot leaves first, the tainted lot stays; C gets 4 tainted.
      const f = run(ledger, "fifo", { initialBalances });
      expect(held(f)).to.deep.equal({ [A]: 6n, [C]: 4n });
      expect(hashes(holding(f, C).paths[0])).to.deep.equal([SEED_TX, "0x4"]);
      expect(held(run(ledger, "poison", { initialBalances }))).to.deep.equal({ [A]: 16n, [C]: 4n });
    });
  });

  describe("FIFO", function () {
    it("appends consumed pieces to the receiver in the same order", function () {
      // A: [clean 5, tainted 10, clean 5]; → B 12: [clean 5, tainted 7]; B → C 6: clean 5, tainted 1.
      const ledger = new Ledger()
        .tx(SEED_TX, [V, A, 10n])
        .tx("0x2", [W, A, 5n])
        .tx("0x3", [A, B, 12n])
        .tx("0x4", [B, C, 6n]);
      const r = run(ledger, "fifo", { initialBalances: new Map([[A, 5n]]) });
      expect(held(r)).to.deep.equal({ [B]: 6n, [A]: 3n, [C]: 1n });
      expect(r.edges.map((e) => [e.txHash, e.tainted])).to.deep.equal([
        [SEED_TX, 10n],
        ["0x3", 7n],
        ["0x4", 1n],
      ]);
    });
  });

  describe("poison", function () {
    it("leaves outflows before the first tainted inflow clean", function () {
      const ledger = new Ledger()
        .tx("0x1", [A, B, 5n])
        .tx(SEED_TX, [V, A, 10n])
        .tx("0x3", [A, C, 1n]);
      const r = run(ledger, "poison", { initialBalances: new Map([[A, 20n]]) });
      expect(held(r)).to.deep.equal({ [A]: 24n, [C]: 1n });
      expect(r.total).to.equal(25n);
    });
  });

  describe("seeds", function () {
    it("taints every amount received in the seed transaction (a fan-out)", function () {
      const ledger = new Ledger().tx(SEED_TX, [V, A, 5n], [V, B, 7n]).tx("0x2", [B, C, 7n]);
      for (const model of MODELS) {
        const r = run(ledger, model);
        expect(r.seedAmount, model).to.equal(12n);
        expect(held(r), model).to.deep.equal({ [C]: 7n, [A]: 5n });
        expect(holding(r, A).hops).to.equal(0);
        expect(holding(r, C).hops).to.equal(1);
      }
    });

    it("does not count twice taint passed on within the seed transaction", function () {
      // V → A 10, A → B 10 in one transaction; A also held 5 clean before.
      const ledger = new Ledger().tx(SEED_TX, [V, A, 10n], [A, B, 10n]);
      const initialBalances = new Map([[A, 5n]]);
      // Haircut: A→B carries floor(10·10/15) = 6 and 4 more becomes taint: seed 14.
      const h = run(ledger, "haircut", { initialBalances });
      expect([h.seedAmount, held(h)]).to.deep.equal([14n, { [B]: 10n, [A]: 4n }]);
      // FIFO: A→B takes [clean 5, tainted 5]: the clean 5 becomes taint: seed 15.
      const f = run(ledger, "fifo", { initialBalances });
      expect([f.seedAmount, held(f)]).to.deep.equal([15n, { [B]: 10n, [A]: 5n }]);
      // Poison: A is tainted, so A→B carries 10 already: seed 10.
      const p = run(ledger, "poison", { initialBalances });
      expect([p.seedAmount, held(p)]).to.deep.equal([10n, { [B]: 10n, [A]: 5n }]);
      // B's paths: 6 carried from A (seeded by the first transfer), 4 seeded by the second.
      expect(holding(h, B).paths.map((x) => [x.amount, hashes(x)])).to.deep.equal([
        [6n, [SEED_TX, SEED_TX]],
        [4n, [SEED_TX]],
      ]);
    });

    it("taints mints in the seed transaction, not its gas fee", function () {
      const ledger = new Ledger()
        .txOf("native", SEED_TX, [V, A, 10n], [V, FEE, 1n], [ZERO_ADDRESS, B, 100n])
        .txOf("native", "0x2", [B, C, 40n], [B, FEE, 2n]);
      const r = trace(ledger.transfers, {
        model: "haircut",
        seed: SEED,
        token: "native",
        feeSink: FEE,
        initialBalances: new Map([[V, 11n]]),
      });
      expect(r.seedAmount).to.equal(110n);
      expect(held(r)).to.deep.equal({ [B]: 58n, [C]: 40n, [A]: 10n });
      expect(r.exits.map((e) => [e.address, e.kind, e.amount])).to.deep.equal([[FEE, "fee", 2n]]);
    });

    it("ADDRESS@BLOCK taints the whole balance at the end of that block", function () {
      // A: 10 before, +40 in block 101 (seed: 50), +20 in 102, → B 35 in 103.
      const ledger = new Ledger()
        .tx("0x1", [W, A, 40n])
        .tx("0x2", [W, A, 20n])
        .tx("0x3", [A, B, 35n]);
      const seed: Seed = { kind: "balance", address: A, block: 101 };
      const initialBalances = new Map([
        [A, 10n],
        [W, 60n],
      ]);
      const h = run(ledger, "haircut", { seed, initialBalances });
      expect([h.seedAmount, held(h)]).to.deep.equal([50n, { [A]: 25n, [B]: 25n }]);
      expect(h.seedTime).to.equal(1010);
      const f = run(ledger, "fifo", { seed, initialBalances });
      expect(held(f)).to.deep.equal({ [B]: 35n, [A]: 15n });
      const p = run(ledger, "poison", { seed, initialBalances });
      expect(held(p)).to.deep.equal({ [A]: 35n, [B]: 35n });
      // The seed's path: empty at the seeded address, then the transfer.
      const b = holding(h, B);
      expect(b.paths.map((x) => [x.origin, x.amount, hashes(x)])).to.deep.equal([
        [A, 25n, ["0x3"]],
      ]);
      expect(holding(h, A).paths[0]?.steps).to.deep.equal([]);
      // Before any transfer: the initial balance; after all of them: the final one.
      expect(
        run(ledger, "haircut", { seed: { ...seed, block: 50 }, initialBalances }).seedAmount,
      ).to.equal(10n);
      expect(
        run(ledger, "haircut", { seed: { ...seed, block: 999 }, initialBalances }).seedAmount,
      ).to.equal(35n);
    });

    it("warns when the seed creates no taint", function () {
      const r = run(new Ledger().tx("0x1", [W, B, 5n]), "haircut", {
        seed: { kind: "balance", address: A, block: 200 },
        initialBalances: new Map([[W, 5n]]),
      });
      expect(r.seedAmount).to.equal(0n);
      expect(r.holdings).to.deep.equal([]);
      expect(r.warnings.map((w) => w.code)).to.deep.equal(["empty-seed"]);
    });

    it("rejects a seed transaction with no transfer of the token", function () {
      const ledger = new Ledger().txOf(USDC, SEED_TX, [V, A, 5n]);
      expect(() => run(ledger, "haircut")).to.throw(TracerError, /has no transfer of token/);
    });

    it("parses and formats seeds as users write them", function () {
      const hash = `0x${"Ab".repeat(32)}`;
      expect(parseSeed(hash)).to.deep.equal({ kind: "tx", txHash: hash.toLowerCase() });
      const address = `0x${"C0".repeat(20)}`;
      const seed = parseSeed(`${address}@123`);
      expect(seed).to.deep.equal({ kind: "balance", address: address.toLowerCase(), block: 123 });
      expect(formatSeed(seed)).to.equal(`${address.toLowerCase()}@123`);
      for (const bad of ["0x12", `${address}@`, `${address}@-1`, "hello"])
        expect(() => parseSeed(bad), bad).to.throw(TracerError, /invalid seed/);
    });
  });

  describe("exits", function () {
    it("stops taint at exchanges, bridges and mixers, with their labels", function () {
      const bridge = "0xbridge";
      const mixer = "0xmixer";
      const scam = "0xscam";
      const ledger = new Ledger()
        .tx(SEED_TX, [V, A, 100n])
        .tx("0x2", [A, X, 40n], [A, bridge, 30n], [A, mixer, 20n], [A, scam, 10n])
        .tx("0x3", [X, B, 40n]);
      const labels = labelsOf({
        [bridge]: { category: "bridge", label: "Bridge" },
        [mixer]: { category: "mixer", label: "Mixer" },
        [scam]: { category: "scam", label: "Scam" },
      });
      for (const model of MODELS) {
        const r = run(ledger, model, { labels, initialBalances: new Map([[X, 1000n]]) });
        expect(
          r.exits.map((e) => [e.address, e.kind, e.label, e.amount, e.hops]),
          model,
        ).to.deep.equal([
          [X, "exchange", "Exchange X", 40n, 1],
          [bridge, "bridge", "Bridge", 30n, 1],
          [mixer, "mixer", "Mixer", 20n, 1],
        ]);
        // A scam label is not an exit; the exchange's own outflow is clean.
        expect(held(r), model).to.deep.equal({ [scam]: 10n });
        expect(hashes(exitAt(r, X).paths[0])).to.deep.equal([SEED_TX, "0x2"]);
      }
    });

    it("stops taint at custodial services by their taxonomy term, as exitCategories says", function () {
      const casino = "0xcasino";
      const processor = "0xprocessor";
      const shop = "0xshop";
      const ledger = new Ledger()
        .tx(SEED_TX, [V, A, 100n])
        .tx("0x2", [A, casino, 50n], [A, processor, 30n], [A, shop, 20n])
        .tx("0x3", [casino, B, 50n]);
      const labels = labelsOf({
        [casino]: { category: "other", label: "Casino", term: "gambling" },
        [processor]: { category: "other", label: "Pay", term: "Payment Processor" },
        [shop]: { category: "other", label: "Shop", term: "shop" },
      });
      const r = run(ledger, "fifo", { labels });
      expect(r.exits.map((e) => [e.address, e.kind, e.label, e.amount])).to.deep.equal([
        [casino, "service", "Casino (gambling)", 50n],
        [processor, "service", "Pay (payment_processor)", 30n],
      ]);
      expect(held(r)).to.deep.equal({ [shop]: 20n });
      // A list of its own: the shop stops taint, the casino passes it on; none stops none.
      const own = run(ledger, "fifo", { labels, exitCategories: ["Shop", "exchange"] });
      expect(own.exits.map((e) => [e.address, e.kind])).to.deep.equal([[shop, "service"]]);
      expect(held(own)).to.deep.equal({ [B]: 50n, [processor]: 30n });
      expect(run(ledger, "fifo", { labels, exitCategories: [] }).exits).to.deep.equal([]);
      for (const bad of ["casino", "hack", "other", "miner", ""])
        expect(() => run(ledger, "fifo", { exitCategories: ["exchange", bad] }), bad).to.throw(
          TracerError,
          `exitCategories: ${JSON.stringify(bad)} is not a category of service`,
        );
    });

    it("treats transfers to the zero address as burns and mints as clean inflows", function () {
      const ledger = new Ledger()
        .tx(SEED_TX, [V, A, 10n])
        .tx("0x2", [ZERO_ADDRESS, A, 30n])
        .tx("0x3", [A, ZERO_ADDRESS, 20n]);
      const r = run(ledger, "haircut", { initialBalances: new Map([[V, 10n]]) });
      // floor(20·10/40) = 5 burned, 5 left.
      expect(r.exits.map((e) => [e.address, e.kind, e.amount])).to.deep.equal([
        [ZERO_ADDRESS, "burn", 5n],
      ]);
      expect(held(r)).to.deep.equal({ [A]: 5n });
      expect(r.warnings).to.deep.equal([]);
    });

    it("treats the fee sink as an exit of kind fee", function () {
      const ledger = new Ledger().tx(SEED_TX, [V, A, 10n]).tx("0x2", [A, FEE, 1n], [A, B, 9n]);
      for (const model of MODELS) {
        const r = run(ledger, model, { feeSink: FEE });
        expect(exited(r), model).to.deep.equal({ [FEE]: 1n });
        expect(r.exits[0]?.kind).to.equal("fee");
        expect(held(r), model).to.deep.equal({ [B]: 9n });
      }
    });

    it("lets the seed transaction deliver straight to an exit", function () {
      const ledger = new Ledger().tx(SEED_TX, [V, X, 10n]);
      const r = run(ledger, "fifo", { labels: labelsOf() });
      expect([r.seedAmount, exited(r), r.exits[0]?.hops]).to.deep.equal([10n, { [X]: 10n }, 0]);
      expect(r.edges[0]?.fate).to.equal("exit");
    });
  });

  describe("options", function () {
    /** V → A (seed), A → B, B → C, C → D, 10 each. */
    const chain4 = () =>
      new Ledger()
        .tx(SEED_TX, [V, A, 10n])
        .tx("0x2", [A, B, 10n])
        .tx("0x3", [B, C, 10n])
        .tx("0x4", [C, D, 10n]);

    it("maxHops puts taint that would go further in the beyond-hop-limit bucket", function () {
      for (const model of MODELS) {
        const r = run(chain4(), model, { maxHops: 2 });
        expect(held(r), model).to.deep.equal({});
        expect(r.beyondHopLimit).to.equal(10n);
        expect(r.total).to.equal(10n);
        expect(r.edges.map((e) => e.fate)).to.deep.equal([
          "seed",
          "carried",
          "carried",
          "beyond-hop-limit",
        ]);
        const zero = run(chain4(), model, { maxHops: 0 });
        expect([zero.beyondHopLimit, zero.edges.length]).to.deep.equal([10n, 2]);
      }
    });

    it("reports the fewest hops by which taint reached an address", function () {
      const ledger = chain4().tx("0x5", [A, D, 0n]).tx("0x6", [V, D, 1n]);
      const r = run(ledger, "poison", { initialBalances: new Map([[V, 20n]]) });
      expect(holding(r, D).hops).to.equal(3);
      const shortcut = chain4().tx("0x5", [W, A, 5n]).tx("0x6", [A, D, 5n]);
      const s = run(shortcut, "poison", { initialBalances: new Map([[W, 5n]]) });
      expect(holding(s, D).hops).to.equal(1);
    });

    it("minAmount does not follow smaller tainted amounts and counts them", function () {
      const ledger = new Ledger().tx(SEED_TX, [V, A, 100n]).tx("0x2", [A, B, 3n], [A, C, 97n]);
      for (const model of MODELS) {
        const r = run(ledger, model, { minAmount: 5n });
        expect(held(r), model).to.deep.equal({ [C]: 97n });
        expect(r.belowMinimum).to.equal(3n);
        expect(r.total).to.equal(100n);
        // The minimum itself is followed.
        expect(held(run(ledger, model, { minAmount: 97n }))).to.deep.equal({ [C]: 97n });
      }
      // Haircut compares the tainted part, not the transfer: 20 of A's 100 carries 6 (of 30).
      const mixed = new Ledger()
        .tx(SEED_TX, [V, A, 30n])
        .tx("0x2", [W, A, 70n])
        .tx("0x3", [A, B, 20n]);
      const initialBalances = new Map([[W, 70n]]);
      const below = run(mixed, "haircut", { minAmount: 7n, initialBalances });
      expect([held(below), below.belowMinimum, below.total]).to.deep.equal([{ [A]: 24n }, 6n, 30n]);
      const at = run(mixed, "haircut", { minAmount: 6n, initialBalances });
      expect([held(at), at.belowMinimum]).to.deep.equal([{ [A]: 24n, [B]: 6n }, 0n]);
    });

    it("does not process transfers after seedTime + windowSeconds", function () {
      // Blocks 101..104 at times 1010..1040; the seed at 1010.
      for (const model of MODELS) {
        const r = run(chain4(), model, { windowSeconds: 20 });
        expect(held(r), model).to.deep.equal({ [C]: 10n });
        expect(r.stats.processed).to.equal(3);
      }
    });

    it("maxPaths bounds the paths reported, and the share explained says so", function () {
      const ledger = new Ledger()
        .tx(SEED_TX, [V, B, 7n], [V, C, 3n])
        .tx("0x2", [B, A, 7n])
        .tx("0x3", [C, A, 3n])
        .tx("0x4", [A, D, 5n]);
      const one = holding(run(ledger, "haircut", { maxPaths: 1 }), D);
      expect([one.amount, one.explained, one.paths.length]).to.deep.equal([5n, 3n, 1]);
      const none = holding(run(ledger, "haircut", { maxPaths: 0 }), D);
      expect([none.amount, none.explained, none.paths]).to.deep.equal([5n, 0n, []]);
    });

    it("rejects invalid options with a readable error", function () {
      const ledger = textbook();
      const bad: Partial<TraceOptions>[] = [
        { maxHops: -1 },
        { maxHops: 1.5 },
        { minAmount: -1n },
        { windowSeconds: -5 },
        { maxPaths: -1 },
        { seed: { kind: "balance", address: ZERO_ADDRESS, block: 1 } },
        { seed: { kind: "tx", txHash: "" } },
      ];
      for (const extra of bad) expect(() => run(ledger, "haircut", extra)).to.throw(TracerError);
      expect(() =>
        trace(ledger.transfers, { model: "lifo" as TaintModelName, seed: SEED, token: DAI }),
      ).to.throw(TracerError, /unknown taint model "lifo"/);
      const negative = new Ledger().tx(SEED_TX, [V, A, -1n]);
      expect(() => run(negative, "haircut")).to.throw(TracerError, /invalid amount -1/);
    });
  });

  describe("amounts", function () {
    it("is exact for a 6-decimal token", function () {
      // A: 1,000.000001 USDC tainted + 2,000 clean; sends 1,500.5.
      const ledger = new Ledger()
        .txOf(USDC, SEED_TX, [V, A, 1_000_000_001n])
        .txOf(USDC, "0x2", [W, A, 2_000_000_000n])
        .txOf(USDC, "0x3", [A, B, 1_500_500_000n]);
      const r = trace(ledger.transfers, {
        model: "haircut",
        seed: SEED,
        token: USDC,
        initialBalances: new Map([[W, 2_000_000_000n]]),
      });
      expect(held(r)).to.deep.equal({ [B]: 500_166_667n, [A]: 499_833_334n });
      expect(r.total).to.equal(1_000_000_001n);
    });

    it("is exact for an 18-decimal token beyond 2^64, ignoring other tokens", function () {
      const tainted = 12_345_678901234567890123n; // 12,345.678901234567890123
      const clean = 98_765_432109876543210987n;
      const sent = 55_555_555555555555555555n;
      const ledger = new Ledger()
        .tx(SEED_TX, [V, A, tainted])
        .txOf(USDC, SEED_TX, [V, A, 5n])
        .tx("0x2", [W, A, clean])
        .txOf(USDC, "0x3", [A, B, 5n])
        .tx("0x4", [A, B, sent]);
      const r = run(ledger, "haircut", { initialBalances: new Map([[W, clean]]) });
      expect(held(r)).to.deep.equal({
        [B]: 6_172_839456172839456172n,
        [A]: 6_172_839445061728433951n,
      });
      const f = run(ledger, "fifo", { initialBalances: new Map([[W, clean]]) });
      expect(held(f)).to.deep.equal({ [B]: tainted });
    });
  });

  describe("balances", function () {
    it("keeps two-limb balances exactly like bigints, across carries and overdrafts", function () {
      const rnd = prng(42);
      const limbs = new LimbBook(8);
      const bigs = new BigBook(8);
      // Up to 2^87 per amount: 5000 of them stay below the two-limb limit, 2^101.
      const sizes = [1n, 1n << 47n, 1n << 48n, (1n << 53n) - 1n, 1n << 53n, 1n << 70n, 1n << 87n];
      for (let i = 0; i < 5000; i++) {
        const size = sizes[Math.floor(rnd() * sizes.length)] as bigint;
        const amount =
          (size * BigInt(Math.floor(rnd() * 1000))) / 997n + BigInt(Math.floor(rnd() * 3));
        const id = Math.floor(rnd() * 8);
        limbs.load(amount);
        bigs.load(amount);
        if (rnd() < 0.5) {
          limbs.deposit(id);
          bigs.deposit(id);
        } else expect(limbs.withdraw(id)).to.equal(bigs.withdraw(id));
        expect(limbs.get(id)).to.equal(bigs.get(id));
      }
      limbs.set(3, (1n << 100n) + 12345n);
      expect(limbs.get(3)).to.equal((1n << 100n) + 12345n);
    });

    it("traces amounts beyond 2^101 exactly (bigint balances)", function () {
      const k = 1n << 110n;
      const scaled = new Ledger()
        .tx(SEED_TX, [V, A, 30n * k])
        .tx("0x2", [W, A, 70n * k])
        .tx("0x3", [A, B, 20n * k])
        .tx("0x4", [A, C, 80n * k + 1n]);
      const initialBalances = new Map([
        [V, 30n * k],
        [W, 70n * k],
      ]);
      const h = run(scaled, "haircut", { initialBalances });
      expect(held(h)).to.deep.equal({ [C]: 24n * k, [B]: 6n * k });
      expect(h.warnings.map((w) => [w.address, w.amount])).to.deep.equal([[A, 1n]]);
      expect(held(run(scaled, "fifo", { initialBalances }))).to.deep.equal({
        [B]: 20n * k,
        [C]: 10n * k,
      });
    });
  });

  describe("transfers that change nothing", function () {
    it("ignores self-transfers and zero-amount transfers", function () {
      const noisy = new Ledger()
        .tx(SEED_TX, [V, A, 30n], [V, D, 0n])
        .tx("0x2", [W, A, 70n])
        .tx("0x9", [A, A, 50n], [A, E, 0n])
        .tx("0x3", [A, B, 20n])
        .tx("0x4", [A, C, 80n]);
      for (const model of MODELS) {
        const r = run(noisy, model, { initialBalances: TEXTBOOK_BALANCES });
        const plain = run(textbook(), model, { initialBalances: TEXTBOOK_BALANCES });
        expect(held(r), model).to.deep.equal(held(plain));
        expect(r.edges.map((e) => e.txHash)).to.deep.equal(plain.edges.map((e) => e.txHash));
        expect(r.warnings).to.deep.equal([]);
      }
    });
  });

  describe("incomplete history", function () {
    it("treats an outflow beyond the known balance as clean pre-existing funds, with a warning", function () {
      // A's 10 clean are unknown: A: 10 tainted, 5 clean known; sends 25 → 10 unknown.
      const ledger = new Ledger()
        .tx(SEED_TX, [V, A, 10n])
        .tx("0x2", [W, A, 5n])
        .tx("0x3", [A, B, 25n])
        .tx("0x4", [B, C, 10n]);
      const initialBalances = new Map([
        [V, 10n],
        [W, 5n],
      ]);
      const h = run(ledger, "haircut", { initialBalances });
      // Haircut: b becomes 25, all 10 tainted go; B (25, 10 tainted) → C 10 carries 4.
      expect(held(h)).to.deep.equal({ [B]: 6n, [C]: 4n });
      expect(h.warnings).to.have.length(1);
      expect(h.warnings[0]).to.include({
        code: "incomplete-history",
        address: A,
        txHash: "0x3",
        amount: 10n,
        count: 1,
        heldTaint: true,
      });
      // FIFO: the unknown funds are the oldest lot: B gets [clean 10, tainted 10, clean 5].
      const f = run(ledger, "fifo", { initialBalances });
      expect(held(f)).to.deep.equal({ [B]: 10n });
      for (const model of MODELS) {
        const r = run(ledger, model, { initialBalances });
        expect(
          r.warnings.map((w) => w.address),
          model,
        ).to.deep.equal([A]);
      }
    });

    it("aggregates warnings per address and sorts them", function () {
      const ledger = new Ledger()
        .tx(SEED_TX, [V, A, 10n])
        .tx("0x2", [C, B, 3n])
        .tx("0x3", [C, B, 4n]);
      const r = run(ledger, "haircut", { initialBalances: new Map([[V, 10n]]) });
      expect(r.warnings.map((w) => [w.address, w.amount, w.count, w.heldTaint])).to.deep.equal([
        [C, 7n, 2, false],
      ]);
      expect(r.warnings[0]?.message).to.match(
        /0xc sent 7 more than its known balance in 2 transfer/,
      );
    });
  });

  describe("explanations", function () {
    /** Two tainted paths merge at A, which sends 5 of its 10 on to D. */
    const merge = () =>
      new Ledger()
        .tx(SEED_TX, [V, B, 7n], [V, C, 3n])
        .tx("0x2", [B, A, 7n])
        .tx("0x3", [C, A, 3n])
        .tx("0x4", [A, D, 5n]);

    it("haircut shares an outflow among the sender's paths in proportion (cumulative rounding)", function () {
      const r = run(merge(), "haircut");
      const d = holding(r, D);
      expect(d.paths.map((p) => [p.amount, hashes(p)])).to.deep.equal([
        [3n, [SEED_TX, "0x2", "0x4"]],
        [2n, [SEED_TX, "0x3", "0x4"]],
      ]);
      expect(d.explained).to.equal(5n);
      const a = holding(r, A);
      expect(a.paths.map((p) => p.amount)).to.deep.equal([4n, 1n]);
      expect([a.received, a.hops]).to.deep.equal([10n, 1]);
      // Each step is the edge itself, with from, to, amount and tainted amount.
      const step = d.paths[0]?.steps[1];
      expect(step).to.equal(r.edges[2]);
      expect(step).to.include({ from: B, to: A, amount: 7n, tainted: 7n, fate: "carried" });
      expect(d.paths[0]?.origin).to.equal(B);
    });

    it("FIFO paths are the lots' own journeys", function () {
      const r = run(merge(), "fifo");
      expect(holding(r, D).paths.map((p) => [p.amount, hashes(p)])).to.deep.equal([
        [5n, [SEED_TX, "0x2", "0x4"]],
      ]);
      expect(holding(r, A).paths.map((p) => [p.amount, hashes(p)])).to.deep.equal([
        [3n, [SEED_TX, "0x3"]],
        [2n, [SEED_TX, "0x2"]],
      ]);
    });

    it("poison paths are the tainted receipts, each after the sender's first tainting path", function () {
      const r = run(merge(), "poison");
      expect(holding(r, D).paths.map((p) => [p.amount, hashes(p)])).to.deep.equal([
        [5n, [SEED_TX, "0x2", "0x4"]],
      ]);
      const a = holding(r, A);
      expect([a.amount, a.received, a.explained]).to.deep.equal([5n, 10n, 10n]);
    });

    it("explains exits the same way", function () {
      const ledger = merge().tx("0x5", [A, X, 5n]);
      for (const model of MODELS) {
        const r = run(ledger, model, { labels: labelsOf() });
        const x = exitAt(r, X);
        expect(x.explained, model).to.equal(x.amount);
        expect(x.paths.every((p) => hashes(p).at(-1) === "0x5")).to.equal(true);
      }
    });
  });

  describe("bounded provenance", function () {
    it("keeps each lot's path when one transfer moves many lots (FIFO)", function () {
      // The seed pays 1..20 to 20 addresses, which all pay Z; Z pays Y all 210; Y pays X.
      const payees = Array.from({ length: 20 }, (_, i) => `0x${(i + 1).toString(16)}0`);
      const ledger = new Ledger()
        .tx(SEED_TX, ...payees.map((p, i): Move => [V, p, BigInt(i + 1)]))
        .tx("0x2", ...payees.map((p, i): Move => [p, "0xz", BigInt(i + 1)]))
        .tx("0x3", ["0xz", "0xy", 210n]);
      const r = run(ledger, "fifo", { initialBalances: new Map([[V, 210n]]) });
      const y = holding(r, "0xy");
      expect(y.paths.map((p) => p.amount)).to.deep.equal([20n, 19n, 18n, 17n, 16n]);
      expect([y.amount, y.explained]).to.deep.equal([210n, 90n]);
      expect(hashes(y.paths[0])).to.deep.equal([SEED_TX, "0x2", "0x3"]);
      const x = exitAt(run(ledger.tx("0x4", ["0xy", X, 210n]), "fifo", { labels: labelsOf() }), X);
      expect([x.amount, x.explained, x.paths.length]).to.deep.equal([210n, 90n, 5]);
    });

    it("stops adding path nodes at the budget, and says so", function () {
      const forest = new PathForest(true, 2);
      expect([forest.add(0, ROOT), forest.add(1, 0)]).to.deep.equal([0, 1]);
      expect(forest.add(2, 1)).to.equal(UNEXPLAINED);
      expect(forest.add(3, UNEXPLAINED)).to.equal(UNEXPLAINED);
      expect([forest.exhausted, forest.size]).to.deep.equal([true, 2]);
    });
  });

  describe("determinism", function () {
    it("gives the same result whatever the order of the input", function () {
      const ledger = new Ledger()
        .tx(SEED_TX, [V, B, 7n], [V, C, 3n])
        .tx("0x2", [B, A, 7n], [C, A, 3n])
        .tx("0x4", [A, D, 5n], [A, E, 2n]);
      for (const model of MODELS) {
        const forward = run(ledger, model);
        const shuffled = new Ledger();
        shuffled.transfers.push(...[...ledger.transfers].reverse());
        expect(run(shuffled, model), model).to.deep.equal(forward);
      }
    });
  });

  describe("properties over random graphs", function () {
    const CASES = 300;

    it(`haircut and FIFO conserve taint; poison ≥ haircut, FIFO everywhere; order-free; no negatives (${CASES} cases)`, function () {
      this.timeout(60_000);
      let busy = 0; // cases where taint moved at least twice
      for (let n = 0; n < CASES; n++) {
        const g = randomGraph(n);
        const results = {} as Record<TaintModelName, TraceResult>;
        for (const model of MODELS) {
          const options: TraceOptions = { ...g.options, model };
          const r = trace(g.transfers, options);
          results[model] = r;
          if (model === "haircut" && r.edges.length > 2) busy++;
          const label = `case ${n} ${model}`;
          expectNoNegatives(r, label);
          if (model !== "poison") {
            expect(r.total, label).to.equal(r.seedAmount);
            for (const h of [...r.holdings, ...r.exits])
              expect(h.explained <= h.amount, `${label} explained ≤ amount`).to.equal(true);
          }
          const shuffled = shuffle(g.transfers, n);
          expect(trace(shuffled, options), `${label} shuffled`).to.deep.equal(r);
        }
        const poison = results.poison;
        for (const other of [results.haircut, results.fifo]) {
          expect(poison.total >= other.total, `case ${n} poison total ≥ ${other.model}`).to.equal(
            true,
          );
          const p = held(poison);
          for (const [address, amount] of Object.entries(held(other)))
            expect(
              (p[address] ?? 0n) >= amount,
              `case ${n} ${other.model} holding at ${address}`,
            ).to.equal(true);
          const pe = exited(poison);
          for (const [address, amount] of Object.entries(exited(other)))
            expect(
              (pe[address] ?? 0n) >= amount,
              `case ${n} ${other.model} exit at ${address}`,
            ).to.equal(true);
        }
      }
      expect(busy, "random graphs where taint moves").to.be.greaterThan(CASES / 2);
    });
  });
});

function expectNoNegatives(r: TraceResult, label: string) {
  const all = [r.seedAmount, r.total, r.beyondHopLimit, r.belowMinimum];
  for (const h of r.holdings) all.push(h.amount, h.explained, h.received);
  for (const e of r.exits) all.push(e.amount, e.explained);
  for (const e of r.edges) {
    all.push(e.amount, e.tainted);
    expect(e.tainted <= e.amount, `${label}: tainted ≤ amount`).to.equal(true);
  }
  for (const x of [...r.holdings, ...r.exits]) {
    let sum = 0n;
    for (const p of x.paths) {
      expect(p.amount > 0n, `${label}: path amount`).to.equal(true);
      sum += p.amount;
    }
    expect(sum, `${label}: explained`).to.equal(x.explained);
  }
  for (const a of all) expect(a >= 0n, `${label}: negative amount`).to.equal(true);
}

/** mulberry32: a small seeded PRNG, uniform in [0, 1). */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffle<T>(items: readonly T[], seed: number): T[] {
  const rnd = prng(seed * 7919 + 1);
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

/**
 * A random graph: 3–10 addresses (one an exchange, one the fee sink, plus the zero address),
 * 5–60 transfers in transactions of 1–3, amounts 0–1000 (zero and self-transfers included),
 * initial balances for some addresses only, a tx or balance seed, and random options.
 */
function randomGraph(n: number): { transfers: Transfer[]; options: Omit<TraceOptions, "model"> } {
  const rnd = prng(n + 1);
  const int = (k: number) => Math.floor(rnd() * k);
  const count = 3 + int(8);
  const users = Array.from({ length: count }, (_, i) => `0x${(i + 10).toString(16)}`);
  const pick = () => {
    const r = rnd();
    if (r < 0.05) return ZERO_ADDRESS;
    if (r < 0.1) return X;
    if (r < 0.14) return FEE;
    return users[int(users.length)] as string;
  };
  const transfers: Transfer[] = [];
  let block = 1;
  let txs = 0;
  const total = 5 + int(56);
  while (transfers.length < total) {
    if (rnd() < 0.6) block++;
    const hash = `0x${(++txs).toString(16)}`;
    const moves = 1 + int(3);
    for (let m = 0; m < moves; m++) {
      const from = rnd() < 0.1 ? ZERO_ADDRESS : (users[int(users.length)] as string);
      transfers.push({
        blockNumber: block,
        txIndex: txs,
        ordinal: m,
        txHash: hash,
        token: rnd() < 0.05 ? USDC : DAI,
        from,
        to: rnd() < 0.05 ? from : pick(),
        amount: rnd() < 0.05 ? 0n : BigInt(int(1001)),
        time: block * 12,
      });
    }
  }
  const initialBalances = new Map<string, bigint>();
  for (const u of users) if (rnd() < 0.8) initialBalances.set(u, BigInt(int(3000)));
  const seedTransfer = transfers.find((t) => t.token === DAI && rnd() < 0.3) ?? transfers[0];
  const seed: Seed =
    rnd() < 0.7 && seedTransfer !== undefined && seedTransfer.token === DAI
      ? { kind: "tx", txHash: seedTransfer.txHash }
      : { kind: "balance", address: users[int(users.length)] as string, block: int(block + 1) };
  return {
    transfers,
    options: {
      seed,
      token: DAI,
      labels: labelsOf(),
      initialBalances,
      feeSink: FEE,
      ...(rnd() < 0.3 ? { maxHops: int(4) } : {}),
      ...(rnd() < 0.3 ? { minAmount: BigInt(int(50)) } : {}),
      ...(rnd() < 0.2 ? { windowSeconds: int(block * 12) } : {}),
      ...(rnd() < 0.3 ? { maxPaths: int(4) } : {}),
    },
  };
}
