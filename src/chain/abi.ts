import { toUtf8String, type EventFragment, type ParamType } from "ethers";

/**
 * Fast decoding of event logs straight into the JSON form the store keeps (integers as decimal
 * strings, addresses and bytes as lower-case hex, structs as objects, arrays as arrays): the same
 * values as ethers' `Interface.parseLog` followed by `jsonArgs`, an order of magnitude faster,
 * because the layout of each event is compiled once and the hex text is sliced directly instead of
 * going through bytes, bigints and `Result` proxies.
 *
 * Whatever this decoder does not handle on its fast path (indexed arguments of reference types,
 * dirty padding, offsets out of bounds, a wrong number of topics) throws {@link AbiLayoutError}
 * or makes {@link compileEvent} return null: the caller then falls back to ethers, whose answer
 * (a value or an error) is the reference.
 */
export class AbiLayoutError extends Error {
  override name = "AbiLayoutError";
}

/** Reads one value; `at` is a position in hex characters (the value's slot, or its tail when dynamic). */
type Read = (hex: string, at: number) => unknown;

interface Layout {
  /** Encoded out of line, behind an offset in the head. */
  dynamic: boolean;
  /** Characters the value takes in its enclosing head (64 for an offset when dynamic). */
  headChars: number;
  read: Read;
}

const WORD = 64;
const ZERO_PREFIX = /^0+$/;
const HEX_DATA = /^0x(?:[0-9a-fA-F]{2})*$/;
const HEX_TOPIC = /^0x[0-9a-fA-F]{64}$/;

function word(hex: string, at: number): string {
  if (at < 0 || at + WORD > hex.length)
    throw new AbiLayoutError(`read beyond the data at ${at / 2}`);
  return hex.slice(at, at + WORD);
}

/** A length or an offset, in bytes: a word that must hold a small number. */
function smallNumber(hex: string, at: number): number {
  const w = word(hex, at);
  if (!ZERO_PREFIX.test(w.slice(0, 52)))
    throw new AbiLayoutError(`offset or length too large at ${at / 2}`);
  return parseInt(w.slice(52), 16);
}

/**
 * The low `chars` hex characters of the word at `at`; the rest of the word is padding, which must
 * be zero (else the value is `dirty`).
 */
function padded(hex: string, at: number, chars: number, dirty: string): string {
  const w = word(hex, at);
  if (!ZERO_PREFIX.test(w.slice(0, WORD - chars))) throw new AbiLayoutError(dirty);
  return w.slice(WORD - chars);
}

/** A value in one word of the head. */
const inHead = (read: Read): Layout => ({ dynamic: false, headChars: WORD, read });

/** A value in the tail, behind an offset (one word) in the head. */
const inTail = (read: Read): Layout => ({ dynamic: true, headChars: WORD, read });

function integer(bits: number, signed: boolean): Read {
  if (!signed && bits <= 48) {
    const digits = bits / 4;
    return (hex, at) => String(parseInt(word(hex, at).slice(WORD - digits), 16));
  }
  if (!signed && bits === 256) return (hex, at) => BigInt(`0x${word(hex, at)}`).toString();
  return signed
    ? (hex, at) => BigInt.asIntN(bits, BigInt(`0x${word(hex, at)}`)).toString()
    : (hex, at) => BigInt.asUintN(bits, BigInt(`0x${word(hex, at)}`)).toString();
}

/** The bytes of a dynamic `bytes` or `string` value whose tail starts at `at`, as hex. */
function tailBytes(hex: string, at: number): string {
  const length = smallNumber(hex, at) * 2;
  const start = at + WORD;
  if (start + length > hex.length) throw new AbiLayoutError(`bytes beyond the data at ${at / 2}`);
  return hex.slice(start, start + length);
}

/** Reads `layouts` encoded as a tuple whose encoding starts at `at`. */
function readSequence(layouts: readonly Layout[], hex: string, at: number): unknown[] {
  const out: unknown[] = new Array<unknown>(layouts.length);
  let head = at;
  for (let i = 0; i < layouts.length; i++) {
    const l = layouts[i] as Layout;
    out[i] = l.dynamic ? l.read(hex, at + smallNumber(hex, head) * 2) : l.read(hex, head);
    head += l.headChars;
  }
  return out;
}

function sequence(layouts: readonly Layout[]): { dynamic: boolean; headChars: number } {
  const dynamic = layouts.some((l) => l.dynamic);
  return { dynamic, headChars: dynamic ? WORD : layouts.reduce((n, l) => n + l.headChars, 0) };
}

/** The layout of one ABI type. */
function layoutOf(p: ParamType): Layout {
  if (p.isTuple()) {
    const parts = p.components.map(layoutOf);
    const names = p.components.map((c) => c.name);
    return {
      ...sequence(parts),
      read: (hex, at) => {
        const values = readSequence(parts, hex, at);
        const out: Record<string, unknown> = {};
        names.forEach((name, i) => (out[name] = values[i]));
        return out;
      },
    };
  }
  if (p.isArray()) {
    const child = layoutOf(p.arrayChildren);
    if (p.arrayLength >= 0) {
      const parts: Layout[] = new Array<Layout>(p.arrayLength).fill(child);
      return { ...sequence(parts), read: (hex, at) => readSequence(parts, hex, at) };
    }
    return inTail((hex, at) => {
      const length = smallNumber(hex, at);
      // Each element takes at least one word: a longer length can only be garbage.
      if (at + WORD + length * WORD > hex.length)
        throw new AbiLayoutError(`array beyond the data at ${at / 2}`);
      return readSequence(new Array<Layout>(length).fill(child), hex, at + WORD);
    });
  }
  const type = p.type;
  const int = /^(u?)int(\d*)$/.exec(type);
  if (int !== null) {
    return inHead(integer(Number(int[2] === "" ? 256 : int[2]), int[1] !== "u"));
  }
  const fixed = /^bytes(\d+)$/.exec(type);
  if (fixed !== null) {
    const chars = Number(fixed[1]) * 2;
    return inHead((hex, at) => `0x${word(hex, at).slice(0, chars).toLowerCase()}`);
  }
  switch (type) {
    case "address":
      return inHead((hex, at) => `0x${padded(hex, at, 40, "dirty address").toLowerCase()}`);
    case "bool":
      return inHead((hex, at) => padded(hex, at, 1, "dirty bool") === "1");
    case "bytes":
      return inTail((hex, at) => `0x${tailBytes(hex, at).toLowerCase()}`);
    case "string":
      return inTail((hex, at) => toUtf8String(`0x${tailBytes(hex, at)}`));
    default:
      throw new AbiLayoutError(`type ${type} has no fast layout`);
  }
}

/** Decodes one event's logs into its arguments by name; see {@link AbiLayoutError}. */
export type EventArgsDecoder = (topics: readonly string[], data: string) => Record<string, unknown>;

/**
 * Compiles an event's layout once. Returns null when the event has arguments the fast path does
 * not cover (indexed strings, bytes, arrays and structs, which logs carry as hashes): decode
 * those with ethers.
 */
export function compileEvent(fragment: EventFragment): EventArgsDecoder | null {
  const inputs = fragment.inputs;
  const indexed: { name: string; layout: Layout }[] = [];
  const plain: { name: string; layout: Layout }[] = [];
  try {
    for (const p of inputs) {
      const layout = layoutOf(p);
      if (p.indexed === true) {
        // Only value types are in their topic as such; the others are there as a hash.
        if (p.isTuple() || p.isArray() || layout.dynamic) return null;
        indexed.push({ name: p.name, layout });
      } else plain.push({ name: p.name, layout });
    }
  } catch (error) {
    if (error instanceof AbiLayoutError) return null;
    throw error;
  }
  const plainLayouts = plain.map((x) => x.layout);
  const topicCount = 1 + indexed.length;
  return (topics, data) => {
    if (topics.length !== topicCount) throw new AbiLayoutError("wrong number of topics");
    for (let i = 1; i < topicCount; i++) {
      if (!HEX_TOPIC.test(topics[i] ?? "")) throw new AbiLayoutError("malformed topic");
    }
    if (!HEX_DATA.test(data)) throw new AbiLayoutError("malformed data");
    const values: Record<string, unknown> = {};
    const fromTopics = indexed.map((x, i) => x.layout.read((topics[i + 1] ?? "").slice(2), 0));
    const fromData = readSequence(plainLayouts, data.slice(2), 0);
    // In declaration order, as ethers' Result lists them.
    let t = 0;
    let d = 0;
    for (const p of inputs) {
      values[p.name] = p.indexed === true ? fromTopics[t++] : fromData[d++];
    }
    return values;
  };
}
