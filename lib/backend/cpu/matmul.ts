/** CPU matmul kernels: float32 through the WASM SIMD GEMM (gemm-f32.ts), float64/int32 through plain loops. */
import type { MatmulParams } from "../backend.js";
import { gemmF32 } from "./gemm-f32.js";
import type { StridedMatrix } from "./gemm-kernel.js";

type Arr = Float32Array | Float64Array | Int32Array;

// Below this many multiply-adds the plain loop beats staging + WASM entry (measured: 0.5 µs vs 0.8 µs at 256, 4.7 µs vs 1.1 µs at 2048).
const SMALL_MACS = 512;

/** out[b] = op(a[b]) @ op(b[b]), row-major; every element of out is written. */
export function matmulCpu(a: Arr, b: Arr, out: Arr, p: MatmulParams): void {
  const { m, k, n } = p;
  if (a instanceof Float32Array && b instanceof Float32Array && out instanceof Float32Array && m * k * n > SMALL_MACS) {
    matmulF32(a, b, out, p);
    return;
  }
  matmulLoops(a, b, out, p);
}

function matmulF32(a: Float32Array, b: Float32Array, out: Float32Array, p: MatmulParams): void {
  const { batch, m, k, n, aBatchStride, bBatchStride, transA, transB } = p;
  for (let bi = 0; bi < batch; bi++) {
    const A: StridedMatrix = { data: a, offset: bi * aBatchStride, rowStride: transA ? 1 : k, colStride: transA ? m : 1 };
    const B: StridedMatrix = { data: b, offset: bi * bBatchStride, rowStride: transB ? 1 : n, colStride: transB ? k : 1 };
    gemmF32(A, B, m, k, n, { out, offset: bi * m * n });
  }
}

/** Straight loops accumulating in float64: the float64 (gradcheck) and int32 path, and tiny float32 products. */
function matmulLoops(a: Arr, b: Arr, out: Arr, p: MatmulParams): void {
  const { batch, m, k, n, aBatchStride, bBatchStride, transA, transB } = p;
  const row = new Float64Array(n);
  for (let bi = 0; bi < batch; bi++) {
    const ao = bi * aBatchStride, bo = bi * bBatchStride, oo = bi * m * n;
    for (let i = 0; i < m; i++) {
      row.fill(0);
      for (let q = 0; q < k; q++) {
        const av = transA ? a[ao + q * m + i] : a[ao + i * k + q];
        if (transB) for (let j = 0, bj = bo + q; j < n; j++, bj += k) row[j] += av * b[bj];
        else {
          const bq = bo + q * n;
          for (let j = 0; j < n; j++) row[j] += av * b[bq + j];
        }
      }
      for (let j = 0; j < n; j++) out[oo + i * n + j] = row[j];
    }
  }
}
