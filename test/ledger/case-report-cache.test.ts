import { expect } from "chai";
import { listCases } from "../../src/ledger/lists.js";
import { caseReport } from "../../src/ledger/queries.js";
import type { EventRow } from "../../src/ledger/decode.js";
import { openMemoryDatabase } from "../../src/db/db.js";
import { Store } from "../../src/db/store.js";

const hash = (n: number) => `0x${n.toString(16).padStart(64, "0")}`;

/** A case event in block `block`, hand-made (the report reads the stored columns only). */
function event(block: number, name: string, args: Record<string, unknown>): EventRow {
  return {
    blockNumber: block,
    logIndex: 0,
    txIndex: 0,
    txHash: hash(1000 + block),
    blockHash: hash(block),
    blockTime: 1_700_000_000 + block * 12,
    contract: "CaseRegistry",
    event: name,
    caseId: "1",
    requestId: null,
    deliveryId: null,
    anchorId: null,
    datasetId: null,
    proposalId: null,
    actor: 1,
    counterpart: null,
    signer: `0x${"11".repeat(20)}`,
    subject: null,
    args,
  };
}

/** The case report is kept between calls while the store is unchanged (issue 14, point 11). */
describe("tracer: case reports kept between reads", function () {
  let store: Store;
  const write = (block: number, events: EventRow[]) =>
    store.writeRange({
      events,
      blocks: [],
      checkpoint: { blockNumber: block, blockHash: hash(block) },
      pruneBelow: block,
    });

  beforeEach(async function () {
    store = await Store.open(await openMemoryDatabase());
    await write(10, [
      event(10, "CaseOpened", {
        caseId: "1",
        caseNumberCommitment: hash(7),
        legalBasisCommitment: hash(8),
        scope: "1",
        expiresAt: "1800000000",
      }),
    ]);
  });

  afterEach(async function () {
    await store.close();
  });

  it("answers the same frozen report while the store is unchanged", async function () {
    const first = await caseReport(store.db, "1");
    const second = await caseReport(store.db, "1");
    expect(second).to.equal(first);
    expect(Object.isFrozen(first.custody[0])).to.equal(true);
    expect(() => (first.custody as unknown[]).push(null)).to.throw(TypeError);
  });

  it("rebuilds the report once the indexer writes new events", async function () {
    expect((await caseReport(store.db, "1")).status).to.equal("pending");
    await write(11, [event(11, "CaseApproved", { caseId: "1", expiresAt: "1800000000" })]);
    const after = await caseReport(store.db, "1");
    expect(after.status).to.equal("approved");
    expect(after.custody.map((e) => e.step)).to.deep.equal(["opening", "approval"]);
  });

  it("rebuilds the report after a rollback replaced its events at the same height and hash", async function () {
    await write(11, [event(11, "CaseApproved", { caseId: "1", expiresAt: "1800000000" })]);
    expect((await caseReport(store.db, "1")).status).to.equal("approved");
    // Rolled back and replaced with no read between: the checkpoint ends where it was (block 11,
    // the same hash here), only its time of writing differs.
    await store.rollbackTo({ blockNumber: 10, blockHash: hash(10) });
    await write(11, [event(11, "CaseClosed", { caseId: "1", reasonCode: "0" })]);
    const replaced = await caseReport(store.db, "1");
    expect(replaced.status).to.equal("closed");
    expect(replaced.custody.map((e) => e.step)).to.deep.equal(["opening", "closure"]);
  });

  it("keeps a page of the case list while the store is unchanged, and reads it again after a write", async function () {
    const first = await listCases(store.db, { limit: 10 });
    expect(await listCases(store.db, { limit: 10 })).to.equal(first);
    expect(Object.isFrozen(first[0])).to.equal(true);
    // Another page (a cursor, another size) is another answer.
    expect(await listCases(store.db, { limit: 1 })).to.not.equal(first);
    expect(await listCases(store.db, { after: "1", limit: 10 })).to.deep.equal([]);
    await write(11, [
      event(11, "CaseApproved", { caseId: "1", expiresAt: "1800000000" }),
      {
        ...event(11, "CaseOpened", {
          caseId: "2",
          caseNumberCommitment: hash(9),
          legalBasisCommitment: hash(8),
          scope: "1",
          expiresAt: "1800000000",
        }),
        logIndex: 1,
        caseId: "2",
      },
    ]);
    const after = await listCases(store.db, { limit: 10 });
    expect(after.map((c) => [c.caseId, c.status])).to.deep.equal([
      ["1", "approved"],
      ["2", "pending"],
    ]);
    expect(
      (await listCases(store.db, { after: "1", limit: 10 })).map((c) => c.caseId),
    ).to.deep.equal(["2"]);
  });
});
