/**
 * Square float32 matmul GFLOP/s: dawnet webgpu vs dawnet cpu vs TensorFlow.js webgpu on the same Dawn.
 * "readback" times one product plus reading C back; "pipelined" queues `chain` products and reads once.
 *
 *   node dist/bench/webgpu-matmul.js [sizes...]      (default 256 512 1024; 4096 on a real GPU)
 *   WEBGPU_BENCH_BUDGET_MS=2000                       time budget per measurement
 */
import { bestMs, dawnetCpu, dawnetWebGPU, emit, randomFloats, tfjsWebGPU } from "./webgpu-peers.js";
import type { Backend, MatmulParams } from "../lib/backend/backend.js";

const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0);
if (sizes.length === 0) sizes.push(256, 512, 1024);
const budget = Number(process.env.WEBGPU_BENCH_BUDGET_MS) || 1500;

async function dawnetMatmul(b: Backend, n: number, chain: number): Promise<number> {
  const a = b.upload(randomFloats(n * n, 1), "float32");
  const bb = b.upload(randomFloats(n * n, 2), "float32");
  const p: MatmulParams = { batch: 1, m: n, k: n, n, aBatchStride: 0, bBatchStride: 0, transA: false, transB: false };
  const ms = await bestMs(async () => {
    const outs = [];
    for (let i = 0; i < chain; i++) outs.push(b.matmul(a, bb, "float32", p));
    await b.read(outs[outs.length - 1], "float32", 1);
    for (const o of outs) b.free(o);
  }, budget, 2);
  b.free(a);
  b.free(bb);
  return (chain * 2 * n ** 3) / ms / 1e6;
}

const gpu = await dawnetWebGPU();
const cpu = dawnetCpu();
const tf = await tfjsWebGPU();
const device = gpu && "adapterDescription" in gpu ? String((gpu as { adapterDescription: string }).adapterDescription) : "none";

for (const n of sizes) {
  const chain = n <= 512 ? 8 : 3;
  const row = (impl: string, mode: string, gflops: number) =>
    emit({ bench: "matmul", size: n, impl, mode, value: Number(gflops.toFixed(2)), unit: "GFLOP/s", higherIsBetter: true, device });
  if (gpu) {
    row("dawnet-webgpu", "readback", await dawnetMatmul(gpu, n, 1));
    row("dawnet-webgpu", `pipelined x${chain}`, await dawnetMatmul(gpu, n, chain));
  }
  if (n <= 2048) row("dawnet-cpu", "readback", await dawnetMatmul(cpu, n, 1));
  if (tf) {
    const a = tf.tensor2d(randomFloats(n * n, 1), [n, n]), b = tf.tensor2d(randomFloats(n * n, 2), [n, n]);
    for (const c of [1, chain]) {
      const ms = await bestMs(async () => {
        const outs = [];
        for (let i = 0; i < c; i++) outs.push(tf.matMul(a, b));
        await outs[outs.length - 1].data();
        for (const o of outs) o.dispose();
      }, budget, 2);
      row("tfjs-webgpu", c === 1 ? "readback" : `pipelined x${c}`, (c * 2 * n ** 3) / ms / 1e6);
    }
    a.dispose();
    b.dispose();
  }
}
