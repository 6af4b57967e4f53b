import { expect } from "chai";
import type { EventRow } from "../../src/ledger/decode.js";
import { openMemoryDatabase } from "../../src/db/db.js";
import { Store } from "../../src/db/store.js";

const UINT256_MAX = (2n ** 256n - 1n).toString();

/** Event i of a range: every column filled, or left null, depending on i. */
function row(i: number): EventRow {
  const odd = i % 2 === 1;
  return {
    blockNumber: 100 + Math.floor(i / 50),
    logIndex: i % 50,
    txIndex: i % 7,
    txHash: `0x${i.toString(16).padStart(64, "0")}`,
    blockHash: `0x${(100 + Math.floor(i / 50)).toString(16).padStart(64, "0")}`,
    blockTime: 1_767_225_600 + i,
    contract: odd ? "AccessLedger" : "CaseRegistry",
    event: odd ? "DeliveryAttested" : "CaseOpened",
    caseId: String(i + 1),
    requestId: odd ? UINT256_MAX : null,
    deliveryId: odd ? String(i) : null,
    anchorId: null,
    datasetId: i % 3 === 0 ? "2" : null,
    proposalId: null,
    actor: odd ? 4_294_967_295 : 1,
    counterpart: odd ? 6 : null,
    signer: `0x${"ab".repeat(20)}`,
    subject: odd ? null : `0x${"cd".repeat(32)}`,
    args: {
      caseId: String(i + 1),
      text: i % 5 === 0 ? 'quotes " and \\ backslashes, ünïcødé ✓ 🚀, {"json": [1]}' : "",
      delivery: { requestId: UINT256_MAX, sequence: "0" },
      list: [true, false, null],
      signature: `0x${"ef".repeat(65)}`,
    },
  };
}

describe("Store.writeRange", function () {
  it("stores every column of every event as given, across insert batches", async function () {
    const store = await Store.open(await openMemoryDatabase());
    try {
      const events = Array.from({ length: 12_345 }, (_, i) => row(i));
      const last = events[events.length - 1] as EventRow;
      await store.writeRange({
        events,
        blocks: [
          { number: last.blockNumber, hash: last.blockHash, parentHash: "0x00", timestamp: 1 },
        ],
        checkpoint: { blockNumber: last.blockNumber, blockHash: last.blockHash },
        pruneBelow: 0,
      });
      const stored = await store.db.query<Record<string, unknown>>(
        `SELECT block_number::text, log_index, tx_index, tx_hash, block_hash, block_time::text, contract,
           event, case_id::text, request_id::text, delivery_id::text, anchor_id::text, dataset_id::text,
           proposal_id::text, actor::text, counterpart::text, signer, subject, args
         FROM events ORDER BY block_number, log_index`,
      );
      expect(stored).to.have.length(events.length);
      const str = (v: string | number | null) => (v === null ? null : String(v));
      stored.forEach((s, i) => {
        const e = events[i] as EventRow;
        expect(s, `event ${i}`).to.deep.equal({
          block_number: String(e.blockNumber),
          log_index: e.logIndex,
          tx_index: e.txIndex,
          tx_hash: e.txHash,
          block_hash: e.blockHash,
          block_time: String(e.blockTime),
          contract: e.contract,
          event: e.event,
          case_id: e.caseId,
          request_id: e.requestId,
          delivery_id: e.deliveryId,
          anchor_id: e.anchorId,
          dataset_id: e.datasetId,
          proposal_id: e.proposalId,
          actor: str(e.actor),
          counterpart: str(e.counterpart),
          signer: e.signer,
          subject: e.subject,
          args: e.args,
        });
      });
      expect(await store.checkpoint()).to.deep.equal({
        blockNumber: last.blockNumber,
        blockHash: last.blockHash,
      });
    } finally {
      await store.close();
    }
  });

  it("writes nothing of a range when one of its events can't be stored", async function () {
    const store = await Store.open(await openMemoryDatabase());
    try {
      const events = Array.from({ length: 6000 }, (_, i) => row(i));
      // The same (block, log index) twice, in the second insert batch: the primary key refuses it.
      events.push({ ...(events[5999] as EventRow) });
      let failed = false;
      try {
        await store.writeRange({
          events,
          blocks: [],
          checkpoint: { blockNumber: 500, blockHash: "0x01" },
          pruneBelow: 0,
        });
      } catch {
        failed = true;
      }
      expect(failed).to.equal(true);
      expect(await store.eventCount()).to.equal(0);
      expect(await store.checkpoint()).to.equal(null);
    } finally {
      await store.close();
    }
  });
});
