/**
 * Reductions over the middle axis of [outer, r, inner] and cumulative sums. Two shapes: one invocation
 * per output looping over r (small r), or one 64-wide workgroup per output with a tree reduction in
 * workgroup memory (large r). Semantics follow the CPU backend: max/min propagate NaN, argmax/argmin
 * return the first extreme index and ignore NaN unless the first element is NaN (then 0).
 */
import type { ReduceOp } from "../../backend.js";
import type { DType } from "../../../dtype.js";
import { ENTRY_BUILTINS, LINEAR_GROUP, PRELUDE, load, scalarOf, store } from "./wgsl.js";

export const REDUCE_TREE_WIDTH = 64;
export const REDUCE_THREAD_WORKGROUP = 64;
/** From this r on, one workgroup reduces each output. */
export const REDUCE_TREE_MIN_R = 128;

export function reduceOutDType(op: ReduceOp, dtype: DType): DType {
  if (op === "argmax" || op === "argmin") return "int32";
  if ((op === "sum" || op === "prod") && dtype === "bool") return "int32";
  return dtype;
}

/** Value on empty r, as the CPU backend writes it into the output dtype. */
export function reduceEmptyValue(op: ReduceOp, outDtype: DType): number {
  switch (op) {
    case "sum": case "argmax": case "argmin": return 0;
    case "prod": return 1;
    case "max": return outDtype === "float32" ? -Infinity : 0;
    case "min": return outDtype === "float32" ? Infinity : 0;
  }
}

export function reduceShader(op: ReduceOp, dtype: DType, tree: boolean): string {
  const T = scalarOf(dtype);
  const isArg = op === "argmax" || op === "argmin";
  const cmp = op === "argmax" || op === "max" ? ">" : "<";
  const isnan = T === "f32" ? "isnan_f" : "isnan_i";
  let init: string;
  let combine: string; // merges (v, j) into (acc, arg)
  switch (op) {
    case "sum": init = T === "f32" ? "0.0" : "0"; combine = "acc = acc + v;"; break;
    case "prod": init = T === "f32" ? "1.0" : "1"; combine = "acc = acc * v;"; break;
    case "max": case "min":
      init = T === "f32" ? (op === "max" ? "-inf_f()" : "inf_f()") : op === "max" ? "-2147483647 - 1" : "2147483647";
      combine = `if (!${isnan}(acc) && (${isnan}(v) || v ${cmp} acc)) { acc = v; }`;
      break;
    default:
      // "No candidate yet" is a NaN accumulator (f32) or the extreme int with index past the end.
      init = T === "f32" ? "nan_f()" : op === "argmax" ? "-2147483647 - 1" : "2147483647";
      combine = `if (!${isnan}(v) && (${isnan}(acc) || v ${cmp} acc || (v == acc && j < arg))) { acc = v; arg = j; }`;
  }
  const outDtype = reduceOutDType(op, dtype);
  const result = isArg ? `bitcast<u32>(i32(select(arg, 0u, first_is_nan)))` : store(outDtype, T, "acc");
  const firstIsNan = isArg && T === "f32" ? `isnan_f(${load(dtype, "f32", "x[base]")})` : "false";
  const header = /* wgsl */ `
struct Params { outer: u32, r: u32, inner: u32, pad: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;
@group(0) @binding(2) var<storage, read> x: array<u32>;
${PRELUDE}
fn isnan_i(v: i32) -> bool { return false; }
fn merge(acc_in: ${T}, arg_in: u32, v: ${T}, j: u32) -> vec2u {
  var acc = acc_in; var arg = arg_in;
  ${combine}
  return vec2u(bitcast<u32>(acc), arg);
}`;
  if (!tree) {
    return /* wgsl */ `${header}
@compute @workgroup_size(${REDUCE_THREAD_WORKGROUP})
fn main(${ENTRY_BUILTINS}) {
  let oi = ${LINEAR_GROUP} * ${REDUCE_THREAD_WORKGROUP}u + lid;
  if (oi >= P.outer * P.inner) { return; }
  let o = oi / P.inner; let i = oi % P.inner;
  let base = o * P.r * P.inner + i;
  var acc: ${T} = ${init}; var arg = 0xffffffffu;
  for (var j = 0u; j < P.r; j++) {
    let v = ${load(dtype, T, "x[base + j * P.inner]")};
    let m = merge(acc, arg, v, j);
    acc = bitcast<${T}>(m.x); arg = m.y;
  }
  let first_is_nan = ${firstIsNan};
  out[oi] = ${result};
}`;
  }
  return /* wgsl */ `${header}
var<workgroup> accs: array<${T}, ${REDUCE_TREE_WIDTH}>;
var<workgroup> args: array<u32, ${REDUCE_TREE_WIDTH}>;
@compute @workgroup_size(${REDUCE_TREE_WIDTH})
fn main(${ENTRY_BUILTINS}) {
  let oi = ${LINEAR_GROUP};
  if (oi >= P.outer * P.inner) { return; }
  let o = oi / P.inner; let i = oi % P.inner;
  let base = o * P.r * P.inner + i;
  var acc: ${T} = ${init}; var arg = 0xffffffffu;
  for (var j = lid; j < P.r; j += ${REDUCE_TREE_WIDTH}u) {
    let v = ${load(dtype, T, "x[base + j * P.inner]")};
    let m = merge(acc, arg, v, j);
    acc = bitcast<${T}>(m.x); arg = m.y;
  }
  accs[lid] = acc; args[lid] = arg;
  for (var s = ${REDUCE_TREE_WIDTH / 2}u; s > 0u; s = s >> 1u) {
    workgroupBarrier();
    if (lid < s) {
      let m = merge(accs[lid], args[lid], accs[lid + s], args[lid + s]);
      accs[lid] = bitcast<${T}>(m.x); args[lid] = m.y;
    }
  }
  if (lid == 0u) {
    acc = accs[0]; arg = args[0];
    let first_is_nan = ${firstIsNan};
    out[oi] = ${result};
  }
}`;
}

export const CUMSUM_WORKGROUP = 64;

export function cumsumShader(dtype: DType): string {
  const T = scalarOf(dtype);
  const outDtype: DType = dtype === "bool" ? "int32" : dtype;
  return /* wgsl */ `
struct Params { outer: u32, n: u32, inner: u32, reverse: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;
@group(0) @binding(2) var<storage, read> x: array<u32>;
${PRELUDE}
@compute @workgroup_size(${CUMSUM_WORKGROUP})
fn main(${ENTRY_BUILTINS}) {
  let oi = ${LINEAR_GROUP} * ${CUMSUM_WORKGROUP}u + lid;
  if (oi >= P.outer * P.inner) { return; }
  let o = oi / P.inner; let i = oi % P.inner;
  var acc: ${T} = ${T}(0);
  for (var s = 0u; s < P.n; s++) {
    let j = select(s, P.n - 1u - s, P.reverse != 0u);
    let at = (o * P.n + j) * P.inner + i;
    acc = acc + ${load(dtype, T, "x[at]")};
    out[at] = ${store(outDtype, T, "acc")};
  }
}`;
}
