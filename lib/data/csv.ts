/**
 * CSV files (via `csv-parse`): `readCsv` loads a whole table; `csvRows` streams parsed rows for
 * `Dataset.fromCsv`. Both check every row's field count and every numeric value, and name the
 * file, the line and the column when something is wrong.
 */
import { createReadStream, readFileSync } from "node:fs";
import { parse as parseStream } from "csv-parse";
import { parse as parseSync } from "csv-parse/sync";
import type { Tensor } from "../tensor.js";
import { toTensor } from "./host.js";

/** Column types: numbers become float32 or int32 tensors; "string" columns stay strings (see `categories`). */
export type CsvDType = "float32" | "int32" | "string";

export interface CsvOptions {
  /** First row holds the column names (default true). Without a header columns are named "0", "1", … unless `names` is given. */
  header?: boolean;
  /** Column names when the file has no header. */
  names?: string[];
  /** Keep only these columns (names or 0-based indices), in this order. Default: all. */
  columns?: (string | number)[];
  /** Type per column name; unspecified columns are float32 when every value is numeric, else string. */
  dtypes?: Record<string, CsvDType>;
  /** Field delimiter (default ","). */
  delimiter?: string;
}

/** A parsed CSV table, column by column. */
export interface CsvTable {
  /** The file it came from (for messages). */
  source: string;
  /** Column names, in order. */
  columns: string[];
  /** Number of data rows (the header is not counted). */
  numRows: number;
  /** Type of each column. */
  dtypes: Record<string, CsvDType>;
  /** Values of each column: typed arrays for numeric columns, string arrays otherwise. */
  values: Record<string, Float32Array | Int32Array | string[]>;
  /** A [numRows, k] tensor of the given numeric columns (default: all); int32 only when all are int32. */
  toTensor(columns?: string[]): Tensor;
  /** A 1-D tensor of one numeric column. */
  column(name: string): Tensor;
  /** Integer codes for a column's distinct values (sorted), e.g. class names → labels. */
  categories(name: string): { codes: Int32Array; classes: string[] };
}

/** How file columns map to output columns; shared by the whole-file reader and the streaming reader. */
export interface CsvSchema {
  source: string;
  fileColumns: string[];
  /** Output column names and their index in the file. */
  names: string[];
  indices: number[];
}

/** Work out the output columns from the header (or `names`) and the `columns` option. */
export function csvSchema(source: string, firstRow: string[] | undefined, opts: CsvOptions, op: string): CsvSchema {
  const header = opts.header ?? true;
  const width = firstRow?.length ?? opts.names?.length ?? 0;
  const fileColumns = header ? (firstRow ?? []).map((s) => s.trim()) : opts.names ?? Array.from({ length: width }, (_, i) => String(i));
  if (!header && opts.names && firstRow && opts.names.length !== firstRow.length) {
    throw new Error(`${op}: ${source}: ${opts.names.length} names given but line 1 has ${firstRow.length} fields`);
  }
  const wanted = opts.columns ?? fileColumns.map((_, i) => i);
  const indices = wanted.map((c) => {
    const i = typeof c === "number" ? c : fileColumns.indexOf(c);
    if (i < 0 || i >= fileColumns.length) {
      throw new Error(`${op}: ${source}: no column ${JSON.stringify(c)}; the file has columns ${fileColumns.map((s) => JSON.stringify(s)).join(", ")}`);
    }
    return i;
  });
  return { source, fileColumns, names: indices.map((i) => fileColumns[i]), indices };
}

/** Parse a numeric field; `what` describes the place for the error message. */
export function parseNumber(text: string, dtype: "float32" | "int32", what: () => string, hint = ""): number {
  const s = text.trim();
  if (s === "" && dtype === "float32") return NaN; // a missing value
  const v = Number(s);
  if (s === "" || Number.isNaN(v) || (dtype === "int32" && !Number.isInteger(v))) {
    throw new Error(`${what()}: expected ${dtype === "int32" ? "an integer" : "a number"}, found ${JSON.stringify(text)}${hint}`);
  }
  return v;
}

function checkWidth(fields: string[], schema: CsvSchema, row: number, line: number, op: string): void {
  if (fields.length !== schema.fileColumns.length) {
    throw new Error(
      `${op}: ${schema.source}: row ${row} (line ${line}) has ${fields.length} fields, expected ${schema.fileColumns.length} ` +
        `(${schema.fileColumns.join(", ")})`,
    );
  }
}

interface Record_ { record: string[]; info: { lines: number } }

/** Read a whole CSV file into a table. See {@link CsvOptions}. Throws on ragged rows or bad numbers, naming file, row, line and column. */
export function readCsv(path: string, opts: CsvOptions = {}): CsvTable {
  let text: Buffer;
  try {
    text = readFileSync(path);
  } catch (e) {
    throw new Error(`readCsv: cannot read ${path}: ${(e as Error).message}`);
  }
  return parseCsv(text, { ...opts, source: path });
}

/** Parse CSV text (or bytes) already in memory; `source` names it in errors. */
export function parseCsv(text: string | Uint8Array, opts: CsvOptions & { source?: string } = {}): CsvTable {
  const source = opts.source ?? "<csv text>";
  let records: Record_[];
  try {
    records = parseSync(text, {
      delimiter: opts.delimiter ?? ",",
      relax_column_count: true, // we check widths ourselves to give a better message
      skip_empty_lines: true,
      info: true,
    }) as unknown as Record_[];
  } catch (e) {
    throw new Error(`readCsv: ${source}: ${(e as Error).message}`);
  }
  const header = opts.header ?? true;
  if (records.length === 0) throw new Error(`readCsv: ${source}: the file is empty (expected ${header ? "a header and " : ""}rows)`);
  const schema = csvSchema(source, records[0].record, opts, "readCsv");
  const rows = header ? records.slice(1) : records;
  rows.forEach((r, k) => checkWidth(r.record, schema, k + 1, r.info.lines, "readCsv"));

  const dtypes: Record<string, CsvDType> = {};
  const values: CsvTable["values"] = {};
  schema.names.forEach((name, c) => {
    const fileIdx = schema.indices[c];
    let dtype = opts.dtypes?.[name];
    if (!dtype) {
      const numeric = rows.every((r) => {
        const s = r.record[fileIdx].trim();
        return s === "" || !Number.isNaN(Number(s));
      });
      dtype = numeric && rows.length > 0 ? "float32" : "string";
    }
    dtypes[name] = dtype;
    if (dtype === "string") {
      values[name] = rows.map((r) => r.record[fileIdx]);
      return;
    }
    const out = dtype === "int32" ? new Int32Array(rows.length) : new Float32Array(rows.length);
    rows.forEach((r, k) => {
      out[k] = parseNumber(r.record[fileIdx], dtype as "float32" | "int32", () => `readCsv: ${source}: row ${k + 1} (line ${r.info.lines}), column ${JSON.stringify(name)}`);
    });
    values[name] = out;
  });

  const numeric = (name: string, op: string): Float32Array | Int32Array => {
    const v = values[name];
    if (v === undefined) throw new Error(`${op}: ${source}: no column ${JSON.stringify(name)} (columns: ${schema.names.join(", ")})`);
    if (Array.isArray(v)) {
      throw new Error(`${op}: ${source}: column ${JSON.stringify(name)} holds strings; use categories("${name}") for labels or pass dtypes: { "${name}": "float32" }`);
    }
    return v;
  };
  return {
    source,
    columns: schema.names,
    numRows: rows.length,
    dtypes,
    values,
    toTensor(columns = schema.names) {
      const cols = columns.map((c) => numeric(c, "CsvTable.toTensor"));
      const allInt = cols.every((c) => c instanceof Int32Array);
      const n = rows.length, k = cols.length;
      const data = allInt ? new Int32Array(n * k) : new Float32Array(n * k);
      cols.forEach((col, j) => {
        for (let i = 0; i < n; i++) data[i * k + j] = col[i];
      });
      return toTensor({ dtype: allInt ? "int32" : "float32", shape: [n, k], data });
    },
    column(name) {
      const col = numeric(name, "CsvTable.column");
      return toTensor({ dtype: col instanceof Int32Array ? "int32" : "float32", shape: [col.length], data: col.slice() });
    },
    categories(name) {
      const v = values[name];
      if (v === undefined) throw new Error(`CsvTable.categories: ${source}: no column ${JSON.stringify(name)} (columns: ${schema.names.join(", ")})`);
      const strings = Array.isArray(v) ? v : Array.from(v, String);
      const classes = [...new Set(strings)].sort();
      const index = new Map(classes.map((c, i) => [c, i]));
      return { codes: Int32Array.from(strings, (s) => index.get(s)!), classes };
    },
  };
}

/** One streamed row: the output columns' raw fields, with its data-row number and file line. */
export interface CsvRow {
  fields: string[];
  row: number;
  line: number;
}

/**
 * Stream a CSV file row by row without loading it (chunks of `highWaterMark` bytes). Yields the
 * schema first via `onSchema`, then each row's selected fields; ragged rows throw with file/row/line.
 */
export async function* csvRows(path: string, opts: CsvOptions & { highWaterMark?: number }, onSchema: (s: CsvSchema) => void, op = "Dataset.fromCsv"): AsyncGenerator<CsvRow> {
  const header = opts.header ?? true;
  const input = createReadStream(path, { highWaterMark: opts.highWaterMark ?? 64 * 1024 });
  const parser = parseStream({ delimiter: opts.delimiter ?? ",", relax_column_count: true, skip_empty_lines: true, info: true });
  const opened = new Promise<void>((resolve, reject) => {
    input.once("open", () => resolve());
    input.once("error", (e) => reject(new Error(`${op}: cannot read ${path}: ${e.message}`)));
  });
  await opened;
  input.on("error", (e) => parser.destroy(e));
  input.pipe(parser);
  let schema: CsvSchema | undefined;
  let row = 0;
  try {
    for await (const rec of parser as AsyncIterable<Record_>) {
      if (!schema) {
        schema = csvSchema(path, rec.record, opts, op);
        onSchema(schema);
        if (header) continue;
      }
      row++;
      checkWidth(rec.record, schema, row, rec.info.lines, op);
      yield { fields: schema.indices.map((i) => rec.record[i]), row, line: rec.info.lines };
    }
  } catch (e) {
    const msg = (e as Error).message;
    throw new Error(msg.startsWith(op) ? msg : `${op}: ${path}: ${msg}`);
  } finally {
    input.destroy();
    parser.destroy();
  }
  if (!schema) throw new Error(`${op}: ${path}: the file is empty (expected ${header ? "a header and " : ""}rows)`);
}
