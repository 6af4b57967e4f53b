import { expect } from "chai";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import {
  AbiCoder,
  decodeRlp,
  encodeBytes32String,
  getAddress,
  Interface,
  JsonRpcProvider,
  toBeHex,
  Wallet,
  ZeroAddress,
  ZeroHash,
} from "ethers";
import { readDeployment, type DeploymentRecord } from "../src/client/deployment.js";
import { institutions } from "../src/ledger/queries.js";
import { RpcClient } from "../src/chain/rpc.js";
import { Indexer } from "../src/ledger/indexer.js";
import { openMemoryDatabase } from "../src/db/db.js";
import { Store } from "../src/db/store.js";
import { failure } from "./helpers/tracer.js";
import { startAnvil } from "../scripts/lib/anvil.js";
import type { LocalChain } from "../scripts/lib/local-chain.js";
import { qbftExtraData } from "../scripts/lib/genesis.js";
import { INGRESS_ADDRESS } from "../scripts/lib/permissioning.js";
import {
  AccountIngress__factory,
  AccountRules__factory,
  CaseRegistry__factory,
  NodeIngress__factory,
  ParticipantRegistry__factory,
} from "../types/ethers-contracts/index.js";
import { Action } from "./helpers/fixture.js";

const run = promisify(execFile);
const tsx = path.resolve("node_modules/.bin/tsx");
const script = path.resolve("scripts/network-qbft.ts");
const params = JSON.parse(readFileSync("ignition/parameters/local.json", "utf8")) as {
  founders: { kind: string; metadataCommitment: string; signingKey: string }[];
  quorum: number;
};

/** Runs network:qbft; never throws, returns exit code and output. */
async function networkQbft(
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(tsx, [script, ...args], { timeout: 120_000 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: err.code ?? -1, stdout: err.stdout ?? "", stderr: err.stderr ?? "" };
  }
}

interface Genesis {
  config: Record<string, unknown> & { chainId: number; qbft: Record<string, number> };
  extraData: string;
  timestamp: string;
  gasLimit: string;
  mixHash: string;
  alloc: Record<string, { code?: string; storage?: Record<string, string>; balance: string }>;
}

describe("npm run network:qbft", function () {
  const work = mkdtempSync(path.join(tmpdir(), "veritrace-qbft-"));
  const out = path.join(work, "net");
  let genesis: Genesis;
  let registryJson: {
    ParticipantRegistry: string;
    chainId: number;
    validators: { address: string; enode: string }[];
  };

  before(async function () {
    const r = await networkQbft([
      "--validators",
      "4",
      "--out",
      out,
      "--chain-id",
      "7413",
      "--block-period",
      "5",
      "--host",
      "10.0.0.5",
      "--p2p-port",
      "31000",
    ]);
    expect(r.stderr, r.stderr).to.equal("");
    expect(r.code).to.equal(0);
    genesis = JSON.parse(readFileSync(path.join(out, "genesis.json"), "utf8")) as Genesis;
    registryJson = JSON.parse(
      readFileSync(path.join(out, "registry.json"), "utf8"),
    ) as typeof registryJson;
  });

  after(() => rmSync(work, { recursive: true, force: true }));

  it("encodes extraData as Besu's QBFT_EXTRA_DATA (the documented four-validator example)", function () {
    const doc = readFileSync("docs/permissioned-network.md", "utf8");
    const documented = /"extraData": "(0x[0-9a-f]+)"/.exec(doc)?.[1];
    const placeholders = ["1", "2", "3", "4"].map((d) => `0x${d.repeat(40)}`);
    expect(qbftExtraData(placeholders)).to.equal(documented);
  });

  it("writes the QBFT genesis: forks from block 0, zero base fee, block period, validators", function () {
    expect(genesis.config.chainId).to.equal(7413);
    expect(genesis.config["shanghaiTime"]).to.equal(0);
    expect(genesis.config["cancunTime"]).to.equal(0);
    expect(genesis.config["londonBlock"]).to.equal(0);
    expect(genesis.config["zeroBaseFee"]).to.equal(true);
    expect(genesis.config.qbft).to.deep.equal({
      blockperiodseconds: 5,
      epochlength: 30000,
      requesttimeoutseconds: 10,
    });
    expect(genesis.mixHash).to.equal(
      "0x63746963616c2062797a616e74696e65206661756c7420746f6c6572616e6365",
    );
    expect(BigInt(genesis.gasLimit)).to.equal(30_000_000n);
    const [vanity, validators, vote, round, seals] = decodeRlp(genesis.extraData) as [
      string,
      string[],
      string[],
      string,
      string[],
    ];
    expect(vanity).to.equal(toBeHex(0, 32));
    expect(vote).to.deep.equal([]);
    expect(round).to.equal("0x");
    expect(seals).to.deep.equal([]);
    // Each validator address is its node key's address, and each enode its public key.
    for (let i = 0; i < 4; i++) {
      const dir = path.join(out, `node-${i + 1}`);
      const key = readFileSync(path.join(dir, "key"), "utf8").trim();
      expect(statSync(path.join(dir, "key")).mode & 0o777).to.equal(0o600);
      const wallet = new Wallet(key);
      expect(getAddress(validators[i] ?? "")).to.equal(wallet.address);
      const enode = readFileSync(path.join(dir, "enode"), "utf8").trim();
      expect(enode).to.equal(
        `enode://${wallet.signingKey.publicKey.slice(4)}@10.0.0.5:${31000 + i}`,
      );
      expect(registryJson.validators[i]?.enode).to.equal(enode);
    }
  });

  it("configures each node for contract permissioning, with the other nodes as bootnodes", function () {
    const enodes = [1, 2, 3, 4].map((i) =>
      readFileSync(path.join(out, `node-${i}`, "enode"), "utf8").trim(),
    );
    const toml = readFileSync(path.join(out, "node-2", "config.toml"), "utf8");
    expect(toml).to.include(`permissions-accounts-contract-address="${INGRESS_ADDRESS.accounts}"`);
    expect(toml).to.include(`permissions-nodes-contract-address="${INGRESS_ADDRESS.nodes}"`);
    expect(toml).to.include("permissions-nodes-contract-version=2");
    expect(toml).to.include("p2p-port=31001");
    expect(toml).to.include("rpc-http-port=8546");
    const bootnodes = /bootnodes=\[(.*)\]/.exec(toml)?.[1] ?? "";
    expect(JSON.parse(`[${bootnodes}]`)).to.deep.equal([enodes[0], enodes[2], enodes[3]]);
    const env = readFileSync(path.join(out, "node-2", "plugin.env"), "utf8");
    expect(env).to.include(
      `BESU_PERMISSIONS_ACCOUNTS_CONTRACT_ADDRESS=${INGRESS_ADDRESS.accounts}`,
    );
  });

  describe("the genesis loaded in anvil (--init)", function () {
    let chain: LocalChain;
    let provider: JsonRpcProvider;

    before(async function () {
      chain = await startAnvil({ init: path.join(out, "genesis.json"), chainId: 7413 });
      provider = new JsonRpcProvider(chain.url, undefined, { staticNetwork: true });
    });
    after(async () => chain.stop());

    it("has the genesis's chain id, time and contracts", async function () {
      expect((await provider.getNetwork()).chainId).to.equal(7413n);
      const block0 = await provider.getBlock(0);
      expect(block0?.timestamp).to.equal(Number(genesis.timestamp));
      for (const a of [
        INGRESS_ADDRESS.accounts,
        INGRESS_ADDRESS.nodes,
        registryJson.ParticipantRegistry,
      ])
        expect(await provider.getCode(a)).to.equal(genesis.alloc[a]?.code);
    });

    it("reads the founding council from the registry's genesis storage", async function () {
      const registry = ParticipantRegistry__factory.connect(
        registryJson.ParticipantRegistry,
        provider,
      );
      expect(await registry.deploymentBlock()).to.equal(0n);
      expect(await registry.participantCount()).to.equal(3n);
      const [members, quorum] = await registry.council();
      expect(members.map(Number)).to.deep.equal([1, 2, 3]);
      expect(quorum).to.equal(2n);
      expect(await registry.paused()).to.equal(false);
      for (const [i, f] of params.founders.entries()) {
        const p = await registry.participant(i + 1);
        expect(p.kind).to.equal(encodeBytes32String(f.kind));
        expect(p.metadataCommitment).to.equal(f.metadataCommitment);
        expect(p.status).to.equal(1n);
        expect(p.admittedAt).to.equal(BigInt(Number(genesis.timestamp)));
        const [id, active] = await registry.keyStatus(f.signingKey);
        expect([Number(id), active]).to.deep.equal([i + 1, true]);
      }
      const [unknown] = await registry.keyStatus(Wallet.createRandom().address);
      expect(unknown).to.equal(0n);
    });

    it("ingresses name the registry, permissioning off until the council sets rules", async function () {
      const accounts = AccountIngress__factory.connect(INGRESS_ADDRESS.accounts, provider);
      const nodes = NodeIngress__factory.connect(INGRESS_ADDRESS.nodes, provider);
      const admin = encodeBytes32String("administration");
      const rules = encodeBytes32String("rules");
      expect(await accounts.getContractAddress(admin)).to.equal(registryJson.ParticipantRegistry);
      expect(await nodes.getContractAddress(admin)).to.equal(registryJson.ParticipantRegistry);
      expect(await accounts.getContractAddress(rules)).to.equal(ZeroAddress);
      expect(await nodes.getContractAddress(rules)).to.equal(ZeroAddress);
    });

    it("npm run deploy --genesis-registry deploys the rest around the genesis registry", async function () {
      const record = path.join(work, "deployment.json");
      const id = `qbft-test-${process.pid}`;
      try {
        await run(
          tsx,
          [
            path.resolve("scripts/deploy.ts"),
            "--rpc",
            chain.url,
            "--genesis-registry",
            path.join(out, "registry.json"),
            "--out",
            record,
            "--deployment-id",
            id,
          ],
          { timeout: 120_000 },
        );
      } finally {
        rmSync(path.join("ignition", "deployments", id), { recursive: true, force: true });
      }
      const d = JSON.parse(readFileSync(record, "utf8")) as {
        chainId: number;
        startBlock: number;
        contracts: Record<string, string>;
      };
      expect(d.chainId).to.equal(7413);
      expect(d.startBlock).to.equal(0);
      expect(d.contracts["ParticipantRegistry"]).to.equal(registryJson.ParticipantRegistry);
      const cases = CaseRegistry__factory.connect(d.contracts["CaseRegistry"] ?? "", provider);
      expect(await cases.registry()).to.equal(registryJson.ParticipantRegistry);
    });

    it("the tracer starts from the genesis founders: their events rebuilt for block 0 and checked", async function () {
      const record = readDeployment(path.join(work, "deployment.json"));
      expect(record.genesisFounders?.map((f) => f.participantId)).to.deep.equal([1, 2, 3]);
      const store = await Store.open(await openMemoryDatabase());
      try {
        await new Indexer(store, new RpcClient(chain.url), record).syncOnce();
        const founders = await institutions(store.db);
        expect([...founders.keys()]).to.deep.equal([1, 2, 3]);
        for (const [i, f] of params.founders.entries()) {
          const p = founders.get(i + 1);
          expect(p?.kind).to.equal(f.kind);
          expect(p?.status).to.equal("active");
          expect(p?.admittedAt).to.equal(Number(genesis.timestamp));
          expect(p?.keys.map((k) => k.address)).to.deep.equal([f.signingKey.toLowerCase()]);
        }
        const council = await store.db.query<{
          block_number: string;
          tx_hash: string;
          args: Record<string, unknown>;
        }>("SELECT block_number, tx_hash, args FROM events WHERE event = 'CouncilChanged'");
        expect(council).to.have.length(1);
        expect(Number(council[0]?.block_number)).to.equal(0);
        expect(council[0]?.tx_hash).to.equal(ZeroHash);
        expect(council[0]?.args).to.deep.include({
          members: ["1", "2", "3"],
          quorum: "2",
          genesis: true,
        });
      } finally {
        await store.close();
      }
    });

    it("the tracer refuses a genesis registry whose founders the record omits or misstates", async function () {
      const record = readDeployment(path.join(work, "deployment.json"));
      const cases: [DeploymentRecord, RegExp][] = [
        [{ ...record, genesisFounders: undefined }, /names none of their keys \(genesisFounders/],
        [
          {
            ...record,
            genesisFounders: (record.genesisFounders ?? []).map((f) =>
              f.participantId === 2 ? { ...f, signingKey: Wallet.createRandom().address } : f,
            ),
          },
          /gives 0x[0-9a-fA-F]{40} to participant 2; at genesis the registry says participant 0/,
        ],
      ];
      for (const [bad, message] of cases) {
        const store = await Store.open(await openMemoryDatabase());
        try {
          const error = await failure(new Indexer(store, new RpcClient(chain.url), bad).syncOnce());
          expect(error.message).to.match(message);
          expect(await store.eventCount()).to.equal(0);
        } finally {
          await store.close();
        }
      }
    });

    it("the genesis council votes account rules in; Besu's call then follows the registry", async function () {
      const founders = await Promise.all([0, 1].map((i) => provider.getSigner(i)));
      const [f0, f1] = founders as [
        NonNullable<(typeof founders)[0]>,
        NonNullable<(typeof founders)[1]>,
      ];
      expect(f0.address).to.equal(getAddress(params.founders[0]?.signingKey ?? ""));
      const registry = ParticipantRegistry__factory.connect(registryJson.ParticipantRegistry, f0);
      const rules = await new AccountRules__factory(f0).deploy(
        registryJson.ParticipantRegistry,
        [],
        [],
      );
      await rules.waitForDeployment();
      const args = AbiCoder.defaultAbiCoder().encode(
        ["address", "address"],
        [INGRESS_ADDRESS.accounts, await rules.getAddress()],
      );
      await (await registry.propose(Action.SetRules, args, 7 * 24 * 3600)).wait();
      const id = await registry.proposalCount();
      expect(id).to.equal(1n);
      await (await registry.connect(f1).approve(id)).wait();
      await (await registry.connect(f1).execute(id)).wait();

      // Exactly as Besu asks: eth_call from the zero address at the head.
      const abi = new Interface([
        "function transactionAllowed(address,address,uint256,uint256,uint256,bytes) view returns (bool)",
      ]);
      const ask = (sender: string) =>
        provider.call({
          from: ZeroAddress,
          to: INGRESS_ADDRESS.accounts,
          data: abi.encodeFunctionData("transactionAllowed", [
            sender,
            ZeroAddress,
            0,
            0,
            21000,
            "0x",
          ]),
        });
      expect(await ask(f1.address)).to.equal(toBeHex(1, 32));
      expect(await ask(Wallet.createRandom().address)).to.equal(toBeHex(0, 32));

      // The genesis node ingress pointed at the account rules would deny every node for good:
      // its probe refuses, and the registry emits nothing.
      const wrong = AbiCoder.defaultAbiCoder().encode(
        ["address", "address"],
        [INGRESS_ADDRESS.nodes, await rules.getAddress()],
      );
      await (await registry.propose(Action.SetRules, wrong, 7 * 24 * 3600)).wait();
      const refused = await registry.proposalCount();
      await (await registry.connect(f1).approve(refused)).wait();
      const receipt = await (await registry.connect(f1).execute(refused)).wait();
      const failed = receipt?.logs
        .map((l) => registry.interface.parseLog(l))
        .find((l) => l?.name === "ProposalFailed");
      const nodeIngress = NodeIngress__factory.connect(INGRESS_ADDRESS.nodes, provider);
      expect(nodeIngress.interface.parseError(String(failed?.args[1]))?.name).to.equal(
        "InvalidNodeRulesAnswer",
      );
      expect((await registry.proposal(refused)).status).to.equal(3n);
      const nodes = NodeIngress__factory.connect(INGRESS_ADDRESS.nodes, provider);
      expect(await nodes.rules()).to.equal(ZeroAddress);
    });
  });

  describe("bad input: one line, exit 2, nothing written", function () {
    const cases: [string, string[], RegExp][] = [
      ["no validators", ["--validators", "0"], /--validators: 0 is not in 1\.\.64/],
      [
        "a validator count that is not a number",
        ["--validators", "four"],
        /--validators: not a whole number/,
      ],
      [
        "an ingress address for the registry",
        ["--validators", "1", "--registry-address", INGRESS_ADDRESS.nodes],
        /--registry-address/,
      ],
      ["ports past 65535", ["--validators", "4", "--p2p-port", "65534"], /--p2p-port/],
    ];
    for (const [what, args, message] of cases) {
      it(what, async function () {
        const target = path.join(work, `bad-${what.replace(/\W+/g, "-")}`);
        const r = await networkQbft([...args, "--out", target]);
        expect(r.code).to.equal(2);
        expect(r.stderr.trim().split("\n")).to.have.length(1);
        expect(r.stderr).to.match(message);
        expect(existsSync(target)).to.equal(false);
      });
    }

    it("a parameters file with a bad founder", async function () {
      const file = path.join(work, "bad-params.json");
      writeFileSync(
        file,
        JSON.stringify({ ...params, founders: [{ ...params.founders[0], signingKey: "0x1234" }] }),
      );
      const target = path.join(work, "bad-params-out");
      const r = await networkQbft(["--validators", "1", "--params", file, "--out", target]);
      expect(r.code).to.equal(2);
      expect(r.stderr.trim().split("\n")).to.have.length(1);
      expect(r.stderr).to.match(/signingKey/);
      expect(existsSync(target)).to.equal(false);
    });

    it("an output directory that is not empty", async function () {
      const r = await networkQbft(["--validators", "1", "--out", out]);
      expect(r.code).to.equal(2);
      expect(r.stderr).to.match(/exists and is not empty/);
      expect(readFileSync(path.join(out, "genesis.json"), "utf8")).to.equal(
        `${JSON.stringify(genesis, null, 2)}\n`,
      );
    });
  });
});
