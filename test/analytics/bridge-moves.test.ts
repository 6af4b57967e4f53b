/**
 * Bridge crossings as moves (src/analytics/funds/bridge-moves.ts), without a node: a burning and
 * minting bridge (CCTP V2: the TokenMinter takes the USDC and burns it; on the other chain it mints
 * to the recipient, and mints the fast transfer's fee to someone else) paired by the fallback, then
 * traced across the two chains.
 */
import { expect } from "chai";
import {
  pairBridgeTransfers,
  type BridgeDeposit,
  type BridgeRelease,
} from "../../src/analytics/bridges/index.js";
import {
  bridgeMoves,
  skippedCrossingsReached,
  TRANSIT,
} from "../../src/analytics/funds/bridge-moves.js";
import {
  accountKey,
  ALL_ASSETS,
  trace,
  ZERO_ADDRESS,
  type TaintModelName,
  type Transfer,
} from "../../src/analytics/funds/taint.js";
import { a, THIEF, transfer as transferIn, V } from "../helpers/taint-fixtures.js";

const USDC1 = a(0xc1);
const USDC2 = a(0xc2);
const MINTER = a(0xb0);
const MESSENGER = a(0xb1);
const FEES = a(0xfe);

/** A transfer on chain `chainId` at `time`, in the block of that number. */
const transfer = (
  chainId: number,
  txHash: string,
  ordinal: number,
  token: string,
  from: string,
  to: string,
  amount: bigint,
  time: number,
): Transfer => ({
  chainId,
  ...transferIn(txHash, ordinal, token, from, to, amount, time, time),
});

const place = { bridge: "cctp", contract: MESSENGER, logIndex: 3, pairingId: null } as const;
const deposit: BridgeDeposit = {
  ...place,
  side: "deposit",
  event: "DepositForBurn (V2)",
  chainId: 1,
  txHash: "0xd1",
  blockNumber: 112,
  time: 112,
  sender: THIEF,
  token: USDC1,
  amount: 1000n,
  destinationChainId: 8453,
  destinationToken: null,
  recipient: THIEF,
};
const release: BridgeRelease = {
  ...place,
  side: "release",
  event: "MintAndWithdraw (V2)",
  chainId: 8453,
  txHash: "0xr1",
  blockNumber: 1100,
  time: 1100,
  sourceChainId: null,
  sourceToken: null,
  recipient: THIEF,
  token: USDC2,
  amount: 999n,
};
const transfers = [
  transfer(1, "0x5eed", 0, USDC1, V, THIEF, 1000n, 100),
  transfer(1, "0xd1", 0, USDC1, THIEF, MINTER, 1000n, 112),
  transfer(1, "0xd1", 1, USDC1, MINTER, ZERO_ADDRESS, 1000n, 112),
  // The fee is minted first, to someone else, for the same amount as nothing else: never taken.
  transfer(8453, "0xr1", 0, USDC2, ZERO_ADDRESS, FEES, 1n, 1100),
  transfer(8453, "0xr1", 1, USDC2, ZERO_ADDRESS, THIEF, 999n, 1100),
];
const tokens = [
  [
    { chainId: 1, token: USDC1 },
    { chainId: 8453, token: USDC2 },
  ],
];

/** Assets told apart by chain, as a trace across chains names them. */
const qualified = (ts: readonly Transfer[]): Transfer[] => {
  const q = (chainId: number | undefined, token: string) =>
    token === TRANSIT ? token : `${chainId}:${token}`;
  return ts.map((t) => ({
    ...t,
    token: q(t.chainId, t.token),
    ...(t.out === undefined ? {} : { out: { ...t.out, token: q(t.chainId, t.out.token) } }),
  }));
};

describe("bridge moves", () => {
  it("a release paid by a mint is the crossing's payout: the burn and the mint become two moves", () => {
    const { pairs } = pairBridgeTransfers([deposit], [release], { tokens });
    expect(pairs.map((p) => p.by)).to.deep.equal(["fallback"]);
    const moved = bridgeMoves(transfers, pairs);
    expect(moved.skipped).to.deep.equal([]);
    expect(moved.crossed).to.have.length(1);
    // Left: the seed and the fee's mint; the burn is the deposit's, the mint to the thief the release.
    const plain = moved.transfers.filter((t) => t.out === undefined);
    expect(plain.map((t) => t.txHash + ":" + t.ordinal)).to.deep.equal(["0x5eed:0", "0xr1:0"]);
    const crossing = moved.transfers.filter((t) => t.out !== undefined);
    expect(crossing.map((t) => [t.from, t.to, t.amount, t.out?.amount])).to.deep.equal([
      [THIEF, "bridge:1:0xd1:3", 1000n, 1000n],
      ["bridge:1:0xd1:3", THIEF, 1000n, 999n],
    ]);
  });

  for (const model of ["haircut", "fifo", "poison"] as TaintModelName[])
    it(`${model}: the theft crosses whole, held by the recipient on the other chain`, () => {
      const { pairs } = pairBridgeTransfers([deposit], [release], { tokens });
      const r = trace(qualified(bridgeMoves(transfers, pairs).transfers), {
        model,
        seed: { kind: "tx", txHash: "0x5eed" },
        token: ALL_ASSETS,
      });
      expect(r.exits).to.deep.equal([]);
      expect(
        r.holdings.map((h) => [accountKey(h.token, h.address), h.amount, h.value]),
      ).to.deep.equal([[accountKey(`8453:${USDC2}`, THIEF), 999n, 1000n]]);
    });

  it("a deposit the bridge burns straight from the sender (the OP Stack's L2 bridge) is the crossing's payment", () => {
    const burnt = [
      transfer(1, "0x5eed", 0, USDC1, V, THIEF, 1000n, 100),
      transfer(1, "0xd1", 0, USDC1, THIEF, ZERO_ADDRESS, 1000n, 112),
      transfer(8453, "0xr1", 1, USDC2, ZERO_ADDRESS, THIEF, 999n, 1100),
    ];
    const { pairs } = pairBridgeTransfers([deposit], [release], { tokens });
    const moved = bridgeMoves(burnt, pairs);
    expect(moved.skipped).to.deep.equal([]);
    expect(moved.transfers.filter((t) => t.out !== undefined).map((t) => t.from)).to.deep.equal([
      THIEF,
      "bridge:1:0xd1:3",
    ]);
    const r = trace(qualified(moved.transfers), {
      model: "fifo",
      seed: { kind: "tx", txHash: "0x5eed" },
      token: ALL_ASSETS,
    });
    expect(r.exits).to.deep.equal([]);
    expect(r.holdings.map((h) => [h.chainId ?? 8453, h.amount])).to.deep.equal([[8453, 999n]]);
  });

  it("a crossing whose release paid nothing the trace read is skipped with its reason, and listed only when the taint reached its deposit", () => {
    const { pairs } = pairBridgeTransfers([deposit], [release], { tokens });
    // The release's transaction was not read (a lazy reading never reads it when clean).
    const moved = bridgeMoves(
      transfers.filter((t) => t.txHash !== "0xr1"),
      pairs,
    );
    expect(moved.skipped.map((x) => x.reason)).to.deep.equal([
      `no transfer of ${USDC2} paid the release in 0xr1`,
    ]);
    const traced = (seed: string) =>
      trace(qualified(moved.transfers), {
        model: "haircut",
        seed: { kind: "tx", txHash: seed },
        token: ALL_ASSETS,
      });
    // From the theft, the taint reaches the deposit: the skipped crossing is the trace's concern.
    expect(skippedCrossingsReached(moved.skipped, traced("0x5eed").edges)).to.have.length(1);
    // A trace that never reaches the deposit's transaction lists none, however much was read.
    const elsewhere = [...transfers, transfer(1, "0x0ther", 0, USDC1, FEES, V, 5n, 200)];
    const other = trace(qualified(bridgeMoves(elsewhere, []).transfers), {
      model: "haircut",
      seed: { kind: "tx", txHash: "0x0ther" },
      token: ALL_ASSETS,
    });
    expect(skippedCrossingsReached(moved.skipped, other.edges)).to.deep.equal([]);
  });
});
