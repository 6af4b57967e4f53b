/**
 * `veritrace risk` (one address, explained; optionally published as a consortium label) and
 * `veritrace screen` (a file of addresses).
 */
import { renameSync, rmSync, writeFileSync } from "node:fs";
import { extname } from "node:path";
import { createInterface } from "node:readline/promises";
import type { ParseArgsConfig } from "node:util";
import {
  flagOptions,
  openStore,
  rpcUrl,
  stringOptions,
  type Command,
  type Values,
} from "../command.js";
import { inputName, isStdin, oneStdin, readInputTextOr } from "../../shared/input.js";
import { integer, required, str } from "../../shared/options.js";
import { json, share, table } from "../../shared/format.js";
import { ProgressBar } from "../progress.js";
import { readDeployment } from "../../client/deployment.js";
import { InvalidInputError, NotFoundError, TracerError, UsageError } from "../../shared/errors.js";
import { formatAmount } from "../../analytics/funds/graph.js";
import { normalizeToken, tokenDecimals } from "../../analytics/funds/run.js";
import { RpcClient } from "../../chain/rpc.js";
import {
  READING_HELP,
  READING_OPTIONS,
  importLabelFiles,
  readingProgress,
  sayIfIncomplete,
  stepText,
} from "../chain-reading.js";
import {
  DEFAULT_HOPS,
  DEFAULT_RISK_CONFIG,
  MAX_HOPS,
  readRiskConfig,
  type RiskConfig,
  VERDICTS,
  type Verdict,
} from "../../analytics/risk/config.js";
import type { Wallet } from "ethers";
import {
  alertLabel,
  checkPublish,
  publishAlert,
  type PublishPlan,
} from "../../analytics/risk/publish.js";
import { unlockKeystore } from "../../chain/institution.js";
import type { RiskReport } from "../../analytics/risk/score.js";
import {
  addressProblem,
  parseScreenInput,
  screenAddresses,
  screenCsv,
  screenJson,
  type ScreenEntry,
  type ScreenRequest,
  type ScreenResult,
} from "../../analytics/risk/screen.js";
import { riskReportJson } from "../../analytics/risk/score.js";

/** Options both commands take. */
const COMMON: NonNullable<ParseArgsConfig["options"]> = {
  ...stringOptions("rpc", "token", "hops", "from", "to-block", "since", "until", "config", "paths"),
  labels: { type: "string", multiple: true },
  ...READING_OPTIONS,
  ...flagOptions("json"),
};

const COMMON_HELP = [
  "  --rpc URL            JSON-RPC endpoint of the chain the address is on",
  "  --token ADDR|native  the ERC-20 token, or the chain's native coin (default native)",
  `  --hops N             walk back at most N transfers (default ${DEFAULT_HOPS}, at most ${MAX_HOPS})`,
  "  --from N             first block (default: where the token's stream starts, or 0)",
  "  --to-block N         last block (default: the head less --confirmations)",
  "  --since TIME         count transfers from this block time on (unix seconds or ISO 8601)",
  "  --until TIME         count transfers up to this block time",
  "  --config FILE        score weights, hop factors, saturation, thresholds (JSON; docs/risk.md;",
  "                       - reads stdin)",
  "  --labels FILE        import a TagPack first (repeat the option for each file; - reads stdin)",
  "  --paths N            paths reported per scoring category (default 3)",
  ...READING_HELP,
];

function time(values: Values, name: string): number | undefined {
  const v = str(values, name);
  if (v === undefined) return undefined;
  if (/^\d{1,12}$/.test(v)) return Number(v);
  const t = Date.parse(v);
  if (!/^\d{4}-\d{2}-\d{2}/.test(v) || Number.isNaN(t))
    throw new UsageError(
      `--${name} must be unix seconds or an ISO 8601 time, got ${JSON.stringify(v)}`,
    );
  return Math.floor(t / 1000);
}

type ScreenOptions = Omit<ScreenRequest, "rpc" | "db" | "entries"> & { url: string };

/**
 * The options of a screening, checked (usage errors) before the node or the store is touched.
 * Reads --config, which may be stdin: call it once.
 */
function screenOptions(values: Values): ScreenOptions {
  const url = rpcUrl(values);
  const token = str(values, "token") ?? "native";
  try {
    normalizeToken(token);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const hops = integer(values, "hops", 1) ?? DEFAULT_HOPS;
  if (hops > MAX_HOPS) throw new UsageError(`--hops must be at most ${MAX_HOPS}, got ${hops}`);
  const paths = integer(values, "paths") ?? 3;
  if (paths > 20) throw new UsageError(`--paths must be at most 20, got ${paths}`);
  const configFile = str(values, "config");
  let config: RiskConfig = DEFAULT_RISK_CONFIG;
  if (configFile !== undefined) {
    try {
      config = readRiskConfig(configFile);
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
  }
  const since = time(values, "since");
  const until = time(values, "until");
  if (since !== undefined && until !== undefined && until < since)
    throw new UsageError("--until is before --since");
  return {
    url,
    token: token === "native" ? token : token.toLowerCase(),
    hops,
    paths,
    config,
    fromBlock: integer(values, "from"),
    toBlock: integer(values, "to-block"),
    since,
    until,
    confirmations: integer(values, "confirmations"),
    finalityDepth: integer(values, "finality"),
    traceCalls: values["no-trace-calls"] !== true,
  };
}

/** Opens the store, imports --labels, runs the screening with progress bars, closes the store. */
async function runScreening(
  values: Values,
  { url, ...options }: ScreenOptions,
  entries: readonly ScreenEntry[],
  quiet: boolean,
): Promise<ScreenResult> {
  const rpc = new RpcClient(url);
  const store = await openStore(values);
  try {
    await importLabelFiles(values, store, quiet);
    const screening = quiet
      ? null
      : new ProgressBar("screening", { done: "addresses", events: "addresses" });
    const result = await screenAddresses({
      ...options,
      rpc,
      db: store.db,
      entries,
      onIngest: readingProgress(quiet ? null : new ProgressBar("reading transfers")),
      onScreen: (p) => screening?.update({ ...p, events: p.done }, p.done === p.total),
    });
    if (screening !== null && process.stderr.isTTY === true) process.stderr.write("\n");
    return result;
  } finally {
    await store.close();
  }
}

/** Writes a file whole or not at all: a temporary file renamed over it. */
function writeAtomically(file: string, text: string): void {
  const temp = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(temp, text);
    renameSync(temp, file);
  } catch (error) {
    rmSync(temp, { force: true });
    throw new TracerError(`cannot write ${file}: ${(error as Error).message}`);
  }
}

/** Asks on the terminal; true only for yes. */
async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}

function describe(r: RiskReport, money: (v: bigint) => string): string[] {
  const out: string[] = [];
  if (r.label !== null) out.push(`own label: ${r.label.category} (${r.label.label})`);
  out.push(
    table(
      ["category", "direct", "indirect", "share", "points"],
      r.exposures.map((e) => [
        e.category,
        money(e.direct),
        money(e.indirect),
        share(e.direct + e.indirect, r.received),
        (e.centipoints / 100).toFixed(2),
      ]),
      "no exposure to labeled addresses",
    ),
  );
  if (r.paths.length > 0) out.push("", "largest paths");
  for (const p of r.paths) {
    const steps = p.steps.map((s) => stepText(s, money(s.amount)));
    out.push(
      `  ${p.category} ${money(p.amount)} from ${p.sourceLabel || p.source}: ${steps.join(" ⇒ ")}`,
    );
  }
  return out;
}

export const riskCommand: Command = {
  name: "risk",
  usage:
    "ADDRESS --rpc URL [--token ADDR|native] [--hops N] [--from N] [--to-block N] [--since T] [--until T] " +
    "[--config FILE] [--json] [--publish --case COMMITMENT [--case-opener ID] --deployment FILE --keystore FILE [--yes]]",
  help: [
    ...COMMON_HELP,
    "  --decimals N         the token's decimals for display (default: asked from the token)",
    "  --json               the last line is one JSON object: score, verdict, exposures, paths",
    "  --publish            publish a high or severe verdict as a consortium label (top category,",
    "                       confidence = score), after confirmation",
    "  --case COMMITMENT    the active case the label is bound to (case number commitment)",
    "  --case-opener ID     the police participant that opened that case (default: the key's own",
    "                       participant; commitments are unique per opener only)",
    "  --deployment FILE    the consortium's deployment record",
    "  --keystore FILE      encrypted JSON keystore of a participant's key; its password from",
    "                       --password-file, VERITRACE_KEYSTORE_PASSWORD or a hidden prompt",
    "  --password-file FILE the keystore's password, its first line (mode 600; never the command line)",
    "  --ledger-rpc URL     the consortium's node (default --rpc)",
    "  --yes                don't ask (required when stdin is not a terminal)",
    "See docs/risk.md for the method and the score.",
  ].join("\n"),
  options: {
    ...COMMON,
    ...stringOptions("decimals", "case", "case-opener", "ledger-rpc"),
    ...stringOptions("deployment", "keystore", "password-file"),
    ...flagOptions("publish", "yes"),
  },
  async run(values, positionals) {
    if (positionals.length !== 1 || positionals[0] === undefined)
      throw new UsageError("expected one address");
    const address = positionals[0];
    const problem = addressProblem(address);
    if (problem !== null) throw new UsageError(`${JSON.stringify(address)}: ${problem}`);
    oneStdin(values, ["labels", "config"]);
    const options = screenOptions(values);
    const asJson = values["json"] === true;
    const decimalsOption = integer(values, "decimals");
    let plan: PublishPlan | null = null;
    let key: Wallet | null = null;
    if (values["publish"] === true) {
      plan = checkPublish({
        ledgerRpc: rpcUrl(values, "ledger-rpc", str(values, "rpc")),
        deployment: str(values, "deployment"),
        keystore: str(values, "keystore"),
        passwordFile: str(values, "password-file"),
        caseNumberCommitment: str(values, "case"),
        caseOpener: integer(values, "case-opener", 1),
      });
      if (values["yes"] !== true && process.stdin.isTTY !== true)
        throw new UsageError(
          "--publish asks for confirmation: give --yes when stdin is not a terminal",
        );
      readDeployment(plan.deployment);
      // Decrypted before any work: a wrong password or keystore fails at once, not after the
      // screening.
      key = await unlockKeystore(plan);
    }
    const result = await runScreening(values, options, [{ line: 1, input: address }], asJson);
    const line = result.lines[0];
    if (line === undefined || line.report === null)
      throw new InvalidInputError(`${address}: ${line?.error ?? "not screened"}`);
    const r = line.report;
    const stream = result.streams[0];
    if (asJson) sayIfIncomplete(stream, asJson);
    else {
      const decimals =
        decimalsOption ??
        (await tokenDecimals(new RpcClient(required(values, "rpc")), line.token ?? "native")) ??
        0;
      const money = (v: bigint) => formatAmount(v, decimals);
      console.log(
        `${r.address} on chain ${result.chainId}, ${line.token}, blocks ${stream?.fromBlock ?? 0}–${result.toBlock}, ` +
          `${r.hops} hops: score ${r.score}/100, ${r.verdict.toUpperCase()}`,
      );
      sayIfIncomplete(stream, asJson);
      console.log(`received ${money(r.received)}\n`);
      for (const text of describe(r, money)) console.log(text);
    }
    let published: Awaited<ReturnType<typeof publishAlert>> | null = null;
    if (plan !== null && key !== null) {
      const { category, confidence } = alertLabel(r);
      const ok =
        values["yes"] === true ||
        (await confirm(
          `publish label "${category}" (confidence ${confidence}) on ${r.address} under case ${plan.caseNumberCommitment}?`,
        ));
      if (!ok) throw new TracerError("not published: not confirmed");
      published = await publishAlert(plan, key, r, result.chainId);
      if (!asJson)
        console.log(
          `\npublished consortium label ${published.labelId}: ${published.category}, confidence ${published.confidence}`,
        );
    }
    if (asJson) {
      console.log(
        JSON.stringify({
          chainId: result.chainId,
          token: line.token,
          fromBlock: stream?.fromBlock ?? null,
          toBlock: result.toBlock,
          ...riskReportJson(r),
          ...(published === null
            ? {}
            : {
                published: { labelId: published.labelId.toString(), category: published.category },
              }),
        }),
      );
    }
    return 0;
  },
};

export const screenCommand: Command = {
  name: "screen",
  usage:
    "FILE.csv|FILE.txt --rpc URL [--token ADDR|native] [--hops N] [--json | --csv] [--out FILE]",
  help: [
    ...COMMON_HELP,
    "  --json               one JSON object: counts, and per line its score, verdict, exposures, paths or error",
    "  --csv                one CSV row per line: line, input, token, score, verdict, received, top category, error",
    "  --out FILE           write the JSON or CSV there (whole or not at all) instead of stdout",
    "  --fail-on LEVEL      exit 3 when any address scores LEVEL or above (medium, high, severe),",
    "                       after the whole output is written: for pipelines",
    "  --format csv|txt     the input's format (default: from FILE's extension; txt for -)",
    "FILE: one address a line (# comments), or CSV with an address column and an optional token column;",
    "- reads stdin.",
    "A malformed or non-EVM address, or an unknown token, is reported on its line; the batch goes on.",
  ].join("\n"),
  options: {
    ...COMMON,
    ...stringOptions("out", "fail-on", "format"),
    ...flagOptions("csv"),
  },
  async run(values, positionals) {
    if (positionals.length !== 1 || positionals[0] === undefined)
      throw new UsageError("expected one file of addresses (.csv or .txt, or - for stdin)");
    oneStdin(values, ["labels", "config"], positionals);
    const failOn = str(values, "fail-on");
    if (failOn !== undefined && !(VERDICTS as readonly string[]).includes(failOn))
      throw new UsageError(
        `--fail-on must be one of ${VERDICTS.join(", ")}, got ${JSON.stringify(failOn.slice(0, 40))}`,
      );
    const format = str(values, "format");
    if (format !== undefined && format !== "csv" && format !== "txt")
      throw new UsageError(
        `--format must be csv or txt, got ${JSON.stringify(format.slice(0, 40))}`,
      );
    const file = positionals[0];
    const asJson = values["json"] === true;
    const asCsv = values["csv"] === true;
    if (asJson && asCsv) throw new UsageError("--json and --csv: choose one");
    const out = str(values, "out");
    if (out !== undefined && !asJson && !asCsv) throw new UsageError("--out needs --json or --csv");
    const options = screenOptions(values);
    // "-" is stdin, as for any command that reads a file.
    const text = readInputTextOr(
      file,
      (reason) => new NotFoundError(`cannot read ${inputName(file)}: ${reason}`),
    );
    const csv =
      format === undefined
        ? !isStdin(file) && extname(file).toLowerCase() === ".csv"
        : format === "csv";
    const entries = parseScreenInput(text, csv);
    if (entries.length === 0) throw new InvalidInputError(`${inputName(file)}: no address in it`);
    const result = await runScreening(values, options, entries, false);
    // With --fail-on, the exit code says whether any address reached the level (after the output).
    const verdictCode = (): number => {
      if (failOn === undefined) return 0;
      const level = VERDICTS.indexOf(failOn as Verdict);
      const hits = result.lines.filter(
        (l) => l.report !== null && VERDICTS.indexOf(l.report.verdict) >= level,
      ).length;
      if (hits === 0) return 0;
      process.stderr.write(
        `veritrace screen: ${hits} of ${result.lines.length} lines score ${failOn} or above\n`,
      );
      return 3;
    };
    if (asJson || asCsv) {
      const body = asJson ? `${JSON.stringify(screenJson(result))}\n` : screenCsv(result);
      if (out === undefined || out === "-") process.stdout.write(body);
      else writeAtomically(out, body);
      return verdictCode();
    }
    const summary = screenJson(result);
    console.log(
      `screened ${String(summary["screened"])} of ${String(summary["addresses"])} lines on chain ${result.chainId} ` +
        `up to block ${result.toBlock}, ${result.hops} hops: ${json(summary["verdicts"]).replace(/\s+/g, " ")}`,
    );
    for (const s of result.streams) sayIfIncomplete(s, false, `${s.token}: `);
    const flagged = result.lines.filter((l) => l.report !== null && l.report.verdict !== "low");
    if (flagged.length > 0) {
      console.log("");
      console.log(
        table(
          ["line", "address", "score", "verdict", "top category", "share"],
          flagged.map((l) => {
            const r = l.report as RiskReport;
            const top = r.exposures[0];
            return [
              l.line,
              r.address,
              r.score,
              r.verdict,
              top?.category ?? "",
              top === undefined ? "" : share(top.direct + top.indirect, r.received),
            ];
          }),
        ),
      );
    }
    const failed = result.lines.filter((l) => l.error !== null);
    if (failed.length > 0) {
      console.log("");
      for (const l of failed)
        console.log(`line ${l.line}: ${JSON.stringify(l.input)}: ${l.error ?? ""}`);
    }
    return verdictCode();
  },
};
