import { readFileSync } from "node:fs";
import { extname } from "node:path";
import type { ParseArgsConfig } from "node:util";
import { flagOptions, openStore, rpcUrl, stringOptions, type Command } from "../command.js";
import { chainOptions, readBridgesFile } from "../bridges-option.js";
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
import { freezeDrafts, writeFreezeDrafts } from "../../analytics/funds/freeze-drafts.js";
import { assetsOf, oneNamespace, splitChain } from "../../analytics/funds/flow.js";
import { describeAssets } from "../../analytics/funds/assets.js";
import { ingestTransfers } from "../../analytics/funds/ingest.js";
import {
  DEFAULT_EXIT_CATEGORIES,
  readExitCategories,
  splitExitCategories,
} from "../../analytics/funds/exits.js";
import {
  engineLabel,
  labelsAt,
  labelsNamed,
  normalizeToken,
  normalizeTraceToken,
  planTrace,
  runTrace,
  traceSummaryJson,
} from "../../analytics/funds/run.js";
import {
  formatSeed,
  parseSeed,
  TAINT_MODELS,
  type TaintModelName,
  type TaintPath,
} from "../../analytics/funds/taint.js";

/**
 * The seeds of a --seeds file: one per line, blank lines and what follows # ignored; a bad line
 * is refused with its file and line number.
 */
function readSeedsFile(file: string): string[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new UsageError(
      `--seeds ${file}: ${(error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (error as Error).message}`,
    );
  }
  const seeds: string[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/#.*/, "").trim();
    if (line === "") return;
    try {
      parseSeed(line);
    } catch (error) {
      throw new UsageError(`--seeds ${file}, line ${i + 1}: ${(error as Error).message}`);
    }
    seeds.push(line);
  });
  if (seeds.length === 0) throw new UsageError(`--seeds ${file} names no seed`);
  return seeds;
}

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

/** A path in words: each step's tainted amount in its asset, a conversion's in and out. */
function describePath(
  p: TaintPath,
  at: { token: string; chainId?: number },
  money: (v: bigint, token: string, chainId?: number) => string,
): string {
  const hops = p.steps.map((s) => {
    if (s.out === undefined) return stepText(s, money(s.tainted, s.token, s.chainId));
    const crossing = s.out.steps[0]?.bridge;
    if (crossing !== undefined) {
      // A crossing is two steps through its transit: into the bridge, then out on the other chain.
      const how = `${crossing.name}, chain ${crossing.fromChainId} → ${crossing.toChainId}, paired by ${crossing.by} (confidence ${crossing.confidence})`;
      return s.token === "bridge"
        ? stepText(s, `${money(s.out.tainted, s.out.token, crossing.toChainId)} out of ${how}`)
        : stepText(s, `${money(s.tainted, s.token, s.chainId)} into ${how}`);
    }
    const outChain = s.chainId;
    const how = s.out.steps
      .map((c) => `${c.action} at ${c.venue} ${c.contract.slice(0, 8)}…`)
      .join(", ");
    return stepText(
      s,
      `${money(s.tainted, s.token, s.chainId)} → ${money(s.out.tainted, s.out.token, outChain)} (${how})`,
    );
  });
  return `${money(p.amount, at.token, at.chainId)} via ${hops.join(" ⇒ ")}`;
}

const options: NonNullable<ParseArgsConfig["options"]> = {
  ...stringOptions(
    "rpc",
    "token",
    "seeds",
    "seed-asset",
    "model",
    "to-block",
    "hops",
    "min-amount",
  ),
  ...stringOptions("window"),
  seed: { type: "string", multiple: true },
  chain: { type: "string", multiple: true },
  ...stringOptions("bridges", "freeze-drafts"),
  ...stringOptions("graph", "paths", "decimals", "exit-categories", "max-blocks", "tolerance"),
  labels: { type: "string", multiple: true },
  ...READING_OPTIONS,
  ...flagOptions("json", "no-deposit-addresses", "lazy"),
};

/** `veritrace trace`: follow tainted funds from a seed to where they are now and where they left. */
export const traceCommand: Command = {
  name: "trace",
  usage:
    "--rpc URL [--token ADDR|native|all] [--seed-asset ADDR|native] --seed TXHASH|ADDRESS@BLOCK... [--seeds FILE] " +
    "--model poison|haircut|fifo [--to-block N] " +
    "[--hops N] [--min-amount N] [--window SECONDS] [--labels FILE]... [--exit-categories LIST] " +
    "[--no-deposit-addresses] [--max-blocks N] [--tolerance A] [--graph FILE.svg|.png|.dot] [--lazy] [--json]",
  help: [
    "  --rpc URL            JSON-RPC endpoint of the chain the funds are on",
    "  --token T            all (the default): every asset the taint reaches, through swaps, wrapping",
    '                       and liquidity (docs/taint-models.md, "Conversions"); or one ERC-20 token',
    "                       address, or native (the chain's coin): that asset alone",
    "  --seed-asset A       with every asset: the stolen asset (a token address or native), when the",
    "                       seed transaction moves several; required with ADDRESS@BLOCK",
    "  --seed S             a transaction hash (what it delivered is tainted) or ADDRESS@BLOCK (the",
    "                       address's whole balance at the end of BLOCK is tainted); repeat it for",
    "                       several victims or thefts: one combined trace, each seed's share shown",
    "  --seeds FILE         more seeds, one per line (# starts a comment)",
    "  --chain ID=URL       another chain the funds may cross to by a bridge (repeat for more): its",
    "                       transfers are read from the seed's time on, a bridge deposit paired",
    '                       with its release there is followed (docs/taint-models.md, "Bridges")',
    "  --bridges FILE       bridge contracts beyond the built-in registry, as JSON: {contracts:",
    "                       [{bridge, role, chainId, address, peerChainId?}], tables?, tokens?}",
    "  --model M            poison, haircut or fifo (docs/taint-models.md)",
    "  --to-block N         trace up to this block (default: the head less --confirmations)",
    "  --hops N             follow taint at most N transfers from the seed",
    "  --min-amount N       don't follow transfers carrying less taint (base units of the seed's asset)",
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
    "  --freeze-drafts FILE write freeze request drafts (JSON): per exchange the taint reached, its",
    "                       accounts (deposit addresses with their evidence) and amounts",
    "  --paths N            explanation paths kept per address (default 5)",
    "  --lazy               read only the histories of the addresses the taint reaches, not the",
    "                       whole streams; kept in the store for the next trace (of --token",
    "                       ADDR|native, or of every asset: on each --chain too, a deposit's",
    "                       release found there by its bridge's event; the native coin and every",
    "                       asset need nodes with trace_filter; docs/scale.md)",
    "  --decimals N         the seed asset's decimals for display (default: asked from the token)",
    ...READING_HELP,
    "  --json               the last line is one JSON object: model, token, seed, holdings, exits, total",
  ].join("\n"),
  options,
  async run(values) {
    const url = rpcUrl(values);
    const token = str(values, "token") ?? "all";
    const seedAssetArg = str(values, "seed-asset");
    const chains = chainOptions(values);
    const bridgesFile = str(values, "bridges");
    const bridges = bridgesFile === undefined ? undefined : readBridgesFile(bridgesFile);
    const seedList = [...((values["seed"] as string[] | undefined) ?? [])];
    const seedsFile = str(values, "seeds");
    if (seedsFile !== undefined) seedList.push(...readSeedsFile(seedsFile));
    if (seedList.length === 0) throw new UsageError("--seed (or --seeds FILE) is required");
    const seed = seedList.length === 1 ? (seedList[0] as string) : seedList;
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
    const traced = asUsage(() => normalizeTraceToken(token));
    const seedAsset =
      seedAssetArg === undefined
        ? undefined
        : asUsage(() => {
            const a = normalizeToken(seedAssetArg, "--seed-asset");
            if (traced !== "all" && a !== traced)
              throw new UsageError(`--seed-asset ${a} is not the token traced (--token ${traced})`);
            return a;
          });
    const parsedSeeds = seedList.map((text) => asUsage(() => parseSeed(text)));
    const seen = new Set<string>();
    for (const p of parsedSeeds) {
      const key = formatSeed(p);
      if (seen.has(key)) throw new UsageError(`seed ${key} is given twice`);
      seen.add(key);
    }
    if (traced !== "all" && (chains.length > 0 || bridges !== undefined))
      throw new UsageError("--chain and --bridges need a trace of every asset (--token all)");
    if (
      traced === "all" &&
      parsedSeeds.some((p) => p.kind === "balance") &&
      seedAsset === undefined
    )
      throw new UsageError(
        "a balance seed (ADDRESS@BLOCK) of every asset needs --seed-asset (the asset it seeds)",
      );
    const toBlock = integer(values, "to-block");
    const maxHops = integer(values, "hops");
    const windowSeconds = integer(values, "window", 1);
    const maxPaths = integer(values, "paths");
    const decimalsOption = integer(values, "decimals");
    const confirmations = integer(values, "confirmations");
    const finalityDepth = integer(values, "finality");
    const rpc = new RpcClient(url);
    const chainClients = chains.map((c) => ({ chainId: c.chainId, rpc: new RpcClient(c.url) }));
    // The node is asked about the token, the seed and the blocks before the store is opened: a
    // trace that cannot start leaves nothing behind.
    const plan = await planTrace(rpc, { token, seed, toBlock, confirmations });
    // The other chains answer for their ids before the store is opened.
    const named = new Set([plan.chainId]);
    for (const c of chainClients) {
      const id = Number(await c.rpc.firstCall<string>("eth_chainId"));
      if (id !== c.chainId)
        throw new InvalidInputError(`--chain ${c.chainId}=… answers as chain ${id}`);
      if (named.has(id))
        throw new InvalidInputError(
          `chain ${id} is given twice (--rpc and --chain name one chain once)`,
        );
      named.add(id);
    }
    const store = await openStore(values);
    try {
      await importLabelFiles(values, store, asJson);
      const read = reading(values, asJson);
      const out = await runTrace({
        rpc,
        db: store.db,
        token,
        seedAsset,
        chains: chainClients,
        bridgeContracts: bridges?.contracts,
        bridgeTables: bridges?.tables,
        bridgeTokens: bridges?.tokens,
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
      const r = out.result;
      const every = r.token === "all";
      const manyChains = (out.chains?.length ?? 1) > 1;
      /**
       * An amount of `token` (on `chainId`) with its decimals, and its symbol-less name when
       * several assets show (and its chain when several chains do).
       */
      const amountOf = (v: bigint, token: string, chainId = out.chainId) =>
        formatAmount(
          v,
          token === r.seedAsset && chainId === out.chainId
            ? decimals
            : (out.assetDecimals.get(manyChains ? `${chainId}:${token}` : token) ?? 0),
        ) +
        (every ? ` ${token === "native" ? "native" : `${token.slice(0, 8)}…`}` : "") +
        (manyChains ? ` on ${chainId}` : "");
      const money = (v: bigint) => amountOf(v, r.seedAsset);
      // An address as the picture names it (CHAIN:address on another chain than the seed's).
      const labelOf = (a: string) => engineLabel(labelsNamed(out, a), out.exits);
      const labelText = (x: { address: string; chainId?: number }) =>
        engineLabel(labelsAt(out, x.address, x.chainId), out.exits)?.label ?? "";
      if (graph !== undefined) {
        // Every asset the picture shows, with its decimals (--decimals for the seed's) and, when
        // there are several, its symbol, asked of its chain's node. The picture names an asset of
        // another chain than the seed's CHAIN:token (the trace, across chains, every chain's).
        const pictured = (key: string) => {
          const { chain, id } = splitChain(key);
          return manyChains && chain === out.chainId ? id : key;
        };
        const assets = every
          ? await describeAssets(
              new Map<number | undefined, RpcClient>([
                [undefined, rpc],
                ...chainClients.map((c): [number, RpcClient] => [c.chainId, c.rpc]),
              ]),
              assetsOf(oneNamespace(r, out.chainId).result),
              new Map([...out.assetDecimals].map(([k, d]) => [pictured(k), d])),
            )
          : new Map([[r.token, { decimals, symbol: null }]]);
        await writeGraph(r, graph, {
          decimals: new Map(
            [...assets].map(([t, a]) => [t, t === r.seedAsset ? decimals : a.decimals]),
          ),
          symbols: new Map([...assets].map(([t, a]) => [t, a.symbol])),
          labels: labelOf,
          chainId: out.chainId,
        });
      }
      const draftsFile = str(values, "freeze-drafts");
      if (draftsFile !== undefined) await writeFreezeDrafts(freezeDrafts(out), draftsFile);
      if (asJson) {
        sayIfIncomplete(out.ingest, asJson);
        console.log(JSON.stringify(traceSummaryJson(out)));
        return 0;
      }
      console.log(
        `${r.model} trace of ${every ? `every asset (seed asset ${r.seedAsset})` : r.token} on chain ${out.chainId} from ${seedList.join(", ")}, blocks ${out.fromBlock}–${out.toBlock}: ` +
          `seed ${money(r.seedAmount)}`,
      );
      sayIfIncomplete(out.ingest, asJson);
      console.log("\nexit points");
      // With every asset, an amount is in its own asset and its value in the seed's.
      const valueColumns = every ? ["value"] : [];
      const valueOf = (x: { value: bigint }) => (every ? [money(x.value)] : []);
      console.log(
        table(
          ["address", "kind", "label", "tainted", ...valueColumns, "share of seed", "hops"],
          r.exits.map((e) => [
            e.address,
            e.kind,
            e.label ?? labelText(e),
            amountOf(e.amount, e.token, e.chainId),
            ...valueOf(e),
            share(e.value, r.seedAmount),
            e.hops,
          ]),
          "  (none)",
        ),
      );
      for (const e of r.exits) {
        const top = e.paths[0];
        if (top !== undefined)
          console.log(
            `  ${e.address.slice(0, 10)}…: ${describePath(top, e, (v, t, c) => amountOf(v, t, c))}`,
          );
        if (e.destinations !== undefined)
          for (const d of e.destinations)
            console.log(
              `  ${e.address.slice(0, 10)}…: ${amountOf(d.amount, e.token, e.chainId)} bound for ` +
                `${d.chainId === null ? "a chain the event does not name" : `chain ${d.chainId}`}, no release read`,
            );
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
          ["address", "label", "tainted", ...valueColumns, "share of seed", "hops"],
          r.holdings.map((h) => [
            h.address,
            labelText(h),
            amountOf(h.amount, h.token, h.chainId),
            ...valueOf(h),
            share(h.value, r.seedAmount),
            h.hops,
          ]),
          "  (none)",
        ),
      );
      if (every) {
        const skipped = out.skippedConversions ?? [];
        if (skipped.length > 0)
          console.log(
            `\n${skipped.length} conversion event(s) could not be matched with their transfers (their transfers were followed as they are)`,
          );
      }
      if ((out.crossings ?? []).length > 0) {
        console.log("\nbridge crossings followed");
        for (const p of out.crossings ?? [])
          console.log(
            `  ${p.deposit.bridge}, chain ${p.deposit.chainId} → ${p.release.chainId}, paired by ${p.by} ` +
              `(confidence ${p.confidence}): deposit ${p.deposit.txHash}, release ${p.release.txHash}`,
          );
      }
      const sum = (xs: { value: bigint }[]) => xs.reduce((n, x) => n + x.value, 0n);
      if (r.seeds.length > 1) {
        console.log("\nper seed (each seed alone, the same model)");
        const bySeed = (xs: { bySeed?: { seed: string; value: bigint }[] }[], seed: string) =>
          xs.reduce((n, x) => n + (x.bySeed?.find((b) => b.seed === seed)?.value ?? 0n), 0n);
        console.log(
          table(
            ["seed", "held", "exited"],
            r.seeds.map((p) => {
              const name = formatSeed(p);
              return [name, money(bySeed(r.holdings, name)), money(bySeed(r.exits, name))];
            }),
            "",
          ),
        );
      }
      console.log(
        `\ntotals: seed ${money(r.seedAmount)} = held ${money(sum(r.holdings))} + exited ${money(sum(r.exits))}` +
          ` + beyond hop limit ${money(r.beyondHopLimit)} + below minimum ${money(r.belowMinimum)}` +
          (r.model === "poison"
            ? ` (poison counts mixed funds whole: total ${money(r.total)})`
            : ""),
      );
      for (const w of r.warnings) console.log(`warning: ${w.message}`);
      if (graph !== undefined) console.log(`flow drawn to ${graph}`);
      const draftsWritten = str(values, "freeze-drafts");
      if (draftsWritten !== undefined)
        console.log(`freeze request drafts written to ${draftsWritten}`);
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
