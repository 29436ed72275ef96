/**
 * Dense layer with precision "float16" (matmulHalf: operands rounded to float16, float32 accumulation)
 * against "float32", alternated in one process on each backend: forward of a 784→256 layer at batch 128
 * (`chain` forwards queued per read), and one training step (forward, backward, Adam) of that layer.
 * Prints one JSON line per result (ms, best of the rounds).
 *
 *   node dist/bench/dense-half.js [cpu] [webgpu]     (default both; webgpu skipped without an adapter)
 *   DENSE_HALF_ROUNDS=5                              alternations
 */
import * as dn from "../lib/index.js";
import { Dense, Sequential } from "../lib/nn/index.js";
import { Adam } from "../lib/optim/index.js";

const backends = process.argv.slice(2).filter((a) => a === "cpu" || a === "webgpu");
if (backends.length === 0) backends.push("cpu", "webgpu");
const rounds = Number(process.env.DENSE_HALF_ROUNDS) || 5;
const batch = 128, inDim = 784, units = 256, chain = 4;

for (const backend of backends) {
  try {
    await dn.setBackend(backend);
  } catch (e) {
    console.log(JSON.stringify({ backend, skipped: (e as Error).message }));
    continue;
  }
  const x = dn.rand([batch, inDim]);
  const target = dn.rand([batch, units]);
  const models = new Map<string, Sequential>();
  for (const precision of ["float32", "float16"] as const) {
    dn.manualSeed(1);
    const m = new Sequential([new Dense(units, { inputDim: inDim, precision })]);
    m.compile({ optimizer: new Adam(), loss: "mse" });
    models.set(precision, m);
  }
  const best = new Map<string, number>();
  const note = (key: string, ms: number) => best.set(key, Math.min(best.get(key) ?? Infinity, ms));
  for (let round = 0; round <= rounds; round++) {
    for (const [precision, m] of models) {
      let t0 = performance.now();
      const ys = dn.tidy(() => Array.from({ length: chain }, () => dn.keep(m.predict(x, { batchSize: batch }))));
      await ys[chain - 1].data();
      const forward = (performance.now() - t0) / chain;
      ys.forEach((y) => y.dispose());
      t0 = performance.now();
      await m.trainOnBatch(x, target);
      const step = performance.now() - t0;
      if (round > 0) { // round 0 compiles shaders and warms caches
        note(`${precision} forward`, forward);
        note(`${precision} train step`, step);
      }
    }
  }
  for (const [key, ms] of best) {
    console.log(JSON.stringify({ bench: "dense-half", backend, layer: `${inDim}→${units}`, batch, what: key, ms: Number(ms.toFixed(3)) }));
  }
  for (const m of models.values()) m.dispose();
  x.dispose();
  target.dispose();
}
