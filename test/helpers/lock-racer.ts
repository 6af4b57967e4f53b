/**
 * One contender in a race for a store's lock (test/tracer/store-lock.test.ts): waits until the
 * given instant, takes the lock of `dir`, prints `won <pid>` and holds it for `holdMs`, or prints
 * `refused <message>` and exits 1.
 *
 * usage: node --import tsx test/helpers/lock-racer.ts <dir> <startAtMs> <holdMs>
 */
import { lockStore } from "../../src/tracer/store/lock.js";

const [dir, startAt, holdMs] = process.argv.slice(2);
if (dir === undefined || startAt === undefined || holdMs === undefined)
  throw new Error("usage: lock-racer <dir> <startAtMs> <holdMs>");
// Sleep most of the wait, then spin: the contenders start within a millisecond of each other.
await new Promise((r) => setTimeout(r, Math.max(0, Number(startAt) - Date.now() - 20)));
while (Date.now() < Number(startAt)) {
  // spin
}
try {
  const lock = await lockStore(dir, "lock-racer");
  console.log(`won ${process.pid}`);
  await new Promise((r) => setTimeout(r, Number(holdMs)));
  lock.release();
} catch (error) {
  console.log(`refused ${(error as Error).message}`);
  process.exitCode = 1;
}
