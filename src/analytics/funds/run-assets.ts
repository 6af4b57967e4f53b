/**
 * A trace of every asset end to end (`veritrace trace` without --token, or --token all), on one
 * chain or across several (`--chain CHAINID=URL`): reads every ERC-20 transfer and every native
 * movement of each chain from the seed's time on into the store, the conversion events of the same
 * blocks from the node (swaps, wrapping, liquidity) and the bridges' deposits and releases;
 * replaces the transfers the conversions explain by conversion moves (moves.ts) and a deposit
 * paired with its release by a crossing (bridge-moves.ts); and runs the engine over accounts
 * (chain, asset, address). Initial balances and deposit addresses as for one token (run.ts), per
 * account.
 */
import { InvalidInputError } from "../../shared/errors.js";
import { RangeTooLargeError, type RawLog, type RpcClient } from "../../chain/rpc.js";
import {
  type ChainToken,
  BRIDGE_ADAPTERS,
  BridgeReader,
  KNOWN_BRIDGE_CONTRACTS,
  pairBridgeTransfers,
  type BridgeContract,
  type BridgeDeposit,
  type BridgeRelease,
} from "../bridges/index.js";
import {
  bridgeMoves,
  crossingsFollowed,
  skippedCrossingsReached,
  TRANSIT,
  type BridgeMoves,
} from "./bridge-moves.js";
import { allLabelsFor } from "../labels/chain.js";
import { ConversionReader, type SkippedLog } from "../conversions.js";
import type { Label as StoreLabel } from "../labels/store.js";
import {
  FEE_SINK,
  loadEveryToken,
  loadTransfers,
  streamId,
  type TransferRow,
} from "../../db/streams.js";
import { balancesAt, ingestTransfers, type IngestResult } from "./ingest.js";
import { DepositTracker } from "./deposit-exits.js";
import { attributeSeeds } from "./attribution.js";
import { readExitCategories, DEFAULT_EXIT_CATEGORIES, type ExitCategories } from "./exits.js";
import { readChainsLazily, type LazyChain } from "./lazy-chains.js";
import { conversionMoves, placeNative } from "./moves.js";
import {
  accountKey,
  ALL_ASSETS,
  trace,
  ZERO_ADDRESS,
  type DepositExit,
  type Label,
  type TaintedEdge,
  type TaintPath,
  type TraceResult,
  type Transfer,
} from "./taint.js";
import {
  engineLabel,
  engineOptions,
  exchangesAmong,
  settle,
  tokenDecimals,
  toTransfer,
  type RunTraceInput,
  type RunTraceOutput,
  type TracePlan,
  type Needs,
} from "./run-common.js";

/** Blocks per eth_getLogs of conversion events at first (halved when the node refuses). */
const LOG_RANGE = 2000;

/** The logs of blocks `from`..`to` with one of `topic0s` (from `addresses` only, if given). */
async function logsOf(
  rpc: RpcClient,
  from: number,
  to: number,
  topic0s: readonly string[],
  addresses?: readonly string[],
): Promise<RawLog[]> {
  const topics = [[...topic0s]];
  const out: RawLog[] = [];
  let span = LOG_RANGE;
  for (let a = from; a <= to;) {
    const b = Math.min(to, a + span - 1);
    try {
      const logs = await rpc.call<RawLog[]>("eth_getLogs", [
        {
          fromBlock: `0x${a.toString(16)}`,
          toBlock: `0x${b.toString(16)}`,
          topics,
          ...(addresses === undefined ? {} : { address: addresses }),
        },
      ]);
      out.push(...logs);
      a = b + 1;
    } catch (error) {
      if (!(error instanceof RangeTooLargeError) || span === 1) throw error;
      span = Math.max(1, Math.floor(span / 2));
    }
  }
  return out;
}

/**
 * A stored native movement as the engine of every asset orders it among the transaction's logs:
 * the fee first (gas is paid before anything runs), then the transaction's value, the logs, and
 * internal transfers after them.
 */
function nativeTransfer(row: TransferRow): Transfer {
  return placeNative(toTransfer(row), row.kind);
}

/** The first block of `rpc`'s chain at or after `time` (unix seconds), or its head + 1. */
async function firstBlockAt(rpc: RpcClient, time: number, head: number): Promise<number> {
  const timeOf = async (n: number) =>
    Number(
      (
        await rpc.call<{ timestamp: string } | null>("eth_getBlockByNumber", [
          `0x${n.toString(16)}`,
          false,
        ])
      )?.timestamp ?? "0x0",
    );
  let lo = 0;
  let hi = head + 1;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if ((await timeOf(mid)) >= time) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** What a trace read of one chain. */
interface ChainRead {
  chainId: number;
  rpc: RpcClient;
  fromBlock: number;
  toBlock: number;
  ingest: IngestResult;
  /** Its transfers (conversions as moves), each with the chain's id. */
  transfers: Transfer[];
  skipped: SkippedLog[];
  deposits: BridgeDeposit[];
  releases: BridgeRelease[];
  bridgeContracts: readonly BridgeContract[];
}

/** Reads one chain's transfers, conversions and bridge events of blocks `fromBlock`..`toBlock`. */
async function readChain(
  input: RunTraceInput,
  chainId: number,
  rpc: RpcClient,
  fromBlock: number,
  toBlock: number,
): Promise<ChainRead> {
  const reading = {
    toBlock,
    confirmations: input.confirmations,
    finalityDepth: input.finalityDepth,
    traceCalls: input.traceCalls,
    onProgress: input.onProgress,
  };
  const tokens = { chainId, kind: "erc20", token: "*", startBlock: fromBlock } as const;
  const native = { chainId, kind: "native", token: "native", startBlock: fromBlock } as const;
  const ingested = await ingestTransfers(input.db, rpc, tokens, reading);
  const ingestedNative = await ingestTransfers(input.db, rpc, native, reading);
  const ingest: IngestResult = {
    stream: `${ingested.stream}+${ingestedNative.stream}`,
    indexedTo: Math.min(ingested.indexedTo, ingestedNative.indexedTo),
    rows: ingested.rows + ingestedNative.rows,
    complete: ingested.complete && ingestedNative.complete,
    note: ingested.note ?? ingestedNative.note,
  };
  const raw = [
    ...(await loadEveryToken(input.db, streamId(tokens), fromBlock, toBlock, toTransfer)),
    ...(await loadTransfers(
      input.db,
      streamId(native),
      "native",
      fromBlock,
      toBlock,
      nativeTransfer,
    )),
  ];
  // Uniswap V3 positions are followed over the trace's blocks (their transfers are read there).
  const reader = new ConversionReader(rpc, { positions: { fromBlock, toBlock } });
  const { conversions, skipped } = await reader.read(
    await logsOf(rpc, fromBlock, toBlock, reader.topics),
  );
  const moved = conversionMoves(raw, conversions);
  for (const t of moved.transfers) t.chainId = chainId;
  const bridges = bridgesOn(input, chainId, rpc);
  const addresses = [...new Set(bridges.contracts.map((c) => c.address.toLowerCase()))];
  let deposits: BridgeDeposit[] = [];
  let releases: BridgeRelease[] = [];
  if (addresses.length > 0) {
    const topics = [...new Set(BRIDGE_ADAPTERS.flatMap((a) => a.topics))];
    // Whole transactions' logs: an adapter reads its neighbours (the messenger of OP, Wormhole's
    // core) from the same transaction.
    const logs = await logsOf(rpc, fromBlock, toBlock, topics, addresses);
    const txs = new Set(logs.map((l) => l.transactionHash.toLowerCase()));
    const whole: RawLog[] = [];
    for (const tx of txs) {
      const receipt = await rpc.call<{ logs: RawLog[] } | null>("eth_getTransactionReceipt", [tx]);
      whole.push(...(receipt?.logs ?? []));
    }
    const read = await bridges.reader.read(whole);
    deposits = read.deposits;
    releases = read.releases;
  }
  return {
    chainId,
    rpc,
    fromBlock,
    toBlock,
    ingest,
    transfers: moved.transfers,
    skipped: [...skipped, ...moved.skipped],
    deposits,
    releases,
    bridgeContracts: bridges.contracts,
  };
}

/**
 * The bridge contracts a trace knows on a chain, the built-in registry's and the caller's, and a
 * reader of their events there.
 */
function bridgesOn(
  input: RunTraceInput,
  chainId: number,
  rpc: RpcClient,
): { contracts: BridgeContract[]; reader: BridgeReader } {
  const given = (input.bridgeContracts ?? []).filter((c) => c.chainId === chainId);
  return {
    contracts: [...KNOWN_BRIDGE_CONTRACTS, ...given].filter((c) => c.chainId === chainId),
    reader: new BridgeReader({ chainId, rpc, contracts: given, tables: input.bridgeTables }),
  };
}

/** The transfers of the chains a trace reads, with their bridge events (conversions moved). */
export interface ChainMoves {
  chainId: number;
  transfers: Transfer[];
  deposits: BridgeDeposit[];
  releases: BridgeRelease[];
}

/**
 * The chains' transfers as the engine reads them: deposits paired with releases, crossings moved
 * (bridge-moves.ts), and, with several chains, every asset named with its chain (`q`; `split`
 * reads one back). `primary` is the seed's chain.
 */
export function crossChains(
  chains: readonly ChainMoves[],
  primary: number,
  tokens?: readonly (readonly ChainToken[])[],
) {
  const many = chains.length > 1;
  const pairing = pairBridgeTransfers(
    chains.flatMap((c) => c.deposits),
    chains.flatMap((c) => c.releases),
    { tokens },
  );
  const crossings = bridgeMoves(
    chains.flatMap((c) => c.transfers),
    pairing.pairs,
  );
  /** An asset as the engine tells it apart: with several chains, prefixed by its chain. */
  const q = (chain: number | undefined, token: string) =>
    many && token !== TRANSIT ? `${chain ?? primary}:${token}` : token;
  /** The chain and token of an engine's asset. */
  const split = (asset: string): { chainId: number; token: string } => {
    const colon = asset.indexOf(":");
    return many && colon > 0 && asset !== TRANSIT
      ? { chainId: Number(asset.slice(0, colon)), token: asset.slice(colon + 1) }
      : { chainId: primary, token: asset };
  };
  const transfers: Transfer[] = crossings.transfers.map((t) =>
    many
      ? {
          ...t,
          token: q(t.chainId, t.token),
          ...(t.out === undefined ? {} : { out: { ...t.out, token: q(t.chainId, t.out.token) } }),
        }
      : t,
  );
  return { many, pairing, crossings, q, split, transfers };
}

/**
 * Each asset's inflows and outflows for the deposit-address heuristic: a move's output counts as
 * an inflow of its asset (a deposit address paid by a swap or by a bridge's release is one all the
 * same); transits are left out.
 */
export function inflowsByAsset(transfers: readonly Transfer[]): Map<string, Transfer[]> {
  const byAsset = new Map<string, Transfer[]>();
  for (const t of transfers) {
    const inflow = t.out === undefined ? t : { ...t, token: t.out.token, amount: t.out.amount };
    if (inflow.token === TRANSIT) continue;
    const list = byAsset.get(inflow.token);
    if (list === undefined) byAsset.set(inflow.token, [inflow]);
    else list.push(inflow);
  }
  return byAsset;
}

/**
 * The other chains of a trace, named before anything is read: a chain given twice, or one that
 * answers as another, is refused with the store untouched.
 */
async function otherChains(
  input: RunTraceInput,
  chainId: number,
): Promise<{ id: number; rpc: RpcClient }[]> {
  const others: { id: number; rpc: RpcClient }[] = [];
  for (const other of input.chains ?? []) {
    const id = Number(await other.rpc.firstCall<string>("eth_chainId"));
    if (id === chainId || others.some((o) => o.id === id))
      throw new InvalidInputError(
        `chain ${id} is given twice (--rpc and --chain name one chain once)`,
      );
    if (other.chainId !== undefined && other.chainId !== id)
      throw new InvalidInputError(`--chain ${other.chainId}=… answers as chain ${id}`);
    others.push({ id, rpc: other.rpc });
  }
  return others;
}

/** The time of the seed's chain's block `block` (unix seconds). */
async function blockTime(rpc: RpcClient, block: number): Promise<number> {
  const b = await rpc.call<{ timestamp: string }>("eth_getBlockByNumber", [
    `0x${block.toString(16)}`,
    false,
  ]);
  return Number(b.timestamp);
}

/**
 * The blocks a trace reads of another chain: from the first at or after the seed's time to its
 * head less the confirmations.
 */
async function windowOf(
  input: RunTraceInput,
  rpc: RpcClient,
  seedTime: number,
): Promise<{ from: number; to: number }> {
  const head = Number(await rpc.call<string>("eth_blockNumber"));
  const to = head - (input.confirmations ?? 0);
  const from = Math.min(await firstBlockAt(rpc, seedTime, head), Math.max(to, 0));
  return { from, to };
}

/** Runs a trace of every asset ({@link runTrace} with token "all"), across the chains given. */
export async function runAssetsTrace(
  input: RunTraceInput,
  plan: TracePlan,
): Promise<RunTraceOutput> {
  const exits = readExitCategories(
    input.exitCategories ?? DEFAULT_EXIT_CATEGORIES,
    "exitCategories",
  );
  const { chainId, fromBlock, toBlock } = plan;
  const others = await otherChains(input, chainId);
  if (input.read === "lazy") return runLazyAssetsTrace(input, plan, exits, others);
  const chains: ChainRead[] = [await readChain(input, chainId, input.rpc, fromBlock, toBlock)];
  if (others.length > 0) {
    const seedTime = await blockTime(input.rpc, fromBlock);
    for (const { id, rpc } of others) {
      const { from, to } = await windowOf(input, rpc, seedTime);
      chains.push(await readChain(input, id, rpc, from, to));
    }
  }
  const run = await traceChains(input, plan, exits, chains, new EngineMemo(input));
  return assetsOutput(input, plan, exits, chains, run);
}

/**
 * {@link runAssetsTrace} reading lazily (lazy-chains.ts), on one chain or across several: each
 * round of the frontier readers runs the engine here over what every chain read, the bridges'
 * deposits and releases read from the transactions read whole.
 */
async function runLazyAssetsTrace(
  input: RunTraceInput,
  plan: TracePlan,
  exits: ExitCategories,
  others: readonly { id: number; rpc: RpcClient }[],
): Promise<RunTraceOutput> {
  const { chainId, seeds, fromBlock, toBlock } = plan;
  const lazyChains: LazyChain[] = [
    {
      rpc: input.rpc,
      plan: { chainId, seeds, fromBlock, toBlock },
      bridges: bridgesOn(input, chainId, input.rpc),
    },
  ];
  if (others.length > 0) {
    const seedTime = await blockTime(input.rpc, fromBlock);
    for (const { id, rpc } of others) {
      const { from, to } = await windowOf(input, rpc, seedTime);
      lazyChains.push({
        rpc,
        plan: { chainId: id, seeds: [], fromBlock: from, toBlock: to },
        bridges: bridgesOn(input, id, rpc),
      });
    }
  }
  const many = lazyChains.length > 1;
  const memo = new EngineMemo(input);
  let last: { chains: ChainRead[]; run: EngineRun } | undefined;
  const lazy = await readChainsLazily({
    db: input.db,
    chains: lazyChains,
    finalityDepth: input.finalityDepth,
    history: input.lazy,
    // Poison taints an address for good: one taint only passes through is read whole.
    passThrough: input.model !== "poison",
    onRound: (p) =>
      input.onProgress?.({ indexedTo: p.round, target: p.round + 1, rows: p.transfers }),
    engine: async (reads) => {
      const chains = reads.map(({ chainId: id, read, bridges }, i): ChainRead => {
        for (const t of read.transfers) t.chainId = id;
        const c = lazyChains[i] as LazyChain;
        return {
          chainId: id,
          rpc: c.rpc,
          fromBlock: c.plan.fromBlock,
          toBlock: c.plan.toBlock,
          ingest: { stream: "", indexedTo: c.plan.toBlock, rows: 0, complete: true, note: null },
          transfers: [...read.transfers],
          skipped: [...read.skipped],
          deposits: bridges.deposits,
          releases: bridges.releases,
          bridgeContracts: c.bridges.contracts,
        };
      });
      // Across chains, an account's asset is named with its chain (as crossChains names it).
      const initialBalances = new Map<string, bigint>();
      for (const { chainId: id, read } of reads)
        for (const [key, v] of read.initialBalances)
          initialBalances.set(many ? `${id}:${key}` : key, v);
      // A deposit address's verdict needs its whole history: on every chain it is seen on.
      const seen = reads.map(({ read }) => {
        const on = new Set<string>();
        for (const t of read.transfers) on.add(t.from).add(t.to);
        return on;
      });
      const complete = (a: string) =>
        many
          ? reads.some(({ read }) => read.complete.has(a)) &&
            reads.every(({ read }, i) => read.complete.has(a) || !seen[i]?.has(a))
          : (reads[0] as (typeof reads)[number]).read.complete.has(a);
      const run = await traceChains(input, plan, exits, chains, memo, {
        initialBalances,
        complete,
      });
      last = { chains, run };
      return run.result;
    },
  });
  const { chains, run } = last as { chains: ChainRead[]; run: EngineRun };
  chains.forEach((c, i) => {
    const read = lazy.chains[i] as (typeof lazy.chains)[number];
    c.ingest = {
      stream: read.scopes.join("+"),
      indexedTo: c.toBlock,
      rows: read.fromNode,
      complete: true,
      note: null,
    };
  });
  return assetsOutput(input, plan, exits, chains, { ...run, result: lazy.result });
}

/**
 * What the engine keeps from one run to the next (a lazy trace runs it once per round): the
 * labels of the addresses seen (by chain), the exchanges among them, and the deposit addresses
 * found (over each asset's transfers of the last run).
 */
class EngineMemo {
  readonly labelsOf = new Map<number, Map<string, StoreLabel[]>>();
  readonly labeled = new Set<string>();
  readonly exchanges = new Map<string, string>();
  byAsset = new Map<string, Transfer[]>();
  readonly deposits: DepositTracker;

  constructor(input: RunTraceInput) {
    this.deposits = new DepositTracker(() => this.byAsset, {
      exchanges: this.exchanges,
      maxBlocks: input.depositMaxBlocks,
      tolerance: input.depositTolerance,
    });
  }
}

/**
 * What a lazy reading gives the engine besides the transfers: the balances read (by the engine's
 * account keys), and whether an address's histories are read whole.
 */
interface LazyEngineRead {
  initialBalances: ReadonlyMap<string, bigint>;
  complete: (address: string) => boolean;
}

/** What a run of the engine over the chains read gives. */
interface EngineRun {
  result: TraceResult;
  labels: Map<string, StoreLabel[]>;
  /** The labels of each chain's addresses. */
  chainLabels: ReadonlyMap<number, ReadonlyMap<string, StoreLabel[]>>;
  initialBalances: Map<string, bigint>;
  depositAddresses: Map<string, DepositExit>;
  crossings: BridgeMoves;
}

/**
 * Runs the engine of every asset over what was read of `chains`: conversions are moves already,
 * bridge crossings become moves here. Reading lazily, `lazy` gives the balances the reader read
 * (no more are read here), and the addresses read whole (the only ones assessed as deposit
 * addresses: a verdict needs an address's whole history).
 */
async function traceChains(
  input: RunTraceInput,
  plan: TracePlan,
  exits: ExitCategories,
  chains: ChainRead[],
  memo: EngineMemo,
  lazy?: LazyEngineRead,
): Promise<EngineRun> {
  const { chainId, seeds, fromBlock } = plan;
  const chainOf = new Map(chains.map((c) => [c.chainId, c]));
  const { many, pairing, crossings, q, split, transfers } = crossChains(
    chains,
    chainId,
    input.bridgeTokens,
  );

  // Labels per chain, asked once per address; a bridge contract of the registry is a bridge.
  const labels = new Map<string, StoreLabel[]>();
  const { labelsOf } = memo;
  const bridgeLabel = new Map<string, Label>();
  for (const c of chains) {
    const addresses = new Set<string>();
    for (const t of c.transfers) {
      addresses.add(t.from);
      addresses.add(t.to);
    }
    for (const seed of seeds) if (seed.kind === "balance") addresses.add(seed.address);
    addresses.delete(ZERO_ADDRESS);
    addresses.delete(FEE_SINK);
    const fresh = [...addresses].filter((a) => !memo.labeled.has(`${c.chainId}:${a}`));
    for (const a of fresh) memo.labeled.add(`${c.chainId}:${a}`);
    const found = labelsOf.get(c.chainId) ?? new Map<string, StoreLabel[]>();
    for (const [a, l] of await allLabelsFor(input.db, fresh, c.chainId)) found.set(a, l);
    labelsOf.set(c.chainId, found);
    for (const [a, l] of found) if (!labels.has(a)) labels.set(a, l);
    for (const b of c.bridgeContracts)
      bridgeLabel.set(`${c.chainId}:${b.address.toLowerCase()}`, {
        category: "bridge",
        label: `${b.bridge} ${b.role}`,
      });
  }
  const lookup = (a: string, asset?: string): Label | undefined => {
    if (a === ZERO_ADDRESS) return undefined;
    const chain = asset === undefined ? chainId : split(asset).chainId;
    return engineLabel(labelsOf.get(chain)?.get(a), exits) ?? bridgeLabel.get(`${chain}:${a}`);
  };

  const seedAsset = input.seedAsset === undefined ? undefined : q(chainId, input.seedAsset);
  const initialBalances = new Map<string, bigint>(lazy?.initialBalances);
  const seeded = seeds.flatMap((seed) => (seed.kind === "balance" ? [seed.address] : []));
  if (seeded.length > 0 && input.seedAsset !== undefined && seedAsset !== undefined)
    for (const [a, v] of await balancesAt(input.rpc, input.seedAsset, seeded, fromBlock - 1))
      initialBalances.set(accountKey(seedAsset, a), v);

  // Deposit addresses, per asset: the heuristic compares amounts of one token. Reading lazily,
  // the candidates are gathered again each round (the transfers grow), and only addresses read
  // whole are assessed.
  memo.byAsset = inflowsByAsset(transfers);
  for (const [chain, found] of labelsOf)
    for (const [a, label] of exchangesAmong(
      found.keys(),
      (x) => lookup(x, q(chain, "native")),
      exits,
      input,
    ))
      memo.exchanges.set(a, label);
  const { deposits } = memo;
  if (lazy !== undefined) deposits.refresh();
  const assessable = lazy?.complete;
  const depositAddresses = deposits.found;
  const needs = (r: TraceResult): Needs => {
    // Accounts whose balance before the stream is unknown, by asset.
    const missing = new Map<string, Set<string>>();
    let size = 0;
    const need = (token: string, a: string) => {
      if (
        lazy !== undefined ||
        token === TRANSIT ||
        a === ZERO_ADDRESS ||
        a === FEE_SINK ||
        initialBalances.has(accountKey(token, a))
      )
        return;
      let set = missing.get(token);
      if (set === undefined) missing.set(token, (set = new Set()));
      if (!set.has(a)) size++;
      set.add(a);
    };
    for (const e of r.edges) {
      need(e.token, e.from);
      need(e.out?.token ?? e.token, e.to);
    }
    for (const w of r.warnings)
      if (w.code === "incomplete-history" && w.address !== undefined && w.token !== undefined)
        need(w.token, w.address);
    return {
      deposits: deposits.next(r, assessable),
      balances: {
        size,
        read: async () => {
          for (const [asset, set] of missing) {
            const { chainId: chain, token } = split(asset);
            const c = chainOf.get(chain) as ChainRead;
            const fetched = await balancesAt(c.rpc, token, [...set], c.fromBlock - 1);
            for (const a of set) initialBalances.set(accountKey(asset, a), fetched.get(a) ?? 0n);
          }
        },
      },
    };
  };
  const options = () =>
    engineOptions(input, {
      seeds,
      token: ALL_ASSETS,
      seedAsset,
      labels: lookup,
      depositAddresses,
      initialBalances,
    });
  let result = await settle(() => trace(transfers, options()), needs);
  result = attributeSeeds(transfers, options(), result);
  result = unqualified(result, split, many, pairing.unpairedDeposits);
  return { result, labels, chainLabels: labelsOf, initialBalances, depositAddresses, crossings };
}

/** The output of a trace of every asset: the engine's run, with each asset's decimals. */
async function assetsOutput(
  input: RunTraceInput,
  plan: TracePlan,
  exits: ExitCategories,
  chains: readonly ChainRead[],
  run: EngineRun,
): Promise<RunTraceOutput> {
  const { chainId, fromBlock, toBlock } = plan;
  const { result, labels, chainLabels, initialBalances, depositAddresses, crossings } = run;
  const chainOf = new Map(chains.map((c) => [c.chainId, c]));
  const many = chains.length > 1;
  const decimals = new Map<string, number | null>();
  for (const x of [...result.holdings, ...result.exits, { token: result.seedAsset, chainId }]) {
    const key = many ? `${x.chainId ?? chainId}:${x.token}` : x.token;
    if (decimals.has(key) || x.token === TRANSIT) continue;
    const c = chainOf.get(x.chainId ?? chainId) as ChainRead;
    decimals.set(key, await tokenDecimals(c.rpc, x.token));
  }
  const primary = chains[0] as ChainRead;
  return {
    chainId,
    result,
    // Complete only if every chain's reading was; the first gap any chain left is the note.
    ingest: {
      ...primary.ingest,
      complete: chains.every((c) => c.ingest.complete),
      note:
        chains
          .filter((c) => c.ingest.note !== null)
          .map((c) => (many ? `chain ${c.chainId}: ${c.ingest.note}` : c.ingest.note))[0] ?? null,
    },
    fromBlock,
    toBlock,
    labels,
    ...(many ? { chainLabels } : {}),
    initialBalances,
    exits,
    depositAddresses,
    decimals: decimals.get(many ? `${chainId}:${result.seedAsset}` : result.seedAsset) ?? null,
    assetDecimals: decimals,
    skippedConversions: chains.flatMap((c) => c.skipped),
    chains: chains.map((c) => ({
      chainId: c.chainId,
      fromBlock: c.fromBlock,
      toBlock: c.toBlock,
      ingest: c.ingest,
    })),
    crossings: crossingsFollowed(crossings.crossed, result.edges),
    skippedCrossings: skippedCrossingsReached(crossings.skipped, result.edges),
  };
}

/**
 * The result as it is read: every holding, exit and edge names its chain and its token apart; a
 * bridge's exit lists where its deposits were bound.
 */
function unqualified(
  r: TraceResult,
  split: (asset: string) => { chainId: number; token: string },
  many: boolean,
  unpaired: readonly BridgeDeposit[],
): TraceResult {
  const edges = r.edges.map((e) => {
    const at = split(e.token);
    return {
      ...e,
      chainId: e.chainId ?? at.chainId,
      token: at.token,
      ...(e.out === undefined ? {} : { out: { ...e.out, token: split(e.out.token).token } }),
    };
  });
  // Paths hold the engine's edges: they get the edges read the same way.
  const edgeOf = new Map(r.edges.map((e, i) => [e, edges[i] as TaintedEdge]));
  const paths = (x: { paths: TaintPath[] }) =>
    x.paths.map((p) => ({ ...p, steps: p.steps.map((e) => edgeOf.get(e) ?? e) }));
  const bound = new Map(unpaired.map((d) => [`${d.chainId}:${d.txHash}`, d.destinationChainId]));
  return {
    ...r,
    seedAsset: split(r.seedAsset).token,
    holdings: r.holdings.map((h) => ({ ...h, ...split(h.token), paths: paths(h) })),
    exits: r.exits.map((x) => {
      const at = split(x.token);
      if (x.kind !== "bridge") return { ...x, ...at, paths: paths(x) };
      // Deposits that reached the bridge, by destination (edges that exited there).
      const sums = new Map<number | null, bigint>();
      for (const e of edges)
        if (e.fate === "exit" && e.to === x.address && e.chainId === at.chainId) {
          const key = bound.get(`${e.chainId}:${e.txHash}`) ?? null;
          sums.set(key, (sums.get(key) ?? 0n) + (e.out?.tainted ?? e.tainted));
        }
      return {
        ...x,
        ...at,
        paths: paths(x),
        destinations: [...sums].map(([chainId, amount]) => ({ chainId, amount })),
      };
    }),
    edges,
    warnings: r.warnings.map((w) =>
      w.token === undefined || !many ? w : { ...w, ...split(w.token) },
    ),
  };
}
