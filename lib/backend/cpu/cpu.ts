/**
 * The CPU backend: the reference for every other backend and the fallback without a GPU.
 * Buffers are typed arrays; float math runs in float64 and is stored in the buffer's type.
 */
import type { Backend, BinaryOp, Buf, Conv2dParams, MatmulParams, Pool2dParams, ReduceOp, UnaryOp, View } from "../backend.js";
import { arrayCtor, newArray, type DType, type TypedArray } from "../../dtype.js";
import { sizeOf } from "../../shape.js";
import { isDense, viewIndices } from "./strided.js";
import { matmulCpu } from "./matmul.js";
import { roundArrayToFloat16 } from "./half.js";
import { binaryStrided, unaryStrided } from "./elementwise.js";
import { conv2dCpu, conv2dGradFilterCpu, conv2dGradInputCpu, pool2dCpu, pool2dGradCpu } from "./conv.js";

interface CpuBuf { data: TypedArray }
type Num = Float32Array | Float64Array | Int32Array;

const arr = (b: Buf) => (b as CpuBuf).data;
const num = (b: Buf) => (b as CpuBuf).data as Num;

// Abramowitz & Stegun 7.1.26 has 1.5e-7 absolute error: enough for float32, and WGSL can use the same.
export function erf(x: number): number {
  const s = x < 0 ? -1 : 1;
  const a = Math.abs(x);
  const t = 1 / (1 + 0.3275911 * a);
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-a * a);
  return s * y;
}

const SQRT1_2 = Math.SQRT1_2;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

export const UNARY: Record<UnaryOp, (x: number, p: number) => number> = {
  neg: (x) => -x,
  abs: Math.abs,
  exp: Math.exp,
  log: Math.log,
  log1p: Math.log1p,
  sqrt: Math.sqrt,
  rsqrt: (x) => 1 / Math.sqrt(x),
  square: (x) => x * x,
  reciprocal: (x) => 1 / x,
  sin: Math.sin,
  cos: Math.cos,
  tanh: Math.tanh,
  sigmoid: (x) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x))),
  relu: (x) => Math.max(x, 0), // NaN stays NaN, like PyTorch
  sign: (x) => (x > 0 ? 1 : x < 0 ? -1 : x === 0 ? 0 : NaN),
  floor: Math.floor,
  ceil: Math.ceil,
  // Round half to even, like NumPy and PyTorch.
  round: (x) => {
    const r = Math.round(x);
    return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
  },
  erf,
  gelu: (x) => 0.5 * x * (1 + erf(x * SQRT1_2)),
  geluGrad: (x) => 0.5 * (1 + erf(x * SQRT1_2)) + x * INV_SQRT_2PI * Math.exp(-0.5 * x * x),
  softplus: (x) => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x))),
  logicalNot: (x) => (x ? 0 : 1),
  leakyRelu: (x, a) => (x > 0 ? x : a * x),
  elu: (x, a) => (x > 0 ? x : a * Math.expm1(x)),
};

export const BINARY: Record<BinaryOp, (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  pow: Math.pow,
  maximum: (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : a > b ? a : b),
  minimum: (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : a < b ? a : b),
  eq: (a, b) => (a === b ? 1 : 0),
  ne: (a, b) => (a !== b ? 1 : 0),
  lt: (a, b) => (a < b ? 1 : 0),
  le: (a, b) => (a <= b ? 1 : 0),
  gt: (a, b) => (a > b ? 1 : 0),
  ge: (a, b) => (a >= b ? 1 : 0),
  logicalAnd: (a, b) => (a && b ? 1 : 0),
  logicalOr: (a, b) => (a || b ? 1 : 0),
};

/** Element i of a view, as an index into its buffer. */
function indexer(v: View): ((i: number) => number) {
  if (isDense(v.shape, v.strides)) {
    const o = v.offset;
    return (i) => o + i;
  }
  const idx = viewIndices(v.shape, v.strides, v.offset);
  return (i) => idx[i];
}

export class CpuBackend implements Backend {
  readonly name = "cpu";
  private bytes = 0;
  private buffers = 0;

  private wrap(data: TypedArray): Buf {
    this.bytes += data.byteLength;
    this.buffers++;
    return { data } satisfies CpuBuf;
  }

  alloc(size: number, dtype: DType): Buf {
    return this.wrap(newArray(dtype, size));
  }
  upload(data: TypedArray, dtype: DType): Buf {
    const a = newArray(dtype, data.length);
    a.set(data);
    return this.wrap(a);
  }
  adopt(data: TypedArray, dtype: DType): Buf {
    if (!(data instanceof arrayCtor(dtype))) return this.upload(data, dtype);
    return this.wrap(data);
  }
  async read(buf: Buf, dtype: DType, size: number): Promise<TypedArray> {
    return this.readSync(buf, dtype, size);
  }
  readSync(buf: Buf, _dtype: DType, size: number): TypedArray {
    return arr(buf).slice(0, size);
  }
  free(buf: Buf): void {
    const b = buf as CpuBuf;
    if (!b.data) return;
    this.bytes -= b.data.byteLength;
    this.buffers--;
    (b as { data: TypedArray | null }).data = null;
  }
  memory() {
    return { bytes: this.bytes, buffers: this.buffers };
  }
  async sync(): Promise<void> {}

  fill(size: number, dtype: DType, value: number): Buf {
    const a = newArray(dtype, size);
    if (value !== 0) a.fill(value);
    return this.wrap(a);
  }

  copy(x: View, dtype: DType): Buf {
    const n = sizeOf(x.shape);
    const out = newArray(dtype, n);
    const src = arr(x.buf);
    if (isDense(x.shape, x.strides)) {
      const sub = src.subarray(x.offset, x.offset + n);
      if (dtype === "bool") for (let i = 0; i < n; i++) out[i] = sub[i] ? 1 : 0;
      else out.set(sub);
    } else {
      const idx = viewIndices(x.shape, x.strides, x.offset);
      if (dtype === "bool") for (let i = 0; i < n; i++) out[i] = src[idx[i]] ? 1 : 0;
      else for (let i = 0; i < n; i++) out[i] = src[idx[i]];
    }
    return this.wrap(out);
  }

  copyInto(dstBuf: Buf, dst: { shape: readonly number[]; strides: readonly number[]; offset: number; dtype: DType }, src: View): void {
    const d = arr(dstBuf);
    const s = arr(src.buf);
    const di = viewIndices(dst.shape, dst.strides, dst.offset);
    const si = indexer(src);
    for (let i = 0; i < di.length; i++) d[di[i]] = s[si(i)];
  }

  unary(op: UnaryOp, x: View, outDtype: DType, param = 0): Buf {
    const out = newArray(outDtype, sizeOf(x.shape));
    unaryStrided(op, arr(x.buf), x, out, param, UNARY[op]);
    return this.wrap(out);
  }

  binary(op: BinaryOp, a: View, b: View, outDtype: DType): Buf {
    const out = newArray(outDtype, sizeOf(a.shape));
    binaryStrided(op, arr(a.buf), a, arr(b.buf), b, out, BINARY[op]);
    return this.wrap(out);
  }

  where(cond: View, a: View, b: View): Buf {
    const n = sizeOf(a.shape);
    const out = newArray(a.dtype, n);
    const C = arr(cond.buf), A = arr(a.buf), B = arr(b.buf);
    const ic = indexer(cond), ia = indexer(a), ib = indexer(b);
    for (let i = 0; i < n; i++) out[i] = C[ic(i)] ? A[ia(i)] : B[ib(i)];
    return this.wrap(out);
  }

  reduce(op: ReduceOp, x: Buf, dtype: DType, outer: number, r: number, inner: number): Buf {
    const outDtype: DType = op === "argmax" || op === "argmin" ? "int32" : op === "sum" || op === "prod" ? (dtype === "bool" ? "int32" : dtype) : dtype;
    const out = newArray(outDtype, outer * inner);
    const X = arr(x);
    if (op === "sum" && inner === 1) {
      for (let o = 0; o < outer; o++) {
        let s = 0;
        const base = o * r;
        for (let j = 0; j < r; j++) s += X[base + j];
        out[o] = s;
      }
      return this.wrap(out);
    }
    const acc = new Float64Array(inner);
    const arg = new Int32Array(inner);
    for (let o = 0; o < outer; o++) {
      const base = o * r * inner;
      switch (op) {
        case "sum": acc.fill(0); break;
        case "prod": acc.fill(1); break;
        case "max": case "argmax": acc.fill(-Infinity); arg.fill(0); break;
        case "min": case "argmin": acc.fill(Infinity); arg.fill(0); break;
      }
      for (let j = 0; j < r; j++) {
        const row = base + j * inner;
        switch (op) {
          case "sum": for (let i = 0; i < inner; i++) acc[i] += X[row + i]; break;
          case "prod": for (let i = 0; i < inner; i++) acc[i] *= X[row + i]; break;
          case "max": for (let i = 0; i < inner; i++) { const v = X[row + i]; if (v > acc[i] || Number.isNaN(v)) acc[i] = v; } break;
          case "min": for (let i = 0; i < inner; i++) { const v = X[row + i]; if (v < acc[i] || Number.isNaN(v)) acc[i] = v; } break;
          case "argmax": for (let i = 0; i < inner; i++) { const v = X[row + i]; if (v > acc[i] || (j === 0)) { acc[i] = v; arg[i] = j; } } break;
          case "argmin": for (let i = 0; i < inner; i++) { const v = X[row + i]; if (v < acc[i] || (j === 0)) { acc[i] = v; arg[i] = j; } } break;
        }
      }
      const ob = o * inner;
      if (op === "argmax" || op === "argmin") for (let i = 0; i < inner; i++) out[ob + i] = arg[i];
      else for (let i = 0; i < inner; i++) out[ob + i] = acc[i];
    }
    return this.wrap(out);
  }

  cumsum(x: Buf, dtype: DType, outer: number, n: number, inner: number, reverse: boolean): Buf {
    const out = newArray(dtype === "bool" ? "int32" : dtype, outer * n * inner);
    const X = arr(x);
    const acc = new Float64Array(inner);
    for (let o = 0; o < outer; o++) {
      acc.fill(0);
      for (let s = 0; s < n; s++) {
        const j = reverse ? n - 1 - s : s;
        const row = (o * n + j) * inner;
        for (let i = 0; i < inner; i++) {
          acc[i] += X[row + i];
          out[row + i] = acc[i];
        }
      }
    }
    return this.wrap(out);
  }

  matmul(a: Buf, b: Buf, dtype: DType, p: MatmulParams): Buf {
    const out = newArray(dtype, p.batch * p.m * p.n) as Num;
    matmulCpu(num(a), num(b), out, p);
    return this.wrap(out);
  }

  /** float16 values (round to nearest even) kept in a Float32Array: matmulHalf then is the float32 matmul. */
  packHalf(x: Buf, n: number): Buf {
    const data = num(x);
    if (!(data instanceof Float32Array)) throw new TypeError(`cpu packHalf: expects a float32 buffer, got ${data.constructor.name}`);
    return this.wrap(roundArrayToFloat16(data, n));
  }

  matmulHalf(a: Buf, b: Buf, p: MatmulParams, _half: { a: boolean; b: boolean }): Buf {
    return this.matmul(a, b, "float32", p);
  }

  gather(x: Buf, dtype: DType, idx: Buf, outer: number, axisSize: number, inner: number, nIdx: number): Buf {
    const out = newArray(dtype, outer * nIdx * inner);
    const X = arr(x), I = arr(idx);
    for (let o = 0; o < outer; o++)
      for (let j = 0; j < nIdx; j++) {
        const src = (o * axisSize + I[j]) * inner, dst = (o * nIdx + j) * inner;
        for (let i = 0; i < inner; i++) out[dst + i] = X[src + i];
      }
    return this.wrap(out);
  }

  scatterAdd(g: Buf, dtype: DType, idx: Buf, outer: number, axisSize: number, inner: number, nIdx: number): Buf {
    const out = newArray(dtype, outer * axisSize * inner);
    const G = arr(g), I = arr(idx);
    for (let o = 0; o < outer; o++)
      for (let j = 0; j < nIdx; j++) {
        const dst = (o * axisSize + I[j]) * inner, src = (o * nIdx + j) * inner;
        for (let i = 0; i < inner; i++) out[dst + i] += G[src + i];
      }
    return this.wrap(out);
  }

  conv2d(x: Buf, w: Buf, dtype: DType, p: Conv2dParams): Buf {
    const out = newArray(dtype, p.n * p.oh * p.ow * p.cout) as Float32Array;
    conv2dCpu(num(x) as Float32Array, num(w) as Float32Array, out, p);
    return this.wrap(out);
  }
  conv2dGradInput(dy: Buf, w: Buf, dtype: DType, p: Conv2dParams): Buf {
    const out = newArray(dtype, p.n * p.h * p.w * p.cin) as Float32Array;
    conv2dGradInputCpu(num(dy) as Float32Array, num(w) as Float32Array, out, p);
    return this.wrap(out);
  }
  conv2dGradFilter(x: Buf, dy: Buf, dtype: DType, p: Conv2dParams): Buf {
    const out = newArray(dtype, p.kh * p.kw * p.cin * p.cout) as Float32Array;
    conv2dGradFilterCpu(num(x) as Float32Array, num(dy) as Float32Array, out, p);
    return this.wrap(out);
  }
  pool2d(op: "max" | "avg", x: Buf, dtype: DType, p: Pool2dParams): Buf {
    const out = newArray(dtype, p.n * p.oh * p.ow * p.c) as Float32Array;
    pool2dCpu(op, num(x) as Float32Array, out, p);
    return this.wrap(out);
  }
  pool2dGrad(op: "max" | "avg", x: Buf, dy: Buf, dtype: DType, p: Pool2dParams): Buf {
    const out = newArray(dtype, p.n * p.h * p.w * p.c) as Float32Array;
    pool2dGradCpu(op, num(x) as Float32Array, num(dy) as Float32Array, out, p);
    return this.wrap(out);
  }
}

