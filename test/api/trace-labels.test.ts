/**
 * Labels across chains: an address labeled on two chains is each chain's in the answer of
 * POST /trace (its nodes named CHAIN:address on another chain than the seed's) and in the
 * lookups the command's text and pictures use.
 */
import { expect } from "chai";
import { labelsAt, labelsNamed, type RunTraceOutput } from "../../src/analytics/funds/run.js";
import { DEFAULT_EXITS } from "../../src/analytics/funds/exits.js";
import type { Label } from "../../src/analytics/labels/store.js";
import { traceAnswer } from "../../src/api/routes/trace.js";
import { BASE_EXCHANGE, THIEF, bridged } from "../helpers/trace-fixtures.js";

const label = (name: string, category: Label["category"]): Label => ({
  origin: "tagpack",
  tagpack: { title: "test", file: "test.yaml" },
  address: "",
  network: "eth",
  currency: "eth",
  isEvm: true,
  label: name,
  category,
  originalCategory: null,
  abuse: null,
  actor: null,
  confidence: null,
  source: null,
});

describe("labels across chains", function () {
  // The thief's address is a known scammer's on chain 1 and, by chance, a payment service's on
  // 8453; the exchange of 8453 is labeled there alone.
  const onOne = new Map([[THIEF, [label("Scammer", "scam")]]]);
  const onBase = new Map([
    [THIEF, [label("A shop on Base", "other")]],
    [BASE_EXCHANGE, [label("Binance 14", "exchange")]],
  ]);
  const out: RunTraceOutput = {
    chainId: 1,
    result: bridged,
    ingest: { stream: "fixture", indexedTo: 200, rows: 5, complete: true, note: null },
    fromBlock: 100,
    toBlock: 200,
    // As the trace merges them: the seed's chain first.
    labels: new Map([...onBase, ...onOne]),
    chainLabels: new Map([
      [1, onOne],
      [8453, onBase],
    ]),
    initialBalances: new Map(),
    exits: DEFAULT_EXITS,
    depositAddresses: new Map(),
    decimals: 6,
    assetDecimals: new Map(),
  };

  it("looks an address up on its own chain, by chain id or by the name the pictures give it", function () {
    expect(labelsAt(out, THIEF)?.[0]?.label).to.equal("Scammer");
    expect(labelsAt(out, THIEF, 8453)?.[0]?.label).to.equal("A shop on Base");
    expect(labelsNamed(out, `8453:${THIEF}`)?.[0]?.label).to.equal("A shop on Base");
    expect(labelsNamed(out, THIEF)?.[0]?.label).to.equal("Scammer");
    // Labeled on 8453 alone: none on chain 1.
    expect(labelsAt(out, BASE_EXCHANGE)).to.equal(undefined);
    expect(labelsNamed(out, `8453:${BASE_EXCHANGE}`)?.[0]?.label).to.equal("Binance 14");
    // One chain: the trace's labels.
    const single = { ...out, chainLabels: undefined };
    expect(labelsAt(single, BASE_EXCHANGE)?.[0]?.label).to.equal("Binance 14");
  });

  it("POST /trace: each node carries its own chain's label", function () {
    const answer = traceAnswer(out, new Map());
    const nodeLabel = (address: string) => answer.nodes.find((n) => n.address === address)?.label;
    expect(nodeLabel(THIEF)).to.equal("Scammer");
    expect(nodeLabel(`8453:${THIEF}`)).to.equal("A shop on Base");
    expect(nodeLabel(`8453:${BASE_EXCHANGE}`)).to.equal("Binance 14");
  });
});
