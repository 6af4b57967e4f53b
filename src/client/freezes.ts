import { randomBytes } from "node:crypto";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { hexlify, isHexString, MaxUint256, ZeroAddress } from "ethers";
import {
  commitFreezeItem,
  commitFrozenItem,
  freezeListKey,
  type FreezeItem,
  type FrozenItem,
} from "./commitments.js";
import { InputError, VeritraceError } from "./errors.js";
import {
  requireAddress,
  requireInteger,
  UINT32_MAX,
  UINT64_MAX,
  type Bytes32,
} from "./validate.js";

/**
 * Freeze lists: the accounts and amounts of a freeze request, and the exchange's answer, travel
 * off chain; the chain holds only the Merkle root of their keyed commitments (docs/contracts.md,
 * "Freezes"). Leaf i of a list's tree is (i, commitment of item i), encoded as
 * ["uint256", "bytes32"] by OpenZeppelin's StandardMerkleTree, as access-log batches are.
 */

/** Leaf encoding of freeze lists: (index in the list, keyed commitment of the item). */
export const FREEZE_LEAF_ENCODING = ["uint256", "bytes32"];
/** The format of freeze list files. */
export const FREEZE_LIST_VERSION = "veritrace-freeze-list/1";
/** Most accounts in one freeze request (FreezeRegistry.MAX_ITEMS). */
export const MAX_FREEZE_ITEMS = 256;

/** The list the police delivers to the exchange; its root goes on chain. */
export interface FreezeRequestList {
  version: typeof FREEZE_LIST_VERSION;
  kind: "request";
  /** Set once the request is on chain. */
  freezeId: bigint | null;
  caseId: bigint;
  /** The EXCHANGE participant asked. */
  exchange: number;
  /** The nonce the list key is derived from with the case key. */
  nonce: Bytes32;
  /** The list key: the commitments' HMAC key (not the case key). */
  key: Bytes32;
  items: FreezeItem[];
  root: Bytes32;
}

/** The exchange's answer to a request list; its root goes on chain with the request's. */
export interface FreezeResultList {
  version: typeof FREEZE_LIST_VERSION;
  kind: "result";
  freezeId: bigint;
  caseId: bigint;
  exchange: number;
  /** The root of the request list answered. */
  listRoot: Bytes32;
  key: Bytes32;
  items: FrozenItem[];
  root: Bytes32;
}

export type FreezeList = FreezeRequestList | FreezeResultList;

function rootOf(commitments: readonly string[]): Bytes32 {
  return StandardMerkleTree.of(
    commitments.map((c, i) => [BigInt(i), c]),
    FREEZE_LEAF_ENCODING,
  ).root as Bytes32;
}

/** The Merkle root of a request list's items under its key. */
export function freezeRequestRoot(key: string, items: readonly FreezeItem[]): Bytes32 {
  return rootOf(items.map((item) => commitFreezeItem(key, item)));
}

/** The Merkle root of a result list's items under its key. */
export function freezeResultRoot(key: string, items: readonly FrozenItem[]): Bytes32 {
  return rootOf(items.map((item) => commitFrozenItem(key, item)));
}

/** The inclusion proof of item `index` of a list (to show one account to a court, not the rest). */
export function freezeItemProof(list: FreezeList, index: number): string[] {
  if (!Number.isInteger(index) || index < 0 || index >= list.items.length) {
    throw new InputError("index", `${index} is not an item of this list`);
  }
  const commitments =
    list.kind === "request"
      ? list.items.map((item) => commitFreezeItem(list.key, item))
      : list.items.map((item) => commitFrozenItem(list.key, item));
  return StandardMerkleTree.of(
    commitments.map((c, i) => [BigInt(i), c]),
    FREEZE_LEAF_ENCODING,
  ).getProof(index);
}

const itemKey = (i: { chainId: bigint; token: string; account: string }): string =>
  `${i.chainId}:${i.token.toLowerCase()}:${i.account.toLowerCase()}`;

function requireItemCount(field: string, n: number): void {
  if (n === 0 || n > MAX_FREEZE_ITEMS) {
    throw new InputError(field, `a list needs 1 to ${MAX_FREEZE_ITEMS} items, ${n} given`);
  }
}

function requireAccount(field: string, value: string): string {
  const address = requireAddress(field, value).toLowerCase();
  if (address === ZeroAddress) throw new InputError(field, "the zero address is not an account");
  return address;
}

/** Checks and normalizes requested items: 1 to 256, non-zero accounts and amounts, no duplicate. */
export function validateFreezeItems(
  items: readonly {
    chainId: bigint | number;
    token: string;
    account: string;
    amount: bigint | number;
  }[],
): FreezeItem[] {
  requireItemCount("items", items.length);
  const seen = new Set<string>();
  return items.map((item, i) => {
    const v: FreezeItem = {
      chainId: requireInteger(`items[${i}].chainId`, item.chainId, 1n, UINT64_MAX),
      token: requireAddress(`items[${i}].token`, item.token).toLowerCase(),
      account: requireAccount(`items[${i}].account`, item.account),
      amount: requireInteger(`items[${i}].amount`, item.amount, 1n, MaxUint256),
    };
    if (seen.has(itemKey(v))) {
      throw new InputError(
        `items[${i}]`,
        `${v.account} (${v.token} on chain ${v.chainId}) is listed twice`,
      );
    }
    seen.add(itemKey(v));
    return v;
  });
}

/** Builds the request list of a freeze: a fresh nonce, its list key and the root to record. */
export function buildFreezeRequestList(input: {
  caseId: bigint;
  exchange: number;
  caseKey: string | Uint8Array;
  items: readonly {
    chainId: bigint | number;
    token: string;
    account: string;
    amount: bigint | number;
  }[];
  /** 32 bytes of hex; random unless given (tests). */
  nonce?: string;
}): FreezeRequestList {
  const items = validateFreezeItems(input.items);
  const nonce = (input.nonce ?? hexlify(randomBytes(32))).toLowerCase() as Bytes32;
  const key = freezeListKey(input.caseKey, nonce);
  return {
    version: FREEZE_LIST_VERSION,
    kind: "request",
    freezeId: null,
    caseId: requireInteger("caseId", input.caseId, 1n, UINT64_MAX),
    exchange: Number(requireInteger("exchange", input.exchange, 1n, UINT32_MAX)),
    nonce,
    key,
    items,
    root: freezeRequestRoot(key, items),
  };
}

/**
 * Builds the exchange's answer to a request list: one amount frozen per item, in its order.
 * Refuses an amount above the one requested: the chain cannot check it, the client does.
 */
export function buildFreezeResultList(
  request: FreezeRequestList,
  frozen: readonly (bigint | number)[],
): FreezeResultList {
  if (request.freezeId === null) {
    throw new InputError("request", "the list has no freezeId: it was never requested on chain");
  }
  if (frozen.length !== request.items.length) {
    throw new InputError(
      "frozen",
      `the request has ${request.items.length} items, ${frozen.length} amounts given`,
    );
  }
  const items = request.items.map((item, i) => {
    const amount = requireInteger(`frozen[${i}]`, frozen[i] ?? -1, 0n, MaxUint256);
    if (amount > item.amount) {
      throw new InputError(
        `frozen[${i}]`,
        `${amount} is above the ${item.amount} requested for ${item.account}`,
      );
    }
    return {
      chainId: item.chainId,
      token: item.token,
      account: item.account,
      requested: item.amount,
      frozen: amount,
    };
  });
  return {
    version: FREEZE_LIST_VERSION,
    kind: "result",
    freezeId: request.freezeId,
    caseId: request.caseId,
    exchange: request.exchange,
    listRoot: request.root,
    key: request.key,
    items,
    root: freezeResultRoot(request.key, items),
  };
}

/** What is wrong with one item of an answer, compared with the request. */
export type FreezeFlag =
  /** More frozen than requested. */
  | "frozen-above-requested"
  /** The answer names an account (on that chain, in that token) the request did not. */
  | "not-requested"
  /** The answer states another requested amount than the request's. */
  | "requested-differs"
  /** The request names an account the answer leaves out. */
  | "missing-from-result";

/** One account of a freeze, with what the request asked and what the answer froze. */
export interface FreezeComparison {
  chainId: bigint;
  token: string;
  account: string;
  /** Null when the request did not name the account. */
  requested: bigint | null;
  /** Null when the answer did not name the account. */
  frozen: bigint | null;
  flags: FreezeFlag[];
}

/**
 * Compares an answer with its request, account by account: every request item, then every
 * answered item the request did not name; each with its flags (none when all is in order).
 */
export function compareFreezeLists(
  request: readonly FreezeItem[],
  result: readonly FrozenItem[],
): FreezeComparison[] {
  const answered = new Map(result.map((r) => [itemKey(r), r]));
  const asked = new Set(request.map(itemKey));
  const out: FreezeComparison[] = request.map((q) => {
    const r = answered.get(itemKey(q));
    const flags: FreezeFlag[] = [];
    if (r === undefined) flags.push("missing-from-result");
    else {
      if (r.requested !== q.amount) flags.push("requested-differs");
      if (r.frozen > q.amount) flags.push("frozen-above-requested");
    }
    return { ...pick(q), requested: q.amount, frozen: r?.frozen ?? null, flags };
  });
  for (const r of result) {
    if (asked.has(itemKey(r))) continue;
    const flags: FreezeFlag[] = ["not-requested"];
    if (r.frozen > r.requested) flags.push("frozen-above-requested");
    out.push({ ...pick(r), requested: null, frozen: r.frozen, flags });
  }
  return out;
}

const pick = (i: { chainId: bigint; token: string; account: string }) => ({
  chainId: i.chainId,
  token: i.token,
  account: i.account,
});

// ------------------------------------------------------------------ checks against the chain

/** A freeze as the chain holds it: what a list is checked against. */
export interface FreezeOnChain {
  freezeId: bigint;
  caseId: bigint;
  exchange: number;
  itemCount: number;
  listRoot: string;
  /** Null until the exchange answered. */
  resultRoot: string | null;
}

/** Refuses a request list that is not the one whose root the chain holds. */
export function verifyRequestList(list: FreezeRequestList, chain: FreezeOnChain): void {
  const name = `freeze ${chain.freezeId}`;
  if (list.caseId !== chain.caseId || list.exchange !== chain.exchange) {
    throw new VeritraceError(
      `${name}: the list is for case ${list.caseId} and exchange ${list.exchange}, the chain's request for case ${chain.caseId} and exchange ${chain.exchange}`,
      { kind: "verification-failed" },
    );
  }
  const root = freezeRequestRoot(list.key, list.items);
  if (root !== chain.listRoot.toLowerCase() || list.items.length !== chain.itemCount) {
    throw new VeritraceError(
      `${name}: the list's ${list.items.length} items have root ${root}; the chain holds ${chain.itemCount} items with root ${chain.listRoot.toLowerCase()}`,
      { kind: "verification-failed" },
    );
  }
}

/** Refuses a result list that is not the one whose root the exchange recorded. */
export function verifyResultList(list: FreezeResultList, chain: FreezeOnChain): void {
  const name = `freeze ${chain.freezeId}`;
  if (chain.resultRoot === null)
    throw new VeritraceError(`${name}: no answer is on chain`, { kind: "verification-failed" });
  if (list.listRoot !== chain.listRoot.toLowerCase()) {
    throw new VeritraceError(
      `${name}: the result answers the list of root ${list.listRoot}; the chain's request has root ${chain.listRoot.toLowerCase()}`,
      { kind: "verification-failed" },
    );
  }
  const root = freezeResultRoot(list.key, list.items);
  if (root !== chain.resultRoot.toLowerCase()) {
    throw new VeritraceError(
      `${name}: the result list's items have root ${root}; the exchange recorded ${chain.resultRoot.toLowerCase()}`,
      { kind: "verification-failed" },
    );
  }
}

// ------------------------------------------------------------------ files

/** A freeze list as JSON (integers as decimal strings). */
export function freezeListJson(list: FreezeList): string {
  return `${JSON.stringify(list, (_, v: unknown) => (typeof v === "bigint" ? v.toString() : v), 2)}\n`;
}

function field(o: Record<string, unknown>, name: string): unknown {
  if (!(name in o)) throw new InputError(name, "is missing");
  return o[name];
}

function int(o: Record<string, unknown>, name: string, min: bigint, max: bigint): bigint {
  const v = field(o, name);
  if (typeof v !== "string" || !/^\d+$/.test(v)) {
    throw new InputError(name, `must be a decimal string, got ${JSON.stringify(v)}`);
  }
  return requireInteger(name, BigInt(v), min, max);
}

function bytes32(o: Record<string, unknown>, name: string): Bytes32 {
  const v = field(o, name);
  if (typeof v !== "string" || !isHexString(v, 32)) {
    throw new InputError(name, `must be 32 bytes of hex, got ${JSON.stringify(v)}`);
  }
  return v.toLowerCase() as Bytes32;
}

function exchangeOf(o: Record<string, unknown>): number {
  const v = field(o, "exchange");
  if (typeof v !== "number")
    throw new InputError("exchange", `must be a participant id, got ${JSON.stringify(v)}`);
  return Number(requireInteger("exchange", v, 1n, UINT32_MAX));
}

function object(v: unknown, name: string): Record<string, unknown> {
  if (v === null || typeof v !== "object" || Array.isArray(v)) {
    throw new InputError(name, "must be an object");
  }
  return v as Record<string, unknown>;
}

/**
 * Reads a freeze list file's JSON. Checks its form only; whether it is the list the chain
 * committed to is {@link verifyRequestList}'s and {@link verifyResultList}'s question.
 */
export function parseFreezeList(text: string): FreezeList {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new InputError("list", `not JSON: ${(error as Error).message}`);
  }
  const o = object(parsed, "list");
  if (o["version"] !== FREEZE_LIST_VERSION) {
    throw new InputError("version", `must be ${JSON.stringify(FREEZE_LIST_VERSION)}`);
  }
  const rawItems = field(o, "items");
  if (!Array.isArray(rawItems)) throw new InputError("items", "must be an array");
  requireItemCount("items", rawItems.length);
  const base = (i: number) => {
    const item = object(rawItems[i], `items[${i}]`);
    const address = (name: string) => {
      const v = field(item, name);
      if (typeof v !== "string") throw new InputError(`items[${i}].${name}`, "must be a string");
      return requireAddress(`items[${i}].${name}`, v).toLowerCase();
    };
    return {
      item,
      chainId: int(item, "chainId", 1n, UINT64_MAX),
      token: address("token"),
      account: address("account"),
    };
  };
  const common = {
    version: FREEZE_LIST_VERSION,
    caseId: int(o, "caseId", 1n, UINT64_MAX),
    exchange: exchangeOf(o),
    key: bytes32(o, "key"),
    root: bytes32(o, "root"),
  } as const;
  if (o["kind"] === "request") {
    return {
      ...common,
      kind: "request",
      freezeId: o["freezeId"] === null ? null : int(o, "freezeId", 1n, MaxUint256),
      nonce: bytes32(o, "nonce"),
      items: rawItems.map((_, i) => {
        const { item, ...rest } = base(i);
        return { ...rest, amount: int(item, "amount", 1n, MaxUint256) };
      }),
    };
  }
  if (o["kind"] === "result") {
    return {
      ...common,
      kind: "result",
      freezeId: int(o, "freezeId", 1n, MaxUint256),
      listRoot: bytes32(o, "listRoot"),
      items: rawItems.map((_, i) => {
        const { item, ...rest } = base(i);
        return {
          ...rest,
          requested: int(item, "requested", 0n, MaxUint256),
          frozen: int(item, "frozen", 0n, MaxUint256),
        };
      }),
    };
  }
  throw new InputError("kind", 'must be "request" or "result"');
}
