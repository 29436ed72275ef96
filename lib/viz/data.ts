// Turns what users pass to charts (Tensors, typed arrays, nested arrays) into flat float64 data + a shape.

/** Anything with a shape and an async `data()` read: a dawnet Tensor (viz never needs more of it). */
export interface ReadableTensor {
  readonly shape: readonly number[];
  data(): Promise<ArrayLike<number | bigint | boolean>>;
}

export type NumericArray =
  | number[]
  | Float32Array
  | Float64Array
  | Int32Array
  | Int16Array
  | Int8Array
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | Uint8ClampedArray;

/** Nested JS arrays of numbers, any depth (e.g. number[][] for a matrix). */
export type NestedNumbers = number | readonly NestedNumbers[];

/** Numbers a chart accepts: a tensor, a flat typed/JS array, or nested arrays. */
export type ArrayInput = ReadableTensor | NumericArray | readonly NestedNumbers[];

/** Row-major numbers with their shape. */
export interface Dense {
  values: Float64Array;
  shape: number[];
}

export function isReadableTensor(x: unknown): x is ReadableTensor {
  return (
    typeof x === "object" &&
    x !== null &&
    Array.isArray((x as ReadableTensor).shape) &&
    typeof (x as ReadableTensor).data === "function"
  );
}

function isTypedArray(x: unknown): x is Exclude<NumericArray, number[]> {
  return ArrayBuffer.isView(x) && !(x instanceof DataView);
}

/** Reads `x` into a Dense (awaits tensor reads). `what` names the chart argument for errors. */
export async function toDense(x: ArrayInput, what: string): Promise<Dense> {
  if (isReadableTensor(x)) {
    const raw = await x.data();
    const values = new Float64Array(raw.length);
    for (let i = 0; i < raw.length; i++) values[i] = Number(raw[i]);
    return { values, shape: [...x.shape] };
  }
  return toDenseSync(x, what);
}

/** Like toDense for plain arrays only (no tensor read), for synchronous chart builders. */
export function toDenseSync(x: NumericArray | readonly NestedNumbers[], what: string): Dense {
  if (isTypedArray(x)) return { values: Float64Array.from(x as ArrayLike<number>, Number), shape: [x.length] };
  if (!Array.isArray(x)) {
    throw new TypeError(`${what}: expected a Tensor, a typed array or nested number arrays, got ${describe(x)}`);
  }
  const shape: number[] = [];
  let probe: unknown = x;
  while (Array.isArray(probe) || isTypedArray(probe)) {
    const len = (probe as ArrayLike<unknown>).length;
    shape.push(len);
    if (len === 0) break;
    probe = (probe as ArrayLike<unknown>)[0];
  }
  const size = shape.reduce((a, b) => a * b, 1);
  const values = new Float64Array(size);
  let k = 0;
  const walk = (node: unknown, depth: number, path: string): void => {
    if (depth === shape.length) {
      if (typeof node !== "number" && typeof node !== "boolean") {
        throw new TypeError(`${what}: expected a number at ${path}, got ${describe(node)}`);
      }
      values[k++] = Number(node);
      return;
    }
    const arr = node as ArrayLike<unknown>;
    if (!(Array.isArray(arr) || isTypedArray(arr)) || arr.length !== shape[depth]) {
      throw new TypeError(
        `${what}: ragged nested array: ${path} has ${Array.isArray(arr) || isTypedArray(arr) ? `length ${arr.length}` : describe(arr)}, expected length ${shape[depth]} (shape [${shape.join(",")}])`,
      );
    }
    for (let i = 0; i < arr.length; i++) walk(arr[i], depth + 1, `${path}[${i}]`);
  };
  walk(x, 0, "");
  return { values, shape };
}

function describe(x: unknown): string {
  if (x === null) return "null";
  if (Array.isArray(x)) return `array of length ${x.length}`;
  if (typeof x === "object") return (x as object).constructor?.name ?? "object";
  return `${typeof x} ${String(x).slice(0, 40)}`;
}

/** A [R, C] Dense as rows of numbers; a 1-D input counts as one row. */
export function asMatrix(d: Dense, what: string): { rows: number; cols: number; values: Float64Array } {
  if (d.shape.length === 2) return { rows: d.shape[0], cols: d.shape[1], values: d.values };
  if (d.shape.length === 1) return { rows: 1, cols: d.shape[0], values: d.values };
  const squeezed = d.shape.filter((n) => n !== 1);
  if (squeezed.length <= 2) {
    const rows = squeezed.length === 2 ? squeezed[0] : 1;
    return { rows, cols: d.values.length / rows, values: d.values };
  }
  throw new RangeError(`${what}: expected a 2-D matrix, got shape [${d.shape.join(",")}]; reshape or slice it to [rows, cols]`);
}

/** Class indices from labels: 1-D integers as they are; [N, K] scores or one-hot → argmax per row. */
export function toClassIndices(d: Dense, what: string): Int32Array {
  if (d.shape.length === 2 && d.shape[1] > 1) {
    const [n, k] = d.shape;
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      let best = 0;
      for (let j = 1; j < k; j++) if (d.values[i * k + j] > d.values[i * k + best]) best = j;
      out[i] = best;
    }
    return out;
  }
  if (d.shape.length === 2 && d.shape[1] === 1) {
    // A single probability column (binary classifier): class 1 when p ≥ 0.5 unless already integers.
    const ints = d.values.every((v) => Number.isInteger(v));
    return Int32Array.from(d.values, (v) => (ints ? v : v >= 0.5 ? 1 : 0));
  }
  if (d.shape.length > 1) {
    throw new RangeError(`${what}: expected class indices [N] or scores [N, K], got shape [${d.shape.join(",")}]`);
  }
  for (const v of d.values) {
    if (!Number.isInteger(v) || v < 0) {
      throw new RangeError(`${what}: class labels must be non-negative integers, got ${v}; pass argmax of scores or integer labels`);
    }
  }
  return Int32Array.from(d.values);
}

export function minMax(values: ArrayLike<number>): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (Number.isNaN(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

/** Short number for labels and text/plain. */
export function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(2);
  return Number(v.toPrecision(4)).toString();
}
