/**
 * Done-when figures for the Keras-style API on the CPU backend (not a test: minutes of training).
 *
 *   node dist/bench/train-mnist.js [mlp|cnn|pima|all] [--epochs=N] [--train=N]
 *
 * mlp:  Flatten-Dense(128, relu)-Dense(10, softmax), adam, 5 epochs, batch 32 → test accuracy (goal ≥ 97.5%)
 * cnn:  the Keras MNIST convnet (3 conv + 2 pool + dense), adam, 2 epochs → test accuracy (goal ≥ 98.8%)
 * pima: Dense(10, relu, inputDim 8)-Dense(1, sigmoid) with standardized features, 80/20 split → test accuracy (goal ≥ 70%)
 * Prints one JSON line per model.
 */
import * as dn from "../lib/index.js";
import { mnist, pimaDiabetes } from "../lib/data/index.js";
import { Sequential, Dense, Flatten, Conv2D, MaxPooling2D } from "../lib/nn/index.js";
import { Adam } from "../lib/optim/index.js";

const args = process.argv.slice(2);
const which = args.find((a) => !a.startsWith("--")) ?? "all";
const opt = (name: string) => {
  const a = args.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.split("=")[1]) : undefined;
};

async function runMlp() {
  dn.manualSeed(1);
  const { xTrain, yTrain, xTest, yTest } = await mnist({ trainSize: opt("train") });
  const model = new Sequential([new Flatten({ inputShape: [28, 28] }), new Dense(128, { activation: "relu" }), new Dense(10, { activation: "softmax" })]);
  model.compile({ optimizer: "adam", loss: "sparse_categorical_crossentropy", metrics: ["accuracy"] });
  const t0 = performance.now();
  const epochs = opt("epochs") ?? 5;
  await model.fit(xTrain, yTrain, { epochs, batchSize: 32, validationSplit: 0.1, verbose: 2 });
  const seconds = (performance.now() - t0) / 1000;
  const test = await model.evaluate(xTest, yTest, { verbose: 0 });
  console.log(JSON.stringify({ model: "mlp", params: model.countParams(), epochs, trainSeconds: +seconds.toFixed(1), testLoss: test.loss, testAccuracy: test.accuracy, goal: 0.975 }));
}

async function runCnn() {
  dn.manualSeed(1);
  const { xTrain, yTrain, xTest, yTest } = await mnist({ layout: "hwc", trainSize: opt("train") });
  const model = new Sequential([
    new Conv2D(32, [3, 3], { activation: "relu", inputShape: [28, 28, 1] }), new MaxPooling2D([2, 2]),
    new Conv2D(64, [3, 3], { activation: "relu" }), new MaxPooling2D([2, 2]),
    new Conv2D(128, [3, 3], { activation: "relu" }),
    new Flatten(), new Dense(128, { activation: "relu" }), new Dense(10, { activation: "softmax" }),
  ]);
  model.compile({ optimizer: "adam", loss: "sparse_categorical_crossentropy", metrics: ["accuracy"] });
  const epochs = opt("epochs") ?? 2;
  const t0 = performance.now();
  await model.fit(xTrain, yTrain, { epochs, batchSize: 32, verbose: 2 });
  const seconds = (performance.now() - t0) / 1000;
  const test = await model.evaluate(xTest, yTest, { verbose: 0 });
  console.log(JSON.stringify({ model: "cnn", params: model.countParams(), epochs, trainSeconds: +seconds.toFixed(1), testLoss: test.loss, testAccuracy: test.accuracy, goal: 0.988 }));
}

async function runPima() {
  dn.manualSeed(7);
  const { x, y } = await pimaDiabetes();
  const n = x.shape[0];
  // Fixed shuffled 80/20 split, features standardized with the training statistics.
  const perm = Array.from({ length: n }, (_, i) => i);
  const g = new dn.Generator(7);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(g.uniform() * (i + 1));
    [perm[i], perm[j]] = [perm[j], perm[i]];
  }
  const cut = Math.round(n * 0.8);
  const xTrain0 = x.gather(perm.slice(0, cut)), xTest0 = x.gather(perm.slice(cut));
  const yTrain = y.gather(perm.slice(0, cut)), yTest = y.gather(perm.slice(cut));
  const mu = xTrain0.mean(0, true), sd = xTrain0.std(0, true).add(1e-6);
  const xTrain = xTrain0.sub(mu).div(sd), xTest = xTest0.sub(mu).div(sd);
  const model = new Sequential();
  model.add(new Dense(10, { inputDim: 8, activation: "relu" }));
  model.add(new Dense(1, { activation: "sigmoid" }));
  model.compile({ loss: "binary_crossentropy", optimizer: new Adam({ learningRate: 0.01 }), metrics: ["accuracy"] });
  const epochs = opt("epochs") ?? 100;
  await model.fit(xTrain, yTrain, { epochs, batchSize: 16, verbose: 0 });
  const test = await model.evaluate(xTest, yTest, { verbose: 0 });
  console.log(JSON.stringify({ model: "pima-8-10-1", params: model.countParams(), epochs, testLoss: test.loss, testAccuracy: test.accuracy, goal: 0.7 }));
}

await dn.setBackend(process.env.DAWNET_BACKEND ?? "cpu");
if (which === "mlp" || which === "all") await runMlp();
if (which === "pima" || which === "all") await runPima();
if (which === "cnn" || which === "all") await runCnn();
