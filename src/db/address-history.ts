import type { RawLog } from "../chain/rpc.js";
import type { Database, Sql } from "./db.js";
import { columns, insertRows } from "./rows.js";
import {
  sharer,
  TRANSFER_COLUMNS,
  TRANSFER_SELECT,
  transferOfRow,
  transferValues,
  type TransferRow,
} from "./streams.js";

/**
 * The transfer histories a lazy trace read address by address (analytics/funds/lazy.ts), kept
 * for the next trace: the transfers, which block ranges of which address's history they hold in
 * full, and the balances read from the node. A scope is one asset of one chain (a stream id:
 * `erc20:1:0x…`, `native:1:native`), or every ERC-20 token of a chain (`erc20:1:*`, what a lazy
 * trace of every asset reads; a trace of one token reuses it). Only finalized blocks are written
 * here: what is above the finality depth is read again by every trace, so a reorganization can't
 * leave a stale row.
 */

/** The token of a scope of every ERC-20 token (its rows keep their own tokens). */
export const EVERY_TOKEN = "*";

/** A block range, both ends included. */
export interface BlockRange {
  from: number;
  to: number;
}

const RANGE_COLUMNS = columns(`address text, from_block bigint, to_block bigint`);
const RECEIPT_COLUMNS = columns(`tx_hash text, block_number bigint, logs jsonb`);
const BALANCE_COLUMNS = columns(`address text, block_number bigint, balance numeric`);

/** `$n` as a set of strings in SQL (a JSON array parameter: one parameter, any length). */
const among = (n: number) => `(SELECT jsonb_array_elements_text($${n}::jsonb))`;

/** The parts of `want` that `held` (sorted, disjoint) does not cover. */
export function uncovered(want: BlockRange, held: readonly BlockRange[]): BlockRange[] {
  const gaps: BlockRange[] = [];
  let next = want.from;
  for (const r of held) {
    if (r.to < next) continue;
    if (r.from > want.to) break;
    if (r.from > next) gaps.push({ from: next, to: r.from - 1 });
    next = Math.max(next, r.to + 1);
    if (next > want.to) break;
  }
  if (next <= want.to) gaps.push({ from: next, to: want.to });
  return gaps;
}

export class AddressHistory {
  /** The scopes whose held ranges count: this one, and the wider one of every token if given. */
  private readonly scopes: readonly string[];

  constructor(
    private readonly db: Database,
    readonly scope: string,
    /** The token the scope's transfers are of (a lower-case address, "native" or {@link EVERY_TOKEN}). */
    readonly token: string,
    /**
     * For one ERC-20 token: the chain's scope of every token, whose histories hold this token's
     * transfers too (read, never written, through this object).
     */
    private readonly wider?: string,
  ) {
    this.scopes = wider === undefined ? [scope] : [scope, wider];
  }

  /** For each address, the parts of `want` whose transfers are not held. */
  async gaps(addresses: readonly string[], want: BlockRange): Promise<Map<string, BlockRange[]>> {
    const held = new Map<string, BlockRange[]>();
    const rows = await this.db.query<{
      address: string;
      from_block: string | number;
      to_block: string | number;
    }>(
      `SELECT address, from_block, to_block FROM address_ranges
        WHERE scope IN ${among(1)} AND address IN ${among(2)} AND from_block <= $4 AND to_block >= $3
        ORDER BY address, from_block`,
      [JSON.stringify(this.scopes), JSON.stringify(addresses), want.from, want.to],
    );
    for (const r of rows) {
      const list = held.get(r.address) ?? [];
      list.push({ from: Number(r.from_block), to: Number(r.to_block) });
      held.set(r.address, list);
    }
    const out = new Map<string, BlockRange[]>();
    for (const a of addresses) out.set(a, uncovered(want, held.get(a) ?? []));
    return out;
  }

  /**
   * Stores transfers read for `addresses` and records that their histories over `range` are held
   * in full, in one transaction (ranges that touch are merged into one).
   */
  async write(
    rows: readonly TransferRow[],
    addresses: readonly string[],
    range: BlockRange,
  ): Promise<void> {
    await this.db.transaction(async (tx) => {
      await this.insert(tx, rows);
      await this.cover(tx, addresses, range);
    });
  }

  /** Stores transfers that are no address's whole history (a transaction read whole). */
  async keep(rows: readonly TransferRow[]): Promise<void> {
    await this.insert(this.db, rows);
  }

  private async insert(tx: Sql, rows: readonly TransferRow[]): Promise<void> {
    await insertRows(tx, {
      table: "address_transfers",
      fixed: [{ name: "scope", value: this.scope }],
      columns: TRANSFER_COLUMNS,
      rows,
      values: transferValues,
      onConflict: { key: ["scope", "block_number", "ordinal"], update: [] },
    });
  }

  private async cover(tx: Sql, addresses: readonly string[], range: BlockRange): Promise<void> {
    if (addresses.length === 0) return;
    const where = `scope = $1 AND address IN ${among(2)} AND from_block <= $4 AND to_block >= $3`;
    const params = [this.scope, JSON.stringify(addresses), range.from - 1, range.to + 1];
    const touching = await tx.query<{
      address: string;
      from_block: string | number;
      to_block: string | number;
    }>(`SELECT address, from_block, to_block FROM address_ranges WHERE ${where}`, params);
    await tx.query(`DELETE FROM address_ranges WHERE ${where}`, params);
    const merged = new Map(addresses.map((a) => [a, { ...range }]));
    for (const r of touching) {
      const m = merged.get(r.address);
      if (m === undefined) continue;
      m.from = Math.min(m.from, Number(r.from_block));
      m.to = Math.max(m.to, Number(r.to_block));
    }
    await insertRows(tx, {
      table: "address_ranges",
      fixed: [{ name: "scope", value: this.scope }],
      columns: RANGE_COLUMNS,
      rows: [...merged],
      values: ([address, r]) => [address, r.from, r.to],
    });
  }

  /** The held transfers from or to any of `addresses` within `range`, in chain order. */
  async load(addresses: readonly string[], range: BlockRange): Promise<TransferRow[]> {
    if (addresses.length === 0) return [];
    // A transfer of this token may be held in this scope and in the wider one: once.
    const scoped =
      this.wider === undefined ? "scope = $1" : "(scope = $1 OR (scope = $5 AND token = $6))";
    return this.rows(
      `SELECT DISTINCT ON (block_number, ordinal) ${this.columns()} FROM address_transfers
        WHERE ${scoped} AND block_number BETWEEN $3 AND $4
          AND (from_address IN ${among(2)} OR to_address IN ${among(2)})
        ORDER BY block_number, ordinal`,
      [
        this.scope,
        JSON.stringify(addresses),
        range.from,
        range.to,
        ...(this.wider === undefined ? [] : [this.wider, this.token]),
      ],
    );
  }

  /** The held transfers of the transactions `hashes` (those {@link keep} stored), in chain order. */
  async transactions(hashes: readonly string[]): Promise<TransferRow[]> {
    if (hashes.length === 0) return [];
    return this.rows(
      `SELECT ${this.columns()} FROM address_transfers
        WHERE scope = $1 AND tx_hash IN ${among(2)} ORDER BY block_number, ordinal`,
      [this.scope, JSON.stringify(hashes)],
    );
  }

  /** The selected columns: with every token, each row's own token too. */
  private columns(): string {
    return this.token === EVERY_TOKEN ? `${TRANSFER_SELECT}, token` : TRANSFER_SELECT;
  }

  private async rows(sql: string, params: unknown[]): Promise<TransferRow[]> {
    const rows = await this.db.query<Record<string, string | number>>(sql, params);
    const share = sharer();
    return rows.map((r) =>
      transferOfRow(r, this.token === EVERY_TOKEN ? share(String(r["token"])) : this.token, share),
    );
  }

  /** The balances held for `addresses` at the end of `block`. */
  async balances(addresses: readonly string[], block: number): Promise<Map<string, bigint>> {
    const rows = await this.db.query<{ address: string; balance: string }>(
      `SELECT address, balance::text AS balance FROM address_balances
        WHERE scope = $1 AND address IN ${among(2)} AND block_number = $3`,
      [this.scope, JSON.stringify(addresses), block],
    );
    return new Map(rows.map((r) => [r.address, BigInt(r.balance)]));
  }

  async writeBalances(balances: ReadonlyMap<string, bigint>, block: number): Promise<void> {
    await insertRows(this.db, {
      table: "address_balances",
      fixed: [{ name: "scope", value: this.scope }],
      columns: BALANCE_COLUMNS,
      rows: [...balances],
      values: ([address, balance]) => [address, block, balance.toString()],
      onConflict: { key: ["scope", "address", "block_number"], update: [] },
    });
  }
}

/**
 * The whole transactions a lazy trace of every asset read, of one chain (finalized blocks only):
 * the logs of each that has a conversion's or a bridge's event, null for the others. The transfers
 * of a transaction with logs are kept by {@link AddressHistory.keep}.
 */
export class ReceiptLogs {
  constructor(
    private readonly db: Database,
    readonly chainId: number,
  ) {}

  /** What is held of `hashes`: each one's logs, or null (nothing of interest); absent: not read. */
  async held(hashes: readonly string[]): Promise<Map<string, RawLog[] | null>> {
    const out = new Map<string, RawLog[] | null>();
    if (hashes.length === 0) return out;
    const rows = await this.db.query<{ tx_hash: string; logs: RawLog[] | string | null }>(
      `SELECT tx_hash, logs FROM address_receipts WHERE chain_id = $1 AND tx_hash IN ${among(2)}`,
      [this.chainId, JSON.stringify(hashes)],
    );
    for (const r of rows)
      out.set(r.tx_hash, typeof r.logs === "string" ? (JSON.parse(r.logs) as RawLog[]) : r.logs);
    return out;
  }

  async write(
    receipts: readonly { txHash: string; blockNumber: number; logs: readonly RawLog[] | null }[],
  ): Promise<void> {
    await insertRows(this.db, {
      table: "address_receipts",
      fixed: [{ name: "chain_id", value: this.chainId }],
      columns: RECEIPT_COLUMNS,
      rows: receipts,
      values: (r) => [r.txHash, r.blockNumber, r.logs],
      onConflict: { key: ["chain_id", "tx_hash"], update: [] },
    });
  }
}
