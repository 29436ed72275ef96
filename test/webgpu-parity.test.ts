/**
 * WebGPU backend parity: every Backend primitive on webgpu against CpuBackend (the reference) on the same
 * random inputs, including special values (NaN, ±Inf, ±0, halves), odd sizes, strided/broadcast/offset
 * views, size-1 and empty dims, int32 and bool. Tolerances are stated per op. Skipped, with the reason,
 * when no WebGPU adapter exists.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { Backend, BinaryOp, Buf, Conv2dParams, MatmulParams, Pool2dParams, ReduceOp, UnaryOp, View } from "../lib/backend/backend.js";
import { CpuBackend } from "../lib/backend/cpu/cpu.js";
import { createWebGPUBackend, splitKSlices, tiledShapeFor } from "../lib/backend/webgpu/webgpu.js";
import { newArray, type DType, type TypedArray } from "../lib/dtype.js";

const created = await createWebGPUBackend();
const gpu = "unavailable" in created ? undefined : created;
const cpu = new CpuBackend();
const it = gpu ? test : test.skip;
if (!gpu) console.log(`skipped: webgpu parity tests: ${(created as { unavailable: string }).unavailable}`);

// ---- deterministic inputs
let seed = 12345;
function rand(): number {
  seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
  return seed / 4294967296;
}
const SPECIAL = [NaN, Infinity, -Infinity, 0, -0, 0.5, -0.5, 1.5, 2.5, -2.5, 1, -1, 1e-7, 88.5, -100];
function randomData(dtype: DType, n: number, opts: { special?: boolean; lo?: number; hi?: number } = {}): TypedArray {
  const a = newArray(dtype, n);
  const lo = opts.lo ?? -3, hi = opts.hi ?? 3;
  for (let i = 0; i < n; i++) {
    if (dtype === "bool") a[i] = rand() < 0.5 ? 1 : 0;
    else if (dtype === "int32") a[i] = Math.floor(lo + rand() * (hi - lo + 1));
    else a[i] = opts.special && i < SPECIAL.length ? SPECIAL[i] : lo + rand() * (hi - lo);
  }
  return a;
}

/** The same data on both backends. */
interface Pair { cpu: Buf; gpu: Buf; dtype: DType; n: number }
function pair(data: TypedArray, dtype: DType): Pair {
  return { cpu: cpu.upload(data, dtype), gpu: gpu!.upload(data, dtype), dtype, n: data.length };
}
function view(p: Pair, shape: number[], strides?: number[], offset = 0): { cpu: View; gpu: View } {
  const st = strides ?? contiguous(shape);
  return { cpu: { buf: p.cpu, dtype: p.dtype, shape, strides: st, offset }, gpu: { buf: p.gpu, dtype: p.dtype, shape, strides: st, offset } };
}
function contiguous(shape: number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    s[d] = acc;
    acc *= shape[d];
  }
  return s;
}

/** Reads both results and compares elementwise: |gpu − cpu| ≤ atol + rtol·|cpu|, NaN matches NaN, infinities exactly. */
async function expectClose(label: string, cpuBuf: Buf, gpuBuf: Buf, dtype: DType, n: number, tol: { atol?: number; rtol?: number } = {}): Promise<void> {
  const atol = tol.atol ?? 1e-6, rtol = tol.rtol ?? 1e-5;
  const want = cpu.readSync(cpuBuf, dtype, n);
  const got = await gpu!.read(gpuBuf, dtype, n);
  assert.is(got.constructor, want.constructor, `${label}: result array type`);
  assert.is(got.length, n, `${label}: length`);
  for (let i = 0; i < n; i++) {
    const g = got[i], w = want[i];
    if (Number.isNaN(w) && Number.isNaN(g)) continue;
    if (g === w) continue;
    if (Number.isFinite(w) && Math.abs(g - w) <= atol + rtol * Math.abs(w)) continue;
    assert.unreachable(`${label}: element ${i}: webgpu ${g}, cpu ${w} (atol ${atol}, rtol ${rtol})`);
  }
  cpu.free(cpuBuf);
  gpu!.free(gpuBuf);
}

const UNARY_TOL: Partial<Record<UnaryOp, { atol?: number; rtol?: number }>> = {
  // Transcendentals: WGSL/Vulkan precision is a few ulp; sin/cos are only guaranteed to ~1e-6 absolute near ±π.
  exp: { rtol: 2e-6 }, log: { atol: 1e-6, rtol: 2e-6 }, log1p: { atol: 1e-6, rtol: 2e-6 },
  sin: { atol: 2e-6 }, cos: { atol: 2e-6 }, tanh: { atol: 1e-6, rtol: 2e-6 }, sigmoid: { atol: 1e-6 },
  erf: { atol: 1e-6 }, gelu: { atol: 2e-6 }, geluGrad: { atol: 2e-6 }, softplus: { atol: 1e-6 }, elu: { atol: 1e-6 },
};
const UNARY_OPS: UnaryOp[] = ["neg", "abs", "exp", "log", "log1p", "sqrt", "rsqrt", "square", "reciprocal", "sin", "cos", "tanh", "sigmoid",
  "relu", "sign", "floor", "ceil", "round", "erf", "gelu", "geluGrad", "softplus", "logicalNot", "leakyRelu", "elu"];

it("unary: every op on float32 with NaN, ±Inf, ±0 and halves (257 elements)", async () => {
  const x = pair(randomData("float32", 257, { special: true, lo: -6, hi: 6 }), "float32");
  const v = view(x, [257]);
  for (const op of UNARY_OPS) {
    const param = op === "leakyRelu" ? 0.2 : op === "elu" ? 1.3 : 0;
    const outDtype: DType = op === "logicalNot" ? "bool" : "float32";
    await expectClose(`unary ${op}`, cpu.unary(op, v.cpu, outDtype, param), gpu!.unary(op, v.gpu, outDtype, param), outDtype, 257, UNARY_TOL[op]);
  }
});

it("unary: int32 and bool inputs keep integer math; float ops on ints give float32", async () => {
  const xi = pair(randomData("int32", 67, { lo: -50, hi: 50 }), "int32");
  const vi = view(xi, [67]);
  for (const op of ["neg", "abs", "square", "relu", "sign", "floor", "ceil", "round"] as UnaryOp[]) {
    await expectClose(`unary ${op} int32`, cpu.unary(op, vi.cpu, "int32"), gpu!.unary(op, vi.gpu, "int32"), "int32", 67);
  }
  await expectClose("logicalNot int32", cpu.unary("logicalNot", vi.cpu, "bool"), gpu!.unary("logicalNot", vi.gpu, "bool"), "bool", 67);
  await expectClose("sqrt int32 → float32", cpu.unary("sqrt", vi.cpu, "float32"), gpu!.unary("sqrt", vi.gpu, "float32"), "float32", 67);
  const small = view(pair(randomData("int32", 11, { lo: -5, hi: 5 }), "int32"), [11]);
  await expectClose("exp int32 → int32 truncates", cpu.unary("exp", small.cpu, "int32"), gpu!.unary("exp", small.gpu, "int32"), "int32", 11);
  const xb = pair(randomData("bool", 9), "bool");
  const vb = view(xb, [9]);
  await expectClose("logicalNot bool", cpu.unary("logicalNot", vb.cpu, "bool"), gpu!.unary("logicalNot", vb.gpu, "bool"), "bool", 9);
  await expectClose("neg bool → int32", cpu.unary("neg", vb.cpu, "int32"), gpu!.unary("neg", vb.gpu, "int32"), "int32", 9);
});

it("unary: sizes 1, 3 and 65,537; transposed, broadcast (stride 0) and offset views", async () => {
  for (const n of [1, 3, 65537]) {
    const x = pair(randomData("float32", n), "float32");
    const v = view(x, [n]);
    await expectClose(`sigmoid n=${n}`, cpu.unary("sigmoid", v.cpu, "float32"), gpu!.unary("sigmoid", v.gpu, "float32"), "float32", n, { atol: 1e-6 });
  }
  const x = pair(randomData("float32", 5 * 7 + 3), "float32");
  const transposed = view(x, [7, 5], [1, 7], 3);
  await expectClose("exp transposed+offset", cpu.unary("exp", transposed.cpu, "float32"), gpu!.unary("exp", transposed.gpu, "float32"), "float32", 35, { rtol: 2e-6 });
  const broadcast = view(x, [4, 3, 5], [0, 5, 1], 2);
  await expectClose("neg broadcast", cpu.unary("neg", broadcast.cpu, "float32"), gpu!.unary("neg", broadcast.gpu, "float32"), "float32", 60);
  const sizeOne = view(x, [1, 5, 1, 2], [99, 7, 42, 1], 1);
  await expectClose("abs size-1 dims", cpu.unary("abs", sizeOne.cpu, "float32"), gpu!.unary("abs", sizeOne.gpu, "float32"), "float32", 10);
  const empty = view(x, [3, 0, 2]);
  const e = gpu!.unary("exp", empty.gpu, "float32");
  assert.is((await gpu!.read(e, "float32", 0)).length, 0);
  // 8 non-mergeable dims (every other stride skips), the most the map kernel takes.
  const big = pair(randomData("float32", 2 ** 9 * 2), "float32");
  const shape8 = [2, 2, 2, 2, 2, 2, 2, 2];
  const strides8 = [512, 256, 64, 32, 16, 8, 4, 2].map((s, d) => (d % 2 ? s : s * 2 > 1023 ? s : s));
  const v8 = view(big, shape8, strides8, 1);
  await expectClose("neg 8-d strided", cpu.unary("neg", v8.cpu, "float32"), gpu!.unary("neg", v8.gpu, "float32"), "float32", 256);
});

/**
 * WGSL's pow is only as accurate as exp2(y·log2(x)), and exp2(t) is allowed 3 + 2|t| ULP: for results
 * near 1e30 (t ≈ 100) that is ~1.2e-5 relative. NVIDIA's Vulkan driver uses that latitude (measured
 * 1.05e-5 on an H100); lavapipe stays within 4e-6.
 */
const POW_RTOL = 3e-5;
const BINARY_OPS: BinaryOp[] = ["add", "sub", "mul", "div", "pow", "maximum", "minimum", "eq", "ne", "lt", "le", "gt", "ge", "logicalAnd", "logicalOr"];
const COMPARISON = new Set<BinaryOp>(["eq", "ne", "lt", "le", "gt", "ge", "logicalAnd", "logicalOr"]);

it("binary: every op on float32 with specials, broadcast [4,1,5]×[1,3,5] and transposed", async () => {
  const a = pair(randomData("float32", 20, { special: true }), "float32");
  const b = pair(Float32Array.from(randomData("float32", 15, { special: false }), (v, i) => (i % 4 === 0 ? Math.round(v) : v)), "float32");
  const va = view(a, [4, 3, 5], [5, 0, 1]);
  const vb = view(b, [4, 3, 5], [0, 5, 1]);
  for (const op of BINARY_OPS) {
    const outDtype: DType = COMPARISON.has(op) ? "bool" : "float32";
    await expectClose(`binary ${op}`, cpu.binary(op, va.cpu, vb.cpu, outDtype), gpu!.binary(op, va.gpu, vb.gpu, outDtype), outDtype, 60, { rtol: op === "pow" ? POW_RTOL : 1e-6 });
  }
  // Every special value against every special value.
  const s = pair(Float32Array.from(SPECIAL), "float32");
  const n = SPECIAL.length;
  const rows = view(s, [n, n], [1, 0]), cols = view(s, [n, n], [0, 1]);
  for (const op of BINARY_OPS) {
    const outDtype: DType = COMPARISON.has(op) ? "bool" : "float32";
    await expectClose(`binary ${op} specials×specials`, cpu.binary(op, rows.cpu, cols.cpu, outDtype), gpu!.binary(op, rows.gpu, cols.gpu, outDtype), outDtype, n * n, { rtol: op === "pow" ? POW_RTOL : 4e-6 });
  }
});

it("binary: int32 math (division by zero, negative powers, wrap-around) and bool logic", async () => {
  const a = pair(Int32Array.from([7, -7, 0, 5, -3, 2147483647, 2, -1, 1, 3, 0, 9]), "int32");
  const b = pair(Int32Array.from([2, 2, 0, 0, -2, 1, 10, -3, -5, 3, -1, 4]), "int32");
  const va = view(a, [12]), vb = view(b, [12]);
  for (const op of BINARY_OPS) {
    const outDtype: DType = COMPARISON.has(op) ? "bool" : "int32";
    await expectClose(`binary ${op} int32`, cpu.binary(op, va.cpu, vb.cpu, outDtype), gpu!.binary(op, va.gpu, vb.gpu, outDtype), outDtype, 12);
  }
  const p = pair(Uint8Array.from([0, 1, 1, 0]), "bool"), q = pair(Uint8Array.from([0, 0, 1, 1]), "bool");
  const vp = view(p, [4]), vq = view(q, [4]);
  for (const op of ["logicalAnd", "logicalOr", "eq", "ne"] as BinaryOp[]) {
    await expectClose(`binary ${op} bool`, cpu.binary(op, vp.cpu, vq.cpu, "bool"), gpu!.binary(op, vp.gpu, vq.gpu, "bool"), "bool", 4);
  }
  await expectClose("add bool → int32", cpu.binary("add", vp.cpu, vq.cpu, "int32"), gpu!.binary("add", vp.gpu, vq.gpu, "int32"), "int32", 4);
  const big = pair(randomData("int32", 65537, { lo: -1000, hi: 1000 }), "int32");
  const vbig = view(big, [65537]);
  await expectClose("mul int32 65,537", cpu.binary("mul", vbig.cpu, vbig.cpu, "int32"), gpu!.binary("mul", vbig.gpu, vbig.gpu, "int32"), "int32", 65537);
});

it("copy: every dtype pair (NaN/±Inf/large floats → int32 like JavaScript), strided and 65,537 elements", async () => {
  const f = Float32Array.from([...SPECIAL, 3e9, -3e9, 2147483520, 1e20, 7.9, -7.9]);
  const sources: Pair[] = [pair(f, "float32"), pair(Int32Array.from([0, -1, 5, 2147483647, -2147483648, 7]), "int32"), pair(Uint8Array.from([0, 1, 1, 0]), "bool")];
  for (const src of sources)
    for (const to of ["float32", "int32", "bool"] as DType[]) {
      const v = view(src, [src.n]);
      await expectClose(`copy ${src.dtype} → ${to}`, cpu.copy(v.cpu, to), gpu!.copy(v.gpu, to), to, src.n);
    }
  const x = pair(randomData("float32", 3 * 4 * 5), "float32");
  const permuted = view(x, [5, 3, 4], [1, 20, 5]);
  await expectClose("copy permuted", cpu.copy(permuted.cpu, "float32"), gpu!.copy(permuted.gpu, "float32"), "float32", 60);
  const big = pair(randomData("float32", 65537), "float32");
  const reversed = view(big, [65536], [-1], 65536);
  await expectClose("copy negative stride", cpu.copy(reversed.cpu, "float32"), gpu!.copy(reversed.gpu, "float32"), "float32", 65536);
});

it("copyInto: strided destination region, broadcast source, casting, source aliasing the destination", async () => {
  for (const [dtype, srcDtype] of [["float32", "float32"], ["int32", "float32"], ["float32", "bool"]] as [DType, DType][]) {
    const base = randomData(dtype, 6 * 8);
    const dst = pair(base, dtype);
    const src = pair(randomData(srcDtype, 4), srcDtype);
    const region = { shape: [3, 4], strides: [16, 2], offset: 1, dtype };
    const s = view(src, [3, 4], [0, 1]);
    cpu.copyInto(dst.cpu, region, s.cpu);
    gpu!.copyInto(dst.gpu, region, s.gpu);
    await expectClose(`copyInto ${srcDtype} → ${dtype}`, dst.cpu, dst.gpu, dtype, 48);
  }
  const same = pair(randomData("float32", 16), "float32");
  const region = { shape: [2, 4], strides: [4, 1], offset: 8, dtype: "float32" as DType };
  const s = view(same, [2, 4], [4, 1], 0);
  cpu.copyInto(same.cpu, region, s.cpu);
  gpu!.copyInto(same.gpu, region, s.gpu);
  await expectClose("copyInto aliasing", same.cpu, same.gpu, "float32", 16);
});

it("where: broadcast bool condition over float32 and int32", async () => {
  const c = pair(randomData("bool", 5), "bool");
  for (const dtype of ["float32", "int32"] as DType[]) {
    const a = pair(randomData(dtype, 15), dtype), b = pair(randomData(dtype, 3), dtype);
    const vc = view(c, [3, 5], [0, 1]), va = view(a, [3, 5]), vb = view(b, [3, 5], [1, 0]);
    await expectClose(`where ${dtype}`, cpu.where(vc.cpu, va.cpu, vb.cpu), gpu!.where(vc.gpu, va.gpu, vb.gpu), dtype, 15);
  }
});

const REDUCE_OPS: ReduceOp[] = ["sum", "prod", "max", "min", "argmax", "argmin"];
function reduceOut(op: ReduceOp, dtype: DType): DType {
  return op === "argmax" || op === "argmin" ? "int32" : (op === "sum" || op === "prod") && dtype === "bool" ? "int32" : dtype;
}

it("reduce: every op × dtype over [outer, r, inner] with r = 1, 3, 257 (tree) and 0; NaN and ties", async () => {
  const shapes: [number, number, number][] = [[2, 1, 3], [3, 3, 4], [2, 257, 3], [1, 300, 1], [4, 0, 2], [5, 7, 1]];
  for (const dtype of ["float32", "int32", "bool"] as DType[])
    for (const [outer, r, inner] of shapes) {
      const n = outer * r * inner;
      // Small integers make ties (argmax first occurrence) likely; float products stay bounded near 1.
      const data = dtype === "float32" ? Float32Array.from(randomData("float32", n), (v) => Math.round(v * 2) / 4 + 1) : randomData(dtype, n, { lo: -3, hi: 3 });
      const x = pair(data, dtype);
      for (const op of REDUCE_OPS) {
        const outDtype = reduceOut(op, dtype);
        await expectClose(`reduce ${op} ${dtype} [${outer},${r},${inner}]`, cpu.reduce(op, x.cpu, dtype, outer, r, inner), gpu!.reduce(op, x.gpu, dtype, outer, r, inner), outDtype, outer * inner, { rtol: 1e-5, atol: 1e-5 });
      }
    }
  // NaN: max/min propagate it; argmax ignores it unless it comes first.
  const nan = pair(Float32Array.from([1, NaN, 3, 2, NaN, 5, 0, 7, 9, 2, 2, NaN]), "float32");
  for (const op of REDUCE_OPS)
    for (const [outer, r, inner] of [[4, 3, 1], [1, 4, 3], [1, 12, 1]] as [number, number, number][]) {
      await expectClose(`reduce ${op} NaN [${outer},${r},${inner}]`, cpu.reduce(op, nan.cpu, "float32", outer, r, inner), gpu!.reduce(op, nan.gpu, "float32", outer, r, inner), reduceOut(op, "float32"), outer * inner);
    }
  const nanFirst = pair(Float32Array.from([NaN, 1, 2, ...new Array(200).fill(0).map((_, i) => i % 7)]), "float32");
  for (const op of ["argmax", "argmin", "max"] as ReduceOp[]) {
    await expectClose(`reduce ${op} NaN first (tree)`, cpu.reduce(op, nanFirst.cpu, "float32", 1, 203, 1), gpu!.reduce(op, nanFirst.gpu, "float32", 1, 203, 1), reduceOut(op, "float32"), 1);
  }
  const large = pair(randomData("float32", 65537), "float32");
  await expectClose("reduce sum 65,537 (tree)", cpu.reduce("sum", large.cpu, "float32", 1, 65537, 1), gpu!.reduce("sum", large.gpu, "float32", 1, 65537, 1), "float32", 1, { rtol: 1e-4, atol: 1e-3 });
});

it("cumsum: forward and reverse over [outer, n, inner], bool → int32", async () => {
  for (const dtype of ["float32", "int32", "bool"] as DType[]) {
    const x = pair(randomData(dtype, 2 * 9 * 3), dtype);
    for (const reverse of [false, true]) {
      await expectClose(`cumsum ${dtype} reverse=${reverse}`, cpu.cumsum(x.cpu, dtype, 2, 9, 3, reverse), gpu!.cumsum(x.gpu, dtype, 2, 9, 3, reverse), dtype === "bool" ? "int32" : dtype, 54, { atol: 1e-5 });
    }
  }
});

async function matmulParity(tag: string): Promise<void> {
  const cases: MatmulParams[] = [];
  for (const [m, k, n] of [[1, 1, 1], [3, 5, 7], [65, 17, 130], [2, 70, 3], [130, 33, 257]])
    for (const transA of [false, true])
      for (const transB of [false, true]) cases.push({ batch: 1, m, k, n, aBatchStride: 0, bBatchStride: 0, transA, transB });
  cases.push({ batch: 3, m: 4, k: 6, n: 5, aBatchStride: 24, bBatchStride: 0, transA: false, transB: true });
  cases.push({ batch: 3, m: 4, k: 6, n: 5, aBatchStride: 0, bBatchStride: 30, transA: true, transB: false });
  cases.push({ batch: 2, m: 3, k: 0, n: 2, aBatchStride: 0, bBatchStride: 0, transA: false, transB: false });
  for (const p of cases) {
    const aSize = Math.max(1, (p.batch - 1) * p.aBatchStride + p.m * p.k), bSize = Math.max(1, (p.batch - 1) * p.bBatchStride + p.k * p.n);
    const a = pair(randomData("float32", aSize), "float32"), b = pair(randomData("float32", bSize), "float32");
    await expectClose(`matmul ${JSON.stringify(p)}${tag}`, cpu.matmul(a.cpu, b.cpu, "float32", p), gpu!.matmul(a.gpu, b.gpu, "float32", p), "float32", p.batch * p.m * p.n, { atol: 1e-4, rtol: 1e-5 });
  }
  const p: MatmulParams = { batch: 2, m: 5, k: 9, n: 3, aBatchStride: 45, bBatchStride: 27, transA: false, transB: false };
  const a = pair(randomData("int32", 90, { lo: -100, hi: 100 }), "int32"), b = pair(randomData("int32", 54, { lo: -100, hi: 100 }), "int32");
  await expectClose(`matmul int32${tag}`, cpu.matmul(a.cpu, b.cpu, "int32", p), gpu!.matmul(a.gpu, b.gpu, "int32", p), "int32", 30);
}

it("matmul: odd sizes, transA/transB, batch strides incl. 0 (broadcast), int32, k = 0", () => matmulParity(""));

it("matmul on the tiled (GPU) kernel in each shape: 4×4 per invocation with K steps 16 and 8, 8×8 with K step 8", async () => {
  const settable = gpu as unknown as { matmulVariant: "tiled" | "direct"; tiledShape: { per: number; tk: number } | undefined };
  const variant0 = settable.matmulVariant, shape0 = settable.tiledShape;
  try {
    settable.matmulVariant = "tiled";
    for (const shape of [{ per: 4, tk: 16 }, { per: 4, tk: 8 }, { per: 8, tk: 8 }]) {
      settable.tiledShape = shape;
      await matmulParity(` (tiled ${shape.per}×${shape.per}, K step ${shape.tk})`);
    }
  } finally {
    settable.matmulVariant = variant0;
    settable.tiledShape = shape0;
  }
  assert.equal(tiledShapeFor(4096, 4096, 1), { per: 8, tk: 8 });
  assert.equal(tiledShapeFor(1024, 1024, 1), { per: 4, tk: 8 }, "64 tiles of 128 cannot fill a large GPU");
  assert.equal(tiledShapeFor(86528, 32, 1), { per: 4, tk: 8 }, "a 32-wide product would idle 3/4 of a 128-wide tile");
});

it("gather and scatterAdd: repeated indices, outer/inner dims, any dtype", async () => {
  const idxData = Int32Array.from([2, 0, 2, 4, 2]);
  const idx = pair(idxData, "int32");
  for (const dtype of ["float32", "int32", "bool"] as DType[]) {
    const x = pair(randomData(dtype, 3 * 5 * 2), dtype);
    await expectClose(`gather ${dtype}`, cpu.gather(x.cpu, dtype, idx.cpu, 3, 5, 2, 5), gpu!.gather(x.gpu, dtype, idx.gpu, 3, 5, 2, 5), dtype, 30);
  }
  // Out-of-range indices on the device read nothing (zeros) and raise at the next read (test/webgpu-index-errors.test.ts).
  const wild = gpu!.upload(Int32Array.from([1, -1, 3, 0]), "int32");
  const src = gpu!.upload(Float32Array.from([10, 20, 30, 40, 50]), "float32");
  const wildOut = gpu!.gather(src, "float32", wild, 1, 5, 1, 4);
  try {
    await gpu!.read(wildOut, "float32", 4);
    assert.unreachable("an out-of-range index did not raise at the read");
  } catch (e) {
    assert.match((e as Error).message, /^gather: index -1 at position 1 is out of range for an axis of size 5/);
  }
  assert.equal(Array.from(await gpu!.read(wildOut, "float32", 4)), [20, 0, 40, 10]);
  for (const dtype of ["float32", "int32"] as DType[]) {
    const g = pair(randomData(dtype, 3 * 5 * 2), dtype);
    await expectClose(`scatterAdd ${dtype}`, cpu.scatterAdd(g.cpu, dtype, idx.cpu, 3, 6, 2, 5), gpu!.scatterAdd(g.gpu, dtype, idx.gpu, 3, 6, 2, 5), dtype, 36, { atol: 1e-5 });
  }
});

function convCases(): Conv2dParams[] {
  const out: Conv2dParams[] = [];
  const base = { n: 2, h: 7, w: 6, cin: 3, kh: 3, kw: 2, cout: 4, strideH: 1, strideW: 1, dilationH: 1, dilationW: 1, padTop: 0, padLeft: 0 };
  for (const v of [{}, { strideH: 2, strideW: 3 }, { padTop: 1, padLeft: 1 }, { dilationH: 2, dilationW: 2, padTop: 2, padLeft: 1 }, { kh: 1, kw: 1, cin: 1, cout: 1 },
    { n: 1, cin: 65, cout: 3, strideH: 2, padTop: 1, padLeft: 1, dilationW: 2 }]) { // cin ≥ 64: grad input as an implicit GEMM
    const c = { ...base, ...v };
    const oh = Math.floor((c.h + 2 * c.padTop - c.dilationH * (c.kh - 1) - 1) / c.strideH) + 1;
    const ow = Math.floor((c.w + 2 * c.padLeft - c.dilationW * (c.kw - 1) - 1) / c.strideW) + 1;
    out.push({ ...c, oh, ow });
  }
  return out;
}

it("conv2d forward, grad input and grad filter: stride, padding, dilation, 1×1, wide cin", async () => {
  for (const p of convCases()) {
    const x = pair(randomData("float32", p.n * p.h * p.w * p.cin), "float32");
    const w = pair(randomData("float32", p.kh * p.kw * p.cin * p.cout), "float32");
    const dy = pair(randomData("float32", p.n * p.oh * p.ow * p.cout), "float32");
    const tag = JSON.stringify(p);
    await expectClose(`conv2d ${tag}`, cpu.conv2d(x.cpu, w.cpu, "float32", p), gpu!.conv2d(x.gpu, w.gpu, "float32", p), "float32", p.n * p.oh * p.ow * p.cout, { atol: 1e-5 });
    await expectClose(`conv2dGradInput ${tag}`, cpu.conv2dGradInput(dy.cpu, w.cpu, "float32", p), gpu!.conv2dGradInput(dy.gpu, w.gpu, "float32", p), "float32", p.n * p.h * p.w * p.cin, { atol: 1e-5 });
    await expectClose(`conv2dGradFilter ${tag}`, cpu.conv2dGradFilter(x.cpu, dy.cpu, "float32", p), gpu!.conv2dGradFilter(x.gpu, dy.gpu, "float32", p), "float32", p.kh * p.kw * p.cin * p.cout, { atol: 1e-4 });
  }
});

it("conv on the GPU kernels (tiled implicit GEMMs, with and without split-K; direct input gradient) matches the CPU", async () => {
  const settable = gpu as unknown as { matmulVariant: "tiled" | "direct"; splitKTarget: number };
  const variant0 = settable.matmulVariant, target0 = settable.splitKTarget;
  // A filter gradient whose K (n·oh·ow = 1,568) is deep enough to split into 3 slices, next to the usual cases.
  const deep = { n: 8, h: 16, w: 16, cin: 8, kh: 3, kw: 3, cout: 8, oh: 14, ow: 14, strideH: 1, strideW: 1, dilationH: 1, dilationW: 1, padTop: 0, padLeft: 0 };
  try {
    settable.matmulVariant = "tiled";
    for (const target of [0, 1 << 16]) {
      settable.splitKTarget = target;
      for (const p of [...convCases(), deep]) {
        const x = pair(randomData("float32", p.n * p.h * p.w * p.cin), "float32");
        const w = pair(randomData("float32", p.kh * p.kw * p.cin * p.cout), "float32");
        const dy = pair(randomData("float32", p.n * p.oh * p.ow * p.cout), "float32");
        const tag = `${JSON.stringify(p)} split-K target ${target}`;
        await expectClose(`conv2d ${tag}`, cpu.conv2d(x.cpu, w.cpu, "float32", p), gpu!.conv2d(x.gpu, w.gpu, "float32", p), "float32", p.n * p.oh * p.ow * p.cout, { atol: 1e-5 });
        // On GPUs cin < 64 takes the direct kernel: cin 8 (the deep case) its 8-channel path, cin 3 the scalar one.
        await expectClose(`conv2dGradInput ${tag}`, cpu.conv2dGradInput(dy.cpu, w.cpu, "float32", p), gpu!.conv2dGradInput(dy.gpu, w.gpu, "float32", p), "float32", p.n * p.h * p.w * p.cin, { atol: 1e-4 });
        // Float32 sums of K products of values in [-3, 3]: rounding grows with Σ|a·b| ≈ K·2.25 (≈ 4e-4 for K = 1,568).
        const atol = Math.max(1e-4, 5 * p.n * p.oh * p.ow * 2.25 * 2 ** -24);
        await expectClose(`conv2dGradFilter ${tag}`, cpu.conv2dGradFilter(x.cpu, dy.cpu, "float32", p), gpu!.conv2dGradFilter(x.gpu, dy.gpu, "float32", p), "float32", p.kh * p.kw * p.cin * p.cout, { atol });
      }
    }
  } finally {
    settable.matmulVariant = variant0;
    settable.splitKTarget = target0;
  }
  assert.equal(splitKSlices(3, 50176, 4608, 1 << 27, 256), 86, "a 3×3×16→32 filter gradient over 64×28×28 positions runs as 86 slices on a GPU");
  assert.equal(splitKSlices(3, 1000, 4608, 1 << 27, 256), 1, "K under 1,024 is not split");
  assert.equal(splitKSlices(300, 50176, 4608, 1 << 27, 256), 1, "enough tiles: no split");
});

it("past 65,535 workgroups the dispatch grid is 2-D (tree reduction: one workgroup per output)", async () => {
  const outer = 65537, r = 128; // r ≥ 128 takes the tree kernel
  const x = pair(randomData("float32", outer * r), "float32");
  // Software adapters default to one invocation per output; force the workgroup plan this test is about.
  const plans = gpu as unknown as { reduceStyle: string };
  const style = plans.reduceStyle;
  plans.reduceStyle = "workgroup";
  try {
    await expectClose("reduce sum 65,537 workgroups", cpu.reduce("sum", x.cpu, "float32", outer, r, 1), gpu!.reduce("sum", x.gpu, "float32", outer, r, 1), "float32", outer, { atol: 1e-4, rtol: 1e-5 });
    await expectClose("reduce argmax 65,537 workgroups", cpu.reduce("argmax", x.cpu, "float32", outer, r, 1), gpu!.reduce("argmax", x.gpu, "float32", outer, r, 1), "int32", outer);
  } finally {
    plans.reduceStyle = style;
  }
});

it("uncaptured device errors surface at the next read", async () => {
  // A deliberately invalid shader stands in for any validation error in queued work.
  const backend = gpu as unknown as { kernel(key: string, code: () => string): unknown; dispatch(op: string, k: unknown, p: number[], b: unknown[], g: number[]): void };
  const broken = backend.kernel("broken test kernel", () => "@compute @workgroup_size(1) fn main() { let x: u32 = 1.5; }");
  backend.dispatch("broken", broken, [], [], [1, 1]);
  const message = await gpu!.read(gpu!.fill(1, "float32", 2), "float32", 1).then(() => "resolved", (e: Error) => e.message);
  assert.match(message, /webgpu read: the device reported \d+ error\(s\) in queued work/);
  // The backend keeps working afterwards.
  assert.equal(Array.from(await gpu!.read(gpu!.fill(2, "float32", 3), "float32", 2)), [3, 3]);
});

it("pool2d max/avg and their gradients: padding, overlapping windows, NaN", async () => {
  const cases: Pool2dParams[] = [
    { n: 2, h: 5, w: 6, c: 3, kh: 2, kw: 2, oh: 2, ow: 3, strideH: 2, strideW: 2, padTop: 0, padLeft: 0 },
    { n: 1, h: 5, w: 5, c: 2, kh: 3, kw: 3, oh: 3, ow: 3, strideH: 2, strideW: 2, padTop: 1, padLeft: 1 },
    { n: 1, h: 4, w: 4, c: 1, kh: 3, kw: 2, oh: 2, ow: 3, strideH: 1, strideW: 1, padTop: 0, padLeft: 0 },
  ];
  for (const p of cases) {
    const data = Float32Array.from(randomData("float32", p.n * p.h * p.w * p.c), (v) => Math.round(v)); // ties
    data[3] = NaN;
    const x = pair(data, "float32");
    const dy = pair(randomData("float32", p.n * p.oh * p.ow * p.c), "float32");
    for (const op of ["max", "avg"] as const) {
      const tag = `${op} ${JSON.stringify(p)}`;
      await expectClose(`pool2d ${tag}`, cpu.pool2d(op, x.cpu, "float32", p), gpu!.pool2d(op, x.gpu, "float32", p), "float32", p.n * p.oh * p.ow * p.c);
      await expectClose(`pool2dGrad ${tag}`, cpu.pool2dGrad(op, x.cpu, dy.cpu, "float32", p), gpu!.pool2dGrad(op, x.gpu, dy.gpu, "float32", p), "float32", p.n * p.h * p.w * p.c, { atol: 1e-6 });
    }
  }
});

it("storage: fill per dtype, upload/read round trips, zero-size buffers, float64 is a clear error", async () => {
  for (const [dtype, value] of [["float32", -2.5], ["int32", 7.9], ["bool", 1], ["float32", NaN]] as [DType, number][]) {
    await expectClose(`fill ${dtype} ${value}`, cpu.fill(5, dtype, value), gpu!.fill(5, dtype, value), dtype, 5);
  }
  const bools = Uint8Array.from([1, 0, 0, 1, 1]);
  assert.equal(Array.from(await gpu!.read(gpu!.upload(bools, "bool"), "bool", 5)), [1, 0, 0, 1, 1]);
  const z = gpu!.alloc(0, "float32");
  assert.is((await gpu!.read(z, "float32", 0)).length, 0);
  gpu!.free(z);
  gpu!.free(z); // double free is harmless
  assert.throws(() => gpu!.alloc(4, "float64"), /float64.*cpu backend/);
  const rejected = await gpu!.read(gpu!.fill(1, "float32", 0), "float64", 1).then(() => "resolved", (e: Error) => e.message);
  assert.match(rejected, /webgpu read: float64 is not supported/);
  assert.throws(() => gpu!.unary("exp", { buf: gpu!.alloc(1, "float32"), dtype: "float64", shape: [1], strides: [1], offset: 0 }, "float64"), /unary exp: float64/);
  await gpu!.sync();
});

test.run();
