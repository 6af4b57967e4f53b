/**
 * Fund-flow tracing: follows taint from a seed through transfers of one token, in chain order,
 * under one of three models (poison, haircut, FIFO), and explains every tainted amount with the
 * transfers that carried it. Pure and in memory. Definitions: docs/taint-models.md.
 */
import { InvalidInputError, NotFoundError } from "../../shared/errors.js";
import { BigBook, LIMB_BOOK_LIMIT, LimbBook, type BalanceBook } from "./balances.js";
import { exitDecision, type ExitDecision } from "./exits.js";
import { FifoModel } from "./fifo.js";
import { HaircutModel } from "./haircut.js";
import { prepareLog, ZERO_ID } from "./log.js";
import type { ModelContext, TaintModel } from "./model.js";
import { Components, NO_EDGE, PathForest, pathsOf, ROOT, addComponent } from "./paths.js";
import { PoisonModel } from "./poison.js";
import { lowercase, settingsOf } from "./options.js";
import { formatSeed } from "./seed.js";
import {
  type DepositExit,
  type EdgeFate,
  type Exit,
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

/** Traces taint from `options.seed` through `transfers` (any order; other tokens are ignored). */
export function trace(transfers: readonly Transfer[], options: TraceOptions): TraceResult {
  const s = settingsOf(options);
  const initial: [string, bigint][] = [];
  for (const [key, amount] of options.initialBalances ?? []) {
    if (typeof amount !== "bigint" || amount < 0n)
      throw new InvalidInputError(`initial balance of ${key} is not a non-negative bigint`);
    initial.push([lowercase(key), amount]);
  }
  const extra = initial.map(([address]) => address);
  if (s.seed.kind === "balance") extra.push(s.seed.address);
  if (s.feeSink !== undefined) extra.push(s.feeSink);
  const log = prepareLog(transfers, s.token, extra);
  const { all, order } = log;
  const at = (i: number) => all[order[i] as number] as Transfer;
  const size = log.addresses.length;
  const addressOf = (id: number) => log.addresses[id] as string;
  const idOf = (address: string) => log.ids.get(address) ?? -1;

  let initialSum = 0n;
  for (const [, amount] of initial) initialSum += amount;
  const book: BalanceBook =
    log.maxAmount * BigInt(log.length) + initialSum < LIMB_BOOK_LIMIT
      ? new LimbBook(size)
      : new BigBook(size);
  for (const [address, amount] of initial) book.set(idOf(address), amount);
  book.set(ZERO_ID, 0n);
  const hops = new Int32Array(size).fill(-1);
  const received = new Array<bigint>(size).fill(0n);
  const forest = new PathForest(s.maxPaths > 0);
  const model = modelOf(options.model, { forest, k: s.maxPaths, size });
  const feeSinkId = s.feeSink === undefined ? -1 : idOf(s.feeSink);

  // Exits, found lazily: only addresses that taint reaches are looked up.
  const exitCode = new Int8Array(size); // 0 unknown, 1 not an exit, 2 an exit
  const exits = new Map<number, ExitAccount>();
  const exitOf = (id: number): ExitAccount | undefined => {
    const code = exitCode[id];
    if (code === 1) return undefined;
    if (code === 2) return exits.get(id);
    let decision: ExitDecision | undefined;
    if (id === ZERO_ID) decision = { kind: "burn" };
    else if (id === feeSinkId) decision = { kind: "fee" };
    else {
      const address = addressOf(id);
      decision = exitDecision(s.labels?.(address), s.deposits?.get(address), s.exits);
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
  const edgeFate: EdgeFate[] = [];
  const record = (position: number, tainted: bigint, fate: EdgeFate): number => {
    edgeAt.push(position);
    edgeTaint.push(tainted);
    edgeFate.push(fate);
    return edgeAt.length - 1;
  };
  const reach = (id: number, h: number) => {
    const was = hops[id] as number;
    if (was < 0 || h < was) hops[id] = h;
  };

  // The seed.
  let seedStart = -1;
  let seedEnd = -2;
  let seedHash = "";
  let seedTime: number;
  let seedAmount = 0n;
  let pendingBalanceSeed = -1; // the seeded address id, until the seed is applied
  let seedBlock = Number.POSITIVE_INFINITY;
  if (s.seed.kind === "tx") {
    seedHash = s.seed.txHash;
    for (let i = 0; i < log.length; i++) {
      if (at(i).txHash !== seedHash) continue;
      if (seedStart < 0) seedStart = i;
      seedEnd = i;
    }
    if (seedStart >= 0) seedTime = at(seedStart).time;
    else {
      // Only transfers that change nothing (zero amount, self-transfer): an empty seed.
      const noop = transfers.find((t) => t.txHash === seedHash && t.token === s.token);
      if (noop === undefined)
        throw new NotFoundError(
          `seed transaction ${seedHash} has no transfer of token ${s.token} in the given transfers`,
        );
      seedTime = noop.time;
    }
  } else {
    pendingBalanceSeed = idOf(s.seed.address);
    seedBlock = s.seed.block;
    seedTime = balanceSeedTime(transfers, seedBlock);
  }
  const applyBalanceSeed = () => {
    const id = pendingBalanceSeed;
    pendingBalanceSeed = -1;
    const balance = book.get(id);
    seedAmount = balance;
    if (balance === 0n) return;
    const root = forest.add(NO_EDGE, ROOT);
    hops[id] = 0;
    const exit = exitOf(id);
    if (exit !== undefined) {
      exit.amount += balance;
      exit.hops = 0;
      addComponent(exit.parts, root, balance, s.maxPaths);
    } else {
      received[id] = balance;
      model.seedBalance(id, balance, root);
    }
  };

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
    if (pendingBalanceSeed >= 0 && tr.blockNumber > seedBlock) applyBalanceSeed();
    processed++;
    const f = log.from[i] as number;
    const t = log.to[i] as number;
    const x = tr.amount;

    book.load(x);
    let before = 0n; // the sender's balance before, when it holds taint
    if (f !== ZERO_ID) {
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

    if (
      i <= seedEnd &&
      i >= seedStart &&
      t !== ZERO_ID &&
      t !== feeSinkId &&
      tr.txHash === seedHash
    ) {
      // Seed transfer: all it delivers is taint; its clean part is new taint.
      seedAmount += x - tainted;
      reach(t, 0);
      const exit = exitOf(t);
      if (exit !== undefined) {
        exit.amount += x;
        exit.hops = 0;
        model.giveExit(exit.parts, record(i, x, "exit"), true);
      } else {
        received[t] = (received[t] as bigint) + x;
        model.giveTainted(t, x, book.get(t), record(i, x, "seed"), true);
      }
    } else if (tainted === 0n) {
      model.giveClean(t, x);
    } else {
      const h = (hops[f] as number) + 1;
      if (h > maxHops) {
        beyondHopLimit += tainted;
        record(i, tainted, "beyond-hop-limit");
        model.giveClean(t, x);
      } else if (tainted < minAmount) {
        belowMinimum += tainted;
        record(i, tainted, "below-minimum");
        model.giveClean(t, x);
      } else {
        const exit = exitOf(t);
        if (exit !== undefined) {
          exit.amount += tainted;
          if (exit.hops < 0 || h < exit.hops) exit.hops = h;
          model.giveExit(exit.parts, record(i, tainted, "exit"), false);
        } else {
          reach(t, h);
          received[t] = (received[t] as bigint) + tainted;
          model.giveTainted(t, x, book.get(t), record(i, tainted, "carried"), false);
        }
      }
    }
    if (t !== ZERO_ID) book.deposit(t);
  }
  if (pendingBalanceSeed >= 0) applyBalanceSeed();

  // The result.
  const edges: TaintedEdge[] = edgeAt.map((position, e) => {
    const tr = at(position);
    return {
      txHash: tr.txHash,
      blockNumber: tr.blockNumber,
      txIndex: tr.txIndex,
      ordinal: tr.ordinal,
      time: tr.time,
      from: tr.from,
      to: tr.to,
      amount: tr.amount,
      tainted: edgeTaint[e] as bigint,
      fate: edgeFate[e] as EdgeFate,
    };
  });
  const seedAddress = s.seed.kind === "balance" ? s.seed.address : "";

  const holdings: Holding[] = [];
  for (const id of model.candidates()) {
    if (exitCode[id] === 2) continue;
    const { amount, components } = model.holding(id, book.get(id));
    if (amount === 0n) continue;
    holdings.push({
      address: addressOf(id),
      amount,
      hops: hops[id] as number,
      received: received[id] as bigint,
      ...pathsOf(forest, components, edges, seedAddress),
    });
  }
  holdings.sort(byAmountThenAddress);

  const exitList: Exit[] = [];
  for (const account of exits.values()) {
    if (account.amount === 0n) continue;
    exitList.push({
      address: addressOf(account.address),
      kind: account.kind,
      ...(account.label === undefined ? {} : { label: account.label }),
      amount: account.amount,
      hops: account.hops,
      ...pathsOf(forest, account.parts, edges, seedAddress),
      ...account.deposit,
    });
  }
  exitList.sort(byAmountThenAddress);

  let total = beyondHopLimit + belowMinimum;
  for (const h of holdings) total += h.amount;
  for (const e of exitList) total += e.amount;

  const warnings: TraceWarning[] = [];
  for (const [id, o] of overdrafts) {
    const tr = at(o.first);
    const address = addressOf(id);
    warnings.push({
      code: "incomplete-history",
      message:
        `${address} sent ${o.amount} more than its known balance in ${o.count} transfer(s), ` +
        `first in ${tr.txHash} (block ${tr.blockNumber}): its history before the given transfers ` +
        `is incomplete; the excess was treated as clean funds it held before` +
        (o.heldTaint ? " (it held taint then, so the taint split there is an estimate)" : ""),
      address,
      txHash: tr.txHash,
      blockNumber: tr.blockNumber,
      amount: o.amount,
      count: o.count,
      heldTaint: o.heldTaint,
    });
  }
  if (seedAmount === 0n)
    warnings.push({
      code: "empty-seed",
      message:
        s.seed.kind === "tx"
          ? `seed ${formatSeed(s.seed)} created no taint: it delivered nothing of token ${s.token} to an address that can hold it`
          : `seed ${formatSeed(s.seed)} created no taint: the address held none of token ${s.token} at the end of that block`,
    });
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
    seed: s.seed,
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
      processed,
      addresses: size,
      taintedEdges: edges.length,
      pathNodes: forest.size,
    },
  };
}
