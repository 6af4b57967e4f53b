/** Human output: aligned tables; machines get --json. */

/**
 * Formats rows as a table with a header, columns aligned, numbers right-aligned; without rows,
 * `empty` instead, if given.
 */
export function table(
  headers: readonly string[],
  rows: readonly (readonly unknown[])[],
  empty?: string,
): string {
  if (rows.length === 0 && empty !== undefined) return empty;
  const cells = rows.map((r) => r.map((c) => (c === null || c === undefined ? "" : String(c))));
  const widths = headers.map((h, i) =>
    Math.max(h.length, ...cells.map((r) => (r[i] ?? "").length)),
  );
  const numeric = headers.map(
    (_, i) => cells.length > 0 && cells.every((r) => /^-?\d+$/.test(r[i] ?? "") || r[i] === ""),
  );
  const line = (r: readonly string[]) =>
    r
      .map((c, i) => (numeric[i] === true ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return [line(headers), line(widths.map((w) => "-".repeat(w))), ...cells.map(line)].join("\n");
}

/** JSON with bigints as decimal strings. */
export function json(value: unknown): string {
  // One line, as every --json output: a pipeline reads one document per line.
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
}

/** One structured log line (follow mode). */
export function logLine(fields: Record<string, unknown>): string {
  return JSON.stringify({ time: new Date().toISOString(), ...fields }, (_k, v: unknown) =>
    typeof v === "bigint" ? v.toString() : v,
  );
}

/** ISO time of a unix timestamp (seconds). */
export function isoTime(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(".000Z", "Z");
}

/**
 * An error as one line of bounded length: an argument of 100 KB (or a newline in it) must not
 * flood the terminal or a log; the start and the end of the message stay readable.
 */
export function oneLine(message: string, max = 400): string {
  const flat = message.replace(/\s*[\r\n]+\s*/g, " ");
  if (flat.length <= max) return flat;
  const cut = flat.length - max;
  return `${flat.slice(0, max - 80)} …(${cut} characters left out)… ${flat.slice(-80)}`;
}

/** The share of `part` in `whole` as a percentage with two decimals, exactly (no floats). */
export function share(part: bigint, whole: bigint): string {
  if (whole === 0n) return "-";
  const basis = (part * 10_000n + whole / 2n) / whole;
  return `${basis / 100n}.${(basis % 100n).toString().padStart(2, "0")}%`;
}
