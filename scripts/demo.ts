/**
 * The end-to-end demo: a local chain, the consortium deployed with Ignition, seven institutions
 * onboarded by council votes, and one investigation from opening to closure, told as it happens,
 * with a private set intersection between the police and the telecom operator on the way.
 *
 *   npm run demo            (starts and stops its own `hardhat node`)
 */
import { randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import { network } from "hardhat";
import type { Signer } from "ethers";
import {
  Auditor,
  ContractRevertError,
  CouncilMember,
  DATA_KIND_NAMES,
  DataKind,
  Investigator,
  Provider,
  Supervisor,
  ageRecipient,
  connectConsortium,
  generateCaseKey,
  generateEncryptionIdentity,
  registerEncryptionKey,
  MATCH_FAILURE_NAMES,
  MATCH_MODES,
  hashDocument,
  newSessionTag,
  proofOf,
  type CustodyEntry,
} from "../src/client/index.js";
import {
  IdentifierSet,
  ProviderLedger,
  connectMatchLedger,
  createMatchServer,
  engineFor,
  runOnlineSession,
  type PsiMode,
} from "../src/matching/index.js";
import { deployConsortium } from "./lib/deploy.js";
import { deliverThroughGateways } from "./lib/demo-gateways.js";
import { startLocalChain } from "./lib/local-chain.js";
import { phoneSets } from "./lib/phones.js";

const DAY = 86_400;
const say = (text = "") => console.log(text);
const step = (n: number, title: string) => say(`\n${n}. ${title}`);
const short = (hex: string) => `${hex.slice(0, 10)}…${hex.slice(-4)}`;

interface Institution {
  name: string;
  kind: string;
  signer: Signer;
  address: string;
  id: number;
}

async function main(): Promise<void> {
  say("Veritrace demo: one investigation on a consortium ledger");
  const chain = await startLocalChain("hardhat");
  try {
    await run(chain.url);
  } finally {
    await chain.stop();
    say(`\nLocal chain stopped.`);
  }
}

async function run(url: string): Promise<void> {
  const connection = await network.create({ network: "localhost", override: { url } });
  const signers = await connection.ethers.getSigners();
  const at = (i: number): Signer => {
    const s = signers[i];
    if (s === undefined) throw new Error(`the node has no account ${i}`);
    return s;
  };
  say(
    `Local chain (Hardhat EDR) at ${url}, chain id ${(await connection.ethers.provider.getNetwork()).chainId}`,
  );

  // ------------------------------------------------------------------ deployment
  step(1, "The consortium operator deploys the contracts with Ignition");
  const founderNames = [
    "Consortium secretariat",
    "Data protection authority",
    "National audit office",
  ];
  const founders = await Promise.all(
    founderNames.map(async (name, i) => ({
      kind: "AUDITOR",
      metadataCommitment: hashDocument(`registration record of ${name}`),
      signingKey: await at(i).getAddress(),
    })),
  );
  const record = await deployConsortium(connection, founders, 2, {
    deploymentId: `demo-${Date.now()}`,
    ephemeral: true,
  });
  for (const [name, address] of Object.entries(record.contracts))
    say(`   ${name.padEnd(21)} ${address}`);
  say(`   council: ${founderNames.join(", ")} (quorum 2 of 3); start block ${record.startBlock}`);

  const contracts = connectConsortium(record, connection.ethers.provider);
  const council = [0, 1, 2].map((i) => new CouncilMember(contracts, at(i)));
  const [secretariat, dpa] = council as [CouncilMember, CouncilMember, CouncilMember];

  // ------------------------------------------------------------------ onboarding
  step(2, "The council onboards seven institutions (proposal, second approval, execution)");
  const wanted: [string, string][] = [
    ["Metropolitan police bureau", "POLICE"],
    ["District prosecutor's office", "PROSECUTOR"],
    ["First Federal Bank", "BANK"],
    ["Harbour Savings Bank", "BANK"],
    ["Northwind Telecom", "TELECOM"],
    ["City Water Utility", "UTILITY"],
    ["Grid Electricity Co.", "UTILITY"],
  ];
  const inst: Institution[] = [];
  for (const [i, [name, kind]] of wanted.entries()) {
    const signer = at(3 + i);
    const address = await signer.getAddress();
    const proposalId = await secretariat.proposeAdmit({
      kind,
      metadataCommitment: hashDocument(`registration record of ${name}`),
      signingKey: address,
    });
    await dpa.approve(proposalId);
    const id = await dpa.executeAdmission(proposalId);
    inst.push({ name, kind, signer, address, id });
    say(
      `   #${id} ${name.padEnd(30)} ${kind.padEnd(10)} key ${address}  (proposal ${proposalId}, 2/2 approvals)`,
    );
  }
  // Each institution holds its own X25519 private key and registers the public half with its own
  // signing key: the council votes on who signs, never on what an institution can read.
  say("   each registers its X25519 encryption key (deliveries to it are encrypted to that key):");
  const identities = new Map<number, string>();
  for (const i of inst) {
    const { identity, publicKey } = await generateEncryptionIdentity();
    identities.set(i.id, identity);
    const { keyId } = await registerEncryptionKey(contracts, i.signer, publicKey);
    say(`   #${i.id} ${i.name.padEnd(30)} key ${keyId}  ${ageRecipient(publicKey)}`);
  }
  const [police, prosecutor, bankA, bankB, telecom, water, power] = inst as [
    Institution,
    Institution,
    Institution,
    Institution,
    Institution,
    Institution,
    Institution,
  ];
  const identityOf = (i: Institution): string => {
    const identity = identities.get(i.id);
    if (identity === undefined) throw new Error(`${i.name} has no encryption identity`);
    return identity;
  };
  const investigator = new Investigator(contracts, police.signer);
  const supervisor = new Supervisor(contracts, prosecutor.signer);
  const provider = (i: Institution) => new Provider(contracts, i.signer);

  step(3, "Providers publish what they can be asked for (schema commitments only)");
  const datasets = new Map<string, bigint>();
  const offer = async (i: Institution, kind: number) => {
    const id = await provider(i).registerDataset(kind, `schema:${DATA_KIND_NAMES[kind]}:v1`);
    datasets.set(`${i.id}:${kind}`, id);
    say(`   dataset ${id}: ${i.name} offers ${DATA_KIND_NAMES[kind]}`);
  };
  await offer(bankA, DataKind.BankTransactions);
  await offer(bankB, DataKind.BankAccountHolders);
  await offer(telecom, DataKind.TelecomSubscribers);
  await offer(telecom, DataKind.TelecomCallRecords);
  await offer(water, DataKind.WaterMetering);
  await offer(power, DataKind.ElectricityMetering);
  const dataset = (i: Institution, kind: number): bigint => {
    const id = datasets.get(`${i.id}:${kind}`);
    if (id === undefined) throw new Error(`${i.name} offers no ${DATA_KIND_NAMES[kind]}`);
    return id;
  };

  // ------------------------------------------------------------------ the case
  step(4, "The police bureau opens a case; the prosecutor's office approves it");
  const caseKey = generateCaseKey();
  const now = Number(await investigator.now());
  const scope = [
    DataKind.BankTransactions,
    DataKind.BankAccountHolders,
    DataKind.TelecomSubscribers,
    DataKind.WaterMetering,
    DataKind.ElectricityMetering,
  ];
  const { caseId, caseNumberCommitment } = await investigator.openCase({
    caseNumber: "MPB-2026-004211",
    caseKey,
    legalBasis: "Court order 17 Gs 212/26 (fraud, money laundering), signed copy",
    scope,
    expiresAt: now + 90 * DAY,
  });
  say(
    `   case ${caseId} opened: number commitment ${short(caseNumberCommitment)} (the number itself stays with the police)`,
  );
  say(`   scope: ${scope.map((k) => DATA_KIND_NAMES[k]).join(", ")}; expires in 90 days`);
  await supervisor.approveCase(caseId);
  say(`   approved by ${prosecutor.name} (two-person rule: another institution than the opener)`);

  step(
    5,
    "Requests to the banks, the telecom operator and both utilities (subjects as keyed commitments)",
  );
  const asks: {
    to: Institution;
    kind: number;
    type: "phone" | "bankAccount" | "nationalId";
    identifier: string;
  }[] = [
    {
      to: bankA,
      kind: DataKind.BankTransactions,
      type: "bankAccount",
      identifier: "DE89 3704 0044 0532 0130 00",
    },
    { to: bankB, kind: DataKind.BankAccountHolders, type: "nationalId", identifier: "T22-000-129" },
    {
      to: telecom,
      kind: DataKind.TelecomSubscribers,
      type: "phone",
      identifier: "+49 (30) 901820",
    },
    { to: water, kind: DataKind.WaterMetering, type: "nationalId", identifier: "T22-000-129" },
    {
      to: power,
      kind: DataKind.ElectricityMetering,
      type: "nationalId",
      identifier: "T22-000-129",
    },
  ];
  const requests: { requestId: bigint; to: Institution; kind: number }[] = [];
  for (const a of asks) {
    const { requestId, subjectCommitment } = await investigator.request({
      caseId,
      provider: a.to.id,
      datasetId: dataset(a.to, a.kind),
      subject: { type: a.type, identifier: a.identifier },
      caseKey,
      purposeCode: 1,
    });
    requests.push({ requestId, to: a.to, kind: a.kind });
    say(
      `   request ${requestId} → ${a.to.name}: ${DATA_KIND_NAMES[a.kind]} about ${a.type} ${short(subjectCommitment)}`,
    );
  }

  step(6, "Providers answer: four grants and one denial");
  const grantUntil = now + 30 * DAY;
  const granted: typeof requests = [];
  for (const r of requests) {
    if (r.to === bankB) {
      await provider(r.to).deny(r.requestId, 2);
      say(`   request ${r.requestId}: DENIED by ${r.to.name} (reason 2: no customer relationship)`);
    } else {
      await provider(r.to).grant(r.requestId, { expiresAt: grantUntil, maxRecords: 500 });
      granted.push(r);
      say(`   request ${r.requestId}: granted by ${r.to.name} for 30 days, at most 500 records`);
    }
  }

  step(
    7,
    "Deliveries through the gateways: each provider's system exports, the gateway seals it to the police's key; the police fetch, verify and acknowledge",
  );
  const log = await deliverThroughGateways({
    contracts,
    chainId: (await connection.ethers.provider.getNetwork()).chainId,
    startBlock: record.startBlock,
    caseId,
    granted,
    police,
    policeIdentity: identityOf(police),
    bystander: prosecutor,
  });
  const deliveryIds = log.map((entry) => entry.deliveryId);

  step(8, "The police bureau anchors its access log (one Merkle root for the whole batch)");
  const { anchorId, batch } = await investigator.anchorLog(caseId, log);
  say(`   anchor ${anchorId}: ${log.length} entries, root ${short(batch.root)}`);
  const auditor = new Auditor(contracts, connection.ethers.provider, record);
  const proof = proofOf(batch, 2);
  const entry = batch.entryHashes[2];
  if (entry === undefined) throw new Error("the batch lost an entry");
  const inclusion = await auditor.verifyEntry(anchorId, 2n, entry, proof);
  say(`   entry 2 proven included: on chain ${inclusion.onChain}, off chain ${inclusion.offChain}`);

  step(9, "An attempt outside the case's scope is refused by the contract");
  try {
    await investigator.request({
      caseId,
      provider: telecom.id,
      datasetId: dataset(telecom, DataKind.TelecomCallRecords),
      subject: { type: "phone", identifier: "+49 30 901820" },
      caseKey,
      purposeCode: 1,
    });
    throw new Error("the out-of-scope request was accepted: the ledger is broken");
  } catch (error) {
    if (!(error instanceof ContractRevertError)) throw error;
    say(`   refused: ${error.message}`);
  }

  step(
    10,
    "The police match 200 suspect numbers against the telecom's 20,000 subscribers (private set intersection)",
  );
  const phones = phoneSets({ suspects: 200, subscribers: 20_000, overlap: 7 });
  const { requestId: matchRequest } = await investigator.request({
    caseId,
    provider: telecom.id,
    datasetId: dataset(telecom, DataKind.TelecomSubscribers),
    subject: { type: "phone", identifier: phones.suspects[0] ?? "" },
    caseKey,
    purposeCode: 1,
  });
  await provider(telecom).grant(matchRequest, { expiresAt: grantUntil, maxRecords: 400 });
  say(
    `   request ${matchRequest} → ${telecom.name}: matching against its ${DATA_KIND_NAMES[DataKind.TelecomSubscribers]}, granted for 400 identifiers`,
  );
  const cardinality = await matchPhones({
    contracts,
    police: police.signer,
    telecom: telecom.signer,
    requestId: matchRequest,
    suspects: phones.suspects,
    subscribers: phones.subscribers,
  });
  if (
    cardinality.count !== phones.common.length ||
    cardinality.matches.join() !== phones.common.join()
  )
    throw new Error("the intersection is not the known overlap: the matching is broken");

  step(11, "The police bureau closes the case");
  await investigator.closeCase(caseId, 1);
  say(`   case ${caseId} closed; it accepts nothing any more`);
  try {
    await investigator.request({
      caseId,
      provider: bankA.id,
      datasetId: dataset(bankA, DataKind.BankTransactions),
      subject: { type: "bankAccount", identifier: "DE89 3704 0044 0532 0130 00" },
      caseKey,
      purposeCode: 1,
    });
    throw new Error("a request on a closed case was accepted: the ledger is broken");
  } catch (error) {
    if (!(error instanceof ContractRevertError)) throw error;
    say(`   a late request is refused: ${error.message}`);
  }

  // ------------------------------------------------------------------ the audit
  step(12, "An auditor reads the chain of custody from the events alone");
  const history = await auditor.caseHistory(caseId);
  const names = new Map(inst.map((i) => [i.id, i.name]));
  for (const e of history) say(`   ${describe(e, names)}`);
  let allValid = true;
  for (const id of deliveryIds) {
    const check = await auditor.verifyDelivery(id);
    allValid &&= check.valid;
  }
  say(
    `   ${deliveryIds.length} deliveries re-checked off chain: both signatures valid on ${allValid ? "all" : "NOT all"}`,
  );
  if (!allValid) throw new Error("a delivery signature did not verify");
  say(`\nDone: ${history.length} events in the chain of custody of case ${caseId}.`);
}

/**
 * The telecom serves its subscribers as `veritrace match serve` does (createMatchServer with its
 * ProviderLedger's hooks), in this process; the police run a cardinality session, then a psi
 * session, as `veritrace match run` does (runOnlineSession). Both sign with the node's accounts.
 */
async function matchPhones(o: {
  contracts: ReturnType<typeof connectConsortium>;
  police: Signer;
  telecom: Signer;
  requestId: bigint;
  suspects: string[];
  subscribers: string[];
}): Promise<{ count: number; matches: string[] }> {
  const suspects = IdentifierSet.fromList("phone", o.suspects);
  const subscribers = IdentifierSet.fromList("phone", o.subscribers);
  const requester = await connectMatchLedger(o.contracts, o.police);
  const provider = new ProviderLedger(await connectMatchLedger(o.contracts, o.telecom));
  const token = randomBytes(24).toString("hex");
  // The server's engine lives as long as the server (worker threads, one per core).
  const engine = await engineFor(Number.MAX_SAFE_INTEGER);
  const server = createMatchServer({
    identifiers: subscribers,
    tokens: [token],
    engine,
    ...provider.serverHooks(),
  });
  try {
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const peer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    say(
      `   ${subscribers.size.toLocaleString("en")} subscribers served at ${peer} by the telecom; ${suspects.size} numbers held by the police`,
    );
    const run = (mode: PsiMode) =>
      runOnlineSession({
        peer,
        token,
        identifiers: suspects,
        mode,
        tag: newSessionTag(),
        ledger: { ledger: requester, requestId: o.requestId },
      });
    let count = -1;
    let matches: string[] = [];
    for (const mode of ["cardinality", "psi"] as const) {
      const started = performance.now();
      const { result, opened } = await run(mode);
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      say(
        `   session ${opened?.sessionId} (${mode}, tag ${short(result.sessionId)}): opened, response signed by the telecom, ` +
          `result co-signed and recorded (${seconds} s)`,
      );
      if (mode === "cardinality") {
        count = result.cardinality;
        say(`   cardinality: ${result.cardinality}`);
      } else {
        matches = result.matches ?? [];
        say(`   the ${matches.length} matching numbers: ${matches.join(", ")}`);
      }
    }
    say(
      `   the telecom learned that ${suspects.size} numbers were asked about, and no number; the police, nothing of the other ${(subscribers.size - matches.length).toLocaleString("en")} subscribers`,
    );
    return { count, matches };
  } finally {
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    await engine.close();
  }
}

function describe(e: CustodyEntry, names: Map<number, string>): string {
  const who = (key: string) =>
    names.get(Number(e.args[key])) ?? `participant ${String(e.args[key])}`;
  return `${`block ${e.blockNumber}`.padEnd(10)} ${e.event.padEnd(21)} ${what(e, who)}`;
}

function what(e: CustodyEntry, who: (key: string) => string): string {
  const a = e.args;
  switch (e.event) {
    case "CaseOpened":
      return `by ${who("opener")}`;
    case "CaseApproved":
      return `by ${who("approver")}`;
    case "AccessRequested":
      return `#${a["requestId"]} ${who("requester")} → ${who("provider")}`;
    case "AccessGranted":
      return `#${a["requestId"]} by ${who("provider")}, max ${a["maxRecords"]} records`;
    case "AccessDenied":
      return `#${a["requestId"]} by ${who("provider")}, reason ${a["reasonCode"]}`;
    case "DeliveryAttested": {
      const d = a["delivery"] as { requestId: bigint; recordCount: bigint };
      return `delivery ${a["deliveryId"]} for #${d.requestId}, ${d.recordCount} records, tx ${short(e.transactionHash)}`;
    }
    case "LogAnchored":
      return `anchor ${a["anchorId"]} by ${who("participant")}, ${a["entryCount"]} entries`;
    case "CaseClosed":
      return `by ${who("closer")}`;
    case "MatchSessionOpened":
      return (
        `session ${a["sessionId"]} under #${a["requestId"]}, ${who("requesterId")} → ${who("providerId")}: ` +
        `${MATCH_MODES[Number(a["mode"])]}, ${a["setSize"]} identifiers, request ${short(String(a["requestDigest"]))}`
      );
    case "MatchResponseRecorded":
      return `session ${a["sessionId"]}: response ${short(String(a["responseDigest"]))} signed by ${who("providerId")}, ${Number(a["providerSetSize"]).toLocaleString("en")} of its own`;
    case "MatchCompleted":
      return `session ${a["sessionId"]}: cardinality ${a["cardinality"]}, result ${short(String(a["resultCommitment"]))} co-signed by both`;
    case "MatchFailed":
      return `session ${a["sessionId"]}: failed (${MATCH_FAILURE_NAMES[Number(a["reasonCode"])] ?? a["reasonCode"]}), declared by ${who("participantId")}`;
    default:
      return "";
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(`demo failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
