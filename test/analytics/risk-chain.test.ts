/**
 * Risk scoring end to end on anvil, with the real TagPacks (../shared/data/tagpacks: OFAC, hacks
 * and the Ronin bridge, EtherScamDB, Binance's wallets) as the label base: tokens sent from
 * labeled addresses (impersonated) to customers, then `veritrace risk`, `veritrace screen`
 * (TXT and CSV, bad lines among good ones), `POST /risk/screen` (auth, limits, 400s) and the
 * alert hook publishing a consortium label, each checked against numbers computed by hand.
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import pg from "pg";
import { encryptKeystoreJsonSync, HDNodeWallet, hexlify, randomBytes, Wallet } from "ethers";
import {
  DataKind,
  Investigator,
  Supervisor,
  generateCaseKey,
  writeDeployment,
} from "../../src/client/index.js";
import { createApiServer, openApiDocument } from "../../src/api/server.js";
import { Indexer } from "../../src/ledger/indexer.js";
import { RpcClient } from "../../src/chain/rpc.js";
import { chainLabelsFor } from "../../src/analytics/labels/chain.js";
import { importTagPacks, labelsFor } from "../../src/analytics/labels/store.js";
import { openMemoryDatabase } from "../../src/db/db.js";
import { Store } from "../../src/db/store.js";
import { TestToken__factory, type TestToken } from "../../types/ethers-contracts/index.js";
import {
  ROOT,
  createPostgresDatabase,
  runVeritrace,
  runVeritraceOnTerminal,
  startConsortiumNode,
  type CommandResult,
  type ConsortiumNode,
} from "../helpers/tracer.js";
import { startRpcProxy } from "../helpers/rpc-proxy.js";

const TAGPACKS = path.resolve(ROOT, "..", "shared", "data", "tagpacks");
const PACKS = [
  "ofac.yaml",
  "hacks.yaml",
  "ronin_bridge.yaml",
  "etherscamdb_tagpack.yaml",
  "exchange-wallets-binance.yaml",
].map((f) => path.join(TAGPACKS, f));
/** Labeled addresses of the real TagPacks. */
const OFAC = "0x8576acc5c05d6ce88f4e49bf65bdf0c62f91353c"; // sanctioned (OFAC's source)
const RONIN = "0x29fc9b71492ec63696cf9cd56e9832a42b0dced0"; // hack (Ronin bridge exploiter 4)
/** The first Ronin exploiter: also on OFAC's list (Lazarus), so sanctioned, the more severe. */
const RONIN_OFAC = "0x098b716b8aaf21512996dc57eb0615e2383e2f96";
const SCAM = "0xd0cc2b24980cbcca47ef755da88b220a82291407"; // phishing (myelherwallel.com)
const BINANCE = "0xbe0eb53f46cd790cd13851d5eff43d12404d33e8"; // exchange
const OFAC_BTC = "3K35dyL85fR9ht7UgzPfd1gLRRXQtNTqE3"; // sanctioned, on Bitcoin
const TOKEN_API = "risk-test-token-0123456789abcdef";
const PASSWORD = "correct horse battery staple";

let node: ConsortiumNode;
let token: TestToken;
let tokenAddress: string;
let tmp: string;
let db: string;
const who: Record<string, string> = {};
let beforeLate = 0;

const fresh = () => new Wallet(hexlify(randomBytes(32))).address.toLowerCase();

function lastJson(r: CommandResult): Record<string, unknown> {
  expect(r.code, r.stderr).to.equal(0);
  return JSON.parse(r.stdout.trim().split("\n").at(-1) ?? "") as Record<string, unknown>;
}

const risk = (address: string, ...args: string[]) =>
  runVeritrace(["risk", address, "--rpc", node.url, "--token", tokenAddress, "--db", db, ...args]);

/** `veritrace screen FILE` on the scenario's token, with the store at `where`. */
const screen = (file: string, args: string[] = [], where: string = db) =>
  runVeritrace([
    "screen",
    file,
    "--rpc",
    node.url,
    "--token",
    tokenAddress,
    "--db",
    where,
    ...args,
  ]);

interface Report {
  address: string;
  score: number;
  verdict: string;
  received: string;
  exposures: {
    category: string;
    direct: string;
    indirect: string;
    share: string;
    points: number;
  }[];
  paths: { category: string; amount: string; source: string; steps: { txHash: string }[] }[];
  error?: string;
  line: number;
}

describe("risk scoring on a real chain with the real TagPacks", function () {
  before(async function () {
    node = await startConsortiumNode("anvil");
    const deployer = node.signers[9];
    if (deployer === undefined) throw new Error("signers");
    token = await new TestToken__factory(deployer).deploy("Test USD", "TUSD", 6);
    await token.waitForDeployment();
    tokenAddress = (await token.getAddress()).toLowerCase();
    for (const name of ["W", "A", "C1", "C2", "C3", "C4", "C5", "QUIET"]) who[name] = fresh();
    const send = async (from: string, to: string, amount: bigint) => {
      const signer = await node.connection.ethers.getImpersonatedSigner(from);
      await node.rpc.call("anvil_setBalance", [from, "0xde0b6b3a7640000"]);
      await (await token.connect(signer).transfer(to, amount)).wait();
    };
    for (const a of [OFAC, RONIN, SCAM, BINANCE, who["W"] as string])
      await (await token.connect(deployer).mint(a, 10_000n)).wait();
    const [W, A, C1, C2, C3, C4, C5] = ["W", "A", "C1", "C2", "C3", "C4", "C5"].map(
      (n) => who[n] as string,
    ) as string[];
    await send(OFAC, A as string, 100n);
    await send(W as string, A as string, 300n); // A: 100 of 400 sanctioned
    await send(A as string, C1 as string, 200n); // C1: floor(200·100/400) = 50 sanctioned, hop 2
    await send(W as string, C1 as string, 200n); // C1 received 400: 12.5 %
    await send(SCAM, C2 as string, 10n);
    await send(W as string, C2 as string, 90n); // C2: phishing 10 of 100, direct
    await send(RONIN, C3 as string, 500n); // C3: all hack, direct
    await send(BINANCE, C4 as string, 100n); // C4: exchange only
    await send(W as string, C5 as string, 50n);
    beforeLate = await node.head();
    await send(OFAC, C5 as string, 50n); // C5: sanctioned, after the window ending at beforeLate
    tmp = mkdtempSync(path.join(os.tmpdir(), "veritrace-risk-"));
    db = path.join(tmp, "db");
    const imported = await runVeritrace(["labels", "import", ...PACKS, "--db", db, "--json"]);
    expect(imported.code, imported.stderr).to.equal(0);
  });

  after(async function () {
    await node?.stop();
    if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true });
  });

  describe("veritrace risk", function () {
    it("C1: 50 of 400 received from OFAC's address through one intermediary: 12.5 %, 50 points, high", async function () {
      const r = lastJson(await risk(who["C1"] as string, "--json")) as unknown as Report;
      expect(r.received).to.equal("400");
      expect(r.exposures).to.deep.equal([
        {
          category: "sanctioned",
          direct: "0",
          indirect: "50",
          byHop: ["0", "50", "0"],
          share: "12.50%",
          points: 50,
        },
      ]);
      expect([r.score, r.verdict]).to.deep.equal([50, "high"]);
      expect(r.paths).to.have.length(1);
      expect(r.paths[0]?.source).to.equal(OFAC);
      expect(r.paths[0]?.steps).to.have.length(2);
    });

    it("C2, C3, C4: phishing (EtherScamDB) 70 high, hack (Ronin) severe, exchange (Binance) 0 low", async function () {
      const c2 = lastJson(await risk(who["C2"] as string, "--json")) as unknown as Report;
      expect([
        c2.score,
        c2.verdict,
        c2.exposures[0]?.category,
        c2.exposures[0]?.direct,
      ]).to.deep.equal([70, "high", "phishing", "10"]);
      const c3 = lastJson(await risk(who["C3"] as string, "--json")) as unknown as Report;
      expect([
        c3.score,
        c3.verdict,
        c3.exposures[0]?.category,
        c3.exposures[0]?.share,
      ]).to.deep.equal([90, "severe", "hack", "100.00%"]);
      const c4 = lastJson(await risk(who["C4"] as string, "--json")) as unknown as Report;
      expect([c4.score, c4.verdict, c4.exposures[0]?.category]).to.deep.equal([
        0,
        "low",
        "exchange",
      ]);
    });

    it("C5: received from OFAC's address only after the window: low within it, severe without", async function () {
      const within = lastJson(
        await risk(who["C5"] as string, "--to-block", String(beforeLate), "--json"),
      ) as unknown as Report;
      expect([within.score, within.verdict, within.received, within.exposures]).to.deep.equal([
        0,
        "low",
        "50",
        [],
      ]);
      const all = lastJson(await risk(who["C5"] as string, "--json")) as unknown as Report;
      expect([all.score, all.verdict, all.exposures[0]?.share]).to.deep.equal([
        100,
        "severe",
        "50.00%",
      ]);
    });

    it("reads --config from stdin for -, as from the file; screen too", async function () {
      const config = '{"thresholds": {"high": 60}}\n';
      const file = path.join(tmp, "strict.json");
      writeFileSync(file, config);
      const fromFile = lastJson(await risk(who["C1"] as string, "--config", file, "--json"));
      const fromStdin = lastJson(
        await runVeritrace(
          [
            "risk",
            who["C1"] as string,
            ...["--rpc", node.url, "--token", tokenAddress, "--db", db],
            ...["--config", "-", "--json"],
          ],
          {},
          config,
        ),
      );
      expect(fromStdin).to.deep.equal(fromFile);
      // The configuration was read: 50 points are high by default, medium under it.
      expect([fromFile["score"], fromFile["verdict"]]).to.deep.equal([50, "medium"]);
      const list = path.join(tmp, "c1.txt");
      writeFileSync(list, `${who["C1"]}\n`);
      const screened = await runVeritrace(
        [
          "screen",
          list,
          ...["--rpc", node.url, "--token", tokenAddress, "--db", db],
          ...["--config", "-", "--csv", "--out", "-"],
        ],
        {},
        config,
      );
      expect(screened.code, screened.stderr).to.equal(0);
      expect(screened.stdout).to.equal((await screen(list, ["--config", file, "--csv"])).stdout);
      expect(screened.stdout).to.match(/,50,medium,/);
      expect(existsSync(path.join(ROOT, "-")), "a file named -").to.equal(false);
    });

    it("prints a table and the paths for people", async function () {
      const r = await risk(who["C1"] as string);
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout).to.match(/score 50\/100, HIGH/);
      expect(r.stdout).to.match(/sanctioned\s+0\s+0\.00005\s+12\.50%\s+50\.00/);
      expect(r.stdout).to.match(
        /largest paths\n {2}sanctioned 0\.00005 from Asset listed under US Treasury OFAC/,
      );
    });
  });

  describe("veritrace screen", function () {
    it("screens a CSV with bad lines among good ones, each reported on its line", async function () {
      const file = path.join(tmp, "customers.csv");
      writeFileSync(
        file,
        [
          "address,token",
          `${who["C1"]},`,
          "0x1234,",
          `${OFAC_BTC},`,
          `${who["C2"]},${who["W"]}`, // an account, not a token
          `${who["C3"]},${tokenAddress}`,
          `${who["QUIET"]},`,
          `0x098B716B8Aaf21512996dC57EB0615e2383E2f96,`,
          "",
        ].join("\n"),
      );
      const out = path.join(tmp, "screen.json");
      const r = await screen(file, ["--json", "--out", out]);
      expect(r.code, r.stderr).to.equal(0);
      const s = JSON.parse(readFileSync(out, "utf8")) as {
        results: Report[];
        verdicts: Record<string, number>;
        screened: number;
        errors: number;
      };
      expect([s.screened, s.errors]).to.deep.equal([4, 3]);
      const byLine = Object.fromEntries(s.results.map((x) => [x.line, x]));
      expect(byLine[2]?.score).to.equal(50);
      expect(byLine[3]?.error).to.match(/^malformed address/);
      expect(byLine[4]?.error).to.match(
        /not an EVM address \(bitcoin format\).*labeled sanctioned on bitcoin \(US Treasury OFAC Sanctions List\)/,
      );
      expect(byLine[5]?.error).to.match(/no contract at token address/);
      expect(byLine[6]?.verdict).to.equal("severe");
      expect([byLine[7]?.score, byLine[7]?.received]).to.deep.equal([0, "0"]);
      // The exploiter's own address: its label scores at hop 0.
      expect([
        byLine[8]?.address,
        byLine[8]?.verdict,
        byLine[8]?.exposures[0]?.category,
      ]).to.deep.equal([RONIN_OFAC, "severe", "sanctioned"]);
      expect(s.verdicts).to.deep.equal({ low: 1, medium: 0, high: 1, severe: 2 });
    });

    it("writes CSV; reads a TXT file; people get the flagged lines and the errors", async function () {
      const file = path.join(tmp, "customers.txt");
      writeFileSync(file, `# customers\n${who["C2"]}\n${who["C4"]}\nnot-an-address\n`);
      const csv = await screen(file, ["--csv"]);
      expect(csv.code, csv.stderr).to.equal(0);
      expect(csv.stdout.split("\n").slice(0, 4)).to.deep.equal([
        "line,input,token,score,verdict,received,top_category,top_share,error",
        `2,${who["C2"]},${tokenAddress},70,high,100,phishing,10.00%,`,
        `3,${who["C4"]},${tokenAddress},0,low,100,exchange,100.00%,`,
        "4,not-an-address,,,,,,,malformed address: expected 0x and 40 hex digits",
      ]);
      const human = await screen(file);
      expect(human.code, human.stderr).to.equal(0);
      expect(human.stdout).to.match(/screened 2 of 3 lines/);
      expect(human.stdout).to.match(/2\s+0x[0-9a-f]{40}\s+70\s+high\s+phishing\s+10\.00%/);
      expect(human.stdout).to.match(/line 4: "not-an-address": malformed address/);

      // For pipelines: exit 3 once any line reaches the level, after the whole output.
      const high = await screen(file, ["--csv", "--fail-on", "high"]);
      expect(high.code, high.stderr).to.equal(3);
      expect(high.stdout).to.equal(csv.stdout);
      // (Above it on stderr, the progress bar's lines.)
      expect(high.stderr.trimEnd().split("\n").at(-1)).to.equal(
        "veritrace screen: 1 of 3 lines score high or above",
      );
      const severe = await screen(file, ["--csv", "--fail-on", "severe"]);
      expect(severe.code, severe.stderr).to.equal(0);
      expect(severe.stderr).to.not.match(/or above/);
      // "-" reads stdin (TXT unless --format csv) and --out - writes stdout.
      const piped = await runVeritrace(
        [
          "screen",
          "-",
          "--rpc",
          node.url,
          "--token",
          tokenAddress,
          "--db",
          db,
          "--csv",
          "--out",
          "-",
        ],
        {},
        `${who["C2"]}\n${who["C4"]}\n`,
      );
      expect(piped.code, piped.stderr).to.equal(0);
      expect(piped.stdout.split("\n").slice(1, 3)).to.deep.equal([
        `1,${who["C2"]},${tokenAddress},70,high,100,phishing,10.00%,`,
        `2,${who["C4"]},${tokenAddress},0,low,100,exchange,100.00%,`,
      ]);
    });

    it("bad flags and files: one line on stderr, exit 2 (usage) or 1, nothing written", async function () {
      const file = path.join(tmp, "one.txt");
      writeFileSync(file, `${who["C1"]}\n`);
      const never = path.join(tmp, "never");
      const cases: [string[], number][] = [
        [["risk", who["C1"] as string, "--db", never], 2],
        [["risk", who["C1"] as string, "--rpc", "ftp://x", "--db", never], 2],
        [["risk", "0x12", "--rpc", node.url, "--db", never], 2],
        [["risk", OFAC_BTC, "--rpc", node.url, "--db", never], 2],
        [["risk", who["C1"] as string, "--rpc", node.url, "--hops", "0", "--db", never], 2],
        [["risk", who["C1"] as string, "--rpc", node.url, "--hops", "11", "--db", never], 2],
        [["risk", who["C1"] as string, "--rpc", node.url, "--token", "usd", "--db", never], 2],
        [
          ["risk", who["C1"] as string, "--rpc", node.url, "--since", "yesterday", "--db", never],
          2,
        ],
        [["risk", who["C1"] as string, "--rpc", node.url, "--config", file, "--db", never], 2],
        [["risk", who["C1"] as string, "--rpc", node.url, "--publish", "--db", never], 2],
        [["risk", who["C1"] as string, "--rpc", node.url, "--bogus", "--db", never], 2],
        [["screen", file, "--rpc", node.url, "--json", "--csv", "--db", never], 2],
        [["screen", file, "--rpc", node.url, "--out", path.join(tmp, "x.json"), "--db", never], 2],
        [["screen", "--rpc", node.url, "--db", never], 2],
        [["screen", file, "--rpc", node.url, "--fail-on", "red", "--db", never], 2],
        [["screen", file, "--rpc", node.url, "--format", "xlsx", "--db", never], 2],
        [["screen", path.join(tmp, "missing.txt"), "--rpc", node.url, "--db", never], 1],
        // Stdin is read once; a keystore is never read from it.
        [["screen", "-", "--rpc", node.url, "--labels", "-", "--db", never], 2],
        [
          [
            "risk",
            who["C1"] as string,
            "--rpc",
            node.url,
            "--labels",
            "-",
            "--labels",
            "-",
            "--db",
            never,
          ],
          2,
        ],
        [
          [
            "risk",
            who["C1"] as string,
            "--rpc",
            node.url,
            "--publish",
            "--case",
            `0x${"11".repeat(32)}`,
            "--deployment",
            file,
            "--keystore",
            "-",
            "--yes",
            "--db",
            never,
          ],
          2,
        ],
        [
          [
            "risk",
            who["C1"] as string,
            "--rpc",
            node.url,
            "--token",
            who["W"] as string,
            "--db",
            never,
          ],
          1,
        ],
      ];
      for (const [args, code] of cases) {
        const r = await runVeritrace(args);
        expect(r.code, `${args.join(" ")}: ${r.stderr}`).to.equal(code);
        expect(r.stderr.trim().split("\n"), args.join(" ")).to.have.length(1);
      }
      expect(existsSync(path.join(tmp, "x.json"))).to.equal(false);
    });
  });

  describe("POST /risk/screen", function () {
    let store: Store;
    let server: Server;
    let base: string;
    const post = (body: unknown, token: string | null = TOKEN_API) =>
      fetch(`${base}/risk/screen`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          ...(token === null ? {} : { authorization: `Bearer ${token}` }),
        },
        body: typeof body === "string" ? body : JSON.stringify(body),
      });

    before(async function () {
      store = await Store.open(await openMemoryDatabase());
      await importTagPacks(store.db, PACKS);
      server = createApiServer(store, {
        tokens: [TOKEN_API],
        rpcUrl: node.url,
        maxBodyBytes: 8192,
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    after(async function () {
      await new Promise<void>((resolve) => server?.close(() => resolve()));
      await store?.close();
    });

    it("answers what veritrace screen --json prints for the same addresses", async function () {
      const addresses = [who["C1"] as string, "0x1234", who["C3"] as string];
      const res = await post({ addresses, token: tokenAddress });
      expect(res.status).to.equal(200);
      const answer = (await res.json()) as Record<string, unknown>;
      const file = path.join(tmp, "same.txt");
      writeFileSync(file, addresses.join("\n"));
      const printed = lastJson(await screen(file, ["--json"]));
      expect(answer).to.deep.equal(printed);
      expect(openApiDocument.paths["/risk/screen"]?.post?.operationId).to.equal("screenAddresses");
    });

    it("requires a token, and answers 400 for bad bodies, 413 beyond the body limit", async function () {
      expect((await post({ addresses: [who["C1"]] }, null)).status).to.equal(401);
      expect(
        (await post({ addresses: [who["C1"]] }, "wrong-token-0123456789abcdef")).status,
      ).to.equal(401);
      const bad: [unknown, RegExp][] = [
        [[], /body/],
        [{}, /addresses/],
        [{ addresses: [] }, /addresses/],
        [{ addresses: [1] }, /addresses/],
        [{ addresses: [who["C1"]], hops: 0 }, /hops/],
        [{ addresses: [who["C1"]], hops: 11 }, /hops/],
        [{ addresses: [who["C1"]], token: "usd" }, /token/],
        [{ addresses: [who["C1"]], paths: 21 }, /paths/],
        [{ addresses: [who["C1"]], config: { saturation: 0 } }, /saturation/],
        [{ addresses: [who["C1"]], extra: 1 }, /unknown field/],
        [{ addresses: [who["C1"]], toBlock: 10 ** 9 }, /beyond the node's head/],
        [{ addresses: Array.from({ length: 1001 }, () => "0x") }, /at most 1000/],
      ];
      for (const [body, message] of bad) {
        const res = await post(body);
        const text = JSON.stringify(body).slice(0, 80);
        expect(res.status, text).to.equal(400);
        const e = (await res.json()) as { code: string; detail: string };
        expect(e.code, text).to.equal("bad_request");
        expect(e.detail, text).to.match(message);
      }
      const big = await post({ addresses: Array.from({ length: 300 }, () => who["C1"]) });
      expect(big.status).to.equal(413);
    });

    it("answers 503 without a node", async function () {
      const bare = createApiServer(store, { tokens: [TOKEN_API] });
      await new Promise<void>((resolve) => bare.listen(0, "127.0.0.1", resolve));
      const res = await fetch(
        `http://127.0.0.1:${(bare.address() as AddressInfo).port}/risk/screen`,
        {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN_API}` },
          body: JSON.stringify({ addresses: [who["C1"]] }),
        },
      );
      expect(res.status).to.equal(503);
      await new Promise<void>((resolve) => bare.close(() => resolve()));
    });
  });

  describe("on a PostgreSQL server", function () {
    let server: { url: string; drop(): Promise<void> };
    const screenJson = async (file: string, where: string) =>
      lastJson(await screen(file, ["--json"], where));
    async function streamState(): Promise<{ head: number; transfers: number }> {
      const pool = new pg.Client({ connectionString: server.url });
      await pool.connect();
      try {
        const head = await pool.query<{ n: string }>(
          "SELECT block_number AS n FROM streams WHERE token = $1",
          [tokenAddress],
        );
        const rows = await pool.query<{ n: string }>("SELECT count(*) AS n FROM transfers");
        return { head: Number(head.rows[0]?.n), transfers: Number(rows.rows[0]?.n) };
      } finally {
        await pool.end();
      }
    }

    before(async function () {
      server = await createPostgresDatabase("veritrace_risk");
      const imported = await runVeritrace(["labels", "import", ...PACKS, "--db", server.url]);
      expect(imported.code, imported.stderr).to.equal(0);
    });
    after(async function () {
      await server?.drop();
    });

    it("screens to the same JSON as PGlite; a second screen reads only the new blocks", async function () {
      const file = path.join(tmp, "postgres.txt");
      const names = ["C1", "C2", "C3", "C4", "C5", "QUIET"];
      writeFileSync(
        file,
        [...names.map((n) => who[n] as string), "0x1234", OFAC_BTC, RONIN_OFAC].join("\n"),
      );
      const onServer = await screenJson(file, server.url);
      expect(onServer).to.deep.equal(await screenJson(file, db));
      const verdicts = (onServer["results"] as Report[]).map((r) => r.verdict ?? r.error);
      expect(verdicts.slice(0, 6)).to.deep.equal([
        "high",
        "high",
        "severe",
        "low",
        "severe",
        "low",
      ]);
      expect(verdicts[6]).to.match(/^malformed address/);
      expect(verdicts[7]).to.match(/^not an EVM address/);
      const first = await streamState();
      expect(first.head).to.equal(await node.head());

      // A later deposit from the phishing address: only its block is read.
      const late = fresh();
      const scammer = await node.connection.ethers.getImpersonatedSigner(SCAM);
      await (await token.connect(scammer).transfer(late, 25n)).wait();
      writeFileSync(file, `${late}\n${who["C1"]}\n`);
      const again = await screenJson(file, server.url);
      expect(again).to.deep.equal(await screenJson(file, db));
      const [lateReport, c1] = again["results"] as Report[];
      expect([
        lateReport?.score,
        lateReport?.verdict,
        lateReport?.exposures[0]?.direct,
      ]).to.deep.equal([70, "high", "25"]);
      expect(c1?.score).to.equal(50);
      const second = await streamState();
      expect(second).to.deep.equal({ head: first.head + 1, transfers: first.transfers + 1 });
    });

    it("risk ADDRESS answers the same on the server as on PGlite", async function () {
      const onServer = lastJson(
        await runVeritrace([
          "risk",
          who["C1"] as string,
          "--rpc",
          node.url,
          "--token",
          tokenAddress,
          "--db",
          server.url,
          "--json",
        ]),
      );
      expect(onServer).to.deep.equal(lastJson(await risk(who["C1"] as string, "--json")));
      expect([onServer["score"], onServer["verdict"]]).to.deep.equal([50, "high"]);
    });
  });

  describe("the alert hook", function () {
    let keystore: string;
    let deployment: string;
    let caseNumberCommitment: string;

    before(async function () {
      const police = (await node.cast.police.signer.getAddress()).toLowerCase();
      const phrase = "test test test test test test test test test test test junk";
      let key: string | null = null;
      for (let i = 0; i < 10 && key === null; i++) {
        const w = HDNodeWallet.fromPhrase(phrase, undefined, `m/44'/60'/0'/0/${i}`);
        if (w.address.toLowerCase() === police) key = w.privateKey;
      }
      if (key === null) throw new Error("the police key is not a default account");
      keystore = path.join(tmp, "police.json");
      writeFileSync(
        keystore,
        encryptKeystoreJsonSync({ address: police, privateKey: key }, PASSWORD, {
          scrypt: { N: 1024 },
        }),
      );
      deployment = path.join(tmp, "deployment.json");
      writeDeployment(deployment, node.record);
      const investigator = new Investigator(node.contracts, node.cast.police.signer);
      const opened = await investigator.openCase({
        caseNumber: "RISK-1",
        caseKey: generateCaseKey(),
        legalBasis: "screening alert RISK-1",
        scope: [DataKind.BankTransactions],
        expiresAt: Number(await investigator.now()) + 30 * 86_400,
      });
      await new Supervisor(node.contracts, node.cast.prosecutor.signer).approveCase(opened.caseId);
      caseNumberCommitment = opened.caseNumberCommitment;
    });

    const ENV = { VERITRACE_KEYSTORE_PASSWORD: PASSWORD };
    const publishArgs = (address: string, ...extra: string[]) => [
      "risk",
      address,
      "--rpc",
      node.url,
      "--token",
      tokenAddress,
      "--db",
      db,
      "--publish",
      "--case",
      caseNumberCommitment,
      "--deployment",
      deployment,
      "--keystore",
      keystore,
      ...extra,
    ];
    const publish = (address: string, extra: string[], env: NodeJS.ProcessEnv = ENV) =>
      runVeritrace(publishArgs(address, ...extra), env);

    /** The consortium labels on `address`, read from a fresh index of the chain. */
    async function chainLabels(address: string): Promise<(string | null)[][]> {
      const store = await Store.open(await openMemoryDatabase());
      try {
        await new Indexer(store, new RpcClient(node.url), node.record, {
          finalityDepth: 0,
        }).syncOnce();
        const labels = (await chainLabelsFor(store.db, [address], 31337)).get(address) ?? [];
        return labels.map((l) => [l.category, l.confidence, l.source]);
      } finally {
        await store.close();
      }
    }

    it("publishes a severe verdict as a consortium label, case-bound, with --yes", async function () {
      const C3 = who["C3"] as string;
      // The case named by its opener explicitly (the terminal test below takes the default).
      const opener = String(node.cast.police.id);
      const r = lastJson(await publish(C3, ["--json", "--yes", "--case-opener", opener]));
      const published = r["published"] as { labelId: string; category: string };
      expect(published.category).to.equal("hack");
      expect(await chainLabels(C3)).to.deep.equal([["hack", "90", "case 1"]]);
      const store = await Store.open(await openMemoryDatabase());
      try {
        expect((await labelsFor(store.db, [C3])).size).to.equal(0);
      } finally {
        await store.close();
      }
    });

    it("on a terminal, asks first: no publishes nothing, yes publishes", async function () {
      const C1 = who["C1"] as string;
      const question = new RegExp(
        `publish label "sanctioned" \\(confidence 50\\) on ${C1} under case ${caseNumberCommitment}\\? \\[y/N\\] $`,
      );
      const declined = await runVeritraceOnTerminal(publishArgs(C1), ENV, question, "n");
      expect(declined.prompted, declined.output).to.equal(true);
      expect(declined.code, declined.output).to.equal(1);
      expect(declined.output).to.match(/score 50\/100, HIGH/);
      expect(declined.output.trim().split("\n").at(-1)).to.equal(
        "veritrace risk: not published: not confirmed",
      );
      expect(await chainLabels(C1)).to.deep.equal([]);
      const empty = await runVeritraceOnTerminal(publishArgs(C1), ENV, question, "");
      expect([empty.prompted, empty.code], empty.output).to.deep.equal([true, 1]);
      expect(await chainLabels(C1)).to.deep.equal([]);

      const accepted = await runVeritraceOnTerminal(publishArgs(C1), ENV, question, "yes");
      expect(accepted.prompted, accepted.output).to.equal(true);
      expect(accepted.code, accepted.output).to.equal(0);
      expect(accepted.output).to.match(
        /\npublished consortium label \d+: sanctioned, confidence 50\n/,
      );
      expect(await chainLabels(C1)).to.deep.equal([["sanctioned", "50", "case 1"]]);
    });

    it("refuses a low verdict, a missing password or confirmation, and a wrong password", async function () {
      const C3 = who["C3"] as string;
      const low = await publish(who["C4"] as string, ["--yes"]);
      expect(low.code).to.equal(1);
      expect(low.stderr).to.match(/scores 0 \(low\): only high or severe verdicts are published/);
      const noPassword = await publish(C3, ["--yes"], {});
      expect([noPassword.code, noPassword.stderr.trim()]).to.deep.equal([
        2,
        "veritrace risk: --keystore needs its password: --password-file FILE, VERITRACE_KEYSTORE_PASSWORD, or a terminal to type it on",
      ]);
      // A password file others may read is refused before any work; a private one is read.
      const shared = path.join(tmp, "password-shared");
      writeFileSync(shared, `${PASSWORD}\n`, { mode: 0o644 });
      chmodSync(shared, 0o644);
      const open = await publish(C3, ["--yes", "--password-file", shared], {});
      expect(open.code).to.equal(1);
      expect(open.stderr.trim().split("\n")).to.deep.equal([
        `veritrace risk: ${shared}: other users may read this password file (mode 644): chmod 600 it`,
      ]);
      const wrongFile = path.join(tmp, "password-wrong");
      writeFileSync(wrongFile, "not it\n", { mode: 0o600 });
      const wrongFromFile = await publish(C3, ["--yes", "--password-file", wrongFile], {});
      expect(wrongFromFile.code).to.equal(1);
      expect(wrongFromFile.stderr).to.match(/wrong password/);
      const badOpener = await publish(C3, ["--yes", "--case-opener", "0"]);
      expect([badOpener.code, badOpener.stderr.trim()]).to.deep.equal([
        2,
        'veritrace risk: --case-opener must be an integer ≥ 1, got "0"',
      ]);
      const unconfirmed = await publish(C3, []);
      expect(unconfirmed.code).to.equal(2);
      expect(unconfirmed.stderr).to.match(/--yes when stdin is not a terminal/);
      const wrong = await publish(C3, ["--yes"], { VERITRACE_KEYSTORE_PASSWORD: "wrong" });
      expect(wrong.code).to.equal(1);
      expect(wrong.stderr.trim().split("\n")).to.have.length(1);
      expect(wrong.stderr).to.match(/wrong password/);
    });

    it("publishes through a ledger node that wants the credentials of --rpc-header; without them, one line naming it redacted, nothing published", async function () {
      const C2 = who["C2"] as string;
      const token = hexlify(randomBytes(16));
      const apiKey = "abcdef0123456789abcdef01";
      const guarded = await startRpcProxy(node.url, {
        accept: (h) => h.authorization === `Bearer ${token}`,
      });
      const ledger = ["--yes", "--json", "--ledger-rpc", `${guarded.url}/v3/${apiKey}`];
      try {
        const refused = await publish(C2, ledger, { ...ENV, VERITRACE_RPC_HEADERS: "" });
        expect(refused.code, refused.stderr).to.equal(1);
        expect(refused.stderr.trim().split("\n")).to.deep.equal([
          `veritrace risk: HTTP 401 from ${guarded.url}/v3/***: the node refused the request's credentials (give them in the URL, with --rpc-header, or in VERITRACE_RPC_HEADERS)`,
        ]);
        expect(guarded.counters.unauthorized).to.be.greaterThan(0);
        expect(await chainLabels(C2)).to.deep.equal([]);

        const r = await publish(C2, [...ledger, "--rpc-header", `Authorization: Bearer ${token}`]);
        expect(r.code, r.stderr).to.equal(0);
        expect(r.stdout + r.stderr).to.not.include(token);
        expect((lastJson(r)["published"] as { category: string }).category).to.equal("phishing");
        expect(await chainLabels(C2)).to.deep.equal([["phishing", "70", "case 1"]]);
      } finally {
        await guarded.stop();
      }
    });
  });
});
