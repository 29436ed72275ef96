/**
 * WebGPU conv kernels of kernels/conv.ts against CpuBackend: the direct input-gradient kernel (blocks of 8
 * channels, and the one-output fallback for other cin) and pooling (4 channels of a pixel per invocation when
 * c allows, one element otherwise) through the backend, and the register-blocked conv
 * GEMMs (`convGemmShader`: forward, filter and input gradient) dispatched directly, so they are checked
 * whichever kernel family the adapter selects. Shapes cover stride, padding, dilation, 1×1 filters and
 * M, N, K that are not multiples of the 8×8 blocks or the 64-wide tile. Skipped without an adapter.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { Buf, Conv2dParams, Pool2dParams } from "../lib/backend/backend.js";
import { CpuBackend } from "../lib/backend/cpu/cpu.js";
import { createWebGPUBackend, type WebGPUBackend } from "../lib/backend/webgpu/webgpu.js";
import { CONV_GEMM_TILE, convGemmShader, type ConvGemmKind } from "../lib/backend/webgpu/kernels/conv.js";

const created = await createWebGPUBackend();
const gpu = "unavailable" in created ? undefined : (created as WebGPUBackend);
const cpu = new CpuBackend();
const it = gpu ? test : test.skip;
if (!gpu) console.log(`skipped: webgpu conv tests: ${(created as { unavailable: string }).unavailable}`);

let seed = 777;
function randomData(n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    a[i] = (seed / 4294967296) * 4 - 2;
  }
  return a;
}

function withOutputSize(c: Omit<Conv2dParams, "oh" | "ow">): Conv2dParams {
  const oh = Math.floor((c.h + 2 * c.padTop - c.dilationH * (c.kh - 1) - 1) / c.strideH) + 1;
  const ow = Math.floor((c.w + 2 * c.padLeft - c.dilationW * (c.kw - 1) - 1) / c.strideW) + 1;
  return { ...c, oh, ow };
}

const base = { n: 2, h: 7, w: 6, cin: 8, kh: 3, kw: 2, cout: 5, strideH: 1, strideW: 1, dilationH: 1, dilationW: 1, padTop: 0, padLeft: 0 };
const cases: Conv2dParams[] = [
  {}, { strideH: 2, strideW: 3 }, { padTop: 1, padLeft: 1 }, { dilationH: 2, dilationW: 2, padTop: 2, padLeft: 1 },
  { kh: 1, kw: 1 }, { cin: 16, cout: 9, strideH: 2, padTop: 1, padLeft: 1, dilationW: 2 },
  { cin: 3 }, { cin: 1, cout: 1, kh: 1, kw: 1 }, { cin: 12, n: 3 }, // cin not a multiple of 8: the one-output path
  { n: 3, h: 13, w: 13, cin: 24, cout: 70, kh: 3, kw: 3 }, // N past one 64-wide tile, M past several
].map((v) => withOutputSize({ ...base, ...v }));

function operands(p: Conv2dParams) {
  const upload = (data: Float32Array) => ({ cpu: cpu.upload(data, "float32"), gpu: gpu!.upload(data, "float32") });
  return {
    x: upload(randomData(p.n * p.h * p.w * p.cin)),
    w: upload(randomData(p.kh * p.kw * p.cin * p.cout)),
    dy: upload(randomData(p.n * p.oh * p.ow * p.cout)),
  };
}

/**
 * |gpu − cpu| ≤ 1e-6·terms + 1e-5·|cpu| elementwise, for sums of `terms` products of inputs in [−2, 2]
 * (float32 sums in another order differ by about that much; a wrong tap or channel is off by ~1).
 */
async function expectClose(label: string, want: Buf, got: Buf, n: number, terms: number): Promise<void> {
  const w = cpu.readSync(want, "float32", n);
  const g = await gpu!.read(got, "float32", n);
  for (let i = 0; i < n; i++) {
    if (!(Math.abs(g[i] - w[i]) <= 1e-6 * terms + 1e-5 * Math.abs(w[i]))) assert.unreachable(`${label}: element ${i} of ${n}: webgpu ${g[i]}, cpu ${w[i]}`);
  }
}

it("direct input gradient (8 channels per invocation, one-output fallback) matches the cpu", async () => {
  for (const p of cases.filter((c) => c.cin < 64)) { // the backend's direct kernel range
    const { w, dy } = operands(p);
    await expectClose(`conv2dGradInput ${JSON.stringify(p)}`, cpu.conv2dGradInput(dy.cpu, w.cpu, "float32", p), gpu!.conv2dGradInput(dy.gpu, w.gpu, "float32", p), p.n * p.h * p.w * p.cin, p.kh * p.kw * p.cout);
  }
});

/** Runs convGemmShader(kind) as the backend's implicitGemm does (same uniforms and grid). */
function convGemm(kind: ConvGemmKind, a: Buf, b: Buf, p: Conv2dParams): { out: Buf; size: number; terms: number } {
  const [m, n, k] = kind === "conv" ? [p.n * p.oh * p.ow, p.cout, p.kh * p.kw * p.cin]
    : kind === "convFilterGrad" ? [p.kh * p.kw * p.cin, p.cout, p.n * p.oh * p.ow]
    : [p.n * p.h * p.w, p.cin, p.kh * p.kw * p.cout];
  const backend = gpu as unknown as {
    kernel(key: string, make: () => string): unknown;
    dispatch(op: string, kernel: unknown, params: number[], buffers: unknown[], groups: number[]): void;
    gpu(buf: Buf, op: string): unknown;
  };
  const out = gpu!.alloc(m * n, "float32");
  const params = [m, n, k, 0, 0, 0, 0, 0, p.n, p.h, p.w, p.cin, p.kh, p.kw, p.cout, p.oh, p.ow, p.strideH, p.strideW, p.dilationH, p.dilationW, p.padTop, p.padLeft, 0];
  backend.dispatch(`test conv gemm ${kind}`, backend.kernel(`test conv gemm ${kind}`, () => convGemmShader(kind)), params,
    [backend.gpu(out, "test"), backend.gpu(a, "test"), backend.gpu(b, "test")], [Math.ceil(n / CONV_GEMM_TILE), Math.ceil(m / CONV_GEMM_TILE), 1]);
  return { out, size: m * n, terms: k };
}

it("register-blocked conv GEMMs (forward, filter gradient, input gradient) match the cpu", async () => {
  for (const p of cases) {
    const { x, w, dy } = operands(p);
    const tag = JSON.stringify(p);
    const fwd = convGemm("conv", x.gpu, w.gpu, p);
    await expectClose(`conv gemm forward ${tag}`, cpu.conv2d(x.cpu, w.cpu, "float32", p), fwd.out, fwd.size, fwd.terms);
    const gf = convGemm("convFilterGrad", x.gpu, dy.gpu, p);
    await expectClose(`conv gemm filter gradient ${tag}`, cpu.conv2dGradFilter(x.cpu, dy.cpu, "float32", p), gf.out, gf.size, gf.terms);
    const gi = convGemm("convInputGrad", dy.gpu, w.gpu, p);
    await expectClose(`conv gemm input gradient ${tag}`, cpu.conv2dGradInput(dy.cpu, w.cpu, "float32", p), gi.out, gi.size, gi.terms);
  }
});

it("max/avg pooling and gradients with 4-channel blocks (c % 4 == 0) and without: padding, overlap, ties, NaN", async () => {
  const pools: Pool2dParams[] = [
    { n: 2, h: 6, w: 6, c: 4, kh: 2, kw: 2, oh: 3, ow: 3, strideH: 2, strideW: 2, padTop: 0, padLeft: 0 },
    { n: 3, h: 13, w: 13, c: 32, kh: 2, kw: 2, oh: 6, ow: 6, strideH: 2, strideW: 2, padTop: 0, padLeft: 0 }, // odd side: last row unpooled
    { n: 1, h: 7, w: 5, c: 8, kh: 3, kw: 3, oh: 4, ow: 3, strideH: 2, strideW: 2, padTop: 1, padLeft: 1 }, // overlapping windows
    { n: 2, h: 5, w: 4, c: 6, kh: 2, kw: 3, oh: 4, ow: 2, strideH: 1, strideW: 1, padTop: 0, padLeft: 0 }, // c % 4 != 0
    { n: 1, h: 3, w: 3, c: 3, kh: 2, kw: 2, oh: 2, ow: 2, strideH: 1, strideW: 1, padTop: 0, padLeft: 0 }, // total not a multiple of 4
  ];
  for (const p of pools) {
    const data = randomData(p.n * p.h * p.w * p.c).map((v) => Math.round(v)); // ties: max routes to the first maximal element
    data[5] = NaN;
    const x = { cpu: cpu.upload(data, "float32"), gpu: gpu!.upload(data, "float32") };
    const dyData = randomData(p.n * p.oh * p.ow * p.c);
    const dy = { cpu: cpu.upload(dyData, "float32"), gpu: gpu!.upload(dyData, "float32") };
    for (const op of ["max", "avg"] as const) {
      const tag = `${op} ${JSON.stringify(p)}`;
      const want = cpu.readSync(cpu.pool2d(op, x.cpu, "float32", p), "float32", p.n * p.oh * p.ow * p.c);
      const got = await gpu!.read(gpu!.pool2d(op, x.gpu, "float32", p), "float32", p.n * p.oh * p.ow * p.c);
      for (let i = 0; i < want.length; i++) {
        if (!(Object.is(want[i], got[i]) || Math.abs(want[i] - got[i]) <= 1e-6 * Math.abs(want[i]))) assert.unreachable(`pool2d ${tag}: element ${i}: webgpu ${got[i]}, cpu ${want[i]}`);
      }
      await expectClose(`pool2dGrad ${tag}`, cpu.pool2dGrad(op, x.cpu, dy.cpu, "float32", p), gpu!.pool2dGrad(op, x.gpu, dy.gpu, "float32", p), p.n * p.h * p.w * p.c, p.kh * p.kw);
    }
  }
});

test.run();
