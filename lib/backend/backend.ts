/**
 * The Backend interface: storage plus a small set of primitive kernels. Backends never know about
 * gradients or the Tensor class; ops in lib/ops compose these primitives and define the gradients.
 *
 * Conventions shared by every kernel:
 * - Every kernel writes a freshly allocated, contiguous, row-major output buffer and returns it
 *   (except `copyInto`, which writes into a buffer the caller just allocated).
 * - Inputs marked `View` may be strided (transposes, broadcasts with stride 0, slices with an
 *   offset); inputs typed `Buf` are contiguous from element 0. Strides and offsets count elements.
 * - Sizes are element counts. Empty tensors (size 0) are legal and return an empty buffer.
 */
import type { DType, TypedArray } from "../dtype.js";

/** An opaque backend buffer handle. */
export type Buf = object;

export interface View {
  buf: Buf;
  dtype: DType;
  shape: readonly number[];
  strides: readonly number[];
  offset: number;
}

export type UnaryOp =
  | "neg" | "abs" | "exp" | "log" | "log1p" | "sqrt" | "rsqrt" | "square" | "reciprocal"
  | "sin" | "cos" | "tanh" | "sigmoid" | "relu" | "sign" | "floor" | "ceil" | "round"
  | "erf" | "gelu" | "geluGrad" | "softplus" | "logicalNot"
  | "leakyRelu" | "elu"; // these two read `param` (alpha)

export type BinaryOp =
  | "add" | "sub" | "mul" | "div" | "pow" | "maximum" | "minimum"
  | "eq" | "ne" | "lt" | "le" | "gt" | "ge" | "logicalAnd" | "logicalOr";

/** sum/prod/max/min keep the input dtype (sum of bool gives int32); argmax/argmin give int32. */
export type ReduceOp = "sum" | "prod" | "max" | "min" | "argmax" | "argmin";

export interface MatmulParams {
  batch: number; m: number; k: number; n: number;
  /** Element stride between consecutive batch matrices of each input (0 = broadcast one matrix). */
  aBatchStride: number; bBatchStride: number;
  /** a is stored [k, m] (read transposed) / b is stored [n, k]. */
  transA: boolean; transB: boolean;
}

/** NHWC input, filter [kh, kw, cin, cout] (Keras layout), output [n, oh, ow, cout]. */
export interface Conv2dParams {
  n: number; h: number; w: number; cin: number;
  kh: number; kw: number; cout: number;
  oh: number; ow: number;
  strideH: number; strideW: number;
  dilationH: number; dilationW: number;
  /** Rows/columns of implicit zero padding before the input (top/left). */
  padTop: number; padLeft: number;
}

/** NHWC pooling window; padded positions are ignored (max) or excluded from the count (avg, like Keras). */
export interface Pool2dParams {
  n: number; h: number; w: number; c: number;
  kh: number; kw: number; oh: number; ow: number;
  strideH: number; strideW: number;
  padTop: number; padLeft: number;
}

/** Where an index tensor is read: named in the error a device backend raises for an out-of-range index. */
export interface IndexSite { op: string; axis?: number; inputShape?: readonly number[]; indexShape?: readonly number[] }

/**
 * One optimizer update rule with this step's hyperparameters (Backend.optimizerStep). Numbers are the
 * values the op chain would use as float32 scalars (computed in float64, rounded once). State buffers,
 * in this order: sgd [momentum buffer when momentum > 0]; adam [m, v, vmax when amsgrad];
 * rmsprop [v, grad_avg when centered, momentum buffer when momentum > 0]; adagrad [accumulator].
 */
export type OptimizerRule =
  | { kind: "sgd"; lr: number; weightDecay: number; momentum: number; nesterov: boolean }
  | {
    kind: "adam"; beta1: number; beta2: number; epsilon: number; amsgrad: boolean;
    /** "coupled": g += weightDecay·p (Adam); "decoupled": p ·= 1 − lr·weightDecay first (AdamW). */
    decay: "none" | "coupled" | "decoupled"; weightDecay: number; decoupledKeep: number;
    /** lr / (1 − beta1^t) and √(1 − beta2^t). */
    stepSize: number; sqrtBiasCorrection2: number;
  }
  | { kind: "rmsprop"; lr: number; rho: number; epsilon: number; weightDecay: number; momentum: number; centered: boolean }
  | { kind: "adagrad"; lr: number; epsilon: number; weightDecay: number };

export interface Backend {
  readonly name: string;

  // ---- storage ----
  /** Uninitialized storage for `size` elements. */
  alloc(size: number, dtype: DType): Buf;
  upload(data: TypedArray, dtype: DType): Buf;
  /** Optional: takes ownership of a freshly made array of the dtype's type without copying (host-memory backends). */
  adopt?(data: TypedArray, dtype: DType): Buf;
  /** Resolves with a new typed array (a copy the caller owns) of the buffer's first `size` elements. */
  read(buf: Buf, dtype: DType, size: number): Promise<TypedArray>;
  /** Synchronous read where the backend can do it (CPU); undefined elsewhere. */
  readSync?(buf: Buf, dtype: DType, size: number): TypedArray;
  free(buf: Buf): void;
  /** Bytes the backend holds (live buffers and pooled ones). */
  memory(): { bytes: number; buffers: number; pooledBytes?: number };
  /** Runs queued work; resolves when the device is idle. */
  sync(): Promise<void>;

  // ---- kernels ----
  fill(size: number, dtype: DType, value: number): Buf;
  /** Materializes a strided view contiguously, casting to `dtype`. */
  copy(x: View, dtype: DType): Buf;
  /** Writes `src` (a view of the same shape as the region) into the strided region `dst` of `dstBuf`. */
  copyInto(dstBuf: Buf, dst: { shape: readonly number[]; strides: readonly number[]; offset: number; dtype: DType }, src: View): void;
  /** Elementwise over x's shape; `param` feeds leakyRelu/elu alpha. */
  unary(op: UnaryOp, x: View, outDtype: DType, param?: number): Buf;
  /** a and b are already broadcast to `outShape` through their strides. Math runs in a.dtype (= b.dtype). */
  binary(op: BinaryOp, a: View, b: View, outDtype: DType): Buf;
  /** cond (bool), a and b are broadcast to the same shape through their strides. */
  where(cond: View, a: View, b: View): Buf;
  /** Input contiguous as [outer, r, inner]; output [outer, inner]. */
  reduce(op: ReduceOp, x: Buf, dtype: DType, outer: number, r: number, inner: number): Buf;
  /** Input contiguous as [outer, n, inner]; cumulative sum along n (reverse = from the end). */
  cumsum(x: Buf, dtype: DType, outer: number, n: number, inner: number, reverse: boolean): Buf;
  matmul(a: Buf, b: Buf, dtype: DType, p: MatmulParams): Buf;
  /**
   * Optional, together with matmulHalf: the first `n` float32 elements of `x` rounded to float16 (IEEE binary16:
   * NaN stays NaN, magnitudes from 65520 on become ±Inf, subnormals kept), in a backend-specific buffer that
   * only matmulHalf reads (webgpu: two per 32-bit word; cpu: the float16 values in a Float32Array). Free it after use.
   */
  packHalf?(x: Buf, n: number): Buf;
  /**
   * Optional: float32 matmul (same params as `matmul`) whose A and/or B (`half.a`, `half.b`) are packHalf
   * buffers, so those operands take float16 values; products accumulate in float32; the output is float32.
   */
  matmulHalf?(a: Buf, b: Buf, p: MatmulParams, half: { a: boolean; b: boolean }): Buf;
  /**
   * x contiguous [outer, axisSize, inner], idx int32 [nIdx]; out [outer, nIdx, inner]. Host-readable indices are
   * pre-checked; device backends check on the device and raise at the next read, naming `site`.
   */
  gather(x: Buf, dtype: DType, idx: Buf, outer: number, axisSize: number, inner: number, nIdx: number, site?: IndexSite): Buf;
  /** Adjoint of gather: g [outer, nIdx, inner] summed into zeros [outer, axisSize, inner]. */
  scatterAdd(g: Buf, dtype: DType, idx: Buf, outer: number, axisSize: number, inner: number, nIdx: number, site?: IndexSite): Buf;
  /** Device backends: checks int32 idx[0 .. n) against [0, axisSize) on the device; a bad index raises at the next read. */
  checkIndices?(idx: Buf, n: number, axisSize: number, site: IndexSite): void;
  conv2d(x: Buf, w: Buf, dtype: DType, p: Conv2dParams): Buf;
  conv2dGradInput(dy: Buf, w: Buf, dtype: DType, p: Conv2dParams): Buf;
  conv2dGradFilter(x: Buf, dy: Buf, dtype: DType, p: Conv2dParams): Buf;
  pool2d(op: "max" | "avg", x: Buf, dtype: DType, p: Pool2dParams): Buf;
  /** Gradient w.r.t. the pool input; max routes each dy to the first maximal element of its window. */
  pool2dGrad(op: "max" | "avg", x: Buf, dy: Buf, dtype: DType, p: Pool2dParams): Buf;
  /**
   * Optional (device backends): one optimizer update of a parameter as a single kernel, the same float32 rule
   * as the optimizer's op chain. `p` and `g` are contiguous float32 buffers of `n` elements (read only);
   * `state` are the rule's float32 state buffers (see OptimizerRule), owned by the optimizer and updated in
   * place. Returns a new buffer holding the updated parameter (the caller assigns it, so views of the old
   * parameter keep their values), or undefined when the backend cannot run it as one kernel (the caller
   * falls back to the op chain).
   */
  optimizerStep?(rule: OptimizerRule, p: Buf, g: Buf, state: readonly Buf[], n: number): Buf | undefined;
}
