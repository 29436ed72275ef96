/** TensorFlow.js' side of the benchmarks (cpu and wasm backends), the same workloads as dawnet-bench.ts. */
// The umbrella package registers the gradients (tfjs-core alone does not) and the cpu backend.
import * as tf from "@tensorflow/tfjs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { bestTime, randomArray, randomLabels, type TrainSpec } from "./common.js";

let wasmPathsSet = false;

/**
 * Switches tfjs to `backend`: "cpu", "wasm" (binaries load from the installed package, offline) or "webgpu"
 * (@tensorflow/tfjs-backend-webgpu on the same Dawn that dawnet uses, through a `navigator.gpu` shim).
 */
export async function tfjsSetup(backend: "cpu" | "wasm" | "webgpu"): Promise<void> {
  if (backend === "webgpu") {
    const { installNavigatorGpu } = await import("./webgpu-peers.js");
    await installNavigatorGpu();
    await import("@tensorflow/tfjs-backend-webgpu");
  }
  if (backend === "wasm" && !wasmPathsSet) {
    const require = createRequire(import.meta.url);
    const { setWasmPaths } = await import("@tensorflow/tfjs-backend-wasm");
    setWasmPaths(join(dirname(require.resolve("@tensorflow/tfjs-backend-wasm/package.json")), "dist") + "/");
    wasmPathsSet = true;
  }
  // tfjs prints a hint about tfjs-node on first use of the cpu backend; keep the JSON output clean.
  const log = console.log;
  console.log = () => {};
  try {
    if (!(await tf.setBackend(backend))) throw new Error(`tfjs: backend ${backend} failed to initialize`);
    await tf.ready();
  } finally {
    console.log = log;
  }
}

/** GFLOP/s of `queue` n×n×n products issued back to back, then one value read: the device's throughput. */
export async function tfjsMatmulQueued(size: number, budgetMs: number, queue: number): Promise<number> {
  const a = tf.tensor2d(randomArray(size * size, 1), [size, size]);
  const b = tf.tensor2d(randomArray(size * size, 2), [size, size]);
  const ms = await bestTime(async () => {
    const outs = Array.from({ length: queue }, () => tf.matMul(a, b));
    const probe = tf.slice(outs[queue - 1], [0, 0], [1, 1]);
    await probe.data();
    probe.dispose();
    for (const o of outs) o.dispose();
  }, budgetMs, 2);
  a.dispose(); b.dispose();
  return (queue * 2 * size ** 3) / ms / 1e6;
}

export async function tfjsMatmul(size: number, budgetMs: number): Promise<number> {
  const a = tf.tensor2d(randomArray(size * size, 1), [size, size]);
  const b = tf.tensor2d(randomArray(size * size, 2), [size, size]);
  const ms = await bestTime(async () => {
    const c = tf.matMul(a, b);
    await c.data();
    c.dispose();
  }, budgetMs, 1);
  a.dispose(); b.dispose();
  return (2 * size ** 3) / ms / 1e6;
}

export async function tfjsOpOverhead(size: number, iters: number): Promise<number> {
  const a = tf.tensor1d(randomArray(size, 1)), b = tf.tensor1d(randomArray(size, 2));
  const ms = await bestTime(async () => {
    for (let i = 0; i < iters; i++) tf.add(a, b).dispose();
    const last = tf.add(a, b);
    await last.data();
    last.dispose();
  }, 300);
  a.dispose(); b.dispose();
  return (ms * 1000) / (iters + 1);
}

function glorot(shape: number[], seed: number): tf.Variable {
  const fanIn = shape.length === 4 ? shape[0] * shape[1] * shape[2] : shape[0];
  const fanOut = shape.length === 4 ? shape[0] * shape[1] * shape[3] : shape[1];
  const limit = Math.sqrt(6 / (fanIn + fanOut));
  const size = shape.reduce((a, b) => a * b, 1);
  return tf.variable(tf.tensor(randomArray(size, seed).map((v) => 2 * v * limit), shape));
}

async function trainLoop(spec: TrainSpec, vars: tf.Variable[], forward: (x: tf.Tensor) => tf.Tensor2D, makeBatch: (i: number) => { x: tf.Tensor; y: tf.Tensor2D }): Promise<number> {
  const optimizer = tf.train.adam(1e-3, 0.9, 0.999, 1e-7);
  const batches = Array.from({ length: 8 }, (_, i) => makeBatch(i));
  let step = 0;
  const trainStep = () => {
    const { x, y } = batches[step++ % batches.length];
    return optimizer.minimize(() => tf.losses.softmaxCrossEntropy(y, forward(x)) as tf.Scalar, true, vars)!;
  };
  for (let i = 0; i < spec.warmup; i++) trainStep().dispose();
  let last = 0, bestMs = Infinity;
  const perWindow = Math.max(1, Math.round(spec.steps / spec.windows));
  for (let w = 0; w < spec.windows; w++) {
    const t0 = performance.now();
    for (let i = 0; i < perWindow; i++) {
      const loss = trainStep();
      if (i % 10 === 9 || i === perWindow - 1) last = (await loss.data())[0];
      loss.dispose();
    }
    bestMs = Math.min(bestMs, performance.now() - t0);
  }
  if (!Number.isFinite(last)) throw new Error(`tfjs training diverged: loss ${last}`);
  optimizer.dispose();
  for (const b of batches) { b.x.dispose(); b.y.dispose(); }
  for (const v of vars) v.dispose();
  return (perWindow * spec.batch) / (bestMs / 1000);
}

export async function tfjsMlp(spec: TrainSpec): Promise<number> {
  const w1 = glorot([784, 128], 11), b1 = tf.variable(tf.zeros([128]));
  const w2 = glorot([128, 10], 12), b2 = tf.variable(tf.zeros([10]));
  const forward = (x: tf.Tensor) => tf.add(tf.matMul(tf.relu(tf.add(tf.matMul(x as tf.Tensor2D, w1 as tf.Tensor2D), b1)) as tf.Tensor2D, w2 as tf.Tensor2D), b2) as tf.Tensor2D;
  return trainLoop(spec, [w1, b1, w2, b2], forward, (i) => ({
    x: tf.tensor2d(randomArray(spec.batch * 784, 100 + i), [spec.batch, 784]),
    y: tf.oneHot(tf.tensor1d(randomLabels(spec.batch, 10, 200 + i), "int32"), 10) as tf.Tensor2D,
  }));
}

export async function tfjsCnn(spec: TrainSpec): Promise<number> {
  const c1 = glorot([3, 3, 1, 32], 21), cb1 = tf.variable(tf.zeros([32]));
  const c2 = glorot([3, 3, 32, 64], 22), cb2 = tf.variable(tf.zeros([64]));
  const c3 = glorot([3, 3, 64, 128], 23), cb3 = tf.variable(tf.zeros([128]));
  const d1 = glorot([1152, 128], 24), db1 = tf.variable(tf.zeros([128]));
  const d2 = glorot([128, 10], 25), db2 = tf.variable(tf.zeros([10]));
  const forward = (x: tf.Tensor) => {
    let h = tf.relu(tf.add(tf.conv2d(x as tf.Tensor4D, c1 as tf.Tensor4D, 1, "valid"), cb1)) as tf.Tensor4D;
    h = tf.maxPool(h, 2, 2, "valid");
    h = tf.relu(tf.add(tf.conv2d(h, c2 as tf.Tensor4D, 1, "valid"), cb2)) as tf.Tensor4D;
    h = tf.maxPool(h, 2, 2, "valid");
    h = tf.relu(tf.add(tf.conv2d(h, c3 as tf.Tensor4D, 1, "valid"), cb3)) as tf.Tensor4D;
    const flat = tf.reshape(h, [h.shape[0], -1]) as tf.Tensor2D;
    const hidden = tf.relu(tf.add(tf.matMul(flat, d1 as tf.Tensor2D), db1)) as tf.Tensor2D;
    return tf.add(tf.matMul(hidden, d2 as tf.Tensor2D), db2) as tf.Tensor2D;
  };
  return trainLoop(spec, [c1, cb1, c2, cb2, c3, cb3, d1, db1, d2, db2], forward, (i) => ({
    x: tf.tensor4d(randomArray(spec.batch * 784, 300 + i), [spec.batch, 28, 28, 1]),
    y: tf.oneHot(tf.tensor1d(randomLabels(spec.batch, 10, 400 + i), "int32"), 10) as tf.Tensor2D,
  }));
}
