/**
 * Models: summary counts of the Keras seed models, losses (values from torch.nn.functional, and
 * stability at extremes), metrics, fit/evaluate/predict on tiny synthetic data, memory flatness,
 * callbacks, interrupts and progress output.
 *
 * Loss references (python3-torch, float64): logits [[2,-1,0.5],[0.1,0.2,3]], labels [0,2]:
 *   F.cross_entropy(..., reduction="none") → [0.2413113, 0.1096015] (also −Σ onehot·log(clamp(softmax, 1e-7, 1−1e-7)));
 *   F.binary_cross_entropy_with_logits([3,−2,0.5], [1,1,0]) → [0.0485874, 2.126928, 0.974077];
 *   yp [[0.5,2],[−1,4]], yt [[0,0],[0,1]]: huber_loss(δ=1).mean(−1) → [0.8125, 1.5], mse → [2.125, 5], l1 → [1.25, 2].
 */
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, existsSync, rmSync } from "node:fs";
import { spawn } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as dn from "../lib/index.js";
import {
  Sequential, Dense, Flatten, Conv2D, MaxPooling2D, BatchNormalization, getLoss, losses, getMetric, Callback,
  Model, type CallOptions, EarlyStopping, LearningRateScheduler, ReduceLROnPlateau, TerminateOnNaN, ModelCheckpoint, type Logs,
} from "../lib/nn/index.js";
import { Dataset } from "../lib/data/index.js";
import { SGD, Adam } from "../lib/optim/index.js";
import { close, rejects, throws, useBackend } from "./helpers.js";

const test = suite("nn training");
test.before(async () => {
  await useBackend();
});

const mlp = () => new Sequential([new Flatten({ inputShape: [28, 28] }), new Dense(128, { activation: "relu" }), new Dense(10, { activation: "softmax" })]);

/** Two Gaussian blobs in 2-D, linearly separable. */
function blobs(n: number, seed: number): { x: dn.Tensor; y: dn.Tensor } {
  const g = new dn.Generator(seed);
  const xs: number[] = [], ys: number[] = [];
  for (let i = 0; i < n; i++) {
    const c = i % 2;
    xs.push((c ? 2 : -2) + 0.5 * g.normal(), (c ? 2 : -2) + 0.5 * g.normal());
    ys.push(c);
  }
  return { x: dn.tensor(Float32Array.from(xs), { shape: [n, 2] }), y: dn.tensor(Int32Array.from(ys)) };
}

/** Captures what fit writes to stdout. */
async function captureStdout(fn: () => Promise<unknown>): Promise<string> {
  const orig = process.stdout.write.bind(process.stdout);
  let out = "";
  (process.stdout as unknown as { write: (s: string) => boolean }).write = (s: string) => ((out += s), true);
  try {
    await fn();
  } finally {
    (process.stdout as unknown as { write: typeof orig }).write = orig;
  }
  return out;
}

test("summary: the Keras seed models have Keras' parameter counts and table", () => {
  const m = mlp();
  assert.is(m.countParams(), 101770);
  const text = m.summaryText();
  assert.match(text, /Model: "sequential(_\d+)?"/);
  assert.match(text, /flatten(_\d+)? \(Flatten\)\s+\(None, 784\)\s+0/);
  assert.match(text, /dense(_\d+)? \(Dense\)\s+\(None, 128\)\s+100480/);
  assert.match(text, /Total params: 101,770/);
  assert.match(text, /Non-trainable params: 0/);
  const cnn = new Sequential([
    new Conv2D(32, [3, 3], { activation: "relu", inputShape: [28, 28, 1] }), new MaxPooling2D([2, 2]),
    new Conv2D(64, [3, 3], { activation: "relu" }), new MaxPooling2D([2, 2]), new Conv2D(128, [3, 3], { activation: "relu" }),
    new Flatten(), new Dense(128, { activation: "relu" }), new Dense(10, { activation: "softmax" }),
  ]);
  assert.is(cnn.countParams(), 241546);
  assert.match(cnn.summaryText(), /conv2d(_\d+)? \(Conv2D\)\s+\(None, 3, 3, 128\)\s+73856/);
  assert.match(cnn.summaryText(), /max_pooling2d(_\d+)? \(MaxPooling2D\)\s+\(None, 5, 5, 64\)\s+0/);
  const bundle = (cnn as unknown as Record<symbol, () => Record<string, string>>)[Symbol.for("jupyter.mimebundle")]();
  assert.match(bundle["text/html"], /<table/);
  assert.match(bundle["text/html"], /241,546/);
  assert.match(bundle["text/plain"], /Total params: 241,546/);
  // Built from inputDim; BatchNormalization's moving statistics are non-trainable.
  const pima = new Sequential();
  pima.add(new Dense(10, { inputDim: 8, activation: "relu" }));
  pima.add(new BatchNormalization());
  pima.add(new Dense(1, { activation: "sigmoid" }));
  assert.is(pima.countParams(), 90 + 40 + 11);
  assert.match(pima.summaryText(), /Trainable params: 121/);
  assert.match(pima.summaryText(), /Non-trainable params: 20/);
  throws(() => new Sequential([new Dense(3)]).summaryText(), /not built yet/, /inputShape/);
});

test("losses: values match torch; names in snake_case and camelCase", async () => {
  const logits = dn.tensor([[2, -1, 0.5], [0.1, 0.2, 3]]), labels = dn.tensor([0, 2]);
  await close(getLoss("sparse_categorical_crossentropy").perExample(labels, logits, true), [0.2413113, 0.1096015], { atol: 1e-6 });
  await close(getLoss("sparseCategoricalCrossentropy").perExample(labels, logits.softmax()), [0.2413113, 0.1096015], { atol: 1e-6 });
  await close(getLoss("categorical_crossentropy").perExample(dn.oneHot(labels, 3), logits.softmax()), [0.2413113, 0.1096015], { atol: 1e-6 });
  await close(getLoss("CategoricalCrossentropy").perExample(dn.oneHot(labels, 3), logits, true), [0.2413113, 0.1096015], { atol: 1e-6 });
  const z = dn.tensor([[3], [-2], [0.5]]), t = dn.tensor([1, 1, 0]);
  await close(getLoss("binary_crossentropy").perExample(t, z, true), [0.0485874, 2.126928, 0.974077], { atol: 1e-6 });
  await close(getLoss("binaryCrossentropy").perExample(t, z.sigmoid()), [0.0485874, 2.126928, 0.974077], { atol: 1e-5 });
  const yp = dn.tensor([[0.5, 2], [-1, 4]]), yt = dn.tensor([[0, 0], [0, 1]]);
  await close(getLoss("huber").perExample(yt, yp), [0.8125, 1.5]);
  await close(getLoss("mean_squared_error").perExample(yt, yp), [2.125, 5]);
  await close(getLoss("mse").call(yt, yp), [3.5625]);
  await close(getLoss("meanAbsoluteError").perExample(yt, yp), [1.25, 2]);
  throws(() => getLoss("cross_entropy"), /unknown loss 'cross_entropy'/, /sparse_categorical_crossentropy/);
  throws(() => getLoss("categorical_crossentropy").call(labels, logits), /sparse_categorical_crossentropy/);
});

test("gradcheck of every loss (float64 on the CPU backend)", async () => {
  const backend = dn.getBackend();
  await dn.setBackend("cpu");
  try {
    const labels = dn.tensor([0, 2, 1]), onehot = dn.oneHot(labels, 3), bin = dn.tensor([[1], [0], [1]]);
    const z = dn.tensor([[2, -1, 0.5], [0.1, 0.2, 3], [-1, 1, 0]]), p1 = dn.tensor([[0.7], [0.2], [0.9]]);
    const check = async (f: (x: dn.Tensor) => dn.Tensor, x: dn.Tensor) => assert.ok((await dn.gradcheck(f, [x])) < 1e-6);
    await check((x) => losses.sparseCategoricalCrossentropy({ fromLogits: true }).call(labels, x), z);
    await check((x) => losses.sparseCategoricalCrossentropy().call(labels, x.softmax()), z);
    await check((x) => losses.categoricalCrossentropy({ fromLogits: true, labelSmoothing: 0.1 }).call(onehot, x), z);
    await check((x) => losses.categoricalCrossentropy().call(onehot, x.softmax()), z);
    await check((x) => losses.binaryCrossentropy({ fromLogits: true }).call(bin, x), p1);
    await check((x) => losses.binaryCrossentropy().call(bin, x), p1);
    await check((x) => losses.huber({ delta: 0.5 }).call(onehot, x), z);
    await check((x) => losses.meanSquaredError().call(onehot, x), z);
    await check((x) => losses.meanAbsoluteError().call(onehot, x), z);
  } finally {
    await dn.setBackend(backend);
  }
});

test("losses are finite at extremes (clipping on probabilities, exact from logits)", async () => {
  const finite = async (t: dn.Tensor) => assert.ok(Array.from(await t.data()).every(Number.isFinite), `not finite: ${t}`);
  const bce = getLoss("binary_crossentropy");
  await finite(bce.perExample(dn.tensor([1, 0, 1, 0]), dn.tensor([[0], [1], [1], [0]])));
  await close(bce.perExample(dn.tensor([1]), dn.tensor([[0]])), [-Math.log(1e-7)], { rtol: 1e-3 });
  await finite(bce.perExample(dn.tensor([1, 0]), dn.tensor([[-200], [200]]), true));
  await close(bce.perExample(dn.tensor([1, 0]), dn.tensor([[-200], [200]]), true), [200, 200]);
  const scce = getLoss("sparse_categorical_crossentropy");
  await close(scce.perExample(dn.tensor([1]), dn.tensor([[1000, -1000]]), true), [2000]);
  await finite(scce.perExample(dn.tensor([1]), dn.tensor([[1, 0]])));
  // A softmax model with huge weights: the loss comes from the logits, so loss and gradients stay finite.
  const m = new Sequential([new Dense(3, { inputDim: 2, activation: "softmax", kernelInitializer: "ones" })]);
  m.setWeights([dn.tensor([[500, -500, 0], [500, -500, 0]]), dn.zeros([3])]);
  m.compile({ optimizer: new SGD({ learningRate: 0.001 }), loss: "sparse_categorical_crossentropy" });
  const logs = await m.trainOnBatch(dn.tensor([[1, 1]]), dn.tensor([1]));
  assert.ok(Math.abs(logs.loss - 2000) < 1e-2, `loss ${logs.loss}`);
  await finite(m.layers[0].weights[0]);
  const sig = new Sequential([new Dense(1, { inputDim: 1, activation: "sigmoid" })]);
  sig.setWeights([dn.tensor([[100]]), dn.zeros([1])]);
  sig.compile({ optimizer: "sgd", loss: "binary_crossentropy" });
  const l2 = await sig.trainOnBatch(dn.tensor([[5]]), dn.tensor([0]));
  assert.ok(Math.abs(l2.loss - 500) < 1e-2, `loss ${l2.loss}`);
});

test("metrics: accuracy resolved like Keras; precision, recall, auc", async () => {
  const acc = async (id: string, kind: Parameters<typeof getMetric>[1], yt: dn.Tensor, yp: dn.Tensor) => {
    const m = getMetric(id, kind, yp.shape.at(-1)!);
    m.update(yt, yp);
    return m.result();
  };
  const probs = dn.tensor([[0.1, 0.7, 0.2], [0.6, 0.3, 0.1], [0.2, 0.2, 0.6], [0.5, 0.4, 0.1]]);
  assert.is(await acc("accuracy", "sparse_categorical", dn.tensor([1, 0, 1, 1]), probs), 0.5);
  assert.is(await acc("accuracy", "categorical", dn.oneHot(dn.tensor([1, 0, 2, 1]), 3), probs), 0.75);
  assert.is(await acc("acc", "custom", dn.tensor([1, 0, 2, 1]), probs), 0.75);
  assert.is(await acc("accuracy", "binary", dn.tensor([1, 0, 1]), dn.tensor([[0.9], [0.4], [0.3]])), 2 / 3);
  const yt = dn.tensor([0, 0, 1, 1]), yp = dn.tensor([[0.1], [0.4], [0.35], [0.8]]);
  const p = getMetric("precision", "binary", 1), r = getMetric("recall", "binary", 1), auc = getMetric("auc", "binary", 1);
  for (const m of [p, r, auc]) m.update(yt, yp);
  assert.is(await p.result(), 1); // predicted positive: only 0.8 (a true positive)
  assert.is(await r.result(), 0.5);
  assert.ok(Math.abs((await auc.result()) - 0.75) < 1e-6, `auc ${await auc.result()}`);
  auc.update(dn.tensor([1, 0]), dn.tensor([[0.9], [0.05]])); // accumulates: 8 of 9 positive/negative pairs ordered
  assert.ok(Math.abs((await auc.result()) - 8 / 9) < 1e-6);
  const mse = getMetric("mse", "regression", 1);
  mse.update(dn.tensor([[1], [2]]), dn.tensor([[1], [4]]));
  assert.is(await mse.result(), 2);
  throws(() => getMetric("f1", "binary", 1), /unknown metric 'f1'/);
});

test("fit learns XOR to 100% and linearly separable blobs; History; evaluate/predict", async () => {
  dn.manualSeed(1);
  const xor = new Sequential();
  xor.add(new Dense(8, { inputDim: 2, activation: "tanh" }));
  xor.add(new Dense(1, { activation: "sigmoid" }));
  xor.compile({ loss: "binary_crossentropy", optimizer: new Adam({ learningRate: 0.05 }), metrics: ["accuracy"] });
  const x = dn.tensor([[0, 0], [0, 1], [1, 0], [1, 1]]), y = dn.tensor([0, 1, 1, 0]);
  const h = await xor.fit(x, y, { epochs: 200, batchSize: 4, verbose: 0 });
  assert.is(h.history.loss.length, 200);
  assert.equal(h.epoch.slice(0, 3), [0, 1, 2]);
  assert.ok(h.history.loss[199] < h.history.loss[0] / 10, `loss ${h.history.loss[0]} → ${h.history.loss[199]}`);
  const ev = await xor.evaluate(x, y, { verbose: 0 });
  assert.is(ev.accuracy, 1);
  assert.ok(Math.abs(ev.loss - h.history.loss[199]) < 0.05);
  await close(xor.predict(x).round(), [0, 1, 1, 0]);

  const { x: bx, y: by } = blobs(200, 5);
  const m = new Sequential([new Dense(1, { inputShape: [2], activation: "sigmoid" })]);
  m.compile({ optimizer: "sgd", loss: "binary_crossentropy", metrics: ["accuracy"] });
  const hist = await m.fit(bx, by, { epochs: 10, batchSize: 16, validationSplit: 0.2, verbose: 0 });
  assert.equal(Object.keys(hist.history).sort(), ["accuracy", "loss", "val_accuracy", "val_loss"]);
  assert.is(hist.history.val_accuracy[9], 1);
  assert.is((await m.evaluate(bx, by, { verbose: 0 })).accuracy, 1);
  // predict in batches = one batch
  await close(m.predict(bx, { batchSize: 7 }), await m.predictOnBatch(bx).data());
  // testOnBatch and validationData
  const t = await m.testOnBatch(bx, by);
  assert.is(t.accuracy, 1);
  const h2 = await m.fit(bx, by, { epochs: 1, validationData: [bx, by], verbose: 0 });
  assert.is(h2.history.val_accuracy[0], 1);
});

test("fit accepts a lib/data Dataset and plain arrays; errors are clear", async () => {
  const { x, y } = blobs(64, 2);
  const m = new Sequential([new Dense(2, { inputDim: 2, activation: "softmax" })]);
  m.compile({ optimizer: new Adam({ learningRate: 0.1 }), loss: "sparseCategoricalCrossentropy", metrics: ["accuracy"] });
  const ds = Dataset.fromTensors(x, y).shuffle(1).batch(8);
  const before = dn.memory().numTensors;
  const h = await m.fit(ds, { epochs: 5, verbose: 0, validationData: Dataset.fromTensors(x, y).batch(16) });
  assert.is(h.history.val_accuracy.length, 5);
  assert.is(h.history.val_accuracy[4], 1);
  assert.ok(dn.memory().numTensors - before <= 4, "dataset batches are disposed");
  assert.is((await m.evaluate(Dataset.fromTensors(x, y).batch(10), { verbose: 0 })).accuracy, 1);
  const arr = await m.fit([[-2, -2], [2, 2]], [0, 1], { epochs: 2, verbose: 0 });
  assert.is(arr.history.loss.length, 2);
  await rejects(() => new Sequential([new Dense(1, { inputDim: 2 })]).fit(x, y), /compile/);
  await rejects(() => m.fit(x, dn.zeros([3]), { verbose: 0 }), /64 examples/, /3/);
  await rejects(() => m.fit(x, y.add(1), { verbose: 0 }), /labels range from 1 to 2 but the model outputs 2 classes/, /y\.sub\(1\)/);
  throws(() => m.compile({ optimizer: "adam", loss: "sparse_categorical_crossentropy", metrics: ["acuracy"] }), /unknown metric 'acuracy'/);
});

test("callbacks: hooks order, EarlyStopping with restoreBestWeights, schedulers, TerminateOnNaN, ModelCheckpoint", async () => {
  const { x, y } = blobs(32, 7);
  const make = () => {
    const m = new Sequential([new Dense(2, { inputDim: 2, activation: "softmax" })]);
    m.compile({ optimizer: new SGD({ learningRate: 0.1 }), loss: "sparse_categorical_crossentropy" });
    return m;
  };
  const events: string[] = [];
  const m = make();
  await m.fit(x, y, {
    epochs: 2, batchSize: 16, verbose: 0, logEvery: 1, callbacks: [{
      onTrainBegin: () => void events.push("trainBegin"), onEpochBegin: (e) => void events.push(`epochBegin${e}`),
      onBatchBegin: (b) => void events.push(`batchBegin${b}`), onBatchEnd: (b, logs) => void events.push(`batchEnd${b}:${typeof logs?.loss}`),
      onEpochEnd: (e, logs) => void events.push(`epochEnd${e}:${typeof logs?.loss}`), onTrainEnd: () => void events.push("trainEnd"),
    }],
  });
  assert.equal(events, ["trainBegin", "epochBegin0", "batchBegin0", "batchEnd0:number", "batchBegin1", "batchEnd1:number", "epochEnd0:number",
    "epochBegin1", "batchBegin0", "batchEnd0:number", "batchBegin1", "batchEnd1:number", "epochEnd1:number", "trainEnd"]);

  // A scripted monitor: best at epoch 1, then no improvement → stop at epoch 3, restore epoch 1's weights.
  const script = [3, 1, 2, 2, 2, 2];
  const kernels: number[][] = [];
  const es = new EarlyStopping({ monitor: "scripted", patience: 2, restoreBestWeights: true });
  const m2 = make();
  const h = await m2.fit(x, y, {
    epochs: 6, verbose: 0, callbacks: [
      { onEpochEnd: async (e: number, logs?: Logs) => { logs!.scripted = script[e]; kernels.push(Array.from(await m2.weights[0].data())); } }, es,
    ],
  });
  assert.is(h.epoch.length, 4);
  assert.is(es.stoppedEpoch, 3);
  assert.is(es.bestEpoch, 1);
  await close(m2.weights[0], kernels[1]);

  const lrs: number[] = [];
  const m3 = make();
  await m3.fit(x, y, { epochs: 3, verbose: 0, callbacks: [new LearningRateScheduler((epoch) => 0.1 / (epoch + 1)), { onEpochEnd: () => void lrs.push(m3.optimizer!.learningRate) }] });
  assert.equal(lrs.map((v) => +v.toFixed(6)), [0.1, 0.05, 0.033333]);

  const m4 = make();
  const h4 = await m4.fit(x, y, {
    epochs: 5, verbose: 0,
    callbacks: [{ onEpochEnd: (_e: number, logs?: Logs) => void (logs!.flat = 1) }, new ReduceLROnPlateau({ monitor: "flat", patience: 2, factor: 0.5 })],
  });
  // Logged before the epoch-end reduction (like Keras): reduced after epochs 2 and 4.
  assert.equal(h4.history.learning_rate.map((v) => +v.toFixed(6)), [0.1, 0.1, 0.1, 0.05, 0.05]);

  const bad = dn.tensor([[NaN, 1], [1, 1], [2, 2], [3, 3]]);
  const tn = new TerminateOnNaN();
  const m5 = make();
  const h5 = await m5.fit(bad, dn.tensor([0, 1, 0, 1]), { epochs: 3, batchSize: 1, shuffle: false, verbose: 0, callbacks: [tn] });
  assert.is(tn.terminatedAt, 0);
  assert.is(h5.epoch.length, 1);

  const dir = mkdtempSync(join(tmpdir(), "dawnet-ckpt-"));
  try {
    const ck = new ModelCheckpoint(join(dir, "epoch-{epoch:02d}"), { monitor: "loss" });
    await make().fit(x, y, { epochs: 2, verbose: 0, callbacks: [ck] });
    assert.equal(ck.saved.map((p) => p.slice(dir.length + 1)), ["epoch-01", "epoch-02"]);
    assert.ok(existsSync(join(dir, "epoch-02", "model.safetensors")));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("stopTraining and the kernel's interrupt flag stop after the current batch; the flag stays up until the cell ends", async () => {
  const { x, y } = blobs(64, 8);
  const m = new Sequential([new Dense(2, { inputDim: 2, activation: "softmax" })]);
  m.compile({ optimizer: "sgd", loss: "sparse_categorical_crossentropy" });
  let batches = 0;
  const h = await m.fit(x, y, { epochs: 3, batchSize: 8, verbose: 0, callbacks: [{ onBatchEnd: (b: number) => { batches++; if (b === 2) m.stopTraining = true; } }] });
  assert.is(batches, 3);
  assert.is(h.epoch.length, 1);
  const flag = Symbol.for("dawnet.interrupt");
  const g = globalThis as Record<symbol, unknown>;
  batches = 0;
  const before = Array.from(await m.weights[0].data());
  const h2 = await m.fit(x, y, { epochs: 3, batchSize: 8, verbose: 0, callbacks: [{ onBatchEnd: (b: number) => { batches++; if (b === 1) g[flag] = true; } }] });
  assert.is(batches, 2);
  assert.is(h2.epoch.length, 1);
  assert.ok(Array.from(await m.weights[0].data()).some((v, i) => v !== before[i]), "the batches before the interrupt were applied");
  // fit leaves the flag to the kernel, which resets it when the cell ends; until then a further fit
  // in the same cell (say, in a loop) stops after its first batch too.
  assert.is(g[flag], true);
  batches = 0;
  await m.fit(x, y, { epochs: 3, batchSize: 8, verbose: 0, callbacks: [{ onBatchEnd: () => { batches++; } }] });
  assert.is(batches, 1);
  g[flag] = false; // what the kernel does when the cell ends
  // The model is still usable.
  const h3 = await m.fit(x, y, { epochs: 2, batchSize: 32, verbose: 0 });
  assert.is(h3.epoch.length, 2);
});

test("Ctrl-C outside a notebook stops fit after the current batch; the program goes on", async () => {
  const lib = new URL("../lib/index.js", import.meta.url).href, nnLib = new URL("../lib/nn/index.js", import.meta.url).href;
  const script = `
    const dn = await import(${JSON.stringify(lib)}); const nn = await import(${JSON.stringify(nnLib)}); await dn.ready();
    const x = dn.randn([4000, 4]), y = x.sum(1).gt(0).cast("int32");
    const m = new nn.Sequential([new nn.Dense(8, { inputDim: 4, activation: "relu" }), new nn.Dense(2, { activation: "softmax" })]);
    m.compile({ optimizer: "adam", loss: "sparse_categorical_crossentropy" });
    const h = await m.fit(x, y, { epochs: 1000, batchSize: 8, verbose: 2, callbacks: [{ onBatchEnd: (b) => { if (b === 5) console.log("READY"); } }] });
    console.log("RETURNED", h.epoch.length, m.predict(x.slice([0], [1])).shape.join("x"));`;
  const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d) => {
    out += d;
    if (out.includes("READY") && !child.killed) child.kill("SIGINT");
  });
  child.stderr.on("data", (d) => (out += d));
  const code = await new Promise<number | null>((r) => child.on("close", r));
  assert.is(code, 0, out);
  assert.match(out, /Training interrupted by Ctrl-C at epoch 1, batch \d+/);
  assert.match(out, /RETURNED 1 1x2/);
});

test("progress: one line per epoch (verbose 2 / not a terminal), silent at 0, one live notebook output", async () => {
  const { x, y } = blobs(32, 9);
  const m = new Sequential([new Dense(2, { inputDim: 2, activation: "softmax" })]);
  m.compile({ optimizer: "adam", loss: "sparse_categorical_crossentropy", metrics: ["accuracy"] });
  const two = await captureStdout(() => m.fit(x, y, { epochs: 3, batchSize: 8, verbose: 2 }));
  const lines = two.trim().split("\n");
  assert.is(lines.length, 3);
  assert.match(lines[2], /^Epoch 3\/3 - \d+s \d+(us|ms)\/step - loss: \d\.\d{4} - accuracy: \d\.\d{4}$/);
  assert.is(await captureStdout(() => m.fit(x, y, { epochs: 2, verbose: 0 })), "");
  // Notebook: a display bridge as the kernel installs it; fit must use ONE display and update it in place.
  const displays: unknown[] = [], updates: Record<string, string>[] = [];
  const bundleOf = (o: unknown) => (o as Record<symbol, () => Record<string, string>>)[Symbol.for("jupyter.mimebundle")]();
  const key = Symbol.for("dawnet.display");
  (globalThis as Record<symbol, unknown>)[key] = {
    display(obj: unknown) {
      displays.push(obj);
      updates.push(bundleOf(obj));
      return { displayId: "d1", update: async (o: unknown) => void updates.push(bundleOf(o)) };
    },
    update: async () => {},
    clearOutput: () => {},
  };
  try {
    const out = await captureStdout(() => m.fit(x, y, { epochs: 2, batchSize: 8, verbose: 1 }));
    assert.is(out, "", "nothing printed to stdout in a notebook");
  } finally {
    delete (globalThis as Record<symbol, unknown>)[key];
  }
  assert.is(displays.length, 1);
  const last = updates[updates.length - 1];
  assert.match(last["text/plain"], /^Epoch 2\/2 - 4\/4 - .* - loss: \d\.\d{4} - accuracy: \d\.\d{4}$/);
  assert.match(last["text/html"], /Epoch 2\/2/);
});

test("subclassed Model: layers found as properties, custom call, fit and summary", async () => {
  class TwoLayer extends Model {
    hidden = new Dense(8, { activation: "relu" });
    out = new Dense(2, { activation: "softmax" });
    override call(x: dn.Tensor, opts: CallOptions = {}) {
      return this.out.apply(this.hidden.apply(x, opts), opts);
    }
  }
  const m = new TwoLayer();
  m.build([null, 2]);
  assert.is(m.countParams(), 3 * 8 + 9 * 2);
  assert.is(m.trainableWeights.length, 4);
  m.compile({ optimizer: new Adam({ learningRate: 0.05 }), loss: "sparse_categorical_crossentropy", metrics: ["accuracy"] });
  const { x, y } = blobs(64, 3);
  const h = await m.fit(x, y, { epochs: 5, batchSize: 16, verbose: 0 });
  assert.is(h.history.accuracy[4], 1);
  assert.match(m.summaryText(), /\(None, 2\)\s+18/);
});

test("classWeight weights the loss per class", async () => {
  const m = new Sequential([new Dense(2, { inputDim: 1, activation: "softmax", kernelInitializer: "zeros" })]);
  m.compile({ optimizer: new SGD({ learningRate: 0 }), loss: "sparse_categorical_crossentropy" });
  // Uniform predictions: each example's loss is ln 2; weights {0: 0, 1: 3} → mean(0, 3, 3)·ln 2.
  const logs = await m.trainOnBatch(dn.tensor([[1], [1], [1]]), dn.tensor([0, 1, 1]), { classWeight: { 0: 0, 1: 3 } });
  assert.ok(Math.abs(logs.loss - 2 * Math.LN2) < 1e-6, `loss ${logs.loss}`);
});

test.run();
