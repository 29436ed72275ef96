/**
 * GPU time per kernel (webgpuProfile, timestamp queries) next to wall time: square matmuls and one
 * training step of an MNIST-sized MLP (784 → 256 → 128 → 10, batch 128, Adam). Each case runs once to
 * compile its shaders, then under the profiler. Prints the profiler's table and one JSON line per case.
 *
 *   node dist/bench/webgpu-profile.js [sizes...]      (default 256 512 1024)
 */
import * as dn from "../lib/index.js";
import { webgpuProfile, type GpuProfile } from "../lib/backend/webgpu/profiler.js";
import { emit } from "./webgpu-peers.js";

const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0);
if (sizes.length === 0) sizes.push(256, 512, 1024);

try {
  await dn.setBackend("webgpu");
} catch (e) {
  console.error(`webgpu unavailable: ${(e as Error).message}`);
  process.exit(0);
}

function report(bench: string, size: number | string, profile: GpuProfile): void {
  console.log(`\n${bench} ${size}\n${profile}`);
  emit({
    bench: `profile ${bench}`, size, wallMs: Number(profile.wallMs.toFixed(3)), gpuMs: Number((profile.gpuUs / 1000).toFixed(3)), dispatches: profile.dispatches,
    kernels: profile.kernels.map((k) => ({ name: k.name, count: k.count, totalUs: Math.round(k.totalUs) })),
  });
}

for (const n of sizes) {
  const a = dn.randn([n, n]), b = dn.randn([n, n]);
  const product = async () => {
    const c = a.matmul(b);
    await c.data();
    c.dispose();
  };
  await product(); // compiles the kernel
  report("matmul", n, await webgpuProfile(product));
  a.dispose();
  b.dispose();
}

dn.manualSeed(1);
const batch = 128;
const x = dn.randn([batch, 784]);
const y = dn.randint(0, 10, [batch]);
const model = new dn.Sequential([
  new dn.Dense(256, { inputDim: 784, activation: "relu" }),
  new dn.Dense(128, { activation: "relu" }),
  new dn.Dense(10),
]);
model.compile({ optimizer: "adam", loss: "sparse_categorical_crossentropy" });
await model.trainOnBatch(x, y); // compiles every kernel of the step
report("mlp train step", `784-256-128-10 batch ${batch}`, await webgpuProfile(() => model.trainOnBatch(x, y)));
