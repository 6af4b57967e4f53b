/**
 * Address labels in the store: TagPack imports (all files in one transaction, a file re-imported
 * replacing its tags) and the lookups the tracer makes. Labels from TagPacks and, later, from the
 * consortium's own events share one {@link Label} type, told apart by `origin`, so that the
 * tracer merges them without caring where they come from.
 */
import { createHash } from "node:crypto";
import path from "node:path";
import { inputName, isStdin, readInputText } from "../../shared/input.js";
import { InvalidInputError, NotFoundError } from "../../shared/errors.js";
import type { Database, Sql } from "../../db/db.js";
import { insertRows, columns } from "../../db/rows.js";
import {
  RISK_CATEGORIES,
  compareRisk,
  confidenceLevel,
  riskCategory,
  type RiskCategory,
} from "./categories.js";
import { storedAddress } from "./networks.js";
import { parseTagPack } from "./tagpack.js";

/** Where a label comes from: an imported TagPack, or the consortium's chain (to come). */
export type LabelOrigin = "tagpack" | "chain";

interface LabelFields {
  /** As stored: EVM addresses lower-case, others as written. */
  address: string;
  network: string;
  currency: string;
  isEvm: boolean;
  label: string;
  /** The normalized risk category. */
  category: RiskCategory;
  /** The source's own category and abuse terms (GraphSense/INTERPOL taxonomy). */
  originalCategory: string | null;
  abuse: string | null;
  actor: string | null;
  confidence: string | null;
  source: string | null;
}

/** A label from an imported TagPack. */
export interface TagPackLabel extends LabelFields {
  origin: "tagpack";
  tagpack: { title: string; file: string };
}

/** A label attested on the consortium's chain: every such fact comes from one log. */
export interface ChainLabel extends LabelFields {
  origin: "chain";
  event: { blockNumber: number; logIndex: number; txHash: string };
}

export type Label = TagPackLabel | ChainLabel;

/** How the store names a TagPack read from stdin: this, then its title. */
export const STDIN_SOURCE = "stdin:";

/** What one file's import did. */
export interface ImportResult {
  /** The file's absolute path (`stdin:TITLE` for stdin): its identity in the store. */
  file: string;
  title: string;
  /** Tags stored (duplicates dropped). */
  tags: number;
  warnings: string[];
}

/**
 * Imports TagPacks into the store (migrated to schema version 2 or later). Every file is read
 * and checked before anything is written, then all are written in one transaction: one bad
 * file fails the whole import with its error, and the store is left as it was. A file already
 * imported (same absolute path) has its tags replaced. `-` reads a TagPack from stdin, named in
 * the store by its title ({@link STDIN_SOURCE}).
 */
export async function importTagPacks(
  db: Database,
  files: readonly string[],
): Promise<ImportResult[]> {
  return storeTagPacks(db, readTagPacks(files));
}

/** TagPack files read and checked, ready for {@link storeTagPacks}. */
export type ReadTagPacks = ReturnType<typeof readTagPacks>;

/**
 * Reads and checks every file (the first problem throws an error naming the file: not found when
 * it cannot be read, invalid input when it is not a TagPack or is given twice),
 * before any store is opened: a command given a missing or bad file touches no store.
 */
export function readTagPacks(files: readonly string[]) {
  const seen = new Set<string>();
  const once = (identity: string, file: string) => {
    if (seen.has(identity)) throw new InvalidInputError(`${file}: given twice`);
    seen.add(identity);
  };
  return files.map((file) => {
    const fromStdin = isStdin(file);
    const absolute = path.resolve(file);
    if (!fromStdin) once(absolute, file);
    let text: string;
    try {
      text = readInputText(fromStdin ? file : absolute);
    } catch (error) {
      throw new NotFoundError(`cannot read ${inputName(file)}: ${(error as Error).message}`);
    }
    const sha256 = createHash("sha256").update(text).digest("hex");
    const parsed = parseTagPack(text, inputName(file));
    // A TagPack piped in has no path: its title names it in the store instead ("stdin:TITLE"; no
    // absolute path looks like that), so that piping the same TagPack again replaces its tags.
    const identity = fromStdin ? `${STDIN_SOURCE}${parsed.header.title}` : absolute;
    if (fromStdin) once(identity, file);
    return { file: identity, sha256, ...parsed };
  });
}

/** Writes TagPacks read by {@link readTagPacks} in one transaction (see {@link importTagPacks}). */
export async function storeTagPacks(db: Database, parsed: ReadTagPacks): Promise<ImportResult[]> {
  return db.transaction(async (tx) => {
    const results: ImportResult[] = [];
    for (const p of parsed) {
      const [row] = await tx.query<{ id: string | number }>(
        `INSERT INTO label_sources (file, title, creator, sha256, tags) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (file) DO UPDATE SET title = EXCLUDED.title, creator = EXCLUDED.creator,
           sha256 = EXCLUDED.sha256, tags = EXCLUDED.tags, imported_at = now()
         RETURNING id`,
        [p.file, p.header.title, p.header.creator, p.sha256, p.tags.length],
      );
      if (row === undefined) throw new Error("label_sources: no id returned");
      await tx.query("DELETE FROM labels WHERE source_id = $1", [row.id]);
      await insertRows(tx, {
        table: "labels",
        fixed: [{ name: "source_id", value: row.id }],
        columns: TAG_COLUMNS,
        rows: p.tags,
      });
      results.push({
        file: p.file,
        title: p.header.title,
        tags: p.tags.length,
        warnings: p.warnings,
      });
    }
    return results;
  });
}

/** The labels table's columns after the source's, in the order of its schema. */
const TAG_COLUMNS = columns(`
  address text, currency text, network text, label text, category text, abuse text, actor text,
  confidence text, source text, is_evm boolean, extra jsonb
`);

interface LabelRow {
  address: string;
  currency: string;
  network: string;
  label: string;
  category: string | null;
  abuse: string | null;
  actor: string | null;
  confidence: string | null;
  source: string | null;
  is_evm: boolean;
  title: string;
  file: string;
}

function toLabel(r: LabelRow): TagPackLabel {
  return {
    address: r.address,
    network: r.network,
    currency: r.currency,
    isEvm: r.is_evm,
    label: r.label,
    category: riskCategory(r.category, r.abuse, r.source),
    originalCategory: r.category,
    abuse: r.abuse,
    actor: r.actor,
    confidence: r.confidence,
    source: r.source,
    origin: "tagpack",
    tagpack: { title: r.title, file: r.file },
  };
}

/**
 * Orders labels most relevant first: the most severe category, then the highest confidence,
 * then by label text (and TagPack file) so that the order is stable.
 */
export function compareLabels(a: Label, b: Label): number {
  const text = (x: string, y: string) => (x < y ? -1 : x > y ? 1 : 0);
  const file = (l: Label) => (l.origin === "tagpack" ? l.tagpack.file : "");
  return (
    compareRisk(a.category, b.category) ||
    confidenceLevel(b.confidence) - confidenceLevel(a.confidence) ||
    text(a.label, b.label) ||
    text(file(a), file(b))
  );
}

/** The most relevant of an address's labels (see {@link compareLabels}), or null for none. */
export function primaryLabel(labels: readonly Label[] | undefined): Label | null {
  return [...(labels ?? [])].sort(compareLabels)[0] ?? null;
}

/** Merges label maps (TagPack and chain labels of the same addresses), each list re-ordered. */
export function mergeLabels(
  ...maps: readonly ReadonlyMap<string, readonly Label[]>[]
): Map<string, Label[]> {
  const merged = new Map<string, Label[]>();
  for (const map of maps) {
    for (const [address, labels] of map)
      merged.set(address, [...(merged.get(address) ?? []), ...labels]);
  }
  for (const labels of merged.values()) labels.sort(compareLabels);
  return merged;
}

/**
 * The TagPack labels of addresses, most relevant first. Keys are the addresses as given; only
 * addresses with at least one label are in the map. EVM addresses match in any case
 * (checksummed or not); others exactly, after trimming.
 */
export async function labelsFor(
  db: Sql,
  addresses: readonly string[],
): Promise<Map<string, TagPackLabel[]>> {
  const keys = new Map(addresses.map((a) => [a, storedAddress(a)] as const));
  const result = new Map<string, TagPackLabel[]>();
  if (keys.size === 0) return result;
  const rows = await db.query<LabelRow>(
    `SELECT l.address, l.currency, l.network, l.label, l.category, l.abuse, l.actor, l.confidence,
       l.source, l.is_evm, s.title, s.file
     FROM labels l JOIN label_sources s ON s.id = l.source_id
     WHERE l.address IN (SELECT jsonb_array_elements_text($1::jsonb))`,
    [JSON.stringify([...new Set(keys.values())])],
  );
  const byAddress = new Map<string, TagPackLabel[]>();
  for (const r of rows) {
    const list = byAddress.get(r.address) ?? [];
    list.push(toLabel(r));
    byAddress.set(r.address, list);
  }
  for (const labels of byAddress.values()) labels.sort(compareLabels);
  for (const [input, key] of keys) {
    const labels = byAddress.get(key);
    if (labels !== undefined) result.set(input, labels);
  }
  return result;
}

/** The most relevant TagPack label of one address, or null when it has none. */
export async function labelOf(db: Sql, address: string): Promise<TagPackLabel | null> {
  return (await labelsFor(db, [address])).get(address)?.[0] ?? null;
}

/** One imported TagPack file, as the store has it. */
export interface LabelSource {
  file: string;
  title: string;
  creator: string | null;
  sha256: string;
  /** ISO time, UTC. */
  importedAt: string;
  tags: number;
  byCategory: Partial<Record<RiskCategory, number>>;
}

export interface LabelStats {
  total: number;
  /** Every risk category, with 0 for those no label has. */
  byCategory: Record<RiskCategory, number>;
  bySource: LabelSource[];
}

/** Label counts per normalized category and per imported file. */
export async function labelStats(db: Sql): Promise<LabelStats> {
  const sources = await db.query<{
    id: string | number;
    file: string;
    title: string;
    creator: string | null;
    sha256: string;
    imported_at: string;
    tags: number;
  }>(
    `SELECT id, file, title, creator, sha256, tags,
       to_char(imported_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS imported_at
     FROM label_sources ORDER BY file`,
  );
  const groups = await db.query<{
    source_id: string | number;
    category: string | null;
    abuse: string | null;
    source: string | null;
    n: string | number;
  }>(
    `SELECT source_id, category, abuse, source, count(*) AS n
     FROM labels GROUP BY source_id, category, abuse, source`,
  );
  const byCategory = Object.fromEntries(RISK_CATEGORIES.map((c) => [c, 0])) as Record<
    RiskCategory,
    number
  >;
  const perSource = new Map<string, Partial<Record<RiskCategory, number>>>();
  let total = 0;
  for (const g of groups) {
    const risk = riskCategory(g.category, g.abuse, g.source);
    const n = Number(g.n);
    total += n;
    byCategory[risk] += n;
    const counts = perSource.get(String(g.source_id)) ?? {};
    counts[risk] = (counts[risk] ?? 0) + n;
    perSource.set(String(g.source_id), counts);
  }
  return {
    total,
    byCategory,
    bySource: sources.map((s) => ({
      file: s.file,
      title: s.title,
      creator: s.creator,
      sha256: s.sha256,
      importedAt: s.imported_at,
      tags: Number(s.tags),
      byCategory: perSource.get(String(s.id)) ?? {},
    })),
  };
}
