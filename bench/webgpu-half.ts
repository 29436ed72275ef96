/**
 * matmul with float16 operands (packHalf + matmulHalf) against the float32 matmul on the webgpu backend,
 * alternated in one process: B half (weights stored as float16), A and B half; packed operands read as
 * array<f16> (shader-f16) or unpacked from u32 words. GFLOP/s of `chain` queued products per read.
 *
 *   node dist/bench/webgpu-half.js [sizes...]     (default 256 512 1024, plus a 128x784 @ 784x256 layer)
 *   WEBGPU_BENCH_ROUNDS=4                          alternations (best of each)
 */
import type { MatmulParams } from "../lib/backend/backend.js";
import type { WebGPUBackend } from "../lib/backend/webgpu/webgpu.js";
import { dawnetWebGPU, emit, randomFloats } from "./webgpu-peers.js";

const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0);
if (sizes.length === 0) sizes.push(256, 512, 1024);
const rounds = Number(process.env.WEBGPU_BENCH_ROUNDS) || 4;
const gpu = (await dawnetWebGPU()) as WebGPUBackend | undefined;
if (!gpu) process.exit(0);
const nativeModes = gpu.features.has("shader-f16") ? [true, false] : [false];

const shapes: { label: string; m: number; k: number; n: number }[] = [
  ...sizes.map((s) => ({ label: `${s}`, m: s, k: s, n: s })),
  { label: "dense layer 128x784 @ 784x256", m: 128, k: 784, n: 256 },
];

for (const { label, m, k, n } of shapes) {
  const p: MatmulParams = { batch: 1, m, k, n, aBatchStride: 0, bBatchStride: 0, transA: false, transB: false };
  const a = gpu.upload(randomFloats(m * k, 1), "float32"), b = gpu.upload(randomFloats(k * n, 2), "float32");
  const aHalf = gpu.packHalf(a, m * k), bHalf = gpu.packHalf(b, k * n);
  const chain = m * n * k <= 512 ** 3 ? 4 : 1;
  const variants: { name: string; run: () => object; native?: boolean }[] = [{ name: "float32", run: () => gpu.matmul(a, b, "float32", p) }];
  for (const native of nativeModes) {
    const how = native ? "shader-f16" : "unpack";
    variants.push({ name: `B float16 (${how})`, native, run: () => gpu.matmulHalf(a, bHalf, p, { a: false, b: true }) });
    variants.push({ name: `A, B float16 (${how})`, native, run: () => gpu.matmulHalf(aHalf, bHalf, p, { a: true, b: true }) });
  }
  const best = new Map<string, number>();
  for (let round = 0; round <= rounds; round++) {
    for (const v of variants) {
      if (v.native !== undefined) gpu.useShaderF16(v.native);
      const t0 = performance.now();
      const outs = Array.from({ length: chain }, v.run);
      await gpu.read(outs[chain - 1], "float32", 1);
      const ms = performance.now() - t0;
      for (const o of outs) gpu.free(o);
      if (round > 0) best.set(v.name, Math.min(best.get(v.name) ?? Infinity, ms)); // round 0 compiles
    }
  }
  for (const v of variants) {
    emit({ bench: "matmul half operands", size: label, impl: `dawnet-webgpu ${v.name}`, kernel: gpu.matmulVariant, value: Number(((chain * 2 * m * n * k) / best.get(v.name)! / 1e6).toFixed(2)), unit: "GFLOP/s", higherIsBetter: true, device: gpu.adapterDescription });
  }
  for (const x of [a, b, aHalf, bHalf]) gpu.free(x);
}
gpu.useShaderF16(gpu.features.has("shader-f16"));
