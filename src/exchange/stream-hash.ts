/**
 * SHA-256 of a long stream, computed on a worker thread once the stream is long. Sealing and
 * opening an envelope hash every byte twice (the commitment over the plaintext, the ciphertext's
 * hash) besides encrypting it: on the main thread the two hashes cost more than the cipher, so a
 * gigabyte export took twice as long as it needs to on a machine with a second core.
 *
 * Bytes are copied into 1 MiB batches, each handed (transferred, not copied) to one shared worker
 * that keeps a hash per stream and hands the batch back for reuse. A stream shorter than one batch never leaves the main thread: a
 * small delivery pays no message and no worker start. At most {@link MAX_IN_FLIGHT} batches of a
 * stream wait for the worker at once ({@link StreamHash.update} waits beyond), so memory stays
 * bounded when the worker is slower than the stream.
 */
import { createHash } from "node:crypto";
import { Worker } from "node:worker_threads";

/** Bytes per message to the worker. */
const BATCH_BYTES = 1024 * 1024;
/** Batches of one stream queued for the worker at most (8 MiB). */
const MAX_IN_FLIGHT = 8;

/** The worker: one hash per stream id; acknowledges each batch, answers a digest. Plain CommonJS. */
const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const { createHash } = require("node:crypto");
const hashes = new Map();
parentPort.on("message", (m) => {
  if (m.op === "update") {
    let h = hashes.get(m.id);
    if (h === undefined) hashes.set(m.id, (h = createHash("sha256")));
    h.update(new Uint8Array(m.buffer, 0, m.length));
    parentPort.postMessage({ id: m.id, op: "ack", buffer: m.buffer }, [m.buffer]);
  } else if (m.op === "digest") {
    const h = hashes.get(m.id) ?? createHash("sha256");
    hashes.delete(m.id);
    parentPort.postMessage({ id: m.id, op: "digest", digest: h.digest() });
  } else hashes.delete(m.id);
});
`;

type Reply =
  | { id: number; op: "ack"; buffer?: ArrayBuffer }
  | { id: number; op: "digest"; digest: Uint8Array };

/** The shared worker, started on first need; it keeps the process alive only while it works. */
class HashWorker {
  private static shared: HashWorker | undefined;
  private readonly worker: Worker;
  private readonly listeners = new Map<number, (reply: Reply) => void>();
  private failure: Error | undefined;
  private nextId = 1;

  private constructor() {
    this.worker = new Worker(WORKER_SOURCE, { eval: true });
    this.worker.unref();
    this.worker.on("message", (reply: Reply) => this.listeners.get(reply.id)?.(reply));
    const fail = (error: Error) => {
      this.failure = error;
      if (HashWorker.shared === this) HashWorker.shared = undefined;
      for (const listen of this.listeners.values()) listen({ id: 0, op: "ack" });
    };
    this.worker.on("error", fail);
    this.worker.on("exit", (code) => fail(new Error(`the hashing worker exited (${code})`)));
  }

  static get(): HashWorker {
    HashWorker.shared ??= new HashWorker();
    return HashWorker.shared;
  }

  /** The error that stopped the worker, if it stopped. */
  get error(): Error | undefined {
    return this.failure;
  }

  open(listen: (reply: Reply) => void): number {
    const id = this.nextId++;
    if (this.listeners.size === 0) this.worker.ref();
    this.listeners.set(id, listen);
    return id;
  }

  send(message: { id: number; op: string; buffer?: ArrayBuffer; length?: number }): void {
    this.worker.postMessage(message, message.buffer === undefined ? [] : [message.buffer]);
  }

  close(id: number): void {
    if (!this.listeners.delete(id)) return;
    if (this.listeners.size === 0) this.worker.unref();
  }
}

/** SHA-256 of a stream of bytes; call {@link dispose} if it is abandoned before {@link digest}. */
export class StreamHash {
  private batch: Buffer = Buffer.allocUnsafeSlow(BATCH_BYTES);
  /** Batches the worker handed back, to fill again (no garbage per megabyte). */
  private readonly free: Buffer[] = [];
  private used = 0;
  private worker: HashWorker | undefined;
  private id = 0;
  private inFlight = 0;
  private waiting: (() => void) | undefined;
  private result: ((digest: Uint8Array) => void) | undefined;
  private done = false;

  /** Adds `data`; the promise waits only while the worker is {@link MAX_IN_FLIGHT} batches behind. */
  async update(data: Uint8Array): Promise<void> {
    for (let from = 0; from < data.length;) {
      const n = Math.min(BATCH_BYTES - this.used, data.length - from);
      this.batch.set(data.subarray(from, from + n), this.used);
      this.used += n;
      from += n;
      if (this.used === BATCH_BYTES) await this.flush();
    }
  }

  private async flush(): Promise<void> {
    if (this.worker === undefined) {
      this.worker = HashWorker.get();
      this.id = this.worker.open((reply) => this.reply(reply));
    }
    while (this.inFlight >= MAX_IN_FLIGHT && this.worker.error === undefined)
      await new Promise<void>((resolve) => (this.waiting = resolve));
    this.check();
    // Its own memory (allocUnsafeSlow), never a SharedArrayBuffer: it can be transferred.
    const buffer = this.batch.buffer as ArrayBuffer;
    this.worker.send({ id: this.id, op: "update", buffer, length: this.used });
    this.inFlight++;
    this.batch = this.free.pop() ?? Buffer.allocUnsafeSlow(BATCH_BYTES);
    this.used = 0;
  }

  private reply(reply: Reply): void {
    if (reply.op === "digest") {
      this.result?.(reply.digest);
      return;
    }
    if (reply.id !== 0) this.inFlight--;
    if (reply.buffer !== undefined) this.free.push(Buffer.from(reply.buffer));
    const wake = this.waiting;
    this.waiting = undefined;
    wake?.();
    // A stopped worker wakes a pending digest too.
    if (reply.id === 0) this.result?.(new Uint8Array(0));
  }

  private check(): void {
    const error = this.worker?.error;
    if (error !== undefined) throw new Error(`SHA-256 could not be computed: ${error.message}`);
  }

  /** The hash of everything added. */
  async digest(): Promise<Buffer> {
    const worker = this.worker;
    this.done = true;
    if (worker === undefined)
      return createHash("sha256").update(this.batch.subarray(0, this.used)).digest();
    try {
      if (this.used > 0) await this.flush();
      const digest = await new Promise<Uint8Array>((resolve) => {
        this.result = resolve;
        this.check();
        worker.send({ id: this.id, op: "digest" });
      });
      this.check();
      return Buffer.from(digest);
    } finally {
      worker.close(this.id);
    }
  }

  /** Forgets the stream (on a failure): the worker drops its hash. */
  dispose(): void {
    if (this.worker === undefined || this.done) return;
    this.done = true;
    this.worker.send({ id: this.id, op: "drop" });
    this.worker.close(this.id);
  }
}
