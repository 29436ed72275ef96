/**
 * Kernels on a tensor past maxStorageBufferBindingSize (lib/backend/webgpu/chunked.ts): MNIST's training set as
 * one float32 tensor (60000 × 784, 188 MB) reduced, pooled and multiplied, against the same work as two half-size calls
 * on the ordinary path and against the cpu backend, alternated in one process (the machine is shared). One JSON
 * line per case and implementation: median ms of the rounds after the first.
 *
 *   node dist/bench/webgpu-chunked.js
 *   WEBGPU_BENCH_ROUNDS=5       alternations per case
 */
import type { Backend, Buf } from "../lib/backend/backend.js";
import { dawnetCpu, dawnetWebGPU, emit, randomFloats } from "./webgpu-peers.js";

const rounds = Number(process.env.WEBGPU_BENCH_ROUNDS) || 5;
const gpu = await dawnetWebGPU();
if (!gpu) process.exit(0);
const cpu = dawnetCpu();
const limit = (gpu as unknown as { maxBindingBytes: number }).maxBindingBytes;

const rows = 60000, cols = 784, classes = 10, half = rows / 2;
if (rows * cols * 4 <= limit) console.error(`this adapter binds ${limit} bytes at once: the 188 MB tensor takes the ordinary path`);
const data = randomFloats(rows * cols);
const plain = { batch: 1, aBatchStride: 0, bBatchStride: 0, transA: false, transB: false };
const pool = (n: number) => ({ n, h: 28, w: 28, c: 1, kh: 2, kw: 2, oh: 14, ow: 14, strideH: 2, strideW: 2, padTop: 0, padLeft: 0 });

interface Inputs { x: Buf; halves: [Buf, Buf]; w: Buf; dy: Buf; dyHalf: Buf }
function inputs(b: Backend): Inputs {
  return {
    x: b.upload(data, "float32"),
    halves: [b.upload(data.subarray(0, half * cols), "float32"), b.upload(data.subarray(half * cols), "float32")],
    w: b.upload(randomFloats(cols * classes, 2), "float32"),
    dy: b.upload(randomFloats(rows * classes, 3), "float32"),
    dyHalf: b.upload(randomFloats(half * classes, 3), "float32"),
  };
}
const on = { gpu: inputs(gpu), cpu: inputs(cpu) };

/** Each case: the whole tensor in one call, and the same work split in two calls of half the rows. */
const cases: { name: string; whole: (b: Backend, t: Inputs) => Buf[]; halves: (b: Backend, t: Inputs) => Buf[] }[] = [
  { name: "sum over rows", whole: (b, t) => [b.reduce("sum", t.x, "float32", 1, rows, cols)], halves: (b, t) => t.halves.map((h) => b.reduce("sum", h, "float32", 1, half, cols)) },
  { name: "sum over columns", whole: (b, t) => [b.reduce("sum", t.x, "float32", rows, cols, 1)], halves: (b, t) => t.halves.map((h) => b.reduce("sum", h, "float32", half, cols, 1)) },
  { name: "argmax over columns", whole: (b, t) => [b.reduce("argmax", t.x, "float32", rows, cols, 1)], halves: (b, t) => t.halves.map((h) => b.reduce("argmax", h, "float32", half, cols, 1)) },
  {
    name: "2x2 max pool [60000, 28, 28, 1]",
    whole: (b, t) => [b.pool2d("max", t.x, "float32", pool(rows))],
    halves: (b, t) => t.halves.map((h) => b.pool2d("max", h, "float32", pool(half))),
  },
  {
    name: "x @ w [784, 10]",
    whole: (b, t) => [b.matmul(t.x, t.w, "float32", { ...plain, m: rows, k: cols, n: classes })],
    halves: (b, t) => t.halves.map((h) => b.matmul(h, t.w, "float32", { ...plain, m: half, k: cols, n: classes })),
  },
  {
    name: "xT @ dy [60000, 10]",
    whole: (b, t) => [b.matmul(t.x, t.dy, "float32", { ...plain, m: cols, k: rows, n: classes, transA: true })],
    halves: (b, t) => t.halves.map((h) => b.matmul(h, t.dyHalf, "float32", { ...plain, m: cols, k: half, n: classes, transA: true })),
  },
];

async function timeMs(b: Backend, fn: () => Buf[]): Promise<number> {
  const start = performance.now();
  const outs = fn();
  await b.sync();
  const ms = performance.now() - start;
  for (const o of outs) b.free(o);
  return ms;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
await gpu.sync();
for (const c of cases) {
  const times: Record<string, number[]> = { "dawnet-webgpu chunked (one 188 MB call)": [], "dawnet-webgpu ordinary path (two 94 MB calls)": [], "dawnet-cpu": [] };
  for (let round = 0; round < rounds; round++) {
    const t = [
      await timeMs(gpu, () => c.whole(gpu, on.gpu)),
      await timeMs(gpu, () => c.halves(gpu, on.gpu)),
      await timeMs(cpu, () => c.whole(cpu, on.cpu)),
    ];
    if (round === 0) continue; // shader compilation, first allocations
    Object.values(times).forEach((list, k) => list.push(t[k]));
  }
  for (const [impl, list] of Object.entries(times)) emit({ bench: "webgpu-chunked", case: c.name, impl, ms: Math.round(median(list)) });
}
process.exit(0);
