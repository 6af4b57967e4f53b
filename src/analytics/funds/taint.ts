/**
 * Fund-flow tracing: follows taint from a seed through transfers of one token, or of every asset
 * through the conversions between them (swaps, wrapping, liquidity), in chain order, under one of
 * three models (poison, haircut, FIFO), and explains every tainted amount with the transfers that
 * carried it. Pure and in memory. Definitions: docs/taint-models.md.
 */
import { InvalidInputError, NotFoundError } from "../../shared/errors.js";
import { BigBook, LIMB_BOOK_LIMIT, LimbBook, type BalanceBook } from "./balances.js";
import { exitDecision, type ExitDecision } from "./exits.js";
import { FifoModel } from "./fifo.js";
import { HaircutModel } from "./haircut.js";
import { prepareLog } from "./log.js";
import type { ModelContext, TaintModel } from "./model.js";
import { Components, NO_EDGE, PathForest, pathsOf, ROOT, addComponent } from "./paths.js";
import { PoisonModel } from "./poison.js";
import { lowercase, settingsOf } from "./options.js";
import { formatSeed } from "./seed.js";
import {
  accountKey,
  ALL_ASSETS,
  type DepositExit,
  type EdgeFate,
  type Exit,
  type Seed,
  type ExitKind,
  type Holding,
  type TaintedEdge,
  type TraceOptions,
  type TraceResult,
  type TraceWarning,
  type Transfer,
} from "./types.js";

export * from "./types.js";
export { formatSeed, parseSeed } from "./seed.js";
export { compareTransfers } from "./log.js";
export { DEFAULT_MAX_PATHS } from "./options.js";
export { DEFAULT_EXIT_CATEGORIES } from "./exits.js";

interface ExitAccount {
  address: number;
  kind: ExitKind;
  label: string | undefined;
  deposit: DepositExit | undefined;
  amount: bigint;
  value: bigint;
  hops: number;
  parts: Components;
}

interface Overdraft {
  first: number;
  count: number;
  amount: bigint;
  heldTaint: boolean;
}

function modelOf(name: TraceOptions["model"], ctx: ModelContext): TaintModel {
  switch (name) {
    case "poison":
      return new PoisonModel(ctx);
    case "haircut":
      return new HaircutModel(ctx);
    case "fifo":
      return new FifoModel(ctx);
  }
}

/**
 * The time a balance seed starts the window from: the latest transfer time (any token) in blocks
 * up to the seed block, else the earliest after it.
 */
function balanceSeedTime(all: readonly Transfer[], block: number): number {
  let atOrBefore = Number.NEGATIVE_INFINITY;
  let after = Number.POSITIVE_INFINITY;
  for (const t of all) {
    if (t.blockNumber <= block) {
      if (t.time > atOrBefore) atOrBefore = t.time;
    } else if (t.time < after) after = t.time;
  }
  return Number.isFinite(atOrBefore) ? atOrBefore : Number.isFinite(after) ? after : 0;
}

const byAmountThenAddress = (
  a: { amount: bigint; address: string },
  b: { amount: bigint; address: string },
) => (a.amount > b.amount ? -1 : a.amount < b.amount ? 1 : a.address < b.address ? -1 : 1);

/**
 * The asset a trace of every asset seeds taint in: the one given, else the only asset the seed
 * transaction moves other than by conversion (its fee aside).
 */
function seedAssetOf(
  transfers: readonly Transfer[],
  seeds: readonly Seed[],
  given: string | undefined,
  feeSink: string | undefined,
): string {
  if (given !== undefined) return given;
  const hashes = new Set<string>();
  for (const seed of seeds) {
    if (seed.kind === "balance")
      throw new InvalidInputError(
        `a balance seed (${formatSeed(seed)}) of a trace of every asset needs the asset it seeds: name it (seedAsset, --seed-asset)`,
      );
    hashes.add(seed.txHash);
  }
  const moved = new Set<string>();
  for (const t of transfers)
    if (hashes.has(t.txHash) && t.out === undefined && t.to !== feeSink && t.amount > 0n)
      moved.add(t.token);
  const what = hashes.size === 1 ? `seed transaction ${[...hashes][0]}` : "the seed transactions";
  if (moved.size === 1) return [...moved][0] as string;
  const verb = hashes.size === 1 ? "moves" : "move";
  if (moved.size === 0) throw new NotFoundError(`${what} ${verb} no asset in the given transfers`);
  throw new InvalidInputError(
    `${what} ${verb} ${moved.size} assets (${[...moved].sort().join(", ")}): name the stolen one (seedAsset, --seed-asset)`,
  );
}

/**
 * Traces taint from `options.seed` through `transfers` (any order): of one token (other tokens are
 * ignored), or, with `token` {@link ALL_ASSETS}, of every asset, through the conversions among them.
 */
export function trace(transfers: readonly Transfer[], options: TraceOptions): TraceResult {
  const s = settingsOf(options);
  const every = s.token === ALL_ASSETS;
  if (!every && s.seedAsset !== undefined && s.seedAsset !== s.token)
    throw new InvalidInputError(
      `seed asset ${s.seedAsset} is not the token traced (${s.token}): trace every asset to seed another`,
    );
  const seedAsset = every ? seedAssetOf(transfers, s.seeds, s.seedAsset, s.feeSink) : s.token;
  /** The key of an address's account of the seed asset (with every asset, of `asset`). */
  const keyOf = every
    ? (address: string, asset = seedAsset) => accountKey(asset, address)
    : (address: string) => address;
  const initial: [string, bigint][] = [];
  for (const [key, amount] of options.initialBalances ?? []) {
    if (typeof amount !== "bigint" || amount < 0n)
      throw new InvalidInputError(`initial balance of ${key} is not a non-negative bigint`);
    if (every && !key.includes("/"))
      throw new InvalidInputError(
        `initial balance key ${key} names no asset: a trace of every asset keys them ASSET/ADDRESS`,
      );
    initial.push([lowercase(key), amount]);
  }
  const extra = initial.map(([key]) => key);
  for (const seed of s.seeds) if (seed.kind === "balance") extra.push(keyOf(seed.address));
  if (s.feeSink !== undefined) extra.push(keyOf(s.feeSink, "native"));
  const log = prepareLog(transfers, s.token, extra);
  const { all, order, zero } = log;
  const at = (i: number) => all[order[i] as number] as Transfer;
  const size = log.addresses.length;
  const addressOf = (id: number) => log.addresses[id] as string;
  const assetOf = (id: number) => log.assets?.[id] ?? s.token;
  const idOf = (key: string) => log.ids.get(key) ?? -1;

  let initialSum = 0n;
  for (const [, amount] of initial) initialSum += amount;
  const book: BalanceBook =
    log.maxAmount * BigInt(log.length) + initialSum < LIMB_BOOK_LIMIT
      ? new LimbBook(size)
      : new BigBook(size);
  for (const [key, amount] of initial) book.set(idOf(key), amount);
  for (let id = 0; id < size; id++) if (zero[id] === 1) book.set(id, 0n);
  const hops = new Int32Array(size).fill(-1);
  const received = new Array<bigint>(size).fill(0n);
  const forest = new PathForest(s.maxPaths > 0);
  const model = modelOf(options.model, { values: every, forest, k: s.maxPaths, size });
  // The fee sink: its native account with one asset, its account of any asset with every asset
  // (a trace across chains has one native coin per chain).
  const feeSinkId = s.feeSink === undefined ? -1 : idOf(keyOf(s.feeSink, "native"));
  const isFeeSink = every
    ? (id: number) => s.feeSink !== undefined && addressOf(id) === s.feeSink
    : (id: number) => id === feeSinkId;

  // Exits, found lazily: only addresses that taint reaches are looked up.
  const exitCode = new Int8Array(size); // 0 unknown, 1 not an exit, 2 an exit
  const exits = new Map<number, ExitAccount>();
  const exitOf = (id: number): ExitAccount | undefined => {
    const code = exitCode[id];
    if (code === 1) return undefined;
    if (code === 2) return exits.get(id);
    let decision: ExitDecision | undefined;
    if (zero[id] === 1) decision = { kind: "burn" };
    else if (isFeeSink(id)) decision = { kind: "fee" };
    else {
      const address = addressOf(id);
      decision = exitDecision(
        s.labels?.(address, every ? assetOf(id) : undefined),
        s.deposits?.get(address),
        s.exits,
      );
    }
    if (decision === undefined) {
      exitCode[id] = 1;
      return undefined;
    }
    const account: ExitAccount = {
      address: id,
      kind: decision.kind,
      label: decision.label,
      deposit: decision.deposit,
      amount: 0n,
      value: 0n,
      hops: -1,
      parts: new Components(),
    };
    exitCode[id] = 2;
    exits.set(id, account);
    return account;
  };

  // Tainted edges, by id (chain order).
  const edgeAt: number[] = [];
  const edgeTaint: bigint[] = [];
  const edgeTaintOut: bigint[] = [];
  const edgeFate: EdgeFate[] = [];
  /** Records a tainted transfer: its tainted part, in and (for a conversion) out. */
  const record = (position: number, tainted: bigint, out: bigint, fate: EdgeFate): number => {
    edgeAt.push(position);
    edgeTaint.push(tainted);
    edgeTaintOut.push(out);
    edgeFate.push(fate);
    return edgeAt.length - 1;
  };
  const reach = (id: number, h: number) => {
    const was = hops[id] as number;
    if (was < 0 || h < was) hops[id] = h;
  };

  // The seeds: transactions (their transfers of the seed asset) and balances (applied after
  // their block, in block order).
  let seedStart = -1;
  let seedEnd = -2;
  let seedTime = Number.POSITIVE_INFINITY;
  let seedAmount = 0n;
  const seedHashes = new Set<string>();
  const balanceSeeds: { id: number; block: number; address: string; index: number }[] = [];
  for (const seed of s.seeds) {
    if (seed.kind === "tx") seedHashes.add(seed.txHash);
    else
      balanceSeeds.push({
        id: idOf(keyOf(seed.address)),
        block: seed.block,
        address: seed.address,
        index: balanceSeeds.length,
      });
  }
  balanceSeeds.sort((a, b) => a.block - b.block || a.index - b.index);
  const seedHash = seedHashes.size === 1 ? ([...seedHashes][0] as string) : "";
  /** Whether a transfer is one a seed creates taint in (a transfer of the seed asset). */
  const seeds =
    seedHashes.size === 1
      ? (tr: Transfer) =>
          tr.txHash === seedHash && (!every || (tr.out === undefined && tr.token === seedAsset))
      : (tr: Transfer) =>
          seedHashes.has(tr.txHash) && (!every || (tr.out === undefined && tr.token === seedAsset));
  if (seedHashes.size > 0) {
    const found = new Set<string>();
    for (let i = 0; i < log.length; i++) {
      const tr = at(i);
      if (!seeds(tr)) continue;
      if (seedStart < 0) seedStart = i;
      seedEnd = i;
      found.add(tr.txHash);
      if (tr.time < seedTime) seedTime = tr.time;
    }
    for (const hash of seedHashes) {
      if (found.has(hash)) continue;
      // Only transfers that change nothing (zero amount, self-transfer): an empty seed.
      const noop = transfers.find((t) => t.txHash === hash && t.token === seedAsset);
      if (noop === undefined)
        throw new NotFoundError(
          `seed transaction ${hash} has no transfer of token ${seedAsset} in the given transfers`,
        );
      if (noop.time < seedTime) seedTime = noop.time;
    }
  }
  for (const b of balanceSeeds) {
    const time = balanceSeedTime(transfers, b.block);
    if (time < seedTime) seedTime = time;
  }
  let nextBalanceSeed = 0;
  const seedBlock = () => balanceSeeds[nextBalanceSeed]?.block ?? Number.POSITIVE_INFINITY;
  const applyBalanceSeed = () => {
    const seed = balanceSeeds[nextBalanceSeed++];
    if (seed === undefined) return;
    const id = seed.id;
    const balance = book.get(id);
    if (balance === 0n) return;
    const before = model.holdsTaint(id) ? model.holding(id, balance).amount : 0n;
    seedAmount += balance - before;
    // The root of a balance seed's paths names the seed (see pathOf).
    const root = forest.add(NO_EDGE - seed.index, ROOT);
    hops[id] = 0;
    const exit = exitOf(id);
    if (exit !== undefined) {
      exit.amount += balance;
      exit.value += balance;
      exit.hops = 0;
      addComponent(exit.parts, root, balance, s.maxPaths);
    } else {
      received[id] = (received[id] as bigint) + balance - before;
      model.seedBalance(id, balance, root);
    }
  };
  let pendingSeedBlock = seedBlock();

  const limit =
    s.windowSeconds === undefined ? Number.POSITIVE_INFINITY : seedTime + s.windowSeconds;
  const { maxHops, minAmount } = s;
  const overdrafts = new Map<number, Overdraft>();
  let beyondHopLimit = 0n;
  let belowMinimum = 0n;
  let processed = 0;

  for (let i = 0; i < log.length; i++) {
    const tr = at(i);
    if (tr.time > limit) continue;
    while (tr.blockNumber > pendingSeedBlock) {
      applyBalanceSeed();
      pendingSeedBlock = seedBlock();
    }
    processed++;
    const f = log.from[i] as number;
    const t = log.to[i] as number;
    const x = tr.amount;
    // A conversion delivers y of another asset for the x it takes.
    const out = every ? tr.out : undefined;
    const y = out === undefined ? x : out.amount;

    book.load(x);
    let before = 0n; // the sender's balance before, when it holds taint
    if (zero[f] !== 1) {
      const excess = book.withdraw(f);
      const holds = model.holdsTaint(f);
      if (excess !== 0n) {
        const o = overdrafts.get(f);
        if (o === undefined)
          overdrafts.set(f, { first: i, count: 1, amount: excess, heldTaint: holds });
        else {
          o.count++;
          o.amount += excess;
          o.heldTaint ||= holds;
        }
        model.addPreexisting(f, excess);
      }
      if (holds) before = book.get(f) + x;
    }
    const tainted = model.take(f, x, before);
    let taintedOut = tainted;
    if (out !== undefined) {
      if (tainted !== 0n) taintedOut = model.convert(x, y);
      book.load(y);
    }

    if (i <= seedEnd && i >= seedStart && zero[t] !== 1 && !isFeeSink(t) && seeds(tr)) {
      // Seed transfer: all it delivers is taint; its clean part is new taint.
      seedAmount += x - tainted;
      reach(t, 0);
      const exit = exitOf(t);
      if (exit !== undefined) {
        exit.amount += x;
        exit.hops = 0;
        exit.value += model.giveExit(exit.parts, record(i, x, x, "exit"), true);
      } else {
        received[t] = (received[t] as bigint) + x;
        model.giveTainted(t, x, book.get(t), record(i, x, x, "seed"), true);
      }
    } else if (tainted === 0n) {
      model.giveClean(t, y);
    } else {
      const h = (hops[f] as number) + 1;
      const value = model.carriedValue();
      if (h > maxHops) {
        beyondHopLimit += value;
        record(i, tainted, taintedOut, "beyond-hop-limit");
        model.giveClean(t, y);
      } else if (value < minAmount || taintedOut === 0n) {
        // Below the minimum, or rounded away by a conversion (dust): not followed.
        belowMinimum += value;
        record(i, tainted, taintedOut, "below-minimum");
        model.giveClean(t, y);
      } else {
        const exit = exitOf(t);
        if (exit !== undefined) {
          exit.amount += taintedOut;
          if (exit.hops < 0 || h < exit.hops) exit.hops = h;
          const edge = record(i, tainted, taintedOut, "exit");
          exit.value += model.giveExit(exit.parts, edge, false);
        } else {
          reach(t, h);
          received[t] = (received[t] as bigint) + taintedOut;
          const edge = record(i, tainted, taintedOut, "carried");
          model.giveTainted(t, y, book.get(t), edge, false);
        }
      }
    }
    if (zero[t] !== 1) book.deposit(t);
  }
  while (nextBalanceSeed < balanceSeeds.length) applyBalanceSeed();

  // The result.
  const edges: TaintedEdge[] = edgeAt.map((position, e) => {
    const tr = at(position);
    return {
      ...(tr.chainId === undefined ? {} : { chainId: tr.chainId }),
      txHash: tr.txHash,
      blockNumber: tr.blockNumber,
      txIndex: tr.txIndex,
      ordinal: tr.ordinal,
      time: tr.time,
      from: tr.from,
      to: tr.to,
      token: tr.token,
      amount: tr.amount,
      tainted: edgeTaint[e] as bigint,
      fate: edgeFate[e] as EdgeFate,
      ...(every && tr.out !== undefined
        ? { out: { ...tr.out, tainted: edgeTaintOut[e] as bigint } }
        : {}),
    };
  });
  const origins = [...balanceSeeds].sort((a, b) => a.index - b.index).map((b) => b.address);

  const holdings: Holding[] = [];
  for (const id of model.candidates()) {
    if (exitCode[id] === 2) continue;
    const { amount, value, components } = model.holding(id, book.get(id));
    if (amount === 0n && value === 0n) continue;
    holdings.push({
      address: addressOf(id),
      token: assetOf(id),
      amount,
      value,
      hops: hops[id] as number,
      received: received[id] as bigint,
      ...pathsOf(forest, components, edges, origins),
    });
  }
  holdings.sort(byAmountThenAddress);

  const exitList: Exit[] = [];
  for (const account of exits.values()) {
    if (account.amount === 0n && account.value === 0n) continue;
    exitList.push({
      address: addressOf(account.address),
      token: assetOf(account.address),
      kind: account.kind,
      ...(account.label === undefined ? {} : { label: account.label }),
      amount: account.amount,
      value: account.value,
      hops: account.hops,
      ...pathsOf(forest, account.parts, edges, origins),
      ...account.deposit,
    });
  }
  exitList.sort(byAmountThenAddress);

  let total = beyondHopLimit + belowMinimum;
  for (const h of holdings) total += h.value;
  for (const e of exitList) total += e.value;

  const warnings: TraceWarning[] = [];
  for (const [id, o] of overdrafts) {
    const tr = at(o.first);
    const address = addressOf(id);
    const what = every ? ` of ${assetOf(id)}` : "";
    warnings.push({
      code: "incomplete-history",
      message:
        `${address} sent ${o.amount}${what} more than its known balance in ${o.count} transfer(s), ` +
        `first in ${tr.txHash} (block ${tr.blockNumber}): its history before the given transfers ` +
        `is incomplete; the excess was treated as clean funds it held before` +
        (o.heldTaint ? " (it held taint then, so the taint split there is an estimate)" : ""),
      address,
      ...(every ? { token: assetOf(id) } : {}),
      txHash: tr.txHash,
      blockNumber: tr.blockNumber,
      amount: o.amount,
      count: o.count,
      heldTaint: o.heldTaint,
    });
  }
  if (seedAmount === 0n) {
    const only = s.seeds.length === 1 ? (s.seeds[0] as Seed) : undefined;
    warnings.push({
      code: "empty-seed",
      message:
        only === undefined
          ? `the ${s.seeds.length} seeds created no taint: they delivered or held nothing of token ${seedAsset}`
          : only.kind === "tx"
            ? `seed ${formatSeed(only)} created no taint: it delivered nothing of token ${seedAsset} to an address that can hold it`
            : `seed ${formatSeed(only)} created no taint: the address held none of token ${seedAsset} at the end of that block`,
    });
  }
  if (forest.exhausted)
    warnings.push({
      code: "provenance-budget",
      message: `provenance kept for the first ${forest.size} path steps only; later taint is counted but not explained by a path`,
    });
  warnings.sort((a, b) => {
    const x = a.address ?? "";
    const y = b.address ?? "";
    return x < y ? -1 : x > y ? 1 : a.code < b.code ? -1 : a.code > b.code ? 1 : 0;
  });

  return {
    model: options.model,
    token: s.token,
    seedAsset,
    seed: s.seeds[0] as Seed,
    seeds: s.seeds,
    seedAmount,
    seedTime,
    holdings,
    exits: exitList,
    beyondHopLimit,
    belowMinimum,
    total,
    edges,
    warnings,
    stats: {
      transfers: log.length,
      conversions: log.conversions,
      processed,
      addresses: size,
      taintedEdges: edges.length,
      pathNodes: forest.size,
    },
  };
}
