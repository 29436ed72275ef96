/**
 * fit/evaluate/predict leave memory flat: live tensors and bytes after epoch 5 equal those after
 * epoch 1, and repeated calls leave nothing behind. In its own file (own process) so that no
 * garbage from other tests is finalized in the middle of the measurement.
 */
import { suite } from "uvu";
import * as assert from "uvu/assert";
import * as dn from "../lib/index.js";
import { Sequential, Dense, Dropout, BatchNormalization, Callback } from "../lib/nn/index.js";
import { useBackend } from "./helpers.js";

const test = suite("nn memory");
test.before(async () => {
  await useBackend();
});

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

test("fit keeps memory flat: tensors and bytes after epoch 5 equal those after epoch 1", async () => {
  dn.manualSeed(3);
  const { x, y } = blobs(96, 4);
  const m = new Sequential([new Dense(16, { inputDim: 2, activation: "relu" }), new Dropout(0.2), new BatchNormalization(), new Dense(1, { activation: "sigmoid" })]);
  m.compile({ optimizer: "adam", loss: "binary_crossentropy", metrics: ["accuracy", "auc", "precision"] });
  const snapshots: { numTensors: number; numBytes: number }[] = [];
  class MemoryProbe extends Callback {
    onEpochEnd() {
      const mem = dn.memory();
      snapshots.push({ numTensors: mem.numTensors, numBytes: mem.numBytes });
    }
  }
  await m.fit(x, y, { epochs: 5, batchSize: 16, validationSplit: 0.25, callbacks: [new MemoryProbe()], verbose: 0 });
  assert.is(snapshots.length, 5);
  assert.equal(snapshots[4], snapshots[0]);
  const after = dn.memory();
  await m.fit(x, y, { epochs: 1, verbose: 0 });
  await m.evaluate(x, y, { verbose: 0 });
  m.predict(x, { batchSize: 10 }).dispose();
  m.predict(x).dispose();
  m.predictOnBatch(x).dispose();
  await m.trainOnBatch(x, y);
  await m.testOnBatch(x, y);
  assert.is(dn.memory().numTensors, after.numTensors, "fit, evaluate, predict and the batch methods leave nothing behind");
  assert.is(dn.memory().numBytes, after.numBytes);
});

test.run();
