/**
 * Fund flows: a trace (POST /trace, on the server's own node) drawn as an interactive graph, the
 * exits beside it, a node's taint and paths on selection, and the picture and JSON exported.
 */
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { api, ApiError, type TraceAnswer, type TraceRequest } from "../api.js";
import { PALETTE, drawFlow, type FlowView } from "../flow-graph.js";
import { assetLooks, LOOK, type Assets } from "../flow-model.js";
import { short } from "../format.js";
import { download } from "../ui.js";

type Run =
  | { state: "idle" }
  | { state: "running" }
  | { state: "error"; error: ApiError }
  | { state: "done"; answer: TraceAnswer };

function TraceForm({ onRun, busy }: { onRun: (r: TraceRequest) => void; busy: boolean }) {
  const [token, setToken] = useState("");
  const [seed, setSeed] = useState("");
  const [seedAsset, setSeedAsset] = useState("");
  const [model, setModel] = useState<TraceRequest["model"]>("haircut");
  const [hops, setHops] = useState("");
  const [minAmount, setMinAmount] = useState("");
  const [lazy, setLazy] = useState(false);
  return (
    <form
      class="trace-form"
      aria-label="Trace"
      onSubmit={(e) => {
        e.preventDefault();
        // Several seeds, separated by spaces or commas: one combined trace.
        const seeds = seed.split(/[\s,]+/).filter((s) => s !== "");
        onRun({
          token: token.trim(),
          seed: seeds.length === 1 ? (seeds[0] ?? "") : seeds,
          ...(seedAsset.trim() === "" ? {} : { seedAsset: seedAsset.trim() }),
          model,
          ...(hops === "" ? {} : { hops: Number(hops) }),
          ...(minAmount === "" ? {} : { minAmount: minAmount.trim() }),
          ...(lazy ? { lazy } : {}),
        });
      }}
    >
      <p class="muted">
        The chain is read from the server's JSON-RPC node (veritrace serve --rpc); a trace of every
        asset follows bridges to the other chains the server reads (--chain).
      </p>
      <div class="fields">
        <label>
          Token (address, native or all)
          <input
            name="token"
            required
            value={token}
            onInput={(e) => setToken(e.currentTarget.value)}
            placeholder="all, 0x… or native"
          />
        </label>
        <label>
          Seed (transaction hash or ADDRESS@BLOCK; several: spaces between)
          <input
            name="seed"
            required
            value={seed}
            onInput={(e) => setSeed(e.currentTarget.value)}
            placeholder="0x…"
          />
        </label>
        <label>
          Seed asset (with all; ADDRESS@BLOCK needs it)
          <input
            name="seedAsset"
            value={seedAsset}
            onInput={(e) => setSeedAsset(e.currentTarget.value)}
            placeholder="0x… or native"
          />
        </label>
        <label>
          Model
          <select
            name="model"
            value={model}
            onChange={(e) => setModel(e.currentTarget.value as TraceRequest["model"])}
          >
            <option value="poison">poison</option>
            <option value="haircut">haircut</option>
            <option value="fifo">fifo</option>
          </select>
        </label>
        <label>
          Hops (empty: no limit)
          <input
            name="hops"
            type="number"
            min={0}
            max={64}
            value={hops}
            onInput={(e) => setHops(e.currentTarget.value)}
          />
        </label>
        <label>
          Minimum amount (base units)
          <input
            name="minAmount"
            inputMode="numeric"
            pattern="\d*"
            value={minAmount}
            onInput={(e) => setMinAmount(e.currentTarget.value)}
          />
        </label>
        <label>
          <input
            name="lazy"
            type="checkbox"
            checked={lazy}
            onChange={(e) => setLazy(e.currentTarget.checked)}
          />{" "}
          Read only what the taint reaches (lazily)
        </label>
      </div>
      <button type="submit" disabled={busy}>
        {busy ? "Tracing…" : "Run trace"}
      </button>
    </form>
  );
}

function NodePanel({
  answer,
  assets,
  address,
}: {
  answer: TraceAnswer;
  assets: Assets;
  address: string;
}) {
  const node = answer.nodes.find((n) => n.address === address);
  const money = assets.money;
  if (node === undefined) return null;
  const paths = answer.paths[address] ?? [];
  return (
    <div class="node-panel" role="region" aria-label="Selected address" aria-live="polite">
      <h3>
        <code>{node.address}</code>
      </h3>
      {node.label !== null && (
        <p>
          {node.label}
          {node.category !== null && ` (${node.category})`}
        </p>
      )}
      <dl class="facts">
        <dt>Tainted amount</dt>
        <dd data-testid="node-tainted">
          {node.exit !== null
            ? `${money(node.exit.amount)} exited (${node.exit.kind})`
            : node.held !== null
              ? `${money(node.held)} held`
              : `${money(node.taintIn)} received`}
        </dd>
        <dt>Received</dt>
        <dd>{money(node.taintIn)}</dd>
        <dt>Passed on</dt>
        <dd>{money(node.taintOut)}</dd>
        {node.hops !== null && (
          <>
            <dt>Hops</dt>
            <dd>{node.hops}</dd>
          </>
        )}
      </dl>
      {assets.multi && (
        <>
          <h4>In each asset</h4>
          <ul class="node-assets" aria-label="Taint in each asset">
            {node.assets.map((a) => (
              <li key={a.token}>
                {a.held !== null && `${money(a.held, a.token)} held; `}
                {a.exited !== null && `${money(a.exited, a.token)} exited; `}
                received {money(a.taintIn, a.token)}, passed {money(a.taintOut, a.token)}
                {a.token !== assets.seedAsset && a.value !== "0" && ` (worth ${money(a.value)})`}
              </li>
            ))}
          </ul>
        </>
      )}
      <h4>Paths that carried it</h4>
      {paths.length === 0 ? (
        <p class="muted">No path kept for this address (it passed taint on).</p>
      ) : (
        <ol class="paths">
          {paths.map((p, i) => (
            <li key={i}>
              {money(p.amount, p.token)} from <code>{short(p.origin)}</code>
              {p.steps.map((s) => (
                <span key={s.txHash + s.to}>
                  {" "}
                  ⇒ <code title={s.txHash}>{short(s.txHash)}</code> {short(s.from)}→{short(s.to)}{" "}
                  {money(s.tainted, s.token)}
                </span>
              ))}
            </li>
          ))}
        </ol>
      )}
    </div>
  );
}

/**
 * What the colours and shapes mean: the palette, holdings, and what this trace has: each asset's
 * colour (a trace of every asset), conversions, deposit addresses.
 */
function Legend({ answer, assets }: { answer: TraceAnswer; assets: Assets }) {
  const conversions = answer.edges.some((e) => (e.out?.steps.length ?? 0) > 0);
  const deposits = answer.nodes.some((n) => n.exit?.depositOf !== undefined);
  return (
    <ul class="legend" aria-label="Legend">
      {Object.entries(PALETTE).map(([name, color]) => (
        <li key={name}>
          <span class="swatch" style={{ background: color }} /> {name}
        </li>
      ))}
      <li>
        <span class="swatch holding" /> holds taint
      </li>
      {conversions && (
        <li class="conversion">
          <span class="swatch conversion" style={{ background: LOOK.conversionFill }} /> conversion
          (pool, wrapper)
        </li>
      )}
      {deposits && (
        <li class="deposits">
          <span class="swatch deposits" /> deposit addresses of an exchange
        </li>
      )}
      {assets.multi &&
        assets.list.map((a) => (
          <li key={a.token} class="asset" data-token={a.token}>
            <span class="swatch line" style={{ background: a.color }} /> {a.unit}
            {a.token !== "native" && !a.unit.includes(short(a.token)) && ` ${short(a.token)}`}
            {a.seed && " (seed asset)"}
          </li>
        ))}
    </ul>
  );
}

export function TraceView({ answer }: { answer: TraceAnswer }) {
  const box = useRef<HTMLDivElement>(null);
  const viewRef = useRef<FlowView | null>(null);
  const [selected, setSelected] = useState<string | null>(null);
  const [drawn, setDrawn] = useState<{ renderer: string; nodes: number; edges: number } | null>(
    null,
  );
  const [tableOpen, setTableOpen] = useState(false);
  const assets = useMemo(() => assetLooks(answer), [answer]);
  const money = assets.money;
  useEffect(() => {
    if (box.current === null) return;
    setDrawn(null);
    const view = drawFlow(box.current, answer.nodes, answer.edges, {
      assets,
      onSelect: setSelected,
    });
    viewRef.current = view;
    let live = true;
    void view.painted.then((counts) => {
      if (!live) return;
      performance.mark("veritrace:graph-painted");
      setDrawn({ renderer: view.renderer, ...counts });
    });
    return () => {
      live = false;
      view.destroy();
      viewRef.current = null;
    };
  }, [answer]);
  const select = (address: string) => {
    setSelected(address);
    viewRef.current?.select(address);
  };
  const name = `trace-${answer.summary.model}-${answer.summary.seed.slice(0, 10)}`;
  // A holding or exit as the graph names it: on another chain than the seed's, CHAIN:address and
  // CHAIN:token (the summary names its chain apart).
  const named = <T extends { address: string; token: string; chainId: number }>(x: T): T =>
    x.chainId === answer.chainId
      ? x
      : { ...x, address: `${x.chainId}:${x.address}`, token: `${x.chainId}:${x.token}` };
  // The other chains the taint crossed to (their addresses are CHAIN:…).
  const crossed = [...new Set(answer.edges.flatMap((e) => e.chainId ?? []))]
    .filter((c) => c !== answer.chainId)
    .sort((x, y) => x - y);
  return (
    <div class="trace-result">
      <p data-testid="trace-caption">
        {answer.summary.model} trace of{" "}
        {assets.multi ? (
          <>
            every asset (seed asset <code>{answer.summary.seedAsset}</code>)
          </>
        ) : (
          <code>{answer.summary.token}</code>
        )}{" "}
        on chain {answer.chainId}
        {crossed.length > 0 && ` and over bridges chain ${crossed.join(", chain ")}`}, blocks{" "}
        {answer.fromBlock}–{answer.toBlock}: seed {money(answer.seedAmount)}, {answer.nodes.length}{" "}
        addresses, {answer.edges.length} transfers.
      </p>
      {!answer.complete && (
        <p class="state error" role="alert">
          {answer.note ?? "The transfer history is incomplete."}
        </p>
      )}
      {answer.warnings.map((w, i) => (
        <p key={i} class="warning">
          warning: {w.message}
        </p>
      ))}
      <div class="toolbar">
        <button
          type="button"
          onClick={() => {
            const view = viewRef.current;
            if (view !== null) download(view.png(), `${name}.png`);
          }}
        >
          Export picture (PNG)
        </button>
        <button
          type="button"
          onClick={() => {
            const view = viewRef.current;
            if (view !== null)
              download(new Blob([view.svg()], { type: "image/svg+xml" }), `${name}.svg`);
          }}
        >
          Export SVG
        </button>
        <button
          type="button"
          onClick={() =>
            download(
              new Blob([JSON.stringify(answer, null, 2)], { type: "application/json" }),
              `${name}.json`,
            )
          }
        >
          Export JSON
        </button>
        <button type="button" onClick={() => viewRef.current?.fit()}>
          Fit to view
        </button>
      </div>
      <div class="flow-layout">
        <div
          ref={box}
          class="graph"
          role="img"
          aria-label={`Fund-flow graph: ${answer.nodes.length} addresses, ${answer.edges.length} transfers; the same addresses are listed in the table below`}
          data-graph-ready={drawn !== null ? "true" : "false"}
          data-node-count={answer.nodes.length}
          data-renderer={drawn?.renderer}
          data-drawn-nodes={drawn?.nodes}
          data-drawn-edges={drawn?.edges}
        />
        <aside class="side" aria-label="Exit points and selection">
          <h2>Exit points</h2>
          {answer.summary.exits.length === 0 ? (
            <p class="muted">No taint reached an exit.</p>
          ) : (
            <ul class="exits" aria-label="Exit points">
              {answer.summary.exits.map(named).map((x) => (
                <li key={`${x.token}/${x.address}`} data-address={x.address}>
                  <button type="button" class="link" onClick={() => select(x.address)}>
                    <code>{short(x.address)}</code>
                  </button>{" "}
                  {x.label}: <span class="amount">{money(x.amount, x.token)}</span>
                </li>
              ))}
            </ul>
          )}
          <h2>Holding taint now</h2>
          <ul class="holdings" aria-label="Holdings">
            {answer.summary.holdings.map(named).map((h) => (
              <li key={`${h.token}/${h.address}`} data-address={h.address}>
                <button type="button" class="link" onClick={() => select(h.address)}>
                  <code>{short(h.address)}</code>
                </button>{" "}
                <span class="amount">{money(h.amount, h.token)}</span>
              </li>
            ))}
          </ul>
          {selected !== null && <NodePanel answer={answer} assets={assets} address={selected} />}
          <Legend answer={answer} assets={assets} />
        </aside>
      </div>
      <details
        class="node-table"
        onToggle={(e) => setTableOpen((e.currentTarget as HTMLDetailsElement).open)}
      >
        <summary>Every address in the graph ({answer.nodes.length})</summary>
        <table class="data" aria-label="Addresses in the graph">
          <thead>
            <tr>
              <th scope="col">Address</th>
              <th scope="col">Label</th>
              <th scope="col" class="num">
                Taint
              </th>
              <th scope="col">Show</th>
            </tr>
          </thead>
          <tbody>
            {/* Rows only once opened: thousands of hidden rows would delay the graph. */}
            {(tableOpen ? answer.nodes.slice(0, 2000) : []).map((n) => (
              <tr key={n.address} data-address={n.address}>
                <td>
                  <code>{n.address}</code>
                </td>
                <td>{n.label ?? ""}</td>
                <td class="num">{money(n.weight)}</td>
                <td>
                  <button
                    type="button"
                    onClick={() => select(n.address)}
                    aria-label={`Show ${n.address}`}
                  >
                    Show
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </div>
  );
}

export function TracePage() {
  const [run, setRun] = useState<Run>({ state: "idle" });
  const start = (request: TraceRequest) => {
    performance.mark("veritrace:trace-submitted");
    setRun({ state: "running" });
    api<TraceAnswer>("/trace", { method: "POST", body: request }).then(
      (answer) => setRun({ state: "done", answer }),
      (e: unknown) =>
        setRun({
          state: "error",
          error: e instanceof ApiError ? e : new ApiError("error", String(e)),
        }),
    );
  };
  return (
    <section aria-labelledby="trace-title">
      <h1 id="trace-title">Fund flows</h1>
      <TraceForm onRun={start} busy={run.state === "running"} />
      {run.state === "idle" && (
        <p class="state empty">Give a token and a seed, then run the trace.</p>
      )}
      {run.state === "running" && (
        <p class="state loading" role="status">
          Tracing: reading the token's transfers from the node…
        </p>
      )}
      {run.state === "error" && (
        <div class="state error" role="alert">
          <strong>The trace failed</strong>
          <p data-testid="trace-error">{run.error.message}</p>
        </div>
      )}
      {run.state === "done" && <TraceView answer={run.answer} />}
    </section>
  );
}
