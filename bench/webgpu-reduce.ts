/**
 * Reduction throughput on the webgpu backend with and without subgroup operations (and, on software
 * adapters, with their own plans and with the GPU plans), alternated in one process (the machine is shared: alternating keeps both sides under the same load). GB/s counts the
 * input bytes read; `chain` reductions are queued per read so the read's latency is amortized.
 *
 *   node dist/bench/webgpu-reduce.js [elements...]     (default 1048576 16777216)
 *   WEBGPU_BENCH_ROUNDS=5                             alternations per case (best of each side)
 */
import type { ReduceOp } from "../lib/backend/backend.js";
import type { WebGPUBackend } from "../lib/backend/webgpu/webgpu.js";
import { dawnetWebGPU, emit, randomFloats } from "./webgpu-peers.js";

const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0);
if (sizes.length === 0) sizes.push(1 << 20, 1 << 24);
const rounds = Number(process.env.WEBGPU_BENCH_ROUNDS) || 5;

const gpu = (await dawnetWebGPU()) as WebGPUBackend | undefined;
if (!gpu) process.exit(0);
const subgroupModes = gpu.features.has("subgroups") ? [true, false] : [false];
if (subgroupModes.length === 1) console.error(`subgroups unavailable on '${gpu.adapterDescription}': measuring the workgroup-memory path only`);
// The device's own plans, and on software adapters also the GPU plans (where every case takes the workgroup kernels).
const styles = gpu.reduceStyle === "thread" ? (["thread", "workgroup"] as const) : (["workgroup"] as const);
const modes = styles.flatMap((style) => subgroupModes.map((subgroups) => ({ style, subgroups })));
const modeName = (m: (typeof modes)[number]) => `dawnet-webgpu ${m.style} plans, ${m.subgroups ? "subgroups" : "workgroup tree"}`;
const style0 = gpu.reduceStyle;

/** [outer, r, inner] cases per size: the whole tensor to one value, and rows of 256 (softmax-like). */
const cases = (n: number): { name: string; shape: [number, number, number] }[] => [
  { name: "all", shape: [1, n, 1] },
  { name: "rows of 256", shape: [n / 256, 256, 1] },
];

for (const n of sizes) {
  const x = gpu.upload(randomFloats(n, 3), "float32");
  const chain = n <= 1 << 20 ? 16 : 4;
  for (const { name, shape } of cases(n)) {
    for (const op of ["sum", "max", "argmax"] as ReduceOp[]) {
      const outputs = shape[0] * shape[2];
      const run = async () => {
        const outs = [];
        for (let i = 0; i < chain; i++) outs.push(gpu.reduce(op, x, "float32", ...shape));
        await gpu.read(outs[chain - 1], op === "argmax" ? "int32" : "float32", Math.min(outputs, 4));
        for (const o of outs) gpu.free(o);
      };
      const best = new Map<string, number>();
      for (let round = 0; round <= rounds; round++) {
        for (const mode of modes) {
          gpu.reduceStyle = mode.style;
          gpu.useSubgroups(mode.subgroups);
          const t0 = performance.now();
          await run();
          const ms = performance.now() - t0;
          if (round > 0) best.set(modeName(mode), Math.min(best.get(modeName(mode)) ?? Infinity, ms)); // round 0 compiles and warms up
        }
      }
      for (const mode of modes) {
        const ms = best.get(modeName(mode))!;
        emit({ bench: "reduce", size: n, case: name, op, impl: modeName(mode), value: Number(((chain * n * 4) / ms / 1e6).toFixed(2)), unit: "GB/s", higherIsBetter: true, msPerReduce: Number((ms / chain).toFixed(3)), device: gpu.adapterDescription });
      }
    }
  }
  gpu.free(x);
}
gpu.reduceStyle = style0;
gpu.useSubgroups(gpu.features.has("subgroups"));
