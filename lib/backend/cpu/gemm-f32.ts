/**
 * Float32 GEMM entry point for the CPU backend: owns the WASM memory and module instance, stages the
 * operands in it, runs the kernels on this thread, and hands half the rows to a worker thread
 * (gemm-threads.ts) when the product is big enough to pay for the hand-off.
 * Two drivers: "direct" (operands copied row-major into the heap and read in place; best for the
 * small and skinny products of training) and "packed" (GotoBLAS panels; best for big square ones).
 * The same module and heap also carry the max-pooling kernels (pool-kernel.ts). The heap grows to the
 * largest product seen and is kept for reuse (WASM memories cannot shrink).
 */
import { DEFAULT_TILING, gemmBlocked, gemmDirect, gemmModuleBytes, packScratchFloats, type DirectFn, type GemmTiling, type MacroFn, type StridedMatrix } from "./gemm-kernel.js";
import { wasm, type WasmMemory, type WasmModule } from "./wasm-assembler.js";
import type { MaxPoolArgmaxRowFn, MaxPoolRowFn } from "./pool-kernel.js";
import { parallelGemm, startWorker, threadsAvailable } from "./gemm-threads.js";

const PAGE = 65536;
// 2 GiB: shared WASM memories must declare a maximum, and wasm32 addresses stop at 4 GiB.
export const MAX_PAGES = 32768;

export interface GemmRuntime {
  tiling: GemmTiling;
  memory: WasmMemory;
  module: WasmModule;
  macro: MacroFn;
  direct: DirectFn;
  directTransA: DirectFn;
  maxPoolRow: MaxPoolRowFn;
  maxPoolArgmaxRow: MaxPoolArgmaxRowFn;
  heap(): Float32Array;
  /** Makes the memory at least `floats` floats long. */
  ensure(floats: number): void;
}

let runtime: GemmRuntime | undefined;

export function gemmRuntime(): GemmRuntime {
  if (runtime) return runtime;
  const memory = new wasm.Memory({ initial: 16, maximum: MAX_PAGES, shared: true });
  // FMA through relaxed SIMD where the engine takes it (Node 20: --experimental-wasm-relaxed-simd; measured +30%),
  // else mul + add. DAWNET_CPU_FMA=0 forces mul + add.
  let tiling: GemmTiling = { ...DEFAULT_TILING, fma: process.env.DAWNET_CPU_FMA !== "0" };
  let module: WasmModule;
  try {
    module = new wasm.Module(gemmModuleBytes(tiling, true, MAX_PAGES));
  } catch {
    tiling = { ...DEFAULT_TILING, fma: false };
    module = new wasm.Module(gemmModuleBytes(tiling, true, MAX_PAGES));
  }
  const instance = new wasm.Instance(module, { env: { memory } });
  let view = new Float32Array(memory.buffer);
  runtime = {
    tiling, memory, module,
    macro: instance.exports.gemm_macro as MacroFn,
    direct: instance.exports.gemm_direct as DirectFn,
    directTransA: instance.exports.gemm_direct_ta as DirectFn,
    maxPoolRow: instance.exports.maxpool_row as MaxPoolRowFn,
    maxPoolArgmaxRow: instance.exports.maxpool_argmax_row as MaxPoolArgmaxRowFn,
    heap() {
      if (view.buffer.byteLength !== memory.buffer.byteLength) view = new Float32Array(memory.buffer);
      return view;
    },
    ensure(floats: number) {
      const bytes = floats * 4;
      const have = memory.buffer.byteLength;
      if (bytes <= have) return;
      const pages = Math.ceil((bytes - have) / PAGE);
      if (have / PAGE + pages > MAX_PAGES) {
        throw new RangeError(`matmul: needs ${(bytes / 2 ** 20).toFixed(0)} MiB of WASM scratch memory, more than the 2 GiB limit; split the product into smaller batches`);
      }
      memory.grow(pages);
    },
  };
  return runtime;
}

const roundUp = (x: number, m: number) => Math.ceil(x / m) * m;

/** Thresholds that pick the path (tests lower them to exercise every path on small shapes). */
export const gemmConfig = {
  /** Below this many multiply-adds a second thread costs more than it saves (hand-off ≈ 30 µs). */
  parallelMinMacs: 4e6,
  /** The packed driver wins once every dimension is large (measured at 1024³); direct wins at ≤ 256 and for skinny shapes. */
  packedMinDim: 512,
};

/** A matrix operand: a strided view of an array, or a writer that puts the rows×cols matrix row-major at `offset` of the heap. */
export type MatrixSource = StridedMatrix | ((heap: Float32Array, offset: number) => void);
/** Where C goes: row-major into `out` at `offset`, or a reader given C's heap offset and row stride (floats). */
export type MatrixSink = { out: Float32Array; offset: number } | ((heap: Float32Array, offset: number, ldc: number) => void);

/**
 * C = A · B (m×k times k×n) in float32, delivered to `sink`.
 * Transposed operands are strided views with swapped strides.
 */
export function gemmF32(A: MatrixSource, B: MatrixSource, m: number, k: number, n: number, sink: MatrixSink): void {
  if (m === 0 || n === 0) return;
  const rt = gemmRuntime();
  const t = rt.tiling;
  const ldc = roundUp(n, t.nr), rows = roundUp(m, t.mr);
  const scratch = packScratchFloats(t);
  const big = m * k * n >= gemmConfig.parallelMinMacs && m >= 2 * t.mr;
  if (big) startWorker(rt);
  const parallel = big && threadsAvailable();
  // Split rows at a micro-tile boundary so the two threads never touch the same C tile.
  const split = parallel ? roundUp(Math.ceil(m / 2), t.mr) : m;
  // Heap layout (floats): [pack scratch, main][pack scratch, worker][C][A][B].
  const cOff = 2 * scratch;
  const packed = typeof A !== "function" && typeof B !== "function" && m >= gemmConfig.packedMinDim && n >= gemmConfig.packedMinDim && k >= gemmConfig.packedMinDim;
  if (k === 0) {
    rt.ensure(cOff + rows * ldc);
    rt.heap().fill(0, cOff, cOff + rows * ldc);
  } else if (packed && !parallel) {
    // Single thread packs straight from the caller's arrays.
    rt.ensure(cOff + rows * ldc);
    const heap = rt.heap();
    gemmBlocked(t, rt.macro, heap, A as StridedMatrix, B as StridedMatrix, k, n, cOff, ldc, 0, m, 0);
  } else if (packed) {
    // The worker sees only the heap: copy each operand's span there, keeping its strides.
    const a = A as StridedMatrix, b = B as StridedMatrix;
    const aSpan = spanOf(a, m, k), bSpan = spanOf(b, k, n);
    const aOff = cOff + rows * ldc, bOff = aOff + aSpan.length;
    rt.ensure(bOff + bSpan.length);
    const heap = rt.heap();
    heap.set(a.data.subarray(aSpan.start, aSpan.start + aSpan.length), aOff);
    heap.set(b.data.subarray(bSpan.start, bSpan.start + bSpan.length), bOff);
    const sharedA = { data: heap, offset: aOff + a.offset - aSpan.start, rowStride: a.rowStride, colStride: a.colStride };
    const sharedB = { data: heap, offset: bOff + b.offset - bSpan.start, rowStride: b.rowStride, colStride: b.colStride };
    parallelGemm(
      { mode: 0, aOff: sharedA.offset, aRs: a.rowStride, aCs: a.colStride, bOff: sharedB.offset, bRs: b.rowStride, bCs: b.colStride, k, n, cOff, ldc, rowStart: split, rowEnd: m, scratch, blockRows: 0 },
      () => gemmBlocked(t, rt.macro, rt.heap(), sharedA, sharedB, k, n, cOff, ldc, 0, split, 0),
    );
  } else {
    // Direct: A row-major (k floats a row, mr−1 rows of slack) or, when the caller's A is a transpose of a
    // contiguous array, that array as is (Aᵀ, m floats a row); B row-major (n floats a row, nr floats of slack).
    const aTransposed = typeof A !== "function" && A.rowStride === 1 && A.colStride === m && m > 1;
    const aOff = cOff + rows * ldc, bOff = aOff + (m + t.mr) * k;
    rt.ensure(bOff + k * n + t.nr);
    if (aTransposed) stage(rt, { ...(A as StridedMatrix), rowStride: m, colStride: 1 }, k, m, aOff);
    else stage(rt, A, m, k, aOff);
    stage(rt, B, k, n, bOff);
    const heap = rt.heap();
    heap.fill(0, aOff + m * k, aOff + (m + t.mr) * k);
    heap.fill(0, bOff + k * n, bOff + k * n + t.nr);
    const lda = aTransposed ? m : k;
    const kernel = aTransposed ? rt.directTransA : rt.direct;
    if (parallel) {
      // Both threads take row blocks from a shared counter (at least ~8 blocks, so a busy core cannot stall the other).
      const blockRows = Math.min(t.mc, Math.max(t.mr, roundUp(Math.ceil(m / 8), t.mr)));
      parallelGemm(
        { mode: aTransposed ? 2 : 1, aOff, aRs: lda, aCs: 1, bOff, bRs: n, bCs: 1, k, n, cOff, ldc, rowStart: 0, rowEnd: m, scratch, blockRows },
        (claim) => gemmDirect(t, kernel, aOff, lda, bOff, n, k, n, cOff, ldc, 0, m, aTransposed, blockRows, claim),
      );
    } else gemmDirect(t, kernel, aOff, lda, bOff, n, k, n, cOff, ldc, 0, m, aTransposed);
  }
  const heap = rt.heap();
  if (typeof sink === "function") sink(heap, cOff, ldc);
  else if (ldc === n) sink.out.set(heap.subarray(cOff, cOff + m * n), sink.offset);
  else for (let i = 0; i < m; i++) sink.out.set(heap.subarray(cOff + i * ldc, cOff + i * ldc + n), sink.offset + i * n);
}

/** Writes a rows×cols operand row-major at heap[offset...]. */
function stage(rt: GemmRuntime, src: MatrixSource, rows: number, cols: number, offset: number): void {
  if (typeof src === "function") return src(rt.heap(), offset);
  const heap = rt.heap();
  const { data, offset: o, rowStride: rs, colStride: cs } = src;
  if (cs === 1 && rs === cols) {
    heap.set(data.subarray(o, o + rows * cols), offset);
  } else if (cs === 1) {
    for (let i = 0; i < rows; i++) heap.set(data.subarray(o + i * rs, o + i * rs + cols), offset + i * cols);
  } else {
    // Transposed source: read each source row (a column here) contiguously.
    for (let j = 0; j < cols; j++) {
      let s = o + j * cs, d = offset + j;
      for (let i = 0; i < rows; i++, s += rs, d += cols) heap[d] = data[s];
    }
  }
}

/** The contiguous range of `data` a strided rows×cols matrix touches. */
function spanOf(M: StridedMatrix, rows: number, cols: number): { start: number; length: number } {
  const last = M.offset + (rows - 1) * M.rowStride + (cols - 1) * M.colStride;
  return { start: M.offset, length: last - M.offset + 1 };
}
