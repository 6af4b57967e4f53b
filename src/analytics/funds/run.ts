import { InvalidInputError, NotFoundError } from "../../shared/errors.js";
import type { RpcClient } from "../../chain/rpc.js";
import { allLabelsFor } from "../labels/chain.js";
import { FEE_SINK, loadTransfers, streamId } from "../../db/streams.js";
import { balancesAt, blockOfTransaction, ingestTransfers, requireBlock } from "./ingest.js";
import { DepositTracker } from "./deposit-exits.js";
import { attributeSeeds } from "./attribution.js";
import { DEFAULT_EXIT_CATEGORIES, exitKindOf, readExitCategories } from "./exits.js";
import {
  engineLabel,
  engineOptions,
  exchangesAmong,
  normalizeTraceToken,
  settle,
  tokenDecimals,
  toTransfer,
  type PlanInput,
  type RunTraceInput,
  type RunTraceOutput,
  type TracePlan,
  type Needs,
} from "./run-common.js";
import { runAssetsTrace } from "./run-assets.js";
import { readLazily } from "./lazy.js";
import type { TransferRow } from "../../db/streams.js";
import type { Label as StoreLabel } from "../labels/store.js";
import type { ExitCategories } from "./exits.js";
import {
  ALL_ASSETS,
  formatSeed,
  parseSeed,
  trace,
  ZERO_ADDRESS,
  type SeedShare,
  type Seed,
  type TraceResult,
  type Transfer,
} from "./taint.js";

export * from "./run-common.js";

/**
 * Checks a trace's input against the node, reading nothing into the store: the token (an address
 * with code, or "native"), the seed (a mined transaction, or ADDRESS@BLOCK at an existing block)
 * and the block range. Throws one clear error for the first problem: an {@link InvalidInputError},
 * or a {@link NotFoundError} for what the node does not have.
 */
export async function planTrace(rpc: RpcClient, input: PlanInput): Promise<TracePlan> {
  const token = normalizeTraceToken(input.token);
  const texts = typeof input.seed === "string" ? [input.seed] : input.seed;
  if (texts.length === 0) throw new InvalidInputError("no seed given: a trace needs one at least");
  const seeds: Seed[] = texts.map((t) => parseSeed(t));
  const chainId = Number(await rpc.firstCall<string>("eth_chainId"));
  const code =
    token === "native" || token === ALL_ASSETS
      ? "0x00"
      : await rpc.call<string>("eth_getCode", [token, "latest"]);
  if (code === "0x")
    throw new NotFoundError(`no contract at token address ${token} on chain ${chainId}`);
  let fromBlock = Number.POSITIVE_INFINITY;
  let lastSeedBlock = 0;
  for (const seed of seeds) {
    let block: number;
    if (seed.kind === "tx") {
      block = await blockOfTransaction(rpc, seed.txHash);
      fromBlock = Math.min(fromBlock, block);
    } else {
      await requireBlock(rpc, seed.block);
      block = seed.block;
      fromBlock = Math.min(fromBlock, seed.block + 1);
    }
    lastSeedBlock = Math.max(lastSeedBlock, block);
  }
  const head = Number(await rpc.call<string>("eth_blockNumber"));
  const toBlock = input.toBlock ?? head - (input.confirmations ?? 0);
  if (toBlock < lastSeedBlock) {
    throw new InvalidInputError(
      input.toBlock === undefined
        ? `the seed (block ${lastSeedBlock}) is within the newest ${input.confirmations ?? 0} block(s) ` +
            `left out by --confirmations (head ${head})`
        : `--to-block ${toBlock} is before the seed (block ${lastSeedBlock})`,
    );
  }
  if (toBlock > head)
    throw new InvalidInputError(`--to-block ${toBlock} is beyond the node's head ${head}`);
  return { chainId, token, seeds, fromBlock, toBlock };
}

/**
 * A trace end to end: reads what it needs into the store (the token's transfers from the seed's
 * block on), reads the balances the traced addresses held before that block from the node,
 * labels addresses from the store (TagPacks and consortium labels), and runs the taint model.
 *
 * Initial balances: the stream starts at the seed's block, so an address may spend funds it held
 * before. The balances of the addresses the taint reaches, and of those that spent more than the
 * stream shows them receiving, are read from the node at the block before the stream and the
 * trace is run again, until no new address needs one (at most {@link MAX_TRACE_RERUNS} times);
 * what is still unknown is reported by the engine as incomplete history. Deposit addresses found
 * among the reached addresses make a run again too. When the last run allowed still reached new
 * addresses that need either, a `rounds-exhausted` warning says so.
 */
export async function runTrace(input: RunTraceInput): Promise<RunTraceOutput> {
  const exitCategories = input.exitCategories ?? DEFAULT_EXIT_CATEGORIES;
  const exits = readExitCategories(exitCategories, "exitCategories");
  const plan = input.plan ?? (await planTrace(input.rpc, input));
  if (plan.token === ALL_ASSETS) return runAssetsTrace(input, plan);
  if (input.read === "lazy") return runLazyTrace(input, plan, exits);
  const { chainId, token, seeds, fromBlock, toBlock } = plan;
  const ingest = await ingestTransfers(
    input.db,
    input.rpc,
    { chainId, kind: token === "native" ? "native" : "erc20", token, startBlock: fromBlock },
    {
      toBlock,
      confirmations: input.confirmations,
      finalityDepth: input.finalityDepth,
      traceCalls: input.traceCalls,
      onProgress: input.onProgress,
    },
  );
  const stream = streamId({ chainId, kind: token === "native" ? "native" : "erc20", token });
  const transfers = await loadTransfers(input.db, stream, token, fromBlock, toBlock, toTransfer);

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

  const initialBalances = new Map<string, bigint>();
  // A balance seed's address: its balance where the stream starts (the engine follows it to the
  // end of the seed's block).
  const seeded = seeds.flatMap((seed) => (seed.kind === "balance" ? [seed.address] : []));
  if (seeded.length > 0)
    for (const [a, v] of await balancesAt(input.rpc, token, seeded, fromBlock - 1))
      initialBalances.set(a, v);
  // Deposit addresses: assessed for the addresses the taint reaches (a deposit address stops it,
  // so every later run reaches fewer), a new one found means one more run. The senders to
  // exchanges and their transfers are gathered once, at the first assessment: later rounds read
  // only the reached addresses' transfers.
  const deposits = new DepositTracker(() => [[token, transfers]], {
    exchanges: exchangesAmong(labels.keys(), lookup, exits, input),
    maxBlocks: input.depositMaxBlocks,
    tolerance: input.depositTolerance,
  });
  const depositAddresses = deposits.found;
  const needs = (r: TraceResult): Needs => {
    const missing = new Set<string>();
    const need = (a: string) => {
      if (a !== ZERO_ADDRESS && a !== FEE_SINK && !initialBalances.has(a)) missing.add(a);
    };
    for (const e of r.edges) {
      need(e.from);
      need(e.to);
    }
    // A clean address that spends what it held before the stream is no gap in the history.
    for (const w of r.warnings)
      if (w.code === "incomplete-history" && w.address !== undefined) need(w.address);
    return {
      deposits: deposits.next(r),
      balances: {
        size: missing.size,
        read: async () => {
          if (missing.size === 0) return;
          const fetched = await balancesAt(input.rpc, token, [...missing], fromBlock - 1);
          for (const a of missing) initialBalances.set(a, fetched.get(a) ?? 0n);
        },
      },
    };
  };
  const options = () =>
    engineOptions(input, { seeds, token, labels: lookup, depositAddresses, initialBalances });
  let result = await settle(() => trace(transfers, options()), needs);
  result = attributeSeeds(transfers, options(), result);
  const decimals = await tokenDecimals(input.rpc, token);
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
    decimals,
    assetDecimals: new Map([[token, decimals]]),
  };
}

/** Each seed's share of a holding or exit, as JSON (a trace with several seeds only). */
function sharesOf(x: { bySeed?: SeedShare[] }) {
  return x.bySeed === undefined
    ? {}
    : {
        bySeed: x.bySeed.map((b) => ({
          seed: b.seed,
          amount: b.amount.toString(),
          value: b.value.toString(),
        })),
      };
}

/**
 * {@link runTrace} reading lazily (lazy.ts): each round of the frontier reader runs the engine
 * here, after labeling the addresses new to it and assessing, as deposit addresses, the reached
 * addresses whose histories are read whole (a verdict needs an address's whole history).
 */
async function runLazyTrace(
  input: RunTraceInput,
  plan: TracePlan,
  exits: ExitCategories,
): Promise<RunTraceOutput> {
  const { chainId, token, fromBlock, toBlock } = plan;
  const { seeds } = plan;
  const labels = new Map<string, StoreLabel[]>();
  const labeled = new Set<string>([ZERO_ADDRESS, FEE_SINK]);
  const lookup = (a: string) =>
    a === ZERO_ADDRESS ? undefined : engineLabel(labels.get(a), exits);
  const exchanges = new Map<string, string>();
  const deposits = input.depositAddresses !== false && exits.categories.has("exchange");
  // The rows as the engine reads them: each round appends to the rows of the one before.
  const transfers: Transfer[] = [];
  // Deposit addresses: only an address whose history is read whole can be assessed (a verdict
  // needs all its transfers); the candidates are gathered again each round, as the rows grow.
  const tracker = new DepositTracker(() => [[token, transfers]], {
    exchanges,
    maxBlocks: input.depositMaxBlocks,
    tolerance: input.depositTolerance,
  });
  const depositAddresses = tracker.found;
  const options = (initialBalances: ReadonlyMap<string, bigint>) =>
    engineOptions(input, { seeds, token, labels: lookup, depositAddresses, initialBalances });
  const lazy = await readLazily({
    rpc: input.rpc,
    db: input.db,
    plan: { chainId, token, seeds, fromBlock, toBlock },
    finalityDepth: input.finalityDepth,
    history: input.lazy,
    onRound: (p) =>
      input.onProgress?.({ indexedTo: p.round, target: p.round + 1, rows: p.transfers }),
    engine: async ({ transfers: rows, initialBalances, complete }) => {
      const fresh = new Set<string>();
      for (const t of rows) for (const a of [t.from, t.to]) if (!labeled.has(a)) fresh.add(a);
      for (const seed of seeds)
        if (seed.kind === "balance" && !labeled.has(seed.address)) fresh.add(seed.address);
      for (const a of fresh) labeled.add(a);
      for (const [a, l] of await allLabelsFor(input.db, [...fresh], chainId)) {
        labels.set(a, l);
        const label = lookup(a);
        if (deposits && label !== undefined && exitKindOf(label, exits) === "exchange")
          exchanges.set(a, label.label);
      }
      for (let i = transfers.length; i < rows.length; i++)
        transfers.push(toTransfer(rows[i] as TransferRow));
      const run = () => trace(transfers, options(initialBalances));
      tracker.refresh();
      for (;;) {
        const result = run();
        const found = tracker.next(result, (a) => complete.has(a));
        found.accept();
        if (found.size === 0) return result;
      }
    },
  });
  // Each seed alone reaches no address the seeds together do not: its trace over what was read
  // is its trace over the stream.
  const result = attributeSeeds(transfers, options(lazy.initialBalances), lazy.result);
  const decimals = await tokenDecimals(input.rpc, token);
  return {
    chainId,
    result,
    ingest: {
      stream: lazy.scope,
      indexedTo: toBlock,
      rows: lazy.fromNode,
      complete: true,
      note: null,
    },
    fromBlock,
    toBlock,
    labels,
    initialBalances: new Map(lazy.initialBalances),
    exits,
    depositAddresses,
    decimals,
    assetDecimals: new Map([[token, decimals]]),
  };
}

/**
 * The one JSON object `veritrace trace --json` prints as its last line: addresses and the seed in
 * lower case (as parsed, whatever case the user wrote), amounts as decimal strings of base units
 * of the token each holding and exit names (with its chain).
 */
export function traceSummaryJson(out: RunTraceOutput) {
  const r = out.result;
  // Every holding and exit names its chain and token: the asset its amount is in; its value is in
  // the seed's asset.
  const chainId = out.chainId;
  return {
    model: r.model,
    token: r.token,
    seedAsset: r.seedAsset,
    seed: formatSeed(r.seed),
    ...(r.seeds.length > 1 ? { seeds: r.seeds.map(formatSeed) } : {}),
    holdings: r.holdings.map((h) => ({
      chainId: h.chainId ?? chainId,
      token: h.token,
      address: h.address,
      amount: h.amount.toString(),
      value: h.value.toString(),
      ...sharesOf(h),
    })),
    exits: r.exits.map((e) => ({
      chainId: e.chainId ?? chainId,
      token: e.token,
      address: e.address,
      label: e.label ?? e.kind,
      amount: e.amount.toString(),
      value: e.value.toString(),
      ...sharesOf(e),
      // A bridge's exit: where the deposits that reached it were bound.
      ...(e.destinations === undefined
        ? {}
        : {
            destinations: e.destinations.map((d) => ({
              chainId: d.chainId,
              amount: d.amount.toString(),
            })),
          }),
      // A deposit address's exit only: its exchange, the forwards that show it, the confidence.
      ...(e.depositOf === undefined
        ? {}
        : { depositOf: e.depositOf, evidence: e.evidence, confidence: e.confidence }),
    })),
    total: r.total.toString(),
    // Across chains: the bridge crossings the taint followed.
    ...(out.crossings === undefined || out.crossings.length === 0
      ? {}
      : {
          crossings: out.crossings.map((p) => ({
            bridge: p.deposit.bridge,
            fromChainId: p.deposit.chainId,
            depositTx: p.deposit.txHash,
            toChainId: p.release.chainId,
            releaseTx: p.release.txHash,
            by: p.by,
            confidence: p.confidence,
          })),
        }),
  };
}
