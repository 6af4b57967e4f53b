/**
 * `POST /risk/screen`: `veritrace screen --json` over HTTP, on the server's node (`veritrace
 * serve --rpc`), behind the API's bearer tokens. The answer is exactly the object the command
 * prints for the same addresses and options.
 */
import { badRequest, HttpError } from "../http.js";
import { quote } from "../../shared/request-checks.js";
import type { Route } from "../route.js";
import { exclusive } from "./trace.js";
import { TracerError } from "../../shared/errors.js";
import { RpcClient, RpcUnavailableError } from "../../chain/rpc.js";
import type { Store } from "../../db/store.js";
import {
  DEFAULT_HOPS,
  DEFAULT_RISK_CONFIG,
  MAX_HOPS,
  riskConfigOf,
  type RiskConfig,
} from "../../analytics/risk/config.js";
import { screenAddresses, screenJson } from "../../analytics/risk/screen.js";

/** The most addresses one request screens. */
export const MAX_SCREEN_ADDRESSES = 1000;
/** The most paths per scoring category over HTTP. */
export const MAX_SCREEN_PATHS = 20;

/** A screening's input, as the body of `POST /risk/screen` gives it. */
export interface ScreenBody {
  addresses: string[];
  token: string;
  hops: number;
  paths: number;
  fromBlock?: number;
  toBlock?: number;
  since?: number;
  until?: number;
  config: RiskConfig;
}

const FIELDS = [
  "addresses",
  "token",
  "hops",
  "paths",
  "fromBlock",
  "toBlock",
  "since",
  "until",
  "config",
];

const isCount = (v: unknown, max: number): v is number =>
  typeof v === "number" && Number.isSafeInteger(v) && v >= 0 && v <= max;

/** Checks a body; a 400 names the first bad field. Bad addresses are answered per line. */
export function parseScreenBody(body: unknown): ScreenBody {
  if (typeof body !== "object" || body === null || Array.isArray(body))
    throw badRequest("body: a JSON object {addresses, token?, hops?, …} is required");
  const b = body as Record<string, unknown>;
  const unknownKey = Object.keys(b).find((k) => !FIELDS.includes(k));
  if (unknownKey !== undefined) throw badRequest(`body: unknown field ${quote(unknownKey)}`);
  const { addresses, token, hops, paths, fromBlock, toBlock, since, until, config } = b;
  if (
    !Array.isArray(addresses) ||
    addresses.length === 0 ||
    !addresses.every((a: unknown) => typeof a === "string" && a.length <= 128)
  )
    throw badRequest("addresses: a non-empty list of strings is required");
  if (addresses.length > MAX_SCREEN_ADDRESSES)
    throw badRequest(
      `addresses: at most ${MAX_SCREEN_ADDRESSES} per request, got ${addresses.length}`,
    );
  if (
    token !== undefined &&
    (typeof token !== "string" || !(token === "native" || /^0x[0-9a-fA-F]{40}$/.test(token)))
  )
    throw badRequest('token: a token address (0x and 40 hex digits) or "native"');
  if (hops !== undefined && !(isCount(hops, MAX_HOPS) && hops >= 1))
    throw badRequest(`hops: an integer from 1 to ${MAX_HOPS}`);
  if (paths !== undefined && !isCount(paths, MAX_SCREEN_PATHS))
    throw badRequest(`paths: an integer from 0 to ${MAX_SCREEN_PATHS}`);
  for (const [name, v] of Object.entries({ fromBlock, toBlock, since, until }))
    if (v !== undefined && !isCount(v, Number.MAX_SAFE_INTEGER))
      throw badRequest(`${name}: a non-negative integer`);
  let checked = DEFAULT_RISK_CONFIG;
  if (config !== undefined) {
    try {
      checked = riskConfigOf(config, "config");
    } catch (error) {
      throw badRequest((error as Error).message);
    }
  }
  return {
    addresses: addresses as string[],
    token: typeof token === "string" ? token.toLowerCase() : "native",
    hops: (hops as number | undefined) ?? DEFAULT_HOPS,
    paths: (paths as number | undefined) ?? 3,
    ...(fromBlock === undefined ? {} : { fromBlock: fromBlock as number }),
    ...(toBlock === undefined ? {} : { toBlock: toBlock as number }),
    ...(since === undefined ? {} : { since: since as number }),
    ...(until === undefined ? {} : { until: until as number }),
    config: checked,
  };
}

/** Screens a checked body on the server's node; a TracerError is the client's 400. */
export async function answerScreen(
  store: Store,
  rpcUrl: string | undefined,
  body: ScreenBody,
): Promise<Record<string, unknown>> {
  if (rpcUrl === undefined)
    throw new HttpError(
      503,
      "no_rpc",
      "this server screens nothing: start it with veritrace serve --rpc URL",
    );
  const rpc = new RpcClient(rpcUrl, { maxRetries: 2 });
  try {
    const { addresses, ...options } = body;
    const result = await exclusive(store, () =>
      screenAddresses({
        ...options,
        rpc,
        db: store.db,
        entries: addresses.map((input, i) => ({ line: i + 1, input: input.trim() })),
      }),
    );
    return screenJson(result);
  } catch (error) {
    if (error instanceof RpcUnavailableError)
      throw new HttpError(502, "rpc_unavailable", `the node does not answer: ${error.message}`);
    if (error instanceof TracerError) throw badRequest(error.message);
    throw error;
  }
}

/** `POST /risk/screen`, registered in the server's ROUTES. */
export const riskScreenRoute: Route = {
  path: "/risk/screen",
  methods: ["POST"],
  public: false,
  query: [],
  handle: (ctx) => answerScreen(ctx.store, ctx.rpcUrl, parseScreenBody(ctx.body)),
};
