/**
 * The bridges' own numbering of chains, mapped to EVM chain ids: Circle CCTP's domains, Wormhole's
 * chain ids, LayerZero V2's endpoint ids (Stargate V2). Only chains with an EVM chain id are
 * listed; a number not in a table is an unknown chain (null), never guessed.
 */

/** CCTP domain → EVM chain id (developers.circle.com/cctp/concepts/supported-chains-and-domains). */
export const CCTP_DOMAINS: ReadonlyMap<number, number> = new Map([
  [0, 1], // Ethereum
  [1, 43_114], // Avalanche C-Chain
  [2, 10], // OP Mainnet
  [3, 42_161], // Arbitrum One
  [6, 8453], // Base
  [7, 137], // Polygon PoS
]);

/** Wormhole chain id → EVM chain id (wormhole-foundation/wormhole, sdk/js/src/utils/consts.ts, CHAINS). */
export const WORMHOLE_CHAINS: ReadonlyMap<number, number> = new Map([
  [2, 1], // ethereum
  [4, 56], // bsc
  [5, 137], // polygon
  [6, 43_114], // avalanche
  [23, 42_161], // arbitrum
  [24, 10], // optimism
  [30, 8453], // base
]);

/** LayerZero V2 endpoint id → EVM chain id (@layerzerolabs/lz-definitions, MainnetV2EndpointId). */
export const LAYERZERO_EIDS: ReadonlyMap<number, number> = new Map([
  [30_101, 1], // ETHEREUM_V2_MAINNET
  [30_102, 56], // BSC_V2_MAINNET
  [30_106, 43_114], // AVALANCHE_V2_MAINNET
  [30_109, 137], // POLYGON_V2_MAINNET
  [30_110, 42_161], // ARBITRUM_V2_MAINNET
  [30_111, 10], // OPTIMISM_V2_MAINNET
  [30_184, 8453], // BASE_V2_MAINNET
]);

/** The three tables a reader uses. */
export interface ChainTables {
  cctp: ReadonlyMap<number, number>;
  wormhole: ReadonlyMap<number, number>;
  layerZero: ReadonlyMap<number, number>;
}

/** A table of the caller's: extra entries, or entries that replace the built-in ones. */
export type ChainTableEntries = ReadonlyMap<number, number> | Readonly<Record<number, number>>;

function merged(base: ReadonlyMap<number, number>, extra?: ChainTableEntries): Map<number, number> {
  const out = new Map(base);
  if (extra === undefined) return out;
  const entries = extra instanceof Map ? [...extra] : Object.entries(extra);
  for (const [k, v] of entries) out.set(Number(k), Number(v));
  // A table maps both ways (a deposit names its own chain by the bridge's number): one number per chain.
  const seen = new Map<number, number>();
  for (const [id, chainId] of out) {
    const other = seen.get(chainId);
    if (other !== undefined)
      throw new RangeError(`chain ${chainId} has two bridge numbers (${other} and ${id})`);
    seen.set(chainId, id);
  }
  return out;
}

/** The built-in tables, with the caller's entries over them (e.g. a test chain's numbers). */
export function chainTables(
  extra: Partial<Record<keyof ChainTables, ChainTableEntries>> = {},
): ChainTables {
  return {
    cctp: merged(CCTP_DOMAINS, extra.cctp),
    wormhole: merged(WORMHOLE_CHAINS, extra.wormhole),
    layerZero: merged(LAYERZERO_EIDS, extra.layerZero),
  };
}

/** The EVM chain id of a bridge's chain number, or null when the table lacks it. */
export function toChainId(table: ReadonlyMap<number, number>, id: number): number | null {
  return table.get(id) ?? null;
}

/** The bridge's number for an EVM chain id, or null when the table lacks it. */
export function fromChainId(table: ReadonlyMap<number, number>, chainId: number): number | null {
  for (const [id, c] of table) if (c === chainId) return id;
  return null;
}
