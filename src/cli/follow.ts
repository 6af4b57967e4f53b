/**
 * Following the chain's head: the loop of `veritrace index --follow`, also run by
 * `veritrace serve --follow` beside the API on the same store handle (an embedded store takes one
 * process, so the follower and the API share it). Its options are defined once, here.
 */
import { parseDeploymentText, type DeploymentRecord } from "../client/deployment.js";
import { InputError } from "../client/errors.js";
import { Indexer, type FollowerStatus, type IndexerOptions } from "../ledger/indexer.js";
import type { RpcClient } from "../chain/rpc.js";
import type { Store } from "../db/store.js";
import { inputName, readInputTextOr } from "../shared/input.js";
import { logLine } from "../shared/format.js";
import { integer, type OptionValues } from "../shared/options.js";
import { stringOptions } from "./command.js";

/** The options that tune the indexer, shared by `index` and `serve --follow`. */
export const SYNC_OPTIONS = stringOptions("confirmations", "finality", "poll-ms");

export const SYNC_HELP = [
  "  --confirmations N    leave the newest N blocks unindexed (default 0)",
  "  --finality N         depth beyond which blocks can't be reorganized (default 64; 0 or 1 on BFT chains)",
  "  --poll-ms N          how often to poll the head in follow mode (default 250)",
];

export interface SyncSettings {
  confirmations: number;
  finalityDepth: number;
  pollMs: number;
}

export function syncSettings(values: OptionValues): SyncSettings {
  return {
    confirmations: integer(values, "confirmations") ?? 0,
    finalityDepth: integer(values, "finality") ?? 64,
    pollMs: integer(values, "poll-ms", 10) ?? 250,
  };
}

/**
 * The deployment record the indexer follows (`index` and `serve --follow`), from a file or from
 * stdin for `-`: read once, at start-up, so a pipe (`… | veritrace index --deployment -`) does.
 * The record is checked as `readDeployment` checks a file; errors name `stdin`.
 */
export function readDeploymentInput(file: string): DeploymentRecord {
  const name = inputName(file);
  const text = readInputTextOr(file, (reason) => new InputError(name, `cannot read: ${reason}`));
  return parseDeploymentText(text, name);
}

/**
 * An indexer that keeps up with the head: syncs, then polls every `pollMs` until stopped, with
 * one JSON log line per indexed range on stdout.
 */
export class Follower {
  readonly indexer: Indexer;
  private target: number | null = null;
  private indexedTo: number | null = null;
  private syncedAt: string | null = null;
  private stopping = false;
  private wake: (() => void) | null = null;
  /** The lowest fork point of the reorganizations seen since the last "indexed" line. */
  private reorgFork: number | null = null;

  constructor(
    store: Store,
    rpc: RpcClient,
    deployment: DeploymentRecord,
    private readonly settings: SyncSettings,
    options: Pick<IndexerOptions, "fromBlock" | "onProgress"> = {},
  ) {
    this.indexer = new Indexer(store, rpc, deployment, {
      confirmations: settings.confirmations,
      finalityDepth: settings.finalityDepth,
      fromBlock: options.fromBlock,
      onProgress: (p) => {
        this.target = p.target;
        options.onProgress?.(p);
      },
      onLog: (entry) => {
        if (entry["msg"] === "reorganization" && typeof entry["fork"] === "number") {
          this.reorgFork = Math.min(this.reorgFork ?? entry["fork"], entry["fork"]);
        }
        console.log(logLine({ level: "warn", ...entry }));
      },
    });
  }

  status(): FollowerStatus {
    return { target: this.target, indexedTo: this.indexedTo, syncedAt: this.syncedAt };
  }

  /** One sync up to the head; returns the block the store is complete up to. */
  async syncOnce(): Promise<number> {
    const to = await this.indexer.syncOnce();
    this.indexedTo = to;
    this.target = Math.max(this.target ?? to, to);
    this.syncedAt = new Date().toISOString();
    return to;
  }

  /** Catches up, then follows until {@link Follower.stop}; a failed sync ends it (rejects). */
  async run(store: Store): Promise<void> {
    let indexedTo = await this.syncOnce();
    console.log(
      logLine({
        level: "info",
        msg: "caught up",
        block: indexedTo,
        events: await store.eventCount(),
      }),
    );
    while (!this.stopping) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.settings.pollMs);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = null;
      if (this.stopping) break;
      const seen = this.indexer.eventCount;
      this.reorgFork = null;
      const to = await this.syncOnce();
      // After a reorganization the blocks from the fork on were read again, even when the
      // head is back at the same height: a watcher learns when that re-read finished.
      const fork = this.reorgFork;
      if (to !== indexedTo || fork !== null) {
        console.log(
          logLine({
            level: "info",
            msg: "indexed",
            from: Math.min(indexedTo, fork ?? indexedTo) + 1,
            to,
            events: this.indexer.eventCount - seen,
            ...(fork === null ? {} : { reorganizedFrom: fork + 1 }),
          }),
        );
        indexedTo = to;
      }
    }
    console.log(logLine({ level: "info", msg: "stopped", block: indexedTo }));
  }

  /** Ends {@link Follower.run} after the sync in progress (if any) is written. */
  stop(): void {
    this.stopping = true;
    this.wake?.();
  }
}
