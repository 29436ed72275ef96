/**
 * Fast strided elementwise loops for the CPU backend: dimensions are merged where both operands
 * step contiguously, then the innermost run uses a loop specialized for the op and for the common
 * stride patterns (dense, broadcast scalar/row). No index arrays, no per-element closures for
 * the hot ops (a per-element call through a table of ops is megamorphic and several times slower).
 */
import type { BinaryOp, UnaryOp } from "../backend.js";

type Arr = Float32Array | Float64Array | Int32Array | Uint8Array;

export interface StridedLayout { shape: readonly number[]; strides: readonly number[]; offset: number }

/**
 * Merges adjacent dimensions that are contiguous in every operand and drops size-1 dimensions.
 * Returns the merged shape and one stride list per operand (outer → inner).
 */
export function mergeDims(shape: readonly number[], stridesList: (readonly number[])[]): { shape: number[]; strides: number[][] } {
  const outShape: number[] = [];
  const outStrides: number[][] = stridesList.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1) continue;
    const last = outShape.length - 1;
    // Dimension d merges into the previous kept one when every operand's previous stride = stride·size.
    if (last >= 0 && stridesList.every((s, i) => outStrides[i][last] === s[d] * shape[d])) {
      outShape[last] *= shape[d];
      stridesList.forEach((s, i) => (outStrides[i][last] = s[d]));
      continue;
    }
    outShape.push(shape[d]);
    stridesList.forEach((s, i) => outStrides[i].push(s[d]));
  }
  if (outShape.length === 0) {
    outShape.push(1);
    outStrides.forEach((s) => s.push(0));
  }
  return { shape: outShape, strides: outStrides };
}

/**
 * Calls `run(outStart, aStart, bStart)` once per innermost row, walking the outer dimensions;
 * the row has length shape[last] and strides strides[·][last].
 */
function forEachRow(shape: number[], strides: number[][], offsets: number[], run: (o: number, a: number, b: number) => void): void {
  const nd = shape.length, inner = shape[nd - 1];
  const sa = strides[0], sb = strides[1] ?? sa;
  let a = offsets[0], b = offsets[1] ?? 0;
  if (nd === 1) return run(0, a, b);
  if (nd === 2) {
    for (let i = 0, o = 0; i < shape[0]; i++, o += inner, a += sa[0], b += sb[0]) run(o, a, b);
    return;
  }
  const ctr = new Array<number>(nd - 1).fill(0);
  const rows = shape.slice(0, nd - 1).reduce((x, y) => x * y, 1);
  for (let r = 0, o = 0; r < rows; r++, o += inner) {
    run(o, a, b);
    for (let d = nd - 2; d >= 0; d--) {
      a += sa[d]; b += sb[d];
      if (++ctr[d] < shape[d]) break;
      a -= sa[d] * shape[d]; b -= sb[d] * shape[d];
      ctr[d] = 0;
    }
  }
}

/** out[i] = f(a[i], b[i]) over a's shape (a and b already broadcast to it through their strides). */
export function binaryStrided(op: BinaryOp, A: Arr, a: StridedLayout, B: Arr, b: StridedLayout, out: Arr, f: (x: number, y: number) => number): void {
  const size = a.shape.reduce((x, y) => x * y, 1);
  if (size === 0) return;
  const m = mergeDims(a.shape, [a.strides, b.strides]);
  const inner = m.shape[m.shape.length - 1];
  const ia = m.strides[0][m.shape.length - 1], ib = m.strides[1][m.shape.length - 1];
  const row = rowKernel(op, ia, ib, f);
  forEachRow(m.shape, m.strides, [a.offset, b.offset], (o, ao, bo) => row(A, ao, B, bo, out, o, inner));
}

type Row = (A: Arr, ao: number, B: Arr, bo: number, out: Arr, o: number, n: number) => void;

// One closure per (op, stride pattern): each stays monomorphic in the ops it handles.
function rowKernel(op: BinaryOp, ia: number, ib: number, f: (x: number, y: number) => number): Row {
  const pattern = ia === 1 && ib === 1 ? "dense" : ia === 1 && ib === 0 ? "aRow" : ia === 0 && ib === 1 ? "bRow" : "strided";
  switch (op) {
    case "add":
      if (pattern === "dense") return (A, ao, B, bo, out, o, n) => { for (let i = 0; i < n; i++) out[o + i] = A[ao + i] + B[bo + i]; };
      if (pattern === "aRow") return (A, ao, B, bo, out, o, n) => { const s = B[bo]; for (let i = 0; i < n; i++) out[o + i] = A[ao + i] + s; };
      if (pattern === "bRow") return (A, ao, B, bo, out, o, n) => { const s = A[ao]; for (let i = 0; i < n; i++) out[o + i] = s + B[bo + i]; };
      return (A, ao, B, bo, out, o, n) => { for (let i = 0; i < n; i++) out[o + i] = A[ao + i * ia] + B[bo + i * ib]; };
    case "sub":
      if (pattern === "dense") return (A, ao, B, bo, out, o, n) => { for (let i = 0; i < n; i++) out[o + i] = A[ao + i] - B[bo + i]; };
      if (pattern === "aRow") return (A, ao, B, bo, out, o, n) => { const s = B[bo]; for (let i = 0; i < n; i++) out[o + i] = A[ao + i] - s; };
      if (pattern === "bRow") return (A, ao, B, bo, out, o, n) => { const s = A[ao]; for (let i = 0; i < n; i++) out[o + i] = s - B[bo + i]; };
      return (A, ao, B, bo, out, o, n) => { for (let i = 0; i < n; i++) out[o + i] = A[ao + i * ia] - B[bo + i * ib]; };
    case "mul":
      if (pattern === "dense") return (A, ao, B, bo, out, o, n) => { for (let i = 0; i < n; i++) out[o + i] = A[ao + i] * B[bo + i]; };
      if (pattern === "aRow") return (A, ao, B, bo, out, o, n) => { const s = B[bo]; for (let i = 0; i < n; i++) out[o + i] = A[ao + i] * s; };
      if (pattern === "bRow") return (A, ao, B, bo, out, o, n) => { const s = A[ao]; for (let i = 0; i < n; i++) out[o + i] = s * B[bo + i]; };
      return (A, ao, B, bo, out, o, n) => { for (let i = 0; i < n; i++) out[o + i] = A[ao + i * ia] * B[bo + i * ib]; };
    case "div":
      if (pattern === "dense") return (A, ao, B, bo, out, o, n) => { for (let i = 0; i < n; i++) out[o + i] = A[ao + i] / B[bo + i]; };
      if (pattern === "aRow") return (A, ao, B, bo, out, o, n) => { const s = B[bo]; for (let i = 0; i < n; i++) out[o + i] = A[ao + i] / s; };
      if (pattern === "bRow") return (A, ao, B, bo, out, o, n) => { const s = A[ao]; for (let i = 0; i < n; i++) out[o + i] = s / B[bo + i]; };
      return (A, ao, B, bo, out, o, n) => { for (let i = 0; i < n; i++) out[o + i] = A[ao + i * ia] / B[bo + i * ib]; };
    // Comparisons as +(a > b): a data-dependent `? 1 : 0` compiles to a branch that random data mispredicts (measured 4× slower).
    case "gt": return (A, ao, B, bo, out, o, n) => { for (let i = 0; i < n; i++) out[o + i] = +(A[ao + i * ia] > B[bo + i * ib]); };
    case "ge": return (A, ao, B, bo, out, o, n) => { for (let i = 0; i < n; i++) out[o + i] = +(A[ao + i * ia] >= B[bo + i * ib]); };
    case "lt": return (A, ao, B, bo, out, o, n) => { for (let i = 0; i < n; i++) out[o + i] = +(A[ao + i * ia] < B[bo + i * ib]); };
    case "le": return (A, ao, B, bo, out, o, n) => { for (let i = 0; i < n; i++) out[o + i] = +(A[ao + i * ia] <= B[bo + i * ib]); };
    case "eq": return (A, ao, B, bo, out, o, n) => { for (let i = 0; i < n; i++) out[o + i] = +(A[ao + i * ia] === B[bo + i * ib]); };
    case "ne": return (A, ao, B, bo, out, o, n) => { for (let i = 0; i < n; i++) out[o + i] = +(A[ao + i * ia] !== B[bo + i * ib]); };
    default:
      return (A, ao, B, bo, out, o, n) => { for (let i = 0; i < n; i++) out[o + i] = f(A[ao + i * ia], B[bo + i * ib]); };
  }
}

/** out[i] = f(x[i], param) over x's shape; the hot activations and arithmetic get their own loops. */
export function unaryStrided(op: UnaryOp, X: Arr, x: StridedLayout, out: Arr, param: number, f: (v: number, p: number) => number): void {
  const size = x.shape.reduce((p, q) => p * q, 1);
  if (size === 0) return;
  const m = mergeDims(x.shape, [x.strides]);
  const is = m.strides[0][m.shape.length - 1];
  const inner = m.shape[m.shape.length - 1];
  const row = unaryRow(op, is, f, param);
  forEachRow(m.shape, m.strides, [x.offset], (o, xo) => row(X, xo, out, o, inner));
}

type URow = (X: Arr, xo: number, out: Arr, o: number, n: number) => void;

function unaryRow(op: UnaryOp, s: number, f: (v: number, p: number) => number, param: number): URow {
  switch (op) {
    // Branch-free Math.max (a data-dependent `v > 0 ? v : 0` mispredicts on mixed signs); NaN stays NaN
    // (as in PyTorch) and -Infinity gives 0 ((v + |v|) / 2 would give NaN there).
    case "relu": return (X, xo, out, o, n) => { for (let i = 0; i < n; i++) out[o + i] = Math.max(X[xo + i * s], 0); };
    case "neg": return (X, xo, out, o, n) => { for (let i = 0; i < n; i++) out[o + i] = -X[xo + i * s]; };
    case "square": return (X, xo, out, o, n) => { for (let i = 0; i < n; i++) { const v = X[xo + i * s]; out[o + i] = v * v; } };
    case "sqrt": return (X, xo, out, o, n) => { for (let i = 0; i < n; i++) out[o + i] = Math.sqrt(X[xo + i * s]); };
    case "exp": return (X, xo, out, o, n) => { for (let i = 0; i < n; i++) out[o + i] = Math.exp(X[xo + i * s]); };
    case "log": return (X, xo, out, o, n) => { for (let i = 0; i < n; i++) out[o + i] = Math.log(X[xo + i * s]); };
    case "abs": return (X, xo, out, o, n) => { for (let i = 0; i < n; i++) out[o + i] = Math.abs(X[xo + i * s]); };
    case "tanh": return (X, xo, out, o, n) => { for (let i = 0; i < n; i++) out[o + i] = Math.tanh(X[xo + i * s]); };
    case "reciprocal": return (X, xo, out, o, n) => { for (let i = 0; i < n; i++) out[o + i] = 1 / X[xo + i * s]; };
    default: return (X, xo, out, o, n) => { for (let i = 0; i < n; i++) out[o + i] = f(X[xo + i * s], param); };
  }
}
