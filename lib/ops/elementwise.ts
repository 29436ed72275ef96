/**
 * Elementwise ops with NumPy broadcasting. Each op is one table row: its backend primitive, its
 * result dtype rule and its gradient, side by side.
 */
import type { BinaryOp, UnaryOp } from "../backend/backend.js";
import { arithmeticDType, floatDType, isFloat, promote, type DType } from "../dtype.js";
import { broadcastShapes, broadcastStrides } from "../shape.js";
import { Tensor, type TensorLike } from "../tensor.js";
import { asTensor, backendOf, fromBuf, record, viewOf } from "./core.js";
import { sum } from "./reduce.js";
import { reshape } from "./movement.js";

type UnaryGrad = (x: Tensor, y: Tensor, g: Tensor, param: number) => Tensor | null;
interface UnaryDef {
  /** "float": ints are cast to float32 first; "same": any numeric dtype kept; "bool": result is bool. */
  kind: "float" | "same" | "bool";
  grad?: UnaryGrad;
}

const zero = (x: Tensor) => mul(x, 0);

export const UNARY_OPS: Record<UnaryOp, UnaryDef> = {
  neg: { kind: "same", grad: (_x, _y, g) => neg(g) },
  abs: { kind: "same", grad: (x, _y, g) => mul(g, sign(x)) },
  exp: { kind: "float", grad: (_x, y, g) => mul(g, y) },
  log: { kind: "float", grad: (x, _y, g) => div(g, x) },
  log1p: { kind: "float", grad: (x, _y, g) => div(g, add(x, 1)) },
  sqrt: { kind: "float", grad: (_x, y, g) => div(mul(g, 0.5), y) },
  rsqrt: { kind: "float", grad: (_x, y, g) => mul(g, mul(pow(y, 3), -0.5)) },
  square: { kind: "same", grad: (x, _y, g) => mul(g, mul(x, 2)) },
  reciprocal: { kind: "float", grad: (_x, y, g) => neg(mul(g, square(y))) },
  sin: { kind: "float", grad: (x, _y, g) => mul(g, cos(x)) },
  cos: { kind: "float", grad: (x, _y, g) => neg(mul(g, sin(x))) },
  tanh: { kind: "float", grad: (_x, y, g) => mul(g, sub(1, square(y))) },
  sigmoid: { kind: "float", grad: (_x, y, g) => mul(g, mul(y, sub(1, y))) },
  relu: { kind: "same", grad: (x, _y, g) => mul(g, cast(gt(x, 0), g.dtype)) },
  sign: { kind: "same", grad: (x) => zero(x) },
  floor: { kind: "same", grad: (x) => zero(x) },
  ceil: { kind: "same", grad: (x) => zero(x) },
  round: { kind: "same", grad: (x) => zero(x) },
  erf: { kind: "float", grad: (x, _y, g) => mul(g, mul(exp(neg(square(x))), 2 / Math.sqrt(Math.PI))) },
  gelu: { kind: "float", grad: (x, _y, g) => mul(g, unary("geluGrad", x)) },
  geluGrad: { kind: "float" },
  softplus: { kind: "float", grad: (x, _y, g) => mul(g, sigmoid(x)) },
  logicalNot: { kind: "bool" },
  leakyRelu: { kind: "float", grad: (x, _y, g, a) => mul(g, where(gt(x, 0), 1, a)) },
  elu: { kind: "float", grad: (x, y, g, a) => mul(g, where(gt(x, 0), 1, add(y, a))) },
};

/** Applies a unary primitive (with its gradient) to `x`. */
export function unary(op: UnaryOp, x: TensorLike, param = 0): Tensor {
  let t = asTensor(x, op);
  const def = UNARY_OPS[op];
  if (def.kind === "float" && !isFloat(t.dtype)) t = cast(t, "float32");
  if (def.kind === "same" && t.dtype === "bool") t = cast(t, "int32");
  const outDtype: DType = def.kind === "bool" ? "bool" : t.dtype;
  const b = backendOf(op, t);
  const y = fromBuf(b, b.unary(op, t.view(op), outDtype, param), t.shape, outDtype);
  const grad = def.grad;
  if (grad && isFloat(outDtype)) record(y, op, [t], (g) => [grad(t, y, g, param)]);
  return y;
}

export const neg = (x: TensorLike) => unary("neg", x);
export const abs = (x: TensorLike) => unary("abs", x);
export const exp = (x: TensorLike) => unary("exp", x);
export const log = (x: TensorLike) => unary("log", x);
export const log1p = (x: TensorLike) => unary("log1p", x);
export const sqrt = (x: TensorLike) => unary("sqrt", x);
export const rsqrt = (x: TensorLike) => unary("rsqrt", x);
export const square = (x: TensorLike) => unary("square", x);
export const reciprocal = (x: TensorLike) => unary("reciprocal", x);
export const sin = (x: TensorLike) => unary("sin", x);
export const cos = (x: TensorLike) => unary("cos", x);
export const tanh = (x: TensorLike) => unary("tanh", x);
export const sigmoid = (x: TensorLike) => unary("sigmoid", x);
export const relu = (x: TensorLike) => unary("relu", x);
export const sign = (x: TensorLike) => unary("sign", x);
export const floor = (x: TensorLike) => unary("floor", x);
export const ceil = (x: TensorLike) => unary("ceil", x);
export const round = (x: TensorLike) => unary("round", x);
export const erf = (x: TensorLike) => unary("erf", x);
/** Exact (erf-based) GELU, like PyTorch's default and Keras' `approximate=False`. */
export const gelu = (x: TensorLike) => unary("gelu", x);
export const softplus = (x: TensorLike) => unary("softplus", x);
export const logicalNot = (x: TensorLike) => unary("logicalNot", x);
export const leakyRelu = (x: TensorLike, alpha = 0.2) => unary("leakyRelu", x, alpha);
export const elu = (x: TensorLike, alpha = 1) => unary("elu", x, alpha);

/** Converts to `dtype` (float→int truncates toward zero; nonzero→true). Returns a new tensor object. */
export function cast(x: Tensor, dtype: DType): Tensor {
  const b = backendOf("cast", x);
  if (x.dtype === dtype) return record(viewOf(x, x.shape, x.strides, x._offset), "cast", [x], (g) => [g]);
  const y = fromBuf(b, b.copy(x.view("cast"), dtype), x.shape, dtype);
  if (isFloat(x.dtype) && isFloat(dtype)) record(y, "cast", [x], (g) => [cast(g, x.dtype)]);
  return y;
}

/** Sums `g` over the axes along which `shape` was broadcast, so the result has `shape`. */
export function unbroadcast(g: Tensor, shape: readonly number[]): Tensor {
  if (g.shape.length === shape.length && g.shape.every((d, i) => d === shape[i])) return g;
  const lead = g.shape.length - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.shape.length; i++) {
    if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
  }
  return reshape(sum(g, axes, true), shape);
}

type BinaryGrad = (a: Tensor, b: Tensor, y: Tensor, g: Tensor) => [Tensor | null, Tensor | null];
interface BinaryDef {
  /** How the result dtype follows from the promoted input dtype. */
  kind: "arith" | "float" | "compare" | "logical";
  grad?: BinaryGrad;
}

const tieMask = (a: Tensor, b: Tensor, g: Tensor, win: Tensor) => mul(g, add(cast(win, g.dtype), mul(cast(eq(a, b), g.dtype), 0.5)));

export const BINARY_OPS: Record<BinaryOp, BinaryDef> = {
  add: { kind: "arith", grad: (_a, _b, _y, g) => [g, g] },
  sub: { kind: "arith", grad: (_a, _b, _y, g) => [g, neg(g)] },
  mul: { kind: "arith", grad: (a, b, _y, g) => [mul(g, b), mul(g, a)] },
  div: { kind: "float", grad: (_a, b, y, g) => [div(g, b), neg(div(mul(g, y), b))] },
  pow: {
    kind: "arith",
    grad: (a, b, y, g) => [
      mul(g, mul(b, pow(a, sub(b, 1)))),
      mul(g, mul(y, where(gt(a, 0), log(where(gt(a, 0), a, 1)), 0))),
    ],
  },
  maximum: { kind: "arith", grad: (a, b, _y, g) => [tieMask(a, b, g, gt(a, b)), tieMask(a, b, g, lt(a, b))] },
  minimum: { kind: "arith", grad: (a, b, _y, g) => [tieMask(a, b, g, lt(a, b)), tieMask(a, b, g, gt(a, b))] },
  eq: { kind: "compare" }, ne: { kind: "compare" }, lt: { kind: "compare" },
  le: { kind: "compare" }, gt: { kind: "compare" }, ge: { kind: "compare" },
  logicalAnd: { kind: "logical" }, logicalOr: { kind: "logical" },
};

/** Applies a binary primitive with broadcasting and dtype promotion (scalars adopt the tensor's dtype). */
export function binary(op: BinaryOp, x: TensorLike, y: TensorLike): Tensor {
  if (!(x instanceof Tensor) && !(y instanceof Tensor)) x = asTensor(x, op);
  let a = x instanceof Tensor ? x : asTensor(x, op, y as Tensor);
  let b = y instanceof Tensor ? y : asTensor(y, op, a);
  const backend = backendOf(op, a, b);
  const def = BINARY_OPS[op];
  const shape = broadcastShapes(op, a.shape, b.shape);
  let work: DType;
  switch (def.kind) {
    case "arith": work = arithmeticDType(a.dtype, b.dtype); break;
    case "float": work = floatDType(promote(a.dtype, b.dtype)); break;
    case "compare": work = promote(a.dtype, b.dtype); break;
    case "logical": work = "bool"; break;
  }
  if (a.dtype !== work) a = cast(a, work);
  if (b.dtype !== work) b = cast(b, work);
  const outDtype: DType = def.kind === "compare" || def.kind === "logical" ? "bool" : work;
  const va = { ...a.view(op), shape, strides: broadcastStrides(a.shape, a.strides, shape) };
  const vb = { ...b.view(op), shape, strides: broadcastStrides(b.shape, b.strides, shape) };
  const out = fromBuf(backend, backend.binary(op, va, vb, outDtype), shape, outDtype);
  const grad = def.grad;
  if (grad && isFloat(outDtype)) {
    record(out, op, [a, b], (g) => {
      const [ga, gb] = grad(a, b, out, g);
      return [ga && a.requiresGrad ? unbroadcast(ga, a.shape) : null, gb && b.requiresGrad ? unbroadcast(gb, b.shape) : null];
    });
  }
  return out;
}

export const add = (a: TensorLike, b: TensorLike) => binary("add", a, b);
export const sub = (a: TensorLike, b: TensorLike) => binary("sub", a, b);
export const mul = (a: TensorLike, b: TensorLike) => binary("mul", a, b);
/** True division: integer inputs give float32. */
export const div = (a: TensorLike, b: TensorLike) => binary("div", a, b);
export const pow = (a: TensorLike, b: TensorLike) => binary("pow", a, b);
export const maximum = (a: TensorLike, b: TensorLike) => binary("maximum", a, b);
export const minimum = (a: TensorLike, b: TensorLike) => binary("minimum", a, b);
export const eq = (a: TensorLike, b: TensorLike) => binary("eq", a, b);
export const ne = (a: TensorLike, b: TensorLike) => binary("ne", a, b);
export const lt = (a: TensorLike, b: TensorLike) => binary("lt", a, b);
export const le = (a: TensorLike, b: TensorLike) => binary("le", a, b);
export const gt = (a: TensorLike, b: TensorLike) => binary("gt", a, b);
export const ge = (a: TensorLike, b: TensorLike) => binary("ge", a, b);
export const logicalAnd = (a: TensorLike, b: TensorLike) => binary("logicalAnd", a, b);
export const logicalOr = (a: TensorLike, b: TensorLike) => binary("logicalOr", a, b);

/** Elementwise `cond ? a : b` with broadcasting over all three. */
export function where(cond: TensorLike, x: TensorLike, y: TensorLike): Tensor {
  let c = asTensor(cond, "where");
  let a = x instanceof Tensor ? x : asTensor(x, "where", y instanceof Tensor ? y : undefined, c.storage("where").backend);
  let b = y instanceof Tensor ? y : asTensor(y, "where", a);
  const backend = backendOf("where", c, a, b);
  const shape = broadcastShapes("where", c.shape, a.shape, b.shape);
  if (c.dtype !== "bool") c = cast(c, "bool");
  const work = promote(a.dtype, b.dtype);
  if (a.dtype !== work) a = cast(a, work);
  if (b.dtype !== work) b = cast(b, work);
  const v = (t: Tensor) => ({ ...t.view("where"), shape, strides: broadcastStrides(t.shape, t.strides, shape) });
  const out = fromBuf(backend, backend.where(v(c), v(a), v(b)), shape, work);
  if (isFloat(work)) {
    record(out, "where", [a, b], (g) => [
      a.requiresGrad ? unbroadcast(where(c, g, 0), a.shape) : null,
      b.requiresGrad ? unbroadcast(where(c, 0, g), b.shape) : null,
    ]);
  }
  return out;
}

/** Limits values to [min, max]; the gradient passes where the value was inside. */
export function clip(x: Tensor, min: number, max: number): Tensor {
  if (min > max) throw new RangeError(`clip: min (${min}) is greater than max (${max})`);
  return minimum(maximum(x, min), max);
}
