/** Shared pieces of the benchmarks: results as JSON lines, timing, synthetic data. */

export interface BenchResult {
  bench: "matmul" | "matmul-queued" | "op-overhead" | "mlp-train" | "cnn-train";
  /** Matrix size, element count or batch size, depending on the bench. */
  size: number;
  impl: string;
  value: number;
  unit: "GFLOP/s" | "us/op" | "samples/s";
  /** Higher is better for throughput units, lower for us/op. */
  higherIsBetter: boolean;
  note?: string;
}

export function emit(r: BenchResult): BenchResult {
  console.log(JSON.stringify(r));
  return r;
}

/**
 * Runs `fn` once to warm up, then repeatedly until `budgetMs` has passed (at least `minReps` times),
 * and returns the best time in ms. Best-of, because other processes share the 2 cores.
 */
export async function bestTime(fn: () => unknown | Promise<unknown>, budgetMs: number, minReps = 3): Promise<number> {
  await fn();
  let best = Infinity;
  const start = performance.now();
  for (let r = 0; r < minReps || performance.now() - start < budgetMs; r++) {
    const t0 = performance.now();
    await fn();
    best = Math.min(best, performance.now() - t0);
    if (performance.now() - start > 20 * budgetMs) break;
  }
  return best;
}

/** Deterministic pseudo-random floats in [-0.5, 0.5). */
export function randomArray(size: number, seed = 1): Float32Array {
  const out = new Float32Array(size);
  let s = seed >>> 0;
  for (let i = 0; i < size; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 32 - 0.5;
  }
  return out;
}

export function randomLabels(size: number, classes: number, seed = 2): Int32Array {
  const r = randomArray(size, seed);
  return Int32Array.from(r, (v) => Math.min(classes - 1, Math.floor((v + 0.5) * classes)));
}

export interface TrainSpec {
  batch: number;
  /** Timed training steps (after warm-up steps). */
  steps: number;
  warmup: number;
  /** The timed steps run as this many equal windows; the fastest window counts (the machine is shared). */
  windows: number;
}
