/**
 * `POST /risk/screen`: `veritrace screen --json` over HTTP, on the server's node (`veritrace
 * serve --rpc`), behind the API's bearer tokens. The answer is exactly the object the command
 * prints for the same addresses and options.
 */
import type { z } from "zod";
import { badRequest } from "../http.js";
import { route } from "../route.js";
import { RiskScreen, RiskScreenRequest } from "../wire.js";
import { onServerNode } from "./on-node.js";
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

/** Screens a checked body on the server's node (see {@link onServerNode}). */
export function answerScreen(
  store: Store,
  rpcUrl: string | undefined,
  body: ScreenBody,
): Promise<z.input<typeof RiskScreen>> {
  const { addresses, ...options } = body;
  return onServerNode(store, rpcUrl, "screens", async (rpc) =>
    screenJson(
      await screenAddresses({
        ...options,
        rpc,
        db: store.db,
        entries: addresses.map((input, i) => ({ line: i + 1, input: input.trim() })),
      }),
    ),
  );
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
  errors: [400, 404, 413, 415, 502],
  handle: (ctx) => answerScreen(ctx.store, ctx.rpcUrl, screenBodyOf(ctx.body)),
});
