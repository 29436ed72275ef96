/**
 * Layers: forward values against PyTorch (python3-torch 1.13, float64, numbers pasted below),
 * gradients of inputs and weights via gradcheck (float64 finite differences), output shapes and
 * the errors for wrong input shapes.
 *
 * Reference script (run with /usr/bin/python3; excerpt): inputs and weights are `seq(n, k, s)`,
 * s·sin(0.7·i + k) for i < n, reshaped row-major; NHWC inputs are permuted to NCHW for torch, Keras
 * kernels [kh, kw, cin, cout] to [cout, cin, kh, kw]; RNN kernels are transposed into torch's
 * weight_ih/weight_hh (GRU gates reordered z,r,h → r,z,n) with bias_hh = 0 (or the GRU recurrent bias).
 *   dense:  torch.relu(x @ W + b)                    conv2d: F.conv2d(x, K, b[, stride=2, padding=1])
 *   bn:     (x − mean)/sqrt(var_biased + 1e-3)·γ + β, moving = 0.99·init + 0.01·batch
 *   layernorm: F.layer_norm(x, (3,), γ, β, eps=1e-3)  rnn/lstm/gru: torch.nn.RNN/LSTM/GRU(batch_first)
 */
import { suite } from "uvu";
import * as assert from "uvu/assert";
import * as dn from "../lib/index.js";
import {
  Dense, Conv2D, Conv1D, MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D, GlobalMaxPooling2D, Flatten, Reshape, Dropout,
  BatchNormalization, LayerNormalization, Embedding, SimpleRNN, LSTM, GRU, Activation, Layer, Sequential, type Shape,
  getInitializer, initializers, computeFans, L1, L2, L1L2, regularizers,
} from "../lib/nn/index.js";
import { SGD } from "../lib/optim/index.js";
import { close, throws, useBackend } from "./helpers.js";

const test = suite("nn layers");
test.before(async () => {
  await useBackend();
});

const seq = (n: number, k: number, s = 0.5) => Array.from({ length: n }, (_, i) => Math.sin(i * 0.7 + k) * s);
const T = (n: number, k: number, shape: number[], s = 0.5) => dn.tensor(Float32Array.from(seq(n, k, s)), { shape });

/** Builds `layer` for `inputShape` and sets its weights to the given values (in creation order). */
function withWeights<L extends Layer>(layer: L, inputShape: Shape, values: dn.Tensor[]): L {
  layer.buildFor(inputShape);
  layer.setWeights(values);
  return layer;
}

/** Runs f with the layer's weights temporarily replaced (fields too), so gradcheck can vary them. */
function swapWeights(layer: Layer, ws: dn.Tensor[], f: () => dn.Tensor): dn.Tensor {
  const olds = layer._weights.map((w) => w.value);
  const fields = Object.entries(layer).filter(([, v]) => olds.includes(v as dn.Tensor));
  const rec = layer as unknown as Record<string, unknown>;
  layer._weights.forEach((w, i) => (w.value = ws[i]));
  for (const [k, v] of fields) rec[k] = ws[olds.indexOf(v as dn.Tensor)];
  try {
    return f();
  } finally {
    layer._weights.forEach((w, i) => (w.value = olds[i]));
    for (const [k, v] of fields) rec[k] = v;
  }
}

/** gradcheck of a layer w.r.t. its input and every weight. */
async function checkLayerGrads(layer: Layer, x: dn.Tensor, opts: { training?: boolean } = {}) {
  layer.buildFor([null, ...x.shape.slice(1)]);
  const ws = layer.weights.filter((w) => w.requiresGrad);
  const err = await dn.gradcheck((xi, ...wi) => swapWeights(layer, [...wi, ...layer.weights.slice(wi.length)], () => layer.call(xi, { training: opts.training ?? false })), [x, ...ws]);
  assert.ok(err < 1e-5, `${layer.className} gradcheck error ${err}`);
}

test("Dense: relu(x·W + b) matches torch; output shape; names", async () => {
  const d = withWeights(new Dense(4, { activation: "relu" }), [null, 3], [T(12, 1, [3, 4]), T(4, 2, [4])]);
  const y = d.apply(T(6, 0, [2, 3], 1));
  await close(y, [0.4110681, 0.3178501, 0.0751423, 0.0, 0.6607072, 0.3288072, 0.0, 0.0], { atol: 1e-6 });
  assert.equal(d.outputShape, [null, 4]);
  assert.is(d.kernel.name, `${d.name}/kernel`);
  assert.is(d.countParams(), 16);
  // Dense works on the last axis of higher-rank inputs (like Keras).
  assert.equal([...d.apply(dn.zeros([2, 5, 3])).shape], [2, 5, 4]);
  assert.is(new Dense(3, { useBias: false, inputDim: 2 }).name.startsWith("dense"), true);
});

test("Conv2D valid and same/stride 2, Conv1D match torch", async () => {
  const x = T(50, 3, [1, 5, 5, 2], 1);
  const weights = [T(54, 4, [3, 3, 2, 3]), T(3, 5, [3])];
  const valid = withWeights(new Conv2D(3, [3, 3]), [null, 5, 5, 2], weights);
  await close(valid.apply(x), [0.501376, 0.4086715, 0.1237624, 0.6490397, 0.8090284, 0.5885184, -1.0766838, -0.5907421, 0.1730348, 0.9012079, 0.8857644, 0.453732, -0.1547181, 0.209019, 0.4744513, -1.7497406, -1.2717987, -0.1957101, 0.6214803, 0.7913655, 0.5890592, -1.1183134, -0.629391, 0.1555438, -1.797572, -1.4624042, -0.4394448], { atol: 1e-5, shape: [1, 3, 3, 3] });
  const same = withWeights(new Conv2D(3, 3, { strides: 2, padding: "same" }), [null, 5, 5, 2], weights);
  await close(same.apply(x), [-0.5899941, -0.443279, -0.0880829, 0.5207581, 0.6041168, 0.4033499, -0.7362426, -0.2966743, 0.2824246, -0.3296275, 0.1520081, 0.5621519, -0.1547181, 0.209019, 0.4744513, -0.9029114, -0.2384789, 0.538114, -0.2764679, 0.1902055, 0.5674223, -1.2457911, -0.8343156, -0.0304484, -0.5203844, -0.2221564, 0.1805552], { atol: 1e-5, shape: [1, 3, 3, 3] });
  assert.equal(same.computeOutputShape([null, 28, 28, 1]), [null, 14, 14, 3]);
  const c1 = withWeights(new Conv1D(2, 3), [null, 6, 2], [T(12, 7, [3, 2, 2]), T(2, 8, [2])]);
  await close(c1.apply(T(12, 6, [1, 6, 2], 1)), [-0.0910303, -0.2729919, 0.6291361, 0.0409684, 1.126095, 0.8372048, 0.5748621, 0.7939124], { atol: 1e-5, shape: [1, 4, 2] });
});

test("pooling layers match torch; global pooling", async () => {
  const x = T(32, 9, [1, 4, 4, 2], 1);
  await close(new MaxPooling2D().apply(x), [0.8947912, 0.3967406, 0.5920735, 0.9720075, 0.9758205, 0.9793576, -0.31994, -0.0327354], { atol: 1e-6, shape: [1, 2, 2, 2] });
  await close(new AveragePooling2D([2, 2]).apply(x), [0.047795, -0.4266786, -0.2859116, 0.2074779, 0.7137948, 0.4820508, -0.7057755, -0.6336494], { atol: 1e-6 });
  const v = Array.from(await x.data());
  const ch0 = v.filter((_, i) => i % 2 === 0), ch1 = v.filter((_, i) => i % 2 === 1);
  const avg = (a: number[]) => a.reduce((s, t) => s + t, 0) / a.length;
  await close(new GlobalAveragePooling2D().apply(x), [avg(ch0), avg(ch1)], { shape: [1, 2] });
  await close(new GlobalMaxPooling2D().apply(x), [Math.max(...ch0), Math.max(...ch1)], { shape: [1, 2] });
});

test("BatchNormalization: training step, moving averages and inference match torch", async () => {
  const x = T(12, 10, [4, 3], 2);
  const gamma = dn.tensor(seq(3, 11).map((v) => 1 + v)), beta = T(3, 12, [3]);
  const bn = withWeights(new BatchNormalization(), [null, 3], [gamma, beta, dn.zeros([3]), dn.ones([3])]);
  assert.is(bn.countParams(), 12);
  assert.is(bn.trainableWeights.length, 2);
  await close(bn.apply(x, { training: true }), [-0.5766616, -0.5329023, -0.4971599, -0.5049095, 0.4623332, 1.6712409, 0.5957548, 0.8739247, 0.7953414, -0.5873295, -0.5368915, -0.4886705], { atol: 1e-5 });
  await close(bn.movingMean, [-0.0027685, -0.0048182, -0.0046019], { atol: 1e-6 });
  await close(bn.movingVariance, [1.0072898, 1.0118344, 1.0112388], { atol: 1e-6 });
  await close(bn.apply(x), [-0.8086933, -1.1072226, -1.3018032, -0.7147075, 0.3543708, 1.8399011, 0.7270173, 0.9588302, 0.5708474, -0.8226668, -1.1130811, -1.2895032], { atol: 1e-5 });
});

test("LayerNormalization matches torch", async () => {
  const ln = withWeights(new LayerNormalization(), [null, 3], [dn.tensor(seq(3, 11).map((v) => 1 + v)), T(3, 12, [3])]);
  await close(ln.apply(T(12, 10, [4, 3], 2)), [0.4339378, -0.4298058, -0.1823978, -0.8973064, 0.1104445, 1.4591066, 0.2531342, 0.2549311, -0.8653251, 0.4317641, -0.4504502, -0.1478211], { atol: 1e-5 });
});

test("SimpleRNN, LSTM, GRU (returnSequences and last) match torch", async () => {
  const x = T(24, 13, [2, 4, 3], 1);
  const rnnW = (gates: number, k: number) => [T(3 * gates * 2, k, [3, gates * 2]), T(2 * gates * 2, k + 1, [2, gates * 2]), T(gates * 2, k + 2, [gates * 2])];
  const cases: [Layer, Layer, dn.Tensor[], number[], number[]][] = [
    [new SimpleRNN(2, { returnSequences: true }), new SimpleRNN(2), rnnW(1, 14),
      [-0.2232544, -0.7089271, 0.533131, 0.4897071, -0.5609765, -0.6657905, -0.184336, -0.5022999, 0.4109043, 0.1885048, -0.5257327, -0.5822006, -0.1887791, -0.5269744, 0.4922854, 0.4236966],
      [-0.184336, -0.5022999, 0.4922854, 0.4236966]],
    [new LSTM(2, { returnSequences: true }), new LSTM(2), rnnW(4, 17),
      [0.0489551, 0.0945109, 0.0916149, 0.026673, -0.0002573, -0.1405779, 0.0345871, -0.058691, 0.0662801, -0.0199244, -0.0168169, -0.1645898, 0.0128205, -0.0867534, 0.0657373, -0.0592405],
      [0.0345871, -0.058691, 0.0657373, -0.0592405]],
    [new GRU(2, { returnSequences: true }), new GRU(2), [...rnnW(3, 20).slice(0, 2), T(12, 23, [2, 6])],
      [0.1705932, 0.3527755, 0.0463177, 0.1322115, 0.0996892, 0.3805286, 0.2018553, 0.4573641, -0.0463938, -0.057555, 0.0667475, 0.3381993, 0.1887246, 0.4413654, 0.0559058, 0.1843194],
      [0.2018553, 0.4573641, 0.0559058, 0.1843194]],
  ];
  for (const [seqLayer, lastLayer, ws, expSeq, expLast] of cases) {
    await close(withWeights(seqLayer, [null, 4, 3], ws).apply(x), expSeq, { atol: 1e-5, shape: [2, 4, 2] });
    await close(withWeights(lastLayer, [null, 4, 3], ws).apply(x), expLast, { atol: 1e-5, shape: [2, 2] });
  }
  // Keras parameter counts: SimpleRNN u(f+u+1), LSTM 4u(f+u+1), GRU 3u(f+u+2).
  const count = (l: Layer) => (l.buildFor([null, 7, 5]), l.countParams());
  assert.is(count(new SimpleRNN(4)), 4 * (5 + 4 + 1));
  assert.is(count(new LSTM(4)), 16 * (5 + 4 + 1));
  assert.is(count(new GRU(4)), 12 * (5 + 4 + 2));
  // LSTM forget-gate bias starts at one.
  const l = new LSTM(2);
  l.buildFor([null, 3, 1]);
  await close(l.bias!, [0, 0, 1, 1, 0, 0, 0, 0]);
});

test("Embedding, Flatten, Reshape, Activation, Dropout", async () => {
  const e = withWeights(new Embedding(5, 2), [null, 3], [T(10, 0, [5, 2])]);
  const ids = dn.tensor([[0, 4, 2]]);
  const y = e.apply(ids);
  assert.equal([...y.shape], [1, 3, 2]);
  const w = seq(10, 0);
  await close(y, [w[0], w[1], w[8], w[9], w[4], w[5]]);
  assert.equal([...new Flatten().apply(dn.zeros([2, 3, 4])).shape], [2, 12]);
  assert.equal([...new Reshape([2, -1]).apply(dn.zeros([5, 6])).shape], [5, 2, 3]);
  throws(() => new Reshape([4]).apply(dn.zeros([5, 6])), /Reshape/, /\[6\]/);
  await close(new Activation("leaky_relu").apply(dn.tensor([-1, 2])), [-0.2, 2]);
  await close(new Activation("softmax").apply(dn.tensor([[0, Math.log(3)]])), [0.25, 0.75]);
  const d = new Dropout(0.5);
  const ones = dn.ones([1000]);
  await close(d.apply(ones), new Array(1000).fill(1)); // inference: identity
  dn.manualSeed(3);
  const kept = Array.from(await d.apply(ones, { training: true }).data());
  assert.ok(kept.every((v) => v === 0 || v === 2), "kept units are scaled by 1/(1-rate)");
  const frac = kept.filter((v) => v === 0).length / 1000;
  assert.ok(frac > 0.4 && frac < 0.6, `dropped fraction ${frac}`);
});

test("activations by name: snake_case and camelCase, values", async () => {
  const x = dn.tensor([-2, 0.5]);
  const act = async (name: string, exp: number[]) => close(new Activation(name).apply(x), exp, { atol: 1e-6 });
  await act("relu", [0, 0.5]);
  await act("elu", [Math.expm1(-2), 0.5]);
  await act("selu", [1.0507009873554805 * 1.6732632423543772 * Math.expm1(-2), 1.0507009873554805 * 0.5]);
  await act("swish", [-2 / (1 + Math.exp(2)), 0.5 / (1 + Math.exp(-0.5))]);
  await act("softplus", [Math.log1p(Math.exp(-2)), Math.log1p(Math.exp(0.5))]);
  await act("gelu", [-0.04550026, 0.34573123]);
  await act("linear", [-2, 0.5]);
  await act("leakyRelu", [-0.4, 0.5]);
  await act("tanh", [Math.tanh(-2), Math.tanh(0.5)]);
  await act("sigmoid", [1 / (1 + Math.exp(2)), 1 / (1 + Math.exp(-0.5))]);
  throws(() => new Activation("relux"), /unknown activation 'relux'/, /leaky_relu/);
});

test("gradcheck: every layer w.r.t. its input and weights", async () => {
  // gradcheck runs in float64 on the CPU backend: build these layers there.
  const backend = dn.getBackend();
  await dn.setBackend("cpu");
  try {
    await gradchecks();
  } finally {
    await dn.setBackend(backend);
  }
});

async function gradchecks() {
  dn.manualSeed(11);
  const r = (shape: number[]) => dn.randn(shape);
  await checkLayerGrads(new Dense(3, { activation: "tanh" }), r([2, 4]));
  await checkLayerGrads(new Conv2D(2, [2, 2], { activation: "sigmoid" }), r([1, 4, 4, 2]));
  await checkLayerGrads(new Conv2D(2, 3, { padding: "same", strides: 2 }), r([1, 4, 4, 1]));
  await checkLayerGrads(new Conv1D(2, 2), r([1, 5, 2]));
  await checkLayerGrads(new MaxPooling2D(), r([1, 4, 4, 2]));
  await checkLayerGrads(new AveragePooling2D(), r([1, 4, 4, 2]));
  await checkLayerGrads(new GlobalAveragePooling2D(), r([1, 3, 3, 2]));
  await checkLayerGrads(new BatchNormalization(), r([4, 3]), { training: true });
  await checkLayerGrads(new LayerNormalization(), r([2, 4]));
  await checkLayerGrads(new SimpleRNN(2, { returnSequences: true }), r([2, 3, 2]));
  await checkLayerGrads(new LSTM(2), r([1, 3, 2]));
  await checkLayerGrads(new GRU(2), r([1, 3, 2]));
  for (const a of ["elu", "selu", "gelu", "swish", "softplus", "softmax", "leaky_relu"]) await checkLayerGrads(new Activation(a), r([2, 3]));
  // Embedding: gradient w.r.t. the table (ids are integers).
  const e = new Embedding(4, 2);
  e.buildFor([null, 3]);
  const ids = dn.tensor([[1, 3, 1]]);
  assert.ok((await dn.gradcheck((w) => swapWeights(e, [w], () => e.call(ids)), [e.embeddings])) < 1e-6);
}

test("initializers: Keras' limits and variances; orthogonal; by name", async () => {
  dn.manualSeed(21);
  const stats = async (t: dn.Tensor) => {
    const v = Array.from(await t.data());
    const mean = v.reduce((a, b) => a + b, 0) / v.length;
    return { mean, sd: Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length), min: Math.min(...v), max: Math.max(...v) };
  };
  const shape = [200, 100];
  const gu = await stats(getInitializer("glorot_uniform").call(shape));
  const limit = Math.sqrt(6 / 300);
  assert.ok(gu.min >= -limit && gu.max <= limit && gu.max > 0.95 * limit, `glorotUniform range ${gu.min}..${gu.max}`);
  const near = (a: number, b: number, tol: number, what: string) => assert.ok(Math.abs(a - b) <= tol * b, `${what}: ${a} vs ${b}`);
  near((await stats(getInitializer("glorotNormal").call(shape))).sd, Math.sqrt(2 / 300), 0.05, "glorotNormal sd");
  near((await stats(getInitializer("he_normal").call(shape))).sd, Math.sqrt(2 / 200), 0.05, "heNormal sd");
  near((await stats(getInitializer("heUniform").call(shape))).max, Math.sqrt(6 / 200), 0.05, "heUniform limit");
  near((await stats(getInitializer("lecun_normal").call(shape))).sd, Math.sqrt(1 / 200), 0.05, "lecunNormal sd");
  near((await stats(initializers.randomNormal({ stddev: 0.2 }).call(shape))).sd, 0.2, 0.05, "randomNormal sd");
  const he = await stats(getInitializer("he_normal").call(shape));
  assert.ok(he.max <= 2 * Math.sqrt(2 / 200) / 0.8796 + 1e-6, "truncated at 2 sd");
  assert.equal(Array.from(await getInitializer("zeros").call([3]).data()), [0, 0, 0]);
  assert.equal(Array.from(await getInitializer("ones").call([2]).data()), [1, 1]);
  // Conv kernels: fan_in = kh·kw·cin.
  near((await stats(getInitializer("he_normal").call([3, 3, 16, 64]))).sd, Math.sqrt(2 / 144), 0.05, "conv heNormal sd");
  // Orthogonal: QᵀQ = I for tall, QQᵀ = I for wide.
  for (const sh of [[6, 4], [3, 5]]) {
    const q = getInitializer("orthogonal").call(sh);
    const g = sh[0] >= sh[1] ? q.T.matmul(q) : q.matmul(q.T);
    const n = Math.min(sh[0], sh[1]);
    await close(g, Array.from({ length: n * n }, (_, i) => (Math.floor(i / n) === i % n ? 1 : 0)), { atol: 1e-5 });
  }
  assert.equal(computeFans([3, 3, 16, 64]), { fanIn: 144, fanOut: 576 });
  throws(() => getInitializer("xavier"), /unknown initializer 'xavier'/, /glorot_uniform/);
  // Seeded initializers repeat.
  assert.equal(Array.from(await initializers.glorotUniform({ seed: 4 }).call([5]).data()), Array.from(await initializers.glorotUniform({ seed: 4 }).call([5]).data()));
});

test("regularizers add Keras' penalties to the training loss", async () => {
  const m = new Sequential([new Dense(2, { inputDim: 2, kernelInitializer: "ones", kernelRegularizer: new L2(0.1), biasRegularizer: regularizers.l1(0.5), biasInitializer: "ones" })]);
  m.compile({ optimizer: new SGD({ learningRate: 0 }), loss: "mse" });
  // prediction x·1 + 1 = [3, 3] for x = [1, 1], target [3, 3]: data loss 0; penalty 0.1·4 + 0.5·2 = 1.4.
  const logs = await m.trainOnBatch(dn.tensor([[1, 1]]), dn.tensor([[3, 3]]));
  assert.ok(Math.abs(logs.loss - 1.4) < 1e-6, `loss ${logs.loss}`);
  await close(new L1L2(0.1, 0.2).call(dn.tensor([1, -2])), [0.1 * 3 + 0.2 * 5]);
  await close(new L1().call(dn.tensor([1, -2])), [0.03]);
});

test("wrong input shapes name the layer and both shapes", async () => {
  const model = new Sequential([new Flatten({ inputShape: [28, 28] }), new Dense(10)]);
  throws(() => model.predict(dn.zeros([2, 784])), /flatten/, /\(None, 28, 28\)/, /\[2,784\]|\[2, 784\]/);
  const d = new Dense(3, { inputShape: [4] });
  d.buildFor([null, 4]);
  throws(() => d.apply(dn.zeros([2, 5])), new RegExp(d.name), /\(None, 4\)/, /5/);
  throws(() => new Conv2D(4, 3).buildFor([null, 28, 28]), /rank 4/, /inputShape: \[28, 28, 1\]/);
  throws(() => new LSTM(3).buildFor([null, 10]), /\[batch, steps, features\]/);
  throws(() => new Sequential([new Dense(2, { inputDim: 3 }), new Dense(2, { inputDim: 2 })]), /only the first layer/);
  throws(() => new Dense(0), /units must be a positive integer/);
});

test("custom layer in a few lines: build/call/addWeight, shape inferred", async () => {
  class Scale extends Layer {
    w!: dn.Tensor;
    override build(inputShape: Shape) {
      this.w = this.addWeight("w", [inputShape.at(-1)!], "ones");
    }
    call(x: dn.Tensor) {
      return x.mul(this.w);
    }
  }
  const model = new Sequential([new Dense(3, { inputDim: 2 }), new Scale()]);
  assert.is(model.countParams(), 9 + 3);
  assert.equal(model.layers[1].outputShape, [null, 3]);
  assert.match(model.summaryText(), /scale \(Scale\)\s+\(None, 3\)\s+3/);
});

test.run();
