/**
 * Bridges across chains: adapters that read each bridge's deposit and release events from raw
 * logs (recognised by the bridges' own event ABIs, from known contracts only), and the pairing of
 * a deposit on one chain with its release on another (docs/taint-models.md, "Bridges").
 */
export { ACROSS_TOPICS } from "./across.js";
export { ARBITRUM_TOPICS } from "./arbitrum.js";
export { CCTP_MESSAGE_RECEIVED, CCTP_TOPICS } from "./cctp.js";
export { NATIVE, type BridgeDeposit, type BridgeRelease, type SkippedBridgeLog } from "./model.js";
export { OP_MESSENGER_TOPICS, OP_TOPICS, crossDomainMessageHash } from "./optimism.js";
export { POLYGON_POS_TOPICS } from "./polygon.js";
export {
  FALLBACK_CONFIDENCE,
  FALLBACK_DEFAULTS,
  pairBridgeTransfers,
  type BridgePair,
  type BridgePairing,
  type ChainToken,
  type FallbackParameters,
  type PairingOptions,
} from "./pairing.js";
export {
  BRIDGE_ADAPTERS,
  BridgeReader,
  type BridgeReaderOptions,
  type BridgeReading,
} from "./reader.js";
export {
  BRIDGE_NAMES,
  BridgeRegistry,
  KNOWN_BRIDGE_CONTRACTS,
  type BridgeContract,
  type BridgeName,
  type BridgeRole,
} from "./registry.js";
export { releaseFilters, rivalFilters, type LogFilter } from "./releases.js";
export { STARGATE_TOPICS } from "./stargate.js";
export {
  CCTP_DOMAINS,
  LAYERZERO_EIDS,
  WORMHOLE_CHAINS,
  chainTables,
  fromChainId,
  toChainId,
  type ChainTables,
} from "./tables.js";
export { WORMHOLE_TOPICS } from "./wormhole.js";
