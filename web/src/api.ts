/**
 * The API client: same origin as the page, bearer token from the tab's session storage only (it
 * is gone when the tab closes). Every failure becomes an {@link ApiError} with one sentence.
 */

const TOKEN_KEY = "veritrace.token";

export const session = {
  token: (): string | null => sessionStorage.getItem(TOKEN_KEY),
  signIn: (token: string): void => sessionStorage.setItem(TOKEN_KEY, token),
  signOut: (): void => sessionStorage.removeItem(TOKEN_KEY),
};

/** A failed call: `code` is the server's error code, or "unreachable" when it did not answer. */
export class ApiError extends Error {
  override name = "ApiError";
  constructor(
    readonly code: string,
    message: string,
    readonly status: number | null = null,
  ) {
    super(message);
  }
}

/** Called when the server refuses the token (401), so the app can ask for a new one. */
let onUnauthorized: () => void = () => undefined;
export const setUnauthorizedHandler = (f: () => void): void => {
  onUnauthorized = f;
};

export async function api<T>(
  path: string,
  init: { method?: "GET" | "POST"; body?: unknown; token?: string } = {},
): Promise<T> {
  const token = init.token ?? session.token();
  const headers: Record<string, string> = { accept: "application/json" };
  if (token !== null) headers["authorization"] = `Bearer ${token}`;
  if (init.body !== undefined) headers["content-type"] = "application/json";
  let res: Response;
  try {
    res = await fetch(path, {
      method: init.method ?? "GET",
      headers,
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    });
  } catch (error) {
    throw new ApiError(
      "unreachable",
      `The tracer is unreachable (${(error as Error).message}). Check that veritrace serve is running.`,
    );
  }
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    throw new ApiError("bad_answer", `The tracer answered ${res.status} without JSON.`, res.status);
  }
  if (!res.ok) {
    const e = (body as { error?: { code?: string; message?: string } }).error;
    if (res.status === 401 && init.token === undefined) onUnauthorized();
    throw new ApiError(
      e?.code ?? "error",
      e?.message ?? `The tracer answered ${res.status}.`,
      res.status,
    );
  }
  return body as T;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** Every item of a paginated listing; `pick` finds the page in an answer. */
export async function all<T>(
  path: string,
  pick: (body: unknown) => Page<T> = (b) => b as Page<T>,
  limit = 500,
): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | null = null;
  const sep = path.includes("?") ? "&" : "?";
  do {
    const target: string = `${path}${sep}limit=${limit}${cursor === null ? "" : `&cursor=${encodeURIComponent(cursor)}`}`;
    const page: Page<T> = pick(await api<unknown>(target));
    items.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor !== null);
  return items;
}

// ------------------------------------------------------------------ shapes of the answers

export interface Health {
  status: string;
  engine: string;
  indexedTo: { blockNumber: number; blockHash: string } | null;
  events: number;
  /** The follower indexing in the server's process (serve --follow), or null. */
  follower: { target: number | null; indexedTo: number | null; syncedAt: string | null } | null;
}

export interface CaseSummary {
  caseId: string;
  caseNumberCommitment: string;
  status: "pending" | "approved" | "closed";
  opener: number;
  approver: number | null;
  expiresAt: number;
  openedAt: number;
  openedBlock: number;
  requests: number;
  grants: number;
  denials: number;
  deliveries: number;
}

export interface CustodyEntry {
  blockNumber: number;
  txIndex: number;
  logIndex: number;
  time: number;
  txHash: string;
  step: string;
  action: string;
  event: string;
  institution: number | null;
  institutionKind: string | null;
  signer: string | null;
  requestId: string | null;
  details: Record<string, unknown>;
}

export interface CaseReport {
  caseId: string;
  caseNumberCommitment: string;
  legalBasisCommitment: string;
  status: CaseSummary["status"];
  expiresAt: number;
  scope: string[];
  opener: number;
  approver: number | null;
  counts: Record<string, number>;
  custody: Page<CustodyEntry>;
}

export interface SignatureCheck {
  institution: number;
  signer: string;
  recovered: string | null;
  signerIsKeyOfInstitution: boolean;
  valid: boolean;
}

export interface DeliveryVerification {
  deliveryId: string;
  provider: SignatureCheck;
  requester: SignatureCheck;
  valid: boolean;
}

export interface EntryVerification {
  anchorId: string;
  root: string;
  entryHash: string;
  included: boolean;
}

export interface Institution {
  id: number;
  kind: string;
  status: string;
  admittedAt: number;
  keys: {
    address: string;
    addedBlock: number;
    removedBlock: number | null;
    codeHash: string | null;
    repinnedBlock: number | null;
  }[];
}

export interface InstitutionCase {
  caseId: string;
  role: string;
  requests: number;
  granted: number;
  denied: number;
  revoked: number;
  deliveries: number;
  records: string;
  firstBlock: number;
  lastBlock: number;
}

export interface ActivityCell {
  institution: number;
  role: "requester" | "provider";
  day: string;
  events: number;
  cases: string[];
}

export interface Activity {
  days: string[];
  institutions: { id: number; kind: string; status: string }[];
  cells: ActivityCell[];
}

export interface Evidence {
  blockNumber: number;
  logIndex: number;
  txHash: string;
  blockTime: number;
  event: string;
  caseId?: string;
  requestId?: string;
  deliveryId?: string;
  anchorId?: string;
  actor?: number;
  counterpart?: number;
}

export interface Anomaly {
  rule: string;
  severity: "low" | "medium" | "high";
  caseId?: string;
  participants: number[];
  summary: string;
  details: Record<string, string | number>;
  evidence: Evidence[];
  firstBlock: number;
  lastBlock: number;
}

export interface FlowNode {
  address: string;
  label: string | null;
  category: string | null;
  seed: boolean;
  taintIn: string;
  taintOut: string;
  held: string | null;
  exit: { kind: string; amount: string; label: string | null } | null;
  weight: string;
  hops: number | null;
}

export interface FlowEdge {
  txHash: string;
  blockNumber: number;
  from: string;
  to: string;
  amount: string;
  tainted: string;
  fate: string;
}

export interface FlowPath {
  origin: string;
  amount: string;
  steps: { txHash: string; from: string; to: string; tainted: string }[];
}

export interface TraceAnswer {
  summary: {
    model: string;
    token: string;
    seed: string;
    holdings: { address: string; amount: string }[];
    exits: { address: string; label: string; amount: string }[];
    total: string;
  };
  chainId: number;
  fromBlock: number;
  toBlock: number;
  decimals: number | null;
  seedAmount: string;
  beyondHopLimit: string;
  belowMinimum: string;
  complete: boolean;
  note: string | null;
  warnings: { code: string; message: string; address: string | null }[];
  nodes: FlowNode[];
  edges: FlowEdge[];
  paths: Record<string, FlowPath[]>;
}

export interface TraceRequest {
  token: string;
  seed: string;
  model: "poison" | "haircut" | "fifo";
  hops?: number;
  minAmount?: string;
}
