/**
 * Built-in datasets on the real shipped files: shapes, dtypes, label ranges and published facts
 * (first labels, class counts, the well-known mean/std normalisation constants), plus load times.
 */
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { existsSync } from "node:fs";
import * as data from "../lib/data/index.js";
import { useBackend } from "./helpers.js";

const test = suite("data loaders");
test.before(async () => {
  await useBackend();
});

function counts(labels: ArrayLike<number>, k: number): number[] {
  const c = new Array(k).fill(0);
  for (let i = 0; i < labels.length; i++) c[labels[i]]++;
  return c;
}

function meanStd(values: ArrayLike<number>): [number, number] {
  let s = 0, s2 = 0;
  for (let i = 0; i < values.length; i++) (s += values[i]), (s2 += values[i] * values[i]);
  const m = s / values.length;
  return [m, Math.sqrt(s2 / values.length - m * m)];
}

test("mnist: 60k/10k, float32 [N,28,28] in [0,1], labels int32, known facts, loads fast", async () => {
  const t0 = performance.now(), cpu0 = process.cpuUsage();
  const m = await data.mnist();
  const ms = performance.now() - t0, cpu = process.cpuUsage(cpu0);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  console.log(`measured: mnist() full 60k+10k load ${ms.toFixed(0)} ms wall, ${cpuMs.toFixed(0)} ms CPU (user ${(cpu.user / 1000).toFixed(0)}, system ${(cpu.system / 1000).toFixed(0)})`);
  assert.equal([...m.xTrain.shape], [60000, 28, 28]);
  assert.equal([...m.yTrain.shape], [60000]);
  assert.equal([...m.xTest.shape], [10000, 28, 28]);
  assert.equal([...m.yTest.shape], [10000]);
  assert.is(m.xTrain.dtype, "float32");
  assert.is(m.yTrain.dtype, "int32");
  assert.equal(m.classNames, ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]);
  const yTrain = await m.yTrain.data(), yTest = await m.yTest.data();
  // First labels of the canonical files (LeCun et al.): train 5 0 4 1 9 2 1 3 1 4, test 7 2 1 0 4 1 4 9 5 9.
  assert.equal(Array.from(yTrain.slice(0, 10)), [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]);
  assert.equal(Array.from(yTest.slice(0, 10)), [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]);
  assert.equal(counts(yTrain, 10), [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]);
  assert.equal(counts(yTest, 10), [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
  const x = await m.xTrain.data();
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < x.length; i++) (lo = Math.min(lo, x[i])), (hi = Math.max(hi, x[i]));
  assert.is(lo, 0);
  assert.is(hi, 1);
  assert.is(x[0], 0); // corner pixels are background
  // The normalisation constants every MNIST tutorial uses: mean 0.1307, std 0.3081.
  const [mean, std] = meanStd(x);
  assert.ok(Math.abs(mean - 0.1307) < 1e-4, `mean ${mean}`);
  assert.ok(Math.abs(std - 0.3081) < 1e-4, `std ${std}`);
  // Pixel (row 14, col 14) of the first training image (a 5) is ink; values are k/255.
  assert.ok(Math.abs(x[14 * 28 + 14] * 255 - Math.round(x[14 * 28 + 14] * 255)) < 1e-4);
  for (const t of [m.xTrain, m.yTrain, m.xTest, m.yTest]) t.dispose();
  // CPU time is what the loader costs; wall time also counts other processes on a shared 2-core CI box.
  assert.ok(cpuMs < 1500, `mnist() used ${cpuMs.toFixed(0)} ms of CPU (budget: well under a second; 1.5 s allows slow page faults)`);
  assert.ok(ms < 15000, `mnist() took ${ms.toFixed(0)} ms of wall time`);
});

test("mnist: subsets, raw int32 pixels and layouts", async () => {
  const t0 = performance.now();
  const m = await data.mnist({ trainSize: 1000, testSize: 200, dtype: "int32", layout: "hwc" });
  console.log(`measured: mnist({trainSize: 1000, testSize: 200}) ${(performance.now() - t0).toFixed(0)} ms`);
  assert.equal([...m.xTrain.shape], [1000, 28, 28, 1]);
  assert.equal([...m.xTest.shape], [200, 28, 28, 1]);
  assert.is(m.xTrain.dtype, "int32");
  const x = await m.xTrain.data();
  // Row 5 of the first training image (the "5"), as printed in countless MNIST introductions.
  assert.equal(Array.from(x.slice(5 * 28, 6 * 28)), [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 18, 18, 18, 126, 136, 175, 26, 166, 255, 247, 127, 0, 0, 0, 0]);
  let brightest = 0;
  for (let i = 0; i < x.length; i++) brightest = Math.max(brightest, x[i]);
  assert.is(brightest, 255);
  assert.is((await m.yTrain.data())[0], 5);
  const flat = await data.mnist({ trainSize: 10, testSize: 10, layout: "flat" });
  assert.equal([...flat.xTrain.shape], [10, 784]);
  const chw = await data.mnist({ trainSize: 10, testSize: 10, layout: "chw", backend: "cpu" });
  assert.is(chw.xTrain.backend, "cpu");
  assert.equal([...chw.xTest.shape], [10, 1, 28, 28]);
  // Same pixels whatever the layout: float = int / 255.
  const f = await flat.xTrain.data();
  for (let i = 0; i < 784; i++) assert.ok(Math.abs(f[i] - x[i] / 255) < 1e-7);
  try {
    await data.mnist({ trainSize: 70000 });
    assert.unreachable("trainSize beyond 60000 must fail");
  } catch (e) {
    assert.match((e as Error).message, /trainSize must be an integer in 1…60000, got 70000/);
  }
});

const fashionDir = "/usr/share/datasets/fashion-mnist";
const haveFashion = existsSync(`${fashionDir}/train-images-idx3-ubyte.gz`);
(haveFashion ? test : test.skip)("fashionMnist: 60k/10k from the Debian package, class names, known facts", async () => {
  const t0 = performance.now();
  const f = await data.fashionMnist();
  console.log(`measured: fashionMnist() full load (gunzip) ${(performance.now() - t0).toFixed(0)} ms`);
  assert.equal([...f.xTrain.shape], [60000, 28, 28]);
  assert.equal([...f.xTest.shape], [10000, 28, 28]);
  assert.is(f.classNames[0], "T-shirt/top");
  assert.is(f.classNames[9], "Ankle boot");
  const yTrain = await f.yTrain.data(), yTest = await f.yTest.data();
  // Zalando's README: 6,000 train / 1,000 test images per class; the first of each split is an ankle boot.
  assert.equal(counts(yTrain, 10), new Array(10).fill(6000));
  assert.equal(counts(yTest, 10), new Array(10).fill(1000));
  assert.is(yTrain[0], 9);
  assert.is(yTest[0], 9);
  const [mean, std] = meanStd(await f.xTrain.data());
  assert.ok(Math.abs(mean - 0.286) < 1e-3, `mean ${mean}`); // commonly quoted 0.2860 / 0.3530
  assert.ok(Math.abs(std - 0.353) < 1e-3, `std ${std}`);
});
if (!haveFashion) console.log(`skipped: fashionMnist: ${fashionDir} is missing (apt-get install dataset-fashion-mnist)`);

test("pimaDiabetes: 768 × 8, binary labels, first row as published", async () => {
  const p = await data.pimaDiabetes();
  assert.equal([...p.x.shape], [768, 8]);
  assert.equal([...p.y.shape], [768]);
  assert.is(p.x.dtype, "float32");
  assert.is(p.y.dtype, "int32");
  assert.is(p.featureNames.length, 8);
  assert.is(p.featureNames[1], "plasma glucose concentration");
  const x = await p.x.data();
  const first = Array.from(x.slice(0, 8));
  [6, 148, 72, 35, 0, 33.6, 0.627, 50].forEach((v, i) => assert.ok(Math.abs(first[i] - v) < 1e-5, `feature ${i}: ${first[i]} vs ${v}`));
  const y = await p.y.data();
  assert.is(y[0], 1);
  assert.equal(counts(y, 2), [500, 268]); // 268 diabetic of 768
});

test("iris: 150 × 4, 50 per species", async () => {
  const d = await data.iris();
  assert.equal([...d.x.shape], [150, 4]);
  assert.equal(d.classNames, ["setosa", "versicolor", "virginica"]);
  const x = await d.x.data();
  [5.1, 3.5, 1.4, 0.2].forEach((v, i) => assert.ok(Math.abs(x[i] - v) < 1e-6));
  assert.equal(counts(await d.y.data(), 3), [50, 50, 50]);
});

test("bostonHousing: 506 × 13, medv target", async () => {
  const d = await data.bostonHousing();
  assert.equal([...d.x.shape], [506, 13]);
  assert.equal([...d.y.shape], [506]);
  assert.is(d.y.dtype, "float32");
  assert.is(d.featureNames[5], "rm");
  const x = await d.x.data(), y = await d.y.data();
  assert.ok(Math.abs(x[0] - 0.00632) < 1e-7);
  assert.ok(Math.abs(x[5] - 6.575) < 1e-5);
  assert.is(y[0], 24);
  const [mean] = meanStd(y);
  assert.ok(Math.abs(mean - 22.5328) < 1e-3, `medv mean ${mean}`); // 22.5328 in every description of the dataset
});

test("textCorpus: text, vocabulary, encode/decode round trip, shifted windows", async () => {
  const c = await data.textCorpus();
  assert.ok(c.text.length > 4000, `corpus has ${c.text.length} characters`);
  assert.ok(c.text.startsWith("A Short Walk Through Neural Networks"));
  assert.equal(c.vocab, [...c.vocab].sort());
  assert.is(new Set(c.vocab).size, c.vocab.length);
  const ids = c.encode("neural network");
  assert.is(c.decode(ids), "neural network");
  assert.is(c.decode(c.encode(c.text)), c.text);
  assert.throws(() => c.encode("µ"), /character "µ" at position 0 is not in the vocabulary/);
  const { x, y } = c.sequences(32, 16);
  const m = Math.floor((c.text.length - 33) / 16) + 1;
  assert.equal([...x.shape], [m, 32]);
  const xs = await x.data(), ys = await y.data();
  assert.is(c.decode(xs.slice(0, 32)), c.text.slice(0, 32));
  assert.is(c.decode(ys.slice(0, 32)), c.text.slice(1, 33));
  assert.is(c.decode(xs.slice(32, 64)), c.text.slice(16, 48));
});

test.run();
