/**
 * The bridges' contracts on mainnet and the main L2s, from each project's published deployment
 * list (the source is named per group). A log is read as a bridge's event only when it comes from
 * one of these or from a contract the caller names (e.g. the addresses a TagPack labels `bridge`).
 */

/** The bridges the adapters read. */
export const BRIDGE_NAMES = [
  "op-standard",
  "arbitrum",
  "polygon-pos",
  "across",
  "cctp",
  "stargate",
  "wormhole",
] as const;

export type BridgeName = (typeof BRIDGE_NAMES)[number];

/** What a contract is to its bridge: each adapter reads the events of its roles only. */
export type BridgeRole =
  | "standard-bridge" // OP Stack L1StandardBridge / L2StandardBridge
  | "messenger" // OP Stack L1/L2CrossDomainMessenger
  | "spoke-pool" // Across SpokePool
  | "token-messenger" // CCTP TokenMessenger (V1) / TokenMessengerV2
  | "message-transmitter" // CCTP MessageTransmitter (V1)
  | "pool" // Stargate V2 pool or OFT
  | "core" // Wormhole core contract
  | "token-bridge" // Wormhole token bridge
  | "token-gateway" // Arbitrum L1/L2 token gateways (ERC20Gateway, CustomGateway)
  | "gateway-router" // Arbitrum L1/L2GatewayRouter: routes to a gateway, holds nothing
  | "inbox" // Arbitrum Inbox (ETH deposits)
  | "rollup-bridge" // Arbitrum Bridge: delayed messages, the Outbox's calls (ETH withdrawals)
  | "outbox" // Arbitrum Outbox (executes L2 → L1 messages)
  | "arbsys" // Arbitrum's ArbSys precompile (L2 → L1 messages)
  | "predicate" // Polygon PoS ERC20Predicate / EtherPredicate (root chain)
  | "root-chain-manager" // Polygon PoS RootChainManager: deposits and exits pass through it
  | "state-sender" // Polygon StateSender (root chain): numbers state syncs
  | "state-receiver" // Bor's StateReceiver (child chain): commits state syncs
  | "child-chain-manager" // Polygon PoS ChildChainManager: mints synced deposits
  | "child-token"; // a Polygon PoS child token: its burn is a withdrawal

/** One contract of a bridge on one chain. */
export interface BridgeContract {
  bridge: BridgeName;
  role: BridgeRole;
  chainId: number;
  /** Lower case. */
  address: string;
  /** The chain on the other side, for a bridge between two fixed chains (the OP Stack's). */
  peerChainId?: number;
  /** Where the address was published. */
  source?: string;
}

const OP_REGISTRY =
  "ethereum-optimism/superchain-registry (superchain/configs/mainnet); L2 predeploys: optimism packages/contracts-bedrock/src/libraries/Predeploys.sol";
const ACROSS = "across-protocol/contracts broadcast/deployed-addresses.json";
const CCTP_V1 = "developers.circle.com/cctp/v1/evm-smart-contracts (mainnet)";
const CCTP_V2 = "developers.circle.com/cctp/references/contract-addresses (TokenMessengerV2)";
const STARGATE = "stargate-protocol/stargate-v2 packages/stg-evm-v2/deployments/<chain>-mainnet";
const WORMHOLE = "wormhole-foundation/wormhole sdk/js/src/utils/consts.ts (MAINNET)";
const ARBITRUM =
  "OffchainLabs/arbitrum-sdk src/lib/dataEntities/networks.ts (Arbitrum One: tokenBridge, ethBridge)";
const ARBSYS = "OffchainLabs/nitro-contracts src/precompiles/ArbSys.sol (address(100))";
const POLYGON =
  "maticnetwork/static network/mainnet/v1/index.json (POSContracts, Main.Contracts.StateSender, GenesisContracts)";

type Row = [BridgeName, BridgeRole, number, string, string, number?];

const ROWS: readonly Row[] = [
  // OP Stack: the L1 side names its L2 (peer), the L2 predeploys name L1.
  [
    "op-standard",
    "standard-bridge",
    1,
    "0x99C9fc46f92E8a1c0deC1b1747d010903E884bE1",
    OP_REGISTRY,
    10,
  ],
  ["op-standard", "messenger", 1, "0x25ace71c97B33Cc4729CF772ae268934F7ab5fA1", OP_REGISTRY, 10],
  [
    "op-standard",
    "standard-bridge",
    1,
    "0x3154Cf16ccdb4C6d922629664174b904d80F2C35",
    OP_REGISTRY,
    8453,
  ],
  ["op-standard", "messenger", 1, "0x866E82a600A1414e583f7F13623F1aC5d58b0Afa", OP_REGISTRY, 8453],
  [
    "op-standard",
    "standard-bridge",
    10,
    "0x4200000000000000000000000000000000000010",
    OP_REGISTRY,
    1,
  ],
  ["op-standard", "messenger", 10, "0x4200000000000000000000000000000000000007", OP_REGISTRY, 1],
  [
    "op-standard",
    "standard-bridge",
    8453,
    "0x4200000000000000000000000000000000000010",
    OP_REGISTRY,
    1,
  ],
  ["op-standard", "messenger", 8453, "0x4200000000000000000000000000000000000007", OP_REGISTRY, 1],
  // Arbitrum One: the L1 side names its L2 (peer), the L2 side names L1.
  ...(
    [
      ["token-gateway", 1, "0xa3A7B6F88361F48403514059F1F16C8E78d60EeC", ARBITRUM], // L1ERC20Gateway
      ["token-gateway", 1, "0xcEe284F754E854890e311e3280b767F80797180d", ARBITRUM], // L1CustomGateway
      ["gateway-router", 1, "0x72Ce9c846789fdB6fC1f34aC4AD25Dd9ef7031ef", ARBITRUM],
      ["inbox", 1, "0x4Dbd4fc535Ac27206064B68FfCf827b0A60BAB3f", ARBITRUM],
      ["rollup-bridge", 1, "0x8315177aB297bA92A06054cE80a67Ed4DBd7ed3a", ARBITRUM],
      ["outbox", 1, "0x0B9857ae2D4A3DBe74ffE1d7DF045bb7F96E4840", ARBITRUM],
      ["token-gateway", 42_161, "0x09e9222E96E7B4AE2a407B98d48e330053351EEe", ARBITRUM], // L2ERC20Gateway
      ["token-gateway", 42_161, "0x096760F208390250649E3e8763348E783AEF5562", ARBITRUM], // L2CustomGateway
      ["gateway-router", 42_161, "0x5288c571Fd7aD117beA99bF60FE0846C4E84F933", ARBITRUM],
      ["arbsys", 42_161, "0x0000000000000000000000000000000000000064", ARBSYS],
    ] as const
  ).map(([role, chainId, address, source]): Row => [
    "arbitrum",
    role,
    chainId,
    address,
    source,
    chainId === 1 ? 42_161 : 1,
  ]),
  // Polygon PoS: the root chain's contracts name the child chain (peer) and the reverse.
  ...(
    [
      ["root-chain-manager", 1, "0xA0c68C638235ee32657e8f720a23ceC1bFc77C77"], // RootChainManagerProxy
      ["predicate", 1, "0x40ec5B33f54e0E8A33A975908C5BA1c14e5BbbDf"], // ERC20PredicateProxy
      ["predicate", 1, "0x8484Ef722627bf18ca5Ae6BcF031c23E6e922B30"], // EtherPredicateProxy
      ["state-sender", 1, "0x28e4F3a7f651294B9564800b2D01f35189A5bFbE"],
      ["child-chain-manager", 137, "0xA6FA4fB5f76172d178d61B04b0ecd319C5d1C0aa"], // ChildChainManagerProxy
      ["state-receiver", 137, "0x0000000000000000000000000000000000001001"],
    ] as const
  ).map(([role, chainId, address]): Row => [
    "polygon-pos",
    role,
    chainId,
    address,
    POLYGON,
    chainId === 1 ? 137 : 1,
  ]),
  // Across SpokePools.
  ["across", "spoke-pool", 1, "0x5c7BCd6E7De5423a257D81B442095A1a6ced35C5", ACROSS],
  ["across", "spoke-pool", 10, "0x6f26Bf09B1C792e3228e5467807a900A503c0281", ACROSS],
  ["across", "spoke-pool", 56, "0x4e8E101924eDE233C13e2D8622DC8aED2872d505", ACROSS],
  ["across", "spoke-pool", 137, "0x9295ee1d8C5b022Be115A2AD3c30C72E34e7F096", ACROSS],
  ["across", "spoke-pool", 8453, "0x09aea4b2242abC8bb4BB78D537A67a245A7bEC64", ACROSS],
  ["across", "spoke-pool", 42_161, "0xe35e9842fceaCA96570B734083f4a58e8F7C5f2A", ACROSS],
  ["across", "spoke-pool", 43_114, "0xE0DB08B3F72931Dca2Ed7323a1053EaC42715bEe", ACROSS],
  ["across", "spoke-pool", 59_144, "0x7E63A5f1a8F0B4d0934B2f2327DAED3F6bb2ee75", ACROSS],
  ["across", "spoke-pool", 534_352, "0x3baD7AD0728f9917d1Bf08af5782dCbD516cDd96", ACROSS],
  // CCTP V1: TokenMessenger and MessageTransmitter.
  ["cctp", "token-messenger", 1, "0xBd3fa81B58Ba92a82136038B25aDec7066af3155", CCTP_V1],
  ["cctp", "message-transmitter", 1, "0x0a992d191DEeC32aFe36203Ad87D7d289a738F81", CCTP_V1],
  ["cctp", "token-messenger", 43_114, "0x6B25532e1060CE10cc3B0A99e5683b91BFDe6982", CCTP_V1],
  ["cctp", "message-transmitter", 43_114, "0x8186359aF5F57FbB40c6b14A588d2A59C0C29880", CCTP_V1],
  ["cctp", "token-messenger", 10, "0x2B4069517957735bE00ceE0fadAE88a26365528f", CCTP_V1],
  ["cctp", "message-transmitter", 10, "0x4D41f22c5a0e5c74090899E5a8Fb597a8842b3e8", CCTP_V1],
  ["cctp", "token-messenger", 42_161, "0x19330d10D9Cc8751218eaf51E8885D058642E08A", CCTP_V1],
  ["cctp", "message-transmitter", 42_161, "0xC30362313FBBA5cf9163F0bb16a0e01f01A896ca", CCTP_V1],
  ["cctp", "token-messenger", 8453, "0x1682Ae6375C4E4A97e4B583BC394c861A46D8962", CCTP_V1],
  ["cctp", "message-transmitter", 8453, "0xAD09780d193884d503182aD4588450C416D6F9D4", CCTP_V1],
  // CCTP V2: one TokenMessengerV2 address on every EVM chain.
  ...[1, 10, 8453, 42_161, 43_114].map((c): Row => [
    "cctp",
    "token-messenger",
    c,
    "0x28b5a0e9C621a5BadaA536219b3a228C8168cf5d",
    CCTP_V2,
  ]),
  // Stargate V2 pools (native, USDC, USDT).
  ["stargate", "pool", 1, "0x77b2043768d28E9C9aB44E1aBfC95944bcE57931", STARGATE],
  ["stargate", "pool", 1, "0xc026395860Db2d07ee33e05fE50ed7bD583189C7", STARGATE],
  ["stargate", "pool", 1, "0x933597a323Eb81cAe705C5bC29985172fd5A3973", STARGATE],
  ["stargate", "pool", 42_161, "0xA45B5130f36CDcA45667738e2a258AB09f4A5f7F", STARGATE],
  ["stargate", "pool", 42_161, "0xe8CDF27AcD73a434D661C84887215F7598e7d0d3", STARGATE],
  ["stargate", "pool", 42_161, "0xcE8CcA271Ebc0533920C83d39F417ED6A0abB7D0", STARGATE],
  ["stargate", "pool", 10, "0xe8CDF27AcD73a434D661C84887215F7598e7d0d3", STARGATE],
  ["stargate", "pool", 10, "0xcE8CcA271Ebc0533920C83d39F417ED6A0abB7D0", STARGATE],
  ["stargate", "pool", 10, "0x19cFCE47eD54a88614648DC3f19A5980097007dD", STARGATE],
  ["stargate", "pool", 8453, "0xdc181Bd607330aeeBEF6ea62e03e5e1Fb4B6F7C7", STARGATE],
  ["stargate", "pool", 8453, "0x27a16dc786820B16E5c9028b75B99F6f604b5d26", STARGATE],
  ["stargate", "pool", 137, "0x9Aa02D4Fae7F58b8E8f34c66E756cC734DAc7fe4", STARGATE],
  ["stargate", "pool", 137, "0xd47b03ee6d86Cf251ee7860FB2ACf9f91B9fD4d7", STARGATE],
  // Wormhole: the core contract and the token bridge.
  ["wormhole", "core", 1, "0x98f3c9e6E3fAce36bAAd05FE09d375Ef1464288B", WORMHOLE],
  ["wormhole", "token-bridge", 1, "0x3ee18B2214AFF97000D974cf647E7C347E8fa585", WORMHOLE],
  ["wormhole", "core", 56, "0x98f3c9e6E3fAce36bAAd05FE09d375Ef1464288B", WORMHOLE],
  ["wormhole", "token-bridge", 56, "0xB6F6D86a8f9879A9c87f643768d9efc38c1Da6E7", WORMHOLE],
  ["wormhole", "core", 137, "0x7A4B5a56256163F07b2C80A7cA55aBE66c4ec4d7", WORMHOLE],
  ["wormhole", "token-bridge", 137, "0x5a58505a96D1dbf8dF91cB21B54419FC36e93fdE", WORMHOLE],
  ["wormhole", "core", 43_114, "0x54a8e5f9c4CbA08F9943965859F6c34eAF03E26c", WORMHOLE],
  ["wormhole", "token-bridge", 43_114, "0x0e082F06FF657D94310cB8cE8B0D9a04541d8052", WORMHOLE],
  ["wormhole", "core", 42_161, "0xa5f208e072434bC67592E4C49C1B991BA79BCA46", WORMHOLE],
  ["wormhole", "token-bridge", 42_161, "0x0b2402144Bb366A632D14B83F244D2e0e21bD39c", WORMHOLE],
  ["wormhole", "core", 10, "0xEe91C335eab126dF5fDB3797EA9d6aD93aeC9722", WORMHOLE],
  ["wormhole", "token-bridge", 10, "0x1D68124e65faFC907325e3EDbF8c4d84499DAa8b", WORMHOLE],
  ["wormhole", "core", 8453, "0xbebdb6C8ddC678FfA9f8748f85C815C556Dd8ac6", WORMHOLE],
  ["wormhole", "token-bridge", 8453, "0x8d2de8d2f73F1F4cAB472AC9A881C9b123C79627", WORMHOLE],
];

/** The built-in contracts, addresses in lower case. */
export const KNOWN_BRIDGE_CONTRACTS: readonly BridgeContract[] = ROWS.map(
  ([bridge, role, chainId, address, source, peerChainId]) => ({
    bridge,
    role,
    chainId,
    address: address.toLowerCase(),
    ...(peerChainId === undefined ? {} : { peerChainId }),
    source,
  }),
);

/** Bridge contracts by chain and address: the built-in ones and the caller's. */
export class BridgeRegistry {
  private readonly byKey = new Map<string, BridgeContract[]>();

  constructor(extra: readonly BridgeContract[] = [], builtIn = KNOWN_BRIDGE_CONTRACTS) {
    for (const c of [...builtIn, ...extra]) {
      const entry = { ...c, address: c.address.toLowerCase() };
      const key = `${c.chainId}/${entry.address}`;
      const list = this.byKey.get(key) ?? [];
      if (!list.some((o) => o.bridge === entry.bridge && o.role === entry.role)) list.push(entry);
      this.byKey.set(key, list);
    }
  }

  /** The roles `address` has on `chainId` (none for an unknown contract). */
  lookup(chainId: number, address: string): readonly BridgeContract[] {
    return this.byKey.get(`${chainId}/${address.toLowerCase()}`) ?? [];
  }

  /** The contract at `address` on `chainId` in `role` of `bridge`, if known. */
  find(
    chainId: number,
    address: string,
    bridge: BridgeName,
    role: BridgeRole,
  ): BridgeContract | undefined {
    return this.lookup(chainId, address).find((c) => c.bridge === bridge && c.role === role);
  }
}
