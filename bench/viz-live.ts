/**
 * What fit's live notebook chart costs in training throughput (not a test: ~1-2 minutes).
 *
 *   node dist/bench/viz-live.js [--pairs=3] [--train=10000] [--epochs=3] [--backend=cpu]
 *
 * The same MLP fit (Flatten-Dense(128, relu)-Dense(10, softmax), adam, batch 32, MNIST subset) runs
 * alternately in one process:
 *   silent   verbose 0, no display bridge (fit reads the device only at epoch ends)
 *   notebook a display bridge like the kernel's at globalThis[Symbol.for("dawnet.display")]: each output
 *            is turned into its MIME bundle and serialized and signed as the kernel does before sending
 * and prints samples/s for each, the ratio per pair, and where the notebook run's display time went
 * (lib/nn/progress.ts' ProgressStats: chart redraws, sends, log bookkeeping, batch-level reads). A third
 * run per pair reads the logs every batch without a display (what the notebook display cost before it
 * read only when redrawing), to price the readback alone.
 */
import { createHmac } from "node:crypto";
import * as dn from "../lib/index.js";
import { mnist } from "../lib/data/index.js";
import { Sequential, Dense, Flatten } from "../lib/nn/index.js";
import { lastProgressStats, type ProgressStats } from "../lib/nn/progress.js";

const args = process.argv.slice(2);
const opt = (name: string, fallback: number) => {
  const a = args.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.split("=")[1]) : fallback;
};
const backend = args.find((x) => x.startsWith("--backend="))?.split("=")[1] ?? "cpu";

/** The kernel's bridge contract (kernel/README.md), with the kernel's per-message work: bundle, JSON, HMAC. */
function kernelLikeBridge() {
  const key = "0123456789abcdef0123456789abcdef";
  let bytes = 0, messages = 0;
  const send = async (obj: unknown) => {
    let raw = (obj as Record<symbol, () => unknown>)[Symbol.for("jupyter.mimebundle")]();
    if (raw instanceof Promise) raw = await raw;
    const r = raw as { data?: unknown; metadata?: unknown };
    const content = JSON.stringify({ data: r.data ?? r, metadata: r.metadata ?? {}, transient: { display_id: "live" } });
    createHmac("sha256", key).update(content).digest("hex");
    bytes += content.length;
    messages++;
  };
  return {
    stats: () => ({ bytes, messages }),
    display(obj: unknown) {
      void send(obj);
      return { displayId: "live", update: (next: unknown) => send(next) };
    },
    update: async (_id: string, obj: unknown) => send(obj),
    clearOutput() {},
  };
}

async function main() {
  await dn.setBackend(backend as "cpu");
  const pairs = opt("pairs", 3), epochs = opt("epochs", 3), trainSize = opt("train", 10000);
  const { xTrain, yTrain } = await mnist({ trainSize });
  const n = xTrain.shape[0];
  const bridgeKey = Symbol.for("dawnet.display");

  /** verbose 0 with a batch callback that does nothing: fit then reads the running logs every batch (the old notebook cost). */
  async function fitReadingEveryBatch(): Promise<number> {
    dn.manualSeed(1);
    const model = new Sequential([new Flatten({ inputShape: [28, 28] }), new Dense(128, { activation: "relu" }), new Dense(10, { activation: "softmax" })]);
    model.compile({ optimizer: "adam", loss: "sparse_categorical_crossentropy", metrics: ["accuracy"] });
    const t0 = performance.now();
    await model.fit(xTrain, yTrain, { epochs, batchSize: 32, verbose: 0, callbacks: [{ onBatchEnd() {} }] });
    return (n * epochs) / ((performance.now() - t0) / 1000);
  }

  async function fitOnce(withChart: boolean): Promise<{ samplesPerSecond: number; seconds: number; stats: ProgressStats | null; bridge: { bytes: number; messages: number } | null }> {
    dn.manualSeed(1);
    const model = new Sequential([new Flatten({ inputShape: [28, 28] }), new Dense(128, { activation: "relu" }), new Dense(10, { activation: "softmax" })]);
    model.compile({ optimizer: "adam", loss: "sparse_categorical_crossentropy", metrics: ["accuracy"] });
    const bridge = withChart ? kernelLikeBridge() : null;
    if (bridge) (globalThis as Record<symbol, unknown>)[bridgeKey] = bridge;
    const t0 = performance.now();
    try {
      await model.fit(xTrain, yTrain, { epochs, batchSize: 32, verbose: withChart ? 1 : 0 });
    } finally {
      delete (globalThis as Record<symbol, unknown>)[bridgeKey];
    }
    const seconds = (performance.now() - t0) / 1000;
    model.dispose?.();
    return { samplesPerSecond: (n * epochs) / seconds, seconds, stats: withChart ? lastProgressStats() : null, bridge: bridge?.stats() ?? null };
  }

  console.log(`MLP on ${n} MNIST images, ${epochs} epochs, batch 32, ${backend} backend; ${pairs} pairs, order alternating`);
  await fitOnce(true); // warm-up: loads vega, compiles kernels
  const ratios: number[] = [];
  const silent: number[] = [], live: number[] = [], reads: number[] = [];
  for (let p = 0; p < pairs; p++) {
    const order = p % 2 === 0 ? [false, true] : [true, false];
    const result: Record<string, Awaited<ReturnType<typeof fitOnce>>> = {};
    for (const withChart of order) result[withChart ? "live" : "silent"] = await fitOnce(withChart);
    const everyBatch = await fitReadingEveryBatch();
    reads.push(everyBatch / result.silent.samplesPerSecond);
    const s = result.silent, l = result.live, st = l.stats!;
    silent.push(s.samplesPerSecond);
    live.push(l.samplesPerSecond);
    ratios.push(l.samplesPerSecond / s.samplesPerSecond);
    const pct = (ms: number) => ((100 * ms) / (l.seconds * 1000)).toFixed(2);
    console.log(
      `pair ${p + 1}: silent ${s.samplesPerSecond.toFixed(0)} samples/s, notebook ${l.samplesPerSecond.toFixed(0)} samples/s, ratio ${(l.samplesPerSecond / s.samplesPerSecond).toFixed(3)}; ` +
        `notebook display: ${st.chartRenders} chart redraws ${st.chartMs.toFixed(0)} ms (${pct(st.chartMs)}%), ${st.updates} sends ${st.sendMs.toFixed(1)} ms (${pct(st.sendMs)}%), ` +
        `bookkeeping ${st.recordMs.toFixed(2)} ms, ${st.batchReads} batch reads of ${Math.ceil(n / 32) * epochs} batches, ${(l.bridge!.bytes / 1e6).toFixed(2)} MB sent; ` +
        `inside chart code ${pct(st.chartMs + st.sendMs + st.recordMs)}% of the fit; reading logs every batch (no display): ${everyBatch.toFixed(0)} samples/s`,
    );
  }
  const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
  console.log(JSON.stringify({ bench: "viz-live", backend, trainSize: n, epochs, silentSamplesPerSecond: Math.round(median(silent)), notebookSamplesPerSecond: Math.round(median(live)), medianRatio: +median(ratios).toFixed(3), ratios: ratios.map((r) => +r.toFixed(3)), everyBatchReadRatio: +median(reads).toFixed(3) }));
}

await main();
