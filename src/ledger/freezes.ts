import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import {
  compareFreezeLists,
  freezeRequestRoot,
  parseFreezeList,
  verifyRequestList,
  verifyResultList,
  type FreezeFlag,
  type FreezeList,
  type FreezeOnChain,
  type FreezeRequestList,
  type FreezeResultList,
} from "../client/freezes.js";
import { inputName, isStdin, readInputText } from "../shared/input.js";
import {
  InvalidInputError,
  NotFoundError,
  TracerError,
  VerificationFailedError,
  VeritraceError,
} from "../shared/errors.js";
import type { Sql } from "../db/db.js";

/** What the chain holds of one freeze request: counts, roots, status, parties, times. */
export interface FreezeSummary {
  freezeId: string;
  caseId: string;
  exchange: number;
  requester: number;
  itemCount: number;
  listRoot: string;
  traceCommitment: string;
  status: "requested" | "executed" | "rejected" | "acknowledged";
  /** The exchange's result root; null until it executed. */
  resultRoot: string | null;
  evidenceCommitment: string | null;
  /** Why the exchange rejected; null unless rejected. */
  reasonCode: number | null;
  requestedAt: number;
  requestedBlock: number;
  requestTx: string;
  answeredAt: number | null;
  answerTx: string | null;
  acknowledgedAt: number | null;
  acknowledgeTx: string | null;
  /** Which off-chain lists were given and verified against the roots above. */
  lists: { request: boolean; result: boolean };
}

/** One account of a freeze request, from the verified lists: what was asked and what was frozen. */
export interface FreezeLine {
  freezeId: string;
  caseId: string;
  exchange: number;
  chainId: string;
  token: string;
  account: string;
  /** Null when the request did not name the account (flagged not-requested). */
  requested: string | null;
  /** Null until an answer's result list is given (or when rejected, or the account is missing). */
  frozen: string | null;
  status: FreezeSummary["status"];
  /** Empty when all is in order. */
  flags: FreezeFlag[];
}

/** Totals of one case, chain and token, from the verified lists. */
export interface FreezeTotal {
  caseId: string;
  chainId: string;
  token: string;
  requested: string;
  frozen: string;
  pending: string;
  rejected: string;
  /** Requested amount of answered items whose result list was not given: frozen unknown. */
  unknown: string;
}

/** The freeze report: the chain's record of every request, and per account what lists tell. */
export interface FreezeReport {
  freezes: FreezeSummary[];
  lines: FreezeLine[];
  totals: FreezeTotal[];
}

/** A freeze list and where it came from (named in refusals). */
export interface SourcedFreezeList {
  source: string;
  list: FreezeList;
}

interface Row {
  block_number: string | number;
  block_time: string | number;
  tx_hash: string;
  event: string;
  case_id: string;
  args: Record<string, unknown>;
}

/**
 * The freeze lists of `--lists`: every `*.json` file of a directory, or one file (stdin for `-`)
 * holding a list or a JSON array of lists (as `jq -s . DIR/*.json` makes one). Refuses the first
 * that is not a freeze list, naming it (`FILE list N` in an array).
 */
export function readFreezeLists(where: string): SourcedFreezeList[] {
  if (isStdin(where) || !isDirectory(where)) return readListFile(where);
  let names: string[];
  try {
    names = readdirSync(where).filter((n) => n.endsWith(".json"));
  } catch (error) {
    throw new NotFoundError(`--lists ${where}: ${(error as Error).message}`);
  }
  return names.sort().map((name) => {
    const source = path.join(where, name);
    return sourced(source, () => readFileSync(source, "utf8"));
  });
}

function isDirectory(file: string): boolean {
  try {
    return statSync(file).isDirectory();
  } catch {
    return false;
  }
}

/** One file of freeze lists: a list, or an array of them. */
function readListFile(file: string): SourcedFreezeList[] {
  const name = inputName(file);
  let text: string;
  try {
    text = readInputText(file);
  } catch (error) {
    throw new NotFoundError(`--lists ${name}: ${(error as Error).message}`);
  }
  let parsed: unknown = null;
  try {
    parsed = JSON.parse(text);
  } catch {
    // parseFreezeList says what is wrong with it.
  }
  if (!Array.isArray(parsed)) return [sourced(name, () => text)];
  return parsed.map((item, i) => sourced(`${name} list ${i + 1}`, () => JSON.stringify(item)));
}

/** A freeze list, its text from `read`; a failure names `source`. */
function sourced(source: string, read: () => string): SourcedFreezeList {
  try {
    return { source, list: parseFreezeList(read()) };
  } catch (error) {
    throw new InvalidInputError(`${source}: not a freeze list: ${(error as Error).message}`);
  }
}

/** The freezes as the indexed events tell them, in request order. */
async function summaries(db: Sql): Promise<Map<string, FreezeSummary>> {
  const rows = await db.query<Row>(
    `SELECT block_number, block_time, tx_hash, event, case_id::text AS case_id, args FROM events
      WHERE event IN ('FreezeRequested', 'FreezeExecuted', 'FreezeRejected', 'FreezeAcknowledged')
      ORDER BY block_number, log_index`,
  );
  const out = new Map<string, FreezeSummary>();
  for (const r of rows) {
    const a = r.args;
    const freezeId = String(a["freezeId"]);
    if (r.event === "FreezeRequested") {
      out.set(freezeId, {
        freezeId,
        caseId: r.case_id,
        exchange: Number(a["exchange"]),
        requester: Number(a["requester"]),
        itemCount: Number(a["itemCount"]),
        listRoot: String(a["listRoot"]),
        traceCommitment: String(a["traceCommitment"]),
        status: "requested",
        resultRoot: null,
        evidenceCommitment: null,
        reasonCode: null,
        requestedAt: Number(r.block_time),
        requestedBlock: Number(r.block_number),
        requestTx: r.tx_hash,
        answeredAt: null,
        answerTx: null,
        acknowledgedAt: null,
        acknowledgeTx: null,
        lists: { request: false, result: false },
      });
      continue;
    }
    const f = out.get(freezeId);
    if (f === undefined) continue;
    if (r.event === "FreezeAcknowledged") {
      f.status = "acknowledged";
      f.acknowledgedAt = Number(r.block_time);
      f.acknowledgeTx = r.tx_hash;
      continue;
    }
    f.answeredAt = Number(r.block_time);
    f.answerTx = r.tx_hash;
    if (r.event === "FreezeExecuted") {
      f.status = "executed";
      f.resultRoot = String(a["resultRoot"]);
      f.evidenceCommitment = String(a["evidenceCommitment"]);
    } else {
      f.status = "rejected";
      f.reasonCode = Number(a["reasonCode"]);
    }
  }
  return out;
}

const onChain = (f: FreezeSummary): FreezeOnChain => ({
  freezeId: BigInt(f.freezeId),
  caseId: BigInt(f.caseId),
  exchange: f.exchange,
  itemCount: f.itemCount,
  listRoot: f.listRoot,
  resultRoot: f.resultRoot,
});

/**
 * Checks each list against the roots on chain; refuses (naming the file) a list of an unknown
 * freeze or one whose items do not give the root recorded. Returns the lists by freeze.
 */
function verifyLists(
  freezes: Map<string, FreezeSummary>,
  lists: readonly SourcedFreezeList[],
): Map<string, { request?: FreezeRequestList; result?: FreezeResultList }> {
  const out = new Map<string, { request?: FreezeRequestList; result?: FreezeResultList }>();
  for (const { source, list } of lists) {
    if (list.freezeId === null) {
      throw new InvalidInputError(`${source}: the list has no freezeId (it was never requested)`);
    }
    const id = list.freezeId.toString();
    const f = freezes.get(id);
    if (f === undefined) throw new NotFoundError(`${source}: freeze ${id} is not in the store`);
    try {
      if (list.kind === "request") verifyRequestList(list, onChain(f));
      else verifyResultList(list, onChain(f));
    } catch (error) {
      throw new TracerError(`${source}: ${(error as Error).message}`, {
        kind: error instanceof VeritraceError ? error.kind : "verification-failed",
      });
    }
    const entry = out.get(id) ?? {};
    if (list.kind === "request") entry.request = list;
    else entry.result = list;
    out.set(id, entry);
  }
  // A result list without its request list: the request is known only if the result's
  // (account, requested) pairs give the request's root under the same key.
  for (const [id, entry] of out) {
    if (entry.request !== undefined || entry.result === undefined) continue;
    const result = entry.result;
    const f = freezes.get(id) as FreezeSummary;
    const items = result.items.map((i) => ({
      chainId: i.chainId,
      token: i.token,
      account: i.account,
      amount: i.requested,
    }));
    if (freezeRequestRoot(result.key, items) !== f.listRoot.toLowerCase()) {
      throw new VerificationFailedError(
        `freeze ${id}: the result list does not state the request as requested; give the request list too`,
      );
    }
    entry.request = {
      version: result.version,
      kind: "request",
      freezeId: result.freezeId,
      caseId: result.caseId,
      exchange: result.exchange,
      nonce: `0x${"0".repeat(64)}`,
      key: result.key,
      items,
      root: f.listRoot.toLowerCase() as FreezeRequestList["root"],
    };
  }
  return out;
}

/**
 * Freeze requests and their answers. Without lists: what the chain holds (counts, roots,
 * statuses, parties, times). With the off-chain lists (each checked against the roots on chain,
 * a mismatch refused): per account the amount requested and frozen, flagging any item frozen
 * above the amount requested and any account the request did not name; with totals per case,
 * chain and token. Amounts are exact decimal strings in base units.
 */
export async function freezeReport(
  db: Sql,
  options: { caseId?: string; lists?: readonly SourcedFreezeList[] } = {},
): Promise<FreezeReport> {
  const all = await summaries(db);
  const verified = verifyLists(all, options.lists ?? []);
  const freezes = [...all.values()].filter(
    (f) => options.caseId === undefined || f.caseId === options.caseId,
  );
  const lines: FreezeLine[] = [];
  for (const f of freezes) {
    const given = verified.get(f.freezeId);
    f.lists = { request: given?.request !== undefined, result: given?.result !== undefined };
    if (given?.request === undefined) continue;
    const base = { freezeId: f.freezeId, caseId: f.caseId, exchange: f.exchange, status: f.status };
    const compared =
      given.result !== undefined
        ? compareFreezeLists(given.request.items, given.result.items)
        : given.request.items.map((i) => ({ ...i, requested: i.amount, frozen: null, flags: [] }));
    for (const c of compared) {
      lines.push({
        ...base,
        chainId: c.chainId.toString(),
        token: c.token,
        account: c.account,
        requested: c.requested?.toString() ?? null,
        frozen: c.frozen?.toString() ?? null,
        flags: c.flags,
      });
    }
  }
  return { freezes, lines, totals: totalsOf(lines) };
}

function totalsOf(lines: readonly FreezeLine[]): FreezeTotal[] {
  const totals = new Map<
    string,
    { caseId: string; chainId: string; token: string; sums: Record<string, bigint> }
  >();
  for (const l of lines) {
    const key = `${l.caseId}:${l.chainId}:${l.token}`;
    const t = totals.get(key) ?? {
      caseId: l.caseId,
      chainId: l.chainId,
      token: l.token,
      sums: { requested: 0n, frozen: 0n, pending: 0n, rejected: 0n, unknown: 0n },
    };
    const requested = BigInt(l.requested ?? "0");
    const s = t.sums as Record<"requested" | "frozen" | "pending" | "rejected" | "unknown", bigint>;
    s.requested += requested;
    if (l.status === "requested") s.pending += requested;
    else if (l.status === "rejected") s.rejected += requested;
    else if (l.frozen !== null) s.frozen += BigInt(l.frozen);
    else if (!l.flags.includes("missing-from-result")) s.unknown += requested;
    totals.set(key, t);
  }
  return [...totals.values()].map((t) => ({
    caseId: t.caseId,
    chainId: t.chainId,
    token: t.token,
    requested: String(t.sums["requested"]),
    frozen: String(t.sums["frozen"]),
    pending: String(t.sums["pending"]),
    rejected: String(t.sums["rejected"]),
    unknown: String(t.sums["unknown"]),
  }));
}
