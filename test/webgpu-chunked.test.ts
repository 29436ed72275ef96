/**
 * Tensors past one storage binding, on small inputs: DAWNET_WEBGPU_MAX_BINDING_BYTES lowers the binding
 * limit to 4 KiB (1,024 elements) so every primitive's split paths (lib/backend/webgpu/chunked.ts) run on
 * tensors of a few thousand elements. Each result is compared with the CPU backend on the same inputs
 * (odd sizes, NaN where the op defines it); then a small CNN trains a few steps under the lowered limit
 * and matches the CPU's losses. Skipped, with the reason, when no WebGPU adapter exists.
 */
process.env.DAWNET_WEBGPU_MAX_BINDING_BYTES = "4096";

import { test } from "uvu";
import * as assert from "uvu/assert";
import type { Buf, Conv2dParams, MatmulParams, Pool2dParams, ReduceOp, View } from "../lib/backend/backend.js";
import { CpuBackend } from "../lib/backend/cpu/cpu.js";
import { createWebGPUBackend } from "../lib/backend/webgpu/webgpu.js";
import { newArray, type DType, type TypedArray } from "../lib/dtype.js";
import { float16Bits } from "../lib/backend/cpu/half.js";
import * as dn from "../lib/index.js";
import { Sequential, Conv2D, MaxPooling2D, AveragePooling2D, Flatten, Dense } from "../lib/nn/index.js";
import { SGD } from "../lib/optim/index.js";

const created = await createWebGPUBackend();
const gpu = "unavailable" in created ? undefined : created;
const cpu = new CpuBackend();
const it = gpu ? test : test.skip;
if (!gpu) console.log(`skipped: webgpu chunked tests: ${(created as { unavailable: string }).unavailable}`);
const LIMIT_ELEMENTS = 1024;

let seed = 777;
function rand(): number {
  seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
  return seed / 4294967296;
}
function randomData(dtype: DType, n: number, lo = -3, hi = 3): TypedArray {
  const a = newArray(dtype, n);
  for (let i = 0; i < n; i++) {
    if (dtype === "bool") a[i] = rand() < 0.5 ? 1 : 0;
    else if (dtype === "int32") a[i] = Math.floor(lo + rand() * (hi - lo + 1));
    else a[i] = lo + rand() * (hi - lo);
  }
  return a;
}

interface Pair { cpu: Buf; gpu: Buf }
function pair(data: TypedArray, dtype: DType): Pair {
  return { cpu: cpu.upload(data, dtype), gpu: gpu!.upload(data, dtype) };
}

/** |gpu − cpu| ≤ atol + rtol·|cpu|; NaN matches NaN, infinities exactly; frees both results. */
async function expectClose(label: string, cpuBuf: Buf, gpuBuf: Buf, dtype: DType, n: number, tol: { atol?: number; rtol?: number } = {}): Promise<void> {
  const atol = tol.atol ?? 1e-6, rtol = tol.rtol ?? 1e-5;
  const want = cpu.readSync(cpuBuf, dtype, n);
  const got = await gpu!.read(gpuBuf, dtype, n);
  assert.is(got.length, n, `${label}: length`);
  for (let i = 0; i < n; i++) {
    const g = got[i], w = want[i];
    if ((Number.isNaN(w) && Number.isNaN(g)) || g === w) continue;
    if (Number.isFinite(w) && Math.abs(g - w) <= atol + rtol * Math.abs(w)) continue;
    assert.unreachable(`${label}: element ${i}: webgpu ${g}, cpu ${w} (atol ${atol}, rtol ${rtol})`);
  }
  cpu.free(cpuBuf);
  gpu!.free(gpuBuf);
}

it("the binding limit is lowered to 4 KiB", () => {
  assert.is((gpu as unknown as { maxBindingBytes: number }).maxBindingBytes, LIMIT_ELEMENTS * 4);
});

// Shapes [outer, r, inner] past 1,024 elements: outer groups; r longer than a binding (partials, argmax
// carry); r * inner past a binding with r inside one (inner blocks / row chunks); one row past a binding.
const REDUCE_SHAPES: [number, number, number][] = [[300, 7, 5], [1, 3001, 1], [2, 1500, 3], [3, 600, 7], [2, 3, 1100], [1, 2500, 2]];
const REDUCE_OPS: ReduceOp[] = ["sum", "prod", "max", "min", "argmax", "argmin"];

it("reduce: every op and dtype on each split kind", async () => {
  for (const [outer, r, inner] of REDUCE_SHAPES) {
    for (const dtype of ["float32", "int32", "bool"] as DType[]) {
      const n = outer * r * inner;
      const data = randomData(dtype, n, dtype === "int32" ? -50 : -3, dtype === "int32" ? 50 : 3);
      for (const op of REDUCE_OPS) {
        let values = data;
        if (op === "prod" && dtype === "float32") values = Float32Array.from(data as Float32Array, (v) => 1 + v / 3000);
        if (op === "prod" && dtype === "int32") values = Int32Array.from(data as Int32Array, (v) => (v % 7 === 0 ? -1 : 1));
        if (dtype === "float32" && op !== "prod" && op !== "sum") {
          // NaN at the first element of some outputs, at chunk starts (multiples of 341 and 1024 rows) and inside.
          values = Float32Array.from(values as Float32Array);
          for (const j of [0, 341, 682, 1024, 2048, 5]) {
            if (j < r) values[(0 * r + j) * inner + 0] = NaN;
          }
          if (outer > 1 && r > 1) values[(1 * r + 1) * inner] = NaN;
        }
        const x = pair(values, dtype);
        const outDtype: DType = op === "argmax" || op === "argmin" ? "int32" : (op === "sum" || op === "prod") && dtype === "bool" ? "int32" : dtype;
        const tol = op === "sum" ? { atol: 1e-3, rtol: 1e-4 } : op === "prod" ? { rtol: 1e-4 } : {};
        await expectClose(`reduce ${op} ${dtype} [${outer}, ${r}, ${inner}]`, cpu.reduce(op, x.cpu, dtype, outer, r, inner), gpu!.reduce(op, x.gpu, dtype, outer, r, inner), outDtype, outer * inner, tol);
        cpu.free(x.cpu);
        gpu!.free(x.gpu);
      }
    }
  }
});

it("reduce: argmax/argmin ties, all-NaN rows and a NaN first element across chunks", async () => {
  const outer = 4, r = 2600, inner = 1; // chunks of 1,024 rows
  const data = new Float32Array(outer * r);
  data.fill(1);
  data[1500] = 5; data[2400] = 5; // row 0: tie across chunks, the first wins
  for (let j = 0; j < r; j++) data[r + j] = NaN; // row 1: all NaN → 0
  data[2 * r] = NaN; data[2 * r + 2000] = 9; // row 2: NaN first element → 0
  data[3 * r + 1024] = NaN; data[3 * r + 1500] = 7; data[3 * r + 2048] = -7; // row 3: a later chunk starting with NaN still wins
  const x = pair(data, "float32");
  for (const op of ["argmax", "argmin"] as const) {
    await expectClose(`reduce ${op}`, cpu.reduce(op, x.cpu, "float32", outer, r, inner), gpu!.reduce(op, x.gpu, "float32", outer, r, inner), "int32", outer);
  }
});

it("cumsum: forward and reverse, scanned axis inside and past one binding", async () => {
  for (const [outer, n, inner] of [[3, 2000, 1], [40, 30, 7], [2, 700, 3], [1, 5, 1500]] as [number, number, number][]) {
    for (const dtype of ["float32", "int32", "bool"] as DType[]) {
      const x = pair(randomData(dtype, outer * n * inner), dtype);
      for (const reverse of [false, true]) {
        await expectClose(`cumsum ${dtype} [${outer}, ${n}, ${inner}] reverse ${reverse}`, cpu.cumsum(x.cpu, dtype, outer, n, inner, reverse),
          gpu!.cumsum(x.gpu, dtype, outer, n, inner, reverse), dtype === "bool" ? "int32" : dtype, outer * n * inner, { atol: 1e-3, rtol: 1e-4 });
      }
      cpu.free(x.cpu);
      gpu!.free(x.gpu);
    }
  }
});

it("matmul: rows, columns, batches (broadcast and transposed) and a K past one binding", async () => {
  const cases: MatmulParams[] = [
    { batch: 1, m: 70, k: 50, n: 40, aBatchStride: 0, bBatchStride: 0, transA: false, transB: false },
    { batch: 1, m: 70, k: 50, n: 40, aBatchStride: 0, bBatchStride: 0, transA: true, transB: true },
    { batch: 1, m: 33, k: 45, n: 61, aBatchStride: 0, bBatchStride: 0, transA: false, transB: true },
    { batch: 3, m: 20, k: 60, n: 25, aBatchStride: 1200, bBatchStride: 0, transA: false, transB: false },
    { batch: 4, m: 9, k: 30, n: 31, aBatchStride: 0, bBatchStride: 930, transA: true, transB: false },
    { batch: 5, m: 17, k: 19, n: 23, aBatchStride: 17 * 19, bBatchStride: 19 * 23, transA: false, transB: true },
    { batch: 1, m: 3, k: 3001, n: 2, aBatchStride: 0, bBatchStride: 0, transA: false, transB: false },
    { batch: 1, m: 2, k: 2500, n: 3, aBatchStride: 0, bBatchStride: 0, transA: true, transB: true },
    { batch: 1, m: 100, k: 1, n: 90, aBatchStride: 0, bBatchStride: 0, transA: false, transB: false },
  ];
  for (const dtype of ["float32", "int32"] as DType[]) {
    for (const p of cases) {
      const aSize = p.aBatchStride === 0 ? p.m * p.k : p.batch * p.m * p.k;
      const bSize = p.bBatchStride === 0 ? p.k * p.n : p.batch * p.k * p.n;
      const a = pair(randomData(dtype, aSize), dtype), b = pair(randomData(dtype, bSize), dtype);
      await expectClose(`matmul ${dtype} ${JSON.stringify(p)}`, cpu.matmul(a.cpu, b.cpu, dtype, p), gpu!.matmul(a.gpu, b.gpu, dtype, p), dtype, p.batch * p.m * p.n, { atol: 1e-3, rtol: 1e-4 });
      for (const t of [a, b]) {
        cpu.free(t.cpu);
        gpu!.free(t.gpu);
      }
    }
  }
});

function convParams(n: number, h: number, w: number, cin: number, kh: number, kw: number, cout: number, stride: [number, number], dilation: [number, number], pad: [number, number]): Conv2dParams {
  const oh = Math.floor((h + 2 * pad[0] - dilation[0] * (kh - 1) - 1) / stride[0]) + 1;
  const ow = Math.floor((w + 2 * pad[1] - dilation[1] * (kw - 1) - 1) / stride[1]) + 1;
  return { n, h, w, cin, kh, kw, cout, oh, ow, strideH: stride[0], strideW: stride[1], dilationH: dilation[0], dilationW: dilation[1], padTop: pad[0], padLeft: pad[1] };
}

it("conv2d, its input gradient and its filter gradient: batch, channel, partial-sum and row splits", async () => {
  const cases = [
    convParams(5, 9, 8, 3, 3, 2, 4, [2, 1], [1, 2], [1, 1]), // batch split
    convParams(1, 12, 12, 20, 3, 3, 6, [1, 1], [1, 1], [1, 1]), // one image past a binding: input-channel partial sums
    convParams(2, 6, 7, 20, 3, 3, 30, [1, 2], [1, 1], [0, 2]), // filter past a binding: output-channel split
    convParams(2, 5, 5, 64, 3, 3, 3, [1, 1], [1, 1], [1, 1]), // wide cin (implicit-GEMM input gradient when it fits)
    convParams(3, 10, 9, 2, 5, 3, 5, [3, 2], [2, 1], [2, 0]),
    convParams(1, 41, 30, 1, 3, 3, 1, [1, 1], [2, 1], [2, 1]), // one channel plane past a binding: output-row pieces
    convParams(1, 45, 37, 1, 4, 2, 2, [3, 2], [1, 1], [1, 0]), // rows with stride past the window height
  ];
  for (const p of cases) {
    const label = JSON.stringify(p);
    const x = pair(randomData("float32", p.n * p.h * p.w * p.cin), "float32");
    const w = pair(randomData("float32", p.kh * p.kw * p.cin * p.cout), "float32");
    const dy = pair(randomData("float32", p.n * p.oh * p.ow * p.cout), "float32");
    const tol = { atol: 2e-3, rtol: 1e-4 };
    await expectClose(`conv2d ${label}`, cpu.conv2d(x.cpu, w.cpu, "float32", p), gpu!.conv2d(x.gpu, w.gpu, "float32", p), "float32", p.n * p.oh * p.ow * p.cout, tol);
    await expectClose(`conv2dGradInput ${label}`, cpu.conv2dGradInput(dy.cpu, w.cpu, "float32", p), gpu!.conv2dGradInput(dy.gpu, w.gpu, "float32", p), "float32", p.n * p.h * p.w * p.cin, tol);
    await expectClose(`conv2dGradFilter ${label}`, cpu.conv2dGradFilter(x.cpu, dy.cpu, "float32", p), gpu!.conv2dGradFilter(x.gpu, dy.gpu, "float32", p), "float32", p.kh * p.kw * p.cin * p.cout, tol);
    for (const t of [x, w, dy]) {
      cpu.free(t.cpu);
      gpu!.free(t.gpu);
    }
  }
});

it("max/avg pooling and their gradients: batch, channel and row splits", async () => {
  const cases: Pool2dParams[] = [
    { n: 4, h: 11, w: 10, c: 5, kh: 3, kw: 3, oh: 6, ow: 5, strideH: 2, strideW: 2, padTop: 1, padLeft: 1 },
    { n: 1, h: 10, w: 10, c: 30, kh: 2, kw: 3, oh: 5, ow: 8, strideH: 2, strideW: 1, padTop: 0, padLeft: 0 },
    // One channel plane past a binding: output-row pieces (overlapping input rows; gradient pieces added).
    { n: 1, h: 57, w: 40, c: 1, kh: 3, kw: 3, oh: 29, ow: 20, strideH: 2, strideW: 2, padTop: 1, padLeft: 1 },
    { n: 2, h: 70, w: 33, c: 1, kh: 2, kw: 2, oh: 35, ow: 16, strideH: 2, strideW: 2, padTop: 0, padLeft: 0 },
    { n: 1, h: 50, w: 61, c: 1, kh: 2, kw: 3, oh: 17, ow: 59, strideH: 3, strideW: 1, padTop: 0, padLeft: 0 },
  ];
  for (const p of cases) {
    // Repeated values make ties (max routes to the first maximal element).
    const x = pair(Float32Array.from(randomData("float32", p.n * p.h * p.w * p.c), (v) => Math.round(v)), "float32");
    const dy = pair(randomData("float32", p.n * p.oh * p.ow * p.c), "float32");
    for (const op of ["max", "avg"] as const) {
      const label = `${op} ${JSON.stringify(p)}`;
      await expectClose(`pool2d ${label}`, cpu.pool2d(op, x.cpu, "float32", p), gpu!.pool2d(op, x.gpu, "float32", p), "float32", p.n * p.oh * p.ow * p.c, { atol: 1e-6 });
      await expectClose(`pool2dGrad ${label}`, cpu.pool2dGrad(op, x.cpu, dy.cpu, "float32", p), gpu!.pool2dGrad(op, x.gpu, dy.gpu, "float32", p), "float32", p.n * p.h * p.w * p.c, { atol: 1e-5 });
    }
    for (const t of [x, dy]) {
      cpu.free(t.cpu);
      gpu!.free(t.gpu);
    }
  }
});

it("gather and scatterAdd: outer, index, column and row-window splits", async () => {
  // [outer, axisSize, inner, nIdx]: source with outer > 1; rows wider than a binding; many indices; a tall output
  // (scatterAdd row windows); a tall source with many indices (index pieces over gather's own row windows).
  for (const [outer, axisSize, inner, nIdx] of [[5, 300, 3, 400], [1, 50, 2000, 7], [2, 40, 3, 3000], [1, 3000, 1, 500], [3, 20, 40, 900], [1, 3000, 2, 1500]]) {
    for (const dtype of ["float32", "int32"] as DType[]) {
      const x = pair(randomData(dtype, outer * axisSize * inner), dtype);
      const idx = pair(Int32Array.from({ length: nIdx }, () => Math.floor(rand() * axisSize)), "int32");
      const label = `${dtype} [${outer}, ${axisSize}, ${inner}] nIdx ${nIdx}`;
      await expectClose(`gather ${label}`, cpu.gather(x.cpu, dtype, idx.cpu, outer, axisSize, inner, nIdx), gpu!.gather(x.gpu, dtype, idx.gpu, outer, axisSize, inner, nIdx), dtype, outer * nIdx * inner);
      const g = pair(randomData(dtype, outer * nIdx * inner), dtype);
      await expectClose(`scatterAdd ${label}`, cpu.scatterAdd(g.cpu, dtype, idx.cpu, outer, axisSize, inner, nIdx), gpu!.scatterAdd(g.gpu, dtype, idx.gpu, outer, axisSize, inner, nIdx),
        dtype, outer * axisSize * inner, { atol: 1e-4, rtol: 1e-5 });
      for (const t of [x, idx, g]) {
        cpu.free(t.cpu);
        gpu!.free(t.gpu);
      }
    }
  }
  await gpu!.sync(); // an out-of-range index reported by any piece would throw here
});

it("gather split over its indices reports a bad index at its position in the whole index tensor, with the caller's shapes", async () => {
  const x = gpu!.upload(Float32Array.from({ length: 10 }, (_, i) => i), "float32");
  const ids = Int32Array.from({ length: 1500 }, (_, i) => i % 10);
  ids[1300] = 99; // in the second piece of indices (pieces of at most 1,024)
  const idx = gpu!.upload(ids, "int32");
  const y = gpu!.gather(x, "float32", idx, 1, 10, 1, 1500, { op: "gather", axis: 0, inputShape: [10], indexShape: [1500] });
  let message = "none";
  try {
    await gpu!.read(y, "float32", 1500);
  } catch (e) {
    message = (e as Error).message;
  }
  assert.match(message, /^gather: index 99 at position 1300 is out of range for an axis of size 10 \(axis 0 of input \[10\], indices \[1500\]\)/);
  for (const b of [x, idx, y]) gpu!.free(b);
});

it("packHalf past one binding (Dense float16 on a big batch); matmulHalf refuses unsplit operands without leaking", async () => {
  // Values exact in float16 (quarters): packing is exact, so the words compare with the CPU's rounding bit for bit.
  for (const len of [2800, 4099]) {
    const x = Float32Array.from(randomData("float32", len), (v) => Math.round(v * 4) / 4);
    const X = gpu!.upload(x, "float32");
    const words = new Uint32Array((await gpu!.read(gpu!.packHalf!(X, len), "int32", Math.ceil(len / 2))).buffer);
    for (let i = 0; i < len; i++) {
      const bits = (words[i >> 1] >>> (16 * (i & 1))) & 0xffff;
      if (bits !== float16Bits(x[i])) assert.unreachable(`packHalf of ${len}: element ${i} (${x[i]}): bits ${bits.toString(16)}, want ${float16Bits(x[i]).toString(16)}`);
    }
    gpu!.free(X);
  }
  // [20, 70] float32 = 1,400 elements (past 1,024), packed 700 words: the product binds the packed operand whole.
  const m = 20, k = 70, n = 3;
  const A = pair(randomData("float32", m * k), "float32"), B = pair(randomData("float32", k * n), "float32");
  const p: MatmulParams = { batch: 1, m, k, n, aBatchStride: 0, bBatchStride: 0, transA: false, transB: false };
  const aHalf = gpu!.packHalf!(A.gpu, m * k), bHalf = gpu!.packHalf!(B.gpu, k * n);
  const cA = cpu.packHalf!(A.cpu, m * k), cB = cpu.packHalf!(B.cpu, k * n);
  await expectClose(`matmulHalf [${m}, ${k}] @ [${k}, ${n}]`, cpu.matmulHalf!(cA, cB, p, { a: true, b: true }), gpu!.matmulHalf!(aHalf, bHalf, p, { a: true, b: true }), "float32", m * n, { atol: 1e-4, rtol: 1e-5 });
  // Operands or an output past one binding are refused before anything is allocated.
  const buffers0 = gpu!.memory().buffers;
  assert.throws(() => gpu!.matmulHalf!(A.gpu, B.gpu, p, { a: false, b: false }), /matmulHalf.*maxStorageBufferBindingSize/);
  const wide: MatmulParams = { batch: 1, m: 40, k: 2, n: 40, aBatchStride: 0, bBatchStride: 0, transA: false, transB: false };
  assert.throws(() => gpu!.matmulHalf!(aHalf, aHalf, wide, { a: true, b: true }), /matmulHalf.*maxStorageBufferBindingSize/);
  assert.is(gpu!.memory().buffers, buffers0, "nothing leaked by the refused calls");
  for (const buf of [aHalf, bHalf, A.gpu, B.gpu]) gpu!.free(buf);
  for (const buf of [A.cpu, B.cpu, cA, cB]) cpu.free(buf);
});

it("elementwise, copy and fill under the lowered limit", async () => {
  const n = 5003;
  const a = pair(randomData("float32", n), "float32"), b = pair(randomData("float32", 41), "float32");
  const viewOf = (buf: Buf, shape: number[], strides: number[]): View => ({ buf, dtype: "float32", shape, strides, offset: 0 });
  const shape = [122, 41];
  await expectClose("binary add (broadcast row)", cpu.binary("add", viewOf(a.cpu, shape, [41, 1]), viewOf(b.cpu, shape, [0, 1]), "float32"),
    gpu!.binary("add", viewOf(a.gpu, shape, [41, 1]), viewOf(b.gpu, shape, [0, 1]), "float32"), "float32", 122 * 41);
  await expectClose("copy (transpose)", cpu.copy(viewOf(a.cpu, [41, 122], [1, 41]), "float32"), gpu!.copy(viewOf(a.gpu, [41, 122], [1, 41]), "float32"), "float32", 41 * 122);
  await expectClose("fill", cpu.fill(n, "int32", -7), gpu!.fill(n, "int32", -7), "int32", n);
  for (const t of [a, b]) {
    cpu.free(t.cpu);
    gpu!.free(t.gpu);
  }
});

it("a small CNN trains under the lowered limit with the CPU's losses", async () => {
  const losses: Record<string, number[]> = {};
  for (const backend of ["cpu", "webgpu"]) {
    await dn.setBackend(backend);
    dn.manualSeed(5);
    // Inputs [24, 12, 12, 1] (3,456 elements), conv activations [24, 10, 10, 4]: every layer's batch is past the limit.
    const x = dn.rand([24, 12, 12, 1]);
    const y = dn.tensor(Int32Array.from({ length: 24 }, (_, i) => i % 3));
    const model = new Sequential([
      new Conv2D(4, [3, 3], { activation: "relu", inputShape: [12, 12, 1] }), new MaxPooling2D([2, 2]),
      new Conv2D(3, [2, 2], { activation: "relu" }), new AveragePooling2D([2, 2]), new Flatten(), new Dense(3, { activation: "softmax" }),
    ]);
    model.compile({ optimizer: new SGD({ learningRate: 0.1 }), loss: "sparse_categorical_crossentropy" });
    const history = await model.fit(x, y, { epochs: 3, batchSize: 24, shuffle: false, verbose: 0 });
    losses[backend] = history.history.loss as number[];
    x.dispose();
    y.dispose();
  }
  assert.is(losses.webgpu.length, 3);
  losses.webgpu.forEach((l, i) => {
    if (!(Math.abs(l - losses.cpu[i]) <= 1e-4 + 1e-4 * Math.abs(losses.cpu[i]))) assert.unreachable(`epoch ${i}: webgpu loss ${l}, cpu ${losses.cpu[i]}`);
  });
  assert.ok(losses.webgpu[2] < losses.webgpu[0], `the loss falls: ${losses.webgpu.join(", ")}`);
});

test.run();
