/**
 * `POST /risk/screen`: `veritrace screen --json` over HTTP, on the server's node (`veritrace
 * serve --rpc`), behind the API's bearer tokens. The answer is exactly the object the command
 * prints for the same addresses and options.
 */
import type { z } from "zod";
import { badRequest, HttpError, httpErrorOf } from "../http.js";
import { route } from "../route.js";
import { RiskScreen, RiskScreenRequest } from "../wire.js";
import { exclusive } from "./trace.js";
import { VeritraceError } from "../../shared/errors.js";
import { RpcClient, RpcUnavailableError } from "../../chain/rpc.js";
import type { Store } from "../../db/store.js";
import { DEFAULT_RISK_CONFIG, riskConfigOf, type RiskConfig } from "../../analytics/risk/config.js";
import { screenAddresses, screenJson } from "../../analytics/risk/screen.js";

/** A screening's input, checked: the body of `POST /risk/screen` with its config in full. */
export type ScreenBody = Omit<z.output<typeof RiskScreenRequest>, "config" | "token"> & {
  token: string;
  config: RiskConfig;
};

/** The body's config checked in full (riskConfigOf: category names, threshold order, …). */
export function screenBodyOf(body: z.output<typeof RiskScreenRequest>): ScreenBody {
  let config = DEFAULT_RISK_CONFIG;
  if (body.config !== undefined) {
    try {
      config = riskConfigOf(body.config, "config");
    } catch (error) {
      throw badRequest((error as Error).message);
    }
  }
  return { ...body, token: (body.token ?? "native").toLowerCase(), config };
}

/**
 * Screens a checked body on the server's node; an error Veritrace raised is answered by its
 * kind, one of no kind as the client's 400.
 */
export async function answerScreen(
  store: Store,
  rpcUrl: string | undefined,
  body: ScreenBody,
): Promise<z.input<typeof RiskScreen>> {
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
    if (error instanceof VeritraceError) throw httpErrorOf(error, "invalid-input");
    throw error;
  }
}

export const riskScreenRoute = route({ path: "/risk/screen", public: false }).post({
  operationId: "screenAddresses",
  summary: "Score addresses' exposure to risky funds (as veritrace screen --json)",
  description:
    "Reads the token's transfers from the server's JSON-RPC node (`veritrace serve --rpc`) " +
    "into the store, walks back from each address up to `hops` transfers and scores what " +
    "it received from labeled addresses. The answer is exactly the object `veritrace screen " +
    "--json` prints. A malformed or non-EVM address, or a token with no contract, is " +
    "answered on its line (`error`); the others are screened. Screens run one at a time, " +
    "with traces.",
  tags: ["risk"],
  body: RiskScreenRequest,
  bodyDescription: "The addresses and the screening's options.",
  response: RiskScreen,
  responseDescription: "The screening.",
  errors: [400, 413, 415, 502],
  handle: (ctx) => answerScreen(ctx.store, ctx.rpcUrl, screenBodyOf(ctx.body)),
});
