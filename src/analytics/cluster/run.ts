/**
 * Deposit addresses and clusters end to end: the token's transfers read into the store (the same
 * sync engine and `transfers` table as `veritrace trace` and `screen`; a later run reads only the
 * new blocks), loaded once, the exchanges among their receivers looked up in the labels (TagPacks
 * and consortium labels, category exchange), and the heuristic run over them.
 */
import { InvalidInputError, NotFoundError } from "../../shared/errors.js";
import type { RpcClient } from "../../chain/rpc.js";
import type { Database } from "../../db/db.js";
import { FEE_SINK, loadTransfers, streamId, streamStart } from "../../db/streams.js";
import { ingestTransfers, type IngestResult } from "../funds/ingest.js";
import { allLabelsFor } from "../labels/chain.js";
import { clustersOf, type AddressCluster } from "./clusters.js";
import {
  DEFAULT_MAX_BLOCKS,
  DEFAULT_TOLERANCE,
  findDepositAddresses,
  type DepositAddress,
  type Fraction,
} from "./deposits.js";

/** What a clustering reads, checked against the node before anything is stored. */
export interface ClusterPlan {
  chainId: number;
  /** A lower-case token address, or "native". */
  token: string;
  /** First block asked for (default: where the token's stream starts, or 0). */
  fromBlock?: number;
  toBlock: number;
}

export interface ClusterRequest {
  rpc: RpcClient;
  db: Database;
  plan: ClusterPlan;
  /** Lower-case addresses. */
  addresses: readonly string[];
  maxBlocks?: number;
  tolerance?: Fraction;
  finalityDepth?: number;
  traceCalls?: boolean;
  onProgress?: (p: { indexedTo: number; target: number; rows: number }) => void;
}

export interface ClusterResult {
  chainId: number;
  token: string;
  fromBlock: number;
  toBlock: number;
  maxBlocks: number;
  tolerance: Fraction;
  ingest: IngestResult;
  /** Every deposit address found in the blocks read, in address order. */
  deposits: DepositAddress[];
  /** The clusters of the addresses asked about, in their order. */
  clusters: AddressCluster[];
}

/**
 * Checks a clustering's token and blocks against the node, storing nothing: a token address
 * without code is not found, blocks beyond the head are invalid input.
 */
export async function planCluster(
  rpc: RpcClient,
  input: { token: string; fromBlock?: number; toBlock?: number; confirmations?: number },
): Promise<ClusterPlan> {
  const { token, fromBlock } = input;
  const chainId = Number(await rpc.firstCall<string>("eth_chainId"));
  const head = Number(await rpc.call<string>("eth_blockNumber"));
  const toBlock = input.toBlock ?? head - (input.confirmations ?? 0);
  if (toBlock > head)
    throw new InvalidInputError(`--to-block ${toBlock} is beyond the node's head ${head}`);
  if (fromBlock !== undefined && fromBlock > toBlock)
    throw new InvalidInputError(`--from ${fromBlock} is after the last block ${toBlock}`);
  if (token !== "native" && (await rpc.call<string>("eth_getCode", [token, "latest"])) === "0x")
    throw new NotFoundError(`no contract at token address ${token} on chain ${chainId}`);
  return { chainId, token, fromBlock, toBlock };
}

/**
 * Reads the token's transfers up to the plan's last block, finds the deposit addresses among
 * them and the clusters of `addresses`.
 */
export async function clusterAddresses(req: ClusterRequest): Promise<ClusterResult> {
  const { rpc, db } = req;
  const { chainId, token, toBlock } = req.plan;
  const kind = token === "native" ? "native" : "erc20";
  const stream = streamId({ chainId, kind, token });
  const startBlock = req.plan.fromBlock ?? (await streamStart(db, stream)) ?? 0;
  const ingest = await ingestTransfers(
    db,
    rpc,
    { chainId, kind, token, startBlock },
    {
      toBlock,
      finalityDepth: req.finalityDepth,
      traceCalls: req.traceCalls,
      onProgress: req.onProgress,
    },
  );
  const fromBlock = Math.max(startBlock, (await streamStart(db, stream)) ?? startBlock);
  const transfers = await loadTransfers(db, stream, token, fromBlock, toBlock);
  const receivers = [...new Set(transfers.map((t) => t.to))].filter((a) => a !== FEE_SINK);
  const labels = await allLabelsFor(db, receivers, chainId);
  const exchanges = new Map<string, string>();
  for (const [address, list] of labels) {
    const exchange = list.find((l) => l.category === "exchange");
    if (exchange !== undefined) exchanges.set(address, exchange.label);
  }
  const maxBlocks = req.maxBlocks ?? DEFAULT_MAX_BLOCKS;
  const tolerance = req.tolerance ?? DEFAULT_TOLERANCE;
  const deposits = findDepositAddresses(transfers, { exchanges, maxBlocks, tolerance });
  return {
    chainId,
    token,
    fromBlock,
    toBlock,
    maxBlocks,
    tolerance,
    ingest,
    deposits,
    clusters: clustersOf(deposits, req.addresses),
  };
}
