/** The events table's rows as the ledger's queries read them. */

export interface EventDbRow {
  block_number: string | number;
  log_index: number;
  tx_index: number;
  tx_hash: string;
  block_time: string | number;
  event: string;
  actor: string | number | null;
  counterpart: string | number | null;
  signer: string | null;
  request_id: string | null;
  case_id: string | null;
  args: Record<string, unknown>;
}

export const n = (v: string | number | null | undefined): number | null =>
  v === null || v === undefined ? null : Number(v);
