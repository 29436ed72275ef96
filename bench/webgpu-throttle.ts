/**
 * What the never-awaited-loop fixes cost a normal fit on webgpu (README "Memory over long runs"): the buffer
 * pool's oldest-first order and the queue throttle against the old order (last released first, no throttle),
 * alternating windows in one process (2 shared cores are noisy), and a hand-written loop that awaits its loss
 * every 100 steps. Run: `npx tsc -p . && node dist/bench/webgpu-throttle.js [windows]`.
 */
import * as dn from "../lib/index.js";
import type { WebGPUBackend } from "../lib/backend/webgpu/webgpu.js";
import { dawnetWebGPU } from "./webgpu-peers.js";
import type { BufferPool } from "../lib/backend/webgpu/buffer-pool.js";

const found = await dawnetWebGPU(); // says why on stderr when there is no adapter
if (!found) process.exit(0);
const gpu = found as WebGPUBackend;
await dn.setBackend("webgpu");
const pool = (gpu as unknown as { storage: BufferPool }).storage;
const WINDOWS = Number(process.argv[2] ?? 6);
type Config = "new" | "old";
function use(config: Config): void {
  pool.setOldestFirst(config === "new");
  gpu.throttle.enabled = config === "new";
}
const median = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1];

dn.manualSeed(0);
const samples = 64 * 40;
const x = dn.randn([samples, 784]), y = dn.randint(0, 10, [samples]);
const model = new dn.Sequential([new dn.Dense(128, { activation: "relu", inputShape: [784] }), new dn.Dense(10)]);
model.compile({ optimizer: "adam", loss: dn.losses.sparseCategoricalCrossentropy({ fromLogits: true }) });
await model.fit(x, y, { epochs: 1, batchSize: 64, verbose: 0 });

// A hand-written MLP loop (ops + Adam by hand) that awaits its loss every 100 steps.
const params = dn.tidy(() => [dn.randn([784, 64]).mul(0.05), dn.zeros([64]), dn.randn([64, 10]).mul(0.1), dn.zeros([10])]);
params.forEach((p) => (p.requiresGrad = true));
const m = params.map((p) => dn.zerosLike(p)), v = params.map((p) => dn.zerosLike(p));
let t = 0;
async function handLoop(steps: number): Promise<void> {
  for (let i = 1; i <= steps; i++) {
    t++;
    const loss = dn.tidy(() => {
      const start = (t * 32) % (samples - 32);
      const xb = x.slice([start, 0], [32, 784]);
      const out = xb.matmul(params[0]).add(params[1]).relu().matmul(params[2]).add(params[3]);
      const l = out.square().mean();
      l.backward();
      dn.noGrad(() => params.forEach((p, k) => {
        m[k].assign(m[k].mul(0.9).add(p.grad!.mul(0.1)));
        v[k].assign(v[k].mul(0.999).add(p.grad!.square().mul(0.001)));
        p.assign(p.sub(m[k].div(1 - 0.9 ** t).div(v[k].div(1 - 0.999 ** t).sqrt().add(1e-8)).mul(0.001)));
        p.zeroGrad();
      }));
      return l;
    });
    if (i % 100 === 0) await loss.item();
    loss.dispose();
  }
  await gpu.sync();
}
await handLoop(100);

const fitRate: Record<Config, number[]> = { new: [], old: [] };
const loopRate: Record<Config, number[]> = { new: [], old: [] };
for (let w = 0; w < WINDOWS; w++) {
  for (const config of (w % 2 ? ["old", "new"] : ["new", "old"]) as Config[]) {
    use(config);
    let t0 = performance.now();
    await model.fit(x, y, { epochs: 1, batchSize: 64, verbose: 0 });
    fitRate[config].push(samples / ((performance.now() - t0) / 1000));
    t0 = performance.now();
    await handLoop(300);
    loopRate[config].push(300 / ((performance.now() - t0) / 1000));
  }
}
use("new");
console.log(`model.fit MLP 784-128-10, batch 64 (samples/s, median of ${WINDOWS}): new ${median(fitRate.new).toFixed(0)}, old ${median(fitRate.old).toFixed(0)}`);
console.log(`hand-written Adam loop, awaits every 100 steps (steps/s): new ${median(loopRate.new).toFixed(1)}, old ${median(loopRate.old).toFixed(1)}`);
console.log(`  all windows: fit new ${fitRate.new.map((r) => r.toFixed(0)).join(" ")} | old ${fitRate.old.map((r) => r.toFixed(0)).join(" ")}; ` +
  `loop new ${loopRate.new.map((r) => r.toFixed(1)).join(" ")} | old ${loopRate.old.map((r) => r.toFixed(1)).join(" ")}; throttle waits ${gpu.throttle.waits}`);
