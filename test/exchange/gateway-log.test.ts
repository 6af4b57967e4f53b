/**
 * The gateway's access log without a chain: its lines read back as any access log's (and refused
 * when they are not a gateway's events), and the server's rule that an answer that cannot be
 * logged is not given, against a gateway whose ledger checks are stubbed.
 */
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { expect } from "chai";
import { Wallet } from "ethers";
import { createGatewayServer } from "../../src/exchange/gateway-server.js";
import type { Gateway } from "../../src/exchange/gateway.js";
import {
  gatewayDomain,
  offersPath,
  recoverRequestSigner,
  signedRequestHeaders,
  type GatewayRequest,
  type Offer,
} from "../../src/exchange/protocol.js";
import { parseAccessLog, type GatewayRecord } from "../../src/ledger/access-log.js";
import { TracerError } from "../../src/shared/errors.js";

const LEDGER = "0x00000000000000000000000000000000000000aa";
const domain = gatewayDomain(31337n, LEDGER);

/** A gateway that lets every signer through as institution 4, with one offer per request. */
const stubGateway = {
  domain,
  participantId: 6,
  authorize: () => Promise.resolve({ participant: 4, caseId: 1n }),
  // ECDSA alone (no node): what the gateway does for a key without code.
  verifyRequestSignature: (signer: string, request: GatewayRequest, signature: string) => {
    const recovered = recoverRequestSigner(domain, request, signature);
    return Promise.resolve(
      recovered?.toLowerCase() === signer.toLowerCase()
        ? { ok: true, kind: "eoa" }
        : { ok: false, reason: "not the signer's" },
    );
  },
  offers: () => Promise.resolve([{ sequence: 0 } as Offer]),
  envelopeFile: () => "/nonexistent/0.age",
} as unknown as Gateway;

async function serve(
  write: (r: GatewayRecord) => void,
): Promise<{ server: Server; url: string; stdout: Record<string, unknown>[] }> {
  const stdout: Record<string, unknown>[] = [];
  const server = createGatewayServer({
    gateway: stubGateway,
    log: (e) => stdout.push(e),
    accessLog: { write },
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://127.0.0.1:${port}`, stdout };
}

async function get(url: string, p: string, headers: Record<string, string> = {}) {
  const res = await fetch(new URL(p, url), { headers });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const line = (seq: number, fields: Record<string, unknown>) =>
  JSON.stringify({ seq, time: "2026-12-08T00:00:00.000Z", ...fields });
const PURGE = {
  event: "purge",
  requestId: "12",
  sequence: 0,
  reason: "grant-revoked",
  ciphertextHash: `0x${"11".repeat(32)}`,
};

describe("the gateway's access log", function () {
  describe("reading it back", function () {
    it("reads a gateway's events as an access log, numbered on", function () {
      const text = `${line(0, PURGE)}\n${line(1, {
        event: "refusal",
        client: "127.0.0.1",
        target: "/x",
        status: 401,
        code: "unsigned",
        detail: "no signature",
        ms: 1,
        signer: null,
      })}\n`;
      const { lines } = parseAccessLog(text, "log");
      expect(lines.map((l) => [l.entry.seq, "event" in l.entry && l.entry.event])).to.deep.equal([
        [0, "purge"],
        [1, "refusal"],
      ]);
    });

    for (const [what, text, message] of [
      ["an unknown event", line(0, { ...PURGE, event: "delete" }), /event is not one of offer/],
      ["a purge without its reason", line(0, { ...PURGE, reason: undefined }), /no reason/],
      [
        "an API field on a gateway line",
        line(0, { ...PURGE, token: "alice" }),
        /unknown field "token"/,
      ],
      ["a gap", `${line(0, PURGE)}\n${line(2, PURGE)}`, /entry 2 after entry 0/],
    ] as const) {
      it(`refuses ${what}`, function () {
        expect(() => parseAccessLog(`${text}\n`, "log")).to.throw(TracerError, message);
      });
    }
  });

  describe("the server logs before it answers", function () {
    let server: Server | undefined;
    afterEach(function () {
      server?.close();
      server = undefined;
    });

    it("writes a refusal with its code and detail, and a listing with its signer and institution", async function () {
      const written: GatewayRecord[] = [];
      const s = await serve((r) => written.push(r));
      server = s.server;
      const unsigned = await get(s.url, offersPath(12n));
      expect(unsigned.status).to.equal(401);
      const key = Wallet.createRandom();
      const p = offersPath(12n);
      const listed = await get(
        s.url,
        p,
        await signedRequestHeaders(key, domain, { method: "GET", path: p, requestId: 12n }),
      );
      expect(listed.status).to.equal(200);
      expect(written).to.have.length(2);
      expect(written[0]).to.include({
        event: "refusal",
        status: 401,
        code: "unsigned",
        signer: null,
        requestId: "12",
        target: p,
      });
      expect(written[0]?.detail).to.match(
        /^the request is not signed: no veritrace-signer header$/i,
      );
      expect(written[1]).to.include({
        event: "list",
        status: 200,
        signer: key.address,
        institution: 4,
        offers: 1,
      });
    });

    it("withholds an answer it can't log: 503 access_log, and nothing of the answer", async function () {
      const s = await serve(() => {
        throw new Error("ENOSPC: no space left on device");
      });
      server = s.server;
      const key = Wallet.createRandom();
      const p = offersPath(12n);
      const listed = await get(
        s.url,
        p,
        await signedRequestHeaders(key, domain, { method: "GET", path: p, requestId: 12n }),
      );
      expect(listed.status).to.equal(503);
      expect(listed.body).to.include({ code: "access_log" });
      expect(listed.body).to.not.have.property("offers");
      const refused = await get(s.url, offersPath(12n));
      expect(refused.status).to.equal(503);
      expect(refused.body).to.include({ code: "access_log" });
      expect(s.stdout.filter((l) => l["code"] === "access_log")).to.have.length(2);
    });
  });
});
