/**
 * One contender in a race for a store's lock (test/db/store-lock.test.ts). Prints `ready`
 * once loaded, then reads one line `<startAtMs> <takeOverAtMs>` from stdin; at startAtMs it takes
 * the lock of `dir`, prints `won <pid>` and holds it for `holdMs`, or prints `refused <message>`
 * and exits 1. Having found the lock stale, it waits until takeOverAtMs before taking it over:
 * every contender has then judged the same lock stale, and they all try to take it over at once.
 *
 * usage: node --import tsx test/helpers/lock-racer.ts <dir> <holdMs>
 */
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";
import { lockStore } from "../../src/db/lock.js";

/** Sleeps most of the wait, then spins: the contenders go within a millisecond of each other. */
async function until(at: number): Promise<void> {
  await new Promise((r) => setTimeout(r, Math.max(0, at - Date.now() - 20)));
  while (Date.now() < at) {
    // spin
  }
}

async function race(dir: string, holdMs: string): Promise<void> {
  console.log("ready");
  const lines = createInterface({ input: process.stdin });
  const [startAt, takeOverAt] = await new Promise<number[]>((resolve) =>
    lines.once("line", (line) => resolve(line.split(" ").map(Number))),
  );
  lines.close();
  await until(startAt ?? 0);
  try {
    const lock = await lockStore(dir, "lock-racer", {
      beforeTakeover: () => until(takeOverAt ?? 0),
    });
    console.log(`won ${process.pid}`);
    await new Promise((r) => setTimeout(r, Number(holdMs)));
    lock.release();
  } catch (error) {
    console.log(`refused ${(error as Error).message}`);
    process.exitCode = 1;
  }
}

// Only when run as a program: the test runner also loads the files under test/.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [dir, holdMs] = process.argv.slice(2);
  if (dir === undefined || holdMs === undefined)
    throw new Error("usage: lock-racer <dir> <holdMs>");
  await race(dir, holdMs);
}
