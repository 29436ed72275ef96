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

/** dx[b, iy, ix, ci] = Σ over (ky, kx) hitting an output position and co of dy · w; in0 = dy, in1 = w. */
export const CONV2D_GRAD_INPUT_SHADER = /* wgsl */ `${CONV_PARAMS}
@compute @workgroup_size(${CONV_WORKGROUP})
fn main(${ENTRY_BUILTINS}) {
  let e = ${LINEAR_GROUP} * ${CONV_WORKGROUP}u + lid;
  if (e >= P.n * P.h * P.w * P.cin) { return; }
  let ci = e % P.cin;
  let ix = i32((e / P.cin) % P.w);
  let iy = i32((e / (P.cin * P.w)) % P.h);
  let b = e / (P.cin * P.w * P.h);
  var acc = 0.0;
  for (var ky = 0u; ky < P.kh; ky++) {
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
      let wo = ((ky * P.kw + kx) * P.cin + ci) * P.cout;
      for (var co = 0u; co < P.cout; co++) { acc = acc + in0[go + co] * in1[wo + co]; }
    }
  }
  out[e] = acc;
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

export const POOL2D_SHADER = /* wgsl */ `${POOL_PARAMS}
${PRELUDE}
${WINDOW}
@compute @workgroup_size(${CONV_WORKGROUP})
fn main(${ENTRY_BUILTINS}) {
  let e = ${LINEAR_GROUP} * ${CONV_WORKGROUP}u + lid;
  if (e >= P.n * P.oh * P.ow * P.c) { return; }
  let ch = e % P.c;
  let ox = (e / P.c) % P.ow;
  let oy = (e / (P.c * P.ow)) % P.oh;
  let b = e / (P.c * P.ow * P.oh);
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
  out[e] = acc;
}`;

/** One invocation per input element: sums the gradient of every window that contains it. */
export const POOL2D_GRAD_SHADER = /* wgsl */ `${POOL_PARAMS}
@group(0) @binding(3) var<storage, read> dy: array<f32>;
${PRELUDE}
${WINDOW}
@compute @workgroup_size(${CONV_WORKGROUP})
fn main(${ENTRY_BUILTINS}) {
  let e = ${LINEAR_GROUP} * ${CONV_WORKGROUP}u + lid;
  if (e >= P.n * P.h * P.w * P.c) { return; }
  let ch = e % P.c;
  let ix = i32((e / P.c) % P.w);
  let iy = i32((e / (P.c * P.w)) % P.h);
  let b = e / (P.c * P.w * P.h);
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
  out[e] = acc;
}`;
