import { network } from "hardhat";
import { connectConsortium, hashDocument } from "../src/client/index.js";
import { deployConsortium } from "../scripts/lib/deploy.js";
import { startLocalChain } from "../scripts/lib/local-chain.js";
import { onboard, runCases } from "../scripts/lib/activity.js";
import { Indexer } from "../src/tracer/indexer/sync.js";
import { RpcClient } from "../src/tracer/indexer/rpc.js";
import { openMemoryDatabase } from "../src/tracer/store/db.js";
import { Store } from "../src/tracer/store/store.js";

const kind = (process.argv[2] ?? "anvil") as "anvil" | "hardhat";
const t0 = Date.now();
const chain = await startLocalChain(kind);
console.log("start", Date.now() - t0);
try {
  const connection = await network.create({ network: "localhost", override: { url: chain.url } });
  const signers = await connection.ethers.getSigners();
  console.log("signers", signers.length);
  const founders = signers.slice(0, 3).map((s, i) => ({ kind: "AUDITOR", metadataCommitment: hashDocument(`f${i}`), signingKey: s.address }));
  const record = await deployConsortium(connection, founders, 2, { deploymentId: `x-${Date.now()}`, ephemeral: true });
  console.log("deploy", Date.now() - t0, record);
  const contracts = connectConsortium(record, connection.ethers.provider);
  const cast = await onboard(contracts, signers);
  console.log("onboard", Date.now() - t0);
  const t1 = Date.now();
  await runCases(contracts, cast, 5, 6, signers[2]!);
  console.log("cases", Date.now() - t1, await connection.ethers.provider.getBlockNumber());
  const store = await Store.open(await openMemoryDatabase());
  const t2 = Date.now();
  const ix = new Indexer(store, new RpcClient(chain.url), record, { finalityDepth: 10 });
  console.log(await ix.syncOnce(), await store.eventCount(), Date.now() - t2);
  await connection.close();
} finally {
  await chain.stop();
}
