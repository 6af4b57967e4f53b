import { decodeBytes32String } from "ethers";
import type { Sql } from "../../db/db.js";
import { riskCategory } from "./categories.js";
import { compareLabels, labelsFor, mergeLabels, type ChainLabel, type Label } from "./store.js";

/** Networks by EVM chain id, for the labels the consortium publishes on chain. */
const NETWORKS: Readonly<Record<number, string>> = {
  1: "ethereum",
  56: "bsc",
  137: "polygon",
  42161: "arbitrum",
  10: "optimism",
};

function category(bytes: string): string {
  try {
    return decodeBytes32String(bytes);
  } catch {
    return bytes;
  }
}

/**
 * Labels the consortium's participants published on chain (LabelPublished events not followed
 * by their LabelRevoked), for addresses of chain `chainId`, from the indexed events.
 */
export async function chainLabelsFor(
  db: Sql,
  addresses: readonly string[],
  chainId: number,
): Promise<Map<string, ChainLabel[]>> {
  const wanted = [...new Set(addresses.map((a) => a.toLowerCase()))];
  const out = new Map<string, ChainLabel[]>();
  if (wanted.length === 0) return out;
  const rows = await db.query<{
    block_number: string | number;
    log_index: number;
    tx_hash: string;
    actor: string | number;
    args: Record<string, unknown>;
  }>(
    `SELECT p.block_number, p.log_index, p.tx_hash, p.actor, p.args
       FROM events p
      WHERE p.event = 'LabelPublished'
        AND lower(p.args->>'subject') IN (SELECT jsonb_array_elements_text($1::jsonb))
        AND (p.args->>'chainId')::numeric = $2
        AND NOT EXISTS (SELECT 1 FROM events r WHERE r.event = 'LabelRevoked' AND r.args->>'labelId' = p.args->>'labelId')
      ORDER BY p.block_number, p.log_index`,
    [JSON.stringify(wanted), chainId],
  );
  for (const r of rows) {
    const address = String(r.args["subject"]).toLowerCase();
    const name = category(String(r.args["category"]));
    const label: ChainLabel = {
      address,
      network: NETWORKS[chainId] ?? `evm:${chainId}`,
      currency: "",
      isEvm: true,
      label: `${name} (consortium label ${String(r.args["labelId"])} by participant ${String(r.actor)})`,
      category: riskCategory(name, null),
      originalCategory: name,
      abuse: null,
      actor: null,
      confidence: String(r.args["confidence"]),
      source: `case ${String(r.args["caseId"])}`,
      origin: "chain",
      event: { blockNumber: Number(r.block_number), logIndex: r.log_index, txHash: r.tx_hash },
    };
    out.set(address, [...(out.get(address) ?? []), label]);
  }
  for (const list of out.values()) list.sort(compareLabels);
  return out;
}

/** TagPack and on-chain labels of EVM addresses, keyed by lower-case address, most relevant first. */
export async function allLabelsFor(
  db: Sql,
  addresses: readonly string[],
  chainId: number,
): Promise<Map<string, Label[]>> {
  const lower = [...new Set(addresses.map((a) => a.toLowerCase()))];
  const tagpack = await labelsFor(db, lower);
  const chain = await chainLabelsFor(db, lower, chainId);
  return mergeLabels(tagpack, chain);
}
