/** NumPy-like text rendering of tensor values, eliding the middle of long axes. */
import type { DType, TypedArray } from "./dtype.js";
import { contiguousStrides, fmt, sizeOf } from "./shape.js";

const EDGE = 3; // values shown at each end of an elided axis
const THRESHOLD = 1000; // elide when the tensor has more elements than this

function formatter(data: TypedArray, dtype: DType): (v: number) => string {
  if (dtype === "bool") return (v) => (v ? "true" : "false");
  if (dtype === "int32") return (v) => String(v);
  let maxAbs = 0, allInt = true;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (Number.isFinite(v)) {
      maxAbs = Math.max(maxAbs, Math.abs(v));
      if (!Number.isInteger(v)) allInt = false;
    }
  }
  const sci = maxAbs >= 1e8 || (maxAbs > 0 && maxAbs < 1e-4);
  return (v) => {
    if (Number.isNaN(v)) return "nan";
    if (!Number.isFinite(v)) return v > 0 ? "inf" : "-inf";
    if (sci) return v.toExponential(4);
    if (allInt) return v.toFixed(0) + ".";
    return v.toFixed(4).replace(/0+$/, "").replace(/\.$/, ".0");
  };
}

export function formatTensor(data: TypedArray, shape: readonly number[], dtype: DType, extra = ""): string {
  const size = sizeOf(shape);
  const elide = size > THRESHOLD;
  const f = formatter(data, dtype);
  const strides = contiguousStrides(shape);
  const render = (dim: number, off: number, indent: number): string => {
    if (dim === shape.length) return f(data[off]);
    const n = shape[dim];
    const idx: (number | null)[] = [];
    if (elide && n > 2 * EDGE) {
      for (let i = 0; i < EDGE; i++) idx.push(i);
      idx.push(null);
      for (let i = n - EDGE; i < n; i++) idx.push(i);
    } else for (let i = 0; i < n; i++) idx.push(i);
    const parts = idx.map((i) => (i === null ? "..." : render(dim + 1, off + i * strides[dim], indent + 1)));
    if (dim === shape.length - 1) return `[${parts.join(", ")}]`;
    const sep = "," + "\n".repeat(shape.length - dim - 1) + " ".repeat(indent + 1);
    return `[${parts.join(sep)}]`;
  };
  const body = size === 0 ? "[]" : render(0, 0, 7);
  const info = [`shape=${fmt(shape)}`, `dtype=${dtype}`];
  if (extra) info.push(extra);
  return `tensor(${body}, ${info.join(", ")})`;
}
