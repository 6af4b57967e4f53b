/**
 * The tracer's risk categories, and the normalization of GraphSense/INTERPOL taxonomy terms
 * (a TagPack's `category` and `abuse`) into them. Normalization happens when labels are read,
 * never when they are stored: the original terms stay in the store, so a change to this table
 * needs no re-import. See docs/labels.md for the table.
 */

/** Risk categories, most severe first: the order {@link compareRisk} ranks labels by. */
export const RISK_CATEGORIES = [
  "sanctioned",
  "ransomware",
  "hack",
  "phishing",
  "scam",
  "darknet",
  "mixer",
  "bridge",
  "exchange",
  "other",
] as const;

export type RiskCategory = (typeof RISK_CATEGORIES)[number];

/** Fill colors of labeled addresses, by legend entry. Unlabeled addresses are white. */
export const PALETTE = {
  sanctioned: "#f28b82",
  "hack / ransomware": "#fbbc7a",
  "scam / phishing": "#fff176",
  darknet: "#bcaaa4",
  mixer: "#ce93d8",
  bridge: "#81d4fa",
  exchange: "#a5d6a7",
  other: "#e0e0e0",
} as const;

export type PaletteEntry = keyof typeof PALETTE;

/** The legend entries, in the legend's order. */
export const PALETTE_ENTRIES = Object.keys(PALETTE) as [PaletteEntry, ...PaletteEntry[]];

/**
 * Taxonomy terms (lower case, `_` between words) and what they mean for the tracer. Terms not
 * listed here are `other`: entity types that say nothing about risk (user, organization,
 * wallet_service, miner, gambling, market, defi, defi_dex, …) and abuses outside the tracer's
 * categories (terrorism, extremism, money_laundering, child_sexual_abuse, …). `other` is not
 * "benign": the original terms travel with every label.
 */
const TERMS: ReadonlyMap<string, RiskCategory> = new Map(
  Object.entries({
    // Sanction lists, and issuer block lists (USDT's: category black_list).
    sanction: "sanctioned",
    sanctions: "sanctioned",
    sanctioned: "sanctioned",
    black_list: "sanctioned",
    blacklist: "sanctioned",
    blacklisted: "sanctioned",
    ransomware: "ransomware",
    service_hack: "hack",
    hack: "hack",
    hacker: "hack",
    exploit: "hack",
    theft: "hack",
    stolen_funds: "hack",
    phishing: "phishing",
    scam: "scam",
    fraud: "scam",
    investment_fraud: "scam",
    ponzi_scheme: "scam",
    pyramid_scheme: "scam",
    extortion: "scam",
    sextortion: "scam",
    dark_web: "darknet",
    darknet: "darknet",
    darknet_market: "darknet",
    mixing_service: "mixer",
    mixing: "mixer",
    mixer: "mixer",
    coinjoin: "mixer",
    tumbler: "mixer",
    defi_bridge: "bridge",
    bridge: "bridge",
    exchange: "exchange",
  } satisfies Record<string, RiskCategory>),
);

const SEVERITY: ReadonlyMap<RiskCategory, number> = new Map(RISK_CATEGORIES.map((c, i) => [c, i]));

/** A taxonomy term in the form of the table's keys: trimmed, lower case, `_` between words. */
export function taxonomyTerm(value: string | null | undefined): string {
  return (value ?? "")
    .trim()
    .toLowerCase()
    .replace(/[\s-]+/g, "_");
}

/** The risk category of one taxonomy term (`other` for none or an unknown one). */
export function termRisk(value: string | null | undefined): RiskCategory {
  return TERMS.get(taxonomyTerm(value)) ?? "other";
}

/** Negative when `a` is more severe than `b`. */
export function compareRisk(a: RiskCategory, b: RiskCategory): number {
  return (SEVERITY.get(a) ?? RISK_CATEGORIES.length) - (SEVERITY.get(b) ?? RISK_CATEGORIES.length);
}

/** Domains of governments and of the bodies that publish sanctions lists. */
const GOVERNMENT_DOMAINS = ["gov", "gov.uk", "europa.eu", "sanctionsmap.eu", "un.org"];

/**
 * Whether a tag's source is a government sanctions list or designation (OFAC's SDN list, a
 * Treasury sanctions action, an EU/UN/UK sanctions page): a government host whose address names
 * sanctions, OFAC or the SDN list.
 */
export function isSanctionsSource(source: string | null | undefined): boolean {
  if (source === null || source === undefined) return false;
  let url: URL;
  try {
    url = new URL(source.trim());
  } catch {
    return false;
  }
  const host = url.hostname.toLowerCase();
  const government = GOVERNMENT_DOMAINS.some((d) => `.${host}`.endsWith(`.${d}`));
  return government && /sanction|ofac|sdn/i.test(host + url.pathname);
}

/**
 * Normalizes a TagPack's category and abuse into one risk category: the more severe of the two
 * terms' categories. When neither says anything the tracer knows (both `other`, as in OFAC's own
 * TagPack, which calls every sanctioned address `category: user`), a government sanctions list
 * as the tag's source makes it `sanctioned`.
 */
export function riskCategory(
  category: string | null | undefined,
  abuse: string | null | undefined,
  source?: string | null,
): RiskCategory {
  const [a, b] = [termRisk(category), termRisk(abuse)];
  const risk = compareRisk(a, b) <= 0 ? a : b;
  if (risk === "other" && isSanctionsSource(source)) return "sanctioned";
  return risk;
}

/**
 * The services of the GraphSense TagPack taxonomy: the concepts under `service` (and their own
 * narrower concepts: the wallet services, DeFi), in graphsense-tagpack-tool's
 * src/tagpack/db/concepts.yaml (concepts taxonomy 0.1.0). What a TagPack's `category` may say an
 * address is, when it is a service; the other entities (user, victim, perpetrator, miner,
 * organization) hold their own funds.
 */
export const SERVICE_TERMS = [
  "service",
  "exchange",
  "wallet_service",
  "escrow_wallet",
  "ico_wallet",
  "filesharing",
  "index",
  "market",
  "messaging_service",
  "mixing_service",
  "coinjoin",
  "mining_service",
  "gambling",
  "search_engine",
  "shop",
  "faucet",
  "payment_processor",
  "atm",
  "hosting",
  "vpn",
  "nameservice",
  "defi",
  "defi_token",
  "defi_lending",
  "defi_dex",
  "defi_dex_pair",
  "defi_derivatives",
  "defi_bridge",
  "defi_dao",
  "defi_staking",
  "defi_custody",
] as const;

/**
 * The custodial services of the taxonomy: services that hold their customers' funds in pools of
 * their own, so that what leaves them is the service's money, not what a customer paid in.
 * Taint stops at them (docs/taint-models.md, "Exits"). Exchanges have a risk category of their own.
 */
export const CUSTODIAL_SERVICES = [
  "exchange",
  "wallet_service",
  "escrow_wallet",
  "gambling",
  "payment_processor",
  "market",
  "atm",
] as const;

/** The risk categories of services where taint stops (an exit of that kind). */
export const EXIT_RISK_CATEGORIES = ["exchange", "bridge", "mixer"] as const;

export type ExitRiskCategory = (typeof EXIT_RISK_CATEGORIES)[number];

/** The labels where a trace stops taint by default: every custodial service, bridges, mixers. */
export const DEFAULT_EXIT_CATEGORIES = [...CUSTODIAL_SERVICES, "bridge", "mixer"] as const;

/**
 * What one term of an exit list names: a risk category of exits (exchange, bridge, mixer, or a
 * taxonomy term read as one, such as mixing_service), a service of the taxonomy the tracer has no
 * category for (gambling, wallet_service, …; matched against a label's own `category`), or
 * neither (a problem, in one sentence naming the term).
 */
export function exitTerm(
  text: string,
): { category: ExitRiskCategory } | { service: string } | { problem: string } {
  const t = taxonomyTerm(text);
  const risk = (RISK_CATEGORIES as readonly string[]).includes(t) ? t : termRisk(t);
  if ((EXIT_RISK_CATEGORIES as readonly string[]).includes(risk))
    return { category: risk as ExitRiskCategory };
  if (risk === "other" && (SERVICE_TERMS as readonly string[]).includes(t)) return { service: t };
  return {
    problem:
      `${JSON.stringify(text)} is not a category of service: expected exchange, bridge, mixer ` +
      `or a service of the GraphSense taxonomy (${CUSTODIAL_SERVICES.slice(1).join(", ")}, …)`,
  };
}

/**
 * GraphSense's confidence names and their levels (0–100), from the TagPack tool's
 * confidence.csv. Other values are accepted with a warning and rank below all of these.
 */
export const CONFIDENCE_LEVELS: ReadonlyMap<string, number> = new Map(
  Object.entries({
    override: 100,
    ownership: 100,
    ledger_immanent: 100,
    manual_transaction: 90,
    service_api: 70,
    forensic_investigation: 70,
    authority_data: 60,
    trusted_provider: 50,
    service_data: 50,
    forensic: 50,
    untrusted_transaction: 40,
    web_crawl: 20,
    heuristic: 10,
    unknown: 5,
  }),
);

/** The level of a confidence name (0 for none or an unknown one). */
export function confidenceLevel(confidence: string | null | undefined): number {
  return CONFIDENCE_LEVELS.get(taxonomyTerm(confidence)) ?? 0;
}
