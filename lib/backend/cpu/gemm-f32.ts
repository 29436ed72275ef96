/**
 * Float32 GEMM entry point for the CPU backend: owns the WASM memory and module instance, runs the
 * blocked driver on this thread, and hands half the rows to a worker thread (gemm-threads.ts) when the
 * product is big enough to pay for the hand-off.
 */
import { DEFAULT_TILING, gemmBlocked, gemmModuleBytes, packScratchFloats, type GemmTiling, type MacroFn, type StridedMatrix } from "./gemm-kernel.js";
import { wasm, type WasmMemory, type WasmModule } from "./wasm-assembler.js";
import { parallelGemm, startWorker, threadsAvailable } from "./gemm-threads.js";

const PAGE = 65536;
// 2 GiB: shared WASM memories must declare a maximum, and wasm32 addresses stop at 4 GiB.
export const MAX_PAGES = 32768;

export interface GemmRuntime {
  tiling: GemmTiling;
  memory: WasmMemory;
  module: WasmModule;
  macro: MacroFn;
  heap(): Float32Array;
  /** Makes the memory at least `floats` floats long. */
  ensure(floats: number): void;
}

let runtime: GemmRuntime | undefined;

export function gemmRuntime(): GemmRuntime {
  if (runtime) return runtime;
  const tiling = DEFAULT_TILING;
  const memory = new wasm.Memory({ initial: 16, maximum: MAX_PAGES, shared: true });
  const module = new wasm.Module(gemmModuleBytes(tiling, true, MAX_PAGES));
  const instance = new wasm.Instance(module, { env: { memory } });
  let view = new Float32Array(memory.buffer);
  runtime = {
    tiling, memory, module,
    macro: instance.exports.gemm_macro as MacroFn,
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

// Below this many multiply-adds a second thread costs more than it saves (measured hand-off ≈ 30 µs).
export const PARALLEL_MIN_MACS = 4e6;

/**
 * out[outOffset + i*n + j] = Σ_p A(i,p) B(p,j) for i < m, j < n, computed in float32.
 * A and B are strided views of any Float32Arrays (transposition is just swapped strides).
 */
export function gemmF32(A: StridedMatrix, B: StridedMatrix, m: number, k: number, n: number, out: Float32Array, outOffset: number): void {
  if (m === 0 || n === 0) return;
  if (k === 0) {
    out.fill(0, outOffset, outOffset + m * n);
    return;
  }
  const rt = gemmRuntime();
  const t = rt.tiling;
  const ldc = roundUp(n, t.nr), rows = roundUp(m, t.mr);
  const scratch = packScratchFloats(t);
  const big = m * k * n >= PARALLEL_MIN_MACS && m >= 2 * t.mr;
  if (big) startWorker(rt);
  const parallel = big && threadsAvailable();
  // Layout (floats): [scratch main][scratch worker][C][A copy][B copy]; copies only for the worker.
  const cOff = 2 * scratch;
  let end = cOff + rows * ldc;
  if (!parallel) {
    rt.ensure(end);
    const heap = rt.heap();
    heap.fill(0, cOff, end);
    gemmBlocked(t, rt.macro, heap, A, B, k, n, cOff, ldc, 0, m, 0);
  } else {
    // The worker can only see the shared memory: copy each operand's span there, keeping its strides.
    const aSpan = spanOf(A, m, k), bSpan = spanOf(B, k, n);
    const aOff = end, bOff = aOff + aSpan.length;
    end = bOff + bSpan.length;
    rt.ensure(end);
    const heap = rt.heap();
    heap.set(A.data.subarray(aSpan.start, aSpan.start + aSpan.length), aOff);
    heap.set(B.data.subarray(bSpan.start, bSpan.start + bSpan.length), bOff);
    heap.fill(0, cOff, cOff + rows * ldc);
    const sharedA = { data: heap, offset: aOff + A.offset - aSpan.start, rowStride: A.rowStride, colStride: A.colStride };
    const sharedB = { data: heap, offset: bOff + B.offset - bSpan.start, rowStride: B.rowStride, colStride: B.colStride };
    // Split rows at a micro-tile boundary so the two threads never touch the same C tile.
    const split = roundUp(Math.ceil(m / 2), t.mr);
    parallelGemm(sharedA, sharedB, k, n, cOff, ldc, split, m, scratch, () => {
      gemmBlocked(t, rt.macro, rt.heap(), sharedA, sharedB, k, n, cOff, ldc, 0, split, 0);
    });
  }
  const heap = rt.heap();
  if (ldc === n) out.set(heap.subarray(cOff, cOff + m * n), outOffset);
  else for (let i = 0; i < m; i++) out.set(heap.subarray(cOff + i * ldc, cOff + i * ldc + n), outOffset + i * n);
}

/** The contiguous range of `data` a strided rows×cols matrix touches. */
function spanOf(M: StridedMatrix, rows: number, cols: number): { start: number; length: number } {
  const last = M.offset + (rows - 1) * M.rowStride + (cols - 1) * M.colStride;
  return { start: M.offset, length: last - M.offset + 1 };
}
