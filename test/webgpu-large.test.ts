/**
 * Tensors larger than one storage binding (maxStorageBufferBindingSize, 128 MiB on lavapipe): elementwise
 * ops, slices and fill run in windows, gather along the first axis in row windows, and other kernels
 * refuse with an error naming the limit. Sized just past the adapter's limit.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { View } from "../lib/backend/backend.js";
import { createWebGPUBackend } from "../lib/backend/webgpu/webgpu.js";

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
  assert.throws(() => b.reduce("sum", x, "float32", 1, n, 1), /webgpu reduce: a tensor of \d+ elements .* exceeds this device's maxStorageBufferBindingSize/);
  for (const buf of [x, half, y, idx, corner, f, ends]) b.free(buf);
  (b as unknown as { trimPool(): void }).trimPool();
});

it("a tensor past maxBufferSize is refused at allocation", () => {
  const maxBuffer = (gpu as unknown as { device: { limits: { maxBufferSize: number } } }).device.limits.maxBufferSize;
  assert.throws(() => gpu!.alloc(Math.ceil(maxBuffer / 4) + 1, "float32"), /webgpu alloc: .* exceeds this device's maxBufferSize/);
});

test.run();
