/**
 * Optimizers against torch.optim (python3-torch 1.13, float32): p0 = sin(0.7·i + 30) (i < 5),
 * loss = Σ c·p + Σ p³/3 with c = sin(0.7·i + 31), so grad = c + p² and the state matters. Five steps
 * unless noted; both the fused CPU loop and the tensor-op chain are checked. Script excerpt:
 *   p = seq(5, 30).float().requires_grad_(); opt = torch.optim.Adam([p], lr=0.1, eps=1e-7)
 *   for _ in range(5): opt.zero_grad(); ((c*p).sum() + (p**3).sum()/3).backward(); opt.step()
 * Clipping: torch.nn.utils.clip_grad_norm_([p], 0.5) / clip_grad_value_([p], 0.3) before SGD(lr=0.1), 3 steps.
 */
import { suite } from "uvu";
import * as assert from "uvu/assert";
import * as dn from "../lib/index.js";
import { SGD, Adam, AdamW, RMSprop, Adagrad, Optimizer, ExponentialDecay, StepDecay, CosineDecay, PiecewiseConstantDecay, getOptimizer } from "../lib/optim/index.js";
import { close, throws, useBackend } from "./helpers.js";

const test = suite("optim");
test.before(async () => {
  await useBackend();
});

const seq = (n: number, k: number) => Array.from({ length: n }, (_, i) => Math.sin(i * 0.7 + k));
let cTensor: dn.Tensor | null = null;
const coefficients = () => (cTensor ??= dn.keep(dn.tensor(Float32Array.from(seq(5, 31)))));

function run(opt: Optimizer, steps = 5): dn.Tensor {
  const p = dn.tensor(Float32Array.from(seq(5, 30)), { requiresGrad: true });
  for (let s = 0; s < steps; s++) {
    opt.zeroGrad([p]);
    dn.tidy(() => coefficients().mul(p).sum().add(p.pow(3).sum().div(3)).backward());
    opt.step([p]);
  }
  opt.zeroGrad([p]);
  return p;
}

const REFERENCE: [string, (fused: boolean) => Optimizer, number[], number?][] = [
  ["SGD", (fused) => new SGD({ learningRate: 0.1, fused }), [-1.4297175, -1.1413223, -0.4569901, 0.0485231, 0.3754021]],
  ["SGD momentum", (fused) => new SGD({ learningRate: 0.1, momentum: 0.9, fused }), [-2.2458699, -2.0377746, -1.2435138, -0.9617901, -0.6332547]],
  ["SGD nesterov + weight decay", (fused) => new SGD({ learningRate: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.01, fused }), [-3.4885352, -3.2263012, -1.886346, -1.4419366, -0.8865185]],
  ["Adam", (fused) => new Adam({ learningRate: 0.1, fused }), [-1.4861381, -1.1576891, -0.5172976, 0.1364459, 0.4905699]],
  ["Adam amsgrad + weight decay", (fused) => new Adam({ learningRate: 0.1, amsgrad: true, weightDecay: 0.1, fused }), [-1.484758, -1.1575717, -0.5169836, 0.1368164, 0.490582]],
  ["AdamW", (fused) => new AdamW({ learningRate: 0.1, fused }), [-1.4838085, -1.1559895, -0.5168647, 0.1355905, 0.4890399]],
  ["RMSprop", (fused) => new RMSprop({ learningRate: 0.01, fused }), [-1.1004486, -0.7662205, -0.122637, 0.5271567, 0.8784112]],
  ["RMSprop centered + momentum", (fused) => new RMSprop({ learningRate: 0.01, centered: true, momentum: 0.5, fused }), [-1.207746, -0.8698009, -0.2206611, 0.4330423, 0.7855695]],
  ["Adagrad", (fused) => new Adagrad({ learningRate: 0.1, fused }), [-1.3392892, -0.9969941, -0.3331486, 0.3281007, 0.6844562]],
  ["SGD clipNorm", (fused) => new SGD({ learningRate: 0.1, clipNorm: 0.5, fused }), [-1.0246527, -0.7012218, -0.0671838, 0.5484639, 0.8849714], 3],
  ["SGD clipValue", (fused) => new SGD({ learningRate: 0.1, clipValue: 0.3, fused }), [-1.0780315, -0.7463169, -0.1059259, 0.5419551, 0.8926178], 3],
];

for (const [name, make, expected, steps] of REFERENCE) {
  test(`${name} matches torch.optim over ${steps ?? 5} steps (fused and op chain)`, async () => {
    await close(run(make(true), steps), expected, { atol: 2e-6, rtol: 1e-5 });
    await close(run(make(false), steps), expected, { atol: 2e-6, rtol: 1e-5 });
  });
}

test("globalClipNorm scales all gradients by one factor", async () => {
  const a = dn.tensor([3, 0], { requiresGrad: true }), b = dn.tensor([0, 4], { requiresGrad: true });
  const opt = new SGD({ learningRate: 1, globalClipNorm: 1 });
  opt.applyGradients([[dn.tensor([3, 0]), a], [dn.tensor([0, 4]), b]]);
  await close(a, [3 - 0.6, 0]);
  await close(b, [0, 4 - 0.8]);
  assert.is(opt.iterations, 1);
});

test("applyGradients and zeroGrad for custom loops; memory stays flat", async () => {
  const w = dn.tensor([1, 2], { requiresGrad: true });
  const opt = new Adam({ learningRate: 0.01 });
  const before = dn.memory().numTensors;
  for (let i = 0; i < 20; i++) {
    dn.tidy(() => w.square().sum().backward());
    opt.step([w]);
    opt.zeroGrad([w]);
  }
  const mid = dn.memory().numTensors;
  for (let i = 0; i < 20; i++) {
    dn.tidy(() => w.square().sum().backward());
    opt.step([w]);
    opt.zeroGrad([w]);
  }
  assert.is(dn.memory().numTensors, mid, "no tensors accumulate across steps");
  assert.ok(mid - before <= 4, `state tensors: ${mid - before}`);
  assert.is(w.grad, null);
  throws(() => opt.applyGradients([[dn.zeros([3]), w]]), /gradient of shape \[3\]/);
});

test("schedules: Keras' formulas; the optimizer uses them per step; learningRate setter", async () => {
  const e = new ExponentialDecay({ initialLearningRate: 0.1, decaySteps: 10, decayRate: 0.5 });
  assert.ok(Math.abs(e.call(5) - 0.1 * Math.pow(0.5, 0.5)) < 1e-12);
  const es = new ExponentialDecay({ initialLearningRate: 0.1, decaySteps: 10, decayRate: 0.5, staircase: true });
  assert.is(es.call(19), 0.05);
  const st = new StepDecay({ initialLearningRate: 1, stepSize: 3, gamma: 0.1 });
  assert.equal([0, 2, 3, 6].map((s) => +st.call(s).toFixed(6)), [1, 1, 0.1, 0.01]);
  const cd = new CosineDecay({ initialLearningRate: 1, decaySteps: 10, alpha: 0.1 });
  assert.ok(Math.abs(cd.call(5) - (0.9 * 0.5 + 0.1)) < 1e-12);
  assert.ok(Math.abs(cd.call(100) - 0.1) < 1e-12);
  const pc = new PiecewiseConstantDecay([2, 4], [1, 0.5, 0.1]);
  assert.equal([0, 2, 3, 5].map((s) => pc.call(s)), [1, 1, 0.5, 0.1]);
  // SGD with a step schedule: lr 1 for two steps, then 0.5; loss = p → grad 1.
  const p = dn.tensor([0], { requiresGrad: true });
  const opt = new SGD({ learningRate: new StepDecay({ initialLearningRate: 1, stepSize: 2, gamma: 0.5 }) });
  for (let i = 0; i < 3; i++) opt.applyGradients([[dn.ones([1]), p]]);
  await close(p, [-2.5]);
  opt.learningRate = 0.25;
  opt.applyGradients([[dn.ones([1]), p]]);
  await close(p, [-2.75]);
  throws(() => (opt.learningRate = NaN), /finite/);
});

test("optimizers by name; Keras defaults", () => {
  assert.is(getOptimizer("adam").learningRate, 1e-3);
  assert.is((getOptimizer("adam") as Adam).epsilon, 1e-7);
  assert.is(getOptimizer("sgd").learningRate, 0.01);
  assert.is((getOptimizer("RMSprop") as RMSprop).rho, 0.9);
  assert.is((getOptimizer("adagrad") as Adagrad).initialAccumulatorValue, 0.1);
  assert.is(getOptimizer("adamW").weightDecay, 0.004);
  throws(() => getOptimizer("adamax"), /unknown optimizer 'adamax'/, /adam, adamw/);
  // Round trip of a config with a schedule.
  const o = getOptimizer("sgd", new SGD({ learningRate: new ExponentialDecay({ initialLearningRate: 0.1, decaySteps: 2, decayRate: 0.5 }), momentum: 0.9 }).getConfig());
  assert.is((o as SGD).momentum, 0.9);
  assert.ok(o.schedule !== null && Math.abs(o.learningRate - 0.1) < 1e-12);
});

test.run();
