/**
 * Pieces of the tests that trace every asset on live chains (test/analytics/*-chain.test.ts,
 * bridges-trace*.test.ts):
 * each model's trace run once and kept, the addresses a result names, POST /trace's answer as it
 * goes on the wire (checked against the published schema), and the picture `veritrace trace
 * --graph` draws.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import type { Store } from "../../src/db/store.js";
import {
  runTrace,
  type RunTraceInput,
  type RunTraceOutput,
} from "../../src/analytics/funds/run.js";
import type { TaintModelName } from "../../src/analytics/funds/taint.js";
import type { TraceResult } from "../../src/analytics/funds/types.js";
import { answerTrace } from "../../src/api/routes/trace.js";
import { openApiDocument } from "../../src/api/server.js";
import { TraceRequest, type Trace } from "../../src/api/wire.js";
import { AnswerChecker } from "./openapi-check.js";
import { runVeritrace } from "./tracer.js";

/**
 * The trace of every asset from a seed, each model's run once and kept for the tests that follow
 * (a failed run is not kept). `input` (the node, the store, the seed, other chains…) is read at
 * the first run: the chains are set up in `before`.
 */
export function traceOnce(
  input: () => Omit<RunTraceInput, "token" | "model">,
): (model: TaintModelName) => Promise<RunTraceOutput> {
  const traces = new Map<TaintModelName, RunTraceOutput>();
  return async (model) => {
    let out = traces.get(model);
    if (out === undefined) {
      out = await runTrace({ ...input(), token: "all", model });
      traces.set(model, out);
    }
    return out;
  };
}

/** Every address a result names: holding, exit, paying or paid by a tainted transfer. */
export const addressesIn = (r: TraceResult): Set<string> =>
  new Set([
    ...r.holdings.map((h) => h.address),
    ...r.exits.map((e) => e.address),
    ...r.edges.flatMap((e) => [e.from, e.to]),
  ]);

/** POST /trace's answer to `request`, as it goes on the wire, checked against the published schema. */
export async function traceAnswer(
  store: Store,
  rpcUrl: string,
  request: Record<string, unknown>,
): Promise<Trace> {
  const answer = JSON.parse(
    JSON.stringify(await answerTrace(store, rpcUrl, TraceRequest.parse(request))),
  ) as Trace;
  new AnswerChecker(
    JSON.parse(JSON.stringify(openApiDocument)) as ConstructorParameters<typeof AnswerChecker>[0],
  ).check("POST", "/trace", { status: 200, contentType: "application/json", body: answer });
  return answer;
}

/**
 * The picture `veritrace trace --graph` draws of the haircut trace from `seed` (into a store and a
 * file of its own, removed after), with the options `more`; the command must succeed.
 */
export async function drawnTrace(
  rpcUrl: string,
  seed: string,
  more: readonly string[] = [],
): Promise<string> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), "veritrace-picture-"));
  try {
    const file = path.join(tmp, "flow.svg");
    const run = await runVeritrace([
      ...["trace", "--rpc", rpcUrl, "--seed", seed, "--model", "haircut"],
      ...["--db", path.join(tmp, "db"), "--graph", file, ...more],
    ]);
    expect(run.code, run.stderr).to.equal(0);
    return readFileSync(file, "utf8");
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
