/**
 * The export of `npm run bench:exchange`: a deterministic CSV of any length, made fast enough that
 * the handler is never what the benchmark measures. Run as the gateway's handler, with Node's own
 * type stripping (no loader, so it starts in a few tens of milliseconds):
 *
 *   node scripts/lib/bench-export.ts BYTES [STARTED_FILE]
 *
 * writes BYTES bytes to stdout (the request's JSON on stdin is not read) and, first, the time it
 * started (Unix milliseconds) to STARTED_FILE. The benchmark hashes the same bytes in its own
 * process with {@link exportPieces}: what the requester ends up with must hash the same.
 *
 * The content: one MiB of CSV rows (account, counterparty, amount, reference: about 90 bytes a
 * row) drawn from a fixed-seed generator, repeated, each MiB starting with its own 16-byte block
 * number, so that no two MiB are alike and a chunk moved within the file changes the hash. The
 * file has no imports beyond Node's and only erasable TypeScript, so Node runs it as it is.
 */
import { writeFileSync } from "node:fs";

const BLOCK = 1024 * 1024;
/** The block number's width: 15 digits and a comma. */
const NUMBER = 16;

/** The MiB of rows every block repeats after its number (xorshift32, seed fixed). */
function baseBlock(): Buffer {
  let x = 0x9e3779b9;
  const next = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
  const rows: string[] = [];
  let size = 0;
  for (let i = 0; size < BLOCK; i++) {
    const row =
      `DE${String(next() % 1e9).padStart(9, "0")}${String(next() % 1e9).padStart(9, "0")},` +
      `DE${String(next() % 1e9).padStart(9, "0")}${String(next() % 1e9).padStart(9, "0")},` +
      `${(next() % 10_000_000) / 100},EUR,ref-${next().toString(36)}-${next().toString(36)},` +
      `2026-${String((i % 12) + 1).padStart(2, "0")}-${String((i % 28) + 1).padStart(2, "0")}\n`;
    rows.push(row);
    size += row.length;
  }
  return Buffer.from(rows.join(""), "latin1").subarray(0, BLOCK - NUMBER);
}

/**
 * The export of `bytes` bytes, as pieces: per MiB its number (fresh) and the shared rows (the same
 * buffer each time: a consumer must not change it).
 */
export function* exportPieces(bytes: number): Generator<Buffer> {
  const base = baseBlock();
  for (let block = 0, left = bytes; left > 0; block++) {
    const number = Buffer.from(`${String(block).padStart(NUMBER - 1, "0")},`, "latin1");
    yield number.subarray(0, Math.min(left, NUMBER));
    left -= NUMBER;
    if (left <= 0) break;
    yield base.subarray(0, Math.min(left, base.length));
    left -= base.length;
  }
}

/** Writes the export to stdout, waiting whenever the pipe is full. */
async function main(args: readonly string[]): Promise<void> {
  const bytes = Number(args[0]);
  if (!Number.isSafeInteger(bytes) || bytes < 0) {
    process.stderr.write("usage: bench-export.ts BYTES [STARTED_FILE]\n");
    process.exit(2);
  }
  if (args[1] !== undefined) writeFileSync(args[1], String(Date.now()));
  for (const piece of exportPieces(bytes)) {
    if (!process.stdout.write(piece))
      await new Promise((resolve) => process.stdout.once("drain", resolve));
  }
}

if (process.argv[1] !== undefined && import.meta.filename === process.argv[1]) {
  await main(process.argv.slice(2));
}
