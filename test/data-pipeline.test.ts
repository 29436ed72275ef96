/**
 * Dataset pipelines (batch, shuffle, map, take/skip, split, prefetch, generators), streaming from
 * disk (IDX and CSV, lazily), preprocessing (scalers, trainTestSplit) and the synthetic generators.
 */
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import * as dn from "../lib/index.js";
import * as data from "../lib/data/index.js";
import { Dataset, type Example } from "../lib/data/index.js";
import { close, rejects, throws, useBackend } from "./helpers.js";

const test = suite("data pipeline");
const dir = mkdtempSync(join(tmpdir(), "dawnet-data-pipeline-"));
test.before(async () => {
  await useBackend();
});
test.after(() => rmSync(dir, { recursive: true, force: true }));

/** x[i] = [i, 10 i], y[i] = i: every element says where it came from. */
function numbered(n: number): { x: dn.Tensor; y: dn.Tensor } {
  const x = dn.tensor(Float32Array.from({ length: 2 * n }, (_, k) => (k % 2 ? 10 * (k >> 1) : k >> 1)), { shape: [n, 2] });
  const y = dn.tensor(Int32Array.from({ length: n }, (_, i) => i));
  return { x, y };
}

/** The y values of every batch of one pass, disposing the batches. */
async function labelsOf(ds: Dataset<Example>): Promise<number[][]> {
  const out: number[][] = [];
  for await (const b of ds) {
    out.push(Array.from(await b.ys!.data()));
    b.xs.dispose();
    b.ys!.dispose();
  }
  return out;
}

test("fromTensors + batch: shapes, order, remainder and dropRemainder, size", async () => {
  const { x, y } = numbered(10);
  const ds = Dataset.fromTensors(x, y).batch(4);
  assert.is(ds.size, 3);
  const batches = await ds.toArray();
  assert.equal(batches.map((b) => [...b.xs.shape]), [[4, 2], [4, 2], [2, 2]]);
  assert.equal(batches.map((b) => [...b.ys!.shape]), [[4], [4], [2]]);
  assert.is(batches[0].xs.dtype, "float32");
  assert.is(batches[0].ys!.dtype, "int32");
  await close(batches[2].xs, [8, 80, 9, 90]);
  await close(batches[2].ys!, [8, 9]);
  const dropped = Dataset.fromTensors(x, y).batch(4, { dropRemainder: true });
  assert.is(dropped.size, 2);
  assert.equal(await labelsOf(dropped), [[0, 1, 2, 3], [4, 5, 6, 7]]);
  // Unlabeled data: batches have no ys.
  const [only] = await Dataset.fromTensors(x).batch(10).toArray();
  assert.equal([...only.xs.shape], [10, 2]);
  assert.is(only.ys, undefined);
  // Before batching, elements are single examples.
  const first = (await Dataset.fromTensors(x, y).take(1).toArray())[0];
  assert.equal([...first.xs.shape], [2]);
  assert.equal([...first.ys!.shape], []);
  throws(() => Dataset.fromTensors(x, dn.tensor([1, 2])), /x has 10 examples \(shape \[10, 2\]\) but y has shape \[2\]/);
  throws(() => Dataset.fromTensors(x, y).batch(0), /batchSize must be an integer ≥ 1, got 0/);
});

test("shuffle: a permutation, deterministic per seed, reshuffled every pass", async () => {
  const { x, y } = numbered(50);
  const flat = async (ds: Dataset<Example>) => (await labelsOf(ds.batch(50)))[0];
  const a = Dataset.fromTensors(x, y).shuffle(7);
  const epoch1 = await flat(a), epoch2 = await flat(a);
  assert.equal([...epoch1].sort((p, q) => p - q), Array.from({ length: 50 }, (_, i) => i));
  assert.not.equal(epoch1, Array.from({ length: 50 }, (_, i) => i));
  assert.not.equal(epoch1, epoch2, "each pass reshuffles");
  const b = Dataset.fromTensors(x, y).shuffle(7);
  assert.equal(await flat(b), epoch1, "same seed, same first pass");
  assert.equal(await flat(b), epoch2, "same seed, same second pass");
  assert.not.equal(await flat(Dataset.fromTensors(x, y).shuffle(8)), epoch1);
  // A small buffer still yields every element exactly once, and keeps elements near their origin.
  const local = await flat(Dataset.fromTensors(x, y).shuffle(1, 5));
  assert.equal([...local].sort((p, q) => p - q), Array.from({ length: 50 }, (_, i) => i));
  local.forEach((v, i) => assert.ok(v <= i + 4, `element ${v} came out at ${i}, earlier than a buffer of 5 allows`));
  // Batches after a shuffle keep xs and ys rows together: full shuffle (gathered from memory),
  // buffered shuffle (element by element) and after a map (generic batching of tensors).
  const pipelines = [
    Dataset.fromTensors(x, y).shuffle(3).batch(8),
    Dataset.fromTensors(x, y).shuffle(3, 10).batch(8),
    Dataset.fromTensors(x, y).skip(5).shuffle(3).take(30).map((e) => e).batch(8),
  ];
  for (const ds of pipelines) {
    let count = 0;
    for await (const bt of ds) {
      const xs = await bt.xs.data(), ys = await bt.ys!.data();
      ys.forEach((v, i) => assert.equal([xs[2 * i], xs[2 * i + 1]], [v, 10 * v]));
      count += ys.length;
      bt.xs.dispose();
      bt.ys!.dispose();
    }
    assert.is(count, ds === pipelines[2] ? 30 : 50);
  }
});

test("take, skip, repeat, split and prefetch", async () => {
  const { x, y } = numbered(10);
  const base = Dataset.fromTensors(x, y);
  assert.equal(await labelsOf(base.skip(3).take(4).batch(10)), [[3, 4, 5, 6]]);
  assert.is(base.skip(3).take(4).size, 4);
  assert.is(base.skip(20).size, 0);
  assert.equal(await labelsOf(base.take(3).repeat(2).batch(4)), [[0, 1, 2, 0], [1, 2]]);
  const [train, val] = base.split([0.8, 0.2], 42);
  assert.is(train.size, 8);
  assert.is(val.size, 2);
  const tr = (await labelsOf(train.batch(100)))[0], va = (await labelsOf(val.batch(100)))[0];
  assert.is(tr.length, 8);
  assert.is(va.length, 2);
  assert.equal([...tr, ...va].sort((p, q) => p - q), Array.from({ length: 10 }, (_, i) => i), "disjoint and complete");
  const [tr2] = base.split([0.8, 0.2], 42);
  assert.equal((await labelsOf(tr2.batch(100)))[0], tr, "same seed, same split");
  const thirds = base.split([1 / 3, 1 / 3, 1 / 3], 1);
  assert.equal(thirds.map((d) => d.size), [3, 3, 4]);
  throws(() => base.shuffle(1).split([0.5, 0.5]), /shuffled every pass.*split first, then shuffle each part/);
  throws(() => base.split([0.5, 0.4]), /fractions must be ≥ 0 and sum to 1/);
  assert.equal(await labelsOf(base.batch(3).prefetch(2)), [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]);
  // Breaking out early stops the pass cleanly (and a new pass starts over).
  for await (const b of base.batch(2).prefetch(3)) {
    b.xs.dispose();
    b.ys!.dispose();
    break;
  }
  assert.equal((await labelsOf(base.batch(10)))[0].length, 10);
});

test("map and filter: applied per element, tensors they drop are disposed (no leaks over epochs)", async () => {
  const { x, y } = numbered(12);
  const ds = Dataset.fromTensors(x, y)
    .batch(5)
    .map(({ xs, ys }) => ({ xs: xs.mul(2).add(1), ys }));
  const before = dn.memory().numTensors;
  for (let epoch = 0; epoch < 3; epoch++) {
    let i = 0;
    for await (const b of ds) {
      if (i++ === 0) {
        const corner = b.xs.slice([0, 0], [2, 2]);
        await close(corner, [1, 1, 3, 21]);
        corner.dispose();
      }
      b.xs.dispose();
      b.ys!.dispose();
    }
  }
  assert.is(dn.memory().numTensors, before, "every tensor the pipeline made was disposed");
  const evens = Dataset.fromTensors(x, y).filter(async (e) => (await e.ys!.item()) % 2 === 0).batch(10);
  assert.equal(await labelsOf(evens), [[0, 2, 4, 6, 8, 10]]);
  assert.is(dn.memory().numTensors, before);
  // forEach disposes for the caller.
  let seen = 0;
  await Dataset.fromTensors(x, y).batch(4).forEach((b) => void (seen += b.xs.shape[0]));
  assert.is(seen, 12);
  assert.is(dn.memory().numTensors, before);
});

test("fromGenerator and fromArray: plain numbers/arrays and tensors are batched", async () => {
  const gen = Dataset.fromGenerator(function* () {
    for (let i = 0; i < 5; i++) yield { xs: [i, i + 0.5], ys: i % 2 };
  });
  assert.is(gen.size, undefined);
  const batches = await gen.batch(2).toArray();
  assert.equal(batches.map((b) => [...b.xs.shape]), [[2, 2], [2, 2], [1, 2]]);
  await close(batches[1].xs, [2, 2.5, 3, 3.5]);
  await close(batches[1].ys!, [0, 1]);
  // Generators restart every pass; async generators work too.
  const agen = Dataset.fromGenerator(async function* () {
    yield { xs: dn.tensor([1, 2]), ys: dn.tensor(1, { dtype: "int32" }) };
    yield { xs: dn.tensor([3, 4]), ys: dn.tensor(0, { dtype: "int32" }) };
  });
  for (let pass = 0; pass < 2; pass++) {
    const [b] = await agen.batch(8).toArray();
    await close(b.xs, [1, 2, 3, 4], { shape: [2, 2] });
    assert.is(b.ys!.dtype, "int32");
  }
  // fromArray hands out copies: its own tensors survive the pipeline and every pass sees them.
  const kept = { xs: dn.tensor([5, 6]), ys: dn.tensor(1, { dtype: "int32" }) };
  const fromArr = Dataset.fromArray([kept, kept]);
  for (let pass = 0; pass < 2; pass++) {
    const [b] = await fromArr.batch(2).toArray();
    await close(b.xs, [5, 6, 5, 6]);
  }
  assert.not.ok(kept.xs.isDisposed);
  const arr = Dataset.fromArray([{ xs: [1] }, { xs: [2, 3] }]);
  await rejects(() => arr.batch(2).toArray(), /element 1 of the batch has xs shape \[2\] but element 0 has \[1\]/);
  await rejects(() => (Dataset.fromArray([dn.tensor([1])]) as unknown as Dataset<Example>).batch(1).toArray(), /elements must be \{ xs, ys\? \} objects; got a bare Tensor/);
});

test("fromIdxFiles streams raw and gzipped IDX files lazily; a truncated file fails at the missing example", async () => {
  const n = 37;
  const pixels = Uint8Array.from({ length: n * 4 * 3 }, (_, k) => (k * 7) % 256);
  const labels = Uint8Array.from({ length: n }, (_, i) => i % 10);
  const imgBytes = data.encodeIdx("uint8", [n, 4, 3], pixels);
  const lblBytes = data.encodeIdx("uint8", [n], labels);
  const rawImg = join(dir, "img-idx3-ubyte"), gzImg = join(dir, "img-idx3-ubyte.gz"), rawLbl = join(dir, "lbl-idx1-ubyte");
  writeFileSync(rawImg, imgBytes);
  writeFileSync(gzImg, gzipSync(imgBytes));
  writeFileSync(rawLbl, lblBytes);
  for (const path of [rawImg, gzImg]) {
    // 16-byte chunks: many reads per example, as a file far larger than memory would be read.
    const ds = await Dataset.fromIdxFiles(path, rawLbl, { chunkBytes: 16 });
    assert.is(ds.size, n);
    const batches = await ds.batch(8).toArray();
    assert.equal(batches.map((b) => b.xs.shape[0]), [8, 8, 8, 8, 5]);
    assert.equal([...batches[0].xs.shape], [8, 4, 3]);
    const xs = await batches[4].xs.data();
    for (let k = 0; k < 5 * 12; k++) assert.ok(Math.abs(xs[k] - pixels[32 * 12 + k] / 255) < 1e-7);
    await close(batches[4].ys!, [2, 3, 4, 5, 6]);
  }
  // Cut the images file mid-example 20: the first 20 examples still arrive (lazy), then a precise error.
  const cut = join(dir, "cut-idx3-ubyte");
  writeFileSync(cut, imgBytes.subarray(0, 16 + 20 * 12 + 5));
  const ds = await Dataset.fromIdxFiles(cut, rawLbl, { chunkBytes: 32 });
  let got = 0;
  try {
    for await (const e of ds) {
      got++;
      e.xs.dispose();
      e.ys!.dispose();
    }
    assert.unreachable("a truncated file must fail");
  } catch (e) {
    assert.match((e as Error).message, /cut-idx3-ubyte: truncated at example 20 \(byte offset 261, mid-record\): header says 37 examples of 12 bytes/);
  }
  assert.is(got, 20);
  await rejects(() => Dataset.fromIdxFiles(rawImg, join(dir, "nope")), /Dataset\.fromIdxFiles: cannot read .*nope/);
  // Labels are 0…9 here: with numClasses 5 the first 5 arrives at example 5, byte 8 + 5.
  const five = await Dataset.fromIdxFiles(rawImg, rawLbl, { numClasses: 5 });
  await rejects(() => five.batch(64).toArray(), /lbl-idx1-ubyte: label 5 out of range at example 5 \(byte offset 13\); expected 0…4/);
  const quote = join(dir, "open-quote.csv");
  writeFileSync(quote, 'a,b\n1,2\n3,"4\n');
  await rejects(async () => (await Dataset.fromCsv(quote, { label: "b" })).toArray(), /Dataset\.fromCsv: .*open-quote\.csv: Quote Not Closed.*line 3/);
  writeFileSync(join(dir, "short-lbl"), data.encodeIdx("uint8", [3], [1, 2, 3]));
  await rejects(() => Dataset.fromIdxFiles(rawImg, join(dir, "short-lbl")), /short-lbl has 3 labels but .*img-idx3-ubyte has 37 examples/);
  const badGz = join(dir, "bad.gz");
  writeFileSync(badGz, gzipSync(imgBytes).subarray(0, 60));
  await rejects(async () => {
    const d = await Dataset.fromIdxFiles(badGz, undefined, { chunkBytes: 16 });
    await d.batch(100).toArray();
  }, /bad\.gz/, /corrupt or truncated gzip data|truncated at example/);
});

test("fromCsv streams rows: features and label, column checks up front, ragged rows at the row", async () => {
  const rows = Array.from({ length: 25 }, (_, i) => `${i},${i * 0.5},${i % 3}`);
  const path = join(dir, "stream.csv");
  writeFileSync(path, ["f1,f2,cls", ...rows].join("\n") + "\n");
  const ds = await Dataset.fromCsv(path, { label: "cls", chunkBytes: 32 });
  assert.is(ds.size, undefined);
  const batches = await ds.batch(10).toArray();
  assert.equal(batches.map((b) => b.xs.shape[0]), [10, 10, 5]);
  await close(batches[2].xs, [20, 10, 21, 10.5, 22, 11, 23, 11.5, 24, 12], { shape: [5, 2] });
  await close(batches[2].ys!, [2, 0, 1, 2, 0]);
  assert.is(batches[0].ys!.dtype, "int32");
  const reg = await Dataset.fromCsv(path, { label: "f2", features: ["f1"], labelDtype: "float32" });
  const [b] = await reg.take(3).batch(3).toArray();
  await close(b.ys!, [0, 0.5, 1]);
  await rejects(() => Dataset.fromCsv(path, { label: "nope" }), /no column "nope"; the file has columns "f1", "f2", "cls"/);
  const bad = join(dir, "ragged-stream.csv");
  writeFileSync(bad, "a,b,y\n1,2,0\n3,4,1\n5,6\n7,8,1\n");
  const rd = await Dataset.fromCsv(bad, { label: "y" });
  await rejects(() => rd.toArray(), /ragged-stream\.csv: row 3 \(line 4\) has 2 fields, expected 3 \(a, b, y\)/);
  const notInt = join(dir, "float-label.csv");
  writeFileSync(notInt, "a,y\n1,0.5\n");
  await rejects(async () => (await Dataset.fromCsv(notInt, { label: "y" })).toArray(), /row 1 \(line 2\), column "y": expected an integer, found "0.5" \(pass labelDtype: "float32"/);
});

test("standardize and normalize: fitted on train, applied to test, invertible; constant features are safe", async () => {
  const train = dn.tensor([[1, 10, 5], [3, 30, 5]]);
  const test_ = dn.tensor([[2, 50, 7]]);
  const s = data.standardize(train);
  await close(s.mean, [2, 20, 5], { shape: [1, 3] });
  await close(s.std, [1, 10, 1]); // population std; the constant feature gets 1
  await close(s.transform(train), [-1, -1, 0, 1, 1, 0]);
  await close(s.transform(test_), [0, 3, 2]); // test uses train's statistics
  await close(s.inverseTransform(s.transform(test_)), [2, 50, 7]);
  const m = data.normalize(train);
  await close(m.transform(train), [0, 0, 0, 1, 1, 0]);
  await close(m.transform(test_), [0.5, 2, 2]);
  const m2 = data.normalize(train, { range: [-1, 1] });
  await close(m2.transform(train), [-1, -1, -1, 1, 1, -1]);
  await close(m2.inverseTransform(m2.transform(test_)), [2, 50, 7]);
  const g = data.standardize(train, { axis: null });
  assert.equal([...g.mean.shape], [1, 1]);
  s.dispose();
  m.dispose();
  assert.ok(s.mean.isDisposed);
});

test("trainTestSplit: sizes, seeded, disjoint, stratified proportions", async () => {
  const n = 40;
  const x = dn.tensor(Float32Array.from({ length: n }, (_, i) => i), { shape: [n, 1] });
  const y = dn.tensor(Int32Array.from({ length: n }, (_, i) => (i < 30 ? 0 : 1)));
  const a = await data.trainTestSplit(x, y, { testSize: 0.25, seed: 3 });
  assert.equal([...a.xTrain.shape], [30, 1]);
  assert.equal([...a.xTest.shape], [10, 1]);
  const trainIds = Array.from(await a.xTrain.data()), testIds = Array.from(await a.xTest.data());
  assert.equal([...trainIds, ...testIds].sort((p, q) => p - q), Array.from({ length: n }, (_, i) => i));
  // Labels travel with their rows.
  const yt = await a.yTest.data();
  testIds.forEach((id, i) => assert.is(yt[i], id < 30 ? 0 : 1));
  const b = await data.trainTestSplit(x, y, { testSize: 0.25, seed: 3 });
  assert.equal(Array.from(await b.xTest.data()), testIds);
  const s = await data.trainTestSplit(x, y, { testSize: 0.2, seed: 5, stratify: y });
  const ys = Array.from(await s.yTest.data());
  assert.is(ys.length, 8);
  assert.is(ys.filter((v) => v === 1).length, 2, "25% positives in, 25% positives out");
  const s2 = await data.trainTestSplit(x, y, { testSize: 0.2, seed: 5, stratify: true });
  assert.equal(Array.from(await s2.xTest.data()), Array.from(await s.xTest.data()), "stratify: true means stratify by y");
  const c = await data.trainTestSplit(x, undefined, { testSize: 5 });
  assert.equal([...c.xTest.shape], [5, 1]);
  await rejects(() => data.trainTestSplit(x, y, { testSize: 40 }), /testSize must be a fraction in \(0, 1\) or a count in 1…39/);
  await close(data.oneHot(dn.tensor([2, 0], { dtype: "int32" }), 3), [0, 0, 1, 1, 0, 0], { shape: [2, 3] });
});

test("synthetic generators: shapes, labels, determinism per seed, the intended geometry", async () => {
  const same = async (a: dn.Tensor, b: dn.Tensor) => assert.equal(Array.from(await a.data()), Array.from(await b.data()));
  const moons = data.makeMoons({ n: 101, seed: 1 });
  assert.equal([...moons.x.shape], [101, 2]);
  assert.is(moons.y.dtype, "int32");
  await same(moons.x, data.makeMoons({ n: 101, seed: 1 }).x);
  assert.not.equal(Array.from(await moons.x.data()), Array.from(await data.makeMoons({ n: 101, seed: 2 }).x.data()));
  const yl = Array.from(await moons.y.data());
  assert.is(yl.filter((v) => v === 1).length, 51);
  const clean = data.makeMoons({ n: 50, noise: 0, seed: 0 });
  const cx = await clean.x.data(), cy = await clean.y.data();
  for (let i = 0; i < 50; i++) {
    // Outer moon: unit circle around (0,0); inner moon: unit circle around (1, 0.5).
    const [px, py] = cy[i] === 0 ? [cx[2 * i], cx[2 * i + 1]] : [cx[2 * i] - 1, cx[2 * i + 1] - 0.5];
    assert.ok(Math.abs(Math.hypot(px, py) - 1) < 1e-5);
  }
  const circles = data.makeCircles({ n: 40, noise: 0, factor: 0.3 });
  const ox = await circles.x.data(), oy = await circles.y.data();
  for (let i = 0; i < 40; i++) assert.ok(Math.abs(Math.hypot(ox[2 * i], ox[2 * i + 1]) - (oy[i] ? 0.3 : 1)) < 1e-5);
  const spirals = data.makeSpirals({ n: 300, classes: 3 });
  assert.equal([...spirals.x.shape], [300, 2]);
  const sc = Array.from(await spirals.y.data());
  assert.equal([0, 1, 2].map((c) => sc.filter((v) => v === c).length), [100, 100, 100]);
  const blobs = data.makeBlobs({ n: 300, centers: [[0, 0], [10, 10]], std: 0.5, seed: 4 });
  const bx = await blobs.x.data(), by = await blobs.y.data();
  for (let i = 0; i < 300; i++) {
    const c = blobs.centers[by[i]];
    assert.ok(Math.hypot(bx[2 * i] - c[0], bx[2 * i + 1] - c[1]) < 4, "a point far from its own center");
  }
  const lin = data.makeLinear({ n: 200, weights: [2, -3], bias: 1, noise: 0.01, seed: 9 });
  const lx = await lin.x.data(), ly = await lin.y.data();
  for (let i = 0; i < 200; i++) assert.ok(Math.abs(ly[i] - (2 * lx[2 * i] - 3 * lx[2 * i + 1] + 1)) < 0.06);
  assert.equal([...lin.y.shape], [200, 1]);
  const dflt = data.makeLinear({ seed: 1, features: 3 });
  assert.is(dflt.weights.length, 3);
  assert.equal(dflt.weights, data.makeLinear({ seed: 1, features: 3 }).weights);
  const sine = data.makeSine({ length: 100, window: 10, period: 25 });
  assert.equal([...sine.x.shape], [90, 10, 1]);
  assert.equal([...sine.y.shape], [90, 1]);
  const sx = await sine.x.data(), sy = await sine.y.data();
  assert.is(sy[0], sx[10 + 9]); // the target of window 0 is the last value of window 1
  assert.ok(Math.abs(sy[0] - Math.sin((2 * Math.PI * 10) / 25)) < 1e-6);
  throws(() => data.makeSine({ length: 10, window: 10 }), /window must be an integer in 1…9/);
});

test("a whole MNIST epoch through shuffle + batch(32): timing and no leaks", async () => {
  const m = await data.mnist({ trainSize: 20000, testSize: 100, layout: "flat" });
  const ds = Dataset.fromTensors(m.xTrain, m.yTrain).shuffle(0).batch(32).prefetch(2);
  const before = dn.memory().numTensors;
  const t0 = performance.now();
  let batches = 0, examples = 0;
  for await (const b of ds) {
    batches++;
    examples += b.xs.shape[0];
    b.xs.dispose();
    b.ys!.dispose();
  }
  const ms = performance.now() - t0;
  console.log(`measured: shuffle+batch(32) over 20,000 MNIST rows (784 floats): ${ms.toFixed(0)} ms, ${((examples / ms) * 1000).toFixed(0)} examples/s`);
  assert.is(batches, 625);
  assert.is(examples, 20000);
  assert.is(dn.memory().numTensors, before);
});

test.run();
