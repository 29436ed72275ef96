/**
 * WebGPU memory over a training loop: 2,000 MLP steps (forward, backward, SGD update inside tidy) through
 * the ops layer keep the backend's GPU bytes (live + pooled), buffer count and process RSS flat.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import * as dn from "../lib/index.js";
import { createWebGPUBackend } from "../lib/backend/webgpu/webgpu.js";

const STEPS = 2000;
const created = await createWebGPUBackend();
const it = "unavailable" in created ? test.skip : test;
if ("unavailable" in created) console.log(`skipped: webgpu memory test: ${created.unavailable}`);

it(`${STEPS} training-like steps keep GPU memory and RSS flat`, async () => {
  await dn.setBackend("webgpu");
  dn.manualSeed(1);
  const w1 = dn.mul(dn.randn([20, 16]), 0.3);
  const w2 = dn.mul(dn.randn([16, 1]), 0.3);
  for (const p of [w1, w2]) p.requiresGrad = true;
  const x = dn.randn([32, 20]);
  const y = dn.sum(x, 1, true);
  const step = () =>
    dn.tidy(() => {
      const h = dn.relu(dn.matmul(x, w1));
      const loss = dn.mean(dn.square(dn.sub(dn.matmul(h, w2), y)));
      loss.backward();
      for (const p of [w1, w2]) {
        p.assign(dn.sub(p, dn.mul(p.grad!, 0.01)));
        p.zeroGrad();
      }
      return loss;
    });
  const gpuMemory = () => created as dn.Backend;
  const first = step();
  const l0 = await first.item();
  first.dispose();
  // Warm up the pool, then measure.
  for (let i = 0; i < 100; i++) step().dispose();
  await gpuMemory().sync();
  const m1 = gpuMemory().memory();
  const rss1 = process.memoryUsage().rss;
  let last = 0;
  for (let i = 0; i < STEPS; i++) {
    const l = step();
    if (i % 500 === 499) last = await l.item(); // a read now and then, like a progress bar
    l.dispose();
  }
  await gpuMemory().sync();
  const m2 = gpuMemory().memory();
  const rss2 = process.memoryUsage().rss;
  console.log(`  ${STEPS} steps: loss ${l0.toFixed(3)} → ${last.toFixed(4)}; GPU ${m1.bytes} → ${m2.bytes} bytes, ${m1.buffers} → ${m2.buffers} live buffers; RSS ${(rss1 / 2 ** 20).toFixed(0)} → ${(rss2 / 2 ** 20).toFixed(0)} MiB`);
  assert.ok(last < l0 * 0.5, `loss did not fall: ${l0} → ${last}`);
  assert.is(m2.buffers, m1.buffers, "live GPU buffers grew");
  assert.is(m2.bytes, m1.bytes, "GPU bytes (live + pooled) grew");
  assert.ok(rss2 - rss1 < 40 * 2 ** 20, `RSS grew by ${((rss2 - rss1) / 2 ** 20).toFixed(1)} MiB`);
});

test.run();
