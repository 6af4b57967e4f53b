import { expect } from "chai";
import { network } from "hardhat";
import {
  BATCH_PER_ENTRY_LIMIT,
  BATCH_SIZES,
  DELIVERY_SHARE_LIMIT,
  measureGas,
  toJson,
  type GasReport,
  type TxGas,
} from "../scripts/bench-gas.js";

const connection = await network.create();

/** Gas is deterministic on the in-process network, so the targets are asserted, not sampled. */
describe("bench:gas", function () {
  let report: GasReport;

  before(async function () {
    report = await measureGas(connection);
  });

  const measured = (): TxGas[] => [
    report.eas.attest.first,
    report.eas.attest.steady,
    report.eas.attestByDelegation.first,
    report.eas.attestByDelegation.steady,
    report.veritrace.delivery.first,
    report.veritrace.delivery.steady,
    report.veritrace.anchorFirstEver,
    ...report.veritrace.batches.map((b) => b.gas),
    ...Object.values(report.veritrace.matching).flatMap((m) => [m.first, m.steady]),
    ...Object.values(report.veritrace.exchange).flatMap((m) => [m.first, m.steady]),
  ];

  it("measures every transaction as a positive integer gasUsed above its intrinsic gas", function () {
    for (const g of measured()) {
      expect(Number.isSafeInteger(g.gasUsed) && g.gasUsed > 0, `gasUsed ${g.gasUsed}`).to.be.true;
      expect(g.gasUsed).to.be.greaterThan(g.intrinsic);
    }
  });

  it("anchors batches of 1, 100 and 10,000 entries, gas per entry a positive integer", function () {
    expect(report.veritrace.batches.map((b) => b.entries)).to.deep.equal([...BATCH_SIZES]);
    for (const b of report.veritrace.batches) {
      expect(Number.isSafeInteger(b.perEntry) && b.perEntry > 0, `perEntry ${b.perEntry}`).to.be
        .true;
      expect(b.perEntry).to.equal(Math.ceil(b.gas.gasUsed / b.entries));
    }
  });

  it("keeps a co-signed delivery at or below half of an EAS attestByDelegation", function () {
    expect(report.veritrace.delivery.steady.gasUsed).to.be.at.most(
      report.eas.attestByDelegation.steady.gasUsed * DELIVERY_SHARE_LIMIT,
    );
    expect(report.targets.delivery.met).to.be.true;
  });

  it("anchors 10,000 entries at or below 100 gas per entry", function () {
    const largest = report.veritrace.batches.find((b) => b.entries === 10_000);
    expect(largest?.perEntry).to.be.a("number").and.at.most(BATCH_PER_ENTRY_LIMIT);
    expect(report.targets.batchPerEntry.met).to.be.true;
  });

  it("reports the headline figures under the agreed JSON keys", function () {
    const json = toJson(report);
    expect(json["eas.attest"]).to.equal(report.eas.attest.steady.gasUsed);
    expect(json["eas.attestByDelegation"]).to.equal(report.eas.attestByDelegation.steady.gasUsed);
    expect(json["veritrace.delivery"]).to.equal(report.veritrace.delivery.steady.gasUsed);
    expect(json["veritrace.batchPerEntry"]).to.have.all.keys("1", "100", "10000");
  });
});
