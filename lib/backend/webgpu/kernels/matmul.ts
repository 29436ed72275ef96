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

export function matmulShader(dtype: DType): string {
  const T = scalarOf(dtype);
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
struct Params { M: u32, N: u32, K: u32, aBatch: u32, bBatch: u32, transA: u32, transB: u32, batchBase: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;
@group(0) @binding(2) var<storage, read> A: array<u32>;
@group(0) @binding(3) var<storage, read> B: array<u32>;
${PRELUDE}
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
  ${accDecl.join("\n  ")}
  for (var k0 = 0u; k0 < P.K; k0 += ${TK}u) {
    for (var l = 0u; l < ${(TK * MATMUL_TILE) / 256}u; l++) {
      let e = li + l * 256u;
      // Consecutive invocations read consecutive addresses whichever way each matrix is stored.
      var am = e / ${TK}u; var ak = e % ${TK}u;
      if (P.transA != 0u) { am = e % ${MATMUL_TILE}u; ak = e / ${MATMUL_TILE}u; }
      let gam = m0 + am; let gak = k0 + ak;
      var av: ${T} = ${zero};
      if (gam < P.M && gak < P.K) {
        let at = select(gam * P.K + gak, gak * P.M + gam, P.transA != 0u);
        av = ${load(dtype, T, "A[aBase + at]")};
      }
      As[ak * ${MATMUL_TILE}u + am] = av;
      var bn = e % ${MATMUL_TILE}u; var bk = e / ${MATMUL_TILE}u;
      if (P.transB != 0u) { bn = e / ${TK}u; bk = e % ${TK}u; }
      let gbn = n0 + bn; let gbk = k0 + bk;
      var bv: ${T} = ${zero};
      if (gbn < P.N && gbk < P.K) {
        let bt = select(gbk * P.N + gbn, gbn * P.K + gbk, P.transB != 0u);
        bv = ${load(dtype, T, "B[bBase + bt]")};
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
