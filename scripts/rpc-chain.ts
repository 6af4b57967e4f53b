/**
 * Serves a generated chain (scripts/lib/rpc-chain.ts) until its standard input closes:
 *
 *   tsx scripts/rpc-chain.ts '{"spec": {…}, "options": {…}}'
 *
 * Prints one JSON line, `{"url": …, "transfers": …, "head": …}`, once it listens.
 */
import { serveChain, type ChainSpec, type ServerOptions } from "./lib/rpc-chain.js";

const { spec, options } = JSON.parse(process.argv[2] ?? "{}") as {
  spec: ChainSpec;
  options?: ServerOptions;
};
const running = await serveChain(spec, options);
const chain = running.rpc.chain;
console.log(JSON.stringify({ url: running.url, transfers: chain.transfers, head: chain.head }));
process.stdin.resume();
process.stdin.on("end", () => void running.close().then(() => process.exit(0)));
process.on("SIGTERM", () => void running.close().then(() => process.exit(0)));
