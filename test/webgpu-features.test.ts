/**
 * Optional WebGPU features: reductions with and without `subgroups` (and with r split across workgroups)
 * against the CPU backend, and DAWNET_WEBGPU_DISABLE_FEATURES. Skipped, with the reason, when no adapter
 * exists; the subgroup path is skipped when the adapter lacks the feature.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { availableParallelism } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Buf, ReduceOp } from "../lib/backend/backend.js";
import { CpuBackend } from "../lib/backend/cpu/cpu.js";
import { WebGPUBackend, createWebGPUBackend } from "../lib/backend/webgpu/webgpu.js";
import { disabledFeatures } from "../lib/backend/webgpu/device.js";
import { reducePlan } from "../lib/backend/webgpu/kernels/reduce.js";
import { newArray, type DType, type TypedArray } from "../lib/dtype.js";

const disabledNote = process.env.DAWNET_WEBGPU_DISABLE_FEATURES ? ` (DAWNET_WEBGPU_DISABLE_FEATURES=${process.env.DAWNET_WEBGPU_DISABLE_FEATURES})` : "";
const created = await createWebGPUBackend();
const gpu = "unavailable" in created ? undefined : (created as WebGPUBackend);
const cpu = new CpuBackend();
const withAdapter = gpu ? test : test.skip;
if (!gpu) console.log(`skipped: webgpu feature tests: ${(created as { unavailable: string }).unavailable}`);
const hasSubgroups = !!gpu?.features.has("subgroups");
const withSubgroups = hasSubgroups ? test : test.skip;
if (gpu && !hasSubgroups) console.log(`skipped: reductions with subgroups: adapter '${gpu.adapterDescription}' has no 'subgroups' feature${disabledNote}`);
const here = dirname(fileURLToPath(import.meta.url));

let seed = 777;
function rand(): number {
  seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
  return seed / 4294967296;
}

const OPS: ReduceOp[] = ["sum", "prod", "max", "min", "argmax", "argmin"];
const outDTypeOf = (op: ReduceOp, dtype: DType): DType =>
  op === "argmax" || op === "argmin" ? "int32" : (op === "sum" || op === "prod") && dtype === "bool" ? "int32" : dtype;

/** |gpu − cpu| ≤ atol + rtol·|cpu|; NaN matches NaN; infinities and integers exactly. */
async function expectReduce(label: string, op: ReduceOp, data: TypedArray, dtype: DType, outer: number, r: number, inner: number, tol = { atol: 1e-5, rtol: 1e-5 }): Promise<void> {
  const c = cpu.upload(data, dtype), g = gpu!.upload(data, dtype);
  const outDtype = outDTypeOf(op, dtype), n = outer * inner;
  const cOut: Buf = cpu.reduce(op, c, dtype, outer, r, inner), gOut: Buf = gpu!.reduce(op, g, dtype, outer, r, inner);
  const want = cpu.readSync(cOut, outDtype, n), got = await gpu!.read(gOut, outDtype, n);
  for (let i = 0; i < n; i++) {
    const w = want[i], v = got[i];
    if (v === w || (Number.isNaN(w) && Number.isNaN(v))) continue;
    if (Number.isFinite(w) && Math.abs(v - w) <= tol.atol + tol.rtol * Math.abs(w)) continue;
    assert.unreachable(`${label}: ${op} ${dtype} [${outer}, ${r}, ${inner}] output ${i}: webgpu ${v}, cpu ${w}`);
  }
  for (const b of [c, cOut]) cpu.free(b);
  for (const b of [g, gOut]) gpu!.free(b);
}

/** Small values (ties likely, float sums exact: multiples of 1/4 below 2^22). */
function tieData(dtype: DType, n: number): TypedArray {
  const a = newArray(dtype, n);
  for (let i = 0; i < n; i++) a[i] = dtype === "bool" ? (rand() < 0.5 ? 1 : 0) : dtype === "int32" ? Math.floor(rand() * 7) - 3 : Math.round(rand() * 12) / 4 - 0.5;
  return a;
}

// One invocation per output, one workgroup per output, and r split into 2, 4 and 24 parts.
const SHAPES: [number, number, number][] = [[5, 7, 1], [2, 257, 3], [3, 130, 1], [1, 20000, 1], [2, 9000, 3], [1, 100003, 1]];

async function reduceSuite(label: string): Promise<void> {
  for (const [outer, r, inner] of SHAPES) {
    for (const dtype of ["float32", "int32", "bool"] as DType[]) {
      const data = tieData(dtype, outer * r * inner);
      for (const op of OPS) {
        // Float products over long r: values near 1 (a product of thousands of quarters overflows or hits 0 order-dependently).
        const x = op === "prod" && dtype === "float32" ? Float32Array.from(data, (v) => 1 + v / 2048) : data;
        await expectReduce(label, op, x, dtype, outer, r, inner, { atol: 1e-5, rtol: op === "prod" ? 1e-4 : 1e-5 });
      }
    }
  }
  // NaN: max/min propagate it from any part; argmax/argmin skip it unless it is the first element (then 0).
  for (const [outer, r, inner] of [[1, 300, 1], [1, 20000, 1], [2, 9000, 3]] as [number, number, number][]) {
    const n = outer * r * inner;
    const late = Float32Array.from(tieData("float32", n));
    late[n - 5] = NaN;
    late[Math.floor(n / 2)] = 9; // the maximum in a middle part
    for (const op of OPS) await expectReduce(`${label} NaN late`, op, late, "float32", outer, r, inner);
    const first = Float32Array.from(late);
    for (let o = 0; o < outer; o++) for (let i = 0; i < inner; i++) first[o * r * inner + i] = NaN;
    for (const op of ["argmax", "argmin", "max"] as ReduceOp[]) await expectReduce(`${label} NaN first`, op, first, "float32", outer, r, inner);
    const allNan = new Float32Array(n).fill(NaN);
    allNan[n - 1] = -Infinity;
    for (const op of ["argmax", "argmin", "min"] as ReduceOp[]) await expectReduce(`${label} all NaN`, op, allNan, "float32", outer, r, inner);
  }
  // Extremes at ±Inf and the int32 limits, where the identities of max/min live.
  const inf = new Float32Array(20000).fill(-Infinity);
  inf[12345] = -Infinity;
  for (const op of ["max", "argmax", "argmin"] as ReduceOp[]) await expectReduce(`${label} -Inf`, op, inf, "float32", 1, 20000, 1);
  const ints = new Int32Array(20000).fill(-2147483648);
  ints[19999] = 2147483647;
  for (const op of ["max", "min", "argmax", "argmin", "sum"] as ReduceOp[]) await expectReduce(`${label} int32 limits`, op, ints, "int32", 1, 20000, 1);
}

test("reducePlan: thread per output below r = 128, a workgroup per output above, r split only for few outputs and long r", () => {
  assert.equal(reducePlan(10, 127), { tree: false, parts: 1 });
  assert.equal(reducePlan(10, 128), { tree: true, parts: 1 });
  assert.equal(reducePlan(1, 20000), { tree: true, parts: 4 });
  assert.equal(reducePlan(1, 1 << 24), { tree: true, parts: 4096 });
  assert.equal(reducePlan(4096, 1 << 20), { tree: true, parts: 1 });
  // Software adapters: one invocation per output unless few outputs have a long r.
  assert.equal(reducePlan(4096, 256, "thread"), { tree: false, parts: 1 });
  assert.equal(reducePlan(16, 4096, "thread"), { tree: false, parts: 1 });
  // ... and long chunks, a few per core, when r is split.
  assert.equal(reducePlan(1, 100003, "thread"), { tree: true, parts: 1 });
  assert.equal(reducePlan(1, 1 << 20, "thread"), { tree: true, parts: Math.min(16, 4 * availableParallelism()) });
});

test("DAWNET_WEBGPU_DISABLE_FEATURES: all, a list, and a clear error for an unknown name", () => {
  assert.equal([...disabledFeatures("all")].sort(), ["shader-f16", "subgroups", "timestamp-query"]);
  assert.equal([...disabledFeatures("subgroups, timestamp-query")].sort(), ["subgroups", "timestamp-query"]);
  assert.equal(disabledFeatures("").size, 0);
  assert.throws(() => disabledFeatures("subgroup"), /unknown feature 'subgroup' \(known: all, shader-f16, subgroups, timestamp-query\)/);
});

/** Runs `fn` with the given reduction style and subgroup setting, then restores the backend's own. */
async function withSettings(style: "workgroup" | "thread", subgroups: boolean, fn: () => Promise<void>): Promise<void> {
  const style0 = gpu!.reduceStyle, subgroups0 = gpu!.usesSubgroups;
  gpu!.reduceStyle = style;
  gpu!.useSubgroups(subgroups);
  try {
    await fn();
  } finally {
    gpu!.reduceStyle = style0;
    gpu!.useSubgroups(subgroups0);
  }
}

/** 65,537 outputs of r = 128: one workgroup each, past 65,535 workgroups the grid is 2-D. */
async function gridSuite(label: string): Promise<void> {
  const outer = 65537, r = 128;
  const data = Float32Array.from({ length: outer * r }, () => rand() - 0.5);
  for (const op of ["sum", "argmax"] as ReduceOp[]) await expectReduce(`${label} 2-D grid`, op, data, "float32", outer, r, 1, { atol: 1e-5, rtol: 1e-5 });
}

withAdapter("reduce without subgroups (workgroup-memory tree), GPU plans, matches the CPU backend", () =>
  withSettings("workgroup", false, async () => {
    await reduceSuite("tree");
    await gridSuite("tree");
  }));

withSubgroups("reduce with subgroups, GPU plans, matches the CPU backend", () =>
  withSettings("workgroup", true, async () => {
    await reduceSuite("subgroups");
    await gridSuite("subgroups");
  }));

withAdapter("reduce with software-adapter plans (thread per output up to r 8192) matches the CPU backend", () => withSettings("thread", hasSubgroups, () => reduceSuite("thread style")));

// One invocation per output sums r values in one float32 accumulator: sequentially, 8,192 × 0.1 is off by
// 6.5e-5 (131,072: 1e-3) where the CPU sums in float64; the workgroup plans keep 64 partial sums.
withAdapter("float32 sums over a long r stay within 1e-5 of the CPU on every plan (thread per output included)", () =>
  withSettings("thread", false, async () => {
    const outer = 256, r = 8192;
    const data = new Float32Array(outer * r).fill(0.1); // equal terms: rounding errors add up instead of cancelling
    await expectReduce("thread style long r", "sum", data, "float32", outer, r, 1, { atol: 0, rtol: 1e-5 });
    await expectReduce("thread style long r, inner", "sum", data, "float32", 1, r, outer, { atol: 0, rtol: 1e-5 });
    // Few outputs: r split into 8 long parts, 8,192 terms per invocation of a workgroup.
    await expectReduce("thread style split r", "sum", new Float32Array(1 << 22).fill(0.1), "float32", 1, 1 << 22, 1, { atol: 0, rtol: 1e-5 });
  }));

withAdapter("a device created with DAWNET_WEBGPU_DISABLE_FEATURES=all has none of them, refuses subgroups and shader-f16 clearly, still reduces and multiplies float16 operands", () => {
  const module = join(here, "..", "lib", "backend", "webgpu", "webgpu.js");
  const source = `const m = await import(${JSON.stringify(module)});
    const b = await m.createWebGPUBackend();
    const found = ["shader-f16", "subgroups", "timestamp-query"].filter((f) => b.features.has(f));
    let refusal = "none";
    try { b.useSubgroups(true); } catch (e) { refusal = e.message; }
    let f16Refusal = "none";
    try { b.useShaderF16(true); } catch (e) { f16Refusal = e.message; }
    const x = b.upload(Float32Array.from({ length: 50000 }, (_, i) => i % 7), "float32");
    const s = await b.read(b.reduce("sum", x, "float32", 1, 50000, 1), "float32", 1);
    // float16 operands without shader-f16: unpacked from words (1.5 and 2 are exact in float16).
    const p = { batch: 1, m: 1, k: 2, n: 1, aBatchStride: 0, bBatchStride: 0, transA: false, transB: false };
    const h = b.packHalf(b.upload(Float32Array.of(1.5, 2), "float32"), 2);
    const product = await b.read(b.matmulHalf(h, h, { ...p, m: 1, n: 1 }, { a: true, b: true }), "float32", 1);
    console.log(JSON.stringify({ found, usesSubgroups: b.usesSubgroups, refusal, f16Refusal, usesShaderF16: b.usesShaderF16, sum: s[0], product: product[0] }));`;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", source], { env: { ...process.env, DAWNET_WEBGPU_DISABLE_FEATURES: "all" }, encoding: "utf8", timeout: 60_000 });
  assert.is(r.status, 0, r.stderr);
  const result = JSON.parse(r.stdout.trim().split("\n").pop()!);
  assert.equal(result.found, []);
  assert.is(result.usesSubgroups, false);
  assert.match(result.refusal, /webgpu useSubgroups: this device has no 'subgroups' feature .*DAWNET_WEBGPU_DISABLE_FEATURES=all is set/);
  let want = 0;
  for (let i = 0; i < 50000; i++) want += i % 7;
  assert.is(result.sum, want);
  assert.match(result.f16Refusal, /webgpu useShaderF16: this device has no 'shader-f16' feature/);
  assert.is(result.usesShaderF16, false);
  assert.is(result.product, 1.5 * 1.5 + 2 * 2); // [1.5, 2] · [1.5, 2]ᵀ
});

test.run();
