import type { DeploymentRecord } from "../client/deployment.js";
import { ConflictError } from "../shared/errors.js";
import type { Store } from "../db/store.js";
import { EventDecoder, type EventRow } from "./decode.js";
import { LogReader, SyncEngine, type SyncSink } from "../chain/sync-engine.js";
import { genesisEvents } from "./genesis.js";
import type { RpcClient } from "../chain/rpc.js";

export { LOGS_PER_RANGE } from "../chain/sync-engine.js";

/** Per-chain behaviour of the indexer. */
export interface IndexerOptions {
  /** Blocks behind the head that are not indexed yet (default 0). */
  confirmations?: number;
  /**
   * Depth from which a block can no longer be reorganized away (default 64; 0 or 1 on a BFT
   * consortium chain). Blocks within it are read one by one with their parent-hash checked.
   */
  finalityDepth?: number;
  /**
   * First eth_getLogs range size, in blocks (default 10, a probe). Ranges double while answers
   * stay small, shrink to the density seen when an answer exceeds {@link LOGS_PER_RANGE} logs,
   * and shrink on refusals.
   */
  initialRange?: number;
  /** Largest eth_getLogs range (default 100 000 blocks). */
  maxRange?: number;
  /** Where to start in an empty store (default: the deployment's start block). */
  fromBlock?: number;
  /** Progress after each written range. */
  onProgress?: (p: Progress) => void;
  /** Notable happenings: reorganizations, range changes. */
  onLog?: (entry: Record<string, unknown>) => void;
}

export interface Progress {
  /** The block the store is complete up to. */
  indexedTo: number;
  /** The block the current sync aims at. */
  target: number;
  /** Events written since this indexer started. */
  events: number;
  startBlock: number;
}

/** How far a follower has come, for `GET /health` (cli/follow.ts follows). */
export interface FollowerStatus {
  /** The block its last sync aimed at: the node's head less the confirmations. */
  target: number | null;
  /** The block the store is complete up to, as the follower last wrote it. */
  indexedTo: number | null;
  /** When its last sync ended (ISO 8601). */
  syncedAt: string | null;
}

/**
 * Checks that the node serves the deployment's chain and has code at every recorded address;
 * throws one clear {@link ConflictError} otherwise. The first call fails fast when the node is
 * unreachable.
 */
export async function checkNode(rpc: RpcClient, deployment: DeploymentRecord): Promise<void> {
  const chainId = Number(await rpc.firstCall<string>("eth_chainId"));
  if (chainId !== deployment.chainId) {
    throw new ConflictError(
      `the node at ${rpc.url} serves chain ${chainId}, the deployment record says chain ${deployment.chainId}`,
    );
  }
  for (const [name, address] of Object.entries(deployment.contracts)) {
    const code = await rpc.call<string>("eth_getCode", [address, "latest"]);
    if (code === "0x" || code === "") {
      throw new ConflictError(
        `no contract code at ${address} (${name}) on chain ${chainId}: wrong deployment record or node`,
      );
    }
  }
}

/**
 * Reads the consortium's events into the store, with the shared {@link SyncEngine}: historical
 * blocks with eth_getLogs over adaptive ranges, recent blocks one by one with their parent hash
 * checked, reorganizations rolled back exactly.
 */
export class Indexer {
  private readonly decoder: EventDecoder;
  private readonly engine: SyncEngine<EventRow>;
  private started = false;
  private readonly fromBlock: number;

  constructor(
    private readonly store: Store,
    private readonly rpc: RpcClient,
    private readonly deployment: DeploymentRecord,
    options: IndexerOptions = {},
  ) {
    this.decoder = new EventDecoder(deployment);
    this.fromBlock = options.fromBlock ?? deployment.startBlock;
    const decoder = this.decoder;
    const reader = new LogReader<EventRow>(rpc, {
      addresses: decoder.addresses,
      initialRange: options.initialRange,
      maxRange: options.maxRange,
      onLog: options.onLog,
      decode(logs, times) {
        const rows: EventRow[] = [];
        for (const log of logs) {
          if (log.removed === true) continue;
          const row = decoder.decode(log, times.get(Number(log.blockNumber)) ?? 0);
          if (row !== null) rows.push(row);
        }
        return rows.sort((a, b) => a.blockNumber - b.blockNumber || a.logIndex - b.logIndex);
      },
    });
    const sink: SyncSink<EventRow> = {
      checkpoint: () => store.checkpoint(),
      blocksDescending: (from, limit) => store.blocksDescending(from, limit),
      writeRange: (w) =>
        store.writeRange({
          events: w.rows,
          blocks: w.blocks,
          checkpoint: w.checkpoint,
          pruneBelow: w.pruneBelow,
        }),
      rollbackTo: (fork) => store.rollbackTo(fork),
    };
    this.engine = new SyncEngine(rpc, reader, sink, {
      confirmations: options.confirmations,
      finalityDepth: options.finalityDepth,
      fromBlock: this.fromBlock,
      onLog: options.onLog,
      onProgress: (p) =>
        options.onProgress?.({
          indexedTo: p.indexedTo,
          target: p.target,
          events: p.rows,
          startBlock: deployment.startBlock,
        }),
    });
  }

  /** Events written since this indexer started. */
  get eventCount(): number {
    return this.engine.rowCount;
  }

  /**
   * Checks the node against the deployment record (chain id, contract code) and binds the store
   * to the deployment; for a registry in the genesis alloc, writes its founders' events for block
   * 0 (indexer/genesis.ts). Nothing is written if a check fails.
   */
  async start(): Promise<void> {
    if (this.started) return;
    await checkNode(this.rpc, this.deployment);
    await this.store.bindDeployment(this.deployment);
    // A registry in the genesis alloc: its founders' events are rebuilt for block 0, once.
    if (this.fromBlock === 0 && (await this.store.checkpoint()) === null) {
      const genesis = await genesisEvents(this.rpc, this.deployment, this.decoder);
      if (genesis !== null) {
        await this.store.writeRange({
          events: genesis.rows,
          blocks: [genesis.block],
          checkpoint: { blockNumber: 0, blockHash: genesis.block.hash },
          pruneBelow: 0,
        });
      }
    }
    this.started = true;
  }

  /**
   * Indexes up to the current head (less the confirmations). Returns the block the store is
   * complete up to.
   */
  async syncOnce(): Promise<number> {
    await this.start();
    return this.engine.syncOnce();
  }
}
