import { createHash } from "node:crypto";

/** Two sets of phone numbers with a known overlap, as the demo's matching session uses them. */
export interface PhoneSets {
  /** The investigator's numbers, written as people write them; `common` among them. */
  suspects: string[];
  /** The provider's subscribers, in E.164 with spaces. */
  subscribers: string[];
  /** The numbers in both sets, in E.164 (what normalization makes of them), in suspect order. */
  common: string[];
}

/** Eight decimal digits drawn from SHA-256(seed ‖ label ‖ i): the same on every run. */
function digits(seed: string, label: string, i: number): string {
  const h = createHash("sha256").update(`${seed}:${label}:${i}`).digest();
  return String(h.readUInt32BE(0) % 100_000_000).padStart(8, "0");
}

/**
 * Deterministic sets: `subscribers` numbers +49 151 …, `suspects` numbers of which `overlap` are
 * subscribers (written 0049 151-…, so that only normalization makes them equal) and the others
 * +49 160 … (never a subscriber's prefix).
 */
export function phoneSets(options: {
  suspects: number;
  subscribers: number;
  overlap: number;
  seed?: string;
}): PhoneSets {
  const seed = options.seed ?? "veritrace demo";
  const subscribers = new Set<string>();
  for (let i = 0; subscribers.size < options.subscribers; i++)
    subscribers.add(`+49 151 ${digits(seed, "subscriber", i)}`);
  const subscriberList = [...subscribers];
  const others = new Set<string>();
  for (let i = 0; others.size < options.suspects - options.overlap; i++)
    others.add(`+49 160 ${digits(seed, "suspect", i)}`);
  const suspects = [...others];
  const common: string[] = [];
  const stride = Math.floor(options.suspects / options.overlap);
  for (let k = 0; k < options.overlap; k++) {
    const subscriber =
      subscriberList[Math.floor(((k + 0.5) * subscriberList.length) / options.overlap)];
    if (subscriber === undefined) throw new Error("fewer subscribers than the overlap");
    const local = subscriber.slice("+49 151 ".length);
    suspects.splice(k * stride + 3, 0, `0049 151-${local.slice(0, 4)}-${local.slice(4)}`);
    common.push(`+49151${local}`);
  }
  return { suspects, subscribers: subscriberList, common };
}
