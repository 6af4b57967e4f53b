/**
 * The table of `veritrace` commands, in the order `veritrace --help` lists them: each command's
 * name, its one-line summary, and the module that holds it (under commands/), loaded only when
 * the command runs, so that `veritrace --help` or one command doesn't load every command's
 * dependencies. A command imports what commands share from command.ts, never this table (npm run
 * lint:deps refuses any import cycle).
 */
import type { Command } from "./command.js";

/** One line of the table. */
export interface CommandEntry {
  /** The command's words, e.g. "verify entry". */
  name: string;
  /** One line, for the listings. */
  summary: string;
  /** The command itself, from its module. */
  load(): Promise<Command>;
}

/** A module's command named `name`: an export that is that command, or an array holding it. */
function commandIn(module: Record<string, unknown>, name: string): Command {
  for (const value of Object.values(module)) {
    for (const candidate of Array.isArray(value) ? value : [value]) {
      if (
        typeof candidate === "object" &&
        candidate !== null &&
        (candidate as { name?: unknown }).name === name &&
        typeof (candidate as { run?: unknown }).run === "function"
      )
        return candidate as Command;
    }
  }
  throw new Error(`the module of veritrace ${name} does not export it`);
}

function entry(
  name: string,
  summary: string,
  load: () => Promise<Record<string, unknown>>,
): CommandEntry {
  return { name, summary, load: async () => commandIn(await load(), name) };
}

/** Every command, in the order `veritrace --help` lists them. */
export const COMMANDS: readonly CommandEntry[] = [
  entry(
    "index",
    "read the consortium's events from a JSON-RPC node into the store",
    () => import("./commands/index-chain.js"),
  ),
  entry(
    "case",
    "the chain of custody of a case, in chain order",
    () => import("./commands/reports.js"),
  ),
  entry(
    "report case",
    "a case's report as a PDF (English or Chinese): custody, signature checks, how to verify",
    () => import("./commands/report.js"),
  ),
  entry(
    "institution",
    "what an institution requested and provided, per case",
    () => import("./commands/reports.js"),
  ),
  entry(
    "subject",
    "every case that touched a subject commitment",
    () => import("./commands/reports.js"),
  ),
  entry(
    "verify delivery",
    "re-check both EIP-712 signatures of a delivery off-chain",
    () => import("./commands/verify.js"),
  ),
  entry(
    "verify entry",
    "check an off-chain access-log entry's Merkle inclusion in an anchored batch",
    () => import("./commands/verify.js"),
  ),
  entry(
    "anomalies",
    "what the contracts can't see: anomalies found in the indexed events",
    () => import("./commands/anomalies.js"),
  ),
  entry(
    "freezes",
    "freeze requests to exchanges and their answers; with the off-chain lists, requested vs frozen",
    () => import("./commands/freezes.js"),
  ),
  entry(
    "trace",
    "follow tainted funds (poison, haircut or FIFO) from a seed to holdings and exit points",
    () => import("./commands/trace.js"),
  ),
  entry(
    "transfers",
    "read ERC-20 transfers (one token or every token) or native value transfers into the store",
    () => import("./commands/trace.js"),
  ),
  entry(
    "risk",
    "an address's exposure to sanctioned, hacked, scam and mixing funds: score, verdict, paths",
    () => import("./commands/risk.js"),
  ),
  entry(
    "screen",
    "score a file of addresses (TXT or CSV): verdicts, exposures, errors per line",
    () => import("./commands/risk.js"),
  ),
  entry(
    "cluster",
    "exchange deposit addresses an address used, and the other senders to them (one customer)",
    () => import("./commands/cluster.js"),
  ),
  entry(
    "labels import",
    "import address labels from GraphSense TagPacks (YAML)",
    () => import("./commands/labels.js"),
  ),
  entry(
    "labels show",
    "the labels of addresses, most relevant first",
    () => import("./commands/labels.js"),
  ),
  entry(
    "serve",
    "serve the read-only HTTP API over the store (--follow: and index the chain into it)",
    () => import("./commands/serve.js"),
  ),
  entry(
    "access-log anchor",
    "anchor the access log's new entries on chain (one Merkle root for the batch)",
    () => import("./commands/access-log.js"),
  ),
  entry(
    "access-log proof",
    "the inclusion proof of one anchored access-log entry (for veritrace verify entry)",
    () => import("./commands/access-log.js"),
  ),
  entry(
    "access-log check",
    "hold an access log against every anchor of its institution: unchanged, changed, missing",
    () => import("./commands/access-log.js"),
  ),
  entry(
    "exchange serve",
    "provider's gateway: a grant's export sealed to the requester, signed, served to it alone",
    () => import("./commands/exchange.js"),
  ),
  entry(
    "exchange fetch",
    "requester: download a delivery, verify and decrypt it, co-sign it on the ledger",
    () => import("./commands/exchange.js"),
  ),
  entry(
    "match serve",
    "answer private set intersection requests over HTTP (provider)",
    () => import("./commands/match/online.js"),
  ),
  entry(
    "match run",
    "run a private set intersection against a provider over HTTP (requester)",
    () => import("./commands/match/online.js"),
  ),
  entry(
    "match blind",
    "air-gapped step 1 (requester): blind the identifiers into a request file",
    () => import("./commands/match/air-gapped.js"),
  ),
  entry(
    "match respond",
    "air-gapped step 2 (provider): answer a request file with a response file",
    () => import("./commands/match/air-gapped.js"),
  ),
  entry(
    "match finish",
    "air-gapped step 3 (requester): the result from the state and the response file",
    () => import("./commands/match/air-gapped.js"),
  ),
  entry(
    "match cosign",
    "air-gapped step 4 (provider): co-sign the result of a session it answered",
    () => import("./commands/match/ledger.js"),
  ),
  entry(
    "match record",
    "air-gapped step 5 (requester): record the co-signed result on the ledger",
    () => import("./commands/match/ledger.js"),
  ),
];
