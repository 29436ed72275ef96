/**
 * `Dataset`: a lazy, re-iterable pipeline of examples, in the style of tf.data.
 *
 * Contract (what `fit` relies on, see lib/data/README.md):
 * - Each `for await (const b of ds)` is one pass (one epoch); a shuffled dataset reshuffles every pass.
 * - After `batch(n)` each element is `{ xs, ys }`: xs [n, ...sample shape], ys [n, ...label shape]
 *   (ys absent for unlabeled data); the last batch is smaller unless `dropRemainder`.
 * - Every element a pass yields is a fresh set of tensors owned by the consumer: dispose them
 *   after use (`fit` disposes each batch after its step). Stages in between dispose what they drop.
 * - Rows stay plain typed arrays until the end of the pipeline, so shuffle/batch/take/skip cost no
 *   tensor allocations and a batch is uploaded to the backend once.
 */
import { createReadStream } from "node:fs";
import { open as openFile } from "node:fs/promises";
import { createGunzip } from "node:zlib";
import type { Tensor } from "../tensor.js";
import { tidy } from "../memory.js";
import { csvRows, parseNumber, type CsvOptions, type CsvSchema } from "./csv.js";
import { asHost, isTensor, sizeOfShape, toTensor, type HostArray } from "./host.js";
import { decodeValues, parseIdxHeader, type IdxHeader } from "./idx.js";
import { createRng, deriveSeed, permutation } from "./prng.js";

/** One example (before `batch`) or one batch (after): inputs `xs`, optional targets `ys`. */
export interface Example {
  xs: Tensor;
  ys?: Tensor;
}
/** A batch: xs [batch, ...], ys [batch, ...]. Same shape of object as an Example. */
export type Batch = Example;

type Field = Tensor | number | boolean | readonly number[] | Float32Array | Int32Array | Uint8Array | Float64Array;
/** What `batch` can stack: `{xs, ys?}` whose fields are tensors, numbers, arrays or typed arrays. */
export interface ExampleLike {
  xs: Field;
  ys?: Field;
}

/** A row or batch still on the host: becomes an Example of tensors when a consumer asks for it. */
interface HostExample {
  xs: HostArray;
  ys?: HostArray;
}

/** An element in flight: host arrays (cheap to move around) or a user value (after `map`). */
type Item<T> = { host: HostExample } | { value: T };

type Pass<T> = () => AsyncGenerator<Item<T>, void, undefined>;

function materialize<T>(item: Item<T>): T {
  if ("value" in item) return item.value;
  const { xs, ys } = item.host;
  const out: Example = { xs: toTensor(xs) };
  if (ys) out.ys = toTensor(ys);
  return out as unknown as T;
}

/** Tensors inside a value (itself, or fields of a plain object / array, one level deep). */
function tensorsIn(v: unknown): Tensor[] {
  if (isTensor(v)) return [v];
  if (Array.isArray(v)) return v.filter(isTensor);
  if (v && typeof v === "object") return Object.values(v).filter(isTensor);
  return [];
}

/** A copy of a value whose tensors (itself, or fields one level deep) are cloned. */
function cloneTensors<U>(v: U): U {
  if (isTensor(v)) return v.clone() as U;
  if (Array.isArray(v)) return v.map((e) => (isTensor(e) ? e.clone() : e)) as U;
  if (v && typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) {
    return Object.fromEntries(Object.entries(v).map(([k, e]) => [k, isTensor(e) ? e.clone() : e])) as U;
  }
  return v;
}

function disposeItem<T>(item: Item<T>): void {
  if ("value" in item) for (const t of tensorsIn(item.value)) t.dispose();
}

/** Convert one field of a user example to a host array (reads tensors back, then disposes them: the pipeline owns them). */
async function fieldToHost(v: Field, op: string, which: string): Promise<HostArray> {
  if (isTensor(v)) {
    const host = asHost(await v.data(), v.shape, v.dtype);
    v.dispose();
    return host;
  }
  if (typeof v === "number" || typeof v === "boolean") return { dtype: "float32", shape: [], data: Float32Array.of(Number(v)) };
  if (v instanceof Int32Array) return { dtype: "int32", shape: [v.length], data: v };
  if (ArrayBuffer.isView(v)) return { dtype: "float32", shape: [v.length], data: Float32Array.from(v) };
  if (Array.isArray(v)) {
    const flat = (v as unknown[]).flat(Infinity) as number[];
    if (flat.some((n) => typeof n !== "number")) throw new Error(`${op}: ${which} holds a non-number; expected numbers, arrays or tensors`);
    const shape: number[] = [];
    for (let a: unknown = v; Array.isArray(a); a = a[0]) shape.push(a.length);
    if (sizeOfShape(shape) !== flat.length) throw new Error(`${op}: ${which} is a ragged nested array (shape [${shape.join(", ")}] vs ${flat.length} values)`);
    return { dtype: "float32", shape, data: Float32Array.from(flat) };
  }
  throw new Error(`${op}: ${which} must be a tensor, number or array; got ${typeof v}`);
}

async function itemToHost<T>(item: Item<T>, op: string): Promise<HostExample> {
  if ("host" in item) return item.host;
  const v = item.value as unknown as ExampleLike;
  if (!v || typeof v !== "object" || !("xs" in v)) {
    throw new Error(`${op}: elements must be { xs, ys? } objects; got ${isTensor(v) ? "a bare Tensor (wrap it: map(t => ({ xs: t })))" : typeof v}`);
  }
  const xs = await fieldToHost(v.xs, op, "xs");
  return v.ys === undefined ? { xs } : { xs, ys: await fieldToHost(v.ys, op, "ys") };
}

/** Stack equally-shaped host arrays along a new first axis. */
function stackHost(parts: HostArray[], op: string, which: string): HostArray {
  const first = parts[0];
  const rowSize = first.data.length;
  const data = first.dtype === "int32" ? new Int32Array(rowSize * parts.length) : new Float32Array(rowSize * parts.length);
  parts.forEach((p, i) => {
    if (p.data.length !== rowSize || p.shape.length !== first.shape.length || p.shape.some((d, k) => d !== first.shape[k])) {
      throw new Error(`${op}: element ${i} of the batch has ${which} shape [${p.shape.join(", ")}] but element 0 has [${first.shape.join(", ")}]; all elements must have the same shape`);
    }
    data.set(p.data, i * rowSize);
  });
  return { dtype: first.dtype, shape: [parts.length, ...first.shape], data };
}

/** Row i of a host array as a view (no copy). */
function rowView(h: HostArray, i: number): HostArray {
  const shape = h.shape.slice(1);
  const n = sizeOfShape(shape);
  return { dtype: h.dtype, shape, data: h.data.subarray(i * n, (i + 1) * n) as Float32Array | Int32Array };
}

/**
 * In-memory rows in a per-pass order: the fast path for `fromTensors → shuffle/take/skip/split → batch`,
 * which gathers each batch straight from the arrays instead of passing one element at a time.
 * `order()` is called exactly once per pass (stateful stages such as shuffle count passes with it).
 */
interface RowPlan {
  load: () => Promise<HostExample>;
  order: () => Int32Array;
}

function planPass<T>(plan: RowPlan): Pass<T> {
  return async function* () {
    const { xs, ys } = await plan.load();
    const order = plan.order();
    for (let k = 0; k < order.length; k++) {
      const i = order[k];
      yield { host: ys ? { xs: rowView(xs, i), ys: rowView(ys, i) } : { xs: rowView(xs, i) } };
    }
  };
}

/** Copy rows `order[start … end)` of a host array into one new batch array. */
function gatherBatch(h: HostArray, order: Int32Array, start: number, end: number): HostArray {
  const shape = h.shape.slice(1);
  const rowSize = sizeOfShape(shape);
  const data = h.dtype === "int32" ? new Int32Array((end - start) * rowSize) : new Float32Array((end - start) * rowSize);
  for (let k = start; k < end; k++) {
    const i = order[k];
    if (rowSize === 1) data[k - start] = h.data[i];
    else data.set(h.data.subarray(i * rowSize, (i + 1) * rowSize), (k - start) * rowSize);
  }
  return { dtype: h.dtype, shape: [end - start, ...shape], data };
}

export interface FromIdxOptions {
  /** Multiply pixel/feature values by this (default 1/255 for uint8 files, 1 otherwise). */
  scale?: number;
  /** Bytes read from disk at a time (default 64 KiB): memory stays bounded whatever the file size. */
  chunkBytes?: number;
  /** When given, every label must be an integer in 0…numClasses-1 (checked as the pass reads it). */
  numClasses?: number;
}

export interface FromCsvOptions extends Omit<CsvOptions, "columns" | "dtypes"> {
  /** The target column (name or index). Omit for unlabeled data (elements have no ys). */
  label?: string | number;
  /** Feature columns (names or indices); default every column except the label. */
  features?: (string | number)[];
  /** dtype of the label: "int32" (default, class labels) or "float32" (regression). */
  labelDtype?: "int32" | "float32";
  /** Bytes read from disk at a time (default 64 KiB). */
  chunkBytes?: number;
}

/** Reads exact byte counts from a chunked stream (raw or gunzipped), without holding the whole file. */
class ByteReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private done = false;
  /** Bytes handed out so far (the offset of the next read in the decompressed stream). */
  offset = 0;
  constructor(private readonly it: AsyncIterator<Buffer>) {}
  /** Exactly `n` bytes, or fewer only at end of stream. */
  async read(n: number): Promise<Uint8Array> {
    while (this.buffered < n && !this.done) {
      const step = await this.it.next();
      if (step.done) this.done = true;
      else {
        this.chunks.push(step.value);
        this.buffered += step.value.length;
      }
    }
    const all = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
    const take = Math.min(n, all.length);
    const out = all.subarray(0, take);
    const rest = all.subarray(take);
    this.chunks = rest.length ? [rest] : [];
    this.buffered = rest.length;
    this.offset += take;
    return out;
  }
  async close(): Promise<void> {
    await this.it.return?.();
  }
}

async function isGzipFile(path: string, op: string): Promise<boolean> {
  let fh;
  try {
    fh = await openFile(path, "r");
  } catch (e) {
    throw new Error(`${op}: cannot read ${path}: ${(e as Error).message}`);
  }
  try {
    const b = Buffer.alloc(2);
    const { bytesRead } = await fh.read(b, 0, 2, 0);
    return bytesRead === 2 && b[0] === 0x1f && b[1] === 0x8b;
  } finally {
    await fh.close();
  }
}

async function openIdxStream(path: string, chunkBytes: number, op: string): Promise<{ reader: ByteReader; header: IdxHeader }> {
  const gz = await isGzipFile(path, op);
  const file = createReadStream(path, { highWaterMark: chunkBytes });
  const stream = gz ? file.pipe(createGunzip({ chunkSize: Math.max(64, chunkBytes) })) : file;
  if (gz) file.on("error", (e) => stream.destroy(e));
  const raw = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  // Name the file (and gzip damage) in every stream error.
  const named: AsyncIterator<Buffer> = {
    next: async () => {
      try {
        return await raw.next();
      } catch (e) {
        throw new Error(`${op}: ${path}: ${gz ? "corrupt or truncated gzip data" : "read failed"} (${(e as Error).message})`);
      }
    },
    return: async () => {
      file.destroy();
      stream.destroy();
      return { done: true, value: undefined };
    },
  };
  const reader = new ByteReader(named);
  const magic = await reader.read(4);
  const ndims = magic.length === 4 ? magic[3] : 0;
  const rest = await reader.read(4 * ndims);
  const headerBytes = Buffer.concat([magic, rest]);
  try {
    return { reader, header: parseIdxHeader(headerBytes, path) };
  } catch (e) {
    await reader.close();
    throw e;
  }
}

/** A lazy, re-iterable sequence of elements. Build with the static `from…` methods; chain transformations. */
export class Dataset<T = Example> implements AsyncIterable<T> {
  /** @internal */
  private constructor(
    private readonly pass: Pass<T>,
    /** Number of elements in one pass, when known (batches after `batch`). */
    readonly size: number | undefined,
    /** True when each pass may produce a different order (a shuffle without fixed per-pass order). */
    private readonly reshuffles = false,
    /** True when elements come from disk or a generator: shuffle buffers stay bounded by default. */
    private readonly streamed = false,
    /** Set for in-memory rows (see RowPlan): lets batch() gather directly. */
    private readonly rows?: RowPlan,
  ) {}

  /** A dataset over in-memory rows in the order the plan gives each pass. */
  private static planned<U>(plan: RowPlan, size: number, reshuffles: boolean): Dataset<U> {
    return new Dataset<U>(planPass<U>(plan), size, reshuffles, false, plan);
  }

  // ---------------- sources ----------------

  /**
   * Slices of `x` (and `y`) along the first axis: element i is `{ xs: x[i], ys: y[i] }`.
   * The tensors are read once, on the first pass; the dataset does not dispose them.
   */
  static fromTensors(x: Tensor, y?: Tensor): Dataset<Example> {
    if (x.shape.length === 0) throw new Error(`Dataset.fromTensors: x must have a first (example) axis; got a scalar`);
    const n = x.shape[0];
    if (y && (y.shape.length === 0 || y.shape[0] !== n)) {
      throw new Error(`Dataset.fromTensors: x has ${n} examples (shape [${x.shape.join(", ")}]) but y has shape [${y.shape.join(", ")}]; their first dimensions must match`);
    }
    let loaded: Promise<{ xs: HostArray; ys?: HostArray }> | undefined;
    const load = () =>
      (loaded ??= (async () => {
        const xs = asHost(await x.data(), x.shape, x.dtype);
        const ys = y ? asHost(await y.data(), y.shape, y.dtype) : undefined;
        return { xs, ys };
      })());
    const identity = Int32Array.from({ length: n }, (_, i) => i);
    return Dataset.planned<Example>({ load, order: () => identity }, n, false);
  }

  /** Alias of {@link Dataset.fromTensors} (tf.data's name). */
  static fromTensorSlices(x: Tensor, y?: Tensor): Dataset<Example> {
    return Dataset.fromTensors(x, y);
  }

  /**
   * Elements from a generator function, called once per pass (so it must start over each time).
   * Yield `{ xs, ys }` objects to use `batch`; tensors yielded become the pipeline's to dispose.
   * Plain numbers and arrays batch as float32: yield an int32 tensor for integer class labels.
   */
  static fromGenerator<U>(generator: () => Iterable<U> | AsyncIterable<U>, opts: { size?: number } = {}): Dataset<U> {
    return new Dataset<U>(async function* () {
      for await (const value of generator()) yield { value };
    }, opts.size, false, true);
  }

  /**
   * Elements of an array. Tensors in it (the item itself or its fields) are cloned for every pass,
   * so the consumer owns what it receives and the array's tensors stay intact.
   */
  static fromArray<U>(items: readonly U[]): Dataset<U> {
    return new Dataset<U>(async function* () {
      for (const value of items) yield { value: cloneTensors(value) };
    }, items.length);
  }

  /**
   * Stream an IDX images file (and optionally its labels file) from disk, raw or gzipped, reading
   * `chunkBytes` at a time so the file never has to fit in memory. Elements: xs float32 [...sample
   * shape] (uint8 values × `scale`, default 1/255), ys int32 scalar. Headers are checked up front;
   * a file cut short fails when the pass reaches the missing bytes, naming the file and offset.
   */
  static async fromIdxFiles(imagesPath: string, labelsPath?: string, opts: FromIdxOptions = {}): Promise<Dataset<Example>> {
    const op = "Dataset.fromIdxFiles";
    const chunkBytes = opts.chunkBytes ?? 64 * 1024;
    const probe = async (path: string) => {
      const { reader, header } = await openIdxStream(path, chunkBytes, op);
      await reader.close();
      return header;
    };
    const xh = await probe(imagesPath);
    const yh = labelsPath ? await probe(labelsPath) : undefined;
    const n = xh.shape[0];
    if (yh && yh.shape[0] !== n) {
      throw new Error(`${op}: ${labelsPath} has ${yh.shape[0]} labels but ${imagesPath} has ${n} examples; they must match`);
    }
    const scale = opts.scale ?? (xh.type === "uint8" ? 1 / 255 : 1);
    const sampleShape = xh.shape.slice(1);
    const sampleCount = sizeOfShape(sampleShape);
    const labelShape = yh ? yh.shape.slice(1) : [];
    const labelCount = sizeOfShape(labelShape);
    const readRecord = async (reader: ByteReader, header: IdxHeader, count: number, path: string, k: number) => {
      const bytes = count * header.bytesPerValue;
      const at = reader.offset;
      const chunk = await reader.read(bytes);
      if (chunk.length < bytes) {
        throw new Error(
          `${op}: ${path}: truncated at example ${k} (byte offset ${at + chunk.length}${at + chunk.length === at ? "" : ", mid-record"}): ` +
            `header says ${header.shape[0]} examples of ${bytes} bytes, the data ends after ${k} complete examples`,
        );
      }
      return decodeValues(chunk, header, count, 0);
    };
    return new Dataset<Example>(async function* () {
      const xs = await openIdxStream(imagesPath, chunkBytes, op);
      const ys = labelsPath ? await openIdxStream(labelsPath, chunkBytes, op) : undefined;
      try {
        for (let k = 0; k < n; k++) {
          const xv = await readRecord(xs.reader, xs.header, sampleCount, imagesPath, k);
          const xData = new Float32Array(sampleCount);
          for (let i = 0; i < sampleCount; i++) xData[i] = xv[i] * scale;
          const item: HostExample = { xs: { dtype: "float32", shape: sampleShape, data: xData } };
          if (ys) {
            const at = ys.reader.offset;
            const yv = await readRecord(ys.reader, ys.header, labelCount, labelsPath!, k);
            if (opts.numClasses !== undefined) {
              for (let j = 0; j < yv.length; j++) {
                if (!(yv[j] >= 0 && yv[j] < opts.numClasses && Number.isInteger(yv[j]))) {
                  throw new Error(`${op}: ${labelsPath}: label ${yv[j]} out of range at example ${k} (byte offset ${at + j * ys.header.bytesPerValue}); expected 0…${opts.numClasses - 1}`);
                }
              }
            }
            item.ys = asHost(yv, labelShape, ys.header.type === "float32" || ys.header.type === "float64" ? "float32" : "int32");
          }
          yield { host: item };
        }
        const extra = await xs.reader.read(1);
        if (extra.length) throw new Error(`${op}: ${imagesPath}: trailing bytes after the ${n} examples the header declares (at byte offset ${xs.reader.offset - 1})`);
      } finally {
        await xs.reader.close();
        await ys?.reader.close();
      }
    }, n, false, true);
  }

  /**
   * Stream a CSV file row by row (numeric features → xs float32 [F], `label` → ys scalar) without
   * loading it. The header and column names are checked up front; a ragged row or a non-numeric
   * value fails when the pass reaches it, naming file, row, line and column. Size is unknown (undefined).
   */
  static async fromCsv(path: string, opts: FromCsvOptions = {}): Promise<Dataset<Example>> {
    const op = "Dataset.fromCsv";
    const csvOpts = { header: opts.header, names: opts.names, delimiter: opts.delimiter, highWaterMark: opts.chunkBytes };
    const layout = (schema: CsvSchema) => {
      const col = (c: string | number) => {
        const i = typeof c === "number" ? c : schema.fileColumns.indexOf(c);
        if (i < 0 || i >= schema.fileColumns.length) {
          throw new Error(`${op}: ${path}: no column ${JSON.stringify(c)}; the file has columns ${schema.fileColumns.map((s) => JSON.stringify(s)).join(", ")}`);
        }
        return i;
      };
      const label = opts.label === undefined ? undefined : col(opts.label);
      const features = (opts.features ?? schema.fileColumns.map((_, i) => i).filter((i) => i !== label)).map(col);
      return { label, features, names: schema.fileColumns };
    };
    // Read just the header now so a wrong column name fails at construction, not mid-training.
    for await (const _ of csvRows(path, csvOpts, (s) => layout(s), op)) break;
    const labelDtype = opts.labelDtype ?? "int32";
    return new Dataset<Example>(async function* () {
      let cols: ReturnType<typeof layout> | undefined;
      for await (const r of csvRows(path, csvOpts, (s) => (cols = layout(s)), op)) {
        const { label, features, names } = cols!;
        const where = (c: number) => () => `${op}: ${path}: row ${r.row} (line ${r.line}), column ${JSON.stringify(names[c])}`;
        const x = new Float32Array(features.length);
        features.forEach((c, j) => (x[j] = parseNumber(r.fields[c], "float32", where(c))));
        const item: HostExample = { xs: { dtype: "float32", shape: [features.length], data: x } };
        if (label !== undefined) {
          const v = parseNumber(r.fields[label], labelDtype, where(label), labelDtype === "int32" ? ' (pass labelDtype: "float32" for a regression target)' : "");
          item.ys = labelDtype === "int32" ? { dtype: "int32", shape: [], data: Int32Array.of(v) } : { dtype: "float32", shape: [], data: Float32Array.of(v) };
        }
        yield { host: item };
      }
    }, undefined, false, true);
  }

  // ---------------- transformations ----------------

  /**
   * Group consecutive elements into batches `{ xs: [n, ...], ys: [n, ...] }`. The last batch holds
   * the remainder unless `dropRemainder`. Elements must be `{ xs, ys? }` with equal shapes.
   */
  batch(this: Dataset<ExampleLike>, batchSize: number, opts: { dropRemainder?: boolean } = {}): Dataset<Batch> {
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`Dataset.batch: batchSize must be an integer ≥ 1, got ${batchSize}`);
    const upstream = this.pass;
    const drop = opts.dropRemainder ?? false;
    const size = this.size === undefined ? undefined : drop ? Math.floor(this.size / batchSize) : Math.ceil(this.size / batchSize);
    const plan = this.rows;
    if (plan) {
      // In-memory rows: gather each batch straight from the arrays (no per-element objects).
      return new Dataset<Batch>(async function* () {
        const { xs, ys } = await plan.load();
        const order = plan.order();
        const end = drop ? order.length - (order.length % batchSize) : order.length;
        for (let start = 0; start < end; start += batchSize) {
          const stop = Math.min(start + batchSize, end);
          const bx = gatherBatch(xs, order, start, stop);
          yield { host: ys ? { xs: bx, ys: gatherBatch(ys, order, start, stop) } : { xs: bx } };
        }
      }, size, this.reshuffles);
    }
    const stack = async (items: Item<ExampleLike>[]): Promise<Item<Batch>> => {
      const hosts: HostExample[] = [];
      for (const it of items) hosts.push(await itemToHost(it, "Dataset.batch"));
      const labeled = hosts[0].ys !== undefined;
      if (hosts.some((h) => (h.ys !== undefined) !== labeled)) throw new Error(`Dataset.batch: some elements have ys and some do not`);
      const xs = stackHost(hosts.map((h) => h.xs), "Dataset.batch", "xs");
      return { host: labeled ? { xs, ys: stackHost(hosts.map((h) => h.ys!), "Dataset.batch", "ys") } : { xs } };
    };
    return new Dataset<Batch>(async function* () {
      let pending: Item<ExampleLike>[] = [];
      for await (const item of upstream()) {
        pending.push(item);
        if (pending.length === batchSize) {
          const full = pending;
          pending = [];
          yield await stack(full);
        }
      }
      if (pending.length && !drop) yield await stack(pending);
      else for (const it of pending) disposeItem(it);
    }, size, this.reshuffles, this.streamed);
  }

  /**
   * Shuffle with a buffer of `bufferSize` elements (default: the whole dataset for in-memory data,
   * 10,000 for streams from disk or generators) — a full uniform shuffle when the buffer holds everything. Each pass
   * reshuffles; with a `seed`, pass k's order is the same on every run.
   */
  shuffle(seed?: number, bufferSize?: number): Dataset<T> {
    const upstream = this.pass;
    // In-memory data: a full shuffle by default. Streams: a bounded buffer, or memory would hold the whole file.
    const buffer = bufferSize ?? (this.streamed ? Math.min(this.size ?? 10_000, 10_000) : this.size ?? 10_000);
    if (!Number.isInteger(buffer) || buffer < 1) throw new Error(`Dataset.shuffle: bufferSize must be an integer ≥ 1, got ${bufferSize}`);
    const base = seed ?? Math.floor(Math.random() * 2 ** 32);
    let passes = 0;
    const plan = this.rows;
    if (plan && this.size !== undefined && buffer >= this.size) {
      // A full shuffle of in-memory rows is a permutation of their order.
      return Dataset.planned<T>(
        {
          load: plan.load,
          order: () => {
            const parent = plan.order();
            const perm = permutation(parent.length, createRng(deriveSeed(base, passes++)));
            for (let k = 0; k < perm.length; k++) perm[k] = parent[perm[k]];
            return perm;
          },
        },
        this.size,
        true,
      );
    }
    return new Dataset<T>(async function* () {
      const rng = createRng(deriveSeed(base, passes++));
      const pool: Item<T>[] = [];
      for await (const item of upstream()) {
        if (pool.length < buffer) {
          pool.push(item);
          continue;
        }
        const j = rng.int(pool.length);
        const out = pool[j];
        pool[j] = item;
        yield out;
      }
      // Drain what is left in a random order.
      const order = permutation(pool.length, rng);
      for (let k = 0; k < order.length; k++) yield pool[order[k]];
    }, this.size, true, this.streamed);
  }

  /**
   * Apply `fn` to every element. `fn` must be synchronous; it runs inside `tidy`, so its
   * intermediates are freed, and input tensors it does not return are disposed (the pipeline owns them).
   */
  map<U>(fn: (element: T, index: number) => U): Dataset<U> {
    const upstream = this.pass;
    return new Dataset<U>(async function* () {
      let index = 0;
      for await (const item of upstream()) {
        const input = materialize(item);
        let output: U;
        try {
          output = tidy(() => fn(input, index++));
        } catch (e) {
          for (const t of tensorsIn(input)) t.dispose();
          throw e;
        }
        const kept = new Set(tensorsIn(output));
        for (const t of tensorsIn(input)) if (!kept.has(t)) t.dispose();
        yield { value: output };
      }
    }, this.size, this.reshuffles, this.streamed);
  }

  /** Keep the elements for which `predicate` is true (rejected elements' tensors are disposed). Size becomes unknown. May be async (to read a tensor). */
  filter(predicate: (element: T, index: number) => boolean | Promise<boolean>): Dataset<T> {
    const upstream = this.pass;
    return new Dataset<T>(async function* () {
      let index = 0;
      for await (const item of upstream()) {
        const value = materialize(item);
        if (await predicate(value, index++)) yield { value };
        else for (const t of tensorsIn(value)) t.dispose();
      }
    }, undefined, this.reshuffles, this.streamed);
  }

  /** The first `count` elements of each pass. */
  take(count: number): Dataset<T> {
    checkCount("take", count);
    if (this.rows && this.size !== undefined) {
      const plan = this.rows;
      return Dataset.planned<T>({ load: plan.load, order: () => plan.order().subarray(0, count) }, Math.min(count, this.size), this.reshuffles);
    }
    const upstream = this.pass;
    return new Dataset<T>(async function* () {
      if (count === 0) return;
      let k = 0;
      for await (const item of upstream()) {
        yield item;
        if (++k >= count) return;
      }
    }, this.size === undefined ? undefined : Math.min(count, this.size), this.reshuffles, this.streamed);
  }

  /** All but the first `count` elements of each pass (skipped elements are disposed). */
  skip(count: number): Dataset<T> {
    checkCount("skip", count);
    if (this.rows && this.size !== undefined) {
      const plan = this.rows;
      return Dataset.planned<T>({ load: plan.load, order: () => plan.order().subarray(count) }, Math.max(0, this.size - count), this.reshuffles);
    }
    const upstream = this.pass;
    return new Dataset<T>(async function* () {
      let k = 0;
      for await (const item of upstream()) {
        if (k++ < count) disposeItem(item);
        else yield item;
      }
    }, this.size === undefined ? undefined : Math.max(0, this.size - count), this.reshuffles, this.streamed);
  }

  /** Repeat the dataset `times` passes per pass (default: forever — then bound it with `take`). */
  repeat(times = Infinity): Dataset<T> {
    const upstream = this.pass;
    return new Dataset<T>(async function* () {
      for (let r = 0; r < times; r++) yield* upstream();
    }, this.size === undefined || !Number.isFinite(times) ? undefined : this.size * times, this.reshuffles, this.streamed);
  }

  /**
   * Split into parts with the given fractions (e.g. `[0.8, 0.2]`), choosing positions with a
   * seeded random permutation: the parts are disjoint, together cover every element, and have sizes
   * `round(fraction × size)` (the last part takes what is left). Needs a known size and a fixed
   * order, so split before `shuffle` (then shuffle each part). Each part re-reads the source.
   */
  split(fractions: readonly number[], seed = 0): Dataset<T>[] {
    const n = this.size;
    if (n === undefined) throw new Error(`Dataset.split: the dataset's size is unknown (a stream or a filter); split needs it — take() a known count first or split the arrays with trainTestSplit`);
    if (this.reshuffles) throw new Error(`Dataset.split: this dataset is shuffled every pass, so a split by position would mix the parts across epochs; split first, then shuffle each part`);
    if (!fractions.length || fractions.some((f) => !(f >= 0)) || Math.abs(fractions.reduce((a, b) => a + b, 0) - 1) > 1e-6) {
      throw new Error(`Dataset.split: fractions must be ≥ 0 and sum to 1, got [${fractions.join(", ")}]`);
    }
    const perm = permutation(n, createRng(seed));
    const part = new Int32Array(n); // part index of each position
    const sizes: number[] = [];
    let used = 0;
    fractions.forEach((f, k) => {
      const s = k === fractions.length - 1 ? n - used : Math.min(n - used, Math.round(f * n));
      sizes.push(s);
      used += s;
    });
    let at = 0;
    sizes.forEach((s, k) => {
      for (let j = 0; j < s; j++) part[perm[at++]] = k;
    });
    const plan = this.rows;
    if (plan) {
      return sizes.map((s, k) =>
        Dataset.planned<T>(
          {
            load: plan.load,
            order: () => {
              const parent = plan.order();
              const mine = new Int32Array(s);
              let j = 0;
              for (let pos = 0; pos < parent.length; pos++) if (part[pos] === k) mine[j++] = parent[pos];
              return mine;
            },
          },
          s,
          false,
        ),
      );
    }
    const upstream = this.pass;
    return sizes.map(
      (s, k) =>
        new Dataset<T>(async function* () {
          let pos = 0;
          for await (const item of upstream()) {
            if (part[pos++] === k) yield item;
            else disposeItem(item);
          }
        }, s, false, this.streamed),
    );
  }

  /** Prepare up to `count` elements ahead of the consumer (overlaps disk reads and parsing with training steps). */
  prefetch(count = 2): Dataset<T> {
    checkCount("prefetch", count);
    const upstream = this.pass;
    return new Dataset<T>(async function* () {
      const it = upstream();
      const queue: Promise<IteratorResult<Item<T>, void>>[] = [];
      try {
        for (;;) {
          while (queue.length < count + 1) queue.push(it.next());
          const step = await queue.shift()!;
          if (step.done) return;
          yield step.value;
        }
      } finally {
        // Drop what was fetched ahead but never consumed.
        for (const p of queue) p.then((s) => !s.done && disposeItem(s.value), () => {});
        await it.return();
      }
    }, this.size, this.reshuffles, this.streamed);
  }

  // ---------------- consuming ----------------

  /** One pass. Every element is new and owned by the caller (dispose its tensors when done). */
  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    for await (const item of this.pass()) yield materialize(item);
  }

  /** Call `fn` on every element of one pass, then dispose the element's tensors. */
  async forEach(fn: (element: T, index: number) => void | Promise<void>): Promise<void> {
    let i = 0;
    for await (const value of this) {
      try {
        await fn(value, i++);
      } finally {
        for (const t of tensorsIn(value)) t.dispose();
      }
    }
  }

  /** All elements of one pass in an array (the caller owns their tensors). Meant for small datasets and tests. */
  async toArray(): Promise<T[]> {
    const out: T[] = [];
    for await (const v of this) out.push(v);
    return out;
  }

  /** Text shown in notebooks and logs. */
  toString(): string {
    return `Dataset(size=${this.size ?? "unknown"}${this.reshuffles ? ", shuffled" : ""}${this.streamed ? ", streamed" : ""})`;
  }

  /** Rich display protocol: a notebook shows the summary line. */
  [Symbol.for("jupyter.mimebundle")](): Record<string, string> {
    return { "text/plain": this.toString() };
  }
}

function checkCount(op: string, count: number): void {
  if (!Number.isInteger(count) || count < 0) throw new Error(`Dataset.${op}: count must be an integer ≥ 0, got ${count}`);
}
