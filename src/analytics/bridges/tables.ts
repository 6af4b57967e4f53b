/**
 * The bridges' own numbering of chains, mapped to EVM chain ids: Circle CCTP's domains, Wormhole's
 * chain ids, LayerZero V2's endpoint ids (Stargate V2). Only chains with an EVM chain id are
 * listed; a number not in a table is an unknown chain (null), never guessed.
 */

/**
 * Each chain's number in each bridge's numbering (null: the bridge does not serve it). Sources:
 * CCTP domains, developers.circle.com/cctp/concepts/supported-chains-and-domains; Wormhole chain
 * ids, wormhole-foundation/wormhole sdk/js/src/utils/consts.ts (CHAINS); LayerZero V2 endpoint
 * ids, @layerzerolabs/lz-definitions (MainnetV2EndpointId, `*_V2_MAINNET`).
 */
const CHAINS: readonly {
  chainId: number;
  name: string;
  cctp: number | null;
  wormhole: number | null;
  layerZero: number | null;
}[] = [
  { chainId: 1, name: "Ethereum", cctp: 0, wormhole: 2, layerZero: 30_101 },
  { chainId: 56, name: "BNB Chain", cctp: null, wormhole: 4, layerZero: 30_102 },
  { chainId: 43_114, name: "Avalanche C-Chain", cctp: 1, wormhole: 6, layerZero: 30_106 },
  { chainId: 10, name: "OP Mainnet", cctp: 2, wormhole: 24, layerZero: 30_111 },
  { chainId: 42_161, name: "Arbitrum One", cctp: 3, wormhole: 23, layerZero: 30_110 },
  { chainId: 8453, name: "Base", cctp: 6, wormhole: 30, layerZero: 30_184 },
  { chainId: 137, name: "Polygon PoS", cctp: 7, wormhole: 5, layerZero: 30_109 },
];

/** One bridge's numbering: its number → EVM chain id. */
const numbering = (bridge: "cctp" | "wormhole" | "layerZero"): ReadonlyMap<number, number> =>
  new Map(
    CHAINS.flatMap((c) => {
      const id = c[bridge];
      return id === null ? [] : [[id, c.chainId] as const];
    }),
  );

/** CCTP domain → EVM chain id. */
export const CCTP_DOMAINS = numbering("cctp");
/** Wormhole chain id → EVM chain id. */
export const WORMHOLE_CHAINS = numbering("wormhole");
/** LayerZero V2 endpoint id → EVM chain id (Stargate V2). */
export const LAYERZERO_EIDS = numbering("layerZero");

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
