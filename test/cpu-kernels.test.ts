/**
 * The fast CPU kernels (WASM SIMD GEMM, im2col convolutions, pooling) against straightforward
 * reference loops written here, on odd shapes.
 * float32 tolerance: |fast − reference| ≤ 8·k·2⁻²⁴·Σ|aᵢ·bᵢ| + 1e-30 per element (k = length of the sum),
 * i.e. a few times the worst-case float32 summation error; a wrong element misses by O(1).
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { matmulCpu } from "../lib/backend/cpu/matmul.js";
import { conv2dCpu, conv2dGradFilterCpu, conv2dGradInputCpu, pool2dCpu, pool2dGradCpu } from "../lib/backend/cpu/conv.js";
import { threadsAvailable } from "../lib/backend/cpu/gemm-threads.js";
import { gemmConfig } from "../lib/backend/cpu/gemm-f32.js";
import type { Conv2dParams, MatmulParams, Pool2dParams } from "../lib/backend/backend.js";
import { spawnSync } from "node:child_process";

let seed = 12345;
function random(): number {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return seed / 2 ** 32 - 0.5;
}
const randomF32 = (size: number) => Float32Array.from({ length: size }, random);

/** Checks got against ref with a per-element bound from Σ|terms| (see the header). */
function assertClose(got: ArrayLike<number>, ref: Float64Array, absSum: Float64Array, terms: number, what: string): void {
  assert.is(got.length, ref.length, `${what}: length`);
  const rel = 8 * Math.max(terms, 1) * 2 ** -24;
  for (let i = 0; i < ref.length; i++) {
    const tol = rel * absSum[i] + 1e-30;
    if (!(Math.abs(got[i] - ref[i]) <= tol)) {
      assert.unreachable(`${what}: element ${i} is ${got[i]}, reference ${ref[i]} (tolerance ${tol.toExponential(2)})`);
    }
  }
}

// ---- matmul ----

function matmulReference(a: ArrayLike<number>, b: ArrayLike<number>, p: MatmulParams): { ref: Float64Array; absSum: Float64Array } {
  const { batch, m, k, n, aBatchStride, bBatchStride, transA, transB } = p;
  const ref = new Float64Array(batch * m * n), absSum = new Float64Array(batch * m * n);
  for (let bi = 0; bi < batch; bi++)
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let s = 0, sa = 0;
        for (let q = 0; q < k; q++) {
          const av = a[bi * aBatchStride + (transA ? q * m + i : i * k + q)];
          const bv = b[bi * bBatchStride + (transB ? j * k + q : q * n + j)];
          s += av * bv;
          sa += Math.abs(av * bv);
        }
        ref[(bi * m + i) * n + j] = s;
        absSum[(bi * m + i) * n + j] = sa;
      }
  return { ref, absSum };
}

function checkMatmul(batch: number, m: number, k: number, n: number, transA: boolean, transB: boolean, broadcast: "none" | "a" | "b" = "none"): void {
  const aBatchStride = broadcast === "a" ? 0 : m * k, bBatchStride = broadcast === "b" ? 0 : k * n;
  const p: MatmulParams = { batch, m, k, n, aBatchStride, bBatchStride, transA, transB };
  const a = randomF32(broadcast === "a" ? m * k : batch * m * k), b = randomF32(broadcast === "b" ? k * n : batch * k * n);
  const out = new Float32Array(batch * m * n).fill(NaN);
  matmulCpu(a, b, out, p);
  const { ref, absSum } = matmulReference(a, b, p);
  assertClose(out, ref, absSum, k, `matmul ${JSON.stringify(p)}`);
}

const SIZES = [1, 3, 17, 65, 257];

const ODD_SHAPES: [number, number, number][] = [];
for (const m of SIZES) for (const n of SIZES) ODD_SHAPES.push([m, 17, n]);
for (const k of SIZES) ODD_SHAPES.push([65, k, 3], [3, k, 65], [17, k, 17]);
ODD_SHAPES.push([257, 257, 65], [65, 300, 257], [4, 2048, 9]);

/** Runs `fn` with the GEMM path thresholds changed, restoring them after. */
function withConfig(config: Partial<typeof gemmConfig>, fn: () => void): void {
  const saved = { ...gemmConfig };
  Object.assign(gemmConfig, config);
  try {
    fn();
  } finally {
    Object.assign(gemmConfig, saved);
  }
}

test("matmul float32 (direct driver) matches the reference on odd shapes, all transpositions", () => {
  withConfig({ parallelMinMacs: Infinity }, () => {
    for (const [m, k, n] of ODD_SHAPES)
      for (const transA of [false, true]) for (const transB of [false, true]) checkMatmul(1, m, k, n, transA, transB);
  });
});

test("matmul float32 (packed driver) matches the reference on odd shapes, all transpositions", () => {
  withConfig({ parallelMinMacs: Infinity, packedMinDim: 1 }, () => {
    for (const [m, k, n] of ODD_SHAPES)
      for (const transA of [false, true]) for (const transB of [false, true]) checkMatmul(1, m, k, n, transA, transB);
  });
});

test("matmul float32 batched, with batch stride 0 on either side", () => {
  checkMatmul(3, 17, 65, 3, false, false);
  checkMatmul(4, 5, 33, 9, true, false, "a");
  checkMatmul(4, 65, 7, 17, false, true, "b");
  checkMatmul(2, 1, 257, 1, true, true, "b");
});

test("matmul k = 0 gives zeros", () => {
  const out = new Float32Array(12).fill(NaN);
  matmulCpu(new Float32Array(0), new Float32Array(0), out, { batch: 1, m: 64, k: 0, n: 64, aBatchStride: 0, bBatchStride: 0, transA: false, transB: false });
  assert.ok(out.every((v) => v === 0));
});

test("matmul float64 and int32 use exact loops", () => {
  const p: MatmulParams = { batch: 1, m: 3, k: 17, n: 5, aBatchStride: 0, bBatchStride: 0, transA: true, transB: false };
  const a = Float64Array.from(randomF32(51)), b = Float64Array.from(randomF32(85));
  const out = new Float64Array(15);
  matmulCpu(a, b, out, p);
  const { ref } = matmulReference(a, b, p);
  for (let i = 0; i < 15; i++) assert.ok(Math.abs(out[i] - ref[i]) < 1e-14, `float64 element ${i}`);
  const ai = Int32Array.from({ length: 51 }, (_, i) => (i % 7) - 3), bi = Int32Array.from({ length: 85 }, (_, i) => (i % 5) - 2);
  const outI = new Int32Array(15);
  matmulCpu(ai, bi, outI, p);
  assert.equal(Array.from(outI), Array.from(matmulReference(ai, bi, p).ref));
});

// ---- conv2d ----

interface ConvCase { n: number; h: number; w: number; cin: number; cout: number; kh: number; kw: number; stride: [number, number]; dilation: [number, number]; pad: [number, number, number, number] }

function convParams(c: ConvCase): Conv2dParams {
  const [pt, pb, pl, pr] = c.pad;
  const oh = Math.floor((c.h + pt + pb - c.dilation[0] * (c.kh - 1) - 1) / c.stride[0]) + 1;
  const ow = Math.floor((c.w + pl + pr - c.dilation[1] * (c.kw - 1) - 1) / c.stride[1]) + 1;
  return {
    n: c.n, h: c.h, w: c.w, cin: c.cin, kh: c.kh, kw: c.kw, cout: c.cout, oh, ow,
    strideH: c.stride[0], strideW: c.stride[1], dilationH: c.dilation[0], dilationW: c.dilation[1], padTop: pt, padLeft: pl,
  };
}

/** Visits every (output position, filter tap, cin, cout) term of the convolution. */
function forEachTerm(p: Conv2dParams, fn: (xi: number, wi: number, yi: number) => void): void {
  for (let b = 0; b < p.n; b++)
    for (let oy = 0; oy < p.oh; oy++)
      for (let ox = 0; ox < p.ow; ox++)
        for (let ky = 0; ky < p.kh; ky++)
          for (let kx = 0; kx < p.kw; kx++) {
            const iy = oy * p.strideH + ky * p.dilationH - p.padTop, ix = ox * p.strideW + kx * p.dilationW - p.padLeft;
            if (iy < 0 || iy >= p.h || ix < 0 || ix >= p.w) continue;
            for (let ci = 0; ci < p.cin; ci++)
              for (let co = 0; co < p.cout; co++)
                fn(((b * p.h + iy) * p.w + ix) * p.cin + ci, ((ky * p.kw + kx) * p.cin + ci) * p.cout + co, ((b * p.oh + oy) * p.ow + ox) * p.cout + co);
          }
}

function checkConv(c: ConvCase, dtype: "float32" | "float64" = "float32"): void {
  const p = convParams(c);
  const Ctor = dtype === "float32" ? Float32Array : Float64Array;
  const x = Ctor.from(randomF32(p.n * p.h * p.w * p.cin)), w = Ctor.from(randomF32(p.kh * p.kw * p.cin * p.cout));
  const dy = Ctor.from(randomF32(p.n * p.oh * p.ow * p.cout));
  const y = new Float64Array(dy.length), yAbs = new Float64Array(dy.length);
  const dx = new Float64Array(x.length), dxAbs = new Float64Array(x.length);
  const dw = new Float64Array(w.length), dwAbs = new Float64Array(w.length);
  forEachTerm(p, (xi, wi, yi) => {
    y[yi] += x[xi] * w[wi]; yAbs[yi] += Math.abs(x[xi] * w[wi]);
    dx[xi] += dy[yi] * w[wi]; dxAbs[xi] += Math.abs(dy[yi] * w[wi]);
    dw[wi] += x[xi] * dy[yi]; dwAbs[wi] += Math.abs(x[xi] * dy[yi]);
  });
  const what = `conv2d ${dtype} ${JSON.stringify(c)}`;
  const K = p.kh * p.kw * p.cin, M = p.n * p.oh * p.ow;
  const gotY = new Ctor(y.length).fill(NaN);
  conv2dCpu(x, w, gotY, p);
  assertClose(gotY, y, yAbs, K, `${what} forward`);
  const gotDx = new Ctor(x.length).fill(NaN);
  conv2dGradInputCpu(dy, w, gotDx, p);
  assertClose(gotDx, dx, dxAbs, p.kh * p.kw * p.cout, `${what} grad input`);
  const gotDw = new Ctor(w.length).fill(NaN);
  conv2dGradFilterCpu(x, dy, gotDw, p);
  assertClose(gotDw, dw, dwAbs, M, `${what} grad filter`);
}

const conv = (o: Partial<ConvCase>): ConvCase => ({ n: 2, h: 9, w: 7, cin: 3, cout: 3, kh: 3, kw: 3, stride: [1, 1], dilation: [1, 1], pad: [0, 0, 0, 0], ...o });

test("conv2d float32 forward, grad input and grad filter match the reference", () => {
  checkConv(conv({}));
  checkConv(conv({ cin: 1, cout: 1 }));
  checkConv(conv({ cin: 1, cout: 17, pad: [1, 1, 1, 1] }));
  checkConv(conv({ stride: [2, 2], pad: [1, 0, 1, 1] }));
  checkConv(conv({ stride: [2, 1], dilation: [2, 2], pad: [2, 2, 1, 2] }));
  checkConv(conv({ kh: 1, kw: 1, cin: 17, cout: 3 }));
  checkConv(conv({ kh: 1, kw: 1, stride: [2, 2], cin: 3, cout: 5 }));
  checkConv(conv({ kh: 5, kw: 5, h: 11, w: 12, cin: 3, cout: 1, pad: [2, 2, 2, 2] }));
  checkConv(conv({ kh: 5, kw: 3, n: 1, h: 5, w: 3, cin: 1, cout: 3, pad: [0, 0, 0, 0] }));
  checkConv(conv({ n: 3, h: 13, w: 13, cin: 32, cout: 64, pad: [1, 1, 1, 1] }));
});

test("conv2d float32 in several patch chunks (large input)", () => {
  // M·K = 2·48·48·(9·200) > 4 Mi floats, so the patch matrix is built in chunks.
  checkConv(conv({ n: 2, h: 48, w: 48, cin: 200, cout: 2, pad: [1, 1, 1, 1] }));
});

test("conv2d float64 loops match the reference", () => {
  checkConv(conv({ stride: [2, 1], dilation: [1, 2], pad: [1, 1, 2, 0] }), "float64");
});

// ---- pooling ----

function checkPool(op: "max" | "avg", p: Pool2dParams): void {
  // Quantized values make ties, which exercise "first maximal element".
  const x = Float32Array.from(randomF32(p.n * p.h * p.w * p.c), (v) => Math.round(v * 8) / 8);
  const dy = randomF32(p.n * p.oh * p.ow * p.c);
  const y = new Float64Array(dy.length), dx = new Float64Array(x.length);
  for (let b = 0; b < p.n; b++)
    for (let oy = 0; oy < p.oh; oy++)
      for (let ox = 0; ox < p.ow; ox++)
        for (let ch = 0; ch < p.c; ch++) {
          const taps: number[] = [];
          for (let ky = 0; ky < p.kh; ky++)
            for (let kx = 0; kx < p.kw; kx++) {
              const iy = oy * p.strideH + ky - p.padTop, ix = ox * p.strideW + kx - p.padLeft;
              if (iy >= 0 && iy < p.h && ix >= 0 && ix < p.w) taps.push(((b * p.h + iy) * p.w + ix) * p.c + ch);
            }
          const yi = ((b * p.oh + oy) * p.ow + ox) * p.c + ch;
          if (op === "avg") {
            y[yi] = taps.length ? taps.reduce((s, i) => s + x[i], 0) / taps.length : 0;
            for (const i of taps) dx[i] += dy[yi] / taps.length;
          } else {
            let best = taps[0];
            for (const i of taps) if (x[i] > x[best]) best = i;
            y[yi] = best === undefined ? -Infinity : x[best];
            if (best !== undefined) dx[best] += dy[yi];
          }
        }
  const gotY = new Float32Array(y.length).fill(NaN);
  pool2dCpu(op, x, gotY, p);
  const gotDx = new Float32Array(dx.length).fill(NaN);
  pool2dGradCpu(op, x, dy, gotDx, p);
  const ones = (len: number) => new Float64Array(len).fill(1);
  assertClose(gotY, y, ones(y.length), p.kh * p.kw, `${op} pool ${JSON.stringify(p)} forward`);
  assertClose(gotDx, dx, ones(dx.length), p.kh * p.kw, `${op} pool ${JSON.stringify(p)} grad`);
}

test("max and avg pooling (and their gradients) match the reference", () => {
  for (const op of ["max", "avg"] as const) {
    checkPool(op, { n: 2, h: 8, w: 8, c: 3, kh: 2, kw: 2, oh: 4, ow: 4, strideH: 2, strideW: 2, padTop: 0, padLeft: 0 });
    checkPool(op, { n: 1, h: 7, w: 9, c: 17, kh: 3, kw: 3, oh: 4, ow: 5, strideH: 2, strideW: 2, padTop: 1, padLeft: 1 });
    checkPool(op, { n: 2, h: 5, w: 5, c: 1, kh: 3, kw: 2, oh: 5, ow: 4, strideH: 1, strideW: 1, padTop: 1, padLeft: 0 });
    // Channels a multiple of 4 with every window inside the image: the WASM SIMD path.
    checkPool(op, { n: 2, h: 8, w: 8, c: 4, kh: 2, kw: 2, oh: 4, ow: 4, strideH: 2, strideW: 2, padTop: 0, padLeft: 0 });
    checkPool(op, { n: 1, h: 7, w: 9, c: 8, kh: 3, kw: 3, oh: 5, ow: 7, strideH: 1, strideW: 1, padTop: 0, padLeft: 0 });
    checkPool(op, { n: 2, h: 9, w: 7, c: 12, kh: 3, kw: 2, oh: 4, ow: 6, strideH: 2, strideW: 1, padTop: 0, padLeft: 0 });
    checkPool(op, { n: 3, h: 26, w: 26, c: 32, kh: 2, kw: 2, oh: 13, ow: 13, strideH: 2, strideW: 2, padTop: 0, padLeft: 0 });
  }
});

test("max pooling propagates NaN (JS and WASM paths)", () => {
  const p: Pool2dParams = { n: 1, h: 2, w: 2, c: 1, kh: 2, kw: 2, oh: 1, ow: 1, strideH: 2, strideW: 2, padTop: 0, padLeft: 0 };
  const out = new Float32Array(1);
  pool2dCpu("max", Float32Array.of(1, NaN, 3, 2), out, p);
  assert.ok(Number.isNaN(out[0]));
  // 4 channels, 2×2 pixels: channel 1 has a NaN in its second tap, the others are finite.
  const p4: Pool2dParams = { ...p, c: 4 };
  const out4 = new Float32Array(4);
  pool2dCpu("max", Float32Array.of(1, 2, 3, 4, 5, NaN, 0, 4, 2, 2, 2, 9, 0, 0, 0, 0), out4, p4);
  assert.equal(Array.from(out4.map((v) => (Number.isNaN(v) ? -1 : v))), [5, -1, 3, 9]);
});

test("matmul float32 on the worker thread (large product) matches the reference", async () => {
  // The worker starts on the first large product; products run single-threaded until it is ready.
  checkMatmul(1, 260, 130, 150, false, false);
  // Up to 10 s: a worker starts slowly on a loaded machine.
  for (let i = 0; i < 500 && !threadsAvailable(); i++) await new Promise((r) => setTimeout(r, 20));
  if (!threadsAvailable()) {
    console.log("skipped: worker thread unavailable (one CPU or DAWNET_CPU_THREADS=1); single-thread path checked above");
    return;
  }
  // Lowered thresholds put small products on both threads, through both drivers.
  for (const packedMinDim of [Infinity, 1]) {
    withConfig({ parallelMinMacs: 1, packedMinDim }, () => {
      checkMatmul(1, 260, 130, 150, false, false);
      checkMatmul(1, 257, 257, 65, true, true);
      checkMatmul(2, 131, 300, 129, false, true, "a");
      checkMatmul(1, 17, 65, 3, true, false);
      checkMatmul(1, 9, 3, 1, false, false);
      checkConv(conv({ n: 3, h: 13, w: 13, cin: 32, cout: 64, pad: [1, 1, 1, 1] }));
    });
  }
});

test("matmul with the FMA (relaxed SIMD) kernels, in a node started with --experimental-wasm-relaxed-simd", () => {
  // The library picks FMA kernels only where the engine accepts relaxed SIMD, so check them in a child that enables it.
  const gemmUrl = new URL("../lib/backend/cpu/gemm-f32.js", import.meta.url).href;
  const matmulUrl = new URL("../lib/backend/cpu/matmul.js", import.meta.url).href;
  const script = `
    const { gemmRuntime, gemmConfig } = await import(${JSON.stringify(gemmUrl)});
    const { matmulCpu } = await import(${JSON.stringify(matmulUrl)});
    if (!gemmRuntime().tiling.fma) throw new Error("FMA kernels were not selected");
    for (const [m, k, n, transA, packedMinDim] of [[65, 257, 33, false, Infinity], [67, 129, 70, true, Infinity], [70, 65, 90, false, 1]]) {
      gemmConfig.packedMinDim = packedMinDim;
      const a = Float32Array.from({ length: m * k }, (_, i) => Math.sin(i)), b = Float32Array.from({ length: k * n }, (_, i) => Math.cos(i));
      const out = new Float32Array(m * n);
      matmulCpu(a, b, out, { batch: 1, m, k, n, aBatchStride: 0, bBatchStride: 0, transA, transB: false });
      for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
        let s = 0, abs = 0;
        for (let p = 0; p < k; p++) { const t = (transA ? a[p * m + i] : a[i * k + p]) * b[p * n + j]; s += t; abs += Math.abs(t); }
        if (!(Math.abs(out[i * n + j] - s) <= 8 * k * 2 ** -24 * abs)) throw new Error(\`[\${m},\${k},\${n}] element \${i},\${j}: \${out[i * n + j]} vs \${s}\`);
      }
    }
    console.log("fma ok");
  `;
  const r = spawnSync(process.execPath, ["--experimental-wasm-relaxed-simd", "--input-type=module", "-e", script], { encoding: "utf8" });
  if (/bad option/.test(r.stderr)) {
    console.log("skipped: this Node has no --experimental-wasm-relaxed-simd flag");
    return;
  }
  assert.is(r.status, 0, `child failed: ${r.stderr}`);
  assert.match(r.stdout, "fma ok");
});

test.run();
