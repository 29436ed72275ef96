/**
 * The Tensor: a strided view (shape, strides, offset) of refcounted backend storage, plus an autograd
 * node when it needs a gradient. Methods delegate to the functions in lib/ops.
 */
import type { Backend, Buf, View } from "./backend/backend.js";
import { bytesPer, isFloat, type DType, type TypedArray } from "./dtype.js";
import { contiguousStrides, fmt, isContiguous, sizeOf, type Shape } from "./shape.js";
import { formatTensor } from "./format.js";
import * as E from "./ops/elementwise.js";
import * as R from "./ops/reduce.js";
import * as M from "./ops/movement.js";
import * as L from "./ops/linalg.js";
import { backward } from "./autograd/tape.js";
import { track, untrack } from "./memory.js";

/** Refcounted backend buffer shared by a tensor and its views. */
export class Storage {
  refs = 1;
  constructor(readonly backend: Backend, public buf: Buf | null, readonly dtype: DType, readonly size: number) {
    liveBytes.set(backend.name, (liveBytes.get(backend.name) ?? 0) + size * bytesPer(dtype));
  }
  retain(): this {
    this.refs++;
    return this;
  }
  release(): void {
    if (--this.refs === 0 && this.buf) {
      this.backend.free(this.buf);
      this.buf = null;
      liveBytes.set(this.backend.name, (liveBytes.get(this.backend.name) ?? 0) - this.size * bytesPer(this.dtype));
    }
  }
}

/** Bytes held by live storages, per backend. */
export const liveBytes = new Map<string, number>();
let liveTensors = 0;
export const liveTensorCount = () => liveTensors;

// Storage of tensors that users drop without dispose() is released when the tensor is collected.
const finalizer = new FinalizationRegistry<Storage>((s) => {
  liveTensors--;
  s.release();
});

export interface GradNode {
  op: string;
  inputs: readonly Tensor[];
  /** Gradients w.r.t. each input (null where not needed), given the output gradient. */
  backward: (g: Tensor) => (Tensor | null | undefined)[];
}

let nextId = 1;

export type Scalar = number | boolean;
/** A tensor or a value `tensor()` accepts; ops convert scalars to tensors of a matching dtype. */
export type TensorLike = Tensor | Scalar;

export class Tensor {
  readonly id = nextId++;
  readonly shape: readonly number[];
  readonly dtype: DType;
  /** @internal */ _strides: readonly number[];
  /** @internal */ _offset: number;
  /** @internal */ _storage: Storage | null;
  /** @internal */ _node: GradNode | null = null;
  private _requiresGrad = false;
  /** Accumulated gradient after `backward()` (leaf tensors that require grad). */
  grad: Tensor | null = null;
  /** Optional name shown in errors and summaries. */
  name?: string;

  /** @internal Use the creation functions (`tensor`, `zeros`, ...) instead. */
  constructor(storage: Storage, shape: Shape, dtype: DType, strides?: readonly number[], offset = 0) {
    this._storage = storage;
    this.shape = Object.freeze([...shape]);
    this.dtype = dtype;
    this._strides = strides ?? contiguousStrides(shape);
    this._offset = offset;
    liveTensors++;
    finalizer.register(this, storage, this);
    track(this);
  }

  get size(): number {
    return sizeOf(this.shape);
  }
  get ndim(): number {
    return this.shape.length;
  }
  get rank(): number {
    return this.shape.length;
  }
  /** Name of the backend holding the data. */
  get backend(): string {
    return this.storage("backend").backend.name;
  }
  get isDisposed(): boolean {
    return this._storage === null;
  }
  get requiresGrad(): boolean {
    return this._requiresGrad;
  }
  set requiresGrad(v: boolean) {
    if (v && !isFloat(this.dtype)) {
      throw new TypeError(`requiresGrad: only float tensors can require gradients (got dtype ${this.dtype}, shape ${fmt(this.shape)}); cast first with t.cast("float32")`);
    }
    this._requiresGrad = v;
  }
  /** True when the tensor was produced by an op from a tensor that requires grad. */
  get isLeaf(): boolean {
    return this._node === null;
  }
  get strides(): readonly number[] {
    return this._strides;
  }
  get isContiguous(): boolean {
    return isContiguous(this.shape, this._strides);
  }

  /** @internal The storage, or a clear error when the tensor was disposed. */
  storage(op: string): Storage {
    const s = this._storage;
    if (!s || !s.buf) {
      throw new Error(`${op}: tensor #${this.id}${this.name ? ` '${this.name}'` : ""} (shape ${fmt(this.shape)}, ${this.dtype}) was disposed` +
        ` (by dispose() or at the end of a tidy()); keep it with keep(t) or return it from the tidy function`);
    }
    return s;
  }

  /** @internal The backend view of this tensor. */
  view(op: string): View {
    const s = this.storage(op);
    return { buf: s.buf!, dtype: this.dtype, shape: this.shape, strides: this._strides, offset: this._offset };
  }

  /** Frees the tensor's storage (shared with views until the last one is disposed). Safe to call twice. */
  dispose(): void {
    const s = this._storage;
    if (!s) return;
    this._storage = null;
    finalizer.unregister(this);
    liveTensors--;
    untrack(this);
    s.release();
    if (this.grad) {
      this.grad.dispose();
      this.grad = null;
    }
  }

  // ---- reading ----
  /** A copy of the values as a typed array in row-major order. */
  async data(): Promise<TypedArray> {
    const c = M.contiguousBase(this);
    const s = c.storage("data");
    const out = await s.backend.read(s.buf!, this.dtype, this.size);
    if (c !== this) c.dispose();
    return out;
  }
  /** Synchronous read; only backends that hold data in host memory (cpu) support it. */
  dataSync(): TypedArray {
    const c = M.contiguousBase(this);
    const s = c.storage("dataSync");
    if (!s.backend.readSync) {
      throw new Error(`dataSync: the ${s.backend.name} backend reads asynchronously; use 'await t.data()' instead`);
    }
    const out = s.backend.readSync(s.buf!, this.dtype, this.size);
    if (c !== this) c.dispose();
    return out;
  }
  /** Values as nested arrays (booleans for bool tensors). */
  async array(): Promise<NestedArray> {
    return toNested(await this.data(), this.shape, this.dtype);
  }
  arraySync(): NestedArray {
    return toNested(this.dataSync(), this.shape, this.dtype);
  }
  /** The single value of a one-element tensor. */
  async item(): Promise<number> {
    if (this.size !== 1) throw new Error(`item: only one-element tensors can be converted to a number (shape ${fmt(this.shape)}, ${this.size} elements); use data() or array()`);
    return (await this.data())[0];
  }
  itemSync(): number {
    if (this.size !== 1) throw new Error(`item: only one-element tensors can be converted to a number (shape ${fmt(this.shape)}, ${this.size} elements)`);
    return this.dataSync()[0];
  }
  toString(): string {
    if (this.isDisposed) return `Tensor(disposed, shape=${fmt(this.shape)}, dtype=${this.dtype})`;
    const s = this.storage("toString");
    if (!s.backend.readSync) return `Tensor(shape=${fmt(this.shape)}, dtype=${this.dtype}, backend=${s.backend.name}) — values on the device: 'await t.print()' or 'await t.array()'`;
    return formatTensor(this.dataSync(), this.shape, this.dtype, this.extraInfo());
  }
  /** Like toString(), but reads from any backend. */
  async toStringAsync(): Promise<string> {
    if (this.isDisposed) return this.toString();
    return formatTensor(await this.data(), this.shape, this.dtype, this.extraInfo());
  }
  /** Prints the tensor (any backend). */
  async print(): Promise<void> {
    console.log(await this.toStringAsync());
  }
  private extraInfo(): string {
    const parts: string[] = [];
    if (this.backend !== "cpu") parts.push(`backend=${this.backend}`);
    if (this._node) parts.push(`gradFn=${this._node.op}`);
    else if (this.requiresGrad) parts.push("requiresGrad=true");
    return parts.join(", ");
  }
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }
  [Symbol.for("jupyter.mimebundle")](): Promise<Record<string, string>> {
    return import("./display.js").then((m) => m.tensorBundle(this));
  }

  // ---- autograd ----
  /** Reverse-mode gradient of this tensor w.r.t. the leaves that require grad (accumulates into `.grad`). */
  backward(gradient?: Tensor): void {
    backward(this, gradient);
  }
  /** A tensor sharing storage but cut from the graph. */
  detach(): Tensor {
    return M.alias(this);
  }
  /** Sets `.grad` to null (disposing it). */
  zeroGrad(): void {
    if (this.grad) this.grad.dispose();
    this.grad = null;
  }
  /**
   * Replaces this tensor's values with `value`'s (same shape and dtype) without a new tensor: how
   * optimizers update parameters. Not recorded by autograd.
   */
  assign(value: Tensor): this {
    if (value.dtype !== this.dtype || value.shape.length !== this.shape.length || value.shape.some((d, i) => d !== this.shape[i])) {
      throw new Error(`assign: value has shape ${fmt(value.shape)} ${value.dtype}, the tensor has ${fmt(this.shape)} ${this.dtype}`);
    }
    const s = value.storage("assign");
    if (s.backend !== this.storage("assign").backend) {
      throw new Error(`assign: value is on ${s.backend.name}, the tensor on ${this.backend}; move it with value.to("${this.backend}")`);
    }
    s.retain();
    const old = this._storage!;
    finalizer.unregister(this);
    finalizer.register(this, s, this);
    this._storage = s;
    this._strides = value._strides;
    this._offset = value._offset;
    old.release();
    return this;
  }

  // ---- conversion ----
  cast(dtype: DType): Tensor { return E.cast(this, dtype); }
  clone(): Tensor { return M.clone(this); }
  contiguous(): Tensor { return M.contiguous(this); }
  /** A copy on another backend. */
  to(backend: string): Promise<Tensor> { return M.toBackend(this, backend); }

  // ---- elementwise ----
  add(b: TensorLike): Tensor { return E.add(this, b); }
  sub(b: TensorLike): Tensor { return E.sub(this, b); }
  mul(b: TensorLike): Tensor { return E.mul(this, b); }
  div(b: TensorLike): Tensor { return E.div(this, b); }
  pow(b: TensorLike): Tensor { return E.pow(this, b); }
  maximum(b: TensorLike): Tensor { return E.maximum(this, b); }
  minimum(b: TensorLike): Tensor { return E.minimum(this, b); }
  eq(b: TensorLike): Tensor { return E.eq(this, b); }
  ne(b: TensorLike): Tensor { return E.ne(this, b); }
  lt(b: TensorLike): Tensor { return E.lt(this, b); }
  le(b: TensorLike): Tensor { return E.le(this, b); }
  gt(b: TensorLike): Tensor { return E.gt(this, b); }
  ge(b: TensorLike): Tensor { return E.ge(this, b); }
  logicalAnd(b: TensorLike): Tensor { return E.logicalAnd(this, b); }
  logicalOr(b: TensorLike): Tensor { return E.logicalOr(this, b); }
  logicalNot(): Tensor { return E.logicalNot(this); }
  neg(): Tensor { return E.neg(this); }
  abs(): Tensor { return E.abs(this); }
  exp(): Tensor { return E.exp(this); }
  log(): Tensor { return E.log(this); }
  log1p(): Tensor { return E.log1p(this); }
  sqrt(): Tensor { return E.sqrt(this); }
  rsqrt(): Tensor { return E.rsqrt(this); }
  square(): Tensor { return E.square(this); }
  reciprocal(): Tensor { return E.reciprocal(this); }
  sin(): Tensor { return E.sin(this); }
  cos(): Tensor { return E.cos(this); }
  tanh(): Tensor { return E.tanh(this); }
  sigmoid(): Tensor { return E.sigmoid(this); }
  relu(): Tensor { return E.relu(this); }
  leakyRelu(alpha?: number): Tensor { return E.leakyRelu(this, alpha); }
  elu(alpha?: number): Tensor { return E.elu(this, alpha); }
  gelu(): Tensor { return E.gelu(this); }
  softplus(): Tensor { return E.softplus(this); }
  sign(): Tensor { return E.sign(this); }
  floor(): Tensor { return E.floor(this); }
  ceil(): Tensor { return E.ceil(this); }
  round(): Tensor { return E.round(this); }
  clip(min: number, max: number): Tensor { return E.clip(this, min, max); }

  // ---- reductions ----
  sum(axis?: Axis, keepdims?: boolean): Tensor { return R.sum(this, axis, keepdims); }
  mean(axis?: Axis, keepdims?: boolean): Tensor { return R.mean(this, axis, keepdims); }
  max(axis?: Axis, keepdims?: boolean): Tensor { return R.max(this, axis, keepdims); }
  min(axis?: Axis, keepdims?: boolean): Tensor { return R.min(this, axis, keepdims); }
  prod(axis?: Axis, keepdims?: boolean): Tensor { return R.prod(this, axis, keepdims); }
  argmax(axis?: number, keepdims?: boolean): Tensor { return R.argmax(this, axis, keepdims); }
  argmin(axis?: number, keepdims?: boolean): Tensor { return R.argmin(this, axis, keepdims); }
  var(axis?: Axis, keepdims?: boolean, ddof?: number): Tensor { return R.variance(this, axis, keepdims, ddof); }
  std(axis?: Axis, keepdims?: boolean, ddof?: number): Tensor { return R.std(this, axis, keepdims, ddof); }
  logsumexp(axis?: Axis, keepdims?: boolean): Tensor { return R.logsumexp(this, axis, keepdims); }
  softmax(axis = -1): Tensor { return R.softmax(this, axis); }
  logSoftmax(axis = -1): Tensor { return R.logSoftmax(this, axis); }
  cumsum(axis = 0, reverse = false): Tensor { return R.cumsum(this, axis, reverse); }

  // ---- linear algebra ----
  matmul(b: Tensor): Tensor { return L.matmul(this, b); }
  /** matmul with float16-rounded operands and float32 accumulation (straight-through gradient). */
  matmulHalf(b: Tensor): Tensor { return L.matmulHalf(this, b); }
  dot(b: Tensor): Tensor { return L.dot(this, b); }

  // ---- shape ----
  reshape(shape: readonly number[]): Tensor { return M.reshape(this, shape); }
  flatten(startAxis = 0, endAxis = -1): Tensor { return M.flatten(this, startAxis, endAxis); }
  squeeze(axis?: Axis): Tensor { return M.squeeze(this, axis); }
  unsqueeze(axis: number): Tensor { return M.unsqueeze(this, axis); }
  expandDims(axis: number): Tensor { return M.unsqueeze(this, axis); }
  transpose(perm?: readonly number[]): Tensor { return M.transpose(this, perm); }
  permute(perm: readonly number[]): Tensor { return M.permute(this, perm); }
  /** Matrix transpose of the last two axes. */
  get T(): Tensor { return M.transpose(this); }
  broadcastTo(shape: readonly number[]): Tensor { return M.broadcastTo(this, shape); }
  slice(begin: readonly number[], size?: readonly number[]): Tensor { return M.slice(this, begin, size); }
  /** NumPy-style indexing: numbers, [start, stop, step?] ranges, null for all; `idx(0)`, `idx(null, [0, 2])`. */
  idx(...index: M.Index[]): Tensor { return M.index(this, ...index); }
  gather(indices: Tensor | number[], axis = 0): Tensor { return M.gather(this, indices, axis); }
  pad(paddings: readonly (readonly [number, number])[], value = 0): Tensor { return M.pad(this, paddings, value); }
  tile(reps: readonly number[]): Tensor { return M.tile(this, reps); }
  repeat(repeats: number, axis?: number): Tensor { return M.repeat(this, repeats, axis); }
  split(sizesOrSections: number | readonly number[], axis = 0): Tensor[] { return M.split(this, sizesOrSections, axis); }
}

export type Axis = number | readonly number[] | null;
export type NestedArray = number | boolean | NestedArray[];

function toNested(data: TypedArray, shape: readonly number[], dtype: DType): NestedArray {
  const conv = dtype === "bool" ? (v: number) => v !== 0 : (v: number) => v;
  if (shape.length === 0) return conv(data[0]);
  const strides = contiguousStrides(shape);
  const build = (dim: number, off: number): NestedArray[] => {
    const out: NestedArray[] = new Array(shape[dim]);
    for (let i = 0; i < shape[dim]; i++) {
      out[i] = dim === shape.length - 1 ? conv(data[off + i]) : build(dim + 1, off + i * strides[dim]);
    }
    return out;
  };
  return build(0, 0);
}
