/**
 * A lazy trace of every asset on one chain or across several (docs/scale.md, "Every asset, lazily"
 * and "… across chains"): one frontier reader per chain (lazy-assets.ts), each from its own first
 * block (the seed's chain from the seed's block, another chain from the seed's time on), with the
 * store's histories of that chain. A round reads every chain's frontier, then the bridges' events
 * of the transactions read whole; a deposit among them has its release looked for on its
 * destination chain by the release events' topics (bridges/releases.ts), never by reading that
 * chain whole, and the release's transaction is read whole there (and, for a deposit the fallback
 * may pair, the other deposits to the same recipient through the same bridge: the fallback weighs
 * them against it). Then the engine runs once over
 * what every chain read (crossings paired as over the streams), and each chain's part of its result
 * gives that chain's next frontier: the recipient of a crossing that carried taint joins the
 * frontier of the release's chain. Rounds go on until no chain has anything left to read.
 *
 * Why this gives the streams' answer across chains: on each chain, every address that ever holds
 * taint has its history read whole from that chain's first block, as on one chain; every deposit
 * that taint reaches is in a transaction read whole (it has a bridge's event; a child token's burn,
 * which has none but its Transfer, is read whole when its root chain is read), and every release it
 * could be paired with over the streams is found by the filters (the same id, or the fallback's
 * recipient), with the deposits the fallback weighs against it (where their events index the
 * recipient), so it is paired as over the streams; its release transaction, read whole, holds the
 * transfer that paid the recipient, which the crossing replaces.
 */
import type { RpcClient } from "../../chain/rpc.js";
import {
  releaseFilters,
  rivalFilters,
  type BridgeContract,
  type BridgeDeposit,
  type BridgeReader,
  type BridgeReading,
  type LogFilter,
} from "../bridges/index.js";
import { AssetsFrontier, type LazyAssetsPlan, type LazyAssetsRead } from "./lazy-assets.js";
import { completeWarnings, type LazyEnd, type LazyReading } from "./lazy.js";
import { filteredLogs, RangeBudget } from "./histories.js";
import { addressed } from "./pass-through.js";
import { ZERO_ADDRESS, type TraceResult } from "./types.js";

/** One chain of a lazy trace: its node, its plan (the seeds on the seed's chain only), its bridges. */
export interface LazyChain {
  rpc: RpcClient;
  plan: LazyAssetsPlan;
  /** The bridge contracts known on the chain, and a reader of their events there. */
  bridges: { contracts: readonly BridgeContract[]; reader: BridgeReader };
}

/** What has been read of one chain when the engine runs. */
export interface ChainLazyRead {
  chainId: number;
  read: LazyAssetsRead;
  /** The bridges' deposits and releases of the transactions read whole. */
  bridges: BridgeReading;
}

export interface LazyChainsInput extends Omit<LazyReading, "rpc"> {
  /** The seed's chain first. */
  chains: readonly LazyChain[];
  /** As lazy-assets.ts: addresses taint passes through read in those blocks (haircut, FIFO). */
  passThrough?: boolean;
  /** Runs the engine over what every chain has read. */
  engine: (reads: readonly ChainLazyRead[]) => Promise<TraceResult>;
}

export interface LazyChainsOutput extends LazyEnd {
  /** What was read of each chain, in the order given. */
  reads: ChainLazyRead[];
  /** Each chain's blocks, the store's scopes of what was read, and the transfers read from its node. */
  chains: {
    chainId: number;
    fromBlock: number;
    toBlock: number;
    scopes: string[];
    fromNode: number;
  }[];
}

/** `result`'s part on `chainId`: its edges, holdings and warnings there. */
function onChain(result: TraceResult, chainId: number): TraceResult {
  const here = (x: { chainId?: number }) => (x.chainId ?? chainId) === chainId;
  return {
    ...result,
    edges: result.edges.filter(here),
    holdings: result.holdings.filter(here),
    exits: result.exits.filter(here),
    warnings: result.warnings.filter(here),
  };
}

/**
 * Traces every asset of the chains given by reading only what the taint reaches (above). The
 * result's warnings of incomplete history are those of the addresses read whole on their chain.
 */
export async function readChainsLazily(input: LazyChainsInput): Promise<LazyChainsOutput> {
  const { chains } = input;
  const frontiers: AssetsFrontier[] = [];
  for (const c of chains)
    frontiers.push(
      await AssetsFrontier.open({
        rpc: c.rpc,
        db: input.db,
        plan: c.plan,
        finalityDepth: input.finalityDepth,
        history: input.history,
        passThrough: input.passThrough,
      }),
    );
  const many = chains.length > 1;
  const index = new Map(chains.map((c, i) => [c.plan.chainId, i]));
  const contractsOf = (i: number) => (chains[i] as LazyChain).bridges.contracts;
  // The release events' requests learn each chain's provider's limits.
  const budgets = chains.map(() => new RangeBudget(input.history?.maxRange));
  /** Deposits whose releases were looked for. */
  const looked = new Set<string>();
  // A child token's burn has no event but its Transfer: its transaction is read whole (for the
  // bridge's reading of it) when its root chain is read too.
  const burning = chains.map(
    (c) =>
      new Set(
        c.bridges.contracts
          .filter((b) => b.role === "child-token" && index.has(b.peerChainId ?? -1))
          .map((b) => b.address.toLowerCase()),
      ),
  );

  /** Adds to `wanted[i]` the transactions of chain `i`'s logs that `filters` find over its window. */
  const find = async (i: number, filters: readonly LogFilter[], wanted: Set<string>[]) => {
    const c = chains[i] as LazyChain;
    const { fromBlock, toBlock } = (frontiers[i] as AssetsFrontier).blocks;
    for (const filter of filters)
      for (const log of await filteredLogs(
        c.rpc,
        filter,
        { from: fromBlock, to: toBlock },
        budgets[i] as RangeBudget,
      ))
        if (log.removed !== true) wanted[i]?.add(log.transactionHash.toLowerCase());
  };

  /**
   * The transactions of the releases `d` could be paired with, and of the other deposits the
   * fallback would weigh against it for them, by chain (index).
   */
  const releasesOf = async (d: BridgeDeposit, wanted: Set<string>[]) => {
    const targets =
      d.destinationChainId === null
        ? chains.map((_, i) => i)
        : [index.get(d.destinationChainId)].filter((i): i is number => i !== undefined);
    for (const i of targets) await find(i, releaseFilters(d, contractsOf(i)), wanted);
    // The fallback pairs a deposit naming no destination on its own chain only.
    const destination = index.get(d.destinationChainId ?? d.chainId);
    if (destination === undefined) return;
    for (const i of chains.keys())
      if (i !== destination)
        await find(i, rivalFilters(d, contractsOf(destination), contractsOf(i)), wanted);
  };

  /**
   * What every chain has read, with its bridges' events; first the releases of deposits not looked
   * for yet, and child tokens' burns, are read whole, until no more is found.
   */
  const readBridges = async (): Promise<ChainLazyRead[]> => {
    for (;;) {
      const reads = await Promise.all(
        frontiers.map(async (f, i) => {
          const read = await f.view();
          const bridges = await (chains[i] as LazyChain).bridges.reader.read(read.logs);
          return { chainId: f.chainId, read, bridges };
        }),
      );
      const wanted = chains.map(() => new Set<string>());
      for (const [i, r] of reads.entries()) {
        for (const t of r.read.transfers)
          if (t.to === ZERO_ADDRESS && burning[i]?.has(t.token)) wanted[i]?.add(t.txHash);
        for (const d of r.bridges.deposits) {
          const key = `${d.chainId}:${d.txHash}:${d.logIndex}`;
          if (looked.has(key)) continue;
          looked.add(key);
          await releasesOf(d, wanted);
        }
      }
      let grew = false;
      for (const [i, hashes] of wanted.entries())
        if (hashes.size > 0 && (await (frontiers[i] as AssetsFrontier).readWhole([...hashes])))
          grew = true;
      if (!grew) return reads;
    }
  };

  for (const f of frontiers) await f.seed();
  for (let round = 1; ; round++) {
    await Promise.all(frontiers.map((f) => f.read()));
    const reads = await readBridges();
    const result = await input.engine(reads);
    input.onRound?.({
      round,
      frontier: frontiers.reduce((n, f) => n + f.frontier, 0),
      transfers: frontiers.reduce((n, f) => n + f.transfers, 0),
    });
    let more = false;
    for (const f of frontiers)
      if (await f.after(many ? onChain(result, f.chainId) : result)) more = true;
    if (!more) {
      const primary = frontiers[0] as AssetsFrontier;
      const warnings = many
        ? result.warnings.filter(
            (w) =>
              w.code !== "incomplete-history" ||
              w.address === undefined ||
              frontiers[index.get(w.chainId ?? primary.chainId) ?? 0]?.complete.has(w.address),
          )
        : completeWarnings(result, primary.complete);
      return {
        reads,
        result: addressed({ ...result, warnings }),
        rounds: round,
        fromNode: frontiers.reduce((n, f) => n + f.fromNode, 0),
        chains: frontiers.map((f) => ({
          chainId: f.chainId,
          fromBlock: f.blocks.fromBlock,
          toBlock: f.blocks.toBlock,
          scopes: f.scopes,
          fromNode: f.fromNode,
        })),
      };
    }
  }
}
