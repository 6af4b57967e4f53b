import type { Sql } from "./db.js";

const SQL_TYPES = ["text", "jsonb", "bigint", "int", "numeric", "boolean"] as const;

/** A column's type, as a batch insert reads it out of a row of JSON. */
export type SqlType = (typeof SQL_TYPES)[number];

/** One column a batch insert fills from each row. */
export interface Column {
  name: string;
  sqlType: SqlType;
  /** The row property that holds its value, unless the insert says otherwise: `name` in camelCase. */
  field: string;
}

/** The columns of a table a batch insert fills, as the code declares them with {@link columns}. */
export interface Columns<S extends string = string> {
  /** "name type, name type, …", in the order of a row's values. */
  spec: S;
  list: readonly Column[];
}

/** One value for each column of the list `S`: a tuple as long as the list. */
type ValuesOf<S extends string> = S extends `${string},${infer Rest}`
  ? [unknown, ...ValuesOf<Rest>]
  : [unknown];

/**
 * A row's values, in the order of its columns (one missing or one too many is a type error):
 * JSON numbers, strings, booleans or null; for a jsonb column any JSON value.
 */
export type Values<C extends Columns> = C extends Columns<infer S> ? ValuesOf<S> : never;

/** `S` without its leading spaces and line breaks. */
type TrimStart<S extends string> = S extends ` ${infer R}`
  ? TrimStart<R>
  : S extends `\n${infer R}`
    ? TrimStart<R>
    : S;
/** The column names of the list `S`. */
type NamesOf<S extends string> = S extends `${infer Part},${infer Rest}`
  ? NamesOf<Part> | NamesOf<Rest>
  : TrimStart<S> extends `${infer Name} ${string}`
    ? Name
    : never;
/** A snake_case name in camelCase, as {@link columns} turns it into a {@link Column.field}. */
type CamelCase<N extends string> = N extends `${infer Head}_${infer Tail}`
  ? `${Head}${Capitalize<CamelCase<Tail>>}`
  : N;

/** A row that holds each column's value in the property of its {@link Column.field} name. */
export type RowOf<C extends Columns> =
  C extends Columns<infer S> ? { [F in CamelCase<NamesOf<S>>]: unknown } : never;

/**
 * What {@link insertRows} writes. Table and column names are the code's, never the data's.
 * `values` gives a row's values in the order of the columns; without it, each column's value is
 * the row's property named by its {@link Column.field}, so a row type that lacks one of those
 * properties must give `values`.
 */
export type InsertRows<R, C extends Columns> = InsertSpec<R, C> &
  (R extends RowOf<C> ? { values?: (row: R) => Values<C> } : { values: (row: R) => Values<C> });

interface InsertSpec<R, C extends Columns> {
  table: string;
  /** Columns with one value for every row (a stream, a source): one parameter each. */
  fixed?: readonly { name: string; value: unknown }[];
  columns: C;
  rows: readonly R[];
  /** Rows per statement (default {@link INSERT_BATCH}). */
  batch?: number;
  /**
   * On a row whose key is stored already: replace these columns with the new row's. Without it,
   * such a row fails the insert. One statement can't update one row twice: no key twice in `rows`.
   */
  onConflict?: { key: readonly string[]; update: readonly string[] };
}

/** Rows per insert statement, unless told otherwise. */
export const INSERT_BATCH = 5000;

const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;

/** A table or column name, checked: the SQL of an insert is made of nothing else. */
export function identifier(name: string): string {
  if (!IDENTIFIER.test(name)) throw new Error(`not an SQL identifier: ${JSON.stringify(name)}`);
  return name;
}

/**
 * Declares the columns a batch insert fills, as a table's schema names them: "name type, name
 * type, …" with the types of {@link SqlType}. Checked here, once: the SQL of an insert is made of
 * these names and types and of nothing the rows hold. A row holds a column's value in the property
 * of its name in camelCase (block_number: blockNumber), unless the insert says otherwise.
 */
export function columns<const S extends string>(spec: S): Columns<S> {
  const list = spec.split(",").map((part): Column => {
    const [name, sqlType, ...rest] = part.trim().split(/\s+/);
    const type = SQL_TYPES.find((t) => t === sqlType);
    if (name === undefined || type === undefined || rest.length > 0)
      throw new Error(
        `not "name type" (types: ${SQL_TYPES.join(", ")}): ${JSON.stringify(part.trim())}`,
      );
    return {
      name: identifier(name),
      sqlType: type,
      field: name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase()),
    };
  });
  return { spec, list };
}

/** How the select reads column `i` of a row `r` (an array in column order). */
function read(type: SqlType, i: number): string {
  if (type === "text") return `r->>${i}`;
  if (type === "jsonb") return `r->${i}`;
  return `(r->>${i})::${type}`;
}

/** The statement {@link insertRows} runs for each batch: $1… the fixed values, then the rows. */
function insertStatement(spec: {
  table: string;
  fixed?: readonly { name: string }[];
  columns: Columns;
  onConflict?: { key: readonly string[]; update: readonly string[] };
}): string {
  const fixed = spec.fixed ?? [];
  const names = [...fixed, ...spec.columns.list].map((c) => identifier(c.name));
  const values = [
    ...fixed.map((_, i) => `$${i + 1}`),
    ...spec.columns.list.map((c, i) => read(c.sqlType, i)),
  ];
  let sql =
    `INSERT INTO ${identifier(spec.table)} (${names.join(", ")})\n` +
    `SELECT ${values.join(", ")}\n` +
    `FROM jsonb_array_elements($${fixed.length + 1}::jsonb) AS r`;
  if (spec.onConflict !== undefined) {
    const { key, update } = spec.onConflict;
    sql +=
      `\nON CONFLICT (${key.map(identifier).join(", ")}) DO ` +
      (update.length === 0
        ? "NOTHING"
        : `UPDATE SET ${update.map((c) => `${identifier(c)} = EXCLUDED.${c}`).join(", ")}`);
  }
  return sql;
}

/**
 * Inserts rows in batches, each batch one statement with one parameter (besides the fixed
 * values): a JSON array of rows (arrays in column order), taken apart by the server. Much cheaper
 * on both sides than one array parameter per column, whose elements the driver must quote and
 * escape one by one and the server unquote again (JSON columns most of all); the same on both
 * engines. Rows go in in their order; nothing is sent for none.
 */
export async function insertRows<R, C extends Columns>(
  tx: Sql,
  spec: InsertRows<R, C>,
): Promise<void> {
  const { rows } = spec;
  const values =
    spec.values ??
    ((row: R) => spec.columns.list.map((c) => (row as Record<string, unknown>)[c.field]));
  const batch = spec.batch ?? INSERT_BATCH;
  if (!Number.isSafeInteger(batch) || batch < 1)
    throw new Error(`batch must be a positive integer, got ${batch}`);
  if (rows.length === 0) return;
  const sql = insertStatement(spec);
  const fixed = (spec.fixed ?? []).map((f) => f.value);
  const width = spec.columns.list.length;
  for (let i = 0; i < rows.length; i += batch) {
    const chunk: readonly unknown[][] = rows.slice(i, i + batch).map(values);
    // The types hold the count to the columns' unless a list is built at run time: checked.
    if (chunk[0]?.length !== width)
      throw new Error(`${spec.table}: ${chunk[0]?.length} values for ${width} columns`);
    await tx.query(sql, [...fixed, JSON.stringify(chunk)]);
  }
}
