/**
 * A trace across two anvil chains through the canonical bridges of Arbitrum and Polygon PoS (their
 * doubles emit the events of token-bridge-contracts, nitro-contracts, pos-portal and Bor's
 * StateReceiver, and move the tokens as the bridges do): a theft of token T on chain A (L1 / root)
 * goes to chain B through Arbitrum's L1 gateway (paired by the fallback) and Polygon's predicate
 * (by the state id), and part of it comes back through Arbitrum's L2 gateway (by the send tree's
 * position, paid out of the L1 gateway's escrow) and a Polygon child token's burn (by the fallback,
 * paid by the predicate). Every part is found where it is, worth what was stolen; the gateways,
 * the predicate and the other bridge contracts are never tainted. Read lazily, the trace gives the
 * same answer, each release found on its chain by its event (the recipient's topic for the
 * gateways' and the predicate's, the state id for Polygon's deposit) and the child token's burn read
 * whole; a clean deposit to the same recipient, which the fallback weighs against the thief's, is
 * found by its event too; bystanders on B are never read.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { AbiCoder, JsonRpcProvider, Wallet, id as keccakId } from "ethers";
import { startLocalChain, type LocalChain } from "../../scripts/lib/local-chain.js";
import { RpcClient } from "../../src/chain/rpc.js";
import { openMemoryDatabase } from "../../src/db/db.js";
import { Store } from "../../src/db/store.js";
import { ARBITRUM_TOPICS, type BridgeContract } from "../../src/analytics/bridges/index.js";
import { traceSummaryJson } from "../../src/analytics/funds/run.js";
import { TAINT_MODELS } from "../../src/analytics/funds/taint.js";
import {
  ArbBridgeDouble__factory,
  ArbInboxDouble__factory,
  ArbL1GatewayDouble__factory,
  ArbL2GatewayDouble__factory,
  ArbOutboxDouble__factory,
  ArbSysDouble__factory,
  ArbTokenDouble__factory,
  PosChildChainManagerDouble__factory,
  PosChildTokenDouble__factory,
  PosERC20PredicateDouble__factory,
  PosEtherPredicateDouble__factory,
  PosRootChainManagerDouble__factory,
  PosStateReceiverDouble__factory,
  PosStateSenderDouble__factory,
  TestToken__factory,
} from "../../types/ethers-contracts/index.js";
import { CountingRpc, crossAnswer, lazyTrace } from "../helpers/lazy-chains.js";
import { traceOnce } from "../helpers/asset-traces.js";
import { runVeritrace } from "../helpers/tracer.js";

const A = 31_337;
const B = 31_340;
const E18 = 10n ** 18n;

interface Side {
  chain: LocalChain;
  provider: JsonRpcProvider;
  rpc: RpcClient;
}

async function side(chainId: number): Promise<Side> {
  const chain = await startLocalChain("anvil", 60_000, chainId);
  const provider = new JsonRpcProvider(chain.url, undefined, {
    staticNetwork: true,
    cacheTimeout: -1,
  });
  return { chain, provider, rpc: new RpcClient(chain.url, { maxRetries: 0 }) };
}

async function mined(p: Promise<{ wait(): Promise<unknown>; hash: string }>): Promise<string> {
  const tx = await p;
  await tx.wait();
  return tx.hash.toLowerCase();
}

describe("a trace across two chains through Arbitrum's gateways and Polygon PoS (anvil)", function () {
  this.timeout(240_000);
  const coder = AbiCoder.defaultAbiCoder();
  let a: Side;
  let b: Side;
  let store: Store;
  let seed = "";
  const who: Record<string, string> = {};
  /** Lower-case addresses of the bridges' contracts and tokens, by name. */
  const at: Record<string, string> = {};
  let contracts: BridgeContract[];
  let tokens: { chainId: number; token: string }[][];
  let clock = 0;

  /** One transaction at the next tick of a clock both chains share (a minute apart). */
  const step = async (
    s: Side,
    call: () => Promise<{ wait(): Promise<unknown>; hash: string }>,
  ): Promise<string> => {
    clock += 60;
    await s.provider.send("evm_setNextBlockTimestamp", [clock]);
    return mined(call());
  };

  before(async function () {
    a = await side(A);
    b = await side(B);
    const accounts = (await a.provider.send("eth_accounts", [])) as string[];
    ["victim", "thief", "r1", "r2", "cashout", "bystander", "rival"].forEach((role, i) => {
      who[role] = (accounts[i + 1] as string).toLowerCase();
    });
    const as = (s: Side, role: string) => s.provider.getSigner(who[role]);
    const signerA = await a.provider.getSigner(0);
    const signerB = await b.provider.getSigner(0);
    const deploy = async <
      T extends { waitForDeployment(): Promise<unknown>; getAddress(): Promise<string> },
    >(
      name: string,
      p: Promise<T>,
    ): Promise<T> => {
      const c = await p;
      await c.waitForDeployment();
      at[name] = (await c.getAddress()).toLowerCase();
      return c;
    };
    const addr = (name: string) => at[name] as string;

    const receiver = await deploy(
      "stateReceiver",
      new PosStateReceiverDouble__factory(signerB).deploy(),
    );
    const ccm = await deploy(
      "childChainManager",
      new PosChildChainManagerDouble__factory(signerB).deploy(addr("stateReceiver")),
    );
    const childToken = await deploy(
      "childToken",
      new PosChildTokenDouble__factory(signerB).deploy("Child T", addr("childChainManager")),
    );
    const t = await deploy("token", new TestToken__factory(signerA).deploy("Token", "T", 18));
    await deploy("arbBridge", new ArbBridgeDouble__factory(signerA).deploy());
    await deploy("inbox", new ArbInboxDouble__factory(signerA).deploy(addr("arbBridge")));
    const outbox = await deploy(
      "outbox",
      new ArbOutboxDouble__factory(signerA).deploy(addr("arbBridge")),
    );
    const l1Gateway = await deploy(
      "l1Gateway",
      new ArbL1GatewayDouble__factory(signerA).deploy(addr("inbox")),
    );
    await deploy("stateSender", new PosStateSenderDouble__factory(signerA).deploy());
    const manager = await deploy(
      "rootChainManager",
      new PosRootChainManagerDouble__factory(signerA).deploy(
        addr("stateSender"),
        addr("childChainManager"),
      ),
    );
    await deploy(
      "predicate",
      new PosERC20PredicateDouble__factory(signerA).deploy(addr("rootChainManager")),
    );
    await deploy(
      "etherPredicate",
      new PosEtherPredicateDouble__factory(signerA).deploy(addr("rootChainManager")),
    );
    await mined(manager.setPredicates(addr("predicate"), addr("etherPredicate")));
    await deploy("arbSys", new ArbSysDouble__factory(signerB).deploy());
    const l2Gateway = await deploy(
      "l2Gateway",
      new ArbL2GatewayDouble__factory(signerB).deploy(addr("arbSys"), addr("l1Gateway")),
    );
    await deploy("l2Token", new ArbTokenDouble__factory(signerB).deploy(addr("l2Gateway")));
    await mined(l2Gateway.setToken(addr("token"), addr("l2Token")));
    await mined(ccm.mapToken(addr("token"), addr("childToken")));
    // Clean funds already in escrow: the gateway's and the predicate's earlier deposits.
    await mined(t.mint(addr("l1Gateway"), 5000n * E18));
    await mined(t.mint(addr("predicate"), 5000n * E18));
    await mined(t.mint(who["victim"] as string, 1000n * E18));
    const latest = async (s: Side) => (await s.provider.getBlock("latest"))?.timestamp ?? 0;
    clock = Math.max(await latest(a), await latest(b)) + 60;

    seed = await step(a, async () =>
      t.connect(await as(a, "victim")).transfer(who["thief"] as string, 1000n * E18),
    );
    // A clean deposit of 400 to r1 through Arbitrum before the thief's: the fallback weighs it
    // against the thief's for the one release, and takes the closer (the thief's).
    await step(a, () => t.mint(who["rival"] as string, 400n * E18));
    await step(a, async () =>
      t.connect(await as(a, "rival")).approve(addr("l1Gateway"), 400n * E18),
    );
    await step(a, async () =>
      l1Gateway
        .connect(await as(a, "rival"))
        .outboundTransfer(addr("token"), who["r1"] as string, 400n * E18),
    );
    await step(a, async () =>
      t.connect(await as(a, "thief")).approve(addr("l1Gateway"), 1000n * E18),
    );
    await step(a, async () =>
      t.connect(await as(a, "thief")).approve(addr("predicate"), 1000n * E18),
    );
    // To B: 400 through Arbitrum, 300 through Polygon PoS.
    await step(a, async () =>
      l1Gateway
        .connect(await as(a, "thief"))
        .outboundTransfer(addr("token"), who["r1"] as string, 400n * E18),
    );
    await step(a, async () =>
      manager
        .connect(await as(a, "thief"))
        .depositFor(who["r2"] as string, addr("token"), coder.encode(["uint256"], [300n * E18])),
    );
    await step(b, () =>
      l2Gateway.finalizeInboundTransfer(
        addr("token"),
        who["thief"] as string,
        who["r1"] as string,
        400n * E18,
      ),
    );
    const sync = coder.encode(
      ["bytes32", "bytes"],
      [
        keccakId("DEPOSIT"),
        coder.encode(
          ["address", "address", "bytes"],
          [who["r2"], addr("token"), coder.encode(["uint256"], [300n * E18])],
        ),
      ],
    );
    await step(b, () => receiver.commitStates(1, addr("childChainManager"), [sync]));
    // Back to A: 150 through Arbitrum's L2 gateway to the cash-out account, 100 burned on Polygon.
    const withdrawal = await step(b, async () =>
      l2Gateway
        .connect(await as(b, "r1"))
        .outboundTransfer(addr("token"), who["cashout"] as string, 150n * E18),
    );
    await step(b, async () => childToken.connect(await as(b, "r2")).withdraw(100n * E18));
    const sent = (await b.provider.getTransactionReceipt(withdrawal))?.logs.find(
      (l) => l.topics[0] === ARBITRUM_TOPICS.l2ToL1Tx,
    );
    if (sent === undefined) throw new Error("no L2ToL1Tx");
    const message = coder.decode(
      ["address", "uint256", "uint256", "uint256", "uint256", "bytes"],
      sent.data,
    )[5] as string;
    await step(a, () =>
      outbox.executeTransaction(0, addr("l2Gateway"), addr("l1Gateway"), 0, message),
    );
    await step(a, () => manager.exit(addr("token"), who["r2"] as string, 100n * E18));
    // A bystander on B: L2 tokens and ether it never passes to anyone the taint reaches.
    await step(b, () =>
      l2Gateway.finalizeInboundTransfer(
        addr("token"),
        who["bystander"] as string,
        who["bystander"] as string,
        50n * E18,
      ),
    );
    for (let i = 0; i < 10; i++)
      await step(b, async () =>
        (await as(b, "bystander")).sendTransaction({
          to: Wallet.createRandom().address,
          value: 10n ** 15n,
        }),
      );

    const named = (
      bridge: BridgeContract["bridge"],
      role: BridgeContract["role"],
      chainId: number,
      name: string,
    ): BridgeContract => ({
      bridge,
      role,
      chainId,
      address: addr(name),
      peerChainId: chainId === A ? B : A,
    });
    contracts = [
      named("arbitrum", "token-gateway", A, "l1Gateway"),
      named("arbitrum", "inbox", A, "inbox"),
      named("arbitrum", "rollup-bridge", A, "arbBridge"),
      named("arbitrum", "outbox", A, "outbox"),
      named("arbitrum", "token-gateway", B, "l2Gateway"),
      named("arbitrum", "arbsys", B, "arbSys"),
      named("polygon-pos", "root-chain-manager", A, "rootChainManager"),
      named("polygon-pos", "predicate", A, "predicate"),
      named("polygon-pos", "state-sender", A, "stateSender"),
      named("polygon-pos", "state-receiver", B, "stateReceiver"),
      named("polygon-pos", "child-chain-manager", B, "childChainManager"),
      named("polygon-pos", "child-token", B, "childToken"),
    ];
    // Nothing in a child token's burn names its root token: the caller says they are one.
    tokens = [
      [
        { chainId: A, token: addr("token") },
        { chainId: B, token: addr("childToken") },
      ],
    ];
    store = await Store.open(await openMemoryDatabase());
  });

  after(async function () {
    await store?.close();
    for (const s of [a, b]) {
      s?.provider.destroy();
      await s?.chain.stop();
    }
  });

  /** What every trace of the theft is given: chain A's node, the seed, chain B read through `rpcB`. */
  const fromA = (rpcB: RpcClient) => ({
    rpc: a.rpc,
    seed,
    chains: [{ chainId: B, rpc: rpcB }],
    bridgeContracts: contracts,
    bridgeTokens: tokens,
  });
  const traceOf = traceOnce(() => ({ ...fromA(b.rpc), db: store.db }));

  for (const model of ["haircut", "fifo", "poison"] as const)
    it(`${model}: the theft crosses to B through both bridges and partly back, worth what was stolen`, async () => {
      const out = await traceOf(model);
      const r = out.result;
      expect(r.total).to.equal(1000n * E18);
      const held = r.holdings.map((h) => [h.chainId, h.address, h.token, h.amount, h.value]);
      const row = (chainId: number, role: string, token: string, amount: bigint) => [
        chainId,
        who[role],
        at[token],
        amount,
        amount,
      ];
      expect(held).to.have.deep.members([
        row(A, "thief", "token", 300n * E18),
        row(B, "r1", "l2Token", 250n * E18),
        row(B, "r2", "childToken", 200n * E18),
        row(A, "cashout", "token", 150n * E18),
        row(A, "r2", "token", 100n * E18),
      ]);
      expect(r.exits).to.deep.equal([]);
      // The bridges' contracts and escrows neither hold nor pass anything tainted.
      const touched = new Set(r.edges.flatMap((e) => [e.from, e.to]));
      for (const name of [
        "l1Gateway",
        "l2Gateway",
        "arbBridge",
        "outbox",
        "rootChainManager",
        "predicate",
        "stateReceiver",
        "childChainManager",
      ])
        expect(touched.has(at[name] as string), name).to.equal(false);
      expect(
        (out.crossings ?? []).map((p) => [p.deposit.bridge, p.deposit.event, p.by]),
      ).to.have.deep.members([
        ["arbitrum", "DepositInitiated", "fallback"],
        ["polygon-pos", "LockedERC20", "id"],
        ["arbitrum", "WithdrawalInitiated", "id"],
        ["polygon-pos", "Transfer (burn)", "fallback"],
      ]);
    });

  for (const model of TAINT_MODELS)
    it(`${model}, read lazily: the streams' holdings, tainted transfers and four crossings`, async () => {
      const rpcB = new CountingRpc(b.chain.url, { maxRetries: 0 });
      const lazy = await lazyTrace({ ...fromA(rpcB), model });
      expect(crossAnswer(lazy)).to.deep.equal(crossAnswer(await traceOf(model)));
      expect(lazy.crossings).to.have.length(4);
      // The rival deposit was read (by its recipient's topic) and weighed, as over the streams.
      const arbitrum = lazy.crossings?.find((p) => p.deposit.event === "DepositInitiated");
      expect(arbitrum).to.include({ by: "fallback", confidence: 0.5 });
      expect(arbitrum?.deposit.sender).to.equal(who["thief"]);
      // Of B, only what the taint reached: never the bystander, nor the bridges' histories.
      const asked = rpcB.asked.map((c) => JSON.stringify(c.params).toLowerCase());
      expect(asked.filter((p) => p.includes((who["bystander"] as string).slice(2)))).to.deep.equal(
        [],
      );
      for (const name of ["l2Gateway", "stateReceiver", "childChainManager", "arbSys"])
        expect(
          rpcB.asked.filter(
            (c) =>
              (c.method === "trace_filter" || c.method === "eth_getLogs") &&
              JSON.stringify(c.params)
                .toLowerCase()
                .includes(`0x${"0".repeat(24)}${(at[name] as string).slice(2)}`),
          ),
          name,
        ).to.deep.equal([]);
    });

  it("veritrace trace --bridges FILE takes the new bridges' contracts and token map", async () => {
    const tmp = mkdtempSync(path.join(os.tmpdir(), "veritrace-canonical-"));
    try {
      const file = path.join(tmp, "bridges.json");
      writeFileSync(file, JSON.stringify({ contracts, tokens }));
      const out = await runVeritrace([
        "trace",
        "--rpc",
        a.chain.url,
        "--seed",
        seed,
        "--model",
        "haircut",
        "--db",
        path.join(tmp, "db"),
        "--chain",
        `${B}=${b.chain.url}`,
        "--bridges",
        file,
        "--json",
      ]);
      expect(out.code, out.stderr).to.equal(0);
      const json = JSON.parse(out.stdout.trim().split("\n").pop() as string) as ReturnType<
        typeof traceSummaryJson
      >;
      expect(
        json.crossings?.map((c) => [c.bridge, c.fromChainId, c.toChainId, c.by]),
      ).to.have.deep.members([
        ["arbitrum", A, B, "fallback"],
        ["polygon-pos", A, B, "id"],
        ["arbitrum", B, A, "id"],
        ["polygon-pos", B, A, "fallback"],
      ]);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
