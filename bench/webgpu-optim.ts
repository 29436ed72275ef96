/**
 * Fused optimizer updates on webgpu (Backend.optimizerStep, one dispatch per parameter) against the op
 * chain (~12 elementwise dispatches per parameter): samples/s of an MLP fit (784 → 256 → 128 → 10, batch
 * 128, Adam) with `fused` on and off, in one process, alternating windows (ABBA order, so drift and other
 * processes hit both alike); then one training step of each under the profiler (dispatches, GPU ms) and the
 * optimizer's own step alone. Both models start from the same weights and see the same batches without
 * shuffling; their weights at the end are compared (max |difference|): bit-identical on lavapipe; on an
 * H100 the driver's FMA contraction makes ulp-level differences that training amplifies (1e-3 after 288 steps).
 *
 *   node dist/bench/webgpu-optim.js [--windows=6] [--steps=16] [--optimizer=adam|sgd|rmsprop|adagrad|adamw]
 */
import * as dn from "../lib/index.js";
import { webgpuProfile, type GpuProfile } from "../lib/backend/webgpu/profiler.js";
import { Adam, AdamW, Adagrad, RMSprop, SGD, type Optimizer } from "../lib/optim/index.js";
import { randomArray, randomLabels } from "./common.js";

const arg = (name: string, fallback: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1] ?? fallback;
const windows = Number(arg("windows", "6"));
const stepsPerWindow = Number(arg("steps", "16"));
const which = arg("optimizer", "adam");
const batch = 128;

try {
  await dn.setBackend("webgpu");
} catch (e) {
  console.error(`webgpu unavailable: ${(e as Error).message}`);
  process.exit(0);
}

const OPTIMIZERS: Record<string, (fused: boolean) => Optimizer> = {
  adam: (fused) => new Adam({ learningRate: 1e-3, fused }),
  adamw: (fused) => new AdamW({ learningRate: 1e-3, fused }),
  sgd: (fused) => new SGD({ learningRate: 0.01, momentum: 0.9, fused }),
  rmsprop: (fused) => new RMSprop({ learningRate: 1e-3, fused }),
  adagrad: (fused) => new Adagrad({ learningRate: 1e-2, fused }),
};
const makeOptimizer = OPTIMIZERS[which];
if (!makeOptimizer) throw new Error(`webgpu-optim: unknown --optimizer=${which}; known: ${Object.keys(OPTIMIZERS).join(", ")}`);

function makeModel(fused: boolean): dn.Sequential {
  dn.manualSeed(7); // the same initial weights for both
  const model = new dn.Sequential([
    new dn.Dense(256, { inputDim: 784, activation: "relu" }),
    new dn.Dense(128, { activation: "relu" }),
    new dn.Dense(10),
  ]);
  model.compile({ optimizer: makeOptimizer(fused), loss: dn.losses.sparseCategoricalCrossentropy({ fromLogits: true }) });
  return model;
}

const samples = batch * stepsPerWindow;
const x = dn.tensor(randomArray(samples * 784, 3)).reshape([samples, 784]);
const y = dn.tensor(randomLabels(samples, 10, 4));
const variants = [
  { name: "fused", model: makeModel(true), rates: [] as number[] },
  { name: "op chain", model: makeModel(false), rates: [] as number[] },
];

async function fitWindow(model: dn.Sequential): Promise<number> {
  const t0 = performance.now();
  const history = await model.fit(x, y, { epochs: 1, batchSize: batch, shuffle: false, verbose: 0 });
  const loss = history.history.loss?.at(-1);
  if (typeof loss !== "number" || !Number.isFinite(loss)) throw new Error(`webgpu-optim: loss is ${loss}`);
  return samples / ((performance.now() - t0) / 1000);
}

for (const v of variants) await fitWindow(v.model); // compiles every shader
for (let w = 0; w < windows; w++) {
  const order = w % 2 === 0 ? variants : [...variants].reverse();
  for (const v of order) v.rates.push(await fitWindow(v.model));
}

const median = (a: number[]) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)];
const [fused, chain] = variants;
for (const v of variants) {
  console.log(JSON.stringify({
    bench: "webgpu-optim fit", optimizer: which, impl: v.name, batch, unit: "samples/s",
    median: Math.round(median(v.rates)), best: Math.round(Math.max(...v.rates)), windows: v.rates.map(Math.round),
  }));
}
console.log(JSON.stringify({ bench: "webgpu-optim fit", optimizer: which, ratio: "fused/op chain", median: Number((median(fused.rates) / median(chain.rates)).toFixed(3)), best: Number((Math.max(...fused.rates) / Math.max(...chain.rates)).toFixed(3)) }));

// Same start, same batches, same rule in the same f32 order (bit-identical on lavapipe; FMA contraction elsewhere).
let maxDiff = 0;
const wf = fused.model.trainableWeights, wc = chain.model.trainableWeights;
for (let i = 0; i < wf.length; i++) {
  const a = await wf[i].data(), b = await wc[i].data();
  for (let j = 0; j < a.length; j++) maxDiff = Math.max(maxDiff, Math.abs(a[j] - b[j]));
}
console.log(JSON.stringify({ bench: "webgpu-optim weights", optimizer: which, steps: (windows + 1) * stepsPerWindow, maxAbsDifference: maxDiff }));

const PROFILE_REPEATS = 3;

/** Profiles `step` PROFILE_REPEATS times per variant, alternating; prints the fastest profile's table and the GPU ms of all. */
async function profileBoth(what: string, step: (v: (typeof variants)[number]) => () => Promise<unknown>): Promise<void> {
  const profiles = new Map<string, GpuProfile<unknown>[]>(variants.map((v) => [v.name, []]));
  for (let r = 0; r < PROFILE_REPEATS; r++) {
    for (const v of r % 2 === 0 ? variants : [...variants].reverse()) profiles.get(v.name)!.push(await webgpuProfile(step(v)));
  }
  for (const [impl, runs] of profiles) {
    const fastest = runs.reduce((a, b) => (b.gpuUs < a.gpuUs ? b : a));
    console.log(`\n${what}, ${impl} (fastest of ${runs.length})\n${fastest}`);
    console.log(JSON.stringify({
      bench: `webgpu-optim profile ${what}`, optimizer: which, impl, dispatches: fastest.dispatches,
      gpuMs: Number((fastest.gpuUs / 1000).toFixed(3)), gpuMsRuns: runs.map((p) => Number((p.gpuUs / 1000).toFixed(1))), wallMs: Number(fastest.wallMs.toFixed(3)),
    }));
  }
}

const xb = x.slice([0, 0], [batch, 784]), yb = y.slice([0], [batch]);
await profileBoth("train step", (v) => () => v.model.trainOnBatch(xb, yb));

// The optimizer's update alone: gradients computed first (outside the profile), then applyGradients.
const lossFn = dn.losses.sparseCategoricalCrossentropy({ fromLogits: true });
const pairsOf = new Map<string, (readonly [dn.Tensor, dn.Tensor])[]>();
for (const v of variants) {
  const weights = v.model.trainableWeights;
  weights.forEach((w) => w.zeroGrad());
  dn.tidy(() => lossFn.call(yb, v.model.apply(xb)).backward());
  pairsOf.set(v.name, weights.map((w) => [w.grad!, w] as const));
}
await profileBoth("optimizer step", (v) => async () => {
  v.model.optimizer!.applyGradients(pairsOf.get(v.name)!);
  await v.model.trainableWeights[0].data();
});
for (const v of variants) v.model.trainableWeights.forEach((w) => w.zeroGrad());
