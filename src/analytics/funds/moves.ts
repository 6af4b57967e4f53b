/**
 * Conversions as moves of a trace of every asset: the transfers into and out of a pool (or a
 * wrapper) that a conversion event explains are replaced by one move, from the account that paid
 * in to the account that was paid out, `amount` of one asset for `out.amount` of another. The pool
 * never holds what passes through it, so its reserves, its liquidity providers and later traders
 * are never tainted by a swap; a route through several pools in one transaction is one move with
 * a step per pool. A Uniswap V3 position is an asset of its own: the tokens paid in buy its
 * liquidity, its transfer moves it, liquidity removed is owed to the position's own account and
 * collected from there, principal first, the swap fees on top clean. Definitions and worked
 * examples: docs/taint-models.md, "Conversions" and "Uniswap V3 positions".
 */
import type { Conversion, SkippedLog } from "../conversions.js";
import {
  ZERO_ADDRESS,
  type ConversionAction,
  type ConversionStep,
  type Transfer,
} from "./types.js";

/** The native coin as Curve's pools name it among their coins. */
const CURVE_NATIVE = "0xeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee";
const asset = (token: string) => (token === CURVE_NATIVE ? "native" : token);

/** Where the ordinals of native movements sit among a transaction's log indices (see run.ts). */
export const NATIVE_ORDINAL = {
  /** The transaction's own value moves before any log. */
  value: -(2 ** 20),
  /** Internal transfers (calls with value) after the logs, in call order. */
  internal: 2 ** 20,
  /** The fee first: the sender pays for its gas before anything runs. */
  fee: -(2 ** 21),
} as const;

/**
 * A native movement placed among its transaction's logs by its kind ({@link NATIVE_ORDINAL}):
 * `t.ordinal` is its position among the transaction's native movements (or the block's).
 */
export function placeNative(t: Transfer, kind: string): Transfer {
  t.ordinal +=
    kind === "value"
      ? NATIVE_ORDINAL.value
      : kind === "fee"
        ? NATIVE_ORDINAL.fee
        : NATIVE_ORDINAL.internal;
  return t;
}

/** One conversion matched with the transfers it explains. */
interface Node {
  step: ConversionStep;
  /** The account that paid in: its address (the asset is `step.tokenIn`). */
  from: string;
  /** The account paid out. */
  to: string;
  /** The transfers consumed as its input and output (indices into the transaction's list). */
  input: number;
  output: number;
  blockNumber: number;
  txIndex: number;
  time: number;
  /** The conversion whose input is this one's output (a route), and whether one feeds this one. */
  next: Node | undefined;
  fed: boolean;
  /** The leg of a liquidity event: 0 for token0's (or the only one), 1 for token1's, and on. */
  leg: number;
}

export interface ConversionMoves {
  /** The transfers left, and a move per conversion (or route), in no particular order. */
  transfers: Transfer[];
  /** Conversions read as moves (a route's steps count one each). */
  converted: number;
  /** Conversion events whose transfers could not be found, and why (their transfers stay). */
  skipped: SkippedLog[];
}

const NONE = -1;

/**
 * The tokens owed to each Uniswap V3 position for liquidity it removed and has not collected yet
 * (its principal), by position and token: collected first, before its fees.
 */
type Owed = Map<string, bigint>;

/**
 * Replaces, in `transfers` (every asset, native ordinals placed by {@link NATIVE_ORDINAL}), the
 * transfers that `conversions` explain by conversion moves.
 */
export function conversionMoves(
  transfers: readonly Transfer[],
  conversions: readonly Conversion[],
): ConversionMoves {
  const byTx = new Map<string, Conversion[]>();
  // In chain order: what a position is owed carries from one transaction to the next.
  const ordered = [...conversions].sort(
    (a, b) => a.blockNumber - b.blockNumber || a.logIndex - b.logIndex,
  );
  for (const c of ordered) {
    const list = byTx.get(c.txHash);
    if (list === undefined) byTx.set(c.txHash, [c]);
    else list.push(c);
  }
  if (byTx.size === 0) return { transfers: [...transfers], converted: 0, skipped: [] };
  const ofTx = new Map<string, number[]>();
  transfers.forEach((t, i) => {
    if (!byTx.has(t.txHash)) return;
    const list = ofTx.get(t.txHash);
    if (list === undefined) ofTx.set(t.txHash, [i]);
    else list.push(i);
  });
  const dropped = new Uint8Array(transfers.length);
  const moves: Transfer[] = [];
  const skipped: SkippedLog[] = [];
  const owed: Owed = new Map();
  let converted = 0;
  for (const [txHash, list] of byTx) {
    const own = (ofTx.get(txHash) ?? []).sort(
      (a, b) => (transfers[a] as Transfer).ordinal - (transfers[b] as Transfer).ordinal,
    );
    const result = matchTransaction(
      own.map((i) => transfers[i] as Transfer),
      [...list].sort((a, b) => a.logIndex - b.logIndex),
      owed,
    );
    skipped.push(...result.skipped);
    moves.push(...result.plain);
    for (const k of result.consumed) dropped[own[k] as number] = 1;
    for (const node of result.nodes) {
      if (node.fed) continue;
      const steps: ConversionStep[] = [];
      let last = node;
      for (let n: Node | undefined = node; n !== undefined; n = n.next) {
        steps.push(n.step);
        last = n;
      }
      converted += steps.length;
      moves.push({
        blockNumber: node.blockNumber,
        txIndex: node.txIndex,
        // The legs of a liquidity event share its log index: token0's first, each after the last.
        ordinal: last.step.logIndex + 1 - 2 ** -last.leg,
        txHash,
        token: node.step.tokenIn,
        from: node.from,
        to: last.to,
        amount: node.step.amountIn,
        time: node.time,
        out: { token: last.step.tokenOut, amount: last.step.amountOut, steps },
      });
    }
  }
  const kept = transfers.filter((_, i) => dropped[i] === 0);
  return { transfers: kept.concat(moves), converted, skipped };
}

/**
 * The shares of `liquidity` that each token of a position's event stands for, token0's first:
 * half each (the larger half token0's), all of it for the only token when the other's amount is
 * zero (a range that lies on one side of the price holds one token).
 */
function shares(liquidity: bigint, amounts: readonly bigint[]): bigint[] {
  const paid = amounts.filter((x) => x > 0n).length;
  const half = liquidity / 2n;
  let k = 0;
  return amounts.map((x) =>
    x === 0n ? 0n : paid === 1 ? liquidity : k++ === 0 ? liquidity - half : half,
  );
}

/** `amount` in `n` equal shares, the first taking the remainder. */
function equalShares(amount: bigint, n: number): bigint[] {
  const each = amount / BigInt(n);
  return Array.from({ length: n }, (_, k) => (k === 0 ? amount - each * BigInt(n - 1) : each));
}

/** Matches the conversions of one transaction (log order) with its transfers (ordinal order). */
function matchTransaction(
  txs: readonly Transfer[],
  conversions: readonly Conversion[],
  owed: Owed,
): { nodes: Node[]; plain: Transfer[]; consumed: number[]; skipped: SkippedLog[] } {
  const asInput = new Uint8Array(txs.length);
  const asOutput = new Uint8Array(txs.length);
  const outputOf = new Map<number, Node>();
  const inputOf = new Map<number, Node>();
  const nodes: Node[] = [];
  /** Ordinary transfers a position's events make (its transfer, what it pays when collected). */
  const plain: Transfer[] = [];
  const skipped: SkippedLog[] = [];
  const first = txs[0];
  if (first === undefined) {
    // Nothing of the transaction moved value that was read: no time, no transfer to explain.
    for (const c of conversions)
      skipped.push({
        txHash: c.txHash,
        logIndex: c.logIndex,
        contract: c.contract,
        reason: "none of the transaction's transfers was read",
      });
    return { nodes: [], plain: [], consumed: [], skipped };
  }
  const { txIndex, time } = first;

  /**
   * The latest transfer before the event (any position for the native coin, whose internal
   * movements are placed after the logs) matching `test`, not yet used on that side.
   */
  const find = (side: Uint8Array, logIndex: number, test: (t: Transfer) => boolean): number => {
    for (let k = txs.length - 1; k >= 0; k--) {
      const t = txs[k] as Transfer;
      if (side[k] === 1 || (t.token !== "native" && t.ordinal > logIndex)) continue;
      if (test(t)) return k;
    }
    return NONE;
  };
  const skip = (c: Conversion, reason: string) =>
    skipped.push({ txHash: c.txHash, logIndex: c.logIndex, contract: c.contract, reason });
  const node = (c: Conversion, from: string, to: string, input: number, output: number): Node => {
    const n: Node = {
      step: {
        venue: c.venue,
        // Only liquidity added or removed is a step of a position's events.
        action: c.action as ConversionAction,
        contract: c.contract,
        logIndex: c.logIndex,
        tokenIn: asset(c.tokenIn),
        amountIn: c.amountIn,
        tokenOut: asset(c.tokenOut),
        amountOut: c.amountOut,
        ...(c.pool === undefined ? {} : { pool: c.pool }),
      },
      from,
      to,
      input,
      output,
      blockNumber: c.blockNumber,
      txIndex,
      time,
      next: undefined,
      fed: false,
      leg: 0,
    };
    if (input !== NONE) {
      asInput[input] = 1;
      inputOf.set(input, n);
      const feeding = outputOf.get(input);
      if (feeding !== undefined && feeding.next === undefined) {
        feeding.next = n;
        n.fed = true;
      }
    }
    if (output !== NONE) {
      asOutput[output] = 1;
      outputOf.set(output, n);
      // A conversion matched after the one it pays (the Vault's, settled after its call's events).
      const fed = inputOf.get(output);
      if (fed !== undefined && !fed.fed) {
        n.next = fed;
        fed.fed = true;
      }
    }
    nodes.push(n);
    return n;
  };

  const vaultSwaps: Conversion[] = [];
  for (let i = 0; i < conversions.length; i++) {
    const c = conversions[i] as Conversion;
    const tokenIn = asset(c.tokenIn);
    const tokenOut = asset(c.tokenOut);
    const pool = c.contract;
    switch (c.action) {
      case "wrap": {
        // WETH9 emits no Transfer for a deposit; a clone may mint one.
        const dst = c.recipient ?? ZERO_ADDRESS;
        const input = find(
          asInput,
          c.logIndex,
          (t) => t.token === "native" && t.to === pool && t.amount === c.amountIn,
        );
        const output = find(
          asOutput,
          c.logIndex,
          (t) =>
            t.token === pool && t.from === ZERO_ADDRESS && t.to === dst && t.amount === c.amountOut,
        );
        node(c, input === NONE ? dst : (txs[input] as Transfer).from, dst, input, output);
        break;
      }
      case "unwrap": {
        const src = c.recipient ?? ZERO_ADDRESS;
        const input = find(
          asInput,
          c.logIndex,
          (t) =>
            t.token === pool && t.from === src && t.to === ZERO_ADDRESS && t.amount === c.amountIn,
        );
        const output = find(
          asOutput,
          c.logIndex,
          (t) => t.token === "native" && t.from === pool && t.amount === c.amountOut,
        );
        node(c, src, output === NONE ? src : (txs[output] as Transfer).to, input, output);
        break;
      }
      case "swap": {
        if (c.venue === "balancer-v2") {
          vaultSwaps.push(c);
          break;
        }
        const input = find(
          asInput,
          c.logIndex,
          (t) => t.token === tokenIn && t.to === pool && t.amount === c.amountIn,
        );
        const output = find(
          asOutput,
          c.logIndex,
          (t) =>
            t.token === tokenOut &&
            t.from === pool &&
            t.amount === c.amountOut &&
            (c.recipient === null || t.to === c.recipient),
        );
        if (input === NONE || output === NONE) {
          skip(
            c,
            input === NONE
              ? `no transfer of ${c.amountIn} ${tokenIn} into the pool matches the swap's input`
              : `no transfer of ${c.amountOut} ${tokenOut} out of the pool matches the swap's output`,
          );
          break;
        }
        node(c, (txs[input] as Transfer).from, (txs[output] as Transfer).to, input, output);
        break;
      }
      case "add-liquidity":
      case "remove-liquidity":
      case "collect": {
        if (c.venue === "balancer-v2") {
          // One record per token whose balance the Vault changed.
          const legs = [c];
          for (let next = conversions[i + 1]; ; next = conversions[i + 1]) {
            if (next?.logIndex !== c.logIndex || next.action !== c.action) break;
            legs.push(next);
            i++;
          }
          vaultLiquidity(legs);
          break;
        }
        // The pair of records one Mint or Burn gave (one per token of the pair).
        const other = conversions[i + 1];
        if (other === undefined || other.logIndex !== c.logIndex || other.action !== c.action) {
          skip(c, "a liquidity event read without its second token");
          break;
        }
        i++;
        if (c.action === "collect") collect(c, other);
        else if (c.position !== undefined) position(c, other);
        else liquidity(c, other);
        break;
      }
      case "position-transfer": {
        // The whole position changes hands: an ordinary transfer of it.
        const p = c.position;
        if (p !== undefined && c.recipient !== null)
          plain.push({
            blockNumber: c.blockNumber,
            txIndex,
            ordinal: c.logIndex,
            txHash: c.txHash,
            token: p.asset,
            from: p.owner,
            to: c.recipient,
            amount: p.liquidity,
            time,
          });
        break;
      }
    }
  }

  /**
   * Liquidity added to a Uniswap V3 position: the tokens paid into the pool buy its liquidity for
   * its owner, each its share. Removed: each share of the liquidity becomes the tokens owed to the
   * position, in the position's own account (the address {@link Conversion.position}'s asset).
   */
  function position(c0: Conversion, c1: Conversion): void {
    const p = c0.position as NonNullable<Conversion["position"]>;
    const pool = c0.contract;
    const add = c0.action === "add-liquidity";
    const amounts = add ? [c0.amountIn, c1.amountIn] : [c0.amountOut, c1.amountOut];
    const share = shares(p.liquidity, amounts);
    if (add) {
      const inputs = [c0, c1].map((c, i) =>
        (amounts[i] as bigint) === 0n
          ? NONE
          : find(
              asInput,
              c.logIndex,
              (t) => t.token === asset(c.tokenIn) && t.to === pool && t.amount === c.amountIn,
            ),
      );
      const missing = [c0, c1].find((c, i) => (amounts[i] as bigint) > 0n && inputs[i] === NONE);
      if (missing !== undefined) {
        skip(
          c0,
          `no transfer of ${missing.amountIn} ${asset(missing.tokenIn)} into the pool matches the liquidity added to ${p.asset}`,
        );
        return;
      }
      let leg = 0;
      [c0, c1].forEach((c, i) => {
        const k = inputs[i] as number;
        if (k === NONE) return;
        const n = node(
          { ...c, amountOut: share[i] as bigint },
          (txs[k] as Transfer).from,
          p.owner,
          k,
          NONE,
        );
        n.leg = leg++;
      });
      return;
    }
    if (share.every((x) => x === 0n)) {
      // Liquidity too small to be worth one unit of either token: burnt for nothing.
      plain.push({
        blockNumber: c0.blockNumber,
        txIndex,
        ordinal: c0.logIndex,
        txHash: c0.txHash,
        token: p.asset,
        from: p.owner,
        to: ZERO_ADDRESS,
        amount: p.liquidity,
        time,
      });
      return;
    }
    let leg = 0;
    [c0, c1].forEach((c, i) => {
      if ((amounts[i] as bigint) === 0n) return;
      const n = node({ ...c, amountIn: share[i] as bigint }, p.owner, p.asset, NONE, NONE);
      n.leg = leg++;
      const key = `${p.asset}/${asset(c.tokenOut)}`;
      owed.set(key, (owed.get(key) ?? 0n) + c.amountOut);
    });
  }

  /**
   * Tokens collected from a Uniswap V3 position: the pool's transfers to the recipient are paid,
   * first, from what the position is owed for liquidity it removed (its account, with the taint
   * that liquidity carried), the rest (the swap fees it earned) by the pool: clean.
   */
  function collect(c0: Conversion, c1: Conversion): void {
    const p = c0.position as NonNullable<Conversion["position"]>;
    const pool = c0.contract;
    const outputs = [c0, c1].map((c) =>
      c.amountOut === 0n
        ? NONE
        : find(
            asOutput,
            c.logIndex,
            (t) =>
              t.token === asset(c.tokenOut) &&
              t.from === pool &&
              t.to === c.recipient &&
              t.amount === c.amountOut,
          ),
    );
    const missing = [c0, c1].find((c, i) => c.amountOut > 0n && outputs[i] === NONE);
    if (missing !== undefined) {
      skip(
        c0,
        `no transfer of ${missing.amountOut} ${asset(missing.tokenOut)} out of the pool matches what ${p.asset} collected`,
      );
      return;
    }
    for (const k of outputs) {
      if (k === NONE) continue;
      const t = txs[k] as Transfer;
      asOutput[k] = 1;
      const key = `${p.asset}/${t.token}`;
      const principal = t.amount < (owed.get(key) ?? 0n) ? t.amount : (owed.get(key) ?? 0n);
      owed.set(key, (owed.get(key) ?? 0n) - principal);
      if (principal > 0n) plain.push({ ...t, from: p.asset, amount: principal });
      // The fees: the pool's own, paid as from no one.
      if (t.amount > principal)
        plain.push({
          ...t,
          from: ZERO_ADDRESS,
          amount: t.amount - principal,
          ordinal: t.ordinal + 0.5,
        });
    }
  }

  /**
   * Liquidity added: each token paid into the pair becomes half the liquidity minted (the two are
   * of equal value at the pair's price; the larger half goes to token0). Removed: half the
   * liquidity burnt becomes each token paid out.
   */
  function liquidity(c0: Conversion, c1: Conversion): void {
    const pair = c0.contract;
    const add = c0.action === "add-liquidity";
    if (add) {
      const minted = find(
        asOutput,
        c0.logIndex,
        (t) => t.token === pair && t.from === ZERO_ADDRESS && t.to !== ZERO_ADDRESS,
      );
      const in0 = find(
        asInput,
        c0.logIndex,
        (t) => t.token === c0.tokenIn && t.to === pair && t.amount === c0.amountIn,
      );
      const in1 = find(
        asInput,
        c0.logIndex,
        (t) => t.token === c1.tokenIn && t.to === pair && t.amount === c1.amountIn,
      );
      if (minted === NONE || in0 === NONE || in1 === NONE) {
        skip(
          c0,
          "liquidity added without the transfers in and the liquidity token minted that show it",
        );
        return;
      }
      const m = txs[minted] as Transfer;
      const half = m.amount / 2n;
      if (half === 0n) {
        skip(c0, "liquidity added for less than two units of the liquidity token");
        return;
      }
      node({ ...c0, amountOut: m.amount - half }, (txs[in0] as Transfer).from, m.to, in0, minted);
      node({ ...c1, amountOut: half }, (txs[in1] as Transfer).from, m.to, in1, NONE).leg = 1;
    } else {
      // The router sends the liquidity token to the pair, which burns it.
      const burnt = find(
        asInput,
        c0.logIndex,
        (t) => t.token === pair && t.from === pair && t.to === ZERO_ADDRESS,
      );
      const b = burnt === NONE ? undefined : (txs[burnt] as Transfer);
      const paid =
        b === undefined
          ? NONE
          : find(
              asInput,
              c0.logIndex,
              (t) => t.token === pair && t.to === pair && t.amount === b.amount,
            );
      const out0 = find(
        asOutput,
        c0.logIndex,
        (t) => t.token === c0.tokenOut && t.from === pair && t.amount === c0.amountOut,
      );
      const out1 = find(
        asOutput,
        c0.logIndex,
        (t) => t.token === c1.tokenOut && t.from === pair && t.amount === c1.amountOut,
      );
      if (b === undefined || paid === NONE || out0 === NONE || out1 === NONE) {
        skip(
          c0,
          "liquidity removed without the transfers of the liquidity token and out of the pair that show it",
        );
        return;
      }
      const half = b.amount / 2n;
      if (half === 0n) {
        skip(c0, "liquidity removed for less than two units of the liquidity token");
        return;
      }
      asInput[burnt] = 1;
      asOutput[burnt] = 1;
      const from = (txs[paid] as Transfer).from;
      node({ ...c0, amountIn: b.amount - half }, from, (txs[out0] as Transfer).to, paid, out0);
      node({ ...c1, amountIn: half }, from, (txs[out1] as Transfer).to, NONE, out1).leg = 1;
    }
  }

  /**
   * Liquidity added to or removed from a Balancer V2 pool (`PoolBalanceChanged`; the pool mints
   * its token, BPT, before the Vault pulls the tokens, and burns it from the provider before the
   * Vault pays them out). Added: each token paid into the Vault buys an equal share of the BPT
   * minted (the first the remainder). Removed: an equal share of the BPT burnt becomes each token
   * paid out. Ether paid in or out (wrapped by the Vault) and internal balances move no token the
   * trace reads: refused with the reason.
   */
  function vaultLiquidity(legs: readonly Conversion[]): void {
    const c0 = legs[0] as Conversion;
    const vault = c0.contract;
    const bpt = c0.pool as string;
    const add = c0.action === "add-liquidity";
    const unread = `(ether, which the Vault wraps, or an internal balance, is not read)`;
    if (add) {
      const minted = find(
        asOutput,
        c0.logIndex,
        (t) => t.token === bpt && t.from === ZERO_ADDRESS && t.to !== ZERO_ADDRESS,
      );
      const inputs = legs.map((c) =>
        find(
          asInput,
          c0.logIndex,
          (t) => t.token === asset(c.tokenIn) && t.to === vault && t.amount === c.amountIn,
        ),
      );
      if (minted === NONE || inputs.includes(NONE)) {
        skip(
          c0,
          `liquidity added to Balancer pool ${bpt} without the transfers into the Vault and the pool token minted that show it ${unread}`,
        );
        return;
      }
      const m = txs[minted] as Transfer;
      const share = equalShares(m.amount, legs.length);
      if (share.includes(0n)) {
        skip(c0, `liquidity added for less than one unit of the pool token per token paid`);
        return;
      }
      legs.forEach((c, k) => {
        const input = inputs[k] as number;
        node(
          { ...c, amountOut: share[k] as bigint },
          (txs[input] as Transfer).from,
          m.to,
          input,
          k === 0 ? minted : NONE,
        ).leg = k;
      });
      return;
    }
    const burnt = find(asInput, c0.logIndex, (t) => t.token === bpt && t.to === ZERO_ADDRESS);
    const outputs = legs.map((c) =>
      find(
        asOutput,
        c0.logIndex,
        (t) => t.token === asset(c.tokenOut) && t.from === vault && t.amount === c.amountOut,
      ),
    );
    if (burnt === NONE || outputs.includes(NONE)) {
      skip(
        c0,
        `liquidity removed from Balancer pool ${bpt} without the pool token burnt and the transfers out of the Vault that show it ${unread}`,
      );
      return;
    }
    const b = txs[burnt] as Transfer;
    const share = equalShares(b.amount, legs.length);
    if (share.includes(0n)) {
      skip(c0, `liquidity removed for less than one unit of the pool token per token paid`);
      return;
    }
    legs.forEach((c, k) => {
      const output = outputs[k] as number;
      node(
        { ...c, amountIn: share[k] as bigint },
        b.from,
        (txs[output] as Transfer).to,
        k === 0 ? burnt : NONE,
        output,
      ).leg = k;
    });
  }

  /**
   * The Balancer V2 Vault's swaps. The Vault emits a `Swap` per pool as it prices it, and only then
   * settles the call once, with its net amounts: the input pulled from the sender, the output sent
   * to the recipient (through WETH when either is the native coin: the Vault wraps what it is paid
   * and unwraps what it pays). A multi-hop batch swap moves no intermediate token at all. So the
   * swaps of one call (consecutive events of one Vault, nothing read between them) are chained
   * into routes, each swap paying the next (a batch "given out" lists its hops last first), and
   * each route is matched with the transfers after the call's last event. Internal balances
   * (`fromInternalBalance`, `toInternalBalance`) move no token and are not read.
   */
  function vault(swaps: readonly Conversion[]): void {
    const calls: Conversion[][] = [];
    for (const c of swaps) {
      const call = calls[calls.length - 1];
      const last = call?.[call.length - 1];
      if (call !== undefined && last?.contract === c.contract && quiet(last.logIndex, c.logIndex))
        call.push(c);
      else calls.push([c]);
    }
    for (const call of calls) {
      // What the Vault settles: per token, what it takes (positive) or pays (negative).
      const net = new Map<string, bigint>();
      for (const c of call) {
        net.set(c.tokenIn, (net.get(c.tokenIn) ?? 0n) + c.amountIn);
        net.set(c.tokenOut, (net.get(c.tokenOut) ?? 0n) - c.amountOut);
      }
      const routes: Conversion[][] = [];
      for (const c of call) {
        const route = routes[routes.length - 1];
        const head = route?.[0];
        const tail = route?.[route.length - 1];
        if (route !== undefined && c.tokenIn === tail?.tokenOut && c.amountIn === tail.amountOut)
          route.push(c);
        else if (
          route !== undefined &&
          c.tokenOut === head?.tokenIn &&
          c.amountOut === head.amountIn
        )
          route.unshift(c);
        else routes.push([c]);
      }
      const after = (call[call.length - 1] as Conversion).logIndex;
      for (const route of routes) settle(route, net, after);
    }
  }

  /** Whether no transfer and no other conversion of the transaction lies between two logs. */
  function quiet(from: number, to: number): boolean {
    return (
      !txs.some((t) => t.token !== "native" && t.ordinal > from && t.ordinal < to) &&
      !conversions.some((o) => o.logIndex > from && o.logIndex < to)
    );
  }

  /**
   * The earliest transfer after log `after` (the native coin's at any position) matching `test`,
   * not yet used on that side.
   */
  function findAfter(side: Uint8Array, after: number, test: (t: Transfer) => boolean): number {
    for (let k = 0; k < txs.length; k++) {
      const t = txs[k] as Transfer;
      if (side[k] === 1 || (t.token !== "native" && t.ordinal <= after)) continue;
      if (test(t)) return k;
    }
    return NONE;
  }

  /** One route of a Vault call, matched with the call's settlement (see {@link vault}). */
  function settle(route: readonly Conversion[], net: ReadonlyMap<string, bigint>, after: number) {
    const head = route[0] as Conversion;
    const tail = route[route.length - 1] as Conversion;
    const vault = head.contract;
    const refuse = (reason: string) => {
      for (const c of route) skip(c, reason);
    };
    if (
      head.tokenIn === tail.tokenOut ||
      net.get(head.tokenIn) !== head.amountIn ||
      net.get(tail.tokenOut) !== -tail.amountOut
    )
      return refuse(
        "a Balancer batch swap whose routes share a token: the Vault settles only their net amounts",
      );
    const input = findAfter(
      asInput,
      after,
      (t) => t.token === head.tokenIn && t.to === vault && t.amount === head.amountIn,
    );
    // The native coin paid in: the Vault wraps it (WETH9's Deposit, the Vault its recipient).
    const wrapped =
      input !== NONE
        ? undefined
        : nodes.find(
            (n) =>
              n.step.action === "wrap" &&
              n.step.contract === head.tokenIn &&
              n.to === vault &&
              n.step.amountOut === head.amountIn &&
              n.step.logIndex > after &&
              n.next === undefined,
          );
    const output = findAfter(
      asOutput,
      after,
      (t) => t.token === tail.tokenOut && t.from === vault && t.amount === tail.amountOut,
    );
    // The native coin paid out: the Vault unwraps WETH (its Withdrawal), then pays the recipient.
    const unwrapped =
      output !== NONE
        ? undefined
        : nodes.find(
            (n) =>
              n.step.action === "unwrap" &&
              n.step.contract === tail.tokenOut &&
              n.from === vault &&
              n.step.amountIn === tail.amountOut &&
              n.step.logIndex > after &&
              !n.fed,
          );
    const paid =
      unwrapped === undefined
        ? NONE
        : findAfter(
            asOutput,
            after,
            (t) => t.token === "native" && t.from === vault && t.amount === tail.amountOut,
          );
    if (input === NONE && wrapped === undefined)
      return refuse(
        `no transfer of ${head.amountIn} ${head.tokenIn} into the Vault settles the swap's input (an internal balance is not read)`,
      );
    if (output === NONE && paid === NONE)
      return refuse(
        `no transfer of ${tail.amountOut} ${tail.tokenOut} out of the Vault settles the swap's output (an internal balance is not read)`,
      );
    if (wrapped !== undefined)
      wrapped.from = payerOfWrap(vault, head.tokenIn, head.amountIn) ?? wrapped.from;
    const from = wrapped?.from ?? (txs[input] as Transfer).from;
    const to = paid !== NONE ? (txs[paid] as Transfer).to : (txs[output] as Transfer).to;
    let prev = wrapped;
    route.forEach((c, i) => {
      const n = node(
        c,
        i === 0 ? from : vault,
        i === route.length - 1 ? to : vault,
        i === 0 ? input : NONE,
        i === route.length - 1 ? output : NONE,
      );
      if (prev !== undefined) {
        prev.next = n;
        n.fed = true;
      }
      prev = n;
    });
    if (unwrapped !== undefined && prev !== undefined) {
      prev.next = unwrapped;
      unwrapped.fed = true;
      unwrapped.to = to;
      asOutput[paid] = 1;
    }
  }

  /**
   * Who paid the Vault the native coin it wrapped: the transaction's value to the Vault, exactly
   * `amount`, or more with the rest refunded to the payer (both consumed); null when neither shows.
   */
  function payerOfWrap(vault: string, wrapper: string, amount: bigint): string | null {
    const value = find(
      asInput,
      Number.POSITIVE_INFINITY,
      (t) => t.token === "native" && t.to === vault && t.from !== wrapper && t.amount >= amount,
    );
    if (value === NONE) return null;
    const v = txs[value] as Transfer;
    if (v.amount > amount) {
      const refund = findAfter(
        asOutput,
        Number.NEGATIVE_INFINITY,
        (t) =>
          t.token === "native" &&
          t.from === vault &&
          t.to === v.from &&
          t.amount === v.amount - amount,
      );
      if (refund === NONE) return null;
      asOutput[refund] = 1;
    }
    asInput[value] = 1;
    return v.from;
  }

  vault(vaultSwaps);

  const consumed: number[] = [];
  for (let k = 0; k < txs.length; k++) if (asInput[k] === 1 || asOutput[k] === 1) consumed.push(k);
  return { nodes, plain, consumed, skipped };
}
