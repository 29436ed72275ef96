/**
 * conv2d GFLOP/s and per-op dispatch overhead: dawnet webgpu vs dawnet cpu vs TensorFlow.js webgpu (same Dawn).
 * Overhead: `ops` chained small elementwise adds, one read at the end, µs per op (lower is better).
 * Idle wait: a long GPU job's wall time vs the main thread's CPU time (the waiting should not burn a core).
 *
 *   node dist/bench/webgpu-ops.js [batch]     (default 8: conv 8×28×28×16 → 32, 3×3, same padding)
 */
import { readFileSync } from "node:fs";
import type { Backend, Conv2dParams, View } from "../lib/backend/backend.js";
import { bestMs, dawnetCpu, dawnetWebGPU, emit, randomFloats, tfjsWebGPU } from "./webgpu-peers.js";

const batch = Number(process.argv[2]) || 8;
const budget = Number(process.env.WEBGPU_BENCH_BUDGET_MS) || 1500;

const gpu = await dawnetWebGPU();
const cpu = dawnetCpu();
const tf = await tfjsWebGPU();

// ---- conv2d
const p: Conv2dParams = { n: batch, h: 28, w: 28, cin: 16, kh: 3, kw: 3, cout: 32, oh: 28, ow: 28, strideH: 1, strideW: 1, dilationH: 1, dilationW: 1, padTop: 1, padLeft: 1 };
const convFlops = 2 * p.n * p.oh * p.ow * p.cout * p.kh * p.kw * p.cin;
async function dawnetConv(b: Backend): Promise<{ fwd: number; gradInput: number; gradFilter: number }> {
  const x = b.upload(randomFloats(p.n * p.h * p.w * p.cin, 1), "float32");
  const w = b.upload(randomFloats(p.kh * p.kw * p.cin * p.cout, 2), "float32");
  const dy = b.upload(randomFloats(p.n * p.oh * p.ow * p.cout, 3), "float32");
  const fwd = await bestMs(async () => {
    const y = b.conv2d(x, w, "float32", p);
    await b.read(y, "float32", 1);
    b.free(y);
  }, budget);
  const gradInput = await bestMs(async () => {
    const dx = b.conv2dGradInput(dy, w, "float32", p);
    await b.read(dx, "float32", 1);
    b.free(dx);
  }, budget);
  const gradFilter = await bestMs(async () => {
    const dw = b.conv2dGradFilter(x, dy, "float32", p);
    await b.read(dw, "float32", 1);
    b.free(dw);
  }, budget);
  for (const t of [x, w, dy]) b.free(t);
  return { fwd: convFlops / fwd / 1e6, gradInput: convFlops / gradInput / 1e6, gradFilter: convFlops / gradFilter / 1e6 };
}
const shape = `${p.n}x${p.h}x${p.w}x${p.cin}->${p.cout} k3`;
const convRow = (impl: string, pass: string, v: number) => emit({ bench: "conv2d", size: batch, shape, impl, pass, value: Number(v.toFixed(2)), unit: "GFLOP/s", higherIsBetter: true });
for (const [impl, b] of [["dawnet-webgpu", gpu], ["dawnet-cpu", cpu]] as [string, Backend | undefined][]) {
  if (!b) continue;
  const r = await dawnetConv(b);
  convRow(impl, "forward", r.fwd);
  convRow(impl, "grad input", r.gradInput);
  convRow(impl, "grad filter", r.gradFilter);
}
if (tf) {
  const x = tf.tensor4d(randomFloats(p.n * p.h * p.w * p.cin, 1), [p.n, p.h, p.w, p.cin]);
  const w = tf.tensor4d(randomFloats(p.kh * p.kw * p.cin * p.cout, 2), [p.kh, p.kw, p.cin, p.cout]);
  const dy = tf.tensor4d(randomFloats(p.n * p.oh * p.ow * p.cout, 3), [p.n, p.oh, p.ow, p.cout]);
  const fwd = await bestMs(async () => {
    const y = tf.conv2d(x, w, 1, "same");
    await y.data();
    y.dispose();
  }, budget);
  convRow("tfjs-webgpu", "forward", convFlops / fwd / 1e6);
  // tfjs-core exports no filter gradient without its gradient registry; grad input is conv2dTranspose.
  const gradInput = await bestMs(async () => {
    const dx = tf.conv2dTranspose(dy, w, [p.n, p.h, p.w, p.cin], 1, "same");
    await dx.data();
    dx.dispose();
  }, budget);
  convRow("tfjs-webgpu", "grad input", convFlops / gradInput / 1e6);
  x.dispose(); w.dispose(); dy.dispose();
}

// ---- per-op overhead
const OPS = 2000;
const N = 1024;
async function dawnetOverhead(b: Backend): Promise<number> {
  const x = b.upload(randomFloats(N), "float32");
  const v = (buf: object): View => ({ buf, dtype: "float32", shape: [N], strides: [1], offset: 0 });
  const ms = await bestMs(async () => {
    let cur = x;
    for (let i = 0; i < OPS; i++) {
      const next = b.binary("add", v(cur), v(x), "float32");
      if (cur !== x) b.free(cur);
      cur = next;
    }
    await b.read(cur, "float32", 1);
    b.free(cur);
  }, budget, 2);
  b.free(x);
  return (ms * 1000) / OPS;
}
const overheadRow = (impl: string, v: number) => emit({ bench: "op-overhead", size: N, impl, ops: OPS, value: Number(v.toFixed(2)), unit: "us/op", higherIsBetter: false });
if (gpu) overheadRow("dawnet-webgpu", await dawnetOverhead(gpu));
overheadRow("dawnet-cpu", await dawnetOverhead(cpu));
if (tf) {
  const x = tf.tensor1d(randomFloats(N));
  const ms = await bestMs(async () => {
    let cur: typeof x = x;
    for (let i = 0; i < OPS; i++) {
      const next = tf.add(cur, x) as typeof x;
      if (cur !== x) cur.dispose();
      cur = next;
    }
    await cur.data();
    cur.dispose();
  }, budget, 2);
  overheadRow("tfjs-webgpu", (ms * 1000) / OPS);
}

// ---- idle waiting: main-thread CPU while a long GPU job runs
function mainThreadCpuMs(): number {
  const fields = readFileSync(`/proc/self/task/${process.pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10; // utime + stime in 10 ms ticks
}
if (gpu && process.platform === "linux") {
  const n = 768;
  const a = gpu.upload(randomFloats(n * n), "float32");
  const mp = { batch: 1, m: n, k: n, n, aBatchStride: 0, bBatchStride: 0, transA: false, transB: false };
  await gpu.read(gpu.matmul(a, a, "float32", mp), "float32", 1);
  const outs = Array.from({ length: 4 }, () => gpu.matmul(a, a, "float32", mp));
  const c0 = mainThreadCpuMs(), t0 = performance.now();
  await gpu.read(outs[3], "float32", 1);
  const wall = performance.now() - t0, mainCpu = mainThreadCpuMs() - c0;
  emit({ bench: "idle-wait", size: n, impl: "dawnet-webgpu", wallMs: Math.round(wall), mainThreadCpuMs: mainCpu, value: Number((mainCpu / wall).toFixed(3)), unit: "main-thread CPU / wall", higherIsBetter: false });
  for (const o of outs) gpu.free(o);
  gpu.free(a);
}
