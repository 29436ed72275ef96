/**
 * WebGPU memory over a training loop: 2,000 MLP steps (after 500 warm-up steps) (forward, backward, SGD update inside tidy) through
 * the ops layer keep the backend's GPU bytes (live + pooled), buffer count, native memory (RSS minus the JS
 * heap, which V8 resizes in steps) and the JS heap after GC flat.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import * as dn from "../lib/index.js";
import { createWebGPUBackend } from "../lib/backend/webgpu/webgpu.js";
import v8 from "node:v8";
import vm from "node:vm";

v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc") as () => void;
/** Memory after a full GC: V8 resizes its heap in steps (RSS follows heapTotal), so native = rss − heapTotal. */
function sample() {
  gc();
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, native: m.rss - m.heapTotal };
}

const STEPS = 2000;
const WARMUP = 500;
/** Allowed drift over the measured steps: a leak of 4 KB (native) or 2 KB (JS) per step would exceed it. */
const NATIVE_SLACK_MIB = 8;
const HEAP_SLACK_MIB = 4;
const created = await createWebGPUBackend();
const it = "unavailable" in created ? test.skip : test;
if ("unavailable" in created) console.log(`skipped: webgpu memory test: ${created.unavailable}`);

it(`${STEPS} training-like steps (after ${WARMUP} warm-up steps) keep GPU memory, native memory and the JS heap flat`, async () => {
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
  // Warm up the buffer pool and the bind-group cache, then measure.
  for (let i = 0; i < WARMUP; i++) step().dispose();
  await gpuMemory().sync();
  const m1 = gpuMemory().memory();
  const s1 = sample();
  let last = 0;
  for (let i = 0; i < STEPS; i++) {
    const l = step();
    if (i % 500 === 499) last = await l.item(); // a read now and then, like a progress bar
    l.dispose();
  }
  await gpuMemory().sync();
  const m2 = gpuMemory().memory();
  const s2 = sample();
  const mib = (b: number) => (b / 2 ** 20).toFixed(1);
  console.log(`  ${STEPS} steps: loss ${l0.toFixed(3)} → ${last.toFixed(4)}; GPU ${m1.bytes} → ${m2.bytes} bytes, ${m1.buffers} → ${m2.buffers} live buffers; ` +
    `RSS ${mib(s1.rss)} → ${mib(s2.rss)} MiB, native (RSS − JS heap) ${mib(s1.native)} → ${mib(s2.native)} MiB, JS heap used ${mib(s1.heapUsed)} → ${mib(s2.heapUsed)} MiB`);
  assert.ok(last < l0 * 0.5, `loss did not fall: ${l0} → ${last}`);
  assert.is(m2.buffers, m1.buffers, "live GPU buffers grew");
  assert.is(m2.bytes, m1.bytes, "GPU bytes (live + pooled) grew");
  assert.ok(s2.native - s1.native < NATIVE_SLACK_MIB * 2 ** 20, `native memory grew by ${mib(s2.native - s1.native)} MiB`);
  assert.ok(s2.heapUsed - s1.heapUsed < HEAP_SLACK_MIB * 2 ** 20, `JS heap grew by ${mib(s2.heapUsed - s1.heapUsed)} MiB`);
});

test.run();
