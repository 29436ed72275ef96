/**
 * Reductions over the middle axis of [outer, r, inner] and cumulative sums. Two shapes: one invocation
 * per output looping over r (small r), or 64-wide workgroups with a combining step (large r): a tree in
 * workgroup memory, or, with the `subgroups` feature, subgroup operations and one barrier. When few
 * outputs have a long r, r is split into parts reduced by separate workgroups into partials (value, and
 * index for argmax/argmin) that a second dispatch combines. Semantics follow the CPU backend: max/min
 * propagate NaN, argmax/argmin return the first extreme index and ignore NaN unless the first element is
 * NaN (then 0).
 */
import { availableParallelism } from "node:os";
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

/**
 * Workgroups a split reduction aims for on a GPU, and the fewest elements of r each reduces (64 per invocation).
 * A GPU needs many loads in flight: summing 16M / 64M floats to one value on an H100 ran at 138 / 344 GB/s
 * with 1,024 workgroups, 455 / 573 with 4,096, 601 / 516 with 16,384. DAWNET_WEBGPU_REDUCE_GROUPS overrides it.
 */
const REDUCE_SPLIT_TARGET_GROUPS = Number(process.env.DAWNET_WEBGPU_REDUCE_GROUPS) || 4096;
const REDUCE_SPLIT_MIN_CHUNK = 4096;
/**
 * On software adapters a workgroup costs a CPU thread's scheduling, not a GPU slot: a few per core with
 * long chunks (1 M elements: 256 parts measured 1.7 GB/s, 1–16 parts 2.5–2.9 GB/s on lavapipe, 2 cores).
 */
const SOFTWARE_SPLIT_TARGET_GROUPS = 4 * availableParallelism();
const SOFTWARE_SPLIT_MIN_CHUNK = 65536;

/**
 * Which plans a device gets: "workgroup" (GPUs: a workgroup per output from r = 128 on, reads coalesced
 * across invocations) or "thread" (software adapters: lavapipe runs a workgroup's invocations as SIMD
 * lanes of one CPU thread and pays per workgroup; one invocation per output measured 4–15× faster there
 * for 64–4096 outputs of r = 256–4096). DAWNET_WEBGPU_REDUCE=workgroup|thread overrides.
 */
export type ReduceStyle = "workgroup" | "thread";

/** Under the "thread" style, outputs or r from which the workgroup plans are kept (too little parallelism otherwise). */
const THREAD_STYLE_MAX_R = 8192;
const THREAD_STYLE_MIN_OUTPUTS = 256;

/**
 * How a reduction runs: one invocation per output (`tree` false), one workgroup per output, or `parts`
 * workgroups per output writing partials that a second dispatch (over r = parts) combines.
 */
export function reducePlan(outputs: number, r: number, style: ReduceStyle = "workgroup"): { tree: boolean; parts: number } {
  if (r < REDUCE_TREE_MIN_R) return { tree: false, parts: 1 };
  if (style === "thread" && (r < THREAD_STYLE_MAX_R || outputs >= THREAD_STYLE_MIN_OUTPUTS)) return { tree: false, parts: 1 };
  const [chunk, target] = style === "thread" ? [SOFTWARE_SPLIT_MIN_CHUNK, SOFTWARE_SPLIT_TARGET_GROUPS] : [REDUCE_SPLIT_MIN_CHUNK, REDUCE_SPLIT_TARGET_GROUPS];
  const parts = Math.min(Math.floor(r / chunk), Math.ceil(target / outputs));
  return { tree: true, parts: parts >= 2 ? parts : 1 };
}

/** 32-bit words per partial: the accumulator, and the index for argmax/argmin. */
export function reducePartialWords(op: ReduceOp): number {
  return op === "argmax" || op === "argmin" ? 2 : 1;
}

export interface ReduceVariant {
  op: ReduceOp;
  /** The dtype of the reduced tensor (partials of any dtype hold the accumulator's bits). */
  dtype: DType;
  /** Workgroup per output (or part) instead of invocation per output. */
  tree: boolean;
  /** Combine a workgroup's values with subgroup operations (needs the `subgroups` feature) instead of a tree in workgroup memory. */
  subgroups: boolean;
  /** "x": the tensor; "partials": the partials of a split reduction (r = parts). */
  input: "x" | "partials";
  /** "final": the reduced value in the output dtype; "partials": accumulator (and index) words per part. */
  output: "final" | "partials";
}

export function reduceVariantKey(v: ReduceVariant): string {
  return `reduce ${v.op} ${v.dtype} ${v.tree ? "tree" : "thread"}${v.subgroups ? " subgroups" : ""} ${v.input}→${v.output}`;
}

/**
 * The reduction kernel. Uniforms: outer, r, inner, parts (1 unless split). The workgroup-linear index is
 * output * parts + part; part p reduces j in [p·chunk, (p+1)·chunk) with chunk = ceil(r / parts).
 */
export function reduceShader(v: ReduceVariant): string {
  const { op, dtype } = v;
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
  // float32 sums add 64-term blocks to a total: one accumulator over r = 8192 drifts 6.5e-5 from the exact sum.
  const blockedSum = op === "sum" && T === "f32";
  const words = reducePartialWords(op);
  const outDtype = reduceOutDType(op, dtype);
  const fromX = v.input === "x";
  // A part-0 partial whose first element is NaN becomes (±Inf, 0): it wins every later merge, as the CPU's "first is NaN → 0" rule.
  const firstIsNan = isArg && T === "f32" && fromX ? `isnan_f(${load(dtype, "f32", "x[base]")})` : "false";
  const loadValue = fromX ? load(dtype, T, "x[base + j * P.inner]") : `bitcast<${T}>(x[(oi * P.r + j) * ${words}u])`;
  const loadIndex = fromX || !isArg ? "j" : "x[(oi * P.r + j) * 2u + 1u]";
  const finalValue = isArg ? `bitcast<u32>(i32(select(arg, 0u, first_is_nan)))` : store(outDtype, T, "acc");
  const write =
    v.output === "final"
      ? `let first_is_nan = ${firstIsNan};\n    out[oi] = ${finalValue};`
      : isArg && firstIsNan !== "false"
        ? `if (part == 0u && ${firstIsNan}) { acc = ${op === "argmax" ? "inf_f()" : "-inf_f()"}; arg = 0u; }
    out[g * 2u] = bitcast<u32>(acc); out[g * 2u + 1u] = arg;`
        : isArg
          ? "out[g * 2u] = bitcast<u32>(acc); out[g * 2u + 1u] = arg;"
          : "out[g] = bitcast<u32>(acc);";
  const header = /* wgsl */ `${v.subgroups ? "enable subgroups;\n" : ""}
struct Params { outer: u32, r: u32, inner: u32, parts: u32 }
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
  if (!v.tree) {
    if (v.input !== "x" || v.output !== "final" || v.subgroups) throw new Error("webgpu reduce: the thread-per-output kernel reads the tensor and writes the result only");
    return /* wgsl */ `${header}
@compute @workgroup_size(${REDUCE_THREAD_WORKGROUP})
fn main(${ENTRY_BUILTINS}) {
  let oi = ${LINEAR_GROUP} * ${REDUCE_THREAD_WORKGROUP}u + lid;
  if (oi >= P.outer * P.inner) { return; }
  let o = oi / P.inner; let i = oi % P.inner;
  let base = o * P.r * P.inner + i;
  var acc: ${T} = ${init}; var arg = 0xffffffffu;${blockedSum ? " var total = 0.0;" : ""}
  for (var j = 0u; j < P.r; j++) {
    let v = ${loadValue};
    let m = merge(acc, arg, v, j);
    acc = bitcast<${T}>(m.x); arg = m.y;${blockedSum ? `
    if ((j & 63u) == 63u) { total = total + acc; acc = 0.0; }` : ""}
  }${blockedSum ? "\n  acc = total + acc;" : ""}
  let first_is_nan = ${firstIsNan};
  out[oi] = ${finalValue};
}`;
  }
  const combineWorkgroup = v.subgroups ? subgroupCombine(op, T, init) : treeCombine(T);
  return /* wgsl */ `${header}
${v.subgroups ? subgroupMerge(op, T) : ""}
var<workgroup> accs: array<${T}, ${REDUCE_TREE_WIDTH}>;
var<workgroup> args: array<u32, ${REDUCE_TREE_WIDTH}>;
@compute @workgroup_size(${REDUCE_TREE_WIDTH})
fn main(${ENTRY_BUILTINS}) {
  let g = ${LINEAR_GROUP};
  if (g >= P.outer * P.inner * P.parts) { return; }
  let oi = g / P.parts; let part = g % P.parts;
  let chunk = (P.r + P.parts - 1u) / P.parts;
  let j0 = part * chunk; let j1 = min(P.r, j0 + chunk);
  let o = oi / P.inner; let i = oi % P.inner;
  let base = o * P.r * P.inner + i;
  var acc: ${T} = ${init}; var arg = 0xffffffffu;${blockedSum ? " var total = 0.0; var terms = 0u;" : ""}
  for (var j = j0 + lid; j < j1; j += ${REDUCE_TREE_WIDTH}u) {
    let v = ${loadValue};
    let m = merge(acc, arg, v, ${loadIndex});
    acc = bitcast<${T}>(m.x); arg = m.y;${blockedSum ? `
    // As in the thread kernel: software-adapter plans give each invocation 1,000s of terms.
    terms++; if ((terms & 63u) == 0u) { total = total + acc; acc = 0.0; }` : ""}
  }${blockedSum ? "\n  acc = total + acc;" : ""}
${combineWorkgroup}
  if (lid == 0u) {
    ${write}
  }
}`;
}

/** Tree in workgroup memory: log2(64) barrier steps; the result lands in (accs[0], args[0]). */
function treeCombine(T: string): string {
  return /* wgsl */ `  accs[lid] = acc; args[lid] = arg;
  for (var s = ${REDUCE_TREE_WIDTH / 2}u; s > 0u; s = s >> 1u) {
    workgroupBarrier();
    if (lid < s) {
      let m = merge(accs[lid], args[lid], accs[lid + s], args[lid + s]);
      accs[lid] = bitcast<${T}>(m.x); args[lid] = m.y;
    }
  }
  workgroupBarrier();
  acc = accs[0]; arg = args[0];`;
}

/**
 * Subgroup combine, independent of the subgroup size and of how invocations map to subgroups (neither
 * is known when the shader compiles): each subgroup reduces its values; one elected invocation per
 * subgroup stores the result in its own slot, every other slot holds the identity; after one barrier
 * every subgroup reduces all 64 slots (each invocation takes every `lanes`-th slot from its rank among the active invocations on).
 */
function subgroupCombine(op: ReduceOp, T: string, init: string): string {
  return /* wgsl */ `  var t = subgroup_merge(acc, arg);
  let leader = subgroupElect();
  accs[lid] = select(${init}, bitcast<${T}>(t.x), leader); args[lid] = select(0xffffffffu, t.y, leader);
  workgroupBarrier();
  let rank = subgroupExclusiveAdd(1u);
  let lanes = subgroupAdd(1u);
  acc = ${init}; arg = 0xffffffffu;
  for (var k = rank; k < ${REDUCE_TREE_WIDTH}u; k += lanes) {
    let m = merge(acc, arg, accs[k], args[k]);
    acc = bitcast<${T}>(m.x); arg = m.y;
  }
  t = subgroup_merge(acc, arg);
  acc = bitcast<${T}>(t.x); arg = t.y;`;
}

/**
 * (acc, arg) of the whole subgroup, with the semantics of `merge`: NaN handled explicitly (Vulkan leaves
 * min/max of NaN undefined), argmax/argmin as the smallest index among the lanes holding the extreme.
 */
function subgroupMerge(op: ReduceOp, T: string): string {
  const f = T === "f32";
  let body: string;
  switch (op) {
    case "sum": body = "return vec2u(bitcast<u32>(subgroupAdd(acc)), arg);"; break;
    case "prod": body = "return vec2u(bitcast<u32>(subgroupMul(acc)), arg);"; break;
    case "max": case "min": {
      const fn = op === "max" ? "subgroupMax" : "subgroupMin";
      body = f
        ? `let any_nan = subgroupAny(isnan_f(acc));
  let m = ${fn}(acc);
  return vec2u(bitcast<u32>(select(m, nan_f(), any_nan)), arg);`
        : `return vec2u(bitcast<u32>(${fn}(acc)), arg);`;
      break;
    }
    default: {
      const fn = op === "argmax" ? "subgroupMax" : "subgroupMin";
      body = f
        ? // Lanes without a candidate hold NaN: they take no part; if no lane has one the result stays "none".
          `let valid = !isnan_f(acc);
  let m = ${fn}(select(${op === "argmax" ? "-inf_f()" : "inf_f()"}, acc, valid));
  let first = subgroupMin(select(0xffffffffu, arg, valid && acc == m));
  let any_valid = subgroupAny(valid);
  return vec2u(bitcast<u32>(select(nan_f(), m, any_valid)), select(0xffffffffu, first, any_valid));`
        : `let m = ${fn}(acc);
  return vec2u(bitcast<u32>(m), subgroupMin(select(0xffffffffu, arg, acc == m)));`;
    }
  }
  return /* wgsl */ `fn subgroup_merge(acc: ${T}, arg: u32) -> vec2u {
  ${body}
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
