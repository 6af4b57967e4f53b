/**
 * The deposit-address heuristic as a pure function, on transfers written by hand: which inflows a
 * forward carries, the share that makes an address a deposit address, clusters across deposit
 * addresses and exchanges, the same result for any input order, and α read exactly.
 */
import { expect } from "chai";
import {
  assessDepositAddresses,
  depositCandidates,
  findDepositAddresses,
  formatFraction,
  parseFraction,
  type DepositTransfer,
} from "../../src/analytics/cluster/deposits.js";
import { clustersOf } from "../../src/analytics/cluster/clusters.js";
import { InvalidInputError } from "../../src/shared/errors.js";

/** An address per role: the role's letters in hex, padded to 20 bytes. */
const a = (role: string) => `0x${Buffer.from(role).toString("hex").padStart(40, "0")}`;
const EXCHANGES = new Map([
  [a("H"), "Exchange H"],
  [a("K"), "Exchange K"],
]);

/** Transfers at blocks 1, 2, 3, … in the order written: "FROM→TO AMOUNT", one a block. */
function chain(...moves: string[]): DepositTransfer[] {
  return moves.map((move, i) => {
    const m = /^(\w+)→(\w+) (\d+)$/.exec(move);
    if (m === null) throw new Error(`not a move: ${move}`);
    const [, from = "", to = "", amount = ""] = m;
    return {
      blockNumber: i + 1,
      ordinal: 0,
      txHash: `0x${(i + 1).toString(16).padStart(64, "0")}`,
      from: a(from),
      to: a(to),
      amount: BigInt(amount),
    };
  });
}

const find = (transfers: DepositTransfer[], extra: { maxBlocks?: number } = {}) =>
  findDepositAddresses(transfers, { exchanges: EXCHANGES, ...extra });

describe("findDepositAddresses", function () {
  it("an older deposit forwarded after a newer one arrived is carried on alone", function () {
    const [d] = find(chain("U→D 100", "V→D 50", "D→H 100", "D→H 50"));
    expect(d?.forwards.map((f) => f.inflows.map((i) => i.from))).to.deep.equal([
      [a("U")],
      [a("V")],
    ]);
    expect([d?.matched, d?.shareBasisPoints, d?.unmatchedForwards]).to.deep.equal([
      150n,
      10_000,
      0,
    ]);
  });

  it("a forward larger than what came in carries nothing on", function () {
    expect(find(chain("U→D 100", "D→H 101"))).to.deep.equal([]);
  });

  it("an address that forwards less than half of what it received is none", function () {
    const transfers = chain("U→D 100", "V→D 150", "D→H 100");
    expect(find(transfers)).to.deep.equal([]);
    const kept = findDepositAddresses(transfers, {
      exchanges: EXCHANGES,
      minShare: { numerator: 0n, denominator: 1n },
    });
    expect(kept.map((d) => [d.address, d.shareBasisPoints])).to.deep.equal([[a("D"), 4000]]);
  });

  it("an inflow waits at most τ blocks for its forward", function () {
    const transfers = chain("U→D 100", "X→Y 1", "X→Y 1", "D→H 100");
    expect(find(transfers, { maxBlocks: 3 }).map((d) => d.address)).to.deep.equal([a("D")]);
    expect(find(transfers, { maxBlocks: 2 })).to.deep.equal([]);
  });

  it("gives the same result for the transfers in any order", function () {
    const transfers = chain("U→D 100", "V→E 30", "V→E 20", "D→H 99", "E→K 50", "P→H 7");
    const expected = find(transfers);
    expect(expected.map((d) => d.address)).to.deep.equal([a("D"), a("E")].sort());
    expect(find([...transfers].reverse())).to.deep.equal(expected);
    expect(find([...transfers.slice(3), ...transfers.slice(0, 3)])).to.deep.equal(expected);
  });
});

describe("assessDepositAddresses", function () {
  it("judges addresses from the candidates gathered once, as one pass over the stream does", function () {
    const transfers = chain("U→D 100", "V→E 30", "V→E 20", "D→H 99", "E→K 50", "P→H 7", "Q→R 4");
    const candidates = depositCandidates([...transfers].reverse(), EXCHANGES);
    // The senders to exchanges, each with its own transfers in chain order.
    expect([...candidates.keys()].sort()).to.deep.equal([a("D"), a("E"), a("P")].sort());
    expect(candidates.get(a("D"))).to.deep.equal([transfers[0], transfers[3]]);
    const options = { exchanges: EXCHANGES };
    const all = findDepositAddresses(transfers, options);
    const inRounds = [
      [a("D"), a("Q")],
      [a("P"), a("U")],
      [a("E"), a("E")],
    ].flatMap((among) => assessDepositAddresses(candidates, options, among));
    expect(inRounds.sort((x, y) => (x.address < y.address ? -1 : 1))).to.deep.equal(all);
    expect(assessDepositAddresses(candidates, options)).to.deep.equal(all);
  });
});

describe("clustersOf", function () {
  it("merges the senders of deposit addresses at two exchanges that one sender shares", function () {
    const deposits = find(
      chain("U→D 100", "D→H 100", "U→E 40", "W→E 60", "E→K 100", "Z→F 5", "F→H 5"),
    );
    const [w, f] = clustersOf(deposits, [a("W"), a("F")]);
    expect(w?.cluster.members).to.deep.equal([a("U"), a("W")].sort());
    expect(w?.cluster.depositAddresses.map((d) => [d.address, d.exchange.label])).to.deep.equal(
      [
        [a("D"), "Exchange H"],
        [a("E"), "Exchange K"],
      ].sort(),
    );
    expect(w?.cluster.links.map((l) => [l.sender, l.depositAddress])).to.deep.equal([
      [a("U"), a("D")],
      [a("U"), a("E")],
      [a("W"), a("E")],
    ]);
    expect(f?.depositAddress?.senders).to.deep.equal([a("Z")]);
    expect(f?.cluster.members).to.deep.equal([a("Z")]);
  });
});

describe("parseFraction", function () {
  it("reads a decimal fraction exactly and writes it back", function () {
    expect(parseFraction("0.01")).to.deep.equal({ numerator: 1n, denominator: 100n });
    expect(parseFraction(".5")).to.deep.equal({ numerator: 5n, denominator: 10n });
    expect(parseFraction("0")).to.deep.equal({ numerator: 0n, denominator: 1n });
    for (const text of ["0.01", "0.5", "0.125", "0"])
      expect(formatFraction(parseFraction(text))).to.equal(text);
  });

  it("refuses 1 and more, negatives and anything else", function () {
    for (const text of ["1", "1.5", "-0.1", "1%", "0.01x", ""])
      expect(() => parseFraction(text), text).to.throw(InvalidInputError, /decimal fraction/);
  });
});
