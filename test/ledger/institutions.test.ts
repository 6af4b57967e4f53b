import { expect } from "chai";
import { encodeBytes32String } from "ethers";
import { institutions } from "../../src/ledger/queries.js";
import type { EventRow } from "../../src/ledger/decode.js";
import { openMemoryDatabase } from "../../src/db/db.js";
import { Store } from "../../src/db/store.js";

const KEY = `0x${"aa".repeat(20)}`;
const WALLET = `0x${"bb".repeat(20)}`;
const CODE_1 = `0x${"11".repeat(32)}`;
const CODE_2 = `0x${"22".repeat(32)}`;
const ZERO = `0x${"00".repeat(32)}`;

/** A registry event of participant 1 in block `block`. */
function registryEvent(block: number, event: string, args: Record<string, unknown>): EventRow {
  return {
    blockNumber: block,
    logIndex: 0,
    txIndex: 0,
    txHash: `0x${block.toString(16).padStart(64, "0")}`,
    blockHash: `0x${block.toString(16).padStart(64, "f")}`,
    blockTime: 1_767_225_600 + block,
    contract: "ParticipantRegistry",
    event,
    caseId: null,
    requestId: null,
    deliveryId: null,
    anchorId: null,
    datasetId: null,
    proposalId: String(block),
    actor: 1,
    counterpart: null,
    signer: null,
    subject: null,
    args,
  };
}

describe("institutions", function () {
  it("keeps the pinned code hash of each key, and a re-pin updates the key instead of adding it twice", async function () {
    const store = await Store.open(await openMemoryDatabase());
    try {
      const events = [
        registryEvent(1, "ParticipantAdmitted", {
          participantId: "1",
          kind: encodeBytes32String("BANK"),
          metadataCommitment: CODE_1,
          signingKey: KEY,
          proposalId: "1",
        }),
        registryEvent(2, "SigningKeyAdded", {
          participantId: "1",
          key: WALLET,
          proposalId: "2",
          codeHash: CODE_1,
        }),
        // The wallet's code changed; the council added it again, pinning the new code.
        registryEvent(3, "SigningKeyAdded", {
          participantId: "1",
          key: WALLET,
          proposalId: "3",
          codeHash: CODE_2,
        }),
        registryEvent(4, "SigningKeyAdded", {
          participantId: "1",
          key: `0x${"cc".repeat(20)}`,
          proposalId: "4",
          codeHash: ZERO,
        }),
      ];
      await store.writeRange({
        events,
        blocks: [{ number: 4, hash: events[3]?.blockHash ?? "", parentHash: "0x00", timestamp: 1 }],
        checkpoint: { blockNumber: 4, blockHash: events[3]?.blockHash ?? "" },
        pruneBelow: 0,
      });
      const bank = (await institutions(store.db)).get(1);
      expect(bank?.keys).to.deep.equal([
        { address: KEY, addedBlock: 1, removedBlock: null, codeHash: null, repinnedBlock: null },
        { address: WALLET, addedBlock: 2, removedBlock: null, codeHash: CODE_2, repinnedBlock: 3 },
        {
          address: `0x${"cc".repeat(20)}`,
          addedBlock: 4,
          removedBlock: null,
          codeHash: ZERO,
          repinnedBlock: null,
        },
      ]);
    } finally {
      await store.close();
    }
  });
});
