/**
 * A synthetic `POST /trace` answer of any size, in exactly the shape src/api/routes/trace.ts answers: for
 * `npm run bench:web` (5 000 addresses, 20 000 transfers) and the browser test of a large graph.
 * A real trace of that size is impractical to set up.
 */

/** A small deterministic generator (mulberry32), so that every run draws the same graph. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const hex = (n: number, digits: number) => n.toString(16).padStart(digits, "0");

/**
 * A trace answer of `nodeCount` addresses and `edgeCount` transfers between distinct pairs, in
 * the shape src/api/routes/trace.ts answers: address 0 the seed's source; each later address paid by
 * about four earlier ones (mostly recent ones: the flow spreads over many hops); one address in
 * 25 an exit (exchanges, bridges, mixers, with labels), one in 16 of the rest a holding.
 */
export function syntheticTrace(nodeCount: number, edgeCount: number): Record<string, unknown> {
  const rand = random(20_240_601);
  const address = (i: number) =>
    `0x${hex(i + 1, 8)}${hex(Math.imul(i + 1, 2654435761) >>> 0, 8)}${"0".repeat(24)}`;
  const edges: { from: number; to: number; amount: bigint; tainted: bigint }[] = [];
  const pairs = new Set<string>();
  const perNode = Math.ceil(edgeCount / (nodeCount - 1));
  for (let to = 1; to < nodeCount && edges.length < edgeCount; to++) {
    for (let k = 0; k < perNode && edges.length < edgeCount; k++) {
      const from = k === 0 ? to - 1 : Math.max(0, to - 1 - Math.floor(rand() * Math.min(to, 400)));
      if (pairs.has(`${from}>${to}`)) continue;
      pairs.add(`${from}>${to}`);
      const amount = BigInt(Math.floor(1 + rand() * 5_000_000_000));
      edges.push({ from, to, amount, tainted: (amount * BigInt(Math.floor(rand() * 100))) / 100n });
    }
  }
  while (edges.length < edgeCount) {
    const from = Math.floor(rand() * (nodeCount - 1));
    const to = from + 1 + Math.floor(rand() * (nodeCount - 1 - from));
    if (pairs.has(`${from}>${to}`)) continue;
    pairs.add(`${from}>${to}`);
    const amount = BigInt(Math.floor(1 + rand() * 5_000_000_000));
    edges.push({ from, to, amount, tainted: amount / 2n });
  }
  const taintIn = new Array<bigint>(nodeCount).fill(0n);
  const taintOut = new Array<bigint>(nodeCount).fill(0n);
  for (const e of edges) {
    taintIn[e.to] = (taintIn[e.to] ?? 0n) + e.tainted;
    taintOut[e.from] = (taintOut[e.from] ?? 0n) + e.tainted;
  }
  const KINDS = [
    ["exchange", "exchange", "Example Exchange hot wallet"],
    ["bridge", "bridge", "Example Bridge"],
    ["mixer", "mixer", "Example Mixer"],
  ] as const;
  const token = `0x${"ab".repeat(20)}`;
  const path = (i: number) => ({
    origin: address(0),
    token,
    amount: (taintIn[i] ?? 0n).toString(),
    steps: [0, Math.floor(i / 2), i].map((at, s, all) => ({
      txHash: `0x${hex(i, 32)}${hex(s, 32)}`,
      from: address(s === 0 ? 0 : (all[s - 1] ?? 0)),
      to: address(at),
      token,
      tainted: (taintIn[i] ?? 0n).toString(),
    })),
  });
  const nodes = [];
  const asset = { chainId: 31337, token };
  const exits = [];
  const holdings = [];
  const paths: Record<string, unknown[]> = {};
  for (let i = 0; i < nodeCount; i++) {
    const isExit = i > 0 && i % 25 === 0;
    const isHolding = !isExit && i > 0 && i % 16 === 0;
    const kind = KINDS[i % 3] ?? KINDS[0];
    const into = taintIn[i] ?? 0n;
    const out = taintOut[i] ?? 0n;
    const rest = into > out ? into - out : 0n;
    nodes.push({
      address: address(i),
      label: isExit ? `${kind[2]} ${i}` : null,
      category: isExit ? kind[1] : null,
      seed: i === 0,
      taintIn: into.toString(),
      taintOut: out.toString(),
      held: isHolding ? rest.toString() : null,
      exit: isExit ? { kind: kind[0], amount: rest.toString(), label: `${kind[2]} ${i}` } : null,
      weight: (into > out ? into : out).toString(),
      hops: isExit || isHolding ? 1 + Math.floor(i / 150) : null,
      assets: [
        {
          token,
          taintIn: into.toString(),
          taintOut: out.toString(),
          held: isHolding ? rest.toString() : null,
          exited: isExit ? rest.toString() : null,
          value: isExit || isHolding ? rest.toString() : "0",
        },
      ],
    });
    if (isExit) {
      exits.push({
        ...asset,
        address: address(i),
        label: `${kind[2]} ${i}`,
        amount: rest.toString(),
        value: rest.toString(),
      });
      paths[address(i)] = [path(i)];
    }
    if (isHolding) {
      holdings.push({
        ...asset,
        address: address(i),
        amount: rest.toString(),
        value: rest.toString(),
      });
      paths[address(i)] = [path(i)];
    }
  }
  const seedAmount = (taintOut[0] ?? 0n).toString();
  return {
    summary: {
      model: "haircut",
      token,
      seedAsset: token,
      seed: `0x${"cd".repeat(32)}`,
      holdings,
      exits,
      total: seedAmount,
    },
    chainId: 31337,
    fromBlock: 1,
    toBlock: 9_000,
    decimals: 6,
    assets: [{ token, decimals: 6, symbol: null }],
    seedAmount,
    beyondHopLimit: "0",
    belowMinimum: "0",
    complete: true,
    note: null,
    warnings: [],
    nodes,
    edges: edges.map((e, i) => ({
      txHash: `0x${hex(i, 64)}`,
      blockNumber: 1 + Math.floor(i / 4),
      from: address(e.from),
      to: address(e.to),
      token,
      amount: e.amount.toString(),
      tainted: e.tainted.toString(),
      fate: e.from === 0 ? "seed" : "carried",
    })),
    paths,
  };
}
