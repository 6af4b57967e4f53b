/**
 * Screening: many addresses scored over one ingested history. Each token's transfers are read
 * into the store once (the same sync engine and `transfers` table as `veritrace trace`; a later
 * screen reads only the new blocks), loaded once, indexed once, and every address is walked on
 * the same memoized engine. Bad input is reported per line and never stops the batch.
 */
import { parse } from "csv-parse/sync";
import { InvalidInputError, UnavailableError } from "../../shared/errors.js";
import { ingestTransfers } from "../funds/ingest.js";
import { normalizeToken } from "../funds/run.js";
import type { Label as EngineLabel, Transfer } from "../funds/types.js";
import type { RpcClient } from "../../chain/rpc.js";
import { allLabelsFor } from "../labels/chain.js";
import { addressFormat, hasValidChecksum, isEvmAddress } from "../labels/networks.js";
import { labelsFor } from "../labels/store.js";
import type { Database } from "../../db/db.js";
import { FEE_SINK, loadFlows, streamId, streamStart, txHashesAt } from "../../db/streams.js";
import { VERDICTS, type RiskConfig, type Verdict } from "./config.js";
import { ExposureEngine, InflowIndex } from "./exposure.js";
import { assessAddress, riskReportJson, type RiskReport } from "./score.js";

/** One line of a screening input: an address, and optionally its token. */
export interface ScreenEntry {
  /** 1-based line number in the input. */
  line: number;
  input: string;
  token?: string;
}

/**
 * Reads a screening file: one address a line (TXT; `#` starts a comment line), or CSV with an
 * address and a token column. CSV is read by a real parser (csv-parse): quoted cells with commas,
 * quotes and line breaks, a byte-order mark, and the delimiter of the file's first line (`,`, or
 * `;` as European spreadsheet exports write, or a tab). A header row naming an `address` column
 * (and optionally `token`) picks the columns; without one, the address is the first cell and the
 * token the second. Each entry keeps the line its record starts on.
 */
export function parseScreenInput(text: string, csv: boolean): ScreenEntry[] {
  if (csv) return parseScreenCsv(text);
  const entries: ScreenEntry[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const cells = line.split(/[\s,]+/);
    entries.push({
      line: i + 1,
      input: cells[0] ?? "",
      ...(cells[1] === undefined || cells[1] === "" ? {} : { token: cells[1] }),
    });
  });
  return entries;
}

/** The delimiter of a CSV file: the most frequent of `,`, `;` and tab outside quotes on its first data line. */
function csvDelimiter(text: string): string {
  const first =
    text
      .replace(/^\uFEFF/, "")
      .split(/\r?\n/)
      .find((l) => l.trim() !== "" && !l.trimStart().startsWith("#")) ?? "";
  const unquoted = first.replace(/"[^"]*"/g, "");
  const count = (c: string) => unquoted.split(c).length - 1;
  return [",", ";", "\t"].reduce((best, c) => (count(c) > count(best) ? c : best), ",");
}

function parseScreenCsv(text: string): ScreenEntry[] {
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(text, {
      bom: true,
      delimiter: csvDelimiter(text),
      comment: "#",
      comment_no_infix: true,
      info: true,
      relax_column_count: true,
      skip_empty_lines: true,
      trim: true,
    }) as unknown as { record: string[]; info: { lines: number } }[];
  } catch (error) {
    const e = error as Error & { lines?: number };
    throw new InvalidInputError(
      `not readable as CSV${e.lines === undefined ? "" : ` at line ${e.lines}`}: ${e.message.split("\n")[0]}`,
    );
  }
  const entries: ScreenEntry[] = [];
  let addressColumn = 0;
  let tokenColumn = 1;
  records.forEach(({ record, info }, i) => {
    // info.lines is the line the record ends on; quoted line breaks inside it come before.
    const breaks = record.reduce((n, cell) => n + (cell.match(/\n/g)?.length ?? 0), 0);
    const line = info.lines - breaks;
    if (i === 0) {
      const names = record.map((c) => c.toLowerCase());
      if (names.includes("address")) {
        addressColumn = names.indexOf("address");
        tokenColumn = names.indexOf("token");
        return;
      }
    }
    if (record.every((c) => c === "")) return;
    const token = tokenColumn >= 0 ? record[tokenColumn] : undefined;
    entries.push({
      line,
      input: record[addressColumn] ?? "",
      ...(token === undefined || token === "" ? {} : { token }),
    });
  });
  return entries;
}

/** Why an address can't be screened, or null when it can. */
export function addressProblem(input: string): string | null {
  if (isEvmAddress(input))
    return hasValidChecksum(input) ? null : "bad EIP-55 checksum (mixed case that is no checksum)";
  if (input === "") return "no address";
  const format = addressFormat(input);
  return format === null
    ? "malformed address: expected 0x and 40 hex digits"
    : `not an EVM address (${format} format): risk is scored on EVM chains only`;
}

export interface ScreenRequest {
  rpc: RpcClient;
  db: Database;
  entries: readonly ScreenEntry[];
  /** The token of entries that name none: an address or "native". */
  token: string;
  hops: number;
  config: RiskConfig;
  /** Paths reported per scoring category (default 3). */
  paths?: number;
  /** First block (default: the stream's start, or 0), last block (default: the head). */
  fromBlock?: number;
  toBlock?: number;
  /** Block times (unix seconds), inclusive. */
  since?: number;
  until?: number;
  confirmations?: number;
  finalityDepth?: number;
  traceCalls?: boolean;
  onIngest?: (p: { token: string; indexedTo: number; target: number; rows: number }) => void;
  onScreen?: (p: { done: number; total: number }) => void;
}

/** One line's answer: a report, or the reason it has none. */
export interface ScreenLine {
  line: number;
  input: string;
  address: string | null;
  token: string | null;
  report: RiskReport | null;
  error: string | null;
}

export interface ScreenResult {
  chainId: number;
  hops: number;
  toBlock: number;
  streams: {
    token: string;
    fromBlock: number;
    transfers: number;
    complete: boolean;
    note: string | null;
  }[];
  lines: ScreenLine[];
}

/**
 * What screening does once a token's history is in the store: its transfers loaded once, the
 * labels of every address in them looked up once, the inflow index built once, and each address
 * walked on the same memoized engine and scored. Reports are in the order of `addresses` (an
 * address given twice is assessed once). `npm run bench:risk` times exactly this.
 */
export async function screenIngested(req: {
  db: Database;
  chainId: number;
  stream: string;
  token: string;
  fromBlock: number;
  toBlock: number;
  addresses: readonly string[];
  hops: number;
  config: RiskConfig;
  paths?: number;
  since?: number;
  until?: number;
  onAssessed?: () => void;
  /** Seconds each phase took: load, labels, index, assess. */
  onPhase?: (phase: "load" | "labels" | "index" | "assess", seconds: number) => void;
}): Promise<{ reports: RiskReport[]; transfers: number }> {
  let mark = performance.now();
  const phase = (name: "load" | "labels" | "index" | "assess") => {
    const now = performance.now();
    req.onPhase?.(name, (now - mark) / 1000);
    mark = now;
  };
  // The value flow only: the hashes of the few transfers reported in paths are read at the end.
  const transfers = await loadFlows(
    req.db,
    req.stream,
    req.token,
    req.fromBlock,
    req.toBlock,
    (f): Transfer => ({
      blockNumber: f.blockNumber,
      txIndex: 0, // not read: (block, ordinal) is the stored chain order
      ordinal: f.ordinal,
      txHash: "",
      token: req.token,
      from: f.from,
      to: f.to,
      amount: f.amount,
      time: f.blockTime,
    }),
  );
  const addresses = new Set<string>();
  for (const t of transfers) {
    addresses.add(t.from);
    addresses.add(t.to);
  }
  for (const a of req.addresses) addresses.add(a);
  addresses.delete(FEE_SINK);
  phase("load");
  const labels = await allLabelsFor(req.db, [...addresses], req.chainId);
  phase("labels");
  const lookup = (a: string): EngineLabel | undefined => {
    const first = labels.get(a)?.[0];
    return first === undefined ? undefined : { category: first.category, label: first.label };
  };
  const index = new InflowIndex(transfers, {
    token: req.token,
    window: { fromTime: req.since, toTime: req.until },
    labels: lookup,
    extra: req.addresses,
  });
  const engine = new ExposureEngine(index, req.hops);
  phase("index");
  const known = new Map<string, RiskReport>();
  const reports = req.addresses.map((address) => {
    let report = known.get(address);
    if (report === undefined) {
      report = assessAddress(engine, address, req.config, { hops: req.hops, paths: req.paths });
      known.set(address, report);
    }
    req.onAssessed?.();
    return report;
  });
  const steps = [...known.values()].flatMap((r) => r.paths.flatMap((p) => p.steps));
  const hashes = await txHashesAt(req.db, req.stream, steps);
  for (const step of steps) {
    const hash = hashes.get(`${step.blockNumber}:${step.ordinal}`);
    if (hash === undefined)
      throw new UnavailableError(
        `transfer at block ${step.blockNumber}, position ${step.ordinal} is no longer stored`,
      );
    step.txHash = hash;
  }
  phase("assess");
  return { reports, transfers: index.length };
}

/**
 * Scores every entry. Per-line problems (a malformed or non-EVM address, a token that is no
 * address or has no contract) become that line's `error`; a node or store failure throws.
 */
export async function screenAddresses(req: ScreenRequest): Promise<ScreenResult> {
  const chainId = Number(await req.rpc.firstCall<string>("eth_chainId"));
  const head = Number(await req.rpc.call<string>("eth_blockNumber"));
  const toBlock = req.toBlock ?? head - (req.confirmations ?? 0);
  if (toBlock > head)
    throw new InvalidInputError(`--to-block ${toBlock} is beyond the node's head ${head}`);
  if (toBlock < 0)
    throw new InvalidInputError(`no block left after --confirmations ${req.confirmations ?? 0}`);
  if (req.fromBlock !== undefined && req.fromBlock > toBlock)
    throw new InvalidInputError(`--from ${req.fromBlock} is after the last block ${toBlock}`);

  const lines: ScreenLine[] = req.entries.map((e) => ({
    line: e.line,
    input: e.input,
    address: null,
    token: null,
    report: null,
    error: null,
  }));
  // Per-line checks: the address, then the token's form.
  const nonEvm: ScreenLine[] = [];
  for (const [i, e] of req.entries.entries()) {
    const l = lines[i] as ScreenLine;
    const problem = addressProblem(e.input);
    if (problem !== null) {
      l.error = problem;
      if (problem.startsWith("not an EVM")) nonEvm.push(l);
      continue;
    }
    l.address = e.input.toLowerCase();
    try {
      l.token = normalizeToken(e.token ?? req.token);
    } catch {
      l.error = `token ${JSON.stringify(e.token ?? req.token)} is not a token address or "native"`;
    }
  }
  // Non-EVM addresses the labels know (TagPacks list Bitcoin and Tron addresses) say so.
  const known = await labelsFor(
    req.db,
    nonEvm.map((l) => l.input),
  );
  for (const l of nonEvm) {
    const label = known.get(l.input)?.[0];
    if (label !== undefined)
      l.error += `; labeled ${label.category} on ${label.network} (${label.tagpack.title})`;
  }

  const byToken = new Map<string, ScreenLine[]>();
  for (const l of lines)
    if (l.error === null && l.token !== null)
      byToken.set(l.token, [...(byToken.get(l.token) ?? []), l]);
  const total = [...byToken.values()].reduce((n, ls) => n + ls.length, 0);
  let done = 0;
  const streams: ScreenResult["streams"] = [];
  for (const [token, tokenLines] of byToken) {
    if (token !== "native") {
      const code = await req.rpc.call<string>("eth_getCode", [token, "latest"]);
      if (code === "0x") {
        for (const l of tokenLines)
          l.error = `no contract at token address ${token} on chain ${chainId}`;
        done += tokenLines.length;
        continue;
      }
    }
    const kind = token === "native" ? "native" : "erc20";
    const id = streamId({ chainId, kind, token });
    const startBlock = req.fromBlock ?? (await streamStart(req.db, id)) ?? 0;
    const ingest = await ingestTransfers(
      req.db,
      req.rpc,
      { chainId, kind, token, startBlock },
      {
        toBlock,
        finalityDepth: req.finalityDepth,
        traceCalls: req.traceCalls,
        onProgress: (p) => req.onIngest?.({ token, ...p }),
      },
    );
    const from = Math.max(startBlock, (await streamStart(req.db, id)) ?? startBlock);
    const screened = await screenIngested({
      db: req.db,
      chainId,
      stream: id,
      token,
      fromBlock: from,
      toBlock,
      addresses: tokenLines.map((l) => l.address as string),
      hops: req.hops,
      config: req.config,
      paths: req.paths,
      since: req.since,
      until: req.until,
      onAssessed: () => req.onScreen?.({ done: ++done, total }),
    });
    tokenLines.forEach((l, i) => (l.report = screened.reports[i] as RiskReport));
    streams.push({
      token,
      fromBlock: from,
      transfers: screened.transfers,
      complete: ingest.complete,
      note: ingest.note,
    });
  }
  return { chainId, hops: req.hops, toBlock, streams, lines };
}

/** Counts of each verdict. */
export function verdictCounts(lines: readonly ScreenLine[]): Record<Verdict, number> {
  const counts = Object.fromEntries(VERDICTS.map((v) => [v, 0])) as Record<Verdict, number>;
  for (const l of lines) if (l.report !== null) counts[l.report.verdict]++;
  return counts;
}

/** The object `veritrace screen --json` prints and `POST /risk/screen` answers. */
export function screenJson(r: ScreenResult) {
  return {
    chainId: r.chainId,
    hops: r.hops,
    toBlock: r.toBlock,
    addresses: r.lines.length,
    screened: r.lines.filter((l) => l.report !== null).length,
    errors: r.lines.filter((l) => l.error !== null).length,
    verdicts: verdictCounts(r.lines),
    streams: r.streams,
    results: r.lines.map(lineJson),
  };
}

/** A line as JSON: its report (a screened line has its token), or why it was not screened. */
function lineJson(l: ScreenLine) {
  if (l.report !== null && l.token !== null)
    return { line: l.line, input: l.input, token: l.token, ...riskReportJson(l.report) };
  if (l.report === null && l.error !== null)
    return { line: l.line, input: l.input, error: l.error };
  throw new Error(`screen: line ${l.line} is neither screened nor refused`);
}

/**
 * One CSV cell (RFC 4180 quoting). A cell that a spreadsheet would read as a formula (starting
 * with `=`, `+`, `-`, `@`, a tab or a carriage return) gets a leading `'`, as OWASP advises
 * against CSV injection: the screened file's own text (an "address" such as
 * `=HYPERLINK(…)`) comes back in the `input` column.
 */
export function csvCell(v: string | number): string {
  let s = String(v);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\n\r;]/.test(s) || s.startsWith("'") ? `"${s.replace(/"/g, '""')}"` : s;
}

/** `veritrace screen --csv`: one row per input line. */
export function screenCsv(r: ScreenResult): string {
  const rows = [
    [
      "line",
      "input",
      "token",
      "score",
      "verdict",
      "received",
      "top_category",
      "top_share",
      "error",
    ],
  ];
  for (const l of r.lines) {
    const top = l.report?.exposures[0];
    const received = l.report?.received ?? 0n;
    rows.push([
      String(l.line),
      l.input,
      l.token ?? "",
      l.report === null ? "" : String(l.report.score),
      l.report?.verdict ?? "",
      l.report === null ? "" : received.toString(),
      top?.category ?? "",
      top === undefined ? "" : `${(top.shareBasisPoints / 100).toFixed(2)}%`,
      l.error ?? "",
    ]);
  }
  return rows.map((row) => row.map(csvCell).join(",")).join("\n") + "\n";
}
