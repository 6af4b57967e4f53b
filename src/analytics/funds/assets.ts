/**
 * What a picture of a trace names its assets by: each asset's decimals and symbol, asked of the
 * node (ERC-20 `decimals()` and `symbol()`). The trace knows the decimals of the assets it ends
 * in; an asset that taint only passed through (WETH unwrapped, a pool's liquidity token) is asked
 * here.
 */
import { AbiCoder, decodeBytes32String } from "ethers";
import type { RpcClient } from "../../chain/rpc.js";
import { splitChain } from "./flow.js";
import { tokenDecimals } from "./run-common.js";

export interface AssetInfo {
  /** Null when the token doesn't say. */
  decimals: number | null;
  /** Null for the native coin, and when the token doesn't say (or says something unprintable). */
  symbol: string | null;
}

/** A symbol as a picture may show it: printable, at most 32 characters. */
const PRINTABLE = /^[\x20-\x7e]{1,32}$/;

/**
 * An ERC-20 token's `symbol()`: an ABI string, or a bytes32 (as MKR's), trimmed; null when the
 * call fails or answers nothing printable.
 */
export async function tokenSymbol(rpc: RpcClient, token: string): Promise<string | null> {
  // The native coin, a Uniswap V3 position (no contract of its own): no symbol to ask.
  if (!/^0x[0-9a-fA-F]{40}$/.test(token)) return null;
  let answer: string;
  try {
    answer = await rpc.call<string>("eth_call", [{ to: token, data: "0x95d89b41" }, "latest"]);
  } catch {
    return null;
  }
  let text: string | null = null;
  try {
    text = (AbiCoder.defaultAbiCoder().decode(["string"], answer)[0] as string).trim();
  } catch {
    try {
      if (answer.length === 66) text = decodeBytes32String(answer).trim();
    } catch {
      text = null;
    }
  }
  return text !== null && PRINTABLE.test(text) ? text : null;
}

/**
 * The decimals and symbol of each asset of `ids` (flow.ts's names: `CHAIN:token` on another chain
 * than the seed's), each asked of its chain's node in `rpcs` (the seed's chain: undefined):
 * decimals from `known` (the trace's own) where it has them. An asset of a chain without a node
 * has the decimals known, and no symbol.
 */
export async function describeAssets(
  rpcs: ReadonlyMap<number | undefined, RpcClient>,
  ids: readonly string[],
  known: ReadonlyMap<string, number | null> = new Map(),
): Promise<Map<string, AssetInfo>> {
  const out = new Map<string, AssetInfo>();
  for (const id of ids) {
    const { chain, id: token } = splitChain(id);
    const rpc = rpcs.get(chain);
    const decimals = known.has(id)
      ? (known.get(id) ?? null)
      : rpc === undefined
        ? null
        : await tokenDecimals(rpc, token);
    out.set(id, { decimals, symbol: rpc === undefined ? null : await tokenSymbol(rpc, token) });
  }
  return out;
}
