/**
 * A trace across two anvil chains: a theft of token A on chain A, bridged by Across (its
 * SpokePool double takes the deposit and its relayer pays the recipient on chain B, with the
 * events of across-protocol/contracts), followed on chain B in the same result; a second deposit
 * never filled is an exit of kind bridge naming chain B. The relayer and the SpokePools are never
 * tainted; the values add up to the theft exactly. Read lazily, the trace gives the same answer and
 * reads of chain B only what the taint reaches there: the fill, found by its event, and the
 * recipient's and the shop's histories, never the bystanders' transfers on B.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { JsonRpcProvider, type Signer } from "ethers";
import { startLocalChain, type LocalChain } from "../../scripts/lib/local-chain.js";
import { RpcClient } from "../../src/chain/rpc.js";
import { openMemoryDatabase } from "../../src/db/db.js";
import { Store } from "../../src/db/store.js";
import type { BridgeContract } from "../../src/analytics/bridges/index.js";
import { runTrace, traceSummaryJson } from "../../src/analytics/funds/run.js";
import { TAINT_MODELS, type TaintModelName } from "../../src/analytics/funds/taint.js";
import {
  AcrossSpokePoolDouble__factory,
  TestToken__factory,
  type AcrossSpokePoolDouble,
  type TestToken,
} from "../../types/ethers-contracts/index.js";
import { CountingRpc, crossAnswer, lazyTrace } from "../helpers/lazy-chains.js";
import { traceOnce } from "../helpers/asset-traces.js";
import { runVeritrace } from "../helpers/tracer.js";
import type { AddressInfo } from "node:net";
import { createApiServer, openApiDocument } from "../../src/api/server.js";
import { AnswerChecker } from "../helpers/openapi-check.js";

const A = 31_337;
const B = 31_339;
const E18 = 10n ** 18n;
const pad32 = (a: string) => `0x${a.toLowerCase().slice(2).padStart(64, "0")}`;
/** Transfers of token B, and as many of ether, among bystanders on chain B. */
const BACKGROUND = 20;

interface Side {
  chain: LocalChain;
  provider: JsonRpcProvider;
  rpc: RpcClient;
  token: TestToken;
  pool: AcrossSpokePoolDouble;
  token_: string;
  pool_: string;
}

async function side(chainId: number): Promise<Side> {
  const chain = await startLocalChain("anvil", 60_000, chainId);
  const provider = new JsonRpcProvider(chain.url, undefined, {
    staticNetwork: true,
    cacheTimeout: -1,
  });
  const deployer = await provider.getSigner(0);
  const token = await new TestToken__factory(deployer).deploy("Token", "TKN", 18);
  await token.waitForDeployment();
  const pool = await new AcrossSpokePoolDouble__factory(deployer).deploy();
  await pool.waitForDeployment();
  return {
    chain,
    provider,
    rpc: new RpcClient(chain.url, { maxRetries: 0 }),
    token,
    pool,
    token_: (await token.getAddress()).toLowerCase(),
    pool_: (await pool.getAddress()).toLowerCase(),
  };
}

async function mined(p: Promise<{ wait(): Promise<unknown>; hash: string }>): Promise<string> {
  const tx = await p;
  await tx.wait();
  return tx.hash.toLowerCase();
}

describe("a trace across two chains through a bridge (anvil)", function () {
  this.timeout(240_000);
  let a: Side;
  let b: Side;
  let store: Store;
  let seed = "";
  const who: Record<string, string> = {};
  const signer: Record<string, Signer> = {};
  let contracts: BridgeContract[];
  /** What the relayer paid the recipient for the 600 bridged (0.2 % fee). */
  const OUT = (600n * E18 * 998n) / 1000n;

  before(async function () {
    a = await side(A);
    b = await side(B);
    const accounts = (await a.provider.send("eth_accounts", [])) as string[];
    ["victim", "thief", "relayer", "recipient", "shop", "bystander1", "bystander2"].forEach(
      (role, i) => {
        who[role] = (accounts[i + 1] as string).toLowerCase();
      },
    );
    for (const role of ["victim", "thief"]) signer[role] = await a.provider.getSigner(who[role]);
    for (const role of ["relayer", "recipient", "bystander1", "bystander2"])
      signer[role] = await b.provider.getSigner(who[role]);
    const deployerA = await a.provider.getSigner(0);
    const deployerB = await b.provider.getSigner(0);
    await mined(a.token.connect(deployerA).mint(who["victim"] as string, 1000n * E18));
    await mined(b.token.connect(deployerB).mint(who["relayer"] as string, 10_000n * E18));
    seed = await mined(
      a.token.connect(signer["victim"] as Signer).transfer(who["thief"] as string, 1000n * E18),
    );
    await mined(a.token.connect(signer["thief"] as Signer).approve(a.pool_, 1000n * E18));
    const relay = (depositId: bigint, amount: bigint, out: bigint, otherChainId: number) => ({
      inputToken: pad32(a.token_),
      outputToken: pad32(b.token_),
      inputAmount: amount,
      outputAmount: out,
      otherChainId,
      depositId,
      depositor: pad32(who["thief"] as string),
      recipient: pad32(who["recipient"] as string),
    });
    // 600 bridged to B and filled by the relayer; 300 deposited and never filled.
    await mined(
      a.pool.connect(signer["thief"] as Signer).depositFunds(relay(1n, 600n * E18, OUT, B)),
    );
    await mined(
      a.pool.connect(signer["thief"] as Signer).depositFunds(relay(2n, 300n * E18, 299n * E18, B)),
    );
    await mined(b.token.connect(signer["relayer"] as Signer).approve(b.pool_, 10_000n * E18));
    await mined(
      b.pool.connect(signer["relayer"] as Signer).fillFunds(relay(1n, 600n * E18, OUT, A)),
    );
    // A clean crossing besides: the deployer's own 50 to a bystander on B, filled by the relayer.
    // Paired over the streams, it is no crossing the taint followed: no trace lists it.
    const clean = {
      ...relay(3n, 50n * E18, 49n * E18, B),
      depositor: pad32(await deployerA.getAddress()),
      recipient: pad32(who["bystander1"] as string),
    };
    await mined(a.token.connect(deployerA).mint(await deployerA.getAddress(), 50n * E18));
    await mined(a.token.connect(deployerA).approve(a.pool_, 50n * E18));
    await mined(a.pool.connect(deployerA).depositFunds(clean));
    await mined(
      b.pool.connect(signer["relayer"] as Signer).fillFunds({ ...clean, otherChainId: A }),
    );
    // The recipient pays a shop on B.
    await mined(
      b.token.connect(signer["recipient"] as Signer).transfer(who["shop"] as string, 100n * E18),
    );
    // Bystanders on B, before and after: token B and ether back and forth, never tainted.
    await mined(b.token.connect(deployerB).mint(who["bystander1"] as string, 1000n * E18));
    for (let i = 0; i < BACKGROUND; i++) {
      const [from, to] = i % 2 === 0 ? ["bystander1", "bystander2"] : ["bystander2", "bystander1"];
      await mined(b.token.connect(signer[from] as Signer).transfer(who[to] as string, E18));
      await mined(
        (signer[from] as Signer).sendTransaction({ to: who[to] as string, value: 10n ** 15n }),
      );
    }
    contracts = [
      { bridge: "across", role: "spoke-pool", chainId: A, address: a.pool_ },
      { bridge: "across", role: "spoke-pool", chainId: B, address: b.pool_ },
    ] as BridgeContract[];
    store = await Store.open(await openMemoryDatabase());
  });

  after(async function () {
    await store?.close();
    for (const s of [a, b]) {
      s?.provider.destroy();
      await s?.chain.stop();
    }
  });

  /** What every trace of the theft is given: chain A's node, the seed, chain B read through `rpcB`. */
  const fromA = (rpcB: RpcClient) => ({
    rpc: a.rpc,
    seed,
    chains: [{ chainId: B, rpc: rpcB }],
    bridgeContracts: contracts,
  });
  const traceOf = traceOnce(() => ({ ...fromA(b.rpc), db: store.db }));

  for (const model of ["haircut", "fifo"] as const)
    it(`${model}: the theft is followed over the bridge, in one result, worth what was stolen`, async () => {
      const out = await traceOf(model);
      const r = out.result;
      expect(r.total).to.equal(1000n * E18);
      const at = (chainId: number, address: string) =>
        r.holdings.find((h) => h.chainId === chainId && h.address === address);
      // The thief keeps 100 of token A on chain A.
      expect(at(A, who["thief"] as string)).to.include({ token: a.token_, amount: 100n * E18 });
      // The recipient on B was paid OUT for 600; it paid the shop 100 of it.
      const recipient = at(B, who["recipient"] as string);
      const shop = at(B, who["shop"] as string);
      expect(recipient?.token).to.equal(b.token_);
      expect((recipient?.amount ?? 0n) + (shop?.amount ?? 0n)).to.equal(OUT);
      expect(shop?.amount).to.equal(100n * E18);
      expect((recipient?.value ?? 0n) + (shop?.value ?? 0n)).to.equal(600n * E18);
      // The unfilled deposit: an exit of kind bridge on A, bound for B.
      const exit = r.exits.find((e) => e.kind === "bridge");
      expect(exit).to.include({ chainId: A, address: a.pool_, amount: 300n * E18 });
      expect(exit?.destinations).to.deep.equal([{ chainId: B, amount: 300n * E18 }]);
      // Neither SpokePool nor the relayer hold or pass anything tainted on B.
      const touched = r.edges.filter((e) => e.chainId === B).flatMap((e) => [e.from, e.to]);
      expect(touched).to.not.include(who["relayer"]);
      expect(touched).to.not.include(b.pool_);
      // The theft's crossing alone: the deployer's clean one is paired and moved, not listed.
      expect(out.crossings).to.have.length(1);
      expect(out.crossings?.[0]?.by).to.equal("id");
      expect(out.crossings?.[0]?.deposit.sender).to.equal(who["thief"]);
      expect(out.skippedCrossings).to.deep.equal([]);
      expect(touched).to.not.include(who["bystander1"]);
    });

  it("the crossing is an edge pair through a transit, naming both chains and the pairing", async () => {
    const r = (await traceOf("haircut")).result;
    const crossing = r.edges.filter((e) => e.out?.steps[0]?.action === "bridge");
    expect(crossing.map((e) => e.chainId)).to.deep.equal([A, B]);
    const step = crossing[0]?.out?.steps[0];
    expect(step?.bridge).to.include({ name: "across", fromChainId: A, toChainId: B, by: "id" });
    expect(crossing[0]?.to).to.equal(crossing[1]?.from);
    expect(crossing[1]?.out).to.include({ token: b.token_, amount: OUT, tainted: OUT });
  });

  /** A lazy trace, into a store of its own (or `into`), with chain B's requests counted. */
  const lazyTraceB = async (model: TaintModelName, into?: Store) => {
    const rpcB = new CountingRpc(b.chain.url, { maxRetries: 0 });
    const out = await lazyTrace({ ...fromA(rpcB), model }, into);
    return { out, rpcB };
  };

  for (const model of TAINT_MODELS)
    it(`${model}, read lazily: the streams' holdings, exits, tainted transfers and crossing`, async () => {
      const { out } = await lazyTraceB(model);
      expect(crossAnswer(out)).to.deep.equal(crossAnswer(await traceOf(model)));
      // The unfilled deposit is still an exit of kind bridge, bound for B.
      const exit = out.result.exits.find((e) => e.kind === "bridge");
      expect(exit).to.include({ chainId: A, address: a.pool_, amount: 300n * E18 });
      expect(exit?.destinations).to.deep.equal([{ chainId: B, amount: 300n * E18 }]);
      expect(out.chains?.map((c) => c.chainId)).to.deep.equal([A, B]);
    });

  it("read lazily, chain B is read as far as the taint reaches: the fill by its event, never the bystanders", async () => {
    const kept = await Store.open(await openMemoryDatabase());
    const { out, rpcB } = await lazyTraceB("haircut", kept);
    const asked = rpcB.asked.map((c) => JSON.stringify(c.params).toLowerCase());
    for (const role of ["bystander1", "bystander2", "relayer"]) {
      const address = (who[role] as string).slice(2);
      expect(
        asked.filter((p) => p.includes(address)),
        role,
      ).to.deep.equal([]);
    }
    // The fill was found by the SpokePool's address and the deposit's id (one request for each of
    // the two deposits), not by its history.
    const fills = rpcB.asked.filter(
      (c) =>
        c.method === "eth_getLogs" &&
        JSON.stringify(c.params).toLowerCase().includes(b.pool_.slice(2)),
    );
    expect(fills).to.have.length(2);
    const transfersOfB = out.chains?.find((c) => c.chainId === B)?.ingest.rows ?? 0;
    expect(transfersOfB).to.be.greaterThan(0);
    expect(transfersOfB).to.be.lessThan(BACKGROUND);
    // Reading B's streams asks for every block's transfers: far more than the lazy reading.
    const streamsB = new CountingRpc(b.chain.url, { maxRetries: 0 });
    const own = await Store.open(await openMemoryDatabase());
    try {
      await runTrace({ ...fromA(streamsB), db: own.db, token: "all", model: "haircut" });
    } finally {
      await own.close();
    }
    const calls = (c: CountingRpc) => c.asked.length;
    expect(
      calls(rpcB) * 3,
      `${calls(rpcB)} lazily, ${calls(streamsB)} over the streams`,
    ).to.be.lessThan(calls(streamsB));
    // Again on the same store: B's histories are held (in B's scopes), only the fills are asked.
    try {
      const again = await lazyTraceB("haircut", kept);
      expect(crossAnswer(again.out)).to.deep.equal(crossAnswer(out));
      expect(again.rpcB.count("trace_filter")).to.equal(0);
      const logs = again.rpcB.asked.filter((c) => c.method === "eth_getLogs");
      expect(
        logs.map((c) => JSON.stringify(c.params).toLowerCase().includes(b.pool_.slice(2))),
      ).to.deep.equal([true, true]);
    } finally {
      await kept.close();
    }
  });

  it("veritrace trace --graph across chains: a box per chain, the crossing through the bridge's node", async () => {
    const tmp = mkdtempSync(path.join(os.tmpdir(), "veritrace-bridges-picture-"));
    try {
      const file = path.join(tmp, "bridges.json");
      writeFileSync(file, JSON.stringify({ contracts }));
      const svgFile = path.join(tmp, "flow.svg");
      const out = await runVeritrace([
        ...["trace", "--rpc", a.chain.url, "--seed", seed, "--model", "haircut"],
        ...["--chain", `${B}=${b.chain.url}`, "--bridges", file],
        ...["--db", path.join(tmp, "db"), "--graph", svgFile],
      ]);
      expect(out.code, out.stderr).to.equal(0);
      const svg = readFileSync(svgFile, "utf8");
      // Graphviz writes "-" as &#45; and ">" as &gt;.
      const titles = [
        ...svg.matchAll(/<g id="node\d+" class="node">\s*<title>([^<]*)<\/title>/g),
      ].map((m) => (m[1] ?? "").replace(/&#45;/g, "-").replace(/&gt;/g, ">"));
      // The addresses of chain B are B:address; the crossing's transit is no node, the bridge's
      // node (its deposit contract, on chain A) stands between the chains.
      expect(titles).to.include(`${a.pool_}/bridge>${B}`);
      expect(titles).to.include.members([`${B}:${who["recipient"]}`, `${B}:${who["shop"]}`]);
      expect(titles).to.include(who["thief"]);
      expect(titles.filter((t) => t.startsWith("bridge:"))).to.deep.equal([]);
      const texts = [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1] ?? "");
      expect(texts).to.include.members([`chain ${A}`, `chain ${B}`, "Across bridge"]);
      expect(texts).to.include(`chain ${A} → chain ${B}`);
      expect(texts).to.include(`bound for chain ${B}`);
      // The same token address on both chains: two assets, named by their chains.
      const short = `${a.token_.slice(0, 6)}…${a.token_.slice(-4)}`;
      expect(a.token_).to.equal(b.token_);
      expect(texts).to.include.members([
        `TKN ${short} on ${A} (seed asset)`,
        `TKN ${short} on ${B}`,
      ]);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it("veritrace trace --chain B=URL --bridges FILE: the JSON names each holding's chain and the crossing", async () => {
    const tmp = mkdtempSync(path.join(os.tmpdir(), "veritrace-bridges-"));
    try {
      const file = path.join(tmp, "bridges.json");
      writeFileSync(file, JSON.stringify({ contracts }));
      writeFileSync(path.join(tmp, "good.json"), JSON.stringify({ contracts }));
      const run = (args: string[]) =>
        runVeritrace([
          "trace",
          "--rpc",
          a.chain.url,
          "--seed",
          seed,
          "--model",
          "haircut",
          "--db",
          path.join(tmp, `db-${args.length}`),
          ...args,
        ]);
      const out = await run(["--chain", `${B}=${b.chain.url}`, "--bridges", file, "--json"]);
      expect(out.code, out.stderr).to.equal(0);
      const json = JSON.parse(out.stdout.trim().split("\n").pop() as string) as ReturnType<
        typeof traceSummaryJson
      >;
      expect(json.crossings).to.deep.equal([
        {
          bridge: "across",
          fromChainId: A,
          depositTx: (await traceOf("haircut")).crossings?.[0]?.deposit.txHash,
          toChainId: B,
          releaseTx: (await traceOf("haircut")).crossings?.[0]?.release.txHash,
          by: "id",
          confidence: 1,
        },
      ]);
      expect(json.holdings.map((h) => h.chainId).sort()).to.deep.equal([A, B, B]);
      // The text names both chains, the crossing and where the unfilled deposit was bound.
      const text = await run(["--chain", `${B}=${b.chain.url}`, "--bridges", file]);
      expect(text.code, text.stderr).to.equal(0);
      expect(text.stdout, text.stdout).to.include(`across, chain ${A} → ${B}, paired by id`);
      expect(text.stdout).to.match(new RegExp(`300 0x[0-9a-f]{6}… on ${A} bound for chain ${B}`));
      expect(text.stdout).to.include(`on ${B}`);
      // Bad input: one line each, exit 2.
      writeFileSync(
        file,
        JSON.stringify({
          contracts: [{ bridge: "acros", role: "x", chainId: A, address: a.pool_ }],
        }),
      );
      const bad = await run(["--chain", `${B}=${b.chain.url}`, "--bridges", file]);
      expect(bad.code).to.equal(2);
      expect(bad.stderr).to.match(/--bridges .*: contracts\.0\.bridge: /);
      const noUrl = await run(["--chain", `${B}`]);
      expect(noUrl.code).to.equal(2);
      expect(noUrl.stderr).to.match(/--chain must be CHAINID=URL/);
      // The seed's own chain given again, or a chain that answers as another: refused.
      const twice = await run(["--chain", `${A}=${a.chain.url}`]);
      expect(twice.code).to.not.equal(0);
      expect(twice.stderr.trim().split("\n"), twice.stderr).to.have.length(1);
      expect(twice.stderr).to.match(/chain 31337 is given twice/);
      const liar = await run(["--chain", `${A + 5}=${b.chain.url}`]);
      expect(liar.code).to.not.equal(0);
      expect(liar.stderr).to.match(/answers as chain 31339/);
      expect(existsSync(path.join(tmp, "db-2")), "no store for a refused trace").to.equal(false);
      // Read lazily: the same crossing; the same refusals, before the store is opened.
      const lazily = await run([
        "--lazy",
        "--chain",
        `${B}=${b.chain.url}`,
        "--bridges",
        path.join(tmp, "good.json"),
        "--json",
      ]);
      expect(lazily.code, lazily.stderr).to.equal(0);
      const lazyJson = JSON.parse(lazily.stdout.trim().split("\n").pop() as string) as ReturnType<
        typeof traceSummaryJson
      >;
      expect(lazyJson.crossings).to.deep.equal(json.crossings);
      expect(lazyJson.holdings).to.deep.equal(json.holdings);
      expect(lazyJson.exits).to.deep.equal(json.exits);
      for (const [chain, why] of [
        [`${A}=${a.chain.url}`, /chain 31337 is given twice/],
        [`${A + 5}=${b.chain.url}`, /answers as chain 31339/],
      ] as const) {
        const refused = await run(["--lazy", "--chain", chain]);
        expect(refused.code).to.not.equal(0);
        expect(refused.stderr.trim().split("\n"), refused.stderr).to.have.length(1);
        expect(refused.stderr).to.match(why);
        expect(existsSync(path.join(tmp, "db-3")), "no store for a refused trace").to.equal(false);
      }
      const oneToken = await run(["--token", a.token_, "--chain", `${B}=${b.chain.url}`]);
      expect(oneToken.code).to.equal(2);
      expect(oneToken.stderr).to.match(/need a trace of every asset/);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
  it("POST /trace on a server given the other chain (serve --chain): the command's answer, the other chain's nodes named CHAIN:address", async () => {
    const API_TOKEN = "t".repeat(40);
    const conformance = new AnswerChecker(
      JSON.parse(JSON.stringify(openApiDocument)) as ConstructorParameters<typeof AnswerChecker>[0],
    );
    const server = createApiServer(await Store.open(await openMemoryDatabase()), {
      tokens: [API_TOKEN],
      rpcUrl: a.chain.url,
      chains: [{ chainId: B, url: b.chain.url }],
      bridges: { bridgeContracts: contracts },
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const post = async (body: unknown) => {
      const res = await fetch(`${base}/trace`, {
        method: "POST",
        headers: { Authorization: `Bearer ${API_TOKEN}`, "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      const answer = {
        status: res.status,
        contentType: res.headers.get("content-type"),
        body: (await res.json()) as Record<string, unknown>,
      };
      conformance.check("POST", "/trace", answer);
      return answer;
    };
    try {
      const asked = { token: "all", seed, model: "haircut" };
      const across = await post(asked);
      expect(across.status, JSON.stringify(across.body)).to.equal(200);
      const expected = JSON.parse(
        JSON.stringify(traceSummaryJson(await traceOf("haircut")), (_k, x: unknown) =>
          typeof x === "bigint" ? x.toString() : x,
        ),
      ) as unknown;
      expect(across.body["summary"]).to.deep.equal(expected);
      const nodes = (across.body["nodes"] as { address: string }[]).map((n) => n.address);
      expect(nodes).to.include.members([`${B}:${who["recipient"]}`, `${B}:${who["shop"]}`]);
      expect(nodes).to.include(who["thief"]);
      const assets = (across.body["assets"] as { token: string; symbol: string | null }[]).map(
        (x) => [x.token, x.symbol],
      );
      expect(assets).to.deep.include.members([
        [a.token_, "TKN"],
        [`${B}:${b.token_}`, "TKN"],
      ]);
      // Named explicitly, the same; the seed's chain alone: the bridge's exit, no crossing.
      const named = await post({ ...asked, chains: [B] });
      expect(named.body["summary"]).to.deep.equal(expected);
      const alone = await post({ ...asked, chains: [] });
      expect(alone.status).to.equal(200);
      const summary = alone.body["summary"] as { crossings?: unknown[]; exits: unknown[] };
      expect(summary.crossings ?? []).to.deep.equal([]);
      // A chain the server does not read, one given twice, other chains with one token: 400.
      const unknown = await post({ ...asked, chains: [B + 1] });
      expect(unknown.status).to.equal(400);
      expect(String(unknown.body["detail"])).to.match(
        new RegExp(`chain ${B + 1} is not one this server reads .*: ${B}$`),
      );
      const twice = await post({ ...asked, chains: [B, B] });
      expect(twice.status).to.equal(400);
      expect(String(twice.body["detail"])).to.match(/a chain is given twice/);
      const oneToken = await post({ ...asked, token: a.token_, chains: [B] });
      expect(oneToken.status).to.equal(400);
      expect(String(oneToken.body["detail"])).to.match(/need a trace of every asset/);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
  it("veritrace serve --chain and --bridges: refused without --rpc, a bad file named, before anything opens", async () => {
    const tmp = mkdtempSync(path.join(os.tmpdir(), "veritrace-serve-chains-"));
    try {
      const db = path.join(tmp, "db");
      const serve = (args: string[]) =>
        runVeritrace(["serve", "--db", db, "--insecure-local", "--port", "0", ...args]);
      const noRpc = await serve(["--chain", `${B}=${b.chain.url}`]);
      expect(noRpc.code).to.equal(2);
      expect(noRpc.stderr).to.match(/^veritrace serve: --chain and --bridges go with --rpc/);
      const badChain = await serve(["--rpc", a.chain.url, "--chain", `${B}`]);
      expect(badChain.code).to.equal(2);
      expect(badChain.stderr).to.match(/--chain must be CHAINID=URL/);
      const file = path.join(tmp, "bridges.json");
      writeFileSync(file, JSON.stringify({ contracts: [{ bridge: "across" }] }));
      const badFile = await serve(["--rpc", a.chain.url, "--bridges", file]);
      expect(badFile.code).to.equal(2);
      expect(badFile.stderr.trim().split("\n")).to.have.length(1);
      expect(badFile.stderr).to.match(/--bridges .*: contracts\.0\.role: /);
      expect(existsSync(db), "no store for a refused server").to.equal(false);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
