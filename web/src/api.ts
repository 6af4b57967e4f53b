/**
 * The API client: same origin as the page, bearer token from the tab's session storage only (it
 * is gone when the tab closes). Every failure becomes an {@link ApiError} with one sentence.
 */
import { parseProblem } from "../../src/shared/problem-format.js";

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
    // An RFC 9457 problem: `code` for programs, `detail` in words.
    const problem = parseProblem(body);
    if (res.status === 401 && init.token === undefined) onUnauthorized();
    throw new ApiError(
      problem?.code ?? "error",
      problem?.detail ?? `The tracer answered ${res.status}.`,
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

// The answers' shapes are the server's schemas (src/api/wire.ts), imported as types only: the
// dashboard's bundle holds none of the server's code (the problem format's reader above is pure).
export type {
  Activity,
  ActivityCell,
  Anomaly,
  CaseReport,
  CaseSummary,
  CustodyEntry,
  DeliveryVerification,
  EntryVerification,
  Evidence,
  ExchangeState,
  FlowEdge,
  FlowNode,
  FlowPath,
  Health,
  Institution,
  InstitutionCaseActivity as InstitutionCase,
  SignatureCheck,
  Trace as TraceAnswer,
  TraceRequest,
} from "../../src/api/wire.js";
