import { expect } from "chai";
import { network } from "hardhat";
import type { NetworkConnection } from "hardhat/types/network";
import {
  connectConsortium,
  hashDocument,
  InputError,
  type DeploymentRecord,
} from "../src/client/index.js";
import { checkParameters, deployConsortium, type FounderInput } from "../scripts/lib/deploy.js";
import { startLocalChain, type LocalChain } from "../scripts/lib/local-chain.js";

async function founders(connection: NetworkConnection): Promise<FounderInput[]> {
  const signers = await connection.ethers.getSigners();
  return signers.slice(0, 3).map((s, i) => ({
    kind: "AUDITOR",
    metadataCommitment: hashDocument(`founder ${i}`),
    signingKey: s.address,
  }));
}

/** What every deployment must satisfy, whatever the node. */
async function checkDeployment(
  connection: NetworkConnection,
  record: DeploymentRecord,
): Promise<void> {
  const provider = connection.ethers.provider;
  const { chainId } = await provider.getNetwork();
  expect(record.chainId).to.equal(Number(chainId));
  for (const address of Object.values(record.contracts)) {
    expect(await provider.getCode(address)).to.not.equal("0x");
  }
  // The start block holds the registry's deployment: nothing of the consortium exists before it.
  const before = record.startBlock - 1;
  expect(await provider.getCode(record.contracts.ParticipantRegistry, before)).to.equal("0x");
  const c = connectConsortium(record, provider);
  const [members, quorum] = await c.registry.council();
  expect(members.map(Number)).to.deep.equal([1, 2, 3]);
  expect(quorum).to.equal(2n);
  expect(await c.cases.registry()).to.equal(record.contracts.ParticipantRegistry);
  expect(await c.access.cases()).to.equal(record.contracts.CaseRegistry);
  expect(await c.anchor.cases()).to.equal(record.contracts.CaseRegistry);
  expect(await c.matching.access()).to.equal(record.contracts.AccessLedger);
  expect(await c.matching.cases()).to.equal(record.contracts.CaseRegistry);
  const admitted = await c.registry.queryFilter(
    c.registry.filters.ParticipantAdmitted(),
    record.startBlock,
  );
  expect(admitted).to.have.length(3);
}

describe("Ignition deployment", function () {
  describe("checkParameters", function () {
    it("rejects an empty council", function () {
      expect(() => checkParameters([], 1)).to.throw(InputError, /founders/);
    });
    it("rejects a quorum above the council's size", function () {
      const one = {
        kind: "AUDITOR",
        metadataCommitment: hashDocument("x"),
        signingKey: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
      };
      expect(() => checkParameters([one], 2)).to.throw(InputError, /quorum/);
    });
    it("rejects a malformed signing key", function () {
      expect(() =>
        checkParameters(
          [{ kind: "AUDITOR", metadataCommitment: hashDocument("x"), signingKey: "0x1234" }],
          1,
        ),
      ).to.throw(InputError, /signingKey/);
    });
  });

  it("deploys in-process (EDR)", async function () {
    const connection = await network.create();
    const record = await deployConsortium(connection, await founders(connection), 2);
    await checkDeployment(connection, record);
  });

  for (const kind of ["hardhat", "anvil"] as const) {
    describe(`against ${kind === "hardhat" ? "a `hardhat node`" : "an anvil"} process`, function () {
      let chain: LocalChain;
      before(async function () {
        chain = await startLocalChain(kind);
      });
      after(async function () {
        await chain.stop();
      });

      it("deploys the consortium and writes a consistent record", async function () {
        const connection = await network.create({
          network: "localhost",
          override: { url: chain.url },
        });
        const record = await deployConsortium(connection, await founders(connection), 2, {
          deploymentId: `test-${kind}-${Date.now()}`,
          ephemeral: true,
        });
        await checkDeployment(connection, record);
      });
    });
  }
});
