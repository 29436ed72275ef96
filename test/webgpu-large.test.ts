/**
 * Tensors larger than one storage binding (maxStorageBufferBindingSize, 128 MiB on lavapipe): elementwise
 * ops, slices and fill run in windows, gather along the first axis in row windows, and every other kernel
 * through chunked.ts (test/webgpu-chunked.test.ts covers each split with a lowered limit). Here: sized just
 * past the adapter's limit, and MNIST's training set as one float32 tensor (60000 × 784, 188 MB) reduced, pooled and
 * multiplied against the CPU backend, with both timed.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { View } from "../lib/backend/backend.js";
import { createWebGPUBackend } from "../lib/backend/webgpu/webgpu.js";
import { CpuBackend } from "../lib/backend/cpu/cpu.js";
import type { DType } from "../lib/dtype.js";

const created = await createWebGPUBackend();
const gpu = "unavailable" in created ? undefined : created;
const it = gpu ? test : test.skip;
if (!gpu) console.log(`skipped: webgpu large-tensor tests: ${(created as { unavailable: string }).unavailable}`);
const limit = gpu ? (gpu as unknown as { maxBindingBytes: number }).maxBindingBytes : 0;
// Past one binding but small enough for CI memory; skipped where bindings are huge (real GPUs: GiBs).
const big = limit > 0 && limit <= 256 * 2 ** 20;
const itBig = gpu && big ? test : test.skip;
if (gpu && !big) console.log(`skipped: large-tensor windows: this adapter binds ${limit} bytes at once (test sized for ≤ 256 MiB)`);

const INNER = 1000;
const ROWS = Math.ceil(limit / 4 / INNER) + 1000; // ~4 MB past the limit
const value = (i: number) => i % 997;

itBig("elementwise, slice, fill and gather past maxStorageBufferBindingSize", async () => {
  const b = gpu!;
  const n = ROWS * INNER;
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = value(i);
  const x = b.upload(data, "float32");
  const half = b.upload(new Float32Array([0.5]), "float32");
  const xv: View = { buf: x, dtype: "float32", shape: [ROWS, INNER], strides: [INNER, 1], offset: 0 };
  const y = b.binary("mul", xv, { buf: half, dtype: "float32", shape: [ROWS, INNER], strides: [0, 0], offset: 0 }, "float32");
  const rows = [0, ROWS - 1, Math.floor(ROWS / 2), 12345];
  const idx = b.upload(Int32Array.from(rows), "int32");
  const got = await b.read(b.gather(y, "float32", idx, 1, ROWS, INNER, rows.length), "float32", rows.length * INNER);
  rows.forEach((r, j) => {
    for (let i = 0; i < INNER; i++) {
      if (got[j * INNER + i] !== value(r * INNER + i) * 0.5) assert.unreachable(`gathered row ${r} col ${i}: ${got[j * INNER + i]} != ${value(r * INNER + i) * 0.5}`);
    }
  });
  // A transposed slice reaching both ends of the buffer.
  const corner = b.copy({ buf: y, dtype: "float32", shape: [2, 2], strides: [1, (ROWS - 1) * INNER], offset: INNER - 2 }, "float32");
  assert.equal(Array.from(await b.read(corner, "float32", 4)), [INNER - 2, (ROWS - 1) * INNER + INNER - 2, INNER - 1, ROWS * INNER - 1].map((i) => value(i) * 0.5));
  const f = b.fill(n, "int32", -3);
  const ends = b.copy({ buf: f, dtype: "int32", shape: [2], strides: [n - 1], offset: 0 }, "int32");
  assert.equal(Array.from(await b.read(ends, "int32", 2)), [-3, -3]);
  const total = await b.read(b.reduce("max", x, "float32", 1, n, 1), "float32", 1);
  assert.is(total[0], 996);
  for (const buf of [x, half, y, idx, corner, f, ends]) b.free(buf);
  (b as unknown as { trimPool(): void }).trimPool();
});

itBig("MNIST-sized float32 tensor (60000 x 784, 188 MB): reduce on both axes, argmax, max pooling and matmul (plain and transposed) equal the CPU's", async () => {
  const b = gpu!, cpu = new CpuBackend();
  const rows = 60000, cols = 784, classes = 10;
  const data = new Float32Array(rows * cols);
  for (let i = 0; i < data.length; i++) data[i] = (Math.imul(i + 1, 2654435761) >>> 0) / 2 ** 32 - 0.5;
  const w = Float32Array.from({ length: cols * classes }, (_, i) => Math.sin(i) * 0.1);
  const dy = Float32Array.from({ length: rows * classes }, (_, i) => Math.cos(i) * 0.01);
  const xg = b.upload(data, "float32"), xc = cpu.upload(data, "float32");
  const wg = b.upload(w, "float32"), wc = cpu.upload(w, "float32");
  const dyg = b.upload(dy, "float32"), dyc = cpu.upload(dy, "float32");
  await b.sync();
  const plain = { batch: 1, aBatchStride: 0, bBatchStride: 0, transA: false, transB: false };
  const cases: { what: string; dtype: DType; n: number; atol: number; run: (be: typeof b, x: unknown, w: unknown, dy: unknown) => unknown }[] = [
    { what: "sum over rows [784]", dtype: "float32", n: cols, atol: 2e-3, run: (be, x) => be.reduce("sum", x as object, "float32", 1, rows, cols) },
    { what: "sum over columns [60000]", dtype: "float32", n: rows, atol: 1e-4, run: (be, x) => be.reduce("sum", x as object, "float32", rows, cols, 1) },
    { what: "argmax over columns [60000]", dtype: "int32", n: rows, atol: 0, run: (be, x) => be.reduce("argmax", x as object, "float32", rows, cols, 1) },
    { what: "x @ w [60000, 10]", dtype: "float32", n: rows * classes, atol: 1e-4, run: (be, x, wt) => be.matmul(x as object, wt as object, "float32", { ...plain, m: rows, k: cols, n: classes }) },
    { what: "2×2 max pool of [60000, 28, 28, 1] → [60000, 14, 14, 1]", dtype: "float32", n: rows * 196, atol: 0,
      run: (be, x) => be.pool2d("max", x as object, "float32", { n: rows, h: 28, w: 28, c: 1, kh: 2, kw: 2, oh: 14, ow: 14, strideH: 2, strideW: 2, padTop: 0, padLeft: 0 }) },
    { what: "xᵀ @ dy [784, 10]", dtype: "float32", n: cols * classes, atol: 2e-4, run: (be, x, _w, d) => be.matmul(x as object, d as object, "float32", { ...plain, m: cols, k: rows, n: classes, transA: true }) },
  ];
  for (const c of cases) {
    let t = performance.now();
    const got = await b.read(c.run(b, xg, wg, dyg) as object, c.dtype, c.n);
    const gpuMs = performance.now() - t;
    t = performance.now();
    const want = cpu.readSync(c.run(cpu as unknown as typeof b, xc, wc, dyc) as object, c.dtype, c.n);
    const cpuMs = performance.now() - t;
    console.log(`  ${c.what}: webgpu ${gpuMs.toFixed(0)} ms, cpu ${cpuMs.toFixed(0)} ms`);
    for (let i = 0; i < c.n; i++) {
      if (!(Math.abs(got[i] - want[i]) <= c.atol + 1e-4 * Math.abs(want[i]))) assert.unreachable(`${c.what}: element ${i}: webgpu ${got[i]}, cpu ${want[i]}`);
    }
  }
  for (const buf of [xg, wg, dyg]) b.free(buf);
  (b as unknown as { trimPool(): void }).trimPool();
});

it("a tensor past maxBufferSize is refused at allocation", () => {
  const maxBuffer = (gpu as unknown as { device: { limits: { maxBufferSize: number } } }).device.limits.maxBufferSize;
  assert.throws(() => gpu!.alloc(Math.ceil(maxBuffer / 4) + 1, "float32"), /webgpu alloc: .* exceeds this device's maxBufferSize/);
});

test.run();
