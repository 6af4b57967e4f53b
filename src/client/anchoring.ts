import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { keccak256, toUtf8Bytes } from "ethers";
import { InputError } from "./errors.js";
import type { Bytes32 } from "./validate.js";

/** Leaf encoding of access-log entries: (index in the batch, keccak256 of the entry's canonical JSON). */
export const LOG_LEAF_ENCODING = ["uint256", "bytes32"];

/** JSON with object keys sorted at every level: one entry, one byte string, one hash. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") {
    if (typeof value === "bigint") return JSON.stringify(value.toString());
    if (typeof value === "number" && !Number.isFinite(value)) {
      throw new InputError("entry", `non-finite number ${value}`);
    }
    const s = JSON.stringify(value);
    if (s === undefined) throw new InputError("entry", `cannot encode a ${typeof value}`);
    return s;
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
}

/** keccak256 of an access-log entry's canonical JSON. */
export function entryHash(entry: unknown): Bytes32 {
  return keccak256(toUtf8Bytes(canonicalJson(entry))) as Bytes32;
}

/** A batch of access-log entries and its Merkle tree. */
export interface LogBatch {
  root: Bytes32;
  entryHashes: Bytes32[];
  tree: StandardMerkleTree<[bigint, string]>;
}

/** Builds the Merkle tree of a batch of access-log entries (at least one). */
export function buildLogBatch(entries: readonly unknown[]): LogBatch {
  if (entries.length === 0) throw new InputError("entries", "a batch needs at least one entry");
  const entryHashes = entries.map(entryHash);
  const tree = StandardMerkleTree.of<[bigint, string]>(
    entryHashes.map((h, i) => [BigInt(i), h]),
    LOG_LEAF_ENCODING,
  );
  return { root: tree.root as Bytes32, entryHashes, tree };
}

/** The inclusion proof of entry `index` of a batch. */
export function proofOf(batch: LogBatch, index: number): string[] {
  if (!Number.isInteger(index) || index < 0 || index >= batch.entryHashes.length) {
    throw new InputError("index", `${index} is not an entry of this batch`);
  }
  return batch.tree.getProof(index);
}

/** Off-chain check that (index, entryHash) is in the tree of `root`. */
export function verifyLogEntry(
  root: string,
  index: bigint,
  hash: string,
  proof: string[],
): boolean {
  return StandardMerkleTree.verify(root, LOG_LEAF_ENCODING, [index, hash], proof);
}
