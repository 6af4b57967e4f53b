import { expect } from "chai";
import { DEFAULT_PG_ADMIN, parseBenchApiArgs, summarize } from "../scripts/lib/bench-api.js";

describe("npm run bench:api: options and figures", function () {
  it("defaults to 50 connections, 2 s warm-up, 3 runs of 10 s, on PGlite and the local server", function () {
    expect(parseBenchApiArgs([])).to.deep.equal({
      duration: 10,
      warmup: 2,
      connections: 50,
      rounds: 3,
      postgres: DEFAULT_PG_ADMIN,
    });
    expect(
      parseBenchApiArgs(["--duration", "5", "--connections", "8", "--no-postgres"]),
    ).to.include({ duration: 5, connections: 8, postgres: null });
  });

  it("refuses an unknown option, a bad number and a URL that is not postgres://", function () {
    expect(() => parseBenchApiArgs(["--bogus"])).to.throw(/usage: bench-api/);
    expect(() => parseBenchApiArgs(["--duration", "0"])).to.throw(/--duration must be an integer/);
    expect(() => parseBenchApiArgs(["--rounds", "2.5"])).to.throw(/--rounds must be an integer/);
    expect(() => parseBenchApiArgs(["--postgres", "mysql://x/y"])).to.throw(/postgres:\/\//);
    expect(() => parseBenchApiArgs(["--postgres", DEFAULT_PG_ADMIN, "--no-postgres"])).to.throw(
      /exclude each other/,
    );
  });

  it("reports each figure's median over the runs and the failures' sum", function () {
    const s = summarize([
      { rps: 100.4, p50Ms: 9, p99Ms: 50, failed: 0 },
      { rps: 300, p50Ms: 3, p99Ms: 90.04, failed: 2 },
      { rps: 200, p50Ms: 5, p99Ms: 10, failed: 1 },
    ]);
    expect(s).to.include({ rps: 200, p50Ms: 5, p99Ms: 50, failed: 3 });
    expect(s.runs.map((r) => r.rps)).to.deep.equal([100, 300, 200]);
    // The JSON line's dotted keys are paths into it.
    const line = JSON.parse(JSON.stringify({ postgres: { cases: s } })) as {
      postgres: { cases: { rps: number; p99Ms: number } };
    };
    expect(line.postgres.cases.rps).to.equal(200);
    expect(line.postgres.cases.p99Ms).to.equal(50);
  });
});
