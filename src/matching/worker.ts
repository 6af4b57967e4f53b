/**
 * A worker thread of the {@link WorkerEngine} (engine.ts): takes one batch at a time, answers with
 * the batch's points (the buffer transferred, not copied) or the error that stopped it.
 */
import { parentPort } from "node:worker_threads";
import { MatchError } from "./errors.js";
import { hashAndMultiplyAll, multiplyAll } from "./group.js";
import type { BatchJob, BatchResult } from "./engine.js";

const port = parentPort;
if (port === null) throw new Error("src/matching/worker.ts runs only as a worker thread");

port.on("message", (job: BatchJob) => {
  let result: BatchResult;
  try {
    const points =
      job.op === "hash"
        ? hashAndMultiplyAll(job.scalar, job.sessionId, job.type, job.identifiers, job.first)
        : multiplyAll(job.scalar, job.points, job.first);
    // A fresh ArrayBuffer of exactly this batch, so that it can be transferred.
    const owned = new Uint8Array(points.length);
    owned.set(points);
    result = { id: job.id, points: owned };
    job.scalar.fill(0);
    port.postMessage(result, [owned.buffer]);
  } catch (error) {
    job.scalar.fill(0);
    result =
      error instanceof MatchError
        ? {
            id: job.id,
            error: { reason: error.reason, message: error.message, index: error.index },
          }
        : { id: job.id, error: { reason: "internal", message: (error as Error).message } };
    port.postMessage(result);
  }
});
