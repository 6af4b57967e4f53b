/**
 * Currencies and networks of TagPack tags. Older TagPacks name a tag's ledger by its currency
 * (`currency: ETH`), newer ones by its network (`network: ETH`, `network: ethereum`): both map to
 * one network name (ethereum, bitcoin, tron, bsc, …), which decides whether the address is an
 * EVM address (stored lower-case) or another ledger's (stored as written).
 */
import { getAddress } from "ethers";

/** A ledger the tracer knows by name. */
export interface NetworkInfo {
  /** The name stored in `labels.network`. */
  name: string;
  /** Whether its addresses are EVM addresses (0x + 40 hex digits, case-insensitive). */
  evm: boolean;
  /** Its native currency: the currency of a tag that only names the network. */
  native: string;
  /** Other names and currency codes TagPacks use for it (lower case). */
  aliases: readonly string[];
}

export const NETWORKS: readonly NetworkInfo[] = [
  { name: "bitcoin", evm: false, native: "BTC", aliases: ["btc"] },
  { name: "ethereum", evm: true, native: "ETH", aliases: ["eth", "erc20"] },
  { name: "tron", evm: false, native: "TRX", aliases: ["trx", "trc20"] },
  {
    name: "bsc",
    evm: true,
    native: "BNB",
    aliases: ["bep20", "bnb_smart_chain", "binance_smart_chain"],
  },
  { name: "bnb_beacon_chain", evm: false, native: "BNB", aliases: ["bep2", "binance_chain"] },
  { name: "litecoin", evm: false, native: "LTC", aliases: ["ltc"] },
  { name: "bitcoin_cash", evm: false, native: "BCH", aliases: ["bch"] },
  { name: "bitcoin_sv", evm: false, native: "BSV", aliases: ["bsv"] },
  { name: "bitcoin_gold", evm: false, native: "BTG", aliases: ["btg"] },
  { name: "zcash", evm: false, native: "ZEC", aliases: ["zec"] },
  { name: "dash", evm: false, native: "DASH", aliases: [] },
  { name: "monero", evm: false, native: "XMR", aliases: ["xmr"] },
  { name: "xrp_ledger", evm: false, native: "XRP", aliases: ["xrp", "ripple"] },
  { name: "verge", evm: false, native: "XVG", aliases: ["xvg"] },
  { name: "dogecoin", evm: false, native: "DOGE", aliases: ["doge"] },
  { name: "solana", evm: false, native: "SOL", aliases: ["sol"] },
  { name: "cardano", evm: false, native: "ADA", aliases: ["ada"] },
  { name: "stellar", evm: false, native: "XLM", aliases: ["xlm"] },
  { name: "ethereum_classic", evm: true, native: "ETC", aliases: ["etc"] },
  { name: "polygon", evm: true, native: "POL", aliases: ["pol", "matic", "polygon_pos"] },
  { name: "arbitrum", evm: true, native: "ETH", aliases: ["arb", "arbitrum_one"] },
  { name: "optimism", evm: true, native: "ETH", aliases: ["op"] },
  { name: "base", evm: true, native: "ETH", aliases: [] },
  { name: "avalanche", evm: true, native: "AVAX", aliases: ["avax", "avalanche_c"] },
  { name: "fantom", evm: true, native: "FTM", aliases: ["ftm"] },
  { name: "gnosis", evm: true, native: "XDAI", aliases: ["xdai"] },
];

const BY_NAME: ReadonlyMap<string, NetworkInfo> = new Map(
  NETWORKS.flatMap((n) => [n.name, ...n.aliases].map((a) => [a, n] as const)),
);

/**
 * Currencies that are tokens on several networks (USDT on Ethereum, Tron and Bitcoin's Omni
 * layer): a tag naming only such a currency gets its network from its address's format, an EVM
 * address going to the network given here.
 */
export const MULTI_NETWORK_TOKENS: ReadonlyMap<string, string> = new Map(
  Object.entries({
    USDT: "ethereum",
    USDC: "ethereum",
    DAI: "ethereum",
    BUSD: "ethereum",
    TUSD: "ethereum",
    USDP: "ethereum",
    PAX: "ethereum",
    WBTC: "ethereum",
    WETH: "ethereum",
    BNB: "bsc",
  }),
);

/** A name in the form of {@link NETWORKS}' names and aliases: lower case, `_` between words. */
function nameKey(value: string): string {
  return value
    .trim()
    .toLowerCase()
    .replace(/[\s-]+/g, "_");
}

/** The network of a network name, alias or native currency code, if known. */
export function networkNamed(value: string): NetworkInfo | undefined {
  return BY_NAME.get(nameKey(value));
}

/** 0x followed by 40 hex digits, in any case. */
export function isEvmAddress(address: string): boolean {
  return /^0x[0-9a-fA-F]{40}$/.test(address);
}

/**
 * Whether an EVM address's mixed case, if any, is a valid EIP-55 checksum (an all-lower or
 * all-upper address carries no checksum).
 */
export function hasValidChecksum(address: string): boolean {
  const hex = address.slice(2);
  if (hex === hex.toLowerCase() || hex === hex.toUpperCase()) return true;
  try {
    return getAddress(address) === address;
  } catch {
    return false;
  }
}

/**
 * The ledger an address's format points to, for the formats that are unmistakable: "evm" (any
 * EVM network) or a network's name.
 */
export function addressFormat(address: string): string | null {
  if (isEvmAddress(address)) return "evm";
  if (/^T[1-9A-HJ-NP-Za-km-z]{33}$/.test(address)) return "tron";
  if (/^bnb1[02-9ac-hj-np-z]{38}$/.test(address)) return "bnb_beacon_chain";
  if (
    /^[13][1-9A-HJ-NP-Za-km-z]{25,34}$/.test(address) ||
    /^(?:bc1[02-9ac-hj-np-z]{11,71}|BC1[02-9AC-HJ-NP-Z]{11,71})$/.test(address)
  )
    return "bitcoin";
  return null;
}

/** How a tag's network was found. */
export type NetworkResolution =
  /** Named by the tag (network, or currency that is a network's code). */
  | "named"
  /** A multi-network token: inferred from the address's format. */
  | "token"
  /** Neither known nor inferable: the name is kept, lower case. */
  | "unknown";

export interface ResolvedNetwork {
  currency: string;
  network: string;
  isEvm: boolean;
  resolution: NetworkResolution;
}

/**
 * The currency (upper case) and network of a tag from its `currency` and/or `network` fields
 * (at least one set) and its address (trimmed). `network` wins when both are set. An unknown
 * network keeps its own name and counts as EVM when its address is an EVM address.
 */
export function resolveNetwork(
  currency: string | null,
  network: string | null,
  address: string,
): ResolvedNetwork {
  const code = currency?.trim().toUpperCase() ?? null;
  const unknown = (name: string): ResolvedNetwork => ({
    currency: code ?? name.trim().toUpperCase(),
    network: nameKey(name),
    isEvm: isEvmAddress(address),
    resolution: "unknown",
  });
  if (network !== null) {
    const n = networkNamed(network);
    if (n === undefined) return unknown(network);
    return { currency: code ?? n.native, network: n.name, isEvm: n.evm, resolution: "named" };
  }
  if (code === null) throw new Error("resolveNetwork: neither currency nor network");
  const evmNetwork = MULTI_NETWORK_TOKENS.get(code);
  if (evmNetwork !== undefined) {
    const format = addressFormat(address);
    const n = format === null ? undefined : networkNamed(format === "evm" ? evmNetwork : format);
    if (n === undefined) return unknown(code);
    return { currency: code, network: n.name, isEvm: n.evm, resolution: "token" };
  }
  const n = networkNamed(code);
  if (n === undefined) return unknown(code);
  return { currency: code, network: n.name, isEvm: n.evm, resolution: "named" };
}

/** The form an address is stored and looked up in: EVM addresses lower-case, others as written. */
export function storedAddress(address: string): string {
  const a = address.trim();
  return isEvmAddress(a) ? a.toLowerCase() : a;
}
