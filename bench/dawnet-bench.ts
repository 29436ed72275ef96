/** dawnet's side of the benchmarks, through the public API on the CPU backend. */
import * as dn from "../lib/index.js";
import type { Tensor } from "../lib/index.js";
import { bestTime, randomArray, randomLabels, type TrainSpec } from "./common.js";
import { Conv2D, Dense, Flatten, losses, MaxPooling2D, Sequential } from "../lib/nn/index.js";

export async function dawnetSetup(backend: "cpu" | "webgpu" = "cpu"): Promise<void> {
  await dn.setBackend(backend);
}

/** GFLOP/s of an n×n×n matmul including reading the result back. */
export async function dawnetMatmul(size: number, budgetMs: number): Promise<number> {
  const a = dn.tensor(randomArray(size * size, 1)).reshape([size, size]);
  const b = dn.tensor(randomArray(size * size, 2)).reshape([size, size]);
  const ms = await bestTime(async () => {
    const c = dn.matmul(a, b);
    await c.data();
    c.dispose();
  }, budgetMs);
  a.dispose(); b.dispose();
  return (2 * size ** 3) / ms / 1e6;
}

/** GFLOP/s of `queue` n×n×n products issued back to back, then one value read: the device's throughput. */
export async function dawnetMatmulQueued(size: number, budgetMs: number, queue: number): Promise<number> {
  const a = dn.tensor(randomArray(size * size, 1)).reshape([size, size]);
  const b = dn.tensor(randomArray(size * size, 2)).reshape([size, size]);
  const ms = await bestTime(async () => {
    const outs = Array.from({ length: queue }, () => dn.matmul(a, b));
    const probe = outs[queue - 1].slice([0, 0], [1, 1]);
    await probe.data();
    probe.dispose();
    for (const o of outs) o.dispose();
  }, budgetMs, 2);
  a.dispose(); b.dispose();
  return (queue * 2 * size ** 3) / ms / 1e6;
}

/** Microseconds per `a.add(b)` on `size` elements (created, computed, disposed). */
export async function dawnetOpOverhead(size: number, iters: number): Promise<number> {
  const a = dn.tensor(randomArray(size, 1)), b = dn.tensor(randomArray(size, 2));
  const run = async () => {
    for (let i = 0; i < iters; i++) dn.add(a, b).dispose();
    const last = dn.add(a, b);
    await last.data();
    last.dispose();
  };
  const ms = await bestTime(run, 300);
  return (ms * 1000) / (iters + 1);
}

interface Param { t: Tensor; m: Tensor; v: Tensor }

/** Adam (lr 1e-3, β 0.9/0.999, ε 1e-7 like Keras) written with the library's ops. */
function adamStep(params: Param[], step: number, lr = 1e-3, b1 = 0.9, b2 = 0.999, eps = 1e-7): void {
  const c1 = 1 - b1 ** step, c2 = 1 - b2 ** step;
  dn.noGrad(() => dn.tidy(() => {
    for (const p of params) {
      const g = p.t.grad!;
      p.m.assign(p.m.mul(b1).add(g.mul(1 - b1)));
      p.v.assign(p.v.mul(b2).add(g.square().mul(1 - b2)));
      const update = p.m.div(c1).div(p.v.div(c2).sqrt().add(eps)).mul(lr);
      p.t.assign(p.t.sub(update));
      p.t.zeroGrad();
    }
  }));
}

function glorot(shape: number[], seed: number): Tensor {
  const fanIn = shape.length === 4 ? shape[0] * shape[1] * shape[2] : shape[0];
  const fanOut = shape.length === 4 ? shape[0] * shape[1] * shape[3] : shape[1];
  const limit = Math.sqrt(6 / (fanIn + fanOut));
  const size = shape.reduce((a, b) => a * b, 1);
  const t = dn.tensor(randomArray(size, seed).map((v) => 2 * v * limit)).reshape(shape);
  t.requiresGrad = true;
  return t;
}

function param(t: Tensor): Param {
  return { t, m: dn.zeros([...t.shape]), v: dn.zeros([...t.shape]) };
}

function bias(n: number): Tensor {
  const t = dn.zeros([n]);
  t.requiresGrad = true;
  return t;
}

function crossEntropy(logits: Tensor, oneHotLabels: Tensor): Tensor {
  return dn.logSoftmax(logits, -1).mul(oneHotLabels).sum().div(-logits.shape[0]);
}

/** Samples/s of a training step loop (forward, backward, Adam), data pre-made as `batches` distinct batches. */
async function trainLoop(spec: TrainSpec, forward: (x: Tensor) => Tensor, params: Param[], makeBatch: (i: number) => { x: Tensor; y: Tensor }): Promise<number> {
  const batches = Array.from({ length: 8 }, (_, i) => makeBatch(i));
  let step = 0;
  const trainStep = () => {
    const { x, y } = batches[step % batches.length];
    const loss = dn.tidy(() => {
      const l = crossEntropy(forward(x), y);
      l.backward();
      return l;
    });
    adamStep(params, ++step);
    return loss;
  };
  for (let i = 0; i < spec.warmup; i++) trainStep().dispose();
  let last = 0, bestMs = Infinity;
  const perWindow = Math.max(1, Math.round(spec.steps / spec.windows));
  for (let w = 0; w < spec.windows; w++) {
    const t0 = performance.now();
    for (let i = 0; i < perWindow; i++) {
      const loss = trainStep();
      // Read the loss every 10 steps, like a progress bar would.
      if (i % 10 === 9 || i === perWindow - 1) last = await loss.item();
      loss.dispose();
    }
    bestMs = Math.min(bestMs, performance.now() - t0);
  }
  if (!Number.isFinite(last)) throw new Error(`dawnet training diverged: loss ${last}`);
  return (perWindow * spec.batch) / (bestMs / 1000);
}

/** MLP 784-128-10 (relu), softmax cross-entropy, Adam. */
export async function dawnetMlp(spec: TrainSpec): Promise<number> {
  const w1 = param(glorot([784, 128], 11)), b1 = param(bias(128));
  const w2 = param(glorot([128, 10], 12)), b2 = param(bias(10));
  const forward = (x: Tensor) => x.matmul(w1.t).add(b1.t).relu().matmul(w2.t).add(b2.t);
  return trainLoop(spec, forward, [w1, b1, w2, b2], (i) => ({
    x: dn.tensor(randomArray(spec.batch * 784, 100 + i)).reshape([spec.batch, 784]),
    y: dn.oneHot(dn.tensor(randomLabels(spec.batch, 10, 200 + i)), 10),
  }));
}

/** CNN Conv32-Pool-Conv64-Pool-Conv128-Flatten-Dense128-Dense10 on 28×28×1 (3×3 valid convs, 2×2 pools). */
export async function dawnetCnn(spec: TrainSpec): Promise<number> {
  const c1 = param(glorot([3, 3, 1, 32], 21)), cb1 = param(bias(32));
  const c2 = param(glorot([3, 3, 32, 64], 22)), cb2 = param(bias(64));
  const c3 = param(glorot([3, 3, 64, 128], 23)), cb3 = param(bias(128));
  const d1 = param(glorot([3 * 3 * 128, 128], 24)), db1 = param(bias(128));
  const d2 = param(glorot([128, 10], 25)), db2 = param(bias(10));
  const forward = (x: Tensor) => {
    let h = dn.conv2d(x, c1.t).add(cb1.t).relu();
    h = dn.maxPool2d(h, 2);
    h = dn.conv2d(h, c2.t).add(cb2.t).relu();
    h = dn.maxPool2d(h, 2);
    h = dn.conv2d(h, c3.t).add(cb3.t).relu();
    h = h.reshape([h.shape[0], -1]);
    return h.matmul(d1.t).add(db1.t).relu().matmul(d2.t).add(db2.t);
  };
  return trainLoop(spec, forward, [c1, cb1, c2, cb2, c3, cb3, d1, db1, d2, db2], (i) => ({
    x: dn.tensor(randomArray(spec.batch * 784, 300 + i)).reshape([spec.batch, 28, 28, 1]),
    y: dn.oneHot(dn.tensor(randomLabels(spec.batch, 10, 400 + i)), 10),
  }));
}

// ---- the same networks through the Keras-style API (lib/nn): what a user's model.fit() gets ----

async function fitSamplesPerSecond(model: Sequential, inputShape: number[], spec: TrainSpec): Promise<number> {
  // Logits + fromLogits, like the peers' fused softmax cross-entropy.
  model.compile({ optimizer: "adam", loss: losses.sparseCategoricalCrossentropy({ fromLogits: true }) });
  const make = (samples: number, seed: number) => ({
    x: dn.tensor(randomArray(samples * inputShape.reduce((a, b) => a * b, 1), seed)).reshape([samples, ...inputShape]),
    y: dn.tensor(randomLabels(samples, 10, seed + 1)),
  });
  const warm = make(spec.warmup * spec.batch, 500);
  await model.fit(warm.x, warm.y, { epochs: 1, batchSize: spec.batch, verbose: 0 });
  const perWindow = Math.max(1, Math.round(spec.steps / spec.windows));
  const data = make(perWindow * spec.batch, 600);
  let bestMs = Infinity;
  for (let w = 0; w < spec.windows; w++) {
    const t0 = performance.now();
    const history = await model.fit(data.x, data.y, { epochs: 1, batchSize: spec.batch, verbose: 0 });
    bestMs = Math.min(bestMs, performance.now() - t0);
    const loss = history.history.loss?.at(-1);
    if (typeof loss !== "number" || !Number.isFinite(loss)) throw new Error(`dawnet fit: loss is ${loss}`);
  }
  for (const t of [warm.x, warm.y, data.x, data.y]) t.dispose();
  return (perWindow * spec.batch) / (bestMs / 1000);
}

export async function dawnetMlpFit(spec: TrainSpec): Promise<number> {
  const model = new Sequential([new Dense(128, { activation: "relu", inputShape: [784] }), new Dense(10)]);
  return fitSamplesPerSecond(model, [784], spec);
}

export async function dawnetCnnFit(spec: TrainSpec): Promise<number> {
  const model = new Sequential([
    new Conv2D(32, 3, { activation: "relu", inputShape: [28, 28, 1] }), new MaxPooling2D(2),
    new Conv2D(64, 3, { activation: "relu" }), new MaxPooling2D(2),
    new Conv2D(128, 3, { activation: "relu" }), new Flatten(),
    new Dense(128, { activation: "relu" }), new Dense(10),
  ]);
  return fitSamplesPerSecond(model, [28, 28, 1], spec);
}
