import type { Sql } from "../store/db.js";

/** One account of a freeze request: what was asked and what the exchange froze. */
export interface FreezeLine {
  freezeId: string;
  caseId: string;
  exchange: number;
  requester: number;
  chainId: number;
  token: string;
  account: string;
  requested: string;
  /** Null until the exchange answered (or when it rejected). */
  frozen: string | null;
  status: "requested" | "executed" | "rejected";
  requestedBlock: number;
  requestTx: string;
  answerTx: string | null;
}

/** Totals of one case and token. */
export interface FreezeTotal {
  caseId: string;
  chainId: number;
  token: string;
  requested: string;
  frozen: string;
  pending: string;
  rejected: string;
}

interface Row {
  block_number: string | number;
  tx_hash: string;
  event: string;
  case_id: string;
  args: Record<string, unknown>;
}

/**
 * Freeze requests and what the exchanges froze, from the indexed events, per account; with
 * totals per case and token (requested, frozen, still pending, rejected). Amounts are exact
 * decimal strings in base units.
 */
export async function freezeReport(
  db: Sql,
  caseId?: string,
): Promise<{ lines: FreezeLine[]; totals: FreezeTotal[] }> {
  const rows = await db.query<Row>(
    `SELECT block_number, tx_hash, event, case_id::text AS case_id, args FROM events
      WHERE event IN ('FreezeRequested', 'FreezeExecuted', 'FreezeRejected')
        AND ($1::numeric IS NULL OR case_id = $1::numeric)
      ORDER BY block_number, log_index`,
    [caseId ?? null],
  );
  const lines: FreezeLine[] = [];
  const byFreeze = new Map<string, FreezeLine[]>();
  for (const r of rows) {
    const a = r.args;
    const freezeId = String(a["freezeId"]);
    if (r.event === "FreezeRequested") {
      const items = a["items"] as { account: string; amount: string }[];
      const group = items.map((item) => ({
        freezeId,
        caseId: r.case_id,
        exchange: Number(a["exchange"]),
        requester: Number(a["requester"]),
        chainId: Number(a["chainId"]),
        token: String(a["token"]).toLowerCase(),
        account: item.account.toLowerCase(),
        requested: String(item.amount),
        frozen: null,
        status: "requested" as const,
        requestedBlock: Number(r.block_number),
        requestTx: r.tx_hash,
        answerTx: null,
      }));
      byFreeze.set(freezeId, group);
      lines.push(...group);
    } else {
      const group = byFreeze.get(freezeId) ?? [];
      const frozen = r.event === "FreezeExecuted" ? (a["frozen"] as string[]) : [];
      group.forEach((line, i) => {
        line.status = r.event === "FreezeExecuted" ? "executed" : "rejected";
        line.frozen = r.event === "FreezeExecuted" ? String(frozen[i] ?? "0") : null;
        line.answerTx = r.tx_hash;
      });
    }
  }
  const totals = new Map<
    string,
    { caseId: string; chainId: number; token: string; r: bigint; f: bigint; p: bigint; x: bigint }
  >();
  for (const l of lines) {
    const key = `${l.caseId}:${l.chainId}:${l.token}`;
    const t = totals.get(key) ?? {
      caseId: l.caseId,
      chainId: l.chainId,
      token: l.token,
      r: 0n,
      f: 0n,
      p: 0n,
      x: 0n,
    };
    const requested = BigInt(l.requested);
    t.r += requested;
    if (l.status === "executed") t.f += BigInt(l.frozen ?? "0");
    else if (l.status === "requested") t.p += requested;
    else t.x += requested;
    totals.set(key, t);
  }
  return {
    lines,
    totals: [...totals.values()].map((t) => ({
      caseId: t.caseId,
      chainId: t.chainId,
      token: t.token,
      requested: t.r.toString(),
      frozen: t.f.toString(),
      pending: t.p.toString(),
      rejected: t.x.toString(),
    })),
  };
}
