import { checkNode, Indexer } from "../../ledger/indexer.js";
import { RpcClient } from "../../chain/rpc.js";
import { logLine } from "../../shared/format.js";
import { ProgressBar } from "../progress.js";
import { Follower, SYNC_HELP, SYNC_OPTIONS, readDeploymentInput, syncSettings } from "../follow.js";
import { integer, required } from "../../shared/options.js";
import {
  type Command,
  DB_HELP,
  DB_OPTION,
  flagOptions,
  openStore,
  rpcUrl,
  stringOptions,
} from "../command.js";

export const index: Command = {
  name: "index",
  usage:
    "--rpc URL --deployment FILE [--db URL|DIR] [--from N] [--follow] [--confirmations N] [--finality N]",
  help: [
    "  --rpc URL            JSON-RPC endpoint (hardhat node, anvil, Besu, Geth, …)",
    "  --deployment FILE    deployment record written by the deployment (chain id, addresses, start",
    "                       block); - reads it from stdin",
    DB_HELP,
    "  --from N             first block to read into an empty store (default: the deployment's start block)",
    "  --follow             keep following the chain's head; structured log lines on stdout",
    ...SYNC_HELP,
    "The store takes one process: to serve the API while following, run veritrace serve --follow.",
  ].join("\n"),
  options: {
    ...stringOptions("rpc", "deployment", "from"),
    ...flagOptions("follow"),
    ...DB_OPTION,
    ...SYNC_OPTIONS,
  },
  async run(values) {
    const url = rpcUrl(values);
    const deployment = readDeploymentInput(required(values, "deployment"));
    const fromBlock = integer(values, "from");
    const settings = syncSettings(values);
    const follow = values["follow"] === true;
    const rpc = new RpcClient(url, {
      onRetry: (r) => {
        if (follow) console.log(logLine({ level: "warn", msg: "retrying", ...r }));
      },
    });
    // Check the node before touching the store, so a wrong node or record writes nothing.
    await checkNode(rpc, deployment);
    const store = await openStore(values);
    try {
      if (follow) {
        const follower = new Follower(store, rpc, deployment, settings, { fromBlock });
        const stop = () => follower.stop();
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
        try {
          await follower.run(store);
        } finally {
          process.off("SIGINT", stop);
          process.off("SIGTERM", stop);
        }
        return 0;
      }
      const bar = new ProgressBar("indexing");
      let first = -1;
      const indexer = new Indexer(store, rpc, deployment, {
        confirmations: settings.confirmations,
        finalityDepth: settings.finalityDepth,
        fromBlock,
        onProgress: (p) => {
          if (first < 0) first = p.indexedTo;
          bar.update({ done: p.indexedTo - first, total: p.target - first, events: p.events });
        },
        onLog: (entry) => process.stderr.write(`${entry["msg"]}: ${JSON.stringify(entry)}\n`),
      });
      const indexedTo = await indexer.syncOnce();
      bar.done({
        done: Math.max(0, indexedTo - first),
        total: Math.max(0, indexedTo - first),
        events: indexer.eventCount,
      });
      console.log(
        `indexed up to block ${indexedTo}: ${indexer.eventCount} new events, ${await store.eventCount()} in the store (${store.db.location})`,
      );
      return 0;
    } finally {
      await store.close();
    }
  },
};
