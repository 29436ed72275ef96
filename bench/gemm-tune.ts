/** Tries micro-tile and cache-block shapes for the WASM GEMM: node dist/bench/gemm-tune.js [size] */
import { DEFAULT_TILING, gemmBlocked, gemmModuleBytes, packScratchFloats, type GemmTiling, type MacroFn } from "../lib/backend/cpu/gemm-kernel.js";
import { wasm } from "../lib/backend/cpu/wasm-assembler.js";

const size = Number(process.argv[2] ?? 1024);
const only = process.argv[3] ? [JSON.parse(process.argv[3]) as Partial<GemmTiling>] : undefined;
const variants: Partial<GemmTiling>[] = [
  {}, { mr: 5 }, { mr: 6 }, { mr: 3, nr: 12 }, { mr: 2, nr: 16 }, { mr: 4, nr: 12 }, { mr: 3, nr: 16 }, { mr: 2, nr: 24 }, { unroll: 2 },
  { kc: 128 }, { kc: 512 }, { mc: 128 }, { mc: 32 }, { nc: 256 }, { nc: 4096 },
];
const m = size, k = size, n = size;
const a = new Float32Array(m * k).map(() => Math.random() - 0.5);
const b = new Float32Array(k * n).map(() => Math.random() - 0.5);
for (const v of only ?? variants) {
  const t = { ...DEFAULT_TILING, ...v };
  if (t.mc % t.mr) t.mc = Math.ceil(t.mc / t.mr) * t.mr;
  const memory = new wasm.Memory({ initial: 1, maximum: 32768, shared: true });
  const inst = new wasm.Instance(new wasm.Module(gemmModuleBytes(t, true, 32768)), { env: { memory } });
  const macro = inst.exports.gemm_macro as MacroFn;
  const ldc = Math.ceil(n / t.nr) * t.nr, rows = Math.ceil(m / t.mr) * t.mr;
  const scratch = packScratchFloats(t);
  memory.grow(Math.ceil(((scratch + rows * ldc) * 4) / 65536));
  const heap = new Float32Array(memory.buffer);
  const run = () => {
    heap.fill(0, scratch, scratch + rows * ldc);
    gemmBlocked(t, macro, heap, { data: a, offset: 0, rowStride: k, colStride: 1 }, { data: b, offset: 0, rowStride: n, colStride: 1 }, k, n, scratch, ldc, 0, m, 0);
  };
  run();
  let best = Infinity;
  for (let r = 0; r < 3; r++) { const t0 = performance.now(); run(); best = Math.min(best, performance.now() - t0); }
  // spot check one element
  let s = 0; for (let p = 0; p < k; p++) s += a[7 * k + p] * b[p * n + 5];
  const err = Math.abs(heap[scratch + 7 * ldc + 5] - s);
  console.log(JSON.stringify({ ...v }), `${((2 * m * n * k) / best / 1e6).toFixed(1)} GFLOP/s`, err < 1e-3 ? "ok" : `WRONG ${err}`);
}
