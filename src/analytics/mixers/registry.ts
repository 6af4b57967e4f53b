/**
 * Tornado Cash pools: a fixed-denomination contract per asset and amount. The well-known pools
 * of Ethereum mainnet are built in, from the project's own deployment list (tornadocash/tornado-cli
 * `config.js`, `deployments.netId1`); the caller names others (e.g. the addresses a TagPack labels
 * `mixer`, or pools on other chains), with their denomination or leaving the reader to ask it.
 */
import { parseUnits } from "ethers";

/** The native coin, as a pool's token. */
export const NATIVE = "native";

/** One pool. */
export interface MixerPool {
  chainId: number;
  /** Lower case. */
  address: string;
  /** A token address (lower case) or {@link NATIVE}. */
  token: string;
  /** What each deposit takes and each withdrawal pays out (fee included), in the token's base units. */
  denomination: bigint;
  /** For people: `Tornado Cash 10 ETH`. */
  label: string;
  /** Where the address was published, or `caller` for a pool the caller named. */
  source: string;
}

/**
 * A pool the caller names. Without `denomination` the reader asks the contract's `denomination()`
 * (every Tornado pool has it) and `token()` (ERC-20 pools only: no answer means the native coin);
 * a contract that answers no `denomination()` is refused, never guessed.
 */
export interface NamedMixerPool {
  chainId: number;
  address: string;
  denomination?: bigint;
  token?: string;
  label?: string;
}

const TORNADO_CLI = "tornadocash/tornado-cli config.js (deployments.netId1)";

/** Mainnet pools per asset: the token (null: native), its decimals, then amount → address. */
const MAINNET: readonly [string, string | null, number, readonly [string, string][]][] = [
  [
    "ETH",
    null,
    18,
    [
      ["0.1", "0x12D66f87A04A9E220743712cE6d9bB1B5616B8Fc"],
      ["1", "0x47CE0C6eD5B0Ce3d3A51fdb1C52DC66a7c3c2936"],
      ["10", "0x910Cbd523D972eb0a6f4cAe4618aD62622b39DbF"],
      ["100", "0xA160cdAB225685dA1d56aa342Ad8841c3b53f291"],
    ],
  ],
  [
    "DAI",
    "0x6B175474E89094C44Da98b954EedeAC495271d0F",
    18,
    [
      ["100", "0xD4B88Df4D29F5CedD6857912842cff3b20C8Cfa3"],
      ["1000", "0xFD8610d20aA15b7B2E3Be39B396a1bC3516c7144"],
      ["10000", "0x07687e702b410Fa43f4cB4Af7FA097918ffD2730"],
      ["100000", "0x23773E65ed146A459791799d01336DB287f25334"],
    ],
  ],
  [
    "cDAI",
    "0x5d3a536E4D6DbD6114cc1Ead35777bAB948E3643",
    8,
    [
      ["5000", "0x22aaA7720ddd5388A3c0A3333430953C68f1849b"],
      ["50000", "0x03893a7c7463AE47D46bc7f091665f1893656003"],
      ["500000", "0x2717c5e28cf931547B621a5dddb772Ab6A35B701"],
      ["5000000", "0xD21be7248e0197Ee08E0c20D4a96DEBdaC3D20Af"],
    ],
  ],
  [
    "USDC",
    "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48",
    6,
    [
      ["100", "0xd96f2B1c14Db8458374d9Aca76E26c3D18364307"],
      ["1000", "0x4736dCf1b7A3d580672CcE6E7c65cd5cc9cFBa9D"],
    ],
  ],
  [
    "USDT",
    "0xdAC17F958D2ee523a2206206994597C13D831ec7",
    6,
    [
      ["100", "0x169AD27A470D064DEDE56a2D3ff727986b15D52B"],
      ["1000", "0x0836222F2B2B24A3F36f98668Ed8F0B38D1a872f"],
    ],
  ],
  [
    "WBTC",
    "0x2260FAC5E5542a773Aa44fBCfeDf7C193bc2C599",
    8,
    [
      ["0.1", "0x178169B423a011fff22B9e3F3abeA13414dDD0F1"],
      ["1", "0x610B717796ad172B316836AC95a2ffad065CeaB4"],
      ["10", "0xbB93e510BbCD0B7beb5A853875f9eC60275CF498"],
    ],
  ],
];

/** The built-in pools, addresses in lower case. */
export const KNOWN_MIXER_POOLS: readonly MixerPool[] = MAINNET.flatMap(
  ([asset, token, decimals, pools]) =>
    pools.map(([amount, address]) => ({
      chainId: 1,
      address: address.toLowerCase(),
      token: token === null ? NATIVE : token.toLowerCase(),
      denomination: parseUnits(amount, decimals),
      label: `Tornado Cash ${amount} ${asset}`,
      source: TORNADO_CLI,
    })),
);
