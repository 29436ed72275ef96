/**
 * gather, scatterAdd (one invocation per output element looping over the indices: no float atomics), the
 * index check and fill. Kernels that read an index tensor report the first out-of-range index into the
 * device status buffer (see INDEX_STATUS); the backend raises it at the next read.
 */
import type { DType } from "../../../dtype.js";
import { ENTRY_BUILTINS, LINEAR_GROUP, PRELUDE, load, scalarOf, store } from "./wgsl.js";

/** Elements per workgroup of the index kernels and fill (the dispatch is ceil(n / INDEX_WORKGROUP) workgroups). */
export const INDEX_WORKGROUP = 256;
/** Consecutive output elements per gather invocation. */
const GATHER_PER = 4;

/** Binding of the status buffer in kernels that check indices (after every kernel's own bindings). */
export const INDEX_STATUS_BINDING = 7;
/** Words of the status buffer: [tag of the first dispatch that saw a bad index (0 = none), the index, its position, 0]. */
export const INDEX_STATUS_WORDS = 4;

/**
 * Declares the status buffer and reportBadIndex(tag, value, position): the first report of a batch wins
 * (dispatches run in order, so it is the earliest dispatch's); later ones leave the record alone.
 */
export const INDEX_STATUS = /* wgsl */ `
@group(0) @binding(${INDEX_STATUS_BINDING}) var<storage, read_write> status: array<atomic<u32>, ${INDEX_STATUS_WORDS}>;
fn reportBadIndex(tag: u32, value: i32, position: u32) {
  loop {
    let r = atomicCompareExchangeWeak(&status[0], 0u, tag);
    if (r.exchanged) { atomicStore(&status[1], bitcast<u32>(value)); atomicStore(&status[2], position); return; }
    if (r.old_value != 0u) { return; }
  }
}`;

const PARAMS = /* wgsl */ `
struct Params { outer: u32, axisSize: u32, inner: u32, nIdx: u32, tag: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;
@group(0) @binding(2) var<storage, read> x: array<u32>;
@group(0) @binding(3) var<storage, read> idx: array<i32>;
${INDEX_STATUS}`;

/**
 * out[o, j, i] = x[o, idx[j], i] (raw 32-bit copy: any dtype). An out-of-range index reads nothing: its
 * output is 0 and it is reported (once per index: by the o = 0, i = 0 invocation of the first pass). A source
 * larger than one binding is gathered in passes over row windows [rowStart, rowStart + rowCount) bound at
 * element xBase; the first pass also writes the zeros.
 */
export const GATHER_SHADER = /* wgsl */ `
struct Params { outer: u32, axisSize: u32, inner: u32, nIdx: u32, rowStart: u32, rowCount: u32, firstPass: u32, xBase: u32, tag: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;
@group(0) @binding(2) var<storage, read> x: array<u32>;
@group(0) @binding(3) var<storage, read> idx: array<i32>;
${INDEX_STATUS}
@compute @workgroup_size(${INDEX_WORKGROUP / GATHER_PER})
fn main(${ENTRY_BUILTINS}) {
  let first = ${LINEAR_GROUP} * ${INDEX_WORKGROUP}u + lid * ${GATHER_PER}u;
  let total = P.outer * P.nIdx * P.inner;
  if (first >= total) { return; }
  // Coordinates of the first element, then counted up with carries: one set of integer
  // divisions per invocation instead of per element (lavapipe scalarizes them).
  var i = first % P.inner;
  var j = (first / P.inner) % P.nIdx;
  var o = first / (P.inner * P.nIdx);
  for (var s = 0u; s < ${GATHER_PER}u; s++) {
    let e = first + s;
    if (e >= total) { return; }
    gatherOne(e, o, j, i);
    i++;
    if (i == P.inner) { i = 0u; j++; if (j == P.nIdx) { j = 0u; o++; } }
  }
}
fn gatherOne(e: u32, o: u32, j: u32, i: u32) {
  let k = idx[j];
  if (k < 0 || u32(k) >= P.axisSize) {
    if (P.firstPass != 0u) {
      out[e] = 0u;
      if (o == 0u && i == 0u) { reportBadIndex(P.tag, k, j); }
    }
    return;
  }
  let row = u32(k) - P.rowStart;
  if (u32(k) < P.rowStart || row >= P.rowCount) { if (P.firstPass != 0u) { out[e] = 0u; } return; }
  out[e] = x[(o * P.axisSize + row) * P.inner + i + P.xBase];
}`;

/**
 * out[o, a, i] = sum of g[o, j, i] over j with idx[j] == a. Out-of-range indices contribute nothing; the
 * invocation of element 0 (which reads every index anyway) reports the first one.
 */
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
    let k = idx[j];
    if (k == a) { acc = acc + ${load(dtype, T, "x[(o * P.nIdx + j) * P.inner + i]")}; }
    else if (e == 0u && (k < 0 || u32(k) >= P.axisSize)) { reportBadIndex(P.tag, k, j); }
  }
  out[e] = ${store(dtype === "bool" ? "int32" : dtype, T, "acc")};
}`;
}

/** Reports the first idx[j] (j < n) outside [0, axisSize): the check for ops that use indices without gather. */
export const CHECK_INDICES_SHADER = /* wgsl */ `
struct Params { n: u32, axisSize: u32, tag: u32, pad0: u32 }
@group(0) @binding(0) var<uniform> P: Params;
// Binding 1 is every layout's read-write slot; nothing is written to it.
@group(0) @binding(1) var<storage, read_write> idx: array<i32>;
${INDEX_STATUS}
@compute @workgroup_size(${INDEX_WORKGROUP})
fn main(${ENTRY_BUILTINS}) {
  let j = ${LINEAR_GROUP} * ${INDEX_WORKGROUP}u + lid;
  if (j >= P.n) { return; }
  let k = idx[j];
  if (k < 0 || u32(k) >= P.axisSize) { reportBadIndex(P.tag, k, j); }
}`;

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
