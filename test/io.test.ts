/**
 * Saving and loading: round trip (architecture, compile settings, bit-equal predictions), the
 * safetensors layout (as Python's safetensors reads it), atomic writes, and refusal of truncated,
 * damaged or mismatched files with an error that names the file and the problem.
 */
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as dn from "../lib/index.js";
import {
  Sequential, Dense, Conv2D, MaxPooling2D, Flatten, Dropout, BatchNormalization, LayerNormalization, Embedding, LSTM, GRU, SimpleRNN,
  GlobalAveragePooling1D, Conv1D, Reshape, Activation, Layer, registerLayer, L2, type Shape,
} from "../lib/nn/index.js";
import { loadModel, decodeSafetensors, encodeSafetensors } from "../lib/io/index.js";
import { Adam } from "../lib/optim/index.js";
import { rejects, throws, useBackend } from "./helpers.js";

const test = suite("io");
let dir = "";
test.before(async () => {
  await useBackend();
  dir = mkdtempSync(join(tmpdir(), "dawnet-io-"));
});
test.after(() => rmSync(dir, { recursive: true, force: true }));

const sameBits = async (a: dn.Tensor, b: dn.Tensor) => {
  const x = new Uint32Array(Float32Array.from(await a.data()).buffer), y = new Uint32Array(Float32Array.from(await b.data()).buffer);
  assert.equal([...a.shape], [...b.shape]);
  assert.ok(x.every((v, i) => v === y[i]), "predictions are bit-equal");
};

test("save/load round trip: CNN with compile settings; predictions bit-equal", async () => {
  dn.manualSeed(5);
  const m = new Sequential([
    new Conv2D(4, 3, { activation: "relu", inputShape: [8, 8, 1], padding: "same", kernelRegularizer: new L2(0.001) }), new MaxPooling2D(),
    new BatchNormalization(), new Flatten(), new Dropout(0.3), new Dense(3, { activation: "softmax" }),
  ], { name: "small_cnn" });
  m.compile({ optimizer: new Adam({ learningRate: 0.003 }), loss: "sparse_categorical_crossentropy", metrics: ["accuracy"] });
  const x = dn.rand([6, 8, 8, 1]), y = dn.tensor([0, 1, 2, 0, 1, 2]);
  await m.fit(x, y, { epochs: 2, batchSize: 3, verbose: 0 }); // moving statistics change too
  const p = join(dir, "cnn");
  await m.save(p);
  assert.equal(readdirSync(p).sort(), ["config.json", "model.safetensors"]);
  const loaded = await loadModel(p);
  assert.is(loaded.name, "small_cnn");
  assert.equal(loaded.layers.map((l) => l.className), m.layers.map((l) => l.className));
  assert.equal(loaded.layers.map((l) => l.name), m.layers.map((l) => l.name));
  assert.is(loaded.countParams(), m.countParams());
  assert.is(loaded.summaryText(), m.summaryText());
  await sameBits(loaded.predict(x), m.predict(x));
  assert.is(loaded.optimizer!.className, "Adam");
  assert.ok(Math.abs(loaded.optimizer!.learningRate - 0.003) < 1e-12);
  assert.is(loaded.loss!.name, "sparse_categorical_crossentropy");
  const ev = await loaded.evaluate(x, y, { verbose: 0 });
  const ev0 = await m.evaluate(x, y, { verbose: 0 });
  assert.is(ev.loss, ev0.loss);
  assert.is(ev.accuracy, ev0.accuracy);
  await loaded.fit(x, y, { epochs: 1, verbose: 0 }); // and it trains
});

test("round trip of every layer type (recurrent, embedding, normalization, reshape)", async () => {
  dn.manualSeed(6);
  const m = new Sequential([
    new Embedding(10, 4, { inputLength: 6 }), new Conv1D(4, 2, { padding: "same" }), new LSTM(3, { returnSequences: true }),
    new GRU(3, { returnSequences: true }), new SimpleRNN(4, { returnSequences: true }), new LayerNormalization(),
    new GlobalAveragePooling1D(), new Reshape([2, 2]), new Flatten(), new Dense(2), new Activation("sigmoid"),
  ]);
  const x = dn.randint(0, 10, [3, 6]);
  const p = join(dir, "seq");
  await m.save(p);
  const loaded = await loadModel(p);
  await sameBits(loaded.predict(x), m.predict(x));
  assert.is(loaded.compileConfig, null);
});

test("custom layers load through registerLayer", async () => {
  class Scale extends Layer {
    w!: dn.Tensor;
    override build(s: Shape) {
      this.w = this.addWeight("w", [s.at(-1)!], "ones");
    }
    call(x: dn.Tensor) {
      return x.mul(this.w);
    }
  }
  const m = new Sequential([new Dense(2, { inputDim: 2 }), new Scale({ name: "scale" })]);
  m.layers[1].setWeights([dn.tensor([2, 3])]);
  const p = join(dir, "custom");
  await m.save(p);
  await rejects(() => loadModel(p), /unknown layer class 'Scale'/, /registerLayer/);
  registerLayer("Scale", (c) => new Scale(c));
  const loaded = await loadModel(p);
  await sameBits(loaded.predict(dn.ones([1, 2])), m.predict(dn.ones([1, 2])));
});

test("the weights file is standard safetensors: 8-byte LE length, JSON header, F32 little-endian data", async () => {
  const m = new Sequential([new Dense(3, { inputDim: 2 })], { name: "tiny" });
  m.setWeights([dn.tensor([[1, 2, 3], [4, 5, 6]]), dn.tensor([0.5, -1, 2])]);
  const p = join(dir, "tiny");
  await m.save(p);
  const bytes = readFileSync(join(p, "model.safetensors"));
  const n = Number(bytes.readBigUInt64LE(0));
  assert.is((8 + n) % 8, 0, "header padded to 8 bytes");
  const header = JSON.parse(bytes.subarray(8, 8 + n).toString("utf8"));
  const name = m.layers[0].name;
  assert.equal(header[`${name}/kernel`], { dtype: "F32", shape: [2, 3], data_offsets: [0, 24] });
  assert.equal(header[`${name}/bias`], { dtype: "F32", shape: [3], data_offsets: [24, 36] });
  assert.is(bytes.length, 8 + n + 36);
  assert.is(bytes.readFloatLE(8 + n + 4 * 5), 6);
  assert.is(bytes.readFloatLE(8 + n + 24 + 4), -1);
  const cfg = JSON.parse(readFileSync(join(p, "config.json"), "utf8"));
  assert.is(cfg.format, "dawnet.model");
  assert.is(cfg.config.layers[0].className, "Dense");
  // encode/decode agree and keep metadata
  const enc = encodeSafetensors(new Map([["a", { dtype: "I32" as const, shape: [2], data: Int32Array.of(7, -8) }]]), { note: "x" });
  const dec = decodeSafetensors(enc);
  assert.equal(Array.from(dec.tensors.get("a")!.data), [7, -8]);
  assert.equal(dec.metadata, { note: "x" });
});

test("truncated, damaged and mismatched files are refused with clear errors (and the save is atomic)", async () => {
  const m = new Sequential([new Dense(3, { inputDim: 2 }), new Dense(1)]);
  const p = join(dir, "bad");
  await m.save(p);
  assert.equal(readdirSync(p).sort(), ["config.json", "model.safetensors"], "no temporary files left");
  const wpath = join(p, "model.safetensors");
  const good = readFileSync(wpath);
  const attempt = async (bytes: Uint8Array, ...patterns: RegExp[]) => {
    writeFileSync(wpath, bytes);
    await rejects(() => loadModel(p), /model\.safetensors/, ...patterns);
  };
  await attempt(good.subarray(0, good.length - 4), /truncated/);
  await attempt(good.subarray(0, 5), /truncated|shorter than/);
  const longHeader = Buffer.from(good);
  longHeader.writeBigUInt64LE(BigInt(good.length), 0);
  await attempt(longHeader, /header length/);
  const junk = Buffer.from(good);
  junk[9] = 0x7b; junk[10] = 0x7b;
  await attempt(junk, /not valid JSON/);
  await attempt(Buffer.concat([good, Buffer.from([0, 0, 0, 0])]), /after the last tensor/);
  // A file from a different architecture: names and shapes are checked before anything is assigned.
  const other = new Sequential([new Dense(4, { inputDim: 2, name: m.layers[0].name }), new Dense(1, { name: m.layers[1].name })]);
  const p2 = join(dir, "other");
  await other.save(p2);
  await attempt(readFileSync(join(p2, "model.safetensors")), new RegExp(`weight '${m.layers[0].name}/kernel' has shape \\[2,4\\] in the file but \\[2,3\\]`));
  const renamed = new Sequential([new Dense(3, { inputDim: 2, name: "first" }), new Dense(1, { name: "second" })]);
  const p3 = join(dir, "renamed");
  await renamed.save(p3);
  await attempt(readFileSync(join(p3, "model.safetensors")), /missing/, /unexpected first\/kernel/);
  writeFileSync(wpath, good);
  writeFileSync(join(p, "config.json"), "{ not json");
  await rejects(() => loadModel(p), /config\.json is not valid JSON/);
  await rejects(() => loadModel(join(dir, "nowhere")), /cannot read .*config\.json/);
  // loadWeights into a live model leaves it untouched when the file does not fit.
  const before = Array.from(await m.weights[0].data());
  await rejects(() => m.loadWeights(join(p2, "model.safetensors")), /shape/);
  assert.equal(Array.from(await m.weights[0].data()), before);
  await m.saveWeights(join(dir, "w.safetensors"));
  await m.loadWeights(join(dir, "w.safetensors"));
  throws(() => decodeSafetensors(new Uint8Array(3), "x.safetensors"), /x\.safetensors: not a safetensors file/);
});

test.run();
