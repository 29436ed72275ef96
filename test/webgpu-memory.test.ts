/**
 * WebGPU memory over a training loop: 10,000 MLP steps (forward, backward, SGD update inside tidy, the
 * loss read every 100 steps like a progress bar) after a warm-up keep the backend's GPU bytes (live +
 * pooled) and buffer count exactly equal, create no bind groups (the cache covers the steady state), and
 * keep native memory and the JS heap after GC flat.
 *
 * Native memory is RSS minus V8's resident heap pages: V8 sizes its young generation up by 16 MiB once, at
 * a moment that depends on the allocation rate (here after ~2,000 steps); that moves RSS but is not a leak.
 * Reads bound the queue: lavapipe runs this step slower than JavaScript encodes it, and queued work holds
 * native memory (Dawn's and lavapipe's command buffers) until it runs; glibc keeps the peak as RSS. Measured
 * here (README "Memory over long runs"): reading every 100 steps, native memory stays within ±1 MiB over
 * 10,000 steps; every 1,000 steps it rises ~11 MiB in the first 2,000 and then stays (30,000 steps); every
 * 5,000 steps, ~41 MiB.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync } from "node:fs";
import * as dn from "../lib/index.js";
import { createWebGPUBackend, type WebGPUBackend } from "../lib/backend/webgpu/webgpu.js";
import v8 from "node:v8";
import vm from "node:vm";

v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc") as () => void;
const MIB = 2 ** 20;
/** Memory after a full GC; native = RSS − V8's resident heap (its young generation grows in one 16 MiB step). */
function sample() {
  gc();
  const m = process.memoryUsage();
  const v8Resident = v8.getHeapStatistics().total_physical_size;
  return { rss: m.rss, v8Resident, heapUsed: m.heapUsed, native: m.rss - v8Resident };
}

const STEPS = 10_000;
const WARMUP = 300;
/**
 * Allowed growth over the measured steps, about twice the most measured: native 0 to +5.1 MiB in 10 runs on 2
 * busy cores (/proc/self/smaps: the main malloc arena moves < 1 MiB; the rest is anonymous mappings, i.e.
 * thread arenas and V8 pages it pools outside its counted heap), JS < 0.4 MiB. A leak of 1 KB (native) or
 * 210 bytes (JS) per step exceeds it.
 */
const NATIVE_SLACK_MIB = 10;
const HEAP_SLACK_MIB = 2;
const created = await createWebGPUBackend();
const it = "unavailable" in created ? test.skip : test;
if ("unavailable" in created) console.log(`skipped: webgpu memory test: ${created.unavailable}`);

it(`${STEPS} training steps (after ${WARMUP} warm-up steps) keep GPU memory, bind groups, native memory and the JS heap flat`, async () => {
  const gpu = created as WebGPUBackend;
  await dn.setBackend("webgpu");
  dn.manualSeed(1);
  // Setup temporaries are disposed by tidy: left to the GC, they would return to the buffer pool at the
  // first await and reshuffle which pooled buffer each step gets (new bind groups once).
  const { w1, w2, x, y } = dn.tidy(() => {
    const x = dn.randn([32, 20]);
    return { w1: dn.mul(dn.randn([20, 16]), 0.3), w2: dn.mul(dn.randn([16, 1]), 0.3), x, y: dn.sum(x, 1, true) };
  });
  for (const p of [w1, w2]) p.requiresGrad = true;
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
  const first = step();
  const l0 = await first.item();
  first.dispose();
  // Warm up the buffer pool and the bind-group cache, then measure.
  for (let i = 0; i < WARMUP; i++) step().dispose();
  await gpu.sync();
  const m1 = gpu.memory();
  const groups1 = gpu.bindGroupsCreated;
  const s1 = sample();
  const mib = (b: number) => (b / MIB).toFixed(1);
  const marks: string[] = [];
  let last = 0;
  for (let i = 1; i <= STEPS; i++) {
    const l = step();
    if (i % 100 === 0) last = await l.item(); // a progress bar's read (it also bounds the queued work)
    l.dispose();
    if (i === 2000 || i === 5000) {
      const s = sample();
      marks.push(`${i}: RSS ${mib(s.rss)}, native ${mib(s.native)}`);
    }
  }
  await gpu.sync();
  const m2 = gpu.memory();
  const s2 = sample();
  console.log(`  ${STEPS} steps: loss ${l0.toFixed(3)} → ${last.toFixed(4)}; GPU ${m1.bytes} → ${m2.bytes} bytes, ${m1.buffers} → ${m2.buffers} live buffers, ` +
    `${gpu.bindGroupsCreated - groups1} bind groups created; MiB at step 1: RSS ${mib(s1.rss)}, native ${mib(s1.native)}, V8 heap ${mib(s1.v8Resident)} ` +
    `(used ${mib(s1.heapUsed)}); ${marks.join("; ")}; ${STEPS}: RSS ${mib(s2.rss)}, native ${mib(s2.native)}, V8 heap ${mib(s2.v8Resident)} (used ${mib(s2.heapUsed)})`);
  assert.ok(last < l0 * 0.5, `loss did not fall: ${l0} → ${last}`);
  assert.is(m2.buffers, m1.buffers, "live GPU buffers grew");
  assert.is(m2.bytes, m1.bytes, "GPU bytes (live + pooled) grew");
  assert.is(gpu.bindGroupsCreated - groups1, 0, "steady-state steps created bind groups (pooled buffers no longer come back in a repeating order)");
  assert.ok(s2.native - s1.native < NATIVE_SLACK_MIB * MIB, `native memory (RSS − V8 heap) grew by ${mib(s2.native - s1.native)} MiB`);
  assert.ok(s2.heapUsed - s1.heapUsed < HEAP_SLACK_MIB * MIB, `JS heap grew by ${mib(s2.heapUsed - s1.heapUsed)} MiB`);
  for (const t of [w1, w2, x, y]) t.dispose();
});

it("bind groups that fall out of the cache are collected: 30,000 new ones leave the memory mappings bounded", async () => {
  // lavapipe keeps a memory mapping per live bind group; V8 collects dead wrappers late, so without the
  // backend's forced GC (native-gc.ts) a long fit reached vm.max_map_count (65,530) and crashed (SIGSEGV).
  const gpu = created as WebGPUBackend;
  await dn.setBackend("webgpu");
  const mappings = () => readFileSync("/proc/self/maps", "utf8").split("\n").length;
  const pool = Array.from({ length: 240 }, (_, i) => dn.full([4], i));
  const before = mappings(), groups0 = gpu.bindGroupsCreated;
  let peak = before;
  for (let i = 0; i < 240; i++) {
    // 240 × 130 pairs of distinct buffers: every add binds a new combination.
    dn.tidy(() => { for (let j = 0; j < 130; j++) dn.add(pool[i], pool[(i + j + 1) % 240]); });
    if (i % 20 === 19) {
      await dn.ones([1]).data(); // let queued work finish, as any loop that reads does
      peak = Math.max(peak, mappings());
    }
  }
  const made = gpu.bindGroupsCreated - groups0;
  assert.ok(made >= 30_000, `only ${made} bind groups created`);
  console.log(`  ${made} bind groups created; memory mappings ${before} → peak ${peak}`);
  // Measured: +11,100 with the forced GC every 8,192 groups, +1 per group (≈ +31,000) without it.
  assert.ok(peak - before < 18_000, `memory mappings grew by ${peak - before} for ${made} bind groups (dead wrappers not collected)`);
  for (const t of pool) t.dispose();
});

test.run();
