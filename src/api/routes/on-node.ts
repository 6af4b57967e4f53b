/**
 * What the routes that read the server's chain share (`POST /trace`, `POST /risk/screen`): the
 * node, one run at a time per store, and how the node's failures are answered.
 */
import { RpcClient, RpcUnavailableError } from "../../chain/rpc.js";
import type { Store } from "../../db/store.js";
import { VeritraceError } from "../../shared/errors.js";
import { HttpError, httpErrorOf } from "../http.js";

/** Traces and risk screens run one at a time per store: each reads transfers into it. */
const running = new WeakMap<Store, Promise<unknown>>();

async function exclusive<T>(store: Store, run: () => Promise<T>): Promise<T> {
  const before = running.get(store) ?? Promise.resolve();
  const mine = before.catch(() => undefined).then(run);
  running.set(store, mine);
  try {
    return await mine;
  } finally {
    if (running.get(store) === mine) running.delete(store);
  }
}

/**
 * Runs `work` on the server's node (`veritrace serve --rpc`), alone on its store: 503 `no_rpc`
 * without a node, 502 `rpc_unavailable` when it does not answer, an error Veritrace raised
 * answered by its kind (one of no kind as the client's 400). `what` is the route's verb
 * ("traces", "screens") for the 503's sentence.
 */
export async function onServerNode<T>(
  store: Store,
  rpcUrl: string | undefined,
  what: string,
  work: (rpc: RpcClient) => Promise<T>,
): Promise<T> {
  if (rpcUrl === undefined)
    throw new HttpError(
      503,
      "no_rpc",
      `this server ${what} nothing: start it with veritrace serve --rpc URL`,
    );
  const rpc = new RpcClient(rpcUrl, { maxRetries: 2 });
  try {
    return await exclusive(store, () => work(rpc));
  } catch (error) {
    if (error instanceof RpcUnavailableError)
      throw new HttpError(502, "rpc_unavailable", `the node does not answer: ${error.message}`);
    if (error instanceof VeritraceError) throw httpErrorOf(error, "invalid-input");
    throw error;
  }
}
