/**
 * The elementwise map shader (kernels/elementwise.ts) against CpuBackend on strided views whose last dim
 * is shorter than, equal to or longer than the 4 elements one invocation handles (so its steps carry into
 * the next row 0, 1 or several times), negative strides, broadcasts and offsets, with element counts that
 * are not multiples of 4; and gather (4 consecutive outputs per invocation, counted up with carries) with
 * inner sizes 1, 3, 5 and 784 and several outer rows, and its out-of-range report. Skipped without an adapter.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { BinaryOp, View } from "../lib/backend/backend.js";
import { CpuBackend } from "../lib/backend/cpu/cpu.js";
import { createWebGPUBackend } from "../lib/backend/webgpu/webgpu.js";

const created = await createWebGPUBackend();
const gpu = "unavailable" in created ? undefined : created;
const cpu = new CpuBackend();
const it = gpu ? test : test.skip;
if (!gpu) console.log(`skipped: webgpu map tests: ${(created as { unavailable: string }).unavailable}`);

let seed = 99;
function randomData(n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    a[i] = Math.round((seed / 4294967296) * 2000 - 1000) / 8;
  }
  return a;
}

/** A view of a fresh buffer of `size` random values on both backends. */
function views(size: number, shape: number[], strides: number[], offset: number): { cpu: View; gpu: View } {
  const data = randomData(size);
  const cb = cpu.upload(data, "float32"), gb = gpu!.upload(data, "float32");
  return { cpu: { buf: cb, dtype: "float32", shape, strides, offset }, gpu: { buf: gb, dtype: "float32", shape, strides, offset } };
}

const cases: { label: string; shape: number[]; a: [number, number[], number]; b: [number, number[], number] }[] = [
  // [size of buffer, strides, offset] for each operand
  { label: "transposed [5, 3] + row broadcast (last dim 3 < 4)", shape: [5, 3], a: [15, [1, 5], 0], b: [3, [0, 1], 0] },
  { label: "last dim 2, column broadcast, offset", shape: [7, 2], a: [20, [2, 1], 5], b: [9, [1, 0], 2] },
  { label: "last dim 4 exactly, strided rows", shape: [3, 4], a: [40, [10, 2], 1], b: [12, [4, 1], 0] },
  { label: "last dim 9 (carries mid-invocation), reversed columns", shape: [5, 9], a: [45, [9, -1], 8], b: [9, [0, 1], 0] },
  { label: "3-D with a transposed middle", shape: [3, 5, 6], a: [90, [30, 1, 5], 0], b: [6, [0, 0, 1], 0] },
  { label: "4-D strided, 1,001 elements", shape: [7, 11, 13, 1], a: [2002, [286, 26, 2, 1], 1], b: [13, [0, 0, 1, 0], 0] },
];

it("binary ops on strided, broadcast, reversed and offset views match the cpu", async () => {
  for (const c of cases) {
    const a = views(c.a[0], c.shape, c.a[1], c.a[2]), b = views(c.b[0], c.shape, c.b[1], c.b[2]);
    const n = c.shape.reduce((x, y) => x * y, 1);
    for (const op of ["add", "mul", "maximum"] as BinaryOp[]) {
      const want = cpu.readSync(cpu.binary(op, a.cpu, b.cpu, "float32"), "float32", n);
      const got = await gpu!.read(gpu!.binary(op, a.gpu, b.gpu, "float32"), "float32", n);
      for (let i = 0; i < n; i++) if (want[i] !== got[i]) assert.unreachable(`${op} ${c.label}: element ${i} of ${n}: webgpu ${got[i]}, cpu ${want[i]}`);
    }
    const want = cpu.readSync(cpu.copy(a.cpu, "float32"), "float32", n);
    const got = await gpu!.read(gpu!.copy(a.gpu, "float32"), "float32", n);
    for (let i = 0; i < n; i++) if (want[i] !== got[i]) assert.unreachable(`copy ${c.label}: element ${i} of ${n}: webgpu ${got[i]}, cpu ${want[i]}`);
  }
});

it("gather with inner sizes around the 4 outputs per invocation matches the cpu; a bad index is still reported", async () => {
  for (const [outer, axis, inner, nIdx] of [[1, 9, 1, 11], [2, 6, 3, 7], [3, 4, 5, 5], [1, 50, 784, 9]]) {
    const data = randomData(outer * axis * inner);
    const idxData = Int32Array.from({ length: nIdx }, (_, j) => (j * 5 + 2) % axis);
    const x = { cpu: cpu.upload(data, "float32"), gpu: gpu!.upload(data, "float32") };
    const idx = { cpu: cpu.upload(idxData, "int32"), gpu: gpu!.upload(idxData, "int32") };
    const n = outer * nIdx * inner;
    const want = cpu.readSync(cpu.gather(x.cpu, "float32", idx.cpu, outer, axis, inner, nIdx), "float32", n);
    const got = await gpu!.read(gpu!.gather(x.gpu, "float32", idx.gpu, outer, axis, inner, nIdx), "float32", n);
    for (let i = 0; i < n; i++) if (want[i] !== got[i]) assert.unreachable(`gather [${outer}, ${axis}, ${inner}] × ${nIdx}: element ${i}: webgpu ${got[i]}, cpu ${want[i]}`);
  }
  const bad = gpu!.upload(Int32Array.from([0, 2, 1, 7, 2]), "int32");
  const src = gpu!.upload(randomData(2 * 3 * 3), "float32");
  const out = gpu!.gather(src, "float32", bad, 2, 3, 3, 5);
  try {
    await gpu!.read(out, "float32", 30);
    assert.unreachable("the out-of-range index 7 was not reported");
  } catch (e) {
    assert.match((e as Error).message, /^gather: index 7 at position 3 is out of range for an axis of size 3/);
  }
});

test.run();
