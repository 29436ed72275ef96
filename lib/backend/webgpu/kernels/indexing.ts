/** gather, scatterAdd (one invocation per output element looping over the indices: no float atomics) and fill. */
import type { DType } from "../../../dtype.js";
import { ENTRY_BUILTINS, LINEAR_GROUP, PRELUDE, load, scalarOf, store } from "./wgsl.js";

export const INDEX_WORKGROUP = 256;

const PARAMS = /* wgsl */ `
struct Params { outer: u32, axisSize: u32, inner: u32, nIdx: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;
@group(0) @binding(2) var<storage, read> x: array<u32>;
@group(0) @binding(3) var<storage, read> idx: array<i32>;`;

/**
 * out[o, j, i] = x[o, idx[j], i] (raw 32-bit copy: any dtype); out-of-range indices give 0. A source larger
 * than one binding is gathered in passes over row windows [rowStart, rowStart + rowCount) bound at element
 * xBase; the first pass also writes the zeros.
 */
export const GATHER_SHADER = /* wgsl */ `
struct Params { outer: u32, axisSize: u32, inner: u32, nIdx: u32, rowStart: u32, rowCount: u32, firstPass: u32, xBase: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;
@group(0) @binding(2) var<storage, read> x: array<u32>;
@group(0) @binding(3) var<storage, read> idx: array<i32>;
@compute @workgroup_size(${INDEX_WORKGROUP})
fn main(${ENTRY_BUILTINS}) {
  let e = ${LINEAR_GROUP} * ${INDEX_WORKGROUP}u + lid;
  if (e >= P.outer * P.nIdx * P.inner) { return; }
  let i = e % P.inner;
  let j = (e / P.inner) % P.nIdx;
  let o = e / (P.inner * P.nIdx);
  let k = idx[j];
  // Indices on the GPU cannot be checked by the host: out-of-range ones read as zeros.
  if (k < 0 || u32(k) >= P.axisSize) { if (P.firstPass != 0u) { out[e] = 0u; } return; }
  let row = u32(k) - P.rowStart;
  if (u32(k) < P.rowStart || row >= P.rowCount) { if (P.firstPass != 0u) { out[e] = 0u; } return; }
  out[e] = x[(o * P.axisSize + row) * P.inner + i + P.xBase];
}`;

/** out[o, a, i] = sum of g[o, j, i] over j with idx[j] == a (out-of-range indices contribute nothing). */
export function scatterAddShader(dtype: DType): string {
  const T = scalarOf(dtype);
  return /* wgsl */ `${PARAMS}
${PRELUDE}
@compute @workgroup_size(${INDEX_WORKGROUP})
fn main(${ENTRY_BUILTINS}) {
  let e = ${LINEAR_GROUP} * ${INDEX_WORKGROUP}u + lid;
  if (e >= P.outer * P.axisSize * P.inner) { return; }
  let i = e % P.inner;
  let a = i32((e / P.inner) % P.axisSize);
  let o = e / (P.inner * P.axisSize);
  var acc: ${T} = ${T}(0);
  for (var j = 0u; j < P.nIdx; j++) {
    if (idx[j] == a) { acc = acc + ${load(dtype, T, "x[(o * P.nIdx + j) * P.inner + i]")}; }
  }
  out[e] = ${store(dtype === "bool" ? "int32" : dtype, T, "acc")};
}`;
}

/** Writes the same 32-bit pattern to elements [start, start + n) of the bound window. */
export const FILL_SHADER = /* wgsl */ `
struct Params { n: u32, bits: u32, start: u32, pad0: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;
@compute @workgroup_size(${INDEX_WORKGROUP})
fn main(${ENTRY_BUILTINS}) {
  let e = ${LINEAR_GROUP} * ${INDEX_WORKGROUP}u + lid;
  if (e >= P.n) { return; }
  out[e + P.start] = P.bits;
}`;
