/**
 * Half-precision matmul operands (packHalf, matmulHalf) against the CPU backend, with `shader-f16`
 * (array<f16> loads) and without it (unpack2x16float), on both matmul kernels. Tolerances: the kernel
 * against the CPU product of the decoded float16 inputs, as float32 matmul (rtol 1e-5); against the
 * float32 inputs, 2.5 · 2⁻¹⁰ · Σₖ|aᵢₖ·bₖⱼ| (each operand rounds to a neighbouring float16: relative error
 * below 2⁻¹⁰). Skipped, with the reason, without an adapter.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { Buf, MatmulParams } from "../lib/backend/backend.js";
import { CpuBackend } from "../lib/backend/cpu/cpu.js";
import { WebGPUBackend, createWebGPUBackend } from "../lib/backend/webgpu/webgpu.js";

const disabledNote = process.env.DAWNET_WEBGPU_DISABLE_FEATURES ? ` (DAWNET_WEBGPU_DISABLE_FEATURES=${process.env.DAWNET_WEBGPU_DISABLE_FEATURES})` : "";
const created = await createWebGPUBackend();
const gpu = "unavailable" in created ? undefined : (created as WebGPUBackend);
const cpu = new CpuBackend();
const it = gpu ? test : test.skip;
if (!gpu) console.log(`skipped: webgpu half-precision tests: ${(created as { unavailable: string }).unavailable}`);
const hasF16 = !!gpu?.features.has("shader-f16");
if (gpu && !hasF16) console.log(`skipped: matmulHalf with shader-f16: adapter '${gpu.adapterDescription}' has no 'shader-f16' feature${disabledNote} (the unpack path runs)`);

let seed = 99;
function rand(): number {
  seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
  return seed / 4294967296;
}

/** IEEE binary16 bits → number. */
function halfToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, f = h & 0x3ff;
  if (e === 0) return sign * f * 2 ** -24;
  if (e === 31) return f ? NaN : sign * Infinity;
  return sign * (1 + f / 1024) * 2 ** (e - 15);
}

/** The float16 values a packed buffer holds, as float32. */
async function decode(packed: Buf, n: number): Promise<Float32Array> {
  const words = new Uint32Array((await gpu!.read(packed, "int32", Math.ceil(n / 2))).buffer);
  return Float32Array.from({ length: n }, (_, i) => halfToNumber(i % 2 === 0 ? words[i >> 1] & 0xffff : words[i >> 1] >>> 16));
}

it("packHalf: exact float16 values stay exact, others land on a neighbour; NaN, ±Inf, overflow, subnormals, odd length", async () => {
  const exact = [0, -0, 1, -2, 0.5, 65504, -65504, 2 ** -24, -(2 ** -14), 1000.5, 3.140625];
  const special = [NaN, Infinity, -Infinity, 70000, -65520, 1e-9];
  const rounded = [0.1, -1 / 3, 12345.678, 2 ** -20 * 1.3];
  const x = Float32Array.from([...exact, ...special, ...rounded]);
  const packed = gpu!.packHalf(gpu!.upload(x, "float32"), x.length);
  const got = await decode(packed, x.length);
  exact.forEach((v, i) => assert.ok(Object.is(got[i], Math.fround(v)), `${v}: got ${got[i]}`));
  const s = exact.length;
  assert.ok(Number.isNaN(got[s]));
  assert.equal(Array.from(got.slice(s + 1, s + 5)), [Infinity, -Infinity, Infinity, -Infinity]);
  assert.ok(got[s + 5] === 0 || got[s + 5] === 2 ** -24, `1e-9 → ${got[s + 5]}`);
  rounded.forEach((v, k) => {
    const g = got[s + special.length + k];
    const ulp = Math.abs(v) >= 2 ** -14 ? 2 ** (Math.floor(Math.log2(Math.abs(v))) - 10) : 2 ** -24;
    assert.ok(Math.abs(g - v) < ulp, `${v} → ${g} (float16 spacing there ${ulp})`);
  });
});

interface Case { p: MatmulParams; label: string }
const CASES: Case[] = [
  { label: "5x7 @ 7x3", p: { batch: 1, m: 5, k: 7, n: 3, aBatchStride: 0, bBatchStride: 0, transA: false, transB: false } },
  { label: "70x130 @ 130x65 transposed A and B", p: { batch: 1, m: 70, k: 130, n: 65, aBatchStride: 0, bBatchStride: 0, transA: true, transB: true } },
  { label: "batch 3 of 33x40 @ broadcast 40x17", p: { batch: 3, m: 33, k: 40, n: 17, aBatchStride: 33 * 40, bBatchStride: 0, transA: false, transB: false } },
];

async function matmulHalfSuite(label: string): Promise<void> {
  for (const { p, label: shape } of CASES) {
    const aLen = p.aBatchStride ? p.batch * p.aBatchStride : p.m * p.k, bLen = p.bBatchStride ? p.batch * p.bBatchStride : p.k * p.n;
    const a = Float32Array.from({ length: aLen }, () => (rand() - 0.5) * 4);
    const b = Float32Array.from({ length: bLen }, () => (rand() - 0.5) * 4);
    const outN = p.batch * p.m * p.n;
    const exactProduct = cpu.readSync(cpu.matmul(cpu.upload(a, "float32"), cpu.upload(b, "float32"), "float32", p), "float32", outN);
    const magnitude = cpu.readSync(cpu.matmul(cpu.upload(a.map(Math.abs), "float32"), cpu.upload(b.map(Math.abs), "float32"), "float32", p), "float32", outN);
    const aGpu = gpu!.upload(a, "float32"), bGpu = gpu!.upload(b, "float32");
    const aHalf = gpu!.packHalf(aGpu, aLen), bHalf = gpu!.packHalf(bGpu, bLen);
    const aDecoded = await decode(aHalf, aLen), bDecoded = await decode(bHalf, bLen);
    for (const half of [{ a: false, b: true }, { a: true, b: false }, { a: true, b: true }]) {
      const tag = `${label} ${shape} a:${half.a ? "f16" : "f32"} b:${half.b ? "f16" : "f32"}`;
      const got = await gpu!.read(gpu!.matmulHalf(half.a ? aHalf : aGpu, half.b ? bHalf : bGpu, p, half), "float32", outN);
      const reference = cpu.readSync(cpu.matmul(cpu.upload(half.a ? aDecoded : a, "float32"), cpu.upload(half.b ? bDecoded : b, "float32"), "float32", p), "float32", outN);
      for (let i = 0; i < outN; i++) {
        assert.ok(Math.abs(got[i] - reference[i]) <= 1e-5 * magnitude[i] + 1e-6, `${tag} output ${i}: webgpu ${got[i]}, cpu on the float16 inputs ${reference[i]}`);
        assert.ok(Math.abs(got[i] - exactProduct[i]) <= 2.5 * 2 ** -10 * magnitude[i] + 1e-6, `${tag} output ${i}: webgpu ${got[i]}, float32 product ${exactProduct[i]}`);
      }
    }
    for (const x of [aGpu, bGpu, aHalf, bHalf]) gpu!.free(x);
  }
}

/** Runs `fn` with the given matmul kernel family and f16 binding, then restores the backend's own. */
async function withSettings(kernel: "tiled" | "direct", nativeF16: boolean, fn: () => Promise<void>): Promise<void> {
  const settable = gpu as unknown as { matmulVariant: "tiled" | "direct" };
  const kernel0 = settable.matmulVariant, native0 = gpu!.usesShaderF16;
  settable.matmulVariant = kernel;
  gpu!.useShaderF16(nativeF16);
  try {
    await fn();
  } finally {
    settable.matmulVariant = kernel0;
    gpu!.useShaderF16(native0);
  }
}

for (const kernel of ["direct", "tiled"] as const) {
  it(`matmulHalf (${kernel} kernel) without shader-f16 (unpack2x16float) matches the CPU`, () => withSettings(kernel, false, () => matmulHalfSuite("unpack")));
  (hasF16 ? it : test.skip)(`matmulHalf (${kernel} kernel) with shader-f16 (array<f16>) matches the CPU`, () => withSettings(kernel, true, () => matmulHalfSuite("shader-f16")));
}

it("matmulHalf: k = 0 gives zeros; useShaderF16 refuses clearly where the feature is missing", async () => {
  const p: MatmulParams = { batch: 1, m: 2, k: 0, n: 3, aBatchStride: 0, bBatchStride: 0, transA: false, transB: false };
  const empty = gpu!.alloc(0, "int32");
  assert.equal(Array.from(await gpu!.read(gpu!.matmulHalf(empty, empty, p, { a: true, b: true }), "float32", 6)), [0, 0, 0, 0, 0, 0]);
  if (!hasF16) assert.throws(() => gpu!.useShaderF16(true), /webgpu useShaderF16: this device has no 'shader-f16' feature/);
});

test.run();
