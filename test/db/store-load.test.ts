/**
 * Reading a stream's transfers back in bulk (loadTransfers, loadFlows, txHashesAt), on PGlite
 * (COPY text blocks) and on the PostgreSQL server (rows): more rows than one read takes, dense
 * blocks, a gap of millions of blocks, a block larger than a read, another token interleaved,
 * amounts beyond 2^64, sub-ranges and empty ranges, each against the rows written.
 */
import { expect } from "chai";
import { createPostgresDatabase } from "../helpers/tracer.js";
import { openDatabase, openMemoryDatabase, type Database } from "../../src/db/db.js";
import { Store } from "../../src/db/store.js";
import {
  StreamStore,
  loadFlows,
  loadTransfers,
  txHashesAt,
  type FlowRow,
  type TransferKind,
  type TransferRow,
} from "../../src/db/streams.js";

const TOKEN = "0x00000000000000000000000000000000000000aa";
const OTHER = "0x00000000000000000000000000000000000000bb";
const address = (i: number) => `0x${(i % 5_000).toString(16).padStart(40, "0")}`;
const KINDS: TransferKind[] = ["erc20", "value", "internal", "fee"];

/** The rows written: TOKEN's in chain order, then OTHER's, by (block, ordinal). */
function history(): TransferRow[] {
  const rows: TransferRow[] = [];
  let n = 0;
  const add = (blockNumber: number, count: number) => {
    for (let ordinal = 0; ordinal < count; ordinal++, n++)
      rows.push({
        blockNumber,
        ordinal,
        txIndex: Math.floor(ordinal / 3),
        txHash: `0x${n.toString(16).padStart(64, "0")}`,
        token: n % 7 === 3 ? OTHER : TOKEN,
        from: address(n * 31),
        to: address(n * 17 + 1),
        amount: n % 1000 === 0 ? 2n ** 200n + BigInt(n) : BigInt(n + 1) * 10n ** 12n,
        blockTime: 1_700_000_000 + blockNumber * 12,
        kind: KINDS[n % 4] as TransferKind,
      });
  };
  for (let b = 100; b < 100 + 12_000; b++) add(b, 10); // 120,000 rows, 10 a block
  add(5_000_000, 5); // after a gap of millions of blocks
  add(5_000_001, 130_000); // one block larger than a read
  add(9_000_000, 1);
  return rows;
}

const tuple = (r: TransferRow) =>
  `${r.blockNumber}/${r.ordinal}/${r.txIndex}/${r.txHash}/${r.token}/${r.from}/${r.to}/${r.amount}/${r.blockTime}/${r.kind}`;

for (const engine of ["pglite", "postgres"] as const) {
  describe(`bulk reads of stored transfers, on ${engine === "pglite" ? "PGlite" : "a PostgreSQL server"}`, function () {
    this.timeout(300_000);
    let db: Database;
    let drop: (() => Promise<void>) | null = null;
    let stream: string;
    const rows = history();
    const ofToken = (from: number, to: number) =>
      rows.filter((r) => r.token === TOKEN && r.blockNumber >= from && r.blockNumber <= to);

    before(async function () {
      if (engine === "pglite") db = await openMemoryDatabase();
      else {
        const server = await createPostgresDatabase("veritrace_load");
        db = await openDatabase(server.url);
        drop = server.drop;
      }
      await Store.open(db);
      const s = await StreamStore.open(db, {
        chainId: 1,
        kind: "erc20",
        token: "*",
        startBlock: 0,
      });
      stream = s.id;
      await s.writeRange({
        rows,
        blocks: [],
        checkpoint: { blockNumber: 9_000_000, blockHash: `0x${"11".repeat(32)}` },
        pruneBelow: 9_000_000,
      });
    });
    after(async function () {
      await db?.close();
      await drop?.();
    });

    it("loads every row of the token in chain order, field for field", async function () {
      const loaded = await loadTransfers(db, stream, TOKEN, 0, 10_000_000);
      const expected = ofToken(0, 10_000_000);
      expect(loaded.length).to.equal(expected.length);
      expect(loaded.length).to.be.greaterThan(200_000);
      expect(loaded.map(tuple).join("\n") === expected.map(tuple).join("\n")).to.equal(true);
      expect(loaded.some((r) => r.token === OTHER)).to.equal(false);
      // Addresses are shared strings; amounts beyond 2^64 survive.
      expect(new Set(loaded.map((r) => r.from)).size).to.be.at.most(5_000);
      expect(loaded.find((r) => r.amount > 2n ** 64n)?.amount).to.equal(2n ** 200n); // n = 0
    });

    it("loads sub-ranges, a single block and empty ranges", async function () {
      for (const [from, to] of [
        [150, 260],
        [5_000_001, 5_000_001],
        [11_000, 5_000_000],
        [9_000_000, 9_000_000],
      ] as const) {
        const loaded = await loadTransfers(db, stream, TOKEN, from, to);
        expect(loaded.map(tuple), `${from}–${to}`).to.deep.equal(ofToken(from, to).map(tuple));
      }
      expect(await loadTransfers(db, stream, TOKEN, 12_100, 4_999_999)).to.deep.equal([]);
      expect(await loadTransfers(db, stream, TOKEN, 9_000_001, 20_000_000)).to.deep.equal([]);
      expect(await loadTransfers(db, stream, TOKEN, 10, 5)).to.deep.equal([]);
      expect(await loadTransfers(db, "no such stream", TOKEN, 0, 10_000_000)).to.deep.equal([]);
    });

    it("loads the value flow alone, and names the transactions of chosen transfers", async function () {
      const flows = await loadFlows(db, stream, TOKEN, 0, 10_000_000, (f) => f);
      const expected = ofToken(0, 10_000_000);
      expect(flows.length).to.equal(expected.length);
      const flowTuple = (f: FlowRow) =>
        `${f.blockNumber}/${f.ordinal}/${f.from}/${f.to}/${f.amount}/${f.blockTime}`;
      expect(flows.map(flowTuple).join("\n") === expected.map(flowTuple).join("\n")).to.equal(true);
      const chosen = [expected[0], expected[12_345], expected.at(-1)] as TransferRow[];
      const hashes = await txHashesAt(db, stream, [
        ...chosen,
        { blockNumber: 7, ordinal: 0 }, // nothing there
      ]);
      expect(hashes.size).to.equal(3);
      for (const r of chosen)
        expect(hashes.get(`${r.blockNumber}:${r.ordinal}`)).to.equal(r.txHash);
    });
  });
}
