import { readFileSync } from "node:fs";
import { expect } from "chai";
import { RECORD, currentSelectors, type Selectors } from "../scripts/abi-selectors.js";

/**
 * What is on the wire stays as recorded: every function selector, event topic and error selector
 * of the consortium contracts equals docs/abi-selectors.json. Clients, the indexer and the
 * institutions' own code decode by these; a refactoring must not change one. A deliberate change
 * rewrites the record (npx tsx scripts/abi-selectors.ts --write) in the same commit.
 */
describe("contract ABIs: selectors as recorded", function () {
  const recorded = JSON.parse(readFileSync(RECORD, "utf8")) as Selectors;
  const current = currentSelectors();

  it("the same contracts", function () {
    expect(Object.keys(current)).to.deep.equal(Object.keys(recorded));
  });

  for (const name of Object.keys(recorded)) {
    it(`${name}: the same functions, events and errors`, function () {
      expect(current[name], `${name} is not built`).to.not.equal(undefined);
      expect(current[name]?.functions).to.deep.equal(recorded[name]?.functions);
      expect(current[name]?.events).to.deep.equal(recorded[name]?.events);
      expect(current[name]?.errors).to.deep.equal(recorded[name]?.errors);
    });
  }

  it("names each function by its selector (the record is not empty)", function () {
    const registry = recorded["ParticipantRegistry"];
    expect(registry?.functions).to.include("paused() 0x5c975abb");
    expect(registry?.events.length).to.be.greaterThan(5);
  });
});
