/**
 * The one batch insert (db/rows.ts) and the one header chain (db/header-chain.ts), on PGlite and
 * on the PostgreSQL server: rows across batches with every type as given, the conflict rule,
 * refused names and types; headers and checkpoints of the ledger and of two streams in one
 * store, each written, pruned and rolled back without touching the others'.
 */
import { expect } from "chai";
import { createPostgresDatabase } from "../helpers/tracer.js";
import { openDatabase, openMemoryDatabase, type Database } from "../../src/db/db.js";
import { columns, insertRows, type InsertRows, type Values } from "../../src/db/rows.js";
import { Store, type BlockHeader } from "../../src/db/store.js";
import { StreamStore, type TransferRow } from "../../src/db/streams.js";

interface Item {
  id: number;
  name: string | null;
  big: string;
  flag: boolean;
  doc: unknown;
}

const ITEM_COLUMNS = columns(`id int, name text, big numeric, flag boolean, doc jsonb`);
const itemValues = (r: Item): Values<typeof ITEM_COLUMNS> => [r.id, r.name, r.big, r.flag, r.doc];

const hash = (n: number, fork = 0) => `0x${(n + fork * 1_000_000).toString(16).padStart(64, "0")}`;
const header = (n: number, fork = 0): BlockHeader => ({
  number: n,
  hash: hash(n, fork),
  parentHash: hash(n - 1, fork),
  timestamp: 1_700_000_000 + n,
});
const transfer = (blockNumber: number, ordinal: number): TransferRow => ({
  blockNumber,
  ordinal,
  txIndex: 0,
  txHash: hash(blockNumber * 100 + ordinal),
  token: "native",
  from: "0x01",
  to: "0x02",
  amount: 2n ** 100n + BigInt(ordinal),
  blockTime: 1_700_000_000 + blockNumber,
  kind: "value",
});

for (const engine of ["pglite", "postgres"] as const) {
  describe(`batch insert and header chain, on ${engine === "pglite" ? "PGlite" : "a PostgreSQL server"}`, function () {
    this.timeout(120_000);
    let db: Database;
    let drop: (() => Promise<void>) | null = null;

    beforeEach(async function () {
      if (engine === "pglite") db = await openMemoryDatabase();
      else {
        const server = await createPostgresDatabase("veritrace_rows");
        db = await openDatabase(server.url);
        drop = server.drop;
      }
    });
    afterEach(async function () {
      await db?.close();
      await drop?.();
      drop = null;
    });

    describe("insertRows", function () {
      beforeEach(async function () {
        await db.query(`CREATE TABLE items (
          owner text NOT NULL, id integer NOT NULL, name text, big numeric NOT NULL,
          flag boolean NOT NULL, doc jsonb NOT NULL, PRIMARY KEY (owner, id))`);
      });

      it("stores every row as given, in several batches, the fixed value in each", async function () {
        const items: Item[] = Array.from({ length: 7 }, (_, i) => ({
          id: i,
          name: i === 3 ? null : `it's "${i}" \\ ✓`,
          big: (2n ** 255n + BigInt(i)).toString(),
          flag: i % 2 === 0,
          doc: { i, list: [null, true, "x"] },
        }));
        const sent: string[] = [];
        const tx = {
          query: <T extends object>(text: string, params?: readonly unknown[]) => {
            sent.push(text);
            return db.query<T>(text, params);
          },
        };
        await insertRows(tx, {
          table: "items",
          fixed: [{ name: "owner", value: "a" }],
          columns: ITEM_COLUMNS,
          rows: items,
          values: itemValues,
          batch: 3,
        });
        expect(sent).to.have.length(3);
        const stored = await db.query<Record<string, unknown>>(
          "SELECT owner, id, name, big::text AS big, flag, doc FROM items ORDER BY id",
        );
        expect(stored).to.deep.equal(items.map((r) => ({ owner: "a", ...r })));
      });

      it("replaces the named columns of a stored key, and fails on one without onConflict", async function () {
        const one = (name: string): Item => ({ id: 1, name, big: "5", flag: true, doc: {} });
        const spec = {
          table: "items",
          fixed: [{ name: "owner", value: "a" }],
          columns: ITEM_COLUMNS,
          values: itemValues,
        };
        await insertRows(db, { ...spec, rows: [one("first")] });
        await insertRows(db, {
          ...spec,
          rows: [{ ...one("second"), big: "6" }],
          onConflict: { key: ["owner", "id"], update: ["name"] },
        });
        expect(await db.query("SELECT name, big::text AS big FROM items")).to.deep.equal([
          { name: "second", big: "5" },
        ]);
        let error: unknown = null;
        await insertRows(db, { ...spec, rows: [one("third")] }).catch((e: unknown) => (error = e));
        expect(String(error)).to.match(/duplicate key|unique/i);
      });

      it("refuses a name or type that is not one, and values that don't match the columns", async function () {
        expect(() => columns(`id int, name varchar`)).to.throw(
          /not "name type" \(types: text, .*\): "name varchar"/,
        );
        expect(() => columns(`id int; DROP TABLE items`)).to.throw(/not "name type"/);
        expect(() => columns(`"id" int`)).to.throw(/not an SQL identifier/);
        const refused = async (spec: InsertRows<Item, typeof ITEM_COLUMNS>) =>
          insertRows(db, spec).then(
            () => "inserted",
            (e: unknown) => String(e),
          );
        const base = { table: "items", columns: ITEM_COLUMNS, rows: [], values: itemValues };
        const row: Item = { id: 1, name: null, big: "1", flag: true, doc: {} };
        expect(await refused({ ...base, table: "items; --", rows: [row] })).to.match(
          /not an SQL identifier/,
        );
        expect(await refused({ ...base, rows: [row], batch: 0 })).to.match(/positive integer/);
        expect(
          await refused({
            ...base,
            rows: [row],
            values: (r) => [r.id, r.name] as unknown as Values<typeof ITEM_COLUMNS>,
          }),
        ).to.match(/items: 2 values for 5 columns/);
        expect(await db.query("SELECT * FROM items")).to.deep.equal([]);
      });
    });

    describe("the header chain", function () {
      it("keeps the last of two headers of one block, as writing them one by one did", async function () {
        const store = await Store.open(db);
        await store.writeRange({
          events: [],
          blocks: [header(5), header(6), header(5, 1)],
          checkpoint: { blockNumber: 6, blockHash: hash(6) },
          pruneBelow: 0,
        });
        expect(await store.blocksDescending(10, 10)).to.deep.equal([header(6), header(5, 1)]);
        const stream = await StreamStore.open(db, {
          chainId: 1,
          kind: "native",
          token: "native",
          startBlock: 0,
        });
        await stream.writeRange({
          rows: [],
          blocks: [header(5), header(5, 2)],
          checkpoint: { blockNumber: 5, blockHash: hash(5, 2) },
          pruneBelow: 0,
        });
        expect(await stream.blocksDescending(10, 10)).to.deep.equal([header(5, 2)]);
      });

      it("writes, prunes and rolls back one stream's headers, rows and checkpoint only", async function () {
        const ledger = await Store.open(db);
        const open = (chainId: number) =>
          StreamStore.open(db, { chainId, kind: "native", token: "native", startBlock: 0 });
        const [a, b] = [await open(1), await open(2)];
        expect(await a.checkpoint()).to.equal(null);
        expect(await ledger.checkpoint()).to.equal(null);
        for (const s of [a, b]) {
          for (let n = 1; n <= 6; n++) {
            await s.writeRange({
              rows: [transfer(n, 0), transfer(n, 1)],
              blocks: [header(n)],
              checkpoint: { blockNumber: n, blockHash: hash(n) },
              // Final below block 3: headers 1 and 2 dropped once written past them.
              pruneBelow: 3,
            });
          }
        }
        await ledger.writeRange({
          events: [],
          blocks: [header(2), header(3)],
          checkpoint: { blockNumber: 3, blockHash: hash(3) },
          pruneBelow: 0,
        });
        const numbers = async (s: StreamStore | Store) =>
          (await s.blocksDescending(100, 100)).map((h) => h.number);
        expect(await numbers(a)).to.deep.equal([6, 5, 4, 3]);
        expect(await a.blocksDescending(4, 2)).to.deep.equal([header(4), header(3)]);

        expect(await a.rollbackTo({ blockNumber: 4, blockHash: hash(4) })).to.equal(4);
        expect(await a.checkpoint()).to.deep.equal({ blockNumber: 4, blockHash: hash(4) });
        expect(await numbers(a)).to.deep.equal([4, 3]);
        expect((await a.transfers("native", 0, 100)).map((t) => t.blockNumber)).to.deep.equal([
          1, 1, 2, 2, 3, 3, 4, 4,
        ]);
        // The other stream and the ledger: as written.
        expect(await b.checkpoint()).to.deep.equal({ blockNumber: 6, blockHash: hash(6) });
        expect(await numbers(b)).to.deep.equal([6, 5, 4, 3]);
        expect(await b.transfers("native", 0, 100)).to.have.length(12);
        expect(await ledger.checkpoint()).to.deep.equal({ blockNumber: 3, blockHash: hash(3) });
        expect(await numbers(ledger)).to.deep.equal([3, 2]);

        expect(await ledger.rollbackTo({ blockNumber: 2, blockHash: hash(2) })).to.equal(0);
        expect(await numbers(ledger)).to.deep.equal([2]);
        expect(await ledger.checkpoint()).to.deep.equal({ blockNumber: 2, blockHash: hash(2) });
        expect(await numbers(b)).to.deep.equal([6, 5, 4, 3]);
      });
    });
  });
}
