/**
 * The demo's deliveries, carried by the data exchange (docs/exchange.md): each granted provider
 * runs its gateway as `veritrace exchange serve` does (Gateway + createGatewayServer, in this
 * process, plain HTTP on loopback), with scripts/demo-export.mjs as its handler (a real process
 * per grant, as a bank's system would be); the police fetch each delivery as `veritrace exchange
 * fetch` does (fetchDelivery): download, verify, co-sign on the ledger, write the CSV file. An
 * institution of the same case that is not the requester is refused by the gateway.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Signer } from "ethers";
import { DATA_KIND_NAMES, type ConsortiumContracts } from "../../src/client/index.js";
import { fetchDelivery } from "../../src/exchange/fetch.js";
import { createGatewayServer } from "../../src/exchange/gateway-server.js";
import { Gateway } from "../../src/exchange/gateway.js";
import { gatewayDomain, offersPath, signedRequestHeaders } from "../../src/exchange/protocol.js";

const HANDLER = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "demo-export.mjs");
const say = (text = "") => console.log(text);
const short = (hex: string) => `${hex.slice(0, 10)}…${hex.slice(-4)}`;

interface Party {
  name: string;
  signer: Signer;
  id: number;
}

/** One delivery as the police log it for their anchored access log. */
export interface DeliveredEntry {
  caseId: bigint;
  requestId: bigint;
  deliveryId: bigint;
  payloadHash: string;
  records: bigint;
  [key: string]: unknown;
}

export async function deliverThroughGateways(o: {
  contracts: ConsortiumContracts;
  chainId: bigint;
  startBlock: number;
  caseId: bigint;
  granted: readonly { requestId: bigint; to: Party; kind: number }[];
  police: Party;
  policeIdentity: string;
  /** Another institution of the case, which tries to read a delivery it did not ask for. */
  bystander: Party;
}): Promise<DeliveredEntry[]> {
  const work = mkdtempSync(path.join(tmpdir(), "veritrace-demo-exchange-"));
  const servers: ReturnType<typeof createGatewayServer>[] = [];
  const gateways: Gateway[] = [];
  const urls = new Map<number, string>();
  const quiet = () => {};
  try {
    // One gateway per provider, each with its own folder of offers.
    for (const provider of new Map(o.granted.map((g) => [g.to.id, g.to])).values()) {
      const gateway = await Gateway.open({
        contracts: o.contracts,
        signer: provider.signer,
        participantId: provider.id,
        chainId: o.chainId,
        dir: path.join(work, `gateway-${provider.id}`),
        handler: `"${process.execPath}" "${HANDLER}"`,
        handlerTimeoutMs: 60_000,
        offerTtl: 7 * 86_400,
        startBlock: o.startBlock,
        log: quiet,
      });
      const server = createGatewayServer({ gateway, log: quiet });
      servers.push(server);
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      urls.set(provider.id, url);
      // A look at the ledger starts the offers (handlers run concurrently); wait for them.
      const started = await gateway.poll();
      await gateway.idle();
      gateways.push(gateway);
      say(
        `   ${provider.name}: gateway at ${url}, ${started} grant(s) exported by its handler and sealed`,
      );
    }

    const out = path.join(work, "police-inbox");
    const delivered: DeliveredEntry[] = [];
    for (const g of o.granted) {
      const gateway = urls.get(g.to.id) as string;
      const fetched = await fetchDelivery({
        contracts: o.contracts,
        signer: o.police.signer,
        chainId: o.chainId,
        gateway,
        requestId: g.requestId,
        identities: [o.policeIdentity],
        outDir: out,
      });
      const csv = readFileSync(fetched.file, "utf8");
      delivered.push({
        caseId: o.caseId,
        requestId: g.requestId,
        deliveryId: fetched.deliveryId,
        payloadHash: fetched.opened.commitment,
        records: fetched.recordCount,
      });
      say(
        `   delivery ${fetched.deliveryId}: ${DATA_KIND_NAMES[g.kind]} from ${g.to.name}, ${fetched.recordCount} records ` +
          `(${fetched.opened.plaintextBytes} bytes of CSV, ${fetched.opened.ciphertextBytes} encrypted), ` +
          `commitment ${short(fetched.opened.commitment)}, ciphertext ${short(fetched.opened.ciphertextHash)}: ` +
          `verified, acknowledged on chain, written as ${path.basename(fetched.file)}`,
      );
      if (g === o.granted[0])
        say(`     its first lines: ${csv.split("\n").slice(0, 2).join(" | ")}`);
    }

    // Another institution of the same case asks a gateway for the police's delivery.
    const first = o.granted[0];
    if (first !== undefined) {
      const url = new URL(offersPath(first.requestId), urls.get(first.to.id));
      const accessLedger = await o.contracts.access.getAddress();
      const headers = await signedRequestHeaders(
        o.bystander.signer,
        gatewayDomain(o.chainId, accessLedger),
        { method: "GET", path: url.pathname, requestId: first.requestId },
      );
      const answer = await fetch(url, { headers });
      const problem = (await answer.json()) as { detail?: string };
      if (answer.status !== 403)
        throw new Error(`${o.bystander.name} was answered ${answer.status}: the gateway is broken`);
      say(`   ${o.bystander.name} asks for it too: refused (403), ${problem.detail ?? ""}`);
    }
    return delivered;
  } finally {
    await Promise.all(gateways.map((g) => g.stop()));
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    rmSync(work, { recursive: true, force: true });
  }
}
