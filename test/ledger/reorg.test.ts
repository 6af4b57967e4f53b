import { expect } from "chai";
import { TracerError } from "../../src/shared/errors.js";
import { Indexer } from "../../src/ledger/indexer.js";
import { RpcClient } from "../../src/chain/rpc.js";
import { openMemoryDatabase } from "../../src/db/db.js";
import { Store } from "../../src/db/store.js";
import { startRpcProxy, type RpcProxy } from "../helpers/rpc-proxy.js";
import {
  blockHash,
  failure,
  freshIndex,
  snapshotStore,
  startConsortiumNode,
  storedBlocks,
  type ConsortiumNode,
} from "../helpers/tracer.js";

/** Small, so that the newest blocks are read one by one (the tip path) and reorganizations can outrun it. */
const FINALITY = 10;
const SET_QUORUM = 8;
const WEEK = 7 * 86_400;

/**
 * A point the chain will fork from: `replace` abandons every block after it and mines a different
 * branch with consortium activity. On a hardhat node: evm_snapshot, then evm_revert and new
 * activity. On anvil: anvil_reorg, which re-mines the abandoned blocks with replacement
 * transactions (council proposals) built here.
 */
interface ForkPoint {
  block: number;
  /** On a hardhat node the new branch is one case with `requests` requests (3 + 3 × requests blocks). */
  replace(requests?: number): Promise<void>;
}

async function forkHere(node: ConsortiumNode): Promise<ForkPoint> {
  const block = await node.head();
  if (node.kind === "hardhat") {
    const id = await node.rpc.call<string>("evm_snapshot");
    return {
      block,
      replace: async (requests = 2) => {
        expect(await node.rpc.call<boolean>("evm_revert", [id])).to.equal(true);
        await node.activity(1, requests);
      },
    };
  }
  return {
    block,
    replace: async () => {
      const depth = (await node.head()) - block;
      const council = await Promise.all(node.signers.slice(0, 3).map((s) => s.getAddress()));
      const args = `0x${(2).toString(16).padStart(64, "0")}`;
      const data = node.contracts.registry.interface.encodeFunctionData("propose", [
        SET_QUORUM,
        args,
        WEEK,
      ]);
      // One proposal per re-mined block, from the council members in turn.
      const txs = Array.from({ length: depth }, (_, i) => [
        {
          from: council[i % 3],
          to: node.record.contracts.ParticipantRegistry,
          data,
          gas: "0x100000",
        },
        i,
      ]);
      await node.rpc.call("anvil_reorg", [depth, txs]);
      expect(await node.head()).to.equal(block + depth);
    },
  };
}

const hex = (n: number) => `0x${n.toString(16)}`;

async function mineEmpty(node: ConsortiumNode, blocks: number): Promise<void> {
  for (let i = 0; i < blocks; i++) await node.rpc.call("evm_mine");
}

for (const kind of ["hardhat", "anvil"] as const) {
  describe(`Indexer under reorganizations (${kind === "hardhat" ? "hardhat node" : "anvil"})`, function () {
    let node: ConsortiumNode;
    let proxy: RpcProxy;
    let store: Store;
    let logs: Record<string, unknown>[] = [];
    const sync = (url = node.url) =>
      new Indexer(store, new RpcClient(url), node.record, {
        finalityDepth: FINALITY,
        onLog: (e) => logs.push(e),
      }).syncOnce();
    const reorgs = () => logs.filter((e) => e["msg"] === "reorganization");
    const fresh = () => freshIndex(node.url, node.record, { finalityDepth: FINALITY });

    before(async function () {
      node = await startConsortiumNode(kind);
      await node.activity(2, 3);
      proxy = await startRpcProxy(node.url);
      store = await Store.open(await openMemoryDatabase());
      await sync();
    });
    after(async function () {
      await proxy?.stop();
      await store?.close();
      await node?.stop();
    });
    beforeEach(function () {
      logs = [];
    });

    it("rolls nothing back while the chain only grows", async function () {
      const before = await snapshotStore(store);
      expect(await sync()).to.equal(before.checkpoint?.blockNumber);
      expect(await snapshotStore(store)).to.deep.equal(before);
      await node.activity(1, 1);
      const head = await node.head();
      expect(await sync()).to.equal(head);
      expect(reorgs()).to.deep.equal([]);
      const after = await snapshotStore(store);
      expect(after.events.slice(0, before.events.length)).to.deep.equal(before.events);
      expect(after).to.deep.equal(await fresh());
    });

    it("rolls back the abandoned blocks of a reorganization at the tip and reads the new branch", async function () {
      const fork = await forkHere(node);
      await node.activity(1, 1);
      expect((await node.head()) - fork.block).to.be.at.most(FINALITY);
      await sync();
      const abandoned = (await snapshotStore(store)).events.filter(
        (e) => e.block_number > fork.block,
      );
      expect(abandoned).to.not.be.empty;

      await fork.replace();
      const head = await node.head();
      expect(await sync()).to.equal(head);

      expect(reorgs()).to.have.length(1);
      expect(reorgs()[0]).to.include({ fork: fork.block, eventsRemoved: abandoned.length });
      const after = await snapshotStore(store);
      expect(after).to.deep.equal(await fresh());
      expect(after.checkpoint).to.deep.equal({
        blockNumber: head,
        blockHash: await blockHash(node.rpc, head),
      });
      // No row of an abandoned block is left (a transaction may be in both branches, a block not).
      const kept = new Set(after.events.map((e) => e.block_hash));
      expect(abandoned.filter((e) => kept.has(e.block_hash))).to.deep.equal([]);
      // The new branch has consortium events of its own in the replaced blocks.
      expect(after.events.filter((e) => e.block_number > fork.block)).to.not.be.empty;
    });

    it("rolls back to the end of a historical range, the only header kept there", async function () {
      const start = await node.head();
      await mineEmpty(node, 3);
      const fork = await forkHere(node);
      await node.activity(1, 2);
      // The head is FINALITY blocks past the fork: the fork is the last finalized block, read as
      // the end of an eth_getLogs range; the blocks after it are read one by one.
      expect(await node.head()).to.equal(fork.block + FINALITY);
      await sync();
      const headers = (await storedBlocks(store)).map((b) => b.number);
      expect(headers).to.include(fork.block);
      expect(headers.filter((n) => n > start && n < fork.block)).to.deep.equal([]);

      await fork.replace();
      expect(await sync()).to.equal(await node.head());
      expect(reorgs()).to.have.length(1);
      expect(reorgs()[0]).to.include({ fork: fork.block });
      expect(await snapshotStore(store)).to.deep.equal(await fresh());
    });

    it("notices a reorganization that happens while it reads the tip (a parent hash that no longer matches)", async function () {
      const fork = await forkHere(node);
      await node.activity(1, 1);
      const oldHead = await node.head();
      let reorganized = false;
      // The chain reorganizes just before the indexer asks for the third new block.
      proxy.configure({
        beforeForward: async ([call]) => {
          if (reorganized || call?.method !== "eth_getBlockByNumber") return;
          if (call.params[0] !== hex(fork.block + 3)) return;
          reorganized = true;
          await fork.replace();
        },
      });
      expect(await sync(proxy.url)).to.equal(Math.min(oldHead, await node.head()));
      expect(reorganized).to.equal(true);
      expect(reorgs()).to.have.length(1);
      expect(reorgs()[0]).to.include({ from: fork.block + 2, fork: fork.block });
      proxy.configure({});
      expect(await sync()).to.equal(await node.head());
      expect(await snapshotStore(store)).to.deep.equal(await fresh());
    });

    it("copes with a block that vanishes between its header and its logs", async function () {
      const fork = await forkHere(node);
      await node.activity(1, 1);
      const oldHash = await blockHash(node.rpc, fork.block + 3);
      let reorganized = false;
      proxy.configure({
        beforeForward: async ([call]) => {
          if (reorganized || call?.method !== "eth_getLogs") return;
          const filter = call.params[0] as { blockHash?: string };
          if (filter.blockHash !== oldHash) return;
          reorganized = true;
          await fork.replace();
        },
      });
      // The node answers "unknown block" for the abandoned block's logs: a reorganization.
      await sync(proxy.url);
      expect(reorganized).to.equal(true);
      expect(reorgs()).to.have.length(1);
      expect(reorgs()[0]).to.include({ fork: fork.block });
      proxy.configure({});
      await sync();
      expect(await snapshotStore(store)).to.deep.equal(await fresh());
    });

    it("refuses a reorganization deeper than the finality depth and leaves the store unchanged", async function () {
      const fork = await forkHere(node);
      await node.activity(1, 3);
      expect((await node.head()) - fork.block).to.be.greaterThan(FINALITY);
      await sync();
      const before = await snapshotStore(store);
      const headersBefore = await storedBlocks(store);

      await fork.replace(3);
      expect(await node.head()).to.be.greaterThan(fork.block + FINALITY);
      for (let attempt = 0; attempt < 2; attempt++) {
        const error = await failure(sync());
        expect(error).to.be.instanceOf(TracerError);
        expect(error.message).to.match(
          new RegExp(`^reorganization deeper than the finality depth \\(${FINALITY}\\)`),
        );
        // It says what will work: the pruned headers can't come back, only a re-index helps.
        expect(error.message).to.match(
          /none of the block hashes the store keeps \(blocks \d+–\d+\)/,
        );
        expect(error.message).to.include("re-index into an empty store");
        expect(error.message).to.not.match(/raise the finality depth/);
        expect(await snapshotStore(store)).to.deep.equal(before);
        expect(await storedBlocks(store)).to.deep.equal(headersBefore);
      }
      expect(reorgs()).to.deep.equal([]);
    });
  });
}
