/**
 * Where the scalar multiplications run: in the calling thread ({@link InlineEngine}, for small sets
 * and tests) or on a pool of worker threads ({@link WorkerEngine}, one per core), in batches of a
 * few thousand elements so that postMessage costs little next to the curve arithmetic.
 *
 * Compiled (the installed package, dist/), a worker imports worker.js. From the sources (the
 * repository), the worker file is TypeScript: each worker first registers tsx's loader (the same
 * one `bin/veritrace.mjs` registers in the main thread), then imports worker.ts; this works
 * whether the main thread was started by bin/veritrace.mjs, the tsx CLI or `hardhat test`.
 */
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { MatchError, type MatchFailureReason } from "./errors.js";
import { POINT_BYTES, hashAndMultiplyAll, multiplyAll } from "./group.js";

/** The curve work of a session, wherever it runs. Every list is n × 32 bytes. */
/** Identifiers to hash to the curve and multiply by a scalar, in a session's domain. */
export interface HashJob {
  scalar: Uint8Array;
  sessionId: Uint8Array;
  /** The identifiers' type (it separates the hash domains). */
  type: string;
  identifiers: readonly string[];
}

export interface CurveEngine {
  /** H(x)^scalar for every normalized identifier, in order. */
  hashAndMultiply(job: HashJob): Promise<Buffer>;
  /** X25519(scalar, u) for every point, in order; refuses non-canonical and small-order points. */
  multiply(scalar: Uint8Array, points: Uint8Array): Promise<Buffer>;
  /** Stops the threads, if any. */
  close(): Promise<void>;
}

/** One batch sent to a worker. */
export type BatchJob =
  | {
      op: "hash";
      id: number;
      scalar: Uint8Array;
      sessionId: Uint8Array;
      type: string;
      identifiers: string[];
      first: number;
    }
  | { op: "multiply"; id: number; scalar: Uint8Array; points: Uint8Array; first: number };

/** A worker's answer to a batch. */
export type BatchResult =
  | { id: number; points: Uint8Array }
  | { id: number; error: { reason: MatchFailureReason; message: string; index?: number } };

/** Elements per chunk between two yields of the event loop in the inline engine. */
const INLINE_CHUNK = 500;

/** Runs the work in the calling thread, yielding to the event loop between chunks. */
export class InlineEngine implements CurveEngine {
  async hashAndMultiply({ scalar, sessionId, type, identifiers }: HashJob): Promise<Buffer> {
    const out = Buffer.alloc(identifiers.length * POINT_BYTES);
    for (let i = 0; i < identifiers.length; i += INLINE_CHUNK) {
      const part = hashAndMultiplyAll(
        scalar,
        sessionId,
        type,
        identifiers.slice(i, i + INLINE_CHUNK),
        i,
      );
      out.set(part, i * POINT_BYTES);
      await yieldToEventLoop();
    }
    return out;
  }

  async multiply(scalar: Uint8Array, points: Uint8Array): Promise<Buffer> {
    checkLength(points);
    const out = Buffer.alloc(points.length);
    const step = INLINE_CHUNK * POINT_BYTES;
    for (let o = 0; o < points.length; o += step) {
      out.set(multiplyAll(scalar, points.subarray(o, o + step), o / POINT_BYTES), o);
      await yieldToEventLoop();
    }
    return out;
  }

  async close(): Promise<void> {}
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

function checkLength(points: Uint8Array): void {
  if (points.length % POINT_BYTES !== 0) {
    throw new MatchError(
      "invalid-point",
      `a list of points is ${points.length} bytes, not a multiple of 32`,
    );
  }
}

/** Loads tsx in the worker, then the TypeScript worker module. Plain CommonJS: `eval` workers. */
const BOOTSTRAP = `
const { workerData } = require("node:worker_threads");
(workerData.tsxApi === null
  ? import(workerData.entry)
  : import(workerData.tsxApi).then((tsx) => { tsx.register(); return import(workerData.entry); })
).catch((error) => { setImmediate(() => { throw error; }); });
`;

/** Whether this module runs compiled (dist/…/engine.js) rather than from its TypeScript source. */
const COMPILED = import.meta.url.endsWith(".js");

interface Pending {
  resolve: (points: Uint8Array) => void;
  reject: (error: Error) => void;
}

interface Slot {
  worker: Worker;
  busy: boolean;
}

export interface WorkerEngineOptions {
  /** Worker threads; default: the machine's available parallelism. */
  threads?: number;
  /** Elements per batch message; default 2,000. */
  batchSize?: number;
}

/** Runs the work on worker threads, batch by batch, every thread busy while batches are left. */
export class WorkerEngine implements CurveEngine {
  readonly threads: number;
  readonly batchSize: number;
  private readonly slots: Slot[] = [];
  private readonly queue: BatchJob[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private failure: Error | null = null;

  private constructor(threads: number, batchSize: number) {
    this.threads = threads;
    this.batchSize = batchSize;
  }

  /** Starts the threads and waits until each has loaded its module. */
  static async start(options: WorkerEngineOptions = {}): Promise<WorkerEngine> {
    const threads = options.threads ?? availableParallelism();
    const batchSize = options.batchSize ?? 2000;
    if (!Number.isInteger(threads) || threads < 1)
      throw new MatchError("internal", `threads must be ≥ 1, got ${threads}`);
    if (!Number.isInteger(batchSize) || batchSize < 1)
      throw new MatchError("internal", `batch size must be ≥ 1, got ${batchSize}`);
    const engine = new WorkerEngine(threads, batchSize);
    // Compiled code needs no loader (and an installed package has no tsx).
    const workerData = COMPILED
      ? { tsxApi: null, entry: new URL("./worker.js", import.meta.url).href }
      : {
          tsxApi: import.meta.resolve("tsx/esm/api"),
          entry: new URL("./worker.ts", import.meta.url).href,
        };
    for (let i = 0; i < threads; i++) {
      const worker = new Worker(BOOTSTRAP, { eval: true, workerData });
      const slot: Slot = { worker, busy: false };
      worker.on("message", (result: BatchResult) => engine.onResult(slot, result));
      worker.on("error", (error) => engine.onFailure(error));
      worker.on("exit", (code) => {
        if (code !== 0) engine.onFailure(new Error(`a PSI worker thread exited with code ${code}`));
      });
      engine.slots.push(slot);
    }
    // A no-op batch per thread: resolves once the thread has loaded worker.ts.
    await Promise.all(
      engine.slots.map(() =>
        engine.submit({
          op: "multiply",
          id: 0,
          scalar: new Uint8Array(32),
          points: new Uint8Array(0),
          first: 0,
        }),
      ),
    );
    return engine;
  }

  async hashAndMultiply({ scalar, sessionId, type, identifiers }: HashJob): Promise<Buffer> {
    const jobs: Promise<Uint8Array>[] = [];
    for (let i = 0; i < identifiers.length; i += this.batchSize) {
      jobs.push(
        this.submit({
          op: "hash",
          id: 0,
          scalar: Uint8Array.from(scalar),
          sessionId: Uint8Array.from(sessionId),
          type,
          identifiers: identifiers.slice(i, i + this.batchSize),
          first: i,
        }),
      );
    }
    return this.collect(jobs, identifiers.length * POINT_BYTES);
  }

  async multiply(scalar: Uint8Array, points: Uint8Array): Promise<Buffer> {
    checkLength(points);
    const jobs: Promise<Uint8Array>[] = [];
    const step = this.batchSize * POINT_BYTES;
    for (let o = 0; o < points.length; o += step) {
      jobs.push(
        this.submit({
          op: "multiply",
          id: 0,
          scalar: Uint8Array.from(scalar),
          points: new Uint8Array(points.subarray(o, o + step)), // a copy: it is transferred
          first: o / POINT_BYTES,
        }),
      );
    }
    return this.collect(jobs, points.length);
  }

  async close(): Promise<void> {
    this.failure ??= new Error("the PSI worker threads were stopped");
    for (const p of this.pending.values()) p.reject(this.failure);
    this.pending.clear();
    this.queue.length = 0;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  /** Waits for every batch; the first failure wins (later results are dropped). */
  private async collect(jobs: Promise<Uint8Array>[], bytes: number): Promise<Buffer> {
    const settled = await Promise.allSettled(jobs);
    const out = Buffer.alloc(bytes);
    let offset = 0;
    for (const s of settled) {
      if (s.status === "rejected") throw s.reason;
      out.set(s.value, offset);
      offset += s.value.length;
    }
    return out;
  }

  private submit(job: BatchJob): Promise<Uint8Array> {
    if (this.failure !== null) return Promise.reject(this.failure);
    const id = this.nextId++;
    const promise = new Promise<Uint8Array>((resolve, reject) =>
      this.pending.set(id, { resolve, reject }),
    );
    this.queue.push({ ...job, id });
    this.dispatch();
    return promise;
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (slot.busy) continue;
      const job = this.queue.shift();
      if (job === undefined) return;
      slot.busy = true;
      // The scalar copy and the points are the job's own: transfer them instead of copying.
      const transfer =
        job.op === "multiply" ? [job.scalar.buffer, job.points.buffer] : [job.scalar.buffer];
      slot.worker.postMessage(job, transfer as ArrayBuffer[]);
    }
  }

  private onResult(slot: Slot, result: BatchResult): void {
    slot.busy = false;
    const pending = this.pending.get(result.id);
    this.pending.delete(result.id);
    if (pending !== undefined) {
      if ("error" in result) {
        const { reason, message, index } = result.error;
        pending.reject(new MatchError(reason, message, index === undefined ? {} : { index }));
      } else pending.resolve(result.points);
    }
    this.dispatch();
  }

  private onFailure(error: Error): void {
    if (this.failure !== null) return;
    this.failure = new MatchError("internal", `a PSI worker thread failed: ${error.message}`, {
      cause: error,
    });
    for (const p of this.pending.values()) p.reject(this.failure);
    this.pending.clear();
    this.queue.length = 0;
  }
}

/** Sets at least this large go to worker threads in {@link engineFor}; smaller ones run inline. */
export const WORKER_THRESHOLD = 4000;

/**
 * An engine for `elements` elements: worker threads when the work is large enough to pay for
 * their start (about a second under tsx), inline otherwise. `threads` 0 forces inline.
 */
export async function engineFor(elements: number, threads?: number): Promise<CurveEngine> {
  if (threads === 0 || elements < WORKER_THRESHOLD) return new InlineEngine();
  return WorkerEngine.start(threads === undefined ? {} : { threads });
}

/** Runs `fn` with an engine for `elements` elements ({@link engineFor}), then closes it. */
export async function withEngine<T>(
  elements: number,
  threads: number | undefined,
  fn: (engine: CurveEngine) => Promise<T>,
): Promise<T> {
  const engine = await engineFor(elements, threads);
  try {
    return await fn(engine);
  } finally {
    await engine.close();
  }
}
