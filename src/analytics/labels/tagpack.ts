/**
 * GraphSense TagPacks: a YAML document with a header (title, creator, …, and defaults for every
 * tag) and a `tags` list. Parsing checks the whole file and returns every tag with the header's
 * fields inherited and its address in stored form; it never touches the store. The format and
 * its rules: docs/labels.md.
 */
import { FAILSAFE_SCHEMA, Type, YAMLException, load } from "js-yaml";
import { InvalidInputError } from "../../shared/errors.js";
import { CONFIDENCE_LEVELS, riskCategory, type RiskCategory } from "./categories.js";
import {
  addressFormat,
  hasValidChecksum,
  isEvmAddress,
  resolveNetwork,
  type ResolvedNetwork,
} from "./networks.js";

export type JsonValue =
  string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** A TagPack's header: what describes the file, and the defaults its tags inherit. */
export interface TagPackHeader {
  title: string;
  creator: string;
  description: string | null;
  lastmod: string | null;
  isPublic: boolean | null;
  /** Every other header field, as written: inherited by each tag that doesn't set it. */
  defaults: Record<string, JsonValue>;
}

/** One tag, header fields inherited, ready to store. */
export interface NormalizedTag {
  /** Position in the file's `tags` list, from 1. */
  index: number;
  /** Trimmed; EVM addresses lower-case. */
  address: string;
  /** Upper case, as the TagPack names it (ETH, BEP20, USDT, …). */
  currency: string;
  /** The ledger's name (ethereum, bitcoin, tron, bsc, …). */
  network: string;
  isEvm: boolean;
  label: string;
  /** The TagPack's category and abuse, as written. */
  category: string | null;
  abuse: string | null;
  /** Normalized from category, abuse and source. */
  risk: RiskCategory;
  actor: string | null;
  confidence: string | null;
  source: string;
  /** Fields without a column of their own (context, is_cluster_definer, lastmod, unknown ones). */
  extra: Record<string, JsonValue>;
}

export interface ParsedTagPack {
  header: TagPackHeader;
  tags: NormalizedTag[];
  warnings: string[];
}

/** Header fields that describe the file and are not inherited. */
const HEADER_ONLY: ReadonlySet<string> = new Set([
  "title",
  "creator",
  "description",
  "owner",
  "is_public",
  "tags",
]);

/** Tag fields with a column of their own. */
const COLUMNS: ReadonlySet<string> = new Set([
  "address",
  "label",
  "source",
  "currency",
  "network",
  "category",
  "abuse",
  "actor",
  "confidence",
]);

/** GraphSense tag fields kept in `extra` without a warning. */
const KNOWN_EXTRA: ReadonlySet<string> = new Set([
  "context",
  "is_cluster_definer",
  "lastmod",
  "tx_hash",
  "concepts",
  "tag_type",
]);

/**
 * YAML's failsafe schema (every scalar is text) plus null and booleans: an unquoted 0x address
 * stays text instead of becoming a lossy hexadecimal number, and dates stay as written.
 */
const SCHEMA = FAILSAFE_SCHEMA.extend({
  implicit: [
    new Type("tag:yaml.org,2002:null", {
      kind: "scalar",
      resolve: (data: string) => /^(?:~|null|Null|NULL|)$/.test(data),
      construct: () => null,
    }),
    new Type("tag:yaml.org,2002:bool", {
      kind: "scalar",
      resolve: (data: string) => /^(?:true|True|TRUE|false|False|FALSE)$/.test(data),
      construct: (data: string) => data.toLowerCase() === "true",
    }),
  ],
});

/** Addresses with 144 leading zero bits: the zero address, precompiles; no one holds their keys. */
const KEYLESS = /^0x0{36}/;

type Fields = Record<string, unknown>;

function isMapping(value: unknown): value is Fields {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function kindOf(value: unknown): string {
  if (value === null || value === undefined) return "empty";
  if (Array.isArray(value)) return "a list";
  if (isMapping(value)) return "a mapping";
  if (typeof value === "boolean") return "a boolean";
  return "text";
}

function toJson(value: unknown): JsonValue {
  if (value === null || typeof value === "string" || typeof value === "boolean") return value;
  if (Array.isArray(value)) return value.map(toJson);
  if (isMapping(value))
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJson(v)]));
  return String(value);
}

/** "a", "a and b", "a, b, c, d, e and 20 more": the first few items of a long list. */
function few(items: readonly string[], limit = 5): string {
  const shown = items.slice(0, limit);
  const more = items.length - shown.length;
  if (more > 0) return `${shown.join(", ")} and ${more} more`;
  if (shown.length === 1) return shown[0] ?? "";
  return `${shown.slice(0, -1).join(", ")} and ${shown[shown.length - 1]}`;
}

/** "tag 3", "tags 3, 5 and 7", "tags 3, 5, 7, 9, 11 and 20 more". */
function tagList(indices: readonly number[]): string {
  return `${indices.length === 1 ? "tag" : "tags"} ${few(indices.map(String))}`;
}

function groupBy<K>(entries: readonly (readonly [K, number])[]): Map<K, number[]> {
  const groups = new Map<K, number[]>();
  for (const [key, n] of entries) {
    const list = groups.get(key);
    if (list === undefined) groups.set(key, [n]);
    else list.push(n);
  }
  return groups;
}

/**
 * Refuses a document in which one list or mapping appears more than once: a YAML alias (`*name`)
 * of an anchored collection. Aliases let a file of a few hundred bytes stand for gigabytes once
 * expanded ("billion laughs"), by whatever reads, copies or stores the document; TagPacks have no
 * use for them. The walk visits each collection once, so it is linear in the file's size.
 */
function refuseAliases(
  doc: unknown,
  text: string,
  fail: (where: string, message: string) => never,
): void {
  const seen = new Set<object>();
  const stack: unknown[] = [doc];
  while (stack.length > 0) {
    const node = stack.pop();
    if (node === null || typeof node !== "object") continue;
    if (seen.has(node)) {
      const alias = /(?:^|[\s[{,:-])(\*[^\s,\]}]+)/m.exec(text);
      const line = alias === null ? "" : ` (${alias[1]} at line ${lineOf(text, alias.index)})`;
      fail(
        "",
        `YAML aliases are not accepted in a TagPack${line}: an alias can expand a small file ` +
          `into gigabytes; write the values out`,
      );
    }
    seen.add(node);
    for (const child of Array.isArray(node) ? node : Object.values(node)) stack.push(child);
  }
}

function lineOf(text: string, index: number): number {
  let line = 1;
  for (let i = 0; i < index; i++) if (text.charCodeAt(i) === 10) line++;
  // The match may start with the line break before the alias.
  return text.charCodeAt(index) === 10 ? line + 1 : line;
}

/**
 * Parses and checks a TagPack. Throws an {@link InvalidInputError} naming the file, the tag (from 1) and
 * the field for the first problem that makes the file unusable; everything else (unknown fields,
 * duplicates, inferred networks, unusual addresses) comes back as one warning per kind.
 */
export function parseTagPack(text: string, fileName: string): ParsedTagPack {
  const fail = (where: string, message: string): never => {
    throw new InvalidInputError(`${fileName}: ${where}${message}`);
  };

  let doc: unknown;
  try {
    doc = load(text, { schema: SCHEMA, filename: fileName });
  } catch (error) {
    if (error instanceof YAMLException) {
      fail(
        "",
        `bad YAML at line ${error.mark.line + 1}, column ${error.mark.column + 1}: ${error.reason}`,
      );
    }
    throw error;
  }
  refuseAliases(doc, text, fail);
  if (doc === null || doc === undefined)
    fail("", "empty: a TagPack is a YAML mapping with a header and a tags list");
  if (!isMapping(doc)) fail("", `not a TagPack: the document is ${kindOf(doc)}, not a mapping`);
  const top = doc as Fields;

  const headerText = (field: string, mandatory: boolean): string | null => {
    const v = top[field];
    if (v === null || v === undefined || (typeof v === "string" && v.trim() === "")) {
      if (mandatory) fail("header: ", `${field} is missing`);
      return null;
    }
    if (typeof v !== "string") fail("header: ", `${field} must be text, got ${kindOf(v)}`);
    return (v as string).trim();
  };
  const title = headerText("title", true) as string;
  const creator = headerText("creator", true) as string;
  const description = headerText("description", false);
  const lastmod = typeof top["lastmod"] === "string" ? top["lastmod"] : null;
  const isPublic = typeof top["is_public"] === "boolean" ? top["is_public"] : null;

  const list = top["tags"];
  if (list === undefined || list === null) fail("header: ", "tags is missing");
  if (!Array.isArray(list)) fail("", `tags must be a list, got ${kindOf(list)}`);
  const rawTags = list as unknown[];
  if (rawTags.length === 0) fail("", "tags: the list is empty");

  const defaults: Record<string, JsonValue> = {};
  for (const [k, v] of Object.entries(top)) if (!HEADER_ONLY.has(k)) defaults[k] = toJson(v);
  const unknownInHeader = Object.keys(defaults).filter(
    (k) => !COLUMNS.has(k) && !KNOWN_EXTRA.has(k),
  );

  const tags: NormalizedTag[] = [];
  const unknownFields: [string, number][] = [];
  const unknownConfidence: [string, number][] = [];
  const unknownNetworks: [string, number][] = [];
  const tokenNetworks = new Map<string, Map<string, number>>();
  const trimmed: number[] = [];
  const misfits: string[] = [];
  const keyless: number[] = [];
  const duplicates: [number, number][] = [];
  const seen = new Map<string, number>();

  rawTags.forEach((raw, i) => {
    const n = i + 1;
    if (!isMapping(raw)) fail(`tag ${n}: `, `not a mapping but ${kindOf(raw)}`);
    const tag = raw as Fields;
    const merged: Fields = { ...defaults, ...tag };
    let where = `tag ${n}: `;

    const text = (field: string, mandatory: string | null): string | null => {
      const v = merged[field];
      if (v === null || v === undefined || (typeof v === "string" && v.trim() === "")) {
        if (mandatory !== null) fail(where, `${field} is missing (${mandatory})`);
        return null;
      }
      if (typeof v !== "string") {
        const from = field in tag ? "" : " (inherited from the header)";
        fail(where, `${field} must be text, got ${kindOf(v)}${from}`);
      }
      return (v as string).trim();
    };

    const inTagOrHeader = "set it in the tag or in the header";
    const written = merged["address"];
    const address = text(
      "address",
      merged["tx_hash"] === undefined
        ? "every tag needs one"
        : "tags of a transaction (tx_hash) are not supported, only tags of an address",
    ) as string;
    if (typeof written === "string" && written !== address) trimmed.push(n);
    if (/\s/.test(address)) fail(where, `address ${JSON.stringify(address)} contains whitespace`);
    where = `tag ${n} (address ${address}): `;

    const label = text("label", inTagOrHeader) as string;
    const source = text("source", inTagOrHeader) as string;
    const currency = text("currency", null);
    const network = text("network", null);
    if (currency === null && network === null)
      fail(where, `currency is missing (set currency or network, in the tag or in the header)`);
    const resolved: ResolvedNetwork = resolveNetwork(currency, network, address);
    const ledger = `currency ${resolved.currency}, network ${resolved.network}`;
    if (resolved.isEvm) {
      if (!isEvmAddress(address))
        fail(
          where,
          `address is not a valid EVM address (${ledger}): expected 0x and 40 hex digits`,
        );
      if (!hasValidChecksum(address))
        fail(where, `address is not a valid EVM address (${ledger}): its EIP-55 checksum is wrong`);
      if (KEYLESS.test(address)) keyless.push(n);
    } else if (["bitcoin", "tron", "bnb_beacon_chain"].includes(resolved.network)) {
      const format = addressFormat(address);
      if (format !== resolved.network) {
        const looks = format === null ? "" : `, looks like ${format}`;
        misfits.push(`tag ${n} (${address}: ${resolved.network}${looks})`);
      }
    }
    if (resolved.resolution === "token") {
      const counts = tokenNetworks.get(resolved.currency) ?? new Map<string, number>();
      counts.set(resolved.network, (counts.get(resolved.network) ?? 0) + 1);
      tokenNetworks.set(resolved.currency, counts);
    }
    if (resolved.resolution === "unknown") unknownNetworks.push([resolved.network, n]);

    const category = text("category", null);
    const abuse = text("abuse", null);
    const actor = text("actor", null);
    const confidence = text("confidence", null);
    if (confidence !== null && !CONFIDENCE_LEVELS.has(confidence.toLowerCase()))
      unknownConfidence.push([confidence, n]);

    const extra: Record<string, JsonValue> = {};
    for (const [k, v] of Object.entries(merged)) {
      if (COLUMNS.has(k)) continue;
      extra[k] = toJson(v);
      if (!KNOWN_EXTRA.has(k) && k in tag && !unknownInHeader.includes(k))
        unknownFields.push([k, n]);
    }

    const stored = resolved.isEvm ? address.toLowerCase() : address;
    const key = `${resolved.network}\u0000${stored}\u0000${label.toLowerCase()}`;
    const first = seen.get(key);
    if (first !== undefined) {
      duplicates.push([n, first]);
      return;
    }
    seen.set(key, n);
    tags.push({
      index: n,
      address: stored,
      currency: resolved.currency,
      network: resolved.network,
      isEvm: resolved.isEvm,
      label,
      category,
      abuse,
      risk: riskCategory(category, abuse, source),
      actor,
      confidence,
      source,
      extra,
    });
  });

  const warnings: string[] = [];
  for (const field of unknownInHeader) {
    warnings.push(`unknown field "${field}" in the header, inherited by every tag: kept in extra`);
  }
  for (const [field, ns] of groupBy(unknownFields)) {
    warnings.push(`unknown field "${field}" (${tagList(ns)}): kept in extra`);
  }
  for (const [value, ns] of groupBy(unknownConfidence)) {
    warnings.push(
      `confidence "${value}" (${tagList(ns)}) is not one of GraphSense's confidence names: kept as written`,
    );
  }
  for (const [token, counts] of tokenNetworks) {
    const found = [...counts].map(([net, count]) => `${count} ${net}`).join(", ");
    warnings.push(
      `currency ${token} is a token on several networks: each tag's network inferred from its address (${found}); set network to be explicit`,
    );
  }
  for (const [net, ns] of groupBy(unknownNetworks)) {
    warnings.push(
      `unknown currency or network "${net}" (${tagList(ns)}): stored as network "${net}", EVM only if the address is`,
    );
  }
  if (trimmed.length > 0) {
    warnings.push(`whitespace around the address of ${tagList(trimmed)}: trimmed`);
  }
  if (misfits.length > 0) {
    warnings.push(
      `${misfits.length} address${misfits.length === 1 ? "" : "es"} not in the format of ` +
        `${misfits.length === 1 ? "its" : "their"} network, kept as written: ${few(misfits)}`,
    );
  }
  if (keyless.length > 0) {
    warnings.push(
      `${tagList(keyless)} label addresses no one holds a key for (the zero address, precompiles): ` +
        `kept, but every mint or burn through them will match`,
    );
  }
  if (duplicates.length > 0) {
    const pairs = duplicates.map(([n, first]) => `tag ${n} = tag ${first}`);
    warnings.push(
      `${duplicates.length} duplicate tag${duplicates.length === 1 ? "" : "s"} dropped (same address, ` +
        `network and label as an earlier tag, which is kept): ${few(pairs)}`,
    );
  }

  return {
    header: { title, creator, description, lastmod, isPublic, defaults },
    tags,
    warnings,
  };
}
