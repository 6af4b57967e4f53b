/** `veritrace cluster`: the deposit addresses an address used, and the customer behind them. */
import { openStore, rpcUrl, stringOptions, flagOptions, type Command } from "../command.js";
import {
  READING_HELP,
  READING_OPTIONS,
  importLabelFiles,
  reading,
  sayIfIncomplete,
} from "../chain-reading.js";
import { oneStdin } from "../../shared/input.js";
import { json, share, table } from "../../shared/format.js";
import { integer, required, str } from "../../shared/options.js";
import { TracerError, UsageError } from "../../shared/errors.js";
import { RpcClient } from "../../chain/rpc.js";
import { formatAmount } from "../../analytics/funds/graph.js";
import { normalizeToken, tokenDecimals } from "../../analytics/funds/run.js";
import { addressProblem } from "../../analytics/risk/screen.js";
import type { AddressCluster, ClusterLink } from "../../analytics/cluster/clusters.js";
import {
  DEFAULT_MAX_BLOCKS,
  DEFAULT_TOLERANCE,
  formatFraction,
  parseFraction,
  type DepositAddress,
} from "../../analytics/cluster/deposits.js";
import { clusterAddresses, planCluster, type ClusterResult } from "../../analytics/cluster/run.js";

/** A deposit address as JSON: amounts as decimal strings of base units. */
function depositJson(d: DepositAddress) {
  return {
    address: d.address,
    exchange: { address: d.exchange.address, label: d.exchange.label },
    exchanges: d.exchanges.map((e) => ({ ...e, forwarded: e.forwarded.toString() })),
    senders: d.senders,
    received: d.received.toString(),
    forwardedWithin: d.matched.toString(),
    share: share(d.matched, d.received),
    forwards: d.forwards.length,
    unmatchedForwards: d.unmatchedForwards,
  };
}

function linkJson(l: ClusterLink) {
  return {
    sender: l.sender,
    depositAddress: l.depositAddress,
    exchange: l.exchange,
    inflow: { txHash: l.inflow.txHash, block: l.inflow.blockNumber, amount: `${l.inflow.amount}` },
    forward: {
      txHash: l.forward.txHash,
      block: l.forward.blockNumber,
      to: l.forward.to,
      amount: `${l.forward.amount}`,
      received: `${l.forward.received}`,
      blocksApart: l.forward.blocksApart,
    },
  };
}

/** The one JSON object of `veritrace cluster --json`. */
export function clusterJson(r: ClusterResult) {
  return {
    chainId: r.chainId,
    token: r.token,
    fromBlock: r.fromBlock,
    toBlock: r.toBlock,
    maxBlocks: r.maxBlocks,
    tolerance: formatFraction(r.tolerance),
    depositAddresses: r.deposits.length,
    results: r.clusters.map((c: AddressCluster) => ({
      address: c.address,
      depositAddress: c.depositAddress === null ? null : depositJson(c.depositAddress),
      cluster: {
        members: c.cluster.members,
        depositAddresses: c.cluster.depositAddresses.map(depositJson),
        links: c.cluster.links.map(linkJson),
      },
    })),
  };
}

function describe(c: AddressCluster, money: (v: bigint) => string): string[] {
  const out: string[] = [""];
  const d = c.depositAddress;
  if (d !== null)
    out.push(
      `${c.address}: deposit address of ${d.exchange.label} (${d.exchange.address}): forwarded ` +
        `${share(d.matched, d.received)} of the ${money(d.received)} it received, in ${d.forwards.length} forward(s)`,
    );
  else if (c.cluster.links.length === 0) {
    out.push(`${c.address}: no deposit address found`);
    return out;
  } else {
    const own = c.cluster.links.filter((l) => l.sender === c.address);
    const used = [...new Set(own.map((l) => `${l.depositAddress} (${l.exchange})`))];
    out.push(`${c.address}: paid into deposit address(es) ${used.join(", ")}`);
  }
  const others = c.cluster.members.filter((m) => m !== c.address);
  out.push(`  same customer: ${others.length === 0 ? "(no other sender)" : others.join(", ")}`);
  out.push(
    table(
      ["sender", "deposit address", "exchange", "inflow tx", "forward tx", "blocks", "in", "out"],
      c.cluster.links.map((l) => [
        l.sender,
        l.depositAddress,
        l.exchange,
        l.inflow.txHash,
        l.forward.txHash,
        l.forward.blockNumber - l.inflow.blockNumber,
        money(l.inflow.amount),
        money(l.forward.amount),
      ]),
    ),
  );
  return out;
}

/** `veritrace cluster`: exchange deposit addresses (Victor 2020) and the clusters they make. */
export const clusterCommand: Command = {
  name: "cluster",
  usage:
    "ADDRESS... --rpc URL --token ADDR|native [--max-blocks N] [--tolerance A] [--from N] [--to-block N] " +
    "[--labels FILE]... [--db URL|DIR] [--json]",
  help: [
    "  --rpc URL            JSON-RPC endpoint of the chain the addresses are on",
    "  --token ADDR|native  the ERC-20 token, or the chain's native coin",
    `  --max-blocks N       τ: a deposit is forwarded within N blocks (default ${DEFAULT_MAX_BLOCKS})`,
    `  --tolerance A        α: a forward carries what came in, or up to A less (a fraction; default ${formatFraction(DEFAULT_TOLERANCE)})`,
    "  --from N             first block (default: where the token's stream starts, or 0)",
    "  --to-block N         last block (default: the head less --confirmations)",
    "  --labels FILE        import a TagPack first (repeat for more; its exchanges are the hot wallets;",
    "                       - reads one from stdin)",
    "  --decimals N         the token's decimals for display (default: asked from the token)",
    ...READING_HELP,
    "  --json               one JSON object: per address its deposit address (if it is one), cluster, links",
    "An address that forwards what it receives to an exchange (labeled exchange) within τ blocks and α of",
    "the amount is that exchange's deposit address; the senders who pay into it are one customer.",
    "See docs/clustering.md.",
  ].join("\n"),
  options: {
    ...stringOptions("rpc", "token", "max-blocks", "tolerance", "from", "to-block", "decimals"),
    labels: { type: "string", multiple: true },
    ...READING_OPTIONS,
    ...flagOptions("json"),
  },
  async run(values, positionals) {
    if (positionals.length === 0) throw new UsageError("expected one or more addresses");
    for (const a of positionals) {
      const problem = addressProblem(a);
      if (problem !== null) throw new UsageError(`${JSON.stringify(a.slice(0, 60))}: ${problem}`);
    }
    const url = rpcUrl(values);
    const tokenArg = required(values, "token");
    let token: string;
    let tolerance = DEFAULT_TOLERANCE;
    try {
      token = normalizeToken(tokenArg);
      const t = str(values, "tolerance");
      if (t !== undefined) tolerance = parseFraction(t, "--tolerance");
    } catch (error) {
      if (error instanceof TracerError) throw new UsageError(error.message);
      throw error;
    }
    const maxBlocks = integer(values, "max-blocks");
    const decimalsOption = integer(values, "decimals");
    const finalityDepth = integer(values, "finality");
    oneStdin(values, ["labels"]);
    const asJson = values["json"] === true;
    const rpc = new RpcClient(url);
    // The node is asked about the token and the blocks before the store is opened: a clustering
    // that cannot start leaves nothing behind.
    const plan = await planCluster(rpc, {
      token,
      fromBlock: integer(values, "from"),
      toBlock: integer(values, "to-block"),
      confirmations: integer(values, "confirmations"),
    });
    const store = await openStore(values);
    let result: ClusterResult;
    try {
      await importLabelFiles(values, store, asJson);
      const read = reading(values, asJson);
      result = await clusterAddresses({
        rpc,
        db: store.db,
        plan,
        addresses: [...new Set(positionals.map((a) => a.toLowerCase()))],
        maxBlocks,
        tolerance,
        finalityDepth,
        traceCalls: read.traceCalls,
        onProgress: read.onProgress,
      });
      read.done(result.ingest.rows);
    } finally {
      await store.close();
    }
    if (asJson) {
      sayIfIncomplete(result.ingest, asJson);
      console.log(json(clusterJson(result)));
      return 0;
    }
    const decimals = decimalsOption ?? (await tokenDecimals(rpc, token)) ?? 0;
    const money = (v: bigint) => formatAmount(v, decimals);
    console.log(
      `deposit addresses of ${token} on chain ${result.chainId}, blocks ${result.fromBlock}–${result.toBlock} ` +
        `(τ ${result.maxBlocks} blocks, α ${formatFraction(result.tolerance)}): ${result.deposits.length} found`,
    );
    sayIfIncomplete(result.ingest, asJson);
    for (const c of result.clusters) for (const line of describe(c, money)) console.log(line);
    return 0;
  },
};
