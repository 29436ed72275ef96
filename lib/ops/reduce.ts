/** Reductions over any axes (with keepdims), softmax family and cumulative sums, with gradients. */
import type { ReduceOp } from "../backend/backend.js";
import { isFloat, type DType } from "../dtype.js";
import { fmt, normAxes, normAxis, sizeOf } from "../shape.js";
import { Tensor, type Axis } from "../tensor.js";
import { backendOf, fromBuf, record } from "./core.js";
import { add, cast, div, eq, exp, log, mul, sqrt, square, sub } from "./elementwise.js";
import { broadcastTo, contiguousBase, permute, reshape, alias } from "./movement.js";

/** Shape of a reduction result. */
function reducedShape(shape: readonly number[], axes: number[], keepdims: boolean): number[] {
  return keepdims ? shape.map((d, i) => (axes.includes(i) ? 1 : d)) : shape.filter((_, i) => !axes.includes(i));
}

/** Runs a backend reduction; returns the result with keepdims shape. */
function reduceRaw(op: ReduceOp, x: Tensor, axes: number[]): Tensor {
  const b = backendOf(op, x);
  const shape = x.shape;
  const keep = reducedShape(shape, axes, true);
  let src: Tensor, outer: number, r: number, inner: number;
  const adjacent = axes.every((a, i) => i === 0 || a === axes[i - 1] + 1);
  if (adjacent) {
    src = contiguousBase(x);
    outer = sizeOf(shape.slice(0, axes[0]));
    r = sizeOf(axes.map((a) => shape[a]));
    inner = sizeOf(shape.slice(axes[axes.length - 1] + 1));
  } else {
    const kept = shape.map((_, i) => i).filter((i) => !axes.includes(i));
    src = contiguousBase(permute(x, [...kept, ...axes]));
    outer = sizeOf(kept.map((a) => shape[a]));
    r = sizeOf(axes.map((a) => shape[a]));
    inner = 1;
  }
  if (r === 0 && op !== "sum" && op !== "prod") {
    throw new Error(`${op}: cannot reduce over an empty axis (shape ${fmt(shape)}, axes ${JSON.stringify(axes)})`);
  }
  const outDtype: DType = op === "argmax" || op === "argmin" ? "int32" : x.dtype === "bool" ? "int32" : x.dtype;
  const out = fromBuf(b, b.reduce(op, src.storage(op).buf!, src.dtype, outer, r, inner), keep, outDtype);
  if (src !== x) src.dispose();
  return out;
}

function finish(y: Tensor, x: Tensor, axes: number[], keepdims: boolean): Tensor {
  if (keepdims) return y;
  const out = reshape(y, reducedShape(x.shape, axes, false));
  return out;
}

/** Sum over `axis` (all axes by default). Bool sums count trues (int32). */
export function sum(x: Tensor, axis?: Axis, keepdims = false): Tensor {
  const axes = normAxes("sum", axis, x.ndim);
  if (axes.length === 0) return x.dtype === "bool" ? cast(x, "int32") : record(alias(x), "sum", [x], (g) => [g]);
  const y = reduceRaw("sum", x, axes);
  record(y, "sum", [x], (g) => [broadcastTo(g, x.shape)]);
  return finish(y, x, axes, keepdims);
}

export function mean(x: Tensor, axis?: Axis, keepdims = false): Tensor {
  const axes = normAxes("mean", axis, x.ndim);
  const n = sizeOf(axes.map((a) => x.shape[a]));
  if (n === 0) throw new Error(`mean: cannot average over an empty axis (shape ${fmt(x.shape)})`);
  return div(sum(isFloat(x.dtype) ? x : cast(x, "float32"), axes, keepdims), n);
}

function extreme(op: "max" | "min", x: Tensor, axis: Axis | undefined, keepdims: boolean): Tensor {
  const axes = normAxes(op, axis, x.ndim);
  if (axes.length === 0) return record(alias(x), op, [x], (g) => [g]);
  const y = reduceRaw(op, x, axes);
  // Ties share the gradient equally (like torch.amax).
  record(y, op, [x], (g) => {
    const mask = cast(eq(x, broadcastTo(y, x.shape)), g.dtype);
    return [div(mul(mask, broadcastTo(g, x.shape)), sum(mask, axes, true))];
  });
  return finish(y, x, axes, keepdims);
}
export const max = (x: Tensor, axis?: Axis, keepdims = false) => extreme("max", x, axis, keepdims);
export const min = (x: Tensor, axis?: Axis, keepdims = false) => extreme("min", x, axis, keepdims);

/** Product over `axis`; its gradient divides by the input, so inputs with zeros get no gradient (documented limit). */
export function prod(x: Tensor, axis?: Axis, keepdims = false): Tensor {
  const axes = normAxes("prod", axis, x.ndim);
  if (axes.length === 0) return record(alias(x), "prod", [x], (g) => [g]);
  const y = reduceRaw("prod", x, axes);
  record(y, "prod", [x], (g) => [div(mul(broadcastTo(g, x.shape), broadcastTo(y, x.shape)), x)]);
  return finish(y, x, axes, keepdims);
}

function argExtreme(op: "argmax" | "argmin", x: Tensor, axis: number | undefined, keepdims: boolean): Tensor {
  if (axis === undefined) {
    const flat = reshape(x, [x.size]);
    const y = reduceRaw(op, flat, [0]);
    const out = reshape(y, keepdims ? x.shape.map(() => 1) : []);
    return out;
  }
  const a = normAxis(op, axis, x.ndim);
  return finish(reduceRaw(op, x, [a]), x, [a], keepdims);
}
/** Index of the first maximum along `axis` (of the flattened tensor when no axis is given); int32. */
export const argmax = (x: Tensor, axis?: number, keepdims = false) => argExtreme("argmax", x, axis, keepdims);
export const argmin = (x: Tensor, axis?: number, keepdims = false) => argExtreme("argmin", x, axis, keepdims);

/** Variance with `ddof` delta degrees of freedom (0 like NumPy/Keras; 1 for the unbiased estimate). */
export function variance(x: Tensor, axis?: Axis, keepdims = false, ddof = 0): Tensor {
  const axes = normAxes("var", axis, x.ndim);
  const n = sizeOf(axes.map((a) => x.shape[a]));
  if (n - ddof <= 0) throw new Error(`var: ${n} elements with ddof=${ddof} leave no degrees of freedom (shape ${fmt(x.shape)})`);
  const xf = isFloat(x.dtype) ? x : cast(x, "float32");
  const d = sub(xf, mean(xf, axes, true));
  return div(sum(square(d), axes, keepdims), n - ddof);
}
export const std = (x: Tensor, axis?: Axis, keepdims = false, ddof = 0) => sqrt(variance(x, axis, keepdims, ddof));

/** log(sum(exp(x))) computed stably by shifting by the (constant) maximum. */
export function logsumexp(x: Tensor, axis?: Axis, keepdims = false): Tensor {
  const axes = normAxes("logsumexp", axis, x.ndim);
  const m = alias(max(x, axes, true)); // alias: a constant shift, outside the graph
  const s = log(sum(exp(sub(x, m)), axes, true));
  const y = add(s, m);
  return keepdims ? y : reshape(y, reducedShape(x.shape, axes, false));
}

/** exp(x) / sum(exp(x)) along `axis`, shifted by the maximum for stability. */
export function softmax(x: Tensor, axis = -1): Tensor {
  const a = normAxis("softmax", axis, x.ndim);
  const e = exp(sub(x, alias(max(x, a, true))));
  return div(e, sum(e, a, true));
}

export function logSoftmax(x: Tensor, axis = -1): Tensor {
  const a = normAxis("logSoftmax", axis, x.ndim);
  return sub(x, logsumexp(x, a, true));
}

/** Cumulative sum along `axis` (from the end when `reverse`). */
export function cumsum(x: Tensor, axis = 0, reverse = false): Tensor {
  if (x.ndim === 0) return cumsum(reshape(x, [1]), 0, reverse);
  const a = normAxis("cumsum", axis, x.ndim);
  const b = backendOf("cumsum", x);
  const src = contiguousBase(x);
  const outDtype: DType = x.dtype === "bool" ? "int32" : x.dtype;
  const outer = sizeOf(x.shape.slice(0, a)), n = x.shape[a], inner = sizeOf(x.shape.slice(a + 1));
  const y = fromBuf(b, b.cumsum(src.storage("cumsum").buf!, src.dtype, outer, n, inner, reverse), x.shape, outDtype);
  if (src !== x) src.dispose();
  return record(y, "cumsum", [x], (g) => [cumsum(g, a, !reverse)]);
}
