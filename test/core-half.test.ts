/**
 * float16 matmul operands (matmulHalf, Dense precision "float16") on the backend under test.
 *
 * References: float16Bits against known IEEE binary16 bit patterns (the same values NumPy's
 * `np.float32(x).astype(np.float16).view(np.uint16)` gives; the helper also agreed with NumPy 1.24 on 2 M
 * random float32 patterns, ties and subnormals included, while it was written). Products are checked
 * against a float64 product of the operands rounded by that helper: within 1e-5 · Σₖ|aᵢₖ·bₖⱼ| on the cpu
 * (float32 accumulation); on webgpu WGSL may round a conversion to f16 to either neighbour, so an operand
 * may sit one float16 step (≤ 2⁻¹⁰ relative) away: within (1e-5 + 2.1 · 2⁻¹⁰) · Σₖ|aᵢₖ·bₖⱼ| there.
 */
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as dn from "../lib/index.js";
import { matmulHalf } from "../lib/ops/linalg.js";
import { float16Bits, float16Value, roundArrayToFloat16, roundToFloat16 } from "../lib/backend/cpu/half.js";
import { Dense, Sequential, deserializeLayer, serializeLayer } from "../lib/nn/index.js";
import { Adam } from "../lib/optim/index.js";
import { loadModel } from "../lib/io/index.js";
import { close, throws, useBackend } from "./helpers.js";

const test = suite("core float16 matmul");
const backendName = process.env.DAWNET_BACKEND ?? "cpu";
test.before(async () => {
  await useBackend();
});

/** Relative tolerance of a product, in units of Σₖ|aᵢₖ·bₖⱼ| (see the file comment). */
const productRtol = backendName === "webgpu" ? 1e-5 + 2.1 * 2 ** -10 : 1e-5;

let seed = 7;
function rand(): number {
  seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
  return seed / 4294967296;
}
function randomArray(n: number, scale = 4): Float32Array {
  return Float32Array.from({ length: n }, () => (rand() - 0.5) * scale);
}

/** Row-major float64 product of [batch, m, k] @ [batch, k, n] (a batch stride of 0 broadcasts), with Σ|a·b| beside it. */
function hostMatmul(a: ArrayLike<number>, b: ArrayLike<number>, batch: number, m: number, k: number, n: number, aStride: number, bStride: number) {
  const value = new Float64Array(batch * m * n), magnitude = new Float64Array(batch * m * n);
  for (let q = 0; q < batch; q++) {
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0, abs = 0;
        for (let p = 0; p < k; p++) {
          const v = a[q * aStride + i * k + p] * b[q * bStride + p * n + j];
          s += v;
          abs += Math.abs(v);
        }
        value[(q * m + i) * n + j] = s;
        magnitude[(q * m + i) * n + j] = abs;
      }
    }
  }
  return { value, magnitude };
}

const rounded = (x: ArrayLike<number>) => Float64Array.from(x, roundToFloat16);

async function expectProduct(y: dn.Tensor, ref: { value: Float64Array; magnitude: Float64Array }, label: string): Promise<void> {
  const got = await y.data();
  assert.is(got.length, ref.value.length, `${label}: size`);
  for (let i = 0; i < got.length; i++) {
    const tol = productRtol * ref.magnitude[i] + 1e-6;
    if (!(Math.abs(got[i] - ref.value[i]) <= tol)) assert.unreachable(`${label} element ${i}: got ${got[i]}, float16-operand reference ${ref.value[i]} (tolerance ${tol})`);
  }
}

test("float16Bits: IEEE binary16 bit patterns, round to nearest even, subnormals, overflow, NaN", () => {
  const cases: Array<[number, number]> = [
    [0, 0x0000], [-0, 0x8000], [1, 0x3c00], [-2, 0xc000], [0.5, 0x3800], [0.1, 0x2e66], [1 / 3, 0x3555],
    [65504, 0x7bff], [65519.99, 0x7bff], [65520, 0x7c00], [1e6, 0x7c00], [-70000, 0xfc00],
    [Infinity, 0x7c00], [-Infinity, 0xfc00],
    [1 + 2 ** -11, 0x3c00], // tie between 1 and 1 + 2⁻¹⁰: to the even one
    [1 + 3 * 2 ** -11, 0x3c02], // tie between 0x3c01 and 0x3c02: to the even one
    [1 + 2 ** -11 + 2 ** -20, 0x3c01], // just past the tie
    [2049, 0x6800], [2051, 0x6802], [2 ** -14, 0x0400], [2 ** -14 - 2 ** -24, 0x03ff],
    [2 ** -24, 0x0001], [2 ** -25, 0x0000], [2 ** -25 * (1 + 2 ** -10), 0x0001], [3 * 2 ** -25, 0x0002],
    [-(2 ** -26), 0x8000], [1e-40, 0x0000], // a float32 subnormal
  ];
  for (const [x, bits] of cases) {
    assert.is(float16Bits(x), bits, `float16Bits(${x}) = 0x${float16Bits(x).toString(16)}, expected 0x${bits.toString(16)}`);
  }
  assert.is(float16Bits(NaN) & 0x7c00, 0x7c00);
  assert.ok(Number.isNaN(roundToFloat16(NaN)));
  assert.ok(Object.is(roundToFloat16(-0), -0));
  assert.is(float16Value(0x7bff), 65504);
  assert.is(float16Value(0x0001), 2 ** -24);
  assert.is(roundToFloat16(0.1), 0.0999755859375);
  // Every float16 value survives the round trip.
  for (let h = 0; h < 0x10000; h++) {
    const v = float16Value(h);
    if (Number.isNaN(v)) continue;
    if (float16Bits(v) !== h) assert.unreachable(`0x${h.toString(16)} → ${v} → 0x${float16Bits(v).toString(16)}`);
  }
});

test("roundArrayToFloat16 (the cpu's packHalf, on float32 bits) = float16Bits per element: ties, near-ties, every exponent, random bits", () => {
  const bits: number[] = [];
  const f = new Float32Array(1), u = new Uint32Array(f.buffer);
  for (let h = 0; h < 0x7c00; h += 7) {
    // The float32 halfway point above each float16 value (a tie), and one float32 step either side of it.
    const halfUlp = h < 0x400 ? 2 ** -25 : 2 ** (((h >> 10) & 0x1f) - 26);
    f[0] = float16Value(h) + halfUlp;
    for (const d of [-1, 0, 1]) bits.push(u[0] + d, (u[0] + d) | 0x80000000);
  }
  for (let i = 0; i < 20000; i++) bits.push(Math.floor(rand() * 2 ** 32));
  bits.push(0x7f800000, 0xff800000, 0x7fc00000, 0x00000001, 0x477fefff, 0x477ff000, 0x38800000, 0x387fffff, 0x33000000, 0x33000001);
  const x = new Float32Array(Uint32Array.from(bits).buffer);
  const got = roundArrayToFloat16(x, x.length);
  for (let i = 0; i < x.length; i++) {
    const want = Math.fround(roundToFloat16(x[i]));
    if (!Object.is(got[i], want) && !(Number.isNaN(want) && Number.isNaN(got[i]))) {
      assert.unreachable(`0x${(bits[i] >>> 0).toString(16)} (${x[i]}): array ${got[i]}, float16Bits ${want}`);
    }
  }
});

test("matmulHalf: products of float16-rounded operands (2-D, 1-D, batched, broadcast batch, transposed)", async () => {
  const cases: Array<{ label: string; a: number[]; b: number[] }> = [
    { label: "[5,7] @ [7,3]", a: [5, 7], b: [7, 3] },
    { label: "[3,4,6] @ [6,5] (b broadcast)", a: [3, 4, 6], b: [6, 5] },
    { label: "[2,1,3,4] @ [3,4,2] (batch broadcast both ways)", a: [2, 1, 3, 4], b: [3, 4, 2] },
    { label: "[33,70] @ [70,17]", a: [33, 70], b: [70, 17] },
  ];
  for (const { label, a: aShape, b: bShape } of cases) {
    const aData = randomArray(aShape.reduce((p, d) => p * d, 1)), bData = randomArray(bShape.reduce((p, d) => p * d, 1));
    const a = dn.tensor(aData, { shape: aShape }), b = dn.tensor(bData, { shape: bShape });
    const y = matmulHalf(a, b);
    assert.is(y.dtype, "float32");
    // Reference: broadcast on the host with the float32 matmul's own shape rule, products of rounded operands.
    const ya = dn.matmul(dn.tensor(Float32Array.from(rounded(aData)), { shape: aShape }), dn.tensor(Float32Array.from(rounded(bData)), { shape: bShape }));
    assert.equal([...y.shape], [...ya.shape], `${label}: shape`);
    const m = aShape.at(-2)!, k = aShape.at(-1)!, n = bShape.at(-1)!;
    const batch = y.size / (m * n);
    const aFull = await dn.broadcastTo(a, [...y.shape.slice(0, -2), m, k]).data(), bFull = await dn.broadcastTo(b, [...y.shape.slice(0, -2), k, n]).data();
    await expectProduct(y, hostMatmul(rounded(aFull), rounded(bFull), batch, m, k, n, m * k, k * n), label);
  }
  // A transposed operand (read without a copy by the float32 matmul) and 1-D operands.
  const aData = randomArray(6 * 4), bData = randomArray(6 * 5);
  const aT = dn.tensor(aData, { shape: [6, 4] }).transpose([1, 0]); // [4, 6]
  const b = dn.tensor(bData, { shape: [6, 5] });
  const aRows = Array.from({ length: 24 }, (_, i) => aData[(i % 6) * 4 + Math.floor(i / 6)]);
  await expectProduct(matmulHalf(aT, b), hostMatmul(rounded(aRows), rounded(bData), 1, 4, 6, 5, 0, 0), "[6,4]ᵀ @ [6,5]");
  const v = dn.tensor(aData.slice(0, 6));
  const yv = matmulHalf(v, b);
  assert.equal([...yv.shape], [5]);
  await expectProduct(yv, hostMatmul(rounded(aData.slice(0, 6)), rounded(bData), 1, 1, 6, 5, 0, 0), "[6] @ [6,5]");
  assert.equal([...matmulHalf(b.transpose([1, 0]), v).shape], [5]);
});

test("matmulHalf: the rounding shows (0.1 → 0.0999755859375), overflow gives Inf, NaN propagates, float32 result", async () => {
  // Separate products: Inf · 0 would be NaN in a shared row.
  const f32 = (x: number[][]) => dn.tensor(x, { dtype: "float32" });
  const p = await matmulHalf(f32([[0.1]]), f32([[1]])).item();
  const inf = await matmulHalf(f32([[70000, -1]]), f32([[1], [2]])).item();
  const nan = await matmulHalf(f32([[1, 2]]), f32([[NaN], [1]])).item();
  if (backendName === "cpu") assert.is(p, 0.0999755859375);
  else assert.ok(p === 0.0999755859375 || p === 0.10003662109375, `0.1 as float16: ${p} is not a neighbour`);
  assert.is(inf, Infinity);
  assert.ok(Number.isNaN(nan));
  // 65519 rounds down to float16's largest finite value; the sum accumulates in float32.
  await close(matmulHalf(f32([[65519, 1]]), f32([[1], [0.5]])), [65504.5], { atol: 0, rtol: 0 });
  // 3e-8 is a float16 subnormal: nearest 2⁻²⁴ (on webgpu either neighbour, 0 or 2⁻²⁴).
  const tiny = await matmulHalf(f32([[3e-8]]), f32([[1]])).item();
  if (backendName === "cpu") assert.is(tiny, 2 ** -24);
  else assert.ok(tiny === 2 ** -24 || tiny === 0, `3e-8 as float16: ${tiny}`);
  // k = 0 and empty outputs
  await close(matmulHalf(dn.zeros([2, 0]), dn.zeros([0, 3])), [0, 0, 0, 0, 0, 0], { shape: [2, 3] });
  assert.equal([...matmulHalf(dn.zeros([0, 4]), dn.zeros([4, 3])).shape], [0, 3]);
});

test("matmulHalf: straight-through gradient = float32 matmul's gradient at the rounded operands", async () => {
  const aData = randomArray(3 * 4), bData = Float32Array.from(randomArray(4 * 2), (v) => v + 0.1), wData = randomArray(3 * 2);
  const a = dn.tensor(aData, { shape: [3, 4], requiresGrad: true }), b = dn.tensor(bData, { shape: [4, 2], requiresGrad: true });
  const w = dn.tensor(wData, { shape: [3, 2] });
  matmulHalf(a, b).mul(w).sum().backward();
  const aR = rounded(aData), bR = rounded(bData);
  // dA = W·round(B)ᵀ, dB = round(A)ᵀ·W in float64 on the host.
  const dA = Array.from({ length: 12 }, (_, idx) => {
    const i = Math.floor(idx / 4), p = idx % 4;
    return wData[i * 2] * bR[p * 2] + wData[i * 2 + 1] * bR[p * 2 + 1];
  });
  const dB = Array.from({ length: 8 }, (_, idx) => {
    const p = Math.floor(idx / 2), j = idx % 2;
    return [0, 1, 2].reduce((s, i) => s + aR[i * 4 + p] * wData[i * 2 + j], 0);
  });
  await close(a.grad!, dA, { atol: 1e-6, rtol: 1e-5 });
  await close(b.grad!, dB, { atol: 1e-6, rtol: 1e-5 });
  // Finite differences of the float32 matmul at the rounded operands (float64 on the host: the loss is
  // linear in each operand, so central differences with h = 1e-3 are exact up to rounding).
  const loss = (av: ArrayLike<number>, bv: ArrayLike<number>) => {
    const { value } = hostMatmul(av, bv, 1, 3, 4, 2, 0, 0);
    return value.reduce((s, v, i) => s + v * wData[i], 0);
  };
  const h = 1e-3;
  const gotA = await a.grad!.data();
  for (let i = 0; i < 12; i++) {
    const plus = Float64Array.from(aR), minus = Float64Array.from(aR);
    plus[i] += h;
    minus[i] -= h;
    const fd = (loss(plus, bR) - loss(minus, bR)) / (2 * h);
    assert.ok(Math.abs(gotA[i] - fd) <= 1e-5 * (1 + Math.abs(fd)), `dA[${i}]: autograd ${gotA[i]}, finite differences ${fd}`);
  }
  // The gradient is taken at the rounded B: it differs from the float32 matmul's gradient at B itself.
  const a32 = dn.tensor(aData, { shape: [3, 4], requiresGrad: true });
  dn.matmul(a32, dn.tensor(bData, { shape: [4, 2] })).mul(w).sum().backward();
  const g32 = await a32.grad!.data();
  assert.ok(Array.from(gotA).some((v, i) => v !== g32[i]), "straight-through gradient equals the unrounded one: the operands were not rounded");
  // Broadcast batch: dB sums over the batch; 1-D operand.
  const x = dn.tensor(randomArray(2 * 3 * 4), { shape: [2, 3, 4], requiresGrad: true });
  const k = dn.tensor(bData, { shape: [4, 2], requiresGrad: true });
  matmulHalf(x, k).sum().backward();
  const xR = rounded(await x.data());
  const dK = Array.from({ length: 8 }, (_, idx) => {
    const p = Math.floor(idx / 2);
    let s = 0;
    for (let q = 0; q < 6; q++) s += xR[q * 4 + p];
    return s;
  });
  await close(k.grad!, dK, { atol: 1e-5, rtol: 1e-5, shape: [4, 2] });
  assert.equal([...x.grad!.shape], [2, 3, 4]);
  const v = dn.tensor([0.1, 0.2, 0.3, 0.4], { requiresGrad: true });
  matmulHalf(v, k).sum().backward();
  await close(v.grad!, Array.from({ length: 4 }, (_, p) => bR[p * 2] + bR[p * 2 + 1]), { atol: 1e-6, shape: [4] });
});

test("matmulHalf: the packed copies are freed (forward and backward)", async () => {
  const a = dn.rand([8, 12], { seed: 1 }), b = dn.rand([12, 5], { seed: 2 });
  a.requiresGrad = true;
  b.requiresGrad = true;
  const step = async () => {
    const y = dn.tidy(() => {
      matmulHalf(a, b).sum().backward();
      return matmulHalf(dn.ones([3, 8]), a.transpose([1, 0]).transpose([1, 0])).sum();
    });
    await y.data();
    y.dispose();
    a.grad!.dispose();
    b.grad!.dispose();
    a.grad = null;
    b.grad = null;
  };
  await step(); // fills the buffer pool
  const m1 = dn.memory();
  await step();
  const m2 = dn.memory();
  assert.is(m2.numTensors, m1.numTensors, `tensors ${m1.numTensors} → ${m2.numTensors}`);
  assert.is(m2.numBytes, m1.numBytes, `tensor bytes ${m1.numBytes} → ${m2.numBytes}`);
  // The packed operands are backend buffers, not tensors: the backend's own count (pool included) must not grow.
  const b1 = m1.backends[backendName], b2 = m2.backends[backendName];
  assert.is(b2.buffers, b1.buffers, `${backendName} buffers ${JSON.stringify(b1)} → ${JSON.stringify(b2)}`);
  assert.is(b2.bytes, b1.bytes, `${backendName} bytes ${JSON.stringify(b1)} → ${JSON.stringify(b2)}`);
});

test("matmulHalf: errors name the op, dtypes and shapes", () => {
  throws(() => matmulHalf(dn.tensor([[1, 2, 3], [4, 5, 6]]), dn.ones([3, 4])), /matmulHalf: operands must be float32, got int32 \[2,3\] @ float32 \[3,4\]/, /cast/);
  throws(() => matmulHalf(dn.ones([2, 3]), dn.ones([4, 2])), /matmulHalf: inner dimensions differ: \[2,3\] @ \[4,2\] \(3 ≠ 4\)/);
  throws(() => matmulHalf(dn.tensor(2.5), dn.ones([2])), /matmulHalf: operands must have at least one dimension/);
  throws(() => matmulHalf(dn.ones([2, 2, 3]), dn.ones([3, 3, 1])), /matmulHalf \(batch dims\)/);
  throws(() => new Dense(3, { precision: "bfloat16" as never }), /Dense: precision must be "float32" or "float16", got "bfloat16"/);
});

if (backendName === "webgpu") {
  test("matmulHalf: webgpu agrees with the cpu backend", async () => {
    const aData = randomArray(2 * 40 * 33), bData = randomArray(33 * 21);
    const a = dn.tensor(aData, { shape: [2, 40, 33] }), b = dn.tensor(bData, { shape: [33, 21] });
    const onGpu = await matmulHalf(a, b).data();
    const onCpu = await matmulHalf(await a.to("cpu"), await b.to("cpu")).data();
    const { magnitude } = hostMatmul(rounded(aData), rounded(bData), 2, 40, 33, 21, 40 * 33, 0);
    for (let i = 0; i < onGpu.length; i++) {
      const tol = productRtol * magnitude[i] + 1e-6;
      if (!(Math.abs(onGpu[i] - onCpu[i]) <= tol)) assert.unreachable(`element ${i}: webgpu ${onGpu[i]}, cpu ${onCpu[i]} (tolerance ${tol})`);
    }
  });
} // on the cpu pass there is nothing to compare with: the webgpu pass of this file runs the parity test

/** y = x·w + noise-free targets; a 2-layer MLP with the given Dense precision, trained from the same seed. */
async function trainRegression(precision: "float32" | "float16"): Promise<number[]> {
  const g = new dn.Generator(11);
  const xs: number[] = [], ys: number[] = [];
  for (let i = 0; i < 64; i++) {
    const row = Array.from({ length: 6 }, () => g.normal());
    xs.push(...row);
    ys.push(0.5 * row[0] - row[1] + 0.25 * row[2] * row[3] + 0.3);
  }
  dn.manualSeed(5);
  const model = new Sequential([
    new Dense(16, { inputDim: 6, activation: "tanh", precision }),
    new Dense(1, { precision }),
  ]);
  model.compile({ optimizer: new Adam({ learningRate: 0.02 }), loss: "mse" });
  const h = await model.fit(dn.tensor(xs, { shape: [64, 6] }), dn.tensor(ys, { shape: [64, 1] }), { epochs: 40, batchSize: 16, verbose: 0, shuffle: false });
  model.dispose();
  return h.history.loss;
}

test("Dense precision float16 trains a small regression to about the float32 loss", async () => {
  const l16 = await trainRegression("float16"), l32 = await trainRegression("float32");
  const last16 = l16.at(-1)!, last32 = l32.at(-1)!;
  console.log(`  mse after 40 epochs on ${backendName}: float16 ${l16[0].toFixed(4)} → ${last16.toFixed(6)}, float32 ${l32[0].toFixed(4)} → ${last32.toFixed(6)}`);
  assert.ok(Math.abs(l16[0] - l32[0]) <= 0.01 * l32[0], `first-epoch loss float16 ${l16[0]} vs float32 ${l32[0]}`);
  assert.ok(last32 < l32[0] / 5, `float32 did not train: ${l32[0]} → ${last32}`);
  assert.ok(last16 < l16[0] / 5, `float16 did not train: ${l16[0]} → ${last16}`);
  assert.ok(Math.abs(last16 - last32) <= 0.2 * last32 + 1e-3, `final loss float16 ${last16} vs float32 ${last32}`);
});

test("Dense precision: config round trip, save/load, summary unchanged", async () => {
  const layer = new Dense(3, { precision: "float16", inputDim: 4 });
  assert.is(layer.precision, "float16");
  assert.is(layer.getConfig().precision, "float16");
  assert.is(new Dense(3).getConfig().precision, "float32");
  const copy = deserializeLayer(serializeLayer(layer)) as Dense;
  assert.is(copy.precision, "float16");
  // A config saved before the option existed loads as float32.
  const { precision: _omitted, ...older } = new Dense(3).getConfig();
  assert.is((deserializeLayer({ className: "Dense", config: older }) as Dense).precision, "float32");

  dn.manualSeed(3);
  const m16 = new Sequential([new Dense(5, { inputDim: 4, activation: "relu", precision: "float16", name: "hidden" }), new Dense(2, { name: "out" })], { name: "mixed" });
  dn.manualSeed(3);
  const m32 = new Sequential([new Dense(5, { inputDim: 4, activation: "relu", name: "hidden" }), new Dense(2, { name: "out" })], { name: "mixed" });
  assert.is(m16.summaryText(), m32.summaryText());
  const dir = mkdtempSync(join(tmpdir(), "dawnet-half-"));
  try {
    await m16.save(join(dir, "m"));
    const loaded = await loadModel(join(dir, "m"));
    assert.equal(loaded.layers.map((l) => (l as Dense).precision), ["float16", "float32"]);
    const x = dn.tensor(randomArray(3 * 4), { shape: [3, 4] });
    await close(loaded.predict(x), Array.from(await m16.predict(x).data()), { atol: 0, rtol: 0 });
    // The float16 layer really rounds: the same weights in float32 give (slightly) different outputs.
    const y32 = await m32.predict(x).data(), y16 = await m16.predict(x).data();
    assert.ok(Array.from(y16).some((v, i) => v !== y32[i]), "float16 Dense gave the float32 outputs exactly");
    await close(m16.predict(x), Array.from(y32), { atol: 1e-2, rtol: 1e-2 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
