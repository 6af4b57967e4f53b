/**
 * Fund-flow tracing end to end on real chains. The hand-computed scenarios of taint.test.ts are
 * replayed as ERC-20 transfers (and native value, with internal calls and gas fees) on anvil; each
 * is traced with `runTrace` (ingestion through the sync engine, the store, balances read from the
 * node, TagPack and consortium labels) and with the `veritrace trace` command, and the results
 * must be those of `trace()` run in memory over the same transfers, written down here as they
 * were sent, and the numbers computed by hand. A `hardhat node`, which cannot trace calls, shows
 * how an incomplete native stream is reported. Bad input to `veritrace trace` fails in one line
 * and leaves no store behind.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import {
  getAddress,
  hexlify,
  MaxUint256,
  randomBytes,
  Wallet,
  type ContractTransactionResponse,
  type Provider,
  type Signer,
  type TransactionReceipt,
} from "ethers";
import { XMLParser } from "fast-xml-parser";
import { network } from "hardhat";
import type { NetworkConnection } from "hardhat/types/network";
import { PNG } from "pngjs";
import { DataKind, Investigator, Supervisor, generateCaseKey } from "../../src/client/index.js";
import {
  MAX_TRACE_RERUNS,
  planTrace,
  runTrace,
  traceSummaryJson,
  type RunTraceOutput,
} from "../../src/analytics/funds/run.js";
import {
  TAINT_MODELS,
  trace,
  ZERO_ADDRESS,
  type Label,
  type Seed,
  type TaintModelName,
  type TraceResult,
  type Transfer,
} from "../../src/analytics/funds/taint.js";
import { Indexer } from "../../src/ledger/indexer.js";
import { RpcClient } from "../../src/chain/rpc.js";
import { TRANSFER_TOPIC } from "../../src/analytics/transfers.js";
import { importTagPacks } from "../../src/analytics/labels/store.js";
import { openMemoryDatabase } from "../../src/db/db.js";
import { Store } from "../../src/db/store.js";
import { FEE_SINK, loadTransfers, streamId, type TransferKind } from "../../src/db/streams.js";
import { startLocalChain, type LocalChain } from "../../scripts/lib/local-chain.js";
import {
  Forwarder__factory,
  RevertingReceiver__factory,
  TestToken__factory,
  TransferBatch__factory,
  type TestToken,
  type TransferBatch,
} from "../../types/ethers-contracts/index.js";
import { startRpcProxy } from "../helpers/rpc-proxy.js";
import { answerTrace } from "../../src/api/routes/trace.js";
import { Trace, TraceRequest } from "../../src/api/wire.js";
import {
  runVeritrace,
  startConsortiumNode,
  type CommandResult,
  type ConsortiumNode,
} from "../helpers/tracer.js";

const MODELS: readonly TaintModelName[] = TAINT_MODELS;
const ETHER = 10n ** 18n;
/** The zero address as a role: the sender of a mint, the recipient of a burn. */
const ZERO = "0";

/** A role of a scenario ("V" the victim, "A", "B", …) and one move of the token between two. */
type Role = string;
type Move = readonly [from: Role, to: Role, amount: bigint];

/** The anvil node (consortium deployed) every scenario but the hardhat node's plays on. */
let node: ConsortiumNode;
/** The store the scenarios trace into: one, as a user's would be. */
let store: Store;
let rpc: RpcClient;
/** An account of the node that deploys and mints. */
let deployer: Signer;
let batch: TransferBatch;
let tmp: string;

const hex = (n: bigint | number) => `0x${n.toString(16)}`;
/** A hex string in upper case, as a user may paste it. */
const upper = (h: string) => `0x${h.slice(2).toUpperCase()}`;

async function mined(response: {
  wait(): Promise<TransactionReceipt | null>;
}): Promise<TransactionReceipt> {
  const receipt = await response.wait();
  if (receipt === null) throw new Error("no receipt");
  return receipt;
}

async function blockTime(provider: Provider, n: number): Promise<number> {
  const block = await provider.getBlock(n);
  if (block === null) throw new Error(`no block ${n}`);
  return block.timestamp;
}

/** A fresh account holding `balance` wei (set directly: no transaction, no block). */
async function account(
  provider: Provider,
  chainRpc: RpcClient,
  balance = 100n * ETHER,
): Promise<Wallet> {
  const wallet = new Wallet(hexlify(randomBytes(32)), provider);
  await chainRpc.call("hardhat_setBalance", [wallet.address, hex(balance)]);
  return wallet;
}

/**
 * One ERC-20 token on the chain and the accounts playing a scenario's roles. Every transaction
 * is written down as it is sent: the transfers it makes (checked against its receipt's logs), its
 * hash under a name ("seed", "t2", …), its block.
 */
class TokenPlay {
  /** Every transfer of the token, as the scenario made it. */
  readonly transfers: Transfer[] = [];
  private readonly wallets = new Map<Role, Wallet>();
  private readonly roles = new Map<string, Role>([[ZERO_ADDRESS, ZERO]]);
  private readonly funded = new Set<Role>();
  private readonly approved = new Set<Role>();
  private readonly txs = new Map<string, { hash: string; block: number }>();
  private readonly names = new Map<string, string>();

  private constructor(
    readonly contract: TestToken,
    readonly token: string,
  ) {}

  static async deploy(decimals: number): Promise<TokenPlay> {
    const contract = await new TestToken__factory(deployer).deploy(
      `Test ${decimals}`,
      `T${decimals}`,
      decimals,
    );
    await contract.waitForDeployment();
    return new TokenPlay(contract, (await contract.getAddress()).toLowerCase());
  }

  /** The lower-case address of a role (a new account on first use). */
  address(role: Role): string {
    if (role === ZERO) return ZERO_ADDRESS;
    let wallet = this.wallets.get(role);
    if (wallet === undefined) {
      wallet = new Wallet(hexlify(randomBytes(32)), node.connection.ethers.provider);
      this.wallets.set(role, wallet);
      this.roles.set(wallet.address.toLowerCase(), role);
    }
    return wallet.address.toLowerCase();
  }

  roleOf(address: string): Role {
    const role = this.roles.get(address);
    if (role === undefined) throw new Error(`${address} plays no role`);
    return role;
  }

  private async signer(role: Role): Promise<Wallet> {
    this.address(role);
    const wallet = this.wallets.get(role);
    if (wallet === undefined) throw new Error(role);
    if (!this.funded.has(role)) {
      await rpc.call("hardhat_setBalance", [wallet.address, hex(100n * ETHER)]);
      this.funded.add(role);
    }
    return wallet;
  }

  /**
   * One transaction: a mint (from ZERO), a burn (to ZERO) or a transfer, or several transfers at
   * once through the TransferBatch contract (each sender approves it first).
   */
  async tx(name: string, ...moves: Move[]): Promise<string> {
    const [first] = moves;
    if (first === undefined) throw new Error("a transaction moves something");
    let response: ContractTransactionResponse;
    if (moves.length === 1) {
      const [from, to, amount] = first;
      if (from === ZERO)
        response = await this.contract.connect(deployer).mint(this.address(to), amount);
      else if (to === ZERO)
        response = await this.contract.connect(await this.signer(from)).burn(amount);
      else
        response = await this.contract
          .connect(await this.signer(from))
          .transfer(this.address(to), amount);
    } else {
      for (const [from, to] of moves) {
        if (from === ZERO || to === ZERO) throw new Error("mints and burns go one per transaction");
        if (!this.approved.has(from)) {
          const owner = this.contract.connect(await this.signer(from));
          await mined(await owner.approve(await batch.getAddress(), MaxUint256));
          this.approved.add(from);
        }
      }
      response = await batch.transferMany(
        this.token,
        moves.map(([from]) => this.address(from)),
        moves.map(([, to]) => this.address(to)),
        moves.map(([, , amount]) => amount),
      );
    }
    const receipt = await mined(response);
    const logs = receipt.logs.filter(
      (l) => l.address.toLowerCase() === this.token && l.topics[0] === TRANSFER_TOPIC,
    );
    // The chain did what the scenario says, in this order.
    expect(
      logs.map((l) => [
        this.roleOf(`0x${l.topics[1]?.slice(26)}`),
        this.roleOf(`0x${l.topics[2]?.slice(26)}`),
        BigInt(l.data),
      ]),
      name,
    ).to.deep.equal(moves.map((m) => [...m]));
    const time = await blockTime(node.connection.ethers.provider, receipt.blockNumber);
    const hash = receipt.hash.toLowerCase();
    moves.forEach(([from, to, amount], i) =>
      this.transfers.push({
        blockNumber: receipt.blockNumber,
        txIndex: receipt.index,
        ordinal: logs[i]?.index ?? -1,
        txHash: hash,
        token: this.token,
        from: this.address(from),
        to: this.address(to),
        amount,
        time,
      }),
    );
    this.txs.set(name, { hash, block: receipt.blockNumber });
    this.names.set(hash, name);
    return hash;
  }

  hash(name: string): string {
    const t = this.txs.get(name);
    if (t === undefined) throw new Error(`no transaction ${name}`);
    return t.hash;
  }

  block(name: string): number {
    const t = this.txs.get(name);
    if (t === undefined) throw new Error(`no transaction ${name}`);
    return t.block;
  }

  nameOf(hash: string): string {
    return this.names.get(hash) ?? hash;
  }

  /** Balances before `block`, from the transfers written down (the zero address has none). */
  balancesBefore(block: number): Map<string, bigint> {
    const balances = new Map<string, bigint>();
    for (const t of this.transfers) {
      if (t.blockNumber >= block) continue;
      if (t.from !== ZERO_ADDRESS) balances.set(t.from, (balances.get(t.from) ?? 0n) - t.amount);
      if (t.to !== ZERO_ADDRESS) balances.set(t.to, (balances.get(t.to) ?? 0n) + t.amount);
    }
    return balances;
  }

  /** A seed: a transaction by name, or a role's balance at the end of a transaction's block. */
  seed(ref: SeedRef): { text: string; seed: Seed; fromBlock: number } {
    if ("tx" in ref) {
      const txHash = this.hash(ref.tx);
      return { text: txHash, seed: { kind: "tx", txHash }, fromBlock: this.block(ref.tx) };
    }
    const address = this.address(ref.balanceOf);
    const block = this.block(ref.atEndOf);
    return {
      text: `${getAddress(address)}@${block}`,
      seed: { kind: "balance", address, block },
      fromBlock: block + 1,
    };
  }
}

type SeedRef = { tx: string } | { balanceOf: Role; atEndOf: string };

interface TraceCase {
  maxHops?: number;
  minAmount?: bigint;
  /** The labels where taint stops (default: the default list). */
  exitCategories?: readonly string[];
  /** Labels the trace must see (from a TagPack or the consortium), by role. */
  labels?: Readonly<Record<Role, Label>>;
}

/** Everything of a result but its statistics (which count the addresses given, not found). */
function comparable(r: TraceResult) {
  return {
    model: r.model,
    token: r.token,
    seed: r.seed,
    seedAmount: r.seedAmount,
    seedTime: r.seedTime,
    holdings: r.holdings,
    exits: r.exits,
    beyondHopLimit: r.beyondHopLimit,
    belowMinimum: r.belowMinimum,
    total: r.total,
    edges: r.edges,
    warnings: r.warnings,
  };
}

/**
 * Traces on the chain (runTrace into the shared store) and in memory over the transfers written
 * down from the seed's block on, with the balances held before it; the two must be identical.
 */
async function traceBoth(
  play: TokenPlay,
  model: TaintModelName,
  ref: SeedRef,
  options: TraceCase = {},
): Promise<{ out: RunTraceOutput; result: TraceResult }> {
  const { text, seed, fromBlock } = play.seed(ref);
  const out = await runTrace({
    rpc,
    db: store.db,
    token: play.token,
    seed: text,
    model,
    maxHops: options.maxHops,
    minAmount: options.minAmount,
    exitCategories: options.exitCategories,
  });
  const labels = options.labels ?? {};
  const memory = trace(
    play.transfers.filter((t) => t.blockNumber >= fromBlock),
    {
      model,
      seed,
      token: play.token,
      initialBalances: play.balancesBefore(fromBlock),
      labels: (a) => labels[play.roleOf(a)],
      maxHops: options.maxHops,
      minAmount: options.minAmount,
      exitCategories: options.exitCategories,
    },
  );
  expect(out.fromBlock).to.equal(fromBlock);
  expect(comparable(out.result), model).to.deep.equal(comparable(memory));
  return { out, result: out.result };
}

/** Amounts by role. */
const held = (play: TokenPlay, r: TraceResult) =>
  Object.fromEntries(r.holdings.map((h) => [play.roleOf(h.address), h.amount]));
const exited = (play: TokenPlay, r: TraceResult) =>
  r.exits.map((e) => [play.roleOf(e.address), e.kind, e.label, e.amount]);
/** The tainted edges' transactions, by name. */
const edgeTxs = (play: TokenPlay, r: TraceResult) => r.edges.map((e) => play.nameOf(e.txHash));
const scaled = (amounts: Record<Role, bigint>, unit: bigint) =>
  Object.fromEntries(Object.entries(amounts).map(([role, v]) => [role, v * unit]));

/** The last line of a `--json` run, parsed. */
function lastJson(result: CommandResult): Record<string, unknown> {
  expect(result.code, result.stderr).to.equal(0);
  const lines = result.stdout.trim().split("\n");
  return JSON.parse(lines.at(-1) ?? "") as Record<string, unknown>;
}

/** The JSON a trace result must give: the documented shape, with these values. */
/** The anvil node's chain id. */
const CHAIN_ID = 31337;

/**
 * The holdings or exits of a trace's JSON, each checked to name the traced chain and token and to
 * be valued at its amount (one token), then without those three fields.
 */
function onTrace(json: Record<string, unknown>, key: "holdings" | "exits"): unknown[] {
  return (json[key] as Record<string, unknown>[]).map(({ chainId, token, value, ...rest }) => {
    expect([chainId, token, value]).to.deep.equal([CHAIN_ID, json["token"], rest["amount"]]);
    return rest;
  });
}

function summaryOf(r: TraceResult, seedText: string) {
  const asset = { chainId: CHAIN_ID, token: r.token };
  return {
    model: r.model,
    token: r.token,
    seedAsset: r.token,
    seed: seedText,
    holdings: r.holdings.map((h) => ({
      ...asset,
      address: h.address,
      amount: h.amount.toString(),
      value: h.amount.toString(),
    })),
    exits: r.exits.map((e) => ({
      ...asset,
      address: e.address,
      label: e.label ?? e.kind,
      amount: e.amount.toString(),
      value: e.amount.toString(),
    })),
    total: r.total.toString(),
  };
}

function expectSummaryShape(json: Record<string, unknown>): void {
  expect(Object.keys(json)).to.deep.equal([
    "model",
    "token",
    "seedAsset",
    "seed",
    "holdings",
    "exits",
    "total",
  ]);
  const address = /^0x[0-9a-f]{40}$/;
  const amount = /^(0|[1-9][0-9]*)$/;
  expect(json["token"]).to.match(address);
  expect(json["total"]).to.match(amount);
  const holdings = json["holdings"] as Record<string, unknown>[];
  const exits = json["exits"] as Record<string, unknown>[];
  for (const h of holdings) {
    expect(Object.keys(h)).to.deep.equal(["chainId", "token", "address", "amount", "value"]);
    expect([h["chainId"], h["token"]]).to.deep.equal([CHAIN_ID, json["token"]]);
    expect(h["address"]).to.match(address);
    expect(h["amount"]).to.match(amount);
  }
  for (const e of exits) {
    expect(Object.keys(e)).to.deep.equal([
      "chainId",
      "token",
      "address",
      "label",
      "amount",
      "value",
    ]);
    expect([e["chainId"], e["token"]]).to.deep.equal([CHAIN_ID, json["token"]]);
    expect(e["address"]).to.match(/^(0x[0-9a-f]{40}|fees)$/);
    expect(e["label"]).to.be.a("string");
    expect(e["amount"]).to.match(amount);
  }
}

let dbCount = 0;
/** A --db directory that does not exist yet. */
const newDbDir = () => path.join(tmp, `db-${++dbCount}`);

/** `veritrace trace` against the anvil node with a new store. */
function traceCommand(args: readonly string[], db = newDbDir()): Promise<CommandResult> {
  return runVeritrace(["trace", "--rpc", node.url, "--db", db, ...args]);
}

describe("fund-flow tracing on a real chain", function () {
  before(async function () {
    node = await startConsortiumNode("anvil");
    rpc = new RpcClient(node.url, { maxRetries: 0 });
    store = await Store.open(await openMemoryDatabase());
    const signer = node.signers[9];
    if (signer === undefined) throw new Error("the node has fewer than 10 accounts");
    deployer = signer;
    batch = await new TransferBatch__factory(deployer).deploy();
    await batch.waitForDeployment();
    tmp = mkdtempSync(path.join(os.tmpdir(), "veritrace-trace-"));
  });
  after(async function () {
    await store?.close();
    await node?.stop();
    if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true });
  });

  for (const decimals of [6, 18]) {
    describe(`the textbook case in a ${decimals}-decimal token (3 tainted then 7 clean; sends 2 then 8)`, function () {
      /** A tenth of a token: the in-memory amounts (30, 70, 20, 80) are in tenths. */
      const tenth = 10n ** BigInt(decimals - 1);
      let play: TokenPlay;

      before(async function () {
        play = await TokenPlay.deploy(decimals);
        await play.tx("mint V", [ZERO, "V", 30n * tenth]);
        await play.tx("mint W", [ZERO, "W", 70n * tenth]);
        await play.tx("seed", ["V", "A", 30n * tenth]);
        await play.tx("t2", ["W", "A", 70n * tenth]);
        await play.tx("t3", ["A", "B", 20n * tenth]);
        await play.tx("t4", ["A", "C", 80n * tenth]);
      });

      const expected: Record<TaintModelName, { held: Record<Role, bigint>; total: bigint }> = {
        poison: { held: { B: 20n, C: 80n }, total: 100n },
        haircut: { held: { B: 6n, C: 24n }, total: 30n },
        fifo: { held: { B: 20n, C: 10n }, total: 30n },
      };
      for (const model of MODELS) {
        it(`${model}: B and C hold ${Object.values(expected[model].held).join(" and ")} tenths`, async function () {
          const { out, result } = await traceBoth(play, model, { tx: "seed" });
          expect(held(play, result)).to.deep.equal(scaled(expected[model].held, tenth));
          expect(result.total).to.equal(expected[model].total * tenth);
          expect(result.seedAmount).to.equal(30n * tenth);
          expect(edgeTxs(play, result)).to.deep.equal(["seed", "t3", "t4"]);
          expect(result.exits).to.deep.equal([]);
          // W's clean 7 were held before the seed's block: read from the node, no history gap.
          expect(out.initialBalances.get(play.address("W"))).to.equal(70n * tenth);
          expect(result.warnings).to.deep.equal([]);
          expect(out.decimals).to.equal(decimals);
          expect(out.ingest.complete).to.equal(true);
        });
      }

      // The command, its pictures and the reuse of the stream: once, on the 6-decimal token.
      if (decimals !== 6) return;

      it("veritrace trace --json prints the same result for each model, in the documented shape", async function () {
        const db = newDbDir();
        const seed = play.hash("seed");
        for (const model of MODELS) {
          const json = lastJson(
            await traceCommand(
              ["--token", play.token, "--seed", seed, "--model", model, "--json"],
              db,
            ),
          );
          expectSummaryShape(json);
          const { out, result } = await traceBoth(play, model, { tx: "seed" });
          expect(json).to.deep.equal(summaryOf(result, seed));
          expect(json).to.deep.equal(traceSummaryJson(out));
        }
        // Haircut by hand: 2.4 and 0.6 tokens of 6 decimals, largest first.
        const haircut = lastJson(
          await traceCommand(
            ["--token", upper(play.token), "--seed", upper(seed), "--model", "haircut", "--json"],
            db,
          ),
        );
        expect(haircut).to.deep.equal({
          model: "haircut",
          token: play.token,
          seedAsset: play.token,
          seed,
          holdings: [
            {
              chainId: CHAIN_ID,
              token: play.token,
              address: play.address("C"),
              amount: "2400000",
              value: "2400000",
            },
            {
              chainId: CHAIN_ID,
              token: play.token,
              address: play.address("B"),
              amount: "600000",
              value: "600000",
            },
          ],
          exits: [],
          total: "3000000",
        });
      });

      it("draws the flow to .svg (the addresses as node titles) and .png (decodable, drawn)", async function () {
        const db = newDbDir();
        const svgFile = path.join(tmp, "textbook.svg");
        const pngFile = path.join(tmp, "textbook.png");
        const args = ["--token", play.token, "--seed", play.hash("seed"), "--model", "haircut"];
        const svgRun = await traceCommand([...args, "--graph", svgFile], db);
        expect(svgRun.code, svgRun.stderr).to.equal(0);
        expect(svgRun.stdout).to.include(`flow drawn to ${svgFile}`);
        const pngRun = await traceCommand([...args, "--graph", pngFile], db);
        expect(pngRun.code, pngRun.stderr).to.equal(0);

        const svg = parseSvg(readFileSync(svgFile, "utf8"));
        const titles = svg.nodes.filter((t) => t !== "legend").sort();
        expect(titles).to.deep.equal(["V", "A", "B", "C"].map((r) => play.address(r)).sort());
        expect(svg.texts.join(" ")).to.include("2.4");

        const png = PNG.sync.read(readFileSync(pngFile));
        // Drawn at the SVG's own size: 96 pixels per inch, 72 points per inch.
        expect(svg.width).to.be.greaterThan(100);
        expect(Math.abs(png.width - (svg.width * 4) / 3)).to.be.at.most(1);
        expect(Math.abs(png.height - (svg.height * 4) / 3)).to.be.at.most(1);
        let dark = 0;
        for (let i = 0; i < png.data.length; i += 4) {
          const lum =
            0.299 * (png.data[i] ?? 0) +
            0.587 * (png.data[i + 1] ?? 0) +
            0.114 * (png.data[i + 2] ?? 0);
          if (lum < 200) dark++;
        }
        expect(dark).to.be.greaterThan((png.width * png.height) / 100);
      });

      it("a second trace over a longer range reads only the new blocks of the stream", async function () {
        const proxy = await startRpcProxy(node.url);
        const reads: unknown[] = [];
        proxy.configure({
          beforeForward: async (calls) => {
            for (const c of calls) if (c.method === "eth_getLogs") reads.push(c.params[0]);
          },
        });
        const fresh = await Store.open(await openMemoryDatabase());
        try {
          const via = new RpcClient(proxy.url, { maxRetries: 0 });
          const stream = streamId({ chainId: 31337, kind: "erc20", token: play.token });
          const checkpoint = async () => {
            const [row] = await fresh.db.query<{ block_number: string | number }>(
              "SELECT block_number FROM streams WHERE id = $1",
              [stream],
            );
            return Number(row?.block_number);
          };
          const base = { rpc: via, db: fresh.db, token: play.token, seed: play.hash("seed") };
          const partial = await runTrace({ ...base, model: "fifo", toBlock: play.block("t3") });
          expect(await checkpoint()).to.equal(play.block("t3"));
          expect(held(play, partial.result)).to.deep.equal({ B: 20n * tenth, A: 10n * tenth });
          const firstReads = reads.splice(0);
          expect(await blocksRead(firstReads)).to.deep.equal(
            range(play.block("seed"), play.block("t3")),
          );

          const head = Number(await rpc.call<string>("eth_blockNumber"));
          const whole = await runTrace({ ...base, model: "fifo" });
          expect(await checkpoint()).to.equal(head);
          expect(await blocksRead(reads)).to.deep.equal(range(play.block("t3") + 1, head));
          expect(comparable(whole.result)).to.deep.equal(
            comparable((await traceBoth(play, "fifo", { tx: "seed" })).result),
          );
          expect(proxy.counters.methods["eth_getLogs"]).to.equal(firstReads.length + reads.length);
        } finally {
          await fresh.close();
          await proxy.stop();
        }
      });
    });
  }

  describe("the in-memory scenarios replayed on chain (18 decimals, base units)", function () {
    it("a split and a merge: haircut A 30, C 5, E 5; FIFO A 30, C 10; poison A 30, C 50, E 50", async function () {
      const play = await TokenPlay.deploy(18);
      await play.tx("mint B", [ZERO, "B", 30n]);
      await play.tx("mint D", [ZERO, "D", 60n]);
      await play.tx("mint V", [ZERO, "V", 40n]);
      await play.tx("seed", ["V", "A", 40n]);
      await play.tx("t2", ["A", "B", 10n]);
      await play.tx("t3", ["D", "C", 60n]);
      await play.tx("t4", ["B", "C", 40n]);
      await play.tx("t5", ["C", "E", 50n]);
      const expected: Record<TaintModelName, Record<Role, bigint>> = {
        haircut: { A: 30n, C: 5n, E: 5n },
        fifo: { A: 30n, C: 10n },
        poison: { A: 30n, C: 50n, E: 50n },
      };
      for (const model of MODELS) {
        const { out, result } = await traceBoth(play, model, { tx: "seed" });
        expect(held(play, result), model).to.deep.equal(expected[model]);
        expect(result.total, model).to.equal(model === "poison" ? 130n : 40n);
        expect(out.initialBalances.get(play.address("B")), model).to.equal(30n);
        expect(result.warnings, model).to.deep.equal([]);
      }
    });

    it("a cycle A→B→A uses A's clean funds held before the seed block (haircut A 8, C 2)", async function () {
      const play = await TokenPlay.deploy(18);
      await play.tx("mint A", [ZERO, "A", 10n]);
      await play.tx("mint V", [ZERO, "V", 10n]);
      await play.tx("seed", ["V", "A", 10n]);
      await play.tx("t2", ["A", "B", 10n]);
      await play.tx("t3", ["B", "A", 10n]);
      await play.tx("t4", ["A", "C", 4n]);
      const h = await traceBoth(play, "haircut", { tx: "seed" });
      expect(h.out.initialBalances.get(play.address("A"))).to.equal(10n);
      expect(h.result.warnings).to.deep.equal([]);
      expect(held(play, h.result)).to.deep.equal({ A: 8n, C: 2n });
      const c = h.result.holdings.find((x) => x.address === play.address("C"));
      expect(
        c?.paths.map((p) => [p.amount, p.steps.map((s) => play.nameOf(s.txHash))]),
      ).to.deep.equal([
        [1n, ["seed", "t4"]],
        [1n, ["seed", "t2", "t3", "t4"]],
      ]);
      const f = await traceBoth(play, "fifo", { tx: "seed" });
      expect(held(play, f.result)).to.deep.equal({ A: 6n, C: 4n });
      const p = await traceBoth(play, "poison", { tx: "seed" });
      expect(held(play, p.result)).to.deep.equal({ A: 16n, C: 4n });
    });

    it("FIFO: each balance read moves taint one address further; past MAX_TRACE_RERUNS runs a warning says so", async function () {
      // X1…X6 each hold 400 clean before the seed; each receives 400 tainted, is paid 400 clean
      // (a mint), pays P 400 and the next X 400. Unread, X_i's balance is the stream's alone: its
      // oldest lot is the taint, which goes to P. Read, its clean 400 come first and go to P, and
      // the taint goes on to the next X, whose balance the next run needs.
      const play = await TokenPlay.deploy(18);
      const xs = ["X1", "X2", "X3", "X4", "X5", "X6"];
      for (const x of xs) await play.tx(`mint ${x}`, [ZERO, x, 400n]);
      await play.tx("mint V", [ZERO, "V", 400n]);
      await play.tx("seed", ["V", "X1", 400n]);
      for (const [i, x] of xs.entries()) {
        await play.tx(`pay ${x}`, [ZERO, x, 400n]);
        await play.tx(`${x} pays P`, [x, "P", 400n]);
        const next = xs[i + 1];
        if (next !== undefined) await play.tx(`${x} pays ${next}`, [x, next, 400n]);
      }
      const run = (seed: string) =>
        runTrace({ rpc, db: store.db, token: play.token, seed: play.hash(seed), model: "fifo" });
      // From the seed: X1…X4 read in four runs after the first; the fifth would need X5's.
      const long = await run("seed");
      const read = (out: RunTraceOutput) =>
        xs.filter((x) => out.initialBalances.has(play.address(x)));
      expect(read(long)).to.deep.equal(["X1", "X2", "X3", "X4"]);
      expect(MAX_TRACE_RERUNS).to.equal(4);
      expect(held(play, long.result)).to.deep.equal({ P: 400n });
      expect(long.result.warnings).to.deep.equal([
        {
          code: "rounds-exhausted",
          message:
            "after 4 more runs for balances held before the stream and for deposit addresses, " +
            "the last run still reached 1 address(es) whose balance before the stream was not " +
            "read: taint past them may be split or stopped otherwise than a further run would",
        },
      ]);
      // From X3's payment to X4: X4, X5, X6 read, and the run after X6's finds nothing new.
      const short = await run("X3 pays X4");
      expect(read(short)).to.deep.equal(["X3", "X4", "X5", "X6"]);
      expect(short.result.warnings).to.deep.equal([]);
      expect(held(play, short.result)).to.deep.equal({ X6: 400n });
    });

    it("partial spends: haircut rounds down (B 2, C 8); FIFO takes the oldest lot first (B 7, C 3)", async function () {
      const play = await TokenPlay.deploy(18);
      await play.tx("mint V", [ZERO, "V", 10n]);
      await play.tx("mint W", [ZERO, "W", 20n]);
      await play.tx("seed", ["V", "A", 10n]);
      await play.tx("t2", ["W", "A", 20n]);
      await play.tx("t3", ["A", "B", 7n]);
      await play.tx("t4", ["A", "C", 23n]);
      const expected: Record<TaintModelName, Record<Role, bigint>> = {
        haircut: { B: 2n, C: 8n },
        fifo: { B: 7n, C: 3n },
        poison: { B: 7n, C: 23n },
      };
      for (const model of MODELS) {
        const { result } = await traceBoth(play, model, { tx: "seed" });
        expect(held(play, result), model).to.deep.equal(expected[model]);
        expect(
          result.edges.map((e) => e.tainted),
          model,
        ).to.deep.equal([10n, expected[model]["B"], expected[model]["C"]]);
      }
    });

    it("a seed transaction that fans out taints every amount it delivers, at hop 0", async function () {
      const play = await TokenPlay.deploy(18);
      await play.tx("mint V", [ZERO, "V", 12n]);
      await play.tx("seed", ["V", "A", 5n], ["V", "B", 7n]);
      await play.tx("t2", ["B", "C", 7n]);
      for (const model of MODELS) {
        const { result } = await traceBoth(play, model, { tx: "seed" });
        expect(result.seedAmount, model).to.equal(12n);
        expect(held(play, result), model).to.deep.equal({ A: 5n, C: 7n });
        expect(result.holdings.map((h) => [play.roleOf(h.address), h.hops])).to.deep.equal([
          ["C", 1],
          ["A", 0],
        ]);
        expect(edgeTxs(play, result)).to.deep.equal(["seed", "seed", "t2"]);
      }
    });

    it("a seed transaction that passes funds on creates only what was not taint already", async function () {
      // V → A 10 and A → B 10 in one transaction; A held 5 clean before.
      const play = await TokenPlay.deploy(18);
      await play.tx("mint V", [ZERO, "V", 10n]);
      await play.tx("mint A", [ZERO, "A", 5n]);
      await play.tx("seed", ["V", "A", 10n], ["A", "B", 10n]);
      const expected: Record<TaintModelName, [bigint, Record<Role, bigint>]> = {
        haircut: [14n, { B: 10n, A: 4n }],
        fifo: [15n, { B: 10n, A: 5n }],
        poison: [10n, { B: 10n, A: 5n }],
      };
      for (const model of MODELS) {
        const { result } = await traceBoth(play, model, { tx: "seed" });
        expect([result.seedAmount, held(play, result)], model).to.deep.equal(expected[model]);
      }
      const h = await traceBoth(play, "haircut", { tx: "seed" });
      const b = h.result.holdings.find((x) => x.address === play.address("B"));
      expect(b?.paths.map((p) => [p.amount, p.steps.length])).to.deep.equal([
        [6n, 2],
        [4n, 1],
      ]);
    });

    it("self-transfers and zero-amount transfers change nothing", async function () {
      const play = await TokenPlay.deploy(18);
      await play.tx("mint V", [ZERO, "V", 30n]);
      await play.tx("mint W", [ZERO, "W", 70n]);
      await play.tx("seed", ["V", "A", 30n], ["V", "D", 0n]);
      await play.tx("t2", ["W", "A", 70n]);
      await play.tx("noise", ["A", "A", 50n], ["A", "E", 0n]);
      await play.tx("self", ["A", "A", 1n]);
      await play.tx("zero", ["A", "B", 0n]);
      await play.tx("t3", ["A", "B", 20n]);
      await play.tx("t4", ["A", "C", 80n]);
      const expected: Record<TaintModelName, Record<Role, bigint>> = {
        poison: { B: 20n, C: 80n },
        haircut: { B: 6n, C: 24n },
        fifo: { B: 20n, C: 10n },
      };
      for (const model of MODELS) {
        const { out, result } = await traceBoth(play, model, { tx: "seed" });
        expect(held(play, result), model).to.deep.equal(expected[model]);
        expect(edgeTxs(play, result), model).to.deep.equal(["seed", "t3", "t4"]);
        expect(result.warnings).to.deep.equal([]);
        // All 9 transfers from the seed on were read; the 5 that change nothing were dropped.
        const stored = await loadTransfers(
          store.db,
          streamId({ chainId: 31337, kind: "erc20", token: play.token }),
          play.token,
          out.fromBlock,
          out.toBlock,
        );
        expect(stored, model).to.have.length(9);
        expect(result.stats.transfers, model).to.equal(4);
      }
    });

    it("a burn to the zero address is an exit of kind burn; a later mint is clean", async function () {
      const play = await TokenPlay.deploy(18);
      await play.tx("mint V", [ZERO, "V", 10n]);
      await play.tx("seed", ["V", "A", 10n]);
      await play.tx("mint A", [ZERO, "A", 30n]);
      await play.tx("burn", ["A", ZERO, 20n]);
      const expected: Record<TaintModelName, [bigint, bigint]> = {
        // [burned, left at A]: haircut floor(20·10/40) = 5; FIFO the tainted lot first.
        haircut: [5n, 5n],
        fifo: [10n, 0n],
        poison: [20n, 20n],
      };
      for (const model of MODELS) {
        const { result } = await traceBoth(play, model, { tx: "seed" });
        const [burned, left] = expected[model];
        expect(exited(play, result), model).to.deep.equal([[ZERO, "burn", undefined, burned]]);
        expect(held(play, result), model).to.deep.equal(left === 0n ? {} : { A: left });
        expect(edgeTxs(play, result)).to.deep.equal(["seed", "burn"]);
      }
    });

    it("stops taint at exchanges, bridges and mixers labeled in a TagPack (and says so in --json)", async function () {
      const play = await TokenPlay.deploy(18);
      await play.tx("mint V", [ZERO, "V", 100n]);
      await play.tx("mint X", [ZERO, "X", 1000n]);
      await play.tx("seed", ["V", "A", 100n]);
      await play.tx(
        "t2",
        ["A", "X", 40n],
        ["A", "bridge", 30n],
        ["A", "mixer", 20n],
        ["A", "scam", 10n],
      );
      await play.tx("t3", ["X", "B", 40n]);
      const file = path.join(tmp, "exits.yaml");
      writeFileSync(
        file,
        [
          "title: Trace test exits",
          "creator: Veritrace tests",
          "source: https://example.org/exits",
          "currency: ETH",
          "tags:",
          `- address: '${play.address("X")}'`,
          "  label: Exchange X",
          "  category: exchange",
          `- address: '${play.address("bridge")}'`,
          "  label: Bridge",
          "  category: defi_bridge",
          `- address: '${play.address("mixer")}'`,
          "  label: Mixer",
          "  category: mixing_service",
          `- address: '${play.address("scam")}'`,
          "  label: Scam",
          "  abuse: scam",
          "",
        ].join("\n"),
      );
      await importTagPacks(store.db, [file]);
      const labels: Record<Role, Label> = {
        X: { category: "exchange", label: "Exchange X" },
        bridge: { category: "bridge", label: "Bridge" },
        mixer: { category: "mixer", label: "Mixer" },
        scam: { category: "scam", label: "Scam" },
      };
      for (const model of MODELS) {
        const { out, result } = await traceBoth(play, model, { tx: "seed" }, { labels });
        expect(exited(play, result), model).to.deep.equal([
          ["X", "exchange", "Exchange X", 40n],
          ["bridge", "bridge", "Bridge", 30n],
          ["mixer", "mixer", "Mixer", 20n],
        ]);
        // A scam label is no exit; the exchange's own outflow is clean.
        expect(held(play, result), model).to.deep.equal({ scam: 10n });
        expect(out.labels.get(play.address("X"))?.[0]?.origin).to.equal("tagpack");
      }
      const json = lastJson(
        await traceCommand([
          "--token",
          play.token,
          "--seed",
          play.hash("seed"),
          "--model",
          "fifo",
          "--labels",
          file,
          "--json",
        ]),
      );
      expect(onTrace(json, "exits")).to.deep.equal([
        { address: play.address("X"), label: "Exchange X", amount: "40" },
        { address: play.address("bridge"), label: "Bridge", amount: "30" },
        { address: play.address("mixer"), label: "Mixer", amount: "20" },
      ]);
      expect(onTrace(json, "holdings")).to.deep.equal([
        { address: play.address("scam"), amount: "10" },
      ]);
    });

    it("stops taint at a casino (a custodial service, labeled gambling): its payouts to other customers are clean", async function () {
      // A holds 50 clean before the seed, then 100 tainted, and pays 60 into the casino, which
      // holds 1000 of its own and pays out 500 to K and 560 to L.
      const play = await TokenPlay.deploy(18);
      await play.tx("mint W", [ZERO, "W", 50n]);
      await play.tx("mint V", [ZERO, "V", 100n]);
      await play.tx("mint casino", [ZERO, "casino", 1000n]);
      await play.tx("pre", ["W", "A", 50n]);
      await play.tx("seed", ["V", "A", 100n]);
      await play.tx("deposit", ["A", "casino", 60n]);
      await play.tx("payout K", ["casino", "K", 500n]);
      await play.tx("payout L", ["casino", "L", 560n]);
      const file = path.join(tmp, "casino.yaml");
      writeFileSync(
        file,
        [
          "title: Trace test casino",
          "creator: Veritrace tests",
          "source: https://example.org/casino",
          "currency: ETH",
          "tags:",
          `- address: '${play.address("casino")}'`,
          "  label: Lucky Casino",
          "  category: gambling",
          "",
        ].join("\n"),
      );
      await importTagPacks(store.db, [file]);
      const labels: Record<Role, Label> = {
        casino: { category: "other", label: "Lucky Casino", term: "gambling" },
      };
      const casino = "Lucky Casino (gambling)";
      // The deposit carries: poison 60 (all of it), haircut floor(60·100/150) = 40, FIFO 10
      // (A's clean 50 is its oldest lot). A keeps 90, 60, 90.
      const stopped: Record<TaintModelName, [deposited: bigint, atA: bigint]> = {
        poison: [60n, 90n],
        haircut: [40n, 60n],
        fifo: [10n, 90n],
      };
      for (const model of MODELS) {
        const { out, result } = await traceBoth(play, model, { tx: "seed" }, { labels });
        const [deposited, atA] = stopped[model];
        expect(exited(play, result), model).to.deep.equal([
          ["casino", "service", casino, deposited],
        ]);
        expect(held(play, result), model).to.deep.equal({ A: atA });
        expect(edgeTxs(play, result), model).to.deep.equal(["seed", "deposit"]);
        expect(result.total, model).to.equal(model === "poison" ? 150n : 100n);
        expect(out.labels.get(play.address("casino"))?.[0]?.originalCategory).to.equal("gambling");
      }
      // Today's list carries taint through the casino to its customers. Haircut: the casino
      // holds 40 of 1060; K gets floor(500·40/1060) = 18, L the 22 left. FIFO: the casino's lots
      // are [1050 clean, 10 tainted]; K's 500 are clean, L's 560 end with the 10.
      const carried: Record<TaintModelName, Record<Role, bigint>> = {
        poison: { A: 90n, K: 500n, L: 560n },
        haircut: { A: 60n, K: 18n, L: 22n },
        fifo: { A: 90n, L: 10n },
      };
      const exitCategories = ["exchange", "bridge", "mixer"];
      for (const model of MODELS) {
        const { result } = await traceBoth(play, model, { tx: "seed" }, { labels, exitCategories });
        expect(result.exits, model).to.deep.equal([]);
        expect(held(play, result), model).to.deep.equal(carried[model]);
      }

      const seed = play.hash("seed");
      const args = ["--token", play.token, "--seed", seed, "--model", "haircut", "--json"];
      const byDefault = lastJson(await traceCommand([...args, "--labels", file]));
      expect(onTrace(byDefault, "exits")).to.deep.equal([
        { address: play.address("casino"), label: casino, amount: "40" },
      ]);
      expect(onTrace(byDefault, "holdings")).to.deep.equal([
        { address: play.address("A"), amount: "60" },
      ]);
      const through = lastJson(
        await traceCommand([
          ...args,
          "--labels",
          file,
          "--exit-categories",
          "Exchange, bridge,mixing_service",
        ]),
      );
      expect(onTrace(through, "exits")).to.deep.equal([]);
      expect(onTrace(through, "holdings")).to.deep.equal([
        { address: play.address("A"), amount: "60" },
        { address: play.address("L"), amount: "22" },
        { address: play.address("K"), amount: "18" },
      ]);

      // POST /trace: the casino is a node with a service exit; the list as a body field.
      const request = { token: play.token, seed, model: "haircut" };
      const answer = Trace.parse(await answerTrace(store, node.url, TraceRequest.parse(request)));
      const casinoNode = answer.nodes.find((n) => n.address === play.address("casino"));
      expect(casinoNode?.exit).to.deep.equal({ kind: "service", amount: "40", label: casino });
      expect(casinoNode?.label).to.equal("Lucky Casino");
      expect(answer.summary).to.deep.equal(byDefault);
      const api = Trace.parse(
        await answerTrace(store, node.url, TraceRequest.parse({ ...request, exitCategories })),
      );
      expect(api.nodes.filter((n) => n.exit !== null)).to.deep.equal([]);
      expect(api.summary).to.deep.equal(through);
    });

    it("a seed ADDRESS@BLOCK taints the address's balance at the end of that block", async function () {
      // A: 10 before, +40 in the seed block (balance 50), +20 after, → B 35.
      const play = await TokenPlay.deploy(18);
      await play.tx("mint A", [ZERO, "A", 10n]);
      await play.tx("mint W", [ZERO, "W", 60n]);
      await play.tx("t1", ["W", "A", 40n]);
      await play.tx("t2", ["W", "A", 20n]);
      await play.tx("t3", ["A", "B", 35n]);
      const ref = { balanceOf: "A", atEndOf: "t1" };
      const expected: Record<TaintModelName, Record<Role, bigint>> = {
        haircut: { A: 25n, B: 25n },
        fifo: { B: 35n, A: 15n },
        poison: { A: 35n, B: 35n },
      };
      for (const model of MODELS) {
        const { out, result } = await traceBoth(play, model, ref);
        expect(result.seedAmount, model).to.equal(50n);
        expect(held(play, result), model).to.deep.equal(expected[model]);
        expect(out.initialBalances.get(play.address("A"))).to.equal(50n);
      }
      // Written with a checksummed address; the JSON gives the seed as parsed (lower case).
      const { text } = play.seed(ref);
      expect(text).to.not.equal(text.toLowerCase());
      const json = lastJson(
        await traceCommand(["--token", play.token, "--seed", text, "--model", "haircut", "--json"]),
      );
      const { result } = await traceBoth(play, "haircut", ref);
      expect(json).to.deep.equal(summaryOf(result, text.toLowerCase()));
    });

    it("--hops and --min-amount leave taint unfollowed, counted in the totals", async function () {
      const play = await TokenPlay.deploy(18);
      await play.tx("mint V", [ZERO, "V", 110n]);
      await play.tx("seed", ["V", "A", 10n]);
      await play.tx("t2", ["A", "B", 10n]);
      await play.tx("t3", ["B", "C", 10n]);
      await play.tx("t4", ["C", "D", 10n]);
      for (const model of MODELS) {
        const { result } = await traceBoth(play, model, { tx: "seed" }, { maxHops: 2 });
        expect(held(play, result), model).to.deep.equal({});
        expect([result.beyondHopLimit, result.total]).to.deep.equal([10n, 10n]);
        expect(result.edges.map((e) => e.fate)).to.deep.equal([
          "seed",
          "carried",
          "carried",
          "beyond-hop-limit",
        ]);
      }
      // A second seed of the same token, later in the stream: 100 to E, who sends 3 and 97.
      await play.tx("seed2", ["V", "E", 100n]);
      await play.tx("split", ["E", "F", 3n], ["E", "G", 97n]);
      for (const model of MODELS) {
        const { result } = await traceBoth(play, model, { tx: "seed2" }, { minAmount: 5n });
        expect(held(play, result), model).to.deep.equal({ G: 97n });
        expect([result.belowMinimum, result.total]).to.deep.equal([3n, 100n]);
      }
      const args = ["--token", play.token, "--model", "haircut", "--json"];
      const hops = lastJson(
        await traceCommand([...args, "--seed", play.hash("seed"), "--hops", "2"]),
      );
      expect([onTrace(hops, "holdings"), hops["total"]]).to.deep.equal([[], "10"]);
      const min = lastJson(
        await traceCommand([...args, "--seed", play.hash("seed2"), "--min-amount", "5"]),
      );
      expect(onTrace(min, "holdings")).to.deep.equal([
        { address: play.address("G"), amount: "97" },
      ]);
      expect(min["total"]).to.equal("100");
    });
  });

  describe("labels published on the consortium's chain", function () {
    it("make an address an exit while the label stands, and not after its revocation", async function () {
      const play = await TokenPlay.deploy(6);
      await play.tx("mint V", [ZERO, "V", 10n]);
      await play.tx("seed", ["V", "A", 10n]);
      await play.tx("t2", ["A", "X", 4n]);
      await play.tx("t3", ["A", "B", 6n]);

      const investigator = new Investigator(node.contracts, node.cast.police.signer);
      const now = Number(await investigator.now());
      const { caseId, caseNumberCommitment } = await investigator.openCase({
        caseNumber: "TRACE-1",
        caseKey: generateCaseKey(),
        legalBasis: "tracing order TRACE-1",
        scope: [DataKind.BankTransactions],
        expiresAt: now + 30 * 86_400,
      });
      await new Supervisor(node.contracts, node.cast.prosecutor.signer).approveCase(caseId);
      const labelId = await investigator.publishLabel({
        subject: play.address("X"),
        chainId: 31337,
        category: "exchange",
        caseNumberCommitment,
        confidence: 90,
      });
      const index = () => new Indexer(store, rpc, node.record, { finalityDepth: 0 }).syncOnce();
      await index();

      const text = `exchange (consortium label ${labelId} by participant ${node.cast.police.id})`;
      const labels = { X: { category: "exchange", label: text } };
      for (const model of MODELS) {
        const { out, result } = await traceBoth(play, model, { tx: "seed" }, { labels });
        expect(exited(play, result), model).to.deep.equal([["X", "exchange", text, 4n]]);
        expect(held(play, result), model).to.deep.equal({ B: 6n });
        expect(out.labels.get(play.address("X"))?.map((l) => l.origin)).to.deep.equal(["chain"]);
      }

      await investigator.revokeLabel(labelId, 1);
      await index();
      for (const model of MODELS) {
        const { out, result } = await traceBoth(play, model, { tx: "seed" });
        expect(result.exits, model).to.deep.equal([]);
        expect(held(play, result), model).to.deep.equal({ B: 6n, X: 4n });
        expect(out.labels.has(play.address("X"))).to.equal(false);
      }
    });
  });

  describe("native value (anvil: internal transfers traced)", function () {
    let play: NativePlay;
    before(async function () {
      play = await playNative(node.connection, rpc, deployer, true);
    });

    it("reads top-level values, internal transfers (not the reverted ones) and fees", async function () {
      const out = await runTrace({
        rpc,
        db: store.db,
        token: "native",
        seed: play.seedHash,
        model: "haircut",
      });
      expect(out.ingest.complete).to.equal(true);
      expect(out.ingest.note).to.equal(null);
      const rows = await loadTransfers(
        store.db,
        streamId({ chainId: 31337, kind: "native", token: "native" }),
        "native",
        out.fromBlock,
        out.toBlock,
      );
      expect(rows.map((r) => [r.txHash, r.kind, r.from, r.to, r.amount])).to.deep.equal(
        play.transfers.map((t) => [t.txHash, t.kind, t.from, t.to, t.amount]),
      );
      expect(rows.map((r) => r.kind)).to.deep.equal([
        ...["value", "internal", "internal", "fee"],
        ...["value", "fee"],
        ...["value", "fee"],
        "fee",
      ]);
    });

    for (const model of MODELS) {
      it(`${model}: holdings and the fee exit as computed by hand from the receipts`, async function () {
        const out = await runTrace({
          rpc,
          db: store.db,
          token: "native",
          seed: play.seedHash,
          model,
        });
        const r = out.result;
        const memory = trace(play.transfers, {
          model,
          seed: { kind: "tx", txHash: play.seedHash },
          token: "native",
          feeSink: FEE_SINK,
          initialBalances: play.initialBalances,
        });
        expect(comparable(r)).to.deep.equal(comparable(memory));

        const { a, b, r: refused, feeA, feeB } = play.amounts;
        expect(r.seedAmount).to.equal(a + b + refused);
        const expected = play.expected(model);
        expect(
          Object.fromEntries(r.holdings.map((h) => [play.roleOf(h.address), h.amount])),
        ).to.deep.equal(expected.held);
        expect(r.exits.map((e) => [e.address, e.kind, e.amount])).to.deep.equal([
          [FEE_SINK, "fee", expected.fees],
        ]);
        expect(r.warnings).to.deep.equal([]);
        // The fees are real (else the fee exit would say nothing), and A paid its own.
        expect(feeA > 0n && feeB > 0n).to.equal(true);
        expect(r.edges.filter((e) => e.to === FEE_SINK).map((e) => e.from)[0]).to.equal(
          play.address("A"),
        );
      });
    }
  });

  describe("native value on a hardhat node (no call tracing)", function () {
    let chain: LocalChain;
    let connection: NetworkConnection;
    let hardhatRpc: RpcClient;
    let play: NativePlay;

    before(async function () {
      chain = await startLocalChain("hardhat");
      connection = await network.create({ network: "localhost", override: { url: chain.url } });
      // Retries as in use: a busy machine sees the node close an idle kept-alive socket just as
      // the next call reuses it (UND_ERR_SOCKET); what this suite checks is not the retry.
      hardhatRpc = new RpcClient(chain.url, { maxRetries: 3 });
      const [signer] = await connection.ethers.getSigners();
      if (signer === undefined) throw new Error("no signer");
      play = await playNative(connection, hardhatRpc, signer, false);
    });
    after(async function () {
      await connection?.close();
      await chain?.stop();
    });

    it("reports the native stream incomplete, naming debug_traceBlockByHash", async function () {
      const fresh = await Store.open(await openMemoryDatabase());
      try {
        const out = await runTrace({
          rpc: hardhatRpc,
          db: fresh.db,
          token: "native",
          seed: play.seedHash,
          model: "haircut",
        });
        expect(out.ingest.complete).to.equal(false);
        expect(out.ingest.note).to.match(/debug_traceBlockByHash/);
        // Without the internal transfers the forwarder seems to keep everything it was sent.
        const { a, b, r } = play.amounts;
        expect(out.result.holdings[0]).to.include({
          address: play.address("F"),
          amount: a + b + r,
        });
      } finally {
        await fresh.close();
      }
    });

    it("veritrace trace prints a WARNING line", async function () {
      const result = await runVeritrace([
        "trace",
        "--rpc",
        chain.url,
        "--db",
        newDbDir(),
        "--token",
        "native",
        "--seed",
        play.seedHash,
        "--model",
        "fifo",
      ]);
      expect(result.code, result.stderr).to.equal(0);
      const warnings = result.stdout.split("\n").filter((l) => l.startsWith("WARNING: "));
      expect(warnings).to.have.length(1);
      expect(warnings[0]).to.match(
        /^WARNING: the node does not trace calls \(debug_traceBlockByHash\): internal transfers of \d+ block\(s\) from \d+ are missing$/,
      );
    });
  });

  describe("veritrace trace: bad input", function () {
    let play: TokenPlay;
    const runs = new Map<string, { db: string; result: Promise<CommandResult> }>();
    /** Exactly one line on stderr naming the command, nothing on stdout, the exit code, no store. */
    const expectRefused = async (name: string, code: number, pattern: RegExp) => {
      const run = runs.get(name);
      if (run === undefined) throw new Error(name);
      const result = await run.result;
      const lines = result.stderr.split("\n").filter((l) => l.length > 0);
      expect(lines, result.stderr).to.have.length(1);
      expect(lines[0]).to.match(/^veritrace trace: /);
      expect(lines[0]).to.match(pattern);
      expect(result.stdout).to.equal("");
      expect(result.code).to.equal(code);
      expect(existsSync(run.db), "store created").to.equal(false);
    };

    before(async function () {
      play = await TokenPlay.deploy(6);
      await play.tx("mint V", [ZERO, "V", 10n]);
      await play.tx("seed", ["V", "A", 10n]);
      const head = Number(await rpc.call<string>("eth_blockNumber"));
      const good = ["--token", play.token, "--seed", play.hash("seed"), "--model", "fifo"];
      const nowhere = Wallet.createRandom().address;
      const cases: Record<string, string[]> = {
        "no code": ["--token", nowhere, "--seed", play.hash("seed"), "--model", "fifo"],
        "bad token": ["--token", "0x1234", "--seed", play.hash("seed"), "--model", "fifo"],
        "bad seed": ["--token", play.token, "--seed", "0x1234", "--model", "fifo"],
        "unknown tx": [
          "--token",
          play.token,
          "--seed",
          hexlify(randomBytes(32)),
          "--model",
          "fifo",
        ],
        "beyond head": [
          "--token",
          play.token,
          "--seed",
          `${nowhere}@${head + 1000}`,
          "--model",
          "fifo",
        ],
        "to-block before": [...good, "--to-block", String(play.block("seed") - 1)],
        "to-block before balance": [
          ...["--token", play.token, "--model", "fifo"],
          ...["--seed", `${play.address("A")}@${play.block("seed")}`],
          ...["--to-block", String(play.block("seed") - 1)],
        ],
        "to-block beyond": [...good, "--to-block", String(head + 1000)],
        confirmations: [...good, "--confirmations", "1000"],
        model: ["--token", play.token, "--seed", play.hash("seed"), "--model", "lifo"],
        graph: [...good, "--graph", path.join(tmp, "flow.gif")],
        "exit categories": [...good, "--exit-categories", "exchange,casinoo"],
      };
      // Started together: each is a process of its own.
      for (const [name, args] of Object.entries(cases)) {
        const db = newDbDir();
        runs.set(name, { db, result: traceCommand(args, db) });
      }
      const db = newDbDir();
      runs.set("no rpc", { db, result: runVeritrace(["trace", ...good, "--db", db]) });
      await Promise.all([...runs.values()].map((r) => r.result));
    });

    it("a token address with no code: exit 1", async function () {
      await expectRefused(
        "no code",
        1,
        /no contract at token address 0x[0-9a-f]{40} on chain 31337$/,
      );
    });
    it("a token that is no address: exit 2", async function () {
      await expectRefused(
        "bad token",
        2,
        /--token must be a token address, "native" or "all", got "0x1234"$/,
      );
    });
    it("a malformed seed: exit 2", async function () {
      await expectRefused("bad seed", 2, /invalid seed "0x1234": expected a transaction hash/);
    });
    it("an unknown transaction hash: exit 1", async function () {
      await expectRefused("unknown tx", 1, /transaction 0x[0-9a-f]{64} is unknown to the node/);
    });
    it("ADDRESS@BLOCK beyond the head: exit 1", async function () {
      await expectRefused("beyond head", 1, /block \d+ does not exist on the node$/);
    });
    it("--to-block before the seed: exit 1", async function () {
      const seedBlock = play.block("seed");
      await expectRefused(
        "to-block before",
        1,
        new RegExp(`--to-block ${seedBlock - 1} is before the seed \\(block ${seedBlock}\\)$`),
      );
    });
    it("--to-block before an ADDRESS@BLOCK seed: exit 1, naming the seed's block", async function () {
      const seedBlock = play.block("seed");
      await expectRefused(
        "to-block before balance",
        1,
        new RegExp(`--to-block ${seedBlock - 1} is before the seed \\(block ${seedBlock}\\)$`),
      );
    });
    it("--confirmations that leave the seed out: exit 1", async function () {
      await expectRefused(
        "confirmations",
        1,
        new RegExp(
          `the seed \\(block ${play.block("seed")}\\) is within the newest 1000 block\\(s\\) left out by --confirmations`,
        ),
      );
    });
    it("--to-block beyond the head: exit 1", async function () {
      await expectRefused("to-block beyond", 1, /--to-block \d+ is beyond the node's head \d+$/);
    });
    it("an unknown --model: exit 2", async function () {
      await expectRefused("model", 2, /--model must be one of poison, haircut, fifo, got "lifo"$/);
    });
    it("a --graph file that is not .svg, .png or .dot: exit 2, no file", async function () {
      await expectRefused(
        "graph",
        2,
        /--graph must end in \.svg, \.png, \.dot, got ".*flow\.gif"$/,
      );
      expect(existsSync(path.join(tmp, "flow.gif"))).to.equal(false);
    });
    it("an --exit-categories term that names no service: exit 2, naming it", async function () {
      await expectRefused(
        "exit categories",
        2,
        /--exit-categories: "casinoo" is not a category of service: expected exchange, bridge, mixer or a service of the GraphSense taxonomy \(wallet_service, .*gambling/,
      );
    });
    it("no --rpc: exit 2", async function () {
      await expectRefused("no rpc", 2, /--rpc is required$/);
    });
    it("the control: the same command with good input traces and creates the store", async function () {
      const db = newDbDir();
      const result = await traceCommand(
        ["--token", play.token, "--seed", play.hash("seed"), "--model", "fifo", "--json"],
        db,
      );
      expect(onTrace(lastJson(result), "holdings")).to.deep.equal([
        { address: play.address("A"), amount: "10" },
      ]);
      expect(existsSync(db)).to.equal(true);
      // And the plan the command checks first is the one runTrace follows.
      const plan = await planTrace(rpc, { token: play.token, seed: play.hash("seed") });
      expect([plan.fromBlock, plan.token]).to.deep.equal([play.block("seed"), play.token]);
    });
  });
});

// ---------------------------------------------------------------------------------------------

/** A native transfer as the store should hold it. */
type NativeTransfer = Transfer & { kind: TransferKind };

interface NativePlay {
  seedHash: string;
  transfers: NativeTransfer[];
  initialBalances: Map<string, bigint>;
  amounts: { a: bigint; b: bigint; r: bigint; c: bigint; d: bigint; feeA: bigint; feeB: bigint };
  address(role: Role): string;
  roleOf(address: string): Role;
  expected(model: TaintModelName): { held: Record<Role, bigint>; fees: bigint };
}

/**
 * The native scenario. V (10 ETH) sends a + b + r to the Forwarder F, which passes a to A (who
 * had nothing), b to B (who had 1 ETH) and r to a RevertingReceiver R, which passes it on to Y and
 * reverts: r stays at F. Then A pays c to C, B pays d to D, and V sends a transaction that fails
 * (only its fee moves). Every movement is written down from what was sent and the receipts.
 */
async function playNative(
  connection: NetworkConnection,
  chainRpc: RpcClient,
  funder: Signer,
  withFailure: boolean,
): Promise<NativePlay> {
  const provider = connection.ethers.provider;
  const forwarder = await new Forwarder__factory(funder).deploy();
  await forwarder.waitForDeployment();
  const roles = new Map<Role, string>();
  const byAddress = new Map<string, Role>([[FEE_SINK, "fees"]]);
  const name = (role: Role, address: string) => {
    roles.set(role, address.toLowerCase());
    byAddress.set(address.toLowerCase(), role);
  };
  name("F", await forwarder.getAddress());
  const V = await account(provider, chainRpc, 10n * ETHER);
  const B = await account(provider, chainRpc, ETHER);
  const [A, C, D, Y] = await Promise.all([0, 1, 2, 3].map(() => account(provider, chainRpc, 0n)));
  if (A === undefined || C === undefined || D === undefined || Y === undefined)
    throw new Error("accounts");
  const receiver = await new RevertingReceiver__factory(funder).deploy(Y.address);
  await receiver.waitForDeployment();
  for (const [role, w] of Object.entries({ V, A, B, C, D, Y })) name(role, w.address);
  name("R", await receiver.getAddress());
  const address = (role: Role) => {
    const a = roles.get(role);
    if (a === undefined) throw new Error(role);
    return a;
  };

  const a = 3n * ETHER;
  const b = 2n * ETHER;
  const r = ETHER;
  const c = ETHER;
  const d = ETHER / 2n;
  const transfers: NativeTransfer[] = [];
  const record = async (
    receipt: TransactionReceipt,
    moves: [kind: TransferKind, from: Role, to: Role, amount: bigint][],
  ) => {
    const time = await blockTime(provider, receipt.blockNumber);
    const fee = receipt.gasUsed * receipt.gasPrice;
    const all: typeof moves = [
      ...moves,
      ["fee", byAddress.get(receipt.from.toLowerCase()) ?? "?", "fees", fee],
    ];
    all.forEach(([kind, from, to, amount], ordinal) =>
      transfers.push({
        blockNumber: receipt.blockNumber,
        txIndex: receipt.index,
        ordinal,
        txHash: receipt.hash.toLowerCase(),
        token: "native",
        from: from === "fees" ? FEE_SINK : address(from),
        to: to === "fees" ? FEE_SINK : address(to),
        amount,
        time,
        kind,
      }),
    );
    return fee;
  };

  const seed = await mined(
    await forwarder
      .connect(V)
      .forward([address("A"), address("B"), address("R")], [a, b, r], { value: a + b + r }),
  );
  const initialBlock = seed.blockNumber - 1;
  await record(seed, [
    ["value", "V", "F", a + b + r],
    ["internal", "F", "A", a],
    ["internal", "F", "B", b],
  ]);
  const payC = await A.sendTransaction({ to: address("C"), value: c });
  const feeA = await record(await mined(payC), [["value", "A", "C", c]]);
  const payD = await B.sendTransaction({ to: address("D"), value: d });
  const feeB = await record(await mined(payD), [["value", "B", "D", d]]);
  if (withFailure) {
    // The value does not match the amounts: the transaction fails, its fee is paid.
    const failing = await forwarder
      .connect(V)
      .forward([address("C")], [1n], { value: 2n, gasLimit: 100_000n });
    let receipt: TransactionReceipt | null = null;
    try {
      await failing.wait();
    } catch {
      receipt = await provider.getTransactionReceipt(failing.hash);
    }
    if (receipt === null || receipt.status !== 0)
      throw new Error("the failing transaction did not fail");
    await record(receipt, []);
  }

  // Balances before the seed's block, by hand: V 10, B 1, the rest nothing.
  const before = await Promise.all(
    ["V", "B"].map((role) => provider.getBalance(address(role), initialBlock)),
  );
  expect(before).to.deep.equal([10n * ETHER, ETHER]);
  const initialBalances = new Map([
    [address("V"), 10n * ETHER],
    [address("B"), ETHER],
  ]);

  return {
    seedHash: seed.hash.toLowerCase(),
    transfers,
    initialBalances,
    amounts: { a, b, r, c, d, feeA, feeB },
    address,
    roleOf: (x) => byAddress.get(x) ?? x,
    expected(model): { held: Record<Role, bigint>; fees: bigint } {
      // A held nothing but taint: under every model it keeps all it did not spend.
      const atA = a - c - feeA;
      switch (model) {
        case "poison":
          return {
            held: { F: r, A: atA, C: c, B: ETHER + b - d - feeB, D: d },
            fees: feeA + feeB,
          };
        case "fifo":
          // B's clean ether is the older lot: d and B's fee are clean.
          return { held: { F: r, A: atA, C: c, B: b }, fees: feeA };
        case "haircut": {
          // B holds b of taint in ETHER + b; d carries its share, then the fee its share of the rest.
          const tauD = (d * b) / (ETHER + b);
          const left = b - tauD;
          const tauFee = (feeB * left) / (ETHER + b - d);
          return {
            held: { F: r, A: atA, C: c, B: left - tauFee, D: tauD },
            fees: feeA + tauFee,
          };
        }
      }
    },
  };
}

/** The blocks a list of eth_getLogs filters covered (by range or by block hash), sorted. */
async function blocksRead(filters: readonly unknown[]): Promise<number[]> {
  const blocks: number[] = [];
  for (const f of filters) {
    const filter = f as { blockHash?: string; fromBlock?: string; toBlock?: string };
    if (filter.blockHash !== undefined) {
      const b = await rpc.call<{ number: string }>("eth_getBlockByHash", [filter.blockHash, false]);
      blocks.push(Number(b.number));
    } else {
      blocks.push(...range(Number(filter.fromBlock), Number(filter.toBlock)));
    }
  }
  return blocks.sort((x, y) => x - y);
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

/** A Graphviz SVG's node titles, texts and size in points. */
function parseSvg(text: string): {
  nodes: string[];
  texts: string[];
  width: number;
  height: number;
} {
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: "",
    htmlEntities: true,
    parseTagValue: false,
    isArray: (tag) => tag === "g" || tag === "text",
  });
  const doc = parser.parse(text, true) as { svg?: Record<string, unknown> };
  const svg = doc.svg;
  if (svg === undefined) throw new Error("no <svg> element");
  const nodes: string[] = [];
  const texts: string[] = [];
  const walk = (e: unknown) => {
    if (Array.isArray(e)) {
      e.forEach(walk);
      return;
    }
    if (e === null || typeof e !== "object") return;
    const el = e as Record<string, unknown>;
    if (el["class"] === "node" && el["title"] !== undefined) nodes.push(String(el["title"]));
    for (const [key, value] of Object.entries(el)) {
      if (key === "text") {
        for (const t of value as unknown[])
          texts.push(
            typeof t === "object" && t !== null
              ? String((t as Record<string, unknown>)["#text"] ?? "")
              : String(t),
          );
      } else walk(value);
    }
  };
  walk(svg);
  const [, , width, height] = String(svg["viewBox"] ?? "")
    .split(/\s+/)
    .map(Number);
  return { nodes, texts, width: width ?? 0, height: height ?? 0 };
}
