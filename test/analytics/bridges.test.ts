/**
 * Bridges across two anvil chains (A: 31337, B: 31338): test doubles emit each bridge's real
 * events with their published signatures (contracts/test/bridges), deposits on A and releases on
 * B; the reader reads both chains' logs by eth_getLogs, and the pairing pairs them by the bridges'
 * ids, by the fallback where an id is missing, and refuses decoys.
 */
import { expect } from "chai";
import { AbiCoder, JsonRpcProvider, ZeroAddress, id as keccakId, type Signer } from "ethers";
import { startLocalChain, type LocalChain } from "../../scripts/lib/local-chain.js";
import { RpcClient, type RawLog } from "../../src/chain/rpc.js";
import {
  ACROSS_TOPICS,
  BridgeReader,
  BridgeRegistry,
  CCTP_DOMAINS,
  CCTP_MESSAGE_RECEIVED,
  CCTP_TOPICS,
  FALLBACK_CONFIDENCE,
  KNOWN_BRIDGE_CONTRACTS,
  LAYERZERO_EIDS,
  OP_MESSENGER_TOPICS,
  OP_TOPICS,
  STARGATE_TOPICS,
  WORMHOLE_CHAINS,
  WORMHOLE_TOPICS,
  chainTables,
  fromChainId,
  pairBridgeTransfers,
  toChainId,
  type BridgeContract,
  type BridgeDeposit,
  type BridgePairing,
  type BridgeReading,
  type BridgeRelease,
} from "../../src/analytics/bridges/index.js";
import {
  AcrossSpokePoolDouble__factory,
  CctpMessageTransmitterDouble__factory,
  CctpTokenMessengerDouble__factory,
  OptimismMessengerDouble__factory,
  OptimismStandardBridgeDouble__factory,
  StargatePoolDouble__factory,
  TestToken__factory,
  WormholeCoreDouble__factory,
  WormholeTokenBridgeDouble__factory,
  type AcrossSpokePoolDouble,
  type CctpMessageTransmitterDouble,
  type CctpTokenMessengerDouble,
  type OptimismMessengerDouble,
  type OptimismStandardBridgeDouble,
  type StargatePoolDouble,
  type TestToken,
  type WormholeTokenBridgeDouble,
} from "../../types/ethers-contracts/index.js";

const A = 31_337;
const B = 31_338;
/** The test chains' numbers in each bridge's own numbering. */
const TABLES = {
  cctp: { 50: A, 51: B },
  wormhole: { 200: A, 201: B },
  layerZero: { 40_001: A, 40_002: B },
};
const E18 = 10n ** 18n;
const pad32 = (a: string) => `0x${a.toLowerCase().slice(2).padStart(64, "0")}`;
const lower = async (c: { getAddress(): Promise<string> }) => (await c.getAddress()).toLowerCase();

interface Side {
  chain: LocalChain;
  provider: JsonRpcProvider;
  rpc: RpcClient;
  signer: Signer;
  token: TestToken;
  usdc: TestToken;
  across: AcrossSpokePoolDouble;
  messenger: CctpTokenMessengerDouble;
  transmitter: CctpMessageTransmitterDouble;
  wormhole: WormholeTokenBridgeDouble;
  wormholeCore: string;
  stargate: StargatePoolDouble;
  opMessenger: OptimismMessengerDouble;
  opBridge: OptimismStandardBridgeDouble;
}

async function deploySide(chainId: number, otherBridge: string): Promise<Side> {
  const chain = await startLocalChain("anvil", 60_000, chainId);
  const provider = new JsonRpcProvider(chain.url, undefined, {
    staticNetwork: true,
    cacheTimeout: -1,
  });
  const signer = await provider.getSigner(0);
  const deployed = async <T extends { waitForDeployment(): Promise<unknown> }>(p: Promise<T>) => {
    const c = await p;
    await c.waitForDeployment();
    return c;
  };
  const token = await deployed(new TestToken__factory(signer).deploy("Token", "TKN", 18));
  const usdc = await deployed(new TestToken__factory(signer).deploy("USD Coin", "USDC", 6));
  const core = await deployed(new WormholeCoreDouble__factory(signer).deploy());
  const opMessenger = await deployed(new OptimismMessengerDouble__factory(signer).deploy());
  return {
    chain,
    provider,
    rpc: new RpcClient(chain.url),
    signer,
    token,
    usdc,
    across: await deployed(new AcrossSpokePoolDouble__factory(signer).deploy()),
    messenger: await deployed(new CctpTokenMessengerDouble__factory(signer).deploy()),
    transmitter: await deployed(new CctpMessageTransmitterDouble__factory(signer).deploy()),
    wormhole: await deployed(
      new WormholeTokenBridgeDouble__factory(signer).deploy(await core.getAddress()),
    ),
    wormholeCore: await lower(core),
    stargate: await deployed(
      new StargatePoolDouble__factory(signer).deploy(await token.getAddress()),
    ),
    opMessenger,
    opBridge: await deployed(
      new OptimismStandardBridgeDouble__factory(signer).deploy(
        await opMessenger.getAddress(),
        otherBridge,
      ),
    ),
  };
}

/** The bridge contracts of one side, as a caller would name them (e.g. from TagPacks). */
async function contractsOf(s: Side, chainId: number, peer: number): Promise<BridgeContract[]> {
  const c = (
    bridge: BridgeContract["bridge"],
    role: BridgeContract["role"],
    address: string,
    peerChainId?: number,
  ) =>
    ({
      bridge,
      role,
      chainId,
      address,
      ...(peerChainId === undefined ? {} : { peerChainId }),
    }) as BridgeContract;
  return [
    c("across", "spoke-pool", await lower(s.across)),
    c("cctp", "token-messenger", await lower(s.messenger)),
    c("cctp", "message-transmitter", await lower(s.transmitter)),
    c("wormhole", "core", s.wormholeCore),
    c("wormhole", "token-bridge", await lower(s.wormhole)),
    c("stargate", "pool", await lower(s.stargate)),
    c("op-standard", "messenger", await lower(s.opMessenger), peer),
    c("op-standard", "standard-bridge", await lower(s.opBridge), peer),
  ];
}

async function mined(call: Promise<{ wait(): Promise<unknown>; hash: string }>): Promise<string> {
  const tx = await call;
  await tx.wait();
  return tx.hash;
}

/** The next block of `s` at `time` exactly (a release `time - depositTime` seconds after its deposit). */
async function at(s: Side, time: number): Promise<void> {
  await s.provider.send("evm_setNextBlockTimestamp", [time]);
}

async function allLogs(s: Side): Promise<RawLog[]> {
  return s.rpc.call<RawLog[]>("eth_getLogs", [{ fromBlock: "0x0", toBlock: "latest" }]);
}

describe("bridges: chain tables and registry", function () {
  it("maps CCTP domains, Wormhole chain ids and LayerZero endpoint ids to EVM chain ids", function () {
    expect([0, 1, 2, 3, 6, 7].map((d) => toChainId(CCTP_DOMAINS, d))).to.deep.equal([
      1, 43_114, 10, 42_161, 8453, 137,
    ]);
    expect([2, 4, 5, 6, 23, 24, 30].map((w) => toChainId(WORMHOLE_CHAINS, w))).to.deep.equal([
      1, 56, 137, 43_114, 42_161, 10, 8453,
    ]);
    expect(
      [30_101, 30_110, 30_111, 30_184, 30_109].map((e) => toChainId(LAYERZERO_EIDS, e)),
    ).to.deep.equal([1, 42_161, 10, 8453, 137]);
    expect(fromChainId(CCTP_DOMAINS, 8453)).to.equal(6);
    expect(fromChainId(WORMHOLE_CHAINS, 42_161)).to.equal(23);
    expect(toChainId(CCTP_DOMAINS, 5)).to.equal(null); // Solana: no EVM chain id
    expect(fromChainId(LAYERZERO_EIDS, 31_337)).to.equal(null);
  });

  it("reads the topic0 values the deployed contracts' logs carry", function () {
    // As explorers and indexers show them for the mainnet contracts of the registry.
    expect([
      ACROSS_TOPICS.fundsDeposited,
      ACROSS_TOPICS.filledRelay,
      CCTP_TOPICS.depositForBurn,
      CCTP_MESSAGE_RECEIVED,
      OP_TOPICS.erc20DepositInitiated,
      OP_TOPICS.ethDepositInitiated,
      OP_TOPICS.withdrawalInitiated,
      OP_TOPICS.erc20WithdrawalFinalized,
      OP_TOPICS.ethWithdrawalFinalized,
      STARGATE_TOPICS.oftSent,
      STARGATE_TOPICS.oftReceived,
      WORMHOLE_TOPICS.logMessagePublished,
    ]).to.deep.equal([
      "0x32ed1a409ef04c7b0227189c3a103dc5ac10e775a15b785dcc510201f7c25ad3",
      "0x44b559f101f8fbcc8a0ea43fa91a05a729a5ea6e14a7c75aa750374690137208",
      "0x2fa9ca894982930190727e75500a97d8dc500233a5065e0f3126c48fbe0343c0",
      "0x58200b4c34ae05ee816d710053fff3fb75af4395915d3d2a771b24aa10e3cc5d",
      "0x718594027abd4eaed59f95162563e0cc6d0e8d5b86b1c7be8b1b0ac3343d0396",
      "0x35d79ab81f2b2017e19afb5c5571778877782d7a8786f5907f93b0f4702f4f23",
      "0x73d170910aba9e6d50b102db522b1dbcd796216f5128b445aa2135272886497e",
      "0x3ceee06c1e37648fcbb6ed52e17b3e1f275a1f8c7b22a84b2b84732431e046b3",
      "0x2ac69ee804d9a7a0984249f508dfab7cb2534b465b6ce1580f99a38ba9c5e631",
      "0x85496b760a4b7f8d66384b9df21b381f5d1b1e79f229a47aaf4c232edc2fe59a",
      "0xefed6d3500546b29533b128a29e3a94d70788727f0507505ac12eaf2e578fd9c",
      "0x6eb224fb001ed210e379b335e35efe88672a8ce935d981a6896b27ffdf52a3b2",
    ]);
  });

  it("takes the caller's entries over the built-in tables, one number per chain", function () {
    const t = chainTables(TABLES);
    expect([toChainId(t.cctp, 51), toChainId(t.cctp, 0), fromChainId(t.wormhole, B)]).to.deep.equal(
      [B, 1, 201],
    );
    expect(() => chainTables({ cctp: { 99: 1 } })).to.throw(
      RangeError,
      "chain 1 has two bridge numbers",
    );
  });

  it("lists each built-in contract once, in lower case, with its source", function () {
    const keys = KNOWN_BRIDGE_CONTRACTS.map(
      (c) => `${c.chainId}/${c.address}/${c.bridge}/${c.role}`,
    );
    expect(new Set(keys).size).to.equal(keys.length);
    for (const c of KNOWN_BRIDGE_CONTRACTS) {
      expect(c.address).to.match(/^0x[0-9a-f]{40}$/);
      expect(c.source).to.be.a("string");
    }
    const registry = new BridgeRegistry();
    expect(
      registry.find(1, "0x5C7BCD6E7DE5423A257D81B442095A1A6CED35C5", "across", "spoke-pool"),
    ).to.not.equal(undefined);
    expect(
      registry.lookup(10, "0x4200000000000000000000000000000000000010")[0]?.peerChainId,
    ).to.equal(1);
  });
});

describe("bridges across two anvil chains", function () {
  this.timeout(180_000);
  let a: Side;
  let b: Side;
  let user: {
    alice: string;
    bob: string;
    carol: string;
    dave: string;
    erin: string;
    frank: string;
    grace: string;
  };
  const coder = AbiCoder.defaultAbiCoder();
  let readA: BridgeReading;
  let readB: BridgeReading;
  let pairing: BridgePairing;
  let tokenGroups: { chainId: number; token: string }[][];
  const hashes: Record<string, string> = {};

  const relay = (r: {
    inputToken: string;
    outputToken: string;
    inputAmount: bigint;
    outputAmount: bigint;
    otherChainId: number;
    depositId: bigint;
    depositor: string;
    recipient: string;
  }) => ({
    ...r,
    inputToken: pad32(r.inputToken),
    outputToken: pad32(r.outputToken),
    depositor: pad32(r.depositor),
    recipient: pad32(r.recipient),
  });

  before(async function () {
    // B's L2 bridge is deployed first so that A's L1 bridge can name it.
    b = await deploySide(B, ZeroAddress);
    a = await deploySide(A, await b.opBridge.getAddress());
    const accounts = await a.provider.send("eth_accounts", []);
    const [alice, bob, carol, dave, erin, frank, grace] = (accounts as string[])
      .slice(1, 8)
      .map((x) => x.toLowerCase());
    user = { alice, bob, carol, dave, erin, frank, grace } as typeof user;
    const [tokenA, tokenB, usdcA, usdcB] = await Promise.all([
      lower(a.token),
      lower(b.token),
      lower(a.usdc),
      lower(b.usdc),
    ]);
    tokenGroups = [
      [
        { chainId: A, token: usdcA },
        { chainId: B, token: usdcB },
      ],
      [
        { chainId: A, token: tokenA },
        { chainId: B, token: tokenB },
      ],
    ];

    // OP standard bridge: A (L1) → B (L2), relayed by B's messenger from A's SentMessage.
    hashes.op = await mined(a.opBridge.depositERC20To(tokenA, tokenB, user.alice, 5n * E18));
    const opLogs = (await a.provider.getTransactionReceipt(hashes.op))?.logs ?? [];
    const sent = opLogs.find((l) => l.topics[0] === OP_MESSENGER_TOPICS.sentMessage);
    if (sent === undefined) throw new Error("no SentMessage");
    const [sender, message, nonce, gasLimit] = coder.decode(
      ["address", "bytes", "uint256", "uint256"],
      sent.data,
    );
    hashes.opRelay = await mined(
      b.opMessenger.relayMessage(
        nonce,
        sender,
        `0x${sent.topics[1]?.slice(26)}`,
        0,
        gasLimit,
        message,
      ),
    );

    // Across, the bytes32 form (id 7) and the address form (id 8); id 9 is never filled.
    const across = (depositId: bigint, recipient: string, amount: bigint) => ({
      inputToken: tokenA,
      outputToken: tokenB,
      inputAmount: amount,
      outputAmount: (amount * 998n) / 1000n,
      depositor: user.alice,
      recipient,
      depositId,
    });
    await mined(a.across.deposit(relay({ ...across(7n, user.bob, 10n * E18), otherChainId: B })));
    await mined(b.across.fill(relay({ ...across(7n, user.bob, 10n * E18), otherChainId: A })));
    await mined(
      a.across.depositV3(relay({ ...across(8n, user.carol, 3n * E18), otherChainId: B })),
    );
    await mined(b.across.fillV3(relay({ ...across(8n, user.carol, 3n * E18), otherChainId: A })));
    await mined(a.across.deposit(relay({ ...across(9n, user.dave, E18), otherChainId: B })));

    // CCTP V1: burn with nonce 42 on domain 50, mint on domain 51 through the transmitter.
    await mined(a.messenger.depositForBurn(42n, usdcA, 2_500_000n, user.bob, 51));
    await mined(
      b.transmitter.receiveMessage(
        await b.messenger.getAddress(),
        50,
        42n,
        user.bob,
        2_500_000n,
        usdcB,
      ),
    );

    // Stargate V2: one message guid on both sides; a second send is never received.
    const guid = keccakId("guid-1");
    await mined(a.stargate.send(guid, 40_002, 4n * E18, 4n * E18 - 1000n));
    await mined(b.stargate.receive_(guid, 40_001, user.frank, 4n * E18 - 1000n));
    await mined(a.stargate.send(keccakId("guid-2"), 40_002, E18, E18));

    // Wormhole: a payload-1 transfer of A's token (8-decimal amount), redeemed on B by a mint.
    await mined(a.wormhole.transferTokens(200, tokenA, 700_000_000n, 201, user.grace, 0));
    await mined(
      b.wormhole.completeTransfer(
        200,
        pad32(await a.wormhole.getAddress()),
        0n,
        tokenB,
        user.grace,
        7n * E18,
      ),
    );

    // CCTP V2 (no id in its events): the fallback's cases, both clocks set from T0 on.
    const latest = async (side: Side) => (await side.provider.getBlock("latest"))?.timestamp ?? 0;
    const t0 = Math.max(await latest(a), await latest(b)) + 10;
    const burnV2 = async (time: number, to: string, amount: bigint) => {
      await at(a, time);
      await mined(a.messenger.depositForBurnV2(usdcA, amount, to, 51));
    };
    const mintV2 = async (time: number, to: string, amount: bigint, fee: bigint) => {
      await at(b, time);
      await mined(b.messenger.mintV2(to, amount, usdcB, fee));
    };
    // Carol: paid 100 short, 40 s later.
    await burnV2(t0, user.carol, 1_000_000n);
    await mintV2(t0 + 40, user.carol, 999_900n, 100n);
    // Erin: two deposits that could both claim one release; the later one is closer in time.
    await burnV2(t0 + 100, user.erin, 1_000_000n);
    await burnV2(t0 + 200, user.erin, 1_000_000n);
    await mintV2(t0 + 230, user.erin, 999_950n, 50n);
    // Dave: a decoy short by 10 % (outside 0.5 %), and the full amount an hour and a half late.
    await burnV2(t0 + 300, user.dave, 2_000_000n);
    await mintV2(t0 + 360, user.dave, 1_800_000n, 200_000n);
    await mintV2(t0 + 300 + 5400, user.dave, 2_000_000n, 0n);

    // A deposit from an Across SpokePool nobody named: not read.
    const stranger = await new AcrossSpokePoolDouble__factory(a.signer).deploy();
    await stranger.waitForDeployment();
    await mined(stranger.deposit(relay({ ...across(10n, user.bob, E18), otherChainId: B })));

    readA = await new BridgeReader({
      chainId: A,
      rpc: a.rpc,
      contracts: await contractsOf(a, A, B),
      tables: TABLES,
    }).read(await allLogs(a));
    readB = await new BridgeReader({
      chainId: B,
      rpc: b.rpc,
      contracts: await contractsOf(b, B, A),
      tables: TABLES,
    }).read(await allLogs(b));
    pairing = pairBridgeTransfers(readA.deposits, readB.releases, { tokens: tokenGroups });
  });

  after(async function () {
    for (const s of [a, b]) {
      s?.provider.destroy();
      await s?.chain.stop();
    }
  });

  const pairOf = (d: (d: BridgeDeposit) => boolean) => pairing.pairs.find((p) => d(p.deposit));

  it("reads every deposit on A and every release on B, and nothing from an unnamed contract", function () {
    expect(readA.skipped).to.deep.equal([]);
    expect(readB.skipped).to.deep.equal([]);
    expect(readA.releases).to.deep.equal([]);
    expect(readB.deposits).to.deep.equal([]);
    expect(readA.deposits.map((d) => [d.bridge, d.event])).to.deep.equal([
      ["op-standard", "ERC20DepositInitiated"],
      ["across", "FundsDeposited"],
      ["across", "V3FundsDeposited"],
      ["across", "FundsDeposited"],
      ["cctp", "DepositForBurn"],
      ["stargate", "OFTSent"],
      ["stargate", "OFTSent"],
      ["wormhole", "LogMessagePublished"],
      ["cctp", "DepositForBurn (V2)"],
      ["cctp", "DepositForBurn (V2)"],
      ["cctp", "DepositForBurn (V2)"],
      ["cctp", "DepositForBurn (V2)"],
    ]);
    expect(readB.releases.map((r) => [r.bridge, r.event])).to.deep.equal([
      ["op-standard", "DepositFinalized"],
      ["across", "FilledRelay"],
      ["across", "FilledV3Relay"],
      ["cctp", "MintAndWithdraw"],
      ["stargate", "OFTReceived"],
      ["wormhole", "TransferRedeemed"],
      ["cctp", "MintAndWithdraw (V2)"],
      ["cctp", "MintAndWithdraw (V2)"],
      ["cctp", "MintAndWithdraw (V2)"],
      ["cctp", "MintAndWithdraw (V2)"],
    ]);
    for (const e of [...readA.deposits, ...readB.releases]) expect(e.time).to.be.a("number");
  });

  it("pairs the OP Stack deposit by the hash of the messenger's message", async function () {
    const p = pairOf((d) => d.bridge === "op-standard");
    expect(p?.by).to.equal("id");
    expect(p?.confidence).to.equal(1);
    expect(p?.deposit.pairingId).to.match(/^op:0x[0-9a-f]{64}$/);
    expect(p?.release.txHash).to.equal(hashes.opRelay?.toLowerCase());
    expect([
      p?.deposit.token,
      p?.deposit.destinationToken,
      p?.release.token,
      p?.release.sourceToken,
    ]).to.deep.equal([
      await lower(a.token),
      await lower(b.token),
      await lower(b.token),
      await lower(a.token),
    ]);
    expect([p?.deposit.amount, p?.release.amount, p?.release.recipient]).to.deep.equal([
      5n * E18,
      5n * E18,
      user.alice,
    ]);
    expect(p?.deposit.destinationChainId).to.equal(B);
  });

  it("pairs Across deposits with their fills by origin chain and deposit id, both forms", function () {
    const ids = pairing.pairs
      .filter((p) => p.deposit.bridge === "across")
      .map((p) => [
        p.by,
        p.deposit.pairingId,
        p.release.pairingId,
        p.release.amount,
        p.release.recipient,
      ]);
    expect(ids).to.deep.equal([
      ["id", `across:${A}:7`, `across:${A}:7`, (10n * E18 * 998n) / 1000n, user.bob],
      ["id", `across:${A}:8`, `across:${A}:8`, (3n * E18 * 998n) / 1000n, user.carol],
    ]);
  });

  it("pairs a CCTP V1 burn with its mint by source domain and nonce", async function () {
    const p = pairOf((d) => d.event === "DepositForBurn");
    expect([
      p?.by,
      p?.deposit.pairingId,
      p?.release.pairingId,
      p?.release.sourceChainId,
    ]).to.deep.equal(["id", "cctp:50:42", "cctp:50:42", A]);
    expect([p?.release.token, p?.release.amount, p?.release.recipient]).to.deep.equal([
      await lower(b.usdc),
      2_500_000n,
      user.bob,
    ]);
  });

  it("pairs Stargate by the LayerZero guid, the tokens from the pools' token()", async function () {
    const p = pairOf(
      (d) => d.bridge === "stargate" && d.pairingId === `stargate:${keccakId("guid-1")}`,
    );
    expect([p?.by, p?.deposit.token, p?.release.token, p?.release.recipient]).to.deep.equal([
      "id",
      await lower(a.token),
      await lower(b.token),
      user.frank,
    ]);
    expect(p?.deposit.destinationChainId).to.equal(B);
  });

  it("pairs a Wormhole transfer by emitter chain, emitter and sequence, the payout from its Transfer", async function () {
    const p = pairOf((d) => d.bridge === "wormhole");
    const emitter = pad32(await a.wormhole.getAddress());
    expect([p?.by, p?.deposit.pairingId, p?.release.pairingId]).to.deep.equal([
      "id",
      `wormhole:200:${emitter}:0`,
      `wormhole:200:${emitter}:0`,
    ]);
    expect([p?.deposit.amount, p?.deposit.recipient, p?.deposit.destinationChainId]).to.deep.equal([
      700_000_000n,
      user.grace,
      B,
    ]);
    expect([p?.release.token, p?.release.amount, p?.release.recipient]).to.deep.equal([
      await lower(b.token),
      7n * E18,
      user.grace,
    ]);
  });

  it("pairs a CCTP V2 burn without an id by the fallback, saying so", function () {
    const p = pairOf((d) => d.recipient === user.carol && d.bridge === "cctp");
    expect([p?.by, p?.confidence, p?.release.amount]).to.deep.equal([
      "fallback",
      FALLBACK_CONFIDENCE.alone,
      999_900n,
    ]);
    expect(p?.reason).to.equal(
      "no shared id: the same recipient and token, 999900 for 1000000 (short by 100, within 5000 ppm), 40 s after the deposit",
    );
  });

  it("pairs an OP deposit whose release was read without its RelayedMessage by the fallback", async function () {
    const withoutRelay = (await allLogs(b)).filter(
      (l) => l.topics[0] !== OP_MESSENGER_TOPICS.relayedMessage,
    );
    const read = await new BridgeReader({
      chainId: B,
      rpc: b.rpc,
      contracts: await contractsOf(b, B, A),
      tables: TABLES,
    }).read(withoutRelay);
    const release = read.releases.find((r) => r.bridge === "op-standard");
    expect(release?.pairingId).to.equal(null);
    const deposit = readA.deposits.find((d) => d.bridge === "op-standard");
    const { pairs } = pairBridgeTransfers(deposit === undefined ? [] : [deposit], read.releases);
    expect(pairs.map((p) => [p.by, p.confidence, p.release.txHash])).to.deep.equal([
      ["fallback", FALLBACK_CONFIDENCE.alone, hashes.opRelay?.toLowerCase()],
    ]);
    // The token matched by what the events say: the deposit's l2Token is the release's token.
    expect(pairs[0]?.reason).to.match(
      /^no shared id: the same recipient and token, 5000000000000000000 for 5000000000000000000 \(short by 0, within 0 ppm\), \d+ s after the deposit$/,
    );
  });

  it("lists a known pool's OFTSent it can't read (no token()), and reads nothing else from it", async function () {
    const pool = `0x${"5a".repeat(20)}`; // an account without code
    const log: RawLog = {
      address: pool,
      topics: [STARGATE_TOPICS.oftSent, keccakId("guid-3"), pad32(user.alice)],
      data: coder.encode(["uint32", "uint256", "uint256"], [40_002, 1n, 1n]),
      blockNumber: "0x1",
      blockHash: `0x${"00".repeat(32)}`,
      transactionHash: `0x${"11".repeat(32)}`,
      transactionIndex: "0x0",
      logIndex: "0x0",
    };
    const reader = new BridgeReader({
      chainId: A,
      rpc: a.rpc,
      contracts: [{ bridge: "stargate", role: "pool", chainId: A, address: pool }],
      tables: TABLES,
    });
    const read = await reader.read([
      log,
      { ...log, address: `0x${"5b".repeat(20)}`, logIndex: "0x1" },
    ]);
    expect([read.deposits, read.releases]).to.deep.equal([[], []]);
    expect(read.skipped.map((x) => [x.contract, x.reason])).to.deep.equal([
      [pool, "an OFT event from a contract that answers no token()"],
    ]);
  });

  it("leaves a release short by more than the fee, or later than the window, unpaired", function () {
    const dave = pairing.unpairedReleases.filter((r) => r.recipient === user.dave);
    expect(dave.map((r) => r.amount)).to.deep.equal([1_800_000n, 2_000_000n]);
    expect(
      pairing.unpairedDeposits.some((d) => d.recipient === user.dave && d.bridge === "cctp"),
    ).to.equal(true);
  });

  it("gives a release two deposits could claim to the closer one, once", function () {
    const erin = pairing.pairs.filter((p) => p.release.recipient === user.erin);
    expect(erin).to.have.length(1);
    const [p] = erin;
    const deposits = readA.deposits.filter((d) => d.recipient === user.erin);
    expect(p?.deposit).to.equal(deposits[1]);
    expect(p?.confidence).to.equal(FALLBACK_CONFIDENCE.chosen);
    expect(p?.reason).to.match(/30 s after the deposit; the closest of 2 candidates/);
    expect(pairing.unpairedDeposits).to.include(deposits[0]);
  });

  it("leaves deposits without a release unpaired, to be exits to their destination chain", function () {
    expect(
      pairing.unpairedDeposits.map((d) => [
        d.bridge,
        d.pairingId ?? d.recipient,
        d.destinationChainId,
      ]),
    ).to.deep.equal([
      ["across", `across:${A}:9`, B],
      ["stargate", `stargate:${keccakId("guid-2")}`, B],
      ["cctp", user.erin, B],
      ["cctp", user.dave, B],
    ]);
    expect(pairing.unpairedReleases.map((r) => r.recipient)).to.deep.equal([user.dave, user.dave]);
  });

  it("gives the same pairs whatever the input's order", function () {
    const shuffled = pairBridgeTransfers(
      [...readA.deposits].reverse(),
      [...readB.releases].reverse(),
      {
        tokens: tokenGroups,
      },
    );
    const key = (x: BridgePairing) =>
      x.pairs.map((p) => [
        p.deposit.txHash,
        p.deposit.logIndex,
        p.release.txHash,
        p.release.logIndex,
        p.by,
      ]);
    expect(key(shuffled)).to.deep.equal(key(pairing));
  });

  it("without the token map, pairs no CCTP V2 transfer (USDC's addresses differ per chain)", function () {
    const bare = pairBridgeTransfers(readA.deposits, readB.releases);
    expect(bare.pairs.filter((p) => p.by === "fallback")).to.deep.equal([]);
  });

  it("refuses an invalid fallback parameter", function () {
    const releases: BridgeRelease[] = [];
    expect(() =>
      pairBridgeTransfers(readA.deposits, releases, {
        fallback: { cctp: { feeTolerancePpm: 2_000_000 } },
      }),
    ).to.throw("cctp: feeTolerancePpm must be an integer from 0 to 1000000, not 2000000");
  });
});
