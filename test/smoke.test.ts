import { expect } from "chai";
import { network } from "hardhat";
import { deployConsortium } from "./helpers/fixture.js";

const { ethers, networkHelpers } = await network.create();

describe("fixture", function () {
  it("deploys the consortium and admits four institutions", async function () {
    const c = await networkHelpers.loadFixture(async function consortium() {
      return deployConsortium(ethers);
    });
    expect(await c.registry.participantCount()).to.equal(7n);
  });
});
