/**
 * Standalone repro of the never-awaited training loop (README "Memory over long runs"): an 8→32→32→1 MLP,
 * a fresh batch slice of 32 rows each step, no `await` until the end. Prints memory mappings, RSS and the
 * backend's counters every EVERY steps. Before the fixes it segfaulted lavapipe (faq Adam at ~500 steps).
 *   node dist/bench/webgpu-noawait.js [steps=20000] [optimizer=faq|adam|sgd] [every=2000]
 * DAWNET_WEBGPU_QUEUE_THROTTLE=0 turns the queue throttle off, to compare.
 */
import { countMappings } from "../lib/backend/webgpu/native-gc.js";
import * as dn from "../lib/index.js";
import type { WebGPUBackend } from "../lib/backend/webgpu/webgpu.js";
import { dawnetWebGPU } from "./webgpu-peers.js";

const STEPS = Number(process.argv[2] ?? 20_000), OPT = process.argv[3] ?? "faq", EVERY = Number(process.argv[4] ?? 2000);
const found = await dawnetWebGPU(); // says why on stderr when there is no adapter
if (!found) process.exit(0);
const gpu = found as WebGPUBackend;
await dn.setBackend("webgpu");
const BATCH = 32, N = 512;
dn.manualSeed(0);
const X = dn.randn([N, 8]);
const Y = X.sum(1, true).tanh();
const sizes = [8, 32, 32, 1];
const params: dn.Tensor[] = [];
for (let l = 0; l + 1 < sizes.length; l++) params.push(dn.randn([sizes[l], sizes[l + 1]]).mul(Math.sqrt(1 / sizes[l])), dn.zeros([sizes[l + 1]]));
params.forEach((p) => (p.requiresGrad = true));
const adam = new dn.Adam({ learningRate: 0.01 });
const m = params.map((p) => dn.zerosLike(p)), v = params.map((p) => dn.zerosLike(p));
const mappings = () => (process.platform === "linux" ? countMappings() : 0);
const mib = (b: number) => (b / 2 ** 20).toFixed(0);
const t0 = performance.now();
let peak = 0;
console.log(`${adapterLine()}; ${OPT} optimizer, ${STEPS} steps, throttle ${gpu.throttle.enabled ? "on" : "off"}`);
for (let t = 1; t <= STEPS; t++) {
  dn.tidy(() => {
    const start = (t * BATCH) % N;
    const x = X.slice([start, 0], [BATCH, 8]), y = Y.slice([start, 0], [BATCH, 1]);
    let h = x;
    for (let l = 0; l < params.length; l += 2) {
      h = h.matmul(params[l]).add(params[l + 1]);
      if (l + 2 < params.length) h = h.tanh();
    }
    h.sub(y).square().mean().backward();
    if (OPT === "adam") {
      adam.step(params);
      adam.zeroGrad(params);
    } else if (OPT === "sgd") {
      dn.noGrad(() => params.forEach((p) => { p.assign(p.sub(p.grad!.mul(0.01))); p.zeroGrad(); }));
    } else {
      // notebooks/faq.ipynb's hand-written Adam
      dn.noGrad(() => params.forEach((p, i) => {
        m[i].assign(m[i].mul(0.9).add(p.grad!.mul(0.1)));
        v[i].assign(v[i].mul(0.999).add(p.grad!.square().mul(0.001)));
        p.assign(p.sub(m[i].div(1 - 0.9 ** t).div(v[i].div(1 - 0.999 ** t).sqrt().add(1e-8)).mul(0.01)));
        p.zeroGrad();
      }));
    }
  });
  if (t % EVERY === 0) {
    const maps = mappings();
    peak = Math.max(peak, maps);
    console.log(`step ${t}: ${maps} mappings, RSS ${mib(process.memoryUsage().rss)} MiB, ${((performance.now() - t0) / 1000).toFixed(1)} s, ` +
      `${gpu.bindGroupsCreated} bind groups created, ${gpu.throttle.waits} throttle waits`);
  }
}
const encoded = performance.now();
const sample = await params[0].sum().item();
console.log(`done: encoded in ${((encoded - t0) / 1000).toFixed(1)} s, queue drained ${((performance.now() - encoded) / 1000).toFixed(1)} s later; ` +
  `peak ${peak} mappings, RSS ${mib(process.memoryUsage().rss)} MiB, throttle waited ${gpu.throttle.waits} times (${(gpu.throttle.waitedMs / 1000).toFixed(1)} s); sum(w1) ${sample.toFixed(4)}`);

function adapterLine(): string {
  return `webgpu on ${gpu.adapterDescription}`;
}
