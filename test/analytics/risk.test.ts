/**
 * Address exposure and risk scores on small graphs computed by hand (docs/risk.md's worked
 * example among them), the score's configuration, screening input, and 10,000 addresses screened
 * on one engine where a few received from labeled addresses.
 */
import { expect } from "chai";
import { TracerError } from "../../src/shared/errors.js";
import type { Label, Transfer } from "../../src/analytics/funds/types.js";
import {
  DEFAULT_RISK_CONFIG,
  riskConfigOf,
  type RiskConfig,
} from "../../src/analytics/risk/config.js";
import { ExposureEngine, InflowIndex, type RiskWindow } from "../../src/analytics/risk/exposure.js";
import { topPaths } from "../../src/analytics/risk/paths.js";
import { assessAddress, riskReportJson } from "../../src/analytics/risk/score.js";
import {
  addressProblem,
  csvCell,
  parseScreenInput,
  screenCsv,
} from "../../src/analytics/risk/screen.js";

const TOKEN = "0x6b175474e89094c44da98b954eedeac495271d0f";
const ZERO = "0x0000000000000000000000000000000000000000";

/** Addresses by role: a one-letter role padded into an address. */
const at = (role: string) => `0x${role.padStart(40, "0")}`;
const S = at("5"); // sanctioned
const P = at("f1"); // phishing
const H = at("ac"); // hack
const M = at("3"); // mixer
const EX = at("e"); // exchange
const A = at("a");
const B = at("b");
const C = at("c");
const W = at("d"); // clean funds
const X = at("1"); // the screened address

const LABELS: Readonly<Record<string, Label>> = {
  [S]: { category: "sanctioned", label: "OFAC SDN" },
  [P]: { category: "phishing", label: "myetherwallet phishing" },
  [H]: { category: "hack", label: "Ronin bridge exploiter" },
  [M]: { category: "mixer", label: "Tornado Cash" },
  [EX]: { category: "exchange", label: "Binance" },
};

type Move = [from: string, to: string, amount: bigint];

/** A chain being written: each transaction in a new block, 12 seconds apart. */
class Ledger {
  readonly transfers: Transfer[] = [];
  block = 10;
  tx(hash: string, ...moves: Move[]): this {
    this.block++;
    moves.forEach(([from, to, amount], ordinal) =>
      this.transfers.push({
        blockNumber: this.block,
        txIndex: 0,
        ordinal,
        txHash: hash,
        token: TOKEN,
        from,
        to,
        amount,
        time: this.block * 12,
      }),
    );
    return this;
  }
  engine(hops = 3, window?: RiskWindow): ExposureEngine {
    const index = new InflowIndex(this.transfers, {
      token: TOKEN,
      window,
      labels: (a) => LABELS[a],
      extra: [X],
    });
    return new ExposureEngine(index, hops);
  }
}

/** Exposure amounts by category: [hop 1, hop 2, …]. */
function amounts(engine: ExposureEngine, address = X, hops?: number) {
  const e = engine.exposure(address, hops);
  return {
    received: e.received,
    ...Object.fromEntries(e.categories.map((c) => [c.category, c.byHop])),
  };
}

describe("risk: exposure", function () {
  it("direct: 5 of 100 received straight from a sanctioned address is 5 % direct exposure", function () {
    const l = new Ledger().tx("0x01", [S, X, 5n]).tx("0x02", [W, X, 95n]);
    expect(amounts(l.engine())).to.deep.equal({ received: 100n, sanctioned: [5n, 0n, 0n] });
  });

  it("indirect: an intermediary passes on its exposure in proportion, rounded down", function () {
    // A received 10 from S and 20 clean; A pays X 7: floor(7·10/30) = 2 at hop 2.
    const l = new Ledger().tx("0x01", [S, A, 10n]).tx("0x02", [W, A, 20n]).tx("0x03", [A, X, 7n]);
    expect(amounts(l.engine())).to.deep.equal({ received: 7n, sanctioned: [0n, 2n, 0n] });
    // One hop only: the intermediary is not looked through.
    expect(amounts(l.engine(1))).to.deep.equal({ received: 7n });
  });

  it("mixed categories: phishing direct, mixer and hack through one intermediary", function () {
    const l = new Ledger()
      .tx("0x01", [M, B, 30n])
      .tx("0x02", [H, B, 10n])
      .tx("0x03", [P, X, 10n])
      .tx("0x04", [B, X, 20n]) // mixer floor(20·30/40) = 15, hack floor(20·10/40) = 5
      .tx("0x05", [W, X, 70n]);
    expect(amounts(l.engine())).to.deep.equal({
      received: 100n,
      phishing: [10n, 0n, 0n],
      mixer: [0n, 15n, 0n],
      hack: [0n, 5n, 0n],
    });
  });

  it("respects time: funds an intermediary received after paying X don't reach X", function () {
    const l = new Ledger()
      .tx("0x00", [ZERO, A, 10n]) // a mint: clean
      .tx("0x01", [A, X, 10n])
      .tx("0x02", [S, A, 10n])
      .tx("0x03", [A, B, 10n]);
    expect(amounts(l.engine())).to.deep.equal({ received: 10n });
    expect(amounts(l.engine(), B)).to.deep.equal({ received: 10n, sanctioned: [0n, 5n, 0n] });
  });

  it("a cycle A → B → A counts the same funds each time they arrive, and ends", function () {
    const l = new Ledger()
      .tx("0x01", [S, A, 10n])
      .tx("0x02", [A, B, 10n])
      .tx("0x03", [B, A, 10n])
      .tx("0x04", [A, X, 4n]);
    // Hops 3: A (budget 2) holds S 10 direct of 20 received (B passed nothing within budget).
    expect(amounts(l.engine(3))).to.deep.equal({ received: 4n, sanctioned: [0n, 2n, 0n] });
    // Hops 4: B passed A's 10 back (hop 3 at A), so X's 4 is all sanctioned: 2 at hop 2, 2 at hop 4.
    expect(amounts(l.engine(4))).to.deep.equal({ received: 4n, sanctioned: [0n, 2n, 0n, 2n] });
  });

  it("received from a sanctioned address only after the window: no exposure within it", function () {
    const l = new Ledger().tx("0x01", [W, X, 50n]).tx("0x02", [S, X, 50n]);
    const last = l.block - 1;
    expect(amounts(l.engine(3, { toBlock: last }))).to.deep.equal({ received: 50n });
    expect(amounts(l.engine(3, { toTime: last * 12 }))).to.deep.equal({ received: 50n });
    expect(amounts(l.engine(3))).to.deep.equal({ received: 100n, sanctioned: [50n, 0n, 0n] });
  });

  it("stops at exchanges (their funds are everyone's) and never walks back through a mint", function () {
    const l = new Ledger()
      .tx("0x01", [S, EX, 1000n])
      .tx("0x02", [EX, X, 10n])
      .tx("0x03", [ZERO, X, 10n]);
    expect(amounts(l.engine())).to.deep.equal({ received: 20n, exchange: [10n, 0n, 0n] });
  });

  it("two paths merging: each path's amount, largest first, with its transactions", function () {
    const l = new Ledger()
      .tx("0x01", [S, A, 30n])
      .tx("0x02", [S, B, 10n])
      .tx("0x03", [A, C, 30n])
      .tx("0x04", [B, C, 10n])
      .tx("0x05", [C, X, 20n]);
    const engine = l.engine();
    expect(amounts(engine)).to.deep.equal({ received: 20n, sanctioned: [0n, 0n, 20n] });
    const paths = topPaths(engine, X, "sanctioned", 5);
    expect(paths.map((p) => [p.amount, p.steps.map((s) => s.txHash)])).to.deep.equal([
      [15n, ["0x01", "0x03", "0x05"]],
      [5n, ["0x02", "0x04", "0x05"]],
    ]);
    expect(paths[0]?.source).to.equal(S);
    expect(paths[0]?.sourceLabel).to.equal("OFAC SDN");
  });
});

describe("risk: score", function () {
  /** docs/risk.md's worked example. */
  const example = () =>
    new Ledger()
      .tx("0x01", [M, B, 30n])
      .tx("0x02", [H, B, 10n])
      .tx("0x03", [P, X, 10n])
      .tx("0x04", [B, X, 20n])
      .tx("0x05", [W, X, 70n])
      .engine();

  it("adds each category's points: weight × hop factor × share (counted up to the saturation)", function () {
    const r = assessAddress(example(), X, DEFAULT_RISK_CONFIG);
    // phishing 70 × 100 % × min(10 %, 10 %)/10 % = 70; mixer 80 × 50 % × 1 = 40;
    // hack 90 × 50 % × 5 %/10 % = 22.5: 132.5, capped at 100.
    expect(
      r.exposures.map((e) => [e.category, e.direct, e.indirect, e.shareBasisPoints, e.centipoints]),
    ).to.deep.equal([
      ["phishing", 10n, 0n, 1000, 7000],
      ["mixer", 0n, 15n, 1500, 4000],
      ["hack", 0n, 5n, 500, 2250],
    ]);
    expect(r.score).to.equal(100);
    expect(r.verdict).to.equal("severe");
    expect(r.paths.map((p) => [p.category, p.amount, p.steps.map((s) => s.txHash)])).to.deep.equal([
      ["phishing", 10n, ["0x03"]],
      ["mixer", 15n, ["0x01", "0x04"]],
      ["hack", 5n, ["0x02", "0x04"]],
    ]);
  });

  it("with a configuration: saturation 100 % and other weights give 15 (low)", function () {
    const config = riskConfigOf({ saturation: 10_000, weights: { exchange: 0 } });
    const r = assessAddress(example(), X, config);
    // 70 × 1 × 10 % = 7; 80 × 0.5 × 15 % = 6; 90 × 0.5 × 5 % = 2.25: 15.25.
    expect(r.exposures.map((e) => e.centipoints)).to.deep.equal([700, 600, 225]);
    expect(r.score).to.equal(15);
    expect(r.verdict).to.equal("low");
    const json = riskReportJson(r);
    expect(json["received"]).to.equal("100");
    expect((json["exposures"] as { share: string }[]).map((e) => e.share)).to.deep.equal([
      "10.00%",
      "15.00%",
      "5.00%",
    ]);
  });

  it("thresholds decide the verdict; an address's own label scores as hop 0", function () {
    const l = new Ledger().tx("0x01", [W, S, 10n]);
    const r = assessAddress(l.engine(), S, DEFAULT_RISK_CONFIG);
    expect(r.label).to.deep.equal({ category: "sanctioned", label: "OFAC SDN" });
    expect([r.score, r.verdict]).to.deep.equal([100, "severe"]);
    const d = new Ledger().tx("0x01", [S, X, 3n]).tx("0x02", [W, X, 97n]);
    // 100 × 100 % × 3 %/10 % = 30: medium by default, high with high at 30.
    expect(assessAddress(d.engine(), X, DEFAULT_RISK_CONFIG).verdict).to.equal("medium");
    const strict = riskConfigOf({ thresholds: { high: 30 } });
    expect(assessAddress(d.engine(), X, strict).verdict).to.equal("high");
    expect(assessAddress(new Ledger().engine(), X, DEFAULT_RISK_CONFIG)).to.include({
      score: 0,
      verdict: "low",
      received: 0n,
    });
  });

  it("refuses a bad configuration, naming the field", function () {
    const bad: [unknown, RegExp][] = [
      [[], /JSON object/],
      [{ weight: {} }, /unknown field "weight"/],
      [{ weights: { terror: 5 } }, /unknown category "terror"/],
      [{ weights: { sanctioned: 101 } }, /weights.sanctioned/],
      [{ hops: [] }, /hops/],
      [{ saturation: 0 }, /saturation/],
      [{ thresholds: { high: 10 } }, /must rise/],
      [{ thresholds: { extreme: 10 } }, /unknown verdict/],
    ];
    for (const [value, message] of bad) {
      expect(() => riskConfigOf(value), JSON.stringify(value))
        .to.throw(TracerError)
        .with.property("message")
        .that.matches(message);
    }
    const config: RiskConfig = riskConfigOf({});
    expect(config).to.deep.equal(DEFAULT_RISK_CONFIG);
  });
});

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected an error");
}

describe("risk: screening", function () {
  it("reads TXT and CSV input, with a header, a token column, comments and blank lines", function () {
    expect(parseScreenInput(`# customers\n${X}\n\n  ${A} \n`, false)).to.deep.equal([
      { line: 2, input: X },
      { line: 4, input: A },
    ]);
    expect(
      parseScreenInput(`customer,token,address\n7,native,"${X}"\n8,,${A}\n`, true),
    ).to.deep.equal([
      { line: 2, input: X, token: "native" },
      { line: 3, input: A },
    ]);
    expect(parseScreenInput(`${X},${TOKEN}\n`, true)).to.deep.equal([
      { line: 1, input: X, token: TOKEN },
    ]);
  });

  it("reads CSV as spreadsheets write it: quoted commas and line breaks, ';' exports, a BOM, CRLF", function () {
    // A customer name with a comma, quoted: one cell, the address still in its column.
    expect(
      parseScreenInput(
        `name,address,token\n"Müller, Hans",${X},native\n"Doe ""JD"", John",${A},\n`,
        true,
      ),
    ).to.deep.equal([
      { line: 2, input: X, token: "native" },
      { line: 3, input: A },
    ]);
    // European Excel: ';' between cells, a byte-order mark, CRLF, decimal commas in other cells.
    expect(
      parseScreenInput(
        `\uFEFFKunde;Betrag;address\r\n"Müller";1,5;${X}\r\nSchmidt;2,25;${A}\r\n`,
        true,
      ),
    ).to.deep.equal([
      { line: 2, input: X },
      { line: 3, input: A },
    ]);
    // A quoted note spanning two lines: the next record keeps its true line number.
    expect(
      parseScreenInput(
        `address,note\n${X},"first line\nsecond line"\n# skipped\n\n${A},ok\n`,
        true,
      ),
    ).to.deep.equal([
      { line: 2, input: X },
      { line: 6, input: A },
    ]);
  });

  it("refuses a CSV file it can't read with one line naming where", function () {
    const error = thrown(() => parseScreenInput(`address\n${X}\n"${A},native\n`, true));
    expect(error).to.be.instanceOf(TracerError);
    expect(error.message).to.match(/^not readable as CSV at line \d+: /);
    expect(error.message).to.not.include("\n");
  });

  it("writes CSV cells a spreadsheet can't run as formulas", function () {
    for (const formula of ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"]) {
      const cell = csvCell(formula);
      expect(cell, formula).to.match(/^"'/);
    }
    expect(csvCell("=1;2")).to.equal(`"'=1;2"`);
    expect(csvCell("plain")).to.equal("plain");
    expect(csvCell(42)).to.equal("42");
    expect(csvCell('a "b", c')).to.equal(`"a ""b"", c"`);
    const csv = screenCsv({
      chainId: 1,
      hops: 1,
      toBlock: 1,
      streams: [],
      lines: [
        {
          line: 1,
          input: "=cmd|' /C calc'!A0",
          address: null,
          token: null,
          report: null,
          error: "malformed address",
        },
      ],
    });
    expect(csv.split("\n")[1]).to.equal(`1,"'=cmd|' /C calc'!A0",,,,,,,malformed address`);
  });

  it("names what is wrong with an address, Bitcoin and Tron addresses of the TagPacks included", function () {
    expect(addressProblem(X)).to.equal(null);
    expect(addressProblem("0x8589427373D6D84E98730D7795D8f6f8731FDA16")).to.equal(null);
    expect(addressProblem("0x8589427373D6D84E98730D7795D8f6f8731FDa16")).to.match(/checksum/);
    expect(addressProblem("0x1234")).to.match(/^malformed/);
    expect(addressProblem("3K35dyL85fR9ht7UgzPfd1gLRRXQtNTqE3")).to.match(/bitcoin format/);
    expect(addressProblem("TNeEwWHXLLUgEtfzTnYN8wtVenGxuMzZCE")).to.match(/tron format/);
  });

  it("screens 10,000 addresses on one engine: the few exposed ones, each explained", function () {
    const l = new Ledger();
    const customers = Array.from(
      { length: 10_000 },
      (_, i) => `0x${(0x100000 + i).toString(16).padStart(40, "0")}`,
    );
    const relays = Array.from(
      { length: 100 },
      (_, i) => `0x${(0x900000 + i).toString(16).padStart(40, "0")}`,
    );
    for (const r of relays) l.tx(`0xr${r.slice(-4)}`, [W, r, 1000n]);
    l.tx("0xs1", [S, relays[7] as string, 1000n]); // relay 7: half sanctioned
    customers.forEach((c, i) => l.tx(`0xc${i}`, [relays[i % 100] as string, c, 10n]));
    l.tx("0xd1", [P, customers[42] as string, 10n]); // customer 42: half phishing, direct
    const engine = l.engine(3);
    const start = performance.now();
    const reports = customers.map((c) => assessAddress(engine, c, DEFAULT_RISK_CONFIG));
    const seconds = (performance.now() - start) / 1000;
    const flagged = reports.filter((r) => r.score > 0);
    // Customers 7, 107, …, 9907 got 5 of 10 sanctioned at hop 2 (50 points); 42 phishing (70).
    expect(flagged.map((r) => r.address).sort()).to.deep.equal(
      [...customers.filter((_, i) => i % 100 === 7), customers[42] as string].sort(),
    );
    const seven = reports[7];
    expect([seven?.score, seven?.verdict, seven?.exposures[0]?.indirect]).to.deep.equal([
      50,
      "high",
      5n,
    ]);
    expect(seven?.paths[0]?.steps.map((s) => s.txHash)).to.deep.equal(["0xs1", "0xc7"]);
    expect([reports[42]?.score, reports[42]?.verdict]).to.deep.equal([70, "high"]);
    expect(seconds).to.be.below(20);
  });
});
