import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { writeDeployment, type DeploymentRecord } from "../../src/client/index.js";
import {
  RPC_HEADERS_ENV,
  RpcClient,
  RpcUnavailableError,
  parseRpcHeaders,
  redactUrl,
} from "../../src/chain/rpc.js";
import { TracerError } from "../../src/shared/errors.js";
import { failure, runVeritrace } from "../helpers/tracer.js";

const PASSWORD = "p@ss:w0rd/secret";
const TOKEN = "s3cr3t-bearer-token";
const API_KEY = "abcdef0123456789abcdef01";

/** A JSON-RPC node on chain 1 that answers only requests carrying `accepted` credentials. */
async function startGuardedNode(
  accepted: (headers: IncomingHttpHeaders) => boolean,
): Promise<{ url: string; requests: IncomingHttpHeaders[]; stop(): Promise<void> }> {
  const requests: IncomingHttpHeaders[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      requests.push(req.headers);
      if (!accepted(req.headers)) {
        res.writeHead(401, { "content-type": "application/json" });
        res.end(
          JSON.stringify({ jsonrpc: "2.0", error: { code: -40100, message: "Unauthorized" } }),
        );
        return;
      }
      const call = JSON.parse(Buffer.concat(chunks).toString()) as { id: number; method: string };
      const result = call.method === "eth_chainId" ? "0x1" : "0x10";
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ jsonrpc: "2.0", id: call.id, result }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

describe("RpcClient credentials", function () {
  describe("basic authentication in the URL", function () {
    let node: Awaited<ReturnType<typeof startGuardedNode>>;
    before(async function () {
      node = await startGuardedNode((h) => h.authorization === basic("reader", PASSWORD));
    });
    after(async function () {
      await node.stop();
    });

    it("sends the URL's user and password as HTTP basic authentication", async function () {
      const url = node.url.replace("http://", `http://reader:${encodeURIComponent(PASSWORD)}@`);
      const rpc = new RpcClient(url, { baseDelayMs: 1 });
      expect(await rpc.firstCall("eth_chainId")).to.equal("0x1");
      expect(rpc.url).to.equal(node.url);
    });

    it("fails at once on refused credentials, without retrying and without printing them", async function () {
      const url = node.url.replace("http://", "http://reader:wrong-password@");
      const before = node.requests.length;
      const rpc = new RpcClient(url, { baseDelayMs: 1, maxRetries: 8 });
      const error = await failure(rpc.call("eth_blockNumber"));
      expect(error).to.be.instanceOf(RpcUnavailableError);
      expect(error.message)
        .to.match(/HTTP 401/)
        .and.include("credentials");
      expect(error.message).to.not.include("wrong-password");
      expect(node.requests.length - before).to.equal(1);
    });
  });

  describe("headers", function () {
    let node: Awaited<ReturnType<typeof startGuardedNode>>;
    let dir: string;
    let record: string;
    before(async function () {
      node = await startGuardedNode((h) => h.authorization === `Bearer ${TOKEN}`);
      dir = mkdtempSync(path.join(tmpdir(), "veritrace-rpc-auth-"));
      record = path.join(dir, "deployment.json");
      const deployment: DeploymentRecord = {
        version: 1,
        chainId: 31337,
        startBlock: 1,
        contracts: {
          ParticipantRegistry: `0x${"11".repeat(20)}`,
          CaseRegistry: `0x${"12".repeat(20)}`,
          AccessLedger: `0x${"13".repeat(20)}`,
          AccessLogAnchor: `0x${"14".repeat(20)}`,
          LabelRegistry: `0x${"15".repeat(20)}`,
          FreezeRegistry: `0x${"16".repeat(20)}`,
          MatchingLedger: `0x${"17".repeat(20)}`,
          EncryptionKeyRegistry: `0x${"18".repeat(20)}`,
          ExchangeLedger: `0x${"19".repeat(20)}`,
        },
      };
      writeDeployment(record, deployment);
    });
    after(async function () {
      await node.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    it("sends the headers it is given with every request", async function () {
      const rpc = new RpcClient(node.url, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(await rpc.call("eth_blockNumber")).to.equal("0x10");
    });

    /** `veritrace index` against the guarded node, keyed URL; the store must stay untouched. */
    async function index(extra: string[], env: NodeJS.ProcessEnv = {}) {
      const db = path.join(dir, "db");
      const result = await runVeritrace(
        [
          "index",
          "--rpc",
          `${node.url}/v3/${API_KEY}`,
          "--deployment",
          record,
          "--db",
          db,
          ...extra,
        ],
        env,
      );
      const output = result.stdout + result.stderr;
      expect(output).to.not.include(TOKEN);
      expect(output).to.not.include(API_KEY);
      expect(existsSync(db), "a store was created").to.equal(false);
      return result;
    }

    it("veritrace takes --rpc-header and never prints the secret or the URL's key", async function () {
      // Past the credentials, the node serves chain 1: the deployment's check refuses it.
      const result = await index(["--rpc-header", `Authorization: Bearer ${TOKEN}`]);
      expect(result.code).to.equal(1);
      expect(result.stderr).to.match(/serves chain 1, the deployment record says chain 31337/);
      expect(result.stderr).to.include(`${node.url}/v3/***`);
    });

    it(`veritrace takes the headers from ${RPC_HEADERS_ENV}`, async function () {
      const result = await index([], {
        [RPC_HEADERS_ENV]: `X-Unused: 1\nAuthorization: Bearer ${TOKEN}`,
      });
      expect(result.code).to.equal(1);
      expect(result.stderr).to.match(/serves chain 1/);
    });

    it("veritrace without credentials fails at once with one line naming HTTP 401", async function () {
      const before = node.requests.length;
      const result = await index([], { [RPC_HEADERS_ENV]: "" });
      expect(result.code).to.equal(1);
      expect(result.stderr.trim().split("\n")).to.have.length(1);
      expect(result.stderr).to.match(/HTTP 401 .*credentials/);
      expect(node.requests.length - before).to.equal(1);
    });

    it("veritrace refuses a header without a name or a printable value, without echoing it", async function () {
      for (const bad of ["no colon here", ": value", `Authorization: Bearer ${TOKEN}é`]) {
        const result = await index(["--rpc-header", bad]);
        expect(result.code, bad).to.equal(1);
        expect(result.stderr.trim().split("\n")).to.have.length(1);
        expect(result.stderr).to.match(/RPC header/);
      }
      expect(() => parseRpcHeaders(["Authorization: Bearer x\u0000y"])).to.throw(TracerError);
    });
  });

  describe("redactUrl", function () {
    it("drops the user, the password and the query, and hides key-like path segments", function () {
      expect(redactUrl(`https://u:p@mainnet.infura.io/v3/${API_KEY}`)).to.equal(
        "https://mainnet.infura.io/v3/***",
      );
      expect(redactUrl(`https://eth.example/rpc?apikey=${API_KEY}`)).to.equal(
        "https://eth.example/rpc?***",
      );
      expect(redactUrl("http://127.0.0.1:8545")).to.equal("http://127.0.0.1:8545");
      expect(redactUrl("not a url")).to.equal("(an invalid URL)");
    });
  });
});
