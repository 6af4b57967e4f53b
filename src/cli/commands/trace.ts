import { extname } from "node:path";
import type { ParseArgsConfig } from "node:util";
import { flagOptions, openStore, rpcUrl, stringOptions, type Command } from "../command.js";
import {
  READING_HELP,
  READING_OPTIONS,
  importLabelFiles,
  reading,
  sayIfIncomplete,
  stepText,
} from "../chain-reading.js";
import { oneStdin } from "../../shared/input.js";
import { share, table } from "../../shared/format.js";
import { integer, required, str } from "../../shared/options.js";
import { InvalidInputError, TracerError, UsageError } from "../../shared/errors.js";
import { RpcClient } from "../../chain/rpc.js";
import {
  DEFAULT_MAX_BLOCKS,
  DEFAULT_TOLERANCE,
  formatFraction,
  parseFraction,
} from "../../analytics/cluster/deposits.js";
import { formatAmount, GRAPH_FORMATS, writeGraph } from "../../analytics/funds/graph.js";
import { ingestTransfers } from "../../analytics/funds/ingest.js";
import {
  DEFAULT_EXIT_CATEGORIES,
  readExitCategories,
  splitExitCategories,
} from "../../analytics/funds/exits.js";
import {
  engineLabel,
  normalizeToken,
  planTrace,
  runTrace,
  traceSummaryJson,
} from "../../analytics/funds/run.js";
import {
  parseSeed,
  TAINT_MODELS,
  type TaintModelName,
  type TaintPath,
} from "../../analytics/funds/taint.js";

/** Runs a check of an option's syntax: what it rejects is a usage error (exit code 2). */
function asUsage<T>(check: () => T): T {
  try {
    return check();
  } catch (error) {
    if (error instanceof TracerError && !(error instanceof UsageError))
      throw new UsageError(error.message);
    throw error;
  }
}

function describePath(p: TaintPath, money: (v: bigint) => string): string {
  const hops = p.steps.map((s) => stepText(s, money(s.tainted)));
  return `${money(p.amount)} via ${hops.join(" ⇒ ")}`;
}

const options: NonNullable<ParseArgsConfig["options"]> = {
  ...stringOptions("rpc", "token", "seed", "model", "to-block", "hops", "min-amount", "window"),
  ...stringOptions("graph", "paths", "decimals", "exit-categories", "max-blocks", "tolerance"),
  labels: { type: "string", multiple: true },
  ...READING_OPTIONS,
  ...flagOptions("json", "no-deposit-addresses", "lazy"),
};

/** `veritrace trace`: follow tainted funds from a seed to where they are now and where they left. */
export const traceCommand: Command = {
  name: "trace",
  usage:
    "--rpc URL --token ADDR|native --seed TXHASH|ADDRESS@BLOCK --model poison|haircut|fifo [--to-block N] " +
    "[--hops N] [--min-amount N] [--window SECONDS] [--labels FILE]... [--exit-categories LIST] " +
    "[--no-deposit-addresses] [--max-blocks N] [--tolerance A] [--graph FILE.svg|.png|.dot] [--lazy] [--json]",
  help: [
    "  --rpc URL            JSON-RPC endpoint of the chain the funds are on",
    "  --token ADDR|native  the ERC-20 token traced, or the chain's native coin",
    "  --seed S             a transaction hash (what it delivered is tainted) or ADDRESS@BLOCK (the",
    "                       address's whole balance at the end of BLOCK is tainted)",
    "  --model M            poison, haircut or fifo (docs/taint-models.md)",
    "  --to-block N         trace up to this block (default: the head less --confirmations)",
    "  --hops N             follow taint at most N transfers from the seed",
    "  --min-amount N       don't follow transfers carrying less taint (base units)",
    "  --window SECONDS     ignore transfers later than the seed's time plus this",
    "  --labels FILE        import a TagPack first (repeat for more; - reads one from stdin)",
    "  --exit-categories L  the labels where taint stops, comma-separated: exchange, bridge, mixer",
    "                       and the GraphSense taxonomy's services (default: the custodial ones,",
    '                       bridges and mixers; docs/taint-models.md, "Exits"):',
    `                       ${DEFAULT_EXIT_CATEGORIES.join(",")}`,
    "  --no-deposit-addresses  don't stop taint at exchange deposit addresses (by default a",
    "                       deposit address of a labeled exchange is an exit; docs/clustering.md)",
    `  --max-blocks N       deposit addresses: τ, forwards within N blocks (default ${DEFAULT_MAX_BLOCKS})`,
    `  --tolerance A        deposit addresses: α, a forward up to A less (default ${formatFraction(DEFAULT_TOLERANCE)})`,
    "  --graph FILE         draw the flow (.svg, .png or .dot)",
    "  --paths N            explanation paths kept per address (default 5)",
    "  --lazy               read only the histories of the addresses the taint reaches, not the",
    "                       token's whole stream; kept in the store for the next trace (native:",
    "                       the node needs trace_filter; docs/scale.md)",
    "  --decimals N         the token's decimals for display (default: asked from the token)",
    ...READING_HELP,
    "  --json               the last line is one JSON object: model, token, seed, holdings, exits, total",
  ].join("\n"),
  options,
  async run(values) {
    const url = rpcUrl(values);
    const token = required(values, "token");
    const seed = required(values, "seed");
    const model = required(values, "model");
    if (!(TAINT_MODELS as readonly string[]).includes(model)) {
      throw new UsageError(
        `--model must be one of ${TAINT_MODELS.join(", ")}, got ${JSON.stringify(model)}`,
      );
    }
    const graph = str(values, "graph");
    if (
      graph !== undefined &&
      !(GRAPH_FORMATS as readonly string[]).includes(extname(graph).toLowerCase())
    ) {
      throw new UsageError(
        `--graph must end in ${GRAPH_FORMATS.join(", ")}, got ${JSON.stringify(graph)}`,
      );
    }
    const minAmount = str(values, "min-amount");
    if (minAmount !== undefined && !/^\d+$/.test(minAmount)) {
      throw new UsageError(
        `--min-amount must be an integer in base units, got ${JSON.stringify(minAmount)}`,
      );
    }
    const exitList = str(values, "exit-categories");
    const exitCategories = exitList === undefined ? undefined : splitExitCategories(exitList);
    if (exitCategories !== undefined)
      asUsage(() => readExitCategories(exitCategories, "--exit-categories"));
    oneStdin(values, ["labels"]);
    const asJson = values["json"] === true;
    const tolerance = str(values, "tolerance");
    const depositTolerance =
      tolerance === undefined ? undefined : asUsage(() => parseFraction(tolerance, "--tolerance"));
    const depositMaxBlocks = integer(values, "max-blocks");
    asUsage(() => normalizeToken(token));
    asUsage(() => parseSeed(seed));
    const toBlock = integer(values, "to-block");
    const maxHops = integer(values, "hops");
    const windowSeconds = integer(values, "window", 1);
    const maxPaths = integer(values, "paths");
    const decimalsOption = integer(values, "decimals");
    const confirmations = integer(values, "confirmations");
    const finalityDepth = integer(values, "finality");
    const rpc = new RpcClient(url);
    // The node is asked about the token, the seed and the blocks before the store is opened: a
    // trace that cannot start leaves nothing behind.
    const plan = await planTrace(rpc, { token, seed, toBlock, confirmations });
    const store = await openStore(values);
    try {
      await importLabelFiles(values, store, asJson);
      const read = reading(values, asJson);
      const out = await runTrace({
        rpc,
        db: store.db,
        token,
        seed,
        plan,
        model: model as TaintModelName,
        toBlock,
        maxHops,
        minAmount: minAmount === undefined ? undefined : BigInt(minAmount),
        windowSeconds,
        maxPaths,
        exitCategories,
        depositAddresses: values["no-deposit-addresses"] !== true,
        depositMaxBlocks,
        depositTolerance,
        confirmations,
        finalityDepth,
        traceCalls: read.traceCalls,
        onProgress: read.onProgress,
        read: values["lazy"] === true ? "lazy" : "stream",
      });
      read.done(out.ingest.rows);
      const decimals = decimalsOption ?? out.decimals ?? 0;
      const money = (v: bigint) => formatAmount(v, decimals);
      const r = out.result;
      const labelOf = (a: string) => engineLabel(out.labels.get(a), out.exits);
      const labelText = (a: string) => labelOf(a)?.label ?? "";
      if (graph !== undefined) await writeGraph(r, graph, { decimals, labels: labelOf });
      if (asJson) {
        sayIfIncomplete(out.ingest, asJson);
        console.log(JSON.stringify(traceSummaryJson(out)));
        return 0;
      }
      console.log(
        `${r.model} trace of ${r.token} on chain ${out.chainId} from ${seed}, blocks ${out.fromBlock}–${out.toBlock}: ` +
          `seed ${money(r.seedAmount)}`,
      );
      sayIfIncomplete(out.ingest, asJson);
      console.log("\nexit points");
      console.log(
        table(
          ["address", "kind", "label", "tainted", "share of seed", "hops"],
          r.exits.map((e) => [
            e.address,
            e.kind,
            e.label ?? labelText(e.address),
            money(e.amount),
            share(e.amount, r.seedAmount),
            e.hops,
          ]),
          "  (none)",
        ),
      );
      for (const e of r.exits) {
        const top = e.paths[0];
        if (top !== undefined)
          console.log(`  ${e.address.slice(0, 10)}…: ${describePath(top, money)}`);
        if (e.depositOf !== undefined)
          console.log(
            `  ${e.address.slice(0, 10)}…: deposit address of ${e.depositOf.label} ` +
              `(${e.depositOf.address}), forwarded in ${(e.evidence ?? []).join(", ")}; ` +
              `confidence ${((e.confidence ?? 0) * 100).toFixed(2)}%`,
          );
      }
      console.log("\nholding taint now");
      console.log(
        table(
          ["address", "label", "tainted", "share of seed", "hops"],
          r.holdings.map((h) => [
            h.address,
            labelText(h.address),
            money(h.amount),
            share(h.amount, r.seedAmount),
            h.hops,
          ]),
          "  (none)",
        ),
      );
      const sum = (xs: { amount: bigint }[]) => xs.reduce((n, x) => n + x.amount, 0n);
      console.log(
        `\ntotals: seed ${money(r.seedAmount)} = held ${money(sum(r.holdings))} + exited ${money(sum(r.exits))}` +
          ` + beyond hop limit ${money(r.beyondHopLimit)} + below minimum ${money(r.belowMinimum)}` +
          (r.model === "poison"
            ? ` (poison counts mixed funds whole: total ${money(r.total)})`
            : ""),
      );
      for (const w of r.warnings) console.log(`warning: ${w.message}`);
      if (graph !== undefined) console.log(`flow drawn to ${graph}`);
      return 0;
    } finally {
      await store.close();
    }
  },
};

/** `veritrace transfers`: read a chain's transfers into the store without tracing. */
export const transfersCommand: Command = {
  name: "transfers",
  usage:
    "--rpc URL --token ADDR|all|native --from N [--to-block N] [--no-trace-calls] [--db URL|DIR] [--json]",
  help: [
    "  --rpc URL            JSON-RPC endpoint",
    "  --token T            a token address, all (every ERC-20 token) or native",
    "  --from N             first block (a stream keeps its first start block)",
    "  --to-block N         last block (default: the head less --confirmations)",
    ...READING_HELP,
    "  --json               one JSON object: stream, blocks, transfers per token, completeness",
  ].join("\n"),
  options: {
    ...stringOptions("rpc", "token", "from", "to-block"),
    ...READING_OPTIONS,
    ...flagOptions("json"),
  },
  async run(values) {
    const url = rpcUrl(values);
    const tokenArg = required(values, "token");
    let token: string;
    if (tokenArg === "all") token = "*";
    else if (tokenArg === "native") token = "native";
    else if (/^0x[0-9a-fA-F]{40}$/.test(tokenArg)) token = tokenArg.toLowerCase();
    else
      throw new UsageError(
        `--token must be a token address, all or native, got ${JSON.stringify(tokenArg)}`,
      );
    const from = integer(values, "from");
    if (from === undefined) throw new UsageError("--from is required");
    const toBlock = integer(values, "to-block");
    const confirmations = integer(values, "confirmations");
    const finalityDepth = integer(values, "finality");
    const rpc = new RpcClient(url);
    const chainId = Number(await rpc.firstCall<string>("eth_chainId"));
    const head = Number(await rpc.call<string>("eth_blockNumber"));
    if (from > head)
      throw new InvalidInputError(`--from ${from} is beyond the node's head ${head}`);
    if (toBlock !== undefined && (toBlock < from || toBlock > head)) {
      throw new InvalidInputError(`--to-block ${toBlock} is outside ${from}..${head}`);
    }
    const store = await openStore(values);
    try {
      const asJson = values["json"] === true;
      const read = reading(values, asJson);
      const result = await ingestTransfers(
        store.db,
        rpc,
        { chainId, kind: token === "native" ? "native" : "erc20", token, startBlock: from },
        {
          toBlock,
          confirmations,
          finalityDepth,
          traceCalls: read.traceCalls,
          onProgress: read.onProgress,
        },
      );
      read.done(result.rows);
      const perToken = await store.db.query<{ token: string; n: string }>(
        "SELECT token, count(*)::text AS n FROM transfers WHERE stream = $1 GROUP BY token ORDER BY count(*) DESC, token",
        [result.stream],
      );
      if (asJson) {
        console.log(
          JSON.stringify({
            stream: result.stream,
            indexedTo: result.indexedTo,
            newTransfers: result.rows,
            tokens: perToken.map((r) => ({ token: r.token, transfers: Number(r.n) })),
            complete: result.complete,
            note: result.note,
          }),
        );
        return 0;
      }
      console.log(
        `stream ${result.stream} complete up to block ${result.indexedTo}: ${result.rows} new transfers`,
      );
      if (!result.complete) console.log(`WARNING: ${result.note ?? "incomplete"}`);
      console.log(
        table(
          ["token", "transfers"],
          perToken.map((r) => [r.token, Number(r.n)]),
        ),
      );
      return 0;
    } finally {
      await store.close();
    }
  },
};
