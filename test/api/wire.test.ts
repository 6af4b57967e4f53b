/**
 * The wire format (src/api/wire.ts): the lists it repeats from the domains are theirs, requests
 * are refused with a line naming the field, and the generated document is whole (every schema it
 * refers to is in it, every body and answer is a named schema). Real answers are checked against
 * the document in test/api/api.test.ts.
 */
import { expect } from "chai";
import {
  EXIT_KINDS,
  TAINT_MODELS,
  type ConversionAction,
  type ConversionVenue,
  type WarningCode,
} from "../../src/analytics/funds/types.js";
import {
  DEFAULT_HOPS,
  EXPOSURE_CATEGORIES,
  MAX_HOPS,
  VERDICTS,
} from "../../src/analytics/risk/config.js";
import { refusal } from "../../src/api/route.js";
import { ROUTES, openApiDocument } from "../../src/api/server.js";
import {
  ANOMALY_RULE_NAMES,
  CONVERSION_ACTION_NAMES,
  CONVERSION_VENUE_NAMES,
  CUSTODY_STEPS,
  DEFAULT_SCREEN_HOPS,
  EXIT_KIND_NAMES,
  EXPOSURE_CATEGORY_NAMES,
  MAX_SCREEN_HOPS,
  PROBLEM_CODES,
  Problem,
  RiskScreenRequest,
  TAINT_MODEL_NAMES,
  TraceRequest,
  VERDICT_NAMES,
  WARNING_CODE_NAMES,
  pagination,
} from "../../src/api/wire.js";
import { ANOMALY_RULES } from "../../src/ledger/anomalies.js";
import { CUSTODY_STEP_NAMES } from "../../src/ledger/custody.js";
import { HTTP_STATUSES } from "../../src/shared/errors.js";
import { problem } from "../../src/shared/problem.js";

const sorted = (xs: readonly string[]) => [...xs].sort();

/** True when A and B are the same union of literals (each assignable to the other). */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

describe("wire format", function () {
  it("lists what the domains list: models, exits, rules, steps, categories, verdicts, hops", function () {
    expect(sorted(TAINT_MODEL_NAMES)).to.deep.equal(sorted(TAINT_MODELS));
    expect(sorted(EXIT_KIND_NAMES)).to.deep.equal(sorted(EXIT_KINDS));
    expect(sorted(ANOMALY_RULE_NAMES)).to.deep.equal(sorted(ANOMALY_RULES.map((r) => r.rule)));
    expect(sorted(CUSTODY_STEPS)).to.deep.equal(sorted(CUSTODY_STEP_NAMES));
    expect(sorted(EXPOSURE_CATEGORY_NAMES)).to.deep.equal(sorted(EXPOSURE_CATEGORIES));
    expect(sorted(VERDICT_NAMES)).to.deep.equal(sorted(VERDICTS));
    expect([MAX_SCREEN_HOPS, DEFAULT_SCREEN_HOPS]).to.deep.equal([MAX_HOPS, DEFAULT_HOPS]);
  });

  it("lists the trace's warning codes, each once", function () {
    // The domain's codes are a type only: `npm run typecheck` refuses this file when they differ.
    const inStep: Same<WarningCode, (typeof WARNING_CODE_NAMES)[number]> = true;
    expect(inStep).to.equal(true);
    expect(new Set(WARNING_CODE_NAMES).size).to.equal(WARNING_CODE_NAMES.length);
  });

  it("lists the conversions' venues and actions, each once", function () {
    // Types only in the domain, as the warning codes.
    const venues: Same<ConversionVenue, (typeof CONVERSION_VENUE_NAMES)[number]> = true;
    const actions: Same<ConversionAction, (typeof CONVERSION_ACTION_NAMES)[number]> = true;
    expect([venues, actions]).to.deep.equal([true, true]);
    expect(new Set(CONVERSION_VENUE_NAMES).size).to.equal(CONVERSION_VENUE_NAMES.length);
    expect(new Set(CONVERSION_ACTION_NAMES).size).to.equal(CONVERSION_ACTION_NAMES.length);
  });

  it("names every error code the server can answer as a problem code", function () {
    for (const { code } of Object.values(HTTP_STATUSES)) expect(PROBLEM_CODES).to.include(code);
    expect(Problem.safeParse(problem(404, "not_found", "unknown case 7")).success).to.equal(true);
    expect(Problem.safeParse(problem(404, "missing", "x")).success).to.equal(false);
  });

  it("refuses a body with one line naming the field, an unknown field first", function () {
    const cases: [unknown, string][] = [
      [[], "body: a JSON object {token, seed, model, hops?, …} is required"],
      [
        { seed: "x", model: "poison" },
        'token: a token address (0x and 40 hex digits), "native" or "all"',
      ],
      [
        { token: "all", seed: [`0x${"ab".repeat(32)}`, "x"], model: "poison" },
        "seed.1: a transaction hash or ADDRESS@BLOCK is required",
      ],
      [{ token: "all", seed: [], model: "poison" }, "seed: a list of one seed at least"],
      [
        { token: "all", seed: [`0x${"ab".repeat(32)}`, ` 0x${"AB".repeat(32)}`], model: "fifo" },
        `seed.1: seed 0x${"ab".repeat(32)} is given twice`,
      ],
      [
        { token: "all", seed: `0x${"12".repeat(20)}@7`, model: "fifo" },
        "seedAsset: a balance seed (ADDRESS@BLOCK) of every asset needs seedAsset, the asset it seeds",
      ],
      [
        { token: "native", seed: `0x${"ab".repeat(32)}`, seedAsset: "all", model: "fifo" },
        'seedAsset: a token address (0x and 40 hex digits) or "native"',
      ],
      [
        {
          token: "native",
          seed: `0x${"ab".repeat(32)}`,
          seedAsset: `0x${"12".repeat(20)}`,
          model: "fifo",
        },
        `seedAsset: 0x${"12".repeat(20)} is not the token traced (native)`,
      ],
      [
        { token: "native", seed: `0x${"ab".repeat(32)}`, model: "poison", hops: 65 },
        "hops: an integer from 0 to 64",
      ],
      [
        { token: "native", seed: `0x${"ab".repeat(32)}`, model: "taint" },
        "model: one of poison, haircut, fifo is required",
      ],
      [{ tokn: "native", model: "poison" }, 'body: unknown field "tokn"'],
      [
        { token: "native", seed: `0x${"ab".repeat(32)}`, model: "fifo", exitCategories: "mixer" },
        "exitCategories: a list of category names",
      ],
      [
        {
          token: "native",
          seed: `0x${"ab".repeat(32)}`,
          model: "fifo",
          exitCategories: ["exchange", "casino"],
        },
        'exitCategories.1: "casino" is not a category of service: expected exchange, bridge, ' +
          "mixer or a service of the GraphSense taxonomy (wallet_service, escrow_wallet, " +
          "gambling, payment_processor, market, atm, …)",
      ],
    ];
    for (const [body, message] of cases) {
      const parsed = TraceRequest.safeParse(body);
      expect(parsed.success, JSON.stringify(body)).to.equal(false);
      if (!parsed.success) expect(refusal(parsed.error, "body")).to.equal(message);
    }
    const seed = TraceRequest.parse({
      token: "native",
      seed: ` 0x${"ab".repeat(32)} `,
      model: "fifo",
    });
    expect(seed.seed).to.equal(`0x${"ab".repeat(32)}`);
    const many = TraceRequest.parse({
      token: "all",
      seed: [`0x${"ab".repeat(32)}`, `0x${"12".repeat(20)}@0010`],
      seedAsset: "native",
      model: "haircut",
    });
    expect(many.seed).to.deep.equal([`0x${"ab".repeat(32)}`, `0x${"12".repeat(20)}@0010`]);
    const screen = RiskScreenRequest.parse({ addresses: ["0x1"] });
    expect([screen.hops, screen.paths]).to.deep.equal([3, 3]);
    const tooMany = RiskScreenRequest.safeParse({
      addresses: Array.from({ length: 1001 }, () => "0x"),
    });
    expect(tooMany.success).to.equal(false);
    if (!tooMany.success)
      expect(refusal(tooMany.error, "body")).to.equal("addresses: at most 1000 per request");
  });

  it("reads a query's limit as the listing does: 1 to 500, 50 without one", function () {
    expect(pagination.limit.parse(undefined)).to.equal(50);
    expect(pagination.limit.parse("500")).to.equal(500);
    for (const bad of ["0", "501", "1e2", "-1", "", "12345"]) {
      const parsed = pagination.limit.safeParse(bad);
      expect(parsed.success, bad).to.equal(false);
      if (!parsed.success)
        expect(refusal(parsed.error, "limit")).to.equal("limit: must be an integer from 1 to 500");
    }
  });

  it("generates a document whose every body and answer is a named schema, and whose refs all resolve", function () {
    const doc = JSON.parse(JSON.stringify(openApiDocument)) as typeof openApiDocument;
    const refs: string[] = [];
    JSON.stringify(doc, (key, v: unknown) => {
      if (key === "$ref" && typeof v === "string") refs.push(v);
      return v;
    });
    for (const r of new Set(refs)) {
      const target = r
        .replace(/^#\//, "")
        .split("/")
        .reduce<unknown>((node, k) => (node as Record<string, unknown> | undefined)?.[k], doc);
      expect(target, r).to.not.equal(undefined);
    }
    for (const route of ROUTES) {
      for (const method of route.methods) {
        const op = doc.paths[route.path]?.[method === "GET" ? "get" : "post"];
        const ok = op?.responses["200"] as { content: Record<string, { schema: unknown }> };
        expect(ok.content["application/json"]?.schema, `${method} ${route.path}`).to.have.property(
          "$ref",
        );
      }
    }
    // Request bodies are described as clients write them: defaults are optional.
    const screen = doc.components.schemas["RiskScreenRequest"] as { required: string[] };
    expect(screen.required).to.deep.equal(["addresses"]);
    const limit = doc.paths["/cases"]?.get?.parameters?.find((p) => p.name === "limit");
    expect(limit?.schema).to.deep.include({
      type: "integer",
      minimum: 1,
      maximum: 500,
      default: 50,
    });
    expect(limit?.required).to.equal(undefined);
    const proof = doc.paths["/anchors/{id}/entries/verify"]?.get?.parameters?.find(
      (p) => p.name === "proof",
    );
    expect(proof).to.deep.include({ style: "form", explode: false });
  });
});
