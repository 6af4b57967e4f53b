/**
 * Reads bridge deposits and releases from one chain's raw logs: a log is read only when it comes
 * from a known bridge contract (the built-in registry or the caller's) in a role whose adapter
 * knows its topic. What such a log's adapter can't read is listed with the reason, never guessed.
 */
import type { RawLog, RpcClient } from "../../chain/rpc.js";
import { across } from "./across.js";
import { ARBITRUM_ADAPTERS } from "./arbitrum.js";
import { cctp } from "./cctp.js";
import type {
  AdapterContext,
  BridgeAdapter,
  BridgeDeposit,
  BridgeRelease,
  SkippedBridgeLog,
} from "./model.js";
import { opStandardBridge } from "./optimism.js";
import { POLYGON_POS_ADAPTERS } from "./polygon.js";
import { BridgeRegistry, type BridgeContract } from "./registry.js";
import { stargate } from "./stargate.js";
import { chainTables, type ChainTableEntries, type ChainTables } from "./tables.js";
import { wormholeCore, wormholeTokenBridge } from "./wormhole.js";

/** Every adapter, one per bridge and role. */
export const BRIDGE_ADAPTERS: readonly BridgeAdapter[] = [
  opStandardBridge,
  ...ARBITRUM_ADAPTERS,
  ...POLYGON_POS_ADAPTERS,
  across,
  cctp,
  stargate,
  wormholeCore,
  wormholeTokenBridge,
];

export interface BridgeReaderOptions {
  /** The chain the logs come from. */
  chainId: number;
  /** Asked for block times and pools' tokens; without it, times are null and Stargate logs are refused. */
  rpc?: RpcClient;
  /** Bridge contracts beyond the built-in registry (e.g. addresses labeled `bridge`). */
  contracts?: readonly BridgeContract[];
  /** Entries over the built-in CCTP domain, Wormhole chain and LayerZero endpoint tables. */
  tables?: Partial<Record<keyof ChainTables, ChainTableEntries>>;
}

/** The deposits and releases of one chain's logs. */
export interface BridgeReading {
  deposits: BridgeDeposit[];
  releases: BridgeRelease[];
  skipped: SkippedBridgeLog[];
}

const TOKEN_SELECTOR = "0xfc0c546a"; // token()
const hex = (n: number) => `0x${n.toString(16)}`;

export class BridgeReader {
  readonly chainId: number;
  private readonly registry: BridgeRegistry;
  private readonly tables: ChainTables;
  private readonly rpc: RpcClient | undefined;
  private readonly times = new Map<number, Promise<number | null>>();
  private readonly tokens = new Map<string, Promise<string | null>>();

  constructor(options: BridgeReaderOptions) {
    this.chainId = options.chainId;
    this.rpc = options.rpc;
    this.registry = new BridgeRegistry(options.contracts);
    this.tables = chainTables(options.tables);
  }

  private blockTime(block: number, log: RawLog): Promise<number | null> {
    if (log.blockTimestamp !== undefined) return Promise.resolve(Number(log.blockTimestamp));
    return this.ask(this.times, block, (rpc) =>
      rpc
        .call<{ timestamp?: string } | null>("eth_getBlockByNumber", [hex(block), false])
        .then((b) => (b?.timestamp === undefined ? null : Number(b.timestamp))),
    );
  }

  private tokenOf(contract: string, block: number): Promise<string | null> {
    return this.ask(this.tokens, contract, (rpc) =>
      rpc
        .call<string>("eth_call", [{ to: contract, data: TOKEN_SELECTOR }, hex(block)])
        .then((out) =>
          typeof out === "string" && /^0x0{24}[0-9a-fA-F]{40}$/.test(out)
            ? `0x${out.slice(26)}`.toLowerCase()
            : null,
        )
        .catch(() => null),
    );
  }

  /** What `question` answers for `key`, asked of the node once; null without a node. */
  private ask<K, V>(
    known: Map<K, Promise<V | null>>,
    key: K,
    question: (rpc: RpcClient) => Promise<V | null>,
  ): Promise<V | null> {
    let answer = known.get(key);
    if (answer === undefined) {
      answer = this.rpc === undefined ? Promise.resolve(null) : question(this.rpc);
      known.set(key, answer);
    }
    return answer;
  }

  /** The bridge events of `logs` (any logs of this chain; give whole transactions' logs), in log order. */
  async read(logs: readonly RawLog[]): Promise<BridgeReading> {
    const live = logs.filter((l) => l.removed !== true);
    const byTx = new Map<string, RawLog[]>();
    for (const l of live) {
      const tx = l.transactionHash.toLowerCase();
      const list = byTx.get(tx) ?? [];
      list.push(l);
      byTx.set(tx, list);
    }
    for (const list of byTx.values()) list.sort((a, b) => Number(a.logIndex) - Number(b.logIndex));
    const out: BridgeReading = { deposits: [], releases: [], skipped: [] };
    for (const log of live) {
      const topic0 = (log.topics[0] ?? "").toLowerCase();
      const address = log.address.toLowerCase();
      for (const contract of this.registry.lookup(this.chainId, address)) {
        const adapter = BRIDGE_ADAPTERS.find(
          (a) =>
            a.bridge === contract.bridge &&
            a.roles.includes(contract.role) &&
            a.topics.includes(topic0),
        );
        if (adapter === undefined) continue;
        const blockNumber = Number(log.blockNumber);
        const txHash = log.transactionHash.toLowerCase();
        const ctx: AdapterContext = {
          chainId: this.chainId,
          log,
          place: {
            bridge: contract.bridge,
            chainId: this.chainId,
            contract: address,
            txHash,
            blockNumber,
            logIndex: Number(log.logIndex),
            time: null,
          },
          contract,
          txLogs: byTx.get(txHash) ?? [log],
          registry: this.registry,
          tables: this.tables,
          tokenOf: (c, b) => this.tokenOf(c, b),
        };
        const outcome = await adapter.read(ctx);
        if (typeof outcome === "string") {
          out.skipped.push({
            chainId: this.chainId,
            txHash,
            logIndex: ctx.place.logIndex,
            contract: address,
            reason: outcome,
          });
        } else if (outcome !== null) {
          outcome.time = await this.blockTime(blockNumber, log);
          if (outcome.side === "deposit") out.deposits.push(outcome);
          else out.releases.push(outcome);
        }
      }
    }
    const order = (a: BridgeDeposit | BridgeRelease, b: BridgeDeposit | BridgeRelease) =>
      a.blockNumber - b.blockNumber || a.logIndex - b.logIndex;
    out.deposits.sort(order);
    out.releases.sort(order);
    return out;
  }
}
