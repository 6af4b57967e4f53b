/**
 * A progress bar on stderr for historical sync: blocks, events, events/s. On a terminal it
 * redraws one line; otherwise it prints a line every few seconds.
 */
export class ProgressBar {
  private readonly started = Date.now();
  private lastPrint = 0;
  private readonly tty = process.stderr.isTTY === true;

  /** `units` name what is counted (default: blocks done, events read). */
  constructor(
    private readonly label: string,
    private readonly units: { done: string; events: string } = { done: "blocks", events: "events" },
  ) {}

  update(p: { done: number; total: number; events: number }, force = false): void {
    const now = Date.now();
    if (!force && now - this.lastPrint < (this.tty ? 100 : 5000)) return;
    this.lastPrint = now;
    const seconds = Math.max((now - this.started) / 1000, 0.001);
    const ratio = p.total <= 0 ? 1 : Math.min(1, p.done / p.total);
    const rate = Math.round(p.events / seconds);
    const text =
      `${this.label} ${(ratio * 100).toFixed(0).padStart(3)}% · ${this.units.done} ${p.done.toLocaleString("en")}/` +
      `${p.total.toLocaleString("en")} · ${p.events.toLocaleString("en")} ${this.units.events} · ` +
      `${rate.toLocaleString("en")} ${this.units.events}/s`;
    if (this.tty) {
      const width = 24;
      const filled = Math.round(ratio * width);
      process.stderr.write(`\r[${"#".repeat(filled)}${".".repeat(width - filled)}] ${text}\x1b[K`);
    } else {
      process.stderr.write(`${text}\n`);
    }
  }

  done(p: { done: number; total: number; events: number }): void {
    this.update(p, true);
    if (this.tty) process.stderr.write("\n");
  }
}
