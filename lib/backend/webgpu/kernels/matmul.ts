/**
 * Tiled batched matmul: a 16×16 workgroup computes a 64×64 output tile, 4×4 outputs per invocation,
 * staging 64×16 slices of A and B in workgroup memory. transA/transB, batch strides (0 = broadcast)
 * and sizes are uniforms, so one shader per dtype serves every shape.
 */
import type { DType } from "../../../dtype.js";
import { PRELUDE, load, scalarOf, store } from "./wgsl.js";

export const MATMUL_TILE = 64;
const TK = 16;
const PER = 4; // outputs per invocation along each axis

/** Shape of the tiled kernel: `per`×`per` outputs per invocation of a 16×16 workgroup (tile 16·per), K steps of `tk`. */
export interface TiledShape { per: number; tk: number }
export const DEFAULT_TILED: TiledShape = { per: PER, tk: TK };

/**
 * What the A operand is. "matrix": a stored matrix (transA picks [M,K] or [K,M]). The conv variants are
 * implicit GEMMs over im2col of the NHWC input, never materialized: "conv" (forward: A[pos, tap] with
 * pos = (b, oy, ox), tap = (ky, kx, ci), B = filter [taps, cout]) and "convFilterGrad" (A[tap, pos],
 * B = dy [pos, cout], giving dw [taps, cout]) and "convInputGrad" (A[input pos, (tap, co)] = dy at the
 * output position that tap reaches, or 0; B[(tap, co), ci] = w[tap, ci, co]; giving dx [input pos, cin]).
 */
export type MatmulA = "matrix" | "conv" | "convFilterGrad" | "convInputGrad";

/**
 * Conv sizes after the 8 matmul words in the uniforms. kSplit (tiled kernel only): when non-zero, the
 * GEMM's K is split into slices of kSplit, one per batch index (both batch strides 0), and each slice
 * writes its partial product to its own [M, N] block for a sum afterwards (split-K: a filter gradient
 * has a few output tiles and a K of n·oh·ow, which left most of a GPU idle).
 */
const CONV_FIELDS = "n: u32, h: u32, w: u32, cin: u32, kh: u32, kw: u32, cout: u32, oh: u32, ow: u32, strideH: u32, strideW: u32, dilationH: u32, dilationW: u32, padTop: u32, padLeft: u32, kSplit: u32";

const IM2COL = /* wgsl */ `
fn im2col(pos: u32, tap: u32) -> f32 {
  let ci = tap % P.cin;
  let kx = (tap / P.cin) % P.kw;
  let ky = tap / (P.cin * P.kw);
  let ox = pos % P.ow;
  let oy = (pos / P.ow) % P.oh;
  let b = pos / (P.ow * P.oh);
  let iy = i32(oy * P.strideH + ky * P.dilationH) - i32(P.padTop);
  let ix = i32(ox * P.strideW + kx * P.dilationW) - i32(P.padLeft);
  if (iy < 0 || iy >= i32(P.h) || ix < 0 || ix >= i32(P.w)) { return 0.0; }
  return bitcast<f32>(A[((b * P.h + u32(iy)) * P.w + u32(ix)) * P.cin + ci]);
}`;

/** dy read as the A operand of the input gradient: the output position input `pos` sees through tap (ky, kx). */
const COL2IM = /* wgsl */ `
fn dyAt(pos: u32, kk: u32) -> f32 {
  let co = kk % P.cout;
  let tap = kk / P.cout;
  let kx = tap % P.kw;
  let ky = tap / P.kw;
  let ix = pos % P.w;
  let iy = (pos / P.w) % P.h;
  let b = pos / (P.w * P.h);
  let ty = i32(iy) + i32(P.padTop) - i32(ky * P.dilationH);
  let tx = i32(ix) + i32(P.padLeft) - i32(kx * P.dilationW);
  if (ty < 0 || tx < 0 || ty % i32(P.strideH) != 0 || tx % i32(P.strideW) != 0) { return 0.0; }
  let oy = u32(ty) / P.strideH;
  let ox = u32(tx) / P.strideW;
  if (oy >= P.oh || ox >= P.ow) { return 0.0; }
  return bitcast<f32>(A[((b * P.oh + oy) * P.ow + ox) * P.cout + co]);
}
fn filterT(kk: u32, ci: u32) -> f32 {
  return bitcast<f32>(B[((kk / P.cout) * P.cin + ci) * P.cout + kk % P.cout]);
}`;

function convHelpers(aKind: MatmulA): string {
  return aKind === "matrix" ? "" : aKind === "convInputGrad" ? COL2IM : IM2COL;
}

export function matmulShader(dtype: DType, aKind: MatmulA = "matrix", shape: TiledShape = DEFAULT_TILED): string {
  const { per: PER, tk: TK } = shape;
  const MATMUL_TILE = 16 * PER;
  if ((TK * MATMUL_TILE) % 256 !== 0) throw new Error(`matmulShader: tk·tile = ${TK}·${MATMUL_TILE} must be a multiple of 256`);
  const T = scalarOf(dtype);
  if (aKind !== "matrix" && T !== "f32") throw new Error(`webgpu conv: float32 only (got ${dtype})`);
  // In the im2col of NHWC, consecutive taps (forward) or consecutive filter rows (filter grad) are adjacent in memory.
  const aMFastest = aKind === "matrix" ? "P.transA != 0u" : aKind === "conv" ? "false" : "true";
  const aLoad =
    aKind === "matrix"
      ? `let at = select(gam * P.K + gak, gak * P.M + gam, P.transA != 0u);
        av = ${load(dtype, T, "A[aBase + at]")};`
      : aKind === "conv"
        ? "av = im2col(gam, gak);"
        : aKind === "convFilterGrad"
          ? "av = im2col(gak, gam);"
          : "av = dyAt(gam, gak);";
  const bKFastest = aKind === "convInputGrad" ? "true" : "P.transB != 0u";
  const bLoad =
    aKind === "convInputGrad"
      ? "bv = filterT(gbk, gbn);"
      : `let bt = select(gbk * P.N + gbn, gbn * P.K + gbk, P.transB != 0u);
        bv = ${load(dtype, T, "B[bBase + bt]")};`;
  const zero = T === "f32" ? "0.0" : "0";
  const accDecl: string[] = [];
  const fma: string[] = [];
  const stores: string[] = [];
  for (let i = 0; i < PER; i++)
    for (let j = 0; j < PER; j++) {
      accDecl.push(`var acc_${i}_${j}: ${T} = ${zero};`);
      fma.push(`acc_${i}_${j} = acc_${i}_${j} + a_${i} * b_${j};`);
      stores.push(`if (gm_${i} < P.M && gn_${j} < P.N) { out[cBase + gm_${i} * P.N + gn_${j}] = ${store(dtype, T, `acc_${i}_${j}`)}; }`);
    }
  const readA = Array.from({ length: PER }, (_, i) => `let a_${i} = As[kk * ${MATMUL_TILE}u + ty + ${16 * i}u];`).join(" ");
  const readB = Array.from({ length: PER }, (_, j) => `let b_${j} = Bs[kk * ${MATMUL_TILE}u + tx + ${16 * j}u];`).join(" ");
  const rows = Array.from({ length: PER }, (_, i) => `let gm_${i} = m0 + ty + ${16 * i}u;`).join(" ");
  const cols = Array.from({ length: PER }, (_, j) => `let gn_${j} = n0 + tx + ${16 * j}u;`).join(" ");
  return /* wgsl */ `
struct Params { M: u32, N: u32, K: u32, aBatch: u32, bBatch: u32, transA: u32, transB: u32, batchBase: u32${aKind === "matrix" ? "" : `, ${CONV_FIELDS}`} }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;
@group(0) @binding(2) var<storage, read> A: array<u32>;
@group(0) @binding(3) var<storage, read> B: array<u32>;
${PRELUDE}
${convHelpers(aKind)}
var<workgroup> As: array<${T}, ${TK * MATMUL_TILE}>;
var<workgroup> Bs: array<${T}, ${TK * MATMUL_TILE}>;
@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid3: vec3u, @builtin(local_invocation_index) li: u32) {
  let batch = wid.z + P.batchBase;
  let aBase = batch * P.aBatch;
  let bBase = batch * P.bBatch;
  let cBase = batch * P.M * P.N;
  let m0 = wid.y * ${MATMUL_TILE}u;
  let n0 = wid.x * ${MATMUL_TILE}u;
  let tx = lid3.x;
  let ty = lid3.y;
  ${aKind === "matrix" ? "let kBegin = 0u; let kEnd = P.K;" : "let kBegin = select(0u, batch * P.kSplit, P.kSplit != 0u); let kEnd = select(P.K, min(P.K, kBegin + P.kSplit), P.kSplit != 0u);"}
  ${accDecl.join("\n  ")}
  for (var k0 = kBegin; k0 < kEnd; k0 += ${TK}u) {
    for (var l = 0u; l < ${(TK * MATMUL_TILE) / 256}u; l++) {
      let e = li + l * 256u;
      // Consecutive invocations read consecutive addresses whichever way each matrix is stored.
      var am = e / ${TK}u; var ak = e % ${TK}u;
      if (${aMFastest}) { am = e % ${MATMUL_TILE}u; ak = e / ${MATMUL_TILE}u; }
      let gam = m0 + am; let gak = k0 + ak;
      var av: ${T} = ${zero};
      if (gam < P.M && gak < kEnd) {
        ${aLoad}
      }
      As[ak * ${MATMUL_TILE}u + am] = av;
      var bn = e % ${MATMUL_TILE}u; var bk = e / ${MATMUL_TILE}u;
      if (${bKFastest}) { bn = e / ${TK}u; bk = e % ${TK}u; }
      let gbn = n0 + bn; let gbk = k0 + bk;
      var bv: ${T} = ${zero};
      if (gbn < P.N && gbk < kEnd) {
        ${bLoad}
      }
      Bs[bk * ${MATMUL_TILE}u + bn] = bv;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < ${TK}u; kk++) {
      ${readA}
      ${readB}
      ${fma.join("\n      ")}
    }
    workgroupBarrier();
  }
  ${rows}
  ${cols}
  ${stores.join("\n  ")}
}`;
}

/** Outputs per invocation along each axis, and invocations per workgroup side, of the register-blocked kernel. */
const DIRECT_PER = 8;
const DIRECT_WG = 8;
export const MATMUL_DIRECT_TILE = DIRECT_PER * DIRECT_WG;

/**
 * Register-blocked matmul without workgroup memory: each invocation reads its 8 rows of A and 8 columns of
 * B straight from storage and keeps 8×8 accumulators. On software adapters (lavapipe runs invocations as
 * CPU SIMD lanes, barriers are costly and caches do the tiling) this measured ~4× faster than the tiled
 * kernel; real GPUs get the tiled one. Same uniforms and bindings as `matmulShader` (plain matrices: the
 * implicit-GEMM convs of software adapters are conv.ts's `convGemmShader`).
 */
export function matmulDirectShader(dtype: DType): string {
  const T = scalarOf(dtype);
  const zero = T === "f32" ? "0.0" : "0";
  const lines: string[] = [];
  const rows = Array.from({ length: DIRECT_PER }, (_, i) => i);
  // Edge invocations clamp their reads into range and skip the stores.
  for (const i of rows) lines.push(`let gm_${i} = min(m0 + ${i}u, P.M - 1u); let gn_${i} = min(n0 + ${i}u, P.N - 1u);`);
  for (const i of rows) for (const j of rows) lines.push(`var acc_${i}_${j}: ${T} = ${zero};`);
  const aRead = (i: number) => load(dtype, T, `A[aBase + select(gm_${i} * P.K + k, k * P.M + gm_${i}, P.transA != 0u)]`);
  const bRead = (j: number) => load(dtype, T, `B[bBase + select(k * P.N + gn_${j}, gn_${j} * P.K + k, P.transB != 0u)]`);
  const body: string[] = [];
  for (const i of rows) body.push(`let a_${i} = ${aRead(i)};`);
  for (const j of rows) body.push(`let b_${j} = ${bRead(j)};`);
  for (const i of rows) for (const j of rows) body.push(`acc_${i}_${j} = acc_${i}_${j} + a_${i} * b_${j};`);
  const stores: string[] = [];
  for (const i of rows)
    for (const j of rows)
      stores.push(`if (m0 + ${i}u < P.M && n0 + ${j}u < P.N) { out[cBase + (m0 + ${i}u) * P.N + n0 + ${j}u] = ${store(dtype, T, `acc_${i}_${j}`)}; }`);
  return /* wgsl */ `
struct Params { M: u32, N: u32, K: u32, aBatch: u32, bBatch: u32, transA: u32, transB: u32, batchBase: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;
@group(0) @binding(2) var<storage, read> A: array<u32>;
@group(0) @binding(3) var<storage, read> B: array<u32>;
${PRELUDE}
@compute @workgroup_size(${DIRECT_WG}, ${DIRECT_WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid3: vec3u) {
  let batch = wid.z + P.batchBase;
  let aBase = batch * P.aBatch;
  let bBase = batch * P.bBatch;
  let cBase = batch * P.M * P.N;
  let m0 = (wid.y * ${DIRECT_WG}u + lid3.y) * ${DIRECT_PER}u;
  let n0 = (wid.x * ${DIRECT_WG}u + lid3.x) * ${DIRECT_PER}u;
  // Edge invocations with nothing to store leave at once (lavapipe runs them: [32,784]@[784,128] 2.6 -> 1.1 ms).
  if (m0 >= P.M || n0 >= P.N) { return; }
  ${lines.join("\n  ")}
  for (var k = 0u; k < P.K; k++) {
    ${body.join("\n    ")}
  }
  ${stores.join("\n  ")}
}`;
}
