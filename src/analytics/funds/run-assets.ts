/**
 * A trace of every asset end to end (`veritrace trace` without --token, or --token all): reads
 * every ERC-20 transfer and every native movement from the seed's block on into the store, the
 * conversion events of the same blocks from the node (swaps, wrapping, liquidity), replaces the
 * transfers the conversions explain by conversion moves (moves.ts), and runs the engine over
 * accounts (asset, address). Initial balances and deposit addresses as for one token (run.ts),
 * per account.
 */
import { RangeTooLargeError, type RawLog, type RpcClient } from "../../chain/rpc.js";
import { allLabelsFor } from "../labels/chain.js";
import { CONVERSION_TOPICS, ConversionReader } from "../conversions.js";
import {
  FEE_SINK,
  loadEveryToken,
  loadTransfers,
  streamId,
  type TransferRow,
} from "../../db/streams.js";
import { balancesAt, ingestTransfers, type IngestResult } from "./ingest.js";
import { depositExitsAmong, reachedBy } from "./deposit-exits.js";
import { attributeSeeds } from "./attribution.js";
import { exitKindOf, readExitCategories, DEFAULT_EXIT_CATEGORIES } from "./exits.js";
import { conversionMoves, NATIVE_ORDINAL } from "./moves.js";
import {
  accountKey,
  ALL_ASSETS,
  trace,
  ZERO_ADDRESS,
  type DepositExit,
  type TraceOptions,
  type TraceResult,
  type Transfer,
} from "./taint.js";
import { depositCandidates, type DepositCandidates } from "../cluster/deposits.js";
import {
  engineLabel,
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

/** The conversion events of blocks `from`..`to`, in chain order. */
async function conversionLogs(rpc: RpcClient, from: number, to: number): Promise<RawLog[]> {
  const topics = [Object.values(CONVERSION_TOPICS)];
  const out: RawLog[] = [];
  let span = LOG_RANGE;
  for (let a = from; a <= to;) {
    const b = Math.min(to, a + span - 1);
    try {
      const logs = await rpc.call<RawLog[]>("eth_getLogs", [
        { fromBlock: `0x${a.toString(16)}`, toBlock: `0x${b.toString(16)}`, topics },
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
  const t = toTransfer(row);
  t.ordinal +=
    row.kind === "value"
      ? NATIVE_ORDINAL.value
      : row.kind === "fee"
        ? NATIVE_ORDINAL.fee
        : NATIVE_ORDINAL.internal;
  return t;
}

/** Runs a trace of every asset ({@link runTrace} with token "all"). */
export async function runAssetsTrace(
  input: RunTraceInput,
  plan: TracePlan,
): Promise<RunTraceOutput> {
  const exitCategories = input.exitCategories ?? DEFAULT_EXIT_CATEGORIES;
  const exits = readExitCategories(exitCategories, "exitCategories");
  const { chainId, seeds, fromBlock, toBlock } = plan;
  const reading = {
    toBlock,
    confirmations: input.confirmations,
    finalityDepth: input.finalityDepth,
    traceCalls: input.traceCalls,
    onProgress: input.onProgress,
  };
  const tokens = { chainId, kind: "erc20", token: "*", startBlock: fromBlock } as const;
  const native = { chainId, kind: "native", token: "native", startBlock: fromBlock } as const;
  const ingested = await ingestTransfers(input.db, input.rpc, tokens, reading);
  const ingestedNative = await ingestTransfers(input.db, input.rpc, native, reading);
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
  const { conversions, skipped } = await new ConversionReader(input.rpc).read(
    await conversionLogs(input.rpc, fromBlock, toBlock),
  );
  const moved = conversionMoves(raw, conversions);
  const transfers = moved.transfers;

  const addresses = new Set<string>();
  for (const t of transfers) {
    addresses.add(t.from);
    addresses.add(t.to);
  }
  for (const seed of seeds) if (seed.kind === "balance") addresses.add(seed.address);
  addresses.delete(ZERO_ADDRESS);
  addresses.delete(FEE_SINK);
  const labels = await allLabelsFor(input.db, [...addresses], chainId);
  const lookup = (a: string) =>
    a === ZERO_ADDRESS ? undefined : engineLabel(labels.get(a), exits);

  const seedAsset = input.seedAsset;
  const initialBalances = new Map<string, bigint>();
  const seeded = seeds.flatMap((seed) => (seed.kind === "balance" ? [seed.address] : []));
  if (seeded.length > 0 && seedAsset !== undefined)
    for (const [a, v] of await balancesAt(input.rpc, seedAsset, seeded, fromBlock - 1))
      initialBalances.set(accountKey(seedAsset, a), v);

  // Deposit addresses, per asset: the heuristic compares amounts of one token.
  const depositAddresses = new Map<string, DepositExit>();
  const assessed = new Set<string>();
  const exchanges = new Map<string, string>();
  if (input.depositAddresses !== false && exits.categories.has("exchange"))
    for (const a of labels.keys()) {
      const label = lookup(a);
      if (label !== undefined && exitKindOf(label, exits) === "exchange")
        exchanges.set(a, label.label);
    }
  const byAsset = new Map<string, Transfer[]>();
  for (const t of transfers) {
    if (t.out !== undefined) continue;
    const list = byAsset.get(t.token);
    if (list === undefined) byAsset.set(t.token, [t]);
    else list.push(t);
  }
  const candidates = new Map<string, DepositCandidates>();
  const needs = (r: TraceResult): Needs => {
    const reached = new Set<string>();
    const found = new Map<string, DepositExit>();
    if (exchanges.size > 0) {
      for (const a of reachedBy(r)) if (!assessed.has(a)) reached.add(a);
      for (const [token, list] of byAsset) {
        let c = candidates.get(token);
        if (c === undefined) candidates.set(token, (c = depositCandidates(list, exchanges)));
        const options = {
          exchanges,
          maxBlocks: input.depositMaxBlocks,
          tolerance: input.depositTolerance,
        };
        for (const [a, d] of depositExitsAmong(c, reached, options))
          if (!depositAddresses.has(a) && !found.has(a)) found.set(a, d);
      }
    }
    // Accounts whose balance before the stream is unknown, by asset.
    const missing = new Map<string, Set<string>>();
    let size = 0;
    const need = (token: string, a: string) => {
      if (a === ZERO_ADDRESS || a === FEE_SINK || initialBalances.has(accountKey(token, a))) return;
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
      deposits: {
        size: found.size,
        accept: () => {
          for (const a of reached) assessed.add(a);
          for (const [a, d] of found) depositAddresses.set(a, d);
        },
      },
      balances: {
        size,
        read: async () => {
          for (const [token, set] of missing) {
            const fetched = await balancesAt(input.rpc, token, [...set], fromBlock - 1);
            for (const a of set) initialBalances.set(accountKey(token, a), fetched.get(a) ?? 0n);
          }
        },
      },
    };
  };
  const options = (): TraceOptions => ({
    model: input.model,
    seed: seeds,
    token: ALL_ASSETS,
    seedAsset,
    labels: lookup,
    exitCategories,
    depositAddresses,
    initialBalances,
    maxHops: input.maxHops,
    minAmount: input.minAmount,
    windowSeconds: input.windowSeconds,
    feeSink: FEE_SINK,
    maxPaths: input.maxPaths,
  });
  let result = await settle(() => trace(transfers, options()), needs);
  result = attributeSeeds(transfers, options(), result);
  const decimals = new Map<string, number | null>();
  for (const x of [...result.holdings, ...result.exits, { token: result.seedAsset }])
    if (!decimals.has(x.token)) decimals.set(x.token, await tokenDecimals(input.rpc, x.token));
  return {
    chainId,
    result,
    ingest,
    fromBlock,
    toBlock,
    labels,
    initialBalances,
    exits,
    depositAddresses,
    decimals: decimals.get(result.seedAsset) ?? null,
    assetDecimals: decimals,
    skippedConversions: [...skipped, ...moved.skipped],
  };
}
