/** What `npm run bench:api` parses and prints, apart from the run itself (tested alone). */
import { parseArgs } from "node:util";
import { median } from "./bench.js";

/** The PostgreSQL server the benchmark creates its throw-away database on, by default. */
export const DEFAULT_PG_ADMIN = "postgres://root@127.0.0.1:5432/test";

export interface BenchApiOptions {
  /** Seconds per measured run of one route. */
  duration: number;
  /** Seconds of warm-up per route and engine, not counted. */
  warmup: number;
  /** Concurrent connections. */
  connections: number;
  /** Measured runs per route and engine (alternating between the routes); medians reported. */
  rounds: number;
  /** The admin URL of the PostgreSQL server, or null to measure PGlite alone. */
  postgres: string | null;
}

export const USAGE =
  "usage: bench-api.ts [--duration S] [--warmup S] [--connections N] [--rounds N] [--postgres URL | --no-postgres]";

/** The command line's options; throws one line (with the usage) on anything else. */
export function parseBenchApiArgs(argv: readonly string[]): BenchApiOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        duration: { type: "string", default: "10" },
        warmup: { type: "string", default: "2" },
        connections: { type: "string", default: "50" },
        rounds: { type: "string", default: "3" },
        postgres: { type: "string" },
        "no-postgres": { type: "boolean", default: false },
      },
    }));
  } catch (error) {
    throw new Error(`${(error as Error).message}; ${USAGE}`);
  }
  const int = (name: string, v: string, min: number, max: number): number => {
    const n = Number(v);
    if (!/^\d+$/.test(v) || n < min || n > max)
      throw new Error(
        `--${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`,
      );
    return n;
  };
  if (values["no-postgres"] && values.postgres !== undefined)
    throw new Error(`--postgres and --no-postgres exclude each other; ${USAGE}`);
  const postgres = values["no-postgres"] ? null : (values.postgres ?? DEFAULT_PG_ADMIN);
  if (postgres !== null && !/^postgres(ql)?:\/\//i.test(postgres))
    throw new Error(`--postgres must be a postgres:// URL, got ${JSON.stringify(postgres)}`);
  return {
    duration: int("duration", values.duration, 1, 300),
    warmup: int("warmup", values.warmup, 0, 60),
    connections: int("connections", values.connections, 1, 1000),
    rounds: int("rounds", values.rounds, 1, 20),
    postgres,
  };
}

/** One measured run of one route. */
export interface RouteRun {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** Requests that failed: timed out or lost their connection. */
  failed: number;
}

/** A route's figures: the medians of its runs (each figure's own median), and the runs. */
export interface RouteSummary extends RouteRun {
  runs: RouteRun[];
}

/** The medians of the runs' figures (`failed`: the sum), and the runs, rounded. */

export function summarize(runs: readonly RouteRun[]): RouteSummary {
  const r1 = (n: number) => Math.round(n * 10) / 10;
  return {
    rps: Math.round(median(runs.map((r) => r.rps))),
    p50Ms: r1(median(runs.map((r) => r.p50Ms))),
    p99Ms: r1(median(runs.map((r) => r.p99Ms))),
    failed: runs.reduce((s, r) => s + r.failed, 0),
    runs: runs.map((r) => ({
      rps: Math.round(r.rps),
      p50Ms: r1(r.p50Ms),
      p99Ms: r1(r.p99Ms),
      failed: r.failed,
    })),
  };
}
