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
  ARBITRUM_TOPICS,
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
  POLYGON_POS_TOPICS,
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
  ArbBridgeDouble__factory,
  ArbInboxDouble__factory,
  ArbL1GatewayDouble__factory,
  ArbL2GatewayDouble__factory,
  ArbOutboxDouble__factory,
  ArbSysDouble__factory,
  ArbTokenDouble__factory,
  CctpMessageTransmitterDouble__factory,
  CctpTokenMessengerDouble__factory,
  OptimismMessengerDouble__factory,
  OptimismStandardBridgeDouble__factory,
  PosChildChainManagerDouble__factory,
  PosChildTokenDouble__factory,
  PosERC20PredicateDouble__factory,
  PosEtherPredicateDouble__factory,
  PosRootChainManagerDouble__factory,
  PosStateReceiverDouble__factory,
  PosStateSenderDouble__factory,
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

describe("Arbitrum's gateways and Polygon PoS across two anvil chains (A: L1 / root, B: L2 / child)", function () {
  this.timeout(180_000);
  const coder = AbiCoder.defaultAbiCoder();
  const ETHER_ADDRESS = "0xeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee";
  let a: { chain: LocalChain; provider: JsonRpcProvider; rpc: RpcClient };
  let b: typeof a;
  let user: Record<"alice" | "bob" | "carol" | "dave" | "erin" | "frank" | "grace", string>;
  /** Lower-case addresses of what was deployed, by name. */
  const at: Record<string, string> = {};
  let readA: BridgeReading;
  let readB: BridgeReading;
  let pairing: BridgePairing;
  let tokens: { chainId: number; token: string }[][];
  let clock = 0;

  const start = async (chainId: number) => {
    const chain = await startLocalChain("anvil", 60_000, chainId);
    const provider = new JsonRpcProvider(chain.url, undefined, {
      staticNetwork: true,
      cacheTimeout: -1,
    });
    return { chain, provider, rpc: new RpcClient(chain.url) };
  };
  /** One transaction at the next tick of a clock both chains share (10 s apart). */
  const step = async (
    side: typeof a,
    call: () => Promise<{ wait(): Promise<unknown>; hash: string }>,
  ): Promise<string> => {
    clock += 10;
    await side.provider.send("evm_setNextBlockTimestamp", [clock]);
    return mined(call());
  };
  const deploy = async <
    T extends { waitForDeployment(): Promise<unknown>; getAddress(): Promise<string> },
  >(
    name: string,
    p: Promise<T>,
  ): Promise<T> => {
    const c = await p;
    await c.waitForDeployment();
    at[name] = await lower(c);
    return c;
  };
  const contract = (
    bridge: BridgeContract["bridge"],
    role: BridgeContract["role"],
    chainId: number,
    address: string,
  ): BridgeContract => ({ bridge, role, chainId, address, peerChainId: chainId === A ? B : A });

  before(async function () {
    a = await start(A);
    b = await start(B);
    const accounts = (await a.provider.send("eth_accounts", [])) as string[];
    const names = ["alice", "bob", "carol", "dave", "erin", "frank", "grace"] as const;
    user = Object.fromEntries(
      names.map((n, i) => [n, (accounts[i + 1] as string).toLowerCase()]),
    ) as typeof user;
    const { alice, bob, carol, dave, erin, frank, grace } = user;
    const signerA = await a.provider.getSigner(0);
    const signerB = await b.provider.getSigner(0);
    const as = async (side: typeof a, who: string) => side.provider.getSigner(who);

    // B (child chain) first: the root chain manager names the child chain manager.
    const receiver = await deploy(
      "stateReceiver",
      new PosStateReceiverDouble__factory(signerB).deploy(),
    );
    const ccm = await deploy(
      "childChainManager",
      new PosChildChainManagerDouble__factory(signerB).deploy(at.stateReceiver as string),
    );
    const childToken = await deploy(
      "childToken",
      new PosChildTokenDouble__factory(signerB).deploy("Child T", at.childChainManager as string),
    );
    const childWeth = await deploy(
      "childWeth",
      new PosChildTokenDouble__factory(signerB).deploy("WETH", at.childChainManager as string),
    );
    // A (L1, root chain).
    const t = await deploy("token", new TestToken__factory(signerA).deploy("Token", "T", 18));
    await deploy("arbBridge", new ArbBridgeDouble__factory(signerA).deploy());
    const inbox = await deploy(
      "inbox",
      new ArbInboxDouble__factory(signerA).deploy(at.arbBridge as string),
    );
    const outbox = await deploy(
      "outbox",
      new ArbOutboxDouble__factory(signerA).deploy(at.arbBridge as string),
    );
    const l1Gateway = await deploy(
      "l1Gateway",
      new ArbL1GatewayDouble__factory(signerA).deploy(at.inbox as string),
    );
    await deploy("stateSender", new PosStateSenderDouble__factory(signerA).deploy());
    const manager = await deploy(
      "rootChainManager",
      new PosRootChainManagerDouble__factory(signerA).deploy(
        at.stateSender as string,
        at.childChainManager as string,
      ),
    );
    await deploy(
      "erc20Predicate",
      new PosERC20PredicateDouble__factory(signerA).deploy(at.rootChainManager as string),
    );
    await deploy(
      "etherPredicate",
      new PosEtherPredicateDouble__factory(signerA).deploy(at.rootChainManager as string),
    );
    await mined(manager.setPredicates(at.erc20Predicate as string, at.etherPredicate as string));
    // B's Arbitrum side, naming A's L1 gateway.
    const arbSys = await deploy("arbSys", new ArbSysDouble__factory(signerB).deploy());
    const l2Gateway = await deploy(
      "l2Gateway",
      new ArbL2GatewayDouble__factory(signerB).deploy(at.arbSys as string, at.l1Gateway as string),
    );
    await deploy("l2Token", new ArbTokenDouble__factory(signerB).deploy(at.l2Gateway as string));
    await mined(l2Gateway.setToken(at.token as string, at.l2Token as string));
    await mined(ccm.mapToken(at.token as string, at.childToken as string));
    await mined(ccm.mapToken(ETHER_ADDRESS, at.childWeth as string));
    await mined(t.mint(alice, 1000n * E18));
    await mined(t.connect(await as(a, alice)).approve(at.l1Gateway as string, 1000n * E18));
    await mined(t.connect(await as(a, alice)).approve(at.erc20Predicate as string, 1000n * E18));
    // The predicate and the gateway hold what earlier deposits locked.
    await mined(t.mint(at.erc20Predicate as string, 100n * E18));
    tokens = [
      [
        { chainId: A, token: at.token as string },
        { chainId: B, token: at.childToken as string },
      ],
      [
        { chainId: A, token: "native" },
        { chainId: B, token: at.childWeth as string },
      ],
    ];
    const latest = async (side: typeof a) =>
      (await side.provider.getBlock("latest"))?.timestamp ?? 0;
    clock = Math.max(await latest(a), await latest(b)) + 10;

    // Arbitrum: a token deposit A → B (the fallback), a token withdrawal and an ETH withdrawal
    // B → A (the send tree's positions 0 and 1), an ETH deposit never read on B.
    await step(a, async () =>
      l1Gateway.connect(await as(a, alice)).outboundTransfer(at.token as string, bob, 50n * E18),
    );
    await step(b, () =>
      l2Gateway.finalizeInboundTransfer(at.token as string, alice, bob, 50n * E18),
    );
    await step(a, async () => inbox.connect(await as(a, erin)).depositEth({ value: 2n * E18 }));
    const withdrawal = await step(b, async () =>
      l2Gateway.connect(await as(b, bob)).outboundTransfer(at.token as string, carol, 20n * E18),
    );
    await step(b, async () => arbSys.connect(await as(b, dave)).withdrawEth(dave, { value: E18 }));
    const sent = (await b.provider.getTransactionReceipt(withdrawal))?.logs.find(
      (l) => l.topics[0] === ARBITRUM_TOPICS.l2ToL1Tx,
    );
    if (sent === undefined) throw new Error("no L2ToL1Tx");
    const message = coder.decode(
      ["address", "uint256", "uint256", "uint256", "uint256", "bytes"],
      sent.data,
    )[5] as string;
    await step(a, () =>
      outbox.executeTransaction(0, at.l2Gateway as string, at.l1Gateway as string, 0, message),
    );
    await step(a, () => outbox.executeTransaction(1, dave, dave, E18, "0x"));

    // Polygon PoS: a token and an ETH deposit A → B, delivered in one state-sync transaction
    // with a sync that mints nothing; withdrawals of both B → A (the fallback).
    const depositData = (user_: string, root: string, amount: bigint) =>
      coder.encode(
        ["bytes32", "bytes"],
        [
          keccakId("DEPOSIT"),
          coder.encode(
            ["address", "address", "bytes"],
            [user_, root, coder.encode(["uint256"], [amount])],
          ),
        ],
      );
    await step(a, async () =>
      manager
        .connect(await as(a, alice))
        .depositFor(frank, at.token as string, coder.encode(["uint256"], [30n * E18])),
    );
    await step(a, async () =>
      manager.connect(await as(a, grace)).depositEtherFor(grace, { value: 3n * E18 }),
    );
    await step(b, () =>
      receiver.commitStates(1, at.childChainManager as string, [
        depositData(frank, at.token as string, 30n * E18),
        depositData(grace, ETHER_ADDRESS, 3n * E18),
        coder.encode(["bytes32", "bytes"], [keccakId("MAP_TOKEN"), "0x"]),
      ]),
    );
    await step(b, async () => childToken.connect(await as(b, frank)).withdraw(10n * E18));
    await step(b, async () => childWeth.connect(await as(b, grace)).withdraw(E18));
    await step(a, () => manager.exit(at.token as string, frank, 10n * E18));
    await step(a, () => manager.exit(ETHER_ADDRESS, grace, E18));

    const contractsA = [
      contract("arbitrum", "token-gateway", A, at.l1Gateway as string),
      contract("arbitrum", "inbox", A, at.inbox as string),
      contract("arbitrum", "rollup-bridge", A, at.arbBridge as string),
      contract("arbitrum", "outbox", A, at.outbox as string),
      contract("polygon-pos", "predicate", A, at.erc20Predicate as string),
      contract("polygon-pos", "predicate", A, at.etherPredicate as string),
      contract("polygon-pos", "state-sender", A, at.stateSender as string),
      contract("polygon-pos", "root-chain-manager", A, at.rootChainManager as string),
    ];
    const contractsB = [
      contract("arbitrum", "token-gateway", B, at.l2Gateway as string),
      contract("arbitrum", "arbsys", B, at.arbSys as string),
      contract("polygon-pos", "state-receiver", B, at.stateReceiver as string),
      contract("polygon-pos", "child-token", B, at.childToken as string),
      contract("polygon-pos", "child-token", B, at.childWeth as string),
    ];
    readA = await new BridgeReader({ chainId: A, rpc: a.rpc, contracts: contractsA }).read(
      await a.rpc.call<RawLog[]>("eth_getLogs", [{ fromBlock: "0x0", toBlock: "latest" }]),
    );
    readB = await new BridgeReader({ chainId: B, rpc: b.rpc, contracts: contractsB }).read(
      await b.rpc.call<RawLog[]>("eth_getLogs", [{ fromBlock: "0x0", toBlock: "latest" }]),
    );
    pairing = pairBridgeTransfers(
      [...readA.deposits, ...readB.deposits],
      [...readA.releases, ...readB.releases],
      { tokens },
    );
  });

  after(async function () {
    for (const s of [a, b]) {
      s?.provider.destroy();
      await s?.chain.stop();
    }
  });

  const pairOf = (bridge: string, event: string) =>
    pairing.pairs.find((p) => p.deposit.bridge === bridge && p.deposit.event === event);

  it("keys each adapter on the published signatures' topic0, as the doubles emit them", function () {
    const topic = (
      f: { createInterface(): { getEvent(name: string): { topicHash: string } | null } },
      name: string,
    ) => f.createInterface().getEvent(name)?.topicHash;
    expect([
      ARBITRUM_TOPICS.depositInitiated,
      ARBITRUM_TOPICS.depositFinalized,
      ARBITRUM_TOPICS.withdrawalInitiated,
      ARBITRUM_TOPICS.withdrawalFinalized,
      ARBITRUM_TOPICS.l2ToL1Tx,
      ARBITRUM_TOPICS.outBoxTransactionExecuted,
      ARBITRUM_TOPICS.bridgeCallTriggered,
      ARBITRUM_TOPICS.messageDelivered,
      ARBITRUM_TOPICS.inboxMessageDelivered,
      POLYGON_POS_TOPICS.lockedERC20,
      POLYGON_POS_TOPICS.lockedEther,
      POLYGON_POS_TOPICS.exitedERC20,
      POLYGON_POS_TOPICS.exitedEther,
      POLYGON_POS_TOPICS.stateSynced,
      POLYGON_POS_TOPICS.stateCommitted,
    ])
      .to.deep.equal([
        topic(ArbL1GatewayDouble__factory, "DepositInitiated"),
        topic(ArbL2GatewayDouble__factory, "DepositFinalized"),
        topic(ArbL2GatewayDouble__factory, "WithdrawalInitiated"),
        topic(ArbL1GatewayDouble__factory, "WithdrawalFinalized"),
        topic(ArbSysDouble__factory, "L2ToL1Tx"),
        topic(ArbOutboxDouble__factory, "OutBoxTransactionExecuted"),
        topic(ArbBridgeDouble__factory, "BridgeCallTriggered"),
        topic(ArbBridgeDouble__factory, "MessageDelivered"),
        topic(ArbInboxDouble__factory, "InboxMessageDelivered"),
        topic(PosERC20PredicateDouble__factory, "LockedERC20"),
        topic(PosEtherPredicateDouble__factory, "LockedEther"),
        topic(PosERC20PredicateDouble__factory, "ExitedERC20"),
        topic(PosEtherPredicateDouble__factory, "ExitedEther"),
        topic(PosStateSenderDouble__factory, "StateSynced"),
        topic(PosStateReceiverDouble__factory, "StateCommitted"),
      ])
      // keccak256 of the signatures in token-bridge-contracts, nitro-contracts, pos-portal and
      // genesis-contracts (the events' declarations there).
      .and.to.deep.equal([
        "0xb8910b9960c443aac3240b98585384e3a6f109fbf6969e264c3f183d69aba7e1",
        "0xc7f2e9c55c40a50fbc217dfc70cd39a222940dfa62145aa0ca49eb9535d4fcb2",
        "0x3073a74ecb728d10be779fe19a74a1428e20468f5b4d167bf9c73d9067847d73",
        "0x891afe029c75c4f8c5855fc3480598bc5a53739344f6ae575bdb7ea2a79f56b3",
        "0x3e7aafa77dbf186b7fd488006beff893744caa3c4f6f299e8a709fa2087374fc",
        "0x20af7f3bbfe38132b8900ae295cd9c8d1914be7052d061a511f3f728dab18964",
        "0x2d9d115ef3e4a606d698913b1eae831a3cdfe20d9a83d48007b0526749c3d466",
        "0x5e3c1311ea442664e8b1611bfabef659120ea7a0a2cfc0667700bebc69cbffe1",
        "0xff64905f73a67fb594e0f940a8075a860db489ad991e032f48c81123eb52d60b",
        "0x9b217a401a5ddf7c4d474074aff9958a18d48690d77cc2151c4706aa7348b401",
        "0x3e799b2d61372379e767ef8f04d65089179b7a6f63f9be3065806456c7309f1b",
        "0xbb61bd1b26b3684c7c028ff1a8f6dabcac2fac8ac57b66fa6b1efb6edeab03c4",
        "0x0fc0eed41f72d3da77d0f53b9594fc7073acd15ee9d7c536819a70a67c57ef3c",
        "0x103fed9db65eac19c4d870f49ab7520fe03b99f1838e5996caf47e9e43308392",
        "0x5a22725590b0a51c923940223f7458512164b1113359a735e86e7f27f44791ee",
      ]);
  });

  it("lists Arbitrum One's and Polygon PoS's mainnet contracts, each naming its other chain", function () {
    const registry = new BridgeRegistry();
    const peer = (
      chainId: number,
      address: string,
      bridge: BridgeContract["bridge"],
      role: BridgeContract["role"],
    ) => registry.find(chainId, address, bridge, role)?.peerChainId;
    expect([
      peer(1, "0xa3A7B6F88361F48403514059F1F16C8E78d60EeC", "arbitrum", "token-gateway"),
      peer(42_161, "0x09e9222E96E7B4AE2a407B98d48e330053351EEe", "arbitrum", "token-gateway"),
      peer(42_161, "0x0000000000000000000000000000000000000064", "arbitrum", "arbsys"),
      peer(1, "0x0B9857ae2D4A3DBe74ffE1d7DF045bb7F96E4840", "arbitrum", "outbox"),
      peer(1, "0x40ec5B33f54e0E8A33A975908C5BA1c14e5BbbDf", "polygon-pos", "predicate"),
      peer(1, "0x8484Ef722627bf18ca5Ae6BcF031c23E6e922B30", "polygon-pos", "predicate"),
      peer(137, "0x0000000000000000000000000000000000001001", "polygon-pos", "state-receiver"),
    ]).to.deep.equal([42_161, 1, 1, 42_161, 137, 137, 1]);
  });

  it("reads each side's deposits and releases, and neither a retryable nor an empty state sync as one", function () {
    expect([readA.skipped, readB.skipped]).to.deep.equal([[], []]);
    const events = (list: (BridgeDeposit | BridgeRelease)[]) =>
      list.map((e) => [e.bridge, e.event]);
    expect(events(readA.deposits)).to.deep.equal([
      ["arbitrum", "DepositInitiated"],
      ["arbitrum", "InboxMessageDelivered"],
      ["polygon-pos", "LockedERC20"],
      ["polygon-pos", "LockedEther"],
    ]);
    expect(events(readB.releases)).to.deep.equal([
      ["arbitrum", "DepositFinalized"],
      ["polygon-pos", "StateCommitted"],
      ["polygon-pos", "StateCommitted"],
    ]);
    expect(events(readB.deposits)).to.deep.equal([
      ["arbitrum", "WithdrawalInitiated"],
      ["arbitrum", "L2ToL1Tx"],
      ["polygon-pos", "Transfer (burn)"],
      ["polygon-pos", "Transfer (burn)"],
    ]);
    expect(events(readA.releases)).to.deep.equal([
      ["arbitrum", "WithdrawalFinalized"],
      ["arbitrum", "BridgeCallTriggered"],
      ["polygon-pos", "ExitedERC20"],
      ["polygon-pos", "ExitedEther"],
    ]);
  });

  it("pairs an Arbitrum token deposit by the fallback: DepositFinalized names the L1 token, the mint the L2 one", function () {
    const p = pairOf("arbitrum", "DepositInitiated");
    expect([
      p?.by,
      p?.confidence,
      p?.release.token,
      p?.release.sourceToken,
      p?.release.recipient,
    ]).to.deep.equal(["fallback", FALLBACK_CONFIDENCE.alone, at.l2Token, at.token, user.bob]);
    expect(p?.reason).to.equal(
      "no shared id: the same recipient and token, 50000000000000000000 for 50000000000000000000 (short by 0, within 0 ppm), 10 s after the deposit",
    );
  });

  it("pairs Arbitrum withdrawals by the message's position in the send tree (ArbSys on L2, the Outbox on L1)", function () {
    const token = pairOf("arbitrum", "WithdrawalInitiated");
    const eth = pairOf("arbitrum", "L2ToL1Tx");
    expect([token?.by, token?.deposit.pairingId, token?.release.pairingId]).to.deep.equal([
      "id",
      `arbitrum:${B}:0`,
      `arbitrum:${B}:0`,
    ]);
    expect([
      token?.deposit.token,
      token?.deposit.destinationToken,
      token?.release.token,
      token?.release.recipient,
      token?.release.amount,
    ]).to.deep.equal([at.l2Token, at.token, at.token, user.carol, 20n * E18]);
    expect([
      eth?.by,
      eth?.deposit.pairingId,
      eth?.release.event,
      eth?.release.token,
      eth?.release.amount,
      eth?.release.recipient,
    ]).to.deep.equal(["id", `arbitrum:${B}:1`, "BridgeCallTriggered", "native", E18, user.dave]);
  });

  it("leaves an Arbitrum ETH deposit unpaired, bound for the L2, its sender unaliased", function () {
    const d = pairing.unpairedDeposits.find((x) => x.event === "InboxMessageDelivered");
    expect([d?.sender, d?.recipient, d?.token, d?.amount, d?.destinationChainId]).to.deep.equal([
      user.erin,
      user.erin,
      "native",
      2n * E18,
      B,
    ]);
    expect(pairing.unpairedDeposits).to.have.length(1);
    expect(pairing.unpairedReleases).to.deep.equal([]);
  });

  it("pairs Polygon deposits by the state id, each paid by its own mint in a sprint's one transaction", function () {
    const erc20 = pairOf("polygon-pos", "LockedERC20");
    const eth = pairOf("polygon-pos", "LockedEther");
    expect([erc20?.by, erc20?.deposit.pairingId, erc20?.release.pairingId]).to.deep.equal([
      "id",
      `polygon-pos:${B}:1`,
      `polygon-pos:${B}:1`,
    ]);
    expect([erc20?.release.token, erc20?.release.recipient, erc20?.release.amount]).to.deep.equal([
      at.childToken,
      user.frank,
      30n * E18,
    ]);
    expect([
      eth?.deposit.pairingId,
      eth?.deposit.token,
      eth?.release.token,
      eth?.release.recipient,
      eth?.release.amount,
    ]).to.deep.equal([`polygon-pos:${B}:2`, "native", at.childWeth, user.grace, 3n * E18]);
    expect(erc20?.release.txHash).to.equal(eth?.release.txHash);
  });

  it("pairs Polygon withdrawals (a child token's burn, the predicate's exit) by the fallback, through the token map", function () {
    const burns = pairing.pairs.filter((p) => p.deposit.event === "Transfer (burn)");
    expect(
      burns.map((p) => [
        p.by,
        p.confidence,
        p.release.event,
        p.release.recipient,
        p.release.token,
        p.release.amount,
      ]),
    ).to.deep.equal([
      ["fallback", FALLBACK_CONFIDENCE.alone, "ExitedERC20", user.frank, at.token, 10n * E18],
      ["fallback", FALLBACK_CONFIDENCE.alone, "ExitedEther", user.grace, "native", E18],
    ]);
    // Without the map, nothing says the child token is the root token.
    const bare = pairBridgeTransfers(readB.deposits, readA.releases);
    expect(bare.pairs.filter((p) => p.deposit.bridge === "polygon-pos")).to.deep.equal([]);
  });
});
