/**
 * Shape and movement ops. Reshape (of contiguous data), permute, broadcast, slice and index are views
 * sharing storage; the rest copy. Each op's gradient sits next to it.
 */
import { backendIfLoaded, loadBackend } from "../backend/registry.js";
import { isFloat, type DType } from "../dtype.js";
import { broadcastShapes, broadcastStrides, contiguousStrides, fmt, normAxes, normAxis, sizeOf } from "../shape.js";
import { Tensor, type Axis } from "../tensor.js";
import { backendOf, fromBuf, record, viewOf } from "./core.js";
import { cast, eq } from "./elementwise.js";
import { unbroadcast } from "./elementwise.js";
import { arange } from "./creation.js";

/** A new tensor object sharing storage, outside the autograd graph. */
export function alias(t: Tensor): Tensor {
  return viewOf(t, t.shape, t.strides, t._offset);
}

/** `t` itself when dense from element 0, else a contiguous copy (no gradient recorded: for primitives). */
export function contiguousBase(t: Tensor): Tensor {
  if (t.isContiguous && t._offset === 0) return t;
  const b = backendOf("contiguous", t);
  return fromBuf(b, b.copy(t.view("contiguous"), t.dtype), t.shape, t.dtype);
}

/** A contiguous copy when `t` is a strided view; otherwise a new tensor object sharing storage. */
export function contiguous(t: Tensor): Tensor {
  const y = t.isContiguous ? alias(t) : contiguousBase(t);
  return record(y, "contiguous", [t], (g) => [g]);
}

/** A copy with its own storage. */
export function clone(t: Tensor): Tensor {
  const b = backendOf("clone", t);
  const y = fromBuf(b, b.copy(t.view("clone"), t.dtype), t.shape, t.dtype);
  return record(y, "clone", [t], (g) => [g]);
}

/** A copy of `t` on another backend. */
export async function toBackend(t: Tensor, name: string): Promise<Tensor> {
  const target = backendIfLoaded(name) ?? (await loadBackend(name));
  const data = await t.data();
  return fromBuf(target, target.upload(data, t.dtype), t.shape, t.dtype);
}

/** Resolves one -1 entry and checks the element count. */
export function inferShape(op: string, shape: readonly number[], size: number, from: readonly number[]): number[] {
  const out = [...shape];
  const neg = out.filter((d) => d === -1).length;
  if (neg > 1) throw new Error(`${op}: only one dimension can be -1, got ${fmt(shape)}`);
  for (const d of out) if (!Number.isInteger(d) || d < -1) throw new Error(`${op}: invalid shape ${fmt(shape)}`);
  if (neg === 1) {
    const known = sizeOf(out.filter((d) => d !== -1));
    const i = out.indexOf(-1);
    if (known === 0 || size % known !== 0) throw new Error(`${op}: cannot reshape ${fmt(from)} (${size} elements) into ${fmt(shape)}`);
    out[i] = size / known;
  }
  if (sizeOf(out) !== size) {
    throw new Error(`${op}: cannot reshape ${fmt(from)} (${size} elements) into ${fmt(shape)} (${sizeOf(out)} elements)`);
  }
  return out;
}

export function reshape(t: Tensor, shape: readonly number[]): Tensor {
  const target = inferShape("reshape", shape, t.size, t.shape);
  const base = t.isContiguous ? t : contiguousBase(t);
  const y = viewOf(base, target, contiguousStrides(target), base._offset);
  if (base !== t) base.dispose();
  return record(y, "reshape", [t], (g) => [reshape(g, t.shape)]);
}

export function flatten(t: Tensor, startAxis = 0, endAxis = -1): Tensor {
  if (t.ndim === 0) return reshape(t, [1]);
  const s = normAxis("flatten", startAxis, t.ndim), e = normAxis("flatten", endAxis, t.ndim);
  if (s > e) throw new Error(`flatten: startAxis ${startAxis} comes after endAxis ${endAxis} for shape ${fmt(t.shape)}`);
  return reshape(t, [...t.shape.slice(0, s), sizeOf(t.shape.slice(s, e + 1)), ...t.shape.slice(e + 1)]);
}

export function squeeze(t: Tensor, axis?: Axis): Tensor {
  const axes = axis === undefined || axis === null ? t.shape.map((d, i) => (d === 1 ? i : -1)).filter((i) => i >= 0) : normAxes("squeeze", axis, t.ndim);
  for (const a of axes) if (t.shape[a] !== 1) throw new Error(`squeeze: axis ${a} has size ${t.shape[a]}, not 1 (shape ${fmt(t.shape)})`);
  return reshape(t, t.shape.filter((_, i) => !axes.includes(i)));
}

export function unsqueeze(t: Tensor, axis: number): Tensor {
  const a = normAxis("unsqueeze", axis, t.ndim + 1);
  const shape = [...t.shape];
  shape.splice(a, 0, 1);
  return reshape(t, shape);
}
export const expandDims = unsqueeze;

export function permute(t: Tensor, perm: readonly number[]): Tensor {
  const p = perm.map((a) => normAxis("permute", a, t.ndim));
  if (p.length !== t.ndim || new Set(p).size !== p.length) {
    throw new Error(`permute: ${JSON.stringify(perm)} is not a permutation of the ${t.ndim} axes of shape ${fmt(t.shape)}`);
  }
  const y = viewOf(t, p.map((a) => t.shape[a]), p.map((a) => t.strides[a]), t._offset);
  const inv = new Array<number>(p.length);
  p.forEach((a, i) => (inv[a] = i));
  return record(y, "permute", [t], (g) => [permute(g, inv)]);
}

/** Reverses the axes (NumPy), or applies `perm`. */
export function transpose(t: Tensor, perm?: readonly number[]): Tensor {
  return permute(t, perm ?? t.shape.map((_, i) => t.ndim - 1 - i));
}

export function broadcastTo(t: Tensor, shape: readonly number[]): Tensor {
  const out = broadcastShapes("broadcastTo", t.shape, shape);
  if (out.length !== shape.length || out.some((d, i) => d !== shape[i])) {
    throw new Error(`broadcastTo: cannot broadcast ${fmt(t.shape)} to ${fmt(shape)}`);
  }
  const y = viewOf(t, out, broadcastStrides(t.shape, t.strides, out), t._offset);
  return record(y, "broadcastTo", [t], (g) => [unbroadcast(g, t.shape)]);
}

/** Writes `g` into a zero tensor of `shape` at the strided region (starts, steps, g.shape): the adjoint of a view. */
function embed(g: Tensor, shape: readonly number[], starts: readonly number[], steps: readonly number[]): Tensor {
  const b = backendOf("embed", g);
  const buf = b.fill(sizeOf(shape), g.dtype, 0);
  const st = contiguousStrides(shape);
  let offset = 0;
  for (let i = 0; i < shape.length; i++) offset += starts[i] * st[i];
  b.copyInto(buf, { shape: g.shape, strides: st.map((s, i) => s * steps[i]), offset, dtype: g.dtype }, g.view("embed"));
  return fromBuf(b, buf, shape, g.dtype);
}

/** A strided window: per axis a start, a length and a positive step. */
function window(op: string, t: Tensor, starts: number[], lengths: number[], steps: number[]): Tensor {
  let offset = t._offset;
  for (let i = 0; i < t.ndim; i++) offset += starts[i] * t.strides[i];
  const y = viewOf(t, lengths, t.strides.map((s, i) => s * steps[i]), offset);
  return record(y, op, [t], (g) => [embed(g, t.shape, starts, steps)]);
}

/** `size[i] = -1` takes the rest of axis i. */
export function slice(t: Tensor, begin: readonly number[], size?: readonly number[]): Tensor {
  if (begin.length > t.ndim) throw new Error(`slice: begin ${JSON.stringify(begin)} has more entries than shape ${fmt(t.shape)} has axes`);
  const starts = t.shape.map((d, i) => {
    const s = begin[i] ?? 0;
    const v = s < 0 ? s + d : s;
    if (v < 0 || v > d) throw new RangeError(`slice: begin ${s} is out of range for axis ${i} of size ${d} (shape ${fmt(t.shape)})`);
    return v;
  });
  const lengths = t.shape.map((d, i) => {
    const s = size?.[i] ?? -1;
    const n = s === -1 ? d - starts[i] : s;
    if (n < 0 || starts[i] + n > d) throw new RangeError(`slice: begin ${starts[i]} + size ${s} exceeds axis ${i} of size ${d} (shape ${fmt(t.shape)})`);
    return n;
  });
  return window("slice", t, starts, lengths, t.shape.map(() => 1));
}

/** One index entry: a number selects (and drops the axis), `[start, stop, step?]` is a range, null keeps the axis. */
export type Index = number | null | readonly [number | null, (number | null)?, (number | null)?];

/** NumPy-style basic indexing with views: `index(x, 0)`, `index(x, null, [1, -1])`, `index(x, [null, null, 2])`. */
export function index(t: Tensor, ...idx: Index[]): Tensor {
  if (idx.length > t.ndim) throw new RangeError(`index: ${idx.length} indices for a tensor with ${t.ndim} dims (shape ${fmt(t.shape)})`);
  const starts: number[] = [], lengths: number[] = [], steps: number[] = [], drop: number[] = [];
  t.shape.forEach((d, i) => {
    const e = idx[i] ?? null;
    if (typeof e === "number") {
      const v = e < 0 ? e + d : e;
      if (!Number.isInteger(e) || v < 0 || v >= d) throw new RangeError(`index: index ${e} is out of range for axis ${i} of size ${d} (shape ${fmt(t.shape)})`);
      starts.push(v); lengths.push(1); steps.push(1); drop.push(i);
    } else if (e === null) {
      starts.push(0); lengths.push(d); steps.push(1);
    } else {
      const step = e[2] ?? 1;
      if (!Number.isInteger(step) || step <= 0) throw new RangeError(`index: step must be a positive integer, got ${step} (axis ${i})`);
      const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + d : v, 0), d);
      const start = clamp(e[0] ?? 0), stop = clamp(e[1] ?? d);
      starts.push(start); steps.push(step); lengths.push(Math.max(0, Math.ceil((stop - start) / step)));
    }
  });
  const w = window("index", t, starts, lengths, steps);
  return drop.length ? reshape(w, lengths.filter((_, i) => !drop.includes(i))) : w;
}

export function concat(tensors: readonly Tensor[], axis = 0): Tensor {
  if (!tensors.length) throw new Error("concat: needs at least one tensor");
  const first = tensors[0];
  const a = normAxis("concat", axis, first.ndim);
  const b = backendOf("concat", ...tensors);
  let dtype: DType = first.dtype;
  for (const t of tensors) {
    if (t.ndim !== first.ndim || t.shape.some((d, i) => i !== a && d !== first.shape[i])) {
      throw new Error(`concat: shapes ${tensors.map((x) => fmt(x.shape)).join(", ")} differ outside axis ${a}`);
    }
    if (t.dtype !== dtype) dtype = isFloat(t.dtype) || isFloat(dtype) ? "float32" : "int32";
  }
  const shape = [...first.shape];
  shape[a] = tensors.reduce((s, t) => s + t.shape[a], 0);
  const buf = b.alloc(sizeOf(shape), dtype);
  const st = contiguousStrides(shape);
  let off = 0;
  for (const t of tensors) {
    if (t.size) {
      const src = t.dtype === dtype ? t : cast(t, dtype);
      b.copyInto(buf, { shape: t.shape, strides: st, offset: off * st[a], dtype }, src.view("concat"));
      if (src !== t) src.dispose();
    }
    off += t.shape[a];
  }
  const y = fromBuf(b, buf, shape, dtype);
  return record(y, "concat", [...tensors], (g) => {
    let o = 0;
    return tensors.map((t) => {
      const begin = shape.map((_, i) => (i === a ? o : 0));
      const size = t.shape.map((d) => d);
      o += t.shape[a];
      return t.requiresGrad ? slice(g, begin, size) : null;
    });
  });
}

export function stack(tensors: readonly Tensor[], axis = 0): Tensor {
  if (!tensors.length) throw new Error("stack: needs at least one tensor");
  const a = normAxis("stack", axis, tensors[0].ndim + 1);
  for (const t of tensors) {
    if (t.ndim !== tensors[0].ndim || t.shape.some((d, i) => d !== tensors[0].shape[i])) {
      throw new Error(`stack: all tensors need the same shape, got ${tensors.map((x) => fmt(x.shape)).join(", ")}`);
    }
  }
  const parts = tensors.map((t) => unsqueeze(t, a));
  const y = concat(parts, a);
  return y;
}

/** Splits into `n` equal sections or into pieces of the given sizes (views). */
export function split(t: Tensor, sizesOrSections: number | readonly number[], axis = 0): Tensor[] {
  const a = normAxis("split", axis, t.ndim);
  const d = t.shape[a];
  let sizes: number[];
  if (typeof sizesOrSections === "number") {
    if (d % sizesOrSections !== 0) throw new Error(`split: axis ${a} of size ${d} does not divide into ${sizesOrSections} equal sections (shape ${fmt(t.shape)})`);
    sizes = new Array(sizesOrSections).fill(d / sizesOrSections);
  } else {
    sizes = [...sizesOrSections];
    if (sizes.reduce((s, x) => s + x, 0) !== d) throw new Error(`split: sizes ${JSON.stringify(sizes)} do not add up to axis ${a} of size ${d}`);
  }
  let o = 0;
  return sizes.map((n) => {
    const begin = t.shape.map((_, i) => (i === a ? o : 0));
    const size = t.shape.map((x, i) => (i === a ? n : x));
    o += n;
    return slice(t, begin, size);
  });
}

/**
 * Checks int32 indices against [0, size): at once where the backend reads synchronously, otherwise on the
 * device (webgpu), which raises at the next read naming `op`. For ops that use indices without gathering.
 */
export function checkIndexTensor(op: string, idx: Tensor, size: number, inputShape?: readonly number[], axis?: number): void {
  const s = idx.storage(op).backend;
  if (!s.readSync) {
    if (!s.checkIndices || idx.size === 0) return;
    const ib = contiguousBase(idx);
    s.checkIndices(ib.storage(op).buf!, idx.size, size, { op, axis, inputShape, indexShape: idx.shape });
    if (ib !== idx) ib.dispose();
    return;
  }
  const data = idx.dataSync();
  for (let i = 0; i < data.length; i++) {
    if (data[i] < 0 || data[i] >= size) {
      throw new RangeError(`${op}: index ${data[i]} at position ${i} is out of range for an axis of size ${size}`);
    }
  }
}

/** Selects entries along `axis` by integer indices of any shape (like numpy.take). */
export function gather(x: Tensor, indices: Tensor | readonly number[], axis = 0): Tensor {
  const a = normAxis("gather", axis, x.ndim);
  const b = backendOf("gather", x);
  if (!(indices instanceof Tensor)) {
    // Host indices are checked here on every backend (tensor indices only where the backend reads synchronously).
    indices.forEach((v, i) => {
      if (!Number.isInteger(v) || v < 0 || v >= x.shape[a]) throw new RangeError(`gather: index ${v} at position ${i} is out of range for an axis of size ${x.shape[a]}`);
    });
  }
  let idx = indices instanceof Tensor ? indices : fromBuf(b, b.upload(Int32Array.from(indices), "int32"), [indices.length], "int32");
  if (idx.dtype !== "int32") {
    if (isFloat(idx.dtype)) throw new TypeError(`gather: indices must be int32, got ${idx.dtype}; cast them with idx.cast("int32")`);
    idx = cast(idx, "int32");
  }
  backendOf("gather", x, idx);
  if (b.readSync) checkIndexTensor("gather", idx, x.shape[a]); // device kernels check as they gather
  const site = { op: "gather", axis: a, inputShape: x.shape, indexShape: idx.shape };
  const src = contiguousBase(x), ib = contiguousBase(idx);
  const outer = sizeOf(x.shape.slice(0, a)), inner = sizeOf(x.shape.slice(a + 1)), axisSize = x.shape[a], n = idx.size;
  const shape = [...x.shape.slice(0, a), ...idx.shape, ...x.shape.slice(a + 1)];
  const y = fromBuf(b, b.gather(src.storage("gather").buf!, x.dtype, ib.storage("gather").buf!, outer, axisSize, inner, n, site), shape, x.dtype);
  if (src !== x) src.dispose();
  const keepIdx = ib === idx ? idx : ib;
  record(y, "gather", [x], (g) => {
    const gc = contiguousBase(g);
    const gx = fromBuf(b, b.scatterAdd(gc.storage("gather").buf!, g.dtype, keepIdx.storage("gather").buf!, outer, axisSize, inner, n, { ...site, op: "gather (gradient)" }), x.shape, g.dtype);
    if (gc !== g) gc.dispose();
    return [gx];
  });
  return y;
}
export const take = gather;

/** One-hot encoding of int indices: shape [...indices.shape, depth]. */
export function oneHot(indices: Tensor, depth: number, dtype: DType = "float32"): Tensor {
  if (indices.dtype !== "int32") throw new TypeError(`oneHot: indices must be int32, got ${indices.dtype} (shape ${fmt(indices.shape)})`);
  checkIndexTensor("oneHot", indices, depth);
  const classes = arange(0, depth, 1, "int32");
  const hot = eq(unsqueeze(indices, -1), classes);
  return dtype === "bool" ? hot : cast(hot, dtype);
}

/** Pads with a constant: `paddings[i] = [before, after]` for axis i. */
export function pad(t: Tensor, paddings: readonly (readonly [number, number])[], value = 0): Tensor {
  if (paddings.length !== t.ndim) throw new Error(`pad: ${paddings.length} [before, after] pairs for a tensor with ${t.ndim} dims (shape ${fmt(t.shape)})`);
  for (const [p, q] of paddings) if (!Number.isInteger(p) || !Number.isInteger(q) || p < 0 || q < 0) throw new Error(`pad: paddings must be non-negative integers, got ${JSON.stringify(paddings)}`);
  const b = backendOf("pad", t);
  const shape = t.shape.map((d, i) => d + paddings[i][0] + paddings[i][1]);
  const buf = b.fill(sizeOf(shape), t.dtype, value);
  const st = contiguousStrides(shape);
  const offset = paddings.reduce((s, [p], i) => s + p * st[i], 0);
  if (t.size) b.copyInto(buf, { shape: t.shape, strides: st, offset, dtype: t.dtype }, t.view("pad"));
  const y = fromBuf(b, buf, shape, t.dtype);
  return record(y, "pad", [t], (g) => [slice(g, paddings.map(([p]) => p), t.shape)]);
}

/** Repeats the whole tensor `reps[i]` times along axis i. */
export function tile(t: Tensor, reps: readonly number[]): Tensor {
  const r = [...new Array(Math.max(0, t.ndim - reps.length)).fill(1), ...reps];
  const shape = [...new Array(Math.max(0, reps.length - t.ndim)).fill(1), ...t.shape];
  const inter = shape.flatMap((d) => [1, d]);
  const big = shape.flatMap((d, i) => [r[i], d]);
  return reshape(contiguous(broadcastTo(reshape(t, inter), big)), shape.map((d, i) => d * r[i]));
}

/** Repeats each element `repeats` times along `axis` (of the flattened tensor when no axis). */
export function repeat(t: Tensor, repeats: number, axis?: number): Tensor {
  if (axis === undefined) return repeat(reshape(t, [t.size]), repeats, 0);
  const a = normAxis("repeat", axis, t.ndim);
  const inter = [...t.shape.slice(0, a + 1), 1, ...t.shape.slice(a + 1)];
  const big = [...t.shape.slice(0, a + 1), repeats, ...t.shape.slice(a + 1)];
  const out = [...t.shape];
  out[a] *= repeats;
  return reshape(contiguous(broadcastTo(reshape(t, inter), big)), out);
}
