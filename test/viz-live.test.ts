/**
 * LiveChart: fed by training callbacks, it redraws one display in place through the kernel's display
 * bridge, at most every minIntervalMs; outside a notebook it only records numbers.
 * fit()'s notebook progress: time inside the chart's code (instrumented, not two noisy throughputs), reads
 * only when the display redraws (CPU and webgpu), History unchanged. bench/viz-live.ts measures samples/s.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import * as dn from "../lib/index.js";
import * as viz from "../lib/viz/index.js";
import { Sequential, Dense } from "../lib/nn/index.js";
import { lastProgressStats } from "../lib/nn/progress.js";
import { DatasetViewRenderer } from "../lib/viz/render.js";
import { createWebGPUBackend } from "../lib/backend/webgpu/webgpu.js";

type Bundle = Record<string, unknown>;

/** A stand-in for the kernel's bridge at globalThis[Symbol.for("dawnet.display")]: records what it is sent. */
function fakeBridge() {
  const sent: { kind: "display" | "update"; bundle: Bundle }[] = [];
  const toBundle = (obj: unknown) => {
    const raw = (obj as Record<symbol, () => Bundle>)[viz.mimebundleSymbol]();
    // The kernel accepts a plain MIME map or {data, metadata}; the live chart sends the latter.
    return (raw.data ?? raw) as Bundle;
  };
  return {
    sent,
    display(obj: unknown) {
      sent.push({ kind: "display" as const, bundle: toBundle(obj) });
      return { update: async (next: unknown) => void sent.push({ kind: "update", bundle: toBundle(next) }) };
    },
  };
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

test.before(async () => {
  await dn.setBackend("cpu");
});

test("throttling: thousands of batch updates in a fast loop → a few renders into one display", async () => {
  await viz.lossCurve({ loss: [1, 0.5] }).toSVG(); // load vega first, so render times are steady
  const bridge = fakeBridge();
  // renderBudget 0.5: the interval is max(100 ms, 2 × render time), so the 100 ms floor is what is tested.
  const live = viz.liveLossCurve({ display: bridge, minIntervalMs: 100, renderBudget: 0.5 });
  const epochs = 6;
  const batches = 1000;
  const t0 = performance.now();
  for (let e = 0; e < epochs; e++) {
    for (let b = 0; b < batches; b++) {
      let s = 0;
      for (let i = 0; i < 20000; i++) s += Math.sqrt(i + b); // some work per "batch"
      live.onBatchEnd(b, { loss: 1 / (1 + e + b / batches) + (s % 1) * 1e-3 });
      await tick();
    }
    live.onEpochEnd(e, { loss: 1 / (1 + e), val_loss: 1.1 / (1 + e) });
  }
  await live.finish();
  const elapsed = performance.now() - t0;
  const updates = epochs * (batches + 1);
  const renders = live.renderCount;
  console.log(`live chart: ${updates} updates in ${elapsed.toFixed(0)} ms → ${renders} renders (last took ${live.lastRenderMs.toFixed(0)} ms)`);
  assert.is(live.lastError, null);
  assert.ok(renders >= 3, `a first render, redraws during training and a final one; got ${renders}`);
  assert.ok(renders <= Math.ceil(elapsed / 100) + 2, `${renders} renders in ${elapsed.toFixed(0)} ms exceeds one per 100 ms`);
  assert.is(bridge.sent.length, renders);
  assert.is(bridge.sent[0].kind, "display");
  assert.ok(bridge.sent.slice(1).every((s) => s.kind === "update"), "later renders update the same display");
  const last = bridge.sent[bridge.sent.length - 1].bundle;
  assert.match(last["text/plain"] as string, /6 epochs, 6000 batches; last loss=0\.1667, val_loss=0\.1833/);
  assert.ok(last["application/vnd.vegalite.v5+json"] && (last["image/png"] as string).startsWith("iVBOR"), "the final picture in the static format (PNG by default)");
  assert.ok((bridge.sent[1].bundle["image/svg+xml"] as string).startsWith("<svg"), "redraws during training are SVG (no rasterizing)");
});

test("outside a notebook: records only (no render), cheap per call; the chart is available afterwards", async () => {
  const live = viz.liveLossCurve({ display: null });
  const t0 = performance.now();
  const n = 20000;
  for (let i = 0; i < n; i++) live.onBatchEnd(i % 100, { loss: 1 / (1 + i), accuracy: i / n });
  const perCall = ((performance.now() - t0) / n) * 1000;
  console.log(`live chart without a display: ${perCall.toFixed(2)} µs per onBatchEnd`);
  assert.ok(perCall < 50, `${perCall} µs per call`);
  await live.finish();
  assert.is(live.renderCount, 0);
  const spec = live.chart().spec;
  assert.is((spec.hconcat as unknown[]).length, 2, "loss and accuracy panels");
  const batchRows = (spec.datasets as Record<string, { series: string }[]>).batch_0;
  assert.ok(batchRows.length <= 2 * 300, `batch points are bucketed: ${batchRows.length}`);
  assert.ok(batchRows.some((r) => r.series === "train (batch, smoothed)"));
  const svg = await live.toSVG();
  assert.match(svg, /batch/);
  // The cached-view rendering draws the same marks as a fresh compile.
  const [a, b] = await Promise.all([live.renderSVG(), live.renderSVG()]);
  assert.is(a.length, b.length);
  for (const cls of ["mark-line", "role-axis-title", "role-legend"]) {
    assert.is(a.split(cls).length, svg.split(cls).length, `${cls} count`);
  }
});

test("x axis: batches placed at fractional epochs once an epoch's length is known", () => {
  const live = viz.liveLossCurve({ display: null, smoothing: 0 });
  for (let e = 0; e < 2; e++) {
    for (let b = 0; b < 4; b++) live.onBatchEnd(b, { loss: 1 });
    live.onEpochEnd(e, { loss: 1 });
  }
  const datasets = live.chart().spec.datasets as Record<string, { x: number }[]>;
  assert.equal(datasets.batch_0.map((r) => r.x), [0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75, 2]);
  assert.equal(datasets.epoch_0.map((r) => r.x), [1, 2]);
  assert.ok(viz.lossCurve(live).spec.hconcat, "lossCurve accepts a LiveChart");
});

test("log axis: the smoothed batch curve averages logs, so it follows a loss that falls by decades", () => {
  const live = viz.liveLossCurve({ display: null, logScale: true });
  for (let i = 0; i < 60; i++) live.onBatchEnd(i, { loss: 20 * Math.exp(-i / 4) + 0.01 });
  const rows = (live.chart().spec.datasets as Record<string, { series: string; value: number }[]>).batch_0;
  const last = (series: string) => rows.filter((r) => r.series === series).pop()!.value;
  const raw = last("train (batch)"), smooth = last("train (batch, smoothed)");
  assert.ok(smooth / raw < 1.5, `smoothed ${smooth} vs raw ${raw} at the end (a linear EMA would be ~${(0.9 ** 20 * 20).toFixed(2)} too high)`);
});

test("emaDebiased: first value kept, then the bias-corrected moving average", () => {
  const s = viz.emaDebiased([1, 1, 1], 0.9);
  assert.ok(s.every((v) => Math.abs(v - 1) < 1e-12));
  const t = viz.emaDebiased([0, 10], 0.5);
  assert.equal(t, [0, (0.5 * 0 * 0.5 + 0.5 * 10) / (1 - 0.25)]);
});

test("uses the kernel's display bridge from globalThis when present", async () => {
  const bridge = fakeBridge();
  const key = Symbol.for("dawnet.display");
  (globalThis as Record<symbol, unknown>)[key] = bridge;
  try {
    const live = viz.liveLossCurve();
    live.onEpochEnd(0, { loss: 0.5 });
    await live.finish();
    // One redraw, plus the final picture again when that redraw had started as SVG before finish().
    assert.ok(bridge.sent.length >= 1 && bridge.sent.length <= 2, `${bridge.sent.length} sends`);
    assert.ok(bridge.sent[bridge.sent.length - 1].bundle["image/png"], "the final picture is PNG (the default static format)");
  } finally {
    delete (globalThis as Record<symbol, unknown>)[key];
  }
});

/** Like the kernel: every output becomes its bundle, serialized to JSON (the kernel also signs and sends it). */
function kernelLikeBridge() {
  let messages = 0, bytes = 0;
  const send = async (obj: unknown) => {
    let raw = (obj as Record<symbol, () => unknown>)[viz.mimebundleSymbol]();
    if (raw instanceof Promise) raw = await raw;
    bytes += JSON.stringify(raw).length;
    messages++;
  };
  return {
    counts: () => ({ messages, bytes }),
    display(obj: unknown) {
      void send(obj);
      return { displayId: "fit", update: send };
    },
    update: async (_id: string, obj: unknown) => send(obj),
    clearOutput() {},
  };
}

/** Counts device reads made while `fn` runs (item() and array() read through data()). */
async function countingReads<T>(fn: () => Promise<T>): Promise<{ result: T; reads: number }> {
  const proto = dn.Tensor.prototype;
  const data = proto.data;
  let reads = 0;
  proto.data = function (this: dn.Tensor) {
    reads++;
    return data.call(this);
  };
  try {
    return { result: await fn(), reads };
  } finally {
    proto.data = data;
  }
}

async function mlpFit(verbose: 0 | 1, n: number, epochs: number, bridge: ReturnType<typeof kernelLikeBridge> | null) {
  dn.manualSeed(3);
  const x = dn.randn([n, 256]);
  const y = dn.randint(0, 10, [n]);
  const model = new Sequential([new Dense(128, { inputDim: 256, activation: "relu" }), new Dense(10, { activation: "softmax" })]);
  model.compile({ optimizer: "adam", loss: "sparse_categorical_crossentropy", metrics: ["accuracy"] });
  const key = Symbol.for("dawnet.display");
  if (bridge) (globalThis as Record<symbol, unknown>)[key] = bridge;
  try {
    const t0 = performance.now();
    const { result: history, reads } = await countingReads(() => model.fit(x, y, { epochs, batchSize: 32, verbose }));
    return { history, reads, ms: performance.now() - t0, stats: verbose ? lastProgressStats()! : null, batches: Math.ceil(n / 32) * epochs };
  } finally {
    delete (globalThis as Record<symbol, unknown>)[key];
    x.dispose();
    y.dispose();
  }
}

test("fit in a notebook: time inside the live chart's code < 3% of the fit, reads only when it redraws, exact epoch means", async () => {
  await mlpFit(1, 2048, 1, kernelLikeBridge()); // a first fit loads vega and compiles the chart's view (once per process)
  const compilesBefore = DatasetViewRenderer.compiles;
  const bridge = kernelLikeBridge();
  const live = await mlpFit(1, 12000, 3, bridge);
  const st = live.stats!;
  const inside = st.chartMs + st.sendMs + st.recordMs;
  const share = inside / st.wallMs;
  console.log(
    `fit (${live.batches} batches, ${(st.wallMs / 1000).toFixed(1)} s) in a notebook: ${st.chartRenders} chart redraws ${st.chartMs.toFixed(0)} ms, ` +
      `${st.updates} sends ${st.sendMs.toFixed(1)} ms, bookkeeping ${st.recordMs.toFixed(2)} ms → ${(share * 100).toFixed(2)}% of the fit; ` +
      `${st.batchReads} batch-level reads, ${live.reads} device reads in all; ${(bridge.counts().bytes / 1e6).toFixed(2)} MB sent`,
  );
  // The chart redraws at most once a second and at most ~2% of the time; the progress line costs < 1 ms a send.
  assert.ok(share < 0.03, `the live chart took ${(share * 100).toFixed(2)}% of the fit (${inside.toFixed(0)} of ${st.wallMs.toFixed(0)} ms)`);
  assert.ok(st.chartRenders >= (st.wallMs > 1500 ? 2 : 1) && st.chartRenders <= st.wallMs / 1000 + 2, `${st.chartRenders} chart redraws in ${st.wallMs.toFixed(0)} ms`);
  assert.is(DatasetViewRenderer.compiles, compilesBefore, "redraws swap data into the cached view; nothing recompiles, not even when epoch points appear");
  const silent = await mlpFit(0, 12000, 3, null);
  // Reads: the running logs when the display redraws (every 300 ms at most), the exact means at epoch ends.
  assert.ok(st.batchReads <= st.wallMs / 300 + 3, `${st.batchReads} batch-level reads in ${st.wallMs.toFixed(0)} ms`);
  assert.ok(live.reads - silent.reads <= 2 * st.batchReads, `${live.reads} device reads, ${silent.reads} without the display (loss + accuracy per log read)`);
  assert.ok(live.reads < live.batches / 4, `${live.reads} device reads for ${live.batches} batches: not one per batch`);
  // The display changes nothing in training: the same seed gives the same History, and it holds the epoch means.
  assert.equal(live.history.history, silent.history.history);
  assert.ok(silent.reads <= 3 * 2 + 2, `verbose 0 reads only at epoch ends: ${silent.reads}`);
  assert.is(bridge.counts().messages, st.updates);
});

const gpu = await createWebGPUBackend();
(("unavailable" in gpu) ? test.skip : test)("fit in a notebook on webgpu reads the device only when the display redraws, not every batch", async () => {
  await dn.setBackend("webgpu");
  try {
    const live = await mlpFit(1, 3200, 2, kernelLikeBridge());
    const st = live.stats!;
    console.log(`webgpu fit (${live.batches} batches, ${(st.wallMs / 1000).toFixed(1)} s) in a notebook: ${live.reads} device reads (${st.batchReads} batch-level log reads), ${st.chartRenders} chart redraws`);
    assert.ok(st.batchReads <= st.wallMs / 300 + 3, `${st.batchReads} batch-level reads in ${st.wallMs.toFixed(0)} ms`);
    assert.ok(live.reads <= 2 * (st.batchReads + 2) + 2, `${live.reads} device reads, ${st.batchReads} batch-level log reads`);
    assert.ok(live.reads < live.batches / 4, `${live.reads} device reads for ${live.batches} batches`);
    const losses = live.history.history.loss;
    assert.is(losses.length, 2);
    assert.ok(losses.every(Number.isFinite));
  } finally {
    await dn.setBackend("cpu");
  }
});
if ("unavailable" in gpu) console.log(`skipped: webgpu fit read count: ${gpu.unavailable}`);

test.run();
