/**
 * Reads Tornado Cash deposits and withdrawals from raw logs, by the events of
 * tornadocash/tornado-core `contracts/Tornado.sol`:
 *
 * - `Deposit(bytes32 indexed commitment, uint32 leafIndex, uint256 timestamp)`
 * - `Withdrawal(address to, bytes32 nullifierHash, address indexed relayer, uint256 fee)`
 *
 * A log is read only when it comes from a known pool (the built-in registry or the caller's);
 * the same events from any other contract are ignored. The Deposit event names no address: the
 * depositor is the deposit transaction's sender (`from` of eth_getTransactionByHash), as is the
 * gas price its sender chose. What a known pool's log can't give is listed with the reason.
 */
import { AbiCoder, id as keccakId } from "ethers";
import { hasLogShape, logDataWords, type RawLog, type RpcClient } from "../../chain/rpc.js";
import { KNOWN_MIXER_POOLS, NATIVE, type MixerPool, type NamedMixerPool } from "./registry.js";

export const TORNADO_TOPICS = {
  deposit: keccakId("Deposit(bytes32,uint32,uint256)"),
  withdrawal: keccakId("Withdrawal(address,bytes32,address,uint256)"),
} as const;

/** Where a pool event was read, and the transaction that carried it. */
interface PoolEvent {
  pool: MixerPool;
  txHash: string;
  blockNumber: number;
  logIndex: number;
  /** Block time, unix seconds (a deposit's own `timestamp`). */
  time: number;
  /** The transaction's sender (lower case). */
  sender: string;
  /**
   * The gas price the sender chose: `gasPrice` in wei for a legacy or EIP-2930 transaction,
   * `maxFeePerGas/maxPriorityFeePerGas` for a later type.
   */
  gasChoice: string;
}

/** Value paid into a pool. */
export interface MixerDeposit extends PoolEvent {
  side: "deposit";
  commitment: string;
  leafIndex: number;
  /** Who deposited: the transaction's sender (the event names no address). */
  depositor: string;
}

/** Value paid out of a pool. */
export interface MixerWithdrawal extends PoolEvent {
  side: "withdrawal";
  recipient: string;
  nullifierHash: string;
  relayer: string;
  fee: bigint;
  /** What the recipient received: the denomination minus the fee. */
  amount: bigint;
  /** Sent by someone other than the recipient (a relayer): its gas price is not the user's. */
  relayed: boolean;
}

/** A known pool's log that carries a Tornado topic and could not be read, and why. */
export interface SkippedMixerLog {
  chainId: number;
  txHash: string;
  logIndex: number;
  contract: string;
  reason: string;
}

export interface MixerReading {
  deposits: MixerDeposit[];
  withdrawals: MixerWithdrawal[];
  skipped: SkippedMixerLog[];
}

export interface MixerReaderOptions {
  chainId: number;
  /** Asked for each event's transaction (sender, gas price), block times and named pools' views. */
  rpc: RpcClient;
  /** Pools beyond the built-in registry (e.g. addresses labeled `mixer`). */
  pools?: readonly NamedMixerPool[];
}

interface RawTransaction {
  from?: string;
  gasPrice?: string;
  maxFeePerGas?: string;
  maxPriorityFeePerGas?: string;
  type?: string;
}

const coder = AbiCoder.defaultAbiCoder();
/** The events' fields that are not indexed, in order. */
const FIELDS = {
  deposit: ["uint32", "uint256"], // leafIndex, timestamp
  withdrawal: ["address", "bytes32", "uint256"], // to, nullifierHash, fee
} as const;
const hex = (n: number) => `0x${n.toString(16)}`;
const SELECTOR = {
  denomination: keccakId("denomination()").slice(0, 10),
  token: keccakId("token()").slice(0, 10),
} as const;

/** The gas price a transaction's sender chose, as {@link PoolEvent.gasChoice}; null when absent. */
function gasChoice(tx: RawTransaction): string | null {
  const type = tx.type === undefined ? 0 : Number(tx.type);
  if (type <= 1) return tx.gasPrice === undefined ? null : BigInt(tx.gasPrice).toString();
  if (tx.maxFeePerGas === undefined || tx.maxPriorityFeePerGas === undefined) return null;
  return `${BigInt(tx.maxFeePerGas)}/${BigInt(tx.maxPriorityFeePerGas)}`;
}

export class MixerReader {
  readonly chainId: number;
  private readonly rpc: RpcClient;
  private readonly pools = new Map<string, Promise<MixerPool | string>>();
  private readonly txs = new Map<string, Promise<RawTransaction | null>>();
  private readonly times = new Map<number, Promise<number | null>>();

  constructor(options: MixerReaderOptions) {
    this.chainId = options.chainId;
    this.rpc = options.rpc;
    for (const p of KNOWN_MIXER_POOLS)
      if (p.chainId === this.chainId) this.pools.set(p.address, Promise.resolve(p));
    for (const p of options.pools ?? [])
      if (p.chainId === this.chainId) this.pools.set(p.address.toLowerCase(), this.named(p));
  }

  /** A named pool, its denomination and token asked of the contract when not given. */
  private async named(p: NamedMixerPool): Promise<MixerPool | string> {
    const address = p.address.toLowerCase();
    const ask = (data: string) =>
      this.rpc
        .call<string>("eth_call", [{ to: address, data }, "latest"])
        .then((out) => (typeof out === "string" && /^0x[0-9a-fA-F]{64}$/.test(out) ? out : null))
        .catch(() => null);
    const asked = p.denomination === undefined ? await ask(SELECTOR.denomination) : null;
    const denomination = p.denomination ?? (asked === null ? null : BigInt(asked));
    if (denomination === null || denomination <= 0n)
      return "a pool named by the caller without a denomination, whose contract answers no denomination()";
    let token = p.token?.toLowerCase();
    if (token === undefined) {
      const out = await ask(SELECTOR.token);
      token = out === null || BigInt(out) === 0n ? NATIVE : `0x${out.slice(26)}`.toLowerCase();
    }
    return {
      chainId: p.chainId,
      address,
      token,
      denomination,
      label: p.label ?? `mixer pool ${address}`,
      source: "caller",
    };
  }

  private transaction(hash: string): Promise<RawTransaction | null> {
    let known = this.txs.get(hash);
    if (known === undefined) {
      known = this.rpc
        .call<RawTransaction | null>("eth_getTransactionByHash", [hash])
        .catch(() => null);
      this.txs.set(hash, known);
    }
    return known;
  }

  private blockTime(log: RawLog): Promise<number | null> {
    if (log.blockTimestamp !== undefined) return Promise.resolve(Number(log.blockTimestamp));
    const block = Number(log.blockNumber);
    let known = this.times.get(block);
    if (known === undefined) {
      known = this.rpc
        .call<{ timestamp?: string } | null>("eth_getBlockByNumber", [hex(block), false])
        .then((b) => (b?.timestamp === undefined ? null : Number(b.timestamp)))
        .catch(() => null);
      this.times.set(block, known);
    }
    return known;
  }

  /** The deposits and withdrawals of `logs` (any logs of this chain), in chain order. */
  async read(logs: readonly RawLog[]): Promise<MixerReading> {
    const out: MixerReading = { deposits: [], withdrawals: [], skipped: [] };
    for (const log of logs) {
      if (log.removed === true) continue;
      const topic0 = (log.topics[0] ?? "").toLowerCase();
      if (topic0 !== TORNADO_TOPICS.deposit && topic0 !== TORNADO_TOPICS.withdrawal) continue;
      const known = this.pools.get(log.address.toLowerCase());
      if (known === undefined) continue; // not a pool anyone named
      const outcome = await this.event(await known, log, topic0 === TORNADO_TOPICS.deposit);
      if (typeof outcome === "string")
        out.skipped.push({
          chainId: this.chainId,
          txHash: log.transactionHash.toLowerCase(),
          logIndex: Number(log.logIndex),
          contract: log.address.toLowerCase(),
          reason: outcome,
        });
      else if (outcome.side === "deposit") out.deposits.push(outcome);
      else out.withdrawals.push(outcome);
    }
    const order = (a: PoolEvent, b: PoolEvent) =>
      a.blockNumber - b.blockNumber || a.logIndex - b.logIndex;
    out.deposits.sort(order);
    out.withdrawals.sort(order);
    return out;
  }

  private async event(
    pool: MixerPool | string,
    log: RawLog,
    deposit: boolean,
  ): Promise<MixerDeposit | MixerWithdrawal | string> {
    if (typeof pool === "string") return pool;
    if (!hasLogShape(log, 2, deposit ? 2 : 3))
      return `a ${deposit ? "Deposit" : "Withdrawal"} of another shape than tornado-core's (${log.topics.length} topics, ${logDataWords(log)} words)`;
    const txHash = log.transactionHash.toLowerCase();
    const tx = await this.transaction(txHash);
    const choice = tx === null ? null : gasChoice(tx);
    if (tx?.from === undefined || choice === null)
      return "the node does not give the event's transaction (its sender and gas price)";
    const at = {
      pool,
      txHash,
      blockNumber: Number(log.blockNumber),
      logIndex: Number(log.logIndex),
      sender: tx.from.toLowerCase(),
      gasChoice: choice,
    };
    const fields = coder.decode(FIELDS[deposit ? "deposit" : "withdrawal"], log.data);
    if (deposit)
      return {
        side: "deposit",
        ...at,
        time: Number(fields[1]),
        commitment: (log.topics[1] ?? "").toLowerCase(),
        leafIndex: Number(fields[0]),
        depositor: at.sender,
      };
    const fee = fields[2] as bigint;
    if (fee > pool.denomination)
      return `a Withdrawal whose fee ${fee} exceeds the pool's denomination ${pool.denomination}`;
    const time = await this.blockTime(log);
    if (time === null) return "the node does not give the withdrawal's block time";
    const recipient = String(fields[0]).toLowerCase();
    return {
      side: "withdrawal",
      ...at,
      time,
      recipient,
      nullifierHash: String(fields[1]).toLowerCase(),
      relayer: `0x${(log.topics[1] ?? "").slice(26)}`.toLowerCase(),
      fee,
      amount: pool.denomination - fee,
      relayed: at.sender !== recipient,
    };
  }
}
