/**
 * Kernels on tensors larger than one storage binding (maxStorageBufferBindingSize: 128 MiB on lavapipe;
 * buffers themselves may be as large as maxBufferSize). webgpu.ts sends a call here when one of its
 * buffers is past the limit; everything else takes the ordinary path.
 *
 * Every such call is a problem over named axes (reduce: outer, r, inner; matmul: batch, m, n, k; conv:
 * n, cin, cout, ...). `solve` splits the largest oversize operand along the first axis in the op's order
 * until every operand fits, then runs the ordinary kernel on each piece: its inputs are copied out of the
 * big buffers with the windowed copy kernel (skipped when an input already fits whole), and the result is
 * written into the output at its place with the windowed copyInto. Pieces along an axis the output lacks
 * (reduce's r, matmul's k, conv's cin, the batch of a filter gradient, ...) are combined into the output
 * with the op's binary combine (add, mul, maximum, minimum). argmax/argmin and cumsum along an axis longer
 * than a binding run chunk by chunk with an explicit carry (index offset and value; running total).
 *
 * Cost: one extra read and write of each input piece (the copy), plus a read-modify-write of the output
 * per combined piece; the kernels themselves run as usual.
 */
import type { Backend, BinaryOp, Buf, Conv2dParams, MatmulParams, Pool2dParams, ReduceOp, View } from "../backend.js";
import type { DType } from "../../dtype.js";
import { contiguousStrides, sizeOf } from "../../shape.js";
import { reduceOutDType } from "./kernels/reduce.js";
import type { IndexSite } from "./webgpu.js";

const BYTES_PER_ELEMENT = 4;

/** What chunked.ts needs from the backend beyond the Backend interface. */
export interface ChunkHost extends Backend {
  /** Bytes one storage binding may cover (the device limit, or the lowered DAWNET_WEBGPU_MAX_BINDING_BYTES). */
  readonly maxBindingBytes: number;
  /** minStorageBufferOffsetAlignment in elements. */
  readonly bindingAlignElements: number;
  /** Elements the buffer was allocated for. */
  bufferElements(buf: Buf): number;
  /** A window of `buf` that kernels (not elementwise/copy/gather) bind in place, if `start` is aligned. */
  windowOf(buf: Buf, start: number, elements: number): Buf | undefined;
  /** A plain buffer-to-buffer copy of a contiguous range (no binding limit, no alignment beyond 4 bytes). */
  copyRange(src: Buf, srcStart: number, dst: Buf, dstStart: number, elements: number): void;
}

/**
 * The binding limit the backend uses: the device's, or DAWNET_WEBGPU_MAX_BINDING_BYTES when set (tests: it
 * may only lower the limit, and is rounded down to the offset alignment, at least 4 alignments).
 */
export function bindingLimitBytes(deviceLimit: number, alignmentBytes: number, env = process.env.DAWNET_WEBGPU_MAX_BINDING_BYTES): number {
  if (env === undefined || env === "") return deviceLimit;
  const asked = Number(env);
  if (!Number.isFinite(asked) || asked <= 0) {
    throw new RangeError(`DAWNET_WEBGPU_MAX_BINDING_BYTES=${env}: expected a positive number of bytes (it lowers maxStorageBufferBindingSize for tests)`);
  }
  return Math.min(deviceLimit, Math.max(4 * alignmentBytes, Math.floor(asked / alignmentBytes) * alignmentBytes));
}

/** Whether gather's own row-window path handles a source past the limit (outer = 1 and one row fits a window). */
export function gatherRowWindowsFit(outer: number, inner: number, maxBindingBytes: number, alignElements: number): boolean {
  return outer === 1 && inner <= maxBindingBytes / BYTES_PER_ELEMENT - alignElements;
}

// ---------------------------------------------------------------- the splitting driver

/** One operand: a strided view whose dims are named by axis (null: a dim that is never split). */
interface Operand {
  view: View;
  axes: readonly (string | null)[];
  /** Storage order of the dims when materialized (matmul keeps transposed inputs transposed). */
  layout?: readonly number[];
  /** Dtype of the materialized copy (default the view's). */
  castTo?: DType;
}

interface Problem {
  op: string;
  /** Splittable axes, tried in this order. */
  order: readonly string[];
  /** Merges a piece along an axis the output lacks into what the output holds. */
  combine: BinaryOp;
  /** Runs the ordinary kernel on materialized inputs; returns a contiguous result of the output piece's shape. */
  leaf(inputs: Buf[], sizes: Record<string, number>, starts: Record<string, number>): Buf;
  /** Input k is bound in windows by its kernel under these sizes (gather's source). */
  windowed?(k: number, sizes: Record<string, number>): boolean;
  /** The leaf kernel accepts windows from host.windowOf: contiguous pieces are bound in place, not copied. */
  inPlace?: boolean;
  /**
   * Convolution and pooling: the input rows [first, first + count) that output rows [start, start + n) read.
   * Splitting the "rows" axis (output rows) narrows dims named "inRows" to them; pieces of an output with
   * "inRows" (input gradients) overlap, so that output is zeroed and every piece added into it.
   */
  inputRows?(start: number, n: number): [number, number];
}

/** The dims of `o` that a copy materializes, in storage order (dims broadcast with stride 0 are dropped). */
function storedDims(o: Operand): number[] {
  const order = o.layout ?? o.view.shape.map((_, d) => d);
  return order.filter((d) => o.view.strides[d] !== 0 || o.view.shape[d] === 0);
}

function storedSize(o: Operand): number {
  let n = 1;
  for (const d of storedDims(o)) n *= o.view.shape[d];
  return n;
}

/** The operand restricted to [start, start + n) along `axis` (unchanged if it has no such dim). */
function narrow(o: Operand, axis: string, start: number, n: number): Operand {
  const d = o.axes.indexOf(axis);
  if (d < 0) return o;
  const v = o.view;
  return { ...o, view: { ...v, shape: v.shape.map((x, i) => (i === d ? n : x)), offset: v.offset + start * v.strides[d] } };
}

/**
 * A contiguous buffer holding the operand: the buffer itself when the operand starts it and it fits (or
 * `whole` allows a larger one), a window of it bound in place when the operand is one contiguous range and
 * `inPlace`, else a copy.
 */
function materialize(host: ChunkHost, o: Operand, whole: boolean, inPlace: boolean): { buf: Buf; owned: boolean } {
  const v = o.view;
  const dims = storedDims(o);
  const shape = dims.map((d) => v.shape[d]);
  const strides = dims.map((d) => v.strides[d]);
  const dtype = o.castTo ?? v.dtype;
  if (sizeOf(shape) === 0) return { buf: host.alloc(0, dtype), owned: true };
  const want = contiguousStrides(shape);
  const dense = dtype === v.dtype && shape.every((x, i) => x === 1 || strides[i] === want[i]);
  if (dense && v.offset === 0 && (whole || host.bufferElements(v.buf) * BYTES_PER_ELEMENT <= host.maxBindingBytes)) return { buf: v.buf, owned: false };
  const window = dense && inPlace ? host.windowOf(v.buf, v.offset, sizeOf(shape)) : undefined;
  if (window) return { buf: window, owned: true };
  if (dense) {
    // One contiguous range at an unaligned offset: a buffer copy, much cheaper than the strided copy kernel.
    const buf = host.alloc(sizeOf(shape), dtype);
    host.copyRange(v.buf, v.offset, buf, 0, sizeOf(shape));
    return { buf, owned: true };
  }
  return { buf: host.copy({ buf: v.buf, dtype: v.dtype, shape, strides, offset: v.offset }, dtype), owned: true };
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** Writes (or combines, when `accumulate`) a contiguous piece into the output region `out`. */
function writePiece(host: ChunkHost, out: View, piece: Buf, accumulate: boolean, combine: BinaryOp): void {
  const dense = (buf: Buf): View => ({ buf, dtype: out.dtype, shape: out.shape, strides: contiguousStrides(out.shape), offset: 0 });
  const region = { shape: out.shape, strides: out.strides, offset: out.offset, dtype: out.dtype };
  if (!accumulate) {
    const want = contiguousStrides(out.shape);
    if (out.shape.every((x, i) => x === 1 || out.strides[i] === want[i])) host.copyRange(piece, 0, out.buf, out.offset, sizeOf(out.shape));
    else host.copyInto(out.buf, region, dense(piece));
    host.free(piece);
    return;
  }
  const current = host.copy(out, out.dtype);
  const merged = host.binary(combine, dense(current), dense(piece), out.dtype);
  host.copyInto(out.buf, region, dense(merged));
  for (const b of [current, merged, piece]) host.free(b);
}

/**
 * Splits until every operand fits one binding, then runs `p.leaf` per piece. A piece along an axis the output
 * lacks is combined into the output unless it is the first one there (`accumulate` false).
 */
function solve(host: ChunkHost, p: Problem, sizes: Record<string, number>, starts: Record<string, number>, inputs: Operand[], out: Operand, accumulate: boolean): void {
  const limit = host.maxBindingBytes / BYTES_PER_ELEMENT;
  const operands = [...inputs, out];
  const oversize = operands.filter((o, k) => storedSize(o) > limit && !(k < inputs.length && p.windowed?.(k, sizes)));
  if (oversize.length === 0) {
    const held = inputs.map((o, k) => materialize(host, o, !!p.windowed?.(k, sizes), !!p.inPlace));
    const piece = p.leaf(held.map((h) => h.buf), sizes, starts);
    for (const h of held) if (h.owned) host.free(h.buf);
    writePiece(host, out.view, piece, accumulate, p.combine);
    return;
  }
  for (const axis of p.order) {
    const len = sizes[axis];
    if (len <= 1) continue;
    const dimOf = (o: Operand) => o.axes.indexOf(axis === "rows" && o.axes.includes("inRows") ? "inRows" : axis);
    const hit = oversize.filter((o) => {
      const d = dimOf(o);
      return d >= 0 && o.view.strides[d] !== 0;
    });
    if (hit.length === 0) continue;
    // Operand sizes are proportional to the axis length: this step brings the largest one under the limit.
    let step = Math.max(1, Math.floor((len * limit) / Math.max(...hit.map(storedSize))));
    if (p.inPlace) {
      // Pieces start at multiples of the offset alignment along this axis where possible (bound in place, not copied).
      let unit = 1;
      for (const o of inputs) {
        const d = o.axes.indexOf(axis);
        if (d < 0 || o.view.strides[d] === 0) continue;
        const u = host.bindingAlignElements / gcd(host.bindingAlignElements, Math.abs(o.view.strides[d]));
        unit = (unit * u) / gcd(unit, u);
      }
      if (step >= unit) step -= step % unit;
    }
    const combines = !out.axes.includes(axis);
    if (axis === "rows" && out.axes.includes("inRows") && !accumulate) {
      // Row pieces of an input gradient overlap and may leave rows no window reads: zero the region; pieces
      // along "rows" (which the output lacks) are added into it.
      const zero = host.fill(1, out.view.dtype, 0);
      const v = out.view;
      host.copyInto(v.buf, { shape: v.shape, strides: v.strides, offset: v.offset, dtype: v.dtype }, { buf: zero, dtype: v.dtype, shape: v.shape, strides: v.shape.map(() => 0), offset: 0 });
      host.free(zero);
    }
    const parentRows = axis === "rows" ? p.inputRows!(starts.rows, sizes.rows) : undefined;
    for (let start = 0; start < len; start += step) {
      const n = Math.min(step, len - start);
      const cut = (o: Operand): Operand => {
        if (!parentRows || !o.axes.includes("inRows")) return narrow(o, axis, start, n);
        const [first, count] = p.inputRows!(starts.rows + start, n);
        return narrow(o, "inRows", first - parentRows[0], count);
      };
      solve(host, p, { ...sizes, [axis]: n }, { ...starts, [axis]: starts[axis] + start },
        inputs.map(cut), cut(out), accumulate || (combines && start > 0));
    }
    return;
  }
  const shapes = operands.map((o) => `[${o.view.shape.join(", ")}]`).join(", ");
  throw new RangeError(
    `webgpu ${p.op}: operands ${shapes} cannot be split into pieces of at most ${host.maxBindingBytes} bytes ` +
      `(maxStorageBufferBindingSize) along ${p.order.join("/")}: use the cpu backend for this call`,
  );
}

/** Allocates the output, solves into it, returns it. */
function run(host: ChunkHost, p: Problem, sizes: Record<string, number>, inputs: Operand[], outAxes: (string | null)[], outShape: number[], outDtype: DType): Buf {
  const buf = host.alloc(sizeOf(outShape), outDtype);
  if (sizeOf(outShape) === 0) return buf;
  const out: Operand = { view: { buf, dtype: outDtype, shape: outShape, strides: contiguousStrides(outShape), offset: 0 }, axes: outAxes };
  const starts = Object.fromEntries(Object.keys(sizes).map((a) => [a, 0]));
  solve(host, p, sizes, starts, inputs, out, false);
  return buf;
}

function dense(buf: Buf, dtype: DType, shape: number[]): View {
  return { buf, dtype, shape, strides: contiguousStrides(shape), offset: 0 };
}

function freeAll(host: ChunkHost, ...bufs: Buf[]): void {
  for (const b of bufs) host.free(b);
}

// ---------------------------------------------------------------- reductions and scans

const REDUCE_COMBINE: Record<"sum" | "prod" | "max" | "min", BinaryOp> = { sum: "add", prod: "mul", max: "maximum", min: "minimum" };

/**
 * reduce(op) over the middle axis of `x` (a view [outer, r, inner]) into a new [outer * inner] buffer, r
 * never split (argmax/argmin); `leafDtype` is the dtype pieces are reduced in; `nanAs` replaces NaN first.
 */
function reduceRows(host: ChunkHost, op: ReduceOp, x: View, leafDtype: DType, nanAs?: number): Buf {
  const [outer, r, inner] = x.shape;
  const p: Problem = {
    op: `reduce ${op}`,
    order: ["outer", "inner"],
    combine: "add",
    inPlace: nanAs === undefined, // replacing NaN runs elementwise kernels on the piece: those need a copy
    leaf: ([t], s) => {
      let src = t;
      if (nanAs !== undefined && leafDtype === "float32") {
        const shape = [s.outer * r * s.inner];
        const isNan = host.binary("ne", dense(t, leafDtype, shape), dense(t, leafDtype, shape), "bool");
        const fill = host.fill(1, leafDtype, nanAs);
        src = host.where(dense(isNan, "bool", shape), { buf: fill, dtype: leafDtype, shape, strides: [0], offset: 0 }, dense(t, leafDtype, shape));
        freeAll(host, isNan, fill);
      }
      const out = host.reduce(op, src, leafDtype, s.outer, r, s.inner);
      if (src !== t) host.free(src);
      return out;
    },
  };
  return run(host, p, { outer, inner }, [{ view: x, axes: ["outer", null, "inner"], castTo: leafDtype }], ["outer", "inner"], [outer, inner], reduceOutDType(op, leafDtype));
}

export function reduce(host: ChunkHost, op: ReduceOp, x: Buf, dtype: DType, outer: number, r: number, inner: number): Buf {
  const limit = host.maxBindingBytes / BYTES_PER_ELEMENT;
  const view: View = { buf: x, dtype, shape: [outer, r, inner], strides: [r * inner, inner, 1], offset: 0 };
  if (op === "argmax" || op === "argmin") {
    if (r <= limit) return reduceRows(host, op, view, dtype);
    return argReduceChunked(host, op, view, Math.max(1, Math.floor(limit / inner)));
  }
  const p: Problem = {
    op: `reduce ${op}`,
    order: ["outer", "r", "inner"],
    combine: REDUCE_COMBINE[op],
    inPlace: true,
    leaf: ([t], s) => host.reduce(op, t, dtype, s.outer, s.r, s.inner),
  };
  return run(host, p, { outer, r, inner }, [{ view, axes: ["outer", "r", "inner"] }], ["outer", "inner"], [outer, inner], reduceOutDType(op, dtype));
}

/**
 * argmax/argmin along an axis longer than a binding, `rows` at a time. Semantics of the CPU backend: the
 * first extreme index ignoring NaN, except 0 when the first element is NaN. Each chunk after the first is
 * reduced with NaN replaced by the worst value (so a NaN at a chunk's start does not win there); a chunk
 * replaces the best so far only where its extreme is strictly better (earlier index wins ties).
 */
function argReduceChunked(host: ChunkHost, op: "argmax" | "argmin", x: View, rows: number): Buf {
  const [outer, r, inner] = x.shape;
  const outputs = outer * inner;
  const leafDtype: DType = x.dtype === "bool" ? "int32" : x.dtype;
  const worst = op === "argmax" ? -Infinity : Infinity;
  const valueOp = op === "argmax" ? "max" : "min";
  const flat = (buf: Buf, dtype: DType) => dense(buf, dtype, [outputs]);
  let best: Buf | undefined, bestIndex: Buf | undefined;
  for (let j0 = 0; j0 < r; j0 += rows) {
    const n = Math.min(rows, r - j0);
    const chunk: View = { ...x, shape: [outer, n, inner], offset: j0 * inner };
    const index = reduceRows(host, op, chunk, leafDtype, j0 === 0 ? undefined : worst);
    const value = reduceRows(host, valueOp, chunk, leafDtype, worst);
    if (!best || !bestIndex) {
      bestIndex = index;
      best = value;
      if (leafDtype === "float32") {
        // A NaN first element pins the answer to 0: make the best value unbeatable there.
        const first = host.copy({ ...x, shape: [outer, inner], strides: [r * inner, 1], offset: 0 }, "float32");
        const isNan = host.binary("ne", flat(first, "float32"), flat(first, "float32"), "bool");
        const pin = host.fill(1, "float32", -worst);
        best = host.where(flat(isNan, "bool"), { buf: pin, dtype: "float32", shape: [outputs], strides: [0], offset: 0 }, flat(value, "float32"));
        freeAll(host, first, isNan, pin, value);
      }
      continue;
    }
    const better = host.binary(op === "argmax" ? "gt" : "lt", flat(value, leafDtype), flat(best, leafDtype), "bool");
    const offset = host.upload(Int32Array.of(j0), "int32");
    const shifted = host.binary("add", flat(index, "int32"), { buf: offset, dtype: "int32", shape: [outputs], strides: [0], offset: 0 }, "int32");
    const nextIndex = host.where(flat(better, "bool"), flat(shifted, "int32"), flat(bestIndex, "int32"));
    const nextBest = host.where(flat(better, "bool"), flat(value, leafDtype), flat(best, leafDtype));
    freeAll(host, better, offset, shifted, index, value, bestIndex, best);
    bestIndex = nextIndex;
    best = nextBest;
  }
  host.free(best!);
  return bestIndex!;
}

export function cumsum(host: ChunkHost, x: Buf, dtype: DType, outer: number, n: number, inner: number, reverse: boolean): Buf {
  const limit = host.maxBindingBytes / BYTES_PER_ELEMENT;
  const outDtype: DType = dtype === "bool" ? "int32" : dtype;
  const view: View = { buf: x, dtype, shape: [outer, n, inner], strides: [n * inner, inner, 1], offset: 0 };
  // Pieces keep the scanned axis whole: [outer, len, inner] views scanned independently.
  const scan = (v: View, len: number): Buf => run(host, {
    op: "cumsum",
    order: ["outer", "inner"],
    combine: "add",
    inPlace: true,
    leaf: ([t], s) => host.cumsum(t, dtype, s.outer, len, s.inner, reverse),
  }, { outer, inner }, [{ view: v, axes: ["outer", null, "inner"] }], ["outer", null, "inner"], [outer, len, inner], outDtype);
  if (n * inner <= limit || n === 1) return scan(view, n);
  // A scanned axis past one binding: chunks of rows in scan order, each plus the running total before it.
  const rows = Math.max(1, Math.floor(limit / inner));
  const out = host.alloc(outer * n * inner, outDtype);
  let carry: Buf | undefined;
  for (let done = 0; done < n; done += rows) {
    const len = Math.min(rows, n - done);
    const j0 = reverse ? n - done - len : done;
    let piece = scan({ ...view, shape: [outer, len, inner], offset: j0 * inner }, len);
    if (carry) {
      const summed = host.binary("add", dense(piece, outDtype, [outer, len, inner]), { buf: carry, dtype: outDtype, shape: [outer, len, inner], strides: [inner, 0, 1], offset: 0 }, outDtype);
      freeAll(host, piece, carry);
      piece = summed;
    }
    host.copyInto(out, { shape: [outer, len, inner], strides: [n * inner, inner, 1], offset: j0 * inner, dtype: outDtype }, dense(piece, outDtype, [outer, len, inner]));
    const lastRow = reverse ? 0 : len - 1;
    carry = host.copy({ buf: piece, dtype: outDtype, shape: [outer, inner], strides: [len * inner, 1], offset: lastRow * inner }, outDtype);
    host.free(piece);
  }
  if (carry) host.free(carry);
  return out;
}

// ---------------------------------------------------------------- matmul

export function matmul(host: ChunkHost, a: Buf, b: Buf, dtype: DType, p: MatmulParams): Buf {
  const { batch, m, k, n } = p;
  const aView: View = { buf: a, dtype, shape: [batch, m, k], strides: [p.aBatchStride, p.transA ? 1 : k, p.transA ? m : 1], offset: 0 };
  const bView: View = { buf: b, dtype, shape: [batch, k, n], strides: [p.bBatchStride, p.transB ? 1 : n, p.transB ? k : 1], offset: 0 };
  const problem: Problem = {
    op: "matmul",
    // Each input's outer stored axis first: its pieces are contiguous ranges, bound in place (transposed A: k).
    order: [...new Set(["batch", p.transA ? "k" : "m", p.transB ? "n" : "k", "m", "n", "k"])],
    combine: "add",
    inPlace: true,
    leaf: ([ap, bp], s) => host.matmul(ap, bp, dtype, {
      batch: s.batch, m: s.m, k: s.k, n: s.n,
      // Inputs broadcast over the batch were materialized as one matrix.
      aBatchStride: p.aBatchStride === 0 ? 0 : s.m * s.k, bBatchStride: p.bBatchStride === 0 ? 0 : s.k * s.n,
      transA: p.transA, transB: p.transB,
    }),
  };
  return run(host, problem, { batch, m, n, k }, [
    { view: aView, axes: ["batch", "m", "k"], layout: p.transA ? [0, 2, 1] : [0, 1, 2] },
    { view: bView, axes: ["batch", "k", "n"], layout: p.transB ? [0, 2, 1] : [0, 1, 2] },
  ], ["batch", "m", "n"], [batch, m, n], dtype);
}

// ---------------------------------------------------------------- indexing

export function gather(host: ChunkHost, x: Buf, dtype: DType, idx: Buf, outer: number, axisSize: number, inner: number, nIdx: number, site: IndexSite = { op: "gather" }): Buf {
  const problem: Problem = {
    op: "gather",
    order: ["outer", "index", "inner"],
    combine: "add",
    leaf: ([xp, ip], s, at) => {
      // A bad index is reported at its position in the whole index tensor, with the caller's shapes.
      const pieceSite: IndexSite = { ...site, indexStart: (site.indexStart ?? 0) + at.index };
      return host.gather(xp, dtype, ip, s.outer, axisSize, s.inner, s.index, pieceSite);
    },
    windowed: (k, s) => k === 0 && gatherRowWindowsFit(s.outer, s.inner, host.maxBindingBytes, host.bindingAlignElements),
  };
  return run(host, problem, { outer, index: nIdx, inner }, [
    { view: { buf: x, dtype, shape: [outer, axisSize, inner], strides: [axisSize * inner, inner, 1], offset: 0 }, axes: ["outer", null, "inner"] },
    { view: { buf: idx, dtype: "int32", shape: [nIdx], strides: [1], offset: 0 }, axes: ["index"] },
  ], ["outer", "index", "inner"], [outer, nIdx, inner], dtype);
}

/**
 * scatterAdd split over outer, inner, the indices (pieces summed) and, last, rows of the output. A window of
 * rows [start, start + len) takes the indices that fall in it shifted by -start; the others point at row 0
 * with their gradient replaced by 0 (an out-of-range index would be reported as an error by the kernel).
 */
export function scatterAdd(host: ChunkHost, g: Buf, dtype: DType, idx: Buf, outer: number, axisSize: number, inner: number, nIdx: number): Buf {
  const outDtype: DType = dtype === "bool" ? "int32" : dtype;
  const scalar = (value: number, shape: number[]): View => ({ buf: host.fill(1, "int32", value), dtype: "int32", shape, strides: shape.map(() => 0), offset: 0 });
  const problem: Problem = {
    op: "scatterAdd",
    order: ["outer", "inner", "index", "row"],
    combine: "add",
    leaf: ([gp, ip], s, at) => {
      if (s.row === axisSize) return host.scatterAdd(gp, dtype, ip, s.outer, s.row, s.inner, s.index);
      const ids = dense(ip, "int32", [s.index]);
      const lo = scalar(at.row, [s.index]), hi = scalar(at.row + s.row, [s.index]), zero = scalar(0, [s.index]);
      const atLeast = host.binary("ge", ids, lo, "bool"), below = host.binary("lt", ids, hi, "bool");
      const inside = host.binary("logicalAnd", dense(atLeast, "bool", [s.index]), dense(below, "bool", [s.index]), "bool");
      const shifted = host.binary("sub", ids, lo, "int32");
      const local = host.where(dense(inside, "bool", [s.index]), dense(shifted, "int32", [s.index]), zero);
      const gShape = [s.outer, s.index, s.inner];
      const gZero: View = { buf: host.fill(1, dtype, 0), dtype, shape: gShape, strides: [0, 0, 0], offset: 0 };
      const gLocal = host.where({ buf: inside, dtype: "bool", shape: gShape, strides: [0, 1, 0], offset: 0 }, dense(gp, dtype, gShape), gZero);
      const out = host.scatterAdd(gLocal, dtype, local, s.outer, s.row, s.inner, s.index);
      freeAll(host, lo.buf, hi.buf, zero.buf, gZero.buf, atLeast, below, inside, shifted, local, gLocal);
      return out;
    },
  };
  return run(host, problem, { outer, index: nIdx, inner, row: axisSize }, [
    { view: { buf: g, dtype, shape: [outer, nIdx, inner], strides: [nIdx * inner, inner, 1], offset: 0 }, axes: ["outer", "index", "inner"] },
    { view: { buf: idx, dtype: "int32", shape: [nIdx], strides: [1], offset: 0 }, axes: ["index"] },
  ], ["outer", "row", "inner"], [outer, axisSize, inner], outDtype);
}

// ---------------------------------------------------------------- convolution and pooling

/** A contiguous NHWC-like 4-D operand whose dims are named `axes`. */
function nhwc(buf: Buf, shape: number[], axes: (string | null)[]): Operand {
  return { view: { buf, dtype: "float32", shape, strides: contiguousStrides(shape), offset: 0 }, axes };
}

/** Input rows [first, count] that output rows [start, start + n) of a window op read (clipped to the input). */
function windowRows(p: { h: number; strideH: number; padTop: number }, extent: number, start: number, n: number): [number, number] {
  const lo = start * p.strideH - p.padTop, hi = (start + n - 1) * p.strideH - p.padTop + extent - 1;
  const first = Math.max(0, lo), last = Math.min(p.h - 1, hi);
  if (last < first) throw new RangeError(`webgpu: output rows ${start}..${start + n - 1} read only padding (padTop ${p.padTop}, input height ${p.h}); such padding is not supported past one binding`);
  return [first, last - first + 1];
}

/** The params of a piece of output rows: its input rows and the padding above them. */
function rowPiece<P extends { h: number; oh: number; strideH: number; padTop: number }>(p: P, extent: number, start: number, n: number): P {
  if (start === 0 && n === p.oh) return p;
  const [first, count] = windowRows(p, extent, start, n);
  return { ...p, oh: n, h: count, padTop: first - (start * p.strideH - p.padTop) };
}

function convRun(host: ChunkHost, op: string, order: string[], p: Conv2dParams, inputs: Operand[], outShape: number[], outAxes: (string | null)[],
  kernel: (a: Buf, b: Buf, q: Conv2dParams) => Buf): Buf {
  const extent = (p.kh - 1) * p.dilationH + 1;
  const problem: Problem = {
    op, order: [...order, "rows"], combine: "add", inPlace: true,
    leaf: ([a, b], s, at) => kernel(a, b, rowPiece({ ...p, n: s.n, cin: s.cin, cout: s.cout }, extent, at.rows, s.rows)),
    inputRows: (start, n) => windowRows(p, extent, start, n),
  };
  return run(host, problem, { n: p.n, cin: p.cin, cout: p.cout, rows: p.oh }, inputs, outAxes, outShape, "float32");
}

/** Split over the batch, then output channels, then input channels (partial sums). */
export function conv2d(host: ChunkHost, x: Buf, w: Buf, p: Conv2dParams): Buf {
  return convRun(host, "conv2d", ["n", "cout", "cin"], p,
    [nhwc(x, [p.n, p.h, p.w, p.cin], ["n", "inRows", null, "cin"]), nhwc(w, [p.kh, p.kw, p.cin, p.cout], [null, null, "cin", "cout"])],
    [p.n, p.oh, p.ow, p.cout], ["n", "rows", null, "cout"], (a, b, q) => host.conv2d(a, b, "float32", q));
}

/** Split over the batch, then input channels, then output channels (partial sums). */
export function conv2dGradInput(host: ChunkHost, dy: Buf, w: Buf, p: Conv2dParams): Buf {
  return convRun(host, "conv2dGradInput", ["n", "cin", "cout"], p,
    [nhwc(dy, [p.n, p.oh, p.ow, p.cout], ["n", "rows", null, "cout"]), nhwc(w, [p.kh, p.kw, p.cin, p.cout], [null, null, "cin", "cout"])],
    [p.n, p.h, p.w, p.cin], ["n", "inRows", null, "cin"], (a, b, q) => host.conv2dGradInput(a, b, "float32", q));
}

/** Split over the batch (partial sums), then input and output channels. */
export function conv2dGradFilter(host: ChunkHost, x: Buf, dy: Buf, p: Conv2dParams): Buf {
  return convRun(host, "conv2dGradFilter", ["n", "cin", "cout"], p,
    [nhwc(x, [p.n, p.h, p.w, p.cin], ["n", "inRows", null, "cin"]), nhwc(dy, [p.n, p.oh, p.ow, p.cout], ["n", "rows", null, "cout"])],
    [p.kh, p.kw, p.cin, p.cout], [null, null, "cin", "cout"], (a, b, q) => host.conv2dGradFilter(a, b, "float32", q));
}

/** Pooling is independent per image and channel: split over the batch, then channels. */
export function pool2d(host: ChunkHost, op: "max" | "avg", x: Buf, p: Pool2dParams): Buf {
  const problem: Problem = {
    op: "pool2d", order: ["n", "c", "rows"], combine: "add", inPlace: true,
    leaf: ([xp], s, at) => host.pool2d(op, xp, "float32", rowPiece({ ...p, n: s.n, c: s.c }, p.kh, at.rows, s.rows)),
    inputRows: (start, n) => windowRows(p, p.kh, start, n),
  };
  return run(host, problem, { n: p.n, c: p.c, rows: p.oh }, [nhwc(x, [p.n, p.h, p.w, p.c], ["n", "inRows", null, "c"])], ["n", "rows", null, "c"], [p.n, p.oh, p.ow, p.c], "float32");
}

export function pool2dGrad(host: ChunkHost, op: "max" | "avg", x: Buf, dy: Buf, p: Pool2dParams): Buf {
  const problem: Problem = {
    op: "pool2dGrad", order: ["n", "c", "rows"], combine: "add", inPlace: true,
    leaf: ([xp, dyp], s, at) => host.pool2dGrad(op, xp, dyp, "float32", rowPiece({ ...p, n: s.n, c: s.c }, p.kh, at.rows, s.rows)),
    inputRows: (start, n) => windowRows(p, p.kh, start, n),
  };
  return run(host, problem, { n: p.n, c: p.c, rows: p.oh }, [
    nhwc(x, [p.n, p.h, p.w, p.c], ["n", "inRows", null, "c"]), nhwc(dy, [p.n, p.oh, p.ow, p.c], ["n", "rows", null, "c"]),
  ], ["n", "inRows", null, "c"], [p.n, p.h, p.w, p.c], "float32");
}
