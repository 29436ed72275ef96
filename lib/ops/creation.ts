/** Creating tensors: from data, constants, ranges and random distributions. */
import { currentBackend } from "../backend/registry.js";
import { checkDType, coerce, isFloat, newArray, type DType, type TypedArray } from "../dtype.js";
import { checkShape, fmt, sizeOf } from "../shape.js";
import { Tensor, type NestedArray } from "../tensor.js";
import { fromBuf } from "./core.js";
import { generator } from "./random.js";

export interface TensorOptions {
  dtype?: DType;
  requiresGrad?: boolean;
  /** Shape for flat data (a flat array or typed array of matching size). */
  shape?: readonly number[];
}

type Data = NestedArray | TypedArray | ArrayLike<number> | readonly NestedArray[];

function inferShape(data: unknown, path: number[] = []): number[] {
  if (Array.isArray(data)) {
    if (data.length === 0) return [0];
    const inner = inferShape(data[0], [...path, 0]);
    for (let i = 1; i < data.length; i++) {
      const s = inferShape(data[i], [...path, i]);
      if (s.length !== inner.length || s.some((d, j) => d !== inner[j])) {
        throw new Error(`tensor: ragged nested array: element [${[...path, i].join("][")}] has shape ${fmt(s)} but element [${[...path, 0].join("][")}] has ${fmt(inner)}`);
      }
    }
    return [data.length, ...inner];
  }
  if (ArrayBuffer.isView(data)) return [(data as unknown as ArrayLike<number>).length];
  return [];
}

function flattenInto(data: unknown, out: number[], kinds: { bool: boolean; float: boolean }): void {
  if (Array.isArray(data)) {
    for (const d of data) flattenInto(d, out, kinds);
  } else if (ArrayBuffer.isView(data)) {
    const a = data as unknown as ArrayLike<number>;
    for (let i = 0; i < a.length; i++) {
      out.push(a[i]);
      if (!Number.isInteger(a[i])) kinds.float = true;
    }
  } else if (typeof data === "boolean") {
    out.push(data ? 1 : 0);
    kinds.bool = true;
  } else if (typeof data === "number") {
    out.push(data);
    if (!Number.isInteger(data)) kinds.float = true;
  } else {
    throw new TypeError(`tensor: expected numbers, booleans, nested arrays or a typed array, got ${data === null ? "null" : typeof data}`);
  }
}

function typedDType(a: ArrayBufferView): DType {
  if (a instanceof Float32Array || a instanceof Float64Array) return "float32";
  return "int32";
}

/**
 * A tensor from nested arrays, a typed array or a number. dtype: given, else from the data
 * (booleans → bool; integers → int32 like NumPy; anything fractional → float32; Float32Array/Float64Array → float32;
 * integer typed arrays → int32). `requiresGrad` without a dtype makes float32.
 */
export function tensor(data: Data | number | boolean, opts: TensorOptions = {}): Tensor {
  let shape: number[];
  let values: ArrayLike<number>;
  let dtype: DType;
  if (ArrayBuffer.isView(data)) {
    values = data as unknown as ArrayLike<number>;
    shape = [values.length];
    dtype = opts.dtype ?? (opts.requiresGrad ? "float32" : typedDType(data));
  } else {
    shape = inferShape(data);
    const flat: number[] = [];
    const kinds = { bool: false, float: false };
    flattenInto(data, flat, kinds);
    values = flat;
    dtype = opts.dtype ?? (opts.requiresGrad || kinds.float ? "float32" : kinds.bool && flat.length ? "bool" : flat.length ? "int32" : "float32");
  }
  dtype = checkDType(dtype, "tensor");
  if (opts.shape) {
    const s = checkShape("tensor", opts.shape);
    if (sizeOf(s) !== values.length) throw new Error(`tensor: ${values.length} values do not fill shape ${fmt(s)} (${sizeOf(s)} elements)`);
    shape = s;
  }
  const arr = newArray(dtype, values.length);
  if (dtype === "bool") for (let i = 0; i < values.length; i++) arr[i] = values[i] ? 1 : 0;
  else arr.set(values as ArrayLike<number>);
  const b = currentBackend();
  const t = fromBuf(b, b.upload(arr, dtype), shape, dtype);
  if (opts.requiresGrad) t.requiresGrad = true;
  return t;
}

/** A float32 scalar or array convenience alias matching tf.scalar. */
export const scalar = (v: number, dtype: DType = "float32") => tensor(v, { dtype });

export function full(shape: readonly number[], value: number | boolean, dtype?: DType): Tensor {
  const s = checkShape("full", shape);
  const dt = dtype ?? (typeof value === "boolean" ? "bool" : "float32");
  const b = currentBackend();
  return fromBuf(b, b.fill(sizeOf(s), dt, coerce(value, dt)), s, dt);
}
export const zeros = (shape: readonly number[], dtype: DType = "float32") => full(shape, 0, dtype);
export const ones = (shape: readonly number[], dtype: DType = "float32") => full(shape, 1, dtype);

/** Same shape, dtype and backend as `t`. */
export function fullLike(t: Tensor, value: number, dtype?: DType): Tensor {
  const b = t.storage("fullLike").backend;
  const dt = dtype ?? t.dtype;
  return fromBuf(b, b.fill(t.size, dt, coerce(value, dt)), t.shape, dt);
}
export const zerosLike = (t: Tensor, dtype?: DType) => fullLike(t, 0, dtype);
export const onesLike = (t: Tensor, dtype?: DType) => fullLike(t, 1, dtype);

/** Values from start (inclusive) to stop (exclusive) by step; int32 when all three are integers. */
export function arange(start: number, stop?: number, step = 1, dtype?: DType): Tensor {
  if (stop === undefined) [start, stop] = [0, start];
  if (step === 0) throw new RangeError("arange: step must not be 0");
  const n = Math.max(0, Math.ceil((stop - start) / step));
  const dt = dtype ?? ([start, stop, step].every(Number.isInteger) ? "int32" : "float32");
  const arr = newArray(dt, n);
  for (let i = 0; i < n; i++) arr[i] = start + i * step;
  const b = currentBackend();
  return fromBuf(b, b.upload(arr, dt), [n], dt);
}

/** `num` evenly spaced float32 values from start to stop inclusive. */
export function linspace(start: number, stop: number, num = 50): Tensor {
  if (!Number.isInteger(num) || num < 0) throw new RangeError(`linspace: num must be a non-negative integer, got ${num}`);
  const arr = new Float32Array(num);
  for (let i = 0; i < num; i++) arr[i] = num === 1 ? start : start + ((stop - start) * i) / (num - 1);
  const b = currentBackend();
  return fromBuf(b, b.upload(arr, "float32"), [num], "float32");
}

/** Identity matrix [n, m]. */
export function eye(n: number, m = n, dtype: DType = "float32"): Tensor {
  const arr = newArray(dtype, n * m);
  for (let i = 0; i < Math.min(n, m); i++) arr[i * m + i] = 1;
  const b = currentBackend();
  return fromBuf(b, b.upload(arr, dtype), [n, m], dtype);
}

export interface RandomOptions {
  seed?: number;
  dtype?: DType;
}

function randomTensor(op: string, shape: readonly number[], dtype: DType, fill: (a: TypedArray) => void): Tensor {
  const s = checkShape(op, shape);
  if (!isFloat(dtype)) throw new TypeError(`${op}: dtype must be float32 (or float64 on cpu), got ${dtype}`);
  const arr = newArray(dtype, sizeOf(s));
  fill(arr);
  const b = currentBackend();
  return fromBuf(b, b.upload(arr, dtype), s, dtype);
}

/** Uniform in [low, high). */
export function rand(shape: readonly number[], opts: RandomOptions & { low?: number; high?: number } = {}): Tensor {
  const g = generator(opts.seed);
  const lo = opts.low ?? 0, hi = opts.high ?? 1;
  return randomTensor("rand", shape, opts.dtype ?? "float32", (a) => {
    for (let i = 0; i < a.length; i++) a[i] = lo + (hi - lo) * g.uniform();
  });
}

/** Normal with the given mean and standard deviation. */
export function randn(shape: readonly number[], opts: RandomOptions & { mean?: number; std?: number } = {}): Tensor {
  const g = generator(opts.seed);
  const mu = opts.mean ?? 0, sd = opts.std ?? 1;
  return randomTensor("randn", shape, opts.dtype ?? "float32", (a) => {
    for (let i = 0; i < a.length; i++) a[i] = mu + sd * g.normal();
  });
}

/** Uniform integers in [low, high) as int32. */
export function randint(low: number, high: number, shape: readonly number[], opts: { seed?: number } = {}): Tensor {
  if (!Number.isInteger(low) || !Number.isInteger(high) || high <= low) throw new RangeError(`randint: need integers low < high, got ${low}, ${high}`);
  const s = checkShape("randint", shape);
  const g = generator(opts.seed);
  const arr = new Int32Array(sizeOf(s));
  for (let i = 0; i < arr.length; i++) arr[i] = g.int(low, high);
  const b = currentBackend();
  return fromBuf(b, b.upload(arr, "int32"), s, "int32");
}
