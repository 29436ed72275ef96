/**
 * Kernel-level timings of the CPU backend's hot kernels on the tutorial CNN's layers (batch 32):
 * conv2d forward / grad input / grad filter, max pooling and its gradient, and the dense matmuls.
 *   node dist/bench/cpu-kernels.js [batch]
 */
import { conv2dCpu, conv2dGradFilterCpu, conv2dGradInputCpu, pool2dCpu, pool2dGradCpu } from "../lib/backend/cpu/conv.js";
import { matmulCpu } from "../lib/backend/cpu/matmul.js";
import type { Conv2dParams, Pool2dParams } from "../lib/backend/backend.js";
import { bestTime, randomArray } from "./common.js";

const batch = Number(process.argv[2] ?? 32);

function convLayer(h: number, cin: number, cout: number): Conv2dParams {
  return { n: batch, h, w: h, cin, kh: 3, kw: 3, cout, oh: h - 2, ow: h - 2, strideH: 1, strideW: 1, dilationH: 1, dilationW: 1, padTop: 0, padLeft: 0 };
}
function poolLayer(h: number, c: number): Pool2dParams {
  const o = Math.floor(h / 2);
  return { n: batch, h, w: h, c, kh: 2, kw: 2, oh: o, ow: o, strideH: 2, strideW: 2, padTop: 0, padLeft: 0 };
}

async function main(): Promise<void> {
  const rows: { kernel: string; ms: number; gflops?: number }[] = [];
  const time = async (kernel: string, fn: () => void, macs?: number) => {
    const ms = await bestTime(fn, 300);
    const r = { kernel, ms, gflops: macs ? (2 * macs) / ms / 1e6 : undefined };
    rows.push(r);
    console.log(JSON.stringify(r));
  };
  for (const [h, cin, cout] of [[28, 1, 32], [13, 32, 64], [5, 64, 128]]) {
    const p = convLayer(h, cin, cout);
    const x = randomArray(p.n * p.h * p.w * p.cin, 1), w = randomArray(p.kh * p.kw * p.cin * p.cout, 2);
    const y = new Float32Array(p.n * p.oh * p.ow * p.cout), dy = randomArray(y.length, 3);
    const dx = new Float32Array(x.length), dw = new Float32Array(w.length);
    const macs = p.n * p.oh * p.ow * p.kh * p.kw * p.cin * p.cout;
    const name = `conv ${h}x${h}x${cin}->${cout}`;
    await time(`${name} forward`, () => conv2dCpu(x, w, y, p), macs);
    await time(`${name} grad input`, () => conv2dGradInputCpu(dy, w, dx, p), macs);
    await time(`${name} grad filter`, () => conv2dGradFilterCpu(x, dy, dw, p), macs);
  }
  for (const [h, c] of [[26, 32], [11, 64]]) {
    const p = poolLayer(h, c);
    const x = randomArray(p.n * p.h * p.w * p.c, 4), y = new Float32Array(p.n * p.oh * p.ow * p.c), dx = new Float32Array(x.length);
    const dy = randomArray(y.length, 5);
    await time(`maxpool ${h}x${h}x${c} forward`, () => pool2dCpu("max", x, y, p));
    await time(`maxpool ${h}x${h}x${c} grad`, () => pool2dGradCpu("max", x, dy, dx, p));
  }
  for (const [m, k, n, tA, tB] of [[batch, 784, 128, false, false], [784, batch, 128, true, false], [batch, 128, 784, false, true], [batch, 1152, 128, false, false]] as const) {
    const a = randomArray(m * k, 6), b = randomArray(k * n, 7), out = new Float32Array(m * n);
    await time(`matmul ${m}x${k}x${n}${tA ? " transA" : ""}${tB ? " transB" : ""}`, () => matmulCpu(a, b, out, { batch: 1, m, k, n, aBatchStride: 0, bBatchStride: 0, transA: tA, transB: tB }), m * k * n);
  }
  console.log("");
  for (const r of rows) console.log(`${r.kernel.padEnd(40)} ${r.ms.toFixed(3).padStart(8)} ms${r.gflops ? `  ${r.gflops.toFixed(1).padStart(6)} GFLOP/s` : ""}`);
}

main();
