/**
 * Direct NHWC convolution and pooling (filters [kh, kw, cin, cout]). Forward and input gradient use one
 * invocation per output element; the filter gradient uses one 64-wide workgroup per filter element with
 * a tree reduction over batch × output positions. All sizes are uniforms (one shader per kernel).
 */
import { ENTRY_BUILTINS, LINEAR_GROUP, PRELUDE } from "./wgsl.js";

export const CONV_WORKGROUP = 64;
export const CONV_FILTER_TREE = 64;

const CONV_PARAMS = /* wgsl */ `
struct Params { n: u32, h: u32, w: u32, cin: u32, kh: u32, kw: u32, cout: u32, oh: u32, ow: u32,
  strideH: u32, strideW: u32, dilationH: u32, dilationW: u32, padTop: u32, padLeft: u32, pad0: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> in0: array<f32>;
@group(0) @binding(3) var<storage, read> in1: array<f32>;`;

/** out[b, oy, ox, co] = Σ x[b, iy, ix, ci] · w[ky, kx, ci, co]; in0 = x, in1 = w. */
export const CONV2D_SHADER = /* wgsl */ `${CONV_PARAMS}
@compute @workgroup_size(${CONV_WORKGROUP})
fn main(${ENTRY_BUILTINS}) {
  let e = ${LINEAR_GROUP} * ${CONV_WORKGROUP}u + lid;
  if (e >= P.n * P.oh * P.ow * P.cout) { return; }
  let co = e % P.cout;
  let ox = (e / P.cout) % P.ow;
  let oy = (e / (P.cout * P.ow)) % P.oh;
  let b = e / (P.cout * P.ow * P.oh);
  var acc = 0.0;
  for (var ky = 0u; ky < P.kh; ky++) {
    let iy = i32(oy * P.strideH + ky * P.dilationH) - i32(P.padTop);
    if (iy < 0 || iy >= i32(P.h)) { continue; }
    for (var kx = 0u; kx < P.kw; kx++) {
      let ix = i32(ox * P.strideW + kx * P.dilationW) - i32(P.padLeft);
      if (ix < 0 || ix >= i32(P.w)) { continue; }
      let xo = ((b * P.h + u32(iy)) * P.w + u32(ix)) * P.cin;
      let wo = (ky * P.kw + kx) * P.cin * P.cout + co;
      for (var c = 0u; c < P.cin; c++) { acc = acc + in0[xo + c] * in1[wo + c * P.cout]; }
    }
  }
  out[e] = acc;
}`;

/** Input-gradient outputs per invocation: consecutive input channels of one pixel, sharing each dy load. */
export const CONV_GRAD_INPUT_PER = 8;
const perLanes = Array.from({ length: CONV_GRAD_INPUT_PER }, (_, j) => j);

/**
 * dx[b, iy, ix, ci] = Σ over (ky, kx) hitting an output position and co of dy · w; in0 = dy, in1 = w.
 * A workgroup covers CONV_WORKGROUP consecutive outputs (the dispatch is one workgroup per CONV_WORKGROUP
 * outputs); each invocation computes CONV_GRAD_INPUT_PER of them. When cin is a multiple of that, they are
 * channels ci0.. of one pixel: the tap arithmetic runs once and each dy value feeds every accumulator (on
 * lavapipe every load is a scalarized gather: one load per output per co measured about half as fast).
 */
/**
 * The input gradient's walk over the filter taps that reach input pixel (b, iy, ix): `body` runs with `go`,
 * the offset of the output pixel's dy row, and `wo`, the offset of w[ky, kx, <ci>, 0].
 */
function gradInputTaps(ci: string, body: string): string {
  return `for (var ky = 0u; ky < P.kh; ky++) {
    let ty = iy + i32(P.padTop) - i32(ky * P.dilationH);
    if (ty < 0 || ty % i32(P.strideH) != 0) { continue; }
    let oy = u32(ty) / P.strideH;
    if (oy >= P.oh) { continue; }
    for (var kx = 0u; kx < P.kw; kx++) {
      let tx = ix + i32(P.padLeft) - i32(kx * P.dilationW);
      if (tx < 0 || tx % i32(P.strideW) != 0) { continue; }
      let ox = u32(tx) / P.strideW;
      if (ox >= P.ow) { continue; }
      let go = ((b * P.oh + oy) * P.ow + ox) * P.cout;
      let wo = ((ky * P.kw + kx) * P.cin + ${ci}) * P.cout;
      ${body}
    }
  }`;
}

export const CONV2D_GRAD_INPUT_SHADER = /* wgsl */ `${CONV_PARAMS}
fn gradInputOne(e: u32) -> f32 {
  let ci = e % P.cin;
  let ix = i32((e / P.cin) % P.w);
  let iy = i32((e / (P.cin * P.w)) % P.h);
  let b = e / (P.cin * P.w * P.h);
  var acc = 0.0;
  ${gradInputTaps("ci", "for (var co = 0u; co < P.cout; co++) { acc = acc + in0[go + co] * in1[wo + co]; }")}
  return acc;
}
@compute @workgroup_size(${CONV_WORKGROUP / CONV_GRAD_INPUT_PER})
fn main(${ENTRY_BUILTINS}) {
  let e0 = ${LINEAR_GROUP} * ${CONV_WORKGROUP}u + lid * ${CONV_GRAD_INPUT_PER}u;
  let total = P.n * P.h * P.w * P.cin;
  if (e0 >= total) { return; }
  if (P.cin % ${CONV_GRAD_INPUT_PER}u != 0u) {
    for (var j = 0u; j < ${CONV_GRAD_INPUT_PER}u && e0 + j < total; j++) { out[e0 + j] = gradInputOne(e0 + j); }
    return;
  }
  // cin is a multiple of the block: e0, e0 + 1, ... are channels ci0, ci0 + 1, ... of one input pixel (all < total).
  let ci0 = e0 % P.cin;
  let ix = i32((e0 / P.cin) % P.w);
  let iy = i32((e0 / (P.cin * P.w)) % P.h);
  let b = e0 / (P.cin * P.w * P.h);
  ${perLanes.map((j) => `var a${j} = 0.0;`).join(" ")}
  ${gradInputTaps("ci0", `for (var co = 0u; co < P.cout; co++) {
        let g = in0[go + co];
        ${perLanes.map((j) => `a${j} = a${j} + g * in1[wo + co + ${j}u * P.cout];`).join("\n        ")}
      }`)}
  ${perLanes.map((j) => `out[e0 + ${j}u] = a${j};`).join(" ")}
}`;

/** dw[ky, kx, ci, co] = Σ over b, oy, ox of x · dy; in0 = x, in1 = dy. One workgroup per filter element. */
export const CONV2D_GRAD_FILTER_SHADER = /* wgsl */ `${CONV_PARAMS}
var<workgroup> partial: array<f32, ${CONV_FILTER_TREE}>;
@compute @workgroup_size(${CONV_FILTER_TREE})
fn main(${ENTRY_BUILTINS}) {
  let e = ${LINEAR_GROUP};
  if (e >= P.kh * P.kw * P.cin * P.cout) { return; }
  let co = e % P.cout;
  let ci = (e / P.cout) % P.cin;
  let kx = (e / (P.cout * P.cin)) % P.kw;
  let ky = e / (P.cout * P.cin * P.kw);
  let positions = P.n * P.oh * P.ow;
  var acc = 0.0;
  for (var q = lid; q < positions; q += ${CONV_FILTER_TREE}u) {
    let ox = q % P.ow;
    let oy = (q / P.ow) % P.oh;
    let b = q / (P.ow * P.oh);
    let iy = i32(oy * P.strideH + ky * P.dilationH) - i32(P.padTop);
    let ix = i32(ox * P.strideW + kx * P.dilationW) - i32(P.padLeft);
    if (iy < 0 || iy >= i32(P.h) || ix < 0 || ix >= i32(P.w)) { continue; }
    acc = acc + in0[((b * P.h + u32(iy)) * P.w + u32(ix)) * P.cin + ci] * in1[q * P.cout + co];
  }
  partial[lid] = acc;
  for (var s = ${CONV_FILTER_TREE / 2}u; s > 0u; s = s >> 1u) {
    workgroupBarrier();
    if (lid < s) { partial[lid] = partial[lid] + partial[lid + s]; }
  }
  if (lid == 0u) { out[e] = partial[0]; }
}`;

const POOL_PARAMS = /* wgsl */ `
struct Params { n: u32, h: u32, w: u32, c: u32, kh: u32, kw: u32, oh: u32, ow: u32,
  strideH: u32, strideW: u32, padTop: u32, padLeft: u32, isMax: u32, pad0: u32, pad1: u32, pad2: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;`;

/** Clipped window [y0, y1) × [x0, x1) of output (oy, ox). */
const WINDOW = /* wgsl */ `
fn window(oy: u32, ox: u32) -> vec4i {
  let ys = i32(oy * P.strideH) - i32(P.padTop);
  let xs = i32(ox * P.strideW) - i32(P.padLeft);
  return vec4i(max(ys, 0), min(ys + i32(P.kh), i32(P.h)), max(xs, 0), min(xs + i32(P.kw), i32(P.w)));
}`;

/**
 * Pooling outputs (forward) or input elements (gradient) per invocation. A workgroup covers CONV_WORKGROUP
 * consecutive elements; when c is a multiple of POOL_PER an invocation's elements are channels of one pixel,
 * so the index decomposition and window bounds (integer divisions, which lavapipe scalarizes) run once.
 */
export const POOL_PER = 4;

/** Runs `fn` for the invocation's POOL_PER elements: (b, y, x) decomposed once when they share a pixel. */
function poolMain(size: string, call: string): string {
  return /* wgsl */ `
@compute @workgroup_size(${CONV_WORKGROUP / POOL_PER})
fn main(${ENTRY_BUILTINS}) {
  let e0 = ${LINEAR_GROUP} * ${CONV_WORKGROUP}u + lid * ${POOL_PER}u;
  let total = ${size};
  if (e0 >= total) { return; }
  if (P.c % ${POOL_PER}u == 0u) {
    let pix = e0 / P.c;
    let px = pix % PW;
    let py = (pix / PW) % PH;
    let b = pix / (PW * PH);
    let ch0 = e0 % P.c;
    for (var j = 0u; j < ${POOL_PER}u; j++) { out[e0 + j] = ${call.replace("CH", "ch0 + j")}; }
    return;
  }
  for (var j = 0u; j < ${POOL_PER}u && e0 + j < total; j++) {
    let e = e0 + j;
    let pix = e / P.c;
    let px = pix % PW;
    let py = (pix / PW) % PH;
    let b = pix / (PW * PH);
    out[e] = ${call.replace("CH", "e % P.c")};
  }
}`;
}

export const POOL2D_SHADER = /* wgsl */ `${POOL_PARAMS}
${PRELUDE}
${WINDOW}
fn poolAt(b: u32, oy: u32, ox: u32, ch: u32) -> f32 {
  let win = window(oy, ox);
  var acc = select(0.0, -inf_f(), P.isMax != 0u);
  for (var y = win.x; y < win.y; y++) {
    for (var xx = win.z; xx < win.w; xx++) {
      let v = x[((b * P.h + u32(y)) * P.w + u32(xx)) * P.c + ch];
      if (P.isMax != 0u) { if (!isnan_f(acc) && (v > acc || isnan_f(v))) { acc = v; } } else { acc = acc + v; }
    }
  }
  let count = max(win.y - win.x, 0) * max(win.w - win.z, 0);
  if (P.isMax == 0u) { acc = select(0.0, acc / f32(count), count > 0); }
  return acc;
}
${poolMain("P.n * P.oh * P.ow * P.c", "poolAt(b, py, px, CH)").replace(/PW/g, "P.ow").replace(/PH/g, "P.oh")}`;

/** One input element's gradient: the sum over every window that contains it. */
export const POOL2D_GRAD_SHADER = /* wgsl */ `${POOL_PARAMS}
@group(0) @binding(3) var<storage, read> dy: array<f32>;
${PRELUDE}
${WINDOW}
fn gradAt(b: u32, iyu: u32, ixu: u32, ch: u32) -> f32 {
  let iy = i32(iyu);
  let ix = i32(ixu);
  // Output rows whose window [oy*s - pad, oy*s - pad + k) contains iy.
  let oyLo = max(0, (iy + i32(P.padTop) - i32(P.kh) + i32(P.strideH)) / i32(P.strideH));
  let oyHi = min(i32(P.oh) - 1, (iy + i32(P.padTop)) / i32(P.strideH));
  let oxLo = max(0, (ix + i32(P.padLeft) - i32(P.kw) + i32(P.strideW)) / i32(P.strideW));
  let oxHi = min(i32(P.ow) - 1, (ix + i32(P.padLeft)) / i32(P.strideW));
  var acc = 0.0;
  for (var oy = oyLo; oy <= oyHi; oy++) {
    for (var ox = oxLo; ox <= oxHi; ox++) {
      let win = window(u32(oy), u32(ox));
      if (iy < win.x || iy >= win.y || ix < win.z || ix >= win.w) { continue; }
      let g = dy[((b * P.oh + u32(oy)) * P.ow + u32(ox)) * P.c + ch];
      if (P.isMax == 0u) {
        acc = acc + g / f32((win.y - win.x) * (win.w - win.z));
      } else {
        // The window's first maximal element (row-major; a NaN first element wins) gets the gradient.
        var bestY = -1; var bestX = -1; var bv = 0.0;
        for (var y = win.x; y < win.y; y++) {
          for (var xx = win.z; xx < win.w; xx++) {
            let v = x[((b * P.h + u32(y)) * P.w + u32(xx)) * P.c + ch];
            if (bestY < 0 || v > bv) { bv = v; bestY = y; bestX = xx; }
          }
        }
        if (bestY == iy && bestX == ix) { acc = acc + g; }
      }
    }
  }
  return acc;
}
${poolMain("P.n * P.h * P.w * P.c", "gradAt(b, py, px, CH)").replace(/PW/g, "P.w").replace(/PH/g, "P.h")}`;

/** Outputs per invocation along each axis, and invocations per workgroup side, of `convGemmShader`. */
const GEMM_PER = 8;
const GEMM_WG = 8;
/** Output tile of one `convGemmShader` workgroup along M and N (dispatch [ceil(N / tile), ceil(M / tile), 1]). */
export const CONV_GEMM_TILE = GEMM_PER * GEMM_WG;

export type ConvGemmKind = "conv" | "convFilterGrad" | "convInputGrad";

/**
 * Register-blocked implicit GEMMs for software adapters, a drop-in for matmul.ts's `matmulDirectShader`
 * with a conv A (same uniforms: M, N, K, 5 unused words, then the conv sizes; same bindings and tile):
 * each invocation keeps 8×8 accumulators and walks K as nested loops over the filter taps and channels
 * (or batch and output rows/columns), so the im2col / col2im address of each of its 8 rows is computed
 * once per tap with multiplies and adds. The generic kernel decomposes every (row, k) with 4–6 integer
 * divisions; lavapipe scalarizes those (CPUs have no SIMD integer division), and they outweighed the 64
 * multiply-adds per k by an order of magnitude.
 *   conv:           out[pos, co] = Σ_(ky, kx, ci) x[b, oy·s + ky·d − pad, ox·s + kx·d − pad, ci] · w[ky, kx, ci, co]
 *   convFilterGrad: out[(ky, kx, ci), co] = Σ_(b, oy, ox) x[b, iy, ix, ci] · dy[b, oy, ox, co]
 *   convInputGrad:  out[(b, iy, ix), ci] = Σ_(ky, kx, co) dy[b, oy, ox, co] · w[ky, kx, ci, co] over taps that reach an output
 * A is x (conv, convFilterGrad) or dy (convInputGrad); B is w (conv, convInputGrad) or dy (convFilterGrad).
 */
export function convGemmShader(kind: ConvGemmKind): string {
  const rows = Array.from({ length: GEMM_PER }, (_, i) => i);
  const each = (f: (i: number) => string, sep = "\n  ") => rows.map(f).join(sep);
  const fma = rows.flatMap((i) => rows.map((j) => `acc_${i}_${j} = acc_${i}_${j} + a_${i} * b_${j};`)).join("\n      ");
  const loadB = (index: (j: number) => string) => each((j) => `let b_${j} = bitcast<f32>(B[${index(j)}]);`, " ");
  let body: string;
  if (kind === "conv") {
    body = `
  ${each((i) => `let p_${i} = min(m0 + ${i}u, P.M - 1u); let y0_${i} = i32(((p_${i} / P.ow) % P.oh) * P.strideH) - i32(P.padTop); let x0_${i} = i32((p_${i} % P.ow) * P.strideW) - i32(P.padLeft); let b_row_${i} = p_${i} / (P.ow * P.oh);`)}
  var tapBase = 0u;
  for (var ky = 0u; ky < P.kh; ky++) {
    for (var kx = 0u; kx < P.kw; kx++) {
      ${each((i) => `let iy_${i} = y0_${i} + i32(ky * P.dilationH); let ix_${i} = x0_${i} + i32(kx * P.dilationW); let ok_${i} = iy_${i} >= 0 && iy_${i} < i32(P.h) && ix_${i} >= 0 && ix_${i} < i32(P.w); let ao_${i} = select(0u, ((b_row_${i} * P.h + u32(iy_${i})) * P.w + u32(ix_${i})) * P.cin, ok_${i});`, "\n      ")}
      for (var ci = 0u; ci < P.cin; ci++) {
        ${each((i) => `let a_${i} = select(0.0, bitcast<f32>(A[ao_${i} + ci]), ok_${i});`, " ")}
        let bo = (tapBase + ci) * P.N;
        ${loadB((j) => `bo + gn_${j}`)}
        ${fma}
      }
      tapBase += P.cin;
    }
  }`;
  } else if (kind === "convFilterGrad") {
    body = `
  ${each((i) => `let t_${i} = min(m0 + ${i}u, P.M - 1u); let ci_${i} = t_${i} % P.cin; let dy_${i} = i32((t_${i} / (P.cin * P.kw)) * P.dilationH) - i32(P.padTop); let dx_${i} = i32(((t_${i} / P.cin) % P.kw) * P.dilationW) - i32(P.padLeft);`)}
  var k = 0u;
  for (var b = 0u; b < P.n; b++) {
    for (var oy = 0u; oy < P.oh; oy++) {
      ${each((i) => `let iy_${i} = i32(oy * P.strideH) + dy_${i}; let okY_${i} = iy_${i} >= 0 && iy_${i} < i32(P.h); let rowBase_${i} = select(0u, (b * P.h + u32(iy_${i})) * P.w, okY_${i});`, "\n      ")}
      for (var ox = 0u; ox < P.ow; ox++) {
        ${each((i) => `let ix_${i} = i32(ox * P.strideW) + dx_${i}; let ok_${i} = okY_${i} && ix_${i} >= 0 && ix_${i} < i32(P.w); let a_${i} = select(0.0, bitcast<f32>(A[select(0u, (rowBase_${i} + u32(ix_${i})) * P.cin + ci_${i}, ok_${i})]), ok_${i});`, "\n        ")}
        let bo = k * P.N;
        ${loadB((j) => `bo + gn_${j}`)}
        ${fma}
        k++;
      }
    }
  }`;
  } else {
    body = `
  ${each((i) => `let p_${i} = min(m0 + ${i}u, P.M - 1u); let ix_${i} = i32(p_${i} % P.w); let iy_${i} = i32((p_${i} / P.w) % P.h); let b_row_${i} = p_${i} / (P.w * P.h);`)}
  for (var ky = 0u; ky < P.kh; ky++) {
    for (var kx = 0u; kx < P.kw; kx++) {
      ${each((i) => `let ty_${i} = iy_${i} + i32(P.padTop) - i32(ky * P.dilationH); let tx_${i} = ix_${i} + i32(P.padLeft) - i32(kx * P.dilationW);
      let oy_${i} = u32(max(ty_${i}, 0)) / P.strideH; let ox_${i} = u32(max(tx_${i}, 0)) / P.strideW;
      let ok_${i} = ty_${i} >= 0 && tx_${i} >= 0 && oy_${i} * P.strideH == u32(ty_${i}) && ox_${i} * P.strideW == u32(tx_${i}) && oy_${i} < P.oh && ox_${i} < P.ow;
      let go_${i} = select(0u, ((b_row_${i} * P.oh + oy_${i}) * P.ow + ox_${i}) * P.cout, ok_${i});`, "\n      ")}
      let tap = ky * P.kw + kx;
      ${each((j) => `let wo_${j} = (tap * P.cin + gn_${j}) * P.cout;`, " ")}
      for (var co = 0u; co < P.cout; co++) {
        ${each((i) => `let a_${i} = select(0.0, bitcast<f32>(A[go_${i} + co]), ok_${i});`, " ")}
        ${loadB((j) => `wo_${j} + co`)}
        ${fma}
      }
    }
  }`;
  }
  const stores = rows.flatMap((i) => rows.map((j) =>
    `if (m0 + ${i}u < P.M && n0 + ${j}u < P.N) { out[(m0 + ${i}u) * P.N + n0 + ${j}u] = bitcast<u32>(acc_${i}_${j}); }`)).join("\n  ");
  return /* wgsl */ `
struct Params { M: u32, N: u32, K: u32, aBatch: u32, bBatch: u32, transA: u32, transB: u32, batchBase: u32,
  n: u32, h: u32, w: u32, cin: u32, kh: u32, kw: u32, cout: u32, oh: u32, ow: u32, strideH: u32, strideW: u32,
  dilationH: u32, dilationW: u32, padTop: u32, padLeft: u32, pad0: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;
@group(0) @binding(2) var<storage, read> A: array<u32>;
@group(0) @binding(3) var<storage, read> B: array<u32>;
@compute @workgroup_size(${GEMM_WG}, ${GEMM_WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid3: vec3u) {
  // lavapipe runs 8 consecutive invocations (lid3.x) as one SIMD batch, and only a batch with no live lane
  // is skipped: with N under one tile (an input gradient's cin of 32, a forward's cout of 16) the x-lanes
  // past N would idle inside every batch, so then x walks M instead.
  let xWalksM = P.N < ${CONV_GEMM_TILE}u && P.M > P.N;
  let lm = select(lid3.y, lid3.x, xWalksM);
  let ln = select(lid3.x, lid3.y, xWalksM);
  let m0 = (wid.y * ${GEMM_WG}u + lm) * ${GEMM_PER}u;
  let n0 = (wid.x * ${GEMM_WG}u + ln) * ${GEMM_PER}u;
  // Invocations wholly past the output have nothing to do (no barriers here): with a small M or N (a
  // first layer's filter gradient is 9 × 16) most of the workgroup would otherwise run the whole K loop.
  if (m0 >= P.M || n0 >= P.N) { return; }
  // Edge invocations clamp their reads into range and skip the stores.
  ${each((j) => `let gn_${j} = min(n0 + ${j}u, P.N - 1u);`, " ")}
  ${rows.map((i) => each((j) => `var acc_${i}_${j} = 0.0;`, " ")).join("\n  ")}
  ${body}
  ${stores}
}`;
}
