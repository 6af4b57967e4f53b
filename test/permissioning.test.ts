import { anyValue } from "@nomicfoundation/hardhat-ethers-chai-matchers/withArgs";
import { expect } from "chai";
import {
  concat,
  dataLength,
  Interface,
  keccak256,
  toBeHex,
  toUtf8Bytes,
  ZeroAddress,
} from "ethers";
import { artifacts, network } from "hardhat";
import PermissioningModule from "../ignition/modules/Permissioning.js";
import { ingressStorage, INGRESS_ADDRESS } from "../scripts/lib/permissioning.js";
import { Action, coder, deployConsortium, kind, passProposal } from "./helpers/fixture.js";
import { addressOf, approved, at, encode, reason } from "./helpers/council.js";

const { ethers, networkHelpers, ignition } = await network.create();

/** The interfaces exactly as Besu calls them. */
const accountAbi = new Interface([
  "function transactionAllowed(address sender, address target, uint256 value, uint256 gasPrice, uint256 gasLimit, bytes payload) view returns (bool)",
]);
const nodeAbi = new Interface([
  "function connectionAllowed(bytes32 sourceEnodeHigh, bytes32 sourceEnodeLow, bytes16 sourceIp, uint16 sourcePort, bytes32 destinationEnodeHigh, bytes32 destinationEnodeLow, bytes16 destinationIp, uint16 destinationPort) view returns (bytes32)",
  "function connectionAllowed(string enodeId, string enodeHost, uint16 enodePort) view returns (bool)",
]);
const V1 = "connectionAllowed(bytes32,bytes32,bytes16,uint16,bytes32,bytes32,bytes16,uint16)";
const V2 = "connectionAllowed(string,string,uint16)";

const TRUE = toBeHex(1, 32);
const FALSE = toBeHex(0, 32);
const ALLOW = "0x" + "ff".repeat(32);
const DENY = "0x7f" + "ff".repeat(31);

/** An enode id: the node's 64-byte public key as two words. */
interface Enode {
  high: string;
  low: string;
}
const enode = (label: string): Enode => ({
  high: keccak256(toUtf8Bytes(`${label}:high`)),
  low: keccak256(toUtf8Bytes(`${label}:low`)),
});
/** The v2 form: 128 hex characters without 0x. */
const enodeHex = (n: Enode): string => n.high.slice(2) + n.low.slice(2);
/** 127.0.0.1 as the IPv4-mapped IPv6 address ::ffff:127.0.0.1. */
const IPV4_LOCALHOST = "0x00000000000000000000ffff7f000001";

const encodeNode = (id: number, n: Enode): string =>
  coder.encode(["uint32", "bytes32", "bytes32"], [id, n.high, n.low]);
const encodeRules = (ingress: string, rules: string): string =>
  coder.encode(["address", "address"], [ingress, rules]);

const txData = (sender: string, target: string, payload = "0x"): string =>
  accountAbi.encodeFunctionData("transactionAllowed", [sender, target, 0, 0, 21_000, payload]);
const v1Data = (source: Enode, destination: Enode): string =>
  nodeAbi.encodeFunctionData(V1, [
    source.high,
    source.low,
    IPV4_LOCALHOST,
    30303,
    destination.high,
    destination.low,
    IPV4_LOCALHOST,
    30304,
  ]);
const v2Data = (id: string, host = "127.0.0.1", port = 30303): string =>
  nodeAbi.encodeFunctionData(V2, [id, host, port]);

/** Calls `to` as Besu does: eth_call from the zero address at the head; checks the answer is one word. */
async function besuCall(to: string, data: string): Promise<string> {
  const answer = await ethers.provider.call({ to, data, from: ZeroAddress });
  expect(dataLength(answer), `answer ${answer}`).to.equal(32);
  return answer;
}

const NODES = { police: enode("police-1"), bank: enode("bank-1"), stranger: enode("stranger") };

/** The fixture's consortium with rules deployed, ingresses at their genesis addresses, nodes registered. */
async function permissioned() {
  const c = await deployConsortium(ethers);
  const registryAddress = await c.registry.getAddress();
  const accountRules = await ethers.deployContract("AccountRules", [registryAddress, [], []]);
  const nodeRules = await ethers.deployContract("NodeRules", [registryAddress]);
  // The ingresses as a genesis gives them: code and storage, no constructor; rules not set yet.
  for (const [address, name] of [
    [INGRESS_ADDRESS.accounts, "AccountIngress"],
    [INGRESS_ADDRESS.nodes, "NodeIngress"],
  ] as const) {
    const { deployedBytecode } = await artifacts.readArtifact(name);
    await networkHelpers.setCode(address, deployedBytecode);
    for (const [slot, value] of Object.entries(ingressStorage(registryAddress, ZeroAddress))) {
      await networkHelpers.setStorageAt(address, slot, value);
    }
  }
  await passProposal(
    c.registry,
    c.council,
    Action.SetRules,
    encodeRules(INGRESS_ADDRESS.accounts, await accountRules.getAddress()),
  );
  await passProposal(
    c.registry,
    c.council,
    Action.SetRules,
    encodeRules(INGRESS_ADDRESS.nodes, await nodeRules.getAddress()),
  );
  await passProposal(c.registry, c.council, Action.AddNode, encodeNode(c.ids.police, NODES.police));
  await passProposal(c.registry, c.council, Action.AddNode, encodeNode(c.ids.bank, NODES.bank));
  const accountIngress = await ethers.getContractAt("AccountIngress", INGRESS_ADDRESS.accounts);
  const nodeIngress = await ethers.getContractAt("NodeIngress", INGRESS_ADDRESS.nodes);
  return {
    ...c,
    accountRules,
    nodeRules,
    accountIngress,
    nodeIngress,
    targets: {
      accounts: [
        ["AccountRules", await accountRules.getAddress()],
        ["AccountIngress", INGRESS_ADDRESS.accounts],
      ] as const,
      nodes: [
        ["NodeRules", await nodeRules.getAddress()],
        ["NodeIngress", INGRESS_ADDRESS.nodes],
      ] as const,
    },
  };
}

async function setup() {
  return networkHelpers.loadFixture(permissioned);
}

/**
 * Writes `rules` straight into an ingress's rules slot, as a genesis file could: how a test gets
 * rules in place that the ingress's probe refuses, to check how the forwarding treats them.
 */
async function forceRules(ingress: string, rules: string): Promise<void> {
  await networkHelpers.setStorageAt(ingress, 1, ethers.zeroPadValue(rules, 32));
}

describe("Besu permissioning", function () {
  describe("interfaces", function () {
    it("has Besu's selectors: transactionAllowed 0x936421d5, connectionAllowed v1 0x3620b1df, v2 0x45a59e5b", async function () {
      expect(accountAbi.getFunction("transactionAllowed")?.selector).to.equal("0x936421d5");
      expect(nodeAbi.getFunction(V1)?.selector).to.equal("0x3620b1df");
      expect(nodeAbi.getFunction(V2)?.selector).to.equal("0x45a59e5b");
      // The contracts' own interfaces declare the same functions.
      const account = await artifacts.readArtifact("IAccountRules");
      const v1 = await artifacts.readArtifact("INodeRulesV1");
      const v2 = await artifacts.readArtifact("INodeRulesV2");
      expect(new Interface(account.abi).getFunction("transactionAllowed")?.selector).to.equal(
        "0x936421d5",
      );
      expect(new Interface(v1.abi).getFunction("connectionAllowed")?.selector).to.equal(
        "0x3620b1df",
      );
      expect(new Interface(v2.abi).getFunction("connectionAllowed")?.selector).to.equal(
        "0x45a59e5b",
      );
    });
  });

  describe("ParticipantRegistry.keyStatus", function () {
    it("answers (0, false) for an unknown account", async function () {
      const { registry } = await setup();
      expect(await registry.keyStatus(addressOf("nobody"))).to.deep.equal([0n, false]);
    });

    it("answers (participant, true) for an active key of an active participant", async function () {
      const { registry, bank, ids } = await setup();
      expect(await registry.keyStatus(bank.address)).to.deep.equal([BigInt(ids.bank), true]);
    });

    it("answers (participant, false) for a key of a suspended participant", async function () {
      const { registry, council, bank, ids } = await setup();
      await passProposal(registry, council, Action.Suspend, encode.participant(ids.bank));
      expect(await registry.keyStatus(bank.address)).to.deep.equal([BigInt(ids.bank), false]);
    });

    it("answers (participant, false) for a removed key", async function () {
      const { registry, council, bank, ids } = await setup();
      const spare = addressOf("bank-2");
      await passProposal(registry, council, Action.AddSigningKey, encode.key(ids.bank, spare));
      await passProposal(
        registry,
        council,
        Action.RemoveSigningKey,
        encode.key(ids.bank, bank.address),
      );
      expect(await registry.keyStatus(bank.address)).to.deep.equal([BigInt(ids.bank), false]);
      expect(await registry.keyStatus(spare)).to.deep.equal([BigInt(ids.bank), true]);
    });
  });

  describe("transactionAllowed (AccountRules and AccountIngress)", function () {
    const forEachTarget = (
      name: string,
      body: (to: string, c: Awaited<ReturnType<typeof setup>>) => Promise<void>,
    ) => {
      for (const label of ["AccountRules", "AccountIngress"] as const) {
        it(`${name} (${label})`, async function () {
          const c = await setup();
          const to = c.targets.accounts.find(([l]) => l === label)?.[1] ?? "";
          await body(to, c);
        });
      }
    };

    forEachTarget("allows an active participant's key", async (to, { bank, access }) => {
      expect(await besuCall(to, txData(bank.address, await access.getAddress()))).to.equal(TRUE);
      expect(await besuCall(to, txData(bank.address, ZeroAddress, "0x6080"))).to.equal(TRUE);
    });

    forEachTarget("allows a council member's key", async (to, { council }) => {
      expect(await besuCall(to, txData(at(council, 0).address, ZeroAddress))).to.equal(TRUE);
    });

    forEachTarget("denies an unknown account", async (to, { others }) => {
      expect(await besuCall(to, txData(at(others, 0).address, ZeroAddress))).to.equal(FALSE);
      expect(await besuCall(to, txData(ZeroAddress, ZeroAddress))).to.equal(FALSE);
    });

    forEachTarget(
      "denies a suspended participant, allows it again once reinstated, denies it once revoked",
      async (to, { registry, council, bank, ids }) => {
        await passProposal(registry, council, Action.Suspend, encode.participant(ids.bank));
        expect(await besuCall(to, txData(bank.address, ZeroAddress))).to.equal(FALSE);
        await passProposal(registry, council, Action.Reinstate, encode.participant(ids.bank));
        expect(await besuCall(to, txData(bank.address, ZeroAddress))).to.equal(TRUE);
        await passProposal(registry, council, Action.Revoke, encode.participant(ids.bank));
        expect(await besuCall(to, txData(bank.address, ZeroAddress))).to.equal(FALSE);
      },
    );

    forEachTarget(
      "after a key rotation denies the old key and allows the new one",
      async (to, { registry, council, bank, ids, others }) => {
        const next = at(others, 1).address;
        await passProposal(registry, council, Action.AddSigningKey, encode.key(ids.bank, next));
        await passProposal(
          registry,
          council,
          Action.RemoveSigningKey,
          encode.key(ids.bank, bank.address),
        );
        expect(await besuCall(to, txData(bank.address, ZeroAddress))).to.equal(FALSE);
        expect(await besuCall(to, txData(next, ZeroAddress))).to.equal(TRUE);
      },
    );

    forEachTarget("denies malformed calldata without reverting", async (to, { bank }) => {
      const good = txData(bank.address, ZeroAddress, "0x1234");
      const selector = good.slice(0, 10);
      const word = (n: number) => toBeHex(n, 32).slice(2);
      const malformed = [
        "0x",
        "0x9364",
        selector,
        good.slice(0, 10 + 64 * 6 - 2), // one byte short of the head
        // sender with dirty high bits
        selector + "ff" + good.slice(12),
        // target with dirty high bits
        selector + good.slice(10, 74) + "01" + good.slice(76),
        // payload offset past the end
        selector + good.slice(10, 10 + 64 * 5) + word(0x1000) + good.slice(10 + 64 * 6),
        // payload offset inside the head
        selector + good.slice(10, 10 + 64 * 5) + word(0x20) + good.slice(10 + 64 * 6),
        // payload offset near 2^256
        selector + good.slice(10, 10 + 64 * 5) + "ff".repeat(32) + good.slice(10 + 64 * 6),
        // payload length beyond the calldata
        good.slice(0, 10 + 64 * 6) + word(0x1000) + good.slice(10 + 64 * 7),
        good.slice(0, 10 + 64 * 6) + "ff".repeat(32) + good.slice(10 + 64 * 7),
        // another function
        "0xdeadbeef" + good.slice(10),
      ];
      for (const data of malformed) {
        expect(await besuCall(to, data), data).to.equal(FALSE);
      }
      expect(await besuCall(to, good)).to.equal(TRUE);
    });
  });

  describe("AccountRules with restricted kinds", function () {
    async function restricted(withCreation: boolean) {
      const c = await setup();
      const consortium = [await c.access.getAddress(), await c.cases.getAddress()];
      if (withCreation) consortium.push(ZeroAddress);
      const rules = await ethers.deployContract("AccountRules", [
        await c.registry.getAddress(),
        [kind("BANK"), kind("TELECOM")],
        consortium,
      ]);
      return { ...c, rules: await rules.getAddress(), consortium, contract: rules };
    }

    it("lets a restricted participant call the consortium's contracts only", async function () {
      const { rules, bank, access, others } = await restricted(false);
      expect(await besuCall(rules, txData(bank.address, await access.getAddress()))).to.equal(TRUE);
      expect(await besuCall(rules, txData(bank.address, at(others, 0).address))).to.equal(FALSE);
    });

    it("denies contract creation to a restricted participant unless address(0) is a consortium target", async function () {
      const { rules, bank } = await restricted(false);
      expect(await besuCall(rules, txData(bank.address, ZeroAddress))).to.equal(FALSE);
      const open = await restricted(true);
      expect(await besuCall(open.rules, txData(open.bank.address, ZeroAddress))).to.equal(TRUE);
    });

    it("leaves participants of other kinds unrestricted", async function () {
      const { rules, police, others } = await restricted(false);
      expect(await besuCall(rules, txData(police.address, at(others, 0).address))).to.equal(TRUE);
      expect(await besuCall(rules, txData(police.address, ZeroAddress))).to.equal(TRUE);
    });

    it("still denies a suspended restricted participant calling a consortium contract", async function () {
      const { rules, registry, council, bank, ids, access } = await restricted(false);
      await passProposal(registry, council, Action.Suspend, encode.participant(ids.bank));
      expect(await besuCall(rules, txData(bank.address, await access.getAddress()))).to.equal(
        FALSE,
      );
    });

    it("lists its configuration", async function () {
      const { contract, consortium, registry } = await restricted(false);
      expect(await contract.restrictedKinds()).to.deep.equal([kind("BANK"), kind("TELECOM")]);
      expect(await contract.consortiumContracts()).to.deep.equal(consortium);
      expect(await contract.registry()).to.equal(await registry.getAddress());
    });

    it("reverts with NotAContract when deployed with a registry that has no code", async function () {
      const factory = await ethers.getContractFactory("AccountRules");
      const registry = addressOf("no-registry");
      await expect(factory.deploy(registry, [], []))
        .to.be.revertedWithCustomError(factory, "NotAContract")
        .withArgs(registry);
    });
  });

  describe("connectionAllowed (NodeRules and NodeIngress)", function () {
    const forEachTarget = (
      name: string,
      body: (to: string, c: Awaited<ReturnType<typeof setup>>) => Promise<void>,
    ) => {
      for (const label of ["NodeRules", "NodeIngress"] as const) {
        it(`${name} (${label})`, async function () {
          const c = await setup();
          const to = c.targets.nodes.find(([l]) => l === label)?.[1] ?? "";
          await body(to, c);
        });
      }
    };

    forEachTarget("v1 allows two registered nodes of active participants", async (to) => {
      expect(await besuCall(to, v1Data(NODES.police, NODES.bank))).to.equal(ALLOW);
    });

    forEachTarget("v1 denies when either end is not registered", async (to) => {
      expect(await besuCall(to, v1Data(NODES.police, NODES.stranger))).to.equal(DENY);
      expect(await besuCall(to, v1Data(NODES.stranger, NODES.bank))).to.equal(DENY);
    });

    forEachTarget(
      "v2 allows a registered node of an active participant, in either hex case",
      async (to) => {
        expect(await besuCall(to, v2Data(enodeHex(NODES.police)))).to.equal(TRUE);
        expect(await besuCall(to, v2Data(enodeHex(NODES.police).toUpperCase()))).to.equal(TRUE);
      },
    );

    forEachTarget("v2 checks the enode id only, not the host or port", async (to) => {
      expect(await besuCall(to, v2Data(enodeHex(NODES.bank), "10.1.2.3", 1))).to.equal(TRUE);
      expect(await besuCall(to, v2Data(enodeHex(NODES.bank), "", 0))).to.equal(TRUE);
    });

    forEachTarget("v2 denies an unregistered node", async (to) => {
      expect(await besuCall(to, v2Data(enodeHex(NODES.stranger)))).to.equal(FALSE);
    });

    forEachTarget(
      "denies a suspended participant's node, allows it once reinstated, denies it once revoked",
      async (to, { registry, council, ids }) => {
        await passProposal(registry, council, Action.Suspend, encode.participant(ids.bank));
        expect(await besuCall(to, v1Data(NODES.police, NODES.bank))).to.equal(DENY);
        expect(await besuCall(to, v2Data(enodeHex(NODES.bank)))).to.equal(FALSE);
        await passProposal(registry, council, Action.Reinstate, encode.participant(ids.bank));
        expect(await besuCall(to, v1Data(NODES.police, NODES.bank))).to.equal(ALLOW);
        expect(await besuCall(to, v2Data(enodeHex(NODES.bank)))).to.equal(TRUE);
        await passProposal(registry, council, Action.Revoke, encode.participant(ids.bank));
        expect(await besuCall(to, v1Data(NODES.police, NODES.bank))).to.equal(DENY);
        expect(await besuCall(to, v2Data(enodeHex(NODES.bank)))).to.equal(FALSE);
      },
    );

    forEachTarget("denies a removed node", async (to, { registry, council, ids }) => {
      await passProposal(registry, council, Action.RemoveNode, encodeNode(ids.bank, NODES.bank));
      expect(await besuCall(to, v1Data(NODES.police, NODES.bank))).to.equal(DENY);
      expect(await besuCall(to, v2Data(enodeHex(NODES.bank)))).to.equal(FALSE);
    });

    forEachTarget("v2 denies malformed enode ids and calldata without reverting", async (to) => {
      const id = enodeHex(NODES.police);
      const good = v2Data(id);
      const word = (n: number) => toBeHex(n, 32).slice(2);
      const malformed = [
        v2Data("0x" + id),
        v2Data(id.slice(0, 127)),
        v2Data(id + "0"),
        v2Data(id.slice(0, 126) + "zz"),
        v2Data(id.slice(0, 63) + "g" + id.slice(64)),
        v2Data("enode://" + id + "@127.0.0.1:30303"),
        v2Data(""),
        good.slice(0, 10),
        good.slice(0, 10 + 64 * 3 - 2),
        // port with dirty high bits
        good.slice(0, 10 + 64 * 2) + word(0x10000) + good.slice(10 + 64 * 3),
        // enode id offset past the end, and near 2^256
        good.slice(0, 10) + word(0x1000) + good.slice(10 + 64),
        good.slice(0, 10) + "ff".repeat(32) + good.slice(10 + 64),
        // host offset inside the head
        good.slice(0, 10 + 64) + word(0x20) + good.slice(10 + 64 * 2),
        // enode id length beyond the calldata
        good.slice(0, 10 + 64 * 3) + word(0x10000) + good.slice(10 + 64 * 4),
      ];
      for (const data of malformed) {
        expect(await besuCall(to, data), data).to.equal(FALSE);
      }
      expect(await besuCall(to, good)).to.equal(TRUE);
    });

    forEachTarget("v1 denies malformed calldata without reverting", async (to) => {
      const good = v1Data(NODES.police, NODES.bank);
      const malformed = [
        good.slice(0, 10),
        good.slice(0, good.length - 2),
        // source IP with dirty low bytes (a bytes16 is left-aligned)
        good.slice(0, 10 + 64 * 2) + "00".repeat(31) + "01" + good.slice(10 + 64 * 3),
        // destination port with dirty high bits
        good.slice(0, 10 + 64 * 7) + toBeHex(0x10000, 32).slice(2),
      ];
      for (const data of malformed) {
        expect(await besuCall(to, data), data).to.equal(DENY);
      }
      expect(await besuCall(to, good)).to.equal(ALLOW);
    });

    forEachTarget("answers one zero word to any other call", async (to) => {
      expect(await besuCall(to, "0x")).to.equal(FALSE);
      expect(await besuCall(to, "0xdeadbeef")).to.equal(FALSE);
      expect(
        await besuCall(
          to,
          accountAbi.encodeFunctionData("transactionAllowed", [
            ZeroAddress,
            ZeroAddress,
            0,
            0,
            0,
            "0x",
          ]),
        ),
      ).to.equal(FALSE);
    });

    it("reverts with NotAContract when deployed with a registry that has no code", async function () {
      const factory = await ethers.getContractFactory("NodeRules");
      const registry = addressOf("no-registry");
      await expect(factory.deploy(registry))
        .to.be.revertedWithCustomError(factory, "NotAContract")
        .withArgs(registry);
    });
  });

  describe("execute Action.AddNode", function () {
    it("registers the node and emits NodeAdded", async function () {
      const { registry, council, ids } = await setup();
      const n = enode("telecom-1");
      const id = await approved(registry, council, Action.AddNode, encodeNode(ids.telecom, n));
      await expect(registry.execute(id))
        .to.emit(registry, "NodeAdded")
        .withArgs(ids.telecom, n.high, n.low, id);
      expect(await registry.nodeStatus(n.high, n.low)).to.deep.equal([BigInt(ids.telecom), true]);
    });

    it("accepts a node of a suspended participant, which may connect once reinstated", async function () {
      const { registry, council, ids } = await setup();
      const n = enode("telecom-1");
      await passProposal(registry, council, Action.Suspend, encode.participant(ids.telecom));
      await passProposal(registry, council, Action.AddNode, encodeNode(ids.telecom, n));
      expect(await registry.nodeStatus(n.high, n.low)).to.deep.equal([BigInt(ids.telecom), false]);
      await passProposal(registry, council, Action.Reinstate, encode.participant(ids.telecom));
      expect(await registry.nodeStatus(n.high, n.low)).to.deep.equal([BigInt(ids.telecom), true]);
    });

    it("registers a removed node again, to another participant", async function () {
      const { registry, council, ids } = await setup();
      await passProposal(registry, council, Action.RemoveNode, encodeNode(ids.bank, NODES.bank));
      await passProposal(registry, council, Action.AddNode, encodeNode(ids.telecom, NODES.bank));
      expect(await registry.nodeStatus(NODES.bank.high, NODES.bank.low)).to.deep.equal([
        BigInt(ids.telecom),
        true,
      ]);
    });

    it("fails the proposal with UnknownParticipant when the participant does not exist", async function () {
      const { registry, council } = await setup();
      const id = await approved(registry, council, Action.AddNode, encodeNode(99, enode("x")));
      await expect(registry.execute(id))
        .to.emit(registry, "ProposalFailed")
        .withArgs(id, reason(registry, "UnknownParticipant", 99), anyValue);
    });

    it("fails the proposal with InvalidStatusTransition when the participant is revoked", async function () {
      const { registry, council, ids } = await setup();
      await passProposal(registry, council, Action.Revoke, encode.participant(ids.telecom));
      const id = await approved(
        registry,
        council,
        Action.AddNode,
        encodeNode(ids.telecom, enode("x")),
      );
      await expect(registry.execute(id))
        .to.emit(registry, "ProposalFailed")
        .withArgs(id, reason(registry, "InvalidStatusTransition", ids.telecom, 3, 1), anyValue);
    });

    it("fails the proposal with NodeAlreadyRegistered when the node is registered", async function () {
      const { registry, council, ids } = await setup();
      const id = await approved(
        registry,
        council,
        Action.AddNode,
        encodeNode(ids.telecom, NODES.bank),
      );
      await expect(registry.execute(id))
        .to.emit(registry, "ProposalFailed")
        .withArgs(
          id,
          reason(registry, "NodeAlreadyRegistered", NODES.bank.high, NODES.bank.low, ids.bank),
          anyValue,
        );
    });

    it("reverts with InvalidProposalArgs when the participant id has more than 32 bits", async function () {
      const { registry, council } = await setup();
      const args = coder.encode(
        ["uint256", "bytes32", "bytes32"],
        [1n << 32n, NODES.bank.high, NODES.bank.low],
      );
      await expect(registry.connect(at(council, 0)).propose(Action.AddNode, args, 3600))
        .to.be.revertedWithCustomError(registry, "InvalidProposalArgs")
        .withArgs(Action.AddNode, 96);
    });
  });

  describe("execute Action.RemoveNode", function () {
    it("ends the registration and emits NodeRemoved", async function () {
      const { registry, council, ids } = await setup();
      const id = await approved(
        registry,
        council,
        Action.RemoveNode,
        encodeNode(ids.bank, NODES.bank),
      );
      await expect(registry.execute(id))
        .to.emit(registry, "NodeRemoved")
        .withArgs(ids.bank, NODES.bank.high, NODES.bank.low, id);
      expect(await registry.nodeStatus(NODES.bank.high, NODES.bank.low)).to.deep.equal([0n, false]);
    });

    for (const [name, args] of [
      [
        "the node belongs to another participant",
        (ids: { police: number }) => encodeNode(ids.police, NODES.bank),
      ],
      [
        "the node was never registered",
        (ids: { police: number }) => encodeNode(ids.police, NODES.stranger),
      ],
      ["the participant id is 0", () => encodeNode(0, NODES.stranger)],
    ] as const) {
      it(`fails the proposal with NodeNotRegistered when ${name}`, async function () {
        const { registry, council, ids } = await setup();
        const encoded = args(ids);
        const [participantId, high, low] = coder.decode(["uint32", "bytes32", "bytes32"], encoded);
        const id = await approved(registry, council, Action.RemoveNode, encoded);
        await expect(registry.execute(id))
          .to.emit(registry, "ProposalFailed")
          .withArgs(id, reason(registry, "NodeNotRegistered", high, low, participantId), anyValue);
      });
    }

    it("fails the proposal with NodeNotRegistered when the node was already removed", async function () {
      const { registry, council, ids } = await setup();
      await passProposal(registry, council, Action.RemoveNode, encodeNode(ids.bank, NODES.bank));
      const id = await approved(
        registry,
        council,
        Action.RemoveNode,
        encodeNode(ids.bank, NODES.bank),
      );
      await expect(registry.execute(id))
        .to.emit(registry, "ProposalFailed")
        .withArgs(
          id,
          reason(registry, "NodeNotRegistered", NODES.bank.high, NODES.bank.low, ids.bank),
          anyValue,
        );
    });
  });

  describe("execute Action.SetRules", function () {
    it("points the ingress at new rules, emits PermissioningRulesSet and RulesChanged, and the next call uses them", async function () {
      const c = await setup();
      const restrictive = await ethers.deployContract("AccountRules", [
        await c.registry.getAddress(),
        [kind("BANK")],
        [],
      ]);
      const rules = await restrictive.getAddress();
      const before = await c.accountRules.getAddress();
      expect(
        await besuCall(INGRESS_ADDRESS.accounts, txData(c.bank.address, ZeroAddress)),
      ).to.equal(TRUE);
      const id = await approved(
        c.registry,
        c.council,
        Action.SetRules,
        encodeRules(INGRESS_ADDRESS.accounts, rules),
      );
      await expect(c.registry.execute(id))
        .to.emit(c.registry, "PermissioningRulesSet")
        .withArgs(INGRESS_ADDRESS.accounts, rules, id)
        .and.to.emit(c.accountIngress, "RulesChanged")
        .withArgs(before, rules);
      expect(await c.accountIngress.rules()).to.equal(rules);
      expect(
        await besuCall(INGRESS_ADDRESS.accounts, txData(c.bank.address, ZeroAddress)),
      ).to.equal(FALSE);
    });

    it("turns permissioning off with the zero address: the ingress then allows everything", async function () {
      const { registry, council, others } = await setup();
      await passProposal(
        registry,
        council,
        Action.SetRules,
        encodeRules(INGRESS_ADDRESS.accounts, ZeroAddress),
      );
      await passProposal(
        registry,
        council,
        Action.SetRules,
        encodeRules(INGRESS_ADDRESS.nodes, ZeroAddress),
      );
      const stranger = at(others, 0).address;
      expect(await besuCall(INGRESS_ADDRESS.accounts, txData(stranger, ZeroAddress))).to.equal(
        TRUE,
      );
      expect(
        await besuCall(INGRESS_ADDRESS.nodes, v1Data(NODES.stranger, NODES.stranger)),
      ).to.equal(ALLOW);
      expect(await besuCall(INGRESS_ADDRESS.nodes, v2Data(enodeHex(NODES.stranger)))).to.equal(
        TRUE,
      );
      expect(await besuCall(INGRESS_ADDRESS.nodes, "0x")).to.equal(TRUE);
    });

    it("fails the proposal with NotAContract when the ingress has no code", async function () {
      const { registry, council, accountRules } = await setup();
      const ingress = addressOf("no-ingress");
      const id = await approved(
        registry,
        council,
        Action.SetRules,
        encodeRules(ingress, await accountRules.getAddress()),
      );
      await expect(registry.execute(id))
        .to.emit(registry, "ProposalFailed")
        .withArgs(id, reason(registry, "NotAContract", ingress), anyValue);
    });

    it("fails the proposal with NotAContract when the rules have no code", async function () {
      const { registry, council } = await setup();
      const rules = addressOf("no-rules");
      const id = await approved(
        registry,
        council,
        Action.SetRules,
        encodeRules(INGRESS_ADDRESS.accounts, rules),
      );
      await expect(registry.execute(id))
        .to.emit(registry, "ProposalFailed")
        .withArgs(id, reason(registry, "NotAContract", rules), anyValue);
    });

    it("reverts with InvalidProposalArgs when an address word has dirty high bits", async function () {
      const { registry, council } = await setup();
      const args = coder.encode(["uint256", "address"], [1n << 160n, ZeroAddress]);
      await expect(registry.connect(at(council, 0)).propose(Action.SetRules, args, 3600))
        .to.be.revertedWithCustomError(registry, "InvalidProposalArgs")
        .withArgs(Action.SetRules, 64);
    });

    it("is refused by the ingress, with NotRegistry, unless the registry calls", async function () {
      const { accountIngress, nodeIngress, council } = await setup();
      const c0 = at(council, 0);
      await expect(accountIngress.connect(c0).setRules(ZeroAddress, c0.address))
        .to.be.revertedWithCustomError(accountIngress, "NotRegistry")
        .withArgs(c0.address);
      await expect(nodeIngress.connect(c0).setRules(ZeroAddress, c0.address))
        .to.be.revertedWithCustomError(nodeIngress, "NotRegistry")
        .withArgs(c0.address);
    });

    it("fails the proposal with RulesLockOutCouncil when the new account rules would bar the executing council key from the registry", async function () {
      const { registry, council, accountIngress, accountRules } = await setup();
      // Council keys are AUDITORs; restricted to an empty set of consortium contracts, they could
      // never send another transaction, so no vote could undo the rules.
      const lockout = await ethers.deployContract("AccountRules", [
        await registry.getAddress(),
        [kind("AUDITOR")],
        [],
      ]);
      const rules = await lockout.getAddress();
      const executor = at(council, 1);
      const id = await approved(
        registry,
        council,
        Action.SetRules,
        encodeRules(INGRESS_ADDRESS.accounts, rules),
      );
      await expect(registry.connect(executor).execute(id))
        .to.emit(registry, "ProposalFailed")
        .withArgs(
          id,
          reason(
            accountIngress,
            "RulesLockOutCouncil",
            rules,
            executor.address,
            await registry.getAddress(),
          ),
          anyValue,
        );
      expect(await accountIngress.rules()).to.equal(await accountRules.getAddress());
      expect(
        await besuCall(
          INGRESS_ADDRESS.accounts,
          txData(executor.address, await registry.getAddress()),
        ),
      ).to.equal(TRUE);
    });

    it("accepts account rules that let the executing council key send to the registry", async function () {
      const { registry, council, accountIngress } = await setup();
      const rules = await (await ethers.deployContract("WordRules", [TRUE])).getAddress();
      const id = await approved(
        registry,
        council,
        Action.SetRules,
        encodeRules(INGRESS_ADDRESS.accounts, rules),
      );
      await expect(registry.connect(at(council, 2)).execute(id))
        .to.emit(registry, "PermissioningRulesSet")
        .withArgs(INGRESS_ADDRESS.accounts, rules, id);
      expect(await accountIngress.rules()).to.equal(rules);
    });

    it("reverts with NotCouncilMember when a key of a participant outside the council executes SetRules", async function () {
      const { registry, council, bank, ids, accountRules } = await setup();
      const id = await approved(
        registry,
        council,
        Action.SetRules,
        encodeRules(INGRESS_ADDRESS.accounts, await accountRules.getAddress()),
      );
      await expect(registry.connect(bank).execute(id))
        .to.be.revertedWithCustomError(registry, "NotCouncilMember")
        .withArgs(ids.bank);
      // Refused, not failed: a key outside the council can't kill the council's SetRules.
      expect((await registry.proposal(id)).status).to.equal(1n);
      await expect(registry.connect(at(council, 1)).execute(id)).to.emit(
        registry,
        "PermissioningRulesSet",
      );
    });

    it("reverts with UnknownSigningKey when an account that is no signing key executes SetRules", async function () {
      const { registry, council, others, accountRules } = await setup();
      const stranger = at(others, 0);
      const id = await approved(
        registry,
        council,
        Action.SetRules,
        encodeRules(INGRESS_ADDRESS.accounts, await accountRules.getAddress()),
      );
      await expect(registry.connect(stranger).execute(id))
        .to.be.revertedWithCustomError(registry, "UnknownSigningKey")
        .withArgs(stranger.address);
      expect((await registry.proposal(id)).status).to.equal(1n);
    });

    it("leaves the proposal pending at every gas limit below what its execution needs", async function () {
      const { registry, council, accountIngress, accountRules } = await setup();
      const rules = await accountRules.getAddress();
      const id = await approved(
        registry,
        council,
        Action.SetRules,
        encodeRules(INGRESS_ADDRESS.accounts, rules),
      );
      const executor = at(council, 1);
      const needed = await registry.connect(executor).execute.estimateGas(id);
      // Every gas limit below what the execution needs, in steps: wherever the gas runs out
      // (the ingress's probe of the rules included), the proposal is not failed.
      for (let gasLimit = needed - 40_000n; gasLimit < needed; gasLimit += 250n) {
        await expect(registry.connect(executor).execute(id, { gasLimit })).to.be.revert(ethers);
        expect((await registry.proposal(id)).status, String(gasLimit)).to.equal(1n);
      }
      await expect(registry.connect(executor).execute(id)).to.emit(accountIngress, "RulesChanged");
      expect((await registry.proposal(id)).status).to.equal(2n);
    });

    it("fails the proposal with InvalidNodeRulesAnswer when the node ingress is pointed at account rules", async function () {
      const { registry, council, nodeIngress, accountRules, nodeRules } = await setup();
      const rules = await accountRules.getAddress();
      const id = await approved(
        registry,
        council,
        Action.SetRules,
        encodeRules(INGRESS_ADDRESS.nodes, rules),
      );
      // AccountRules answers 0 to connectionAllowed: Besu would deny every node, for good.
      await expect(registry.execute(id))
        .to.emit(registry, "ProposalFailed")
        .withArgs(
          id,
          reason(nodeIngress, "InvalidNodeRulesAnswer", rules, nodeAbi.getFunction(V1)?.selector),
          anyValue,
        );
      expect(await nodeIngress.rules()).to.equal(await nodeRules.getAddress());
      expect(await besuCall(INGRESS_ADDRESS.nodes, v1Data(NODES.police, NODES.bank))).to.equal(
        ALLOW,
      );
    });

    it("fails the proposal with InvalidNodeRulesAnswer when the node rules answer one interface but not the other", async function () {
      const { registry, council, nodeIngress } = await setup();
      // ALLOW is a valid v1 answer but no v2 one; TRUE a valid v2 answer but no v1 one.
      for (const [answer, selector] of [
        [ALLOW, nodeAbi.getFunction(V2)?.selector],
        [DENY, nodeAbi.getFunction(V2)?.selector],
        [TRUE, nodeAbi.getFunction(V1)?.selector],
      ] as const) {
        const rules = await (await ethers.deployContract("WordRules", [answer])).getAddress();
        const id = await approved(
          registry,
          council,
          Action.SetRules,
          encodeRules(INGRESS_ADDRESS.nodes, rules),
        );
        await expect(registry.execute(id), answer)
          .to.emit(registry, "ProposalFailed")
          .withArgs(id, reason(nodeIngress, "InvalidNodeRulesAnswer", rules, selector), anyValue);
      }
    });

    it("accepts node rules that deny the probe's node with a valid answer", async function () {
      const { registry, council, nodeIngress } = await setup();
      const rules = await (
        await ethers.deployContract("NodeRules", [await registry.getAddress()])
      ).getAddress();
      const id = await approved(
        registry,
        council,
        Action.SetRules,
        encodeRules(INGRESS_ADDRESS.nodes, rules),
      );
      await expect(registry.execute(id))
        .to.emit(nodeIngress, "RulesChanged")
        .and.to.emit(registry, "PermissioningRulesSet")
        .withArgs(INGRESS_ADDRESS.nodes, rules, id);
    });

    it("fails the proposal with NotAnIngress when the ingress and rules addresses are swapped (no false PermissioningRulesSet)", async function () {
      const { registry, council, accountRules, nodeRules, accountIngress, nodeIngress } =
        await setup();
      for (const [rules, ingress] of [
        [accountRules, INGRESS_ADDRESS.accounts],
        [nodeRules, INGRESS_ADDRESS.nodes],
      ] as const) {
        const target = await rules.getAddress();
        // AccountRules even has a registry() naming this registry, and its fallback answers any
        // call (setRules included) with one word: only the declared ingress kind tells them apart.
        const id = await approved(registry, council, Action.SetRules, encodeRules(target, ingress));
        await expect(registry.execute(id))
          .to.emit(registry, "ProposalFailed")
          .withArgs(id, reason(registry, "NotAnIngress", target), anyValue);
      }
      expect(await accountIngress.rules()).to.equal(await accountRules.getAddress());
      expect(await nodeIngress.rules()).to.equal(await nodeRules.getAddress());
    });

    it("fails the proposal with NotAnIngress when the ingress serves another registry", async function () {
      const { registry, council, accountRules } = await setup();
      const other = await ethers.deployContract("AccountIngress", [
        await accountRules.getAddress(),
        ZeroAddress,
      ]);
      const target = await other.getAddress();
      const id = await approved(
        registry,
        council,
        Action.SetRules,
        encodeRules(target, await accountRules.getAddress()),
      );
      await expect(registry.execute(id))
        .to.emit(registry, "ProposalFailed")
        .withArgs(id, reason(registry, "NotAnIngress", target), anyValue);
    });

    it("fails the proposal with RulesNotSet when the ingress does not forward to the new rules afterwards", async function () {
      const { registry, council, accountRules } = await setup();
      const inert = await ethers.deployContract("InertIngress", [await registry.getAddress()]);
      const target = await inert.getAddress();
      const rules = await accountRules.getAddress();
      const id = await approved(registry, council, Action.SetRules, encodeRules(target, rules));
      await expect(registry.execute(id))
        .to.emit(registry, "ProposalFailed")
        .withArgs(id, reason(registry, "RulesNotSet", target, rules, ZeroAddress), anyValue);
    });
  });

  describe("ingress contracts", function () {
    it("look up the rules and the registry by Besu's names", async function () {
      const { accountIngress, nodeIngress, registry, accountRules, nodeRules } = await setup();
      for (const [ingress, rules] of [
        [accountIngress, accountRules],
        [nodeIngress, nodeRules],
      ] as const) {
        expect(await ingress.RULES_CONTRACT()).to.equal(ethers.encodeBytes32String("rules"));
        expect(await ingress.ADMIN_CONTRACT()).to.equal(
          ethers.encodeBytes32String("administration"),
        );
        expect(await ingress.getContractAddress(ethers.encodeBytes32String("rules"))).to.equal(
          await rules.getAddress(),
        );
        expect(
          await ingress.getContractAddress(ethers.encodeBytes32String("administration")),
        ).to.equal(await registry.getAddress());
        expect(await ingress.getContractAddress(ethers.ZeroHash)).to.equal(ZeroAddress);
        expect(await ingress.getContractVersion()).to.equal(1_000_000n);
        expect(await ingress.registry()).to.equal(await registry.getAddress());
      }
    });

    it("declare their kind, which the registry checks before SetRules", async function () {
      const { accountIngress, nodeIngress } = await setup();
      expect(await accountIngress.ingressKind()).to.equal(
        keccak256(toUtf8Bytes("veritrace.permissioning.AccountIngress")),
      );
      expect(await nodeIngress.ingressKind()).to.equal(
        keccak256(toUtf8Bytes("veritrace.permissioning.NodeIngress")),
      );
    });

    it("deny when the rules answer something that is no valid answer", async function () {
      const { bank } = await setup();
      const invalid = ["0x", toBeHex(2, 32), concat([TRUE, TRUE]), ALLOW];
      for (const answer of invalid) {
        const rules = await (await ethers.deployContract("WordRules", [answer])).getAddress();
        await forceRules(INGRESS_ADDRESS.accounts, rules);
        expect(
          await besuCall(INGRESS_ADDRESS.accounts, txData(bank.address, ZeroAddress)),
          answer,
        ).to.equal(FALSE);
      }
      for (const answer of ["0x", TRUE, toBeHex(2, 32)]) {
        const rules = await (await ethers.deployContract("WordRules", [answer])).getAddress();
        await forceRules(INGRESS_ADDRESS.nodes, rules);
        expect(
          await besuCall(INGRESS_ADDRESS.nodes, v1Data(NODES.police, NODES.bank)),
          answer,
        ).to.equal(DENY);
        expect(
          await besuCall(INGRESS_ADDRESS.nodes, v2Data(enodeHex(NODES.police))),
          answer,
        ).to.equal(answer === TRUE ? TRUE : FALSE);
      }
    });

    it("deny when the rules revert", async function () {
      const { registry, bank } = await setup();
      // The registry has no fallback: every Besu call to it reverts.
      const reverting = await registry.getAddress();
      await forceRules(INGRESS_ADDRESS.accounts, reverting);
      await forceRules(INGRESS_ADDRESS.nodes, reverting);
      expect(await besuCall(INGRESS_ADDRESS.accounts, txData(bank.address, ZeroAddress))).to.equal(
        FALSE,
      );
      expect(await besuCall(INGRESS_ADDRESS.nodes, v1Data(NODES.police, NODES.bank))).to.equal(
        DENY,
      );
      expect(await besuCall(INGRESS_ADDRESS.nodes, v2Data(enodeHex(NODES.police)))).to.equal(FALSE);
    });

    it("can be deployed with a constructor too, with the same state", async function () {
      const { registry, accountRules, bank } = await setup();
      const ingress = await ethers.deployContract("AccountIngress", [
        await registry.getAddress(),
        await accountRules.getAddress(),
      ]);
      expect(await ingress.rules()).to.equal(await accountRules.getAddress());
      expect(
        await besuCall(await ingress.getAddress(), txData(bank.address, ZeroAddress)),
      ).to.equal(TRUE);
    });
  });

  describe("ingressStorage", function () {
    it("gives slot 0 the registry and slot 1 the rules, as 32-byte words", function () {
      const registry = addressOf("registry");
      const rules = addressOf("rules");
      expect(ingressStorage(registry, rules)).to.deep.equal({
        [toBeHex(0, 32)]: ethers.zeroPadValue(registry, 32).toLowerCase(),
        [toBeHex(1, 32)]: ethers.zeroPadValue(rules, 32).toLowerCase(),
      });
    });

    it("is the state a genesis ingress reads: registry, rules and answers", async function () {
      const { registry, nodeRules, bank, council } = await setup();
      const address = "0x000000000000000000000000000000000000abcd";
      const { deployedBytecode } = await artifacts.readArtifact("NodeIngress");
      await networkHelpers.setCode(address, deployedBytecode);
      const storage = ingressStorage(await registry.getAddress(), await nodeRules.getAddress());
      for (const [slot, value] of Object.entries(storage)) {
        await networkHelpers.setStorageAt(address, slot, value);
      }
      const ingress = await ethers.getContractAt("NodeIngress", address);
      expect(await ingress.registry()).to.equal(await registry.getAddress());
      expect(await ingress.rules()).to.equal(await nodeRules.getAddress());
      expect(await besuCall(address, v1Data(NODES.police, NODES.bank))).to.equal(ALLOW);
      // The registry set in slot 0 is the one that may change the rules.
      await passProposal(registry, council, Action.SetRules, encodeRules(address, ZeroAddress));
      expect(await ingress.rules()).to.equal(ZeroAddress);
      expect(bank.address).to.not.equal(ZeroAddress);
    });
  });

  describe("Ignition module Permissioning", function () {
    it("deploys both rules contracts against the given registry", async function () {
      const { registry, bank } = await setup();
      const { accountRules, nodeRules } = await ignition.deploy(PermissioningModule, {
        parameters: {
          Permissioning: {
            registry: await registry.getAddress(),
            restrictedKinds: [kind("BANK")],
            consortiumContracts: [ZeroAddress],
          },
        },
      });
      const accounts = await accountRules.getAddress();
      expect(await besuCall(accounts, txData(bank.address, ZeroAddress))).to.equal(TRUE);
      expect(await besuCall(accounts, txData(bank.address, addressOf("elsewhere")))).to.equal(
        FALSE,
      );
      expect(
        await besuCall(await nodeRules.getAddress(), v1Data(NODES.police, NODES.bank)),
      ).to.equal(ALLOW);
    });
  });
});
