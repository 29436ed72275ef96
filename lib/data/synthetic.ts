/**
 * Synthetic datasets for tutorials: deterministic for a given seed (own PRNG, see prng.ts), so a
 * notebook shows the same picture every run. Each returns tensors the caller owns.
 */
import type { Tensor } from "../tensor.js";
import { toTensor } from "./host.js";
import { createRng, permutation, type Rng } from "./prng.js";

/** Points with class labels: x float32 [n, 2] (or [n, features]), y int32 [n]. */
export interface ClassificationData {
  x: Tensor;
  y: Tensor;
}

interface Shuffled {
  x: Float32Array;
  y: Int32Array;
}

/** Shuffle rows of (x, y) with the generator so classes are interleaved like sklearn's `shuffle=True`. */
function shuffleRows({ x, y }: Shuffled, features: number, rng: Rng): Shuffled {
  const n = y.length;
  const p = permutation(n, rng);
  const xs = new Float32Array(x.length);
  const ys = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    ys[i] = y[p[i]];
    for (let f = 0; f < features; f++) xs[i * features + f] = x[p[i] * features + f];
  }
  return { x: xs, y: ys };
}

function checkCount(op: string, n: number, min = 1): void {
  if (!Number.isInteger(n) || n < min) throw new Error(`${op}: n must be an integer ≥ ${min}, got ${n}`);
}

function finish(op: string, data: Shuffled, features: number, shuffle: boolean, rng: Rng): ClassificationData {
  const { x, y } = shuffle ? shuffleRows(data, features, rng) : data;
  return {
    x: toTensor({ dtype: "float32", shape: [y.length, features], data: x }),
    y: toTensor({ dtype: "int32", shape: [y.length], data: y }),
  };
}

export interface LinearOptions {
  /** Number of examples (default 100). */
  n?: number;
  /** Number of input features (default 1; ignored when `weights` is given). */
  features?: number;
  /** True weights w (default: drawn uniformly from [-2, 2] with the seed). */
  weights?: number[];
  /** True bias b (default 0.5). */
  bias?: number;
  /** Standard deviation of the Gaussian noise added to y (default 0.1). */
  noise?: number;
  /** Inputs are uniform in [low, high] (default [-1, 1]). */
  range?: [number, number];
  seed?: number;
}

/**
 * Linear regression data: y = w·x + b + noise. Returns x float32 [n, features], y float32 [n, 1],
 * and the true `weights` and `bias` (to compare with what a model learns).
 */
export function makeLinear(opts: LinearOptions = {}): { x: Tensor; y: Tensor; weights: number[]; bias: number } {
  const n = opts.n ?? 100;
  checkCount("makeLinear", n);
  const rng = createRng(opts.seed ?? 0);
  const features = opts.weights?.length ?? opts.features ?? 1;
  const weights = opts.weights ?? Array.from({ length: features }, () => Number((rng.next() * 4 - 2).toFixed(3)));
  const bias = opts.bias ?? 0.5;
  const noise = opts.noise ?? 0.1;
  const [low, high] = opts.range ?? [-1, 1];
  const x = new Float32Array(n * features);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let s = bias;
    for (let f = 0; f < features; f++) {
      const v = low + (high - low) * rng.next();
      x[i * features + f] = v;
      s += weights[f] * v;
    }
    y[i] = s + noise * rng.normal();
  }
  return {
    x: toTensor({ dtype: "float32", shape: [n, features], data: x }),
    y: toTensor({ dtype: "float32", shape: [n, 1], data: y }),
    weights,
    bias,
  };
}

export interface ShapeOptions {
  /** Total number of points (default 200). */
  n?: number;
  /** Standard deviation of Gaussian noise added to each coordinate. */
  noise?: number;
  /** Interleave the classes (default true). */
  shuffle?: boolean;
  seed?: number;
}

/** Two interleaving half circles (like sklearn's make_moons): x [n, 2], y ∈ {0, 1}. Default noise 0.1. */
export function makeMoons(opts: ShapeOptions = {}): ClassificationData {
  const n = opts.n ?? 200;
  checkCount("makeMoons", n, 2);
  const noise = opts.noise ?? 0.1;
  const rng = createRng(opts.seed ?? 0);
  const nOuter = Math.floor(n / 2), nInner = n - nOuter;
  const x = new Float32Array(2 * n), y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const inner = i >= nOuter;
    const k = inner ? i - nOuter : i;
    const t = (Math.PI * k) / Math.max(1, (inner ? nInner : nOuter) - 1);
    x[2 * i] = (inner ? 1 - Math.cos(t) : Math.cos(t)) + noise * rng.normal();
    x[2 * i + 1] = (inner ? 0.5 - Math.sin(t) : Math.sin(t)) + noise * rng.normal();
    y[i] = inner ? 1 : 0;
  }
  return finish("makeMoons", { x, y }, 2, opts.shuffle ?? true, rng);
}

/** A small circle inside a large one (like sklearn's make_circles): x [n, 2], y = 1 for the inner circle. Default noise 0.05, factor 0.5. */
export function makeCircles(opts: ShapeOptions & { factor?: number } = {}): ClassificationData {
  const n = opts.n ?? 200;
  checkCount("makeCircles", n, 2);
  const noise = opts.noise ?? 0.05;
  const factor = opts.factor ?? 0.5;
  if (!(factor > 0 && factor < 1)) throw new Error(`makeCircles: factor must be in (0, 1), got ${factor}`);
  const rng = createRng(opts.seed ?? 0);
  const nOuter = Math.floor(n / 2), nInner = n - nOuter;
  const x = new Float32Array(2 * n), y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const inner = i >= nOuter;
    const k = inner ? i - nOuter : i;
    const t = (2 * Math.PI * k) / (inner ? nInner : nOuter);
    const r = inner ? factor : 1;
    x[2 * i] = r * Math.cos(t) + noise * rng.normal();
    x[2 * i + 1] = r * Math.sin(t) + noise * rng.normal();
    y[i] = inner ? 1 : 0;
  }
  return finish("makeCircles", { x, y }, 2, opts.shuffle ?? true, rng);
}

/**
 * Interleaved spiral arms, one per class (the CS231n toy problem): x [n, 2], y in 0…classes-1.
 * `n` points in total (split evenly), default 3 classes, noise 0.2 (on the angle).
 */
export function makeSpirals(opts: ShapeOptions & { classes?: number } = {}): ClassificationData {
  const classes = opts.classes ?? 3;
  const n = opts.n ?? 300;
  checkCount("makeSpirals", n, classes);
  if (!Number.isInteger(classes) || classes < 2) throw new Error(`makeSpirals: classes must be an integer ≥ 2, got ${classes}`);
  const noise = opts.noise ?? 0.2;
  const rng = createRng(opts.seed ?? 0);
  const x = new Float32Array(2 * n), y = new Int32Array(n);
  let i = 0;
  for (let c = 0; c < classes; c++) {
    const count = Math.floor(n / classes) + (c < n % classes ? 1 : 0);
    for (let k = 0; k < count; k++, i++) {
      const r = count > 1 ? k / (count - 1) : 0;
      const t = c * 4 + 4 * r + noise * rng.normal();
      x[2 * i] = r * Math.sin(t);
      x[2 * i + 1] = r * Math.cos(t);
      y[i] = c;
    }
  }
  return finish("makeSpirals", { x, y }, 2, opts.shuffle ?? true, rng);
}

export interface BlobsOptions {
  /** Total number of points (default 300), split evenly between centers. */
  n?: number;
  /** Number of centers (default 3, placed uniformly in `centerBox`) or their coordinates. */
  centers?: number | number[][];
  /** Dimensions when centers is a number (default 2). */
  features?: number;
  /** Standard deviation of each blob (default 1). */
  std?: number;
  /** Box for random centers (default [-10, 10]). */
  centerBox?: [number, number];
  shuffle?: boolean;
  seed?: number;
}

/** Gaussian blobs (like sklearn's make_blobs): x [n, features], y = index of the blob's center, and the `centers` used. */
export function makeBlobs(opts: BlobsOptions = {}): ClassificationData & { centers: number[][] } {
  const n = opts.n ?? 300;
  const rng = createRng(opts.seed ?? 0);
  const [lo, hi] = opts.centerBox ?? [-10, 10];
  const centers = Array.isArray(opts.centers)
    ? opts.centers.map((c) => [...c])
    : Array.from({ length: opts.centers ?? 3 }, () => Array.from({ length: opts.features ?? 2 }, () => lo + (hi - lo) * rng.next()));
  checkCount("makeBlobs", n, centers.length);
  const features = centers[0].length;
  if (centers.some((c) => c.length !== features)) throw new Error(`makeBlobs: every center needs ${features} coordinates`);
  const std = opts.std ?? 1;
  const x = new Float32Array(n * features), y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % centers.length;
    y[i] = c;
    for (let f = 0; f < features; f++) x[i * features + f] = centers[c][f] + std * rng.normal();
  }
  return { ...finish("makeBlobs", { x, y }, features, opts.shuffle ?? true, rng), centers };
}

export interface SineOptions {
  /** Length of the underlying series (default 1000). */
  length?: number;
  /** Input window length (default 20). */
  window?: number;
  /** Steps between consecutive windows (default 1). */
  stride?: number;
  /** Period of the wave in steps (default 50). */
  period?: number;
  /** Standard deviation of noise added to the series (default 0). */
  noise?: number;
  seed?: number;
}

/**
 * A sine wave cut into windows for next-value prediction with an RNN: x float32 [m, window, 1]
 * holds `series[s … s+window-1]`, y float32 [m, 1] holds `series[s+window]`, for s = 0, stride, ….
 * `series` (the whole wave, noise included) is returned for plotting.
 */
export function makeSine(opts: SineOptions = {}): { x: Tensor; y: Tensor; series: Float32Array } {
  const length = opts.length ?? 1000;
  const window = opts.window ?? 20;
  const stride = opts.stride ?? 1;
  const period = opts.period ?? 50;
  const noise = opts.noise ?? 0;
  if (!Number.isInteger(window) || window < 1 || window >= length) {
    throw new Error(`makeSine: window must be an integer in 1…${length - 1} (length ${length}), got ${window}`);
  }
  if (!Number.isInteger(stride) || stride < 1) throw new Error(`makeSine: stride must be an integer ≥ 1, got ${stride}`);
  const rng = createRng(opts.seed ?? 0);
  const series = new Float32Array(length);
  for (let t = 0; t < length; t++) series[t] = Math.sin((2 * Math.PI * t) / period) + noise * rng.normal();
  const m = Math.floor((length - window - 1) / stride) + 1;
  const x = new Float32Array(m * window), y = new Float32Array(m);
  for (let k = 0; k < m; k++) {
    const s = k * stride;
    x.set(series.subarray(s, s + window), k * window);
    y[k] = series[s + window];
  }
  return {
    x: toTensor({ dtype: "float32", shape: [m, window, 1], data: x }),
    y: toTensor({ dtype: "float32", shape: [m, 1], data: y }),
    series,
  };
}
