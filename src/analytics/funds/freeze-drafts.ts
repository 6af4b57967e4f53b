/**
 * Freeze request drafts from a trace (`veritrace trace --freeze-drafts FILE`): per exchange, the
 * accounts where the taint reached it (a deposit address, which is what the exchange freezes, with
 * the forwards that show it and the heuristic's confidence; or a labeled exchange address) and the
 * tainted amount in each, as the items a freeze request list takes (docs/contracts.md, "Freezes":
 * chainId, token, the zero address for a chain's native coin, account, amount). The investigator
 * completes a draft with the case and the EXCHANGE participant to build the request list.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { rename, unlink, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { z } from "zod";
import { InvalidInputError, NotFoundError, TracerError } from "../../shared/errors.js";
import { formatSeed } from "./seed.js";
import { ZERO_ADDRESS } from "./types.js";
import type { RunTraceOutput } from "./run-common.js";

export const FREEZE_DRAFT_VERSION = "veritrace-freeze-draft/1";

/** One account to freeze, with why. */
export interface FreezeDraftItem {
  chainId: number;
  /** A token address; the zero address for the chain's native coin. */
  token: string;
  account: string;
  /** The taint that reached the account, in the token's base units (decimal string). */
  amount: string;
  /** Its value in the seed's asset (decimal string). */
  value: string;
  /** For a deposit address: the forwards to the exchange that show it, and the confidence. */
  evidence?: string[];
  confidence?: number;
}

export interface FreezeDraft {
  /** The exchange: the hot wallet the deposit addresses forward to, or the labeled address. */
  exchange: { address: string; label: string };
  items: FreezeDraftItem[];
}

export interface FreezeDrafts {
  version: typeof FREEZE_DRAFT_VERSION;
  model: string;
  seeds: string[];
  seedAsset: string;
  drafts: FreezeDraft[];
}

/** The drafts of a trace: one per exchange its taint reached, accounts by amount descending. */
export function freezeDrafts(out: RunTraceOutput): FreezeDrafts {
  const r = out.result;
  const byExchange = new Map<string, FreezeDraft>();
  for (const e of r.exits) {
    if (e.kind !== "exchange") continue;
    const exchange = e.depositOf ?? { address: e.address, label: e.label ?? "exchange" };
    let draft = byExchange.get(exchange.address);
    if (draft === undefined)
      byExchange.set(exchange.address, (draft = { exchange: { ...exchange }, items: [] }));
    draft.items.push({
      chainId: e.chainId ?? out.chainId,
      token: e.token === "native" ? ZERO_ADDRESS : e.token,
      account: e.address,
      amount: e.amount.toString(),
      value: e.value.toString(),
      ...(e.depositOf === undefined ? {} : { evidence: e.evidence, confidence: e.confidence }),
    });
  }
  return {
    version: FREEZE_DRAFT_VERSION,
    model: r.model,
    seeds: r.seeds.map(formatSeed),
    seedAsset: r.seedAsset,
    drafts: [...byExchange.values()].sort((a, b) =>
      a.exchange.address < b.exchange.address ? -1 : 1,
    ),
  };
}

/** Writes the drafts to `file`, whole or not at all (a temporary file beside it, renamed). */
export async function writeFreezeDrafts(drafts: FreezeDrafts, file: string): Promise<void> {
  const temp = join(dirname(file), `.${basename(file)}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    await writeFile(temp, `${JSON.stringify(drafts, null, 2)}\n`, { flag: "wx" });
    await rename(temp, file);
  } catch (e) {
    await unlink(temp).catch(() => undefined);
    throw new TracerError(
      `cannot write freeze drafts to ${file}: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
}

const DraftsFile = z.object({
  version: z.literal(FREEZE_DRAFT_VERSION),
  drafts: z.array(
    z.object({
      exchange: z.object({ address: z.string(), label: z.string() }),
      items: z.array(
        z.object({
          chainId: z.number().int(),
          token: z.string(),
          account: z.string(),
          amount: z.string(),
          evidence: z.array(z.string()).optional(),
          confidence: z.number().optional(),
        }),
      ),
    }),
  ),
});

/** What a draft says an account is: its exchange, and for a deposit address how it was found. */
export interface DraftedAccount {
  exchange: { address: string; label: string };
  /** True for a deposit address (with its evidence), false for the exchange's own address. */
  depositAddress: boolean;
  evidence?: string[];
  confidence?: number;
}

/**
 * The accounts a drafts file names, by `chainId:token:account` (lower case, the key freeze
 * reports use), for `veritrace freezes --drafts`; a file that is no drafts file is refused in one
 * line naming what is wrong.
 */
export function readFreezeDrafts(file: string): Map<string, DraftedAccount> {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT")
      throw new NotFoundError(`--drafts ${file}: no such file`);
    throw new InvalidInputError(`--drafts ${file}: ${(error as Error).message}`);
  }
  const parsed = DraftsFile.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InvalidInputError(
      `--drafts ${file}: ${issue?.path.join(".") || "the file"}: ${issue?.message ?? "invalid"}`,
    );
  }
  const accounts = new Map<string, DraftedAccount>();
  for (const d of parsed.data.drafts)
    for (const i of d.items)
      accounts.set(`${i.chainId}:${i.token.toLowerCase()}:${i.account.toLowerCase()}`, {
        exchange: d.exchange,
        depositAddress: i.evidence !== undefined,
        ...(i.evidence === undefined ? {} : { evidence: i.evidence, confidence: i.confidence }),
      });
  return accounts;
}

/** An account as a drafts file found it, in words ("" when the drafts don't name it). */
export function draftedText(a: DraftedAccount | undefined): string {
  if (a === undefined) return "";
  return a.depositAddress
    ? `deposit address of ${a.exchange.label} (confidence ${((a.confidence ?? 0) * 100).toFixed(0)}%)`
    : a.exchange.label;
}
