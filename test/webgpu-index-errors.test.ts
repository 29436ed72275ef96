/**
 * Out-of-range indices in index tensors on webgpu: kernels that read indices report the first bad one into a
 * device status buffer; the next read (or sync) raises an error worded like the CPU backend's check, naming
 * the op, the index, its position and the axis size. The bad positions read nothing (the output is defined),
 * and the backend stays usable afterwards.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import * as dn from "../lib/index.js";
import { createWebGPUBackend, type WebGPUBackend } from "../lib/backend/webgpu/webgpu.js";
import { rejects } from "./helpers.js";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

const created = await createWebGPUBackend();
const it = "unavailable" in created ? test.skip : test;
if ("unavailable" in created) console.log(`skipped: webgpu index errors: ${created.unavailable}`);
const gpu = created as WebGPUBackend;

const ints = (values: number[]) => dn.tensor(values, { dtype: "int32" });
const DETECTED = /detected on the GPU at the next read/;

test.before(async () => {
  if (!("unavailable" in created)) await dn.setBackend("webgpu");
});

it("gather: a bad index raises at the next read (of any tensor) with the op, index, position and axis size", async () => {
  const x = dn.arange(0, 40).reshape([10, 4]).cast("float32");
  const y = dn.gather(x, ints([1, 12, 3]), 0);
  const unrelated = dn.ones([3]);
  await rejects(() => unrelated.data(), /^gather: index 12 at position 1 is out of range for an axis of size 10 \(/, DETECTED, /indices must be in \[0, 10\)/);
  // The status was reset by that read: the output is defined (zeros at the bad position), later ops work.
  assert.equal(await y.array(), [[4, 5, 6, 7], [0, 0, 0, 0], [12, 13, 14, 15]]);
  assert.equal(await dn.gather(x, ints([9, 0]), 0).array(), [[36, 37, 38, 39], [0, 1, 2, 3]]);
  assert.equal(await unrelated.array(), [1, 1, 1]);
});

it("negative indices are out of range with the CPU backend's wording; outer and inner dims give the flat index position", async () => {
  const x = dn.arange(0, 30).reshape([2, 5, 3]).cast("float32");
  const bad = ints([0, 4, -1]);
  let cpuMessage = "";
  await dn.setBackend("cpu");
  try {
    dn.gather(dn.arange(0, 30).reshape([2, 5, 3]), dn.tensor([0, 4, -1], { dtype: "int32" }), 1);
  } catch (e) {
    cpuMessage = (e as Error).message;
  } finally {
    await dn.setBackend("webgpu");
  }
  assert.match(cpuMessage, /^gather: index -1 at position 2 is out of range for an axis of size 5$/);
  const y = dn.gather(x, bad, 1);
  await rejects(() => y.data(), new RegExp(`^${cpuMessage.replace(/[[\]()]/g, "\\$&")} \\(`), DETECTED);
  // Every valid row is there; the bad one reads zeros in every outer/inner slot.
  const got = (await y.array()) as number[][][];
  assert.equal(got[1], [[15, 16, 17], [27, 28, 29], [0, 0, 0]]);
});

it("gather with an empty output (a zero-length outer or inner dim) still checks its indices, as the CPU does", async () => {
  const x = dn.zeros([0, 3]);
  const y = dn.gather(x, ints([1, 5]), 1);
  assert.equal(y.shape, [0, 2]);
  await rejects(() => dn.ones([1]).data(), /^gather: index 5 at position 1 is out of range for an axis of size 3 \(/, DETECTED);
  assert.equal(await dn.gather(x, ints([2]), 1).array(), []);
  assert.equal(await dn.ones([1]).array(), [1]);
});

it("sync() raises a pending index error too; one error per read, naming the first bad dispatch", async () => {
  const x = dn.arange(0, 6).cast("float32");
  dn.gather(x, ints([6]), 0);
  await rejects(() => gpu.sync(), /^gather: index 6 at position 0 is out of range for an axis of size 6/);
  dn.gather(x, ints([0, 7]), 0); // first bad dispatch
  dn.gather(x, ints([-9]), 0); // a later one in the same batch is covered by the same report
  await rejects(() => dn.ones([1]).data(), /^gather: index 7 at position 1 /);
  await gpu.sync(); // nothing pending
  assert.equal(await dn.gather(x, ints([5, 0]), 0).array(), [5, 0]);
});

it("Embedding with an id past the vocabulary, and gather's gradient (scatterAdd)", async () => {
  const emb = new dn.Embedding(10, 3);
  const out = emb.apply(ints([2, 10, 4]).reshape([1, 3]));
  await rejects(() => out.data(), /^gather: index 10 at position 1 is out of range for an axis of size 10/, DETECTED);
  const w = dn.randn([5, 2]);
  w.requiresGrad = true;
  dn.sum(dn.gather(w, ints([4, 5]), 0)).backward();
  await rejects(() => w.grad!.data(), /^gather: index 5 at position 1 is out of range for an axis of size 5/);
  // scatterAdd on its own (the backend kernel): the bad index adds nothing and is reported.
  const g = gpu.upload(Float32Array.from([1, 2, 3]), "float32");
  const idx = gpu.upload(Int32Array.from([0, 3, 1]), "int32");
  const sums = gpu.scatterAdd(g, "float32", idx, 1, 2, 1, 3, { op: "gather (gradient)", axis: 0, inputShape: [2], indexShape: [3] });
  await rejects(() => gpu.read(sums, "float32", 2), /^gather \(gradient\): index 3 at position 1 is out of range for an axis of size 2 \(axis 0 of input \[2\], indices \[3\]\)/);
  assert.equal(Array.from(await gpu.read(sums, "float32", 2)), [1, 3]);
  for (const b of [g, idx, sums]) gpu.free(b);
});

it("checkIndices: the device-side check for ops that use indices without gathering (oneHot, sparse labels)", async () => {
  const labels = ints([0, 3, 7, 9]);
  gpu.checkIndices(labels.storage("test").buf!, labels.size, 5, { op: "oneHot", axis: 1, inputShape: [4], indexShape: [4] });
  await rejects(() => dn.ones([1]).data(), /^oneHot: index (7 at position 2|9 at position 3) is out of range for an axis of size 5 \(axis 1 of input \[4\], indices \[4\]\)/);
  gpu.checkIndices(labels.storage("test").buf!, labels.size, 10, { op: "oneHot" });
  assert.equal(await dn.ones([1]).array(), [1]);
});

it("through the ops layer: gather names its shapes, oneHot and sparse crossentropy labels are checked on the device", async () => {
  const x = dn.zeros([10, 4]);
  dn.gather(x, ints([1, 12, 3]), 0);
  await rejects(() => dn.ones([1]).data(), /^gather: index 12 at position 1 is out of range for an axis of size 10 \(axis 0 of input \[10,4\], indices \[3\]\) — detected on the GPU/);
  const hot = dn.oneHot(ints([0, 5]), 3);
  await rejects(() => hot.data(), /^oneHot: index 5 at position 1 is out of range for an axis of size 3 \(indices \[2\]\)/);
  // A label equal to the class count would flatten into the next row's first class: checked against the classes.
  const loss = dn.losses.sparseCategoricalCrossentropy({ fromLogits: true });
  const logits = dn.tensor([[1, 2, 3], [4, 5, 6]]);
  const value = loss.call(ints([3, 0]), logits);
  await rejects(() => value.data(), /^sparseCategoricalCrossentropy: index 3 at position 0 is out of range for an axis of size 3 \(axis 1 of input \[2,3\], indices \[2\]\)/);
  await dn.setBackend("cpu");
  try {
    assert.throws(() => loss.call(dn.tensor([3, 0], { dtype: "int32" }), dn.tensor([[1, 2, 3], [4, 5, 6]])), /^sparseCategoricalCrossentropy: index 3 at position 0 is out of range for an axis of size 3$/);
  } finally {
    await dn.setBackend("webgpu");
  }
  assert.ok(Math.abs((await loss.call(ints([0, 2]), logits).item()) - 1.4076) < 1e-3);
});

it("valid indices cost nothing extra: one dispatch per gather, reads without pending checks copy no status", async () => {
  const x = dn.randn([100, 8]);
  const idx = dn.randint(0, 100, [32]);
  await gpu.sync();
  const before = gpu.dispatches;
  const y = dn.gather(x, idx, 0);
  assert.is(gpu.dispatches - before, 1);
  const rows = (await y.array()) as number[][];
  const ids = Array.from(await idx.data());
  const xs = (await x.array()) as number[][];
  ids.forEach((r, j) => assert.equal(rows[j], xs[r]));
});

it("a process that hit an index error exits by itself, printing nothing but Dawn's two adapter warnings", () => {
  const lib = join(dirname(fileURLToPath(import.meta.url)), "..", "lib", "index.js");
  const source = `
    const dn = await import(${JSON.stringify(lib)});
    await dn.setBackend("webgpu");
    const x = dn.ones([10, 4]);
    dn.gather(x, dn.tensor([11], { dtype: "int32" }), 0);
    try { await dn.ones([1]).data(); } catch (e) { console.log(e.message.split(" (")[0]); }
    dn.gather(x, dn.tensor([-2], { dtype: "int32" }), 0); // pending and never read: no hang at exit
    console.log("done");`;
  const started = Date.now();
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", source], { encoding: "utf8", timeout: 60_000 });
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stdout, "gather: index 11 at position 0 is out of range for an axis of size 10\ndone\n");
  const noise = r.stderr.split("\n").filter((l) => l && !/artificially reduced from \d+ to \d+ to fit dynamic offset allocation limit/.test(l));
  assert.equal(noise, [], `unexpected stderr: ${r.stderr}`);
  assert.ok(Date.now() - started < 30_000, "the child did not exit promptly");
});

test.run();
