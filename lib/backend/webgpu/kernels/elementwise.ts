/**
 * Elementwise kernels from a table of WGSL expressions: unary and binary math, casts/copies, where and
 * strided writes all run through one "map" shader shape over up to 3 strided inputs and a strided output.
 */
import type { BinaryOp, UnaryOp } from "../../backend.js";
import type { DType } from "../../../dtype.js";
import { ENTRY_BUILTINS, LINEAR_GROUP, PRELUDE, load, store, type LoadAs, type Scalar } from "./wgsl.js";

/** Expressions over `x0` (and `x1`), `alpha`; `i32` where integer inputs should stay exact. */
interface ExprRow { f32: string; i32?: string }

export const UNARY_WGSL: Record<UnaryOp, ExprRow> = {
  neg: { f32: "-x0", i32: "-x0" },
  abs: { f32: "abs(x0)", i32: "abs(x0)" },
  exp: { f32: "exp(x0)" },
  log: { f32: "log_f(x0)" },
  log1p: { f32: "log1p_f(x0)" },
  sqrt: { f32: "sqrt_f(x0)" },
  rsqrt: { f32: "1.0 / sqrt_f(x0)" },
  square: { f32: "x0 * x0", i32: "x0 * x0" },
  reciprocal: { f32: "1.0 / x0" },
  sin: { f32: "sin(x0)" },
  cos: { f32: "cos(x0)" },
  tanh: { f32: "tanh_f(x0)" },
  sigmoid: { f32: "sigmoid_f(x0)" },
  relu: { f32: "select(select(0.0, x0, x0 > 0.0), x0, isnan_f(x0))", i32: "max(x0, 0)" }, // NaN stays NaN (Math.max)
  sign: { f32: "sign_f(x0)", i32: "sign(x0)" },
  floor: { f32: "floor(x0)", i32: "x0" },
  ceil: { f32: "ceil(x0)", i32: "x0" },
  round: { f32: "round(x0)", i32: "x0" }, // WGSL round() is round-half-to-even
  erf: { f32: "erf_f(x0)" },
  gelu: { f32: "0.5 * x0 * (1.0 + erf_f(x0 * 0.70710678118654752))" },
  geluGrad: { f32: "0.5 * (1.0 + erf_f(x0 * 0.70710678118654752)) + x0 * 0.39894228040143268 * exp(-0.5 * x0 * x0)" },
  softplus: { f32: "select(0.0, x0, x0 > 0.0) + log1p_f(exp(-abs(x0)))" },
  logicalNot: { f32: "select(1.0, 0.0, truthy_f(x0))", i32: "b2i(x0 == 0)" },
  leakyRelu: { f32: "select(alpha * x0, x0, x0 > 0.0)" },
  elu: { f32: "select(alpha * expm1_f(x0), x0, x0 > 0.0)" },
};

export const BINARY_WGSL: Record<BinaryOp, ExprRow> = {
  add: { f32: "x0 + x1", i32: "x0 + x1" },
  sub: { f32: "x0 - x1", i32: "x0 - x1" },
  mul: { f32: "x0 * x1", i32: "x0 * x1" },
  div: { f32: "x0 / x1", i32: "div_i(x0, x1)" },
  pow: { f32: "pow_f(x0, x1)", i32: "pow_i(x0, x1)" },
  maximum: { f32: "max_f(x0, x1)", i32: "max(x0, x1)" },
  minimum: { f32: "min_f(x0, x1)", i32: "min(x0, x1)" },
  eq: { f32: "b2f(x0 == x1)", i32: "b2i(x0 == x1)" },
  ne: { f32: "b2f(isnan_f(x0) || isnan_f(x1) || x0 != x1)", i32: "b2i(x0 != x1)" },
  lt: { f32: "b2f(x0 < x1)", i32: "b2i(x0 < x1)" },
  le: { f32: "b2f(x0 <= x1)", i32: "b2i(x0 <= x1)" },
  gt: { f32: "b2f(x0 > x1)", i32: "b2i(x0 > x1)" },
  ge: { f32: "b2f(x0 >= x1)", i32: "b2i(x0 >= x1)" },
  logicalAnd: { f32: "b2f(truthy_f(x0) && truthy_f(x1))", i32: "b2i(x0 != 0 && x1 != 0)" },
  logicalOr: { f32: "b2f(truthy_f(x0) || truthy_f(x1))", i32: "b2i(x0 != 0 || x1 != 0)" },
};

/** Most dims a strided view may have after merging contiguous dims. */
export const MAX_DIMS = 8;
/** Elements per workgroup of the map shader (the dispatch is ceil(n / MAP_WORKGROUP) workgroups). */
export const MAP_WORKGROUP = 256;
/**
 * Invocations per map workgroup; each handles MAP_PER_INVOCATION consecutive elements. On lavapipe,
 * 64 invocations × 4 elements ran a dense float32 mul 1.5–2.7× faster than 256 × 1 (the per-invocation
 * prologue is paid once per 4 elements), and strided views compute coordinates (integer divisions, which
 * lavapipe scalarizes) once per invocation instead of once per element.
 */
export const MAP_INVOCATIONS = 64;
const MAP_PER_INVOCATION = MAP_WORKGROUP / MAP_INVOCATIONS;

export interface MapInput { dtype: DType; as: LoadAs }

/** Picks the row's expression and its scalar type for inputs of `dtype`. */
export function pickExpr(row: ExprRow, dtype: DType): { expr: string; type: Scalar } {
  if (dtype !== "float32" && row.i32) return { expr: row.i32, type: "i32" };
  return { expr: row.f32, type: "f32" };
}

/**
 * One shader for a whole table (unary or binary) and one scalar type: the op is a uniform (`P.opcode`,
 * the op's index in the table), so a program compiles one shader per dtype combination instead of one
 * per op (lavapipe compiles each shader on first use, 50 ms – 3 s).
 */
export function tableBody(table: Record<string, ExprRow>, type: Scalar): string {
  const cases = Object.values(table).map((row, code) => {
    const expr = type === "i32" ? row.i32 : row.f32;
    return expr ? `    case ${code}u: { r = ${expr}; }` : "";
  });
  return `  switch (P.opcode) {\n${cases.filter(Boolean).join("\n")}\n    default: { }\n  }`;
}

/** The opcode of `op` in `table` (see tableBody). */
export function opcode(table: Record<string, ExprRow>, op: string): number {
  return Object.keys(table).indexOf(op);
}

/**
 * A map shader: out[view_out(i)] = r, where `body` sets `r` from x0 = in0[view0(i)], ... Params (u32 words):
 * n, ndim, allDense, alpha | offsets[4] (inputs 0..2, output) | opcode, pad×3 | shape[8] | strides[8][4]
 * (per dim: in0, in1, in2, out).
 */
export function mapShader(inputs: MapInput[], body: string, exprType: Scalar, out: DType): string {
  const bindings = inputs.map((_, k) => `@group(0) @binding(${k + 2}) var<storage, read> in${k}: array<u32>;`).join("\n");
  const loads = inputs.map((x, k) => `  let x${k} = ${load(x.dtype, x.as, `in${k}[u32(o[${k}])]`)};`).join("\n");
  return /* wgsl */ `
struct Params { n: u32, ndim: u32, allDense: u32, alpha: f32, off: vec4u, opcode: u32, pad0: u32, pad1: u32, pad2: u32, shape: array<vec4u, 2>, st: array<vec4i, 8> }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;
${bindings}
${PRELUDE}
@compute @workgroup_size(${MAP_INVOCATIONS})
fn main(${ENTRY_BUILTINS}) {
  let first = ${LINEAR_GROUP} * ${MAP_WORKGROUP}u + lid * ${MAP_PER_INVOCATION}u;
  if (first >= P.n) { return; }
  let count = min(${MAP_PER_INVOCATION}u, P.n - first);
  if (P.allDense != 0u) {
    for (var j = 0u; j < count; j++) { element(vec4i(P.off) + vec4i(i32(first + j))); }
    return;
  }
  // Strided (ndim ≥ 1): offsets of the first element from its coordinates, then steps along the last dim;
  // only a carry out of it recomputes them (integer division is the costly part on CPU adapters).
  let last = i32(P.ndim) - 1;
  let lastSize = P.shape[last / 4][last % 4];
  var o = offsetsOf(first);
  var c = first % lastSize;
  for (var j = 0u; j < count; j++) {
    element(o);
    c++;
    o += P.st[last];
    if (c == lastSize && j + 1u < count) { c = 0u; o = offsetsOf(first + j + 1u); }
  }
}
/** Offsets of linear element i in the three inputs and the output. */
fn offsetsOf(i: u32) -> vec4i {
  var o = vec4i(P.off);
  var rem = i;
  for (var d = i32(P.ndim) - 1; d >= 0; d--) {
    let s = P.shape[d / 4][d % 4];
    let c = rem % s;
    rem = rem / s;
    o += i32(c) * P.st[d];
  }
  return o;
}
fn element(o: vec4i) {
  let alpha = P.alpha;
${loads}
  var r: ${exprType} = ${exprType}(0);
${body}
  out[u32(o.w)] = ${store(out, exprType, "r")};
}`;
}

export interface StridedOperand { strides: readonly number[]; offset: number }

/**
 * Merges dims that are contiguous in every operand and drops size-1 dims, so most views reach the
 * kernel with 1–3 dims. Returns the merged shape and per-operand strides.
 */
export function collapseDims(shape: readonly number[], operands: StridedOperand[]): { shape: number[]; strides: number[][] } {
  const outShape: number[] = [];
  const outStrides: number[][] = operands.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1) continue;
    const last = outShape.length - 1;
    if (last >= 0 && operands.every((op, k) => outStrides[k][last] === op.strides[d] * shape[d])) {
      outShape[last] *= shape[d];
      operands.forEach((op, k) => (outStrides[k][last] = op.strides[d]));
    } else {
      outShape.push(shape[d]);
      operands.forEach((op, k) => outStrides[k].push(op.strides[d]));
    }
  }
  return { shape: outShape, strides: outStrides };
}
